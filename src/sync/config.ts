import type { FieldMapping } from '../crm/types';
import type { Config, CrmName } from '../env';
import { parseIdentityConfig, type IdentityConfig } from '../identity';
import { formatIssue, loadRules, parseFieldMapping, type Rules } from '../rules';
import { BUNDLED_MAPPINGS } from '../rules/bundled';
import { activeRules, lastActivation, type RulesKind } from '../store/rules';

export interface ActiveConfig {
  rules: Rules;
  rulesVersion: string;
  mappings: Partial<Record<CrmName, FieldMapping>>;
  identity: IdentityConfig;
  /**
   * The latest activation of any versioned file, read before the files: a step that clears dirty marks puts them back
   * when an activation came after it loaded its rules (its results are then of the old version).
   */
  activatedAt: string;
}

export class RulesInvalidError extends Error {
  constructor(readonly kind: string, readonly issues: string[]) {
    super(`${kind} is invalid: ${issues.join('; ')}`);
  }

  /** Versioned in D1 (rules and field mappings): activating or rolling back fixes it; the others need a deploy. */
  get versioned(): boolean {
    return this.kind === 'rules' || this.kind === 'hubspot' || this.kind === 'salesforce';
  }
}

/** The active version's text, else the file shipped in mappings/. */
export async function activeText(db: D1Database, kind: RulesKind): Promise<string> {
  return (await activeRules(db, kind))?.content ?? BUNDLED_MAPPINGS[kind];
}

/** Stored rules that must validate (the active version, or a preview's saved files); RulesInvalidError if not. */
export async function rulesFrom(content: string) {
  const loaded = await loadRules(content, 'rules.yaml');
  if (!loaded.ok) throw new RulesInvalidError('rules', loaded.issues.map(formatIssue));
  return loaded.value;
}

/**
 * The rules and mappings in force: the version activated through PUT /v1/rules, else the files shipped in mappings/.
 * The identity configuration is the shipped file plus ORG_DOMAINS from the environment.
 */
export async function loadActiveConfig(db: D1Database, config: Config): Promise<ActiveConfig> {
  const activatedAt = await lastActivation(db);
  const rules = await rulesFrom(await activeText(db, 'rules'));
  const mappings: ActiveConfig['mappings'] = {};
  for (const crm of ['hubspot', 'salesforce'] as const) {
    const parsed = parseFieldMapping(await activeText(db, crm), `${crm}.yaml`);
    if (!parsed.ok) throw new RulesInvalidError(crm, parsed.issues.map(formatIssue));
    mappings[crm] = parsed.value;
  }
  return { rules: rules.rules, rulesVersion: rules.version, mappings, identity: identityConfigFor(config), activatedAt };
}

const identityCache = new WeakMap<Config, IdentityConfig>();

/** The shipped identity.yaml plus ORG_DOMAINS from the environment (no D1: identity.yaml is not versioned in it). */
export function identityConfigFor(config: Config): IdentityConfig {
  let identity = identityCache.get(config);
  if (!identity) {
    // mappings:check fails CI on an invalid file; should one ship anyway, a run ends as failed with its reasons.
    const parsed = parseIdentityConfig(BUNDLED_MAPPINGS.identity);
    if (!parsed.ok) throw new RulesInvalidError('identity', parsed.issues.map(formatIssue));
    const shipped = parsed.config;
    identity = { ...shipped, organisation: { domains: [...new Set([...shipped.organisation.domains, ...config.ORG_DOMAINS])] } };
    identityCache.set(config, identity);
  }
  return identity;
}

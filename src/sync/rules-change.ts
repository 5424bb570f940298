import type { DealInfluence } from '../attribution/types';
import { connectedCrms, dealsCrm, type Config, type CrmName, type Env } from '../env';
import { sha256Hex } from '../ids';
import { crossCheck, loadRules, parseFieldMapping, previewDiff, type PreviewDiff, type SourceIssue } from '../rules';
import { activateRules, type RulesKind } from '../store/rules';
import { startRun, type StartResult } from './runner';
import { loadActiveConfig, type ActiveConfig } from './config';
import { computeDeals } from './stages/attribute';

export type Validated =
  | { ok: true; kind: RulesKind; hash: string; content: string; rules?: { rules: ActiveConfig['rules']; version: string } }
  | { ok: false; issues: SourceIssue[] };

/** Validates a proposed rules or mapping file against the schema and the active rules; never activates anything. */
export async function validateProposal(db: D1Database, config: Config, kind: RulesKind, content: string): Promise<Validated> {
  if (kind === 'rules') {
    const loaded = await loadRules(content, 'rules.yaml');
    if (!loaded.ok) return loaded;
    return { ok: true, kind, hash: loaded.value.version, content, rules: loaded.value };
  }
  const parsed = parseFieldMapping(content, `${kind}.yaml`);
  if (!parsed.ok) return parsed;
  if (parsed.value.crm !== kind) {
    return { ok: false, issues: [{ file: `${kind}.yaml`, line: 1, column: 1, path: 'crm', message: `this is the ${kind} mapping; crm must be "${kind}"` }] };
  }
  const active = await loadActiveConfig(db, config);
  const issues = crossCheck(content, `${kind}.yaml`, parsed.value, active.rules);
  if (issues.length) return { ok: false, issues };
  return { ok: true, kind, hash: await sha256Hex(content), content };
}

/** Deals the preview evaluates: every deal of the deals CRM up to a cap, so one request stays inside Worker limits. */
export const PREVIEW_MAX_DEALS = 5000;

export async function previewRules(db: D1Database, config: Config, proposed: { rules: ActiveConfig['rules']; version: string }) {
  const crm: CrmName | null = dealsCrm(config);
  const active = await loadActiveConfig(db, config);
  if (!crm) return { crm: null, evaluated: 0, truncated: false, diff: previewDiff([], []) };
  const { results } = await db
    .prepare('SELECT crm_id FROM crm_deals WHERE crm = ? ORDER BY created_at DESC LIMIT ?')
    .bind(crm, PREVIEW_MAX_DEALS + 1)
    .all<{ crm_id: string }>();
  const ids = results.slice(0, PREVIEW_MAX_DEALS).map((r) => r.crm_id);
  const before: DealInfluence[] = [];
  const after: DealInfluence[] = [];
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    const base = { db, crm, evidenceBaseUrl: config.PUBLIC_URL };
    before.push(...(await computeDeals({ ...base, rules: active.rules, rulesVersion: active.rulesVersion }, chunk)).map((x) => x.influence));
    after.push(...(await computeDeals({ ...base, rules: proposed.rules, rulesVersion: proposed.version }, chunk)).map((x) => x.influence));
  }
  const diff: PreviewDiff = previewDiff(before, after);
  return { crm, evaluated: ids.length, truncated: results.length > PREVIEW_MAX_DEALS, active_version: active.rulesVersion, proposed_version: proposed.version, diff };
}

/** After a new version is active everything it could change is recomputed (and written back) by the next runs. */
export function markAllDirtyStmts(db: D1Database, config: Config): D1PreparedStatement[] {
  const stmts: D1PreparedStatement[] = [];
  for (const crm of connectedCrms(config)) {
    stmts.push(
      db.prepare(`INSERT INTO sync_dirty (crm, kind, ref) SELECT ?1, 'contact', contact_id FROM contact_influence WHERE crm = ?1 ON CONFLICT DO NOTHING`).bind(crm),
      db.prepare(`INSERT INTO sync_dirty (crm, kind, ref) SELECT ?1, 'company', company_id FROM company_influence WHERE crm = ?1 ON CONFLICT DO NOTHING`).bind(crm),
    );
    if (dealsCrm(config) === crm) {
      stmts.push(db.prepare(`INSERT INTO sync_dirty (crm, kind, ref) SELECT ?1, 'deal', crm_id FROM crm_deals WHERE crm = ?1 ON CONFLICT DO NOTHING`).bind(crm));
    }
  }
  return stmts;
}

/**
 * Validates and activates a rules/mapping version, marks everything dirty and starts a run per connected CRM —  Shared by the rules page and PUT /v1/rules.
 */
export async function activateVersion(
  env: Env,
  config: Config,
  input: { kind: RulesKind; content: string; author: string },
): Promise<{ ok: true; hash: string; previous: string | null; runs: StartResult[] } | { ok: false; issues: SourceIssue[] }> {
  const validated = await validateProposal(env.DB, config, input.kind, input.content);
  if (!validated.ok) return validated;
  const { previous } = await activateRules(env.DB, { kind: input.kind, hash: validated.hash, content: input.content, author: input.author });
  const dirty = markAllDirtyStmts(env.DB, config);
  if (dirty.length) await env.DB.batch(dirty);
  const runs = await Promise.all(connectedCrms(config).map((crm) => startRun(env, crm, { trigger: 'api' })));
  return { ok: true, hash: validated.hash, previous, runs };
}

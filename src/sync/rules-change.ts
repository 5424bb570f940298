import { fitModels, fittedModels, mergeJourneys, type Fitted } from '../attribution/fit';
import { journeysFromDeals } from '../attribution/journeys';
import type { Journey } from '../attribution/markov';
import type { DealInfluence } from '../attribution/types';
import { connectedCrms, dealsCrm, type Config, type CrmName, type Env } from '../env';
import { sha256Hex } from '../ids';
import { crossCheck, loadRules, parseFieldMapping, previewDiff, type PreviewDiff, type SourceIssue } from '../rules';
import { activateRules, type RulesKind } from '../store/rules';
import { startRun, type StartResult } from './runner';
import { loadActiveConfig, type ActiveConfig } from './config';
import { computeLoaded, loadDealInputs } from './stages/attribute';

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
const PREVIEW_CHUNK = 200;

/** What the diff reads; evidence and member ids would only hold memory (up to 2 × 5,000 deals of them). */
const slim = (d: DealInfluence): DealInfluence => ({ ...d, evidence: [], membersInvolved: [] });

/** Closed deals a side's data-driven models were fitted on (null when its rules use neither markov nor shapley). */
export interface PreviewFit {
  models: string[];
  journeys: number;
}

export async function previewRules(db: D1Database, config: Config, proposed: { rules: ActiveConfig['rules']; version: string }) {
  const crm: CrmName | null = dealsCrm(config);
  const active = await loadActiveConfig(db, config);
  if (!crm) return { crm: null, evaluated: 0, truncated: false, fits: { active: null, proposed: null }, diff: previewDiff([], []) };
  const { results } = await db
    .prepare('SELECT crm_id FROM crm_deals WHERE crm = ? ORDER BY created_at DESC LIMIT ?')
    .bind(crm, PREVIEW_MAX_DEALS + 1)
    .all<{ crm_id: string }>();
  const ids = results.slice(0, PREVIEW_MAX_DEALS).map((r) => r.crm_id);
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += PREVIEW_CHUNK) chunks.push(ids.slice(i, i + PREVIEW_CHUNK));
  const sides = [
    { rules: active.rules, rulesVersion: active.rulesVersion, evidenceBaseUrl: config.PUBLIC_URL, fitted: undefined as Fitted | undefined },
    { rules: proposed.rules, rulesVersion: proposed.version, evidenceBaseUrl: config.PUBLIC_URL, fitted: undefined as Fitted | undefined },
  ];
  // Each deal is loaded once for both sides; company members too when either side counts the whole account.
  const account = sides.some((s) => s.rules.scope === 'account');
  // Markov / Shapley: each side is fitted on the journeys of the evaluated deals under its own rules, so the
  // difference shows what the rules change, not a different sample (the sync fits on every closed deal).
  const fits: (PreviewFit | null)[] = [null, null];
  if (sides.some((s) => fittedModels(s.rules).length)) {
    const parts: Journey[][] = [[], []];
    for (const chunk of chunks) {
      const loaded = await loadDealInputs(db, crm, chunk, account);
      sides.forEach((s, k) => {
        if (fittedModels(s.rules).length) parts[k]!.push(...journeysFromDeals(loaded.deals, loaded.candidates, s.rules));
      });
    }
    sides.forEach((s, k) => {
      const models = fittedModels(s.rules);
      if (!models.length) return;
      const journeys = mergeJourneys(parts[k]!);
      s.fitted = fitModels(journeys, s.rules);
      fits[k] = { models, journeys: journeys.reduce((n, j) => n + j.conversions + j.nulls, 0) };
    });
  }
  const asOf = new Date().toISOString();
  const before: DealInfluence[] = [];
  const after: DealInfluence[] = [];
  for (const chunk of chunks) {
    const loaded = await loadDealInputs(db, crm, chunk, account);
    for (const x of computeLoaded(sides[0]!, loaded, asOf)) before.push(slim(x.influence));
    for (const x of computeLoaded(sides[1]!, loaded, asOf)) after.push(slim(x.influence));
  }
  const diff: PreviewDiff = previewDiff(before, after);
  return {
    crm, evaluated: ids.length, truncated: results.length > PREVIEW_MAX_DEALS, active_version: active.rulesVersion, proposed_version: proposed.version,
    fits: { active: fits[0] ?? null, proposed: fits[1] ?? null }, diff,
  };
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
): Promise<{ ok: true; hash: string; previous: string | null; runs: (StartResult & { crm: CrmName })[] } | { ok: false; issues: SourceIssue[] }> {
  const validated = await validateProposal(env.DB, config, input.kind, input.content);
  if (!validated.ok) return validated;
  const { previous } = await activateRules(env.DB, { kind: input.kind, hash: validated.hash, content: input.content, author: input.author });
  const dirty = markAllDirtyStmts(env.DB, config);
  if (dirty.length) await env.DB.batch(dirty);
  const runs = await Promise.all(connectedCrms(config).map(async (crm) => ({ crm, ...(await startRun(env, crm, { trigger: 'api' })) })));
  return { ok: true, hash: validated.hash, previous, runs };
}

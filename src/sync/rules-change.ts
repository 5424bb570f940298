import { fitModels, fittedModels, mergeJourneys, type Fitted } from '../attribution/fit';
import { journeysFromDeals } from '../attribution/journeys';
import type { Journey } from '../attribution/markov';
import { connectedCrms, dealsCrm, type Config, type CrmName, type Env } from '../env';
import { sha256Hex } from '../ids';
import { crossCheck, loadRules, parseFieldMapping, previewDiff, previewRow, type PreviewRow, type SourceIssue } from '../rules';
import { meteredD1, type D1Meter } from '../store/metered';
import { activateRules, activeRules, type RulesKind } from '../store/rules';
import { BUNDLED_MAPPINGS } from '../rules/bundled';
import { startRun, type StartResult } from './runner';
import { activeText, loadActiveConfig, rulesFrom, type ActiveConfig } from './config';
import { computeLoaded, loadDealInputs, type DealInputs } from './stages/attribute';

export type Validated =
  | { ok: true; kind: RulesKind; hash: string; content: string; rules?: { rules: ActiveConfig['rules']; version: string } }
  | { ok: false; issues: SourceIssue[] };

/** Validates a proposed rules or mapping file against the schema and the active rules; never activates anything. */
export async function validateProposal(db: D1Database, config: Config, kind: RulesKind, content: string): Promise<Validated> {
  if (kind === 'rules') {
    const loaded = await loadRules(content, 'rules.yaml');
    if (!loaded.ok) return loaded;
    // As mappings:check does in CI: the field mappings of the connected CRMs must still fit (e.g. every stage an
    // enumeration option); a mapping for a CRM not connected is checked when it is activated.
    const issues: SourceIssue[] = [];
    for (const crm of connectedCrms(config)) {
      const text = await activeText(db, crm);
      const mapping = parseFieldMapping(text, `${crm}.yaml`);
      if (mapping.ok) issues.push(...crossCheck(text, `${crm}.yaml`, mapping.value, loaded.value.rules));
    }
    if (issues.length) return { ok: false, issues };
    return { ok: true, kind, hash: loaded.value.version, content, rules: loaded.value };
  }
  const parsed = parseFieldMapping(content, `${kind}.yaml`);
  if (!parsed.ok) return parsed;
  if (parsed.value.crm !== kind) {
    return { ok: false, issues: [{ file: `${kind}.yaml`, line: 1, column: 1, path: 'crm', message: `this is the ${kind} mapping; crm must be "${kind}"` }] };
  }
  // Only the active rules: a mapping that no longer validates must not block activating its replacement.
  const rules = await rulesFrom(await activeText(db, 'rules'));
  const issues = crossCheck(content, `${kind}.yaml`, parsed.value, rules.rules);
  if (issues.length) return { ok: false, issues };
  return { ok: true, kind, hash: await sha256Hex(content), content };
}

/**
 * D1 statements the preview issues loading deals: D1 allows 1,000 per Worker invocation (Workers Paid), and the
 * request's own reads (rules, validation) need room. Each chunk of deals costs about 8.
 */
export const PREVIEW_MAX_QUERIES = 800;
const PREVIEW_CHUNK = 500;

/** Closed deals a side's data-driven models were fitted on (null when its rules use neither markov nor shapley). */
export interface PreviewFit {
  models: string[];
  journeys: number;
}

/**
 * Evaluates the active and the proposed rules on the most recent deals (up to PREVIEW_MAX_DEALS, and as many as
 * PREVIEW_MAX_QUERIES allows) and returns the difference. Each chunk of deals is loaded once for both sides; only
 * what the diff reads is kept per deal.
 */
export async function previewRules(
  db: D1Database,
  config: Config,
  proposed: { rules: ActiveConfig['rules']; version: string },
  limits: { maxQueries?: number; chunk?: number } = {},
) {
  const maxQueries = limits.maxQueries ?? PREVIEW_MAX_QUERIES;
  const chunk = limits.chunk ?? PREVIEW_CHUNK;
  const crm: CrmName | null = dealsCrm(config);
  const active = await loadActiveConfig(db, config);
  const none = { active: null, proposed: null };
  if (!crm) return { crm: null, evaluated: 0, truncated: false, limited_by: null, fits: none, cost: { d1_queries: 0, d1_rows_read: 0 }, diff: previewDiff([], []) };
  const meter: D1Meter = { rowsRead: 0, rowsWritten: 0, queries: 0 };
  const mdb = meteredD1(db, meter);
  const max = config.PREVIEW_MAX_DEALS;
  const { results } = await mdb
    .prepare('SELECT crm_id FROM crm_deals WHERE crm = ? ORDER BY created_at DESC LIMIT ?')
    .bind(crm, max + 1)
    .all<{ crm_id: string }>();
  const ids = results.slice(0, max).map((r) => r.crm_id);
  const sides = [
    { rules: active.rules, rulesVersion: active.rulesVersion, evidenceBaseUrl: config.PUBLIC_URL, fitted: undefined as Fitted | undefined },
    { rules: proposed.rules, rulesVersion: proposed.version, evidenceBaseUrl: config.PUBLIC_URL, fitted: undefined as Fitted | undefined },
  ];
  // Company members are loaded when either side counts the whole account.
  const account = sides.some((s) => s.rules.scope === 'account');
  const dataDriven = sides.some((s) => fittedModels(s.rules).length);
  const fits: (PreviewFit | null)[] = [null, null];
  /** Loads the first `count` deals chunk by chunk until `budget` statements are spent; returns how many it loaded. */
  const eachChunk = async (count: number, budget: number, use: (loaded: DealInputs) => void) => {
    const start = meter.queries;
    for (let from = 0; from < count; from += chunk) {
      if (meter.queries - start >= budget) return from;
      use(await loadDealInputs(mdb, crm, ids.slice(from, Math.min(count, from + chunk)), account));
    }
    return count;
  };
  let evaluated = ids.length;
  if (dataDriven) {
    // Markov / Shapley need a first pass for the journeys. It gets half the budget and decides how many deals both
    // passes evaluate. Each side is fitted on those deals under its own rules, so the difference shows what the rules
    // change, not a different sample (the sync fits on every closed deal).
    const parts: Journey[][] = [[], []];
    evaluated = await eachChunk(evaluated, maxQueries / 2, (loaded) =>
      sides.forEach((s, k) => {
        if (fittedModels(s.rules).length) parts[k]!.push(...journeysFromDeals(loaded.deals, loaded.candidates, s.rules));
      }),
    );
    sides.forEach((s, k) => {
      const models = fittedModels(s.rules);
      if (!models.length) return;
      const journeys = mergeJourneys(parts[k]!);
      s.fitted = fitModels(journeys, s.rules);
      fits[k] = { models, journeys: journeys.reduce((n, j) => n + j.conversions + j.nulls, 0) };
    });
  }
  const asOf = new Date().toISOString();
  const rows: PreviewRow[][] = [[], []];
  // After a first pass the same deals are covered at about the same cost; otherwise this pass has the whole budget.
  evaluated = await eachChunk(evaluated, dataDriven ? Number.POSITIVE_INFINITY : maxQueries, (loaded) =>
    sides.forEach((s, k) => {
      for (const x of computeLoaded(s, loaded, asOf)) rows[k]!.push(previewRow(x.influence));
    }),
  );
  const more = results.length > max;
  const limitedBy = evaluated < ids.length ? 'queries' : more ? 'deals' : null;
  return {
    crm, evaluated, truncated: limitedBy !== null, limited_by: limitedBy, active_version: active.rulesVersion, proposed_version: proposed.version,
    fits: { active: fits[0] ?? null, proposed: fits[1] ?? null }, cost: { d1_queries: meter.queries, d1_rows_read: meter.rowsRead },
    diff: previewDiff(rows[0]!, rows[1]!),
  };
}

/**
 * The version in force for one kind: the activated one, else the file shipped in mappings/ (hashed the same way, so a
 * caller can say which one it previewed against).
 */
export async function activeVersion(db: D1Database, kind: RulesKind) {
  const active = await activeRules(db, kind);
  const content = active?.content ?? BUNDLED_MAPPINGS[kind];
  let hash = active?.hash;
  if (!hash) {
    const loaded = kind === 'rules' ? await loadRules(content) : null;
    hash = loaded?.ok ? loaded.value.version : await sha256Hex(content);
  }
  return {
    content, hash, source: active ? ('activated' as const) : ('bundled' as const), author: active?.author ?? null,
    activated_by: active?.activated_by ?? null, activated_at: active?.activated_at ?? null,
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
  // One transaction: an activation never stands without everything it could change marked for recomputing.
  const { previous } = await activateRules(env.DB, { kind: input.kind, hash: validated.hash, content: input.content, author: input.author }, markAllDirtyStmts(env.DB, config));
  const runs = await Promise.all(connectedCrms(config).map(async (crm) => ({ crm, ...(await startRun(env, crm, { trigger: 'api', rerunIfBusy: true })) })));
  return { ok: true, hash: validated.hash, previous, runs };
}

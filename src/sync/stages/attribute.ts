import { companyFieldValues, contactFieldValues, dealFieldValues } from '../../attribution/outputs';
import { dealRefreshAt, rescore } from '../../attribution/aging';
import { computeCompanyInfluence, computeContactInfluence, contactRefreshAt } from '../../attribution/people';
import { computeDealInfluence } from '../../attribution/deal';
import { recredit } from '../../attribution/recredit';
import { fittedModels, fittedOrEmpty, type Fitted } from '../../attribution/fit';
import type { Deal, DealInfluence, Touch } from '../../attribution/types';
import type { CrmName } from '../../env';
import type { Rules } from '../../rules';
import type { FieldValue, WriteObject } from '../../crm/types';
import {
  loadDeals, loadLinksTo, loadWritten, planWritesStmt, upsertCompanyInfluenceStmt, upsertContactInfluenceStmt,
  upsertDealInfluenceStmt, type DealRow, type PlannedWrite, type StoredDeal,
} from '../../store/influence';
import { clearDirtyStmt, dirtyBatch } from '../../store/sync';
import { addCounts, type Counts, type RunContext, type StepResult } from '../context';
import { refit, storedFit, storedResults } from '../fit';
import { touchesOf } from './touches';

const CHUNK = 50;

export function toDeal(crm: CrmName, row: DealRow, contacts: { contact_id: string; is_primary: number; created_at: string | null }[]): Deal {
  return {
    id: row.crm_id, crm, amount: row.amount, currency: row.currency, createdAt: row.created_at,
    closedAt: row.is_closed ? row.close_date : null, isClosed: row.is_closed === 1, isWon: row.is_won === 1,
    companyId: row.company_id,
    contacts: contacts.map((c) => ({ contactId: c.contact_id, isPrimary: c.is_primary === 1, createdAt: c.created_at ?? row.created_at })),
  };
}

/** Only fields whose value differs from what was last written become writes. */
async function diffWrites(ctx: RunContext, object: WriteObject, values: Map<string, Record<string, FieldValue>>): Promise<PlannedWrite[]> {
  const written = await loadWritten(ctx.db, ctx.crm, object, [...values.keys()]);
  const out: PlannedWrite[] = [];
  for (const [crmId, fields] of values) {
    const last = written.get(crmId);
    const changed: Record<string, FieldValue> = {};
    const old: Record<string, FieldValue | undefined> = {};
    for (const [field, value] of Object.entries(fields)) {
      const prev = last?.get(field);
      if (prev === undefined || prev !== JSON.stringify(value)) {
        changed[field] = value;
        old[field] = prev === undefined ? undefined : (JSON.parse(prev ?? 'null') as FieldValue);
      }
    }
    if (Object.keys(changed).length) out.push({ object, crmId, fields: changed, old });
  }
  return out;
}

export interface DealComputeInput {
  db: D1Database;
  crm: CrmName;
  rules: Rules;
  rulesVersion: string;
  evidenceBaseUrl: string;
  /** Fitted weights for markov / shapley when the rules use them (missing: their credits fall back to linear). */
  fitted?: Fitted;
}

/** Deals as the engine takes them, with every candidate touch (the members linked to their contacts, or company). */
export interface DealInputs {
  rows: DealRow[];
  deals: Deal[];
  candidates: Map<string, Touch[]>;
}

/**
 * Loads deals and their candidate touches from the D1 mirror, links and activity. Members linked only to the deal's
 * company matter with scope: account alone; with any other scope loading them (and their activity) is wasted work
 * that grows with the size of the account, so `account` says whether to.
 */
export async function loadDealInputs(db: D1Database, crm: CrmName, ids: string[], account: boolean): Promise<DealInputs> {
  const { deals, contacts } = await loadDeals(db, crm, ids);
  const contactsOf = new Map<string, typeof contacts>();
  for (const c of contacts) {
    const list = contactsOf.get(c.deal_id);
    if (list) list.push(c);
    else contactsOf.set(c.deal_id, [c]);
  }
  const companyIds = account ? [...new Set(deals.map((d) => d.company_id).filter((x): x is string => !!x))] : [];
  const links = await loadLinksTo(db, crm, [...new Set(contacts.map((c) => c.contact_id))], companyIds);
  const membersOf = new Map<string, Set<string>>();
  for (const l of links) {
    const key = `${l.target_kind}:${l.crm_id}`;
    if (!membersOf.has(key)) membersOf.set(key, new Set());
    membersOf.get(key)!.add(l.member_id);
  }
  const touches = await touchesOf(db, crm, [...new Set(links.map((l) => l.member_id))]);
  const candidates = new Map<string, Touch[]>();
  const out: Deal[] = [];
  for (const row of deals) {
    const dealContacts = contactsOf.get(row.crm_id) ?? [];
    const members = new Set<string>();
    for (const c of dealContacts) for (const m of membersOf.get(`contact:${c.contact_id}`) ?? []) members.add(m);
    if (row.company_id) for (const m of membersOf.get(`company:${row.company_id}`) ?? []) members.add(m);
    candidates.set(row.crm_id, [...members].flatMap((m) => touches.get(m) ?? []));
    out.push(toDeal(crm, row, dealContacts));
  }
  return { rows: deals, deals: out, candidates };
}

/** The influence of loaded deals under the given rules. */
export function computeLoaded(input: Omit<DealComputeInput, 'db' | 'crm'>, loaded: DealInputs, asOf: string): { influence: DealInfluence; deal: DealRow }[] {
  const ctx = { evidenceBaseUrl: input.evidenceBaseUrl, rulesVersion: input.rulesVersion, asOf, fitted: fittedOrEmpty(input.rules, input.fitted) };
  return loaded.deals.map((deal, i) => ({
    influence: computeDealInfluence(deal, loaded.candidates.get(deal.id) ?? [], input.rules, ctx),
    deal: loaded.rows[i]!,
  }));
}

/** Computes the influence of the given deals from the D1 mirror, links and activity, with the given rules. No writes. */
export async function computeDeals(input: DealComputeInput, ids: string[]): Promise<{ influence: DealInfluence; deal: DealRow }[]> {
  const loaded = await loadDealInputs(input.db, input.crm, ids, input.rules.scope === 'account');
  return computeLoaded(input, loaded, new Date().toISOString());
}

type ComputedDeal = Omit<StoredDeal, 'refreshAt'>;

/**
 * Stores deal results, with when each next changes with time alone, and plans the field writes that changed, in one
 * batch with `also`; returns the writes planned.
 */
async function saveDeals(ctx: RunContext, computed: ComputedDeal[], also: D1PreparedStatement[]): Promise<number> {
  const { db, crm, active } = ctx;
  const mapping = active.mappings[crm];
  const values = new Map(computed.map(({ influence }) => [influence.dealId, mapping ? dealFieldValues(mapping, influence) : {}]));
  const writes = await diffWrites(ctx, 'deal', values);
  const now = new Date().toISOString();
  const stored = computed.map((c) => ({ ...c, refreshAt: dealRefreshAt(c.influence, active.rules, now, closedAtOf(c)) }));
  const stmts = [upsertDealInfluenceStmt(db, crm, stored, now), ...also];
  if (writes.length) stmts.push(planWritesStmt(db, ctx.run.id, writes));
  await db.batch(stmts);
  return writes.length;
}

async function dealsChunk(ctx: RunContext, ids: string[], fitted: Fitted | undefined): Promise<Counts> {
  const { db, crm, active } = ctx;
  const computed = await computeDeals(
    { db, crm, rules: active.rules, rulesVersion: active.rulesVersion, evidenceBaseUrl: ctx.config.PUBLIC_URL, fitted }, ids,
  );
  const planned = await saveDeals(ctx, computed, [clearDirtyStmt(db, crm, 'deal', ids)]);
  return { deals_computed: computed.length, writes_planned: planned, influenced: computed.filter((c) => c.influence.influenced).length };
}

/** Re-credits the next chunk of stored deal results with the current fit; returns the last deal id, or null when done. */
async function recreditChunk(ctx: RunContext, after: string, fitted: Fitted): Promise<{ last: string | null; counts: Counts }> {
  const rows = await storedResults(ctx.db, ctx.crm, ctx.active.rulesVersion, after, CHUNK);
  if (!rows.length) return { last: null, counts: {} };
  const computed = rows.map((r) => ({
    influence: recredit(JSON.parse(r.detail) as DealInfluence, ctx.active.rules, fitted),
    deal: { created_at: r.deal_created_at, close_date: r.close_date },
  }));
  const planned = await saveDeals(ctx, computed, []);
  return { last: rows[rows.length - 1]!.deal_id, counts: { deals_recredited: rows.length, writes_planned: planned } };
}

const closedAtOf = (c: ComputedDeal) => (c.influence.isClosed ? c.deal.close_date : null);

/**
 * Deal results whose score changed with time alone since they were stored (see src/attribution/aging.ts): re-scored
 * from their evidence as of now, keeping computed_at. Null when none is due.
 */
async function dueDealsChunk(ctx: RunContext): Promise<Counts | null> {
  const now = new Date().toISOString();
  const { results } = await ctx.db
    .prepare(
      `SELECT detail, deal_created_at, close_date, computed_at FROM deal_influence
        WHERE crm = ?1 AND refresh_at <= ?2 AND rules_version = ?3 ORDER BY refresh_at LIMIT ?4`,
    )
    .bind(ctx.crm, now, ctx.active.rulesVersion, CHUNK)
    .all<{ detail: string; deal_created_at: string; close_date: string | null; computed_at: string }>();
  if (!results.length) return null;
  const computed = results.map((r) => {
    const stored = JSON.parse(r.detail) as DealInfluence;
    const deal = { created_at: r.deal_created_at, close_date: r.close_date };
    return { influence: rescore(stored, ctx.active.rules, now, stored.isClosed ? r.close_date : null), deal, computedAt: r.computed_at };
  });
  return { deals_rescored: results.length, writes_planned: await saveDeals(ctx, computed, []) };
}

/** Contacts whose activity count changed with time alone: recomputed. Null when none is due. */
async function dueContactsChunk(ctx: RunContext): Promise<Counts | null> {
  const { results } = await ctx.db
    .prepare(`SELECT contact_id FROM contact_influence WHERE crm = ?1 AND refresh_at <= ?2 ORDER BY refresh_at LIMIT ?3`)
    .bind(ctx.crm, new Date().toISOString(), CHUNK)
    .all<{ contact_id: string }>();
  if (!results.length) return null;
  return addCounts(await peopleChunk(ctx, 'contact', results.map((r) => r.contact_id)), { contacts_refreshed: results.length });
}

/** Contact or company outputs: the touches of the members linked to each record (company: also via its contacts). */
async function peopleChunk(ctx: RunContext, kind: 'contact' | 'company', ids: string[]): Promise<Counts> {
  const { db, crm, active } = ctx;
  const { results } = await db
    .prepare(
      kind === 'contact'
        ? `SELECT crm_id AS ref, member_id FROM links WHERE crm = ?1 AND target_kind = 'contact' AND status IN ('auto', 'confirmed')
             AND crm_id IN (SELECT value FROM json_each(?2))`
        : `SELECT crm_id AS ref, member_id FROM links WHERE crm = ?1 AND target_kind = 'company' AND status IN ('auto', 'confirmed')
             AND crm_id IN (SELECT value FROM json_each(?2))
           UNION
           SELECT c.company_id, l.member_id FROM links l JOIN crm_contacts c ON c.crm = l.crm AND c.crm_id = l.crm_id
            WHERE l.crm = ?1 AND l.target_kind = 'contact' AND l.status IN ('auto', 'confirmed')
              AND c.company_id IN (SELECT value FROM json_each(?2))`,
    )
    .bind(crm, JSON.stringify(ids))
    .all<{ ref: string; member_id: string }>();
  const touches = await touchesOf(db, crm, [...new Set(results.map((r) => r.member_id))]);
  const byRef = new Map<string, Touch[]>(ids.map((id) => [id, []]));
  for (const r of results) byRef.get(r.ref)?.push(...(touches.get(r.member_id) ?? []));
  const now = new Date().toISOString();
  const mapping = active.mappings[crm];
  const values = new Map<string, Record<string, FieldValue>>();
  let stmt: D1PreparedStatement;
  if (kind === 'contact') {
    const rows = [...byRef].map(([id, t]) => ({ ...computeContactInfluence(id, t, active.rules, now), refreshAt: contactRefreshAt(t, active.rules, now) }));
    for (const r of rows) values.set(r.contactId, mapping ? contactFieldValues(mapping, r) : {});
    stmt = upsertContactInfluenceStmt(db, crm, rows, now);
  } else {
    const rows = [...byRef].map(([id, t]) => computeCompanyInfluence(id, t, active.rules, now));
    for (const r of rows) values.set(r.companyId, mapping ? companyFieldValues(mapping, r) : {});
    stmt = upsertCompanyInfluenceStmt(db, crm, rows, now);
  }
  const writes = await diffWrites(ctx, kind, values);
  const stmts = [stmt, clearDirtyStmt(db, crm, kind, ids)];
  if (writes.length) stmts.push(planWritesStmt(db, ctx.run.id, writes));
  await db.batch(stmts);
  return { [kind === 'contact' ? 'contacts_computed' : 'companies_computed']: ids.length, writes_planned: writes.length };
}

/** Data-driven models refit at most this often per run: once after the dirty deals, once more if that moved the fit. */
const MAX_REFITS = 2;

interface AttributeCheckpoint {
  refits?: unknown;
  rules?: unknown;
  /** While stored results are re-credited after the fit moved: the last deal id done ('' before the first). */
  recredit?: unknown;
}

/**
 * Recomputes dirty deals, then contacts, then companies, chunk by chunk, planning the field writes that changed. With
 * markov or shapley in the rules, the models are refitted on the stored journeys once the dirty deals are done; if the
 * fit moved, every stored deal result is re-credited with it in the same run (see src/sync/fit.ts).
 */
export async function attributeStep(ctx: RunContext, checkpoint: unknown): Promise<StepResult> {
  let counts: Counts = {};
  const { db, crm, active } = ctx;
  // Refits count per rules version: rules activated while a run is under way start the count again, and drop a
  // re-credit under way (activation marks every deal dirty).
  const saved = (checkpoint ?? {}) as AttributeCheckpoint;
  const sameRules = saved.rules === active.rulesVersion;
  let refits = sameRules ? Number(saved.refits) || 0 : 0;
  let recrediting = sameRules && typeof saved.recredit === 'string' ? saved.recredit : null;
  const usesFit = ctx.ownsDeals && fittedModels(active.rules).length > 0;
  let fitted = usesFit ? await storedFit(db, crm, active.rules, active.rulesVersion) : undefined;
  const kinds = (ctx.ownsDeals ? ['deal', 'contact', 'company'] : ['contact', 'company']) as ('deal' | 'contact' | 'company')[];
  for (const kind of kinds) {
    for (;;) {
      if (ctx.spent()) {
        return { stage: 'attribute', checkpoint: { refits, rules: active.rulesVersion, recredit: recrediting }, counts, errors: [] };
      }
      const ids = await dirtyBatch(db, crm, kind, CHUNK);
      if (ids.length) {
        counts = addCounts(counts, kind === 'deal' ? await dealsChunk(ctx, ids, fitted) : await peopleChunk(ctx, kind, ids));
        continue;
      }
      if (recrediting !== null && fitted) {
        const r = await recreditChunk(ctx, recrediting, fitted);
        counts = addCounts(counts, r.counts);
        recrediting = r.last;
        continue;
      }
      const due = kind === 'deal' ? await dueDealsChunk(ctx) : kind === 'contact' ? await dueContactsChunk(ctx) : null;
      if (due) {
        counts = addCounts(counts, due);
        continue;
      }
      if (kind !== 'deal' || !usesFit || refits >= MAX_REFITS) break;
      refits++;
      const r = await refit(db, crm, active.rules, active.rulesVersion, ctx.run.id);
      if (r.refitted) counts = addCounts(counts, { model_refits: 1, model_fit_journeys: r.journeys });
      if (!r.recredit) break;
      counts = addCounts(counts, { model_fit_recredits: 1, writes_dropped: r.dropped });
      fitted = await storedFit(db, crm, active.rules, active.rulesVersion);
      recrediting = '';
    }
  }
  return { stage: 'write', checkpoint: {}, counts, errors: [] };
}

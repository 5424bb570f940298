import { computeDealInfluence } from '../../attribution/deal';
import { fittedModels, fittedOrEmpty, type Fitted } from '../../attribution/fit';
import type { Deal, DealInfluence, Touch } from '../../attribution/types';
import type { CrmName } from '../../env';
import type { Rules } from '../../rules';
import { dealCloseDate, loadDeals, loadLinksTo, noRefreshStmt, type DealRow } from '../../store/influence';
import { lastActivation } from '../../store/rules';
import { clearComputedStmts, dirtyBatch } from '../../store/sync';
import { addCounts, type Counts, type RunContext, type StepResult } from '../context';
import { fitState, refit } from '../fit';
import { peopleChunk, saveDeals } from './results';
import { dueDealsChunk, duePeopleChunk, recreditChunk } from './stored';
import { touchesOf } from './touches';

const CHUNK = 50;

export function toDeal(crm: CrmName, row: DealRow, contacts: { contact_id: string; is_primary: number; created_at: string | null }[]): Deal {
  return {
    id: row.crm_id, crm, amount: row.amount, currency: row.currency, createdAt: row.created_at,
    closedAt: row.is_closed ? dealCloseDate(row) : null, isClosed: row.is_closed === 1, isWon: row.is_won === 1,
    companyId: row.company_id,
    contacts: contacts.map((c) => ({ contactId: c.contact_id, isPrimary: c.is_primary === 1, createdAt: c.created_at ?? row.created_at })),
  };
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

async function dealsChunk(ctx: RunContext, ids: string[], fitted: Fitted | undefined): Promise<Counts> {
  const { db, crm, active } = ctx;
  const computed = await computeDeals(
    { db, crm, rules: active.rules, rulesVersion: active.rulesVersion, evidenceBaseUrl: ctx.config.PUBLIC_URL, fitted }, ids,
  );
  // A stored result whose deal is no longer in the mirror is not due again: its refresh would requeue it for ever.
  const found = new Set(computed.map((c) => c.influence.dealId));
  const gone = ids.filter((id) => !found.has(id));
  const also = [...clearComputedStmts(db, crm, 'deal', ids, active.activatedAt), ...(gone.length ? [noRefreshStmt(db, crm, gone)] : [])];
  const planned = await saveDeals(ctx, computed, also);
  return { deals_computed: computed.length, writes_planned: planned, influenced: computed.filter((c) => c.influence.influenced).length };
}

/** Data-driven models refit at most this often per run: once after the dirty deals, once more if that moved the fit. */
const MAX_REFITS = 2;

interface AttributeCheckpoint {
  refits?: unknown;
  rules?: unknown;
}

/**
 * Recomputes dirty deals, then contacts, then companies, chunk by chunk, planning the field writes that changed. Then
 * brings stored results up to date without their touches (src/sync/stages/stored.ts): with markov or shapley in the
 * rules, the models are refitted on the stored journeys once the dirty deals are done, and if the fit moved every
 * stored deal result is re-credited with it in the same run (see src/sync/fit.ts); deals and contacts whose values
 * changed with time alone are refreshed.
 */
export async function attributeStep(ctx: RunContext, checkpoint: unknown): Promise<StepResult> {
  let counts: Counts = {};
  const { db, crm, active } = ctx;
  // Refits count per rules version: rules activated while a run is under way start the count again (and a re-credit
  // under the old rules is not continued: fitState only reports one for the active rules).
  const saved = (checkpoint ?? {}) as AttributeCheckpoint;
  let refits = saved.rules === active.rulesVersion ? Number(saved.refits) || 0 : 0;
  const usesFit = ctx.ownsDeals && fittedModels(active.rules).length > 0;
  let state = usesFit ? await fitState(db, crm, active.rules, active.rulesVersion) : undefined;
  let recrediting = state?.recreditAfter ?? null;
  const kinds = (ctx.ownsDeals ? ['deal', 'contact', 'company'] : ['contact', 'company']) as ('deal' | 'contact' | 'company')[];
  for (const kind of kinds) {
    for (;;) {
      if (ctx.spent()) return { stage: 'attribute', checkpoint: { refits, rules: active.rulesVersion }, counts, errors: [] };
      const ids = await dirtyBatch(db, crm, kind, CHUNK);
      if (ids.length) {
        counts = addCounts(counts, kind === 'deal' ? await dealsChunk(ctx, ids, state?.fitted) : await peopleChunk(ctx, kind, ids));
        // Rules activated since this step loaded its own: the chunk put its marks back (clearComputedStmts), and the
        // next step, which loads the new rules, takes them up. Going on would compute the same records again.
        if ((await lastActivation(db)) > active.activatedAt) return { stage: 'attribute', checkpoint: {}, counts, errors: [] };
        continue;
      }
      if (kind === 'deal' && recrediting !== null && state) {
        const r = await recreditChunk(ctx, recrediting, state.fitted);
        counts = addCounts(counts, r.counts);
        recrediting = r.after;
        continue;
      }
      const due = kind === 'deal' ? await dueDealsChunk(ctx) : await duePeopleChunk(ctx, kind);
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
      // The refit stored this fit and started the re-credit from the first deal, in one batch.
      state = { fitted: r.fitted ?? {}, recreditAfter: '', journeys: r.journeys };
      recrediting = '';
    }
  }
  return { stage: 'write', checkpoint: {}, counts, errors: [] };
}

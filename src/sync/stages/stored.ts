import { needsTouches, rescore } from '../../attribution/aging';
import type { Fitted } from '../../attribution/fit';
import { recredit } from '../../attribution/recredit';
import type { DealInfluence } from '../../attribution/types';
import { dueDealResults, duePeople, storedResultsAfter, type StoredResultRow } from '../../store/influence';
import { markDirtyStmt } from '../../store/sync';
import { addCounts, type Counts, type RunContext } from '../context';
import { recreditPositionStmt } from '../fit';
import { closedAtOf, peopleChunk, saveDeals } from './results';

/**
 * Stored deal results brought up to date without loading their touches: re-credited after the fit moved
 * (src/attribution/recredit.ts) and re-scored when time alone changed them (src/attribution/aging.ts). Both keep
 * computed_at (the last computation from the touches), so neither moves the journeys' watermark and starts a refit.
 * Contacts due for a refresh are recomputed: theirs is a count over the touches, which are not stored with them.
 */

const CHUNK = 50;

/** A stored result parsed, with the deal's dates as stored beside it. */
function parsed(r: StoredResultRow) {
  const influence = JSON.parse(r.detail) as DealInfluence;
  const deal = { created_at: r.deal_created_at, close_date: r.close_date };
  return { influence, deal, computedAt: r.computed_at, closedAt: closedAtOf({ influence, deal }) };
}

/**
 * Stores what `update` makes of each stored result, in one batch with `also`. Some results lack touches the update
 * needs: one whose stored evidence was bounded for size (evidenceOmitted), and one with a touch dated in the future
 * when it was computed whose time has come (needsTouches). Those are marked dirty instead, and computed from their
 * touches in the same run. Returns the results updated, the writes planned and the results so requeued.
 */
async function updateStored(ctx: RunContext, rows: StoredResultRow[], now: string, update: (r: ReturnType<typeof parsed>) => DealInfluence, also: D1PreparedStatement[]) {
  const all = rows.map(parsed);
  const fromTouches = (p: ReturnType<typeof parsed>) => !!p.influence.evidenceOmitted || needsTouches(p.influence, now);
  const whole = all.filter((p) => !fromTouches(p));
  const requeuedIds = all.filter(fromTouches).map((p) => p.influence.dealId);
  const requeue = requeuedIds.length ? [markDirtyStmt(ctx.db, ctx.crm, 'deal', requeuedIds)] : [];
  const computed = whole.map((p) => ({ influence: update(p), deal: p.deal, computedAt: p.computedAt }));
  const planned = await saveDeals(ctx, computed, [...requeue, ...also]);
  return { updated: whole.length, planned, requeued: requeuedIds.length };
}

const requeued = (n: number): Counts => (n ? { deals_requeued: n } : {});

/**
 * Re-credits the next chunk of stored results after `after` with the current fit, and re-scores them as of now (a full
 * recompute now would give both), recording the position in the same batch. Returns the new position: null once none
 * is left (the position is then cleared).
 */
export async function recreditChunk(ctx: RunContext, after: string, fitted: Fitted): Promise<{ counts: Counts; after: string | null }> {
  const rows = await storedResultsAfter(ctx.db, ctx.crm, ctx.active.rulesVersion, after, CHUNK);
  if (!rows.length) {
    await recreditPositionStmt(ctx.db, ctx.crm, null).run();
    return { counts: {}, after: null };
  }
  const last = rows[rows.length - 1]!.deal_id;
  const now = new Date().toISOString();
  const { rules } = ctx.active;
  const r = await updateStored(ctx, rows, now, (p) => rescore(recredit(p.influence, rules, fitted), rules, now, p.closedAt), [recreditPositionStmt(ctx.db, ctx.crm, last)]);
  return { counts: { deals_recredited: r.updated, writes_planned: r.planned, ...requeued(r.requeued) }, after: last };
}

/** Re-scores the next chunk of deal results whose score changed with time alone. Null when none is due. */
export async function dueDealsChunk(ctx: RunContext): Promise<Counts | null> {
  const now = new Date().toISOString();
  const rows = await dueDealResults(ctx.db, ctx.crm, ctx.active.rulesVersion, now, CHUNK);
  if (!rows.length) return null;
  const r = await updateStored(ctx, rows, now, (p) => rescore(p.influence, ctx.active.rules, now, p.closedAt), []);
  return { deals_rescored: r.updated, writes_planned: r.planned, ...requeued(r.requeued) };
}

/**
 * Recomputes the next chunk of contacts or companies whose figures changed with time alone (a contact's recent
 * activity count; a touch dated in the future come due). Null when none is due.
 */
export async function duePeopleChunk(ctx: RunContext, kind: 'contact' | 'company'): Promise<Counts | null> {
  const ids = await duePeople(ctx.db, ctx.crm, kind, new Date().toISOString(), CHUNK);
  if (!ids.length) return null;
  return addCounts(await peopleChunk(ctx, kind, ids), { [kind === 'contact' ? 'contacts_refreshed' : 'companies_refreshed']: ids.length });
}

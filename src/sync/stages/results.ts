import { dealRefreshAt } from '../../attribution/aging';
import { companyFieldValues, contactFieldValues, dealFieldValues } from '../../attribution/outputs';
import { companyRefreshAt, computeCompanyInfluence, computeContactInfluence, contactRefreshAt } from '../../attribution/people';
import type { Touch } from '../../attribution/types';
import type { FieldValue, WriteObject } from '../../crm/types';
import {
  dealCloseDate, loadWritten, planWritesStmt, upsertCompanyInfluenceStmt, upsertContactInfluenceStmt, upsertDealInfluenceStmts,
  type PlannedWrite, type StoredDeal,
} from '../../store/influence';
import { clearComputedStmts } from '../../store/sync';
import type { Counts, RunContext } from '../context';
import { touchesOf } from './touches';

/**
 * Storing computed results and planning the CRM writes whose values changed: what every path of the attribute stage
 * (computed from touches, re-credited, refreshed) ends with.
 */

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

export type ComputedDeal = Omit<StoredDeal, 'refreshAt'>;

/** When the deal closed, as the engine saw it: toDeal gives open deals no close time. */
export const closedAtOf = (c: Pick<ComputedDeal, 'influence' | 'deal'>) => (c.influence.isClosed ? dealCloseDate(c.deal) : null);

/**
 * Stores deal results, with when each next changes with time alone, and plans the field writes that changed, in one
 * batch with `also`; returns the writes planned.
 */
export async function saveDeals(ctx: RunContext, computed: ComputedDeal[], also: D1PreparedStatement[]): Promise<number> {
  const { db, crm, active } = ctx;
  const mapping = active.mappings[crm];
  const values = new Map(computed.map(({ influence }) => [influence.dealId, mapping ? dealFieldValues(mapping, influence) : {}]));
  const writes = await diffWrites(ctx, 'deal', values);
  const now = new Date().toISOString();
  const stored = computed.map((c) => ({ ...c, refreshAt: dealRefreshAt(c.influence, active.rules, now, closedAtOf(c)) }));
  const stmts = [...upsertDealInfluenceStmts(db, crm, stored, now), ...also];
  if (writes.length) stmts.push(planWritesStmt(db, ctx.run.id, writes));
  await db.batch(stmts);
  return writes.length;
}

/** Contact or company outputs: the touches of the members linked to each record (company: also via its contacts). */
export async function peopleChunk(ctx: RunContext, kind: 'contact' | 'company', ids: string[]): Promise<Counts> {
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
    const rows = [...byRef].map(([id, t]) => ({ ...computeCompanyInfluence(id, t, active.rules, now), refreshAt: companyRefreshAt(id, t, active.rules, now) }));
    for (const r of rows) values.set(r.companyId, mapping ? companyFieldValues(mapping, r) : {});
    stmt = upsertCompanyInfluenceStmt(db, crm, rows, now);
  }
  const writes = await diffWrites(ctx, kind, values);
  const stmts = [stmt, ...clearComputedStmts(db, crm, kind, ids, active.activatedAt)];
  if (writes.length) stmts.push(planWritesStmt(db, ctx.run.id, writes));
  await db.batch(stmts);
  return { [kind === 'contact' ? 'contacts_computed' : 'companies_computed']: ids.length, writes_planned: writes.length };
}


import * as z from 'zod';
import type { CrmCompany, CrmContact, CrmDeal, CrmDealContact, PullCursor, PullObject } from '../../crm/types';
import { normaliseEmail, registrableDomain } from '../../identity';
import {
  comparable, dealContactsKey, markDirtyStmt, mirrorOf, replaceDealContactsStmts, upsertCompaniesStmts, upsertContactsStmts,
  upsertDealsStmts,
} from '../../store/crm';
import { getState } from '../../store/sync';
import { addCounts, type RunContext, type StepResult } from '../context';

const cursorSchema = z.object({
  phase: z.enum(['initial', 'incremental']),
  updatedAfter: z.string().nullable(),
  lastId: z.string().nullable(),
  pageToken: z.string().nullable(),
  seen: z.array(z.string()).optional(),
});

export const pullCheckpointSchema = z.object({
  index: z.number().int().nonnegative().default(0),
  cursor: cursorSchema.nullable().default(null),
  started: z.boolean().default(false),
});

/** HubSpot's search maximum, and Salesforce's smallest query batch: fewer calls per record pulled. */
const PAGE_SIZE = 200;

export function pullObjects(ctx: RunContext): PullObject[] {
  const objects: PullObject[] = ['companies', 'contacts'];
  if (ctx.crm === 'salesforce') objects.push('leads');
  if (ctx.ownsDeals) objects.push('deals');
  return objects;
}

export function contactEmails(ctx: RunContext, c: CrmContact): string[] {
  const out = new Set<string>();
  for (const raw of [c.email, ...c.additionalEmails]) {
    const n = raw ? normaliseEmail(raw, ctx.resolver.email) : null;
    if (n) out.add(n.canonical);
  }
  return [...out];
}

export function companyDomains(c: CrmCompany): string[] {
  const out = new Set<string>();
  for (const raw of [c.domain, c.website, ...c.additionalDomains]) {
    if (!raw) continue;
    const host = raw.replace(/^[a-z]+:\/\//i, '').split('/')[0]!;
    const d = registrableDomain(host);
    if (d) out.add(d);
  }
  return [...out];
}

/**
 * Pulls one page at a time of each object, storing the page, its dirty markers and the cursor in one D1 batch: a run
 * killed between pages resumes at the page after the last stored one, and re-pulling a page is harmless (upserts).
 */
export async function pullStep(ctx: RunContext, checkpoint: unknown): Promise<StepResult> {
  const cp = pullCheckpointSchema.parse(checkpoint ?? {});
  const objects = pullObjects(ctx);
  const state = await getState(ctx.db, ctx.crm);
  const cursors = z.record(z.string(), cursorSchema).parse(JSON.parse(state.cursors));
  let counts = {};
  let { index, cursor, started } = cp;
  const connector = ctx.connector();
  while (index < objects.length && !ctx.spent()) {
    const object = objects[index]!;
    if (!started) {
      cursor = ctx.run.full ? null : (cursors[object] ?? null);
      started = true;
    }
    const callsBefore = connector.calls;
    const page = await connector.pull(object, cursor as PullCursor | null, PAGE_SIZE);
    const stmts: D1PreparedStatement[] = [];
    // Only records that differ from the mirror are stored and recomputed: our own writes bump the CRM's modified
    // time, and without this every run would re-pull and recompute everything it wrote the run before.
    const mirror = await mirrorOf(ctx.db, ctx.crm, object, page.records.map((r) => r.crmId));
    const changed = page.records.filter((r) => {
      const known = mirror.records.get(r.crmId);
      return !known || comparable(known) !== comparable(r);
    });
    const ids = changed.map((r) => r.crmId);
    if (object === 'contacts' || object === 'leads') {
      stmts.push(...upsertContactsStmts(ctx.db, ctx.crm, changed as CrmContact[], (c) => contactEmails(ctx, c)));
      stmts.push(markDirtyStmt(ctx.db, ctx.crm, 'contact', ids));
    } else if (object === 'companies') {
      stmts.push(...upsertCompaniesStmts(ctx.db, ctx.crm, changed as CrmCompany[], companyDomains));
      stmts.push(markDirtyStmt(ctx.db, ctx.crm, 'company', ids));
    } else {
      const deals = page.records as CrmDeal[];
      const dirty = new Set(ids);
      if (deals.length) {
        // Contact roles can change without the deal changing: compare them too.
        const links = await connector.pullDealLinks(deals.map((d) => d.crmId));
        const linksOf = new Map<string, CrmDealContact[]>();
        for (const l of links.contacts) linksOf.set(l.dealId, [...(linksOf.get(l.dealId) ?? []), l]);
        for (const d of deals) {
          const stored = mirror.dealContacts.get(d.crmId);
          const storedKey = stored ? dealContactsKey((JSON.parse(stored) as [string, string | null, number][]).map(([contactId, role, p]) => ({ dealId: d.crmId, contactId, role, isPrimary: p === 1 }))) : '[]';
          if (storedKey !== dealContactsKey(linksOf.get(d.crmId) ?? [])) dirty.add(d.crmId);
        }
        const dirtyIds = [...dirty];
        stmts.push(...upsertDealsStmts(ctx.db, ctx.crm, deals.filter((d) => dirty.has(d.crmId))));
        stmts.push(...replaceDealContactsStmts(ctx.db, ctx.crm, dirtyIds, links.contacts.filter((l) => dirty.has(l.dealId))));
        stmts.push(markDirtyStmt(ctx.db, ctx.crm, 'deal', dirtyIds));
      }
      ids.splice(0, ids.length, ...dirty);
    }
    const nextCursors = page.done ? { ...cursors, [object]: page.cursor } : cursors;
    stmts.push(
      ctx.db.prepare('UPDATE sync_state SET cursors = ?2 WHERE crm = ?1').bind(ctx.crm, JSON.stringify(nextCursors)),
    );
    await ctx.db.batch(stmts);
    Object.assign(cursors, nextCursors);
    counts = addCounts(counts, { [`pulled_${object}`]: page.records.length, [`changed_${object}`]: ids.length, crm_calls: connector.calls - callsBefore });
    if (page.done) {
      index++;
      cursor = null;
      started = false;
    } else {
      cursor = page.cursor;
    }
  }
  if (index >= objects.length) return { stage: 'expand', checkpoint: {}, counts, errors: [] };
  return { stage: 'pull', checkpoint: { index, cursor, started }, counts, errors: [] };
}

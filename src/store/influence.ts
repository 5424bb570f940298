import { boundedEvidence } from '../attribution/evidence';
import type { CompanyInfluence, ContactInfluence, DealInfluence } from '../attribution/types';
import type { CrmKind, FieldValue, WriteObject } from '../crm/types';

export interface DealRow {
  crm_id: string;
  name: string | null;
  amount: number | null;
  currency: string | null;
  stage: string | null;
  created_at: string;
  close_date: string | null;
  is_closed: number;
  is_won: number;
  company_id: string | null;
  /** The CRM's last modification (crm_deals rows carry it; stored results do not). */
  updated_at?: string;
}

/**
 * When a closed deal closed. A closed deal whose close date was cleared (HubSpot allows it) ends at its last
 * modification instead, so touches after the close never count without end.
 */
export const dealCloseDate = (row: Pick<DealRow, 'close_date' | 'updated_at'>): string | null => row.close_date ?? row.updated_at ?? null;

export interface TouchRow {
  seq: number;
  member_id: string;
  type: string;
  source: string;
  occurred_at: string;
  url: string | null;
  title: string | null;
  is_staff: number;
  is_bot: number;
}

const json = (v: unknown) => JSON.stringify(v);

/** Deals with their contacts (and when each entered the CRM), for a chunk of deal ids. */
export async function loadDeals(db: D1Database, crm: CrmKind, ids: string[]) {
  const [deals, contacts] = await db.batch([
    db.prepare('SELECT * FROM crm_deals WHERE crm = ?1 AND crm_id IN (SELECT value FROM json_each(?2))').bind(crm, json(ids)),
    db.prepare(
      `SELECT dc.deal_id, dc.contact_id, dc.is_primary, dc.role, c.created_at
         FROM crm_deal_contacts dc LEFT JOIN crm_contacts c ON c.crm = dc.crm AND c.crm_id = dc.contact_id
        WHERE dc.crm = ?1 AND dc.deal_id IN (SELECT value FROM json_each(?2))`,
    ).bind(crm, json(ids)),
  ]);
  return {
    deals: deals!.results as unknown as DealRow[],
    contacts: contacts!.results as unknown as { deal_id: string; contact_id: string; is_primary: number; role: string | null; created_at: string | null }[],
  };
}

/** Counted links (auto, confirmed) of members to the given contacts and companies of one CRM. */
export async function loadLinksTo(db: D1Database, crm: CrmKind, contactIds: string[], companyIds: string[]) {
  const { results } = await db
    .prepare(
      // Two keyed searches on links_target: with an OR between them SQLite scans every link of the CRM.
      `SELECT member_id, target_kind, crm_id FROM links
        WHERE crm = ?1 AND target_kind = 'contact' AND crm_id IN (SELECT value FROM json_each(?2)) AND status IN ('auto', 'confirmed')
       UNION ALL
       SELECT member_id, target_kind, crm_id FROM links
        WHERE crm = ?1 AND target_kind = 'company' AND crm_id IN (SELECT value FROM json_each(?3)) AND status IN ('auto', 'confirmed')`,
    )
    .bind(crm, json(contactIds), json(companyIds))
    .all<{ member_id: string; target_kind: 'contact' | 'company'; crm_id: string }>();
  return results;
}

/**
 * All counted links of the given members, and the companies whose domains their email addresses use, with when each
 * address was first seen (affiliation history). Domains are matched exactly (registrable domain computed by the caller).
 */
export async function loadMemberContext(db: D1Database, crm: CrmKind, memberIds: string[], domainOf: (email: string) => string | null) {
  const [links, emails] = await db.batch([
    db.prepare(
      `SELECT l.member_id, l.target_kind, l.crm_id, c.company_id AS contact_company
         FROM links l LEFT JOIN crm_contacts c ON l.target_kind = 'contact' AND c.crm = l.crm AND c.crm_id = l.crm_id
        WHERE l.crm = ?1 AND l.status IN ('auto', 'confirmed') AND l.member_id IN (SELECT value FROM json_each(?2))`,
    ).bind(crm, json(memberIds)),
    db.prepare(
      `SELECT member_id, email, min(first_seen_at) AS seen_at FROM identities
        WHERE member_id IN (SELECT value FROM json_each(?1)) AND email IS NOT NULL GROUP BY member_id, email`,
    ).bind(json(memberIds)),
  ]);
  const byDomain = new Map<string, { member_id: string; seen_at: string; email: string }[]>();
  for (const row of emails!.results as unknown as { member_id: string; email: string; seen_at: string }[]) {
    const domain = domainOf(row.email);
    if (domain) byDomain.set(domain, [...(byDomain.get(domain) ?? []), row]);
  }
  const domains: { member_id: string; company_id: string; seen_at: string; email: string }[] = [];
  if (byDomain.size) {
    const { results } = await db
      .prepare('SELECT domain, crm_id FROM crm_company_domains WHERE crm = ?1 AND domain IN (SELECT value FROM json_each(?2))')
      .bind(crm, json([...byDomain.keys()]))
      .all<{ domain: string; crm_id: string }>();
    for (const r of results) for (const e of byDomain.get(r.domain) ?? []) domains.push({ ...e, company_id: r.crm_id });
  }
  const { results: overrides } = await db
    .prepare(
      `SELECT member_id, company_id, valid_from, valid_to, decided_by FROM affiliation_overrides
        WHERE crm = ?1 AND member_id IN (SELECT value FROM json_each(?2))`,
    )
    .bind(crm, json(memberIds))
    .all<{ member_id: string; company_id: string | null; valid_from: string | null; valid_to: string | null; decided_by: string }>();
  return {
    links: links!.results as unknown as { member_id: string; target_kind: 'contact' | 'company'; crm_id: string; contact_company: string | null }[],
    domains,
    overrides,
  };
}

export async function loadTouches(db: D1Database, memberIds: string[]): Promise<TouchRow[]> {
  if (!memberIds.length) return [];
  const { results } = await db
    .prepare(
      `SELECT a.seq, a.member_id, a.type, a.source, a.occurred_at, a.url, a.title, m.is_staff, m.is_bot
         FROM activities a JOIN members m ON m.id = a.member_id
        WHERE a.member_id IN (SELECT value FROM json_each(?1))
        ORDER BY a.member_id, a.occurred_at`,
    )
    .bind(json(memberIds))
    .all<TouchRow>();
  return results;
}

/** A deal result to store: the influence, the deal's dates, and when it next changes with time alone (null: never). */
export interface StoredDeal {
  influence: DealInfluence;
  deal: Pick<DealRow, 'created_at' | 'close_date' | 'updated_at'>;
  refreshAt: string | null;
  /** Keeps this computed_at instead of now: a re-score for time alone is not a computation (and moves no refit). */
  computedAt?: string;
}

const UPSERT_DEAL_INFLUENCE = `INSERT INTO deal_influence (crm, deal_id, rules_version, influenced, sourced, assisted, score, touch_count,
                                   first_touch_at, last_touch_at, top_channel, amount, attributed_amount, currency, is_closed,
                                   is_won, deal_created_at, close_date, detail, journey, refresh_at, computed_at)
       SELECT ?1, value ->> 'dealId', value ->> 'rulesVersion', value ->> 'influenced', value ->> 'sourced', value ->> 'assisted',
              value ->> 'score', value ->> 'touchCount', value ->> 'firstTouchAt', value ->> 'lastTouchAt', value ->> 'topChannel',
              value ->> 'amount', value ->> 'attributed', value ->> 'currency', value ->> 'isClosed', value ->> 'isWon',
              value ->> 'createdAt', value ->> 'closeDate', value ->> 'detail', value ->> 'journey', value ->> 'refreshAt',
              coalesce(value ->> 'computedAt', ?3)
         FROM json_each(?2) WHERE true
       ON CONFLICT (crm, deal_id) DO UPDATE SET
         rules_version = excluded.rules_version, influenced = excluded.influenced, sourced = excluded.sourced,
         assisted = excluded.assisted, score = excluded.score, touch_count = excluded.touch_count,
         first_touch_at = excluded.first_touch_at, last_touch_at = excluded.last_touch_at, top_channel = excluded.top_channel,
         amount = excluded.amount, attributed_amount = excluded.attributed_amount, currency = excluded.currency,
         is_closed = excluded.is_closed, is_won = excluded.is_won, deal_created_at = excluded.deal_created_at,
         close_date = excluded.close_date, detail = excluded.detail, journey = excluded.journey, refresh_at = excluded.refresh_at,
         computed_at = excluded.computed_at`;

/**
 * D1 takes a bound string of at most 2 MB. Rows are bound as one JSON array per statement, so a chunk whose results
 * (each with its evidence) would pass this many UTF-16 units (≤ 1.8 MB as UTF-8) is split over several statements.
 */
const MAX_BOUND_CHARS = 600_000;

/**
 * A stored result's JSON (the detail column) is kept to this many UTF-16 units, at most 1.2 MB as UTF-8 against D1's
 * 2 MB per row: past it the evidence keeps the touches with the most credit (boundedEvidence).
 */
const MAX_DETAIL_CHARS = 400_000;

/**
 * Statements storing deal results: as few as fit D1's limit on a bound string (one for an ordinary chunk). The journey
 * is taken from the full evidence, before a result too big to keep whole is bounded.
 */
export function upsertDealInfluenceStmts(db: D1Database, crm: CrmKind, rows: StoredDeal[], now: string): D1PreparedStatement[] {
  const groups: string[][] = [];
  let size = Number.POSITIVE_INFINITY;
  for (const { influence: d, deal, refreshAt, computedAt } of rows) {
    let detail = json(d);
    if (detail.length > MAX_DETAIL_CHARS) detail = json(boundedEvidence(d, MAX_DETAIL_CHARS));
    const value = json({
      dealId: d.dealId, rulesVersion: d.rulesVersion, influenced: d.influenced ? 1 : 0, sourced: d.sourced ? 1 : 0,
      assisted: d.assisted ? 1 : 0, score: d.score, touchCount: d.touchCount, firstTouchAt: d.firstTouchAt,
      lastTouchAt: d.lastTouchAt, topChannel: d.topChannel, amount: d.amount,
      attributed: d.attributedAmount[d.primaryModel] ?? null, currency: d.currency, isClosed: d.isClosed ? 1 : 0,
      isWon: d.isWon ? 1 : 0, createdAt: deal.created_at, closeDate: d.isClosed ? dealCloseDate(deal) : deal.close_date, detail,
      // The channels of the counted touches in time order: what the data-driven models are fitted on.
      journey: json(d.evidence.map((e) => e.channel)),
      refreshAt, computedAt,
    });
    if (size + value.length + 1 > MAX_BOUND_CHARS) {
      groups.push([]);
      size = 2;
    }
    groups[groups.length - 1]!.push(value);
    size += value.length + 1;
  }
  return groups.map((g) => db.prepare(UPSERT_DEAL_INFLUENCE).bind(crm, `[${g.join(',')}]`, now));
}

/** A stored deal result, as re-credit and refresh read it back. */
export interface StoredResultRow {
  deal_id: string;
  detail: string;
  deal_created_at: string;
  close_date: string | null;
  computed_at: string;
}

/**
 * The next stored deal results under this rules version after `after`, in deal id order (the primary key), for
 * re-crediting. Results under other versions are not re-credited: they are dirty and computed afresh.
 */
export async function storedResultsAfter(db: D1Database, crm: CrmKind, rulesVersion: string, after: string, limit: number): Promise<StoredResultRow[]> {
  const { results } = await db
    .prepare(
      `SELECT deal_id, detail, deal_created_at, close_date, computed_at FROM deal_influence
        WHERE crm = ?1 AND deal_id > ?2 AND rules_version = ?3 ORDER BY deal_id LIMIT ?4`,
    )
    .bind(crm, after, rulesVersion, limit)
    .all<StoredResultRow>();
  return results;
}

/** Stored deal results under this rules version due for a refresh at `now` (deal_influence_refresh), soonest first. */
export async function dueDealResults(db: D1Database, crm: CrmKind, rulesVersion: string, now: string, limit: number): Promise<StoredResultRow[]> {
  const { results } = await db
    .prepare(
      `SELECT deal_id, detail, deal_created_at, close_date, computed_at FROM deal_influence
        WHERE crm = ?1 AND refresh_at <= ?2 AND rules_version = ?3 ORDER BY refresh_at LIMIT ?4`,
    )
    .bind(crm, now, rulesVersion, limit)
    .all<StoredResultRow>();
  return results;
}

/** Stored deal results that are never to be refreshed (their deal is gone from the mirror). */
export function noRefreshStmt(db: D1Database, crm: CrmKind, dealIds: string[]) {
  return db
    .prepare('UPDATE deal_influence SET refresh_at = NULL WHERE crm = ?1 AND deal_id IN (SELECT value FROM json_each(?2))')
    .bind(crm, JSON.stringify(dealIds));
}

/**
 * Contacts or companies whose stored result is due for a refresh at `now` (contact_influence_refresh,
 * company_influence_refresh), soonest first.
 */
export async function duePeople(db: D1Database, crm: CrmKind, kind: 'contact' | 'company', now: string, limit: number): Promise<string[]> {
  const { results } = await db
    .prepare(
      kind === 'contact'
        ? `SELECT contact_id AS id FROM contact_influence WHERE crm = ?1 AND refresh_at <= ?2 ORDER BY refresh_at LIMIT ?3`
        : `SELECT company_id AS id FROM company_influence WHERE crm = ?1 AND refresh_at <= ?2 ORDER BY refresh_at LIMIT ?3`,
    )
    .bind(crm, now, limit)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** Contact results with when each next changes with time alone (null: never). */
export function upsertContactInfluenceStmt(db: D1Database, crm: CrmKind, rows: (ContactInfluence & { refreshAt: string | null })[], now: string) {
  return db
    .prepare(
      `INSERT INTO contact_influence (crm, contact_id, stage, last_activity_at, activity_recent, channels, refresh_at, computed_at)
       SELECT ?1, value ->> 'contactId', value ->> 'stage', value ->> 'lastActivityAt', value ->> 'activityRecent',
              json(value -> 'channels'), value ->> 'refreshAt', ?3 FROM json_each(?2) WHERE true
       ON CONFLICT (crm, contact_id) DO UPDATE SET stage = excluded.stage, last_activity_at = excluded.last_activity_at,
         activity_recent = excluded.activity_recent, channels = excluded.channels, refresh_at = excluded.refresh_at,
         computed_at = excluded.computed_at`,
    )
    .bind(crm, json(rows), now);
}

/** Company results with when each next changes with time alone (null: never). */
export function upsertCompanyInfluenceStmt(db: D1Database, crm: CrmKind, rows: (CompanyInfluence & { refreshAt: string | null })[], now: string) {
  return db
    .prepare(
      `INSERT INTO company_influence (crm, company_id, engaged_members, activity_count, top_channel, last_activity_at, refresh_at, computed_at)
       SELECT ?1, value ->> 'companyId', value ->> 'engagedMembers', value ->> 'activityCount', value ->> 'topChannel',
              value ->> 'lastActivityAt', value ->> 'refreshAt', ?3 FROM json_each(?2) WHERE true
       ON CONFLICT (crm, company_id) DO UPDATE SET engaged_members = excluded.engaged_members,
         activity_count = excluded.activity_count, top_channel = excluded.top_channel,
         last_activity_at = excluded.last_activity_at, refresh_at = excluded.refresh_at, computed_at = excluded.computed_at`,
    )
    .bind(crm, json(rows), now);
}

/** Last written values for records of one object type, field → JSON-encoded value. */
export async function loadWritten(db: D1Database, crm: CrmKind, object: WriteObject, ids: string[]): Promise<Map<string, Map<string, string | null>>> {
  const { results } = await db
    .prepare('SELECT crm_id, field, value FROM crm_written WHERE crm = ?1 AND object = ?2 AND crm_id IN (SELECT value FROM json_each(?3))')
    .bind(crm, object, json(ids))
    .all<{ crm_id: string; field: string; value: string | null }>();
  const out = new Map<string, Map<string, string | null>>();
  for (const r of results) {
    if (!out.has(r.crm_id)) out.set(r.crm_id, new Map());
    out.get(r.crm_id)!.set(r.field, r.value);
  }
  return out;
}

export interface PlannedWrite {
  object: WriteObject;
  crmId: string;
  fields: Record<string, FieldValue>;
  old: Record<string, FieldValue | undefined>;
}

export function planWritesStmt(db: D1Database, runId: string, writes: PlannedWrite[]) {
  return db
    .prepare(
      `INSERT INTO sync_writes (run_id, object, crm_id, fields, old, status)
       SELECT ?1, value ->> 'object', value ->> 'crmId', json(value -> 'fields'), json(value -> 'old'), 'pending'
         FROM json_each(?2) WHERE true
       ON CONFLICT (run_id, object, crm_id) DO UPDATE SET fields = excluded.fields, old = excluded.old, status = 'pending'`,
    )
    .bind(runId, json(writes));
}

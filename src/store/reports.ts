/**
 * Read-only queries behind the DevRel dashboard (GET /). Aggregation over deals happens in the page's domain code
 * (src/ui/dashboard-data.ts) from one light row per deal; breakdowns that need the per-touch evidence (activity type,
 * event, member) are aggregated here in SQL with json_each over deal_influence.detail.
 */

export interface ReportFilter {
  /** Inclusive ISO date (YYYY-MM-DD) or null. A deal's date is its close date when closed, else its creation date. */
  from: string | null;
  /** Exclusive ISO date or null. */
  to: string | null;
  pipeline: string | null;
  currency: string | null;
  /** Attribution model whose credit is used (a key of DealInfluence.attributedAmount / creditByChannel). */
  model: string;
}

export interface ReportDealRow {
  crm: string;
  deal_id: string;
  name: string | null;
  pipeline: string | null;
  company_id: string | null;
  company_name: string | null;
  industry: string | null;
  employees: number | null;
  country: string | null;
  influenced: number;
  sourced: number;
  amount: number | null;
  currency: string | null;
  is_closed: number;
  is_won: number;
  deal_created_at: string;
  close_date: string | null;
  /** attributedAmount[model] */
  attributed: number | null;
  /** JSON object channel → share, for the model, or null. */
  channels: string | null;
}

/** A malformed detail (should never happen) must not break every page: it reads as an empty object. */
const SAFE_DETAIL = `(CASE WHEN json_valid(i.detail) THEN i.detail ELSE '{}' END)`;

const DEAL_DATE = `(CASE WHEN i.is_closed = 1 THEN coalesce(i.close_date, i.deal_created_at) ELSE i.deal_created_at END)`;

/** The shared WHERE over `deal_influence i LEFT JOIN crm_deals d`; parameters ?1..?4 = from, to, pipeline, currency. */
const WHERE = `
  WHERE (?1 IS NULL OR ${DEAL_DATE} >= ?1)
    AND (?2 IS NULL OR ${DEAL_DATE} < ?2)
    AND (?3 IS NULL OR d.pipeline = ?3)
    AND (?4 IS NULL OR coalesce(i.currency, '') = ?4)`;

const binds = (f: ReportFilter) => [f.from, f.to, f.pipeline, f.currency] as const;

/** `$.attributedAmount.<model>`; model names are validated against MODEL_NAMES before they get here. */
const modelPath = (prefix: string, model: string) => `${prefix}.${model.replace(/[^a-z_]/g, '')}`;

export async function loadReport(db: D1Database, f: ReportFilter) {
  const b = binds(f);
  const [deals, breakdown, pipelines] = await db.batch([
    db.prepare(
      `SELECT i.crm, i.deal_id, d.name, d.pipeline, d.company_id, co.name AS company_name, co.industry, co.employees, co.country,
              i.influenced, i.sourced, i.amount, i.currency, i.is_closed, i.is_won, i.deal_created_at, i.close_date,
              json_extract(${SAFE_DETAIL}, '${modelPath('$.attributedAmount', f.model)}') AS attributed,
              json_extract(${SAFE_DETAIL}, '${modelPath('$.creditByChannel', f.model)}') AS channels
         FROM deal_influence i
         LEFT JOIN crm_deals d ON d.crm = i.crm AND d.crm_id = i.deal_id
         LEFT JOIN crm_companies co ON co.crm = i.crm AND co.crm_id = d.company_id
        ${WHERE}`,
    ).bind(...b),
    // Credit by activity type, by event and by member in one pass over the evidence (parsed once, materialised):
    // amount × the touch's share under the model; open deals → pipeline, won → revenue. A result whose evidence was
    // bounded for size has the touches left out summed in evidenceRest (`touches` each; no member when even those
    // groups would not fit), read in the same pass.
    db.prepare(
      `WITH t AS MATERIALIZED (
         SELECT i.deal_id, i.is_closed, i.is_won,
                json_extract(e.value, '$.type') AS activity_type, json_extract(e.value, '$.channel') AS channel,
                coalesce(json_extract(e.value, '$.title'), json_extract(e.value, '$.url'), '(untitled)') AS title,
                json_extract(e.value, '$.memberId') AS member_id, coalesce(json_extract(e.value, '$.touches'), 1) AS n,
                coalesce(i.amount, 0) * coalesce(json_extract(e.value, '${modelPath('$.credit', f.model)}'), 0) AS credit
           FROM deal_influence i LEFT JOIN crm_deals d ON d.crm = i.crm AND d.crm_id = i.deal_id,
                (SELECT '$.evidence' AS part UNION ALL SELECT '$.evidenceRest') p, json_each(${SAFE_DETAIL}, p.part) e
          ${WHERE} AND i.influenced = 1)
       SELECT * FROM (
         SELECT 'type' AS kind, activity_type AS k, sum(CASE WHEN is_closed = 0 THEN credit ELSE 0 END) AS pipeline,
                sum(CASE WHEN is_won = 1 THEN credit ELSE 0 END) AS revenue, sum(n) AS touches, count(DISTINCT deal_id) AS deals
           FROM t GROUP BY activity_type ORDER BY revenue + pipeline DESC LIMIT 50)
       UNION ALL SELECT * FROM (
         SELECT 'event', title, sum(CASE WHEN is_closed = 0 THEN credit ELSE 0 END) AS pipeline,
                sum(CASE WHEN is_won = 1 THEN credit ELSE 0 END) AS revenue, sum(n), count(DISTINCT deal_id)
           FROM t WHERE channel = 'events' GROUP BY title ORDER BY revenue + pipeline DESC LIMIT 30)
       UNION ALL SELECT * FROM (
         SELECT 'member', member_id, sum(CASE WHEN is_closed = 0 THEN credit ELSE 0 END) AS pipeline,
                sum(CASE WHEN is_won = 1 THEN credit ELSE 0 END) AS revenue, sum(n), count(DISTINCT deal_id) AS deals
           FROM t WHERE member_id IS NOT NULL GROUP BY member_id ORDER BY revenue + pipeline DESC, deals DESC LIMIT 20)`,
    ).bind(...b),
    db.prepare(`SELECT DISTINCT pipeline FROM crm_deals WHERE pipeline IS NOT NULL ORDER BY pipeline LIMIT 50`),
  ]);
  type Agg = { kind: 'type' | 'event' | 'member'; k: string; pipeline: number; revenue: number; touches: number; deals: number };
  const agg = breakdown!.results as unknown as Agg[];
  const memberAgg = agg.filter((r) => r.kind === 'member');
  const names = memberAgg.length
    ? await db.prepare('SELECT id, display_name FROM members WHERE id IN (SELECT value FROM json_each(?1))').bind(JSON.stringify(memberAgg.map((r) => r.k))).all<{ id: string; display_name: string | null }>()
    : { results: [] };
  const nameOf = new Map(names.results.map((r) => [r.id, r.display_name]));
  const strip = ({ pipeline, revenue, touches, deals }: Agg) => ({ pipeline, revenue, touches, deals });
  return {
    deals: deals!.results as unknown as ReportDealRow[],
    byType: agg.filter((r) => r.kind === 'type').map((r) => ({ activity_type: r.k, ...strip(r) })),
    byEvent: agg.filter((r) => r.kind === 'event').map((r) => ({ event: r.k, ...strip(r) })),
    byMember: memberAgg.map((r) => ({ member_id: r.k, display_name: nameOf.get(r.k) ?? null, ...strip(r) })),
    pipelines: (pipelines!.results as { pipeline: string }[]).map((r) => r.pipeline),
  };
}

/** Currencies of the computed deals, most common first (money is never added across currencies). */
export async function reportCurrencies(db: D1Database): Promise<string[]> {
  const { results } = await db
    .prepare(`SELECT coalesce(currency, '') AS currency, count(*) AS n FROM deal_influence GROUP BY 1 ORDER BY n DESC`)
    .all<{ currency: string; n: number }>();
  return results.map((r) => r.currency);
}

/** Members by community stage (contact_influence.stage of their linked contacts) and how far they got in the CRM. */
/**
 * The community funnel: people (not bots or staff, and not merged away), those linked to a CRM contact, on a deal, on
 * a won deal; and per stage, each person once, at the deepest stage (`stages` in rules order) of their contacts.
 */
export async function loadFunnel(db: D1Database, stages: readonly string[]) {
  const linked = `linked AS (
         SELECT DISTINCT l.member_id, l.crm, l.crm_id FROM links l JOIN members m ON m.id = l.member_id
          WHERE l.target_kind = 'contact' AND l.status IN ('auto', 'confirmed') AND m.is_bot = 0 AND m.is_staff = 0
            AND m.merged_into IS NULL)`;
  const [totals, byStage] = await db.batch([
    db.prepare(
      `WITH ${linked}
       SELECT (SELECT count(*) FROM members WHERE is_bot = 0 AND is_staff = 0 AND merged_into IS NULL) AS members,
              (SELECT count(DISTINCT member_id) FROM linked) AS contacts,
              (SELECT count(DISTINCT k.member_id) FROM linked k JOIN crm_deal_contacts dc ON dc.crm = k.crm AND dc.contact_id = k.crm_id) AS opportunities,
              (SELECT count(DISTINCT k.member_id) FROM linked k JOIN crm_deal_contacts dc ON dc.crm = k.crm AND dc.contact_id = k.crm_id
                 JOIN crm_deals d ON d.crm = dc.crm AND d.crm_id = dc.deal_id WHERE d.is_won = 1) AS customers`,
    ),
    db.prepare(
      `WITH ${linked},
       per_contact AS (
         SELECT k.member_id, ci.stage, (SELECT key FROM json_each(?1) WHERE value = ci.stage) AS depth,
                dc.deal_id, d.is_won
           FROM linked k
           LEFT JOIN contact_influence ci ON ci.crm = k.crm AND ci.contact_id = k.crm_id
           LEFT JOIN crm_deal_contacts dc ON dc.crm = k.crm AND dc.contact_id = k.crm_id
           LEFT JOIN crm_deals d ON d.crm = dc.crm AND d.crm_id = dc.deal_id),
       per_member AS (
         SELECT stage, max(deal_id IS NOT NULL) OVER w AS opportunity, max(coalesce(is_won, 0)) OVER w AS customer,
                row_number() OVER (PARTITION BY member_id ORDER BY coalesce(depth, -1) DESC, stage) AS rn
           FROM per_contact WINDOW w AS (PARTITION BY member_id))
       SELECT coalesce(stage, '(none)') AS stage, count(*) AS members, sum(opportunity) AS opportunities, sum(customer) AS customers
         FROM per_member WHERE rn = 1 GROUP BY 1`,
    ).bind(JSON.stringify(stages)),
  ]);
  return {
    totals: (totals!.results[0] ?? { members: 0, contacts: 0, opportunities: 0, customers: 0 }) as { members: number; contacts: number; opportunities: number; customers: number },
    stages: byStage!.results as unknown as { stage: string; members: number; opportunities: number; customers: number }[],
  };
}

/** Companies by community engagement (company_influence), with their name. */
export async function topCompanies(db: D1Database, limit = 20) {
  const { results } = await db
    .prepare(
      `SELECT ci.crm, ci.company_id, co.name, co.domain, ci.engaged_members, ci.activity_count, ci.top_channel, ci.last_activity_at
         FROM company_influence ci LEFT JOIN crm_companies co ON co.crm = ci.crm AND co.crm_id = ci.company_id
        WHERE ci.engaged_members > 0
        ORDER BY ci.engaged_members DESC, ci.activity_count DESC LIMIT ?`,
    )
    .bind(limit)
    .all<{ crm: string; company_id: string; name: string | null; domain: string | null; engaged_members: number; activity_count: number; top_channel: string | null; last_activity_at: string | null }>();
  return results;
}

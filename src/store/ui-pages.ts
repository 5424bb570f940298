/** Read queries for the deal, member and community-health pages (SQL lives in src/store only). */

/** A malformed detail (should never happen) must not break every page: it reads as an empty object. */
const SAFE_DETAIL = `(CASE WHEN json_valid(i.detail) THEN i.detail ELSE '{}' END)`;

export interface DealPageContact {
  contact_id: string;
  role: string | null;
  is_primary: number;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  title: string | null;
  created_at: string | null;
  stage: string | null;
  /** JSON array of {member_id, method, status, confidence, name}. */
  members: string;
}

export async function loadDealPage(db: D1Database, crm: string, id: string) {
  const [deal, influence, contacts] = await db.batch([
    db.prepare(
      `SELECT d.*, co.name AS company_name, co.domain AS company_domain, co.industry, co.employees, co.country
         FROM crm_deals d LEFT JOIN crm_companies co ON co.crm = d.crm AND co.crm_id = d.company_id
        WHERE d.crm = ? AND d.crm_id = ?`,
    ).bind(crm, id),
    db.prepare('SELECT detail, computed_at, rules_version FROM deal_influence WHERE crm = ? AND deal_id = ?').bind(crm, id),
    db.prepare(
      `SELECT dc.contact_id, dc.role, dc.is_primary, c.first_name, c.last_name, c.email, c.title, c.created_at, ci.stage,
              (SELECT json_group_array(json_object('member_id', l.member_id, 'method', l.method, 'status', l.status,
                                                   'confidence', l.confidence, 'name', m.display_name))
                 FROM links l JOIN members m ON m.id = l.member_id
                WHERE l.crm = dc.crm AND l.target_kind = 'contact' AND l.crm_id = dc.contact_id AND l.status IN ('auto', 'confirmed')) AS members
         FROM crm_deal_contacts dc
         LEFT JOIN crm_contacts c ON c.crm = dc.crm AND c.crm_id = dc.contact_id
         LEFT JOIN contact_influence ci ON ci.crm = dc.crm AND ci.contact_id = dc.contact_id
        WHERE dc.crm = ? AND dc.deal_id = ? ORDER BY dc.is_primary DESC, dc.contact_id`,
    ).bind(crm, id),
  ]);
  return {
    deal: (deal!.results[0] ?? null) as
      | (Record<string, unknown> & { crm_id: string; name: string | null; amount: number | null; currency: string | null; stage: string | null; pipeline: string | null; created_at: string; close_date: string | null; is_closed: number; is_won: number; company_name: string | null; industry: string | null; employees: number | null; country: string | null })
      | null,
    influence: (influence!.results[0] ?? null) as { detail: string; computed_at: string; rules_version: string } | null,
    contacts: contacts!.results as unknown as DealPageContact[],
  };
}

export async function memberLinks(db: D1Database, memberId: string) {
  const { results } = await db
    .prepare(
      `SELECT l.id, l.crm, l.target_kind, l.crm_id, l.method, l.status, l.confidence, l.evidence, l.decided_by, l.decided_at,
              CASE l.target_kind WHEN 'contact' THEN trim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')) ELSE co.name END AS target_name,
              CASE l.target_kind WHEN 'contact' THEN c.email ELSE co.domain END AS target_detail, c.title
         FROM links l
         LEFT JOIN crm_contacts c ON l.target_kind = 'contact' AND c.crm = l.crm AND c.crm_id = l.crm_id
         LEFT JOIN crm_companies co ON l.target_kind = 'company' AND co.crm = l.crm AND co.crm_id = l.crm_id
        WHERE l.member_id = ? ORDER BY l.status = 'rejected', l.confidence DESC, l.id`,
    )
    .bind(memberId)
    .all<{ id: number; crm: string; target_kind: string; crm_id: string; method: string; status: string; confidence: number; evidence: string; decided_by: string | null; decided_at: string | null; target_name: string | null; target_detail: string | null; title: string | null }>();
  return results;
}

/** Deals whose counted touches include this member (from the stored evidence). */
export async function memberDeals(db: D1Database, memberId: string, limit = 50) {
  const { results } = await db
    .prepare(
      `SELECT i.crm, i.deal_id, d.name, i.amount, i.currency, i.influenced, i.sourced, i.is_closed, i.is_won
         FROM deal_influence i LEFT JOIN crm_deals d ON d.crm = i.crm AND d.crm_id = i.deal_id
        WHERE EXISTS (SELECT 1 FROM json_each(${SAFE_DETAIL}, '$.membersInvolved') m WHERE m.value = ?1)
        ORDER BY coalesce(i.amount, 0) DESC LIMIT ?2`,
    )
    .bind(memberId, limit)
    .all<{ crm: string; deal_id: string; name: string | null; amount: number | null; currency: string | null; influenced: number; sourced: number; is_closed: number; is_won: number }>();
  return results;
}

// ---------------------------------------------------------------------------------------------------------------
// Community health

export interface HealthFilter {
  from: string | null;
  /** Exclusive. */
  to: string | null;
}

export async function loadHealth(db: D1Database, f: HealthFilter) {
  const [growth, active, firstSource, engaged, later] = await db.batch([
    // New members per month: by each member's first activity (people only).
    db.prepare(
      `SELECT substr(first_at, 1, 7) AS month, count(*) AS n FROM (
         SELECT a.member_id, min(a.occurred_at) AS first_at FROM activities a JOIN members m ON m.id = a.member_id
          WHERE m.is_bot = 0 AND m.is_staff = 0 GROUP BY a.member_id)
        WHERE (?1 IS NULL OR first_at >= ?1) AND (?2 IS NULL OR first_at < ?2)
        GROUP BY month ORDER BY month`,
    ).bind(f.from, f.to),
    db.prepare(
      `SELECT substr(a.occurred_at, 1, 7) AS month, count(DISTINCT a.member_id) AS n, count(*) AS activities
         FROM activities a JOIN members m ON m.id = a.member_id
        WHERE m.is_bot = 0 AND m.is_staff = 0 AND (?1 IS NULL OR a.occurred_at >= ?1) AND (?2 IS NULL OR a.occurred_at < ?2)
        GROUP BY month ORDER BY month`,
    ).bind(f.from, f.to),
    // How members arrive: the source and type of each member's first activity (index activities_member_time per member).
    db.prepare(
      `SELECT source, type, count(*) AS n FROM (
         SELECT (SELECT a.source FROM activities a WHERE a.member_id = f.member_id ORDER BY a.occurred_at, a.seq LIMIT 1) AS source,
                (SELECT a.type FROM activities a WHERE a.member_id = f.member_id ORDER BY a.occurred_at, a.seq LIMIT 1) AS type
           FROM (SELECT a.member_id, min(a.occurred_at) AS first_at FROM activities a GROUP BY a.member_id) f
           JOIN members m ON m.id = f.member_id
          WHERE m.is_bot = 0 AND m.is_staff = 0 AND (?1 IS NULL OR f.first_at >= ?1) AND (?2 IS NULL OR f.first_at < ?2))
        GROUP BY source, type ORDER BY n DESC`,
    ).bind(f.from, f.to),
    // Linked members with their contact's title and company fields, and their activity in the range.
    db.prepare(
      `SELECT l.member_id, c.title, co.industry, co.employees, co.country,
              coalesce(act.n, 0) AS activities, act.last_at
         FROM (SELECT member_id, crm, crm_id, row_number() OVER (PARTITION BY member_id ORDER BY confidence DESC, id) AS rn
                 FROM links WHERE target_kind = 'contact' AND status IN ('auto', 'confirmed')) l
         JOIN members m ON m.id = l.member_id AND m.is_bot = 0 AND m.is_staff = 0
         JOIN crm_contacts c ON c.crm = l.crm AND c.crm_id = l.crm_id
         LEFT JOIN crm_companies co ON co.crm = c.crm AND co.crm_id = c.company_id
         LEFT JOIN (SELECT member_id, count(*) AS n, max(occurred_at) AS last_at FROM activities
                     WHERE (?1 IS NULL OR occurred_at >= ?1) AND (?2 IS NULL OR occurred_at < ?2) GROUP BY member_id) act
                ON act.member_id = l.member_id
        WHERE l.rn = 1`,
    ).bind(f.from, f.to),
    // Members active in the community before they became CRM contacts at a customer, or who are on a deal as a
    // decision-maker: each member once, with the first of their contacts created after that (one per CRM otherwise).
    db.prepare(
      `WITH firsts AS (SELECT member_id, min(occurred_at) AS first_at FROM activities GROUP BY member_id),
       later AS (
         SELECT l.member_id, m.display_name, f.first_at, c.crm, c.crm_id AS contact_id, trim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')) AS contact_name,
                c.title, c.created_at AS contact_created_at, co.name AS company_name,
                EXISTS (SELECT 1 FROM crm_deals d WHERE d.crm = c.crm AND d.company_id = c.company_id AND d.is_won = 1) AS at_customer,
                (SELECT group_concat(DISTINCT dc.role) FROM crm_deal_contacts dc WHERE dc.crm = c.crm AND dc.contact_id = c.crm_id) AS deal_roles,
                (SELECT count(*) FROM crm_deal_contacts dc WHERE dc.crm = c.crm AND dc.contact_id = c.crm_id) AS deals,
                row_number() OVER (PARTITION BY l.member_id ORDER BY c.created_at, c.crm, c.crm_id) AS rn
           FROM links l
           JOIN members m ON m.id = l.member_id AND m.is_bot = 0 AND m.is_staff = 0
           JOIN firsts f ON f.member_id = l.member_id
           JOIN crm_contacts c ON c.crm = l.crm AND c.crm_id = l.crm_id
           LEFT JOIN crm_companies co ON co.crm = c.crm AND co.crm_id = c.company_id
          WHERE l.target_kind = 'contact' AND l.status IN ('auto', 'confirmed') AND f.first_at < c.created_at)
       SELECT member_id, display_name, first_at, crm, contact_id, contact_name, title, contact_created_at, company_name, at_customer, deal_roles, deals
         FROM later WHERE rn = 1 ORDER BY first_at DESC LIMIT 2000`,
    ),
  ]);
  return {
    growth: growth!.results as unknown as { month: string; n: number }[],
    active: active!.results as unknown as { month: string; n: number; activities: number }[],
    firstSource: firstSource!.results as unknown as { source: string; type: string; n: number }[],
    engaged: engaged!.results as unknown as { member_id: string; title: string | null; industry: string | null; employees: number | null; country: string | null; activities: number; last_at: string | null }[],
    later: later!.results as unknown as { member_id: string; display_name: string | null; first_at: string; crm: string; contact_id: string; contact_name: string; title: string | null; contact_created_at: string; company_name: string | null; at_customer: number; deal_roles: string | null; deals: number }[],
  };
}

/** A member's identities in the identity engine's input shape (for merge checks). */
/** Hashes of the active rules and mappings (a cache key for the parsed configuration). */
export async function activeHashes(db: D1Database): Promise<string> {
  const { results } = await db.prepare('SELECT kind, hash FROM rules_active ORDER BY kind').all<{ kind: string; hash: string }>();
  return results.map((r) => `${r.kind}:${r.hash}`).join(',') || 'bundled';
}

import { getState } from '../../store/sync';
import type { RunContext, StepResult } from '../context';

/**
 * Turns what changed into the members and deals to recompute, entirely in SQL (no rows through the Worker):
 * new activities since the last run → their members; changed contacts → members sharing an email or linked to them,
 * and their deals; changed companies → linked members and the company's deals. A full run marks everything.
 */
export async function expandStep(ctx: RunContext): Promise<StepResult> {
  const { db, crm } = ctx;
  const state = await getState(db, crm);
  const top = await db.prepare('SELECT coalesce(max(seq), 0) AS seq FROM activities').first<{ seq: number }>();
  const since = ctx.run.full ? 0 : state.activity_seq;
  const stmts: D1PreparedStatement[] = [
    db.prepare(
      `INSERT INTO sync_dirty (crm, kind, ref)
       SELECT DISTINCT ?1, 'member', member_id FROM activities WHERE seq > ?2 AND seq <= ?3 ON CONFLICT DO NOTHING`,
    ).bind(crm, since, top!.seq),
    // A contact whose emails changed can now match members that share one of its emails, or stop matching linked ones.
    db.prepare(
      `INSERT INTO sync_dirty (crm, kind, ref)
       SELECT DISTINCT ?1, 'member', k.member_id
         FROM sync_dirty d CROSS JOIN crm_contact_emails e ON e.crm = ?1 AND e.crm_id = d.ref
         CROSS JOIN member_email_keys k ON k.canonical = e.canonical
        WHERE d.crm = ?1 AND d.kind = 'contact'
       UNION
       SELECT ?1, 'member', l.member_id FROM sync_dirty d CROSS JOIN links l ON l.crm = ?1 AND l.target_kind = d.kind AND l.crm_id = d.ref
        WHERE d.crm = ?1 AND d.kind IN ('contact', 'company')
       ON CONFLICT DO NOTHING`,
    ).bind(crm),
    db.prepare(
      `INSERT INTO sync_dirty (crm, kind, ref)
       SELECT DISTINCT ?1, 'member', k.member_id
         FROM sync_dirty d CROSS JOIN crm_company_domains cd ON cd.crm = ?1 AND cd.crm_id = d.ref
         CROSS JOIN member_email_keys k ON k.domain = cd.domain
        WHERE d.crm = ?1 AND d.kind = 'company'
       ON CONFLICT DO NOTHING`,
    ).bind(crm),
  ];
  if (ctx.ownsDeals) {
    stmts.push(
      db.prepare(
        `INSERT INTO sync_dirty (crm, kind, ref)
         SELECT DISTINCT ?1, 'deal', dc.deal_id FROM sync_dirty d CROSS JOIN crm_deal_contacts dc ON dc.crm = ?1 AND dc.contact_id = d.ref
          WHERE d.crm = ?1 AND d.kind = 'contact'
         UNION
         SELECT ?1, 'deal', x.crm_id FROM sync_dirty d CROSS JOIN crm_deals x ON x.crm = ?1 AND x.company_id = d.ref
          WHERE d.crm = ?1 AND d.kind = 'company'
         ON CONFLICT DO NOTHING`,
      ).bind(crm),
    );
  }
  if (ctx.run.full) {
    stmts.push(
      db.prepare(`INSERT INTO sync_dirty (crm, kind, ref) SELECT ?1, 'member', id FROM members WHERE true ON CONFLICT DO NOTHING`).bind(crm),
      db.prepare(`INSERT INTO sync_dirty (crm, kind, ref) SELECT ?1, 'contact', crm_id FROM crm_contacts WHERE crm = ?1 ON CONFLICT DO NOTHING`).bind(crm),
      db.prepare(`INSERT INTO sync_dirty (crm, kind, ref) SELECT ?1, 'company', crm_id FROM crm_companies WHERE crm = ?1 ON CONFLICT DO NOTHING`).bind(crm),
    );
    if (ctx.ownsDeals) {
      stmts.push(db.prepare(`INSERT INTO sync_dirty (crm, kind, ref) SELECT ?1, 'deal', crm_id FROM crm_deals WHERE crm = ?1 ON CONFLICT DO NOTHING`).bind(crm));
    }
  }
  // The activity position moves in the same transaction as the dirty markers it produced: nothing is lost or counted twice.
  stmts.push(db.prepare('UPDATE sync_state SET activity_seq = ?2 WHERE crm = ?1').bind(crm, top!.seq));
  const results = await db.batch(stmts);
  const marked = results.slice(0, -1).reduce((n, r) => n + r.meta.changes, 0);
  return { stage: 'resolve', checkpoint: {}, counts: { dirty_marked: marked, new_activities: top!.seq - since }, errors: [] };
}

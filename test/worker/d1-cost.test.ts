/**
 * Rows read by the per-chunk lookups of a sync run must not grow with the org: each chunk asks about ~100 members or
 * contacts, and a statement that scans a whole table per chunk makes a run quadratic. D1's own rows_read, through the
 * product's meter, at two org sizes.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { loadCandidates, mirrorOf } from '../../src/store/crm';
import { loadLinksTo } from '../../src/store/influence';
import { meteredD1, type D1Meter } from '../../src/store/metered';
import type { RunContext } from '../../src/sync/context';
import { expandStep } from '../../src/sync/stages/expand';

async function seedCrm(contacts: number) {
  const db = env.DB;
  for (const t of ['crm_contacts', 'crm_contact_emails', 'crm_company_domains', 'links', 'crm_deals', 'crm_deal_contacts', 'member_email_keys', 'sync_dirty']) {
    await db.exec(`DELETE FROM ${t}`);
  }
  for (let i = 0; i < contacts; i += 500) {
    const rows = JSON.stringify(Array.from({ length: Math.min(500, contacts - i) }, (_, k) => i + k));
    // 20 contacts a company, each with one email on the company's domain, each linked to one member.
    await db.batch([
      db.prepare(`INSERT INTO crm_contacts (crm, crm_id, kind, email, company_id, created_at, updated_at)
                  SELECT 'hubspot', 'c' || value, 'contact', 'p' || value || '@co' || (value / 20) || '.example', 'co' || (value / 20), 'x', 'x' FROM json_each(?1)`).bind(rows),
      db.prepare(`INSERT INTO crm_contact_emails (crm, canonical, crm_id)
                  SELECT 'hubspot', 'p' || value || '@co' || (value / 20) || '.example', 'c' || value FROM json_each(?1)`).bind(rows),
      db.prepare(`INSERT INTO crm_company_domains (crm, domain, crm_id)
                  SELECT 'hubspot', 'co' || (value / 20) || '.example', 'co' || (value / 20) FROM json_each(?1) WHERE value % 20 = 0`).bind(rows),
      db.prepare(`INSERT INTO links (member_id, crm, target_kind, crm_id, method, status, confidence, evidence, created_at, updated_at)
                  SELECT 'm' || value, 'hubspot', 'contact', 'c' || value, 'email', 'auto', 1, '[]', 'x', 'x' FROM json_each(?1)`).bind(rows),
      db.prepare(`INSERT INTO member_email_keys (canonical, member_id, domain)
                  SELECT 'p' || value || '@co' || (value / 20) || '.example', 'm' || value, 'co' || (value / 20) || '.example' FROM json_each(?1)`).bind(rows),
      // A deal per two contacts, on the contact's company, with both contacts on it.
      db.prepare(`INSERT INTO crm_deals (crm, crm_id, company_id, created_at, is_closed, is_won, updated_at)
                  SELECT 'hubspot', 'd' || (value / 2), 'co' || (value / 20), 'x', 0, 0, 'x' FROM json_each(?1) WHERE value % 2 = 0`).bind(rows),
      db.prepare(`INSERT INTO crm_deal_contacts (crm, deal_id, contact_id) SELECT 'hubspot', 'd' || (value / 2), 'c' || value FROM json_each(?1)`).bind(rows),
    ]);
  }
}

async function costOfChunk(contacts: number) {
  await seedCrm(contacts);
  const meter: D1Meter = { rowsRead: 0, rowsWritten: 0, queries: 0 };
  const db = meteredD1(env.DB, meter);
  const picks = Array.from({ length: 100 }, (_, k) => (k * 37) % contacts);
  const found = await loadCandidates(db, 'hubspot', picks.map((v) => `p${v}@co${Math.floor(v / 20)}.example`), [...new Set(picks.map((v) => `co${Math.floor(v / 20)}.example`))]);
  const links = await loadLinksTo(db, 'hubspot', picks.map((v) => `c${v}`), picks.map((v) => `co${Math.floor(v / 20)}`));
  // The pull compares each page of deals with the mirror, deal links included.
  const mirror = await mirrorOf(db, 'hubspot', 'deals', [...new Set(picks.map((v) => `d${Math.floor(v / 2)}`))]);
  return { rowsRead: meter.rowsRead, contacts: found.contacts.length, links: links.length, dealLinks: mirror.dealContacts.size };
}

describe('D1 cost of a sync chunk', () => {
  it('reading candidates, links and the deal mirror for a chunk costs the same in a 4x larger CRM', async () => {
    const small = await costOfChunk(5_000);
    const large = await costOfChunk(20_000);
    // Same answers: every contact of the 100 members' companies (capped roster) and the 100 contacts' links.
    expect(small.contacts).toBe(2_000);
    expect(large.contacts).toBe(2_000);
    expect(small.links).toBe(100);
    expect(large.links).toBe(100);
    expect(small.dealLinks).toBeGreaterThan(90);
    expect(large.dealLinks).toBe(small.dealLinks);
    // Before the fixes: 16k → 31k rows for the candidates, 5k → 20k for the links and the deal links (a scan per chunk).
    expect(large.rowsRead).toBeLessThan(small.rowsRead * 1.1);
    expect(small.rowsRead).toBeLessThan(6_000);
  });

  it('expanding what changed reads what changed: nothing for a run with nothing to do, the same for 10 contacts in a 4x larger CRM', async () => {
    const expandCost = async (contacts: number, dirtyContacts: number) => {
      await seedCrm(contacts);
      await env.DB.prepare(`INSERT INTO sync_dirty (crm, kind, ref) SELECT 'hubspot', 'contact', 'c' || value FROM json_each(?1)`)
        .bind(JSON.stringify(Array.from({ length: dirtyContacts }, (_, k) => k * 7))).run();
      const meter: D1Meter = { rowsRead: 0, rowsWritten: 0, queries: 0 };
      const seq = await env.DB.prepare('SELECT coalesce(max(seq), 0) AS s FROM activities').first<{ s: number }>();
      await env.DB.prepare('INSERT INTO sync_state (crm, activity_seq) VALUES (?1, ?2) ON CONFLICT (crm) DO UPDATE SET activity_seq = ?2').bind('hubspot', seq!.s).run();
      const ctx = { db: meteredD1(env.DB, meter), crm: 'hubspot', run: { full: 0 }, ownsDeals: true } as unknown as RunContext;
      const result = await expandStep(ctx);
      const deals = await env.DB.prepare(`SELECT count(*) AS n FROM sync_dirty WHERE crm = 'hubspot' AND kind = 'deal'`).first<{ n: number }>();
      return { rowsRead: meter.rowsRead, marked: result.counts.dirty_marked ?? 0, deals: deals!.n };
    };
    const idle = await expandCost(20_000, 0);
    expect(idle.marked).toBe(0);
    // Before: every contact email, deal link and company domain (about 2.6 rows per contact).
    expect(idle.rowsRead).toBeLessThan(20);
    const small = await expandCost(5_000, 10);
    const large = await expandCost(20_000, 10);
    expect(small.deals).toBe(10);
    expect(large.deals).toBe(10);
    expect(small.marked).toBe(large.marked);
    expect(large.rowsRead).toBeLessThan(small.rowsRead * 1.1 + 20);
  });
});

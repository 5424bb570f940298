/**
 * Rows read by the per-chunk lookups of a sync run must not grow with the org: each chunk asks about ~100 members or
 * contacts, and a statement that scans a whole table per chunk makes a run quadratic. D1's own rows_read, through the
 * product's meter, at two org sizes.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { loadCandidates } from '../../src/store/crm';
import { loadLinksTo } from '../../src/store/influence';
import { meteredD1, type D1Meter } from '../../src/store/metered';

async function seedCrm(contacts: number) {
  const db = env.DB;
  for (const t of ['crm_contacts', 'crm_contact_emails', 'crm_company_domains', 'links']) await db.exec(`DELETE FROM ${t}`);
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
  return { rowsRead: meter.rowsRead, contacts: found.contacts.length, links: links.length };
}

describe('D1 cost of a sync chunk', () => {
  it('reading candidates and links for 100 members costs the same in a 4x larger CRM', async () => {
    const small = await costOfChunk(5_000);
    const large = await costOfChunk(20_000);
    // Same answers: every contact of the 100 members' companies (capped roster) and the 100 contacts' links.
    expect(small.contacts).toBe(2_000);
    expect(large.contacts).toBe(2_000);
    expect(small.links).toBe(100);
    expect(large.links).toBe(100);
    // Before the fix: 16k → 31k rows for the candidates and 5k → 20k for the links (a scan per chunk).
    expect(large.rowsRead).toBeLessThan(small.rowsRead * 1.1);
    expect(small.rowsRead).toBeLessThan(5_000);
  });
});

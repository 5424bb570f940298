import { describe, expect, it } from 'vitest';
import { activityInputSchema, type ActivityInput } from '../../src/activity/schema';
import { orgSchema } from '../emulators/hubspot/org-schema';
import { DEFAULT_NOW, demoOrgSummary, generateCommunity, generateDemo, generateOrg, type Demo } from '../emulators/demo-org';

const DAY = 86_400_000;
const NOW = Date.parse(DEFAULT_NOW);
const START = NOW - 18 * 30.44 * DAY;
const demo = generateDemo({ seed: 7 });
const { org, activities, truth } = demo;

/** Member key of an activity, through the identities the truth says each member uses. */
function memberIndex(d: Demo): (a: ActivityInput) => string | undefined {
  const byIdentity = new Map<string, string>();
  for (const [key, m] of Object.entries(d.truth.members)) for (const id of m.identities) byIdentity.set(`${id.source}:${id.id}`, key);
  return (a) => {
    const first = a.member.identities[0];
    return first ? byIdentity.get(`${first.source}:${first.id}`) : undefined;
  };
}

describe('generateOrg', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    expect(JSON.stringify(generateDemo({ seed: 7 }))).toBe(JSON.stringify(demo));
    expect(JSON.stringify(generateOrg({ seed: 8 }))).not.toBe(JSON.stringify(org));
  });

  it('meets the default sizes, matches the seed schema and spans all stages over 18 months', () => {
    expect(orgSchema.safeParse(org).success).toBe(true);
    expect(org.companies.length).toBeGreaterThanOrEqual(50);
    expect(org.contacts.length).toBeGreaterThanOrEqual(400);
    expect(org.deals.length).toBeGreaterThanOrEqual(120);
    expect(new Set(org.deals.map((d) => d.stage))).toEqual(new Set(['new', 'qualified', 'proposal', 'negotiation', 'won', 'lost']));
    const created = org.deals.map((d) => Date.parse(d.createdAt));
    expect(Math.min(...created)).toBeGreaterThanOrEqual(START);
    expect(Math.max(...created)).toBeLessThanOrEqual(NOW);
    expect(Math.max(...created) - Math.min(...created)).toBeGreaterThan(15 * 30 * DAY);
  });

  it('has unique keys and realistic companies', () => {
    for (const list of [org.companies, org.contacts, org.deals]) expect(new Set(list.map((x) => x.key)).size).toBe(list.length);
    const domains = org.companies.flatMap((c) => (c.domain ? [c.domain] : []));
    // Subsidiaries on a subdomain of another company's domain, and a division sharing one exactly.
    expect(domains.some((d) => domains.some((p) => d !== p && d.endsWith(`.${p}`)))).toBe(true);
    expect(new Set(domains).size).toBeLessThan(domains.length);
    expect(org.companies.filter((c) => c.additionalDomains.length > 0).length).toBeGreaterThanOrEqual(2);
    expect(new Set(org.companies.map((c) => c.industry)).size).toBeGreaterThan(5);
    expect(new Set(org.companies.map((c) => c.country)).size).toBeGreaterThan(5);
  });

  it('gives contacts work addresses, a few personal ones, and leads that convert to a contact with the same email', () => {
    const byKey = new Map(org.contacts.map((c) => [c.key, c] as const));
    const companyDomain = new Map(org.companies.map((c) => [c.key, c.domain] as const));
    const plain = org.contacts.filter((c) => !c.isLead);
    const onDomain = plain.filter((c) => c.companyKey && c.email?.endsWith(`@${companyDomain.get(c.companyKey) ?? '-'}`));
    expect(onDomain.length / plain.length).toBeGreaterThan(0.8);
    expect(plain.some((c) => c.email?.endsWith('@gmail.com'))).toBe(true);
    expect(plain.some((c) => c.additionalEmails.length > 0)).toBe(true);
    expect(new Set(plain.map((c) => c.email)).size).toBe(plain.length);
    const leads = org.contacts.filter((c) => c.isLead);
    expect(leads.length / org.contacts.length).toBeCloseTo(0.15, 1);
    const converted = leads.filter((c) => c.convertedToContactKey);
    expect(converted.length).toBeGreaterThan(0);
    for (const l of converted) {
      const target = byKey.get(l.convertedToContactKey ?? '');
      expect(target?.isLead).toBe(false);
      expect(target?.email).toBe(l.email);
    }
  });

  it('builds deals with a buying committee, plausible amounts and dates, and lifecycle stages to match', () => {
    const byKey = new Map(org.contacts.map((c) => [c.key, c] as const));
    const roles = new Set(['Decision Maker', 'Economic Buyer', 'Technical Buyer', 'Influencer', 'Evaluator']);
    for (const d of org.deals) {
      expect(d.contacts.length).toBeGreaterThanOrEqual(1);
      expect(d.contacts.length).toBeLessThanOrEqual(4);
      expect(d.contacts.filter((c) => c.isPrimary)).toHaveLength(1);
      const created = Date.parse(d.createdAt);
      for (const dc of d.contacts) {
        const c = byKey.get(dc.contactKey);
        expect(c?.isLead).toBe(false);
        expect(c?.companyKey).toBe(d.companyKey);
        expect(roles.has(dc.role ?? '')).toBe(true);
        expect(Date.parse(c?.createdAt ?? '')).toBeLessThan(created);
        if (d.stage === 'won') expect(c?.lifecycleStage).toBe('customer');
      }
      if (d.amount !== null) expect(d.amount).toBeGreaterThanOrEqual(5_000);
      if (d.amount !== null) expect(d.amount).toBeLessThanOrEqual(400_000);
      const close = d.closeDate ? Date.parse(d.closeDate) : null;
      if (d.stage === 'won' || d.stage === 'lost') {
        expect(close).not.toBeNull();
        expect(close ?? 0).toBeGreaterThan(created);
        expect(close ?? Infinity).toBeLessThanOrEqual(NOW);
      } else if (close !== null) expect(close).toBeGreaterThan(NOW);
      expect(Date.parse(d.updatedAt)).toBeLessThanOrEqual(NOW);
    }
    const currencies = org.deals.map((d) => d.currency);
    expect(currencies.filter((c) => c === 'USD').length).toBeGreaterThan(currencies.length / 2);
    expect(currencies).toContain('EUR');
  });

  it('generates 100k contacts and 20k deals in well under 3 s', () => {
    generateOrg({ contacts: 10_000, deals: 2_000, companies: 500 }); // warm the JIT, as a benchmark would
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const big = generateOrg({ contacts: 100_000, deals: 20_000, companies: 5_000 });
    const wall = performance.now() - t0;
    const used = process.cpuUsage(cpu0);
    const cpu = (used.user + used.system) / 1000;
    expect(big.contacts).toHaveLength(100_000);
    expect(big.deals).toHaveLength(20_000);
    // CPU time, not wall time: on a shared CI runner wall time mostly measures the neighbours. Wall gets a loose bound.
    expect(cpu).toBeLessThan(3_000);
    expect(wall).toBeLessThan(10_000);
  });
});

describe('generateCommunity', () => {
  it('produces ≥ 5,000 valid activities over every source, unique ids, none outside the 18 months', () => {
    expect(activities.length).toBeGreaterThanOrEqual(5_000);
    const bad = activities.filter((a) => !activityInputSchema.safeParse(a).success);
    expect(bad).toEqual([]);
    expect(new Set(activities.map((a) => a.external_id)).size).toBe(activities.length);
    for (const a of activities) {
      const t = Date.parse(a.occurred_at);
      expect(t).toBeLessThanOrEqual(NOW);
      expect(t).toBeGreaterThanOrEqual(START);
    }
    const summary = demoOrgSummary(org, activities);
    for (const s of ['github', 'discourse', 'slack', 'events', 'docs']) expect(summary.activitiesBySource[s] ?? 0).toBeGreaterThan(100);
    const types = new Set(activities.map((a) => a.type));
    for (const t of ['github.star', 'github.pull_request.merged', 'discourse.solution.accepted', 'slack.team_join', 'events.attended', 'events.webinar_attended', 'docs.visit']) expect(types).toContain(t);
  });

  it('is what generateDemo returns, and honours the staff domain', () => {
    expect(JSON.stringify(generateCommunity(org, { seed: 7 }))).toBe(JSON.stringify(activities));
    const other = generateDemo({ seed: 7, staffDomain: 'acme-dev.example' });
    const staffEmails = other.truth.staffMembers.flatMap((k) => other.truth.members[k]?.identities.map((i) => i.email ?? '') ?? []).filter(Boolean);
    expect(staffEmails.length).toBeGreaterThan(0);
    for (const e of staffEmails) expect(e.endsWith('@acme-dev.example')).toBe(true);
  });

  it('labels contacts, staff and bots, with the address variants identity resolution has to undo', () => {
    const byKey = new Map(org.contacts.map((c) => [c.key, c] as const));
    const emailsOf = (member: string): string[] => truth.members[member]?.identities.flatMap((i) => (i.email ? [i.email] : [])) ?? [];
    let exact = 0, caseOnly = 0, noreplyOnly = 0, tagged = 0;
    for (const [contactKey, member] of Object.entries(truth.memberOfContact)) {
      const email = byKey.get(contactKey)?.email ?? '';
      const emails = emailsOf(member);
      if (emails.includes(email)) exact++;
      else if (emails.some((e) => e.toLowerCase() === email)) caseOnly++;
      else if (emails.some((e) => e.includes('+') && !e.includes('noreply'))) tagged++;
      if (emails.some((e) => e.endsWith('@users.noreply.github.com'))) noreplyOnly++;
    }
    expect(exact).toBeGreaterThan(50);
    expect(caseOnly).toBeGreaterThan(5);
    expect(tagged).toBeGreaterThan(5);
    expect(noreplyOnly).toBeGreaterThan(5);
    expect(truth.staffMembers.length).toBeGreaterThan(0);
    for (const k of truth.staffMembers) expect(emailsOf(k).every((e) => e.endsWith('@example-vendor.io'))).toBe(true);
    expect(truth.botMembers.length).toBeGreaterThan(0);
    for (const k of truth.botMembers) {
      const gh = truth.members[k]?.identities.find((i) => i.source === 'github');
      expect(gh?.handle).toMatch(/\[bot\]$/);
      expect(gh?.is_bot).toBe(true);
    }
    const kinds = Object.values(truth.members).map((m) => m.kind);
    expect(kinds.filter((k) => k === 'anonymous').length).toBeGreaterThan(kinds.filter((k) => k === 'contact').length);
    expect(kinds).toContain('colleague');
  });

  it('carries an influence signal: won-deal contacts are far more active in the 90 days before the deal', () => {
    const memberOf = memberIndex(demo);
    const times = new Map<string, number[]>();
    for (const a of activities) {
      const m = memberOf(a);
      if (m) times.set(m, [...(times.get(m) ?? []), Date.parse(a.occurred_at)]);
    }
    const perContact = (stage: 'won' | 'lost'): number => {
      let total = 0, n = 0;
      for (const d of org.deals.filter((x) => x.stage === stage)) {
        const created = Date.parse(d.createdAt);
        for (const c of d.contacts) {
          const ts = times.get(truth.memberOfContact[c.contactKey] ?? '') ?? [];
          total += ts.filter((t) => t < created && t >= created - 90 * DAY).length;
          n++;
        }
      }
      return total / n;
    };
    expect(perContact('won')).toBeGreaterThan(1.5 * perContact('lost'));
  });

  it('has community-sourced deals: first touch precedes the contact record and the deal by < 60 days', () => {
    const memberOf = memberIndex(demo);
    const firstTouch = new Map<string, number>();
    for (const a of activities) {
      const m = memberOf(a);
      const t = Date.parse(a.occurred_at);
      if (m && t < (firstTouch.get(m) ?? Infinity)) firstTouch.set(m, t);
    }
    const byKey = new Map(org.contacts.map((c) => [c.key, c] as const));
    expect(truth.sourcedDeals.length).toBeGreaterThanOrEqual(3);
    for (const key of truth.sourcedDeals) {
      const d = org.deals.find((x) => x.key === key);
      const primary = d?.contacts.find((c) => c.isPrimary);
      const first = firstTouch.get(truth.memberOfContact[primary?.contactKey ?? ''] ?? '') ?? Infinity;
      const dealCreated = Date.parse(d?.createdAt ?? '');
      expect(first).toBeLessThan(Date.parse(byKey.get(primary?.contactKey ?? '')?.createdAt ?? ''));
      expect(first).toBeLessThan(dealCreated);
      expect(dealCreated - first).toBeLessThan(60 * DAY);
    }
  });
});

describe('demoOrgSummary', () => {
  it('counts records, stages and sources', () => {
    const s = demoOrgSummary(org, activities);
    expect(s.companies).toBe(org.companies.length);
    expect(s.contacts + s.leads).toBe(org.contacts.length);
    expect(Object.values(s.dealsByStage).reduce((a, b) => a + b, 0)).toBe(org.deals.length);
    expect(Object.values(s.activitiesBySource).reduce((a, b) => a + b, 0)).toBe(activities.length);
  });
});

import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/env';
import { applyActivityMessage } from '../../src/ingest/consumer';
import { canonicalExternalId } from '../../src/ingest/plan';
import { identityConfigFor } from '../../src/sync/config';
import { generateDemo } from '../emulators/demo-org';

/**
 * Member matching against ground truth: the demo org's community (the one `npm start` shows), ingested through the
 * consumer's path into real D1. No member may hold two people's identities; suggestions are measured for precision, and
 * people left split over several members without a suggestion are counted.
 */
describe('member matching on the demo org', () => {
  it('never merges two people, and suggests mostly true duplicates', { timeout: 120_000 }, async () => {
    const demo = generateDemo({ seed: 11 });
    const identity = identityConfigFor(loadConfig(env));
    for (let i = 0; i < demo.activities.length; i += 100) {
      const items = demo.activities.slice(i, i + 100);
      await applyActivityMessage(env.DB, { v: 1, origin: 'test', received_at: new Date().toISOString(), items }, undefined, identity);
    }
    // Who each identity really is; `email:` identities (made from verified addresses) by the person whose address it is.
    const personOf = new Map<string, string>();
    for (const [person, m] of Object.entries(demo.truth.members)) {
      for (const i of m.identities) {
        personOf.set(`${i.source}:${canonicalExternalId(i.source, i.id)}`, person);
        if (i.email) personOf.set(`email:${i.email.trim().toLowerCase()}`, person);
      }
    }
    const { results } = await env.DB
      .prepare(`SELECT i.member_id, i.source, i.external_id FROM identities i JOIN members m ON m.id = i.member_id WHERE m.merged_into IS NULL`)
      .all<{ member_id: string; source: string; external_id: string }>();
    const peopleOf = new Map<string, Set<string>>();
    for (const r of results) {
      const person = personOf.get(`${r.source}:${r.external_id}`);
      if (!person) continue;
      peopleOf.set(r.member_id, (peopleOf.get(r.member_id) ?? new Set()).add(person));
    }
    const mixed = [...peopleOf].filter(([, people]) => people.size > 1);
    expect(mixed, 'members holding two people').toEqual([]);

    const personOfMember = new Map([...peopleOf].map(([member, people]) => [member, [...people][0]!]));
    const { results: suggestions } = await env.DB.prepare('SELECT member_a, member_b FROM member_suggestions').all<{ member_a: string; member_b: string }>();
    const judged = suggestions.filter((s) => personOfMember.has(s.member_a) && personOfMember.has(s.member_b));
    const right = judged.filter((s) => personOfMember.get(s.member_a) === personOfMember.get(s.member_b)).length;
    // People split over several members, and whether a suggestion joins each split.
    const membersOf = new Map<string, string[]>();
    for (const [member, person] of personOfMember) membersOf.set(person, [...(membersOf.get(person) ?? []), member]);
    const split = [...membersOf.values()].filter((ms) => ms.length > 1);
    const suggested = new Set(suggestions.map((s) => `${s.member_a}:${s.member_b}`));
    const unsuggested = split.filter((ms) => !ms.some((a) => ms.some((b) => a < b && suggested.has(`${a}:${b}`))));
    const merges = (await env.DB.prepare(`SELECT count(*) AS n FROM member_merges`).first<{ n: number }>())!.n;
    const figures = {
      people: Object.keys(demo.truth.members).length, members: personOfMember.size, automatic_merges: merges,
      suggestions: suggestions.length, suggestion_precision: judged.length ? right / judged.length : null,
      people_split: split.length, split_without_suggestion: unsuggested.length,
    };
    console.log(`member matching on the demo org: ${JSON.stringify(figures)}`);
    // Most of those split have nothing in common but a name (a GitHub account without an email, a Slack account with
    // one), which on its own never suggests: "John Smith" is many people.
    expect(judged.length).toBeGreaterThan(0);
    expect(right / judged.length).toBeGreaterThanOrEqual(0.9);
  });
});

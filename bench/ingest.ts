/**
 * npm run bench:ingest
 * (1) CPU time per webhook event on the verify + normalise path, over the GitHub fixtures (real payloads);
 * (2) D1 rows written per new activity and per duplicate, from D1's own result meta, through the real write path;
 * (3) what member matching adds (src/members/match.ts, run by the consumer after each batch): 1,000 new GitHub members
 *     with verified emails, then the same people joining Slack (profile emails asserted), each merged into its GitHub
 *     member; D1 statements, rows and wall time per message of 100, through the consumer's applyActivityMessage.
 *     BENCH_PEOPLE=20000 runs it with more people.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { ActivityInput } from '../src/activity/schema';
import { newId } from '../src/ids';
import { batchIdentityKeys, planIngest } from '../src/ingest/plan';
import { normaliseGithub, verifyGithubSignature } from '../src/sources/github';
import { loadIdentityConfig } from '../src/identity';
import { applyActivityMessage } from '../src/ingest/consumer';
import { BUNDLED_MAPPINGS } from '../src/rules/bundled';
import { loadIdentities, writePlan } from '../src/store/ingest';
import { meteredD1, topStatements, type D1Meter } from '../src/store/metered';
import { localD1 } from './lib/d1';

const SECRET = 'bench-secret';
const FIXTURES = 'test/fixtures/github';

async function sign(body: Uint8Array<ArrayBuffer>): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const sig = new Uint8Array(await crypto.subtle.sign('HMAC', key, body));
  return 'sha256=' + [...sig].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function cpuPerEvent(rounds: number) {
  const events = await Promise.all(
    readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).map(async (file) => {
      const body = Uint8Array.from(readFileSync(`${FIXTURES}/${file}`));
      return { event: file.split('.')[0]!, body, signature: await sign(body) };
    }),
  );
  const decoder = new TextDecoder();
  const once = async () => {
    for (const e of events) {
      if (!(await verifyGithubSignature(SECRET, e.body, e.signature))) throw new Error(`signature failed for ${e.event}`);
      normaliseGithub(e.event, JSON.parse(decoder.decode(e.body)));
    }
  };
  for (let i = 0; i < 200; i++) await once(); // warm-up
  const start = process.cpuUsage();
  const wallStart = performance.now();
  for (let i = 0; i < rounds; i++) await once();
  const cpu = process.cpuUsage(start);
  const n = rounds * events.length;
  return { events: n, cpu_ms_per_event: (cpu.user + cpu.system) / 1000 / n, wall_ms_per_event: (performance.now() - wallStart) / n, kinds: events.length };
}

function activities(count: number, members: number, prefix: string): ActivityInput[] {
  return Array.from({ length: count }, (_, n) => ({
    source: 'github',
    type: 'github.issue_comment.created',
    occurred_at: new Date(Date.UTC(2026, 0, 1) + n * 60_000).toISOString(),
    external_id: `${prefix}-${n}`,
    member: { identities: [{ source: 'github', id: String(1000 + (n % members)), handle: `dev${n % members}` }] },
    url: `https://github.com/acme/sdk/issues/${n}#comment`,
    title: `Comment ${n}`,
    properties: { repo: 'acme/sdk' },
  }));
}

async function writeAll(db: D1Database, items: ActivityInput[], perMessage: number) {
  let inserted = 0, duplicates = 0, rowsWritten = 0, rowsRead = 0;
  for (let i = 0; i < items.length; i += perMessage) {
    const chunk = items.slice(i, i + perMessage);
    const stored = await loadIdentities(db, batchIdentityKeys(chunk));
    const plan = planIngest(chunk, stored, () => newId('mem'));
    const out = await writePlan(db, plan, { origin: 'bench', receivedAt: new Date().toISOString() });
    inserted += out.inserted; duplicates += out.duplicates; rowsWritten += out.rowsWritten; rowsRead += out.rowsRead;
  }
  return { inserted, duplicates, rowsWritten, rowsRead };
}

async function rowsPerActivity() {
  const { db, dispose } = await localD1();
  try {
    const N = 10_000, MEMBERS = 1_000, PER_MESSAGE = 100;
    const first = await writeAll(db, activities(N, MEMBERS, 'a'), PER_MESSAGE); // creates 1,000 members on the way
    const steady = await writeAll(db, activities(N, MEMBERS, 'b'), PER_MESSAGE); // every member already known
    const dupes = await writeAll(db, activities(N, MEMBERS, 'b'), PER_MESSAGE); // redelivery of the same 10,000
    return { N, MEMBERS, first, steady, dupes };
  } finally {
    await dispose();
  }
}

async function matchingCost() {
  const { db, dispose } = await localD1();
  const identity = loadIdentityConfig(BUNDLED_MAPPINGS.identity);
  // BENCH_PEOPLE (a multiple of 100) checks that the cost per person stays flat as member_keys grows.
  const PEOPLE = Number(process.env.BENCH_PEOPLE ?? 1_000), PER_MESSAGE = 100;
  const person = (n: number, source: 'github' | 'slack'): ActivityInput => ({
    source, type: source === 'github' ? 'github.issue.opened' : 'slack.team_join',
    occurred_at: new Date(Date.UTC(2026, 0, 1) + n * 60_000).toISOString(), external_id: `${source}-match-${n}`,
    member: { identities: [source === 'github'
      ? { source, id: String(50_000 + n), handle: `person${n}`, name: `Person ${n} Example`, email: `person${n}@example.dev`, email_verified: true }
      : { source, id: `U${n}`, handle: `person${n}`, name: `Person ${n} Example`, email: `person${n}@example.dev` }] },
  });
  const pass = async (source: 'github' | 'slack') => {
    const meter: D1Meter = { rowsRead: 0, rowsWritten: 0, queries: 0, ...(process.env.BENCH_TOP ? { byStatement: new Map() } : {}) };
    const mdb = meteredD1(db, meter);
    let merged = 0;
    const t = performance.now();
    for (let i = 0; i < PEOPLE; i += PER_MESSAGE) {
      const items = Array.from({ length: PER_MESSAGE }, (_, k) => person(i + k, source));
      const out = await applyActivityMessage(mdb, { v: 1, origin: 'bench', received_at: new Date().toISOString(), items }, undefined, identity);
      merged += 'members_merged' in out ? Number(out.members_merged) : 0;
    }
    const messages = PEOPLE / PER_MESSAGE;
    // BENCH_TOP=1 prints the statements that read the most rows.
    if (process.env.BENCH_TOP) console.log(source, JSON.stringify(topStatements(meter, 6), null, 1));
    return { people: PEOPLE, merged, statements_per_message: meter.queries / messages, rows_written_per_person: meter.rowsWritten / PEOPLE, rows_read_per_person: meter.rowsRead / PEOPLE, ms_per_message: (performance.now() - t) / messages };
  };
  try {
    return { github: await pass('github'), slack: await pass('slack') };
  } finally {
    await dispose();
  }
}

const cpu = await cpuPerEvent(2000);
const rows = await rowsPerActivity();
const matching = await matchingCost();
const perNew = rows.steady.rowsWritten / rows.steady.inserted;
const perNewWithMembers = rows.first.rowsWritten / rows.first.inserted;
const perDuplicate = rows.dupes.rowsWritten / rows.dupes.duplicates;

console.log(`verify + normalise (${cpu.kinds} real GitHub payload kinds, ${cpu.events} events):`);
console.log(`  CPU ${cpu.cpu_ms_per_event.toFixed(4)} ms/event (target <= 1 ms; ratio ${(cpu.cpu_ms_per_event / 1).toFixed(3)}), wall ${cpu.wall_ms_per_event.toFixed(4)} ms/event`);
console.log(`D1 rows written (local D1 meta.rows_written, ${rows.N} activities per pass, ${rows.MEMBERS} members, 100 per message):`);
console.log(`  new activity, known member:   ${perNew.toFixed(2)} rows (target <= 3)`);
console.log(`  new activity, incl. creating its member and identity on first sight: ${perNewWithMembers.toFixed(2)} rows`);
console.log(`  duplicate (redelivered):       ${perDuplicate.toFixed(2)} rows (target 0); rows read per duplicate ${(rows.dupes.rowsRead / rows.dupes.duplicates).toFixed(2)}`);
const fmt = (p: Awaited<ReturnType<typeof matchingCost>>['github']) =>
  `${p.statements_per_message.toFixed(1)} D1 statements and ${p.ms_per_message.toFixed(1)} ms per message of 100; ${p.rows_written_per_person.toFixed(1)} rows written, ${p.rows_read_per_person.toFixed(1)} read per person`;
console.log(`with member matching (consumer path, ${matching.github.people.toLocaleString('en')} people, messages of 100):`);
console.log(`  new GitHub members:            ${fmt(matching.github)}`);
console.log(`  the same people joining Slack: ${fmt(matching.slack)}; ${matching.slack.merged} merged into their GitHub member`);
console.log(JSON.stringify({
  matching_github: matching.github,
  matching_slack: matching.slack,
  cpu_ms_per_event: Number(cpu.cpu_ms_per_event.toFixed(4)),
  rows_written_per_activity: Number(perNew.toFixed(3)),
  rows_written_per_activity_first_sight: Number(perNewWithMembers.toFixed(3)),
  rows_written_per_duplicate: Number(perDuplicate.toFixed(3)),
}));

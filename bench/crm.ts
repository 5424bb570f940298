/**
 * npm run bench:crm [-- --changed 10000 --contacts 100000 --deals 20000 --companies 5000 --prime-s 20]
 *
 * CRM write-back and pull through the real connectors (src/crm/hubspot, src/crm/salesforce) against the emulators, which
 * run in a child process (bench/lib/crm-emulators.ts) so their CPU is not counted as ours.
 *
 *  1. Seed both emulators with one generateOrg org (fixed seed): ~5k companies, 100k people, 20k deals whose contacts
 *     are contacts of the org (checked before seeding).
 *  2. Pull contacts (+ Salesforce leads) and deals in pages of 100 as src/sync/stages/pull.ts does, with the deal↔contact
 *     links of every deals page (connector.pullDealLinks), and time it. HubSpot's pull is ~1,800 calls of which ~1,200
 *     are searches (≤ 5/s at the emulator, 4/s in the connector's gate): minutes under the default limits, so it runs
 *     with the emulator's and the gate's limits raised, and the floor under the default limits is computed from the
 *     exact sequence of calls it made.
 *  3. Provision the mapping's deal fields (provision: true), then write N changed deals in chunks of 200 records per
 *     connector.write, as src/sync/stages/write.ts does, under each emulator's default limits; then plan again with
 *     nothing changed, which must send nothing.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dealFieldValues } from '../src/attribution/outputs';
import type { DealInfluence } from '../src/attribution/types';
import { createLocalGate, HUBSPOT_DEFAULT_LIMIT, HUBSPOT_SEARCH_LIMIT, HubspotConnector } from '../src/crm/hubspot';
import { SalesforceConnector } from '../src/crm/salesforce';
import type { CrmConnector, FieldMapping, FieldValue, PullCursor, PullObject, PullPage, RecordFailure, RecordWrite } from '../src/crm/types';
import { parseFieldMapping } from '../src/rules/mapping';
import { MODEL_NAMES } from '../src/rules/schema';
import { DEFAULT_LIMITS } from '../test/emulators/hubspot/limits';
import { generateOrg } from '../test/emulators/demo-org';
import type { Org } from '../test/emulators/org';
import type { AcceptedCall, FromChild, ToChild, Verdict } from './lib/crm-emulators';
import { emulatorRules, floorSeconds, type WindowRule } from './lib/crm-floor';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = arg('changed', 10_000);
const CONTACTS = arg('contacts', 100_000);
const DEALS = arg('deals', 20_000);
const COMPANIES = arg('companies', 5_000);
/** How long the sync's last pull step (deal-link reads) runs under the default limits before the HubSpot writes. */
const PRIME_S = arg('prime-s', 20);
const SEED = 20_261_124;
/** src/sync/stages/pull.ts PAGE_SIZE and src/sync/stages/write.ts CHUNK. */
const PULL_PAGE = 100;
const WRITE_CHUNK = 200;
const HUBSPOT_TOKEN = 'bench-private-app-token';

const log = (line = '') => console.log(line);
const secs = (ms: number) => Number((ms / 1000).toFixed(2));
const fmt = (n: number) => n.toLocaleString('en-US');

// ---- emulators in a child process ---------------------------------------------------------------------------------
const child = fork(fileURLToPath(new URL('./lib/crm-emulators.ts', import.meta.url)), [], {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const pending = new Map<number, (msg: FromChild) => void>();
let nextId = 0;
const urls = await new Promise<{ hubspot: string; salesforce: string }>((resolve, reject) => {
  child.once('error', reject);
  child.once('exit', (code) => reject(new Error(`emulator process exited early (${code})`)));
  child.on('message', (msg: FromChild) => {
    if ('ready' in msg) resolve({ hubspot: msg.hubspotUrl, salesforce: msg.salesforceUrl });
    else pending.get(msg.id)?.(msg);
  });
});
function ask(msg: { op: 'accepted'; since: number } | { op: 'verdicts' } | { op: 'cpu' }): Promise<FromChild> {
  const id = ++nextId;
  return new Promise((resolve) => {
    pending.set(id, (answer) => {
      pending.delete(id);
      resolve(answer);
    });
    child.send({ ...msg, id } as ToChild);
  });
}
/** Requests the HubSpot emulator's limiter accepted at or after `since` (its own clock and bucket). */
async function acceptedSince(since: number): Promise<AcceptedCall[]> {
  const answer = await ask({ op: 'accepted', since });
  return 'accepted' in answer ? answer.accepted : [];
}
/** Every verdict of the HubSpot limiter since its last reset, in arrival order. */
async function verdicts(): Promise<Verdict[]> {
  const answer = await ask({ op: 'verdicts' });
  return 'verdicts' in answer ? answer.verdicts : [];
}
/** CPU milliseconds used so far by the emulators' process and by this one (the connectors). */
async function cpu(): Promise<{ emulators: number; bench: number }> {
  const answer = await ask({ op: 'cpu' });
  const own = process.cpuUsage();
  return { emulators: 'cpuMs' in answer ? answer.cpuMs : NaN, bench: (own.user + own.system) / 1000 };
}

async function http<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...init.headers } });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  return res.json() as Promise<T>;
}

interface HubspotStats { calls: Record<string, number>; total: number; rateLimited: number; writeCalls: number; recordWrites: Record<string, number> }
interface SalesforceStats { calls: Record<string, number>; writeCalls: number; recordsWritten: number; apiUsage: { used: number; limit: number } }
/** One shape for both emulators' /__emulator/stats: all requests, rejected ones, write requests, applied write calls. */
interface Counted { total: number; rejected: number; writeRequests: number; writeApplied: number; recordsApplied: number }
const HS_WRITE = 'POST /crm/v3/objects/deals/batch/update';
const SF_WRITE = 'PATCH /composite/sobjects';
async function hubspotCounted(): Promise<Counted> {
  const s = await http<HubspotStats>(`${urls.hubspot}/__emulator/stats`);
  const recordsApplied = Object.entries(s.recordWrites).reduce((n, [k, v]) => n + (k.startsWith('deals:') ? v : 0), 0);
  return { total: s.total, rejected: s.rateLimited, writeRequests: s.calls[HS_WRITE] ?? 0, writeApplied: s.writeCalls, recordsApplied };
}
async function salesforceCounted(): Promise<Counted> {
  const s = await http<SalesforceStats>(`${urls.salesforce}/__emulator/stats`);
  const total = Object.values(s.calls).reduce((a, b) => a + b, 0);
  return { total, rejected: 0, writeRequests: s.calls[SF_WRITE] ?? 0, writeApplied: s.writeCalls, recordsApplied: s.recordsWritten };
}
const delta = (a: Counted, b: Counted): Counted => ({
  total: b.total - a.total, rejected: b.rejected - a.rejected, writeRequests: b.writeRequests - a.writeRequests,
  writeApplied: b.writeApplied - a.writeApplied, recordsApplied: b.recordsApplied - a.recordsApplied,
});

// ---- org ------------------------------------------------------------------------------------------------------------
let t = performance.now();
const org: Org = generateOrg({ seed: SEED, companies: COMPANIES, contacts: CONTACTS, deals: DEALS });
const plainContacts = new Set(org.contacts.filter((c) => !c.isLead).map((c) => c.key));
const dealLinks = org.deals.reduce((n, d) => n + d.contacts.length, 0);
const dangling = org.deals.flatMap((d) => d.contacts.filter((dc) => !plainContacts.has(dc.contactKey)));
const noContacts = org.deals.filter((d) => d.contacts.length === 0).length;
if (dangling.length > 0 || noContacts > 0) throw new Error(`org: ${dangling.length} deal contacts reference no contact, ${noContacts} deals have none`);
log(`org (generateOrg seed ${SEED}, ${secs(performance.now() - t)} s): ${fmt(org.companies.length)} companies, ${fmt(org.contacts.length)} people `
  + `(${fmt(plainContacts.size)} contacts + ${fmt(org.contacts.length - plainContacts.size)} leads), ${fmt(org.deals.length)} deals, `
  + `${fmt(dealLinks)} deal↔contact links, every one to a contact of the org`);
t = performance.now();
const body = JSON.stringify(org);
await Promise.all([
  http(`${urls.hubspot}/__emulator/seed`, { method: 'POST', body }),
  http(`${urls.salesforce}/__emulator/seed`, { method: 'POST', body }),
]);
log(`seeded both emulators in ${secs(performance.now() - t)} s (${(body.length / 1e6).toFixed(1)} MB org)`);

// ---- mappings ---------------------------------------------------------------------------------------------------------
function dealMapping(file: string): FieldMapping {
  const parsed = parseFieldMapping(readFileSync(new URL(`../mappings/${file}`, import.meta.url), 'utf8'), `mappings/${file}`);
  if (!parsed.ok) throw new Error(`mappings/${file}: ${JSON.stringify(parsed.issues)}`);
  // The bench provisions (salesforce.yaml ships with provision: false) and writes deals only.
  return { ...parsed.value, provision: true, fields: parsed.value.fields.filter((f) => f.object === 'deal') };
}

/** Deterministic engine output for the i-th changed deal, turned into field values by the product's own dealFieldValues. */
function influenceOf(i: number, dealId: string): DealInfluence {
  const h = (k: number) => {
    let x = Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca6b);
    x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d);
    return ((x ^ (x >>> 13)) >>> 0) / 2 ** 32;
  };
  const touches = 1 + Math.floor(h(1) * 40);
  const first = Date.UTC(2025, 5, 1) + Math.floor(h(2) * 300) * 86_400_000 + Math.floor(h(3) * 86_400) * 1000;
  const amount = 5_000 + Math.round(h(4) * 3_950) * 100;
  const share = Math.round(h(5) * 1000) / 1000;
  return {
    dealId, crm: 'hubspot', influenced: touches >= 3, sourced: h(6) < 0.2, assisted: h(7) < 0.5,
    score: Math.round(h(8) * 100), primaryModel: 'w_shaped', models: ['w_shaped', 'linear'], amount, currency: 'USD',
    isClosed: false, isWon: false, attributedAmount: { w_shaped: Math.round(amount * share * 100) / 100, linear: Math.round(amount * share * 90) / 100 },
    touchCount: touches, firstTouchAt: new Date(first).toISOString(), lastTouchAt: new Date(first + touches * 3_600_000).toISOString(),
    topChannel: ['github', 'slack', 'discord', 'forum', 'events'][Math.floor(h(9) * 5)] ?? 'github', creditByChannel: {},
    membersInvolved: [], memberCount: 1 + Math.floor(h(10) * 6), evidence: [],
    evidenceUrl: `https://influence.example.com/deals/${dealId}`, rulesVersion: 'rules-2026-11-01',
  };
}
if (!MODEL_NAMES.includes('w_shaped')) throw new Error('model w_shaped is gone; update the bench');

// ---- pull -----------------------------------------------------------------------------------------------------------
interface PullFigures {
  objects: Record<string, { pages: number; returned: number; unique: number }>;
  links: number;
  dealIds: string[];
  calls: number;
  ms: number;
  /** CPU ms spent during the pull by the emulators' process and by the bench process (connector, client libraries). */
  cpu: { emulators: number; bench: number };
}

/** As src/sync/stages/pull.ts: one page of 100 at a time per object, and each deals page's links through pullDealLinks. */
async function pullAll(conn: CrmConnector, objects: PullObject[]): Promise<PullFigures> {
  const out: PullFigures = { objects: {}, links: 0, dealIds: [], calls: 0, ms: 0, cpu: { emulators: 0, bench: 0 } };
  const calls0 = conn.calls;
  const cpu0 = await cpu();
  const t0 = performance.now();
  const dealIds = new Set<string>();
  const linkKeys = new Set<string>();
  for (const object of objects) {
    const seen = new Set<string>();
    const fig = { pages: 0, returned: 0, unique: 0 };
    let cursor: PullCursor | null = null;
    for (;;) {
      const page: PullPage<{ crmId: string }> = await conn.pull(object, cursor, PULL_PAGE);
      fig.pages++;
      fig.returned += page.records.length;
      for (const r of page.records) seen.add(r.crmId);
      if (object === 'deals' && page.records.length > 0) {
        const ids = page.records.map((r) => r.crmId);
        for (const id of ids) dealIds.add(id);
        const links = await conn.pullDealLinks(ids);
        // HubSpot's walk re-reads the boundary records of each page (see walk.ts): count each link once.
        for (const l of links.contacts) linkKeys.add(`${l.dealId}>${l.contactId}`);
      }
      if (page.done) break;
      cursor = page.cursor;
      if (fig.pages > 100_000) throw new Error(`${conn.kind} ${object}: pull does not end`);
    }
    fig.unique = seen.size;
    out.objects[object] = fig;
  }
  out.ms = performance.now() - t0;
  const cpu1 = await cpu();
  out.cpu = { emulators: cpu1.emulators - cpu0.emulators, bench: cpu1.bench - cpu0.bench };
  out.links = linkKeys.size;
  out.calls = conn.calls - calls0;
  out.dealIds = [...dealIds].sort();
  return out;
}

function printPull(name: string, p: PullFigures, emu: Counted, note: string) {
  log(`${name} pull (${note}): ${secs(p.ms)} s, ${fmt(emu.total)} requests at the emulator (${fmt(emu.rejected)} rejected), connector.calls ${fmt(p.calls)}`);
  for (const [object, f] of Object.entries(p.objects)) {
    if (f.pages === 1 && f.returned === 0) continue;
    log(`  ${object.padEnd(9)} ${fmt(f.unique).padStart(7)} records (${fmt(f.returned)} returned incl. re-reads) in ${fmt(f.pages)} pages`);
  }
  log(`  deal↔contact links: ${fmt(p.links)} distinct (org has ${fmt(dealLinks)})`);
  log(`  CPU during the pull: emulator process ${secs(p.cpu.emulators)} s, bench process (connector + client library) ${secs(p.cpu.bench)} s`);
}

// ---- write runs -----------------------------------------------------------------------------------------------------
/** crmId → field → JSON.stringify(value) last written: the bench's in-memory crm_written. */
type Written = Map<string, Map<string, string>>;

/** Same rule as diffWrites in src/sync/stages/attribute.ts: a field is sent when JSON.stringify(value) differs from the last written. */
function diffWrites(values: Map<string, Record<string, FieldValue>>, written: Written): RecordWrite[] {
  const out: RecordWrite[] = [];
  for (const [crmId, fields] of values) {
    const last = written.get(crmId);
    const changed: Record<string, FieldValue> = {};
    for (const [field, value] of Object.entries(fields)) {
      const prev = last?.get(field);
      if (prev === undefined || prev !== JSON.stringify(value)) changed[field] = value;
    }
    if (Object.keys(changed).length) out.push({ object: 'deal', crmId, fields: changed });
  }
  return out;
}

interface WriteFigures { planned: number; written: number; failed: RecordFailure[]; calls: number; ms: number; start: number }

/** As src/sync/stages/write.ts: chunks of 200 records of one object per connector.write; only confirmed records are recorded. */
async function writeRun(conn: CrmConnector, values: Map<string, Record<string, FieldValue>>, written: Written): Promise<WriteFigures> {
  const start = Date.now();
  const calls0 = conn.calls;
  const planned = diffWrites(values, written);
  const failed: RecordFailure[] = [];
  let ok = 0;
  for (let i = 0; i < planned.length; i += WRITE_CHUNK) {
    const chunk = planned.slice(i, i + WRITE_CHUNK);
    const result = await conn.write(chunk);
    const confirmed = new Set(result.written);
    const failedIds = new Set(result.failed.map((f) => f.crmId));
    failed.push(...result.failed);
    for (const w of chunk) {
      if (!confirmed.has(w.crmId) || failedIds.has(w.crmId)) {
        if (!failedIds.has(w.crmId)) failed.push({ crmId: w.crmId, code: 'unconfirmed', message: 'the CRM did not confirm this record', retryable: true });
        continue;
      }
      ok++;
      const last = written.get(w.crmId) ?? new Map<string, string>();
      for (const [field, value] of Object.entries(w.fields)) last.set(field, JSON.stringify(value));
      written.set(w.crmId, last);
    }
  }
  return { planned: planned.length, written: ok, failed, calls: conn.calls - calls0, ms: Date.now() - start, start };
}

function targets(dealIds: string[], mapping: FieldMapping): Map<string, Record<string, FieldValue>> {
  // Every other deal of the pull, N of them: a deterministic spread over the id range.
  const step = Math.max(1, Math.floor(dealIds.length / N));
  const chosen = dealIds.filter((_, i) => i % step === 0).slice(0, N);
  if (chosen.length < N) throw new Error(`only ${chosen.length} deals pulled; need ${N}`);
  return new Map(chosen.map((id, i) => [id, dealFieldValues(mapping, influenceOf(i, id))]));
}

interface Result { changed: number; write_calls: number; noop_write_calls: number; failed: number; wall_s: number; floor_s: number; pull_calls: number; pull_s: number }
const results: Record<'hubspot' | 'salesforce', Result> = {} as Record<'hubspot' | 'salesforce', Result>;
const checks: string[] = [];
const check = (ok: boolean, text: string) => checks.push(`${ok ? 'PASS' : 'MISS'}  ${text}`);

function printWrite(name: string, label: string, w: WriteFigures, emu: Counted) {
  log(`${name} ${label}: planned ${fmt(w.planned)} records, written ${fmt(w.written)}, failed ${fmt(w.failed.length)}; ${secs(w.ms)} s`);
  log(`  connector.calls ${fmt(w.calls)}; emulator: ${fmt(emu.total)} requests (${fmt(emu.rejected)} rejected), ${fmt(emu.writeRequests)} write requests, `
    + `${fmt(emu.writeApplied)} write calls applied, ${fmt(emu.recordsApplied)} record updates applied`);
  const codes = new Map<string, number>();
  for (const f of w.failed) codes.set(f.code, (codes.get(f.code) ?? 0) + 1);
  if (codes.size) log(`  failures: ${[...codes].map(([c, n]) => `${c} ×${n}`).join(', ')}; first: ${w.failed[0]?.message ?? ''}`);
}

// ---- HubSpot ----------------------------------------------------------------------------------------------------------
log();
log('== HubSpot ==');
{
  const base = { accessToken: HUBSPOT_TOKEN, baseUrl: urls.hubspot };
  const raised = { perTenSeconds: 10_000_000, searchPerSecond: 1_000_000, daily: 100_000_000 };
  await http(`${urls.hubspot}/__emulator/limits`, { method: 'PUT', body: JSON.stringify(raised) });
  const pullConn = new HubspotConnector({
    ...base,
    gate: createLocalGate({ default: { limit: raised.perTenSeconds, windowMs: 10_000 }, search: { limit: raised.searchPerSecond, windowMs: 1_000 } }),
  });
  const s0 = await hubspotCounted();
  const since = Date.now();
  const pull = await pullAll(pullConn, ['contacts', 'leads', 'deals']);
  const pullEmu = delta(s0, await hubspotCounted());
  const sequence = (await acceptedSince(since)).map((a) => a.search);
  printPull('HubSpot', pull, pullEmu, 'emulator and connector-gate limits RAISED; see the floors below');
  const searches = sequence.filter(Boolean).length;
  const defaultFloor = floorSeconds([], sequence, 0, emulatorRules(DEFAULT_LIMITS.perTenSeconds, DEFAULT_LIMITS.searchPerSecond));
  const gateRules: WindowRule[] = [
    { name: 'general', limit: HUBSPOT_DEFAULT_LIMIT.limit, windowMs: HUBSPOT_DEFAULT_LIMIT.windowMs, searchOnly: false },
    { name: 'search', limit: HUBSPOT_SEARCH_LIMIT.limit, windowMs: HUBSPOT_SEARCH_LIMIT.windowMs, searchOnly: true },
  ];
  const gateFloor = floorSeconds([], sequence, 0, gateRules);
  log(`  the same ${fmt(sequence.length)} calls (${fmt(searches)} searches) under DEFAULT limits, from an empty window, cannot take less than:`);
  log(`    ${defaultFloor.toFixed(1)} s at the emulator's limits (${DEFAULT_LIMITS.perTenSeconds} / rolling 10 s, search ${DEFAULT_LIMITS.searchPerSecond} / rolling 1 s)`);
  log(`    ${gateFloor.toFixed(1)} s at the connector's own default gate (${HUBSPOT_DEFAULT_LIMIT.limit} / 10 s, search ${HUBSPOT_SEARCH_LIMIT.limit} / s), what a real run waits at least`);
  check(pull.objects.contacts?.unique === CONTACTS, `HubSpot pulled ${fmt(pull.objects.contacts?.unique ?? 0)} of ${fmt(CONTACTS)} contacts`);
  check(pull.objects.deals?.unique === org.deals.length && pull.links === dealLinks, `HubSpot pulled ${fmt(pull.objects.deals?.unique ?? 0)} deals and ${fmt(pull.links)} of ${fmt(dealLinks)} links`);

  // Default limits from here on (this also empties the emulator's window), and the connector's default gate.
  await http(`${urls.hubspot}/__emulator/limits`, { method: 'PUT', body: JSON.stringify(DEFAULT_LIMITS) });
  // The connector's default gate, observed: when each attempt passed it (to explain any 429 the emulator answers).
  const gate = createLocalGate();
  const passed: number[] = [];
  const conn = new HubspotConnector({
    ...base,
    gate: {
      take: async (bucket, cost) => {
        await gate.take(bucket, cost);
        passed.push(Date.now());
      },
    },
  });
  const mapping = dealMapping('hubspot.yaml');
  const prov = await conn.provision(mapping, { dryRun: false });
  log(`provision (${mapping.fields.length} deal properties): created ${prov.created.length}, present ${prov.present.length}, missing ${prov.missing.length}, wrong type ${prov.wrongType.length}, ${prov.calls} calls`);
  if (prov.missing.length || prov.wrongType.length) throw new Error(`HubSpot provisioning incomplete: ${JSON.stringify(prov)}`);

  // A sync writes right after its pull stage, whose last step reads deal links: do that for PRIME_S seconds under the
  // default limits, through the same gate, so the window is in its steady, full state when the writes start.
  const p0 = await hubspotCounted();
  const primeStart = Date.now();
  let primeCalls = 0;
  while (Date.now() - primeStart < PRIME_S * 1000) {
    for (let i = 0; i < pull.dealIds.length && Date.now() - primeStart < PRIME_S * 1000; i += 1000) {
      primeCalls += (await conn.pullDealLinks(pull.dealIds.slice(i, i + 1000))).calls;
    }
  }
  const primeEmu = delta(p0, await hubspotCounted());
  log(`window priming: ${fmt(primeCalls)} deal-link reads in ${secs(Date.now() - primeStart)} s under default limits (${fmt(primeEmu.rejected)} rejected by the emulator)`);

  const values = targets(pull.dealIds, mapping);
  const written: Written = new Map();
  const w0 = await hubspotCounted();
  const prior = await acceptedSince(Date.now() - 10_000);
  const run1 = await writeRun(conn, values, written);
  const run1Emu = delta(w0, await hubspotCounted());
  const phase = (await acceptedSince(run1.start - 10_000)).slice(prior.length);
  const inWindow = prior.filter((a) => a.at > run1.start - 10_000).length;
  const floor = floorSeconds(prior, phase.map((a) => a.search), run1.start, emulatorRules(DEFAULT_LIMITS.perTenSeconds, DEFAULT_LIMITS.searchPerSecond));
  printWrite('HubSpot', `write of ${fmt(N)} changed deals`, run1, run1Emu);
  log(`  rate-limit floor ${floor.toFixed(2)} s: ${inWindow} accepted requests in the emulator's 10 s window at the start; `
    + `the ${phase.length} requests it accepted in the phase cannot all be accepted sooner (wall / floor = ${(run1.ms / 1000 / floor).toFixed(3)})`);
  const sample = [...values.keys()][Math.floor(values.size / 2)]!;
  const stored = await http<{ properties: Record<string, string | null> }>(`${urls.hubspot}/__emulator/objects/deals/${sample}`);
  const expected = values.get(sample)!;
  const mismatched = Object.entries(expected).filter(([k, v]) => (stored.properties[k] ?? '') !== (v === null ? '' : String(v)));
  check(mismatched.length === 0, `HubSpot deal ${sample} holds the written values${mismatched.length ? ` (differs: ${mismatched.map(([k]) => k).join(', ')})` : ''}`);
  check(run1Emu.recordsApplied === N, `HubSpot emulator applied ${fmt(run1Emu.recordsApplied)} deal updates for ${fmt(N)} changed deals`);

  // Any 429 under the connector's own gate: when the request passed the gate, when the emulator counted it, and when the
  // emulator's oldest counted request (the one whose slot the gate thought was free) had done the same.
  const all = await verdicts();
  if (all.length === passed.length) {
    all.forEach((v, i) => {
      if (v.ok) return;
      const oldest = all.findIndex((o) => o.ok && o.at > v.at - 10_000);
      const phaseName = v.at >= run1.start ? 'write phase' : 'priming';
      log(`  429 ${v.policy} in the ${phaseName}: request #${i} reached the emulator ${v.at - passed[i]!} ms after passing the gate; the oldest request in the`
        + ` emulator's window (#${oldest}) had taken ${all[oldest]!.at - passed[oldest]!} ms and left the window ${all[oldest]!.at + 10_000 - v.at} ms later`);
    });
  } else {
    log(`  (gate passes ${passed.length} and emulator verdicts ${all.length} do not line up; 429 details skipped)`);
  }

  const n0 = await hubspotCounted();
  const run2 = await writeRun(conn, values, written);
  const run2Emu = delta(n0, await hubspotCounted());
  printWrite('HubSpot', 'unchanged run', run2, run2Emu);

  const writeCalls = Math.max(run1.calls, run1Emu.total);
  results.hubspot = {
    changed: run1.planned, write_calls: writeCalls, noop_write_calls: Math.max(run2.calls, run2Emu.total),
    failed: run1.failed.length + run2.failed.length, wall_s: secs(run1.ms), floor_s: Number(floor.toFixed(2)),
    pull_calls: pullEmu.total, pull_s: secs(pull.ms),
  };
  const target = Math.ceil(N / 100) + 5;
  check(writeCalls <= target, `HubSpot write calls ${writeCalls} ≤ ceil(N/100)+5 = ${target}`);
  check(results.hubspot.noop_write_calls === 0 && run2.planned === 0, `HubSpot unchanged run: ${run2.planned} planned, ${results.hubspot.noop_write_calls} calls`);
  check(results.hubspot.failed === 0, `HubSpot failed records: ${results.hubspot.failed}`);
  check(run1.ms / 1000 <= 1.1 * floor, `HubSpot wall ${secs(run1.ms)} s ≤ 1.1 × floor ${floor.toFixed(2)} s = ${(1.1 * floor).toFixed(2)} s`);
}

// ---- Salesforce -------------------------------------------------------------------------------------------------------
log();
log('== Salesforce ==');
{
  const conn = new SalesforceConnector({
    loginUrl: urls.salesforce,
    auth: { kind: 'client_credentials', clientId: 'emulator-client-id', clientSecret: 'emulator-client-secret' },
  });
  const s0 = await salesforceCounted();
  const pull = await pullAll(conn, ['contacts', 'leads', 'deals']);
  const pullEmu = delta(s0, await salesforceCounted());
  printPull('Salesforce', pull, pullEmu, 'default limits; Bulk API 2.0 for the initial loads, as the connector decides');
  const people = (pull.objects.contacts?.unique ?? 0) + (pull.objects.leads?.unique ?? 0);
  check(people === CONTACTS, `Salesforce pulled ${fmt(people)} of ${fmt(CONTACTS)} people (contacts + leads)`);
  check(pull.objects.deals?.unique === org.deals.length && pull.links === dealLinks, `Salesforce pulled ${fmt(pull.objects.deals?.unique ?? 0)} deals and ${fmt(pull.links)} of ${fmt(dealLinks)} links`);

  const mapping = dealMapping('salesforce.yaml');
  const prov = await conn.provision(mapping, { dryRun: false });
  log(`provision (${mapping.fields.length} Opportunity fields, provision: true): created ${prov.created.length}, present ${prov.present.length}, missing ${prov.missing.length}, wrong type ${prov.wrongType.length}, ${prov.calls} calls`);
  if (prov.missing.length || prov.wrongType.length) throw new Error(`Salesforce provisioning incomplete: ${JSON.stringify(prov)} ${JSON.stringify(conn.lastCreateFailures)}`);

  const values = targets(pull.dealIds, mapping);
  const written: Written = new Map();
  const w0 = await salesforceCounted();
  const run1 = await writeRun(conn, values, written);
  const run1Emu = delta(w0, await salesforceCounted());
  printWrite('Salesforce', `write of ${fmt(N)} changed deals`, run1, run1Emu);
  log('  rate-limit floor 0 s: the emulator enforces only the 24-hour API allowance (no per-second or rolling window), so nothing has to wait');
  const sample = [...values.keys()][Math.floor(values.size / 2)]!;
  const stored = await http<Record<string, unknown>>(`${urls.salesforce}/__emulator/objects/Opportunity/${sample}`);
  const expected = values.get(sample)!;
  const mismatched = Object.entries(expected).filter(([k, v]) => stored[k] !== v);
  check(mismatched.length === 0, `Salesforce Opportunity ${sample} holds the written values${mismatched.length ? ` (differs: ${mismatched.map(([k]) => k).join(', ')})` : ''}`);
  check(run1Emu.recordsApplied === N, `Salesforce emulator applied ${fmt(run1Emu.recordsApplied)} record updates for ${fmt(N)} changed deals`);

  const n0 = await salesforceCounted();
  const run2 = await writeRun(conn, values, written);
  const run2Emu = delta(n0, await salesforceCounted());
  printWrite('Salesforce', 'unchanged run', run2, run2Emu);

  const writeCalls = Math.max(run1.calls, run1Emu.total);
  results.salesforce = {
    changed: run1.planned, write_calls: writeCalls, noop_write_calls: Math.max(run2.calls, run2Emu.total),
    failed: run1.failed.length + run2.failed.length, wall_s: secs(run1.ms), floor_s: 0,
    pull_calls: pullEmu.total, pull_s: secs(pull.ms),
  };
  const target = Math.ceil(N / 200) + 5;
  check(writeCalls <= target, `Salesforce write calls ${writeCalls} ≤ ceil(N/200)+5 = ${target}`);
  check(results.salesforce.noop_write_calls === 0 && run2.planned === 0, `Salesforce unchanged run: ${run2.planned} planned, ${results.salesforce.noop_write_calls} calls`);
  check(results.salesforce.failed === 0, `Salesforce failed records: ${results.salesforce.failed}`);
}

child.send({ id: ++nextId, op: 'exit' } satisfies ToChild);
await new Promise((resolve) => child.once('exit', resolve));

log();
log('Definitions:');
log('  write_calls: requests the emulator received during the write phase (its /__emulator/stats total; retries and 429s');
log('    included), or connector.calls if higher. noop_write_calls: the same for the run with nothing changed.');
log('  The write plan keeps the last-written value of every field in memory and sends a field when JSON.stringify(value)');
log('    differs: the same rule as diffWrites in src/sync/stages/attribute.ts over the crm_written table.');
log('  floor_s (HubSpot): the minimum time the emulator\'s limiter (100 accepted requests per rolling 10 s; searches also');
log('    5 per rolling 1 s) allows for the requests it accepted in the write phase, sent one after another, given the');
log('    requests already in its window when the phase started (read from the limiter itself). Latency is not counted.');
log('    Salesforce: 0, the emulator has no rolling window (only the 24-hour allowance, 15,000 calls by default).');
log('  pull_s: HubSpot with limits raised (its default-limit floor is printed above); Salesforce under its defaults.');
log();
log('Targets:');
for (const c of checks) log(`  ${c}`);
log();
console.log(JSON.stringify(results));

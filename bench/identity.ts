/**
 * npm run bench:identity [-- --members N --contacts M --seed S]
 * Resolves every member of a labelled synthetic org against its CRM and reports precision / recall of automatic links,
 * precision of suggestions, time and peak memory. The last line is one JSON object with the figures.
 *
 * Timing: `engine_s` is index build + resolveMember for every member (member generation excluded, measured per batch);
 * `wall_s` is the whole process including generating the synthetic data.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadIdentityConfig } from '../src/identity/config';
import { ContactIndex } from '../src/identity/contact-index';
import { contextFor } from '../src/identity/context';
import { resolveMember } from '../src/identity/resolve';
import { ORG_DOMAIN, SyntheticOrg, type LabelledMember } from './identity-generator';

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '1000000' },
    contacts: { type: 'string', default: '500000' },
    seed: { type: 'string', default: '42' },
  },
});
const members = Number(values.members);
const contacts = Number(values.contacts);
const seed = Number(values.seed);
if (!Number.isInteger(members) || members < 1 || !Number.isInteger(contacts) || contacts < 1) {
  throw new Error('--members and --contacts must be positive integers');
}

const wallStart = performance.now();
const cpuStart = process.cpuUsage();
const config = loadIdentityConfig(readFileSync(new URL('../mappings/identity.yaml', import.meta.url), 'utf8'));
config.organisation.domains = [ORG_DOMAIN];
const ctx = contextFor(config);

// Main-thread CPU time of the engine phases: steadier than wall time when other processes share the machine.
const threadCpu = (): number => {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1e6;
};
let engineCpuS = 0;
let t = performance.now();
const org = new SyntheticOrg({ members, contacts, seed });
const genCrmS = (performance.now() - t) / 1000;

t = performance.now();
let c0 = threadCpu();
const index = ContactIndex.build(ctx.email, org.contacts, org.companies);
const indexS = (performance.now() - t) / 1000;
org.releaseContacts();
const indexCpuS = threadCpu() - c0;
engineCpuS += indexCpuS;
const mb = (n: number): number => Math.round(n / 1048576);
const heapAfterIndex = mb(process.memoryUsage().heapUsed);

const c = {
  autoTp: 0, autoFp: 0, findable: 0, findableHit: 0, withTruth: 0, withTruthHit: 0,
  sugTotal: 0, sugCorrect: 0, top1Total: 0, top1Correct: 0,
  companyTp: 0, companyFp: 0, bots: 0, botsFlagged: 0, staff: 0, staffFlagged: 0, personsFlagged: 0, conflicts: 0,
};
const fpExamples: string[] = [];
let resolveMs = 0;
// Small batches: members and results die young (cheap scavenges) instead of being promoted to the old generation.
const BATCH = 200;
const batch: LabelledMember[] = [];
for (let start = 0; start < members; start += BATCH) {
  batch.length = 0;
  for (let i = start; i < Math.min(members, start + BATCH); i++) batch.push(org.member(i));
  const t0 = performance.now();
  c0 = threadCpu();
  const results = batch.map((m) => resolveMember(m.snapshot, index, config));
  resolveMs += performance.now() - t0;
  engineCpuS += threadCpu() - c0;
  for (let j = 0; j < batch.length; j++) score(batch[j], results[j]);
}

function score(m: LabelledMember | undefined, r: ReturnType<typeof resolveMember> | undefined): void {
  if (!m || !r) return;
  const truth = m.truth;
  let hit = false;
  for (const l of r.links) {
    if (l.target.kind === 'contact') {
      if (truth.includes(l.target.crmId)) {
        c.autoTp++;
        hit = true;
      } else {
        c.autoFp++;
        if (fpExamples.length < 5) fpExamples.push(`${m.snapshot.memberId} → ${l.target.crmId}: ${l.evidence.join('; ')}`);
      }
    } else if (m.company !== null) {
      const id = l.target.crmId;
      if (id === m.company) c.companyTp++;
      else c.companyFp++;
    }
  }
  if (m.findable) {
    c.findable++;
    if (hit) c.findableHit++;
  }
  if (truth.length > 0) {
    c.withTruth++;
    if (hit) c.withTruthHit++;
  }
  const contactSuggestions = r.suggestions.filter((s) => s.target.kind === 'contact');
  for (const s of contactSuggestions) {
    c.sugTotal++;
    if (truth.includes(s.target.crmId)) c.sugCorrect++;
  }
  const top = contactSuggestions[0];
  if (top) {
    c.top1Total++;
    if (truth.includes(top.target.crmId)) c.top1Correct++;
  }
  c.conflicts += r.conflicts.length;
  const flags = new Set(r.flags.map((f) => f.code));
  if (m.kind === 'bot') {
    c.bots++;
    if (flags.has('bot')) c.botsFlagged++;
  } else if (m.kind === 'staff') {
    c.staff++;
    if (flags.has('staff')) c.staffFlagged++;
  } else if (flags.size > 0) c.personsFlagged++;
}

const ratio = (a: number, b: number): number => (b === 0 ? 1 : Math.round((a / b) * 10000) / 10000);
const precision = ratio(c.autoTp, c.autoTp + c.autoFp);
const recall = ratio(c.findableHit, c.findable);
const f1 = Math.round(((2 * precision * recall) / (precision + recall || 1)) * 10000) / 10000;
const wallS = (performance.now() - wallStart) / 1000;
const engineS = indexS + resolveMs / 1000;
const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
const cpu = process.cpuUsage(cpuStart);
// CPU of the whole process, including V8's background GC threads; on a busy machine it is steadier than wall time.
const cpuS = Math.round(((cpu.user + cpu.system) / 1e6) * 100) / 100;

console.log(`identity bench: ${members.toLocaleString('en')} members × ${org.contactCount.toLocaleString('en')} CRM records (${org.companies.length.toLocaleString('en')} companies), seed ${seed}`);
console.log(`  generate CRM          ${genCrmS.toFixed(2)} s`);
console.log(`  build ContactIndex    ${indexS.toFixed(2)} s, main-thread CPU ${indexCpuS.toFixed(2)} s   (heap after build ${heapAfterIndex} MB)`);
console.log(`  resolveMember × N     ${(resolveMs / 1000).toFixed(2)} s, main-thread CPU ${(engineCpuS - indexCpuS).toFixed(2)} s  (${((resolveMs * 1000) / members).toFixed(1)} µs/member wall)`);
console.log(`  engine (index+resolve) ${engineS.toFixed(2)} s (main-thread CPU ${engineCpuS.toFixed(2)} s)   wall ${wallS.toFixed(2)} s   process CPU ${cpuS} s   peak RSS ${peakRssMb} MB`);
console.log(`  automatic contact links: ${c.autoTp + c.autoFp} (true ${c.autoTp}, false ${c.autoFp})  precision ${precision}`);
console.log(`  recall over members with a findable contact: ${c.findableHit}/${c.findable} = ${recall}`);
console.log(`  recall over all members with a CRM record (incl. unfindable): ${c.withTruthHit}/${c.withTruth} = ${ratio(c.withTruthHit, c.withTruth)}`);
console.log(`  suggestions: ${c.sugTotal}, precision ${ratio(c.sugCorrect, c.sugTotal)}; top-1 precision ${ratio(c.top1Correct, c.top1Total)} over ${c.top1Total} members`);
console.log(`  company links: precision ${ratio(c.companyTp, c.companyTp + c.companyFp)} (${c.companyTp + c.companyFp} links)`);
console.log(`  flags: bots ${c.botsFlagged}/${c.bots}, staff ${c.staffFlagged}/${c.staff}, persons wrongly flagged ${c.personsFlagged}; conflicts recorded ${c.conflicts}`);
for (const e of fpExamples) console.log(`  false link: ${e}`);
console.log(
  JSON.stringify({
    members,
    contacts: org.contactCount,
    precision,
    recall,
    f1,
    suggestion_precision: ratio(c.sugCorrect, c.sugTotal),
    wall_s: Math.round(wallS * 100) / 100,
    peak_rss_mb: peakRssMb,
    engine_s: Math.round(engineS * 100) / 100,
    engine_cpu_s: Math.round(engineCpuS * 100) / 100,
    cpu_s: cpuS,
    recall_all_with_contact: ratio(c.withTruthHit, c.withTruth),
    company_link_precision: ratio(c.companyTp, c.companyTp + c.companyFp),
  }),
);

import type { ModelName } from '../rules/schema';
import type { DealInfluence, EvidenceRest, TouchEvidence } from './types';

/**
 * A result as it can be stored. D1 keeps a row of at most 2 MB, and a deal's evidence grows with its touches (about
 * 600 bytes each): an account-wide deal with a few thousand touches in its window would fail to store on every run.
 * Past `maxChars` of JSON, the stored evidence keeps the touches with the most credit under the primary model (earlier
 * first on ties), in journey order, and `evidenceOmitted` says how many were left out. The touches left out are summed
 * in `evidenceRest` by activity type, event and member, so the reports that credit those still count every touch. The
 * figures (credits per channel, flags, score, counts) are computed before and still count every touch; the evidence
 * page says what is missing. Such a result cannot be re-credited or re-scored from its evidence; the Worker recomputes
 * it instead.
 */
export function boundedEvidence(influence: DealInfluence, maxChars: number): DealInfluence {
  const full = JSON.stringify(influence).length;
  if (full <= maxChars) return influence;
  const all = influence.evidence;
  const sizes = all.map((e) => JSON.stringify(e).length + 1);
  // Room for "evidenceOmitted":n,"evidenceRest":[].
  const fixed = full - sizes.reduce((a, b) => a + b, 0) + 48;
  const primary = influence.primaryModel;
  const order = all.map((_, i) => i);
  order.sort((a, b) => (all[b]!.credit[primary] ?? 0) - (all[a]!.credit[primary] ?? 0) || a - b);

  const keep = new Uint8Array(all.length);
  const bounded = (rest: EvidenceRest[]): DealInfluence => {
    const evidence = all.filter((_, i) => keep[i]);
    return { ...influence, evidence, evidenceOmitted: all.length - evidence.length, evidenceRest: rest };
  };
  // Each pass keeps less evidence, by how far the last one went over: a touch moved into the rest costs less there
  // than in the evidence (a group holds no id, time, URL or milestones, and many touches share one), so this converges.
  let budget = maxChars - fixed;
  for (let pass = 0; pass < 32; pass++) {
    keep.fill(0);
    let kept = 0;
    for (const i of order) {
      if (sizes[i]! > budget - kept) break;
      kept += sizes[i]!;
      keep[i] = 1;
    }
    const rest = summarise(all.filter((_, i) => !keep[i]), primary, true);
    const over = fixed + kept + JSON.stringify(rest).length - maxChars;
    if (over <= 0) return bounded(rest);
    if (kept === 0) break;
    budget = kept - over;
  }
  // Too many members even without any evidence: the rest by type and event alone, then as much of it as fits.
  keep.fill(0);
  const rest = summarise(all, primary, false);
  let room = maxChars - fixed;
  const fits: EvidenceRest[] = [];
  for (const r of rest) {
    const size = JSON.stringify(r).length + 1;
    if (size > room) break;
    room -= size;
    fits.push(r);
  }
  return bounded(fits);
}

/**
 * Touches summed per activity type, event (title or URL, for the events channel) and member (when `byMember`), with
 * their credit per model: what the reports' breakdowns need. Most credited first under the primary model.
 */
function summarise(touches: TouchEvidence[], primary: ModelName, byMember: boolean): EvidenceRest[] {
  const groups = new Map<string, EvidenceRest>();
  for (const e of touches) {
    const title = e.channel === 'events' ? (e.title ?? e.url ?? null) : null;
    const memberId = byMember ? e.memberId : null;
    const key = JSON.stringify([e.type, e.channel, title, memberId]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { type: e.type, channel: e.channel, title, memberId, touches: 0, credit: {} }));
    g.touches++;
    for (const [m, v] of Object.entries(e.credit) as [keyof TouchEvidence['credit'], number][]) g.credit[m] = (g.credit[m] ?? 0) + v;
  }
  return [...groups.values()].sort((a, b) => (b.credit[primary] ?? 0) - (a.credit[primary] ?? 0));
}

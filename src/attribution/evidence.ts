import type { DealInfluence } from './types';

/**
 * A result as it can be stored. D1 keeps a row of at most 2 MB, and a deal's evidence grows with its touches (about
 * 600 bytes each): an account-wide deal with a few thousand touches in its window would fail to store on every run.
 * Past `maxChars` of JSON, the stored evidence keeps the touches with the most credit under the primary model (earlier
 * first on ties), in journey order, and `evidenceOmitted` says how many were left out. The figures (credits per
 * channel, flags, score, counts) are computed before and still count every touch; the evidence page says what is
 * missing. Such a result cannot be re-credited or re-scored from its evidence; the Worker recomputes it instead.
 */
export function boundedEvidence(influence: DealInfluence, maxChars: number): DealInfluence {
  const full = JSON.stringify(influence).length;
  if (full <= maxChars) return influence;
  const sizes = influence.evidence.map((e) => JSON.stringify(e).length + 1);
  let budget = maxChars - (full - sizes.reduce((a, b) => a + b, 0)) - 32; // room for "evidenceOmitted":n
  const primary = influence.primaryModel;
  const order = influence.evidence.map((_, i) => i);
  order.sort((a, b) => (influence.evidence[b]!.credit[primary] ?? 0) - (influence.evidence[a]!.credit[primary] ?? 0) || a - b);
  const keep = new Uint8Array(influence.evidence.length);
  for (const i of order) {
    if (sizes[i]! > budget) break;
    budget -= sizes[i]!;
    keep[i] = 1;
  }
  const evidence = influence.evidence.filter((_, i) => keep[i]);
  return { ...influence, evidence, evidenceOmitted: influence.evidence.length - evidence.length };
}

import type { Rules } from '../rules/schema';
import { attributed, channelCredits, fittedCredits, topChannel } from './deal';
import { fittedModels, type Fitted } from './fit';
import type { DealInfluence } from './types';

/**
 * A deal's influence under a new fit, from its stored result alone. Only the data-driven models depend on the fit, and
 * only through the channels of the counted touches (in the evidence): their per-touch credits, credit per channel and
 * attributed amount, and the top channel when one of them is primary. Everything else (which touches count, flags,
 * score, the other models) stays as computed. The result equals computing the deal again from its touches with the new
 * fit at the time it was computed, to the bit (property test in properties.test.ts), without loading a single touch;
 * `rescore` (aging.ts) then brings the time-dependent part up to now.
 */
export function recredit(influence: DealInfluence, rules: Rules, fitted: Fitted): DealInfluence {
  const models = fittedModels(rules).filter((m) => influence.models.includes(m));
  if (!models.length) return influence;
  const channels = influence.evidence.map((e) => e.channel);
  const evidence = influence.evidence.map((e) => ({ ...e, credit: { ...e.credit } }));
  const creditByChannel = { ...influence.creditByChannel };
  const attributedAmount = { ...influence.attributedAmount };
  for (const m of models) {
    const credits = fittedCredits(m, channels, { [m]: fitted[m] ?? {} });
    evidence.forEach((e, i) => (e.credit[m] = credits[i] ?? 0));
    const { byChannel, total } = channelCredits(channels, credits);
    creditByChannel[m] = byChannel;
    attributedAmount[m] = attributed(influence.amount, influence.influenced, total);
  }
  return { ...influence, evidence, creditByChannel, attributedAmount, topChannel: topChannel(creditByChannel[influence.primaryModel] ?? {}) };
}

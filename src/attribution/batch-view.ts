import type { Rules } from '../rules/schema';
import { attributed, evidenceUrl } from './deal';
import type { BatchResult } from './batch';
import type { Deal, DealInfluence, EngineContext } from './types';

/**
 * Turns batch rows back into DealInfluence objects (without evidence or member ids), so whole-org previews
 * (`previewDiff`) and CRM write-back (`dealFieldValues`) can run off the fast path. Row r is `deals[from + r]`.
 */
export function batchInfluences(
  result: BatchResult,
  deals: readonly Deal[],
  rules: Rules,
  ctx: Pick<EngineContext, 'evidenceBaseUrl' | 'rulesVersion'>,
  from = 0,
  rows = Math.min(result.touchCount.length, deals.length - from),
): DealInfluence[] {
  const M = result.models.length;
  const C = result.channels.length;
  const out: DealInfluence[] = [];
  const iso = (t: number | undefined) => (t === undefined || Number.isNaN(t) ? null : new Date(t).toISOString());
  for (let r = 0; r < rows; r++) {
    const deal = deals[from + r];
    if (!deal) break;
    const influenced = result.influenced[r] === 1;
    const creditByChannel: DealInfluence['creditByChannel'] = {};
    const attributedAmount: DealInfluence['attributedAmount'] = {};
    result.models.forEach((m, mi) => {
      const byChannel: Record<string, number> = {};
      let total = 0;
      for (let c = 0; c < C; c++) {
        const v = result.credit[(r * M + mi) * C + c] ?? 0;
        if (v !== 0) byChannel[result.channels[c] ?? ''] = v;
        total += v;
      }
      creditByChannel[m] = byChannel;
      attributedAmount[m] = attributed(deal.amount, influenced, total);
    });
    const top = result.topChannel[r] ?? -1;
    out.push({
      dealId: deal.id, crm: deal.crm, influenced, sourced: result.sourced[r] === 1, assisted: result.assisted[r] === 1,
      score: result.score[r] ?? 0, primaryModel: rules.models.primary, models: result.models, amount: deal.amount,
      currency: deal.currency, isClosed: deal.isClosed, isWon: deal.isWon, attributedAmount, touchCount: result.touchCount[r] ?? 0,
      firstTouchAt: iso(result.firstTouchAt[r]), lastTouchAt: iso(result.lastTouchAt[r]), topChannel: top >= 0 ? (result.channels[top] ?? null) : null,
      creditByChannel, membersInvolved: [], memberCount: result.membersInvolved[r] ?? 0, evidence: [],
      evidenceUrl: evidenceUrl(ctx.evidenceBaseUrl, deal), rulesVersion: ctx.rulesVersion,
    });
  }
  return out;
}

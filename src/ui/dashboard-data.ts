import { segmentOf, type SegmentsConfig } from '../segments';
import {
  bootstrapCI, bootstrapDifference, matchedComparison, proportionDifference, quarterOf, sizeBand, wilson,
  type Interval, type MatchedResult, type Unit,
} from '../stats';
import type { ReportDealRow } from '../store/reports';

/** Pure aggregation of the dashboard from one row per deal. */

export interface MonthRow {
  month: string;
  influenced_pipeline: number;
  sourced_pipeline: number;
  attributed_pipeline: number;
  influenced_revenue: number;
  sourced_revenue: number;
  attributed_revenue: number;
  influenced_deals: number;
}

export interface ChannelRow {
  channel: string;
  pipeline: number;
  revenue: number;
  deals: number;
}

export interface Comparison {
  metric: string;
  unit: 'rate' | 'money' | 'days';
  influenced: Interval;
  other: Interval;
  difference: Interval;
  matched: MatchedResult;
  note: string;
}

const dealDate = (r: ReportDealRow) => (r.is_closed ? (r.close_date ?? r.deal_created_at) : r.deal_created_at);
const days = (a: string, b: string) => (Date.parse(b) - Date.parse(a)) / 86_400_000;

export function summarize(rows: ReportDealRow[], segments: SegmentsConfig) {
  const kpi = {
    deals: rows.length, influencedDeals: 0, sourcedDeals: 0, openDeals: 0,
    influencedPipeline: 0, sourcedPipeline: 0, attributedPipeline: 0, totalPipeline: 0,
    influencedRevenue: 0, sourcedRevenue: 0, attributedRevenue: 0, totalRevenue: 0,
  };
  const months = new Map<string, MonthRow>();
  const channels = new Map<string, ChannelRow>();
  const companies = new Map<string, { company_id: string; name: string | null; deals: number; pipeline: number; revenue: number; attributed: number }>();
  for (const r of rows) {
    const amount = r.amount ?? 0;
    const attributed = r.attributed ?? 0;
    const open = !r.is_closed;
    const won = !!r.is_won;
    if (r.influenced) kpi.influencedDeals++;
    if (r.sourced) kpi.sourcedDeals++;
    if (open) {
      kpi.openDeals++;
      kpi.totalPipeline += amount;
      if (r.influenced) kpi.influencedPipeline += amount;
      if (r.sourced) kpi.sourcedPipeline += amount;
      kpi.attributedPipeline += attributed;
    } else if (won) {
      kpi.totalRevenue += amount;
      if (r.influenced) kpi.influencedRevenue += amount;
      if (r.sourced) kpi.sourcedRevenue += amount;
      kpi.attributedRevenue += attributed;
    }
    const m = dealDate(r).slice(0, 7);
    let mr = months.get(m);
    if (!mr) months.set(m, (mr = { month: m, influenced_pipeline: 0, sourced_pipeline: 0, attributed_pipeline: 0, influenced_revenue: 0, sourced_revenue: 0, attributed_revenue: 0, influenced_deals: 0 }));
    if (r.influenced) mr.influenced_deals++;
    if (open) {
      if (r.influenced) mr.influenced_pipeline += amount;
      if (r.sourced) mr.sourced_pipeline += amount;
      mr.attributed_pipeline += attributed;
    } else if (won) {
      if (r.influenced) mr.influenced_revenue += amount;
      if (r.sourced) mr.sourced_revenue += amount;
      mr.attributed_revenue += attributed;
    }
    if (r.channels && r.influenced && (open || won)) {
      let shares: Record<string, number> = {};
      try {
        shares = JSON.parse(r.channels) as Record<string, number>;
      } catch {
        shares = {};
      }
      for (const [ch, share] of Object.entries(shares)) {
        let cr = channels.get(ch);
        if (!cr) channels.set(ch, (cr = { channel: ch, pipeline: 0, revenue: 0, deals: 0 }));
        cr.deals++;
        if (open) cr.pipeline += amount * share;
        else cr.revenue += amount * share;
      }
    }
    if (r.company_id && r.influenced) {
      let co = companies.get(r.company_id);
      if (!co) companies.set(r.company_id, (co = { company_id: r.company_id, name: r.company_name, deals: 0, pipeline: 0, revenue: 0, attributed: 0 }));
      co.deals++;
      // Attributed money is open pipeline plus won revenue, as in the KPIs: a lost deal's amount is neither.
      if (open) co.pipeline += amount;
      else if (won) co.revenue += amount;
      if (open || won) co.attributed += attributed;
    }
  }
  return {
    kpi,
    months: [...months.values()].sort((a, b) => a.month.localeCompare(b.month)),
    channels: [...channels.values()].sort((a, b) => b.revenue + b.pipeline - (a.revenue + a.pipeline)),
    companies: [...companies.values()].sort((a, b) => b.attributed - a.attributed || b.deals - a.deals).slice(0, 20),
    comparisons: compare(rows, segments),
  };
}

/**
 * Influenced vs non-influenced closed deals: win rate (Wilson / Newcombe), deal size of won deals (median, bootstrap),
 * sales-cycle length of won deals (median days, bootstrap); each with a matched comparison on segment, deal-size band
 * and quarter of creation (deal size is matched on segment and quarter only: matching on its own band would hide it).
 */
export function compare(rows: ReportDealRow[], segments: SegmentsConfig): Comparison[] {
  const closed = rows.filter((r) => r.is_closed);
  const seg = (r: ReportDealRow) => segmentOf(segments, r.industry === null && r.employees === null && r.country === null ? null : r);
  const stratum = (r: ReportDealRow, band = true) => `${seg(r)}|${band ? sizeBand(r.amount) : '*'}|${quarterOf(r.deal_created_at)}`;
  const inf = closed.filter((r) => r.influenced);
  const non = closed.filter((r) => !r.influenced);

  const winUnits: Unit[] = closed.map((r) => ({ stratum: stratum(r), treated: !!r.influenced, value: r.is_won ? 1 : 0 }));
  const wonI = inf.filter((r) => r.is_won);
  const wonN = non.filter((r) => r.is_won);
  const win: Comparison = {
    metric: 'Win rate (closed deals)', unit: 'rate',
    influenced: wilson(wonI.length, inf.length), other: wilson(wonN.length, non.length),
    difference: proportionDifference(wonI.length, inf.length, wonN.length, non.length),
    matched: matchedComparison(winUnits, { proportion: true }),
    note: 'Wilson intervals; difference by Newcombe’s method.',
  };

  const sized = (xs: ReportDealRow[]) => xs.filter((r) => r.amount !== null).map((r) => r.amount!);
  const sizeI = sized(wonI);
  const sizeN = sized(wonN);
  const size: Comparison = {
    metric: 'Deal size (won, median)', unit: 'money',
    influenced: bootstrapCI(sizeI), other: bootstrapCI(sizeN), difference: bootstrapDifference(sizeI, sizeN),
    matched: matchedComparison(wonI.concat(wonN).filter((r) => r.amount !== null).map((r) => ({ stratum: stratum(r, false), treated: !!r.influenced, value: r.amount! }))),
    note: 'Bootstrap intervals of the median (1,000 resamples); matched on segment and quarter (mean difference).',
  };

  const cycle = (xs: ReportDealRow[]) => xs.filter((r) => r.close_date).map((r) => Math.max(0, days(r.deal_created_at, r.close_date!)));
  const cycI = cycle(wonI);
  const cycN = cycle(wonN);
  const cyc: Comparison = {
    metric: 'Sales cycle (won, median days)', unit: 'days',
    influenced: bootstrapCI(cycI), other: bootstrapCI(cycN), difference: bootstrapDifference(cycI, cycN),
    matched: matchedComparison(wonI.concat(wonN).filter((r) => r.close_date).map((r) => ({ stratum: stratum(r), treated: !!r.influenced, value: Math.max(0, days(r.deal_created_at, r.close_date!)) }))),
    note: 'Bootstrap intervals of the median; matched on segment, size band and quarter (mean difference).',
  };
  return [win, size, cyc];
}


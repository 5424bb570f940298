import type { DealInfluence } from '../attribution/types';

/**
 * What activating proposed rules would change: totals before → after and the deals that change. Pure; the HTTP layer
 * (POST /v1/rules/preview) computes `before` with the active rules and `after` with the proposed ones.
 * Money is totalled per currency (deals in different currencies are never added together).
 */

export type Money = Record<string, number>;

/** What the diff reads of a deal's influence. A DealInfluence is one; previews keep only this much per deal. */
export type PreviewRow = Pick<
  DealInfluence,
  'dealId' | 'crm' | 'influenced' | 'sourced' | 'assisted' | 'score' | 'touchCount' | 'topChannel' | 'amount' | 'currency' | 'isClosed' | 'isWon' | 'primaryModel' | 'attributedAmount'
>;

export function previewRow(d: DealInfluence): PreviewRow {
  return {
    dealId: d.dealId, crm: d.crm, influenced: d.influenced, sourced: d.sourced, assisted: d.assisted, score: d.score, touchCount: d.touchCount,
    topChannel: d.topChannel, amount: d.amount, currency: d.currency, isClosed: d.isClosed, isWon: d.isWon, primaryModel: d.primaryModel,
    attributedAmount: { [d.primaryModel]: d.attributedAmount[d.primaryModel] ?? null },
  };
}

export interface Totals {
  deals: number;
  influenced: { deals: number; pipeline: Money; revenue: Money };
  sourced: { deals: number; pipeline: Money; revenue: Money };
  /** Sum of the primary model's attributed amount. */
  attributed: Money;
}

export interface FieldChange {
  field: 'influenced' | 'sourced' | 'assisted' | 'score' | 'touchCount' | 'topChannel' | 'attributedAmount';
  before: string | number | boolean | null;
  after: string | number | boolean | null;
}

export interface DealChange {
  dealId: string;
  crm: string;
  /** `added`/`removed`: the deal is only on one side. */
  kind: 'changed' | 'added' | 'removed';
  /** The deal's amount and currency, so a reader can weigh the change. */
  amount: number | null;
  currency: string | null;
  changes: FieldChange[];
}

export interface PreviewDiff {
  before: Totals;
  after: Totals;
  changed: DealChange[];
  unchanged: number;
}

const cur = (d: PreviewRow) => d.currency ?? 'unknown';

function add(m: Money, k: string, v: number) {
  m[k] = (m[k] ?? 0) + v;
}

export function totals(deals: readonly PreviewRow[]): Totals {
  const t: Totals = {
    deals: deals.length,
    influenced: { deals: 0, pipeline: {}, revenue: {} },
    sourced: { deals: 0, pipeline: {}, revenue: {} },
    attributed: {},
  };
  for (const d of deals) {
    const amount = d.amount ?? 0;
    for (const [flag, bucket] of [[d.influenced, t.influenced], [d.sourced, t.sourced]] as const) {
      if (!flag) continue;
      bucket.deals++;
      // Pipeline = open deals; revenue = won deals. Lost deals count in `deals` only.
      if (!d.isClosed) add(bucket.pipeline, cur(d), amount);
      else if (d.isWon) add(bucket.revenue, cur(d), amount);
    }
    const a = d.attributedAmount[d.primaryModel];
    if (a !== null && a !== undefined && a !== 0) add(t.attributed, cur(d), a);
  }
  return t;
}

const round = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(v * 100) / 100);

function fields(d: PreviewRow): Record<FieldChange['field'], FieldChange['before']> {
  return {
    influenced: d.influenced,
    sourced: d.sourced,
    assisted: d.assisted,
    score: d.score,
    touchCount: d.touchCount,
    topChannel: d.topChannel,
    attributedAmount: round(d.attributedAmount[d.primaryModel]),
  };
}

const FIELDS: readonly FieldChange['field'][] = ['influenced', 'sourced', 'assisted', 'score', 'touchCount', 'topChannel', 'attributedAmount'];

const key = (d: PreviewRow) => `${d.crm}:${d.dealId}`;

export function previewDiff(before: readonly PreviewRow[], after: readonly PreviewRow[]): PreviewDiff {
  const prev = new Map(before.map((d) => [key(d), d]));
  const next = new Map(after.map((d) => [key(d), d]));
  const changed: DealChange[] = [];
  let unchanged = 0;
  for (const k of [...new Set([...prev.keys(), ...next.keys()])].sort()) {
    const b = prev.get(k);
    const a = next.get(k);
    const fb = b ? fields(b) : null;
    const fa = a ? fields(a) : null;
    const changes: FieldChange[] = [];
    for (const f of FIELDS) {
      const vb = fb ? fb[f] : null;
      const va = fa ? fa[f] : null;
      if (vb !== va) changes.push({ field: f, before: vb, after: va });
    }
    const d = a ?? b;
    if (!d) continue;
    const deal = { dealId: d.dealId, crm: d.crm, amount: d.amount, currency: d.currency };
    if (!b || !a) changed.push({ ...deal, kind: b ? 'removed' : 'added', changes });
    else if (changes.length) changed.push({ ...deal, kind: 'changed', changes });
    else unchanged++;
  }
  return { before: totals(before), after: totals(after), changed, unchanged };
}

/**
 * A difference built chunk by chunk (the full preview): totals add up exactly; of the deals that change, the `keep`
 * per currency that move the most money are kept (`changedTotal` counts them all), so the state stays small at any
 * org size. Per currency, since amounts in different currencies cannot be ranked against each other.
 */
export interface RunningDiff extends PreviewDiff {
  changedTotal: number;
}

export function emptyDiff(): RunningDiff {
  const none = (): Totals => totals([]);
  return { before: none(), after: none(), changed: [], unchanged: 0, changedTotal: 0 };
}

function addMoney(into: Money, m: Money) {
  for (const [k, v] of Object.entries(m)) add(into, k, v);
}

function addTotals(into: Totals, t: Totals) {
  into.deals += t.deals;
  for (const k of ['influenced', 'sourced'] as const) {
    into[k].deals += t[k].deals;
    addMoney(into[k].pipeline, t[k].pipeline);
    addMoney(into[k].revenue, t[k].revenue);
  }
  addMoney(into.attributed, t.attributed);
}

/** How much money a change moves: |Δ primary attributed amount|, in the deal's own currency. */
export function movedAmount(c: DealChange): number {
  const f = c.changes.find((x) => x.field === 'attributedAmount');
  return f ? Math.abs(Number(f.after ?? 0) - Number(f.before ?? 0)) : 0;
}

/** By currency, then most money moved first, then by deal (stable across chunkings). */
function byMoved(a: DealChange, b: DealChange): number {
  const ca = a.currency ?? '';
  const cb = b.currency ?? '';
  if (ca !== cb) return ca < cb ? -1 : 1;
  const ka = `${a.crm}:${a.dealId}`;
  const kb = `${b.crm}:${b.dealId}`;
  return movedAmount(b) - movedAmount(a) || (ka < kb ? -1 : ka > kb ? 1 : 0);
}

export function addDiff(into: RunningDiff, part: PreviewDiff, keep: number): RunningDiff {
  addTotals(into.before, part.before);
  addTotals(into.after, part.after);
  into.unchanged += part.unchanged;
  into.changedTotal += part.changed.length;
  const kept: DealChange[] = [];
  let n = 0;
  for (const c of [...into.changed, ...part.changed].sort(byMoved)) {
    n = kept.length && kept.at(-1)!.currency === c.currency ? n + 1 : 1;
    if (n <= keep) kept.push(c);
  }
  into.changed = kept;
  return into;
}

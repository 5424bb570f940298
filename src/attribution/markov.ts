/**
 * Markov-chain attribution of order k, solved exactly as an absorbing chain.
 *
 * States are the last k channels of a journey (padded with a start symbol), plus two absorbing states, conversion and
 * null. Transition probabilities are the observed transition counts, each journey weighted by conversions + nulls; its
 * last state moves to conversion with weight `conversions` and to null with weight `nulls`.
 * P(conv) is the absorption probability from the start state: the solution of (I − Q)x = b on the transient states.
 * Removing channel c sends every transition into a state ending in c to null; removal effect RE(c) = 1 − P_c/P.
 * Credits share the total conversions (and value) in proportion to RE. Same removal effects are used for value.
 */

export interface Journey {
  path: readonly string[];
  conversions: number;
  nulls: number;
  value?: number;
}

export interface MarkovFit {
  order: number;
  channels: string[];
  /** Transient states (including start). */
  states: number;
  pConversion: number;
  removalEffects: Record<string, number>;
  /** Share of total conversions per channel (sums to totalConversions). */
  credits: Record<string, number>;
  valueCredits: Record<string, number>;
  totalConversions: number;
  totalValue: number;
  /** How the linear systems were solved, and the worst residual ‖(I−Q)x − b‖∞ seen. */
  solver: 'dense-lu' | 'gauss-seidel';
  residual: number;
}

/** Sparse transient chain in CSR form: row s has targets col[rowStart[s]..rowStart[s+1]) with probabilities p. */
export interface Chain {
  n: number;
  rowStart: Int32Array;
  col: Int32Array;
  p: Float64Array;
  /** Probability of moving from s straight to conversion. */
  toConv: Float64Array;
  /** Last channel index of each state (-1 for the start state). */
  lastChannel: Int32Array;
}

export function buildChain(journeys: readonly Journey[], order: number, channels: readonly string[]): Chain {
  if (!Number.isInteger(order) || order < 1) throw new Error(`order must be an integer ≥ 1, got ${order}`);
  const C = channels.length;
  const chIdx = new Map(channels.map((c, i) => [c, i]));
  const base = C + 1; // symbol C = start padding
  checkKeySpace(base, order);
  const high = base ** (order - 1);
  let startKey = 0;
  for (let i = 0; i < order; i++) startKey = startKey * base + C;
  // State of a key (the last `order` symbols in base C+1): a flat table while the key space is small, else a map.
  const keys = base ** order;
  const stateTable = keys <= 1 << 20 ? new Int32Array(keys).fill(-1) : null;
  const stateMap = stateTable ? null : new Map<number, number>();
  // Moves (state s, channel c) → target, in growable typed arrays; a move is found through a flat s·C + c table
  // while every possible state times C stays small (≤ 2^20 entries), else through a map.
  const moveTable = keys * C <= 1 << 20 ? new Int32Array(keys * C).fill(-1) : null;
  const moveMap = moveTable ? null : new Map<number, number>();
  let moves = 0;
  let mFrom = new Int32Array(64);
  let mTo = new Int32Array(64);
  let mW = new Float64Array(64);
  let n = 0;
  let conv = new Float64Array(16);
  let total = new Float64Array(16);
  let last = new Int32Array(16);
  const i32 = (a: Int32Array, size: number) => {
    const b = new Int32Array(size);
    b.set(a);
    return b;
  };
  const f64 = (a: Float64Array, size: number) => {
    const b = new Float64Array(size);
    b.set(a);
    return b;
  };
  const state = (key: number, lastCh: number): number => {
    const known = stateTable ? (stateTable[key] ?? -1) : (stateMap?.get(key) ?? -1);
    if (known >= 0) return known;
    const s = n++;
    if (stateTable) stateTable[key] = s;
    else stateMap?.set(key, s);
    if (n > conv.length) {
      conv = f64(conv, conv.length * 2);
      total = f64(total, total.length * 2);
      last = i32(last, last.length * 2);
    }
    last[s] = lastCh;
    return s;
  };
  state(startKey, -1);
  for (let jn = 0; jn < journeys.length; jn++) {
    const j = journeys[jn];
    if (!j) continue;
    const wt = j.conversions + j.nulls;
    if (!(wt > 0)) continue;
    let key = startKey;
    let s = 0;
    const path = j.path;
    for (let k = 0; k < path.length; k++) {
      const ch = path[k] ?? '';
      const c = chIdx.get(ch);
      if (c === undefined) throw new Error(`channel "${ch}" is not in the channel list`);
      key = (key % high) * base + c; // drop the oldest symbol, append c
      // The move's target is fixed by s and c: look the move up, creating it (and its target state) when new.
      const mk = s * C + c;
      let m = moveTable ? (moveTable[mk] ?? -1) : (moveMap?.get(mk) ?? -1);
      if (m < 0) {
        m = moves++;
        if (moveTable) moveTable[mk] = m;
        else moveMap?.set(mk, m);
        if (moves > mFrom.length) {
          mFrom = i32(mFrom, mFrom.length * 2);
          mTo = i32(mTo, mTo.length * 2);
          mW = f64(mW, mW.length * 2);
        }
        mFrom[m] = s;
        mTo[m] = state(key, c);
      }
      mW[m] = (mW[m] ?? 0) + wt;
      total[s] = (total[s] ?? 0) + wt;
      s = mTo[m] ?? 0;
    }
    conv[s] = (conv[s] ?? 0) + j.conversions;
    total[s] = (total[s] ?? 0) + wt;
  }
  // CSR: moves bucketed by source state, each row's targets in increasing state order.
  const rowStart = new Int32Array(n + 1);
  for (let m = 0; m < moves; m++) rowStart[(mFrom[m] ?? 0) + 1] = (rowStart[(mFrom[m] ?? 0) + 1] ?? 0) + 1;
  for (let s = 0; s < n; s++) rowStart[s + 1] = (rowStart[s + 1] ?? 0) + (rowStart[s] ?? 0);
  const fill = rowStart.slice(0, n);
  const byRow = new Int32Array(moves);
  for (let m = 0; m < moves; m++) {
    const s = mFrom[m] ?? 0;
    byRow[fill[s] ?? 0] = m;
    fill[s] = (fill[s] ?? 0) + 1;
  }
  const col = new Int32Array(moves);
  const p = new Float64Array(moves);
  const toConv = new Float64Array(n);
  for (let s = 0; s < n; s++) {
    const tot = total[s] ?? 0;
    const from = rowStart[s] ?? 0;
    const row = byRow.subarray(from, rowStart[s + 1] ?? 0).sort((x, y) => (mTo[x] ?? 0) - (mTo[y] ?? 0));
    for (let k = 0; k < row.length; k++) {
      const m = row[k] ?? 0;
      col[from + k] = mTo[m] ?? 0;
      p[from + k] = tot > 0 ? (mW[m] ?? 0) / tot : 0;
    }
    toConv[s] = tot > 0 ? (conv[s] ?? 0) / tot : 0;
  }
  return { n, rowStart, col, p, toConv, lastChannel: last.slice(0, n) };
}

/**
 * State keys are numbers below base^order, held in doubles: beyond 2^53 distinct histories would share a key and the
 * removal effects would be silently wrong, so such an order is refused. Exact (BigInt, at most 54 steps), once a fit.
 */
function checkKeySpace(base: number, order: number): void {
  if (base < 2) return;
  const limit = 2n ** 53n;
  let keys = 1n;
  for (let i = 0; i < order && keys <= limit; i++) keys *= BigInt(base);
  if (keys > limit) {
    throw new RangeError(`markov order ${order} is too high for ${base - 1} channels: (channels + 1)^order state keys pass 2^53; use a lower order`);
  }
}

/**
 * Absorption probability into conversion from every state, with channel `removed` (index, or -1 for none) cut out.
 * Dense LU with partial pivoting up to `denseLimit` states (exact up to rounding); beyond, Gauss–Seidel iterated until
 * the residual is at machine precision (I−Q is a non-singular M-matrix, so it converges).
 */
export function absorb(chain: Chain, removed: number, denseLimit = 600): { x: Float64Array; residual: number; solver: MarkovFit['solver'] } {
  const { n, rowStart, col, p, toConv, lastChannel } = chain;
  const keep = (t: number) => removed < 0 || lastChannel[t] !== removed;
  let x: Float64Array;
  let solver: MarkovFit['solver'];
  if (n <= denseLimit) {
    solver = 'dense-lu';
    const a = new Float64Array(n * n);
    const b = Float64Array.from(toConv);
    for (let s = 0; s < n; s++) {
      a[s * n + s] = 1;
      for (let k = rowStart[s] ?? 0; k < (rowStart[s + 1] ?? 0); k++) {
        const t = col[k] ?? 0;
        if (keep(t)) a[s * n + t] = (a[s * n + t] ?? 0) - (p[k] ?? 0);
      }
    }
    x = solveDense(a, b, n);
  } else {
    solver = 'gauss-seidel';
    x = new Float64Array(n);
    for (let iter = 0; iter < 100_000; iter++) {
      let delta = 0;
      let scale = 0;
      for (let s = 0; s < n; s++) {
        let v = toConv[s] ?? 0;
        let self = 0;
        for (let k = rowStart[s] ?? 0; k < (rowStart[s + 1] ?? 0); k++) {
          const t = col[k] ?? 0;
          if (!keep(t)) continue;
          if (t === s) self += p[k] ?? 0;
          else v += (p[k] ?? 0) * (x[t] ?? 0);
        }
        v /= 1 - self;
        delta = Math.max(delta, Math.abs(v - (x[s] ?? 0)));
        scale = Math.max(scale, Math.abs(v));
        x[s] = v;
      }
      // Converged when a sweep changes nothing beyond the last bit (a fixed point can wobble by an ulp, never more).
      if (delta <= 2.3e-16 * scale || delta === 0) break;
    }
  }
  // Residual of the system actually solved, reported so "exact" is checkable.
  let residual = 0;
  for (let s = 0; s < n; s++) {
    let r = (x[s] ?? 0) - (toConv[s] ?? 0);
    for (let k = rowStart[s] ?? 0; k < (rowStart[s + 1] ?? 0); k++) {
      const t = col[k] ?? 0;
      if (keep(t)) r -= (p[k] ?? 0) * (x[t] ?? 0);
    }
    residual = Math.max(residual, Math.abs(r));
  }
  return { x, residual, solver };
}

/** Gaussian elimination with partial pivoting on a row-major n×n matrix (overwritten). */
export function solveDense(a: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let k = 0; k < n; k++) {
    let piv = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(a[i * n + k] ?? 0) > Math.abs(a[piv * n + k] ?? 0)) piv = i;
    if (piv !== k) {
      for (let j = 0; j < n; j++) {
        const t = a[k * n + j] ?? 0;
        a[k * n + j] = a[piv * n + j] ?? 0;
        a[piv * n + j] = t;
      }
      const t = b[k] ?? 0;
      b[k] = b[piv] ?? 0;
      b[piv] = t;
    }
    const d = a[k * n + k] ?? 0;
    if (d === 0) throw new Error('singular system');
    for (let i = k + 1; i < n; i++) {
      const f = (a[i * n + k] ?? 0) / d;
      if (f === 0) continue;
      for (let j = k; j < n; j++) a[i * n + j] = (a[i * n + j] ?? 0) - f * (a[k * n + j] ?? 0);
      b[i] = (b[i] ?? 0) - f * (b[k] ?? 0);
    }
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let v = b[i] ?? 0;
    for (let j = i + 1; j < n; j++) v -= (a[i * n + j] ?? 0) * (x[j] ?? 0);
    x[i] = v / (a[i * n + i] ?? 1);
  }
  return x;
}

export function channelsOf(journeys: readonly Journey[]): string[] {
  const set = new Set<string>();
  for (let i = 0; i < journeys.length; i++) {
    const path = journeys[i]?.path ?? [];
    for (let k = 0; k < path.length; k++) set.add(path[k] ?? '');
  }
  return [...set].sort();
}

export function fitMarkov(journeys: readonly Journey[], order = 1, opts: { denseLimit?: number } = {}): MarkovFit {
  const channels = channelsOf(journeys);
  const chain = buildChain(journeys, order, channels);
  const base = absorb(chain, -1, opts.denseLimit);
  let residual = base.residual;
  const pConv = base.x[0] ?? 0;
  const removalEffects: Record<string, number> = {};
  let reSum = 0;
  channels.forEach((c, i) => {
    const r = absorb(chain, i, opts.denseLimit);
    residual = Math.max(residual, r.residual);
    const re = pConv > 0 ? Math.max(0, 1 - (r.x[0] ?? 0) / pConv) : 0;
    removalEffects[c] = re;
    reSum += re;
  });
  let totalConversions = 0;
  let totalValue = 0;
  for (const j of journeys) {
    totalConversions += j.conversions;
    totalValue += j.value ?? 0;
  }
  const credits: Record<string, number> = {};
  const valueCredits: Record<string, number> = {};
  for (const c of channels) {
    const share = reSum > 0 ? (removalEffects[c] ?? 0) / reSum : 0;
    credits[c] = share * totalConversions;
    valueCredits[c] = share * totalValue;
  }
  return { order, channels, states: chain.n, pConversion: pConv, removalEffects, credits, valueCredits, totalConversions, totalValue, solver: base.solver, residual };
}

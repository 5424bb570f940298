import type { ModelName, Rules } from '../rules/schema';
import { catalogueFor, compareTouches, leadCreatedAt, modelsOf, scopedContacts, touchScope } from './deal';
import { closeTime, parseTime } from './definitions';
import { isPositionModel, positionSharesInto, positionWeightsFor, weightVector, type PositionModel } from './models';
import type { Deal, EngineContext, Touch } from './types';

/**
 * Columnar batch path: many deals at once, no per-touch objects, per-channel credits only (no evidence). Used for full
 * recomputes and the benchmark; `computeDealInfluence` gives the same figures plus evidence for one deal.
 *
 * Touches are stored deal by deal (deal d owns rows touchStart[d] .. touchStart[d+1]-1), sorted by time then touch id
 * within a deal; a touch linked to two deals appears twice. Scope has been resolved into flags by whoever built the
 * columns (see `toColumnar`), because it depends on CRM links the engine does not hold.
 */
export const FLAG_STAFF = 1;
export const FLAG_BOT = 2;
/** By a deal contact in scope (all deal contacts, or the primary one). */
export const FLAG_CONTACT = 4;
/** By a member of the deal's company at the time of the touch (counts only with scope: account). */
export const FLAG_ACCOUNT = 8;

export interface ColumnarInput {
  deals: number;
  createdAt: Float64Array;
  /** NaN while open. */
  closedAt: Float64Array;
  isWon: Uint8Array;
  /** Lead creation (first in-scope contact entered the CRM); NaN if unknown. */
  leadAt: Float64Array;
  touchStart: Int32Array;
  at: Float64Array;
  /** Index into `types`. */
  type: Int32Array;
  types: readonly string[];
  /** Dense member index; `members` maps it back to ids (exclusions, evidence). */
  member: Int32Array;
  members: readonly string[];
  flags: Uint8Array;
  /** Earliest CRM-creation time of the in-scope deal contacts behind the touch; NaN if none. */
  contactCreatedAt: Float64Array;
}

export interface BatchResult {
  models: ModelName[];
  channels: string[];
  /** credit[(deal * models.length + model) * channels.length + channel]: share of the deal, per deal sums to 1 or 0. */
  credit: Float64Array;
  touchCount: Int32Array;
  score: Uint8Array;
  influenced: Uint8Array;
  sourced: Uint8Array;
  assisted: Uint8Array;
  firstTouchAt: Float64Array;
  lastTouchAt: Float64Array;
  /** Top channel under the primary model (index into channels), -1 without touches. */
  topChannel: Int16Array;
  membersInvolved: Int32Array;
}

export interface BatchOptions {
  /** Deals [from, to) of the input (default: all). Row r of the result is deal from + r. */
  from?: number;
  to?: number;
  /**
   * A result from a previous call to overwrite (same rules, capacity ≥ to − from): chunked recomputes reuse one set of
   * buffers instead of allocating (and page-faulting) new ones per chunk. Every row in range is fully overwritten.
   */
  into?: BatchResult;
}

/** Allocates result buffers for `deals` rows. */
export function allocBatch(deals: number, models: ModelName[], channels: string[]): BatchResult {
  return {
    models, channels,
    credit: new Float64Array(deals * models.length * channels.length),
    touchCount: new Int32Array(deals), score: new Uint8Array(deals), influenced: new Uint8Array(deals), sourced: new Uint8Array(deals),
    assisted: new Uint8Array(deals), firstTouchAt: new Float64Array(deals), lastTouchAt: new Float64Array(deals),
    topChannel: new Int16Array(deals), membersInvolved: new Int32Array(deals),
  };
}

/**
 * Distinct-member counting marks members with a per-deal stamp. The stamp array is module scratch reused across calls
 * (chunked recomputes would otherwise allocate and zero one entry per member on every chunk).
 */
let stamps = new Int32Array(0);
let stampGen = 0;
function stampBuffer(members: number): Int32Array {
  if (stamps.length < members) {
    stamps = new Int32Array(Math.max(members, stamps.length * 2));
    stampGen = 0;
  }
  return stamps;
}
function nextStamp(): number {
  if (stampGen === 0x7fffffff) {
    stamps.fill(0);
    stampGen = 0;
  }
  return ++stampGen;
}

/**
 * Position models as a table. A position model's shares depend only on which milestones exist and which coincide (the
 * milestone "pattern"), and on n only through the `other` share. For each pattern met, every position model's marks
 * and shares are worked out once by `positionSharesInto` itself, on a stand-in journey whose touch indices are the
 * milestone slots; per deal that leaves one division per model and the marks, with the same floating-point operations
 * as calling `positionSharesInto` on the deal (results are bit-identical, see the property test).
 *
 * Pattern key: for lead, deal, won and last, the first milestone slot on the same touch (or missing):
 * lead ∈ {missing, =first, own}, deal ∈ {missing, =first, =lead, own}, won ∈ {missing, =first, =lead, =deal, own},
 * last ∈ {=first, =lead, =deal, =won, own}: 3·4·5·5 = 300 keys.
 */
const PATTERNS = 300;

interface PositionTable {
  P: number;
  /** Weight vectors of the position models (6 each: MILESTONES order, then other). */
  w: Float64Array;
  /** Index in the model list of each position model. */
  modelOf: Int32Array;
  /** Pattern key → table row, −1 until the pattern is first met. */
  row: Int16Array;
  rows: number;
  /** Per (row, position model): touches holding a positively weighted milestone (the marks). */
  cnt: Int32Array;
  /** Per (row, position model): otherTotal / total when some touch holds no mark; `other` is this / (n − cnt). */
  q: Float64Array;
  /** Per row: the largest cnt; deals with more touches than that use the row's combined mark list. */
  cntMax: Int32Array;
  /**
   * Marks as (model index << 3 | milestone slot, share) in `markPacked`/`markShare`, in segments: per (row, model,
   * case) at markSeg[2·((row·P + p)·2 + case)] .. +1 (case 0: some touch unmarked, 1: every touch marked), and per row
   * all models' case-0 marks at rowSeg[2·row] .. +1.
   */
  markSeg: Int32Array;
  rowSeg: Int32Array;
  markPacked: Int32Array;
  markShare: Float64Array;
  marks: number;
}
const positionTables = new WeakMap<Rules, Map<string, PositionTable>>();

function positionTable(rules: Rules, models: ModelName[]): PositionTable {
  let byModels = positionTables.get(rules);
  if (!byModels) positionTables.set(rules, (byModels = new Map()));
  const key = models.join();
  let t = byModels.get(key);
  if (!t) {
    const modelOf: number[] = [];
    models.forEach((m, i) => isPositionModel(m) && modelOf.push(i));
    const P = modelOf.length;
    const w = new Float64Array(P * 6);
    modelOf.forEach((m, p) => w.set(weightVector(positionWeightsFor(models[m] as PositionModel, rules)), p * 6));
    t = {
      P, w, modelOf: Int32Array.from(modelOf), row: new Int16Array(PATTERNS).fill(-1), rows: 0, cnt: new Int32Array(0),
      q: new Float64Array(0), cntMax: new Int32Array(0), markSeg: new Int32Array(0), rowSeg: new Int32Array(0),
      markPacked: new Int32Array(64), markShare: new Float64Array(64), marks: 0,
    };
    byModels.set(key, t);
  }
  return t;
}

function grow<T extends Int32Array | Float64Array>(a: T, size: number): T {
  if (a.length >= size) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(size, a.length * 2));
  b.set(a);
  return b;
}

/** Works out a pattern's row (see PositionTable); returns the row. */
function fillPattern(t: PositionTable, key: number): number {
  const P = t.P;
  const row = t.rows++;
  t.cnt = grow(t.cnt, (row + 1) * P);
  t.q = grow(t.q, (row + 1) * P);
  t.cntMax = grow(t.cntMax, row + 1);
  t.markSeg = grow(t.markSeg, (row + 1) * P * 4);
  t.rowSeg = grow(t.rowSeg, (row + 1) * 2);
  // The slot each milestone's touch is first named by (−1 missing) doubles as the stand-in touch index.
  const mi = Int32Array.of(0, (key % 3) - 1, (Math.floor(key / 3) % 4) - 1, (Math.floor(key / 12) % 5) - 1, Math.floor(key / 60));
  const idx = new Int32Array(5);
  const share = new Float64Array(6);
  const push = (packed: number, s: number) => {
    t.markPacked = grow(t.markPacked, t.marks + 1);
    t.markShare = grow(t.markShare, t.marks + 1);
    t.markPacked[t.marks] = packed;
    t.markShare[t.marks] = s;
    t.marks++;
  };
  let cntMax = 0;
  for (let p = 0; p < P; p++) {
    const e = row * P + p;
    const m = t.modelOf[p] ?? 0;
    const cnt = positionSharesInto(6, mi, t.w, p * 6, idx, share);
    t.cnt[e] = cnt;
    cntMax = Math.max(cntMax, cnt);
    // Case 0, some touch unmarked: with middle = 1, share[5] = otherTotal / total / 1 = otherTotal / total exactly.
    // Case 1, every touch marked (n = cnt; never met when cnt = 0 since n ≥ 1).
    for (const [c, n] of [[0, cnt + 1], [1, cnt]] as const) {
      const k = n > 0 ? positionSharesInto(n, mi, t.w, p * 6, idx, share) : 0;
      if (c === 0) t.q[e] = share[5] ?? 0;
      t.markSeg[(e * 2 + c) * 2] = t.marks;
      for (let j = 0; j < k; j++) push((m << 3) | (idx[j] ?? 0), share[j] ?? 0);
      t.markSeg[(e * 2 + c) * 2 + 1] = t.marks;
    }
  }
  t.cntMax[row] = cntMax;
  // All models' case-0 marks in one run, for deals with more than cntMax touches.
  t.rowSeg[row * 2] = t.marks;
  for (let p = 0; p < P; p++) {
    const s = (row * P + p) * 4;
    for (let j = t.markSeg[s] ?? 0, end = t.markSeg[s + 1] ?? 0; j < end; j++) push(t.markPacked[j] ?? 0, t.markShare[j] ?? 0);
  }
  t.rowSeg[row * 2 + 1] = t.marks;
  t.row[key] = row;
  return row;
}

/**
 * 2^u for the time-decay weights, within a few ulps (relative error < 1e-15) and without a Math.exp call per touch:
 * u = j/256 + f with j the integer nearest 256u; 2^(j/256) = 2^⌊j/256⌋ · 2^((j mod 256)/256) from a table, and 2^f
 * (|f| ≤ 1/512) from a degree-4 Taylor polynomial of e^(f·ln2), whose truncation error is < 1e-16. Valid for
 * −1074 < u < 1000 (callers check). The batch loop inlines the same steps.
 */
const POW2_INT0 = 256 + 1100; // POW2[POW2_INT0 + e] = 2^e for −1100 ≤ e < 1100; POW2[m] = 2^(m/256) for m < 256
const POW2 = Float64Array.from({ length: 256 + 2200 }, (_, i) => (i < 256 ? 2 ** (i / 256) : 2 ** (i - POW2_INT0)));
/** 1.5·2^52: (x + ROUND) − ROUND is x rounded to an integer (|x| < 2^51), with two additions. */
const ROUND = 6755399441055744;
export function pow2(u: number): number {
  const jf = u * 256 + ROUND - ROUND;
  const j = jf | 0;
  const x = (u - jf * 0.00390625) * Math.LN2;
  const p = 1 + x * (1 + x * (0.5 + x * (1 / 6 + x * (1 / 24))));
  return (POW2[(j >> 8) + POW2_INT0] ?? 0) * (POW2[j & 255] ?? 0) * p;
}

export function computeBatch(input: ColumnarInput, rules: Rules, ctx: Pick<EngineContext, 'asOf' | 'fitted'> = {}, opts: BatchOptions = {}): BatchResult {
  const cat = catalogueFor(rules);
  const channels = cat.channels;
  const C = channels.length;
  const models = modelsOf(rules);
  const M = models.length;
  const from0 = opts.from ?? 0;
  const to0 = opts.to ?? input.deals;
  const asOf = parseTime(ctx.asOf);

  // Per type, resolved once: whether it counts with each flags byte (catalogue, staff/bot, scope), packed channel and
  // stage (channel | (stage rank + 1) << 16), weight. Few arrays on purpose: V8 keeps a register pair per typed array
  // used in a loop, and loops over many arrays spill.
  const T = input.types.length;
  if (C > 0xffff) throw new Error('computeBatch: too many channels');
  let dropMask = 0;
  if (rules.exclusions.staff) dropMask |= FLAG_STAFF;
  if (rules.exclusions.bots) dropMask |= FLAG_BOT;
  const scopeMask = rules.scope === 'account' ? FLAG_CONTACT | FLAG_ACCOUNT : FLAG_CONTACT;
  const typeFlagsOk = new Uint8Array(T * 256);
  const tPack = new Int32Array(T);
  const tWeight = new Float64Array(T);
  input.types.forEach((t, i) => {
    const tp = cat.resolve(t);
    if (!tp) return;
    for (let f = 0; f < 256; f++) typeFlagsOk[i * 256 + f] = (f & dropMask) === 0 && (f & scopeMask) !== 0 ? 1 : 0;
    tPack[i] = channels.indexOf(tp.channel) | ((tp.stageRank + 1) << 16);
    tWeight[i] = tp.weight;
  });
  const excludeMembers = rules.exclusions.members.length > 0;
  const memberOk = new Uint8Array(excludeMembers ? input.members.length : 0);
  if (excludeMembers) {
    const ex = new Set(rules.exclusions.members);
    input.members.forEach((m, i) => (memberOk[i] = ex.has(m) ? 0 : 1));
  }

  // Model kinds as small ints so the per-deal loop does no string work: 0 position, 1 linear, 2 time decay,
  // 3 activity weighted, 4 fitted. Position models go through the pattern table; the others are listed in `weighted`.
  const kind = Int8Array.from(models, (m) => (isPositionModel(m) ? 0 : m === 'linear' ? 1 : m === 'time_decay' ? 2 : m === 'activity_weighted' ? 3 : 4));
  const weighted = Int32Array.from(models.flatMap((m, i) => (isPositionModel(m) ? [] : [i])));
  const table = positionTable(rules, models);
  const P = table.P;
  const pModelOf = table.modelOf;
  // Fitted channel weights for markov / shapley, by channel index.
  const fittedByModel = models.map((m) => {
    if (m !== 'markov' && m !== 'shapley') return null;
    const f = ctx.fitted?.[m];
    if (!f) throw new Error(`model "${m}" needs a fitted model (fitMarkov / fitShapley) in ctx.fitted.${m}`);
    return Float64Array.from(channels, (c) => Math.max(0, f[c] ?? 0));
  });
  const wantDecay = models.includes('time_decay');
  const halfLife = rules.models.time_decay_half_life_days * 86_400_000;
  const invHalfLife = 1 / halfLife;
  const decayK = -Math.LN2 / halfLife;
  const within = rules.definitions.sourced.within_days * 86_400_000;
  const checkCreated = rules.definitions.sourced.before_contact_created;
  const lookback = rules.window.lookback_days * 86_400_000;
  const untilClose = rules.window.until_close;
  const sc = rules.definitions.score;
  const stagesLen = rules.stages.length;
  const recencyK = -Math.LN2 / (sc.recency_half_life_days * 86_400_000);
  const minTouches = rules.definitions.influenced.min_touches;
  const minScore = rules.definitions.influenced.min_score;
  const minAfter = rules.definitions.assisted.min_touches_after_creation;
  const excludeSourced = rules.definitions.assisted.exclude_sourced;

  let maxTouches = 0;
  for (let d = from0; d < to0; d++) maxTouches = Math.max(maxTouches, (input.touchStart[d + 1] ?? 0) - (input.touchStart[d] ?? 0));
  /** Rows of the deal's counted touches, in journey order. */
  const kept = new Int32Array(maxTouches + 1);
  /** Per channel c: acc[4c] touches, acc[4c+1] weight sum, acc[4c+2] time-decay weight sum (acc[4c+3] unused). */
  const acc = new Float64Array(4 * C);
  const slotCh = new Int32Array(5);
  const fitNum = new Float64Array(C);
  const scale = new Float64Array(M);
  const source = new Int32Array(M);
  const memberStamp = stampBuffer(input.members.length);
  const pow2t = POW2;
  const round = ROUND;
  const ln2 = Math.LN2;

  const rows = to0 - from0;
  const into = opts.into;
  if (into && (into.touchCount.length < rows || into.models.join() !== models.join() || into.channels.join() !== channels.join())) {
    throw new Error('computeBatch: `into` was allocated for other rules or fewer deals');
  }
  const out = into ?? allocBatch(rows, models, [...channels]);
  const { at, type, member, flags, contactCreatedAt, touchStart } = input;
  const credit = out.credit;
  const MC = M * C;

  for (let d = from0; d < to0; d++) {
    const r = d - from0; // output row
    const createdAt = input.createdAt[d] ?? Number.NaN;
    const closedAt = input.closedAt[d] ?? Number.NaN;
    // Same window as dealWindow(), inlined to avoid a tuple per deal.
    const from = createdAt - lookback;
    let to = untilClose ? (closedAt === closedAt ? closedAt : asOf) : createdAt;
    if (to !== to) to = Number.POSITIVE_INFINITY;
    if (asOf < to) to = asOf;

    // Pass 1: which rows count (catalogue, staff/bot, scope, window, member exclusions), without branches: every row
    // is written to `kept`, and n only moves past it when it counts.
    let n = 0;
    const end = touchStart[d + 1] ?? 0;
    if (excludeMembers) {
      for (let i = touchStart[d] ?? 0; i < end; i++) {
        const t = at[i] ?? 0;
        kept[n] = i;
        n += (typeFlagsOk[((type[i] ?? 0) << 8) | (flags[i] ?? 0)] ?? 0) & (memberOk[member[i] ?? 0] ?? 0) & +(t >= from) & +(t <= to);
      }
    } else {
      for (let i = touchStart[d] ?? 0; i < end; i++) {
        const t = at[i] ?? 0;
        kept[n] = i;
        n += (typeFlagsOk[((type[i] ?? 0) << 8) | (flags[i] ?? 0)] ?? 0) & +(t >= from) & +(t <= to);
      }
    }
    out.touchCount[r] = n;
    if (n === 0) {
      // No touches: zero credits, flags false, score 0 (written, not assumed, since buffers may be reused).
      credit.fill(0, r * MC, (r + 1) * MC);
      out.membersInvolved[r] = 0;
      out.score[r] = 0;
      out.influenced[r] = 0;
      out.sourced[r] = 0;
      out.assisted[r] = 0;
      out.firstTouchAt[r] = Number.NaN;
      out.lastTouchAt[r] = Number.NaN;
      out.topChannel[r] = -1;
      continue;
    }

    // Pass 2 over the counted touches. Touches are sorted, so "the last touch at or before X" is the number of touches
    // at or before X, minus one: milestones and the sourced range are counted, not searched.
    const leadAt = input.leadAt[d] ?? Number.NaN;
    const wonAt = input.isWon[d] === 1 ? closedAt : Number.NaN;
    const sourcedFrom = createdAt - within;
    acc.fill(0);
    const stamp = nextStamp();
    let members = 0;
    let maxStage1 = 0;
    let weightTotal = 0;
    let decayTotal = 0;
    let nLead = 0;
    let nDeal = 0;
    let nWon = 0;
    // Won at or after the window's end: every counted touch is at or before it (no compare per touch).
    const wonAll = wonAt >= to;
    const wonCmp = wonAll ? Number.NaN : wonAt;
    for (let k = 0; k < n; k++) {
      const i = kept[k] ?? 0;
      const ty = type[i] ?? 0;
      const t = at[i] ?? 0;
      const pk = tPack[ty] ?? 0;
      const w = tWeight[ty] ?? 0;
      const a = (pk & 0xffff) << 2;
      acc[a] = (acc[a] ?? 0) + 1;
      acc[a + 1] = (acc[a + 1] ?? 0) + w;
      weightTotal += w;
      maxStage1 = Math.max(maxStage1, pk >> 16);
      nLead += +(t <= leadAt);
      nDeal += +(t <= createdAt);
      nWon += +(t <= wonCmp);
      const mem = member[i] ?? 0;
      members += +(memberStamp[mem] !== stamp);
      memberStamp[mem] = stamp;
      if (wantDecay) {
        // 2^((t − created)/H), pow2() inlined: shares do not depend on the reference point (see timeDecayWeights);
        // the range is checked after the loop.
        const u = (t - createdAt) * invHalfLife;
        let v = 0;
        if (u > -1074 && u < 1000) {
          const jf = u * 256 + round - round;
          const j = jf | 0;
          const x = (u - jf * 0.00390625) * ln2;
          v = (pow2t[(j >> 8) + POW2_INT0] ?? 0) * (pow2t[j & 255] ?? 0) * (1 + x * (1 + x * (0.5 + x * (1 / 6 + x * (1 / 24)))));
        }
        acc[a + 2] = (acc[a + 2] ?? 0) + v;
        decayTotal += v;
      }
    }
    if (wonAll) nWon = n;
    const maxStage = maxStage1 - 1;
    const firstRow = kept[0] ?? 0;
    const lastRow = kept[n - 1] ?? 0;
    const firstT = at[firstRow] ?? 0;
    const lastT = at[lastRow] ?? 0;
    out.membersInvolved[r] = members;
    out.firstTouchAt[r] = firstT;
    out.lastTouchAt[r] = lastT;
    if (wantDecay) {
      // The last touch has the largest weight. Past 2^±900 weights could overflow or underflow: those deals are
      // recomputed back from the last touch, as timeDecayWeights does.
      const uLast = (lastT - createdAt) * invHalfLife;
      if (!(uLast > -900 && uLast < 900)) {
        decayTotal = 0;
        for (let c = 0; c < C; c++) acc[4 * c + 2] = 0;
        for (let k = 0; k < n; k++) {
          const i = kept[k] ?? 0;
          const v = Math.exp((lastT - (at[i] ?? 0)) * decayK);
          const a = (((tPack[type[i] ?? 0] ?? 0) & 0xffff) << 2) + 2;
          acc[a] = (acc[a] ?? 0) + v;
          decayTotal += v;
        }
      }
    }
    // Sourced: a touch in [created − within, created] by a deal contact, before that contact entered the CRM.
    let sourcedTouch = false;
    for (let k = nDeal - 1; k >= 0; k--) {
      const i = kept[k] ?? 0;
      const t = at[i] ?? 0;
      if (!(t >= sourcedFrom)) break;
      const cc = contactCreatedAt[i] ?? Number.NaN;
      if (cc === cc && (!checkCreated || t < cc)) {
        sourcedTouch = true;
        break;
      }
    }

    // Milestone pattern → position table row; the channel of each milestone's touch.
    const leadIdx = nLead - 1;
    const dealIdx = nDeal - 1;
    const wonIdx = nWon - 1;
    const last = n - 1;
    const k1 = leadIdx < 0 ? 0 : leadIdx === 0 ? 1 : 2;
    const k2 = dealIdx < 0 ? 0 : dealIdx === 0 ? 1 : dealIdx === leadIdx ? 2 : 3;
    const k3 = wonIdx < 0 ? 0 : wonIdx === 0 ? 1 : wonIdx === leadIdx ? 2 : wonIdx === dealIdx ? 3 : 4;
    const k4 = last === 0 ? 0 : last === leadIdx ? 1 : last === dealIdx ? 2 : last === wonIdx ? 3 : 4;
    const key = k1 + 3 * (k2 + 4 * (k3 + 5 * k4));
    let prow = table.row[key] ?? -1;
    if (prow < 0) prow = fillPattern(table, key);
    slotCh[0] = (tPack[type[firstRow] ?? 0] ?? 0) & 0xffff;
    slotCh[1] = leadIdx >= 0 ? (tPack[type[kept[leadIdx] ?? 0] ?? 0] ?? 0) & 0xffff : 0;
    slotCh[2] = dealIdx >= 0 ? (tPack[type[kept[dealIdx] ?? 0] ?? 0] ?? 0) & 0xffff : 0;
    slotCh[3] = wonIdx >= 0 ? (tPack[type[kept[wonIdx] ?? 0] ?? 0] ?? 0) & 0xffff : 0;
    slotCh[4] = (tPack[type[lastRow] ?? 0] ?? 0) & 0xffff;

    // Every model's row is scale × one per-channel vector of acc: position models and linear scale the touch counts
    // (then marked touches get their share in place of `other`), weight models scale their per-channel weight sums.
    // Position models: other = q / (n − cnt) while some touch holds no mark, else 0.
    const e0 = prow * P;
    for (let p = 0; p < P; p++) {
      const cnt = table.cnt[e0 + p] ?? 0;
      scale[pModelOf[p] ?? 0] = n > cnt ? (table.q[e0 + p] ?? 0) / (n - cnt) : 0;
    }
    for (let w = 0; w < weighted.length; w++) {
      const m = weighted[w] ?? 0;
      const k = kind[m] ?? 0;
      let src = 0; // offset in acc: 0 count, 1 weight sum, 2 decay; −1: row already written
      let den = n;
      if (k === 2) {
        src = 2;
        den = decayTotal;
      } else if (k === 3) {
        src = 1;
        den = weightTotal;
      } else if (k === 4) {
        // Fitted (markov, shapley): a channel's fitted weight if the deal has touches on it. Written here, rare.
        const f = fittedByModel[m];
        den = 0;
        for (let c = 0; c < C; c++) {
          const v = (acc[4 * c] ?? 0) > 0 ? (f?.[c] ?? 0) : 0;
          fitNum[c] = v;
          den += v;
        }
        if (den > 0) {
          const inv = 1 / den;
          for (let c = 0, x = r * MC + m * C; c < C; c++) credit[x + c] = (fitNum[c] ?? 0) * inv;
          source[m] = -1;
          continue;
        }
      }
      if (!(den > 0)) {
        src = 0;
        den = n;
      }
      scale[m] = 1 / den;
      source[m] = src;
    }
    const rowBase = r * MC;
    // Groups of 8 channels with the counts in locals (typed-array loads are not hoisted out of loops that store to
    // another typed array), then any remaining channels one by one.
    let c0 = 0;
    for (; c0 + 8 <= C; c0 += 8) {
      const a0 = 4 * c0;
      const v0 = acc[a0] ?? 0, v1 = acc[a0 + 4] ?? 0, v2 = acc[a0 + 8] ?? 0, v3 = acc[a0 + 12] ?? 0;
      const v4 = acc[a0 + 16] ?? 0, v5 = acc[a0 + 20] ?? 0, v6 = acc[a0 + 24] ?? 0, v7 = acc[a0 + 28] ?? 0;
      for (let m = 0, x = rowBase + c0; m < M; m++, x += C) {
        const s = scale[m] ?? 0;
        const src = source[m] ?? 0;
        if (src < 0) continue;
        if (src === 0) {
          credit[x] = s * v0;
          credit[x + 1] = s * v1;
          credit[x + 2] = s * v2;
          credit[x + 3] = s * v3;
          credit[x + 4] = s * v4;
          credit[x + 5] = s * v5;
          credit[x + 6] = s * v6;
          credit[x + 7] = s * v7;
        } else {
          const a = a0 + src;
          credit[x] = s * (acc[a] ?? 0);
          credit[x + 1] = s * (acc[a + 4] ?? 0);
          credit[x + 2] = s * (acc[a + 8] ?? 0);
          credit[x + 3] = s * (acc[a + 12] ?? 0);
          credit[x + 4] = s * (acc[a + 16] ?? 0);
          credit[x + 5] = s * (acc[a + 20] ?? 0);
          credit[x + 6] = s * (acc[a + 24] ?? 0);
          credit[x + 7] = s * (acc[a + 28] ?? 0);
        }
      }
    }
    if (c0 < C) {
      for (let m = 0, x = rowBase; m < M; m++, x += C) {
        const s = scale[m] ?? 0;
        const src = source[m] ?? 0;
        if (src < 0) continue;
        for (let c = c0; c < C; c++) credit[x + c] = s * (acc[4 * c + src] ?? 0);
      }
    }
    // Marked touches of position models: their milestone share in place of `other`. One run of marks for the pattern
    // when every model has an unmarked touch (n > cntMax), else each model's case.
    const seg = table.markSeg;
    const markPacked = table.markPacked;
    const markShare = table.markShare;
    const allOpen = n > (table.cntMax[prow] ?? 0);
    let j = 0;
    let jEnd = 0;
    for (let p = 0, runs = allOpen ? 1 : P; p < runs; p++) {
      if (allOpen) {
        j = table.rowSeg[2 * prow] ?? 0;
        jEnd = table.rowSeg[2 * prow + 1] ?? 0;
      } else {
        const s = ((e0 + p) * 2 + (n > (table.cnt[e0 + p] ?? 0) ? 0 : 1)) * 2;
        j = seg[s] ?? 0;
        jEnd = seg[s + 1] ?? 0;
      }
      for (; j < jEnd; j++) {
        const pk = markPacked[j] ?? 0;
        const m = pk >> 3;
        const x = rowBase + m * C + (slotCh[pk & 7] ?? 0);
        credit[x] = (credit[x] ?? 0) + (markShare[j] ?? 0) - (scale[m] ?? 0);
      }
    }

    // Score and flags: same formula as influenceScore()/classify(), inlined (no object per deal).
    const reference = closedAt === closedAt && untilClose ? closedAt : asOf === asOf ? asOf : lastT;
    const volume = weightTotal / (weightTotal + sc.volume_saturation);
    const breadth = Math.min(1, members / sc.breadth_saturation);
    const recency = Math.exp(Math.max(0, reference - lastT) * recencyK);
    const depth = stagesLen ? (maxStage + 1) / stagesLen : 0;
    const score = Math.max(0, Math.min(100, Math.round((sc.volume * volume + sc.breadth * breadth + sc.recency * recency + sc.depth * depth) * 100)));
    // Touches after creation: the ones after the deal-creation milestone.
    const after = n - nDeal;
    out.score[r] = score;
    out.influenced[r] = n >= minTouches && score >= minScore ? 1 : 0;
    out.sourced[r] = sourcedTouch ? 1 : 0;
    out.assisted[r] = after >= minAfter && !(excludeSourced && sourcedTouch) ? 1 : 0;
    // Top channel under the primary model (models[0]); ties → lower channel index = alphabetical, as topChannel().
    let best = -1;
    let bestV = 0;
    for (let c = 0; c < C; c++) {
      const v = credit[rowBase + c] ?? 0;
      if (v > bestV + 1e-12) {
        best = c;
        bestV = v;
      }
    }
    out.topChannel[r] = best;
  }
  return out;
}

/**
 * Builds columns from the object API's inputs (touches per deal id), applying the deal-specific parts the engine
 * needs as flags: scope membership and contact creation times. Sorting is done here once.
 */
export function toColumnar(deals: readonly Deal[], touchesByDeal: ReadonlyMap<string, readonly Touch[]>, rules: Rules): ColumnarInput {
  const typeIdx = new Map<string, number>();
  const memberIdx = new Map<string, number>();
  const intern = (m: Map<string, number>, k: string) => {
    let v = m.get(k);
    if (v === undefined) m.set(k, (v = m.size));
    return v;
  };
  const rows: { at: number; type: number; member: number; flags: number; cc: number }[] = [];
  const touchStart = new Int32Array(deals.length + 1);
  const lead = new Float64Array(deals.length);
  deals.forEach((deal, d) => {
    touchStart[d] = rows.length;
    const contacts = scopedContacts(deal, rules);
    lead[d] = leadCreatedAt(contacts);
    const scoped: { touch: Touch; at: number; flags: number; cc: number }[] = [];
    for (const touch of touchesByDeal.get(deal.id) ?? []) {
      const s = touchScope(touch, deal, contacts, rules);
      if (!s.byContact && !s.byAccount) continue;
      // An unparseable time never counts (as in computeDealInfluence); left in, it would break the sort's order.
      const at = parseTime(touch.occurredAt);
      if (Number.isNaN(at)) continue;
      const flags = (touch.isStaff ? FLAG_STAFF : 0) | (touch.isBot ? FLAG_BOT : 0) | (s.byContact ? FLAG_CONTACT : 0) | (s.byAccount ? FLAG_ACCOUNT : 0);
      scoped.push({ touch, at, flags, cc: s.contactCreatedAt });
    }
    scoped.sort((a, b) => compareTouches(a.at, a.touch.id, b.at, b.touch.id));
    for (const k of scoped) {
      rows.push({ at: k.at, type: intern(typeIdx, k.touch.type), member: intern(memberIdx, k.touch.memberId), flags: k.flags, cc: k.cc });
    }
  });
  touchStart[deals.length] = rows.length;
  return {
    deals: deals.length,
    createdAt: Float64Array.from(deals, (d) => parseTime(d.createdAt)),
    closedAt: Float64Array.from(deals, closeTime),
    isWon: Uint8Array.from(deals, (d) => (d.isWon ? 1 : 0)),
    leadAt: lead,
    touchStart,
    at: Float64Array.from(rows, (r) => r.at),
    type: Int32Array.from(rows, (r) => r.type),
    types: [...typeIdx.keys()],
    member: Int32Array.from(rows, (r) => r.member),
    members: [...memberIdx.keys()],
    flags: Uint8Array.from(rows, (r) => r.flags),
    contactCreatedAt: Float64Array.from(rows, (r) => r.cc),
  };
}

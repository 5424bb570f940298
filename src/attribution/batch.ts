import type { ModelName, Rules } from '../rules/schema';
import { catalogueFor, compareTouches, leadCreatedAt, modelsOf, scopedContacts, touchScope } from './deal';
import { parseTime } from './definitions';
import { isPositionModel, positionSharesInto, positionWeightsFor, weightVector } from './models';
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

export function computeBatch(input: ColumnarInput, rules: Rules, ctx: Pick<EngineContext, 'asOf' | 'fitted'> = {}, opts: BatchOptions = {}): BatchResult {
  const cat = catalogueFor(rules);
  const channels = cat.channels;
  const C = channels.length;
  const models = modelsOf(rules);
  const M = models.length;
  const from0 = opts.from ?? 0;
  const to0 = opts.to ?? input.deals;
  const asOf = parseTime(ctx.asOf);

  // Per type: channel index (-1 = does not count), weight, stage rank. Resolved once, not per touch.
  const tChannel = new Int32Array(input.types.length);
  const tWeight = new Float64Array(input.types.length);
  const tStage = new Int32Array(input.types.length);
  input.types.forEach((t, i) => {
    const tp = cat.resolve(t);
    tChannel[i] = tp ? channels.indexOf(tp.channel) : -1;
    tWeight[i] = tp ? tp.weight : 0;
    tStage[i] = tp ? tp.stageRank : -1;
  });
  const memberExcluded = new Uint8Array(input.members.length);
  if (rules.exclusions.members.length) {
    const ex = new Set(rules.exclusions.members);
    input.members.forEach((m, i) => (memberExcluded[i] = ex.has(m) ? 1 : 0));
  }
  let dropMask = 0;
  if (rules.exclusions.staff) dropMask |= FLAG_STAFF;
  if (rules.exclusions.bots) dropMask |= FLAG_BOT;
  const scopeMask = rules.scope === 'account' ? FLAG_CONTACT | FLAG_ACCOUNT : FLAG_CONTACT;

  // Fitted channel weights for markov / shapley, by channel index.
  const fitted = new Map<ModelName, Float64Array>();
  for (const m of models) {
    if (m !== 'markov' && m !== 'shapley') continue;
    const f = ctx.fitted?.[m];
    if (!f) throw new Error(`model "${m}" needs a fitted model (fitMarkov / fitShapley) in ctx.fitted.${m}`);
    fitted.set(m, Float64Array.from(channels, (c) => Math.max(0, f[c] ?? 0)));
  }
  // Model kinds as small ints so the per-deal loop does no string work: 0 position, 1 linear, 2 time decay,
  // 3 activity weighted, 4 fitted. Position weight vectors live in one flat array (6 per model).
  const kind = Int8Array.from(models, (m) => (isPositionModel(m) ? 0 : m === 'linear' ? 1 : m === 'time_decay' ? 2 : m === 'activity_weighted' ? 3 : 4));
  const posW = new Float64Array(M * 6);
  models.forEach((m, mi) => {
    if (isPositionModel(m)) posW.set(weightVector(positionWeightsFor(m, rules)), mi * 6);
  });
  const fittedByModel = models.map((m) => fitted.get(m) ?? null);
  const wantDecay = models.includes('time_decay');
  const decayK = -Math.LN2 / (rules.models.time_decay_half_life_days * 86_400_000);
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
  const sT = new Float64Array(maxTouches);
  const sC = new Int32Array(maxTouches);
  const count = new Float64Array(C);
  const wsum = new Float64Array(C);
  const decay = new Float64Array(C);
  const memberStamp = stampBuffer(input.members.length);
  const mi5 = new Int32Array(5);
  const markIdx = new Int32Array(5);
  const markShare = new Float64Array(6);

  const rows = to0 - from0;
  const into = opts.into;
  if (into && (into.touchCount.length < rows || into.models.join() !== models.join() || into.channels.join() !== channels.join())) {
    throw new Error('computeBatch: `into` was allocated for other rules or fewer deals');
  }
  const out = into ?? allocBatch(rows, models, [...channels]);
  const { at, type, member, flags, contactCreatedAt, touchStart } = input;
  const credit = out.credit;

  for (let d = from0; d < to0; d++) {
    const r = d - from0; // output row
    const createdAt = input.createdAt[d] ?? Number.NaN;
    const closedAt = input.closedAt[d] ?? Number.NaN;
    // Same window as dealWindow(), inlined to avoid a tuple per deal.
    const from = createdAt - lookback;
    let to = untilClose ? (closedAt === closedAt ? closedAt : asOf) : createdAt;
    if (to !== to) to = Number.POSITIVE_INFINITY;
    const leadAt = input.leadAt[d] ?? Number.NaN;
    const wonAt = input.isWon[d] === 1 ? closedAt : Number.NaN;
    count.fill(0);
    wsum.fill(0);
    const stamp = nextStamp();
    let n = 0;
    let members = 0;
    let maxStage = -1;
    let sourcedTouch = false;
    let after = 0;
    let weightTotal = 0;
    // Milestones: touches are sorted, so "last touch at or before X" is the latest kept touch with t ≤ X.
    let leadIdx = -1;
    let dealIdx = -1;
    let wonIdx = -1;
    const end = touchStart[d + 1] ?? 0;
    for (let i = touchStart[d] ?? 0; i < end; i++) {
      const ty = type[i] ?? 0;
      const ch = tChannel[ty] ?? -1;
      const f = flags[i] ?? 0;
      const t = at[i] ?? 0;
      const mem = member[i] ?? 0;
      // One combined test (non-short-circuit) instead of five data-dependent branches: fewer mispredictions.
      const keep = +(ch >= 0) & +((f & dropMask) === 0) & +((f & scopeMask) !== 0) & +(t >= from) & +(t <= to) & +(memberExcluded[mem] === 0);
      if (keep === 0) continue;
      if (t <= leadAt) leadIdx = n;
      if (t <= createdAt) dealIdx = n;
      if (t <= wonAt) wonIdx = n;
      sT[n] = t;
      sC[n] = ch;
      n++;
      const w = tWeight[ty] ?? 0;
      count[ch] = (count[ch] ?? 0) + 1;
      wsum[ch] = (wsum[ch] ?? 0) + w;
      weightTotal += w;
      if (memberStamp[mem] !== stamp) {
        memberStamp[mem] = stamp;
        members++;
      }
      const st = tStage[ty] ?? -1;
      if (st > maxStage) maxStage = st;
      if (t > createdAt) after++;
      if (!sourcedTouch && t <= createdAt && t >= createdAt - within) {
        const cc = contactCreatedAt[i] ?? Number.NaN;
        if (cc === cc && (!checkCreated || t < cc)) sourcedTouch = true;
      }
    }
    out.touchCount[r] = n;
    out.membersInvolved[r] = members;
    if (n === 0) {
      // No touches: zero credits, flags false, score 0 (written, not assumed, since buffers may be reused).
      credit.fill(0, r * M * C, (r + 1) * M * C);
      out.score[r] = 0;
      out.influenced[r] = 0;
      out.sourced[r] = 0;
      out.assisted[r] = 0;
      out.firstTouchAt[r] = Number.NaN;
      out.lastTouchAt[r] = Number.NaN;
      out.topChannel[r] = -1;
      continue;
    }
    const last = sT[n - 1] ?? 0;
    out.firstTouchAt[r] = sT[0] ?? 0;
    out.lastTouchAt[r] = last;
    mi5[0] = 0;
    mi5[1] = leadIdx;
    mi5[2] = dealIdx;
    mi5[3] = wonIdx;
    mi5[4] = n - 1;

    let decayTotal = 0;
    if (wantDecay) {
      decay.fill(0);
      for (let i = 0; i < n; i++) {
        const v = Math.exp((last - (sT[i] ?? 0)) * decayK);
        const ch = sC[i] ?? 0;
        decay[ch] = (decay[ch] ?? 0) + v;
        decayTotal += v;
      }
    }

    for (let m = 0; m < M; m++) {
      const base = (r * M + m) * C;
      const k = kind[m] ?? 0;
      if (k === 0) {
        const marks = positionSharesInto(n, mi5, posW, m * 6, markIdx, markShare);
        const other = markShare[5] ?? 0;
        for (let c = 0; c < C; c++) credit[base + c] = other * (count[c] ?? 0);
        for (let j = 0; j < marks; j++) {
          const ch = sC[markIdx[j] ?? 0] ?? 0;
          // A marked touch holds its milestone share instead of the "other" share.
          credit[base + ch] = (credit[base + ch] ?? 0) + (markShare[j] ?? 0) - other;
        }
        continue;
      }
      // Weight-proportional models: channel share = channel weight / total, falling back to linear on zero total.
      let num: Float64Array = count;
      let den = n;
      if (k === 2) {
        num = decay;
        den = decayTotal;
      } else if (k === 3) {
        num = wsum;
        den = weightTotal;
      } else if (k === 4) {
        const f = fittedByModel[m] ?? new Float64Array(C);
        num = Float64Array.from(f, (v, c) => ((count[c] ?? 0) > 0 ? v : 0));
        den = num.reduce((a, b) => a + b, 0);
      }
      if (!(den > 0)) {
        num = count;
        den = n;
      }
      const inv = 1 / den;
      for (let c = 0; c < C; c++) credit[base + c] = (num[c] ?? 0) * inv;
    }

    // Score and flags: same formula as influenceScore()/classify(), inlined (no object per deal).
    const reference = closedAt === closedAt && untilClose ? closedAt : asOf === asOf ? asOf : last;
    const volume = weightTotal / (weightTotal + sc.volume_saturation);
    const breadth = Math.min(1, members / sc.breadth_saturation);
    const recency = Math.exp(Math.max(0, reference - last) * recencyK);
    const depth = stagesLen ? (maxStage + 1) / stagesLen : 0;
    const score = Math.max(0, Math.min(100, Math.round((sc.volume * volume + sc.breadth * breadth + sc.recency * recency + sc.depth * depth) * 100)));
    out.score[r] = score;
    out.influenced[r] = n >= minTouches && score >= minScore ? 1 : 0;
    out.sourced[r] = sourcedTouch ? 1 : 0;
    out.assisted[r] = after >= minAfter && !(excludeSourced && sourcedTouch) ? 1 : 0;
    // Top channel under the primary model (models[0]); ties → lower channel index = alphabetical, as topChannel().
    let best = -1;
    let bestV = 0;
    const b0 = r * M * C;
    for (let c = 0; c < C; c++) {
      const v = credit[b0 + c] ?? 0;
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
      const flags = (touch.isStaff ? FLAG_STAFF : 0) | (touch.isBot ? FLAG_BOT : 0) | (s.byContact ? FLAG_CONTACT : 0) | (s.byAccount ? FLAG_ACCOUNT : 0);
      scoped.push({ touch, at: parseTime(touch.occurredAt), flags, cc: s.contactCreatedAt });
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
    closedAt: Float64Array.from(deals, (d) => parseTime(d.closedAt)),
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

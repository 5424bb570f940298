import type { Rules } from '../rules/schema';

/** A catalogue entry after resolution: what one activity type means for attribution. */
export interface ResolvedTouchpoint {
  pattern: string;
  channel: string;
  weight: number;
  /** Index into rules.stages (deeper = larger), -1 without a stage. */
  stageRank: number;
  stage: string | null;
}

/**
 * Specificity of a pattern against a type, or -1 when it does not match. More literal segments win; at equal literal
 * count an exact pattern beats a wildcard. `*` matches one or more trailing segments (so `github.*` matches
 * `github.pull_request.merged` but not `github`). Two distinct valid patterns never tie on the same type.
 */
export function specificity(pattern: string, type: string): number {
  if (pattern === type) return type.split('.').length * 2 + 1;
  if (pattern === '*') return 0;
  if (!pattern.endsWith('.*')) return -1;
  const prefix = pattern.slice(0, -1); // keeps the dot: "github."
  if (!type.startsWith(prefix) || type.length === prefix.length) return -1;
  return (prefix.split('.').length - 1) * 2;
}

function bestMatch(patterns: readonly string[], type: string): string | null {
  let best: string | null = null;
  let bestScore = -1;
  for (const p of patterns) {
    const s = specificity(p, type);
    if (s > bestScore) {
      bestScore = s;
      best = p;
    }
  }
  return best;
}

/**
 * Compiles the catalogue and activity-type exclusions into a cached type → touchpoint lookup. Returns null for types
 * that do not count: unknown to the catalogue, `counts: false`, or excluded by `exclusions.activity_types`.
 */
export class Catalogue {
  private readonly patterns: string[];
  private readonly cache = new Map<string, ResolvedTouchpoint | null>();
  readonly channels: string[];

  constructor(readonly rules: Rules) {
    this.patterns = Object.keys(rules.touchpoints);
    this.channels = [...new Set(Object.values(rules.touchpoints).map((t) => t.channel))].sort();
  }

  resolve(type: string): ResolvedTouchpoint | null {
    const hit = this.cache.get(type);
    if (hit !== undefined) return hit;
    const value = this.compute(type);
    this.cache.set(type, value);
    return value;
  }

  /** The matching entry even when it does not count (for explanations). */
  matchPattern(type: string): string | null {
    return bestMatch(this.patterns, type);
  }

  private compute(type: string): ResolvedTouchpoint | null {
    // An exclusion is a veto: any matching exclusion pattern drops the type, however specific the catalogue entry.
    if (this.rules.exclusions.activity_types.some((p) => specificity(p, type) >= 0)) return null;
    const pattern = bestMatch(this.patterns, type);
    if (pattern === null) return null;
    const tp = this.rules.touchpoints[pattern];
    if (!tp || !tp.counts) return null;
    return {
      pattern,
      channel: tp.channel,
      weight: tp.weight,
      stage: tp.stage,
      stageRank: tp.stage === null ? -1 : this.rules.stages.indexOf(tp.stage),
    };
  }
}

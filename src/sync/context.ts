import type { CrmConnector } from '../crm/types';
import type { Config, CrmName, Env } from '../env';
import { contextFor, type ResolverContext } from '../identity/context';
import type { Logger } from '../log';
import type { RunRow, RunStage } from '../store/sync';
import type { ActiveConfig } from './config';

export type Counts = Record<string, number>;

/** Everything one chunk of a run works with. Created per queue message; nothing is kept between chunks. */
export interface RunContext {
  env: Env;
  db: D1Database;
  config: Config;
  active: ActiveConfig;
  resolver: ResolverContext;
  run: RunRow;
  crm: CrmName;
  ownsDeals: boolean;
  connector: () => CrmConnector;
  log: Logger;
  /** Wall-clock deadline for this chunk: stages stop taking new work after it and checkpoint. */
  deadline: number;
  /** True once this step has used its wall time or its D1-query budget: take no new work, checkpoint. */
  spent(): boolean;
}

export interface StepResult {
  stage: RunStage;
  checkpoint: unknown;
  counts: Counts;
  errors: unknown[];
  /** The run should stop now with this status and reason (budget exhausted, bad mapping…). */
  stop?: { status: 'failed' | 'stopped'; reason: string };
}

export function addCounts(into: Counts, add: Counts): Counts {
  const out = { ...into };
  for (const [k, v] of Object.entries(add)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export function resolverFor(active: ActiveConfig) {
  return contextFor(active.identity);
}

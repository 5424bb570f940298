/**
 * RateGates over the budget: `budgetGate` asks the account's Durable Object (shared by every isolate that writes to that
 * account), `localGate` keeps the same limiter in process (benches, scripts, emulator tests in Node). Both wait out the
 * reserved delay, and both refuse — rather than sleep — when the wait is longer than a caller should block, so a sync step
 * can be re-queued with a delay instead of holding an invocation through a long pause or to the next day.
 */
import { sleep as realSleep, type RateGate } from '../call';
import { Budget, type BudgetStatus, type Reservation, type WaitReason } from './bucket';
import type { CrmBudget } from './durable-object';
import type { Limits } from './limits';
import { budgetSignals } from './signals';

export class BudgetExhaustedError extends Error {
  constructor(
    readonly waitMs: number,
    readonly reason: WaitReason | null,
  ) {
    super(`CRM rate budget: next slot in ${Math.ceil(waitMs / 1000)} s (${reason ?? 'rate'}), longer than this caller waits`);
    this.name = 'BudgetExhaustedError';
  }
}

/** A RateGate that also takes feedback from CRM responses. */
export interface BudgetGate extends RateGate {
  noteRemaining(bucket: string, remaining: number): Promise<void>;
  pause(untilMs: number, reason: string): Promise<void>;
  /** Applies what a response's status and headers say (remaining counts, Retry-After). */
  observe(status: number, headers: Headers | Record<string, string | undefined>): Promise<void>;
  status(): Promise<BudgetStatus>;
}

export interface GateOptions {
  sleep?: (ms: number) => Promise<void>;
  /** Longest wait before take() throws BudgetExhaustedError instead; nothing is reserved then. */
  maxWaitMs?: number;
  /** Sees every answer (granted or not): for run records, logs and tests that measure the reserved instants. */
  onReserve?: (r: Reservation) => void;
}

/** Workers: a queue invocation has minutes of wall time, and sleeping in it holds a consumer slot. */
export const DEFAULT_MAX_WAIT_MS = 60_000;

type Feedback = Pick<BudgetGate, 'noteRemaining' | 'pause'>;

async function applySignals(target: Feedback, status: number, headers: Headers | Record<string, string | undefined>, nowMs: number) {
  for (const s of budgetSignals(status, headers, nowMs)) {
    if (s.kind === 'pause') await target.pause(s.untilMs, s.reason);
    else await target.noteRemaining(s.bucket, s.remaining);
  }
}

async function honour(r: Reservation, wait: (ms: number) => Promise<void>, opts: GateOptions): Promise<void> {
  opts.onReserve?.(r);
  if (!r.granted) throw new BudgetExhaustedError(r.waitMs, r.reason);
  if (r.waitMs > 0) await wait(r.waitMs);
}

/** The shared gate: one Durable Object per CRM account key (e.g. `hubspot:portal-123`). */
export function budgetGate(
  ns: DurableObjectNamespace<CrmBudget>,
  accountKey: string,
  sleep: (ms: number) => Promise<void> = realSleep,
  opts: Omit<GateOptions, 'sleep'> = {},
): BudgetGate {
  const stub = ns.get(ns.idFromName(accountKey));
  const maxWaitMs = opts.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const gate: BudgetGate = {
    async take(bucket, cost = 1) {
      await honour(await stub.reserve(bucket, cost, maxWaitMs), sleep, opts);
    },
    async noteRemaining(bucket, remaining) {
      await stub.noteRemaining(bucket, remaining);
    },
    async pause(untilMs, reason) {
      await stub.pause(untilMs, reason);
    },
    observe: (status, headers) => applySignals(gate, status, headers, Date.now()),
    status: () => stub.status(),
  };
  return gate;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = { now: () => Date.now(), sleep: realSleep };

/**
 * The in-process gate. Reservations are made synchronously at take() time, so concurrent callers in one process queue in
 * call order exactly as they would at the Durable Object. Waits are unbounded by default: Node scripts may wait.
 */
export function localGate(limits: Limits, clock: Clock = realClock, opts: Omit<GateOptions, 'sleep'> = {}): BudgetGate & { budget: Budget } {
  const budget = new Budget(limits);
  const maxWaitMs = opts.maxWaitMs ?? Number.POSITIVE_INFINITY;
  const gate: BudgetGate & { budget: Budget } = {
    budget,
    async take(bucket, cost = 1) {
      await honour(budget.reserve(bucket, cost, clock.now(), maxWaitMs), (ms) => clock.sleep(ms), opts);
    },
    async noteRemaining(bucket, remaining) {
      budget.noteRemaining(bucket, remaining, clock.now());
    },
    async pause(untilMs, reason) {
      budget.pause(untilMs, reason, clock.now());
    },
    observe: (status, headers) => applySignals(gate, status, headers, clock.now()),
    status: async () => budget.status(clock.now()),
  };
  return gate;
}

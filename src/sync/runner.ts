import { CrmStopError } from '../crm/types';
import { connectedCrms, dealsCrm, loadConfig, type Config, type CrmName, type Env } from '../env';
import { newId } from '../ids';
import type { Logger } from '../log';
import {
  claimTick, createRunWithLease, endRun, getRun, releaseTick, requestRerun, saveStepStmt, type RunRow,
} from '../store/sync';
import { identityConfigFor, loadActiveConfig, RulesInvalidError } from './config';
import { matchChainStep } from '../members/match';
import { HEAVY_ROWS_READ, meteredD1, topStatements, type D1Meter } from '../store/metered';
import { createConnector, type GateFactory } from './connectors';
import { addCounts, resolverFor, type RunContext, type StepResult } from './context';
import type { SyncMessage } from './messages';
import { failPreviewFromDeadLetter, previewStep } from './full-preview';
import { attributeStep } from './stages/attribute';
import { expandStep } from './stages/expand';
import { pullStep } from './stages/pull';
import { resolveStep } from './stages/resolve';
import { writeStep } from './stages/write';

/** Wall time one chunk may take before it checkpoints and hands over to the next queue message. */
const STEP_BUDGET_MS = 15_000;

export interface StartOptions {
  trigger: 'cron' | 'api' | 'webhook' | 'activity';
  dryRun?: boolean;
  full?: boolean;
  /** Ask a run already in progress to run again when it ends (it may have passed the stage this start is for). */
  rerunIfBusy?: boolean;
}

export type StartResult = { runId: string; started: true } | { runId: string; started: false; reason: string };

/** A started (or already running) run as the API answers it: POST /v1/sync and PUT /v1/rules. */
export function startedRunJson(r: StartResult & { crm: CrmName }) {
  return { crm: r.crm, run_id: r.runId, started: r.started, ...('reason' in r ? { reason: r.reason } : {}) };
}

async function send(env: Env, body: SyncMessage, delaySeconds = 0) {
  await env.SYNC.send(body, { contentType: 'json', delaySeconds });
}

/** Starts a run for one CRM unless one is already running (one run per CRM: a lease with expiry). */
export async function startRun(env: Env, crm: CrmName, opts: StartOptions): Promise<StartResult> {
  const runId = newId('run');
  const lease = await createRunWithLease(env.DB, { id: runId, crm, trigger: opts.trigger, dryRun: !!opts.dryRun, full: !!opts.full });
  if (!lease.created) {
    if (opts.trigger === 'activity' || opts.trigger === 'webhook' || opts.rerunIfBusy) await requestRerun(env.DB, crm);
    return { runId: lease.holder, started: false, reason: `a run is already in progress for ${crm}` };
  }
  await send(env, { kind: 'step', runId, step: 0 });
  return { runId, started: true };
}

export async function startAll(env: Env, opts: StartOptions): Promise<StartResult[]> {
  const config = loadConfig(env);
  return Promise.all(connectedCrms(config).map((crm) => startRun(env, crm, opts)));
}

/**
 * Called after new activity is stored: schedules one incremental run per CRM, SYNC_DEBOUNCE_SECONDS later, so a burst
 * of events becomes one run. A run already in progress is asked to run again when it finishes.
 */
export async function scheduleFromActivity(env: Env): Promise<void> {
  const config = loadConfig(env);
  if (config.SYNC_DEBOUNCE_SECONDS === 0) return;
  for (const crm of connectedCrms(config)) {
    if (await claimTick(env.DB, crm, config.SYNC_DEBOUNCE_SECONDS)) {
      await send(env, { kind: 'tick', crm }, config.SYNC_DEBOUNCE_SECONDS);
    }
  }
}

/** A CRM told us something changed (HubSpot webhook): the same debounced incremental run, for that CRM only. */
export async function scheduleCrmChange(env: Env, crm: CrmName): Promise<void> {
  const config = loadConfig(env);
  const delay = Math.max(1, Math.min(config.SYNC_DEBOUNCE_SECONDS, 10));
  if (await claimTick(env.DB, crm, delay)) await send(env, { kind: 'tick', crm }, delay);
}

function context(env: Env, config: Config, run: RunRow, log: Logger, gateFor: GateFactory, active: Awaited<ReturnType<typeof loadActiveConfig>>, meter: D1Meter): RunContext {
  let connector: ReturnType<typeof createConnector> | null = null;
  const deadline = Date.now() + STEP_BUDGET_MS;
  return {
    env, db: meteredD1(env.DB, meter), config, active, resolver: resolverFor(active), run, crm: run.crm,
    ownsDeals: dealsCrm(config) === run.crm,
    connector: () => (connector ??= createConnector(run.crm, config, env, gateFor)),
    log: log.child({ run_id: run.id, crm: run.crm }),
    deadline,
    spent: () => Date.now() >= deadline || meter.queries >= config.SYNC_STEP_MAX_QUERIES,
  };
}

async function execute(ctx: RunContext): Promise<StepResult> {
  const checkpoint: unknown = JSON.parse(ctx.run.checkpoint);
  switch (ctx.run.stage) {
    case 'pull': return pullStep(ctx, checkpoint);
    case 'expand': return expandStep(ctx);
    case 'resolve': return resolveStep(ctx, checkpoint);
    case 'attribute': return attributeStep(ctx, checkpoint);
    case 'write': return writeStep(ctx, checkpoint);
    case 'finish': return { stage: 'finish', checkpoint: {}, counts: {}, errors: [] };
  }
}

/**
 * Records that still need writing (never sent, failed, or only planned by a dry run) are marked dirty, so the next
 * run plans them again: a dry run or a stopped run never swallows a change.
 */
async function requeueUnwritten(db: D1Database, run: RunRow) {
  await db
    .prepare(
      `INSERT INTO sync_dirty (crm, kind, ref) SELECT ?1, object, crm_id FROM sync_writes
        WHERE run_id = ?2 AND status IN ('pending', 'failed') ON CONFLICT DO NOTHING`,
    )
    .bind(run.crm, run.id)
    .run();
}

export async function finishRun(env: Env, run: RunRow, status: 'done' | 'failed' | 'stopped', reason: string | null, log: Logger) {
  await requeueUnwritten(env.DB, run);
  const rerun = await endRun(env.DB, run, status, reason);
  log.info('sync run ended', { run_id: run.id, crm: run.crm, status, reason });
  if (rerun) await startRun(env, run.crm, { trigger: 'activity' });
}

/** Executes one chunk of a run and hands the next chunk to the queue. A duplicated or stale message does nothing. */
export async function runStep(env: Env, msg: { runId: string; step: number }, log: Logger, gateFor: GateFactory): Promise<void> {
  const run = await getRun(env.DB, msg.runId);
  if (!run || run.status !== 'running' || run.step !== msg.step) return;
  const config = loadConfig(env);
  let result: StepResult;
  const meter: D1Meter = { rowsRead: 0, rowsWritten: 0, queries: 0, byStatement: new Map() };
  try {
    const active = await loadActiveConfig(env.DB, config);
    result = await execute(context(env, config, run, log, gateFor, active, meter));
  } catch (error) {
    if (error instanceof CrmStopError || error instanceof RulesInvalidError) {
      await finishRun(env, run, error instanceof CrmStopError ? 'stopped' : 'failed', error.message, log);
      return;
    }
    // Visible on the run while the queue retries the step.
    await env.DB.prepare('UPDATE sync_runs SET reason = ?2, updated_at = ?3 WHERE id = ?1')
      .bind(run.id, `retrying after: ${error instanceof Error ? error.message : String(error)}`, new Date().toISOString()).run();
    throw error;
  }
  // What a step's D1 cost is made of: always at debug, and at info when the step read a lot.
  const cost = { run_id: run.id, stage: run.stage, rows_read: meter.rowsRead, top: topStatements(meter) };
  if (meter.rowsRead > HEAVY_ROWS_READ) log.info('sync step read many d1 rows', cost);
  else log.debug('sync step d1 rows', cost);
  const before = JSON.parse(run.counts) as Record<string, number>;
  const counts = addCounts(before, {
    ...result.counts, d1_rows_read: meter.rowsRead, d1_rows_written: meter.rowsWritten, d1_queries: meter.queries,
  });
  // The most D1 statements one step issued: how close the run came to the per-invocation query limit.
  counts.d1_queries_max_step = Math.max(before.d1_queries_max_step ?? 0, meter.queries);
  const errors = [...(JSON.parse(run.errors) as unknown[]), ...result.errors];
  const [saved] = await env.DB.batch(saveStepStmt(env.DB, run, { stage: result.stage, checkpoint: result.checkpoint, counts, errors }));
  if (!saved!.meta.changes) return; // another delivery of this step got there first
  const next: RunRow = { ...run, step: run.step + 1, stage: result.stage, counts: JSON.stringify(counts), errors: JSON.stringify(errors) };
  if (result.stop) return finishRun(env, next, result.stop.status, result.stop.reason, log);
  if (result.stage === 'finish') return finishRun(env, next, 'done', null, log);
  await send(env, { kind: 'step', runId: run.id, step: run.step + 1 });
}

export async function handleSyncMessage(env: Env, msg: SyncMessage, log: Logger, gateFor: GateFactory) {
  if (msg.kind === 'tick') {
    await releaseTick(env.DB, msg.crm);
    const result = await startRun(env, msg.crm, { trigger: 'activity' });
    log.info('debounced sync tick', { crm: msg.crm, ...result });
    return;
  }
  if (msg.kind === 'preview') return previewStep(env, msg, log);
  if (msg.kind === 'match') {
    let identity;
    try {
      identity = identityConfigFor(loadConfig(env));
    } catch (error) {
      // Retrying cannot fix a shipped file: members stay pending, and the cron resumes matching once it is fixed.
      if (!(error instanceof RulesInvalidError)) throw error;
      log.error('member matching off: the configuration does not load', { error });
      return;
    }
    return matchChainStep(env, identity, msg.token ?? null, log);
  }
  await runStep(env, msg, log, gateFor);
}

/** A step whose retries ran out: the run fails with the last error, and what it had not written is planned again. */
export async function failRunFromDeadLetter(env: Env, msg: SyncMessage, log: Logger) {
  if (msg.kind === 'preview') return failPreviewFromDeadLetter(env, msg);
  if (msg.kind !== 'step') return;
  const run = await getRun(env.DB, msg.runId);
  if (!run || run.status !== 'running') return;
  await finishRun(env, run, 'failed', `step ${msg.step} (${run.stage}) failed repeatedly: ${run.reason ?? 'unknown error'}`, log);
}

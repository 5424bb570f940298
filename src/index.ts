import { budgetGate } from './crm/budget/gate';
import { HUBSPOT_LIMITS } from './crm/budget/limits';
import { loadConfig, type Env } from './env';
import { createApp } from './http/app';
import { consumeActivities, consumeDeadLetters } from './ingest/consumer';
import { createLogger, logLevelOf } from './log';
import type { GateFactory } from './sync/connectors';
import { consumeSync, consumeSyncDeadLetters } from './sync/consumer';
import { startAll } from './sync/runner';

const app = createApp();

export { CrmBudget } from './crm/budget/durable-object';

const configured = new Set<string>();

/**
 * Every CRM call of every isolate takes from one budget per CRM account: a Durable Object named by the account key.
 * HubSpot's per-10-second allowance is configurable (100 by default, 190 on Professional/Enterprise).
 */
function gates(env: Env): GateFactory {
  return (crm, accountKey) => {
    const gate = budgetGate(env.CRM_BUDGET, accountKey);
    const perTen = loadConfig(env).HUBSPOT_REQUESTS_PER_10S;
    if (crm === 'hubspot' && perTen !== 100 && !configured.has(accountKey)) {
      configured.add(accountKey);
      const limits = { ...HUBSPOT_LIMITS, buckets: { ...HUBSPOT_LIMITS.buckets, default: { capacity: perTen, windowMs: 10_000 } } };
      return {
        take: async (bucket, cost) => {
          await env.CRM_BUDGET.get(env.CRM_BUDGET.idFromName(accountKey)).configure(limits);
          return gate.take(bucket, cost);
        },
      };
    }
    return gate;
  };
}

export default {
  fetch: app.fetch,

  async queue(batch, env, _ctx) {
    const log = createLogger({ queue: batch.queue, batch_size: batch.messages.length }, logLevelOf(env.LOG_LEVEL));
    switch (batch.queue) {
      case 'ci-activities': return consumeActivities(batch, env, log);
      case 'ci-activities-dlq': return consumeDeadLetters(batch, env, log);
      case 'ci-sync': return consumeSync(batch, env, log, gates(env));
      case 'ci-sync-dlq': return consumeSyncDeadLetters(batch, env, log);
      default:
        log.warn('no consumer for queue; messages retried', { queue: batch.queue });
        batch.retryAll();
    }
  },

  /** The safety net: an incremental run per connected CRM (ingestion schedules the fast path itself). */
  async scheduled(controller, env, _ctx) {
    const log = createLogger({ cron: controller.cron }, logLevelOf(env.LOG_LEVEL));
    const results = await startAll(env, { trigger: 'cron' });
    log.info('scheduled sync', { results });
  },
} satisfies ExportedHandler<Env, unknown>;

import type { Env } from './env';
import { createApp } from './http/app';
import { consumeActivities, consumeDeadLetters } from './ingest/consumer';
import { createLogger } from './log';
import type { GateFactory } from './sync/connectors';
import { consumeSync, consumeSyncDeadLetters } from './sync/consumer';
import { startAll } from './sync/runner';

const app = createApp();

/** CRM rate budgets: in-process until the shared Durable Object budget is bound. */
const gateFor: GateFactory = () => undefined;

export default {
  fetch: app.fetch,

  async queue(batch, env, _ctx) {
    const log = createLogger({ queue: batch.queue, batch_size: batch.messages.length });
    switch (batch.queue) {
      case 'ci-activities': return consumeActivities(batch, env, log);
      case 'ci-activities-dlq': return consumeDeadLetters(batch, env, log);
      case 'ci-sync': return consumeSync(batch, env, log, gateFor);
      case 'ci-sync-dlq': return consumeSyncDeadLetters(batch, env, log);
      default:
        log.warn('no consumer for queue; messages retried', { queue: batch.queue });
        batch.retryAll();
    }
  },

  /** The safety net: an incremental run per connected CRM (ingestion schedules the fast path itself). */
  async scheduled(controller, env, _ctx) {
    const log = createLogger({ cron: controller.cron });
    const results = await startAll(env, { trigger: 'cron' });
    log.info('scheduled sync', { results });
  },
} satisfies ExportedHandler<Env, unknown>;

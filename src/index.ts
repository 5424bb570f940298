import { loadConfig, type Env } from './env';
import { createApp } from './http/app';
import { consumeActivities, consumeDeadLetters } from './ingest/consumer';
import { createLogger, logLevelOf } from './log';
import { catchUpMemberMatching } from './members/match';
import { identityConfigFor } from './sync/config';
import { accountGates } from './sync/connectors';
import { consumeSync, consumeSyncDeadLetters } from './sync/consumer';
import { startAll } from './sync/runner';

const app = createApp();

export { CrmBudget } from './crm/budget/durable-object';

export default {
  fetch: app.fetch,

  async queue(batch, env, _ctx) {
    const log = createLogger({ queue: batch.queue, batch_size: batch.messages.length }, logLevelOf(env.LOG_LEVEL));
    switch (batch.queue) {
      case 'ci-activities': return consumeActivities(batch, env, log);
      case 'ci-activities-dlq': return consumeDeadLetters(batch, env, log);
      case 'ci-sync': return consumeSync(batch, env, log, accountGates(env));
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
    try {
      const matched = await catchUpMemberMatching(env, identityConfigFor(loadConfig(env)));
      if (matched.keyed) log.info('members matched', { ...matched });
    } catch (error) {
      log.error('member matching failed', { error });
    }
  },
} satisfies ExportedHandler<Env, unknown>;

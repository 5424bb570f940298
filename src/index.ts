import type { Env } from './env';
import { createApp } from './http/app';
import { consumeActivities, consumeDeadLetters } from './ingest/consumer';
import { createLogger } from './log';

const app = createApp();

export default {
  fetch: app.fetch,

  async queue(batch, env, _ctx) {
    const log = createLogger({ queue: batch.queue, batch_size: batch.messages.length });
    if (batch.queue.endsWith('-dlq')) return consumeDeadLetters(batch, env, log);
    if (batch.queue.startsWith('ci-activities')) return consumeActivities(batch, env, log);
    log.warn('no consumer for queue; messages retried', { queue: batch.queue });
    batch.retryAll();
  },

  async scheduled(controller, _env) {
    createLogger({ cron: controller.cron }).info('scheduled tick');
  },
} satisfies ExportedHandler<Env, unknown>;

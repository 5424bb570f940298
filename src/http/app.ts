import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ConfigError, loadConfig, type Env } from '../env';
import { createLogger, logLevelOf } from '../log';
import { ApiError, errorBody } from './errors';
import { openapi } from './openapi';
import { activities } from './routes/activities';
import { health } from './routes/health';
import { imports } from './routes/imports';
import { members } from './routes/members';
import { tokens } from './routes/tokens';
import { audit } from './routes/audit';
import { deadLetters } from './routes/dead-letters';
import { deals } from './routes/deals';
import { links } from './routes/links';
import { rules } from './routes/rules';
import { sync } from './routes/sync';
import { webhooks } from './routes/webhooks';
import type { AppEnv } from './types';
import { accessPrincipal } from '../auth/access';
import { loadPerson } from '../auth/session';
import { RulesInvalidError } from '../sync/config';
import { ui } from '../ui/app';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function createApp() {
  const app = new Hono<AppEnv>();

  app.use('*', async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set('requestId', requestId);
    const log = createLogger({ request_id: requestId }, logLevelOf(c.env.LOG_LEVEL));
    c.set('log', log);
    const started = Date.now();
    try {
      if (!c.req.path.startsWith('/healthz') && !c.req.path.startsWith('/readyz')) c.set('config', loadConfig(c.env));
      await next();
    } finally {
      c.header('x-request-id', requestId);
      log.info('request', { method: c.req.method, path: c.req.path, status: c.res.status, ms: Date.now() - started });
    }
  });

  app.route('/', health);
  app.get('/openapi.json', (c) => c.json(openapi()));
  app.route('/webhooks', webhooks);
  app.route('/v1/activities', activities);
  app.route('/v1/imports', imports);
  app.route('/v1/members', members);
  app.route('/v1/tokens', tokens);
  app.route('/v1/sync', sync);
  app.route('/v1/deals', deals);
  app.route('/v1/links', links);
  app.route('/v1/rules', rules);
  app.route('/v1/audit', audit);
  app.route('/v1/dead-letters', deadLetters);

  // People: Cloudflare Access (or the local dev session) in front of the web app's pages.
  app.use('*', loadPerson(accessPrincipal));
  app.route('/', ui);

  app.notFound((c) => c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404));

  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json(errorBody(err.code, err.message, err.issues, err.extra), err.status);
    if (err instanceof ConfigError) {
      c.get('log')?.error('configuration invalid', { issues: err.issues });
      return c.json(errorBody('not_configured', err.message), 503);
    }
    if (err instanceof RulesInvalidError && !err.versioned) {
      // A shipped file (identity.yaml) that does not validate: only a fixed file and a deploy help.
      c.get('log')?.error('shipped mappings file invalid', { kind: err.kind, issues: err.issues });
      return c.json(errorBody('not_configured', `mappings/${err.kind}.yaml in this deployment does not validate; fix it (npm run mappings:check) and deploy again`, err.issues.map((message) => ({ path: `${err.kind}.yaml`, message }))), 503);
    }
    if (err instanceof RulesInvalidError) {
      // The active version stopped validating (a deploy tightened the schema): not the caller's fault and not worth
      // retrying; activating a valid version (PUT /v1/rules, or a rollback) is the way out.
      return c.json(errorBody('active_rules_invalid', `the active ${err.kind}.yaml no longer validates; activate a valid version`, err.issues.map((message) => ({ path: `${err.kind}.yaml`, message }))), 409);
    }
    if (err instanceof HTTPException) return c.json(errorBody('http_error', err.message), err.status);
    // Unexpected: log with the request id, answer 503 so clients retry instead of treating it as a verdict on their input.
    c.get('log')?.error('unhandled error', { error: err });
    return c.json(errorBody('temporarily_unavailable', 'the request could not be completed; retry later'), 503);
  });

  return app;
}

export type App = ReturnType<typeof createApp>;
export type { Env };

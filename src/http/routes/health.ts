import { Hono } from 'hono';
import { ConfigError, loadConfig } from '../../env';
import type { AppEnv } from '../types';

export const health = new Hono<AppEnv>();

/** Liveness: the Worker answers. No dependencies checked, so a D1 incident does not look like a crashed deploy. */
health.get('/healthz', (c) => c.json({ ok: true }));

/** Readiness: configuration is valid and D1 answers a query. */
health.get('/readyz', async (c) => {
  const checks: Record<string, { ok: boolean; message?: string }> = {};
  try {
    loadConfig(c.env);
    checks.config = { ok: true };
  } catch (e) {
    checks.config = { ok: false, message: e instanceof ConfigError ? e.message : 'configuration could not be read' };
  }
  try {
    await c.env.DB.prepare('SELECT 1 FROM members LIMIT 1').all();
    checks.d1 = { ok: true };
  } catch {
    checks.d1 = { ok: false, message: 'D1 did not answer (are migrations applied?)' };
  }
  const ok = Object.values(checks).every((x) => x.ok);
  return c.json({ ok, checks }, ok ? 200 : 503);
});

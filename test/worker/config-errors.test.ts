import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app';
import { RulesInvalidError } from '../../src/sync/config';
import { ADMIN } from './helpers';

/** How the API answers a mappings file that stopped validating: which way out it names depends on the file. */
describe('an invalid mappings file reaching a request', () => {
  const app = createApp();
  app.get('/v1/__invalid/:kind', (c) => {
    throw new RulesInvalidError(c.req.param('kind'), [`${c.req.param('kind')}.yaml:3:1 (root): unknown field(s) "x"`]);
  });
  const call = (kind: string) => app.request(`/v1/__invalid/${kind}`, { headers: { authorization: `Bearer ${ADMIN}` } }, env);

  it('a versioned file (rules, field mappings): 409, activate or roll back', async () => {
    const res = await call('rules');
    expect(res.status).toBe(409);
    const body = await res.json<{ error: { code: string; message: string; issues: { path: string; message: string }[] } }>();
    expect(body.error.code).toBe('active_rules_invalid');
    expect(body.error.message).toMatch(/activate a valid version/);
  });

  it('identity.yaml, shipped with the deployment: 503 not_configured, fix and deploy again, with the file’s problems', async () => {
    const res = await call('identity');
    expect(res.status).toBe(503);
    const body = await res.json<{ error: { code: string; message: string; issues: { path: string; message: string }[] } }>();
    expect(body.error.code).toBe('not_configured');
    expect(body.error.message).toMatch(/mappings\/identity\.yaml .* deploy again/);
    expect(body.error.issues).toEqual([{ path: 'identity.yaml', message: 'identity.yaml:3:1 (root): unknown field(s) "x"' }]);
  });
});

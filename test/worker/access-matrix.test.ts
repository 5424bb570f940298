import { describe, expect, it } from 'vitest';
import { call } from './helpers';

type Scope = 'ingest' | 'read' | 'configure' | 'admin';

/** Every /v1 route with the scope it needs. A new route must be added here (the last test checks the OpenAPI list). */
const ROUTES: { method: string; path: string; scope: Scope; body?: unknown; type?: string }[] = [
  { method: 'POST', path: '/v1/activities', scope: 'ingest', body: { activities: [] } },
  { method: 'GET', path: '/v1/activities', scope: 'read' },
  { method: 'POST', path: '/v1/imports', scope: 'ingest', body: '', type: 'application/x-ndjson' },
  { method: 'GET', path: '/v1/imports/imp_x', scope: 'read' },
  { method: 'GET', path: '/v1/members', scope: 'read' },
  { method: 'GET', path: '/v1/members/suggestions', scope: 'read' },
  { method: 'GET', path: '/v1/members/conflicts', scope: 'read' },
  { method: 'GET', path: '/v1/members/mem_x', scope: 'read' },
  { method: 'POST', path: '/v1/members/mem_x/merge', scope: 'configure', body: {} },
  { method: 'POST', path: '/v1/members/mem_x/unmerge', scope: 'configure', body: {} },
  { method: 'POST', path: '/v1/members/mem_x/not-same', scope: 'configure', body: {} },
  { method: 'GET', path: '/v1/members/mem_x/export', scope: 'admin' },
  { method: 'POST', path: '/v1/members/mem_x/affiliations', scope: 'configure', body: {} },
  { method: 'GET', path: '/v1/members/mem_x/affiliations', scope: 'read' },
  { method: 'DELETE', path: '/v1/members/mem_x/affiliations/1', scope: 'configure' },
  { method: 'DELETE', path: '/v1/members/mem_x', scope: 'admin' },
  { method: 'GET', path: '/v1/links', scope: 'read' },
  { method: 'POST', path: '/v1/links/1/confirm', scope: 'configure' },
  { method: 'POST', path: '/v1/links/1/reject', scope: 'configure' },
  { method: 'POST', path: '/v1/sync', scope: 'admin' },
  { method: 'GET', path: '/v1/sync/runs', scope: 'read' },
  { method: 'GET', path: '/v1/sync/runs/run_x', scope: 'read' },
  { method: 'GET', path: '/v1/sync/runs/run_x/writes', scope: 'read' },
  { method: 'GET', path: '/v1/deals', scope: 'read' },
  { method: 'GET', path: '/v1/deals/hubspot/1/influence', scope: 'read' },
  { method: 'GET', path: '/v1/rules', scope: 'read' },
  { method: 'POST', path: '/v1/rules/preview', scope: 'configure', body: {} },
  { method: 'PUT', path: '/v1/rules', scope: 'configure', body: {} },
  { method: 'POST', path: '/v1/rules/previews', scope: 'configure', body: {} },
  { method: 'GET', path: '/v1/rules/previews/pv_x', scope: 'configure' },
  { method: 'GET', path: '/v1/audit', scope: 'admin' },
  { method: 'GET', path: '/v1/dead-letters', scope: 'admin' },
  { method: 'GET', path: '/v1/dead-letters/1', scope: 'admin' },
  { method: 'POST', path: '/v1/dead-letters/1/replay', scope: 'admin' },
  { method: 'GET', path: '/v1/tokens', scope: 'admin' },
  { method: 'POST', path: '/v1/tokens', scope: 'admin', body: {} },
  { method: 'DELETE', path: '/v1/tokens/tok_x', scope: 'admin' },
];

/** configure implies read; admin implies everything. */
const grants = (held: Scope, needed: Scope) => held === 'admin' || held === needed || (held === 'configure' && needed === 'read');

async function tokenWith(scope: Scope): Promise<string> {
  const res = await call('/v1/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: scope, scopes: [scope] }) });
  return (await res.json<{ token: string }>()).token;
}

describe('role × route matrix', () => {
  it('every route refuses what it must and lets through what it should (0 unauthorised successes)', async () => {
    const tokens: Record<Scope, string> = { ingest: await tokenWith('ingest'), read: await tokenWith('read'), configure: await tokenWith('configure'), admin: await tokenWith('admin') };
    const failures: string[] = [];
    for (const route of ROUTES) {
      const send = (token: string | null) =>
        call(route.path, {
          method: route.method, token,
          ...(route.body !== undefined ? { body: typeof route.body === 'string' ? route.body : JSON.stringify(route.body), headers: { 'content-type': route.type ?? 'application/json' } } : {}),
        });
      const anonymous = await send(null);
      if (anonymous.status !== 401) failures.push(`${route.method} ${route.path} without a token → ${anonymous.status}`);
      for (const held of Object.keys(tokens) as Scope[]) {
        const res = await send(tokens[held]);
        const allowed = grants(held, route.scope);
        if (!allowed && res.status !== 403) failures.push(`${route.method} ${route.path} with ${held} → ${res.status}, expected 403`);
        if (allowed && (res.status === 401 || res.status === 403 || res.status >= 500)) failures.push(`${route.method} ${route.path} with ${held} → ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('the matrix covers every /v1 route the OpenAPI document lists', async () => {
    const doc = await (await call('/openapi.json', { token: null })).json<{ paths: Record<string, Record<string, unknown>> }>();
    const listed = Object.entries(doc.paths)
      .filter(([p]) => p.startsWith('/v1/'))
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace(/\{[^}]+\}/g, ':x')}`));
    const covered = new Set(ROUTES.map((r) => `${r.method} ${r.path.replace(/\/(imp_x|mem_x|run_x|tok_x|pv_x|1)(?=\/|$)/g, '/:x').replace('/hubspot/:x', '/:x/:x')}`));
    expect(listed.filter((r) => !covered.has(r))).toEqual([]);
    expect([...covered].filter((r) => !listed.includes(r))).toEqual([]);
  });
});

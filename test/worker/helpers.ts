import { env, exports } from 'cloudflare:workers';
import { loadConfig } from '../../src/env';
import { loadRules, parseFieldMapping } from '../../src/rules';
import { BUNDLED_MAPPINGS } from '../../src/rules/bundled';
import type { RunContext } from '../../src/sync/context';

export const ADMIN = 'test-admin-token-0123456789abcdef';

export function call(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? ADMIN : init.token;
  if (token) headers.set('authorization', `Bearer ${token}`);
  return exports.default.fetch(new Request(`http://ci.test${path}`, { ...init, headers }));
}

export function postJson(path: string, body: unknown, init: RequestInit & { token?: string | null } = {}) {
  const headers = new Headers(init.headers);
  headers.set('content-type', 'application/json');
  return call(path, { ...init, method: 'POST', headers, body: JSON.stringify(body) });
}

/** Polls until `check` returns a truthy value: queue consumers run asynchronously after a send. */
export async function waitFor<T>(check: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function countRows(table: string, where = '1 = 1', ...binds: unknown[]): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).bind(...binds).first<{ n: number }>();
  return row?.n ?? 0;
}

export async function hmacHex(secret: string, body: string | Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const data = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const sig = await crypto.subtle.sign('HMAC', key, data);
  return [...new Uint8Array(sig)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function activity(n: number, overrides: Record<string, unknown> = {}) {
  return {
    source: 'discord',
    type: 'discord.message',
    occurred_at: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
    external_id: `msg-${n}`,
    member: { identities: [{ source: 'discord', id: `user-${n % 7}`, handle: `user${n % 7}` }] },
    title: `message ${n}`,
    ...overrides,
  };
}

/** The shipped rules and HubSpot mapping, and a RunContext over them for calling the sync's stages directly. */
export async function shippedRules() {
  const loaded = await loadRules(BUNDLED_MAPPINGS.rules);
  if (!loaded.ok) throw new Error('rules invalid');
  const mapping = parseFieldMapping(BUNDLED_MAPPINGS.hubspot, 'hubspot.yaml');
  if (!mapping.ok) throw new Error('mapping invalid');
  const { rules, version } = loaded.value;
  const context = (runId: string): RunContext =>
    ({
      env, db: env.DB, config: loadConfig(env), crm: 'hubspot', ownsDeals: true, run: { id: runId },
      active: { rules, rulesVersion: version, mappings: { hubspot: mapping.value }, identity: {}, activatedAt: '9999-12-31T23:59:59.999Z' }, spent: () => false,
    }) as unknown as RunContext;
  return { rules, version, context };
}

/**
 * Stateful HubSpot emulator over real HTTP (Hono on Node). The API routes sit behind the gateway concerns HubSpot applies
 * to every call, in this order: call counting, Bearer auth (401), injected faults, per-token rate limits (429 with the real
 * bodies and X-HubSpot-RateLimit-* headers). The control plane under /__emulator/ is open and unmetered, so tests running
 * inside workerd can reset, seed, inject faults and inspect state over HTTP.
 */
import { serve, type HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { hubspotApi, hubspotError } from './api';
import { Faults, faultsBody } from './faults';
import { DEFAULT_LIMITS, RateLimiter, type RateLimitConfig } from './limits';
import { orgSchema } from './org-schema';
import { HubspotState, OBJECT_TYPES, resolveType } from './state';

export interface HubspotEmulatorOptions {
  /** 0 (default) = a free port. */
  port?: number;
  host?: string;
  rateLimit?: Partial<RateLimitConfig>;
  /** When set, only these Bearer tokens are accepted; otherwise any non-empty token is. */
  tokens?: string[];
  now?: () => number;
}

export interface HubspotEmulator {
  url: string;
  close(): Promise<void>;
  state: HubspotState;
  faults: Faults;
  limiter: RateLimiter;
}

/** `POST /crm/v3/objects/0-1/batch/update` → `POST /crm/v3/objects/contacts/batch/update`; record ids → :id. */
export function endpointKey(method: string, path: string): string {
  const parts = path.split('/').map((seg, i, all) => {
    const type = (all[i - 1] === 'objects' || all[i - 1] === 'properties' || all[i - 2] === 'associations' || all[i - 3] === 'associations') ? resolveType(seg) : null;
    if (type) return type;
    return /^\d+$/.test(seg) ? ':id' : seg;
  });
  return `${method} ${parts.join('/')}`;
}

const RATE_MESSAGES: Record<string, string> = {
  TEN_SECONDLY_ROLLING: 'You have reached your ten_secondly_rolling limit.',
  SECONDLY: 'You have reached your secondly limit.',
  DAILY: 'You have reached your daily limit.',
};

export function createHubspotEmulatorApp(opts: Omit<HubspotEmulatorOptions, 'port' | 'host'> = {}) {
  const now = opts.now ?? Date.now;
  const state = new HubspotState();
  const faults = new Faults();
  const limiter = new RateLimiter({ ...DEFAULT_LIMITS, ...opts.rateLimit });
  const app = new Hono<{ Bindings: HttpBindings }>();

  // ---- control plane ----
  app.post('/__emulator/reset', (c) => {
    state.reset();
    faults.clear();
    limiter.reset();
    return c.json({ ok: true });
  });
  app.post('/__emulator/seed', async (c) => {
    const parsed = orgSchema.safeParse(await c.req.json());
    if (!parsed.success) return c.json({ error: { code: 'invalid_org', message: parsed.error.message } }, 400);
    return c.json(state.seed(parsed.data));
  });
  app.post('/__emulator/faults', async (c) => {
    const parsed = faultsBody.safeParse(await c.req.json());
    if (!parsed.success) return c.json({ error: { code: 'invalid_fault', message: parsed.error.message } }, 400);
    faults.add('faults' in parsed.data ? parsed.data.faults : [parsed.data]);
    return c.json({ active: faults.list() });
  });
  app.delete('/__emulator/faults', (c) => {
    faults.clear();
    return c.json({ active: [] });
  });
  app.get('/__emulator/stats', (c) => c.json(state.stats));
  app.post('/__emulator/stats/reset', (c) => {
    state.resetStats();
    return c.json({ ok: true });
  });
  app.put('/__emulator/limits', async (c) => {
    const raw: unknown = await c.req.json();
    const parsed = limitsBody.safeParse(raw);
    if (!parsed.success) return c.json({ error: { code: 'invalid_limits', message: parsed.error.message } }, 400);
    limiter.config = { ...limiter.config, ...parsed.data };
    limiter.reset();
    return c.json(limiter.config);
  });
  app.get('/__emulator/objects/:type/:id', (c) => {
    const type = resolveType(c.req.param('type'));
    const obj = type ? state.objects[type].byId.get(c.req.param('id')) : undefined;
    if (!type || !obj) return c.json({ error: { code: 'not_found', message: 'no such object' } }, 404);
    const associations = Object.fromEntries(OBJECT_TYPES.filter((t) => t !== type).map((t) => [t, state.associationsOf(type, t, obj.id) ?? []]));
    return c.json({ type, ...obj, createdAt: new Date(obj.createdAt).toISOString(), updatedAt: new Date(obj.updatedAt).toISOString(), associations });
  });

  // ---- gateway: counting, auth, faults, rate limits ----
  app.use('/crm/*', async (c, next) => {
    const key = endpointKey(c.req.method, c.req.path);
    state.stats.calls[key] = (state.stats.calls[key] ?? 0) + 1;
    state.stats.total++;
    const token = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (!token || (opts.tokens && !opts.tokens.includes(token))) {
      return hubspotError(c, 401, 'INVALID_AUTHENTICATION', 'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview');
    }
    const fault = faults.take(c.req.path);
    if (fault?.kind === 'auth') return hubspotError(c, 401, 'INVALID_AUTHENTICATION', 'The OAuth token used to make this call expired or was revoked.');
    if (fault?.kind === 'status') return hubspotError(c, fault.status, fault.status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST', 'internal error');
    if (fault?.kind === 'drop') {
      c.env.incoming.socket.destroy();
      return new Promise<Response>(() => {});
    }
    if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms));
    const verdict = fault?.kind === 'rate_limit'
      ? { ok: false as const, policy: fault.policy, headers: limiter.headers(token, now()) }
      : limiter.take(token, now(), c.req.path.endsWith('/search'));
    if (!verdict.ok) {
      state.stats.rateLimited++;
      return c.json({ status: 'error', message: RATE_MESSAGES[verdict.policy], errorType: 'RATE_LIMIT', correlationId: crypto.randomUUID(), policyName: verdict.policy }, 429, verdict.headers);
    }
    await next();
    if (fault?.kind === 'lose_response') {
      c.env.incoming.socket.destroy();
      return new Promise<Response>(() => {});
    }
    for (const [k, v] of Object.entries(verdict.headers)) c.res.headers.set(k, v);
  });
  app.route('/', hubspotApi({ state, faults, now }));
  app.notFound((c) => hubspotError(c, 404, 'OBJECT_NOT_FOUND', `No route for ${c.req.method} ${c.req.path} in the HubSpot emulator.`));

  return { app, state, faults, limiter };
}

const limitsBody = z.object({ perTenSeconds: z.number().int().positive(), daily: z.number().int().positive(), searchPerSecond: z.number().int().positive() }).partial();

export async function startHubspotEmulator(opts: HubspotEmulatorOptions = {}): Promise<HubspotEmulator> {
  const { app, state, faults, limiter } = createHubspotEmulatorApp(opts);
  const host = opts.host ?? '127.0.0.1';
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: opts.port ?? 0, hostname: host }, (info: AddressInfo) => {
      resolve({
        url: `http://${host}:${info.port}`,
        state,
        faults,
        limiter,
        close: () =>
          new Promise<void>((done, fail) => {
            if ('closeAllConnections' in server) server.closeAllConnections();
            server.close((err) => (err ? fail(err) : done()));
          }),
      });
    });
  });
}

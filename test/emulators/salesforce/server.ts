/**
 * Stateful Salesforce emulator over real HTTP (Hono on Node). One middleware does what every real API call goes through:
 * call statistics, injected faults, session check (401 INVALID_SESSION_ID), the daily API allowance (403
 * REQUEST_LIMIT_EXCEEDED) and the Sforce-Limit-Info header; the route modules hold the endpoints.
 */
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { bulkRoutes } from './bulk';
import { controlRoutes } from './control';
import { type EmuEnv, endpointPath, sfError, statsKey } from './http';
import { metadataRoutes, soapFault } from './metadata';
import { oauthRoutes } from './oauth';
import { restRoutes } from './rest';
import { SalesforceState } from './state';

export { SalesforceState } from './state';

export interface SalesforceEmulatorOptions {
  /** 0 = any free port. */
  port?: number;
  dailyApiLimit?: number;
  multiCurrency?: boolean;
  /** Enforce field-level security on fields created through the Metadata API (see StateOptions). */
  fieldSecurity?: boolean;
}

const isApiPath = (p: string) => p.startsWith('/services/data/') || p.startsWith('/services/Soap/');

export function createSalesforceApp(state: SalesforceState, baseUrl: () => string) {
  const app = new Hono<EmuEnv>();

  app.use('*', async (c, next) => {
    const path = new URL(c.req.url).pathname;
    if (path.startsWith('/__emulator')) return next();
    const key = statsKey(c.req.method, path);
    state.stats.calls[key] = (state.stats.calls[key] ?? 0) + 1;
    const endpoint = endpointPath(path);
    const fault = state.faults.find((f) => f.remaining > 0 && endpoint.startsWith(f.pathPrefix));
    if (fault) {
      fault.remaining--;
      state.faults = state.faults.filter((f) => f.remaining > 0);
      if (fault.kind === 'drop') {
        c.env.incoming.socket.destroy();
        // The socket is gone; this promise never settles so nothing tries to write a response.
        return new Promise<never>(() => {});
      }
      if (fault.kind === 'slow') await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.kind === 'status') {
        const status = fault.status === 500 ? 500 : fault.status === 502 ? 502 : 503;
        // Each surface fails in its own dialect: SOAP faults on the Metadata API, an HTML page from the login servers
        // (and from anything when a proxy or maintenance page answers instead of Salesforce).
        if (fault.html) return c.html('<html><body>Service Unavailable</body></html>', status);
        if (path.startsWith('/services/Soap/')) {
          c.header('Content-Type', 'text/xml');
          return c.body(soapFault(fault.errorCode, 'Injected server error'), status);
        }
        if (!isApiPath(path)) return c.html('<html><body>Service Unavailable</body></html>', status);
        return sfError(c, status, fault.errorCode, 'Injected server error');
      }
    }
    if (!isApiPath(path)) return next();
    const soap = path.startsWith('/services/Soap/');
    // SOAP carries the session in the envelope's SessionHeader, REST in the Authorization header.
    const token = soap
      ? /<sessionId>([^<]*)<\/sessionId>/.exec(await c.req.text())?.[1]
      : /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1];
    if (!token || !state.tokens.has(token)) {
      if (soap) {
        c.header('Content-Type', 'text/xml');
        return c.body(soapFault('INVALID_SESSION_ID', 'Invalid Session ID found in SessionHeader: Illegal Session'), 500);
      }
      return sfError(c, 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    }
    if (state.apiUsed >= state.dailyApiLimit) {
      c.header('Sforce-Limit-Info', `api-usage=${state.apiUsed}/${state.dailyApiLimit}`);
      return sfError(c, 403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
    }
    state.apiUsed++;
    await next();
    if (fault?.kind === 'lose_response') {
      c.env.incoming.socket.destroy();
      return new Promise<never>(() => {});
    }
    if (fault?.kind === 'fail_after_apply') {
      c.res = undefined;
      c.res = sfError(c, fault.status === 500 ? 500 : fault.status === 502 ? 502 : 503, fault.errorCode, 'Injected server error after the request was applied');
      return;
    }
    c.header('Sforce-Limit-Info', `api-usage=${state.apiUsed}/${state.dailyApiLimit}`);
  });

  app.route('/', controlRoutes(state));
  app.route('/', oauthRoutes(state, baseUrl));
  app.route('/', restRoutes(state));
  app.route('/', bulkRoutes(state));
  app.route('/', metadataRoutes(state));
  app.notFound((c) => sfError(c, 404, 'NOT_FOUND', 'The requested resource does not exist'));
  return app;
}

export async function startSalesforceEmulator(opts: SalesforceEmulatorOptions = {}): Promise<{ url: string; close(): Promise<void>; state: SalesforceState }> {
  const state = new SalesforceState({
    dailyApiLimit: opts.dailyApiLimit ?? 15_000,
    ...(opts.multiCurrency ? { multiCurrency: true } : {}),
    ...(opts.fieldSecurity ? { fieldSecurity: true } : {}),
  });
  let url = '';
  const app = createSalesforceApp(state, () => url);
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: opts.port ?? 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : opts.port}`;
  return {
    url,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        // Slow-response faults may hold sockets open; don't wait for them.
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

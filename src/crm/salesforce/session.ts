/**
 * One authenticated jsforce Connection plus the discipline jsforce lacks in a Worker: every call gets a timeout, a rate
 * gate and retries decided by decideSalesforceRetry; INVALID_SESSION_ID re-authenticates once (jsforce's own session
 * refresh is switched off: without a refresh token it just fails, and on a persistent 401 it can loop).
 * jsforce's Node transport retries GETs by itself (undici, 500 ms·2^n); we pass maxRetries 0 so the only retry policy is
 * ours and Node behaves like workerd, where jsforce's fetch transport never retries.
 */
// The core entry plus the one API module we use: the full 'jsforce' entry also bundles streaming (faye), bulk v1, chatter…
import { Connection, type HttpRequest, type HttpResponse } from 'jsforce/core';
import { importPKCS8, SignJWT } from 'jose';
import type { z } from 'zod';
import { callWithRetry, type RateGate, sleep as realSleep, withTimeout } from '../call';
import { CrmStopError } from '../types';
import { decideSalesforceRetry, parseLimitInfo } from './retry';

export type SalesforceAuth =
  | { kind: 'client_credentials'; clientId: string; clientSecret: string }
  | { kind: 'jwt_bearer'; clientId: string; username: string; privateKeyPem: string; audience?: string };

export interface SessionOptions {
  loginUrl: string;
  /** Overrides the instance_url of the token response (e.g. a My Domain URL behind a proxy). */
  instanceUrl?: string;
  auth: SalesforceAuth;
  /** e.g. '62.0'. */
  apiVersion?: string;
  gate?: RateGate;
  /**
   * API calls of the org's 24-hour allowance to leave for everything else (other integrations, users' tools): once the
   * last Sforce-Limit-Info says fewer remain, the run stops with CrmStopError('request_limit') before Salesforce does.
   */
  reserveApiCalls?: number;
  timeoutMs?: number;
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_API_VERSION = '62.0';

/**
 * The JWT `aud` Salesforce expects is the login server, not a My Domain URL: test.salesforce.com for sandboxes,
 * login.salesforce.com for production orgs; anything else (an emulator, a proxy) gets its own URL.
 */
export function defaultAudience(loginUrl: string): string {
  const host = new URL(loginUrl).hostname.toLowerCase();
  if (host === 'test.salesforce.com' || host.endsWith('.sandbox.my.salesforce.com')) return 'https://test.salesforce.com';
  if (host === 'login.salesforce.com' || host.endsWith('.my.salesforce.com') || host.endsWith('.salesforce.com')) return 'https://login.salesforce.com';
  return loginUrl.replace(/\/+$/, '');
}
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** jsforce request options: no transport-level retries (see file comment). */
const NO_TRANSPORT_RETRY = { retry: { maxRetries: 0 } };

export class SalesforceSession {
  readonly conn: Connection;
  readonly version: string;
  /** HTTP attempts made, token requests included. */
  calls = 0;
  /** Last `Sforce-Limit-Info: api-usage=used/limit` seen on any response. */
  apiUsage: { used: number; limit: number } | null = null;
  private readonly lastHeaders = new Map<string, Record<string, string>>();
  private authenticating: Promise<void> | null = null;

  constructor(private readonly opts: SessionOptions) {
    this.version = opts.apiVersion ?? DEFAULT_API_VERSION;
    const oauth2 =
      opts.auth.kind === 'client_credentials'
        ? { loginUrl: opts.loginUrl, clientId: opts.auth.clientId, clientSecret: opts.auth.clientSecret }
        : { loginUrl: opts.loginUrl, clientId: opts.auth.clientId };
    this.conn = new Connection({ oauth2, version: this.version, ...(opts.instanceUrl ? { instanceUrl: opts.instanceUrl } : {}) });
    this.conn._refreshDelegate = undefined;
    this.observeResponses();
  }

  get dataPath(): string {
    return `/services/data/v${this.version}`;
  }

  /** Response headers of the last completed request to `url` (Bulk 2.0 needs Sforce-Locator, which jsforce drops). */
  headersOf(url: string): Record<string, string> | undefined {
    return this.lastHeaders.get(url);
  }

  /** Wraps the connection's transport to see every response's headers; the StreamPromise jsforce expects is returned as is. */
  private observeResponses(): void {
    const transport = this.conn._transport;
    const original = transport.httpRequest.bind(transport);
    transport.httpRequest = (req: HttpRequest, options?: object) => {
      const pending = original(req, options);
      Promise.resolve(pending).then(
        (res: HttpResponse) => {
          const usage = parseLimitInfo(res.headers['sforce-limit-info']);
          if (usage) this.apiUsage = usage;
          // The org's 24-hour allowance is shared with every other integration: tell the shared gate once it runs low.
          if (usage && usage.used >= usage.limit * 0.9) this.opts.gate?.observe?.(res.statusCode, res.headers).catch(() => {});
          const url = new URL(req.url);
          this.lastHeaders.set(url.pathname + url.search, res.headers);
          // Only the last few are ever read (right after their own request); keep the map from growing with every URL.
          if (this.lastHeaders.size > 20) this.lastHeaders.delete(this.lastHeaders.keys().next().value!);
        },
        () => {},
      );
      return pending;
    };
  }

  private async requestToken(): Promise<void> {
    this.calls++;
    const { auth } = this.opts;
    if (auth.kind === 'client_credentials') {
      await this.conn.authorize({ grant_type: 'client_credentials' });
    } else {
      const key = await importPKCS8(auth.privateKeyPem, 'RS256');
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer(auth.clientId)
        .setSubject(auth.username)
        .setAudience(auth.audience ?? defaultAudience(this.opts.loginUrl))
        .setExpirationTime('3m')
        .sign(key);
      await this.conn.authorize({ grant_type: JWT_BEARER, assertion });
    }
    if (this.opts.instanceUrl) this.conn.instanceUrl = this.opts.instanceUrl;
  }

  /** Authenticates once for all concurrent callers; `staleToken` skips the work if someone already replaced that token. */
  private authenticate(staleToken: string | null): Promise<void> {
    if (staleToken !== null && this.conn.accessToken && this.conn.accessToken !== staleToken) return Promise.resolve();
    // Bounded on its own: callers share this promise, and a token request that never settles (jsforce on a refused
    // connection) would otherwise keep every later attempt waiting on it after their own timeouts fired.
    this.authenticating ??= withTimeout(() => this.requestToken(), this.opts.timeoutMs ?? 30_000).finally(() => {
      this.authenticating = null;
    });
    return this.authenticating;
  }

  private checkReserve(): void {
    const reserve = this.opts.reserveApiCalls ?? 0;
    if (!this.apiUsage || reserve <= 0) return;
    const { used, limit } = this.apiUsage;
    if (limit - used <= reserve) {
      throw new CrmStopError('request_limit', `Salesforce API usage is ${used}/${limit}; the last ${reserve} calls are reserved for other integrations, so the run stops here`);
    }
  }

  /** Runs one API operation with auth, timeout, gate and retries. */
  async call<T>(op: (conn: Connection) => Promise<T>, opts: { idempotent?: boolean } = {}): Promise<T> {
    const ctx = { reauthed: false };
    let staleToken: string | null = null;
    return callWithRetry(
      async () => {
        if (staleToken !== null || !this.conn.accessToken) {
          await this.authenticate(staleToken);
          if (staleToken !== null) ctx.reauthed = true;
          staleToken = null;
        }
        this.checkReserve();
        this.calls++;
        return op(this.conn);
      },
      {
        decide: (error, attempt) => decideSalesforceRetry(error, attempt, ctx),
        onRetry: ({ reason }) => {
          if (reason === 'session_expired') staleToken = this.conn.accessToken ?? '';
        },
        ...(this.opts.gate ? { gate: this.opts.gate } : {}),
        timeoutMs: this.opts.timeoutMs ?? 30_000,
        maxAttempts: this.opts.maxAttempts ?? 5,
        sleep: this.opts.sleep ?? realSleep,
        idempotent: opts.idempotent ?? true,
      },
    );
  }

  /**
   * A REST request whose JSON answer is validated with `schema` (validation failures are not retried). Writes pass
   * `idempotent: false`: a failure that may have been applied then throws InDoubtError instead of re-sending.
   */
  async request<S extends z.ZodType>(
    schema: S,
    req: { method: 'GET' | 'POST' | 'PATCH'; url: string; body?: unknown; headers?: Record<string, string> },
    opts: { idempotent?: boolean } = {},
  ): Promise<z.output<S>> {
    const raw = await this.call((conn) =>
      conn.request<unknown>(
        {
          method: req.method,
          url: req.url,
          headers: { ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...req.headers },
          ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
        },
        NO_TRANSPORT_RETRY,
      ),
      opts,
    );
    return schema.parse(raw);
  }
}

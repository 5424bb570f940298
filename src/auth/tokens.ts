import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/types';
import { ApiError } from '../http/errors';
import { sha256Hex } from '../ids';
import { findActiveTokenByHash, touchToken } from '../store/tokens';
import { hasScope, parseScopes, type Principal, type Scope } from './scopes';

const TOKEN_PREFIX = 'ci_';

/** A new API token secret: 32 random bytes, base64url. Only its SHA-256 is stored. */
export function generateTokenSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return TOKEN_PREFIX + btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Constant-time comparison of two equal-length hex digests. */
function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export async function authenticate(db: D1Database, bearer: string, adminToken: string | undefined): Promise<Principal | null> {
  const hash = await sha256Hex(bearer);
  if (adminToken && digestsEqual(hash, await sha256Hex(adminToken))) {
    return { kind: 'bootstrap', id: 'bootstrap-admin', name: 'bootstrap admin token', scopes: new Set<Scope>(['admin']) };
  }
  const row = await findActiveTokenByHash(db, hash);
  if (!row) return null;
  return { kind: 'token', id: row.id, name: row.name, scopes: new Set(parseScopes(row.scopes)) };
}

/** Bearer-token guard for one scope. 401 without valid credentials, 403 with credentials lacking the scope. */
export function requireScope(scope: Scope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    let principal = c.get('principal');
    if (!principal) {
      const header = c.req.header('authorization') ?? '';
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) throw new ApiError(401, 'unauthenticated', 'missing Authorization: Bearer <token> header');
      principal = (await authenticate(c.env.DB, match[1]!, c.get('config').ADMIN_TOKEN)) ?? undefined;
      if (!principal) throw new ApiError(401, 'unauthenticated', 'the API token is unknown or revoked');
      c.set('principal', principal);
      if (principal.kind === 'token') c.executionCtx.waitUntil(touchToken(c.env.DB, principal.id));
    }
    if (!hasScope(principal, scope)) {
      throw new ApiError(403, 'forbidden', `this route needs the "${scope}" scope`);
    }
    await next();
  };
}

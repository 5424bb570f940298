import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import * as z from 'zod';
import type { Config } from '../env';
import type { AppEnv } from '../http/types';
import { hasScope, ROLE_SCOPES, ROLES, type Principal, type Role } from './scopes';

/**
 * Sessions for people using the web app. In production people arrive through Cloudflare Access (see access.ts, which
 * creates the same Principal); locally a dev sign-in issues a signed cookie. Machines use Bearer tokens on /v1/*.
 */
const COOKIE = 'ci_session';
const SESSION_HOURS = 12;

const sessionSchema = z.object({ sub: z.string().min(1), name: z.string(), role: z.enum(ROLES), exp: z.number(), sid: z.string() });
export type Session = z.infer<typeof sessionSchema>;

const enc = new TextEncoder();
const b64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const fromB64url = (s: string) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0));

/** The key signing sessions and CSRF tokens: SESSION_SECRET, else derived from ADMIN_TOKEN (both secrets). */
async function key(config: Config): Promise<CryptoKey> {
  const secret = config.SESSION_SECRET ?? (config.ADMIN_TOKEN ? `session:${config.ADMIN_TOKEN}` : null);
  if (!secret) throw new Error('SESSION_SECRET (or ADMIN_TOKEN) must be set to sign people in');
  return crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

export async function signSession(config: Config, s: Omit<Session, 'exp' | 'sid'>): Promise<string> {
  const session: Session = { ...s, exp: Date.now() + SESSION_HOURS * 3_600_000, sid: crypto.randomUUID() };
  const body = b64url(enc.encode(JSON.stringify(session)));
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await key(config), enc.encode(body)));
  return `${body}.${b64url(mac)}`;
}

/**
 * A signature for a notice a page shows after a redirect (?done= / ?error=), so a link crafted elsewhere cannot put an
 * official-looking message on our pages.
 */
export async function signNotice(config: Config, text: string): Promise<string> {
  return b64url(new Uint8Array(await crypto.subtle.sign('HMAC', await key(config), enc.encode(`notice:${text}`)))).slice(0, 22);
}

export async function verifySession(config: Config, token: string | undefined): Promise<Session | null> {
  if (!token) return null;
  const [body, mac] = token.split('.');
  if (!body || !mac) return null;
  try {
    if (!(await crypto.subtle.verify('HMAC', await key(config), fromB64url(mac), enc.encode(body)))) return null;
    const parsed = sessionSchema.safeParse(JSON.parse(new TextDecoder().decode(fromB64url(body))));
    return parsed.success && parsed.data.exp > Date.now() ? parsed.data : null;
  } catch {
    return null;
  }
}

export function personPrincipal(sub: string, name: string, role: Role): Principal {
  return { kind: 'person', id: sub, name, scopes: new Set(ROLE_SCOPES[role]) };
}

/** Dev sign-in exists only when ENVIRONMENT=development and the request reaches the Worker on a loopback host. */
export function devSignInAllowed(c: Context<AppEnv>): boolean {
  const host = new URL(c.req.url).hostname;
  return c.get('config').ENVIRONMENT === 'development' && (host === '127.0.0.1' || host === 'localhost' || host === '[::1]');
}

export async function startSession(c: Context<AppEnv>, sub: string, name: string, role: Role) {
  const secure = new URL(c.req.url).protocol === 'https:';
  setCookie(c, COOKIE, await signSession(c.get('config'), { sub, name, role }), {
    httpOnly: true, sameSite: 'Lax', secure, path: '/', maxAge: SESSION_HOURS * 3600,
  });
}

export function endSession(c: Context<AppEnv>) {
  deleteCookie(c, COOKIE, { path: '/' });
}

/** Resolves the signed-in person (Cloudflare Access first, then the session cookie) into c.get('principal'). */
export function loadPerson(accessPrincipal?: (c: Context<AppEnv>) => Promise<Principal | null>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!c.get('principal')) {
      const viaAccess = accessPrincipal ? await accessPrincipal(c) : null;
      const session = viaAccess ? null : await verifySession(c.get('config'), getCookie(c, COOKIE));
      const principal = viaAccess ?? (session ? personPrincipal(session.sub, session.name, session.role) : null);
      if (principal) {
        c.set('principal', principal);
        if (session) c.set('sessionId', session.sid);
      }
    }
    await next();
  };
}

const ROLE_SCOPE: Record<Role, 'read' | 'configure' | 'admin'> = { viewer: 'read', editor: 'configure', admin: 'admin' };

/** Page guard: not signed in → the sign-in page; signed in without the role → 403. */
export function requireRole(role: Role): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get('principal');
    if (!principal) {
      const next = encodeURIComponent(new URL(c.req.url).pathname + new URL(c.req.url).search);
      return c.redirect(`/signin?next=${next}`, 302);
    }
    if (!hasScope(principal, ROLE_SCOPE[role])) {
      return c.html(`<!doctype html><title>Not allowed</title><p>This page needs the ${role} role.</p><p><a href="/">Back</a></p>`, 403);
    }
    await next();
  };
}

/** CSRF token bound to the session: an HMAC of the session id, checked on every form post. */
export async function csrfToken(c: Context<AppEnv>): Promise<string> {
  const sid = c.get('sessionId') ?? c.get('principal')?.id ?? 'anonymous';
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await key(c.get('config')), enc.encode(`csrf:${sid}`)));
  return b64url(mac);
}

export function requireCsrf(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method === 'POST') {
      const form = await c.req.parseBody();
      const sent = typeof form._csrf === 'string' ? form._csrf : c.req.header('x-csrf-token');
      if (!sent || sent !== (await csrfToken(c))) {
        return c.html('<!doctype html><title>Expired form</title><p>This form has expired or did not come from this app. Go back, reload and try again.</p>', 403);
      }
    }
    await next();
  };
}

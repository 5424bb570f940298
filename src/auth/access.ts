import type { Context } from 'hono';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import * as z from 'zod';
import type { Config } from '../env';
import type { AppEnv } from '../http/types';
import type { Principal, Role } from './scopes';
import { personPrincipal } from './session';

/**
 * People sign in through Cloudflare Access: every request carries `Cf-Access-Jwt-Assertion`, an RS256 JWT for the
 * application's audience, signed by the team's keys (https://<team>.cloudflareaccess.com/cdn-cgi/access/certs).
 * ACCESS_ROLES maps emails, email domains and Access groups to roles; the highest matching role wins.
 */
const rules = z.array(z.string().min(1)).optional();
export const accessRolesSchema = z.strictObject({ admin: rules, editor: rules, viewer: rules });
export type AccessRoles = z.infer<typeof accessRolesSchema>;

const claimsSchema = z.object({
  email: z.string().min(3),
  name: z.string().optional(),
  groups: z.array(z.union([z.string(), z.object({ name: z.string() }).loose()])).optional(),
});

export function roleFor(roles: AccessRoles, email: string, groups: string[]): Role | null {
  const e = email.toLowerCase();
  const domain = e.split('@')[1] ?? '';
  const matches = (rule: string) => {
    const r = rule.toLowerCase();
    if (r.startsWith('group:')) return groups.map((g) => g.toLowerCase()).includes(r.slice(6));
    if (r.startsWith('*@')) return domain === r.slice(2);
    return e === r;
  };
  for (const role of ['admin', 'editor', 'viewer'] as const) {
    if ((roles[role] ?? []).some(matches)) return role;
  }
  return null;
}

const keySets = new Map<string, JWTVerifyGetKey>();

function keysFor(config: Config): JWTVerifyGetKey {
  const cacheKey = config.ACCESS_JWKS ?? config.ACCESS_TEAM_DOMAIN!;
  let keys = keySets.get(cacheKey);
  if (!keys) {
    keys = config.ACCESS_JWKS
      ? createLocalJWKSet(JSON.parse(config.ACCESS_JWKS) as Parameters<typeof createLocalJWKSet>[0])
      : createRemoteJWKSet(new URL('/cdn-cgi/access/certs', config.ACCESS_TEAM_DOMAIN));
    keySets.set(cacheKey, keys);
  }
  return keys;
}

/** The person behind a valid Access JWT with a mapped role; null when there is no (valid) assertion or no role. */
export async function accessPrincipal(c: Context<AppEnv>): Promise<Principal | null> {
  const config = c.get('config');
  const token = c.req.header('cf-access-jwt-assertion');
  if (!token || !config.ACCESS_TEAM_DOMAIN || !config.ACCESS_AUD) return null;
  try {
    const { payload } = await jwtVerify(token, keysFor(config), {
      issuer: config.ACCESS_TEAM_DOMAIN.replace(/\/+$/, ''),
      audience: config.ACCESS_AUD,
      algorithms: ['RS256'],
    });
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) return null;
    const groups = (claims.data.groups ?? []).map((g) => (typeof g === 'string' ? g : g.name));
    const role = roleFor(config.ACCESS_ROLES, claims.data.email, groups);
    if (!role) {
      c.get('log').warn('access user has no role', { email: claims.data.email });
      return null;
    }
    return personPrincipal(claims.data.email, claims.data.name ?? claims.data.email, role);
  } catch (error) {
    c.get('log').warn('access assertion rejected', { error });
    return null;
  }
}

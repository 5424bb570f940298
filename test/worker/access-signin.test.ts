import { env } from 'cloudflare:workers';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { accessPrincipal, roleFor } from '../../src/auth/access';
import { loadConfig } from '../../src/env';
import type { AppEnv } from '../../src/http/types';
import { createLogger } from '../../src/log';
import { Hono } from 'hono';

/** Cloudflare Access assertions verified against pinned keys (ACCESS_JWKS), roles from ACCESS_ROLES. */
const TEAM = 'https://acme.cloudflareaccess.com';
const AUD = 'aud-tag-123';

async function setup() {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' };
  const config = loadConfig({
    ...env,
    ACCESS_TEAM_DOMAIN: TEAM,
    ACCESS_AUD: AUD,
    ACCESS_JWKS: JSON.stringify({ keys: [jwk] }),
    ACCESS_ROLES: JSON.stringify({ admin: ['ana@acme.io'], editor: ['group:revops'], viewer: ['*@acme.io'] }),
  });
  const sign = (claims: Record<string, unknown>, opts: { aud?: string; iss?: string; key?: CryptoKey; exp?: string } = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(opts.iss ?? TEAM).setAudience(opts.aud ?? AUD)
      .setIssuedAt().setExpirationTime(opts.exp ?? '5m').sign(opts.key ?? privateKey);
  const app = new Hono<AppEnv>();
  app.use('*', async (c, next) => {
    c.set('config', config);
    c.set('log', createLogger({}, 'error'));
    await next();
  });
  app.get('/', async (c) => {
    const p = await accessPrincipal(c);
    return c.json(p ? { id: p.id, scopes: [...p.scopes] } : null);
  });
  const who = async (token?: string) =>
    (await app.request('/', { headers: token ? { 'cf-access-jwt-assertion': token } : {} })).json<{ id: string; scopes: string[] } | null>();
  return { sign, who };
}

describe('Cloudflare Access sign-in', () => {
  it('maps verified people to roles and refuses everything else', async () => {
    const { sign, who } = await setup();
    expect(await who(await sign({ email: 'ana@acme.io' }))).toEqual({ id: 'ana@acme.io', scopes: ['admin'] });
    expect(await who(await sign({ email: 'bo@acme.io', groups: ['revops'] }))).toEqual({ id: 'bo@acme.io', scopes: ['read', 'configure'] });
    expect(await who(await sign({ email: 'cy@acme.io' }))).toEqual({ id: 'cy@acme.io', scopes: ['read'] });
    expect(await who(await sign({ email: 'eve@evil.io' }))).toBeNull(); // no role
    expect(await who(await sign({ email: 'ana@acme.io' }, { aud: 'other-app' }))).toBeNull();
    expect(await who(await sign({ email: 'ana@acme.io' }, { iss: 'https://evil.cloudflareaccess.com' }))).toBeNull();
    expect(await who(await sign({ email: 'ana@acme.io' }, { exp: '-1m' }))).toBeNull();
    const stranger = (await generateKeyPair('RS256')).privateKey;
    expect(await who(await sign({ email: 'ana@acme.io' }, { key: stranger }))).toBeNull();
    expect(await who('not-a-jwt')).toBeNull();
    expect(await who()).toBeNull();
  });

  it('role rules: exact email beats domain, groups match case-insensitively', () => {
    const roles = { admin: ['Ana@Acme.io'], editor: ['group:RevOps'], viewer: ['*@acme.io'] };
    expect(roleFor(roles, 'ana@acme.io', [])).toBe('admin');
    expect(roleFor(roles, 'x@acme.io', ['revops'])).toBe('editor');
    expect(roleFor(roles, 'x@acme.io', [])).toBe('viewer');
    expect(roleFor(roles, 'x@acme.io.evil.com', [])).toBeNull();
  });
});

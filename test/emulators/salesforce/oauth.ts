/**
 * OAuth 2.0 token endpoint (client credentials and JWT bearer) and the identity URL. The token response carries `id`
 * (`<login>/id/<orgId>/<userId>`) because jsforce derives the user and org from it after every authorize.
 */
import { Hono } from 'hono';
import { importSPKI, jwtVerify } from 'jose';
import type { EmuEnv } from './http';
import type { SalesforceState } from './state';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function tokenFor(state: SalesforceState): string {
  // Real access tokens are `<orgId>!<opaque>`; not a JWT, which jsforce's SOAP client would refuse below v68.
  const token = `${state.orgId.slice(0, 15)}!${crypto.randomUUID().replace(/-/g, '')}`;
  state.tokens.add(token);
  state.stats.tokensIssued++;
  return token;
}

export function oauthRoutes(state: SalesforceState, baseUrl: () => string) {
  const app = new Hono<EmuEnv>();

  app.post('/services/oauth2/token', async (c) => {
    const form = new URLSearchParams(await c.req.text());
    const grant = form.get('grant_type');
    const oauthError = (error: string, description: string) => c.json({ error, error_description: description }, 400);
    let clientId: string | null = null;
    if (grant === 'client_credentials') {
      clientId = form.get('client_id');
      const app = clientId ? state.apps.get(clientId) : undefined;
      if (!app || app.clientSecret === null || app.clientSecret !== form.get('client_secret')) {
        return oauthError('invalid_client', 'invalid client credentials');
      }
    } else if (grant === JWT_BEARER) {
      const assertion = form.get('assertion') ?? '';
      try {
        const [, payloadPart] = assertion.split('.');
        const claims: unknown = JSON.parse(Buffer.from(payloadPart ?? '', 'base64url').toString('utf8'));
        const iss = typeof claims === 'object' && claims !== null && 'iss' in claims ? String(claims.iss) : '';
        const app = state.apps.get(iss);
        if (!app?.publicKeyPem) return oauthError('invalid_client_id', 'client identifier invalid');
        const key = await importSPKI(app.publicKeyPem, 'RS256');
        const { payload } = await jwtVerify(assertion, key, { issuer: iss, audience: [baseUrl(), 'https://login.salesforce.com', 'https://test.salesforce.com'], requiredClaims: ['exp', 'sub'] });
        if (!payload.sub) return oauthError('invalid_grant', 'user hasn\'t approved this consumer');
        clientId = iss;
      } catch {
        return oauthError('invalid_grant', 'invalid assertion');
      }
    } else {
      return oauthError('unsupported_grant_type', 'grant type not supported');
    }
    const issuedAt = String(Date.now());
    const url = baseUrl();
    return c.json({
      access_token: tokenFor(state),
      instance_url: url,
      id: `${url}/id/${state.orgId}/${state.userId}`,
      token_type: 'Bearer',
      issued_at: issuedAt,
      // Real: base64 HMAC-SHA256 of id + issued_at with the client secret; opaque to clients.
      signature: Buffer.from(`${clientId}:${issuedAt}`).toString('base64'),
      scope: 'api',
    });
  });

  app.get('/id/:orgId/:userId', (c) =>
    c.json({
      id: `${baseUrl()}/id/${state.orgId}/${state.userId}`,
      user_id: state.userId,
      organization_id: state.orgId,
      username: 'integration@emulator.example',
      display_name: 'Integration User',
      active: true,
      urls: { rest: `${baseUrl()}/services/data/v{version}/`, metadata: `${baseUrl()}/services/Soap/m/{version}/${state.orgId.slice(0, 15)}` },
    }),
  );
  return app;
}

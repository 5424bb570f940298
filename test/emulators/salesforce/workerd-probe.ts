/**
 * End-to-end probe of the Salesforce connector inside workerd, against an emulator reached over HTTP: JWT and
 * client-credentials auth, a Bulk 2.0 initial load, deal links, Metadata API provisioning, a write through an expired
 * session and a 503, a dropped connection, a slow response and REQUEST_LIMIT_EXCEEDED. It is what verified jsforce in
 * workerd (docs/crm-salesforce.md); `probeSalesforce(url)` can be called from a worker-project test with
 * inject('salesforceUrl') after seeding, or served as a Worker:
 *   wrangler dev (main = this file, compatibility_flags = ["nodejs_compat"]), then GET /?emu=http://127.0.0.1:8789
 * The emulator should be seeded with more than 2,000 contacts and at least one deal.
 */
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { SalesforceConnector } from '../../../src/crm/salesforce';
import type { CrmContact, PullCursor, PullPage } from '../../../src/crm/types';

export async function probeSalesforce(emu: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const ctl = (path: string, body: unknown) => fetch(`${emu}/__emulator/${path}`, { method: 'POST', body: JSON.stringify(body) });
  const keys = await generateKeyPair('RS256', { extractable: true });
  await ctl('apps', { clientId: 'probe-jwt', publicKeyPem: await exportSPKI(keys.publicKey) });
  const jwt = new SalesforceConnector({
    loginUrl: emu,
    auth: { kind: 'jwt_bearer', clientId: 'probe-jwt', username: 'probe@example.com', privateKeyPem: await exportPKCS8(keys.privateKey) },
    timeoutMs: 1500,
  });
  out.jwtDeals = (await jwt.pull('deals', null)).records.length;

  const sf = new SalesforceConnector({
    loginUrl: emu,
    auth: { kind: 'client_credentials', clientId: 'emulator-client-id', clientSecret: 'emulator-client-secret' },
    timeoutMs: 1500,
    sleep: async () => {},
    bulkPollMs: 1,
  });
  let cursor: PullCursor | null = null;
  let contacts = 0;
  for (;;) {
    const page: PullPage<CrmContact> = await sf.pull('contacts', cursor, 1000);
    contacts += page.records.length;
    cursor = page.cursor;
    if (page.done) break;
  }
  out.contacts = contacts;
  const deals = (await sf.pull('deals', null)).records;
  out.links = (await sf.pullDealLinks(deals.map((d) => d.crmId))).contacts.length;
  out.provision = await sf.provision({ crm: 'salesforce', provision: true, fields: [{ object: 'deal', output: 'score', name: 'Probe_Score__c', label: 'Probe Score', type: 'number' }] }, { dryRun: false });
  await ctl('faults', { expireSession: true, serverErrors: { count: 1, pathPrefix: '/composite' } });
  const written = await sf.write(deals.map((d) => ({ object: 'deal' as const, crmId: d.crmId, fields: { Probe_Score__c: 7 } })));
  out.write = { written: written.written.length, failed: written.failed, calls: written.calls };
  await ctl('faults', { drop: { count: 1, pathPrefix: '/query' } });
  out.afterDrop = (await sf.pull('deals', null)).records.length;
  await ctl('faults', { slow: { count: 1, delayMs: 4000, pathPrefix: '/query' } });
  const started = Date.now();
  out.afterSlow = (await sf.pull('deals', null)).records.length;
  out.slowMs = Date.now() - started;
  await ctl('faults', { requestLimitExceeded: true });
  out.limit = await sf.pull('deals', null).then(
    () => 'no stop',
    (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)),
  );
  out.apiUsage = sf.apiUsage;
  out.calls = sf.calls;
  return out;
}

export default {
  async fetch(req: Request): Promise<Response> {
    const emu = new URL(req.url).searchParams.get('emu');
    if (!emu) return new Response('?emu=<emulator url> required', { status: 400 });
    try {
      return Response.json(await probeSalesforce(emu));
    } catch (e) {
      return Response.json({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }, { status: 500 });
    }
  },
};

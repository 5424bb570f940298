/**
 * `npm start`: the local sandbox (see scripts/sandbox.ts). Ctrl-C stops everything it started.
 * With real CRM credentials in the environment it talks to those CRMs instead of the emulators (README).
 */
import { startSandbox } from './sandbox';

const port = Number(process.env.PORT ?? 8787);
const sandbox = await startSandbox({
  workerPort: port,
  hubspotPort: Number(process.env.HUBSPOT_EMULATOR_PORT ?? 8788),
  salesforcePort: Number(process.env.SALESFORCE_EMULATOR_PORT ?? 8789),
  persistDir: process.env.HUBSPOT_ACCESS_TOKEN || process.env.SALESFORCE_CLIENT_ID ? '.wrangler/state' : undefined,
}).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

const api = async (path: string) =>
  (await fetch(`${sandbox.workerUrl}${path}`, { headers: { authorization: `Bearer ${sandbox.adminToken}` } })).json() as Promise<{
    data: { crm: string; deal_id: string; name: string | null }[];
  }>;
const top = await api('/v1/deals?influenced=1&limit=1').catch(() => ({ data: [] }));
const deal = top.data[0];
const s = sandbox.summary;

console.log(`
community-influence is running locally
  Dashboard         ${sandbox.workerUrl}/            (dev sign-in: pick a name and role)
  API               ${sandbox.workerUrl}/v1/…        (OpenAPI: ${sandbox.workerUrl}/openapi.json)
  HubSpot emulator  ${sandbox.hubspotUrl ?? '(real HubSpot)'}
  Salesforce emul.  ${sandbox.salesforceUrl ?? '(real Salesforce)'}
  Admin token       ${sandbox.adminToken}
${s ? `  Demo org          ${s.companies} companies, ${s.contacts} contacts, ${s.leads} leads, ${s.deals} deals, ${s.activities} community activities\n` : ''}${deal ? `
  One deal's evidence:
    curl -s -H "Authorization: Bearer ${sandbox.adminToken}" ${sandbox.workerUrl}/v1/deals/${deal.crm}/${deal.deal_id}/influence
` : ''}
Ctrl-C stops everything.`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void sandbox.stop().then(() => process.exit(0));
  });
}

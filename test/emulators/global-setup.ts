import { startHubspotEmulator } from './hubspot/server';

/** Starts the CRM emulators for the e2e project on the ports vitest.config.ts chose and passed to the Worker. */
export default async function setup() {
  const hubspot = await startHubspotEmulator({ port: Number(process.env.CI_HUBSPOT_PORT) });
  return async () => {
    await hubspot.close();
  };
}

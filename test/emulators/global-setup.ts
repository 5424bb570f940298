import type { TestProject } from 'vitest/node';
import { startHubspotEmulator } from './hubspot/server';
import { startSalesforceEmulator } from './salesforce/server';

/** Starts the CRM emulators for an e2e project on the ports vitest.config.ts chose and passed to the Worker. */
export default async function setup(project: TestProject) {
  const ports = process.env[`CI_EMULATOR_PORTS_${project.name.replace(/-/g, '_')}`]?.split(',').map(Number);
  if (!ports || ports.length !== 2) throw new Error(`no emulator ports chosen for project ${project.name}`);
  const hubspot = await startHubspotEmulator({ port: ports[0] });
  const salesforce = await startSalesforceEmulator({ port: ports[1] });
  return async () => {
    await Promise.all([hubspot.close(), salesforce.close()]);
  };
}

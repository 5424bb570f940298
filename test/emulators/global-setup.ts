import type { TestProject } from 'vitest/node';
import { startHubspotEmulator } from './hubspot/server';
import { startSalesforceEmulator } from './salesforce/server';

/** Starts both CRM emulators on free ports for the worker tests; tests reach them with inject('hubspotUrl'|'salesforceUrl'). */
export default async function setup(project: TestProject) {
  const hubspot = await startHubspotEmulator({ port: 0 });
  const salesforce = await startSalesforceEmulator({ port: 0 });
  project.provide('hubspotUrl', hubspot.url);
  project.provide('salesforceUrl', salesforce.url);
  return async () => {
    await Promise.all([hubspot.close(), salesforce.close()]);
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    hubspotUrl: string;
    salesforceUrl: string;
  }
}

import type { RateGate } from '../crm/call';
import { HubspotConnector } from '../crm/hubspot';
import { SalesforceConnector, salesforceAuthFromConfig } from '../crm/salesforce';
import type { CrmConnector } from '../crm/types';
import type { Config, CrmName, Env } from '../env';

/** The key of a CRM account's shared rate budget (one CrmBudget Durable Object per key). */
export function accountKeyFor(crm: CrmName, config: Config): string {
  return crm === 'hubspot' ? `hubspot:${config.HUBSPOT_BASE_URL}` : `salesforce:${config.SALESFORCE_LOGIN_URL}:${config.SALESFORCE_CLIENT_ID}`;
}

export type GateFactory = (crm: CrmName, accountKey: string) => RateGate | undefined;

/** Builds the connector for one CRM from configuration. Credentials are checked by connectedCrms() first. */
export function createConnector(crm: CrmName, config: Config, _env: Env, gateFor: GateFactory): CrmConnector {
  if (crm === 'hubspot') {
    return new HubspotConnector({
      accessToken: config.HUBSPOT_ACCESS_TOKEN!,
      baseUrl: config.HUBSPOT_BASE_URL,
      gate: gateFor('hubspot', accountKeyFor('hubspot', config)),
    });
  }
  // JWT bearer when a username and key are set, client credentials otherwise (connectedCrms checked one is complete).
  const auth = salesforceAuthFromConfig(config)!;
  return new SalesforceConnector({
    loginUrl: config.SALESFORCE_LOGIN_URL,
    instanceUrl: config.SALESFORCE_INSTANCE_URL,
    auth,
    gate: gateFor('salesforce', accountKeyFor('salesforce', config)),
  });
}

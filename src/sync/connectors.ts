import { budgetGate } from '../crm/budget/gate';
import { HUBSPOT_LIMITS } from '../crm/budget/limits';
import type { RateGate } from '../crm/call';
import { HubspotConnector } from '../crm/hubspot';
import { SalesforceConnector, salesforceAuthFromConfig } from '../crm/salesforce';
import type { CrmConnector } from '../crm/types';
import { loadConfig, type Config, type CrmName, type Env } from '../env';

/** The key of a CRM account's shared rate budget (one CrmBudget Durable Object per key). */
export function accountKeyFor(crm: CrmName, config: Config): string {
  return crm === 'hubspot' ? `hubspot:${config.HUBSPOT_BASE_URL}` : `salesforce:${config.SALESFORCE_LOGIN_URL}:${config.SALESFORCE_CLIENT_ID}`;
}

export type GateFactory = (crm: CrmName, accountKey: string) => RateGate | undefined;

/** Accounts whose limits this isolate has set from configuration. */
const configured = new Set<string>();

/**
 * Every CRM call of every isolate takes from one budget per CRM account: a Durable Object named by the account key.
 * HubSpot's per-10-second allowance comes from HUBSPOT_REQUESTS_PER_10S (100 by default, 190 on
 * Professional/Enterprise). Each isolate sets it once, whatever the value: the object keeps its limits in storage, so
 * skipping the default would leave an earlier 190 in force after the variable went back to 100.
 */
export function accountGates(env: Env): GateFactory {
  return (crm, accountKey) => {
    const gate = budgetGate(env.CRM_BUDGET, accountKey);
    if (crm !== 'hubspot' || configured.has(accountKey)) return gate;
    const perTen = loadConfig(env).HUBSPOT_REQUESTS_PER_10S;
    const limits = { ...HUBSPOT_LIMITS, buckets: { ...HUBSPOT_LIMITS.buckets, default: { capacity: perTen, windowMs: 10_000 } } };
    return {
      ...gate,
      take: async (bucket, cost) => {
        if (!configured.has(accountKey)) {
          const result = await env.CRM_BUDGET.get(env.CRM_BUDGET.idFromName(accountKey)).configure(limits);
          if (result.ok) configured.add(accountKey);
        }
        return gate.take(bucket, cost);
      },
    };
  };
}

/** Builds the connector for one CRM from configuration. Credentials are checked by connectedCrms() first. */
export function createConnector(crm: CrmName, config: Config, _env: Env, gateFor: GateFactory): CrmConnector {
  if (crm === 'hubspot') {
    return new HubspotConnector({
      accessToken: config.HUBSPOT_ACCESS_TOKEN!,
      baseUrl: config.HUBSPOT_BASE_URL,
      gate: gateFor('hubspot', accountKeyFor('hubspot', config)),
      indexLagMs: config.HUBSPOT_INDEX_LAG_SECONDS * 1000,
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

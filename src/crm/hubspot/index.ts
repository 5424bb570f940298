/** HubSpot connector: the CrmConnector implementation and the pieces the lead's sync, benches and tests use. */
export { HubspotConnector, type HubspotConnectorOptions } from './connector';
export { decideHubspotRetry, isRetryableCategory, nextUtcMidnight } from './retry';
export { createLocalGate, HUBSPOT_DEFAULT_LIMIT, HUBSPOT_SEARCH_LIMIT, type LocalGateOptions, type WindowLimit } from './gate';
export { HubspotApiError, type RateLimitSnapshot } from './transport';
export { BATCH_SIZE, HubspotWriteStopped, SPLIT_CALLS, wireValue } from './write';
export { ASSOCIATION_BATCH } from './links';
export { HUBSPOT_TYPES, planProvision, type HubspotProvisionReport } from './provision';
export { OBJECT_SPECS } from './objects';
export { advance, initialCursor, MAX_SEARCH_LIMIT, pullCursorSchema, searchFor } from './walk';

/** API calls N record writes take when nothing fails: one batch update per 100 records of each object type. */
export function writeCallsFor(records: number): number {
  return Math.ceil(records / 100);
}

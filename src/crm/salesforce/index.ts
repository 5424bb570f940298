/** Salesforce connector: public surface. */
export { SalesforceConnector, type SalesforceConnectorOptions } from './connector';
export type { SalesforceAuth } from './session';
export { decideSalesforceRetry, isRetryableRecordCode, parseLimitInfo, salesforceErrorCode } from './retry';
export { ACCEPTED_TYPES, METADATA_TYPE, planProvision } from './provision';
export { normalisePem, salesforceAuthFromConfig, type SalesforceCredentialVars } from './config';
export { defaultAudience } from './session';

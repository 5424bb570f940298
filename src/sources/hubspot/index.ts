export { verifyHubspotV3, hubspotDecodeUri, HUBSPOT_MAX_AGE_MS, type HubspotVerifyResult } from './verify';

/**
 * Salesforce credentials from Worker configuration (SALESFORCE_* vars/secrets) → the connector's auth option.
 * JWT bearer wins when a username and private key are set; otherwise client credentials.
 */
import type { SalesforceAuth } from './session';

export interface SalesforceCredentialVars {
  SALESFORCE_CLIENT_ID?: string | undefined;
  SALESFORCE_CLIENT_SECRET?: string | undefined;
  SALESFORCE_USERNAME?: string | undefined;
  SALESFORCE_PRIVATE_KEY?: string | undefined;
}

/** PEM keys pasted into a one-line secret often arrive with literal `\n`; restore real line breaks. */
export function normalisePem(pem: string): string {
  return pem.includes('\\n') ? pem.replace(/\\n/g, '\n') : pem;
}

/** Null when the variables don't make up either flow (the CRM is then not connected). */
export function salesforceAuthFromConfig(vars: SalesforceCredentialVars): SalesforceAuth | null {
  const clientId = vars.SALESFORCE_CLIENT_ID;
  if (!clientId) return null;
  if (vars.SALESFORCE_USERNAME && vars.SALESFORCE_PRIVATE_KEY) {
    return { kind: 'jwt_bearer', clientId, username: vars.SALESFORCE_USERNAME, privateKeyPem: normalisePem(vars.SALESFORCE_PRIVATE_KEY) };
  }
  if (vars.SALESFORCE_CLIENT_SECRET) return { kind: 'client_credentials', clientId, clientSecret: vars.SALESFORCE_CLIENT_SECRET };
  return null;
}

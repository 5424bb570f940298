import { describe, expect, it } from 'vitest';
import { CallTimeoutError } from '../../src/crm/call';
import { decideSalesforceRetry, isRetryableRecordCode, parseLimitInfo, salesforceErrorCode } from '../../src/crm/salesforce/retry';
import { salesforceAuthFromConfig } from '../../src/crm/salesforce/config';
import { defaultAudience } from '../../src/crm/salesforce/session';
import { CrmStopError } from '../../src/crm/types';

/** What jsforce throws for a REST error body: an Error whose name and errorCode are Salesforce's code. */
function apiError(errorCode: string, message = 'boom') {
  return Object.assign(new Error(message), { name: errorCode, errorCode });
}

describe('decideSalesforceRetry', () => {
  const retries: [string, unknown, string][] = [
    ['timeout', new CallTimeoutError(100), 'timeout'],
    ['503 SERVER_UNAVAILABLE', apiError('SERVER_UNAVAILABLE'), 'server_error'],
    ['500 UNKNOWN_EXCEPTION', apiError('UNKNOWN_EXCEPTION'), 'server_error'],
    ['HTML 502 page', apiError('ERROR_HTTP_502'), 'server_502'],
    ['row lock on the whole call', apiError('UNABLE_TO_LOCK_ROW'), 'locked'],
    ['undici socket error', new TypeError('fetch failed'), 'network'],
    ['workerd connection lost', new Error('Network connection lost.'), 'network'],
    ['concurrent long-running limit', apiError('REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.'), 'concurrent_limit'],
  ];
  it.each(retries)('%s → retry (%s)', (_name, error, reason) => {
    const d = decideSalesforceRetry(error, 0);
    expect(d).toMatchObject({ retry: true, reason });
  });

  const noRetries: [string, unknown][] = [
    ['400 MALFORMED_QUERY', apiError('MALFORMED_QUERY')],
    ['400 INVALID_FIELD', apiError('INVALID_FIELD')],
    ['404 NOT_FOUND', apiError('NOT_FOUND')],
    ['HTML 404', apiError('ERROR_HTTP_404')],
    ['plain bug', new RangeError('x')],
  ];
  it.each(noRetries)('%s → no retry', (_name, error) => {
    expect(decideSalesforceRetry(error, 0).retry).toBe(false);
  });

  it('INVALID_SESSION_ID re-authenticates once, then stops', () => {
    expect(decideSalesforceRetry(apiError('INVALID_SESSION_ID'), 0, { reauthed: false })).toEqual({ retry: true, reason: 'session_expired', waitMs: 1 });
    expect(decideSalesforceRetry(apiError('ERROR_HTTP_401'), 0, { reauthed: false }).reason).toBe('session_expired');
    expect(decideSalesforceRetry(apiError('sf:INVALID_SESSION_ID'), 0, { reauthed: false }).reason).toBe('session_expired');
    expect(() => decideSalesforceRetry(apiError('INVALID_SESSION_ID'), 1, { reauthed: true })).toThrow(CrmStopError);
  });

  it('REQUEST_LIMIT_EXCEEDED (TotalRequests) stops the run with a clear reason', () => {
    try {
      decideSalesforceRetry(apiError('REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'), 0);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CrmStopError);
      expect((e as CrmStopError).code).toBe('request_limit');
      expect((e as CrmStopError).message).toMatch(/request limit exceeded.*TotalRequests/i);
    }
  });

  it('OAuth failures stop: retrying bad credentials never helps', () => {
    for (const name of ['invalid_client', 'invalid_grant', 'invalid_client_id']) {
      const err = Object.assign(new Error('nope'), { name });
      expect(() => decideSalesforceRetry(err, 0)).toThrow(CrmStopError);
    }
  });

  it('passes CrmStopError through', () => {
    expect(() => decideSalesforceRetry(new CrmStopError('x', 'y'), 0)).toThrow('y');
  });
});

describe('helpers', () => {
  it.each([
    ['UNABLE_TO_LOCK_ROW', true],
    ['UNKNOWN_EXCEPTION', true],
    ['INVALID_FIELD_FOR_INSERT_UPDATE', false],
    ['ENTITY_IS_DELETED', false],
    ['MALFORMED_ID', false],
  ])('record code %s retryable=%s', (code, expected) => expect(isRetryableRecordCode(code)).toBe(expected));

  it('parses Sforce-Limit-Info', () => {
    expect(parseLimitInfo('api-usage=18/15000')).toEqual({ used: 18, limit: 15000 });
    expect(parseLimitInfo('per-app-api-usage=1/10(appName=x), api-usage=7/100')).toEqual({ used: 7, limit: 100 });
    expect(parseLimitInfo(undefined)).toBeNull();
  });

  it('reads codes from jsforce errors', () => {
    expect(salesforceErrorCode(apiError('sf:INVALID_SESSION_ID'))).toBe('INVALID_SESSION_ID');
    expect(salesforceErrorCode('x')).toBeNull();
  });
});

describe('defaultAudience (JWT aud)', () => {
  it.each([
    ['https://login.salesforce.com', 'https://login.salesforce.com'],
    ['https://acme.my.salesforce.com', 'https://login.salesforce.com'],
    ['https://test.salesforce.com/', 'https://test.salesforce.com'],
    ['https://acme--uat.sandbox.my.salesforce.com', 'https://test.salesforce.com'],
    ['http://127.0.0.1:8789/', 'http://127.0.0.1:8789'],
  ])('%s → %s', (login, aud) => expect(defaultAudience(login)).toBe(aud));
});

describe('salesforceAuthFromConfig', () => {
  it('prefers JWT bearer when username and key are set, restoring escaped newlines', () => {
    expect(salesforceAuthFromConfig({ SALESFORCE_CLIENT_ID: 'c', SALESFORCE_USERNAME: 'u', SALESFORCE_PRIVATE_KEY: '-----BEGIN\\nX' })).toEqual({
      kind: 'jwt_bearer',
      clientId: 'c',
      username: 'u',
      privateKeyPem: '-----BEGIN\nX',
    });
  });
  it('falls back to client credentials, and to null without a flow', () => {
    expect(salesforceAuthFromConfig({ SALESFORCE_CLIENT_ID: 'c', SALESFORCE_CLIENT_SECRET: 's' })).toEqual({ kind: 'client_credentials', clientId: 'c', clientSecret: 's' });
    expect(salesforceAuthFromConfig({ SALESFORCE_CLIENT_ID: 'c' })).toBeNull();
    expect(salesforceAuthFromConfig({})).toBeNull();
  });
});

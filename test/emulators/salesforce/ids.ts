/**
 * Salesforce record ids: 3-character key prefix, then a counter, then the 3-character case-safe suffix that turns a
 * 15-character id into the 18-character one the API returns. The counter uses base62 in ASCII order so that comparing ids
 * as strings matches creation order — the connector pages on `Id > :lastId` and relies on a total order.
 */
const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

export const KEY_PREFIX = {
  Account: '001',
  Contact: '003',
  Lead: '00Q',
  Opportunity: '006',
  OpportunityContactRole: '00K',
  PermissionSet: '0PS',
  PermissionSetAssignment: '0Pa',
  User: '005',
  Organization: '00D',
  BulkJob: '750',
} as const;

/** Appends the case-safe checksum: one character per 5-character chunk, encoding which positions are upper case. */
export function toEighteen(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let flags = 0;
    for (let i = 0; i < 5; i++) {
      const ch = id15.charCodeAt(chunk * 5 + i);
      if (ch >= 65 && ch <= 90) flags |= 1 << i;
    }
    suffix += SUFFIX[flags];
  }
  return id15 + suffix;
}

export function makeId(prefix: string, n: number): string {
  let body = '';
  let rest = n;
  for (let i = 0; i < 9; i++) {
    body = DIGITS[rest % 62] + body;
    rest = Math.floor(rest / 62);
  }
  return toEighteen(`${prefix}5g0${body}`);
}

/** True for a well-formed 15- or 18-character id (checksum verified for 18). */
export function isValidId(id: string): boolean {
  if (!/^[0-9A-Za-z]{15}([0-9A-Z]{3})?$/.test(id)) return false;
  return id.length === 15 || toEighteen(id.slice(0, 15)) === id;
}

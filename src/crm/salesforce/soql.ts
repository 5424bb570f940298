/**
 * SOQL text the connector sends, built in one place so quoting and datetime literals are right everywhere.
 * Incremental pulls page on (SystemModstamp, Id): `SystemModstamp > :t OR (SystemModstamp = :t AND Id > :id)`, ordered
 * by both, so a run killed mid-way resumes exactly after the last record it saw even when many share one stamp.
 */

/** Quotes a string literal (SOQL escapes backslash and single quote). */
export function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Salesforce ids are 15/18 alphanumerics; anything else must not reach a query. */
export function assertId(id: string): string {
  if (!/^[0-9A-Za-z]{15}([0-9A-Za-z]{3})?$/.test(id)) throw new Error(`not a Salesforce id: ${JSON.stringify(id)}`);
  return id;
}

/** SOQL datetime literals are unquoted ISO 8601 with a zone; normalise any parseable stamp to UTC with milliseconds. */
export function soqlDatetime(stamp: string): string {
  const ms = Date.parse(stamp.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (Number.isNaN(ms)) throw new Error(`not a datetime: ${stamp}`);
  return new Date(ms).toISOString();
}

/** Salesforce's `2024-05-01T10:00:00.000+0000` → `2024-05-01T10:00:00.000Z`, the form cursors and records store. */
export function isoFromSalesforce(stamp: string): string {
  return soqlDatetime(stamp);
}

export function incrementalWhere(after: { updatedAfter: string | null; lastId: string | null }): string {
  if (!after.updatedAfter) return '';
  const t = soqlDatetime(after.updatedAfter);
  if (!after.lastId) return ` WHERE SystemModstamp > ${t}`;
  return ` WHERE (SystemModstamp > ${t} OR (SystemModstamp = ${t} AND Id > ${quote(assertId(after.lastId))}))`;
}

export function incrementalQuery(object: string, fields: string[], after: { updatedAfter: string | null; lastId: string | null }): string {
  return `SELECT ${fields.join(', ')} FROM ${object}${incrementalWhere(after)} ORDER BY SystemModstamp ASC, Id ASC`;
}

export function countQuery(object: string, after: { updatedAfter: string | null; lastId: string | null }): string {
  return `SELECT COUNT() FROM ${object}${incrementalWhere(after)}`;
}

/** `Field IN ('a','b')` chunks; 200 ids keep the GET URL well under Salesforce's ~16 KB limit. */
export function inChunks(ids: string[], size = 200): string[][] {
  const unique = [...new Set(ids.map(assertId))];
  const out: string[][] = [];
  for (let i = 0; i < unique.length; i += size) out.push(unique.slice(i, i + size));
  return out;
}

export function inList(ids: string[]): string {
  return `(${ids.map(quote).join(', ')})`;
}

/**
 * REST data endpoints the connector uses: query / queryMore, sObject describe, sObject Collections update, and a single
 * record read. Shapes follow the REST API developer guide (records with `attributes`, errors as `[{message, errorCode}]`).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { isValidId, KEY_PREFIX } from './ids';
import { type EmuEnv, sfError } from './http';
import { isSObjectName } from './schema';
import { SoqlError, type StoredRecord } from './soql';
import { projectRecord, type SalesforceState } from './state';

const DEFAULT_BATCH = 2000;

function batchSizeFrom(header: string | undefined): number {
  const m = /batchSize=(\d+)/.exec(header ?? '');
  const n = m ? Number(m[1]) : DEFAULT_BATCH;
  // Salesforce treats batchSize as a hint between 200 and 2000; the emulator honours smaller values so tests stay small.
  return Math.max(1, Math.min(DEFAULT_BATCH, n));
}

const collectionBody = z.object({
  allOrNone: z.boolean().optional(),
  records: z.array(z.record(z.string(), z.unknown())),
});

type SaveResult = { id?: string; success: boolean; errors: { statusCode: string; message: string; fields: string[] }[] };

export function restRoutes(state: SalesforceState) {
  const app = new Hono<EmuEnv>().basePath('/services/data/:version');
  let cursorSeq = 0;

  const page = (version: string, cursorKey: string, offset: number) => {
    const cur = state.cursors.get(cursorKey)!;
    const types = isSObjectName(cur.object) ? state.fieldTypes(cur.object) : new Map();
    const rows = cur.rows.slice(offset, offset + cur.batchSize);
    const next = offset + rows.length;
    const done = next >= cur.rows.length;
    if (done) state.cursors.delete(cursorKey);
    return {
      totalSize: cur.rows.length,
      done,
      ...(done ? {} : { nextRecordsUrl: `/services/data/${version}/query/${cursorKey}-${next}` }),
      records: rows.map((r) => projectRecord(cur.object, r, cur.select, types, version)),
    };
  };

  app.get('/query', (c) => {
    const soql = c.req.query('q');
    if (!soql) return sfError(c, 400, 'MALFORMED_QUERY', 'The query string is missing (q parameter).');
    try {
      const q = state.parse(soql);
      const rows = state.run(q);
      if (q.select === 'count') return c.json({ totalSize: rows.length, done: true, records: [] });
      // Like a server-side query locator: the result set is fixed when the query runs; queryMore pages through it.
      const key = `01g5g0${String(++cursorSeq).padStart(9, '0')}`;
      state.cursors.set(key, { object: q.object, rows, select: q.select, batchSize: batchSizeFrom(c.req.header('sforce-query-options')) });
      return c.json(page(c.req.param('version'), key, 0));
    } catch (e) {
      if (e instanceof SoqlError) return sfError(c, 400, e.errorCode, e.message);
      throw e;
    }
  });

  app.get('/query/:locator', (c) => {
    const m = /^(.+)-(\d+)$/.exec(c.req.param('locator'));
    if (!m || !state.cursors.has(m[1]!)) return sfError(c, 400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    return c.json(page(c.req.param('version'), m[1]!, Number(m[2])));
  });

  app.get('/sobjects/:object/describe', (c) => {
    const object = c.req.param('object');
    if (!isSObjectName(object)) return sfError(c, 404, 'NOT_FOUND', `The requested resource does not exist`);
    return c.json({
      name: object,
      label: object,
      custom: false,
      keyPrefix: KEY_PREFIX[object],
      updateable: true,
      queryable: true,
      fields: state.describeFields(object),
      urls: { describe: `/services/data/${c.req.param('version')}/sobjects/${object}/describe` },
    });
  });

  app.get('/sobjects/:object/:id', (c) => {
    const object = c.req.param('object');
    const rec = isSObjectName(object) ? state.records[object].get(c.req.param('id')) : undefined;
    if (state.recycleBin.has(c.req.param('id'))) return sfError(c, 404, 'ENTITY_IS_DELETED', 'entity is deleted');
    if (!rec || !isSObjectName(object)) return sfError(c, 404, 'NOT_FOUND', 'The requested resource does not exist');
    const select = (state.fieldsOf(object) ?? []).map((f) => f.name);
    return c.json(projectRecord(object, rec, select, state.fieldTypes(object), c.req.param('version')));
  });

  /** Single-record create; the connector only creates PermissionSetAssignments (to grant its own fields). */
  app.post('/sobjects/:object', async (c) => {
    const object = c.req.param('object');
    if (object !== 'PermissionSetAssignment') return sfError(c, 400, 'INVALID_TYPE', `create of ${object} is not emulated`);
    const body = z.object({ AssigneeId: z.string(), PermissionSetId: z.string() }).safeParse(await c.req.json().catch(() => null));
    if (!body.success) return sfError(c, 400, 'JSON_PARSER_ERROR', 'AssigneeId and PermissionSetId are required');
    const { AssigneeId, PermissionSetId } = body.data;
    if (!state.records.PermissionSet.has(PermissionSetId)) return sfError(c, 400, 'INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', ['PermissionSetId']);
    if ([...state.records.PermissionSetAssignment.values()].some((a) => a.AssigneeId === AssigneeId && a.PermissionSetId === PermissionSetId)) {
      return sfError(c, 400, 'DUPLICATE_VALUE', `Duplicate PermissionSetAssignment. Assignee: ${AssigneeId}; Permission Set: ${PermissionSetId}`);
    }
    const id = state.insert('PermissionSetAssignment', { AssigneeId, PermissionSetId });
    return c.json({ id, success: true, errors: [] }, 201);
  });

  app.patch('/composite/sobjects', async (c) => {
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      return sfError(c, 400, 'JSON_PARSER_ERROR', 'Unexpected character: was expecting a JSON value');
    }
    const body = collectionBody.safeParse(raw);
    if (!body.success) return sfError(c, 400, 'JSON_PARSER_ERROR', body.error.message);
    const { records } = body.data;
    if (records.length > 200) {
      return sfError(c, 400, 'EXCEEDED_ID_LIMIT', 'record limit reached. cannot submit more than 200 records into this call');
    }
    state.stats.writeCalls++;
    // Unknown columns fail the whole request (the JSON can't be deserialised into the sObject), as in Salesforce.
    for (const rec of records) {
      const type = z.object({ type: z.string() }).safeParse(rec.attributes);
      if (!type.success || !isSObjectName(type.data.type)) {
        return sfError(c, 400, 'INVALID_TYPE', `sObject type '${type.success ? type.data.type : '?'}' is not supported.`);
      }
      for (const key of Object.keys(rec)) {
        if (key === 'attributes' || key.toLowerCase() === 'id') continue;
        if (!(state.fieldsOf(type.data.type) ?? []).some((f) => f.name === key)) {
          return sfError(c, 400, 'INVALID_FIELD', `No such column '${key}' on sobject of type ${type.data.type}`);
        }
      }
    }
    const results: SaveResult[] = records.map((rec) => saveOne(state, rec));
    if (body.data.allOrNone && results.some((r) => !r.success)) {
      return c.json(results.map((r) => (r.success ? { id: r.id, success: false, errors: [{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK', message: 'Record rolled back because not all records were valid and the request was using AllOrNone header', fields: [] }] } : r)));
    }
    for (const [i, r] of results.entries()) {
      if (!r.success || !r.id) continue;
      apply(state, records[i]!);
      state.stats.recordWrites[r.id] = (state.stats.recordWrites[r.id] ?? 0) + 1;
    }
    state.stats.recordsWritten += results.filter((r) => r.success).length;
    return c.json(results);
  });

  return app;
}

function fail(statusCode: string, message: string, fields: string[] = [], id?: string): SaveResult {
  return { ...(id ? { id } : {}), success: false, errors: [{ statusCode, message, fields }] };
}

/** Validates one record of a collection update; writing happens afterwards so allOrNone can roll back. */
function saveOne(state: SalesforceState, rec: Record<string, unknown>): SaveResult {
  const type = z.object({ type: z.string() }).parse(rec.attributes).type;
  if (!isSObjectName(type)) return fail('INVALID_TYPE', `sObject type '${type}' is not supported.`);
  const id = rec.Id ?? rec.id;
  if (typeof id !== 'string' || !isValidId(id)) return fail('MALFORMED_ID', `malformed id ${String(id)}`, ['Id']);
  if (!id.startsWith(KEY_PREFIX[type])) return fail('MALFORMED_ID', `${type} ID: id value of incorrect type: ${id}`, ['Id']);
  const stored = state.records[type].get(id);
  // Deleted (in the recycle bin, merge losers included) or never there: Salesforce answers the same.
  if (!stored) return fail('ENTITY_IS_DELETED', 'entity is deleted', [], id);
  if (type === 'Lead' && stored.IsConverted === true) return fail('CANNOT_UPDATE_CONVERTED_LEAD', 'cannot reference converted lead', [], id);
  for (const fault of state.recordFaults) {
    const left = fault.remaining.get(id) ?? 0;
    if (left > 0) {
      fault.remaining.set(id, left - 1);
      return fail(fault.errorCode, fault.message, [], id);
    }
  }
  for (const [key, value] of Object.entries(rec)) {
    if (key === 'attributes' || key.toLowerCase() === 'id') continue;
    const f = state.fields[type].find((x) => x.name === key)!;
    if (!f.updateable || !state.access(type, key).editable) {
      return fail('INVALID_FIELD_FOR_INSERT_UPDATE', `Unable to create/update fields: ${key}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`, [key], id);
    }
    const numeric = ['double', 'currency', 'percent', 'int'].includes(f.type);
    const ok =
      value === null ||
      (numeric && typeof value === 'number') ||
      (f.type === 'boolean' && typeof value === 'boolean') ||
      (!numeric && f.type !== 'boolean' && typeof value === 'string');
    if (!ok) return fail('INVALID_TYPE_ON_FIELD_IN_RECORD', `${f.label}: value not of required type: ${String(value)}`, [key], id);
    if (f.type === 'picklist' && typeof value === 'string' && f.picklistValues.length > 0 && !f.picklistValues.some((p) => p.value === value)) {
      return fail('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', `${f.label}: bad value for restricted picklist field: ${value}`, [key], id);
    }
  }
  return { id, success: true, errors: [] };
}

function apply(state: SalesforceState, rec: Record<string, unknown>): void {
  const type = z.object({ type: z.string() }).parse(rec.attributes).type;
  if (!isSObjectName(type)) return;
  const id = String(rec.Id ?? rec.id);
  const values: StoredRecord = {};
  for (const [key, value] of Object.entries(rec)) {
    if (key === 'attributes' || key.toLowerCase() === 'id') continue;
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') values[key] = value;
  }
  state.update(type, id, values);
}

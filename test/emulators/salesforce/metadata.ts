/**
 * Metadata API SOAP endpoint: `createMetadata` of CustomField and `upsertMetadata` of PermissionSet (field permissions
 * only). Parses jsforce's envelope with a few regexes (the connector sends flat elements plus an optional picklist
 * valueSet) and answers with SOAP SaveResult / UpsertResult.
 */
import { Hono } from 'hono';
import type { EmuContext, EmuEnv } from './http';
import { isSObjectName, METADATA_TYPE_TO_DESCRIBE } from './schema';
import type { SalesforceState } from './state';

const ENVELOPE = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="http://soap.sforce.com/2006/04/metadata"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;

export function soapFault(code: string, message: string): string {
  return ENVELOPE(`<soapenv:Fault><faultcode>sf:${code}</faultcode><faultstring>${code}: ${escapeXml(message)}</faultstring></soapenv:Fault>`);
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

function tag(xml: string, name: string): string | null {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m ? unescapeXml(m[1]!) : null;
}

/** Child element order the Metadata WSDL declares (the connector's subset); Salesforce rejects other orders. */
const CUSTOM_FIELD_ORDER = ['fullName', 'defaultValue', 'description', 'label', 'length', 'precision', 'scale', 'type', 'valueSet'];
const FIELD_PERMISSION_ORDER = ['editable', 'field', 'readable'];
const PERMISSION_SET_ORDER = ['fullName', 'description', 'fieldPermissions', 'label'];

export class SoapClientFault extends Error {}

/** Throws SoapClientFault naming the first element that comes after one the WSDL puts later (unknown tags are ignored). */
function checkOrder(tags: string[], order: string[], type: string): void {
  let last = -1;
  for (const t of tags) {
    const at = order.indexOf(t);
    if (at < 0) continue;
    if (at < last) throw new SoapClientFault(`Element {http://soap.sforce.com/2006/04/metadata}${t} invalid at this location in type ${type}`);
    last = at;
  }
}

/** Direct child element names, in document order, of a fragment whose nested blocks were collapsed to empty elements. */
function childTags(xml: string): string[] {
  return [...xml.matchAll(/<([A-Za-z]+)>/g)].map((m) => m[1]!);
}

interface SaveResult {
  fullName: string;
  success: boolean;
  error?: { statusCode: string; message: string };
}

function createField(state: SalesforceState, xml: string): SaveResult {
  // Picklist values carry their own <fullName>; read them, then drop the block so the field's own tags are unambiguous.
  const valueSet = /<valueSet>[\s\S]*<\/valueSet>/.exec(xml)?.[0] ?? '';
  const values = [...valueSet.matchAll(/<value>[\s\S]*?<fullName>([^<]*)<\/fullName>[\s\S]*?<\/value>/g)].map((m) => unescapeXml(m[1]!));
  const own = xml.replace(valueSet, '');
  checkOrder(childTags(valueSet ? xml.replace(valueSet, '<valueSet></valueSet>') : xml), CUSTOM_FIELD_ORDER, 'CustomField');
  const fullName = tag(own, 'fullName') ?? '';
  const [object, name] = fullName.split('.');
  const type = tag(own, 'type') ?? '';
  const failure = (statusCode: string, message: string): SaveResult => ({ fullName, success: false, error: { statusCode, message } });
  if (!object || !name || !isSObjectName(object)) return failure('INVALID_CROSS_REFERENCE_KEY', `In field: fullName - no CustomObject named ${object ?? ''} found`);
  if (!/^[A-Za-z][A-Za-z0-9_]*__c$/.test(name)) return failure('FIELD_INTEGRITY_EXCEPTION', `Custom field names must end with __c: ${name}`);
  if (!METADATA_TYPE_TO_DESCRIBE[type]) return failure('FIELD_INTEGRITY_EXCEPTION', `Invalid type: ${type}`);
  if (!tag(own, 'label')) return failure('REQUIRED_FIELD_MISSING', 'Must specify label');
  if (type === 'Picklist' && values.length === 0) return failure('FIELD_INTEGRITY_EXCEPTION', 'Picklist must define at least one value');
  if (state.fields[object].some((f) => f.name.toLowerCase() === name.toLowerCase())) {
    return failure('DUPLICATE_DEVELOPER_NAME', `There is already a field named ${name} on ${object}.`);
  }
  state.addCustomField(object, name, type, {
    secured: true,
    label: tag(own, 'label') ?? name,
    ...(values.length ? { values } : {}),
    ...(tag(own, 'precision') ? { precision: Number(tag(own, 'precision')) } : {}),
    ...(tag(own, 'scale') ? { scale: Number(tag(own, 'scale')) } : {}),
  });
  state.stats.metadataCreates++;
  return { fullName, success: true };
}

/** upsertMetadata of a PermissionSet: field permissions listed are set, others are left as they were (as Salesforce does). */
function upsertPermissionSet(state: SalesforceState, xml: string): SaveResult & { created: boolean } {
  const perms = [...xml.matchAll(/<fieldPermissions>([\s\S]*?)<\/fieldPermissions>/g)].map((m) => m[1]!);
  const own = xml.replace(/<fieldPermissions>[\s\S]*?<\/fieldPermissions>/g, '');
  checkOrder(childTags(xml.replace(/<fieldPermissions>[\s\S]*?<\/fieldPermissions>/g, '<fieldPermissions></fieldPermissions>')), PERMISSION_SET_ORDER, 'PermissionSet');
  for (const p of perms) checkOrder(childTags(p), FIELD_PERMISSION_ORDER, 'PermissionSetFieldPermissions');
  const fullName = tag(own, 'fullName') ?? '';
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(fullName)) return { fullName, success: false, created: false, error: { statusCode: 'INVALID_NAME', message: `invalid name ${fullName}` } };
  let grants = state.permissionSets.get(fullName);
  const created = !grants;
  if (!grants) {
    grants = new Map();
    state.permissionSets.set(fullName, grants);
    state.insert('PermissionSet', { Name: fullName, Label: tag(own, 'label') ?? fullName });
  }
  for (const p of perms) {
    const fieldName = tag(p, 'field') ?? '';
    const editable = tag(p, 'editable') === 'true';
    grants.set(fieldName, { readable: editable || tag(p, 'readable') === 'true', editable });
  }
  return { fullName, success: true, created };
}

export function metadataRoutes(state: SalesforceState) {
  const app = new Hono<EmuEnv>();
  app.post('/services/Soap/m/:version', async (c) => {
    c.header('Content-Type', 'text/xml; charset=utf-8');
    try {
      return await handle(c);
    } catch (e) {
      if (!(e instanceof SoapClientFault)) throw e;
      return c.body(ENVELOPE(`<soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>${escapeXml(e.message)}</faultstring></soapenv:Fault>`), 500);
    }
  });

  const handle = async (c: EmuContext) => {
    const xml = await c.req.text();
    if (/<upsertMetadata>/.test(xml)) {
      const items = [...xml.matchAll(/<metadata[^>]*>([\s\S]*?)<\/metadata>/g)];
      const results = items.map((m) =>
        /xsi:type="PermissionSet"/.test(m[0]) ? upsertPermissionSet(state, m[1]!) : { fullName: tag(m[1]!, 'fullName') ?? '', success: false, created: false, error: { statusCode: 'INVALID_TYPE', message: 'only PermissionSet upserts are emulated' } },
      );
      const body = results
        .map((r) => `<result><created>${r.created}</created>${r.error ? `<errors><message>${escapeXml(r.error.message)}</message><statusCode>${r.error.statusCode}</statusCode></errors>` : ''}<fullName>${escapeXml(r.fullName)}</fullName><success>${r.success}</success></result>`)
        .join('');
      return c.body(ENVELOPE(`<upsertMetadataResponse>${body}</upsertMetadataResponse>`), 200);
    }
    if (!/<createMetadata>/.test(xml)) return c.body(soapFault('INVALID_OPERATION', 'only createMetadata and upsertMetadata are emulated'), 500);
    const items = [...xml.matchAll(/<metadata[^>]*>([\s\S]*?)<\/metadata>/g)];
    if (items.length > 10) return c.body(soapFault('INVALID_OPERATION', 'createMetadata accepts at most 10 components'), 500);
    const results = items.map((m) => (/xsi:type="CustomField"/.test(m[0]) ? createField(state, m[1]!) : { fullName: tag(m[1]!, 'fullName') ?? '', success: false, error: { statusCode: 'INVALID_TYPE', message: 'only CustomField is emulated' } }));
    const body = results
      .map((r) => `<result>${r.error ? `<errors><message>${escapeXml(r.error.message)}</message><statusCode>${r.error.statusCode}</statusCode></errors>` : ''}<fullName>${escapeXml(r.fullName)}</fullName><success>${r.success}</success></result>`)
      .join('');
    return c.body(ENVELOPE(`<createMetadataResponse>${body}</createMetadataResponse>`), 200);
  };
  return app;
}

/**
 * Provisioning from a FieldMapping. The plan is pure (mapping + describes → present / missing / wrong type); creation
 * goes through the Metadata API (SOAP createMetadata of CustomField, ≤ 10 per call) only when the mapping says
 * `provision: true`, it isn't a dry run, and no declared field has the wrong type or is read-only (then nothing is
 * written at all).
 * Only declared fields are ever looked at or created.
 */
import type { FieldMapping, FieldSpec, FieldType, ProvisionReport } from '../types';
import { SOBJECT_OF, SOBJECTS_OF } from './normalise';
import type { SalesforceSession } from './session';
import { metadataCall, type Xmlish } from './metadata-soap';
import { type DescribeResult, metadataSaveResult } from './wire';

/** Describe types that satisfy each mapping type (Number/Currency/Percent all describe as numbers, Text as string…). */
export const ACCEPTED_TYPES: Record<FieldType, readonly string[]> = {
  number: ['double', 'currency', 'percent', 'int', 'long'],
  bool: ['boolean'],
  date: ['date'],
  datetime: ['datetime'],
  enumeration: ['picklist'],
  string: ['string', 'textarea', 'url', 'email', 'phone'],
};

/** The Metadata API type a missing field is created with. */
export const METADATA_TYPE: Record<FieldType, string> = {
  number: 'Number',
  bool: 'Checkbox',
  date: 'Date',
  datetime: 'DateTime',
  enumeration: 'Picklist',
  string: 'Text',
};

export interface ProvisionPlan {
  report: ProvisionReport;
  /** Missing custom fields, per sObject they are missing on (a contact field goes on Contact and Lead). */
  toCreate: { spec: FieldSpec; sobject: string }[];
}

type DescribedField = DescribeResult['fields'][number];

/**
 * Why a found field can't take the declared values, or null when it can: the wrong type, or not updateable (a formula,
 * or read-only field-level security), which would fail every record with INVALID_FIELD_FOR_INSERT_UPDATE.
 */
function unwritable(found: DescribedField, type: FieldType): string | null {
  if (!ACCEPTED_TYPES[type].includes(found.type)) return found.type;
  if (found.updateable !== false) return null;
  return found.calculated ? 'formula (calculated, not updateable)' : 'read-only (not updateable)';
}

/** `describes` is keyed by sObject name and must hold every sObject of SOBJECTS_OF for the mapping's objects. */
export function planProvision(mapping: FieldMapping, describes: Map<string, DescribeResult>): ProvisionPlan {
  const report: ProvisionReport = { present: [], created: [], missing: [], wrongType: [], calls: 0 };
  const toCreate: ProvisionPlan['toCreate'] = [];
  const seen = new Set<string>();
  for (const spec of mapping.fields) {
    const key = `${spec.object}.${spec.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const missingOn: string[] = [];
    let wrong: string | null = null;
    for (const sobject of SOBJECTS_OF[spec.object]) {
      // API names are case-insensitive in Salesforce; report the declared spelling.
      const found = describes.get(sobject)?.fields.find((f) => f.name.toLowerCase() === spec.name.toLowerCase());
      const why = found ? unwritable(found, spec.type) : null;
      if (!found) missingOn.push(sobject);
      else if (why !== null) wrong ??= sobject === SOBJECT_OF[spec.object] ? why : `${why} (on ${sobject})`;
    }
    if (wrong !== null) {
      report.wrongType.push({ object: spec.object, name: spec.name, expected: spec.type, actual: wrong });
    } else if (missingOn.length > 0) {
      report.missing.push({ object: spec.object, name: spec.name, type: spec.type });
      // Standard fields can't be created; only custom (__c) ones.
      if (spec.name.endsWith('__c')) for (const sobject of missingOn) toCreate.push({ spec, sobject });
    } else {
      report.present.push(key);
    }
  }
  return { report, toCreate };
}

/**
 * CustomField metadata for one missing field. Keys are in the Metadata WSDL's element order (fullName, then
 * alphabetical: defaultValue, description, label, length, precision, scale, type, valueSet), which Salesforce enforces.
 */
export function customFieldMetadata(spec: FieldSpec, sobject: string): Record<string, Xmlish> {
  const description = spec.description ?? `Written by community-influence (output ${spec.output}).`;
  const head = (extra: Record<string, unknown> = {}) => ({ fullName: `${sobject}.${spec.name}`, ...extra, description, label: spec.label.slice(0, 40) });
  switch (spec.type) {
    case 'number':
      return { ...head(), precision: 18, scale: 2, type: METADATA_TYPE.number };
    case 'bool':
      return { ...head({ defaultValue: 'false' }), type: METADATA_TYPE.bool };
    case 'date':
      return { ...head(), type: METADATA_TYPE.date };
    case 'datetime':
      return { ...head(), type: METADATA_TYPE.datetime };
    case 'string':
      return { ...head(), length: 255, type: METADATA_TYPE.string };
    case 'enumeration':
      return {
        ...head(),
        type: METADATA_TYPE.enumeration,
        valueSet: { restricted: true, valueSetDefinition: { sorted: false, value: (spec.options ?? []).map((v) => ({ fullName: v, default: false, label: v })) } },
      };
  }
}

/** Creates the fields through the Metadata API; returns the failures with Salesforce's reason. */
export async function createFields(session: SalesforceSession, items: ProvisionPlan['toCreate']): Promise<{ failed: { fullName: string; message: string }[] }> {
  const failed: { fullName: string; message: string }[] = [];
  const creatable = items.filter((i) => i.spec.type !== 'enumeration' || (i.spec.options ?? []).length > 0);
  for (const i of items) if (!creatable.includes(i)) failed.push({ fullName: `${i.sobject}.${i.spec.name}`, message: 'a picklist needs at least one option in the mapping' });
  for (let start = 0; start < creatable.length; start += 10) {
    const batch = creatable.slice(start, start + 10).map((i) => customFieldMetadata(i.spec, i.sobject));
    const raw: unknown = await session.call((conn) => metadataCall(conn, 'createMetadata', 'CustomField', batch));
    const results = metadataSaveResult.array().parse(Array.isArray(raw) ? raw : [raw]);
    for (const r of results) {
      if (r.success) continue;
      const errors = r.errors ? (Array.isArray(r.errors) ? r.errors : [r.errors]) : [];
      failed.push({ fullName: r.fullName, message: errors.map((e) => `${e.statusCode}: ${e.message}`).join('; ') || 'no reason given' });
    }
  }
  return { failed };
}

/**
 * Provisioning from a FieldMapping: the pure plan (what is present, missing, of the wrong type, short of options) and the
 * HubSpot property definitions to create. Properties the mapping does not declare are never read into the plan, so never
 * touched. A wrong type anywhere refuses the whole provisioning before any write: a half-provisioned portal is worse
 * than none. A property HubSpot computes (calculated, or a read-only value) counts as a wrong type: no write can set it.
 */
import type { FieldMapping, FieldSpec, FieldType, ProvisionReport, WriteObject } from '../types';

/** FieldType → HubSpot (type, fieldType). `type` is what we compare against existing properties. */
export const HUBSPOT_TYPES: Record<FieldType, { type: string; fieldType: string }> = {
  number: { type: 'number', fieldType: 'number' },
  bool: { type: 'bool', fieldType: 'booleancheckbox' },
  date: { type: 'date', fieldType: 'date' },
  datetime: { type: 'datetime', fieldType: 'date' },
  enumeration: { type: 'enumeration', fieldType: 'select' },
  string: { type: 'string', fieldType: 'text' },
};

export const DEFAULT_GROUP = { name: 'community_influence', label: 'Community influence' };

export interface PropertyOption {
  label: string;
  value: string;
  displayOrder?: number;
  hidden?: boolean;
  description?: string;
}

export interface ExistingProperty {
  name: string;
  type: string;
  options?: PropertyOption[];
  calculated?: boolean;
  readOnlyValue?: boolean;
  readOnlyOptions?: boolean;
}

/** An existing enumeration lacking some declared options: patched with `options` (existing first, then the missing). */
export interface OptionsToAdd {
  object: WriteObject;
  field: FieldSpec;
  missing: string[];
  options: PropertyOption[];
}

/**
 * ProvisionReport with `optionsAdded` always present ("contact.community_stage:champion"). Options still missing go
 * into `wrongType` as "enumeration without options …", which stops the write stage once.
 */
export type HubspotProvisionReport = ProvisionReport & { optionsAdded: string[] };

export interface ProvisionPlan {
  report: ProvisionReport;
  /** Fields to create, by object, when provisioning goes ahead. */
  toCreate: Map<WriteObject, FieldSpec[]>;
  /** Enumerations to add options to when provisioning goes ahead. */
  toExtend: OptionsToAdd[];
}

/** What makes an existing property unusable as declared (read-only or of another type), or null. */
function unusable(field: FieldSpec, found: ExistingProperty): string | null {
  if (found.type !== HUBSPOT_TYPES[field.type].type) return found.type;
  if (found.calculated) return `${found.type} (calculated, read-only)`;
  if (found.readOnlyValue) return `${found.type} (read-only value)`;
  return null;
}

/** Declared options the property lacks, with the full option list to PATCH (HubSpot replaces the list it is sent). */
function optionsToAdd(object: WriteObject, field: FieldSpec, found: ExistingProperty): OptionsToAdd | null {
  const have = found.options ?? [];
  const missing = (field.options ?? []).filter((v) => !have.some((o) => o.value === v));
  if (missing.length === 0) return null;
  const added = missing.map((value, i) => ({ label: value, value, displayOrder: have.length + i, hidden: false }));
  return { object, field, missing, options: [...have, ...added] };
}

/**
 * Missing options as a wrongType entry, for when they are not added (provision off, dry run, or options HubSpot won't
 * let us edit): the write stage then stops once, naming what to add by hand, instead of failing those records every run.
 */
export function missingOptionsEntry(add: OptionsToAdd, readOnly = false): ProvisionReport['wrongType'][number] {
  const actual = `enumeration without options ${add.missing.join(', ')}${readOnly ? ' (options are read-only)' : ''}`;
  return { object: add.object, name: add.field.name, expected: add.field.type, actual };
}

export function planProvision(mapping: FieldMapping, existing: Map<WriteObject, ExistingProperty[]>): ProvisionPlan {
  const report: ProvisionReport = { present: [], created: [], missing: [], wrongType: [], calls: 0 };
  const toCreate = new Map<WriteObject, FieldSpec[]>();
  const toExtend: OptionsToAdd[] = [];
  const seen = new Set<string>();
  for (const field of mapping.fields) {
    const key = `${field.object}.${field.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const found = (existing.get(field.object) ?? []).find((p) => p.name === field.name);
    if (!found) {
      report.missing.push({ object: field.object, name: field.name, type: field.type });
      toCreate.set(field.object, [...(toCreate.get(field.object) ?? []), field]);
      continue;
    }
    const wrong = unusable(field, found);
    if (wrong !== null) {
      report.wrongType.push({ object: field.object, name: field.name, expected: field.type, actual: wrong });
      continue;
    }
    // Short of options: present once they are added (the connector's call), wrongType until then.
    const add = field.type === 'enumeration' ? optionsToAdd(field.object, field, found) : null;
    if (!add) report.present.push(key);
    else if (found.readOnlyOptions) report.wrongType.push(missingOptionsEntry(add, true));
    else toExtend.push(add);
  }
  return { report, toCreate, toExtend };
}

/** The PropertyCreate body for one field (enum values are plain strings; the caller maps them to codegen enums). */
export function propertyDefinition(field: FieldSpec, groupName: string) {
  const t = HUBSPOT_TYPES[field.type];
  return {
    name: field.name,
    label: field.label,
    description: field.description ?? `Written by community-influence (output ${field.output}).`,
    groupName,
    type: t.type,
    fieldType: t.fieldType,
    options: (field.options ?? []).map((value, displayOrder) => ({ label: value, value, displayOrder, hidden: false })),
  };
}

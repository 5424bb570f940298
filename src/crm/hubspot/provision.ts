/**
 * Provisioning from a FieldMapping: the pure plan (what is present, missing, of the wrong type) and the HubSpot property
 * definitions to create. Properties the mapping does not declare are never read into the plan, so never touched.
 * A wrong type anywhere refuses the whole provisioning before any write: a half-provisioned portal is worse than none.
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

export interface ExistingProperty {
  name: string;
  type: string;
}

export interface ProvisionPlan {
  report: ProvisionReport;
  /** Fields to create, by object, when provisioning goes ahead. */
  toCreate: Map<WriteObject, FieldSpec[]>;
}

export function planProvision(mapping: FieldMapping, existing: Map<WriteObject, ExistingProperty[]>): ProvisionPlan {
  const report: ProvisionReport = { present: [], created: [], missing: [], wrongType: [], calls: 0 };
  const toCreate = new Map<WriteObject, FieldSpec[]>();
  const seen = new Set<string>();
  for (const field of mapping.fields) {
    const key = `${field.object}.${field.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const found = (existing.get(field.object) ?? []).find((p) => p.name === field.name);
    const expected = HUBSPOT_TYPES[field.type].type;
    if (!found) {
      report.missing.push({ object: field.object, name: field.name, type: field.type });
      toCreate.set(field.object, [...(toCreate.get(field.object) ?? []), field]);
    } else if (found.type !== expected) {
      report.wrongType.push({ object: field.object, name: field.name, expected: field.type, actual: found.type });
    } else {
      report.present.push(key);
    }
  }
  return { report, toCreate };
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

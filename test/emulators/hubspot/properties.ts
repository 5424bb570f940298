/**
 * Property definitions the emulator starts with: the standard HubSpot properties the connector reads, in the `Property`
 * model shape of @hubspot/api-client (codegen/crm/properties/models/Property). Enumeration options are kept only where the
 * emulator validates values (stages, lifecycle).
 */
export type ObjectType = 'contacts' | 'companies' | 'deals';

export interface PropertyOption {
  label: string;
  value: string;
  displayOrder: number;
  hidden: boolean;
}

export interface PropertyDef {
  name: string;
  label: string;
  type: string;
  fieldType: string;
  groupName: string;
  description: string;
  options: PropertyOption[];
  displayOrder: number;
  hidden: boolean;
  hubspotDefined: boolean;
  formField: boolean;
  calculated: boolean;
  externalOptions: boolean;
  hasUniqueValue: boolean;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  /** readOnlyValue: no API write can set it (HubSpot-computed); readOnlyOptions: its options can't be edited. */
  modificationMetadata: { archivable: boolean; readOnlyDefinition: boolean; readOnlyValue: boolean; readOnlyOptions: boolean };
}

export interface PropertyGroupDef {
  name: string;
  label: string;
  displayOrder: number;
  archived: boolean;
}

const EPOCH = '2019-08-06T02:43:01.000Z';

function options(values: string[]): PropertyOption[] {
  return values.map((value, displayOrder) => ({ label: value, value, displayOrder, hidden: false }));
}

type Short = [name: string, type: string, fieldType: string, extra?: { options?: string[]; readOnly?: boolean }];

export function makeProperty(
  name: string, type: string, fieldType: string, groupName: string,
  extra: {
    label?: string; description?: string; options?: PropertyOption[]; readOnly?: boolean; hubspotDefined?: boolean;
    /** A calculation property: its value is computed, so it is read-only too. */
    calculated?: boolean; readOnlyOptions?: boolean;
  } = {},
): PropertyDef {
  const now = extra.hubspotDefined === false ? new Date().toISOString() : EPOCH;
  const hubspotDefined = extra.hubspotDefined ?? true;
  const calculated = extra.calculated ?? false;
  return {
    name,
    label: extra.label ?? name,
    type,
    fieldType,
    groupName,
    description: extra.description ?? '',
    options: extra.options ?? [],
    displayOrder: -1,
    hidden: false,
    hubspotDefined,
    formField: false,
    calculated,
    externalOptions: false,
    hasUniqueValue: false,
    createdAt: now,
    updatedAt: now,
    archived: false,
    modificationMetadata: {
      archivable: !hubspotDefined, readOnlyDefinition: hubspotDefined, readOnlyValue: calculated || (extra.readOnly ?? false),
      readOnlyOptions: extra.readOnlyOptions ?? false,
    },
  };
}

const RO = { readOnly: true };
export const DEAL_STAGES = ['appointmentscheduled', 'qualifiedtobuy', 'presentationscheduled', 'decisionmakerboughtin', 'contractsent', 'closedwon', 'closedlost'];
const LIFECYCLE = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other'];

const STANDARD: Record<ObjectType, { group: string; props: Short[] }> = {
  contacts: {
    group: 'contactinformation',
    props: [
      ['hs_object_id', 'number', 'number', RO], ['email', 'string', 'text'], ['hs_additional_emails', 'enumeration', 'checkbox', RO],
      ['firstname', 'string', 'text'], ['lastname', 'string', 'text'], ['jobtitle', 'string', 'text'], ['company', 'string', 'text'],
      ['associatedcompanyid', 'number', 'number'], ['lifecyclestage', 'enumeration', 'radio', { options: LIFECYCLE }],
      ['createdate', 'datetime', 'date'], ['lastmodifieddate', 'datetime', 'date', RO], ['hs_lastmodifieddate', 'datetime', 'date', RO],
    ],
  },
  companies: {
    group: 'companyinformation',
    props: [
      ['hs_object_id', 'number', 'number', RO], ['name', 'string', 'text'], ['domain', 'string', 'text'], ['website', 'string', 'text'],
      ['hs_additional_domains', 'enumeration', 'checkbox', RO], ['industry', 'string', 'text'], ['numberofemployees', 'number', 'number'],
      ['country', 'string', 'text'], ['createdate', 'datetime', 'date'], ['hs_lastmodifieddate', 'datetime', 'date', RO],
    ],
  },
  deals: {
    group: 'dealinformation',
    props: [
      ['hs_object_id', 'number', 'number', RO], ['dealname', 'string', 'text'], ['amount', 'number', 'number'],
      ['deal_currency_code', 'string', 'text'], ['dealstage', 'enumeration', 'radio', { options: DEAL_STAGES }],
      ['pipeline', 'enumeration', 'select', { options: ['default'] }], ['createdate', 'datetime', 'date'], ['closedate', 'datetime', 'date'],
      ['hs_is_closed', 'bool', 'booleancheckbox', RO], ['hs_is_closed_won', 'bool', 'booleancheckbox', RO],
      ['hubspot_owner_id', 'string', 'text'], ['hs_lastmodifieddate', 'datetime', 'date', RO],
    ],
  },
};

export function standardProperties(type: ObjectType): Map<string, PropertyDef> {
  const { group, props } = STANDARD[type];
  return new Map(
    props.map(([name, t, fieldType, extra]) => [
      name,
      makeProperty(name, t, fieldType, group, { options: extra?.options ? options(extra.options) : [], readOnly: extra?.readOnly ?? false }),
    ]),
  );
}

export function standardGroups(type: ObjectType): Map<string, PropertyGroupDef> {
  const name = STANDARD[type].group;
  return new Map([[name, { name, label: name, displayOrder: -1, archived: false }]]);
}

/** Why a value is not acceptable for a property, or null when it is (HubSpot takes every value as a string). */
export function invalidValue(def: PropertyDef, value: string): string | null {
  if (value === '') return null;
  switch (def.type) {
    case 'number':
      return Number.isFinite(Number(value)) ? null : `${value} was not a valid number.`;
    case 'bool':
      return value === 'true' || value === 'false' ? null : `${value} was not a valid boolean.`;
    case 'date': {
      const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
      if (Number.isNaN(ms)) return `${value} was not a valid date.`;
      return ms % 86_400_000 === 0 ? null : `${value} is at ${new Date(ms).toISOString()}, which is not midnight!`;
    }
    case 'datetime':
      return Number.isNaN(/^\d+$/.test(value) ? Number(value) : Date.parse(value)) ? `${value} was not a valid datetime.` : null;
    case 'enumeration':
      if (def.options.length === 0 || def.fieldType === 'checkbox') return null;
      return def.options.some((o) => o.value === value) ? null : `${value} was not one of the allowed options: [${def.options.map((o) => o.label).join(', ')}]`;
    default:
      return null;
  }
}

/**
 * The emulated org's metadata: which sObjects exist and the fields each has, in the shape `describe` returns. Custom fields
 * created through the Metadata API are added here, so describe, SOQL and writes all see the same field list.
 */
export type SfFieldType =
  | 'id'
  | 'string'
  | 'textarea'
  | 'email'
  | 'url'
  | 'phone'
  | 'reference'
  | 'boolean'
  | 'int'
  | 'double'
  | 'currency'
  | 'percent'
  | 'date'
  | 'datetime'
  | 'picklist';

export interface SfField {
  name: string;
  label: string;
  type: SfFieldType;
  custom: boolean;
  /** False for system fields, formulas and fields whose field-level security is read-only for the API user. */
  updateable: boolean;
  /** A formula (or roll-up) field: describes as its result type (double, string…) but can never be written. */
  calculated: boolean;
  nillable: boolean;
  length: number;
  precision: number;
  scale: number;
  picklistValues: { value: string; label: string; active: boolean; defaultValue: boolean }[];
}

export const SOBJECTS = ['Account', 'Contact', 'Lead', 'Opportunity', 'OpportunityContactRole', 'PermissionSet', 'PermissionSetAssignment'] as const;
export type SObjectName = (typeof SOBJECTS)[number];

export function isSObjectName(name: string): name is SObjectName {
  return (SOBJECTS as readonly string[]).includes(name);
}

const picklist = (values: string[]) =>
  values.map((value, i) => ({ value, label: value, active: true, defaultValue: i === 0 }));

export function field(
  name: string,
  type: SfFieldType,
  opts: { custom?: boolean; updateable?: boolean; calculated?: boolean; values?: string[]; label?: string; precision?: number; scale?: number } = {},
): SfField {
  const readOnly = ['Id', 'CreatedDate', 'SystemModstamp', 'LastModifiedDate', 'IsClosed', 'IsWon', 'IsConverted'];
  const calculated = opts.calculated ?? false;
  return {
    name,
    label: opts.label ?? name.replace(/__c$/, '').replace(/_/g, ' '),
    type,
    custom: opts.custom ?? false,
    updateable: !calculated && (opts.updateable ?? !readOnly.includes(name)),
    calculated,
    nillable: !['Id', 'LastName', 'Name', 'StageName', 'CloseDate', 'Company', 'Status', 'IsPrimary'].includes(name),
    length: ['string', 'textarea', 'email', 'url', 'phone', 'picklist'].includes(type) ? 255 : type === 'id' || type === 'reference' ? 18 : 0,
    precision: opts.precision ?? (type === 'double' || type === 'currency' || type === 'percent' ? 18 : 0),
    scale: opts.scale ?? (type === 'currency' ? 2 : 0),
    picklistValues: opts.values ? picklist(opts.values) : [],
  };
}

export const OPPORTUNITY_STAGES = [
  'Prospecting',
  'Qualification',
  'Proposal/Price Quote',
  'Negotiation/Review',
  'Closed Won',
  'Closed Lost',
];

const audit = () => [
  field('CreatedDate', 'datetime'),
  field('LastModifiedDate', 'datetime'),
  field('SystemModstamp', 'datetime'),
];

/** Standard fields of the objects the connector touches; enough to answer the connector's describes and queries. */
export function standardFields(multiCurrency: boolean): Record<SObjectName, SfField[]> {
  const currency = multiCurrency ? [field('CurrencyIsoCode', 'picklist', { values: ['USD', 'EUR', 'GBP'] })] : [];
  return {
    Account: [
      field('Id', 'id'),
      field('Name', 'string'),
      field('Website', 'url'),
      field('Industry', 'picklist', { values: ['Technology', 'Finance', 'Healthcare', 'Retail', 'Other'] }),
      field('NumberOfEmployees', 'int'),
      field('BillingCountry', 'string'),
      field('OwnerId', 'reference'),
      ...currency,
      ...audit(),
    ],
    Contact: [
      field('Id', 'id'),
      field('Email', 'email'),
      field('FirstName', 'string'),
      field('LastName', 'string'),
      field('Title', 'string'),
      field('AccountId', 'reference'),
      field('OwnerId', 'reference'),
      ...currency,
      ...audit(),
    ],
    Lead: [
      field('Id', 'id'),
      field('Email', 'email'),
      field('FirstName', 'string'),
      field('LastName', 'string'),
      field('Title', 'string'),
      field('Company', 'string'),
      field('Status', 'picklist', { values: ['Open - Not Contacted', 'Working - Contacted', 'Closed - Converted', 'Closed - Not Converted'] }),
      field('IsConverted', 'boolean'),
      field('ConvertedContactId', 'reference', { updateable: false }),
      field('ConvertedAccountId', 'reference', { updateable: false }),
      field('OwnerId', 'reference'),
      ...audit(),
    ],
    Opportunity: [
      field('Id', 'id'),
      field('Name', 'string'),
      field('Amount', 'currency'),
      field('StageName', 'picklist', { values: OPPORTUNITY_STAGES }),
      field('IsClosed', 'boolean'),
      field('IsWon', 'boolean'),
      field('CloseDate', 'date'),
      field('AccountId', 'reference'),
      field('OwnerId', 'reference'),
      ...currency,
      ...audit(),
    ],
    OpportunityContactRole: [
      field('Id', 'id'),
      field('OpportunityId', 'reference'),
      field('ContactId', 'reference'),
      field('Role', 'picklist', { values: ['Business User', 'Decision Maker', 'Economic Buyer', 'Technical Buyer', 'Influencer', 'Other'] }),
      field('IsPrimary', 'boolean'),
      ...audit(),
    ],
    PermissionSet: [field('Id', 'id'), field('Name', 'string'), field('Label', 'string'), ...audit()],
    PermissionSetAssignment: [field('Id', 'id'), field('AssigneeId', 'reference'), field('PermissionSetId', 'reference'), ...audit()],
  };
}

/** Metadata API CustomField type → the describe type the field then shows. */
export const METADATA_TYPE_TO_DESCRIBE: Record<string, SfFieldType> = {
  Number: 'double',
  Currency: 'currency',
  Percent: 'percent',
  Checkbox: 'boolean',
  Date: 'date',
  DateTime: 'datetime',
  Picklist: 'picklist',
  Text: 'string',
  TextArea: 'textarea',
  LongTextArea: 'textarea',
  Url: 'url',
  Email: 'email',
  Phone: 'phone',
};

import type { FieldSpec, FieldType, FieldValue, FieldMapping, WriteObject } from '../crm/types';
import { MODEL_NAMES, type ModelName } from '../rules/schema';
import type { CompanyInfluence, ContactInfluence, DealInfluence } from './types';

/**
 * The named outputs the engine produces per CRM object, with the field types they can be written as. Field mappings
 * (mappings/hubspot.yaml, mappings/salesforce.yaml) are validated against this list, and `fieldValues` reads them.
 */
type Value = string | number | boolean | null;
interface OutputDef<T> {
  types: readonly FieldType[];
  get: (x: T) => Value;
}

const TIME: readonly FieldType[] = ['datetime', 'date'];
const TEXT: readonly FieldType[] = ['string', 'enumeration'];
const NUM: readonly FieldType[] = ['number'];
const BOOL: readonly FieldType[] = ['bool'];

export const DEAL_OUTPUTS: Record<string, OutputDef<DealInfluence>> = {
  influenced: { types: BOOL, get: (d) => d.influenced },
  sourced: { types: BOOL, get: (d) => d.sourced },
  assisted: { types: BOOL, get: (d) => d.assisted },
  influence_score: { types: NUM, get: (d) => d.score },
  attributed_amount: { types: NUM, get: (d) => d.attributedAmount[d.primaryModel] ?? null },
  touch_count: { types: NUM, get: (d) => d.touchCount },
  first_touch_at: { types: TIME, get: (d) => d.firstTouchAt },
  last_touch_at: { types: TIME, get: (d) => d.lastTouchAt },
  top_channel: { types: TEXT, get: (d) => d.topChannel },
  members_involved: { types: NUM, get: (d) => d.memberCount },
  evidence_url: { types: ['string'], get: (d) => d.evidenceUrl },
  rules_version: { types: ['string'], get: (d) => d.rulesVersion },
  primary_model: { types: TEXT, get: (d) => d.primaryModel },
};
// attributed_amount.<model>: the amount under a comparison model (null when that model is not computed).
for (const m of MODEL_NAMES) {
  DEAL_OUTPUTS[`attributed_amount.${m}`] = { types: NUM, get: (d) => d.attributedAmount[m] ?? null };
}

export const CONTACT_OUTPUTS: Record<string, OutputDef<ContactInfluence>> = {
  stage: { types: TEXT, get: (c) => c.stage },
  last_activity_at: { types: TIME, get: (c) => c.lastActivityAt },
  activity_90d: { types: NUM, get: (c) => c.activityRecent },
  // Text only: several channels joined by `;` would be refused by the single-select enumeration provisioning creates.
  channels: { types: ['string'], get: (c) => c.channels.join(';') },
};

export const COMPANY_OUTPUTS: Record<string, OutputDef<CompanyInfluence>> = {
  engaged_members: { types: NUM, get: (c) => c.engagedMembers },
  activity_count: { types: NUM, get: (c) => c.activityCount },
  top_channel: { types: TEXT, get: (c) => c.topChannel },
  last_activity_at: { types: TIME, get: (c) => c.lastActivityAt },
};

export const OUTPUTS: Record<WriteObject, readonly string[]> = {
  deal: Object.keys(DEAL_OUTPUTS),
  contact: Object.keys(CONTACT_OUTPUTS),
  company: Object.keys(COMPANY_OUTPUTS),
};

/** Field types an output may be written as, or null if the object has no such output. */
export function outputTypes(object: WriteObject, output: string): readonly FieldType[] | null {
  const table = object === 'deal' ? DEAL_OUTPUTS : object === 'contact' ? CONTACT_OUTPUTS : COMPANY_OUTPUTS;
  return table[output]?.types ?? null;
}

function format(v: Value, type: FieldType): FieldValue {
  if (v === null) return null;
  if (type === 'date' && typeof v === 'string') return v.slice(0, 10);
  return v;
}

function valuesFor<T>(fields: readonly FieldSpec[], table: Record<string, OutputDef<T>>, x: T): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const f of fields) {
    const def = table[f.output];
    if (def) out[f.name] = format(def.get(x), f.type);
  }
  return out;
}

/** CRM property name → value for one record, per the mapping (dates as YYYY-MM-DD for `date` fields). */
export function dealFieldValues(mapping: FieldMapping, d: DealInfluence): Record<string, FieldValue> {
  return valuesFor(mapping.fields.filter((f) => f.object === 'deal'), DEAL_OUTPUTS, d);
}
export function contactFieldValues(mapping: FieldMapping, c: ContactInfluence): Record<string, FieldValue> {
  return valuesFor(mapping.fields.filter((f) => f.object === 'contact'), CONTACT_OUTPUTS, c);
}
export function companyFieldValues(mapping: FieldMapping, c: CompanyInfluence): Record<string, FieldValue> {
  return valuesFor(mapping.fields.filter((f) => f.object === 'company'), COMPANY_OUTPUTS, c);
}

export type { ModelName };

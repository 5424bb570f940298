import * as z from 'zod';
import { OUTPUTS, outputTypes } from '../attribution/outputs';
import type { FieldMapping } from '../crm/types';
import { issueAt, parseYaml, type ParseResult, type SourceIssue } from './parse';
import type { Rules } from './schema';

/**
 * mappings/hubspot.yaml and mappings/salesforce.yaml: engine output → CRM property/field. The parsed value is exactly
 * the `FieldMapping` of src/crm/types.ts (checked by `satisfies` below), so connectors consume it directly.
 */

const fieldTypeSchema = z.enum(['number', 'bool', 'date', 'datetime', 'enumeration', 'string']);
const objectSchema = z.enum(['deal', 'contact', 'company']);

const fieldSchema = z.strictObject({
  object: objectSchema,
  output: z.string().min(1),
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,79}$/, 'a CRM API name: letters, digits and underscores, starting with a letter'),
  label: z.string().min(1).max(255),
  type: fieldTypeSchema,
  options: z.array(z.string().min(1)).min(1).optional(),
  description: z.string().max(1000).optional(),
});

export const fieldMappingSchema = z
  .strictObject({
    crm: z.enum(['hubspot', 'salesforce']),
    group: z.strictObject({ name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'lowercase property group name'), label: z.string().min(1) }).optional(),
    provision: z.boolean().default(false),
    fields: z.array(fieldSchema).min(1),
  })
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.fields.forEach((f, i) => {
      const types = outputTypes(f.object, f.output);
      if (types === null) {
        ctx.addIssue({
          code: 'custom',
          path: ['fields', i, 'output'],
          message: `unknown ${f.object} output "${f.output}"; expected one of: ${OUTPUTS[f.object].join(', ')}`,
        });
      } else if (!types.includes(f.type)) {
        ctx.addIssue({ code: 'custom', path: ['fields', i, 'type'], message: `output "${f.output}" is written as ${types.join(' or ')}, not ${f.type}` });
      }
      if (m.crm === 'salesforce' && !f.name.endsWith('__c')) {
        ctx.addIssue({ code: 'custom', path: ['fields', i, 'name'], message: `Salesforce custom field API names end in "__c" (e.g. ${f.name}__c)` });
      }
      if (m.crm === 'hubspot' && f.name !== f.name.toLowerCase()) {
        ctx.addIssue({ code: 'custom', path: ['fields', i, 'name'], message: 'HubSpot property names are lowercase' });
      }
      if (f.type === 'enumeration' && !f.options) {
        ctx.addIssue({ code: 'custom', path: ['fields', i, 'options'], message: 'enumeration fields need options' });
      }
      const key = `${f.object}:${f.name}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['fields', i, 'name'], message: `duplicate ${f.object} field "${f.name}"` });
      seen.add(key);
    });
    if (m.crm === 'salesforce' && m.group) {
      ctx.addIssue({ code: 'custom', path: ['group'], message: 'group is a HubSpot property group; Salesforce has none' });
    }
  });

// Compile-time proof that the parsed mapping is the connectors' FieldMapping.
type Parsed = z.output<typeof fieldMappingSchema>;
const _check = (m: Parsed): FieldMapping => m satisfies FieldMapping;
void _check;

export function parseFieldMapping(text: string, file = 'mapping.yaml'): ParseResult<FieldMapping> {
  return parseYaml(text, fieldMappingSchema, file);
}

/**
 * Checks a mapping against the rules it will be used with: enumeration options of `stage` outputs must list every
 * rules stage (a value missing from a HubSpot enumeration or Salesforce picklist is rejected on write).
 */
export function crossCheck(text: string, file: string, mapping: FieldMapping, rules: Rules): SourceIssue[] {
  const issues: SourceIssue[] = [];
  mapping.fields.forEach((f, i) => {
    if (f.output !== 'stage' || f.type !== 'enumeration') return;
    const missing = rules.stages.filter((s) => !(f.options ?? []).includes(s));
    if (missing.length) {
      issues.push(issueAt(text, file, ['fields', i, 'options'], `options must include every stage of rules.yaml; missing: ${missing.join(', ')}`));
    }
  });
  return issues;
}

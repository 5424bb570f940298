/**
 * Salesforce wire shapes, validated with zod at the boundary (jsforce hands back `unknown`-ish JSON). Provider schemas
 * live here; normalise.ts maps them to the CRM-neutral records.
 */
import * as z from 'zod';

const str = z.string().nullable().optional().transform((v) => v ?? null);
const bool = z.boolean().nullable().optional().transform((v) => v ?? false);
const num = z.number().nullable().optional().transform((v) => v ?? null);

const base = z.object({ Id: z.string(), CreatedDate: z.string(), SystemModstamp: z.string() });

export const contactRecord = base.extend({ Email: str, FirstName: str, LastName: str, Title: str, AccountId: str });
export const leadRecord = base.extend({
  Email: str,
  FirstName: str,
  LastName: str,
  Title: str,
  Company: str,
  Status: str,
  IsConverted: bool,
  ConvertedContactId: str,
  ConvertedAccountId: str,
});
export const accountRecord = base.extend({ Name: str, Website: str, Industry: str, NumberOfEmployees: num, BillingCountry: str });
export const opportunityRecord = base.extend({
  Name: str,
  Amount: num,
  CurrencyIsoCode: str,
  StageName: str,
  IsClosed: bool,
  IsWon: bool,
  CloseDate: str,
  AccountId: str,
  OwnerId: str,
});
export const contactRoleRecord = z.object({ Id: z.string(), OpportunityId: z.string(), ContactId: z.string().nullable(), Role: str, IsPrimary: bool });
export const opportunityAccount = z.object({ Id: z.string(), AccountId: str });

export type ContactRecord = z.infer<typeof contactRecord>;
export type LeadRecord = z.infer<typeof leadRecord>;
export type AccountRecord = z.infer<typeof accountRecord>;
export type OpportunityRecord = z.infer<typeof opportunityRecord>;

/** query / queryMore response; records are validated per object by the caller. */
export const queryResult = z.object({
  totalSize: z.number().int(),
  done: z.boolean(),
  nextRecordsUrl: z.string().optional(),
  records: z.array(z.record(z.string(), z.unknown())),
});
export type QueryResult = z.infer<typeof queryResult>;

export const describeResult = z.object({
  name: z.string(),
  fields: z.array(
    z
      .object({
        name: z.string(),
        type: z.string(),
        custom: z.boolean(),
        label: z.string().optional(),
        /** False for formulas, system fields and fields our field-level security lets us read but not edit. */
        updateable: z.boolean().optional(),
        calculated: z.boolean().optional(),
        picklistValues: z.array(z.object({ value: z.string() }).loose()).optional(),
      })
      .loose(),
  ),
});
export type DescribeResult = z.infer<typeof describeResult>;

/** sObject Collections answer: one entry per input record, in input order (failed entries may lack `id`). */
export const saveResults = z.array(
  z.object({
    id: z.string().nullable().optional(),
    success: z.boolean(),
    errors: z.array(z.object({ statusCode: z.string(), message: z.string(), fields: z.array(z.string()).optional() })),
  }),
);

export const bulkJobInfo = z
  .object({
    id: z.string(),
    state: z.enum(['Open', 'UploadComplete', 'InProgress', 'Aborted', 'JobComplete', 'Failed']),
    createdDate: z.string().optional(),
    errorMessage: z.string().optional(),
    numberRecordsProcessed: z.number().optional(),
  })
  .loose();

/** Metadata API SaveResult as jsforce casts it. */
export const metadataSaveResult = z.object({
  fullName: z.string(),
  success: z.boolean(),
  errors: z
    .union([z.array(z.object({ statusCode: z.string(), message: z.string() }).loose()), z.object({ statusCode: z.string(), message: z.string() }).loose()])
    .nullable()
    .optional(),
});

/** Bulk 2.0 CSV rows as jsforce parses them: every value is a string, '' meaning null. */
export const csvRow = z.record(z.string(), z.string());

/** Turns a Bulk CSV row into the JSON shape REST returns, using the describe types to restore numbers and booleans. */
export function csvToJson(row: Record<string, string>, types: Map<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(row)) {
    const type = types.get(key);
    if (raw === '') out[key] = type === 'boolean' ? false : null;
    else if (type === 'boolean') out[key] = raw === 'true';
    else if (type === 'int' || type === 'double' || type === 'currency' || type === 'percent') out[key] = Number(raw);
    else out[key] = raw;
  }
  return out;
}

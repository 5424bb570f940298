/** zod form of the CRM-neutral Org (test/emulators/org.ts), for the seed endpoint; checked against the type at compile time. */
import { z } from 'zod';
import type { Org } from '../org';

const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a date');

export const orgSchema = z.object({
  companies: z.array(z.object({
    key: z.string(), name: z.string(), domain: z.string().nullable(), website: z.string().nullable(),
    additionalDomains: z.array(z.string()), industry: z.string().nullable(), employees: z.number().nullable(),
    country: z.string().nullable(), createdAt: iso, updatedAt: iso,
  })),
  contacts: z.array(z.object({
    key: z.string(), email: z.string().nullable(), additionalEmails: z.array(z.string()), firstName: z.string().nullable(),
    lastName: z.string().nullable(), title: z.string().nullable(), companyKey: z.string().nullable(),
    lifecycleStage: z.enum(['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer']),
    isLead: z.boolean(), convertedToContactKey: z.string().nullable(), createdAt: iso, updatedAt: iso,
  })),
  deals: z.array(z.object({
    key: z.string(), name: z.string(), amount: z.number().nullable(), currency: z.string(),
    stage: z.enum(['new', 'qualified', 'proposal', 'negotiation', 'won', 'lost']), createdAt: iso, closeDate: iso.nullable(),
    companyKey: z.string().nullable(),
    contacts: z.array(z.object({ contactKey: z.string(), role: z.string().nullable(), isPrimary: z.boolean() })),
    updatedAt: iso,
  })),
}) satisfies z.ZodType<Org>;

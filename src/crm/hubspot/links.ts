/**
 * Deal ↔ contact and deal ↔ company links from the v4 associations batch read (1000 ids a call).
 *
 * HubSpot models a contact's role on a deal as association labels: HUBSPOT_DEFINED type 3 is the plain deal→contact link,
 * USER_DEFINED labels carry roles. We read the first non-"Primary" label as the role and a "Primary…" label as the primary
 * contact (a portal convention; HubSpot has no built-in primary contact on deals). For companies, HUBSPOT_DEFINED type 5
 * is the deal's primary company.
 */
import * as z from 'zod';
import type { CrmDealCompany, CrmDealContact } from '../types';

export const ASSOCIATION_BATCH = 1000;
export const DEAL_TO_PRIMARY_COMPANY = 5;

const associationType = z.object({
  category: z.string(),
  typeId: z.number(),
  label: z.string().nullish(),
});
const association = z.object({
  _from: z.object({ id: z.string() }),
  to: z.array(z.object({ toObjectId: z.union([z.string(), z.number()]).transform(String), associationTypes: z.array(associationType) })),
});
export const associationBatch = z.object({ results: z.array(association) }).loose();
export type AssociationBatch = z.infer<typeof associationBatch>;

const PRIMARY = /^primary\b/i;

export function toDealContacts(batch: AssociationBatch): CrmDealContact[] {
  const out: CrmDealContact[] = [];
  for (const r of batch.results) {
    for (const to of r.to) {
      const labels = to.associationTypes.map((t) => t.label ?? '').filter((l) => l !== '');
      out.push({
        dealId: r._from.id,
        contactId: to.toObjectId,
        role: labels.find((l) => !PRIMARY.test(l)) ?? null,
        isPrimary: labels.some((l) => PRIMARY.test(l)),
      });
    }
  }
  return out;
}

export function toDealCompanies(batch: AssociationBatch): CrmDealCompany[] {
  return batch.results.flatMap((r) => r.to.map((to) => ({ dealId: r._from.id, companyId: to.toObjectId })));
}

/** One company per deal for CrmDeal.companyId: the primary one when labelled, else the first. */
export function primaryCompanyByDeal(batch: AssociationBatch): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of batch.results) {
    const primary = r.to.find((to) => to.associationTypes.some((t) => t.typeId === DEAL_TO_PRIMARY_COMPANY));
    const chosen = primary ?? r.to[0];
    if (chosen) out.set(r._from.id, chosen.toObjectId);
  }
  return out;
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

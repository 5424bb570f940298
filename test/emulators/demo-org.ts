/**
 * Deterministic demo organisation for the local sandbox, end-to-end tests and benchmarks: a CRM (companies, contacts,
 * leads, deals) plus the developer community around it, with the ground truth tests need (which member is which contact,
 * who is staff, who is a bot). Same seed, same output; nothing reads the clock or Math.random.
 *
 * The pieces live in ./demo/ (random, names, org-gen, members, community) to keep each file readable.
 */
import type { ActivityInput } from '../../src/activity/schema';
import type { Org, OrgStage } from './org';
import { type CommunityOptions, type CommunityTruth, buildCommunity } from './demo/community';
import { type OrgOptions, generateOrg } from './demo/org-gen';

export { generateOrg, DEFAULT_NOW, DEFAULT_SEED, type OrgOptions } from './demo/org-gen';
export type { CommunityOptions, CommunityTruth } from './demo/community';
export type { DemoMember, MemberKind } from './demo/members';

/** Community activity only; see generateDemo for the ground truth that goes with it. */
export function generateCommunity(org: Org, opts: CommunityOptions = {}): ActivityInput[] {
  return buildCommunity(org, opts).activities;
}

export interface DemoOptions extends OrgOptions {
  activities?: number;
  staffDomain?: string;
}

export interface Demo {
  org: Org;
  activities: ActivityInput[];
  truth: CommunityTruth;
}

/** Org and community from one seed; `now` and `months` are shared so activity and deals cover the same period. */
export function generateDemo(opts: DemoOptions = {}): Demo {
  const org = generateOrg(opts);
  const community: CommunityOptions = {};
  if (opts.seed !== undefined) community.seed = opts.seed;
  if (opts.activities !== undefined) community.activities = opts.activities;
  if (opts.now !== undefined) community.now = opts.now;
  if (opts.months !== undefined) community.months = opts.months;
  if (opts.staffDomain !== undefined) community.staffDomain = opts.staffDomain;
  const { activities, truth } = buildCommunity(org, community);
  return { org, activities, truth };
}

export interface DemoOrgSummary {
  companies: number;
  contacts: number;
  leads: number;
  convertedLeads: number;
  deals: number;
  dealsByStage: Record<OrgStage, number>;
  activities: number;
  activitiesBySource: Record<string, number>;
}

/** Counts for printing after seeding the sandbox. */
export function demoOrgSummary(org: Org, activities: readonly ActivityInput[]): DemoOrgSummary {
  const dealsByStage: Record<OrgStage, number> = { new: 0, qualified: 0, proposal: 0, negotiation: 0, won: 0, lost: 0 };
  for (const d of org.deals) dealsByStage[d.stage]++;
  const activitiesBySource: Record<string, number> = {};
  for (const a of activities) activitiesBySource[a.source] = (activitiesBySource[a.source] ?? 0) + 1;
  const leads = org.contacts.filter((c) => c.isLead);
  return {
    companies: org.companies.length,
    contacts: org.contacts.length - leads.length,
    leads: leads.length,
    convertedLeads: leads.filter((c) => c.convertedToContactKey !== null).length,
    deals: org.deals.length,
    dealsByStage,
    activities: activities.length,
    activitiesBySource,
  };
}

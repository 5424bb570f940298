import type { CrmKind } from '../crm/types';
import type { ModelName } from '../rules/schema';

/** Domain inputs and outputs of the attribution engine. Times are ISO-8601 strings at the edges. */

export interface DealContact {
  contactId: string;
  isPrimary: boolean;
  /** When the contact entered the CRM (HubSpot createdate, Salesforce CreatedDate): the "lead creation" milestone. */
  createdAt: string;
}

export interface Deal {
  id: string;
  crm: CrmKind;
  amount: number | null;
  currency: string | null;
  createdAt: string;
  closedAt: string | null;
  isClosed: boolean;
  isWon: boolean;
  companyId: string | null;
  contacts: DealContact[];
}

export interface Touch {
  id: string;
  memberId: string;
  /** CRM contacts linked to the member (confirmed/auto links). */
  contactIds: string[];
  /** The company the member belonged to when the touch happened (time-aware affiliation), not today's. */
  companyId: string | null;
  type: string;
  source: string;
  occurredAt: string;
  url?: string | null;
  title?: string | null;
  isStaff: boolean;
  isBot: boolean;
}

export type Milestone = 'first_touch' | 'lead_creation' | 'deal_creation' | 'closed_won' | 'last_touch';

export interface TouchEvidence {
  touchId: string;
  memberId: string;
  type: string;
  channel: string;
  occurredAt: string;
  url: string | null;
  title: string | null;
  milestones: Milestone[];
  /** Share of the deal (0..1) per computed model. */
  credit: Partial<Record<ModelName, number>>;
}

/** Touches left out of a bounded result's evidence, summed per activity type, event and member (see boundedEvidence). */
export interface EvidenceRest {
  type: string;
  channel: string;
  /** The event (title, else URL) for the events channel; null for others. */
  title: string | null;
  /** Null only when even the groups per member would not fit: then the touches of every member are summed. */
  memberId: string | null;
  touches: number;
  /** Summed share of the deal per computed model. */
  credit: Partial<Record<ModelName, number>>;
}

export interface DealInfluence {
  dealId: string;
  crm: CrmKind;
  influenced: boolean;
  sourced: boolean;
  assisted: boolean;
  /** 0–100. */
  score: number;
  primaryModel: ModelName;
  models: ModelName[];
  amount: number | null;
  currency: string | null;
  /** Copied from the deal so pipeline (open) and revenue (won) can be totalled without the deal at hand. */
  isClosed: boolean;
  isWon: boolean;
  /** amount × community share per model, in the deal currency; null when the deal has no amount. */
  attributedAmount: Partial<Record<ModelName, number | null>>;
  touchCount: number;
  firstTouchAt: string | null;
  lastTouchAt: string | null;
  topChannel: string | null;
  /** Per model: channel → share of the deal (0..1). */
  creditByChannel: Partial<Record<ModelName, Record<string, number>>>;
  /** Ids of the members behind the counted touches (empty from the batch path, which only counts them). */
  membersInvolved: string[];
  memberCount: number;
  /** Every counted touch with its credit per model (empty from the batch path). */
  evidence: TouchEvidence[];
  /**
   * Set only on a stored result too big to keep whole (see boundedEvidence): how many counted touches, those with the
   * least credit, are not in `evidence`. Every figure above still counts them.
   */
  evidenceOmitted?: number;
  /** Set with `evidenceOmitted`: the touches left out, summed for the reports by activity type, event and member. */
  evidenceRest?: EvidenceRest[];
  /**
   * Set only when a candidate touch is dated after `asOf` yet would fall in the open deal's window when its time comes
   * (clock skew, or a date typed wrong): the earliest such time. The result must be computed again from the touches
   * then; every figure above leaves such touches out until that time.
   */
  nextTouchAt?: string;
  evidenceUrl: string;
  rulesVersion: string;
}

export interface ContactInfluence {
  contactId: string;
  /** Deepest catalogue stage reached by the contact's counted touches; null with none. */
  stage: string | null;
  lastActivityAt: string | null;
  /** Counted touches in the last `contacts.activity_days` (90 by default) before `asOf`. */
  activityRecent: number;
  channels: string[];
}

export interface CompanyInfluence {
  companyId: string;
  engagedMembers: number;
  activityCount: number;
  topChannel: string | null;
  lastActivityAt: string | null;
}

export interface EngineContext {
  /** Base URL of the evidence pages; the deal's page is `${base}/deals/${crm}/${id}`. */
  evidenceBaseUrl: string;
  rulesVersion: string;
  /** "Now" for open deals (window end, recency). Defaults to no upper bound / the last touch. */
  asOf?: string;
  /** Channel weights fitted by fitMarkov / fitShapley, needed to compute the markov / shapley models per deal. */
  fitted?: Partial<Record<'markov' | 'shapley', Record<string, number>>>;
}

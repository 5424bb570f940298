/**
 * The one interface both CRMs sit behind. Records are normalised here; each provider folder keeps its own wire schema.
 * Everything is keyed by CRM id, never by email (emails change).
 */
import type { ReadBack } from './reconcile';

export type CrmKind = 'hubspot' | 'salesforce';

export interface CrmContact {
  crmId: string;
  /** Salesforce has Leads beside Contacts; HubSpot only contacts. */
  kind: 'contact' | 'lead';
  email: string | null;
  additionalEmails: string[];
  firstName: string | null;
  lastName: string | null;
  title: string | null;
  companyName: string | null;
  companyId: string | null;
  lifecycleStage: string | null;
  /** A converted Salesforce Lead points at the Contact it became. */
  convertedContactId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface CrmCompany {
  crmId: string;
  name: string | null;
  domain: string | null;
  website: string | null;
  additionalDomains: string[];
  industry: string | null;
  employees: number | null;
  country: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface CrmDeal {
  crmId: string;
  name: string | null;
  amount: number | null;
  currency: string | null;
  stage: string | null;
  pipeline: string | null;
  createdAt: string;
  closeDate: string | null;
  isClosed: boolean;
  isWon: boolean;
  ownerId: string | null;
  companyId: string | null;
  updatedAt: string;
}

/** HubSpot deal↔contact association, Salesforce OpportunityContactRole. */
export interface CrmDealContact {
  dealId: string;
  contactId: string;
  role: string | null;
  isPrimary: boolean;
}

export interface CrmDealCompany {
  dealId: string;
  companyId: string;
}

export type PullObject = 'contacts' | 'leads' | 'companies' | 'deals';

/** Resumable position of an incremental pull: the last (modified time, id) seen, plus an opaque provider page token. */
export interface PullCursor {
  phase: 'initial' | 'incremental';
  updatedAfter: string | null;
  lastId: string | null;
  pageToken: string | null;
  /** HubSpot: ids already returned at `updatedAfter`, excluded when the walk resumes there (see hubspot/walk.ts). */
  seen?: string[];
}

export interface PullPage<T> {
  records: T[];
  cursor: PullCursor;
  /** True when this page reached the end of what changed; the cursor then starts the next incremental pull. */
  done: boolean;
  calls: number;
}

export type PullRecord = { contacts: CrmContact; leads: CrmContact; companies: CrmCompany; deals: CrmDeal };

export type WriteObject = 'deal' | 'contact' | 'company';
export type FieldValue = string | number | boolean | null;

export interface RecordWrite {
  object: WriteObject;
  crmId: string;
  fields: Record<string, FieldValue>;
}

export interface RecordFailure {
  crmId: string;
  code: string;
  message: string;
  retryable: boolean;
  /**
   * The record can never take a write again (deleted, merged away, a converted Lead): the write stage records it as
   * skipped instead of failed, so it is not planned again on every run.
   */
  gone?: boolean;
}

export interface WriteResult {
  written: string[];
  failed: RecordFailure[];
  calls: number;
  /** Of `written`: records found already holding the sent values after a write whose outcome was unknown (not re-sent). */
  settled?: number;
}

export type FieldType = 'number' | 'bool' | 'date' | 'datetime' | 'enumeration' | 'string';

/** One output → CRM property/field, as declared in mappings/hubspot.yaml or mappings/salesforce.yaml. */
export interface FieldSpec {
  object: WriteObject;
  output: string;
  name: string;
  label: string;
  type: FieldType;
  options?: string[];
  description?: string;
}

export interface FieldMapping {
  crm: CrmKind;
  /** HubSpot property group to create the properties in. */
  group?: { name: string; label: string };
  /** Create what is missing (HubSpot properties; Salesforce custom fields via the Metadata API). */
  provision: boolean;
  fields: FieldSpec[];
}

export interface ProvisionReport {
  present: string[];
  created: string[];
  /** Missing and not created (provision false or dry run): exact name and type to create by hand. */
  missing: { object: WriteObject; name: string; type: FieldType }[];
  /**
   * Cannot take the mapping's values: declared with one type and found with another, read-only or calculated, or an
   * enumeration lacking options the mapping declares (`actual` says which). Writing is refused until fixed.
   */
  wrongType: { object: WriteObject; name: string; expected: FieldType; actual: string }[];
  /** Options added to existing enumerations, as `object.property:value`. */
  optionsAdded?: string[];
  calls: number;
}

/** Thrown when a run must stop rather than retry (daily limit, request limit, bad credentials). */
export class CrmStopError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly resumesAt: string | null = null,
  ) {
    super(message);
    this.name = 'CrmStopError';
  }
}

export interface CrmConnector {
  readonly kind: CrmKind;
  pull<O extends PullObject>(object: O, cursor: PullCursor | null, pageSize?: number): Promise<PullPage<PullRecord[O]>>;
  /** Deal↔contact and deal↔company links for the given deals (HubSpot v4 batch read; Salesforce OpportunityContactRole). */
  pullDealLinks(dealIds: string[]): Promise<{ contacts: CrmDealContact[]; companies: CrmDealCompany[]; calls: number }>;
  /**
   * Writes the given field values, batching per provider limits; per-record failures are returned, not thrown. A call
   * whose outcome is unknown is settled by reading the records back, never by a blind re-send.
   */
  write(writes: RecordWrite[]): Promise<WriteResult>;
  /** Current values of the given fields (read back to settle writes whose outcome is unknown); missing ids are absent. */
  readFields(object: WriteObject, ids: string[], fields: string[]): Promise<{ records: ReadBack; calls: number }>;
  provision(mapping: FieldMapping, opts: { dryRun: boolean }): Promise<ProvisionReport>;
  /** Total API calls made by this connector instance. */
  readonly calls: number;
}

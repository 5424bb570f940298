/**
 * The emulated org's data and bookkeeping: records per sObject, metadata, sessions, API usage, open query cursors, Bulk 2.0
 * jobs, injected faults and call statistics. HTTP routes are thin wrappers over this, so in-process tests can also poke
 * state directly (e.g. update a record to bump SystemModstamp).
 */
import type { Org, OrgStage, SeedResult } from '../org';
import { KEY_PREFIX, makeId } from './ids';
import { type SObjectName, type SfField, field, isSObjectName, standardFields, METADATA_TYPE_TO_DESCRIBE } from './schema';
import { type Literal, type SoqlQuery, type StoredRecord, matches, parseSoql, sortRecords } from './soql';

export interface ConnectedApp {
  clientId: string;
  clientSecret: string | null;
  /** SPKI PEM of the certificate uploaded for the JWT bearer flow. */
  publicKeyPem: string | null;
}

export type Fault =
  /** `html`: answer an HTML page (a proxy or maintenance page) instead of the surface's own error body. */
  | { kind: 'status'; status: number; errorCode: string; pathPrefix: string; remaining: number; html?: boolean }
  | { kind: 'slow'; delayMs: number; pathPrefix: string; remaining: number }
  | { kind: 'drop'; pathPrefix: string; remaining: number }
  /** Handles the request (a write is applied), then destroys the socket: the answer is lost on the way back. */
  | { kind: 'lose_response'; pathPrefix: string; remaining: number }
  /** Handles the request (a write is applied), then answers 5xx, as a proxy that timed out after the commit does. */
  | { kind: 'fail_after_apply'; status: number; errorCode: string; pathPrefix: string; remaining: number };

export interface RecordFault {
  ids: Set<string>;
  errorCode: string;
  message: string;
  /** How many more times each id fails. */
  remaining: Map<string, number>;
}

export interface QueryCursor {
  object: string;
  rows: StoredRecord[];
  select: string[];
  batchSize: number;
}

export interface BulkJob {
  id: string;
  object: string;
  query: string;
  rows: StoredRecord[];
  select: string[];
  polls: number;
  createdDate: string;
}

export const STAGE_NAMES: Record<OrgStage, string> = {
  new: 'Prospecting',
  qualified: 'Qualification',
  proposal: 'Proposal/Price Quote',
  negotiation: 'Negotiation/Review',
  won: 'Closed Won',
  lost: 'Closed Lost',
};

export interface StateOptions {
  dailyApiLimit?: number;
  multiCurrency?: boolean;
  /**
   * Field-level security as in a real org: custom fields created through the Metadata API are invisible to the API user
   * (absent from describe, INVALID_FIELD in SOQL and writes) until a permission set assigned to that user grants them.
   */
  fieldSecurity?: boolean;
}

/** Field permissions of one permission set, by `Object.Field`. */
export type FieldPermissions = Map<string, { readable: boolean; editable: boolean }>;

export class SalesforceState {
  readonly orgId = makeId(KEY_PREFIX.Organization, 1);
  readonly userId = makeId(KEY_PREFIX.User, 1);
  dailyApiLimit = 15_000;
  multiCurrency = false;
  fieldSecurity = false;
  /** `Object.Field` of custom fields that need a permission set grant (created through the Metadata API under FLS). */
  securedFields = new Set<string>();
  /** `Object.Field` the API user's profile may read but not edit (read-only field-level security). */
  readOnlyFields = new Set<string>();
  /** Deleted records (a merge deletes the losers too), by id: they refuse updates with ENTITY_IS_DELETED. */
  recycleBin = new Map<string, { object: SObjectName; record: StoredRecord }>();
  /** Permission sets by Name (records live in `records.PermissionSet`; grants here). */
  permissionSets = new Map<string, FieldPermissions>();
  apiUsed = 0;
  fields!: Record<SObjectName, SfField[]>;
  records!: Record<SObjectName, Map<string, StoredRecord>>;
  apps = new Map<string, ConnectedApp>();
  tokens = new Set<string>();
  faults: Fault[] = [];
  recordFaults: RecordFault[] = [];
  cursors = new Map<string, QueryCursor>();
  bulkJobs = new Map<string, BulkJob>();
  /** `recordWrites`: record id → how many times an update was applied to it (duplicate writes show up as 2). */
  stats = { calls: {} as Record<string, number>, writeCalls: 0, recordsWritten: 0, recordWrites: {} as Record<string, number>, tokensIssued: 0, metadataCreates: 0 };
  private counters = new Map<string, number>();
  private lastStamp = 0;

  constructor(opts: StateOptions = {}) {
    this.reset(opts);
  }

  reset(opts: StateOptions = {}): void {
    this.dailyApiLimit = opts.dailyApiLimit ?? this.dailyApiLimit;
    this.multiCurrency = opts.multiCurrency ?? false;
    this.fieldSecurity = opts.fieldSecurity ?? false;
    this.securedFields.clear();
    this.readOnlyFields.clear();
    this.recycleBin.clear();
    this.permissionSets.clear();
    this.apiUsed = 0;
    this.fields = standardFields(this.multiCurrency);
    this.records = {
      Account: new Map(),
      Contact: new Map(),
      Lead: new Map(),
      Opportunity: new Map(),
      OpportunityContactRole: new Map(),
      PermissionSet: new Map(),
      PermissionSetAssignment: new Map(),
    };
    this.apps = new Map([['emulator-client-id', { clientId: 'emulator-client-id', clientSecret: 'emulator-client-secret', publicKeyPem: null }]]);
    this.tokens.clear();
    this.faults = [];
    this.recordFaults = [];
    this.cursors.clear();
    this.bulkJobs.clear();
    this.stats = { calls: {}, writeCalls: 0, recordsWritten: 0, recordWrites: {}, tokensIssued: 0, metadataCreates: 0 };
    this.counters.clear();
  }

  nextId(prefix: string): string {
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return makeId(prefix, n);
  }

  /** Strictly increasing modification stamps, so "changed after my cursor" is never ambiguous for emulator-made edits. */
  stamp(): string {
    this.lastStamp = Math.max(Date.now(), this.lastStamp + 1);
    return new Date(this.lastStamp).toISOString();
  }

  /** What the integration user may do with a field: FLS applies only to secured custom fields. */
  access(object: SObjectName, name: string): { readable: boolean; editable: boolean } {
    const key = `${object}.${name}`;
    if (this.readOnlyFields.has(key)) return { readable: true, editable: false };
    if (!this.securedFields.has(key)) return { readable: true, editable: true };
    const assigned = new Set([...this.records.PermissionSetAssignment.values()].filter((a) => a.AssigneeId === this.userId).map((a) => a.PermissionSetId));
    const out = { readable: false, editable: false };
    for (const ps of this.records.PermissionSet.values()) {
      if (!assigned.has(ps.Id ?? null)) continue;
      const grant = this.permissionSets.get(String(ps.Name))?.get(key);
      out.readable ||= grant?.readable ?? false;
      out.editable ||= grant?.editable ?? false;
    }
    return out;
  }

  /** Fields the integration user can see (describe, SOQL, writes); metadata operations see all of `fields`. */
  fieldsOf(object: string): SfField[] | null {
    if (!isSObjectName(object)) return null;
    return this.fields[object].filter((f) => this.access(object, f.name).readable);
  }

  /** Describe's view: visible fields, `updateable` only where the field and the user's access both allow edits. */
  describeFields(object: SObjectName): SfField[] {
    return (this.fieldsOf(object) ?? []).map((f) => ({ ...f, updateable: f.updateable && this.access(object, f.name).editable }));
  }

  fieldTypes(object: SObjectName): Map<string, SfField['type']> {
    return new Map(this.fields[object].map((f) => [f.name, f.type]));
  }

  /** Takes ownership of `values` when it carries its own stamps (the seeding fast path: no copy per record). */
  insert(object: SObjectName, values: StoredRecord, id = this.nextId(KEY_PREFIX[object])): string {
    let rec: StoredRecord;
    if (typeof values.SystemModstamp === 'string') {
      // Seeded stamps may lie ahead of the wall clock; later edits must still sort after them.
      const seeded = Date.parse(values.SystemModstamp);
      if (seeded > this.lastStamp) this.lastStamp = seeded;
      values.Id = id;
      rec = values;
    } else {
      const now = this.stamp();
      rec = { Id: id, CreatedDate: now, LastModifiedDate: now, SystemModstamp: now, ...values };
    }
    this.records[object].set(id, rec);
    return id;
  }

  /** Applies field values and bumps SystemModstamp/LastModifiedDate, as any real edit does. */
  update(object: SObjectName, id: string, values: StoredRecord): StoredRecord | null {
    const rec = this.records[object].get(id);
    if (!rec) return null;
    const now = this.stamp();
    Object.assign(rec, values, { LastModifiedDate: now, SystemModstamp: now });
    return rec;
  }

  /**
   * `formula`: a calculated field of that result type (never writable). `readOnly`: the profile grants read, not edit.
   * `secured`: hidden until a permission set grants it (only under fieldSecurity, as Metadata API creates are).
   */
  addCustomField(
    object: SObjectName,
    name: string,
    metadataType: string,
    opts: { label?: string; values?: string[]; precision?: number; scale?: number; secured?: boolean; readOnly?: boolean; formula?: boolean } = {},
  ): SfField {
    const type = METADATA_TYPE_TO_DESCRIBE[metadataType];
    if (!type) throw new Error(`unsupported field type ${metadataType}`);
    const { secured, readOnly, formula, ...fieldOpts } = opts;
    const created = field(name, type, { custom: true, calculated: formula ?? false, ...fieldOpts });
    this.fields[object].push(created);
    if (this.fieldSecurity && secured) this.securedFields.add(`${object}.${name}`);
    if (readOnly) this.readOnlyFields.add(`${object}.${name}`);
    return created;
  }

  /** Moves a record to the recycle bin; `mergedInto` records a merge loser's MasterRecordId. False when not found. */
  delete(object: SObjectName, id: string, mergedInto: string | null = null): boolean {
    const rec = this.records[object].get(id);
    if (!rec) return false;
    this.records[object].delete(id);
    const now = this.stamp();
    this.recycleBin.set(id, { object, record: { ...rec, IsDeleted: true, MasterRecordId: mergedInto, SystemModstamp: now, LastModifiedDate: now } });
    return true;
  }

  /** Lead conversion: the Lead is kept, marked converted and pointing at its Contact (and that Contact's Account). */
  convertLead(leadId: string, contactId: string): StoredRecord | null {
    const contact = this.records.Contact.get(contactId);
    if (!contact || !this.records.Lead.has(leadId)) return null;
    return this.update('Lead', leadId, { IsConverted: true, Status: 'Closed - Converted', ConvertedContactId: contactId, ConvertedAccountId: contact.AccountId ?? null });
  }

  /** Runs a parsed query against the data; returns matching rows sorted and limited (projection happens on output). */
  run(q: SoqlQuery): StoredRecord[] {
    if (!isSObjectName(q.object)) return [];
    const types = this.fieldTypes(q.object);
    const out: StoredRecord[] = [];
    for (const rec of this.records[q.object].values()) if (!q.where || matches(q.where, rec, types)) out.push(rec);
    sortRecords(out, q.orderBy, types);
    return q.limit === null ? out : out.slice(0, q.limit);
  }

  parse(soql: string): SoqlQuery {
    return parseSoql(soql, (o) => this.fieldsOf(o));
  }

  /** Maps the CRM-neutral org into Accounts, Contacts, Leads, Opportunities and OpportunityContactRoles. */
  seed(org: Org): SeedResult {
    const ids: Record<string, string> = {};
    const base = (createdAt: string, updatedAt: string) => ({ CreatedDate: createdAt, LastModifiedDate: updatedAt, SystemModstamp: updatedAt, OwnerId: this.userId });
    const names = new Map<string, string>();
    for (const c of org.companies) {
      names.set(c.key, c.name);
      ids[c.key] = this.insert('Account', {
        ...base(c.createdAt, c.updatedAt),
        Name: c.name,
        Website: c.website ?? (c.domain ? `https://${c.domain}` : null),
        Industry: c.industry,
        NumberOfEmployees: c.employees,
        BillingCountry: c.country,
      });
    }
    const contactAccount = new Map<string, string | null>();
    for (const p of org.contacts) {
      if (p.isLead) continue;
      const accountId = p.companyKey ? (ids[p.companyKey] ?? null) : null;
      contactAccount.set(p.key, accountId);
      ids[p.key] = this.insert('Contact', {
        ...base(p.createdAt, p.updatedAt),
        Email: p.email,
        FirstName: p.firstName,
        LastName: p.lastName ?? '[not provided]',
        Title: p.title,
        AccountId: accountId,
      });
    }
    const leadContact = new Map<string, string>();
    for (const p of org.contacts) {
      if (!p.isLead) continue;
      const converted = p.convertedToContactKey ? (ids[p.convertedToContactKey] ?? null) : null;
      if (converted && p.convertedToContactKey) leadContact.set(p.key, p.convertedToContactKey);
      ids[p.key] = this.insert('Lead', {
        ...base(p.createdAt, p.updatedAt),
        Email: p.email,
        FirstName: p.firstName,
        LastName: p.lastName ?? '[not provided]',
        Title: p.title,
        Company: (p.companyKey ? names.get(p.companyKey) : undefined) ?? '[not provided]',
        Status: converted ? 'Closed - Converted' : p.lifecycleStage === 'subscriber' ? 'Open - Not Contacted' : 'Working - Contacted',
        IsConverted: converted !== null,
        ConvertedContactId: converted,
        ConvertedAccountId: converted && p.convertedToContactKey ? (contactAccount.get(p.convertedToContactKey) ?? null) : null,
      });
    }
    for (const d of org.deals) {
      const stage = STAGE_NAMES[d.stage];
      const values: StoredRecord = {
        ...base(d.createdAt, d.updatedAt),
        Name: d.name,
        Amount: d.amount,
        StageName: stage,
        IsClosed: d.stage === 'won' || d.stage === 'lost',
        IsWon: d.stage === 'won',
        // CloseDate is required in Salesforce; open deals get an expected date.
        CloseDate: d.closeDate?.slice(0, 10) ?? d.createdAt.slice(0, 10),
        AccountId: d.companyKey ? (ids[d.companyKey] ?? null) : null,
      };
      if (this.multiCurrency) values.CurrencyIsoCode = d.currency;
      const oppId = this.insert('Opportunity', values);
      ids[d.key] = oppId;
      for (const link of d.contacts) {
        // A contact role needs a Contact; a converted lead's role goes to the contact it became, an open lead has none.
        const contactKey = leadContact.get(link.contactKey) ?? link.contactKey;
        const contactId = ids[contactKey];
        if (!contactId || !this.records.Contact.has(contactId)) continue;
        ids[`${d.key}/${link.contactKey}`] = this.insert('OpportunityContactRole', {
          ...base(d.createdAt, d.updatedAt),
          OpportunityId: oppId,
          ContactId: contactId,
          Role: link.role,
          IsPrimary: link.isPrimary,
        });
      }
    }
    return { ids };
  }
}

/** Salesforce's wire format for datetimes: millisecond precision with a +0000 offset. */
export function wireDatetime(iso: string): string {
  return new Date(iso).toISOString().replace('Z', '+0000');
}

/** A record as the REST API returns it: attributes first, then the selected fields in SELECT order. */
export function projectRecord(object: string, rec: StoredRecord, select: string[], types: Map<string, SfField['type']>, version: string) {
  const out: Record<string, unknown> = { attributes: { type: object, url: `/services/data/${version}/sobjects/${object}/${String(rec.Id)}` } };
  for (const f of select) {
    const v: Literal = rec[f] ?? null;
    out[f] = types.get(f) === 'datetime' && typeof v === 'string' ? wireDatetime(v) : v;
  }
  return out;
}

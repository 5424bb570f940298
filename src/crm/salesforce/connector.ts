/**
 * SalesforceConnector: the CrmConnector for Salesforce, on jsforce. Composition only — the session does auth, timeouts,
 * retries and limit tracking; pull.ts, write.ts and provision.ts hold the per-operation logic.
 */
import { sleep as realSleep } from '../call';
import {
  CrmStopError,
  type CrmConnector,
  type CrmDealCompany,
  type CrmDealContact,
  type FieldMapping,
  type ProvisionReport,
  type PullCursor,
  type PullObject,
  type PullPage,
  type PullRecord,
  type RecordWrite,
  type WriteObject,
  type WriteResult,
} from '../types';
import { SOBJECT_OF, SOBJECTS_OF, sobjectFor } from './normalise';
import { assertId, inChunks, inList } from './soql';
import type { ReadBack } from '../reconcile';
import { grantFieldAccess, type PermissionSetSpec } from './fls';
import { createFields, planProvision } from './provision';
import { Puller } from './pull';
import { SalesforceSession, type SessionOptions } from './session';
import { type DescribeResult, describeResult } from './wire';
import { writeRecords } from './write';

export interface SalesforceConnectorOptions extends SessionOptions {
  /** Initial loads above this many records use Bulk API 2.0 (default 2,000). */
  bulkThreshold?: number;
  /** Records per Bulk results page unless pull() asks for more (default 2,000). */
  bulkPageSize?: number;
  /** Wait between Bulk job polls (default 2 s) and polls per pull() call before returning an empty page (default 15). */
  bulkPollMs?: number;
  bulkMaxPolls?: number;
  /** Extra rounds for records that failed with a retryable per-record code (default 3). */
  recordRetries?: number;
  /**
   * Permission set that grants the integration user read/edit on the fields provisioning creates (default
   * `Community_Influence`); false leaves field-level security to an admin.
   */
  permissionSet?: PermissionSetSpec | false;
}

/** Why writing a field is refused, for the CrmStopError the write stage shows once. */
function refusal(w: ProvisionReport['wrongType'][number]): string {
  const field = `${SOBJECT_OF[w.object]}.${w.name}`;
  if (/not updateable/.test(w.actual)) {
    return `${field} is ${w.actual} in Salesforce, so no record can take it; give the integration user edit access to a plain ${w.expected} field, or map another field`;
  }
  return `${field} is a ${w.actual} field in Salesforce but the mapping declares ${w.expected}; fix the field or the mapping before writing`;
}

export class SalesforceConnector implements CrmConnector {
  readonly kind = 'salesforce' as const;
  private readonly session: SalesforceSession;
  private readonly puller: Puller;
  private readonly describes = new Map<string, Promise<DescribeResult>>();
  /** `object.field` (lower case) → why writing it is refused; filled by provision(). */
  private readonly refused = new Map<string, string>();
  /** Metadata API failures of the last provision() (the report has no slot for Salesforce's reasons). */
  lastCreateFailures: { fullName: string; message: string }[] = [];
  /** Fields the last provisioned mapping declared; once known, nothing else is written. */
  private declared: Set<string> | null = null;

  constructor(private readonly opts: SalesforceConnectorOptions) {
    this.session = new SalesforceSession(opts);
    const sleep = opts.sleep ?? realSleep;
    this.puller = new Puller(this.session, (sobject) => this.describe(sobject), {
      bulkThreshold: opts.bulkThreshold ?? 2000,
      bulkPageSize: opts.bulkPageSize ?? 2000,
      poll: { pollMs: opts.bulkPollMs ?? 2000, maxPolls: opts.bulkMaxPolls ?? 15, sleep },
    });
  }

  get calls(): number {
    return this.session.calls;
  }

  /** Last `Sforce-Limit-Info` api-usage seen (used/limit of the org's 24-hour allowance), null before the first call. */
  get apiUsage(): { used: number; limit: number } | null {
    return this.session.apiUsage;
  }

  /** Cached per connector: field lists change only through provisioning, which clears the cache. */
  describe(sobject: string): Promise<DescribeResult> {
    let pending = this.describes.get(sobject);
    if (!pending) {
      pending = this.session.request(describeResult, { method: 'GET', url: `${this.session.dataPath}/sobjects/${sobject}/describe` });
      pending.catch(() => this.describes.delete(sobject));
      this.describes.set(sobject, pending);
    }
    return pending;
  }

  pull<O extends PullObject>(object: O, cursor: PullCursor | null, pageSize?: number): Promise<PullPage<PullRecord[O]>> {
    return this.puller.pull(object, cursor, pageSize);
  }

  pullDealLinks(dealIds: string[]): Promise<{ contacts: CrmDealContact[]; companies: CrmDealCompany[]; calls: number }> {
    return this.puller.dealLinks(dealIds);
  }

  async write(writes: RecordWrite[]): Promise<WriteResult> {
    // Refuse before anything goes out: one bad field would otherwise fail (or corrupt) every record carrying it.
    for (const w of writes) {
      for (const name of Object.keys(w.fields)) {
        const key = `${w.object}.${name}`.toLowerCase();
        const reason = this.refused.get(key);
        if (reason) throw new CrmStopError('field_type', reason);
        if (this.declared && !this.declared.has(key)) {
          throw new CrmStopError('field_undeclared', `${SOBJECT_OF[w.object]}.${name} is not declared in the field mapping; refusing to write it`);
        }
      }
    }
    return writeRecords(this.session, writes, {
      recordRetries: this.opts.recordRetries ?? 3,
      sleep: this.opts.sleep ?? realSleep,
      read: async (batch) => {
        const fields = [...new Set(batch.flatMap((w) => Object.keys(w.fields)))];
        const out: ReadBack = new Map();
        for (const object of new Set(batch.map((w) => w.object))) {
          const ids = batch.filter((w) => w.object === object).map((w) => w.crmId);
          for (const [id, row] of (await this.readFields(object, ids, fields)).records) out.set(id, row);
        }
        return out;
      },
    });
  }

  /** SOQL by id (200 ids a query), per sObject: contact ids may be Leads (00Q…). */
  async readFields(object: WriteObject, ids: string[], fields: string[]): Promise<{ records: ReadBack; calls: number }> {
    const calls0 = this.session.calls;
    for (const f of fields) if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(f)) throw new Error(`not a Salesforce field name: ${f}`);
    const records: ReadBack = new Map();
    const bySobject = new Map<string, string[]>();
    for (const id of new Set(ids)) {
      const sobject = sobjectFor(object, id);
      bySobject.set(sobject, [...(bySobject.get(sobject) ?? []), assertId(id)]);
    }
    for (const [sobject, list] of bySobject) {
      for (const part of inChunks(list)) {
        const rows = await this.puller.queryAll(`SELECT Id, ${fields.join(', ')} FROM ${sobject} WHERE Id IN ${inList(part)}`);
        for (const row of rows) records.set(String(row.Id), row);
      }
    }
    return { records, calls: this.session.calls - calls0 };
  }

  async provision(mapping: FieldMapping, opts: { dryRun: boolean }): Promise<ProvisionReport> {
    if (mapping.crm !== 'salesforce') throw new CrmStopError('mapping', `provision got a ${mapping.crm} field mapping; expected mappings/salesforce.yaml`);
    const calls0 = this.session.calls;
    const sobjects = [...new Set(mapping.fields.flatMap((f) => SOBJECTS_OF[f.object]))];
    const fresh = async () => {
      const out = new Map<string, DescribeResult>();
      for (const sobject of sobjects) {
        this.describes.delete(sobject);
        out.set(sobject, await this.describe(sobject));
      }
      return out;
    };
    const { report, toCreate } = planProvision(mapping, await fresh());
    this.declared = new Set(mapping.fields.map((f) => `${f.object}.${f.name}`.toLowerCase()));
    this.refused.clear();
    for (const w of report.wrongType) this.refused.set(`${w.object}.${w.name}`.toLowerCase(), refusal(w));
    const done = () => ({ ...report, calls: this.session.calls - calls0 });
    if (report.wrongType.length > 0 || !mapping.provision || opts.dryRun || toCreate.length === 0) return done();

    const { failed } = await createFields(this.session, toCreate);
    this.lastCreateFailures = failed;
    const ps = this.opts.permissionSet ?? { name: 'Community_Influence', label: 'Community Influence' };
    if (ps !== false) {
      // A duplicate name means the field exists but we can't see it (no access yet): grant it like a new one.
      const notThere = new Set(failed.filter((f) => !f.message.startsWith('DUPLICATE_DEVELOPER_NAME')).map((f) => f.fullName));
      const grant = toCreate.map((t) => `${t.sobject}.${t.spec.name}`).filter((name) => !notThere.has(name));
      await grantFieldAccess(this.session, ps, grant);
    }
    // Trust the org, not the SaveResults: a create whose answer was lost (then retried as a duplicate) still counts.
    const after = planProvision({ ...mapping, fields: [...new Set(toCreate.map((t) => t.spec))] }, await fresh());
    for (const key of after.report.present) report.created.push(key);
    report.missing = report.missing.filter((m) => !after.report.present.includes(`${m.object}.${m.name}`));
    for (const w of after.report.wrongType) report.wrongType.push(w);
    return done();
  }
}

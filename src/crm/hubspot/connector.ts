/**
 * HubspotConnector: the CrmConnector over HubSpot's CRM v3/v4 APIs. Every request goes through callWithRetry (timeout,
 * decideHubspotRetry, the rate gate), and each attempt builds its codegen client over our fetch transport so the attempt's
 * AbortSignal reaches fetch. No node: APIs here: it runs in workerd as in Node.
 */
import { callWithRetry, sleep as realSleep, type RateGate } from '../call';
import type {
  CrmCompany, CrmConnector, CrmContact, CrmDeal, CrmDealCompany, CrmDealContact, FieldMapping, FieldSpec, PullCursor, PullObject,
  PullPage, PullRecord, ProvisionReport, RecordWrite, WriteObject, WriteResult,
} from '../types';
import { associationsApi, objectApi, propertiesApis, type ClientOptions, type HubspotObjectType } from './clients';
import { createLocalGate } from './gate';
import {
  ASSOCIATION_BATCH, associationBatch, chunk, primaryCompanyByDeal, toDealCompanies, toDealContacts, type AssociationBatch,
} from './links';
import { OBJECT_SPECS, toCompany, toContact, toDeal, WRITE_TYPES, type WireRecord } from './objects';
import {
  DEFAULT_GROUP, missingOptionsEntry, planProvision, propertyDefinition, type ExistingProperty, type HubspotProvisionReport, type OptionsToAdd,
} from './provision';
import { decideHubspotRetry } from './retry';
import { readRateLimitHeaders, type RateLimitSnapshot, type TransportContext } from './transport';
import { advance, initialCursor, MAX_SEARCH_LIMIT, searchFor } from './walk';
import { BATCH_SIZE, HubspotWriteStopped, writeAll } from './write';
import type { ReadBack } from '../reconcile';

export interface HubspotConnectorOptions {
  accessToken: string;
  /** https://api.hubapi.com, or an emulator. */
  baseUrl: string;
  /** Shared rate budget; defaults to an in-process gate at HubSpot's private-app limits. */
  gate?: RateGate;
  /** Per-attempt timeout (default 30 s). */
  timeoutMs?: number;
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
  fetch?: typeof fetch;
  now?: () => number;
  /** Extra rounds for records a 207 marked retryable (default 2). */
  writeRetryRounds?: number;
  /**
   * Search-index lag to allow for (default 0): a finished walk's cursor stays this far behind now, so records written just
   * before a pull but indexed after it are read by the next pull (at the cost of re-reading the last few seconds).
   */
  indexLagMs?: number;
}

type Pullers = { [K in PullObject]: (cursor: PullCursor | null, pageSize: number) => Promise<PullPage<PullRecord[K]>> };

export class HubspotConnector implements CrmConnector {
  readonly kind = 'hubspot' as const;
  private requests = 0;
  private rate: RateLimitSnapshot | null = null;
  private readonly client: ClientOptions;
  private readonly gate: RateGate;
  private readonly wait: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly opts: HubspotConnectorOptions) {
    this.client = { accessToken: opts.accessToken, baseUrl: opts.baseUrl.replace(/\/+$/, '') };
    this.wait = opts.sleep ?? realSleep;
    this.now = opts.now ?? Date.now;
    // Bind: workerd's fetch throws "Illegal invocation" when called as a method of another object.
    this.fetchImpl = opts.fetch ?? ((input, init) => fetch(input, init));
    this.gate = opts.gate ?? createLocalGate({ sleep: this.wait, now: this.now });
  }

  get calls(): number {
    return this.requests;
  }

  /** Last X-HubSpot-RateLimit-* values seen (for run records and benches). */
  get rateLimit(): RateLimitSnapshot | null {
    return this.rate;
  }

  /**
   * One API operation with timeout and retries. Before each attempt: the shared gate, then our own pacing from the last
   * response's headers (when HubSpot says nothing remains in the window, spread the next calls over it).
   */
  private call<T>(bucket: 'default' | 'search', op: (ctx: TransportContext) => Promise<T>, idempotent = true): Promise<T> {
    const gate: RateGate = {
      take: async (b, cost) => {
        await this.gate.take(b, cost);
        await this.pace();
      },
    };
    return callWithRetry(
      (signal) => {
        this.requests++;
        return op({ signal, fetch: this.fetchImpl, onHeaders: (h, status) => this.heard(h, status) });
      },
      {
        decide: (error, attempt) => decideHubspotRetry(error, attempt, this.now()),
        gate,
        bucket,
        timeoutMs: this.opts.timeoutMs ?? 30_000,
        maxAttempts: this.opts.maxAttempts ?? 6,
        sleep: this.wait,
        idempotent,
      },
    );
  }

  /**
   * Keeps the last rate headers for our own pacing, and tells the shared gate when they matter to everyone: a 429, or
   * less than a tenth of the window or of the day left (other apps on the portal spend the same allowance). Quiet
   * otherwise, so a normal call costs no extra round trip to the budget object.
   */
  private async heard(headers: Record<string, string>, status: number): Promise<void> {
    const r = (this.rate = readRateLimitHeaders(headers, this.now()));
    const low = (left: number | null, max: number | null) => left !== null && max !== null && max > 0 && left <= max / 10;
    if (status === 429 || low(r.remaining, r.max) || low(r.dailyRemaining, r.dailyMax)) {
      // Sharing the signal is best effort: failing to reach the budget must not turn an answered call into a failed one.
      await this.gate.observe?.(status, headers).catch(() => {});
    }
  }

  private async pace(): Promise<void> {
    const r = this.rate;
    if (!r || r.remaining === null || r.remaining > 0 || !r.intervalMs || !r.max) return;
    const elapsed = this.now() - r.at;
    if (elapsed >= r.intervalMs) return;
    await this.wait(Math.ceil(r.intervalMs / r.max));
  }

  private readonly pullers: Pullers = {
    contacts: (cursor, size) => this.pullObject('contacts', cursor, size, (rows) => rows.map(toContact)),
    companies: (cursor, size) => this.pullObject('companies', cursor, size, (rows) => rows.map(toCompany)),
    deals: (cursor, size) =>
      this.pullObject('deals', cursor, size, async (rows) => {
        const companies = await this.readAssociations('deals', 'companies', rows.map((r) => r.id));
        const primary = primaryCompanyByDeal(companies.batch);
        return rows.map((r) => toDeal(r, primary.get(r.id) ?? null));
      }),
    // HubSpot has no separate lead records: a lead is a contact with a lifecycle stage.
    leads: async (cursor) => ({ records: [], cursor: cursor ?? { ...initialCursor, phase: 'incremental' }, done: true, calls: 0 }),
  };

  pull<O extends PullObject>(object: O, cursor: PullCursor | null, pageSize = 100): Promise<PullPage<PullRecord[O]>> {
    return this.pullers[object](cursor, pageSize);
  }

  private async pullObject<T extends CrmContact | CrmCompany | CrmDeal>(
    type: HubspotObjectType,
    cursor: PullCursor | null,
    pageSize: number,
    normalise: (rows: WireRecord[]) => T[] | Promise<T[]>,
  ): Promise<PullPage<T>> {
    const before = this.requests;
    const spec = OBJECT_SPECS[type];
    const limit = Math.max(1, Math.min(MAX_SEARCH_LIMIT, Math.floor(pageSize)));
    const from = cursor ?? initialCursor;
    const query = searchFor(from, spec.modified, spec.properties, limit);
    const page = await this.call('search', (ctx) => objectApi(type, this.client, ctx).search(query));
    const records = await normalise(page.results);
    const rows = records.map((r) => ({ id: r.crmId, modified: r.updatedAt }));
    const lag = this.opts.indexLagMs ?? 0;
    const next = advance(from, rows, limit, lag > 0 ? new Date(this.now() - lag).toISOString() : null);
    return { records, cursor: next.cursor, done: next.done, calls: this.requests - before };
  }

  private async readAssociations(from: 'deals', to: 'contacts' | 'companies', ids: string[]) {
    const batches: AssociationBatch = { results: [] };
    for (const part of chunk(ids, ASSOCIATION_BATCH)) {
      const raw = await this.call('default', (ctx) =>
        associationsApi(this.client, ctx).getPage(from, to, { inputs: part.map((id) => ({ id })) }));
      // A 207 lists deals with no associations as errors (NO_ASSOCIATIONS_FOUND): that just means none.
      batches.results.push(...associationBatch.parse(raw).results);
    }
    return { batch: batches };
  }

  async pullDealLinks(dealIds: string[]): Promise<{ contacts: CrmDealContact[]; companies: CrmDealCompany[]; calls: number }> {
    const before = this.requests;
    const ids = [...new Set(dealIds)];
    if (ids.length === 0) return { contacts: [], companies: [], calls: 0 };
    const contacts = await this.readAssociations('deals', 'contacts', ids);
    const companies = await this.readAssociations('deals', 'companies', ids);
    return {
      contacts: toDealContacts(contacts.batch),
      companies: toDealCompanies(companies.batch),
      calls: this.requests - before,
    };
  }

  /** Throws HubspotWriteStopped (a CrmStopError) on a stop, with `partial` = what was written before it. */
  async write(writes: RecordWrite[]): Promise<WriteResult> {
    const before = this.requests;
    try {
      const result = await writeAll(writes, {
        update: (type, inputs) => this.call('default', (ctx) => objectApi(type, this.client, ctx).batchUpdate(inputs), false),
        read: (type, ids, properties) => this.readBack(type, ids, properties),
        sleep: this.wait,
        retryRounds: this.opts.writeRetryRounds ?? 2,
      });
      return { ...result, calls: this.requests - before };
    } catch (error) {
      if (error instanceof HubspotWriteStopped) error.partial.calls = this.requests - before;
      throw error;
    }
  }

  private async readBack(type: HubspotObjectType, ids: string[], properties: string[]): Promise<ReadBack> {
    const out: ReadBack = new Map();
    for (const part of chunk([...new Set(ids)], BATCH_SIZE)) {
      const rows = await this.call('default', (ctx) => objectApi(type, this.client, ctx).batchRead(part, properties));
      for (const r of rows) out.set(r.id, r.properties);
    }
    return out;
  }

  async readFields(object: WriteObject, ids: string[], fields: string[]): Promise<{ records: ReadBack; calls: number }> {
    const before = this.requests;
    const records = await this.readBack(WRITE_TYPES[object], ids, fields);
    return { records, calls: this.requests - before };
  }

  /**
   * Reads the declared properties, then (provision on, not a dry run, no wrong type) creates the missing ones and adds
   * declared options that existing enumerations lack. Options not added are reported in `wrongType` (see provision.ts).
   */
  async provision(mapping: FieldMapping, opts: { dryRun: boolean }): Promise<HubspotProvisionReport> {
    const before = this.requests;
    const objects = [...new Set(mapping.fields.map((f) => f.object))];
    const existing = new Map<WriteObject, ExistingProperty[]>();
    for (const object of objects) {
      const all = await this.call('default', (ctx) => propertiesApis(this.client, ctx).core.getAll(WRITE_TYPES[object]));
      existing.set(object, all.results.map((p) => ({
        name: p.name, type: p.type, options: p.options, calculated: p.calculated,
        readOnlyValue: p.modificationMetadata?.readOnlyValue, readOnlyOptions: p.modificationMetadata?.readOnlyOptions,
      })));
    }
    const { report, toCreate, toExtend } = planProvision(mapping, existing);
    const out: HubspotProvisionReport = { ...report, optionsAdded: [] };
    const done = () => ({ ...out, calls: this.requests - before });
    if (report.wrongType.length > 0 || !mapping.provision || opts.dryRun) {
      out.wrongType.push(...toExtend.map((add) => missingOptionsEntry(add)));
      return done();
    }
    await this.createProperties(mapping.group ?? DEFAULT_GROUP, toCreate, out);
    await this.addOptions(toExtend, out);
    return done();
  }

  private async createProperties(group: { name: string; label: string }, toCreate: Map<WriteObject, FieldSpec[]>, report: ProvisionReport): Promise<void> {
    for (const [object, fields] of toCreate) {
      const type = WRITE_TYPES[object];
      const groups = await this.call('default', (ctx) => propertiesApis(this.client, ctx).groups.getAll(type));
      if (!groups.results.some((g) => g.name === group.name)) {
        await this.call('default', (ctx) => propertiesApis(this.client, ctx).groups.create(type, group));
      }
      const created = await this.call('default', (ctx) => {
        const api = propertiesApis(this.client, ctx);
        const inputs = fields.map((f) => {
          const def = propertyDefinition(f, group.name);
          return { ...def, type: api.typeEnum(def.type), fieldType: api.fieldTypeEnum(def.fieldType) };
        });
        return api.batch.create(type, { inputs });
      });
      const names = new Set(created.results.map((p) => p.name));
      for (const f of fields) {
        if (!names.has(f.name)) continue;
        report.created.push(`${object}.${f.name}`);
        report.missing = report.missing.filter((m) => !(m.object === object && m.name === f.name));
      }
    }
  }

  /** One PATCH per enumeration, sending existing options plus the missing ones (HubSpot replaces the whole list). */
  private async addOptions(toExtend: OptionsToAdd[], report: HubspotProvisionReport): Promise<void> {
    for (const add of toExtend) {
      const options = add.options.map((o) => ({ ...o, hidden: o.hidden ?? false }));
      await this.call('default', (ctx) => propertiesApis(this.client, ctx).core.update(WRITE_TYPES[add.object], add.field.name, { options }));
      report.present.push(`${add.object}.${add.field.name}`);
      report.optionsAdded.push(...add.missing.map((value) => `${add.object}.${add.field.name}:${value}`));
    }
  }
}

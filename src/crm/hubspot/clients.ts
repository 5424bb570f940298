/**
 * Builds the few HubSpot codegen clients we use, per call, over our own fetch transport. Only codegen modules are imported
 * (the full @hubspot/api-client is ~900 KB gzipped and carries a process-wide Bottleneck limiter and its own retries, which
 * would fight callWithRetry). A configuration is a handful of small objects, so one per call is cheap and lets each call
 * carry its own AbortSignal.
 *
 * The three object modules (contacts, companies, deals) are the same generated code with nominally distinct enums, so each
 * gets a short adapter into one neutral `ObjectApi`.
 */
import * as companies from '@hubspot/api-client/lib/codegen/crm/companies';
import * as contacts from '@hubspot/api-client/lib/codegen/crm/contacts';
import * as deals from '@hubspot/api-client/lib/codegen/crm/deals';
import * as associations from '@hubspot/api-client/lib/codegen/crm/associations/v4';
import * as properties from '@hubspot/api-client/lib/codegen/crm/properties';
import { fetchLibrary, type TransportContext } from './transport';

export type HubspotObjectType = 'contacts' | 'companies' | 'deals';

export type SearchFilter =
  | { propertyName: string; operator: 'EQ' | 'GT' | 'GTE'; value: string }
  | { propertyName: string; operator: 'NOT_IN'; values: string[] };

export interface SearchQuery {
  /** OR of AND-groups, as HubSpot's filterGroups. */
  filterGroups: SearchFilter[][];
  /** One property name, ascending (HubSpot applies a single sort rule). */
  sort: string;
  properties: string[];
  limit: number;
}

export interface SearchResult {
  total: number;
  results: { id: string; properties: Record<string, string | null> }[];
  nextAfter: string | null;
}

export interface BatchUpdateResult {
  status: number;
  results: { id: string }[];
  /** StandardError-shaped objects from a 207; validated by the caller. */
  errors: unknown[];
}

export interface ObjectApi {
  search(query: SearchQuery): Promise<SearchResult>;
  batchUpdate(inputs: { id: string; properties: Record<string, string> }[]): Promise<BatchUpdateResult>;
  /** Current values of `properties` for up to 100 ids; ids HubSpot does not find are simply absent. */
  batchRead(ids: string[], properties: string[]): Promise<WireObject[]>;
}

export interface ClientOptions {
  accessToken: string;
  baseUrl: string;
}

interface OperatorEnum<Op> {
  Eq: Op;
  Gt: Op;
  Gte: Op;
  NotIn: Op;
}

function toSearchRequest<Op>(ops: OperatorEnum<Op>, q: SearchQuery) {
  const op = { EQ: ops.Eq, GT: ops.Gt, GTE: ops.Gte, NOT_IN: ops.NotIn };
  return {
    filterGroups: q.filterGroups.map((filters) => ({
      filters: filters.map((f) =>
        'values' in f ? { propertyName: f.propertyName, operator: op[f.operator], values: f.values } : { propertyName: f.propertyName, operator: op[f.operator], value: f.value }),
    })),
    sorts: [q.sort],
    properties: q.properties,
    limit: q.limit,
  };
}

interface WireObject {
  id: string;
  properties: Record<string, string | null>;
}
interface WireCollection {
  total: number;
  results: WireObject[];
  paging?: { next?: { after: string } };
}
interface WireBatchInfo {
  httpStatusCode: number;
  data: { results: { id: string }[]; errors?: unknown[] };
}

function toSearchResult(page: WireCollection): SearchResult {
  return {
    total: page.total,
    results: page.results.map((r) => ({ id: r.id, properties: r.properties })),
    nextAfter: page.paging?.next?.after ?? null,
  };
}

function toReadResult(info: { data: { results: WireObject[] } }): WireObject[] {
  return info.data.results.map((r) => ({ id: r.id, properties: r.properties }));
}

function toBatchResult(info: WireBatchInfo): BatchUpdateResult {
  return { status: info.httpStatusCode, results: info.data.results, errors: info.data.errors ?? [] };
}

export function objectApi(type: HubspotObjectType, opts: ClientOptions, ctx: TransportContext): ObjectApi {
  const authMethods = { oauth2: { accessToken: opts.accessToken } };
  switch (type) {
    case 'contacts': {
      const m = contacts;
      const cfg = m.createConfiguration({
        baseServer: new m.ServerConfiguration(opts.baseUrl, {}),
        httpApi: m.wrapHttpLibrary(fetchLibrary(ctx, (s, h, b) => new m.ResponseContext(s, h, b))),
        authMethods,
      });
      const search = new m.SearchApi(cfg);
      const batch = new m.BatchApi(cfg);
      return {
        search: async (q) => toSearchResult(await search.doSearch(toSearchRequest(m.FilterOperatorEnum, q))),
        batchUpdate: async (inputs) => toBatchResult(await batch.updateWithHttpInfo({ inputs })),
        batchRead: async (ids, properties) => toReadResult(await batch.readWithHttpInfo({ inputs: ids.map((id) => ({ id })), properties, propertiesWithHistory: [] }, false)),
      };
    }
    case 'companies': {
      const m = companies;
      const cfg = m.createConfiguration({
        baseServer: new m.ServerConfiguration(opts.baseUrl, {}),
        httpApi: m.wrapHttpLibrary(fetchLibrary(ctx, (s, h, b) => new m.ResponseContext(s, h, b))),
        authMethods,
      });
      const search = new m.SearchApi(cfg);
      const batch = new m.BatchApi(cfg);
      return {
        search: async (q) => toSearchResult(await search.doSearch(toSearchRequest(m.FilterOperatorEnum, q))),
        batchUpdate: async (inputs) => toBatchResult(await batch.updateWithHttpInfo({ inputs })),
        batchRead: async (ids, properties) => toReadResult(await batch.readWithHttpInfo({ inputs: ids.map((id) => ({ id })), properties, propertiesWithHistory: [] }, false)),
      };
    }
    case 'deals': {
      const m = deals;
      const cfg = m.createConfiguration({
        baseServer: new m.ServerConfiguration(opts.baseUrl, {}),
        httpApi: m.wrapHttpLibrary(fetchLibrary(ctx, (s, h, b) => new m.ResponseContext(s, h, b))),
        authMethods,
      });
      const search = new m.SearchApi(cfg);
      const batch = new m.BatchApi(cfg);
      return {
        search: async (q) => toSearchResult(await search.doSearch(toSearchRequest(m.FilterOperatorEnum, q))),
        batchUpdate: async (inputs) => toBatchResult(await batch.updateWithHttpInfo({ inputs })),
        batchRead: async (ids, properties) => toReadResult(await batch.readWithHttpInfo({ inputs: ids.map((id) => ({ id })), properties, propertiesWithHistory: [] }, false)),
      };
    }
  }
}

export function associationsApi(opts: ClientOptions, ctx: TransportContext) {
  const m = associations;
  const cfg = m.createConfiguration({
    baseServer: new m.ServerConfiguration(opts.baseUrl, {}),
    httpApi: m.wrapHttpLibrary(fetchLibrary(ctx, (s, h, b) => new m.ResponseContext(s, h, b))),
    authMethods: { oauth2: { accessToken: opts.accessToken } },
  });
  return new m.BatchApi(cfg);
}

export function propertiesApis(opts: ClientOptions, ctx: TransportContext) {
  const m = properties;
  const cfg = m.createConfiguration({
    baseServer: new m.ServerConfiguration(opts.baseUrl, {}),
    httpApi: m.wrapHttpLibrary(fetchLibrary(ctx, (s, h, b) => new m.ResponseContext(s, h, b))),
    authMethods: { oauth2: { accessToken: opts.accessToken } },
  });
  const types: Record<string, properties.PropertyCreateTypeEnum> = {
    string: m.PropertyCreateTypeEnum.String,
    number: m.PropertyCreateTypeEnum.Number,
    date: m.PropertyCreateTypeEnum.Date,
    datetime: m.PropertyCreateTypeEnum.Datetime,
    enumeration: m.PropertyCreateTypeEnum.Enumeration,
    bool: m.PropertyCreateTypeEnum.Bool,
  };
  const fieldTypes: Record<string, properties.PropertyCreateFieldTypeEnum> = {
    text: m.PropertyCreateFieldTypeEnum.Text,
    number: m.PropertyCreateFieldTypeEnum.Number,
    date: m.PropertyCreateFieldTypeEnum.Date,
    select: m.PropertyCreateFieldTypeEnum.Select,
    booleancheckbox: m.PropertyCreateFieldTypeEnum.Booleancheckbox,
  };
  const pick = <T>(table: Record<string, T>, key: string): T => {
    const v = table[key];
    if (v === undefined) throw new Error(`no HubSpot property enum value for ${key}`);
    return v;
  };
  return {
    core: new m.CoreApi(cfg),
    groups: new m.GroupsApi(cfg),
    batch: new m.BatchApi(cfg),
    typeEnum: (t: string) => pick(types, t),
    fieldTypeEnum: (t: string) => pick(fieldTypes, t),
  };
}

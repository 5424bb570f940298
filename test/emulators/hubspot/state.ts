/**
 * The emulator's whole state: objects by type, property definitions and groups, associations, plus what tests inspect
 * (stats). Plain maps, so seeding 100k contacts and 20k deals from an Org takes well under a second.
 */
import type { Org, OrgStage, SeedResult } from '../org';
import { standardGroups, standardProperties, type ObjectType, type PropertyDef, type PropertyGroupDef } from './properties';

export interface StoredObject {
  id: string;
  num: number;
  properties: Record<string, string | null>;
  createdAt: number;
  updatedAt: number;
}

export interface AssociationType {
  category: 'HUBSPOT_DEFINED' | 'USER_DEFINED';
  typeId: number;
  label: string | null;
}

export interface AssociatedTo {
  id: string;
  types: AssociationType[];
}

export const OBJECT_TYPES: ObjectType[] = ['contacts', 'companies', 'deals'];
const TYPE_IDS: Record<string, ObjectType> = { '0-1': 'contacts', '0-2': 'companies', '0-3': 'deals' };
const SINGULAR: Record<string, ObjectType> = { contact: 'contacts', company: 'companies', deal: 'deals' };

/** `contacts`, `contact` or `0-1` → contacts (HubSpot accepts names and object type ids in paths). */
export function resolveType(raw: string): ObjectType | null {
  const lower = raw.toLowerCase();
  if (lower === 'contacts' || lower === 'companies' || lower === 'deals') return lower;
  return TYPE_IDS[lower] ?? SINGULAR[lower] ?? null;
}

/** HUBSPOT_DEFINED association type ids: [from→to unlabeled, from→to primary]. */
const DEFINED: Record<string, { plain: number; primary?: number }> = {
  'deals>contacts': { plain: 3 }, 'contacts>deals': { plain: 4 },
  'deals>companies': { plain: 341, primary: 5 }, 'companies>deals': { plain: 342, primary: 6 },
  'contacts>companies': { plain: 279, primary: 1 }, 'companies>contacts': { plain: 280, primary: 2 },
};

export const STAGES: Record<OrgStage, string> = {
  new: 'appointmentscheduled', qualified: 'qualifiedtobuy', proposal: 'presentationscheduled',
  negotiation: 'contractsent', won: 'closedwon', lost: 'closedlost',
};

export class ObjectStore {
  readonly byId = new Map<string, StoredObject>();
  /** Bumped on every change; search caches key on it. */
  version = 0;
  private next: number;
  constructor(private readonly firstId: number) {
    this.next = firstId;
  }
  allocate(): { id: string; num: number } {
    const num = this.next++;
    return { id: String(num), num };
  }
}

export interface Stats {
  calls: Record<string, number>;
  total: number;
  rateLimited: number;
  /** Batch updates that were applied (a 429 or injected fault does not count). */
  writeCalls: number;
  /** `type:id` → how many times an update was applied to that record. */
  recordWrites: Record<string, number>;
}

export class HubspotState {
  objects!: Record<ObjectType, ObjectStore>;
  properties!: Record<ObjectType, Map<string, PropertyDef>>;
  groups!: Record<ObjectType, Map<string, PropertyGroupDef>>;
  /** `from>to` → from id → linked ids with their association types. */
  associations!: Map<string, Map<string, AssociatedTo[]>>;
  /** Merged-away id → the id it was merged into: HubSpot keeps answering for the old id with the surviving record. */
  merged!: Record<ObjectType, Map<string, string>>;
  private labels!: Map<string, number>;
  stats!: Stats;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.objects = { contacts: new ObjectStore(1_000_001), companies: new ObjectStore(2_000_001), deals: new ObjectStore(3_000_001) };
    this.properties = { contacts: standardProperties('contacts'), companies: standardProperties('companies'), deals: standardProperties('deals') };
    this.groups = { contacts: standardGroups('contacts'), companies: standardGroups('companies'), deals: standardGroups('deals') };
    this.associations = new Map();
    this.merged = { contacts: new Map(), companies: new Map(), deals: new Map() };
    this.labels = new Map();
    this.typeLists = new Map();
    this.resetStats();
  }

  resetStats(): void {
    this.stats = { calls: {}, total: 0, rateLimited: 0, writeCalls: 0, recordWrites: {} };
  }

  /** The modified-time properties HubSpot maintains for a type (contacts carry both names). */
  modifiedProps(type: ObjectType): string[] {
    return type === 'contacts' ? ['lastmodifieddate', 'hs_lastmodifieddate'] : ['hs_lastmodifieddate'];
  }

  insert(type: ObjectType, props: Record<string, string | null>, createdAt: number, updatedAt: number): StoredObject {
    const store = this.objects[type];
    const { id, num } = store.allocate();
    const modified = new Date(updatedAt).toISOString();
    const properties: Record<string, string | null> = { ...props, hs_object_id: id, createdate: new Date(createdAt).toISOString() };
    for (const p of this.modifiedProps(type)) properties[p] = modified;
    const obj = { id, num, properties, createdAt, updatedAt };
    store.byId.set(id, obj);
    store.version++;
    return obj;
  }

  /** The live record for an id, following merges (a merged-away id answers with the record it was merged into). */
  find(type: ObjectType, id: string): StoredObject | undefined {
    let current = id;
    for (let hops = 0; hops < 10 && this.merged[type].has(current); hops++) current = this.merged[type].get(current) ?? current;
    return this.objects[type].byId.get(current);
  }

  /** Deletes (archives) a record with its associations; its id is then unknown to the API. */
  archive(type: ObjectType, id: string): boolean {
    if (!this.objects[type].byId.delete(id)) return false;
    this.relink(type, id, null);
    this.objects[type].version++;
    return true;
  }

  /** Merges `mergedId` into `primaryId`, as HubSpot's merge does: the primary keeps its id and takes the associations. */
  merge(type: ObjectType, primaryId: string, mergedId: string, now: number): StoredObject | null {
    const primary = this.objects[type].byId.get(primaryId);
    if (!primary || primaryId === mergedId || !this.objects[type].byId.delete(mergedId)) return null;
    this.merged[type].set(mergedId, primaryId);
    this.relink(type, mergedId, primaryId);
    const before = primary.properties.hs_merged_object_ids;
    primary.properties.hs_merged_object_ids = before ? `${before};${mergedId}` : mergedId;
    primary.updatedAt = now;
    for (const p of this.modifiedProps(type)) primary.properties[p] = new Date(now).toISOString();
    this.objects[type].version++;
    return primary;
  }

  /** Moves every association of `id` (both directions) to `into`, or drops them when `into` is null. */
  private relink(type: ObjectType, id: string, into: string | null): void {
    for (const [key, byFrom] of this.associations) {
      const [from, to] = key.split('>');
      const links = from === type ? byFrom.get(id) : undefined;
      if (links) {
        byFrom.delete(id);
        if (into !== null) {
          const target = byFrom.get(into) ?? [];
          for (const l of links) if (!target.some((t) => t.id === l.id)) target.push(l);
          byFrom.set(into, target);
        }
      }
      if (to !== type) continue;
      for (const list of byFrom.values()) {
        const i = list.findIndex((l) => l.id === id);
        if (i < 0) continue;
        const link = list[i]!;
        if (into !== null && !list.some((l) => l.id === into)) list[i] = { ...link, id: into };
        else list.splice(i, 1);
      }
    }
  }

  /** Applies property values and stamps the modified time, as a HubSpot write does. Follows merged ids. */
  update(type: ObjectType, id: string, props: Record<string, string>, now: number): StoredObject | null {
    const obj = this.find(type, id);
    if (!obj) return null;
    for (const [k, v] of Object.entries(props)) obj.properties[k] = v === '' ? null : v;
    obj.updatedAt = now;
    for (const p of this.modifiedProps(type)) obj.properties[p] = new Date(now).toISOString();
    this.objects[type].version++;
    const key = `${type}:${obj.id}`;
    this.stats.recordWrites[key] = (this.stats.recordWrites[key] ?? 0) + 1;
    return obj;
  }

  labelTypeId(label: string): number {
    let id = this.labels.get(label);
    if (id === undefined) {
      id = 100 + this.labels.size;
      this.labels.set(label, id);
    }
    return id;
  }

  /** Association type lists are shared between links with the same labels: seeding 100k links allocates a handful. */
  private typeLists = new Map<string, AssociationType[]>();

  private typesFor(a: ObjectType, b: ObjectType, primary: boolean, labels: string[]): AssociationType[] {
    const key = `${a}>${b}|${primary}|${labels.join('|')}`;
    let types = this.typeLists.get(key);
    if (types) return types;
    const def = DEFINED[`${a}>${b}`];
    if (!def) throw new Error(`no association ${a} → ${b}`);
    types = [{ category: 'HUBSPOT_DEFINED', typeId: def.plain, label: null }];
    if (primary && def.primary !== undefined) types.push({ category: 'HUBSPOT_DEFINED', typeId: def.primary, label: 'Primary' });
    for (const label of labels) types.push({ category: 'USER_DEFINED', typeId: this.labelTypeId(label), label });
    this.typeLists.set(key, types);
    return types;
  }

  associate(from: ObjectType, fromId: string, to: ObjectType, toId: string, opts: { primary?: boolean; labels?: string[] } = {}): void {
    const add = (a: ObjectType, aId: string, b: ObjectType, bId: string) => {
      const types = this.typesFor(a, b, opts.primary ?? false, opts.labels ?? []);
      const key = `${a}>${b}`;
      let byFrom = this.associations.get(key);
      if (!byFrom) this.associations.set(key, (byFrom = new Map()));
      const tos = byFrom.get(aId);
      if (!tos) byFrom.set(aId, [{ id: bId, types }]);
      else {
        const existing = tos.find((t) => t.id === bId);
        if (existing) existing.types = types;
        else tos.push({ id: bId, types });
      }
    };
    add(from, fromId, to, toId);
    add(to, toId, from, fromId);
  }

  associationsOf(from: ObjectType, to: ObjectType, id: string): AssociatedTo[] | undefined {
    return this.associations.get(`${from}>${to}`)?.get(id);
  }

  /** Maps a CRM-neutral Org into HubSpot records; returns key → HubSpot id. */
  seed(org: Org): SeedResult {
    const idMap = new Map<string, string>();
    const ids = { set: (k: string, v: string) => idMap.set(k, v), get: (k: string) => idMap.get(k) };
    const ms = (iso: string) => Date.parse(iso);
    for (const c of org.companies) {
      const obj = this.insert('companies', {
        name: c.name, domain: c.domain, website: c.website, hs_additional_domains: c.additionalDomains.join(';') || null,
        industry: c.industry, numberofemployees: c.employees === null ? null : String(c.employees), country: c.country,
      }, ms(c.createdAt), ms(c.updatedAt));
      ids.set(c.key, obj.id);
    }
    const companyNames = new Map(org.companies.map((c) => [c.key, c.name]));
    for (const p of org.contacts) {
      const companyId = p.companyKey ? (ids.get(p.companyKey) ?? null) : null;
      const obj = this.insert('contacts', {
        email: p.email, hs_additional_emails: p.additionalEmails.join(';') || null, firstname: p.firstName, lastname: p.lastName,
        jobtitle: p.title, company: p.companyKey ? (companyNames.get(p.companyKey) ?? null) : null,
        associatedcompanyid: companyId, lifecyclestage: p.lifecycleStage,
      }, ms(p.createdAt), ms(p.updatedAt));
      ids.set(p.key, obj.id);
      if (companyId) this.associate('contacts', obj.id, 'companies', companyId, { primary: true });
    }
    for (const d of org.deals) {
      const stage = STAGES[d.stage];
      const closed = d.stage === 'won' || d.stage === 'lost';
      const obj = this.insert('deals', {
        dealname: d.name, amount: d.amount === null ? null : String(d.amount), deal_currency_code: d.currency, dealstage: stage,
        pipeline: 'default', closedate: d.closeDate ? new Date(ms(d.closeDate)).toISOString() : null,
        hs_is_closed: String(closed), hs_is_closed_won: String(d.stage === 'won'), hubspot_owner_id: null,
      }, ms(d.createdAt), ms(d.updatedAt));
      ids.set(d.key, obj.id);
      const companyId = d.companyKey ? ids.get(d.companyKey) : undefined;
      if (companyId) this.associate('deals', obj.id, 'companies', companyId, { primary: true });
      for (const dc of d.contacts) {
        const contactId = ids.get(dc.contactKey);
        if (!contactId) continue;
        const labels = [...(dc.role ? [dc.role] : []), ...(dc.isPrimary ? ['Primary contact'] : [])];
        this.associate('deals', obj.id, 'contacts', contactId, { labels });
      }
    }
    return { ids: Object.fromEntries(idMap) };
  }
}

import type { ActivityInput, IdentityInput } from '../activity/schema';
import { DEFAULT_ROLE_LOCAL_PARTS } from '../identity/config';

/**
 * Decides, without I/O, which members and identities a batch of activities creates. This is the ingestion seam of
 * identity resolution: here only certain joins happen (the identities of one activity are one person; identities that
 * share a verified email, expressed as an `email:` identity, are one person). Everything fuzzier is left to
 * src/identity, which works on the stored members afterwards and only ever suggests.
 */
export interface StoredIdentity {
  id: number;
  source: string;
  external_id: string;
  member_id: string;
  handle: string | null;
  email: string | null;
  email_verified: number;
  name: string | null;
  company: string | null;
  is_bot: number;
}

export interface IdentityRow {
  source: string;
  external_id: string;
  member_id: string;
  handle: string | null;
  handle_lc: string | null;
  email: string | null;
  email_verified: number;
  name: string | null;
  company: string | null;
  is_bot: number;
}

export interface PlannedMember {
  id: string;
  display_name: string | null;
  is_bot: number;
  /** The member is created only if none of these identities exists yet when the batch commits (race guard). */
  keys: [string, string][];
}

export interface PlannedActivity {
  source: string;
  external_id: string;
  type: string;
  occurred_at: string;
  url: string | null;
  title: string | null;
  properties: string | null;
  /** The identity the activity is credited through (its member is looked up when the row is written). */
  identity_source: string;
  identity_external_id: string;
}

export interface IngestPlan {
  members: PlannedMember[];
  newIdentities: IdentityRow[];
  changedIdentities: IdentityRow[];
  activities: PlannedActivity[];
  /** Identities of one person already held by different members: recorded for review, never merged here. */
  conflicts: { memberIds: string[]; keys: string[] }[];
}

export const identityKey = (source: string, externalId: string) => `${source}\u0000${externalId}`;
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function normaliseEmail(email: string | undefined): string | null {
  const e = email?.trim().toLowerCase();
  return e && EMAIL_SHAPE.test(e) ? e : null;
}

/** The stored form of an identity's id: emails and handles compare case-insensitively, platform ids exactly. */
export function canonicalExternalId(source: string, id: string): string {
  const trimmed = id.trim();
  return source === 'email' ? trimmed.toLowerCase() : trimmed;
}

function isBot(identity: IdentityInput): boolean {
  return identity.is_bot === true || /\[bot\]$/i.test(identity.handle ?? '');
}

const DEFAULT_ROLES: ReadonlySet<string> = new Set(DEFAULT_ROLE_LOCAL_PARTS);

/**
 * Whether a verified address may stand for one person at ingest, where sharing it joins identities outright. A role
 * mailbox (info@, support@: identity.yaml's role_local_parts) is shared by a team and a bot's address is not a person's:
 * both stay on their identity as weak evidence for member matching and the review queue, never a join.
 */
function joinsByEmail(identity: IdentityInput, email: string, roles: ReadonlySet<string>): boolean {
  return !isBot(identity) && !roles.has(email.slice(0, email.indexOf('@')));
}

/** An activity's identities plus the `email:` identity of each verified address that names one person. */
export function expandIdentities(identities: IdentityInput[], roles: ReadonlySet<string> = DEFAULT_ROLES): IdentityInput[] {
  const out: IdentityInput[] = [];
  const seen = new Set<string>();
  const add = (i: IdentityInput) => {
    const key = identityKey(i.source, canonicalExternalId(i.source, i.id));
    if (!seen.has(key)) {
      seen.add(key);
      out.push(i);
    }
  };
  for (const identity of identities) {
    add(identity);
    const email = normaliseEmail(identity.email);
    if (email && identity.email_verified && identity.source !== 'email' && joinsByEmail(identity, email, roles)) {
      add({ source: 'email', id: email, email, email_verified: true, name: identity.name, company: identity.company });
    }
  }
  return out;
}

class UnionFind {
  private parent = new Map<string, string>();
  find(x: string): string {
    let root = this.parent.get(x) ?? x;
    if (root !== x) root = this.find(root);
    this.parent.set(x, root);
    return root;
  }
  union(a: string, b: string) {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }
}

function toRow(i: IdentityInput, memberId: string): IdentityRow {
  const handle = i.handle?.trim() || null;
  return {
    source: i.source,
    external_id: canonicalExternalId(i.source, i.id),
    member_id: memberId,
    handle,
    handle_lc: handle?.toLowerCase() ?? (i.source === 'email' ? canonicalExternalId(i.source, i.id) : null),
    email: normaliseEmail(i.email) ?? (i.source === 'email' ? normaliseEmail(i.id) : null),
    email_verified: i.email_verified || i.source === 'email' ? 1 : 0,
    name: i.name?.trim() || null,
    company: i.company?.trim() || null,
    is_bot: isBot(i) ? 1 : 0,
  };
}

/** Later inputs fill in or correct what an identity says about itself; an absent field never erases a known one. */
function mergeRow(base: IdentityRow, next: IdentityRow): IdentityRow {
  return {
    ...base,
    handle: next.handle ?? base.handle,
    handle_lc: next.handle_lc ?? base.handle_lc,
    email: next.email ?? base.email,
    email_verified: Math.max(base.email_verified, next.email_verified),
    name: next.name ?? base.name,
    company: next.company ?? base.company,
    is_bot: Math.max(base.is_bot, next.is_bot),
  };
}

function changed(stored: StoredIdentity, row: IdentityRow): boolean {
  return (
    stored.handle !== row.handle || stored.email !== row.email || stored.email_verified !== row.email_verified ||
    stored.name !== row.name || stored.company !== row.company || stored.is_bot !== row.is_bot
  );
}

/**
 * One account per member on these platforms (identity.yaml members.single_account_sources): a second account joined
 * through a shared verified email gets a member of its own, and member matching marks the pair for a person.
 * `held`: the identities (source, external id) the owners of the batch's stored identities already hold on them.
 */
export interface AccountGuard {
  singleAccount: ReadonlySet<string>;
  held: ReadonlyMap<string, readonly [string, string][]>;
  /** Local parts of shared mailboxes (identity.yaml); the shipped defaults when absent. */
  roleLocalParts?: ReadonlySet<string>;
}

export function planIngest(
  items: ActivityInput[],
  stored: ReadonlyMap<string, StoredIdentity>,
  newMemberId: () => string,
  guard: AccountGuard = { singleAccount: new Set(), held: new Map() },
): IngestPlan {
  const uf = new UnionFind();
  const inputs = new Map<string, IdentityInput[]>();
  const expanded = items.map((item) => expandIdentities(item.member.identities, guard.roleLocalParts));
  for (const identities of expanded) {
    const keys = identities.map((i) => identityKey(i.source, canonicalExternalId(i.source, i.id)));
    keys.forEach((key, n) => {
      uf.union(keys[0]!, key);
      inputs.set(key, [...(inputs.get(key) ?? []), identities[n]!]);
    });
  }

  const groups = new Map<string, string[]>();
  for (const key of inputs.keys()) {
    const root = uf.find(key);
    groups.set(root, [...(groups.get(root) ?? []), key]);
  }

  const plan: IngestPlan = { members: [], newIdentities: [], changedIdentities: [], activities: [], conflicts: [] };
  for (const keys of groups.values()) {
    const owners = keys.map((k) => stored.get(k)).filter((s): s is StoredIdentity => !!s).sort((a, b) => a.id - b.id);
    const memberIds = [...new Set(owners.map((o) => o.member_id))];
    if (memberIds.length > 1) plan.conflicts.push({ memberIds, keys });
    let memberId = memberIds[0];
    const rows = keys.map((k) => inputs.get(k)!.map((i) => toRow(i, '')).reduce(mergeRow));
    if (!memberId) {
      memberId = newMemberId();
      const named = rows.find((r) => r.name) ?? rows.find((r) => r.handle);
      plan.members.push({
        id: memberId,
        display_name: named?.name ?? named?.handle ?? null,
        is_bot: rows.some((r) => r.is_bot) ? 1 : 0,
        keys: rows.map((r) => [r.source, r.external_id]),
      });
    }
    // The accounts the group's member holds per one-account platform (stored, then those this group adds).
    const accounts = new Map<string, string>();
    for (const [source, id] of guard.held.get(memberId) ?? []) if (guard.singleAccount.has(source)) accounts.set(source, id);
    for (const o of owners) if (o.member_id === memberId && guard.singleAccount.has(o.source)) accounts.set(o.source, o.external_id);
    keys.forEach((key, n) => {
      const existing = stored.get(key);
      if (!existing) {
        const row = rows[n]!;
        const other = guard.singleAccount.has(row.source) ? accounts.get(row.source) : undefined;
        if (other !== undefined && other !== row.external_id) {
          const own = newMemberId();
          plan.members.push({ id: own, display_name: row.name ?? row.handle, is_bot: row.is_bot, keys: [[row.source, row.external_id]] });
          plan.newIdentities.push({ ...row, member_id: own });
          return;
        }
        if (guard.singleAccount.has(row.source)) accounts.set(row.source, row.external_id);
        plan.newIdentities.push({ ...row, member_id: memberId });
        return;
      }
      const merged = mergeRow(
        { ...existing, member_id: existing.member_id, handle_lc: existing.handle?.toLowerCase() ?? null },
        rows[n]!,
      );
      if (changed(existing, merged)) plan.changedIdentities.push({ ...merged, member_id: existing.member_id });
    });
  }

  for (const [n, item] of items.entries()) {
    const identities = expanded[n]!;
    const primary = identities.find((i) => i.source === item.source) ?? identities[0]!;
    plan.activities.push({
      source: item.source,
      external_id: item.external_id,
      type: item.type,
      occurred_at: new Date(item.occurred_at).toISOString(),
      url: item.url ?? null,
      title: item.title ?? null,
      properties: item.properties ? JSON.stringify(item.properties) : null,
      identity_source: primary.source,
      identity_external_id: canonicalExternalId(primary.source, primary.id),
    });
  }
  return plan;
}

/** Every identity key a batch touches, for the one lookup the consumer makes before planning. */
export function batchIdentityKeys(items: ActivityInput[], roleLocalParts?: ReadonlySet<string>): [string, string][] {
  const seen = new Map<string, [string, string]>();
  for (const item of items) {
    for (const i of expandIdentities(item.member.identities, roleLocalParts)) {
      const id = canonicalExternalId(i.source, i.id);
      seen.set(identityKey(i.source, id), [i.source, id]);
    }
  }
  return [...seen.values()];
}

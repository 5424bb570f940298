import { nowIso } from '../ids';
import { decodeCursor, encodeCursor } from './cursor';

/**
 * D1 side of member matching (migration 0012): members' keys, the members that share them, and the merge suggestions
 * people review. The decisions themselves are planned in src/identity/member-match.ts.
 */
const json = (v: unknown) => JSON.stringify(v);
export const orderedPair = (a: string, b: string) => (a < b ? [a, b] : [b, a]) as [string, string];

/**
 * Claims (or, with the chain's own token, extends) the lease of the chain that works through pending members: true for
 * one chain at a time, or for anyone once it has lapsed.
 */
export async function claimMatchLease(db: D1Database, token: string, ms: number): Promise<boolean> {
  const now = Date.now();
  const r = await db
    .prepare(
      `INSERT INTO member_match_lease (id, token, until) VALUES (1, ?1, ?2)
       ON CONFLICT (id) DO UPDATE SET token = excluded.token, until = excluded.until
        WHERE member_match_lease.token = ?1 OR member_match_lease.until < ?3`,
    )
    .bind(token, new Date(now + ms).toISOString(), new Date(now).toISOString())
    .run();
  return r.meta.changes === 1;
}

export async function releaseMatchLease(db: D1Database, token: string): Promise<void> {
  await db.prepare('UPDATE member_match_lease SET until = ?2 WHERE token = ?1').bind(token, new Date(0).toISOString()).run();
}

export interface PendingMember {
  id: string;
  created_at: string;
  /** Changes to its identities so far: it is marked matched only if this is still the count (markMatched). */
  keys_gen: number;
}

/** Members still to be matched (new, or their identities changed), oldest first; only `among` when given. */
export async function unkeyedMembers(db: D1Database, among: string[] | null, limit: number): Promise<PendingMember[]> {
  const { results } = await db
    .prepare(
      `SELECT id, created_at, keys_gen FROM members
        WHERE keys_at IS NULL AND merged_into IS NULL ${among ? 'AND id IN (SELECT value FROM json_each(?2))' : ''}
        ORDER BY created_at, id LIMIT ?1`,
    )
    .bind(limit, ...(among ? [json(among)] : []))
    .all<PendingMember>();
  return results;
}

/**
 * Replaces these members' keys (matching marks them done once its merges and suggestions are written), each only if
 * its identities did not change since they were read (keys_gen): a slower matcher never overwrites newer keys.
 */
export async function writeMemberKeys(db: D1Database, keys: ReadonlyMap<string, readonly string[]>, gens: ReadonlyMap<string, number>): Promise<void> {
  if (!keys.size) return;
  const current = `(SELECT value ->> 0 FROM json_each(?2) g WHERE (SELECT keys_gen FROM members WHERE id = g.value ->> 0) = g.value ->> 1)`;
  const gen = json([...keys.keys()].map((id) => [id, gens.get(id) ?? 0]));
  const rows = [...keys].flatMap(([member, ks]) => ks.map((k) => [k, member]));
  await db.batch([
    db.prepare(`DELETE FROM member_keys WHERE member_id IN ${current}`).bind(null, gen),
    db.prepare(`INSERT INTO member_keys (key, member_id) SELECT value ->> 0, value ->> 1 FROM json_each(?1) WHERE value ->> 1 IN ${current} ON CONFLICT DO NOTHING`).bind(json(rows), gen),
  ]);
}

/**
 * Marks members matched, each only if its identities did not change since it was read (keys_gen): a batch that added
 * an identity meanwhile leaves it pending, so the next pass keys it with that identity.
 */
export async function markMatched(db: D1Database, members: readonly Pick<PendingMember, 'id' | 'keys_gen'>[]): Promise<void> {
  if (!members.length) return;
  await db
    .prepare(`UPDATE members SET keys_at = ?2 WHERE keys_at IS NULL AND (id, keys_gen) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?1))`)
    .bind(json(members.map((m) => [m.id, m.keys_gen])), nowIso())
    .run();
}

/**
 * Other members holding one of these members' keys. A key held by more than `maxPerKey` members (a common name, a
 * shared `info@` address) says nothing about any two of them and is skipped; each key's holders are read through the
 * primary key and at most maxPerKey + 1 of them, so a common name costs no more than a rare one.
 */
export async function membersSharingKeys(db: D1Database, keysByMember: ReadonlyMap<string, readonly string[]>, maxPerKey: number): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const keys = [...new Set([...keysByMember.values()].flat())];
  if (!keys.length) return out;
  const { results } = await db
    .prepare(
      `SELECT j.value AS key, (SELECT json_group_array(member_id) FROM (SELECT member_id FROM member_keys k WHERE k.key = j.value LIMIT ?2 + 1)) AS holders
         FROM json_each(?1) j`,
    )
    .bind(json(keys), maxPerKey)
    .all<{ key: string; holders: string }>();
  const holders = new Map(results.map((r) => [r.key, JSON.parse(r.holders) as string[]]));
  for (const [member, ks] of keysByMember) {
    for (const k of ks) {
      const h = holders.get(k) ?? [];
      if (h.length < 2 || h.length > maxPerKey) continue;
      for (const other of h) {
        if (other === member) continue;
        const set = out.get(member) ?? new Set<string>();
        set.add(other);
        out.set(member, set);
      }
    }
  }
  return out;
}

/** Creation times of live members (merged-away ones are left out). */
export async function liveMembers(db: D1Database, ids: string[]): Promise<Map<string, string>> {
  const { results } = await db
    .prepare('SELECT id, created_at FROM members WHERE merged_into IS NULL AND id IN (SELECT value FROM json_each(?1))')
    .bind(json(ids))
    .all<{ id: string; created_at: string }>();
  return new Map(results.map((r) => [r.id, r.created_at]));
}

export interface MemberDecisionRow {
  /** The live members the decision now concerns: a decision about a member merged into another holds for that one. */
  member_a: string;
  member_b: string;
  decision: 'same' | 'not_same';
  decided_by: string;
  decided_at: string;
}

/**
 * People's decisions about these members and every member merged into them (followed through merged_into), each
 * projected onto the member it now belongs to: "X is not Y" still holds once X has been merged into A.
 */
export async function memberDecisionsOf(db: D1Database, ids: string[]): Promise<MemberDecisionRow[]> {
  const { results } = await db
    .prepare(
      // CROSS JOIN keeps absorbed as the outer loop: left to itself SQLite scanned every decision (one per merge ever
      // made) for each call, a cost that grew with the organisation.
      `WITH RECURSIVE absorbed(id, root) AS (
         SELECT value, value FROM json_each(?1)
         UNION SELECT m.id, a.root FROM members m JOIN absorbed a ON m.merged_into = a.id)
       SELECT ra.root AS member_a, rb.root AS member_b, d.decision, d.decided_by, d.decided_at
         FROM absorbed ra CROSS JOIN member_decisions d ON d.member_a = ra.id JOIN absorbed rb ON rb.id = d.member_b
        WHERE ra.root <> rb.root`,
    )
    .bind(json(ids))
    .all<MemberDecisionRow>();
  return results;
}

export interface SuggestionWrite {
  a: string;
  b: string;
  score: number;
  reasons: string[];
  blocked: string[];
}

/** Upserts suggestions and removes those of pairs that no longer warrant one. */
export async function saveSuggestions(db: D1Database, save: readonly SuggestionWrite[], clear: readonly [string, string][]): Promise<void> {
  if (!save.length && !clear.length) return;
  const now = nowIso();
  await db.batch([
    db.prepare(
      `DELETE FROM member_suggestions WHERE (member_a, member_b) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?1))`,
    ).bind(json(clear.map(([a, b]) => orderedPair(a, b)))),
    db.prepare(
      `INSERT INTO member_suggestions (member_a, member_b, score, reasons, blocked, created_at, updated_at)
       SELECT value ->> 'a', value ->> 'b', value ->> 'score', value ->> 'reasons', value ->> 'blocked', ?2, ?2 FROM json_each(?1) WHERE true
       ON CONFLICT (member_a, member_b) DO UPDATE SET score = excluded.score, reasons = excluded.reasons, blocked = excluded.blocked, updated_at = excluded.updated_at`,
    ).bind(json(save.map((s) => {
      const [a, b] = orderedPair(s.a, s.b);
      return { a, b, score: s.score, reasons: json(s.reasons), blocked: s.blocked.length ? json(s.blocked) : null };
    })), now),
  ]);
}

export interface SuggestionView {
  member_a: { id: string; display_name: string | null };
  member_b: { id: string; display_name: string | null };
  /** The member a merge keeps: the older, as automation keeps (its id is the one the CRM links and URLs know). */
  keep: string;
  score: number;
  reasons: string[];
  /** Set when the pair shares a verified identifier but cannot be one member: only "not the same person" applies. */
  blocked: string[] | null;
  created_at: string;
  updated_at: string;
}

type SuggestionRow = {
  member_a: string; member_b: string; score: number; reasons: string; blocked: string | null; created_at: string; updated_at: string;
  name_a: string | null; name_b: string | null; since_a: string; since_b: string;
};

export type SuggestionAfter = { score: number; a: string; b: string };

/** Keyset cursor of the suggestion list: the last row's (score, member_a, member_b). */
export const suggestionCursor = (s: SuggestionView): string => encodeCursor([s.score, s.member_a.id, s.member_b.id]);

/** The position a cursor from `suggestionCursor` names, or null for anything else. */
export function decodeSuggestionCursor(raw: string): SuggestionAfter | null {
  const v = decodeCursor(raw);
  const ok = Array.isArray(v) && v.length === 3 && typeof v[0] === 'number' && Number.isFinite(v[0]) && typeof v[1] === 'string' && typeof v[2] === 'string';
  return ok ? { score: v[0] as number, a: v[1] as string, b: v[2] as string } : null;
}

/** Open merge suggestions, best first (keyset on score, then the pair); `member`: those about one member. */
export async function listSuggestions(
  db: D1Database,
  opts: { limit: number; after?: SuggestionAfter | null; member?: string | null },
): Promise<SuggestionView[]> {
  const after = opts.after ?? null;
  const select = `SELECT s.*, ma.display_name AS name_a, mb.display_name AS name_b, ma.created_at AS since_a, mb.created_at AS since_b
                    FROM member_suggestions s JOIN members ma ON ma.id = s.member_a JOIN members mb ON mb.id = s.member_b
                   WHERE ma.merged_into IS NULL AND mb.merged_into IS NULL`;
  const order = 'ORDER BY score DESC, member_a DESC, member_b DESC LIMIT ?1';
  // One member's: two indexed lookups (member_a is the key's prefix, member_b has its own index) instead of a scan.
  const stmt = opts.member
    ? db.prepare(`SELECT * FROM (${select} AND s.member_a = ?2 UNION ALL ${select} AND s.member_b = ?2)
                   WHERE ?3 IS NULL OR (score, member_a, member_b) < (?3, ?4, ?5) ${order}`)
      .bind(opts.limit, opts.member, after?.score ?? null, after?.a ?? null, after?.b ?? null)
    : after
      ? db.prepare(`${select} AND (s.score, s.member_a, s.member_b) < (?2, ?3, ?4) ${order}`).bind(opts.limit, after.score, after.a, after.b)
      : db.prepare(`${select} ${order}`).bind(opts.limit);
  const { results } = await stmt.all<SuggestionRow>();
  return results.map((r) => ({
    member_a: { id: r.member_a, display_name: r.name_a },
    member_b: { id: r.member_b, display_name: r.name_b },
    keep: r.since_b < r.since_a ? r.member_b : r.member_a,
    score: r.score,
    reasons: JSON.parse(r.reasons) as string[],
    blocked: r.blocked ? (JSON.parse(r.blocked) as string[]) : null,
    created_at: r.created_at,
    updated_at: r.updated_at,
  }));
}

/**
 * A person's "these are different people": recorded as a member decision (automation never merges or suggests the
 * pair again until a person decides otherwise), the suggestion removed, audited. False when either member is unknown.
 */
export async function recordNotSame(db: D1Database, x: string, y: string, actor: string): Promise<'ok' | 'unknown' | 'merged'> {
  const [a, b] = orderedPair(x, y);
  const { results } = await db.prepare('SELECT id, merged_into FROM members WHERE id IN (?1, ?2)').bind(a, b).all<{ id: string; merged_into: string | null }>();
  if (results.length < 2) return 'unknown';
  // A member merged into another is decided about through that one (or after an unmerge).
  if (results.some((r) => r.merged_into)) return 'merged';
  const now = nowIso();
  await db.batch([
    db.prepare(
      `INSERT INTO member_decisions (member_a, member_b, decision, decided_by, decided_at) VALUES (?1, ?2, 'not_same', ?3, ?4)
       ON CONFLICT (member_a, member_b) DO UPDATE SET decision = 'not_same', decided_by = excluded.decided_by, decided_at = excluded.decided_at`,
    ).bind(a, b, actor, now),
    db.prepare('DELETE FROM member_suggestions WHERE member_a = ?1 AND member_b = ?2').bind(a, b),
    db.prepare(`INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, 'member.not_same', ?)`).bind(now, actor, json({ member_a: a, member_b: b })),
  ]);
  return 'ok';
}

/**
 * Statements an unmerge adds: both members are matched again, and suggestions about either go, since they may rest on
 * identities that moved (matching both again rebuilds the valid ones). A merge does its own (mergeMembersMany).
 */
export function rekeyAfterUnmergeStmts(db: D1Database, into: string, from: string): D1PreparedStatement[] {
  return [
    db.prepare('UPDATE members SET keys_at = NULL, keys_gen = keys_gen + 1 WHERE id IN (?1, ?2)').bind(into, from),
    db.prepare('DELETE FROM member_suggestions WHERE member_a IN (?1, ?2) OR member_b IN (?1, ?2)').bind(into, from),
  ];
}

export interface ConflictView {
  member_id: string;
  display_name: string | null;
  code: string;
  message: string;
  refs: string[];
  created_at: string;
}

/**
 * What identity resolution could not settle on its own (identity_conflicts: a CRM email on several records, a role
 * mailbox, a name that does not match, …), for one member or, newest first, for all.
 */
export async function listConflicts(db: D1Database, opts: { member?: string | null; limit: number }): Promise<ConflictView[]> {
  const select = `SELECT c.member_id, m.display_name, c.code, c.message, c.refs, c.created_at
                    FROM identity_conflicts c JOIN members m ON m.id = c.member_id WHERE m.merged_into IS NULL`;
  // One member's through the key's prefix; all of them newest first.
  const stmt = opts.member
    ? db.prepare(`${select} AND c.member_id = ?2 ORDER BY c.created_at DESC, c.code LIMIT ?1`).bind(opts.limit, opts.member)
    : db.prepare(`${select} ORDER BY c.created_at DESC, c.member_id, c.code LIMIT ?1`).bind(opts.limit);
  const { results } = await stmt.all<{ member_id: string; display_name: string | null; code: string; message: string; refs: string; created_at: string }>();
  return results.map((r) => ({ ...r, refs: JSON.parse(r.refs) as string[] }));
}

import { nowIso } from '../ids';

/**
 * D1 side of member matching (migration 0012): members' keys, the members that share them, and the merge suggestions
 * people review. The decisions themselves are planned in src/identity/member-match.ts.
 */
const json = (v: unknown) => JSON.stringify(v);
export const orderedPair = (a: string, b: string) => (a < b ? [a, b] : [b, a]) as [string, string];

/** Members still to be keyed (new, or their identities changed), oldest first; only `among` when given. */
export async function unkeyedMembers(db: D1Database, among: string[] | null, limit: number): Promise<{ id: string; created_at: string }[]> {
  const { results } = await db
    .prepare(
      `SELECT id, created_at FROM members
        WHERE keys_at IS NULL AND merged_into IS NULL ${among ? 'AND id IN (SELECT value FROM json_each(?2))' : ''}
        ORDER BY created_at, id LIMIT ?1`,
    )
    .bind(limit, ...(among ? [json(among)] : []))
    .all<{ id: string; created_at: string }>();
  return results;
}

/** Replaces these members' keys and marks them keyed, in one transaction. */
export async function writeMemberKeys(db: D1Database, keys: ReadonlyMap<string, readonly string[]>): Promise<void> {
  if (!keys.size) return;
  const ids = [...keys.keys()];
  const rows = [...keys].flatMap(([member, ks]) => ks.map((k) => [k, member]));
  await db.batch([
    db.prepare('DELETE FROM member_keys WHERE member_id IN (SELECT value FROM json_each(?1))').bind(json(ids)),
    db.prepare(`INSERT INTO member_keys (key, member_id) SELECT value ->> 0, value ->> 1 FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING`).bind(json(rows)),
    db.prepare('UPDATE members SET keys_at = ?2 WHERE id IN (SELECT value FROM json_each(?1))').bind(json(ids), nowIso()),
  ]);
}

/**
 * Other members holding a key of these members. A key held by more than `maxPerKey` members (a common name, a shared
 * `info@` address) says nothing about any two of them and is skipped, which also bounds the work per member.
 */
export async function membersSharingKeys(db: D1Database, memberIds: string[], maxPerKey: number): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  if (!memberIds.length) return out;
  const { results } = await db
    .prepare(
      `WITH mine AS (SELECT key, member_id FROM member_keys WHERE member_id IN (SELECT value FROM json_each(?1))),
            usable AS (SELECT key FROM member_keys WHERE key IN (SELECT key FROM mine) GROUP BY key HAVING count(*) BETWEEN 2 AND ?2)
       SELECT DISTINCT mine.member_id AS subject, k.member_id AS other
         FROM mine JOIN usable USING (key) JOIN member_keys k ON k.key = mine.key AND k.member_id <> mine.member_id`,
    )
    .bind(json(memberIds), maxPerKey)
    .all<{ subject: string; other: string }>();
  for (const r of results) {
    const set = out.get(r.subject) ?? new Set<string>();
    set.add(r.other);
    out.set(r.subject, set);
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
  member_a: string;
  member_b: string;
  decision: 'same' | 'not_same';
  decided_by: string;
  decided_at: string;
}

export async function memberDecisionsOf(db: D1Database, ids: string[]): Promise<MemberDecisionRow[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM member_decisions WHERE member_a IN (SELECT value FROM json_each(?1)) OR member_b IN (SELECT value FROM json_each(?1))`,
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
  score: number;
  reasons: string[];
  /** Set when the pair shares a verified identifier but cannot be one member: only "not the same person" applies. */
  blocked: string[] | null;
  created_at: string;
  updated_at: string;
}

/** Open merge suggestions, best first (keyset on score, then the pair). */
export async function listSuggestions(
  db: D1Database,
  opts: { limit: number; after?: { score: number; a: string; b: string } | null; member?: string | null },
): Promise<SuggestionView[]> {
  const after = opts.after ?? null;
  const { results } = await db
    .prepare(
      `SELECT s.*, ma.display_name AS name_a, mb.display_name AS name_b
         FROM member_suggestions s JOIN members ma ON ma.id = s.member_a JOIN members mb ON mb.id = s.member_b
        WHERE ma.merged_into IS NULL AND mb.merged_into IS NULL
          AND (?2 IS NULL OR (s.score, s.member_a, s.member_b) < (?2, ?3, ?4))
          AND (?5 IS NULL OR s.member_a = ?5 OR s.member_b = ?5)
        ORDER BY s.score DESC, s.member_a DESC, s.member_b DESC LIMIT ?1`,
    )
    .bind(opts.limit, after?.score ?? null, after?.a ?? null, after?.b ?? null, opts.member ?? null)
    .all<{ member_a: string; member_b: string; score: number; reasons: string; blocked: string | null; created_at: string; updated_at: string; name_a: string | null; name_b: string | null }>();
  return results.map((r) => ({
    member_a: { id: r.member_a, display_name: r.name_a },
    member_b: { id: r.member_b, display_name: r.name_b },
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
export async function recordNotSame(db: D1Database, x: string, y: string, actor: string): Promise<boolean> {
  const [a, b] = orderedPair(x, y);
  const known = await db.prepare('SELECT count(*) AS n FROM members WHERE id IN (?1, ?2)').bind(a, b).first<{ n: number }>();
  if ((known?.n ?? 0) < 2) return false;
  const now = nowIso();
  await db.batch([
    db.prepare(
      `INSERT INTO member_decisions (member_a, member_b, decision, decided_by, decided_at) VALUES (?1, ?2, 'not_same', ?3, ?4)
       ON CONFLICT (member_a, member_b) DO UPDATE SET decision = 'not_same', decided_by = excluded.decided_by, decided_at = excluded.decided_at`,
    ).bind(a, b, actor, now),
    db.prepare('DELETE FROM member_suggestions WHERE member_a = ?1 AND member_b = ?2').bind(a, b),
    db.prepare(`INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, 'member.not_same', ?)`).bind(now, actor, json({ member_a: a, member_b: b })),
  ]);
  return true;
}

/** Statements a merge or unmerge adds: the members are keyed again, and the merged-away member's keys and suggestions go. */
export function rekeyAfterMergeStmts(db: D1Database, into: string, from: string, merged: boolean): D1PreparedStatement[] {
  return [
    db.prepare('UPDATE members SET keys_at = NULL WHERE id IN (?1, ?2)').bind(into, from),
    db.prepare('DELETE FROM member_suggestions WHERE (member_a = ?1 AND member_b = ?2) OR (member_a = ?2 AND member_b = ?1)').bind(into, from),
    ...(merged
      ? [
        db.prepare('DELETE FROM member_keys WHERE member_id = ?').bind(from),
        db.prepare('DELETE FROM member_suggestions WHERE member_a = ?1 OR member_b = ?1').bind(from),
      ]
      : []),
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
  const { results } = await db
    .prepare(
      `SELECT c.member_id, m.display_name, c.code, c.message, c.refs, c.created_at
         FROM identity_conflicts c JOIN members m ON m.id = c.member_id
        WHERE m.merged_into IS NULL AND (?2 IS NULL OR c.member_id = ?2)
        ORDER BY c.created_at DESC, c.member_id, c.code LIMIT ?1`,
    )
    .bind(opts.limit, opts.member ?? null)
    .all<{ member_id: string; display_name: string | null; code: string; message: string; refs: string; created_at: string }>();
  return results.map((r) => ({ ...r, refs: JSON.parse(r.refs) as string[] }));
}

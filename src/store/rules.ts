import { nowIso } from '../ids';

export type RulesKind = 'rules' | 'hubspot' | 'salesforce';

export interface RulesVersionRow {
  kind: RulesKind;
  hash: string;
  content: string;
  author: string;
  created_at: string;
}

/** The active version, with who activated it and when (the version's `author` is who first stored that text). */
export async function activeRules(db: D1Database, kind: RulesKind): Promise<(RulesVersionRow & { activated_by: string; activated_at: string }) | null> {
  return db
    .prepare(
      `SELECT v.*, a.activated_by, a.activated_at FROM rules_active a JOIN rules_versions v ON v.kind = a.kind AND v.hash = a.hash WHERE a.kind = ?`,
    )
    .bind(kind)
    .first<RulesVersionRow & { activated_by: string; activated_at: string }>();
}

export async function getRulesVersion(db: D1Database, kind: RulesKind, hash: string): Promise<RulesVersionRow | null> {
  return db.prepare('SELECT * FROM rules_versions WHERE kind = ? AND hash = ?').bind(kind, hash).first<RulesVersionRow>();
}

export async function listRulesVersions(db: D1Database, kind: RulesKind) {
  const { results } = await db
    .prepare(
      `SELECT v.kind, v.hash, v.author, v.created_at, (a.hash IS NOT NULL) AS active
         FROM rules_versions v LEFT JOIN rules_active a ON a.kind = v.kind AND a.hash = v.hash
        WHERE v.kind = ? ORDER BY v.created_at DESC`,
    )
    .bind(kind)
    .all<{ kind: string; hash: string; author: string; created_at: string; active: number }>();
  return results;
}

/**
 * Stores the version and makes it active, with an audit row, in one transaction. A rules hash is of the meaning (not
 * comments or layout), so activating an edit of the comments keeps the version and its first author but stores the
 * newest text: what GET /v1/rules and the editor show is what was last activated.
 */
export async function activateRules(db: D1Database, v: { kind: RulesKind; hash: string; content: string; author: string }, also: D1PreparedStatement[] = []) {
  const now = nowIso();
  // The audit row reads the version it replaces inside the same transaction, before the switch: two activations at
  // once each record the one they really replaced.
  const [audit] = await db.batch<{ old_value: string | null }>([
    db.prepare(
      `INSERT INTO audit_log (at, actor, action, old_value, new_value, detail)
       VALUES (?1, ?2, 'rules.activate', (SELECT hash FROM rules_active WHERE kind = ?4), ?3, ?5) RETURNING old_value`,
    ).bind(now, v.author, v.hash, v.kind, JSON.stringify({ kind: v.kind })),
    db.prepare('INSERT INTO rules_versions (kind, hash, content, author, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET content = excluded.content')
      .bind(v.kind, v.hash, v.content, v.author, now),
    db.prepare(
      `INSERT INTO rules_active (kind, hash, activated_by, activated_at) VALUES (?1, ?2, ?3, ?4)
       ON CONFLICT (kind) DO UPDATE SET hash = excluded.hash, activated_by = excluded.activated_by, activated_at = excluded.activated_at`,
    ).bind(v.kind, v.hash, v.author, now),
    ...also,
  ]);
  return { previous: audit?.results[0]?.old_value ?? null };
}

/** When any versioned file was last activated ('' before the first activation). */
export async function lastActivation(db: D1Database): Promise<string> {
  return (await db.prepare("SELECT coalesce(max(activated_at), '') AS at FROM rules_active").first<{ at: string }>())?.at ?? '';
}

import { nowIso } from '../ids';

export interface TokenRow {
  id: string;
  name: string;
  scopes: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export async function findActiveTokenByHash(db: D1Database, hash: string): Promise<TokenRow | null> {
  return db
    .prepare('SELECT id, name, scopes, created_at, last_used_at, revoked_at FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL')
    .bind(hash)
    .first<TokenRow>();
}

/** At most one write a minute per token: "last used" must not cost a D1 write on every request. */
export async function touchToken(db: D1Database, id: string): Promise<void> {
  const now = new Date();
  const staleBefore = new Date(now.getTime() - 60_000).toISOString();
  await db
    .prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)')
    .bind(now.toISOString(), id, staleBefore)
    .run();
}

export async function insertToken(db: D1Database, row: { id: string; name: string; hash: string; scopes: string[] }) {
  await db
    .prepare('INSERT INTO api_tokens (id, name, token_hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)')
    .bind(row.id, row.name, row.hash, row.scopes.join(' '), nowIso())
    .run();
}

export async function listTokens(db: D1Database): Promise<TokenRow[]> {
  const { results } = await db
    .prepare('SELECT id, name, scopes, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY created_at DESC')
    .all<TokenRow>();
  return results;
}

export async function revokeToken(db: D1Database, id: string): Promise<boolean> {
  const res = await db
    .prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
    .bind(nowIso(), id)
    .run();
  return res.meta.changes > 0;
}

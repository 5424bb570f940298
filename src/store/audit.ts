import { nowIso } from '../ids';

export async function recordAudit(db: D1Database, e: { actor: string; action: string; detail?: unknown }) {
  await db
    .prepare('INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)')
    .bind(nowIso(), e.actor, e.action, e.detail === undefined ? null : JSON.stringify(e.detail))
    .run();
}

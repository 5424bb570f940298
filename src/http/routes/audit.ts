import { Hono } from 'hono';
import * as z from 'zod';
import { requireScope } from '../../auth/tokens';
import { csvResponse, wantsCsv } from '../csv';
import type { AppEnv } from '../types';
import { parseQuery } from '../validate';

export const audit = new Hono<AppEnv>();

const query = z.object({
  action: z.string().min(1).optional(),
  actor: z.string().min(1).optional(),
  crm: z.enum(['hubspot', 'salesforce']).optional(),
  object: z.enum(['deal', 'contact', 'company']).optional(),
  crm_id: z.string().min(1).optional(),
  run_id: z.string().min(1).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  cursor: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(200),
  format: z.enum(['json', 'csv']).optional(),
});

const COLUMNS = ['id', 'at', 'actor', 'action', 'crm', 'object', 'crm_id', 'field', 'old_value', 'new_value', 'run_id', 'detail'] as const;

/** Rules changes, link and merge decisions, token changes, erasures and every CRM field written; JSON or CSV. */
audit.get('/', requireScope('admin'), async (c) => {
  const q = parseQuery(c, query);
  const { results } = await c.env.DB.prepare(
    `SELECT * FROM audit_log
      WHERE (?1 IS NULL OR action = ?1 OR action LIKE ?1 || '.%') AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR crm = ?3)
        AND (?4 IS NULL OR object = ?4) AND (?5 IS NULL OR crm_id = ?5) AND (?6 IS NULL OR run_id = ?6)
        AND (?7 IS NULL OR at >= ?7) AND (?8 IS NULL OR at < ?8) AND (?9 IS NULL OR id < ?9)
      ORDER BY id DESC LIMIT ?10`,
  ).bind(q.action ?? null, q.actor ?? null, q.crm ?? null, q.object ?? null, q.crm_id ?? null, q.run_id ?? null,
    q.since ? new Date(q.since).toISOString() : null, q.until ? new Date(q.until).toISOString() : null, q.cursor ?? null, q.limit)
    .all<Record<(typeof COLUMNS)[number], unknown>>();
  if (wantsCsv(c, q.format)) return csvResponse(c, 'audit.csv', COLUMNS, results.map((r) => COLUMNS.map((k) => r[k])));
  return c.json({ data: results, next_cursor: results.length === q.limit ? results[results.length - 1]!.id : null });
});

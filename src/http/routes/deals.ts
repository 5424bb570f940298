import { Hono } from 'hono';
import * as z from 'zod';
import { parseQuery } from '../validate';
import { requireScope } from '../../auth/tokens';
import { ApiError } from '../errors';
import type { AppEnv } from '../types';

export const deals = new Hono<AppEnv>();

const listQuery = z.object({
  crm: z.enum(['hubspot', 'salesforce']).optional(),
  influenced: z.enum(['0', '1']).optional(),
  sourced: z.enum(['0', '1']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
});

/** Deals with their influence outputs, largest attributed amount first. */
deals.get('/', requireScope('read'), async (c) => {
  const q = parseQuery(c, listQuery);
  const { results } = await c.env.DB.prepare(
    `SELECT i.crm, i.deal_id, d.name, d.stage, i.amount, i.currency, i.influenced, i.sourced, i.assisted, i.score, i.touch_count,
            i.attributed_amount, i.top_channel, i.first_touch_at, i.last_touch_at, i.is_closed, i.is_won, i.rules_version
       FROM deal_influence i LEFT JOIN crm_deals d ON d.crm = i.crm AND d.crm_id = i.deal_id
      WHERE (?1 IS NULL OR i.crm = ?1) AND (?2 IS NULL OR i.influenced = ?2) AND (?3 IS NULL OR i.sourced = ?3)
      ORDER BY coalesce(i.attributed_amount, 0) DESC, i.deal_id LIMIT ?4 OFFSET ?5`,
  ).bind(q.crm ?? null, q.influenced === undefined ? null : Number(q.influenced), q.sourced === undefined ? null : Number(q.sourced), q.limit, q.offset).all();
  return c.json({ data: results });
});

/** The evidence for one deal: the computed influence with every counted touch and its credit per model. */
deals.get('/:crm/:id/influence', requireScope('read'), async (c) => {
  const crm = c.req.param('crm');
  if (crm !== 'hubspot' && crm !== 'salesforce') {
    throw new ApiError(400, 'invalid_request', 'crm must be hubspot or salesforce', [{ path: 'params.crm', message: `got "${crm}"` }]);
  }
  const id = c.req.param('id');
  const [deal, influence, contacts] = await c.env.DB.batch([
    c.env.DB.prepare('SELECT * FROM crm_deals WHERE crm = ? AND crm_id = ?').bind(crm, id),
    c.env.DB.prepare('SELECT detail, computed_at FROM deal_influence WHERE crm = ? AND deal_id = ?').bind(crm, id),
    c.env.DB.prepare(
      `SELECT dc.contact_id, dc.role, dc.is_primary, c.first_name, c.last_name, c.email, c.title,
              (SELECT json_group_array(json_object('member_id', l.member_id, 'method', l.method, 'status', l.status,
                                                   'confidence', l.confidence, 'name', m.display_name))
                 FROM links l JOIN members m ON m.id = l.member_id
                WHERE l.crm = dc.crm AND l.target_kind = 'contact' AND l.crm_id = dc.contact_id AND l.status IN ('auto', 'confirmed')) AS members
         FROM crm_deal_contacts dc LEFT JOIN crm_contacts c ON c.crm = dc.crm AND c.crm_id = dc.contact_id
        WHERE dc.crm = ? AND dc.deal_id = ? ORDER BY dc.is_primary DESC, dc.contact_id`,
    ).bind(crm, id),
  ]);
  const dealRow = deal!.results[0] as Record<string, unknown> | undefined;
  if (!dealRow) throw new ApiError(404, 'not_found', `no ${crm} deal ${id} in the mirror (has a sync run pulled it?)`);
  const inf = influence!.results[0] as { detail: string; computed_at: string } | undefined;
  return c.json({
    deal: dealRow,
    contacts: (contacts!.results as { members: string }[]).map((r) => ({ ...r, members: JSON.parse(r.members) as unknown[] })),
    influence: inf ? JSON.parse(inf.detail) : null,
    computed_at: inf?.computed_at ?? null,
  });
});

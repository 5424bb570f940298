import { Hono } from 'hono';
import { requireScope } from '../../auth/tokens';
import { ApiError } from '../errors';
import type { AppEnv } from '../types';

export const deals = new Hono<AppEnv>();

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

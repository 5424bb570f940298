import { Hono } from 'hono';
import * as z from 'zod';
import { requireScope } from '../../auth/tokens';
import { nowIso } from '../../ids';
import { decideLink, getLink, listLinks } from '../../store/links';
import { ApiError } from '../errors';
import type { AppEnv } from '../types';
import { parseQuery } from '../validate';

export const links = new Hono<AppEnv>();

const listQuery = z.object({
  status: z.enum(['auto', 'suggested', 'confirmed', 'rejected']).optional(),
  member: z.string().min(1).optional(),
  cursor: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** The review queue (`?status=suggested`) and every other link, with method, confidence and evidence. */
links.get('/', requireScope('read'), async (c) => {
  const q = parseQuery(c, listQuery);
  const rows = await listLinks(c.env.DB, { status: q.status ?? null, memberId: q.member ?? null, limit: q.limit, afterId: q.cursor ?? null });
  return c.json({
    data: rows.map((r) => ({ ...r, evidence: JSON.parse(r.evidence) as string[] })),
    next_cursor: rows.length === q.limit ? rows[rows.length - 1]!.id : null,
  });
});

for (const action of ['confirm', 'reject'] as const) {
  links.post(`/:id/${action}`, requireScope('configure'), async (c) => {
    const id = Number(c.req.param('id'));
    if (!Number.isInteger(id) || id <= 0) throw new ApiError(400, 'invalid_request', 'link id must be a positive integer', [{ path: 'params.id', message: 'not an integer' }]);
    const link = await getLink(c.env.DB, id);
    if (!link) throw new ApiError(404, 'not_found', `no link ${id}`);
    const principal = c.get('principal')!;
    await decideLink(c.env.DB, link, action === 'confirm' ? 'confirmed' : 'rejected', `${principal.kind}:${principal.id}`, nowIso());
    return c.json({ ...(await getLink(c.env.DB, id)), evidence: JSON.parse(link.evidence) as string[] });
  });
}

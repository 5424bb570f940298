import { Hono } from 'hono';
import * as z from 'zod';
import { requireScope } from '../../auth/tokens';
import { findMemberIdsByIdentity, getMember, getMemberDetail, listMembers } from '../../store/members';
import { ApiError } from '../errors';
import type { AppEnv } from '../types';
import { parseQuery } from '../validate';

export const members = new Hono<AppEnv>();

const listQuery = z.object({
  identity: z.string().regex(/^[a-z][a-z0-9_-]*:.+$/, 'expected source:id, e.g. github:octocat').optional(),
  cursor: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

async function memberView(db: D1Database, id: string) {
  const member = await getMember(db, id);
  if (!member) return null;
  const detail = await getMemberDetail(db, id);
  return {
    id: member.id,
    display_name: member.display_name,
    is_bot: member.is_bot === 1,
    is_staff: member.is_staff === 1,
    created_at: member.created_at,
    identities: detail.identities.map((i) => ({
      source: i.source,
      id: i.external_id,
      handle: i.handle,
      email: i.email,
      email_verified: i.email_verified === 1,
      name: i.name,
      company: i.company,
      is_bot: i.is_bot === 1,
      first_seen_at: i.first_seen_at,
    })),
    activity: detail.activity,
  };
}

members.get('/', requireScope('read'), async (c) => {
  const q = parseQuery(c, listQuery);
  if (q.identity) {
    const at = q.identity.indexOf(':');
    const ids = await findMemberIdsByIdentity(c.env.DB, q.identity.slice(0, at), q.identity.slice(at + 1));
    const data = (await Promise.all(ids.map((id) => memberView(c.env.DB, id)))).filter((m) => m !== null);
    return c.json({ data, next_cursor: null });
  }
  const rows = await listMembers(c.env.DB, { after: q.cursor ?? null, limit: q.limit });
  return c.json({
    data: rows.map((m) => ({ id: m.id, display_name: m.display_name, is_bot: m.is_bot === 1, created_at: m.created_at })),
    next_cursor: rows.length === q.limit ? rows[rows.length - 1]!.id : null,
  });
});

members.get('/:id', requireScope('read'), async (c) => {
  const view = await memberView(c.env.DB, c.req.param('id'));
  if (!view) throw new ApiError(404, 'not_found', `no member ${c.req.param('id')}`);
  return c.json(view);
});

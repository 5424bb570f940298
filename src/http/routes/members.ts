import { Hono, type Context } from 'hono';
import * as z from 'zod';
import { requireScope } from '../../auth/tokens';
import { findMemberIdsByIdentity, getMember, getMemberDetail, listMembers } from '../../store/members';
import { ApiError } from '../errors';
import { parseJsonBody, readBody, requireMediaType } from '../body';
import { eraseMember, exportMember } from '../../store/merges';
import { addAffiliation, listAffiliations, removeAffiliation } from '../../store/affiliations';
import { mergeChecked, unmergeChecked } from '../../members/merge';
import { startRun } from '../../sync/runner';
import { connectedCrms } from '../../env';
import { decodeSuggestionCursor, listConflicts, listSuggestions, orderedPair, recordNotSame, suggestionCursor } from '../../store/member-match';
import type { AppEnv } from '../types';
import { cursorParam, parseQuery, parseWith } from '../validate';

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
    merged_into: member.merged_into,
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

const cursorSchema = cursorParam(decodeSuggestionCursor);

const suggestionsQuery = z.object({
  member: z.string().min(1).optional(),
  cursor: cursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const conflictsQuery = z.object({
  member: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** "These two members may be one person", best score first; blocked pairs can only be declared different people. */
members.get('/suggestions', requireScope('read'), async (c) => {
  const q = parseQuery(c, suggestionsQuery);
  const rows = await listSuggestions(c.env.DB, { limit: q.limit, after: q.cursor ?? null, member: q.member ?? null });
  return c.json({ data: rows, next_cursor: rows.length === q.limit ? suggestionCursor(rows[rows.length - 1]!) : null });
});

/** What identity resolution could not settle on its own, newest first. */
members.get('/conflicts', requireScope('read'), async (c) => {
  const q = parseQuery(c, conflictsQuery);
  return c.json({ data: await listConflicts(c.env.DB, { member: q.member ?? null, limit: q.limit }) });
});

members.get('/:id', requireScope('read'), async (c) => {
  const id = c.req.param('id');
  const view = await memberView(c.env.DB, id);
  if (!view) throw new ApiError(404, 'not_found', `no member ${id}`);
  const [suggestions, conflicts] = await Promise.all([
    listSuggestions(c.env.DB, { limit: 20, member: id }),
    listConflicts(c.env.DB, { member: id, limit: 50 }),
  ]);
  return c.json({ ...view, suggestions, conflicts });
});

const mergeBody = z.object({ member_id: z.string().min(1) });
const notSameBody = z.object({ member: z.string().min(1) });
const unmergeBody = z.object({ merge_id: z.string().min(1).optional() });

const actorOf = (c: Context<AppEnv>) => `${c.get('principal')!.kind}:${c.get('principal')!.id}`;

/** A person merges another member into this one; blocked when both hold an account of one platform, or bot with human. */
members.post('/:id/merge', requireScope('configure'), async (c) => {
  requireMediaType(c, 'application/json');
  const body = parseWith(mergeBody, parseJsonBody(await readBody(c.req.raw, 16_384)));
  const r = await mergeChecked(c.env.DB, c.get('config'), c.req.param('id'), body.member_id, actorOf(c));
  if (r.ok) return c.json(r.merge);
  const status = r.code === 'self' ? 400 : r.code === 'not_found' ? 404 : 409;
  const code = r.code === 'blocked' ? 'merge_blocked' : r.code === 'stale' ? 'merge_conflict' : r.code === 'self' ? 'invalid_request' : 'not_found';
  throw new ApiError(status, code, r.message, (r.reasons.length ? r.reasons : [r.message]).map((m) => ({ path: 'member_id', message: m })));
});

/** Undoes a merge into this member (the latest unless merge_id says which); records "not the same person". */
members.post('/:id/unmerge', requireScope('configure'), async (c) => {
  requireMediaType(c, 'application/json');
  const body = parseWith(unmergeBody, parseJsonBody(await readBody(c.req.raw, 16_384)));
  const r = await unmergeChecked(c.env.DB, c.req.param('id'), body.merge_id ?? null, actorOf(c));
  if (!r.ok && r.code === 'merged') throw new ApiError(409, 'member_merged', r.message);
  if (!r.ok) throw new ApiError(404, 'not_found', r.message, body.merge_id ? [{ path: 'merge_id', message: 'unknown or already undone' }] : []);
  return c.json(r.result);
});

/** A person's "not the same person": automation never merges or suggests the pair again; the suggestion goes. */
members.post('/:id/not-same', requireScope('configure'), async (c) => {
  requireMediaType(c, 'application/json');
  const body = parseWith(notSameBody, parseJsonBody(await readBody(c.req.raw, 16_384)));
  const id = c.req.param('id');
  if (body.member === id) throw new ApiError(400, 'invalid_request', 'a member is always the same person as itself', [{ path: 'member', message: 'must differ from the member in the path' }]);
  const recorded = await recordNotSame(c.env.DB, id, body.member, actorOf(c));
  if (recorded === 'merged') {
    throw new ApiError(409, 'member_merged', 'one of these members was merged into another: decide on the member it was merged into, or unmerge first', [{ path: 'member', message: 'merged into another member' }]);
  }
  if (recorded === 'unknown') {
    if (!(await getMember(c.env.DB, id))) throw new ApiError(404, 'not_found', `no member ${id}`);
    throw new ApiError(404, 'not_found', `no member ${body.member}`, [{ path: 'member', message: 'unknown member' }]);
  }
  const [a, b] = orderedPair(id, body.member);
  return c.json({ member_a: a, member_b: b, decision: 'not_same' as const });
});

members.get('/:id/export', requireScope('admin'), async (c) => {
  const data = await exportMember(c.env.DB, c.req.param('id'));
  if (!data.member) throw new ApiError(404, 'not_found', `no member ${c.req.param('id')}`);
  c.header('content-disposition', `attachment; filename="${c.req.param('id')}.json"`);
  return c.json(data);
});

/** Right to erasure: personal data, identities and activities go; influenced deals are recomputed and rewritten. */
members.delete('/:id', requireScope('admin'), async (c) => {
  const member = await getMember(c.env.DB, c.req.param('id'));
  if (!member) throw new ApiError(404, 'not_found', `no member ${c.req.param('id')}`);
  if (member.merged_into) {
    // Its identities and activities moved to the member it was merged into; erasing the empty shell would erase nothing.
    throw new ApiError(409, 'merged', `member ${member.id} was merged into ${member.merged_into}: erase ${member.merged_into}, or unmerge first`,
      [{ path: 'id', message: `merged into ${member.merged_into}` }]);
  }
  const result = await eraseMember(c.env.DB, c.req.param('id'), actorOf(c));
  await Promise.all(connectedCrms(c.get('config')).map((crm) => startRun(c.env, crm, { trigger: 'api' })));
  return c.json(result);
});

const affiliationBody = z
  .object({
    crm: z.enum(['hubspot', 'salesforce']),
    company_id: z.string().min(1).nullable(),
    from: z.iso.datetime({ offset: true }).nullable().default(null),
    to: z.iso.datetime({ offset: true }).nullable().default(null),
  })
  .refine((b) => !b.from || !b.to || Date.parse(b.from) < Date.parse(b.to), { message: '"from" must be before "to"', path: ['to'] });

/** A manual affiliation: which company (or none) the member's activity in a period is credited to. */
members.post('/:id/affiliations', requireScope('configure'), async (c) => {
  requireMediaType(c, 'application/json');
  const body = parseWith(affiliationBody, parseJsonBody(await readBody(c.req.raw, 16_384)));
  if (!(await getMember(c.env.DB, c.req.param('id')))) throw new ApiError(404, 'not_found', `no member ${c.req.param('id')}`);
  const id = await addAffiliation(c.env.DB, {
    memberId: c.req.param('id'), crm: body.crm, companyId: body.company_id,
    from: body.from ? new Date(body.from).toISOString() : null, to: body.to ? new Date(body.to).toISOString() : null, actor: actorOf(c),
  });
  return c.json({ id }, 201);
});

members.get('/:id/affiliations', requireScope('read'), async (c) => c.json({ data: await listAffiliations(c.env.DB, c.req.param('id')) }));

members.delete('/:id/affiliations/:aid', requireScope('configure'), async (c) => {
  const aid = Number(c.req.param('aid'));
  if (!Number.isInteger(aid) || !(await removeAffiliation(c.env.DB, c.req.param('id'), aid, actorOf(c)))) {
    throw new ApiError(404, 'not_found', 'no such affiliation for this member');
  }
  return c.body(null, 204);
});

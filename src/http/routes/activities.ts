import { Hono } from 'hono';
import * as z from 'zod';
import { activityInputSchema } from '../../activity/schema';
import { requireScope } from '../../auth/tokens';
import { enqueueActivities } from '../../ingest/enqueue';
import { itemBytes, MAX_ITEM_BYTES } from '../../ingest/message';
import { listActivities } from '../../store/activities';
import { findMemberIdsByIdentity } from '../../store/members';
import { parseJsonBody, readBody, requireMediaType } from '../body';
import { ApiError, issuePath, type ErrorIssue } from '../errors';
import type { AppEnv } from '../types';
import { parseQuery } from '../validate';
import { byPrincipal, rateLimit } from '../ratelimit';

export const MAX_BATCH = 1000;

export const activities = new Hono<AppEnv>();

const batchEnvelope = z.object({ activities: z.array(z.unknown()).min(1, 'send at least one activity') });

/** A batch of activities: valid items are accepted, invalid ones reported by index and field path. */
activities.post('/', requireScope('ingest'), rateLimit(byPrincipal), async (c) => {
  requireMediaType(c, 'application/json');
  const payload = parseJsonBody(await readBody(c.req.raw, c.get('config').MAX_BODY_BYTES));
  const envelope = batchEnvelope.safeParse(payload);
  if (!envelope.success) {
    throw new ApiError(400, 'invalid_request', 'expected {"activities": [...]}',
      envelope.error.issues.map((i) => ({ path: issuePath(i.path), message: i.message })));
  }
  const items = envelope.data.activities;
  if (items.length > MAX_BATCH) {
    throw new ApiError(413, 'batch_too_large', `at most ${MAX_BATCH} activities per request`, [
      { path: 'activities', message: `${items.length} items; split into batches of ${MAX_BATCH}` },
    ]);
  }
  const accepted = [];
  const rejected: { index: number; issues: ErrorIssue[] }[] = [];
  for (const [index, item] of items.entries()) {
    const parsed = activityInputSchema.safeParse(item);
    if (!parsed.success) {
      rejected.push({ index, issues: parsed.error.issues.map((i) => ({ path: issuePath(i.path, `activities.${index}`), message: i.message })) });
    } else if (itemBytes(parsed.data) > MAX_ITEM_BYTES) {
      rejected.push({ index, issues: [{ path: `activities.${index}`, message: `activity exceeds ${MAX_ITEM_BYTES} bytes` }] });
    } else {
      accepted.push(parsed.data);
    }
  }
  if (!accepted.length) {
    throw new ApiError(400, 'invalid_request', 'no activity in the batch is valid', rejected.flatMap((r) => r.issues));
  }
  await enqueueActivities(c.env.ACTIVITIES, accepted, 'api');
  c.get('log').info('activities accepted', { accepted: accepted.length, rejected: rejected.length });
  return c.json({ accepted: accepted.length, rejected }, 202);
});

const listQuery = z.object({
  member: z.string().min(1).optional(),
  identity: z.string().regex(/^[a-z][a-z0-9_-]*:.+$/, 'expected source:id, e.g. github:octocat').optional(),
  source: z.string().min(1).optional(),
  type: z.string().min(1).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  cursor: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

activities.get('/', requireScope('read'), async (c) => {
  const q = parseQuery(c, listQuery);
  let memberIds: string[] | null = q.member ? [q.member] : null;
  if (q.identity) {
    const at = q.identity.indexOf(':');
    const found = await findMemberIdsByIdentity(c.env.DB, q.identity.slice(0, at), q.identity.slice(at + 1));
    memberIds = memberIds ? memberIds.filter((m) => found.includes(m)) : found;
    if (!memberIds.length) return c.json({ data: [], next_cursor: null });
  }
  const rows = await listActivities(c.env.DB, {
    memberIds,
    source: q.source ?? null,
    type: q.type ?? null,
    since: q.since ? new Date(q.since).toISOString() : null,
    until: q.until ? new Date(q.until).toISOString() : null,
    before: q.cursor ?? null,
    limit: q.limit,
  });
  const data = rows.map((r) => ({ ...r, id: r.seq, properties: r.properties ? JSON.parse(r.properties) : null }));
  const next = rows.length === q.limit ? rows[rows.length - 1]!.seq : null;
  return c.json({ data, next_cursor: next });
});

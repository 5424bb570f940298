import { Hono, type Context } from 'hono';
import * as z from 'zod';
import { requireScope } from '../../auth/tokens';
import { deadLetterView, replayDeadLetter, summariesWithErasure, type ReplayResult } from '../../ingest/dead-letters';
import { ACTIVITIES_DLQ, SYNC_DLQ, getDeadLetter, listDeadLetters } from '../../store/dead-letters';
import { ApiError } from '../errors';
import type { AppEnv } from '../types';
import { parseQuery } from '../validate';

export const deadLetters = new Hono<AppEnv>();

const listQuery = z.object({
  queue: z.enum([ACTIVITIES_DLQ, SYNC_DLQ]).optional(),
  state: z.enum(['open', 'replayed', 'all']).default('open'),
  cursor: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

function idParam(c: Context<AppEnv>): number {
  const raw = c.req.param('id') ?? '';
  if (!/^[1-9][0-9]{0,14}$/.test(raw)) {
    throw new ApiError(400, 'invalid_request', 'dead letter id must be a positive integer', [{ path: 'params.id', message: `got "${raw.slice(0, 40)}"` }]);
  }
  return Number(raw);
}

const actorOf = (c: Context<AppEnv>) => `${c.get('principal')!.kind}:${c.get('principal')!.id}`;

const STATUS: Record<Exclude<ReplayResult, { ok: true }>['code'], 404 | 409 | 422 | 503> = {
  not_found: 404, not_replayable: 422, already_replayed: 409, erased_since: 409, queue_unavailable: 503,
};

/** Newest first; bodies are left out (up to ~128 KB each): GET /:id has one with its body. */
deadLetters.get('/', requireScope('admin'), async (c) => {
  const q = parseQuery(c, listQuery);
  // One row more than the page says whether there is a next one.
  const rows = await listDeadLetters(c.env.DB, { queue: q.queue ?? null, state: q.state, before: q.cursor ?? null, limit: q.limit + 1 });
  const page = rows.slice(0, q.limit);
  return c.json({ data: await summariesWithErasure(c.env.DB, page), next_cursor: rows.length > q.limit ? page[page.length - 1]!.id : null });
});

deadLetters.get('/:id', requireScope('admin'), async (c) => {
  const id = idParam(c);
  const row = await getDeadLetter(c.env.DB, id);
  if (!row) throw new ApiError(404, 'not_found', `no dead letter ${id}`);
  return c.json(await deadLetterView(c.env.DB, row));
});

deadLetters.post('/:id/replay', requireScope('admin'), async (c) => {
  const result = await replayDeadLetter(c.env.DB, c.env.ACTIVITIES, idParam(c), actorOf(c), c.get('log'));
  if (!result.ok) throw new ApiError(STATUS[result.code], result.code, result.message, result.issues ?? []);
  return c.json(await deadLetterView(c.env.DB, result.row), 202);
});

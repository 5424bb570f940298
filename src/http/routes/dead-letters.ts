import { Hono, type Context } from 'hono';
import * as z from 'zod';
import { requireScope } from '../../auth/tokens';
import { nowIso } from '../../ids';
import { activityMessageSchema, type ActivityMessage } from '../../ingest/message';
import type { Logger } from '../../log';
import { recordAudit } from '../../store/audit';
import {
  ACTIVITIES_DLQ, SYNC_DLQ, claimDeadLetter, erasureSince, getDeadLetter, listDeadLetters, releaseDeadLetter,
  type DeadLetterListRow, type DeadLetterRow,
} from '../../store/dead-letters';
import { ApiError, zodIssues, type ErrorIssue } from '../errors';
import type { AppEnv } from '../types';
import { parseQuery } from '../validate';

export const deadLetters = new Hono<AppEnv>();

/** Bodies are stored as JSON text, or as the text itself when a producer sent a string (src/store/ingest.ts). */
function bodyValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export type Inspection = { ok: true; message: ActivityMessage; body: unknown } | { ok: false; why: string; issues: ErrorIssue[] };

/** Whether a row's message holds work that sending it again would do, and if not why. */
export function inspectDeadLetter(row: Pick<DeadLetterListRow, 'queue' | 'reason' | 'body'>): Inspection {
  if (row.queue === SYNC_DLQ) {
    return {
      ok: false, issues: [],
      why: `a ${SYNC_DLQ} message: the next sync run already takes up the work still marked dirty (and member matching the members still pending), so there is nothing to replay`,
    };
  }
  if (row.queue !== ACTIVITIES_DLQ || row.body === null) return { ok: false, issues: [], why: `only ${ACTIVITIES_DLQ} messages can be replayed` };
  const body = bodyValue(row.body);
  const parsed = activityMessageSchema.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false, issues: zodIssues(parsed.error, 'body').slice(0, 5),
      why: `the body is not an activities message, so it would fail again (recorded reason: ${row.reason})`,
    };
  }
  return { ok: true, message: parsed.data, body };
}

/** A row without its body: for an activities message how many activities it holds and where they came from. */
export function deadLetterSummary(row: DeadLetterListRow) {
  const inspected = inspectDeadLetter(row);
  return {
    id: row.id,
    queue: row.queue,
    reason: row.reason,
    received_at: row.received_at,
    replayed_at: row.replayed_at,
    replayed_by: row.replayed_by,
    replayable: inspected.ok && row.replayed_at === null,
    activities: inspected.ok ? inspected.message.items.length : null,
    origin: inspected.ok ? inspected.message.origin : null,
  };
}

export function deadLetterView(row: DeadLetterRow) {
  return { ...deadLetterSummary(row), body: bodyValue(row.body) };
}

/**
 * Sends an activities row's message to the activities queue again and marks the row replayed by `actor`, audited.
 * Sending again is safe: storing activities is idempotent on (source, external id), and an import chunk already applied
 * is skipped, so activities stored before the message died are not stored twice. The row is claimed before the send
 * (two replays at once send once) and released if the queue refuses it, so the message stays listed as open.
 */
export async function replayDeadLetter(db: D1Database, queue: Queue, id: number, actor: string, log?: Logger): Promise<DeadLetterRow> {
  const row = await getDeadLetter(db, id);
  if (!row) throw new ApiError(404, 'not_found', `no dead letter ${id}`);
  const inspected = inspectDeadLetter(row);
  if (!inspected.ok) throw new ApiError(422, 'not_replayable', inspected.why, inspected.issues);
  // Erasure deletes a person's activities and identities; a message parked before it may hold them and would bring
  // them back. Which person it was is gone with the erasure, so any erasure since the message arrived refuses replay.
  const erasedAt = await erasureSince(db, row.received_at);
  if (erasedAt) {
    throw new ApiError(409, 'erased_since', `a member was erased at ${erasedAt}, after this message was parked; replaying it could restore erased activities. Read the body (GET /v1/dead-letters/${id}) and send what is wanted through POST /v1/activities`);
  }
  const at = nowIso();
  const claimed = await claimDeadLetter(db, id, actor, at);
  if (!claimed) {
    // Replayed meanwhile, or claimed by a replay whose send has just failed and released it again.
    const now = await getDeadLetter(db, id);
    throw new ApiError(409, 'already_replayed', now?.replayed_at
      ? `dead letter ${id} was replayed at ${now.replayed_at} by ${now.replayed_by}`
      : `dead letter ${id} was being replayed by another request; retry if it stays open`);
  }
  try {
    await queue.send(inspected.body, { contentType: 'json' });
  } catch (error) {
    await releaseDeadLetter(db, id, actor, at);
    log?.warn('dead letter replay not sent; the row is open again', { dead_letter_id: id, error });
    throw new ApiError(503, 'queue_unavailable', 'the activities queue did not take the message; the dead letter is still open, retry later');
  }
  const { origin, items } = inspected.message;
  await recordAudit(db, { actor, action: 'dead_letter.replay', detail: { dead_letter_id: id, queue: row.queue, origin, activities: items.length } });
  log?.info('dead letter replayed', { dead_letter_id: id, origin, activities: items.length });
  return claimed;
}

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

/** Newest first; bodies are left out (up to ~128 KB each): GET /:id has one with its body. */
deadLetters.get('/', requireScope('admin'), async (c) => {
  const q = parseQuery(c, listQuery);
  // One row more than the page says whether there is a next one.
  const rows = await listDeadLetters(c.env.DB, { queue: q.queue ?? null, state: q.state, before: q.cursor ?? null, limit: q.limit + 1 });
  const page = rows.slice(0, q.limit);
  return c.json({ data: page.map(deadLetterSummary), next_cursor: rows.length > q.limit ? page[page.length - 1]!.id : null });
});

deadLetters.get('/:id', requireScope('admin'), async (c) => {
  const id = idParam(c);
  const row = await getDeadLetter(c.env.DB, id);
  if (!row) throw new ApiError(404, 'not_found', `no dead letter ${id}`);
  return c.json(deadLetterView(row));
});

deadLetters.post('/:id/replay', requireScope('admin'), async (c) => {
  const row = await replayDeadLetter(c.env.DB, c.env.ACTIVITIES, idParam(c), actorOf(c), c.get('log'));
  return c.json(deadLetterView(row), 202);
});

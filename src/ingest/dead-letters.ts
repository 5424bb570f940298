import { nowIso } from '../ids';
import type { Logger } from '../log';
import { recordAudit } from '../store/audit';
import {
  ACTIVITIES_DLQ, SYNC_DLQ, UNPARSEABLE, getDeadLetter, latestErasure, markReplayed, type DeadLetterListRow, type DeadLetterRow,
} from '../store/dead-letters';
import { activityMessageSchema, type ActivityMessage } from './message';

type Inspection = { ok: true; message: ActivityMessage; body: unknown } | { ok: false; why: string; issues: { path: string; message: string }[] };

/** Bodies are stored as JSON text, or as the text itself when a producer sent a string (src/store/ingest.ts). */
function bodyValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Whether a row's message holds work that sending it again would do, and if not why. */
export function inspectDeadLetter(row: Pick<DeadLetterRow, 'queue' | 'reason' | 'body'>): Inspection {
  if (row.queue === SYNC_DLQ) {
    return {
      ok: false, issues: [],
      why: `a ${SYNC_DLQ} message: the next sync run already takes up the work still marked dirty (and member matching the members still pending), so there is nothing to replay`,
    };
  }
  if (row.queue !== ACTIVITIES_DLQ) return { ok: false, issues: [], why: `only ${ACTIVITIES_DLQ} messages can be replayed` };
  const body = bodyValue(row.body);
  const parsed = activityMessageSchema.safeParse(body);
  // The consumer already judged a message it could not parse; the list (SQL) and this check use that one rule.
  if (!parsed.success || row.reason.startsWith(UNPARSEABLE)) {
    return {
      ok: false,
      issues: parsed.success ? [] : parsed.error.issues.slice(0, 5).map((i) => ({ path: ['body', ...i.path].join('.'), message: i.message })),
      why: `the body is not an activities message, so it would fail again (recorded reason: ${row.reason})`,
    };
  }
  return { ok: true, message: parsed.data, body };
}

/**
 * Erasure deletes a person's activities and identities, and which person it was is gone with it: a message holding
 * activities accepted before an erasure may hold theirs, so it is not sent again. The activities are at least as old
 * as the message's own received_at (retries park it later), so that is the time compared.
 */
const erasedSince = (erasure: string | null, ...times: (string | null)[]) => {
  const since = times.filter((t): t is string => !!t).sort()[0];
  return erasure !== null && (since === undefined || erasure > since);
};

/** A listed row as the API and /sync show it: `replayable` says whether Replay would send it now. */
export function deadLetterSummary(row: DeadLetterListRow, erasure: string | null) {
  const { message_received_at: messageAt, ...rest } = row;
  return {
    ...rest,
    replayable: row.activities !== null && row.replayed_at === null && !erasedSince(erasure, row.received_at, messageAt),
  };
}

export async function summariesWithErasure(db: D1Database, rows: DeadLetterListRow[]) {
  const erasure = rows.length ? await latestErasure(db) : null;
  return rows.map((r) => deadLetterSummary(r, erasure));
}

/** One row with its body, summarised the same way as a listed one (zod's check decides `replayable` here). */
export async function deadLetterView(db: D1Database, row: DeadLetterRow) {
  const inspected = inspectDeadLetter(row);
  const message = inspected.ok ? inspected.message : null;
  const erasure = await latestErasure(db);
  return {
    id: row.id, queue: row.queue, reason: row.reason, received_at: row.received_at, replayed_at: row.replayed_at, replayed_by: row.replayed_by,
    origin: message?.origin ?? null, activities: message?.items.length ?? null,
    replayable: message !== null && row.replayed_at === null && !erasedSince(erasure, row.received_at, message.received_at),
    body: bodyValue(row.body),
  };
}

export type ReplayResult =
  | { ok: true; row: DeadLetterRow }
  | { ok: false; code: 'not_found' | 'not_replayable' | 'already_replayed' | 'erased_since' | 'queue_unavailable'; message: string; issues?: { path: string; message: string }[] };

/**
 * Sends an activities row's message to the activities queue again, then marks the row replayed by `actor`, audited.
 * Sending again is safe: storing activities is idempotent on (source, external id), and an import chunk already
 * applied is skipped. So the send comes first: if the invocation dies after it, the row stays open and a second replay
 * only sends what is already stored; two replays at once may both send, and one of them marks the row.
 */
export async function replayDeadLetter(db: D1Database, queue: Queue, id: number, actor: string, log?: Logger): Promise<ReplayResult> {
  const row = await getDeadLetter(db, id);
  if (!row) return { ok: false, code: 'not_found', message: `no dead letter ${id}` };
  const inspected = inspectDeadLetter(row);
  if (!inspected.ok) return { ok: false, code: 'not_replayable', message: inspected.why, issues: inspected.issues };
  const replayed = (r: DeadLetterRow) => ({ ok: false as const, code: 'already_replayed' as const, message: `dead letter ${id} was replayed at ${r.replayed_at} by ${r.replayed_by}` });
  if (row.replayed_at) return replayed(row);
  const erasure = await latestErasure(db);
  if (erasedSince(erasure, row.received_at, inspected.message.received_at)) {
    return {
      ok: false, code: 'erased_since',
      message: `a member was erased at ${erasure}, after this message was accepted; replaying it could restore erased activities. Read the body (GET /v1/dead-letters/${id}) and send what is wanted through POST /v1/activities`,
    };
  }
  try {
    await queue.send(inspected.body, { contentType: 'json' });
  } catch (error) {
    log?.warn('dead letter replay not sent; the row stays open', { dead_letter_id: id, error });
    return { ok: false, code: 'queue_unavailable', message: 'the activities queue did not take the message; the dead letter is still open, retry later' };
  }
  const marked = await markReplayed(db, id, actor, nowIso());
  if (!marked) {
    const now = await getDeadLetter(db, id);
    return replayed(now ?? row);
  }
  const { origin, items } = inspected.message;
  try {
    await recordAudit(db, { actor, action: 'dead_letter.replay', detail: { dead_letter_id: id, queue: row.queue, origin, activities: items.length } });
  } catch (error) {
    // Sent and marked: the replay happened; a lost audit line is logged rather than reported as a failed replay.
    log?.error('dead letter replayed but not audited', { dead_letter_id: id, error });
  }
  log?.info('dead letter replayed', { dead_letter_id: id, origin, activities: items.length });
  return { ok: true, row: marked };
}

import { loadConfig, type Env } from '../env';
import type { IdentityConfig } from '../identity';
import { MATCH_BATCH, MATCH_STATEMENTS, matchMembers, startMatchChain } from '../members/match';
import { UNPARSEABLE } from '../store/dead-letters';
import { meteredD1, type D1Meter } from '../store/metered';
import { identityConfigFor } from '../sync/config';
import { newId } from '../ids';
import type { Logger } from '../log';
import { accountsHeld, importChunkApplied, loadIdentities, recordDeadLetter, writePlan } from '../store/ingest';
import { activityMessageSchema, type ActivityMessage } from './message';
import { batchIdentityKeys, canonicalExternalId, identityKey, planIngest } from './plan';
import { scheduleFromActivity } from '../sync/runner';

export interface PoisonEnvelope {
  poison: true;
  reason: string;
  queue: string;
  body: unknown;
}

/**
 * Stores one message's activities; resolves only after its rows are committed. With an identity configuration the
 * members the message concerns are then matched (merged on a verified identifier or when one activity names several,
 * suggested on weak evidence) through `matchDb`, unless it is null (the invocation's matching budget is spent).
 * The rows are stored either way; members left pending (`matching` is not 'done') are matched by a chain of 'match'
 * messages on the sync queue.
 */
export async function applyActivityMessage(db: D1Database, msg: ActivityMessage, log?: Logger, identity?: IdentityConfig, matchDb?: D1Database | null) {
  if (msg.import && (await importChunkApplied(db, msg.import.job, msg.import.chunk))) {
    return { inserted: 0, duplicates: 0, rowsWritten: 0, rowsRead: 0, skipped: true, matching: 'done' as const };
  }
  const roleLocalParts = identity ? new Set(identity.emails.role_local_parts) : undefined;
  const keys = batchIdentityKeys(msg.items, roleLocalParts);
  const stored = await loadIdentities(db, keys);
  // Only a batch bringing new identities can join a second account of a platform to a member: then read what the
  // owners hold there.
  const singleAccount = new Set(identity?.members.single_account_sources ?? []);
  const owners = [...new Set([...stored.values()].map((s) => s.member_id))];
  const joins = keys.some(([source, id]) => singleAccount.has(source) && !stored.has(identityKey(source, id)));
  const held = joins && owners.length ? await accountsHeld(db, owners, [...singleAccount]) : new Map<string, [string, string][]>();
  const plan = planIngest(msg.items, stored, () => newId('mem'), { singleAccount, held, ...(roleLocalParts ? { roleLocalParts } : {}) });
  const outcome = await writePlan(db, plan, { origin: msg.origin, receivedAt: msg.received_at, importJob: msg.import });
  const memberIds = [...new Set([...plan.newIdentities, ...plan.changedIdentities].map((i) => i.member_id).concat(plan.members.map((m) => m.id)))];
  // Members one activity names together by its own identities (a relay that knows both accounts). Identities joined
  // only through a verified email are matched by their keys instead, and blocked pairs are not re-judged per activity.
  const together = msg.items
    .map((item) => [...new Set(item.member.identities.map((i) => stored.get(identityKey(i.source, canonicalExternalId(i.source, i.id)))?.member_id).filter((m): m is string => !!m))])
    .filter((g) => g.length > 1);
  if (!memberIds.length && !together.length) return { ...outcome, skipped: false, matching: 'done' as const };
  if (!identity || matchDb === null) return { ...outcome, skipped: false, matching: 'skipped' as const };
  try {
    const matched = await matchMembers(matchDb ?? db, identity, { memberIds, together });
    // A message with more new members than one matching batch leaves the rest pending for the chain.
    const matching = memberIds.length > MATCH_BATCH ? ('partial' as const) : ('done' as const);
    return { ...outcome, skipped: false, matching, members_keyed: matched.keyed, members_merged: matched.merged, merge_suggestions: matched.suggested };
  } catch (error) {
    // The activities are committed; the members stay pending for the matching chain.
    log?.warn('member matching failed; left to the matching chain', { error, members: memberIds.length });
    return { ...outcome, skipped: false, matching: 'failed' as const };
  }
}

/**
 * Backoff in seconds for a retried message: at least half of 2^attempts (capped at an hour), plus jitter. The floor
 * matters: with wrangler.toml's max_retries a message outlasts about five hours of D1 being down before it is parked.
 */
export function retryDelaySeconds(attempts: number): number {
  const base = Math.min(3600, 2 ** Math.min(attempts, 12));
  return Math.ceil(base / 2 + (Math.random() * base) / 2);
}

/**
 * A dead-letter queue has no queue behind it: if parking a message fails (D1 down), it is retried with backoff, not
 * acked, or it would be deleted for good.
 */
export async function parkDeadLetter(message: Message<unknown>, log: Logger, park: () => Promise<void>): Promise<void> {
  try {
    await park();
    message.ack();
  } catch (error) {
    const delaySeconds = retryDelaySeconds(message.attempts);
    log.error('recording a dead letter failed; will retry', { message_id: message.id, attempts: message.attempts, delaySeconds, error });
    message.retry({ delaySeconds });
  }
}

export async function consumeActivities(batch: MessageBatch<unknown>, env: Env, log: Logger): Promise<void> {
  let inserted = 0;
  // Invalid configuration must not stop activities being stored: they are, and members are matched once it is fixed.
  let identity: IdentityConfig | undefined;
  try {
    identity = identityConfigFor(loadConfig(env));
  } catch (error) {
    log.error('member matching off: the configuration does not load', { error });
  }
  const meter: D1Meter = { rowsRead: 0, rowsWritten: 0, queries: 0 };
  const matchDb = meteredD1(env.DB, meter);
  let leftPending = false;
  for (const message of batch.messages) {
    const parsed = activityMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      // Retrying cannot fix a body that does not parse: park it with its reason, keep the rest of the batch moving.
      const reason = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      const envelope: PoisonEnvelope = { poison: true, reason: `${UNPARSEABLE} ${reason}`, queue: batch.queue, body: message.body };
      await env.ACTIVITIES_DLQ.send(envelope, { contentType: 'json' });
      log.error('poison message sent to dead-letter queue', { message_id: message.id, reason });
      message.ack();
      continue;
    }
    try {
      // Matching stops at the invocation's statement budget; what it leaves is handed to the matching chain below.
      const outcome = await applyActivityMessage(env.DB, parsed.data, log, identity, meter.queries + 40 <= MATCH_STATEMENTS ? matchDb : null);
      if (outcome.matching !== 'done') leftPending = true;
      log.info('activities stored', { message_id: message.id, origin: parsed.data.origin, ...outcome });
      inserted += outcome.inserted;
      message.ack();
    } catch (error) {
      const delaySeconds = retryDelaySeconds(message.attempts);
      log.warn('storing activities failed; will retry', { message_id: message.id, attempts: message.attempts, delaySeconds, error });
      message.retry({ delaySeconds });
    }
  }
  if (leftPending && identity) {
    try {
      await startMatchChain(env);
    } catch (error) {
      log.warn('could not start member matching; the cron will', { error });
    }
  }
  // New activity reaches the CRM through a debounced incremental run, not the cron.
  if (inserted > 0) {
    try {
      await scheduleFromActivity(env);
    } catch (error) {
      log.warn('could not schedule a sync run; the cron will pick the activity up', { error });
    }
  }
}

/** Everything that reaches a dead-letter queue is kept in D1 with its reason, so nothing accepted is silently lost. */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env, log: Logger): Promise<void> {
  for (const message of batch.messages) {
    const body = message.body;
    const isEnvelope = typeof body === 'object' && body !== null && (body as { poison?: unknown }).poison === true;
    const reason = isEnvelope ? String((body as PoisonEnvelope).reason) : `retries exhausted on ${batch.queue.replace(/-dlq$/, '')}`;
    await parkDeadLetter(message, log, async () => {
      await recordDeadLetter(env.DB, batch.queue, reason, isEnvelope ? (body as PoisonEnvelope).body : body);
      log.error('dead letter recorded', { queue: batch.queue, message_id: message.id, reason });
    });
  }
}

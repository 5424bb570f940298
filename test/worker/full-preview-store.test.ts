import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { Journey } from '../../src/attribution/markov';
import { addPreviewJourneysStmts, claimPreviewResend, createPreviewJob, failPreviewJob, getPreviewJob, loadPreviewJourneys } from '../../src/store/previews';

/**
 * The full preview's D1 state: journeys split to D1's bound-string limit, conditional on the step; one re-send claim;
 * no second preview of the same proposal, and a cap on previews advancing at once.
 */
const LIMITS = { maxLive: 3, stalledMs: 5 * 60_000 };
const row = (id: string, proposed = id) => ({
  id, crm: 'hubspot' as const, author: 'test', active_hash: 'a', active_content: 'x', proposed_hash: proposed, proposed_content: 'y', phase: 'fit' as const, total: 7, state: '{}',
});

async function job(id: string) {
  expect(await createPreviewJob(env.DB, row(id), LIMITS)).toBeNull();
  return (await getPreviewJob(env.DB, id))!;
}

async function finishAll() {
  await env.DB.prepare(`UPDATE rule_previews SET status = 'done' WHERE status = 'running'`).run();
}

describe('full preview store', () => {
  it('adds journeys of any total size, split over statements D1 accepts, and only at the job\'s step', async () => {
    const j = await job('pv_journeys');
    // 300 distinct journeys of 400 ten-character channels: about 1.4 M characters of JSON in all.
    const journeys: Journey[] = Array.from({ length: 300 }, (_, i) => ({
      path: [`start_${i}`, ...Array.from({ length: 400 }, (_, k) => `channel_${String((i * 7 + k) % 100).padStart(2, '0')}`)],
      conversions: i % 2, nulls: 1 - (i % 2), value: i % 2 ? 100 : 0,
    }));
    const stmts = addPreviewJourneysStmts(env.DB, j, journeys);
    expect(stmts.length).toBeGreaterThanOrEqual(3);
    await env.DB.batch(stmts);
    // The same journeys again: merged by path, counts added.
    await env.DB.batch(addPreviewJourneysStmts(env.DB, j, journeys.slice(0, 10)));
    const stored = await loadPreviewJourneys(env.DB, j.id);
    expect(stored).toHaveLength(300);
    expect(stored.reduce((n, x) => n + x.conversions + x.nulls, 0)).toBe(310);
    // A message for another step adds nothing.
    await env.DB.batch(addPreviewJourneysStmts(env.DB, { id: j.id, step: j.step + 1 }, journeys));
    expect((await loadPreviewJourneys(env.DB, j.id)).reduce((n, x) => n + x.conversions + x.nulls, 0)).toBe(310);
  });

  it('lets one reader re-send a stalled step, and a stale dead letter fail nothing', async () => {
    const j = await job('pv_stalled');
    const claims = await Promise.all([claimPreviewResend(env.DB, j), claimPreviewResend(env.DB, j), claimPreviewResend(env.DB, j)]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    await failPreviewJob(env.DB, j.id, 'step 5 failed repeatedly', 5);
    expect((await getPreviewJob(env.DB, j.id))!.status).toBe('running');
    await failPreviewJob(env.DB, j.id, 'step 0 failed repeatedly', 0);
    expect((await getPreviewJob(env.DB, j.id))!).toMatchObject({ status: 'failed', error: 'step 0 failed repeatedly' });
  });

  it('answers a second start of the same running proposal with the first, and starts it again once that has finished', async () => {
    await finishAll();
    const first = await job('pv_first');
    expect(await createPreviewJob(env.DB, row('pv_again', 'pv_first'), LIMITS)).toEqual({ reason: 'same_running', id: first.id, total: 7 });
    expect(await getPreviewJob(env.DB, 'pv_again')).toBeNull();
    await finishAll();
    await job('pv_again_later');
  });

  it('starts at most maxLive previews at once, also when the starts race; a stalled one does not count', async () => {
    await finishAll();
    const outcomes = await Promise.all(['r1', 'r2', 'r3', 'r4', 'r5'].map((id) => createPreviewJob(env.DB, row(`pv_${id}`), LIMITS)));
    expect(outcomes.filter((o) => o === null)).toHaveLength(3);
    expect(outcomes.filter((o) => o !== null)).toEqual([{ reason: 'busy', live: 3 }, { reason: 'busy', live: 3 }]);
    const { results } = await env.DB.prepare(`SELECT id FROM rule_previews WHERE status = 'running'`).all<{ id: string }>();
    expect(results).toHaveLength(3);
    // One has not moved for ten minutes (its message lost): it waits for a reader, and no longer holds a place.
    const stale = new Date(Date.now() - 10 * 60_000).toISOString();
    await env.DB.prepare('UPDATE rule_previews SET updated_at = ? WHERE id = ?').bind(stale, results[0]!.id).run();
    expect(await createPreviewJob(env.DB, row('pv_r6'), LIMITS)).toBeNull();
    expect(await createPreviewJob(env.DB, row('pv_r7'), LIMITS)).toEqual({ reason: 'busy', live: 3 });
  });
});

import { fitModels, fittedModels, mergeJourneys, type Fitted } from '../attribution/fit';
import { journeysFromDeals } from '../attribution/journeys';
import { dealsCrm, loadConfig, type Config, type Env } from '../env';
import { newId } from '../ids';
import type { Logger } from '../log';
import { addDiff, emptyDiff, previewDiff, previewRow, type PreviewRow, type RunningDiff, type SourceIssue } from '../rules';
import {
  addPreviewJourneysStmts, claimPreviewResend, countDeals, createPreviewJob, dealIdsAfter, dropPreviewJourneysStmt, failPreviewJob, getPreviewJob,
  loadPreviewJourneys, previewRefusal, savePreviewStepStmt, type PreviewJobRow,
} from '../store/previews';
import { activeText, RulesInvalidError, rulesFrom } from './config';
import { fitState } from './fit';
import { validateProposal, type PreviewFit } from './rules-change';
import { computeLoaded, loadDealInputs } from './stages/attribute';

/**
 * The full rules preview: the proposed rules evaluated on every deal, in the background, a step per queue message
 * (POST /v1/rules/previews). The one-request preview (rules-change.ts) stops at the most recent PREVIEW_MAX_DEALS
 * deals; this one covers an org of any size and gives totals over every deal.
 *
 * - Both rules files are kept as they were at the start, and every deal is computed as of the start time.
 * - Markov / Shapley: the active side uses the fit the sync computes with (what the CRM holds now); a proposal that
 *   uses them is first fitted on every closed deal's journey under the proposed rules (phase `fit`).
 * - Totals add up exactly; of the deals that change, the PREVIEW_KEEP_CHANGED that move the most money are kept.
 */

/** Deals loaded per D1 round (as the one-request preview). */
const LOAD_CHUNK = 500;
/** Changed deals kept in a full preview (the rest are counted). */
export const PREVIEW_KEEP_CHANGED = 500;
/** A running preview not advanced for this long has lost its queue message; reading it sends the step again. */
const STALL_MS = 5 * 60_000;
/** Previews advancing at once: each step takes a turn on the sync queue, so more would delay the sync itself. */
export const PREVIEW_MAX_LIVE = 3;
const LIMITS = { maxLive: PREVIEW_MAX_LIVE, stalledMs: STALL_MS };

interface JobState {
  fitted: { active?: Fitted; proposed?: Fitted };
  fits: { active: PreviewFit | null; proposed: PreviewFit | null };
  diff: RunningDiff;
}

export type StartPreview =
  /** `reused`: the same proposal against the same active rules was already running; this is that preview. */
  | { ok: true; id: string; total: number; reused: boolean }
  | { ok: false; issues: SourceIssue[] }
  | { ok: false; status: 409; code: 'no_crm' | 'previews_busy'; error: string };

const busy = (live: number): StartPreview => ({
  ok: false, status: 409, code: 'previews_busy',
  error: `${live} full previews are running (at most ${PREVIEW_MAX_LIVE} at once); try again when one has finished`,
});

async function send(env: Env, previewId: string, step: number) {
  await env.SYNC.send({ kind: 'preview', previewId, step }, { contentType: 'json' });
}

/** Validates a proposed rules file and starts its full preview. */
export async function startFullPreview(env: Env, config: Config, content: string, author: string): Promise<StartPreview> {
  const db = env.DB;
  const validated = await validateProposal(db, config, 'rules', content);
  if (!validated.ok) return validated;
  const proposed = validated.rules!;
  const crm = dealsCrm(config);
  if (!crm) return { ok: false, status: 409, code: 'no_crm', error: 'no CRM with deals is connected, so there is nothing to preview on' };
  // The active rules' hash is taken from the text read here: an activation meanwhile cannot pair one's hash with another's text.
  const activeContent = await activeText(db, 'rules');
  const loadedActive = await rulesFrom(activeContent);
  const active = { rules: loadedActive.rules, rulesVersion: loadedActive.version };
  const hashes = { crm, active_hash: active.rulesVersion, proposed_hash: proposed.version };
  // Checked before the fit below (which reads every closed deal's journey), and again by the insert.
  const early = await previewRefusal(db, hashes, LIMITS);
  if (early?.reason === 'same_running') return { ok: true, id: early.id, total: early.total, reused: true };
  if (early) return busy(early.live);
  const state: JobState = { fitted: {}, fits: { active: null, proposed: null }, diff: emptyDiff() };
  const activeModels = fittedModels(active.rules);
  if (activeModels.length) {
    const live = await fitState(db, crm, active.rules, active.rulesVersion);
    state.fitted.active = live.fitted;
    state.fits.active = { models: activeModels, journeys: live.journeys };
  }
  const proposedModels = fittedModels(proposed.rules);
  const sameRules = proposed.version === active.rulesVersion;
  if (proposedModels.length && sameRules) {
    state.fitted.proposed = state.fitted.active;
    state.fits.proposed = state.fits.active;
  }
  const job = {
    id: newId('pv'), crm, author, active_hash: active.rulesVersion, active_content: activeContent, proposed_hash: proposed.version,
    proposed_content: content, phase: (proposedModels.length && !sameRules ? 'fit' : 'evaluate') as PreviewJobRow['phase'],
    total: await countDeals(db, crm), state: JSON.stringify(state),
  };
  const refused = await createPreviewJob(db, job, LIMITS);
  if (refused?.reason === 'same_running') return { ok: true, id: refused.id, total: refused.total, reused: true };
  if (refused) return busy(refused.live);
  await send(env, job.id, 0);
  return { ok: true, id: job.id, total: job.total, reused: false };
}

/** One step of a full preview; a duplicated or stale message does nothing. */
export async function previewStep(env: Env, msg: { previewId: string; step: number }, log: Logger): Promise<void> {
  const db = env.DB;
  const job = await getPreviewJob(db, msg.previewId);
  if (!job || job.status !== 'running' || job.step !== msg.step) return;
  let active;
  let proposed;
  try {
    [active, proposed] = await Promise.all([rulesFrom(job.active_content), rulesFrom(job.proposed_content)]);
  } catch (error) {
    // A schema change since the preview started: it cannot finish, and retrying will not help.
    if (!(error instanceof RulesInvalidError)) throw error;
    await failPreviewJob(db, job.id, `the rules no longer validate: ${error.issues.join('; ')}`);
    return;
  }
  const config = loadConfig(env);
  const perStep = config.PREVIEW_STEP_DEALS;
  const state = JSON.parse(job.state) as JobState;
  const ids = await dealIdsAfter(db, job.crm, job.after_id, perStep, job.phase === 'fit');
  const last = ids.at(-1) ?? job.after_id;
  const stmts: D1PreparedStatement[] = [];
  let next: Parameters<typeof savePreviewStepStmt>[2];

  if (job.phase === 'fit') {
    if (ids.length) {
      const parts = [];
      for (let from = 0; from < ids.length; from += LOAD_CHUNK) {
        const loaded = await loadDealInputs(db, job.crm, ids.slice(from, from + LOAD_CHUNK), proposed.rules.scope === 'account');
        parts.push(...journeysFromDeals(loaded.deals, loaded.candidates, proposed.rules));
      }
      stmts.push(...addPreviewJourneysStmts(db, job, mergeJourneys(parts)));
      next = { status: 'running', phase: 'fit', after_id: last, evaluated: 0, state: job.state };
    } else {
      // Every closed deal read: fit, and evaluate from the first deal.
      const journeys = await loadPreviewJourneys(db, job.id);
      state.fitted.proposed = fitModels(journeys, proposed.rules);
      state.fits.proposed = { models: fittedModels(proposed.rules), journeys: journeys.reduce((n, j) => n + j.conversions + j.nulls, 0) };
      stmts.push(dropPreviewJourneysStmt(db, job.id));
      next = { status: 'running', phase: 'evaluate', after_id: '', evaluated: 0, state: JSON.stringify(state) };
    }
  } else {
    const sides = [
      { rules: active.rules, rulesVersion: active.version, evidenceBaseUrl: config.PUBLIC_URL, fitted: state.fitted.active },
      { rules: proposed.rules, rulesVersion: proposed.version, evidenceBaseUrl: config.PUBLIC_URL, fitted: state.fitted.proposed },
    ];
    const account = sides.some((s) => s.rules.scope === 'account');
    for (let from = 0; from < ids.length; from += LOAD_CHUNK) {
      const loaded = await loadDealInputs(db, job.crm, ids.slice(from, from + LOAD_CHUNK), account);
      const [before, after] = sides.map((s) => computeLoaded(s, loaded, job.as_of).map((x): PreviewRow => previewRow(x.influence)));
      addDiff(state.diff, previewDiff(before!, after!), PREVIEW_KEEP_CHANGED);
    }
    const done = ids.length < perStep;
    next = { status: done ? 'done' : 'running', phase: 'evaluate', after_id: last, evaluated: job.evaluated + ids.length, state: JSON.stringify(state) };
  }
  const results = await db.batch([...stmts, savePreviewStepStmt(db, job, next)]);
  if (!results.at(-1)?.meta.changes) return; // another delivery of this step got there first
  log.debug('full preview step', { preview_id: job.id, step: job.step, phase: job.phase, deals: ids.length, status: next.status });
  if (next.status === 'running') await send(env, job.id, job.step + 1);
}

/** A preview whose step messages ran out of retries fails with a reason. */
export async function failPreviewFromDeadLetter(env: Env, msg: { previewId: string; step: number }) {
  await failPreviewJob(env.DB, msg.previewId, `step ${msg.step} failed repeatedly`, msg.step);
}

/** The API's view of a full preview; reading a stalled one sends its step again (duplicates do nothing). */
export async function readFullPreview(env: Env, id: string) {
  const job = await getPreviewJob(env.DB, id);
  if (!job) return null;
  if (job.status === 'running' && Date.now() - Date.parse(job.updated_at) > STALL_MS && (await claimPreviewResend(env.DB, job))) {
    await send(env, job.id, job.step);
  }
  return fullPreviewJson(job);
}

export function fullPreviewJson(job: PreviewJobRow) {
  const state = JSON.parse(job.state) as JobState;
  const { changedTotal, ...diff } = state.diff;
  return {
    id: job.id, status: job.status, phase: job.phase, crm: job.crm, author: job.author, active_version: job.active_hash,
    proposed_version: job.proposed_hash, as_of: job.as_of, total: job.total, evaluated: job.evaluated, error: job.error,
    created_at: job.created_at, updated_at: job.updated_at, fits: state.fits,
    // The difference once every deal is in; partial totals would read as a smaller org.
    ...(job.status === 'done'
      ? { truncated: false, limited_by: null, changed_total: changedTotal, changed_kept: diff.changed.length, diff }
      : { diff: null }),
  };
}

import { FIT_TOLERANCE, fitModels, fitShift, fittedModels, fittedOrEmpty, type Fitted } from '../attribution/fit';
import type { Journey } from '../attribution/markov';
import type { CrmName } from '../env';
import type { Rules } from '../rules';

/**
 * Markov and Shapley in the Worker. The attribute stage stores each deal's journey (deal_influence.journey); once a
 * run's dirty deals are computed, the models are refitted on the journeys of closed deals computed under the active
 * rules, and every step computes with the stored fit. Journeys do not depend on the fit, so this settles: after rules
 * that use the models are activated, the run computes every deal with empty weights (credits fall back to linear),
 * which stores the journeys; the refit after that pass finds the fit moved and the same run re-credits every stored
 * result with it (src/attribution/recredit.ts: no touch is loaded again; computed_at is kept, so the journeys' watermark
 * does not move). Later runs refit only when deals were computed, and re-credit everything only when a channel's share
 * moved by more than FIT_TOLERANCE.
 */

interface FitRow {
  rules_version: string;
  fitted: string;
  journeys: number;
  watermark: string | null;
}

export interface RefitResult {
  /** The journeys were read and the models fitted again. */
  refitted: boolean;
  /** Closed deals the journeys came from. */
  journeys: number;
  /** Largest change of a channel's share against the fit the deals were computed with. */
  shift: number;
  /** The fit moved beyond the tolerance: every stored deal result must be re-credited with the new fit. */
  recredit: boolean;
  /** Deal writes planned with the old fit and dropped (re-crediting plans them again where values differ). */
  dropped: number;
  /** What the refit stored, when it refitted: the fit steps compute with from now on. */
  fitted?: Fitted;
}

const NOTHING: RefitResult = { refitted: false, journeys: 0, shift: 0, recredit: false, dropped: 0 };

export interface FitState {
  /** The fit every step computes with: the stored one for these rules, else empty weights. */
  fitted: Fitted;
  /**
   * While stored results are re-credited after the fit moved: the last deal id done ('' before the first); null when
   * none is under way. Kept in D1 with the fit, not in the step's checkpoint: the refit that starts a re-credit and
   * each chunk of it commit their position in the same batch, so a retried or duplicated step cannot lose it.
   */
  recreditAfter: string | null;
  /** Closed deals the stored fit came from (0 without one). */
  journeys: number;
}

/** The fit and re-credit position for these rules. No query without markov/shapley. */
export async function fitState(db: D1Database, crm: CrmName, rules: Rules, rulesVersion: string): Promise<FitState> {
  if (!fittedModels(rules).length) return { fitted: {}, recreditAfter: null, journeys: 0 };
  const row = await db
    .prepare('SELECT rules_version, fitted, journeys, recredit_after FROM model_fits WHERE crm = ?')
    .bind(crm)
    .first<Pick<FitRow, 'rules_version' | 'fitted' | 'journeys'> & { recredit_after: string | null }>();
  const same = row?.rules_version === rulesVersion;
  return {
    fitted: fittedOrEmpty(rules, same ? (JSON.parse(row.fitted) as Fitted) : undefined),
    recreditAfter: same ? row.recredit_after : null,
    journeys: same ? row.journeys : 0,
  };
}

/** Records how far a re-credit has got (null: done), in the batch that stores the chunk it did. */
export function recreditPositionStmt(db: D1Database, crm: CrmName, after: string | null): D1PreparedStatement {
  return db.prepare('UPDATE model_fits SET recredit_after = ?2 WHERE crm = ?1').bind(crm, after);
}

/** The journeys of the closed deals computed under this rules version, merged by path. */
export async function loadJourneys(db: D1Database, crm: CrmName, rulesVersion: string): Promise<Journey[]> {
  const { results } = await db
    .prepare(
      `SELECT journey, SUM(is_won) AS won, SUM(1 - is_won) AS lost, SUM(CASE WHEN is_won = 1 THEN COALESCE(amount, 0) ELSE 0 END) AS value
         FROM deal_influence
        WHERE crm = ?1 AND rules_version = ?2 AND is_closed = 1 AND journey IS NOT NULL
        GROUP BY journey`,
    )
    .bind(crm, rulesVersion)
    .all<{ journey: string; won: number; lost: number; value: number }>();
  return results.map((r) => ({ path: JSON.parse(r.journey) as string[], conversions: r.won, nulls: r.lost, value: r.value }));
}

/**
 * Refits, after a run's dirty deals, when deals were computed since the last fit or the rules changed. When the fit
 * moved, the deal writes this run planned so far are dropped: they were computed with the old fit, every stored result
 * is about to be re-credited, and a deal whose new values match what the CRM holds must plan no write that would
 * replace them.
 */
export async function refit(db: D1Database, crm: CrmName, rules: Rules, rulesVersion: string, runId: string): Promise<RefitResult> {
  if (!fittedModels(rules).length) return NOTHING;
  const [rowResult, markResult] = await db.batch([
    db.prepare('SELECT rules_version, fitted, journeys, watermark FROM model_fits WHERE crm = ?').bind(crm),
    db.prepare('SELECT MAX(computed_at) AS watermark FROM deal_influence WHERE crm = ?').bind(crm),
  ]);
  const row = (rowResult?.results[0] as FitRow | undefined) ?? null;
  const watermark = (markResult?.results[0] as { watermark: string | null } | undefined)?.watermark ?? null;
  const sameRules = row?.rules_version === rulesVersion;
  if (row && sameRules && row.watermark === watermark) return NOTHING;

  const journeys = await loadJourneys(db, crm, rulesVersion);
  const seen = journeys.reduce((n, j) => n + j.conversions + j.nulls, 0);
  const fitted = fitModels(journeys, rules);
  // Deals computed under these rules before a fit existed for them used empty weights.
  const previous = fittedOrEmpty(rules, row && sameRules ? (JSON.parse(row.fitted) as Fitted) : undefined);
  const shift = fitShift(previous, fitted);
  // A small move keeps the old fit, so one more closed deal does not rewrite every deal in the CRM.
  const keep = row !== null && sameRules && shift <= FIT_TOLERANCE;
  const recredit = shift > FIT_TOLERANCE;
  const stmts = [
    db
      .prepare(
        `INSERT INTO model_fits (crm, rules_version, fitted, journeys, watermark, shift, fitted_at, recredit_after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (crm) DO UPDATE SET rules_version = excluded.rules_version, fitted = excluded.fitted, journeys = excluded.journeys,
           watermark = excluded.watermark, shift = excluded.shift, fitted_at = excluded.fitted_at, recredit_after = excluded.recredit_after`,
      )
      .bind(
        crm, rulesVersion, keep ? row!.fitted : JSON.stringify(fitted), keep ? row!.journeys : seen, watermark, shift, new Date().toISOString(),
        // A moved fit starts the re-credit of every stored result, in this same batch.
        recredit ? '' : null,
      ),
  ];
  if (recredit) stmts.push(db.prepare(`DELETE FROM sync_writes WHERE run_id = ? AND object = 'deal' AND status = 'pending'`).bind(runId));
  const results = await db.batch(stmts);
  const stored = keep ? fittedOrEmpty(rules, JSON.parse(row!.fitted) as Fitted) : fitted;
  return { refitted: true, journeys: seen, shift, recredit, dropped: recredit ? (results[1]?.meta.changes ?? 0) : 0, fitted: stored };
}

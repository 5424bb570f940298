import type { Context } from 'hono';
import { connectedCrms } from '../env';
import { runView } from '../http/routes/sync';
import type { AppEnv } from '../http/types';
import { countDirty, getRun, listRuns } from '../store/sync';
import { countWritesByStatus, listSyncWrites, PLAN_COLUMNS, planRows, type WritesAfter } from '../store/sync-writes';
import { csvHeaders, csvRow } from '../http/csv';
import { accountKeyFor } from '../sync/connectors';
import { startRun } from '../sync/runner';
import { DeadLetters, openDeadLetters } from './dead-letters';
import { render, when } from './kit';
import { noticeQuery, readNotice } from './notice';

function countsText(counts: Record<string, number>) {
  return Object.keys(counts).sort().map((k) => `${k.replace(/_/g, ' ')} ${counts[k]}`).join(' · ') || '–';
}

/** The headline figures of a run from its counters (pulled_* summed). */
export function headline(counts: Record<string, number>) {
  let pulled = 0;
  for (const [k, v] of Object.entries(counts)) if (k.startsWith('pulled_')) pulled += v;
  return {
    pulled,
    computed: (counts.deals_computed ?? 0) + (counts.contacts_computed ?? 0) + (counts.companies_computed ?? 0),
    planned: counts.writes_planned ?? 0,
    written: counts.records_written ?? 0,
    failed: counts.records_failed ?? 0,
    calls: counts.crm_calls ?? 0,
  };
}

const dur = (ms: number | null) => (ms === null ? '–' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

/** Each connected CRM's shared rate budget as its Durable Object reports it (used / capacity per window, pauses). */
async function budgets(c: Context<AppEnv>) {
  const config = c.get('config');
  return Promise.all(
    connectedCrms(config).map(async (crm) => {
      try {
        const stub = c.env.CRM_BUDGET.get(c.env.CRM_BUDGET.idFromName(accountKeyFor(crm, config)));
        return { crm, status: await stub.status() };
      } catch {
        return { crm, status: null };
      }
    }),
  );
}

export async function syncPage(c: Context<AppEnv>, csrf: string) {
  const runs = (await listRuns(c.env.DB, { crm: null, limit: 50, before: null })).map(runView);
  const crms = connectedCrms(c.get('config'));
  const [budget, deadLetters] = await Promise.all([budgets(c), openDeadLetters(c.env.DB)]);
  const running = runs.some((r) => r.status === 'running');
  const { done, error: failed } = await readNotice(c);
  return render(c, { title: 'Sync', nav: '/sync', csrf, ...(running ? { refresh: 5 } : {}) }, (
    <>
      <h1>Sync runs</h1>
      {done ? <p class="ok" role="status">{done}</p> : null}
      {failed ? <p class="err" role="alert">{failed}</p> : null}
      <form method="post" action="/sync/start" class="filters" aria-label="Start a run">
        <input type="hidden" name="_csrf" value={csrf} />
        <label class="inline"><input type="checkbox" name="dryRun" value="1" /> Dry run (plan the writes, send nothing)</label>
        <label class="inline"><input type="checkbox" name="full" value="1" /> Full (re-pull everything)</label>
        <button type="submit" disabled={crms.length === 0}>Start a run{crms.length ? ` (${crms.join(', ')})` : ''}</button>
        {crms.length === 0 ? <span class="small muted">No CRM is configured.</span> : null}
      </form>
      {running ? <p class="small muted" role="status">A run is in progress; this page refreshes every 5 seconds.</p> : null}
      {budget.length ? (
        <div class="table-wrap">
          <table id="budget">
            <caption>CRM rate budget (shared by every run and isolate)</caption>
            <thead><tr><th scope="col">CRM</th><th scope="col">Window</th><th scope="col" class="num">Used</th><th scope="col" class="num">Remaining</th><th scope="col">Paused</th></tr></thead>
            <tbody>
              {budget.flatMap(({ crm, status }) =>
                status
                  ? status.buckets.map((b) => (
                      <tr>
                        <td>{crm}</td>
                        <td>{b.name}: {b.capacity} per {b.windowMs / 1000} s</td>
                        <td class="num">{b.used}</td>
                        <td class="num">{b.remaining}</td>
                        <td>{status.pausedUntil ? `until ${when(new Date(status.pausedUntil).toISOString())}${status.reason ? ` (${status.reason})` : ''}` : 'no'}</td>
                      </tr>
                    ))
                  : [<tr><td>{crm}</td><td colspan={4} class="muted">budget unavailable</td></tr>],
              )}
            </tbody>
          </table>
        </div>
      ) : null}
      <div class="table-wrap">
        <table id="runs">
          <caption>Latest {runs.length} runs</caption>
          <thead><tr><th scope="col">Run</th><th scope="col">CRM</th><th scope="col">Trigger</th><th scope="col">Status</th><th scope="col">Stage</th><th scope="col" class="num">Pulled</th><th scope="col" class="num">Computed</th><th scope="col" class="num">Planned</th><th scope="col" class="num">Written</th><th scope="col" class="num">Failed</th><th scope="col" class="num">CRM calls</th><th scope="col" class="num">Errors</th><th scope="col">Started</th><th scope="col" class="num">Duration</th></tr></thead>
          <tbody>
            {runs.length === 0 ? <tr><td colspan={14} class="muted">No runs yet.</td></tr> : runs.map((r) => {
              const h = headline(r.counts);
              return (
              <tr>
                <td><a href={`/sync/runs/${encodeURIComponent(r.id)}`}>{r.id}</a>{r.dry_run ? <span class="badge">dry run</span> : null}{r.full ? <span class="badge">full</span> : null}</td>
                <td>{r.crm}</td>
                <td>{r.trigger}</td>
                <td><span class={`badge ${r.status === 'done' ? 'yes' : r.status === 'failed' ? 'bad' : r.status === 'running' ? 'warn' : 'no'}`}>{r.status}</span>{r.reason ? <div class="small muted">{r.reason}</div> : null}</td>
                <td>{r.stage} <span class="small muted">(step {r.steps})</span></td>
                <td class="num">{h.pulled}</td>
                <td class="num">{h.computed}</td>
                <td class="num">{h.planned}</td>
                <td class="num">{h.written}</td>
                <td class="num">{h.failed}</td>
                <td class="num">{h.calls}</td>
                <td class="num">{r.errors.length}</td>
                <td>{when(r.started_at ?? r.created_at)}</td>
                <td class="num">{dur(r.duration_ms)}</td>
              </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <DeadLetters items={deadLetters} csrf={csrf} />
    </>
  ));
}

/** Records shown on the run page (a line per field each); the CSV download has every one. */
const PLAN_SHOWN = 50;
/** Records per D1 read while streaming the CSV (PLAN_CSV_MAX_RECORDS caps the file, far inside D1's 1,000 reads). */
const CSV_PAGE = 1000;

const show = (v: unknown) => (v === null ? <span class="muted">empty</span> : typeof v === 'string' ? v : JSON.stringify(v));

/**
 * Every write of a run as one CSV (`PLAN_COLUMNS`), streamed a keyset page at a time so a first sync's plan never sits
 * in memory. Past PLAN_CSV_MAX_RECORDS the file stops and its name says how many records it holds; the API pages
 * through the rest (GET /v1/sync/runs/:id/writes).
 */
export async function runWritesCsv(c: Context<AppEnv>) {
  const run = await getRun(c.env.DB, c.req.param('id') ?? '');
  if (!run) return c.text('no such run', 404);
  const db = c.env.DB;
  const max = c.get('config').PLAN_CSV_MAX_RECORDS;
  // Counted once per download (the index's entries for the run), to name a cut file before its first byte.
  const total = Object.values(await countWritesByStatus(db, run.id)).reduce((n, v) => n + v, 0);
  const encoder = new TextEncoder();
  let after: WritesAfter | null = null;
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(csvRow(PLAN_COLUMNS)));
    },
    async pull(controller) {
      const page = await listSyncWrites(db, run.id, { limit: Math.min(CSV_PAGE, max - sent), after });
      sent += page.records.length;
      if (page.records.length) controller.enqueue(encoder.encode(planRows(page.records).map(csvRow).join('')));
      const last = page.records[page.records.length - 1];
      if (!page.next_cursor || !last || sent >= max) controller.close();
      else after = { object: last.object, crmId: last.crm_id };
    },
  });
  const cut = total > max ? `-first-${max}` : '';
  const name = `sync-writes-${run.id.replace(/[^A-Za-z0-9_.-]/g, '_')}${cut}.csv`;
  return new Response(body, { headers: csvHeaders(name) });
}

export async function runPage(c: Context<AppEnv>, csrf: string) {
  const row = await getRun(c.env.DB, c.req.param('id') ?? '');
  if (!row) return render(c, { title: 'Run not found', nav: '/sync', csrf, status: 404 }, <><h1>Run not found</h1><p><a href="/sync">All runs</a></p></>);
  const r = runView(row);
  const [remaining, byStatus, plan] = await Promise.all([
    r.status === 'running' ? countDirty(c.env.DB, row.crm) : Promise.resolve({} as Record<string, number>),
    // While the run goes on (the page refreshes every 3 s) its own counters stand in for counting every write.
    r.status === 'running' ? Promise.resolve(null) : countWritesByStatus(c.env.DB, row.id),
    listSyncWrites(c.env.DB, row.id, { limit: PLAN_SHOWN }),
  ]);
  const planned = byStatus ? Object.values(byStatus).reduce((n, v) => n + v, 0) : (r.counts.writes_planned ?? 0);
  return render(c, { title: `Run ${r.id}`, nav: '/sync', csrf, ...(r.status === 'running' ? { refresh: 3 } : {}) }, (
    <>
      <p class="small"><a href="/sync">← All runs</a></p>
      <h1>Run {r.id}</h1>
      <p>{r.crm} · {r.trigger}{r.dry_run ? ' · dry run' : ''}{r.full ? ' · full' : ''} · <strong>{r.status}</strong> at stage {r.stage} (step {r.steps}) · {dur(r.duration_ms)}</p>
      {r.reason ? <p class="err">{r.reason}</p> : null}
      <h2>Progress</h2>
      {(() => {
        const h = headline(r.counts);
        return <p id="headline">pulled {h.pulled} · computed {h.computed} · planned {h.planned} · written {h.written} · failed {h.failed} · CRM calls {h.calls}</p>;
      })()}
      <details><summary>All counters</summary><p class="small">{countsText(r.counts)}</p></details>
      {r.status === 'running' ? <p class="small muted">Still to process: {Object.entries(remaining).map(([k, n]) => `${k} ${n}`).join(', ') || 'nothing queued'}</p> : null}
      <h2 id="writes">{r.dry_run ? 'The plan: what this dry run would write' : 'Writes'}</h2>
      <p>
        {!planned ? 'No record to write. ' : byStatus
          ? `${planned} record${planned === 1 ? '' : 's'}: ${Object.entries(byStatus).map(([k, n]) => `${k} ${n}`).join(', ')}. `
          // The run's counter: a record planned again counts twice until the run ends and the rows are counted.
          : `About ${planned} record${planned === 1 ? '' : 's'} planned so far. `}
        {planned ? <a href={`/sync/runs/${encodeURIComponent(r.id)}/writes.csv`} download>Download every write (CSV: a line per field, old → new)</a> : null}
      </p>
      {plan.records.length ? (
        <div class="table-wrap">
          <table id="plan">
            <caption>{plan.next_cursor ? `The first ${PLAN_SHOWN} records by object and id; the CSV download has the rest` : 'Every record'}</caption>
            <thead><tr><th scope="col">Object</th><th scope="col">CRM id</th><th scope="col">Field</th><th scope="col">Old</th><th scope="col">New</th><th scope="col">Status</th></tr></thead>
            <tbody>
              {planRows(plan.records).map(([object, crmId, field, old, value, status, error]) => (
                <tr>
                  <td>{String(object)}</td><td><code>{String(crmId)}</code></td><td><code>{String(field)}</code></td>
                  <td>{old === undefined ? <span class="muted">never written</span> : show(old)}</td><td>{show(value)}</td>
                  <td>{String(status)}{error ? <div class="small err">{String(error)}</div> : null}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <h2>Errors ({r.errors.length})</h2>
      {r.errors.length ? <pre class="code">{r.errors.slice(0, 100).map((e) => JSON.stringify(e)).join('\n')}</pre> : <p class="muted">None.</p>}
    </>
  ));
}

export async function syncStart(c: Context<AppEnv>) {
  const form = await c.req.parseBody();
  const dryRun = form.dryRun === '1';
  const full = form.full === '1';
  const crms = connectedCrms(c.get('config'));
  const results = await Promise.all(crms.map(async (crm) => ({ crm, ...(await startRun(c.env, crm, { trigger: 'api', dryRun, full })) })));
  const msg = results.map((r) => (r.started ? `${r.crm}: started ${r.runId}` : `${r.crm}: ${'reason' in r ? r.reason : 'not started'} (${r.runId})`)).join('; ') || 'No CRM is configured.';
  return c.redirect(`/sync?${await noticeQuery(c, 'done', msg)}`, 303);
}

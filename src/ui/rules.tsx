import type { Context } from 'hono';
import type { AppEnv } from '../http/types';
import type { PreviewDiff, SourceIssue } from '../rules';
import { activeRules, getRulesVersion, listRulesVersions, type RulesKind } from '../store/rules';
import { fullPreviewJson, readFullPreview, startFullPreview } from '../sync/full-preview';
import { activateVersion, activeVersion, previewRules, validateProposal, type PreviewFit } from '../sync/rules-change';
import { money, render, when } from './kit';
import { noticeQuery, readNotice } from './notice';

const KINDS: RulesKind[] = ['rules', 'hubspot', 'salesforce'];
const kindOf = (v: unknown): RulesKind => (KINDS.includes(v as RulesKind) ? (v as RulesKind) : 'rules');
const MAX = 512_000;

interface View {
  kind: RulesKind;
  content: string;
  issues?: SourceIssue[];
  preview?: Awaited<ReturnType<typeof previewRules>> | { valid: true; diff: null };
  previewedHash?: string;
  /** The active hash the preview compared against: activating checks it is still the active one. */
  against?: string;
  message?: string;
  error?: string;
  status?: 200 | 409 | 422;
}

async function page(c: Context<AppEnv>, csrf: string, v: View) {
  const [active, history] = await Promise.all([activeVersion(c.env.DB, v.kind), listRulesVersions(c.env.DB, v.kind)]);
  return render(c, { title: 'Rules', nav: '/rules', csrf, status: v.status ?? 200 }, (
    <>
      <h1>Rules and mappings</h1>
      <nav aria-label="File" class="actions">
        {KINDS.map((k) => <a href={`/rules?kind=${k}`} aria-current={k === v.kind ? 'page' : undefined} class="badge">{k}.yaml</a>)}
      </nav>
      {v.message ? <p class="ok" role="status">{v.message}</p> : null}
      {v.error ? <p class="err" role="alert">{v.error}</p> : null}
      <p>Active version of <strong>{v.kind}.yaml</strong>: <code id="active-hash">{active.hash.slice(0, 16)}</code> — {active.source === 'bundled' ? 'bundled (mappings/ in the repository)' : `activated by ${active.activated_by} at ${active.activated_at}`}{active.author && active.author !== active.activated_by ? ` (first written by ${active.author})` : ''}.</p>

      <h2>Propose a change</h2>
      <form method="post" action="/rules/preview" aria-label="Proposed file">
        <input type="hidden" name="_csrf" value={csrf} />
        <input type="hidden" name="kind" value={v.kind} />
        {v.previewedHash ? <input type="hidden" name="previewed" value={v.previewedHash} /> : null}
        {v.previewedHash ? <input type="hidden" name="against" value={v.against ?? active.hash} /> : null}
        <label for="content">Proposed {v.kind}.yaml (edit or paste)</label>
        <textarea id="content" name="content" rows={22} spellcheck={false} aria-describedby={v.issues?.length ? 'issues' : undefined}>{v.content}</textarea>
        <div class="actions">
          <button type="submit">Validate and preview</button>
          {v.previewedHash ? <button type="submit" formaction="/rules/activate" class="danger" id="activate">Activate this version</button> : null}
          {v.preview && 'truncated' in v.preview && v.preview.truncated ? (
            <button type="submit" formaction="/rules/previews" class="secondary" id="full-preview">Preview every deal (in the background)</button>
          ) : null}
        </div>
      </form>
      {v.issues?.length ? <Issues issues={v.issues} content={v.content} file={`${v.kind}.yaml`} /> : null}
      {v.preview ? <Preview p={v.preview} stepDeals={c.get('config').PREVIEW_STEP_DEALS} /> : null}

      <h2>History</h2>
      <div class="table-wrap">
        <table id="history">
          <caption>Every version of {v.kind}.yaml activated here</caption>
          <thead><tr><th scope="col">Version</th><th scope="col">Author</th><th scope="col">Stored</th><th scope="col">State</th></tr></thead>
          <tbody>
            {history.length === 0 ? <tr><td colspan={4} class="muted">Only the bundled file so far.</td></tr> : history.map((h) => (
              <tr>
                <td><code>{h.hash.slice(0, 16)}</code></td>
                <td>{h.author}</td>
                <td>{when(h.created_at)}</td>
                <td>
                  {h.active ? <span class="badge yes">active</span> : (
                    <form method="post" action="/rules/rollback">
                      <input type="hidden" name="_csrf" value={csrf} />
                      <input type="hidden" name="kind" value={v.kind} />
                      <input type="hidden" name="hash" value={h.hash} />
                      <button type="submit" class="secondary">Roll back to this version</button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  ));
}

function Issues(props: { issues: SourceIssue[]; content: string; file: string }) {
  const lines = props.content.split('\n');
  return (
    <div class="err" id="issues" role="alert">
      <strong>{props.issues.length} problem{props.issues.length === 1 ? '' : 's'}; nothing was changed.</strong>
      <ul>
        {props.issues.map((i) => {
          const from = Math.max(1, i.line - 1);
          const to = Math.min(lines.length, i.line + 1);
          // An issue in another file (an active field mapping the proposed rules no longer fit) has no lines here.
          const here = i.file === props.file;
          return (
            <li>
              <strong>{here ? '' : `${i.file}, `}line {i.line}, column {i.column}</strong> <code>{i.path}</code>: {i.message}
              {here ? <pre class="code">{lines.slice(from - 1, to).map((l, k) => <span class={from + k === i.line ? 'hl' : undefined}>{`${String(from + k).padStart(4)} | ${l}\n`}</span>)}</pre> : null}
            </li>
          );
        })}
      </ul>
    </div>
  );
}

function moneyMap(m: Record<string, number>) {
  const e = Object.entries(m);
  return e.length ? e.map(([cur, v]) => money(v, cur)).join(', ') : '0';
}

/** Why a preview stopped short of every deal: its deal cap, or the D1 statements one request may issue. */
function evaluatedNote(p: { truncated?: boolean; limited_by?: string | null }): string {
  if (!p.truncated) return '';
  return p.limited_by === 'queries' ? ' (the most recent; one preview reads no more in one request)' : ' (the most recent, up to PREVIEW_MAX_DEALS)';
}

type Fits = { active: PreviewFit | null; proposed: PreviewFit | null };

/** Markov / Shapley are fitted per side on the evaluated deals; say on how many, since few closed deals make a weak fit. */
function FitNote(props: { fits: Fits; full: boolean }) {
  const say = (label: string, f: PreviewFit | null) => (f ? `${label}: ${f.models.join(' and ')} fitted on ${f.journeys} closed deal${f.journeys === 1 ? '' : 's'}` : null);
  const parts = [say('active', props.fits.active), say('proposed', props.fits.proposed)].filter((x): x is string => x !== null);
  const of = props.full ? 'active: the fit the sync computes with; proposed: every closed deal' : 'of those evaluated';
  return parts.length ? <p class="small muted" id="preview-fits">{parts.join(' · ')} ({of}).</p> : null;
}

/** The one-request preview lists every deal that changes, by id; the full one keeps those that move the most money. */
function changedCaption(p: PreviewView, d: PreviewDiff): string {
  const full = 'changed_total' in p && typeof p.changed_total === 'number';
  const total = full ? (p.changed_total as number) : d.changed.length;
  const shown = Math.min(200, d.changed.length);
  const which = full ? `the ${shown} that move the most money${new Set(d.changed.map((x) => x.currency)).size > 1 ? ', per currency' : ''}` : `the first ${shown}`;
  return `${total} deal${total === 1 ? '' : 's'} change; ${d.unchanged} unchanged${total > shown ? ` (${which} shown)` : ''}`;
}

type PreviewView = NonNullable<View['preview']> | ReturnType<typeof fullPreviewJson>;

function Preview(props: { p: PreviewView; stepDeals?: number }) {
  const p = props.p;
  if (!('diff' in p) || p.diff === null) return <p class="ok" id="preview">Valid. A field mapping does not change influence values; activating it changes what is written to the CRM.</p>;
  const d: PreviewDiff = p.diff;
  const rows: [string, string, string][] = [
    ['Deals evaluated', String(d.before.deals), String(d.after.deals)],
    ['Influenced deals', String(d.before.influenced.deals), String(d.after.influenced.deals)],
    ['Influenced pipeline (open)', moneyMap(d.before.influenced.pipeline), moneyMap(d.after.influenced.pipeline)],
    ['Influenced revenue (won)', moneyMap(d.before.influenced.revenue), moneyMap(d.after.influenced.revenue)],
    ['Sourced deals', String(d.before.sourced.deals), String(d.after.sourced.deals)],
    ['Sourced pipeline (open)', moneyMap(d.before.sourced.pipeline), moneyMap(d.after.sourced.pipeline)],
    ['Sourced revenue (won)', moneyMap(d.before.sourced.revenue), moneyMap(d.after.sourced.revenue)],
    ['Attributed (primary model)', moneyMap(d.before.attributed), moneyMap(d.after.attributed)],
  ];
  const crm = 'crm' in p ? p.crm : null;
  return (
    <section id="preview" aria-label="Preview">
      <h2>Preview: what activating would change</h2>
      <p class="small muted">{'evaluated' in p ? `${p.evaluated} deals evaluated${evaluatedNote(p)}` : ''} · nothing has been written.</p>
      {'fits' in p && p.fits ? <FitNote fits={p.fits} full={'changed_total' in p} /> : null}
      <div class="table-wrap">
        <table id="preview-totals">
          <caption>Before (active rules) → after (proposed)</caption>
          <thead><tr><th scope="col">Measure</th><th scope="col" class="num">Before</th><th scope="col" class="num">After</th></tr></thead>
          <tbody>{rows.map(([l, b, a]) => <tr class={b !== a ? 'changed' : undefined}><td>{l}{b !== a ? <span class="badge warn">changes</span> : null}</td><td class="num">{b}</td><td class="num">{a}</td></tr>)}</tbody>
        </table>
      </div>
      <div class="table-wrap">
        <table id="preview-deals">
          <caption>{changedCaption(p, d)}</caption>
          <thead><tr><th scope="col">Deal</th><th scope="col" class="num">Amount</th><th scope="col">Change</th><th scope="col">Fields (before → after)</th></tr></thead>
          <tbody>
            {d.changed.slice(0, 200).map((x) => (
              <tr>
                <td><a href={`/deals/${crm ?? x.crm}/${encodeURIComponent(x.dealId)}`}>{x.dealId}</a></td>
                <td class="num">{money(x.amount, x.currency)}</td>
                <td>{x.kind}</td>
                <td class="small">{x.changes.map((ch) => `${ch.field}: ${String(ch.before)} → ${String(ch.after)}`).join('; ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {'truncated' in p && p.truncated ? (
        <p class="small" id="full-preview-note">This preview covers the most recent deals only. "Preview every deal" above evaluates every deal in the background, a queue step per {props.stepDeals ?? 'few thousand'} deals, and writes nothing.</p>
      ) : null}
    </section>
  );
}

export async function rulesPage(c: Context<AppEnv>, csrf: string) {
  const kind = kindOf(c.req.query('kind'));
  const active = await activeVersion(c.env.DB, kind);
  const notice = await readNotice(c);
  return page(c, csrf, { kind, content: active.content, ...(notice.done ? { message: notice.done } : {}), ...(notice.error ? { error: notice.error } : {}) });
}

async function readForm(c: Context<AppEnv>) {
  const form = await c.req.parseBody();
  const kind = kindOf(form.kind);
  const content = typeof form.content === 'string' ? form.content.replace(/\r\n/g, '\n').slice(0, MAX) : '';
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return { kind, content, previewed: str(form.previewed), against: str(form.against), hash: str(form.hash) };
}

export async function rulesPreview(c: Context<AppEnv>, csrf: string) {
  const { kind, content } = await readForm(c);
  const validated = await validateProposal(c.env.DB, c.get('config'), kind, content);
  if (!validated.ok) return page(c, csrf, { kind, content, issues: validated.issues, status: 422 });
  const preview = validated.rules ? await previewRules(c.env.DB, c.get('config'), validated.rules) : { valid: true as const, diff: null };
  return page(c, csrf, { kind, content, preview, previewedHash: validated.hash });
}

export async function rulesActivate(c: Context<AppEnv>, csrf: string) {
  const { kind, content, previewed, against } = await readForm(c);
  const validated = await validateProposal(c.env.DB, c.get('config'), kind, content);
  if (!validated.ok) return page(c, csrf, { kind, content, issues: validated.issues, status: 422 });
  const current = await activeVersion(c.env.DB, kind);
  // Someone else activated a version since this preview: activating now would silently undo theirs.
  const overtaken = against !== null && against !== current.hash;
  if (!previewed || previewed !== validated.hash || overtaken) {
    const preview = validated.rules ? await previewRules(c.env.DB, c.get('config'), validated.rules) : { valid: true as const, diff: null };
    const message = overtaken
      ? `Version ${current.hash.slice(0, 16)} was activated${current.activated_by ? ` by ${current.activated_by}` : ''} since your preview: this preview compares against it; check it, then activate.`
      : 'The text changed since the preview: check this preview, then activate.';
    return page(c, csrf, { kind, content, preview, previewedHash: validated.hash, against: current.hash, message, ...(overtaken ? { status: 409 as const } : {}) });
  }
  return activateAndRedirect(c, kind, content);
}

async function activateAndRedirect(c: Context<AppEnv>, kind: RulesKind, content: string) {
  const principal = c.get('principal')!;
  const r = await activateVersion(c.env, c.get('config'), { kind, content, author: `${principal.kind}:${principal.id}` });
  if (!r.ok) {
    // A rollback to a version that no longer validates (a deploy tightened the schema): say so instead of nothing.
    const why = r.issues.slice(0, 3).map((i) => `line ${i.line}: ${i.path}: ${i.message}`).join('; ');
    return c.redirect(`/rules?kind=${kind}&${await noticeQuery(c, 'error', `Not activated: that version does not validate now (${why}).`)}`, 303);
  }
  const runs = r.runs.map((x) => x.runId).join(', ');
  const msg = `Activated ${r.hash.slice(0, 16)}${r.previous ? ` (was ${r.previous.slice(0, 16)})` : ''}. ${runs ? `Sync runs recompute and write back: ${runs}.` : 'No CRM is connected, so nothing is written.'}`;
  return c.redirect(`/rules?kind=${kind}&${await noticeQuery(c, 'done', msg)}`, 303);
}

export async function rulesRollback(c: Context<AppEnv>) {
  const { kind, hash } = await readForm(c);
  const version = hash ? await getRulesVersion(c.env.DB, kind, hash) : null;
  if (!version) return c.redirect(`/rules?kind=${kind}&${await noticeQuery(c, 'error', 'No such version.')}`, 303);
  return activateAndRedirect(c, kind, version.content);
}

/** Starts a full preview of the proposal and shows its page. */
export async function rulesFullPreview(c: Context<AppEnv>, csrf: string) {
  const { content } = await readForm(c);
  const principal = c.get('principal')!;
  const started = await startFullPreview(c.env, c.get('config'), content, `${principal.kind}:${principal.id}`);
  if (!started.ok) {
    return 'issues' in started
      ? page(c, csrf, { kind: 'rules', content, issues: started.issues, status: 422 })
      : page(c, csrf, { kind: 'rules', content, message: started.error, status: started.status });
  }
  // A repeat of a running preview (a second click) shows that one.
  return c.redirect(`/rules/previews/${started.id}`, 303);
}

/** A full preview: progress while it runs (the page refreshes itself), then the same view as the one-request preview. */
export async function rulesFullPreviewPage(c: Context<AppEnv>, csrf: string) {
  const p = await readFullPreview(c.env, c.req.param('id') ?? '');
  if (!p) return render(c, { title: 'Preview not found', nav: '/rules', csrf, status: 404 }, <p>No such preview; previews are kept for 30 days.</p>);
  const running = p.status === 'running';
  return render(c, { title: 'Full preview', nav: '/rules', csrf, ...(running ? { refresh: 3 } : {}) }, (
    <>
      <h1>Full preview <code>{p.id}</code></h1>
      <p>Proposed <code>{p.proposed_version.slice(0, 23)}</code> against active <code>{p.active_version.slice(0, 23)}</code>, started by {p.author} at {p.created_at}; every deal computed as of {p.as_of}.</p>
      {running ? (
        <p role="status" id="full-status">{p.phase === 'fit' ? 'Fitting markov / shapley on every closed deal under the proposed rules' : `${p.evaluated} of about ${p.total} deals evaluated`}; this page refreshes every 3 seconds.</p>
      ) : p.status === 'failed' ? (
        <p class="err" role="alert" id="full-status">The preview failed: {p.error}</p>
      ) : (
        <Preview p={p} />
      )}
      <p><a href="/rules">Back to the rules</a></p>
    </>
  ));
}

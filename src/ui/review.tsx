import type { Context } from 'hono';
import type { AppEnv } from '../http/types';
import { nowIso } from '../ids';
import { decideLink, getLink, listLinks } from '../store/links';
import { pct, render } from './kit';

const PAGE = 100;

/** Ticks every row checkbox from the "select all" box. */
const SCRIPT = `document.getElementById('all')?.addEventListener('change',function(e){for(const b of document.querySelectorAll('input[name="ids[]"]'))b.checked=e.target.checked});`;

export async function reviewPage(c: Context<AppEnv>, csrf: string) {
  const after = Number(c.req.query('after') ?? '') || null;
  const rows = await listLinks(c.env.DB, { status: 'suggested', memberId: null, limit: PAGE, afterId: after });
  const done = c.req.query('done');
  return render(c, { title: 'Review queue', nav: '/review', csrf, script: SCRIPT }, (
    <>
      <h1>Review queue</h1>
      <p class="small muted">Suggested links between community members and CRM records. Confirmed links count for attribution; rejected ones never come back from automation.</p>
      {done ? <p class="ok" role="status">{done}</p> : null}
      {rows.length === 0 ? <p>Nothing to review{after ? ' on this page' : ''}.</p> : (
        <form method="post" action="/review" aria-label="Suggested links">
          <input type="hidden" name="_csrf" value={csrf} />
          <div class="actions">
            <button type="submit" name="decision" value="confirmed">Confirm selected</button>
            <button type="submit" name="decision" value="rejected" class="danger">Reject selected</button>
          </div>
          <div class="table-wrap">
            <table id="suggestions">
              <caption>{rows.length} suggestion{rows.length === 1 ? '' : 's'}</caption>
              <thead>
                <tr>
                  <th scope="col"><label class="inline"><input type="checkbox" id="all" /> <span class="sr">Select all</span></label></th>
                  <th scope="col">Member</th><th scope="col">CRM record</th><th scope="col">Method</th><th scope="col" class="num">Confidence</th><th scope="col">Reasons</th><th scope="col">Decide</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr data-link={r.id}>
                    <td><input type="checkbox" name="ids[]" value={String(r.id)} id={`l${r.id}`} aria-label={`Select suggestion ${r.id}`} /></td>
                    <td><a href={`/members/${encodeURIComponent(r.member_id)}`}>{r.member_name ?? r.member_id}</a></td>
                    <td>{r.target_name || r.crm_id}<div class="small muted">{r.crm} {r.target_kind}{r.target_detail ? ` · ${r.target_detail}` : ''}</div></td>
                    <td>{r.method}</td>
                    <td class="num">{pct(r.confidence, 0)}</td>
                    <td><ul class="ev">{(JSON.parse(r.evidence) as string[]).map((e) => <li>{e}</li>)}</ul></td>
                    <td>
                      <div class="actions">
                        <button type="submit" name="one" value={`${r.id}:confirmed`} class="secondary" aria-label={`Confirm suggestion ${r.id}`}>Confirm</button>
                        <button type="submit" name="one" value={`${r.id}:rejected`} class="secondary" aria-label={`Reject suggestion ${r.id}`}>Reject</button>
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </form>
      )}
      {rows.length === PAGE ? <p><a href={`/review?after=${rows[rows.length - 1]!.id}`}>Next page →</a></p> : null}
    </>
  ));
}

export async function reviewPost(c: Context<AppEnv>) {
  const form = await c.req.parseBody({ all: true });
  const decisions: { id: number; decision: 'confirmed' | 'rejected' }[] = [];
  const one = typeof form.one === 'string' ? form.one : null;
  if (one) {
    const [id, d] = one.split(':');
    if (d === 'confirmed' || d === 'rejected') decisions.push({ id: Number(id), decision: d });
  } else {
    const d = form.decision;
    const raw = form['ids[]'];
    const ids = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((x): x is string => typeof x === 'string');
    if (d === 'confirmed' || d === 'rejected') for (const id of ids.slice(0, 500)) decisions.push({ id: Number(id), decision: d });
  }
  const principal = c.get('principal')!;
  let n = 0;
  for (const x of decisions) {
    if (!Number.isInteger(x.id) || x.id <= 0) continue;
    const link = await getLink(c.env.DB, x.id);
    if (!link || link.status !== 'suggested') continue;
    await decideLink(c.env.DB, link, x.decision, `${principal.kind}:${principal.id}`, nowIso());
    n++;
  }
  const msg = n ? `${n} suggestion${n === 1 ? '' : 's'} ${decisions[0]!.decision === 'confirmed' && decisions.every((d) => d.decision === 'confirmed') ? 'confirmed' : decisions.every((d) => d.decision === 'rejected') ? 'rejected' : 'decided'}; the next sync run recomputes the affected deals.` : 'Nothing selected.';
  return c.redirect(`/review?done=${encodeURIComponent(msg)}`, 303);
}

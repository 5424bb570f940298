import type { Context } from 'hono';
import type { AppEnv } from '../http/types';
import { nowIso } from '../ids';
import { decideLink, getLink, listLinks } from '../store/links';
import { decodeSuggestionCursor, listConflicts, listSuggestions, suggestionCursor } from '../store/member-match';
import { day, pct, qs, render } from './kit';
import { ConflictsTable, DuplicateActions, MemberLink } from './member';
import { noticeQuery, readNotice } from './notice';

const PAGE = 100;
/** Possible duplicates per page (best first, keyset-paged) and newest conflicts shown. */
const DUPLICATES = 100;
const CONFLICTS = 100;

/** Ticks every row checkbox from the "select all" box. */
const SCRIPT = `document.getElementById('all')?.addEventListener('change',function(e){for(const b of document.querySelectorAll('input[name="ids[]"]'))b.checked=e.target.checked});`;

export async function reviewPage(c: Context<AppEnv>, csrf: string) {
  const after = Number(c.req.query('after') ?? '') || null;
  // A cursor that does not parse (an old or hand-edited link) shows the first page rather than an error page.
  const dupAfter = decodeSuggestionCursor(c.req.query('dup_after') ?? '');
  const [rows, duplicatesAndOne, conflicts] = await Promise.all([
    listLinks(c.env.DB, { status: 'suggested', memberId: null, limit: PAGE, afterId: after }),
    // One past the page says whether there is a next one.
    listSuggestions(c.env.DB, { limit: DUPLICATES + 1, after: dupAfter }),
    listConflicts(c.env.DB, { limit: CONFLICTS }),
  ]);
  const duplicates = duplicatesAndOne.slice(0, DUPLICATES);
  const moreDuplicates = duplicatesAndOne.length > DUPLICATES;
  // Each section pages on its own; a link of one keeps the other's position.
  const pageLink = (q: { after?: number | null; dup?: string | null }, anchor: string) =>
    `/review${qs({ after: q.after ? String(q.after) : null, dup_after: q.dup })}#${anchor}`;
  const dupParam = dupAfter ? c.req.query('dup_after')! : null;
  const { done, error: failed } = await readNotice(c);
  return render(c, { title: 'Review queue', nav: '/review', csrf, script: SCRIPT }, (
    <>
      <h1>Review queue</h1>
      {done ? <p class="ok" role="status">{done}</p> : null}
      {failed ? <p class="err" role="alert">{failed}</p> : null}
      <p class="small muted">
        Jump to: <a href="#links-review">Suggested CRM links</a> · <a href="#duplicates-review">Possible duplicate members</a> · <a href="#conflicts-review">Identity conflicts</a>
      </p>

      <h2 id="links-review">Suggested CRM links</h2>
      <p class="small muted">Suggested links between community members and CRM records. Confirmed links count for attribution; rejected ones never come back from automation.</p>
      {rows.length === 0 ? <p>No suggested CRM links to review{after ? ' on this page' : ''}.</p> : (
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
      {rows.length === PAGE ? <p><a href={pageLink({ after: rows[rows.length - 1]!.id, dup: dupParam }, 'links-review')}>Next page →</a></p> : null}

      <h2 id="duplicates-review">Possible duplicate members</h2>
      <p class="small muted">
        Pairs of members that may be one person, best match first. <strong>Merge</strong> moves the newer member's identities and
        activities into the older one, as automatic merges do (Unmerge on the member page restores them); <strong>Not the same person</strong> is remembered, so
        automation never merges or suggests the pair again. A pair that cannot be merged (two accounts on a one-account platform, a
        bot and a human) only offers Not the same person.
      </p>
      <div class="table-wrap">
        <table id="duplicates">
          <caption>{`${duplicates.length} possible duplicate${duplicates.length === 1 ? '' : 's'}${dupAfter ? ' on this page' : ''}${moreDuplicates ? ', best first; more on the next page' : ''}`}</caption>
          <thead>
            <tr><th scope="col">Member</th><th scope="col">Possibly the same as</th><th scope="col" class="num">Score</th><th scope="col">Reasons</th><th scope="col">Cannot merge because</th><th scope="col">Decide</th></tr>
          </thead>
          <tbody>
            {duplicates.length === 0 ? <tr><td colspan={6} class="muted">{dupAfter ? 'No more possible duplicates.' : 'No possible duplicates: every member looks like a different person.'}</td></tr> : duplicates.map((d) => (
              <tr data-pair={`${d.member_a.id}:${d.member_b.id}`} data-keep={d.keep}>
                <td><MemberLink member={d.member_a} /><div class="small muted"><code>{d.member_a.id}</code></div></td>
                <td><MemberLink member={d.member_b} /><div class="small muted"><code>{d.member_b.id}</code></div></td>
                <td class="num">{pct(d.score, 0)}</td>
                <td><ul class="ev">{d.reasons.map((r) => <li>{r}</li>)}</ul></td>
                <td>{d.blocked ? <ul class="ev">{d.blocked.map((r) => <li>{r}</li>)}</ul> : '–'}</td>
                <td><DuplicateActions suggestion={d} csrf={csrf} back="review" /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p>
        {dupAfter ? <a href={pageLink({ after }, 'duplicates-review')}>← Best matches</a> : null}
        {dupAfter && moreDuplicates ? ' · ' : null}
        {moreDuplicates ? <a href={pageLink({ after, dup: suggestionCursor(duplicates[duplicates.length - 1]!) }, 'duplicates-review')}>Next possible duplicates →</a> : null}
      </p>

      <h2 id="conflicts-review">Identity conflicts</h2>
      <p class="small muted">What identity resolution could not settle on its own (a CRM email on several records, a shared role mailbox, a name that does not match, …). Open the member to merge, link or correct it.</p>
      <ConflictsTable
        withMember
        conflicts={conflicts}
        caption={`${conflicts.length === CONFLICTS ? `The newest ${CONFLICTS} identity conflicts` : `${conflicts.length} identity conflict${conflicts.length === 1 ? '' : 's'}`}, newest first`}
        empty="No identity conflicts: identity resolution settled every member on its own."
      />
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
  return c.redirect(`/review?${await noticeQuery(c, 'done', msg)}`, 303);
}

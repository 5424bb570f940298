import type { Context } from 'hono';
import { hasScope } from '../auth/scopes';
import type { AppEnv } from '../http/types';
import { mergesOf } from '../store/merges';
import { listActivities } from '../store/activities';
import { getMember, getMemberDetail } from '../store/members';
import { memberDeals, memberLinks } from '../store/ui-pages';
import { listConflicts, listSuggestions, recordNotSame, type ConflictView, type SuggestionView } from '../store/member-match';
import { day, money, pct, render, when } from './kit';
import { mergeChecked, unmergeChecked } from '../members/merge';
import { noticeQuery, readNotice } from './notice';

/** A member as a link to its page: the display name, or the id when it has none. */
export function MemberLink(props: { member: { id: string; display_name: string | null } }) {
  const m = props.member;
  return <a href={`/members/${encodeURIComponent(m.id)}`}>{m.display_name ?? m.id}</a>;
}

/**
 * The two decisions on a "these two members may be one person" suggestion: merge the newer member into the older one
 * (`keep`, as automation does; through the member page's merge route, so mergeChecked applies; not offered for a
 * blocked pair) or "not the same person", posted to the page's own member on a member page (`self`), so its answer
 * lands where the editor was. `back` says where the answer lands.
 */
export function DuplicateActions(props: { suggestion: SuggestionView; csrf: string; back: 'review' | 'member'; self?: string }) {
  const s = props.suggestion;
  const [into, from] = s.keep === s.member_b.id ? [s.member_b, s.member_a] : [s.member_a, s.member_b];
  const [here, there] = props.self === from.id ? [from, into] : [into, from];
  const intoName = `${into.display_name ?? into.id} (${into.id})`;
  const fromName = `${from.display_name ?? from.id} (${from.id})`;
  return (
    <div class="actions">
      {s.blocked ? null : (
        <form method="post" action={`/members/${encodeURIComponent(into.id)}/merge`}>
          <input type="hidden" name="_csrf" value={props.csrf} />
          <input type="hidden" name="member_id" value={from.id} />
          <input type="hidden" name="back" value={props.back} />
          <button type="submit" class="secondary" title={`Merge ${fromName} into the older ${intoName}`} aria-label={`Merge ${fromName} into ${intoName}`}>Merge</button>
        </form>
      )}
      <form method="post" action={`/members/${encodeURIComponent(here.id)}/not-same`}>
        <input type="hidden" name="_csrf" value={props.csrf} />
        <input type="hidden" name="member" value={there.id} />
        <input type="hidden" name="back" value={props.back} />
        <button type="submit" class="secondary" aria-label={`Not the same person: ${intoName} and ${fromName}`}>Not the same person</button>
      </form>
    </div>
  );
}

/** A conflict's refs (member ids link to their page; CRM ids and identity keys are shown as they are). */
export function ConflictRefs(props: { conflict: ConflictView }) {
  const refs = props.conflict.refs;
  if (!refs.length) return <>–</>;
  return (
    <ul class="ev">
      {refs.map((r) => <li>{/^mem_[A-Za-z0-9_]+$/.test(r) ? <a href={`/members/${encodeURIComponent(r)}`}><code>{r}</code></a> : <code>{r}</code>}</li>)}
    </ul>
  );
}

/** Identity conflicts as a table; `withMember` adds the member column (the review page lists every member's). */
export function ConflictsTable(props: { conflicts: ConflictView[]; caption: string; empty: string; withMember?: boolean }) {
  const cols = props.withMember ? 5 : 4;
  return (
    <div class="table-wrap">
      <table id="conflicts">
        <caption>{props.caption}</caption>
        <thead>
          <tr>{props.withMember ? <th scope="col">Member</th> : null}<th scope="col">Code</th><th scope="col">Message</th><th scope="col">Refers to</th><th scope="col">Since</th></tr>
        </thead>
        <tbody>
          {props.conflicts.length === 0 ? <tr><td colspan={cols} class="muted">{props.empty}</td></tr> : props.conflicts.map((x) => (
            <tr>
              {props.withMember ? <td><MemberLink member={{ id: x.member_id, display_name: x.display_name }} /></td> : null}
              <td><code>{x.code}</code></td>
              <td>{x.message}</td>
              <td><ConflictRefs conflict={x} /></td>
              <td>{day(x.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export async function memberPage(c: Context<AppEnv>, csrf: string) {
  const id = c.req.param('id') ?? '';
  const member = await getMember(c.env.DB, id);
  if (!member) return render(c, { title: 'Member not found', csrf, status: 404 }, <><h1>Member not found</h1><p>No member {id}.</p></>);
  const canEdit = hasScope(c.get('principal')!, 'configure');
  const [detail, activities, links, deals, merges, suggestions, conflicts] = await Promise.all([
    getMemberDetail(c.env.DB, id),
    listActivities(c.env.DB, { memberIds: [id], source: null, type: null, since: null, until: null, before: null, limit: 200 }),
    memberLinks(c.env.DB, id),
    memberDeals(c.env.DB, id),
    mergesOf(c.env.DB, id),
    listSuggestions(c.env.DB, { limit: 20, member: id }),
    listConflicts(c.env.DB, { member: id, limit: 50 }),
  ]);
  const { done, error: failed } = await readNotice(c);
  const timeline = [...activities].sort((a, b) => b.occurred_at.localeCompare(a.occurred_at));
  return render(c, { title: member.display_name ?? id, csrf }, (
    <>
      <p class="small"><a href="/">← Dashboard</a></p>
      <h1>{member.display_name ?? id}</h1>
      <p>
        <code>{id}</code> {member.is_staff ? <span class="badge warn">staff (excluded)</span> : null} {member.is_bot ? <span class="badge warn">bot (excluded)</span> : null}
        {' '}· {detail.activity.total} activities, first {day(detail.activity.first_at)}, last {day(detail.activity.last_at)}
      </p>
      {done ? <p class="ok" role="status">{done}</p> : null}
      {failed ? <p class="err" role="alert">{failed}</p> : null}
      {member.merged_into ? <p class="note">This member was merged into <a href={`/members/${encodeURIComponent(member.merged_into)}`}>{member.merged_into}</a>.</p> : null}

      <h2>Identities</h2>
      <div class="table-wrap">
        <table id="identities">
          <caption>Identities across platforms</caption>
          <thead><tr><th scope="col">Platform</th><th scope="col">Handle / id</th><th scope="col">Email</th><th scope="col">Name</th><th scope="col">Company</th><th scope="col">First seen</th></tr></thead>
          <tbody>
            {detail.identities.map((i) => (
              <tr>
                <td>{i.source}</td>
                <td>{i.handle ?? i.external_id}{i.is_bot ? <span class="badge warn">bot</span> : null}</td>
                <td>{i.email ?? '–'} {i.email ? (i.email_verified ? <span class="badge yes">verified</span> : <span class="badge no">unverified</span>) : null}</td>
                <td>{i.name ?? '–'}</td>
                <td>{i.company ?? '–'}</td>
                <td>{day(i.first_seen_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>CRM links</h2>
      <div class="table-wrap">
        <table id="links">
          <caption>Links to CRM contacts and companies, with method, confidence and evidence</caption>
          <thead><tr><th scope="col">CRM record</th><th scope="col">Method</th><th scope="col" class="num">Confidence</th><th scope="col">Status</th><th scope="col">Evidence</th></tr></thead>
          <tbody>
            {links.length === 0 ? <tr><td colspan={5} class="muted">Not linked to any CRM record.</td></tr> : links.map((l) => (
              <tr>
                <td>{l.target_name || l.crm_id} <span class="small muted">({l.crm} {l.target_kind}{l.title ? `, ${l.title}` : ''})</span><div class="small muted">{l.target_detail ?? ''}</div></td>
                <td>{l.method}</td>
                <td class="num">{pct(l.confidence, 0)}</td>
                <td><span class={`badge ${l.status === 'confirmed' || l.status === 'auto' ? 'yes' : l.status === 'rejected' ? 'bad' : 'warn'}`}>{l.status}</span>{l.decided_by ? <div class="small muted">by {l.decided_by} {day(l.decided_at)}</div> : null}</td>
                <td><ul class="ev">{(JSON.parse(l.evidence) as string[]).map((e) => <li>{e}</li>)}</ul></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>Deals this member touched</h2>
      <div class="table-wrap">
        <table>
          <caption>Deals whose counted touches include this member</caption>
          <thead><tr><th scope="col">Deal</th><th scope="col" class="num">Amount</th><th scope="col">Status</th><th scope="col">Flags</th></tr></thead>
          <tbody>
            {deals.length === 0 ? <tr><td colspan={4} class="muted">None.</td></tr> : deals.map((d) => (
              <tr>
                <td><a href={`/deals/${d.crm}/${encodeURIComponent(d.deal_id)}`}>{d.name ?? d.deal_id}</a></td>
                <td class="num">{money(d.amount, d.currency)}</td>
                <td>{d.is_closed ? (d.is_won ? 'won' : 'lost') : 'open'}</td>
                <td>{d.influenced ? 'influenced ' : ''}{d.sourced ? 'sourced' : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>Merges</h2>
      <div class="table-wrap">
        <table id="merges">
          <caption>Merges into or out of this member (reversible)</caption>
          <thead><tr><th scope="col">Merge</th><th scope="col">From → into</th><th scope="col" class="num">Activities moved</th><th scope="col">Decided</th><th scope="col">State</th></tr></thead>
          <tbody>
            {merges.length === 0 ? <tr><td colspan={5} class="muted">None.</td></tr> : merges.map((m) => (
              <tr>
                <td><code>{m.id}</code></td>
                <td><a href={`/members/${encodeURIComponent(m.from_member)}`}>{m.from_member}</a> → <a href={`/members/${encodeURIComponent(m.into_member)}`}>{m.into_member}</a></td>
                <td class="num">{m.activity_count}</td>
                <td>{m.decided_by} {day(m.decided_at)}</td>
                <td>
                  {m.undone_at ? `undone ${day(m.undone_at)}` : canEdit && m.into_member === id ? (
                    <form method="post" action={`/members/${encodeURIComponent(id)}/unmerge`}>
                      <input type="hidden" name="_csrf" value={csrf} />
                      <input type="hidden" name="merge_id" value={m.id} />
                      <button type="submit" class="secondary">Unmerge</button>
                    </form>
                  ) : 'active'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {canEdit && !member.merged_into ? (
        <form method="post" action={`/members/${encodeURIComponent(id)}/merge`} class="filters" aria-label="Merge a member into this one">
          <input type="hidden" name="_csrf" value={csrf} />
          <label>Member id to merge into this one<input name="member_id" required pattern="mem_[A-Za-z0-9_]+" placeholder="mem_…" /></label>
          <button type="submit">Merge into this member</button>
          <span class="small muted">Identities and activities move here; Unmerge restores exactly what moved.</span>
        </form>
      ) : null}

      <h2>Possible duplicates</h2>
      <div class="table-wrap">
        <table id="duplicates">
          <caption>Other members that may be the same person as this one, best match first</caption>
          <thead><tr><th scope="col">Other member</th><th scope="col" class="num">Score</th><th scope="col">Reasons</th><th scope="col">Cannot merge because</th>{canEdit ? <th scope="col">Decide</th> : null}</tr></thead>
          <tbody>
            {suggestions.length === 0 ? <tr><td colspan={canEdit ? 5 : 4} class="muted">No other member looks like the same person.</td></tr> : suggestions.map((s) => {
              const other = s.member_a.id === id ? s.member_b : s.member_a;
              return (
                <tr data-pair={`${s.member_a.id}:${s.member_b.id}`}>
                  <td><MemberLink member={other} /><div class="small muted"><code>{other.id}</code></div></td>
                  <td class="num">{pct(s.score, 0)}</td>
                  <td><ul class="ev">{s.reasons.map((r) => <li>{r}</li>)}</ul></td>
                  <td>{s.blocked ? <ul class="ev">{s.blocked.map((r) => <li>{r}</li>)}</ul> : '–'}</td>
                  {canEdit ? <td>{member.merged_into ? '–' : <DuplicateActions suggestion={s} csrf={csrf} back="member" self={id} />}</td> : null}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>

      <h2>Identity conflicts</h2>
      <ConflictsTable conflicts={conflicts} caption="What identity resolution could not settle for this member on its own" empty="None: identity resolution settled everything about this member." />

      <h2>Activity timeline</h2>
      <div class="table-wrap">
        <table id="activity">
          <caption>Latest {timeline.length} activities{detail.activity.total > timeline.length ? ` of ${detail.activity.total}` : ''}</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Source</th><th scope="col">Type</th><th scope="col">Title</th></tr></thead>
          <tbody>
            {timeline.map((a) => (
              <tr>
                <td>{when(a.occurred_at)}</td>
                <td>{a.source}</td>
                <td>{a.type}</td>
                <td>{a.url && /^https?:\/\//.test(a.url) ? <a href={a.url} rel="noopener noreferrer">{a.title ?? a.url}</a> : (a.title ?? '–')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  ));
}

/** Merges `member_id` into this member; `back=review` (the review page's Merge button) answers on the review page. */
export async function memberMerge(c: Context<AppEnv>) {
  const id = c.req.param('id') ?? '';
  const form = await c.req.parseBody();
  const from = typeof form.member_id === 'string' ? form.member_id.trim() : '';
  const toReview = form.back === 'review';
  const p = c.get('principal')!;
  const r = await mergeChecked(c.env.DB, c.get('config'), id, from, `${p.kind}:${p.id}`);
  const done = r.ok && toReview ? r.message.replace('into this member', `into ${id}`) : r.ok ? r.message : '';
  const q = r.ok ? await noticeQuery(c, 'done', done) : await noticeQuery(c, 'error', [r.message, ...r.reasons].join(' '));
  return c.redirect(toReview ? `/review?${q}` : `/members/${encodeURIComponent(id)}?${q}`, 303);
}

/** "Not the same person" (field `member`): recorded through recordNotSame; answers on the review page unless `back=member`. */
export async function memberNotSame(c: Context<AppEnv>) {
  const id = c.req.param('id') ?? '';
  const form = await c.req.parseBody();
  const other = typeof form.member === 'string' ? form.member.trim() : '';
  const back = form.back === 'member' ? `/members/${encodeURIComponent(id)}` : '/review';
  const answer = async (kind: 'done' | 'error', message: string) => c.redirect(`${back}?${await noticeQuery(c, kind, message)}`, 303);
  if (!other) return answer('error', 'Say which member is not the same person.');
  if (other === id) return answer('error', 'A member is always the same person as itself.');
  const [a, b] = await Promise.all([getMember(c.env.DB, id), getMember(c.env.DB, other)]);
  if (!a || !b) return answer('error', `No member ${!a ? id : other}.`);
  const p = c.get('principal')!;
  const recorded = await recordNotSame(c.env.DB, id, other, `${p.kind}:${p.id}`);
  if (recorded === 'unknown') return answer('error', `No member ${id} or ${other}.`);
  if (recorded === 'merged') return answer('error', `${id} or ${other} was merged into another member: decide on that member.`);
  const name = (m: { id: string; display_name: string | null }) => (m.display_name ? `${m.display_name} (${m.id})` : m.id);
  return answer('done', `Recorded: ${name(a)} and ${name(b)} are not the same person. They will not be merged automatically or suggested again.`);
}

export async function memberUnmerge(c: Context<AppEnv>) {
  const id = c.req.param('id') ?? '';
  const form = await c.req.parseBody();
  const mergeId = typeof form.merge_id === 'string' && form.merge_id ? form.merge_id : null;
  const p = c.get('principal')!;
  const r = await unmergeChecked(c.env.DB, id, mergeId, `${p.kind}:${p.id}`);
  const q = await noticeQuery(c, r.ok ? 'done' : 'error', r.message);
  return c.redirect(`/members/${encodeURIComponent(id)}?${q}`, 303);
}

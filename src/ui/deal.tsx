import type { Context } from 'hono';
import type { DealInfluence } from '../attribution/types';
import type { AppEnv } from '../http/types';
import type { Rules } from '../rules';
import { loadDealPage } from '../store/ui-pages';
import { activeConfig } from './context';
import { day, money, num, pct, render, when } from './kit';

/** Plain-language reasons for the deal's flags, from the rules definitions and the computed outputs. */
export function reasons(inf: DealInfluence, rules: Rules, createdAt: string): string[] {
  const d = rules.definitions;
  const out: string[] = [];
  const counted = `${inf.touchCount} counted community touch${inf.touchCount === 1 ? '' : 'es'} from ${inf.memberCount} member${inf.memberCount === 1 ? '' : 's'}`;
  if (inf.influenced) {
    out.push(`Influenced: ${counted} in the window (${rules.window.lookback_days} days before creation${rules.window.until_close ? ' until close' : ''}); the rules need at least ${d.influenced.min_touches} touch(es) and a score of at least ${d.influenced.min_score} (score ${num(inf.score, 0)}).`);
  } else {
    out.push(`Not influenced: ${counted}; the rules need at least ${d.influenced.min_touches} touch(es) in the window and a score of at least ${d.influenced.min_score} (score ${num(inf.score, 0)}).`);
  }
  const created = Date.parse(createdAt);
  const before = inf.evidence.filter((e) => {
    const t = Date.parse(e.occurredAt);
    return t <= created && created - t <= d.sourced.within_days * 86_400_000;
  });
  if (inf.sourced) {
    out.push(`Sourced: a deal contact was active in the community within ${d.sourced.within_days} days before the deal was created${d.sourced.before_contact_created ? ', before that contact entered the CRM' : ''} (${before.length} such touch${before.length === 1 ? '' : 'es'}).`);
  } else {
    out.push(`Not sourced: ${before.length ? `${before.length} touch(es) fall within ${d.sourced.within_days} days before creation, but ${d.sourced.before_contact_created ? 'none came before the contact entered the CRM' : 'the other conditions do not hold'}` : `no deal contact touched the community within ${d.sourced.within_days} days before creation`}.`);
  }
  if (inf.assisted) out.push(`Assisted: at least ${d.assisted.min_touches_after_creation} touch(es) after the deal was created.`);
  return out;
}

export async function dealPage(c: Context<AppEnv>, csrf: string) {
  const crm = c.req.param('crm') ?? '';
  const id = c.req.param('id') ?? '';
  if (crm !== 'hubspot' && crm !== 'salesforce') return render(c, { title: 'Not found', csrf, status: 404 }, <p>Unknown CRM “{crm}”.</p>);
  const [page, active] = await Promise.all([loadDealPage(c.env.DB, crm, id), activeConfig(c)]);
  if (!page.deal) {
    return render(c, { title: 'Deal not found', csrf, status: 404 }, (
      <><h1>Deal not found</h1><p>No {crm} deal {id} in the mirror. Has a sync run pulled it yet?</p></>
    ));
  }
  const d = page.deal;
  const inf = page.influence ? (JSON.parse(page.influence.detail) as DealInfluence) : null;
  const models = inf ? inf.models : [];
  const cur = d.currency;
  return render(c, { title: d.name ?? `Deal ${id}`, csrf }, (
    <>
      <p class="small"><a href="/">← Dashboard</a></p>
      <h1>{d.name ?? `Deal ${id}`}</h1>
      <div class="grid">
        <div class="card"><div class="small muted">Amount</div><strong>{money(d.amount, cur)}</strong></div>
        <div class="card"><div class="small muted">Stage</div><strong>{d.stage ?? '–'}</strong> {d.is_closed ? (d.is_won ? <span class="badge yes">won</span> : <span class="badge no">lost</span>) : <span class="badge">open</span>}</div>
        <div class="card"><div class="small muted">Company</div><strong>{d.company_name ?? '–'}</strong><div class="small muted">{[d.industry, d.employees !== null ? `${d.employees} employees` : null, d.country].filter(Boolean).join(' · ')}</div></div>
        <div class="card"><div class="small muted">Created → closed</div><strong>{day(d.created_at)} → {day(d.close_date)}</strong><div class="small muted">{crm} · {id} · pipeline {d.pipeline ?? '–'}</div></div>
      </div>

      <h2>Community influence</h2>
      {inf ? (
        <>
          <p>
            <span class={`badge ${inf.influenced ? 'yes' : 'no'}`} id="flag-influenced">{inf.influenced ? 'Influenced' : 'Not influenced'}</span>{' '}
            <span class={`badge ${inf.sourced ? 'yes' : 'no'}`} id="flag-sourced">{inf.sourced ? 'Sourced' : 'Not sourced'}</span>{' '}
            {inf.assisted ? <span class="badge yes">Assisted</span> : null}{' '}
            Score <strong>{num(inf.score, 0)}</strong>/100 · top channel {inf.topChannel ?? '–'} · attributed ({inf.primaryModel}) <strong>{money(inf.attributedAmount[inf.primaryModel] ?? null, cur)}</strong>
          </p>
          <ul>{reasons(inf, active.rules, d.created_at).map((r) => <li>{r}</li>)}</ul>
          <p class="small muted">Rules version <code>{inf.rulesVersion.slice(0, 16)}</code>{inf.rulesVersion === active.rulesVersion ? ' (active)' : ` (active is ${active.rulesVersion.slice(0, 16)}; recomputed at the next sync)`} · computed {when(page.influence!.computed_at)}</p>
          <div class="table-wrap">
            <table>
              <caption>Attributed amount per model</caption>
              <thead><tr><th scope="col">Model</th><th scope="col" class="num">Attributed</th><th scope="col">Credit by channel</th></tr></thead>
              <tbody>
                {models.map((m) => (
                  <tr>
                    <td>{m}{m === inf.primaryModel ? ' (primary, written to the CRM)' : ''}</td>
                    <td class="num">{money(inf.attributedAmount[m] ?? null, cur)}</td>
                    <td>{Object.entries(inf.creditByChannel[m] ?? {}).sort((a, b) => b[1] - a[1]).map(([ch, v]) => `${ch} ${pct(v, 0)}`).join(', ') || '–'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : <p class="note">Not computed yet: the next sync run computes this deal’s influence.</p>}

      <h2>Contacts and linked members</h2>
      <div class="table-wrap">
        <table>
          <caption>Deal contacts</caption>
          <thead><tr><th scope="col">Contact</th><th scope="col">Title</th><th scope="col">Role</th><th scope="col">Entered CRM</th><th scope="col">Community stage</th><th scope="col">Linked members</th></tr></thead>
          <tbody>
            {page.contacts.length === 0 ? <tr><td colspan={6} class="muted">No contacts on this deal.</td></tr> : page.contacts.map((ct) => {
              const members = JSON.parse(ct.members) as { member_id: string; method: string; status: string; confidence: number; name: string | null }[];
              return (
                <tr>
                  <td>{[ct.first_name, ct.last_name].filter(Boolean).join(' ') || ct.contact_id}{ct.is_primary ? <span class="badge">primary</span> : null}<div class="small muted">{ct.email ?? ''}</div></td>
                  <td>{ct.title ?? '–'}</td>
                  <td>{ct.role ?? '–'}</td>
                  <td>{day(ct.created_at)}</td>
                  <td>{ct.stage ?? '–'}</td>
                  <td>{members.length ? members.map((m) => <div><a href={`/members/${encodeURIComponent(m.member_id)}`}>{m.name ?? m.member_id}</a> <span class="small muted">{m.method}, {m.status}, {pct(m.confidence, 0)}</span></div>) : <span class="muted">none</span>}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>

      <h2>Timeline of counted touches</h2>
      {inf && inf.evidence.length ? (
        <div class="table-wrap">
          <table id="touches">
            <caption>
              {inf.evidence.length} touches, with each touch’s share of the deal per model
              {inf.evidenceOmitted ? `. ${inf.evidenceOmitted} more touches with the least credit are counted in every figure and in the dashboard’s breakdowns but not listed here (the deal’s evidence is too large to store whole).` : ''}
            </caption>
            <thead><tr><th scope="col">When</th><th scope="col">Member</th><th scope="col">Activity</th><th scope="col">Milestones</th>{models.map((m) => <th scope="col" class="num">{m}</th>)}</tr></thead>
            <tbody>
              {[...inf.evidence].sort((a, b) => a.occurredAt.localeCompare(b.occurredAt)).map((e) => (
                <tr>
                  <td>{when(e.occurredAt)}</td>
                  <td><a href={`/members/${encodeURIComponent(e.memberId)}`}>{e.memberId}</a></td>
                  <td>{e.channel} · {e.type}{e.title ? <div class="small">{e.url && /^https?:\/\//.test(e.url) ? <a href={e.url} rel="noopener noreferrer">{e.title}</a> : e.title}</div> : null}</td>
                  <td class="small">{e.milestones.join(', ') || '–'}</td>
                  {models.map((m) => <td class="num">{pct(e.credit[m] ?? 0, 1)}</td>)}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : <p class="muted">No counted touches.</p>}
      {inf?.nextTouchAt ? (
        <p class="small muted" id="next-touch">
          A touch dated {when(inf.nextTouchAt)} UTC, after these figures were computed, is not counted yet; the deal is computed again once its time comes.
        </p>
      ) : null}
    </>
  ));
}

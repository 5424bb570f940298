import type { Context } from 'hono';
import type { AppEnv } from '../http/types';
import { personaMatcher } from '../segments';
import { loadHealth } from '../store/ui-pages';
import { exclusiveTo, readFilters, segmentsConfig } from './context';
import { arrivalKind, engagement, type EngagementRow } from './health-data';
import { BarChart, csvResponse, day, LineChart, num, pct, qs, render, Table, toCsv, type TableDef } from './kit';

type AnyTable = TableDef<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const DECISION_ROLES = /decision|economic|buyer|champion|sponsor/i;

async function build(c: Context<AppEnv>) {
  const f = readFilters(c);
  const h = await loadHealth(c.env.DB, { from: f.from ?? null, to: exclusiveTo(f.to) });
  const config = segmentsConfig();
  const months = [...new Set([...h.growth.map((g) => g.month), ...h.active.map((a) => a.month)])].sort();
  const newBy = new Map(h.growth.map((g) => [g.month, g.n]));
  const activeBy = new Map(h.active.map((a) => [a.month, a]));
  let cum = 0;
  const growth = months.map((m) => {
    cum += newBy.get(m) ?? 0;
    return { month: m, new_members: newBy.get(m) ?? 0, members_to_date: cum, active_members: activeBy.get(m)?.n ?? 0, activities: activeBy.get(m)?.activities ?? 0 };
  });
  const arrivalMap = new Map<string, { kind: string; source: string; members: number }>();
  for (const r of h.firstSource) {
    const kind = arrivalKind(r.source, r.type);
    const key = `${kind}|${r.source}`;
    const x = arrivalMap.get(key) ?? { kind, source: r.source, members: 0 };
    x.members += r.n;
    arrivalMap.set(key, x);
  }
  const arrival = [...arrivalMap.values()].sort((a, b) => a.kind.localeCompare(b.kind) || b.members - a.members);
  const arrivalTotal = arrival.reduce((s, r) => s + r.members, 0);
  const byKind = ['organic', 'cultivated', 'other'].map((k) => ({ kind: k, members: arrival.filter((r) => r.kind === k).reduce((s, r) => s + r.members, 0) }));
  const end = exclusiveTo(f.to) ? new Date(`${exclusiveTo(f.to)}T00:00:00Z`) : new Date();
  const activeSince = new Date(end.getTime() - 90 * 86_400_000).toISOString();
  const eng = engagement(h.engaged, config, activeSince);
  const persona = personaMatcher(config);
  const later = h.later
    .map((r) => {
      const p = persona(r.title);
      const decision = r.deals > 0 && ((r.deal_roles !== null && DECISION_ROLES.test(r.deal_roles)) || !!p?.decision_maker);
      return { ...r, decision_maker: decision, why: [r.at_customer ? 'contact at a customer' : null, decision ? 'decision-maker on a deal' : null].filter(Boolean).join(' and ') };
    })
    .filter((r) => r.at_customer || r.decision_maker);

  const engCols = (label: string) => [
    { key: 'label', label },
    { key: 'members', label: 'Linked members', num: true },
    { key: 'active', label: 'Active (last 90 days)', num: true },
    { key: 'activities', label: 'Activities', num: true },
    { key: 'per_member', label: 'Activities per member', num: true, value: (r: EngagementRow) => r.per_member.toFixed(2), cell: (r: EngagementRow) => num(r.per_member, 1) },
  ];
  const tables: Record<string, AnyTable> = {
    growth: {
      id: 'growth', caption: 'Members by month (new = first activity that month; people only, bots and staff excluded)', rows: growth,
      columns: [
        { key: 'month', label: 'Month' }, { key: 'new_members', label: 'New members', num: true },
        { key: 'members_to_date', label: 'Members to date (in range)', num: true }, { key: 'active_members', label: 'Active members', num: true },
        { key: 'activities', label: 'Activities', num: true },
      ],
    },
    arrival: {
      id: 'arrival', caption: 'How members first arrive (source of their first activity)', rows: arrival,
      columns: [
        { key: 'kind', label: 'Kind' }, { key: 'source', label: 'Source' }, { key: 'members', label: 'Members', num: true },
        { key: 'share', label: 'Share', num: true, value: (r: { members: number }) => (arrivalTotal ? (r.members / arrivalTotal).toFixed(4) : null), cell: (r: { members: number }) => pct(arrivalTotal ? r.members / arrivalTotal : null) },
      ],
    },
    segments: { id: 'segments', caption: 'Engagement by ICP segment (from mappings/segments.yaml)', rows: eng.segments, columns: engCols('Segment') },
    personas: { id: 'personas', caption: 'Engagement by persona (contact job title)', rows: eng.personas, columns: engCols('Persona') },
    later: {
      id: 'later', caption: `Members active in the community before they became CRM contacts, now at a customer or a decision-maker on a deal (${later.length})`,
      rows: later.slice(0, 200),
      columns: [
        { key: 'display_name', label: 'Member', value: (r: { display_name: string | null; member_id: string }) => r.display_name ?? r.member_id, cell: (r: { display_name: string | null; member_id: string }) => <a href={`/members/${encodeURIComponent(r.member_id)}`}>{r.display_name ?? r.member_id}</a> },
        { key: 'first_at', label: 'First community activity', value: (r: { first_at: string }) => day(r.first_at) },
        { key: 'contact_created_at', label: 'Became a contact', value: (r: { contact_created_at: string }) => day(r.contact_created_at) },
        { key: 'contact_name', label: 'Contact' }, { key: 'title', label: 'Title' }, { key: 'company_name', label: 'Company' },
        { key: 'why', label: 'Why listed' },
      ],
    },
  };
  return { f, growth, byKind, arrivalTotal, tables };
}

export async function healthCsv(c: Context<AppEnv>, table: string) {
  const { tables } = await build(c);
  const t = tables[table];
  if (!t) return c.text(`no table "${table}"; one of: ${Object.keys(tables).join(', ')}`, 404);
  return csvResponse(c, `health-${table}.csv`, toCsv(t));
}

export async function healthPage(c: Context<AppEnv>, csrf: string) {
  if (c.req.query('format') === 'csv') return healthCsv(c, c.req.query('table') ?? 'growth');
  const { f, growth, byKind, arrivalTotal, tables } = await build(c);
  const csv = (id: string) => `/export/health/${id}.csv${qs({ from: f.from, to: f.to })}`;
  return render(c, { title: 'Community health', nav: '/health', csrf }, (
    <>
      <h1>Community health</h1>
      <form class="filters" method="get" action="/health" aria-label="Filters">
        <label>From<input type="date" name="from" value={f.from ?? ''} /></label>
        <label>To<input type="date" name="to" value={f.to ?? ''} /></label>
        <button type="submit">Apply</button>
        <a href="/health" class="small">Reset</a>
      </form>
      <h2>Growth and activity</h2>
      <LineChart title="New and active members by month" labels={growth.map((g) => g.month)}
        series={[{ name: 'Active members', values: growth.map((g) => g.active_members) }, { name: 'New members', values: growth.map((g) => g.new_members) }]} />
      <Table t={tables.growth!} csvHref={csv('growth')} />
      <h2>How members arrive</h2>
      <p class="small muted">
        <strong>Organic</strong>: the first activity was on GitHub, the forum (Discourse), Slack, Discord or Stack Overflow — places people find on their own.
        <strong> Cultivated</strong>: the first activity came from something the team runs or publishes — events, webinars, docs and video campaigns.
      </p>
      <div class="grid">
        {byKind.map((k) => <div class="card kpi"><div class="l">{k.kind}</div><div class="v">{pct(arrivalTotal ? k.members / arrivalTotal : null, 0)}</div><div class="small muted">{k.members} members</div></div>)}
      </div>
      <Table t={tables.arrival!} csvHref={csv('arrival')} />
      <h2>Engagement among ICP segments and personas</h2>
      <p class="small muted">Members linked to a CRM contact, classified by their contact’s company (segment) and job title (persona) as defined in mappings/segments.yaml.</p>
      <BarChart title="Linked members and active members by segment" labels={(tables.segments!.rows as EngagementRow[]).map((r) => r.group)}
        series={[{ name: 'Linked members', values: (tables.segments!.rows as EngagementRow[]).map((r) => r.members) }, { name: 'Active (last 90 days)', values: (tables.segments!.rows as EngagementRow[]).map((r) => r.active) }]} format={(v) => num(v)} />
      <Table t={tables.segments!} csvHref={csv('segments')} />
      <Table t={tables.personas!} csvHref={csv('personas')} />
      <h2>Community members who became customers or decision-makers</h2>
      <Table t={tables.later!} csvHref={csv('later')} />
    </>
  ));
}

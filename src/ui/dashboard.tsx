import type { Context } from 'hono';
import type { AppEnv } from '../http/types';
import { loadFunnel, loadReport, reportCurrencies, topCompanies } from '../store/reports';
import { activeConfig, exclusiveTo, modelsOf, readFilters, segmentsConfig, type Filters } from './context';
import { summarize, type ChannelRow, type Comparison, type MonthRow } from './dashboard-data';
import { BarChart, ci, csvResponse, money, num, pct, qs, render, Table, toCsv, type TableDef } from './kit';

type AnyTable = TableDef<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The currency filter's value for deals without a currency ('' would read as "no filter"). */
const NO_CURRENCY = '-';

async function build(c: Context<AppEnv>) {
  const f = readFilters(c);
  const [active, currencies] = await Promise.all([activeConfig(c), reportCurrencies(c.env.DB)]);
  const models = modelsOf(active);
  const model = f.model && models.includes(f.model) ? f.model : models[0]!;
  // Money is never added across currencies: the report shows one currency at a time (the most common by default).
  // Deals without a currency (a single-currency Salesforce org) are a currency of their own, named NO_CURRENCY in links.
  const wanted = f.currency === NO_CURRENCY ? '' : f.currency;
  const currency = wanted !== undefined && currencies.includes(wanted) ? wanted : (currencies[0] ?? '');
  const [report, funnel, engaged] = await Promise.all([
    loadReport(c.env.DB, { from: f.from ?? null, to: exclusiveTo(f.to), pipeline: f.pipeline ?? null, currency: currencies.length ? currency : null, model }),
    loadFunnel(c.env.DB, active.rules.stages),
    topCompanies(c.env.DB),
  ]);
  const s = summarize(report.deals, segmentsConfig());
  const stages = active.rules.stages as string[];
  const stageRows = [...funnel.stages].sort((a, b) => stageIndex(stages, a.stage) - stageIndex(stages, b.stage));
  const m = (v: number) => money(v);

  const tables: Record<string, AnyTable> = {
    monthly: {
      id: 'monthly', caption: `Pipeline (open deals, by creation month) and revenue (won deals, by close month) — ${currency || 'no currency'}`,
      rows: s.months,
      columns: [
        { key: 'month', label: 'Month' },
        { key: 'influenced_deals', label: 'Influenced deals', num: true },
        { key: 'influenced_pipeline', label: 'Influenced pipeline', num: true, cell: (r: MonthRow) => m(r.influenced_pipeline) },
        { key: 'sourced_pipeline', label: 'Sourced pipeline', num: true, cell: (r: MonthRow) => m(r.sourced_pipeline) },
        { key: 'attributed_pipeline', label: `Attributed pipeline (${model})`, num: true, cell: (r: MonthRow) => m(r.attributed_pipeline) },
        { key: 'influenced_revenue', label: 'Influenced won revenue', num: true, cell: (r: MonthRow) => m(r.influenced_revenue) },
        { key: 'sourced_revenue', label: 'Sourced won revenue', num: true, cell: (r: MonthRow) => m(r.sourced_revenue) },
        { key: 'attributed_revenue', label: `Attributed revenue (${model})`, num: true, cell: (r: MonthRow) => m(r.attributed_revenue) },
      ],
    },
    channels: {
      id: 'channels', caption: `Credit by channel (${model})`, rows: s.channels,
      columns: [
        { key: 'channel', label: 'Channel' },
        { key: 'deals', label: 'Influenced deals', num: true },
        { key: 'pipeline', label: 'Attributed pipeline', num: true, cell: (r: ChannelRow) => m(r.pipeline) },
        { key: 'revenue', label: 'Attributed revenue', num: true, cell: (r: ChannelRow) => m(r.revenue) },
      ],
    },
    activity_types: {
      id: 'activity_types', caption: `Credit by activity type (${model})`, rows: report.byType,
      columns: [
        { key: 'activity_type', label: 'Activity type' },
        { key: 'touches', label: 'Touches', num: true },
        { key: 'deals', label: 'Deals', num: true },
        { key: 'pipeline', label: 'Attributed pipeline', num: true, cell: (r: { pipeline: number }) => m(r.pipeline) },
        { key: 'revenue', label: 'Attributed revenue', num: true, cell: (r: { revenue: number }) => m(r.revenue) },
      ],
    },
    events: {
      id: 'events', caption: `Credit by event (${model})`, rows: report.byEvent, empty: 'No event touches on influenced deals in this range.',
      columns: [
        { key: 'event', label: 'Event' },
        { key: 'touches', label: 'Touches', num: true },
        { key: 'deals', label: 'Deals', num: true },
        { key: 'pipeline', label: 'Attributed pipeline', num: true, cell: (r: { pipeline: number }) => m(r.pipeline) },
        { key: 'revenue', label: 'Attributed revenue', num: true, cell: (r: { revenue: number }) => m(r.revenue) },
      ],
    },
    comparison: {
      id: 'comparison', caption: 'Influenced vs non-influenced deals (95% intervals)', rows: s.comparisons,
      columns: [
        { key: 'metric', label: 'Metric' },
        { key: 'influenced', label: 'Influenced', value: (r: Comparison) => r.influenced.estimate, cell: (r: Comparison) => <>{ci(r.influenced, fmtFor(r))} <span class="muted small">n={r.influenced.n}</span></> },
        { key: 'other', label: 'Not influenced', value: (r: Comparison) => r.other.estimate, cell: (r: Comparison) => <>{ci(r.other, fmtFor(r))} <span class="muted small">n={r.other.n}</span></> },
        { key: 'difference', label: 'Raw difference', value: (r: Comparison) => r.difference.estimate, cell: (r: Comparison) => ci(r.difference, fmtFor(r)) },
        { key: 'matched', label: 'Matched difference (segment, size band, quarter)', value: (r: Comparison) => r.matched.difference.estimate, cell: (r: Comparison) => (
          <>
            {r.matched.verdict === 'too_few' ? <span class="badge warn">too few to tell</span> : ci(r.matched.difference, fmtFor(r))}
            <div class="small muted">{r.matched.explanation}</div>
          </>
        ) },
        { key: 'verdict', label: 'Verdict', value: (r: Comparison) => r.matched.verdict, cell: (r: Comparison) => <Verdict v={r.matched.verdict} /> },
      ],
    },
    funnel: {
      id: 'funnel', caption: 'Community funnel: members → CRM contacts → on an opportunity → customers',
      rows: [
        { step: 'Community members (people, not bots or staff)', members: funnel.totals.members },
        { step: 'Linked to a CRM contact', members: funnel.totals.contacts },
        { step: 'Contact on an opportunity', members: funnel.totals.opportunities },
        { step: 'Contact on a won deal (customer)', members: funnel.totals.customers },
      ],
      columns: [
        { key: 'step', label: 'Step' },
        { key: 'members', label: 'Members', num: true },
        { key: 'share', label: 'Of all members', num: true, value: (r: { members: number }) => (funnel.totals.members ? (r.members / funnel.totals.members).toFixed(4) : null), cell: (r: { members: number }) => pct(funnel.totals.members ? r.members / funnel.totals.members : null) },
      ],
    },
    stages: {
      id: 'stages', caption: 'Linked members by community stage (deepest stage of their contact)', rows: stageRows,
      columns: [
        { key: 'stage', label: 'Community stage' },
        { key: 'members', label: 'Members (contacts)', num: true },
        { key: 'opportunities', label: 'On an opportunity', num: true },
        { key: 'customers', label: 'Customers', num: true },
        { key: 'conv', label: 'Customer rate', num: true, value: (r: { members: number; customers: number }) => (r.members ? (r.customers / r.members).toFixed(4) : null), cell: (r: { members: number; customers: number }) => pct(r.members ? r.customers / r.members : null) },
      ],
    },
    companies: {
      id: 'companies', caption: `Top companies by attributed amount (${model})`, rows: s.companies,
      columns: [
        { key: 'name', label: 'Company', value: (r: { name: string | null; company_id: string }) => r.name ?? r.company_id },
        { key: 'deals', label: 'Influenced deals', num: true },
        { key: 'pipeline', label: 'Influenced pipeline', num: true, cell: (r: { pipeline: number }) => m(r.pipeline) },
        { key: 'revenue', label: 'Influenced revenue', num: true, cell: (r: { revenue: number }) => m(r.revenue) },
        { key: 'attributed', label: 'Attributed', num: true, cell: (r: { attributed: number }) => m(r.attributed) },
      ],
    },
    engaged_companies: {
      id: 'engaged_companies', caption: 'Most engaged companies (community members and activity)', rows: engaged,
      columns: [
        { key: 'name', label: 'Company', value: (r: { name: string | null; company_id: string }) => r.name ?? r.company_id },
        { key: 'crm', label: 'CRM' },
        { key: 'engaged_members', label: 'Engaged members', num: true },
        { key: 'activity_count', label: 'Activities', num: true },
        { key: 'top_channel', label: 'Top channel' },
        { key: 'last_activity_at', label: 'Last activity', value: (r: { last_activity_at: string | null }) => r.last_activity_at?.slice(0, 10) },
      ],
    },
    members: {
      id: 'members', caption: `Top members by attributed amount (${model})`, rows: report.byMember,
      columns: [
        { key: 'display_name', label: 'Member', value: (r: { display_name: string | null; member_id: string }) => r.display_name ?? r.member_id, cell: (r: { display_name: string | null; member_id: string }) => <a href={`/members/${encodeURIComponent(r.member_id)}`}>{r.display_name ?? r.member_id}</a> },
        { key: 'deals', label: 'Deals', num: true },
        { key: 'touches', label: 'Touches', num: true },
        { key: 'pipeline', label: 'Attributed pipeline', num: true, cell: (r: { pipeline: number }) => m(r.pipeline) },
        { key: 'revenue', label: 'Attributed revenue', num: true, cell: (r: { revenue: number }) => m(r.revenue) },
      ],
    },
  };
  return { f, model, models, currency, currencies, pipelines: report.pipelines, s, tables };
}

function stageIndex(stages: string[], s: string) {
  const i = stages.indexOf(s);
  return i < 0 ? 99 : i;
}

function fmtFor(r: Comparison) {
  return (v: number | null) => (v === null ? '–' : r.unit === 'rate' ? pct(v) : r.unit === 'money' ? money(v) : `${num(v, 0)} d`);
}

function Verdict(props: { v: string }) {
  const map: Record<string, [string, string]> = {
    too_few: ['warn', 'Too few deals to tell'],
    higher: ['yes', 'Higher for influenced deals'],
    lower: ['bad', 'Lower for influenced deals'],
    no_clear_difference: ['no', 'No clear difference'],
  };
  const [cls, text] = map[props.v] ?? ['no', props.v];
  return <span class={`badge ${cls}`}>{text}</span>;
}

export async function dashboardCsv(c: Context<AppEnv>, table: string) {
  const { tables } = await build(c);
  const t = tables[table];
  if (!t) return c.text(`no table "${table}"; one of: ${Object.keys(tables).join(', ')}`, 404);
  return csvResponse(c, `dashboard-${table}.csv`, toCsv(t));
}

export async function dashboardPage(c: Context<AppEnv>, csrf: string) {
  if (c.req.query('format') === 'csv') return dashboardCsv(c, c.req.query('table') ?? 'monthly');
  const b = await build(c);
  const { f, s, tables } = b;
  const filterQs = (extra: Record<string, string>) => qs({ from: f.from, to: f.to, pipeline: f.pipeline, currency: b.currency || NO_CURRENCY, model: b.model, ...extra });
  const csv = (id: string) => `/export/dashboard/${id}.csv${filterQs({})}`;
  const k = s.kpi;
  const cur = b.currency || null;
  return render(c, { title: 'Dashboard', nav: '/', csrf }, (
    <>
      <h1>Community influence on pipeline and revenue</h1>
      <Filters f={f} model={b.model} models={b.models} currency={b.currency} currencies={b.currencies} pipelines={b.pipelines} />
      <p class="small muted">
        A deal counts in the range by its close date when closed, else by its creation date. Pipeline = open deals; revenue = won deals.
        “Influenced”/“sourced” follow the active rules; “attributed” is the deal amount × the community’s share under the selected model.
      </p>
      <div class="grid" id="kpis">
        <Kpi label="Influenced pipeline" value={money(k.influencedPipeline, cur)} sub={`of ${money(k.totalPipeline, cur)} open`} id="kpi-influenced-pipeline" />
        <Kpi label="Sourced pipeline" value={money(k.sourcedPipeline, cur)} sub={`${k.sourcedDeals} sourced deals`} id="kpi-sourced-pipeline" />
        <Kpi label={`Attributed pipeline (${b.model})`} value={money(k.attributedPipeline, cur)} id="kpi-attributed-pipeline" />
        <Kpi label="Influenced won revenue" value={money(k.influencedRevenue, cur)} sub={`of ${money(k.totalRevenue, cur)} won`} id="kpi-influenced-revenue" />
        <Kpi label="Sourced won revenue" value={money(k.sourcedRevenue, cur)} id="kpi-sourced-revenue" />
        <Kpi label={`Attributed revenue (${b.model})`} value={money(k.attributedRevenue, cur)} id="kpi-attributed-revenue" />
        <Kpi label="Deals in range" value={String(k.deals)} sub={`${k.influencedDeals} influenced`} id="kpi-deals" />
      </div>

      <h2>By month</h2>
      <BarChart title="Influenced pipeline and influenced won revenue by month" labels={s.months.map((x) => x.month)}
        series={[{ name: 'Influenced pipeline', values: s.months.map((x) => x.influenced_pipeline) }, { name: 'Influenced won revenue', values: s.months.map((x) => x.influenced_revenue) }, { name: `Attributed (${b.model})`, values: s.months.map((x) => x.attributed_pipeline + x.attributed_revenue) }]} />
      <Table t={tables.monthly!} csvHref={csv('monthly')} />

      <h2>By channel, activity type and event</h2>
      <BarChart title={`Attributed pipeline and revenue by channel (${b.model})`} labels={s.channels.map((x) => x.channel)}
        series={[{ name: 'Attributed pipeline', values: s.channels.map((x) => x.pipeline) }, { name: 'Attributed revenue', values: s.channels.map((x) => x.revenue) }]} />
      <Table t={tables.channels!} csvHref={csv('channels')} />
      <Table t={tables.activity_types!} csvHref={csv('activity_types')} />
      <Table t={tables.events!} csvHref={csv('events')} />

      <h2>Do influenced deals do better?</h2>
      <p class="small muted">
        Closed deals in the range. The matched difference compares influenced and non-influenced deals only within groups of the same
        ICP segment, deal-size band and quarter of creation (weighted Mantel–Haenszel style), so a lift is not just big accounts engaging
        more. With fewer than 10 matched deals on either side the page says so instead of guessing.
      </p>
      <Table t={tables.comparison!} csvHref={csv('comparison')} />

      <h2>Community funnel</h2>
      <Table t={tables.funnel!} csvHref={csv('funnel')} />
      <Table t={tables.stages!} csvHref={csv('stages')} />

      <h2>Top companies and members</h2>
      <Table t={tables.companies!} csvHref={csv('companies')} />
      <Table t={tables.engaged_companies!} csvHref={csv('engaged_companies')} />
      <Table t={tables.members!} csvHref={csv('members')} />
    </>
  ));
}

function Kpi(props: { label: string; value: string; sub?: string; id: string }) {
  return (
    <div class="card kpi" id={props.id}>
      <div class="l">{props.label}</div>
      <div class="v" data-kpi={props.id}>{props.value}</div>
      {props.sub ? <div class="small muted">{props.sub}</div> : null}
    </div>
  );
}

function Filters(props: { f: Filters; model: string; models: string[]; currency: string; currencies: string[]; pipelines: string[] }) {
  const { f } = props;
  return (
    <form class="filters" method="get" action="/" aria-label="Filters">
      <label>From<input type="date" name="from" value={f.from ?? ''} /></label>
      <label>To<input type="date" name="to" value={f.to ?? ''} /></label>
      <label>Pipeline
        <select name="pipeline">
          <option value="">All pipelines</option>
          {props.pipelines.map((p) => <option value={p} selected={f.pipeline === p}>{p}</option>)}
        </select>
      </label>
      <label>Currency
        <select name="currency">
          {props.currencies.map((x) => <option value={x || NO_CURRENCY} selected={props.currency === x}>{x || '(none)'}</option>)}
        </select>
      </label>
      <label>Attribution model
        <select name="model">
          {props.models.map((x) => <option value={x} selected={props.model === x}>{x}</option>)}
        </select>
      </label>
      <button type="submit">Apply</button>
      <a href="/" class="small">Reset</a>
    </form>
  );
}

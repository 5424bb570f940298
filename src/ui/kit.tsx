import type { Context, MiddlewareHandler } from 'hono';
import type { Child } from 'hono/jsx';
import { roleOf, type Principal } from '../auth/scopes';
import type { AppEnv } from '../http/types';
import { CSS } from './css';
import { csvHeaders, csvRow } from '../http/csv';

// ---------------------------------------------------------------------------------------------------------------
// Security headers and timing

const started = new WeakMap<Request, number>();

/** Baseline headers on everything the UI answers (pages, CSV, redirects); pages tighten CSP with a nonce in render(). */
export const pageHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  started.set(c.req.raw, performance.now());
  await next();
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'same-origin');
  c.header('X-Frame-Options', 'DENY');
  if (!c.res.headers.get('Content-Security-Policy')) c.header('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  if (!c.res.headers.get('Cache-Control')) c.header('Cache-Control', 'no-store');
};

function nonce(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...b));
}

export function serverTiming(c: Context<AppEnv>, name = 'app') {
  const t0 = started.get(c.req.raw);
  if (t0 !== undefined) c.header('Server-Timing', `${name};dur=${(performance.now() - t0).toFixed(1)}`);
}

const NAV: { href: string; label: string; role: 'viewer' | 'editor' | 'admin' }[] = [
  { href: '/', label: 'Dashboard', role: 'viewer' },
  { href: '/health', label: 'Community health', role: 'viewer' },
  { href: '/review', label: 'Review queue', role: 'editor' },
  { href: '/rules', label: 'Rules', role: 'editor' },
  { href: '/sync', label: 'Sync', role: 'admin' },
];
const RANK = { viewer: 0, editor: 1, admin: 2 } as const;

export interface PageOptions {
  title: string;
  /** Which nav entry is current. */
  nav?: string;
  csrf?: string;
  /** A tiny inline script (runs with the page nonce). */
  script?: string;
  status?: 200 | 400 | 403 | 404 | 409 | 422 | 503;
  /** Seconds after which the page reloads itself (running sync runs). */
  refresh?: number;
}

/** Renders a full page with the nonce'd CSP, Server-Timing and the navigation for the signed-in person's role. */
export async function render(c: Context<AppEnv>, opts: PageOptions, body: Child) {
  const n = nonce();
  const principal = c.get('principal');
  const role = principal ? roleOf(principal) : null;
  const page = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {opts.refresh ? <meta http-equiv="refresh" content={String(opts.refresh)} /> : null}
        <title>{opts.title} · Community influence</title>
        <style nonce={n} dangerouslySetInnerHTML={{ __html: CSS }} />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>
          <span class="brand">Community influence</span>
          {role ? (
            <nav aria-label="Main">
              {NAV.filter((x) => RANK[x.role] <= RANK[role]).map((x) => (
                <a href={x.href} aria-current={opts.nav === x.href ? 'page' : undefined}>{x.label}</a>
              ))}
            </nav>
          ) : null}
          {principal ? <Who principal={principal} csrf={opts.csrf} /> : null}
        </header>
        <main id="main">{body}</main>
        {opts.script ? <script nonce={n} dangerouslySetInnerHTML={{ __html: opts.script }} /> : null}
      </body>
    </html>
  );
  const html = '<!doctype html>' + (await page.toString());
  c.header('Content-Security-Policy', [
    "default-src 'none'", `script-src 'nonce-${n}'`, `style-src 'nonce-${n}'`, "img-src 'self' data:", "form-action 'self'",
    "base-uri 'none'", "frame-ancestors 'none'",
  ].join('; '));
  serverTiming(c);
  return c.html(html, opts.status ?? 200);
}

function Who(props: { principal: Principal; csrf: string | undefined }) {
  return (
    <span class="who">
      <span>{props.principal.name} ({roleOf(props.principal)})</span>
      {props.csrf ? (
        <form method="post" action="/signout">
          <input type="hidden" name="_csrf" value={props.csrf} />
          <button type="submit">Sign out</button>
        </form>
      ) : null}
    </span>
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting

export function money(v: number | null | undefined, currency: string | null = null): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const abs = Math.abs(v);
  const s = abs >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : abs >= 1e4 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0);
  return currency ? `${s} ${currency}` : s;
}
export const pct = (v: number | null | undefined, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(digits)}%`);
export const num = (v: number | null | undefined, digits = 0) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
export const day = (iso: string | null | undefined) => (iso ? iso.slice(0, 10) : '–');
export const when = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').slice(0, 16) : '–');

// ---------------------------------------------------------------------------------------------------------------
// Tables: one definition rendered as HTML or CSV

export interface Column<R> {
  key: string;
  label: string;
  num?: boolean;
  /** Value in CSV (raw); defaults to row[key]. */
  value?: (r: R) => string | number | null | undefined;
  /** HTML cell; defaults to the CSV value. */
  cell?: (r: R) => Child;
}

export interface TableDef<R> {
  id: string;
  caption: string;
  columns: Column<R>[];
  rows: R[];
  empty?: string;
}

function rawValue<R>(col: Column<R>, r: R): string | number | null | undefined {
  return col.value ? col.value(r) : ((r as Record<string, unknown>)[col.key] as string | number | null | undefined);
}

export function toCsv<R>(t: TableDef<R>): string {
  // csvRow quotes per RFC 4180 and defuses cells a spreadsheet would run as a formula.
  return [t.columns.map((c) => c.label), ...t.rows.map((r) => t.columns.map((c) => rawValue(c, r)))].map(csvRow).join('');
}

export function csvResponse(c: Context<AppEnv>, filename: string, body: string) {
  serverTiming(c);
  return c.body(body, 200, csvHeaders(filename));
}

export function Table<R>(props: { t: TableDef<R>; csvHref?: string }) {
  const { t } = props;
  return (
    <div class="table-wrap" id={t.id}>
      <table>
        <caption>
          {t.caption}
          {props.csvHref ? <> · <a href={props.csvHref} class="small">CSV<span class="sr"> of {t.caption}</span></a></> : null}
        </caption>
        <thead>
          <tr>{t.columns.map((c) => <th scope="col" class={c.num ? 'num' : undefined}>{c.label}</th>)}</tr>
        </thead>
        <tbody>
          {t.rows.length === 0 ? (
            <tr><td colspan={t.columns.length} class="muted">{t.empty ?? 'No data.'}</td></tr>
          ) : (
            t.rows.map((r) => (
              <tr>{t.columns.map((c) => <td class={c.num ? 'num' : undefined}>{c.cell ? c.cell(r) : (rawValue(c, r) ?? '–')}</td>)}</tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Charts: server-rendered SVG, with a text alternative (the table next to each chart holds the same numbers).

export interface Series {
  name: string;
  values: number[];
}

export function Legend(props: { series: { name: string }[] }) {
  return (
    <div class="legend" aria-hidden="true">
      {props.series.map((s, i) => <span><i class={`k${i % 5}`} />{s.name}</span>)}
    </div>
  );
}

/** Grouped bar chart: one group per label, one bar per series. */
export function BarChart(props: { labels: string[]; series: Series[]; title: string; format?: (v: number) => string }) {
  const W = 900;
  const H = 240;
  const pad = { l: 56, r: 10, t: 10, b: 46 };
  const fmt = props.format ?? ((v: number) => money(v));
  const max = Math.max(1, ...props.series.flatMap((s) => s.values));
  const n = Math.max(1, props.labels.length);
  const gw = (W - pad.l - pad.r) / n;
  const bw = Math.max(2, (gw * 0.8) / Math.max(1, props.series.length));
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const every = Math.ceil(n / 14);
  return (
    <figure>
      <Legend series={props.series} />
      <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={props.title}>
        <line class="axis" x1={pad.l} y1={H - pad.b} x2={W - pad.r} y2={H - pad.b} />
        {[0, 0.5, 1].map((f) => (
          <>
            <line class="axis" x1={pad.l - 4} x2={pad.l} y1={y(max * f)} y2={y(max * f)} />
            <text x={pad.l - 6} y={y(max * f) + 4} text-anchor="end">{fmt(max * f)}</text>
          </>
        ))}
        {props.labels.map((label, i) => (
          <g>
            {props.series.map((s, j) => {
              const v = s.values[i] ?? 0;
              const x = pad.l + gw * i + gw * 0.1 + bw * j;
              return (
                <rect class={`s${j % 5}`} x={x.toFixed(1)} y={y(v).toFixed(1)} width={bw.toFixed(1)} height={Math.max(0, H - pad.b - y(v)).toFixed(1)}>
                  <title>{`${label} · ${s.name}: ${fmt(v)}`}</title>
                </rect>
              );
            })}
            {i % every === 0 ? <text x={(pad.l + gw * i + gw / 2).toFixed(1)} y={H - pad.b + 14} text-anchor="middle">{label.length > 12 ? label.slice(0, 11) + '…' : label}</text> : null}
          </g>
        ))}
      </svg>
      <figcaption class="sr">{props.title}</figcaption>
    </figure>
  );
}

/** Line chart over ordered labels (months). */
export function LineChart(props: { labels: string[]; series: Series[]; title: string; format?: (v: number) => string }) {
  const W = 900;
  const H = 220;
  const pad = { l: 56, r: 34, t: 10, b: 30 };
  const fmt = props.format ?? ((v: number) => num(v));
  const max = Math.max(1, ...props.series.flatMap((s) => s.values));
  const n = props.labels.length;
  const x = (i: number) => pad.l + (n <= 1 ? 0 : ((W - pad.l - pad.r) * i) / (n - 1));
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const every = Math.ceil(n / 12);
  return (
    <figure>
      <Legend series={props.series} />
      <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={props.title}>
        <line class="axis" x1={pad.l} y1={H - pad.b} x2={W - pad.r} y2={H - pad.b} />
        {[0, 0.5, 1].map((f) => <text x={pad.l - 6} y={y(max * f) + 4} text-anchor="end">{fmt(max * f)}</text>)}
        {props.series.map((s, j) => (
          <polyline class={`l${j % 2}`} points={s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}>
            <title>{s.name}</title>
          </polyline>
        ))}
        {props.labels.map((l, i) => (i % every === 0 ? <text x={x(i).toFixed(1)} y={H - pad.b + 14} text-anchor="middle">{l}</text> : null))}
      </svg>
    </figure>
  );
}

/** A 95% interval as text: "12.3% (8.1–17.0%)". */
export function ci(iv: { estimate: number | null; low: number | null; high: number | null }, f: (v: number | null) => string) {
  if (iv.estimate === null) return '–';
  if (iv.low === null || iv.high === null) return `${f(iv.estimate)} (too few for an interval)`;
  return `${f(iv.estimate)} (95% CI ${f(iv.low)} to ${f(iv.high)})`;
}

export function qs(params: Record<string, string | null | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? `?${s}` : '';
}

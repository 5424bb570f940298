import { env, exports } from 'cloudflare:workers';
import { Hono } from 'hono';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPerson, signSession } from '../../src/auth/session';
import type { Role } from '../../src/auth/scopes';
import { loadConfig } from '../../src/env';
import type { AppEnv } from '../../src/http/types';
import { createLogger } from '../../src/log';
import { ui } from '../../src/ui/app';
import { BUNDLED_MAPPINGS } from '../../src/rules/bundled';

/**
 * The pages against a seeded D1. Until the lead mounts `ui` in src/http/app.ts these requests go to an app composed the
 * same way (config → loadPerson → ui); once mounted, they go through the Worker's own fetch.
 */
const local = new Hono<AppEnv>();
local.use('*', async (c, next) => {
  c.set('config', loadConfig(c.env));
  c.set('log', createLogger({}, 'error'));
  c.set('requestId', 'test');
  await next();
});
local.use('*', loadPerson());
local.route('/', ui);

let mounted = false;
const cookies: Partial<Record<Role, string>> = {};

async function get(path: string, role: Role | null = 'admin', init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (role) headers.set('cookie', `ci_session=${cookies[role]}`);
  const req = new Request(`http://127.0.0.1${path}`, { redirect: 'manual', ...init, headers });
  return mounted ? exports.default.fetch(req) : local.fetch(req, env, { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext);
}

function post(path: string, form: Record<string, string | string[]>, role: Role = 'admin') {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
  return get(path, role, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
}

async function csrfOf(path: string, role: Role = 'admin'): Promise<string> {
  const html = await (await get(path, role)).text();
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error(`no CSRF token on ${path}`);
  return m[1]!;
}

const text = (html: string) => html.replace(/<style[\s\S]*?<\/style>/g, '').replace(/<[^>]+>/g, ' ').replace(/&amp;/g, '&').replace(/\s+/g, ' ');
const kpi = (html: string, id: string) => new RegExp(`data-kpi="${id}">([^<]*)<`).exec(html)?.[1];

const NOW = '2026-11-20T00:00:00.000Z';
const P = 'uit';

function detail(o: { id: string; influenced: boolean; sourced: boolean; amount: number; closed: boolean; won: boolean; created: string; member: string; touches: { type: string; channel: string; at: string; title?: string }[] }) {
  const share = 1 / Math.max(1, o.touches.length);
  return JSON.stringify({
    dealId: o.id, crm: 'hubspot', influenced: o.influenced, sourced: o.sourced, assisted: false, score: o.influenced ? 55 : 0,
    primaryModel: 'w_shaped', models: ['w_shaped', 'first_touch'], amount: o.amount, currency: 'USD', isClosed: o.closed, isWon: o.won,
    attributedAmount: { w_shaped: o.influenced ? o.amount : null, first_touch: o.influenced ? o.amount : null },
    touchCount: o.touches.length, firstTouchAt: o.touches[0]?.at ?? null, lastTouchAt: o.touches.at(-1)?.at ?? null,
    topChannel: o.touches[0]?.channel ?? null,
    creditByChannel: o.influenced ? { w_shaped: Object.fromEntries(o.touches.map((t) => [t.channel, share])), first_touch: { [o.touches[0]!.channel]: 1 } } : {},
    membersInvolved: o.influenced ? [o.member] : [], memberCount: o.influenced ? 1 : 0,
    evidence: o.influenced ? o.touches.map((t, i) => ({ touchId: `${o.id}-${i}`, memberId: o.member, type: t.type, channel: t.channel, occurredAt: t.at, url: null, title: t.title ?? null, milestones: i === 0 ? ['first_touch'] : [], credit: { w_shaped: share, first_touch: i === 0 ? 1 : 0 } })) : [],
    evidenceUrl: `http://127.0.0.1/deals/hubspot/${o.id}`, rulesVersion: 'v-test',
  });
}

beforeAll(async () => {
  const config = loadConfig(env);
  for (const role of ['viewer', 'editor', 'admin'] as const) cookies[role] = await signSession(config, { sub: `test:${role}`, name: `Test ${role}`, role });
  mounted = (await exports.default.fetch(new Request('http://127.0.0.1/signin'))).headers.get('content-type')?.includes('text/html') ?? false;

  const db = env.DB;
  const stmts: D1PreparedStatement[] = [];
  const members = ['ada', 'bob', 'cy'];
  for (const m of members) {
    stmts.push(db.prepare(`INSERT OR IGNORE INTO members (id, display_name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)`).bind(`${P}_${m}`, `${m} tester`, '2026-01-01T00:00:00Z'));
    stmts.push(db.prepare(`INSERT OR IGNORE INTO identities (source, external_id, member_id, handle, handle_lc, email, email_verified, first_seen_at) VALUES ('github', ?1, ?2, ?1, ?1, ?3, 1, '2026-01-01T00:00:00Z')`).bind(`${P}-${m}`, `${P}_${m}`, `${m}@acme.test`));
  }
  let seq = 0;
  for (const m of members) {
    for (let i = 0; i < 6; i++) {
      const at = new Date(Date.UTC(2026, 1 + i, 3)).toISOString();
      stmts.push(db.prepare(
        `INSERT OR IGNORE INTO activities (source, external_id, type, occurred_at, member_id, identity_id, title, origin, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, (SELECT id FROM identities WHERE source = 'github' AND external_id = ?6), ?7, 'api', ?4)`,
      ).bind(i === 0 && m === 'cy' ? 'events' : 'github', `${P}-act-${m}-${i}-${seq++}`, i === 0 && m === 'cy' ? 'events.attended' : 'github.star', at, `${P}_${m}`, `${P}-${m}`, `act ${i}`));
    }
  }
  stmts.push(db.prepare(`INSERT OR IGNORE INTO crm_companies (crm, crm_id, name, industry, employees, country, created_at, updated_at) VALUES ('hubspot', ?1, 'Acme Test', 'Computer Software', 5000, 'Germany', ?2, ?2)`).bind(`${P}-co1`, NOW));
  stmts.push(db.prepare(`INSERT OR IGNORE INTO crm_contacts (crm, crm_id, kind, email, first_name, last_name, title, company_id, created_at, updated_at) VALUES ('hubspot', ?1, 'contact', 'ada@acme.test', 'Ada', 'Tester', 'CTO', ?2, '2026-06-01T00:00:00Z', ?3)`).bind(`${P}-c1`, `${P}-co1`, NOW));
  stmts.push(db.prepare(`INSERT OR IGNORE INTO crm_contacts (crm, crm_id, kind, email, first_name, last_name, title, company_id, created_at, updated_at) VALUES ('hubspot', ?1, 'contact', 'bob@acme.test', 'Bob', 'Tester', 'Software Engineer', ?2, '2026-06-01T00:00:00Z', ?3)`).bind(`${P}-c2`, `${P}-co1`, NOW));
  stmts.push(db.prepare(`INSERT OR IGNORE INTO links (member_id, crm, target_kind, crm_id, method, status, confidence, evidence, created_at, updated_at) VALUES (?1, 'hubspot', 'contact', ?2, 'email', 'auto', 0.99, '["verified email matches"]', ?3, ?3)`).bind(`${P}_ada`, `${P}-c1`, NOW));
  for (const [i, m] of [[1, 'bob'], [2, 'cy'], [3, 'ada']] as const) {
    stmts.push(db.prepare(`INSERT OR IGNORE INTO links (member_id, crm, target_kind, crm_id, method, status, confidence, evidence, created_at, updated_at) VALUES (?1, 'hubspot', 'contact', ?2, 'name_company', 'suggested', 0.7, ?3, ?4, ?4)`)
      .bind(`${P}_${m}`, `${P}-c2-s${i}`, JSON.stringify([`similar name (${i})`, 'same company']), NOW));
  }
  // Deals: 4 closed in 2026-03 (2 influenced), 3 open created 2026-09 (2 influenced).
  const deals = [
    { id: `${P}-d1`, influenced: true, sourced: true, amount: 10_000, closed: true, won: true, created: '2026-01-10T00:00:00Z', close: '2026-03-10T00:00:00Z' },
    { id: `${P}-d2`, influenced: true, sourced: false, amount: 20_000, closed: true, won: false, created: '2026-01-12T00:00:00Z', close: '2026-03-12T00:00:00Z' },
    { id: `${P}-d3`, influenced: false, sourced: false, amount: 30_000, closed: true, won: true, created: '2026-01-15T00:00:00Z', close: '2026-03-15T00:00:00Z' },
    { id: `${P}-d4`, influenced: false, sourced: false, amount: 40_000, closed: true, won: false, created: '2026-01-20T00:00:00Z', close: '2026-03-20T00:00:00Z' },
    { id: `${P}-d5`, influenced: true, sourced: false, amount: 50_000, closed: false, won: false, created: '2026-09-01T00:00:00Z', close: null },
    { id: `${P}-d6`, influenced: true, sourced: false, amount: 60_000, closed: false, won: false, created: '2026-09-02T00:00:00Z', close: null },
    { id: `${P}-d7`, influenced: false, sourced: false, amount: 70_000, closed: false, won: false, created: '2026-09-03T00:00:00Z', close: null },
  ];
  for (const d of deals) {
    stmts.push(db.prepare(
      `INSERT OR IGNORE INTO crm_deals (crm, crm_id, name, amount, currency, stage, pipeline, created_at, close_date, is_closed, is_won, company_id, updated_at)
       VALUES ('hubspot', ?1, ?2, ?3, 'USD', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)`,
    ).bind(d.id, `Deal ${d.id}`, d.amount, d.closed ? (d.won ? 'closedwon' : 'closedlost') : 'qualified', d.id === `${P}-d7` ? 'uit-renewals' : 'uit-sales', d.created, d.close, d.closed ? 1 : 0, d.won ? 1 : 0, `${P}-co1`, NOW));
    stmts.push(db.prepare(
      `INSERT OR IGNORE INTO deal_influence (crm, deal_id, rules_version, influenced, sourced, assisted, score, touch_count, amount, attributed_amount, currency, is_closed, is_won, deal_created_at, close_date, detail, computed_at)
       VALUES ('hubspot', ?1, 'v-test', ?2, ?3, 0, 50, 2, ?4, ?5, 'USD', ?6, ?7, ?8, ?9, ?10, ?11)`,
    ).bind(d.id, d.influenced ? 1 : 0, d.sourced ? 1 : 0, d.amount, d.influenced ? d.amount : null, d.closed ? 1 : 0, d.won ? 1 : 0, d.created, d.close,
      detail({ ...d, member: `${P}_ada`, touches: [{ type: 'events.attended', channel: 'events', at: '2025-12-20T00:00:00Z', title: 'Meetup Berlin' }, { type: 'github.star', channel: 'github', at: '2026-01-05T00:00:00Z' }] }), NOW));
  }
  stmts.push(db.prepare(`INSERT OR IGNORE INTO crm_deal_contacts (crm, deal_id, contact_id, role, is_primary) VALUES ('hubspot', ?1, ?2, 'Decision Maker', 1)`).bind(`${P}-d1`, `${P}-c1`));
  stmts.push(db.prepare(`INSERT OR IGNORE INTO contact_influence (crm, contact_id, stage, activity_recent, channels, computed_at) VALUES ('hubspot', ?1, 'engaged', 3, '["github"]', ?2)`).bind(`${P}-c1`, NOW));
  stmts.push(db.prepare(`INSERT OR IGNORE INTO company_influence (crm, company_id, engaged_members, activity_count, top_channel, computed_at) VALUES ('hubspot', ?1, 2, 12, 'github', ?2)`).bind(`${P}-co1`, NOW));
  stmts.push(db.prepare(
    `INSERT OR IGNORE INTO sync_runs (id, crm, trigger, dry_run, full, status, stage, counts, errors, created_at, started_at, finished_at, updated_at)
     VALUES (?1, 'hubspot', 'api', 0, 1, 'done', 'finish', '{"pulled_deals":10,"pulled_contacts":2,"records_written":3,"crm_calls":7}', '[{"record":"x","message":"boom"}]', ?2, ?2, ?2, ?2)`,
  ).bind(`run_${P}1`, NOW));
  await db.batch(stmts);
});

describe('access', () => {
  it('sends people who are not signed in to the sign-in page, keeping where they were going', async () => {
    const res = await get('/health?from=2026-01-01', null);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`/signin?next=${encodeURIComponent('/health?from=2026-01-01')}`);
  });
  it('refuses pages above the role', async () => {
    expect((await get('/review', 'viewer')).status).toBe(403);
    expect((await get('/rules', 'viewer')).status).toBe(403);
    expect((await get('/sync', 'editor')).status).toBe(403);
    expect((await get('/sync', 'admin')).status).toBe(200);
  });
  it('outside development, sign-in is through Cloudflare Access and the dev form is off', async () => {
    const page = await (await get('/signin', null)).text();
    expect(page).toMatch(/Cloudflare Access/);
    expect(page).not.toMatch(/action="\/signin\/dev"/);
    const res = await post('/signin/dev', { name: 'Eve', role: 'admin' });
    expect(res.status).toBe(403);
  });
  it('sets security headers with a per-response nonce and no unsafe-inline', async () => {
    const a = await get('/');
    const b = await get('/');
    const csp = a.headers.get('content-security-policy')!;
    expect(csp).toMatch(/script-src 'nonce-[^']+'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).not.toMatch(/unsafe-inline/);
    expect(csp).not.toBe(b.headers.get('content-security-policy'));
    expect(a.headers.get('x-content-type-options')).toBe('nosniff');
    expect(a.headers.get('referrer-policy')).toBe('same-origin');
    expect(a.headers.get('server-timing')).toMatch(/app;dur=/);
  });
});

describe('dashboard', () => {
  it('shows pipeline and revenue, and filters change the numbers', async () => {
    const all = await (await get('/?pipeline=uit-sales&currency=USD')).text();
    expect(kpi(all, 'kpi-deals')).toBe('6');
    expect(kpi(all, 'kpi-influenced-pipeline')).toBe('110.0k USD');
    expect(kpi(all, 'kpi-influenced-revenue')).toBe('10.0k USD');
    const march = await (await get('/?pipeline=uit-sales&currency=USD&from=2026-03-01&to=2026-03-31')).text();
    expect(kpi(march, 'kpi-deals')).toBe('4');
    expect(kpi(march, 'kpi-influenced-pipeline')).toBe('0 USD');
    expect(all).toContain('<svg class="chart"');
  });
  it('says plainly when there are too few deals to compare', async () => {
    const page = text(await (await get('/?pipeline=uit-sales&currency=USD')).text());
    expect(page).toMatch(/Too few deals to tell/);
  });
  it('exports every table as CSV', async () => {
    for (const t of ['monthly', 'channels', 'activity_types', 'events', 'comparison', 'funnel', 'stages', 'companies', 'engaged_companies', 'members']) {
      const res = await get(`/export/dashboard/${t}.csv?pipeline=uit-sales&currency=USD`);
      expect(res.status, t).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    }
    const events = await (await get('/?format=csv&table=events&pipeline=uit-sales&currency=USD')).text();
    expect(events.split('\r\n')[0]).toBe('Event,Touches,Deals,Attributed pipeline,Attributed revenue');
    expect(events).toMatch(/Meetup Berlin,/);
    expect((await get('/export/dashboard/nope.csv')).status).toBe(404);
  });
});

describe('dashboard numbers and filters a review found wrong', () => {
  it('an impossible date drops the filter instead of a 503', async () => {
    for (const path of ['/?to=2026-13-01', '/health?to=2026-00-10', '/export/dashboard/monthly.csv?to=2026-02-99', '/?from=2026-02-30']) {
      expect((await get(path)).status, path).toBe(200);
    }
  });

  it('top companies count attributed money of open and won deals only, as the KPIs do', async () => {
    const csv = await (await get('/export/dashboard/companies.csv?currency=USD')).text();
    const row = csv.split('\r\n').find((l) => l.startsWith('Acme Test,'));
    // Influenced: won 10k, lost 20k, open 50k and 60k. The lost deal is neither pipeline nor revenue.
    expect(row?.split(',').at(-1)).toBe('120000');
  });

  it('deals without a currency can be chosen, on the page and in its CSV links', async () => {
    await env.DB.prepare(
      `INSERT OR IGNORE INTO deal_influence (crm, deal_id, rules_version, influenced, sourced, assisted, score, touch_count, amount, attributed_amount, currency, is_closed, is_won, deal_created_at, close_date, detail, computed_at)
       VALUES ('hubspot', 'uit-nocur', 'v-test', 1, 0, 0, 50, 1, 7000, 7000, NULL, 0, 0, '2026-09-05T00:00:00Z', NULL, '{}', ?1)`,
    ).bind(NOW).run();
    const page = await (await get('/?currency=-')).text();
    expect(kpi(page, 'kpi-deals')).toBe('1');
    expect(page).toMatch(/<option value="-" selected="">\(none\)<\/option>/);
    expect(page).toContain('/export/dashboard/monthly.csv?currency=-');
    expect(kpi(await (await get('/?currency=USD')).text(), 'kpi-deals')).toBe('7');
  });

  it('the funnel counts people once: not merged-away members, and each at their deepest stage', async () => {
    const funnel = async () => (await (await get('/export/dashboard/funnel.csv')).text()).split('\r\n');
    const stages = async () => (await (await get('/export/dashboard/stages.csv')).text()).split('\r\n');
    const before = [await funnel(), await stages()];
    // A merged-away member, and a second (deeper) contact for ada in Salesforce.
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO members (id, display_name, merged_into, created_at, updated_at) VALUES ('uit_gone', 'gone', 'uit_ada', ?1, ?1)`).bind(NOW),
      env.DB.prepare(`INSERT INTO crm_contacts (crm, crm_id, kind, email, created_at, updated_at) VALUES ('salesforce', 'uit-sf1', 'contact', 'ada@acme.test', '2026-06-01T00:00:00Z', ?1)`).bind(NOW),
      env.DB.prepare(`INSERT INTO links (member_id, crm, target_kind, crm_id, method, status, confidence, evidence, created_at, updated_at) VALUES ('uit_ada', 'salesforce', 'contact', 'uit-sf1', 'email', 'auto', 0.99, '[]', ?1, ?1)`).bind(NOW),
      env.DB.prepare(`INSERT INTO contact_influence (crm, contact_id, stage, activity_recent, channels, computed_at) VALUES ('salesforce', 'uit-sf1', 'champion', 3, '["github"]', ?1)`).bind(NOW),
    ]);
    const [afterFunnel, afterStages] = [await funnel(), await stages()];
    expect(afterFunnel).toEqual(before[0]);
    const members = (rows: string[]) => rows.slice(1).filter(Boolean).reduce((n, r) => n + Number(r.split(',')[1]), 0);
    expect(members(afterStages)).toBe(members(before[1]!));
    expect(afterStages.some((r) => r.startsWith('champion,1'))).toBe(true);
    expect(afterStages.some((r) => r.startsWith('engaged,'))).toBe(false);
    // Community health lists each such person once, though ada now has a contact in each CRM.
    const { loadHealth } = await import('../../src/store/ui-pages');
    const later = (await loadHealth(env.DB, { from: null, to: null })).later.filter((r) => r.member_id === 'uit_ada');
    expect(later.map((r) => r.contact_id)).toEqual(['uit-c1']);
  });

  it('sign-in only returns to a path on this site', async () => {
    const { safeNext } = await import('../../src/ui/signin');
    expect(safeNext('/deals/hubspot/1?x=1#e')).toBe('/deals/hubspot/1?x=1#e');
    for (const bad of ['/\t/evil.example/x', '//evil.example', '/\\evil.example', 'https://evil.example', '/\n/evil.example', null]) {
      expect(safeNext(bad), String(bad)).toBe('/');
    }
  });
});

describe('community health', () => {
  it('shows growth, arrival and segments, with CSV', async () => {
    const page = text(await (await get('/health')).text());
    expect(page).toMatch(/How members arrive/);
    expect(page).toMatch(/Enterprise tech/);
    const arrival = await (await get('/export/health/arrival.csv')).text();
    expect(arrival).toMatch(/organic,github/);
    expect(arrival).toMatch(/cultivated,events/);
  });
});

describe('deal and member pages', () => {
  it('explains why a deal counts, with touches and credit per model', async () => {
    const res = await get(`/deals/hubspot/${P}-d1`);
    expect(res.status).toBe(200);
    const page = text(await res.text());
    expect(page).toMatch(/Influenced: 2 counted community touches/);
    expect(page).toMatch(/Sourced: a deal contact was active/);
    expect(page).toMatch(/Rules version v-test/);
    expect(page).toMatch(/Meetup Berlin/);
    expect(page).toMatch(/Ada Tester/);
    expect((await get('/deals/hubspot/nope')).status).toBe(404);
    expect(page).not.toMatch(/not counted yet/);
  });
  it('says when a touch dated after the computation will count', async () => {
    const id = `${P}-next`;
    const d = { id, influenced: true, sourced: false, amount: 5_000, closed: false, won: false, created: '2026-09-01T00:00:00Z', member: `${P}_ada`, touches: [{ type: 'github.star', channel: 'github', at: '2026-09-05T00:00:00Z' }] };
    await env.DB.batch([
      env.DB.prepare(`INSERT OR IGNORE INTO crm_deals (crm, crm_id, name, amount, currency, created_at, is_closed, is_won, updated_at) VALUES ('hubspot', ?1, 'Next', 5000, 'USD', ?2, 0, 0, ?3)`).bind(id, d.created, NOW),
      env.DB.prepare(
        `INSERT OR IGNORE INTO deal_influence (crm, deal_id, rules_version, influenced, sourced, assisted, score, touch_count, is_closed, is_won, deal_created_at, detail, computed_at)
         VALUES ('hubspot', ?1, 'v-test', 1, 0, 0, 50, 1, 0, 0, ?2, ?3, ?4)`,
      ).bind(id, d.created, JSON.stringify({ ...JSON.parse(detail(d)), nextTouchAt: '2026-11-20T09:30:00.000Z' }), NOW),
    ]);
    const page = text(await (await get(`/deals/hubspot/${id}`)).text());
    expect(page).toMatch(/A touch dated 2026-11-20 09:30 UTC, after these figures were computed, is not counted yet/);
  });
  it('answers an HTML error page (not JSON) when a page cannot be built', async () => {
    await env.DB.batch([
      env.DB.prepare(`INSERT OR IGNORE INTO crm_deals (crm, crm_id, name, created_at, is_closed, is_won, updated_at) VALUES ('hubspot', 'uit-broken', 'Broken', ?1, 0, 0, ?1)`).bind(NOW),
      env.DB.prepare(`INSERT OR IGNORE INTO deal_influence (crm, deal_id, rules_version, influenced, sourced, assisted, score, touch_count, is_closed, is_won, deal_created_at, detail, computed_at) VALUES ('hubspot', 'uit-broken', 'v', 0, 0, 0, 0, 0, 0, 0, ?1, 'not json', ?1)`).bind(NOW),
    ]);
    const res = await get('/deals/hubspot/uit-broken');
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toMatch(/Something went wrong/);
  });
  it('shows a member’s identities, links with evidence, and activity', async () => {
    const page = text(await (await get(`/members/${P}_ada`)).text());
    expect(page).toMatch(/github/);
    expect(page).toMatch(/verified email matches/);
    expect(page).toMatch(/act 5/);
    expect((await get('/members/nobody')).status).toBe(404);
  });
});

describe('merges from the member page', () => {
  it('refuses a blocked merge with the reasons, merges and unmerges an allowed one', async () => {
    await env.DB.batch([
      env.DB.prepare(`INSERT OR IGNORE INTO members (id, display_name, created_at, updated_at) VALUES ('uit_m1', 'm one', ?1, ?1), ('uit_m2', 'm two', ?1, ?1)`).bind(NOW),
      env.DB.prepare(`INSERT OR IGNORE INTO identities (source, external_id, member_id, handle, handle_lc, first_seen_at) VALUES ('github', 'uit-m1', 'uit_m1', 'm1', 'm1', ?1), ('slack', 'uit-m2', 'uit_m2', 'm2', 'm2', ?1)`).bind(NOW),
    ]);
    const csrf = await csrfOf(`/members/${P}_ada`, 'editor');
    expect(await (await get(`/members/${P}_ada`, 'viewer')).text()).not.toMatch(/Merge into this member/);
    const blocked = await post(`/members/${P}_ada/merge`, { _csrf: csrf, member_id: `${P}_bob` }, 'editor');
    expect(decodeURIComponent(blocked.headers.get('location')!)).toMatch(/cannot be one person.*two different github accounts/);
    const ok = await post('/members/uit_m1/merge', { _csrf: csrf, member_id: 'uit_m2' }, 'editor');
    expect(decodeURIComponent(ok.headers.get('location')!)).toMatch(/Merged uit_m2 into this member: 1 identities/);
    expect((await env.DB.prepare(`SELECT member_id FROM identities WHERE external_id = 'uit-m2'`).first<{ member_id: string }>())!.member_id).toBe('uit_m1');
    expect(text(await (await get('/members/uit_m1', 'editor')).text())).toMatch(/Unmerge/);
    const undo = await post('/members/uit_m1/unmerge', { _csrf: csrf }, 'editor');
    expect(decodeURIComponent(undo.headers.get('location')!)).toMatch(/separate member again/);
    expect((await env.DB.prepare(`SELECT member_id FROM identities WHERE external_id = 'uit-m2'`).first<{ member_id: string }>())!.member_id).toBe('uit_m2');
    expect((await post('/members/uit_m1/merge', { member_id: 'uit_m2' }, 'editor')).status).toBe(403);
  });
});

describe('review queue', () => {
  it('refuses a post without the CSRF token', async () => {
    const res = await post('/review', { one: '1:confirmed' }, 'editor');
    expect(res.status).toBe(403);
  });
  it('confirms one suggestion and rejects several, auditing each', async () => {
    const ids = (await env.DB.prepare(`SELECT id FROM links WHERE member_id LIKE 'uit_%' AND status = 'suggested' ORDER BY id`).all<{ id: number }>()).results.map((r) => r.id);
    expect(ids.length).toBe(3);
    const csrf = await csrfOf('/review', 'editor');
    const one = await post('/review', { _csrf: csrf, one: `${ids[0]}:confirmed` }, 'editor');
    expect(one.status).toBe(303);
    expect(decodeURIComponent(one.headers.get('location')!)).toMatch(/1 suggestion confirmed/);
    const many = await post('/review', { _csrf: csrf, decision: 'rejected', 'ids[]': [String(ids[1]), String(ids[2])] }, 'editor');
    expect(decodeURIComponent(many.headers.get('location')!)).toMatch(/2 suggestions rejected/);
    const rows = (await env.DB.prepare(`SELECT id, status, decided_by FROM links WHERE id IN (?, ?, ?) ORDER BY id`).bind(...ids).all<{ status: string; decided_by: string }>()).results;
    expect(rows.map((r) => r.status)).toEqual(['confirmed', 'rejected', 'rejected']);
    expect(rows[0]!.decided_by).toBe('person:test:editor');
    const audit = await env.DB.prepare(`SELECT count(*) AS n FROM audit_log WHERE action IN ('link.confirm', 'link.reject') AND actor = 'person:test:editor'`).first<{ n: number }>();
    expect(audit!.n).toBeGreaterThanOrEqual(3);
  });
});

describe('rules', () => {
  it('shows validation errors inline with line numbers and changes nothing', async () => {
    const csrf = await csrfOf('/rules', 'editor');
    const res = await post('/rules/preview', { _csrf: csrf, kind: 'rules', content: 'version: 1\nstages: [aware]\nwindow:\n  lookback_days: -3\n' }, 'editor');
    expect(res.status).toBe(422);
    const page = text(await res.text());
    expect(page).toMatch(/line 4, column \d+/);
    expect(page).toMatch(/nothing was changed/);
  });
  it('previews a valid proposal before offering activation, then activates and rolls back', async () => {
    const csrf = await csrfOf('/rules', 'editor');
    const original = /<textarea[^>]*>([\s\S]*?)<\/textarea>/.exec(await (await get('/rules', 'editor')).text())![1]!
      .replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    const proposed = original.replace(/lookback_days: \d+/, 'lookback_days: 90');
    const preview = await post('/rules/preview', { _csrf: csrf, kind: 'rules', content: proposed }, 'editor');
    expect(preview.status).toBe(200);
    const html = await preview.text();
    expect(html).toMatch(/id="preview"/);
    const previewed = /name="previewed" value="([^"]+)"/.exec(html)![1]!;
    const act = await post('/rules/activate', { _csrf: csrf, kind: 'rules', content: proposed, previewed }, 'editor');
    expect(act.status).toBe(303);
    const active = await env.DB.prepare(`SELECT hash FROM rules_active WHERE kind = 'rules'`).first<{ hash: string }>();
    expect(active!.hash).toBe(previewed);
    // Activating text that differs from what was previewed shows a fresh preview instead.
    const stale = await post('/rules/activate', { _csrf: csrf, kind: 'rules', content: original, previewed }, 'editor');
    expect(stale.status).toBe(200);
    expect(await stale.text()).toMatch(/changed since the preview/);
    // Roll back: activate the bundled text, then roll back to the proposal by hash.
    const back = await post('/rules/rollback', { _csrf: csrf, kind: 'rules', hash: previewed }, 'editor');
    expect(back.status).toBe(303);
    expect(text(await (await get('/rules', 'editor')).text())).toMatch(/active/);
  });

  it('does not activate over a version another editor activated after this preview: it shows a fresh preview', async () => {
    const csrf = await csrfOf('/rules', 'editor');
    const base = (await env.DB.prepare(`SELECT v.content FROM rules_active a JOIN rules_versions v ON v.kind = a.kind AND v.hash = a.hash WHERE a.kind = 'rules'`)
      .first<{ content: string }>())?.content ?? BUNDLED_MAPPINGS.rules;
    const mine = base.replace(/lookback_days: \d+/, 'lookback_days: 121');
    const html = await (await post('/rules/preview', { _csrf: csrf, kind: 'rules', content: mine }, 'editor')).text();
    const previewed = /name="previewed" value="([^"]+)"/.exec(html)![1]!;
    const against = /name="against" value="([^"]+)"/.exec(html)![1]!;
    // Meanwhile someone else activates a version.
    const adminCsrf = await csrfOf('/rules', 'admin');
    const other = await post('/rules/preview', { _csrf: adminCsrf, kind: 'rules', content: base.replace(/lookback_days: \d+/, 'lookback_days: 122') }, 'admin');
    const otherHash = /name="previewed" value="([^"]+)"/.exec(await other.text())![1]!;
    const theirs = await post('/rules/activate', { _csrf: adminCsrf, kind: 'rules', content: base.replace(/lookback_days: \d+/, 'lookback_days: 122'), previewed: otherHash, against }, 'admin');
    expect(theirs.status).toBe(303);
    const late = await post('/rules/activate', { _csrf: csrf, kind: 'rules', content: mine, previewed, against }, 'editor');
    expect(late.status).toBe(409);
    const page = text(await late.text());
    expect(page).toMatch(new RegExp(`Version ${otherHash.slice(0, 16)} was activated by .* since your preview`));
    expect((await env.DB.prepare(`SELECT hash FROM rules_active WHERE kind = 'rules'`).first<{ hash: string }>())!.hash).toBe(otherHash);
    expect(page).toMatch(/activated by /);
  });
});

describe('sync', () => {
  it('lists runs with counts and errors, and explains when no CRM is configured', async () => {
    const page = await (await get('/sync')).text();
    expect(page).toMatch(new RegExp(`run_${P}1[\\s\\S]*?<td class="num">12</td>`));
    const run = text(await (await get(`/sync/runs/run_${P}1`)).text());
    expect(run).toMatch(/pulled 12 · computed 0 · planned 0 · written 3 · failed 0 · CRM calls 7/);
    expect(run).toMatch(/boom/);
    const csrf = await csrfOf('/sync');
    const res = await post('/sync/start', { _csrf: csrf, dryRun: '1' });
    expect(res.status).toBe(303);
    expect(decodeURIComponent(res.headers.get('location')!)).toMatch(/No CRM is configured/);
  });
});

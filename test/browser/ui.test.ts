/**
 * The web app in a real headless Chromium against the Worker running the demo org (scripts/sandbox.ts).
 * Set UI_BASE_URL (and UI_ADMIN_TOKEN) to test a sandbox that is already running (e.g. `npm start`) instead of starting one.
 * Screenshots go to test-results/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../emulators/ports';

const SHOTS = 'test-results/screenshots';
let base = process.env.UI_BASE_URL ?? '';
let token = process.env.UI_ADMIN_TOKEN ?? 'local-dev-admin-token-not-for-production';
let stopSandbox: (() => Promise<void>) | null = null;
let browser: Browser;
let admin: BrowserContext;
let page: Page;
const cspErrors: string[] = [];

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<T>;
}

async function signIn(context: BrowserContext, role: 'viewer' | 'editor' | 'admin', name = `Test ${role}`): Promise<Page> {
  const p = await context.newPage();
  p.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspErrors.push(m.text());
  });
  await p.goto(`${base}/signin?next=/`);
  await p.getByLabel('Your name').fill(name);
  await p.getByLabel('Role').selectOption(role);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.waitForURL(`${base}/`);
  return p;
}

const shot = (p: Page, name: string) => p.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
const kpi = async (p: Page, id: string) => (await p.locator(`[data-kpi="${id}"]`).textContent())?.trim() ?? '';

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  if (!base) {
    const { startSandbox } = await import('../../scripts/sandbox');
    const sandbox = await startSandbox({ workerPort: await freePort(), hubspotPort: await freePort(), salesforcePort: await freePort(), quiet: true });
    base = sandbox.workerUrl;
    token = sandbox.adminToken;
    stopSandbox = () => sandbox.stop();
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  admin = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await signIn(admin, 'admin');
}, 900_000);

afterAll(async () => {
  await browser?.close();
  await stopSandbox?.();
});

describe('web app with the demo org', () => {
  it('redirects to sign-in when signed out and refuses a role that is too low', async () => {
    const anon = await browser.newContext();
    const p = await anon.newPage();
    await p.goto(`${base}/health`);
    expect(new URL(p.url()).pathname).toBe('/signin');
    await shot(p, 'signin');
    const viewer = await browser.newContext();
    const v = await signIn(viewer, 'viewer');
    const res = await v.goto(`${base}/review`);
    expect(res?.status()).toBe(403);
    await viewer.close();
    await anon.close();
  });

  it('dashboard loads with numbers, charts, security headers, and CSV exports', async () => {
    const res = await page.goto(`${base}/`);
    expect(res?.status()).toBe(200);
    const headers = res!.headers();
    expect(headers['content-security-policy']).toMatch(/script-src 'nonce-/);
    expect(headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(headers['x-content-type-options']).toBe('nosniff');
    await expect(page.getByRole('heading', { level: 1 })).toBeTruthy();
    expect(Number(await kpi(page, 'kpi-deals'))).toBeGreaterThan(0);
    expect(await page.locator('svg.chart').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#comparison tbody tr').count()).toBe(3);
    await shot(page, 'dashboard');
    const href = await page.locator('#channels caption a').getAttribute('href');
    const csv = await page.request.get(`${base}${href}`);
    expect(csv.headers()['content-type']).toMatch(/text\/csv/);
    expect((await csv.text()).split('\n')[0]).toMatch(/^Channel,/);
  });

  it('filters change the numbers', async () => {
    await page.goto(`${base}/`);
    const before = await kpi(page, 'kpi-deals');
    const from = new Date(Date.now() - 60 * 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel('From').fill(from);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/from=/);
    const after = await kpi(page, 'kpi-deals');
    expect(Number(after)).toBeLessThan(Number(before));
    // Another attribution model re-labels the attributed figures.
    await page.getByLabel('Attribution model').selectOption('first_touch');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/model=first_touch/);
    expect(await page.locator('#kpi-attributed-pipeline').textContent()).toMatch(/first_touch/);
    await shot(page, 'dashboard-filtered');
  });

  it('dashboard is usable at phone width', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    const p = await signIn(phone, 'viewer');
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(400);
    await shot(p, 'dashboard-phone');
    await phone.close();
  });

  it('community health loads', async () => {
    const res = await page.goto(`${base}/health`);
    expect(res?.status()).toBe(200);
    expect(await page.locator('#growth tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('#arrival tbody tr').count()).toBeGreaterThan(0);
    await shot(page, 'health');
  });

  it('deal page explains the influence', async () => {
    const deals = await api<{ data: { crm: string; deal_id: string }[] }>('/v1/deals?influenced=1&limit=1');
    const d = deals.data[0]!;
    const res = await page.goto(`${base}/deals/${d.crm}/${d.deal_id}`);
    expect(res?.status()).toBe(200);
    await expect(page.locator('#flag-influenced').textContent()).resolves.toBe('Influenced');
    expect(await page.locator('#touches tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('main').textContent()).toMatch(/Rules version/);
    await shot(page, 'deal');
  });

  it('member page shows identities, links and activity', async () => {
    const links = await api<{ data: { member_id: string }[] }>('/v1/links?status=auto&limit=1');
    const res = await page.goto(`${base}/members/${links.data[0]!.member_id}`);
    expect(res?.status()).toBe(200);
    expect(await page.locator('#identities tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('#links tbody tr').count()).toBeGreaterThan(0);
    await shot(page, 'member');
  });

  it('confirming a suggestion changes the link', async () => {
    await page.goto(`${base}/review`);
    await shot(page, 'review');
    const row = page.locator('#suggestions tbody tr').first();
    const id = Number(await row.getAttribute('data-link'));
    expect(id).toBeGreaterThan(0);
    await row.getByRole('button', { name: `Confirm suggestion ${id}` }).click();
    await page.waitForURL(/done=/);
    expect(await page.getByRole('status').textContent()).toMatch(/1 suggestion confirmed/);
    const confirmed = await api<{ data: { id: number; status: string; decided_by: string }[] }>(`/v1/links?status=confirmed&limit=500`);
    const link = confirmed.data.find((l) => l.id === id);
    expect(link?.status).toBe('confirmed');
    expect(link?.decided_by).toMatch(/^person:dev:/);
    expect(await page.locator(`#suggestions tr[data-link="${id}"]`).count()).toBe(0);
    // Several at once with the checkboxes.
    const boxes = page.locator('#suggestions input[name="ids[]"]');
    if ((await boxes.count()) >= 2) {
      await boxes.nth(0).check();
      await boxes.nth(1).check();
      await page.getByRole('button', { name: 'Reject selected' }).click();
      await page.waitForURL(/done=/);
      expect(await page.getByRole('status').textContent()).toMatch(/2 suggestions rejected/);
    }
  });

  it('possible duplicate members: merging one pair and telling another apart', async () => {
    await page.goto(`${base}/review#duplicates-review`);
    const rows = page.locator('#duplicates tbody tr[data-pair]');
    // The demo org has people whose GitHub commits carry the personal address they use elsewhere, unverified.
    expect(await rows.count()).toBeGreaterThanOrEqual(2);
    const [a, b] = (await rows.first().getAttribute('data-pair'))!.split(':');
    // Merge keeps the older member of the pair, whichever comes first.
    const keep = (await rows.first().getAttribute('data-keep'))!;
    const gone = keep === a ? b : a;
    expect([a, b]).toContain(keep);
    await rows.first().getByRole('button', { name: /^Merge / }).click();
    await page.waitForURL(/\/review\?done=/);
    expect(await page.getByRole('status').textContent()).toMatch(new RegExp(`Merged ${gone} into ${keep}`));
    const merged = await api<{ merged_into: string | null }>(`/v1/members/${gone}`);
    expect(merged.merged_into).toBe(keep);
    expect(await page.locator(`#duplicates tr[data-pair="${a}:${b}"]`).count()).toBe(0);

    const next = (await rows.first().getAttribute('data-pair'))!;
    await rows.first().getByRole('button', { name: /^Not the same person/ }).click();
    await page.waitForURL(/\/review\?done=/);
    expect(await page.locator(`#duplicates tr[data-pair="${next}"]`).count()).toBe(0);
    const [x] = next.split(':');
    const left = await api<{ data: { member_a: { id: string }; member_b: { id: string } }[] }>(`/v1/members/suggestions?member=${x}`);
    expect(left.data.map((s) => `${s.member_a.id}:${s.member_b.id}`)).not.toContain(next);
    await shot(page, 'review-duplicates');
  });

  it('rules: invalid YAML is shown inline with its line; a proposal previews a difference', async () => {
    await page.goto(`${base}/rules`);
    const textarea = page.getByLabel(/Proposed rules.yaml/);
    const original = await textarea.inputValue();
    await textarea.fill(original.replace(/lookback_days: \d+/, 'lookback_days: -5'));
    await page.getByRole('button', { name: 'Validate and preview' }).click();
    await expect(page.locator('#issues').textContent()).resolves.toMatch(/line \d+, column \d+/);
    await shot(page, 'rules-invalid');
    await page.getByLabel(/Proposed rules.yaml/).fill(original.replace(/min_touches: \d+/, 'min_touches: 4'));
    await page.getByRole('button', { name: 'Validate and preview' }).click();
    await page.locator('#preview').waitFor();
    const caption = await page.locator('#preview-deals caption').textContent();
    expect(Number(/^(\d+) deal/.exec(caption ?? '')?.[1])).toBeGreaterThan(0);
    expect(await page.locator('#activate').count()).toBe(1);
    await shot(page, 'rules-preview');
  }, 120_000);

  it('sync page lists runs and starts a dry run', async () => {
    const res = await page.goto(`${base}/sync`);
    expect(res?.status()).toBe(200);
    expect(await page.locator('#runs tbody tr').count()).toBeGreaterThan(0);
    await shot(page, 'sync');
    await page.getByLabel(/Dry run/).check();
    await page.getByRole('button', { name: /Start a run/ }).click();
    await page.waitForURL(/done=/);
    expect(await page.getByRole('status').first().textContent()).toMatch(/started|already in progress/);
  });

  it('loads no external assets and raises no CSP violations', async () => {
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${base}/`);
    expect(requests.filter((u) => !u.startsWith(base))).toEqual([]);
    expect(cspErrors).toEqual([]);
  });
});

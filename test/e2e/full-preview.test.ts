import { env, exports } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSession } from '../../src/auth/session';
import { loadConfig } from '../../src/env';
import { createLogger } from '../../src/log';
import { loadRules } from '../../src/rules';
import { BUNDLED_MAPPINGS } from '../../src/rules/bundled';
import { previewStep } from '../../src/sync/full-preview';
import { previewRules } from '../../src/sync/rules-change';
import { call, countRows, postJson, waitFor } from '../worker/helpers';
import { idle, ingestTouches, MODEL_TOUCHES, runSync, seed, smallOrg } from './helpers';

/**
 * The full rules preview: every deal evaluated in the background, two deals per queue message here
 * (PREVIEW_STEP_DEALS in vitest.config.ts), with the same totals as the one-request preview, which covers all of this
 * small org; a proposal with markov is fitted on every closed deal first.
 */
const org = smallOrg('full', [
  ['won-a', 'wa', 'won', 50_000], ['won-b', 'wb', 'won', 20_000], ['won-c', 'wc', 'won', 10_000], ['lost-a', 'la', 'lost', 40_000],
  ['lost-b', 'lb', 'lost', 30_000], ['open-a', 'oa', 'proposal', 90_000], ['open-b', 'ob', 'proposal', 15_000],
]);
// One touch for wb, la and ob: those deals stop being influenced when two touches are required.
const { op, ...rest } = MODEL_TOUCHES;
const touches = { ...rest, oa: op!, ob: [['discourse.post.created', 35]] as [string, number][] };
const twoTouches = BUNDLED_MAPPINGS.rules.replace(/^    min_touches: 1 /m, '    min_touches: 2 ');
const markovPrimary = BUNDLED_MAPPINGS.rules.replace(/^  primary: w_shaped$/m, '  primary: markov');

type Full = {
  id: string; status: string; phase: string; total: number; evaluated: number; error: string | null;
  fits: { active: unknown; proposed: { models: string[]; journeys: number } | null };
  changed_total?: number; changed_kept?: number;
  diff: null | { before: unknown; after: unknown; unchanged: number; changed: { dealId: string; kind: string }[] };
};

async function start(content: string): Promise<string> {
  const res = await call('/v1/rules/previews', { method: 'POST', headers: { 'content-type': 'text/yaml' }, body: content });
  expect(res.status, await res.clone().text()).toBe(202);
  const body = await res.json<{ id: string; status: string; total: number; status_url: string }>();
  expect(body).toMatchObject({ status: 'running', total: org.deals.length, reused: false, status_url: `/v1/rules/previews/${body.id}` });
  return body.id;
}

const finished = (id: string) =>
  waitFor(async () => {
    const p = await (await call(`/v1/rules/previews/${id}`)).json<Full>();
    return p.status === 'running' ? null : p;
  }, 60_000);

async function onePreview(content: string) {
  const loaded = await loadRules(content);
  if (!loaded.ok) throw new Error('rules invalid');
  return previewRules(env.DB, loadConfig(env), { rules: loaded.value.rules, version: loaded.value.version });
}

beforeAll(async () => {
  await seed(org);
  await ingestTouches('full', touches);
  await runSync();
  // The debounced run the activity above scheduled, and any rerun it asked for: done before the tests, and before the
  // next file reseeds the shared emulator (a run still in flight would write to that file's records).
  await idle();
});

afterAll(idle);

describe('full rules preview', () => {
  it('evaluates every deal step by step and gives the same difference as the one-request preview', async () => {
    const runsBefore = await countRows('sync_runs');
    const p = await finished(await start(twoTouches));
    expect(p.status, JSON.stringify(p)).toBe('done');
    expect(p).toMatchObject({ phase: 'evaluate', total: 7, evaluated: 7, error: null, fits: { active: null, proposed: null } });
    // Seven deals at two per step: four steps.
    expect((await env.DB.prepare('SELECT step FROM rule_previews WHERE id = ?').bind(p.id).first<{ step: number }>())!.step).toBe(4);
    const one = await onePreview(twoTouches);
    expect(one.evaluated).toBe(7);
    expect(p.diff!.before).toEqual(one.diff.before);
    expect(p.diff!.after).toEqual(one.diff.after);
    expect(p.diff!.unchanged).toBe(one.diff.unchanged);
    expect(p.changed_total).toBe(one.diff.changed.length);
    expect(p.changed_kept).toBe(3);
    // The three single-touch deals (wb, la, ob) stop being influenced.
    expect(p.diff!.changed.map((c) => c.dealId).sort()).toEqual(one.diff.changed.map((c) => c.dealId).sort());
    expect(p.diff!.changed).toHaveLength(3);
    // Nothing written: no version stored, no run started, no CRM value changed.
    const proposed = await loadRules(twoTouches);
    expect(await countRows('rules_versions', 'hash = ?', proposed.ok ? proposed.value.version : '')).toBe(0);
    expect(await countRows('sync_runs')).toBe(runsBefore);
  });

  it('fits a proposal that uses markov on every closed deal first, then evaluates with that fit', async () => {
    const p = await finished(await start(markovPrimary));
    expect(p.status, JSON.stringify(p)).toBe('done');
    expect(p.fits).toEqual({ active: null, proposed: { models: ['markov'], journeys: 5 } });
    expect(p.evaluated).toBe(7);
    // The one-request preview fits on the deals it evaluates: here every deal, so the same fit and the same totals.
    const one = await onePreview(markovPrimary);
    expect(p.diff!.after).toEqual(one.diff.after);
    expect(p.changed_total).toBe(one.diff.changed.length);
    // The journeys kept for the fit are gone once it is done.
    expect(await countRows('rule_preview_journeys')).toBe(0);
  });

  it('a duplicated or stale step message changes nothing', async () => {
    const id = await start(twoTouches);
    const done = await finished(id);
    const row = async () => env.DB.prepare('SELECT step, evaluated, state, status FROM rule_previews WHERE id = ?').bind(id).first();
    const before = await row();
    await previewStep(env, { previewId: id, step: 0 }, createLogger({}, 'error'));
    await previewStep(env, { previewId: id, step: 2 }, createLogger({}, 'error'));
    expect(await row()).toEqual(before);
    expect(done.evaluated).toBe(7);
  });

  it('answers bad requests with the field at fault and stores nothing', async () => {
    const count = await countRows('rule_previews');
    const invalid = await call('/v1/rules/previews', { method: 'POST', headers: { 'content-type': 'text/yaml' }, body: twoTouches.replace(/^  primary: w_shaped$/m, '  primary: nine_touch') });
    expect(invalid.status).toBe(422);
    expect(JSON.stringify(await invalid.json())).toMatch(/rules\.yaml:\d+:\d+ models\.primary/);
    const mapping = await postJson('/v1/rules/previews', { kind: 'hubspot', content: BUNDLED_MAPPINGS.hubspot });
    expect(mapping.status).toBe(400);
    expect((await mapping.json<{ error: { issues: { path: string }[] } }>()).error.issues[0]!.path).toBe('kind');
    const both = await postJson('/v1/rules/previews', { kind: 'rules', content: twoTouches, hash: 'sha256:0123456789abcdef' });
    expect(both.status).toBe(400);
    expect(JSON.stringify(await both.json())).toContain('content');
    const missing = await postJson('/v1/rules/previews', { kind: 'rules', hash: 'sha256:0123456789abcdef' });
    expect(missing.status).toBe(404);
    expect((await call('/v1/rules/previews/pv_nope')).status).toBe(404);
    expect((await call('/v1/rules/previews', { method: 'POST', token: null, headers: { 'content-type': 'text/yaml' }, body: twoTouches })).status).toBe(401);
    expect(await countRows('rule_previews')).toBe(count);
  });

  it('answers a repeat of a running preview with that preview, and refuses a fourth at once with 409', async () => {
    const activeHash = (await (await call('/v1/rules')).json<{ rules: { active: { hash: string } } }>()).rules.active.hash;
    const proposed = await loadRules(twoTouches);
    const proposedHash = proposed.ok ? proposed.value.version : '';
    // Held running at a step no message carries, so they stay running while the test looks.
    const hold = (id: string, hash: string) =>
      env.DB.prepare(
        `INSERT INTO rule_previews (id, crm, author, active_hash, active_content, proposed_hash, proposed_content, status, phase, step, total, as_of, state, created_at, updated_at)
         VALUES (?1, 'hubspot', 'test', ?2, 'x', ?3, 'y', 'running', 'evaluate', 99, 7, ?4, '{}', ?4, ?4)`,
      ).bind(id, activeHash, hash, new Date().toISOString()).run();
    try {
      await hold('pv_held_same', proposedHash);
      const again = await call('/v1/rules/previews', { method: 'POST', headers: { 'content-type': 'text/yaml' }, body: twoTouches });
      expect(again.status).toBe(202);
      expect(await again.json()).toMatchObject({ id: 'pv_held_same', reused: true, status_url: '/v1/rules/previews/pv_held_same' });
      await hold('pv_held_2', 'sha256:other-2');
      await hold('pv_held_3', 'sha256:other-3');
      const count = await countRows('rule_previews');
      const fourth = await call('/v1/rules/previews', { method: 'POST', headers: { 'content-type': 'text/yaml' }, body: markovPrimary });
      expect(fourth.status).toBe(409);
      expect((await fourth.json<{ error: { code: string; message: string } }>()).error).toMatchObject({ code: 'previews_busy', message: expect.stringMatching(/at most 3 at once/) });
      expect(await countRows('rule_previews')).toBe(count);
    } finally {
      await env.DB.prepare(`DELETE FROM rule_previews WHERE id LIKE 'pv_held_%'`).run();
    }
  });

  it('the rules page offers it and shows its progress, then the difference', async () => {
    const session = await signSession(loadConfig(env), { sub: 'test:editor', name: 'Editor', role: 'editor' });
    const page = (path: string, init: RequestInit = {}) =>
      exports.default.fetch(new Request(`http://ci.test${path}`, { ...init, redirect: 'manual', headers: { ...init.headers, cookie: `ci_session=${session}` } }));
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await (await page('/rules')).text())![1]!;
    const res = await page('/rules/previews', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, kind: 'rules', content: twoTouches }),
    });
    expect(res.status).toBe(303);
    const at = res.headers.get('location')!;
    expect(at).toMatch(/^\/rules\/previews\/pv_/);
    const html = await waitFor(async () => {
      const text = await (await page(at)).text();
      return text.includes('id="preview-totals"') ? text : null;
    }, 60_000);
    expect(html).toContain('7 deals evaluated');
    expect(html).toMatch(/3 deals change; 4 unchanged/);
    // Each changed deal with its amount: wb 20,000, la 40,000, ob 15,000.
    const deals = /<table id="preview-deals">[\s\S]*?<\/table>/.exec(html)![0];
    expect([...deals.matchAll(/<td class="num">([^<]+)<\/td>/g)].map((m) => m[1]!.split(' ')[0]).sort()).toEqual(['15.0k', '20.0k', '40.0k']);
    expect((await page('/rules/previews/pv_nope')).status).toBe(404);
  });

  it('a preview cut short offers "Preview every deal", which evaluates them all', async () => {
    const session = await signSession(loadConfig(env), { sub: 'test:editor', name: 'Editor', role: 'editor' });
    const page = (path: string, init: RequestInit = {}) =>
      exports.default.fetch(new Request(`http://ci.test${path}`, { ...init, redirect: 'manual', headers: { ...init.headers, cookie: `ci_session=${session}` } }));
    // 100 older deals with no contacts, in the mirror only: 107 in all, past PREVIEW_MAX_DEALS (100 here).
    const pad = Array.from({ length: 100 }, (_, i) => `pad-${String(i).padStart(3, '0')}`);
    await env.DB.prepare(
      `INSERT INTO crm_deals (crm, crm_id, name, amount, currency, stage, pipeline, created_at, is_closed, is_won, updated_at)
       SELECT 'hubspot', value, value, 1000, 'USD', 'proposal', 'default', '2020-01-01T00:00:00.000Z', 0, 0, '2020-01-01T00:00:00.000Z' FROM json_each(?)`,
    ).bind(JSON.stringify(pad)).run();
    try {
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await (await page('/rules')).text())![1]!;
      const form = new URLSearchParams({ _csrf: csrf, kind: 'rules', content: twoTouches });
      const cut = await (await page('/rules/preview', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form })).text();
      expect(cut).toContain('100 deals evaluated');
      // The button submits the same form, proposal included, to the full preview.
      const button = /<button[^>]*id="full-preview"[^>]*>/.exec(cut)?.[0];
      expect(button).toContain('formaction="/rules/previews"');
      expect(cut).toContain('id="full-preview-note"');
      const started = await page('/rules/previews', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
      expect(started.status).toBe(303);
      const p = await finished(started.headers.get('location')!.split('/').at(-1)!);
      expect(p).toMatchObject({ status: 'done', total: 107, evaluated: 107 });
      // The padding has no touches, so it is unchanged; the same three deals change as over the seven.
      expect(p.diff!.unchanged).toBe(104);
      expect(p.changed_total).toBe(3);
    } finally {
      await env.DB.prepare(`DELETE FROM crm_deals WHERE crm_id LIKE 'pad-%'`).run();
    }
  });
});

describe('rules against the connected CRM', () => {
  it('refuses rules whose new stage the active HubSpot mapping cannot write, and the rules page names that file', async () => {
    const advocate = BUNDLED_MAPPINGS.rules.replace(/^stages: \[(.*)\]/m, 'stages: [$1, advocate]');
    const res = await call('/v1/rules', { method: 'PUT', headers: { 'content-type': 'text/yaml' }, body: advocate });
    expect(res.status).toBe(422);
    const body = JSON.stringify(await res.json());
    expect(body).toMatch(/hubspot\.yaml:\d+:\d+ /);
    expect(body).toContain('advocate');
    // Salesforce is not connected here: its mapping is checked when it is.
    expect(body).not.toContain('salesforce.yaml');
    const session = await signSession(loadConfig(env), { sub: 'test:editor', name: 'Editor', role: 'editor' });
    const page = (path: string, init: RequestInit = {}) =>
      exports.default.fetch(new Request(`http://ci.test${path}`, { ...init, headers: { ...init.headers, cookie: `ci_session=${session}` } }));
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await (await page('/rules')).text())![1]!;
    const html = await (await page('/rules/preview', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, kind: 'rules', content: advocate }),
    })).text();
    expect(html).toMatch(/<strong>hubspot\.yaml, line \d+, column \d+<\/strong>/);
  });

  it('activation while a run holds the lease asks that run to run again, so the new rules reach the CRM without waiting for the cron', async () => {
    await idle();
    // A run holding the lease (as one past its attribute step would): simulated so the timing is certain.
    await env.DB.prepare('INSERT INTO sync_state (crm) VALUES (?) ON CONFLICT DO NOTHING').bind('hubspot').run();
    await env.DB.prepare('UPDATE sync_state SET lease_run = ?2, lease_until = ?3, rerun = 0 WHERE crm = ?1')
      .bind('hubspot', 'run_busy', new Date(Date.now() + 60_000).toISOString()).run();
    const res = await call('/v1/rules', { method: 'PUT', headers: { 'content-type': 'text/yaml' }, body: twoTouches });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await res.json<{ runs: { started: boolean }[] }>()).runs[0]!.started).toBe(false);
    expect((await env.DB.prepare('SELECT rerun FROM sync_state WHERE crm = ?').bind('hubspot').first<{ rerun: number }>())!.rerun).toBe(1);
    await env.DB.prepare('UPDATE sync_state SET lease_run = NULL, lease_until = NULL, rerun = 0 WHERE crm = ?').bind('hubspot').run();
  });
});

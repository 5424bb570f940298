import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { BUNDLED_MAPPINGS } from '../../src/rules/bundled';
import { activateRules } from '../../src/store/rules';
import { call, postJson } from './helpers';

/** The rules lifecycle through the API: activation, rollback by hash, and what it refuses. No CRM is connected here. */
const put = (body: unknown) => call('/v1/rules', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const active = async () => (await (await call('/v1/rules')).json<{ rules: { active: { hash: string; content: string; author: string | null } } }>()).rules.active;
const issuesOf = async (res: Response) => (await res.json<{ error: { code: string; issues?: { path: string; message: string }[] } }>()).error;

const shorter = BUNDLED_MAPPINGS.rules.replace(/^(  lookback_days:) \d+/m, '$1 90');
const longer = BUNDLED_MAPPINGS.rules.replace(/^(  lookback_days:) \d+/m, '$1 365');

describe('rules API', () => {
  it('rolls back to an earlier version by the hash GET /v1/rules lists', async () => {
    expect(shorter).not.toBe(BUNDLED_MAPPINGS.rules);
    const first = await put({ kind: 'rules', content: shorter });
    expect(first.status, await first.clone().text()).toBe(200);
    const firstHash = (await first.json<{ hash: string }>()).hash;
    expect(firstHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await put({ kind: 'rules', content: longer })).status).toBe(200);
    expect((await active()).hash).not.toBe(firstHash);
    const back = await put({ kind: 'rules', hash: firstHash });
    expect(back.status, await back.clone().text()).toBe(200);
    expect((await active()).hash).toBe(firstHash);
    // Previewing an earlier version by hash works the same way.
    const preview = await postJson('/v1/rules/preview', { kind: 'rules', hash: firstHash });
    expect(preview.status, await preview.clone().text()).toBe(200);
    expect((await put({ kind: 'rules', hash: 'sha256:0123456789abcdef' })).status).toBe(404);
  });

  it('refuses to activate over a version someone else activated since the caller looked (expected_active), and says who', async () => {
    const seen = (await active()).hash;
    const mine = BUNDLED_MAPPINGS.rules.replace(/^(  lookback_days:) \d+/m, '$1 120');
    const theirs = BUNDLED_MAPPINGS.rules.replace(/^(  lookback_days:) \d+/m, '$1 150');
    expect((await put({ kind: 'rules', content: theirs, expected_active: seen })).status).toBe(200);
    const late = await put({ kind: 'rules', content: mine, expected_active: seen });
    expect(late.status).toBe(409);
    const error = await issuesOf(late);
    expect(error.code).toBe('active_changed');
    const now = await (await call('/v1/rules')).json<{ rules: { active: { hash: string; activated_by: string; activated_at: string } } }>();
    expect(now.rules.active.activated_by).toMatch(/^bootstrap:/);
    expect(error.issues?.[0]).toEqual({ path: 'expected_active', message: `the active version is ${now.rules.active.hash}` });
    expect((await active()).content).toBe(theirs);
    // Without expected_active the last write wins, as before.
    expect((await put({ kind: 'rules', content: mine })).status).toBe(200);
  });

  it('keeps the newest text of a version when only its comments change', async () => {
    const commented = `# lookback shortened for the Q3 review\n${shorter}`;
    const res = await put({ kind: 'rules', content: commented });
    expect(res.status).toBe(200);
    const now = await active();
    expect(now.content).toBe(commented);
    expect((await res.json<{ hash: string }>()).hash).toBe(now.hash);
  });

  it('checks rules against the field mappings of connected CRMs only (none here)', async () => {
    const advocate = BUNDLED_MAPPINGS.rules.replace(/^stages: \[(.*)\]/m, 'stages: [$1, advocate]');
    expect(advocate).not.toBe(BUNDLED_MAPPINGS.rules);
    // With HubSpot connected the same file is refused (test/e2e/full-preview.test.ts).
    expect((await postJson('/v1/rules/preview', { kind: 'rules', content: advocate })).status).toBe(200);
  });

  it('activates a mapping while the active one no longer validates', async () => {
    await activateRules(env.DB, { kind: 'hubspot', hash: 'f'.repeat(64), content: 'crm: hubspot\nfields: 3\n', author: 'test' });
    const res = await put({ kind: 'hubspot', content: BUNDLED_MAPPINGS.hubspot });
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it('refuses a stage listed twice', async () => {
    const twice = BUNDLED_MAPPINGS.rules.replace(/^stages: \[(.*)\]/m, 'stages: [$1, aware]');
    const res = await postJson('/v1/rules/preview', { kind: 'rules', content: twice });
    expect(res.status).toBe(422);
    expect(JSON.stringify(await issuesOf(res))).toMatch(/stages\.4.*listed twice/);
  });

  it('records in the audit log the version each activation replaced, also when two run at once', async () => {
    const before = (await active()).hash;
    const answers = await Promise.all(['sha256:one', 'sha256:two'].map(async (hash) => ({
      hash, ...(await activateRules(env.DB, { kind: 'rules', hash, content: shorter, author: 'test' })),
    })));
    const { results } = await env.DB
      .prepare(`SELECT old_value, new_value FROM audit_log WHERE action = 'rules.activate' ORDER BY id DESC LIMIT 2`)
      .all<{ old_value: string | null; new_value: string }>();
    const [second, first] = results;
    // One chain: the first replaced what was active before, the second replaced the first.
    expect(first!.old_value).toBe(before);
    expect(second!.old_value).toBe(first!.new_value);
    const chain = (rows: [string | null, string][]) => rows.map((r) => r.join('>')).sort();
    expect(chain(answers.map((a) => [a.previous, a.hash]))).toEqual(chain([[first!.old_value, first!.new_value], [second!.old_value, second!.new_value]]));
    expect((await put({ kind: 'rules', content: shorter })).status).toBe(200);
  });

  it('names the field at fault in a malformed request', async () => {
    const kind = await issuesOf(await put({ kind: 'rule', content: 'x' }));
    expect(kind.issues![0]!.path).toBe('kind');
    const neither = await issuesOf(await put({ kind: 'rules' }));
    expect(neither.issues![0]!.path).toBe('content');
  });

  it('answers 409 naming the file, not 503, when the active version no longer validates', async () => {
    // As after a deploy that tightened the schema: stored directly, as no request could activate it.
    await activateRules(env.DB, { kind: 'rules', hash: 'sha256:stale', content: 'window: { lookback_days: -1 }\n', author: 'test' });
    const res = await postJson('/v1/rules/preview', { kind: 'rules', content: shorter });
    expect(res.status).toBe(409);
    const error = await issuesOf(res);
    expect(error.code).toBe('active_rules_invalid');
    expect(error.issues![0]!.path).toBe('rules.yaml');
    // Activating a valid version is the way out.
    expect((await put({ kind: 'rules', content: shorter })).status).toBe(200);
    expect((await postJson('/v1/rules/preview', { kind: 'rules', content: longer })).status).toBe(200);
  });
});

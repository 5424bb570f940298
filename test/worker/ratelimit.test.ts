import { describe, expect, it } from 'vitest';
import { activity, call, countRows, postJson } from './helpers';

describe('ingestion rate limits', () => {
  it('a token that floods the batch API gets 429 with Retry-After; other tokens are unaffected', async () => {
    const mint = async (name: string) => (await (await postJson('/v1/tokens', { name, scopes: ['ingest', 'read'] })).json<{ token: string }>()).token;
    const flooder = await mint('flooder');
    const other = await mint('other');
    const statuses: number[] = [];
    for (let n = 0; n < 160; n++) statuses.push((await postJson('/v1/activities', { activities: [{ nope: n }] }, { token: flooder })).status);
    expect(statuses.slice(0, 150).every((s) => s === 400)).toBe(true);
    const limited = await postJson('/v1/activities', { activities: [activity(1, { external_id: 'rl-1' })] }, { token: flooder });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    expect((await limited.json<{ error: { code: string } }>()).error.code).toBe('rate_limited');
    expect((await postJson('/v1/activities', { activities: [activity(2, { external_id: 'rl-2' })] }, { token: other })).status).toBe(202);
    expect(await countRows('activities', "external_id = 'rl-1'")).toBe(0);
    void call;
  });
});

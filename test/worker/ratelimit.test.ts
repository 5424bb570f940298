import { describe, expect, it } from 'vitest';
import { activity, countRows, postJson, waitFor } from './helpers';

describe('ingestion rate limits', () => {
  it('a token that floods the batch API gets 429 with Retry-After, nothing refused is stored; other tokens are unaffected', async () => {
    const mint = async (name: string) => (await (await postJson('/v1/tokens', { name, scopes: ['ingest', 'read'] })).json<{ token: string }>()).token;
    const flooder = await mint('flooder');
    const other = await mint('other');
    let accepted = 0;
    let limited: Response | null = null;
    // The limiter counts in fixed windows (150 per 60 s here); a flood that straddles a window edge gets a little more.
    for (let n = 0; n < 450 && !limited; n++) {
      const res = await postJson('/v1/activities', { activities: [activity(n, { external_id: `rl-${n}` })] }, { token: flooder });
      if (res.status === 429) limited = res;
      else {
        expect(res.status).toBe(202);
        accepted++;
      }
    }
    expect(limited).not.toBeNull();
    expect(accepted).toBeGreaterThanOrEqual(150);
    expect(limited!.headers.get('retry-after')).toBe('60');
    expect((await limited!.json<{ error: { code: string } }>()).error.code).toBe('rate_limited');
    expect((await postJson('/v1/activities', { activities: [activity(9999, { external_id: 'rl-other' })] }, { token: other })).status).toBe(202);
    await waitFor(async () => (await countRows('activities', "external_id LIKE 'rl-%' AND external_id != 'rl-other'")) === accepted, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(await countRows('activities', "external_id LIKE 'rl-%' AND external_id != 'rl-other'")).toBe(accepted);
  });
});

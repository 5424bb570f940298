/**
 * npm run bench:ui — server time of each page on the demo org, and the largest client JS/CSS asset.
 * Against UI_BASE_URL when set (a running `npm start`), else a fresh sandbox (scripts/sandbox.ts).
 * Per page: median of 10 requests of the Server-Timing `app` duration the UI emits (and the loopback wall time).
 * Last line: {"pages": {"/": ms, ...}, "wall_ms": {...}, "max_client_kb": n, "target_ms": 300}
 */
import { freePort } from '../test/emulators/ports';

const RUNS = 10;
const TARGET_MS = 300;

let base = process.env.UI_BASE_URL ?? '';
let token = process.env.UI_ADMIN_TOKEN ?? 'local-dev-admin-token-not-for-production';
let stop: (() => Promise<void>) | null = null;
if (!base) {
  const { startSandbox } = await import('../scripts/sandbox');
  console.log('starting a sandbox with the demo org …');
  const sb = await startSandbox({ workerPort: await freePort(), hubspotPort: await freePort(), salesforcePort: await freePort(), quiet: true });
  base = sb.workerUrl;
  token = sb.adminToken;
  stop = () => sb.stop();
}

try {
  const signin = await fetch(`${base}/signin/dev`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ name: 'Bench', role: 'admin', next: '/' }) });
  const cookie = (signin.headers.get('set-cookie') ?? '').split(';')[0];
  if (!cookie) throw new Error(`dev sign-in failed (${signin.status}); the Worker must run with ENVIRONMENT=development on 127.0.0.1`);
  const api = async <T>(path: string) => (await (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })).json()) as T;
  const deal = (await api<{ data: { crm: string; deal_id: string }[] }>('/v1/deals?influenced=1&limit=1')).data[0];
  const member = (await api<{ data: { member_id: string }[] }>('/v1/links?status=auto&limit=1')).data[0];
  const pages = ['/', '/?model=first_touch', '/health', '/review', '/rules', '/sync', '/export/dashboard/monthly.csv'];
  if (deal) pages.push(`/deals/${deal.crm}/${deal.deal_id}`);
  if (member) pages.push(`/members/${member.member_id}`);

  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const server: Record<string, number> = {};
  const wall: Record<string, number> = {};
  let maxAsset = 0;
  for (const path of pages) {
    const st: number[] = [];
    const wt: number[] = [];
    // One warm-up request (first compile / cold caches), then RUNS measured.
    for (let i = 0; i <= RUNS; i++) {
      const t0 = performance.now();
      const res = await fetch(`${base}${path}`, { headers: { cookie } });
      const body = await res.text();
      const t1 = performance.now();
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
      if (i === 0) {
        for (const m of body.matchAll(/<(script|style)\b[^>]*>([\s\S]*?)<\/\1>/g)) maxAsset = Math.max(maxAsset, new TextEncoder().encode(m[2]!).length);
        continue;
      }
      const dur = /app;dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1];
      st.push(dur ? Number(dur) : t1 - t0);
      wt.push(t1 - t0);
    }
    server[path] = Math.round(median(st) * 10) / 10;
    wall[path] = Math.round(median(wt) * 10) / 10;
    const flag = server[path]! <= TARGET_MS ? 'ok' : `over ${TARGET_MS} ms`;
    console.log(`${path.padEnd(44)} server ${String(server[path]).padStart(7)} ms   wall ${String(wall[path]).padStart(7)} ms   ${flag}`);
  }
  const maxKb = Math.round((maxAsset / 1024) * 100) / 100;
  console.log(`largest client asset (inline script/style; there are no external assets): ${maxKb} KB`);
  console.log(JSON.stringify({ pages: server, wall_ms: wall, max_client_kb: maxKb, target_ms: TARGET_MS, runs: RUNS }));
} finally {
  await stop?.();
}

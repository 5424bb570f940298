/**
 * `npm start`: the local sandbox. Applies D1 migrations locally, starts the Worker with wrangler dev and prints where
 * everything is. Ctrl-C stops everything it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

const WORKER_PORT = Number(process.env.PORT ?? 8787);
export const LOCAL_ADMIN_TOKEN = 'local-dev-admin-token-not-for-production';
const LOCAL_VARS: Record<string, string> = {
  ADMIN_TOKEN: LOCAL_ADMIN_TOKEN,
  GITHUB_WEBHOOK_SECRET: 'local-github-secret',
  SLACK_SIGNING_SECRET: 'local-slack-secret',
  DISCOURSE_WEBHOOK_SECRET: 'local-discourse-secret',
  HUBSPOT_CLIENT_SECRET: 'local-hubspot-client-secret',
};

const children: ChildProcess[] = [];
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false' };

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`))));
  });
}

/** .dev.vars holds local secrets for wrangler dev; existing values are kept, missing ones filled in. */
function ensureDevVars() {
  const existing = existsSync('.dev.vars') ? readFileSync('.dev.vars', 'utf8') : '';
  const have = new Set(existing.split('\n').map((l) => l.split('=')[0]!.trim()).filter(Boolean));
  const missing = Object.entries(LOCAL_VARS).filter(([k]) => !have.has(k));
  if (missing.length) {
    writeFileSync('.dev.vars', existing + (existing && !existing.endsWith('\n') ? '\n' : '') + missing.map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  }
  const token = /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync('.dev.vars', 'utf8'))?.[1]?.trim();
  return token ?? LOCAL_ADMIN_TOKEN;
}

async function waitReady(url: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await delay(300);
  }
  throw new Error(`${url} did not become ready within ${timeoutMs / 1000} s`);
}

function stopAll() {
  for (const child of children) if (!child.killed) child.kill('SIGTERM');
}

async function main() {
  const token = ensureDevVars();
  await run('wrangler', ['d1', 'migrations', 'apply', 'DB', '--local']);
  const worker = spawn('wrangler', ['dev', '--port', String(WORKER_PORT), '--ip', '127.0.0.1', '--test-scheduled'], { stdio: 'inherit', env });
  children.push(worker);
  worker.on('exit', (code) => {
    console.error(`wrangler dev exited (${code}); stopping.`);
    stopAll();
    process.exit(code ?? 1);
  });
  const base = `http://127.0.0.1:${WORKER_PORT}`;
  await waitReady(`${base}/readyz`);
  console.log(`
community-influence is running locally
  Worker / API     ${base}            (OpenAPI: ${base}/openapi.json)
  Admin token      ${token}
  Try              curl -H "Authorization: Bearer ${token}" ${base}/v1/members
Ctrl-C stops everything.
`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopAll();
    process.exit(0);
  });
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  stopAll();
  process.exit(1);
});

import * as z from 'zod';
import { accessRolesSchema } from './auth/access';

/**
 * Bindings come from wrangler.toml (worker-configuration.d.ts is generated from it by `npm run cf-typegen`);
 * secrets are set with `wrangler secret put` (or .dev.vars locally) and declared here.
 */
export interface Env extends Cloudflare.Env {
  ADMIN_TOKEN?: string;
  SESSION_SECRET?: string;
  GITHUB_WEBHOOK_SECRET?: string;
  SLACK_SIGNING_SECRET?: string;
  SLACK_WORKSPACE_URL?: string;
  DISCOURSE_WEBHOOK_SECRET?: string;
  HUBSPOT_CLIENT_SECRET?: string;
  HUBSPOT_ACCESS_TOKEN?: string;
  HUBSPOT_BASE_URL?: string;
  SALESFORCE_LOGIN_URL?: string;
  SALESFORCE_INSTANCE_URL?: string;
  SALESFORCE_CLIENT_ID?: string;
  SALESFORCE_CLIENT_SECRET?: string;
  SALESFORCE_USERNAME?: string;
  SALESFORCE_PRIVATE_KEY?: string;
  DEALS_CRM?: string;
  SYNC_DEBOUNCE_SECONDS?: string;
  SYNC_WRITES_ENABLED?: string;
  SYNC_STEP_MAX_QUERIES?: string;
  PREVIEW_MAX_DEALS?: string;
  PREVIEW_STEP_DEALS?: string;
  PLAN_CSV_MAX_RECORDS?: string;
  HUBSPOT_REQUESTS_PER_10S?: string;
  HUBSPOT_INDEX_LAG_SECONDS?: string;
  PUBLIC_URL?: string;
  ACCESS_TEAM_DOMAIN?: string;
  ACCESS_AUD?: string;
  ACCESS_ROLES?: string;
  ACCESS_JWKS?: string;
}

const optionalSecret = z.string().min(1).optional();
const intVar = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const domainList = z
  .string()
  .default('')
  .transform((s) => s.split(',').map((d) => d.trim().toLowerCase()).filter(Boolean));

const configSchema = z.object({
  ENVIRONMENT: z.enum(['development', 'test', 'production']).default('production'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  ORG_DOMAINS: domainList,
  MAX_BODY_BYTES: intVar(1_048_576),
  MAX_IMPORT_BYTES: intVar(104_857_600),
  ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  GITHUB_WEBHOOK_SECRET: optionalSecret,
  SLACK_SIGNING_SECRET: optionalSecret,
  /** The workspace's address (https://acme.slack.com): Slack touches link to their message on the deal evidence. */
  SLACK_WORKSPACE_URL: z.url().optional(),
  DISCOURSE_WEBHOOK_SECRET: optionalSecret,
  HUBSPOT_CLIENT_SECRET: optionalSecret,
  HUBSPOT_ACCESS_TOKEN: optionalSecret,
  HUBSPOT_BASE_URL: z.url().default('https://api.hubapi.com'),
  SALESFORCE_LOGIN_URL: z.url().default('https://login.salesforce.com'),
  SALESFORCE_INSTANCE_URL: z.url().optional(),
  SALESFORCE_CLIENT_ID: optionalSecret,
  SALESFORCE_CLIENT_SECRET: optionalSecret,
  SALESFORCE_USERNAME: optionalSecret,
  SALESFORCE_PRIVATE_KEY: optionalSecret,
  /** With both CRMs connected: which one holds the deals (the other contributes contacts and companies). */
  DEALS_CRM: z.enum(['hubspot', 'salesforce']).optional(),
  /** Seconds to coalesce bursts of activity into one incremental run; 0 turns activity-triggered runs off. */
  SYNC_DEBOUNCE_SECONDS: z.coerce.number().int().min(0).max(3600).default(20),
  /** Kill-switch: "false" computes and records planned writes but never sends them to a CRM. */
  SYNC_WRITES_ENABLED: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /**
   * D1 statements a sync step issues before it checkpoints and hands over (as well as its 15 s): D1 allows 1,000
   * queries per Worker invocation on Workers Paid, and a step's last chunk and the runner's bookkeeping need room.
   */
  SYNC_STEP_MAX_QUERIES: z.coerce.number().int().min(20).max(900).default(600),
  /**
   * The rules preview evaluates at most this many of the most recent deals in one request (it also stops at a D1-query
   * budget, PREVIEW_MAX_QUERIES, whichever comes first).
   */
  PREVIEW_MAX_DEALS: z.coerce.number().int().min(100).max(100_000).default(20_000),
  /** Deals a full preview (POST /v1/rules/previews) evaluates per queue message. */
  PREVIEW_STEP_DEALS: z.coerce.number().int().min(1).max(10_000).default(2_000),
  /**
   * Records one download of a run's writes as CSV (the run page) holds at most: the file is built within one request's
   * CPU time (about 2 µs per field line). More is paged through GET /v1/sync/runs/:id/writes.
   */
  PLAN_CSV_MAX_RECORDS: z.coerce.number().int().min(1_000).max(500_000).default(200_000),
  /** HubSpot requests per rolling 10 s for this account (100 by default; 190 on Professional/Enterprise). */
  HUBSPOT_REQUESTS_PER_10S: intVar(100),
  /**
   * HubSpot's search index lags its writes by a few seconds: an incremental pull re-reads this many seconds back, so a
   * record indexed late is not skipped (the re-read ones compare equal to the mirror and are not recomputed).
   */
  HUBSPOT_INDEX_LAG_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  /** Cloudflare Access: team domain (https://<team>.cloudflareaccess.com), application audience tag, role mapping. */
  ACCESS_TEAM_DOMAIN: z.url().optional(),
  ACCESS_AUD: z.string().min(1).optional(),
  ACCESS_ROLES: z
    .string()
    .default('{}')
    .transform((s, ctx) => {
      try {
        const parsed = accessRolesSchema.safeParse(JSON.parse(s));
        if (parsed.success) return parsed.data;
        ctx.addIssue({ code: 'custom', message: parsed.error.issues[0]?.message ?? 'invalid' });
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON like {"admin":["ana@acme.io"],"viewer":["*@acme.io"]}' });
      }
      return z.NEVER;
    }),
  /** Pinned Access signing keys (JWKS JSON) instead of fetching the team's certs. */
  ACCESS_JWKS: z.string().min(2).optional(),
  /** Where people reach the app; deal evidence links written to the CRM point here. */
  PUBLIC_URL: z.url().default('http://127.0.0.1:8787'),
});
export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(`invalid configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

const cache = new WeakMap<object, Config>();

/** Validates the environment once per isolate; throws ConfigError naming each missing or invalid variable. */
export function loadConfig(env: Env): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = (env as unknown as Record<string, unknown>)[key];
    raw[key] = value === '' && key !== 'ORG_DOMAINS' ? undefined : value;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })));
  }
  cache.set(env, parsed.data);
  return parsed.data;
}

export type CrmName = 'hubspot' | 'salesforce';

/** The CRMs with credentials configured, in a stable order. */
export function connectedCrms(config: Config): CrmName[] {
  const out: CrmName[] = [];
  if (config.HUBSPOT_ACCESS_TOKEN) out.push('hubspot');
  if (config.SALESFORCE_CLIENT_ID && (config.SALESFORCE_CLIENT_SECRET || (config.SALESFORCE_USERNAME && config.SALESFORCE_PRIVATE_KEY))) {
    out.push('salesforce');
  }
  return out;
}

/** The CRM whose deals are attributed and written: DEALS_CRM, or the only/first connected one. */
export function dealsCrm(config: Config): CrmName | null {
  const crms = connectedCrms(config);
  if (config.DEALS_CRM && crms.includes(config.DEALS_CRM)) return config.DEALS_CRM;
  return crms[0] ?? null;
}

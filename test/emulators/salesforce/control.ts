/**
 * Control plane under /__emulator/ for tests that reach the emulator only over HTTP (workerd): reset, seed, faults,
 * stats, raw record reads/edits, connected apps and direct field creation. Never counted as API calls.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { Org, OrgCompany, OrgContact, OrgDeal } from '../org';
import { type EmuEnv, sfError } from './http';
import { isSObjectName, METADATA_TYPE_TO_DESCRIBE } from './schema';
import type { SalesforceState } from './state';

const literal = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** Org as zod, annotated with the org.ts types so the two cannot drift apart without a compile error. */
const orgCompany: z.ZodType<OrgCompany> = z.object({
  key: z.string(),
  name: z.string(),
  domain: z.string().nullable(),
  website: z.string().nullable(),
  additionalDomains: z.array(z.string()),
  industry: z.string().nullable(),
  employees: z.number().nullable(),
  country: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const orgContact: z.ZodType<OrgContact> = z.object({
  key: z.string(),
  email: z.string().nullable(),
  additionalEmails: z.array(z.string()),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  title: z.string().nullable(),
  companyKey: z.string().nullable(),
  lifecycleStage: z.enum(['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer']),
  isLead: z.boolean(),
  convertedToContactKey: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const orgDeal: z.ZodType<OrgDeal> = z.object({
  key: z.string(),
  name: z.string(),
  amount: z.number().nullable(),
  currency: z.string(),
  stage: z.enum(['new', 'qualified', 'proposal', 'negotiation', 'won', 'lost']),
  createdAt: z.string(),
  closeDate: z.string().nullable(),
  companyKey: z.string().nullable(),
  contacts: z.array(z.object({ contactKey: z.string(), role: z.string().nullable(), isPrimary: z.boolean() })),
  updatedAt: z.string(),
});
export const orgSchema: z.ZodType<Org> = z.object({ companies: z.array(orgCompany), contacts: z.array(orgContact), deals: z.array(orgDeal) });

/** Every fault kind in one body; several can be armed at once. */
export const faultsBody = z.object({
  /**
   * 5xx for the next `count` calls whose path (version stripped, e.g. `/query`) starts with `pathPrefix`. `html`: an HTML
   * page instead of the surface's own error body, as a proxy or a maintenance page answers.
   */
  serverErrors: z
    .object({ count: z.number().int().positive(), status: z.number().int().min(500).max(599).default(503), pathPrefix: z.string().default(''), html: z.boolean().default(false) })
    .optional(),
  slow: z.object({ count: z.number().int().positive(), delayMs: z.number().int().positive(), pathPrefix: z.string().default('') }).optional(),
  /** Destroys the socket without answering (what a refused/reset connection looks like to the client). */
  drop: z.object({ count: z.number().int().positive(), pathPrefix: z.string().default('') }).optional(),
  /** Applies the request, then destroys the socket: the client never learns that its write landed. */
  loseResponse: z.object({ count: z.number().int().positive(), pathPrefix: z.string().default('') }).optional(),
  /** Applies the request, then answers this 5xx instead of the result. */
  failAfterApply: z.object({ count: z.number().int().positive(), status: z.number().int().min(500).max(599).default(502), pathPrefix: z.string().default('') }).optional(),
  /** Per-record failures in sObject Collections: each id fails `times` times with errorCode (e.g. UNABLE_TO_LOCK_ROW). */
  recordErrors: z.object({ ids: z.array(z.string()).min(1), errorCode: z.string(), message: z.string().optional(), times: z.number().int().positive().default(1) }).optional(),
  /** Uses up the daily API allowance, so the next call gets 403 REQUEST_LIMIT_EXCEEDED. */
  requestLimitExceeded: z.boolean().optional(),
  /** Invalidates every issued token, so the next call gets 401 INVALID_SESSION_ID. */
  expireSession: z.boolean().optional(),
});
export type FaultsBody = z.input<typeof faultsBody>;

const SERVER_ERROR_CODES: Record<number, string> = { 500: 'UNKNOWN_EXCEPTION', 502: 'BAD_GATEWAY', 503: 'SERVER_UNAVAILABLE' };

export function armFaults(state: SalesforceState, f: z.output<typeof faultsBody>): void {
  if (f.serverErrors) {
    const { status, count, pathPrefix, html } = f.serverErrors;
    state.faults.push({ kind: 'status', status, errorCode: SERVER_ERROR_CODES[status] ?? 'SERVER_UNAVAILABLE', pathPrefix, remaining: count, html });
  }
  if (f.slow) state.faults.push({ kind: 'slow', delayMs: f.slow.delayMs, pathPrefix: f.slow.pathPrefix, remaining: f.slow.count });
  if (f.drop) state.faults.push({ kind: 'drop', pathPrefix: f.drop.pathPrefix, remaining: f.drop.count });
  if (f.loseResponse) state.faults.push({ kind: 'lose_response', pathPrefix: f.loseResponse.pathPrefix, remaining: f.loseResponse.count });
  if (f.failAfterApply) {
    const { status, count, pathPrefix } = f.failAfterApply;
    state.faults.push({ kind: 'fail_after_apply', status, errorCode: SERVER_ERROR_CODES[status] ?? 'SERVER_UNAVAILABLE', pathPrefix, remaining: count });
  }
  if (f.recordErrors) {
    const { ids, errorCode, message, times } = f.recordErrors;
    state.recordFaults.push({
      ids: new Set(ids),
      errorCode,
      message: message ?? (errorCode === 'UNABLE_TO_LOCK_ROW' ? 'unable to obtain exclusive access to this record or 1 records' : errorCode),
      remaining: new Map(ids.map((id) => [id, times])),
    });
  }
  if (f.requestLimitExceeded) state.apiUsed = state.dailyApiLimit;
  if (f.expireSession) state.tokens.clear();
}

export function controlRoutes(state: SalesforceState) {
  const app = new Hono<EmuEnv>().basePath('/__emulator');

  app.post('/reset', async (c) => {
    const body = z
      .object({ dailyApiLimit: z.number().int().positive().optional(), multiCurrency: z.boolean().optional(), fieldSecurity: z.boolean().optional() })
      .safeParse(await c.req.json().catch(() => ({})));
    if (!body.success) return c.json({ error: body.error.message }, 400);
    state.reset(body.data);
    return c.json({ ok: true });
  });

  app.post('/seed', async (c) => {
    const org = orgSchema.safeParse(await c.req.json().catch(() => null));
    if (!org.success) return c.json({ error: org.error.message }, 400);
    return c.json(state.seed(org.data));
  });

  app.post('/faults', async (c) => {
    const body = faultsBody.safeParse(await c.req.json().catch(() => null));
    if (!body.success) return c.json({ error: body.error.message }, 400);
    armFaults(state, body.data);
    return c.json({ ok: true });
  });

  app.get('/stats', (c) =>
    c.json({ ...state.stats, apiUsage: { used: state.apiUsed, limit: state.dailyApiLimit }, records: Object.fromEntries(Object.entries(state.records).map(([k, m]) => [k, m.size])) }),
  );

  app.get('/objects/:sobject/:id', (c) => {
    const object = c.req.param('sobject');
    const rec = isSObjectName(object) ? state.records[object].get(c.req.param('id')) : undefined;
    return rec ? c.json(rec) : sfError(c, 404, 'NOT_FOUND', 'The requested resource does not exist');
  });

  /** Edits a record as a user would in the UI: SystemModstamp moves, so incremental pulls see it. */
  app.patch('/objects/:sobject/:id', async (c) => {
    const object = c.req.param('sobject');
    const values = z.record(z.string(), literal).safeParse(await c.req.json().catch(() => null));
    if (!values.success || !isSObjectName(object)) return c.json({ error: 'bad request' }, 400);
    const rec = state.update(object, c.req.param('id'), values.data);
    return rec ? c.json(rec) : sfError(c, 404, 'NOT_FOUND', 'The requested resource does not exist');
  });

  /** Deletes a record (to the recycle bin); `?mergedInto=<id>` makes it the loser of a merge. */
  app.delete('/objects/:sobject/:id', (c) => {
    const object = c.req.param('sobject');
    const ok = isSObjectName(object) && state.delete(object, c.req.param('id'), c.req.query('mergedInto') ?? null);
    return ok ? c.json({ ok: true }) : sfError(c, 404, 'NOT_FOUND', 'The requested resource does not exist');
  });

  /** Converts a Lead into an existing Contact (IsConverted, ConvertedContactId/AccountId), as the convert button does. */
  app.post('/objects/Lead/:id/convert', async (c) => {
    const body = z.object({ contactId: z.string() }).safeParse(await c.req.json().catch(() => null));
    if (!body.success) return c.json({ error: body.error.message }, 400);
    const rec = state.convertLead(c.req.param('id'), body.data.contactId);
    return rec ? c.json(rec) : sfError(c, 404, 'NOT_FOUND', 'The requested resource does not exist');
  });

  app.post('/apps', async (c) => {
    const body = z.object({ clientId: z.string(), clientSecret: z.string().nullable().default(null), publicKeyPem: z.string().nullable().default(null) }).safeParse(await c.req.json().catch(() => null));
    if (!body.success) return c.json({ error: body.error.message }, 400);
    state.apps.set(body.data.clientId, body.data);
    return c.json({ ok: true });
  });

  /**
   * Creates a field directly (e.g. a custom field with the wrong type, to test provisioning refusals); `readOnly` gives the
   * API user read-only field-level security on it, `formula` makes it a calculated field of that type.
   */
  app.post('/fields', async (c) => {
    const body = z
      .object({ sobject: z.string(), name: z.string(), type: z.string(), readOnly: z.boolean().optional(), formula: z.boolean().optional() })
      .safeParse(await c.req.json().catch(() => null));
    if (!body.success || !isSObjectName(body.data.sobject) || !METADATA_TYPE_TO_DESCRIBE[body.data.type]) return c.json({ error: 'bad request' }, 400);
    const { sobject, name, type, readOnly, formula } = body.data;
    return c.json(state.addCustomField(sobject, name, type, { ...(readOnly ? { readOnly } : {}), ...(formula ? { formula } : {}) }));
  });

  return app;
}

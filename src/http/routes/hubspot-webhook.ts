import type { Context } from 'hono';
import * as z from 'zod';
import { connectedCrms } from '../../env';
import { verifyHubspotV3 } from '../../sources/hubspot';
import { scheduleCrmChange } from '../../sync/runner';
import { parseJsonBody, readBody, requireMediaType } from '../body';
import { ApiError, zodIssues } from '../errors';
import type { AppEnv } from '../types';

const eventsSchema = z.array(
  z.looseObject({
    subscriptionType: z.string(),
    objectId: z.union([z.number(), z.string()]).optional(),
    propertyName: z.string().optional(),
    occurredAt: z.number().optional(),
  }),
).max(1000);

/**
 * HubSpot CRM change notifications (webhooks v3). They only say "something changed"; the incremental pull reads what.
 * Changes to our own community_* properties are our writes coming back and never start a run (no feedback loop).
 */
export async function hubspotWebhook(c: Context<AppEnv>) {
  const config = c.get('config');
  if (!config.HUBSPOT_CLIENT_SECRET) throw new ApiError(503, 'not_configured', 'HUBSPOT_CLIENT_SECRET is not set; this webhook is disabled');
  const raw = await readBody(c.req.raw, config.MAX_BODY_BYTES);
  const verdict = await verifyHubspotV3(
    config.HUBSPOT_CLIENT_SECRET, c.req.method, c.req.url, raw,
    c.req.header('x-hubspot-request-timestamp') ?? null, c.req.header('x-hubspot-signature-v3') ?? null, Date.now(),
  );
  if (!verdict.ok) {
    throw new ApiError(401, 'bad_signature', verdict.reason === 'stale' ? 'X-HubSpot-Request-Timestamp is older than 5 minutes' : 'X-HubSpot-Signature-v3 is missing or does not match');
  }
  requireMediaType(c, 'application/json');
  const parsed = eventsSchema.safeParse(parseJsonBody(raw));
  if (!parsed.success) throw new ApiError(400, 'invalid_payload', 'expected an array of HubSpot webhook events', zodIssues(parsed.error));
  const relevant = parsed.data.filter((e) => !(e.propertyName ?? '').startsWith('community_'));
  if (!relevant.length) return c.json({ status: 'ignored', reason: 'only community_* properties changed (our own writes)' }, 200);
  if (!connectedCrms(config).includes('hubspot')) return c.json({ status: 'ignored', reason: 'HubSpot is not connected' }, 200);
  await scheduleCrmChange(c.env, 'hubspot');
  return c.json({ status: 'accepted', events: relevant.length }, 202);
}

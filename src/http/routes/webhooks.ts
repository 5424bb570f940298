import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { ActivityInput } from '../../activity/schema';
import { enqueueActivities } from '../../ingest/enqueue';
import { normaliseDiscourse, verifyDiscourseSignature } from '../../sources/discourse';
import { normaliseGithub, verifyGithubSignature } from '../../sources/github';
import { normaliseSlack, verifySlackSignature } from '../../sources/slack';
import { deliverySeen, recordDelivery } from '../../store/deliveries';
import { hubspotWebhook } from './hubspot-webhook';
import { parseJsonBody, readBody, requireMediaType } from '../body';
import { ApiError } from '../errors';
import type { AppEnv } from '../types';
import { byClient, rateLimit } from '../ratelimit';

export const webhooks = new Hono<AppEnv>();

type SecretName = 'GITHUB_WEBHOOK_SECRET' | 'SLACK_SIGNING_SECRET' | 'DISCOURSE_WEBHOOK_SECRET' | 'HUBSPOT_CLIENT_SECRET';

function secretOf(c: Context<AppEnv>, name: SecretName) {
  const secret = c.get('config')[name];
  if (!secret) throw new ApiError(503, 'not_configured', `${name} is not set; this webhook is disabled`);
  return secret;
}

/** A disabled webhook says so (503); it runs before the limiter, so a sender retrying it sees why, not a 429. */
const requireSecret = (name: SecretName): MiddlewareHandler<AppEnv> => async (c, next) => {
  secretOf(c, name);
  await next();
};
const limited = rateLimit(byClient);

type Normalised =
  | { kind: 'activities'; activities: ActivityInput[] }
  | { kind: 'ignored'; reason: string }
  | { kind: 'invalid'; issues: { path: string; message: string }[] };

/** The shared tail of every webhook: dedupe on the delivery id, enqueue, answer 202. */
async function accept(c: Context<AppEnv>, source: string, deliveryId: string | null, result: Normalised) {
  if (result.kind === 'invalid') {
    throw new ApiError(400, 'invalid_payload', `the ${source} payload is missing fields this event needs`, result.issues);
  }
  if (result.kind === 'ignored' || result.activities.length === 0) {
    const reason = result.kind === 'ignored' ? result.reason : 'the event carries no activity';
    return c.json({ status: 'ignored', reason }, 202);
  }
  if (deliveryId && (await deliverySeen(c.env.DB, source, deliveryId))) {
    return c.json({ status: 'duplicate', delivery: deliveryId }, 200);
  }
  await enqueueActivities(c.env.ACTIVITIES, result.activities, `webhook:${source}`);
  if (deliveryId) await recordDelivery(c.env.DB, source, deliveryId);
  c.get('log').info('webhook accepted', { source, delivery: deliveryId, activities: result.activities.length });
  return c.json({ status: 'accepted', activities: result.activities.length }, 202);
}

webhooks.post('/github', requireSecret('GITHUB_WEBHOOK_SECRET'), limited, async (c) => {
  const secret = secretOf(c, 'GITHUB_WEBHOOK_SECRET');
  const raw = await readBody(c.req.raw, c.get('config').MAX_BODY_BYTES);
  if (!(await verifyGithubSignature(secret, raw, c.req.header('x-hub-signature-256') ?? null))) {
    throw new ApiError(401, 'bad_signature', 'X-Hub-Signature-256 is missing or does not match the body');
  }
  requireMediaType(c, 'application/json');
  const event = c.req.header('x-github-event');
  if (!event) throw new ApiError(400, 'invalid_request', 'X-GitHub-Event header is missing', [{ path: 'headers.x-github-event', message: 'required' }]);
  const deliveryId = c.req.header('x-github-delivery') ?? null;
  const result = normaliseGithub(event, parseJsonBody(raw), { deliveryId: deliveryId ?? undefined, receivedAt: new Date().toISOString() });
  if (result.kind === 'ping') return c.json({ status: 'pong' }, 200);
  return accept(c, 'github', deliveryId, result);
});

webhooks.post('/discourse', requireSecret('DISCOURSE_WEBHOOK_SECRET'), limited, async (c) => {
  const secret = secretOf(c, 'DISCOURSE_WEBHOOK_SECRET');
  const raw = await readBody(c.req.raw, c.get('config').MAX_BODY_BYTES);
  if (!(await verifyDiscourseSignature(secret, raw, c.req.header('x-discourse-event-signature') ?? null))) {
    throw new ApiError(401, 'bad_signature', 'X-Discourse-Event-Signature is missing or does not match the body');
  }
  requireMediaType(c, 'application/json');
  const event = c.req.header('x-discourse-event') ?? '';
  const eventType = c.req.header('x-discourse-event-type') ?? '';
  const instance = c.req.header('x-discourse-instance') ?? undefined;
  const result = normaliseDiscourse(event, eventType, parseJsonBody(raw), instance, new Date().toISOString());
  if (result.kind === 'ping') return c.json({ status: 'pong' }, 200);
  const deliveryId = c.req.header('x-discourse-event-id');
  return accept(c, 'discourse', deliveryId ? `${instance ?? ''}#${deliveryId}` : null, result);
});

webhooks.post('/slack', requireSecret('SLACK_SIGNING_SECRET'), limited, async (c) => {
  const secret = secretOf(c, 'SLACK_SIGNING_SECRET');
  const raw = await readBody(c.req.raw, c.get('config').MAX_BODY_BYTES);
  const verdict = await verifySlackSignature(
    secret, raw, c.req.header('x-slack-request-timestamp') ?? null, c.req.header('x-slack-signature') ?? null,
    Math.floor(Date.now() / 1000),
  );
  if (!verdict.ok) {
    const why = verdict.reason === 'stale' ? 'X-Slack-Request-Timestamp is more than 5 minutes from now' : 'X-Slack-Signature is missing or does not match the body';
    throw new ApiError(401, 'bad_signature', why);
  }
  requireMediaType(c, 'application/json');
  const payload = parseJsonBody(raw);
  const result = normaliseSlack(payload, { workspaceUrl: c.get('config').SLACK_WORKSPACE_URL });
  if (result.kind === 'url_verification') return c.json({ challenge: result.challenge }, 200);
  const eventId = typeof payload === 'object' && payload && 'event_id' in payload ? String(payload.event_id) : null;
  return accept(c, 'slack', eventId, result);
});

webhooks.post('/hubspot', requireSecret('HUBSPOT_CLIENT_SECRET'), limited, hubspotWebhook);

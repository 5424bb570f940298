import * as z from 'zod';
import { activityInputSchema } from '../activity/schema';
import { csvMappingSchema } from '../imports/mapping';

const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        issues: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
      },
    },
  },
};

const bearer = [{ bearer: [] }];
const errorContent = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
const errors = (...codes: number[]) => Object.fromEntries(codes.map((code) => [code, { description: 'error', content: errorContent }]));
/** Ingestion routes share one limiter (src/http/ratelimit.ts): per token on /v1/*, per client IP and route on /webhooks/*. */
const rateLimited = {
  429: { description: 'rate_limited', headers: { 'Retry-After': { description: 'seconds', schema: { type: 'integer' } } }, content: errorContent },
};
const secretUnset = { 503: { description: 'not_configured: the signing secret is unset, so this webhook is disabled', content: errorContent } };

let cached: object | null = null;

/** OpenAPI 3.1 document; request schemas are generated from the same zod schemas the handlers validate with. */
export function openapi(): object {
  cached ??= {
    openapi: '3.1.0',
    info: { title: 'community-influence', version: '1', description: 'Community activity in, CRM influence out.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API token with scopes ingest, read, configure, admin' } },
      schemas: {
        Error: errorSchema,
        Activity: z.toJSONSchema(activityInputSchema, { io: 'input' }),
        CsvMapping: z.toJSONSchema(csvMappingSchema, { io: 'input' }),
      },
    },
    paths: {
      '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'ok' } } } },
      '/readyz': { get: { summary: 'Readiness: D1 reachable, configuration valid', responses: { 200: { description: 'ready' }, 503: { description: 'not ready' } } } },
      '/webhooks/github': { post: { summary: 'GitHub webhook (X-Hub-Signature-256)', responses: { 200: { description: 'ping or duplicate delivery' }, 202: { description: 'accepted or ignored' }, ...errors(400, 401, 413, 415), ...rateLimited, ...secretUnset } } },
      '/webhooks/discourse': { post: { summary: 'Discourse webhook (X-Discourse-Event-Signature)', responses: { 200: { description: '{status: "pong"} for a ping; {status: "duplicate"} for an X-Discourse-Event-Id already accepted' }, 202: { description: 'accepted or ignored' }, ...errors(400, 401, 413, 415), ...rateLimited, ...secretUnset } } },
      '/webhooks/slack': { post: { summary: 'Slack Events API (v0 signing)', responses: { 200: { description: '{challenge} for url_verification; {status: "duplicate"} for an event_id already accepted (Slack retries)' }, 202: { description: 'accepted or ignored' }, ...errors(400, 401, 413, 415), ...rateLimited, ...secretUnset } } },
      '/v1/activities': {
        post: {
          summary: 'Ingest a batch of up to 1000 activities', security: bearer,
          requestBody: { content: { 'application/json': { schema: { type: 'object', required: ['activities'], properties: { activities: { type: 'array', maxItems: 1000, items: { $ref: '#/components/schemas/Activity' } } } } } } },
          responses: { 202: { description: '{accepted, rejected: [{index, issues}]}' }, ...errors(400, 401, 403, 413, 415), ...rateLimited },
        },
        get: {
          summary: 'List activities, newest received first', security: bearer,
          parameters: ['member', 'identity', 'source', 'type', 'since', 'until', 'cursor', 'limit'].map((name) => ({ name, in: 'query', schema: { type: 'string' } })),
          responses: { 200: { description: '{data, next_cursor}' }, ...errors(400, 401, 403) },
        },
      },
      '/v1/imports': {
        post: {
          summary: 'Import CSV (with ?mapping=) or NDJSON activities, streamed', security: bearer,
          description: 'Bad rows are rejected by line (errors[]); the rest are stored. An upload that breaks off after rows were queued (413 past MAX_IMPORT_BYTES without content-length, 503) answers with error.import {id, status, rows_sent, last_row}: those rows are stored; sending the file again is safe.',
          parameters: [{ name: 'mapping', in: 'query', description: 'JSON CsvMapping, required for text/csv', schema: { type: 'string' } }, { name: 'filename', in: 'query', schema: { type: 'string' } }],
          requestBody: { content: { 'text/csv': {}, 'application/x-ndjson': {} } },
          responses: { 202: { description: 'import job' }, ...errors(400, 401, 403, 413, 415, 503), ...rateLimited },
        },
      },
      '/v1/imports/{id}': { get: { summary: 'Import job with counts and rejected rows', security: bearer, responses: { 200: { description: 'import job' }, ...errors(401, 403, 404) } } },
      '/v1/members': { get: { summary: 'Find members (?identity=github:octocat) or list them', security: bearer, responses: { 200: { description: '{data, next_cursor}' }, ...errors(400, 401, 403) } } },
      '/v1/members/suggestions': {
        get: {
          summary: '"These two members may be one person": open suggestions, best score first; a pair with `blocked` reasons shares a verified identifier but cannot be merged, so only not-same applies', security: bearer,
          parameters: [
            { name: 'member', in: 'query', description: 'only suggestions involving this member', schema: { type: 'string' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
            { name: 'cursor', in: 'query', description: 'the previous page\'s next_cursor, unchanged', schema: { type: 'string' } },
          ],
          responses: { 200: { description: '{data: [{member_a: {id, display_name}, member_b, keep, score, reasons, blocked, created_at, updated_at}], next_cursor}; keep: the member a merge should keep (the older, as automatic merges do); next_cursor is null when this page is not full' }, ...errors(400, 401, 403) },
        },
      },
      '/v1/members/conflicts': {
        get: {
          summary: 'What identity resolution could not settle (a CRM email on several records, a role mailbox, a name mismatch, …), newest first', security: bearer,
          parameters: [
            { name: 'member', in: 'query', description: 'only this member\'s conflicts', schema: { type: 'string' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
          ],
          responses: { 200: { description: '{data: [{member_id, display_name, code, message, refs, created_at}]}' }, ...errors(400, 401, 403) },
        },
      },
      '/v1/members/{id}/not-same': {
        post: {
          summary: 'Record that this member and {member} are different people (configure): automation never merges or suggests the pair again; the suggestion is removed; audited', security: bearer,
          requestBody: { content: { 'application/json': { schema: { type: 'object', required: ['member'], properties: { member: { type: 'string', description: 'the other member\'s id' } } } } } },
          responses: { 200: { description: '{member_a, member_b, decision: "not_same"} (the pair in id order)' }, ...errors(400, 401, 403, 404, 409, 413, 415) },
        },
      },
      '/v1/members/{id}/merge': { post: { summary: 'Merge another member into this one ({member_id}); 409 with reasons when blocked', security: bearer, responses: { 200: { description: 'merge record' }, ...errors(400, 401, 403, 404, 409, 413, 415) } } },
      '/v1/members/{id}/unmerge': { post: { summary: 'Undo a merge into this member ({merge_id?}); records "not the same person"', security: bearer, responses: { 200: { description: 'restored' }, ...errors(400, 401, 403, 404, 409, 413, 415) } } },
      '/v1/members/{id}/affiliations': {
        post: { summary: 'Set a manual affiliation {crm, company_id|null, from?, to?} (configure); it beats CRM and email history', security: bearer, responses: { 201: { description: 'created' }, ...errors(400, 401, 403, 404, 413, 415) } },
        get: { summary: 'Manual affiliations of a member', security: bearer, responses: { 200: { description: '{data}' }, ...errors(401, 403) } },
      },
      '/v1/members/{id}/affiliations/{aid}': { delete: { summary: 'Remove a manual affiliation (configure)', security: bearer, responses: { 204: { description: 'removed' }, ...errors(401, 403, 404) } } },
      '/v1/members/{id}/export': { get: { summary: 'Everything stored about a member (admin)', security: bearer, responses: { 200: { description: 'export' }, ...errors(401, 403, 404) } } },
      '/v1/members/{id}': { get: { summary: 'A member with identities, activity counts, its open merge suggestions (up to 20) and identity conflicts (up to 50)', security: bearer, responses: { 200: { description: 'member' }, ...errors(401, 403, 404) } }, delete: { summary: 'Erase a member (admin): personal data, identities, activities; deals recomputed', security: bearer, responses: { 200: { description: 'erased' }, ...errors(401, 403, 404) } } },
      '/v1/links': { get: { summary: 'Member ↔ CRM links; ?status=suggested is the review queue', security: bearer, responses: { 200: { description: '{data, next_cursor}' }, ...errors(400, 401, 403) } } },
      '/v1/links/{id}/confirm': { post: { summary: 'Confirm a link (configure); automation never overrides it', security: bearer, responses: { 200: { description: 'link' }, ...errors(400, 401, 403, 404) } } },
      '/v1/links/{id}/reject': { post: { summary: 'Reject a link (configure)', security: bearer, responses: { 200: { description: 'link' }, ...errors(400, 401, 403, 404) } } },
      '/v1/sync': { post: { summary: 'Start a run per connected CRM (admin); ?dryRun=1, ?full=1, ?crm=', security: bearer, responses: { 202: { description: '{runs}' }, ...errors(400, 401, 403, 409) } } },
      '/v1/sync/runs': {
        get: {
          summary: 'Run history, newest first', security: bearer,
          parameters: [
            { name: 'crm', in: 'query', schema: { type: 'string', enum: ['hubspot', 'salesforce'] } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
            { name: 'before', in: 'query', description: 'ISO date-time: runs created before it (the previous page\'s next_before)', schema: { type: 'string', format: 'date-time' } },
          ],
          responses: { 200: { description: '{data, next_before}; next_before (pass it as before for the next page) is null when this page is not full' }, ...errors(400, 401, 403) },
        },
      },
      '/v1/sync/runs/{id}': { get: { summary: 'One run: stage, progress, counts (CRM calls, D1 rows), errors, planned/sent writes', security: bearer, responses: { 200: { description: 'run; writes: {by_status, records, next_cursor, all_url}: records are the first 500 by object and CRM id; next_cursor (null when there are no more) continues them on all_url, /v1/sync/runs/{id}/writes' }, ...errors(401, 403, 404) } } },
      '/v1/sync/runs/{id}/writes': {
        get: {
          summary: 'Every planned write of a run (a dry run\'s whole plan), by object and CRM id, a page at a time; CSV with Accept: text/csv or ?format=csv', security: bearer,
          parameters: [
            { name: 'status', in: 'query', schema: { type: 'string', enum: ['pending', 'written', 'failed', 'skipped'] } },
            { name: 'object', in: 'query', schema: { type: 'string', enum: ['deal', 'contact', 'company'] } },
            { name: 'limit', in: 'query', description: 'records per page', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 200 } },
            { name: 'cursor', in: 'query', description: 'the previous page\'s next_cursor (or x-next-cursor), unchanged', schema: { type: 'string' } },
            { name: 'format', in: 'query', schema: { type: 'string', enum: ['json', 'csv'] } },
          ],
          responses: {
            200: {
              description: 'JSON {data: [{object, crm_id, status, error, fields, old}], next_cursor}, next_cursor null on the last page; old lacks a field never written. CSV: the diff sheet, a line per record and field (object,crm_id,field,old,new,status,error), the next page\'s cursor in x-next-cursor (absent on the last page)',
              headers: { 'x-next-cursor': { description: 'CSV only: the cursor of the next page', schema: { type: 'string' } } },
              content: { 'application/json': {}, 'text/csv': {} },
            },
            ...errors(400, 401, 403, 404),
          },
        },
      },
      '/v1/deals': { get: { summary: 'Deals with their influence outputs', security: bearer, responses: { 200: { description: '{data}' }, ...errors(400, 401, 403) } } },
      '/v1/deals/{crm}/{id}/influence': { get: { summary: 'The evidence for one deal: every counted touch and its credit per model', security: bearer, responses: { 200: { description: 'evidence' }, ...errors(400, 401, 403, 404) } } },
      '/v1/rules': {
        get: { summary: 'Active rules and mappings with their history', security: bearer, responses: { 200: { description: 'rules' }, ...errors(401, 403) } },
        put: { summary: 'Activate a version ({kind, content}) or roll back ({kind, hash}) (configure); with expected_active (the active hash previewed against) a version activated since is a 409 active_changed', security: bearer, responses: { 200: { description: 'activated' }, ...errors(400, 401, 403, 404, 409, 413, 415, 422) } },
      },
      '/v1/rules/preview': { post: { summary: 'Evaluate proposed rules on current data; the difference, nothing written (configure)', security: bearer, responses: { 200: { description: 'diff' }, ...errors(400, 401, 403, 404, 409, 413, 415, 422) } } },
      '/v1/rules/previews': { post: { summary: 'Start a full preview: proposed rules evaluated on every deal in the background (configure)', security: bearer, responses: { 202: { description: '{id, status, total, reused, status_url}; reused: the same proposal was already running and this is that preview' }, ...errors(400, 401, 403, 404, 409, 413, 415, 422) } } },
      '/v1/rules/previews/{id}': { get: { summary: 'A full preview: status, progress and, once done, the difference over every deal (configure)', security: bearer, responses: { 200: { description: 'preview' }, ...errors(401, 403, 404) } } },
      '/v1/audit': { get: { summary: 'Audit log with filters; CSV with Accept: text/csv or ?format=csv (admin)', security: bearer, responses: { 200: { description: 'entries' }, ...errors(400, 401, 403) } } },
      '/v1/dead-letters': {
        get: {
          summary: 'Queue messages that could not be processed, newest first (admin); bodies are left out', security: bearer,
          parameters: [
            { name: 'queue', in: 'query', schema: { type: 'string', enum: ['ci-activities-dlq', 'ci-sync-dlq'] } },
            { name: 'state', in: 'query', description: 'open: not replayed', schema: { type: 'string', enum: ['open', 'replayed', 'all'], default: 'open' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 50 } },
            { name: 'cursor', in: 'query', description: 'the previous page\'s next_cursor', schema: { type: 'integer', minimum: 1 } },
          ],
          responses: { 200: { description: '{data: [{id, queue, reason, received_at, replayed_at, replayed_by, replayable, activities, origin}], next_cursor}; activities (how many the message holds) and origin are null unless the body is an activities message; replayable: Replay would send it now (open, an activities message, no member erased since it was accepted); next_cursor is null on the last page' }, ...errors(400, 401, 403) },
        },
      },
      '/v1/dead-letters/{id}': { get: { summary: 'One dead letter with its body (parsed JSON, or the text when it is not JSON) (admin)', security: bearer, responses: { 200: { description: '{id, queue, reason, received_at, replayed_at, replayed_by, replayable, activities, origin, body}' }, ...errors(400, 401, 403, 404) } } },
      '/v1/dead-letters/{id}/replay': {
        post: {
          summary: 'Send an activities dead letter\'s message to the activities queue again and mark it replayed (admin); safe, as activities are stored once per source and external id; audited', security: bearer,
          responses: {
            202: { description: 'the dead letter, as GET /v1/dead-letters/{id}, with replayed_at and replayed_by set' },
            ...errors(400, 401, 403, 404),
            409: { description: 'already_replayed; or erased_since: a member was erased after the message was accepted, so replaying it could restore erased activities (send what is wanted through POST /v1/activities)', content: errorContent },
            422: { description: 'not_replayable: the body is not an activities message (the message gives the recorded reason), or a sync-queue message, whose work the next sync run takes up', content: errorContent },
            503: { description: 'queue_unavailable: the queue did not take the message; the dead letter stays open', content: errorContent },
          },
        },
      },
      '/webhooks/hubspot': { post: { summary: 'HubSpot CRM change notifications (v3 signature)', responses: { 202: { description: 'accepted' }, 200: { description: 'ignored' }, ...errors(400, 401, 413, 415), ...rateLimited, ...secretUnset } } },
      '/v1/tokens': {
        post: { summary: 'Create an API token (admin); the secret is returned once', security: bearer, responses: { 201: { description: 'token' }, ...errors(400, 401, 403, 413, 415) } },
        get: { summary: 'List API tokens with last use (admin)', security: bearer, responses: { 200: { description: 'tokens' }, ...errors(401, 403) } },
      },
      '/v1/tokens/{id}': { delete: { summary: 'Revoke an API token (admin)', security: bearer, responses: { 204: { description: 'revoked' }, ...errors(401, 403, 404) } } },
    },
  };
  return cached;
}

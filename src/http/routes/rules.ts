import { Hono, type Context } from 'hono';
import * as z from 'zod';
import { requireScope } from '../../auth/tokens';
import { getRulesVersion, listRulesVersions, type RulesKind } from '../../store/rules';
import { readFullPreview, startFullPreview } from '../../sync/full-preview';
import { activateVersion, activeVersion, previewRules, validateProposal } from '../../sync/rules-change';
import { startedRunJson } from '../../sync/runner';
import { mediaType, parseJsonBody, readBody } from '../body';
import { ApiError } from '../errors';
import type { AppEnv } from '../types';
import { parseWith } from '../validate';

export const rules = new Hono<AppEnv>();

const KINDS = ['rules', 'hubspot', 'salesforce'] as const;
const kindSchema = z.enum(KINDS).default('rules');
/** Either the file's content or an earlier version's hash (rules: `sha256:<hex>`, mappings: plain hex). */
const proposalSchema = z
  .object({
    kind: kindSchema,
    content: z.string().min(1).max(512_000).optional(),
    hash: z.string().regex(/^(sha256:)?[0-9a-f]{16,64}$/, 'a version hash from GET /v1/rules').optional(),
    /** PUT only: the active hash the caller previewed against; another activation since then is a 409, not a silent revert. */
    expected_active: z.string().regex(/^(sha256:)?[0-9a-f]{16,64}$/, 'the active hash from GET /v1/rules').optional(),
  })
  .superRefine((p, ctx) => {
    if ((p.content === undefined) === (p.hash === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['content'], message: 'send either content (the file) or hash (an earlier version), not both' });
    }
  });

/** JSON {kind, content} or {kind, hash}; or the YAML itself as text/yaml with ?kind=. */
async function readProposal(c: Context<AppEnv>): Promise<{ kind: RulesKind; content?: string; hash?: string; expected_active?: string }> {
  const type = mediaType(c);
  const raw = await readBody(c.req.raw, 512_000);
  if (type === 'text/yaml' || type === 'application/yaml' || type === 'text/plain') {
    const kind = kindSchema.safeParse(c.req.query('kind'));
    if (!kind.success) throw new ApiError(400, 'invalid_request', 'kind must be rules, hubspot or salesforce', [{ path: 'query.kind', message: kind.error.issues[0]!.message }]);
    const expected = c.req.query('expected_active');
    return { kind: kind.data, content: new TextDecoder().decode(raw), ...(expected ? { expected_active: expected } : {}) };
  }
  if (type !== 'application/json') throw new ApiError(415, 'unsupported_media_type', 'send application/json {kind, content} or text/yaml');
  return parseWith(proposalSchema, parseJsonBody(raw));
}

/** The proposed file's text: sent as content, or an earlier version's by hash (404 if there is none). */
async function proposalContent(c: Context<AppEnv>, proposal: { kind: RulesKind; content?: string; hash?: string }): Promise<string> {
  const content = proposal.content ?? (await getRulesVersion(c.env.DB, proposal.kind, proposal.hash!))?.content;
  if (content === undefined) throw new ApiError(404, 'not_found', `no ${proposal.kind} version ${proposal.hash}`);
  return content;
}

function invalidRules(issues: { file: string; line: number; column: number; path: string; message: string }[]): ApiError {
  return new ApiError(422, 'invalid_rules', 'the proposed file is invalid; nothing was changed',
    issues.map((i) => ({ path: `${i.file}:${i.line}:${i.column} ${i.path}`, message: i.message })));
}

rules.get('/', requireScope('read'), async (c) => {
  const out: Record<string, unknown> = {};
  for (const kind of KINDS) {
    out[kind] = { active: await activeVersion(c.env.DB, kind), history: await listRulesVersions(c.env.DB, kind) };
  }
  return c.json(out);
});

/** Evaluates proposed rules on current data and answers the difference; writes nothing. */
rules.post('/preview', requireScope('configure'), async (c) => {
  const proposal = await readProposal(c);
  const content = await proposalContent(c, proposal);
  const validated = await validateProposal(c.env.DB, c.get('config'), proposal.kind, content);
  if (!validated.ok) throw invalidRules(validated.issues);
  if (!validated.rules) return c.json({ kind: proposal.kind, hash: validated.hash, valid: true, diff: null });
  return c.json({ kind: proposal.kind, hash: validated.hash, valid: true, ...(await previewRules(c.env.DB, c.get('config'), validated.rules)) });
});

/**
 * Starts a full preview: the proposal evaluated on every deal in the background, a queue message per chunk (the
 * one-request preview above stops at the most recent PREVIEW_MAX_DEALS). Poll the status URL until `done`.
 */
rules.post('/previews', requireScope('configure'), async (c) => {
  const proposal = await readProposal(c);
  if (proposal.kind !== 'rules') {
    throw new ApiError(400, 'invalid_request', 'only rules.yaml changes influence values; a field mapping has nothing to preview', [{ path: 'kind', message: 'must be rules' }]);
  }
  const content = await proposalContent(c, proposal);
  const principal = c.get('principal')!;
  const started = await startFullPreview(c.env, c.get('config'), content, `${principal.kind}:${principal.id}`);
  if (!started.ok) throw 'issues' in started ? invalidRules(started.issues) : new ApiError(started.status, started.code, started.error);
  c.header('location', `/v1/rules/previews/${started.id}`);
  // A repeat of a running preview answers with that preview, not a second one.
  return c.json({ id: started.id, status: 'running', total: started.total, reused: started.reused, status_url: `/v1/rules/previews/${started.id}` }, 202);
});

rules.get('/previews/:id', requireScope('configure'), async (c) => {
  const preview = await readFullPreview(c.env, c.req.param('id'));
  if (!preview) throw new ApiError(404, 'not_found', `no preview ${c.req.param('id')}`);
  return c.json(preview);
});

/** Activates a new version (content) or rolls back to an earlier one (hash); the next runs recompute and write back. */
rules.put('/', requireScope('configure'), async (c) => {
  const proposal = await readProposal(c);
  const content = await proposalContent(c, proposal);
  if (proposal.expected_active !== undefined) {
    const current = await activeVersion(c.env.DB, proposal.kind);
    if (current.hash !== proposal.expected_active) {
      throw new ApiError(409, 'active_changed', `${proposal.kind}.yaml version ${current.hash} was activated${current.activated_by ? ` by ${current.activated_by} at ${current.activated_at}` : ''} since; preview against it, then activate`,
        [{ path: 'expected_active', message: `the active version is ${current.hash}` }]);
    }
  }
  const principal = c.get('principal')!;
  const result = await activateVersion(c.env, c.get('config'), { kind: proposal.kind, content, author: `${principal.kind}:${principal.id}` });
  if (!result.ok) throw invalidRules(result.issues);
  c.get('log').info('rules activated', { kind: proposal.kind, hash: result.hash, previous: result.previous });
  return c.json({ kind: proposal.kind, hash: result.hash, previous: result.previous, runs: result.runs.map(startedRunJson) });
});

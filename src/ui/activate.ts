import { connectedCrms, type Config, type Env } from '../env';
import { activateRules, type RulesKind } from '../store/rules';
import { startRun, type StartResult } from '../sync/runner';
import { markAllDirtyStmts, validateProposal } from '../sync/rules-change';
import type { SourceIssue } from '../rules';

/**
 * Validates and activates a rules/mapping version, marks everything dirty and starts a run per connected CRM — the same
 * steps as PUT /v1/rules (src/http/routes/rules.ts). Shared so the page and the API cannot drift; the lead may move the
 * route onto it.
 */
export async function activateVersion(
  env: Env,
  config: Config,
  input: { kind: RulesKind; content: string; author: string },
): Promise<{ ok: true; hash: string; previous: string | null; runs: StartResult[] } | { ok: false; issues: SourceIssue[] }> {
  const validated = await validateProposal(env.DB, config, input.kind, input.content);
  if (!validated.ok) return validated;
  const { previous } = await activateRules(env.DB, { kind: input.kind, hash: validated.hash, content: input.content, author: input.author });
  const dirty = markAllDirtyStmts(env.DB, config);
  if (dirty.length) await env.DB.batch(dirty);
  const runs = await Promise.all(connectedCrms(config).map((crm) => startRun(env, crm, { trigger: 'api' })));
  return { ok: true, hash: validated.hash, previous, runs };
}

/**
 * GitHub webhook payload → ActivityInput. Pure: no I/O, never throws on any input (property-tested).
 *
 * external_id schemes use GitHub's natural ids, never the delivery GUID alone, so a redelivery or a later re-import of
 * the same fact dedupes on (source, external_id). Facts that can repeat (an issue closed, reopened, closed again) carry
 * the time of that occurrence in the id.
 */
import type { z } from 'zod';
import type { ActivityInput, IdentityInput } from '../../activity/schema';
import { activities, clip, definedOnly, ignored, invalidFrom, toIso, type NormaliseResult, type PingResult } from '../result';
import {
  actionSchema,
  discussionAnsweredSchema,
  discussionCommentEventSchema,
  discussionSchemaEvent,
  forkSchema,
  issueCommentSchema,
  issuesSchema,
  pullRequestEventSchema,
  releaseSchema,
  reviewSchema,
  starSchema,
  baseSchema,
  type GithubUser,
} from './schemas';

export type GithubResult = NormaliseResult | PingResult;

/** Request facts that are not in the body; only used where the body has no time of its own (watch, star.deleted). */
export interface GithubContext {
  /** X-GitHub-Delivery. GitHub keeps it on manual redelivery. */
  deliveryId?: string;
  /** When we received the request, ISO 8601. */
  receivedAt?: string;
}

type Base = z.infer<typeof baseSchema>;

export function githubIdentity(user: GithubUser): IdentityInput {
  const identity: IdentityInput = {
    source: 'github',
    id: String(user.id),
    handle: user.login,
    // GitHub Apps act as users of type "Bot" named "something[bot]"; either signal marks automation.
    is_bot: user.type === 'Bot' || user.login.toLowerCase().endsWith('[bot]'),
  };
  const name = clip(user.name, 256);
  if (name) identity.name = name;
  const email = clip(user.email, 320);
  if (email) identity.email = email;
  return identity;
}

interface Draft {
  type: string;
  occurred_at: string;
  external_id: string;
  actor: GithubUser;
  url: string;
  title?: string | undefined;
  properties?: Record<string, unknown>;
}

function build(base: Base, d: Draft): ActivityInput {
  const activity: ActivityInput = {
    source: 'github',
    type: d.type,
    occurred_at: d.occurred_at,
    external_id: d.external_id,
    member: { identities: [githubIdentity(d.actor)] },
    url: d.url,
    properties: definedOnly({
      repo: base.repository.full_name,
      repo_id: base.repository.id,
      repo_private: base.repository.private,
      ...d.properties,
    }),
  };
  const title = clip(d.title, 512);
  if (title) activity.title = title;
  return activity;
}

type Parsed<T> = { ok: true; data: T } | { ok: false; result: NormaliseResult };

function parse<S extends z.ZodType>(schema: S, payload: unknown): Parsed<z.infer<S>> {
  const r = schema.safeParse(payload);
  return r.success ? { ok: true, data: r.data } : { ok: false, result: invalidFrom(r.error) };
}

const untracked = (event: string, action: string) => ignored(`github ${event}.${action} is not tracked`);

/** `watch` and `star.deleted` carry no time: use repository.updated_at (bumped by the star change), else receipt time. */
function repoChangeTime(p: Base, ctx: GithubContext): { at: string; key: string } | null {
  const received = toIso(ctx.receivedAt);
  const at = p.repository.updated_at ?? received;
  const key = p.repository.updated_at ?? ctx.deliveryId ?? received;
  return at && key ? { at, key } : null;
}

const noTime: NormaliseResult = {
  kind: 'invalid',
  issues: [{ path: 'repository.updated_at', message: 'no event time in payload and no receivedAt given' }],
};

type Handler = (action: string, payload: unknown, ctx: GithubContext) => NormaliseResult;

const handlers: Record<string, Handler> = {
  star(action, payload, ctx) {
    if (action !== 'created' && action !== 'deleted') return untracked('star', action);
    const r = parse(starSchema, payload);
    if (!r.ok) return r.result;
    const p = r.data;
    const repo = p.repository;
    if (action === 'created') {
      if (!p.starred_at) return { kind: 'invalid', issues: [{ path: 'starred_at', message: 'required for star.created' }] };
      return activities(build(p, {
        type: 'github.star', occurred_at: p.starred_at, actor: p.sender, url: repo.html_url,
        external_id: `star:${repo.id}:${p.sender.id}:${p.starred_at}`, title: `Starred ${repo.full_name}`,
      }));
    }
    // Unstarring is recorded (not dropped) so a member's history stays honest; rules decide whether it counts.
    const t = repoChangeTime(p, ctx);
    if (!t) return noTime;
    return activities(build(p, {
      type: 'github.unstar', occurred_at: t.at, actor: p.sender, url: repo.html_url,
      external_id: `unstar:${repo.id}:${p.sender.id}:${t.key}`, title: `Unstarred ${repo.full_name}`,
    }));
  },

  watch(action, payload, ctx) {
    // GitHub's legacy name: `watch.started` fires when someone stars a repo (alongside `star.created`).
    if (action !== 'started') return untracked('watch', action);
    const r = parse(baseSchema, payload);
    if (!r.ok) return r.result;
    const p = r.data;
    const t = repoChangeTime(p, ctx);
    if (!t) return noTime;
    return activities(build(p, {
      type: 'github.watch', occurred_at: t.at, actor: p.sender, url: p.repository.html_url,
      external_id: `watch:${p.repository.id}:${p.sender.id}:${t.key}`, title: `Watched ${p.repository.full_name}`,
    }));
  },

  fork(_action, payload) {
    const r = parse(forkSchema, payload);
    if (!r.ok) return r.result;
    const p = r.data;
    return activities(build(p, {
      type: 'github.fork', occurred_at: p.forkee.created_at, actor: p.sender, url: p.forkee.html_url,
      external_id: `fork:${p.forkee.id}`, title: `Forked ${p.repository.full_name} to ${p.forkee.full_name}`,
      properties: { fork: p.forkee.full_name, fork_id: p.forkee.id },
    }));
  },

  issues(action, payload) {
    if (action !== 'opened' && action !== 'closed') return untracked('issues', action);
    const r = parse(issuesSchema, payload);
    if (!r.ok) return r.result;
    const p = r.data;
    const issue = p.issue;
    const properties = { number: issue.number, author: issue.user?.login };
    if (action === 'opened') {
      return activities(build(p, {
        type: 'github.issues.opened', occurred_at: issue.created_at, actor: p.sender, url: issue.html_url,
        external_id: `issue:${issue.id}:opened`, title: issue.title, properties,
      }));
    }
    if (!issue.closed_at) return { kind: 'invalid', issues: [{ path: 'issue.closed_at', message: 'required for issues.closed' }] };
    return activities(build(p, {
      type: 'github.issues.closed', occurred_at: issue.closed_at, actor: p.sender, url: issue.html_url,
      // An issue can be reopened and closed again: each closing is its own fact.
      external_id: `issue:${issue.id}:closed:${issue.closed_at}`, title: issue.title,
      properties: { ...properties, state_reason: issue.state_reason ?? undefined },
    }));
  },

  issue_comment(action, payload) {
    if (action !== 'created') return untracked('issue_comment', action);
    const r = parse(issueCommentSchema, payload);
    if (!r.ok) return r.result;
    const p = r.data;
    return activities(build(p, {
      type: 'github.issue_comment.created', occurred_at: p.comment.created_at, actor: p.sender, url: p.comment.html_url,
      external_id: `issue_comment:${p.comment.id}`, title: p.issue.title,
      properties: { number: p.issue.number, is_pull_request: p.issue.pull_request != null },
    }));
  },

  pull_request(action, payload) {
    if (action !== 'opened' && action !== 'closed') return untracked('pull_request', action);
    const r = parse(pullRequestEventSchema, payload);
    if (!r.ok) return r.result;
    const p = r.data;
    const pr = p.pull_request;
    const properties = { number: pr.number, author: pr.user.login, draft: pr.draft };
    if (action === 'opened') {
      return activities(build(p, {
        type: 'github.pull_request.opened', occurred_at: pr.created_at, actor: p.sender, url: pr.html_url,
        external_id: `pr:${pr.id}:opened`, title: pr.title, properties,
      }));
    }
    if (pr.merged === true || pr.merged_at) {
      const at = pr.merged_at ?? pr.closed_at;
      if (!at) return { kind: 'invalid', issues: [{ path: 'pull_request.merged_at', message: 'required for a merged pull request' }] };
      // Credit the contribution to its author, not to the maintainer who pressed merge (kept as merged_by).
      return activities(build(p, {
        type: 'github.pull_request.merged', occurred_at: at, actor: pr.user, url: pr.html_url,
        external_id: `pr:${pr.id}:merged`, title: pr.title,
        properties: { ...properties, merged_by: pr.merged_by?.login ?? p.sender.login },
      }));
    }
    if (!pr.closed_at) return { kind: 'invalid', issues: [{ path: 'pull_request.closed_at', message: 'required for pull_request.closed' }] };
    return activities(build(p, {
      type: 'github.pull_request.closed', occurred_at: pr.closed_at, actor: p.sender, url: pr.html_url,
      external_id: `pr:${pr.id}:closed:${pr.closed_at}`, title: pr.title, properties,
    }));
  },

  pull_request_review(action, payload) {
    if (action !== 'submitted') return untracked('pull_request_review', action);
    const r = parse(reviewSchema, payload);
    if (!r.ok) return r.result;
    const p = r.data;
    return activities(build(p, {
      type: 'github.pull_request_review.submitted', occurred_at: p.review.submitted_at, actor: p.sender,
      url: p.review.html_url, external_id: `pr_review:${p.review.id}`, title: p.pull_request.title,
      properties: { number: p.pull_request.number, state: p.review.state.toLowerCase() },
    }));
  },

  discussion(action, payload) {
    if (action === 'created') {
      const r = parse(discussionSchemaEvent, payload);
      if (!r.ok) return r.result;
      const p = r.data;
      const d = p.discussion;
      return activities(build(p, {
        type: 'github.discussion.created', occurred_at: d.created_at, actor: p.sender, url: d.html_url,
        external_id: `discussion:${d.id}:created`, title: d.title,
        properties: { number: d.number, category: d.category?.name },
      }));
    }
    if (action !== 'answered') return untracked('discussion', action);
    const r = parse(discussionAnsweredSchema, payload);
    if (!r.ok) return r.result;
    const p = r.data;
    const d = p.discussion;
    // The person whose comment was chosen did the valuable thing; the sender only marked it.
    const actor = p.answer?.user ?? p.sender;
    const at = d.answer_chosen_at ?? p.answer?.created_at;
    if (!at) return { kind: 'invalid', issues: [{ path: 'discussion.answer_chosen_at', message: 'required for discussion.answered' }] };
    const answerKey = p.answer?.id ?? at;
    return activities(build(p, {
      type: 'github.discussion.answered', occurred_at: at, actor, url: p.answer?.html_url ?? d.answer_html_url ?? d.html_url,
      external_id: `discussion:${d.id}:answered:${answerKey}`, title: d.title,
      properties: { number: d.number, category: d.category?.name, answer_chosen_by: p.sender.login },
    }));
  },

  discussion_comment(action, payload) {
    if (action !== 'created') return untracked('discussion_comment', action);
    const r = parse(discussionCommentEventSchema, payload);
    if (!r.ok) return r.result;
    const p = r.data;
    return activities(build(p, {
      type: 'github.discussion_comment.created', occurred_at: p.comment.created_at, actor: p.sender,
      url: p.comment.html_url, external_id: `discussion_comment:${p.comment.id}`, title: p.discussion.title,
      properties: { number: p.discussion.number, category: p.discussion.category?.name },
    }));
  },

  release(action, payload) {
    if (action !== 'published') return untracked('release', action);
    const r = parse(releaseSchema, payload);
    if (!r.ok) return r.result;
    const p = r.data;
    const rel = p.release;
    return activities(build(p, {
      type: 'github.release.published', occurred_at: rel.published_at ?? rel.created_at, actor: p.sender,
      url: rel.html_url, external_id: `release:${rel.id}:published`, title: rel.name || rel.tag_name,
      properties: { tag: rel.tag_name, prerelease: rel.prerelease },
    }));
  },
};

/** Events that have no `action` field. */
const ACTIONLESS = new Set(['fork']);

/**
 * Normalise one GitHub webhook delivery.
 * @param event the X-GitHub-Event header
 * @param payload the parsed JSON body
 */
export function normaliseGithub(event: string, payload: unknown, ctx: GithubContext = {}): GithubResult {
  if (event === 'ping') return { kind: 'ping' };
  const handler = Object.hasOwn(handlers, event) ? handlers[event] : undefined;
  if (!handler) return ignored(`github event "${event}" is not tracked`);
  let action = '';
  if (!ACTIONLESS.has(event)) {
    const a = actionSchema.safeParse(payload);
    if (!a.success) return invalidFrom(a.error);
    action = a.data.action;
  }
  return handler(action, payload, ctx);
}

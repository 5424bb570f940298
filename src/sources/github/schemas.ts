/**
 * The parts of GitHub webhook payloads we read. Loose objects: GitHub adds fields all the time and we must keep
 * accepting them; we only pin down what the normaliser uses. Timestamps are converted to ISO 8601 here so a
 * malformed time is reported as an issue with its path instead of producing an invalid activity later.
 */
import * as z from 'zod';
import { httpUrl, isoTime } from '../result';

export const userSchema = z.looseObject({
  id: z.number().int().nonnegative(),
  login: z.string().min(1),
  type: z.string().optional(),
  name: z.string().nullish(),
  email: z.string().nullish(),
});
export type GithubUser = z.infer<typeof userSchema>;

export const repositorySchema = z.looseObject({
  id: z.number().int(),
  full_name: z.string().min(1),
  html_url: httpUrl,
  private: z.boolean().optional(),
  // Present on every repository object; GitHub bumps it when the star count changes, which makes it the only
  // in-payload time for `watch` and `star.deleted` (neither carries its own timestamp).
  updated_at: isoTime.optional(),
});

/** Fields present on every event we normalise. */
export const baseSchema = z.looseObject({
  sender: userSchema,
  repository: repositorySchema,
});

export const actionSchema = z.looseObject({ action: z.string() });

export const starSchema = baseSchema.extend({ starred_at: isoTime.nullable() });

export const forkSchema = baseSchema.extend({
  forkee: z.looseObject({ id: z.number().int(), full_name: z.string(), html_url: httpUrl, created_at: isoTime }),
});

const issueSchema = z.looseObject({
  id: z.number().int(),
  number: z.number().int(),
  title: z.string(),
  html_url: httpUrl,
  created_at: isoTime,
  closed_at: isoTime.nullish(),
  state_reason: z.string().nullish(),
  user: userSchema.nullish(),
  // Present (an object) when the "issue" is a pull request: issue_comment fires for PR conversation comments too.
  pull_request: z.unknown().optional(),
});

export const issuesSchema = baseSchema.extend({ issue: issueSchema });

export const issueCommentSchema = baseSchema.extend({
  issue: issueSchema,
  comment: z.looseObject({ id: z.number().int(), html_url: httpUrl, created_at: isoTime }),
});

const pullRequestSchema = z.looseObject({
  id: z.number().int(),
  number: z.number().int(),
  title: z.string(),
  html_url: httpUrl,
  created_at: isoTime,
  closed_at: isoTime.nullish(),
  merged_at: isoTime.nullish(),
  merged: z.boolean().nullish(),
  draft: z.boolean().optional(),
  user: userSchema,
  merged_by: userSchema.nullish(),
});

export const pullRequestEventSchema = baseSchema.extend({ pull_request: pullRequestSchema });

export const reviewSchema = baseSchema.extend({
  pull_request: pullRequestSchema.pick({ id: true, number: true, title: true, html_url: true }),
  review: z.looseObject({
    id: z.number().int(),
    html_url: httpUrl,
    state: z.string(),
    submitted_at: isoTime,
    user: userSchema.nullish(),
  }),
});

const discussionSchema = z.looseObject({
  id: z.number().int(),
  number: z.number().int(),
  title: z.string(),
  html_url: httpUrl,
  created_at: isoTime,
  answer_chosen_at: isoTime.nullish(),
  answer_html_url: z.string().nullish(),
  category: z.looseObject({ name: z.string() }).nullish(),
});

const discussionCommentSchema = z.looseObject({
  id: z.number().int(),
  html_url: httpUrl,
  created_at: isoTime,
  user: userSchema.nullish(),
});

export const discussionSchemaEvent = baseSchema.extend({ discussion: discussionSchema });

export const discussionAnsweredSchema = baseSchema.extend({
  discussion: discussionSchema,
  answer: discussionCommentSchema.nullish(),
});

export const discussionCommentEventSchema = baseSchema.extend({
  discussion: discussionSchema,
  comment: discussionCommentSchema,
});

export const releaseSchema = baseSchema.extend({
  release: z.looseObject({
    id: z.number().int(),
    tag_name: z.string(),
    name: z.string().nullish(),
    html_url: httpUrl,
    published_at: isoTime.nullish(),
    created_at: isoTime,
    prerelease: z.boolean().optional(),
  }),
});

import * as z from 'zod';

/**
 * The shape of mappings/rules.yaml. The parsed type IS the zod output (snake_case, as RevOps writes it), so there is
 * one definition of the rules, not a YAML shape plus a hand-kept TS mirror.
 */

/** Every model the engine can compute. Rule-based ones run per deal; markov/shapley need a fitted model (see fit*). */
export const MODEL_NAMES = [
  'first_touch',
  'last_touch_creation',
  'last_touch_close',
  'linear',
  'u_shaped',
  'w_shaped',
  'full_path',
  'time_decay',
  'j_shaped',
  'inverse_j',
  'custom',
  'activity_weighted',
  'markov',
  'shapley',
] as const;
export type ModelName = (typeof MODEL_NAMES)[number];
export const RULE_BASED_MODELS = MODEL_NAMES.filter((m) => m !== 'markov' && m !== 'shapley');

/** `github.star`, `github.pull_request.*`, `github.*` or `*`: a wildcard only as the last segment. */
const patternSchema = z
  .string()
  .regex(/^(\*|[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?)$/, 'an activity type like "github.star", or a prefix wildcard like "github.*"');

const nameSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'a lowercase name like "github" or "engaged"');

export const touchpointSchema = z.strictObject({
  channel: nameSchema,
  weight: z.number().min(0).max(100).default(1),
  stage: nameSchema.nullable().default(null),
  counts: z.boolean().default(true),
});
export type TouchpointRule = z.output<typeof touchpointSchema>;

const share = z.number().min(0).max(1);

/** Shares per milestone position; `other` is spread evenly over touches that hold no milestone. Must sum to 1. */
export const positionWeightsSchema = z
  .strictObject({
    first_touch: share.default(0),
    lead_creation: share.default(0),
    deal_creation: share.default(0),
    closed_won: share.default(0),
    last_touch: share.default(0),
    other: share.default(0),
  })
  .refine((w) => Math.abs(Object.values(w).reduce((a, b) => a + b, 0) - 1) < 1e-9, {
    message: 'position weights must sum to 1',
  });
export type PositionWeights = z.output<typeof positionWeightsSchema>;

export const rulesSchema = z
  .strictObject({
    version: z.literal(1),
    stages: z.array(nameSchema).min(1),
    touchpoints: z.record(patternSchema, touchpointSchema).refine((r) => Object.keys(r).length > 0, 'at least one touchpoint'),
    exclusions: z
      .strictObject({
        staff: z.boolean().default(true),
        bots: z.boolean().default(true),
        activity_types: z.array(patternSchema).default([]),
        members: z.array(z.string().min(1)).default([]),
      })
      .prefault({}),
    window: z
      .strictObject({
        lookback_days: z.number().int().min(0).max(3650).default(180),
        until_close: z.boolean().default(true),
      })
      .prefault({}),
    scope: z.enum(['deal_contacts', 'primary_contact', 'account']).default('deal_contacts'),
    models: z
      .strictObject({
        primary: z.enum(MODEL_NAMES).default('w_shaped'),
        compare: z.array(z.enum(MODEL_NAMES)).default([]),
        u_shaped: z.enum(['hubspot', 'marketo']).default('hubspot'),
        time_decay_half_life_days: z.number().positive().max(3650).default(7),
        custom: positionWeightsSchema.optional(),
        markov_order: z.number().int().min(1).max(4).default(1),
      })
      .prefault({}),
    definitions: z
      .strictObject({
        sourced: z
          .strictObject({
            within_days: z.number().int().min(0).max(3650).default(30),
            before_contact_created: z.boolean().default(true),
          })
          .prefault({}),
        influenced: z
          .strictObject({ min_touches: z.number().int().min(1).max(10_000).default(1), min_score: z.number().min(0).max(100).default(0) })
          .prefault({}),
        assisted: z
          .strictObject({
            min_touches_after_creation: z.number().int().min(1).max(10_000).default(1),
            exclude_sourced: z.boolean().default(true),
          })
          .prefault({}),
        score: z
          .strictObject({
            volume: share.default(0.4),
            breadth: share.default(0.2),
            recency: share.default(0.2),
            depth: share.default(0.2),
            // Bounded like every other number here: a value that validates must also compute (dates stay in range).
            volume_saturation: z.number().positive().max(1_000_000).default(10),
            breadth_saturation: z.number().int().min(1).max(1_000).default(3),
            recency_half_life_days: z.number().positive().max(3650).default(30),
          })
          .prefault({})
          .refine((s) => Math.abs(s.volume + s.breadth + s.recency + s.depth - 1) < 1e-9, {
            message: 'score weights volume + breadth + recency + depth must sum to 1',
          }),
      })
      .prefault({}),
    contacts: z.strictObject({ activity_days: z.number().int().min(1).max(3650).default(90) }).prefault({}),
  })
  .superRefine((r, ctx) => {
    // Cross-field checks: stages are distinct (the score's depth divides by their number), every stage a touchpoint
    // names must be declared, and "custom" needs its weights.
    r.stages.forEach((s, i) => {
      if (r.stages.indexOf(s) !== i) ctx.addIssue({ code: 'custom', path: ['stages', i], message: `stage "${s}" is listed twice` });
    });
    for (const [pattern, tp] of Object.entries(r.touchpoints)) {
      if (tp.stage !== null && !r.stages.includes(tp.stage)) {
        ctx.addIssue({
          code: 'custom',
          path: ['touchpoints', pattern, 'stage'],
          message: `stage "${tp.stage}" is not declared in stages (${r.stages.join(', ')})`,
        });
      }
    }
    const used = [r.models.primary, ...r.models.compare];
    if (used.includes('custom') && !r.models.custom) {
      ctx.addIssue({ code: 'custom', path: ['models', 'custom'], message: 'model "custom" is used, so models.custom weights are required' });
    }
  });

export type Rules = z.output<typeof rulesSchema>;
export type RulesInput = z.input<typeof rulesSchema>;

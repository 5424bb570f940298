import { parseRules } from '../rules/index';
import type { Rules } from '../rules/schema';
import type { Deal, Touch } from './types';

/** Builders shared by the attribution tests, the CLI examples and the benchmark. Not used in production paths. */

export const BASE_RULES_YAML = `
version: 1
stages: [aware, engaged, contributor]
touchpoints:
  "github.*": { channel: github, weight: 1, stage: engaged }
  github.star: { channel: github, weight: 0.5, stage: aware }
  github.pull_request.merged: { channel: github, weight: 4, stage: contributor }
  "slack.*": { channel: slack, weight: 1, stage: engaged }
  "discourse.*": { channel: forum, weight: 2, stage: engaged }
  "events.*": { channel: events, weight: 3, stage: aware }
  webinar.attended: { channel: events, weight: 2, stage: engaged }
  github.release.published: { channel: github, counts: false }
exclusions: { staff: true, bots: true, activity_types: [slack.reaction_added], members: [m_excluded] }
window: { lookback_days: 30, until_close: true }
scope: deal_contacts
models:
  primary: linear
  compare: [first_touch, last_touch_creation, last_touch_close, u_shaped, w_shaped, full_path, time_decay, j_shaped, inverse_j, custom, activity_weighted]
  custom: { first_touch: 0.5, last_touch: 0.5 }
definitions:
  sourced: { within_days: 10, before_contact_created: true }
  influenced: { min_touches: 1 }
`;

export function testRules(patch: (r: Rules) => Rules = (r) => r, yaml = BASE_RULES_YAML): Rules {
  const r = parseRules(yaml, 'test-rules.yaml');
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.line}:${i.column} ${i.path} ${i.message}`).join('\n'));
  return patch(r.value);
}

export const DAY = 86_400_000;
export const T0 = Date.parse('2025-03-01T00:00:00.000Z');
export const iso = (ms: number) => new Date(ms).toISOString();
/** ISO time `d` days after T0 (negative = before). */
export const day = (d: number) => iso(T0 + d * DAY);

export function deal(over: Partial<Deal> = {}): Deal {
  return {
    id: 'D1', crm: 'hubspot', amount: 1000, currency: 'EUR', createdAt: day(0), closedAt: day(20), isClosed: true, isWon: true,
    companyId: 'co1', contacts: [{ contactId: 'c1', isPrimary: true, createdAt: day(-5) }], ...over,
  };
}

let seq = 0;
export function touch(over: Partial<Touch> & { at: number }): Touch {
  const { at, ...rest } = over;
  seq++;
  return {
    id: `t${String(seq).padStart(5, '0')}`, memberId: 'm1', contactIds: ['c1'], companyId: 'co1', type: 'github.star', source: 'github',
    occurredAt: day(at), isStaff: false, isBot: false, ...rest,
  };
}

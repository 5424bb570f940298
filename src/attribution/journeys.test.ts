import { describe, expect, it } from 'vitest';
import { parseFieldMapping } from '../rules/mapping';
import { computeDealInfluence } from './deal';
import { journeysFileSchema, journeysFromDeals, parsePathsCsv, splitJourneysFile } from './journeys';
import { dealFieldValues } from './outputs';
import { deal, testRules, touch } from './testkit';

describe('parsePathsCsv', () => {
  it('reads the ChannelAttribution format, tolerating odd spacing and CRLF', () => {
    const j = parsePathsCsv('path;total_conversions;total_conversion_value;total_null\r\neta > iota;1;0.5;3\r\n a>b >c ;0;0;2\n\n');
    expect(j).toEqual([
      { path: ['eta', 'iota'], conversions: 1, value: 0.5, nulls: 3 },
      { path: ['a', 'b', 'c'], conversions: 0, value: 0, nulls: 2 },
    ]);
  });
  it('names the malformed line', () => {
    expect(() => parsePathsCsv('a > b;1;2\n')).toThrow(/^line 1: expected/);
    expect(() => parsePathsCsv('path;x;y;z\na;1;x;2\n')).toThrow(/^line 2:/);
  });
});

describe('journeys from JSON and deals', () => {
  it('validates the file and builds merged journeys of closed deals', () => {
    const file = journeysFileSchema.parse({
      deals: [
        { id: 'A', createdAt: '2025-03-01T00:00:00Z', closedAt: '2025-03-10T00:00:00Z', isClosed: true, isWon: true, amount: 10,
          contacts: [{ contactId: 'c1', createdAt: '2025-01-01T00:00:00Z' }],
          touches: [{ id: 't1', memberId: 'm', contactIds: ['c1'], type: 'slack.message', occurredAt: '2025-02-27T00:00:00Z' }] },
        { id: 'B', createdAt: '2025-03-01T00:00:00Z', isClosed: false },
      ],
    });
    const { deals, touchesByDeal } = splitJourneysFile(file);
    expect(journeysFromDeals(deals, touchesByDeal, testRules())).toEqual([{ path: ['slack'], conversions: 1, nulls: 0, value: 10 }]);
    expect(journeysFileSchema.safeParse({ deals: [{ id: 'x', createdAt: 'yesterday' }] }).success).toBe(false);
  });
});

describe('dealFieldValues', () => {
  it('maps outputs to CRM property names, dates as YYYY-MM-DD for date fields', () => {
    const m = parseFieldMapping(`crm: hubspot
fields:
  - { object: deal, output: influenced, name: community_influenced, label: I, type: bool }
  - { object: deal, output: first_touch_at, name: community_first, label: F, type: date }
  - { object: deal, output: attributed_amount.first_touch, name: community_ft_amount, label: A, type: number }
  - { object: contact, output: stage, name: community_stage, label: S, type: string }
`);
    if (!m.ok) throw new Error('mapping must parse');
    const inf = computeDealInfluence(deal(), [touch({ at: -3 })], testRules(), { evidenceBaseUrl: 'x', rulesVersion: 'v' });
    expect(dealFieldValues(m.value, inf)).toEqual({ community_influenced: true, community_first: '2025-02-26', community_ft_amount: 1000 });
  });
});

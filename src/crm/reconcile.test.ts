import { describe, expect, it } from 'vitest';
import { settleByReadBack, valuesMatch } from './reconcile';

describe('valuesMatch: a sent value against what the CRM returns for it', () => {
  it.each([
    [true, 'true', true], [false, 'false', true], [true, true, true], [true, 'false', false], [false, null, false],
    [42, '42', true], [1234.5, '1234.50', true], [1234.5, 1234.5, true], [0.1 + 0.2, '0.3', true], [42, '43', false], [42, 'abc', false],
    [null, '', true], [null, null, true], ['', null, true], [null, '0', false], ['x', null, false],
    ['github', 'github', true], ['github', 'GitHub', false],
    ['2026-03-01T10:00:00.000Z', '2026-03-01T10:00:00Z', true], ['2026-03-01T10:00:00.000Z', '2026-03-01T10:00:00.000+0000', true],
    ['2026-03-01T10:00:00.000Z', '2026-03-01T11:00:00.000+0100', true], ['2026-03-01T10:00:00.000Z', '2026-03-01T10:00:01.000Z', false],
    ['2026-03-01T10:00:00.000Z', String(Date.parse('2026-03-01T10:00:00.000Z')), true],
    ['2026-03-01', '2026-03-01T00:00:00.000Z', true], ['2026-03-01', '2026-03-02', false],
  ] as const)('%j vs %j → %s', (sent, actual, expected) => {
    expect(valuesMatch(sent, actual)).toBe(expected);
  });
});

describe('settleByReadBack', () => {
  it('a record counts as landed only when every sent field matches; unknown ids are sent', () => {
    const current = new Map<string, Record<string, unknown>>([
      ['1', { a: 'true', b: '5' }],
      ['2', { a: 'true', b: '6' }],
    ]);
    const { landed, toSend } = settleByReadBack(
      [
        { object: 'deal', crmId: '1', fields: { a: true, b: 5 } },
        { object: 'deal', crmId: '2', fields: { a: true, b: 5 } },
        { object: 'deal', crmId: '3', fields: { a: true } },
      ],
      current,
    );
    expect(landed.map((w) => w.crmId)).toEqual(['1']);
    expect(toSend.map((w) => w.crmId)).toEqual(['2', '3']);
  });
});

import { existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFieldMapping } from '../rules/mapping';
import { computeDealInfluence } from './deal';
import { journeysFileSchema, journeysFromDeals, parsePathsCsv, splitJourneysFile } from './journeys';
import { dealFieldValues } from './outputs';
import { deal, testRules, touch } from './testkit';
import type { Journey } from './markov';

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
    expect(() => parsePathsCsv('path;x;y;z\na;1;x;2\n')).toThrow(/^line 2: total_conversion_value must be a finite number, got "x"/);
  });
  it('refuses an empty numeric field instead of reading it as 0', () => {
    expect(() => parsePathsCsv('a > b;;;\n')).toThrow('line 1: total_conversions must be a non-negative number, got an empty field');
    expect(() => parsePathsCsv('path;x;y;z\nb;1;2;3\na > b;3;;\n')).toThrow('line 3: total_conversion_value must be a finite number, got an empty field');
    expect(() => parsePathsCsv('a;3;1; \n')).toThrow('line 1: total_null must be a non-negative number, got an empty field');
    expect(() => parsePathsCsv('a;-1;1;0\n')).toThrow('line 1: total_conversions must be a non-negative number, got "-1"');
  });
  it('skips a leading byte order mark, so the header is still the header', () => {
    expect(parsePathsCsv('\uFEFFpath;total_conversions;total_conversion_value;total_null\na > b;1;2;3\n')).toEqual([
      { path: ['a', 'b'], conversions: 1, value: 2, nulls: 3 },
    ]);
    expect(parsePathsCsv('\uFEFFa;1;2;3')).toEqual([{ path: ['a'], conversions: 1, value: 2, nulls: 3 }]);
  });

  /** The straightforward parser (split lines, split fields, Number() but blank = NaN) that the one-pass parser must equal. */
  function reference(text: string): Journey[] {
    const out: Journey[] = [];
    const lines = text.replace(/^\uFEFF/, '').split('\n');
    const num = (f: string | undefined) => (f?.trim() ? Number(f) : Number.NaN);
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i] ?? '';
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (!line.trim() || (i === 0 && line.startsWith('path;'))) continue;
      const f = line.split(';');
      const [conv, value, nulls] = [num(f[1]), num(f[2]), num(f[3])];
      if (f.length !== 4 || !(conv >= 0) || !(nulls >= 0) || !Number.isFinite(value)) throw new Error(`line ${i + 1}: expected`);
      let path = (f[0] ?? '').split(' > ');
      if (path.some((p) => p.includes('>') || p !== p.trim() || p === '')) path = (f[0] ?? '').split('>').map((p) => p.trim()).filter(Boolean);
      out.push({ path, conversions: conv, nulls, value });
    }
    return out;
  }
  const outcome = (f: () => Journey[]) => {
    try {
      return { ok: f() };
    } catch (e) {
      return { error: String((e as Error).message).slice(0, 'line 00000: expected'.length).replace(/:.*/, '') };
    }
  };
  it('equals the straightforward parser on odd input (spacing, numbers, CR, blank and malformed lines)', () => {
    const token = fc.constantFrom('alpha', 'beta', 'é', 'a b', '', ' ', '>', ' > ', '>>', '\t', '\u00a0', '\ufeff', 'x\u2028');
    const num = fc.oneof(
      fc.constantFrom('0', '1', '007', '1.5', '.5', '5.', '.', '', ' 3', '1e3', '-1', '-0', '0x10', 'NaN', 'Infinity', '0.1', '3.195'),
      fc.double({ noNaN: true }).map(String),
      fc.nat().map(String),
      fc.stringMatching(/^[0-9]{1,20}(\.[0-9]{0,20})?$/),
    );
    const line = fc.oneof(
      fc.tuple(fc.array(token, { maxLength: 5 }), fc.constantFrom(' > ', '>', ' >', '> ', '  >  '), num, num, num).map(([p, sep, a, b, c]) => `${p.join(sep)};${a};${b};${c}`),
      fc.constantFrom('', ' ', '\r', 'path;total_conversions;total_conversion_value;total_null', 'a;1;2', 'a;1;2;3;4', ';;;'),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), fc.constantFrom('\n', '\r\n'), fc.boolean(), fc.boolean(), (lines, eol, trailing, bom) => {
        const text = (bom ? '\uFEFF' : '') + lines.join(eol) + (trailing ? eol : '');
        expect(outcome(() => parsePathsCsv(text))).toEqual(outcome(() => reference(text)));
      }),
      { numRuns: 2000 },
    );
  });
  const PATHS = new URL('../../../shared/reference/markov-paths/paths.csv', import.meta.url);
  it.runIf(existsSync(PATHS))('equals the straightforward parser on the reference paths', () => {
    const text = readFileSync(PATHS, 'utf8');
    expect(parsePathsCsv(text)).toEqual(reference(text));
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

  const issues = (file: unknown) => journeysFileSchema.safeParse(file).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  const created = '2025-03-01T00:00:00Z';
  it('refuses a closed or won deal without closedAt (its window would never end)', () => {
    expect(issues({ deals: [{ id: 'A', createdAt: created, closedAt: created, isWon: true }, { id: 'W', createdAt: created, isWon: true }] })).toEqual([
      'deals.1.closedAt: a closed or won deal needs closedAt',
    ]);
    expect(issues({ deals: [{ id: 'L', createdAt: created, isClosed: true, closedAt: null }] })).toEqual(['deals.0.closedAt: a closed or won deal needs closedAt']);
    expect(issues({ deals: [{ id: 'O', createdAt: created }] })).toBeUndefined();
  });
  it('refuses duplicate deal ids, naming the first', () => {
    const d = (id: string) => ({ id, createdAt: created });
    expect(issues({ deals: [d('D'), d('E'), d('D'), d('D')] })).toEqual([
      'deals.2.id: duplicate deal id "D" (first at deals.0)',
      'deals.3.id: duplicate deal id "D" (first at deals.0)',
    ]);
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

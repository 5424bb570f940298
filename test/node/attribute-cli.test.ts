import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fitMarkov } from '../../src/attribution/markov';

// The real CLI (npm run attribute) on small files: bad input is one `attribute: …` line and exit code 2, never a stack
// trace; a success ends with one JSON line.
const root = join(import.meta.dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const dir = mkdtempSync(join(tmpdir(), 'attribute-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function attribute(...args: string[]) {
  const run = spawnSync(tsx, [join(root, 'scripts', 'attribute.ts'), ...args], { cwd: root, encoding: 'utf8' });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

/** Exit 2 with exactly one stderr line, `attribute: …`. */
function refused(run: ReturnType<typeof attribute>): string {
  expect(run.code).toBe(2);
  expect(run.err.trimEnd().split('\n')).toHaveLength(1);
  expect(run.err).toMatch(/^attribute: /);
  return run.err.trim();
}

/** Exit 0 and the last stdout line, parsed. */
function last(run: ReturnType<typeof attribute>): Record<string, unknown> {
  expect(run.err).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.out.trimEnd().split('\n').at(-1) ?? '') as Record<string, unknown>;
}

const HEADER = 'path;total_conversions;total_conversion_value;total_null\n';
const T = { timeout: 30_000 };
const created = '2025-03-01T00:00:00Z';
const contacts = [{ contactId: 'c1', isPrimary: true, createdAt: '2025-02-01T00:00:00Z' }];
const star = { id: 't1', memberId: 'm1', contactIds: ['c1'], type: 'github.star', occurredAt: '2025-02-20T00:00:00Z' };
const journeys = (deals: object[]) => file(`j${Math.random().toString(36).slice(2)}.json`, JSON.stringify({ deals }));

describe('npm run attribute: refusals', () => {
  it('a paths CSV line with the wrong number of fields names the file and line', T, () => {
    const csv = file('fields.csv', `${HEADER}a > b;1;2\n`);
    expect(refused(attribute(csv, '--model', 'linear'))).toBe(
      `attribute: ${csv}: line 2: expected "path;total_conversions;total_conversion_value;total_null", got 3 field(s) in "a > b;1;2"`,
    );
  });

  it('an empty numeric field is an error, not 0', T, () => {
    const csv = file('empty.csv', `${HEADER}a;1;0;0\na > b;3;;\n`);
    expect(refused(attribute(csv, '--model', 'markov'))).toBe(`attribute: ${csv}: line 3: total_conversion_value must be a finite number, got an empty field`);
  });

  it('a missing input file or rules file', T, () => {
    const missing = join(dir, 'nope.json');
    expect(refused(attribute(missing))).toBe(`attribute: ${missing}: cannot read the journeys file (ENOENT)`);
    const rules = join(dir, 'nope.yaml');
    expect(refused(attribute(join(root, 'docs', 'examples', 'journeys.json'), '--rules', rules))).toBe(`attribute: ${rules}: cannot read rules (ENOENT)`);
  });

  it('a won deal without closedAt (touches after the close would count)', T, () => {
    const won = journeys([{ id: 'W', amount: 1000, createdAt: created, isWon: true, contacts, touches: [star] }]);
    const run = attribute(won, '--model', 'linear');
    expect(run.code).toBe(2);
    expect(run.err).toContain('deals.0.closedAt: a closed or won deal needs closedAt');
  });

  it('duplicate deal ids, naming the id and index', T, () => {
    const deal = { createdAt: created, closedAt: '2025-03-10T00:00:00Z', isWon: true, contacts, touches: [star] };
    const run = attribute(journeys([{ id: 'D', ...deal }, { id: 'E', ...deal }, { id: 'D', ...deal }]), '--model', 'linear');
    expect(run.code).toBe(2);
    expect(run.err).toContain('deals.2.id: duplicate deal id "D" (first at deals.0)');
  });

  it('an --as-of that is not an ISO date-time', T, () => {
    expect(refused(attribute(join(root, 'docs', 'examples', 'journeys.json'), '--as-of', 'yesterday'))).toMatch(/^attribute: --as-of must be an ISO date-time/);
  });

  it('a Markov order whose state keys would not fit a double', T, () => {
    const csv = file('order.csv', `${HEADER}a > b;1;1;1\nb;0;0;1\n`);
    expect(refused(attribute(csv, '--model', 'markov', '--order', '34'))).toBe(
      'attribute: markov order 34 is too high for 2 channels: (channels + 1)^order state keys pass 2^53; use a lower order',
    );
  });
});

describe('npm run attribute: input that works', () => {
  it('reads a paths CSV saved with a byte order mark (the header stays a header)', T, () => {
    const csv = file('bom.csv', `\uFEFF${HEADER}a > b;1;2;3\n`);
    expect(last(attribute(csv, '--model', 'linear'))).toEqual({ model: 'linear', credits: { a: 0.5, b: 0.5 } });
  });

  it('takes the Markov order from the rules unless --order is given', T, () => {
    const yaml = readFileSync(join(root, 'mappings', 'rules.yaml'), 'utf8');
    expect(yaml).toMatch(/markov_order: 1\b/);
    const rules = file('rules.yaml', yaml.replace(/markov_order: 1\b/, 'markov_order: 2'));
    const example = join(root, 'docs', 'examples', 'journeys.json');
    expect(last(attribute(example, '--model', 'markov', '--rules', rules)).order).toBe(2);
    expect(last(attribute(example, '--model', 'markov', '--rules', rules, '--order', '3')).order).toBe(3);
    const csv = file('order2.csv', `${HEADER}a > b;1;1;1\nb;0;0;1\n`);
    expect(last(attribute(csv, '--model', 'markov', '--rules', rules)).order).toBe(2);
  });
});

describe('fitMarkov key space', () => {
  const one = [{ path: ['a', 'a'], conversions: 1, nulls: 1 }];
  it('refuses an order whose (channels + 1)^order keys pass 2^53, and takes 2^53 itself', () => {
    expect(fitMarkov(one, 53).pConversion).toBe(0.5); // 2^53 keys: the largest is 2^53 − 1, still exact
    expect(() => fitMarkov(one, 54)).toThrow(RangeError);
    expect(() => fitMarkov([{ path: ['a', 'b', 'c'], conversions: 1, nulls: 0 }], 27)).toThrow(/markov order 27 is too high for 3 channels/); // 4^27 = 2^54
    expect(fitMarkov([{ path: ['a', 'b', 'c'], conversions: 1, nulls: 0 }], 26).pConversion).toBe(1); // 4^26 = 2^52
  });
});

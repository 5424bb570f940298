import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvError, CsvParser } from './csv';

function parseAll(text: string, chunk = text.length || 1) {
  const p = new CsvParser();
  const rows = [];
  for (let i = 0; i < text.length; i += chunk) rows.push(...p.push(text.slice(i, i + chunk)));
  rows.push(...p.end());
  return rows;
}

describe('CsvParser', () => {
  it('handles quotes, doubled quotes, embedded newlines, CRLF and a BOM', () => {
    const text = '\ufeffa,b\r\n"x, y","say ""hi"""\r\n"multi\nline",2\n';
    expect(parseAll(text)).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x, y', 'say "hi"'] },
      { line: 3, fields: ['multi\nline', '2'] },
    ]);
  });

  it('gives the same rows whatever the chunk boundaries', () => {
    const field = fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', ' ', 'é'), maxLength: 6 });
    fc.assert(
      fc.property(fc.array(fc.array(field, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 7 }), (rows, chunk) => {
        const text = rows.map((r) => r.map((f) => `"${f.replace(/"/g, '""')}"`).join(',')).join('\r\n');
        expect(parseAll(text, chunk).map((r) => r.fields)).toEqual(rows);
      }),
    );
  });

  it('reports an unclosed quote and stray quotes with line numbers', () => {
    expect(() => parseAll('a\n"open,1\n')).toThrow(CsvError);
    expect(() => parseAll('a\nx"y,1\n')).toThrow(/line 2/);
  });
});

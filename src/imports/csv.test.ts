import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvParser } from './csv';

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

  it('marks a row with a syntax error and goes on at the next line', () => {
    expect(parseAll('a,b\nx"y,1\nok,2\n"ab"c,"3"\n"q""",4\n')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x"y', '1'], error: 'a quote inside an unquoted field; quote the whole field and double inner quotes' },
      { line: 3, fields: ['ok', '2'] },
      { line: 4, fields: ['abc', '"3"'], error: 'characters after a closing quote' },
      { line: 5, fields: ['q"', '4'] },
    ]);
  });

  it('a stray quote never swallows the lines after it, whatever the chunks', () => {
    const text = 'a,b\nx"y,"1\n"ok",2\n';
    for (const chunk of [1, 2, 3, 5, text.length]) {
      expect(parseAll(text, chunk).map((r) => [r.line, r.fields, !!r.error])).toEqual([
        [1, ['a', 'b'], false], [2, ['x"y', '"1'], true], [3, ['ok', '2'], false],
      ]);
    }
  });

  it('reports a quoted field that is never closed on the row it opened', () => {
    expect(parseAll('a\nok\n"open,1\nmore\n')).toEqual([
      { line: 1, fields: ['a'] },
      { line: 2, fields: ['ok'] },
      { line: 3, fields: ['open,1\nmore\n'], error: 'a quoted field opened on line 3 is never closed; every line after it was read into it' },
    ]);
  });
});

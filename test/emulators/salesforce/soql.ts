/**
 * The SOQL subset the connector sends: SELECT fields | COUNT() FROM object [WHERE …] [ORDER BY …] [LIMIT n], with
 * AND/OR/NOT, parentheses, = != <> < > <= >=, [NOT] IN (…), and string/number/boolean/null/date/datetime literals.
 * Anything else is a MALFORMED_QUERY, as Salesforce would answer for syntax it doesn't know.
 */
import type { SfField } from './schema';

export type Literal = string | number | boolean | null;
export type Expr =
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'not'; inner: Expr }
  | { kind: 'cmp'; field: string; op: (typeof COMPARISONS)[number]; value: Literal }
  | { kind: 'in'; field: string; negated: boolean; values: Literal[]; set: Set<Literal> };

export interface SoqlQuery {
  object: string;
  /** Canonical field names, or 'count' for SELECT COUNT(). */
  select: string[] | 'count';
  where: Expr | null;
  orderBy: { field: string; desc: boolean }[];
  limit: number | null;
}

export class SoqlError extends Error {
  constructor(
    readonly errorCode: 'MALFORMED_QUERY' | 'INVALID_FIELD' | 'INVALID_TYPE',
    message: string,
  ) {
    super(message);
  }
}

const COMPARISONS = ['=', '!=', '<', '>', '<=', '>='] as const;

type Token = { t: 'word' | 'str' | 'num' | 'dt' | 'date' | 'punct' | 'op'; v: string };

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})/;
const DATE = /^\d{4}-\d{2}-\d{2}/;
const NUMBER = /^-?\d+(\.\d+)?/;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const rest = src.slice(i);
    const ch = src[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === "'") {
      let v = '';
      i++;
      while (i < src.length && src[i] !== "'") {
        if (src[i] === '\\' && i + 1 < src.length) i++;
        v += src[i];
        i++;
      }
      if (src[i] !== "'") throw new SoqlError('MALFORMED_QUERY', 'unterminated string literal');
      i++;
      out.push({ t: 'str', v });
      continue;
    }
    const dt = DATETIME.exec(rest) ?? null;
    if (dt) {
      out.push({ t: 'dt', v: dt[0] });
      i += dt[0].length;
      continue;
    }
    const date = DATE.exec(rest);
    if (date) {
      out.push({ t: 'date', v: date[0] });
      i += date[0].length;
      continue;
    }
    const num = NUMBER.exec(rest);
    if (num) {
      out.push({ t: 'num', v: num[0] });
      i += num[0].length;
      continue;
    }
    const op = /^(<=|>=|!=|<>|=|<|>)/.exec(rest);
    if (op) {
      out.push({ t: 'op', v: op[0] === '<>' ? '!=' : op[0] });
      i += op[0].length;
      continue;
    }
    if ('(),'.includes(ch)) {
      out.push({ t: 'punct', v: ch });
      i++;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(rest);
    if (!word) throw new SoqlError('MALFORMED_QUERY', `unexpected token at: ${rest.slice(0, 20)}`);
    out.push({ t: 'word', v: word[0] });
    i += word[0].length;
  }
  return out;
}

/** Normalises any datetime literal (Z, +0000, +00:00) to epoch milliseconds so comparisons are numeric. */
export function datetimeMs(text: string): number {
  const fixed = text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  return Date.parse(fixed);
}

class Parser {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly resolve: (name: string) => SfField,
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }
  private next(): Token {
    const tok = this.tokens[this.pos++];
    if (!tok) throw new SoqlError('MALFORMED_QUERY', 'unexpected end of query');
    return tok;
  }
  private isWord(word: string, offset = 0): boolean {
    const tok = this.tokens[this.pos + offset];
    return tok?.t === 'word' && tok.v.toUpperCase() === word;
  }
  private expectWord(word: string): void {
    if (!this.isWord(word)) throw new SoqlError('MALFORMED_QUERY', `expecting '${word}'`);
    this.pos++;
  }
  private expectPunct(p: string): void {
    const tok = this.next();
    if (tok.t !== 'punct' || tok.v !== p) throw new SoqlError('MALFORMED_QUERY', `expecting '${p}', found '${tok.v}'`);
  }

  parse(): SoqlQuery {
    this.expectWord('SELECT');
    let select: string[] | 'count';
    const rawFields: string[] = [];
    if (this.isWord('COUNT') && this.tokens[this.pos + 1]?.v === '(') {
      this.pos++;
      this.expectPunct('(');
      this.expectPunct(')');
      select = 'count';
    } else {
      do {
        const tok = this.next();
        if (tok.t !== 'word') throw new SoqlError('MALFORMED_QUERY', `unexpected '${tok.v}' in field list`);
        rawFields.push(tok.v);
      } while (this.peek()?.v === ',' && this.next());
      select = [];
    }
    this.expectWord('FROM');
    const objTok = this.next();
    if (objTok.t !== 'word') throw new SoqlError('MALFORMED_QUERY', 'expecting an object name');
    this.object = objTok.v;
    if (select !== 'count') select = rawFields.map((f) => this.resolve(f).name);
    let where: Expr | null = null;
    if (this.isWord('WHERE')) {
      this.pos++;
      where = this.parseOr();
    }
    const orderBy: SoqlQuery['orderBy'] = [];
    if (this.isWord('ORDER')) {
      this.pos++;
      this.expectWord('BY');
      do {
        const tok = this.next();
        if (tok.t !== 'word') throw new SoqlError('MALFORMED_QUERY', 'expecting a field in ORDER BY');
        let desc = false;
        if (this.isWord('ASC')) this.pos++;
        else if (this.isWord('DESC')) {
          this.pos++;
          desc = true;
        }
        orderBy.push({ field: this.resolve(tok.v).name, desc });
      } while (this.peek()?.v === ',' && this.next());
    }
    let limit: number | null = null;
    if (this.isWord('LIMIT')) {
      this.pos++;
      const tok = this.next();
      if (tok.t !== 'num') throw new SoqlError('MALFORMED_QUERY', 'expecting a number after LIMIT');
      limit = Number(tok.v);
    }
    if (this.peek()) throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${this.peek()!.v}'`);
    return { object: this.object, select, where, orderBy, limit };
  }
  object = '';

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.isWord('OR')) {
      this.pos++;
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }
  private parseAnd(): Expr {
    let left = this.parseFactor();
    while (this.isWord('AND')) {
      this.pos++;
      left = { kind: 'and', left, right: this.parseFactor() };
    }
    return left;
  }
  private parseFactor(): Expr {
    if (this.isWord('NOT')) {
      this.pos++;
      return { kind: 'not', inner: this.parseFactor() };
    }
    if (this.peek()?.v === '(') {
      this.pos++;
      const inner = this.parseOr();
      this.expectPunct(')');
      return inner;
    }
    const fieldTok = this.next();
    if (fieldTok.t !== 'word') throw new SoqlError('MALFORMED_QUERY', `unexpected '${fieldTok.v}' in WHERE`);
    const f = this.resolve(fieldTok.v);
    if (this.isWord('IN') || (this.isWord('NOT') && this.isWord('IN', 1))) {
      const negated = this.isWord('NOT');
      this.pos += negated ? 2 : 1;
      this.expectPunct('(');
      const values: Literal[] = [];
      do values.push(this.literal(f));
      while (this.peek()?.v === ',' && this.next());
      this.expectPunct(')');
      // A Set makes `Id IN (200 ids)` over 100k rows a lookup per row instead of 200 comparisons.
      return { kind: 'in', field: f.name, negated, values, set: new Set(values) };
    }
    const opTok = this.next();
    const op = COMPARISONS.find((o) => o === opTok.v);
    if (opTok.t !== 'op' || !op) throw new SoqlError('MALFORMED_QUERY', `expecting an operator after ${f.name}`);
    return { kind: 'cmp', field: f.name, op, value: this.literal(f) };
  }

  private literal(f: SfField): Literal {
    const tok = this.next();
    if (tok.t === 'word') {
      const w = tok.v.toLowerCase();
      if (w === 'null') return null;
      if (w === 'true' || w === 'false') return w === 'true';
    }
    if (tok.t === 'dt') {
      if (f.type !== 'datetime') throw new SoqlError('INVALID_FIELD', `value of filter criterion for field '${f.name}' must be of type ${f.type}`);
      return datetimeMs(tok.v);
    }
    if (tok.t === 'date') return tok.v;
    if (tok.t === 'num') return Number(tok.v);
    if (tok.t === 'str') {
      if (f.type === 'datetime') throw new SoqlError('INVALID_FIELD', `value of filter criterion for field '${f.name}' must be of type dateTime and should not be enclosed in quotes`);
      return tok.v;
    }
    throw new SoqlError('MALFORMED_QUERY', `unexpected '${tok.v}' where a value was expected`);
  }
}

/** `fields` resolves a (case-insensitive) field name on the FROM object, throwing INVALID_FIELD as Salesforce does. */
export function parseSoql(src: string, fieldsOf: (object: string) => SfField[] | null): SoqlQuery {
  const tokens = tokenize(src);
  let parser: Parser;
  const resolve = (name: string): SfField => {
    const fields = fieldsOf(parser.object);
    if (!fields) throw new SoqlError('INVALID_TYPE', `sObject type '${parser.object}' is not supported.`);
    const found = fields.find((f) => f.name.toLowerCase() === name.toLowerCase());
    if (!found) throw new SoqlError('INVALID_FIELD', `No such column '${name}' on entity '${parser.object}'.`);
    return found;
  };
  parser = new Parser(tokens, resolve);
  return parser.parse();
}

export type StoredRecord = Record<string, Literal>;

/** Comparable form of a stored value: datetimes as epoch ms, everything else as stored. */
function comparable(value: Literal, type: SfField['type']): Literal {
  if (value === null) return null;
  if (type === 'datetime' && typeof value === 'string') return datetimeMs(value);
  return value;
}

function compare(a: Literal, b: Literal): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return Number(a) < Number(b) ? -1 : Number(a) > Number(b) ? 1 : 0;
}

export function matches(expr: Expr, rec: StoredRecord, types: Map<string, SfField['type']>): boolean {
  switch (expr.kind) {
    case 'and':
      return matches(expr.left, rec, types) && matches(expr.right, rec, types);
    case 'or':
      return matches(expr.left, rec, types) || matches(expr.right, rec, types);
    case 'not':
      return !matches(expr.inner, rec, types);
    case 'in': {
      const v = comparable(rec[expr.field] ?? null, types.get(expr.field) ?? 'string');
      const hit = expr.set.has(v);
      return expr.negated ? !hit : hit;
    }
    case 'cmp': {
      const v = comparable(rec[expr.field] ?? null, types.get(expr.field) ?? 'string');
      if (expr.op === '=') return compare(v, expr.value) === 0;
      if (expr.op === '!=') return compare(v, expr.value) !== 0;
      // Range comparisons never match nulls in SOQL.
      if (v === null || expr.value === null) return false;
      const c = compare(v, expr.value);
      return expr.op === '<' ? c < 0 : expr.op === '>' ? c > 0 : expr.op === '<=' ? c <= 0 : c >= 0;
    }
  }
}

/** Sorts in place by ORDER BY (nulls first ascending, as Salesforce defaults). Keys are computed once per record. */
export function sortRecords(records: StoredRecord[], orderBy: SoqlQuery['orderBy'], types: Map<string, SfField['type']>): void {
  if (orderBy.length === 0) return;
  const keyed = records.map((rec) => ({ rec, keys: orderBy.map(({ field }) => comparable(rec[field] ?? null, types.get(field) ?? 'string')) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < orderBy.length; i++) {
      const c = compare(a.keys[i]!, b.keys[i]!);
      if (c !== 0) return orderBy[i]!.desc ? -c : c;
    }
    return 0;
  });
  for (let i = 0; i < keyed.length; i++) records[i] = keyed[i]!.rec;
}

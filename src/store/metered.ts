/**
 * A D1Database that adds up rows read and written (from D1's own result meta) for everything run through it, so a
 * sync run can report what it cost. Statements keep working with batch(): they are unwrapped on the way in.
 */
export interface D1Meter {
  rowsRead: number;
  rowsWritten: number;
  queries: number;
  /** Rows read and executions per statement text, when given: what a step's cost is made of (see topStatements). */
  byStatement?: Map<string, { rowsRead: number; runs: number }>;
}

/**
 * A statement that reads more rows than this is logged with its SQL: on D1, rows read are what a query costs, and one
 * reading a whole table per chunk is how a sync run's cost stops following what changed.
 */
export const HEAVY_ROWS_READ = 50_000;

const ORIGINAL = Symbol('original statement');
const SQL = Symbol('statement text');
type Wrapped = D1PreparedStatement & { [ORIGINAL]: D1PreparedStatement; [SQL]: string };

function count(meter: D1Meter, meta: { rows_read?: number; rows_written?: number } | undefined, sql?: string) {
  meter.queries++;
  if ((meta?.rows_read ?? 0) > HEAVY_ROWS_READ) {
    console.log(JSON.stringify({ level: 'warn', msg: 'd1 statement read many rows', rows_read: meta?.rows_read, sql: sql?.replace(/\s+/g, ' ').slice(0, 240) ?? '(batch)' }));
  }
  meter.rowsRead += meta?.rows_read ?? 0;
  meter.rowsWritten += meta?.rows_written ?? 0;
  if (meter.byStatement) {
    // Keyed by the statement text as prepared (no per-query string work); tidied only when reported.
    const key = sql ?? '(batch)';
    const s = meter.byStatement.get(key) ?? { rowsRead: 0, runs: 0 };
    s.rowsRead += meta?.rows_read ?? 0;
    s.runs++;
    meter.byStatement.set(key, s);
  }
}

/**
 * The statements that read the most rows, for a log line when a step was expensive: many cheap executions of one
 * statement (each under HEAVY_ROWS_READ) add up as surely as one heavy one.
 */
export function topStatements(meter: D1Meter, n = 5): { sql: string; rows_read: number; runs: number }[] {
  return [...(meter.byStatement ?? new Map<string, { rowsRead: number; runs: number }>())]
    .sort((a, b) => b[1].rowsRead - a[1].rowsRead)
    .slice(0, n)
    .map(([sql, v]) => ({ sql: sql.replace(/\s+/g, ' ').slice(0, 240), rows_read: v.rowsRead, runs: v.runs }));
}

function wrap(stmt: D1PreparedStatement, meter: D1Meter, sql: string): D1PreparedStatement {
  const wrapped = {
    [ORIGINAL]: stmt,
    [SQL]: sql,
    bind: (...values: unknown[]) => wrap(stmt.bind(...values), meter, sql),
    async first<T>(column?: string) {
      const res = await stmt.all<Record<string, unknown>>();
      count(meter, res.meta, sql);
      const row = res.results[0];
      if (row === undefined) return null;
      return (column === undefined ? row : row[column]) as T;
    },
    async run<T>() {
      const res = await stmt.run<T>();
      count(meter, res.meta, sql);
      return res;
    },
    async all<T>() {
      const res = await stmt.all<T>();
      count(meter, res.meta, sql);
      return res;
    },
    raw: stmt.raw.bind(stmt),
  };
  return wrapped as unknown as Wrapped;
}

export function meteredD1(db: D1Database, meter: D1Meter): D1Database {
  return {
    prepare: (query: string) => wrap(db.prepare(query), meter, query),
    async batch<T>(statements: D1PreparedStatement[]) {
      const results = await db.batch<T>(statements.map((s) => (s as Partial<Wrapped>)[ORIGINAL] ?? s));
      results.forEach((r, i) => count(meter, r.meta, (statements[i] as Partial<Wrapped>)[SQL]));
      return results;
    },
    exec: (query: string) => db.exec(query),
    dump: () => db.dump(),
    withSession: (constraint?: string) => db.withSession(constraint),
  } as D1Database;
}

/**
 * A D1Database that adds up rows read and written (from D1's own result meta) for everything run through it, so a
 * sync run can report what it cost. Statements keep working with batch(): they are unwrapped on the way in.
 */
export interface D1Meter {
  rowsRead: number;
  rowsWritten: number;
  queries: number;
}

const ORIGINAL = Symbol('original statement');
type Wrapped = D1PreparedStatement & { [ORIGINAL]: D1PreparedStatement };

function count(meter: D1Meter, meta: { rows_read?: number; rows_written?: number } | undefined) {
  meter.queries++;
  meter.rowsRead += meta?.rows_read ?? 0;
  meter.rowsWritten += meta?.rows_written ?? 0;
}

function wrap(stmt: D1PreparedStatement, meter: D1Meter): D1PreparedStatement {
  const wrapped = {
    [ORIGINAL]: stmt,
    bind: (...values: unknown[]) => wrap(stmt.bind(...values), meter),
    async first<T>(column?: string) {
      const res = await stmt.all<Record<string, unknown>>();
      count(meter, res.meta);
      const row = res.results[0];
      if (row === undefined) return null;
      return (column === undefined ? row : row[column]) as T;
    },
    async run<T>() {
      const res = await stmt.run<T>();
      count(meter, res.meta);
      return res;
    },
    async all<T>() {
      const res = await stmt.all<T>();
      count(meter, res.meta);
      return res;
    },
    raw: stmt.raw.bind(stmt),
  };
  return wrapped as unknown as Wrapped;
}

export function meteredD1(db: D1Database, meter: D1Meter): D1Database {
  return {
    prepare: (query: string) => wrap(db.prepare(query), meter),
    async batch<T>(statements: D1PreparedStatement[]) {
      const results = await db.batch<T>(statements.map((s) => (s as Partial<Wrapped>)[ORIGINAL] ?? s));
      for (const r of results) count(meter, r.meta);
      return results;
    },
    exec: (query: string) => db.exec(query),
    dump: () => db.dump(),
    withSession: (constraint?: string) => db.withSession(constraint),
  } as D1Database;
}

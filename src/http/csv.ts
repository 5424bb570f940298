import type { Context } from 'hono';

/** What a spreadsheet runs as a formula when a cell starts with it; a plain number (-12.5) is left a number. */
const FORMULA = /^[=+\-@\t\r]/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * One CSV cell (RFC 4180 quoting). A value that would start a formula gets a leading `'`, so a CRM value or a name
 * in an exported sheet cannot run as a formula when it is opened.
 */
export function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (FORMULA.test(s) && !NUMBER.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV when asked for with `?format=csv`, or with `Accept: text/csv` unless `?format=json` says otherwise. */
export function wantsCsv(c: Context, format: string | undefined): boolean {
  return format === 'csv' || (format === undefined && (c.req.header('accept') ?? '').includes('text/csv'));
}

/** One CSV line, CRLF-terminated. */
export const csvRow = (row: readonly unknown[]): string => row.map(csvCell).join(',') + '\r\n';

/** The headers of a CSV attachment. */
export const csvHeaders = (filename: string) => ({ 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${filename}"` });

/** A CSV attachment: the header line, then one line per row. */
export function csvResponse(c: Context, filename: string, columns: readonly string[], rows: readonly unknown[][]): Response {
  return c.body([columns, ...rows].map(csvRow).join(''), 200, csvHeaders(filename));
}

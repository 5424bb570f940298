/**
 * Incremental RFC 4180 CSV parser: feed it text chunks as they stream in, get complete rows out. Quoted fields may
 * contain commas, doubled quotes and line breaks; CRLF and LF both end a row; a UTF-8 BOM at the start is dropped.
 * A syntax error spoils only its own row: the row comes out with `error` and parsing goes on at the next line, so one
 * stray quote never costs the rows around it.
 */
export interface CsvRow {
  /** 1-based line number where the row starts (header = line 1), for error messages. */
  line: number;
  fields: string[];
  /** The first syntax error in the row; its fields are then unreliable. */
  error?: string;
}

export class CsvParser {
  private field = '';
  private fields: string[] = [];
  private quoted = false;
  private afterQuote = false;
  private line = 1;
  private rowStart = 1;
  private started = false;
  private pendingCR = false;
  private rowError: string | undefined;

  constructor(private readonly delimiter = ',') {}

  push(chunk: string): CsvRow[] {
    const rows: CsvRow[] = [];
    let text = chunk;
    if (!this.started) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text.length) this.started = true;
    }
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (this.pendingCR) {
        this.pendingCR = false;
        if (ch === '\n') continue;
      }
      if (this.quoted) {
        if (ch === '"') {
          this.quoted = false;
          this.afterQuote = true;
        } else {
          if (ch === '\n') this.line++;
          this.field += ch;
        }
        continue;
      }
      if (ch === '"' && this.rowError) {
        // The row is already rejected: quotes are plain text now, so they cannot swallow the lines after it.
        this.field += ch;
        continue;
      }
      if (ch === '"') {
        if (this.afterQuote) {
          this.field += '"';
          this.quoted = true;
          this.afterQuote = false;
        } else if (this.field === '') {
          this.quoted = true;
        } else {
          this.fail('a quote inside an unquoted field; quote the whole field and double inner quotes');
          this.field += ch;
        }
        continue;
      }
      if (ch === this.delimiter) {
        this.endField();
        continue;
      }
      if (ch === '\n' || ch === '\r') {
        this.endField();
        this.emit(rows);
        this.line++;
        this.rowStart = this.line;
        if (ch === '\r') this.pendingCR = true;
        continue;
      }
      if (this.afterQuote) {
        this.fail('characters after a closing quote');
        this.afterQuote = false;
      }
      this.field += ch;
    }
    return rows;
  }

  end(): CsvRow[] {
    if (this.quoted) this.fail(`a quoted field opened on line ${this.rowStart} is never closed; every line after it was read into it`);
    const rows: CsvRow[] = [];
    if (this.field !== '' || this.fields.length) {
      this.endField();
      this.emit(rows);
    }
    return rows;
  }

  private endField() {
    this.fields.push(this.field);
    this.field = '';
    this.afterQuote = false;
  }

  private fail(message: string) {
    this.rowError ??= message;
  }

  private emit(rows: CsvRow[]) {
    const blank = this.fields.length === 1 && this.fields[0] === '' && !this.rowError;
    if (!blank) rows.push({ line: this.rowStart, fields: this.fields, ...(this.rowError ? { error: this.rowError } : {}) });
    this.fields = [];
    this.rowError = undefined;
  }
}

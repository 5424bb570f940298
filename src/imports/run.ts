import { activityInputSchema, type ActivityInput } from '../activity/schema';
import { ApiError, issuePath } from '../http/errors';
import { MAX_BATCH_MESSAGES, MAX_ITEM_BYTES, MAX_MESSAGE_BYTES, itemBytes, type ActivityMessage } from '../ingest/message';
import { sendMessages } from '../ingest/enqueue';
import { CsvParser } from './csv';
import { resolveColumns, rowToActivity, type CsvMapping } from './mapping';

export interface RowError {
  row: number;
  path: string;
  message: string;
}

export interface ImportSummary {
  rowsTotal: number;
  rejected: number;
  errors: RowError[];
  chunks: number;
  /** Rows in chunks the queue has taken: they are stored even if the upload breaks off later. */
  rowsSent: number;
  /** The last row read, for saying where an upload broke off. */
  lastRow: number;
  failure: string | null;
}

export const emptySummary = (): ImportSummary => ({ rowsTotal: 0, rejected: 0, errors: [], chunks: 0, rowsSent: 0, lastRow: 0, failure: null });

export interface ImportTarget {
  queue: Queue;
  jobId: string;
  receivedAt: string;
  maxBytes: number;
  /** Called once, after the header (CSV) is known to be usable and before the first chunk is enqueued. */
  onStart: () => Promise<void>;
}

const MAX_ROW_ERRORS = 1000;

/**
 * What a non-fatal UTF-8 decoder puts in place of bytes that are not UTF-8. A file saved as Windows-1252 (Excel's
 * "CSV" on Windows) decodes to it wherever a non-ASCII letter was: those rows are rejected, the rest go through.
 */
const REPLACEMENT = '\uFFFD';
const NOT_UTF8 = 'holds bytes that are not UTF-8 text; save the file as UTF-8 (Excel: "CSV UTF-8")';
const notUtf8 = (texts: string[]) => texts.some((t) => t.includes(REPLACEMENT));

/** Streams an upload into queue chunks: rows are validated one by one and never all held in memory. */
class ChunkWriter {
  private items: ActivityInput[] = [];
  private bytes = 0;
  private messages: ActivityMessage[] = [];
  chunks = 0;

  constructor(
    private readonly target: ImportTarget,
    private readonly summary: ImportSummary,
  ) {}

  async add(item: ActivityInput, size: number) {
    if (this.items.length && this.bytes + size + 1 > MAX_MESSAGE_BYTES) await this.cut();
    this.items.push(item);
    this.bytes += size + 1;
  }

  private async cut() {
    this.messages.push({
      v: 1,
      origin: `import:${this.target.jobId}`,
      received_at: this.target.receivedAt,
      import: { job: this.target.jobId, chunk: this.chunks++ },
      items: this.items,
    });
    this.items = [];
    this.bytes = 0;
    if (this.messages.length >= MAX_BATCH_MESSAGES / 4) await this.flush();
  }

  async flush() {
    if (!this.messages.length) return;
    await sendMessages(this.target.queue, this.messages);
    this.summary.rowsSent += this.messages.reduce((n, m) => n + m.items.length, 0);
    this.summary.chunks = this.chunks;
    this.messages = [];
  }

  async close() {
    if (this.items.length) await this.cut();
    await this.flush();
  }
}

async function* lines(body: ReadableStream<Uint8Array>, maxBytes: number): AsyncGenerator<string> {
  const reader = body.getReader();
  // Not fatal: a stray byte must cost its own row, not the upload (see REPLACEMENT).
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size === 0 && isUtf16(value)) {
      await reader.cancel();
      throw new ApiError(400, 'invalid_import', 'the file is UTF-16 text; save it as UTF-8', [{ path: '(file)', message: 'starts with a UTF-16 byte order mark' }]);
    }
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new ApiError(413, 'payload_too_large', `import exceeds ${maxBytes} bytes`);
    }
    yield decoder.decode(value, { stream: true });
  }
  yield decoder.decode();
}

const isUtf16 = (b: Uint8Array) => b.length >= 2 && ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff));

function recordErrors(summary: ImportSummary, row: number, issues: { path: string; message: string }[]) {
  summary.rejected++;
  for (const issue of issues) {
    if (summary.errors.length < MAX_ROW_ERRORS) summary.errors.push({ row, ...issue });
  }
}

async function acceptCandidate(summary: ImportSummary, writer: ChunkWriter, row: number, candidate: unknown) {
  summary.rowsTotal++;
  const parsed = activityInputSchema.safeParse(candidate);
  if (!parsed.success) {
    recordErrors(summary, row, parsed.error.issues.map((i) => ({ path: issuePath(i.path), message: i.message })));
    return;
  }
  // The same cap as the batch API: one oversized row must not make its chunk too big for the queue.
  const size = itemBytes(parsed.data);
  if (size > MAX_ITEM_BYTES) {
    recordErrors(summary, row, [{ path: '(row)', message: `the activity is ${size} bytes; at most ${MAX_ITEM_BYTES}` }]);
    return;
  }
  await writer.add(parsed.data, size);
}

export async function importCsv(body: ReadableStream<Uint8Array>, mapping: CsvMapping, target: ImportTarget, summary = emptySummary()): Promise<ImportSummary> {
  const writer = new ChunkWriter(target, summary);
  const parser = new CsvParser();
  let index: Map<string, number> | null = null;
  let width = 0;
  const handle = async (rows: { line: number; fields: string[]; error?: string }[]) => {
    for (const { line, fields, error } of rows) {
      summary.lastRow = line;
      if (!index) {
        const problem = error ?? (notUtf8(fields) ? `the header ${NOT_UTF8}` : null);
        if (problem) throw new ApiError(400, 'invalid_import', `the CSV header is malformed: line ${line}: ${problem}`, [{ path: '(header)', message: problem }]);
        const resolved = resolveColumns(mapping, fields);
        if (resolved.missing.length) {
          throw new ApiError(400, 'invalid_import', 'the CSV header lacks columns the mapping names',
            resolved.missing.map((c) => ({ path: 'mapping.columns', message: `no column "${c}" in the header` })));
        }
        index = resolved.index;
        width = fields.length;
        await target.onStart();
        continue;
      }
      const problem = error ?? (fields.length !== width ? `expected ${width} fields, found ${fields.length}` : null)
        ?? (notUtf8(fields) ? `the row ${NOT_UTF8}` : null);
      if (problem) {
        summary.rowsTotal++;
        recordErrors(summary, line, [{ path: '(row)', message: problem }]);
        continue;
      }
      await acceptCandidate(summary, writer, line, await rowToActivity(mapping, index, fields));
    }
  };
  for await (const text of lines(body, target.maxBytes)) await handle(parser.push(text));
  await handle(parser.end());
  if (!index) throw new ApiError(400, 'invalid_import', 'the CSV is empty; expected a header row');
  await writer.close();
  return summary;
}

export async function importNdjson(body: ReadableStream<Uint8Array>, target: ImportTarget, summary = emptySummary()): Promise<ImportSummary> {
  const writer = new ChunkWriter(target, summary);
  let started = false;
  let carry = '';
  let line = 0;
  const handleLine = async (text: string) => {
    line++;
    summary.lastRow = line;
    if (!text.trim()) return;
    if (notUtf8([text])) {
      summary.rowsTotal++;
      recordErrors(summary, line, [{ path: '(line)', message: `the line ${NOT_UTF8}` }]);
      return;
    }
    let candidate: unknown;
    try {
      candidate = JSON.parse(text);
    } catch (e) {
      summary.rowsTotal++;
      recordErrors(summary, line, [{ path: '(line)', message: `not valid JSON: ${(e as Error).message}` }]);
      return;
    }
    await acceptCandidate(summary, writer, line, candidate);
  };
  for await (const text of lines(body, target.maxBytes)) {
    // The job exists once the first bytes passed the encoding check, so a refused file leaves no job behind.
    if (!started) {
      await target.onStart();
      started = true;
    }
    const parts = (carry + text).split('\n');
    carry = parts.pop()!;
    for (const part of parts) await handleLine(part.replace(/\r$/, ''));
  }
  if (carry) await handleLine(carry.replace(/\r$/, ''));
  await writer.close();
  return summary;
}

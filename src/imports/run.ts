import { activityInputSchema, type ActivityInput } from '../activity/schema';
import { ApiError, issuePath } from '../http/errors';
import { MAX_BATCH_MESSAGES, MAX_MESSAGE_BYTES, itemBytes, type ActivityMessage } from '../ingest/message';
import { sendMessages } from '../ingest/enqueue';
import { CsvError, CsvParser } from './csv';
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
  failure: string | null;
}

export interface ImportTarget {
  queue: Queue;
  jobId: string;
  receivedAt: string;
  maxBytes: number;
  /** Called once, after the header (CSV) is known to be usable and before the first chunk is enqueued. */
  onStart: () => Promise<void>;
}

const MAX_ROW_ERRORS = 1000;

/** Streams an upload into queue chunks: rows are validated one by one and never all held in memory. */
class ChunkWriter {
  private items: ActivityInput[] = [];
  private bytes = 0;
  private messages: ActivityMessage[] = [];
  chunks = 0;

  constructor(private readonly target: ImportTarget) {}

  async add(item: ActivityInput) {
    const size = itemBytes(item) + 1;
    if (this.items.length && this.bytes + size > MAX_MESSAGE_BYTES) await this.cut();
    this.items.push(item);
    this.bytes += size;
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
    if (this.messages.length) await sendMessages(this.target.queue, this.messages);
    this.messages = [];
  }

  async close() {
    if (this.items.length) await this.cut();
    await this.flush();
  }
}

async function* lines(body: ReadableStream<Uint8Array>, maxBytes: number): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new ApiError(413, 'payload_too_large', `import exceeds ${maxBytes} bytes`);
    }
    yield decoder.decode(value, { stream: true });
  }
  yield decoder.decode();
}

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
  await writer.add(parsed.data);
}

export async function importCsv(body: ReadableStream<Uint8Array>, mapping: CsvMapping, target: ImportTarget): Promise<ImportSummary> {
  const summary: ImportSummary = { rowsTotal: 0, rejected: 0, errors: [], chunks: 0, failure: null };
  const writer = new ChunkWriter(target);
  const parser = new CsvParser();
  let index: Map<string, number> | null = null;
  let width = 0;
  const handle = async (rows: { line: number; fields: string[] }[]) => {
    for (const { line, fields } of rows) {
      if (!index) {
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
      if (fields.length !== width) {
        summary.rowsTotal++;
        recordErrors(summary, line, [{ path: '(row)', message: `expected ${width} fields, found ${fields.length}` }]);
        continue;
      }
      await acceptCandidate(summary, writer, line, await rowToActivity(mapping, index, fields));
    }
  };
  try {
    for await (const text of lines(body, target.maxBytes)) await handle(parser.push(text));
    await handle(parser.end());
  } catch (e) {
    if (!(e instanceof CsvError)) throw e;
    if (!index) throw new ApiError(400, 'invalid_import', `the CSV header is malformed: ${e.message}`, [{ path: '(header)', message: e.message }]);
    summary.failure = e.message;
  }
  if (!index) throw new ApiError(400, 'invalid_import', 'the CSV is empty; expected a header row');
  await writer.close();
  summary.chunks = writer.chunks;
  return summary;
}

export async function importNdjson(body: ReadableStream<Uint8Array>, target: ImportTarget): Promise<ImportSummary> {
  const summary: ImportSummary = { rowsTotal: 0, rejected: 0, errors: [], chunks: 0, failure: null };
  const writer = new ChunkWriter(target);
  await target.onStart();
  let carry = '';
  let line = 0;
  const handleLine = async (text: string) => {
    line++;
    if (!text.trim()) return;
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
    const parts = (carry + text).split('\n');
    carry = parts.pop()!;
    for (const part of parts) await handleLine(part.replace(/\r$/, ''));
  }
  if (carry) await handleLine(carry);
  await writer.close();
  summary.chunks = writer.chunks;
  return summary;
}

import type { Context } from 'hono';
import { ApiError } from './errors';

/** Reads the raw body with a hard cap: Content-Length is checked first, then the stream is counted as it arrives. */
export async function readBody(req: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function tooLarge(maxBytes: number) {
  return new ApiError(413, 'payload_too_large', `request body exceeds ${maxBytes} bytes`);
}

export function mediaType(c: Context): string {
  return (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

export function requireMediaType(c: Context, ...accepted: string[]): string {
  const type = mediaType(c);
  if (!accepted.includes(type)) {
    throw new ApiError(415, 'unsupported_media_type', `Content-Type must be ${accepted.join(' or ')} (got "${type || 'none'}")`);
  }
  return type;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function parseJsonBody(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new ApiError(400, 'malformed_body', 'request body is not valid UTF-8');
  }
  if (text.trim() === '') throw new ApiError(400, 'malformed_json', 'request body is empty; expected JSON');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, 'malformed_json', `request body is not valid JSON: ${(e as Error).message}`);
  }
}

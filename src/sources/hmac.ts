/**
 * Shared HMAC-SHA256 helpers for webhook signature checks.
 *
 * Only WebCrypto (`crypto.subtle`) and TextEncoder: the same code runs in workerd and Node 24 without `node:` imports.
 * Signature comparison goes through `crypto.subtle.verify`, which compares in constant time inside the platform, so we
 * never hand-roll a byte comparison of a secret-derived value. `timingSafeEqualStr` exists for callers that already hold
 * two strings (e.g. tokens) and need a comparison whose timing does not depend on where they first differ.
 */

/** Raw request bytes as the runtime hands them to us, or a string that will be UTF-8 encoded. */
export type HmacData = ArrayBuffer | Uint8Array | string;

const encoder = new TextEncoder();

/**
 * Copy into a fresh ArrayBuffer-backed view. WebCrypto's typings (DOM lib and workers-types) want an
 * `ArrayBuffer`, not `ArrayBufferLike` (which includes SharedArrayBuffer), and a copy also protects against a caller
 * mutating the buffer while the async digest runs.
 */
export function toBytes(data: HmacData): Uint8Array<ArrayBuffer> {
  const view = typeof data === 'string' ? encoder.encode(data) : data instanceof Uint8Array ? data : new Uint8Array(data);
  const copy = new Uint8Array(view.byteLength);
  copy.set(view);
  return copy;
}

/** Concatenate several pieces (strings are UTF-8 encoded) into one byte array, for "prefix + body + suffix" schemes. */
export function concatBytes(...parts: HmacData[]): Uint8Array<ArrayBuffer> {
  const bytes = parts.map(toBytes);
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.byteLength, 0));
  let offset = 0;
  for (const b of bytes) {
    out.set(b, offset);
    offset += b.byteLength;
  }
  return out;
}

// Imported keys per secret and usage: importing costs about as much as the MAC of a webhook body, and an isolate sees
// a handful of secrets. A rotated secret is a new entry; the map is cleared before it could grow without bound.
const keys = new Map<string, Promise<CryptoKey>>();

function importKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  const id = `${usage}:${secret}`;
  let key = keys.get(id);
  if (!key) {
    if (keys.size >= 32) keys.clear();
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
    // A failed import is not kept: the next call tries again.
    key.catch(() => keys.delete(id));
    keys.set(id, key);
  }
  return key;
}

async function hmacSha256(secret: string, data: HmacData): Promise<Uint8Array> {
  const key = await importKey(secret, 'sign');
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, toBytes(data)));
}

/** Lowercase hex HMAC-SHA256 of `data` keyed by the UTF-8 bytes of `secret` (GitHub, Discourse, Slack style). */
export async function hmacSha256Hex(secret: string, data: HmacData): Promise<string> {
  const mac = await hmacSha256(secret, data);
  let hex = '';
  for (const byte of mac) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/** Standard (padded) base64 HMAC-SHA256 (HubSpot v3 style). */
export async function hmacSha256Base64(secret: string, data: HmacData): Promise<string> {
  const mac = await hmacSha256(secret, data);
  let binary = '';
  for (const byte of mac) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Decode a hex string to bytes; null when it is not exactly `expectedBytes` bytes of hex. Parsing the attacker-supplied
 * signature (not our secret-derived MAC) is allowed to exit early: its timing reveals nothing about the secret.
 */
export function hexToBytes(hex: string, expectedBytes = 32): Uint8Array<ArrayBuffer> | null {
  if (hex.length !== expectedBytes * 2 || !/^[0-9a-fA-F]*$/.test(hex)) return null;
  const out = new Uint8Array(expectedBytes);
  for (let i = 0; i < expectedBytes; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Decode standard base64 to bytes; null when malformed or not `expectedBytes` long. */
export function base64ToBytes(b64: string, expectedBytes = 32): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return null;
  let binary: string;
  try {
    binary = atob(b64);
  } catch {
    return null;
  }
  if (binary.length !== expectedBytes) return null;
  const out = new Uint8Array(expectedBytes);
  for (let i = 0; i < expectedBytes; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * True when `signature` is the HMAC-SHA256 of `data` under `secret`. The comparison is done by
 * `crypto.subtle.verify`, which is constant-time in both workerd and Node (BoringSSL/OpenSSL CRYPTO_memcmp).
 */
export async function verifyHmacSha256(secret: string, data: HmacData, signature: Uint8Array<ArrayBuffer>): Promise<boolean> {
  const key = await importKey(secret, 'verify');
  return crypto.subtle.verify('HMAC', key, signature, toBytes(data));
}

/**
 * Constant-time string equality over the full length of `b` (the expected value). Lengths that differ return false, but
 * only after the same loop has run, so timing depends on the expected length alone, never on where the contents differ.
 * Strings are compared as UTF-16 code units; callers compare ASCII (hex/base64) values.
 */
export function timingSafeEqualStr(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) {
    // charCodeAt past the end of `a` is NaN; `| 0` turns it into 0 so the loop shape never changes.
    diff |= (a.charCodeAt(i) | 0) ^ b.charCodeAt(i);
  }
  return diff === 0;
}

/**
 * Parse a `sha256=<hex>` header (GitHub X-Hub-Signature-256, Discourse X-Discourse-Event-Signature) and verify it.
 * Missing, wrong prefix or malformed hex → false.
 */
export async function verifyPrefixedHexSignature(
  prefix: string,
  secret: string,
  rawBody: HmacData,
  header: string | null | undefined,
): Promise<boolean> {
  if (!secret || !header) return false;
  const value = header.trim();
  if (!value.startsWith(prefix)) return false;
  const sig = hexToBytes(value.slice(prefix.length));
  if (!sig) return false;
  return verifyHmacSha256(secret, rawBody, sig);
}

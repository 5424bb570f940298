/**
 * Rules versions: SHA-256 of a canonical form of the *parsed* rules, so comments, key order, quoting and defaults
 * spelled out or left implicit do not change the version; any change of meaning does.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function toJson(value: unknown): Json {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object') {
    const out: { [k: string]: Json } = {};
    for (const k of Object.keys(value).sort()) {
      const v: unknown = Reflect.get(value, k);
      if (v !== undefined) out[k] = toJson(v);
    }
    return out;
  }
  return null;
}

/** Canonical JSON: object keys sorted recursively, undefined dropped, no whitespace. */
export function canonicalString(value: unknown): string {
  return JSON.stringify(toJson(value));
}

/** `sha256:<hex>` of the canonical form; uses Web Crypto, present in Node ≥ 20 and workerd. */
export async function rulesVersion(value: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalString(value));
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return `sha256:${[...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * HubSpot request signature v3 (X-HubSpot-Signature-v3 + X-HubSpot-Request-Timestamp), used by webhooks and other
 * requests HubSpot sends to apps. Only the check lives here; CRM change handling belongs to src/crm.
 *
 * Signed string (UTF-8): method + uri + body + timestamp, HMAC-SHA256 keyed by the app's client secret, base64.
 * `uri` must be the full URL HubSpot called (scheme, host, path, query), exactly as received, e.g.
 * `https://example.com/webhooks/hubspot?x=1`. Behind a proxy, rebuild it from the public host, not the internal one.
 */
import { base64ToBytes, concatBytes, verifyHmacSha256 } from '../hmac';

export type HubspotVerifyResult = { ok: true } | { ok: false; reason: 'missing' | 'stale' | 'malformed' | 'mismatch' };

/** HubSpot documents: reject the request if the timestamp is older than 5 minutes. */
export const HUBSPOT_MAX_AGE_MS = 5 * 60 * 1000;
/** Not documented by HubSpot; a small allowance for clock skew so a far-future timestamp cannot extend a replay window. */
export const HUBSPOT_MAX_FUTURE_MS = 5 * 60 * 1000;

/**
 * HubSpot's documented decoding: these percent-encoded characters are decoded in the URI before signing; everything
 * else (e.g. %20, %26) stays encoded. Hex digits may come in either case.
 */
const DECODE: Record<string, string> = {
  '3A': ':', '2F': '/', '3F': '?', '40': '@', '21': '!', '24': '$', '27': "'", '28': '(', '29': ')', '2A': '*', '2C': ',', '3B': ';',
};

export function hubspotDecodeUri(uri: string): string {
  return uri.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (_m, hex: string) => DECODE[hex.toUpperCase()] ?? _m);
}

export async function verifyHubspotV3(
  clientSecret: string,
  method: string,
  uri: string,
  rawBody: ArrayBuffer | Uint8Array | string,
  timestampHeader: string | null,
  signatureHeader: string | null,
  nowMs: number,
): Promise<HubspotVerifyResult> {
  if (!clientSecret || !timestampHeader || !signatureHeader) return { ok: false, reason: 'missing' };
  const ts = timestampHeader.trim();
  if (!/^\d{1,16}$/.test(ts)) return { ok: false, reason: 'malformed' };
  const age = nowMs - Number(ts);
  if (age > HUBSPOT_MAX_AGE_MS || age < -HUBSPOT_MAX_FUTURE_MS) return { ok: false, reason: 'stale' };
  const mac = base64ToBytes(signatureHeader.trim());
  if (!mac) return { ok: false, reason: 'malformed' };
  const signed = concatBytes(method.toUpperCase(), hubspotDecodeUri(uri), rawBody, ts);
  return (await verifyHmacSha256(clientSecret, signed, mac)) ? { ok: true } : { ok: false, reason: 'mismatch' };
}

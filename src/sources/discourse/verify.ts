import { verifyPrefixedHexSignature } from '../hmac';

/**
 * Check X-Discourse-Event-Signature (`sha256=<hex HMAC-SHA256 of the raw body>`, keyed by the webhook's "Secret").
 * Discourse only signs when a secret is configured; an unsigned request therefore fails this check.
 */
export function verifyDiscourseSignature(
  secret: string,
  rawBody: ArrayBuffer | Uint8Array,
  header: string | null,
): Promise<boolean> {
  return verifyPrefixedHexSignature('sha256=', secret, rawBody, header);
}

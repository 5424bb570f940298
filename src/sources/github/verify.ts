import { verifyPrefixedHexSignature } from '../hmac';

/**
 * Check X-Hub-Signature-256 (`sha256=<hex HMAC-SHA256 of the raw body>`). Must be given the exact bytes received:
 * re-serialised JSON will not match. Missing or malformed header, or an empty secret, is a failed check.
 */
export function verifyGithubSignature(
  secret: string,
  rawBody: ArrayBuffer | Uint8Array,
  header: string | null,
): Promise<boolean> {
  return verifyPrefixedHexSignature('sha256=', secret, rawBody, header);
}

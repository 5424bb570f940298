import { concatBytes, hexToBytes, verifyHmacSha256 } from '../hmac';

export type SlackVerifyResult = { ok: true } | { ok: false; reason: 'missing' | 'stale' | 'mismatch' };

/** Slack's documented replay window: reject requests whose timestamp is more than five minutes from our clock. */
export const SLACK_MAX_SKEW_SECONDS = 5 * 60;

/**
 * Verify a Slack request (signing secret, v0 scheme): X-Slack-Signature = `v0=` + hex HMAC-SHA256 of
 * `v0:${X-Slack-Request-Timestamp}:${raw body}`. The timestamp check runs first and applies both ways (old → replay,
 * far future → forged or broken clock). A malformed signature header counts as a mismatch.
 */
export async function verifySlackSignature(
  signingSecret: string,
  rawBody: ArrayBuffer | Uint8Array,
  timestampHeader: string | null,
  signatureHeader: string | null,
  nowSeconds: number,
): Promise<SlackVerifyResult> {
  if (!signingSecret || !timestampHeader || !signatureHeader) return { ok: false, reason: 'missing' };
  const ts = timestampHeader.trim();
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'stale' };
  if (Math.abs(nowSeconds - Number(ts)) > SLACK_MAX_SKEW_SECONDS) return { ok: false, reason: 'stale' };
  const sig = signatureHeader.trim();
  const mac = sig.startsWith('v0=') ? hexToBytes(sig.slice(3)) : null;
  if (!mac) return { ok: false, reason: 'mismatch' };
  const ok = await verifyHmacSha256(signingSecret, concatBytes(`v0:${ts}:`, rawBody), mac);
  return ok ? { ok: true } : { ok: false, reason: 'mismatch' };
}

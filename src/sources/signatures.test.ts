import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyDiscourseSignature } from './discourse/verify';
import { verifyGithubSignature } from './github/verify';
import { hubspotDecodeUri, verifyHubspotV3 } from './hubspot/verify';
import { verifySlackSignature } from './slack/verify';

const enc = new TextEncoder();
const body = enc.encode('{"action":"created","zen":"Keep it logically awesome."}');
const hex = (secret: string, data: string | Uint8Array) => createHmac('sha256', secret).update(data).digest('hex');
const b64 = (secret: string, data: string) => createHmac('sha256', secret).update(data).digest('base64');

describe.each([
  ['github', verifyGithubSignature],
  ['discourse', verifyDiscourseSignature],
])('%s sha256=<hex> signature', (_name, verify) => {
  const good = `sha256=${hex('s3cret', body)}`;

  it('accepts a valid signature (Uint8Array and ArrayBuffer body)', async () => {
    expect(await verify('s3cret', body, good)).toBe(true);
    expect(await verify('s3cret', body.slice().buffer, good)).toBe(true);
    expect(await verify('s3cret', body, ` ${good.toUpperCase().replace('SHA256=', 'sha256=')} `)).toBe(true);
  });

  it('rejects wrong secret, tampered body, missing and malformed header, empty secret', async () => {
    expect(await verify('other', body, good)).toBe(false);
    const tampered = body.slice();
    tampered[5] = tampered[5]! ^ 1;
    expect(await verify('s3cret', tampered, good)).toBe(false);
    expect(await verify('s3cret', body, null)).toBe(false);
    expect(await verify('s3cret', body, '')).toBe(false);
    expect(await verify('s3cret', body, hex('s3cret', body))).toBe(false); // no prefix
    expect(await verify('s3cret', body, `sha1=${hex('s3cret', body)}`)).toBe(false);
    expect(await verify('s3cret', body, `sha256=${hex('s3cret', body).slice(0, 63)}`)).toBe(false);
    expect(await verify('s3cret', body, `sha256=${'g'.repeat(64)}`)).toBe(false);
    expect(await verify('', body, `sha256=${hex('x', body)}`)).toBe(false);
  });
});

describe('verifySlackSignature', () => {
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  const now = 1531420618;
  const sign = (ts: string | number, b: Uint8Array = body, s = secret) => `v0=${hex(s, Buffer.concat([enc.encode(`v0:${ts}:`), b]))}`;

  it('accepts a valid signature within the window', async () => {
    expect(await verifySlackSignature(secret, body, String(now), sign(now), now)).toEqual({ ok: true });
    expect(await verifySlackSignature(secret, body, String(now - 299), sign(now - 299), now)).toEqual({ ok: true });
    expect(await verifySlackSignature(secret, body, String(now + 299), sign(now + 299), now)).toEqual({ ok: true });
  });

  it('rejects stale and future timestamps even when correctly signed', async () => {
    expect(await verifySlackSignature(secret, body, String(now - 301), sign(now - 301), now)).toEqual({ ok: false, reason: 'stale' });
    expect(await verifySlackSignature(secret, body, String(now + 301), sign(now + 301), now)).toEqual({ ok: false, reason: 'stale' });
    expect(await verifySlackSignature(secret, body, 'abc', sign('abc'), now)).toEqual({ ok: false, reason: 'stale' });
  });

  it('rejects wrong secret, tampered body, signature for another timestamp, malformed header', async () => {
    const mismatch = { ok: false, reason: 'mismatch' };
    expect(await verifySlackSignature('wrong', body, String(now), sign(now), now)).toEqual(mismatch);
    expect(await verifySlackSignature(secret, enc.encode('{}'), String(now), sign(now), now)).toEqual(mismatch);
    expect(await verifySlackSignature(secret, body, String(now), sign(now - 1), now)).toEqual(mismatch);
    expect(await verifySlackSignature(secret, body, String(now), sign(now).replace('v0=', 'v1='), now)).toEqual(mismatch);
    expect(await verifySlackSignature(secret, body, String(now), 'v0=xyz', now)).toEqual(mismatch);
  });

  it('reports missing headers', async () => {
    expect(await verifySlackSignature(secret, body, null, sign(now), now)).toEqual({ ok: false, reason: 'missing' });
    expect(await verifySlackSignature(secret, body, String(now), null, now)).toEqual({ ok: false, reason: 'missing' });
  });
});

describe('verifyHubspotV3', () => {
  const secret = 'hubspot-client-secret';
  const uri = 'https://example.com/webhooks/hubspot?portal=62515';
  const text = '[{"objectId":1246965,"subscriptionType":"contact.creation"}]';
  const nowMs = 1_700_000_000_000;
  const ts = String(nowMs - 1000);
  const sig = b64(secret, `POST${uri}${text}${ts}`);

  it('accepts a valid signature', async () => {
    expect(await verifyHubspotV3(secret, 'POST', uri, enc.encode(text), ts, sig, nowMs)).toEqual({ ok: true });
    expect(await verifyHubspotV3(secret, 'post', uri, text, ts, sig, nowMs)).toEqual({ ok: true });
  });

  it('rejects wrong secret, tampered body, other uri or method', async () => {
    const mismatch = { ok: false, reason: 'mismatch' };
    expect(await verifyHubspotV3('nope', 'POST', uri, text, ts, sig, nowMs)).toEqual(mismatch);
    expect(await verifyHubspotV3(secret, 'POST', uri, text.replace('1246965', '1246966'), ts, sig, nowMs)).toEqual(mismatch);
    expect(await verifyHubspotV3(secret, 'POST', `${uri}&x=1`, text, ts, sig, nowMs)).toEqual(mismatch);
    expect(await verifyHubspotV3(secret, 'GET', uri, text, ts, sig, nowMs)).toEqual(mismatch);
  });

  it('rejects stale timestamps (older than 5 minutes), far-future ones, and missing/malformed headers', async () => {
    const old = String(nowMs - 5 * 60 * 1000 - 1);
    expect(await verifyHubspotV3(secret, 'POST', uri, text, old, b64(secret, `POST${uri}${text}${old}`), nowMs)).toEqual({ ok: false, reason: 'stale' });
    const future = String(nowMs + 6 * 60 * 1000);
    expect(await verifyHubspotV3(secret, 'POST', uri, text, future, b64(secret, `POST${uri}${text}${future}`), nowMs)).toEqual({ ok: false, reason: 'stale' });
    expect(await verifyHubspotV3(secret, 'POST', uri, text, null, sig, nowMs)).toEqual({ ok: false, reason: 'missing' });
    expect(await verifyHubspotV3(secret, 'POST', uri, text, ts, null, nowMs)).toEqual({ ok: false, reason: 'missing' });
    expect(await verifyHubspotV3(secret, 'POST', uri, text, 'soon', sig, nowMs)).toEqual({ ok: false, reason: 'malformed' });
    expect(await verifyHubspotV3(secret, 'POST', uri, text, ts, 'not base64!', nowMs)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('decodes exactly the characters HubSpot documents before signing', async () => {
    expect(hubspotDecodeUri('https://x.io/h?email=a%40b.co&q=a%20b%2Fc%3a%2a%26')).toBe('https://x.io/h?email=a@b.co&q=a%20b/c:*%26');
    const encoded = 'https://example.com/webhooks/hubspot?email=ada%40acme.io';
    const signedAsDecoded = b64(secret, `POST${'https://example.com/webhooks/hubspot?email=ada@acme.io'}${text}${ts}`);
    expect(await verifyHubspotV3(secret, 'POST', encoded, text, ts, signedAsDecoded, nowMs)).toEqual({ ok: true });
  });
});

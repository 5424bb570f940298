import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  base64ToBytes, concatBytes, hexToBytes, hmacSha256Base64, hmacSha256Hex, timingSafeEqualStr, verifyHmacSha256,
} from './hmac';

// node:crypto is only the test oracle: an independent implementation to check our WebCrypto code against.
const oracle = (secret: string, data: string | Uint8Array) => createHmac('sha256', secret).update(data);

describe('hmac helpers', () => {
  it('matches RFC 4231 test case 2', async () => {
    expect(await hmacSha256Hex('Jefe', 'what do ya want for nothing?')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('hex and base64 agree with node:crypto for strings, Uint8Array and ArrayBuffer', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ minLength: 1 }), fc.uint8Array(), async (secret, bytes) => {
      const hex = oracle(secret, bytes).digest('hex');
      expect(await hmacSha256Hex(secret, bytes)).toBe(hex);
      expect(await hmacSha256Hex(secret, bytes.slice().buffer)).toBe(hex);
      expect(await hmacSha256Base64(secret, bytes)).toBe(oracle(secret, bytes).digest('base64'));
    }), { numRuns: 50 });
    expect(await hmacSha256Hex('k', 'héllo')).toBe(oracle('k', 'héllo').digest('hex'));
  });

  it('hashes a subarray view, not its whole backing buffer', async () => {
    const backing = new TextEncoder().encode('xxbodyxx');
    expect(await hmacSha256Hex('k', backing.subarray(2, 6))).toBe(oracle('k', 'body').digest('hex'));
  });

  it('verifyHmacSha256 accepts the right MAC and rejects a flipped bit', async () => {
    const mac = hexToBytes(oracle('s', 'data').digest('hex'))!;
    expect(await verifyHmacSha256('s', 'data', mac)).toBe(true);
    mac[31] = mac[31]! ^ 1;
    expect(await verifyHmacSha256('s', 'data', mac)).toBe(false);
  });

  it('imports a secret’s key once, however many bodies it signs or verifies', async () => {
    const spy = vi.spyOn(crypto.subtle, 'importKey');
    try {
      const secret = `once-${Math.random()}`;
      for (let n = 0; n < 20; n++) {
        const mac = Uint8Array.from(oracle(secret, `body ${n}`).digest());
        expect(await verifyHmacSha256(secret, `body ${n}`, mac)).toBe(true);
        expect(await hmacSha256Hex(secret, `body ${n}`)).toBe(oracle(secret, `body ${n}`).digest('hex'));
      }
      // One key per usage (verify, sign).
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
  });

  it('keys are cached per secret: a rotated secret verifies its own MACs only, across many secrets', async () => {
    const data = 'payload';
    // More secrets than the cache holds, twice over, so entries are dropped and imported again.
    for (let round = 0; round < 2; round++) {
      for (let n = 0; n < 70; n++) {
        const mac = Uint8Array.from(oracle(`secret-${n}`, data).digest());
        expect(await verifyHmacSha256(`secret-${n}`, data, mac)).toBe(true);
        expect(await verifyHmacSha256(`secret-${n + 1}`, data, mac)).toBe(false);
        expect(await hmacSha256Hex(`secret-${n}`, data)).toBe(oracle(`secret-${n}`, data).digest('hex'));
      }
    }
  });

  it('hexToBytes / base64ToBytes reject wrong length and bad characters', () => {
    expect(hexToBytes('ab'.repeat(32))).not.toBeNull();
    expect(hexToBytes('ab'.repeat(31))).toBeNull();
    expect(hexToBytes('zz'.repeat(32))).toBeNull();
    expect(base64ToBytes(oracle('s', 'd').digest('base64'))).toHaveLength(32);
    expect(base64ToBytes('abc')).toBeNull();
    expect(base64ToBytes('!!!!'.repeat(11))).toBeNull();
    expect(base64ToBytes('AAAA')).toBeNull();
  });

  it('concatBytes joins strings and bytes in order', () => {
    expect(new TextDecoder().decode(concatBytes('a', new Uint8Array([98]), 'c'))).toBe('abc');
  });

  it('timingSafeEqualStr is plain equality, including on length mismatch and prefixes', () => {
    expect(timingSafeEqualStr('abc', 'abc')).toBe(true);
    expect(timingSafeEqualStr('abd', 'abc')).toBe(false);
    expect(timingSafeEqualStr('ab', 'abc')).toBe(false);
    expect(timingSafeEqualStr('abcd', 'abc')).toBe(false);
    expect(timingSafeEqualStr('', '')).toBe(true);
    expect(timingSafeEqualStr('\0', '')).toBe(false);
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => timingSafeEqualStr(a, b) === (a === b)));
  });
});

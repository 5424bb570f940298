import { describe, expect, it } from 'vitest';
import { mulberry32 as rng } from '../attribution/shapley';
import { StringMap } from './string-map';

describe('StringMap', () => {
  it('agrees with Map over random sets, deletes and clears (growth and backward-shift deletion included)', () => {
    const r = rng(7);
    const m = new StringMap<number>();
    const ref = new Map<string, number>();
    // A small key space forces long probe runs, collisions and many deletions inside runs.
    const key = (): string => `k${Math.floor(r() * 3000)}@host${Math.floor(r() * 7)}.example`;
    for (let step = 0; step < 60_000; step++) {
      const op = r();
      const k = key();
      if (op < 0.4) {
        m.set(k, step);
        ref.set(k, step);
      } else if (op < 0.5) {
        expect(m.setIfAbsent(k, step)).toBe(ref.get(k));
        if (!ref.has(k)) ref.set(k, step);
      } else if (op < 0.8) {
        expect(m.delete(k)).toBe(ref.delete(k));
      } else if (op < 0.9999) {
        expect(m.get(k)).toBe(ref.get(k));
        expect(m.has(k)).toBe(ref.has(k));
      } else {
        m.clear();
        ref.clear();
      }
      expect(m.size).toBe(ref.size);
    }
    for (const [k, v] of ref) expect(m.get(k)).toBe(v);
  });

  it('getSuffix looks up the tail of a string without slicing it', () => {
    const m = new StringMap<string>();
    m.set('acme.io', 'a');
    m.set('eu.acme.io', 'b');
    expect(m.getSuffix('ada@acme.io', 4)).toBe('a');
    expect(m.getSuffix('ada@eu.acme.io', 4)).toBe('b');
    expect(m.getSuffix('ada@cme.io', 4)).toBeUndefined();
    expect(m.getSuffix('acme.io', 0)).toBe('a');
    expect(m.getSuffix('x', 1)).toBeUndefined();
  });

  it('keeps empty and unusual keys apart', () => {
    const m = new StringMap<number>();
    const keys = ['', ' ', 'a', 'A', 'é', 'e\u0301', '王伟', '\u0000', 'ab', 'ba'];
    keys.forEach((k, i) => m.set(k, i));
    keys.forEach((k, i) => expect(m.get(k)).toBe(i));
    expect(m.size).toBe(keys.length);
  });
});

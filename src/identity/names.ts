/**
 * Name folding and similarity. Names only ever produce suggestions, so the aim is to rank look-alikes well ("José Müller"
 * ~ "Jose Mueller", "Иван Петров" ~ "Ivan Petrov", "Smith, John" ~ "John Smith"), not to decide.
 */
import { StringMap } from './string-map';

// Letters NFKD does not decompose into base + mark.
const SPECIAL: Record<string, string> = {
  ß: 'ss', æ: 'ae', ø: 'o', œ: 'oe', đ: 'd', ð: 'd', þ: 'th', ł: 'l', ı: 'i', ħ: 'h', ŋ: 'n',
};
// German-style transliterations people type when their keyboard lacks the letter: fold both spellings together.
const DIGRAPHS: [RegExp, string][] = [[/ae/g, 'a'], [/oe/g, 'o'], [/ue/g, 'u']];

// ISO 9-like Cyrillic → Latin, close to what Russian/Ukrainian speakers use on GitHub profiles.
const CYRILLIC: Record<string, string> = {
  а: 'a', б: 'b', в: 'v', г: 'g', ґ: 'g', д: 'd', е: 'e', ё: 'e', є: 'ye', ж: 'zh', з: 'z', и: 'i', і: 'i', ї: 'yi',
  й: 'y', к: 'k', л: 'l', м: 'm', н: 'n', о: 'o', п: 'p', р: 'r', с: 's', т: 't', у: 'u', ф: 'f', х: 'kh', ц: 'ts',
  ч: 'ch', ш: 'sh', щ: 'shch', ъ: '', ы: 'y', ь: '', э: 'e', ю: 'yu', я: 'ya',
};

const COMBINING = /[\u0300-\u036f]/g;
const ASCII = /^[\x00-\x7f]*$/;
const HAN = /(\p{Script=Han})/gu;
const SEPARATORS = /[\s,._'’`"()\-–—/\\@|:;!?]+/u;

// Keyed by names as they arrive (fresh strings): StringMap avoids V8's runtime hashing of each one.
const foldCache = new StringMap<string>();
/**
 * One string per distinct folded name: a member's folded name and a contact's are then the same object, so name maps
 * and equality checks match them by identity instead of comparing characters.
 */
const foldedNames = new StringMap<string>();

/**
 * Folded form of a person's name: lower case, diacritics removed, Cyrillic transliterated, tokens sorted (so "Smith,
 * John" = "John Smith"). CJK and other scripts are kept as written (no reliable romanisation without a dictionary).
 * Returns '' for names with no letters.
 */
export function foldName(raw: string | null | undefined): string {
  if (!raw) return '';
  const cached = foldCache.get(raw);
  if (cached !== undefined) return cached;
  let s = raw.toLowerCase();
  // NFKD and the per-character tables are only needed outside ASCII (and cost a lot through ICU).
  if (!ASCII.test(s)) {
    s = s.normalize('NFKD').replace(COMBINING, '');
    let out = '';
    for (const ch of s) out += SPECIAL[ch] ?? CYRILLIC[ch] ?? ch;
    s = out;
  }
  for (const [re, to] of DIGRAPHS) s = s.replace(re, to);
  // Chinese names are written without spaces and family name first ("王伟"); CRMs split them into first/last fields.
  // One token per Han character makes both forms fold to the same sorted tokens.
  s = s.replace(HAN, ' $1 ');
  const tokens = s.split(SEPARATORS).filter((t) => t.length > 0 && /\p{L}/u.test(t));
  tokens.sort();
  const joined = tokens.join(' ');
  if (foldedNames.size > 500_000) foldedNames.clear();
  const folded = foldedNames.setIfAbsent(joined, joined) ?? joined;
  if (foldCache.size > 500_000) foldCache.clear();
  foldCache.set(raw, folded);
  return folded;
}

const LEGAL_SUFFIXES = new Set([
  'inc', 'incorporated', 'llc', 'ltd', 'limited', 'corp', 'corporation', 'co', 'company', 'gmbh', 'ag', 'sa', 'sas',
  'sarl', 'bv', 'nv', 'plc', 'pty', 'oy', 'ab', 'as', 'aps', 'srl', 'spa', 'kk', 'kg', 'se', 'the', 'group', 'holdings',
  'technologies', 'technology', 'labs', 'software', 'systems', 'hq', 'io',
]);

/**
 * Normalised company name for comparison: folded, legal suffixes and generic words dropped, spaces removed
 * ("@acme-labs", "Acme Labs, Inc." and "ACME" all become "acme"). GitHub profiles often write "@org".
 */
const companyCache = new StringMap<string>();

export function normaliseCompanyName(raw: string | null | undefined): string {
  if (!raw) return '';
  const cached = companyCache.get(raw);
  if (cached !== undefined) return cached;
  // NFKD and the combining-mark removal leave ASCII unchanged (and cost an ICU call).
  const s = (ASCII.test(raw) ? raw : raw.normalize('NFKD').replace(COMBINING, '')).toLowerCase().replace(/^@/, '');
  const tokens = s.split(/[^\p{L}\p{N}]+/u).filter((t) => t.length > 0 && !LEGAL_SUFFIXES.has(t));
  const key = tokens.join('');
  if (companyCache.size > 200_000) companyCache.clear();
  companyCache.set(raw, key);
  return key;
}

/**
 * Jaro-Winkler similarity in [0, 1]. Allocation-free apart from two reusable match buffers, since it runs for every
 * fuzzy candidate.
 */
let bufA = new Uint8Array(64);
let bufB = new Uint8Array(64);
export function jaroWinkler(a: string, b: string): number {
  if (a === b) return a.length === 0 ? 0 : 1;
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0) return 0;
  if (bufA.length < la) bufA = new Uint8Array(la * 2);
  if (bufB.length < lb) bufB = new Uint8Array(lb * 2);
  for (let i = 0; i < la; i++) bufA[i] = 0;
  for (let j = 0; j < lb; j++) bufB[j] = 0;
  const window = Math.max(0, Math.floor(Math.max(la, lb) / 2) - 1);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const lo = Math.max(0, i - window);
    const hi = Math.min(lb - 1, i + window);
    const ca = a.charCodeAt(i);
    for (let j = lo; j <= hi; j++) {
      if (bufB[j] === 0 && b.charCodeAt(j) === ca) {
        bufA[i] = 1;
        bufB[j] = 1;
        matches++;
        break;
      }
    }
  }
  if (matches === 0) return 0;
  let k = 0;
  let transpositions = 0;
  for (let i = 0; i < la; i++) {
    if (bufA[i] === 0) continue;
    while (bufB[k] === 0) k++;
    if (a.charCodeAt(i) !== b.charCodeAt(k)) transpositions++;
    k++;
  }
  const m = matches;
  const jaro = (m / la + m / lb + (m - transpositions / 2) / m) / 3;
  let prefix = 0;
  const maxPrefix = Math.min(4, la, lb);
  while (prefix < maxPrefix && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}

/**
 * 32-bit letter signature of a folded name (a–z one bit each, other characters hashed into the top bits). Two names
 * with Jaro-Winkler ≥ 0.9 differ by a letter or two, so their signatures differ in few bits: a popcount of the XOR
 * rejects most candidates before the quadratic comparison.
 */
export function letterMask(folded: string): number {
  let m = 0;
  for (let i = 0; i < folded.length; i++) {
    const c = folded.charCodeAt(i);
    if (c === 32) continue;
    m |= c >= 97 && c <= 122 ? 1 << (c - 97) : 1 << (26 + (c % 6));
  }
  return m >>> 0;
}

export function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Similarity of two company strings after normalisation (0 when either is empty). */
export function companySimilarity(a: string, b: string): number {
  const na = normaliseCompanyName(a);
  const nb = normaliseCompanyName(b);
  if (na === '' || nb === '') return 0;
  return jaroWinkler(na, nb);
}

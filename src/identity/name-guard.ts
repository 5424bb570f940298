/**
 * The name guard on email links: a verified email whose CRM record carries a clearly different person's name is only
 * suggested. Recycled addresses (a leaver's mailbox given to a newcomer) and shared mailboxes look exactly like that, and
 * an email match alone would credit the wrong person.
 */
import { jaroWinkler } from './names';

const LATIN = /^[a-z ]+$/;

/**
 * True when the member's names and the CRM name clearly belong to different people: compared only within one script
 * (a transliteration may legitimately differ), no token of one is close to a token of the other (JW ≥ 0.92; a shared
 * first or last name — nickname, marriage — is not a disagreement), and the letters overall differ (which forgives a typo
 * across the space, "An aDubois"). One-word handles and missing names never disagree.
 */
export function namesDisagree(names: readonly string[], contactFolded: string): boolean {
  if (contactFolded === '') return false;
  const latin = LATIN.test(contactFolded);
  const contactTokens = contactFolded.split(' ').filter((t) => !latin || t.length > 1);
  if (contactTokens.length === 0) return false;
  let compared = false;
  for (const n of names) {
    if (LATIN.test(n) !== latin) continue;
    const tokens = n.split(' ').filter((t) => !latin || t.length > 1);
    if (tokens.length === 0 || (latin && tokens.length === 1 && contactTokens.length > 1 && !n.includes(' ') && n.length > 6)) {
      // A one-word Latin name like "kevinlewis" is a handle, not a full name: only the letters can be compared.
      if (tokens.length === 0 || letterSimilarity(n, contactFolded) >= 0.8) return false;
      compared = true;
      continue;
    }
    compared = true;
    if (tokens.some((t) => contactTokens.some((c) => t === c || jaroWinkler(t, c) >= 0.92))) return false;
    // A CRM name token inside the member's name with the spaces dropped ("jager" in "an ajager", a typo across a space).
    const joined = n.replaceAll(' ', '');
    if (contactTokens.some((c) => c.length >= 3 && joined.includes(c))) return false;
    if (letterSimilarity(n, contactFolded) >= 0.85) return false;
  }
  return compared;
}

/** Reused counts per UTF-16 code unit, reset after each call (no allocation per compared pair). */
const LETTER_COUNTS = new Int32Array(65536);

/** Dice coefficient of the letter multisets (spaces ignored): 1 for anagrams, low for unrelated names. */
function letterSimilarity(a: string, b: string): number {
  let la = 0;
  let lb = 0;
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if (c === 32) continue;
    la++;
    LETTER_COUNTS[c] = (LETTER_COUNTS[c] ?? 0) + 1;
  }
  let common = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b.charCodeAt(i);
    if (c === 32) continue;
    lb++;
    const left = LETTER_COUNTS[c] ?? 0;
    if (left > 0) {
      common++;
      LETTER_COUNTS[c] = left - 1;
    }
  }
  for (let i = 0; i < a.length; i++) LETTER_COUNTS[a.charCodeAt(i)] = 0;
  return la + lb === 0 ? 1 : (2 * common) / (la + lb);
}

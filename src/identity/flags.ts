/**
 * Exclusions: staff (our own domains) and bots. Flagged members keep their activity but attribution skips them, so a
 * wrong flag is visible and reversible rather than a deletion.
 */
import type { IdentityConfig } from './config';
import { emailRules, normaliseEmail, type EmailRules } from './email';
import type { Flag, IdentityInput } from './types';

export interface FlagRules {
  email: EmailRules;
  handlePatterns: RegExp[];
  namePatterns: RegExp[];
  /** All handle patterns in one alternation: one test per string on the hot path, the culprit searched only on a hit. */
  handleAny: RegExp | null;
  nameAny: RegExp | null;
  botKeys: ReadonlySet<string>;
  /** botKeyLength[n] = 1 when a configured bot key has n characters: most identities cannot match any. */
  botKeyLength: Uint8Array;
}

export function flagRules(config: IdentityConfig, email: EmailRules = emailRules(config)): FlagRules {
  return {
    email,
    handlePatterns: config.bots.handle_patterns.map((p) => new RegExp(p, 'i')),
    namePatterns: config.bots.name_patterns.map((p) => new RegExp(p, 'i')),
    handleAny: anyOf(config.bots.handle_patterns),
    nameAny: anyOf(config.bots.name_patterns),
    botKeys: new Set(config.bots.identity_keys.map((k) => k.toLowerCase())),
    botKeyLength: lengthTable(config.bots.identity_keys.map((k) => k.toLowerCase().length)),
  };
}

function lengthTable(lengths: readonly number[]): Uint8Array {
  const table = new Uint8Array(Math.max(0, ...lengths) + 1);
  for (const n of lengths) table[n] = 1;
  return table;
}

function anyOf(patterns: readonly string[]): RegExp | null {
  return patterns.length === 0 ? null : new RegExp(patterns.map((p) => `(?:${p})`).join('|'), 'i');
}

/** Why an identity looks like a bot, or null. Slack bot users carry is_bot; GitHub Apps end in [bot]. */
export function botReason(identity: IdentityInput, rules: FlagRules): string | null {
  return botReasonOf(identity.source, identity.id, identity.handle, identity.name, identity.is_bot, rules);
}

/** botReason() over fields the caller has already read (resolveMember reads each identity field once). */
export function botReasonOf(
  source: string,
  id: string,
  handle: string | undefined,
  name: string | undefined,
  isBot: boolean | undefined,
  rules: FlagRules,
): string | null {
  if (isBot === true) return `${source} marks ${handle ?? id} as a bot`;
  if (mayBeBotKey(source, id, rules) && rules.botKeys.has(`${source}:${id}`.toLowerCase())) return `${source}:${id} is a configured bot`;
  const any = rules.handleAny;
  if (any && ((handle && any.test(handle)) || (source !== 'email' && any.test(id)))) {
    for (const re of rules.handlePatterns) {
      if (handle && re.test(handle)) return `handle "${handle}" matches ${re.source}`;
      if (source !== 'email' && re.test(id)) return `id "${id}" matches ${re.source}`;
    }
  }
  if (rules.nameAny && name && rules.nameAny.test(name)) {
    for (const re of rules.namePatterns) if (re.test(name)) return `name "${name}" matches ${re.source}`;
  }
  return null;
}

/**
 * False when `source:id` lower-cased cannot be a configured key, judged by length alone. Lower-casing keeps the length of
 * every character except U+0130 (İ → i̇), so strings holding one take the full check.
 */
function mayBeBotKey(source: string, id: string, rules: FlagRules): boolean {
  if (rules.botKeys.size === 0) return false;
  if (rules.botKeyLength[source.length + 1 + id.length] === 1) return true;
  return id.includes('\u0130') || source.includes('\u0130');
}

/** Why an identity is staff (an email on one of our domains), or null. */
export function staffReason(identity: IdentityInput, rules: FlagRules): string | null {
  for (const raw of [identity.email, identity.source === 'email' ? identity.id : undefined]) {
    if (!raw) continue;
    const e = normaliseEmail(raw, rules.email);
    if (e?.organisation) return `email ${e.address} is on the organisation's domain`;
  }
  return null;
}

/** Flags for a whole member: one per kind, with the first reason found. */
export function memberFlags(identities: readonly IdentityInput[], rules: FlagRules): Flag[] {
  const flags: Flag[] = [];
  let bot: string | null = null;
  let staff: string | null = null;
  for (const identity of identities) {
    bot ??= botReason(identity, rules);
    staff ??= staffReason(identity, rules);
  }
  if (bot !== null) flags.push({ code: 'bot', reason: bot });
  if (staff !== null) flags.push({ code: 'staff', reason: staff });
  return flags;
}

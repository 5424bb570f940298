/**
 * mappings/identity.yaml: thresholds and lists that decide what identity resolution does automatically. Parsed with the
 * yaml package (keeping positions) and checked with zod, so every error names the line:column and the field path.
 */
import * as z from 'zod';
import { formatIssue, parseYaml, type SourceIssue } from '../rules/parse';

/** Providers known to deliver `local+tag@` to `local@` (see docs/identity.md); Yahoo uses `-` aliases, so it is absent. */
const DEFAULT_PLUS_TAG_PROVIDERS = [
  'gmail.com', 'googlemail.com', 'outlook.com', 'hotmail.com', 'live.com', 'msn.com', 'icloud.com', 'me.com', 'mac.com',
  'fastmail.com', 'fastmail.fm', 'proton.me', 'protonmail.com', 'pm.me', 'yandex.ru', 'yandex.com', 'hey.com', 'zoho.com',
];

export const DEFAULT_ROLE_LOCAL_PARTS = [
  'info', 'sales', 'support', 'admin', 'team', 'hello', 'contact', 'office', 'marketing', 'billing', 'noreply', 'no-reply',
  'dev', 'devops', 'engineering', 'hr', 'jobs', 'careers', 'security', 'it', 'help', 'webmaster', 'postmaster', 'events',
];

const unit = z.number().min(0).max(1);

const regexSource = z.string().min(1).refine((s) => {
  try {
    new RegExp(s, 'i');
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

const domainName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z0-9-]{2,63}$/, 'a domain name such as "example.com"');

export const identityConfigSchema = z
  .object({
    version: z.literal(1),
    organisation: z.strictObject({
      /** Our own domains: identities with these email domains are staff and are excluded from influence. */
      domains: z.array(domainName).default([]),
    }),
    emails: z
      .strictObject({
        /** Providers where `local+tag@` delivers to `local@` (documented in docs/identity.md). */
        plus_tag_providers: z.array(domainName).default(DEFAULT_PLUS_TAG_PROVIDERS),
        /** Strip +tags on company domains too (Google Workspace and Microsoft 365 deliver them to the base mailbox). */
        plus_tags_on_work_domains: z.boolean().default(true),
        /** Sources whose asserted email counts as verified even without `email_verified` (e.g. a Slack profile). */
        asserted_sources: z.array(z.string().min(1)).default(['email', 'slack']),
        /** Shared role mailboxes (info@, sales@): several people use them, so they never link a person automatically. */
        role_local_parts: z.array(z.string().min(1).toLowerCase()).default(DEFAULT_ROLE_LOCAL_PARTS),
        /** Added to / removed from the email-providers free-mail list. */
        extra_free_mail_domains: z.array(domainName).default([]),
        not_free_mail_domains: z.array(domainName).default([]),
      })
      .prefault({}),
    bots: z
      .strictObject({
        /** Matched (case-insensitive) against handles and ids of every source. */
        handle_patterns: z.array(regexSource).default(['\\[bot\\]$', '^(dependabot|renovate|github-actions|codecov|snyk|greenkeeper)(-.*)?$', '-bot$']),
        /** Matched against display names. */
        name_patterns: z.array(regexSource).default(['\\bbot\\b']),
        /** Exact `source:id` keys that are bots (e.g. slack:USLACKBOT). */
        identity_keys: z.array(z.string().min(3)).default(['slack:USLACKBOT']),
      })
      .prefault({}),
    links: z
      .strictObject({
        confidence: z
          .strictObject({
            email: unit.default(0.99),
            alias_email: unit.default(0.95),
            domain: unit.default(0.8),
          })
          .prefault({}),
        /**
         * A verified email whose CRM record carries a clearly different full name (no shared name token, low similarity)
         * is only suggested: recycled addresses and shared mailboxes look exactly like that.
         */
        name_mismatch_guard: z.boolean().default(true),
        /** Jaro-Winkler of folded full names at or above which a name counts as "similar". */
        name_similarity: unit.default(0.92),
        /** Similarity of normalised company names at or above which two company strings count as the same company. */
        company_similarity: unit.default(0.9),
        /** Suggestions below this score are dropped. */
        suggest_min_score: unit.default(0.6),
        /** At most this many suggestions per member. */
        max_suggestions: z.number().int().min(0).max(50).default(5),
        /** Contacts compared by name per company; bigger companies need an exact folded-name hit (keeps it O(1)). */
        max_fuzzy_candidates: z.number().int().min(1).max(10000).default(200),
      })
      .prefault({}),
    members: z
      .strictObject({
        /** Member-merge suggestions below this score are dropped. */
        suggest_min_score: unit.default(0.6),
        /** What each piece of weak evidence adds to a member-merge score (capped at 0.99; at least two pieces needed). */
        weights: z
          .strictObject({
            same_unverified_email: unit.default(0.5),
            same_handle: unit.default(0.4),
            same_full_name: unit.default(0.35),
            similar_name: unit.default(0.2),
            same_company: unit.default(0.25),
          })
          .prefault({}),
        /** Platforms where a person holds one account: two different ids there block a merge. */
        single_account_sources: z.array(z.string().min(1)).default(['github', 'slack', 'discourse', 'discord']),
      })
      .prefault({}),
  })
  .strict();

export type IdentityConfig = z.infer<typeof identityConfigSchema>;

export type ConfigIssue = SourceIssue;

export type ConfigResult = { ok: true; config: IdentityConfig } | { ok: false; issues: ConfigIssue[] };

/**
 * Parses the YAML text of mappings/identity.yaml with the parser every mappings/ file uses, so issues read the same
 * (file:line:column, field path) in mappings:check, CI and errors. Never throws.
 */
export function parseIdentityConfig(text: string, file = 'mappings/identity.yaml'): ConfigResult {
  const result = parseYaml(text, identityConfigSchema, file);
  return result.ok ? { ok: true, config: result.value } : { ok: false, issues: result.issues };
}

/** For code paths that cannot continue without a valid file (bench, CLI): throws one readable message. */
export function loadIdentityConfig(text: string, fileName = 'mappings/identity.yaml'): IdentityConfig {
  const result = parseIdentityConfig(text, fileName);
  if (result.ok) return result.config;
  throw new Error(`invalid identity config\n${result.issues.map(formatIssue).join('\n')}`);
}

/** Defaults for every optional field; tests and benches start from this. */
export function defaultIdentityConfig(overrides: { organisationDomains?: string[] } = {}): IdentityConfig {
  return identityConfigSchema.parse({ version: 1, organisation: { domains: overrides.organisationDomains ?? [] } });
}

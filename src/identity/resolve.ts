/**
 * resolveMember: one member → its CRM links, suggestions, conflicts and flags. Pure and idempotent: the same member,
 * index, config and decisions always give the same result, so the lead can call it for every dirty member and write the
 * diff. Order of evidence: stored human decision, then verified email (primary, then secondary, a converted lead
 * following to its contact), then company by email domain; names only suggest.
 */
import type { ContactIndex, HostCompany, IndexedCompany, IndexedContact } from './contact-index';
import { contextFor, identityKey, type ResolverContext } from './context';
import type { IdentityConfig } from './config';
import { normaliseEmail, parseGithubNoreply, type HostInfo, type NormalisedEmail } from './email';
import { botReasonOf } from './flags';
import { LinkSet } from './link-set';
import { namesDisagree } from './name-guard';
import { foldName, normaliseCompanyName } from './names';
import { addSuggestion, movedPersonSuggestions, nameCompanySuggestions, type CompanyClue } from './suggest';
import type { Conflict, Flag, IdentityInput, Link, LinkDecision, LinkTargetKind, MemberResolution, MemberSnapshot } from './types';

interface MemberEmail {
  e: NormalisedEmail;
  trusted: boolean;
  from: string;
  /** The host facts normaliseEmail used (the index keeps the host's company next to them). */
  host: HostInfo | null;
}

/** Reused out-parameter of normaliseEmail (resolveMember is synchronous, one member at a time). */
const FACTS: { host: HostInfo | null } = { host: null };

interface Target {
  contact: IndexedContact;
  primary: boolean;
  viaLead: IndexedContact | null;
}

const NO_LINK_DECISIONS: readonly LinkDecision[] = [];

export function resolveMember(
  member: MemberSnapshot,
  index: ContactIndex,
  config: IdentityConfig,
  decisions: readonly LinkDecision[] = NO_LINK_DECISIONS,
): MemberResolution {
  const ctx = contextFor(config);
  const latest = latestDecisions(member.memberId, decisions);
  const conflicts: Conflict[] = [];
  // Emails are normalised once and shared by the staff check, email matching and company matching.
  const { emails, bot, names } = readIdentities(member, ctx, conflicts);
  const flags = resolveFlags(bot, emails);
  const links = new LinkSet();
  const suggestions = new LinkSet();
  const companyLinks = new LinkSet();
  const companySuggestions = new LinkSet();

  // Bots never link: a CI bot's address can collide with a real mailbox in the CRM.
  if (bot === null) {
    for (const m of emails) matchEmail(m, names, index, ctx, links, suggestions, conflicts);
    // Contact decisions first: a rejected contact must not lend its company, a confirmed one must.
    enforce(latest, 'contact', links, suggestions);
    if (links.size > 1) {
      conflicts.push({
        code: 'multiple_contacts',
        message: `verified emails of this member match ${links.size} different CRM records; all are linked, the CRM may hold duplicates`,
        refs: links.keys(),
      });
    }
    const hostCompanies: HostCompany[] = [];
    linkCompanies(emails, links, index, ctx, companyLinks, companySuggestions, conflicts, hostCompanies);
    // A rejected company must not guide name suggestions either.
    enforce(latest, 'company', companyLinks, companySuggestions);
    if (links.size === 0) suggestByName(member, names, emails, companyLinks, companySuggestions, hostCompanies, index, ctx, suggestions);
  }

  enforce(latest, 'contact', links, suggestions);
  enforce(latest, 'company', companyLinks, companySuggestions);
  const minScore = ctx.config.links.suggest_min_score;
  const ranked = suggestions.size + companySuggestions.size === 0 ? [] : [...suggestions.values(), ...companySuggestions.values()]
    // Contact and company ids are separate namespaces (HubSpot numbers both from 1): check each against its own kind.
    .filter((s) => s.confidence >= minScore && !(s.target.kind === 'contact' ? links : companyLinks).has(s.target.crmId))
    .sort((a, b) => b.confidence - a.confidence || (a.target.crmId < b.target.crmId ? -1 : 1))
    .slice(0, ctx.config.links.max_suggestions);
  return { memberId: member.memberId, links: [...links.values(), ...companyLinks.values()], suggestions: ranked, conflicts, flags };
}

interface MemberFacts {
  /** Normalised emails, each once (trusted wins), in identity order. */
  emails: MemberEmail[];
  /** Why the member is a bot (the first identity that says so), or null. */
  bot: string | null;
  /** Folded, distinct, non-empty display names. */
  names: string[];
}

/**
 * Everything resolveMember takes from the identities, in one pass that reads each field of each identity once (the
 * identity objects come in many shapes, so every property read is a slow, megamorphic one).
 */
function readIdentities(member: MemberSnapshot, ctx: ResolverContext, conflicts: Conflict[]): MemberFacts {
  const emails: MemberEmail[] = [];
  const names: string[] = [];
  let bot: string | null = null;
  let lastName: string | undefined;
  for (const identity of member.identities) {
    const source = identity.source;
    const id = identity.id;
    const email = identity.email;
    const name = identity.name;
    // Same rules as identityEmails(), inlined.
    const trusted = ctx.assertedSources.has(source) || identity.email_verified === true;
    if (source === 'email') addEmail(emails, identity, source, id, trusted, ctx, conflicts);
    if (email && email.trim() !== '') addEmail(emails, identity, source, email, trusted, ctx, conflicts);
    // Same as memberFlags(): the first identity that looks like a bot gives the reason.
    if (bot === null) bot = botReasonOf(source, id, identity.handle, name, identity.is_bot, ctx.flags);
    // Identities of one person usually carry the same display name: fold it once.
    if (name !== lastName) {
      lastName = name;
      const f = foldName(name);
      if (f !== '' && !names.includes(f)) names.push(f);
    }
  }
  return { emails, bot, names };
}

/** Same result as memberFlags(), reusing the already normalised emails for the staff check. */
function resolveFlags(bot: string | null, emails: readonly MemberEmail[]): Flag[] {
  const flags: Flag[] = [];
  if (bot !== null) flags.push({ code: 'bot', reason: bot });
  for (const m of emails) {
    if (m.e.organisation) {
      flags.push({ code: 'staff', reason: `email ${m.e.address} is on the organisation's domain` });
      break;
    }
  }
  return flags;
}

function addEmail(
  out: MemberEmail[],
  identity: IdentityInput,
  source: string,
  raw: string,
  trusted: boolean,
  ctx: ResolverContext,
  conflicts: Conflict[],
): void {
  if (raw.includes('users.noreply.github.com') && parseGithubNoreply(raw)) return; // names a GitHub account, never a CRM mailbox
  FACTS.host = null;
  const e = normaliseEmail(raw, ctx.email, FACTS);
  const host = FACTS.host;
  if (!e) {
    conflicts.push({ code: 'malformed_email', message: `ignored malformed email ${JSON.stringify(raw)}`, refs: [identityKey(identity)] });
    return;
  }
  for (let i = 0; i < out.length; i++) {
    const cur = out[i];
    if (cur && cur.e.canonical === e.canonical) {
      if (trusted && !cur.trusted) out[i] = { e, trusted, from: source, host };
      return;
    }
  }
  out.push({ e, trusted, from: source, host });
}

function matchEmail(
  m: MemberEmail,
  names: readonly string[],
  index: ContactIndex,
  ctx: ResolverContext,
  links: LinkSet,
  suggestions: LinkSet,
  conflicts: Conflict[],
): void {
  const hits = index.emailHits(m.e.canonical);
  if (hits.length === 0) return;
  const all: Target[] = [];
  for (const hit of hits) {
    let contact = hit.contact;
    let viaLead: IndexedContact | null = null;
    if (contact.kind === 'lead' && contact.convertedContactId !== null) {
      const converted = index.contact(contact.convertedContactId);
      if (converted) {
        viaLead = contact;
        contact = converted;
      }
    }
    const i = all.findIndex((t) => t.contact === contact);
    const cur = all[i];
    if (!cur) all.push({ contact, primary: hit.primary, viaLead });
    else if ((hit.primary && !cur.primary) || (cur.viaLead !== null && viaLead === null)) all[i] = { contact, primary: hit.primary, viaLead };
  }
  const chosen = chooseTargets(all);
  if (all.length > 1) {
    conflicts.push({
      code: 'duplicate_crm_email',
      message: `${m.e.address} is on ${all.length} CRM records (${all.map((t) => `${t.contact.kind} ${t.contact.crmId}`).join(', ')})${chosen ? `; linked ${chosen.map((t) => t.contact.crmId).join(', ')}` : '; none linked automatically'}`,
      refs: all.map((t) => t.contact.crmId),
    });
  }
  const conf = ctx.config.links.confidence;
  const local = m.e.canonical.slice(0, m.e.canonical.indexOf('@'));
  const role = ctx.roleLocalParts.has(local);
  if (role && chosen) {
    conflicts.push({ code: 'role_mailbox', message: `${m.e.address} is a shared role mailbox; not linked automatically`, refs: chosen.map((t) => t.contact.crmId) });
  }
  for (const t of chosen ?? all) {
    const method = t.primary && t.viaLead === null ? 'email' : 'alias_email';
    const evidence = [
      `${m.from} email ${m.e.address} equals the ${t.primary ? 'primary' : 'secondary'} email of ${(t.viaLead ?? t.contact).kind} ${(t.viaLead ?? t.contact).crmId}${m.e.canonical !== m.e.address ? ` (normalised to ${m.e.canonical})` : ''}`,
    ];
    if (t.viaLead) evidence.push(`lead ${t.viaLead.crmId} was converted to contact ${t.contact.crmId}`);
    const confidence = method === 'email' ? conf.email : conf.alias_email;
    const mismatch = ctx.config.links.name_mismatch_guard && namesDisagree(names, t.contact.folded);
    if (mismatch && chosen && m.trusted && !role) {
      conflicts.push({
        code: 'name_mismatch',
        message: `${m.e.address} matches ${t.contact.kind} ${t.contact.crmId} "${t.contact.displayName}" but the member's name differs; suggested only`,
        refs: [t.contact.crmId],
      });
    }
    if (chosen && m.trusted && !role && !mismatch) {
      const cur = links.get(t.contact.crmId);
      if (!cur || cur.confidence < confidence) {
        links.set(t.contact.crmId, { target: { kind: 'contact', crmId: t.contact.crmId }, method, status: 'auto', confidence, evidence });
      }
    } else {
      if (!m.trusted) evidence.push(`${m.from} does not verify this email`);
      if (!chosen) evidence.push('several CRM records hold this email');
      if (role) evidence.push('shared role mailbox');
      if (mismatch) evidence.push(`the CRM name "${t.contact.displayName}" differs from the member's`);
      addSuggestion(suggestions, t.contact.crmId, method, confidence * 0.85, evidence);
    }
  }
}

/**
 * Documented rule for one email on several CRM records: a single Contact among Contacts and unconverted Leads wins;
 * several Contacts all carrying the same (non-empty) name are duplicates of one person and are all linked (the conflict asks
 * for a CRM merge); anything else (a shared mailbox, a recycled address) is ambiguous and only suggested.
 */
function chooseTargets(all: readonly Target[]): Target[] | undefined {
  if (all.length <= 1) return all.length === 1 ? [...all] : undefined;
  const contacts = all.filter((t) => t.contact.kind === 'contact');
  if (contacts.length === 1) return contacts;
  const pool = contacts.length > 0 ? contacts : all;
  const name = pool[0]?.contact.folded ?? '';
  if (name !== '' && pool.every((t) => t.contact.folded === name)) return [...pool];
  return undefined;
}

function linkCompanies(
  emails: readonly MemberEmail[],
  links: LinkSet,
  index: ContactIndex,
  ctx: ResolverContext,
  companyLinks: LinkSet,
  companySuggestions: LinkSet,
  conflicts: Conflict[],
  hostCompanies: HostCompany[],
): void {
  // The company of a linked contact is the strongest company evidence there is.
  for (const l of links.values()) {
    const companyId = index.contact(l.target.crmId)?.companyId;
    if (!companyId || companyLinks.has(companyId)) continue;
    companyLinks.set(companyId, {
      target: { kind: 'company', crmId: companyId },
      method: l.method,
      status: 'auto',
      confidence: l.confidence,
      evidence: [`company of linked contact ${l.target.crmId}`],
    });
  }
  for (const m of emails) {
    if (m.e.domain === null || m.e.freeMail || m.e.organisation) continue;
    const hostCompany = index.companyForHost(m.e.domain, m.e.host, m.host);
    const choice = hostCompany.choice;
    if (!choice) continue;
    // Kept for name suggestions, which need the same company and its contacts.
    if (!hostCompanies.includes(hostCompany)) hostCompanies.push(hostCompany);
    const id = choice.company.crmId;
    if (companyLinks.has(id)) continue;
    if (choice.tieNote) conflicts.push({ code: 'company_domain_tie', message: choice.tieNote, refs: [id] });
    const base = ctx.config.links.confidence.domain - (choice.tieNote ? 0.1 : 0);
    const evidence = [`${m.from} email ${m.e.address}: ${choice.evidence}`];
    if (m.trusted) {
      companyLinks.set(id, { target: { kind: 'company', crmId: id }, method: 'domain', status: 'auto', confidence: base, evidence });
    } else if (!companySuggestions.has(id)) {
      evidence.push(`${m.from} does not verify this email`);
      companySuggestions.set(id, { target: { kind: 'company', crmId: id }, method: 'domain', status: 'suggested', confidence: base * 0.85, evidence });
    }
  }
}

function suggestByName(
  member: MemberSnapshot,
  names: readonly string[],
  emails: readonly MemberEmail[],
  companyLinks: LinkSet,
  companySuggestions: LinkSet,
  hostCompanies: readonly HostCompany[],
  index: ContactIndex,
  ctx: ResolverContext,
  suggestions: LinkSet,
): void {
  // The fullest name any identity carries ("Ada Lovelace" over "ada").
  let folded = '';
  for (const f of names) if (f.length > folded.length && (f.includes(' ') || !folded.includes(' '))) folded = f;
  if (folded === '') return;
  const clues: CompanyClue[] = [];
  linkClues(companyLinks, hostCompanies, index, clues);
  linkClues(companySuggestions, hostCompanies, index, clues);
  for (const identity of member.identities) {
    const raw = identity.company;
    const key = normaliseCompanyName(raw);
    if (key === '' || hasClueNamed(clues, key)) continue;
    const how = `${identity.source} profile company "${raw ?? ''}"`;
    const companies = index.companiesNamed(key);
    // Contacts that carry the name only as free text (Leads) are reached through the name key itself.
    if (companies.length === 0) clues.push({ companyId: null, nameKey: key, weight: 0.85, label: raw ?? key, how });
    for (let i = 0; i < companies.length && i < 3; i++) {
      const c = companies[i] as IndexedCompany;
      clues.push({ companyId: c.crmId, nameKey: key, weight: 0.85, label: c.name || c.crmId, how, company: c });
    }
    if (companies.length > 0) continue;
    // No exact name: look-alike company names ("Acme Labs" vs "Acmelabs Inc") count for less, by their similarity.
    for (const { company, similarity } of index.companiesLike(key, ctx.config.links.company_similarity)) {
      clues.push({ companyId: company.crmId, nameKey: company.nameKey, weight: 0.85 * similarity, label: company.name || company.crmId, how: `${how}, similar to "${company.name}" (${similarity.toFixed(2)})`, company });
    }
  }
  const localParts = emails.map((m) => m.e.canonical.slice(0, m.e.canonical.indexOf('@')));
  nameCompanySuggestions(folded, localParts, clues, index, ctx, suggestions);
  movedPersonSuggestions(folded, localParts, index, suggestions);
}

/** A clue per company link (or suggestion) of the member. */
function linkClues(links: LinkSet, hostCompanies: readonly HostCompany[], index: ContactIndex, clues: CompanyClue[]): void {
  for (const l of links.values()) {
    const id = l.target.crmId;
    // Companies found by email domain are at hand; others (decisions) are looked up.
    let company: IndexedCompany | undefined;
    for (const h of hostCompanies) {
      if (h.choice?.company.crmId === id) {
        company = h.choice.company;
        break;
      }
    }
    company ??= index.company(id);
    clues.push({
      companyId: id,
      nameKey: company?.nameKey ?? '',
      weight: l.status === 'suggested' ? 0.9 : 1,
      label: company?.name || id,
      how: l.evidence[0] ?? l.method,
      company,
    });
  }
}

function hasClueNamed(clues: readonly CompanyClue[], nameKey: string): boolean {
  for (const c of clues) if (c.nameKey === nameKey) return true;
  return false;
}

/** The latest decision per target for this member (a newer decision replaces an older one, e.g. reject after confirm). */
const NO_DECISIONS: ReadonlyMap<string, LinkDecision> = new Map();

function latestDecisions(memberId: string, decisions: readonly LinkDecision[]): ReadonlyMap<string, LinkDecision> {
  if (decisions.length === 0) return NO_DECISIONS;
  const latest = new Map<string, LinkDecision>();
  for (const d of decisions) {
    if (d.memberId !== memberId) continue;
    const key = `${d.target.kind}:${d.target.crmId}`;
    const cur = latest.get(key);
    if (!cur || cur.decidedAt <= d.decidedAt) latest.set(key, d);
  }
  return latest;
}

/** Human decisions win over automation, whatever automation found. Idempotent, so it can run after each stage. */
function enforce(latest: ReadonlyMap<string, LinkDecision>, kind: LinkTargetKind, active: LinkSet, proposed: LinkSet): void {
  if (latest.size === 0) return;
  for (const d of latest.values()) {
    if (d.target.kind !== kind) continue;
    const found = active.get(d.target.crmId) ?? proposed.get(d.target.crmId);
    proposed.delete(d.target.crmId);
    active.delete(d.target.crmId);
    if (d.decision === 'rejected') continue;
    if (found?.status === 'confirmed') {
      active.set(d.target.crmId, found);
      continue;
    }
    const note = `confirmed by ${d.decidedBy} at ${d.decidedAt}`;
    active.set(
      d.target.crmId,
      found
        ? { ...found, status: 'confirmed', evidence: [...found.evidence, note] }
        : { target: d.target, method: 'manual', status: 'confirmed', confidence: 1, evidence: [note] },
    );
  }
}

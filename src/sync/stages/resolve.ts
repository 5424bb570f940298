import { ContactIndex, isFreeMailDomain, normaliseEmail, resolveMember, type Link } from '../../identity';
import { identityEmails } from '../../identity/context';
import { loadCandidates } from '../../store/crm';
import { decisionsFor, replaceAutoLinksStmts } from '../../store/links';
import { identitiesOfMembers } from '../../store/members';
import { clearDirtyStmt, dirtyBatch } from '../../store/sync';
import { addCounts, type Counts, type RunContext, type StepResult } from '../context';

const CHUNK = 100;

/** Marks for recomputation every deal, contact and company the member's counted links touch (before or after a change). */
function markLinkedStmts(ctx: RunContext, memberIds: string) {
  const { db, crm } = ctx;
  const stmts = [
    // The companies of linked contacts too: a company's figures count the members linked to its contacts.
    db.prepare(
      `INSERT INTO sync_dirty (crm, kind, ref)
       SELECT DISTINCT ?1, target_kind, crm_id FROM links
        WHERE crm = ?1 AND status IN ('auto', 'confirmed') AND member_id IN (SELECT value FROM json_each(?2))
       UNION
       SELECT ?1, 'company', c.company_id FROM links l JOIN crm_contacts c ON c.crm = l.crm AND c.crm_id = l.crm_id
        WHERE l.crm = ?1 AND l.target_kind = 'contact' AND l.status IN ('auto', 'confirmed') AND c.company_id IS NOT NULL
          AND l.member_id IN (SELECT value FROM json_each(?2))
       ON CONFLICT DO NOTHING`,
    ).bind(crm, memberIds),
  ];
  if (ctx.ownsDeals) {
    stmts.push(
      db.prepare(
        `INSERT INTO sync_dirty (crm, kind, ref)
         SELECT DISTINCT ?1, 'deal', dc.deal_id FROM links l JOIN crm_deal_contacts dc ON dc.crm = l.crm AND dc.contact_id = l.crm_id
          WHERE l.crm = ?1 AND l.target_kind = 'contact' AND l.status IN ('auto', 'confirmed') AND l.member_id IN (SELECT value FROM json_each(?2))
         UNION
         SELECT ?1, 'deal', d.crm_id FROM links l JOIN crm_deals d ON d.crm = l.crm AND d.company_id = l.crm_id
          WHERE l.crm = ?1 AND l.target_kind = 'company' AND l.status IN ('auto', 'confirmed') AND l.member_id IN (SELECT value FROM json_each(?2))
         ON CONFLICT DO NOTHING`,
      ).bind(crm, memberIds),
    );
  }
  return stmts;
}

/**
 * Re-resolves a chunk of dirty members against this CRM. Only the CRM records that could match them are loaded (by
 * canonical email and email domain), so the work follows the members, not the size of the CRM.
 */
export async function resolveStep(ctx: RunContext, checkpoint: unknown): Promise<StepResult> {
  let counts: Counts = {};
  for (;;) {
    const memberIds = await dirtyBatch(ctx.db, ctx.crm, 'member', CHUNK);
    if (!memberIds.length) return { stage: 'attribute', checkpoint: {}, counts, errors: [] };
    counts = addCounts(counts, await resolveChunk(ctx, memberIds));
    if (ctx.spent()) return { stage: 'resolve', checkpoint: checkpoint ?? {}, counts, errors: [] };
  }
}

async function resolveChunk(ctx: RunContext, memberIds: string[]): Promise<Counts> {
  const { db, crm, resolver } = ctx;
  const idsJson = JSON.stringify(memberIds);
  const byMember = await identitiesOfMembers(db, memberIds);

  const keysByMember = new Map<string, { canonical: string; domain: string | null }[]>();
  const canonicals = new Set<string>();
  const domains = new Set<string>();
  for (const [memberId, identities] of byMember) {
    const keys = new Map<string, string | null>();
    for (const identity of identities) {
      for (const { raw } of identityEmails(identity, resolver)) {
        const n = normaliseEmail(raw, resolver.email);
        if (!n) continue;
        keys.set(n.canonical, n.domain);
        canonicals.add(n.canonical);
        if (n.domain && !isFreeMailDomain(n.domain, resolver.email)) domains.add(n.domain);
      }
    }
    keysByMember.set(memberId, [...keys].map(([canonical, domain]) => ({ canonical, domain })));
  }

  const candidates = await loadCandidates(db, crm, [...canonicals], [...domains]);
  const index = new ContactIndex(resolver.email);
  for (const company of candidates.companies) index.upsertCompany(company);
  for (const contact of candidates.contacts) index.upsertContact(contact);
  const decisions = await decisionsFor(db, crm, memberIds);

  const now = new Date().toISOString();
  const linkRows: { memberId: string; link: Link }[] = [];
  const emailKeys: { member_id: string; canonical: string; domain: string | null }[] = [];
  const conflictRows: { member_id: string; code: string; message: string; refs: string[] }[] = [];
  const flagRows: { id: string; is_staff: number; is_bot: number }[] = [];
  let links = 0, suggestions = 0;
  for (const [memberId, identities] of byMember) {
    if (!identities.length) continue; // merged away or erased: its links go with it
    const res = resolveMember({ memberId, identities }, index, ctx.active.identity, decisions);
    links += res.links.length;
    suggestions += res.suggestions.length;
    for (const link of [...res.links, ...res.suggestions]) linkRows.push({ memberId, link });
    for (const key of keysByMember.get(memberId) ?? []) emailKeys.push({ member_id: memberId, ...key });
    for (const c of res.conflicts) conflictRows.push({ member_id: memberId, code: c.code, message: c.message, refs: c.refs });
    flagRows.push({
      id: memberId,
      is_staff: res.flags.some((f) => f.code === 'staff') ? 1 : 0,
      is_bot: res.flags.some((f) => f.code === 'bot') ? 1 : 0,
    });
  }
  await db.batch([
    ...markLinkedStmts(ctx, idsJson),
    ...replaceAutoLinksStmts(db, crm, memberIds, linkRows, now),
    db.prepare('DELETE FROM member_email_keys WHERE member_id IN (SELECT value FROM json_each(?1))').bind(idsJson),
    db.prepare(
      `INSERT INTO member_email_keys (canonical, member_id, domain) SELECT value ->> 'canonical', value ->> 'member_id', value ->> 'domain'
         FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING`,
    ).bind(JSON.stringify(emailKeys)),
    db.prepare('DELETE FROM identity_conflicts WHERE member_id IN (SELECT value FROM json_each(?1))').bind(idsJson),
    db.prepare(
      `INSERT INTO identity_conflicts (member_id, code, message, refs, created_at)
       SELECT value ->> 'member_id', value ->> 'code', value ->> 'message', json(value -> 'refs'), ?2
         FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING`,
    ).bind(JSON.stringify(conflictRows), now),
    // One keyed UPDATE per flag combination: a correlated json_each lookup per member would scan the batch per row.
    ...[0, 1].flatMap((staff) => [0, 1].map((bot) =>
      db.prepare(
        `UPDATE members SET is_staff = ?1, is_bot = ?2, updated_at = ?3
          WHERE id IN (SELECT value FROM json_each(?4)) AND (is_staff, is_bot) IS NOT (?1, ?2)`,
      ).bind(staff, bot, now, JSON.stringify(flagRows.filter((f) => f.is_staff === staff && f.is_bot === bot).map((f) => f.id))))),
    ...markLinkedStmts(ctx, idsJson),
    clearDirtyStmt(db, crm, 'member', memberIds),
  ]);
  const conflicts = conflictRows.length;
  return { members_resolved: memberIds.length, links, suggestions, conflicts };
}

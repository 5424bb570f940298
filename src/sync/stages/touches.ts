import type { Touch } from '../../attribution/types';
import type { CrmKind } from '../../crm/types';
import { affiliationAt, intervalsFromEmailDomains, registrableDomain, type AffiliationInterval } from '../../identity';
import { loadMemberContext, loadTouches } from '../../store/influence';

/**
 * The touches of a set of members as the engine sees them: each activity carries the member's CRM contacts and the
 * company the member belonged to when it happened (CRM association of a linked contact beats email-domain history).
 */
export async function touchesOf(db: D1Database, crm: CrmKind, memberIds: string[]): Promise<Map<string, Touch[]>> {
  const out = new Map<string, Touch[]>();
  if (!memberIds.length) return out;
  const domainOf = (email: string) => registrableDomain(email.slice(email.lastIndexOf('@') + 1));
  const [context, rows] = await Promise.all([loadMemberContext(db, crm, memberIds, domainOf), loadTouches(db, memberIds)]);
  const contacts = new Map<string, string[]>();
  const intervals = new Map<string, AffiliationInterval[]>();
  const push = <T>(map: Map<string, T[]>, key: string, value: T) => {
    const list = map.get(key);
    if (list) list.push(value);
    else map.set(key, [value]);
  };
  for (const l of context.links) {
    if (l.target_kind === 'contact') {
      push(contacts, l.member_id, l.crm_id);
      if (l.contact_company) push(intervals, l.member_id, { companyId: l.contact_company, from: null, to: null, source: 'crm', evidence: `CRM contact ${l.crm_id}` });
    }
  }
  const observations = new Map<string, { companyId: string; seenAt: string; email: string }[]>();
  for (const d of context.domains) push(observations, d.member_id, { companyId: d.company_id, seenAt: d.seen_at, email: d.email });
  for (const [memberId, obs] of observations) {
    for (const interval of intervalsFromEmailDomains(obs)) push(intervals, memberId, interval);
  }
  // A person's statement wins over the CRM and email history (affiliationAt ranks manual first).
  for (const o of context.overrides) {
    push(intervals, o.member_id, { companyId: o.company_id, from: o.valid_from, to: o.valid_to, source: 'manual', evidence: `set by ${o.decided_by}` });
  }
  for (const r of rows) {
    const member = intervals.get(r.member_id) ?? [];
    push(out, r.member_id, {
      id: String(r.seq),
      memberId: r.member_id,
      contactIds: contacts.get(r.member_id) ?? [],
      companyId: member.length ? (affiliationAt(member, r.occurred_at)?.companyId ?? null) : null,
      type: r.type,
      source: r.source,
      occurredAt: r.occurred_at,
      url: r.url,
      title: r.title,
      isStaff: r.is_staff === 1,
      isBot: r.is_bot === 1,
    });
  }
  return out;
}

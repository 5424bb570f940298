import { personaMatcher, segmentLabel, segmentOf, type SegmentsConfig } from '../segments';

/**
 * How members first arrive. Cultivated = channels the organisation runs or publishes (events, webinars, docs and video
 * campaigns); organic = places people come to on their own (GitHub, forum, Slack, Discord, Stack Overflow).
 */
export function arrivalKind(source: string, type: string): 'cultivated' | 'organic' | 'other' {
  if (['events', 'docs', 'youtube', 'webinar'].includes(source) || type.startsWith('webinar.') || type.startsWith('events.') || type.startsWith('docs.')) return 'cultivated';
  if (['github', 'discourse', 'slack', 'discord', 'stackoverflow'].includes(source)) return 'organic';
  return 'other';
}

export interface EngagementRow {
  group: string;
  label: string;
  members: number;
  active: number;
  activities: number;
  per_member: number;
}

/** Engagement of linked members by ICP segment (their contact's company) and by persona (their contact's title). */
export function engagement(
  rows: { title: string | null; industry: string | null; employees: number | null; country: string | null; activities: number; last_at: string | null }[],
  config: SegmentsConfig,
  /** Members whose last activity is at or after this ISO time count as active. */
  activeSince: string,
) {
  const seg = new Map<string, EngagementRow>();
  const per = new Map<string, EngagementRow>();
  const persona = personaMatcher(config);
  const bump = (m: Map<string, EngagementRow>, key: string, label: string, acts: number, active: boolean) => {
    let r = m.get(key);
    if (!r) m.set(key, (r = { group: key, label, members: 0, active: 0, activities: 0, per_member: 0 }));
    r.members++;
    if (active) r.active++;
    r.activities += acts;
  };
  for (const r of rows) {
    const hasCompany = r.industry !== null || r.employees !== null || r.country !== null;
    const s = segmentOf(config, hasCompany ? r : null);
    const active = r.last_at !== null && r.last_at >= activeSince;
    bump(seg, s, segmentLabel(config, s), r.activities, active);
    const p = persona(r.title);
    bump(per, p?.name ?? 'other', p?.label ?? 'Other / no title', r.activities, active);
  }
  const done = (m: Map<string, EngagementRow>) => [...m.values()].map((r) => ({ ...r, per_member: r.members ? r.activities / r.members : 0 })).sort((a, b) => b.members - a.members);
  return { segments: done(seg), personas: done(per) };
}

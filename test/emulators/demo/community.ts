/**
 * Community activity for the demo organisation. Two kinds of activity are drawn: signal (each deal contact's activity in
 * the 90 days before the deal, much heavier for won deals than lost ones, plus "sourced" first touches shortly before the
 * contact and deal were created) and organic (everyone else's background activity, weighted per member, uniform over
 * the period). Drafts are sorted by time before identities and external ids are attached, so ids are chronological and
 * each member's first Slack or Discourse activity can be the join / user_created one.
 */
import type { ActivityInput } from '../../../src/activity/schema';
import type { Org } from '../org';
import { type Channel, type DemoMember, buildMembers, identitiesFor } from './members';
import { DAY, type Rng, iso, mulberry32, pick, poisson, subSeed, weighted } from './random';
import { DEFAULT_NOW, DEFAULT_SEED, MONTH } from './org-gen';

export interface CommunityOptions {
  seed?: number;
  /** Target number of activities (default 6,000). Event attendance adds a few on top; signal activity is never dropped. */
  activities?: number;
  now?: string;
  months?: number;
  /** Domain of the vendor's own staff (default example-vendor.io). */
  staffDomain?: string;
}

export interface CommunityTruth {
  /** CRM contact or lead key → member key, for every CRM person who is also a community member. */
  memberOfContact: Record<string, string>;
  staffMembers: string[];
  botMembers: string[];
  /** Every member key → the identities it appears with (deduplicated by source and id). */
  members: Record<string, { kind: DemoMember['kind']; identities: ActivityInput['member']['identities'] }>;
  /** Deals whose primary contact's first community touch precedes both their CRM record and the deal by < 60 days. */
  sourcedDeals: string[];
}

interface Draft { m: number; channel: Channel; type: string; at: number; ref: number }

const TYPES: Record<Channel, readonly (readonly [string, number])[]> = {
  github: [['github.star', 22], ['github.fork', 6], ['github.issues.opened', 12], ['github.issue_comment.created', 32], ['github.pull_request.opened', 12], ['github.pull_request.merged', 7], ['github.discussion.created', 6]],
  discourse: [['discourse.topic.created', 30], ['discourse.post.created', 60], ['discourse.solution.accepted', 10]],
  slack: [['slack.message', 78], ['slack.reaction_added', 22]],
  events: [['events.registered', 1]],
  docs: [['docs.visit', 1]],
};
const CHANNEL_WEIGHT: Record<Channel, number> = { github: 5, discourse: 3, slack: 4, events: 1, docs: 2 };
const REPOS = ['platform', 'sdk-js', 'sdk-python', 'cli', 'docs', 'helm-charts', 'terraform-provider'] as const;
const TOPICS = ['Rate limits on the ingest API', 'How to self-host behind a proxy', 'SSO with Okta', 'Webhook retries', 'Migrating from v2', 'Memory leak in the SDK', 'Terraform provider drift', 'Best practice for multi-region'] as const;
const DOC_PATHS = ['/getting-started', '/api/reference', '/guides/self-hosting', '/guides/sso', '/pricing', '/sdk/python', '/sdk/js', '/security'] as const;
const SLACK_CHANNELS = ['#general', '#help', '#help', '#announcements', '#show-and-tell'] as const;
const BOT_TYPES = [['github.pull_request.opened', 6], ['github.issue_comment.created', 4]] as const;

export function buildCommunity(org: Org, opts: CommunityOptions = {}): { activities: ActivityInput[]; truth: CommunityTruth } {
  const rng = mulberry32(subSeed(opts.seed ?? DEFAULT_SEED, 2));
  const target = opts.activities ?? 6000;
  const now = Date.parse(opts.now ?? DEFAULT_NOW);
  const start = now - (opts.months ?? 18) * MONTH;
  const staffDomain = opts.staffDomain ?? 'example-vendor.io';

  const dealsOf = new Map<string, number>();
  const won = new Set<string>();
  for (const d of org.deals) for (const c of d.contacts) {
    dealsOf.set(c.contactKey, (dealsOf.get(c.contactKey) ?? 0) + 1);
    if (d.stage === 'won') won.add(c.contactKey);
  }
  const { members, memberOfContact } = buildMembers(rng, org, start, now, staffDomain, target, new Set(dealsOf.keys()), won);
  const memberIndex = new Map(members.map((m, i) => [m.key, i] as const));
  const contactCreated = new Map(org.contacts.map((c) => [c.key, Date.parse(c.createdAt)] as const));
  const drafts: Draft[] = [];
  const clampTime = (t: number): number => Math.min(now - 60_000, Math.max(start, t));
  const emit = (m: number, at: number, channel?: Channel): void => {
    const member = members[m];
    if (!member) return;
    const ch = channel ?? weighted(rng, member.channels.map((c) => [c, CHANNEL_WEIGHT[c]] as const));
    const type = member.kind === 'bot' ? weighted(rng, BOT_TYPES) : weighted(rng, TYPES[ch]);
    drafts.push({ m, channel: ch, type, at: clampTime(at), ref: Math.floor(rng() * 1_000_000) });
  };

  // --- sourced deals: the primary contact's first touch is < 60 days before the contact record and the deal ---------
  const sourcedDeals: string[] = [];
  const sourcedMembers = new Set<number>();
  for (const d of org.deals) {
    const primary = d.contacts.find((c) => c.isPrimary);
    const mi = primary ? memberIndex.get(memberOfContact[primary.contactKey] ?? '') : undefined;
    if (!primary || mi === undefined || dealsOf.get(primary.contactKey) !== 1 || d.stage === 'lost' || rng() >= 0.7) continue;
    const created = Date.parse(d.createdAt);
    const lo = Math.max(start, created - 58 * DAY);
    const hi = Math.min(contactCreated.get(primary.contactKey) ?? created, created) - DAY;
    const member = members[mi];
    if (hi <= lo || !member) continue;
    member.joinAt = lo + rng() * (hi - lo);
    sourcedMembers.add(mi);
    sourcedDeals.push(d.key);
    // The first touch itself: something a newcomer does (stars the repo, reads the docs, registers for a webinar).
    emit(mi, member.joinAt, (['docs', 'events', 'github'] as const).find((ch) => member.channels.includes(ch)) ?? member.channels[0]);
  }

  // --- influence signal: activity in the 90 days before each deal, heavy for won, light for lost --------------------------
  for (const d of org.deals) {
    const created = Date.parse(d.createdAt);
    const mean = d.stage === 'won' ? 7 : d.stage === 'lost' ? 1.2 : 3.5;
    for (const c of d.contacts) {
      const mi = memberIndex.get(memberOfContact[c.contactKey] ?? '');
      const member = mi === undefined ? undefined : members[mi];
      if (mi === undefined || !member) continue;
      // Windows that begin before the period are cut at its start rather than clamped, so nothing piles up there.
      const lo = sourcedMembers.has(mi) ? member.joinAt : Math.max(start, created - 90 * DAY);
      const n = poisson(rng, mean);
      for (let k = 0; k < n; k++) emit(mi, lo + rng() * (created - lo));
    }
  }

  // --- organic activity up to the target --------------------------------------------------------------------------------
  const cum: number[] = [];
  let acc = 0;
  for (const m of members) cum.push((acc += m.weight));
  const organic = Math.max(0, target - drafts.length - Math.round(target * 0.04));
  for (let k = 0; k < organic; k++) {
    const r = rng() * acc;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cum[mid] ?? 0) > r) hi = mid;
      else lo = mid + 1;
    }
    const m = members[lo];
    if (m) emit(lo, m.joinAt + rng() * (now - m.joinAt));
  }

  // --- events: registration drafts pick the next event; many registrants also attend ----------------------------------
  const events = eventCalendar(rng, start, now);
  for (const dr of drafts.slice()) {
    if (dr.channel !== 'events') continue;
    // The calendar runs 60 days past `now`, so a registration always finds an upcoming event.
    const idx = events.findIndex((e) => e.at >= dr.at);
    const ev = events[idx];
    if (!ev) continue;
    dr.ref = idx;
    if (ev.at + 3_600_000 < now && rng() < 0.55) drafts.push({ m: dr.m, channel: 'events', type: ev.webinar ? 'events.webinar_attended' : 'events.attended', at: ev.at + 3_600_000, ref: dr.ref });
  }

  drafts.sort((a, b) => a.at - b.at || a.m - b.m);
  const activities: ActivityInput[] = [];
  const seen = new Set<string>();
  const identitySets = new Map<number, Map<string, ActivityInput['member']['identities'][number]>>();
  drafts.forEach((dr, i) => {
    const m = members[dr.m];
    if (!m) return;
    const firstKey = `${dr.channel}:${dr.m}`;
    const first = !seen.has(firstKey);
    seen.add(firstKey);
    const type = first && dr.channel === 'slack' ? 'slack.team_join' : dr.type;
    const identities = identitiesFor(m, dr.channel, first);
    if (identities.length === 0) return;
    const ids = identitySets.get(dr.m) ?? new Map();
    for (const id of identities) if (!ids.has(`${id.source}:${id.id}`) || id.email) ids.set(`${id.source}:${id.id}`, id);
    identitySets.set(dr.m, ids);
    activities.push({
      source: dr.channel, type, occurred_at: iso(dr.at), external_id: `demo-${dr.channel}-${String(i + 1).padStart(7, '0')}`,
      member: { identities }, ...details(dr, type, events),
    });
  });

  const truthMembers: CommunityTruth['members'] = {};
  members.forEach((m, i) => {
    truthMembers[m.key] = { kind: m.kind, identities: [...(identitySets.get(i)?.values() ?? [])] };
  });
  return {
    activities,
    truth: {
      memberOfContact, sourcedDeals, members: truthMembers,
      staffMembers: members.filter((m) => m.kind === 'staff').map((m) => m.key),
      botMembers: members.filter((m) => m.kind === 'bot').map((m) => m.key),
    },
  };
}

interface DemoEvent { name: string; slug: string; at: number; webinar: boolean }

/** Roughly three events a month (webinars, meetups, a conference per half year) across the period and a bit beyond. */
function eventCalendar(rng: Rng, start: number, now: number): DemoEvent[] {
  const out: DemoEvent[] = [];
  for (let t = start + 5 * DAY; t < now + 60 * DAY; t += (5 + rng() * 10) * DAY) {
    const kind = weighted(rng, [['Webinar', 5], ['Meetup', 3], ['Conference', 1]] as const);
    const city = pick(rng, ['Berlin', 'London', 'San Francisco', 'New York', 'Paris', 'Bangalore', 'Tokyo', 'Online']);
    const name = kind === 'Webinar' ? `Webinar: ${pick(rng, TOPICS)}` : `${kind} ${city} ${new Date(t).toISOString().slice(0, 7)}`;
    out.push({ name, slug: `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}-${out.length + 1}`, at: Math.floor(t / 3_600_000) * 3_600_000, webinar: kind === 'Webinar' });
  }
  return out;
}

/** URL, title and properties in the shape each source's normaliser would produce. */
function details(dr: Draft, type: string, events: readonly DemoEvent[]): Pick<ActivityInput, 'url' | 'title' | 'properties'> {
  const repo = REPOS[dr.ref % REPOS.length] ?? 'platform';
  const num = 1 + (dr.ref % 4000);
  const topic = TOPICS[dr.ref % TOPICS.length] ?? 'Question';
  switch (dr.channel) {
    case 'github': {
      const base = `https://github.com/example-vendor/${repo}`;
      if (type === 'github.star' || type === 'github.fork') return { url: base, properties: { repo: `example-vendor/${repo}` } };
      const kind = type.includes('pull_request') ? 'pull' : type.includes('discussion') ? 'discussions' : 'issues';
      return { url: `${base}/${kind}/${num}`, title: topic, properties: { repo: `example-vendor/${repo}`, number: num } };
    }
    case 'discourse':
      return { url: `https://community.example-vendor.io/t/${topic.toLowerCase().replace(/[^a-z0-9]+/g, '-')}/${num}`, title: topic, properties: { topic_id: num } };
    case 'slack':
      return { properties: { channel: SLACK_CHANNELS[dr.ref % SLACK_CHANNELS.length] ?? '#general' } };
    case 'events': {
      const ev = events[dr.ref] ?? events[0];
      return ev ? { url: `https://example-vendor.io/events/${ev.slug}`, title: ev.name, properties: { event: ev.slug, starts_at: iso(ev.at) } } : {};
    }
    case 'docs': {
      const path = DOC_PATHS[dr.ref % DOC_PATHS.length] ?? '/';
      return { url: `https://docs.example-vendor.io${path}`, title: path, properties: { path } };
    }
  }
}

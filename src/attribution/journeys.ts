import * as z from 'zod';
import type { Rules } from '../rules/schema';
import { countedTouches } from './deal';
import { fitMarkov, type Journey } from './markov';
import { fitShapley } from './shapley';
import type { Deal, EngineContext, Touch } from './types';

/** Journey inputs: the paths CSV format, the JSON deals-with-touches format, and journeys built from deals. */

/**
 * `path;total_conversions;total_conversion_value;total_null` with channels joined by ` > ` (ChannelAttribution's
 * format). A header line is skipped; blank lines are ignored; a malformed line throws with its line number.
 */
export function parsePathsCsv(text: string): Journey[] {
  const out: Journey[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] ?? '';
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (!line.trim() || (i === 0 && line.startsWith('path;'))) continue;
    // Hand-split on the three `;` (fields are plain; no quoting in this format) — parsing dominates the fit time.
    const a = line.indexOf(';');
    const b = a < 0 ? -1 : line.indexOf(';', a + 1);
    const c = b < 0 ? -1 : line.indexOf(';', b + 1);
    const conv = Number(line.slice(a + 1, b));
    const value = Number(line.slice(b + 1, c));
    const nulls = Number(line.slice(c + 1));
    if (c < 0 || line.indexOf(';', c + 1) >= 0 || !(conv >= 0) || !(nulls >= 0) || !Number.isFinite(value)) {
      throw new Error(`line ${i + 1}: expected "path;total_conversions;total_conversion_value;total_null", got "${line.slice(0, 80)}"`);
    }
    const raw = line.slice(0, a);
    let path = raw.split(' > ');
    // Irregular spacing around ">" takes the slow, tolerant path.
    if (path.some((p) => p.includes('>') || p !== p.trim() || p === '')) path = raw.split('>').map((p) => p.trim()).filter(Boolean);
    out.push({ path, conversions: conv, nulls, value });
  }
  return out;
}

const isoTime = z.iso.datetime({ offset: true });

export const touchSchema = z.object({
  id: z.string().min(1),
  memberId: z.string().min(1),
  contactIds: z.array(z.string()).default([]),
  companyId: z.string().nullable().default(null),
  type: z.string().min(1),
  source: z.string().default('custom'),
  occurredAt: isoTime,
  url: z.string().nullable().optional(),
  title: z.string().nullable().optional(),
  isStaff: z.boolean().default(false),
  isBot: z.boolean().default(false),
});

export const dealSchema = z.object({
  id: z.string().min(1),
  crm: z.enum(['hubspot', 'salesforce']).default('hubspot'),
  amount: z.number().nullable().default(null),
  currency: z.string().nullable().default(null),
  createdAt: isoTime,
  closedAt: isoTime.nullable().default(null),
  isClosed: z.boolean().default(false),
  isWon: z.boolean().default(false),
  companyId: z.string().nullable().default(null),
  contacts: z.array(z.object({ contactId: z.string().min(1), isPrimary: z.boolean().default(false), createdAt: isoTime })).default([]),
  touches: z.array(touchSchema).default([]),
});

/** The offline journeys file: `{ "deals": [ Deal & { touches: Touch[] } ] }` (see docs/attribution.md). */
export const journeysFileSchema = z.object({ asOf: isoTime.optional(), deals: z.array(dealSchema) });
export type JourneysFile = z.output<typeof journeysFileSchema>;

export function splitJourneysFile(file: JourneysFile): { deals: Deal[]; touchesByDeal: Map<string, Touch[]> } {
  const deals: Deal[] = [];
  const touchesByDeal = new Map<string, Touch[]>();
  for (const { touches, ...deal } of file.deals) {
    deals.push(deal);
    touchesByDeal.set(deal.id, touches);
  }
  return { deals, touchesByDeal };
}

/**
 * The organisation's own journeys, for fitting data-driven models: closed deals only (won = conversion, lost = null),
 * path = channels of the deal's counted touches in time order. Identical paths are merged.
 */
export function journeysFromDeals(deals: readonly Deal[], touchesByDeal: ReadonlyMap<string, readonly Touch[]>, rules: Rules): Journey[] {
  const merged = new Map<string, Journey & { conversions: number; nulls: number; value: number }>();
  for (const d of deals) {
    if (!d.isClosed) continue;
    const path = countedTouches(d, touchesByDeal.get(d.id) ?? [], rules).map((k) => k.tp.channel);
    const key = path.join(' > ');
    const j = merged.get(key) ?? { path, conversions: 0, nulls: 0, value: 0 };
    if (d.isWon) {
      j.conversions++;
      j.value += d.amount ?? 0;
    } else j.nulls++;
    merged.set(key, j);
  }
  return [...merged.values()];
}

/**
 * Fits the data-driven models the rules use (primary or compare) on the organisation's own closed deals, returning
 * what `EngineContext.fitted` expects; empty when the rules use neither. Markov uses `models.markov_order`.
 */
export function fitForRules(deals: readonly Deal[], touchesByDeal: ReadonlyMap<string, readonly Touch[]>, rules: Rules): NonNullable<EngineContext['fitted']> {
  const used = new Set([rules.models.primary, ...rules.models.compare]);
  if (!used.has('markov') && !used.has('shapley')) return {};
  const journeys = journeysFromDeals(deals, touchesByDeal, rules);
  const fitted: NonNullable<EngineContext['fitted']> = {};
  if (used.has('markov')) fitted.markov = fitMarkov(journeys, rules.models.markov_order).removalEffects;
  if (used.has('shapley')) fitted.shapley = fitShapley(journeys).values;
  return fitted;
}

import * as z from 'zod';
import type { Rules } from '../rules/schema';
import { countedTouches } from './deal';
import { fitModels, fittedModels, mergeJourneys } from './fit';
import type { Journey } from './markov';
import type { Deal, EngineContext, Touch } from './types';

/** Journey inputs: the paths CSV format, the JSON deals-with-touches format, and journeys built from deals. */

/**
 * `path;total_conversions;total_conversion_value;total_null` with channels joined by ` > ` (ChannelAttribution's
 * format). A leading BOM and a header line are skipped; blank lines are ignored; a malformed line (wrong field count;
 * a count that is empty, not a number or negative; a value that is empty or not finite) throws with its line number.
 *
 * One pass over the text without splitting it into lines or fields; plain decimal numbers are read digit by digit
 * (exactly: an integer mantissa below 2^53 divided by an exact power of ten is the correctly rounded value, as Number()
 * gives). Anything unusual goes through the general path.
 */
export function parsePathsCsv(text: string): Journey[] {
  const out: Journey[] = [];
  const len = text.length;
  // Spreadsheets save UTF-8 with a BOM; left in, it hides the header, which is then read as data.
  for (let start = text.charCodeAt(0) === 0xfeff ? 1 : 0, i = 0; start < len; i++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = len;
    const next = end + 1;
    if (end > start && text.charCodeAt(end - 1) === 13) end--;
    const line = text.slice(start, end);
    start = next;
    if ((i === 0 && line.startsWith('path;')) || !line.trim()) continue;
    // Hand-split on the three `;` (fields are plain; no quoting in this format).
    const a = line.indexOf(';');
    const b = a < 0 ? -1 : line.indexOf(';', a + 1);
    const c = b < 0 ? -1 : line.indexOf(';', b + 1);
    const conv = decimal(line, a + 1, b);
    const value = decimal(line, b + 1, c);
    const nulls = decimal(line, c + 1, line.length);
    if (c < 0 || line.indexOf(';', c + 1) >= 0 || !(conv >= 0) || !(nulls >= 0) || !Number.isFinite(value)) {
      throw new Error(`line ${i + 1}: ${lineProblem(line)}`);
    }
    out.push({ path: splitPath(line, a), conversions: conv, nulls, value });
  }
  return out;
}

/** What is wrong with a line the fast check refused (only run to word the error). */
function lineProblem(line: string): string {
  const f = line.split(';');
  if (f.length !== 4) return `expected "path;total_conversions;total_conversion_value;total_null", got ${f.length} field(s) in "${line.slice(0, 80)}"`;
  const fields = [
    ['total_conversions', 'a non-negative number', (v: number) => v >= 0],
    ['total_conversion_value', 'a finite number', Number.isFinite],
    ['total_null', 'a non-negative number', (v: number) => v >= 0],
  ] as const;
  for (const [k, [name, want, ok]] of fields.entries()) {
    const raw = f[k + 1] ?? '';
    if (!ok(field(raw))) return `${name} must be ${want}, got ${raw.trim() ? `"${raw.slice(0, 40)}"` : 'an empty field'}`;
  }
  return `malformed line "${line.slice(0, 80)}"`;
}

/** Number(), except that a blank field is NaN rather than 0: a missing count is an error, not a zero. */
function field(t: string): number {
  return t.trim() ? Number(t) : Number.NaN;
}

/** `field(s.slice(from, to))`, reading plain decimals (digits, at most one point, ≤ 15 digits) without a substring. */
function decimal(s: string, from: number, to: number): number {
  if (to < from) return field(s.slice(from, to));
  let mantissa = 0;
  let digits = 0;
  let point = -1;
  for (let k = from; k < to; k++) {
    const ch = s.charCodeAt(k);
    if (ch >= 48 && ch <= 57) {
      mantissa = mantissa * 10 + (ch - 48);
      digits++;
    } else if (ch === 46 && point < 0) point = k;
    else return field(s.slice(from, to));
  }
  if (digits === 0 || digits > 15) return field(s.slice(from, to));
  return point < 0 ? mantissa : mantissa / (POW10[to - point - 1] ?? 1);
}
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/** Channels of `line[0, end)` split on ` > `; irregular spacing takes the tolerant path. */
function splitPath(line: string, end: number): string[] {
  const path: string[] = [];
  for (let s = 0; ; ) {
    let e = line.indexOf(' > ', s);
    if (e < 0 || e > end) e = end;
    // A token that is empty, holds a ">", or might start or end with whitespace (any control, space or non-ASCII
    // character there) takes the tolerant path, which gives the same channels when the spacing was regular after all.
    const first = line.charCodeAt(s);
    const last = line.charCodeAt(e - 1);
    const gt = line.indexOf('>', s);
    if (e <= s || first <= 32 || last <= 32 || first >= 127 || last >= 127 || (gt >= 0 && gt < e)) {
      return tolerantPath(line.slice(0, end));
    }
    path.push(line.slice(s, e));
    if (e === end) return path;
    s = e + 3;
  }
}

function tolerantPath(raw: string): string[] {
  return raw.split('>').map((p) => p.trim()).filter(Boolean);
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
})
  // The close ends the window: without its date, touches after the close would be credited.
  .refine((d) => d.closedAt !== null || !(d.isClosed || d.isWon), { path: ['closedAt'], message: 'a closed or won deal needs closedAt' })
  // A won deal is closed even when the file leaves isClosed out; an open deal's closedAt is its expected close date.
  .transform((d) => ({ ...d, isClosed: d.isClosed || d.isWon }));

/** The offline journeys file: `{ "deals": [ Deal & { touches: Touch[] } ] }` (see docs/attribution.md). */
export const journeysFileSchema = z.object({ asOf: isoTime.optional(), deals: z.array(dealSchema) }).superRefine((file, ctx) => {
  // Touches are looked up by deal id: a second deal with the same id would silently take the first one's place.
  const first = new Map<string, number>();
  file.deals.forEach((d, i) => {
    const at = first.get(d.id);
    if (at === undefined) first.set(d.id, i);
    else ctx.addIssue({ code: 'custom', path: ['deals', i, 'id'], message: `duplicate deal id "${d.id}" (first at deals.${at})` });
  });
});
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
  return mergeJourneys(
    deals
      .filter((d) => d.isClosed)
      .map((d) => ({
        path: countedTouches(d, touchesByDeal.get(d.id) ?? [], rules).map((k) => k.tp.channel),
        conversions: d.isWon ? 1 : 0,
        nulls: d.isWon ? 0 : 1,
        value: d.isWon ? (d.amount ?? 0) : 0,
      })),
  );
}

/**
 * Fits the data-driven models the rules use (primary or compare) on the organisation's own closed deals, returning
 * what `EngineContext.fitted` expects; empty when the rules use neither. Markov uses `models.markov_order`.
 */
export function fitForRules(deals: readonly Deal[], touchesByDeal: ReadonlyMap<string, readonly Touch[]>, rules: Rules): NonNullable<EngineContext['fitted']> {
  if (!fittedModels(rules).length) return {};
  return fitModels(journeysFromDeals(deals, touchesByDeal, rules), rules);
}

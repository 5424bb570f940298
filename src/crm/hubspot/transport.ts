/**
 * The HTTP layer under the HubSpot codegen clients. We replace the library's own transport because:
 *  - its default transport pulls in node:http/https and form-data paths; global fetch works the same in Node and workerd;
 *  - callWithRetry's AbortSignal has to reach fetch so a timed-out call really stops;
 *  - the codegen deserialises error bodies into its `Error` model, dropping `policyName`/`errorType`, which is exactly what
 *    tells a ten-secondly 429 from a daily one. So every status >= 400 is thrown here as HubspotApiError with the raw body
 *    validated by zod, and the codegen only ever sees 2xx (including 207 multi-status, which it models itself).
 */
import * as z from 'zod';

/** Error body as HubSpot sends it: the `Error` model (category, correlationId, …) or the 429 shape (errorType, policyName). */
export const hubspotErrorBody = z
  .object({
    status: z.string().optional(),
    message: z.string().optional(),
    category: z.string().optional(),
    subCategory: z.unknown().optional(),
    errorType: z.string().optional(),
    policyName: z.string().optional(),
    correlationId: z.string().optional(),
    context: z.record(z.string(), z.array(z.string())).optional(),
  })
  .loose();
export type HubspotErrorBody = z.infer<typeof hubspotErrorBody>;

export class HubspotApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: HubspotErrorBody,
    readonly headers: Record<string, string>,
    readonly url: string,
  ) {
    super(`HubSpot ${status}${body.category ? ` ${body.category}` : ''}: ${body.message ?? 'no message'}`);
    this.name = 'HubspotApiError';
  }
}

/** What X-HubSpot-RateLimit-* said on the last response; the connector paces itself from it. */
export interface RateLimitSnapshot {
  max: number | null;
  remaining: number | null;
  intervalMs: number | null;
  dailyMax: number | null;
  dailyRemaining: number | null;
  at: number;
}

const intHeader = z.coerce.number().int().nonnegative();
export function readRateLimitHeaders(headers: Record<string, string>, now: number): RateLimitSnapshot {
  const num = (name: string) => {
    const parsed = intHeader.safeParse(headers[name]);
    return headers[name] !== undefined && parsed.success ? parsed.data : null;
  };
  return {
    max: num('x-hubspot-ratelimit-max'),
    remaining: num('x-hubspot-ratelimit-remaining'),
    intervalMs: num('x-hubspot-ratelimit-interval-milliseconds'),
    dailyMax: num('x-hubspot-ratelimit-daily'),
    dailyRemaining: num('x-hubspot-ratelimit-daily-remaining'),
    at: now,
  };
}

/** The slice of the codegen RequestContext we need; every codegen module's class satisfies it structurally. */
export interface WireRequest {
  getUrl(): string;
  getHttpMethod(): string;
  getHeaders(): Record<string, string>;
  getBody(): unknown;
}

export interface WireBody {
  text(): Promise<string>;
  binary(): Promise<never>;
}

export interface TransportContext {
  signal: AbortSignal;
  fetch: typeof fetch;
  onHeaders(headers: Record<string, string>, status: number): void | Promise<void>;
}

function headerRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name.toLowerCase()] = value;
  });
  return out;
}

function parseErrorBody(text: string): HubspotErrorBody {
  try {
    const parsed = hubspotErrorBody.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
  } catch {
    // Not JSON (a proxy's HTML error page, an empty 502): keep a short excerpt as the message.
  }
  return { message: text.slice(0, 200) || 'empty body' };
}

/**
 * A promise HTTP library for one codegen module. `respond` builds that module's ResponseContext (each module has its own
 * class, structurally identical), so one implementation serves deals, contacts, companies, associations and properties.
 */
export function fetchLibrary<Res>(
  ctx: TransportContext,
  respond: (status: number, headers: Record<string, string>, body: WireBody) => Res,
): { send(request: WireRequest): Promise<Res> } {
  return {
    async send(request) {
      const body = request.getBody();
      if (body !== undefined && typeof body !== 'string') throw new TypeError('HubSpot transport only sends JSON string bodies');
      const response = await ctx.fetch(request.getUrl(), {
        method: request.getHttpMethod(),
        headers: request.getHeaders(),
        body,
        signal: ctx.signal,
      });
      const headers = headerRecord(response.headers);
      await ctx.onHeaders(headers, response.status);
      const text = await response.text();
      if (response.status >= 400) throw new HubspotApiError(response.status, parseErrorBody(text), headers, request.getUrl());
      return respond(response.status, headers, {
        text: async () => text,
        binary: () => Promise.reject(new Error('binary response bodies are not used by this connector')),
      });
    },
  };
}

import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from './errors';
import type { AppEnv } from './types';

/** Per token (API) or per client IP and route (webhooks): a flood from one sender cannot starve the others. */
export const byPrincipal = (c: Context<AppEnv>) => `token:${c.get('principal')?.id ?? 'anonymous'}`;
export const byClient = (c: Context<AppEnv>) => `ip:${c.req.header('cf-connecting-ip') ?? 'local'}:${c.req.path}`;

export function rateLimit(keyOf: (c: Context<AppEnv>) => string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { success } = await c.env.INGEST_LIMITER.limit({ key: keyOf(c) });
    if (!success) {
      c.header('retry-after', '60');
      throw new ApiError(429, 'rate_limited', 'too many requests from this sender; retry after a minute');
    }
    await next();
  };
}

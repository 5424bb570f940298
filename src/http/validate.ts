import type { Context } from 'hono';
import * as z from 'zod';
import { invalid } from './errors';

/** Validates query parameters; errors name the parameter as `query.<name>`. */
export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw invalid(parsed.error, 'query parameters are invalid', 'query');
  return parsed.data;
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalid(parsed.error, 'request body is invalid', prefix);
  return parsed.data;
}

/** A keyset cursor query parameter: whatever `decode` makes of it, or a 400 naming the parameter. */
export function cursorParam<T>(decode: (raw: string) => T | null) {
  return z.string().min(1).transform((raw, ctx) => {
    const after = decode(raw);
    if (after !== null) return after;
    ctx.addIssue({ code: 'custom', message: 'not a cursor this endpoint returned (pass next_cursor unchanged)' });
    return z.NEVER;
  });
}

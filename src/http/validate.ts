import type { Context } from 'hono';
import type { z } from 'zod';
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

/** Shared HTTP helpers for the emulator routes: the Hono env type and Salesforce's REST error shape. */
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type EmuEnv = { Bindings: HttpBindings };
export type EmuContext = Context<EmuEnv>;

/** REST errors are always a JSON array of `{ message, errorCode }` (plus `fields` for field-level problems). */
export function sfError(c: EmuContext, status: ContentfulStatusCode, errorCode: string, message: string, fields?: string[]) {
  return c.json([{ message, errorCode, ...(fields ? { fields } : {}) }], status);
}

/** `/services/data/v59.0/query/…` → `/query/…`: how faults and stats name an endpoint, independent of API version. */
export function endpointPath(pathname: string): string {
  const m = /^\/services\/data\/v\d+\.\d+(\/.*)?$/.exec(pathname);
  if (m) return m[1] ?? '/';
  return pathname.replace(/^\/services\/Soap\/m\/\d+\.\d+$/, '/services/Soap/m');
}

/** Stats key: method + endpoint with record ids and locators collapsed, so counts group by endpoint. */
export function statsKey(method: string, pathname: string): string {
  const path = endpointPath(pathname)
    .split('/')
    .map((seg) => (/^[0-9A-Za-z]{15,18}(-\d+)?$/.test(seg) && /\d/.test(seg) ? ':id' : seg))
    .join('/');
  return `${method} ${path}`;
}

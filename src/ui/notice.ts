import type { Context } from 'hono';
import { signNotice } from '../auth/session';
import { timingSafeEqualStr } from '../sources/hmac';
import type { AppEnv } from '../http/types';

/** What a form post's redirect tells the next page: a done or error notice, signed (see signNotice). */
export async function noticeQuery(c: Context<AppEnv>, kind: 'done' | 'error', text: string): Promise<string> {
  const sig = await signNotice(c.get('config'), `${kind}:${text}`);
  return `${kind}=${encodeURIComponent(text)}&sig=${sig}`;
}

/** The page's notices; one without a valid signature (a crafted link) is not shown. */
export async function readNotice(c: Context<AppEnv>): Promise<{ done: string | undefined; error: string | undefined }> {
  const sig = c.req.query('sig') ?? '';
  const valid = async (kind: 'done' | 'error') => {
    const text = c.req.query(kind);
    return text !== undefined && sig && timingSafeEqualStr(sig, await signNotice(c.get('config'), `${kind}:${text}`)) ? text : undefined;
  };
  return { done: await valid('done'), error: await valid('error') };
}

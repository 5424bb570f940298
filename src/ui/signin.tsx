import type { Context } from 'hono';
import * as z from 'zod';
import { ROLES } from '../auth/scopes';
import { devSignInAllowed, startSession } from '../auth/session';
import type { AppEnv } from '../http/types';
import { render } from './kit';

/** Only same-site paths: `/x` but not `//evil.example` or `/\evil`. */
/**
 * A path on this site to return to after sign-in, or '/'. Resolved against a placeholder origin rather than pattern
 * matched: browsers drop tabs and newlines and read `\` as `/`, so `/\t/evil.example` would leave the site.
 */
export function safeNext(next: string | undefined | null): string {
  if (!next || !next.startsWith('/') || /[\u0000-\u001f\u007f\\]/.test(next)) return '/';
  try {
    const url = new URL(next, 'https://this.invalid');
    return url.origin === 'https://this.invalid' ? `${url.pathname}${url.search}${url.hash}` : '/';
  } catch {
    return '/';
  }
}

export async function signinPage(c: Context<AppEnv>) {
  const next = safeNext(c.req.query('next'));
  if (!devSignInAllowed(c)) {
    return render(c, { title: 'Sign in' }, (
      <>
        <h1>Sign in</h1>
        <p>This app is protected by <strong>Cloudflare Access</strong>. Open it through your organisation’s Access URL and sign in with
          your identity provider; your role (viewer, editor or admin) comes from your Access groups.</p>
        <p class="muted small">Local development: run <code>npm start</code> and open the app on 127.0.0.1 for the development sign-in.</p>
      </>
    ));
  }
  return render(c, { title: 'Sign in' }, (
    <>
      <h1>Development sign-in</h1>
      <p class="note">Local development only (ENVIRONMENT=development on a loopback address). Production uses Cloudflare Access.</p>
      <form method="post" action="/signin/dev" class="card" aria-label="Development sign-in">
        <input type="hidden" name="next" value={next} />
        <p><label>Your name<input name="name" required maxlength={80} autocomplete="name" value="Dev User" /></label></p>
        <p>
          <label>Role
            <select name="role">
              <option value="viewer">viewer — reads dashboards and evidence</option>
              <option value="editor">editor — also reviews links and changes rules</option>
              <option value="admin" selected>admin — also runs syncs</option>
            </select>
          </label>
        </p>
        <button type="submit">Sign in</button>
      </form>
    </>
  ));
}

const devForm = z.object({ name: z.string().trim().min(1).max(80), role: z.enum(ROLES), next: z.string().optional() });

export async function devSignIn(c: Context<AppEnv>) {
  if (!devSignInAllowed(c)) return c.text('development sign-in is off', 403);
  // Login CSRF: a cross-site form post carries a foreign Origin.
  const origin = c.req.header('origin');
  if (origin && origin !== new URL(c.req.url).origin) return c.text('cross-site sign-in refused', 403);
  const parsed = devForm.safeParse(await c.req.parseBody());
  if (!parsed.success) return c.redirect('/signin', 303);
  const { name, role } = parsed.data;
  const sub = `dev:${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  await startSession(c, sub, name, role);
  return c.redirect(safeNext(parsed.data.next), 303);
}

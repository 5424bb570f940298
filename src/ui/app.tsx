import { Hono, type Context } from 'hono';
import { csrfToken, endSession, requireCsrf, requireRole } from '../auth/session';
import type { AppEnv } from '../http/types';
import { dashboardCsv, dashboardPage } from './dashboard';
import { dealPage } from './deal';
import { healthCsv, healthPage } from './health';
import { RulesInvalidError } from '../sync/config';
import { pageHeaders, render } from './kit';
import { memberMerge, memberNotSame, memberPage, memberUnmerge } from './member';
import { reviewPage, reviewPost } from './review';
import { rulesActivate, rulesFullPreview, rulesFullPreviewPage, rulesPage, rulesPreview, rulesRollback } from './rules';
import { devSignIn, signinPage } from './signin';
import { replayFromPage } from './dead-letters';
import { runPage, runWritesCsv, syncPage, syncStart } from './sync';

/**
 * The web app: server-rendered pages behind sign-in and roles. Mounted by the lead after the API routes:
 *   app.use('*', loadPerson()); app.route('/', ui);
 * Pages call the same store/domain functions as the JSON API; every form post carries a CSRF token.
 */
export const ui = new Hono<AppEnv>();

type Page = (c: Context<AppEnv>, csrf: string) => Promise<Response>;
const page = (fn: Page) => async (c: Context<AppEnv>) => fn(c, await csrfToken(c));

ui.use('*', pageHeaders);

ui.get('/signin', signinPage);
ui.post('/signin/dev', devSignIn);
ui.post('/signout', requireCsrf(), (c) => {
  endSession(c);
  return c.redirect('/signin', 303);
});

// Viewer pages
ui.get('/', requireRole('viewer'), page(dashboardPage));
ui.get('/export/dashboard/:file{[a-z_]+\\.csv}', requireRole('viewer'), (c) => dashboardCsv(c, c.req.param('file').replace(/\.csv$/, '')));
ui.get('/health', requireRole('viewer'), page(healthPage));
ui.get('/export/health/:file{[a-z_]+\\.csv}', requireRole('viewer'), (c) => healthCsv(c, c.req.param('file').replace(/\.csv$/, '')));
ui.get('/deals/:crm/:id', requireRole('viewer'), page(dealPage));
ui.get('/members/:id', requireRole('viewer'), page(memberPage));

// Editor pages
ui.post('/members/:id/merge', requireRole('editor'), requireCsrf(), memberMerge);
ui.post('/members/:id/unmerge', requireRole('editor'), requireCsrf(), memberUnmerge);
ui.post('/members/:id/not-same', requireRole('editor'), requireCsrf(), memberNotSame);
ui.get('/review', requireRole('editor'), page(reviewPage));
ui.post('/review', requireRole('editor'), requireCsrf(), reviewPost);
ui.get('/rules', requireRole('editor'), page(rulesPage));
ui.post('/rules/preview', requireRole('editor'), requireCsrf(), page(rulesPreview));
ui.post('/rules/previews', requireRole('editor'), requireCsrf(), page(rulesFullPreview));
ui.get('/rules/previews/:id', requireRole('editor'), page(rulesFullPreviewPage));
ui.post('/rules/activate', requireRole('editor'), requireCsrf(), page(rulesActivate));
ui.post('/rules/rollback', requireRole('editor'), requireCsrf(), rulesRollback);

// Admin pages
ui.get('/sync', requireRole('admin'), page(syncPage));
ui.get('/sync/runs/:id', requireRole('admin'), page(runPage));
ui.get('/sync/runs/:id/writes.csv', requireRole('admin'), runWritesCsv);
ui.post('/sync/start', requireRole('admin'), requireCsrf(), syncStart);
ui.post('/sync/dead-letters/:id/replay', requireRole('admin'), requireCsrf(), replayFromPage);

/** Errors on a page answer a page (the API's onError answers JSON); details go to the log with the request id. */
ui.onError(async (err, c) => {
  if (err instanceof RulesInvalidError) {
    // Not worth retrying: the active version stopped validating (a deploy tightened the schema). Rolling back or
    // activating a valid version from the rules page is the way out.
    return render(c, { title: err.versioned ? 'Active rules invalid' : 'Deployment misconfigured', status: err.versioned ? 409 : 503 }, (
      <>
        <h1>{err.versioned ? `The active ${err.kind}.yaml no longer validates` : `mappings/${err.kind}.yaml does not validate`}</h1>
        <ul>{err.issues.map((i) => <li>{i}</li>)}</ul>
        {err.versioned
          ? <p><a href={`/rules?kind=${err.kind}`}>Roll back or activate a valid version</a>.</p>
          : <p>This file is part of the deployment: fix mappings/{err.kind}.yaml (<code>npm run mappings:check</code> names each problem) and deploy again.</p>}
      </>
    ));
  }
  c.get('log')?.error('page error', { error: err, path: c.req.path });
  try {
    return await render(c, { title: 'Something went wrong', status: 503 }, (
      <>
        <h1>Something went wrong</h1>
        <p>The page could not be built. Try again in a moment; if it keeps happening, give the request id <code>{c.get('requestId') ?? '–'}</code> to whoever runs this app.</p>
      </>
    ));
  } catch {
    return c.text('Something went wrong', 503);
  }
});

import type { Context } from 'hono';
import type { AppEnv } from '../http/types';
import { replayDeadLetter, summariesWithErasure } from '../ingest/dead-letters';
import { listDeadLetters } from '../store/dead-letters';
import { when } from './kit';
import { noticeQuery, readNotice } from './notice';

/** Open dead letters shown on /sync (newest first); the API pages through the rest. */
const SHOWN = 20;

export type DeadLetterItem = Awaited<ReturnType<typeof summariesWithErasure>>[number];

export async function openDeadLetters(db: D1Database): Promise<DeadLetterItem[]> {
  return summariesWithErasure(db, await listDeadLetters(db, { queue: null, state: 'open', before: null, limit: SHOWN }));
}

/** Queue messages that could not be processed, with Replay for an activities message that can be sent again. */
export function DeadLetters(props: { items: DeadLetterItem[]; csrf: string }) {
  return (
    <>
      <h2 id="dead-letters">Dead letters</h2>
      <p class="small muted">
        Queue messages that could not be processed, kept so nothing accepted is lost. <strong>Replay</strong> sends an activities
        message to the queue again (activities already stored are not stored twice); a sync message needs nothing, as the next run
        takes up the work; neither is offered for a message accepted before a member was erased. <code>GET /v1/dead-letters</code>
        lists them all, and <code>GET /v1/dead-letters/:id</code> shows one with its body.
      </p>
      <div class="table-wrap">
        <table id="dead-letters-table">
          <caption>{props.items.length === SHOWN ? `The newest ${SHOWN} open dead letters` : `${props.items.length} open dead letter${props.items.length === 1 ? '' : 's'}`}</caption>
          <thead><tr><th scope="col">Id</th><th scope="col">Queue</th><th scope="col">Received</th><th scope="col">Holds</th><th scope="col">Reason</th><th scope="col">Action</th></tr></thead>
          <tbody>
            {props.items.length === 0 ? <tr><td colspan={6} class="muted">None: every message was processed.</td></tr> : props.items.map((d) => (
              <tr data-dead-letter={String(d.id)}>
                <td>{d.id}</td>
                <td>{d.queue}</td>
                <td>{when(d.received_at)}</td>
                <td>{d.activities === null ? '–' : `${d.activities} activit${d.activities === 1 ? 'y' : 'ies'} from ${d.origin}`}</td>
                <td class="small">{d.reason}</td>
                <td>
                  {d.replayable ? (
                    <form method="post" action={`/sync/dead-letters/${d.id}/replay`}>
                      <input type="hidden" name="_csrf" value={props.csrf} />
                      <button type="submit" class="secondary" aria-label={`Replay dead letter ${d.id}`}>Replay</button>
                    </form>
                  ) : <span class="small muted">{d.activities !== null ? 'held back: a member was erased since it was accepted' : 'for diagnosis'}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** Replay from the page: the same checks as POST /v1/dead-letters/:id/replay; the answer lands on /sync. */
export async function replayFromPage(c: Context<AppEnv>) {
  const id = Number(c.req.param('id'));
  const principal = c.get('principal')!;
  const back = async (kind: 'done' | 'error', message: string) => c.redirect(`/sync?${await noticeQuery(c, kind, message)}#dead-letters`, 303);
  if (!Number.isSafeInteger(id) || id < 1) return back('error', 'No such dead letter.');
  const result = await replayDeadLetter(c.env.DB, c.env.ACTIVITIES, id, `${principal.kind}:${principal.id}`, c.get('log'));
  return result.ok ? back('done', `Dead letter ${result.row.id} sent to the activities queue again.`) : back('error', result.message);
}

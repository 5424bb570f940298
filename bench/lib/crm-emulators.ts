/**
 * Child process for `npm run bench:crm`: runs the HubSpot and Salesforce emulators on their own event loop and CPU, so the
 * emulators' work (100k-record searches, SOQL, CSV) is not timed as the connectors' cost and does not stall the client.
 *
 * The HubSpot limiter is observed, not changed: every request it accepts is recorded with the time and bucket the limiter
 * itself used, so the bench can compute the rate-limit floor from the emulator's own window state. Talks to the parent
 * over IPC: it sends `{ ready, hubspotUrl, salesforceUrl }`, then answers `{ id, op: 'accepted', since }` with the
 * accepted HubSpot requests at or after `since` (epoch ms), `{ id, op: 'cpu' }` with its CPU time so far (so the bench
 * can tell emulator time from connector time), and exits on `{ op: 'exit' }`.
 */
import { startHubspotEmulator } from '../../test/emulators/hubspot/server';
import { startSalesforceEmulator } from '../../test/emulators/salesforce/server';

export interface AcceptedCall {
  /** The limiter's `now` for the request (epoch ms). */
  at: number;
  search: boolean;
}

/** Every limiter verdict since the last reset, accepted or not, in arrival order. */
export interface Verdict extends AcceptedCall {
  ok: boolean;
  policy: string | null;
}

export type ToChild =
  | { id: number; op: 'accepted'; since: number }
  | { id: number; op: 'verdicts' }
  | { id: number; op: 'cpu' }
  | { id: number; op: 'exit' };
export type FromChild =
  | { ready: true; hubspotUrl: string; salesforceUrl: string }
  | { id: number; accepted: AcceptedCall[] }
  | { id: number; verdicts: Verdict[] }
  | { id: number; cpuMs: number };

const hubspot = await startHubspotEmulator();
const salesforce = await startSalesforceEmulator();

let accepted: AcceptedCall[] = [];
let verdicts: Verdict[] = [];
const limiter = hubspot.limiter;
const take = limiter.take.bind(limiter);
limiter.take = (token, now, isSearch) => {
  const verdict = take(token, now, isSearch);
  if (verdict.ok) accepted.push({ at: now, search: isSearch });
  verdicts.push({ at: now, search: isSearch, ok: verdict.ok, policy: verdict.ok ? null : verdict.policy });
  return verdict;
};
// PUT /__emulator/limits resets the limiter's windows: the requests before it no longer count, so forget them too.
const reset = limiter.reset.bind(limiter);
limiter.reset = () => {
  reset();
  accepted = [];
  verdicts = [];
};

const send = (msg: FromChild) => process.send?.(msg);

process.on('message', (raw: ToChild) => {
  if (raw.op === 'accepted') {
    send({ id: raw.id, accepted: accepted.filter((a) => a.at >= raw.since) });
  } else if (raw.op === 'verdicts') {
    send({ id: raw.id, verdicts });
  } else if (raw.op === 'cpu') {
    const { user, system } = process.cpuUsage();
    send({ id: raw.id, cpuMs: (user + system) / 1000 });
  } else if (raw.op === 'exit') {
    void Promise.all([hubspot.close(), salesforce.close()]).finally(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));

send({ ready: true, hubspotUrl: hubspot.url, salesforceUrl: salesforce.url });

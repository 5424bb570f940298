/**
 * One CRM account's rate budget, shared by every Worker isolate that calls that account. The object's name is the account
 * key (`hubspot:portal-123`, `salesforce:https://acme.my.salesforce.com`); a Durable Object runs one request at a time, so
 * reservations from concurrent sync steps are serialised here and can never overcommit a window.
 *
 * The limiter lives in memory and is written to storage after every change, so an evicted or restarted object keeps its
 * pauses, daily counts and reservations already promised for the next seconds.
 */
import { DurableObject } from 'cloudflare:workers';
import { Budget, type BudgetStatus, type Reservation } from './bucket';
import { defaultLimitsFor, limitsSchema, parseLimits, type Limits } from './limits';

export type ConfigureResult = { ok: true; status: BudgetStatus } | { ok: false; issues: string[] };

const STATE_KEY = 'budget';

export class CrmBudget extends DurableObject {
  private budget: Budget;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.budget = new Budget(defaultLimitsFor(ctx.id.name));
    void ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.get(STATE_KEY);
      if (stored === undefined) return;
      try {
        this.budget = Budget.restore(stored);
      } catch (error) {
        // A snapshot we cannot read (an older shape) is dropped: defaults are safe, and the CRM's own headers refill us.
        console.warn(JSON.stringify({ msg: 'crm budget: discarding unreadable state', error: String(error) }));
      }
    });
  }

  /** Reserves `cost` units of `bucket`; the caller sleeps `waitMs`. Not granted (nothing reserved) beyond `maxWaitMs`. */
  async reserve(bucket: string, cost = 1, maxWaitMs?: number): Promise<Reservation> {
    const r = this.budget.reserve(bucket, cost, Date.now(), maxWaitMs);
    if (r.granted) await this.save();
    return r;
  }

  async noteRemaining(bucket: string, remaining: number): Promise<void> {
    this.budget.noteRemaining(bucket, remaining, Date.now());
    await this.save();
  }

  async pause(untilMs: number, reason: string): Promise<void> {
    this.budget.pause(untilMs, reason, Date.now());
    await this.save();
  }

  async status(): Promise<BudgetStatus> {
    return this.budget.status(Date.now());
  }

  /**
   * Sets this account's limits (e.g. HubSpot Professional's 190 per 10 s). Validated, as they come from configuration; bad
   * limits are an expected failure, answered as a result rather than thrown across RPC.
   */
  async configure(limits: Limits): Promise<ConfigureResult> {
    const parsed = limitsSchema.safeParse(limits);
    if (!parsed.success) return { ok: false, issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
    this.budget.configure(parseLimits(parsed.data));
    await this.save();
    return { ok: true, status: this.budget.status(Date.now()) };
  }

  private async save(): Promise<void> {
    // Awaited so the caller's answer leaves only once the state is durable (the output gate would hold it anyway).
    await this.ctx.storage.put(STATE_KEY, this.budget.snapshot());
  }
}

/**
 * A tiny insertion-ordered map of links keyed by CRM id. A member has a handful of links at most, and resolveMember runs
 * a million times per full pass: an array with linear search allocates far less than a Map (no hash table per member).
 */
import type { Link } from './types';

export class LinkSet {
  private readonly items: Link[] = [];

  get size(): number {
    return this.items.length;
  }

  get(crmId: string): Link | undefined {
    for (const l of this.items) if (l.target.crmId === crmId) return l;
    return undefined;
  }

  has(crmId: string): boolean {
    return this.get(crmId) !== undefined;
  }

  /** Adds or replaces (keeping the original position). */
  set(crmId: string, link: Link): void {
    const i = this.items.findIndex((l) => l.target.crmId === crmId);
    if (i >= 0) this.items[i] = link;
    else this.items.push(link);
  }

  delete(crmId: string): void {
    const i = this.items.findIndex((l) => l.target.crmId === crmId);
    if (i >= 0) this.items.splice(i, 1);
  }

  values(): readonly Link[] {
    return this.items;
  }

  keys(): string[] {
    return this.items.map((l) => l.target.crmId);
  }
}

/**
 * A tiny insertion-ordered map of links keyed by CRM id. A member has a handful of links at most, and resolveMember runs
 * a million times per full pass: an array with linear search allocates far less than a Map (no hash table per member),
 * and the array itself is only created by the first link (most of a member's four sets stay empty).
 */
import type { Link } from './types';

const EMPTY: readonly Link[] = [];

export class LinkSet {
  private items: Link[] | null = null;

  get size(): number {
    return this.items === null ? 0 : this.items.length;
  }

  get(crmId: string): Link | undefined {
    if (this.items === null) return undefined;
    for (const l of this.items) if (l.target.crmId === crmId) return l;
    return undefined;
  }

  has(crmId: string): boolean {
    return this.get(crmId) !== undefined;
  }

  /** Adds or replaces (keeping the original position). */
  set(crmId: string, link: Link): void {
    if (this.items === null) {
      this.items = [link];
      return;
    }
    const i = this.items.findIndex((l) => l.target.crmId === crmId);
    if (i >= 0) this.items[i] = link;
    else this.items.push(link);
  }

  delete(crmId: string): void {
    if (this.items === null) return;
    const i = this.items.findIndex((l) => l.target.crmId === crmId);
    if (i >= 0) this.items.splice(i, 1);
  }

  values(): readonly Link[] {
    return this.items ?? EMPTY;
  }

  keys(): string[] {
    return this.items === null ? [] : this.items.map((l) => l.target.crmId);
  }
}

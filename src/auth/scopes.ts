export const SCOPES = ['ingest', 'read', 'configure', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Principal {
  kind: 'token' | 'bootstrap';
  id: string;
  name: string;
  scopes: ReadonlySet<Scope>;
}

/** admin implies every scope; configure implies read (editors must see what they change). */
export function hasScope(principal: Principal, needed: Scope): boolean {
  if (principal.scopes.has('admin')) return true;
  if (needed === 'read' && principal.scopes.has('configure')) return true;
  return principal.scopes.has(needed);
}

export function parseScopes(text: string): Scope[] {
  return text.split(/\s+/).filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
}

export const SCOPES = ['ingest', 'read', 'configure', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const ROLES = ['viewer', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** People get scopes from their role: viewer (sales, DevRel) reads, editor (RevOps) also configures, admin everything. */
export const ROLE_SCOPES: Record<Role, Scope[]> = { viewer: ['read'], editor: ['read', 'configure'], admin: ['admin'] };

export interface Principal {
  kind: 'token' | 'bootstrap' | 'person';
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

export function roleOf(principal: Principal): Role {
  if (principal.scopes.has('admin')) return 'admin';
  if (principal.scopes.has('configure')) return 'editor';
  return 'viewer';
}

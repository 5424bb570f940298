/**
 * build/shims/aliases.json (written by scripts/gen-shims.ts, the same list as wrangler.toml's [alias]) as Vite aliases.
 * The vitest projects that run in workerd bundle with Vite, which does not read wrangler.toml's [alias]: with these,
 * tests run the same modules as `wrangler dev` and `wrangler deploy`. Exact matches only, as wrangler's aliases.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../../', import.meta.url);

export function workerdAliases(): { find: RegExp; replacement: string }[] {
  const map = JSON.parse(readFileSync(new URL('build/shims/aliases.json', root), 'utf8')) as Record<string, string>;
  return Object.entries(map).map(([specifier, file]) => ({
    find: new RegExp(`^${specifier.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`),
    replacement: fileURLToPath(new URL(file, root)),
  }));
}

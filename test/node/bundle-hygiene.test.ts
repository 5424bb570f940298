import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : /\.tsx?$/.test(name) ? [path] : [];
  });
}

describe('Worker bundle hygiene', () => {
  it('imports zod as a namespace: `import { z }` makes esbuild keep every zod locale (~90 KB gzipped)', () => {
    const offenders = files('src').filter((f) => /import\s*\{\s*z\s*[,}][^;]*from\s*'zod'/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('imports only codegen modules of @hubspot/api-client, never the whole client', () => {
    const offenders = files('src').filter((f) => /from\s*'@hubspot\/api-client'/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });
});

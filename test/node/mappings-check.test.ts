import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

// The real CLI on a copy of mappings/: what CI runs, with one file broken at a time.
const root = join(import.meta.dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
let dir = '';

function check(edit?: (dir: string) => void) {
  dir = mkdtempSync(join(tmpdir(), 'mappings-'));
  cpSync(join(root, 'mappings'), dir, { recursive: true });
  edit?.(dir);
  const run = spawnSync(tsx, [join(root, 'scripts', 'mappings-check.ts'), '--dir', dir], { cwd: dir, encoding: 'utf8' });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

const replace = (file: string, from: string, to: string) => (d: string) => {
  const text = readFileSync(join(d, file), 'utf8');
  if (!text.includes(from)) throw new Error(`${file} no longer contains ${from}`);
  writeFileSync(join(d, file), text.replace(from, to));
};

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run mappings:check', () => {
  it('passes the shipped files and names all five', { timeout: 30_000 }, () => {
    const { code, out } = check();
    expect(code).toBe(0);
    for (const f of ['rules.yaml', 'hubspot.yaml', 'salesforce.yaml', 'identity.yaml', 'segments.yaml']) expect(out).toContain(`ok   ${f}`);
  });

  it('fails an invalid identity.yaml with file:line:column and the field', { timeout: 30_000 }, () => {
    const { code, err } = check(replace('identity.yaml', 'version: 1', 'version: 1\nmembers_typo: true'));
    expect(code).toBe(1);
    expect(err).toMatch(/^identity\.yaml:4:1 \(root\): unknown field\(s\) "members_typo"/m);
  });

  it('fails an invalid segments.yaml (a persona title that is not a regular expression)', { timeout: 30_000 }, () => {
    const segments = readFileSync(join(root, 'mappings', 'segments.yaml'), 'utf8');
    const title = /title: (.+)/.exec(segments)?.[1];
    expect(title).toBeTruthy();
    const { code, err } = check(replace('segments.yaml', `title: ${title}`, 'title: "(unclosed"'));
    expect(code).toBe(1);
    expect(err).toMatch(/^segments\.yaml:\d+:\d+ personas\.0\.title: not a valid regular expression/m);
  });

  it('reports a missing file instead of passing', { timeout: 30_000 }, () => {
    const { code, err } = check((d) => rmSync(join(d, 'segments.yaml')));
    expect(code).toBe(1);
    expect(err).toContain('segments.yaml:1:1 (root): file is missing');
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultIdentityConfig, loadIdentityConfig, parseIdentityConfig } from './config';

describe('identity config', () => {
  it('loads mappings/identity.yaml', () => {
    const config = loadIdentityConfig(readFileSync('mappings/identity.yaml', 'utf8'));
    expect(config.links.confidence.email).toBe(0.99);
    expect(config.bots.identity_keys).toContain('slack:USLACKBOT');
  });

  it('defaults match the shipped file', () => {
    const file = loadIdentityConfig(readFileSync('mappings/identity.yaml', 'utf8'));
    expect({ ...file, organisation: { domains: [] } }).toEqual(defaultIdentityConfig());
  });

  it('reports a wrong value with line:column and path', () => {
    const r = parseIdentityConfig('version: 1\norganisation:\n  domains: [example.com]\nlinks:\n  name_similarity: 1.5\n');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues[0]).toMatchObject({ path: 'links.name_similarity', line: 5, column: 20 });
  });

  it('reports an unknown key at the key', () => {
    const r = parseIdentityConfig('version: 1\norganisation:\n  domains: []\n  domian: x\n');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues[0]).toMatchObject({ path: 'organisation', line: 4, column: 3, message: 'unknown field(s) "domian"' });
  });

  it('reports bad regexes and bad domains', () => {
    const r = parseIdentityConfig("version: 1\norganisation:\n  domains: ['not a domain']\nbots:\n  handle_patterns: ['(']\n");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => `${i.path}@${i.line}`).sort()).toEqual(['bots.handle_patterns.0@5', 'organisation.domains.0@3']);
  });

  it('reports YAML syntax errors with a position and never throws', () => {
    const r = parseIdentityConfig('version: 1\norganisation: [\n');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]?.line).toBeGreaterThan(0);
    expect(() => loadIdentityConfig('version: 2\n')).toThrow(/mappings\/identity.yaml:1:1/);
  });
});

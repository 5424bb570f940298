import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BUNDLED_SEGMENTS } from './bundled';
import { parseSegments, personaMatcher, segmentOf } from './index';

const shipped = readFileSync(new URL('../../mappings/segments.yaml', import.meta.url), 'utf8');

describe('mappings/segments.yaml', () => {
  it('is valid', () => {
    const r = parseSegments(shipped);
    expect(r.ok ? [] : r.issues).toEqual([]);
  });
  it('is what the Worker bundles (src/segments/bundled.ts is not stale)', () => {
    expect(BUNDLED_SEGMENTS).toBe(shipped);
  });
});

describe('parseSegments', () => {
  it('locates errors with line and column', () => {
    const text = 'version: 1\nsegments:\n  - name: big\n    employees: { min: 500, max: 10 }\n  - name: Bad Name\npersonas:\n  - name: p\n    title: "(unclosed"\n';
    const r = parseSegments(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const byPath = Object.fromEntries(r.issues.map((i) => [i.path, i]));
    expect(byPath['segments.0.employees']?.line).toBe(4);
    expect(byPath['segments.1.name']?.line).toBe(5);
    expect(byPath['segments.1.name']?.column).toBe(11);
    expect(byPath['personas.0.title']?.line).toBe(8);
    expect(byPath['personas.0.title']?.message).toMatch(/regular expression/);
  });
  it('rejects unknown fields and duplicate names', () => {
    const r = parseSegments('version: 1\nsegments:\n  - { name: a, size: 3 }\n  - { name: a }\n');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.message).join(' ')).toMatch(/unknown field.*"size"/);
    expect(r.issues.some((i) => /duplicate/.test(i.message))).toBe(true);
  });
  it('reports YAML syntax errors with a position', () => {
    const r = parseSegments('version: 1\nsegments: [\n');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]!.line).toBeGreaterThanOrEqual(2);
  });
});

describe('classification', () => {
  const r = parseSegments(shipped);
  if (!r.ok) throw new Error('invalid');
  const config = r.value;
  it('puts companies in the first matching segment, else other', () => {
    expect(segmentOf(config, { industry: 'computer software', employees: 5000, country: 'Germany' })).toBe('enterprise_tech');
    expect(segmentOf(config, { industry: 'Financial Services', employees: 20, country: null })).toBe('regulated');
    expect(segmentOf(config, { industry: 'Retail', employees: 20, country: null })).toBe('startup');
    expect(segmentOf(config, { industry: 'Retail', employees: null, country: null })).toBe('other');
    expect(segmentOf(config, null)).toBe('other');
  });
  it('matches personas case-insensitively', () => {
    const persona = personaMatcher(config);
    expect(persona('VP of Engineering')?.name).toBe('executive');
    expect(persona('Engineering Manager')?.name).toBe('manager');
    expect(persona('senior software engineer')?.name).toBe('practitioner');
    expect(persona('Procurement Specialist')).toBeNull();
    expect(persona(null)).toBeNull();
  });
});

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { canonicalString, crossCheck, formatIssue, loadRules, parseFieldMapping, parseRules, rulesVersion } from './index';

const mappingFile = (name: string) => readFileSync(fileURLToPath(new URL(`../../mappings/${name}`, import.meta.url)), 'utf8');

const MIN = `version: 1
stages: [aware, engaged]
touchpoints:
  "github.*": { channel: github }
`;

describe('rules.yaml', () => {
  it('the shipped rules parse, with defaults filled in', () => {
    const r = parseRules(mappingFile('rules.yaml'));
    if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'));
    expect(r.value.models.primary).toBe('w_shaped');
    expect(r.value.touchpoints['github.pull_request.merged']?.stage).toBe('champion');
    expect(r.value.window).toEqual({ lookback_days: 180, until_close: true });
  });

  it('a minimal file gets every default', () => {
    const r = parseRules(MIN);
    expect(r.ok && r.value.touchpoints['github.*']).toEqual({ channel: 'github', weight: 1, stage: null, counts: true });
    expect(r.ok && r.value.scope).toBe('deal_contacts');
  });

  it('names file:line:column, the field path and what is expected', () => {
    const text = `${MIN}window:
  lookback_days: "ninety"
scope: everyone
`;
    const r = parseRules(text, 'mappings/rules.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map(formatIssue)).toEqual([
      'mappings/rules.yaml:6:18 window.lookback_days: Invalid input: expected number, received string',
      'mappings/rules.yaml:7:8 scope: Invalid option: expected one of "deal_contacts"|"primary_contact"|"account"',
    ]);
  });

  it('points unknown keys at the key and missing fields at their parent', () => {
    const r = parseRules(`version: 1
stages: [a]
touchpoints:
  github.star: { chanel: github }
`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const byPath = Object.fromEntries(r.issues.map((i) => [i.path, `${i.line}:${i.column} ${i.message}`]));
    expect(byPath['touchpoints["github.star"].channel']).toBe('4:16 required field is missing (expected string)');
    expect(byPath['touchpoints["github.star"]']).toBe('4:18 unknown field(s) "chanel"');
  });

  it('rejects bad wildcards, undeclared stages and custom without weights', () => {
    const bad = parseRules(`version: 1
stages: [a]
touchpoints:
  "git*hub": { channel: github }
`);
    expect(!bad.ok && bad.issues[0]?.path).toBe('touchpoints["git*hub"]');
    const stage = parseRules(`version: 1
stages: [a]
touchpoints:
  github.star: { channel: github, stage: b }
models: { primary: custom }
`);
    expect(stage.ok).toBe(false);
    if (stage.ok) return;
    expect(stage.issues.map((i) => `${i.line}:${i.column} ${i.path}`)).toEqual(['4:42 touchpoints["github.star"].stage', '5:9 models.custom']);
  });

  it('reports YAML syntax errors and duplicate keys with positions', () => {
    const r = parseRules(`version: 1\nstages: [a]\ntouchpoints:\n  a.b: { channel: x }\n  a.b: { channel: y }\n`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues[0]?.line).toBe(5);
    expect(r.issues[0]?.path).toBe('(yaml)');
  });

  it('finds a repeated key in a nested mapping, and in a large catalogue without comparing every pair', () => {
    const nested = parseRules(`version: 1\nstages: [a]\ntouchpoints:\n  a.b: { channel: x, channel: y }\n`);
    expect(!nested.ok && nested.issues.map((i) => `${i.line}:${i.column} ${i.message}`)).toEqual(['4:22 Map keys must be unique ("channel" is repeated)']);
    const many = Array.from({ length: 5000 }, (_, i) => `  t${i}.x: { channel: c${i % 7} }`);
    const big = parseRules(`version: 1\nstages: [a]\ntouchpoints:\n${[...many, '  t4999.x: { channel: z }'].join('\n')}\n`);
    expect(!big.ok && big.issues.map((i) => [i.line, i.message])).toEqual([[5004, 'Map keys must be unique ("t4999.x" is repeated)']]);
  });

  it('bounds every number, so a file that validates also computes (a huge activity window broke every run)', () => {
    for (const [yaml, path] of [
      ['contacts: { activity_days: 200000000 }', 'contacts.activity_days'],
      ['definitions: { score: { recency_half_life_days: 1e12 } }', 'definitions.score.recency_half_life_days'],
      ['definitions: { influenced: { min_touches: 1e9 } }', 'definitions.influenced.min_touches'],
    ] as const) {
      const r = parseRules(`${MIN}${yaml}\n`);
      expect(!r.ok && r.issues.map((i) => i.path), yaml).toEqual([path]);
    }
  });

  it('custom position weights must sum to 1', () => {
    const r = parseRules(`${MIN}models: { custom: { first_touch: 0.5, other: 0.4 } }\n`);
    expect(!r.ok && r.issues[0]?.message).toBe('position weights must sum to 1');
  });
});

describe('rules version', () => {
  it('ignores comments, key order and spelled-out defaults; changes with meaning', async () => {
    const a = await loadRules(MIN);
    const b = await loadRules(`# comment\ntouchpoints:\n  "github.*": { weight: 1, channel: github }\nstages: [aware, engaged]\nversion: 1\nscope: deal_contacts\n`);
    const c = await loadRules(MIN.replace('channel: github', 'channel: code'));
    if (!a.ok || !b.ok || !c.ok) throw new Error('fixtures must parse');
    expect(a.value.version).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b.value.version).toBe(a.value.version);
    expect(c.value.version).not.toBe(a.value.version);
  });
  it('canonical form sorts keys recursively and hashes as SHA-256', async () => {
    expect(canonicalString({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[2,{"y":2,"z":1}]},"b":1}');
    // sha256('{}') — a fixed vector, so the hashing itself is checked.
    expect(await rulesVersion({})).toBe('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  });
});

describe('field mappings', () => {
  it('the shipped HubSpot and Salesforce mappings parse and agree with the rules stages', () => {
    const rules = parseRules(mappingFile('rules.yaml'));
    if (!rules.ok) throw new Error('rules must parse');
    for (const name of ['hubspot.yaml', 'salesforce.yaml']) {
      const text = mappingFile(name);
      const m = parseFieldMapping(text, name);
      if (!m.ok) throw new Error(m.issues.map(formatIssue).join('\n'));
      expect(m.value.fields.find((f) => f.output === 'influenced')?.type).toBe('bool');
      expect(crossCheck(text, name, m.value, rules.value)).toEqual([]);
    }
  });

  it('rejects unknown outputs, wrong types, non-__c Salesforce names, with positions', () => {
    const text = `crm: salesforce
fields:
  - { object: deal, output: influenced, name: Community_Influenced, label: X, type: bool }
  - { object: deal, output: influence, name: A__c, label: X, type: number }
  - { object: contact, output: stage, name: B__c, label: X, type: number }
`;
    const m = parseFieldMapping(text, 'sf.yaml');
    expect(m.ok).toBe(false);
    if (m.ok) return;
    expect(m.issues.map((i) => `${i.line}:${i.column} ${i.path}`)).toEqual(['3:47 fields.0.name', '4:29 fields.1.output', '5:67 fields.2.type']);
    expect(m.issues[1]?.message).toContain('unknown deal output "influence"; expected one of: influenced,');
  });

  it('refuses channels as an enumeration: several channels joined by ";" fit no single-select', () => {
    const m = parseFieldMapping(`crm: hubspot
fields:
  - { object: contact, output: channels, name: community_channels, label: C, type: enumeration, options: [github, slack] }
`, 'h.yaml');
    expect(m.ok).toBe(false);
    if (m.ok) return;
    expect(m.issues.map((i) => `${i.path}: ${i.message}`)).toEqual(['fields.0.type: output "channels" is written as string, not enumeration']);
  });

  it('cross-checks stage options against the rules', () => {
    const rules = parseRules(MIN);
    const text = `crm: hubspot
fields:
  - { object: contact, output: stage, name: community_stage, label: S, type: enumeration, options: [aware] }
`;
    const m = parseFieldMapping(text, 'h.yaml');
    if (!m.ok || !rules.ok) throw new Error('fixtures must parse');
    expect(crossCheck(text, 'h.yaml', m.value, rules.value).map(formatIssue)).toEqual([
      'h.yaml:3:100 fields.0.options: options must include every stage of rules.yaml; missing: engaged',
    ]);
  });
});

describe('YAML that parses but has no value', () => {
  it('an alias to a missing anchor is an issue, not an exception (found by the fuzzer)', () => {
    const r = parseRules('*missing', 'rules.yaml');
    expect(r.ok).toBe(false);
  });
});

/**
 * `npm run mappings:check`: validates every file in mappings/ (rules, hubspot, salesforce, identity, segments): the
 * Worker compiles all five in, so an invalid one must fail here and in CI, not at run time. Prints `file:line:column path: message` per problem (the format editors and CI annotate) and exits 1 on any.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseIdentityConfig } from '../src/identity/config';
import { crossCheck, formatIssue, loadRules, parseFieldMapping, type SourceIssue } from '../src/rules/index';
import { parseSegments } from '../src/segments/index';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// `--dir <folder>` checks another folder (used to try edits before copying them in); default: the project's mappings/.
const dirArg = process.argv.indexOf('--dir');
const dir = dirArg > 0 && process.argv[dirArg + 1] ? process.argv[dirArg + 1] ?? '' : join(root, 'mappings');
const show = (p: string) => relative(process.cwd(), p) || p;

function readIfPresent(path: string, issues: SourceIssue[]): string | null {
  if (existsSync(path)) return readFileSync(path, 'utf8');
  issues.push({ file: show(path), line: 1, column: 1, path: '(root)', message: 'file is missing' });
  return null;
}

async function main(): Promise<number> {
  const issues: SourceIssue[] = [];
  const rulesPath = join(dir, 'rules.yaml');
  const rulesText = readFileSync(rulesPath, 'utf8');
  const rules = await loadRules(rulesText, show(rulesPath));
  if (rules.ok) console.log(`ok   ${show(rulesPath)}  version ${rules.value.version}`);
  else issues.push(...rules.issues);

  for (const name of ['hubspot.yaml', 'salesforce.yaml']) {
    const path = join(dir, name);
    const text = readIfPresent(path, issues);
    if (text === null) continue;
    const m = parseFieldMapping(text, show(path));
    if (!m.ok) {
      issues.push(...m.issues);
      continue;
    }
    const cross = rules.ok ? crossCheck(text, show(path), m.value, rules.value.rules) : [];
    issues.push(...cross);
    if (!cross.length) console.log(`ok   ${show(path)}  ${m.value.fields.length} fields (${m.value.crm})`);
  }

  const identityPath = join(dir, 'identity.yaml');
  const identityText = readIfPresent(identityPath, issues);
  if (identityText !== null) {
    const identity = parseIdentityConfig(identityText, show(identityPath));
    if (identity.ok) console.log(`ok   ${show(identityPath)}  ${identity.config.organisation.domains.length} organisation domain(s)`);
    else issues.push(...identity.issues);
  }

  const segmentsPath = join(dir, 'segments.yaml');
  const segmentsText = readIfPresent(segmentsPath, issues);
  if (segmentsText !== null) {
    const segments = parseSegments(segmentsText, show(segmentsPath));
    if (segments.ok) console.log(`ok   ${show(segmentsPath)}  ${segments.value.segments.length} segments, ${segments.value.personas.length} personas`);
    else issues.push(...segments.issues);
  }

  for (const i of issues) console.error(formatIssue(i));
  if (issues.length) console.error(`${issues.length} problem(s)`);
  return issues.length ? 1 : 0;
}

process.exitCode = await main();

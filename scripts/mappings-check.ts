/**
 * `npm run mappings:check`: validates mappings/rules.yaml, mappings/hubspot.yaml and mappings/salesforce.yaml.
 * Prints `file:line:column path: message` per problem (the format editors and CI annotate) and exits 1 on any.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crossCheck, formatIssue, loadRules, parseFieldMapping, type SourceIssue } from '../src/rules/index';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// `--dir <folder>` checks another folder (used to try edits before copying them in); default: the project's mappings/.
const dirArg = process.argv.indexOf('--dir');
const dir = dirArg > 0 && process.argv[dirArg + 1] ? process.argv[dirArg + 1] ?? '' : join(root, 'mappings');
const show = (p: string) => relative(process.cwd(), p) || p;

async function main(): Promise<number> {
  const issues: SourceIssue[] = [];
  const rulesPath = join(dir, 'rules.yaml');
  const rulesText = readFileSync(rulesPath, 'utf8');
  const rules = await loadRules(rulesText, show(rulesPath));
  if (rules.ok) console.log(`ok   ${show(rulesPath)}  version ${rules.value.version}`);
  else issues.push(...rules.issues);

  for (const name of ['hubspot.yaml', 'salesforce.yaml']) {
    const path = join(dir, name);
    if (!existsSync(path)) {
      issues.push({ file: show(path), line: 1, column: 1, path: '(root)', message: 'file is missing' });
      continue;
    }
    const text = readFileSync(path, 'utf8');
    const m = parseFieldMapping(text, show(path));
    if (!m.ok) {
      issues.push(...m.issues);
      continue;
    }
    const cross = rules.ok ? crossCheck(text, show(path), m.value, rules.value.rules) : [];
    issues.push(...cross);
    if (!cross.length) console.log(`ok   ${show(path)}  ${m.value.fields.length} fields (${m.value.crm})`);
  }
  for (const i of issues) console.error(formatIssue(i));
  if (issues.length) console.error(`${issues.length} problem(s)`);
  return issues.length ? 1 : 0;
}

process.exitCode = await main();

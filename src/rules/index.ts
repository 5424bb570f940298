import { parseYaml, type ParseResult } from './parse';
import { rulesSchema, type Rules } from './schema';
import { rulesVersion } from './version';

export { formatIssue, issueAt, parseYaml, type ParseResult, type SourceIssue } from './parse';
export { crossCheck, parseFieldMapping, fieldMappingSchema } from './mapping';
export { canonicalString, rulesVersion } from './version';
export { MODEL_NAMES, RULE_BASED_MODELS, rulesSchema, type ModelName, type PositionWeights, type Rules } from './schema';
export { addDiff, emptyDiff, movedAmount, previewDiff, previewRow, type PreviewDiff, type PreviewRow, type RunningDiff } from './preview';

/** Parses and validates rules.yaml text. */
export function parseRules(text: string, file = 'rules.yaml'): ParseResult<Rules> {
  return parseYaml(text, rulesSchema, file);
}

/** Parses rules and computes their version; the version hashes the parsed (defaulted) rules, not the text. */
export async function loadRules(text: string, file = 'rules.yaml'): Promise<ParseResult<{ rules: Rules; version: string }>> {
  const r = parseRules(text, file);
  if (!r.ok) return r;
  return { ok: true, value: { rules: r.value, version: await rulesVersion(r.value) } };
}

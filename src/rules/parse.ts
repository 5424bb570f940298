import { isMap, isNode, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';

/** One problem in a YAML file, located so an editor (or a RevOps person) can jump to it. */
export interface SourceIssue {
  file: string;
  line: number;
  column: number;
  /** Dotted field path, e.g. `touchpoints.github.star.weight`; `(root)` for the document itself. */
  path: string;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: SourceIssue[] };

/**
 * `window.lookback_days`, `fields.3.name`; keys that contain dots (activity types) are quoted so the path stays
 * unambiguous: `touchpoints["github.star"].weight`.
 */
export function fieldPath(path: readonly PropertyKey[]): string {
  if (!path.length) return '(root)';
  return path
    .map((seg, i) => {
      const k = String(seg);
      if (/^[A-Za-z0-9_-]+$/.test(k)) return i === 0 ? k : `.${k}`;
      return `[${JSON.stringify(k)}]`;
    })
    .join('');
}

/** `file:line:column path: message`, the format compilers use, so terminals and CI annotate it. */
export function formatIssue(i: SourceIssue): string {
  return `${i.file}:${i.line}:${i.column} ${i.path}: ${i.message}`;
}

/**
 * Parses YAML text and validates it with a zod schema; every issue (YAML syntax or schema) carries file:line:column.
 * Pure: text in, value or issues out.
 */
export function parseYaml<S extends z.ZodType>(text: string, schema: S, file: string): ParseResult<z.output<S>> {
  const lineCounter = new LineCounter();
  // The library's own duplicate-key check compares every key with every earlier one: 4 s for 20,000 keys.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const at = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({ file, ...at(e.pos[0]), path: '(yaml)', message: e.message.split('\n')[0] ?? e.message })),
    };
  }
  const duplicates = duplicateKeys(doc);
  if (duplicates.length) {
    return { ok: false, issues: duplicates.map((d) => ({ file, ...at(d.offset), path: '(yaml)', message: `Map keys must be unique ("${d.key}" is repeated)` })) };
  }
  let js: unknown;
  try {
    js = doc.toJS();
  } catch (e) {
    // e.g. an alias (*name) to an anchor that does not exist: valid syntax, no value.
    return { ok: false, issues: [{ file, line: 1, column: 1, path: '(yaml)', message: e instanceof Error ? e.message : String(e) }] };
  }
  const result = schema.safeParse(js);
  if (result.success) return { ok: true, value: result.data };
  const issues = result.error.issues.map((issue): SourceIssue => {
    const keys = 'keys' in issue && Array.isArray(issue.keys) ? issue.keys.filter((k): k is string => typeof k === 'string') : [];
    const located = locate(doc, issue.path, keys[0]);
    return {
      file,
      ...at(located.offset),
      path: fieldPath(issue.path),
      message: describe(issue, located.missing),
    };
  });
  return { ok: false, issues };
}

/** Repeated scalar keys in any mapping, found with one set per mapping (linear in the document). */
function duplicateKeys(doc: Document): { key: string; offset: number }[] {
  const found: { key: string; offset: number }[] = [];
  const stack: unknown[] = [doc.contents];
  while (stack.length && found.length < 20) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          const key = String(pair.key.value);
          if (seen.has(key)) found.push({ key, offset: rangeStart(pair.key) ?? 0 });
          seen.add(key);
        }
        stack.push(pair.value);
      }
    } else if (isNode(node) && 'items' in node && Array.isArray(node.items)) {
      stack.push(...node.items);
    }
  }
  return found.sort((a, b) => a.offset - b.offset);
}

/** Adds what was expected/found to zod's message where zod leaves it implicit. */
function describe(issue: z.core.$ZodIssue, missing: boolean): string {
  if (issue.code === 'unrecognized_keys') return `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (missing && issue.code === 'invalid_type') return `required field is missing (expected ${issue.expected})`;
  return issue.message;
}

/**
 * Finds the node for a zod issue path. Missing fields point at their parent (the deepest node that exists); an unknown
 * key points at the key itself.
 */
function locate(doc: Document, path: readonly PropertyKey[], unknownKey?: string): { offset: number; missing: boolean } {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const seg of path) {
    const next = isNode(node) ? childOf(node, seg) : undefined;
    if (next === undefined) return { offset, missing: true };
    node = next.value;
    offset = next.offset;
  }
  if (unknownKey !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === unknownKey);
    const o = pair ? rangeStart(pair.key) : undefined;
    if (o !== undefined) return { offset: o, missing: false };
  }
  return { offset, missing: false };
}

function childOf(node: Node, seg: PropertyKey): { value: unknown; offset: number } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
    if (!pair) return undefined;
    // Point at the value when there is one (where the wrong thing is), else at the key.
    const offset = rangeStart(pair.value) ?? rangeStart(pair.key) ?? 0;
    return { value: pair.value, offset };
  }
  if ('items' in node && Array.isArray(node.items) && typeof seg === 'number') {
    const item: unknown = node.items[seg];
    const offset = rangeStart(item);
    return offset === undefined ? undefined : { value: item, offset };
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  return isNode(node) && node.range ? node.range[0] : undefined;
}

/** Locates an issue found after parsing (e.g. a cross-file check) at its path in the YAML text. */
export function issueAt(text: string, file: string, path: readonly (string | number)[], message: string): SourceIssue {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const p = lineCounter.linePos(locate(doc, path).offset);
  return { file, line: p.line, column: p.col, path: fieldPath(path), message };
}

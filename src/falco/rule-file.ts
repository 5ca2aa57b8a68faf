// Reads one Falco rules file: YAML (one or more documents), each a sequence
// of items — a rule, macro, list or required_engine_version — kept with the
// line it starts on, so problems can say where they are.
// Two parsers: js-yaml for the common well-formed file (4-5× faster cold, the
// bulk of a large file's load time), and `yaml`'s document model, which knows
// every node's position, for a file js-yaml refuses or whose item lines a scan
// cannot place. Both read YAML 1.2's core schema, duplicate keys last-wins.
import { createRequire } from 'node:module';
import jsYaml from 'js-yaml';

export interface RawItem {
  /** The item's mapping as plain data. */
  data: Record<string, unknown>;
  file: string;
  line: number;
}

/** Where a problem is: the file, the line of its item, the rule/macro/list it is about. */
export interface Problem {
  file: string;
  line?: number;
  /** "rule Disallowed SSH Connection", "macro open_write", "list shell_binaries". */
  item?: string;
  message: string;
}

export const problemText = (p: Problem) => `${p.file}${p.line ? `:${p.line}` : ''}: ${p.item ? `${p.item}: ` : ''}${p.message}`;

export function readRuleFile(file: string, text: string): { items: RawItem[]; errors: Problem[] } {
  return readFast(file, text) ?? readWithPositions(file, text);
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * js-yaml, with each item's line from a scan for top-level "- " lines;
 * undefined (use the slow path) unless every document is a list of mappings
 * and the scan found exactly one start line per item.
 */
function readFast(file: string, text: string): { items: RawItem[]; errors: Problem[] } | undefined {
  let docs: unknown[];
  try {
    docs = jsYaml.loadAll(text, undefined, { schema: jsYaml.CORE_SCHEMA, json: true });
  } catch {
    return undefined;
  }
  const mappings: Record<string, unknown>[] = [];
  for (const doc of docs) {
    if (doc === null || doc === undefined) continue;
    if (!Array.isArray(doc)) return undefined;
    for (const item of doc) {
      if (!isMapping(item)) return undefined;
      mappings.push(item);
    }
  }
  const starts = itemStartLines(text);
  if (starts.length !== mappings.length) return undefined;
  return { items: mappings.map((data, i) => ({ data, file, line: starts[i]! })), errors: [] };
}

/** 1-based lines that start a top-level sequence item ("- " at column 0). */
function itemStartLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let from = 0;
  for (const m of text.matchAll(/^-(?:[ \t]|\r?$)/gm)) {
    for (let i = text.indexOf('\n', from); i !== -1 && i < m.index; i = text.indexOf('\n', i + 1)) line++;
    from = m.index;
    lines.push(line);
  }
  return lines;
}

// Loaded only when needed: importing it costs as much as parsing a small file.
const requireHere = createRequire(import.meta.url);
let yamlLib: typeof import('yaml') | undefined;

/** The slow path alone (tests compare it with the fast one). */
export function readWithPositions(file: string, text: string): { items: RawItem[]; errors: Problem[] } {
  const { isMap, isSeq, LineCounter, parseAllDocuments } = (yamlLib ??= requireHere('yaml') as typeof import('yaml'));
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const items: RawItem[] = [];
  const errors: Problem[] = [];
  const docList = Array.isArray(docs) ? docs : [docs];
  for (const doc of docList) {
    for (const err of doc.errors) {
      errors.push({ file, line: lines.linePos(err.pos[0]).line, message: `invalid YAML: ${err.message.split('\n')[0]}` });
    }
    if (doc.errors.length) continue;
    const root = doc.contents;
    if (root === null || root === undefined) continue;
    if (!isSeq(root)) {
      errors.push({
        file,
        line: lines.linePos(root.range?.[0] ?? 0).line,
        message: 'a rules file is a YAML list of items (- rule: ..., - macro: ..., - list: ...)',
      });
      continue;
    }
    for (const node of root.items) {
      const line = lines.linePos((node as { range?: readonly number[] }).range?.[0] ?? 0).line;
      if (!isMap(node)) {
        errors.push({ file, line, message: 'each item is a mapping with rule, macro, list or required_engine_version' });
        continue;
      }
      items.push({ data: node.toJSON() as Record<string, unknown>, file, line });
    }
  }
  return { items, errors };
}

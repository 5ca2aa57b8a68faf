// Reads one Falco rules file: YAML (one or more documents), each a sequence
// of items — a rule, macro, list or required_engine_version — kept with the
// line it starts on, so problems can say where they are.
import { isMap, isSeq, LineCounter, parseAllDocuments } from 'yaml';

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

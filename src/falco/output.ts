// A rule's output line: %field (with [arg]) filled from the event, <NA> where
// the field has no value, as Falco prints it; the fields it names are kept
// apart for the JSON alert's output_fields.
import { lookupField, type FieldContext, type FieldDef, type FieldValue } from './fields.js';

const TOKEN = /%(?:\(([a-zA-Z][a-zA-Z0-9_.]*(?:\[[^\]]*\])?)\)|([a-zA-Z][a-zA-Z0-9_]*(?:\.[a-zA-Z0-9_]+)+)(?:\[([^\]]*)\])?)/g;

interface Part {
  text: string;
  field?: { key: string; def?: FieldDef; arg?: string };
}

export interface OutputFormat {
  render(c: FieldContext): { line: string; fields: Record<string, string | number | boolean | null> };
  /** Output fields Sherlock cannot fill (they print <NA>). */
  unavailable: string[];
}

export function renderValue(v: FieldValue): string {
  if (v === undefined) return '<NA>';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

export function compileOutput(format: string): OutputFormat {
  const parts: Part[] = [];
  const unavailable: string[] = [];
  let last = 0;
  for (const m of format.matchAll(TOKEN)) {
    if (m.index! > last) parts.push({ text: format.slice(last, m.index) });
    const paren = m[1];
    const [name, arg] = paren ? [paren.replace(/\[.*$/, ''), /\[(.*)\]$/.exec(paren)?.[1]] : [m[2]!, m[3]];
    const key = arg === undefined ? name : `${name}[${arg}]`;
    const found = lookupField(name, arg);
    if ('error' in found) {
      unavailable.push(key);
      parts.push({ text: '', field: { key } });
    } else parts.push({ text: '', field: { key, def: found.def, ...(found.arg !== undefined ? { arg: found.arg } : {}) } });
    last = m.index! + m[0].length;
  }
  if (last < format.length) parts.push({ text: format.slice(last) });
  return {
    unavailable,
    render(c) {
      let line = '';
      const fields: Record<string, string | number | boolean | null> = {};
      for (const p of parts) {
        if (!p.field) {
          line += p.text;
          continue;
        }
        const v = p.field.def ? (p.field.arg !== undefined ? p.field.def.extract(c, p.field.arg) : p.field.def.extract(c)) : undefined;
        line += renderValue(v);
        fields[p.field.key] = v === undefined ? null : Array.isArray(v) ? v.join(',') : v;
      }
      return { line: line.replace(/\s+$/, ''), fields };
    },
  };
}

// Sentences about processes and lists, as findings and reports word them.
import { fmtCount } from './units.js';

/** "nginx (pid 412)", or "pid 412", or "an unknown process". */
export function processLabel(comm: unknown, pid: unknown): string {
  const name = typeof comm === 'string' && comm ? comm : '';
  const id = typeof pid === 'number' && pid > 0 ? pid : 0;
  if (name && id) return `${name} (pid ${id})`;
  if (name) return name;
  if (id) return `pid ${id}`;
  return 'an unknown process';
}

/** "127.0.0.1:5432 (postgres, pid 812)": an endpoint and the process serving it, when known. */
export function endpointLabel(endpoint: string, owner?: { comm?: unknown; pid?: unknown }): string {
  if (!owner) return endpoint;
  return `${endpoint} (${typeof owner.comm === 'string' && owner.comm ? owner.comm : '?'}, pid ${typeof owner.pid === 'number' ? owner.pid : '?'})`;
}

/** "a", "a and b", "a, b and 3 more". */
export function listText(items: string[], max = 3): string {
  if (items.length <= 1) return items[0] ?? '';
  if (items.length <= max) return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
  return `${items.slice(0, max - 1).join(', ')} and ${items.length - max + 1} more`;
}

export const plural = (n: number, one: string, many = `${one}s`): string => `${fmtCount(n)} ${n === 1 ? one : many}`;

/** Three decimals, for evidence numbers. */
export const round = (n: number) => Math.round(n * 1000) / 1000;

export const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Operator names whose brackets are part of the name, kept out of the bracket count. */
const OPERATORS: [string, string][] = [
  ['operator()', 'operator\u0001'],
  ['operator<=>', 'operator\u0002'],
  ['operator<<=', 'operator\u0003'],
  ['operator<<', 'operator\u0004'],
  ['operator<=', 'operator\u0005'],
  ['operator<', 'operator\u0006'],
  ['operator>>=', 'operator\u0007'],
  ['operator>>', 'operator\u0008'],
  ['operator>=', 'operator\u000e'],
  ['operator>', 'operator\u000f'],
  ['operator->', 'operator\u0010'],
  ['(anonymous namespace)', '\u0011'],
];

/**
 * A demangled C++ or Rust function name as a sentence can hold it: no return
 * type, template arguments or parameter list ("v8::internal::Scavenger::
 * ScavengeObject", not its 150 characters). Evidence keeps the full name.
 */
export function shortFunction(name: string): string {
  if (!/[(<]/.test(name) || name.startsWith('[')) return name;
  let text = name;
  for (const [op, mark] of OPERATORS) text = text.replaceAll(op, mark);
  let out = '';
  let depth = 0;
  for (const c of text) {
    if (c === '<') depth++;
    else if (c === '>' && depth > 0) depth--;
    else if (c === '(' && depth === 0) break;
    else if (depth === 0) out += c;
  }
  // The return type before the name, at depth 0: "heap::Result v8::Scavenger::Scavenge".
  let short = out.trim().split(' ').at(-1) ?? '';
  for (const [op, mark] of OPERATORS) short = short.replaceAll(mark, op);
  return short || name;
}

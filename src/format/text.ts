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

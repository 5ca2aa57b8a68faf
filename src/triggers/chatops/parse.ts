// The /sherlock grammar, as a pure function: text in, a command (or the help
// with the closest runbook name) out. No I/O, so it is unit-tested alone.
//   /sherlock latency checkout 30s on web-1,web-2   (alias → runbook, bare word → service)
//   /sherlock run high-cpu pid=4242 30s on web-1
//   /sherlock status <run> | cancel <run> | runbooks | help
import { closestName } from '../../util/closest-name.js';
import { parseDuration } from '../../util/duration.js';
import { own } from '../../util/own.js';

export type ChatCommand =
  | { kind: 'run'; runbook: string; params: Record<string, string>; duration?: string; nodes?: string[] }
  | { kind: 'status'; run: string }
  | { kind: 'cancel'; run: string }
  | { kind: 'runbooks' }
  | { kind: 'help'; problem?: string; suggestion?: string };

export const DEFAULT_ALIASES: Readonly<Record<string, string>> = {
  latency: 'intermittent-latency',
  cpu: 'high-cpu',
  disk: 'disk-io',
  suspicious: 'suspicious-activity',
  health: 'health-check',
};

const MAX_TOKENS = 64;
const PARAM = /^([a-zA-Z][a-zA-Z0-9_]{0,62})=(.{1,500})$/;
const RUN_ID = /^[A-Za-z0-9_-]{1,100}$/;

function help(problem: string, word: string | undefined, names: string[]): ChatCommand {
  const suggestion = word ? closestName(word, names) : undefined;
  return { kind: 'help', problem, ...(suggestion ? { suggestion } : {}) };
}

/**
 * Parses the text after /sherlock. `runbooks` are the loaded runbook names,
 * `aliases` map a short word to one of them.
 */
export function parseCommand(text: string, runbooks: string[], aliases: Record<string, string> = DEFAULT_ALIASES): ChatCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const known = [...new Set([...runbooks, ...Object.keys(aliases)])];
  if (words.length === 0) return { kind: 'help' };
  if (words.length > MAX_TOKENS) return help(`too many words (at most ${MAX_TOKENS})`, undefined, known);
  const [verb, ...rest] = words as [string, ...string[]];
  const lower = verb.toLowerCase();
  if (lower === 'help') return { kind: 'help' };
  if (lower === 'runbooks') return rest.length ? help('"runbooks" takes no arguments', undefined, known) : { kind: 'runbooks' };
  if (lower === 'status' || lower === 'cancel') {
    if (rest.length !== 1 || !RUN_ID.test(rest[0]!)) return help(`"${lower}" takes one run id`, undefined, known);
    return { kind: lower, run: rest[0]! };
  }
  let runbook: string;
  let args: string[];
  if (lower === 'run') {
    const name = rest[0];
    if (!name) return help('"run" needs a runbook name', undefined, known);
    const resolved = runbooks.includes(name) ? name : own(aliases, name.toLowerCase());
    if (!resolved) return help(`unknown runbook "${name}"`, name, known);
    runbook = resolved;
    args = rest.slice(1);
  } else {
    const resolved = own(aliases, lower) ?? (runbooks.includes(lower) ? lower : undefined);
    if (!resolved) return help(`unknown command "${verb}"`, verb, known);
    runbook = resolved;
    args = rest;
  }
  const params: Record<string, string> = {};
  let duration: string | undefined;
  let nodes: string[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    const param = PARAM.exec(word);
    if (word.toLowerCase() === 'on') {
      const list = args[i + 1];
      if (!list || nodes) return help('"on" needs one comma-separated list of nodes', undefined, known);
      nodes = list.split(',').filter(Boolean);
      if (nodes.length === 0) return help('"on" needs at least one node', undefined, known);
      i++;
    } else if (param) {
      params[param[1]!] = param[2]!;
    } else if (parseDuration(word) !== undefined && /[a-z]$/i.test(word)) {
      if (duration) return help(`two durations ("${duration}" and "${word}")`, undefined, known);
      duration = word;
    } else if (params.service === undefined) {
      params.service = word;
    } else {
      return help(`unexpected "${word}" (write name=value for params, 30s for the window, "on web-1,web-2" for nodes)`, undefined, known);
    }
  }
  return { kind: 'run', runbook, params, ...(duration ? { duration } : {}), ...(nodes ? { nodes } : {}) };
}

export function helpText(runbooks: string[], aliases: Record<string, string>, command = '/sherlock'): string {
  const aliasList = Object.entries(aliases)
    .map(([a, r]) => `${a} → ${r}`)
    .join(', ');
  return [
    `*${command}* usage:`,
    `• \`${command} run <runbook> [name=value ...] [30s] [on node1,node2]\` start a runbook (all live nodes without "on")`,
    `• \`${command} <alias> [service] [30s] [on nodes]\` aliases: ${aliasList || 'none'}`,
    `• \`${command} status <run>\`, \`${command} cancel <run>\``,
    `• \`${command} runbooks\` list the runbooks, \`${command} help\` this text`,
    `Runbooks: ${runbooks.join(', ') || 'none loaded'}`,
  ].join('\n');
}

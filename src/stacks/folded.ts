// Brendan Gregg's folded stacks: one line per distinct stack, root first,
// "comm;frame;frame COUNT", identical stacks merged. The format has no escape
// for its separator, so ';' inside a name becomes ':' (as stackcollapse-perf
// does); line breaks become spaces.
import { cleanName, processName } from './names.js';
import type { StackProfile } from './types.js';

export interface FoldedOptions {
  /** Root frame "comm-pid" instead of "comm" (processes of one name kept apart). */
  includePid?: boolean;
  /** Suffix kernel frames "_[k]" and JIT frames "_[j]", as flamegraph.pl --color=java reads them. */
  annotate?: boolean;
}

export function foldedFrame(name: string): string {
  return cleanName(name).replaceAll(';', ':');
}

/** Distinct stacks and their summed values, keyed by the folded stack text. */
export function foldStacks(profile: StackProfile, options: FoldedOptions = {}): Map<string, number> {
  const stacks = new Map<string, number>();
  for (const sample of profile.samples) {
    if (!(sample.value > 0)) continue;
    const parts = [foldedFrame(processName(sample, options.includePid ?? false))];
    for (const frame of sample.frames) {
      let name = foldedFrame(frame.name);
      if (options.annotate && frame.kind === 'kernel') name += '_[k]';
      else if (options.annotate && frame.kind === 'jit') name += '_[j]';
      parts.push(name);
    }
    const key = parts.join(';');
    stacks.set(key, (stacks.get(key) ?? 0) + sample.value);
  }
  return stacks;
}

/** The folded text: lines sorted, each "stack value", ending with a newline (empty string for no samples). */
export function toFolded(profile: StackProfile, options: FoldedOptions = {}): string {
  const stacks = foldStacks(profile, options);
  const keys = [...stacks.keys()].sort();
  return keys.map((k) => `${k} ${stacks.get(k)}\n`).join('');
}

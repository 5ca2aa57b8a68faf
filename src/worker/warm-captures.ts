// Which objects a worker keeps loaded between runs (the warm pool): each chosen
// capture with its default settings, host-wide (Sherlock's own cgroup left out),
// within a kernel memory budget (every capture host-wide is ~130 MiB, most of it
// the stack captures' maps). Other settings (a pid list, a unit, other params)
// are learned: a run that missed leaves its settings warm for the next.
import { captures } from '../captures/registry.js';
import type { ObjectSettings } from '../captures/open-configured.js';
import type { OwnCgroup } from './own-cgroup.js';

/** `all`, `none` or capture names, comma-separated (--warm / SHERLOCK_WARM). */
export function warmCaptureNames(choice: string): string[] {
  const bpfCaptures = [...captures.values()].filter((d) => d.collect).map((d) => d.name);
  const text = choice.trim();
  if (text === 'all' || text === '') return bpfCaptures;
  if (text === 'none') return [];
  const names = text
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !bpfCaptures.includes(n));
  if (unknown.length) {
    throw new RangeError(`--warm takes all, none or capture names with a BPF object (${bpfCaptures.join(', ')}); unknown: ${unknown.join(', ')}`);
  }
  return names;
}

/** Kernel memory the warm objects may hold together (the stack captures are ~30 MiB each). */
export const WARM_POOL_MAX_MIB = 160;

export function warmSettings(names: readonly string[], own?: OwnCgroup): ObjectSettings[] {
  return names.flatMap((name) => {
    const def = captures.get(name);
    if (!def) return [];
    const params: unknown = def.params.parse({});
    return [{ def, params, target: { description: 'all processes' }, ...(own ? { excludeCgroupId: own.id } : {}) }];
  });
}

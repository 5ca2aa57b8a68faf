// Which objects a worker keeps loaded between runs (the warm pool): each chosen
// capture with its default settings, host-wide (Sherlock's own cgroup left out),
// within a kernel memory budget (every capture host-wide is ~130 MiB, most of it
// the stack captures' maps). Other settings (a pid list, a unit, other params)
// are learned: a run that missed leaves its settings warm for the next.
// Only the captures' setups are imported (no decoders, analysis or schemas: an idle worker's memory).
import { CAPTURE_NAMES, loadSetup } from '../captures/capture-names.js';
import type { CaptureSetup } from '../captures/capture.js';
import type { ObjectSettings } from '../captures/open-configured.js';
import type { OwnCgroup } from './own-cgroup.js';

const setups = async (): Promise<CaptureSetup[]> => (await Promise.all(CAPTURE_NAMES.map(loadSetup))).filter((s) => s !== undefined);

/** `all`, `none` or capture names, comma-separated (--warm / SHERLOCK_WARM). */
export async function warmCaptureNames(choice: string): Promise<string[]> {
  const bpfCaptures = (await setups()).filter((s) => s.bpfObject).map((s) => s.name);
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

export async function warmSettings(names: readonly string[], own?: OwnCgroup): Promise<ObjectSettings[]> {
  const chosen = (await setups()).filter((s) => names.includes(s.name));
  return chosen.map((def) => ({ def, params: def.defaults, target: { description: 'all processes' }, ...(own ? { excludeCgroupId: own.id } : {}) }));
}

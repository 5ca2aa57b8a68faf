// A capture's object opened with one run's settings (standard filters, then the
// capture's own configure): what decides which programs and maps get loaded.
// Shared by a run's cold start and the warm pool, so both load the same thing.
import { BpfObject } from '../libbpf/index.js';
import { bpfObjectPath, minimalBtfPath } from '../util/paths.js';
import type { CaptureSetup } from './capture.js';
import { applyFilterSettings, filterSettings } from './contract.js';
import type { ResolvedTarget } from './target.js';

/** One capture with the settings a run asks for (params already parsed with their defaults). */
export interface ObjectSettings<P = unknown> {
  /** The capture's setup (a definition is one too). */
  def: CaptureSetup<P>;
  params: P;
  target: ResolvedTarget;
  /** Sherlock's own cgroup, left out of host-wide captures. */
  excludeCgroupId?: bigint;
}

/** Opens and configures; not loaded yet. Closed again if a setting is refused. */
export function openConfigured<P>({ def, params, target, excludeCgroupId }: ObjectSettings<P>): BpfObject {
  const object = BpfObject.open(bpfObjectPath(def.name), { btfCustomPath: minimalBtfPath(def.name) });
  try {
    applyFilterSettings(object, target, def.followForks ?? false, excludeCgroupId);
    def.configure?.(object, params, target);
    return object;
  } catch (err) {
    object.close();
    throw err;
  }
}

/**
 * The same settings without the tgid values (they are filled into a map after
 * load, so one loaded object serves any pid list): what a warm object is for.
 */
export function settingsKey({ def, params, target, excludeCgroupId }: ObjectSettings): string {
  const filters = filterSettings(target, def.followForks ?? false, excludeCgroupId);
  return JSON.stringify([def.name, params, filters], (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));
}

/** A target of the same shape with no tgids yet: what a warm object is configured with. */
export function targetShape(target: ResolvedTarget): ResolvedTarget {
  return target.tgids ? { ...target, tgids: [] } : target;
}

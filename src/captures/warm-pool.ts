// Captures' BPF objects opened, configured and verified ahead of a run, so that
// starting a run only attaches (the verifier takes 5–50 ms an object). A warm
// object has no program attached: it costs kernel memory (memory()), no CPU;
// its perf events (profile's) are open but disabled, linked to the program.
// Each object serves one run (its maps then hold that run's data), so a taken
// object is replaced in the background, after the run's start.
import type { BpfObject } from '../libbpf/index.js';
import { createLogger } from '../util/logger.js';
import { openConfigured, settingsKey, targetShape, type ObjectSettings } from './open-configured.js';

const log = createLogger({ component: 'warm-pool' });
/** A replacement loads no sooner than this after its take: the run's other attaches go first. */
const MIN_REFILL_DELAY_MS = 250;

export interface WarmPoolOptions {
  /** Loaded objects kept at most; past it, the settings used least recently go. */
  maxObjects?: number;
  /** Wait after a take before loading the replacement (keeps the verifier off the run's start). */
  refillDelayMs?: number;
  /** Kernel memory the loaded objects may hold together; an object that would go over it stays cold. */
  maxKernelBytes?: number;
}

interface Slot {
  settings: ObjectSettings;
  object?: BpfObject;
  filling: boolean;
  lastUsed: number;
  /** Cancels a fill still waiting for its delay. */
  cancel?: () => void;
}

export interface WarmPoolMemory {
  objects: number;
  /** Kernel memory of their maps and programs (memlock), bytes. */
  kernelBytes: number;
}

export class WarmPool {
  private readonly slots = new Map<string, Slot>(); // by settings fingerprint
  private readonly fingerprints = new Map<string, string>(); // settings key → fingerprint
  private loads: Promise<void> = Promise.resolve(); // one load at a time: the CPU belongs to the host
  private closed = false;
  private readonly maxObjects: number;
  private readonly refillDelayMs: number;
  private readonly maxKernelBytes: number;

  constructor(options: WarmPoolOptions = {}) {
    this.maxObjects = options.maxObjects ?? 48;
    this.refillDelayMs = options.refillDelayMs ?? 1_000;
    this.maxKernelBytes = options.maxKernelBytes ?? Number.POSITIVE_INFINITY;
  }

  /** Keeps objects with these settings loaded; resolves once each was tried (failures are logged). */
  async warm(list: ObjectSettings[]): Promise<void> {
    await Promise.all(list.map((settings) => this.want(settings, 0)));
  }

  /**
   * A loaded object with exactly these settings, now owned by the caller; undefined on a miss. Its
   * replacement loads while the run's window is open and its captures only wait: refillDelayMs after
   * the take, or halfway through a shorter window (a 1 s window's refill landed on its end, when a
   * fan-out's nodes all store at once: 50 verifier loads beside the storing).
   */
  take(settings: ObjectSettings, windowMs = Number.POSITIVE_INFINITY): BpfObject | undefined {
    const fingerprint = this.fingerprints.get(settingsKey(settings));
    const slot = fingerprint ? this.slots.get(fingerprint) : undefined;
    if (!slot) return undefined;
    slot.lastUsed = Date.now();
    const object = slot.object;
    slot.object = undefined;
    void this.fill(slot, Math.min(this.refillDelayMs, Math.max(MIN_REFILL_DELAY_MS, windowMs / 2)));
    return object;
  }

  /**
   * After a miss: the run opened and configured `object` itself. Its settings
   * are kept warm from now on, so the next run that asks for them only attaches.
   */
  remember(settings: ObjectSettings, object: BpfObject): void {
    if (this.closed) return;
    const key = settingsKey(settings);
    const fingerprint = object.settingsFingerprint();
    this.fingerprints.set(key, fingerprint);
    if (this.slots.has(fingerprint)) return;
    void this.want(settings, this.refillDelayMs, fingerprint);
  }

  /** Resolves once no object is waiting to be loaded (benchmarks, tests). */
  async settled(): Promise<void> {
    while (!this.closed && [...this.slots.values()].some((s) => s.filling)) {
      await this.loads;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  memory(): WarmPoolMemory {
    const loaded = [...this.slots.values()].flatMap((s) => (s.object?.isLoaded ? [s.object] : []));
    return { objects: loaded.length, kernelBytes: loaded.reduce((sum, o) => sum + o.kernelMemoryBytes(), 0) };
  }

  /** Frees every warm object; loads in flight are freed when they return. */
  async close(): Promise<void> {
    this.closed = true;
    for (const slot of this.slots.values()) {
      slot.cancel?.();
      slot.object?.close();
      slot.object = undefined;
    }
    this.slots.clear();
    await this.loads;
  }

  private async want(settings: ObjectSettings, delayMs: number, knownFingerprint?: string): Promise<void> {
    const shaped = { ...settings, target: targetShape(settings.target) };
    let fingerprint = knownFingerprint;
    if (!fingerprint) {
      let probe: BpfObject;
      try {
        probe = openConfigured(shaped);
      } catch (err) {
        log.info('not kept warm', { capture: settings.def.name, reason: (err as Error).message });
        return;
      }
      fingerprint = probe.settingsFingerprint();
      probe.close();
      this.fingerprints.set(settingsKey(settings), fingerprint);
    }
    if (this.slots.has(fingerprint)) return;
    this.evictFor(1);
    const slot: Slot = { settings: shaped, filling: false, lastUsed: Date.now() };
    this.slots.set(fingerprint, slot);
    await this.fill(slot, delayMs);
  }

  private evictFor(count: number): void {
    while (this.slots.size + count > this.maxObjects) {
      const [oldest] = [...this.slots.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed);
      if (!oldest) return;
      oldest[1].cancel?.();
      oldest[1].object?.close();
      this.slots.delete(oldest[0]);
    }
  }

  private fill(slot: Slot, delayMs: number): Promise<void> {
    if (slot.filling || slot.object || this.closed) return Promise.resolve();
    slot.filling = true;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        slot.cancel = undefined;
        this.loads = this.loads.then(() => this.load(slot)).finally(resolve);
      }, delayMs);
      timer.unref();
      slot.cancel = () => {
        clearTimeout(timer);
        slot.filling = false;
        resolve();
      };
    });
  }

  private async load(slot: Slot): Promise<void> {
    const gone = () => this.closed || ![...this.slots.values()].includes(slot);
    if (gone()) return;
    let object: BpfObject | undefined;
    try {
      object = openConfigured(slot.settings);
      await object.loadAsync();
      // Perf events opened now, disabled: the run's attach only enables them.
      const { def, params } = slot.settings;
      if (def.perfEvent && !gone()) object.preparePerfEvents(def.perfEvent(params));
    } catch (err) {
      object?.close();
      // A capture this kernel cannot load stays cold: each run then says why.
      for (const [fingerprint, s] of this.slots) if (s === slot) this.slots.delete(fingerprint);
      log.info('not kept warm', { capture: slot.settings.def.name, reason: (err as Error).message.split('\n')[0] });
      return;
    } finally {
      slot.filling = false;
    }
    if (gone()) return object.close();
    const bytes = object.kernelMemoryBytes();
    if (this.memory().kernelBytes + bytes > this.maxKernelBytes) {
      object.close();
      for (const [fingerprint, s] of this.slots) if (s === slot) this.slots.delete(fingerprint);
      log.info('not kept warm: over the memory budget', { capture: slot.settings.def.name, kernelMiB: Math.round(bytes / 2 ** 18) / 4 });
      return;
    }
    slot.object = object;
  }
}

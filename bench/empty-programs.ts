// The floor under a capture's overhead: an empty BPF program on each hook the
// capture attaches to. What a workload costs under these is the kernel's
// dispatch alone (tracepoint, perf event); what Sherlock costs above it is its
// programs' own work. A target below the floor cannot be met by any program on
// those hooks, so the tracer comparison prints both.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaptureDefinition } from '../src/captures/capture.js';
import { openConfigured } from '../src/captures/open-configured.js';
import { resolveTarget } from '../src/captures/target.js';
import { BpfObject } from '../src/libbpf/index.js';
import type { TempDir } from './processes.js';

/** The sections a capture's run attaches (its default settings, whole host), and which of them run in a hook chain. */
function attachedSections(def: CaptureDefinition<any, any>): { section: string; chained: boolean }[] {
  const object = openConfigured({ def, params: def.defaults, target: resolveTarget() });
  try {
    // A bare SEC("tracepoint") is a tail-call target: loaded, never attached.
    const maps = new Set(object.spec.maps.filter((m) => m.type === 'prog_array').map((m) => m.name));
    return object.spec.programs
      .filter((p) => p.autoload && p.section !== 'tracepoint')
      .map((p) => ({ section: p.section, chained: maps.has(`${p.name}_next`) }));
  } finally {
    object.close();
  }
}

/** Compiles one object holding an empty program for every hook of `captures` (one per hook where they chain: one dispatch). */
export function compileEmptyPrograms(dir: TempDir, name: string, captures: CaptureDefinition<any, any>[]): string {
  const chainedHooks = new Set<string>();
  const sections = captures.flatMap(attachedSections).flatMap(({ section, chained }) => {
    if (!chained) return [section];
    if (chainedHooks.has(section)) return [];
    chainedHooks.add(section);
    return [section];
  });
  const programs = sections.map((section, i) => `SEC("${section}") int empty_${i}(void *ctx) { return 0; }`);
  const source = join(dir.path, `${name}.bpf.c`);
  const object = join(dir.path, `${name}.bpf.o`);
  writeFileSync(source, ['#define SEC(name) __attribute__((section(name), used))', 'char LICENSE[] SEC("license") = "GPL";', ...programs, ''].join('\n'));
  execFileSync('clang', ['-O2', '-target', 'bpf', '-c', source, '-o', object], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60_000 });
  return object;
}

/** Runs `work` with the empty programs attached (perf_event ones on the captures' own event); detaches after. */
export async function underEmptyPrograms<T>(path: string, captures: CaptureDefinition<any, any>[], work: () => Promise<T>): Promise<T> {
  const object = BpfObject.open(path);
  try {
    const perf = captures.find((c) => c.perfEvent);
    await object.loadAsync();
    await object.attachAllAsync(perf ? { perfEvent: perf.perfEvent!(perf.defaults) } : {});
    return await work();
  } finally {
    await object.detachAll();
    object.close();
  }
}

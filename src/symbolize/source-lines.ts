// File, line and inlined calls of user frames from DWARF, through LLVM's
// llvm-symbolizer (scripts/install-deps.sh installs llvm): one batch per
// module that has line information, in the file or in its separate debug
// file by build id (/usr/lib/debug/.build-id/xx/yyyy.debug). A frame whose
// address DWARF places in inlined code becomes the calls DWARF names, each
// its own frame marked `inlined`, the real function rootmost. Without the
// tool, or without DWARF, frames stay as they are.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import type { ElfFile } from './elf.js';
import { originOf } from './frame-origin.js';
import type { Frame } from './types.js';

/** Addresses per llvm-symbolizer run; and the time all runs of one capture may take (the collector waits for them). */
const BATCH = 20_000;
const BUDGET_MS = 20_000;

export interface SourceLinesSummary {
  /** Modules whose DWARF was read. */
  modules: number;
  /** Frames given a file and line, and inlined frames added. */
  frames: number;
  inlined: number;
  /** Why no lines could be read (no llvm-symbolizer, a run that failed), when that happened. */
  problem?: string;
}

interface DwarfFrame {
  FunctionName?: string;
  FileName?: string;
  Line?: number;
}

/** One line of llvm-symbolizer's JSON output: an address's inline chain, or why it could not be read. */
interface SymbolizerLine {
  Symbol?: DwarfFrame[];
  Error?: { Message?: string };
}

let symbolizerPath: string | null | undefined;

/** llvm-symbolizer on PATH, or a versioned one from Debian's llvm-N packages. */
function findSymbolizer(): string | undefined {
  if (symbolizerPath !== undefined) return symbolizerPath ?? undefined;
  const dirs = (process.env.PATH ?? '/usr/bin').split(':').filter(Boolean);
  let found = dirs.map((d) => `${d}/llvm-symbolizer`).find((p) => existsSync(p));
  if (!found) {
    try {
      const versions = readdirSync('/usr/lib')
        .filter((d) => /^llvm-\d+$/.test(d))
        .sort((a, b) => Number(b.slice(5)) - Number(a.slice(5)));
      found = versions.map((v) => `/usr/lib/${v}/bin/llvm-symbolizer`).find((p) => existsSync(p));
    } catch {
      // no /usr/lib: not Debian
    }
  }
  symbolizerPath = found ?? null;
  return found;
}

const run = promisify(execFile);

/** llvm-symbolizer's output for addresses on its stdin (a child process: the event loop stays free while it reads DWARF). */
async function runSymbolizer(tool: string, path: string, batch: number[], timeoutMs: number): Promise<string> {
  const child = run(tool, ['--output-style=JSON', '--inlining', `--obj=${path}`], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 << 20 });
  child.child.stdin!.end(batch.map((v) => `0x${v.toString(16)}`).join('\n') + '\n');
  return (await child).stdout;
}

/** Inline chains of addresses in one DWARF file: innermost call first; [] where DWARF says nothing. */
async function symbolize(tool: string, path: string, vaddrs: number[], timeoutMs: number): Promise<DwarfFrame[][]> {
  const out: DwarfFrame[][] = [];
  for (let i = 0; i < vaddrs.length; i += BATCH) {
    const batch = vaddrs.slice(i, i + BATCH);
    const text = await runSymbolizer(tool, path, batch, timeoutMs);
    const lines = text.split('\n').filter((l) => l.startsWith('{'));
    let failed: string | undefined;
    for (let j = 0; j < batch.length; j++) {
      let chain: DwarfFrame[] = [];
      try {
        const parsed = JSON.parse(lines[j] ?? '{}') as SymbolizerLine;
        if (parsed.Error) failed ??= parsed.Error.Message ?? 'an error';
        chain = (parsed.Symbol ?? []).filter((f) => f.Line && f.FileName);
      } catch {
        // an unparsable line: no information for this address
      }
      out.push(chain);
    }
    // It reports a file it cannot read per address, and exits 0: said, not silently nothing.
    if (failed && out.slice(i).every((c) => !c.length)) throw new Error(failed);
  }
  return out;
}

/** The frames that stand for `frame` once DWARF is read, root first. */
function expand(frame: Frame, chain: DwarfFrame[]): Frame[] {
  if (!chain.length) return [frame];
  const outer = chain[chain.length - 1]!;
  const frames: Frame[] = [{ ...frame, file: outer.FileName!, line: outer.Line! }];
  for (let i = chain.length - 2; i >= 0; i--) {
    const f = chain[i]!;
    frames.push({
      name: f.FunctionName || '??',
      kind: frame.kind,
      ...(frame.module ? { module: frame.module } : {}),
      ...(frame.offset !== undefined ? { offset: frame.offset } : {}),
      ...(frame.buildId ? { buildId: frame.buildId } : {}),
      file: f.FileName!,
      line: f.Line!,
      inlined: true,
    });
  }
  return frames;
}

/**
 * Gives user frames their file and line and adds their inlined calls, in
 * place (each sample's frames array is replaced). Frames shared by samples
 * are looked up once.
 */
export async function addSourceLines(samples: { frames: Frame[] }[]): Promise<SourceLinesSummary> {
  const summary: SourceLinesSummary = { modules: 0, frames: 0, inlined: 0 };
  const byElf = new Map<ElfFile, Set<Frame>>();
  for (const s of samples)
    for (const f of s.frames) {
      const origin = f.kind === 'user' && !f.file ? originOf(f) : undefined;
      if (!origin) continue;
      let set = byElf.get(origin.elf);
      if (!set) byElf.set(origin.elf, (set = new Set()));
      set.add(f);
    }
  const replaced = new Map<Frame, Frame[]>();
  const until = Date.now() + BUDGET_MS;
  let skipped = 0;
  for (const [elf, frames] of byElf) {
    const path = elf.dwarfPath();
    if (!path) continue;
    if (Date.now() >= until) {
      skipped++;
      continue;
    }
    const tool = findSymbolizer();
    if (!tool) {
      summary.problem = 'llvm-symbolizer not found (install llvm): no file, line or inlined frames';
      break;
    }
    const list = [...frames];
    let chains: DwarfFrame[][];
    try {
      chains = await symbolize(
        tool,
        path,
        list.map((f) => originOf(f)!.vaddr),
        Math.max(1000, until - Date.now()),
      );
    } catch (err) {
      summary.problem = `llvm-symbolizer on ${elf.label}: ${(err as Error).message.split('\n')[0]}`;
      continue;
    }
    summary.modules++;
    list.forEach((f, i) => {
      const chain = chains[i] ?? [];
      if (!chain.length) return;
      summary.frames++;
      summary.inlined += chain.length - 1;
      replaced.set(f, expand(f, chain));
    });
  }
  if (skipped) summary.problem = `${skipped} modules with DWARF not read: past the ${BUDGET_MS / 1000} s budget for source lines`;
  if (replaced.size) for (const s of samples) if (s.frames.some((f) => replaced.has(f))) s.frames = s.frames.flatMap((f) => replaced.get(f) ?? [f]);
  return summary;
}

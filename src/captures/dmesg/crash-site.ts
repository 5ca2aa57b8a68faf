// Where a crash happened, from the kernel's line about it: "in
// order-parser[1445,55d0c7a4f000+1000]" gives the file's name (not its
// directory) and the faulting instruction's offset in it. The process is
// gone; the file is looked for where it can still be seen (a process mapping
// it now, a command line naming it, PATH and the library directories), then
// its symbols and DWARF name the function, its source line and the functions
// it was inlined into.
import { existsSync, readlinkSync, statSync } from 'node:fs';
import { basename, delimiter, isAbsolute, join } from 'node:path';
import { demangleAll } from '../../symbolize/demangle.js';
import { ElfFile } from '../../symbolize/elf.js';
import { rememberOrigin } from '../../symbolize/frame-origin.js';
import { parseMaps, vaddrOfFileOffset } from '../../symbolize/process-maps.js';
import { addSourceLines } from '../../symbolize/source-lines.js';
import type { Frame } from '../../symbolize/types.js';
import { readText } from '../../util/read-text.js';
import { allPids } from '../target-processes.js';

/** Processes whose maps and command lines are read looking for a file. */
const MAX_PROCESSES = 20_000;

export interface CrashSite {
  /** The file, as found on this host now: a running process's view (through its /proc/PID/root) or the host's. */
  path?: string;
  /** How it was found. */
  foundBy?: 'mapped by a running process' | 'named on a command line' | 'search path';
  /** The faulting instruction's offset in the file. */
  offset: number;
  function?: string;
  /** "parser.c:31" from DWARF. */
  source?: string;
  /** The functions the faulting code was inlined into, innermost first (the last is the real one). */
  inlinedInto?: string[];
}

/** The site of each file and offset (`file`, hex `offset`), found and symbolized once each. */
export async function crashSites(faults: { file: string; offset: number; comm: string }[]): Promise<Map<string, CrashSite>> {
  const sites = new Map<string, CrashSite>();
  const wanted: typeof faults = [];
  for (const f of faults) {
    if (sites.has(siteKey(f))) continue;
    sites.set(siteKey(f), { offset: f.offset });
    wanted.push(f);
  }
  if (!wanted.length) return sites;
  const paths = findFiles(new Map(wanted.map((f) => [f.file, f.comm])));
  for (const f of wanted) {
    const found = paths.get(f.file);
    const site = sites.get(siteKey(f))!;
    if (!found) continue;
    Object.assign(site, { path: found.path, foundBy: found.foundBy });
    await symbolize(found.hostPath, site);
  }
  return sites;
}

export const siteKey = (f: { file: string; offset: number }) => `${f.file}+${f.offset}`;

interface Found {
  path: string;
  /** The same file from here (through the process's root). */
  hostPath: string;
  foundBy: NonNullable<CrashSite['foundBy']>;
}

/** Each file name (with the comm of a process that crashed in it) to a file that exists now. */
function findFiles(names: Map<string, string>): Map<string, Found> {
  const found = new Map<string, Found>();
  const missing = () => [...names.keys()].filter((n) => !found.has(n));
  const take = (name: string, path: string, hostPath: string, foundBy: Found['foundBy']) => {
    // The host's own path when it is the same file: a /proc/PID/root path vanishes as that process exits
    // (a crash loop's instances live milliseconds), before llvm-symbolizer has read the file's lines.
    if (!found.has(name) && isFile(hostPath)) found.set(name, { path, hostPath: sameFile(path, hostPath) ? path : hostPath, foundBy });
  };
  // A library is mapped by this process too (libc); a program by its next instance, or by what runs the same comm.
  for (const m of parseMaps(readText('/proc/self/maps') ?? ''))
    if (names.has(basename(m.path))) take(basename(m.path), m.path, m.path, 'mapped by a running process');
  const pids = missing().length ? allPids(MAX_PROCESSES) : [];
  const comms = new Set(names.values());
  for (const pid of pids) {
    if (!missing().length) break;
    if (!comms.has((readText(`/proc/${pid}/comm`) ?? '').trim())) continue;
    for (const m of parseMaps(readText(`/proc/${pid}/maps`) ?? '')) {
      const name = basename(m.path);
      if (names.has(name) && m.path.startsWith('/')) take(name, m.path, `/proc/${pid}/root${m.path}`, 'mapped by a running process');
    }
  }
  // A supervisor or a shell loop that starts it has its path in its arguments ("-c", "/opt/x/bin/app --flag; ...").
  for (const pid of missing().length ? pids : []) {
    const args = (readText(`/proc/${pid}/cmdline`) ?? '').split(/[\0\s;&|()'"`=]+/);
    for (const arg of args) {
      const name = basename(arg);
      if (!names.has(name) || !arg.includes('/')) continue;
      const path = isAbsolute(arg) ? arg : join(readLink(`/proc/${pid}/cwd`) ?? '/', arg);
      take(name, path, `/proc/${pid}/root${path}`, 'named on a command line');
    }
    if (!missing().length) break;
  }
  for (const name of missing()) {
    const dir = searchPath().find((d) => isFile(join(d, name)));
    if (dir) take(name, join(dir, name), join(dir, name), 'search path');
  }
  return found;
}

/** PATH, then the usual program and library directories. */
function searchPath(): string[] {
  const triplet = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/local/sbin',
    '/usr/local/bin',
    '/usr/sbin',
    '/usr/bin',
    '/sbin',
    '/bin',
    `/lib/${triplet}`,
    `/usr/lib/${triplet}`,
    '/usr/local/lib',
    '/lib64',
    '/usr/lib64',
    '/lib',
    '/usr/lib',
  ];
  return [...new Set(dirs.filter((d) => isAbsolute(d)))];
}

async function symbolize(hostPath: string, site: CrashSite): Promise<void> {
  let elf: ElfFile;
  try {
    elf = ElfFile.open(hostPath, { locate: () => hostPath, debugCandidates: (id) => [`/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`] });
  } catch {
    return; // not an ELF file (a script's interpreter crashed: its own file is named) or unreadable
  }
  try {
    const vaddr = vaddrOfFileOffset(elf.segments, site.offset);
    const symbol = vaddr === undefined ? undefined : elf.lookup(vaddr);
    if (vaddr === undefined || !symbol) return;
    const frame: Frame = { name: symbol.name, kind: 'user', module: basename(hostPath), offset: site.offset };
    rememberOrigin(frame, { elf, vaddr });
    const sample = { frames: [frame] };
    await addSourceLines([sample]);
    // Root first: the function the symbol table names, then what DWARF says was inlined into it, the faulting code last.
    const names = demangleAll(sample.frames.map((f) => f.name));
    const leaf = sample.frames.at(-1)!;
    const callers = sample.frames.slice(0, -1).reverse();
    site.function = names.get(leaf.name) ?? leaf.name;
    if (leaf.file) site.source = `${basename(leaf.file)}:${leaf.line ?? '?'}`;
    if (callers.length) site.inlinedInto = callers.map((f) => names.get(f.name) ?? f.name);
  } finally {
    elf.close();
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    const [x, y] = [statSync(a), statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

const isFile = (path: string) => {
  try {
    return existsSync(path) && statSync(path).isFile();
  } catch {
    return false;
  }
};

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

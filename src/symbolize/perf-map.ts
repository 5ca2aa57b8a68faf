// JIT symbols from a perf map: /tmp/perf-PID.map, one "START SIZE NAME" line
// (hex, with or without 0x) per code object, appended as the JIT emits code
// (Node --perf-basic-prof, JVM perf-map-agent, .NET DOTNET_PerfMapEnabled).
// Read incrementally: refresh() parses only what was appended since. A later
// line for the same start wins (code was replaced there).
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';

export interface JitSymbol {
  name: string;
  start: number;
  size: number;
}

const CHUNK = 1 << 20;
/** How far back a lookup looks for an older, larger entry covering the address. */
const LOOK_BACK = 8;

export class PerfMap {
  private starts: number[] = [];
  private sizes: number[] = [];
  private names: string[] = [];
  /** Indices into the arrays above, by start ascending (then newest first); rebuilt after appends. */
  private order: Uint32Array | undefined;
  private bytesRead = 0;
  private pending = '';
  /** The path that worked, once one did. */
  private path: string | undefined;

  /**
   * @param candidates paths to try in order (the process's own view first, for containers)
   * @param notBeforeMs a file last written before this (epoch ms) belongs to an earlier process with the same pid
   */
  constructor(
    private readonly candidates: readonly string[],
    private readonly notBeforeMs = 0,
  ) {}

  get count(): number {
    return this.starts.length;
  }

  /** The file in use, once found. */
  get file(): string | undefined {
    return this.path;
  }

  /** Reads what was appended since the last call; returns whether any entry was added. Never throws. */
  refresh(): boolean {
    const before = this.starts.length;
    for (const path of this.path ? [this.path] : this.candidates) {
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch {
        continue;
      }
      try {
        const st = fstatSync(fd);
        if (!st.isFile() || st.mtimeMs < this.notBeforeMs) continue;
        if (!this.path) this.path = path;
        if (st.size < this.bytesRead) {
          this.reset(); // truncated and rewritten: start over
        }
        this.readFrom(fd, st.size);
      } catch {
        // unreadable now: keep what we have
      } finally {
        closeSync(fd);
      }
      break;
    }
    if (this.starts.length !== before) this.order = undefined;
    return this.starts.length !== before;
  }

  private reset(): void {
    this.starts = [];
    this.sizes = [];
    this.names = [];
    this.bytesRead = 0;
    this.pending = '';
    this.order = undefined;
  }

  private readFrom(fd: number, size: number): void {
    const buffer = Buffer.allocUnsafe(CHUNK);
    while (this.bytesRead < size) {
      const n = readSync(fd, buffer, 0, Math.min(CHUNK, size - this.bytesRead), this.bytesRead);
      if (n <= 0) break;
      this.bytesRead += n;
      const text = this.pending + buffer.toString('utf8', 0, n);
      const lastNewline = text.lastIndexOf('\n');
      if (lastNewline < 0) {
        this.pending = text; // a line still being written
        continue;
      }
      this.pending = text.slice(lastNewline + 1);
      this.parseLines(text.slice(0, lastNewline));
    }
  }

  private parseLines(text: string): void {
    for (const line of text.split('\n')) {
      const entry = parsePerfMapLine(line);
      if (!entry) continue;
      this.starts.push(entry.start);
      this.sizes.push(entry.size);
      this.names.push(entry.name);
    }
  }

  private sortedOrder(): Uint32Array {
    if (!this.order) {
      const starts = this.starts;
      const order = new Uint32Array(starts.length);
      for (let i = 0; i < order.length; i++) order[i] = i;
      // Start ascending; for equal starts the newest (highest index) first.
      order.sort((a, b) => (starts[a] as number) - (starts[b] as number) || b - a);
      this.order = order;
    }
    return this.order;
  }

  /** The newest entry covering `addr`. */
  lookup(addr: number): JitSymbol | undefined {
    if (this.starts.length === 0) return undefined;
    const order = this.sortedOrder();
    const starts = this.starts;
    let lo = 0;
    let hi = order.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[order[mid] as number] as number) <= addr) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    // Several entries may cover addr (moved or replaced code): the newest wins.
    let best = -1;
    for (let k = found, tries = 0; k >= 0 && tries < LOOK_BACK; k--, tries++) {
      const i = order[k] as number;
      if (addr < (starts[i] as number) + (this.sizes[i] as number) && i > best) best = i;
    }
    if (best < 0) return undefined;
    return { name: this.names[best] as string, start: starts[best] as number, size: this.sizes[best] as number };
  }
}

/** "START SIZE NAME" in hex (0x optional); undefined for anything else. */
export function parsePerfMapLine(line: string): JitSymbol | undefined {
  const m = /^\s*(?:0x)?([0-9a-fA-F]+)\s+(?:0x)?([0-9a-fA-F]+)\s+(.*?)\s*$/.exec(line);
  if (!m) return undefined;
  const start = parseInt(m[1] as string, 16);
  const size = parseInt(m[2] as string, 16);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(size) || size === 0) return undefined;
  return { start, size, name: m[3] || `jit+0x${start.toString(16)}` };
}

/** The pid a process has in its own pid namespace (the last NSpid value), or itself. */
export function namespacePid(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = /^NSpid:\s*(.*)$/m.exec(status);
    const last = m?.[1]?.trim().split(/\s+/).pop();
    if (last && /^\d+$/.test(last)) return Number(last);
  } catch {
    // gone, or an old kernel without NSpid
  }
  return pid;
}

/** Where a process's perf map may be: inside its root (containers), then the host's /tmp. */
export function perfMapCandidates(pid: number, nspid = namespacePid(pid)): string[] {
  const paths = [`/proc/${pid}/root/tmp/perf-${nspid}.map`, `/tmp/perf-${pid}.map`];
  return [...new Set(paths)];
}

let bootTimeMs: number | undefined;
const clockTicks = 100; // USER_HZ is 100 on every Linux architecture Node runs on

/** When a process started, epoch ms (from /proc/PID/stat and /proc/stat btime), or 0 when unknown. */
export function processStartMs(pid: number): number {
  try {
    if (bootTimeMs === undefined) {
      const btime = /^btime\s+(\d+)/m.exec(readFileSync('/proc/stat', 'latin1'))?.[1];
      bootTimeMs = btime ? Number(btime) * 1000 : 0;
    }
    if (!bootTimeMs) return 0;
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the comm (which may hold spaces and parentheses): starttime is field 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return Number.isFinite(start) ? bootTimeMs + (start * 1000) / clockTicks : 0;
  } catch {
    return 0;
  }
}

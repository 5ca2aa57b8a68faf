// What a process's threads are doing now, read from /proc without stopping
// them: each one's kernel stack, its user frames unwound (by CFI, as a
// snapshot's) from a copy of its stack taken at the system call it sleeps in
// (/proc/PID/task/TID/syscall holds its sp and pc), and a CPython thread's
// Python frames. A thread that sleeps the whole window never shows in a
// capture's samples: this is where a hung process's threads wait.
import { createSymbolizer } from '../symbolize/index.js';
import { demangleAll } from '../symbolize/demangle.js';
import { ProcessMemory } from '../symbolize/process-memory.js';
import { interleavePython } from '../symbolize/python/index.js';
import { pythonThreadFrames } from '../symbolize/python/threads.js';
import type { Frame } from '../symbolize/types.js';
import { unwindStack } from '../unwind/index.js';
import { listDir, readText } from '../util/read-text.js';
import { processNow } from './offcputime/process-now.js';
import { codeLocator } from './stack-family/snapshots.js';

export interface ThreadNow {
  tid: number;
  /** Its state letter (S, D, R, T...). */
  state: string;
  /** Root first: user frames (Python's in place of the eval loop's), then kernel frames. */
  frames: Frame[];
}

/** Bytes of stack copied from sp up (as offcputime's snapshots), from a little below it (x86-64's red zone). */
const STACK_BYTES = 8 * 1024;
const BELOW_SP = 128n;
const PAGE = 4096n;
const MAX_DEPTH = 128;

/** /proc/PID/task/TID/stack ("[<0>] anon_pipe_write+0x1d4/0x4f0", leaf first) as frames root first; its wchan alone when unreadable (no CAP_SYS_ADMIN). */
export function kernelFrames(task: string, wchan: string): Frame[] {
  const names = (readText(`${task}/stack`) ?? '')
    .split('\n')
    .map((line) => /^\[<[0-9a-f]+>\] ([^+\s]+)/.exec(line)?.[1])
    .filter((n): n is string => Boolean(n));
  if (!names.length && wchan) names.push(wchan);
  return names.reverse().map((name) => ({ name, kind: 'kernel', module: '[kernel]' }));
}

/** The threads of pid (`tids`, or its first `max`) asleep or stopped now, each with where it waits. */
export function threadsNow(pid: number, { tids, max = 64 }: { tids?: number[]; max?: number } = {}): ThreadNow[] {
  const symbolizer = createSymbolizer();
  const memory = new ProcessMemory(pid);
  try {
    const python = pythonThreadFrames(pid);
    const locate = codeLocator(symbolizer, pid);
    const threads = (tids?.map(String) ?? listDir(`/proc/${pid}/task`)).slice(0, max).flatMap((tid): ThreadNow[] => {
      const task = `/proc/${pid}/task/${tid}`;
      const now = processNow(pid, Number(tid));
      if (!now || now.state === 'R') return []; // running: its stack moves under the read
      const regs = syscallRegisters(task);
      const copy = regs && stackCopy(memory, regs.sp);
      let user: Frame[] = [];
      if (regs && copy) {
        const unwound = unwindStack({ ip: regs.pc, sp: regs.sp, bp: 0n, ...copy }, locate, MAX_DEPTH);
        user = unwound.ips.length ? symbolizer.symbolizeUser(pid, unwound.ips).reverse() : [];
      }
      return [
        {
          tid: Number(tid),
          state: now.state,
          frames: [...interleavePython(user, python.get(Number(tid)) ?? []), ...kernelFrames(task, now.waitingIn ?? '')],
        },
      ];
    });
    // C++ and Rust names as people write them (one c++filt run for all).
    const names = demangleAll(threads.flatMap((t) => t.frames.filter((f) => f.kind !== 'kernel').map((f) => f.name)));
    const renamed = (f: Frame): Frame => {
      const name = names.get(f.name);
      return name && name !== f.name ? { ...f, name } : f;
    };
    return threads.map((t) => ({ ...t, frames: t.frames.map(renamed) }));
  } finally {
    memory.close();
    symbolizer.close();
  }
}

/** sp and pc of a thread asleep in a system call ("202 0x7f.. ... 0x7ffd..sp 0x7f..pc"), or in a fault ("-1 sp pc"); none when running. */
function syscallRegisters(task: string): { sp: bigint; pc: bigint } | undefined {
  const fields = (readText(`${task}/syscall`) ?? '').trim().split(/\s+/);
  if (fields.length < 3 || fields[0] === 'running') return undefined;
  const [sp, pc] = fields.slice(-2).map((f) => BigInt(f)) as [bigint, bigint];
  return sp && pc ? { sp, pc } : undefined;
}

/** The stack from just below sp up, page by page until STACK_BYTES or an unmapped page. */
function stackCopy(memory: ProcessMemory, sp: bigint): { data: Buffer; dataStart: bigint } | undefined {
  for (const start of [sp - BELOW_SP, sp]) {
    const parts: Buffer[] = [];
    let at = start;
    let length = 0;
    while (length < STACK_BYTES) {
      const chunk = memory.read(at, Number(PAGE - (at % PAGE)));
      if (!chunk) break;
      parts.push(chunk);
      length += chunk.length;
      at += BigInt(chunk.length);
    }
    if (length) return { data: Buffer.concat(parts), dataStart: start };
  }
  return undefined;
}

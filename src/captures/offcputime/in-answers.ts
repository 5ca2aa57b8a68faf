// Waits told only through the threads that gave a process's slow answers
// (tcpresponse's `links.threads`): a timed sleep (sleeps.ts) or a park
// (parks.ts) is idle in a poller's or a pool's thread beside them, and time
// lost when it is inside a request's. The kernel counts these waits by
// thread (the stack key's thread): folded here to one stack with its
// threads, grouped by the place in the program that waited.
import { arr, makeFinding, num, str, timeImpact, type AnalysisContext, type Obj } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { fmtMs, fmtPct, fmtSeconds, plural, processLabel, round } from '../../format/index.js';
import { framesOf, processNameOf, stackText } from '../../analysis/stack-frames.js';
import { frameId } from '../stack-family/stack-maps.js';
import type { OffcpuStack } from './data.js';
import { callerOf } from './program-frames.js';

/** Threads kept per stack, and named as a finding's, at most (a thread-per-request server has one per request). */
const MAX_THREADS = 1024;

/** One stack per wait, whichever threads waited in it: the kernel's per-thread counts folded, each thread's time kept. */
export function byThreads(stacks: OffcpuStack[]): OffcpuStack[] {
  const folded = new Map<string, { stack: OffcpuStack; threads: Map<number, number> }>();
  const out: OffcpuStack[] = [];
  for (const s of stacks) {
    if (!s.threads) {
      out.push(s);
      continue;
    }
    const id = `${s.pid}\0${s.comm}\0${s.frames.map(frameId).join('\0')}`;
    let into = folded.get(id);
    if (!into) {
      into = { stack: { ...s, value: 0, blocks: 0 }, threads: new Map() };
      folded.set(id, into);
      out.push(into.stack);
    }
    into.stack.value += s.value;
    into.stack.blocks += s.blocks;
    for (const [tid, us] of s.threads) if (into.threads.has(tid) || into.threads.size < MAX_THREADS) into.threads.set(tid, (into.threads.get(tid) ?? 0) + us);
  }
  for (const { stack, threads } of folded.values()) stack.threads = [...threads];
  return out.sort((a, b) => b.value - a.value);
}

/** One process's waits of a kind from one place in its code ("" when no frame of the program's own says). */
export interface PlaceWaits {
  pid: number;
  comm: string;
  where: string;
  us: number;
  waits: number;
  /** Each thread's time waiting, µs. */
  threads: Map<number, number>;
  stacks: Obj[];
}

/** Stored stacks counted by thread, grouped by process and the program's frames above `implementation`'s. */
export function byPlace(stacks: Obj[], data: Obj, implementation: (name: string, file: string) => boolean, frames = 2): PlaceWaits[] {
  const groups = new Map<string, PlaceWaits>();
  for (const s of stacks) {
    if (!Array.isArray(s.threads)) continue;
    const [pid, where] = [num(s.pid), callerOf(Array.isArray(s.frames) ? s.frames : [], implementation, frames)];
    const id = `${pid}\0${where}`;
    const g = groups.get(id) ?? { pid, comm: processNameOf(data, pid) ?? str(s.comm), where, us: 0, waits: 0, threads: new Map<number, number>(), stacks: [] };
    groups.set(id, g);
    g.us += num(s.value);
    g.waits += Math.max(1, num(s.blocks));
    for (const t of s.threads) {
      const [tid, us] = arr(t).map(num) as [number, number];
      g.threads.set(tid, (g.threads.get(tid) ?? 0) + us);
    }
    g.stacks.push(s);
  }
  return [...groups.values()];
}

/** What a kind of wait says: its verb ("slept"), its name ("timed sleeps"), its count's noun, why it holds an answer up and what to do. */
export interface WaitKind {
  id: string;
  did: string;
  what: string;
  one: string;
  why: string;
  next: (where: string) => string;
}

/** Its waits as a cause of the process's slow answers, through the threads they were in. */
export function inAnswersFinding(g: PlaceWaits, kind: WaitKind, ctx: AnalysisContext): Finding {
  const { where } = g;
  const title =
    `${processLabel(g.comm, g.pid)} ${kind.did} ${fmtMs(g.us / 1000)} (${fmtPct(g.us / 1e6 / ctx.windowSeconds)} of the ${fmtSeconds(ctx.windowSeconds)} window, summed over ${plural(g.threads.size, 'thread')}) ` +
    `in ${kind.what}${where ? ` called from ${where}` : ''} (${plural(g.waits, kind.one)} of ~${fmtMs(g.us / g.waits / 1000)} each), in the threads that answered its slow requests: ` +
    `${kind.why}; next: ${kind.next(where)}.`;
  const stacks = [...g.stacks].sort((a, b) => num(b.value) - num(a.value));
  return {
    ...makeFinding(
      ctx,
      `${kind.id}:${g.pid}:${where}`,
      'warning',
      title,
      {
        pid: g.pid,
        comm: g.comm,
        ...(where ? { calledFrom: where } : {}),
        waitedMs: round(g.us / 1000),
        waits: g.waits,
        avgMs: round(g.us / g.waits / 1000),
        threads: g.threads.size,
        stacks: stacks.slice(0, 3).map((s) => ({ offCpuMs: round(num(s.value) / 1000), blocks: num(s.blocks), frames: stackText(framesOf(s)) })),
      },
      g.us / 1e6 / ctx.windowSeconds,
      timeImpact(g.us / 1e6, ctx.windowSeconds, `${plural(g.waits, kind.one)} summed over its threads: ${fmtMs(g.us / 1000)}`, ['latency']),
    ),
    cause: { key: `${g.comm} ${kind.did} in ${kind.what}${where ? ` from ${where}` : ''}`, subject: `pid ${g.pid}` },
    links: {
      explains: [`waited-in-answers:${g.pid}`],
      onlyAsCause: true,
      threads: [...g.threads].slice(0, MAX_THREADS).map(([tid, us]): [number, number] => [tid, round(us / 1000)]),
    },
  };
}

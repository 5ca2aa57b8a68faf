// A process's timed sleeps (time.sleep, usleep, nanosleep asked for 10 ms or
// more): idle in a poller's loop, but time lost when a request's thread
// sleeps (a retry's backoff, a rate limiter, a poll for a flag to change).
// The kernel counts them by thread (the stack key's thread): folded here to
// one stack with its threads. Told only as the cause of the process's slow
// answers (tcpresponse), and only through the threads that gave them
// (`links.threads`): a poller's thread sleeping beside them explains nothing.
import { arr, isObj, makeFinding, num, objs, str, timeImpact, type AnalysisContext, type Obj } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { fmtMs, fmtPct, fmtSeconds, plural, processLabel, round, shortFunction } from '../../format/index.js';
import { framesOf, processNameOf, stackText } from '../../analysis/stack-frames.js';
import { frameId } from '../stack-family/stack-maps.js';
import type { OffcpuStack } from './data.js';
import { waitName } from './scheduler.js';
import { TIMED_SLEEP } from './waits.js';

/** The C library's sleep calls and a runtime's sleep built on them: what was asked, not who asked. */
const SLEEP_CALLS =
  /^(__)?(GI_)?_*(clock_nanosleep\w*|nanosleep|usleep|sleep|thrd_sleep|time_sleep|pysleep|rb_f_sleep|sleep_hrtime\w*|Perl_pp_sleep|pp_sleep|zif_u?sleep|zif_time_nanosleep|std::this_thread::\w*sleep\w*)$/;
/** The C library and interpreters' own code: their frames between the sleep and the program's code name neither. */
const RUNTIME_MODULES = /^(libc[.-]|libpthread|ld-linux|python\d[\d.]*$|libpython|ruby$|libruby|perl$|libperl|php)/;
/** An address no symbol covers: "python3.11+0x1d64b4". */
const UNNAMED = /\+0x[0-9a-f]+$/;
/** Threads kept per stack, and named as a finding's, at most (a thread-per-request server has one per request). */
const MAX_THREADS = 1024;

/** One stack per sleep, whichever threads slept in it: the kernel's per-thread counts folded, each thread's time kept. */
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

/** One process's sleeps from one place in its code ("" when no frame of the program's own says). */
interface Sleeps {
  pid: number;
  comm: string;
  where: string;
  us: number;
  sleeps: number;
  /** Each thread's time asleep, µs. */
  threads: Map<number, number>;
  stacks: Obj[];
}

/** "backoff (app.py:9) ← do_GET (app.py:5)": the program's innermost two frames above the sleep call. */
function callerOf(frames: unknown[]): string {
  const own: string[] = [];
  for (let i = frames.length - 1; i >= 0 && own.length < 2; i--) {
    const f = frames[i];
    if (!isObj(f) || f.kind === 'kernel') continue;
    const name = str(f.name);
    if (!name || SLEEP_CALLS.test(name) || UNNAMED.test(name) || RUNTIME_MODULES.test(str(f.module))) continue;
    const file = str(f.file).split('/').pop() || str(f.module);
    own.push(`${shortFunction(name)}${file ? ` (${file}${num(f.line) ? `:${num(f.line)}` : ''})` : ''}`);
  }
  return own.join(' ← ');
}

export function sleepFindings(data: Obj, ctx: AnalysisContext): Finding[] {
  const groups = new Map<string, Sleeps>();
  for (const s of objs(data.stacks)) {
    const frames = Array.isArray(s.frames) ? s.frames : [];
    if (!Array.isArray(s.threads) || !TIMED_SLEEP.test(waitName(frames) ?? '')) continue;
    const [pid, where] = [num(s.pid), callerOf(frames)];
    const id = `${pid}\0${where}`;
    const g = groups.get(id) ?? { pid, comm: processNameOf(data, pid) ?? str(s.comm), where, us: 0, sleeps: 0, threads: new Map<number, number>(), stacks: [] };
    groups.set(id, g);
    g.us += num(s.value);
    g.sleeps += Math.max(1, num(s.blocks));
    for (const t of s.threads) {
      const [tid, us] = arr(t).map(num) as [number, number];
      g.threads.set(tid, (g.threads.get(tid) ?? 0) + us);
    }
    g.stacks.push(s);
  }
  return [...groups.values()].map((g) => sleepFinding(g, ctx));
}

function sleepFinding(g: Sleeps, ctx: AnalysisContext): Finding {
  const { where } = g;
  const who = processLabel(g.comm, g.pid);
  const fn = where ? where.split(' ← ')[0]!.replace(/ \(.*$/, '') : '';
  const title =
    `${who} slept ${fmtMs(g.us / 1000)} (${fmtPct(g.us / 1e6 / ctx.windowSeconds)} of the ${fmtSeconds(ctx.windowSeconds)} window, summed over ${plural(g.threads.size, 'thread')}) ` +
    `in timed sleeps${where ? ` called from ${where}` : ''} (${plural(g.sleeps, 'sleep')} of ~${fmtMs(g.us / g.sleeps / 1000)} each), in the threads that answered its slow requests: ` +
    `a sleep inside a request (a retry's backoff, a rate limiter, a poll for a flag to change) holds its answer up that long; ` +
    `next: find why ${fn || 'it'} sleeps (a retry after a failing call: what fails; a poll: wait on an event, a condition or a queue instead) and take the sleep out of the request's path.`;
  const stacks = [...g.stacks].sort((a, b) => num(b.value) - num(a.value));
  return {
    ...makeFinding(
      ctx,
      `sleep:${g.pid}:${where}`,
      'warning',
      title,
      {
        pid: g.pid,
        comm: g.comm,
        ...(where ? { calledFrom: where } : {}),
        sleptMs: round(g.us / 1000),
        sleeps: g.sleeps,
        avgMs: round(g.us / g.sleeps / 1000),
        threads: g.threads.size,
        stacks: stacks.slice(0, 3).map((s) => ({ offCpuMs: round(num(s.value) / 1000), blocks: num(s.blocks), frames: stackText(framesOf(s)) })),
      },
      g.us / 1e6 / ctx.windowSeconds,
      timeImpact(g.us / 1e6, ctx.windowSeconds, `${plural(g.sleeps, 'sleep')} summed over its threads: ${fmtMs(g.us / 1000)}`, ['latency']),
    ),
    cause: { key: `${g.comm} slept in timed sleeps${where ? ` from ${where}` : ''}`, subject: `pid ${g.pid}` },
    links: {
      explains: [`slept-in-answers:${g.pid}`],
      onlyAsCause: true,
      threads: [...g.threads].slice(0, MAX_THREADS).map(([tid, us]): [number, number] => [tid, round(us / 1000)]),
    },
  };
}

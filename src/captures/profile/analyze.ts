// profile's checks: Hot functions and busy processes.
import { isObj, makeFinding, num, objs, str, timeImpact, type CaptureAnalysis, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { fmtPct, fmtSeconds, plural, processLabel, round, shortFunction } from '../../format/index.js';
import { frameOf, framesOf, leafOf, functionLabel, processNameOf, stackText, type FrameLike } from '../../analysis/stack-frames.js';
import type { Finding } from '../../analysis/types.js';
import { JIT_CODE } from '../../symbolize/index.js';
import { gcClassifier, gcPhaseOf, type GcRuntime } from '../gc-frames.js';
import { jvmGcText, storedJvmGc } from './jvm-gc.js';
import { handshakeClassifier, handshakeNext, type HandshakeSide } from './tls-frames.js';
import { FORK_COPY, kernelActivity, type KernelActivity } from './kernel-activity.js';
import { forkStall } from './forks.js';
import { oneThreadText } from './threads.js';
import { V8_BUILTIN_MODULE } from '../stack-family/js-stacks.js';

const MIN_PROFILE_SAMPLES = 50;
/** A process's functions by id: kernel time by what it was for. */
const FORK_COPY_ID = `kernel\0${FORK_COPY}`;
const MIN_FUNCTION_SAMPLES = 20;
const MAX_PROCESS_FINDINGS = 5;
/** A process on CPU this much (in CPUs) is a candidate cause when runnable tasks wait for a CPU. */
const CPU_SATURATION_SHARE = 0.25;
/** A process on CPU this much explains its own slow answers. */
const BUSY_SERVER_CPUS = 0.5;
/** Garbage collection (or TLS handshakes) this share of a process's CPU, and this many CPUs' worth: a finding. */
const GC_SHARE = 0.2;
const GC_MIN_CPUS = 0.1;

/** V8's regular expression code below a JavaScript caller: its builtins and runtime by name, */
const REGEX_ENGINE = /RegExp|Irregexp/;
/** or one of the methods that run a pattern ([V8 builtin] frames) over irregexp's compiled matcher (the leaf, JIT code). */
const REGEX_METHODS = /^(?:test|exec|match|matchAll|replace|replaceAll|search|split|\[Symbol\.(?:match|matchAll|replace|search|split)\])$/;

/** V8's plumbing between a JavaScript caller and the code it called (stubs, the API call path): never what it "called". */
const V8_STUB = /^Builtins_|^v8::internal::(?:Builtin_HandleApiCall|.*HandleApiCallHelper|FunctionCallbackArguments::Call)\b/;

/**
 * The JavaScript function a sample's time counts for, when the sample is in
 * code under it (V8's builtins and runtime, a regular expression's compiled
 * matcher, node's own JavaScript library, a native addon): the innermost JIT
 * frame of the program's scripts (named from V8's objects, with its file; node's
 * own `node:` scripts only when no other is on the stack) or named by a perf
 * map; `via` is what it called, past V8's stubs; `regex` whether that code was
 * matching a regular expression. undefined: the leaf is that function's own
 * code, or no such frame.
 */
function scriptCaller(stack: Obj): { frame: FrameLike; via: string; regex: boolean } | undefined {
  const frames = objs(stack.frames);
  const named = (f: Obj) => str(f.kind) === 'jit' && str(f.name) !== JIT_CODE && (str(f.file) !== '' || str(f.module) === '');
  const ours = (f: Obj) => named(f) && !str(f.file).startsWith('node:');
  let i = frames.findLastIndex(ours);
  if (i < 0) i = frames.findLastIndex(named);
  if (i < 0 || i === frames.length - 1) return undefined;
  const below = frames.slice(i + 1);
  const matcherLeaf = str(below.at(-1)!.name) === JIT_CODE;
  const regex = below.some((x) => REGEX_ENGINE.test(str(x.name)) || (matcherLeaf && str(x.module) === V8_BUILTIN_MODULE && REGEX_METHODS.test(str(x.name))));
  const via = below.find((x) => !V8_STUB.test(str(x.name))) ?? below[0]!;
  return { frame: frameOf(frames[i]!), via: str(via.name).replace(/^v8::internal::Builtin_/, ''), regex };
}

/** A function for a sentence: kernel time by what it was for, whole (shortFunction would cut "forks copying ... (page tables: ...)" to "map"). */
const labelOf = (f: { frame: FrameLike; activity?: KernelActivity }) => (f.activity ? `${f.activity.label} [kernel]` : functionLabel(f.frame));
const shortNameOf = (f: { frame: FrameLike; activity?: KernelActivity }) => (f.activity ? f.activity.label : shortFunction(f.frame.name));

interface GcTime {
  runtime: GcRuntime;
  samples: number;
  phases: Map<string, number>;
}

/** The side most of a process's handshakes were on: one that is nearly all one side, else unknown (a proxy is both). */
function sideOf(tls: Record<HandshakeSide, number>): HandshakeSide {
  const sided = tls.server + tls.client;
  if (tls.server >= sided * 0.8 && tls.server > 0) return 'server';
  if (tls.client >= sided * 0.8 && tls.client > 0) return 'client';
  return 'unknown';
}

/** From this nice value a process yields the CPU to the others (CFS gives a nice-10 task a tenth of a nice-0 one's share). */
export const LOW_PRIORITY_NICE = 10;

function analyzeProfile(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const findings: Finding[] = [];
  const stacks = objs(data.stacks);
  const total = num(data.total) || stacks.reduce((n, s) => n + num(s.value), 0);
  const frequency = num(data.frequency) || 99;
  const cpuSeconds = total / frequency;
  const checked = `CPU profile (${plural(total, 'sample')}, ~${+cpuSeconds.toFixed(1)} CPU-seconds)`;
  if (total < MIN_PROFILE_SAMPLES) return { findings, checked };

  // Per process: its samples, its garbage collection, and its functions by self samples outside GC (where the CPU was).
  const processes = new Map<
    number,
    {
      pid: number;
      comm: string;
      /** Samples per thread name outside GC: without its own name stored, the process is named by its busiest (a runtime's collector threads keep the binary's name). */
      comms: Map<string, number>;
      samples: number;
      gc?: GcTime;
      /** Samples in TLS handshakes, by the side they were on. */
      tls?: Record<HandshakeSide, number>;
      /** By leaf function, or for kernel time by what it was for (`activity`). */
      functions: Map<string, { frame: FrameLike; activity?: KernelActivity; self: number; stacks: Obj[]; via: Map<string, number>; regex: number }>;
    }
  >();
  const gcRuntimeOf = gcClassifier();
  const handshakeOf = handshakeClassifier();
  for (const s of stacks) {
    const pid = num(s.pid);
    const value = num(s.value);
    if (value <= 0) continue;
    let p = processes.get(pid);
    if (!p) processes.set(pid, (p = { pid, comm: str(s.comm), comms: new Map(), samples: 0, functions: new Map() }));
    p.samples += value;
    const names = objs(s.frames).map((f) => str(f.name));
    const runtime = gcRuntimeOf(names, str(s.comm));
    if (!runtime) p.comms.set(str(s.comm), (p.comms.get(str(s.comm)) ?? 0) + value);
    else {
      p.gc ??= { runtime, samples: 0, phases: new Map() };
      p.gc.samples += value;
      const phase = gcPhaseOf(runtime, names);
      if (phase) p.gc.phases.set(phase, (p.gc.phases.get(phase) ?? 0) + value);
      continue;
    }
    const side = handshakeOf(names);
    if (side) {
      p.tls ??= { server: 0, client: 0, unknown: 0 };
      p.tls[side] += value;
      continue;
    }
    const sampled = leafOf(s);
    if (!sampled) continue;
    // Time in the kernel counts by what it was for (a system call, page faults, softirqs), not by the leaf it was sampled in.
    const activity = sampled.kind === 'kernel' ? kernelActivity(framesOf(s)) : undefined;
    // Time in a JavaScript engine's own code counts for the JavaScript function that called it.
    const script = activity || sampled.kind === 'kernel' ? undefined : scriptCaller(s);
    const leaf = script?.frame ?? sampled;
    const id = activity ? `kernel\0${activity.key}` : `${leaf.name}\0${leaf.module ?? ''}`;
    let f = p.functions.get(id);
    if (!f)
      p.functions.set(
        id,
        (f = {
          frame: activity ? { name: activity.label, kind: 'kernel', module: '[kernel]' } : leaf,
          ...(activity ? { activity } : {}),
          self: 0,
          stacks: [],
          via: new Map(),
          regex: 0,
        }),
      );
    f.self += value;
    if (script) f.via.set(script.via, (f.via.get(script.via) ?? 0) + value);
    if (script?.regex) f.regex += value;
    if (f.stacks.length < 3) f.stacks.push(s);
  }

  // Its own name (the main thread's), else its busiest thread's outside GC: a JVM's busiest thread may be a compiler ("C2 CompilerThre").
  for (const p of processes.values()) p.comm = processNameOf(data, p.pid) ?? [...p.comms].sort((a, b) => b[1] - a[1])[0]?.[0] ?? p.comm;

  const hotPct = ctx.thresholds.cpuHotFunctionPct;
  const busyCores = ctx.thresholds.cpuBusyCores;
  const window = Math.max(0.001, ctx.windowSeconds);
  const candidates: Finding[] = [];
  const users: { p: { pid: number; comm: string; samples: number }; cpus: number; top: string }[] = [];
  for (const p of processes.values()) {
    // Forks copying its page tables: a stop of its own (forks.ts), not a hot function.
    const forkCopy = p.functions.get(FORK_COPY_ID);
    const stall = forkCopy && forkStall(p.pid, p.comm, forkCopy.self, data, ctx, frequency, window);
    if (stall) {
      findings.push(stall);
      p.functions.delete(FORK_COPY_ID);
    }
    const cpus = p.samples / frequency / window;
    const functions = [...p.functions.values()].sort((a, b) => b.self - a.self);
    const hot = functions.filter((f) => f.self >= MIN_FUNCTION_SAMPLES && (f.self / total) * 100 >= hotPct);
    const busy = cpus >= busyCores;
    const worthSaying = (samples: number) => samples >= MIN_FUNCTION_SAMPLES && samples / p.samples >= GC_SHARE && samples / frequency / window >= GC_MIN_CPUS;
    const handshakes = p.tls ? p.tls.server + p.tls.client + p.tls.unknown : 0;
    // GC and handshakes are each spread over many functions: the larger of the two that is worth saying tells the process.
    const gc = p.gc && worthSaying(p.gc.samples) && p.gc.samples >= handshakes ? p.gc : undefined;
    const tls = p.tls && !gc && worthSaying(handshakes) ? { samples: handshakes, side: sideOf(p.tls) } : undefined;
    // A JVM's own counters of its collections (hsperfdata): how many, and how full its heap was.
    const jvm = gc ? storedJvmGc(data, p.pid) : undefined;
    if (!hot.length && !busy && !gc && !tls) {
      // Not a problem alone, but a candidate cause when tasks wait for a CPU.
      if (cpus >= CPU_SATURATION_SHARE) users.push({ p, cpus, top: functions[0]?.frame.name ?? '?' });
      continue;
    }
    // One thread doing its work, on a CPU all the time: the process is at its capacity.
    const oneThread = oneThreadText(data, p.pid, cpus);
    // A low-priority process's CPU is CPU it was given spare: no one's wait, unless nothing else runs.
    const nice = isObj(data.niceness) ? num(data.niceness[String(p.pid)]) : 0;
    const yields = nice >= LOW_PRIORITY_NICE;
    const who = `${processLabel(p.comm, p.pid)}${yields ? ` (at nice ${nice}: it yields the CPU to other work)` : ''}`;
    const top = functions.slice(0, 5).map((f) => ({
      function: f.frame.name,
      ...(f.frame.module ? { module: f.frame.module } : {}),
      kind: f.frame.kind,
      samples: f.self,
      pctOfProfile: round((f.self / total) * 100),
      pctOfProcess: round((f.self / p.samples) * 100),
    }));
    const evidence = {
      pid: p.pid,
      comm: p.comm,
      ...(yields ? { nice } : {}),
      samples: p.samples,
      profileSamples: total,
      cpus: round(cpus),
      frequency,
      thresholdPct: hotPct,
      busyCores,
      topFunctions: top,
      hotStacks: (hot[0] ?? functions[0])?.stacks.map((s) => ({ samples: num(s.value), frames: stackText(framesOf(s)) })) ?? [],
      ...(gc
        ? {
            gc: {
              runtime: gc.runtime.runtime,
              samples: gc.samples,
              shareOfProcess: round(gc.samples / p.samples),
              cpus: round(gc.samples / frequency / window),
              phases: Object.fromEntries(gc.phases),
              ...(jvm ? { jvm } : {}),
            },
          }
        : {}),
      ...(tls
        ? {
            tlsHandshakes: {
              samples: tls.samples,
              shareOfProcess: round(tls.samples / p.samples),
              cpus: round(tls.samples / frequency / window),
              side: tls.side,
            },
          }
        : {}),
    };
    let title: string;
    if (tls) {
      const { side } = tls;
      title =
        `${who} spent ${fmtPct(tls.samples / p.samples)} of its CPU in TLS handshakes${side === 'unknown' ? '' : ` (as a ${side})`}, ` +
        `${(tls.samples / frequency / window).toFixed(2)} CPUs over ${fmtSeconds(window)} of the ${cpus.toFixed(2)} it used: a full handshake (a key exchange and a signature) for each new connection` +
        (hot.length ? `; outside them, ${fmtPct(hot[0]!.self / total)} of the CPU samples are in ${labelOf(hot[0]!)}` : '') +
        `; next: ${handshakeNext(side)}.`;
    } else if (gc) {
      const phases = [...gc.phases].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${fmtPct(n / gc.samples)} ${name}`);
      const counters = jvm ? jvmGcText(jvm, p.pid, window) : undefined;
      title =
        `${who} spent ${fmtPct(gc.samples / p.samples)} of its CPU in garbage collection (${gc.runtime.runtime}${phases.length ? `: ${phases.join(', ')}` : ''}), ` +
        `${(gc.samples / frequency / window).toFixed(2)} CPUs over ${fmtSeconds(window)} of the ${cpus.toFixed(2)} it used: while it collects, the program's threads wait` +
        (counters?.said ? `; ${counters.said}` : '') +
        (hot.length ? `; outside it, ${fmtPct(hot[0]!.self / total)} of the CPU samples are in ${labelOf(hot[0]!)}` : '') +
        `; next: ${counters?.next ?? gc.runtime.next}.`;
    } else if (hot.length) {
      const f = hot[0]!;
      const [via, viaSamples = 0] = [...f.via].sort((a, b) => b[1] - a[1])[0] ?? [];
      const regex = f.regex >= f.self / 2;
      title =
        `${fmtPct(f.self / total)} of the CPU samples are in ${labelOf(f)} in ${who} (threshold ${hotPct}%)` +
        (regex
          ? `, ${fmtPct(f.regex / f.self)} of them matching a regular expression it runs`
          : via !== undefined && viaSamples >= f.self / 2
            ? `, ${fmtPct(viaSamples / f.self)} of them in what it called (${shortFunction(via)})`
            : '') +
        (hot.length > 1
          ? `, then ${hot
              .slice(1, 3)
              .map((h) => `${shortNameOf(h)} ${fmtPct(h.self / total)}`)
              .join(', ')}`
          : '') +
        `; the process used ${cpus.toFixed(2)} CPUs over ${fmtSeconds(window)}; next: ` +
        (f.frame.name === JIT_CODE
          ? `name its JIT functions with a perf map (node --perf-basic-prof, DOTNET_PerfMapEnabled=1; a JVM of JDK 17 or later writes one when asked, which the capture does with jcmd where it finds it, perf-map-agent before) and run again.`
          : regex
            ? `the regular expressions ${shortFunction(f.frame.name)} runs, against the input that reaches them: a pattern with nested or overlapping quantifiers ((a+)+, (.*)*) backtracks exponentially on input that almost matches (flamegraph.svg).`
            : f.activity
              ? `${f.activity.next} (flamegraph.svg).`
              : `its stacks under ${shortFunction(f.frame.name)} in the flame graph (flamegraph.svg).`);
    } else {
      title =
        `${who} used ${cpus.toFixed(2)} CPUs on average over ${fmtSeconds(window)} (threshold ${busyCores}), spread over many functions: ` +
        `${functions
          .slice(0, 3)
          .map((f) => `${shortNameOf(f)} ${fmtPct(f.self / p.samples)}`)
          .join(', ')}; next: its part of the flame graph (flamegraph.svg).`;
    }
    if (oneThread) title = title.replace('; next: ', `; ${oneThread}; next: `);
    // A hot function of a nearly idle process is worth knowing, not a problem; GC pressure is latency.
    const severity = busy || gc || tls || cpus >= 0.5 ? 'warning' : 'info';
    const score = Math.max(
      hot.length ? hot[0]!.self / total / (hotPct / 100) : 0,
      cpus / Math.max(0.01, busyCores),
      gc ? gc.samples / p.samples / GC_SHARE : 0,
      tls ? tls.samples / p.samples / GC_SHARE : 0,
    );
    const impact = timeImpact(
      p.samples / frequency,
      window,
      `${cpus.toFixed(2)} CPUs: ${p.samples} samples at ${frequency} Hz over ${fmtSeconds(window)}`,
      yields ? ['cpu'] : ['cpu', 'latency'],
    );
    const finding = makeFinding(ctx, `process:${p.pid}`, severity, title, evidence, score, impact);
    finding.cause = {
      key: tls
        ? `${p.comm} spends its CPU in TLS handshakes${tls.side === 'unknown' ? '' : ` as a ${tls.side}`}`
        : gc
          ? `${p.comm} spends its CPU in garbage collection`
          : hot.length
            ? `${p.comm} spends its CPU in ${hot[0]!.frame.name}`
            : `${p.comm} is busy`,
      subject: `pid ${p.pid} ${cpus.toFixed(2)} CPUs`,
    };
    // Its CPU may be another finding's own cost (cpu-of: the exec storm it forks).
    // It explains the waits of those that waited behind its program (runq-behind: any of its processes; runq-behind-pid: this one, when the
    // waiter has its name), and the host's when it is busy enough.
    finding.links = {
      shows: [`cpu-of:${p.pid}`],
      // And, a Python process, its other threads' waits for the GIL its hot code holds (lockwait).
      // Its threads' waits for its collector, when GC is its story (lockwait, offcputime).
      explains: [
        `runq-behind:${p.comm}`,
        `runq-behind-pid:${p.pid}`,
        `gil-of:${p.pid}`,
        ...(gc ? [`gc-of:${p.pid}`] : []),
        ...(cpus >= CPU_SATURATION_SHARE ? ['cpu-saturation'] : []),
        // A server this busy while its answers are slow: its work is their time (tcpresponse).
        ...(cpus >= BUSY_SERVER_CPUS ? [`busy-pid:${p.pid}`] : []),
      ],
    };
    candidates.push(finding);
  }
  candidates.sort((a, b) => b.score - a.score);
  findings.push(...candidates.slice(0, MAX_PROCESS_FINDINGS));
  for (const { p, cpus, top } of users.sort((a, b) => b.cpus - a.cpus).slice(0, 3)) {
    const who = processLabel(p.comm, p.pid);
    const finding = makeFinding(
      ctx,
      `cpu-user:${p.pid}`,
      'info',
      `${who} was on CPU ${cpus.toFixed(2)} CPUs' worth over ${fmtSeconds(window)}, mostly in ${top}; next: its part of the flame graph (flamegraph.svg).`,
      { pid: p.pid, comm: p.comm, samples: p.samples, cpus: round(cpus), frequency },
      cpus,
      timeImpact(p.samples / frequency, window, `${cpus.toFixed(2)} CPUs: ${p.samples} samples at ${frequency} Hz`, ['cpu', 'latency']),
    );
    finding.links = {
      shows: [`cpu-of:${p.pid}`],
      explains: [`runq-behind:${p.comm}`, `runq-behind-pid:${p.pid}`, `gil-of:${p.pid}`, 'cpu-saturation'],
      onlyAsCause: true,
    };
    findings.push(finding);
  }
  return { findings, checked };
}

export const profileAnalysis = { checks: 'CPU profile', analyze: analyzeProfile };

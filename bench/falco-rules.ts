// Falco rules: load time of a generated rules file with hundreds of rules
// (lists, nested macros, exceptions, appends), and events/s through a rule
// set of realistic size (~120 rules over the macros of Falco's default set)
// against the same events with no rules (the process table and sorting
// alone), side by side. The events are a made-up mix of opens, execs and
// connects over a pool of processes; the host is a fixed one (no /proc).
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { ProcessInfo, SyscallEvent } from '../src/model/syscall-event.js';
import type { HostInfo } from '../src/falco/host-info.js';
import { loadRules } from '../src/falco/load-rules.js';
import { readRuleFile, readWithPositions } from '../src/falco/rule-file.js';
import { matchEvents } from '../src/falco/matcher.js';
import { NodeRuleSession } from '../src/falco/node-session.js';
import { FAILURE_ONLY_TYPES, PRODUCED_TYPES } from '../src/falco/sources/index.js';
import { projectRoot } from '../src/util/paths.js';
import { fmtCount, fmtMs, fmtRate, fmtRatio, kv, median, msSince, note, section, verdict } from './report.js';

const LOAD_RULES = 300;
const MATCH_RULES = 120;
const EVENTS = 50_000;
const RUNS = 3;

const shipped = () => readFileSync(join(projectRoot, 'runbooks', 'falco', 'sherlock_rules.yaml'), 'utf8');

/** The shipped macros and lists, then `count` rules in the shapes of Falco's default set. */
export function generatedRules(count: number): string {
  const out = [shipped()];
  const words = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  for (let i = 0; i < count; i++) {
    out.push(`- list: bench_binaries_${i}\n  items: [${words(`prog${i}-`, 30).join(', ')}, shell_binaries]\n`);
    out.push(
      `- macro: bench_allowed_${i}\n  condition: (proc.pname in (bench_binaries_${i}) or proc.aname[2] in (bench_binaries_${i}) or package_mgmt_ancestor_procs)\n`,
    );
    const shape = i % 4;
    const condition =
      shape === 0
        ? `open_read and fd.name pmatch (/etc/bench${i}, /var/lib/bench${i}) and not proc.name in (bench_binaries_${i}) and not bench_allowed_${i}`
        : shape === 1
          ? `spawned_process and shell_procs and proc.pname in (bench_binaries_${i}) and not proc.cmdline contains "healthcheck-${i}"`
          : shape === 2
            ? `open_write and (fd.directory in (/usr/bin, /usr/sbin, /bin, /sbin) or fd.name startswith /etc/bench${i}/) and not package_mgmt_procs and not bench_allowed_${i}`
            : `outbound and not fd.sport in (22, 53, 80, 443, ${10000 + i}) and proc.name in (bench_binaries_${i}, curl, wget)`;
    out.push(`- rule: Bench rule ${i}
  desc: generated rule ${i}
  condition: >
    ${condition}
  output: bench ${i} (user=%user.name command=%proc.cmdline parent=%proc.pname file=%fd.name connection=%fd.name container_id=%container.id)
  priority: ${['WARNING', 'NOTICE', 'ERROR', 'CRITICAL'][shape]}
  tags: [bench, host]
  exceptions:
    - name: known_${i}
      fields: [proc.name, fd.name]
      comps: [=, startswith]
      values:
        - [prog${i}-1, /etc/bench${i}/ok]
`);
    if (i % 10 === 0) out.push(`- list: bench_binaries_${i}\n  items: [extra-${i}]\n  append: true\n`);
  }
  return out.join('\n');
}

function fixedHost(processes: Map<number, ProcessInfo>): HostInfo {
  return {
    hostname: 'bench',
    process: (pid) => processes.get(pid),
    userName: (uid) => (uid === 0 ? 'root' : `user${uid}`),
    groupName: () => 'root',
    cgroupPath: () => '/',
  };
}

/** A mix of opens (60%), execs (30%) and connects (10%) over 500 processes. */
export function benchEvents(count: number): { events: SyscallEvent[]; host: HostInfo } {
  const processes = new Map<number, ProcessInfo>();
  const names = ['nginx', 'bash', 'python3', 'java', 'node', 'sshd', 'cron', 'postgres', 'curl', 'prog3-1', 'sh', 'apt-get'];
  for (let pid = 100; pid < 600; pid++)
    processes.set(pid, {
      pid,
      ppid: pid > 100 ? 100 + ((pid * 7) % (pid - 100)) : 1,
      name: names[pid % names.length]!,
      argv: [names[pid % names.length]!, '--serve'],
      exepath: `/usr/bin/${names[pid % names.length]}`,
      uid: pid % 3 === 0 ? 0 : 1000,
    });
  const paths = [
    '/etc/passwd',
    '/etc/ld.so.cache',
    '/usr/lib/x86_64-linux-gnu/libc.so.6',
    '/proc/self/stat',
    '/var/lib/bench7/data',
    '/etc/bench12/conf',
    '/tmp/x',
    '/usr/bin/tool',
    '/home/a/.bashrc',
    '/var/log/syslog',
  ];
  const out: SyscallEvent[] = [];
  let x = 12345;
  const rand = (n: number) => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n;
  for (let i = 0; i < count; i++) {
    const pid = 100 + rand(500);
    const timeMs = 1_700_000_000_000 + i;
    const kind = rand(10);
    if (kind < 6) {
      const path = paths[rand(paths.length)]!;
      const flags = rand(4) === 0 ? 0o1101 : 0;
      out.push({
        type: 'openat',
        timeMs,
        pid,
        res: 3,
        comm: processes.get(pid)!.name,
        fd: { kind: 'file', path, flags, flagNames: flags ? 'O_WRONLY|O_CREAT|O_TRUNC' : 'O_RDONLY', num: 3, directory: false },
        args: { name: path, flags: flags ? 'O_WRONLY|O_CREAT|O_TRUNC' : 'O_RDONLY' },
        capture: 'opensnoop',
      });
    } else if (kind < 9) {
      const comm = names[rand(names.length)]!;
      const child = 1000 + i;
      out.push({
        type: 'execve',
        timeMs,
        pid: child,
        res: 0,
        comm,
        uid: 0,
        exec: { filename: `/usr/bin/${comm}`, argv: [comm, '-c', 'echo hi'], ppid: pid, pcomm: processes.get(pid)!.name },
        args: {},
        capture: 'execsnoop',
      });
    } else {
      out.push({
        type: 'connect',
        timeMs,
        pid,
        res: 0,
        fd: {
          kind: 'socket',
          family: 4,
          l4proto: 'tcp',
          local: { ip: '10.0.0.5', port: 40000 + rand(1000) },
          remote: { ip: `93.184.${rand(255)}.${rand(255)}`, port: [443, 80, 4444, 10003, 5432][rand(5)]! },
          role: 'client',
        },
        args: {},
        capture: 'tcplife',
      });
    }
  }
  return { events: out, host: fixedHost(processes) };
}

export async function falcoRulesBench(): Promise<void> {
  section(`load: a generated file of ${LOAD_RULES} rules (+ ${LOAD_RULES} lists, ${LOAD_RULES} macros, exceptions, appends) over the shipped macros`);
  const text = generatedRules(LOAD_RULES);
  const loadTimes: number[] = [];
  let loadedCount = 0;
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    const loaded = loadRules([{ path: 'bench.yaml', text }], PRODUCED_TYPES, FAILURE_ONLY_TYPES);
    loadTimes.push(msSince(t0));
    loadedCount = loaded.rules.length;
    if (loaded.errors.length) throw new Error(`the generated file has errors: ${loaded.errors[0]!.message}`);
  }
  kv('file size', `${(text.length / 1024).toFixed(0)} KiB, ${loadedCount} rules loaded`);
  kv('load, first (cold JIT)', fmtMs(loadTimes[0]!));
  kv('load, median of the rest', fmtMs(median(loadTimes.slice(1))));
  // The YAML step alone, both parsers alternating: js-yaml (the path a well-formed file takes) and yaml's document model (kept for files it refuses).
  const fast: number[] = [];
  const positions: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    for (const [read, times] of (r % 2
      ? [
          [readWithPositions, positions],
          [readRuleFile, fast],
        ]
      : [
          [readRuleFile, fast],
          [readWithPositions, positions],
        ]) as [typeof readRuleFile, number[]][]) {
      const t1 = process.hrtime.bigint();
      read('bench.yaml', text);
      times.push(msSince(t1));
    }
  }
  kv('of which YAML parsing, js-yaml (median)', fmtMs(median(fast)));
  kv("YAML parsing with yaml's positions (median)", fmtMs(median(positions)));
  kv('ratio', fmtRatio(median(positions) / median(fast)));
  verdict(median(loadTimes.slice(1)) < 1000, `hundreds of rules load in under a second (${fmtMs(median(loadTimes.slice(1)))})`);

  section(`match: ${fmtCount(EVENTS)} events through ${MATCH_RULES} generated rules + the shipped ones, vs no rules`);
  const ruleSet = loadRules([{ path: 'bench.yaml', text: generatedRules(MATCH_RULES) }], PRODUCED_TYPES, FAILURE_ONLY_TYPES);
  const none = loadRules([], PRODUCED_TYPES, FAILURE_ONLY_TYPES);
  const withRules: number[] = [];
  const without: number[] = [];
  let alerts = 0;
  for (let r = 0; r < RUNS; r++) {
    for (const [set, times] of (r % 2
      ? [
          [none, without],
          [ruleSet, withRules],
        ]
      : [
          [ruleSet, withRules],
          [none, without],
        ]) as [typeof none, number[]][]) {
      const { events: evs, host } = benchEvents(EVENTS);
      const t0 = process.hrtime.bigint();
      const m = matchEvents(set, evs, host);
      times.push(msSince(t0));
      if (set === ruleSet) alerts = [...m.hits.values()].reduce((n, h) => n + h.count, 0);
    }
  }
  // The worker's path: the same events streamed in batches of 100 (a 10 ms drain at 10k events/s)
  // through a node session (reordering across captures, bounded), alternating with the path above.
  const streamed: number[] = [];
  const atOnce: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    for (const mode of r % 2 ? (['stream', 'once'] as const) : (['once', 'stream'] as const)) {
      const { events: evs, host } = benchEvents(EVENTS);
      const t0 = process.hrtime.bigint();
      if (mode === 'once') matchEvents(ruleSet, evs, host);
      else {
        // Event times are in the past: each batch goes through as it arrives, as in a worker past its first 250 ms.
        const session = new NodeRuleSession(ruleSet, 'bench', host, ['execsnoop', 'opensnoop', 'tcplife']);
        for (let i = 0; i < evs.length; i += 100) session.addEvents(evs.slice(i, i + 100));
        session.finish([]);
      }
      (mode === 'once' ? atOnce : streamed).push(msSince(t0));
    }
  }
  const ms = median(withRules);
  const base = median(without);
  kv('rules', `${ruleSet.rules.length} loaded`);
  kv('matches', fmtCount(alerts));
  kv('with rules', `${fmtMs(ms)} → ${fmtRate((EVENTS / ms) * 1000)} events/s`);
  kv('no rules (table and sorting alone)', `${fmtMs(base)} → ${fmtRate((EVENTS / base) * 1000)} events/s`);
  kv('ratio', fmtRatio(ms / base));
  kv('streamed through a node session (batches of 100)', `${fmtMs(median(streamed))} → ${fmtRate((EVENTS / median(streamed)) * 1000)} events/s`);
  kv('the same, matched at the end', `${fmtMs(median(atOnce))} → ${fmtRate((EVENTS / median(atOnce)) * 1000)} events/s`);
  kv('ratio streamed / at the end', fmtRatio(median(streamed) / median(atOnce)));
  note(
    `execsnoop and opensnoop keep at most 100k events each per run by default: matching a full 200k-event run would take ~${fmtMs((200_000 / EVENTS) * ms)} at this rate.`,
  );
  note(
    `load average while measuring: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${cpus().length} CPUs (a shared machine: figures scale with it).`,
  );
}

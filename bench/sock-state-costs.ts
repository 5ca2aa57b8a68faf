// What each kind of work costs on the socket-state hook, so a connect storm's
// overhead can be budgeted before a program is changed: one tiny program per
// operation (a clock read, a hash insert+delete, lookups, a ring-buffer record,
// the owner's ids, a probe read), all on raw_tp/inet_sock_set_state at once, timed by the
// kernel's run-time stats over a loopback connect storm (ten state changes per
// connect). The empty program's time (the stats' own clock reads) is taken off
// the others. Kernel stats only: no CPU ratio, so load on the machine moves
// these far less than the storms' ratios (a preempted run still counts).
import { execFileSync } from 'node:child_process';
import { closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BpfObject, enableRunTimeStats, programStats, RingBufferReader } from '../src/libbpf/index.js';
import { runTimed, TempDir } from './processes.js';
import { fmtCount, kv, median, note, numericColumns, section, table } from './report.js';
import { CONNECT_STORM_C } from './tcpconnlat-overhead.js';

const CONNECTS = 10_000;
const DRAIN_MS = 10;
const ROUNDS = 3;
const STORM_TIMEOUT_MS = 60_000;

/** name → [what it does, body]; ctx[0] is the socket. */
const OPERATIONS: [string, string, string][] = [
  ['empty', 'nothing (the stats’ own cost, taken off the rest)', 'return 0;'],
  ['ktime', 'bpf_ktime_get_ns()', 'sink += bpf_ktime_get_ns(); return 0;'],
  [
    'owner',
    'pid_tgid + cgroup id + comm',
    'char c[16]; sink += bpf_get_current_pid_tgid() + bpf_get_current_cgroup_id(); bpf_get_current_comm(c, 16); sink += c[0]; return 0;',
  ],
  ['probe_read', 'one 8-byte probe read of the socket', '__u64 v = 0; bpf_probe_read_kernel(&v, 8, (void *)ctx[0]); sink += v; return 0;'],
  ['hash_lookup', 'hash lookup by socket address (miss)', '__u64 k = ctx[0]; sink += bpf_map_lookup_elem(&h_lookup, &k) != 0; return 0;'],
  [
    'hash_insert_delete',
    'hash insert + delete (48-byte value)',
    '__u64 k = ctx[0], v[6] = {}; bpf_map_update_elem(&h_update, &k, v, BPF_ANY); bpf_map_delete_elem(&h_update, &k); return 0;',
  ],
  [
    'ringbuf_record',
    'ring-buffer record, 112 bytes, no wakeup',
    '__u32 z = 0; __u64 *e = bpf_ringbuf_reserve(&rb, 112, 0), *d; if (e) { e[0] = ctx[0]; bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP); } else if ((d = bpf_map_lookup_elem(&rb_full, &z))) { *d += 1; } return 0;',
  ],
];

const SOURCE = [
  '#include <linux/types.h>',
  '#include <linux/bpf.h>',
  '#include <bpf/bpf_helpers.h>',
  'char LICENSE[] SEC("license") = "GPL";',
  '__u64 sink;',
  'struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16384); __type(key, __u64); __type(value, __u64[6]); } h_lookup SEC(".maps"), h_update SEC(".maps");',
  // tcplife's default size, drained every 10 ms as a capture drains it: a record's cost
  // depends on it (a 32 MiB ring never read, all cold memory, made one cost twice as much).
  'struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 22); } rb SEC(".maps");',
  'struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } rb_full SEC(".maps");',
  ...OPERATIONS.map(([name, , body]) => `SEC("raw_tp/inet_sock_set_state") int ${name}(__u64 *ctx) { ${body} }`),
  '',
].join('\n');

function compile(dir: TempDir): string {
  const source = join(dir.path, 'sock-state-costs.bpf.c');
  const object = join(dir.path, 'sock-state-costs.bpf.o');
  writeFileSync(source, SOURCE);
  const arch = execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim();
  execFileSync('clang', ['-g', '-O2', '-target', 'bpf', `-I/usr/include/${arch}-linux-gnu`, '-c', source, '-o', object], {
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 60_000,
  });
  return object;
}

async function storm(bin: string): Promise<number> {
  const run = await runTimed(bin, [String(CONNECTS)], { timeoutMs: STORM_TIMEOUT_MS });
  const [, attempted, ok, , cpuNs] = run.stdout.trim().split(/\s+/).map(Number);
  if (run.code !== 0 || attempted !== CONNECTS || ok !== CONNECTS) throw new Error(`connect storm failed: "${run.stdout.trim()}"`);
  return cpuNs!;
}

export async function sockStateCosts(): Promise<void> {
  const dir = new TempDir('sock-state');
  try {
    const bin = dir.compileC('connect-storm', CONNECT_STORM_C);
    const objectPath = compile(dir);
    await storm(bin); // warm-up
    const untracedCpu: number[] = [];
    const perRun = new Map<string, number[]>(OPERATIONS.map(([name]) => [name, []]));
    let runsPerConnect = 0;
    for (let round = 0; round < ROUNDS; round++) {
      untracedCpu.push(await storm(bin));
      const object = BpfObject.open(objectPath);
      try {
        await object.loadAsync();
        await object.attachAllAsync();
        const reader = new RingBufferReader(object.map('rb'));
        let records = 0;
        const drain = () => (records += reader.drain(() => {}));
        const drainer = setInterval(drain, DRAIN_MS);
        const statsFd = enableRunTimeStats();
        try {
          const before = OPERATIONS.map(([name]) => programStats(object.programFd(name)));
          await storm(bin);
          OPERATIONS.forEach(([name], i) => {
            const after = programStats(object.programFd(name));
            const runs = Number(after.runCount - before[i]!.runCount);
            runsPerConnect = runs / CONNECTS;
            perRun.get(name)!.push(Number(after.runTimeNs - before[i]!.runTimeNs) / runs);
          });
          drain();
          const full = object.map('rb_full').lookup(Buffer.alloc(4))?.readBigUInt64LE(0) ?? 0n;
          if (full) note(`round ${round + 1}: ${full} records found the ring buffer full (${records} read): their cost is a failed reserve`);
        } finally {
          closeSync(statsFd);
          clearInterval(drainer);
          reader.close();
        }
      } finally {
        object.close();
      }
    }
    const empty = median(perRun.get('empty')!);
    const connectNs = median(untracedCpu) / CONNECTS;
    section(`${ROUNDS} storms of ${fmtCount(CONNECTS)} loopback connects, every program attached at once; medians`);
    kv('state changes per connect', runsPerConnect.toFixed(1));
    kv('untraced CPU per connect', `${(connectNs / 1000).toFixed(1)} µs`);
    kv('empty program (kernel stats, their own clock reads)', `${empty.toFixed(0)} ns a run`);
    table(
      ['operation', 'ns each', 'once per connect', 'at every state change'],
      OPERATIONS.filter(([name]) => name !== 'empty').map(([name, what]) => {
        const ns = median(perRun.get(name)!) - empty;
        return [what, ns.toFixed(0), `${((100 * ns) / connectNs).toFixed(2)}%`, `${((100 * ns * runsPerConnect) / connectNs).toFixed(1)}%`];
      }),
      numericColumns(4),
    );
    note('the % columns: what that much work adds to the storm, as a share of its untraced CPU per connect');
    note("the dispatch of a program to this hook (no work at all) is tracer-comparison's 'empty programs' column");
  } finally {
    dir.remove();
  }
}

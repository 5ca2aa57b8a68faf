// The kernel log's messages, as kernels print them, read into events
// (classify) and findings: which messages are known and what they are about,
// records a process wrote are never the kernel's, a crash loop names its
// function and leads the signals finding of the same program, and what was
// logged only before the window is a step less grave.
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/captures/dmesg/classify.js';
import { parseRecord, type KmsgRecord } from '../../src/captures/dmesg/kmsg.js';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { on, result, run } from './fixtures.js';

const WINDOW_US = 5_000_000_000;
let seq = 0;
/** A /dev/kmsg record of the kernel (facility 0) at `level`, `secondsIn` after the window's start (negative: before it). */
const record = (text: string, secondsIn = 1, level = 3, facility = 0): KmsgRecord =>
  parseRecord(`${(facility << 3) | level},${++seq},${WINDOW_US + secondsIn * 1e6},-,caller=T1;${text}\n SUBSYSTEM=test\n`)!;
const classified = (records: KmsgRecord[]) => classify(records, (us) => Date.parse('2026-01-01T00:00:00Z') + (us - WINDOW_US) / 1000, 0, WINDOW_US, 1000);

describe('kernel log messages', () => {
  it('reads a /dev/kmsg record: level, facility, time, text with its escapes, and its dictionary', () => {
    const r = parseRecord('3,42,123456789,-,caller=T7;EXT4-fs error (device sdb1): a\\x0ab\n SUBSYSTEM=block\n DEVICE=b8:17\n')!;
    expect(r).toEqual({
      seq: 42,
      level: 3,
      facility: 0,
      usec: 123456789,
      text: 'EXT4-fs error (device sdb1): a\nb',
      dict: { SUBSYSTEM: 'block', DEVICE: 'b8:17' },
    });
    expect(parseRecord('not a record')).toBeUndefined();
  });

  it('knows the messages that name a cause, each with what it is about', () => {
    const lines: [string, string, string][] = [
      [
        'order-parser[4242]: segfault at 0 ip 000055d0c7a50445 sp 00007ffc2b1c6a40 error 4 in order-parser[1445,55d0c7a4f000+1000] likely on CPU 1 (core 1, socket 0)',
        'crash',
        'order-parser',
      ],
      ['calc[77] trap divide error ip:401136 sp:7ffd4a4c8e40 error:0 in calc[401000+1000]', 'crash', 'calc'],
      ['traps: report-gen[812] general protection fault ip:7f3a1c2b4d10 sp:7ffc0e9d2a30 error:0 in libc.so.6[7f3a1c200000+195000]', 'crash', 'report-gen'],
      [
        'Memory cgroup out of memory: Killed process 912 (billing-api) total-vm:1048576kB, anon-rss:524288kB, file-rss:1024kB, shmem-rss:0kB, UID:0 pgtables:1100kB oom_score_adj:0',
        'oom-kill',
        'billing-api',
      ],
      ['INFO: task dd:5150 blocked for more than 122 seconds.', 'hung-task', 'dd'],
      ['watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [kworker/1:2:99]', 'lockup', 'cpu1'],
      ['I/O error, dev sdb, sector 2048 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 2', 'disk-error', 'sdb'],
      ['Buffer I/O error on dev sdb1, logical block 0, lost async page write', 'disk-error', 'sdb1'],
      ['nvme nvme0: I/O 17 QID 3 timeout, aborting', 'disk-error', 'nvme0'],
      ['nvme nvme1: I/O tag 17 (1011) opcode 0x2 (I/O Cmd) QID 3 timeout, aborting req_op:READ(0) size:4096', 'disk-error', 'nvme1'],
      ['EXT4-fs (sdb1): Remounting filesystem read-only', 'filesystem-error', 'sdb1'],
      ['XFS (nvme1n1): Filesystem has been shut down due to log error (0x2).', 'filesystem-error', 'nvme1n1'],
      ['nfs: server 10.0.0.5 not responding, still trying', 'network-filesystem', '10.0.0.5'],
      ['nf_conntrack: nf_conntrack: table full in netns 4026532173, dropping packet', 'conntrack-full', 'netns 4026532173'],
      ['nf_conntrack: table full, dropping packet', 'conntrack-full', 'host'],
      ['TCP: request_sock_TCP: Possible SYN flooding on port [::]:8080. Sending cookies.', 'syn-flood', '[::]:8080'],
      ['neighbour: arp_cache: neighbor table overflow!', 'network-limit', 'arp_cache'],
      ['e1000e 0000:00:19.0 eth0: NIC Link is Down', 'network-device', 'eth0'],
      ['NETDEV WATCHDOG: eth1 (ixgbe): transmit queue 3 timed out 5008 ms', 'network-device', 'eth1'],
      ['CPU3: Core temperature above threshold, cpu clock throttled (total events = 1)', 'cpu-slowed', 'thermal'],
      ['cgroup: fork rejected by pids controller in /system.slice/app.service', 'cgroup-limit', '/system.slice/app.service'],
      ['EDAC MC0: 1 UE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0', 'hardware-error', 'MC0'],
    ];
    const { events } = classified(lines.map(([text]) => record(text)));
    expect(events.map((e) => [e.text, e.kind, e.subject])).toEqual(lines);
    expect(events[0]!.fields).toMatchObject({ comm: 'order-parser', pid: '4242', address: '0', error: '4', file: 'order-parser', offset: '1445' });
  });

  it("keeps a hung task's call trace and the lock's likely owner; an OOM kill takes the cgroup its context line names", () => {
    const { events } = classified([
      record('INFO: task pg_dump:5150 blocked for more than 122 seconds.'),
      record('      Not tainted 6.18.0 #1'),
      record('"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.'),
      record('task:pg_dump         state:D stack:0     pid:5150  tgid:5150  ppid:1      flags:0x00004002'),
      record('Call Trace:'),
      record(' <TASK>'),
      record(' __schedule+0x2f1/0x8a0'),
      record(' schedule+0x27/0xa0'),
      record(' ? __pfx_wait_bit+0x10/0x10'),
      record(' rwsem_down_write_slowpath+0x2c1/0x6a0'),
      record(' ext4_buffered_write_iter+0x3b/0x120'),
      record(' vfs_write+0x23e/0x410'),
      record('INFO: task pg_dump:5150 is blocked on a rw-semaphore likely owned by task backup:5100'),
      record(' io_schedule+0x46/0x70'),
      record(' </TASK>'),
      record(
        'oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/pod1,task_memcg=/kubepods/pod1/c1,task=java,pid=77,uid=0',
      ),
      record(
        'Memory cgroup out of memory: Killed process 77 (java) total-vm:4194304kB, anon-rss:2097152kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4200kB oom_score_adj:0',
      ),
    ]);
    expect(events.map((e) => e.kind)).toEqual(['hung-task', 'oom-kill']);
    expect(events[0]!.stack).toEqual(['__schedule', 'schedule', 'rwsem_down_write_slowpath', 'ext4_buffered_write_iter', 'vfs_write']);
    expect(events[0]!.fields).toMatchObject({ owner: 'backup:5100', lock: 'rw-semaphore' });
    expect(events[1]!.fields.memcg).toBe('/kubepods/pod1');
  });

  it("never takes a process's record for the kernel's; counts kernel errors it does not know by their shape", () => {
    const { events, unknown, suppressed, fromProcesses } = classified([
      record('EXT4-fs (sdb1): Remounting filesystem read-only', 1, 3, 1), // written to /dev/kmsg by a process: LOG_USER
      record('mydriver 0000:03:00.0: firmware error 17 at 0x1f00'),
      record('mydriver 0000:03:00.0: firmware error 18 at 0x2f00'),
      record('mydriver loaded', 1, 6), // info: not an error
      record('show_signal_msg: 21 callbacks suppressed', 1, 4),
    ]);
    expect(events).toEqual([]);
    expect(fromProcesses).toBe(1);
    expect(suppressed).toEqual({ show_signal_msg: 21 }); // the rate limit's lines: counted, not unknown errors
    expect(unknown).toEqual([expect.objectContaining({ count: 2, text: 'mydriver 0000:03:00.0: firmware error 18 at 0x2f00', inWindow: true })]);
  });
});

describe('kernel log findings', () => {
  const crash = (pid: number, secondsIn: number, site?: Record<string, unknown>) => ({
    ...classified([
      record(
        `order-parser[${pid}]: segfault at 0 ip 000055d0c7a50445 sp 00007ffc2b1c6a40 error 6 in order-parser[1445,55d0c7a4f000+1000] likely on CPU 1 (core 1, socket 0)`,
        secondsIn,
        6,
      ),
    ]).events[0]!,
    ...(site ? { site } : {}),
  });
  const dmesg = (events: unknown[]) =>
    result('dmesg', {
      events,
      unknown: [],
      suppressed: { show_signal_msg: 21 },
      records: events.length,
      fromProcesses: 0,
      lost: 0,
      lookbackSeconds: 600,
      windowStart: '2026-01-01T00:00:00.000Z',
    });
  const site = {
    path: '/opt/shop/bin/order-parser',
    foundBy: 'named on a command line',
    offset: 0x1445,
    function: 'parse_header',
    source: 'parser.c:31',
    inlinedInto: ['handle_request'],
  };
  const ends = result('signals', {
    events: [4001, 4002, 4003, 4004].map((pid) => ({
      kind: 'exit',
      time: '2026-01-01T00:00:01.000Z',
      pid,
      ppid: 9,
      uid: 0,
      comm: 'order-parser',
      cgroupId: '1',
      exitCode: 0,
      signal: 'SIGSEGV',
      coreDumped: false,
      lifetimeMs: 5,
    })),
    exits: 4,
  });

  it('a crash loop names the function it faults in and leads the signals finding of the same program', () => {
    const findings = analyzeRun({ run: run(), results: [on(dmesg([4001, 4002, 4003].map((pid) => crash(pid, 1 + pid / 1e4, site)))), on(ends)] });
    const top = findings[0]!;
    expect(top.capture).toBe('dmesg');
    expect(top.severity).toBe('critical');
    expect(top.title).toMatch(
      /^Kernel log \(3 times in the 6 s window; its rate limit held back 21 more crash lines, of any program\): order-parser \(pid 4003\) segfaulted writing address 0x0 \(a null pointer\) in parse_header \(inlined into handle_request\) \(parser\.c:31, order-parser\+0x1445\): /,
    );
    expect(top.title).toContain('next: fix parse_header (parser.c:31)');
    expect(top.evidence).toMatchObject({ count: 3, inWindow: 3, pid: 4003, site: { function: 'parse_header' } });
    const steps = top.evidence.steps as { capture: string; role: string }[];
    expect(steps).toEqual([expect.objectContaining({ capture: 'signals', role: 'effect' })]);
    expect(findings.filter((f) => f.capture === 'signals')).toEqual([]);
  });

  it('a crash whose file is not found says how to name the function; crashes only before the window are context (info): their processes are gone', () => {
    const findings = analyzeRun({ run: run(), results: [on(dmesg([4001, 4002, 4003].map((pid) => crash(pid, -120 + pid / 1e3))))] });
    expect(findings.filter((f) => f.capture === 'dmesg')).toHaveLength(1);
    expect(findings[0]!.severity).toBe('info');
    expect(findings[0]!.title).toMatch(
      /^Kernel log \(3 times, 116 s before the capture; its rate limit held back 21 more crash lines, of any program\): order-parser \(pid 4003\) segfaulted writing address 0x0 \(a null pointer\) at order-parser\+0x1445 \(order-parser was not found on this host to name the function: addr2line -f -e <its path> 0x1445\): /,
    );
  });

  it('a hung task in the window: critical, with the lock it waited in, its callers and the likely owner', () => {
    const { events } = classified([
      record('INFO: task pg_dump:5150 blocked for more than 122 seconds.'),
      record('Call Trace:'),
      record(' __schedule+0x2f1/0x8a0'),
      record(' schedule+0x27/0xa0'),
      record(' rwsem_down_write_slowpath+0x2c1/0x6a0'),
      record(' ext4_buffered_write_iter+0x3b/0x120'),
      record(' vfs_write+0x23e/0x410'),
      record('INFO: task pg_dump:5150 is blocked on a rw-semaphore likely owned by task backup:5100'),
    ]);
    const findings = analyzeRun({ run: run(), results: [on(dmesg(events))] }).filter((f) => f.capture === 'dmesg');
    expect(findings.map((f) => f.severity)).toEqual(['critical']);
    expect(findings[0]!.title).toContain(
      'pg_dump (pid 5150) was blocked in the kernel for more than 122 s on a lock likely held by backup:5100 (in rwsem_down_write_slowpath ← ext4_buffered_write_iter ← vfs_write): ',
    );
  });

  it('an error Sherlock has no entry for is an info finding when it was logged in the window', () => {
    const data = {
      events: [],
      unknown: [{ text: 'mydriver: firmware error 18', level: 3, count: 2, lastTime: '2026-01-01T00:00:01.000Z', inWindow: true }],
      records: 2,
      lookbackSeconds: 600,
    };
    const findings = analyzeRun({ run: run(), results: [on(result('dmesg', data))] });
    expect(findings.filter((f) => f.capture === 'dmesg').map((f) => [f.severity, f.title])).toEqual([
      ['info', expect.stringContaining('"mydriver: firmware error 18" (2×)')],
    ]);
  });
});

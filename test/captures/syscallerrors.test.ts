// syscallerrors against the real kernel: a program failing to open a named
// missing config file 2000 times is one warning naming program, syscall,
// errno, path and rate; successful opens leave nothing; EAGAIN storms and
// PATH searches are counted as normal behaviour, never a warning; a program
// that cannot fork under its cgroup's pids limit is named with that limit.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeThresholds } from '../../src/analysis/common.js';
import { matchNodeRules } from '../../src/analysis/rules.js';
import { RunbookCatalog } from '../../src/runbooks/catalog.js';
import { expandRunbook } from '../../src/runbooks/expand.js';
import { rowsToKeep, syscallerrors, type SyscallErrorRow, type SyscallerrorsData } from '../../src/captures/syscallerrors/index.js';
import { keyLayout, valueLayout, PATH_LEN, MAX_NR } from '../../src/captures/syscallerrors/decode.js';
import { ADDRESS_ARGUMENT, argumentTable, PATH_ARGUMENT, syscallNames } from '../../src/captures/syscallerrors/file-calls.js';
import { syscallerrorsBaseline } from '../../src/captures/syscallerrors/baseline.js';
import { exhaustion, normalReason } from '../../src/captures/syscallerrors/errnos.js';
import { processLimit, processLimitText } from '../../src/captures/syscallerrors/process-limit.js';
import { projectRoot } from '../../src/util/paths.js';
import { captureAround } from '../helpers/capture-around.js';
import { cLayout } from '../helpers/c-layout.js';
import { faultsBinary } from '../helpers/faults.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { createPidsCgroup, pidsCgroupSkipReason } from '../helpers/memcg.js';
import { waitFor } from '../server/harness.js';
import { programsDir } from '../eval/incidents.js';

const skip = kernelSkipReason();

async function run(argv: string[]): Promise<number> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  clearTimeout(timer);
  return child.pid!;
}

const analyze = (result: SyscallerrorsData & { durationMs: number }) =>
  syscallerrors.analysis!.analyze(result as never, {
    node: 'n1',
    capture: 'syscallerrors',
    file: 'nodes/n1/syscallerrors.json',
    thresholds: mergeThresholds(),
    windowSeconds: result.durationMs / 1000,
  });

describe('syscallerrors: normal behaviour', () => {
  it("a program start's library and locale probes are normal; a missing config file is not", () => {
    expect(normalReason('openat', 'ENOENT', '/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libc.so.6')).toMatch(/dynamic loader/);
    expect(normalReason('openat', 'ENOENT', '/usr/lib/locale/C.UTF-8/LC_ADDRESS')).toMatch(/locale/);
    expect(normalReason('openat', 'ENOENT', '/etc/krb5/user/0/client.keytab')).toMatch(/Kerberos/); // psql and every GSSAPI client, at each connect
    expect(normalReason('openat', 'ENOENT', '/etc/billing/config.yaml')).toBeUndefined();
    expect(normalReason('openat', 'EACCES', '/usr/lib/locale/C.UTF-8/LC_ADDRESS')).toBeUndefined();
  });

  it("an event loop's add-then-modify and removals on epoll are normal; a full epoll set or a bad fd is not", () => {
    expect(normalReason('epoll_ctl', 'EEXIST')).toMatch(/probe/);
    expect(normalReason('epoll_ctl', 'ENOENT')).toMatch(/probe/);
    expect(normalReason('epoll_ctl', 'ENOSPC')).toBeUndefined();
    expect(normalReason('epoll_ctl', 'EBADF')).toBeUndefined();
  });

  it('fcntl on a descriptor that is not open is a probe (node asks that of its fds at start); a write to one is a bug', () => {
    expect(normalReason('fcntl', 'EBADF')).toMatch(/probe/);
    expect(normalReason('write', 'EBADF')).toBeUndefined();
  });

  it('a resource running out is never normal: EAGAIN from clone is the process limit, not "nothing ready"', () => {
    expect(normalReason('read', 'EAGAIN')).toMatch(/non-blocking/);
    expect(normalReason('clone', 'EAGAIN')).toBeUndefined();
    expect(normalReason('clone3', 'EAGAIN')).toBeUndefined();
    expect(exhaustion('clone', 'EAGAIN')).toMatch(/pids\.max/);
    expect(exhaustion('accept4', 'EMFILE')).toMatch(/out of file descriptors/);
    expect(exhaustion('inotify_add_watch', 'ENOSPC')).toMatch(/max_user_watches/);
    expect(exhaustion('write', 'ENOSPC')).toMatch(/no space left/);
    expect(exhaustion('read', 'EAGAIN')).toBeUndefined();
    expect(exhaustion('openat', 'ENOENT')).toBeUndefined();
  });
});

describe('the limit a process that cannot fork is at', () => {
  const cgroup = { path: '/system.slice/render.service', max: 4915, current: 212 };
  const host = { tasks: 32_700, limit: 32_768, setting: 'kernel.pid_max' as const };

  it('the one nearly reached: its cgroup, else the host, else RLIMIT_NPROC, else its cgroup as it is', () => {
    expect(processLimitText({ cgroup: { ...cgroup, current: 4915 }, host, threads: 40 })).toBe(
      'at 4915 of the 4915 tasks its cgroup /system.slice/render.service allows (pids.max), 40 of them its own threads',
    );
    expect(processLimitText({ cgroup, host, nproc: 4096 })).toBe(
      'with 32,700 tasks on the host, at the 32,768 its kernel.pid_max allows (threads count; zombies hold theirs)',
    );
    expect(processLimitText({ cgroup, host: { ...host, tasks: 900 }, nproc: 4096 })).toBe("under RLIMIT_NPROC 4096 (its user's processes and threads)");
    expect(processLimitText({ cgroup, host: { ...host, tasks: 900 } })).toBe(
      'at 212 of the 4915 tasks its cgroup /system.slice/render.service allows (pids.max)',
    );
  });

  it("reads the host's tasks and the lower of pid_max and threads-max", () => {
    const read = processLimit(process.pid)!;
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    const threadsMax = Number(readFileSync('/proc/sys/kernel/threads-max', 'utf8'));
    expect(read.host).toEqual({
      tasks: expect.any(Number),
      limit: Math.min(pidMax, threadsMax),
      setting: threadsMax < pidMax ? 'kernel.threads-max' : 'kernel.pid_max',
    });
    expect(read.host!.tasks).toBeGreaterThan(10);
    expect(read.threads).toBeGreaterThan(0);
  });
});

describe('syscallerrors rows kept', () => {
  const row = (pid: number, comm: string, syscall: string, errno: string, path: string, count: number, normal?: string): SyscallErrorRow => ({
    pid,
    comm,
    uid: 0,
    cgroupId: '1',
    syscall,
    nr: syscall === 'openat' ? 257 : 332,
    errno,
    path,
    count,
    perSecond: count,
    ...(normal ? { normal } : {}),
    firstSeen: '',
    lastSeen: '',
    tid: pid,
  });

  it("a failure spread over many short-lived processes survives a host's busy normal lookups; beyond 50 rows it is folded, its count kept", () => {
    const lookups = Array.from({ length: 400 }, (_, i) => row(5000, 'node', 'statx', 'ENOENT', `/m/${i}.ts`, 3, 'a lookup'));
    const loop = Array.from({ length: 80 }, (_, i) => row(100 + i, 'billing-api', 'openat', 'ENOENT', '/etc/billing/config.yaml', 1));
    const once = row(7, 'cron', 'openat', 'EACCES', '/etc/x', 2);
    const kept = rowsToKeep([...lookups, ...loop, once], 100);
    expect(kept).toHaveLength(100);
    const billing = kept.filter((r) => r.comm === 'billing-api');
    expect(billing).toHaveLength(50);
    expect(billing.reduce((n, r) => n + r.count, 0)).toBe(80);
    expect(billing.reduce((n, r) => n + (r.otherProcesses ?? 0), 0)).toBe(30);
    expect(kept[50]).toMatchObject({ comm: 'cron', errno: 'EACCES' });
    expect(kept.slice(51).every((r) => r.normal)).toBe(true);
    expect(loop.every((r) => r.count === 1)).toBe(true); // the input rows are not changed
  });
});

describe('syscallerrors tables and layout', () => {
  it('matches bpf/syscallerrors/syscallerrors.h', () => {
    const c = cLayout(join(projectRoot, 'bpf/syscallerrors/syscallerrors.h'), {
      syscallerrors_key: ['tgid', 'nr', 'err', 'fd', 'path'],
      syscallerrors_value: [
        'count',
        'first_ns',
        'last_ns',
        'cgroup_id',
        'tid',
        'uid',
        'comm',
        'family',
        'sport',
        'dport',
        'protocol',
        'state',
        'saddr',
        'daddr',
        'retry_ns',
        'asked_family',
        'asked_port',
        'asked_addr',
      ],
    });
    expect(keyLayout).toEqual({
      tgid: c['syscallerrors_key.tgid'],
      nr: c['syscallerrors_key.nr'],
      err: c['syscallerrors_key.err'],
      fd: c['syscallerrors_key.fd'],
      path: c['syscallerrors_key.path'],
      size: c['syscallerrors_key.sizeof'],
    });
    expect(keyLayout.size - keyLayout.path).toBe(PATH_LEN);
    const v = (m: string) => c[`syscallerrors_value.${m}`];
    expect(valueLayout).toEqual({
      count: v('count'),
      firstNs: v('first_ns'),
      lastNs: v('last_ns'),
      cgroupId: v('cgroup_id'),
      tid: v('tid'),
      uid: v('uid'),
      comm: v('comm'),
      family: v('family'),
      sport: v('sport'),
      dport: v('dport'),
      protocol: v('protocol'),
      state: v('state'),
      saddr: v('saddr'),
      daddr: v('daddr'),
      retryNs: v('retry_ns'),
      askedFamily: v('asked_family'),
      askedPort: v('asked_port'),
      askedAddr: v('asked_addr'),
      size: v('sizeof'),
    });
  });

  it('knows the syscall numbers of x86_64 and arm64, and where file calls keep their path', () => {
    expect(syscallNames('x64')).toMatchObject({ 0: 'read', 2: 'open', 59: 'execve', 257: 'openat', 437: 'openat2', 262: 'newfstatat' });
    expect(syscallNames('arm64')).toMatchObject({ 56: 'openat', 63: 'read', 79: 'newfstatat', 221: 'execve', 437: 'openat2' });
    const x64 = argumentTable(PATH_ARGUMENT, MAX_NR, 'x64');
    expect([x64.get(2), x64.get(257), x64.get(59), x64.get(0)]).toEqual([1, 2, 1, undefined]);
    expect(argumentTable(PATH_ARGUMENT, MAX_NR, 'arm64').get(56)).toBe(2);
    const addresses = argumentTable(ADDRESS_ARGUMENT, MAX_NR, 'x64');
    expect([addresses.get(42), addresses.get(49), addresses.get(44), addresses.get(1)]).toEqual([2, 2, 5, undefined]); // connect bind sendto; write has none
  });
});

describe.skipIf(skip)(`syscallerrors on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => {
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('a config file missing 2000 times is one warning; successes leave nothing; EAGAIN and PATH searches are normal', async () => {
    const faults = faultsBinary();
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-syserr-'));
    const config = join(dir, 'etc', 'myservice', 'config.yaml');
    try {
      let failPid = 0;
      let okPid = 0;
      let eagainPid = 0;
      let shellPid = 0;
      const { result, programIds } = await captureAround(
        syscallerrors,
        async () => {
          failPid = await run([faults, 'failopen', config, '2000']);
          okPid = await run([faults, 'okopen', '/etc/hostname', '2000']);
          eagainPid = await run([faults, 'eagain', '5000']);
          shellPid = await run(['sh', '-c', 'sherlock-no-such-program-7z 2>/dev/null; true']);
        },
        { settleMs: 50 },
      );
      expect(stillLoaded(programIds, 2000)).toEqual([]); // raw_tp on sys_exit is freed once no syscall is in it

      const of = (pid: number) => result.rows.filter((r) => r.pid === pid);
      const failing = of(failPid).filter((r) => r.path === config);
      expect(failing).toHaveLength(1);
      expect(failing[0]).toMatchObject({ comm: 'faults', syscall: 'openat', errno: 'ENOENT', count: 2000 });
      expect(failing[0]!.normal).toBeUndefined();
      expect(of(okPid).filter((r) => r.path === '/etc/hostname')).toEqual([]);
      const eagain = of(eagainPid).filter((r) => r.syscall === 'read');
      expect(eagain).toMatchObject([{ errno: 'EAGAIN', count: 5000 }]);
      expect(eagain[0]!.normal).toContain('EAGAIN');
      const search = of(shellPid).filter((r) => r.syscall === 'execve' || r.syscall === 'newfstatat' || r.syscall === 'stat');
      expect(search.length).toBeGreaterThan(0);
      // The shell's PATH search for the missing program (and the spawn's own for sh): lookups, all normal.
      expect(search.filter((r) => !(r.errno === 'ENOENT' && r.normal))).toEqual([]);
      expect(search.some((r) => r.path?.endsWith('/sherlock-no-such-program-7z'))).toBe(true);

      const mine = { ...result, rows: result.rows.filter((r) => [failPid, okPid, eagainPid, shellPid].includes(r.pid)) };
      const { findings } = analyze(mine);
      const warnings = findings.filter((f) => f.severity !== 'info');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.severity).toBe('warning');
      expect(warnings[0]!.title).toMatch(
        new RegExp(
          `^faults \\(pid ${failPid}\\) failed openat\\(${JSON.stringify(config).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\) with ENOENT 2,000 times in .* \\(\\d+/s, threshold 10/s\\): the path does not exist`,
        ),
      );
      expect(warnings[0]!.evidence).toMatchObject({ syscall: 'openat', errno: 'ENOENT', path: config, failures: 2000, impact: { events: 2000 } });
      const normal = findings.filter((f) => f.severity === 'info');
      expect(normal).toHaveLength(1);
      expect(normal[0]!.title).toContain('normal behaviour');
      expect(normal[0]!.title).toContain('EAGAIN');

      expect(syscallerrors.ruleEvents!.records(mine as never)).toContainEqual(
        expect.objectContaining({ kind: 'open', pid: failPid, comm: 'faults', path: config, error: 'ENOENT' }),
      );
      const [metric] = syscallerrorsBaseline({ rows: mine.rows, durationMs: result.durationMs });
      expect(metric!.samples).toBeGreaterThanOrEqual(2000);
      expect(metric!.samples).toBeLessThan(2000 + 50);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('with a pid target: only that process’s failures', async () => {
    const faults = faultsBinary();
    const child = spawn('sh', ['-c', `read x; exec ${faults} failopen /nonexistent/sherlock/a.conf 50`], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      const { result } = await captureAround(
        syscallerrors,
        async () => {
          await run([faults, 'failopen', '/nonexistent/sherlock/b.conf', '50']);
          child.stdin!.end('go\n');
          if (child.exitCode === null) await once(child, 'exit');
        },
        { target: { pid: [child.pid!] }, settleMs: 50 },
      );
      expect(result.rows.every((r) => r.pid === child.pid)).toBe(true);
      expect(result.rows.find((r) => r.path === '/nonexistent/sherlock/a.conf')).toMatchObject({ count: 50, errno: 'ENOENT' });
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);

  it('a refused open of an SSH key by an unprivileged process is the suspicious-activity rule sensitive-open-refused', async () => {
    const faults = faultsBinary();
    let pid = 0;
    const { result } = await captureAround(
      syscallerrors,
      async () => {
        pid = await run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', faults, 'failopen', '/root/.ssh/id_ed25519', '3']);
      },
      { settleMs: 50 },
    );
    const refused = result.rows.filter((r) => r.pid === pid && r.path === '/root/.ssh/id_ed25519');
    expect(refused).toMatchObject([{ syscall: 'openat', errno: 'EACCES', count: 3, uid: 65534 }]);

    const rules = expandRunbook(RunbookCatalog.load(join(projectRoot, 'runbooks')), { runbook: 'suspicious-activity' }).rules!;
    const mine = { ...result, rows: refused };
    const findings = matchNodeRules(rules as never, 'n1', [{ capture: 'syscallerrors', source: syscallerrors.ruleEvents!, data: mine as never }]);
    expect(findings.map((f) => f.id)).toEqual(['syscallerrors:n1:rule:sensitive-open-refused']);
    expect(findings[0]!.title).toContain('/root/.ssh/id_ed25519');
    // A refusal opensnoop (complete) also saw counts once.
    const both = matchNodeRules(rules as never, 'n1', [
      { capture: 'syscallerrors', source: syscallerrors.ruleEvents!, data: mine as never },
      {
        capture: 'opensnoop',
        source: {
          kind: 'open',
          complete: true,
          records: () => [{ kind: 'open', time: '', pid, comm: 'faults', path: '/root/.ssh/id_ed25519', flags: 'O_RDONLY', write: false, error: 'EACCES' }],
        },
        data: {},
      },
    ]);
    expect(both.map((f) => [f.id, f.evidence.hits])).toEqual([['opensnoop:n1:rule:sensitive-open-refused', 1]]);
  }, 30_000);

  it.skipIf(pidsCgroupSkipReason())(
    `a program that cannot fork under its pids limit: clone's EAGAIN is a finding naming the cgroup and its limit${pidsCgroupSkipReason() ? ` (skipped: ${pidsCgroupSkipReason()})` : ''}`,
    async () => {
      const cgroup = createPidsCgroup(8);
      const dir = mkdtempSync(join(tmpdir(), 'sherlock-pids-'));
      const counter = join(dir, 'failures');
      const failures = () => Number(readFileSync(counter, 'utf8').trim()) || 0;
      try {
        const worker = cgroup.spawn([join(programsDir, 'helper-leak.py'), counter, '30']);
        const { result } = await captureAround(
          syscallerrors,
          async () => {
            await waitFor('five failed forks', () => failures() >= 5, { timeoutMs: 10_000 });
          },
          { target: { pid: [worker.pid!] }, settleMs: 50 },
        );
        const rows = result.rows.filter((r) => r.errno === 'EAGAIN');
        expect(rows).toHaveLength(1);
        expect(['clone', 'clone3', 'fork', 'vfork']).toContain(rows[0]!.syscall);
        expect(rows[0]).toMatchObject({ pid: worker.pid, comm: 'render-worker', processLimit: { cgroup: { path: `/${cgroup.name}`, max: 8, current: 8 } } });
        expect(rows[0]!.normal).toBeUndefined();
        expect(rows[0]!.count).toBeGreaterThanOrEqual(5);
        expect(rows[0]!.count).toBeLessThanOrEqual(failures());

        const { findings } = analyze({ ...result, rows });
        expect(findings).toHaveLength(1);
        expect(findings[0]!.title).toContain(`render-worker (pid ${worker.pid}`);
        expect(findings[0]!.title).toContain(`with EAGAIN`);
        expect(findings[0]!.title).toContain(`at 8 of the 8 tasks its cgroup /${cgroup.name} allows (pids.max)`);
        expect(findings[0]!.title).toContain('the process limit is reached');
      } finally {
        await cgroup.remove();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    30_000,
  );
});

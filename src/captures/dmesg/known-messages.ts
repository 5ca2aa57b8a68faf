// The kernel messages that name a cause, as the kernel prints them (6.x, with
// the older forms that are still common): what each means and what to do.
// A message is matched by its first line; named groups become its fields.
// Severity is for a message logged in the window (analyze.ts lowers it for
// one logged only before it). Keep each pattern anchored and cheap: every
// kernel record is tried against the list.
import type { Severity } from '../../analysis/types.js';

export type Fields = Record<string, string>;

export interface KnownMessage {
  kind: string;
  match: RegExp;
  severity: Severity;
  /** What events of one group share (a program, a disk, a server): one finding each. */
  subject: (f: Fields) => string;
  /** The event in words: "order-parser (pid 42) segfaulted". */
  what: (f: Fields) => string;
  /** What it means for the services on the host. */
  means: string;
  next: string;
  /** Lines after it that belong to it (a call trace) are kept with it. */
  trace?: boolean;
}

const pid = (f: Fields) => (f.pid ? ` (pid ${f.pid})` : '');
const hex = '[0-9a-f]+';
/** " in file[offset,base+size]" (6.x) or " in file[base+size]": where a faulting instruction was. */
const IN_FILE = `(?: in (?<file>[^\\[\\s]+)\\[(?:(?<offset>${hex}),)?(?<base>${hex})\\+(?<size>${hex})\\])?`;

export const KNOWN_MESSAGES: readonly KnownMessage[] = [
  {
    kind: 'crash',
    match: new RegExp(`^(?<comm>.{1,16})\\[(?<pid>\\d+)\\]: segfault at (?<address>${hex}) ip (?<ip>${hex}) sp ${hex} error (?<error>${hex})${IN_FILE}`),
    severity: 'warning',
    subject: (f) => f.comm!,
    what: (f) => `${f.comm}${pid(f)} segfaulted`,
    means: 'the process touched memory it may not (a null or freed pointer, a stack overflow) and the kernel killed it',
    next: 'fix the faulting code, or roll back the release that brought it; enable core dumps (ulimit -c, systemd-coredump) for the whole stack',
  },
  {
    kind: 'crash',
    match: new RegExp(
      `^(?:traps: )?(?<comm>.{1,16}?)\\[(?<pid>\\d+)\\]:? (?<fault>general protection fault|trap [a-z ]+?) ip:(?<ip>${hex}) sp:${hex} error:(?<error>${hex})${IN_FILE}`,
    ),
    severity: 'warning',
    subject: (f) => f.comm!,
    what: (f) => `${f.comm}${pid(f)} was killed by a ${f.fault}`,
    means: 'the process ran an instruction the CPU refused (a corrupt pointer, an illegal instruction, a division by zero)',
    next: 'fix the faulting code, or roll back the release that brought it; an illegal instruction can be a build for a newer CPU',
  },
  {
    kind: 'oom-kill',
    match:
      /^(?<scope>Memory cgroup out of memory|Out of memory): Killed process (?<pid>\d+) \((?<comm>[^)]*)\) total-vm:(?<totalVmKb>\d+)kB, anon-rss:(?<anonKb>\d+)kB, file-rss:(?<fileKb>\d+)kB/,
    severity: 'warning',
    subject: (f) => f.comm!,
    what: (f) =>
      `${f.comm}${pid(f)} was OOM-killed${f.memcg ? ` for the memory limit of ${f.memcg}` : f.scope === 'Out of memory' ? ' (the host ran out of memory)' : ''}, holding ${Math.round(Number(f.anonKb) / 1024)} MiB anonymous`,
    means: 'the memory it asked for was not there, and the kernel killed the process it chose',
    next: 'look at what grows in that cgroup (or on the host) before raising the limit',
  },
  {
    kind: 'hung-task',
    match: /^INFO: task (?<comm>.{1,16}):(?<pid>\d+) blocked for more than (?<seconds>\d+) seconds\./,
    severity: 'critical',
    subject: (f) => f.comm!,
    what: (f) => `${f.comm}${pid(f)} was blocked in the kernel for more than ${f.seconds} s${f.owner ? ` on a lock likely held by ${f.owner}` : ''}`,
    means: 'a task waited uninterruptibly (a disk or network filesystem that does not answer, a kernel lock held by a stuck task)',
    next: 'read the call trace for what it waited on (a filesystem, a device, a lock); check that storage and NFS servers answer',
    trace: true,
  },
  {
    kind: 'lockup',
    match: /^watchdog: BUG: soft lockup - CPU#(?<cpu>\d+) stuck for (?<seconds>\d+)s! \[(?<comm>.{1,16}):(?<pid>\d+)\]/,
    severity: 'critical',
    subject: (f) => `cpu${f.cpu}`,
    what: (f) => `CPU ${f.cpu} was stuck in the kernel for ${f.seconds} s running ${f.comm}${pid(f)} (soft lockup)`,
    means: 'nothing else could run on that CPU meanwhile: a kernel bug, or a hypervisor that starves the VM',
    next: "read the call trace; on a VM, check the host's CPU steal and overcommit",
    trace: true,
  },
  {
    kind: 'lockup',
    match: /^(?:Watchdog detected hard LOCKUP on cpu (?<cpu>\d+)|rcu: INFO: (?<flavour>rcu_\w+) (?:self-)?detected stalls? on CPUs?)/,
    severity: 'critical',
    subject: (f) => (f.cpu ? `cpu${f.cpu}` : 'rcu'),
    what: (f) => (f.cpu ? `CPU ${f.cpu} stopped taking interrupts (hard lockup)` : `the kernel's RCU saw a CPU stall (${f.flavour})`),
    means: 'a CPU stopped making progress in the kernel; every task waiting on it stalls',
    next: 'read the call trace; on a VM, check the host for CPU starvation; a kernel update may fix a known bug',
    trace: true,
  },
  {
    kind: 'disk-error',
    match:
      /^(?:blk_update_request: )?(?:critical )?(?<error>I\/O|medium|target|nexus|transport|timeout|critical space allocation|protection|space allocation) error, dev (?<device>[\w-]+), sector (?<sector>\d+)(?: op 0x[0-9a-f]+:\((?<op>\w+)\))?/,
    severity: 'critical',
    subject: (f) => f.device!,
    what: (f) => `${f.error} errors on ${f.device}${f.op ? ` (${f.op.toLowerCase()}s)` : ''}`,
    means: 'the disk failed requests: the reads or writes behind them returned errors or were retried slowly',
    next: "check the disk (smartctl -a, the cloud volume's status) and move its data; a filesystem on it may have gone read-only",
  },
  {
    kind: 'disk-error',
    match:
      /^(?:Buffer I\/O error on (?:dev|device) (?<device>[\w-]+), logical block (?<block>\d+)|(?:nvme )?(?<device2>nvme\d+): I\/O (?:tag )?\d+ .*?QID \d+ timeout, (?<action>aborting|reset controller|disable controller))/,
    severity: 'critical',
    subject: (f) => f.device ?? f.device2!,
    what: (f) => (f.device2 ? `requests to ${f.device2} timed out (${f.action})` : `I/O errors on ${f.device}`),
    means: 'the disk failed or stalled requests: processes waiting on it hang, writes may be lost',
    next: "check the disk (smartctl -a, nvme smart-log, the cloud volume's status) and move its data",
  },
  {
    kind: 'filesystem-error',
    match:
      /^(?<fs>EXT4-fs|XFS|BTRFS)(?: error| critical)? \((?:device )?(?<device>[\w.-]+)\):? (?<detail>.*?(?:Remounting filesystem read-only|shut(?:ting)? down|Corruption|error|I\/O Error|Delayed block allocation failed).*)$/i,
    severity: 'critical',
    subject: (f) => f.device!,
    what: (f) => `${f.fs} on ${f.device} reported "${f.detail!.slice(0, 160)}"`,
    means: 'the filesystem hit an error; when it goes read-only or shuts down every write to it fails (EROFS, EIO)',
    next: 'look at the disk under it for I/O errors, unmount and fsck (xfs_repair) it, and fail services over meanwhile',
  },
  {
    kind: 'network-filesystem',
    match:
      /^(?:nfs: server (?<server>\S+) not responding, (?<state>still trying|timed out)|CIFS: VFS: \\\\(?<server2>\S+?) has not responded in (?<seconds>\d+) seconds)/,
    severity: 'critical',
    subject: (f) => f.server ?? f.server2!,
    what: (f) => `the ${f.server ? 'NFS' : 'SMB'} server ${f.server ?? f.server2} did not answer${f.state === 'timed out' ? ' (requests timed out)' : ''}`,
    means: 'every process reading or writing files there hangs (uninterruptible) until it answers',
    next: 'check that server and the network to it; soft or intr mounts trade hangs for errors',
  },
  {
    kind: 'conntrack-full',
    match: /^nf_conntrack: (?:nf_conntrack: )?table full(?:, | in netns (?<netns>\d+), )dropping packet/,
    severity: 'warning',
    subject: (f) => (f.netns ? `netns ${f.netns}` : 'host'),
    what: (f) => `the connection tracking table was full${f.netns ? ` in network namespace ${f.netns}` : ''}`,
    means: 'new connections through it were dropped (their SYNs retried after 1 s, 3 s, ...)',
    next: 'raise net.netfilter.nf_conntrack_max (and its hash size), or shorten the timeouts of idle connections',
  },
  {
    kind: 'syn-flood',
    match: /^TCP: request_sock_TCP(?:v6)?: Possible SYN flooding on port (?<listener>\S+?)\. (?<action>Sending cookies|Dropping request)/,
    severity: 'warning',
    subject: (f) => f.listener!,
    what: (f) => `the SYN queue of the listener on ${f.listener} overflowed (${f.action!.toLowerCase()})`,
    means: 'more connections arrived than it accepted: a server that does not keep up, or a SYN flood',
    next: "raise the listener's backlog (and net.core.somaxconn) or accept faster; check ss -ltn for its queue",
  },
  {
    kind: 'network-limit',
    match:
      /^(?:neighbour: (?<table>\w+): neighbor table overflow!|TCP: (?<tcp>out of memory -- consider tuning tcp_mem|too many orphaned sockets|time wait bucket table overflow)|VFS: (?<vfs>file-max limit \d+ reached))/,
    severity: 'critical',
    subject: (f) => f.table ?? f.tcp ?? f.vfs!,
    what: (f) =>
      f.table ? `the neighbour (ARP/NDP) table ${f.table} overflowed` : f.vfs ? `the host reached its open file limit (${f.vfs})` : `TCP: ${f.tcp}`,
    means: 'a host-wide kernel table or limit ran out: new connections, packets or files fail until it frees',
    next: 'raise the limit (net.ipv4.neigh.default.gc_thresh3, net.ipv4.tcp_mem, net.ipv4.tcp_max_tw_buckets, fs.file-max) or find what fills it',
  },
  {
    kind: 'network-device',
    // "NETDEV WATCHDOG: eth0 (e1000e): ...", "e1000e 0000:00:19.0 eth0: NIC Link is Down", "igb 0000:01:00.0 eno1: igb: eno1 NIC Link is Down"
    match:
      /^(?:NETDEV WATCHDOG: (?<iface>\S+) \((?<driver>[^)]+)\): transmit queue \d+ timed out|(?:.*? )?(?<iface2>[\w.-]+):(?: \w+: [\w.-]+)? (?:NIC )?Link is Down|(?:.*? )?(?<iface3>[\w.-]+): (?:Reset adapter|Detected Tx Unit Hang))/,
    severity: 'critical',
    subject: (f) => f.iface ?? f.iface2 ?? f.iface3!,
    what: (f) =>
      f.iface ? `${f.iface} stopped sending (transmit queue timed out, ${f.driver})` : f.iface2 ? `the link of ${f.iface2} went down` : `${f.iface3} was reset`,
    means: 'packets through that interface were lost while it was down or resetting: connections stall and retransmit',
    next: "check the interface's link, driver and firmware (ip -s link, ethtool -S), and the switch or hypervisor side",
  },
  {
    kind: 'cpu-slowed',
    match:
      /^(?:CPU(?<cpu>\d+): (?<what>Core|Package) temperature above threshold, cpu clock throttled|sched: (?<rt>RT throttling activated)|clocksource: .*Marking clocksource '(?<clock>\w+)' as unstable)/,
    severity: 'warning',
    subject: (f) => (f.rt ? 'rt' : f.clock ? 'clocksource' : `thermal`),
    what: (f) =>
      f.rt
        ? 'real-time tasks used their CPU budget and were throttled (RT throttling)'
        : f.clock
          ? `the kernel stopped trusting the ${f.clock} clock`
          : `CPU ${f.cpu} was slowed down by its ${f.what!.toLowerCase()} temperature`,
    means: 'code on the host ran slower than it should (a hot CPU, a real-time task hogging one, slow clock reads)',
    next: 'thermal: check cooling and power limits; RT: find the real-time task (chrt -p); clocksource: check the VM host and the tsc flags',
  },
  {
    kind: 'hardware-error',
    match: /^(?:mce: \[Hardware Error\]: (?<mce>.*)|EDAC (?<mc>\w+): \d+ (?<type>CE|UE) (?<edac>.*)|Memory failure: (?<page>0x[0-9a-f]+): (?<action>.*))/,
    severity: 'critical',
    subject: (f) => (f.mc ? `${f.mc}` : 'machine check'),
    what: (f) =>
      f.edac
        ? `${f.type === 'UE' ? 'uncorrectable' : 'corrected'} memory errors (${f.mc})`
        : f.page
          ? `memory page ${f.page} failed (${f.action})`
          : `a machine check: ${f.mce}`,
    means: 'the hardware reported errors: data may be corrupt, and more errors usually follow',
    next: 'move the workload off this host and have its hardware checked',
  },
  {
    kind: 'kernel-bug',
    match: /^(?:BUG: (?!soft lockup)(?<bug>.+)|kernel BUG at (?<at>\S+)|Oops: (?<oops>.+)|WARNING: CPU: \d+ PID: (?<pid>\d+) at (?<warn>\S+ \S+))/,
    severity: 'warning',
    subject: (f) => f.at ?? f.warn ?? (f.bug ?? f.oops ?? '').slice(0, 60),
    what: (f) => (f.warn ? `a kernel warning at ${f.warn}` : `a kernel bug: ${(f.at ?? f.bug ?? f.oops)!.slice(0, 120)}`),
    means: 'the kernel hit a state it should not reach; the task in it may hang or die, and the kernel may misbehave after it',
    next: 'read the call trace for the subsystem; look for a kernel update that fixes it',
    trace: true,
  },
  {
    kind: 'cgroup-limit',
    match: /^cgroup: fork rejected by pids controller in (?<cgroup>\S+)/,
    severity: 'warning',
    subject: (f) => f.cgroup!,
    what: (f) => `forks were refused in ${f.cgroup}: its pids.max was reached`,
    means: 'no new process or thread could start there (fork and pthread_create failed with EAGAIN)',
    next: 'find what holds its tasks (a leak of threads or children) before raising pids.max',
  },
  {
    kind: 'memory-allocation',
    match: /^(?<comm>.{1,16}): page allocation failure: order:(?<order>\d+)/,
    severity: 'warning',
    subject: (f) => f.comm!,
    what: (f) => `${f.comm} could not get ${Math.pow(2, Number(f.order)) * 4} KiB of contiguous memory (order ${f.order})`,
    means: 'memory is short or fragmented: allocations stall in reclaim and compaction, or fail',
    next: 'look at free memory and fragmentation (/proc/buddyinfo); raise vm.min_free_kbytes on hosts with bursty network allocations',
  },
  {
    kind: 'audit-backlog',
    match: /^audit: (?:audit_)?backlog limit exceeded/,
    severity: 'warning',
    subject: () => 'audit',
    what: () => 'the audit backlog was full',
    means: 'processes making audited system calls waited for auditd (audit_backlog_wait_time) or their events were lost',
    next: 'make auditd keep up (fewer rules, a faster disk) or raise its backlog (auditctl -b)',
  },
];

/** A kernel message every trace line looks like: " func+0x12/0x40", " ? func+...", "Call Trace:", " <TASK>". */
export const TRACE_LINE =
  /^(?: {1,2}(?:\? )?[\w.$]+\+0x[0-9a-f]+\/0x[0-9a-f]+| ?<\/?(?:TASK|IRQ|NMI|SOFTIRQ)>|Call Trace:|\s+(?:Not )?[Tt]ainted|"echo 0 > |(?:RIP|RSP|RAX|RDX|RBP|R\d+|CS|CR\d|FS|DS|Code|task|Modules linked in|CPU|Hardware name|Workqueue|INFO: task .* is blocked on)\b)/;

/** A frame of a kernel call trace: " __schedule+0x2f1/0x8a0" (frames marked "? " are guesses and are left out). */
export const TRACE_FRAME = /^ {1,2}([\w.$]+)\+0x[0-9a-f]+\/0x[0-9a-f]+/;

/** "INFO: task a:1 is blocked on a mutex likely owned by task b:2." (6.16+): who holds what a hung task waits for. */
export const HUNG_TASK_OWNER = /^INFO: task .{1,16}:\d+ is blocked on an? (?<lock>[\w-]+) likely owned by task (?<owner>.{1,16}:\d+)/;

/** "oom-kill:constraint=CONSTRAINT_MEMCG,...,oom_memcg=/a,task_memcg=/a/b,task=x,pid=1,uid=0": the cgroup whose limit ran out. */
export const OOM_CONTEXT = /^oom-kill:constraint=(?<constraint>\w+),.*?(?:oom_memcg=(?<memcg>[^,]+),)?task_memcg=(?<taskMemcg>[^,]+),task=.*,pid=(?<pid>\d+),/;

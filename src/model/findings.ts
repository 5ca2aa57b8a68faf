// Findings: what analysis concludes from a run's capture results, ranked.
// Produced by src/analysis (analyzeRun), stored with the run, shown in the
// API, summary.md and report.html.
import { z } from 'zod';

export type Severity = 'critical' | 'warning' | 'info';

export interface Finding {
  /** Stable within a run, e.g. "tcpconnlat:web-1:10.0.3.7:5432". */
  id: string;
  severity: Severity;
  /** One sentence a human can act on: "Connects from checkout to 10.0.3.7:5432 take 212 ms at p99 (threshold 100 ms)". */
  title: string;
  node: string;
  capture: string;
  /** The numbers and top rows behind it. */
  evidence: Record<string, unknown>;
  /** Bundle path of the capture file that backs it, e.g. "nodes/web-1/tcpconnlat.json". */
  file: string;
  /** Its impact on the run's symptom (impact.value weighed by how directly it bears on it); the order of findings. */
  score: number;
  /** How much it costs, in a unit every kind shares, and why that number; absent for findings about the run itself. */
  impact?: Impact;
  /** Findings of one node with the same cause key are one finding (src/analysis/causes.ts). */
  cause?: SameCause;
  /** What it shows or explains, for cause chains across captures (src/analysis/causes.ts). */
  links?: Links;
}

/** "The same on N more": findings with one key merge, each kept as a subject with its numbers. */
export interface SameCause {
  /** What makes two findings the same cause: "python3 wrote under /var/log/app". */
  key: string;
  /** What differs between them: the file, the destination, the pid. */
  subject: string;
}

/**
 * Link keys ("syn-loss:10.0.3.7:5432", "cpu-saturation"): a finding that
 * `shows` a key is a symptom, one that `explains` it a cause; on the same node
 * they become one finding with the other as a step. `onlyAsCause`: a candidate
 * cause that is dropped when nothing it explains was found.
 */
export const linksSchema = z.object({
  shows: z.array(z.string()).optional(),
  explains: z.array(z.string()).optional(),
  onlyAsCause: z.boolean().optional(),
  /** As a cause it leads the symptoms it explains, though it names no one process (a throttled cgroup, a restart loop). */
  leads: z.boolean().optional(),
  /**
   * Keys whose symptom is part of this finding's own cost (an exec storm's parent on CPU forking it):
   * linked, it leads, the symptom's impact adds to its own, and it takes over what the symptom explained.
   */
  costs: z.array(z.string()).optional(),
  /** The most of such a symptom's impact (s/s) that can be this finding's cost: a larger one has a cause of its own. */
  costsAtMost: z.number().optional(),
  /**
   * Keys of a finding this one repeats as another capture saw it (a restart loop's exits, seen by execsnoop by the
   * program's file): it becomes a step of the one that explains the key, adding nothing to its impact or severity.
   */
  repeats: z.array(z.string()).optional(),
  /**
   * The threads its time was spent in, each with that time ([tid, ms]): a cause and a symptom that both name theirs
   * are linked only when the cause's time in the symptom's threads fills a quarter of the symptom's (a process's
   * sleeps explain its slow answers when the threads that answered slept that long, not a poller's beside them).
   */
  threads: z.array(z.tuple([z.number().int(), z.number()])).optional(),
});
export type Links = z.infer<typeof linksSchema>;

/** What a runbook is about: the symptom its findings are ranked against. */
export const SYMPTOMS = ['latency', 'cpu', 'security', 'disk', 'health'] as const;
export type Symptom = (typeof SYMPTOMS)[number];

/**
 * A finding's impact. `s/s` is seconds per second of window, summed over the
 * affected processes: time they lost (waiting for a CPU, a SYN retransmit,
 * the disk, a lock) or CPU they used; 1 is one thread stalled, or one CPU
 * busy, for the whole window. `hits` counts matches of a security rule (their
 * weight is the rule's severity).
 */
export interface Impact {
  value: number;
  unit: 's/s' | 'hits';
  /** The arithmetic in words: "2 connects × ~1.03 s over a 3 s window". */
  basis: string;
  /** The symptoms it bears on directly; on others it counts a quarter. */
  bears: Symptom[];
}

/** Threshold overrides a runbook may set (analysis has defaults for each). */
export interface Thresholds {
  connectP99Ms?: number;
  /** Failed connects (refused, timed out, unreachable) to one destination. */
  connectFailures?: number;
  retransmitsPerFlow?: number;
  resetsPerFlow?: number;
  rttP99Ms?: number;
  cpuHotFunctionPct?: number;
  /** A process on CPU this many CPUs' worth on average over the window is busy. */
  cpuBusyCores?: number;
  offcpuHotStackPct?: number;
  runqP99Ms?: number;
  execsPerSecondPerParent?: number;
  failedExecs?: number;
  hotFileBytesPerSecond?: number;
  bioP99Ms?: number;
  /** Ends of one program by the same signal (or exit code) in a window that make a crash loop. */
  crashLoopExits?: number;
  /** Failures of one (process, syscall, errno, path) per second that are a finding, not noise. */
  failedCallsPerSecond?: number;
  /** A DNS lookup answered this late, or not at all, is slow. */
  dnsSlowMs?: number;
  /** A TCP peer's answer (or a server's own) this late, or never, is slow. */
  responseSlowMs?: number;
}

/** One number a baseline keeps from a node's capture result, comparable between runs. */
export interface BaselineMetric {
  metric: string;
  value: number;
  /**
   * us: latency; pct: a share (of CPU, of the window); rate: events per second;
   * per_min: events per minute of the window, 0 included (rare events: OOM kills, crashes).
   */
  unit: 'us' | 'pct' | 'rate' | 'per_min';
  /** The capture it comes from (for links to its section and file). */
  capture: string;
  /** Samples behind the value (histogram entries, profile samples, events): few make a noisy number. */
  samples: number;
  /** Fewest samples that make a regression (default 5); 1 where one event matters, e.g. an OOM kill. */
  minSamples?: number;
}

// Findings: what analysis concludes from a run's capture results, ranked.
// Produced by src/analysis (analyzeRun), stored with the run, shown in the
// API, summary.md and report.html.

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
  /** For ranking among equal severities: larger is worse. */
  score: number;
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

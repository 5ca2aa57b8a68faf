// Prometheus text exposition: HTTP latency per route (this replica), and run
// and queue figures shared through Redis (all replicas agree).
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface Series {
  buckets: number[];
  count: number;
  sum: number;
}

export class HttpMetrics {
  private readonly series = new Map<string, Series>();

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `method="${method}",route="${route}",status="${status}"`;
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { buckets: LATENCY_BUCKETS.map(() => 0), count: 0, sum: 0 }));
    LATENCY_BUCKETS.forEach((le, i) => {
      if (seconds <= le) s!.buckets[i]!++;
    });
    s.count++;
    s.sum += seconds;
  }

  render(): string[] {
    const lines = ['# HELP sherlock_http_request_duration_seconds API request latency', '# TYPE sherlock_http_request_duration_seconds histogram'];
    for (const [labels, s] of this.series) {
      LATENCY_BUCKETS.forEach((le, i) => lines.push(`sherlock_http_request_duration_seconds_bucket{${labels},le="${le}"} ${s.buckets[i]}`));
      lines.push(`sherlock_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${s.count}`);
      lines.push(`sherlock_http_request_duration_seconds_sum{${labels}} ${s.sum}`);
      lines.push(`sherlock_http_request_duration_seconds_count{${labels}} ${s.count}`);
    }
    return lines;
  }
}

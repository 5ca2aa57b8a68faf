// This replica's own Prometheus series (prom-client): process and Node runtime
// defaults, HTTP requests and latency by route pattern and status. Run, queue
// and node figures shared through Redis are added by the /metrics route.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class HttpMetrics {
  // One registry per API instance: tests and embedders may run several in one process.
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'sherlock_http_requests_total',
    help: 'API requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'sherlock_http_request_duration_seconds',
    help: 'API request latency',
    labelNames: ['method', 'route', 'status'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters, which promtool check metrics refuses; each is
    // the sum of its per-type family (nodejs_active_handles{type} and so on).
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
  }

  /** `route` is hono's pattern (`/v1/runs/:id`), never the path: one series per route, not per run id. */
  observe(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.latency.observe(labels, seconds);
  }

  /** Exposition-format text, ending in a newline. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}

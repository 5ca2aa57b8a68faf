// Prometheus text exposition for the series this API builds by hand (shared
// counters, queues, nodes): escaped label values, one # HELP/# TYPE per family.
export type Labels = Record<string, string>;

const escapeValue = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

export function sample(name: string, labels: Labels, value: number): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeValue(v)}"`);
  const text = Number.isNaN(value) ? 'NaN' : value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : String(value);
  return `${name}${pairs.length ? `{${pairs.join(',')}}` : ''} ${text}`;
}

export function header(name: string, type: 'counter' | 'gauge' | 'summary' | 'histogram', help: string): string[] {
  return [`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`];
}

// A rule without `nodes` lets the alert's labels name its node: the first of
// the configured labels present wins, matched against the live node names.
// `pod` is not among them: workers do not report their pods, so a pod alert
// needs `kubernetes_node` (Prometheus' kubernetes_sd relabelling adds it).
import { hostPart, MappingError, type HookAlert } from './mapping.js';
import { own } from '../../util/own.js';

/** The live node the alert names, or a MappingError naming the labels tried. */
export function nodeFromLabels(alert: HookAlert, labels: readonly string[], live: readonly string[]): string {
  const names = new Set(live.map((n) => n.toLowerCase()));
  const tried: string[] = [];
  for (const label of labels) {
    const value = own(alert.labels, label)?.trim();
    if (!value) continue;
    const host = hostPart(value);
    tried.push(`${label}=${value}`);
    if (names.has(host)) return host;
    const short = host.split('.')[0]!;
    if (short && names.has(short)) return short;
  }
  const found = tried.length ? `; the alert has ${tried.join(', ')} and none names a live node` : '; the alert has none of them';
  throw new MappingError(`nodes: no live node named by the labels ${labels.join(', ')}${found}`);
}

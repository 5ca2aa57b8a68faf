// Rule matches as findings: one per rule and node (same cause, one finding),
// Falco's priority mapped to a severity, the first output line as the
// sentence, the count and example alerts as the evidence.
import type { Finding, Severity } from '../model/findings.js';
import type { RuleMatcher } from './matcher.js';
import type { Priority } from './rule-set.js';

/** Emergency..error are critical; warning and notice are warnings; informational and debug are info. */
export const SEVERITY_OF: Record<Priority, Severity> = {
  emergency: 'critical',
  alert: 'critical',
  critical: 'critical',
  error: 'critical',
  warning: 'warning',
  notice: 'warning',
  informational: 'info',
  debug: 'info',
};

const PRIORITY_WEIGHT: Record<Priority, number> = { emergency: 8, alert: 7, critical: 6, error: 5, warning: 4, notice: 3, informational: 2, debug: 1 };

/** Falco's json_output: one alert a line, what Falcosidekick and log shippers read. */
const EXAMPLES_IN_FINDING = 5;

export const ALERTS_FILE = 'falco-alerts.ndjson';

export function ruleFindings(matcher: RuleMatcher, node: string): Finding[] {
  const findings: Finding[] = [];
  for (const hits of matcher.hits.values()) {
    const def = hits.rule.def;
    const first = hits.examples[0];
    const line = first ? first.output.replace(/^\S+: \S+ /, '') : def.name;
    const more = hits.count > 1 ? ` (${hits.count} matches)` : '';
    findings.push({
      id: `falco:${node}:${def.name}`,
      severity: SEVERITY_OF[def.priority],
      title: `${def.name}: ${line.length > 300 ? `${line.slice(0, 299)}…` : line}${more} [Falco rule, ${def.file}]`,
      node,
      capture: [...hits.captures][0] ?? 'falco',
      evidence: {
        rule: def.name,
        priority: def.priority,
        tags: def.tags,
        ruleFile: def.file,
        matches: hits.count,
        // A few; every match is in the node's alerts file.
        examples: hits.examples.slice(0, EXAMPLES_IN_FINDING).map((a) => ({ time: a.time, output: a.output, output_fields: a.output_fields })),
      },
      file: `nodes/${node}/${ALERTS_FILE}`,
      score: hits.count * PRIORITY_WEIGHT[def.priority],
    });
  }
  return findings;
}

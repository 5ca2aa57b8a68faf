// One alert, as every tool's payload is reduced to, and the first rule that
// matches it turned into a POST /v1/runs body.
import type { HookRule, HookTool, HooksConfig, Matcher } from './config.js';
import { own } from '../../util/own.js';

export interface HookAlert {
  tool: HookTool;
  /** The alert or incident id (Alertmanager fingerprint, PagerDuty incident id, generic id). */
  id: string;
  firing: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Tool-specific fields rules may match and templates may use (fields.title...). */
  fields: Record<string, string>;
  url?: string;
  title?: string;
}

export class MappingError extends Error {
  override name = 'MappingError';
}

const matches = (m: Matcher, value: string | undefined) => value !== undefined && ('exact' in m ? m.exact === value : m.regex.test(value));

function matchAll(wanted: Record<string, Matcher> | undefined, have: Record<string, string>): boolean {
  return Object.entries(wanted ?? {}).every(([key, m]) => matches(m, own(have, key)));
}

/** The first rule whose match holds (tool, labels, annotations and fields all), if any. */
export function findRule(config: HooksConfig, alert: HookAlert): { rule: HookRule; index: number } | undefined {
  const index = config.rules.findIndex(
    (r) =>
      (!r.match.tool || r.match.tool === alert.tool) &&
      matchAll(r.match.labels, alert.labels) &&
      matchAll(r.match.annotations, alert.annotations) &&
      matchAll(r.match.fields, alert.fields),
  );
  return index < 0 ? undefined : { rule: config.rules[index]!, index };
}

/** Fills ${labels.x}, ${annotations.x} and ${fields.x}; a missing one is a MappingError. */
export function render(text: string, alert: HookAlert, where: string): string {
  return text.replace(/\$\{([^}]*)\}/g, (_, ref: string) => {
    const path = ref.trim();
    const dot = path.indexOf('.');
    const scope = path.slice(0, dot) as 'labels' | 'annotations' | 'fields';
    const value = own(alert[scope] as Record<string, string> | undefined, path.slice(dot + 1));
    if (value === undefined) throw new MappingError(`${where}: the alert has no ${path}`);
    return value;
  });
}

/** "web-1:9100" → "web-1", "[::1]:9100" → "::1", "Web-1.example" → "web-1.example". */
export function hostPart(instance: string): string {
  const trimmed = instance.trim();
  const v6 = /^\[([^\]]+)\]/.exec(trimmed);
  const host = v6 ? v6[1]! : trimmed.split(':')[0]!;
  return host.toLowerCase();
}

const REASON_MAX = 500;

/** The POST /v1/runs body the rule makes of the alert; its reason links back to the alert. */
export function buildRunRequest(rule: HookRule, alert: HookAlert, labelNode?: () => string): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(rule.params)) {
    params[name] = typeof value === 'string' ? render(value, alert, `params.${name}`) : value;
  }
  let targets: Record<string, unknown>;
  if (rule.nodes === 'all') targets = { all: true };
  else if (rule.nodes === undefined) {
    if (!labelNode) throw new MappingError('nodes: the rule gives none and no node labels are configured');
    targets = { nodes: [labelNode()] };
  } else {
    const list = (Array.isArray(rule.nodes) ? rule.nodes : [rule.nodes]).map((t) => hostPart(render(t, alert, 'nodes')));
    if (list.some((n) => !n)) throw new MappingError('nodes: rendered to an empty node name');
    targets = { nodes: [...new Set(list)] };
  }
  const reason = [`${alert.tool} ${alert.id}`, alert.title ? `"${alert.title}"` : undefined, alert.url].filter(Boolean).join(' ');
  return {
    runbook: rule.runbook,
    ...(Object.keys(params).length ? { params } : {}),
    targets,
    ...(rule.duration !== undefined ? { duration: rule.duration } : {}),
    reason: reason.length > REASON_MAX ? `${reason.slice(0, REASON_MAX - 1)}…` : reason,
  };
}

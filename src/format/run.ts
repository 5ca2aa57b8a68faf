// What a run looked at and where it came from, in words (summary, report, CLI).

/** A target spec for people: "comm checkout, port 8080", or "all processes". */
export function describeTarget(target: Record<string, unknown> | undefined): string {
  const parts = Object.entries(target ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(',') : String(v)}`);
  return parts.length ? parts.join(', ') : 'all processes';
}

/** Where a run came from (RunPlan.origin): "alertmanager alert 4f2a…", "chat #ops", "schedule nightly"; its link, if any. */
export function describeOrigin(origin: Record<string, unknown> | undefined): { text: string; url?: string } | undefined {
  if (!origin || typeof origin !== 'object') return undefined;
  const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  const url = str(origin.url);
  const link = url && /^https?:\/\//i.test(url) ? { url } : {};
  if (str(origin.tool))
    return { text: `${str(origin.tool)} alert ${str(origin.alert) ?? '?'}${str(origin.rule) ? ` (rule ${str(origin.rule)})` : ''}`, ...link };
  if (str(origin.schedule)) return { text: `schedule ${str(origin.schedule)}` };
  if (str(origin.channel) !== undefined || str(origin.user) !== undefined)
    return { text: `chat: ${str(origin.user) ?? '?'} in #${str(origin.channel) ?? '?'}: ${str(origin.command) ?? ''}`.trim() };
  return undefined;
}

// The senders' payloads as zod sees them: only the fields Sherlock uses are
// required; the rest of what the tools send is ignored.
import { z } from 'zod';
import type { HookAlert } from './mapping.js';

const stringMap = z.record(z.string(), z.string()).default({});
const id = z.string().min(1).max(500);

/** Alertmanager webhook, version 4. */
export const alertmanagerSchema = z.object({
  version: z.literal('4'),
  groupKey: z.string().min(1).max(5000),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().optional(),
  externalURL: z.string().optional(),
  alerts: z
    .array(
      z.object({
        status: z.enum(['firing', 'resolved']),
        labels: stringMap,
        annotations: stringMap,
        startsAt: z.string().max(100).optional(),
        generatorURL: z.string().max(5000).optional(),
        fingerprint: id,
      }),
    )
    .max(1000),
});

/** PagerDuty webhooks v3 (an incident event). */
export const pagerdutySchema = z.object({
  event: z.object({
    id,
    event_type: z.string().min(1).max(200),
    resource_type: z.string().optional(),
    data: z
      .object({
        id: id.optional(),
        type: z.string().optional(),
        title: z.string().max(5000).optional(),
        html_url: z.string().max(5000).optional(),
        status: z.string().optional(),
        urgency: z.string().optional(),
        service: z.object({ summary: z.string().optional(), id: z.string().optional() }).partial().optional(),
      })
      .default({}),
  }),
});

/** The generic hook (Opsgenie and others, through a small adapter or template). */
export const genericSchema = z.object({
  id,
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string().max(200), z.string().max(1000)).default({}),
  url: z.string().max(5000).optional(),
  title: z.string().max(1000).optional(),
});

const compact = (fields: Record<string, string | undefined>) =>
  Object.fromEntries(Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined));

export function alertmanagerAlerts(body: z.infer<typeof alertmanagerSchema>): HookAlert[] {
  return body.alerts.map((a) => ({
    tool: 'alertmanager',
    id: a.fingerprint,
    firing: a.status === 'firing',
    labels: a.labels,
    annotations: a.annotations,
    fields: compact({
      status: a.status,
      fingerprint: a.fingerprint,
      groupKey: body.groupKey,
      receiver: body.receiver,
      startsAt: a.startsAt,
      generatorURL: a.generatorURL,
    }),
    ...(a.generatorURL ? { url: a.generatorURL } : {}),
    ...(a.annotations.summary || a.labels.alertname ? { title: a.annotations.summary ?? a.labels.alertname } : {}),
  }));
}

/** Event types that start a run; the others (acknowledged, annotated, ...) are acknowledged only. */
export const PAGERDUTY_FIRING = new Set(['incident.triggered', 'incident.reopened']);

export function pagerdutyAlert(body: z.infer<typeof pagerdutySchema>): HookAlert {
  const d = body.event.data;
  const incident = d.id ?? body.event.id;
  return {
    tool: 'pagerduty',
    id: incident,
    firing: PAGERDUTY_FIRING.has(body.event.event_type),
    labels: {},
    annotations: {},
    fields: compact({
      event_type: body.event.event_type,
      event_id: body.event.id,
      incident_id: incident,
      title: d.title,
      service: d.service?.summary,
      urgency: d.urgency,
      status: d.status,
      url: d.html_url,
    }),
    ...(d.html_url ? { url: d.html_url } : {}),
    ...(d.title ? { title: d.title } : {}),
  };
}

export function genericAlert(body: z.infer<typeof genericSchema>): HookAlert {
  return {
    tool: 'generic',
    id: body.id,
    firing: body.status === 'firing',
    labels: body.labels,
    annotations: {},
    fields: compact({ id: body.id, status: body.status, title: body.title, url: body.url }),
    ...(body.url ? { url: body.url } : {}),
    ...(body.title ? { title: body.title } : {}),
  };
}

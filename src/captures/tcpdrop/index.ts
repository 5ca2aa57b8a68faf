// tcpdrop: packets the kernel dropped and why (skb:kfree_skb's reason, named
// from the kernel's BTF), per reason, packet endpoints, socket and dropping
// function, counted in the kernel; the socket's owner and, for a listener,
// its backlog: an accept-queue overflow names its port, owner and backlog.
import { z } from 'zod';
import { hasTracepoint } from '../../libbpf/index.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { analyzeTcpdrop } from './analyze.js';
import { tcpdropBaseline } from './baseline.js';
import { collectDrops } from './collect.js';
import { keyLayout, listenerLayout, valueLayout } from './decode.js';
import { dropReasons, type DropReasons } from './reasons.js';
import type { DropRow, TcpdropData } from './types.js';

export const tcpdropParams = z
  .object({
    maxRows: z
      .number()
      .int()
      .min(16)
      .max(1_000_000)
      .default(10_240)
      .describe('kinds of drop (reason, endpoints, socket, function) counted in the kernel; more are dropped (map_full)'),
    allProtocols: z.boolean().default(false).describe('count drops of every protocol, not only TCP'),
    maxListeners: z
      .number()
      .int()
      .min(16)
      .max(1_000_000)
      .default(4096)
      .describe('listening sockets whose backlog is remembered (seen when a connection joins their queue)'),
    unspecified: z.boolean().default(false).describe('count drops whose reason is NOT_SPECIFIED too (frees without a stated reason: mostly noise)'),
  })
  .strict();

export type TcpdropParams = z.infer<typeof tcpdropParams>;

/** Reasons never counted unless asked: not a drop, or no reason given. */
const UNSPECIFIED = ['NOT_SPECIFIED', 'NOT_DROPPED_YET'];
const NONE = 0xffffffff;

let cachedReasons: DropReasons | undefined;
/** Read once per process: the kernel's enum does not change while it runs. */
const reasons = () => (cachedReasons ??= dropReasons());

export const tcpdrop: CaptureDefinition<TcpdropParams, TcpdropData> = {
  name: 'tcpdrop',
  summary: 'packets the kernel dropped, with its reason, socket, owner and listener backlog (accept-queue overflows)',
  kind: 'counters',
  params: tcpdropParams,

  configure(object, params) {
    const [a, b] = params.unspecified ? [] : UNSPECIFIED.map((name) => reasons().number(name));
    object.setRodata({ skip_reason_a: a ?? NONE, skip_reason_b: b ?? NONE, tcp_only: !params.allProtocols });
    object.setMaxEntries('drops', params.maxRows);
    object.setMaxEntries('listeners', params.maxListeners);
    // Listener backlogs come from sock:sk_data_ready (6.10+); without it they are unknown, drops still count.
    if (!hasTracepoint('sock', 'sk_data_ready')) object.setAutoload('tp_sk_data_ready', false);
  },

  records: [keyLayout, valueLayout, listenerLayout],
  collect: ({ object, params, target }) => collectDrops(object, target, reasons(), params),
  table: (data) => ({ columns: dropColumns, rows: data.rows }),
  count: (data) => data.rows.length,
  analysis: { checks: 'packet drops', analyze: analyzeTcpdrop },
  baseline: tcpdropBaseline,
};

const dropColumns: Column<DropRow>[] = [
  { header: 'DROPS', value: (r) => String(r.drops), numeric: true },
  { header: 'REASON', value: (r) => r.reason },
  { header: 'PROTO', value: (r) => r.protocol },
  { header: 'SOURCE', value: (r) => r.source || '-' },
  { header: 'DESTINATION', value: (r) => r.destination || '-' },
  { header: 'SOCKET', value: (r) => (r.port ? `:${r.port} ${r.state}${r.backlog !== undefined ? ` backlog ${r.acceptQueue}/${r.backlog}` : ''}` : '-') },
  { header: 'OWNER', value: (r) => (r.pid ? `${r.comm}(${r.pid})` : '-') },
  { header: 'WHERE', value: (r) => r.location },
];

// tcpdrop: packets the kernel dropped and why (skb:kfree_skb's reason, named
// from the kernel's BTF), per reason, packet endpoints, socket and dropping
// function, counted in the kernel; the socket's owner and, for a listener,
// its backlog: an accept-queue overflow names its port, owner and backlog.
import type { CaptureDefinition, Column } from '../capture.js';
import { analyzeTcpdrop } from './analyze.js';
import { tcpdropBaseline } from './baseline.js';
import { collectDrops } from './collect.js';
import { keyLayout, listenerLayout, valueLayout } from './decode.js';
import type { DropRow, TcpdropData } from './types.js';
import { kernelDropReasons, tcpdropSetup } from './setup.js';

export type TcpdropParams = typeof tcpdropSetup.defaults;

export const tcpdrop: CaptureDefinition<TcpdropParams, TcpdropData> = {
  ...tcpdropSetup,
  summary: 'packets the kernel dropped, with its reason, socket, owner and listener backlog (accept-queue overflows)',
  kind: 'counters',

  records: [keyLayout, valueLayout, listenerLayout],
  collect: ({ object, params, target, excludeCgroupId }) => collectDrops(object, target, kernelDropReasons(), { ...params, excludeCgroupId }),
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

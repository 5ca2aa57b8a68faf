// tcpdrop's setup: the drop reasons it skips, its table sizes, and whether this kernel shows listener backlogs.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import { type BpfObject, hasTracepoint } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { boolean, integer, settingsDefaults } from '../settings.js';
import { dropReasons, type DropReasons } from './reasons.js';

/** Reasons never counted unless asked: not a drop, or no reason given. */
const UNSPECIFIED = ['NOT_SPECIFIED', 'NOT_DROPPED_YET'];
const NONE = 0xffffffff;

let cachedReasons: DropReasons | undefined;
/** Read once per process: the kernel's enum does not change while it runs. */
export const kernelDropReasons = () => (cachedReasons ??= dropReasons());

const settings = {
  maxRows: integer(16, 1_000_000, 10_240, 'kinds of drop (reason, endpoints, socket, function) counted in the kernel; more are dropped (map_full)'),
  allProtocols: boolean(false, 'count drops of every protocol, not only TCP and UDP'),
  maxListeners: integer(16, 1_000_000, 4096, 'listening sockets whose backlog is remembered (seen when a connection joins their queue)'),
  unspecified: boolean(false, 'count drops whose reason is NOT_SPECIFIED too (frees without a stated reason: mostly noise)'),
};
const defaults = settingsDefaults(settings);

export const tcpdropSetup = {
  name: 'tcpdrop',
  settings,
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    const [a, b] = params.unspecified ? [] : UNSPECIFIED.map((name) => kernelDropReasons().number(name));
    object.setRodata({ skip_reason_a: a ?? NONE, skip_reason_b: b ?? NONE, tcp_udp_only: !params.allProtocols });
    object.setMaxEntries('drops', params.maxRows);
    object.setMaxEntries('listeners', params.maxListeners);
    // Listener backlogs come from sock:sk_data_ready (6.10+); without it they are unknown, drops still count.
    if (!hasTracepoint('sock', 'sk_data_ready')) object.setAutoload('tp_sk_data_ready', false);
  },
} satisfies CaptureSetup<typeof defaults>;

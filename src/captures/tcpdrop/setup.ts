// tcpdrop's setup: the drop reasons it skips, its table sizes, and whether this kernel shows listener backlogs.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import { type BpfObject, hasTracepoint } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { dropReasons, type DropReasons } from './reasons.js';

/** Reasons never counted unless asked: not a drop, or no reason given. */
const UNSPECIFIED = ['NOT_SPECIFIED', 'NOT_DROPPED_YET'];
const NONE = 0xffffffff;

let cachedReasons: DropReasons | undefined;
/** Read once per process: the kernel's enum does not change while it runs. */
export const kernelDropReasons = () => (cachedReasons ??= dropReasons());

const defaults = { maxRows: 10_240, allProtocols: false, maxListeners: 4096, unspecified: false };

export const tcpdropSetup = {
  name: 'tcpdrop',
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    const [a, b] = params.unspecified ? [] : UNSPECIFIED.map((name) => kernelDropReasons().number(name));
    object.setRodata({ skip_reason_a: a ?? NONE, skip_reason_b: b ?? NONE, tcp_only: !params.allProtocols });
    object.setMaxEntries('drops', params.maxRows);
    object.setMaxEntries('listeners', params.maxListeners);
    // Listener backlogs come from sock:sk_data_ready (6.10+); without it they are unknown, drops still count.
    if (!hasTracepoint('sock', 'sk_data_ready')) object.setAutoload('tp_sk_data_ready', false);
  },
} satisfies CaptureSetup<typeof defaults>;

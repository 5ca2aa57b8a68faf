// tcprtt's setup: how it groups remotes, its table sizes, and the owner programs only a target needs.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { configureOwners, OWNER_PROGRAMS, targetFilters } from '../tcp-owner.js';
import type { ResolvedTarget } from '../target.js';

const defaults = {
  groupBy: 'remote' as 'remote' | 'remoteAddr',
  inFlightOnly: true,
  maxRows: 20,
  maxRemotes: 4096,
  maxSockets: 16_384,
};

export const tcprttSetup = {
  name: 'tcprtt',
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults, target: ResolvedTarget) {
    const filtering = targetFilters(target);
    object.setMaxEntries('remotes', params.maxRemotes);
    object.setRodata({ by_address: params.groupBy === 'remoteAddr', in_flight_only: params.inFlightOnly });
    // Owners matter only to a filter: without one, tcp_probe is the only program.
    configureOwners(object, filtering ? params.maxSockets : 1);
    if (!filtering) for (const program of OWNER_PROGRAMS) object.setAutoload(program, false);
  },
} satisfies CaptureSetup<typeof defaults>;

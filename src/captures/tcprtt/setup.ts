// tcprtt's setup: how it groups remotes, its table sizes, and the owner programs only a target needs.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { boolean, choice, integer, settingsDefaults } from '../settings.js';
import { configureOwners, OWNER_PROGRAMS, targetFilters } from '../tcp-owner.js';
import type { ResolvedTarget } from '../target.js';

const settings = {
  groupBy: choice(['remote', 'remoteAddr'] as const, 'remote', 'one histogram per remote ip:port (remote) or per remote ip (remoteAddr)'),
  inFlightOnly: boolean(true, 'sample only while the socket has unacknowledged data (a receive-only socket keeps its handshake srtt)'),
  maxRows: integer(1, 100_000, 20, 'histograms kept, the most samples first'),
  maxRemotes: integer(16, 1_000_000, 4096, 'remotes with a histogram in the kernel; samples of more count only overall (map_full)'),
  maxSockets: integer(16, 1_000_000, 16_384, 'with a target: sockets whose owner is remembered; past it their samples are left out (map_full)'),
};
const defaults = settingsDefaults(settings);

export const tcprttSetup = {
  name: 'tcprtt',
  settings,
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

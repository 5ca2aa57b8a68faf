// tcpconnlat's setup: how many slowest connects it keeps, and its table sizes.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { integer, settingsDefaults } from '../settings.js';
import { SLOWEST_MAX } from './decode.js';

const settings = {
  slowest: integer(0, SLOWEST_MAX, 20, `slowest connects to list with their process (0: none, at most ${SLOWEST_MAX})`),
  maxDestinations: integer(1, 65_536, 1024, 'destinations (ip:port) with a histogram, and destination/error pairs with failures; more count as map_full'),
  maxInFlight: integer(64, 1_048_576, 8192, 'connects in progress at once that can be timed; more count as map_full'),
};
const defaults = settingsDefaults(settings);

export const tcpconnlatSetup = {
  name: 'tcpconnlat',
  settings,
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    object.setRodata({ slowest_n: params.slowest });
    object.setMaxEntries('dest_hists', params.maxDestinations);
    object.setMaxEntries('failures', params.maxDestinations);
    object.setMaxEntries('connects', params.maxInFlight);
  },
} satisfies CaptureSetup<typeof defaults>;

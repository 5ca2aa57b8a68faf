// Every capture Sherlock can run: one line each. The CLI, API, runbooks and
// reports find captures here and nowhere else.
import type { CaptureDefinition } from './capture.js';
import { execsnoop } from './execsnoop/index.js';
import { profile } from './profile/index.js';
import { offcputime } from './offcputime/index.js';
import { runqlat } from './runqlat/index.js';
import { tcpconnlat } from './tcpconnlat/index.js';
import { tcplife } from './tcplife/index.js';
import { filetop } from './filetop/index.js';
import { opensnoop } from './opensnoop/index.js';
import { biolatency } from './biolatency/index.js';
import { oomkill } from './oomkill/index.js';
import { signals } from './signals/index.js';
import { syscallerrors } from './syscallerrors/index.js';
import { tcpretrans } from './tcpretrans/index.js';
import { tcpreset } from './tcpreset/index.js';
import { tcprtt } from './tcprtt/index.js';
import { tcpflow } from './tcpflow/index.js';
import { cputhrottle } from './cputhrottle/index.js';
import { lockwait } from './lockwait/index.js';
import { tcpdrop } from './tcpdrop/index.js';
import { reclaim } from './reclaim/index.js';
import { dnslat } from './dnslat/index.js';
import { tcpresponse } from './tcpresponse/index.js';
import { iothrottle } from './iothrottle/index.js';
import { iotop } from './iotop/index.js';
import { dmesg } from './dmesg/index.js';
import { memgrowth } from './memgrowth/index.js';
import { fsfill } from './fsfill/index.js';

// Each capture has its own params and data types; the registry holds them side by side.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const definitions: CaptureDefinition<any, any>[] = [
  execsnoop,
  profile,
  offcputime,
  runqlat,
  tcpconnlat,
  tcplife,
  filetop,
  opensnoop,
  biolatency,
  tcpretrans,
  tcpreset,
  tcprtt,
  tcpflow,
  cputhrottle,
  lockwait,
  tcpdrop,
  oomkill,
  signals,
  syscallerrors,
  reclaim,
  dnslat,
  tcpresponse,
  iothrottle,
  iotop,
  dmesg,
  memgrowth,
  fsfill,
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const captures: ReadonlyMap<string, CaptureDefinition<any, any>> = new Map(definitions.map((d) => [d.name, d]));

export function captureNames(): string[] {
  return [...captures.keys()];
}

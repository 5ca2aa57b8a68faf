// Every capture's name, and one capture loaded alone: `sherlock capture NAME`
// starts one without importing the others (the registry imports them all,
// most of a cold start), and an idle worker holds only their setups (its warm
// pool's). test/captures/capture-names.test.ts keeps this list equal to the registry's.
import type { CaptureDefinition, CaptureSetup } from './capture.js';

export const CAPTURE_NAMES: readonly string[] = [
  'execsnoop',
  'profile',
  'offcputime',
  'runqlat',
  'tcpconnlat',
  'tcplife',
  'filetop',
  'opensnoop',
  'biolatency',
  'tcpretrans',
  'tcpreset',
  'tcprtt',
  'tcpflow',
  'cputhrottle',
  'lockwait',
  'tcpdrop',
  'oomkill',
  'signals',
  'syscallerrors',
  'reclaim',
  'dnslat',
  'tcpresponse',
  'iothrottle',
  'iotop',
  'dmesg',
  'memgrowth',
  'fsfill',
];

/** The capture's definition from its own folder (src/captures/<name>/index.ts exports it by its name), or undefined for an unknown name. */
export async function loadCapture(name: string): Promise<CaptureDefinition | undefined> {
  if (!CAPTURE_NAMES.includes(name)) return undefined;
  // @vite-ignore: vitest resolves the path when it runs, as node does.
  const module = (await import(/* @vite-ignore */ `./${name}/index.js`)) as Record<string, CaptureDefinition | undefined>;
  return module[name];
}

/** The capture's setup alone (src/captures/<name>/setup.ts exports it as <name>Setup), or undefined for an unknown name. */
export async function loadSetup(name: string): Promise<CaptureSetup | undefined> {
  if (!CAPTURE_NAMES.includes(name)) return undefined;
  const module = (await import(/* @vite-ignore */ `./${name}/setup.js`)) as Record<string, CaptureSetup | undefined>;
  return module[`${name}Setup`];
}

// Every capture's name, and one capture loaded alone: `sherlock capture NAME`
// starts one without importing the others (the registry imports them all,
// most of a cold start). test/captures/capture-names.test.ts keeps this list
// equal to the registry's.
import type { CaptureDefinition } from './capture.js';

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
  'cputhrottle',
  'lockwait',
  'tcpdrop',
  'oomkill',
  'signals',
  'syscallerrors',
];

/** The capture's definition from its own folder (src/captures/<name>/index.ts exports it by its name), or undefined for an unknown name. */
export async function loadCapture(name: string): Promise<CaptureDefinition | undefined> {
  if (!CAPTURE_NAMES.includes(name)) return undefined;
  // @vite-ignore: vitest resolves the path when it runs, as node does.
  const module = (await import(/* @vite-ignore */ `./${name}/index.js`)) as Record<string, CaptureDefinition | undefined>;
  return module[name];
}

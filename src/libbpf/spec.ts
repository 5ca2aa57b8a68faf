// What an object file contains, as read without privileges or a kernel
// (BpfObject.spec): the values parsing hands to loading and attaching.
import type { VariableSpec } from './btf.js';
import type { MapSpec } from './map.js';

export interface ProgramSpec {
  name: string;
  section: string;
  type: string;
  autoload: boolean;
}

/** Everything an object contains, read without privileges or a kernel. */
export interface ObjectSpec {
  path: string;
  programs: ProgramSpec[];
  maps: MapSpec[];
  rodata: VariableSpec[];
}

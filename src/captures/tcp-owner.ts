// The user-space half of bpf/common/tcp_owner.bpf.h, which tcpretrans,
// tcpreset and tcprtt share: sizing the socket-owner map, and when to load
// the programs that keep it.
import type { BpfObject } from '../libbpf/index.js';
import type { ResolvedTarget } from './target.js';

/** Sizes the socket-owner map (tcp_owners). */
export function configureOwners(object: BpfObject, maxSockets: number): void {
  object.setMaxEntries('tcp_owners', maxSockets);
}

/** Does the target filter by process, cgroup, uid or comm (then owners must be tracked)? */
export function targetFilters(target: ResolvedTarget): boolean {
  return target.tgids !== undefined || target.cgroupId !== undefined || target.uid !== undefined || target.comm !== undefined;
}

/** The programs that keep tcp_owners: off when nothing needs an owner. */
export const OWNER_PROGRAMS = [
  'tp_inet_sock_set_state',
  'tp_sock_send_length',
  'tp_sock_recv_length',
  'tp_sys_enter_accept',
  'tp_sys_enter_accept4',
  'tp_tcp_destroy_sock',
] as const;

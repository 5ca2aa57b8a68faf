// The records of bpf/lockwait/lockwait.h: the "waits" map's key (the shared
// stack_key, then the futex word and what kind of wait) and value.
import { decodeStackKey, stackKeyLayout, type StackKey } from '../profile/stack-maps.js';

/** struct lockwait_key. */
export const keyLayout = { stack: 0, uaddr: stackKeyLayout.size, kind: stackKeyLayout.size + 8, size: stackKeyLayout.size + 16 } as const;
/** struct lockwait_value. */
export const valueLayout = { totalNs: 0, count: 8, maxNs: 16, size: 24 } as const;

/** enum lockwait_kind. */
export type WaitKind = 'mutex' | 'other';
const KINDS: Record<number, WaitKind> = { 1: 'mutex', 2: 'other' };

export interface WaitKey {
  stack: StackKey;
  uaddr: bigint;
  kind: WaitKind;
}

export interface WaitValue {
  totalNs: number;
  count: number;
  maxNs: number;
}

export function decodeWaitKey(data: Buffer): WaitKey {
  return {
    stack: decodeStackKey(data.subarray(keyLayout.stack, keyLayout.stack + stackKeyLayout.size)),
    uaddr: data.readBigUInt64LE(keyLayout.uaddr),
    kind: KINDS[data.readUInt32LE(keyLayout.kind)] ?? 'other',
  };
}

export function decodeWaitValue(data: Buffer): WaitValue {
  return {
    totalNs: Number(data.readBigUInt64LE(valueLayout.totalNs)),
    count: Number(data.readBigUInt64LE(valueLayout.count)),
    maxNs: Number(data.readBigUInt64LE(valueLayout.maxNs)),
  };
}

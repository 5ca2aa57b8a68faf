// The records of bpf/lockwait/lockwait.h: the "waits" map's key (the shared
// stack_key, then the futex word and what kind of wait) and value.
// Offsets checked against the object's BTF by test/architecture/record-layouts.test.ts.
import { decodeStackKey, stackKeyLayout, type StackKey } from '../stack-family/stack-maps.js';
import { recordLayout } from '../records.js';

/** struct lockwait_key. */
export const keyLayout = recordLayout('lockwait_key', stackKeyLayout.size + 16, { stack: 0, uaddr: stackKeyLayout.size, kind: stackKeyLayout.size + 8 });
/** struct lockwait_value. */
export const valueLayout = recordLayout('lockwait_value', 24, { total_ns: 0, count: 8, max_ns: 16 });

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

/** LOCKWAIT_GROUP (lockwait.h): a snapshot's group is the futex word with the kind in its two low bits. */
const KIND_BITS = 3n;

export function decodeWaitGroup(group: bigint): { uaddr: bigint; kind: WaitKind } {
  return { uaddr: group & ~KIND_BITS, kind: KINDS[Number(group & KIND_BITS)] ?? 'other' };
}

export function decodeWaitKey(data: Buffer): WaitKey {
  return {
    stack: decodeStackKey(data.subarray(keyLayout.offsets.stack, keyLayout.offsets.stack + stackKeyLayout.size)),
    uaddr: data.readBigUInt64LE(keyLayout.offsets.uaddr),
    kind: KINDS[data.readUInt32LE(keyLayout.offsets.kind)] ?? 'other',
  };
}

export function decodeWaitValue(data: Buffer): WaitValue {
  return {
    totalNs: Number(data.readBigUInt64LE(valueLayout.offsets.total_ns)),
    count: Number(data.readBigUInt64LE(valueLayout.offsets.count)),
    maxNs: Number(data.readBigUInt64LE(valueLayout.offsets.max_ns)),
  };
}

import { constants } from 'node:os';

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, code]) => [code, name]));

export function errnoName(errno: number): string {
  const code = Math.abs(errno);
  return errnoNames.get(code) ?? libbpfErrnos[code] ?? `errno ${code}`;
}

/** A libbpf or kernel call failed; `errno` is positive, `op` names the call. */
export class BpfError extends Error {
  override name = 'BpfError';
  constructor(
    readonly op: string,
    readonly errno: number,
    detail?: string,
  ) {
    super(`${op} failed: ${errnoName(errno)}${detail ? ` (${detail})` : ''}`);
  }
}

/** The kernel or the machine lacks a feature: `feature` says which. Tests skip on it. */
export class NotSupportedError extends Error {
  override name = 'NotSupportedError';
  constructor(
    readonly feature: string,
    detail?: string,
  ) {
    super(`${feature} ${detail ?? 'is not available on this machine'}`);
  }
}

/** The caller lacks a privilege; `capability` says which (CAP_BPF, root, ...). */
export class PermissionError extends Error {
  override name = 'PermissionError';
  constructor(
    readonly capability: string,
    action: string,
  ) {
    super(`${action} needs ${capability}: run as root, or grant it to the worker`);
  }
}

/** An object file that is missing, unreadable or not BPF ELF. */
export class ObjectFileError extends Error {
  override name = 'ObjectFileError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot open BPF object ${path}: ${reason}`);
  }
}

const EPERM = constants.errno.EPERM;
const EACCES = constants.errno.EACCES;

/** Turn a failed privileged call into the error a user can act on. */
export function privilegedCallError(op: string, errno: number, action: string): Error {
  if (errno === EPERM || errno === EACCES) return new PermissionError('CAP_BPF and CAP_PERFMON', action);
  return new BpfError(op, errno);
}

// libbpf's own error codes (LIBBPF_ERRNO__*), returned like errnos.
const libbpfErrnos: Record<number, string> = {
  4000: 'libelf failure',
  4001: 'not a valid BPF ELF object',
  4002: 'kernel version section missing or invalid',
  4003: 'endianness mismatch',
  4004: 'libbpf internal error',
  4005: 'relocation failed',
  4006: 'load failed',
  4007: 'rejected by the kernel verifier',
  4008: 'program too big',
  4009: 'incorrect kernel version',
  4010: 'program type not supported by the kernel',
};

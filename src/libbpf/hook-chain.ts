// Programs of several objects on one raw tracepoint, run from one dispatch.
// Every program attached to a raw tracepoint costs the kernel a dispatch of its
// own (~35 ns a run on the socket-state hook of this project's VM, 110–180 ns on
// sys_enter: retpolines, and past one probe the kernel's static call gives way
// to an iterator); a program declared
// with SHERLOCK_CHAINED_RAW_PROG (bpf/common/sherlock.bpf.h) ends in a tail call
// through its one-slot map `<program>_next` with a constant key, which the
// kernel patches into a direct jump (~10–20 ns). So a hook gets one tiny head
// program, attached while any member is, and its members run in a chain behind
// it: a join fills the last member's slot, a leave links its neighbours. The
// head never leaves first, so no member runs twice or misses a run while
// another comes or goes.
import { BpfError, privilegedCallError } from './errors.js';
import { errnoOf, lib } from './native.js';
import { programStats } from './stats.js';

const EIO = 5;
const BPF_MAP_TYPE_PROG_ARRAY = 3;
const BPF_PROG_TYPE_RAW_TRACEPOINT = 17;
/** A run follows at most 33 tail calls; members past this attach on their own. */
const MAX_CHAIN_MEMBERS = 16;

/** A member of a hook's chain; leave() takes it out (idempotent). */
export interface ChainedProgram {
  readonly hook: string;
  leave(): void;
  /** Runs the kernel skipped while this program was in the chain: they count on the head. */
  missedRuns(): bigint;
}

interface Member {
  progFd: number;
  nextFd: number;
  headMissesAtJoin: bigint;
}

interface Chain {
  hook: string;
  slotFd: number;
  headFd: number;
  linkFd: number;
  members: Member[];
  attached: Promise<void>;
  closed: boolean;
}

const chains = new Map<string, Chain>();
let chaining = true;

/** Off: chained programs attach on their own, one dispatch each (benchmarks compare the two). */
export function setHookChaining(enabled: boolean): void {
  chaining = enabled;
}

export function hookChainingEnabled(): boolean {
  return chaining;
}

/**
 * Adds a loaded program to the chain of raw tracepoint `hook`, attaching the
 * chain's head first if it is the hook's first member. `nextFd` is the
 * program's own `<program>_next` map. Rejects when the chain is full or the
 * head cannot attach; the caller then attaches the program on its own.
 */
export async function joinHookChain(hook: string, progFd: number, nextFd: number): Promise<ChainedProgram> {
  let chain = chains.get(hook);
  if (!chain) {
    chain = openChain(hook);
    chains.set(hook, chain);
  }
  await chain.attached;
  // Its last member left while this join waited: start again on a fresh chain.
  if (chain.closed) return joinHookChain(hook, progFd, nextFd);
  if (chain.members.length >= MAX_CHAIN_MEMBERS) throw new Error(`the chain on ${hook} is full (${MAX_CHAIN_MEMBERS} programs)`);
  const last = chain.members.at(-1);
  try {
    setSlot(last ? last.nextFd : chain.slotFd, progFd);
  } catch (err) {
    if (!chain.members.length) closeChain(chain); // no head left attached with nothing behind it
    throw err;
  }
  const member: Member = { progFd, nextFd, headMissesAtJoin: headMisses(chain) };
  chain.members.push(member);
  let missed: bigint | undefined;
  const live = chain;
  return {
    hook,
    leave() {
      if (missed !== undefined) return;
      missed = headMisses(live) - member.headMissesAtJoin;
      leaveChain(live, member);
    },
    missedRuns: () => missed ?? headMisses(live) - member.headMissesAtJoin,
  };
}

/** Members of each hook's chain now (tests, benchmarks). */
export function hookChainMembers(): Map<string, number> {
  return new Map([...chains].map(([hook, chain]) => [hook, chain.members.length]));
}

function openChain(hook: string): Chain {
  const native = lib();
  const slotFd = native.bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, 'sherlock_chain', 4, 4, 1, null);
  if (slotFd < 0) throw privilegedCallError('bpf_map_create', errnoOf(slotFd), 'creating a hook chain');
  const insns = headInstructions(slotFd);
  const headFd = native.bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, 'sherlock_chain', 'GPL', insns, insns.length / 8, null);
  if (headFd < 0) {
    native.close(slotFd);
    throw privilegedCallError('bpf_prog_load', errnoOf(headFd), 'loading a hook chain head');
  }
  const chain: Chain = { hook, slotFd, headFd, linkFd: -1, members: [], attached: Promise.resolve(), closed: false };
  // Off the event loop: attaching patches kernel text and waits on every CPU.
  chain.attached = new Promise<number>((resolve) =>
    native.bpf_raw_tracepoint_open.async(hook, headFd, (err: unknown, fd: number) => resolve(err ? -EIO : fd)),
  ).then((linkFd) => {
    if (linkFd >= 0) return void (chain.linkFd = linkFd);
    closeChain(chain);
    throw privilegedCallError(`attach of a chain head to raw tracepoint ${hook}`, errnoOf(linkFd), 'attaching a raw tracepoint program');
  });
  return chain;
}

/** r2 = &slot map; r3 = 0; tail_call(ctx, r2, r3); return 0 — r1 holds the context on entry. */
function headInstructions(slotFd: number): Buffer {
  const insn = (code: number, dst: number, src: number, imm: number) => {
    const b = Buffer.alloc(8);
    b.writeUInt8(code, 0);
    b.writeUInt8((src << 4) | dst, 1);
    b.writeInt32LE(imm, 4);
    return b;
  };
  const LD_IMM64 = 0x18;
  const PSEUDO_MAP_FD = 1;
  const MOV64_K = 0xb7;
  const CALL = 0x85;
  const EXIT = 0x95;
  const FUNC_TAIL_CALL = 12;
  return Buffer.concat([
    insn(LD_IMM64, 2, PSEUDO_MAP_FD, slotFd),
    insn(0, 0, 0, 0),
    insn(MOV64_K, 3, 0, 0),
    insn(CALL, 0, 0, FUNC_TAIL_CALL),
    insn(MOV64_K, 0, 0, 0),
    insn(EXIT, 0, 0, 0),
  ]);
}

function leaveChain(chain: Chain, member: Member): void {
  const at = chain.members.indexOf(member);
  if (at < 0) return;
  const before = at === 0 ? chain.slotFd : chain.members[at - 1]!.nextFd;
  const after = chain.members[at + 1];
  if (after) {
    setSlot(before, after.progFd);
    clearSlot(member.nextFd);
  } else clearSlot(before);
  chain.members.splice(at, 1);
  if (!chain.members.length) closeChain(chain);
}

function closeChain(chain: Chain): void {
  if (chain.closed) return;
  chain.closed = true;
  if (chains.get(chain.hook) === chain) chains.delete(chain.hook);
  const native = lib();
  if (chain.linkFd >= 0) native.close(chain.linkFd); // detaches the head
  native.close(chain.headFd);
  native.close(chain.slotFd);
}

function headMisses(chain: Chain): bigint {
  return chain.closed ? 0n : programStats(chain.headFd).recursionMisses;
}

function setSlot(mapFd: number, progFd: number): void {
  const value = Buffer.alloc(4);
  value.writeUInt32LE(progFd);
  const ret = lib().bpf_map_update_elem(mapFd, Buffer.alloc(4), value, 0);
  if (ret !== 0) throw new BpfError('update of a hook chain slot', errnoOf(ret));
}

function clearSlot(mapFd: number): void {
  lib().bpf_map_delete_elem(mapFd, Buffer.alloc(4)); // ENOENT: already empty
}

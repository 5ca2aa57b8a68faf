// What a process's time in the kernel was for, by how it entered: a system
// call (which one), a page fault, an interrupt or a softirq. The kernel leaf
// alone misleads: where the PMU is virtual the profile samples on a timer that
// fires only once interrupts are back on, so the sample lands where they come
// back on (pvm_irq_enable, _raw_spin_unlock_irqrestore), not where the time
// went; and one path's time spreads over many leaves.
import type { FrameLike } from '../../analysis/stack-frames.js';
import { COMPACTION_FUNCTIONS, RECLAIM_FUNCTIONS } from '../memory-frames.js';

export interface KernelActivity {
  /** "syscall:read", "page-fault", ... */
  key: string;
  /** For a sentence, as a kernel frame's name: "read system calls", "page faults". */
  label: string;
  /** Where to look next. */
  next: string;
}

/** A system call's own function, however the kernel's build wraps or inlines it (write: __x64_sys_write, or ksys_write alone). */
const SYSCALL = /^(?:__x64_sys|__arm64_sys|__ia32_sys|__se_sys|__do_sys|__sys|ksys|do_sys)_(\w+)$/;
/** The way in and out of every system call. */
const SYSCALL_ENTRY = /^(do_syscall_64|entry_SYSCALL_64\w*|el0_svc\w*|invoke_syscall)$/;
/** What the crossing itself runs: a stack of only these below SYSCALL_ENTRY is time spent entering and leaving, not in a call. */
const CROSSING =
  /^(syscall_exit_to_user_mode\w*|exit_to_user_mode\w*|syscall_enter_from_user_mode\w*|syscall_trace_enter\w*|__raw_callee_save_\w+|pvm_\w+|native_irq_\w+|\w*irq_(enable|disable)\w*|fpregs_restore_userregs|switch_fpu_return|__rseq_handle_notify_resume|rseq_\w+)$/;
/** A fork copying the process's address space (dup_mm: not vfork, nor a thread's clone, which share it). */
const COPYING_MM = /^(dup_mm|dup_mmap|copy_page_range|copy_p[4gum]d_range|copy_pte_range)$/;
const PAGE_FAULT = /^(asm_exc_page_fault|exc_page_fault|do_user_addr_fault|do_page_fault)$/;
const NET_RX = /^(net_rx_action|__napi_poll|napi_poll)$/;
const SOFTIRQ = /^(__do_softirq|handle_softirqs|do_softirq|irq_exit_rcu)$/;
const IRQ = /^(common_interrupt|asm_common_interrupt|sysvec_\w+|asm_sysvec_\w+)$/;
/** Compaction, for an allocation of contiguous pages (a huge page) or a write to compact_memory; and reclaim in an allocation. */
const COMPACTION = new RegExp(`^(${COMPACTION_FUNCTIONS})$`);
const RECLAIM = new RegExp(`^(${RECLAIM_FUNCTIONS})$`);

/** The activity of a fork copying the process's page tables (forks.ts). */
export const FORK_COPY = 'fork-copy';

/** The innermost way into the kernel on this stack (root first): a softirq inside a syscall is the softirq's time. */
export function kernelActivity(frames: readonly FrameLike[]): KernelActivity | undefined {
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i]!;
    if (f.kind !== 'kernel') break;
    if (NET_RX.test(f.name))
      return {
        key: 'net-rx',
        label: 'network receive softirqs',
        next: 'the packets it receives and where their interrupts run (RPS/RFS, irqbalance), in the flame graph under net_rx_action',
      };
    if (SOFTIRQ.test(f.name)) return { key: 'softirq', label: 'softirqs', next: 'which softirq, in the flame graph under __do_softirq' };
    if (COMPACTION.test(f.name))
      return {
        key: 'compaction',
        label: 'memory compaction (moving pages to make room for huge pages)',
        next: 'transparent_hugepage/defrag (defer+madvise or never lets huge pages not wait for it) and fragmentation (/proc/buddyinfo); reclaim times its stalls',
      };
    if (RECLAIM.test(f.name))
      return {
        key: 'reclaim',
        label: 'memory reclaim in its own allocations',
        next: 'what fills its memory cgroup or the host (reclaim names the limit and times the stalls)',
      };
    if (PAGE_FAULT.test(f.name))
      return {
        key: 'page-fault',
        label: 'page faults',
        next: 'its stacks under exc_page_fault in the flame graph: first touches of memory it allocates (a heap or GC growing and shrinking, mmap and munmap in a loop) or pages read from disk',
      };
    if (SYSCALL_ENTRY.test(f.name))
      return frames.slice(i + 1).every((g) => CROSSING.test(g.name))
        ? {
            key: 'syscall-entry',
            label: 'system call entry and exit',
            next: 'it makes many small system calls: fewer and larger ones (buffered I/O, batched reads and writes) cost less; which calls, in the flame graph under do_syscall_64',
          }
        : undefined; // a call whose own frame the build inlined: its leaf says more
    const call = SYSCALL.exec(f.name)?.[1];
    if (call && frames.slice(i + 1).some((g) => COPYING_MM.test(g.name)))
      return {
        key: FORK_COPY,
        label: "forks copying the process's memory map (page tables: the more memory, the longer each fork)",
        next: `whether it forks while large (a snapshot like Redis's BGSAVE, commands run from a big process): posix_spawn or vfork start commands without the copy, huge pages make the tables smaller; its stacks under ${f.name} in the flame graph`,
      };
    if (call) return { key: `syscall:${call}`, label: `${call} system calls`, next: `why it calls ${call} so much, in the flame graph under ${f.name}` };
    if (IRQ.test(f.name)) return { key: 'irq', label: 'interrupts', next: 'which interrupt, in the flame graph under common_interrupt' };
  }
  return undefined;
}

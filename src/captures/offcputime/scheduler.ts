// The frames every blocked stack ends in, below the wait itself: the
// scheduler's, the generic ways to wait that any caller uses (wait_woken,
// wait_for_completion, bit waits: the caller says what it waits for; a send
// for buffer space and a read for data both sleep in wait_woken), and the
// tracepoint's own when sched_switch has more than one probe (any other
// tracer on it, or tracefs recording comms: the call goes through
// __traceiter_sched_switch then, not straight to the program).
import { isObj, str } from '../../analysis/common.js';
import type { StackSample } from '../../stacks/types.js';
import type { Frame } from '../../symbolize/types.js';

export const SCHEDULER_FRAMES =
  /^(__schedule|schedule|schedule_\w+|__schedule_\w+|preempt_schedule\w*|io_schedule\w*|__cond_resched|finish_task_switch\S*|__switch_to\w*|wait_woken|wait_for_completion\w*|__wait_for_common|wait_for_common\w*|do_wait_for_common|__wait_on_bit\w*|out_of_line_wait_on_bit\w*|bit_wait\w*|__traceiter_\w+|__bpf_trace_\w+|bpf_trace_run\d+|__probestub_\w+)$/;

/** The innermost kernel frame that is not the scheduler: what the thread waited in. */
export function waitFrame(s: StackSample): Frame | undefined {
  for (let i = s.frames.length - 1; i >= 0; i--) {
    const f = s.frames[i]!;
    if (f.kind !== 'kernel') break;
    if (!SCHEDULER_FRAMES.test(f.name)) return f;
  }
  return undefined;
}

/** A compiler's copy of a kernel function (poll_schedule_timeout.constprop.0): the function's own name is the one people know. */
export const COMPILER_SUFFIX = /\.(constprop|isra|part|cold|llvm)(\.\d+)*$/;

/** The innermost kernel frame's name that is not the scheduler's, without a compiler's suffix: what the thread waited in. Reads frames (stored ones too) from the leaf up. */
export function waitName(frames: readonly unknown[]): string | undefined {
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i];
    if (!isObj(f) || f.kind !== 'kernel') break;
    const name = str(f.name).replace(COMPILER_SUFFIX, '');
    if (!SCHEDULER_FRAMES.test(name)) return name || '?';
  }
  return undefined;
}

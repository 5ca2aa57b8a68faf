// The frames every blocked stack ends in, below the wait itself: the
// scheduler's, and the tracepoint's own when sched_switch has more than one
// probe (any other tracer on it, or tracefs recording comms: the call goes
// through __traceiter_sched_switch then, not straight to the program).
export const SCHEDULER_FRAMES =
  /^(__schedule|schedule|schedule_\w+|__schedule_\w+|preempt_schedule\w*|io_schedule\w*|__cond_resched|finish_task_switch\S*|__switch_to\w*|__traceiter_\w+|__bpf_trace_\w+|bpf_trace_run\d+|__probestub_\w+)$/;

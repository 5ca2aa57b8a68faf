// Names for the kernel's enum bpf_prog_type / bpf_map_type values we meet
// (uapi/linux/bpf.h), so specs and errors read as words, not numbers.
const programTypes: Record<number, string> = {
  1: 'socket_filter',
  2: 'kprobe',
  3: 'sched_cls',
  4: 'sched_act',
  5: 'tracepoint',
  6: 'xdp',
  7: 'perf_event',
  8: 'cgroup_skb',
  17: 'raw_tracepoint',
  26: 'tracing',
  29: 'lsm',
};

const mapTypes: Record<number, string> = {
  1: 'hash',
  2: 'array',
  3: 'prog_array',
  4: 'perf_event_array',
  5: 'percpu_hash',
  6: 'percpu_array',
  7: 'stack_trace',
  9: 'lru_hash',
  10: 'lru_percpu_hash',
  12: 'hash_of_maps',
  27: 'ringbuf',
};

export const programTypeName = (type: number): string => programTypes[type] ?? `prog_type_${type}`;
export const mapTypeName = (type: number): string => mapTypes[type] ?? `map_type_${type}`;

export const PERCPU_MAP_TYPES = new Set(['percpu_hash', 'percpu_array', 'lru_percpu_hash']);

// The kernel functions of an allocation that found no free page, as regex
// alternatives: offcputime names the waits inside them, profile the CPU time.
// One list for both, so the two captures name the same frames alike.

/** Reclaim entered from an allocation: direct reclaim or a memory cgroup's. */
export const RECLAIM_FUNCTIONS = String.raw`try_to_free_pages|try_to_free_mem_cgroup_pages|__alloc_pages_direct_reclaim|__perform_reclaim`;
/** Compaction, for an allocation of contiguous pages (a huge page) or a write to compact_memory. */
export const COMPACTION_FUNCTIONS = String.raw`__alloc_pages_direct_compact|try_to_compact_pages|compact_zone\w*|compact_node\w*|sysctl_compaction_handler`;

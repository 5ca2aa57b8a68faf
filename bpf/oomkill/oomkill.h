/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* oomkill: the record user space reads from the ring buffer "events".
 * Decoded by src/captures/oomkill/decode.ts; keep the two in step. */
#ifndef OOMKILL_H
#define OOMKILL_H

#include "../common/sherlock.h"

/* The victim's memory cgroup and its ancestors, nearest first. */
#define OOMKILL_MAX_LEVELS 6

struct oomkill_memcg {
	__u64 cgroup_id;   /* kernfs id of the cgroup on the memory controller's hierarchy (its directory's inode) */
	__u64 max_pages;   /* memory.limit_in_bytes (v1) / memory.max (v2) in pages; huge when unlimited */
	__u64 usage_pages; /* charged pages at the kill */
};

struct oomkill_event {
	__u64 ts_ns;            /* bpf_ktime_get_ns() */
	__u32 victim_pid;       /* tgid of the process the kernel chose */
	__u32 victim_tid;
	__u32 trigger_pid;      /* tgid of the task whose allocation ran out (current) */
	__u32 trigger_tid;
	__u32 victim_uid;
	__s16 oom_score_adj;    /* the victim's */
	__u8 levels;            /* memcg[] entries filled */
	__u8 has_task;          /* 0: this kernel's tracepoint gave only the pid (the rest is empty) */
	__u64 total_vm_pages;   /* the victim's address space and resident memory, in pages */
	__u64 anon_pages;
	__u64 file_pages;
	__u64 shmem_pages;
	__u64 swap_pages;
	__u64 pgtables_bytes;
	__u64 victim_cgroup_id; /* the victim's cgroup v2 id (bpf_get_current_cgroup_id()'s kind) */
	__u64 trigger_memcg_id; /* the trigger's memory cgroup, same kind as memcg[].cgroup_id */
	struct oomkill_memcg memcg[OOMKILL_MAX_LEVELS];
	char victim_comm[TASK_COMM_LEN];
	char trigger_comm[TASK_COMM_LEN];
};

#endif

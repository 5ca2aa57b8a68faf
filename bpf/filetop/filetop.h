/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* filetop: what crosses the boundary. The per-file counters live in the map
 * "files" (key struct filetop_key, per-CPU value struct filetop_stats); each
 * new key's path is sent once over the ring buffer "paths" as a struct
 * filetop_path. Decoded by src/captures/filetop/decode.ts; keep in step. */
#ifndef FILETOP_H
#define FILETOP_H

#include "../common/sherlock.h"

/* Path components, leaf first, each NUL-terminated: at most MAX_DEPTH names
 * in PATH_SIZE bytes (NAME_LEN per name). Deeper paths are marked truncated. */
#define FILETOP_MAX_DEPTH 32
#define FILETOP_NAME_LEN 256
#define FILETOP_PATH_SIZE 4096
/* Walk steps: one per component plus one per mount crossed. */
#define FILETOP_MAX_STEPS 48

/* One file of one process. dev is the kernel's dev_t (major << 20 | minor)
 * of the inode's super block; sockets and pipes have their pseudo-fs dev. */
struct filetop_key {
	__u32 tgid;
	__u32 dev;
	__u64 ino;
};

/* Per-CPU counters of one key: syscalls that returned >= 0, and bytes moved. */
struct filetop_stats {
	__u64 reads;
	__u64 writes;
	__u64 read_bytes;
	__u64 write_bytes;
};

/* The last file counted on each CPU (per-CPU array "last", one slot): its
 * counts gather here while the same file repeats, and are added to "files"
 * when another file comes; user space adds what is left at the end. */
struct filetop_last {
	struct filetop_key key;
	__u64 file;   /* the struct file * and its f_inode the key was read from */
	__u64 inode;
	struct filetop_stats pending;
};

/* flags of struct filetop_path */
#define FILETOP_PATH_TRUNCATED 1 /* deeper than MAX_DEPTH/PATH_SIZE, or a read failed */
#define FILETOP_PATH_PSEUDO 2    /* no path from a root: pipe, socket, anon inode, memfd */
#define FILETOP_PATH_DELETED 4   /* the file was unlinked */

/* Sent once per new key (the only time the path is walked). */
struct filetop_path {
	struct filetop_key key;
	__u32 mode;       /* inode i_mode: S_IFREG, S_IFSOCK, S_IFIFO, ... */
	__u32 depth;      /* names in names[] */
	__u32 size;       /* bytes of names[] used; only these are sent */
	__u32 flags;      /* FILETOP_PATH_* */
	char comm[TASK_COMM_LEN];
	char names[FILETOP_PATH_SIZE]; /* leaf first, NUL-separated */
};

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The socket behind a file descriptor of the current task, for programs
 * that see an fd argument (accept, a failing write): one fd-table walk. */
#ifndef FD_SOCKET_BPF_H
#define FD_SOCKET_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

/* include/uapi/linux/stat.h; #defines, so absent from BTF. */
#define FD_S_IFMT 00170000
#define FD_S_IFSOCK 0140000

/* The struct socket of fd, or NULL when fd is not an open socket. */
static __always_inline struct socket *socket_of_fd(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;

	if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & FD_S_IFMT) != FD_S_IFSOCK)
		return NULL;
	return BPF_CORE_READ(file, private_data);
}

#endif

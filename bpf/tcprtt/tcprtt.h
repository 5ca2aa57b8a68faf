/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tcprtt: the maps user space reads. Decoded by
 * src/captures/tcprtt/index.ts; keep the two in step. */
#ifndef TCPRTT_H
#define TCPRTT_H

#include "../common/sherlock.h"

/* Key of the map "remotes" (value struct sherlock_hist, microseconds). */
struct tcprtt_key {
	__u8 addr[16];  /* the remote address; IPv4 in the first 4 bytes */
	__u16 port;     /* the remote port, host order; 0 when grouped by address */
	__u16 family;   /* AF_INET or AF_INET6 */
	__u32 pad;
};

#endif

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* dnslat: DNS over UDP as packets, whatever the resolver (glibc, musl, Go's,
 * c-ares, systemd-resolved forwarding upstream): every query this host sends
 * to the DNS port and every response it receives from it, with the start of
 * the message, for user space to pair by (addresses, ports, query id).
 *
 * Two raw tracepoints that every packet passes:
 * - net:net_dev_queue, a packet handed to a device: a UDP send reaches it
 *   from the sender's own sendmsg(), so the current task is the sender (the
 *   standard filters apply there). Its network header is set.
 * - net:netif_receive_skb, a packet taken in: softirq, no owner; skb->data is
 *   the network header (set before the header offsets are reset).
 * Queries are taken only on the way out and responses only on the way in, so
 * a message over loopback (a local resolver) is seen once, and a server on
 * this host does not see its own traffic as a client's. Other packets cost
 * the protocol and port reads. DNS over TCP (after a truncated answer) is not
 * followed: the truncated UDP response is seen, flagged. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "sherlock.bpf.h"
#include "dnslat.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SHERLOCK_RECORD(dnslat_event);

/* The server port (53; user space may set another, a test's or dnsmasq's). */
const volatile __u16 targ_port = 53;

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define AF_INET 2
#define AF_INET6 10
#define UDP_HEADER 8

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* user space sizes it (param ringBufferMiB) */
} events SEC(".maps");

static __always_inline int dns_packet(struct sk_buff *skb, unsigned char *nh, bool egress)
{
	__u16 ethertype = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	__u32 l4 = 0;
	__u8 protocol = 0, family;
	__be16 ports[2];
	__be16 ulen;

	if (ethertype == ETH_P_IP) {
		__u8 vihl = 0;

		bpf_probe_read_kernel(&vihl, 1, nh);
		bpf_probe_read_kernel(&protocol, 1, nh + 9);
		l4 = (vihl & 0xf) * 4;
		family = AF_INET;
	} else if (ethertype == ETH_P_IPV6) {
		bpf_probe_read_kernel(&protocol, 1, nh + 6); /* the next header: UDP right after the fixed one */
		l4 = 40;
		family = AF_INET6;
	} else {
		return 0;
	}
	if (protocol != IPPROTO_UDP || l4 < 20)
		return 0;
	if (bpf_probe_read_kernel(ports, sizeof(ports), nh + l4))
		return 0;
	if (bpf_ntohs(egress ? ports[1] : ports[0]) != targ_port)
		return 0;
	if (egress && !sherlock_current_selected())
		return 0;

	struct dnslat_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		sherlock_count(SHERLOCK_DROP_RINGBUF_FULL);
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->direction = egress ? DNSLAT_QUERY : DNSLAT_RESPONSE;
	e->family = family;
	e->sport = bpf_ntohs(ports[0]);
	e->dport = bpf_ntohs(ports[1]);
	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	if (family == AF_INET) {
		bpf_probe_read_kernel(e->saddr, 4, nh + 12);
		bpf_probe_read_kernel(e->daddr, 4, nh + 16);
	} else {
		bpf_probe_read_kernel(e->saddr, 16, nh + 8);
		bpf_probe_read_kernel(e->daddr, 16, nh + 24);
	}
	if (egress) {
		__u64 id = bpf_get_current_pid_tgid();

		e->pid = id >> 32;
		e->tid = (__u32)id;
		e->cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	} else {
		e->pid = 0;
		e->tid = 0;
		e->cgroup_id = 0;
		__builtin_memset(e->comm, 0, sizeof(e->comm));
	}

	/* The message: what the UDP header says, cut to what the skb's linear part holds here. */
	ulen = 0;
	bpf_probe_read_kernel(&ulen, sizeof(ulen), nh + l4 + 4);
	__u32 length = bpf_ntohs(ulen) > UDP_HEADER ? bpf_ntohs(ulen) - UDP_HEADER : 0;
	unsigned char *message = nh + l4 + UDP_HEADER;
	unsigned char *data = BPF_CORE_READ(skb, data);
	__u32 linear = BPF_CORE_READ(skb, len) - BPF_CORE_READ(skb, data_len);
	long room = (long)(data + linear - message);
	__u32 captured = length;

	if (room < (long)captured)
		captured = room > 0 ? room : 0;
	if (captured > DNSLAT_PAYLOAD)
		captured = DNSLAT_PAYLOAD;
	e->length = length;
	e->captured = captured;
	/* 1..DNSLAT_PAYLOAD in a form the verifier can bound. */
	if (captured && bpf_probe_read_kernel(e->payload, ((captured - 1) & (DNSLAT_PAYLOAD - 1)) + 1, message))
		e->captured = 0;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

SHERLOCK_RAW_PROG("raw_tp/net_dev_queue", raw_net_dev_queue, struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);

	if (!head || nh == (__u16)~0U)
		return 0;
	return dns_packet(skb, head + nh, true);
}

SHERLOCK_RAW_PROG("raw_tp/netif_receive_skb", raw_netif_receive_skb, struct sk_buff *skb)
{
	return dns_packet(skb, BPF_CORE_READ(skb, data), false);
}

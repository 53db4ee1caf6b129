/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The exception path to the kernel, in the manner of VPP's linux-cp: a
 * port may have a kernel interface (ports[].kernel-interface, a net_tap
 * device carrying the port's address; control/kernel_if.c makes it). The
 * gateway's own traffic that the data plane does not serve itself (TCP and
 * UDP to its addresses: ssh, BGP, health-check replies; ICMP other than
 * echo requests) goes to the kernel interface of the port that owns the
 * address, and what the kernel sends there leaves through the data plane's
 * routes and neighbours as the gateway's own packets: no TTL decrement, no
 * NAT, ARP answered and asked by the data plane (the interface is NOARP).
 *
 * A kernel interface has one queue per worker: a worker writes the packets
 * it delivers to its own queue, and reads its queue every KERNEL_POLL_US.
 * Both are system calls, so reads are paced (a read of an empty queue
 * would cost every loop ~0.5 us) and writes are rate-limited
 * (dataplane.kernel-rate): a flood at the gateway's address costs a worker
 * a bounded share of its time.
 */
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/dp.h"
#include "dataplane/rate.h"

#define ETH_HDR_LEN   ((uint16_t)sizeof(struct rte_ether_hdr))
#define IPV4_HDR_LEN  ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define KERNEL_BURST  32

static inline void
drop(struct eph_worker *w, struct rte_mbuf *m, enum eph_drop_reason why)
{
	eph_count_drop(&w->stats, why);
	rte_pktmbuf_free(m);
}

/* At most kernel_rate packets a second per worker, bursts of a tenth of a second's worth. */
static bool
kernel_rate_allow(struct eph_worker *w)
{
	const struct eph_dp *dp = w->dp;
	uint64_t cost;

	if (dp->kernel_rate == 0)
		return true;
	cost = dp->tsc_hz / dp->kernel_rate;
	return eph_gcra_take(&w->kernel_tat, rte_rdtsc(), cost,
			     cost * RTE_MAX(dp->kernel_rate / 10, (uint64_t)1));
}

static bool
is_echo_request(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip)
{
	const struct rte_icmp_hdr *icmp = (const struct rte_icmp_hdr *)(ip + 1);

	return ip->next_proto_id == IPPROTO_ICMP &&
	       rte_pktmbuf_data_len(m) >= ETH_HDR_LEN + IPV4_HDR_LEN + sizeof(icmp->icmp_type) &&
	       icmp->icmp_type == RTE_IP_ICMP_ECHO_REQUEST;
}

__rte_noinline void
eph_local_input(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, uint16_t owner)
{
	const struct eph_port *port = &w->dp->ports[owner];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);

	if (is_echo_request(m, ip) || !port->has_kernel) {
		eph_icmp_echo_input(w, in_port, m);
		return;
	}
	if (!kernel_rate_allow(w)) {
		drop(w, m, EPH_DROP_kernel_rate_limited);
		return;
	}
	/* The kernel takes frames addressed to its interface's MAC. */
	rte_ether_addr_copy(&port->kernel_mac, &eth->dst_addr);
	rte_ether_addr_copy(&port->mac, &eth->src_addr);
	if (rte_eth_tx_burst(port->kernel_port_id, w->id, &m, 1) != 1) {
		drop(w, m, EPH_DROP_kernel_tx_full);
		return;
	}
	w->stats.port[owner].to_kernel++;
}

/* A frame the kernel sent on port p's interface: an IPv4 packet of the gateway's own, sent on. */
static void
kernel_input(struct eph_worker *w, uint16_t p, struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth;
	const struct rte_ipv4_hdr *ip;
	uint16_t ihl_len, total, frame_ip_len;

	if (unlikely(m->nb_segs > 1) && rte_pktmbuf_linearize(m) != 0) {
		drop(w, m, EPH_DROP_frame_chained);
		return;
	}
	if (rte_pktmbuf_data_len(m) < ETH_HDR_LEN + IPV4_HDR_LEN) {
		drop(w, m, EPH_DROP_kernel_unsupported);
		return;
	}
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	ip = (const struct rte_ipv4_hdr *)(eth + 1);
	ihl_len = (uint16_t)((ip->version_ihl & 0xf) * 4);
	total = rte_be_to_cpu_16(ip->total_length);
	frame_ip_len = (uint16_t)(rte_pktmbuf_data_len(m) - ETH_HDR_LEN);
	if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) || (ip->version_ihl >> 4) != 4 ||
	    ihl_len < IPV4_HDR_LEN || total < ihl_len || total > frame_ip_len) {
		drop(w, m, EPH_DROP_kernel_unsupported);
		return;
	}
	if (total < frame_ip_len)
		rte_pktmbuf_trim(m, frame_ip_len - total);
	w->stats.port[p].from_kernel++;
	eph_output_originate(w, p, m);
}

void
eph_kernel_poll(struct eph_worker *w, uint64_t now_tsc)
{
	const struct eph_dp *dp = w->dp;
	struct rte_mbuf *pkts[KERNEL_BURST];

	if (dp->n_kernel == 0 || now_tsc - w->kernel_polled_tsc < dp->kernel_poll_tsc)
		return;
	w->kernel_polled_tsc = now_tsc;
	for (uint16_t p = 0; p < dp->n_ports; p++) {
		uint16_t n;

		if (!dp->ports[p].has_kernel)
			continue;
		n = rte_eth_rx_burst(dp->ports[p].kernel_port_id, w->id, pkts, KERNEL_BURST);
		for (uint16_t i = 0; i < n; i++)
			kernel_input(w, p, pkts[i]);
	}
}

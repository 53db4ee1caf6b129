/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Output: routed packets from their next hop to the wire. TTL, MTU and the
 * ICMP errors they call for, the registered forward hook for packets
 * crossing between inside and outside ports, neighbour resolution (a miss
 * goes to the control lcore, which holds the packet), MAC rewrite and
 * buffered transmit. Also the way out for packets a feature rewrote, with
 * one FIB lookup per batch for those whose destination changed.
 */
#include <errno.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_fib.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_tcp.h>

#include "dataplane/cksum.h"
#include "dataplane/dp.h"
#include "dataplane/output.h"

#define ETH_HDR_LEN     ((uint16_t)sizeof(struct rte_ether_hdr))

#define MAX_HOOKS 4

/* dp: ro; cp: written at init, before workers start. In registration order. */
static eph_forward_hook_fn forward_hooks[MAX_HOOKS];
static unsigned int n_forward_hooks;

int
eph_output_hook_register(eph_forward_hook_fn fn)
{
	for (unsigned int i = 0; i < n_forward_hooks; i++)
		if (forward_hooks[i] == fn)
			return 0;
	if (n_forward_hooks == MAX_HOOKS)
		return -ENOSPC;
	forward_hooks[n_forward_hooks++] = fn;
	return 0;
}

static inline void
drop(struct eph_worker *w, struct rte_mbuf *m, enum eph_drop_reason why)
{
	eph_count_drop(&w->stats, why);
	rte_pktmbuf_free(m);
}

static inline struct rte_ipv4_hdr *
pkt_ipv4(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, ETH_HDR_LEN);
}

/*
 * Decrement the TTL (RFC 1812 5.3.1; the caller made sure it is > 1) and
 * patch the header checksum: TTL is the high byte of its 16-bit word with
 * the protocol, so the word drops by 0x0100 and the sum by the same (RFC
 * 1624). One 16-bit load and store: a byte store read back as a word would
 * wait for the store to retire (no store-to-load forwarding).
 */
static inline void
ttl_dec(struct rte_ipv4_hdr *ip)
{
	uint16_t old, new;

	memcpy(&old, &ip->time_to_live, sizeof(old));
	new = (uint16_t)(old - RTE_BE16(0x0100));
	memcpy(&ip->time_to_live, &new, sizeof(new));
	ip->hdr_checksum = eph_cksum_update16(ip->hdr_checksum, old, new);
}

/*
 * MSS clamping (ports[].mss-clamp) of a TCP SYN or SYN-ACK leaving through
 * out_port: an MSS option above the limit is lowered to it and the TCP
 * checksum patched (RFC 1624). A SYN without an MSS option is left alone
 * (its peer assumes 536, below every limit). Options that run past the
 * header or carry a length below 2 are left untouched and counted.
 */
static void
mss_clamp(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, uint16_t out_port)
{
	const struct eph_dp *dp = w->dp;
	uint16_t cfg = dp->ports[out_port].mss_clamp, limit;
	struct rte_ipv4_hdr *ip = pkt_ipv4(m);
	struct rte_tcp_hdr *tcp;
	uint16_t ihl, tot, thl;
	uint8_t *opt;

	if (likely(cfg == EPH_MSS_CLAMP_OFF) || ip->next_proto_id != IPPROTO_TCP)
		return;
	/* Only a first fragment carries the TCP header. */
	if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK))
		return;
	ihl = (uint16_t)((ip->version_ihl & 0x0f) * 4);
	tot = rte_be_to_cpu_16(ip->total_length);
	if (tot < ihl + sizeof(*tcp) || m->data_len < ETH_HDR_LEN + ihl + sizeof(*tcp))
		return;
	tcp = (struct rte_tcp_hdr *)((uint8_t *)ip + ihl);
	if (!(tcp->tcp_flags & RTE_TCP_SYN_FLAG))
		return;
	thl = (uint16_t)((tcp->data_off >> 4) * 4);
	if (thl == sizeof(*tcp))
		return;
	if (thl < sizeof(*tcp) || ihl + thl > tot || ETH_HDR_LEN + ihl + thl > m->data_len) {
		w->stats.mss_bad_options++;
		return;
	}
	if (cfg == EPH_MSS_CLAMP_AUTO) {
		uint16_t mtu = dp->ports[out_port].mtu;

		if (in_port < dp->n_ports)
			mtu = RTE_MIN(mtu, dp->ports[in_port].mtu);
		limit = (uint16_t)(mtu - 40);
	} else {
		limit = cfg;
	}
	opt = (uint8_t *)(tcp + 1);
	for (uint16_t i = 0, n = (uint16_t)(thl - sizeof(*tcp)); i < n;) {
		uint16_t old, new;

		if (opt[i] == 0) /* end of option list */
			return;
		if (opt[i] == 1) { /* no-operation */
			i++;
			continue;
		}
		if (i + 1 >= n || opt[i + 1] < 2 || i + opt[i + 1] > n) {
			w->stats.mss_bad_options++;
			return;
		}
		if (opt[i] != 2) { /* not MSS */
			i = (uint16_t)(i + opt[i + 1]);
			continue;
		}
		if (opt[i + 1] != 4) {
			w->stats.mss_bad_options++;
			return;
		}
		memcpy(&old, &opt[i + 2], sizeof(old));
		if (rte_be_to_cpu_16(old) <= limit)
			return;
		new = rte_cpu_to_be_16(limit);
		memcpy(&opt[i + 2], &new, sizeof(new));
		/*
		 * Options start on a 16-bit boundary; an MSS at an odd offset
		 * straddles two checksum words, where its bytes weigh as the
		 * byte-swapped value (one's-complement sums rotate with the offset).
		 */
		if ((i & 1) == 0)
			tcp->cksum = eph_cksum_update16(tcp->cksum, old, new);
		else
			tcp->cksum = eph_cksum_update16(tcp->cksum, rte_bswap16(old),
							rte_bswap16(new));
		w->stats.mss_clamped++;
		return;
	}
}

static inline bool
too_big(const struct eph_dp *dp, const struct rte_ipv4_hdr *ip, const struct eph_nexthop *nh)
{
	return rte_be_to_cpu_16(ip->total_length) > dp->ports[nh->port].mtu;
}

static inline bool
dont_fragment(const struct rte_ipv4_hdr *ip)
{
	return (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG)) != 0;
}

/*
 * TTL (forwarded packets; the gateway's own keep theirs), MSS clamping, MAC
 * rewrite and transmit of a packet that fits the egress MTU.
 */
static inline void
transmit_one(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m,
	     const struct eph_nexthop *nh, bool forwarded)
{
	struct eph_dp *dp = w->dp;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint32_t target = nh->type == EPH_NH_GATEWAY ? nh->gw : ip->dst_addr;
	const struct rte_ether_addr *mac;

	if (forwarded)
		ttl_dec(ip);
	mss_clamp(w, in_port, m, nh->port);
	mac = eph_neigh_lookup_cached(&dp->neigh, nh->port, target);
	if (unlikely(mac == NULL)) {
		/* The control lcore resolves it, holds the packet and sends it. */
		eph_to_control(w, m, EPH_SLOW_RESOLVE, in_port, nh->port, target);
		return;
	}
	rte_ether_addr_copy(mac, &eth->dst_addr);
	rte_ether_addr_copy(&dp->ports[nh->port].mac, &eth->src_addr);
	w->stats.forwarded += forwarded;
	eph_tx(w, nh->port, m);
}

/* Fragments of one packet at most: 9600 bytes at an MTU of 576 are 18. */
#define MAX_FRAGS 64

/*
 * RFC 791 fragmentation of a packet larger than the egress MTU with DF
 * clear. rte_ipv4_fragment_packet gives each fragment a header in a direct
 * mbuf of the data plane's pool and its payload as an indirect mbuf
 * pointing into m; each is then copied into its one buffer (ports transmit
 * single buffers) and goes the way of any other packet. The header
 * checksum DPDK leaves zero is computed here.
 */
static void
fragment(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m,
	 const struct eph_nexthop *nh, bool forwarded)
{
	struct eph_dp *dp = w->dp;
	struct rte_mbuf *frags[MAX_FRAGS];
	uint16_t rx_port = m->port;
	int32_t n;

	rte_pktmbuf_adj(m, ETH_HDR_LEN);
	n = rte_ipv4_fragment_packet(m, frags, MAX_FRAGS, dp->ports[nh->port].mtu, dp->pool,
				     dp->indirect_pool);
	if (n < 0) {
		drop(w, m, n == -ENOMEM ? EPH_DROP_frag_no_mbuf : EPH_DROP_frag_failed);
		return;
	}
	rte_pktmbuf_free(m); /* the fragments hold their own references to its data */
	w->stats.fragmented++;
	for (int32_t i = 0; i < n; i++) {
		struct rte_mbuf *f = frags[i];
		struct rte_ether_hdr *eth;
		struct rte_ipv4_hdr *ip;

		if (rte_pktmbuf_linearize(f) != 0) {
			drop(w, f, EPH_DROP_frag_no_mbuf);
			continue;
		}
		eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(f, ETH_HDR_LEN);
		if (eth == NULL) {
			drop(w, f, EPH_DROP_frag_no_mbuf);
			continue;
		}
		eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
		ip = (struct rte_ipv4_hdr *)(eth + 1);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		f->port = rx_port;
		w->stats.fragments_sent++;
		transmit_one(w, in_port, f, nh, forwarded);
	}
}

/*
 * The last step of every routed packet: one larger than the egress MTU is
 * fragmented when DF is clear (the callers dealt with DF set), the rest
 * sent as they are.
 */
static inline void
transmit_as(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m,
	    const struct eph_nexthop *nh, bool forwarded)
{
	const struct rte_ipv4_hdr *ip = pkt_ipv4(m);

	if (unlikely(too_big(w->dp, ip, nh))) {
		if (dont_fragment(ip))
			drop(w, m, EPH_DROP_mtu_exceeded);
		else
			fragment(w, in_port, m, nh, forwarded);
		return;
	}
	transmit_one(w, in_port, m, nh, forwarded);
}

static inline void
transmit(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, const struct eph_nexthop *nh)
{
	transmit_as(w, in_port, m, nh, true);
}

void
eph_output_burst(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts,
		 const uint32_t *nh_idx, const uint64_t *hash, uint16_t n)
{
	struct eph_dp *dp = w->dp;
	const struct eph_nexthop *nhs = w->cfg->routes->nh;
	enum eph_port_role in_role = dp->ports[in_port].role;
	bool outbound = in_role == EPH_ROLE_INSIDE;
	bool hooked = n_forward_hooks != 0;
	struct rte_mbuf *cross[EPH_MAX_BURST];
	uint32_t cross_nh[EPH_MAX_BURST];
	struct eph_session_ahead cross_ahead[EPH_MAX_BURST];
	uint16_t n_cross = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct eph_nexthop *nh = &nhs[nh_idx[i]];
		struct rte_ipv4_hdr *ip = pkt_ipv4(m);

		if (unlikely(ip->time_to_live <= 1)) {
			eph_icmp_error(w, in_port, m, EPH_ICMP_TIME_EXCEEDED,
				       EPH_ICMP_TTL_IN_TRANSIT, 0);
			drop(w, m, EPH_DROP_ttl_exceeded);
			continue;
		}
		/* DF clear: fragmented at transmit, after a forward hook's rewrite. */
		if (unlikely(too_big(dp, ip, nh)) && dont_fragment(ip)) {
			eph_icmp_error(w, in_port, m, EPH_ICMP_DEST_UNREACH, EPH_ICMP_FRAG_NEEDED,
				       dp->ports[nh->port].mtu);
			drop(w, m, EPH_DROP_mtu_exceeded);
			continue;
		}
		if (hooked && in_role != dp->ports[nh->port].role) {
			cross[n_cross] = m;
			cross_nh[n_cross] = nh_idx[i];
			cross_ahead[n_cross++] = eph_session_ahead_of(w, outbound ? hash[i] : 0);
			continue;
		}
		transmit(w, in_port, m, nh);
	}
	if (n_cross != 0) {
		uint16_t left = n_cross;

		for (unsigned int h = 0; h < n_forward_hooks && left != 0; h++)
			left = forward_hooks[h](w, in_port, cross, cross_nh, cross_ahead, left);

		for (uint16_t i = 0; i < left; i++)
			transmit(w, in_port, cross[i], &nhs[cross_nh[i]]);
	}
}

void
eph_output_send(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, uint32_t nh_idx)
{
	const struct eph_nexthop *nh;

	if (nh_idx == UINT32_MAX) {
		/* Rewritten to another destination: where does that live? */
		const struct rte_ipv4_hdr *ip = pkt_ipv4(m);

		nh = eph_route_lookup(w->cfg->routes, rte_be_to_cpu_32(ip->dst_addr));
		if (nh->type != EPH_NH_CONNECTED && nh->type != EPH_NH_GATEWAY) {
			drop(w, m, EPH_DROP_no_route);
			return;
		}
		/*
		 * Too big with DF set: dropped by transmit, counted mtu_exceeded,
		 * without ICMP: it would quote the rewritten packet, whose
		 * addresses and ports the sender would not recognise. DF clear:
		 * fragmented there.
		 */
	} else {
		nh = &w->cfg->routes->nh[nh_idx];
	}
	transmit(w, in_port, m, nh);
}

/* At most this many at once: the bulk FIB lookup's arrays live on the stack. */
#define SEND_CHUNK 64

void
eph_output_send_burst(struct eph_worker *w, const uint16_t *in_port, struct rte_mbuf **pkts,
		      uint32_t *nh_idx, uint16_t n)
{
	const struct eph_route_table *rt = w->cfg->routes;

	for (uint16_t base = 0; base < n; base += SEND_CHUNK) {
		uint16_t end = (uint16_t)RTE_MIN(n, base + SEND_CHUNK);
		uint32_t dst[SEND_CHUNK];
		uint64_t found[SEND_CHUNK];
		uint16_t which[SEND_CHUNK];
		uint16_t k = 0;

		/* Rewritten to other destinations: where do they live? */
		for (uint16_t i = base; i < end; i++) {
			if (nh_idx[i] != UINT32_MAX)
				continue;
			dst[k] = rte_be_to_cpu_32(pkt_ipv4(pkts[i])->dst_addr);
			which[k++] = i;
		}
		if (k != 0)
			rte_fib_lookup_bulk(rt->fib, dst, found, k);
		for (uint16_t j = 0; j < k; j++) {
			uint16_t i = which[j];
			uint32_t x = found[j] < rt->n_nh ? (uint32_t)found[j] : 0;
			const struct eph_nexthop *nh = &rt->nh[x];

			if (nh->type != EPH_NH_CONNECTED && nh->type != EPH_NH_GATEWAY) {
				drop(w, pkts[i], EPH_DROP_no_route);
				pkts[i] = NULL;
			} else {
				/* Too big: as in eph_output_send, transmit fragments or drops. */
				nh_idx[i] = x;
			}
		}
		for (uint16_t i = base; i < end; i++)
			if (pkts[i] != NULL)
				transmit(w, in_port[i], pkts[i], &rt->nh[nh_idx[i]]);
	}
}

void
eph_output_originate(struct eph_worker *w, uint16_t port, struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip = pkt_ipv4(m);
	const struct eph_nexthop *nh;

	nh = eph_route_lookup(w->cfg->routes, rte_be_to_cpu_32(ip->dst_addr));
	if (nh->type != EPH_NH_CONNECTED && nh->type != EPH_NH_GATEWAY) {
		drop(w, m, EPH_DROP_kernel_no_route);
		return;
	}
	transmit_as(w, port, m, nh, false);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-packet path of a worker: Ethernet demux, IPv4 validation, one bulk
 * FIB lookup per burst, then local delivery, ICMP errors or forwarding.
 * Nothing here allocates (but ICMP errors), locks, logs or fails: every
 * packet is sent, handed to the control lcore, or dropped with a reason.
 */
#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_fib.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "dataplane/cksum.h"
#include "dataplane/dp.h"

#define PREFETCH_OFFSET 3

#define IPV4_HDR_LEN    ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define ETH_HDR_LEN     ((uint16_t)sizeof(struct rte_ether_hdr))

static inline void
drop(struct eph_worker *w, struct rte_mbuf *m, enum eph_drop_reason why)
{
	eph_count_drop(&w->stats, why);
	rte_pktmbuf_free(m);
}

static void
to_control(struct eph_worker *w, struct rte_mbuf *m, uint8_t kind, uint16_t in_port,
	   uint16_t out_port, uint32_t nexthop)
{
	struct eph_pkt_meta *meta = eph_pkt_meta(w->dp, m);

	meta->kind = kind;
	meta->in_port = in_port;
	meta->out_port = out_port;
	meta->nexthop = nexthop;
	if (rte_ring_mp_enqueue(w->dp->to_control, m) != 0) {
		drop(w, m, EPH_DROP_slow_ring_full);
		return;
	}
	w->stats.to_control++;
}

static void
arp_input(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m)
{
	const struct rte_arp_hdr *arp;

	if (rte_pktmbuf_data_len(m) < ETH_HDR_LEN + sizeof(*arp)) {
		drop(w, m, EPH_DROP_arp_invalid);
		return;
	}
	arp = rte_pktmbuf_mtod_offset(m, const struct rte_arp_hdr *, ETH_HDR_LEN);
	if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != sizeof(uint32_t) ||
	    (arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST) &&
	     arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REPLY))) {
		drop(w, m, EPH_DROP_arp_invalid);
		return;
	}
	to_control(w, m, EPH_SLOW_ARP, in_port, in_port, 0);
}

/* Sources no router forwards from: 0/8, 127/8, 224/3 (multicast, class E, broadcast). */
static inline bool
bad_source(uint32_t src_be)
{
	uint8_t top = (uint8_t)(rte_be_to_cpu_32(src_be) >> 24);

	return top == 0 || top == 127 || top >= 224;
}

/*
 * Validate the IPv4 header (RFC 1812 5.2.2). Returns the header, or NULL
 * after dropping the packet with its reason.
 */
static inline struct rte_ipv4_hdr *
ipv4_validate(struct eph_worker *w, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip;
	uint16_t frame_ip_len, ihl_len, total;
	uint32_t dst;
	uint8_t top;

	if (rte_pktmbuf_data_len(m) < ETH_HDR_LEN + IPV4_HDR_LEN) {
		drop(w, m, EPH_DROP_ip_truncated);
		return NULL;
	}
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, ETH_HDR_LEN);
	if ((ip->version_ihl >> 4) != 4) {
		drop(w, m, EPH_DROP_ip_version);
		return NULL;
	}
	ihl_len = (uint16_t)((ip->version_ihl & 0xf) * 4);
	if (ihl_len < IPV4_HDR_LEN) {
		drop(w, m, EPH_DROP_ip_bad_ihl);
		return NULL;
	}
	frame_ip_len = (uint16_t)(rte_pktmbuf_pkt_len(m) - ETH_HDR_LEN);
	total = rte_be_to_cpu_16(ip->total_length);
	if (ihl_len > rte_pktmbuf_data_len(m) - ETH_HDR_LEN) {
		drop(w, m, EPH_DROP_ip_truncated);
		return NULL;
	}
	if (total < ihl_len || total > frame_ip_len) {
		drop(w, m, EPH_DROP_ip_bad_total_length);
		return NULL;
	}
	if (rte_raw_cksum(ip, ihl_len) != 0xffff) {
		drop(w, m, EPH_DROP_ip_bad_checksum);
		return NULL;
	}
	if (ihl_len != IPV4_HDR_LEN) {
		drop(w, m, EPH_DROP_ip_options);
		return NULL;
	}
	if ((ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0) {
		drop(w, m, EPH_DROP_ip_fragment);
		return NULL;
	}
	if (unlikely(bad_source(ip->src_addr))) {
		drop(w, m, EPH_DROP_ip_bad_source);
		return NULL;
	}
	dst = rte_be_to_cpu_32(ip->dst_addr);
	top = (uint8_t)(dst >> 24);
	if (unlikely(top >= 224 && top < 240) || unlikely(dst == UINT32_MAX)) {
		drop(w, m, EPH_DROP_ip_not_unicast);
		return NULL;
	}
	if (unlikely(top == 0 || top == 127 || top >= 240)) {
		drop(w, m, EPH_DROP_ip_bad_destination);
		return NULL;
	}
	/* Ethernet pads short frames: keep only what the IP header covers. */
	if (unlikely(total < frame_ip_len))
		rte_pktmbuf_trim(m, frame_ip_len - total);
	return ip;
}

/* TTL, MAC rewrite and transmit: the last step of every routed packet. */
static inline void
transmit(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, const struct eph_nexthop *nh)
{
	struct eph_dp *dp = w->dp;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint32_t target = nh->type == EPH_NH_GATEWAY ? nh->gw : ip->dst_addr;
	const struct rte_ether_addr *mac;

	eph_ipv4_ttl_dec(ip);
	mac = eph_neigh_lookup(&dp->neigh, nh->port, target);
	if (unlikely(mac == NULL)) {
		/* The control lcore resolves it, holds the packet and sends it. */
		to_control(w, m, EPH_SLOW_RESOLVE, in_port, nh->port, target);
		return;
	}
	rte_ether_addr_copy(mac, &eth->dst_addr);
	rte_ether_addr_copy(&dp->ports[nh->port].mac, &eth->src_addr);
	w->stats.forwarded++;
	eph_tx(w, nh->port, m);
}

static inline bool
too_big(const struct eph_dp *dp, const struct rte_ipv4_hdr *ip, const struct eph_nexthop *nh)
{
	return rte_be_to_cpu_16(ip->total_length) > dp->ports[nh->port].mtu;
}

/* Route one validated packet whose FIB next hop is nh_idx. */
static inline void
forward(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, uint32_t nh_idx)
{
	struct eph_dp *dp = w->dp;
	const struct eph_nexthop *nh = &w->cfg->routes->nh[nh_idx];
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, ETH_HDR_LEN);
	const struct eph_port *in = &dp->ports[in_port];
	unsigned int pool;

	switch (nh->type) {
	case EPH_NH_CONNECTED:
	case EPH_NH_GATEWAY:
		break;
	case EPH_NH_LOCAL:
		eph_icmp_echo_input(w, in_port, m);
		return;
	case EPH_NH_BCAST:
		drop(w, m, EPH_DROP_ip_not_unicast);
		return;
	case EPH_NH_POOL:
		if (unlikely(in->role == EPH_ROLE_INSIDE)) {
			drop(w, m, EPH_DROP_nat_hairpin);
			return;
		}
		/* Before translation, so the error quotes what the sender sent. */
		if (unlikely(ip->time_to_live <= 1)) {
			eph_icmp_error(w, in_port, m, EPH_ICMP_TIME_EXCEEDED,
				       EPH_ICMP_TTL_IN_TRANSIT, 0);
			drop(w, m, EPH_DROP_ttl_exceeded);
			return;
		}
		eph_nat_out2in(w, in_port, m, nh->port);
		return;
	default:
		eph_icmp_error(w, in_port, m, EPH_ICMP_DEST_UNREACH, EPH_ICMP_NET_UNREACH, 0);
		drop(w, m, EPH_DROP_no_route);
		return;
	}

	if (unlikely(ip->time_to_live <= 1)) {
		eph_icmp_error(w, in_port, m, EPH_ICMP_TIME_EXCEEDED, EPH_ICMP_TTL_IN_TRANSIT, 0);
		drop(w, m, EPH_DROP_ttl_exceeded);
		return;
	}
	if (unlikely(too_big(dp, ip, nh))) {
		if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG))
			eph_icmp_error(w, in_port, m, EPH_ICMP_DEST_UNREACH, EPH_ICMP_FRAG_NEEDED,
				       dp->ports[nh->port].mtu);
		drop(w, m, EPH_DROP_mtu_exceeded);
		return;
	}
	/* NAT applies where traffic crosses from an inside port to an outside one. */
	if (w->cfg->nat.n_active != 0 && in->role != dp->ports[nh->port].role) {
		bool outbound = in->role == EPH_ROLE_INSIDE;

		pool = eph_nat_pool_of(&w->cfg->nat,
				       rte_be_to_cpu_32(outbound ? ip->src_addr : ip->dst_addr));
		if (pool != 0) {
			if (outbound)
				eph_nat_in2out(w, in_port, m, pool - 1, nh_idx);
			else /* a NAT'd host is reachable only through its sessions */
				drop(w, m, EPH_DROP_nat_no_session);
			return;
		}
	}
	transmit(w, in_port, m, nh);
}

void
eph_forward_nat(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, uint32_t nh_idx)
{
	struct eph_dp *dp = w->dp;
	const struct eph_nexthop *nh;

	if (nh_idx == UINT32_MAX) {
		/* Translated to an inside address: where does that live? */
		const struct rte_ipv4_hdr *ip =
			rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, ETH_HDR_LEN);

		nh = eph_route_lookup(w->cfg->routes, rte_be_to_cpu_32(ip->dst_addr));
		if (nh->type != EPH_NH_CONNECTED && nh->type != EPH_NH_GATEWAY) {
			drop(w, m, EPH_DROP_no_route);
			return;
		}
		/* No ICMP: it would quote the inside address to the outside. */
		if (unlikely(too_big(dp, ip, nh))) {
			drop(w, m, EPH_DROP_mtu_exceeded);
			return;
		}
	} else {
		nh = &w->cfg->routes->nh[nh_idx];
	}
	transmit(w, in_port, m, nh);
}

void
eph_input_burst(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts, uint16_t n)
{
	struct rte_mbuf *ipv4[EPH_MAX_BURST];
	uint32_t dst[EPH_MAX_BURST];
	uint64_t nh[EPH_MAX_BURST];
	uint16_t n_ipv4 = 0;

	w->stats.rx += n;
	w->stats.port[in_port].rx += n;

	for (uint16_t i = 0; i < PREFETCH_OFFSET && i < n; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ether_hdr *eth;
		struct rte_ipv4_hdr *ip;

		if (i + PREFETCH_OFFSET < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_OFFSET], void *));

		if (unlikely(rte_pktmbuf_data_len(m) < ETH_HDR_LEN)) {
			drop(w, m, EPH_DROP_eth_truncated);
			continue;
		}
		eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		if (likely(eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4))) {
			ip = ipv4_validate(w, m);
			if (ip == NULL)
				continue;
			dst[n_ipv4] = rte_be_to_cpu_32(ip->dst_addr);
			ipv4[n_ipv4++] = m;
		} else if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP)) {
			arp_input(w, in_port, m);
		} else {
			drop(w, m, EPH_DROP_ethertype_unsupported);
		}
	}

	if (n_ipv4 == 0)
		return;
	rte_fib_lookup_bulk(w->cfg->routes->fib, dst, nh, n_ipv4);
	for (uint16_t i = 0; i < n_ipv4; i++)
		forward(w, in_port, ipv4[i], (uint32_t)nh[i]);
}

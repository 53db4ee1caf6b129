/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Input, the first half of a worker's per-packet path: Ethernet demux, ARP
 * to the control lcore, IPv4 validation, one bulk FIB lookup per burst,
 * then dispatch by next-hop kind: local delivery, ICMP errors, forwarding
 * (dataplane/output.c), and the kinds features registered (route.h), each
 * kind's packets as one batch. The session hash of TCP and UDP packets
 * starts at validation, so that a feature's session lookups overlap their
 * cache misses. Nothing here allocates (but ICMP errors), locks, logs or
 * fails: every packet is sent, handed to the control lcore, or dropped
 * with a reason.
 */
#include <errno.h>

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
#include "dataplane/flow/session.h"

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
	eph_to_control(w, m, EPH_SLOW_ARP, in_port, in_port, 0);
}

/* Sources no router forwards from: 0/8, 127/8, 224/3 (multicast, class E, broadcast). */
static inline bool
bad_source(uint32_t src_be)
{
	uint8_t top = (uint8_t)(rte_be_to_cpu_32(src_be) >> 24);

	return top == 0 || top == 127 || top >= 224;
}

/*
 * Checksum of an option-free header: five 32-bit words summed, then folded
 * (the one's-complement sum does not care how the words are grouped).
 * rte_raw_cksum's loop for any length costs several times this.
 */
static inline bool
ipv4_hdr_cksum_ok(const struct rte_ipv4_hdr *ip)
{
	uint32_t w[IPV4_HDR_LEN / sizeof(uint32_t)];
	uint64_t sum;

	memcpy(w, ip, sizeof(w));
	sum = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
	sum = (sum & UINT32_MAX) + (sum >> 32);
	sum = (sum & UINT32_MAX) + (sum >> 32);
	return eph_cksum_fold((uint32_t)sum) == 0xffff;
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
	if (likely(ihl_len == IPV4_HDR_LEN) ? !ipv4_hdr_cksum_ok(ip)
					      : rte_raw_cksum(ip, ihl_len) != 0xffff) {
		drop(w, m, EPH_DROP_ip_bad_checksum);
		return NULL;
	}
	if (ihl_len != IPV4_HDR_LEN) {
		drop(w, m, EPH_DROP_ip_options);
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

/*
 * A TCP or UDP packet's 5-tuple, as it is, is its session's key in either
 * direction (inside key outbound, outside key inbound). So the session
 * lookup can start at validation, several hundred cycles before a feature
 * (NAT) needs the record: the hash, and the first bucket on its way. 0: not
 * hashed (no session table on this worker, another protocol; the feature
 * hashes those itself).
 */
static inline uint64_t
session_hash(const struct eph_worker *w, const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip)
{
	const struct eph_session_table *t = w->nat.sessions;
	uint64_t addrs, hash;
	uint32_t ports;

	if (t == NULL || (ip->next_proto_id != IPPROTO_UDP && ip->next_proto_id != IPPROTO_TCP) ||
	    unlikely(rte_pktmbuf_data_len(m) < ETH_HDR_LEN + IPV4_HDR_LEN + sizeof(ports)))
		return 0;
	memcpy(&addrs, &ip->src_addr, sizeof(addrs));
	memcpy(&ports, ip + 1, sizeof(ports));
	hash = eph_session_hash_halves(t, addrs, eph_flow_tail(ports, ip->next_proto_id));
	eph_session_prefetch(t, hash);
	return hash;
}

/*
 * Fragments pass validation: routed ones are forwarded as they are, those
 * of NAT'd flows translated (dataplane/nat/nat_frag.h); only those to the
 * gateway itself are dropped.
 */
static inline bool
ip_fragment(struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, ETH_HDR_LEN);

	return (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0;
}

/* Handlers of the kinds features registered. dp: ro; cp: written at init, before workers start. */
static struct eph_nh_ops nh_ops[EPH_NH_TYPE_COUNT];

int
eph_nh_register(enum eph_nh_type type, const struct eph_nh_ops *ops)
{
	if ((unsigned int)type <= EPH_NH_GATEWAY || type >= EPH_NH_TYPE_COUNT || ops == NULL ||
	    ops->input == NULL)
		return -EINVAL;
	nh_ops[type] = *ops;
	return 0;
}

/*
 * The packets of one burst routing sorted out: those to forward (to
 * output), and those to next hops of a registered kind (to its handler).
 */
struct route_gather {
	uint16_t n_fwd;
	uint16_t n_kind;
	uint8_t first_kind;
	bool mixed;               /* more than one registered kind in the burst */
	struct rte_mbuf *fwd[EPH_MAX_BURST];
	uint32_t fwd_nh[EPH_MAX_BURST];
	uint64_t fwd_hash[EPH_MAX_BURST]; /* see session_hash */
	struct rte_mbuf *kind[EPH_MAX_BURST];
	uint32_t kind_nh[EPH_MAX_BURST];
	uint8_t kind_type[EPH_MAX_BURST];
	uint64_t kind_hash[EPH_MAX_BURST]; /* see session_hash */
	struct eph_session_ahead kind_ahead[EPH_MAX_BURST];
};

/*
 * Sort one validated packet by the kind of its FIB next hop nh_idx (hash:
 * its session_hash): delivered, answered, or gathered in g.
 */
static inline void
classify(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, uint32_t nh_idx,
	 uint64_t hash, struct route_gather *g)
{
	const struct eph_nexthop *nh = &w->cfg->routes->nh[nh_idx];
	const struct rte_ipv4_hdr *ip;
	uint8_t type = nh->type;

	switch (type) {
	case EPH_NH_CONNECTED:
	case EPH_NH_GATEWAY:
		g->fwd[g->n_fwd] = m;
		g->fwd_hash[g->n_fwd] = hash;
		g->fwd_nh[g->n_fwd++] = nh_idx;
		return;
	case EPH_NH_LOCAL:
		/* The gateway reassembles nothing of its own. */
		if (unlikely(ip_fragment(m))) {
			drop(w, m, EPH_DROP_ip_fragment);
			return;
		}
		eph_local_input(w, in_port, m, nh->port);
		return;
	case EPH_NH_BCAST:
		drop(w, m, EPH_DROP_ip_not_unicast);
		return;
	default:
		break;
	}
	if (unlikely(type >= EPH_NH_TYPE_COUNT || nh_ops[type].input == NULL)) {
		eph_icmp_error(w, in_port, m, EPH_ICMP_DEST_UNREACH, EPH_ICMP_NET_UNREACH, 0);
		drop(w, m, EPH_DROP_no_route);
		return;
	}
	/* Before the feature rewrites it, so the error quotes what the sender sent. */
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, ETH_HDR_LEN);
	if (unlikely(ip->time_to_live <= 1)) {
		eph_icmp_error(w, in_port, m, EPH_ICMP_TIME_EXCEEDED, EPH_ICMP_TTL_IN_TRANSIT, 0);
		drop(w, m, EPH_DROP_ttl_exceeded);
		return;
	}
	if (g->n_kind == 0)
		g->first_kind = type;
	else if (type != g->first_kind)
		g->mixed = true;
	g->kind[g->n_kind] = m;
	g->kind_type[g->n_kind] = type;
	g->kind_hash[g->n_kind] = hash;
	g->kind_nh[g->n_kind++] = nh_idx;
}

/* Each registered kind's packets to its handler, one call per kind present. */
static void
kind_dispatch(struct eph_worker *w, uint16_t in_port, struct route_gather *g)
{
	struct rte_mbuf *pkts[EPH_MAX_BURST];
	uint32_t nh_idx[EPH_MAX_BURST];
	struct eph_session_ahead ahead[EPH_MAX_BURST];

	const struct eph_session_table *flows[EPH_MAX_BURST];

	/*
	 * By now the first buckets input started loading (in the NAT's table)
	 * have had time to arrive: start on their records. A kind whose flows
	 * live in another table (the balancer's) loads its buckets now, all
	 * of the batch at once, before the records.
	 */
	for (uint16_t i = 0; i < g->n_kind; i++) {
		const struct eph_nh_ops *ops = &nh_ops[g->kind_type[i]];

		flows[i] = ops->flows == NULL ? w->nat.sessions
					      : ops->flows(w, &w->cfg->routes->nh[g->kind_nh[i]]);
		if (flows[i] != w->nat.sessions && g->kind_hash[i] != 0)
			eph_session_prefetch(flows[i], g->kind_hash[i]);
	}
	for (uint16_t i = 0; i < g->n_kind; i++)
		g->kind_ahead[i] = eph_session_ahead_in(flows[i], g->kind_hash[i]);
	if (likely(!g->mixed)) {
		nh_ops[g->first_kind].input(w, in_port, g->kind, g->kind_nh, g->kind_ahead,
					    g->n_kind);
		return;
	}
	for (unsigned int t = EPH_NH_GATEWAY + 1; t < EPH_NH_TYPE_COUNT; t++) {
		uint16_t n = 0;

		for (uint16_t i = 0; i < g->n_kind; i++) {
			if (g->kind_type[i] != t)
				continue;
			pkts[n] = g->kind[i];
			nh_idx[n] = g->kind_nh[i];
			ahead[n++] = g->kind_ahead[i];
		}
		if (n != 0)
			nh_ops[t].input(w, in_port, pkts, nh_idx, ahead, n);
	}
}

/*
 * Route validated packets (dst: their destinations in host order, hash:
 * their session_hash): one bulk FIB lookup, then each is delivered or
 * answered, and what is left goes out in batches: forwarded, then each
 * registered kind to its handler.
 */
static inline void
route_burst(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts, uint32_t *dst,
	    const uint64_t *hash, uint16_t n)
{
	struct route_gather g;
	uint64_t nh[EPH_MAX_BURST];

	rte_fib_lookup_bulk(w->cfg->routes->fib, dst, nh, n);
	g.n_fwd = 0;
	g.n_kind = 0;
	g.mixed = false;
	for (uint16_t i = 0; i < n; i++)
		classify(w, in_port, pkts[i], (uint32_t)nh[i], hash[i], &g);
	if (g.n_fwd != 0)
		eph_output_burst(w, in_port, g.fwd, g.fwd_nh, g.fwd_hash, g.n_fwd);
	if (g.n_kind != 0)
		kind_dispatch(w, in_port, &g);
}

void
eph_input_burst(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts, uint16_t n)
{
	struct rte_mbuf *ipv4[EPH_MAX_BURST];
	uint32_t dst[EPH_MAX_BURST];
	uint64_t hash[EPH_MAX_BURST];
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

		/*
		 * Everything after reads headers and payload as one block of
		 * data_len bytes: a chained frame (scatter, jumbo) is made one
		 * buffer here, or dropped.
		 */
		if (unlikely(m->nb_segs > 1) && rte_pktmbuf_linearize(m) != 0) {
			drop(w, m, EPH_DROP_frame_chained);
			continue;
		}
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
			hash[n_ipv4] = session_hash(w, m, ip);
			ipv4[n_ipv4++] = m;
		} else if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP)) {
			arp_input(w, in_port, m);
		} else {
			drop(w, m, EPH_DROP_ethertype_unsupported);
		}
	}

	if (n_ipv4 != 0)
		route_burst(w, in_port, ipv4, dst, hash, n_ipv4);
}

__rte_noinline void
eph_input_reroute(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, ETH_HDR_LEN);
	uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
	uint64_t hash = session_hash(w, m, ip);

	route_burst(w, in_port, &m, &dst, &hash, 1);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-packet path of a worker: Ethernet demux, IPv4 validation, one bulk
 * FIB lookup per burst, then local delivery, ICMP errors or forwarding. What
 * NAT translates is gathered and goes to it in batches after one more bulk
 * lookup (the pool of each inside source), so that its session lookups
 * overlap their cache misses. Nothing here allocates (but ICMP errors),
 * locks, logs or fails: every packet is sent, handed to the control lcore,
 * or dropped with a reason.
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
#include "dataplane/nat/nat_icmp.h"
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

/* TTL, MAC rewrite and transmit: the last step of every routed packet. */
static inline void
transmit(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, const struct eph_nexthop *nh)
{
	struct eph_dp *dp = w->dp;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint32_t target = nh->type == EPH_NH_GATEWAY ? nh->gw : ip->dst_addr;
	const struct rte_ether_addr *mac;

	ttl_dec(ip);
	mac = eph_neigh_lookup_cached(&dp->neigh, nh->port, target);
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

/*
 * The packets of one burst routing gives to the NAT: to a pool address
 * (outside -> inside), and those crossing between an inside and an outside
 * port, which NAT translates if their inside address belongs to a pool.
 */
struct nat_gather {
	uint16_t n_cross;
	uint16_t n_to_pool;
	struct rte_mbuf *cross[EPH_MAX_BURST];
	uint32_t cross_addr[EPH_MAX_BURST]; /* host order: the inside end's address */
	uint32_t cross_nh[EPH_MAX_BURST];
	struct eph_nat_lookahead cross_ahead[EPH_MAX_BURST]; /* see session_hash */
	struct rte_mbuf *to_pool[EPH_MAX_BURST];
	uint16_t to_pool_slot[EPH_MAX_BURST];
	struct eph_nat_lookahead to_pool_ahead[EPH_MAX_BURST];
};

/*
 * A TCP or UDP packet's 5-tuple, as it is, is its session's key in either
 * direction (inside key outbound, outside key inbound). So the session
 * lookup can start at validation, several hundred cycles before NAT needs
 * the record: the hash, and the first bucket on its way. 0: not hashed
 * (no NAT on this worker, another protocol; NAT hashes those itself).
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
 * A packet going to NAT: by now its first bucket has had time to arrive, so
 * its candidate record (or second bucket) starts loading in turn.
 */
static inline struct eph_nat_lookahead
session_ahead(const struct eph_worker *w, uint64_t hash)
{
	return (struct eph_nat_lookahead){
		.hash = hash,
		.cand = hash != 0 ? eph_session_prefetch_record(w->nat.sessions, hash)
				  : EPH_SESSION_NIL,
	};
}

/*
 * Route one validated packet whose FIB next hop is nh_idx (hash: its
 * session_hash); what NAT may translate goes to g.
 */
static inline void
forward(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, uint32_t nh_idx,
	uint64_t hash, struct nat_gather *g)
{
	struct eph_dp *dp = w->dp;
	const struct eph_nexthop *nh = &w->cfg->routes->nh[nh_idx];
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, ETH_HDR_LEN);
	const struct eph_port *in = &dp->ports[in_port];

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
		g->to_pool[g->n_to_pool] = m;
		g->to_pool_ahead[g->n_to_pool] = session_ahead(w, hash);
		g->to_pool_slot[g->n_to_pool++] = nh->port;
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

		g->cross[g->n_cross] = m;
		g->cross_addr[g->n_cross] =
			rte_be_to_cpu_32(outbound ? ip->src_addr : ip->dst_addr);
		g->cross_ahead[g->n_cross] = session_ahead(w, outbound ? hash : 0);
		g->cross_nh[g->n_cross++] = nh_idx;
		return;
	}
	transmit(w, in_port, m, nh);
}

static inline const struct rte_ipv4_hdr *
pkt_ipv4(const struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, ETH_HDR_LEN);
}

/*
 * The pool of an ICMP error from inside: NAT translates it by the session
 * it quotes, so it is the pool of the quoted packet's destination (the
 * inside host), whoever sent the error, the host or a router towards it.
 * src_pool: the sender's own (slot + 1, 0: none). Returns the pool slot +
 * 1, 0 to route the error as it is (no NAT'd address in it: not the
 * sender, nor either end of the quote), or -1 once it is dropped: it would
 * take an inside address out untranslated.
 */
static __rte_noinline int
inside_error_pool(struct eph_worker *w, struct rte_mbuf *m, uint64_t src_pool)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, ETH_HDR_LEN);
	uint16_t len = rte_be_to_cpu_16(ip->total_length);
	const struct rte_ipv4_hdr *inner =
		(const struct rte_ipv4_hdr *)((const uint8_t *)(ip + 1) + sizeof(struct rte_icmp_hdr));
	const uint8_t *quote_end = (const uint8_t *)ip + len;
	struct eph_icmp_quote q;
	unsigned int quoted_pool = 0, quoted_src_pool = 0;

	if (quote_end >= (const uint8_t *)&inner->dst_addr)
		quoted_src_pool = eph_nat_pool_of(&w->cfg->nat, rte_be_to_cpu_32(inner->src_addr));
	if (quote_end >= (const uint8_t *)(inner + 1))
		quoted_pool = eph_nat_pool_of(&w->cfg->nat, rte_be_to_cpu_32(inner->dst_addr));
	if (quoted_pool != 0 && eph_icmp_error_quote(ip, len, &q))
		return (int)quoted_pool;
	/* Routed as it is only when no NAT'd inside address is in it, anywhere. */
	if (quoted_pool == 0 && quoted_src_pool == 0 && src_pool == 0)
		return 0;
	drop(w, m, EPH_DROP_nat_icmp_untranslatable);
	return -1;
}

static inline bool
is_icmp_error(const struct rte_ipv4_hdr *ip)
{
	return ip->next_proto_id == IPPROTO_ICMP &&
	       rte_be_to_cpu_16(ip->total_length) > IPV4_HDR_LEN &&
	       eph_icmp_is_error(((const struct rte_icmp_hdr *)(ip + 1))->icmp_type);
}

/*
 * The gathered packets to the NAT: one lookup of the crossing ones' inside
 * addresses in the pools' prefixes (not NAT'd: routed as they are), then
 * each direction as a batch.
 */
static void
nat_dispatch(struct eph_worker *w, uint16_t in_port, struct nat_gather *g)
{
	const struct eph_route_table *rt = w->cfg->routes;

	if (g->n_cross != 0) {
		bool outbound = w->dp->ports[in_port].role == EPH_ROLE_INSIDE;
		uint64_t pool[EPH_MAX_BURST];
		uint16_t slot[EPH_MAX_BURST];
		uint16_t n = 0;

		rte_fib_lookup_bulk(w->cfg->nat.inside, g->cross_addr, pool, g->n_cross);
		for (uint16_t i = 0; i < g->n_cross; i++) {
			struct rte_mbuf *m = g->cross[i];

			if (outbound && unlikely(is_icmp_error(pkt_ipv4(m)))) {
				int p = inside_error_pool(w, m, pool[i]);

				if (p < 0)
					continue;
				pool[i] = (uint64_t)p;
			}
			if (pool[i] == 0) {
				transmit(w, in_port, m, &rt->nh[g->cross_nh[i]]);
			} else if (!outbound) {
				/* A NAT'd host is reachable only through its sessions. */
				drop(w, m, EPH_DROP_nat_no_session);
			} else {
				g->cross[n] = m;
				g->cross_nh[n] = g->cross_nh[i];
				g->cross_ahead[n] = g->cross_ahead[i];
				slot[n++] = (uint16_t)(pool[i] - 1);
			}
		}
		if (n != 0)
			eph_nat_in2out_burst(w, in_port, g->cross, slot, g->cross_nh,
					     g->cross_ahead, n);
	}
	if (g->n_to_pool != 0)
		eph_nat_out2in_burst(w, in_port, g->to_pool, g->to_pool_slot, g->to_pool_ahead,
				     g->n_to_pool);
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

/* At most this many at once: the bulk FIB lookup's arrays live on the stack. */
#define FORWARD_NAT_CHUNK 64

void
eph_forward_nat_burst(struct eph_worker *w, const uint16_t *in_port, struct rte_mbuf **pkts,
		      uint32_t *nh_idx, uint16_t n)
{
	const struct eph_route_table *rt = w->cfg->routes;
	struct eph_dp *dp = w->dp;

	for (uint16_t base = 0; base < n; base += FORWARD_NAT_CHUNK) {
		uint16_t end = (uint16_t)RTE_MIN(n, base + FORWARD_NAT_CHUNK);
		uint32_t dst[FORWARD_NAT_CHUNK];
		uint64_t found[FORWARD_NAT_CHUNK];
		uint16_t which[FORWARD_NAT_CHUNK];
		uint16_t k = 0;

		/* Translated to inside addresses: where do they live? */
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
			} else if (unlikely(too_big(dp, pkt_ipv4(pkts[i]), nh))) {
				/* No ICMP: it would quote the inside address to the outside. */
				drop(w, pkts[i], EPH_DROP_mtu_exceeded);
				pkts[i] = NULL;
			} else {
				nh_idx[i] = x;
			}
		}
		for (uint16_t i = base; i < end; i++)
			if (pkts[i] != NULL)
				transmit(w, in_port[i], pkts[i], &rt->nh[nh_idx[i]]);
	}
}

/*
 * Route validated packets (dst: their destinations in host order, hash:
 * their session_hash): one bulk FIB lookup, then each is delivered,
 * answered, forwarded or gathered for the NAT, which gets them last.
 */
static inline void
route_burst(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts, uint32_t *dst,
	    const uint64_t *hash, uint16_t n)
{
	struct nat_gather g;
	uint64_t nh[EPH_MAX_BURST];

	rte_fib_lookup_bulk(w->cfg->routes->fib, dst, nh, n);
	g.n_cross = 0;
	g.n_to_pool = 0;
	for (uint16_t i = 0; i < n; i++)
		forward(w, in_port, pkts[i], (uint32_t)nh[i], hash[i], &g);
	if (g.n_cross != 0 || g.n_to_pool != 0)
		nat_dispatch(w, in_port, &g);
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

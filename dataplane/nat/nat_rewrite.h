/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAT rewrites. A session precomputes, once, the one's-complement delta of
 * its rewrite (RFC 1624): the established path then patches each checksum
 * with one add and fold. The delta of the reverse rewrite is the delta's
 * complement, so one pair of deltas serves both directions:
 *
 *   in->out: source in_addr:in_port  -> out_addr:out_port   apply  delta
 *   out->in: dest   out_addr:out_port -> in_addr:in_port    apply ~delta
 *
 * l3 covers the address (IP header checksum); l4 covers address and port
 * for TCP and UDP (their checksums include the pseudo-header) and the
 * identifier alone for ICMP echo (no pseudo-header).
 */
#ifndef EPH_NAT_REWRITE_H
#define EPH_NAT_REWRITE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <netinet/in.h>

#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/cksum.h"

struct eph_nat_delta {
	uint16_t l3; /* IP header: address change */
	uint16_t l4; /* TCP/UDP: address + port; ICMP echo: identifier */
};

/* Sum of the words a rewrite adds, minus (complemented) the words it removes. */
static inline uint16_t
eph_delta_words(uint32_t old_addr, uint32_t new_addr, uint16_t old_port, uint16_t new_port,
		bool addr, bool port)
{
	uint32_t sum = 0;

	if (addr) {
		sum += (uint16_t)~(old_addr >> 16) + (uint16_t)~(old_addr & 0xffff);
		sum += (new_addr >> 16) + (new_addr & 0xffff);
	}
	if (port)
		sum += (uint16_t)~old_port + new_port;
	return eph_cksum_fold(sum);
}

/* Deltas of the inside->outside rewrite; arguments in network order as in the packet. */
static inline struct eph_nat_delta
eph_nat_delta(uint8_t proto, uint32_t in_addr, uint16_t in_port, uint32_t out_addr,
	      uint16_t out_port)
{
	struct eph_nat_delta d;

	d.l3 = eph_delta_words(in_addr, out_addr, 0, 0, true, false);
	if (proto == IPPROTO_ICMP)
		d.l4 = eph_delta_words(0, 0, in_port, out_port, false, true);
	else
		d.l4 = eph_delta_words(in_addr, out_addr, in_port, out_port, true, true);
	return d;
}

static inline uint16_t
eph_cksum_apply(uint16_t cksum, uint16_t delta)
{
	return (uint16_t)~eph_cksum_fold((uint32_t)(uint16_t)~cksum + delta);
}

/* Offset of the checksum inside the L4 header, for the protocols NAT translates. */
static inline uint16_t
eph_l4_cksum_offset(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return offsetof(struct rte_tcp_hdr, cksum);
	case IPPROTO_UDP:
		return offsetof(struct rte_udp_hdr, dgram_cksum);
	default:
		return offsetof(struct rte_icmp_hdr, icmp_cksum);
	}
}

/*
 * Patch the L4 checksum at l4 + offset with delta. A UDP checksum of zero
 * means "none" and stays so; a computed zero is sent as 0xffff (RFC 768).
 */
static inline void
eph_l4_cksum_patch(uint8_t proto, uint8_t *l4, uint16_t delta)
{
	uint16_t off = eph_l4_cksum_offset(proto);
	uint16_t c;

	memcpy(&c, l4 + off, sizeof(c));
	if (proto == IPPROTO_UDP) {
		if (c == 0)
			return;
		c = eph_cksum_apply(c, delta);
		if (c == 0)
			c = 0xffff;
	} else {
		c = eph_cksum_apply(c, delta);
	}
	memcpy(l4 + off, &c, sizeof(c));
}

/*
 * The port (identifier for ICMP echo) a rewrite changes: TCP/UDP source or
 * destination port; ICMP echo identifier (same field both ways).
 */
static inline uint16_t *
eph_l4_port(uint8_t proto, uint8_t *l4, bool source)
{
	if (proto == IPPROTO_ICMP)
		return (uint16_t *)(l4 + offsetof(struct rte_icmp_hdr, icmp_ident));
	return (uint16_t *)(l4 + (source ? 0 : 2)); /* src_port, dst_port lead TCP and UDP */
}

/* Inside -> outside: source becomes out_addr:out_port. */
static inline void
eph_nat_rewrite_src(struct rte_ipv4_hdr *ip, uint8_t *l4, uint32_t out_addr, uint16_t out_port,
		    struct eph_nat_delta d)
{
	uint16_t *port = eph_l4_port(ip->next_proto_id, l4, true);

	ip->src_addr = out_addr;
	ip->hdr_checksum = eph_cksum_apply(ip->hdr_checksum, d.l3);
	memcpy(port, &out_port, sizeof(out_port));
	eph_l4_cksum_patch(ip->next_proto_id, l4, d.l4);
	/* A first fragment's checksum covers bytes it does not hold: never summed here. */
	if (ip->next_proto_id == IPPROTO_ICMP && !(ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG)))
		eph_icmp_cksum_settle((struct rte_icmp_hdr *)l4,
				      (uint16_t)(rte_be_to_cpu_16(ip->total_length) - sizeof(*ip)));
}

/* Outside -> inside: destination becomes in_addr:in_port (reverse delta). */
static inline void
eph_nat_rewrite_dst(struct rte_ipv4_hdr *ip, uint8_t *l4, uint32_t in_addr, uint16_t in_port,
		    struct eph_nat_delta d)
{
	uint16_t *port = eph_l4_port(ip->next_proto_id, l4, false);

	ip->dst_addr = in_addr;
	ip->hdr_checksum = eph_cksum_apply(ip->hdr_checksum, (uint16_t)~d.l3);
	memcpy(port, &in_port, sizeof(in_port));
	eph_l4_cksum_patch(ip->next_proto_id, l4, (uint16_t)~d.l4);
	if (ip->next_proto_id == IPPROTO_ICMP && !(ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG)))
		eph_icmp_cksum_settle((struct rte_icmp_hdr *)l4,
				      (uint16_t)(rte_be_to_cpu_16(ip->total_length) - sizeof(*ip)));
}

#endif /* EPH_NAT_REWRITE_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ICMP errors about translated flows (RFC 5508 section 4.2): the outer
 * header and the quoted inner packet are both rewritten, the inner IP and
 * L4 checksums patched, the ICMP checksum recomputed.
 */
#ifndef EPH_NAT_ICMP_H
#define EPH_NAT_ICMP_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ip.h>

#include "dataplane/nat/nat_rewrite.h"

/* The packet quoted by an ICMP error. */
struct eph_icmp_quote {
	struct rte_ipv4_hdr *ip; /* inner IP header */
	uint8_t *l4;             /* inner L4 header (first 8 bytes at least) */
	uint16_t l4_len;         /* inner L4 bytes present in the quote */
	uint8_t proto;           /* inner protocol: TCP, UDP or ICMP (echo) */
};

/* True for the ICMP types that quote a packet: unreachable, time exceeded, parameter problem. */
bool eph_icmp_is_error(uint8_t type);

/*
 * Find the quote in an ICMP error (ip: outer header, ip_len: bytes of the
 * outer datagram present). Returns false when it cannot be translated:
 * truncated, inner options, inner fragment not first, or a protocol NAT
 * does not translate.
 */
bool eph_icmp_error_quote(struct rte_ipv4_hdr *ip, uint16_t ip_len, struct eph_icmp_quote *q);

/*
 * Outside -> inside. The quote is a packet we sent out (source
 * out_addr:out_port): it becomes in_addr:in_port, and so does the outer
 * destination. d: the session's inside->outside delta.
 */
void eph_nat_icmp_error_to_inside(struct rte_ipv4_hdr *ip, struct eph_icmp_quote *q,
				  uint32_t in_addr, uint16_t in_port, struct eph_nat_delta d);

/*
 * Inside -> outside. The quote is a packet we delivered inside (destination
 * in_addr:in_port): it becomes out_addr:out_port, and the outer source
 * (the host, or a router on the way to it) becomes out_addr.
 */
void eph_nat_icmp_error_to_outside(struct rte_ipv4_hdr *ip, struct eph_icmp_quote *q,
				   uint32_t out_addr, uint16_t out_port, struct eph_nat_delta d);

#endif /* EPH_NAT_ICMP_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/* Translation of ICMP errors about NAT sessions (see nat_icmp.h). Cold path. */
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_icmp.h>

#include "dataplane/nat/nat_icmp.h"

#define IPV4_HDR_LEN ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define ICMP_HDR_LEN ((uint16_t)sizeof(struct rte_icmp_hdr))
#define L4_QUOTE_MIN 8 /* RFC 792: at least 64 bits of the original datagram */

bool
eph_icmp_is_error(uint8_t type)
{
	return type == 3 || type == 11 || type == 12;
}

bool
eph_icmp_error_quote(struct rte_ipv4_hdr *ip, uint16_t ip_len, struct eph_icmp_quote *q)
{
	uint16_t avail;
	struct rte_ipv4_hdr *inner;

	if (ip_len < IPV4_HDR_LEN + ICMP_HDR_LEN + IPV4_HDR_LEN + L4_QUOTE_MIN)
		return false;
	inner = (struct rte_ipv4_hdr *)((uint8_t *)ip + IPV4_HDR_LEN + ICMP_HDR_LEN);
	if (inner->version_ihl != RTE_IPV4_VHL_DEF)
		return false;
	/* Only a first fragment carries the ports. */
	if (inner->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK))
		return false;
	switch (inner->next_proto_id) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		break;
	case IPPROTO_ICMP: {
		const struct rte_icmp_hdr *ii = (const struct rte_icmp_hdr *)(inner + 1);

		if (ii->icmp_type != RTE_IP_ICMP_ECHO_REQUEST &&
		    ii->icmp_type != RTE_IP_ICMP_ECHO_REPLY)
			return false;
		break;
	}
	default:
		return false;
	}
	avail = (uint16_t)(ip_len - IPV4_HDR_LEN - ICMP_HDR_LEN - IPV4_HDR_LEN);
	q->ip = inner;
	q->l4 = (uint8_t *)(inner + 1);
	q->l4_len = avail;
	q->proto = inner->next_proto_id;
	return true;
}

/* The inner L4 checksum, if the quote holds it. Truncated TCP quotes usually do not. */
static void
inner_l4_cksum_patch(struct eph_icmp_quote *q, uint16_t delta)
{
	if (q->l4_len < eph_l4_cksum_offset(q->proto) + sizeof(uint16_t))
		return;
	eph_l4_cksum_patch(q->proto, q->l4, delta);
}

static void
icmp_cksum_recompute(struct rte_ipv4_hdr *ip)
{
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	uint16_t len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - IPV4_HDR_LEN);

	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, len);
}

void
eph_nat_icmp_error_to_inside(struct rte_ipv4_hdr *ip, struct eph_icmp_quote *q,
			     uint32_t in_addr, uint16_t in_port, struct eph_nat_delta d)
{
	uint16_t *port = eph_l4_port(q->proto, q->l4, true);

	/* Outer: the error was addressed to the pool address. */
	ip->dst_addr = in_addr;
	ip->hdr_checksum = eph_cksum_apply(ip->hdr_checksum, (uint16_t)~d.l3);
	/* Inner: our outgoing packet, source out_addr:out_port. */
	q->ip->src_addr = in_addr;
	q->ip->hdr_checksum = eph_cksum_apply(q->ip->hdr_checksum, (uint16_t)~d.l3);
	memcpy(port, &in_port, sizeof(in_port));
	inner_l4_cksum_patch(q, (uint16_t)~d.l4);
	icmp_cksum_recompute(ip);
}

void
eph_nat_icmp_error_to_outside(struct rte_ipv4_hdr *ip, struct eph_icmp_quote *q,
			      uint32_t out_addr, uint16_t out_port, struct eph_nat_delta d)
{
	uint16_t *port = eph_l4_port(q->proto, q->l4, false);

	/* The sender is the inside host or a router towards it: either way, now out_addr. */
	ip->hdr_checksum = eph_cksum_update32(ip->hdr_checksum, ip->src_addr, out_addr);
	ip->src_addr = out_addr;
	q->ip->dst_addr = out_addr;
	q->ip->hdr_checksum = eph_cksum_apply(q->ip->hdr_checksum, d.l3);
	memcpy(port, &out_port, sizeof(out_port));
	inner_l4_cksum_patch(q, d.l4);
	icmp_cksum_recompute(ip);
}

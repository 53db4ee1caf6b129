/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ICMP the gateway itself speaks: echo replies for its own addresses and
 * errors about packets it cannot forward (RFC 792, RFC 1812 4.3). Cold
 * paths, kept out of line so they do not bloat the forwarding loop.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/cksum.h"
#include "dataplane/dp.h"
#include "dataplane/rate.h"

#define ETH_HDR_LEN     ((uint16_t)sizeof(struct rte_ether_hdr))
#define IPV4_HDR_LEN    ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define ICMP_HDR_LEN    ((uint16_t)sizeof(struct rte_icmp_hdr))
/* RFC 1812 4.3.2.3: quote as much as fits in a 576-byte datagram. */
#define ICMP_ERR_MAX_IP 576
#define ICMP_REPLY_TTL  64

__rte_noinline void
eph_icmp_echo_input(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m)
{
	const struct eph_port *port = &w->dp->ports[in_port];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	uint16_t icmp_len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - IPV4_HDR_LEN);
	uint16_t old_word, new_word;
	uint32_t addr;

	if (ip->next_proto_id != IPPROTO_ICMP) {
		eph_count_drop(&w->stats, EPH_DROP_local_unsupported);
		rte_pktmbuf_free(m);
		return;
	}
	if (icmp_len < ICMP_HDR_LEN || rte_pktmbuf_data_len(m) < ETH_HDR_LEN + IPV4_HDR_LEN + icmp_len ||
	    rte_raw_cksum(icmp, icmp_len) != 0xffff) {
		eph_count_drop(&w->stats, EPH_DROP_icmp_invalid);
		rte_pktmbuf_free(m);
		return;
	}
	if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0) {
		eph_count_drop(&w->stats, EPH_DROP_local_unsupported);
		rte_pktmbuf_free(m);
		return;
	}

	/* Type and code share the first 16-bit word of the ICMP header. */
	memcpy(&old_word, icmp, sizeof(old_word));
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	memcpy(&new_word, icmp, sizeof(new_word));
	icmp->icmp_cksum = eph_cksum_update16(icmp->icmp_cksum, old_word, new_word);
	eph_icmp_cksum_settle(icmp, icmp_len);

	addr = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = addr;
	ip->time_to_live = ICMP_REPLY_TTL;
	ip->fragment_offset = 0;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);

	/* Answer the previous hop directly: no route or ARP lookup needed. */
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&port->mac, &eth->src_addr);
	w->stats.echo_replies++;
	eph_tx(w, in_port, m);
}

/* At most icmp_rate errors per second per worker, bursts of one second's worth. */
static bool
icmp_rate_allow(struct eph_worker *w)
{
	const struct eph_dp *dp = w->dp;
	uint64_t cost;

	if (dp->icmp_rate == 0)
		return false;
	cost = dp->tsc_hz / dp->icmp_rate;
	return eph_gcra_take(&w->icmp_tat, rte_rdtsc(), cost, cost * dp->icmp_rate);
}

/* RFC 1812 4.3.2.7: never answer an ICMP error with an ICMP error. */
static bool
is_icmp_error(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip)
{
	const struct rte_icmp_hdr *icmp;

	if (ip->next_proto_id != IPPROTO_ICMP)
		return false;
	if (rte_pktmbuf_data_len(m) < ETH_HDR_LEN + IPV4_HDR_LEN + 1)
		return true; /* cannot tell: stay silent */
	icmp = (const struct rte_icmp_hdr *)(ip + 1);
	switch (icmp->icmp_type) {
	case RTE_IP_ICMP_ECHO_REQUEST:
	case RTE_IP_ICMP_ECHO_REPLY:
	case 13: /* timestamp */
	case 14: /* timestamp reply */
		return false;
	default:
		return true;
	}
}

/*
 * Send an ICMP error about orig (which the caller still owns and drops) back
 * out of the port it came in on, to the station that sent it. Source
 * address: that port's address.
 */
__rte_noinline void
eph_icmp_error(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *orig, uint8_t type,
	       uint8_t code, uint32_t info)
{
	struct eph_dp *dp = w->dp;
	const struct eph_port *port = &dp->ports[in_port];
	const struct rte_ether_hdr *oeth = rte_pktmbuf_mtod(orig, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *oip = (const struct rte_ipv4_hdr *)(oeth + 1);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *icmp;
	uint16_t quote, len;
	struct rte_mbuf *m;

	/* Nor about a fragment other than the first (RFC 1812 4.3.2.7): it quotes no L4 header. */
	if (is_icmp_error(orig, oip) || (oip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)))
		return;
	if (!icmp_rate_allow(w)) {
		w->stats.icmp_errors_suppressed++;
		return;
	}

	quote = RTE_MIN(rte_be_to_cpu_16(oip->total_length),
			(uint16_t)(ICMP_ERR_MAX_IP - IPV4_HDR_LEN - ICMP_HDR_LEN));
	quote = RTE_MIN(quote, (uint16_t)(rte_pktmbuf_data_len(orig) - ETH_HDR_LEN));
	len = (uint16_t)(ETH_HDR_LEN + IPV4_HDR_LEN + ICMP_HDR_LEN + quote);

	m = rte_pktmbuf_alloc(dp->pool);
	if (m == NULL) {
		eph_count_drop(&w->stats, EPH_DROP_mbuf_alloc_failed);
		return;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);
	if (eth == NULL) {
		rte_pktmbuf_free(m);
		eph_count_drop(&w->stats, EPH_DROP_mbuf_alloc_failed);
		return;
	}
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	icmp = (struct rte_icmp_hdr *)(ip + 1);

	rte_ether_addr_copy(&oeth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&port->mac, &eth->src_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);

	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.type_of_service = 0xc0, /* internetwork control */
		.total_length = rte_cpu_to_be_16((uint16_t)(len - ETH_HDR_LEN)),
		.packet_id = 0,
		.fragment_offset = 0,
		.time_to_live = ICMP_REPLY_TTL,
		.next_proto_id = IPPROTO_ICMP,
		.src_addr = port->addr,
		.dst_addr = oip->src_addr,
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);

	icmp->icmp_type = type;
	icmp->icmp_code = code;
	icmp->icmp_cksum = 0;
	/* Unused field, or the next-hop MTU in its low half for "fragmentation needed". */
	rte_be32_t rest = rte_cpu_to_be_32(info);

	memcpy(&icmp->icmp_ident, &rest, sizeof(rest));
	memcpy(icmp + 1, oip, quote);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, ICMP_HDR_LEN + quote);

	w->stats.icmp_errors_sent++;
	eph_tx(w, in_port, m);
}

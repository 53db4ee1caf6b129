/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the features that keep flows (the NAT, the balancer) share about a
 * flow's packets: where the headers are, the idle timeouts, and the TCP
 * state a segment moves a record to. The records and their table are in
 * session.h, the TCP state machine in tcp_state.h.
 */
#ifndef EPH_FLOW_H
#define EPH_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include <netinet/in.h>

#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/flow/session.h"
#include "dataplane/flow/tcp_state.h"

/* Idle timeouts in ticks of the flow clock (EPH_FLOW_TICK_HZ). */
struct eph_flow_timeouts {
	uint32_t udp;
	uint32_t tcp_established;
	uint32_t tcp_transitory;
	uint32_t icmp;
};

#define EPH_FLOW_TICK_HZ 16 /* 1/16 s is plenty for timeouts of seconds */

/* The IPv4 header of a validated frame (input.c: option-free, one buffer). */
static inline struct rte_ipv4_hdr *
eph_pkt_ip(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
}

/* Bytes of L4 present after a (validated, option-free) IPv4 header. */
static inline uint16_t
eph_l4_len(const struct rte_ipv4_hdr *ip)
{
	return (uint16_t)(rte_be_to_cpu_16(ip->total_length) - sizeof(*ip));
}

/* The L4 header is there in full for the fields a translation reads and writes. */
static inline bool
eph_l4_complete(const struct rte_ipv4_hdr *ip)
{
	switch (ip->next_proto_id) {
	case IPPROTO_TCP:
		return eph_l4_len(ip) >= sizeof(struct rte_tcp_hdr);
	case IPPROTO_UDP:
		return eph_l4_len(ip) >= sizeof(struct rte_udp_hdr);
	default:
		return eph_l4_len(ip) >= sizeof(struct rte_icmp_hdr);
	}
}

/* The idle timeout of record s in its protocol and TCP state. */
static inline uint32_t
eph_flow_timeout(const struct eph_flow_timeouts *to, const struct eph_session *s)
{
	switch (s->proto) {
	case IPPROTO_TCP:
		return eph_tcp_timeout_class(s->state) == EPH_TO_ESTABLISHED ? to->tcp_established
									     : to->tcp_transitory;
	case IPPROTO_UDP:
		return to->udp;
	default:
		return to->icmp;
	}
}

/*
 * A TCP segment (ip) from side dir (EPH_DIR_*) passes through record s:
 * state machine and sequence tracking. Returns false for a RST outside
 * the window, which changes nothing and is to be dropped (tcp_state.h);
 * *prev: the state before.
 */
static inline bool
eph_flow_tcp_update(struct eph_session *s, const struct rte_ipv4_hdr *ip, int dir, uint8_t *prev)
{
	const struct rte_tcp_hdr *tcp = (const struct rte_tcp_hdr *)(ip + 1);
	enum eph_tcp_event ev = eph_tcp_event(tcp->tcp_flags);
	uint8_t next;

	*prev = s->state;
	if (unlikely(ev == EPH_TCP_EV_RST) &&
	    !eph_tcp_rst_acceptable(s->seq_end, s->tcp_track, tcp, dir))
		return false;
	next = s->state < EPH_TCP_N_STATES ? eph_tcp_fsm[s->state][dir][ev] : s->state;
	if (unlikely(ev == EPH_TCP_EV_SYN || ev == EPH_TCP_EV_SYNACK))
		eph_tcp_track_syn(s->seq_end, &s->tcp_track, tcp, eph_l4_len(ip), dir, s->state,
				  next);
	else
		eph_tcp_track(s->seq_end, &s->tcp_track, tcp, eph_l4_len(ip), dir);
	s->state = next;
	return true;
}

#endif /* EPH_FLOW_H */

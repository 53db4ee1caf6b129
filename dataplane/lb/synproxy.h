/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SYN proxy on a TCP full-NAT VIP (syn-proxy: on): the balancer answers a
 * client's SYN itself with a SYN-ACK whose initial sequence number is a
 * SYN cookie, and keeps nothing. Only an ACK that carries a valid cookie
 * creates the connection, so a flood of SYNs from spoofed sources costs
 * one answer each and no state.
 *
 * The cookie (in the manner of Linux's syncookies):
 *
 *   cookie = H0(4-tuple) + ISN + (count << 24)
 *          + ((H1(4-tuple, count) + mss index) & 0xffffff)
 *
 * H0, H1: jhash keyed by a per-process secret (rte_rand); ISN: the
 * client's; count: the flow clock in periods of EPH_SYN_COOKIE_PERIOD_S.
 * An ACK checks when its ack number - 1 gives back a count of the current
 * or previous period and an MSS index of the table; its seq - 1 is the
 * ISN. The SYN-ACK offers the MSS of that index (less the PROXY header's
 * 28 bytes on a proxy-protocol VIP) and no other option: no window
 * scaling, SACK or timestamps, so the connection runs with unscaled
 * windows of at most 64 KiB on both sides (a limit on throughput per
 * connection: 64 KiB per round trip).
 *
 * On the valid ACK the connection record is inserted as for a SYN, and
 * the balancer opens to the chosen backend with a SYN of its own: the
 * client's ISN, the cookie's MSS, no other option. The ACK is held (one
 * mbuf per connection in the side array, struct eph_lb_conn_ext; the
 * first data segment that follows takes its place, later ones are dropped
 * for the client to send again; at most an eighth of the buffers per
 * worker wait, past that the ACK is freed). The backend's SYN-ACK is taken
 * by the balancer, which sends the held segment on to the backend as the
 * handshake's last ACK (or an ACK it makes from the record, window 65535). From then on, for the connection's life:
 *
 *   backend -> client: seq + delta,   client -> backend: ack - delta,
 *   and each SACK edge of the client's - delta,
 *
 * delta = cookie - the backend's ISN, checksums patched (RFC 1624). The
 * record's tracker (tcp_state.h) sees the client's sequence space, as
 * with the PROXY header (proxy.h), whose shift works on the other two
 * numbers: both compose.
 *
 * A backend that refuses (RST) or does not answer within
 * EPH_SYN_PROXY_CONNECT_S seconds: the client gets a RST from the VIP and
 * the connection ends.
 */
#ifndef EPH_LB_SYNPROXY_H
#define EPH_LB_SYNPROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/flow/flow.h"
#include "dataplane/flow/session.h"
#include "dataplane/lb/lb.h"

struct eph_worker;
struct rte_mbuf;
struct rte_ipv4_hdr;
struct eph_icmp_quote;

#define EPH_SYN_COOKIE_PERIOD_S 64 /* a cookie checks for one to two periods */
#define EPH_SYN_PROXY_CONNECT_S 5  /* the backend's SYN-ACK is awaited this long */

/* What the balancer does with a segment of a syn-proxy connection. */
enum eph_synproxy_verdict {
	EPH_SYNPROXY_PASS,     /* on through the connection as usual */
	EPH_SYNPROXY_TAKEN,    /* held or dropped (counted): no longer the caller's */
	EPH_SYNPROXY_OPENED,   /* the backend's SYN-ACK: track it, free it, send the held one */
	EPH_SYNPROXY_REFUSED,  /* the backend's RST to the SYN: track it, reset the client */
};

/* The cookie of a SYN from saddr:sport to daddr:dport (network order), at period count. */
uint32_t eph_syn_cookie(uint32_t key0, uint32_t key1, uint32_t saddr, uint32_t daddr,
			uint32_t ports, uint32_t isn, uint32_t count, uint32_t mss_idx);

/* The cookie's period at flow-clock tick now. */
static inline uint32_t
eph_syn_cookie_count(uint32_t now)
{
	return now / (EPH_SYN_COOKIE_PERIOD_S * EPH_FLOW_TICK_HZ);
}

/*
 * A client's SYN m to v (no connection): answered in place with the cookie
 * SYN-ACK from the VIP. Consumes m.
 */
void eph_lb_synproxy_answer(struct eph_worker *w, const struct eph_lb_vip *v, uint16_t in_port,
			    struct rte_mbuf *m);

/*
 * A client's segment ip with no connection: whether it is an ACK (no SYN,
 * RST or FIN) whose cookie checks; if so, *mss the MSS it encodes. Counts
 * valid and invalid ones.
 */
bool eph_lb_synproxy_check(struct eph_worker *w, const struct rte_ipv4_hdr *ip, uint16_t *mss);

/*
 * The SYN to the backend for the cookie ACK m (before translation: client
 * -> VIP, the client's ISN, the MSS mss), in a new mbuf; NULL: none left
 * (counted).
 */
struct rte_mbuf *eph_lb_synproxy_syn(struct eph_worker *w, struct rte_mbuf *m, uint16_t mss);

/*
 * Connection idx opened from cookie ACK ack: the cookie noted, ack held
 * (or freed, when too many wait: counted in lw->held).
 */
void eph_lb_synproxy_opened(struct eph_worker *w, uint32_t idx, struct rte_mbuf *ack);

/*
 * A client's segment m of syn-proxy connection idx, before it is tracked:
 * while the backend has not answered, held or dropped (TAKEN).
 */
enum eph_synproxy_verdict eph_lb_synproxy_from_client(struct eph_worker *w, struct eph_session *s,
						      uint32_t idx, struct rte_mbuf *m);

/*
 * The same segment once tracked (and given its PROXY header): ack and SACK
 * into the backend's space; the SYN sets the time the backend has to answer.
 */
void eph_lb_synproxy_to_backend(struct eph_worker *w, struct eph_session *s, uint32_t idx,
				struct rte_mbuf *m);

/*
 * A backend's segment m of syn-proxy connection idx, before it is tracked:
 * seq into the client's space; before the handshake, the SYN-ACK (OPENED)
 * or a RST (REFUSED), anything else dropped (TAKEN).
 */
enum eph_synproxy_verdict eph_lb_synproxy_from_backend(struct eph_worker *w,
						       struct eph_session *s, uint32_t idx,
						       struct rte_mbuf *m);

/* The held segment of connection idx, taken out of the side array (or NULL). */
struct rte_mbuf *eph_lb_synproxy_take_held(struct eph_lb_worker *lw, uint32_t idx);

/*
 * No segment was held for connection idx: the backend's SYN-ACK m made
 * into the client's ACK (client -> VIP, ISN + 1, cookie + 1, window 65535)
 * to send on as the handshake's last one; NULL: no room (m still the caller's).
 */
struct rte_mbuf *eph_lb_synproxy_client_ack(struct eph_lb_worker *lw, const struct eph_session *s,
					    uint32_t idx, struct rte_mbuf *m);

/* The sequence number the client expects next while the backend has not answered. */
uint32_t eph_lb_synproxy_client_next(const struct eph_lb_worker *lw, uint32_t idx);

/* An ICMP error's quote of connection idx (see eph_lb_proxy_quote): the other two numbers. */
void eph_lb_synproxy_quote(const struct eph_lb_worker *lw, const struct eph_session *s,
			   uint32_t idx, struct eph_icmp_quote *q, bool from_client);

#endif /* EPH_LB_SYNPROXY_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PROXY protocol, version 2, on a TCP full-NAT VIP (proxy-protocol:
 * v2): the backend, which sees a local address as its peer, learns the
 * client's address and port from a 28-byte header (the 12-byte signature,
 * version 2 command PROXY, TCP over IPv4, 12 bytes of addresses and ports:
 * client, then VIP) in front of the client's first byte.
 *
 * The header takes the backend's sequence numbers ISN+1 .. ISN+28 (ISN:
 * the client's initial sequence number), so the connection lives in two
 * sequence spaces: the client's, and the backend's, 28 ahead of it after
 * the SYN. Client -> backend: seq + 28; backend -> client: ack and every
 * SACK edge - 28, where a number inside the header becomes ISN+1. The
 * backend's own numbers are the same on both sides. The record's TCP
 * tracking (tcp_state.h) keeps the client's space: the client's segments
 * are tracked before they are shifted, the backend's after.
 *
 * The segment that starts at ISN+1 carries the header: normally the
 * handshake's last ACK, which grows 28 bytes of payload (so protocols in
 * which the server speaks first work), and again any client segment
 * starting there while the backend has not acknowledged past the header
 * (a retransmission after the header was lost: the same bytes at the same
 * place). The backend's SYN-ACK has its MSS lowered by 28, so that a
 * full-sized first segment with the header still fits the path's MTU.
 *
 * The client's ISN sits in the worker's side array (struct
 * eph_lb_conn_ext, lb.h), the header's state in the record's flags
 * (EPH_LB_CONN_PROXY, EPH_LB_CONN_PROXY_ACKED).
 */
#ifndef EPH_LB_PROXY_H
#define EPH_LB_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/flow/session.h"
#include "dataplane/lb/lb.h"

struct rte_mbuf;
struct eph_icmp_quote;

#define EPH_PP2_LEN 28 /* signature 12, version/command 1, family 1, length 2, addresses 12 */

/* The header of a connection from src:sport to dst:dport (network order) into out. */
void eph_pp2_header(uint8_t out[EPH_PP2_LEN], uint32_t src, uint16_t sport, uint32_t dst,
		    uint16_t dport);

/*
 * A client's segment m of connection idx (record s), tracked, not yet
 * rewritten: a (re)opening SYN notes the ISN; the segment that starts at
 * ISN+1 gets the header, others seq + 28. false: m could not take the
 * header (counted; the caller drops it). The IPv4 header may have moved.
 */
bool eph_lb_proxy_to_backend(struct eph_lb_worker *lw, struct eph_session *s, uint32_t idx,
			     struct rte_mbuf *m);

/* A backend's segment m of connection idx, before it is tracked: acks, SACK, MSS. */
void eph_lb_proxy_to_client(struct eph_lb_worker *lw, struct eph_session *s, uint32_t idx,
			    struct rte_mbuf *m);

/* A sequence number of the client's space (the tracker's) in the backend's. */
uint32_t eph_lb_proxy_seq_to_backend(const struct eph_lb_worker *lw, const struct eph_session *s,
				     uint32_t idx, uint32_t seq);

/*
 * An ICMP error's quote of connection idx, already readdressed: the quoted
 * TCP sequence (the client's segment, from_client false) or ack (the
 * backend's, from_client true) into the space of the error's receiver,
 * with the quoted TCP checksum if it is there.
 */
void eph_lb_proxy_quote(const struct eph_lb_worker *lw, const struct eph_session *s, uint32_t idx,
			struct eph_icmp_quote *q, bool from_client);

#endif /* EPH_LB_PROXY_H */

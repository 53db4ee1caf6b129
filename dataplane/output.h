/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The output half of the packet path (dataplane/output.c): what happens to
 * a routed packet once its next hop is known. TTL, MTU (ICMP frag-needed),
 * the forward hook a feature registers for packets crossing between inside
 * and outside ports, neighbour resolution and transmit. Everything here
 * consumes the mbufs it is given: sent, handed to the control lcore, or
 * dropped with a reason.
 */
#ifndef EPH_OUTPUT_H
#define EPH_OUTPUT_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/flow/session.h"

struct eph_worker;

/*
 * Routed packets of one burst received on in_port, to on-link or gateway
 * next hops (nh_idx[i]: FIB next hop of pkts[i], hash[i]: its session hash
 * or 0): TTL and MTU checked (ICMP errors quote the packet as received),
 * those crossing between an inside and an outside port offered to the
 * forward hook, the rest sent.
 */
void eph_output_burst(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts,
		      const uint32_t *nh_idx, const uint64_t *hash, uint16_t n);

/*
 * Send a packet already checked (or rewritten by a feature): neighbour,
 * MAC rewrite, TTL, transmit. nh_idx is its FIB next hop, or UINT32_MAX to
 * look its (new) destination up; then no ICMP error is sent (it would quote
 * the rewritten packet).
 */
void eph_output_send(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, uint32_t nh_idx);

/* As eph_output_send for a batch, with one FIB lookup for every nh_idx[i] == UINT32_MAX. */
void eph_output_send_burst(struct eph_worker *w, const uint16_t *in_port, struct rte_mbuf **pkts,
			   uint32_t *nh_idx, uint16_t n);

/*
 * Send a packet of the gateway's own (from port index port's kernel
 * interface): routed, too big ones fragmented (DF clear) or dropped, no
 * TTL decrement, no forward hook. Destinations that are no on-link or
 * routed next hop (the gateway's addresses, VIPs, pools) are dropped.
 */
void eph_output_originate(struct eph_worker *w, uint16_t port, struct rte_mbuf *m);

/*
 * A forward hook: gets the routed packets of one burst that cross
 * between an inside port and an outside one, already TTL and MTU checked
 * (nh_idx[i]: their FIB next hops; ahead[i]: their session lookahead when
 * they come from inside). It consumes the packets it takes and moves those
 * it leaves untouched to the front of pkts and nh_idx, returning their
 * number; the core sends them as they are.
 */
typedef uint16_t (*eph_forward_hook_fn)(struct eph_worker *w, uint16_t in_port,
					struct rte_mbuf **pkts, uint32_t *nh_idx,
					struct eph_session_ahead *ahead, uint16_t n);

/*
 * Register a forward hook (at init, before workers start; again with the
 * same fn is harmless). Hooks see the packets in registration order, each
 * what the ones before left. 0 or -ENOSPC.
 */
int eph_output_hook_register(eph_forward_hook_fn fn);

#endif /* EPH_OUTPUT_H */

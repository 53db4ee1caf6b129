/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ARP on the control lcore: answers for the gateway's addresses, learns
 * neighbours, resolves next hops while holding the packets that wait for
 * them, re-probes entries past their reachable time and expires the silent.
 */
#ifndef EPH_ARP_H
#define EPH_ARP_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/dp.h"

/* cp: rw; telemetry: ro */
struct eph_arp_counters {
	uint64_t requests_rx;
	uint64_t replies_rx;
	uint64_t requests_tx;
	uint64_t replies_tx;
	uint64_t resolved;    /* incomplete entries that got an answer */
	uint64_t expired;     /* entries removed after unanswered probes or requests */
	uint64_t mac_changes;
	uint64_t held;        /* packets queued while resolving */
	uint64_t released;    /* held packets sent once resolved */
};

struct eph_arp {
	struct eph_dp *dp;
	uint64_t reachable_tsc;
	uint64_t retry_tsc;
	unsigned int retries;
	struct eph_arp_counters stats;
};

/* hz: TSC frequency the timers count in (rte_get_tsc_hz(), or a test's fake clock). */
void eph_arp_init(struct eph_arp *arp, struct eph_dp *dp, const struct eph_conf_arp *conf,
		  uint64_t hz);

/* Handle one packet a worker passed up (ARP input or a packet to resolve); now in TSC. */
void eph_arp_slow_input(struct eph_arp *arp, struct rte_mbuf *m, uint64_t now);

/* Retries, probes and expiry; call every few milliseconds. */
void eph_arp_timers(struct eph_arp *arp, uint64_t now);

/* Send m on port index through a worker's tx queue (the control lcore has none). */
void eph_control_tx(struct eph_dp *dp, uint16_t port, struct rte_mbuf *m);

#endif /* EPH_ARP_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading the lcores' counters: totals, and the report printed at shutdown. */
#ifndef EPH_STATS_H
#define EPH_STATS_H

#include <stdio.h>

#include "control/arp.h"
#include "dataplane/dp.h"

/* Sum of every worker's counters and the control lcore's. */
void eph_stats_total(const struct eph_dp *dp, struct eph_counters *total);

/* Ports, workers, ARP and every non-zero drop reason, as aligned tables. */
void eph_stats_print(FILE *f, const struct eph_dp *dp, const struct eph_arp *arp);

/* Ports in use and allocations refused on pool address a, summed over workers. */
struct eph_pool_addr_stats {
	uint64_t in_use;    /* ports held by sessions now */
	uint64_t exhausted; /* allocations refused there for want of a port */
	uint64_t warnings;  /* destinations that crossed warn-occupancy there */
};

void eph_stats_pool_addr(const struct eph_dp *dp, unsigned int pool, unsigned int slot,
			 struct eph_pool_addr_stats *st);

/* "192.0.2.1" from a network-order address. */
const char *eph_ip_str(uint32_t ip_be, char *buf, size_t len);

#endif /* EPH_STATS_H */

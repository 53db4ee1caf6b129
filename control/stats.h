/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading the lcores' counters: totals, and the report printed at shutdown. */
#ifndef EPH_STATS_H
#define EPH_STATS_H

#include <stdio.h>

#include "control/arp.h"
#include "control/health.h"
#include "dataplane/dp.h"
#include "dataplane/flow/tcp_state.h"
#include "dataplane/lb/lb.h"
#include "dataplane/nat/nat.h"

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

/*
 * One worker's NAT figures, for every renderer (telemetry, metrics, the
 * control socket, the shutdown report): they read these, never the
 * worker's tables. Each figure is exact when read, read with relaxed loads
 * while the worker runs; together they are not one consistent cut.
 */
struct eph_nat_worker_stats {
	uint64_t sessions;      /* live sessions (loan records not counted) */
	uint64_t mappings;      /* endpoint-independent mappings (idem) */
	uint64_t hosts;         /* inside hosts with state here */
	uint64_t inbound;       /* sessions opened from outside */
	uint64_t destinations;  /* allocator destinations, every pool and generation */
	uint64_t ports_on_loan; /* ports of this share lent to other workers */
	uint64_t borrowed_live; /* sessions and mappings here on borrowed ports */
	uint64_t sessions_tcp[EPH_TCP_N_STATES];
	uint64_t sessions_udp;
	uint64_t sessions_icmp;
	uint64_t ctr[EPH_NAT_CTR_MAX];
	/* The allocators': refusals of this share, no memory, losses and bad releases (must stay 0), FIFO chunks. */
	uint64_t alloc_exhausted;
	uint64_t alloc_no_memory;
	uint64_t alloc_lost;
	uint64_t alloc_bad_release;
	uint64_t alloc_chunks_in_use;
	uint64_t log_lost;          /* NAT log events the ring had no room for */
	uint64_t alerts_suppressed; /* occupancy warnings over the rate limit */
};

/*
 * Worker w's figures; the allocator ones need the configuration snapshot
 * cfg that names the live pools and generations (NULL: left 0).
 */
void eph_stats_nat_worker(const struct eph_dp *dp, const struct eph_dp_cfg *cfg, unsigned int w,
			  struct eph_nat_worker_stats *st);

/* The same summed over every worker (destinations included). */
void eph_stats_nat_total(const struct eph_dp *dp, const struct eph_dp_cfg *cfg,
			 struct eph_nat_worker_stats *st);

/* Worker w's busiest destinations and latest refusals (see nat.h). */
unsigned int eph_stats_nat_top(const struct eph_dp *dp, unsigned int w,
			       struct eph_nat_top_entry out[EPH_NAT_TOP_N]);
void eph_stats_nat_refusals(const struct eph_dp *dp, unsigned int w, struct eph_nat_refusals *out);

/*
 * The balancer's figures, summed over the workers, for the same renderers.
 * A VIP or backend is named by its snapshot entry (struct eph_lb_vip /
 * eph_lb_backend of cfg->lb); removed backends still draining are there
 * too, with state EPH_LB_BACKEND_REMOVED.
 */
struct eph_lb_totals {
	uint64_t connections;     /* live, every VIP */
	uint64_t connections_tcp;
	uint64_t connections_udp;
	uint64_t ctr[EPH_LB_CTR_MAX];
	uint64_t table_max;       /* connection records per worker */
	uint64_t bytes;           /* heap of the connection tables, every worker */
};

void eph_stats_lb_total(const struct eph_dp *dp, struct eph_lb_totals *st);

struct eph_lb_vip_totals {
	uint64_t active;
	uint64_t total;
	uint64_t no_backend;
	uint64_t over_limit;
	uint64_t no_port;
	uint64_t half_open;          /* SYN flood guards (struct eph_lb_vip_stats) */
	uint64_t half_open_replaced;
	uint64_t rate_limited;
	unsigned int backends;    /* configured */
	unsigned int up;          /* configured with weight > 0 */
	unsigned int removed;     /* removed, connections still draining */
};

void eph_stats_lb_vip(const struct eph_dp *dp, const struct eph_lb_vip *v,
		      struct eph_lb_vip_totals *st);

/* Backend b of VIP v (st: the same fields as a worker's, summed). */
void eph_stats_lb_backend(const struct eph_dp *dp, const struct eph_lb_vip *v,
			  const struct eph_lb_backend *b, struct eph_lb_backend_stats *st);

/* "active", "draining" (weight 0), "down" (health checks) or "removed". */
const char *eph_lb_backend_state_name(const struct eph_lb_backend *b);

/* Backend b's health (control/health.h); zeroed and "up" when nothing checks it. */
void eph_stats_lb_health(const struct eph_dp *dp, const struct eph_lb_vip *v,
			 const struct eph_lb_backend *b, struct eph_health_status *hs);

/* "192.0.2.1" from a network-order address. */
const char *eph_ip_str(uint32_t ip_be, char *buf, size_t len);

#endif /* EPH_STATS_H */

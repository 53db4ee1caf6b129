/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Live reconfiguration. A validated configuration becomes one data-plane
 * snapshot (routes, pools, timeouts: struct eph_dp_cfg) that is published
 * with a single pointer store and replaces the old one after an RCU grace
 * period, so every change is all-or-nothing and no worker ever reads a
 * half-written table. What a change takes away drains instead of
 * vanishing: a removed pool or address, or the allocator generation of an
 * old port range, stays in the snapshot taking no new sessions until its
 * last port is back, then housekeeping drops it.
 *
 * Control lcore only (one thread); telemetry threads read dp->cfg under
 * dp->cfg_lock.
 */
#ifndef EPH_RECONFIG_H
#define EPH_RECONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "control/config.h"
#include "dataplane/dp.h"

/* One allocator generation's parameters (what a new generation is started for). */
struct eph_rc_gen {
	uint16_t port_lo, port_hi;
	unsigned n_excluded;
	uint16_t *excluded; /* malloc'd */
	unsigned quarantine_s;
	bool port_parity;
	bool blocks;               /* log: port-blocks: RFC 7422 blocks (struct eph_portblock) */
	unsigned block_size;
	unsigned max_blocks_per_host;
};

/* A pool address as the control lcore tracks it (host order). */
struct eph_rc_addr {
	uint32_t addr;
	uint16_t slot;
	uint8_t state; /* enum eph_addr_state */
};

struct eph_rc_pool {
	uint8_t state;             /* enum eph_pool_state */
	uint8_t gen;               /* generation of new sessions */
	uint8_t gens;              /* generations with allocators */
	struct eph_rc_gen g[EPH_PA_GENS];
	unsigned n_addrs;
	struct eph_rc_addr *addrs; /* malloc'd, ascending: active, reserve and draining */
	uint8_t slot_used[EPH_NAT_ADDR_SLOTS / 8];
	struct eph_conf_pool last; /* its configuration (flags only: arrays not owned) */
	bool counters;             /* per-worker counter arrays exist for this slot */
};

struct eph_lb_slots;
struct eph_health;

struct eph_reconfig {
	struct eph_dp *dp;
	struct eph_conf conf;      /* the configuration that runs (owned) */
	struct eph_rc_pool pools[EPH_MAX_POOLS];
	struct eph_lb_slots *lb;   /* the balancer's VIP and backend slots (control/lb_setup.h) */
	struct eph_health *health; /* backends' health (control/health.h); NULL: all up */
	uint64_t health_seen;      /* the health generation the snapshot was built from */
	uint64_t generation;
	time_t changed_at;
	char last_change[256];     /* what made the last change: "start", "reload", a command */
	int socket;
};

/* First snapshot, before the workers start. 0 or negative errno (message on err). */
int eph_reconfig_init(struct eph_reconfig *rc, struct eph_dp *dp, const struct eph_conf *conf,
		      FILE *err);

/*
 * Make next the running configuration: next must have passed eph_conf_load
 * or eph_conf_check. Only pools, timeouts and routes may differ from the
 * running one (the caller refuses the rest, see eph_conf_diff); a pool's
 * mapping may not change. All or nothing: on failure (message on err,
 * negative errno) nothing changed. `what` names the change for show config.
 */
int eph_reconfig_apply(struct eph_reconfig *rc, const struct eph_conf *next, const char *what,
		       FILE *err);

/* Drop what has finished draining (call about once a second). Returns how many things went. */
unsigned int eph_reconfig_housekeeping(struct eph_reconfig *rc);

/*
 * Rebuild the snapshot when backends' health changed since the last one
 * (rc->health): 1 when it did, 0 when nothing changed, -ENOMEM (tried
 * again on the next call). Control lcore, cheap when nothing changed.
 */
int eph_reconfig_health(struct eph_reconfig *rc);

/* Live ports of a pool (slot) per generation, summed over workers: what drains. */
uint64_t eph_reconfig_gen_live(const struct eph_reconfig *rc, unsigned int pool, unsigned int gen);

/* Ports in use at one address slot of a pool, summed over workers. */
uint64_t eph_reconfig_addr_in_use(const struct eph_reconfig *rc, unsigned int pool,
				  unsigned int slot);

/* Slot of the pool named name, or -1. */
int eph_reconfig_pool_slot(const struct eph_reconfig *rc, const char *name);

void eph_reconfig_teardown(struct eph_reconfig *rc);

#endif /* EPH_RECONFIG_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The balancer on the control lcore: per-worker connection tables at
 * start, and the balancer's part of each configuration snapshot (VIPs,
 * backends, Maglev tables), with the stable slots that records and
 * counters name. A VIP keeps its slot while its name stays; a backend its
 * slot while its address:port stays in the VIP. A removed backend (or VIP)
 * keeps its slot while connections to it remain, so they drain (or are
 * reset, on-remove: reset) and their counters stay right; only then is
 * the slot free for another.
 */
#ifndef EPH_LB_SETUP_H
#define EPH_LB_SETUP_H

#include <stdint.h>
#include <stdio.h>

#include "control/config.h"
#include "dataplane/dp.h"
#include "dataplane/lb/lb.h"

struct eph_health;

struct eph_lb_slot_backend {
	uint32_t addr;  /* host order */
	uint16_t port;  /* host order */
	uint8_t state;  /* enum eph_lb_backend_state */
	bool fresh;     /* newly taken: its counters start from zero */
	uint64_t failures_seen; /* connection failures already reported to health */
};

struct eph_lb_slot_vip {
	uint8_t state;  /* FREE, ACTIVE (configured) or REMOVED (draining): eph_lb_backend_state */
	bool fresh;
	uint8_t on_remove;
	char name[EPH_NAME_LEN];
	struct eph_lb_slot_backend b[EPH_MAX_VIP_BACKENDS];
};

struct eph_lb_slots {
	struct eph_lb_slot_vip vip[EPH_MAX_VIPS];
};

/* Per-worker connection tables (control lcore, before workers start; only with NAT tables). */
int eph_lb_setup(struct eph_dp *dp, const struct eph_conf *conf, FILE *err);
void eph_lb_teardown(struct eph_dp *dp);

/*
 * Slots for configuration conf, from the current ones (cur, NULL: none):
 * a new set (malloc'd), or NULL with a message on err (too many removed
 * backends still draining in a VIP, out of memory).
 */
struct eph_lb_slots *eph_lb_slots_plan(const struct eph_dp *dp, const struct eph_lb_slots *cur,
				       const struct eph_conf *conf, FILE *err);

/*
 * Slots of removed backends and VIPs that no connection uses any more,
 * freed: a new set, or NULL when there is none (or no memory: later).
 */
struct eph_lb_slots *eph_lb_slots_release(const struct eph_dp *dp, const struct eph_lb_slots *cur);

/* Slots whose snapshot is published: no slot is newly taken any more (counters stay). */
void eph_lb_slots_settle(struct eph_lb_slots *slots);

/*
 * The balancer's part of a snapshot for conf under slots; pool_slot[i]:
 * the NAT slot of conf->pools[i]; health: which backends are out of the
 * tables (NULL: none). *out is NULL when there is no VIP at all. 0 or a
 * negative errno.
 */
int eph_lb_cfg_build(struct eph_dp *dp, const struct eph_lb_slots *slots,
		     const struct eph_conf *conf, const int *pool_slot, struct eph_health *health,
		     int socket, struct eph_lb_cfg **out);

/*
 * Passive detection's input: report to health the connection failures the
 * workers counted against each active backend since the last call
 * (slots->...failures_seen keeps the running sums). Control lcore.
 */
void eph_lb_report_failures(const struct eph_dp *dp, struct eph_lb_slots *slots,
			    struct eph_health *health, uint64_t now_ms);
void eph_lb_cfg_free(struct eph_lb_cfg *cfg);

/* Live connections to VIP slot v (backend slot b, or all of the VIP's with b < 0), all workers. */
uint64_t eph_lb_active(const struct eph_dp *dp, unsigned int v, int b);

#endif /* EPH_LB_SETUP_H */

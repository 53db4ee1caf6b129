/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Backend health (control/health.c): active checks run by a thread of the
 * control plane (never a worker) from the gateway's own kernel, through
 * the kernel interface of the port that reaches the backend; passive
 * detection from the connection failures the workers count; the up/down
 * state of every backend, with rise and fall, that the balancer's table
 * is built from (control/lb_setup.c).
 *
 * Backends are named by VIP name, address and port (host order): the
 * same backend keeps its state across configuration changes. Every call
 * is thread-safe; the control lcore configures, reports passive failures
 * and reads, the checker thread checks.
 */
#ifndef EPH_HEALTH_H
#define EPH_HEALTH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "control/config.h"

struct eph_health;

/* What one backend's health looks like now (show backends, telemetry, metrics). */
struct eph_health_status {
	bool checked;         /* it has an active check */
	bool passive;         /* its VIP has outlier-detection */
	bool up;              /* passing (or unchecked) and not ejected */
	bool ejected;         /* down by passive detection */
	bool kept;            /* down, but keeps its table share: the VIP's last (all-down: keep) */
	char last[96];        /* the last check's result: "HTTP 200", "timeout after 1000 ms" */
	uint32_t latency_us;  /* of the last check that answered */
	uint64_t checks;
	uint64_t failed;      /* checks that failed */
	uint64_t passive_failures; /* connection failures reported by the workers */
	uint64_t downs;       /* transitions to down */
	uint64_t ups;         /* transitions back up */
	char reason[160];     /* why the last transition */
	uint64_t since_ms;    /* the state's age */
};

/* The checker thread, with nothing to check yet; NULL after writing why to err. */
struct eph_health *eph_health_create(FILE *err);
void eph_health_destroy(struct eph_health *h);

/*
 * The backends and checks of conf (control lcore, at start and after each
 * change). A backend that stays keeps its state; a new one starts up and
 * is checked at once.
 */
int eph_health_configure(struct eph_health *h, const struct eph_conf *conf);

/*
 * Connection failures the workers counted against a backend since the
 * last report (control lcore, about once a second; now_ms: a monotonic
 * clock). Ejects it when its VIP's outlier-detection threshold is crossed.
 */
void eph_health_passive(struct eph_health *h, const char *vip, uint32_t addr, uint16_t port,
			uint64_t failures, uint64_t now_ms);

/* Changes every time some backend's place in the table changes. */
uint64_t eph_health_generation(struct eph_health *h);

/*
 * Whether the backend takes new connections: up, or kept when every
 * backend of its VIP is down and the VIP says all-down: keep. Unknown
 * backends (no health known yet) are serving.
 */
bool eph_health_serving(struct eph_health *h, const char *vip, uint32_t addr, uint16_t port);

/* The backend's health; -ENOENT when it is not known. */
int eph_health_status(struct eph_health *h, const char *vip, uint32_t addr, uint16_t port,
		      struct eph_health_status *out);

/* A monotonic clock in milliseconds (CLOCK_MONOTONIC). */
uint64_t eph_health_now_ms(void);

#endif /* EPH_HEALTH_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket's commands (protocol v1): what ephctl asks for and the
 * daemon answers. Reads come from counters and the configuration snapshot;
 * changes go through control/reconfig.c, validated first, all or nothing.
 */
#ifndef EPH_CTL_CMDS_H
#define EPH_CTL_CMDS_H

#include <stdint.h>

#include "control/arp.h"
#include "control/ctl_server.h"
#include "dataplane/dp.h"

struct eph_natlog_writer;

/* Totals of the occupancy alerts the control lcore has logged. */
struct eph_alert_counts {
	uint64_t occupancy;
	uint64_t exhausted;
};

struct eph_ctl_ctx {
	struct eph_dp *dp;
	struct eph_arp *arp;
	const char *conf_path;          /* re-read by reload */
	uint64_t start_tsc;
	const struct eph_ctl_server *server;
	const struct eph_natlog_writer *natlog; /* NULL when no pool logs */
	const struct eph_alert_counts *alerts;
};

extern const struct eph_ctl_command eph_ctl_commands[];
extern const unsigned int eph_ctl_n_commands;

/*
 * Re-read ctx->conf_path and apply it (SIGHUP and the reload command).
 * 0, or -1 with err filled (the running configuration is unchanged).
 */
int eph_ctl_reload(struct eph_ctl_ctx *ctx, json_t **changes, struct eph_ctl_error *err);

/* The Prometheus text exposition (format 0.0.4), malloc'd. */
char *eph_metrics_render(const struct eph_ctl_ctx *ctx);

#endif /* EPH_CTL_CMDS_H */

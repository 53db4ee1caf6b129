/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The core sections (eal, arp, dataplane, control): their raw YAML mapping
 * and what load.c calls. Private to control/config/.
 */
#ifndef EPH_CONFIG_CORE_H
#define EPH_CONFIG_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include <cyaml/cyaml.h>

#include "control/config/common.h"

struct raw_eal {
	char *lcores;
	int64_t *main_lcore;
	bool *hugepages;
	int64_t *memory_mb;
	char *file_prefix;
	char *log_level;
	char **args;
	unsigned args_count;
};

struct raw_arp {
	int64_t *reachable_s;
	int64_t *retry_ms;
	int64_t *retries;
	int64_t *hold_packets;
	int64_t *max_entries;
};

struct raw_dataplane {
	int64_t *burst;
	int64_t *tx_drain_us;
	int64_t *mbufs;
	int64_t *icmp_rate;
	int64_t *kernel_rate;
};

struct raw_control {
	char *socket;
	char *group;
	bool *telemetry;
	char *metrics_http;
};

extern const cyaml_schema_field_t eph_conf_eal_fields[];
extern const cyaml_schema_field_t eph_conf_arp_fields[];
extern const cyaml_schema_field_t eph_conf_dataplane_fields[];
extern const cyaml_schema_field_t eph_conf_control_fields[];

/* The documented defaults of eal, arp, dataplane and control. */
void eph_conf_core_defaults(struct eph_conf *conf);

void eph_conf_validate_eal(struct vctx *v, const struct raw_eal *r, struct eph_conf_eal *eal);
void eph_conf_validate_arp(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf);
void eph_conf_validate_dataplane(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf);
void eph_conf_validate_control(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf);

#endif /* EPH_CONFIG_CORE_H */

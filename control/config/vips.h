/* SPDX-License-Identifier: BSD-3-Clause */
/* The balancer's section, vips: (vips.c). */
#ifndef EPH_CONFIG_VIPS_H
#define EPH_CONFIG_VIPS_H

#include <stdbool.h>
#include <stdint.h>

#include "control/config/common.h"
#include "control/config/health.h"
#include "control/config/ports.h"

struct raw_backend {
	char *address;
	int64_t *port;
	int64_t *weight;
	int64_t *max_connections;
	struct raw_health *health_check;
};

struct raw_vip {
	char *name;
	char *address;
	int64_t *port;
	int *protocol;                    /* IPPROTO_TCP or IPPROTO_UDP */
	enum eph_lb_forwarding *forwarding;
	char *source_pool;
	char **local_addresses;
	unsigned local_addresses_count;
	int *scheduler;                   /* maglev, the only one */
	int64_t *maglev_size;
	enum eph_lb_hash *hash;
	int64_t *max_connections;
	enum eph_lb_refusal *refusal;
	enum eph_lb_on_remove *on_remove;
	enum eph_lb_proxy *proxy;
	int64_t *half_open_per_worker;   /* SYN flood guards */
	int64_t *new_connections_per_s;
	enum eph_lb_syn_proxy *syn_proxy;
	struct raw_backend *backends;
	unsigned backends_count;
	struct raw_health *health_check;
	struct raw_outlier *outlier_detection;
	int *all_down;
};

extern const cyaml_schema_value_t eph_conf_vip_schema;
extern const struct eph_conf_int_rule eph_conf_vips_int_rules[];

/* A VIP's defaults (no name, address or backends). */
void eph_conf_vip_defaults(struct eph_conf_vip *v);

/* Whether a (host order) is some VIP's address; who: which. */
bool eph_conf_vip_addr_used(const struct eph_conf *conf, uint32_t a, char *who, size_t size);

/* Whether some VIP of the file names pool `name` as its source-pool (the pool is the balancer's). */
bool eph_conf_raw_source_pool(const struct raw_conf *r, const char *name);

/*
 * The vips: section into conf (after ports, routes and pools): each VIP
 * read and checked, its local-addresses made a pool appended to
 * conf->pools, then the rules that reload checks too.
 */
void eph_conf_validate_vips(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf);

/*
 * The cross-field rules of the VIPs of a whole configuration (names,
 * addresses, backends, pools, Maglev sizes): report(arg, path, message)
 * once per problem, path "vips[i].key" (by_name: "vips[NAME].key").
 */
void eph_conf_vips_rules(const struct eph_conf *conf, bool by_name,
			 void (*report)(void *arg, const char *path, const char *msg), void *arg);

#endif /* EPH_CONFIG_VIPS_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ports and routes sections: their raw YAML mapping, the per-port facts
 * later checks need, and what load.c and the pools' checks call. Private
 * to control/config/.
 */
#ifndef EPH_CONFIG_PORTS_H
#define EPH_CONFIG_PORTS_H

#include <stdbool.h>
#include <stdint.h>

#include <cyaml/cyaml.h>

#include "control/config/common.h"

struct raw_port {
	char *name;
	char *device;
	enum eph_port_role *role;
	char *address;
	int64_t *mtu;
	int64_t *rx_desc;
	int64_t *tx_desc;
	bool *promiscuous;
	char *mss_clamp;
	char *kernel_interface;
};

struct raw_route {
	char *prefix;
	char *via;
	char *port;
};

/* Per-port facts the route checks need even when the port itself is bad. */
struct port_state {
	bool name_ok;
	bool addr_ok;
	char dev_key[EPH_DEVICE_LEN]; /* PCI address or vdev name, for uniqueness */
};

extern const cyaml_schema_value_t eph_conf_port_schema;
extern const cyaml_schema_value_t eph_conf_route_schema;

/* Is a on the subnet of port p? */
bool eph_conf_in_subnet(const struct eph_conf_port *p, uint32_t a);

/* st: one per port, filled in here for the checks of routes and pools. */
void eph_conf_validate_ports(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf,
			     struct port_state *st);
void eph_conf_validate_routes(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf,
			      const struct port_state *st);

#endif /* EPH_CONFIG_PORTS_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/* IPv4 FIB construction and single lookups (the burst path looks up in bulk). */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "dataplane/route.h"

/* Two-byte next-hop values: 32 MiB of tbl24 instead of 128 MiB for 8-byte ones. */
#define EPH_FIB_NH_SZ     RTE_FIB_DIR24_8_2B
#define EPH_FIB_MAX_NH    32767
#define EPH_FIB_TBL8      4096

const char *
eph_nh_type_name(enum eph_nh_type type)
{
	switch (type) {
	case EPH_NH_NONE:
		return "none";
	case EPH_NH_LOCAL:
		return "local";
	case EPH_NH_BCAST:
		return "broadcast";
	case EPH_NH_CONNECTED:
		return "connected";
	case EPH_NH_GATEWAY:
		return "gateway";
	case EPH_NH_POOL:
		return "pool";
	case EPH_NH_VIP:
		return "vip";
	case EPH_NH_TYPE_COUNT:
		break;
	}
	return "?";
}

/* Index of an equal next hop, adding it if new; -ENOSPC when the table is full. */
static int
nexthop_intern(struct eph_route_table *rt, uint8_t type, uint16_t port, uint32_t gw)
{
	for (uint32_t i = 0; i < rt->n_nh; i++) {
		const struct eph_nexthop *nh = &rt->nh[i];

		if (nh->type == type && nh->port == port && nh->gw == gw)
			return (int)i;
	}
	if (rt->n_nh == rt->max_nh)
		return -ENOSPC;
	rt->nh[rt->n_nh] = (struct eph_nexthop){ .type = type, .port = port, .gw = gw };
	return (int)rt->n_nh++;
}

static int
route_add(struct eph_route_table *rt, uint32_t prefix, uint8_t len, uint8_t type,
	  uint16_t port, uint32_t gw)
{
	int idx = nexthop_intern(rt, type, port, gw);

	if (idx < 0)
		return idx;
	return rte_fib_add(rt->fib, prefix, len, (uint64_t)idx);
}

int
eph_route_table_build(struct eph_route_table *rt, const struct eph_conf *conf,
		      const struct eph_route_pool_addr *pool_addrs, unsigned int n_pool_addrs,
		      const char *name, int socket_id)
{
	struct rte_fib_conf fc = {
		.type = RTE_FIB_DIR24_8,
		.default_nh = 0,
		.max_routes = conf->n_routes + 4 * conf->n_ports + 16 + n_pool_addrs + conf->n_vips,
		.dir24_8 = { .nh_sz = EPH_FIB_NH_SZ, .num_tbl8 = EPH_FIB_TBL8 },
	};
	int ret;

	memset(rt, 0, sizeof(*rt));
	rt->max_nh = RTE_MIN(conf->n_routes + 3 * conf->n_ports + EPH_MAX_POOLS + 2,
			     (unsigned)EPH_FIB_MAX_NH);
	rt->nh = rte_zmalloc_socket("eph_nexthops", rt->max_nh * sizeof(*rt->nh), 0, socket_id);
	if (rt->nh == NULL)
		return -ENOMEM;
	rt->n_nh = 1; /* nh[0] = EPH_NH_NONE, the default */

	rt->fib = rte_fib_create(name, socket_id, &fc);
	if (rt->fib == NULL) {
		ret = -rte_errno;
		goto fail;
	}

	/* Less specific first is not required by rte_fib: longest match wins. */
	for (unsigned int i = 0; i < conf->n_ports; i++) {
		const struct eph_conf_port *p = &conf->ports[i];
		uint32_t mask = p->prefix_len == 0 ? 0 : ~0u << (32 - p->prefix_len);
		uint32_t net = p->addr & mask;

		ret = route_add(rt, net, p->prefix_len, EPH_NH_CONNECTED, i, 0);
		if (ret == 0)
			ret = route_add(rt, p->addr, 32, EPH_NH_LOCAL, i, 0);
		if (ret == 0 && p->prefix_len <= 30)
			ret = route_add(rt, net | ~mask, 32, EPH_NH_BCAST, i, 0);
		if (ret < 0)
			goto fail;
	}
	for (unsigned int i = 0; i < conf->n_routes; i++) {
		const struct eph_conf_route *r = &conf->routes[i];

		ret = route_add(rt, r->prefix, r->prefix_len, EPH_NH_GATEWAY, r->port,
				rte_cpu_to_be_32(r->via));
		if (ret < 0)
			goto fail;
	}
	/* Pool addresses are ours: replies to translated flows come back to them. */
	for (unsigned int i = 0; i < n_pool_addrs; i++) {
		ret = route_add(rt, pool_addrs[i].addr, 32, EPH_NH_POOL, pool_addrs[i].pool, 0);
		if (ret < 0)
			goto fail;
	}
	/* VIPs: several may share an address (other ports, protocols); the balancer tells them apart. */
	for (unsigned int i = 0; i < conf->n_vips; i++) {
		ret = route_add(rt, conf->vips[i].addr, 32, EPH_NH_VIP, 0, 0);
		if (ret < 0)
			goto fail;
	}
	return 0;
fail:
	eph_route_table_free(rt);
	return ret;
}

void
eph_route_table_free(struct eph_route_table *rt)
{
	rte_fib_free(rt->fib);
	rte_free(rt->nh);
	memset(rt, 0, sizeof(*rt));
}

const struct eph_nexthop *
eph_route_lookup(const struct eph_route_table *rt, uint32_t ip)
{
	uint64_t idx = 0;

	rte_fib_lookup_bulk(rt->fib, &ip, &idx, 1);
	return &rt->nh[idx < rt->n_nh ? idx : 0];
}

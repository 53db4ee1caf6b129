/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Route lookup: own addresses, connected subnets, broadcasts, longest-prefix
 * match; registration of next-hop kinds.
 */
#include <errno.h>
#include <stdlib.h>

#include "tests/unit/harness.h"

static int
setup(void **state)
{
	(void)state;
	t_start("unit-route");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	t_stop();
	return 0;
}

static void
assert_nh(const struct eph_route_table *rt, uint32_t ip, enum eph_nh_type type, uint16_t port,
	  uint32_t gw)
{
	const struct eph_nexthop *nh = eph_route_lookup(rt, ip);

	assert_int_equal(nh->type, type);
	if (type == EPH_NH_NONE)
		return;
	assert_int_equal(nh->port, port);
	assert_int_equal(nh->gw, gw ? rte_cpu_to_be_32(gw) : 0);
}

/* The daemon's own table for the harness configuration. */
static void
test_testbed_table(void **state)
{
	const struct eph_route_table *rt = t_dp.cfg->routes;

	(void)state;
	assert_nh(rt, T_IN_ADDR, EPH_NH_LOCAL, 0, 0);
	assert_nh(rt, T_OUT_ADDR, EPH_NH_LOCAL, 1, 0);
	assert_nh(rt, T_IPV4(192, 0, 2, 0), EPH_NH_CONNECTED, 0, 0);
	assert_nh(rt, T_IPV4(192, 0, 2, 77), EPH_NH_CONNECTED, 0, 0);
	assert_nh(rt, T_IPV4(192, 0, 2, 254), EPH_NH_CONNECTED, 0, 0);
	assert_nh(rt, T_IPV4(192, 0, 2, 255), EPH_NH_BCAST, 0, 0);
	assert_nh(rt, T_IPV4(203, 0, 113, 10), EPH_NH_CONNECTED, 1, 0);
	assert_nh(rt, T_IPV4(203, 0, 113, 255), EPH_NH_BCAST, 1, 0);
	assert_nh(rt, T_IPV4(198, 51, 100, 1), EPH_NH_GATEWAY, 1, T_ROUTER);
	assert_nh(rt, T_IPV4(198, 51, 100, 255), EPH_NH_GATEWAY, 1, T_ROUTER);
	assert_nh(rt, T_IPV4(198, 51, 101, 1), EPH_NH_NONE, 0, 0);
	assert_nh(rt, T_IPV4(8, 8, 8, 8), EPH_NH_NONE, 0, 0);
}

/* Overlapping static routes: the longest prefix wins, whatever the order given. */
static void
test_longest_prefix_match(void **state)
{
	struct eph_conf conf = t_conf;
	struct eph_conf_route routes[] = {
		{ .prefix = 0, .prefix_len = 0, .via = T_IPV4(203, 0, 113, 254), .port = 1 },
		{ .prefix = T_IPV4(10, 0, 0, 0), .prefix_len = 8, .via = T_IPV4(192, 0, 2, 8), .port = 0 },
		{ .prefix = T_IPV4(10, 1, 2, 3), .prefix_len = 32, .via = T_IPV4(203, 0, 113, 3), .port = 1 },
		{ .prefix = T_IPV4(10, 1, 0, 0), .prefix_len = 16, .via = T_IPV4(203, 0, 113, 16), .port = 1 },
		{ .prefix = T_IPV4(10, 1, 2, 0), .prefix_len = 25, .via = T_IPV4(192, 0, 2, 25), .port = 0 },
	};
	struct eph_route_table rt;

	(void)state;
	conf.routes = routes;
	conf.n_routes = RTE_DIM(routes);
	assert_int_equal(eph_route_table_build(&rt, &conf, NULL, 0, "test_lpm", 0), 0);

	assert_nh(&rt, T_IPV4(8, 8, 8, 8), EPH_NH_GATEWAY, 1, T_IPV4(203, 0, 113, 254));
	assert_nh(&rt, T_IPV4(10, 200, 0, 1), EPH_NH_GATEWAY, 0, T_IPV4(192, 0, 2, 8));
	assert_nh(&rt, T_IPV4(10, 1, 200, 1), EPH_NH_GATEWAY, 1, T_IPV4(203, 0, 113, 16));
	assert_nh(&rt, T_IPV4(10, 1, 2, 1), EPH_NH_GATEWAY, 0, T_IPV4(192, 0, 2, 25));
	assert_nh(&rt, T_IPV4(10, 1, 2, 127), EPH_NH_GATEWAY, 0, T_IPV4(192, 0, 2, 25));
	assert_nh(&rt, T_IPV4(10, 1, 2, 128), EPH_NH_GATEWAY, 1, T_IPV4(203, 0, 113, 16));
	assert_nh(&rt, T_IPV4(10, 1, 2, 3), EPH_NH_GATEWAY, 1, T_IPV4(203, 0, 113, 3));
	/* Connected subnets and own addresses still beat the default route. */
	assert_nh(&rt, T_IPV4(192, 0, 2, 50), EPH_NH_CONNECTED, 0, 0);
	assert_nh(&rt, T_IN_ADDR, EPH_NH_LOCAL, 0, 0);
	/* Equal next hops are stored once: NONE, 2 ports x 3, 4 distinct gateways. */
	assert_int_equal(rt.n_nh, 1 + 6 + 5);
	eph_route_table_free(&rt);
}

/* Bulk lookup (the worker's path) agrees with single lookups on random addresses. */
static void
test_bulk_matches_single(void **state)
{
	const struct eph_route_table *rt = t_dp.cfg->routes;
	uint32_t ips[256];
	uint64_t nh[256];

	(void)state;
	srand(7);
	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < 256; i++) {
			/* Mostly inside the configured prefixes, some anywhere. */
			static const uint32_t bases[] = { T_IPV4(192, 0, 2, 0),
							  T_IPV4(203, 0, 113, 0),
							  T_IPV4(198, 51, 100, 0), 0 };
			uint32_t base = bases[rand() % 4];

			ips[i] = base ? base | (uint32_t)(rand() & 0xff) : (uint32_t)rand();
		}
		rte_fib_lookup_bulk(rt->fib, ips, nh, 256);
		for (int i = 0; i < 256; i++)
			assert_ptr_equal(&rt->nh[nh[i]], eph_route_lookup(rt, ips[i]));
	}
}

static void
nh_input_unused(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts,
		const uint32_t *nh_idx, const struct eph_session_ahead *ahead, uint16_t n)
{
	(void)w, (void)in_port, (void)pkts, (void)nh_idx, (void)ahead, (void)n;
	fail();
}

/* The core's own kinds and kinds out of range take no handler. */
static void
test_nh_register_refuses_core_kinds(void **state)
{
	const struct eph_nh_ops ops = { .name = "unused", .input = nh_input_unused };
	const struct eph_nh_ops no_input = { .name = "unused" };

	(void)state;
	for (int t = EPH_NH_NONE; t <= EPH_NH_GATEWAY; t++)
		assert_int_equal(eph_nh_register((enum eph_nh_type)t, &ops), -EINVAL);
	assert_int_equal(eph_nh_register(EPH_NH_TYPE_COUNT, &ops), -EINVAL);
	assert_int_equal(eph_nh_register(EPH_NH_POOL, NULL), -EINVAL);
	assert_int_equal(eph_nh_register(EPH_NH_POOL, &no_input), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_testbed_table),
		cmocka_unit_test(test_longest_prefix_match),
		cmocka_unit_test(test_bulk_matches_single),
		cmocka_unit_test(test_nh_register_refuses_core_kinds),
	};

	return cmocka_run_group_tests_name("route", tests, setup, teardown);
}

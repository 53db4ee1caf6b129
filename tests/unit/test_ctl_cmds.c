/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket's commands (control/ctl_cmds.c) against a real data
 * plane on net_ring ports: configuration changes called straight from the
 * command table.
 */
#include <string.h>

#include <jansson.h>

#include "control/ctl_cmds.h"
#include "control/reconfig.h"
#include "tests/unit/harness.h"

#define POOL_A T_IPV4(203, 0, 113, 100)
#define POOL_B T_IPV4(203, 0, 113, 101)
#define POOL_C T_IPV4(203, 0, 113, 102)

static uint32_t addrs_a[] = { POOL_A };
static uint32_t addrs_b[] = { POOL_B };
static struct eph_conf_prefix inside_a[] = { { T_IPV4(192, 0, 2, 0), 25 } };
static struct eph_conf_prefix inside_b[] = { { T_IPV4(192, 0, 2, 128), 25 } };
static struct eph_alert_counts alerts;
static struct eph_ctl_ctx ctx;

/* Two pools, neither with reserve addresses (reserve NULL, n_reserve 0). */
static void
two_pools(struct eph_conf *conf)
{
	struct eph_conf_pool *a = &conf->pools[0], *b = &conf->pools[1];

	eph_conf_pool_defaults(a);
	eph_conf_pool_defaults(b);
	snprintf(a->name, sizeof(a->name), "a");
	a->addrs = addrs_a;
	a->n_addrs = 1;
	a->inside = inside_a;
	a->n_inside = 1;
	snprintf(b->name, sizeof(b->name), "b");
	b->addrs = addrs_b;
	b->n_addrs = 1;
	b->inside = inside_b;
	b->n_inside = 1;
	conf->n_pools = 2;
	conf->nat.sessions_per_worker = 4096;
	conf->nat.destinations_per_worker = 1024;
	conf->nat.handoff_ring = 256;
	conf->nat_log.ring = 1024;
}

static int
setup(void **state)
{
	(void)state;
	t_start_with("unit-ctl-cmds", two_pools);
	ctx = (struct eph_ctl_ctx){ .dp = &t_dp, .conf_path = "/nonexistent", .alerts = &alerts };
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	t_conf.n_pools = 0; /* the pools' arrays are static */
	t_stop();
	return 0;
}

static const struct eph_ctl_command *
command(const char *name)
{
	for (unsigned int i = 0; i < eph_ctl_n_commands; i++)
		if (strcmp(eph_ctl_commands[i].name, name) == 0)
			return &eph_ctl_commands[i];
	fail_msg("no command %s", name);
	return NULL;
}

/* Run name with args (a JSON text): 0 with *result, or -1 with err. */
static int
call(const char *name, const char *args_text, json_t **result, struct eph_ctl_error *err)
{
	json_t *args = args_text != NULL ? json_loads(args_text, 0, NULL) : NULL;
	int rc;

	if (args_text != NULL)
		assert_non_null(args);
	memset(err, 0, sizeof(*err));
	*result = NULL;
	rc = command(name)->fn(&ctx, args, result, err);
	json_decref(args);
	return rc;
}

/*
 * Adding an address looks it up in every other pool's lists, including
 * the empty reserve lists (no array at all): that must not reach bsearch
 * with a NULL array, which a sanitized build stops on.
 */
static void
test_add_address_other_pool_without_reserve(void **state)
{
	struct eph_ctl_error err;
	json_t *result;

	(void)state;
	assert_int_equal(call("pool.add-address", "{\"pool\":\"a\",\"address\":\"203.0.113.102\"}",
			      &result, &err), 0);
	assert_int_equal(json_array_size(json_object_get(result, "added")), 1);
	json_decref(result);
	assert_int_equal(t_dp.rc->conf.pools[0].n_addrs, 2);
	assert_int_equal(t_dp.rc->conf.pools[0].addrs[1], POOL_C);

	/* And an address of the other pool is still named as such. */
	assert_int_equal(call("pool.add-address", "{\"pool\":\"a\",\"address\":\"203.0.113.101\"}",
			      &result, &err), -1);
	assert_string_equal(err.code, "refused");
	assert_string_equal(err.message, "args.address: 203.0.113.101 is an address of pool b");
}

/*
 * timeouts.set refuses what the file refuses, in the file's words, and
 * warns below the RFC floors only (not below the defaults).
 */
static void
test_timeouts_set_limits(void **state)
{
	struct eph_ctl_error err;
	json_t *result;
	unsigned int udp = t_dp.rc->conf.timeouts.udp;

	(void)state;
	assert_int_equal(call("timeouts.set", "{\"udp\":90000}", &result, &err), -1);
	assert_string_equal(err.code, "invalid-argument");
	assert_string_equal(err.message,
			    "timeouts.udp: expected an integer from 1 to 86400, found 90000");
	assert_int_equal(call("timeouts.set", "{\"tcp-transitory\":604800}", &result, &err), -1);
	assert_string_equal(err.message, "timeouts.tcp-transitory: expected an integer from 1 to "
					 "86400, found 604800");
	assert_int_equal(call("timeouts.set", "{\"icmp\":0}", &result, &err), -1);
	assert_string_equal(err.message, "timeouts.icmp: expected an integer from 1 to 86400, "
					 "found 0");
	assert_int_equal(t_dp.rc->conf.timeouts.udp, udp);

	/* Between the floor (120) and the default (300): taken without a word. */
	assert_int_equal(call("timeouts.set", "{\"udp\":200,\"tcp-established\":604800}", &result,
			      &err), 0);
	assert_int_equal(json_array_size(json_object_get(result, "warnings")), 0);
	json_decref(result);
	assert_int_equal(t_dp.rc->conf.timeouts.udp, 200);
	assert_int_equal(t_dp.rc->conf.timeouts.tcp_established, 604800);

	/* Below the floor: taken, with the file's warning. */
	assert_int_equal(call("timeouts.set", "{\"udp\":119,\"icmp\":59}", &result, &err), 0);
	assert_int_equal(json_array_size(json_object_get(result, "warnings")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(result, "warnings"), 0)),
			    "timeouts.udp: 119 s is below the 120 s floor of RFC 4787 REQ-5; UDP "
			    "mappings may expire while still in use");
	assert_string_equal(json_string_value(json_array_get(json_object_get(result, "warnings"), 1)),
			    "timeouts.icmp: 59 s is below the 60 s floor of RFC 5508 REQ-1; ICMP "
			    "query mappings may expire while still in use");
	json_decref(result);
	assert_int_equal(t_dp.rc->conf.timeouts.udp, 119);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_address_other_pool_without_reserve),
		cmocka_unit_test(test_timeouts_set_limits),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

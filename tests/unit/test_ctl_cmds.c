/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket's commands (control/ctl_cmds.c) against a real data
 * plane on net_ring ports: configuration changes called straight from the
 * command table, and the commands that need the workers (show.sessions,
 * sessions.clear) through a real control socket, with a stand-in worker
 * on the worker lcore serving their requests when the test lets it, so
 * that the control loop is seen to go on while a request is out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_launch.h>
#include <rte_pause.h>
#include <rte_udp.h>

#include "control/ctl_cmds.h"
#include "control/reconfig.h"
#include "dataplane/flow/session.h"
#include "tests/unit/harness.h"

#define IN       0
#define OUT      1
#define SESSIONS 300
#define WAIT_MS  5000

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

static struct rte_mbuf *
udp(uint32_t src, uint16_t sport)
{
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, src, T_SERVER, IPPROTO_UDP, 64,
					   sizeof(struct rte_udp_hdr) + 8);
	struct rte_ipv4_hdr *ip = t_ip(m);
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)(ip + 1);

	u->src_port = rte_cpu_to_be_16(sport);
	u->dst_port = RTE_BE16(53);
	u->dgram_len = rte_cpu_to_be_16(sizeof(*u) + 8);
	u->dgram_cksum = 0;
	u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
	return m;
}

static int
setup(void **state)
{
	struct eph_worker *w;

	(void)state;
	t_start_with("unit-ctl-cmds", two_pools);
	ctx = (struct eph_ctl_ctx){ .dp = &t_dp, .conf_path = "/nonexistent", .alerts = &alerts };
	w = t_dp.workers[0];
	t_neigh_add(OUT, T_SERVER, &t_server_mac);
	t_neigh_add(IN, T_HOST, &t_host_mac);
	/* Sessions for the dumps, made before the stand-in worker runs. */
	for (uint16_t i = 0; i < SESSIONS; i++) {
		struct rte_mbuf *m = udp(T_HOST, (uint16_t)(10000 + i));

		eph_input_burst(w, IN, &m, 1);
	}
	t_drain();
	assert_int_equal(eph_session_count(w->nat.sessions), SESSIONS);
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

/* ---- through the socket, with a stand-in worker --------------------------- */

static bool worker_serves; /* the stand-in worker takes control requests */
static bool worker_stop;

/* The worker loop's control part: serve the requests on the ring while allowed. */
static int
standin_worker(void *arg)
{
	struct eph_worker *w = arg;

	while (!__atomic_load_n(&worker_stop, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&worker_serves, __ATOMIC_ACQUIRE) &&
		    (w->nat.ctl_cur != NULL || !rte_ring_empty(w->nat.ctl)))
			eph_nat_ctl_poll(w);
		rte_pause();
	}
	return 0;
}

static void
worker_start(bool serves)
{
	unsigned int lcore = t_dp.workers[0]->lcore;

	__atomic_store_n(&worker_serves, serves, __ATOMIC_RELEASE);
	__atomic_store_n(&worker_stop, false, __ATOMIC_RELEASE);
	assert_int_equal(rte_eal_remote_launch(standin_worker, t_dp.workers[0], lcore), 0);
	while (rte_eal_get_lcore_state(lcore) != RUNNING)
		rte_pause();
}

static void
worker_end(void)
{
	__atomic_store_n(&worker_stop, true, __ATOMIC_RELEASE);
	rte_eal_wait_lcore(t_dp.workers[0]->lcore);
}

static char tmpdir[64];
static char sock_path[100];

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct eph_ctl_server *
server_open(size_t cap_client, size_t cap_total)
{
	const struct eph_ctl_server_conf conf = {
		.path = sock_path,
		.commands = eph_ctl_commands,
		.n_commands = eph_ctl_n_commands,
		.ctx = &ctx,
		.output_cap = cap_client,
		.output_total = cap_total,
	};
	struct eph_ctl_server *s;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/eph_t_cmds_XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", tmpdir);
	s = eph_ctl_server_open(&conf, stderr);
	assert_non_null(s);
	ctx.server = s;
	return s;
}

static void
server_close(struct eph_ctl_server *s)
{
	eph_ctl_server_close(s);
	ctx.server = NULL;
	assert_int_equal(rmdir(tmpdir), 0);
}

struct tclient {
	int fd;
	char *buf;
	size_t len, cap;
	bool eof;
};

static void
tc_connect(struct tclient *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

static void
tc_send(struct tclient *c, const char *text)
{
	assert_int_equal(send(c->fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

static void
tc_close(struct tclient *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
}

/* The next response line, parsed, with s polled meanwhile; NULL if none came by the deadline. */
static json_t *
tc_answer(struct eph_ctl_server *s, struct tclient *c, uint64_t wait_ms)
{
	uint64_t deadline = now_ms() + wait_ms;

	for (;;) {
		char *nl = c->buf != NULL ? memchr(c->buf, '\n', c->len) : NULL;
		ssize_t n;

		if (nl != NULL) {
			size_t used = (size_t)(nl - c->buf) + 1;
			json_t *o = json_loadb(c->buf, used, 0, NULL);

			assert_non_null(o);
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			return o;
		}
		if (c->eof || now_ms() > deadline)
			return NULL;
		eph_ctl_server_poll(s, now_ms());
		if (c->cap - c->len < 65536) {
			c->cap = c->cap * 2 + 65536;
			c->buf = realloc(c->buf, c->cap);
			assert_non_null(c->buf);
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n > 0)
			c->len += (size_t)n;
		else if (n == 0)
			c->eof = true;
		else
			assert_true(errno == EAGAIN || errno == EINTR);
	}
}

static const char *
error_code(const json_t *o)
{
	return json_string_value(json_object_get(json_object_get(o, "error"), "code"));
}

/*
 * A session dump waits for the worker, and meanwhile the control loop
 * answers another client at once; then the dump arrives whole, followed
 * by the request its client sent after it.
 */
static void
test_dump_does_not_block(void **state)
{
	struct eph_ctl_server *s = server_open(0, 0);
	const struct eph_ctl_server_stats *st = eph_ctl_server_stats(s);
	struct tclient a, b;
	json_t *o;

	(void)state;
	worker_start(false);
	tc_connect(&a);
	tc_connect(&b);
	tc_send(&a, "{\"id\":1,\"cmd\":\"show.sessions\",\"args\":{\"limit\":100000}}\n"
		    "{\"id\":2,\"cmd\":\"version\"}\n");
	assert_null(tc_answer(s, &a, 100));
	assert_int_equal(st->jobs, 1);

	tc_send(&b, "{\"id\":3,\"cmd\":\"version\"}\n");
	o = tc_answer(s, &b, 200);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "id")), 3);
	assert_true(json_is_true(json_object_get(o, "ok")));
	json_decref(o);

	__atomic_store_n(&worker_serves, true, __ATOMIC_RELEASE);
	o = tc_answer(s, &a, WAIT_MS);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "id")), 1);
	assert_int_equal(json_array_size(json_object_get(json_object_get(o, "result"), "sessions")),
			 SESSIONS);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "result"),
							    "matched")), SESSIONS);
	json_decref(o);
	o = tc_answer(s, &a, WAIT_MS);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "id")), 2);
	json_decref(o);
	assert_int_equal(st->jobs, 0);
	assert_int_equal(st->buffered_bytes, 0);
	tc_close(&a);
	tc_close(&b);
	worker_end();
	server_close(s);
}

/*
 * The client hangs up while its dump is out: the worker still writes into
 * the request's buffer, which is kept (and counted) until it is done, then
 * freed. A sanitized build would see a write after free or a leak.
 */
static void
test_dump_client_leaves(void **state)
{
	struct eph_ctl_server *s = server_open(0, 0);
	const struct eph_ctl_server_stats *st = eph_ctl_server_stats(s);
	uint64_t deadline;
	struct tclient a;

	(void)state;
	worker_start(false);
	tc_connect(&a);
	tc_send(&a, "{\"id\":1,\"cmd\":\"show.sessions\",\"args\":{\"limit\":100000}}\n");
	assert_null(tc_answer(s, &a, 50));
	assert_int_equal(st->jobs, 1);
	assert_true(st->buffered_bytes >= 100000 * sizeof(struct eph_session_info));
	tc_close(&a);
	for (int i = 0; i < 1000 && st->clients > 0; i++)
		eph_ctl_server_poll(s, now_ms());
	assert_int_equal(st->clients, 0);
	assert_int_equal(st->jobs, 1);

	__atomic_store_n(&worker_serves, true, __ATOMIC_RELEASE);
	deadline = now_ms() + WAIT_MS;
	while (st->jobs > 0 && now_ms() < deadline)
		eph_ctl_server_poll(s, now_ms());
	assert_int_equal(st->jobs, 0);
	assert_int_equal(st->buffered_bytes, 0);
	worker_end();
	server_close(s);
}

/*
 * Many clients each ask for the largest dump: what the server holds (the
 * dumps' buffers, then the answers nobody reads yet) stays within its
 * total; who does not fit is told busy, the others get every session.
 */
static void
test_many_dumps_bounded(void **state)
{
	enum { N = 24 };
	const size_t total = 16u << 20;
	static struct tclient c[N];
	struct eph_ctl_server *s = server_open(8u << 20, total);
	const struct eph_ctl_server_stats *st = eph_ctl_server_stats(s);
	unsigned int ok = 0, busy = 0;

	(void)state;
	worker_start(true);
	for (int i = 0; i < N; i++) {
		char req[96];

		tc_connect(&c[i]);
		snprintf(req, sizeof(req),
			 "{\"id\":%d,\"cmd\":\"show.sessions\",\"args\":{\"limit\":100000}}\n", i);
		tc_send(&c[i], req);
	}
	for (int i = 0; i < N; i++) {
		json_t *o = tc_answer(s, &c[i], WAIT_MS);

		assert_non_null(o);
		assert_int_equal(json_integer_value(json_object_get(o, "id")), i);
		if (json_is_true(json_object_get(o, "ok"))) {
			assert_int_equal(json_array_size(json_object_get(
						 json_object_get(o, "result"), "sessions")),
					 SESSIONS);
			ok++;
		} else {
			assert_string_equal(error_code(o), "busy");
			busy++;
		}
		json_decref(o);
		assert_true(st->buffered_bytes <= total + EPH_CTL_ERROR_RESERVE);
	}
	assert_int_equal(ok + busy, N);
	assert_true(ok >= 1);
	assert_true(busy >= 1);
	assert_int_equal(busy, st->refused_busy);
	assert_true(st->buffered_peak <= total + EPH_CTL_ERROR_RESERVE);
	for (int i = 0; i < N; i++)
		tc_close(&c[i]);
	worker_end();
	server_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_address_other_pool_without_reserve),
		cmocka_unit_test(test_timeouts_set_limits),
		cmocka_unit_test(test_dump_does_not_block),
		cmocka_unit_test(test_dump_client_leaves),
		cmocka_unit_test(test_many_dumps_bounded),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

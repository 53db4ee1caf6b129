/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Operating the balancer (control/ctl_cmds.c): show.vips and show.backends
 * against what packets through the worker did, vip.backend add, remove and
 * set-weight seen in the worker's snapshot and in where new connections
 * go, every bad argument refused with the running configuration left as
 * it was, and the Prometheus families of the balancer.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_eal.h>
#include <rte_tcp.h>

#include "control/ctl_cmds.h"
#include "control/reconfig.h"
#include "control/stats.h"
#include "control/telemetry.h"
#include "dataplane/lb/lb.h"
#include "tests/unit/harness.h"

#define IN        0
#define OUT       1
#define VIP       T_IPV4(203, 0, 113, 80)
#define VIP_EMPTY T_IPV4(203, 0, 113, 81)
#define VIP_DNAT  T_IPV4(203, 0, 113, 82)
#define VIP_ANY   T_IPV4(203, 0, 113, 83)
#define LOCAL     T_IPV4(192, 0, 2, 50)
#define B1        T_IPV4(192, 0, 2, 21)
#define B2        T_IPV4(192, 0, 2, 22)
#define B3        T_IPV4(192, 0, 2, 23)
#define CLIENT    T_SERVER
#define PORT_LO   20000
#define PORT_HI   29999

static struct eph_worker *w;
static struct eph_alert_counts alerts;
static struct eph_ctl_ctx ctx;

static uint32_t local_addrs[] = { LOCAL };
static struct eph_conf_backend web_backends[] = {
	{ .addr = B1, .port = 8080, .weight = 100 },
	{ .addr = B2, .port = 8080, .weight = 100 },
};
static struct eph_conf_backend direct_backends[] = {
	{ .addr = B1, .port = 80, .weight = 100 },
};
static struct eph_conf_backend any_backends[] = {
	{ .addr = B2, .port = 0, .weight = 100 },
};

/*
 * web: full-NAT onto B1, B2 :8080; empty: no backend; direct: destination
 * NAT onto B1:80; any: every port, destination NAT onto B2.
 */
static void
with_vips(struct eph_conf *conf)
{
	t_balancer_pool(&conf->pools[0], "web", local_addrs, 1, PORT_LO, PORT_HI);
	conf->n_pools = 1;

	t_vip(&conf->vips[0], "web", VIP, 80, IPPROTO_TCP);
	conf->vips[0].backends = web_backends;
	conf->vips[0].n_backends = 2;
	t_vip(&conf->vips[1], "empty", VIP_EMPTY, 80, IPPROTO_TCP);
	conf->vips[1].forwarding = EPH_LB_DNAT;
	conf->vips[1].pool = -1;
	t_vip(&conf->vips[2], "direct", VIP_DNAT, 80, IPPROTO_TCP);
	conf->vips[2].forwarding = EPH_LB_DNAT;
	conf->vips[2].pool = -1;
	conf->vips[2].backends = direct_backends;
	conf->vips[2].n_backends = 1;
	t_vip(&conf->vips[3], "any", VIP_ANY, 0, IPPROTO_TCP);
	conf->vips[3].forwarding = EPH_LB_DNAT;
	conf->vips[3].pool = -1;
	conf->vips[3].backends = any_backends;
	conf->vips[3].n_backends = 1;
	conf->n_vips = 4;

	conf->control.telemetry = true;
	conf->timeouts.udp = 5;
	conf->timeouts.tcp_transitory = 10;
	conf->timeouts.tcp_established = 100;
	conf->nat.sessions_per_worker = 8192;
	conf->nat.destinations_per_worker = 1024;
	conf->nat.handoff_ring = 256;
}

static int
setup(void **state)
{
	(void)state;
	t_start_with("unit-lb-ctl", with_vips);
	ctx = (struct eph_ctl_ctx){ .dp = &t_dp, .conf_path = "/nonexistent", .alerts = &alerts };
	w = t_dp.workers[0];
	assert_int_equal(eph_telemetry_init(&t_dp, NULL), 0);
	t_neigh_add(OUT, CLIENT, &t_server_mac);
	t_neigh_add(IN, B1, &t_host_mac);
	t_neigh_add(IN, B2, &t_host_mac);
	t_neigh_add(IN, B3, &t_host_mac);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	t_conf.n_pools = 0; /* static arrays */
	t_conf.n_vips = 0;
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

/* Run name with args (JSON with single quotes): 0 with *result, or -1 with err. */
static int
call(const char *name, const char *args_text, json_t **result, struct eph_ctl_error *err)
{
	json_t *args = NULL;
	int rc;

	if (args_text != NULL) {
		char *s = strdup(args_text);

		assert_non_null(s);
		for (char *c = s; *c != '\0'; c++)
			if (*c == '\'')
				*c = '"';
		args = json_loads(s, 0, NULL);
		free(s);
		assert_non_null(args);
	}
	memset(err, 0, sizeof(*err));
	*result = NULL;
	rc = command(name)->fn(&ctx, args, result, err);
	json_decref(args);
	return rc;
}

static json_t *
call_ok(const char *name, const char *args_text)
{
	struct eph_ctl_error err;
	json_t *r;

	if (call(name, args_text, &r, &err) != 0)
		fail_msg("%s %s: %s %s", name, args_text != NULL ? args_text : "", err.code,
			 err.message);
	assert_non_null(r);
	return r;
}

static long long
int_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("no integer %s", key);
	return json_integer_value(v);
}

static const char *
str_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("no string %s", key);
	return json_string_value(v);
}

static const json_t *
vip_row(const json_t *r, const char *name)
{
	const json_t *vips = json_object_get(r, "vips"), *v;
	size_t i;

	json_array_foreach(vips, i, v)
		if (strcmp(str_of(v, "name"), name) == 0)
			return v;
	fail_msg("no VIP %s", name);
	return NULL;
}

static const json_t *
backend_row(const json_t *r, const char *address, int port)
{
	const json_t *bs = json_object_get(r, "backends"), *b;
	size_t i;

	json_array_foreach(bs, i, b)
		if (strcmp(str_of(b, "address"), address) == 0 && int_of(b, "port") == port)
			return b;
	return NULL;
}

/* The worker's snapshot of VIP name. */
static const struct eph_lb_vip *
snapshot_vip(const char *name)
{
	const struct eph_lb_cfg *lb = w->cfg->lb;

	assert_non_null(lb);
	for (unsigned int i = 0; i < lb->n_vips; i++)
		if (strcmp(lb->vips[i].name, name) == 0)
			return &lb->vips[i];
	fail_msg("no VIP %s in the snapshot", name);
	return NULL;
}

/* Backend addr:port (host order) of VIP name in the worker's snapshot, or NULL. */
static const struct eph_lb_backend *
snapshot_backend(const char *name, uint32_t addr, uint16_t port)
{
	const struct eph_lb_vip *v = snapshot_vip(name);

	for (unsigned int k = 0; k < v->n_backends; k++)
		if (v->backends[k].addr == rte_cpu_to_be_32(addr) &&
		    v->backends[k].port == rte_cpu_to_be_16(port))
			return &v->backends[k];
	return NULL;
}

static void
input(uint16_t port, struct rte_mbuf *m)
{
	eph_input_burst(w, port, &m, 1);
}

/* A client's SYN to VIP:80 from cport, then the backend's SYN-ACK: the backend it went to. */
static uint32_t
open_tcp(uint16_t cport)
{
	struct rte_mbuf *m;
	uint32_t backend;
	uint16_t lport;

	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP, IPPROTO_TCP, cport, 80,
			     RTE_TCP_SYN_FLAG, 1000, 0));
	m = t_one_out(IN);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), LOCAL);
	backend = rte_be_to_cpu_32(t_ip(m)->dst_addr);
	lport = t_l4_port(m, 0);
	rte_pktmbuf_free(m);
	input(IN, t_l4_packet(IN, &t_host_mac, backend, LOCAL, IPPROTO_TCP, 8080, lport,
			    RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 5000, 1001));
	rte_pktmbuf_free(t_one_out(OUT));
	return backend;
}

/* Only a SYN: the backend it went to. */
static uint32_t
syn_to(uint16_t cport)
{
	struct rte_mbuf *m;
	uint32_t backend;

	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP, IPPROTO_TCP, cport, 80,
			     RTE_TCP_SYN_FLAG, 1000, 0));
	m = t_one_out(IN);
	backend = rte_be_to_cpu_32(t_ip(m)->dst_addr);
	rte_pktmbuf_free(m);
	return backend;
}

static uint64_t
generation(void)
{
	return t_dp.rc->generation;
}

/* Packets go through, then show.vips and show.backends say what they did. */
static void
test_show_vips_and_backends(void **state)
{
	unsigned int to_b1 = 0;
	const json_t *v, *row;
	json_t *r;
	struct rte_mbuf *m;

	(void)state;
	for (unsigned int i = 0; i < 6; i++)
		to_b1 += open_tcp((uint16_t)(40000 + i)) == B1;
	/* One SYN to the VIP without backends: refused (a RST back to the client). */
	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP_EMPTY, IPPROTO_TCP, 40100, 80,
			     RTE_TCP_SYN_FLAG, 1000, 0));
	m = t_one_out(OUT);
	rte_pktmbuf_free(m);

	r = call_ok("show.vips", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "vips")), 4);
	v = vip_row(r, "web");
	assert_string_equal(str_of(v, "address"), "203.0.113.80");
	assert_int_equal(int_of(v, "port"), 80);
	assert_string_equal(str_of(v, "protocol"), "tcp");
	assert_string_equal(str_of(v, "forwarding"), "fullnat");
	assert_string_equal(str_of(v, "scheduler"), "maglev");
	assert_int_equal(int_of(v, "maglev_size"), 65537);
	assert_int_equal(int_of(v, "backends"), 2);
	assert_int_equal(int_of(v, "up"), 2);
	assert_int_equal(int_of(v, "removed"), 0);
	assert_int_equal(int_of(v, "active"), 6);
	assert_int_equal(int_of(v, "total"), 6);
	assert_int_equal(int_of(v, "no_backend"), 0);
	assert_int_equal(int_of(v, "over_limit"), 0);
	assert_int_equal(int_of(v, "no_port"), 0);
	v = vip_row(r, "empty");
	assert_int_equal(int_of(v, "backends"), 0);
	assert_int_equal(int_of(v, "active"), 0);
	assert_int_equal(int_of(v, "no_backend"), 1);
	v = vip_row(r, "direct");
	assert_string_equal(str_of(v, "forwarding"), "dnat");
	assert_int_equal(int_of(v, "total"), 0);
	assert_int_equal(int_of(vip_row(r, "any"), "port"), 0);
	json_decref(r);

	r = call_ok("show.backends", "{'vip': 'web'}");
	assert_string_equal(str_of(r, "vip"), "web");
	assert_int_equal(json_array_size(json_object_get(r, "backends")), 2);
	row = backend_row(r, "192.0.2.21", 8080);
	assert_non_null(row);
	assert_string_equal(str_of(row, "state"), "active");
	assert_int_equal(int_of(row, "weight"), 100);
	assert_int_equal(int_of(row, "active"), to_b1);
	assert_int_equal(int_of(row, "total"), to_b1);
	assert_int_equal(int_of(row, "pkts_to_backend"), to_b1);
	assert_int_equal(int_of(row, "pkts_from_backend"), to_b1);
	/* 40 bytes of headers and 10 of payload each way. */
	assert_int_equal(int_of(row, "bytes_to_backend"), to_b1 * 50);
	assert_int_equal(int_of(row, "bytes_from_backend"), to_b1 * 50);
	assert_int_equal(int_of(row, "over_limit"), 0);
	assert_int_equal(int_of(row, "no_port"), 0);
	row = backend_row(r, "192.0.2.22", 8080);
	assert_non_null(row);
	assert_int_equal(int_of(row, "active"), 6 - to_b1);
	assert_int_equal(int_of(row, "pkts_from_backend"), 6 - to_b1);
	/* The pool's one local address holds one port per connection. */
	assert_int_equal(json_array_size(json_object_get(r, "local_addresses")), 1);
	row = json_array_get(json_object_get(r, "local_addresses"), 0);
	assert_string_equal(str_of(row, "address"), "192.0.2.50");
	assert_int_equal(int_of(row, "ports_in_use"), 6);
	assert_int_equal(int_of(row, "exhausted"), 0);
	json_decref(r);

	/* The refusal is a drop of its own wherever drops are listed. */
	r = call_ok("show.stats", NULL);
	assert_int_equal(int_of(json_object_get(r, "drops"), "lb_no_backend"), 1);
	json_decref(r);

	/* Destination NAT takes no local address. */
	r = call_ok("show.backends", "{'vip': 'direct'}");
	assert_int_equal(json_array_size(json_object_get(r, "backends")), 1);
	assert_int_equal(json_array_size(json_object_get(r, "local_addresses")), 0);
	json_decref(r);
}

/* One DPDK telemetry command through the process's own telemetry socket: its value. */
static json_t *
telemetry(const char *command)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	static char buf[1 << 16];
	json_t *reply, *value;
	const char *comma = strchr(command, ',');
	char key[64];
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/dpdk_telemetry.v2",
		 rte_eal_get_runtime_dir());
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_true(recv(fd, buf, sizeof(buf), 0) > 0); /* the greeting */
	assert_int_equal(send(fd, command, strlen(command), 0), (ssize_t)strlen(command));
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	reply = json_loads(buf, 0, NULL);
	assert_non_null(reply);
	snprintf(key, sizeof(key), "%.*s", comma != NULL ? (int)(comma - command) : 63, command);
	value = json_incref(json_object_get(reply, key));
	json_decref(reply);
	return value;
}

/* After test_show_vips_and_backends: the endpoints say what show.vips and show.backends said. */
static void
test_telemetry(void **state)
{
	json_t *lb, *vips, *backends;
	const json_t *b1, *b2;

	(void)state;
	lb = telemetry("/ephemera/lb");
	assert_non_null(lb);
	assert_int_equal(int_of(lb, "connections"), 6);
	assert_int_equal(int_of(lb, "connections_tcp"), 6);
	assert_int_equal(int_of(lb, "connections_udp"), 0);
	assert_int_equal(int_of(lb, "connections_created"), 6);
	assert_int_equal(int_of(lb, "client_packets"), 6);
	assert_int_equal(int_of(lb, "reply_packets"), 6);
	assert_true(int_of(lb, "connections_per_worker_max") > 0);
	assert_true(int_of(lb, "table_bytes") > 0);
	assert_true(int_of(lb, "bytes_per_connection") > 0);
	json_decref(lb);

	vips = telemetry("/ephemera/lb/vips");
	assert_non_null(vips);
	assert_string_equal(str_of(json_object_get(vips, "web"), "address"), "203.0.113.80");
	assert_int_equal(int_of(json_object_get(vips, "web"), "active"), 6);
	assert_int_equal(int_of(json_object_get(vips, "web"), "backends"), 2);
	assert_string_equal(str_of(json_object_get(vips, "direct"), "forwarding"), "dnat");
	assert_int_equal(int_of(json_object_get(vips, "empty"), "no_backend"), 1);
	assert_int_equal(int_of(json_object_get(vips, "any"), "port"), 0);
	json_decref(vips);

	backends = telemetry("/ephemera/lb/backends,web");
	assert_non_null(backends);
	/* Entries "0", "1"... in the VIP's order: by address, then port. */
	assert_int_equal(json_object_size(backends), 2);
	b1 = json_object_get(backends, "0");
	b2 = json_object_get(backends, "1");
	assert_non_null(b1);
	assert_non_null(b2);
	assert_string_equal(str_of(b1, "address"), "192.0.2.21");
	assert_int_equal(int_of(b1, "port"), 8080);
	assert_string_equal(str_of(b2, "address"), "192.0.2.22");
	assert_string_equal(str_of(b1, "state"), "active");
	assert_int_equal(int_of(b1, "weight"), 100);
	assert_int_equal(int_of(b1, "active") + int_of(b2, "active"), 6);
	assert_int_equal(int_of(b1, "pkts_from_backend") + int_of(b2, "pkts_from_backend"), 6);
	assert_int_equal(int_of(b1, "bytes_to_backend"), 50 * int_of(b1, "total"));
	json_decref(backends);

	/* An unknown VIP, or none: an error, no value. */
	backends = telemetry("/ephemera/lb/backends,nope");
	assert_true(backends == NULL || json_is_null(backends));
	json_decref(backends);
	backends = telemetry("/ephemera/lb/backends");
	assert_true(backends == NULL || json_is_null(backends));
	json_decref(backends);

	/* The drop reasons list the balancer's. */
	lb = telemetry("/ephemera/drops");
	assert_non_null(lb);
	assert_int_equal(int_of(lb, "lb_no_backend"), 1);
	assert_int_equal(int_of(lb, "lb_no_vip"), 0);
	json_decref(lb);
}

static void
test_show_backends_bad_vip(void **state)
{
	struct eph_ctl_error err;
	json_t *r;

	(void)state;
	assert_int_equal(call("show.backends", "{'vip': 'nope'}", &r, &err), -1);
	assert_string_equal(err.code, EPH_CTL_E_REFUSED);
	assert_string_equal(err.message, "args.vip: no VIP named \"nope\"");
	assert_int_equal(call("show.backends", NULL, &r, &err), -1);
	assert_string_equal(err.code, EPH_CTL_E_INVALID_ARGUMENT);
	assert_int_equal(call("show.backends", "{'vip': 'web', 'x': 1}", &r, &err), -1);
	assert_string_equal(err.code, EPH_CTL_E_INVALID_ARGUMENT);
}

/* add, set-weight, remove: each one change seen by the worker and by new connections. */
static void
test_backend_add_set_weight_remove(void **state)
{
	const struct eph_lb_vip *v;
	const struct eph_lb_backend *b;
	uint64_t gen = generation();
	json_t *r;
	unsigned int seen[3] = { 0 };

	(void)state;
	/* add, the VIP's port by default: B3:80. */
	r = call_ok("vip.backend", "{'op': 'add', 'vip': 'web', 'address': '192.0.2.23'}");
	assert_int_equal(int_of(r, "port"), 80);
	assert_int_equal(int_of(r, "weight"), 100);
	assert_int_equal(int_of(r, "generation"), gen + 1);
	json_decref(r);
	/* and an explicit port and weight: B3:8080 */
	r = call_ok("vip.backend", "{'op': 'add', 'vip': 'web', 'address': '192.0.2.23',"
				   " 'port': 8080, 'weight': 300}");
	assert_int_equal(int_of(r, "generation"), gen + 2);
	json_decref(r);
	t_advance(w, 1);
	v = snapshot_vip("web");
	assert_int_equal(v->n_backends, 4);
	b = snapshot_backend("web", B3, 80);
	assert_non_null(b);
	assert_int_equal(b->weight, 100);
	b = snapshot_backend("web", B3, 8080);
	assert_non_null(b);
	assert_int_equal(b->weight, 300);
	/* A VIP of every port: its backends take none. */
	r = call_ok("vip.backend", "{'op': 'add', 'vip': 'any', 'address': '192.0.2.23'}");
	assert_int_equal(int_of(r, "port"), 0);
	json_decref(r);
	t_advance(w, 1);
	assert_non_null(snapshot_backend("any", B3, 0));
	/* The running configuration keeps them sorted: address, then port. */
	{
		const struct eph_conf_vip *cv = &t_dp.rc->conf.vips[0];

		assert_int_equal(cv->n_backends, 4);
		assert_int_equal(cv->backends[0].addr, B1);
		assert_int_equal(cv->backends[1].addr, B2);
		assert_int_equal(cv->backends[2].addr, B3);
		assert_int_equal(cv->backends[2].port, 80);
		assert_int_equal(cv->backends[3].addr, B3);
		assert_int_equal(cv->backends[3].port, 8080);
	}
	/* B3:80 had no connection: gone at once. */
	r = call_ok("vip.backend", "{'op': 'remove', 'vip': 'web', 'address': '192.0.2.23',"
				   " 'port': 80}");
	json_decref(r);
	t_advance(w, 1);
	assert_null(snapshot_backend("web", B3, 80));

	/* set-weight B1 0: B1 drains, new connections go elsewhere. */
	r = call_ok("vip.backend", "{'op': 'set-weight', 'vip': 'web', 'address': "
				   "'192.0.2.21', 'port': 8080, 'weight': 0}");
	assert_int_equal(int_of(r, "weight"), 0);
	json_decref(r);
	t_advance(w, 1);
	b = snapshot_backend("web", B1, 8080);
	assert_non_null(b);
	assert_int_equal(b->weight, 0);
	assert_string_equal(eph_lb_backend_state_name(b), "draining");
	for (unsigned int i = 0; i < 40; i++) {
		uint32_t to = syn_to((uint16_t)(43000 + i));

		assert_true(to == B2 || to == B3);
		seen[to - B1]++;
	}
	assert_int_equal(seen[0], 0);
	assert_true(seen[1] > 0 && seen[2] > 0);
	r = call_ok("show.backends", "{'vip': 'web'}");
	assert_string_equal(str_of(backend_row(r, "192.0.2.21", 8080), "state"), "draining");
	assert_int_equal(int_of(backend_row(r, "192.0.2.21", 8080), "weight"), 0);
	json_decref(r);
	r = call_ok("show.vips", NULL);
	assert_int_equal(int_of(vip_row(r, "web"), "backends"), 3);
	assert_int_equal(int_of(vip_row(r, "web"), "up"), 2);
	json_decref(r);

	/* Back to 100, and B3:8080 removed: the table is the start's again. */
	json_decref(call_ok("vip.backend", "{'op': 'set-weight', 'vip': 'web', 'address': "
					   "'192.0.2.21', 'port': 8080, 'weight': 100}"));
	json_decref(call_ok("vip.backend", "{'op': 'remove', 'vip': 'web', 'address': "
					   "'192.0.2.23', 'port': 8080}"));
	t_advance(w, 1);
	assert_int_equal(t_dp.rc->conf.vips[0].backends[0].addr, B1);
	assert_int_equal(t_dp.rc->conf.vips[0].n_backends, 2);
	assert_int_equal(snapshot_backend("web", B1, 8080)->weight, 100);
	/* B3:8080 had connections: removed, still draining them. */
	b = snapshot_backend("web", B3, 8080);
	assert_non_null(b);
	assert_string_equal(eph_lb_backend_state_name(b), "removed");
	r = call_ok("show.vips", NULL);
	assert_int_equal(int_of(vip_row(r, "web"), "backends"), 2);
	assert_int_equal(int_of(vip_row(r, "web"), "removed"), 1);
	json_decref(r);
	assert_int_equal(generation(), gen + 7);
}

/* Every refusal names its argument, and the running configuration stays as it was. */
static void
test_backend_bad_arguments(void **state)
{
	static const struct {
		const char *args, *code, *message; /* what the message says */
	} bad[] = {
		{ "{'op': 'add', 'vip': 'nope', 'address': '192.0.2.23'}",
		  EPH_CTL_E_REFUSED, "args.vip: no VIP named \"nope\"" },
		{ "{'op': 'add', 'address': '192.0.2.23'}", EPH_CTL_E_INVALID_ARGUMENT,
		  "args.vip: expected a VIP name" },
		{ "{'op': 'frob', 'vip': 'web', 'address': '192.0.2.23'}",
		  EPH_CTL_E_INVALID_ARGUMENT, "args.op: expected add, remove or set-weight" },
		{ "{'op': 'add', 'vip': 'web', 'address': '192.0.2.21', 'port': 8080}",
		  EPH_CTL_E_REFUSED,
		  "args.address: 192.0.2.21:8080 is already a backend of vip web" },
		{ "{'op': 'remove', 'vip': 'web', 'address': '192.0.2.21'}",
		  EPH_CTL_E_REFUSED, "args.address: 192.0.2.21:80 is no backend of vip web" },
		{ "{'op': 'set-weight', 'vip': 'web', 'address': '192.0.2.99', 'port': "
		  "8080, 'weight': 5}",
		  EPH_CTL_E_REFUSED, "args.address: 192.0.2.99:8080 is no backend of vip web" },
		{ "{'op': 'set-weight', 'vip': 'web', 'address': '192.0.2.21', 'port': "
		  "8080}",
		  EPH_CTL_E_INVALID_ARGUMENT, "args.weight: expected a weight from 0 to 65535" },
		{ "{'op': 'remove', 'vip': 'web', 'address': '192.0.2.21', 'port': 8080,"
		  " 'weight': 5}",
		  EPH_CTL_E_INVALID_ARGUMENT, "args.weight: remove takes no weight" },
		{ "{'op': 'add', 'vip': 'web', 'address': '192.0.2.300'}",
		  EPH_CTL_E_INVALID_ARGUMENT, "args.address: expected " },
		{ "{'op': 'add', 'vip': 'web', 'address': '192.0.2.23', 'weight': 65536}",
		  EPH_CTL_E_INVALID_ARGUMENT, "args.weight: expected " },
		{ "{'op': 'add', 'vip': 'web', 'address': '192.0.2.23', 'weight': -1}",
		  EPH_CTL_E_INVALID_ARGUMENT, "args.weight: expected " },
		{ "{'op': 'add', 'vip': 'web', 'address': '192.0.2.23', 'port': 0}",
		  EPH_CTL_E_INVALID_ARGUMENT, "args.port: expected " },
		{ "{'op': 'add', 'vip': 'web', 'address': '192.0.2.23', 'port': 65536}",
		  EPH_CTL_E_INVALID_ARGUMENT, "args.port: expected " },
		{ "{'op': 'add', 'vip': 'web', 'address': '192.0.2.23', 'colour': 1}",
		  EPH_CTL_E_INVALID_ARGUMENT, "args: unknown key \"colour\"" },
		/* Through eph_conf_check: a port on a VIP of every port, an unreachable backend. */
		{ "{'op': 'add', 'vip': 'any', 'address': '192.0.2.23', 'port': 8080}",
		  EPH_CTL_E_INVALID_ARGUMENT, "on a VIP of every port (port 0): expected no port" },
		{ "{'op': 'add', 'vip': 'web', 'address': '10.9.9.9'}",
		  EPH_CTL_E_INVALID_ARGUMENT, "backend 10.9.9.9 is not routable" },
	};
	uint64_t gen = generation();
	const struct eph_dp_cfg *cfg = t_dp.cfg;
	struct eph_ctl_error err;
	json_t *r;

	(void)state;
	for (unsigned int i = 0; i < RTE_DIM(bad); i++) {
		if (call("vip.backend", bad[i].args, &r, &err) != -1)
			fail_msg("accepted: %s", bad[i].args);
		assert_null(r);
		if (strcmp(err.code, bad[i].code) != 0 ||
		    strstr(err.message, bad[i].message) == NULL)
			fail_msg("%s: %s %s, expected %s %s", bad[i].args, err.code, err.message,
				 bad[i].code, bad[i].message);
		assert_int_equal(generation(), gen);
		assert_ptr_equal(t_dp.cfg, cfg);
		assert_int_equal(t_dp.rc->conf.vips[0].n_backends, 2);
		assert_int_equal(t_dp.rc->conf.vips[0].backends[0].weight, 100);
	}
}

static void
test_metrics(void **state)
{
	static const char *const lines[] = {
		"# TYPE ephemera_lb_connections gauge\n",
		"ephemera_lb_connections{proto=\"tcp\"} ",
		"# TYPE ephemera_lb_connections_created_total counter\n",
		"ephemera_lb_vip_connections{vip=\"web\"} ",
		"ephemera_lb_vip_connections_total{vip=\"web\"} ",
		"ephemera_lb_vip_refused_total{vip=\"empty\",reason=\"no_backend\"} 1\n",
		"ephemera_lb_vip_refused_total{vip=\"web\",reason=\"over_limit\"} 0\n",
		"ephemera_lb_vip_refused_total{vip=\"web\",reason=\"no_port\"} 0\n",
		"ephemera_lb_backend_connections{vip=\"web\",backend=\"192.0.2.21:8080\","
		"state=\"active\"} ",
		"ephemera_lb_backend_connections_total{vip=\"web\",backend=\"192.0.2.22:8080\"} ",
		"ephemera_lb_backend_packets_total{vip=\"web\",backend=\"192.0.2.21:8080\","
		"direction=\"to_backend\"} ",
		"ephemera_lb_backend_bytes_total{vip=\"direct\",backend=\"192.0.2.21:80\","
		"direction=\"from_backend\"} 0\n",
		"ephemera_drops_total{reason=\"lb_no_backend\"} ",
	};
	static const char *const families[] = {
		"ephemera_lb_vip_connections", "ephemera_lb_vip_connections_total",
		"ephemera_lb_vip_refused_total", "ephemera_lb_backend_connections",
		"ephemera_lb_backend_connections_total", "ephemera_lb_backend_packets_total",
		"ephemera_lb_backend_bytes_total",
	};
	json_t *r = call_ok("metrics", NULL);
	const char *text;

	(void)state;
	text = str_of(r, "text");
	for (unsigned int i = 0; i < RTE_DIM(lines); i++)
		if (strstr(text, lines[i]) == NULL)
			fail_msg("no \"%s\" in the metrics", lines[i]);
	/* Each family's samples follow its TYPE line, none after another family's. */
	for (unsigned int i = 0; i < RTE_DIM(families); i++) {
		char type[128], sample[128];
		const char *at, *end, *last = NULL;

		snprintf(type, sizeof(type), "# TYPE %s ", families[i]);
		snprintf(sample, sizeof(sample), "\n%s{", families[i]);
		at = strstr(text, type);
		assert_non_null(at);
		end = strstr(at + 1, "# HELP");
		for (const char *s = strstr(text, sample); s != NULL; s = strstr(s + 1, sample))
			last = s;
		assert_non_null(last);
		assert_true(last > at);
		if (end != NULL)
			assert_true(last < end);
	}
	json_decref(r);
}

/* VIP direct onto B1 ports 1 to 1024: as many backends as a VIP may have. */
static void
full_direct(struct eph_conf *c)
{
	struct eph_conf_vip *v = &c->vips[2];

	free(v->backends);
	v->backends = calloc(EPH_MAX_VIP_BACKENDS, sizeof(*v->backends));
	assert_non_null(v->backends);
	for (unsigned int k = 0; k < EPH_MAX_VIP_BACKENDS; k++)
		v->backends[k] = (struct eph_conf_backend){
			.addr = B1, .port = (uint16_t)(k + 1), .weight = 1,
		};
	v->n_backends = EPH_MAX_VIP_BACKENDS;
	v->maglev_size = 102407; /* the first prime of at least 100 a backend */
}

static void
test_backend_limit(void **state)
{
	struct eph_ctl_error err;
	struct eph_conf next;
	uint64_t gen;
	json_t *r;

	(void)state;
	assert_int_equal(eph_conf_dup(&next, &t_dp.rc->conf), 0);
	full_direct(&next);
	assert_int_equal(eph_conf_check(&next, stderr), 0);
	assert_int_equal(eph_reconfig_apply(t_dp.rc, &next, "test", stderr), 0);
	eph_conf_free(&next);
	gen = generation();
	assert_int_equal(call("vip.backend",
			      "{'op': 'add', 'vip': 'direct', 'address': '192.0.2.22'}", &r, &err),
			 -1);
	assert_string_equal(err.code, EPH_CTL_E_REFUSED);
	assert_string_equal(err.message, "args.vip: vip direct already has 1024 backends, the most "
					 "one VIP may have");
	assert_int_equal(generation(), gen);
	assert_int_equal(t_dp.rc->conf.vips[2].n_backends, EPH_MAX_VIP_BACKENDS);
	/* One out, one in. */
	json_decref(call_ok("vip.backend", "{'op': 'remove', 'vip': 'direct', 'address': "
					   "'192.0.2.21', 'port': 1024}"));
	json_decref(call_ok("vip.backend", "{'op': 'add', 'vip': 'direct', 'address': "
					   "'192.0.2.22'}"));
	assert_int_equal(t_dp.rc->conf.vips[2].n_backends, EPH_MAX_VIP_BACKENDS);
	assert_int_equal(generation(), gen + 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_show_vips_and_backends),
		cmocka_unit_test(test_telemetry),
		cmocka_unit_test(test_show_backends_bad_vip),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_backend_bad_arguments),
		cmocka_unit_test(test_backend_add_set_weight_remove),
		cmocka_unit_test(test_backend_limit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

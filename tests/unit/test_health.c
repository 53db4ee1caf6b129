/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Backend health. The checker against real servers on loopback (a TCP
 * listener, an HTTP server whose status the test sets and that records
 * the request it got, a UDP echo): up, down after fall failures, back after
 * rise passes, what show backends reports. Passive ejection and all-down.
 * Then with the data plane on net_ring ports: a backend the checks take
 * down leaves the VIP's table (new connections go to the other), its live
 * connection goes on, and the rebuilt snapshot keeps the counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_tcp.h>

#include "control/health.h"
#include "control/lb_setup.h"
#include "control/reconfig.h"
#include "control/stats.h"
#include "dataplane/lb/lb.h"
#include "tests/unit/harness.h"

#define LO(n) T_IPV4(127, 0, 0, n)

/* ---- servers ------------------------------------------------------------- */

static int
listener(int type, uint32_t addr, uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(addr) };
	socklen_t len = sizeof(a);
	int one = 1, fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_port = htons(*port);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 16), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return fd;
}

/* An HTTP/1.1 server answering `status`, keeping the last request it read. */
struct http_server {
	int fd;
	uint16_t port;
	volatile int status;
	volatile bool stop;
	char last_request[512];
	pthread_mutex_t lock;
	pthread_t thread;
};

static void *
http_serve(void *arg)
{
	struct http_server *s = arg;

	while (!s->stop) {
		char buf[512], reply[128];
		struct timeval tv = { .tv_usec = 100000 };
		int c = accept(s->fd, NULL, NULL);
		ssize_t n;

		if (c < 0)
			continue;
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(c, buf, sizeof(buf) - 1, 0);
		if (n > 0) {
			buf[n] = '\0';
			pthread_mutex_lock(&s->lock);
			snprintf(s->last_request, sizeof(s->last_request), "%s", buf);
			pthread_mutex_unlock(&s->lock);
			snprintf(reply, sizeof(reply),
				 "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
				 s->status);
			(void)!send(c, reply, strlen(reply), MSG_NOSIGNAL);
		}
		close(c);
	}
	return NULL;
}

static void
http_start(struct http_server *s, uint32_t addr)
{
	struct timeval tv = { .tv_usec = 100000 };

	memset(s, 0, sizeof(*s));
	s->status = 200;
	s->fd = listener(SOCK_STREAM, addr, &s->port);
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	pthread_mutex_init(&s->lock, NULL);
	assert_int_equal(pthread_create(&s->thread, NULL, http_serve, s), 0);
}

static void
http_stop(struct http_server *s)
{
	s->stop = true;
	pthread_join(s->thread, NULL);
	close(s->fd);
}

/* ---- a configuration of checked backends on loopback ---------------------- */

static struct eph_conf hconf;
static struct eph_conf_backend hbackends[3];

static void
check_of(struct eph_conf_health *h, enum eph_health_type type)
{
	eph_conf_health_defaults(h);
	h->type = type;
	h->interval_ms = 100;
	h->timeout_ms = 80;
	h->rise = 2;
	h->fall = 2;
}

/* VIP "v" with n backends at 127.0.0.(1+i):port[i], all checked by type. */
static void
conf_one_vip(enum eph_health_type type, const uint16_t *port, unsigned int n)
{
	memset(&hconf, 0, sizeof(hconf));
	memset(hbackends, 0, sizeof(hbackends));
	t_vip(&hconf.vips[0], "v", T_IPV4(203, 0, 113, 80), 80, IPPROTO_TCP);
	eph_conf_outlier_defaults(&hconf.vips[0].outlier);
	check_of(&hconf.vips[0].health, type);
	for (unsigned int i = 0; i < n; i++)
		hbackends[i] = (struct eph_conf_backend){
			.addr = LO(1 + i), .port = port[i], .weight = 1,
		};
	hconf.vips[0].backends = hbackends;
	hconf.vips[0].n_backends = n;
	hconf.n_vips = 1;
}

static struct eph_health_status
status_of(struct eph_health *h, unsigned int i)
{
	struct eph_health_status st;

	assert_int_equal(eph_health_status(h, "v", hbackends[i].addr, hbackends[i].port, &st), 0);
	return st;
}

/* Wait (2 s at most) until backend i's up state is `up`. */
static void
await_state(struct eph_health *h, unsigned int i, bool up)
{
	for (int t = 0; t < 200; t++) {
		if (status_of(h, i).up == up)
			return;
		usleep(10000);
	}
	fail_msg("backend %u still %s", i, up ? "down" : "up");
}

static void
test_tcp_check(void **state)
{
	uint16_t port = 0;
	int fd = listener(SOCK_STREAM, LO(1), &port);
	struct eph_health *h = eph_health_create(stderr);
	struct eph_health_status st;
	uint64_t gen;

	(void)state;
	assert_non_null(h);
	conf_one_vip(EPH_HEALTH_TCP, &port, 1);
	assert_int_equal(eph_health_configure(h, &hconf), 0);
	usleep(400000);
	st = status_of(h, 0);
	assert_true(st.checked);
	assert_true(st.up);
	assert_true(st.checks >= 2);
	assert_int_equal(st.failed, 0);
	assert_string_equal(st.last, "connected");
	/* The listener goes: down after fall (2) failures, with the reason. */
	gen = eph_health_generation(h);
	close(fd);
	await_state(h, 0, false);
	st = status_of(h, 0);
	assert_int_equal(st.downs, 1);
	assert_true(st.failed >= 2);
	assert_non_null(strstr(st.reason, "2 tcp checks failed"));
	assert_non_null(strstr(st.last, "Connection refused"));
	assert_true(eph_health_generation(h) > gen);
	/* all-down: keep: the only backend keeps its place in the table. */
	assert_true(st.kept);
	assert_true(eph_health_serving(h, "v", LO(1), port));
	/* Back: up after rise (2) passes. */
	fd = listener(SOCK_STREAM, LO(1), &port);
	await_state(h, 0, true);
	st = status_of(h, 0);
	assert_int_equal(st.ups, 1);
	assert_non_null(strstr(st.reason, "2 tcp checks passed"));
	eph_health_destroy(h);
	close(fd);
}

static void
test_http_check(void **state)
{
	struct http_server srv;
	struct eph_health *h = eph_health_create(stderr);
	struct eph_health_status st;

	(void)state;
	assert_non_null(h);
	http_start(&srv, LO(2));
	conf_one_vip(EPH_HEALTH_HTTP, &srv.port, 1);
	hbackends[0].addr = LO(2);
	snprintf(hconf.vips[0].health.path, sizeof(hconf.vips[0].health.path), "/healthz");
	snprintf(hconf.vips[0].health.host, sizeof(hconf.vips[0].health.host), "svc.example");
	assert_int_equal(eph_health_configure(h, &hconf), 0);
	usleep(400000);
	st = status_of(h, 0);
	assert_true(st.up);
	assert_string_equal(st.last, "HTTP 200");
	assert_true(st.latency_us > 0);
	pthread_mutex_lock(&srv.lock);
	assert_non_null(strstr(srv.last_request, "GET /healthz HTTP/1.1\r\n"));
	assert_non_null(strstr(srv.last_request, "Host: svc.example\r\n"));
	pthread_mutex_unlock(&srv.lock);
	/* 500 is not in the expected 200-299. */
	srv.status = 500;
	await_state(h, 0, false);
	st = status_of(h, 0);
	assert_string_equal(st.last, "HTTP 500, not expected");
	srv.status = 204;
	await_state(h, 0, true);
	eph_health_destroy(h);
	http_stop(&srv);
}

static void *
udp_echo(void *arg)
{
	int fd = *(int *)arg;
	char buf[256];

	for (;;) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);

		if (n < 0)
			return NULL;
		if (n == 4 && memcmp(buf, "ping", 4) == 0)
			sendto(fd, "pong", 4, 0, (struct sockaddr *)&from, len);
	}
}

static void
test_udp_check(void **state)
{
	uint16_t port = 0;
	int fd = listener(SOCK_DGRAM, LO(3), &port);
	struct eph_health *h = eph_health_create(stderr);
	pthread_t echo;

	(void)state;
	assert_int_equal(pthread_create(&echo, NULL, udp_echo, &fd), 0);
	conf_one_vip(EPH_HEALTH_UDP, &port, 1);
	hbackends[0].addr = LO(3);
	assert_int_equal(eph_health_configure(h, &hconf), 0);
	usleep(400000);
	assert_true(status_of(h, 0).up);
	assert_string_equal(status_of(h, 0).last, "answered 4 bytes");
	/* The echo closes its port: ICMP port unreachable fails the checks at once. */
	pthread_cancel(echo); /* blocked in recvfrom, a cancellation point */
	pthread_join(echo, NULL);
	close(fd);
	await_state(h, 0, false);
	/* ICMP port unreachable (rate-limited by the kernel), or no answer in time. */
	assert_true(strstr(status_of(h, 0).last, "Connection refused") != NULL ||
		    strstr(status_of(h, 0).last, "no answer within 80 ms") != NULL);
	eph_health_destroy(h);
}

/* Passive: failures over the threshold within the window eject; the ejection ends. */
static void
test_passive_ejection(void **state)
{
	const uint16_t ports[2] = { 81, 82 };
	struct eph_health *h = eph_health_create(stderr);
	uint64_t now = eph_health_now_ms();

	(void)state;
	conf_one_vip(EPH_HEALTH_NONE, ports, 2);
	hconf.vips[0].outlier = (struct eph_conf_outlier){
		.failures = 3, .window_ms = 1000, .ejection_ms = 300,
	};
	assert_int_equal(eph_health_configure(h, &hconf), 0);
	eph_health_passive(h, "v", LO(1), 81, 2, now);
	assert_true(status_of(h, 0).up);
	/* Out of the window: the two above no longer count. */
	eph_health_passive(h, "v", LO(1), 81, 2, now + 1200);
	assert_true(status_of(h, 0).up);
	eph_health_passive(h, "v", LO(1), 81, 1, now + 1300);
	assert_false(status_of(h, 0).up);
	assert_true(status_of(h, 0).ejected);
	assert_false(eph_health_serving(h, "v", LO(1), 81));
	assert_true(eph_health_serving(h, "v", LO(2), 82));
	assert_int_equal(status_of(h, 0).passive_failures, 5);
	/* Not checked: back after the ejection time. */
	await_state(h, 0, true);
	assert_true(eph_health_serving(h, "v", LO(1), 81));
	eph_health_destroy(h);
}

/* Every backend down: keep leaves the last one serving, refuse none. */
static void
test_all_down(void **state)
{
	const uint16_t ports[2] = { 1, 2 }; /* nothing listens: refused at once */
	struct eph_health *h = eph_health_create(stderr);

	(void)state;
	conf_one_vip(EPH_HEALTH_TCP, ports, 2);
	assert_int_equal(eph_health_configure(h, &hconf), 0);
	await_state(h, 0, false);
	await_state(h, 1, false);
	assert_int_equal(eph_health_serving(h, "v", LO(1), 1) + eph_health_serving(h, "v", LO(2), 2),
			 1);
	hconf.vips[0].all_down = EPH_LB_ALL_DOWN_REFUSE;
	assert_int_equal(eph_health_configure(h, &hconf), 0);
	assert_false(eph_health_serving(h, "v", LO(1), 1));
	assert_false(eph_health_serving(h, "v", LO(2), 2));
	/* A backend that leaves the configuration is forgotten; one that stays keeps its state. */
	hconf.vips[0].n_backends = 1;
	assert_int_equal(eph_health_configure(h, &hconf), 0);
	assert_int_equal(eph_health_status(h, "v", LO(2), 2, &(struct eph_health_status){ 0 }),
			 -ENOENT);
	assert_false(status_of(h, 0).up);
	eph_health_destroy(h);
}

/* ---- with the data plane --------------------------------------------------- */

#define IN      0
#define OUT     1
#define VIP     T_IPV4(203, 0, 113, 80)
#define LOCAL   T_IPV4(192, 0, 2, 50)
#define B1      T_IPV4(192, 0, 2, 21)
#define B2      T_IPV4(192, 0, 2, 22)
#define CLIENT  T_SERVER

static uint32_t local_addrs[] = { LOCAL };
static struct eph_conf_backend web_backends[] = {
	{ .addr = B1, .port = 8080, .weight = 1 },
	{ .addr = B2, .port = 8080, .weight = 1 },
};

static void
with_vip(struct eph_conf *conf)
{
	t_balancer_pool(&conf->pools[0], "web", local_addrs, 1, 20000, 29999);
	conf->n_pools = 1;
	t_vip(&conf->vips[0], "web", VIP, 80, IPPROTO_TCP);
	conf->vips[0].backends = web_backends;
	conf->vips[0].n_backends = 2;
	conf->vips[0].outlier = (struct eph_conf_outlier){
		.failures = 1, .window_ms = 10000, .ejection_ms = 3600000,
	};
	conf->n_vips = 1;
	conf->nat.sessions_per_worker = 8192;
	conf->nat.destinations_per_worker = 1024;
}

/* A client SYN from cport: the backend it reached. */
static uint32_t
open_to(struct eph_worker *w, uint16_t cport)
{
	struct rte_mbuf *m = t_l4_packet(OUT, &t_server_mac, CLIENT, VIP, IPPROTO_TCP, cport, 80,
					  RTE_TCP_SYN_FLAG, 1000, 0);
	uint32_t b;

	eph_input_burst(w, OUT, &m, 1);
	m = t_one_out(IN);
	b = rte_be_to_cpu_32(t_ip(m)->dst_addr);
	rte_pktmbuf_free(m);
	return b;
}

static void
test_down_backend_leaves_table(void **state)
{
	struct eph_worker *w;
	struct eph_health *h;
	struct eph_health_status st;
	struct eph_lb_backend_stats bs;
	const struct eph_lb_vip *v;
	uint32_t first;
	int i;

	(void)state;
	t_start_with("unit-health", with_vip);
	w = t_dp.workers[0];
	t_neigh_add(OUT, CLIENT, &t_server_mac);
	t_neigh_add(IN, B1, &t_host_mac);
	t_neigh_add(IN, B2, &t_host_mac);
	h = eph_health_create(stderr);
	assert_non_null(h);
	assert_int_equal(eph_health_configure(h, &t_dp.rc->conf), 0);
	t_dp.rc->health = h;

	first = open_to(w, 40000);
	/* The other backend is ejected (passive detection; no check to bring it back). */
	eph_health_passive(h, "web", first == B1 ? B2 : B1, 8080, 1, eph_health_now_ms());
	assert_int_equal(eph_reconfig_health(t_dp.rc), 1);
	assert_int_equal(eph_reconfig_health(t_dp.rc), 0); /* nothing new since */
	w->cfg = t_dp.cfg;
	v = &t_dp.cfg->lb->vips[0];
	for (unsigned int b = 0; b < v->n_backends; b++) {
		bool down = rte_be_to_cpu_32(v->backends[b].addr) != first;

		assert_int_equal(v->backends[b].state,
				 down ? EPH_LB_BACKEND_DOWN : EPH_LB_BACKEND_ACTIVE);
		eph_stats_lb_health(&t_dp, v, &v->backends[b], &st);
		assert_int_equal(st.up, !down);
		/* The rebuilt snapshot did not zero the counters: the live connection is counted. */
		eph_stats_lb_backend(&t_dp, v, &v->backends[b], &bs);
		assert_int_equal(bs.active, down ? 0 : 1);
	}
	/* Every new connection goes to the backend still up. */
	for (i = 0; i < 32; i++)
		assert_int_equal(open_to(w, (uint16_t)(41000 + i)), first);
	assert_int_equal(eph_lb_active(&t_dp, v->slot, -1), 33);

	t_dp.rc->health = NULL;
	eph_health_destroy(h);
	t_conf.n_pools = 0; /* static arrays */
	t_conf.n_vips = 0;
	t_stop();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_check),
		cmocka_unit_test(test_http_check),
		cmocka_unit_test(test_udp_check),
		cmocka_unit_test(test_passive_ejection),
		cmocka_unit_test(test_all_down),
		cmocka_unit_test(test_down_backend_leaves_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

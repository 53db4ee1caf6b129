/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Live reconfiguration through the worker's packet path on net_ring ports:
 * addresses added and removed, port ranges changed, port blocks, sessions
 * cleared, occupancy alerts. Each change goes through eph_conf_check and
 * eph_reconfig_apply like an ephctl command; what leaves the ports, the
 * snapshot and the event rings show what happened. The worker is not
 * launched: the test calls its functions (the snapshot is published to
 * it directly).
 */
#include <string.h>

#include <rte_udp.h>

#include "control/reconfig.h"
#include "dataplane/nat/natlog.h"
#include "dataplane/flow/session.h"
#include "tests/unit/harness.h"

#define IN      0
#define OUT     1
#define POOL_A  T_IPV4(203, 0, 113, 100)
#define POOL_B  T_IPV4(203, 0, 113, 101)
#define POOL_C  T_IPV4(203, 0, 113, 102)
#define HOST2   T_IPV4(192, 0, 2, 12)
#define PORT_LO 20000
#define PORT_HI 20015

static struct eph_worker *w;
static uint32_t pool_addrs[] = { POOL_A };
static struct eph_conf_prefix pool_inside[] = { { T_IPV4(192, 0, 2, 0), 24 } };

static void
with_pool(struct eph_conf *conf)
{
	struct eph_conf_pool *p = &conf->pools[0];

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "test");
	p->addrs = pool_addrs;
	p->n_addrs = 1;
	p->port_lo = PORT_LO;
	p->port_hi = PORT_HI;
	p->inside = pool_inside;
	p->n_inside = 1;
	p->quarantine_s = 0;
	p->warn_occupancy = 50;
	p->port_block_size = 8;
	p->max_blocks_per_host = 2;
	p->max_inbound_per_mapping = 256;
	conf->n_pools = 1;
	conf->timeouts.udp = 5;
	conf->nat.sessions_per_worker = 4096;
	conf->nat.destinations_per_worker = 1024;
	conf->nat.handoff_ring = 256;
	conf->nat_log.ring = 1024;
}

static uint64_t clock_tsc;

/* Advance the session clock by ticks and run the worker's timers. */
static void
advance(uint32_t ticks)
{
	if (clock_tsc == 0)
		clock_tsc = t_dp.nat.start_tsc;
	clock_tsc += (uint64_t)ticks * t_dp.nat.tick_tsc;
	for (int i = 0; i < 64; i++)
		eph_nat_timers(w, clock_tsc);
}

static struct eph_natlog_event events[256];

/* Everything a worker ring holds now. */
static unsigned int
drain_ring(struct eph_natlog_ring *r)
{
	return eph_natlog_drain(r, events, RTE_DIM(events));
}

static int
setup(void **state)
{
	(void)state;
	t_start_with("unit-reconfig", with_pool);
	w = t_dp.workers[0];
	t_neigh_add(OUT, T_SERVER, &t_server_mac);
	t_neigh_add(IN, T_HOST, &t_host_mac);
	t_neigh_add(IN, HOST2, &t_host_mac);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	t_conf.n_pools = 0; /* the pool's arrays are static */
	t_stop();
	return 0;
}

/* No session, nothing queued, the start configuration back. */
static int
fresh(void **state)
{
	struct eph_conf c;

	(void)state;
	t_drain();
	advance(60 * EPH_NAT_TICK_HZ);
	assert_int_equal(eph_session_count(w->nat.sessions), 0);
	assert_int_equal(eph_conf_dup(&c, &t_conf), 0);
	assert_int_equal(eph_reconfig_apply(t_dp.rc, &c, "test", stderr), 0);
	eph_conf_free(&c);
	advance(1);
	eph_reconfig_housekeeping(t_dp.rc);
	drain_ring(w->nat.log);
	drain_ring(w->nat.alerts);
	return 0;
}

static struct rte_mbuf *
udp(uint16_t port, const struct rte_ether_addr *mac, uint32_t src, uint32_t dst, uint16_t sport,
    uint16_t dport)
{
	struct rte_mbuf *m = t_ipv4_packet(mac, port, src, dst, IPPROTO_UDP, 64,
					   sizeof(struct rte_udp_hdr) + 8);
	struct rte_ipv4_hdr *ip = t_ip(m);
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)(ip + 1);

	u->src_port = rte_cpu_to_be_16(sport);
	u->dst_port = rte_cpu_to_be_16(dport);
	u->dgram_len = rte_cpu_to_be_16(sizeof(*u) + 8);
	u->dgram_cksum = 0;
	u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
	return m;
}

struct seen {
	uint32_t addr; /* host order */
	uint16_t port;
};

/* Send host:sport -> server:53 in; what left the outside port (addr 0: nothing). */
static struct seen
out_via(uint32_t host, uint16_t sport)
{
	struct rte_mbuf *m = udp(IN, &t_host_mac, host, T_SERVER, sport, 53), *out[4];
	struct seen s = { 0, 0 };

	eph_input_burst(w, IN, &m, 1);
	if (t_sent(OUT, out, 4) == 1) {
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)(t_ip(out[0]) + 1);

		s.addr = rte_be_to_cpu_32(t_ip(out[0])->src_addr);
		s.port = rte_be_to_cpu_16(u->src_port);
		rte_pktmbuf_free(out[0]);
	}
	return s;
}

/* The server answers seen; true when the reply reached host:sport. */
static bool
reply_reaches(struct seen s, uint32_t host, uint16_t sport)
{
	struct rte_mbuf *m = udp(OUT, &t_server_mac, T_SERVER, s.addr, 53, s.port), *out[4];
	bool ok = false;

	eph_input_burst(w, OUT, &m, 1);
	if (t_sent(IN, out, 4) == 1) {
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)(t_ip(out[0]) + 1);

		ok = t_ip(out[0])->dst_addr == rte_cpu_to_be_32(host) &&
		     u->dst_port == rte_cpu_to_be_16(sport);
		rte_pktmbuf_free(out[0]);
	}
	return ok;
}

/* A copy of the running configuration, changed by fn, checked and applied. */
static int
change(void (*fn)(struct eph_conf *c))
{
	struct eph_conf c;
	int ret;

	assert_int_equal(eph_conf_dup(&c, &t_dp.rc->conf), 0);
	fn(&c);
	ret = eph_conf_check(&c, stderr);
	if (ret == 0)
		ret = eph_reconfig_apply(t_dp.rc, &c, "test", stderr);
	eph_conf_free(&c);
	return ret;
}

static void
set_addrs(struct eph_conf *c, const uint32_t *a, unsigned int n)
{
	struct eph_conf_pool *p = &c->pools[0];

	p->addrs = realloc(p->addrs, n * sizeof(*a));
	memcpy(p->addrs, a, n * sizeof(*a));
	p->n_addrs = n;
}

static void
addrs_ab(struct eph_conf *c)
{
	set_addrs(c, (const uint32_t[]){ POOL_A, POOL_B }, 2);
}

static void
addrs_b(struct eph_conf *c)
{
	set_addrs(c, (const uint32_t[]){ POOL_B }, 1);
}

static const struct eph_nat_addr *
snapshot_addr(uint32_t addr)
{
	const struct eph_nat_pool *p = &t_dp.cfg->nat.pools[0];

	for (unsigned int i = 0; i < p->n_all; i++)
		if (p->all[i].addr == rte_cpu_to_be_32(addr))
			return &p->all[i];
	return NULL;
}

/* An added address is routed to the pool and taken by new sessions; a removed one drains. */
static void
test_address_add_remove_drains(void **state)
{
	uint64_t gen = t_dp.rc->generation;
	struct seen a, b;

	(void)state;
	a = out_via(T_HOST, 4000);
	assert_int_equal(a.addr, POOL_A);

	assert_int_equal(change(addrs_ab), 0);
	assert_int_equal(t_dp.rc->generation, gen + 1);
	assert_int_equal(eph_route_lookup(t_dp.cfg->routes, POOL_B)->type, EPH_NH_POOL);
	assert_int_equal(change(addrs_b), 0);
	assert_non_null(snapshot_addr(POOL_A));
	assert_int_equal(snapshot_addr(POOL_A)->state, EPH_ADDR_DRAINING);
	assert_int_equal(t_dp.cfg->nat.pools[0].n_addrs, 1);

	/* The old session still works both ways; a new one leaves as B. */
	assert_true(reply_reaches(a, T_HOST, 4000));
	assert_int_equal(out_via(T_HOST, 4000).port, a.port);
	b = out_via(HOST2, 4001);
	assert_int_equal(b.addr, POOL_B);
	assert_true(reply_reaches(b, HOST2, 4001));

	/* Draining until its last session ends; then gone, routes included. */
	assert_int_equal(eph_reconfig_housekeeping(t_dp.rc), 0);
	assert_non_null(snapshot_addr(POOL_A));
	advance(10 * EPH_NAT_TICK_HZ);
	assert_true(eph_reconfig_housekeeping(t_dp.rc) >= 1);
	assert_null(snapshot_addr(POOL_A));
	assert_int_not_equal(eph_route_lookup(t_dp.cfg->routes, POOL_A)->type, EPH_NH_POOL);
	assert_int_equal(eph_reconfig_addr_in_use(t_dp.rc, 0, 0), 0);
}

/* An address already in use elsewhere is refused as a whole; nothing changes. */
static void
add_own_address(struct eph_conf *c)
{
	set_addrs(c, (const uint32_t[]){ POOL_A, T_OUT_ADDR }, 2);
}

static void
test_bad_change_changes_nothing(void **state)
{
	uint64_t gen = t_dp.rc->generation;
	const struct eph_dp_cfg *cfg = t_dp.cfg;

	(void)state;
	assert_int_not_equal(change(add_own_address), 0);
	assert_int_equal(t_dp.rc->generation, gen);
	assert_ptr_equal(t_dp.cfg, cfg);
	assert_int_equal(t_dp.cfg->nat.pools[0].n_addrs, 1);
	assert_int_equal(out_via(T_HOST, 4100).addr, POOL_A);
}

static void
range_30000(struct eph_conf *c)
{
	c->pools[0].port_lo = 30000;
	c->pools[0].port_hi = 30015;
}

/* A new range: new sessions take it, old ones keep theirs until they end, then the generation goes. */
static void
test_range_change_drains(void **state)
{
	const struct eph_nat_pool *p;
	struct seen old, new;
	uint8_t old_gen;

	(void)state;
	old = out_via(T_HOST, 4200);
	assert_in_range(old.port, PORT_LO, PORT_HI);
	old_gen = t_dp.cfg->nat.pools[0].gen;
	assert_int_equal(change(range_30000), 0);
	p = &t_dp.cfg->nat.pools[0];
	assert_int_not_equal(p->gen, old_gen);
	assert_int_equal(p->gens, (1u << p->gen) | (1u << old_gen));

	new = out_via(HOST2, 4201);
	assert_in_range(new.port, 30000, 30015);
	assert_true(reply_reaches(old, T_HOST, 4200));
	assert_true(reply_reaches(new, HOST2, 4201));
	assert_int_equal(eph_reconfig_gen_live(t_dp.rc, 0, old_gen), 1);

	advance(10 * EPH_NAT_TICK_HZ);
	assert_true(eph_reconfig_housekeeping(t_dp.rc) >= 1);
	p = &t_dp.cfg->nat.pools[0];
	assert_int_equal(p->gens, 1u << p->gen);
	assert_null(w->nat.alloc[0][old_gen]);
}

static void
port_blocks(struct eph_conf *c)
{
	c->pools[0].log = EPH_NAT_LOG_PORT_BLOCKS;
	c->nat_log.syslog = true; /* a destination for the log: eph_conf_check wants one */
}

/* RFC 7422: a host's sessions fill a block of 8, then a second; blocks are logged, sessions not. */
static void
test_port_blocks_logged(void **state)
{
	struct seen s[17];
	unsigned int n, allocs = 0, releases = 0;

	(void)state;
	assert_int_equal(change(port_blocks), 0);
	for (unsigned int i = 0; i < 16; i++) {
		s[i] = out_via(T_HOST, (uint16_t)(5000 + i));
		assert_int_equal(s[i].addr, POOL_A);
	}
	/* Two blocks of 8 contiguous ports. */
	for (unsigned int i = 0; i < 8; i++) {
		assert_int_equal(s[i].port / 8, s[0].port / 8);
		assert_int_equal(s[8 + i].port / 8, s[8].port / 8);
	}
	assert_int_not_equal(s[0].port / 8, s[8].port / 8);
	/* max-blocks-per-host 2: the next session is refused. */
	s[16] = out_via(T_HOST, 5016);
	assert_int_equal(s[16].addr, 0);
	assert_true(reply_reaches(s[15], T_HOST, 5015));

	n = drain_ring(w->nat.log);
	assert_int_equal(n, 2);
	for (unsigned int i = 0; i < n; i++) {
		assert_int_equal(events[i].type, EPH_NATLOG_BLOCK_ALLOC);
		assert_int_equal(events[i].in_addr, rte_cpu_to_be_32(T_HOST));
		assert_int_equal(events[i].out_addr, rte_cpu_to_be_32(POOL_A));
		assert_int_equal(events[i].last_port - events[i].first_port, 7);
		assert_int_equal(events[i].first_port, s[8 * i].port & ~7u);
	}
	advance(10 * EPH_NAT_TICK_HZ);
	n = drain_ring(w->nat.log);
	for (unsigned int i = 0; i < n; i++) {
		allocs += events[i].type == EPH_NATLOG_BLOCK_ALLOC;
		releases += events[i].type == EPH_NATLOG_BLOCK_RELEASE;
	}
	assert_int_equal(allocs, 0);
	assert_int_equal(releases, 2);
}

/* Switching to port blocks under a live session: its replies still find it. */
static void
test_mode_switch_keeps_sessions(void **state)
{
	struct seen old, new;

	(void)state;
	old = out_via(T_HOST, 5100);
	assert_int_equal(change(port_blocks), 0);
	new = out_via(HOST2, 5101);
	assert_int_equal(new.addr, POOL_A);
	assert_true(reply_reaches(old, T_HOST, 5100));
	assert_true(reply_reaches(new, HOST2, 5101));
	assert_int_equal(eph_session_count(w->nat.sessions), 2);
}

static void
log_sessions(struct eph_conf *c)
{
	c->pools[0].log = EPH_NAT_LOG_SESSIONS;
	c->nat_log.syslog = true;
}

/* A worker clears what a filter matches, releases the ports and logs each delete. */
static void
test_sessions_clear(void **state)
{
	struct eph_nat_ctl req = { .op = EPH_NAT_CTL_CLEAR };
	struct seen a;
	unsigned int n, creates = 0, deletes = 0;

	(void)state;
	assert_int_equal(change(log_sessions), 0);
	a = out_via(T_HOST, 6000);
	out_via(T_HOST, 6001);
	out_via(HOST2, 6002);
	assert_int_equal(eph_session_count(w->nat.sessions), 3);

	req.filter = (struct eph_session_filter){
		.in_addr = rte_cpu_to_be_32(T_HOST), .in_mask = UINT32_MAX, .pool = -1,
	};
	assert_int_equal(rte_ring_enqueue(w->nat.ctl, &req), 0);
	for (int i = 0; i < 1000 && !req.done; i++)
		eph_nat_ctl_poll(w);
	assert_true(req.done);
	assert_int_equal(req.matched, 2);
	assert_int_equal(req.cleared, 2);
	assert_int_equal(eph_session_count(w->nat.sessions), 1);
	assert_int_equal(eph_reconfig_addr_in_use(t_dp.rc, 0, 0), 1);
	assert_false(reply_reaches(a, T_HOST, 6000));

	n = drain_ring(w->nat.log);
	for (unsigned int i = 0; i < n; i++) {
		if (events[i].type == EPH_NATLOG_SESSION_CREATE)
			creates++;
		if (events[i].type == EPH_NATLOG_SESSION_DELETE) {
			deletes++;
			assert_int_equal(events[i].reason, EPH_NATLOG_REASON_CLEARED);
			assert_int_equal(events[i].in_addr, rte_cpu_to_be_32(T_HOST));
		}
	}
	assert_int_equal(creates, 3);
	assert_int_equal(deletes, 2);
}

/* warn-occupancy 50 of a 16-port share: one warning at the 8th port, one alert at the 16th. */
static void
test_occupancy_alerts(void **state)
{
	unsigned int n;

	(void)state;
	for (unsigned int i = 0; i < 7; i++)
		assert_int_equal(out_via(T_HOST, (uint16_t)(7000 + i)).addr, POOL_A);
	assert_int_equal(drain_ring(w->nat.alerts), 0);
	out_via(T_HOST, 7007);
	n = drain_ring(w->nat.alerts);
	assert_int_equal(n, 1);
	assert_int_equal(events[0].type, EPH_NATLOG_DEST_OCCUPANCY);
	assert_int_equal(events[0].value, 8);
	assert_int_equal(events[0].share, 16);
	assert_int_equal(events[0].remote_addr, rte_cpu_to_be_32(T_SERVER));
	assert_int_equal(events[0].remote_port, rte_cpu_to_be_16(53));
	assert_int_equal(w->nat.occupancy_warnings[0][0], 1);
	for (unsigned int i = 8; i < 16; i++)
		assert_int_equal(out_via(T_HOST, (uint16_t)(7000 + i)).addr, POOL_A);
	n = drain_ring(w->nat.alerts);
	assert_int_equal(n, 1);
	assert_int_equal(events[0].type, EPH_NATLOG_DEST_EXHAUSTED);
	assert_int_equal(events[0].value, 16);
	assert_int_equal(out_via(T_HOST, 7016).addr, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_address_add_remove_drains, fresh),
		cmocka_unit_test_setup(test_bad_change_changes_nothing, fresh),
		cmocka_unit_test_setup(test_range_change_drains, fresh),
		cmocka_unit_test_setup(test_port_blocks_logged, fresh),
		cmocka_unit_test_setup(test_mode_switch_keeps_sessions, fresh),
		cmocka_unit_test_setup(test_sessions_clear, fresh),
		cmocka_unit_test_setup(test_occupancy_alerts, fresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

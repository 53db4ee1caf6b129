/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Two workers on net_ring ports (each transmits on its own queue, which
 * loops back to the same queue's receive side): packets one worker
 * receives for the other's hosts or ports cross the handoff rings, also
 * across a live change, and errors from inside routers reach the session's
 * owner. The workers are not launched: the test calls their functions.
 */
#include <string.h>

#include <rte_icmp.h>
#include <rte_udp.h>

#include "control/reconfig.h"
#include "dataplane/flow/session.h"
#include "dataplane/lb/lb.h"
#include "tests/unit/harness.h"

#define IN      0
#define OUT     1
#define IP_LEN  ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define POOL_A  T_IPV4(203, 0, 113, 100)
#define INSIDE_ROUTER T_IPV4(192, 0, 2, 254)
#define FAR_INSIDE    T_IPV4(10, 20, 0, 0) /* /16 behind the inside router */

static uint32_t pool_addrs[] = { POOL_A };
/* The balancer: UDP VIP 203.0.113.80:53 onto two inside backends, from local address .50. */
#define LB_VIP    T_IPV4(203, 0, 113, 80)
#define LB_LOCAL  T_IPV4(192, 0, 2, 150)
static uint32_t lb_local[] = { LB_LOCAL };
static struct eph_conf_backend lb_backends[] = {
	{ .addr = T_IPV4(192, 0, 2, 21), .port = 53, .weight = 100 },
	{ .addr = T_IPV4(192, 0, 2, 22), .port = 53, .weight = 100 },
};
/* The inside router (192.0.2.254) belongs to no pool. */
static struct eph_conf_prefix pool_inside[] = { { T_IPV4(192, 0, 2, 0), 25 },
						{ FAR_INSIDE, 16 } };
static struct eph_conf_route routes[2];

static void
two_workers(struct eph_conf *conf)
{
	struct eph_conf_pool *p = &conf->pools[0];

	snprintf(conf->eal.lcores, sizeof(conf->eal.lcores), "0@0,1@0,2@0");
	eph_conf_pool_defaults(p);
	snprintf(p->name, sizeof(p->name), "test");
	p->addrs = pool_addrs;
	p->n_addrs = 1;
	p->port_lo = 20000;
	p->port_hi = 20999;
	p->inside = pool_inside;
	p->n_inside = 2;
	conf->n_pools = 1;
	conf->timeouts.udp = 5;
	conf->nat.sessions_per_worker = 4096;
	conf->nat.destinations_per_worker = 1024;
	conf->nat.handoff_ring = 256;
	/* The remote network outside, a far inside network behind a router. */
	routes[0] = (struct eph_conf_route){
		.prefix = T_IPV4(198, 51, 100, 0), .prefix_len = 24, .via = T_ROUTER, .port = OUT,
	};
	routes[1] = (struct eph_conf_route){
		.prefix = FAR_INSIDE, .prefix_len = 16, .via = INSIDE_ROUTER, .port = IN,
	};
	conf->routes = routes;
	conf->n_routes = 2;

	p = &conf->pools[1];
	eph_conf_pool_defaults(p);
	snprintf(p->name, sizeof(p->name), "dns");
	snprintf(p->vip, sizeof(p->vip), "dns");
	p->balancer = true;
	p->pooling = EPH_POOLING_ARBITRARY;
	p->addrs = lb_local;
	p->n_addrs = 1;
	p->port_lo = 30000;
	p->port_hi = 30999;
	conf->n_pools = 2;
	snprintf(conf->vips[0].name, sizeof(conf->vips[0].name), "dns");
	conf->vips[0].addr = LB_VIP;
	conf->vips[0].port = 53;
	conf->vips[0].proto = IPPROTO_UDP;
	conf->vips[0].backends = lb_backends;
	conf->vips[0].n_backends = 2;
	conf->vips[0].pool = 1;
	conf->vips[0].maglev_size = 1009;
	conf->n_vips = 1;
}

static int
setup(void **state)
{
	(void)state;
	t_start_with("unit-handoff", two_workers);
	assert_int_equal(t_dp.n_workers, 2);
	t_neigh_add(OUT, T_SERVER, &t_server_mac);
	t_neigh_add(IN, INSIDE_ROUTER, &t_host_mac);
	for (uint32_t h = 2; h < 254; h++)
		t_neigh_add(IN, T_IPV4(192, 0, 2, h), &t_host_mac);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	t_conf.n_pools = 0; /* static arrays */
	t_conf.n_routes = 0;
	t_conf.n_vips = 0;
	t_stop();
	return 0;
}

/* What worker wk transmitted on port p since the last call. */
static unsigned int
sent_by(unsigned int wk, uint16_t p, struct rte_mbuf **pkts, unsigned int max)
{
	struct eph_worker *w = t_dp.workers[wk];
	uint16_t pid = t_dp.ports[p].port_id;

	w->stats.port[p].tx += rte_eth_tx_buffer_flush(pid, w->id, w->txb[p]);
	return rte_eth_rx_burst(pid, w->id, pkts, (uint16_t)max);
}

static void
drain_all(void)
{
	struct rte_mbuf *pkts[64];
	unsigned int n;

	for (unsigned int wk = 0; wk < t_dp.n_workers; wk++) {
		eph_nat_handoff_drain(t_dp.workers[wk]);
		for (uint16_t p = 0; p < t_dp.n_ports; p++)
			while ((n = sent_by(wk, p, pkts, RTE_DIM(pkts))) > 0)
				rte_pktmbuf_free_bulk(pkts, n);
	}
	t_drain();
}

static int
fresh(void **state)
{
	(void)state;
	drain_all();
	return 0;
}

/* An inside host (of 192.0.2.0/25) whose sessions live on worker wk. */
static uint32_t
host_of(unsigned int wk)
{
	for (uint32_t h = 11; h < 127; h++)
		if (eph_nat_host_owner(&t_dp.nat, rte_cpu_to_be_32(T_IPV4(192, 0, 2, h)), 2) == wk)
			return T_IPV4(192, 0, 2, h);
	fail();
	return 0;
}

static struct rte_mbuf *
udp(uint16_t port, const struct rte_ether_addr *mac, uint32_t src, uint32_t dst, uint16_t sport,
    uint16_t dport)
{
	struct rte_mbuf *m = t_ipv4_packet(mac, port, src, dst, IPPROTO_UDP, 64,
					   sizeof(struct rte_udp_hdr) + 8);
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)(t_ip(m) + 1);

	u->src_port = rte_cpu_to_be_16(sport);
	u->dst_port = rte_cpu_to_be_16(dport);
	u->dgram_len = rte_cpu_to_be_16(sizeof(*u) + 8);
	u->dgram_cksum = 0;
	u->dgram_cksum = rte_ipv4_udptcp_cksum(t_ip(m), u);
	return m;
}

static void
swap_routes(struct eph_conf *c)
{
	struct eph_conf_route r = c->routes[0];

	c->routes[0] = c->routes[1];
	c->routes[1] = r;
}

/*
 * A packet handed to its owner carries its next hop as an index into the
 * sender's routing table. A live change that reorders the routes while it
 * waits in the ring must not send it where the new table's entry at that
 * index goes (here: back inside, towards the inside router).
 */
static void
test_handoff_across_route_change(void **state)
{
	uint32_t host = host_of(1);
	uint64_t gen = t_dp.rc->generation;
	struct rte_mbuf *m = udp(IN, &t_host_mac, host, T_REMOTE, 5000, 53), *out[4];
	const struct rte_ether_hdr *eth;
	struct eph_conf c;

	(void)state;
	eph_input_burst(t_dp.workers[0], IN, &m, 1);
	assert_int_equal(t_dp.workers[0]->nat.ctr[EPH_NAT_handoff_out], 1);

	assert_int_equal(eph_conf_dup(&c, &t_dp.rc->conf), 0);
	swap_routes(&c);
	assert_int_equal(eph_conf_check(&c, stderr), 0);
	assert_int_equal(eph_reconfig_apply(t_dp.rc, &c, "test", stderr), 0);
	eph_conf_free(&c);
	assert_int_equal(t_dp.rc->generation, gen + 1);

	eph_nat_handoff_drain(t_dp.workers[1]);
	assert_int_equal(sent_by(1, IN, out, 4), 0);
	assert_int_equal(sent_by(1, OUT, out, 4), 1);
	eth = rte_pktmbuf_mtod(out[0], const struct rte_ether_hdr *);
	assert_memory_equal(&eth->dst_addr, &t_server_mac, RTE_ETHER_ADDR_LEN);
	assert_int_equal(t_ip(out[0])->src_addr, rte_cpu_to_be_32(POOL_A));
	assert_int_equal(t_ip(out[0])->dst_addr, rte_cpu_to_be_32(T_REMOTE));
	assert_int_equal(rte_raw_cksum(t_ip(out[0]), IP_LEN), 0xffff);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(eph_session_count(t_dp.workers[1]->nat.sessions), 1);
	assert_int_equal(eph_session_count(t_dp.workers[0]->nat.sessions), 0);
}

/* Everything every worker sent on port p (handoff rings drained first), at most max. */
static unsigned int
sent_any(uint16_t p, struct rte_mbuf **pkts, unsigned int max)
{
	unsigned int n = 0;

	for (unsigned int wk = 0; wk < t_dp.n_workers; wk++)
		eph_nat_handoff_drain(t_dp.workers[wk]);
	for (unsigned int wk = 0; wk < t_dp.n_workers && n < max; wk++)
		n += sent_by(wk, p, pkts + n, max - n);
	return n;
}

/* A host behind the inside router (10.20.0.0/16) whose owner is not the router's. */
static uint32_t
far_host(void)
{
	unsigned int router_owner =
		eph_nat_host_owner(&t_dp.nat, rte_cpu_to_be_32(INSIDE_ROUTER), 2);

	for (uint32_t h = 1; h < 250; h++)
		if (eph_nat_host_owner(&t_dp.nat, rte_cpu_to_be_32(FAR_INSIDE + h), 2) !=
		    router_owner)
			return FAR_INSIDE + h;
	fail();
	return 0;
}

/* From inside: host unreachable about the UDP reply remote:53 -> host:port, sent by `from`. */
static struct rte_mbuf *
unreachable_from_inside(uint32_t from, uint32_t host, uint16_t port)
{
	struct rte_mbuf *q = udp(OUT, &t_server_mac, T_REMOTE, host, 53, port);
	uint16_t len = (uint16_t)(sizeof(struct rte_icmp_hdr) + IP_LEN + 8);
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, from, T_REMOTE, IPPROTO_ICMP, 64, len);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);

	t_ip(q)->time_to_live = 60;
	t_ip(q)->hdr_checksum = 0;
	t_ip(q)->hdr_checksum = rte_ipv4_cksum(t_ip(q));
	memset(icmp, 0, sizeof(*icmp));
	icmp->icmp_type = 3;
	icmp->icmp_code = 1;
	memcpy(icmp + 1, t_ip(q), IP_LEN + 8);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, len);
	rte_pktmbuf_free(q);
	return m;
}

/* No 4-byte window of the frame's IP part holds addr (host order). */
static void
assert_absent(struct rte_mbuf *m, uint32_t addr)
{
	const uint8_t *p = (const uint8_t *)t_ip(m);
	uint16_t len = rte_be_to_cpu_16(t_ip(m)->total_length);
	uint32_t be = rte_cpu_to_be_32(addr);

	for (uint16_t i = 0; i + 4 <= len; i++)
		assert_int_not_equal(memcmp(p + i, &be, 4), 0);
}

/*
 * An inside router that belongs to no pool reports a host behind it
 * unreachable: the error is translated by the host's session (outer
 * source and quote become the pool address and port, wherever the error
 * arrived) and no inside address leaves.
 */
static void
test_inside_router_error_translated(void **state)
{
	uint32_t host = far_host();
	struct rte_mbuf *m = udp(IN, &t_host_mac, host, T_REMOTE, 5000, 53), *out[4];
	const struct rte_ipv4_hdr *ip, *inner;
	const struct rte_icmp_hdr *icmp;
	uint16_t out_port, qport;

	(void)state;
	eph_input_burst(t_dp.workers[0], IN, &m, 1);
	assert_int_equal(sent_any(OUT, out, 4), 1);
	memcpy(&out_port, t_ip(out[0]) + 1, 2);
	rte_pktmbuf_free(out[0]);

	/* On the worker that does not own the host, and (before) would not have known it. */
	m = unreachable_from_inside(INSIDE_ROUTER, host, 5000);
	eph_input_burst(t_dp.workers[eph_nat_host_owner(&t_dp.nat, rte_cpu_to_be_32(host), 2) ^ 1],
			IN, &m, 1);
	assert_int_equal(sent_any(IN, out, 4), 0);
	assert_int_equal(sent_any(OUT, out, 4), 1);
	ip = t_ip(out[0]);
	icmp = (const struct rte_icmp_hdr *)(ip + 1);
	inner = (const struct rte_ipv4_hdr *)(icmp + 1);
	assert_int_equal(ip->src_addr, rte_cpu_to_be_32(POOL_A));
	assert_int_equal(ip->dst_addr, rte_cpu_to_be_32(T_REMOTE));
	assert_int_equal(rte_raw_cksum(ip, IP_LEN), 0xffff);
	assert_int_equal(rte_raw_cksum(icmp, sizeof(*icmp) + IP_LEN + 8), 0xffff);
	assert_int_equal(inner->dst_addr, rte_cpu_to_be_32(POOL_A));
	assert_int_equal(rte_raw_cksum(inner, IP_LEN), 0xffff);
	memcpy(&qport, (const uint8_t *)(inner + 1) + 2, 2);
	assert_int_equal(qport, out_port);
	assert_absent(out[0], host);
	assert_absent(out[0], INSIDE_ROUTER);
	rte_pktmbuf_free(out[0]);
}

/*
 * Nobody else speaks for a host's flows: another inside host's error about
 * them is dropped and counted, and so is a router's error about a NAT'd
 * host with no such session (it would leave with inside addresses).
 */
static void
test_inside_errors_not_trusted(void **state)
{
	uint32_t host = far_host(), other = host_of(0);
	uint64_t spoofed = t_drops(EPH_DROP_nat_icmp_spoofed);
	uint64_t no_session = t_drops(EPH_DROP_nat_no_session);
	struct rte_mbuf *m = udp(IN, &t_host_mac, host, T_REMOTE, 5001, 53), *out[4];

	(void)state;
	eph_input_burst(t_dp.workers[0], IN, &m, 1);
	assert_int_equal(sent_any(OUT, out, 4), 1);
	rte_pktmbuf_free(out[0]);

	m = unreachable_from_inside(other, host, 5001);
	eph_input_burst(t_dp.workers[0], IN, &m, 1);
	m = unreachable_from_inside(INSIDE_ROUTER, host, 5999);
	eph_input_burst(t_dp.workers[1], IN, &m, 1);
	assert_int_equal(sent_any(OUT, out, 4), 0);
	assert_int_equal(sent_any(IN, out, 4), 0);
	assert_int_equal(t_drops(EPH_DROP_nat_icmp_spoofed), spoofed + 1);
	assert_int_equal(t_drops(EPH_DROP_nat_no_session), no_session + 1);
}

/*
 * An error from the router (in no pool) quoting a packet a NAT'd host sent
 * (its address the quote's source, a non-NAT'd address its destination)
 * translates by no session and must not leave as it is.
 */
static void
test_inside_error_quoting_host_source(void **state)
{
	uint64_t untranslatable = t_drops(EPH_DROP_nat_icmp_untranslatable);
	uint32_t host = host_of(0);
	struct rte_mbuf *q = udp(IN, &t_host_mac, host, T_REMOTE, 7, 53), *m, *out[4];
	uint16_t len = (uint16_t)(sizeof(struct rte_icmp_hdr) + IP_LEN + 8);
	struct rte_icmp_hdr *icmp;

	(void)state;
	m = t_ipv4_packet(&t_host_mac, IN, INSIDE_ROUTER, T_REMOTE, IPPROTO_ICMP, 64, len);
	icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);
	memset(icmp, 0, sizeof(*icmp));
	icmp->icmp_type = 3;
	icmp->icmp_code = 1;
	memcpy(icmp + 1, t_ip(q), IP_LEN + 8);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, len);
	rte_pktmbuf_free(q);
	eph_input_burst(t_dp.workers[0], IN, &m, 1);
	assert_int_equal(sent_any(OUT, out, 4), 0);
	assert_int_equal(sent_any(IN, out, 4), 0);
	assert_int_equal(t_drops(EPH_DROP_nat_icmp_untranslatable), untranslatable + 1);
}

/*
 * The balancer with two workers: every client packet enters worker 0 and
 * reaches its connection's owner; every backend reply enters worker 0 and
 * reaches the owner of its local port. Each crosses exactly once, nothing
 * is lost, and every reply leaves from the VIP to its client.
 */
static void
test_lb_both_sides_handed_over(void **state)
{
	struct rte_mbuf *pkts[64];
	uint16_t lport[64];
	uint32_t backend[64];
	unsigned int seen = 0;
	uint64_t out0 = t_dp.workers[0]->lb->ctr[EPH_LB_handoff_out];

	(void)state;
	for (uint16_t i = 0; i < 64; i++) {
		struct rte_mbuf *m = udp(OUT, &t_server_mac, T_SERVER, LB_VIP, 1000 + i, 53);

		eph_input_burst(t_dp.workers[0], OUT, &m, 1);
	}
	for (unsigned int wk = 0; wk < 2; wk++) {
		unsigned int n;

		for (int k = 0; k < 4; k++) /* a drain takes a burst at most */
			eph_nat_handoff_drain(t_dp.workers[wk]);
		n = sent_by(wk, IN, pkts, RTE_DIM(pkts));
		for (unsigned int j = 0; j < n; j++) {
			const struct rte_udp_hdr *u = (const struct rte_udp_hdr *)(t_ip(pkts[j]) + 1);

			assert_int_equal(rte_be_to_cpu_32(t_ip(pkts[j])->src_addr), LB_LOCAL);
			/* The local port is of this worker's share: replies find it by port. */
			assert_int_equal(rte_be_to_cpu_16(u->src_port) % 2, wk);
			lport[seen] = rte_be_to_cpu_16(u->src_port);
			backend[seen++] = rte_be_to_cpu_32(t_ip(pkts[j])->dst_addr);
			rte_pktmbuf_free(pkts[j]);
		}
	}
	assert_int_equal(seen, 64);
	assert_true(t_dp.workers[0]->lb->ctr[EPH_LB_handoff_out] > out0);
	assert_int_equal(eph_lb_connection_count(t_dp.workers[0]->lb) +
				 eph_lb_connection_count(t_dp.workers[1]->lb),
			 64);

	/* The replies, all into worker 0. */
	for (unsigned int i = 0; i < seen; i++) {
		struct rte_mbuf *m = udp(IN, &t_host_mac, backend[i], LB_LOCAL, 53, lport[i]);

		eph_input_burst(t_dp.workers[0], IN, &m, 1);
	}
	seen = 0;
	for (unsigned int wk = 0; wk < 2; wk++) {
		unsigned int n;

		for (int k = 0; k < 4; k++)
			eph_nat_handoff_drain(t_dp.workers[wk]);
		n = sent_by(wk, OUT, pkts, RTE_DIM(pkts));
		for (unsigned int j = 0; j < n; j++) {
			const struct rte_udp_hdr *u = (const struct rte_udp_hdr *)(t_ip(pkts[j]) + 1);

			assert_int_equal(rte_be_to_cpu_32(t_ip(pkts[j])->src_addr), LB_VIP);
			assert_int_equal(rte_be_to_cpu_32(t_ip(pkts[j])->dst_addr), T_SERVER);
			assert_int_equal(rte_be_to_cpu_16(u->src_port), 53);
			assert_in_range(rte_be_to_cpu_16(u->dst_port), 1000, 1063);
			assert_int_equal(rte_ipv4_udptcp_cksum_verify(t_ip(pkts[j]), u), 0);
			seen++;
			rte_pktmbuf_free(pkts[j]);
		}
	}
	assert_int_equal(seen, 64);
	assert_int_equal(t_drops(EPH_DROP_lb_no_connection), 0);
	assert_int_equal(t_drops(EPH_DROP_nat_handoff_full), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_handoff_across_route_change, fresh),
		cmocka_unit_test_setup(test_inside_router_error_translated, fresh),
		cmocka_unit_test_setup(test_inside_errors_not_trusted, fresh),
		cmocka_unit_test_setup(test_inside_error_quoting_host_source, fresh),
		cmocka_unit_test_setup(test_lb_both_sides_handed_over, fresh),
	};

	return cmocka_run_group_tests_name("handoff", tests, setup, teardown);
}

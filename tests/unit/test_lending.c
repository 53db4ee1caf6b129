/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port lending between three workers on net_ring ports: one inside host
 * gets every port of the range towards one destination, although its
 * owner's share is a third of it; replies reach it through whichever
 * worker they arrive on; exhaustion stays exact and quarantine holds for
 * lent ports, checked against a reference model of the range. The workers
 * are not launched: the test calls their functions and runs their rings
 * until nothing is left in flight.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_icmp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "control/reconfig.h"
#include "dataplane/flow/session.h"
#include "tests/unit/harness.h"

#define IN         0
#define OUT        1
#define N_WORKERS  3
#define POOL_A     T_IPV4(203, 0, 113, 100)
#define POOL_B     T_IPV4(203, 0, 113, 101) /* endpoint-independent, 192.0.2.128/25 */
#define EIM_LO     21000
#define POOL_C     T_IPV4(203, 0, 113, 102) /* with a reserve address, 192.0.2.192/26 */
#define RESERVE_C  T_IPV4(203, 0, 113, 103)
#define PORT_LO    20000
#define PORT_HI    20007
#define RANGE      (PORT_HI - PORT_LO + 1)
#define QUARANTINE 2 /* s */
#define UDP_TO     5 /* s */

static uint32_t pool_addrs[] = { POOL_A };
static uint32_t eim_addrs[] = { POOL_B };
static struct eph_conf_prefix pool_inside[] = { { T_IPV4(192, 0, 2, 0), 25 } };
static struct eph_conf_prefix eim_inside[] = { { T_IPV4(192, 0, 2, 128), 26 } };
static uint32_t spill_addrs[] = { POOL_C };
static uint32_t spill_reserve[] = { RESERVE_C };
static struct eph_conf_prefix spill_inside[] = { { T_IPV4(192, 0, 2, 192), 26 } };
static struct eph_conf_route routes[1];
static uint64_t clock_tsc;
static uint32_t flow_pool = POOL_A; /* the address open_flow and reply expect */

static void
three_workers(struct eph_conf *conf)
{
	struct eph_conf_pool *p = &conf->pools[0];

	snprintf(conf->eal.lcores, sizeof(conf->eal.lcores), "0@0,1@0,2@0,3@0");
	eph_conf_pool_defaults(p);
	snprintf(p->name, sizeof(p->name), "test");
	p->addrs = pool_addrs;
	p->n_addrs = 1;
	p->port_lo = PORT_LO;
	p->port_hi = PORT_HI;
	p->quarantine_s = QUARANTINE;
	p->inside = pool_inside;
	p->n_inside = 1;
	p = &conf->pools[1];
	eph_conf_pool_defaults(p);
	snprintf(p->name, sizeof(p->name), "eim");
	p->addrs = eim_addrs;
	p->n_addrs = 1;
	p->port_lo = EIM_LO;
	p->port_hi = EIM_LO + RANGE - 1;
	p->quarantine_s = QUARANTINE;
	p->mapping = EPH_MAPPING_ENDPOINT_INDEPENDENT;
	p->filtering = EPH_FILTERING_ENDPOINT_INDEPENDENT;
	p->inside = eim_inside;
	p->n_inside = 1;
	p = &conf->pools[2];
	eph_conf_pool_defaults(p);
	snprintf(p->name, sizeof(p->name), "spill");
	p->addrs = spill_addrs;
	p->n_addrs = 1;
	p->reserve = spill_reserve;
	p->n_reserve = 1;
	p->port_lo = PORT_LO;
	p->port_hi = PORT_HI;
	p->quarantine_s = QUARANTINE;
	p->inside = spill_inside;
	p->n_inside = 1;
	conf->n_pools = 3;
	conf->timeouts.udp = UDP_TO;
	conf->nat.sessions_per_worker = 4096;
	conf->nat.destinations_per_worker = 1024;
	conf->nat.handoff_ring = 256;
	conf->dataplane.mbufs = 16383; /* 2 ports x 3 workers of descriptors, and the rings */
	routes[0] = (struct eph_conf_route){
		.prefix = T_IPV4(198, 51, 100, 0), .prefix_len = 24, .via = T_ROUTER, .port = OUT,
	};
	conf->routes = routes;
	conf->n_routes = 1;
}

static int
setup(void **state)
{
	(void)state;
	t_start_with("unit-lending", three_workers);
	assert_int_equal(t_dp.n_workers, N_WORKERS);
	t_neigh_add(OUT, T_SERVER, &t_server_mac);
	for (uint32_t h = 2; h < 254; h++)
		t_neigh_add(IN, T_IPV4(192, 0, 2, h), &t_host_mac);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	t_conf.pools[2].reserve = NULL; /* static arrays */
	t_conf.pools[2].n_reserve = 0;
	t_conf.n_pools = 0;
	t_conf.n_routes = 0;
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

/* Run every worker's rings (handoffs, borrows, loans, returns) until all are empty. */
static void
pump(void)
{
	for (int round = 0; round < 64; round++) {
		unsigned int left = 0;

		for (unsigned int wk = 0; wk < t_dp.n_workers; wk++)
			eph_nat_handoff_drain(t_dp.workers[wk]);
		for (unsigned int k = 0; k < t_dp.n_workers * t_dp.n_workers; k++) {
			if (t_dp.nat.handoff[k] != NULL)
				left += rte_ring_count(t_dp.nat.handoff[k]);
			if (t_dp.nat.loans[k] != NULL)
				left += rte_ring_count(t_dp.nat.loans[k]);
		}
		if (left == 0)
			return;
	}
	fail_msg("the rings never ran dry");
}

/* Everything every worker sent on port p, rings run first, at most max. */
static unsigned int
sent_any(uint16_t p, struct rte_mbuf **pkts, unsigned int max)
{
	unsigned int n = 0;

	pump();
	for (unsigned int wk = 0; wk < t_dp.n_workers && n < max; wk++)
		n += sent_by(wk, p, pkts + n, max - n);
	return n;
}

static void
advance(uint32_t ticks)
{
	if (clock_tsc == 0)
		clock_tsc = t_dp.nat.start_tsc;
	for (uint32_t t = 0; t < ticks; t++) {
		clock_tsc += t_dp.nat.tick_tsc;
		for (unsigned int wk = 0; wk < t_dp.n_workers; wk++)
			for (int i = 0; i < 8; i++)
				eph_nat_timers(t_dp.workers[wk], clock_tsc);
		pump(); /* returns reach their lenders at once */
	}
}

static uint64_t
ctr_sum(enum eph_nat_counter c)
{
	uint64_t s = 0;

	for (unsigned int wk = 0; wk < t_dp.n_workers; wk++)
		s += t_dp.workers[wk]->nat.ctr[c];
	return s;
}

static uint64_t
ports_in_use(void)
{
	uint64_t s = 0;

	for (unsigned int wk = 0; wk < t_dp.n_workers; wk++)
		for (unsigned int p = 0; p < 3; p++)
			for (unsigned int a = 0; a < 2; a++)
				s += t_dp.workers[wk]->nat.ports_in_use[p][a];
	return s;
}

/* Live sessions and loan records: every session is gone and every loan back. */
static void
assert_quiet(void)
{
	for (unsigned int wk = 0; wk < t_dp.n_workers; wk++) {
		const struct eph_nat_worker *nw = &t_dp.workers[wk]->nat;

		assert_int_equal(eph_session_count(nw->sessions), 0);
		assert_int_equal(nw->loan_sessions, 0);
		assert_int_equal(nw->loan_mappings, 0);
		assert_int_equal(eph_session_count(nw->mappings), 0);
		assert_int_equal(nw->borrowed_live, 0);
		for (unsigned int b = 0; b < t_dp.n_workers; b++)
			assert_int_equal(nw->lent_to[b], 0);
	}
	assert_int_equal(ports_in_use(), 0);
	assert_int_equal(ctr_sum(EPH_NAT_loans_lost), 0);
}

/* Everything expired and rested: each test starts from an empty range. */
static int
fresh(void **state)
{
	struct rte_mbuf *pkts[64];

	(void)state;
	unsigned int n;

	advance((UDP_TO + QUARANTINE + 2) * EPH_NAT_TICK_HZ);
	for (uint16_t p = 0; p < t_dp.n_ports; p++)
		while ((n = sent_any(p, pkts, RTE_DIM(pkts))) > 0)
			rte_pktmbuf_free_bulk(pkts, n);
	t_drain();
	assert_quiet();
	return 0;
}

/* An inside host whose sessions live on worker wk (of pool 0, or of the EIM pool). */
static uint32_t
host_in(unsigned int wk, uint32_t first)
{
	for (uint32_t h = first; h < first + 60; h++)
		if (eph_nat_host_owner(&t_dp.nat, rte_cpu_to_be_32(T_IPV4(192, 0, 2, h)),
				       N_WORKERS) == wk)
			return T_IPV4(192, 0, 2, h);
	fail();
	return 0;
}

static uint32_t
host_of(unsigned int wk)
{
	return host_in(wk, 11);
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
	memcpy(u + 1, &sport, sizeof(sport)); /* payload: tells the flows apart */
	u->dgram_cksum = 0;
	u->dgram_cksum = rte_ipv4_udptcp_cksum(t_ip(m), u);
	return m;
}

static uint16_t
sport_of(struct rte_mbuf *m)
{
	return rte_be_to_cpu_16(((const struct rte_udp_hdr *)(t_ip(m) + 1))->src_port);
}

static uint16_t
dport_of(struct rte_mbuf *m)
{
	return rte_be_to_cpu_16(((const struct rte_udp_hdr *)(t_ip(m) + 1))->dst_port);
}

/* The packet's checksums verify (IPv4 header, UDP). */
static void
assert_sums(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = t_ip(m);

	assert_int_equal(rte_ipv4_cksum(ip), 0);
	assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, ip + 1), 0);
}

/*
 * One new UDP flow host:sport -> T_SERVER:dport from inside, received by
 * worker `rx`: the outside port it left with, or 0 when it was refused.
 */
static uint16_t
open_flow(unsigned int rx, uint32_t host, uint16_t sport, uint16_t dport)
{
	struct rte_mbuf *m = udp(IN, &t_host_mac, host, T_SERVER, sport, dport), *out[4];
	unsigned int n;
	uint16_t port;

	eph_input_burst(t_dp.workers[rx], IN, &m, 1);
	n = sent_any(OUT, out, RTE_DIM(out));
	if (n == 0)
		return 0;
	assert_int_equal(n, 1);
	assert_int_equal(t_ip(out[0])->src_addr, rte_cpu_to_be_32(flow_pool));
	assert_int_equal(dport_of(out[0]), dport);
	assert_sums(out[0]);
	port = sport_of(out[0]);
	rte_pktmbuf_free(out[0]);
	return port;
}

/*
 * A datagram from remote:rport to outside port `port`, received by worker
 * rx: the inside port it reached, 0 when none.
 */
static uint16_t
reply_from(unsigned int rx, uint32_t remote, uint16_t rport, uint16_t port, uint32_t host)
{
	struct rte_mbuf *m = udp(OUT, &t_server_mac, remote, flow_pool, rport, port), *in[4];
	unsigned int n;
	uint16_t to;

	eph_input_burst(t_dp.workers[rx], OUT, &m, 1);
	n = sent_any(IN, in, RTE_DIM(in));
	if (n == 0)
		return 0;
	assert_int_equal(n, 1);
	assert_int_equal(t_ip(in[0])->dst_addr, rte_cpu_to_be_32(host));
	assert_int_equal(t_ip(in[0])->src_addr, rte_cpu_to_be_32(remote));
	assert_sums(in[0]);
	to = dport_of(in[0]);
	rte_pktmbuf_free(in[0]);
	return to;
}

static uint16_t
reply(unsigned int rx, uint16_t dport, uint16_t port, uint32_t host)
{
	return reply_from(rx, T_SERVER, dport, port, host);
}

/*
 * The case: a host owned by worker 0 opens flows to one server
 * until refused. With 3 workers its own share is 3 of the 8 ports; it gets
 * all 8, each once, the 9th is refused and counted once, every flow's
 * replies reach it whichever worker receives them, and once the flows
 * have expired and the ports rested, all 8 are served again.
 */
static void
test_whole_range_one_destination(void **state)
{
	uint32_t host = host_of(0);
	uint64_t refused = t_drops(EPH_DROP_nat_exhausted);
	uint64_t lent0 = ctr_sum(EPH_NAT_ports_lent), borrowed0 = ctr_sum(EPH_NAT_ports_borrowed);
	uint64_t returned0 = ctr_sum(EPH_NAT_loans_returned);
	uint16_t port[RANGE];
	bool seen[RANGE] = { false };
	unsigned int own = 0, refusals = 0;

	(void)state;
	for (unsigned int round = 0; round < 2; round++) {
		memset(seen, 0, sizeof(seen));
		for (unsigned int i = 0; i < RANGE; i++) {
			port[i] = open_flow(i % N_WORKERS, host, (uint16_t)(30000 + i), 7000);
			assert_in_range(port[i], PORT_LO, PORT_HI);
			assert_false(seen[port[i] - PORT_LO]);
			seen[port[i] - PORT_LO] = true;
			own += port[i] % N_WORKERS == 0;
		}
		/* The 9th: no port anywhere, refused once. */
		assert_int_equal(open_flow(1, host, 30100, 7000), 0);
		refusals++;
		assert_int_equal(t_drops(EPH_DROP_nat_exhausted), refused + refusals);
		assert_int_equal(t_dp.workers[0]->nat.exhausted[0][0], refusals);
		assert_int_equal(ports_in_use(), RANGE);
		/* Every flow still works both ways; replies arrive on any worker. */
		for (unsigned int i = 0; i < RANGE; i++) {
			for (unsigned int rx = 0; rx < N_WORKERS; rx++)
				assert_int_equal(reply(rx, 7000, port[i], host), 30000 + i);
			assert_int_equal(open_flow(2, host, (uint16_t)(30000 + i), 7000), port[i]);
		}
		/* Another destination port has its own 8. */
		assert_in_range(open_flow(0, host, 30200, 7001), PORT_LO, PORT_HI);
		advance((UDP_TO + 1) * EPH_NAT_TICK_HZ);
		assert_int_equal(ports_in_use(), 0);
		/* Resting: still refused, none served early. */
		assert_int_equal(open_flow(0, host, 30300, 7000), 0);
		refusals++;
		advance((QUARANTINE + 1) * EPH_NAT_TICK_HZ);
	}
	assert_int_equal(own, 2 * 3); /* 20001, 20004, 20007 are worker 0's */
	assert_int_equal(ctr_sum(EPH_NAT_ports_lent) - lent0, 2 * (RANGE - 3));
	assert_int_equal(ctr_sum(EPH_NAT_ports_borrowed) - borrowed0, 2 * (RANGE - 3));
	assert_int_equal(ctr_sum(EPH_NAT_loans_returned) - returned0, 2 * (RANGE - 3));
}

/*
 * A lent port: the lender holds it live for the destination (its own hosts
 * cannot take it towards the same server) and counts it in use; the
 * borrower counts the session. When the flow ends it rests in the lender's
 * quarantine, not a tick less.
 */
static void
test_lent_port_held_and_rested_by_lender(void **state)
{
	uint32_t h0 = host_of(0), h1 = host_of(1);
	uint16_t p0[RANGE], got;
	unsigned int n0 = 0;

	(void)state;
	/* h0 takes the whole range; h1 (another host, same destination) gets nothing. */
	for (unsigned int i = 0; i < RANGE; i++)
		p0[n0++] = open_flow(0, h0, (uint16_t)(31000 + i), 7000);
	assert_int_equal(open_flow(1, h1, 31000, 7000), 0);
	for (unsigned int wk = 1; wk < N_WORKERS; wk++) {
		const struct eph_nat_worker *nw = &t_dp.workers[wk]->nat;

		/* Worker 1's share is 20002 and 20005, worker 2's 20000, 20003 and 20006. */
		assert_int_equal(nw->ports_in_use[0][0], wk == 1 ? 2 : 3);
		assert_int_equal(nw->lent_to[0], wk == 1 ? 2 : 3);
		assert_int_equal(eph_session_count(nw->sessions), nw->loan_sessions);
	}
	assert_int_equal(eph_session_count(t_dp.workers[0]->nat.sessions), RANGE);
	assert_int_equal(t_dp.workers[0]->nat.borrowed_live, RANGE - 3);
	/*
	 * Expire them all at once: each port rests QUARANTINE s from its
	 * release; until then h1 (owned by worker 1, lender of 3) gets none.
	 */
	advance((UDP_TO + 1) * EPH_NAT_TICK_HZ);
	assert_quiet();
	assert_int_equal(open_flow(1, h1, 31001, 7000), 0); /* 1 s of rest left */
	advance(EPH_NAT_TICK_HZ / 2);
	assert_int_equal(open_flow(1, h1, 31001, 7000), 0);
	advance(EPH_NAT_TICK_HZ);
	got = open_flow(1, h1, 31002, 7000);
	assert_in_range(got, PORT_LO, PORT_HI);
	(void)p0;
}

/*
 * Replies of every kind reach a borrowed session: an ICMP error about a
 * lent port arrives at the lender and is translated back to the host.
 */
static void
test_icmp_error_for_lent_port(void **state)
{
	uint32_t host = host_of(0);
	uint16_t port[RANGE], lent = 0;
	struct rte_mbuf *q, *m, *in[4];
	struct rte_icmp_hdr *icmp;
	uint16_t len = (uint16_t)(sizeof(struct rte_icmp_hdr) + sizeof(struct rte_ipv4_hdr) + 8);

	(void)state;
	for (unsigned int i = 0; i < RANGE; i++) {
		port[i] = open_flow(0, host, (uint16_t)(32000 + i), 7000);
		if (port[i] % N_WORKERS != 0)
			lent = port[i];
	}
	assert_int_not_equal(lent, 0);
	/* Port unreachable from the server about our datagram POOL_A:lent -> server:7000. */
	q = udp(OUT, &t_server_mac, POOL_A, T_SERVER, lent, 7000);
	m = t_ipv4_packet(&t_server_mac, OUT, T_SERVER, POOL_A, IPPROTO_ICMP, 64, len);
	icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);
	memset(icmp, 0, sizeof(*icmp));
	icmp->icmp_type = 3;
	icmp->icmp_code = 3;
	memcpy(icmp + 1, t_ip(q), sizeof(struct rte_ipv4_hdr) + 8);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, len);
	rte_pktmbuf_free(q);
	eph_input_burst(t_dp.workers[2], OUT, &m, 1);
	assert_int_equal(sent_any(IN, in, RTE_DIM(in)), 1);
	assert_int_equal(t_ip(in[0])->dst_addr, rte_cpu_to_be_32(host));
	{
		const struct rte_ipv4_hdr *inner =
			(const struct rte_ipv4_hdr *)((const uint8_t *)(t_ip(in[0]) + 1) +
						      sizeof(struct rte_icmp_hdr));
		const struct rte_udp_hdr *iu = (const struct rte_udp_hdr *)(inner + 1);

		assert_int_equal(inner->src_addr, rte_cpu_to_be_32(host));
		assert_int_not_equal(rte_be_to_cpu_16(iu->src_port), lent);
		assert_in_range(rte_be_to_cpu_16(iu->src_port), 32000, 32000 + RANGE - 1);
	}
	rte_pktmbuf_free(in[0]);
}

/*
 * Endpoint-independent mappings: a host gets a mapping on every port of
 * the range (the destination is the outside address), lent ones included;
 * another remote reuses a lent mapping's port; a stranger's datagram to a
 * lent mapping (endpoint-independent filtering) reaches the host whichever
 * worker receives it; the mappings' ports go back when they expire.
 */
static void
test_eim_mappings_whole_range(void **state)
{
	uint32_t host = host_in(0, 129);
	uint16_t port[RANGE], lent = 0;
	unsigned int lent_idx = 0;

	(void)state;
	flow_pool = POOL_B;
	for (unsigned int i = 0; i < RANGE; i++) {
		port[i] = open_flow(i % N_WORKERS, host, (uint16_t)(40000 + i), 7000);
		assert_in_range(port[i], EIM_LO, EIM_LO + RANGE - 1);
		for (unsigned int k = 0; k < i; k++)
			assert_int_not_equal(port[k], port[i]);
		if (port[i] % N_WORKERS != 0) {
			lent = port[i];
			lent_idx = i;
		}
	}
	assert_int_not_equal(lent, 0);
	assert_int_equal(open_flow(0, host, 40100, 7000), 0); /* a 9th mapping: none left */
	/* The lent mapping serves another remote port with its port. */
	assert_int_equal(open_flow(1, host, (uint16_t)(40000 + lent_idx), 7001), lent);
	for (unsigned int rx = 0; rx < N_WORKERS; rx++) {
		/* A stranger, on every worker: let in by the mapping, to the host. */
		assert_int_equal(reply_from(rx, T_REMOTE, 5353, lent, host), 40000 + lent_idx);
		assert_int_equal(reply(rx, 7001, lent, host), 40000 + lent_idx);
	}
	assert_int_equal(eph_nat_mapping_count(&t_dp.workers[0]->nat), RANGE);
	assert_true(t_dp.workers[1]->nat.loan_mappings + t_dp.workers[2]->nat.loan_mappings ==
		    RANGE - 3);
	assert_int_equal(eph_nat_mapping_count(&t_dp.workers[1]->nat), 0);
	flow_pool = POOL_A;
}

/*
 * Reserve addresses take only what the regular ones cannot, over every
 * worker's share: the host gets all 8 ports of the regular address (5 of
 * them lent) before its first on the reserve, then the reserve's 8, then
 * nothing, counted once for each address.
 */
static void
test_reserve_after_every_share(void **state)
{
	uint32_t host = host_in(0, 193);
	uint16_t got;

	(void)state;
	flow_pool = POOL_C;
	for (unsigned int i = 0; i < RANGE; i++)
		assert_in_range(open_flow(i % N_WORKERS, host, (uint16_t)(36000 + i), 7000), PORT_LO,
				PORT_HI);
	flow_pool = RESERVE_C;
	for (unsigned int i = 0; i < RANGE; i++)
		assert_in_range(open_flow(i % N_WORKERS, host, (uint16_t)(36100 + i), 7000),
				PORT_LO, PORT_HI);
	got = open_flow(1, host, 36200, 7000);
	assert_int_equal(got, 0);
	assert_int_equal(t_dp.workers[0]->nat.exhausted[2][0] + t_dp.workers[0]->nat.exhausted[2][1],
			 2);
	flow_pool = POOL_A;
}

/*
 * Borrowing never crowds out handed-over packets: with the rings from the
 * owner to the others over half full, a flow beyond the owner's share is
 * dropped as nat_borrow_busy instead of queued; once they drain, it borrows.
 */
static void
test_borrow_busy(void **state)
{
	uint32_t host = host_of(0);
	uint64_t busy = t_drops(EPH_DROP_nat_borrow_busy);
	uint64_t requests = ctr_sum(EPH_NAT_borrow_requests);
	struct rte_mbuf *m, *junk;

	(void)state;
	for (unsigned int i = 0; i < 3; i++) /* worker 0's own share */
		assert_int_equal(open_flow(0, host, (uint16_t)(37000 + i), 7000) % N_WORKERS, 0);
	for (unsigned int wk = 1; wk < N_WORKERS; wk++) {
		struct rte_ring *r = t_dp.nat.handoff[wk];

		while (rte_ring_free_count(r) >= rte_ring_get_capacity(r) / 2)
			assert_int_equal(rte_ring_sp_enqueue(r, t_ipv4_packet(&t_host_mac, IN, host,
									   T_SERVER, IPPROTO_UDP,
									   64, 8)),
					 0);
	}
	m = udp(IN, &t_host_mac, host, T_SERVER, 37010, 7000);
	eph_input_burst(t_dp.workers[0], IN, &m, 1);
	assert_int_equal(t_drops(EPH_DROP_nat_borrow_busy), busy + 1);
	assert_int_equal(ctr_sum(EPH_NAT_borrow_requests), requests);
	for (unsigned int wk = 1; wk < N_WORKERS; wk++)
		while (rte_ring_sc_dequeue(t_dp.nat.handoff[wk], (void **)&junk) == 0)
			rte_pktmbuf_free(junk);
	assert_in_range(open_flow(0, host, 37010, 7000), PORT_LO, PORT_HI);
	assert_int_equal(ctr_sum(EPH_NAT_borrow_requests), requests + 1);
}

/*
 * The reference model: random opens, refreshes and time steps for one
 * host towards two destinations. Model: per destination and port, live
 * (and by which flow) or the tick its rest ends. Every open must get a
 * port that is neither live nor resting for its destination (no port live
 * twice, quarantine respected across workers) and must be refused only
 * when the model has no free port (exhaustion exact; a port whose rest
 * ends within the allocator's coarse rounding may go either way).
 */
#define MODEL_FLOWS 64

struct model_flow {
	bool open;
	uint16_t dport;
	uint16_t port;
	uint32_t last; /* tick of its last packet from inside */
};

struct model {
	int32_t live[2][RANGE];     /* flow index, or -1 */
	uint32_t rest_end[2][RANGE]; /* tick a released port may be reused from */
	struct model_flow f[MODEL_FLOWS];
};

static uint32_t
now_ticks(void)
{
	return t_dp.workers[0]->nat.now;
}

static void
model_expire(struct model *md, uint32_t to, uint32_t q)
{
	for (unsigned int i = 0; i < MODEL_FLOWS; i++) {
		struct model_flow *fl = &md->f[i];
		unsigned int d = fl->dport - 7000;

		/* The wheel removes it at last + timeout (ticks): then the port rests. */
		if (fl->open && (int32_t)(now_ticks() - (fl->last + to)) >= 0) {
			md->live[d][fl->port - PORT_LO] = -1;
			md->rest_end[d][fl->port - PORT_LO] = fl->last + to + q;
			fl->open = false;
		}
	}
}

static void
test_model_one_host_many_workers(void **state)
{
	const uint32_t to = UDP_TO * EPH_NAT_TICK_HZ, q = QUARANTINE * EPH_NAT_TICK_HZ;
	const uint32_t slack = EPH_NAT_TICK_HZ; /* coarse rest rounding */
	uint32_t host = host_of(1);
	struct model *md = calloc(1, sizeof(*md));
	unsigned int opened = 0, refused = 0, ambiguous = 0;

	(void)state;
	assert_non_null(md);
	srand(7);
	for (unsigned int d = 0; d < 2; d++)
		for (unsigned int p = 0; p < RANGE; p++)
			md->live[d][p] = -1;
	for (unsigned int op = 0; op < 3000; op++) {
		int r = rand() % 16;
		unsigned int i = (unsigned int)rand() % MODEL_FLOWS;
		struct model_flow *fl = &md->f[i];

		if (r < 2) {
			advance((uint32_t)(rand() % (2 * EPH_NAT_TICK_HZ)) + 1);
			model_expire(md, to, q);
		} else if (fl->open) {
			/* A packet of a live flow: same port, refreshed. */
			assert_int_equal(open_flow((unsigned int)rand() % N_WORKERS, host,
						   (uint16_t)(33000 + i), fl->dport),
					 fl->port);
			fl->last = now_ticks();
		} else {
			uint16_t dport = (uint16_t)(7000 + rand() % 2);
			unsigned int d = dport - 7000, free_now = 0, maybe = 0;
			uint16_t got;

			for (unsigned int p = 0; p < RANGE; p++) {
				if (md->live[d][p] >= 0)
					continue;
				if ((int32_t)(now_ticks() - md->rest_end[d][p]) >= (int32_t)slack ||
				    md->rest_end[d][p] == 0)
					free_now++;
				else if ((int32_t)(now_ticks() - md->rest_end[d][p]) >= 0)
					maybe++;
			}
			got = open_flow((unsigned int)rand() % N_WORKERS, host,
					(uint16_t)(33000 + i), dport);
			if (got == 0) {
				assert_int_equal(free_now, 0); /* exact: refused only when none is free */
				refused++;
				ambiguous += maybe != 0;
				continue;
			}
			assert_in_range(got, PORT_LO, PORT_HI);
			assert_int_equal(md->live[d][got - PORT_LO], -1); /* never live twice */
			assert_true(md->rest_end[d][got - PORT_LO] == 0 ||
				    (int32_t)(now_ticks() - md->rest_end[d][got - PORT_LO]) >= 0);
			md->live[d][got - PORT_LO] = (int32_t)i;
			*fl = (struct model_flow){ .open = true, .dport = dport, .port = got,
						   .last = now_ticks() };
			opened++;
		}
	}
	print_message("model: %u opened, %u refused (%u near a rest's end), lent %" PRIu64 "\n",
		      opened, refused, ambiguous, ctr_sum(EPH_NAT_ports_lent));
	assert_true(opened > 500 && refused > 50);
	assert_true(ctr_sum(EPH_NAT_ports_lent) > 100);
	free(md);
}

/*
 * A live range change while ports are on loan: the old generation keeps
 * serving its sessions (replies still reach the host through the lenders'
 * records), new flows to the same destination get exactly the new
 * generation's ports that the old one does not hold, lent ones included,
 * and once the old sessions end every loan is back and the old generation
 * holds nothing, so housekeeping frees it.
 */
static void
test_range_change_with_ports_on_loan(void **state)
{
	uint32_t host = host_of(0);
	uint64_t gen = t_dp.rc->generation;
	uint16_t old[RANGE], got;
	bool seen[2 * RANGE] = { false };
	unsigned int old_gen = t_dp.cfg->nat.pools[0].gen;
	struct eph_conf c;

	(void)state;
	for (unsigned int i = 0; i < RANGE; i++) {
		old[i] = open_flow(0, host, (uint16_t)(34000 + i), 7000);
		assert_in_range(old[i], PORT_LO, PORT_HI);
	}
	assert_int_equal(eph_conf_dup(&c, &t_dp.rc->conf), 0);
	c.pools[0].port_hi = PORT_HI + RANGE;
	assert_int_equal(eph_conf_check(&c, stderr), 0);
	assert_int_equal(eph_reconfig_apply(t_dp.rc, &c, "test", stderr), 0);
	eph_conf_free(&c);
	assert_int_equal(t_dp.rc->generation, gen + 1);
	assert_int_not_equal(t_dp.cfg->nat.pools[0].gen, old_gen);

	for (unsigned int i = 0; i < RANGE; i++)
		for (unsigned int rx = 0; rx < N_WORKERS; rx++)
			assert_int_equal(reply(rx, 7000, old[i], host), 34000 + i);
	for (unsigned int i = 0; i < RANGE; i++) {
		got = open_flow(i % N_WORKERS, host, (uint16_t)(35000 + i), 7000);
		assert_in_range(got, PORT_HI + 1, PORT_HI + RANGE); /* the old ones are held */
		assert_false(seen[got - PORT_LO]);
		seen[got - PORT_LO] = true;
		assert_int_equal(reply(2, 7000, got, host), 35000 + i);
	}
	assert_int_equal(open_flow(0, host, 35100, 7000), 0);

	advance((UDP_TO + 1) * EPH_NAT_TICK_HZ);
	assert_quiet();
	assert_int_equal(eph_reconfig_gen_live(t_dp.rc, 0, old_gen), 0);
	eph_reconfig_housekeeping(t_dp.rc);
	assert_int_equal(t_dp.cfg->nat.pools[0].gens & (1u << old_gen), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_whole_range_one_destination, fresh),
		cmocka_unit_test_setup(test_lent_port_held_and_rested_by_lender, fresh),
		cmocka_unit_test_setup(test_icmp_error_for_lent_port, fresh),
		cmocka_unit_test_setup(test_eim_mappings_whole_range, fresh),
		cmocka_unit_test_setup(test_reserve_after_every_share, fresh),
		cmocka_unit_test_setup(test_borrow_busy, fresh),
		cmocka_unit_test_setup(test_model_one_host_many_workers, fresh),
		/* Last: it leaves the pool's range changed. */
		cmocka_unit_test_setup(test_range_change_with_ports_on_loan, fresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

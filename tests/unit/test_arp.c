/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ARP and the neighbour cache, driven like the daemon drives them: frames
 * enter through the worker's packet path, reach the control lcore's ring,
 * and what the control lcore sends is read from the worker's ring. Time is
 * a fake clock in milliseconds.
 */
#include <string.h>

#include <rte_arp.h>

#include "control/arp.h"
#include "tests/unit/harness.h"

#define IN  0
#define OUT 1
#define HZ  1000 /* fake clock: 1 tick = 1 ms */

static struct eph_worker *w;
static struct eph_arp arp;
static uint64_t now;

static const struct rte_ether_addr other_mac = { { 0x02, 0, 0, 0, 0, 0x99 } };

static int
setup(void **state)
{
	(void)state;
	t_start("unit-arp");
	w = t_dp.workers[0];
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	t_stop();
	return 0;
}

/* Every test starts with an empty neighbour table and fresh counters. */
static int
fresh(void **state)
{
	struct eph_conf_arp conf = {
		.reachable_s = 30, .retry_ms = 1000, .retries = 3, .hold_packets = 4,
	};
	struct eph_neigh *n;

	(void)state;
	t_drain();
	while ((n = TAILQ_FIRST(&t_dp.neigh.all)) != NULL) {
		for (unsigned int i = 0; i < n->n_held; i++)
			rte_pktmbuf_free(n->held[i]);
		n->n_held = 0;
		eph_neigh_delete(&t_dp.neigh, n);
	}
	t_dp.neigh.hold_max = conf.hold_packets;
	memset(&t_dp.control_stats, 0, sizeof(t_dp.control_stats));
	eph_arp_init(&arp, &t_dp, &conf, HZ);
	now = 1000000;
	return 0;
}

static struct rte_mbuf *
arp_frame(uint16_t port, uint16_t op, const struct rte_ether_addr *sha, uint32_t sip,
	  uint32_t tip, const struct rte_ether_addr *eth_dst)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(t_dp.pool);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *a;

	assert_non_null(m);
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*a));
	a = (struct rte_arp_hdr *)(eth + 1);
	eth->dst_addr = *eth_dst;
	eth->src_addr = *sha;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	a->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	a->arp_data.arp_sha = *sha;
	a->arp_data.arp_sip = rte_cpu_to_be_32(sip);
	memset(&a->arp_data.arp_tha, 0, sizeof(a->arp_data.arp_tha));
	a->arp_data.arp_tip = rte_cpu_to_be_32(tip);
	m->port = t_dp.ports[port].port_id;
	return m;
}

static const struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };

/* Through the worker to the control ring, then the control lcore handles all of it. */
static void
deliver(uint16_t port, struct rte_mbuf *m)
{
	struct rte_mbuf *up[16];
	unsigned int n;

	eph_input_burst(w, port, &m, 1);
	n = rte_ring_dequeue_burst(t_dp.to_control, (void **)up, RTE_DIM(up), NULL);
	for (unsigned int i = 0; i < n; i++)
		eph_arp_slow_input(&arp, up[i], now);
}

/* What the control lcore handed the worker to send, in order. */
static unsigned int
from_control(struct rte_mbuf **pkts, unsigned int max)
{
	return rte_ring_dequeue_burst(w->from_control, (void **)pkts, max, NULL);
}

static void
assert_arp(struct rte_mbuf *m, uint16_t port, uint16_t op, const struct rte_ether_addr *eth_dst,
	   const struct rte_ether_addr *tha, uint32_t tip)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_arp_hdr *a = (const struct rte_arp_hdr *)(eth + 1);
	const struct eph_port *p = &t_dp.ports[port];

	assert_int_equal(m->port, port);
	assert_int_equal(eth->ether_type, RTE_BE16(RTE_ETHER_TYPE_ARP));
	assert_memory_equal(&eth->dst_addr, eth_dst, RTE_ETHER_ADDR_LEN);
	assert_memory_equal(&eth->src_addr, &p->mac, RTE_ETHER_ADDR_LEN);
	assert_int_equal(a->arp_hardware, RTE_BE16(RTE_ARP_HRD_ETHER));
	assert_int_equal(a->arp_protocol, RTE_BE16(RTE_ETHER_TYPE_IPV4));
	assert_int_equal(a->arp_hlen, 6);
	assert_int_equal(a->arp_plen, 4);
	assert_int_equal(rte_be_to_cpu_16(a->arp_opcode), op);
	assert_memory_equal(&a->arp_data.arp_sha, &p->mac, RTE_ETHER_ADDR_LEN);
	assert_int_equal(a->arp_data.arp_sip, p->addr);
	assert_memory_equal(&a->arp_data.arp_tha, tha, RTE_ETHER_ADDR_LEN);
	assert_int_equal(a->arp_data.arp_tip, rte_cpu_to_be_32(tip));
}

static const struct rte_ether_addr zero_mac;

static void
test_reply_to_request_for_us(void **state)
{
	struct rte_mbuf *out[4];

	(void)state;
	deliver(IN, arp_frame(IN, RTE_ARP_OP_REQUEST, &t_host_mac, T_HOST, T_IN_ADDR, &bcast));
	assert_int_equal(from_control(out, 4), 1);
	assert_arp(out[0], IN, RTE_ARP_OP_REPLY, &t_host_mac, &t_host_mac, T_HOST);
	rte_pktmbuf_free(out[0]);
	/* The asker is learned, so replies to it need no ARP of our own. */
	assert_memory_equal(eph_neigh_lookup(&t_dp.neigh, IN, rte_cpu_to_be_32(T_HOST)),
			    &t_host_mac, RTE_ETHER_ADDR_LEN);
	assert_int_equal(arp.stats.requests_rx, 1);
	assert_int_equal(arp.stats.replies_tx, 1);
}

static void
test_request_for_others_ignored(void **state)
{
	struct rte_mbuf *out[4];

	(void)state;
	/* Asking for the outside address on the inside port is not for us either. */
	deliver(IN, arp_frame(IN, RTE_ARP_OP_REQUEST, &t_host_mac, T_HOST,
			      T_IPV4(192, 0, 2, 99), &bcast));
	deliver(IN, arp_frame(IN, RTE_ARP_OP_REQUEST, &t_host_mac, T_HOST, T_OUT_ADDR, &bcast));
	assert_int_equal(from_control(out, 4), 0);
	assert_null(eph_neigh_lookup(&t_dp.neigh, IN, rte_cpu_to_be_32(T_HOST)));
	assert_int_equal(t_dp.control_stats.drop[EPH_DROP_arp_ignored], 2);
	assert_int_equal(t_dp.neigh.n_entries, 0);
}

static void
test_sender_off_subnet_not_learned(void **state)
{
	struct rte_mbuf *out[4];

	(void)state;
	deliver(IN, arp_frame(IN, RTE_ARP_OP_REQUEST, &other_mac, T_IPV4(10, 9, 9, 9), T_IN_ADDR,
			      &bcast));
	/* Answered (like Linux), but a sender outside 192.0.2.0/24 is not cached. */
	assert_int_equal(from_control(out, 4), 1);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(t_dp.neigh.n_entries, 0);
}

/* A routed packet to an unknown next hop, as the worker hands it up. */
static struct rte_mbuf *
routed_to(uint32_t dst, uint16_t id)
{
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, T_HOST, dst, IPPROTO_UDP, 64, 16);

	t_ip(m)->packet_id = rte_cpu_to_be_16(id);
	t_ip(m)->hdr_checksum = 0;
	t_ip(m)->hdr_checksum = rte_ipv4_cksum(t_ip(m));
	return m;
}

static void
test_resolution_holds_then_releases(void **state)
{
	uint32_t target = T_IPV4(203, 0, 113, 20);
	struct rte_mbuf *out[16];
	unsigned int n;

	(void)state;
	for (uint16_t id = 1; id <= 6; id++)
		deliver(IN, routed_to(target, id));

	/* One broadcast request, not one per packet. */
	n = from_control(out, 16);
	assert_int_equal(n, 1);
	assert_arp(out[0], OUT, RTE_ARP_OP_REQUEST, &bcast, &zero_mac, target);
	rte_pktmbuf_free(out[0]);
	/* Four held (hold-packets), two dropped. */
	assert_int_equal(arp.stats.held, 4);
	assert_int_equal(t_dp.control_stats.drop[EPH_DROP_neigh_hold_full], 2);
	assert_null(eph_neigh_lookup(&t_dp.neigh, OUT, rte_cpu_to_be_32(target)));

	deliver(OUT, arp_frame(OUT, RTE_ARP_OP_REPLY, &other_mac, target, T_OUT_ADDR,
			       &t_dp.ports[OUT].mac));
	n = from_control(out, 16);
	assert_int_equal(n, 4);
	for (unsigned int i = 0; i < n; i++) {
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(out[i], struct rte_ether_hdr *);

		assert_int_equal(out[i]->port, OUT);
		assert_memory_equal(&eth->dst_addr, &other_mac, RTE_ETHER_ADDR_LEN);
		assert_memory_equal(&eth->src_addr, &t_dp.ports[OUT].mac, RTE_ETHER_ADDR_LEN);
		/* In arrival order. */
		assert_int_equal(rte_be_to_cpu_16(t_ip(out[i])->packet_id), i + 1);
	}
	rte_pktmbuf_free_bulk(out, n);
	assert_memory_equal(eph_neigh_lookup(&t_dp.neigh, OUT, rte_cpu_to_be_32(target)),
			    &other_mac, RTE_ETHER_ADDR_LEN);
	assert_int_equal(arp.stats.resolved, 1);
	assert_int_equal(arp.stats.released, 4);
}

static void
test_unanswered_resolution_gives_up(void **state)
{
	uint32_t target = T_IPV4(203, 0, 113, 21);
	struct rte_mbuf *out[16];

	(void)state;
	deliver(IN, routed_to(target, 1));
	deliver(IN, routed_to(target, 2));
	assert_int_equal(from_control(out, 16), 1);
	rte_pktmbuf_free(out[0]);

	/* Not yet due: nothing. */
	now += 999;
	eph_arp_timers(&arp, now);
	assert_int_equal(from_control(out, 16), 0);
	/* Retries at 1 s intervals, up to 3 requests in all. */
	for (int i = 0; i < 2; i++) {
		now += 1000;
		eph_arp_timers(&arp, now);
		assert_int_equal(from_control(out, 16), 1);
		assert_arp(out[0], OUT, RTE_ARP_OP_REQUEST, &bcast, &zero_mac, target);
		rte_pktmbuf_free(out[0]);
	}
	assert_int_equal(t_dp.neigh.n_entries, 1);
	now += 1000;
	eph_arp_timers(&arp, now);
	assert_int_equal(from_control(out, 16), 0);
	assert_int_equal(t_dp.neigh.n_entries, 0);
	assert_int_equal(t_dp.control_stats.drop[EPH_DROP_neigh_unresolved], 2);
	assert_int_equal(arp.stats.requests_tx, 3);
	assert_int_equal(arp.stats.expired, 1);
}

static void
test_stale_entry_probed_then_expired(void **state)
{
	struct rte_mbuf *out[16];

	(void)state;
	deliver(OUT, arp_frame(OUT, RTE_ARP_OP_REQUEST, &t_server_mac, T_SERVER, T_OUT_ADDR,
			       &bcast));
	assert_int_equal(from_control(out, 16), 1);
	rte_pktmbuf_free(out[0]);

	/* Reachable for 30 s: no traffic from the control lcore. */
	now += 29000;
	eph_arp_timers(&arp, now);
	assert_int_equal(from_control(out, 16), 0);

	/* Past it: unicast probes to the MAC we know, while the entry stays usable. */
	now += 2000;
	for (int i = 0; i < 3; i++) {
		eph_arp_timers(&arp, now);
		assert_int_equal(from_control(out, 16), 1);
		assert_arp(out[0], OUT, RTE_ARP_OP_REQUEST, &t_server_mac, &zero_mac, T_SERVER);
		rte_pktmbuf_free(out[0]);
		assert_non_null(eph_neigh_lookup(&t_dp.neigh, OUT, rte_cpu_to_be_32(T_SERVER)));
		now += 1000;
	}
	eph_arp_timers(&arp, now);
	assert_null(eph_neigh_lookup(&t_dp.neigh, OUT, rte_cpu_to_be_32(T_SERVER)));
	assert_int_equal(arp.stats.expired, 1);
}

static void
test_probe_answered_keeps_entry(void **state)
{
	struct rte_mbuf *out[16];

	(void)state;
	deliver(OUT, arp_frame(OUT, RTE_ARP_OP_REQUEST, &t_server_mac, T_SERVER, T_OUT_ADDR,
			       &bcast));
	rte_pktmbuf_free_bulk(out, from_control(out, 16));
	now += 31000;
	eph_arp_timers(&arp, now);
	rte_pktmbuf_free_bulk(out, from_control(out, 16));
	deliver(OUT, arp_frame(OUT, RTE_ARP_OP_REPLY, &t_server_mac, T_SERVER, T_OUT_ADDR,
			       &t_dp.ports[OUT].mac));
	for (int i = 0; i < 10; i++) {
		now += 1000;
		eph_arp_timers(&arp, now);
	}
	assert_int_equal(from_control(out, 16), 0);
	assert_non_null(eph_neigh_lookup(&t_dp.neigh, OUT, rte_cpu_to_be_32(T_SERVER)));
	assert_int_equal(arp.stats.expired, 0);
}

static void
test_mac_change_replaces_entry(void **state)
{
	struct rte_mbuf *out[16];

	(void)state;
	deliver(OUT, arp_frame(OUT, RTE_ARP_OP_REQUEST, &t_server_mac, T_SERVER, T_OUT_ADDR,
			       &bcast));
	rte_pktmbuf_free_bulk(out, from_control(out, 16));
	/* Gratuitous ARP from a replacement box with the same address. */
	deliver(OUT, arp_frame(OUT, RTE_ARP_OP_REQUEST, &other_mac, T_SERVER, T_SERVER, &bcast));
	assert_int_equal(from_control(out, 16), 0);
	assert_memory_equal(eph_neigh_lookup(&t_dp.neigh, OUT, rte_cpu_to_be_32(T_SERVER)),
			    &other_mac, RTE_ETHER_ADDR_LEN);
	assert_int_equal(arp.stats.mac_changes, 1);
	assert_int_equal(t_dp.neigh.n_entries, 1);
}

static void
test_table_full_drops(void **state)
{
	unsigned int saved = t_dp.neigh.max_entries;
	struct rte_mbuf *out[16];

	(void)state;
	t_dp.neigh.max_entries = 1;
	deliver(IN, routed_to(T_IPV4(203, 0, 113, 30), 1));
	deliver(IN, routed_to(T_IPV4(203, 0, 113, 31), 2));
	t_dp.neigh.max_entries = saved;
	assert_int_equal(from_control(out, 16), 1);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(t_dp.neigh.n_entries, 1);
	assert_int_equal(t_dp.control_stats.drop[EPH_DROP_neigh_hold_full], 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reply_to_request_for_us, fresh),
		cmocka_unit_test_setup(test_request_for_others_ignored, fresh),
		cmocka_unit_test_setup(test_sender_off_subnet_not_learned, fresh),
		cmocka_unit_test_setup(test_resolution_holds_then_releases, fresh),
		cmocka_unit_test_setup(test_unanswered_resolution_gives_up, fresh),
		cmocka_unit_test_setup(test_stale_entry_probed_then_expired, fresh),
		cmocka_unit_test_setup(test_probe_answered_keeps_entry, fresh),
		cmocka_unit_test_setup(test_mac_change_replaces_entry, fresh),
		cmocka_unit_test_setup(test_table_full_drops, fresh),
	};

	return cmocka_run_group_tests_name("arp", tests, setup, teardown);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data plane with its mbuf pool drained dry, on real DPDK ports
 * (net_ring): what needs a new buffer (ICMP errors on the worker, ARP
 * requests on the control lcore) is dropped and counted as
 * mbuf_alloc_failed, what is rewritten in place is still forwarded, and
 * everything works again once the buffers come back. The end-to-end
 * counterpart (tests/e2e/test_faults.sh) starves the pool with held packets.
 */
#include <stdlib.h>

#include <rte_arp.h>

#include "control/arp.h"
#include "tests/unit/harness.h"

#define IN    0
#define OUT   1
#define HZ    1000 /* fake clock of the ARP timers: 1 tick = 1 ms */
#define BURST 16

static struct eph_worker *w;
static struct rte_mbuf **taken;
static unsigned int n_taken;

static int
setup(void **state)
{
	(void)state;
	t_start("unit-faults");
	w = t_dp.workers[0];
	t_neigh_add(OUT, T_SERVER, &t_server_mac);
	t_neigh_add(IN, T_HOST, &t_host_mac);
	taken = calloc(t_conf.dataplane.mbufs + 1024, sizeof(*taken));
	assert_non_null(taken);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(taken);
	t_stop();
	return 0;
}

/*
 * Take every mbuf the pool still has (this lcore's cache included: every
 * test call runs on this one lcore). Called again after each packet, since
 * the worker frees what it consumed back into the pool.
 */
static void
pool_drain(void)
{
	struct rte_mbuf *m;

	while ((m = rte_pktmbuf_alloc(t_dp.pool)) != NULL)
		taken[n_taken++] = m;
	assert_int_equal(rte_mempool_avail_count(t_dp.pool), 0);
}

static void
pool_refill(void)
{
	rte_pktmbuf_free_bulk(taken, n_taken);
	n_taken = 0;
}

static void
test_mbufs_exhausted(void **state)
{
	struct rte_mbuf *ttl1[2][BURST], *fwd[BURST], *out[BURST * 2], *up;
	struct eph_conf_arp arp_conf = {
		.reachable_s = 30, .retry_ms = 100, .retries = 3, .hold_packets = 4,
	};
	uint64_t failed0, ttl0, fwd0, arp_failed0;
	struct eph_arp arp;
	uint64_t now = 1000000;
	unsigned int i, n, found;

	(void)state;
	/* Built while there are buffers. */
	for (i = 0; i < BURST; i++) {
		ttl1[0][i] = t_ipv4_packet(&t_host_mac, IN, T_HOST, T_SERVER, IPPROTO_UDP, 1, 30);
		ttl1[1][i] = t_ipv4_packet(&t_host_mac, IN, T_HOST, T_SERVER, IPPROTO_UDP, 1, 30);
		fwd[i] = t_ipv4_packet(&t_host_mac, IN, T_HOST, T_SERVER, IPPROTO_UDP, 64, 30);
	}
	up = t_ipv4_packet(&t_host_mac, IN, T_HOST, T_IPV4(203, 0, 113, 77), IPPROTO_UDP, 64, 30);
	eph_arp_init(&arp, &t_dp, &arp_conf, HZ);
	failed0 = t_drops(EPH_DROP_mbuf_alloc_failed);
	ttl0 = t_drops(EPH_DROP_ttl_exceeded);
	fwd0 = w->stats.forwarded;
	arp_failed0 = t_dp.control_stats.drop[EPH_DROP_mbuf_alloc_failed];

	pool_drain();
	/* No buffer for the ICMP errors: each one counted, none sent. */
	for (i = 0; i < BURST; i++) {
		eph_input_burst(w, IN, &ttl1[0][i], 1);
		pool_drain();
	}
	assert_int_equal(t_sent(IN, out, RTE_DIM(out)), 0);
	assert_int_equal(t_drops(EPH_DROP_ttl_exceeded), ttl0 + BURST);
	assert_int_equal(t_drops(EPH_DROP_mbuf_alloc_failed), failed0 + BURST);
	/* Forwarding rewrites in place: it needs no buffer. */
	eph_input_burst(w, IN, fwd, BURST);
	pool_drain();
	n = t_sent(OUT, out, RTE_DIM(out));
	assert_int_equal(n, BURST);
	assert_int_equal(w->stats.forwarded, fwd0 + BURST);
	rte_pktmbuf_free_bulk(out, n);
	pool_drain();
	/* An unresolved next hop: the worker hands the packet up, the control
	 * lcore holds it and its ARP request finds no buffer. */
	eph_input_burst(w, IN, &up, 1);
	assert_int_equal(rte_ring_dequeue(t_dp.to_control, (void **)&up), 0);
	eph_arp_slow_input(&arp, up, now);
	assert_int_equal(t_dp.control_stats.drop[EPH_DROP_mbuf_alloc_failed], arp_failed0 + 1);
	assert_int_equal(rte_ring_count(w->from_control), 0);

	/* The buffers come back: the errors go out, the retry is sent. */
	pool_refill();
	eph_input_burst(w, IN, ttl1[1], BURST);
	n = t_sent(IN, out, RTE_DIM(out));
	assert_int_equal(n, BURST);
	for (i = 0; i < n; i++)
		assert_int_equal(t_ip(out[i])->next_proto_id, IPPROTO_ICMP);
	rte_pktmbuf_free_bulk(out, n);
	assert_int_equal(t_drops(EPH_DROP_mbuf_alloc_failed), failed0 + BURST + 1);
	eph_arp_timers(&arp, now + arp_conf.retry_ms + 1);
	/* (the harness's neighbours may be probed as well: find ours) */
	n = rte_ring_dequeue_burst(w->from_control, (void **)out, RTE_DIM(out), NULL);
	for (i = 0, found = 0; i < n; i++) {
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(out[i], struct rte_ether_hdr *);
		const struct rte_arp_hdr *a = (const struct rte_arp_hdr *)(eth + 1);

		if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP) &&
		    a->arp_data.arp_tip == rte_cpu_to_be_32(T_IPV4(203, 0, 113, 77)))
			found++;
	}
	rte_pktmbuf_free_bulk(out, n);
	assert_int_equal(found, 1);
	assert_int_equal(t_dp.control_stats.drop[EPH_DROP_mbuf_alloc_failed], arp_failed0 + 1);
	/* Give up on the neighbour: its held packet is dropped, not leaked. */
	eph_arp_timers(&arp, now + 10 * arp_conf.retry_ms);
	eph_arp_timers(&arp, now + 20 * arp_conf.retry_ms);
	while (rte_ring_dequeue(w->from_control, (void **)&out[0]) == 0)
		rte_pktmbuf_free(out[0]);
	assert_int_equal(t_drops(EPH_DROP_neigh_unresolved), 1);
	/* Every buffer is back in the pool. */
	assert_int_equal(rte_mempool_in_use_count(t_dp.pool), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mbufs_exhausted),
	};

	return cmocka_run_group_tests_name("faults", tests, setup, teardown);
}

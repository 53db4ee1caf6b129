/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker lcore loop (after DPDK's l3fwd): poll every port's rx queue of
 * this worker, run the packet path, send what the control lcore queued for
 * us, run the registered per-loop poll, flush buffered tx on a TSC timer,
 * and report RCU quiescence.
 */
#include <errno.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "dataplane/dp.h"

#define FROM_CONTROL_BURST 32

#define MAX_POLLS 4

/* Features' work once per loop (handoff rings, timers), in registration order. dp: ro; cp: set at init. */
static eph_worker_poll_fn polls[MAX_POLLS];
static unsigned int n_polls;

int
eph_worker_poll_register(eph_worker_poll_fn fn)
{
	for (unsigned int i = 0; i < n_polls; i++)
		if (polls[i] == fn)
			return 0;
	if (n_polls == MAX_POLLS)
		return -ENOSPC;
	polls[n_polls++] = fn;
	return 0;
}

void
eph_worker_polls_run(struct eph_worker *w, uint64_t now_tsc)
{
	for (unsigned int i = 0; i < n_polls; i++)
		polls[i](w, now_tsc);
}

/* Packets the control lcore built or released (ARP, held packets): m->port is the port index. */
static void
drain_from_control(struct eph_worker *w)
{
	struct rte_mbuf *pkts[FROM_CONTROL_BURST];
	unsigned int n;

	n = rte_ring_sc_dequeue_burst(w->from_control, (void **)pkts, FROM_CONTROL_BURST, NULL);
	for (unsigned int i = 0; i < n; i++) {
		uint16_t port = pkts[i]->port;

		if (unlikely(port >= w->dp->n_ports)) {
			rte_pktmbuf_free(pkts[i]);
			continue;
		}
		eph_tx(w, port, pkts[i]);
	}
	w->stats.from_control += n;
}

static void
flush_tx(struct eph_worker *w)
{
	const struct eph_dp *dp = w->dp;

	for (unsigned int p = 0; p < dp->n_ports; p++)
		w->stats.port[p].tx +=
			rte_eth_tx_buffer_flush(dp->ports[p].port_id, w->id, w->txb[p]);
}

int
eph_worker_main(void *arg)
{
	struct eph_worker *w = arg;
	struct eph_dp *dp = w->dp;
	struct rte_mbuf *pkts[EPH_MAX_BURST];
	const uint16_t burst = (uint16_t)dp->burst;
	const uint64_t drain_tsc = dp->drain_tsc;
	uint64_t prev_tsc = 0;

	rte_rcu_qsbr_thread_register(dp->rcu, w->id);
	rte_rcu_qsbr_thread_online(dp->rcu, w->id);

	while (!__atomic_load_n(&dp->quit, __ATOMIC_RELAXED)) {
		uint64_t now = rte_rdtsc();
		bool busy = false;

		/* Held until the quiescent report below: the control lcore frees old ones after. */
		w->cfg = __atomic_load_n(&dp->cfg, __ATOMIC_ACQUIRE);

		if (unlikely(now - prev_tsc > drain_tsc)) {
			flush_tx(w);
			prev_tsc = now;
		}
		for (uint16_t p = 0; p < dp->n_ports; p++) {
			uint16_t n = rte_eth_rx_burst(dp->ports[p].port_id, w->id, pkts, burst);

			if (n == 0)
				continue;
			busy = true;
			eph_input_burst(w, p, pkts, n);
		}
		if (unlikely(!rte_ring_empty(w->from_control)))
			drain_from_control(w);
		eph_worker_polls_run(w, now);
		w->stats.polls++;
		w->stats.busy_polls += busy;
		rte_rcu_qsbr_quiescent(dp->rcu, w->id);
	}

	flush_tx(w);
	rte_rcu_qsbr_thread_offline(dp->rcu, w->id);
	rte_rcu_qsbr_thread_unregister(dp->rcu, w->id);
	return 0;
}

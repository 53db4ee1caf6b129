/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAT start-up: pools, the inside-prefix FIB, handoff rings between every
 * pair of workers, and each worker's session table, mappings, host table
 * and one port allocator per pool. Runs before the workers start.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_fib.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_random.h>
#include <rte_ring.h>

#include "dataplane/dp.h"
#include "dataplane/portalloc.h"
#include "dataplane/session.h"

static int
inside_fib_build(struct eph_nat *nat, const struct eph_conf *conf, int socket)
{
	struct rte_fib_conf fc = {
		.type = RTE_FIB_DIR24_8,
		.default_nh = 0,
		.max_routes = 0,
		.dir24_8 = { .nh_sz = RTE_FIB_DIR24_8_1B, .num_tbl8 = 64 }, /* 1-byte hops: < 128 groups */
	};

	for (unsigned int i = 0; i < conf->n_pools; i++)
		fc.max_routes += conf->pools[i].n_inside;
	nat->inside = rte_fib_create("eph_nat_inside", socket, &fc);
	if (nat->inside == NULL)
		return -rte_errno;
	for (unsigned int i = 0; i < conf->n_pools; i++)
		for (unsigned int k = 0; k < conf->pools[i].n_inside; k++) {
			const struct eph_conf_prefix *pf = &conf->pools[i].inside[k];
			int ret = rte_fib_add(nat->inside, pf->addr, pf->len, i + 1);

			if (ret != 0)
				return ret;
		}
	return 0;
}

static int
worker_nat_setup(struct eph_dp *dp, struct eph_worker *w, const struct eph_conf *conf,
		 bool any_eim)
{
	struct eph_nat_worker *nw = &w->nat;
	int socket = (int)rte_lcore_to_socket_id(w->lcore);
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = conf->nat.sessions_per_worker,
		.key_len = sizeof(uint32_t),
		.hash_func = rte_jhash,
		.socket_id = socket,
	};

	snprintf(name, sizeof(name), "eph_sess_%u", w->id);
	nw->sessions = eph_session_table_create(name, conf->nat.sessions_per_worker, socket);
	if (nw->sessions == NULL)
		return -ENOMEM;
	if (any_eim) {
		snprintf(name, sizeof(name), "eph_map_%u", w->id);
		nw->mappings = eph_session_table_create(name, conf->nat.sessions_per_worker, socket);
		if (nw->mappings == NULL)
			return -ENOMEM;
	}
	snprintf(name, sizeof(name), "eph_hosts_%u", w->id);
	nw->max_hosts = conf->nat.sessions_per_worker;
	nw->hosts = rte_hash_create(&hp);
	nw->host = rte_zmalloc_socket("eph_hosts", nw->max_hosts * sizeof(*nw->host), 0, socket);
	if (nw->hosts == NULL || nw->host == NULL)
		return -ENOMEM;

	for (unsigned int i = 0; i < conf->n_pools; i++) {
		const struct eph_conf_pool *cp = &conf->pools[i];
		struct eph_portalloc_conf pc = {
			.port_lo = cp->port_lo,
			.port_hi = cp->port_hi,
			.excluded = cp->excluded,
			.n_excluded = cp->n_excluded,
			.worker = w->id,
			.n_workers = dp->n_workers,
			.quarantine = (uint64_t)cp->quarantine_s * EPH_NAT_TICK_HZ,
			.port_parity = cp->port_parity,
			.max_destinations = conf->nat.destinations_per_worker,
			.secret = { rte_rand(), rte_rand() },
			.socket_id = socket,
			.name = name,
		};

		/*
		 * FIFO memory from the sessions too, not only the destinations:
		 * a worker with many sessions on few destinations ran out of
		 * chunks with ports free. Defaults (262144 sessions, 65536
		 * destinations, one worker): the destinations already cover the
		 * sessions, 139144 chunks of 232 B, 32 MB per worker and pool.
		 */
		pc.max_chunks = eph_portalloc_chunks_for(&pc, conf->nat.sessions_per_worker);
		snprintf(name, sizeof(name), "eph_pa_%u_%u", i, w->id);
		nw->alloc[i] = eph_portalloc_create(&pc);
		nw->ports_in_use[i] = rte_zmalloc_socket("eph_in_use", cp->n_addrs * sizeof(uint64_t),
							 0, socket);
		nw->exhausted[i] = rte_zmalloc_socket("eph_exhausted",
						      cp->n_addrs * sizeof(uint64_t), 0, socket);
		if (nw->alloc[i] == NULL || nw->ports_in_use[i] == NULL || nw->exhausted[i] == NULL)
			return -ENOMEM;
	}
	return 0;
}

int
eph_nat_setup(struct eph_dp *dp, const struct eph_conf *conf, FILE *err)
{
	struct eph_nat *nat = &dp->nat;
	int socket = (int)rte_socket_id();
	bool any_eim = false;
	int ret;

	memset(nat, 0, sizeof(*nat));
	if (conf->n_pools == 0)
		return 0;

	for (unsigned int i = 0; i < conf->n_pools; i++) {
		const struct eph_conf_pool *cp = &conf->pools[i];
		struct eph_nat_pool *p = &nat->pools[i];

		snprintf(p->name, sizeof(p->name), "%s", cp->name);
		p->n_addrs = cp->n_addrs;
		p->addrs = rte_zmalloc_socket("eph_pool_addrs", cp->n_addrs * sizeof(uint32_t), 0,
					      socket);
		if (p->addrs == NULL)
			goto nomem;
		for (unsigned int a = 0; a < cp->n_addrs; a++)
			p->addrs[a] = rte_cpu_to_be_32(cp->addrs[a]);
		p->mapping = (uint8_t)cp->mapping;
		p->filtering = (uint8_t)cp->filtering;
		p->pooling = (uint8_t)cp->pooling;
		p->preservation = cp->port_preservation;
		p->exhaustion_icmp = cp->exhaustion_icmp;
		p->max_per_host = cp->max_sessions_per_host;
		any_eim |= cp->mapping == EPH_MAPPING_ENDPOINT_INDEPENDENT;
		nat->n_pools++;
	}
	nat->timeouts = (struct eph_nat_timeouts){
		.udp = conf->timeouts.udp * EPH_NAT_TICK_HZ,
		.tcp_established = conf->timeouts.tcp_established * EPH_NAT_TICK_HZ,
		.tcp_transitory = conf->timeouts.tcp_transitory * EPH_NAT_TICK_HZ,
		.icmp = conf->timeouts.icmp * EPH_NAT_TICK_HZ,
	};
	nat->secret = (uint32_t)rte_rand();
	nat->tick_tsc = rte_get_tsc_hz() / EPH_NAT_TICK_HZ;
	nat->start_tsc = rte_rdtsc();

	ret = inside_fib_build(nat, conf, socket);
	if (ret != 0) {
		fprintf(err, "ephemera: error: cannot build the NAT inside-prefix table: %s; "
			     "raise eal.memory-mb\n", rte_strerror(-ret));
		return ret;
	}

	nat->handoff = rte_zmalloc_socket("eph_handoff",
					  dp->n_workers * dp->n_workers * sizeof(*nat->handoff), 0,
					  socket);
	if (nat->handoff == NULL)
		goto nomem;
	for (unsigned int from = 0; from < dp->n_workers; from++)
		for (unsigned int to = 0; to < dp->n_workers; to++) {
			char name[RTE_RING_NAMESIZE];

			if (from == to)
				continue;
			snprintf(name, sizeof(name), "eph_ho_%u_%u", from, to);
			nat->handoff[from * dp->n_workers + to] =
				rte_ring_create(name, conf->nat.handoff_ring, socket,
						RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (nat->handoff[from * dp->n_workers + to] == NULL)
				goto nomem;
		}

	for (unsigned int i = 0; i < dp->n_workers; i++) {
		ret = worker_nat_setup(dp, dp->workers[i], conf, any_eim);
		if (ret != 0)
			goto nomem;
	}
	return 0;
nomem:
	fprintf(err, "ephemera: error: out of memory for the NAT tables (%u sessions and %u "
		     "destinations per worker): raise eal.memory-mb or lower "
		     "nat.sessions-per-worker\n", conf->nat.sessions_per_worker,
		conf->nat.destinations_per_worker);
	return -ENOMEM;
}

void
eph_nat_teardown(struct eph_dp *dp)
{
	struct eph_nat *nat = &dp->nat;

	for (unsigned int i = 0; i < dp->n_workers; i++) {
		struct eph_worker *w = dp->workers[i];
		struct eph_nat_worker *nw;

		if (w == NULL)
			continue;
		nw = &w->nat;
		for (unsigned int p = 0; p < EPH_MAX_POOLS; p++) {
			if (nw->alloc[p] != NULL)
				eph_portalloc_free(nw->alloc[p]);
			rte_free(nw->ports_in_use[p]);
			rte_free(nw->exhausted[p]);
		}
		if (nw->sessions != NULL)
			eph_session_table_free(nw->sessions);
		if (nw->mappings != NULL)
			eph_session_table_free(nw->mappings);
		rte_hash_free(nw->hosts);
		rte_free(nw->host);
		memset(nw, 0, sizeof(*nw));
	}
	if (nat->handoff != NULL) {
		for (unsigned int k = 0; k < dp->n_workers * dp->n_workers; k++) {
			struct rte_mbuf *m;

			if (nat->handoff[k] == NULL)
				continue;
			while (rte_ring_dequeue(nat->handoff[k], (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(nat->handoff[k]);
		}
		rte_free(nat->handoff);
	}
	rte_fib_free(nat->inside);
	for (unsigned int i = 0; i < EPH_MAX_POOLS; i++)
		rte_free(nat->pools[i].addrs);
	memset(nat, 0, sizeof(*nat));
}

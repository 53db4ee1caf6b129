/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAT start-up: handoff and loan-return rings between every pair of workers, and each
 * worker's session table, mappings, host table, event rings and control
 * ring. Runs before the workers start; pools, their allocators and the
 * inside-prefix FIB come with configuration snapshots (control/reconfig.c).
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
#include "dataplane/nat/nat_frag.h"
#include "dataplane/nat/nat_ftp.h"
#include "dataplane/nat/natlog.h"
#include "dataplane/ports/portalloc.h"
#include "dataplane/ports/portblock.h"
#include "dataplane/flow/session.h"

#define ALERT_RING 1024 /* occupancy warnings queued per worker */

static int
worker_nat_setup(struct eph_worker *w, const struct eph_conf *conf, bool any_eim)
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
	/* Strangers may open sessions (endpoint-independent filtering), but never fill the table. */
	nw->max_inbound = conf->nat.sessions_per_worker / 4;
	nw->hosts = rte_hash_create(&hp);
	nw->host = rte_zmalloc_socket("eph_hosts", nw->max_hosts * sizeof(*nw->host), 0, socket);
	if (nw->hosts == NULL || nw->host == NULL)
		return -ENOMEM;

	snprintf(name, sizeof(name), "eph_ctl_%u", w->id);
	nw->ctl = rte_ring_create(name, 16, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "eph_log_%u", w->id);
	nw->log = eph_natlog_ring_create(name, conf->nat_log.ring, socket);
	snprintf(name, sizeof(name), "eph_alert_%u", w->id);
	nw->alerts = eph_natlog_ring_create(name, ALERT_RING, socket);
	if (nw->ctl == NULL || nw->log == NULL || nw->alerts == NULL)
		return -ENOMEM;
	{
		struct eph_frag_params fp = {
			.max_datagrams = conf->nat.frag_datagrams,
			.max_held = conf->nat.frag_held,
			.max_held_bytes = conf->nat.frag_held_bytes,
			.timeout_tsc = rte_get_tsc_hz() * conf->nat.frag_timeout_ms / 1000,
		};

		snprintf(name, sizeof(name), "eph_frag_%u", w->id);
		nw->frag = eph_frag_table_create(name, &fp, socket);
		if (nw->frag == NULL)
			return -ENOMEM;
	}
	snprintf(name, sizeof(name), "eph_ftp_%u", w->id);
	nw->ftp = eph_ftp_table_create(name, socket);
	if (nw->ftp == NULL)
		return -ENOMEM;
	nw->lent_to = rte_zmalloc_socket("eph_lent_to", w->dp->n_workers * sizeof(*nw->lent_to), 0,
					 socket);
	if (nw->lent_to == NULL)
		return -ENOMEM;
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
	eph_nat_register();
	if (conf->n_pools == 0 && conf->n_vips == 0)
		return 0;

	for (unsigned int i = 0; i < conf->n_pools; i++)
		any_eim |= conf->pools[i].mapping == EPH_MAPPING_ENDPOINT_INDEPENDENT;
	nat->enabled = true;
	nat->secret = (uint32_t)rte_rand();
	nat->cookie_key[0] = (uint32_t)rte_rand();
	nat->cookie_key[1] = (uint32_t)rte_rand();
	nat->tick_tsc = rte_get_tsc_hz() / EPH_NAT_TICK_HZ;
	nat->start_tsc = rte_rdtsc();

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
	nat->loans = rte_zmalloc_socket("eph_loans",
					dp->n_workers * dp->n_workers * sizeof(*nat->loans), 0, socket);
	if (nat->loans == NULL)
		goto nomem;
	for (unsigned int from = 0; from < dp->n_workers; from++)
		for (unsigned int to = 0; to < dp->n_workers; to++) {
			char name[RTE_RING_NAMESIZE];

			if (from == to)
				continue;
			snprintf(name, sizeof(name), "eph_ln_%u_%u", from, to);
			nat->loans[from * dp->n_workers + to] = rte_ring_create_elem(
				name, sizeof(struct eph_nat_loan_return), EPH_NAT_LOAN_RING, socket,
				RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (nat->loans[from * dp->n_workers + to] == NULL)
				goto nomem;
		}

	for (unsigned int i = 0; i < dp->n_workers; i++) {
		ret = worker_nat_setup(dp->workers[i], conf, any_eim);
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
			for (unsigned int g = 0; g < EPH_PA_GENS; g++) {
				if (nw->alloc[p][g] != NULL)
					eph_portalloc_free(nw->alloc[p][g]);
				if (nw->blocks[p][g] != NULL)
					eph_portblock_free(nw->blocks[p][g]);
			}
			rte_free(nw->ports_in_use[p]);
			rte_free(nw->exhausted[p]);
			rte_free(nw->occupancy_warnings[p]);
		}
		if (nw->ctl != NULL)
			rte_ring_free(nw->ctl);
		eph_natlog_ring_free(nw->log);
		eph_natlog_ring_free(nw->alerts);
		if (nw->sessions != NULL)
			eph_session_table_free(nw->sessions);
		if (nw->mappings != NULL)
			eph_session_table_free(nw->mappings);
		rte_hash_free(nw->hosts);
		rte_free(nw->host);
		rte_free(nw->lent_to);
		eph_frag_table_free(nw->frag);
		eph_ftp_table_free(nw->ftp);
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
	if (nat->loans != NULL) {
		for (unsigned int k = 0; k < dp->n_workers * dp->n_workers; k++)
			rte_ring_free(nat->loans[k]);
		rte_free(nat->loans);
	}
	memset(nat, 0, sizeof(*nat));
}

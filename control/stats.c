/* SPDX-License-Identifier: BSD-3-Clause */
/* Counter totals and the human-readable report (see stats.h). */
#include <arpa/inet.h>
#include <inttypes.h>
#include <assert.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_hash.h>

#include "control/reconfig.h"
#include "control/stats.h"
#include "dataplane/flow/session.h"
#include "dataplane/nat/natlog.h"
#include "dataplane/ports/portalloc.h"

static void
counters_add(struct eph_counters *t, const struct eph_counters *c)
{
	t->rx += c->rx;
	t->forwarded += c->forwarded;
	t->echo_replies += c->echo_replies;
	t->icmp_errors_sent += c->icmp_errors_sent;
	t->icmp_errors_suppressed += c->icmp_errors_suppressed;
	t->to_control += c->to_control;
	t->from_control += c->from_control;
	t->polls += c->polls;
	t->busy_polls += c->busy_polls;
	t->mss_clamped += c->mss_clamped;
	t->mss_bad_options += c->mss_bad_options;
	t->fragmented += c->fragmented;
	t->fragments_sent += c->fragments_sent;
	for (unsigned int p = 0; p < EPH_MAX_PORTS; p++) {
		t->port[p].rx += c->port[p].rx;
		t->port[p].tx += c->port[p].tx;
		t->port[p].to_kernel += c->port[p].to_kernel;
		t->port[p].from_kernel += c->port[p].from_kernel;
	}
	for (unsigned int i = 0; i < EPH_DROP_MAX; i++)
		t->drop[i] += c->drop[i];
}

void
eph_stats_total(const struct eph_dp *dp, struct eph_counters *total)
{
	memset(total, 0, sizeof(*total));
	for (unsigned int i = 0; i < dp->n_workers; i++)
		counters_add(total, &dp->workers[i]->stats);
	/* Packets the control lcore sends or receives are counted by workers: add its drops. */
	for (unsigned int i = 0; i < EPH_DROP_MAX; i++)
		total->drop[i] += dp->control_stats.drop[i];
}

void
eph_stats_pool_addr(const struct eph_dp *dp, unsigned int pool, unsigned int slot,
		    struct eph_pool_addr_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < dp->n_workers; i++) {
		const struct eph_nat_worker *nw = &dp->workers[i]->nat;

		if (nw->ports_in_use[pool] == NULL)
			continue;
		st->in_use += __atomic_load_n(&nw->ports_in_use[pool][slot], __ATOMIC_RELAXED);
		st->exhausted += __atomic_load_n(&nw->exhausted[pool][slot], __ATOMIC_RELAXED);
		st->warnings +=
			__atomic_load_n(&nw->occupancy_warnings[pool][slot], __ATOMIC_RELAXED);
	}
}

void
eph_stats_nat_worker(const struct eph_dp *dp, const struct eph_dp_cfg *cfg, unsigned int w,
		     struct eph_nat_worker_stats *st)
{
	const struct eph_nat_worker *nw = &dp->workers[w]->nat;

	memset(st, 0, sizeof(*st));
	if (!dp->nat.enabled)
		return; /* no NAT tables */
	st->sessions = eph_nat_session_count(nw);
	st->mappings = eph_nat_mapping_count(nw);
	st->hosts = nw->hosts != NULL ? (uint64_t)rte_hash_count(nw->hosts) : 0;
	st->inbound = nw->inbound;
	for (unsigned int b = 0; b < dp->n_workers; b++)
		st->ports_on_loan += __atomic_load_n(&nw->lent_to[b], __ATOMIC_RELAXED);
	st->borrowed_live = __atomic_load_n(&nw->borrowed_live, __ATOMIC_RELAXED);
	for (unsigned int s = 0; s < EPH_TCP_N_STATES; s++)
		st->sessions_tcp[s] = nw->sessions_tcp[s];
	st->sessions_udp = nw->sessions_udp;
	st->sessions_icmp = nw->sessions_icmp;
	for (unsigned int c = 0; c < EPH_NAT_CTR_MAX; c++)
		st->ctr[c] = nw->ctr[c];
	st->log_lost = nw->log != NULL ? eph_natlog_ring_lost(nw->log) : 0;
	st->alerts_suppressed = nw->alerts_suppressed;
	for (unsigned int p = 0; cfg != NULL && p < cfg->nat.n_slots; p++)
		for (unsigned int g = 0; g < EPH_PA_GENS; g++) {
			const struct eph_portalloc_stats *a;

			if (!(cfg->nat.pools[p].gens & (1u << g)))
				continue;
			a = eph_portalloc_stats(nw->alloc[p][g]);
			st->alloc_exhausted += a->exhausted;
			st->alloc_no_memory += a->no_destination + a->no_chunk;
			st->alloc_lost += a->lost;
			st->alloc_bad_release += a->bad_release;
			st->destinations += a->destinations;
			st->alloc_chunks_in_use += a->chunks_in_use;
		}
}

void
eph_stats_nat_total(const struct eph_dp *dp, const struct eph_dp_cfg *cfg,
		    struct eph_nat_worker_stats *st)
{
	uint64_t *sum = (uint64_t *)st;

	static_assert(sizeof(*st) % sizeof(uint64_t) == 0, "only uint64_t fields");
	memset(st, 0, sizeof(*st));
	for (unsigned int w = 0; w < dp->n_workers; w++) {
		struct eph_nat_worker_stats one;
		const uint64_t *add = (const uint64_t *)&one;

		eph_stats_nat_worker(dp, cfg, w, &one);
		for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
			sum[i] += add[i];
	}
}

unsigned int
eph_stats_nat_top(const struct eph_dp *dp, unsigned int w,
		  struct eph_nat_top_entry out[EPH_NAT_TOP_N])
{
	return eph_nat_top_read(&dp->workers[w]->nat, out);
}

void
eph_stats_nat_refusals(const struct eph_dp *dp, unsigned int w, struct eph_nat_refusals *out)
{
	eph_nat_refusals_read(&dp->workers[w]->nat, out);
}

const char *
eph_ip_str(uint32_t ip_be, char *buf, size_t len)
{
	struct in_addr a = { .s_addr = ip_be };

	return inet_ntop(AF_INET, &a, buf, (socklen_t)len);
}

void
eph_stats_print(FILE *f, const struct eph_dp *dp, const struct eph_arp *arp)
{
	struct eph_counters t;
	char ip[INET_ADDRSTRLEN];

	eph_stats_total(dp, &t);
	fprintf(f, "%-10s %-8s %-18s %12s %12s %10s %10s %10s\n", "port", "role", "address", "rx",
		"tx", "hw-missed", "hw-ierr", "hw-oerr");
	for (unsigned int i = 0; i < dp->n_ports; i++) {
		const struct eph_port *p = &dp->ports[i];
		struct rte_eth_stats hw;
		char addr[32];

		memset(&hw, 0, sizeof(hw));
		rte_eth_stats_get(p->port_id, &hw);
		snprintf(addr, sizeof(addr), "%s/%d", eph_ip_str(p->addr, ip, sizeof(ip)),
			 __builtin_popcount(p->mask));
		fprintf(f, "%-10s %-8s %-18s %12" PRIu64 " %12" PRIu64 " %10" PRIu64 " %10" PRIu64
			   " %10" PRIu64 "\n", p->name, eph_port_role_name(p->role), addr,
			t.port[i].rx, t.port[i].tx, hw.imissed, hw.ierrors, hw.oerrors);
	}
	fprintf(f, "\n%-10s %6s %12s %12s %12s %12s %12s\n", "worker", "lcore", "rx", "tx",
		"forwarded", "drops", "to-control");
	for (unsigned int i = 0; i < dp->n_workers; i++) {
		const struct eph_worker *w = dp->workers[i];
		fprintf(f, "%-10u %6u %12" PRIu64 " %12" PRIu64 " %12" PRIu64 " %12" PRIu64
			   " %12" PRIu64 "\n", w->id, w->lcore, w->stats.rx, eph_counters_tx(&w->stats), w->stats.forwarded,
			eph_counters_drops(&w->stats), w->stats.to_control);
	}
	if (arp != NULL)
		fprintf(f, "\narp: requests rx %" PRIu64 " tx %" PRIu64 ", replies rx %" PRIu64
			   " tx %" PRIu64 ", resolved %" PRIu64 ", expired %" PRIu64
			   ", held %" PRIu64 ", released %" PRIu64 "\n", arp->stats.requests_rx,
			arp->stats.requests_tx, arp->stats.replies_rx, arp->stats.replies_tx,
			arp->stats.resolved, arp->stats.expired, arp->stats.held,
			arp->stats.released);
	fprintf(f, "icmp: echo replies %" PRIu64 ", errors sent %" PRIu64 ", rate-limited %" PRIu64
		   "\n", t.echo_replies, t.icmp_errors_sent, t.icmp_errors_suppressed);
	if (dp->nat.enabled && dp->cfg != NULL) {
		const struct eph_nat_cfg *cfg = &dp->cfg->nat;
		struct eph_nat_worker_stats nt;
		const uint64_t *ctr = nt.ctr;
		uint64_t sessions;

		eph_stats_nat_total(dp, NULL, &nt);
		sessions = nt.sessions;
		fprintf(f, "nat: sessions %" PRIu64 ", created %" PRIu64 ", expired %" PRIu64
			   ", in2out %" PRIu64 ", out2in %" PRIu64 ", handoffs %" PRIu64 "\n",
			sessions, ctr[EPH_NAT_sessions_created], ctr[EPH_NAT_sessions_expired],
			ctr[EPH_NAT_in2out], ctr[EPH_NAT_out2in], ctr[EPH_NAT_handoff_out]);
		for (unsigned int p = 0; p < cfg->n_slots; p++) {
			const struct eph_nat_pool *pool = &cfg->pools[p];

			for (unsigned int a = 0; a < pool->n_all; a++) {
				struct eph_pool_addr_stats st;

				eph_stats_pool_addr(dp, p, pool->all[a].slot, &st);
				if (st.in_use != 0)
					fprintf(f, "nat: pool %s address %s: %" PRIu64 " ports in use\n",
						pool->name,
						eph_ip_str(pool->all[a].addr, ip, sizeof(ip)), st.in_use);
			}
		}
	}
	fprintf(f, "\n%-24s %12s  %s\n", "drop reason", "packets", "meaning");
	for (unsigned int i = 0; i < EPH_DROP_MAX; i++)
		if (t.drop[i] != 0)
			fprintf(f, "%-24s %12" PRIu64 "  %s\n", eph_drop_names[i], t.drop[i],
				eph_drop_descs[i]);
	fprintf(f, "%-24s %12" PRIu64 "\n", "total", eph_counters_drops(&t));
}

/* ---- the balancer ------------------------------------------------------ */

void
eph_stats_lb_total(const struct eph_dp *dp, struct eph_lb_totals *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < dp->n_workers; i++) {
		const struct eph_lb_worker *lw = dp->workers[i]->lb;

		if (lw == NULL)
			continue;
		st->connections += eph_lb_connection_count(lw);
		st->connections_tcp += __atomic_load_n(&lw->conns_tcp, __ATOMIC_RELAXED);
		st->connections_udp += __atomic_load_n(&lw->conns_udp, __ATOMIC_RELAXED);
		for (unsigned int c = 0; c < EPH_LB_CTR_MAX; c++)
			st->ctr[c] += __atomic_load_n(&lw->ctr[c], __ATOMIC_RELAXED);
		st->table_max = lw->conns->max;
		st->bytes += eph_session_table_bytes(lw->conns);
		if (lw->ext != NULL)
			st->bytes += (uint64_t)lw->conns->max * sizeof(*lw->ext);
	}
}

void
eph_stats_lb_vip(const struct eph_dp *dp, const struct eph_lb_vip *v, struct eph_lb_vip_totals *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < dp->n_workers; i++) {
		const struct eph_lb_worker *lw = dp->workers[i]->lb;
		const struct eph_lb_vip_stats *vs;

		if (lw == NULL)
			continue;
		vs = &lw->vip[v->slot];
		st->active += __atomic_load_n(&vs->active, __ATOMIC_RELAXED);
		st->total += __atomic_load_n(&vs->total, __ATOMIC_RELAXED);
		st->no_backend += __atomic_load_n(&vs->no_backend, __ATOMIC_RELAXED);
		st->over_limit += __atomic_load_n(&vs->over_limit, __ATOMIC_RELAXED);
		st->no_port += __atomic_load_n(&vs->no_port, __ATOMIC_RELAXED);
		st->half_open += __atomic_load_n(&vs->half_open, __ATOMIC_RELAXED);
		st->half_open_replaced += __atomic_load_n(&vs->half_open_replaced, __ATOMIC_RELAXED);
		st->rate_limited += __atomic_load_n(&vs->rate_limited, __ATOMIC_RELAXED);
	}
	for (unsigned int b = 0; b < v->n_backends; b++) {
		if (v->backends[b].state == EPH_LB_BACKEND_REMOVED) {
			st->removed++;
			continue;
		}
		st->backends++;
		st->up += v->backends[b].weight != 0;
	}
}

void
eph_stats_lb_backend(const struct eph_dp *dp, const struct eph_lb_vip *v,
		     const struct eph_lb_backend *b, struct eph_lb_backend_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < dp->n_workers; i++) {
		const struct eph_lb_worker *lw = dp->workers[i]->lb;
		const struct eph_lb_backend_stats *bs;

		if (lw == NULL || lw->backend[v->slot] == NULL)
			continue;
		bs = &lw->backend[v->slot][b->slot];
		st->active += __atomic_load_n(&bs->active, __ATOMIC_RELAXED);
		st->total += __atomic_load_n(&bs->total, __ATOMIC_RELAXED);
		st->pkts_to += __atomic_load_n(&bs->pkts_to, __ATOMIC_RELAXED);
		st->bytes_to += __atomic_load_n(&bs->bytes_to, __ATOMIC_RELAXED);
		st->pkts_from += __atomic_load_n(&bs->pkts_from, __ATOMIC_RELAXED);
		st->bytes_from += __atomic_load_n(&bs->bytes_from, __ATOMIC_RELAXED);
		st->over_limit += __atomic_load_n(&bs->over_limit, __ATOMIC_RELAXED);
		st->no_port += __atomic_load_n(&bs->no_port, __ATOMIC_RELAXED);
		st->connect_failures += __atomic_load_n(&bs->connect_failures, __ATOMIC_RELAXED);
	}
}

const char *
eph_lb_backend_state_name(const struct eph_lb_backend *b)
{
	if (b->state == EPH_LB_BACKEND_REMOVED)
		return "removed";
	if (b->state == EPH_LB_BACKEND_DOWN)
		return "down";
	return b->weight == 0 ? "draining" : "active";
}

void
eph_stats_lb_health(const struct eph_dp *dp, const struct eph_lb_vip *v,
		    const struct eph_lb_backend *b, struct eph_health_status *hs)
{
	struct eph_health *h = dp->rc != NULL ? dp->rc->health : NULL;

	if (h == NULL || eph_health_status(h, v->name, rte_be_to_cpu_32(b->addr),
					   rte_be_to_cpu_16(b->port), hs) != 0) {
		memset(hs, 0, sizeof(*hs));
		hs->up = b->state != EPH_LB_BACKEND_DOWN;
	}
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The balancer on the control lcore (see lb_setup.h): connection tables,
 * slots, and the snapshot part with its Maglev tables, which workers only
 * ever see whole (RCU, like the rest of the snapshot).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "control/health.h"
#include "control/lb_setup.h"
#include "control/log.h"
#include "dataplane/flow/session.h"
#include "dataplane/lb/maglev.h"

/* The SYN flood guards' per-worker part: the half-open lists' links, empty lists. */
static int
half_open_setup(struct eph_lb_worker *lw, int socket)
{
	lw->half_open_link = rte_malloc_socket(
		"eph_lb_half_open", 2 * (size_t)lw->conns->max * sizeof(uint32_t), 0, socket);
	if (lw->half_open_link == NULL)
		return -ENOMEM;
	for (unsigned int v = 0; v < EPH_MAX_VIPS; v++) {
		lw->half_open_head[v] = EPH_SESSION_NIL;
		lw->half_open_tail[v] = EPH_SESSION_NIL;
	}
	return 0;
}

int
eph_lb_setup(struct eph_dp *dp, const struct eph_conf *conf, FILE *err)
{
	eph_lb_register();
	if (!dp->nat.enabled)
		return 0; /* the balancer rides on the NAT's rings, clock and ports */
	for (unsigned int i = 0; i < dp->n_workers; i++) {
		struct eph_worker *w = dp->workers[i];
		int socket = (int)rte_lcore_to_socket_id(w->lcore);
		char name[32];

		w->lb = rte_zmalloc_socket("eph_lb", sizeof(*w->lb), RTE_CACHE_LINE_SIZE, socket);
		if (w->lb == NULL)
			goto nomem;
		snprintf(name, sizeof(name), "eph_lb_%u", w->id);
		w->lb->conns = eph_session_table_create(name, conf->nat.sessions_per_worker, socket);
		if (w->lb->conns == NULL)
			goto nomem;
		/* One hash of a packet's 5-tuple, made at input, serves both tables. */
		(void)eph_session_table_four_way(w->lb->conns, w->nat.sessions);
		if (half_open_setup(w->lb, socket) != 0)
			goto nomem;
	}
	return 0;
nomem:
	fprintf(err, "ephemera: error: no memory for the balancer's connection tables (%u per "
		     "worker); raise eal.memory-mb or lower nat.sessions-per-worker\n",
		conf->nat.sessions_per_worker);
	eph_lb_teardown(dp);
	return -ENOMEM;
}

void
eph_lb_teardown(struct eph_dp *dp)
{
	for (unsigned int i = 0; i < dp->n_workers; i++) {
		struct eph_worker *w = dp->workers[i];

		if (w == NULL || w->lb == NULL)
			continue;
		/* SYN proxy: client segments still waiting for their backend. */
		for (uint32_t k = 0; w->lb->ext != NULL && k < w->lb->conns->max; k++)
			rte_pktmbuf_free(w->lb->ext[k].held);
		eph_session_table_free(w->lb->conns);
		rte_free(w->lb->ext);
		rte_free(w->lb->half_open_link);
		for (unsigned int v = 0; v < EPH_MAX_VIPS; v++)
			rte_free(w->lb->backend[v]);
		rte_free(w->lb);
		w->lb = NULL;
	}
}

uint64_t
eph_lb_active(const struct eph_dp *dp, unsigned int v, int b)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < dp->n_workers; i++) {
		const struct eph_lb_worker *lw = dp->workers[i]->lb;

		if (lw == NULL)
			continue;
		if (b < 0)
			sum += __atomic_load_n(&lw->vip[v].active, __ATOMIC_RELAXED);
		else if (lw->backend[v] != NULL)
			sum += __atomic_load_n(&lw->backend[v][b].active, __ATOMIC_RELAXED);
	}
	return sum;
}

/* ---- slots --------------------------------------------------------------- */

static int
vip_slot_of(const struct eph_lb_slots *s, const char *name)
{
	for (unsigned int i = 0; i < EPH_MAX_VIPS; i++)
		if (s->vip[i].state != EPH_LB_BACKEND_FREE && strcmp(s->vip[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
free_vip_slot(const struct eph_lb_slots *s)
{
	for (unsigned int i = 0; i < EPH_MAX_VIPS; i++)
		if (s->vip[i].state == EPH_LB_BACKEND_FREE)
			return (int)i;
	return -1;
}

static int
backend_slot_of(const struct eph_lb_slot_vip *v, uint32_t addr, uint16_t port)
{
	for (unsigned int i = 0; i < EPH_MAX_VIP_BACKENDS; i++)
		if (v->b[i].state != EPH_LB_BACKEND_FREE && v->b[i].addr == addr &&
		    v->b[i].port == port)
			return (int)i;
	return -1;
}

/* The slots of VIP slot vi under its configuration cv (NULL: removed). */
static int
plan_backends(const struct eph_dp *dp, struct eph_lb_slot_vip *sv, unsigned int vi,
	      const struct eph_conf_vip *cv, FILE *err)
{
	unsigned int next_free = 0;

	for (unsigned int i = 0; i < EPH_MAX_VIP_BACKENDS; i++) {
		struct eph_lb_slot_backend *b = &sv->b[i];
		bool kept = false;

		b->fresh = false;
		if (b->state == EPH_LB_BACKEND_FREE)
			continue;
		for (unsigned int k = 0; cv != NULL && k < cv->n_backends && !kept; k++)
			kept = cv->backends[k].addr == b->addr && cv->backends[k].port == b->port;
		if (kept)
			b->state = EPH_LB_BACKEND_ACTIVE;
		else if (eph_lb_active(dp, vi, (int)i) != 0)
			b->state = EPH_LB_BACKEND_REMOVED;
		else
			b->state = EPH_LB_BACKEND_FREE;
	}
	for (unsigned int k = 0; cv != NULL && k < cv->n_backends; k++) {
		const struct eph_conf_backend *cb = &cv->backends[k];

		if (backend_slot_of(sv, cb->addr, cb->port) >= 0)
			continue;
		while (next_free < EPH_MAX_VIP_BACKENDS &&
		       sv->b[next_free].state != EPH_LB_BACKEND_FREE)
			next_free++;
		if (next_free == EPH_MAX_VIP_BACKENDS) {
			fprintf(err, "error: vips[%s].backends: %u backends plus those removed and "
				     "still draining exceed %u; wait for them to drain\n",
				cv->name, cv->n_backends, EPH_MAX_VIP_BACKENDS);
			return -ENOSPC;
		}
		sv->b[next_free] = (struct eph_lb_slot_backend){
			.addr = cb->addr, .port = cb->port, .state = EPH_LB_BACKEND_ACTIVE,
			.fresh = true,
		};
	}
	return 0;
}

struct eph_lb_slots *
eph_lb_slots_plan(const struct eph_dp *dp, const struct eph_lb_slots *cur,
		  const struct eph_conf *conf, FILE *err)
{
	struct eph_lb_slots *s = malloc(sizeof(*s));

	if (s == NULL) {
		fprintf(err, "error: out of memory\n");
		return NULL;
	}
	if (cur != NULL)
		memcpy(s, cur, sizeof(*s));
	else
		memset(s, 0, sizeof(*s));
	for (unsigned int i = 0; i < EPH_MAX_VIPS; i++) {
		struct eph_lb_slot_vip *sv = &s->vip[i];
		const struct eph_conf_vip *cv = NULL;

		sv->fresh = false;
		if (sv->state == EPH_LB_BACKEND_FREE)
			continue;
		for (unsigned int k = 0; k < conf->n_vips && cv == NULL; k++)
			if (strcmp(conf->vips[k].name, sv->name) == 0)
				cv = &conf->vips[k];
		if (cv == NULL) {
			sv->state = eph_lb_active(dp, i, -1) != 0 ? EPH_LB_BACKEND_REMOVED
								  : EPH_LB_BACKEND_FREE;
			if (sv->state == EPH_LB_BACKEND_FREE)
				memset(sv, 0, sizeof(*sv));
			else
				(void)plan_backends(dp, sv, i, NULL, err);
		}
	}
	for (unsigned int k = 0; k < conf->n_vips; k++) {
		const struct eph_conf_vip *cv = &conf->vips[k];
		int vi = vip_slot_of(s, cv->name);

		if (vi < 0) {
			vi = free_vip_slot(s);
			if (vi < 0) {
				fprintf(err, "error: vips[%s]: %u VIPs plus those removed and still "
					     "draining exceed %u; wait for them to drain\n",
					cv->name, conf->n_vips, EPH_MAX_VIPS);
				free(s);
				return NULL;
			}
			memset(&s->vip[vi], 0, sizeof(s->vip[vi]));
			snprintf(s->vip[vi].name, sizeof(s->vip[vi].name), "%s", cv->name);
			s->vip[vi].fresh = true;
		}
		s->vip[vi].state = EPH_LB_BACKEND_ACTIVE;
		s->vip[vi].on_remove = (uint8_t)cv->on_remove;
		if (plan_backends(dp, &s->vip[vi], (unsigned int)vi, cv, err) != 0) {
			free(s);
			return NULL;
		}
	}
	return s;
}

struct eph_lb_slots *
eph_lb_slots_release(const struct eph_dp *dp, const struct eph_lb_slots *cur)
{
	struct eph_lb_slots *s;
	bool any = false;

	if (cur == NULL)
		return NULL;
	for (unsigned int i = 0; i < EPH_MAX_VIPS && !any; i++) {
		const struct eph_lb_slot_vip *sv = &cur->vip[i];

		if (sv->state == EPH_LB_BACKEND_REMOVED && eph_lb_active(dp, i, -1) == 0)
			any = true;
		for (unsigned int b = 0; b < EPH_MAX_VIP_BACKENDS && !any; b++)
			any = sv->b[b].state == EPH_LB_BACKEND_REMOVED &&
			      eph_lb_active(dp, i, (int)b) == 0;
	}
	if (!any || (s = malloc(sizeof(*s))) == NULL)
		return NULL;
	memcpy(s, cur, sizeof(*s));
	for (unsigned int i = 0; i < EPH_MAX_VIPS; i++) {
		struct eph_lb_slot_vip *sv = &s->vip[i];

		sv->fresh = false;
		if (sv->state == EPH_LB_BACKEND_REMOVED && eph_lb_active(dp, i, -1) == 0) {
			EPH_LOG(NOTICE, "vip %s: removed, its connections drained", sv->name);
			memset(sv, 0, sizeof(*sv));
			continue;
		}
		for (unsigned int b = 0; b < EPH_MAX_VIP_BACKENDS; b++) {
			sv->b[b].fresh = false;
			if (sv->b[b].state == EPH_LB_BACKEND_REMOVED &&
			    eph_lb_active(dp, i, (int)b) == 0)
				sv->b[b].state = EPH_LB_BACKEND_FREE;
		}
	}
	return s;
}

void
eph_lb_slots_settle(struct eph_lb_slots *slots)
{
	for (unsigned int i = 0; i < EPH_MAX_VIPS; i++) {
		slots->vip[i].fresh = false;
		for (unsigned int b = 0; b < EPH_MAX_VIP_BACKENDS; b++)
			slots->vip[i].b[b].fresh = false;
	}
}

/* ---- the snapshot part ------------------------------------------------- */

void
eph_lb_cfg_free(struct eph_lb_cfg *cfg)
{
	if (cfg == NULL)
		return;
	for (unsigned int i = 0; i < cfg->n_vips; i++) {
		rte_free(cfg->vips[i].maglev);
		rte_free(cfg->vips[i].backends);
		rte_free(cfg->vips[i].by_slot);
	}
	rte_free(cfg);
}

/* Counters of a slot start from zero when it is newly given out (no connection names it). */
static int
stats_prepare(struct eph_dp *dp, unsigned int v, const struct eph_lb_slot_vip *sv)
{
	for (unsigned int i = 0; i < dp->n_workers; i++) {
		struct eph_lb_worker *lw = dp->workers[i]->lb;

		if (lw == NULL)
			continue;
		if (lw->backend[v] == NULL) {
			lw->backend[v] = rte_zmalloc_socket(
				"eph_lb_bstats", EPH_MAX_VIP_BACKENDS * sizeof(*lw->backend[v]),
				RTE_CACHE_LINE_SIZE, (int)rte_lcore_to_socket_id(dp->workers[i]->lcore));
			if (lw->backend[v] == NULL)
				return -ENOMEM;
		}
		if (sv->fresh)
			memset(&lw->vip[v], 0, sizeof(lw->vip[v]));
		for (unsigned int b = 0; b < EPH_MAX_VIP_BACKENDS; b++)
			if (sv->b[b].fresh)
				memset(&lw->backend[v][b], 0, sizeof(lw->backend[v][b]));
	}
	return 0;
}

/*
 * The side array of every worker, once some VIP needs it: allocated before
 * the snapshot that enables such a VIP is published, kept until teardown
 * (a record's flag, not the snapshot, says whether a connection uses it).
 */
static int
ext_prepare(struct eph_dp *dp)
{
	for (unsigned int i = 0; i < dp->n_workers; i++) {
		struct eph_lb_worker *lw = dp->workers[i]->lb;

		if (lw == NULL || lw->ext != NULL)
			continue;
		lw->ext = rte_zmalloc_socket("eph_lb_ext",
					     (size_t)lw->conns->max * sizeof(*lw->ext),
					     RTE_CACHE_LINE_SIZE,
					     (int)rte_lcore_to_socket_id(dp->workers[i]->lcore));
		if (lw->ext == NULL)
			return -ENOMEM;
	}
	return 0;
}

/* A per-worker share of a limit: rounded up, so that the workers together allow at least it. */
static uint32_t
per_worker(unsigned int limit, unsigned int n_workers)
{
	return limit == 0 ? 0 : (uint32_t)((limit + n_workers - 1) / n_workers);
}

/* Share of a worker's table a VIP's half-open connections may hold when the VIP does not say. */
#define HALF_OPEN_SHARE 16

/*
 * The SYN flood guards of VIP v: this worker's half-open bound (the VIP's,
 * or 1/HALF_OPEN_SHARE of the connection table) and its share of
 * new-connections-per-s as a bucket of one second.
 */
static void
vip_flood_guards(const struct eph_dp *dp, struct eph_lb_vip *v, const struct eph_conf_vip *cv,
		 const struct eph_conf *conf)
{
	uint32_t table = conf->nat.sessions_per_worker;
	uint32_t share = per_worker(cv->new_connections_per_s, dp->n_workers);

	for (unsigned int i = 0; i < dp->n_workers; i++)
		if (dp->workers[i]->lb != NULL)
			table = dp->workers[i]->lb->conns->max; /* the table's, restart-only */
	v->max_half_open = cv->half_open_per_worker != 0 ? cv->half_open_per_worker
							 : RTE_MAX(table / HALF_OPEN_SHARE, 1u);
	v->rate_cost = 0;
	v->rate_burst = 0;
	if (share != 0) {
		v->rate_cost = RTE_MAX(dp->tsc_hz / share, (uint64_t)1);
		v->rate_burst = v->rate_cost * share;
	}
}

static int
vip_build(struct eph_dp *dp, struct eph_lb_vip *v, unsigned int slot,
	  const struct eph_lb_slot_vip *sv, const struct eph_conf_vip *cv, int pool,
	  struct eph_health *health, int socket)
{
	struct eph_maglev_backend mb[EPH_MAX_VIP_BACKENDS];
	unsigned int n = 0, n_removed = 0;

	for (unsigned int b = 0; b < EPH_MAX_VIP_BACKENDS; b++)
		n_removed += sv->b[b].state == EPH_LB_BACKEND_REMOVED;
	*v = (struct eph_lb_vip){
		.addr = rte_cpu_to_be_32(cv->addr),
		.port = rte_cpu_to_be_16(cv->port),
		.proto = cv->proto,
		.slot = (uint8_t)slot,
		.forwarding = (uint8_t)cv->forwarding,
		.hash = (uint8_t)cv->hash,
		.refusal = (uint8_t)cv->refusal,
		.on_remove = (uint8_t)cv->on_remove,
		.proxy = (uint8_t)(cv->proto == IPPROTO_TCP && cv->forwarding == EPH_LB_FULLNAT
					   ? cv->proxy : EPH_LB_PROXY_OFF),
		.syn_proxy = (uint8_t)(cv->proto == IPPROTO_TCP && cv->forwarding == EPH_LB_FULLNAT
					       ? cv->syn_proxy : EPH_LB_SYN_PROXY_OFF),
		.pool = (int16_t)pool,
		.max_conns = per_worker(cv->max_connections, dp->n_workers),
		.maglev_size = cv->maglev_size,
	};
	snprintf(v->name, sizeof(v->name), "%s", cv->name);
	v->backends = rte_zmalloc_socket("eph_lb_backends",
					 (cv->n_backends + n_removed + 1) * sizeof(*v->backends), 0,
					 socket);
	v->by_slot = rte_malloc_socket("eph_lb_by_slot", EPH_MAX_VIP_BACKENDS * sizeof(uint16_t), 0,
				       socket);
	v->maglev = rte_malloc_socket("eph_lb_maglev", cv->maglev_size * sizeof(uint16_t), 0,
				      socket);
	if (v->backends == NULL || v->by_slot == NULL || v->maglev == NULL)
		return -ENOMEM;
	memset(v->by_slot, 0xff, EPH_MAX_VIP_BACKENDS * sizeof(uint16_t));
	/* The configured backends first: Maglev's slots hold their indexes. */
	for (unsigned int k = 0; k < cv->n_backends; k++) {
		const struct eph_conf_backend *cb = &cv->backends[k];
		int bs = backend_slot_of(sv, cb->addr, cb->port);
		/* A backend down by its health checks stays configured, out of the table. */
		bool serving = eph_health_serving(health, cv->name, cb->addr, cb->port);

		if (bs < 0)
			return -EINVAL;
		v->backends[n] = (struct eph_lb_backend){
			.addr = rte_cpu_to_be_32(cb->addr),
			.port = rte_cpu_to_be_16(cb->port),
			.slot = (uint16_t)bs,
			.weight = cb->weight,
			.max_conns = per_worker(cb->max_connections, dp->n_workers),
			.state = serving ? EPH_LB_BACKEND_ACTIVE : EPH_LB_BACKEND_DOWN,
		};
		mb[n] = (struct eph_maglev_backend){
			.addr = v->backends[n].addr, .port = v->backends[n].port,
			.weight = serving ? (uint16_t)cb->weight : 0,
		};
		v->by_slot[bs] = (uint16_t)n++;
	}
	if (eph_maglev_build(mb, n, cv->maglev_size, v->maglev) != 0)
		return -EINVAL;
	for (unsigned int b = 0; b < EPH_MAX_VIP_BACKENDS; b++) {
		if (sv->b[b].state != EPH_LB_BACKEND_REMOVED)
			continue;
		v->backends[n] = (struct eph_lb_backend){
			.addr = rte_cpu_to_be_32(sv->b[b].addr),
			.port = rte_cpu_to_be_16(sv->b[b].port),
			.slot = (uint16_t)b,
			.state = EPH_LB_BACKEND_REMOVED,
		};
		v->by_slot[b] = (uint16_t)n++;
	}
	v->n_backends = n;
	return 0;
}

int
eph_lb_cfg_build(struct eph_dp *dp, const struct eph_lb_slots *slots, const struct eph_conf *conf,
		 const int *pool_slot, struct eph_health *health, int socket,
		 struct eph_lb_cfg **out)
{
	struct eph_lb_cfg *c;
	bool any = false;
	int ret;

	*out = NULL;
	for (unsigned int i = 0; i < EPH_MAX_VIPS && !any; i++)
		any = slots->vip[i].state != EPH_LB_BACKEND_FREE;
	if (!any)
		return 0;
	c = rte_zmalloc_socket("eph_lb_cfg", sizeof(*c), RTE_CACHE_LINE_SIZE, socket);
	if (c == NULL)
		return -ENOMEM;
	memset(c->by_slot, -1, sizeof(c->by_slot));
	for (unsigned int i = 0; i < EPH_MAX_VIPS; i++) {
		const struct eph_lb_slot_vip *sv = &slots->vip[i];

		if (sv->state == EPH_LB_BACKEND_FREE)
			continue;
		ret = stats_prepare(dp, i, sv);
		if (ret != 0)
			goto fail;
		if (sv->state == EPH_LB_BACKEND_REMOVED) {
			c->resets++; /* a removed VIP's connections are reset (nothing routes to it) */
			continue;
		}
		for (unsigned int b = 0; b < EPH_MAX_VIP_BACKENDS; b++)
			c->resets += sv->b[b].state == EPH_LB_BACKEND_REMOVED &&
				     sv->on_remove == EPH_LB_REMOVE_RESET;
	}
	for (unsigned int k = 0; k < conf->n_vips; k++) {
		const struct eph_conf_vip *cv = &conf->vips[k];
		int slot = vip_slot_of(slots, cv->name);
		int pool = cv->pool >= 0 && (unsigned int)cv->pool < conf->n_pools
				   ? pool_slot[cv->pool] : -1;

		if (slot < 0 || (cv->forwarding == EPH_LB_FULLNAT && pool < 0)) {
			ret = -EINVAL;
			goto fail;
		}
		ret = vip_build(dp, &c->vips[c->n_vips], (unsigned int)slot, &slots->vip[slot], cv,
				pool, health, socket);
		c->n_vips++; /* freed with the rest, built or not */
		if (ret != 0)
			goto fail;
		for (unsigned int b = 0; b < c->vips[c->n_vips - 1].n_backends; b++)
			c->resets += c->vips[c->n_vips - 1].backends[b].state == EPH_LB_BACKEND_DOWN &&
				     cv->on_remove == EPH_LB_REMOVE_RESET;
		vip_flood_guards(dp, &c->vips[c->n_vips - 1], cv, conf);
		c->by_slot[slot] = (int8_t)(c->n_vips - 1);
		c->dnat |= cv->forwarding == EPH_LB_DNAT;
		if (c->vips[c->n_vips - 1].proxy != EPH_LB_PROXY_OFF ||
		    c->vips[c->n_vips - 1].syn_proxy != EPH_LB_SYN_PROXY_OFF) {
			ret = ext_prepare(dp);
			if (ret != 0)
				goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	eph_lb_cfg_free(c);
	return ret;
}

void
eph_lb_report_failures(const struct eph_dp *dp, struct eph_lb_slots *slots,
		       struct eph_health *health, uint64_t now_ms)
{
	if (slots == NULL || health == NULL)
		return;
	for (unsigned int v = 0; v < EPH_MAX_VIPS; v++) {
		struct eph_lb_slot_vip *sv = &slots->vip[v];

		if (sv->state != EPH_LB_BACKEND_ACTIVE)
			continue;
		for (unsigned int b = 0; b < EPH_MAX_VIP_BACKENDS; b++) {
			struct eph_lb_slot_backend *sb = &sv->b[b];
			uint64_t sum = 0;

			if (sb->state != EPH_LB_BACKEND_ACTIVE)
				continue;
			for (unsigned int i = 0; i < dp->n_workers; i++) {
				const struct eph_lb_worker *lw = dp->workers[i]->lb;

				if (lw != NULL && lw->backend[v] != NULL)
					sum += __atomic_load_n(&lw->backend[v][b].connect_failures,
							       __ATOMIC_RELAXED);
			}
			if (sum == sb->failures_seen)
				continue;
			eph_health_passive(health, sv->name, sb->addr, sb->port,
					   sum - sb->failures_seen, now_ms);
			sb->failures_seen = sum;
		}
	}
}

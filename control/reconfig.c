/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Live reconfiguration (see reconfig.h): plan the pools of the next
 * configuration against the running ones (slots by pool name, address
 * slots, allocator generations), build a complete snapshot off to the side,
 * publish it, wait out an RCU grace period, free the old one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_fib.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memzone.h>
#include <rte_random.h>
#include <rte_rcu_qsbr.h>

#include "control/health.h"
#include "control/log.h"
#include "control/lb_setup.h"
#include "control/reconfig.h"
#include "dataplane/ports/portalloc.h"
#include "dataplane/ports/portblock.h"

#define PORTBLOCK_ADDRS 1024 /* outside addresses one port-block allocator tracks at once */

/* ---- allocator generations ------------------------------------------- */

static bool
gen_same(const struct eph_rc_gen *g, const struct eph_conf_pool *cp)
{
	bool blocks = cp->log == EPH_NAT_LOG_PORT_BLOCKS;

	if (g->blocks != blocks ||
	    (blocks && (g->block_size != cp->port_block_size ||
			g->max_blocks_per_host != cp->max_blocks_per_host)))
		return false;
	return g->port_lo == cp->port_lo && g->port_hi == cp->port_hi &&
	       g->quarantine_s == cp->quarantine_s && g->port_parity == cp->port_parity &&
	       g->n_excluded == cp->n_excluded &&
	       (g->n_excluded == 0 ||
		memcmp(g->excluded, cp->excluded, g->n_excluded * sizeof(*g->excluded)) == 0);
}

static int
gen_set(struct eph_rc_gen *g, const struct eph_conf_pool *cp)
{
	*g = (struct eph_rc_gen){
		.port_lo = cp->port_lo, .port_hi = cp->port_hi, .n_excluded = cp->n_excluded,
		.quarantine_s = cp->quarantine_s, .port_parity = cp->port_parity,
		.blocks = cp->log == EPH_NAT_LOG_PORT_BLOCKS, .block_size = cp->port_block_size,
		.max_blocks_per_host = cp->max_blocks_per_host,
	};
	if (cp->n_excluded == 0)
		return 0;
	g->excluded = malloc(cp->n_excluded * sizeof(*g->excluded));
	if (g->excluded == NULL)
		return -ENOMEM;
	memcpy(g->excluded, cp->excluded, cp->n_excluded * sizeof(*g->excluded));
	return 0;
}

static void
gen_clear(struct eph_rc_gen *g)
{
	free(g->excluded);
	memset(g, 0, sizeof(*g));
}

/* Each worker's allocator for pool slot `slot`, generation `gen`. */
static void
allocators_free(struct eph_reconfig *rc, unsigned int slot, unsigned int gen)
{
	struct eph_dp *dp = rc->dp;

	for (unsigned int w = 0; w < dp->n_workers; w++) {
		struct eph_nat_worker *nw = &dp->workers[w]->nat;

		if (nw->alloc[slot][gen] != NULL)
			eph_portalloc_free(nw->alloc[slot][gen]);
		if (nw->blocks[slot][gen] != NULL)
			eph_portblock_free(nw->blocks[slot][gen]);
		nw->alloc[slot][gen] = NULL;
		nw->blocks[slot][gen] = NULL;
		nw->gen_live[slot][gen] = 0;
	}
}

static int
allocators_create(struct eph_reconfig *rc, unsigned int slot, unsigned int gen,
		  const struct eph_rc_gen *g)
{
	struct eph_dp *dp = rc->dp;

	for (unsigned int w = 0; w < dp->n_workers; w++) {
		struct eph_worker *wk = dp->workers[w];
		char name[32];
		struct eph_portalloc_conf pc = {
			.port_lo = g->port_lo,
			.port_hi = g->port_hi,
			.excluded = g->excluded,
			.n_excluded = g->n_excluded,
			.worker = w,
			.n_workers = dp->n_workers,
			.quarantine = (uint64_t)g->quarantine_s * EPH_NAT_TICK_HZ,
			.port_parity = g->port_parity,
			.max_destinations = rc->conf.nat.destinations_per_worker,
			.secret = { rte_rand(), rte_rand() },
			.socket_id = (int)rte_lcore_to_socket_id(wk->lcore),
			.name = name,
		};

		snprintf(name, sizeof(name), "eph_pa_%u_%u_%u", slot, gen, w);
		if (g->blocks) {
			struct eph_portblock_conf bc = {
				.port_lo = g->port_lo,
				.port_hi = g->port_hi,
				.block_size = (uint16_t)g->block_size,
				.worker = w,
				.n_workers = dp->n_workers,
				.max_hosts = rc->conf.nat.sessions_per_worker,
				.max_blocks_per_host = g->max_blocks_per_host,
				.max_addrs = PORTBLOCK_ADDRS,
				.secret = (uint32_t)rte_rand(),
				.socket_id = pc.socket_id,
				.name = name,
			};

			wk->nat.blocks[slot][gen] = eph_portblock_create(&bc);
			if (wk->nat.blocks[slot][gen] == NULL) {
				allocators_free(rc, slot, gen);
				return rte_errno == EINVAL ? -EINVAL : -ENOMEM;
			}
			wk->nat.gen_live[slot][gen] = 0;
			continue;
		}
		/*
		 * FIFO memory from the sessions too, not only the destinations:
		 * a worker with many sessions on few destinations ran out of
		 * chunks with ports free.
		 */
		pc.max_chunks = eph_portalloc_chunks_for(&pc, rc->conf.nat.sessions_per_worker);
		wk->nat.alloc[slot][gen] = eph_portalloc_create(&pc);
		if (wk->nat.alloc[slot][gen] == NULL) {
			allocators_free(rc, slot, gen);
			return -ENOMEM;
		}
		wk->nat.gen_live[slot][gen] = 0;
	}
	return 0;
}

/* Per-worker per-address counters of a pool slot (kept once made: slots are reused). */
static int
counters_create(struct eph_reconfig *rc, unsigned int slot)
{
	struct eph_dp *dp = rc->dp;
	size_t sz = EPH_NAT_ADDR_SLOTS * sizeof(uint64_t);

	if (rc->pools[slot].counters)
		return 0;
	for (unsigned int w = 0; w < dp->n_workers; w++) {
		struct eph_nat_worker *nw = &dp->workers[w]->nat;
		int socket = (int)rte_lcore_to_socket_id(dp->workers[w]->lcore);

		if (nw->ports_in_use[slot] == NULL)
			nw->ports_in_use[slot] = rte_zmalloc_socket("eph_in_use", sz, 0, socket);
		if (nw->exhausted[slot] == NULL)
			nw->exhausted[slot] = rte_zmalloc_socket("eph_exhausted", sz, 0, socket);
		if (nw->occupancy_warnings[slot] == NULL)
			nw->occupancy_warnings[slot] = rte_zmalloc_socket("eph_warned", sz, 0, socket);
		if (nw->ports_in_use[slot] == NULL || nw->exhausted[slot] == NULL ||
		    nw->occupancy_warnings[slot] == NULL)
			return -ENOMEM;
	}
	rc->pools[slot].counters = true;
	return 0;
}

uint64_t
eph_reconfig_gen_live(const struct eph_reconfig *rc, unsigned int pool, unsigned int gen)
{
	uint64_t n = 0;

	for (unsigned int w = 0; w < rc->dp->n_workers; w++)
		n += __atomic_load_n(&rc->dp->workers[w]->nat.gen_live[pool][gen], __ATOMIC_RELAXED);
	return n;
}

uint64_t
eph_reconfig_addr_in_use(const struct eph_reconfig *rc, unsigned int pool, unsigned int slot)
{
	uint64_t n = 0;

	for (unsigned int w = 0; w < rc->dp->n_workers; w++) {
		const uint64_t *c = rc->dp->workers[w]->nat.ports_in_use[pool];

		if (c != NULL)
			n += __atomic_load_n(&c[slot], __ATOMIC_RELAXED);
	}
	return n;
}

int
eph_reconfig_pool_slot(const struct eph_reconfig *rc, const char *name)
{
	for (unsigned int i = 0; i < EPH_MAX_POOLS; i++)
		if (rc->pools[i].state != EPH_POOL_FREE && strcmp(rc->pools[i].last.name, name) == 0)
			return (int)i;
	return -1;
}

/* ---- planning -------------------------------------------------------- */

/* The pools of a plan: a copy of the running ones that owns its address arrays. */
struct plan {
	struct eph_rc_pool pools[EPH_MAX_POOLS];
	uint8_t new_gens[EPH_MAX_POOLS]; /* generations created by this plan (rollback) */
};

static void
plan_free(struct plan *pl, struct eph_reconfig *rc, bool rollback)
{
	for (unsigned int s = 0; s < EPH_MAX_POOLS; s++) {
		free(pl->pools[s].addrs);
		pl->pools[s].addrs = NULL;
		if (!rollback)
			continue;
		for (unsigned int g = 0; g < EPH_PA_GENS; g++)
			if (pl->new_gens[s] & (1u << g)) {
				allocators_free(rc, s, g);
				gen_clear(&pl->pools[s].g[g]);
			}
	}
}

static int
plan_copy(struct plan *pl, const struct eph_reconfig *rc)
{
	memset(pl, 0, sizeof(*pl));
	for (unsigned int s = 0; s < EPH_MAX_POOLS; s++) {
		const struct eph_rc_pool *p = &rc->pools[s];

		pl->pools[s] = *p;
		pl->pools[s].addrs = NULL;
		if (p->n_addrs == 0)
			continue;
		pl->pools[s].addrs = malloc(p->n_addrs * sizeof(*p->addrs));
		if (pl->pools[s].addrs == NULL)
			return -ENOMEM;
		memcpy(pl->pools[s].addrs, p->addrs, p->n_addrs * sizeof(*p->addrs));
	}
	return 0;
}

static int
addr_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct eph_rc_addr *)a)->addr, y = ((const struct eph_rc_addr *)b)->addr;

	return x < y ? -1 : x > y;
}

static bool
in_list(const uint32_t *list, unsigned int n, uint32_t addr)
{
	for (unsigned int i = 0; i < n; i++)
		if (list[i] == addr)
			return true;
	return false;
}

static int
slot_take(struct eph_rc_pool *p)
{
	for (unsigned int s = 0; s < EPH_NAT_ADDR_SLOTS - 1; s++)
		if (!(p->slot_used[s / 8] & (1u << (s % 8)))) {
			p->slot_used[s / 8] |= (uint8_t)(1u << (s % 8));
			return (int)s;
		}
	return -ENOSPC;
}

/* Address states of pool p for its next configuration cp: new ones get slots, gone ones drain. */
static int
plan_addresses(struct eph_rc_pool *p, const struct eph_conf_pool *cp)
{
	unsigned int cap = p->n_addrs + cp->n_addrs + cp->n_reserve;
	struct eph_rc_addr *a = malloc((cap ? cap : 1) * sizeof(*a));
	unsigned int n = 0;

	if (a == NULL)
		return -ENOMEM;
	for (unsigned int i = 0; i < p->n_addrs; i++) {
		a[n] = p->addrs[i];
		if (cp == NULL)
			a[n].state = EPH_ADDR_DRAINING;
		else if (in_list(cp->addrs, cp->n_addrs, a[n].addr))
			a[n].state = EPH_ADDR_ACTIVE;
		else if (in_list(cp->reserve, cp->n_reserve, a[n].addr))
			a[n].state = EPH_ADDR_RESERVE;
		else
			a[n].state = EPH_ADDR_DRAINING;
		n++;
	}
	for (unsigned int k = 0; cp != NULL && k < cp->n_addrs + cp->n_reserve; k++) {
		bool reserve = k >= cp->n_addrs;
		uint32_t addr = reserve ? cp->reserve[k - cp->n_addrs] : cp->addrs[k];
		bool known = false;
		int slot;

		for (unsigned int i = 0; i < p->n_addrs && !known; i++)
			known = p->addrs[i].addr == addr;
		if (known)
			continue;
		slot = slot_take(p);
		if (slot < 0) {
			free(a);
			return slot;
		}
		a[n++] = (struct eph_rc_addr){
			.addr = addr, .slot = (uint16_t)slot,
			.state = reserve ? EPH_ADDR_RESERVE : EPH_ADDR_ACTIVE,
		};
	}
	qsort(a, n, sizeof(*a), addr_cmp);
	free(p->addrs);
	p->addrs = a;
	p->n_addrs = n;
	return 0;
}

static int
find_slot(const struct plan *pl, const char *name)
{
	for (unsigned int s = 0; s < EPH_MAX_POOLS; s++)
		if (pl->pools[s].state != EPH_POOL_FREE && strcmp(pl->pools[s].last.name, name) == 0)
			return (int)s;
	return -1;
}

static int
plan_pool(struct eph_reconfig *rc, struct plan *pl, const struct eph_conf_pool *cp, FILE *err)
{
	int s = find_slot(pl, cp->name);
	struct eph_rc_pool *p;
	int ret;

	if (s < 0) {
		for (s = 0; s < EPH_MAX_POOLS && pl->pools[s].state != EPH_POOL_FREE; s++)
			;
		if (s == EPH_MAX_POOLS) {
			fprintf(err, "error: pools: no free pool slot for pool %s: %d pools are "
				     "still active or draining\n", cp->name, EPH_MAX_POOLS);
			return -ENOSPC;
		}
		p = &pl->pools[s];
		memset(p->slot_used, 0, sizeof(p->slot_used));
		p->n_addrs = 0;
		p->gens = 0;
	} else {
		p = &pl->pools[s];
		if (p->last.mapping != cp->mapping && p->gens != 0) {
			fprintf(err, "error: pools[%s].mapping: changing the mapping of a pool "
				     "needs a restart (its sessions and mappings are kept apart)\n",
				cp->name);
			return -EINVAL;
		}
	}
	if (cp->mapping == EPH_MAPPING_ENDPOINT_INDEPENDENT &&
	    rc->dp->workers[0]->nat.mappings == NULL) {
		fprintf(err, "error: pools[%s].mapping: the first endpoint-independent pool "
			     "needs a restart (its mapping tables are made at start)\n", cp->name);
		return -EINVAL;
	}
	ret = counters_create(rc, (unsigned int)s);
	if (ret != 0) {
		fprintf(err, "error: pools[%s]: out of memory for its counters; raise "
			     "eal.memory-mb\n", cp->name);
		return ret;
	}
	if (p->gens == 0 || !gen_same(&p->g[p->gen], cp)) {
		unsigned int g;

		for (g = 0; g < EPH_PA_GENS && (p->gens & (1u << g)); g++)
			;
		if (g == EPH_PA_GENS) {
			fprintf(err, "error: pools[%s].ports: %d earlier port-range changes are "
				     "still draining (ports held: %" PRIu64 "); try again when their "
				     "sessions have ended\n", cp->name, EPH_PA_GENS - 1,
				eph_reconfig_gen_live(rc, (unsigned int)s, (p->gen + 1) % EPH_PA_GENS));
			return -EBUSY;
		}
		ret = gen_set(&p->g[g], cp);
		if (ret == 0)
			ret = allocators_create(rc, (unsigned int)s, g, &p->g[g]);
		if (ret != 0) {
			gen_clear(&p->g[g]);
			if (ret == -EINVAL)
				fprintf(err, "error: pools[%s].port-block-size: %u-port blocks leave "
					     "some of the %u workers without a whole block in %u-%u; "
					     "use smaller blocks or a wider range\n", cp->name,
					cp->port_block_size, rc->dp->n_workers, cp->port_lo,
					cp->port_hi);
			else
				fprintf(err, "error: pools[%s]: out of memory for its port "
					     "allocators; raise eal.memory-mb or lower "
					     "nat.destinations-per-worker\n", cp->name);
			return ret;
		}
		pl->new_gens[s] |= (uint8_t)(1u << g);
		p->gens |= (uint8_t)(1u << g);
		p->gen = (uint8_t)g;
	}
	ret = plan_addresses(p, cp);
	if (ret != 0) {
		fprintf(err, "error: pools[%s].addresses: %s\n", cp->name,
			ret == -ENOSPC ? "too many addresses still draining" : "out of memory");
		return ret;
	}
	p->state = EPH_POOL_ACTIVE;
	p->last = *cp;
	p->last.addrs = NULL;
	p->last.excluded = NULL;
	p->last.inside = NULL;
	p->last.reserve = NULL;
	return 0;
}

/* ---- snapshots ------------------------------------------------------- */

/* Whether the workers have the balancer's tables (they come with the NAT's). */
static bool
lb_on(const struct eph_reconfig *rc)
{
	return rc->dp->n_workers != 0 && rc->dp->workers[0] != NULL &&
	       rc->dp->workers[0]->lb != NULL;
}

static void
snapshot_free(struct eph_dp_cfg *cfg)
{
	if (cfg == NULL)
		return;
	for (unsigned int s = 0; s < EPH_MAX_POOLS; s++) {
		struct eph_nat_pool *p = &cfg->nat.pools[s];

		rte_free(p->addrs);
		rte_free(p->addr_slot);
		rte_free(p->reserve);
		rte_free(p->reserve_slot);
		rte_free(p->all);
	}
	rte_fib_free(cfg->nat.inside);
	eph_lb_cfg_free(cfg->lb);
	if (cfg->routes != NULL) {
		eph_route_table_free(cfg->routes);
		rte_free(cfg->routes);
	}
	rte_free(cfg);
}

static int
snapshot_pool(struct eph_nat_pool *np, const struct eph_rc_pool *p, int socket)
{
	const struct eph_conf_pool *c = &p->last;
	unsigned int n_act = 0, n_res = 0;

	np->state = p->state;
	np->gen = p->gen;
	np->gens = p->gens;
	for (unsigned int g = 0; g < EPH_PA_GENS; g++)
		np->g[g] = (struct eph_nat_gen){
			.blocks = p->g[g].blocks, .port_lo = p->g[g].port_lo,
			.block_size = (uint16_t)p->g[g].block_size,
		};
	np->mapping = (uint8_t)c->mapping;
	np->filtering = (uint8_t)c->filtering;
	np->pooling = (uint8_t)c->pooling;
	np->log = (uint8_t)c->log;
	np->preservation = c->port_preservation;
	np->exhaustion_icmp = c->exhaustion_icmp;
	np->balancer = c->balancer;
	np->hairpinning = c->hairpinning;
	np->alg_ftp = (c->alg & EPH_ALG_FTP) != 0;
	np->ftp_port = rte_cpu_to_be_16(c->ftp_port);
	np->warn_occupancy = (uint8_t)c->warn_occupancy;
	np->max_per_host = c->max_sessions_per_host;
	np->max_inbound_per_mapping = c->max_inbound_per_mapping;
	snprintf(np->name, sizeof(np->name), "%s", c->name);

	for (unsigned int i = 0; i < p->n_addrs; i++) {
		n_act += p->state == EPH_POOL_ACTIVE && p->addrs[i].state == EPH_ADDR_ACTIVE;
		n_res += p->state == EPH_POOL_ACTIVE && p->addrs[i].state == EPH_ADDR_RESERVE;
	}
	np->addrs = rte_zmalloc_socket("eph_pool_addrs", (n_act + 1) * sizeof(uint32_t), 0, socket);
	np->addr_slot = rte_zmalloc_socket("eph_pool_slots", (n_act + 1) * sizeof(uint16_t), 0,
					   socket);
	np->reserve = rte_zmalloc_socket("eph_pool_res", (n_res + 1) * sizeof(uint32_t), 0, socket);
	np->reserve_slot = rte_zmalloc_socket("eph_pool_res_slots", (n_res + 1) * sizeof(uint16_t),
					      0, socket);
	np->all = rte_zmalloc_socket("eph_pool_all", (p->n_addrs + 1) * sizeof(*np->all), 0,
				     socket);
	if (np->addrs == NULL || np->addr_slot == NULL || np->reserve == NULL ||
	    np->reserve_slot == NULL || np->all == NULL)
		return -ENOMEM;
	for (unsigned int i = 0; i < p->n_addrs; i++) {
		const struct eph_rc_addr *a = &p->addrs[i];
		uint8_t state = p->state == EPH_POOL_ACTIVE ? a->state : EPH_ADDR_DRAINING;

		np->all[np->n_all++] = (struct eph_nat_addr){
			.addr = rte_cpu_to_be_32(a->addr), .slot = a->slot, .state = state,
		};
		if (state == EPH_ADDR_ACTIVE) {
			np->addr_slot[np->n_addrs] = a->slot;
			np->addrs[np->n_addrs++] = rte_cpu_to_be_32(a->addr);
		} else if (state == EPH_ADDR_RESERVE) {
			np->reserve_slot[np->n_reserve] = a->slot;
			np->reserve[np->n_reserve++] = rte_cpu_to_be_32(a->addr);
		}
	}
	return 0;
}

static int
inside_fib_build(struct eph_dp_cfg *cfg, const struct eph_conf *conf, const struct plan *pl,
		 int socket)
{
	struct rte_fib_conf fc = {
		.type = RTE_FIB_DIR24_8,
		.default_nh = 0,
		.max_routes = 1,
		.dir24_8 = { .nh_sz = RTE_FIB_DIR24_8_1B, .num_tbl8 = 64 }, /* 1-byte hops: < 128 */
	};
	char name[RTE_MEMZONE_NAMESIZE];

	for (unsigned int i = 0; i < conf->n_pools; i++)
		fc.max_routes += conf->pools[i].n_inside;
	snprintf(name, sizeof(name), "eph_nat_in_%" PRIu64, cfg->generation);
	cfg->nat.inside = rte_fib_create(name, socket, &fc);
	if (cfg->nat.inside == NULL)
		return -rte_errno;
	for (unsigned int i = 0; i < conf->n_pools; i++) {
		int slot = find_slot(pl, conf->pools[i].name);

		for (unsigned int k = 0; k < conf->pools[i].n_inside; k++) {
			const struct eph_conf_prefix *pf = &conf->pools[i].inside[k];
			int ret = rte_fib_add(cfg->nat.inside, pf->addr, pf->len,
					      (uint64_t)slot + 1);

			if (ret != 0)
				return ret;
		}
	}
	return 0;
}

static struct eph_dp_cfg *
snapshot_build(struct eph_reconfig *rc, const struct eph_conf *conf, const struct plan *pl,
	       const struct eph_lb_slots *lbs, FILE *err)
{
	int pool_slot[EPH_MAX_POOLS];
	int socket = rc->socket;
	struct eph_dp_cfg *cfg = rte_zmalloc_socket("eph_cfg", sizeof(*cfg), RTE_CACHE_LINE_SIZE,
						    socket);
	struct eph_route_pool_addr *pa = NULL;
	unsigned int n_pa = 0, cap = 0;
	char name[RTE_MEMZONE_NAMESIZE];
	int ret = -ENOMEM;

	if (cfg == NULL)
		goto fail;
	cfg->generation = rc->generation + 1;
	cfg->nat.timeouts = (struct eph_flow_timeouts){
		.udp = conf->timeouts.udp * EPH_NAT_TICK_HZ,
		.tcp_established = conf->timeouts.tcp_established * EPH_NAT_TICK_HZ,
		.tcp_transitory = conf->timeouts.tcp_transitory * EPH_NAT_TICK_HZ,
		.icmp = conf->timeouts.icmp * EPH_NAT_TICK_HZ,
	};
	for (unsigned int s = 0; s < EPH_MAX_POOLS; s++) {
		const struct eph_rc_pool *p = &pl->pools[s];

		if (p->state == EPH_POOL_FREE)
			continue;
		cfg->nat.n_slots = s + 1;
		cfg->nat.n_active += p->state == EPH_POOL_ACTIVE;
		cap += p->n_addrs;
		if (snapshot_pool(&cfg->nat.pools[s], p, socket) != 0)
			goto fail;
	}
	ret = inside_fib_build(cfg, conf, pl, socket);
	if (ret != 0)
		goto fail;

	pa = malloc((cap + 1) * sizeof(*pa));
	if (pa == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	for (unsigned int s = 0; s < EPH_MAX_POOLS; s++)
		for (unsigned int i = 0; i < pl->pools[s].n_addrs; i++)
			pa[n_pa++] = (struct eph_route_pool_addr){
				.addr = pl->pools[s].addrs[i].addr, .pool = (uint16_t)s,
			};
	cfg->routes = rte_zmalloc_socket("eph_routes", sizeof(*cfg->routes), 0, socket);
	if (cfg->routes == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	snprintf(name, sizeof(name), "eph_fib_%" PRIu64, cfg->generation);
	ret = eph_route_table_build(cfg->routes, conf, pa, n_pa, name, socket);
	if (ret != 0) {
		rte_free(cfg->routes);
		cfg->routes = NULL;
		goto fail;
	}
	free(pa);
	pa = NULL;
	for (unsigned int i = 0; i < conf->n_pools; i++)
		pool_slot[i] = find_slot(pl, conf->pools[i].name);
	if (lbs != NULL) {
		ret = eph_lb_cfg_build(rc->dp, lbs, conf, pool_slot, rc->health, socket, &cfg->lb);
		if (ret != 0)
			goto fail;
	}
	return cfg;
fail:
	free(pa);
	snapshot_free(cfg);
	fprintf(err, "error: cannot build the routing and NAT tables: %s; raise eal.memory-mb "
		     "(a change needs room for a second routing table, about 40 MiB)\n",
		rte_strerror(ret < 0 ? -ret : ret));
	return NULL;
}

/*
 * The slots a published snapshot was built with become the running ones.
 * Their counters were zeroed for it where a slot was newly taken: that is
 * done, so the next snapshot built from them (a health change, drained
 * pools) must not zero them again.
 */
static void
lb_slots_commit(struct eph_reconfig *rc, struct eph_lb_slots *lbs)
{
	free(rc->lb);
	rc->lb = lbs;
	eph_lb_slots_settle(lbs);
}

/* Publish cfg; when this returns no worker reads the old snapshot any more. */
static struct eph_dp_cfg *
publish(struct eph_reconfig *rc, struct eph_dp_cfg *cfg)
{
	struct eph_dp *dp = rc->dp;
	struct eph_dp_cfg *old = dp->cfg;

	pthread_rwlock_wrlock(&dp->cfg_lock);
	__atomic_store_n(&dp->cfg, cfg, __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&dp->cfg_lock);
	rte_rcu_qsbr_synchronize(dp->rcu, RTE_QSBR_THRID_INVALID);
	/* Workers not running (start-up, tests) load it here. */
	for (unsigned int w = 0; w < dp->n_workers; w++)
		if (rte_eal_get_lcore_state(dp->workers[w]->lcore) != RUNNING)
			dp->workers[w]->cfg = cfg;
	rc->generation = cfg->generation;
	rc->changed_at = time(NULL);
	return old;
}

static void
pools_commit(struct eph_reconfig *rc, struct plan *pl)
{
	for (unsigned int s = 0; s < EPH_MAX_POOLS; s++) {
		free(rc->pools[s].addrs);
		rc->pools[s] = pl->pools[s];
		pl->pools[s].addrs = NULL;
	}
}

int
eph_reconfig_apply(struct eph_reconfig *rc, const struct eph_conf *next, const char *what,
		   FILE *err)
{
	struct eph_lb_slots *lbs = NULL;
	struct eph_dp_cfg *cfg, *old;
	struct eph_conf copy;
	struct plan *pl;
	int ret;

	if (!rc->dp->nat.enabled && (next->n_pools != 0 || next->n_vips != 0)) {
		fprintf(err, "error: %s: NAT was off at start (no pools, no vips); adding %s needs "
			     "a restart\n", next->n_pools != 0 ? "pools" : "vips",
			next->n_pools != 0 ? "pools" : "vips");
		return -EINVAL;
	}
	pl = malloc(sizeof(*pl));
	if (pl == NULL)
		return -ENOMEM;
	ret = plan_copy(pl, rc);
	if (ret == 0)
		ret = eph_conf_dup(&copy, next);
	if (ret != 0) {
		fprintf(err, "error: out of memory\n");
		plan_free(pl, rc, false);
		free(pl);
		return ret;
	}
	for (unsigned int i = 0; i < next->n_pools && ret == 0; i++)
		ret = plan_pool(rc, pl, &next->pools[i], err);
	if (ret == 0) {
		/* Pools that left the configuration drain. */
		for (unsigned int s = 0; s < EPH_MAX_POOLS; s++) {
			struct eph_rc_pool *p = &pl->pools[s];
			bool kept = false;

			if (p->state == EPH_POOL_FREE)
				continue;
			for (unsigned int i = 0; i < next->n_pools && !kept; i++)
				kept = strcmp(next->pools[i].name, p->last.name) == 0;
			if (!kept) {
				p->state = EPH_POOL_DRAINING;
				ret = plan_addresses(p, NULL);
				if (ret != 0)
					break;
			}
		}
	}
	if (ret == 0 && lb_on(rc)) {
		lbs = eph_lb_slots_plan(rc->dp, rc->lb, next, err);
		if (lbs == NULL)
			ret = -EINVAL;
	}
	cfg = ret == 0 ? snapshot_build(rc, next, pl, lbs != NULL ? lbs : rc->lb, err) : NULL;
	if (cfg == NULL) {
		plan_free(pl, rc, true);
		free(pl);
		free(lbs);
		eph_conf_free(&copy);
		return ret != 0 ? ret : -ENOMEM;
	}
	old = publish(rc, cfg);
	snapshot_free(old);
	if (lbs != NULL)
		lb_slots_commit(rc, lbs);
	pools_commit(rc, pl);
	plan_free(pl, rc, false);
	free(pl);
	eph_conf_free(&rc->conf);
	rc->conf = copy;
	if (rc->health != NULL && eph_health_configure(rc->health, &rc->conf) != 0)
		EPH_LOG(WARNING, "health checks keep the previous backends (out of memory)");
	snprintf(rc->last_change, sizeof(rc->last_change), "%s", what);
	EPH_LOG(NOTICE, "configuration %" PRIu64 " applied (%s)", rc->generation, what);
	return 0;
}

int
eph_reconfig_health(struct eph_reconfig *rc)
{
	struct eph_dp_cfg *cfg, *old;
	struct plan *pl;
	uint64_t g;

	if (rc->health == NULL || !lb_on(rc))
		return 0;
	g = eph_health_generation(rc->health);
	if (g == rc->health_seen)
		return 0;
	pl = malloc(sizeof(*pl));
	if (pl == NULL || plan_copy(pl, rc) != 0) {
		if (pl != NULL)
			plan_free(pl, rc, false);
		free(pl);
		return -ENOMEM;
	}
	cfg = snapshot_build(rc, &rc->conf, pl, rc->lb, stderr);
	plan_free(pl, rc, false);
	free(pl);
	if (cfg == NULL)
		return -ENOMEM; /* tried again on the next call */
	old = publish(rc, cfg);
	snapshot_free(old);
	rc->health_seen = g;
	snprintf(rc->last_change, sizeof(rc->last_change), "backend health");
	EPH_LOG(NOTICE, "configuration %" PRIu64 " applied (backend health changed)",
		rc->generation);
	return 1;
}

unsigned int
eph_reconfig_housekeeping(struct eph_reconfig *rc)
{
	uint8_t gone_gens[EPH_MAX_POOLS] = { 0 };
	struct eph_lb_slots *lbs = eph_lb_slots_release(rc->dp, rc->lb);
	struct eph_dp_cfg *cfg, *old;
	unsigned int gone = lbs != NULL;
	struct plan *pl;

	for (unsigned int s = 0; s < EPH_MAX_POOLS; s++) {
		const struct eph_rc_pool *p = &rc->pools[s];

		if (p->state == EPH_POOL_FREE)
			continue;
		for (unsigned int g = 0; g < EPH_PA_GENS; g++) {
			bool current = p->state == EPH_POOL_ACTIVE && g == p->gen;

			if ((p->gens & (1u << g)) && !current && eph_reconfig_gen_live(rc, s, g) == 0) {
				gone_gens[s] |= (uint8_t)(1u << g);
				gone++;
			}
		}
		for (unsigned int i = 0; i < p->n_addrs; i++)
			gone += p->addrs[i].state == EPH_ADDR_DRAINING &&
				eph_reconfig_addr_in_use(rc, s, p->addrs[i].slot) == 0;
	}
	if (gone == 0)
		return 0;

	pl = malloc(sizeof(*pl));
	if (pl == NULL || plan_copy(pl, rc) != 0)
		goto fail;
	for (unsigned int s = 0; s < EPH_MAX_POOLS; s++) {
		struct eph_rc_pool *p = &pl->pools[s];
		unsigned int n = 0;

		if (p->state == EPH_POOL_FREE)
			continue;
		p->gens &= (uint8_t)~gone_gens[s];
		for (unsigned int i = 0; i < p->n_addrs; i++) {
			const struct eph_rc_addr *a = &p->addrs[i];

			if (a->state == EPH_ADDR_DRAINING &&
			    eph_reconfig_addr_in_use(rc, s, a->slot) == 0) {
				EPH_LOG(NOTICE, "pool %s: address " IPV4_FMT " drained", p->last.name,
					IPV4_ARGS(a->addr));
				continue;
			}
			p->addrs[n++] = *a;
		}
		p->n_addrs = n;
		if (p->state == EPH_POOL_DRAINING && p->gens == 0 && p->n_addrs == 0) {
			EPH_LOG(NOTICE, "pool %s: drained", p->last.name);
			p->state = EPH_POOL_FREE;
		}
	}
	cfg = snapshot_build(rc, &rc->conf, pl, lbs != NULL ? lbs : rc->lb, stderr);
	if (cfg == NULL)
		goto fail;
	old = publish(rc, cfg);
	snapshot_free(old);
	if (lbs != NULL) {
		lb_slots_commit(rc, lbs);
		lbs = NULL;
	}
	EPH_LOG(NOTICE, "configuration %" PRIu64 " applied (what finished draining let go)",
		rc->generation);
	/* Nothing reads them now: free drained generations, clear drained address slots. */
	for (unsigned int s = 0; s < EPH_MAX_POOLS; s++) {
		const struct eph_rc_pool *was = &rc->pools[s];

		for (unsigned int g = 0; g < EPH_PA_GENS; g++)
			if (gone_gens[s] & (1u << g)) {
				allocators_free(rc, s, g);
				gen_clear(&pl->pools[s].g[g]);
			}
		for (unsigned int i = 0; i < was->n_addrs; i++) {
			bool kept = false;

			for (unsigned int k = 0; k < pl->pools[s].n_addrs && !kept; k++)
				kept = pl->pools[s].addrs[k].slot == was->addrs[i].slot;
			if (kept)
				continue;
			pl->pools[s].slot_used[was->addrs[i].slot / 8] &=
				(uint8_t)~(1u << (was->addrs[i].slot % 8));
			for (unsigned int w = 0; w < rc->dp->n_workers; w++) {
				struct eph_nat_worker *nw = &rc->dp->workers[w]->nat;

				nw->exhausted[s][was->addrs[i].slot] = 0;
				nw->occupancy_warnings[s][was->addrs[i].slot] = 0;
			}
		}
	}
	pools_commit(rc, pl);
	plan_free(pl, rc, false);
	free(pl);
	return gone;
fail:
	free(lbs);
	if (pl != NULL) {
		plan_free(pl, rc, false);
		free(pl);
	}
	EPH_LOG(WARNING, "drained pools, addresses or port ranges could not be released yet "
			 "(out of memory); will retry");
	return 0;
}

/* ---- start and stop -------------------------------------------------- */

int
eph_reconfig_init(struct eph_reconfig *rc, struct eph_dp *dp, const struct eph_conf *conf,
		  FILE *err)
{
	int ret;

	memset(rc, 0, sizeof(*rc));
	rc->dp = dp;
	rc->socket = (int)rte_socket_id();
	ret = eph_conf_dup(&rc->conf, conf);
	if (ret != 0)
		return ret;
	ret = eph_reconfig_apply(rc, conf, "start", err);
	if (ret != 0)
		eph_conf_free(&rc->conf);
	return ret;
}

void
eph_reconfig_teardown(struct eph_reconfig *rc)
{
	struct eph_dp *dp = rc->dp;

	if (dp == NULL)
		return;
	if (dp->cfg != NULL) {
		snapshot_free(dp->cfg);
		dp->cfg = NULL;
		for (unsigned int w = 0; w < dp->n_workers; w++)
			if (dp->workers[w] != NULL)
				dp->workers[w]->cfg = NULL;
	}
	for (unsigned int s = 0; s < EPH_MAX_POOLS; s++) {
		for (unsigned int g = 0; g < EPH_PA_GENS; g++)
			if (rc->pools[s].gens & (1u << g)) {
				allocators_free(rc, s, g);
				gen_clear(&rc->pools[s].g[g]);
			}
		free(rc->pools[s].addrs);
	}
	free(rc->lb);
	eph_conf_free(&rc->conf);
	memset(rc, 0, sizeof(*rc));
}

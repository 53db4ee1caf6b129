/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control socket commands (see /ctl_cmds.h and the README's ephctl
 * section). Handlers run on the control lcore, the same thread that
 * publishes configuration snapshots, so they read dp->cfg directly.
 * A change is made on a copy of the running configuration, checked with
 * the same rules as the file, then applied all or nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "control/ctl_cmds.h"
#include "control/limits.h"
#include "control/reconfig.h"
#include "control/stats.h"
#include "dataplane/nat/natlog.h"
#include "dataplane/ports/portalloc.h"
#include "dataplane/flow/session.h"
#include "dataplane/flow/tcp_state.h"

#define WORKER_WAIT_MS         10000 /* a worker walks its whole table well within this */

static const char *
proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	}
	return "other";
}

static json_t *
ip_json(uint32_t be)
{
	return eph_ctl_json_ipv4(rte_be_to_cpu_32(be));
}

static json_t *
endpoint_json(uint32_t addr_be, uint16_t port_be)
{
	return eph_ctl_json_endpoint(rte_be_to_cpu_32(addr_be), rte_be_to_cpu_16(port_be));
}

static json_t *
ports_json(uint16_t lo, uint16_t hi)
{
	return json_sprintf("%u-%u", lo, hi);
}

static uint64_t
uptime_s(const struct eph_ctl_ctx *ctx)
{
	return (rte_rdtsc() - ctx->start_tsc) / rte_get_tsc_hz();
}

/* ---- version, show stats / ports ------------------------------------- */

static int
cmd_version(void *arg, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	const struct eph_ctl_ctx *ctx = arg;

	if (eph_ctl_args_allowed(args, (const char *const[]){ NULL }, err) < 0)
		return -1;
	*result = json_pack("{s:s, s:i, s:I}", "version", EPH_VERSION, "protocol",
			    EPH_CTL_PROTOCOL, "uptime_s", (json_int_t)uptime_s(ctx));
	return 0;
}

static int
cmd_show_stats(void *arg, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	const struct eph_ctl_ctx *ctx = arg;
	const struct eph_dp *dp = ctx->dp;
	uint64_t nat[EPH_NAT_CTR_MAX] = { 0 };
	json_t *workers, *drops, *natj;
	struct eph_counters t;
	uint64_t sessions = 0;

	if (eph_ctl_args_allowed(args, (const char *const[]){ NULL }, err) < 0)
		return -1;
	workers = json_array();
	drops = json_object();
	natj = json_object();
	eph_stats_total(dp, &t);
	for (unsigned int i = 0; i < dp->n_workers; i++) {
		const struct eph_worker *w = dp->workers[i];
		struct eph_nat_worker_stats nw;
		uint64_t s;

		eph_stats_nat_worker(dp, NULL, i, &nw);
		s = nw.sessions;
		sessions += s;
		for (unsigned int c = 0; c < EPH_NAT_CTR_MAX; c++)
			nat[c] += nw.ctr[c];
		json_array_append_new(
			workers,
			json_pack("{s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "id", w->id,
				  "lcore", w->lcore, "rx_packets", (json_int_t)w->stats.rx,
				  "tx_packets", (json_int_t)eph_counters_tx(&w->stats), "drops",
				  (json_int_t)eph_counters_drops(&w->stats), "polls",
				  (json_int_t)w->stats.polls, "busy_polls",
				  (json_int_t)w->stats.busy_polls, "sessions", (json_int_t)s,
				  "handoff_in", (json_int_t)nw.ctr[EPH_NAT_handoff_in], "handoff_out",
				  (json_int_t)nw.ctr[EPH_NAT_handoff_out]));
	}
	for (unsigned int i = 0; i < EPH_DROP_MAX; i++)
		if (t.drop[i] != 0)
			json_object_set_new(drops, eph_drop_names[i], json_integer((json_int_t)t.drop[i]));
	for (unsigned int c = 0; c < EPH_NAT_CTR_MAX; c++)
		json_object_set_new(natj, eph_nat_counter_names[c], json_integer((json_int_t)nat[c]));
	*result = json_pack("{s:I, s:{s:I, s:I, s:I, s:I}, s:o, s:o, s:o}", "uptime_s",
			    (json_int_t)uptime_s(ctx), "totals", "rx_packets", (json_int_t)t.rx,
			    "tx_packets", (json_int_t)eph_counters_tx(&t), "drops",
			    (json_int_t)eph_counters_drops(&t), "sessions", (json_int_t)sessions,
			    "workers", workers, "drops", drops, "nat", natj);
	return 0;
}

static int
cmd_show_ports(void *arg, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	const struct eph_ctl_ctx *ctx = arg;
	const struct eph_dp *dp = ctx->dp;
	json_t *ports;
	struct eph_counters t;

	if (eph_ctl_args_allowed(args, (const char *const[]){ NULL }, err) < 0)
		return -1;
	ports = json_array();
	eph_stats_total(dp, &t);
	for (unsigned int i = 0; i < dp->n_ports; i++) {
		const struct eph_port *p = &dp->ports[i];
		const struct eph_conf_port *cp = &dp->conf->ports[i];
		struct rte_eth_stats hw = { 0 };
		struct rte_eth_link link = { 0 };
		char mac[RTE_ETHER_ADDR_FMT_SIZE];

		rte_eth_stats_get(p->port_id, &hw);
		rte_eth_link_get_nowait(p->port_id, &link);
		rte_ether_format_addr(mac, sizeof(mac), &p->mac);
		json_array_append_new(
			ports,
			json_pack("{s:s, s:s, s:s, s:o, s:s, s:i, s:b, s:I, s:I, s:I, s:I, s:I, s:I, "
				  "s:I, s:I, s:o, s:I, s:I}",
				  "name", p->name, "device", cp->device, "role",
				  eph_port_role_name(p->role), "address",
				  json_sprintf("%u.%u.%u.%u/%u", cp->addr >> 24, (cp->addr >> 16) & 0xff,
					       (cp->addr >> 8) & 0xff, cp->addr & 0xff,
					       cp->prefix_len),
				  "mac", mac, "mtu", p->mtu, "link_up",
				  link.link_status == RTE_ETH_LINK_UP, "speed_mbps",
				  (json_int_t)link.link_speed, "rx_packets", (json_int_t)t.port[i].rx,
				  "tx_packets", (json_int_t)t.port[i].tx, "rx_bytes",
				  (json_int_t)hw.ibytes, "tx_bytes", (json_int_t)hw.obytes, "rx_missed",
				  (json_int_t)hw.imissed, "rx_errors", (json_int_t)hw.ierrors,
				  "tx_errors", (json_int_t)hw.oerrors, "kernel_interface",
				  p->has_kernel ? json_string(p->kernel_if) : json_null(), "to_kernel",
				  (json_int_t)t.port[i].to_kernel, "from_kernel",
				  (json_int_t)t.port[i].from_kernel));
	}
	*result = json_pack("{s:o}", "ports", ports);
	return 0;
}

/* ---- show pools / destinations / config ------------------------------ */

static const char *
addr_state_name(uint8_t state)
{
	switch (state) {
	case EPH_ADDR_ACTIVE:
		return "active";
	case EPH_ADDR_RESERVE:
		return "reserve";
	}
	return "draining";
}

static json_t *
inside_json(const struct eph_conf_pool *cp)
{
	json_t *a = json_array();

	for (unsigned int i = 0; cp != NULL && i < cp->n_inside; i++) {
		uint32_t x = cp->inside[i].addr;

		json_array_append_new(a, json_sprintf("%u.%u.%u.%u/%u", x >> 24, (x >> 16) & 0xff,
						      (x >> 8) & 0xff, x & 0xff, cp->inside[i].len));
	}
	return a;
}

static const struct eph_conf_pool *
conf_pool(const struct eph_conf *conf, const char *name)
{
	for (unsigned int i = 0; i < conf->n_pools; i++)
		if (strcmp(conf->pools[i].name, name) == 0)
			return &conf->pools[i];
	return NULL;
}

static int
cmd_show_pools(void *arg, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	const struct eph_ctl_ctx *ctx = arg;
	const struct eph_dp *dp = ctx->dp;
	const struct eph_reconfig *rc = dp->rc;
	const struct eph_nat_cfg *nat = &dp->cfg->nat;
	json_t *pools;

	if (eph_ctl_args_allowed(args, (const char *const[]){ NULL }, err) < 0)
		return -1;
	pools = json_array();
	for (unsigned int s = 0; s < nat->n_slots; s++) {
		const struct eph_nat_pool *p = &nat->pools[s];
		const struct eph_rc_pool *rp = &rc->pools[s];
		const struct eph_conf_pool *cp = conf_pool(&rc->conf, p->name);
		const struct eph_rc_gen *g = &rp->g[rp->gen];
		unsigned int per_dest = (unsigned int)(g->port_hi - g->port_lo + 1) - g->n_excluded;
		json_t *addrs, *draining_ports;
		uint64_t refused = 0, in_use_all = 0;

		if (p->state == EPH_POOL_FREE)
			continue;
		addrs = json_array();
		draining_ports = json_array();
		for (unsigned int a = 0; a < p->n_all; a++) {
			struct eph_pool_addr_stats st;

			eph_stats_pool_addr(dp, s, p->all[a].slot, &st);
			refused += st.exhausted;
			in_use_all += st.in_use;
			json_array_append_new(
				addrs, json_pack("{s:o, s:s, s:I, s:i, s:I, s:I}", "address",
						 ip_json(p->all[a].addr), "state",
						 addr_state_name(p->all[a].state), "ports_in_use",
						 (json_int_t)st.in_use, "ports_per_destination",
						 per_dest, "refused", (json_int_t)st.exhausted,
						 "occupancy_warnings", (json_int_t)st.warnings));
		}
		for (unsigned int k = 0; k < EPH_PA_GENS; k++) {
			const struct eph_rc_gen *og = &rp->g[k];

			if (!(rp->gens & (1u << k)) || (k == rp->gen && p->state == EPH_POOL_ACTIVE))
				continue;
			json_array_append_new(
				draining_ports,
				json_pack("{s:o, s:I}", "ports", ports_json(og->port_lo, og->port_hi),
					  "ports_in_use", (json_int_t)eph_reconfig_gen_live(rc, s, k)));
		}
		json_array_append_new(
			pools,
			json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:i, s:o, s:I, s:I, s:o, s:o}",
				  "name", p->name, "state",
				  p->state == EPH_POOL_ACTIVE ? "active" : "draining", "mapping",
				  eph_nat_mapping_name(p->mapping), "filtering",
				  eph_nat_filtering_name(p->filtering), "pooling",
				  eph_nat_pooling_name(p->pooling), "ports",
				  ports_json(g->port_lo, g->port_hi), "log",
				  eph_nat_log_mode_name(p->log), "warn_occupancy_pct",
				  p->warn_occupancy, "inside", inside_json(cp), "sessions",
				  (json_int_t)in_use_all, "refused", (json_int_t)refused, "addresses",
				  addrs, "draining_ports", draining_ports));
	}
	*result = json_pack("{s:o}", "pools", pools);
	return 0;
}

struct dest_row {
	struct eph_nat_top_entry e;
	unsigned int worker;
};

static int
dest_row_cmp(const void *a, const void *b)
{
	const struct eph_nat_top_entry *x = &((const struct dest_row *)a)->e;
	const struct eph_nat_top_entry *y = &((const struct dest_row *)b)->e;
	uint64_t ox = (uint64_t)x->live * (y->share ? y->share : 1);
	uint64_t oy = (uint64_t)y->live * (x->share ? x->share : 1);

	if (ox != oy)
		return ox < oy ? 1 : -1;
	return x->live < y->live ? 1 : x->live > y->live ? -1 : 0;
}

static int
cmd_show_destinations(void *arg, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	const struct eph_ctl_ctx *ctx = arg;
	const struct eph_dp *dp = ctx->dp;
	struct dest_row *rows;
	unsigned int n = 0;
	uint64_t top = EPH_LIMIT_DESTINATIONS_TOP_DEFAULT;
	json_t *list;

	if (eph_ctl_args_allowed(args, (const char *const[]){ "top", NULL }, err) < 0 ||
	    eph_ctl_arg_uint(args, "top", EPH_LIMIT_DESTINATIONS_TOP_MIN,
			     EPH_LIMIT_DESTINATIONS_TOP_MAX, &top, err) < 0)
		return -1;
	rows = calloc((size_t)dp->n_workers * EPH_NAT_TOP_N + 1, sizeof(*rows));
	if (rows == NULL) {
		eph_ctl_errorf(err, EPH_CTL_E_INTERNAL, "out of memory");
		return -1;
	}
	for (unsigned int w = 0; w < dp->n_workers && dp->nat.enabled; w++) {
		struct eph_nat_top_entry e[EPH_NAT_TOP_N];
		unsigned int k = eph_stats_nat_top(dp, w, e);

		for (unsigned int i = 0; i < k; i++)
			rows[n++] = (struct dest_row){ .e = e[i], .worker = w };
	}
	qsort(rows, n, sizeof(*rows), dest_row_cmp);
	list = json_array();
	for (unsigned int i = 0; i < n && i < top; i++) {
		const struct eph_nat_top_entry *e = &rows[i].e;

		json_array_append_new(
			list,
			json_pack("{s:s, s:o, s:o, s:s, s:i, s:i, s:i, s:i, s:f}", "pool",
				  dp->cfg->nat.pools[e->pool].name, "outside", ip_json(e->out_addr),
				  "remote",
				  e->remote_addr == 0 ? json_string("*")
						      : endpoint_json(e->remote_addr, e->remote_port),
				  "proto", proto_name(e->proto), "worker", rows[i].worker, "live",
				  e->live, "resting", e->resting, "share", e->share, "occupancy_pct",
				  e->share ? 100.0 * e->live / e->share : 0.0));
	}
	free(rows);
	*result = json_pack("{s:o}", "destinations", list);
	return 0;
}

static json_t *
addr_list_json(const uint32_t *a, unsigned int n)
{
	json_t *l = json_array();

	for (unsigned int i = 0; i < n; i++)
		json_array_append_new(l, eph_ctl_json_ipv4(a[i]));
	return l;
}

/* A VIP's SYN flood guards in its show.config entry o (0: automatic bound, no rate limit). */
static void
conf_vip_flood_json(json_t *o, const struct eph_conf_vip *v)
{
	if (o == NULL)
		return;
	json_object_set_new(o, "half_open_per_worker", json_integer(v->half_open_per_worker));
	json_object_set_new(o, "new_connections_per_s", json_integer(v->new_connections_per_s));
}

static int
cmd_show_config(void *arg, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	const struct eph_ctl_ctx *ctx = arg;
	const struct eph_reconfig *rc = ctx->dp->rc;
	const struct eph_conf *c = &rc->conf;
	json_t *pools, *vips = json_array();
	char when[32];
	struct tm tm;

	if (eph_ctl_args_allowed(args, (const char *const[]){ NULL }, err) < 0) {
		json_decref(vips);
		return -1;
	}
	pools = json_array();
	gmtime_r(&rc->changed_at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (unsigned int i = 0; i < c->n_pools; i++) {
		const struct eph_conf_pool *p = &c->pools[i];
		int slot = eph_reconfig_pool_slot(rc, p->name);
		json_t *draining = json_array(), *excl = json_array();

		for (unsigned int k = 0; slot >= 0 && k < rc->pools[slot].n_addrs; k++)
			if (rc->pools[slot].addrs[k].state == EPH_ADDR_DRAINING)
				json_array_append_new(draining,
						      eph_ctl_json_ipv4(rc->pools[slot].addrs[k].addr));
		for (unsigned int k = 0; k < p->n_excluded; k++)
			json_array_append_new(excl, json_integer(p->excluded[k]));
		json_array_append_new(
			pools,
			json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:s, s:b, s:b, s:b, "
				  "s:i, s:i, s:i, s:s, s:i, s:i}",
				  "name", p->name, "addresses", addr_list_json(p->addrs, p->n_addrs),
				  "draining", draining, "reserve",
				  addr_list_json(p->reserve, p->n_reserve), "ports",
				  ports_json(p->port_lo, p->port_hi), "excluded", excl, "inside",
				  inside_json(p), "mapping", eph_nat_mapping_name(p->mapping),
				  "filtering", eph_nat_filtering_name(p->filtering), "pooling",
				  eph_nat_pooling_name(p->pooling), "port_preservation",
				  p->port_preservation, "port_parity", p->port_parity,
				  "exhaustion_icmp", p->exhaustion_icmp, "max_sessions_per_host",
				  p->max_sessions_per_host, "quarantine_s", p->quarantine_s,
				  "warn_occupancy_pct", p->warn_occupancy, "log",
				  eph_nat_log_mode_name(p->log), "port_block_size",
				  p->port_block_size, "max_blocks_per_host", p->max_blocks_per_host));
	}
	for (unsigned int i = 0; i < c->n_vips; i++) {
		const struct eph_conf_vip *v = &c->vips[i];
		json_t *backends = json_array();

		for (unsigned int k = 0; k < v->n_backends; k++)
			json_array_append_new(
				backends,
				json_pack("{s:o, s:i, s:i, s:i}", "address",
					  eph_ctl_json_ipv4(v->backends[k].addr), "port",
					  v->backends[k].port, "weight", (int)v->backends[k].weight,
					  "max_connections", (int)v->backends[k].max_connections));
		json_array_append_new(
			vips,
			json_pack("{s:s, s:o, s:i, s:s, s:s, s:s, s:i, s:s, s:i, s:s, s:s, s:s, s:s, s:o}",
				  "name",
				  v->name, "address", eph_ctl_json_ipv4(v->addr), "port", v->port,
				  "protocol", proto_name(v->proto), "forwarding",
				  eph_lb_forwarding_name(v->forwarding), "source_pool",
				  v->pool >= 0 ? c->pools[v->pool].name : "", "maglev_size",
				  (int)v->maglev_size, "hash", eph_lb_hash_name(v->hash),
				  "max_connections", (int)v->max_connections, "refusal",
				  eph_lb_refusal_name(v->refusal), "on_remove",
				  eph_lb_on_remove_name(v->on_remove), "proxy_protocol",
				  eph_lb_proxy_name(v->proxy), "syn_proxy",
				  eph_lb_syn_proxy_name(v->syn_proxy), "backends", backends));
		conf_vip_flood_json(json_array_get(vips, json_array_size(vips) - 1), v);
	}
	*result = json_pack("{s:s, s:I, s:s, s:s, s:o, s:{s:i, s:i, s:i, s:i}, s:{s:o, s:b}, s:o}",
			    "path", ctx->conf_path, "generation", (json_int_t)rc->generation,
			    "changed_at", when, "last_change", rc->last_change, "pools", pools,
			    "timeouts", "udp", c->timeouts.udp, "tcp_established",
			    c->timeouts.tcp_established, "tcp_transitory", c->timeouts.tcp_transitory,
			    "icmp", c->timeouts.icmp, "nat_log", "file",
			    c->nat_log.file[0] ? json_string(c->nat_log.file) : json_null(), "syslog",
			    c->nat_log.syslog, "vips", vips);
	return 0;
}

/* ---- sessions: requests to the workers -------------------------------- */

static const char *const filter_keys[] = { "proto", "inside", "outside", "remote",
					   "port",  "pool",   "limit",   "all",    NULL };

static int
filter_parse(const struct eph_ctl_ctx *ctx, const json_t *args, struct eph_session_filter *f,
	     bool *any, struct eph_ctl_error *err)
{
	static const char *const prefix_keys[] = { "inside", "outside", "remote" };
	uint32_t *addr[] = { &f->in_addr, &f->out_addr, &f->remote_addr };
	uint32_t *mask[] = { &f->in_mask, &f->out_mask, &f->remote_mask };
	char pool[EPH_NAME_LEN];
	uint64_t port = 0;
	int rc;

	memset(f, 0, sizeof(*f));
	f->pool = -1;
	*any = false;
	rc = eph_ctl_arg_proto(args, "proto", &f->proto, err);
	if (rc < 0)
		return -1;
	*any |= rc > 0;
	for (unsigned int i = 0; i < 3; i++) {
		uint32_t a;
		uint8_t len;

		rc = eph_ctl_arg_prefix(args, prefix_keys[i], &a, &len, err);
		if (rc < 0)
			return -1;
		if (rc > 0) {
			*addr[i] = rte_cpu_to_be_32(a);
			*mask[i] = rte_cpu_to_be_32(len == 0 ? 0 : ~0u << (32 - len));
			*any = true;
		}
	}
	rc = eph_ctl_arg_uint(args, "port", EPH_LIMIT_PORT_MIN, EPH_LIMIT_PORT_MAX, &port, err);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		f->port = rte_cpu_to_be_16((uint16_t)port);
		*any = true;
	}
	rc = eph_ctl_arg_string(args, "pool", EPH_NAME_LEN - 1, pool, sizeof(pool), err);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		int slot = eph_reconfig_pool_slot(ctx->dp->rc, pool);

		if (slot < 0) {
			eph_ctl_errorf(err, EPH_CTL_E_REFUSED, "args.pool: no pool named \"%s\"", pool);
			return -1;
		}
		f->pool = (int16_t)slot;
		*any = true;
	}
	return 0;
}

/*
 * A request to every worker (dump or clear), run as a control socket job:
 * the control loop never waits on a worker, it looks at the requests once
 * a pass. A dump asks one worker at a time, each writing on from where the
 * previous one stopped, so that limit records are enough for all of them.
 * A request is enqueued when its worker's ring has room. The job answers
 * when every worker is done, or with an error at the deadline; either way
 * it is freed only once no worker holds one of its requests.
 */
struct workers_job {
	struct eph_ctl_job job; /* first: the server sees this */
	struct eph_dp *dp;
	int (*finish)(struct workers_job *j, json_t **result, struct eph_ctl_error *err);
	uint64_t deadline_ms;   /* set by the first poll */
	bool sequential;        /* one worker at a time */
	uint64_t limit;         /* dump: records wanted, room in out */
	struct eph_session_info *out;
	unsigned int n;         /* workers */
	struct worker_req {
		struct eph_nat_ctl req;
		bool sent;      /* enqueued, or done without asking (worker not running) */
	} w[];
};

static bool
workers_job_release(struct eph_ctl_job *job, bool force)
{
	struct workers_job *j = (struct workers_job *)job;

	for (unsigned int w = 0; !force && w < j->n; w++)
		if (j->w[w].sent && !__atomic_load_n(&j->w[w].req.done, __ATOMIC_ACQUIRE))
			return false;
	free(j->out);
	free(j);
	return true;
}

/* Ask the workers not asked yet, as far as their rings and the order allow. */
static void
workers_job_send(struct workers_job *j)
{
	uint32_t filled = 0;

	for (unsigned int w = 0; w < j->n; w++) {
		struct worker_req *r = &j->w[w];
		struct eph_worker *wk = j->dp->workers[w];

		if (r->sent) {
			/* A dump asks the next worker once this one is done. */
			if (j->sequential && !__atomic_load_n(&r->req.done, __ATOMIC_ACQUIRE))
				return;
			filled += r->req.n_out;
			continue;
		}
		if (j->out != NULL) {
			r->req.out = j->out + filled;
			r->req.max_out = (uint32_t)(j->limit - filled);
		}
		/* Not running (tests): nothing asked of it. */
		if (rte_eal_get_lcore_state(wk->lcore) != RUNNING) {
			r->req.done = true;
			r->sent = true;
			continue;
		}
		/* A full ring: asked again on the next pass. */
		if (rte_ring_sp_enqueue(wk->nat.ctl, &r->req) != 0)
			return;
		r->sent = true;
		if (j->sequential)
			return;
	}
}

static int
workers_job_poll(struct eph_ctl_job *job, uint64_t now_ms, json_t **result,
		 struct eph_ctl_error *err)
{
	struct workers_job *j = (struct workers_job *)job;
	unsigned int w;

	if (j->deadline_ms == 0)
		j->deadline_ms = now_ms + WORKER_WAIT_MS;
	workers_job_send(j);
	for (w = 0; w < j->n; w++)
		if (!j->w[w].sent || !__atomic_load_n(&j->w[w].req.done, __ATOMIC_ACQUIRE))
			break;
	if (w == j->n)
		return j->finish(j, result, err);
	if (now_ms <= j->deadline_ms)
		return EPH_CTL_PENDING;
	/* Answered now; freed once the worker lets go of its request (release). */
	eph_ctl_errorf(err, EPH_CTL_E_INTERNAL, "worker %u did not answer within %u ms", w,
		       WORKER_WAIT_MS);
	return -1;
}

static struct workers_job *
workers_job_new(struct eph_dp *dp, uint8_t op, const struct eph_session_filter *f,
		uint64_t limit, int (*finish)(struct workers_job *, json_t **,
					      struct eph_ctl_error *))
{
	size_t size = sizeof(struct workers_job) + dp->n_workers * sizeof(struct worker_req);
	struct workers_job *j = calloc(1, size);

	if (j == NULL)
		return NULL;
	j->job = (struct eph_ctl_job){ .poll = workers_job_poll, .release = workers_job_release,
				       .bytes = size };
	j->dp = dp;
	j->finish = finish;
	j->n = dp->n_workers;
	j->limit = limit;
	if (op == EPH_NAT_CTL_DUMP) {
		j->sequential = true;
		j->out = calloc(limit, sizeof(*j->out));
		if (j->out == NULL) {
			free(j);
			return NULL;
		}
		j->job.bytes += limit * sizeof(*j->out);
	}
	for (unsigned int w = 0; w < j->n; w++)
		j->w[w].req = (struct eph_nat_ctl){ .op = op, .filter = *f };
	return j;
}

static json_t *
session_json(const struct eph_dp *dp, const struct eph_session_info *s, unsigned int worker,
	     uint32_t now)
{
	const char *state = s->proto == IPPROTO_TCP ? eph_tcp_state_name(s->state) : "active";
	int64_t expires = (int32_t)(s->expire - now);

	return json_pack("{s:s, s:o, s:o, s:o, s:s, s:s, s:i, s:I, s:I, s:I, s:I}", "proto",
			 proto_name(s->proto), "inside", endpoint_json(s->in_addr, s->in_port),
			 "outside", endpoint_json(s->out_addr, s->out_port), "remote",
			 endpoint_json(s->remote_addr, s->remote_port), "state", state, "pool",
			 dp->cfg->nat.pools[s->pool].name, "worker", worker, "age_s",
			 (json_int_t)((now - s->created) / EPH_NAT_TICK_HZ), "expires_in_s",
			 (json_int_t)(expires > 0 ? expires / EPH_NAT_TICK_HZ : 0), "packets_out",
			 (json_int_t)s->pkts_out, "packets_in", (json_int_t)s->pkts_in);
}

static int
sessions_dumped(struct workers_job *j, json_t **result, struct eph_ctl_error *err)
{
	uint64_t matched = 0;
	json_t *list = json_array();

	for (unsigned int w = 0; w < j->n; w++) {
		const struct eph_nat_ctl *r = &j->w[w].req;

		matched += r->matched;
		for (uint32_t i = 0; r->out != NULL && i < r->n_out; i++)
			json_array_append_new(list, session_json(j->dp, &r->out[i], w, r->now));
	}
	*result = json_pack("{s:o, s:I, s:b}", "sessions", list, "matched", (json_int_t)matched,
			    "truncated", matched > json_array_size(list));
	return 0;
}

static int
cmd_show_sessions(void *arg, const json_t *args, struct eph_ctl_job **job, json_t **result,
		  struct eph_ctl_error *err)
{
	struct eph_ctl_ctx *ctx = arg;
	struct eph_dp *dp = ctx->dp;
	struct eph_session_filter f;
	uint64_t limit = EPH_LIMIT_SESSIONS_LIMIT_DEFAULT;
	struct workers_job *j;
	bool any;

	if (eph_ctl_args_allowed(args, filter_keys, err) < 0 || filter_parse(ctx, args, &f, &any, err) < 0 ||
	    eph_ctl_arg_uint(args, "limit", EPH_LIMIT_SESSIONS_LIMIT_MIN,
			     EPH_LIMIT_SESSIONS_LIMIT_MAX, &limit, err) < 0)
		return -1;
	if (!dp->nat.enabled) {
		*result = json_pack("{s:[], s:i, s:b}", "sessions", "matched", 0, "truncated", 0);
		return 0;
	}
	j = workers_job_new(dp, EPH_NAT_CTL_DUMP, &f, limit, sessions_dumped);
	if (j == NULL) {
		eph_ctl_errorf(err, EPH_CTL_E_INTERNAL, "out of memory for %" PRIu64 " sessions",
			       limit);
		return -1;
	}
	*job = &j->job;
	return EPH_CTL_PENDING;
}

static int
sessions_cleared(struct workers_job *j, json_t **result, struct eph_ctl_error *err)
{
	uint64_t cleared = 0;

	for (unsigned int w = 0; w < j->n; w++)
		cleared += j->w[w].req.cleared;
	*result = json_pack("{s:I}", "cleared", (json_int_t)cleared);
	return 0;
}

static int
cmd_sessions_clear(void *arg, const json_t *args, struct eph_ctl_job **job, json_t **result,
		   struct eph_ctl_error *err)
{
	struct eph_ctl_ctx *ctx = arg;
	struct eph_dp *dp = ctx->dp;
	struct eph_session_filter f;
	struct workers_job *j;
	bool any, all = false;

	if (eph_ctl_args_allowed(args, filter_keys, err) < 0 || filter_parse(ctx, args, &f, &any, err) < 0 ||
	    eph_ctl_arg_bool(args, "all", &all, err) < 0)
		return -1;
	if (json_object_get(args, "limit") != NULL) {
		eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT,
			       "args.limit: not accepted by sessions.clear (it clears every match)");
		return -1;
	}
	if (!any && !all) {
		eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT,
			       "args: expected a filter (proto, inside, outside, remote, port, pool) "
			       "or \"all\": true to clear every session");
		return -1;
	}
	if (any && all) {
		eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT,
			       "args.all: expected either filters or \"all\", not both");
		return -1;
	}
	if (!dp->nat.enabled) {
		*result = json_pack("{s:i}", "cleared", 0);
		return 0;
	}
	j = workers_job_new(dp, EPH_NAT_CTL_CLEAR, &f, 0, sessions_cleared);
	if (j == NULL) {
		eph_ctl_errorf(err, EPH_CTL_E_INTERNAL, "out of memory");
		return -1;
	}
	*job = &j->job;
	return EPH_CTL_PENDING;
}

/* ---- changes --------------------------------------------------------- */

/* Check and apply a changed copy of the running configuration; next is freed. */
/*
 * The lines the configuration check or the reconfiguration wrote, without
 * their "error: " prefixes (the client says it was refused) nor the last
 * newline.
 */
static void
refusal_text(char *msg, size_t len)
{
	char *r = msg, *w = msg;
	bool line_start = true;

	if (len > 0 && msg[len - 1] == '\n')
		msg[len - 1] = '\0';
	while (*r != '\0') {
		if (line_start && strncmp(r, "error: ", 7) == 0)
			r += 7;
		line_start = *r == '\n';
		*w++ = *r++;
	}
	*w = '\0';
}

static int
apply_change(struct eph_ctl_ctx *ctx, struct eph_conf *next, const char *what,
	     struct eph_ctl_error *err)
{
	char *msg = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&msg, &len);
	int ret;

	if (f == NULL) {
		eph_conf_free(next);
		eph_ctl_errorf(err, EPH_CTL_E_INTERNAL, "out of memory");
		return -1;
	}
	ret = eph_conf_check(next, f);
	if (ret == 0)
		ret = eph_reconfig_apply(ctx->dp->rc, next, what, f) == 0 ? 0 : 1;
	fclose(f);
	eph_conf_free(next);
	if (ret != 0) {
		if (msg != NULL)
			refusal_text(msg, len);
		eph_ctl_errorf(err, ret < 0 ? EPH_CTL_E_INVALID_ARGUMENT : EPH_CTL_E_REFUSED, "%s",
			       msg != NULL && msg[0] ? msg : "the change was refused");
	}
	free(msg);
	return ret == 0 ? 0 : -1;
}

/* A copy of the running configuration and its pool named by args.pool. */
static struct eph_conf_pool *
change_begin(struct eph_ctl_ctx *ctx, const json_t *args, struct eph_conf *next,
	     struct eph_ctl_error *err)
{
	char name[EPH_NAME_LEN];
	int rc = eph_ctl_arg_string(args, "pool", EPH_NAME_LEN - 1, name, sizeof(name), err);

	if (rc < 0)
		return NULL;
	if (rc == 0) {
		eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT, "args.pool: expected a pool name");
		return NULL;
	}
	if (eph_conf_dup(next, &ctx->dp->rc->conf) != 0) {
		eph_ctl_errorf(err, EPH_CTL_E_INTERNAL, "out of memory");
		return NULL;
	}
	for (unsigned int i = 0; i < next->n_pools; i++)
		if (strcmp(next->pools[i].name, name) == 0)
			return &next->pools[i];
	eph_conf_free(next);
	eph_ctl_errorf(err, EPH_CTL_E_REFUSED, "args.pool: no pool named \"%s\"", name);
	return NULL;
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Whether x is in the sorted list. An empty list may have no array at all,
 * and bsearch may not be given a NULL one, whatever the count.
 */
static bool
u32_in(const uint32_t *sorted, unsigned int n, uint32_t x)
{
	return n > 0 && bsearch(&x, sorted, n, sizeof(x), u32_cmp) != NULL;
}

static json_t *
span_json(uint32_t first, uint32_t count)
{
	json_t *l = json_array();

	for (uint32_t i = 0; i < count; i++)
		json_array_append_new(l, eph_ctl_json_ipv4(first + i));
	return l;
}

/*
 * The start of add-address and remove-address: args.pool and args.address
 * checked, a copy of the running configuration, and each address of the
 * span already in the pool (member) or not (!member), else refused.
 */
static struct eph_conf_pool *
address_change_begin(struct eph_ctl_ctx *ctx, const json_t *args, struct eph_conf *next,
		     uint32_t *first, uint32_t *count, bool member, struct eph_ctl_error *err)
{
	struct eph_conf_pool *p;

	if (eph_ctl_args_allowed(args, (const char *const[]){ "pool", "address", NULL }, err) < 0)
		return NULL;
	if (eph_ctl_arg_addr_span(args, "address", first, count, err) <= 0) {
		if (err->code[0] == '\0')
			eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT,
				       "args.address: expected an address, a range A-B or a prefix");
		return NULL;
	}
	p = change_begin(ctx, args, next, err);
	if (p == NULL)
		return NULL;
	for (uint32_t i = 0; i < *count; i++) {
		uint32_t a = *first + i;

		/* Another pool's address: say whose, rather than what the check would blame. */
		for (unsigned int k = 0; !member && k < next->n_pools; k++) {
			const struct eph_conf_pool *o = &next->pools[k];

			if (o == p || (!u32_in(o->addrs, o->n_addrs, a) &&
				       !u32_in(o->reserve, o->n_reserve, a)))
				continue;
			eph_ctl_errorf(err, EPH_CTL_E_REFUSED,
				       "args.address: %u.%u.%u.%u is an address of pool %s",
				       a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff, o->name);
			eph_conf_free(next);
			return NULL;
		}
		if (u32_in(p->addrs, p->n_addrs, a) == member)
			continue;
		eph_ctl_errorf(err, EPH_CTL_E_REFUSED, "args.address: %u.%u.%u.%u %s pool %s",
			       a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff,
			       member ? "is not an address of" : "is already in", p->name);
		eph_conf_free(next);
		return NULL;
	}
	return p;
}

static int
cmd_pool_add_address(void *arg, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	struct eph_ctl_ctx *ctx = arg;
	struct eph_conf next;
	struct eph_conf_pool *p;
	uint32_t first, count, *addrs;
	char what[160];

	p = address_change_begin(ctx, args, &next, &first, &count, false, err);
	if (p == NULL)
		return -1;
	addrs = realloc(p->addrs, (p->n_addrs + count) * sizeof(*addrs));
	if (addrs == NULL) {
		eph_conf_free(&next);
		eph_ctl_errorf(err, EPH_CTL_E_INTERNAL, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < count; i++)
		addrs[p->n_addrs++] = first + i;
	p->addrs = addrs;
	qsort(p->addrs, p->n_addrs, sizeof(uint32_t), u32_cmp);
	snprintf(what, sizeof(what), "pool add-address %s %s", p->name,
		 json_string_value(json_object_get(args, "address")));
	*result = json_pack("{s:s, s:o}", "pool", p->name, "added", span_json(first, count));
	if (apply_change(ctx, &next, what, err) != 0) {
		json_decref(*result);
		*result = NULL;
		return -1;
	}
	json_object_set_new(*result, "generation", json_integer((json_int_t)ctx->dp->rc->generation));
	return 0;
}

static int
cmd_pool_remove_address(void *arg, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	struct eph_ctl_ctx *ctx = arg;
	const struct eph_reconfig *rc = ctx->dp->rc;
	struct eph_conf next;
	struct eph_conf_pool *p;
	uint32_t first, count;
	unsigned int n = 0;
	json_t *draining;
	char what[160], name[EPH_NAME_LEN];
	int slot;

	p = address_change_begin(ctx, args, &next, &first, &count, true, err);
	if (p == NULL)
		return -1;
	for (unsigned int i = 0; i < p->n_addrs; i++)
		if (p->addrs[i] < first || p->addrs[i] - first >= count)
			p->addrs[n++] = p->addrs[i];
	p->n_addrs = n;
	snprintf(name, sizeof(name), "%s", p->name);
	snprintf(what, sizeof(what), "pool remove-address %s %s", p->name,
		 json_string_value(json_object_get(args, "address")));
	if (apply_change(ctx, &next, what, err) != 0)
		return -1;
	draining = json_array();
	slot = eph_reconfig_pool_slot(rc, name);
	for (unsigned int k = 0; slot >= 0 && k < rc->pools[slot].n_addrs; k++) {
		const struct eph_rc_addr *a = &rc->pools[slot].addrs[k];

		if (a->addr >= first && a->addr - first < count)
			json_array_append_new(
				draining,
				json_pack("{s:o, s:I}", "address", eph_ctl_json_ipv4(a->addr),
					  "sessions",
					  (json_int_t)eph_reconfig_addr_in_use(rc, (unsigned)slot,
									  a->slot)));
	}
	*result = json_pack("{s:s, s:o, s:o, s:I}", "pool", name, "removed",
			    span_json(first, count), "draining", draining, "generation",
			    (json_int_t)rc->generation);
	return 0;
}

static int
cmd_pool_set_range(void *arg, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	struct eph_ctl_ctx *ctx = arg;
	const struct eph_reconfig *rc = ctx->dp->rc;
	struct eph_conf next;
	struct eph_conf_pool *p;
	uint16_t lo, hi, old_lo, old_hi;
	unsigned int n = 0;
	uint64_t draining = 0;
	char what[160], name[EPH_NAME_LEN];
	int slot;

	if (eph_ctl_args_allowed(args, (const char *const[]){ "pool", "ports", NULL }, err) < 0)
		return -1;
	if (eph_ctl_arg_port_range(args, "ports", &lo, &hi, err) <= 0) {
		if (err->code[0] == '\0')
			eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT,
				       "args.ports: expected \"LO-HI\" with %d <= LO <= HI <= %d",
				       EPH_LIMIT_PORT_MIN, EPH_LIMIT_PORT_MAX);
		return -1;
	}
	p = change_begin(ctx, args, &next, err);
	if (p == NULL)
		return -1;
	old_lo = p->port_lo;
	old_hi = p->port_hi;
	if (old_lo == lo && old_hi == hi) {
		eph_conf_free(&next);
		eph_ctl_errorf(err, EPH_CTL_E_REFUSED, "args.ports: pool %s already uses %u-%u",
			       p->name, lo, hi);
		return -1;
	}
	p->port_lo = lo;
	p->port_hi = hi;
	/* Exclusions outside the new range no longer mean anything. */
	for (unsigned int i = 0; i < p->n_excluded; i++)
		if (p->excluded[i] >= lo && p->excluded[i] <= hi)
			p->excluded[n++] = p->excluded[i];
	p->n_excluded = n;
	snprintf(name, sizeof(name), "%s", p->name);
	snprintf(what, sizeof(what), "pool set-range %s %u-%u", p->name, lo, hi);
	if (apply_change(ctx, &next, what, err) != 0)
		return -1;
	slot = eph_reconfig_pool_slot(rc, name);
	for (unsigned int g = 0; slot >= 0 && g < EPH_PA_GENS; g++)
		if ((rc->pools[slot].gens & (1u << g)) && g != rc->pools[slot].gen)
			draining += eph_reconfig_gen_live(rc, (unsigned int)slot, g);
	*result = json_pack("{s:s, s:o, s:o, s:I, s:I}", "pool", name, "ports", ports_json(lo, hi),
			    "previous", ports_json(old_lo, old_hi), "draining_sessions",
			    (json_int_t)draining, "generation", (json_int_t)rc->generation);
	return 0;
}

/* The field of t that timeout k sets. */
static unsigned int *
timeout_field(struct eph_conf_timeouts *t, enum eph_timeout_kind k)
{
	switch (k) {
	case EPH_TIMEOUT_UDP:
		return &t->udp;
	case EPH_TIMEOUT_TCP_ESTABLISHED:
		return &t->tcp_established;
	case EPH_TIMEOUT_TCP_TRANSITORY:
		return &t->tcp_transitory;
	case EPH_TIMEOUT_ICMP:
	case EPH_TIMEOUT_N:
		break;
	}
	return &t->icmp;
}

/*
 * Ranges, floors and their words come from control/limits.h, as for the
 * file: what the file refuses is refused here with the same sentence, and
 * what the file warns about draws the same warning.
 */
static int
cmd_timeouts_set(void *arg, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	static const char *const keys[] = { "udp", "tcp-established", "tcp-transitory", "icmp",
					    NULL };
	struct eph_ctl_ctx *ctx = arg;
	struct eph_conf next;
	int64_t v[EPH_TIMEOUT_N];
	bool any = false;
	json_t *warnings = json_array();
	char what[160] = "timeouts set", why[160];

	if (eph_ctl_args_allowed(args, keys, err) < 0)
		goto fail;
	for (unsigned int k = 0; k < EPH_TIMEOUT_N; k++) {
		const struct eph_timeout_limit *l = &eph_timeout_limits[k];
		const json_t *j = json_object_get(args, l->name);
		uint64_t unused;

		v[k] = 0;
		if (j == NULL)
			continue;
		/* Not an integer at all: the usual argument error. */
		if (!json_is_integer(j)) {
			eph_ctl_arg_uint(args, l->name, l->min_s, l->max_s, &unused, err);
			goto fail;
		}
		v[k] = json_integer_value(j);
		if (eph_timeout_range_error(k, v[k], why, sizeof(why))) {
			eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT, "timeouts.%s: %s", l->name,
				       why);
			goto fail;
		}
		any = true;
	}
	if (!any) {
		eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT,
			       "args: expected at least one of udp, tcp-established, tcp-transitory, "
			       "icmp (seconds)");
		goto fail;
	}
	if (eph_conf_dup(&next, &ctx->dp->rc->conf) != 0) {
		eph_ctl_errorf(err, EPH_CTL_E_INTERNAL, "out of memory");
		goto fail;
	}
	for (unsigned int k = 0; k < EPH_TIMEOUT_N; k++) {
		const char *name = eph_timeout_limits[k].name;
		size_t l = strlen(what);

		if (v[k] == 0)
			continue;
		*timeout_field(&next.timeouts, k) = (unsigned int)v[k];
		snprintf(what + l, sizeof(what) - l, " %s %" PRId64, name, v[k]);
		if (eph_timeout_floor_warning(k, v[k], why, sizeof(why)))
			json_array_append_new(warnings, json_sprintf("timeouts.%s: %s", name, why));
	}
	if (apply_change(ctx, &next, what, err) != 0)
		goto fail;
	*result = json_pack("{s:{s:i, s:i, s:i, s:i}, s:I, s:o}", "timeouts", "udp",
			    ctx->dp->rc->conf.timeouts.udp, "tcp_established",
			    ctx->dp->rc->conf.timeouts.tcp_established, "tcp_transitory",
			    ctx->dp->rc->conf.timeouts.tcp_transitory, "icmp",
			    ctx->dp->rc->conf.timeouts.icmp, "generation",
			    (json_int_t)ctx->dp->rc->generation, "warnings", warnings);
	return 0;
fail:
	json_decref(warnings);
	return -1;
}

/* ---- the balancer ---------------------------------------------------- */

static const struct eph_lb_vip *
snapshot_vip(const struct eph_dp *dp, const char *name)
{
	const struct eph_lb_cfg *lb = dp->cfg->lb;

	for (unsigned int i = 0; lb != NULL && i < lb->n_vips; i++)
		if (strcmp(lb->vips[i].name, name) == 0)
			return &lb->vips[i];
	return NULL;
}

/* A VIP's SYN flood guards in its show.vips entry o: the bound per worker, live and refusals. */
static void
vip_flood_json(json_t *o, const struct eph_lb_vip *v, const struct eph_lb_vip_totals *st)
{
	if (o == NULL)
		return;
	json_object_set_new(o, "half_open_per_worker", json_integer(v->max_half_open));
	json_object_set_new(o, "half_open", json_integer((json_int_t)st->half_open));
	json_object_set_new(o, "half_open_replaced",
			    json_integer((json_int_t)st->half_open_replaced));
	json_object_set_new(o, "rate_limited", json_integer((json_int_t)st->rate_limited));
}

static int
cmd_show_vips(void *arg, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	const struct eph_ctl_ctx *ctx = arg;
	const struct eph_dp *dp = ctx->dp;
	const struct eph_lb_cfg *lb = dp->cfg->lb;
	json_t *vips = json_array();

	if (eph_ctl_args_allowed(args, (const char *const[]){ NULL }, err) < 0) {
		json_decref(vips);
		return -1;
	}
	for (unsigned int i = 0; lb != NULL && i < lb->n_vips; i++) {
		const struct eph_lb_vip *v = &lb->vips[i];
		struct eph_lb_vip_totals st;

		eph_stats_lb_vip(dp, v, &st);
		json_array_append_new(
			vips,
			json_pack("{s:s, s:o, s:i, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:i, s:i, s:I, s:I, "
				  "s:I, s:I, s:I, s:s, s:s, s:s}",
				  "name", v->name, "address", ip_json(v->addr), "port",
				  rte_be_to_cpu_16(v->port), "protocol", proto_name(v->proto),
				  "forwarding", eph_lb_forwarding_name(v->forwarding), "scheduler",
				  "maglev", "maglev_size", (int)v->maglev_size, "hash",
				  eph_lb_hash_name(v->hash), "pool",
				  v->pool >= 0 ? dp->cfg->nat.pools[v->pool].name : "", "backends",
				  st.backends, "up", st.up, "removed", st.removed, "active",
				  (json_int_t)st.active, "total", (json_int_t)st.total, "no_backend",
				  (json_int_t)st.no_backend, "over_limit", (json_int_t)st.over_limit,
				  "no_port", (json_int_t)st.no_port, "on_remove",
				  eph_lb_on_remove_name(v->on_remove), "proxy_protocol",
				  eph_lb_proxy_name((enum eph_lb_proxy)v->proxy), "syn_proxy",
				  eph_lb_syn_proxy_name((enum eph_lb_syn_proxy)v->syn_proxy)));
		vip_flood_json(json_array_get(vips, json_array_size(vips) - 1), v, &st);
	}
	*result = json_pack("{s:o}", "vips", vips);
	return 0;
}

static int
vip_arg(const json_t *args, char *name, struct eph_ctl_error *err)
{
	int rc = eph_ctl_arg_string(args, "vip", EPH_NAME_LEN - 1, name, EPH_NAME_LEN, err);

	if (rc == 0)
		eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT, "args.vip: expected a VIP name");
	return rc > 0 ? 0 : -1;
}

static int
cmd_show_backends(void *arg, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	const struct eph_ctl_ctx *ctx = arg;
	const struct eph_dp *dp = ctx->dp;
	const struct eph_lb_vip *v;
	char name[EPH_NAME_LEN];
	json_t *backends, *locals;

	if (eph_ctl_args_allowed(args, (const char *const[]){ "vip", NULL }, err) < 0 ||
	    vip_arg(args, name, err) < 0)
		return -1;
	v = snapshot_vip(dp, name);
	if (v == NULL) {
		eph_ctl_errorf(err, EPH_CTL_E_REFUSED, "args.vip: no VIP named \"%s\"", name);
		return -1;
	}
	backends = json_array();
	for (unsigned int k = 0; k < v->n_backends; k++) {
		const struct eph_lb_backend *b = &v->backends[k];
		struct eph_lb_backend_stats st;
		struct eph_health_status hs;
		json_t *health;

		eph_stats_lb_backend(dp, v, b, &st);
		eph_stats_lb_health(dp, v, b, &hs);
		health = json_pack("{s:s, s:b, s:b, s:b, s:b, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, "
				   "s:s?, s:I}",
				   "state", hs.up ? "up" : "down", "checked", hs.checked, "passive",
				   hs.passive, "ejected",
				   hs.ejected, "kept", hs.kept, "last", hs.checks ? hs.last : NULL,
				   "latency_us", (json_int_t)hs.latency_us, "checks",
				   (json_int_t)hs.checks, "failed", (json_int_t)hs.failed,
				   "connect_failures", (json_int_t)st.connect_failures, "downs",
				   (json_int_t)hs.downs, "ups", (json_int_t)hs.ups, "reason",
				   hs.reason[0] ? hs.reason : NULL, "since_s",
				   (json_int_t)(hs.since_ms / 1000));
		json_array_append_new(
			backends,
			json_pack("{s:o, s:i, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
				  "address", ip_json(b->addr), "port",
				  b->port != 0 ? rte_be_to_cpu_16(b->port) : 0, "state",
				  eph_lb_backend_state_name(b), "weight", (int)b->weight, "active",
				  (json_int_t)st.active, "total", (json_int_t)st.total,
				  "pkts_to_backend", (json_int_t)st.pkts_to, "pkts_from_backend",
				  (json_int_t)st.pkts_from, "bytes_to_backend", (json_int_t)st.bytes_to,
				  "bytes_from_backend", (json_int_t)st.bytes_from, "over_limit",
				  (json_int_t)st.over_limit, "no_port", (json_int_t)st.no_port, "health",
				  health));
	}
	locals = json_array();
	if (v->pool >= 0) {
		const struct eph_nat_pool *p = &dp->cfg->nat.pools[v->pool];

		for (unsigned int a = 0; a < p->n_all; a++) {
			struct eph_pool_addr_stats st;

			eph_stats_pool_addr(dp, (unsigned int)v->pool, p->all[a].slot, &st);
			json_array_append_new(
				locals, json_pack("{s:o, s:I, s:I}", "address", ip_json(p->all[a].addr),
						  "ports_in_use", (json_int_t)st.in_use, "exhausted",
						  (json_int_t)st.exhausted));
		}
	}
	*result = json_pack("{s:s, s:o, s:o}", "vip", v->name, "backends", backends,
			    "local_addresses", locals);
	return 0;
}

/*
 * vip.backend: add, remove or set-weight (args.op) backend args.address
 * [args.port, default the VIP's] of VIP args.vip, on a copy of the running
 * configuration, checked and applied like every change.
 */
static int
cmd_vip_backend(void *arg, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	struct eph_ctl_ctx *ctx = arg;
	char name[EPH_NAME_LEN], op[16], what[160], a[16];
	struct eph_conf_vip *v = NULL;
	struct eph_conf_backend *b = NULL;
	struct eph_conf next;
	uint64_t port = 0, weight = EPH_LIMIT_BACKEND_WEIGHT_DEFAULT;
	uint32_t addr;
	bool add, remove;
	int rc;

	if (eph_ctl_args_allowed(args, (const char *const[]){ "op", "vip", "address", "port",
								 "weight", NULL },
				 err) < 0 ||
	    vip_arg(args, name, err) < 0)
		return -1;
	rc = eph_ctl_arg_string(args, "op", sizeof(op) - 1, op, sizeof(op), err);
	if (rc < 0)
		return -1;
	add = rc > 0 && strcmp(op, "add") == 0;
	remove = rc > 0 && strcmp(op, "remove") == 0;
	if (!add && !remove && (rc == 0 || strcmp(op, "set-weight") != 0)) {
		eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT,
			       "args.op: expected add, remove or set-weight");
		return -1;
	}
	if (eph_ctl_arg_ipv4(args, "address", &addr, err) <= 0) {
		if (err->code[0] == '\0')
			eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT,
				       "args.address: expected a backend's IPv4 address");
		return -1;
	}
	if ((rc = eph_ctl_arg_uint(args, "port", EPH_LIMIT_PORT_MIN, EPH_LIMIT_PORT_MAX, &port,
				   err)) < 0)
		return -1;
	rc = eph_ctl_arg_uint(args, "weight", EPH_LIMIT_BACKEND_WEIGHT_MIN,
			      EPH_LIMIT_BACKEND_WEIGHT_MAX, &weight, err);
	if (rc < 0)
		return -1;
	if (rc > 0 && remove) {
		eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT,
			       "args.weight: remove takes no weight");
		return -1;
	}
	if (rc == 0 && !add && !remove) {
		eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT,
			       "args.weight: expected a weight from %d to %d",
			       EPH_LIMIT_BACKEND_WEIGHT_MIN, EPH_LIMIT_BACKEND_WEIGHT_MAX);
		return -1;
	}
	if (eph_conf_dup(&next, &ctx->dp->rc->conf) != 0) {
		eph_ctl_errorf(err, EPH_CTL_E_INTERNAL, "out of memory");
		return -1;
	}
	for (unsigned int i = 0; i < next.n_vips && v == NULL; i++)
		if (strcmp(next.vips[i].name, name) == 0)
			v = &next.vips[i];
	if (v == NULL) {
		eph_conf_free(&next);
		eph_ctl_errorf(err, EPH_CTL_E_REFUSED, "args.vip: no VIP named \"%s\"", name);
		return -1;
	}
	if (json_object_get(args, "port") == NULL)
		port = v->port;
	for (unsigned int k = 0; k < v->n_backends && b == NULL; k++)
		if (v->backends[k].addr == addr && v->backends[k].port == port)
			b = &v->backends[k];
	snprintf(a, sizeof(a), "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
		 addr & 0xff);
	if (add == (b != NULL)) {
		eph_conf_free(&next);
		eph_ctl_errorf(err, EPH_CTL_E_REFUSED, "args.address: %s:%u %s vip %s", a,
			       (unsigned int)port, add ? "is already a backend of" : "is no backend of",
			       name);
		return -1;
	}
	if (add) {
		struct eph_conf_backend *nb;

		if (v->n_backends >= EPH_MAX_VIP_BACKENDS) {
			eph_conf_free(&next);
			eph_ctl_errorf(err, EPH_CTL_E_REFUSED,
				       "args.vip: vip %s already has %u backends, the most one VIP "
				       "may have",
				       name, EPH_MAX_VIP_BACKENDS);
			return -1;
		}
		nb = realloc(v->backends, (v->n_backends + 1) * sizeof(*nb));
		if (nb == NULL) {
			eph_conf_free(&next);
			eph_ctl_errorf(err, EPH_CTL_E_INTERNAL, "out of memory");
			return -1;
		}
		v->backends = nb;
		nb[v->n_backends++] = (struct eph_conf_backend){
			.addr = addr, .port = (uint16_t)port, .weight = (uint32_t)weight,
		};
		eph_conf_backends_sort(v);
	} else if (remove) {
		*b = v->backends[--v->n_backends];
		eph_conf_backends_sort(v);
	} else {
		b->weight = (uint32_t)weight;
	}
	snprintf(what, sizeof(what), "vip backend %s %s %s:%u%s", op, name, a, (unsigned int)port,
		 remove ? "" : (add ? " added" : " weight set"));
	if (apply_change(ctx, &next, what, err) != 0)
		return -1;
	*result = json_pack("{s:s, s:s, s:o, s:i, s:i, s:I}", "vip", name, "op", op, "address",
			    eph_ctl_json_ipv4(addr), "port", (int)port, "weight",
			    remove ? 0 : (int)weight, "generation",
			    (json_int_t)ctx->dp->rc->generation);
	return 0;
}

static void
diff_line(void *arg, bool needs_restart, const char *change)
{
	json_t **lists = arg;

	json_array_append_new(lists[needs_restart], json_string(change));
}

int
eph_ctl_reload(struct eph_ctl_ctx *ctx, json_t **changes, struct eph_ctl_error *err)
{
	struct eph_conf next;
	json_t *lists[2] = { json_array(), json_array() };
	char *msg = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&msg, &len);
	int ret;

	*changes = NULL;
	if (f == NULL) {
		eph_ctl_errorf(err, EPH_CTL_E_INTERNAL, "out of memory");
		goto fail;
	}
	ret = eph_conf_load(ctx->conf_path, &next, f);
	fclose(f);
	if (ret != 0) {
		if (len > 0 && msg[len - 1] == '\n')
			msg[len - 1] = '\0';
		eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT, "%s", msg);
		goto fail;
	}
	eph_conf_diff(&ctx->dp->rc->conf, &next, diff_line, lists);
	if (json_array_size(lists[1]) != 0) {
		char buf[400] = "";
		size_t i;
		json_t *v;

		json_array_foreach(lists[1], i, v) {
			size_t l = strlen(buf);

			snprintf(buf + l, sizeof(buf) - l, "%s%s", i ? "; " : "", json_string_value(v));
		}
		eph_conf_free(&next);
		eph_ctl_errorf(err, EPH_CTL_E_REFUSED, "%s: these changes need a restart, nothing "
			       "was applied: %s", ctx->conf_path, buf);
		goto fail;
	}
	free(msg);
	msg = NULL;
	len = 0;
	f = open_memstream(&msg, &len);
	if (f == NULL) {
		eph_conf_free(&next);
		eph_ctl_errorf(err, EPH_CTL_E_INTERNAL, "out of memory");
		goto fail;
	}
	ret = json_array_size(lists[0]) == 0 ? 0 : eph_reconfig_apply(ctx->dp->rc, &next, "reload", f);
	fclose(f);
	eph_conf_free(&next);
	if (ret != 0) {
		refusal_text(msg, len);
		eph_ctl_errorf(err, EPH_CTL_E_REFUSED, "%s", msg);
		goto fail;
	}
	free(msg);
	json_decref(lists[1]);
	*changes = lists[0];
	return 0;
fail:
	free(msg);
	json_decref(lists[0]);
	json_decref(lists[1]);
	return -1;
}

static int
cmd_reload(void *arg, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	struct eph_ctl_ctx *ctx = arg;
	json_t *changes;

	if (eph_ctl_args_allowed(args, (const char *const[]){ NULL }, err) < 0 ||
	    eph_ctl_reload(ctx, &changes, err) != 0)
		return -1;
	*result = json_pack("{s:I, s:o}", "generation", (json_int_t)ctx->dp->rc->generation,
			    "changes", changes);
	return 0;
}

static int
cmd_metrics(void *arg, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	char *text;

	if (eph_ctl_args_allowed(args, (const char *const[]){ NULL }, err) < 0)
		return -1;
	text = eph_metrics_render(arg);
	if (text == NULL) {
		eph_ctl_errorf(err, EPH_CTL_E_INTERNAL, "out of memory");
		return -1;
	}
	*result = json_pack("{s:s}", "text", text);
	free(text);
	return 0;
}

/* Answered at once (fn), or by a job over several passes (start): see ctl_server.h. */
#define CMD(n, f, s) { .name = (n), .fn = (f), .summary = (s) }
#define JOB(n, f, s) { .name = (n), .start = (f), .summary = (s) }

const struct eph_ctl_command eph_ctl_commands[] = {
	CMD("version", cmd_version, "daemon version, protocol version and uptime"),
	CMD("show.stats", cmd_show_stats, "packets, drops and NAT counters, per worker and in total"),
	CMD("show.ports", cmd_show_ports, "ports: address, link, packet and error counters"),
	CMD("show.pools", cmd_show_pools, "pools and their outside addresses: ports in use, refusals"),
	JOB("show.sessions", cmd_show_sessions,
	  "sessions matching proto/inside/outside/remote/port/pool, up to limit"),
	CMD("show.destinations", cmd_show_destinations,
	  "the busiest destinations by occupancy of their port share (top N)"),
	CMD("show.config", cmd_show_config, "the running configuration and its last change"),
	CMD("pool.add-address", cmd_pool_add_address, "add outside addresses to a pool"),
	CMD("pool.remove-address", cmd_pool_remove_address,
	  "remove outside addresses from a pool; their sessions drain"),
	CMD("pool.set-range", cmd_pool_set_range,
	  "change a pool's port range; sessions on the old range drain"),
	CMD("timeouts.set", cmd_timeouts_set, "change idle timeouts (seconds)"),
	CMD("show.vips", cmd_show_vips, "VIPs: forwarding, backends, connections, refusals"),
	CMD("show.backends", cmd_show_backends,
	  "a VIP's backends: state, health, weight, connections, packets and bytes both ways"),
	CMD("vip.backend", cmd_vip_backend,
	  "add, remove or re-weight a VIP's backend (op add|remove|set-weight)"),
	JOB("sessions.clear", cmd_sessions_clear, "delete the sessions matching a filter, or all"),
	CMD("reload", cmd_reload, "re-read the configuration file and apply what changed"),
	CMD("metrics", cmd_metrics, "Prometheus text exposition"),
};

const unsigned int eph_ctl_n_commands = RTE_DIM(eph_ctl_commands);

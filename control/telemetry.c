/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPDK telemetry endpoints under /ephemera/. They run on the telemetry
 * thread and only read: counters (plain aligned 64-bit loads), the
 * configuration, and the neighbour list under its lock.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_telemetry.h>

#include "control/stats.h"
#include "control/telemetry.h"
#include "dataplane/flow/session.h"

static const struct eph_dp *tel_dp;
static const struct eph_arp *tel_arp;
static uint64_t tel_start_tsc;

/*
 * Lists are dicts keyed "0", "1", ...: DPDK 22.11 nests dicts only inside
 * dicts, and its keys may not contain the dots of an address.
 */
/* The configuration snapshot may be replaced meanwhile: hold it while reading. */
static const struct eph_dp_cfg *
cfg_hold(void)
{
	pthread_rwlock_rdlock((pthread_rwlock_t *)&tel_dp->cfg_lock);
	return tel_dp->cfg;
}

static void
cfg_release(void)
{
	pthread_rwlock_unlock((pthread_rwlock_t *)&tel_dp->cfg_lock);
}

static int
add_entry(struct rte_tel_data *d, unsigned int index, struct rte_tel_data *entry)
{
	char key[16];

	snprintf(key, sizeof(key), "%u", index);
	return rte_tel_data_add_dict_container(d, key, entry, 0);
}

static int
handle_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct eph_counters t;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	eph_stats_total(tel_dp, &t);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "uptime_s", (rte_rdtsc() - tel_start_tsc) / tel_dp->tsc_hz);
	rte_tel_data_add_dict_u64(d, "workers", tel_dp->n_workers);
	rte_tel_data_add_dict_u64(d, "ports", tel_dp->n_ports);
	rte_tel_data_add_dict_u64(d, "rx", t.rx);
	rte_tel_data_add_dict_u64(d, "tx", eph_counters_tx(&t));
	rte_tel_data_add_dict_u64(d, "forwarded", t.forwarded);
	rte_tel_data_add_dict_u64(d, "drops", eph_counters_drops(&t));
	rte_tel_data_add_dict_u64(d, "echo_replies", t.echo_replies);
	rte_tel_data_add_dict_u64(d, "icmp_errors_sent", t.icmp_errors_sent);
	rte_tel_data_add_dict_u64(d, "icmp_errors_rate_limited", t.icmp_errors_suppressed);
	rte_tel_data_add_dict_u64(d, "to_control", t.to_control);
	rte_tel_data_add_dict_u64(d, "from_control", t.from_control);
	rte_tel_data_add_dict_u64(d, "mss_clamped", t.mss_clamped);
	rte_tel_data_add_dict_u64(d, "mss_bad_options", t.mss_bad_options);
	rte_tel_data_add_dict_u64(d, "fragmented", t.fragmented);
	rte_tel_data_add_dict_u64(d, "fragments_sent", t.fragments_sent);
	rte_tel_data_add_dict_u64(d, "neighbours", tel_dp->neigh.n_entries);
	return 0;
}

static int
handle_drops(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct eph_counters t;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	eph_stats_total(tel_dp, &t);
	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < EPH_DROP_MAX; i++)
		rte_tel_data_add_dict_u64(d, eph_drop_names[i], t.drop[i]);
	return 0;
}

static int
handle_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct eph_counters t;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	eph_stats_total(tel_dp, &t);
	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < tel_dp->n_ports; i++) {
		const struct eph_port *p = &tel_dp->ports[i];
		struct rte_tel_data *pd = rte_tel_data_alloc();
		char buf[RTE_ETHER_ADDR_FMT_SIZE], ip[INET_ADDRSTRLEN], addr[32];
		struct rte_eth_stats hw;
		struct rte_eth_link link;

		if (pd == NULL)
			return -ENOMEM;
		memset(&hw, 0, sizeof(hw));
		memset(&link, 0, sizeof(link));
		rte_eth_stats_get(p->port_id, &hw);
		rte_eth_link_get_nowait(p->port_id, &link);
		rte_tel_data_start_dict(pd);
		rte_tel_data_add_dict_u64(pd, "port_id", p->port_id);
		rte_tel_data_add_dict_string(pd, "role", eph_port_role_name(p->role));
		snprintf(addr, sizeof(addr), "%s/%d", eph_ip_str(p->addr, ip, sizeof(ip)),
			 __builtin_popcount(p->mask));
		rte_tel_data_add_dict_string(pd, "address", addr);
		rte_ether_format_addr(buf, sizeof(buf), &p->mac);
		rte_tel_data_add_dict_string(pd, "mac", buf);
		rte_tel_data_add_dict_u64(pd, "mtu", p->mtu);
		rte_tel_data_add_dict_u64(pd, "link_up", link.link_status);
		rte_tel_data_add_dict_u64(pd, "rx", t.port[i].rx);
		rte_tel_data_add_dict_u64(pd, "tx", t.port[i].tx);
		rte_tel_data_add_dict_string(pd, "kernel_interface", p->has_kernel ? p->kernel_if : "");
		rte_tel_data_add_dict_u64(pd, "to_kernel", t.port[i].to_kernel);
		rte_tel_data_add_dict_u64(pd, "from_kernel", t.port[i].from_kernel);
		rte_tel_data_add_dict_u64(pd, "hw_rx_packets", hw.ipackets);
		rte_tel_data_add_dict_u64(pd, "hw_tx_packets", hw.opackets);
		rte_tel_data_add_dict_u64(pd, "hw_rx_bytes", hw.ibytes);
		rte_tel_data_add_dict_u64(pd, "hw_tx_bytes", hw.obytes);
		rte_tel_data_add_dict_u64(pd, "hw_rx_missed", hw.imissed);
		rte_tel_data_add_dict_u64(pd, "hw_rx_errors", hw.ierrors);
		rte_tel_data_add_dict_u64(pd, "hw_tx_errors", hw.oerrors);
		rte_tel_data_add_dict_u64(pd, "hw_rx_nombuf", hw.rx_nombuf);
		rte_tel_data_add_dict_container(d, p->name, pd, 0);
	}
	return 0;
}

static int
handle_workers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < tel_dp->n_workers; i++) {
		const struct eph_worker *w = tel_dp->workers[i];
		struct rte_tel_data *wd = rte_tel_data_alloc();
		char name[32];

		if (wd == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(wd);
		rte_tel_data_add_dict_u64(wd, "lcore", w->lcore);
		rte_tel_data_add_dict_u64(wd, "rx", w->stats.rx);
		rte_tel_data_add_dict_u64(wd, "tx", eph_counters_tx(&w->stats));
		rte_tel_data_add_dict_u64(wd, "forwarded", w->stats.forwarded);
		rte_tel_data_add_dict_u64(wd, "drops", eph_counters_drops(&w->stats));
		rte_tel_data_add_dict_u64(wd, "to_control", w->stats.to_control);
		rte_tel_data_add_dict_u64(wd, "from_control", w->stats.from_control);
		rte_tel_data_add_dict_u64(wd, "polls", w->stats.polls);
		rte_tel_data_add_dict_u64(wd, "busy_polls", w->stats.busy_polls);
		rte_tel_data_add_dict_u64(wd, "mss_clamped", w->stats.mss_clamped);
		snprintf(name, sizeof(name), "worker%u", w->id);
		rte_tel_data_add_dict_container(d, name, wd, 0);
	}
	return 0;
}

static const char *const neigh_state_names[] = {
	[EPH_NEIGH_INCOMPLETE] = "incomplete",
	[EPH_NEIGH_REACHABLE] = "reachable",
	[EPH_NEIGH_PROBE] = "probe",
};

static int
handle_neighbours(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct eph_neigh_table *t = (struct eph_neigh_table *)(uintptr_t)&tel_dp->neigh;
	const struct eph_neigh *n;
	unsigned int shown = 0;
	uint64_t now = rte_rdtsc();

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	/*
	 * DPDK 22.11 nests dicts only in dicts, and keys may not hold '.':
	 * entries are keyed by their position and carry their address.
	 */
	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&t->lock);
	TAILQ_FOREACH(n, &t->all, link) {
		struct rte_tel_data *nd;
		char ip[INET_ADDRSTRLEN], mac[RTE_ETHER_ADDR_FMT_SIZE];

		if (shown == RTE_TEL_MAX_DICT_ENTRIES)
			break;
		nd = rte_tel_data_alloc();
		if (nd == NULL)
			break;
		rte_tel_data_start_dict(nd);
		rte_tel_data_add_dict_string(nd, "ip", eph_ip_str(n->key.ip, ip, sizeof(ip)));
		rte_tel_data_add_dict_string(nd, "port", tel_dp->ports[n->key.port].name);
		rte_ether_format_addr(mac, sizeof(mac), &n->mac);
		rte_tel_data_add_dict_string(nd, "mac", n->valid ? mac : "");
		rte_tel_data_add_dict_string(nd, "state", neigh_state_names[n->state]);
		rte_tel_data_add_dict_u64(nd, "held", n->n_held);
		rte_tel_data_add_dict_u64(nd, "confirmed_ms_ago",
					  n->valid ? (now - n->confirmed_tsc) * 1000 / tel_dp->tsc_hz
						   : 0);
		add_entry(d, shown++, nd);
	}
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int
add_route(struct rte_tel_data *d, unsigned int index, uint32_t prefix, uint8_t len,
	  const char *type, uint32_t via, const char *port)
{
	struct rte_tel_data *rd = rte_tel_data_alloc();
	char ip[INET_ADDRSTRLEN], buf[32];

	if (rd == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(rd);
	snprintf(buf, sizeof(buf), "%s/%u", eph_ip_str(rte_cpu_to_be_32(prefix), ip, sizeof(ip)),
		 len);
	rte_tel_data_add_dict_string(rd, "prefix", buf);
	rte_tel_data_add_dict_string(rd, "type", type);
	if (via != 0)
		rte_tel_data_add_dict_string(rd, "via",
					     eph_ip_str(rte_cpu_to_be_32(via), ip, sizeof(ip)));
	rte_tel_data_add_dict_string(rd, "port", port);
	return add_entry(d, index, rd);
}

static int
handle_routes(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct eph_conf *conf = tel_dp->conf;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < conf->n_ports; i++) {
		const struct eph_conf_port *p = &conf->ports[i];
		uint32_t mask = p->prefix_len ? ~0u << (32 - p->prefix_len) : 0;

		add_route(d, i, p->addr & mask, p->prefix_len, "connected", 0, p->name);
	}
	for (unsigned int i = 0; i < conf->n_routes; i++) {
		const struct eph_conf_route *r = &conf->routes[i];

		if (add_route(d, conf->n_ports + i, r->prefix, r->prefix_len, "static", r->via,
			      conf->ports[r->port].name) != 0)
			break; /* telemetry dicts hold 256 entries */
	}
	return 0;
}

static int
handle_arp(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct eph_arp_counters *s = &tel_arp->stats;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "requests_rx", s->requests_rx);
	rte_tel_data_add_dict_u64(d, "replies_rx", s->replies_rx);
	rte_tel_data_add_dict_u64(d, "requests_tx", s->requests_tx);
	rte_tel_data_add_dict_u64(d, "replies_tx", s->replies_tx);
	rte_tel_data_add_dict_u64(d, "resolved", s->resolved);
	rte_tel_data_add_dict_u64(d, "expired", s->expired);
	rte_tel_data_add_dict_u64(d, "mac_changes", s->mac_changes);
	rte_tel_data_add_dict_u64(d, "held", s->held);
	rte_tel_data_add_dict_u64(d, "released", s->released);
	return 0;
}

static int
handle_nat(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	const struct eph_dp_cfg *cfg = cfg_hold();

	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < tel_dp->n_workers && tel_dp->nat.enabled; i++) {
		struct rte_tel_data *wd = rte_tel_data_alloc();
		struct eph_nat_worker_stats st;
		char name[32];

		if (wd == NULL) {
			cfg_release();
			return -ENOMEM;
		}
		eph_stats_nat_worker(tel_dp, cfg, i, &st);
		rte_tel_data_start_dict(wd);
		rte_tel_data_add_dict_u64(wd, "sessions", st.sessions);
		rte_tel_data_add_dict_u64(wd, "mappings", st.mappings);
		/* Ports of this share lent to others, and sessions here on ports lent by others. */
		rte_tel_data_add_dict_u64(wd, "ports_on_loan", st.ports_on_loan);
		rte_tel_data_add_dict_u64(wd, "borrowed_live", st.borrowed_live);
		rte_tel_data_add_dict_u64(wd, "hosts", st.hosts);
		rte_tel_data_add_dict_u64(wd, "inbound_sessions", st.inbound);
		rte_tel_data_add_dict_u64(wd, "destinations", st.destinations);
		for (unsigned int c = 0; c < EPH_NAT_CTR_MAX; c++)
			rte_tel_data_add_dict_u64(wd, eph_nat_counter_names[c], st.ctr[c]);
		/* Refusals of this share, counted before any borrow serves them. */
		rte_tel_data_add_dict_u64(wd, "alloc_exhausted", st.alloc_exhausted);
		rte_tel_data_add_dict_u64(wd, "alloc_no_memory", st.alloc_no_memory);
		/* Both must stay 0; with chunks_in_use they show that the allocator leaks nothing. */
		rte_tel_data_add_dict_u64(wd, "alloc_lost", st.alloc_lost);
		rte_tel_data_add_dict_u64(wd, "alloc_bad_release", st.alloc_bad_release);
		rte_tel_data_add_dict_u64(wd, "alloc_chunks_in_use", st.alloc_chunks_in_use);
		rte_tel_data_add_dict_u64(wd, "log_lost", st.log_lost);
		rte_tel_data_add_dict_u64(wd, "alerts_suppressed", st.alerts_suppressed);
		snprintf(name, sizeof(name), "worker%u", i);
		rte_tel_data_add_dict_container(d, name, wd, 0);
	}
	cfg_release();
	return 0;
}

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
	return "?";
}

/* The balancer's totals: connections, counters, table size and bytes per record. */
static int
handle_lb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct eph_lb_totals st;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	eph_stats_lb_total(tel_dp, &st);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "connections", st.connections);
	rte_tel_data_add_dict_u64(d, "connections_tcp", st.connections_tcp);
	rte_tel_data_add_dict_u64(d, "connections_udp", st.connections_udp);
	for (unsigned int c = 0; c < EPH_LB_CTR_MAX; c++)
		rte_tel_data_add_dict_u64(d, eph_lb_counter_names[c], st.ctr[c]);
	rte_tel_data_add_dict_u64(d, "connections_per_worker_max", st.table_max);
	rte_tel_data_add_dict_u64(d, "table_bytes", st.bytes);
	rte_tel_data_add_dict_u64(d, "bytes_per_connection",
				  st.table_max != 0 && tel_dp->n_workers != 0
					  ? st.bytes / (st.table_max * tel_dp->n_workers)
					  : 0);
	return 0;
}

/* Per VIP: what show vips says. */
static int
handle_lb_vips(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct eph_dp_cfg *cfg = cfg_hold();
	const struct eph_lb_cfg *lb = cfg->lb;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; lb != NULL && i < lb->n_vips; i++) {
		const struct eph_lb_vip *v = &lb->vips[i];
		struct rte_tel_data *vd = rte_tel_data_alloc();
		struct eph_lb_vip_totals st;
		char ip[INET_ADDRSTRLEN];

		if (vd == NULL) {
			cfg_release();
			return -ENOMEM;
		}
		eph_stats_lb_vip(tel_dp, v, &st);
		rte_tel_data_start_dict(vd);
		rte_tel_data_add_dict_string(vd, "address", eph_ip_str(v->addr, ip, sizeof(ip)));
		rte_tel_data_add_dict_u64(vd, "port", rte_be_to_cpu_16(v->port));
		rte_tel_data_add_dict_string(vd, "protocol", proto_name(v->proto));
		rte_tel_data_add_dict_string(vd, "forwarding",
					     eph_lb_forwarding_name((enum eph_lb_forwarding)v->forwarding));
		rte_tel_data_add_dict_u64(vd, "backends", st.backends);
		rte_tel_data_add_dict_u64(vd, "up", st.up);
		rte_tel_data_add_dict_u64(vd, "removed", st.removed);
		rte_tel_data_add_dict_u64(vd, "active", st.active);
		rte_tel_data_add_dict_u64(vd, "total", st.total);
		rte_tel_data_add_dict_u64(vd, "no_backend", st.no_backend);
		rte_tel_data_add_dict_u64(vd, "over_limit", st.over_limit);
		rte_tel_data_add_dict_u64(vd, "no_port", st.no_port);
		rte_tel_data_add_dict_u64(vd, "half_open", st.half_open);
		rte_tel_data_add_dict_u64(vd, "half_open_replaced", st.half_open_replaced);
		rte_tel_data_add_dict_u64(vd, "rate_limited", st.rate_limited);
		rte_tel_data_add_dict_container(d, v->name, vd, 0);
	}
	cfg_release();
	return 0;
}

/* Per backend of VIP params: what show backends says. */
static int
handle_lb_backends(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct eph_dp_cfg *cfg = cfg_hold();
	const struct eph_lb_cfg *lb = cfg->lb;
	const struct eph_lb_vip *v = NULL;

	RTE_SET_USED(cmd);
	for (unsigned int i = 0; lb != NULL && params != NULL && i < lb->n_vips && v == NULL; i++)
		if (strcmp(lb->vips[i].name, params) == 0)
			v = &lb->vips[i];
	if (v == NULL) {
		cfg_release();
		return -EINVAL; /* the parameter names no VIP */
	}
	rte_tel_data_start_dict(d);
	for (unsigned int k = 0; k < v->n_backends && k < RTE_TEL_MAX_DICT_ENTRIES; k++) {
		const struct eph_lb_backend *b = &v->backends[k];
		struct rte_tel_data *bd = rte_tel_data_alloc();
		struct eph_lb_backend_stats st;
		struct eph_health_status hs;
		char ip[INET_ADDRSTRLEN];

		if (bd == NULL) {
			cfg_release();
			return -ENOMEM;
		}
		eph_stats_lb_backend(tel_dp, v, b, &st);
		rte_tel_data_start_dict(bd);
		rte_tel_data_add_dict_string(bd, "address", eph_ip_str(b->addr, ip, sizeof(ip)));
		rte_tel_data_add_dict_u64(bd, "port", rte_be_to_cpu_16(b->port));
		rte_tel_data_add_dict_string(bd, "state", eph_lb_backend_state_name(b));
		rte_tel_data_add_dict_u64(bd, "weight", b->weight);
		rte_tel_data_add_dict_u64(bd, "active", st.active);
		rte_tel_data_add_dict_u64(bd, "total", st.total);
		rte_tel_data_add_dict_u64(bd, "pkts_to_backend", st.pkts_to);
		rte_tel_data_add_dict_u64(bd, "pkts_from_backend", st.pkts_from);
		rte_tel_data_add_dict_u64(bd, "bytes_to_backend", st.bytes_to);
		rte_tel_data_add_dict_u64(bd, "bytes_from_backend", st.bytes_from);
		rte_tel_data_add_dict_u64(bd, "over_limit", st.over_limit);
		rte_tel_data_add_dict_u64(bd, "no_port", st.no_port);
		eph_stats_lb_health(tel_dp, v, b, &hs);
		rte_tel_data_add_dict_string(bd, "health", hs.up ? "up" : "down");
		rte_tel_data_add_dict_string(bd, "last_check", hs.checks ? hs.last : "");
		rte_tel_data_add_dict_u64(bd, "latency_us", hs.latency_us);
		rte_tel_data_add_dict_u64(bd, "checks", hs.checks);
		rte_tel_data_add_dict_u64(bd, "checks_failed", hs.failed);
		rte_tel_data_add_dict_u64(bd, "connect_failures", st.connect_failures);
		rte_tel_data_add_dict_u64(bd, "downs", hs.downs);
		rte_tel_data_add_dict_u64(bd, "ups", hs.ups);
		/* Keyed by index like /ephemera/pools: telemetry names take no '.' or ':'. */
		add_entry(d, k, bd);
	}
	cfg_release();
	return 0;
}

static const char *
addr_state_name(uint8_t state)
{
	switch (state) {
	case EPH_ADDR_ACTIVE:
		return "active";
	case EPH_ADDR_RESERVE:
		return "reserve";
	default:
		return "draining";
	}
}

/* Per pool and outside address: ports in use and refusals, summed over workers. */
static int
handle_pools(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct eph_dp_cfg *cfg = cfg_hold();
	const struct eph_nat_cfg *nat = &cfg->nat;
	unsigned int shown = 0;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	for (unsigned int p = 0; p < nat->n_slots; p++) {
		const struct eph_nat_pool *pool = &nat->pools[p];

		for (unsigned int a = 0; a < pool->n_all && shown < RTE_TEL_MAX_DICT_ENTRIES; a++) {
			struct rte_tel_data *ad = rte_tel_data_alloc();
			char ip[INET_ADDRSTRLEN];
			struct eph_pool_addr_stats st;

			if (ad == NULL) {
				cfg_release();
				return -ENOMEM;
			}
			eph_stats_pool_addr(tel_dp, p, pool->all[a].slot, &st);
			rte_tel_data_start_dict(ad);
			rte_tel_data_add_dict_string(ad, "pool", pool->name);
			rte_tel_data_add_dict_string(ad, "address",
						     eph_ip_str(pool->all[a].addr, ip, sizeof(ip)));
			rte_tel_data_add_dict_string(ad, "state", addr_state_name(pool->all[a].state));
			rte_tel_data_add_dict_u64(ad, "ports_in_use", st.in_use);
			rte_tel_data_add_dict_u64(ad, "exhausted", st.exhausted);
			rte_tel_data_add_dict_u64(ad, "occupancy_warnings", st.warnings);
			add_entry(d, shown++, ad);
		}
	}
	cfg_release();
	return 0;
}


/* The busiest destinations of every worker (refreshed by the workers each second). */
static int
handle_destinations(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct eph_dp_cfg *cfg = cfg_hold();
	unsigned int shown = 0;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	for (unsigned int w = 0; w < tel_dp->n_workers && tel_dp->nat.enabled; w++) {
		struct eph_nat_top_entry top[EPH_NAT_TOP_N];
		unsigned int n = eph_stats_nat_top(tel_dp, w, top);

		for (unsigned int i = 0; i < n && shown < RTE_TEL_MAX_DICT_ENTRIES; i++) {
			struct rte_tel_data *dd = rte_tel_data_alloc();
			char ip[INET_ADDRSTRLEN];

			if (dd == NULL) {
				cfg_release();
				return -ENOMEM;
			}
			rte_tel_data_start_dict(dd);
			rte_tel_data_add_dict_u64(dd, "worker", w);
			rte_tel_data_add_dict_string(dd, "pool", cfg->nat.pools[top[i].pool].name);
			rte_tel_data_add_dict_string(dd, "outside",
						     eph_ip_str(top[i].out_addr, ip, sizeof(ip)));
			rte_tel_data_add_dict_string(dd, "remote",
						     top[i].remote_addr == 0
							     ? "any"
							     : eph_ip_str(top[i].remote_addr, ip,
									  sizeof(ip)));
			rte_tel_data_add_dict_u64(dd, "remote_port",
						  rte_be_to_cpu_16(top[i].remote_port));
			rte_tel_data_add_dict_string(dd, "proto", proto_name(top[i].proto));
			rte_tel_data_add_dict_u64(dd, "live", top[i].live);
			rte_tel_data_add_dict_u64(dd, "resting", top[i].resting);
			rte_tel_data_add_dict_u64(dd, "share", top[i].share);
			rte_tel_data_add_dict_u64(dd, "occupancy_pct",
						  top[i].share ? 100ull * top[i].live / top[i].share : 0);
			add_entry(d, shown++, dd);
		}
	}
	cfg_release();
	return 0;
}

static const char *const refusal_reason_names[EPH_REFUSED_REASONS] = {
	[EPH_REFUSED_NO_PORT] = "no_port",
	[EPH_REFUSED_HOST_LIMIT] = "host_limit",
	[EPH_REFUSED_TABLE_FULL] = "table_full",
};

/* Destinations and inside hosts refused most (RFC 6888 REQ-11 accounting). */
static int
handle_refusals(const char *cmd, const char *params, struct rte_tel_data *d, bool hosts)
{
	const struct eph_dp_cfg *cfg = cfg_hold();
	struct eph_nat_refusals r;
	unsigned int shown = 0;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	for (unsigned int w = 0; w < tel_dp->n_workers && tel_dp->nat.enabled; w++) {
		eph_stats_nat_refusals(tel_dp, w, &r);
		for (unsigned int i = 0; i < EPH_NAT_REFUSAL_SLOTS; i++) {
			struct rte_tel_data *e;
			char ip[INET_ADDRSTRLEN];

			if ((hosts ? r.host[i].total : r.dest[i].count) == 0 ||
			    shown == RTE_TEL_MAX_DICT_ENTRIES)
				continue;
			e = rte_tel_data_alloc();
			if (e == NULL) {
				cfg_release();
				return -ENOMEM;
			}
			rte_tel_data_start_dict(e);
			rte_tel_data_add_dict_u64(e, "worker", w);
			if (hosts) {
				const struct eph_nat_refused_host *h = &r.host[i];

				rte_tel_data_add_dict_string(e, "pool", cfg->nat.pools[h->pool].name);
				rte_tel_data_add_dict_string(e, "host", eph_ip_str(h->addr, ip, sizeof(ip)));
				rte_tel_data_add_dict_u64(e, "refused", h->total);
				for (unsigned int k = 0; k < EPH_REFUSED_REASONS; k++)
					rte_tel_data_add_dict_u64(e, refusal_reason_names[k], h->count[k]);
			} else {
				const struct eph_nat_refused_dest *x = &r.dest[i];

				rte_tel_data_add_dict_string(e, "pool", cfg->nat.pools[x->pool].name);
				rte_tel_data_add_dict_string(e, "outside",
							     eph_ip_str(x->out_addr, ip, sizeof(ip)));
				rte_tel_data_add_dict_string(e, "remote",
							     x->remote_addr == 0
								     ? "any"
								     : eph_ip_str(x->remote_addr, ip,
										  sizeof(ip)));
				rte_tel_data_add_dict_u64(e, "remote_port",
							  rte_be_to_cpu_16(x->remote_port));
				rte_tel_data_add_dict_string(e, "proto", proto_name(x->proto));
				rte_tel_data_add_dict_u64(e, "refused", x->count);
			}
			add_entry(d, shown++, e);
		}
	}
	cfg_release();
	return 0;
}

static int
handle_refused_destinations(const char *cmd, const char *params, struct rte_tel_data *d)
{
	return handle_refusals(cmd, params, d, false);
}

static int
handle_refused_hosts(const char *cmd, const char *params, struct rte_tel_data *d)
{
	return handle_refusals(cmd, params, d, true);
}

int
eph_telemetry_init(const struct eph_dp *dp, const struct eph_arp *arp)
{
	static const struct {
		const char *cmd;
		telemetry_cb fn;
		const char *help;
	} endpoints[] = {
		{ "/ephemera/stats", handle_stats, "Totals: packets, forwarded, drops. No parameters" },
		{ "/ephemera/drops", handle_drops, "Dropped packets by reason. No parameters" },
		{ "/ephemera/ports", handle_ports, "Per-port counters and addresses. No parameters" },
		{ "/ephemera/workers", handle_workers, "Per-worker counters. No parameters" },
		{ "/ephemera/neighbours", handle_neighbours, "ARP neighbour table. No parameters" },
		{ "/ephemera/routes", handle_routes, "Connected and static routes. No parameters" },
		{ "/ephemera/arp", handle_arp, "ARP protocol counters. No parameters" },
		{ "/ephemera/nat", handle_nat, "Per-worker NAT sessions and events. No parameters" },
		{ "/ephemera/pools", handle_pools,
		  "Ports in use and refusals per pool address. No parameters" },
		{ "/ephemera/destinations", handle_destinations,
		  "Busiest destinations by ports in use, per worker. No parameters" },
		{ "/ephemera/refused_destinations", handle_refused_destinations,
		  "Destinations refused most for want of a port, per worker. No parameters" },
		{ "/ephemera/refused_hosts", handle_refused_hosts,
		  "Inside hosts refused most, by reason, per worker. No parameters" },
		{ "/ephemera/lb", handle_lb,
		  "Balancer connections and counters, every worker. No parameters" },
		{ "/ephemera/lb/vips", handle_lb_vips,
		  "Per VIP: backends, connections, refusals. No parameters" },
		{ "/ephemera/lb/backends", handle_lb_backends,
		  "Per backend of a VIP: state, weight, connections, packets, bytes. "
		  "Parameter: the VIP's name" },
	};

	tel_dp = dp;
	tel_arp = arp;
	tel_start_tsc = rte_rdtsc();
	for (size_t i = 0; i < RTE_DIM(endpoints); i++) {
		int ret = rte_telemetry_register_cmd(endpoints[i].cmd, endpoints[i].fn,
						     endpoints[i].help);

		if (ret != 0)
			return ret;
	}
	return 0;
}

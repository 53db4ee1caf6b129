/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Differences between two configurations, for reload (eph_conf_diff): one
 * human line per difference, and whether a running daemon can apply it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config/common.h"
#include "control/config/health.h"

struct diff_ctx {
	void (*emit)(void *arg, bool needs_restart, const char *change);
	void *arg;
	int n;
};

__attribute__((format(printf, 3, 4))) static void
diff_line(struct diff_ctx *d, bool restart, const char *fmt, ...)
{
	char line[sizeof(((struct eph_conf_nat_log *)0)->file) * 2 + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	d->n++;
	if (d->emit != NULL)
		d->emit(d->arg, restart, line);
}

static void
diff_uint(struct diff_ctx *d, bool restart, const char *key, unsigned a, unsigned b)
{
	if (a != b)
		diff_line(d, restart, "%s: %u -> %u", key, a, b);
}

static void
diff_bool(struct diff_ctx *d, bool restart, const char *key, bool a, bool b)
{
	if (a != b)
		diff_line(d, restart, "%s: %s -> %s", key, a ? "true" : "false",
			  b ? "true" : "false");
}

/* Long or structured strings: that they changed is what matters. */
static void
diff_changed(struct diff_ctx *d, bool restart, const char *key, const char *a, const char *b)
{
	if (strcmp(a, b) != 0)
		diff_line(d, restart, "%s changed", key);
}

/* ports[].mss-clamp as written: off, auto or the limit. */
static const char *
mss_clamp_str(char *buf, size_t size, uint16_t v)
{
	if (v == EPH_MSS_CLAMP_OFF)
		return "off";
	if (v == EPH_MSS_CLAMP_AUTO)
		return "auto";
	snprintf(buf, size, "%u", v);
	return buf;
}

static void
diff_word(struct diff_ctx *d, bool restart, const char *key, const char *a, const char *b)
{
	if (strcmp(a, b) != 0)
		diff_line(d, restart, "%s: %s -> %s", key, a[0] != '\0' ? a : "(none)",
			  b[0] != '\0' ? b : "(none)");
}

static void
diff_eal(struct diff_ctx *d, const struct eph_conf_eal *a, const struct eph_conf_eal *b)
{
	bool args_changed = a->n_args != b->n_args;
	unsigned i;

	diff_changed(d, true, "eal.lcores", a->lcores, b->lcores);
	if (a->main_lcore != b->main_lcore)
		diff_line(d, true, "eal.main-lcore: %d -> %d", a->main_lcore, b->main_lcore);
	diff_bool(d, true, "eal.hugepages", a->hugepages, b->hugepages);
	diff_uint(d, true, "eal.memory-mb", a->memory_mb, b->memory_mb);
	diff_word(d, true, "eal.file-prefix", a->file_prefix, b->file_prefix);
	diff_word(d, true, "eal.log-level", a->log_level, b->log_level);
	for (i = 0; i < a->n_args && !args_changed && i < EPH_MAX_EAL_ARGS; i++)
		args_changed = strcmp(a->args[i] != NULL ? a->args[i] : "",
				      b->args[i] != NULL ? b->args[i] : "") != 0;
	if (args_changed)
		diff_line(d, true, "eal.args changed");
}

static void
diff_ports(struct diff_ctx *d, const struct eph_conf *a, const struct eph_conf *b)
{
	char key[EPH_NAME_LEN + 32], x[16], y[16];
	bool moved = false;
	unsigned i;
	int j;

	for (i = 0; i < a->n_ports; i++) {
		const struct eph_conf_port *p = &a->ports[i], *q;

		j = eph_conf_port_by_name(b, p->name);
		if (j < 0) {
			diff_line(d, true, "ports[%s] removed", p->name);
			continue;
		}
		moved = moved || (unsigned)j != i;
		q = &b->ports[j];
#define PKEY(k) (snprintf(key, sizeof(key), "ports[%s].%s", p->name, k), key)
		diff_changed(d, true, PKEY("device"), p->device, q->device);
		diff_word(d, true, PKEY("role"), eph_port_role_name(p->role),
			  eph_port_role_name(q->role));
		if (p->addr != q->addr || p->prefix_len != q->prefix_len)
			diff_line(d, true, "%s: %s/%u -> %s/%u", PKEY("address"),
				  eph_conf_ip_str(x, sizeof(x), p->addr), p->prefix_len,
				  eph_conf_ip_str(y, sizeof(y), q->addr), q->prefix_len);
		diff_uint(d, true, PKEY("mtu"), p->mtu, q->mtu);
		diff_uint(d, true, PKEY("rx-desc"), p->rx_desc, q->rx_desc);
		diff_uint(d, true, PKEY("tx-desc"), p->tx_desc, q->tx_desc);
		diff_bool(d, true, PKEY("promiscuous"), p->promiscuous, q->promiscuous);
		diff_word(d, true, PKEY("mss-clamp"), mss_clamp_str(x, sizeof(x), p->mss_clamp),
			  mss_clamp_str(y, sizeof(y), q->mss_clamp));
		diff_word(d, true, PKEY("kernel-interface"), p->kernel_if, q->kernel_if);
#undef PKEY
	}
	for (i = 0; i < b->n_ports; i++)
		if (eph_conf_port_by_name(a, b->ports[i].name) < 0)
			diff_line(d, true, "ports[%s] added", b->ports[i].name);
	if (moved)
		diff_line(d, true, "ports: order changed");
}

static int
route_cmp(const void *x, const void *y)
{
	const struct eph_conf_route *a = x, *b = y;

	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	return a->prefix_len < b->prefix_len ? -1 : a->prefix_len > b->prefix_len;
}

static const char *
route_port_name(const struct eph_conf *conf, const struct eph_conf_route *rt)
{
	return rt->port < conf->n_ports ? conf->ports[rt->port].name : "?";
}

static void
diff_route_line(struct diff_ctx *d, const struct eph_conf *conf, const struct eph_conf_route *rt,
		const char *change)
{
	char p[16], v[16];

	diff_line(d, false, "routes: %s/%u via %s (%s) %s",
		  eph_conf_ip_str(p, sizeof(p), rt->prefix), rt->prefix_len,
		  eph_conf_ip_str(v, sizeof(v), rt->via), route_port_name(conf, rt), change);
}

/* Tables of 64k routes: sorted copies, then one merge. 0 or -ENOMEM. */
static int
diff_routes(struct diff_ctx *d, const struct eph_conf *a, const struct eph_conf *b)
{
	struct eph_conf_route *ra, *rb;
	bool oom = false;
	unsigned i = 0, j = 0;
	char p[16], x[16], y[16];

	ra = eph_conf_copy_array(a->routes, a->n_routes, sizeof(*ra), &oom);
	rb = eph_conf_copy_array(b->routes, b->n_routes, sizeof(*rb), &oom);
	if (oom) {
		free(ra);
		free(rb);
		return -ENOMEM;
	}
	if (ra != NULL)
		qsort(ra, a->n_routes, sizeof(*ra), route_cmp);
	if (rb != NULL)
		qsort(rb, b->n_routes, sizeof(*rb), route_cmp);
	while (i < a->n_routes || j < b->n_routes) {
		int c = i == a->n_routes ? 1 : j == b->n_routes ? -1 : route_cmp(&ra[i], &rb[j]);

		if (c < 0) {
			diff_route_line(d, a, &ra[i++], "removed");
		} else if (c > 0) {
			diff_route_line(d, b, &rb[j++], "added");
		} else {
			const char *pa = route_port_name(a, &ra[i]),
				   *pb = route_port_name(b, &rb[j]);

			if (ra[i].via != rb[j].via || strcmp(pa, pb) != 0)
				diff_line(d, false, "routes: %s/%u via %s (%s) -> via %s (%s)",
					  eph_conf_ip_str(p, sizeof(p), ra[i].prefix),
					  ra[i].prefix_len,
					  eph_conf_ip_str(x, sizeof(x), ra[i].via), pa,
					  eph_conf_ip_str(y, sizeof(y), rb[j].via), pb);
			i++;
			j++;
		}
	}
	free(ra);
	free(rb);
	return 0;
}

static void
diff_control(struct diff_ctx *d, const struct eph_conf_control *a, const struct eph_conf_control *b)
{
	char x[32], y[32], ip[16];

	diff_word(d, true, "control.socket", a->socket, b->socket);
	diff_word(d, true, "control.group", a->group, b->group);
	diff_bool(d, true, "control.telemetry", a->telemetry, b->telemetry);
	if (a->metrics_http != b->metrics_http ||
	    (a->metrics_http &&
	     (a->metrics_addr != b->metrics_addr || a->metrics_port != b->metrics_port))) {
		if (a->metrics_http)
			snprintf(x, sizeof(x), "%s:%u",
				 eph_conf_ip_str(ip, sizeof(ip), a->metrics_addr), a->metrics_port);
		else
			snprintf(x, sizeof(x), "off");
		if (b->metrics_http)
			snprintf(y, sizeof(y), "%s:%u",
				 eph_conf_ip_str(ip, sizeof(ip), b->metrics_addr), b->metrics_port);
		else
			snprintf(y, sizeof(y), "off");
		diff_line(d, true, "control.metrics-http: %s -> %s", x, y);
	}
}

static uint32_t
array_at(const void *arr, size_t esize, unsigned i)
{
	return esize == sizeof(uint16_t) ? ((const uint16_t *)arr)[i] : ((const uint32_t *)arr)[i];
}

/* What a run of consecutive values is called, one or many. */
struct run_words {
	const char *one;
	const char *many;
	bool ip;
};

static void
diff_run_line(struct diff_ctx *d, const char *who, const struct run_words *w, uint32_t first,
	      uint32_t last, const char *change)
{
	char x[16], y[16];

	if (w->ip) {
		eph_conf_ip_str(x, sizeof(x), first);
		eph_conf_ip_str(y, sizeof(y), last);
	} else {
		snprintf(x, sizeof(x), "%u", first);
		snprintf(y, sizeof(y), "%u", last);
	}
	if (first == last)
		diff_line(d, false, "%s: %s %s %s", who, w->one, x, change);
	else
		diff_line(d, false, "%s: %s %s-%s %s", who, w->many, x, y, change);
}

/* Runs of consecutive values in ascending a but not in b; who is "pool NAME" or "vip NAME". */
static void
diff_runs(struct diff_ctx *d, const char *who, const struct run_words *w, const void *a,
	  unsigned na, const void *b, unsigned nb, size_t esize, const char *change)
{
	uint32_t first = 0, last = 0;
	bool in_run = false;
	unsigned i, j = 0;

	for (i = 0; i < na; i++) {
		uint32_t x = array_at(a, esize, i);
		bool missing;

		while (j < nb && array_at(b, esize, j) < x)
			j++;
		missing = j == nb || array_at(b, esize, j) != x;
		if (missing && in_run && x == last + 1) {
			last = x;
			continue;
		}
		if (in_run)
			diff_run_line(d, who, w, first, last, change);
		in_run = missing;
		first = last = x;
	}
	if (in_run)
		diff_run_line(d, who, w, first, last, change);
}

static bool
has_prefix(const struct eph_conf_pool *p, const struct eph_conf_prefix *pf)
{
	unsigned i;

	for (i = 0; i < p->n_inside; i++)
		if (p->inside[i].addr == pf->addr && p->inside[i].len == pf->len)
			return true;
	return false;
}

static void
diff_pool_uint(struct diff_ctx *d, const char *pool, const char *key, unsigned a, unsigned b)
{
	if (a != b)
		diff_line(d, false, "pool %s: %s %u -> %u", pool, key, a, b);
}

static void
diff_pool_word(struct diff_ctx *d, bool restart, const char *pool, const char *key, const char *a,
	       const char *b)
{
	if (strcmp(a, b) != 0)
		diff_line(d, restart, "pool %s: %s %s -> %s", pool, key, a, b);
}

static const char *
bool_word(bool b)
{
	return b ? "true" : "false";
}

static void
diff_pool(struct diff_ctx *d, const struct eph_conf_pool *a, const struct eph_conf_pool *b)
{
	static const struct run_words addr_words = {"address", "addresses", true};
	static const struct run_words reserve_words = {"reserve address", "reserve addresses",
						       true};
	static const struct run_words port_words = {"excluded port", "excluded ports", false};
	const char *name = a->name;
	char x[16], who[8 + EPH_NAME_LEN];
	unsigned i;

	snprintf(who, sizeof(who), "pool %s", name);
	diff_runs(d, who, &addr_words, b->addrs, b->n_addrs, a->addrs, a->n_addrs,
		  sizeof(uint32_t), "added");
	diff_runs(d, who, &addr_words, a->addrs, a->n_addrs, b->addrs, b->n_addrs,
		  sizeof(uint32_t), "removed (drains)");
	diff_runs(d, who, &reserve_words, b->reserve, b->n_reserve, a->reserve, a->n_reserve,
		  sizeof(uint32_t), "added");
	diff_runs(d, who, &reserve_words, a->reserve, a->n_reserve, b->reserve, b->n_reserve,
		  sizeof(uint32_t), "removed (drains)");
	if (a->port_lo != b->port_lo || a->port_hi != b->port_hi)
		diff_line(d, false, "pool %s: ports %u-%u -> %u-%u", name, a->port_lo, a->port_hi,
			  b->port_lo, b->port_hi);
	diff_runs(d, who, &port_words, b->excluded, b->n_excluded, a->excluded, a->n_excluded,
		  sizeof(uint16_t), "added");
	diff_runs(d, who, &port_words, a->excluded, a->n_excluded, b->excluded, b->n_excluded,
		  sizeof(uint16_t), "removed");
	for (i = 0; i < b->n_inside; i++)
		if (!has_prefix(a, &b->inside[i]))
			diff_line(d, false, "pool %s: inside %s/%u added", name,
				  eph_conf_ip_str(x, sizeof(x), b->inside[i].addr),
				  b->inside[i].len);
	for (i = 0; i < a->n_inside; i++)
		if (!has_prefix(b, &a->inside[i]))
			diff_line(d, false, "pool %s: inside %s/%u removed", name,
				  eph_conf_ip_str(x, sizeof(x), a->inside[i].addr),
				  a->inside[i].len);
	/* Sessions are keyed by mapping type: existing ones cannot switch. */
	diff_pool_word(d, true, name, "mapping", eph_nat_mapping_name(a->mapping),
		       eph_nat_mapping_name(b->mapping));
	diff_pool_word(d, false, name, "filtering", eph_nat_filtering_name(a->filtering),
		       eph_nat_filtering_name(b->filtering));
	diff_pool_word(d, false, name, "pooling", eph_nat_pooling_name(a->pooling),
		       eph_nat_pooling_name(b->pooling));
	diff_pool_word(d, false, name, "port-preservation", bool_word(a->port_preservation),
		       bool_word(b->port_preservation));
	diff_pool_word(d, false, name, "port-parity", bool_word(a->port_parity),
		       bool_word(b->port_parity));
	diff_pool_word(d, false, name, "exhaustion-icmp", bool_word(a->exhaustion_icmp),
		       bool_word(b->exhaustion_icmp));
	diff_pool_word(d, false, name, "hairpinning", bool_word(a->hairpinning),
		       bool_word(b->hairpinning));
	diff_pool_word(d, false, name, "alg", a->alg & EPH_ALG_FTP ? "[ftp]" : "[]",
		       b->alg & EPH_ALG_FTP ? "[ftp]" : "[]");
	diff_pool_uint(d, name, "ftp-port", a->ftp_port, b->ftp_port);
	diff_pool_uint(d, name, "max-sessions-per-host", a->max_sessions_per_host,
		       b->max_sessions_per_host);
	diff_pool_uint(d, name, "max-inbound-per-mapping", a->max_inbound_per_mapping,
		       b->max_inbound_per_mapping);
	diff_pool_uint(d, name, "quarantine-s", a->quarantine_s, b->quarantine_s);
	diff_pool_uint(d, name, "warn-occupancy", a->warn_occupancy, b->warn_occupancy);
	diff_pool_word(d, false, name, "log", eph_nat_log_mode_name(a->log),
		       eph_nat_log_mode_name(b->log));
	diff_pool_uint(d, name, "port-block-size", a->port_block_size, b->port_block_size);
	diff_pool_uint(d, name, "max-blocks-per-host", a->max_blocks_per_host,
		       b->max_blocks_per_host);
}

static int
pool_by_name(const struct eph_conf *conf, const char *name)
{
	unsigned i;

	/* A VIP's local-addresses pool is the VIP's lines' business, not a pool of pools:. */
	for (i = 0; i < conf->n_pools && i < EPH_MAX_POOLS; i++)
		if (conf->pools[i].vip[0] == '\0' && strcmp(conf->pools[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
vip_by_name(const struct eph_conf *conf, const char *name)
{
	for (unsigned i = 0; i < conf->n_vips && i < EPH_MAX_VIPS; i++)
		if (strcmp(conf->vips[i].name, name) == 0)
			return (int)i;
	return -1;
}

static const struct eph_conf_backend *
backend_in(const struct eph_conf_vip *v, const struct eph_conf_backend *b)
{
	for (unsigned k = 0; k < v->n_backends; k++)
		if (v->backends[k].addr == b->addr && v->backends[k].port == b->port)
			return &v->backends[k];
	return NULL;
}

/* Where a VIP's local addresses come from, for its diff line. */
static const char *
vip_source(const struct eph_conf_pool *p, char *buf, size_t size)
{
	if (p == NULL)
		return "none (dnat)";
	if (p->vip[0] != '\0')
		return "local-addresses";
	snprintf(buf, size, "pool %s", p->name);
	return buf;
}

/* The SYN flood guards' lines (0: automatic bound, no rate limit). */
static void
diff_vip_flood_guards(struct diff_ctx *d, const struct eph_conf_vip *a, const struct eph_conf_vip *b)
{
	if (a->half_open_per_worker != b->half_open_per_worker)
		diff_line(d, false, "vip %s: half-open-per-worker %u -> %u", a->name,
			  a->half_open_per_worker, b->half_open_per_worker);
	if (a->new_connections_per_s != b->new_connections_per_s)
		diff_line(d, false, "vip %s: new-connections-per-s %u -> %u", a->name,
			  a->new_connections_per_s, b->new_connections_per_s);
}

/* One VIP's changes: all live (backends keep their connections, see control/lb_setup.h). */
static void
diff_vip(struct diff_ctx *d, const struct eph_conf *oc, const struct eph_conf_vip *a,
	 const struct eph_conf *nc, const struct eph_conf_vip *b)
{
	static const struct run_words local_words = {"local address", "local addresses", true};
	const struct eph_conf_pool *op, *np;
	const char *n = a->name;
	char x[16], y[16], who[8 + EPH_NAME_LEN], sx[8 + EPH_NAME_LEN], sy[8 + EPH_NAME_LEN];

	if (a->addr != b->addr || a->port != b->port || a->proto != b->proto)
		diff_line(d, false, "vip %s: %s:%u %s -> %s:%u %s (connections to the old one end)",
			  n, eph_conf_ip_str(x, sizeof(x), a->addr), a->port,
			  a->proto == IPPROTO_UDP ? "udp" : "tcp",
			  eph_conf_ip_str(y, sizeof(y), b->addr), b->port,
			  b->proto == IPPROTO_UDP ? "udp" : "tcp");
	if (a->forwarding != b->forwarding)
		diff_line(d, false, "vip %s: forwarding %s -> %s", n,
			  eph_lb_forwarding_name(a->forwarding), eph_lb_forwarding_name(b->forwarding));
	op = a->pool >= 0 && (unsigned)a->pool < oc->n_pools ? &oc->pools[a->pool] : NULL;
	np = b->pool >= 0 && (unsigned)b->pool < nc->n_pools ? &nc->pools[b->pool] : NULL;
	/* From or to dnat, the forwarding line says it. */
	if (op == NULL || np == NULL)
		;
	else if (strcmp(op->name, np->name) != 0 || (op->vip[0] == '\0') != (np->vip[0] == '\0'))
		diff_line(d, false, "vip %s: local addresses from %s -> %s", n,
			  vip_source(op, sx, sizeof(sx)), vip_source(np, sy, sizeof(sy)));
	else if (op->vip[0] != '\0') {
		/* Its own local-addresses, whose pool the pool lines leave out. */
		snprintf(who, sizeof(who), "vip %s", n);
		diff_runs(d, who, &local_words, np->addrs, np->n_addrs, op->addrs, op->n_addrs,
			  sizeof(uint32_t), "added");
		diff_runs(d, who, &local_words, op->addrs, op->n_addrs, np->addrs, np->n_addrs,
			  sizeof(uint32_t), "removed (drains)");
	}
	if (a->maglev_size != b->maglev_size)
		diff_line(d, false, "vip %s: maglev-size %u -> %u", n, a->maglev_size, b->maglev_size);
	if (a->hash != b->hash)
		diff_line(d, false, "vip %s: hash %s -> %s", n, eph_lb_hash_name(a->hash),
			  eph_lb_hash_name(b->hash));
	if (a->max_connections != b->max_connections)
		diff_line(d, false, "vip %s: max-connections %u -> %u", n, a->max_connections,
			  b->max_connections);
	if (a->refusal != b->refusal)
		diff_line(d, false, "vip %s: refusal %s -> %s", n, eph_lb_refusal_name(a->refusal),
			  eph_lb_refusal_name(b->refusal));
	if (a->on_remove != b->on_remove)
		diff_line(d, false, "vip %s: on-remove %s -> %s", n, eph_lb_on_remove_name(a->on_remove),
			  eph_lb_on_remove_name(b->on_remove));
	if (a->health.type != b->health.type)
		diff_line(d, false, "vip %s: health-check %s -> %s", n,
			  eph_health_type_name(a->health.type), eph_health_type_name(b->health.type));
	else if (!eph_conf_health_equal(&a->health, &b->health))
		diff_line(d, false, "vip %s: health-check %s changed", n,
			  eph_health_type_name(a->health.type));
	if (memcmp(&a->outlier, &b->outlier, sizeof(a->outlier)) != 0)
		diff_line(d, false, "vip %s: outlier-detection failures %u in %u ms -> %u in %u ms", n,
			  a->outlier.failures, a->outlier.window_ms, b->outlier.failures,
			  b->outlier.window_ms);
	if (a->all_down != b->all_down)
		diff_line(d, false, "vip %s: all-down %s -> %s", n, eph_lb_all_down_name(a->all_down),
			  eph_lb_all_down_name(b->all_down));
	if (a->proxy != b->proxy)
		diff_line(d, false, "vip %s: proxy-protocol %s -> %s (new connections)", n,
			  eph_lb_proxy_name(a->proxy), eph_lb_proxy_name(b->proxy));
	diff_vip_flood_guards(d, a, b);
	if (a->syn_proxy != b->syn_proxy)
		diff_line(d, false, "vip %s: syn-proxy %s -> %s (new connections)", n,
			  eph_lb_syn_proxy_name(a->syn_proxy), eph_lb_syn_proxy_name(b->syn_proxy));
	for (unsigned k = 0; k < a->n_backends; k++) {
		const struct eph_conf_backend *ob = &a->backends[k], *nb = backend_in(b, ob);

		eph_conf_ip_str(x, sizeof(x), ob->addr);
		if (nb == NULL)
			diff_line(d, false, "vip %s: backend %s:%u removed (%s)", n, x, ob->port,
				  eph_lb_on_remove_name(b->on_remove));
		else if (nb->weight != ob->weight)
			diff_line(d, false, "vip %s: backend %s:%u weight %u -> %u", n, x, ob->port,
				  ob->weight, nb->weight);
		if (nb != NULL && nb->max_connections != ob->max_connections)
			diff_line(d, false, "vip %s: backend %s:%u max-connections %u -> %u", n, x,
				  ob->port, ob->max_connections, nb->max_connections);
		if (nb != NULL && (ob->own_health != nb->own_health ||
				   !eph_conf_health_equal(&ob->health, &nb->health)))
			diff_line(d, false, "vip %s: backend %s:%u health-check changed", n, x, ob->port);
	}
	for (unsigned k = 0; k < b->n_backends; k++)
		if (backend_in(a, &b->backends[k]) == NULL)
			diff_line(d, false, "vip %s: backend %s:%u added", n,
				  eph_conf_ip_str(x, sizeof(x), b->backends[k].addr),
				  b->backends[k].port);
}

static void
diff_vips(struct diff_ctx *d, const struct eph_conf *old, const struct eph_conf *new)
{
	for (unsigned i = 0; i < old->n_vips && i < EPH_MAX_VIPS; i++) {
		int j = vip_by_name(new, old->vips[i].name);

		if (j < 0)
			diff_line(d, false, "vip %s: removed (its connections are reset)",
				  old->vips[i].name);
		else
			diff_vip(d, old, &old->vips[i], new, &new->vips[j]);
	}
	for (unsigned i = 0; i < new->n_vips && i < EPH_MAX_VIPS; i++)
		if (vip_by_name(old, new->vips[i].name) < 0)
			diff_line(d, false, "vip %s: added", new->vips[i].name);
}

int
eph_conf_diff(const struct eph_conf *old, const struct eph_conf *new,
	      void (*emit)(void *arg, bool needs_restart, const char *change), void *arg)
{
	struct diff_ctx d = {emit, arg, 0};
	unsigned i;
	int j;

	diff_eal(&d, &old->eal, &new->eal);
	diff_ports(&d, old, new);
	if (diff_routes(&d, old, new) < 0)
		return -ENOMEM;

	diff_uint(&d, true, "arp.reachable-s", old->arp.reachable_s, new->arp.reachable_s);
	diff_uint(&d, true, "arp.retry-ms", old->arp.retry_ms, new->arp.retry_ms);
	diff_uint(&d, true, "arp.retries", old->arp.retries, new->arp.retries);
	diff_uint(&d, true, "arp.hold-packets", old->arp.hold_packets, new->arp.hold_packets);
	diff_uint(&d, true, "arp.max-entries", old->arp.max_entries, new->arp.max_entries);
	diff_uint(&d, true, "dataplane.burst", old->dataplane.burst, new->dataplane.burst);
	diff_uint(&d, true, "dataplane.tx-drain-us", old->dataplane.tx_drain_us,
		  new->dataplane.tx_drain_us);
	diff_uint(&d, true, "dataplane.mbufs", old->dataplane.mbufs, new->dataplane.mbufs);
	diff_uint(&d, true, "dataplane.icmp-rate", old->dataplane.icmp_rate,
		  new->dataplane.icmp_rate);
	diff_uint(&d, true, "dataplane.kernel-rate", old->dataplane.kernel_rate,
		  new->dataplane.kernel_rate);
	diff_control(&d, &old->control, &new->control);

	for (i = 0; i < old->n_pools && i < EPH_MAX_POOLS; i++) {
		if (old->pools[i].vip[0] != '\0')
			continue;
		j = pool_by_name(new, old->pools[i].name);
		if (j < 0)
			diff_line(&d, false, "pool %s: removed (drains)", old->pools[i].name);
		else
			diff_pool(&d, &old->pools[i], &new->pools[j]);
	}
	for (i = 0; i < new->n_pools && i < EPH_MAX_POOLS; i++)
		if (new->pools[i].vip[0] == '\0' && pool_by_name(old, new->pools[i].name) < 0)
			diff_line(&d, false, "pool %s: added", new->pools[i].name);

	diff_vips(&d, old, new);

	diff_uint(&d, false, "timeouts.udp", old->timeouts.udp, new->timeouts.udp);
	diff_uint(&d, false, "timeouts.tcp-established", old->timeouts.tcp_established,
		  new->timeouts.tcp_established);
	diff_uint(&d, false, "timeouts.tcp-transitory", old->timeouts.tcp_transitory,
		  new->timeouts.tcp_transitory);
	diff_uint(&d, false, "timeouts.icmp", old->timeouts.icmp, new->timeouts.icmp);
	diff_uint(&d, true, "nat.sessions-per-worker", old->nat.sessions_per_worker,
		  new->nat.sessions_per_worker);
	diff_uint(&d, true, "nat.destinations-per-worker", old->nat.destinations_per_worker,
		  new->nat.destinations_per_worker);
	diff_uint(&d, true, "nat.handoff-ring", old->nat.handoff_ring, new->nat.handoff_ring);
	diff_uint(&d, true, "nat.fragment-datagrams", old->nat.frag_datagrams,
		  new->nat.frag_datagrams);
	diff_uint(&d, true, "nat.fragment-held", old->nat.frag_held, new->nat.frag_held);
	diff_uint(&d, true, "nat.fragment-held-bytes", old->nat.frag_held_bytes,
		  new->nat.frag_held_bytes);
	diff_uint(&d, true, "nat.fragment-timeout-ms", old->nat.frag_timeout_ms,
		  new->nat.frag_timeout_ms);
	diff_word(&d, false, "nat-log.file", old->nat_log.file, new->nat_log.file);
	diff_bool(&d, false, "nat-log.syslog", old->nat_log.syslog, new->nat_log.syslog);
	diff_uint(&d, true, "nat-log.ring", old->nat_log.ring, new->nat_log.ring);
	return d.n;
}

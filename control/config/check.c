/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Checks of a configuration changed in memory (eph_conf_check). The rules
 * are the loader's (pool_rules.c, the integer rules of each section); only
 * the naming differs: pools by name, since an address added at run time
 * has no line in any file.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config/common.h"
#include "control/config/pools.h"
#include "control/config/vips.h"

struct check_ctx {
	const struct eph_conf *conf;
	FILE *err;
	unsigned n_errors;
};

__attribute__((format(printf, 3, 4))) static void
check_err(struct check_ctx *c, const char *path, const char *fmt, ...)
{
	va_list ap;

	c->n_errors++;
	if (c->err == NULL)
		return;
	fprintf(c->err, "error: %s: ", path);
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fputc('\n', c->err);
}

static bool
pool_name_ok(const struct eph_conf_pool *p)
{
	return p->name[0] != '\0' && strnlen(p->name, EPH_NAME_LEN) < EPH_NAME_LEN &&
	       eph_conf_only_chars(p->name, NAME_CHARS);
}

/* "pools[NAME].key", or "pools[3].key" when the name itself is bad. */
static const char *
check_path(char *buf, size_t size, const struct eph_conf *conf, unsigned pool, const char *key)
{
	if (pool_name_ok(&conf->pools[pool]))
		snprintf(buf, size, "pools[%s].%s", conf->pools[pool].name, key);
	else
		snprintf(buf, size, "pools[%u].%s", pool, key);
	return buf;
}

static const char *
check_pool_name(const struct eph_conf *conf, unsigned pool)
{
	return pool_name_ok(&conf->pools[pool]) ? conf->pools[pool].name : "?";
}

/* An integer against the loader's range for generic path rule ("pools[].quarantine-s"). */
static void
check_int(struct check_ctx *c, const char *path, const char *rule, int64_t x)
{
	const struct eph_conf_int_rule *r = eph_conf_int_rule(rule);
	char what[128];

	if (r == NULL || (x >= r->min && x <= r->max && (!r->pow2 || (x & (x - 1)) == 0)))
		return;
	eph_conf_describe(what, sizeof(what), rule);
	check_err(c, path, "expected %s, found %" PRId64, what, x);
}

static void
check_pool_list(struct check_ctx *c, unsigned i, enum addr_list list, const uint32_t *arr,
		unsigned n)
{
	char path[96], a[16], b[16];
	const char *why;
	unsigned k;

	check_path(path, sizeof(path), c->conf, i, eph_conf_list_key[list]);
	for (k = 0; k < n; k++) {
		why = eph_conf_addr_problem(arr[k]);
		if (why != NULL)
			check_err(c, path, "%s %s, expected a unicast address",
				  eph_conf_ip_str(a, sizeof(a), arr[k]), why);
	}
	/* Equal neighbours are duplicates, reported with the clashes. */
	for (k = 1; k < n; k++) {
		if (arr[k] < arr[k - 1]) {
			check_err(c, path, "%s comes after %s, expected ascending order",
				  eph_conf_ip_str(a, sizeof(a), arr[k]),
				  eph_conf_ip_str(b, sizeof(b), arr[k - 1]));
			break;
		}
	}
}

/* The rules of one pool on its own. */
static void
check_pool(struct check_ctx *c, unsigned i)
{
	const struct eph_conf_pool *p = &c->conf->pools[i];
	unsigned n_addrs = p->addrs != NULL ? p->n_addrs : 0;
	unsigned n_reserve = p->reserve != NULL ? p->n_reserve : 0;
	unsigned n_excluded = p->excluded != NULL ? p->n_excluded : 0;
	unsigned n_inside = p->inside != NULL ? p->n_inside : 0;
	char path[96], msg[256], a[16];
	bool ports_ok;
	unsigned k;

	if (!pool_name_ok(p))
		check_err(c, check_path(path, sizeof(path), c->conf, i, "name"),
			  "expected a name of 1 to %d characters from a-z, 0-9, '_' and '-', "
			  "found \"%.*s\"",
			  EPH_NAME_LEN - 1, EPH_NAME_LEN, p->name);
	check_path(path, sizeof(path), c->conf, i, "addresses");
	if (n_addrs == 0)
		check_err(c, path, "expected at least one address, found none");
	if ((uint64_t)n_addrs + n_reserve > EPH_MAX_POOL_ADDRS)
		check_err(c, path,
			  "the pool holds %u addresses and %u reserve addresses, at most %d "
			  "allowed together",
			  n_addrs, n_reserve, EPH_MAX_POOL_ADDRS);
	check_pool_list(c, i, LIST_ADDRESSES, p->addrs, n_addrs);
	check_pool_list(c, i, LIST_RESERVE, p->reserve, n_reserve);

	ports_ok = !eph_conf_pool_range_problem(p->port_lo, p->port_hi, msg, sizeof(msg));
	if (!ports_ok)
		check_err(c, check_path(path, sizeof(path), c->conf, i, "ports"), "%s", msg);
	check_path(path, sizeof(path), c->conf, i, "exclude-ports");
	for (k = 0; k < n_excluded && ports_ok; k++) {
		if (p->excluded[k] < p->port_lo || p->excluded[k] > p->port_hi) {
			check_err(c, path, MSG_EXCLUDED_OUTSIDE, p->excluded[k], p->port_lo,
				  p->port_hi);
			break;
		}
		if (k > 0 && p->excluded[k] <= p->excluded[k - 1]) {
			check_err(c, path, "port %u comes after %u, expected ascending order",
				  p->excluded[k], p->excluded[k - 1]);
			break;
		}
	}
	if (ports_ok && k == n_excluded && n_excluded == (unsigned)p->port_hi - p->port_lo + 1)
		check_err(c, path, MSG_EXCLUDED_ALL, p->port_lo, p->port_hi);

	check_path(path, sizeof(path), c->conf, i, "inside");
	if (n_inside == 0 && !p->balancer)
		check_err(c, path, "expected at least one inside prefix, found none");
	for (k = 0; k < n_inside; k++) {
		const struct eph_conf_prefix *pf = &p->inside[k];

		if (pf->len > 32 || (pf->addr & ~eph_conf_prefix_mask(pf->len)) != 0)
			check_err(c, path,
				  "%s/%u is not a network address (host bits set or length above "
				  "32)",
				  eph_conf_ip_str(a, sizeof(a), pf->addr), pf->len);
	}

	if (p->filtering == EPH_FILTERING_ENDPOINT_INDEPENDENT &&
	    p->mapping != EPH_MAPPING_ENDPOINT_INDEPENDENT)
		check_err(c, check_path(path, sizeof(path), c->conf, i, "filtering"),
			  "endpoint-independent filtering requires mapping: endpoint-independent "
			  "(mapping is %s)",
			  eph_nat_mapping_name(p->mapping));
	check_int(c, check_path(path, sizeof(path), c->conf, i, "max-sessions-per-host"),
		  "pools[].max-sessions-per-host", p->max_sessions_per_host);
	check_int(c, check_path(path, sizeof(path), c->conf, i, "max-inbound-per-mapping"),
		  "pools[].max-inbound-per-mapping", p->max_inbound_per_mapping);
	check_int(c, check_path(path, sizeof(path), c->conf, i, "quarantine-s"),
		  "pools[].quarantine-s", p->quarantine_s);
	check_int(c, check_path(path, sizeof(path), c->conf, i, "warn-occupancy"),
		  "pools[].warn-occupancy", p->warn_occupancy);
	check_int(c, check_path(path, sizeof(path), c->conf, i, "port-block-size"),
		  "pools[].port-block-size", p->port_block_size);
	check_int(c, check_path(path, sizeof(path), c->conf, i, "max-blocks-per-host"),
		  "pools[].max-blocks-per-host", p->max_blocks_per_host);
	if (p->log == EPH_NAT_LOG_PORT_BLOCKS && ports_ok &&
	    eph_conf_block_size_problem(p, false, msg, sizeof(msg)))
		check_err(c, check_path(path, sizeof(path), c->conf, i, "port-block-size"), "%s",
			  msg);
	if (eph_conf_log_dest_problem(c->conf, p, msg, sizeof(msg)))
		check_err(c, check_path(path, sizeof(path), c->conf, i, "log"), "%s", msg);
}

static void
check_addr_clash(void *ctx, const struct pool_item *it, const struct pool_item *first)
{
	struct check_ctx *c = ctx;
	char path[96], a[16];

	check_path(path, sizeof(path), c->conf, it->pool, eph_conf_list_key[it->list]);
	eph_conf_ip_str(a, sizeof(a), it->addr);
	if (it->pool == first->pool && it->list == first->list)
		check_err(c, path, "%s is listed twice", a);
	else if (it->pool == first->pool)
		check_err(c, path,
			  "%s is also one of the pool's addresses; a reserve address must not be "
			  "a regular one",
			  a);
	else
		check_err(c, path, "%s is already in %spool %s", a,
			  first->list == LIST_RESERVE ? "the reserve of " : "",
			  check_pool_name(c->conf, first->pool));
}

static void
check_inside_overlap(void *ctx, const struct inside_item *blame, const struct inside_item *other)
{
	struct check_ctx *c = ctx;
	char path[96], a[16], b[16];

	check_err(c, check_path(path, sizeof(path), c->conf, blame->pool, "inside"),
		  "%s/%u overlaps inside prefix %s/%u of pool %s; a host would have two pools",
		  eph_conf_ip_str(a, sizeof(a), blame->addr), blame->len,
		  eph_conf_ip_str(b, sizeof(b), other->addr), other->len,
		  check_pool_name(c->conf, other->pool));
}

static bool
check_inside_contains(void *ctx, const struct inside_item *in, const struct pool_item *it)
{
	struct check_ctx *c = ctx;
	char path[96], a[16], b[16];

	check_err(c, check_path(path, sizeof(path), c->conf, in->pool, "inside"),
		  "%s/%u contains %s, an address of pool %s; pool addresses cannot be inside "
		  "hosts",
		  eph_conf_ip_str(a, sizeof(a), in->addr), in->len,
		  eph_conf_ip_str(b, sizeof(b), it->addr), check_pool_name(c->conf, it->pool));
	return true;
}

/* Rules between pools, and between pools and ports. 0 or -ENOMEM. */
static int
check_pools_across(struct check_ctx *c, unsigned n_pools)
{
	const struct eph_conf *conf = c->conf;
	struct pool_item *items = NULL;
	struct inside_item *all = NULL;
	bool *reported = NULL;
	size_t n_items = 0, n_in = 0, k;
	char path[96], msg[256];
	unsigned i, j;
	int rc = -ENOMEM;

	for (i = 1; i < n_pools; i++) {
		for (j = 0; j < i; j++) {
			if (pool_name_ok(&conf->pools[i]) &&
			    strcmp(conf->pools[i].name, conf->pools[j].name) == 0) {
				check_err(c, check_path(path, sizeof(path), conf, i, "name"),
					  "duplicate pool name '%s'", conf->pools[i].name);
				break;
			}
		}
	}

	for (i = 0; i < n_pools; i++) {
		const struct eph_conf_pool *p = &conf->pools[i];

		n_items += (p->addrs != NULL ? p->n_addrs : 0) +
			   (p->reserve != NULL ? p->n_reserve : 0);
		n_in += p->inside != NULL ? p->n_inside : 0;
	}
	items = malloc((n_items + 1) * sizeof(*items));
	all = malloc((n_in + 1) * sizeof(*all));
	reported = calloc(n_in + 1, sizeof(*reported));
	if (items == NULL || all == NULL || reported == NULL)
		goto out;
	n_items = n_in = 0;
	for (i = 0; i < n_pools; i++) {
		const struct eph_conf_pool *p = &conf->pools[i];

		for (k = 0; p->addrs != NULL && k < p->n_addrs; k++)
			items[n_items++] = (struct pool_item){p->addrs[k], (uint16_t)i,
							      LIST_ADDRESSES, (uint16_t)k};
		for (k = 0; p->reserve != NULL && k < p->n_reserve; k++)
			items[n_items++] = (struct pool_item){p->reserve[k], (uint16_t)i,
							      LIST_RESERVE, (uint16_t)k};
		for (k = 0; p->inside != NULL && k < p->n_inside; k++, n_in++)
			all[n_in] = (struct inside_item){p->inside[k].addr, p->inside[k].len,
							 (uint16_t)i, (uint16_t)k, &reported[n_in]};
	}
	qsort(items, n_items, sizeof(*items), eph_conf_pool_item_cmp);
	qsort(all, n_in, sizeof(*all), eph_conf_inside_item_cmp);

	eph_conf_addr_clashes(items, n_items, check_addr_clash, c);
	for (k = 0; k < n_items; k++) {
		for (i = 0; i < conf->n_ports && i < EPH_MAX_PORTS; i++) {
			if (eph_conf_pool_addr_port_clash(&conf->ports[i], items[k].addr,
							  conf->pools[items[k].pool].balancer, msg,
							  sizeof(msg))) {
				check_err(c,
					  check_path(path, sizeof(path), conf, items[k].pool,
						     eph_conf_list_key[items[k].list]),
					  "%s", msg);
				break;
			}
		}
	}
	if (eph_conf_inside_overlaps(all, n_in, check_inside_overlap, c) < 0)
		goto out;
	eph_conf_inside_contains(all, n_in, items, n_items, check_inside_contains, c);
	rc = 0;
out:
	free(items);
	free(all);
	free(reported);
	return rc;
}

/* The same range as the file, with the same words: a change cannot set what a file may not. */
static void
check_timeouts(struct check_ctx *c)
{
	const struct eph_conf_timeouts *t = &c->conf->timeouts;
	const unsigned v[EPH_TIMEOUT_N] = {
		[EPH_TIMEOUT_UDP] = t->udp,
		[EPH_TIMEOUT_TCP_ESTABLISHED] = t->tcp_established,
		[EPH_TIMEOUT_TCP_TRANSITORY] = t->tcp_transitory,
		[EPH_TIMEOUT_ICMP] = t->icmp,
	};
	char path[48], why[96];

	for (unsigned k = 0; k < EPH_TIMEOUT_N; k++) {
		if (!eph_timeout_range_error(k, v[k], why, sizeof(why)))
			continue;
		snprintf(path, sizeof(path), "timeouts.%s", eph_timeout_limits[k].name);
		check_err(c, path, "%s", why);
	}
}

static void
report_check(void *arg, const char *path, const char *msg)
{
	check_err(arg, path, "%s", msg);
}

/* The VIPs' rules, and their integers against the loader's ranges. */
static void
check_vips(struct check_ctx *c)
{
	const struct eph_conf *conf = c->conf;
	char path[96];

	for (unsigned i = 0; i < conf->n_vips; i++) {
		const struct eph_conf_vip *v = &conf->vips[i];

		snprintf(path, sizeof(path), "vips[%s].max-connections", v->name);
		check_int(c, path, "vips[].max-connections", v->max_connections);
		snprintf(path, sizeof(path), "vips[%s].half-open-per-worker", v->name);
		check_int(c, path, "vips[].half-open-per-worker", v->half_open_per_worker);
		snprintf(path, sizeof(path), "vips[%s].new-connections-per-s", v->name);
		check_int(c, path, "vips[].new-connections-per-s", v->new_connections_per_s);
		for (unsigned k = 0; k < v->n_backends && k < EPH_MAX_VIP_BACKENDS; k++) {
			snprintf(path, sizeof(path), "vips[%s].backends[%u].max-connections", v->name, k);
			check_int(c, path, "vips[].backends[].max-connections",
				  v->backends[k].max_connections);
		}
	}
	eph_conf_vips_rules(conf, true, report_check, c);
}

int
eph_conf_check(const struct eph_conf *conf, FILE *err)
{
	struct check_ctx c = {conf, err, 0};
	unsigned n_pools = conf->n_pools, i;

	if (n_pools > EPH_MAX_POOLS) {
		check_err(&c, "pools", "expected at most %d pools, found %u", EPH_MAX_POOLS,
			  n_pools);
		n_pools = EPH_MAX_POOLS;
	}
	for (i = 0; i < n_pools; i++)
		check_pool(&c, i);
	check_timeouts(&c);
	if (conf->n_vips > EPH_MAX_VIPS)
		check_err(&c, "vips", "expected at most %d VIPs, found %u", EPH_MAX_VIPS,
			  conf->n_vips);
	else
		check_vips(&c);
	if (check_pools_across(&c, n_pools) < 0) {
		if (err != NULL)
			fprintf(err, "error: out of memory while checking the configuration\n");
		return -ENOMEM;
	}
	return c.n_errors > 0 ? -EINVAL : 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cross-field rules of pools. The loader names raw entries and positions,
 * eph_conf_check names pools; both go through these, which say in one
 * sentence what is wrong, or return false.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "control/config/common.h"
#include "control/config/pools.h"
#include "control/config/ports.h"

const char *const eph_conf_list_key[N_LISTS] = {"addresses", "reserve"};

/* Equal addresses end up next to each other, a pool's regular ones first. */
int
eph_conf_pool_item_cmp(const void *a, const void *b)
{
	const struct pool_item *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->pool != y->pool)
		return x->pool < y->pool ? -1 : 1;
	if (x->list != y->list)
		return x->list < y->list ? -1 : 1;
	return x->entry < y->entry ? -1 : x->entry > y->entry;
}

int
eph_conf_inside_item_cmp(const void *a, const void *b)
{
	const struct inside_item *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->pool != y->pool)
		return x->pool < y->pool ? -1 : 1;
	return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* Does x come after y in the file? */
static bool
inside_later(const struct inside_item *x, const struct inside_item *y)
{
	return x->pool != y->pool ? x->pool > y->pool : x->entry > y->entry;
}

/* A pool address that port p uses itself, or that only inside hosts can reach. */
bool
eph_conf_pool_addr_port_clash(const struct eph_conf_port *p, uint32_t addr, bool balancer, char *msg,
			      size_t size)
{
	const char *name = p->name[0] != '\0' ? p->name : "?";
	uint32_t m = eph_conf_prefix_mask(p->prefix_len);
	char a[16], b[16];

	eph_conf_ip_str(a, sizeof(a), addr);
	eph_conf_ip_str(b, sizeof(b), p->addr & m);
	if (addr == p->addr)
		snprintf(msg, size,
			 "%s is the address of port '%s' itself, expected addresses the gateway "
			 "does not use",
			 a, name);
	else if (p->prefix_len <= 30 && (addr == (p->addr & m) || addr == ((p->addr & m) | ~m)))
		snprintf(msg, size, "%s is the %s address of the subnet %s/%u of port '%s'", a,
			 addr == (p->addr & m) ? "network" : "broadcast", b, p->prefix_len, name);
	else if (!balancer && p->role == EPH_ROLE_INSIDE && eph_conf_in_subnet(p, addr))
		snprintf(
			msg, size,
			"%s is on the subnet %s/%u of inside port '%s', expected addresses reached "
			"through an outside port",
			a, b, p->prefix_len, name);
	else
		return false;
	return true;
}

/* A pool's port range: no port 0, lo <= hi, one side of 1024 (RFC 4787 REQ-3a). */
bool
eph_conf_pool_range_problem(unsigned lo, unsigned hi, char *msg, size_t size)
{
	const unsigned wk = EPH_LIMIT_WELL_KNOWN_PORT_MAX;

	if (lo == 0 || hi == 0)
		snprintf(msg, size,
			 "port 0 cannot be used, expected ports from %d to %d, found %u-%u",
			 EPH_LIMIT_PORT_MIN, EPH_LIMIT_PORT_MAX, lo, hi);
	else if (lo > hi)
		snprintf(msg, size,
			 "range start %u is above its end %u, expected lo-hi with lo <= hi", lo,
			 hi);
	else if (lo <= wk && hi > wk)
		snprintf(msg, size,
			 "%u-%u mixes well-known ports (%d-%u) with ports %u-%d, which RFC "
			 "4787 REQ-3a keeps apart; expected a range within one of them",
			 lo, hi, EPH_LIMIT_WELL_KNOWN_PORT_MIN, wk, wk + 1, EPH_LIMIT_PORT_MAX);
	else
		return false;
	return true;
}

/* A host is given whole blocks, so one block must fit in the range. */
bool
eph_conf_block_size_problem(const struct eph_conf_pool *p, bool by_default, char *msg, size_t size)
{
	unsigned n = p->port_hi >= p->port_lo ? (unsigned)p->port_hi - p->port_lo + 1 : 0;

	if (p->port_block_size <= n)
		return false;
	snprintf(msg, size,
		 "expected at most %u, the number of ports in the pool's range (ports: %u-%u), "
		 "found %u%s",
		 n, p->port_lo, p->port_hi, p->port_block_size, by_default ? " (the default)" : "");
	return true;
}

/* Logged events need somewhere to go. */
bool
eph_conf_log_dest_problem(const struct eph_conf *conf, const struct eph_conf_pool *p, char *msg,
			  size_t size)
{
	if (p->log == EPH_NAT_LOG_OFF || conf->nat_log.file[0] != '\0' || conf->nat_log.syslog)
		return false;
	snprintf(msg, size, "%s needs a destination, expected nat-log.file or nat-log.syslog: true",
		 eph_nat_log_mode_name(p->log));
	return true;
}

/* clash(ctx, it, first) for every item whose address an earlier item has. Items sorted. */
void
eph_conf_addr_clashes(const struct pool_item *items, size_t n,
		      void (*clash)(void *ctx, const struct pool_item *it,
				    const struct pool_item *first),
		      void *ctx)
{
	size_t k, j;

	for (k = 0; k < n; k = j)
		for (j = k + 1; j < n && items[j].addr == items[k].addr; j++)
			clash(ctx, &items[j], &items[k]);
}

/*
 * Inside prefixes of different pools that overlap (a host would have two
 * pools): overlap(ctx, blame, other) at most once per prefix, blaming the
 * later one. all is sorted by eph_conf_inside_item_cmp. 0 or -ENOMEM.
 */
int
eph_conf_inside_overlaps(const struct inside_item *all, size_t n,
			 void (*overlap)(void *ctx, const struct inside_item *blame,
					 const struct inside_item *other),
			 void *ctx)
{
	const struct inside_item **stack;
	size_t depth = 0, k, j;

	if (n == 0)
		return 0;
	stack = malloc(n * sizeof(*stack));
	if (stack == NULL)
		return -ENOMEM;
	/* Prefixes nest or are disjoint: the stack holds those containing the current one. */
	for (k = 0; k < n; k++) {
		const struct inside_item *cur = &all[k];

		while (depth > 0 && eph_conf_prefix_last(stack[depth - 1]->addr,
							 stack[depth - 1]->len) < cur->addr)
			depth--;
		for (j = depth; j-- > 0;) {
			const struct inside_item *o = stack[j], *blame, *other;

			if (o->pool == cur->pool)
				continue;
			blame = inside_later(cur, o) ? cur : o;
			other = blame == cur ? o : cur;
			if (*blame->reported)
				continue;
			*blame->reported = true;
			overlap(ctx, blame, other);
			break;
		}
		stack[depth++] = cur;
	}
	free(stack);
	return 0;
}

/* Index of the first item with an address >= addr. */
static size_t
pool_item_lower(const struct pool_item *items, size_t n, uint32_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (items[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Pool addresses inside an inside prefix (they would be translated hosts):
 * contains(ctx, in, it) for the addresses of each prefix not yet reported
 * until it returns true. items sorted by eph_conf_pool_item_cmp.
 */
void
eph_conf_inside_contains(const struct inside_item *all, size_t n, const struct pool_item *items,
			 size_t n_items,
			 bool (*contains)(void *ctx, const struct inside_item *in,
					  const struct pool_item *it),
			 void *ctx)
{
	size_t k, x;

	for (k = 0; k < n; k++) {
		const struct inside_item *cur = &all[k];
		uint32_t last = eph_conf_prefix_last(cur->addr, cur->len);

		if (*cur->reported)
			continue;
		for (x = pool_item_lower(items, n_items, cur->addr);
		     x < n_items && items[x].addr <= last; x++) {
			if (contains(ctx, cur, &items[x])) {
				*cur->reported = true;
				break;
			}
		}
	}
}

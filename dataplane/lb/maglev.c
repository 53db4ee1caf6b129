/* SPDX-License-Identifier: BSD-3-Clause */
/* Maglev table population with weights as exact quotas (see maglev.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_jhash.h>

#include "dataplane/lb/maglev.h"

/* Fixed seeds: part of the table's definition, the same on every gateway. */
#define OFFSET_SEED 0x6d61676cu
#define SKIP_SEED   0x65763231u

struct turn {
	uint32_t in;     /* index in the caller's array */
	uint32_t key_hi; /* address, host order: the sort key */
	uint16_t key_lo; /* port, host order */
	uint32_t quota;  /* slots it must end with */
	uint32_t held;
	uint32_t pos;    /* next slot of its permutation */
	uint32_t skip;
	uint64_t rem;    /* remainder of M * w / W, for the largest-remainder round */
};

int
eph_maglev_is_prime(uint32_t n)
{
	if (n < 2)
		return 0;
	if (n % 2 == 0)
		return n == 2;
	for (uint32_t d = 3; (uint64_t)d * d <= n; d += 2)
		if (n % d == 0)
			return 0;
	return 1;
}

int
eph_maglev_size_check(uint32_t m, uint32_t n_backends, const char **why)
{
	const char *w = NULL;

	if (m > EPH_MAGLEV_SIZE_MAX)
		w = "a prime of at most 4194301";
	else if (!eph_maglev_is_prime(m))
		w = "a prime number";
	else if ((uint64_t)m < (uint64_t)EPH_MAGLEV_SLOTS_PER_BACKEND * n_backends)
		w = "a prime of at least 100 times the number of backends";
	if (w == NULL)
		return 0;
	if (why != NULL)
		*why = w;
	return -EINVAL;
}

static int
by_address(const void *a, const void *b)
{
	const struct turn *x = a, *y = b;

	if (x->key_hi != y->key_hi)
		return x->key_hi < y->key_hi ? -1 : 1;
	if (x->key_lo != y->key_lo)
		return x->key_lo < y->key_lo ? -1 : 1;
	return 0;
}

/* Larger remainder first; ties to the lower address:port (earlier in the sorted order). */
static int
by_remainder(const void *a, const void *b)
{
	const struct turn *const *x = a, *const *y = b;

	if ((*x)->rem != (*y)->rem)
		return (*x)->rem > (*y)->rem ? -1 : 1;
	return *x < *y ? -1 : (*x > *y);
}

/* q_i = floor(m * w_i / W), then one more slot for the largest remainders until they sum to m. */
static int
set_quotas(struct turn *t, uint32_t n, const struct eph_maglev_backend *b, uint32_t m)
{
	uint64_t total = 0, given = 0;
	struct turn **order;

	for (uint32_t i = 0; i < n; i++)
		total += b[t[i].in].weight;
	if (total == 0)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t share = (uint64_t)m * b[t[i].in].weight;

		t[i].quota = (uint32_t)(share / total);
		t[i].rem = share % total;
		given += t[i].quota;
	}
	order = malloc(sizeof(*order) * n);
	if (order == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		order[i] = &t[i];
	qsort(order, n, sizeof(*order), by_remainder);
	/* Fewer than n slots are left over: each remainder is below W. */
	for (uint32_t i = 0; given < m; i++, given++)
		order[i]->quota++;
	free(order);
	return 0;
}

int
eph_maglev_build(const struct eph_maglev_backend *backends, uint32_t n, uint32_t m,
		 uint16_t *table)
{
	struct turn *t;
	uint32_t *active, n_active = 0, filled = 0;
	int rc;

	if (n > EPH_MAGLEV_BACKENDS_MAX || eph_maglev_size_check(m, n, NULL) != 0 ||
	    (n > 0 && backends == NULL) || table == NULL)
		return -EINVAL;
	t = calloc(n + 1, sizeof(*t));
	active = calloc(n + 1, sizeof(*active));
	if (t == NULL || active == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t offset, h;

		t[i].in = i;
		t[i].key_hi = rte_be_to_cpu_32(backends[i].addr);
		t[i].key_lo = rte_be_to_cpu_16(backends[i].port);
		offset = rte_jhash_2words(backends[i].addr, backends[i].port, OFFSET_SEED);
		h = rte_jhash_2words(backends[i].addr, backends[i].port, SKIP_SEED);
		t[i].pos = offset % m;
		t[i].skip = h % (m - 1) + 1;
	}
	qsort(t, n, sizeof(*t), by_address);
	for (uint32_t i = 1; i < n; i++)
		if (by_address(&t[i - 1], &t[i]) == 0) {
			rc = -EEXIST;
			goto out;
		}
	rc = set_quotas(t, n, backends, m);
	if (rc != 0)
		goto out;

	for (uint32_t s = 0; s < m; s++)
		table[s] = EPH_MAGLEV_NONE;
	for (uint32_t i = 0; i < n; i++)
		if (t[i].quota > 0)
			active[n_active++] = i;
	/* Turns in address order; a backend leaves the round once it holds its quota. */
	while (n_active > 0) {
		uint32_t kept = 0;

		for (uint32_t a = 0; a < n_active; a++) {
			struct turn *x = &t[active[a]];

			while (table[x->pos] != EPH_MAGLEV_NONE) {
				x->pos += x->skip;
				if (x->pos >= m)
					x->pos -= m;
			}
			table[x->pos] = (uint16_t)x->in;
			filled++;
			if (++x->held < x->quota)
				active[kept++] = active[a];
		}
		n_active = kept;
	}
	rc = filled == m || filled == 0 ? 0 : -EINVAL; /* quotas sum to m, or nothing has weight */
out:
	free(t);
	free(active);
	return rc;
}

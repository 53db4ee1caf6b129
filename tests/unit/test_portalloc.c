/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The port allocator against a reference model: per destination the set of
 * live ports and the resting ones with their release time. Long random
 * alloc/release sequences check uniqueness, shares, exact exhaustion,
 * quarantine, clean reuse, preservation and parity; directed tests cover
 * the permutation, small shares, the destination table, FIFO memory and the
 * clock. EAL without hugepages; no data plane.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "dataplane/ports/portalloc.h"
#include "tests/unit/eal_prefix.h"

#define NPORTS (UINT16_MAX + 1)

static unsigned int t_names;

/* xorshift64*: the tests' own generator, fixed seeds, independent of libc. */
static uint64_t t_rng;

static uint64_t
rnd(void)
{
	t_rng ^= t_rng >> 12;
	t_rng ^= t_rng << 25;
	t_rng ^= t_rng >> 27;
	return t_rng * 0x2545f4914f6cdd1dULL;
}

static uint32_t
rnd_below(uint32_t n)
{
	return (uint32_t)((rnd() >> 32) % n);
}

static void
conf_init(struct eph_portalloc_conf *c, uint16_t lo, uint16_t hi, unsigned int w, unsigned int n)
{
	static char names[64][17];
	char *name = names[t_names++ % 64];

	snprintf(name, 17, "t%u", t_names);
	*c = (struct eph_portalloc_conf){
		.port_lo = lo,
		.port_hi = hi,
		.worker = w,
		.n_workers = n,
		.quarantine = 100,
		.max_destinations = 64,
		.secret = {0x0123456789abcdefULL, 0xfedcba9876543210ULL},
		.socket_id = SOCKET_ID_ANY,
		.name = name,
	};
}

static struct eph_portalloc *
create(const struct eph_portalloc_conf *c)
{
	struct eph_portalloc *pa = eph_portalloc_create(c);

	assert_non_null(pa);
	return pa;
}

static struct eph_dest_key
dkey(unsigned int i)
{
	return (struct eph_dest_key){
		.out_addr = 0x017100cb, /* 203.0.113.1 */
		.remote_addr = 0x0a6433c6u + (i << 24),
		.remote_port = (uint16_t)(443 + i),
		.proto = 6,
	};
}

/* The share as the definition says, computed independently of the allocator. */
static uint32_t
share_of(const struct eph_portalloc_conf *c, uint8_t *in)
{
	uint32_t n = 0;

	memset(in, 0, NPORTS);
	for (uint32_t p = c->port_lo; p <= c->port_hi; p++)
		in[p] = p % c->n_workers == c->worker;
	for (unsigned int i = 0; i < c->n_excluded; i++)
		in[c->excluded[i]] = 0;
	for (uint32_t p = 0; p < NPORTS; p++)
		n += in[p];
	return n;
}

static void
assert_idle_clean(struct eph_portalloc *pa, uint64_t now)
{
	const struct eph_portalloc_stats *st = eph_portalloc_stats(pa);

	assert_int_equal(eph_portalloc_audit(pa), 0);
	eph_portalloc_expire(pa, now, UINT32_MAX);
	assert_int_equal(eph_portalloc_audit(pa), 0);
	assert_int_equal(st->destinations, 0);
	assert_int_equal(st->idle, 0);
	assert_int_equal(st->chunks_in_use, 0);
	assert_int_equal(st->chunks_reserved, 0);
	assert_int_equal(st->lost, 0);
	assert_int_equal(st->bad_release, 0);
}

/* ---- reference model ------------------------------------------------------------------- */

enum { M_FREE, M_LIVE, M_RESTING };

struct mdest {
	struct eph_dest_key key;
	uint8_t state[NPORTS];
	uint16_t live[NPORTS];
	uint32_t live_at[NPORTS];
	uint32_t n_live;
	uint32_t live_cls[2], rest_cls[2];
	struct {
		uint16_t port;
		uint64_t rel;
	} q[NPORTS]; /* resting ports in release order */
	uint16_t qh, qt;
};

struct model {
	const struct eph_portalloc_conf *conf;
	uint8_t in[NPORTS];
	uint32_t s, s_cls[2];
	unsigned int n_dest;
	struct mdest *d;
	bool nomem_ok;       /* small chunk pool: -ENOMEM allowed, within the guarantee */
	unsigned long nomem; /* -ENOMEM while the model had a port for the destination */
};

static struct model *
model_new(const struct eph_portalloc_conf *c, unsigned int n_dest)
{
	struct model *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	m->conf = c;
	m->s = share_of(c, m->in);
	for (uint32_t p = 0; p < NPORTS; p++)
		if (m->in[p])
			m->s_cls[c->port_parity ? p & 1 : 0]++;
	m->n_dest = n_dest;
	m->d = calloc(n_dest, sizeof(*m->d));
	assert_non_null(m->d);
	for (unsigned int i = 0; i < n_dest; i++)
		m->d[i].key = dkey(i);
	return m;
}

static void
model_free(struct model *m)
{
	free(m->d);
	free(m);
}

static unsigned int
mcls(const struct model *m, uint16_t p)
{
	return m->conf->port_parity ? p & 1 : 0;
}

/* Resting ports whose quarantine has passed become free. */
static void
model_purge(struct model *m, struct mdest *d, uint64_t now)
{
	while (d->qh != d->qt && d->q[d->qh].rel + m->conf->quarantine <= now) {
		uint16_t p = d->q[d->qh++].port;

		assert_int_equal(d->state[p], M_RESTING);
		d->state[p] = M_FREE;
		d->rest_cls[mcls(m, p)]--;
	}
}

static uint32_t
model_usable(const struct model *m, const struct mdest *d, unsigned int c)
{
	return m->s_cls[c] - d->live_cls[c] - d->rest_cls[c];
}

static void
bound_cb(const struct eph_dest_key *k, uint32_t live, uint32_t resting, void *arg)
{
	uint64_t *sum = arg;
	uint64_t held = (uint64_t)live + resting;

	(void)k;
	/* portalloc.h: ceil((live + resting) / 32) + 5 chunks (+ 11 with parity). */
	sum[0] += RTE_MIN(held, (held + 31) / 32 + sum[1]);
}

/*
 * -ENOMEM with a port free for the destination: only with the chunk pool
 * full (nothing free, nothing unaccounted), and the pool held within the
 * per-destination bound of every destination's live + resting ports.
 */
static void
model_check_nomem(const struct model *m, struct eph_portalloc *pa)
{
	const struct eph_portalloc_stats *st = eph_portalloc_stats(pa);
	uint64_t sum[2] = {0, m->conf->port_parity ? 11 : 5};

	assert_int_equal(st->chunks_in_use + st->chunks_reserved, st->chunks_max);
	eph_portalloc_foreach(pa, bound_cb, sum);
	assert_true(sum[0] >= st->chunks_max);
	assert_int_equal(eph_portalloc_audit(pa), 0);
}

/* One alloc, checked against the model; returns the allocator's result. */
static int
model_alloc(struct model *m, struct eph_portalloc *pa, struct mdest *d, uint16_t pref, uint64_t now,
	    uint16_t *out)
{
	uint32_t usable, usable_pref = 0;
	uint16_t p = 0;
	int rc;

	model_purge(m, d, now);
	usable = model_usable(m, d, 0) + model_usable(m, d, 1);
	if (m->conf->port_parity && pref != 0)
		usable_pref = model_usable(m, d, pref & 1);
	rc = eph_portalloc_alloc(pa, &d->key, pref, now, &p);
	if (rc == -ENOSPC) {
		/* Exhaustion exactly when every share port is live or resting. */
		assert_int_equal(usable, 0);
		return rc;
	}
	if (rc == -ENOMEM && m->nomem_ok) {
		assert_true(usable > 0); /* no port at all is -ENOSPC, never -ENOMEM */
		model_check_nomem(m, pa);
		m->nomem++;
		return rc;
	}
	assert_int_equal(rc, 0);
	assert_true(usable > 0); /* never later than the model */
	assert_true(p >= m->conf->port_lo && p <= m->conf->port_hi);
	assert_true(m->in[p]);
	assert_true(eph_portalloc_owns(pa, p));
	assert_int_equal(d->state[p], M_FREE); /* never twice while live or resting */
	if (usable_pref > 0)
		assert_int_equal(p & 1, pref & 1);
	d->state[p] = M_LIVE;
	d->live_at[p] = d->n_live;
	d->live[d->n_live++] = p;
	d->live_cls[mcls(m, p)]++;
	if (out != NULL)
		*out = p;
	return rc;
}

static void
model_release(struct model *m, struct eph_portalloc *pa, struct mdest *d, uint32_t i, uint64_t now,
	      bool clean)
{
	uint16_t p = d->live[i];

	eph_portalloc_release(pa, &d->key, p, now, clean);
	d->live[i] = d->live[--d->n_live];
	d->live_at[d->live[i]] = i;
	d->live_cls[mcls(m, p)]--;
	if (clean) {
		d->state[p] = M_FREE;
	} else {
		d->state[p] = M_RESTING;
		d->rest_cls[mcls(m, p)]++;
		d->q[d->qt].port = p;
		d->q[d->qt++].rel = now;
	}
}

struct run_opts {
	unsigned int n_dest;
	unsigned long ops;
	unsigned int clean_pct;  /* releases that are clean */
	unsigned int pref_mode;  /* 0 none, 1 random ports (preservation), 2 random parity only */
	uint64_t max_step;       /* clock step when it moves */
	unsigned int max_chunks; /* 0: room for every share resting; else -ENOMEM allowed */
};

/* Random alloc/release phases against the model; all released and expired at the end. */
static void
model_run(const struct eph_portalloc_conf *c, const struct run_opts *o, uint64_t seed)
{
	struct model *m = model_new(c, o->n_dest);
	struct eph_portalloc_conf cc = *c;
	struct eph_portalloc *pa;
	const struct eph_portalloc_stats *st;
	uint64_t now = 1000;
	unsigned long exhausted = 0, allocs = 0;
	unsigned int alloc_pct = 70;

	/* Room for every destination to hold its whole share in FIFOs. */
	cc.max_chunks = o->max_chunks ? o->max_chunks : o->n_dest * (m->s / 32 + 6) + 8;
	m->nomem_ok = o->max_chunks != 0;
	pa = create(&cc);
	st = eph_portalloc_stats(pa);
	t_rng = seed;
	assert_int_equal(eph_portalloc_share_size(pa), m->s);
	for (unsigned long op = 0; op < o->ops; op++) {
		/* Skewed: destination 0 is the busiest. */
		struct mdest *d = &m->d[rnd_below(4) == 0 ? 0 : rnd_below(o->n_dest)];

		if (op % 3000 == 0)
			alloc_pct = 25 + rnd_below(60); /* fill and drain phases */
		if (rnd_below(8) == 0)
			now += rnd_below((uint32_t)o->max_step + 1);
		if (rnd_below(4000) == 0)
			now += c->quarantine;
		if (d->n_live == 0 || rnd_below(100) < alloc_pct) {
			uint16_t pref = 0;

			if (o->pref_mode == 1 && rnd_below(2) == 0)
				pref = (uint16_t)(c->port_lo - 3 +
						  rnd_below(c->port_hi - c->port_lo + 7));
			else if (o->pref_mode == 2)
				pref = (uint16_t)(1 + rnd_below(UINT16_MAX));
			if (model_alloc(m, pa, d, pref, now, NULL) == 0)
				allocs++;
			else
				exhausted++;
		} else {
			model_release(m, pa, d, rnd_below(d->n_live), now,
				      rnd_below(100) < o->clean_pct);
		}
		if (op % 997 == 0) {
			for (unsigned int i = 0; i < o->n_dest; i++)
				assert_int_equal(eph_portalloc_live(pa, &m->d[i].key),
						 m->d[i].n_live);
			assert_int_equal(eph_portalloc_audit(pa), 0);
		}
	}
	print_message("    S=%u workers=%u/%u parity=%d pref=%u: %lu allocs, %lu exhausted, "
		      "%lu out of chunks, %" PRIu64 " preserved, %" PRIu64
		      " rested reuses, chunks in use at the end %u of %u\n",
		      m->s, c->worker, c->n_workers, c->port_parity, o->pref_mode, allocs,
		      exhausted - m->nomem, m->nomem, st->preserved, st->reused_rested,
		      st->chunks_in_use, st->chunks_max);
	assert_int_equal(st->no_chunk, m->nomem);
	assert_int_equal(st->no_destination, 0);
	for (unsigned int i = 0; i < o->n_dest; i++)
		while (m->d[i].n_live > 0)
			model_release(m, pa, &m->d[i], 0, now, rnd_below(2));
	assert_idle_clean(pa, now + c->quarantine);
	model_free(m);
	eph_portalloc_free(pa);
}

/* ---- tests ----------------------------------------------------------------------------- */

/* perm is a bijection of [0, S) and inverse undoes it, for sampled S in 1..70000. */
static void
test_perm_bijection(void **state)
{
	static uint8_t seen[70001];
	uint32_t sizes[400];
	unsigned int n = 0;

	(void)state;
	for (uint32_t s = 1; s <= 130; s++)
		sizes[n++] = s;
	for (unsigned int k = 8; k <= 16; k++) {
		sizes[n++] = (1u << k) - 1;
		sizes[n++] = 1u << k;
		sizes[n++] = (1u << k) + 1;
	}
	t_rng = 42;
	while (n < RTE_DIM(sizes))
		sizes[n++] = 1 + rnd_below(70000);
	for (unsigned int i = 0; i < n; i++) {
		for (unsigned int kk = 0; kk < 3; kk++) {
			uint64_t key = rnd();
			uint32_t s = sizes[i];

			memset(seen, 0, s);
			for (uint32_t x = 0; x < s; x++) {
				uint32_t y = eph_portalloc_perm(s, key, x, false);

				assert_true(y < s);
				assert_int_equal(seen[y], 0);
				seen[y] = 1;
				assert_int_equal(eph_portalloc_perm(s, key, y, true), x);
			}
		}
	}
}

/* Shares of n workers are disjoint and their union is exactly the non-excluded range. */
static void
test_shares(void **state)
{
	static const unsigned int ns[] = {1, 2, 3, 4, 7};
	static const uint16_t excl[] = {1024, 2000, 2000, 8080, 65535, 80, 40001};
	static uint8_t owner[NPORTS];

	(void)state;
	for (unsigned int t = 0; t < RTE_DIM(ns); t++) {
		for (int parity = 0; parity < 2; parity++) {
			uint32_t total = 0, expect = 0;

			memset(owner, 0xff, sizeof(owner));
			for (unsigned int w = 0; w < ns[t]; w++) {
				struct eph_portalloc_conf c;
				struct eph_portalloc *pa;

				conf_init(&c, 1024, 65535, w, ns[t]);
				c.excluded = excl;
				c.n_excluded = RTE_DIM(excl);
				c.port_parity = parity;
				pa = create(&c);
				total += eph_portalloc_share_size(pa);
				for (uint32_t p = 0; p < NPORTS; p++) {
					if (!eph_portalloc_owns(pa, (uint16_t)p))
						continue;
					assert_int_equal(owner[p], 0xff); /* disjoint */
					owner[p] = (uint8_t)w;
					assert_int_equal(eph_portalloc_owner((uint16_t)p, ns[t]),
							 w);
				}
				eph_portalloc_free(pa);
			}
			for (uint32_t p = 0; p < NPORTS; p++) {
				bool want = p > 1024 && p != 2000 && p != 8080 && p != 65535 &&
					    p != 40001;

				assert_int_equal(owner[p] != 0xff, want);
				expect += want;
			}
			assert_int_equal(total, expect);
		}
	}
	/* owner() is the definition, power of two or not. */
	for (uint32_t p = 0; p < NPORTS; p++)
		for (unsigned int n = 1; n <= 8; n++)
			assert_int_equal(eph_portalloc_owner((uint16_t)p, n), p % n);
}

/* S = 0, 1, 2, 3: exhaustion, quarantine, clean reuse, each exact. */
static void
test_small_shares(void **state)
{
	(void)state;
	for (unsigned int s = 0; s <= 3; s++) {
		struct eph_portalloc_conf c;
		struct eph_portalloc *pa;
		struct eph_dest_key d = dkey(1);
		uint16_t got[3], p;
		uint64_t now = 5;

		/* Worker 0 of 4 on [4000, 4000 + 4s - 1] owns exactly s ports. */
		if (s == 0)
			conf_init(&c, 4001, 4003, 0, 4);
		else
			conf_init(&c, 4000, (uint16_t)(4000 + 4 * s - 1), 0, 4);
		c.quarantine = 10;
		pa = create(&c);
		assert_int_equal(eph_portalloc_share_size(pa), s);
		for (unsigned int i = 0; i < s; i++) {
			assert_int_equal(eph_portalloc_alloc(pa, &d, 0, now, &got[i]), 0);
			assert_int_equal(got[i] % 4, 0);
			for (unsigned int j = 0; j < i; j++)
				assert_int_not_equal(got[i], got[j]);
		}
		assert_int_equal(eph_portalloc_alloc(pa, &d, 0, now, &p), -ENOSPC);
		if (s == 0) {
			assert_idle_clean(pa, now);
			eph_portalloc_free(pa);
			continue;
		}
		assert_int_equal(eph_portalloc_live(pa, &d), s);
		/* Unclean: rests exactly `quarantine` ticks. */
		eph_portalloc_release(pa, &d, got[0], now, false);
		assert_int_equal(eph_portalloc_alloc(pa, &d, 0, now + 9, &p), -ENOSPC);
		assert_int_equal(eph_portalloc_alloc(pa, &d, 0, now + 10, &p), 0);
		assert_int_equal(p, got[0]);
		/* Clean: at once. */
		eph_portalloc_release(pa, &d, got[s - 1], now + 10, true);
		assert_int_equal(eph_portalloc_alloc(pa, &d, 0, now + 10, &p), 0);
		assert_int_equal(p, got[s - 1]);
		/* Another destination has the whole share to itself. */
		{
			struct eph_dest_key d2 = dkey(2);

			for (unsigned int i = 0; i < s; i++)
				assert_int_equal(eph_portalloc_alloc(pa, &d2, 0, now, &p), 0);
			assert_int_equal(eph_portalloc_alloc(pa, &d2, 0, now, &p), -ENOSPC);
			for (unsigned int i = 0; i < s; i++)
				eph_portalloc_release(pa, &d2, (uint16_t)(4000 + 4 * i), now, true);
		}
		for (unsigned int i = 0; i < s; i++)
			eph_portalloc_release(pa, &d, got[i], now + 20, false);
		assert_int_equal(eph_portalloc_stats(pa)->destinations, 1);
		assert_idle_clean(pa, now + 30);
		eph_portalloc_free(pa);
	}
}

/* The e2e shape: a 16-port pool, one destination exhausted, others unaffected. */
static void
test_share16(void **state)
{
	struct eph_portalloc_conf c;
	struct eph_portalloc *pa;
	struct eph_dest_key a = dkey(1), b = dkey(2);
	uint16_t ports[16], p;
	uint32_t seen = 0;

	(void)state;
	conf_init(&c, 40000, 40015, 0, 1);
	c.quarantine = 1000;
	pa = create(&c);
	for (unsigned int i = 0; i < 16; i++) {
		assert_int_equal(eph_portalloc_alloc(pa, &a, 0, 1, &ports[i]), 0);
		assert_true(ports[i] >= 40000 && ports[i] <= 40015);
		assert_int_equal(seen & (1u << (ports[i] - 40000)), 0);
		seen |= 1u << (ports[i] - 40000);
	}
	assert_int_equal(eph_portalloc_alloc(pa, &a, 0, 1, &p), -ENOSPC);
	assert_int_equal(eph_portalloc_stats(pa)->exhausted, 1);
	assert_int_equal(eph_portalloc_alloc(pa, &b, 0, 1, &p), 0);
	eph_portalloc_release(pa, &b, p, 1, false);
	/* Unclean releases rest; the first one back is the first one released. */
	eph_portalloc_release(pa, &a, ports[3], 2, false);
	eph_portalloc_release(pa, &a, ports[7], 3, false);
	assert_int_equal(eph_portalloc_alloc(pa, &a, 0, 1001, &p), -ENOSPC);
	assert_int_equal(eph_portalloc_alloc(pa, &a, 0, 1002, &p), 0);
	assert_int_equal(p, ports[3]);
	assert_int_equal(eph_portalloc_alloc(pa, &a, 0, 1002, &p), -ENOSPC);
	assert_int_equal(eph_portalloc_alloc(pa, &a, 0, 1003, &p), 0);
	assert_int_equal(p, ports[7]);
	for (unsigned int i = 0; i < 16; i++)
		eph_portalloc_release(pa, &a, ports[i], 2000, true);
	assert_int_equal(eph_portalloc_stats(pa)->destinations, 1); /* b still resting */
	assert_idle_clean(pa, 1001);
	eph_portalloc_free(pa);
}

/* Long random sequences against the model, several shapes. */
static void
test_model_random(void **state)
{
	static const uint16_t excl[] = {5003, 5010, 5011, 5100, 5333};
	struct eph_portalloc_conf c;
	struct run_opts o;

	(void)state;
	/* Small share, heavy exhaustion, 6 destinations. */
	conf_init(&c, 5000, 5120, 1, 3);
	c.excluded = excl;
	c.n_excluded = RTE_DIM(excl);
	c.quarantine = 40;
	o = (struct run_opts){.n_dest = 6, .ops = 200000, .clean_pct = 30, .max_step = 8};
	model_run(&c, &o, 1);

	/* The same with preservation requests, and with parity. */
	conf_init(&c, 5000, 5120, 1, 3);
	c.excluded = excl;
	c.n_excluded = RTE_DIM(excl);
	c.quarantine = 40;
	o.pref_mode = 1;
	model_run(&c, &o, 2);
	conf_init(&c, 5000, 5120, 1, 3);
	c.port_parity = true;
	c.quarantine = 40;
	model_run(&c, &o, 3);
	o.pref_mode = 2;
	model_run(&c, &o, 4);

	/* Tiny share: S = 5, 3 destinations, 16 ticks of quarantine. */
	conf_init(&c, 7000, 7009, 0, 2);
	c.quarantine = 16;
	o = (struct run_opts){
		.n_dest = 3, .ops = 100000, .clean_pct = 50, .max_step = 3, .pref_mode = 1};
	model_run(&c, &o, 5);

	/* Medium share, 7 workers, mostly unclean. */
	conf_init(&c, 1024, 9000, 6, 7);
	c.quarantine = 300;
	o = (struct run_opts){
		.n_dest = 8, .ops = 300000, .clean_pct = 10, .max_step = 4, .pref_mode = 1};
	model_run(&c, &o, 6);

	/* Large share (S ~ 32k): chunk chains, few exhaustions. */
	conf_init(&c, 1024, 65535, 0, 2);
	c.quarantine = 5000;
	o = (struct run_opts){.n_dest = 3, .ops = 300000, .clean_pct = 20, .max_step = 2};
	model_run(&c, &o, 7);

	/* No quarantine at all. */
	conf_init(&c, 30000, 30063, 0, 1);
	c.quarantine = 0;
	o = (struct run_opts){.n_dest = 4, .ops = 100000, .clean_pct = 0, .max_step = 2};
	model_run(&c, &o, 8);
}

/*
 * A chunk pool far too small for the load: -ENOMEM happens, but only within
 * the guarantee of portalloc.h (model_check_nomem), and everything else
 * (exact exhaustion, uniqueness, quarantine) holds as with room to spare.
 */
static void
test_model_small_pool(void **state)
{
	struct eph_portalloc_conf c;
	struct run_opts o;

	(void)state;
	/* S ~ 2000, 8 destinations, mostly unclean: quarantined ports fill the pool. */
	conf_init(&c, 1024, 9000, 1, 4);
	c.quarantine = 200;
	o = (struct run_opts){.n_dest = 8,
			      .ops = 300000,
			      .clean_pct = 30,
			      .max_step = 2,
			      .pref_mode = 1,
			      .max_chunks = 100};
	model_run(&c, &o, 11);
	/* Mostly clean, and with parity. */
	conf_init(&c, 1024, 9000, 1, 4);
	c.quarantine = 200;
	c.port_parity = true;
	o.clean_pct = 80;
	o.pref_mode = 2;
	o.max_chunks = 60;
	model_run(&c, &o, 12);
	/* Tiny share, the pool at its floor. */
	conf_init(&c, 5000, 5120, 1, 3);
	c.quarantine = 40;
	o = (struct run_opts){
		.n_dest = 6, .ops = 200000, .clean_pct = 50, .max_step = 8, .max_chunks = 10};
	model_run(&c, &o, 13);
}

/* Order: not sequential, and unrelated between destinations. */
static void
test_order(void **state)
{
	enum { N = 4000 };
	static uint16_t a[N], b[N];
	struct eph_portalloc_conf c;
	struct eph_portalloc *pa;
	struct eph_dest_key da = dkey(1), db = dkey(2);
	unsigned int adjacent = 0, same = 0, low = 0;

	(void)state;
	conf_init(&c, 1024, 65535, 1, 2);
	pa = create(&c);
	for (unsigned int i = 0; i < N; i++) {
		assert_int_equal(eph_portalloc_alloc(pa, &da, 0, 1, &a[i]), 0);
		assert_int_equal(eph_portalloc_alloc(pa, &db, 0, 1, &b[i]), 0);
	}
	for (unsigned int i = 1; i < N; i++) {
		int step = (int)a[i] - (int)a[i - 1];

		adjacent += step == 2 || step == -2 || step == 1 || step == -1;
	}
	for (unsigned int i = 0; i < N; i++) {
		same += a[i] == b[i];
		low += a[i] < 1024 + (65535 - 1024) / 2;
	}
	print_message("    %u adjacent steps, %u equal positions across destinations, "
		      "%u of %u in the lower half\n",
		      adjacent, same, low, N);
	assert_true(adjacent < 10);
	assert_true(same < 10);
	assert_true(low > N / 2 - N / 10 && low < N / 2 + N / 10);
	/* A destination that comes back (new incarnation) walks a new order. */
	for (unsigned int i = 0; i < N; i++)
		eph_portalloc_release(pa, &da, a[i], 2, true);
	assert_int_equal(eph_portalloc_live(pa, &da), 0);
	same = 0;
	for (unsigned int i = 0; i < 100; i++) {
		uint16_t p;

		assert_int_equal(eph_portalloc_alloc(pa, &da, 0, 2, &p), 0);
		same += p == a[i];
	}
	assert_true(same < 5);
	eph_portalloc_free(pa);
}

/* Destination records follow use: freed when idle and rested, table full -> -ENOMEM. */
static void
test_destinations(void **state)
{
	struct eph_portalloc_conf c;
	struct eph_portalloc *pa;
	const struct eph_portalloc_stats *st;
	struct eph_dest_key d[6];
	uint16_t p[6], x;

	(void)state;
	conf_init(&c, 10000, 10999, 0, 1);
	c.max_destinations = 4;
	c.quarantine = 50;
	pa = create(&c);
	st = eph_portalloc_stats(pa);
	for (unsigned int i = 0; i < 6; i++)
		d[i] = dkey(i);
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(eph_portalloc_alloc(pa, &d[i], 0, 10, &p[i]), 0);
	assert_int_equal(st->destinations, 4);
	assert_int_equal(eph_portalloc_alloc(pa, &d[4], 0, 10, &x), -ENOMEM);
	assert_int_equal(st->no_destination, 1);
	/* An existing destination still gets ports. */
	assert_int_equal(eph_portalloc_alloc(pa, &d[0], 0, 10, &x), 0);
	eph_portalloc_release(pa, &d[0], x, 10, true);
	/* Clean release of the last port: the record goes at once. */
	eph_portalloc_release(pa, &d[1], p[1], 11, true);
	assert_int_equal(st->destinations, 3);
	assert_int_equal(eph_portalloc_alloc(pa, &d[4], 0, 11, &p[4]), 0);
	/* Unclean: kept (idle) until the quarantine passed, then reclaimed on demand. */
	eph_portalloc_release(pa, &d[2], p[2], 12, false);
	assert_int_equal(st->destinations, 4);
	assert_int_equal(st->idle, 1);
	assert_int_equal(eph_portalloc_alloc(pa, &d[5], 0, 61, &x), -ENOMEM);
	assert_int_equal(eph_portalloc_alloc(pa, &d[5], 0, 62, &p[5]), 0);
	assert_int_equal(st->idle, 0);
	/* An idle destination that is used again leaves the idle list. */
	eph_portalloc_release(pa, &d[3], p[3], 63, false);
	assert_int_equal(st->idle, 1);
	assert_int_equal(eph_portalloc_alloc(pa, &d[3], 0, 64, &x), 0);
	assert_int_not_equal(x, p[3]);
	assert_int_equal(st->idle, 0);
	eph_portalloc_release(pa, &d[3], x, 65, false);
	eph_portalloc_release(pa, &d[0], p[0], 66, false);
	eph_portalloc_release(pa, &d[4], p[4], 67, false);
	eph_portalloc_release(pa, &d[5], p[5], 68, false);
	assert_int_equal(st->idle, 4);
	assert_int_equal(eph_portalloc_expire(pa, 115, 10), 1); /* in idle order */
	assert_int_equal(eph_portalloc_expire(pa, 117, 10), 2);
	assert_int_equal(st->destinations, 1);
	assert_idle_clean(pa, 118);
	assert_int_equal(st->dest_created, st->dest_freed);
	eph_portalloc_free(pa);
}

/* FIFO memory: allocs stop (-ENOMEM) before a release could lack a chunk. */
static void
test_chunk_limit(void **state)
{
	enum { MAXC = 5 };
	struct eph_portalloc_conf c;
	struct eph_portalloc *pa;
	const struct eph_portalloc_stats *st;
	struct eph_dest_key d = dkey(1);
	static uint16_t got[2048];
	unsigned int n = 0, n2 = 0;
	int rc;

	(void)state;
	conf_init(&c, 20000, 21999, 0, 1);
	c.max_chunks = MAXC;
	c.quarantine = 10;
	pa = create(&c);
	st = eph_portalloc_stats(pa);
	while ((rc = eph_portalloc_alloc(pa, &d, 0, 1, &got[n])) == 0)
		n++;
	assert_int_equal(rc, -ENOMEM);
	assert_int_equal(st->no_chunk, 1);
	/* Worst case: split between ready and quarantine, 2 + (n - 2) / 32 chunks. */
	print_message("    %u live ports on %u chunks of reserve\n", n, MAXC);
	assert_true(n > 32 * (MAXC - 2));
	assert_true(n <= 32 * (MAXC - 1) + 1);
	/* Releases in any mix never fail. */
	t_rng = 99;
	for (unsigned int i = 0; i < n; i++)
		eph_portalloc_release(pa, &d, got[i], 2, rnd_below(2));
	assert_int_equal(st->lost, 0);
	assert_int_equal(eph_portalloc_audit(pa), 0);
	/* Fresh ports are taken first, then everything released comes back. */
	while (eph_portalloc_alloc(pa, &d, 0, 20, &got[n2]) == 0)
		n2++;
	assert_true(n2 > 0);
	assert_int_equal(st->lost, 0);
	for (unsigned int i = 0; i < n2; i++)
		eph_portalloc_release(pa, &d, got[i], 30, true);
	assert_int_equal(st->lost, 0);
	assert_idle_clean(pa, 100);
	eph_portalloc_free(pa);
}

/*
 * Chunk memory short: a reusable port is given rather than -ENOMEM when its
 * pop frees the chunk that a fresh port would have needed.
 */
static void
test_chunk_fallback(void **state)
{
	struct eph_portalloc_conf c;
	struct eph_portalloc *pa;
	const struct eph_portalloc_stats *st;
	struct eph_dest_key d = dkey(1);
	static uint16_t got[64];
	uint16_t p;

	(void)state;
	for (int clean = 1; clean >= 0; clean--) {
		conf_init(&c, 20000, 21999, 0, 1);
		c.max_chunks = 2;
		c.quarantine = 10;
		pa = create(&c);
		st = eph_portalloc_stats(pa);
		/* 33 live ports: 2 chunks reserved (their releases split between the FIFOs). */
		for (unsigned int i = 0; i < 33; i++)
			assert_int_equal(eph_portalloc_alloc(pa, &d, 0, 1, &got[i]), 0);
		assert_int_equal(st->chunks_reserved, 2);
		/* One back: its chunk + the reserve of 32 live ports fill the pool. */
		eph_portalloc_release(pa, &d, got[5], 1, clean);
		assert_int_equal(st->chunks_in_use + st->chunks_reserved, 2);
		if (!clean) /* resting: no other way than a fresh port, which needs a third */
			assert_int_equal(eph_portalloc_alloc(pa, &d, 0, 10, &p), -ENOMEM);
		/* A fresh port would need a third chunk; the released one frees its own. */
		assert_int_equal(eph_portalloc_alloc(pa, &d, 0, 11, &p), 0);
		assert_int_equal(p, got[5]);
		assert_int_equal(st->chunks_in_use, 0);
		/* Now nothing is reusable and 34 live would need 3: out of chunks, exactly. */
		assert_int_equal(eph_portalloc_alloc(pa, &d, 0, 11, &p), -ENOMEM);
		assert_int_equal(st->no_chunk, clean ? 1 : 2);
		assert_int_equal(eph_portalloc_audit(pa), 0);
		for (unsigned int i = 0; i < 33; i++)
			eph_portalloc_release(pa, &d, got[i], 12, clean);
		assert_int_equal(st->lost, 0);
		assert_idle_clean(pa, 30);
		eph_portalloc_free(pa);
	}
}

/*
 * The benchmark's allocator case with the DEFAULT chunk pool (2 per
 * destination + 4 shares): 1024 destinations that never go idle, 64 live
 * ports each, all released (clean and unclean rounds in turn) and taken
 * again, round after round. Fresh-first kept every released port until the
 * share was walked and failed in round 7 (14336 chunks in use + 1928
 * reserved of 16264). Memory must follow the live ports and stay flat.
 */
static void
test_busy_destinations_default_pool(void **state)
{
	enum { DESTS = 1024, LIVE = 64, ROUNDS = 128 };
	static uint16_t ports[DESTS][LIVE];
	static uint8_t seen[NPORTS];
	struct eph_portalloc_conf c;
	struct eph_portalloc *pa;
	const struct eph_portalloc_stats *st;
	struct eph_dest_key d[DESTS];
	uint32_t high[2] = {0, 0};
	uint64_t now = 0;

	(void)state;
	conf_init(&c, 1024, 65535, 0, 1);
	c.quarantine = 120 * 16; /* 120 s of 1/16 s ticks, as the daemon's */
	c.max_destinations = 4 * DESTS;
	pa = create(&c); /* max_chunks 0: the default */
	st = eph_portalloc_stats(pa);
	for (unsigned int i = 0; i < DESTS; i++)
		d[i] = (struct eph_dest_key){
			.out_addr = 0x017100cb + (i % 4 << 24),
			.remote_addr = 0x0a000000u + i / 4,
			.remote_port = 53,
			.proto = 17,
		};
	for (unsigned int r = 0; r < ROUNDS; r++) {
		for (unsigned int j = 0; j < LIVE; j++)
			for (unsigned int i = 0; i < DESTS; i++) {
				int rc = eph_portalloc_alloc(pa, &d[i], 0, now, &ports[i][j]);

				if (rc != 0)
					fail_msg("round %u: alloc %u of destination %u: %d; chunks "
						 "%u in use + %u reserved of %u",
						 r, j, i, rc, st->chunks_in_use,
						 st->chunks_reserved, st->chunks_max);
			}
		for (unsigned int i = 0; i < DESTS; i++) {
			for (unsigned int j = 0; j < LIVE; j++) {
				assert_int_equal(seen[ports[i][j]], 0);
				seen[ports[i][j]] = 1;
			}
			for (unsigned int j = 0; j < LIVE; j++)
				seen[ports[i][j]] = 0;
		}
		high[r >= ROUNDS / 2] =
			RTE_MAX(high[r >= ROUNDS / 2], st->chunks_in_use + st->chunks_reserved);
		for (unsigned int j = 0; j < LIVE; j++)
			for (unsigned int i = 0; i < DESTS; i++)
				eph_portalloc_release(pa, &d[i], ports[i][j], now, r & 1);
		now += c.quarantine / 4;
	}
	print_message("    %u rounds of %u x %u: chunks high-water %u (first half) %u (second) of "
		      "%u, %.1f per destination; %" PRIu64 " fresh, %" PRIu64 " clean, %" PRIu64
		      " rested reuses\n",
		      ROUNDS, DESTS, LIVE, high[0], high[1], st->chunks_max,
		      (double)high[1] / DESTS, st->fresh, st->reused_clean, st->reused_rested);
	assert_int_equal(st->no_chunk, 0);
	assert_int_equal(st->lost, 0);
	assert_int_equal(eph_portalloc_audit(pa), 0);
	/* Flat: the second half never needs more than the first. */
	assert_true(high[1] <= high[0]);
	assert_true(high[1] < st->chunks_max * 3 / 4);
	assert_idle_clean(pa, now + c.quarantine);
	eph_portalloc_free(pa);
}

/* The sizing helper nat_setup uses: destinations, live ports and shares. */
static void
test_chunks_for(void **state)
{
	struct eph_portalloc_conf c;
	struct eph_portalloc *pa;

	(void)state;
	conf_init(&c, 1024, 65535, 0, 1);
	c.max_destinations = 65536;
	/* The daemon's defaults (262144 sessions, one worker): the destinations cover them. */
	assert_int_equal(eph_portalloc_chunks_for(&c, 262144), 2 * 65536 + 4 * (64512 / 32 + 2));
	/* Many sessions on few destinations: 2 chunks per 32 sessions. */
	assert_int_equal(eph_portalloc_chunks_for(&c, 4 << 20),
			 65536 + 2 * (4 << 20) / 32 + 4 * (64512 / 32 + 2));
	print_message("    defaults: %u chunks, %.1f MB per worker and pool\n",
		      eph_portalloc_chunks_for(&c, 262144),
		      eph_portalloc_chunks_for(&c, 262144) * eph_portalloc_bytes_per_chunk() / 1e6);
	/* Shares of several workers, exclusions ignored. */
	conf_init(&c, 1024, 65535, 1, 2);
	c.max_destinations = 100;
	assert_int_equal(eph_portalloc_chunks_for(&c, 0), 200 + 4 * (32256 / 32 + 2));
	conf_init(&c, 5000, 5001, 2, 3); /* 5000 % 3 == 2: one port */
	c.max_destinations = 1;
	assert_int_equal(eph_portalloc_chunks_for(&c, 33), 1 + 2 * 2 + 4 * (1 + 2));
	/* Without max_chunks, create takes the same sizing with no live ports. */
	conf_init(&c, 1024, 65535, 0, 3);
	pa = create(&c);
	assert_int_equal(eph_portalloc_stats(pa)->chunks_max, eph_portalloc_chunks_for(&c, 0));
	eph_portalloc_free(pa);
	conf_init(&c, 1024, 65535, 3, 3);
	assert_int_equal(eph_portalloc_chunks_for(&c, 0), 0);
}

/* Port preservation: the preferred port while fresh, never a duplicate afterwards. */
static void
test_preservation(void **state)
{
	struct eph_portalloc_conf c;
	struct eph_portalloc *pa;
	const struct eph_portalloc_stats *st;
	struct eph_dest_key d = dkey(1);
	static uint8_t seen[NPORTS];
	uint16_t p;
	unsigned int n = 0, s;

	(void)state;
	conf_init(&c, 1024, 2047, 1, 2); /* odd ports 1025..2047: S = 512 */
	c.quarantine = 100;
	pa = create(&c);
	st = eph_portalloc_stats(pa);
	s = eph_portalloc_share_size(pa);
	/* Several out-of-order preservations, more than the move slots. */
	for (uint16_t want = 2001; want <= 2041; want += 4) {
		assert_int_equal(eph_portalloc_alloc(pa, &d, want, 1, &p), 0);
		assert_int_equal(seen[p], 0);
		seen[p] = 1;
		n++;
	}
	print_message("    %" PRIu64 " of 11 preserved, %" PRIu64 " missed, %u moves at most\n",
		      st->preserved, st->preserve_missed, st->moved_max);
	assert_true(st->preserved >= 4);
	assert_true(st->moved_max <= 4);
	/* Live: never given again, even when asked. */
	assert_int_equal(eph_portalloc_alloc(pa, &d, 2001, 1, &p), 0);
	assert_int_not_equal(p, 2001);
	seen[p] = 1;
	n++;
	/* Not in the share (even, or out of range): ignored. */
	assert_int_equal(eph_portalloc_alloc(pa, &d, 2002, 1, &p), 0);
	assert_int_equal(seen[p], 0);
	seen[p] = 1;
	n++;
	/* The whole share comes out exactly once, then exhaustion. */
	while (eph_portalloc_alloc(pa, &d, (uint16_t)(1025 + 2 * rnd_below(512)), 1, &p) == 0) {
		assert_int_equal(seen[p], 0);
		seen[p] = 1;
		n++;
	}
	assert_int_equal(n, s);
	/* Resting: not preserved. */
	eph_portalloc_release(pa, &d, 1025, 2, false);
	assert_int_equal(eph_portalloc_alloc(pa, &d, 1025, 50, &p), -ENOSPC);
	assert_int_equal(eph_portalloc_alloc(pa, &d, 1025, 102, &p), 0);
	assert_int_equal(p, 1025);
	for (uint32_t q = 0; q < NPORTS; q++)
		if (seen[q])
			eph_portalloc_release(pa, &d, (uint16_t)q, 200, true);
	assert_idle_clean(pa, 200);
	/* A fresh destination: preserving the port at the cursor, then elsewhere. */
	for (unsigned int i = 0; i < 20; i++) {
		uint16_t want = (uint16_t)(1025 + 2 * rnd_below(512));

		assert_int_equal(eph_portalloc_alloc(pa, &d, want, 300, &p), 0);
		eph_portalloc_release(pa, &d, p, 300, true);
		assert_int_equal(p, want);
	}
	assert_idle_clean(pa, 300);
	eph_portalloc_free(pa);
}

/* Port parity: same parity while one is free, the other one rather than failing. */
static void
test_parity(void **state)
{
	struct eph_portalloc_conf c;
	struct eph_portalloc *pa;
	const struct eph_portalloc_stats *st;
	struct eph_dest_key d = dkey(1);
	uint16_t p;
	unsigned int odd = 0, even = 0;

	(void)state;
	conf_init(&c, 3000, 3029, 0, 3); /* 3000, 3003, ... 3027: 5 even, 5 odd */
	c.port_parity = true;
	pa = create(&c);
	st = eph_portalloc_stats(pa);
	assert_int_equal(eph_portalloc_share_size(pa), 10);
	for (unsigned int i = 0; i < 5; i++) {
		assert_int_equal(eph_portalloc_alloc(pa, &d, 12345, 1, &p), 0);
		assert_int_equal(p & 1, 1);
	}
	/* Odd exhausted: even ports, counted as parity misses. */
	for (unsigned int i = 0; i < 5; i++) {
		assert_int_equal(eph_portalloc_alloc(pa, &d, 12345, 1, &p), 0);
		assert_int_equal(p & 1, 0);
	}
	assert_int_equal(st->parity_missed, 5);
	assert_int_equal(eph_portalloc_alloc(pa, &d, 12344, 1, &p), -ENOSPC);
	/* Preservation within parity. */
	eph_portalloc_release(pa, &d, 3003, 2, true);
	eph_portalloc_release(pa, &d, 3006, 2, true);
	assert_int_equal(eph_portalloc_alloc(pa, &d, 3004, 2, &p), 0);
	assert_int_equal(p, 3006);
	assert_int_equal(eph_portalloc_alloc(pa, &d, 3004, 2, &p), 0);
	assert_int_equal(p, 3003);
	eph_portalloc_free(pa);

	/* Two workers: worker 0 owns only even ports, so odd asks get even ports. */
	conf_init(&c, 3000, 3099, 0, 2);
	c.port_parity = true;
	pa = create(&c);
	st = eph_portalloc_stats(pa);
	for (unsigned int i = 0; i < 10; i++) {
		assert_int_equal(eph_portalloc_alloc(pa, &d, 5001, 1, &p), 0);
		odd += p & 1;
		even += !(p & 1);
	}
	assert_int_equal(odd, 0);
	assert_int_equal(st->parity_missed, 10);
	eph_portalloc_free(pa);
	(void)even;
}

/* Quarantine in TSC-like ticks: coarse time and the chunk re-base stay exact. */
static void
test_big_clock(void **state)
{
	struct eph_portalloc_conf c;
	struct eph_portalloc *pa;
	struct eph_dest_key d = dkey(1);
	const uint64_t q = 120ULL * 3000000000ULL; /* 120 s at 3 GHz */
	uint64_t t0 = 1ULL << 50;
	uint16_t a, b, x, p;

	(void)state;
	conf_init(&c, 8000, 8002, 0, 1);
	c.quarantine = q;
	pa = create(&c);
	assert_int_equal(eph_portalloc_alloc(pa, &d, 0, t0, &a), 0);
	assert_int_equal(eph_portalloc_alloc(pa, &d, 0, t0, &b), 0);
	assert_int_equal(eph_portalloc_alloc(pa, &d, 0, t0, &x), 0); /* stays live */
	eph_portalloc_release(pa, &d, a, t0, false);
	assert_int_equal(eph_portalloc_alloc(pa, &d, 0, t0 + q - 1, &p), -ENOSPC);
	/* Same chunk, 2^60 ticks later: forces a re-base of the chunk. */
	eph_portalloc_release(pa, &d, b, t0 + (1ULL << 60), false);
	assert_int_equal(eph_portalloc_alloc(pa, &d, 0, t0 + (1ULL << 60), &p), 0);
	assert_int_equal(p, a); /* long rested */
	assert_int_equal(eph_portalloc_alloc(pa, &d, 0, t0 + (1ULL << 60) + q - 1, &p), -ENOSPC);
	/* Coarse time may delay reuse by a hair, never shorten it. */
	assert_int_equal(eph_portalloc_alloc(pa, &d, 0, t0 + (1ULL << 60) + q + (q >> 20), &p), 0);
	assert_int_equal(p, b);
	eph_portalloc_free(pa);
}

struct fe_acc {
	unsigned int n;
	uint32_t live, resting;
};

static void
fe_cb(const struct eph_dest_key *k, uint32_t live, uint32_t resting, void *arg)
{
	struct fe_acc *acc = arg;

	assert_int_equal(k->proto, 6);
	acc->n++;
	acc->live += live;
	acc->resting += resting;
}

/* Telemetry iteration, memory figures, and create's argument checks. */
static void
test_foreach_and_memory(void **state)
{
	struct eph_portalloc_conf c;
	struct eph_portalloc *pa;
	struct fe_acc acc = {0};
	struct rte_malloc_socket_stats before, after;
	uint16_t p;

	(void)state;
	conf_init(&c, 1024, 65535, 0, 1);
	c.max_destinations = 65536;
	c.max_chunks = 1;
	rte_malloc_get_socket_stats(0, &before);
	pa = create(&c);
	rte_malloc_get_socket_stats(0, &after);
	print_message("    record + hash slot: %zu B per destination (estimate); measured %.1f B "
		      "per destination slot incl. port tables; chunk %zu B (32 ports)\n",
		      eph_portalloc_bytes_per_destination(pa),
		      (double)(after.heap_allocsz_bytes - before.heap_allocsz_bytes) / 65536,
		      eph_portalloc_bytes_per_chunk());
	assert_true(eph_portalloc_bytes_per_destination(pa) < 160);
	eph_portalloc_free(pa);

	conf_init(&c, 1024, 65535, 0, 1);
	pa = create(&c);
	for (unsigned int i = 0; i < 5; i++) {
		struct eph_dest_key d = dkey(i);

		for (unsigned int j = 0; j <= i; j++)
			assert_int_equal(eph_portalloc_alloc(pa, &d, 0, 1, &p), 0);
		eph_portalloc_release(pa, &d, p, 1, false);
	}
	eph_portalloc_foreach(pa, fe_cb, &acc);
	assert_int_equal(acc.n, 5); /* dkey(0): its only port resting, so still in use */
	assert_int_equal(acc.live, 0 + 1 + 2 + 3 + 4);
	assert_int_equal(acc.resting, 5);
	eph_portalloc_free(pa);

	/* Bad configurations. */
	conf_init(&c, 0, 100, 0, 1);
	assert_null(eph_portalloc_create(&c));
	conf_init(&c, 100, 99, 0, 1);
	assert_null(eph_portalloc_create(&c));
	conf_init(&c, 100, 200, 2, 2);
	assert_null(eph_portalloc_create(&c));
	conf_init(&c, 100, 200, 0, 1);
	c.name = "a-name-far-too-long-for-rte_hash";
	assert_null(eph_portalloc_create(&c));
	assert_int_equal(rte_errno, ENAMETOOLONG);
	/* Unknown releases are counted, not fatal. */
	conf_init(&c, 100, 200, 0, 1);
	pa = create(&c);
	{
		struct eph_dest_key d = dkey(1);

		eph_portalloc_release(pa, &d, 150, 1, true);
		assert_int_equal(eph_portalloc_alloc(pa, &d, 0, 1, &p), 0);
		eph_portalloc_release(pa, &d, 50, 1, true);
		eph_portalloc_release(pa, &d, p, 1, true);
		eph_portalloc_release(pa, &d, p, 1, true);
		assert_int_equal(eph_portalloc_stats(pa)->bad_release, 3);
	}
	eph_portalloc_free(pa);
}

/* Information only: mean cost of an alloc + release pair on this (shared) machine. */
static void
test_speed(void **state)
{
	enum { DESTS = 256, LIVE = 64, PAIRS = 2000000 };
	static uint16_t ring[DESTS][LIVE];
	struct eph_portalloc_conf c;
	struct eph_portalloc *pa;
	struct eph_dest_key d[DESTS];
	struct timespec t1, t2;
	uint64_t now = 1;
	double ns;

	(void)state;
	/* S = 2000: fresh ports, then steady reuse of clean and rested ones. */
	conf_init(&c, 1024, 5023, 0, 2);
	c.quarantine = 500;
	c.max_destinations = DESTS;
	c.max_chunks = DESTS * 80; /* a whole share resting per destination */
	pa = create(&c);
	for (unsigned int i = 0; i < DESTS; i++) {
		d[i] = dkey(i);
		for (unsigned int j = 0; j < LIVE; j++)
			assert_int_equal(eph_portalloc_alloc(pa, &d[i], 0, now, &ring[i][j]), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (unsigned int i = 0; i < PAIRS; i++) {
		unsigned int k = i % DESTS, j = (i / DESTS) % LIVE;

		if (k == 0)
			now++;
		eph_portalloc_release(pa, &d[k], ring[k][j], now, (i & 3) == 0);
		if (eph_portalloc_alloc(pa, &d[k], 0, now, &ring[k][j]) != 0)
			fail_msg("alloc failed at pair %u", i);
	}
	clock_gettime(CLOCK_MONOTONIC, &t2);
	ns = ((double)(t2.tv_sec - t1.tv_sec) * 1e9 + (double)(t2.tv_nsec - t1.tv_nsec)) / PAIRS;
	print_message("    %.1f ns per alloc + release pair (%u destinations, %u live each; "
		      "shared VM, information only)\n",
		      ns, DESTS, LIVE);
	assert_int_equal(eph_portalloc_audit(pa), 0);
	eph_portalloc_free(pa);
}

int
main(int argc, char **argv)
{
	char prefix[64];
	char *eal[] = {
		argv[0],         "--no-huge",      "-m", "256", "--no-pci",    "--no-telemetry",
		"--file-prefix", prefix, "-l", "0",   "--log-level", "error"};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perm_bijection),
		cmocka_unit_test(test_shares),
		cmocka_unit_test(test_small_shares),
		cmocka_unit_test(test_share16),
		cmocka_unit_test(test_model_random),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_destinations),
		cmocka_unit_test(test_chunk_limit),
		cmocka_unit_test(test_chunk_fallback),
		cmocka_unit_test(test_busy_destinations_default_pool),
		cmocka_unit_test(test_model_small_pool),
		cmocka_unit_test(test_chunks_for),
		cmocka_unit_test(test_preservation),
		cmocka_unit_test(test_parity),
		cmocka_unit_test(test_big_clock),
		cmocka_unit_test(test_foreach_and_memory),
		cmocka_unit_test(test_speed),
	};
	int rc;

	(void)argc;
	t_eal_prefix(prefix, sizeof(prefix), "unit-portalloc");
	if (rte_eal_init((int)RTE_DIM(eal), eal) < 0) {
		fprintf(stderr, "test_portalloc: EAL init failed\n");
		return 1;
	}
	rc = cmocka_run_group_tests_name("portalloc", tests, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The port-block allocator: block ownership by worker, a host's blocks
 * and its limit, an address running out of blocks, FIFO reuse of released
 * blocks, release events, bad releases, partial last blocks, idle address
 * eviction, and long random sequences against a reference model that
 * predicts every return code and event. EAL without hugepages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "dataplane/ports/portblock.h"
#include "tests/unit/eal_prefix.h"

#define ADDR_A  0x647100cbu /* 203.0.113.100, network order on little endian */
#define ADDR_B  0x657100cbu
#define ADDR_C  0x667100cbu
#define HOST(i) (0x0b0200c0u + ((uint32_t)(i) << 24)) /* 192.0.2.11 + i */

static unsigned int t_names;

/* xorshift64*: fixed seeds, independent of libc. */
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
conf_init(struct eph_portblock_conf *c, uint16_t lo, uint16_t hi, uint16_t bs, unsigned int w,
	  unsigned int n)
{
	static char names[64][17];
	char *name = names[t_names++ % 64];

	snprintf(name, 17, "tpb%u", t_names);
	*c = (struct eph_portblock_conf){
		.port_lo = lo,
		.port_hi = hi,
		.block_size = bs,
		.worker = w,
		.n_workers = n,
		.max_hosts = 64,
		.max_blocks_per_host = 4,
		.max_addrs = 4,
		.secret = 0x12345678,
		.socket_id = SOCKET_ID_ANY,
		.name = name,
	};
}

static struct eph_portblock *
create(const struct eph_portblock_conf *c)
{
	struct eph_portblock *pb = eph_portblock_create(c);

	assert_non_null(pb);
	assert_int_equal(eph_portblock_audit(pb), 0);
	return pb;
}

/* Take a port that must come from a new block [first, first + bs - 1]. */
static uint16_t
take_new_block(struct eph_portblock *pb, uint32_t host, uint32_t out, uint16_t first, uint16_t bs)
{
	struct eph_portblock_event ev = {0};
	uint16_t port = 0;

	assert_int_equal(eph_portblock_alloc(pb, host, out, &port, &ev), 1);
	assert_int_equal(ev.type, EPH_PORTBLOCK_ALLOC);
	assert_int_equal(ev.host_addr, host);
	assert_int_equal(ev.out_addr, out);
	assert_int_equal(ev.first_port, first);
	assert_int_equal(ev.last_port, first + bs - 1);
	assert_in_range(port, first, first + bs - 1);
	return port;
}

/* ---- ownership ----------------------------------------------------------------------- */

static void
test_owner(void **state)
{
	static const uint16_t sizes[] = {1, 7, 64, 100, 256};

	(void)state;
	for (unsigned int n = 1; n <= 4; n++) {
		for (unsigned int s = 0; s < RTE_DIM(sizes); s++) {
			uint16_t bs = sizes[s], lo = 1024;
			uint32_t hi =
				bs == 1 ? 1024 + 40 : 1024 + 9u * bs + bs / 2; /* partial end */
			uint32_t whole = (hi - lo + 1) / bs;

			for (uint32_t p = lo; p <= hi; p++)
				assert_int_equal(eph_portblock_owner((uint16_t)p, lo, bs, n),
						 ((p - lo) / bs) % n);
			/* Below the range: spread by the port alone. */
			for (uint32_t p = 1; p < lo; p += 97)
				assert_int_equal(eph_portblock_owner((uint16_t)p, lo, bs, n),
						 p % n);
			for (unsigned int w = 0; w < n && w < whole; w++) {
				struct eph_portblock_conf c;
				struct eph_portblock *pb;
				uint32_t expect = 0, got = 0;

				conf_init(&c, lo, (uint16_t)hi, bs, w, n);
				c.max_blocks_per_host = 1;
				pb = create(&c);
				for (uint32_t k = 0; k < whole; k++)
					expect += k % n == w;
				assert_int_equal(eph_portblock_blocks_per_addr(pb), expect);
				/* One host per block, until the address is out of blocks. */
				for (uint32_t h = 0;; h++) {
					struct eph_portblock_event ev = {0};
					uint16_t port;
					int rc = eph_portblock_alloc(pb, HOST(h), ADDR_A, &port,
								     &ev);

					if (rc == -ENOSPC)
						break;
					assert_int_equal(rc, 1);
					assert_int_equal(eph_portblock_owner(port, lo, bs, n), w);
					assert_int_equal(
						eph_portblock_owner(ev.first_port, lo, bs, n), w);
					assert_int_equal(
						eph_portblock_owner(ev.last_port, lo, bs, n), w);
					assert_int_equal((ev.first_port - lo) % bs, 0);
					assert_true(ev.last_port <= hi);
					got++;
				}
				assert_int_equal(got, expect);
				assert_int_equal(eph_portblock_audit(pb), 0);
				eph_portblock_free(pb);
			}
		}
	}
}

/* ---- one host ------------------------------------------------------------------------ */

static void
test_host_blocks(void **state)
{
	struct eph_portblock_conf c;
	struct eph_portblock *pb;
	struct eph_portblock_event ev = {0};
	const struct eph_portblock_stats *st;
	uint8_t seen[65536] = {0};
	uint32_t out = 0;
	uint16_t port;

	(void)state;
	conf_init(&c, 2000, 2000 + 8 * 64 - 1, 64, 0, 1);
	c.max_blocks_per_host = 3;
	pb = create(&c);
	st = eph_portblock_stats(pb);
	assert_false(eph_portblock_host_has_block(pb, HOST(0), ADDR_A));
	assert_int_equal(eph_portblock_host_addr(pb, HOST(0), &out), -ENOENT);

	for (unsigned int b = 0; b < 3; b++) {
		uint16_t first = (uint16_t)(2000 + b * 64);

		seen[take_new_block(pb, HOST(0), ADDR_A, first, 64)] = 1;
		for (unsigned int i = 1; i < 64; i++) {
			assert_int_equal(eph_portblock_alloc(pb, HOST(0), ADDR_A, &port, &ev), 0);
			assert_in_range(port, first, first + 63);
			assert_false(seen[port]);
			seen[port] = 1;
		}
		assert_int_equal(eph_portblock_host_blocks(pb, HOST(0)), b + 1);
	}
	/* Three full blocks: at the limit, on this address and on any other. */
	assert_int_equal(eph_portblock_alloc(pb, HOST(0), ADDR_A, &port, &ev), -EDQUOT);
	assert_int_equal(eph_portblock_alloc(pb, HOST(0), ADDR_B, &port, &ev), -EDQUOT);
	assert_int_equal(st->refused_host_limit, 2);
	assert_true(eph_portblock_host_has_block(pb, HOST(0), ADDR_A));
	assert_false(eph_portblock_host_has_block(pb, HOST(0), ADDR_B));
	assert_int_equal(eph_portblock_host_addr(pb, HOST(0), &out), 0);
	assert_int_equal(out, ADDR_A);

	/* A freed port makes room again, in the same block: no event. */
	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, 2070, &ev), 0);
	assert_int_equal(eph_portblock_alloc(pb, HOST(0), ADDR_A, &port, &ev), 0);
	assert_int_equal(port, 2070);

	/* Another host is not limited by this one. */
	take_new_block(pb, HOST(1), ADDR_A, 2000 + 3 * 64, 64);
	assert_int_equal(st->allocs, 3 * 64 + 2);
	assert_int_equal(st->blocks_allocated, 4);
	assert_int_equal(st->blocks_in_use, 4);
	assert_int_equal(st->hosts, 2);
	assert_int_equal(st->ports_in_use, 3 * 64 + 1);
	assert_int_equal(eph_portblock_audit(pb), 0);
	eph_portblock_free(pb);
}

/* Next-fit: a released port comes back only after the block's other free ports. */
static void
test_port_order(void **state)
{
	struct eph_portblock_conf c;
	struct eph_portblock *pb;
	struct eph_portblock_event ev = {0};
	uint16_t port;

	(void)state;
	conf_init(&c, 1024, 1024 + 4 * 128 - 1, 128, 0, 1);
	pb = create(&c);
	take_new_block(pb, HOST(0), ADDR_A, 1024, 128);
	for (unsigned int i = 1; i < 100; i++) {
		assert_int_equal(eph_portblock_alloc(pb, HOST(0), ADDR_A, &port, &ev), 0);
		assert_int_equal(port, 1024 + i);
	}
	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, 1030, &ev), 0);
	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, 1090, &ev), 0);
	for (unsigned int i = 100; i < 128; i++) {
		assert_int_equal(eph_portblock_alloc(pb, HOST(0), ADDR_A, &port, &ev), 0);
		assert_int_equal(port, 1024 + i);
	}
	/* Wrapped: the freed ones, lowest first. */
	assert_int_equal(eph_portblock_alloc(pb, HOST(0), ADDR_A, &port, &ev), 0);
	assert_int_equal(port, 1030);
	assert_int_equal(eph_portblock_alloc(pb, HOST(0), ADDR_A, &port, &ev), 0);
	assert_int_equal(port, 1090);
	/* Full: the next port is from a new block. */
	take_new_block(pb, HOST(0), ADDR_A, 1024 + 128, 128);
	assert_int_equal(eph_portblock_audit(pb), 0);
	eph_portblock_free(pb);
}

/* ---- an address runs out; FIFO reuse ------------------------------------------------- */

static void
test_addr_exhausted_fifo(void **state)
{
	struct eph_portblock_conf c;
	struct eph_portblock *pb;
	struct eph_portblock_event ev = {0};
	const struct eph_portblock_stats *st;
	uint16_t port, p1;
	uint32_t out = 0;

	(void)state;
	/* 8 blocks of 32, 2 workers: worker 1 owns blocks 1, 3, 5, 7. */
	conf_init(&c, 4096, 4096 + 8 * 32 - 1, 32, 1, 2);
	pb = create(&c);
	st = eph_portblock_stats(pb);
	assert_int_equal(eph_portblock_blocks_per_addr(pb), 4);

	/* Host 0 takes block 1 and gives it back: it goes to the back of the FIFO. */
	p1 = take_new_block(pb, HOST(0), ADDR_A, 4096 + 32, 32);
	memset(&ev, 0, sizeof(ev));
	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, p1, &ev), 1);
	assert_int_equal(ev.type, EPH_PORTBLOCK_RELEASE);
	assert_int_equal(ev.first_port, 4096 + 32);
	assert_int_equal(ev.last_port, 4096 + 63);
	assert_int_equal(st->hosts, 0);

	take_new_block(pb, HOST(1), ADDR_A, 4096 + 3 * 32, 32);
	take_new_block(pb, HOST(2), ADDR_A, 4096 + 5 * 32, 32);
	take_new_block(pb, HOST(3), ADDR_A, 4096 + 7 * 32, 32);
	take_new_block(pb, HOST(4), ADDR_A, 4096 + 1 * 32, 32); /* the released one, last */

	/* The address is out of blocks for a new host, and for a host with a full block. */
	assert_int_equal(eph_portblock_alloc(pb, HOST(5), ADDR_A, &port, &ev), -ENOSPC);
	for (unsigned int i = 1; i < 32; i++)
		assert_int_equal(eph_portblock_alloc(pb, HOST(1), ADDR_A, &port, &ev), 0);
	assert_int_equal(eph_portblock_alloc(pb, HOST(1), ADDR_A, &port, &ev), -ENOSPC);
	assert_int_equal(st->refused_addr_full, 2);
	/* Another address has blocks: the caller's next try (arbitrary pooling). */
	take_new_block(pb, HOST(5), ADDR_B, 4096 + 32, 32);
	assert_int_equal(eph_portblock_host_addr(pb, HOST(5), &out), 0);
	assert_int_equal(out, ADDR_B);

	/* Host 2's block empties; host 6 gets it (the only free one). */
	assert_int_equal(eph_portblock_release(pb, HOST(2), ADDR_A, 4096 + 5 * 32, &ev), 1);
	assert_int_equal(ev.first_port, 4096 + 5 * 32);
	take_new_block(pb, HOST(6), ADDR_A, 4096 + 5 * 32, 32);
	assert_int_equal(st->blocks_in_use, 5);
	assert_int_equal(st->addrs, 2);
	assert_int_equal(eph_portblock_audit(pb), 0);
	eph_portblock_free(pb);
}

/* ---- release events ------------------------------------------------------------------ */

static void
test_release_events(void **state)
{
	struct eph_portblock_conf c;
	struct eph_portblock *pb;
	struct eph_portblock_event ev;
	const struct eph_portblock_stats *st;
	uint16_t ports[70], port;
	uint32_t out;

	(void)state;
	conf_init(&c, 1024, 1024 + 4 * 64 - 1, 64, 0, 1);
	pb = create(&c);
	st = eph_portblock_stats(pb);
	ports[0] = take_new_block(pb, HOST(0), ADDR_A, 1024, 64);
	for (unsigned int i = 1; i < 64; i++)
		assert_int_equal(eph_portblock_alloc(pb, HOST(0), ADDR_A, &ports[i], &ev), 0);
	ports[64] = take_new_block(pb, HOST(0), ADDR_A, 1088, 64);
	for (unsigned int i = 65; i < 70; i++)
		assert_int_equal(eph_portblock_alloc(pb, HOST(0), ADDR_A, &ports[i], &ev), 0);
	/* The same host on another address: its own block there. */
	port = take_new_block(pb, HOST(0), ADDR_B, 1024, 64);

	/* Emptying the second block: an event on the last port only. */
	for (unsigned int i = 64; i < 69; i++) {
		ev.type = EPH_PORTBLOCK_NONE;
		assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, ports[i], &ev), 0);
		assert_int_equal(ev.type, EPH_PORTBLOCK_NONE);
	}
	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, ports[69], &ev), 1);
	assert_int_equal(ev.type, EPH_PORTBLOCK_RELEASE);
	assert_int_equal(ev.host_addr, HOST(0));
	assert_int_equal(ev.out_addr, ADDR_A);
	assert_int_equal(ev.first_port, 1088);
	assert_int_equal(ev.last_port, 1151);
	assert_int_equal(eph_portblock_host_blocks(pb, HOST(0)), 2);

	/* The first block, in another order. */
	for (unsigned int i = 63; i > 0; i--)
		assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, ports[i], &ev), 0);
	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, ports[0], &ev), 1);
	assert_int_equal(ev.first_port, 1024);
	assert_false(eph_portblock_host_has_block(pb, HOST(0), ADDR_A));
	/* Its oldest block left is now the one on ADDR_B. */
	assert_int_equal(eph_portblock_host_addr(pb, HOST(0), &out), 0);
	assert_int_equal(out, ADDR_B);
	assert_int_equal(st->hosts, 1);

	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_B, port, &ev), 1);
	assert_int_equal(ev.out_addr, ADDR_B);
	assert_int_equal(st->hosts, 0);
	assert_int_equal(st->blocks_in_use, 0);
	assert_int_equal(st->blocks_released, 3);
	assert_int_equal(st->ports_in_use, 0);
	assert_int_equal(eph_portblock_host_addr(pb, HOST(0), &out), -ENOENT);
	assert_int_equal(eph_portblock_audit(pb), 0);
	eph_portblock_free(pb);
}

static void
test_bad_release(void **state)
{
	struct eph_portblock_conf c;
	struct eph_portblock *pb;
	struct eph_portblock_event ev;
	uint16_t port, other;

	(void)state;
	/* 2 workers, blocks of 16 from 1024: worker 0 owns [1024, 1039], [1056, 1071] ... */
	conf_init(&c, 1024, 1024 + 10 * 16 + 5, 16, 0, 2);
	pb = create(&c);
	port = take_new_block(pb, HOST(0), ADDR_A, 1024, 16);
	assert_int_equal(eph_portblock_alloc(pb, HOST(0), ADDR_A, &other, &ev), 0);

	assert_int_equal(eph_portblock_release(pb, HOST(1), ADDR_A, port, &ev), -ENOENT);
	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_B, port, &ev), -ENOENT);
	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, 1030, &ev), -ENOENT);
	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, 1045, &ev), -ENOENT);
	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, 1056, &ev), -ENOENT);
	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, 1000, &ev), -ENOENT);
	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, 1024 + 10 * 16 + 1, &ev),
			 -ENOENT); /* the partial last block */
	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, 65535, &ev), -ENOENT);
	assert_int_equal(eph_portblock_stats(pb)->bad_release, 8);
	assert_int_equal(eph_portblock_stats(pb)->ports_in_use, 2);

	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, port, &ev), 0);
	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, port, &ev), -ENOENT);
	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, other, &ev), 1);
	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, other, &ev), -ENOENT);
	assert_int_equal(eph_portblock_stats(pb)->bad_release, 10);
	assert_int_equal(eph_portblock_audit(pb), 0);
	eph_portblock_free(pb);
}

/* Only whole blocks are used; block sizes that are not multiples of 64. */
static void
test_partial_block(void **state)
{
	static const struct {
		uint16_t bs, extra;
		unsigned int n, w;
	} cases[] = {
		{64, 10, 1, 0}, {100, 50, 1, 0}, {100, 99, 2, 1}, {65, 64, 3, 2}, {7, 6, 1, 0}};

	(void)state;
	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		uint16_t bs = cases[i].bs, lo = 30000;
		uint32_t whole = 7, hi = lo + whole * bs + cases[i].extra - 1;
		struct eph_portblock_conf c;
		struct eph_portblock *pb;
		struct eph_portblock_event ev;
		uint8_t *seen = calloc(65536, 1);
		uint32_t n_ports = 0, blocks = 0;
		uint16_t port;
		int rc;

		assert_non_null(seen);
		conf_init(&c, lo, (uint16_t)hi, bs, cases[i].w, cases[i].n);
		c.max_blocks_per_host = 64;
		pb = create(&c);
		while ((rc = eph_portblock_alloc(pb, HOST(0), ADDR_A, &port, &ev)) >= 0) {
			assert_in_range(port, lo, lo + whole * bs - 1);
			assert_int_equal(((port - lo) / bs) % cases[i].n, cases[i].w);
			assert_false(seen[port]);
			seen[port] = 1;
			n_ports++;
			blocks += rc == 1;
		}
		assert_int_equal(rc, -ENOSPC);
		assert_int_equal(blocks, eph_portblock_blocks_per_addr(pb));
		assert_int_equal(n_ports, blocks * bs);
		assert_int_equal(eph_portblock_audit(pb), 0);
		eph_portblock_free(pb);
		free(seen);
	}
}

/* ---- tables -------------------------------------------------------------------------- */

static void
test_tables_full(void **state)
{
	struct eph_portblock_conf c;
	struct eph_portblock *pb;
	struct eph_portblock_event ev;
	const struct eph_portblock_stats *st;
	uint16_t pa, pb_port, port;

	(void)state;
	conf_init(&c, 1024, 1024 + 16 * 32 - 1, 32, 0, 1);
	c.max_addrs = 2;
	c.max_hosts = 3;
	pb = create(&c);
	st = eph_portblock_stats(pb);
	pa = take_new_block(pb, HOST(0), ADDR_A, 1024, 32);
	pb_port = take_new_block(pb, HOST(1), ADDR_B, 1024, 32);
	/* Both addresses hold blocks: a third cannot be tracked. */
	assert_int_equal(eph_portblock_alloc(pb, HOST(2), ADDR_C, &port, &ev), -ENOMEM);
	assert_int_equal(st->refused_nomem, 1);
	/* ADDR_A goes idle: ADDR_C takes its place. */
	assert_int_equal(eph_portblock_release(pb, HOST(0), ADDR_A, pa, &ev), 1);
	take_new_block(pb, HOST(2), ADDR_C, 1024, 32);
	assert_int_equal(st->addrs_evicted, 1);
	assert_int_equal(st->addrs, 2);
	assert_int_equal(eph_portblock_alloc(pb, HOST(0), ADDR_A, &port, &ev), -ENOMEM);
	/* Three hosts hold blocks: a fourth is refused, whatever the address. */
	take_new_block(pb, HOST(0), ADDR_B, 1024 + 32, 32);
	assert_int_equal(eph_portblock_alloc(pb, HOST(3), ADDR_B, &port, &ev), -ENOMEM);
	assert_int_equal(st->refused_nomem, 3);
	assert_int_equal(st->hosts, 3);
	/* ... until one has none. */
	assert_int_equal(eph_portblock_release(pb, HOST(1), ADDR_B, pb_port, &ev), 1);
	/* ADDR_B's FIFO is now 2, 3, ... 15, 0: block 0 was released last. */
	take_new_block(pb, HOST(3), ADDR_B, 1024 + 2 * 32, 32);
	assert_int_equal(eph_portblock_audit(pb), 0);
	eph_portblock_free(pb);
}

struct walk {
	unsigned int n;
	uint32_t host[8], out[8], used[8];
	uint16_t first[8], last[8];
};

static void
walk_fn(uint32_t host, uint32_t out, uint16_t first, uint16_t last, uint32_t used, void *arg)
{
	struct walk *wk = arg;

	assert_true(wk->n < 8);
	wk->host[wk->n] = host;
	wk->out[wk->n] = out;
	wk->first[wk->n] = first;
	wk->last[wk->n] = last;
	wk->used[wk->n] = used;
	wk->n++;
}

static void
test_foreach_and_memory(void **state)
{
	struct eph_portblock_conf c;
	struct eph_portblock *pb;
	struct eph_portblock_event ev;
	struct walk wk = {0};
	uint16_t port;

	(void)state;
	conf_init(&c, 1024, 1024 + 8 * 256 - 1, 256, 0, 1);
	pb = create(&c);
	take_new_block(pb, HOST(0), ADDR_A, 1024, 256);
	for (unsigned int i = 0; i < 256; i++)
		assert_true(eph_portblock_alloc(pb, HOST(0), ADDR_A, &port, &ev) >= 0);
	take_new_block(pb, HOST(1), ADDR_B, 1024, 256);
	eph_portblock_foreach_block(pb, walk_fn, &wk);
	assert_int_equal(wk.n, 3);
	for (unsigned int i = 0; i < wk.n; i++) {
		if (wk.host[i] == HOST(1)) {
			assert_int_equal(wk.out[i], ADDR_B);
			assert_int_equal(wk.first[i], 1024);
			assert_int_equal(wk.used[i], 1);
		} else {
			assert_int_equal(wk.host[i], HOST(0));
			assert_int_equal(wk.out[i], ADDR_A);
			/* Oldest first within a host. */
			assert_int_equal(wk.first[i], wk.used[i] == 256 ? 1024 : 1280);
			assert_int_equal(wk.last[i], wk.first[i] + 255);
			assert_int_equal(wk.used[i], wk.first[i] == 1024 ? 256 : 1);
		}
	}
	/* A block: 16-byte header, 4 bitmap words, its free-stack entry. */
	assert_int_equal(eph_portblock_bytes_per_block(pb), 16 + 4 * 8 + 4);
	assert_true(eph_portblock_bytes_per_host(pb) >= 8 + 4 * 4);
	assert_true(eph_portblock_bytes_per_addr(pb) >= 16 + 8 * 6);
	assert_true(eph_portblock_bytes_total(pb) >= 64 * eph_portblock_bytes_per_host(pb));
	eph_portblock_free(pb);
}

static void
test_create_errors(void **state)
{
	struct eph_portblock_conf c, bad;
	struct eph_portblock *pb;

	(void)state;
	conf_init(&c, 1024, 1024 + 4 * 64 - 1, 64, 0, 2);
	bad = c;
	bad.block_size = 0;
	assert_null(eph_portblock_create(&bad));
	assert_int_equal(rte_errno, EINVAL);
	bad = c;
	bad.worker = 2;
	assert_null(eph_portblock_create(&bad));
	assert_int_equal(rte_errno, EINVAL);
	bad = c;
	bad.port_lo = 0;
	assert_null(eph_portblock_create(&bad));
	bad = c;
	bad.max_blocks_per_host = 0;
	assert_null(eph_portblock_create(&bad));
	bad = c;
	bad.max_hosts = 0;
	assert_null(eph_portblock_create(&bad));
	bad = c;
	bad.max_addrs = 0;
	assert_null(eph_portblock_create(&bad));
	/* Two whole blocks... and worker 2 of 3 would have none. */
	bad = c;
	bad.port_hi = 1024 + 2 * 64 + 63 - 1;
	bad.n_workers = 3;
	bad.worker = 2;
	assert_null(eph_portblock_create(&bad));
	assert_int_equal(rte_errno, EINVAL);
	bad = c;
	bad.block_size = 300; /* larger than the range */
	assert_null(eph_portblock_create(&bad));
	bad = c;
	bad.name = "a-name-of-17-char";
	assert_null(eph_portblock_create(&bad));
	assert_int_equal(rte_errno, ENAMETOOLONG);

	pb = create(&c);
	assert_null(eph_portblock_create(&c));
	assert_int_equal(rte_errno, EEXIST);
	eph_portblock_free(pb);
	eph_portblock_free(NULL);
}

/* ---- the reference model ------------------------------------------------------------- */

#define M_HOSTS 48
#define M_ADDRS 3
#define M_MAXB  512 /* blocks per address the model can hold */

struct mblock {
	int host; /* -1: free */
	uint32_t used;
	uint8_t *live; /* block_size flags */
};

struct maddr {
	bool known;
	struct mblock b[M_MAXB];
	uint32_t fifo[M_MAXB], head, n_free;
};

struct mhost {
	uint32_t n;        /* blocks held */
	uint32_t addr[64]; /* oldest first: address index and local block */
	uint32_t local[64];
};

struct model {
	const struct eph_portblock_conf *c;
	uint32_t blocks; /* per address */
	struct maddr a[M_ADDRS];
	struct mhost h[M_HOSTS];
	uint32_t hosts, ports;
};

static const uint32_t m_addr_val[M_ADDRS] = {ADDR_A, ADDR_B, ADDR_C};

static uint16_t
m_first(const struct model *m, uint32_t local)
{
	return (uint16_t)(m->c->port_lo +
			  (local * m->c->n_workers + m->c->worker) * m->c->block_size);
}

static void
m_host_drop(struct model *m, int host, uint32_t ai, uint32_t local)
{
	struct mhost *h = &m->h[host];
	uint32_t j = 0;

	while (h->addr[j] != ai || h->local[j] != local)
		j++;
	memmove(&h->addr[j], &h->addr[j + 1], (h->n - j - 1) * sizeof(h->addr[0]));
	memmove(&h->local[j], &h->local[j + 1], (h->n - j - 1) * sizeof(h->local[0]));
	h->n--;
	if (h->n == 0)
		m->hosts--;
}

static void
m_alloc(struct model *m, struct eph_portblock *pb, int host, uint32_t ai)
{
	const struct eph_portblock_conf *c = m->c;
	struct maddr *a = &m->a[ai];
	struct mhost *h = &m->h[host];
	struct eph_portblock_event ev = {0};
	bool room = false;
	uint16_t port = 0;
	uint32_t local, off;
	int rc = eph_portblock_alloc(pb, HOST(host), m_addr_val[ai], &port, &ev);

	for (uint32_t j = 0; j < h->n; j++)
		room |= h->addr[j] == ai && a->b[h->local[j]].used < c->block_size;
	if (room) {
		assert_int_equal(rc, 0);
	} else if (h->n >= c->max_blocks_per_host) {
		assert_int_equal(rc, -EDQUOT);
		return;
	} else if (h->n == 0 && m->hosts >= c->max_hosts) {
		assert_int_equal(rc, -ENOMEM);
		return;
	} else {
		if (!a->known) {
			a->known = true;
			for (uint32_t l = 0; l < m->blocks; l++)
				a->fifo[l] = l;
			a->head = 0;
			a->n_free = m->blocks;
		}
		if (a->n_free == 0) {
			assert_int_equal(rc, -ENOSPC);
			return;
		}
		assert_int_equal(rc, 1);
		local = a->fifo[a->head];
		a->head = (a->head + 1) % m->blocks;
		a->n_free--;
		assert_int_equal(a->b[local].host, -1);
		a->b[local].host = host;
		if (h->n++ == 0)
			m->hosts++;
		h->addr[h->n - 1] = ai;
		h->local[h->n - 1] = local;
		assert_int_equal(ev.type, EPH_PORTBLOCK_ALLOC);
		assert_int_equal(ev.host_addr, HOST(host));
		assert_int_equal(ev.out_addr, m_addr_val[ai]);
		assert_int_equal(ev.first_port, m_first(m, local));
		assert_int_equal(ev.last_port, m_first(m, local) + c->block_size - 1);
	}
	/* The port: in one of the host's blocks on this address, not live. */
	assert_true(port >= c->port_lo);
	off = (uint32_t)(port - c->port_lo);
	assert_int_equal((off / c->block_size) % c->n_workers, c->worker);
	local = off / c->block_size / c->n_workers;
	assert_true(local < m->blocks);
	assert_int_equal(a->b[local].host, host);
	off %= c->block_size;
	assert_false(a->b[local].live[off]);
	a->b[local].live[off] = 1;
	a->b[local].used++;
	m->ports++;
}

static void
m_release(struct model *m, struct eph_portblock *pb, int host, uint32_t ai, uint32_t local,
	  uint32_t off)
{
	const struct eph_portblock_conf *c = m->c;
	struct maddr *a = &m->a[ai];
	struct mblock *b = &a->b[local];
	struct eph_portblock_event ev = {0};
	uint16_t port = (uint16_t)(m_first(m, local) + off);
	int rc = eph_portblock_release(pb, HOST(host), m_addr_val[ai], port, &ev);

	if (b->host != host || !b->live[off]) {
		assert_int_equal(rc, -ENOENT);
		return;
	}
	b->live[off] = 0;
	b->used--;
	m->ports--;
	if (b->used > 0) {
		assert_int_equal(rc, 0);
		return;
	}
	assert_int_equal(rc, 1);
	assert_int_equal(ev.type, EPH_PORTBLOCK_RELEASE);
	assert_int_equal(ev.host_addr, HOST(host));
	assert_int_equal(ev.out_addr, m_addr_val[ai]);
	assert_int_equal(ev.first_port, m_first(m, local));
	assert_int_equal(ev.last_port, m_first(m, local) + c->block_size - 1);
	b->host = -1;
	a->fifo[(a->head + a->n_free) % m->blocks] = local;
	a->n_free++;
	m_host_drop(m, host, ai, local);
}

/* A random live port, or false. */
static bool
m_pick_live(struct model *m, int *host, uint32_t *ai, uint32_t *local, uint32_t *off)
{
	for (unsigned int tries = 0; tries < 64; tries++) {
		struct mhost *h;
		struct mblock *b;
		uint32_t j, start;

		*host = (int)rnd_below(M_HOSTS);
		h = &m->h[*host];
		if (h->n == 0)
			continue;
		j = rnd_below(h->n);
		*ai = h->addr[j];
		*local = h->local[j];
		b = &m->a[*ai].b[*local];
		start = rnd_below(m->c->block_size);
		for (uint32_t i = 0; i < m->c->block_size; i++) {
			*off = (start + i) % m->c->block_size;
			if (b->live[*off])
				return true;
		}
	}
	return false;
}

static void
check_stats(const struct model *m, struct eph_portblock *pb)
{
	const struct eph_portblock_stats *st = eph_portblock_stats(pb);
	uint32_t blocks = 0;

	for (unsigned int h = 0; h < M_HOSTS; h++) {
		uint32_t out;

		blocks += m->h[h].n;
		assert_int_equal(eph_portblock_host_blocks(pb, HOST(h)), m->h[h].n);
		if (m->h[h].n == 0) {
			assert_int_equal(eph_portblock_host_addr(pb, HOST(h), &out), -ENOENT);
		} else {
			assert_int_equal(eph_portblock_host_addr(pb, HOST(h), &out), 0);
			assert_int_equal(out, m_addr_val[m->h[h].addr[0]]);
		}
		for (unsigned int ai = 0; ai < M_ADDRS; ai++) {
			bool has = false;

			for (uint32_t j = 0; j < m->h[h].n; j++)
				has |= m->h[h].addr[j] == ai;
			assert_int_equal(eph_portblock_host_has_block(pb, HOST(h), m_addr_val[ai]),
					 has);
		}
	}
	assert_int_equal(st->blocks_in_use, blocks);
	assert_int_equal(st->hosts, m->hosts);
	assert_int_equal(st->ports_in_use, m->ports);
	assert_int_equal(eph_portblock_audit(pb), 0);
}

static void
run_model(uint16_t lo, uint16_t bs, uint32_t whole, uint32_t extra, unsigned int w, unsigned int n,
	  unsigned int max_blocks, unsigned int max_hosts, unsigned int ops, uint64_t seed)
{
	struct eph_portblock_conf c;
	struct eph_portblock *pb;
	struct model *m = calloc(1, sizeof(*m));
	uint64_t n_alloc = 0, n_release = 0, n_bad = 0;

	assert_non_null(m);
	t_rng = seed;
	conf_init(&c, lo, (uint16_t)(lo + whole * bs + extra - 1), bs, w, n);
	c.max_blocks_per_host = max_blocks;
	c.max_hosts = max_hosts;
	c.max_addrs = M_ADDRS;
	pb = create(&c);
	m->c = &c;
	m->blocks = eph_portblock_blocks_per_addr(pb);
	assert_true(m->blocks <= M_MAXB);
	for (unsigned int ai = 0; ai < M_ADDRS; ai++) {
		for (unsigned int l = 0; l < m->blocks; l++) {
			m->a[ai].b[l].host = -1;
			m->a[ai].b[l].live = calloc(bs, 1);
			assert_non_null(m->a[ai].b[l].live);
		}
	}
	for (unsigned int i = 0; i < ops; i++) {
		/* Phases of growth and shrinkage so that every limit is hit and left. */
		uint32_t grow = (i / 5000) % 2 == 0 ? 85 : 30;
		uint32_t r = rnd_below(100);
		int host;
		uint32_t ai, local, off;

		if (r < grow) {
			/*
			 * Hot hosts do most of the work, mostly on "their" address
			 * (paired pooling), sometimes on another (arbitrary pooling).
			 */
			host = (int)(rnd_below(4) == 0 ? rnd_below(M_HOSTS) : rnd_below(8));
			ai = rnd_below(8) == 0 ? rnd_below(M_ADDRS) : (uint32_t)host % M_ADDRS;
			m_alloc(m, pb, host, ai);
			n_alloc++;
		} else if (r < 97) {
			if (m_pick_live(m, &host, &ai, &local, &off)) {
				m_release(m, pb, host, ai, local, off);
				n_release++;
			}
		} else {
			/* A port not held by that host (or held by another one). */
			host = (int)rnd_below(M_HOSTS);
			ai = rnd_below(M_ADDRS);
			local = rnd_below(m->blocks);
			off = rnd_below(bs);
			if (m->a[ai].b[local].host != host || !m->a[ai].b[local].live[off]) {
				m_release(m, pb, host, ai, local, off);
				n_bad++;
			}
		}
		if (i % 4096 == 0)
			check_stats(m, pb);
	}
	check_stats(m, pb);
	print_message("model: %" PRIu64 " allocs, %" PRIu64 " releases, %" PRIu64
		      " bad releases, %" PRIu64 " blocks; refused: %" PRIu64
		      " address full, %" PRIu64 " host limit, %" PRIu64 " tables full\n",
		      n_alloc, n_release, n_bad, eph_portblock_stats(pb)->blocks_allocated,
		      eph_portblock_stats(pb)->refused_addr_full,
		      eph_portblock_stats(pb)->refused_host_limit,
		      eph_portblock_stats(pb)->refused_nomem);
	assert_true(eph_portblock_stats(pb)->refused_addr_full > 0);
	assert_true(eph_portblock_stats(pb)->refused_host_limit > 0);
	assert_true(max_hosts >= M_HOSTS || eph_portblock_stats(pb)->refused_nomem > 0);
	assert_true(n_release > 0 && n_bad > 0 && n_alloc > 0);
	/* Drain everything: every block comes back, with its event. */
	for (unsigned int h = 0; h < M_HOSTS; h++) {
		while (m->h[h].n > 0) {
			uint32_t a0 = m->h[h].addr[0], l0 = m->h[h].local[0];

			for (uint32_t o = 0; o < bs; o++)
				if (m->a[a0].b[l0].live[o])
					m_release(m, pb, (int)h, a0, l0, o);
		}
	}
	check_stats(m, pb);
	assert_int_equal(eph_portblock_stats(pb)->blocks_in_use, 0);
	for (unsigned int ai = 0; ai < M_ADDRS; ai++)
		for (unsigned int l = 0; l < m->blocks; l++)
			free(m->a[ai].b[l].live);
	eph_portblock_free(pb);
	free(m);
}

static void
test_model_random(void **state)
{
	(void)state;
	/* 20 blocks of 64, worker 1 of 2: 10 per address, 30 in all for 48 hosts x 3. */
	run_model(1024, 64, 20, 0, 1, 2, 3, M_HOSTS, 40000, 0x9e3779b97f4a7c15ULL);
	/* Blocks of 100 (bitmap padding), a partial end, worker 0 of 3, host table short. */
	run_model(5000, 100, 37, 37, 0, 3, 2, 24, 30000, 0xdeadbeefcafef00dULL);
	/* Tiny blocks: many blocks per host, many events. */
	run_model(60000, 5, 40, 3, 2, 4, 6, 10, 30000, 0x0123456789abcdefULL);
}

int
main(int argc, char **argv)
{
	char prefix[64];
	char *eal[] = {
		argv[0],         "--no-huge",      "-m", "256", "--no-pci",    "--no-telemetry",
		"--file-prefix", prefix, "-l", "0",   "--log-level", "error"};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_host_blocks),
		cmocka_unit_test(test_port_order),
		cmocka_unit_test(test_addr_exhausted_fifo),
		cmocka_unit_test(test_release_events),
		cmocka_unit_test(test_bad_release),
		cmocka_unit_test(test_partial_block),
		cmocka_unit_test(test_tables_full),
		cmocka_unit_test(test_foreach_and_memory),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_model_random),
	};
	int rc;

	(void)argc;
	t_eal_prefix(prefix, sizeof(prefix), "unit-portblock");
	if (rte_eal_init((int)RTE_DIM(eal), eal) < 0) {
		fprintf(stderr, "test_portblock: EAL init failed\n");
		return 1;
	}
	rc = cmocka_run_group_tests_name("portblock", tests, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}

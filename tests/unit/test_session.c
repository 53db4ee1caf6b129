/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Session table, timer wheel and TCP tracking: paired insert with rollback,
 * the cuckoo index filled to the last session and its stash, bulk lookup
 * against single lookups, random operations against a reference model, the
 * wheel on a fake clock, and the TCP state machine by table.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <netinet/in.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_memory.h>
#include <rte_tcp.h>

#include "dataplane/flow/session.h"
#include "dataplane/flow/tcp_state.h"
#include "tests/unit/eal_prefix.h"

#define N_SLOTS EPH_SESSION_WHEEL_SLOTS

/* Deterministic generator (xorshift64*): failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint32_t
rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static uint32_t
ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return rte_cpu_to_be_32(((uint32_t)a << 24) | ((uint32_t)b << 16) | ((uint32_t)c << 8) | d);
}

/* A consistent key pair: inside in:iport, outside out:oport, remote rem:rport. */
static void
make_keys(struct eph_flow_key *in, struct eph_flow_key *out, uint8_t proto, uint32_t in_addr,
	  uint16_t in_port, uint32_t out_addr, uint16_t out_port, uint32_t rem, uint16_t rport)
{
	*in = (struct eph_flow_key){
		.src_addr = in_addr,
		.dst_addr = rem,
		.src_port = rte_cpu_to_be_16(in_port),
		.dst_port = rte_cpu_to_be_16(rport),
		.proto = proto,
	};
	*out = (struct eph_flow_key){
		.src_addr = rem,
		.dst_addr = out_addr,
		.src_port = rte_cpu_to_be_16(rport),
		.dst_port = rte_cpu_to_be_16(out_port),
		.proto = proto,
	};
}

/* Keys from a number: distinct numbers (< 2^24) give distinct keys on both sides. */
static void
keys_of(uint32_t n, struct eph_flow_key *in, struct eph_flow_key *out)
{
	make_keys(in, out, (n & 1) ? IPPROTO_UDP : IPPROTO_TCP,
		  ip(10, (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n),
		  (uint16_t)(1024 + n % 7), ip(100, 64, (uint8_t)(n >> 16), 1), (uint16_t)n,
		  ip(198, 51, 100, 10), 443);
}

static struct eph_session_table *
table(const char *name, uint32_t max)
{
	struct eph_session_table *t = eph_session_table_create(name, max, SOCKET_ID_ANY);

	if (t == NULL)
		fail_msg("create %s: %s", name, rte_strerror(rte_errno));
	return t;
}

/* ---- table -------------------------------------------------------------- */

static void
test_layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct eph_flow_key), 16);
	assert_int_equal(sizeof(struct eph_session), 64);
	assert_int_equal(sizeof(struct eph_session_bucket), 64);
	print_message("sizeof(struct eph_session) = %zu\n", sizeof(struct eph_session));
}

static void
test_create_errors(void **state)
{
	(void)state;
	assert_null(eph_session_table_create(NULL, 16, SOCKET_ID_ANY));
	assert_int_equal(rte_errno, EINVAL);
	assert_null(eph_session_table_create("bad0", 0, SOCKET_ID_ANY));
	assert_int_equal(rte_errno, EINVAL);
	assert_null(eph_session_table_create("bad1", EPH_SESSION_MAX + 1, SOCKET_ID_ANY));
	assert_int_equal(rte_errno, EINVAL);
	eph_session_table_free(NULL);
}

/* Names label tables only: two of one name are independent (each worker keys its own). */
static void
test_same_name(void **state)
{
	struct eph_session_table *a = table("same", 16), *b = table("same", 16);
	struct eph_flow_key in, out;

	(void)state;
	keys_of(5, &in, &out);
	assert_int_equal(eph_session_insert(a, &in, &out, NULL), 0);
	assert_int_equal(eph_session_lookup(a, &out), 0);
	assert_int_equal(eph_session_lookup(b, &in), -ENOENT);
	assert_int_equal(eph_session_lookup(b, &out), -ENOENT);
	assert_int_equal(eph_session_count(b), 0);
	/* Keyed independently: the same key hashes differently. */
	assert_true(eph_session_hash(a, &in) != eph_session_hash(b, &in));
	eph_session_table_free(a);
	eph_session_table_free(b);
}

static void
test_paired_insert_lookup(void **state)
{
	struct eph_session_table *t = table("paired", 64);
	struct eph_flow_key in, out, k;
	struct eph_session *s = NULL;
	int32_t idx;

	(void)state;
	make_keys(&in, &out, IPPROTO_TCP, ip(192, 0, 2, 11), 40000, ip(203, 0, 113, 1), 51000,
		  ip(198, 51, 100, 10), 80);
	idx = eph_session_insert(t, &in, &out, &s);
	assert_true(idx >= 0);
	assert_ptr_equal(s, eph_session_get(t, (uint32_t)idx));
	assert_int_equal(eph_session_lookup(t, &in), idx);
	assert_int_equal(eph_session_lookup(t, &out), idx);
	assert_int_equal(eph_session_count(t), 1);

	/* The table filled the tuple from the keys, the rest is zero and unscheduled. */
	assert_int_equal(s->in_addr, ip(192, 0, 2, 11));
	assert_int_equal(s->out_addr, ip(203, 0, 113, 1));
	assert_int_equal(s->remote_addr, ip(198, 51, 100, 10));
	assert_int_equal(s->in_port, rte_cpu_to_be_16(40000));
	assert_int_equal(s->out_port, rte_cpu_to_be_16(51000));
	assert_int_equal(s->remote_port, rte_cpu_to_be_16(80));
	assert_int_equal(s->proto, IPPROTO_TCP);
	assert_int_equal(s->state, 0);
	assert_int_equal(s->timer_next, EPH_SESSION_NIL);

	/* The builders give back exactly the keys inserted. */
	eph_session_in_key(s, &k);
	assert_memory_equal(&k, &in, sizeof(k));
	eph_session_out_key(s, &k);
	assert_memory_equal(&k, &out, sizeof(k));

	/* Swapped roles or another protocol are other keys. */
	k = in;
	k.proto = IPPROTO_UDP;
	assert_int_equal(eph_session_lookup(t, &k), -ENOENT);
	assert_int_equal(eph_session_insert(t, &in, &out, NULL), -EEXIST);
	eph_session_table_free(t);
}

/* A duplicate on either key inserts nothing: the other key is not left behind. */
static void
test_duplicate_rollback(void **state)
{
	struct eph_session_table *t = table("dup_rb", 64);
	struct eph_flow_key in1, out1, in2, out2;
	int32_t idx;

	(void)state;
	make_keys(&in1, &out1, IPPROTO_UDP, ip(192, 0, 2, 11), 5000, ip(203, 0, 113, 1), 6000,
		  ip(198, 51, 100, 1), 53);
	make_keys(&in2, &out2, IPPROTO_UDP, ip(192, 0, 2, 12), 5000, ip(203, 0, 113, 1), 6001,
		  ip(198, 51, 100, 1), 53);
	idx = eph_session_insert(t, &in1, &out1, NULL);
	assert_true(idx >= 0);

	/* New inside key, taken outside key. */
	assert_int_equal(eph_session_insert(t, &in2, &out1, NULL), -EEXIST);
	assert_int_equal(eph_session_lookup(t, &in2), -ENOENT);
	/* Taken inside key, new outside key. */
	assert_int_equal(eph_session_insert(t, &in1, &out2, NULL), -EEXIST);
	assert_int_equal(eph_session_lookup(t, &out2), -ENOENT);
	assert_int_equal(eph_session_count(t), 1);
	assert_int_equal(eph_session_lookup(t, &in1), idx);
	assert_int_equal(eph_session_lookup(t, &out1), idx);

	/* And the free slot was not consumed. */
	assert_true(eph_session_insert(t, &in2, &out2, NULL) >= 0);
	assert_int_equal(eph_session_count(t), 2);
	eph_session_table_free(t);
}

/* Key pairs the record could not rebuild are refused. */
static void
test_inconsistent_keys(void **state)
{
	struct eph_session_table *t = table("incons", 16);
	struct eph_flow_key in, out, bad;

	(void)state;
	make_keys(&in, &out, IPPROTO_TCP, ip(192, 0, 2, 11), 1, ip(203, 0, 113, 1), 2,
		  ip(198, 51, 100, 1), 3);
	bad = out;
	bad.src_addr ^= 1; /* another remote address */
	assert_int_equal(eph_session_insert(t, &in, &bad, NULL), -EINVAL);
	bad = out;
	bad.src_port ^= 1; /* another remote port */
	assert_int_equal(eph_session_insert(t, &in, &bad, NULL), -EINVAL);
	bad = out;
	bad.proto = IPPROTO_UDP;
	assert_int_equal(eph_session_insert(t, &in, &bad, NULL), -EINVAL);
	bad = out;
	bad.pad[1] = 1;
	assert_int_equal(eph_session_insert(t, &in, &bad, NULL), -EINVAL);
	assert_int_equal(eph_session_count(t), 0);
	assert_int_equal(eph_session_lookup(t, &in), -ENOENT);
	eph_session_table_free(t);
}

/* -ENOSPC exactly at max, for several sizes; deletes make room again. */
static void
test_table_full(void **state)
{
	static const uint32_t sizes[] = {1, 3, 8, 100, 1000, 65536};
	struct eph_flow_key in, out;

	(void)state;
	for (unsigned int z = 0; z < RTE_DIM(sizes); z++) {
		uint32_t max = sizes[z];
		char name[32];
		struct eph_session_table *t;

		snprintf(name, sizeof(name), "full%u", max);
		t = table(name, max);
		for (uint32_t i = 0; i < max; i++) {
			keys_of(i, &in, &out);
			assert_int_equal(eph_session_insert(t, &in, &out, NULL), (int32_t)i);
		}
		assert_int_equal(eph_session_count(t), max);
		keys_of(max, &in, &out);
		assert_int_equal(eph_session_insert(t, &in, &out, NULL), -ENOSPC);

		/* Free a few (or all, for tiny tables) and refill exactly that many. */
		uint32_t freed = RTE_MIN(max, 10u);
		for (uint32_t i = 0; i < freed; i++) {
			keys_of(i * (max / freed), &in, &out);
			eph_session_delete(t, (uint32_t)eph_session_lookup(t, &in));
		}
		assert_int_equal(eph_session_count(t), max - freed);
		for (uint32_t i = 0; i < freed; i++) {
			keys_of(max + i, &in, &out);
			assert_true(eph_session_insert(t, &in, &out, NULL) >= 0);
		}
		keys_of(max + freed, &in, &out);
		assert_int_equal(eph_session_insert(t, &in, &out, NULL), -ENOSPC);
		assert_int_equal(eph_session_count(t), max);
		eph_session_table_free(t);
	}
}

/*
 * Filled to max, at a power of two and at sizes around it: every insert
 * succeeds, -ENOSPC exactly at max, and the index has the headroom that
 * keeps inserts cheap to the last one: no key ever waits in the stash, also
 * while churning full, and displacements stay rare. Timing only printed.
 */
static void
test_fill_to_max(void **state)
{
	static const uint32_t sizes[] = {262144, 120000, 100000, 1000};
	struct eph_flow_key in, out;
	uint64_t hz = rte_get_tsc_hz();

	(void)state;
	for (unsigned int z = 0; z < RTE_DIM(sizes); z++) {
		uint32_t max = sizes[z], tail = max / 100, next = max;
		uint64_t t_tail = 0, t_worst = 0, t_all = 0, t_churn = 0;
		struct eph_session_table *t;
		char name[32];

		snprintf(name, sizeof(name), "fill%u", max);
		t = table(name, max);
		for (uint32_t i = 0; i < max; i++) {
			uint64_t t0, dt;
			int32_t idx;

			keys_of(i, &in, &out);
			t0 = rte_rdtsc();
			idx = eph_session_insert(t, &in, &out, NULL);
			dt = rte_rdtsc() - t0;
			if (idx < 0)
				fail_msg("size %u: insert %u failed: %d", max, i, idx);
			t_all += dt;
			t_worst = RTE_MAX(t_worst, dt);
			if (i >= max - tail)
				t_tail += dt;
		}
		assert_int_equal(eph_session_count(t), max);
		keys_of(max, &in, &out);
		assert_int_equal(eph_session_insert(t, &in, &out, NULL), -ENOSPC);

		/* Full and churning: one out, one in, never refused. */
		for (uint32_t i = 0; i < 20000; i++) {
			uint32_t victim = (uint32_t)rnd_below(max);
			uint64_t t0;
			int32_t idx;

			eph_session_delete(t, victim);
			keys_of(next++, &in, &out);
			t0 = rte_rdtsc();
			idx = eph_session_insert(t, &in, &out, NULL);
			t_churn += rte_rdtsc() - t0;
			assert_int_equal(idx, (int32_t)victim); /* the slot just freed */
		}
		keys_of(next, &in, &out);
		assert_int_equal(eph_session_insert(t, &in, &out, NULL), -ENOSPC);
		print_message("fill %u: %.1f B/session, keys at %.1f%% of %u index slots; insert "
			      "mean %.0f ns, last 1%% %.0f ns, worst %.1f us, churning full %.0f ns; "
			      "%" PRIu64 " entries moved, %" PRIu64 " keys stashed\n",
			      max, (double)eph_session_table_bytes(t) / max,
			      200.0 * max / (t->n_buckets * EPH_SESSION_BUCKET_SLOTS),
			      t->n_buckets * EPH_SESSION_BUCKET_SLOTS, (double)t_all * 1e9 / hz / max,
			      (double)t_tail * 1e9 / hz / tail, (double)t_worst * 1e6 / hz,
			      (double)t_churn * 1e9 / hz / 20000, t->moves, t->stashed);
		/* The index itself: one cache line per 10 slots, at most 9/10 used when full. */
		assert_true((double)t->n_buckets * sizeof(struct eph_session_bucket) / max < 15.0);
		assert_int_equal(t->stashed, 0);
		/*
		 * Displacement stays the exception: ~1 move per 10 inserts filling a
		 * large table to 90%, ~1 per 3 churning a small one full.
		 */
		assert_true(t->moves < (max + 20000) / 2);
		eph_session_table_free(t);
	}
}

static void
test_delete(void **state)
{
	struct eph_session_table *t = table("delete", 16);
	struct eph_flow_key in, out;
	struct eph_session *s;
	int32_t idx;

	(void)state;
	keys_of(7, &in, &out);
	idx = eph_session_insert(t, &in, &out, &s);
	assert_true(idx >= 0);
	eph_session_schedule(t, (uint32_t)idx, 100);
	assert_int_equal(eph_session_scheduled(t), 1);
	eph_session_delete(t, (uint32_t)idx);
	assert_int_equal(eph_session_lookup(t, &in), -ENOENT);
	assert_int_equal(eph_session_lookup(t, &out), -ENOENT);
	assert_int_equal(eph_session_count(t), 0);
	assert_int_equal(eph_session_scheduled(t), 0);
	/* A second delete of a free slot, or an index out of range, changes nothing. */
	eph_session_delete(t, (uint32_t)idx);
	eph_session_delete(t, 1000);
	assert_int_equal(eph_session_count(t), 0);
	/* Same keys again: fine. */
	assert_true(eph_session_insert(t, &in, &out, NULL) >= 0);
	assert_int_equal(eph_session_count(t), 1);
	eph_session_table_free(t);
}

/* ICMP echo: in (in_addr, remote, in_id, 0), out (remote, out_addr, 0, out_id). */
static void
test_icmp_keys(void **state)
{
	struct eph_session_table *t = table("icmp", 16);
	struct eph_session rec = {
		.in_addr = ip(192, 0, 2, 11),
		.out_addr = ip(203, 0, 113, 1),
		.remote_addr = ip(198, 51, 100, 10),
		.in_port = rte_cpu_to_be_16(0x1234),
		.out_port = rte_cpu_to_be_16(0x5678),
		.remote_port = rte_cpu_to_be_16(99),
		.proto = IPPROTO_ICMP,
	};
	struct eph_flow_key in, out;
	struct eph_session *s;
	int32_t idx;

	(void)state;
	/* Even with a stray remote port in the record, ICMP keys carry 0 there. */
	eph_session_in_key(&rec, &in);
	eph_session_out_key(&rec, &out);
	assert_int_equal(in.src_addr, rec.in_addr);
	assert_int_equal(in.dst_addr, rec.remote_addr);
	assert_int_equal(in.src_port, rte_cpu_to_be_16(0x1234));
	assert_int_equal(in.dst_port, 0);
	assert_int_equal(out.src_addr, rec.remote_addr);
	assert_int_equal(out.dst_addr, rec.out_addr);
	assert_int_equal(out.src_port, 0);
	assert_int_equal(out.dst_port, rte_cpu_to_be_16(0x5678));
	assert_int_equal(in.proto, IPPROTO_ICMP);
	assert_int_equal(in.pad[0] | in.pad[1] | in.pad[2] | out.pad[0] | out.pad[1] | out.pad[2],
			 0);

	idx = eph_session_insert(t, &in, &out, &s);
	assert_true(idx >= 0);
	assert_int_equal(s->remote_port, 0);
	/* What the packet path builds from an echo request and an echo reply. */
	struct eph_flow_key req = {
		.src_addr = rec.in_addr,
		.dst_addr = rec.remote_addr,
		.src_port = rte_cpu_to_be_16(0x1234),
		.proto = IPPROTO_ICMP,
	};
	struct eph_flow_key rep = {
		.src_addr = rec.remote_addr,
		.dst_addr = rec.out_addr,
		.dst_port = rte_cpu_to_be_16(0x5678),
		.proto = IPPROTO_ICMP,
	};
	assert_int_equal(eph_session_lookup(t, &req), idx);
	assert_int_equal(eph_session_lookup(t, &rep), idx);
	/* An ICMP in-key with a remote "port" cannot be rebuilt: refused. */
	in.dst_port = out.src_port = rte_cpu_to_be_16(1);
	assert_int_equal(eph_session_insert(t, &in, &out, NULL), -EINVAL);
	eph_session_delete(t, (uint32_t)idx);
	assert_int_equal(eph_session_lookup(t, &req), -ENOENT);
	assert_int_equal(eph_session_lookup(t, &rep), -ENOENT);
	eph_session_table_free(t);
}

/* Percentage of the buckets that have keys sitting in their second bucket. */
static unsigned int
second_share(const struct eph_session_table *t)
{
	uint32_t n = 0;

	for (uint32_t b = 0; b < t->n_buckets; b++)
		n += t->buckets[b].overflow != 0;
	return (unsigned int)(100ULL * n / t->n_buckets);
}

/*
 * The stash, white box: the index cut down to one bucket (10 slots) for a
 * table of 64 sessions. Five sessions fill the bucket, eight more wait in
 * the 16-key stash and are found there, the next is refused with nothing
 * left behind; deletes let the stash drain back into the bucket.
 */
static void
test_stash(void **state)
{
	struct eph_session_table *t = table("stash", 64);
	struct eph_flow_key in, out;
	uint32_t fit = EPH_SESSION_BUCKET_SLOTS / 2 + EPH_SESSION_STASH / 2;

	(void)state;
	t->n_buckets = 1; /* the array is larger: only bucket 0 is used */
	for (uint32_t i = 0; i < fit; i++) {
		keys_of(i, &in, &out);
		assert_int_equal(eph_session_insert(t, &in, &out, NULL), (int32_t)i);
	}
	assert_int_equal(t->n_stash, EPH_SESSION_STASH);
	keys_of(fit, &in, &out);
	assert_int_equal(eph_session_insert(t, &in, &out, NULL), -ENOSPC);
	assert_int_equal(eph_session_lookup(t, &in), -ENOENT);
	assert_int_equal(eph_session_lookup(t, &out), -ENOENT);
	assert_int_equal(eph_session_count(t), fit);
	for (uint32_t i = 0; i < fit; i++) {
		int32_t got[2];
		struct eph_flow_key both[2];

		keys_of(i, &both[0], &both[1]);
		assert_int_equal(eph_session_lookup(t, &both[0]), (int32_t)i);
		assert_int_equal(eph_session_lookup(t, &both[1]), (int32_t)i);
		assert_int_equal(eph_session_lookup_bulk(t, both, NULL, NULL, 2, got), 3);
		assert_int_equal(got[0], (int32_t)i);
		assert_int_equal(got[1], (int32_t)i);
	}
	/* Two sessions out of the bucket: four stashed keys move in. */
	eph_session_delete(t, 0);
	eph_session_delete(t, 1);
	assert_int_equal(t->n_stash, EPH_SESSION_STASH - 4);
	for (uint32_t i = 2; i < fit; i++) {
		keys_of(i, &in, &out);
		assert_int_equal(eph_session_lookup(t, &in), (int32_t)i);
		assert_int_equal(eph_session_lookup(t, &out), (int32_t)i);
	}
	/* Stashed sessions delete cleanly too. */
	for (uint32_t i = 2; i < fit; i++)
		eph_session_delete(t, i);
	assert_int_equal(t->n_stash, 0);
	assert_int_equal(eph_session_count(t), 0);
	for (uint32_t i = 0; i < fit; i++) {
		keys_of(i, &in, &out);
		assert_int_equal(eph_session_lookup(t, &in), -ENOENT);
	}
	eph_session_table_free(t);
}

/*
 * Bulk lookup agrees with single lookups on mixes of hits and misses, any n
 * up to EPH_SESSION_BULK_MAX: hashes computed; hashes given; with the
 * candidates eph_session_prefetch_record found; with wrong candidates (other
 * sessions' records, free records). The table is filled to its maximum, so
 * many keys sit in their second bucket.
 */
static void
test_bulk_lookup(void **state)
{
	enum { SESSIONS = 10000, KEYS = 6000 };
	static const uint32_t chunks[] = {1, 7, 32, 63, EPH_SESSION_BULK_MAX};
	struct eph_session_table *t = table("bulk", SESSIONS);
	static struct eph_flow_key keys[KEYS];
	static uint64_t hashes[KEYS];
	static uint32_t found[KEYS], wrong[KEYS];
	static int32_t idx[KEYS];
	struct eph_flow_key in, out;
	unsigned int hits = 0, found_right = 0;

	(void)state;
	for (uint32_t i = 0; i < SESSIONS; i++) {
		keys_of(i, &in, &out);
		assert_true(eph_session_insert(t, &in, &out, NULL) >= 0);
	}
	for (uint32_t i = 0; i < KEYS; i++) {
		uint32_t n = rnd_below(3 * SESSIONS); /* one third hits */

		keys_of(n, &in, &out);
		keys[i] = (rnd() & 1) ? in : out;
		hashes[i] = eph_session_hash(t, &keys[i]);
		found[i] = eph_session_prefetch_record(t, hashes[i]);
		found_right += found[i] != EPH_SESSION_NIL &&
			       (int32_t)(found[i] & EPH_SESSION_REF_INDEX) ==
				       eph_session_lookup(t, &keys[i]);
		/* Any record, either key; some of them free (the table is full: freed below). */
		wrong[i] = rnd_below(SESSIONS) | (rnd() & 1 ? EPH_SESSION_REF_OUT : 0);
	}
	for (uint32_t i = 0; i < SESSIONS; i += 97)
		eph_session_delete(t, i);
	for (unsigned int c = 0; c < 4 * RTE_DIM(chunks); c++) {
		const uint64_t *h = c % 4 ? hashes : NULL;
		const uint32_t *cands = c % 4 == 2 ? found : c % 4 == 3 ? wrong : NULL;

		for (uint32_t off = 0; off < KEYS; off += chunks[c / 4]) {
			uint32_t n = RTE_MIN(chunks[c / 4], (uint32_t)KEYS - off);
			uint64_t mask = eph_session_lookup_bulk(t, keys + off, h ? h + off : NULL,
								cands ? cands + off : NULL, n,
								idx + off);

			for (uint32_t i = 0; i < n; i++) {
				int32_t one = eph_session_lookup(t, &keys[off + i]);

				assert_int_equal(idx[off + i], one < 0 ? -1 : one);
				if (i < 64)
					assert_int_equal((mask >> i) & 1, one >= 0);
				if (c == 0)
					hits += one >= 0;
			}
			if (n < 64)
				assert_int_equal(mask >> n, 0);
		}
	}
	print_message("bulk: %u of %u keys hit; %u%% of the buckets have keys in their second; "
		      "%u candidates right\n", hits, KEYS, second_share(t), found_right);
	assert_true(hits > KEYS / 5 && hits < KEYS / 2);
	/* Keys in their first bucket (~93% in a full table): found as candidates. */
	assert_true(found_right > hits * 8 / 10);
	eph_session_table_free(t);
}

/*
 * Random inserts and deletes against a model. The inside key depends on a
 * only and the outside key on b only, so collisions on either side happen.
 */
static void
test_random_model(void **state)
{
	enum { MAX = 1024, A = 3000, B = 3000, OPS = 200000 };
	struct eph_session_table *t = table("model", MAX);
	static int32_t in_of[A], out_of[B];  /* model: key -> index, -1 */
	static int32_t a_of[MAX], b_of[MAX]; /* model: index -> a, b; -1 free */
	const uint32_t rem = ip(198, 51, 100, 7);
	uint32_t live = 0;
	unsigned int n_exist = 0, n_full = 0, n_del = 0;

	(void)state;
	memset(in_of, 0xff, sizeof(in_of));
	memset(out_of, 0xff, sizeof(out_of));
	memset(a_of, 0xff, sizeof(a_of));
	memset(b_of, 0xff, sizeof(b_of));
	for (uint32_t op = 0; op < OPS; op++) {
		/* Alternate filling and draining phases, so the table hits full too. */
		if (rnd_below(100) < ((op / 10000) % 2 == 0 ? 90u : 25u)) {
			uint32_t a = rnd_below(A), b = rnd_below(B);
			struct eph_flow_key in, out;
			int32_t ret;

			make_keys(&in, &out, IPPROTO_TCP, ip(10, 0, (uint8_t)(a >> 8), (uint8_t)a),
				  (uint16_t)(a * 13), ip(203, 0, 113, (uint8_t)(b & 3)),
				  (uint16_t)(1024 + b), rem, 443);
			ret = eph_session_insert(t, &in, &out, NULL);
			if (live == MAX) {
				assert_int_equal(ret, -ENOSPC);
				n_full++;
			} else if (in_of[a] >= 0 || out_of[b] >= 0) {
				assert_int_equal(ret, -EEXIST);
				n_exist++;
			} else {
				assert_true(ret >= 0 && ret < MAX);
				assert_int_equal(a_of[ret], -1);
				in_of[a] = out_of[b] = ret;
				a_of[ret] = (int32_t)a;
				b_of[ret] = (int32_t)b;
				live++;
			}
		} else if (live > 0) {
			uint32_t i;

			do
				i = rnd_below(MAX);
			while (a_of[i] < 0);
			eph_session_delete(t, i);
			in_of[a_of[i]] = out_of[b_of[i]] = -1;
			a_of[i] = b_of[i] = -1;
			live--;
			n_del++;
		}
		assert_int_equal(eph_session_count(t), live);
		if (op % 20000 == 19999) {
			for (uint32_t a = 0; a < A; a++) {
				struct eph_flow_key in, out;

				make_keys(&in, &out, IPPROTO_TCP,
					  ip(10, 0, (uint8_t)(a >> 8), (uint8_t)a),
					  (uint16_t)(a * 13), 0, 0, rem, 443);
				assert_int_equal(eph_session_lookup(t, &in),
						 in_of[a] >= 0 ? in_of[a] : -ENOENT);
			}
			for (uint32_t b = 0; b < B; b++) {
				struct eph_flow_key in, out;

				make_keys(&in, &out, IPPROTO_TCP, 0, 0,
					  ip(203, 0, 113, (uint8_t)(b & 3)), (uint16_t)(1024 + b),
					  rem, 443);
				assert_int_equal(eph_session_lookup(t, &out),
						 out_of[b] >= 0 ? out_of[b] : -ENOENT);
			}
		}
	}
	print_message("model: %u ops, %u -EEXIST, %u -ENOSPC, %u deletes, %u live\n", OPS, n_exist,
		      n_full, n_del, live);
	assert_true(n_exist > 0 && n_full > 0);
	eph_session_table_free(t);
}

/* ---- timer wheel -------------------------------------------------------- */

struct fake_clock {
	uint32_t now;
	unsigned int fired;
	unsigned int early;
	unsigned int late;    /* fired after the tick it was due in */
	uint32_t *fired_at;   /* per index, or NULL */
	unsigned int *rearms; /* per index: re-arm this many more times, or NULL */
	uint32_t rearm_by;
};

static void
expired_cb(struct eph_session_table *t, uint32_t idx, void *arg)
{
	struct fake_clock *c = arg;
	struct eph_session *s = eph_session_get(t, idx);

	c->fired++;
	if ((int32_t)(s->expire - c->now) > 0)
		c->early++;
	if (c->fired_at != NULL)
		c->fired_at[idx] = c->now;
	if (c->rearms != NULL && c->rearms[idx] > 0) {
		c->rearms[idx]--;
		eph_session_schedule(t, idx, c->now + c->rearm_by);
		return;
	}
	eph_session_delete(t, idx);
}

static int32_t
insert_n(struct eph_session_table *t, uint32_t n)
{
	struct eph_flow_key in, out;

	keys_of(n, &in, &out);
	return eph_session_insert(t, &in, &out, NULL);
}

/* Every tick, unlimited budget: each session fires in exactly its tick, none early. */
static void
test_wheel_exact(void **state)
{
	enum { N = 20000 };
	uint32_t horizon = 3 * N_SLOTS + 100; /* beyond the wheel: re-filed on the way */
	struct eph_session_table *t = table("wheel_exact", N);
	static uint32_t fired_at[N], due[N];
	struct fake_clock c = {.fired_at = fired_at};

	(void)state;
	for (uint32_t i = 0; i < N; i++) {
		int32_t idx = insert_n(t, i);

		assert_true(idx >= 0);
		due[idx] = 1 + rnd_below(horizon);
		eph_session_schedule(t, (uint32_t)idx, due[idx]);
	}
	for (c.now = 0; c.now <= horizon + 1; c.now++)
		eph_session_expire(t, c.now, UINT32_MAX / 8, expired_cb, &c);
	assert_int_equal(c.fired, N);
	assert_int_equal(c.early, 0);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(fired_at[i], due[i]);
	assert_int_equal(eph_session_count(t), 0);
	assert_int_equal(eph_session_scheduled(t), 0);
	eph_session_table_free(t);
}

/* Lazy refresh: an expire moved later is not expired at the old time. */
static void
test_wheel_lazy_refresh(void **state)
{
	struct eph_session_table *t = table("wheel_lazy", 16);
	static uint32_t fired_at[16];
	struct fake_clock c = {.fired_at = fired_at};
	int32_t a = insert_n(t, 1), b = insert_n(t, 2), d = insert_n(t, 3);

	(void)state;
	eph_session_schedule(t, (uint32_t)a, 100);
	eph_session_schedule(t, (uint32_t)b, 100);
	eph_session_schedule(t, (uint32_t)d, 5000);
	for (c.now = 0; c.now < 100; c.now++) {
		eph_session_expire(t, c.now, 64, expired_cb, &c);
		if (c.now == 50) {
			/* The packet path: just move it later, even past the horizon. */
			eph_session_get(t, (uint32_t)a)->expire = 300;
			eph_session_get(t, (uint32_t)b)->expire = 100 + 2 * N_SLOTS + 5;
			/* Earlier needs the helper, or it would fire at 5000. */
			eph_session_refresh(t, (uint32_t)d, 120);
		}
	}
	assert_int_equal(c.fired, 0);
	for (; c.now <= 100 + 2 * N_SLOTS + 5; c.now++)
		eph_session_expire(t, c.now, 64, expired_cb, &c);
	assert_int_equal(c.fired, 3);
	assert_int_equal(c.early, 0);
	assert_int_equal(fired_at[a], 300);
	assert_int_equal(fired_at[b], 100 + 2 * N_SLOTS + 5);
	assert_int_equal(fired_at[d], 120);
	eph_session_table_free(t);
}

/* A clock that jumps (stall, first call) still fires all that is due, nothing more. */
static void
test_wheel_clock_jump(void **state)
{
	enum { N = 5000 };
	struct eph_session_table *t = table("wheel_jump", N);
	static uint32_t due[N];
	struct fake_clock c = {0};
	uint32_t jump = 5 * N_SLOTS + 3, n_due = 0;

	(void)state;
	for (uint32_t i = 0; i < N; i++) {
		int32_t idx = insert_n(t, i);

		due[idx] = 1 + rnd_below(10 * N_SLOTS);
		n_due += due[idx] <= jump;
		eph_session_schedule(t, (uint32_t)idx, due[idx]);
	}
	c.now = jump;
	while (eph_session_expire(t, c.now, 100, expired_cb, &c) > 0)
		;
	assert_int_equal(c.fired, n_due);
	assert_int_equal(c.early, 0);
	/* A smaller jump next (within the wheel), then tick by tick to the end. */
	c.now += N_SLOTS / 2;
	while (eph_session_expire(t, c.now, 100, expired_cb, &c) > 0)
		;
	for (; c.now <= 10 * N_SLOTS + 1; c.now++)
		while (eph_session_expire(t, c.now, 100, expired_cb, &c) > 0)
			;
	assert_int_equal(c.fired, N);
	assert_int_equal(c.early, 0);
	assert_int_equal(eph_session_count(t), 0);
	eph_session_table_free(t);
}

/* 10000 due at once, budget 100: at most 100 per call, all gone in 100 calls. */
static void
test_wheel_budget(void **state)
{
	enum { N = 10000, BUDGET = 100 };
	struct eph_session_table *t = table("wheel_budget", N);
	struct fake_clock c = {.now = 10};
	unsigned int calls = 0, got;

	(void)state;
	for (uint32_t i = 0; i < N; i++) {
		int32_t idx = insert_n(t, i);

		/* Half exactly due, half due earlier (overdue by the time we look). */
		eph_session_schedule(t, (uint32_t)idx, (i & 1) ? 10 : 1 + i % 9);
	}
	/* Not yet: nothing due before tick 1. */
	assert_int_equal(eph_session_expire(t, 0, BUDGET, expired_cb, &c), 0);
	while ((got = eph_session_expire(t, c.now, BUDGET, expired_cb, &c)) > 0) {
		assert_true(got <= BUDGET);
		calls++;
	}
	assert_int_equal(c.fired, N);
	assert_int_equal(calls, N / BUDGET);
	assert_int_equal(c.early, 0);
	assert_int_equal(eph_session_count(t), 0);

	/* Lazily refreshed sessions in one slot: bounded work, then exact firing. */
	static uint32_t fired_at[N], due[N];
	c = (struct fake_clock){.fired_at = fired_at, .now = 20};
	for (uint32_t i = 0; i < N; i++) {
		int32_t idx = insert_n(t, i);

		eph_session_schedule(t, (uint32_t)idx, 20);
		due[idx] = 30 + i % 50;
		eph_session_get(t, (uint32_t)idx)->expire = due[idx];
	}
	/*
	 * 10000 re-files at tick 20 exceed one call's work bound (budget x
	 * (1 + EPH_SESSION_REFILE_FACTOR)); a worker just calls again next loop.
	 */
	for (; c.now <= 80; c.now++)
		for (unsigned int k = 0; k < 2 * N / BUDGET; k++)
			assert_true(eph_session_expire(t, c.now, BUDGET, expired_cb, &c) <= BUDGET);
	assert_int_equal(c.fired, N);
	assert_int_equal(c.early, 0);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(fired_at[i], due[i]);
	eph_session_table_free(t);
}

/* The callback may re-arm instead of deleting. */
static void
test_wheel_rearm(void **state)
{
	struct eph_session_table *t = table("wheel_rearm", 16);
	static uint32_t fired_at[16];
	static unsigned int rearms[16];
	struct fake_clock c = {.fired_at = fired_at, .rearms = rearms, .rearm_by = 50};
	int32_t a = insert_n(t, 1);
	unsigned int seen = 0;
	uint32_t expect = 10;

	(void)state;
	rearms[a] = 3;
	eph_session_schedule(t, (uint32_t)a, 10);
	for (c.now = 0; c.now < 1000; c.now++) {
		eph_session_expire(t, c.now, 8, expired_cb, &c);
		if (c.fired > seen) {
			assert_int_equal(c.fired, seen + 1);
			assert_int_equal(fired_at[a], expect);
			expect += 50;
			seen++;
		}
	}
	assert_int_equal(c.fired, 4); /* 10, 60, 110, 160 */
	assert_int_equal(eph_session_count(t), 0);
	eph_session_table_free(t);
}

/* Ticks are serial numbers: the wheel works across the 32-bit wrap. */
static void
test_wheel_wrap(void **state)
{
	struct eph_session_table *t = table("wheel_wrap", 16);
	static uint32_t fired_at[16];
	struct fake_clock c = {.fired_at = fired_at};
	uint32_t start = UINT32_MAX - 100;
	int32_t a = insert_n(t, 1), b = insert_n(t, 2);

	(void)state;
	assert_int_equal(eph_session_expire(t, start, 8, expired_cb, &c), 0); /* empty: jumps */
	eph_session_schedule(t, (uint32_t)a, start + 50);
	eph_session_schedule(t, (uint32_t)b, start + 300); /* 199 after the wrap */
	for (c.now = start; c.now != start + 400; c.now++)
		eph_session_expire(t, c.now, 8, expired_cb, &c);
	assert_int_equal(c.fired, 2);
	assert_int_equal(c.early, 0);
	assert_int_equal(fired_at[a], start + 50);
	assert_int_equal(fired_at[b], 199);
	eph_session_table_free(t);
}

/* ---- TCP ---------------------------------------------------------------- */

#define SYN    RTE_TCP_SYN_FLAG
#define ACK    RTE_TCP_ACK_FLAG
#define FIN    (RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG)
#define RST    RTE_TCP_RST_FLAG
#define SYNACK (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)
#define DATA   (RTE_TCP_PSH_FLAG | RTE_TCP_ACK_FLAG)
#define I      EPH_DIR_IN2OUT
#define O      EPH_DIR_OUT2IN

struct tcp_step {
	uint8_t flags;
	int dir;
	uint8_t expect;
};

struct tcp_case {
	const char *name;
	struct tcp_step steps[12];
	unsigned int n;
};

/* clang-format off */
#define STEP(f, d, s) { (f), (d), EPH_TCP_##s }
#define CASE(nm, ...)                                                       \
	{ nm, { __VA_ARGS__ },                                              \
	  sizeof((struct tcp_step[]){ __VA_ARGS__ }) / sizeof(struct tcp_step) }

static const struct tcp_case tcp_cases[] = {
	CASE("open, inside closes first",
	     STEP(SYN, I, SYN_SENT), STEP(SYNACK, O, SYN_RCVD), STEP(ACK, I, ESTABLISHED),
	     STEP(DATA, I, ESTABLISHED), STEP(DATA, O, ESTABLISHED), STEP(FIN, I, FIN_IN),
	     STEP(DATA, O, FIN_IN), STEP(FIN, O, LAST_ACK_IN), STEP(ACK, I, TIME_WAIT)),
	CASE("open, outside closes first",
	     STEP(SYN, I, SYN_SENT), STEP(SYNACK, O, SYN_RCVD), STEP(ACK, I, ESTABLISHED),
	     STEP(FIN, O, FIN_OUT), STEP(ACK, I, FIN_OUT), STEP(DATA, I, FIN_OUT),
	     STEP(FIN, I, LAST_ACK_OUT), STEP(ACK, I, LAST_ACK_OUT), STEP(ACK, O, TIME_WAIT)),
	CASE("simultaneous close",
	     STEP(SYN, I, SYN_SENT), STEP(SYNACK, O, SYN_RCVD), STEP(ACK, I, ESTABLISHED),
	     STEP(FIN, I, FIN_IN), STEP(FIN, O, LAST_ACK_IN), STEP(ACK, O, LAST_ACK_IN),
	     STEP(ACK, I, TIME_WAIT)),
	CASE("retransmitted FIN is not the final ACK",
	     STEP(SYN, I, SYN_SENT), STEP(SYNACK, O, SYN_RCVD), STEP(ACK, I, ESTABLISHED),
	     STEP(FIN, I, FIN_IN), STEP(FIN, I, FIN_IN), STEP(FIN, O, LAST_ACK_IN),
	     STEP(FIN, I, LAST_ACK_IN), STEP(FIN, O, LAST_ACK_IN), STEP(ACK, I, TIME_WAIT)),
	CASE("RST from outside while established",
	     STEP(SYN, I, SYN_SENT), STEP(SYNACK, O, SYN_RCVD), STEP(ACK, I, ESTABLISHED),
	     STEP(RST, O, RST), STEP(DATA, I, RST), STEP(DATA, O, RST), STEP(RST | ACK, I, RST)),
	CASE("RST answers the SYN (port closed)",
	     STEP(SYN, I, SYN_SENT), STEP(RST | ACK, O, RST), STEP(SYN, I, SYN_SENT)),
	CASE("outside SYN alone never establishes",
	     STEP(SYN, O, SYN_INBOUND), STEP(SYN, O, SYN_INBOUND), STEP(ACK, O, SYN_INBOUND),
	     STEP(DATA, O, SYN_INBOUND), STEP(FIN, O, SYN_INBOUND), STEP(ACK, I, SYN_INBOUND)),
	CASE("outside-initiated with full handshake",
	     STEP(SYN, O, SYN_INBOUND), STEP(SYNACK, I, SYN_INBOUND_RCVD),
	     STEP(ACK, I, SYN_INBOUND_RCVD), STEP(ACK, O, ESTABLISHED)),
	CASE("data before the handshake",
	     STEP(SYN, I, SYN_SENT), STEP(DATA, I, SYN_SENT), STEP(DATA, O, SYN_SENT),
	     STEP(ACK, O, SYN_SENT), STEP(SYNACK, O, SYN_RCVD), STEP(DATA, O, SYN_RCVD),
	     STEP(DATA, I, ESTABLISHED)),
	CASE("retransmitted SYN and SYN-ACK",
	     STEP(SYN, I, SYN_SENT), STEP(SYN, I, SYN_SENT), STEP(SYNACK, O, SYN_RCVD),
	     STEP(SYN, I, SYN_RCVD), STEP(SYNACK, O, SYN_RCVD), STEP(ACK, I, ESTABLISHED),
	     STEP(SYN, I, ESTABLISHED), STEP(SYNACK, O, ESTABLISHED)),
	CASE("simultaneous open",
	     STEP(SYN, I, SYN_SENT), STEP(SYN, O, SYN_RCVD), STEP(SYNACK, I, SYN_RCVD),
	     STEP(SYNACK, O, SYN_RCVD), STEP(ACK, I, ESTABLISHED)),
	CASE("FIN completes the handshake",
	     STEP(SYN, I, SYN_SENT), STEP(SYNACK, O, SYN_RCVD), STEP(FIN, I, FIN_IN)),
	CASE("mid-stream pickup stays closed",
	     STEP(DATA, I, CLOSED), STEP(DATA, O, CLOSED), STEP(FIN, I, CLOSED),
	     STEP(SYNACK, O, CLOSED), STEP(0, I, CLOSED)),
	CASE("port reuse after a clean close",
	     STEP(SYN, I, SYN_SENT), STEP(SYNACK, O, SYN_RCVD), STEP(ACK, I, ESTABLISHED),
	     STEP(FIN, I, FIN_IN), STEP(FIN, O, LAST_ACK_IN), STEP(ACK, I, TIME_WAIT),
	     STEP(DATA, O, TIME_WAIT), STEP(SYN, I, SYN_SENT), STEP(SYNACK, O, SYN_RCVD),
	     STEP(ACK, I, ESTABLISHED)),
	CASE("new SYN while final ACK is missing",
	     STEP(SYN, I, SYN_SENT), STEP(SYNACK, O, SYN_RCVD), STEP(ACK, I, ESTABLISHED),
	     STEP(FIN, O, FIN_OUT), STEP(FIN, I, LAST_ACK_OUT), STEP(SYN, I, SYN_SENT)),
	CASE("SYN in a half-closed connection is ignored",
	     STEP(SYN, I, SYN_SENT), STEP(SYNACK, O, SYN_RCVD), STEP(ACK, I, ESTABLISHED),
	     STEP(FIN, I, FIN_IN), STEP(SYN, I, FIN_IN), STEP(SYN, O, FIN_IN)),
};
/* clang-format on */

static void
test_tcp_sequences(void **state)
{
	(void)state;
	for (unsigned int c = 0; c < RTE_DIM(tcp_cases); c++) {
		const struct tcp_case *tc = &tcp_cases[c];
		uint8_t st = EPH_TCP_CLOSED;

		for (unsigned int i = 0; i < tc->n; i++) {
			st = eph_tcp_next_state(st, tc->steps[i].flags, tc->steps[i].dir);
			if (st != tc->steps[i].expect)
				fail_msg("%s: step %u: got %s, want %s", tc->name, i + 1,
					 eph_tcp_state_name(st),
					 eph_tcp_state_name(tc->steps[i].expect));
		}
	}
}

/* Properties over the whole table, not just the sequences above. */
static void
test_tcp_table_properties(void **state)
{
	(void)state;
	for (uint8_t st = 0; st < EPH_TCP_N_STATES; st++) {
		assert_string_not_equal(eph_tcp_state_name(st), "?");
		for (int dir = 0; dir < 2; dir++) {
			for (unsigned int f = 0; f < 256; f++) {
				uint8_t next = eph_tcp_next_state(st, (uint8_t)f, dir);

				assert_true(next < EPH_TCP_N_STATES);
				if (f & RTE_TCP_RST_FLAG)
					assert_int_equal(next, EPH_TCP_RST);
				/* Nothing from outside alone ever reaches ESTABLISHED, except the
				 * initiator's ACK of an outside-opened handshake. */
				if (next == EPH_TCP_ESTABLISHED && st != EPH_TCP_ESTABLISHED)
					assert_true((st == EPH_TCP_SYN_RCVD && dir == I) ||
						    (st == EPH_TCP_SYN_INBOUND_RCVD && dir == O));
				/* TIME_WAIT only from a last-ACK state. */
				if (next == EPH_TCP_TIME_WAIT && st != EPH_TCP_TIME_WAIT)
					assert_true(st == EPH_TCP_LAST_ACK_IN ||
						    st == EPH_TCP_LAST_ACK_OUT);
			}
		}
	}
	/* Out-of-range states are left alone rather than read out of bounds. */
	assert_int_equal(eph_tcp_next_state(200, SYN, I), 200);
	assert_string_equal(eph_tcp_state_name(200), "?");
}

static void
test_tcp_timeouts(void **state)
{
	static const struct {
		uint8_t st;
		enum eph_timeout_class cls;
		bool clean;
	} want[] = {
		{EPH_TCP_CLOSED, EPH_TO_TRANSITORY, false},
		{EPH_TCP_SYN_SENT, EPH_TO_TRANSITORY, false},
		{EPH_TCP_SYN_RCVD, EPH_TO_TRANSITORY, false},
		{EPH_TCP_SYN_INBOUND, EPH_TO_TRANSITORY, false},
		{EPH_TCP_SYN_INBOUND_RCVD, EPH_TO_TRANSITORY, false},
		{EPH_TCP_ESTABLISHED, EPH_TO_ESTABLISHED, false},
		{EPH_TCP_FIN_IN, EPH_TO_ESTABLISHED, false},
		{EPH_TCP_FIN_OUT, EPH_TO_ESTABLISHED, false},
		{EPH_TCP_LAST_ACK_IN, EPH_TO_TRANSITORY, false},
		{EPH_TCP_LAST_ACK_OUT, EPH_TO_TRANSITORY, false},
		{EPH_TCP_TIME_WAIT, EPH_TO_TRANSITORY, true},
		{EPH_TCP_RST, EPH_TO_TRANSITORY, false},
	};

	(void)state;
	assert_int_equal(RTE_DIM(want), EPH_TCP_N_STATES);
	for (unsigned int i = 0; i < RTE_DIM(want); i++) {
		assert_int_equal(want[i].st, i);
		assert_int_equal(eph_tcp_timeout_class(want[i].st), want[i].cls);
		assert_int_equal(eph_tcp_closed_cleanly(want[i].st), want[i].clean);
	}
	assert_int_equal(eph_tcp_timeout_class(200), EPH_TO_TRANSITORY);
}

/* ---- memory and speed (printed, not asserted) ----------------------------- */

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ns per operation over n fresh keys starting at base, in table t (already at its load). */
static void
measure(struct eph_session_table *t, uint32_t base, uint32_t n, const char *what)
{
	static int32_t idx[1 << 16];
	static struct eph_flow_key keys[1 << 16];
	struct eph_flow_key in, out;
	double t0, t1, t2, t3, t4;

	n = RTE_MIN(n, (uint32_t)RTE_DIM(idx));
	t0 = now_ns();
	for (uint32_t i = 0; i < n; i++) {
		keys_of(base + i, &in, &out);
		idx[i] = eph_session_insert(t, &in, &out, NULL);
		if (idx[i] < 0)
			fail_msg("insert %u: %d", i, idx[i]);
		keys[i] = (i & 1) ? in : out;
	}
	t1 = now_ns();
	for (uint32_t i = 0; i < n; i++)
		if (eph_session_lookup(t, &keys[i]) != idx[i])
			fail_msg("lookup %u", i);
	t2 = now_ns();
	for (uint32_t i = 0; i + 32 <= n; i += 32) {
		int32_t got[32];

		if (eph_session_lookup_bulk(t, keys + i, NULL, NULL, 32, got) != UINT32_MAX)
			fail_msg("bulk %u", i);
	}
	t3 = now_ns();
	for (uint32_t i = 0; i < n; i++)
		eph_session_delete(t, (uint32_t)idx[i]);
	t4 = now_ns();
	print_message("speed (%s): insert %.0f, lookup %.0f, bulk lookup %.0f/key, delete %.0f; "
		      "insert+lookup+delete %.0f ns\n",
		      what, (t1 - t0) / n, (t2 - t1) / n, (t3 - t2) / (n & ~31u), (t4 - t3) / n,
		      (t1 - t0 + t2 - t1 + t4 - t3) / n);
}

static void
test_memory_and_speed(void **state)
{
	enum { MAX = 1 << 20 };
	struct eph_session_table *t = table("perf", MAX);
	struct eph_session_table *small = table("perf_small", 4096);
	struct eph_flow_key in, out;

	(void)state;
	print_message("memory: %zu bytes for %u sessions = %.1f bytes/session "
		      "(record %zu, wheel heads %zu in all)\n",
		      eph_session_table_bytes(t), MAX, (double)eph_session_table_bytes(t) / MAX,
		      sizeof(struct eph_session),
		      (size_t)(N_SLOTS + 1) * sizeof(struct eph_timer_link));

	/* Half full, then fresh sessions on top; 4 KiB pages (--no-huge) make misses dearer. */
	for (uint32_t i = 0; i < MAX / 2; i++) {
		keys_of(i, &in, &out);
		assert_true(eph_session_insert(t, &in, &out, NULL) >= 0);
	}
	/* First passes fault pages in (without hugepages nothing is touched at create). */
	measure(t, MAX, 1 << 16, "1M table at 50%, cold pages");
	for (uint32_t i = MAX / 2; i < MAX; i++) {
		keys_of(2 * MAX + i, &in, &out);
		eph_session_delete(t, (uint32_t)eph_session_insert(t, &in, &out, NULL));
	}
	measure(t, 3 * MAX, 1 << 16, "1M table at 50%");
	measure(small, 0, 2048, "4K table, cold pages");
	measure(small, 4096, 2048, "4K table, half-cold pages");
	measure(small, 8192, 2048, "4K table, cache-resident");
	eph_session_table_free(small);
	eph_session_table_free(t);
}

static int
setup(void **state)
{
	char prefix[64];
	char *argv[] = {
		"test_session",
		"-l",
		"0",
		"--no-huge",
		"-m",
		"512",
		"--no-pci",
		"--no-telemetry",
		"--file-prefix",
		prefix,
		"--log-level",
		"error",
		NULL,
	};

	(void)state;
	t_eal_prefix(prefix, sizeof(prefix), "unit-session");
	if (rte_eal_init((int)RTE_DIM(argv) - 1, argv) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rte_eal_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_same_name),
		cmocka_unit_test(test_paired_insert_lookup),
		cmocka_unit_test(test_duplicate_rollback),
		cmocka_unit_test(test_inconsistent_keys),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_fill_to_max),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_icmp_keys),
		cmocka_unit_test(test_stash),
		cmocka_unit_test(test_bulk_lookup),
		cmocka_unit_test(test_random_model),
		cmocka_unit_test(test_wheel_exact),
		cmocka_unit_test(test_wheel_lazy_refresh),
		cmocka_unit_test(test_wheel_clock_jump),
		cmocka_unit_test(test_wheel_budget),
		cmocka_unit_test(test_wheel_rearm),
		cmocka_unit_test(test_wheel_wrap),
		cmocka_unit_test(test_tcp_sequences),
		cmocka_unit_test(test_tcp_table_properties),
		cmocka_unit_test(test_tcp_timeouts),
		cmocka_unit_test(test_memory_and_speed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-worker session table: the records, the cuckoo index of both keys of
 * each (see session.h) and the timer wheel. Single-threaded by design: the
 * owning worker is the only caller after create, so nothing here locks or
 * uses atomics.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <netinet/in.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_random.h>
#include <rte_vect.h>

#include "dataplane/flow/session.h"

/* timer_prev of a record on the free list (timer_next links the list). */
#define SESS_FREE (UINT32_MAX - 1)

#define SLOTS      EPH_SESSION_BUCKET_SLOTS
#define REF_INDEX  EPH_SESSION_REF_INDEX
#define REF_OUT    EPH_SESSION_REF_OUT
#define REF_SECOND EPH_SESSION_REF_SECOND

/*
 * Index slots per key at the table's maximum: keys fill at most 9/10 of
 * them. Measured (test_session) filling 262144 sessions to the last one,
 * then churning full: one entry moved per ~12 inserts, ~2% of the keys in
 * their second bucket, the stash never used.
 */
#define INDEX_LOAD_NUM 9u
#define INDEX_LOAD_DEN 10u

/* Buckets a displacement search visits at most: 2 roots, 20 at one move, the rest at two. */
#define BFS_NODES 128

#define WHEEL_MASK   (EPH_SESSION_WHEEL_SLOTS - 1)
#define OVERDUE_SLOT EPH_SESSION_WHEEL_SLOTS /* heads[] index of the overdue list */

static_assert((EPH_SESSION_WHEEL_SLOTS & WHEEL_MASK) == 0, "wheel size must be a power of 2");
/* Head indices (max + slot) must stay below the two marker values. */
static_assert((uint64_t)EPH_SESSION_MAX + EPH_SESSION_WHEEL_SLOTS + 1 < SESS_FREE,
	      "index space overflow");
static_assert((REF_INDEX & (REF_OUT | REF_SECOND)) == 0, "reference flags above the index");
static_assert(BFS_NODES <= INT16_MAX, "BFS parents are int16_t");

/* ---- keys --------------------------------------------------------------- */

/*
 * Only key pairs the record can rebuild may go in, or delete would leave a
 * key behind: same remote end and protocol, zero pad, ICMP remote port 0.
 */
static bool
keys_consistent(const struct eph_flow_key *in, const struct eph_flow_key *out)
{
	if (in->dst_addr != out->src_addr || in->dst_port != out->src_port ||
	    in->proto != out->proto)
		return false;
	if ((in->pad[0] | in->pad[1] | in->pad[2] | out->pad[0] | out->pad[1] | out->pad[2]) != 0)
		return false;
	if (in->proto == IPPROTO_ICMP && in->dst_port != 0)
		return false;
	return memcmp(in, out, sizeof(*in)) != 0;
}

/* Four-way: the keys need agree on the protocol alone. */
static bool
four_way_keys_consistent(const struct eph_flow_key *in, const struct eph_flow_key *out)
{
	if (in->proto != out->proto)
		return false;
	if ((in->pad[0] | in->pad[1] | in->pad[2] | out->pad[0] | out->pad[1] | out->pad[2]) != 0)
		return false;
	return memcmp(in, out, sizeof(*in)) != 0;
}

/* Whether key k is the key ref names in record s: rebuilt in registers, two compares. */
static inline bool
key_matches(const struct eph_session_table *t, const struct eph_session *s, uint32_t ref,
	    const struct eph_flow_key *k)
{
	uint16_t remote_port = s->proto == IPPROTO_ICMP ? 0 : s->remote_port;
	uint64_t w[2], addrs, tail;

	if (unlikely(t->four_way)) {
		if (ref & REF_OUT) {
			addrs = eph_flow_addrs(s->reply_addr, s->out_addr);
			tail = eph_flow_tail(eph_flow_ports(s->reply_port, s->out_port), s->proto);
		} else {
			addrs = eph_flow_addrs(s->in_addr, s->remote_addr);
			tail = eph_flow_tail(eph_flow_ports(s->in_port, s->remote_port), s->proto);
		}
	} else if (ref & REF_OUT) {
		addrs = eph_flow_addrs(s->remote_addr, s->out_addr);
		tail = eph_flow_tail(eph_flow_ports(remote_port, s->out_port), s->proto);
	} else {
		addrs = eph_flow_addrs(s->in_addr, s->remote_addr);
		tail = eph_flow_tail(eph_flow_ports(s->in_port, remote_port), s->proto);
	}
	memcpy(w, k, sizeof(w));
	return ((w[0] ^ addrs) | (w[1] ^ tail)) == 0;
}

/* ---- index -------------------------------------------------------------- */

static inline int
free_slot(const struct eph_session_bucket *b)
{
	uint32_t m = eph_session_sig_mask(b, 0);

	return m != 0 ? __builtin_ctz(m) : -1;
}

/* The record index of key in bucket b, among the slots of mask m, or -1. */
static inline int32_t
bucket_find(const struct eph_session_table *t, const struct eph_session_bucket *b, uint32_t m,
	    const struct eph_flow_key *key)
{
	while (m != 0) {
		uint32_t ref = b->ref[__builtin_ctz(m)];

		if (key_matches(t, &t->sess[ref & REF_INDEX], ref, key))
			return (int32_t)(ref & REF_INDEX);
		m &= m - 1;
	}
	return -1;
}

static int32_t
stash_find(const struct eph_session_table *t, const struct eph_flow_key *key, uint64_t hash)
{
	for (uint32_t i = 0; i < t->n_stash; i++) {
		uint32_t ref = t->stash[i].ref;

		if (t->stash[i].hash == hash && key_matches(t, &t->sess[ref & REF_INDEX], ref, key))
			return (int32_t)(ref & REF_INDEX);
	}
	return -ENOENT;
}

/* Saturated counts stay there: lookups then always try the second bucket, still exact. */
static inline void
overflow_add(struct eph_session_bucket *b)
{
	if (b->overflow != UINT16_MAX)
		b->overflow++;
}

static inline void
overflow_sub(struct eph_session_bucket *b)
{
	if (b->overflow != UINT16_MAX)
		b->overflow--;
}

static inline void
slot_set(struct eph_session_bucket *b, unsigned int i, uint16_t sig, uint32_t ref)
{
	b->sig[i] = sig;
	b->ref[i] = ref;
}

/* Move the entry in slot i of bucket x to slot j of its other bucket y. */
static void
entry_move(struct eph_session_table *t, uint32_t x, unsigned int i, uint32_t y, unsigned int j)
{
	struct eph_session_bucket *bx = &t->buckets[x], *by = &t->buckets[y];
	uint32_t ref = bx->ref[i];

	if (ref & REF_SECOND) {
		ref &= ~REF_SECOND; /* back to its first bucket, y */
		overflow_sub(by);
	} else {
		ref |= REF_SECOND;
		overflow_add(bx);
	}
	slot_set(by, j, bx->sig[i], ref);
	slot_set(bx, i, 0, EPH_SESSION_NIL);
	t->moves++;
}

struct bfs_node {
	uint32_t bucket;
	int16_t parent; /* node whose entry in slot `slot` moves here; -1: a root */
	uint8_t slot;
};

static bool
on_path(const struct bfs_node *q, int n, uint32_t bucket)
{
	for (; n >= 0; n = q[n].parent)
		if (q[n].bucket == bucket)
			return true;
	return false;
}

/*
 * Both buckets of a key are full: find the shortest chain of entries that
 * can each move to their other bucket, ending at a free slot (breadth
 * first, BFS_NODES buckets at most), and shift it, last move first.
 * Returns the root (b1 or b2) that has a free slot now, or UINT32_MAX.
 */
static __rte_noinline uint32_t
make_room(struct eph_session_table *t, uint32_t b1, uint32_t b2)
{
	struct bfs_node q[BFS_NODES];
	unsigned int head = 0, tail = 0;

	q[tail++] = (struct bfs_node){ .bucket = b1, .parent = -1 };
	if (b2 != b1)
		q[tail++] = (struct bfs_node){ .bucket = b2, .parent = -1 };
	while (head < tail) {
		int cur = (int)head++;
		const struct eph_session_bucket *bx = &t->buckets[q[cur].bucket];

		/* The next buckets all at once, rather than one cache miss after another. */
		for (unsigned int i = 0; i < SLOTS; i++)
			rte_prefetch0(&t->buckets[eph_session_other_bucket(t, q[cur].bucket,
									   bx->sig[i])]);
		for (unsigned int i = 0; i < SLOTS; i++) {
			uint32_t y = eph_session_other_bucket(t, q[cur].bucket, bx->sig[i]);
			int f;

			if (on_path(q, cur, y))
				continue;
			f = free_slot(&t->buckets[y]);
			if (f >= 0) {
				uint32_t to = y;
				unsigned int to_slot = (unsigned int)f, from_slot = i;

				for (int n = cur;; n = q[n].parent) {
					entry_move(t, q[n].bucket, from_slot, to, to_slot);
					if (q[n].parent < 0)
						return q[n].bucket; /* from_slot is free now */
					to = q[n].bucket;
					to_slot = from_slot;
					from_slot = q[n].slot;
				}
			}
			if (tail < BFS_NODES)
				q[tail++] = (struct bfs_node){
					.bucket = y, .parent = (int16_t)cur, .slot = (uint8_t)i,
				};
		}
	}
	return UINT32_MAX;
}

/* Put key (its hash) with reference ref in the index: 0 or -ENOSPC. */
static int
index_add(struct eph_session_table *t, uint64_t hash, uint32_t ref)
{
	uint16_t sig = eph_session_sig(hash);
	uint32_t b1 = eph_session_bucket_of(t, hash);
	uint32_t b2 = eph_session_other_bucket(t, b1, sig), root;
	int f;

	f = free_slot(&t->buckets[b1]);
	if (f >= 0) {
		slot_set(&t->buckets[b1], (unsigned int)f, sig, ref);
		return 0;
	}
	root = b2;
	f = free_slot(&t->buckets[b2]);
	if (f < 0) {
		root = make_room(t, b1, b2);
		if (root == UINT32_MAX) {
			if (t->n_stash == EPH_SESSION_STASH)
				return -ENOSPC;
			t->stash[t->n_stash++] =
				(struct eph_session_stash){ .hash = hash, .ref = ref };
			t->stashed++;
			return 0;
		}
		f = free_slot(&t->buckets[root]);
	}
	if (root == b1) {
		slot_set(&t->buckets[b1], (unsigned int)f, sig, ref);
	} else {
		slot_set(&t->buckets[b2], (unsigned int)f, sig, ref | REF_SECOND);
		overflow_add(&t->buckets[b1]);
	}
	return 0;
}

/* Take stashed keys back into their buckets where a slot has come free. */
static __rte_noinline void
stash_drain(struct eph_session_table *t)
{
	for (uint32_t i = 0; i < t->n_stash;) {
		const struct eph_session_stash *e = &t->stash[i];
		uint16_t sig = eph_session_sig(e->hash);
		uint32_t b1 = eph_session_bucket_of(t, e->hash);
		uint32_t b2 = eph_session_other_bucket(t, b1, sig);
		int f;

		if ((f = free_slot(&t->buckets[b1])) >= 0) {
			slot_set(&t->buckets[b1], (unsigned int)f, sig, e->ref);
		} else if ((f = free_slot(&t->buckets[b2])) >= 0) {
			slot_set(&t->buckets[b2], (unsigned int)f, sig, e->ref | REF_SECOND);
			overflow_add(&t->buckets[b1]);
		} else {
			i++;
			continue;
		}
		t->stash[i] = t->stash[--t->n_stash];
	}
}

/* Remove the entry of key (its hash) with reference ref. */
static void
index_del(struct eph_session_table *t, uint64_t hash, uint32_t ref)
{
	uint16_t sig = eph_session_sig(hash);
	uint32_t b1 = eph_session_bucket_of(t, hash);
	struct eph_session_bucket *b = &t->buckets[b1];
	uint32_t m = eph_session_sig_mask(b, sig);

	for (; m != 0; m &= m - 1) {
		unsigned int i = (unsigned int)__builtin_ctz(m);

		if (b->ref[i] == ref) {
			slot_set(b, i, 0, EPH_SESSION_NIL);
			goto freed;
		}
	}
	b = &t->buckets[eph_session_other_bucket(t, b1, sig)];
	for (m = eph_session_sig_mask(b, sig); m != 0; m &= m - 1) {
		unsigned int i = (unsigned int)__builtin_ctz(m);

		if (b->ref[i] == (ref | REF_SECOND)) {
			slot_set(b, i, 0, EPH_SESSION_NIL);
			overflow_sub(&t->buckets[b1]);
			goto freed;
		}
	}
	for (uint32_t i = 0; i < t->n_stash; i++)
		if (t->stash[i].ref == ref) {
			t->stash[i] = t->stash[--t->n_stash];
			return;
		}
	return;
freed:
	if (unlikely(t->n_stash != 0))
		stash_drain(t);
}

/* ---- timer wheel links ---------------------------------------------------- */

/* Indices below max are records, max + i is heads[i]: one unlink for both. */
static inline uint32_t *
link_next(struct eph_session_table *t, uint32_t i)
{
	return i < t->max ? &t->sess[i].timer_next : &t->heads[i - t->max].next;
}

static inline uint32_t *
link_prev(struct eph_session_table *t, uint32_t i)
{
	return i < t->max ? &t->sess[i].timer_prev : &t->heads[i - t->max].prev;
}

static inline bool
timer_linked(const struct eph_session *s)
{
	return s->timer_next != EPH_SESSION_NIL;
}

static inline void
timer_unlink(struct eph_session_table *t, uint32_t idx)
{
	struct eph_session *s = &t->sess[idx];

	*link_next(t, s->timer_prev) = s->timer_next;
	*link_prev(t, s->timer_next) = s->timer_prev;
	s->timer_next = EPH_SESSION_NIL;
	s->timer_prev = EPH_SESSION_NIL;
	t->n_timers--;
}

/* Append idx (unlinked) to list head h (a heads[] index). */
static inline void
timer_append(struct eph_session_table *t, uint32_t h, uint32_t idx)
{
	struct eph_timer_link *head = &t->heads[h];
	struct eph_session *s = &t->sess[idx];
	uint32_t hi = t->max + h;

	s->timer_next = hi;
	s->timer_prev = head->prev;
	*link_next(t, head->prev) = idx;
	head->prev = idx;
	t->n_timers++;
}

/*
 * File an unlinked session in the slot of tick clamp(expire, done+1, done+N).
 * Never early: the slot's tick is <= expire. While slot done+1 is being
 * processed, a later expire never lands back in it, so processing ends.
 */
static inline void
timer_file(struct eph_session_table *t, uint32_t idx)
{
	int32_t d = (int32_t)(t->sess[idx].expire - t->done);
	uint32_t tick;

	if (d < 1)
		d = 1;
	else if (d > (int32_t)EPH_SESSION_WHEEL_SLOTS)
		d = EPH_SESSION_WHEEL_SLOTS;
	tick = t->done + (uint32_t)d;
	timer_append(t, tick & WHEEL_MASK, idx);
}

static void
heads_init(struct eph_session_table *t)
{
	for (uint32_t i = 0; i <= OVERDUE_SLOT; i++) {
		t->heads[i].next = t->max + i;
		t->heads[i].prev = t->max + i;
	}
}

/* ---- create / free --------------------------------------------------------- */

/* Bytes allocated on every socket's heap. */
static size_t
heap_allocated(void)
{
	struct rte_malloc_socket_stats st;
	size_t total = 0;

	for (unsigned int i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
			total += st.heap_allocsz_bytes;
	return total;
}

/* Buckets for 2 keys per session at INDEX_LOAD_NUM / INDEX_LOAD_DEN of the slots. */
static uint32_t
buckets_for(uint32_t max_sessions)
{
	uint64_t slots = 2ULL * max_sessions * INDEX_LOAD_DEN;
	uint64_t per_bucket = (uint64_t)SLOTS * INDEX_LOAD_NUM;

	return (uint32_t)((slots + per_bucket - 1) / per_bucket);
}

struct eph_session_table *
eph_session_table_create(const char *name, uint32_t max_sessions, int socket_id)
{
	struct eph_session_table *t;
	size_t before = heap_allocated();

	if (name == NULL || max_sessions == 0 || max_sessions > EPH_SESSION_MAX) {
		rte_errno = EINVAL;
		return NULL;
	}
	t = rte_zmalloc_socket("eph_sess_table", sizeof(*t), RTE_CACHE_LINE_SIZE, socket_id);
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->max = max_sessions;
	t->n_buckets = buckets_for(max_sessions);
	t->seed[0] = (uint32_t)rte_rand();
	t->seed[1] = (uint32_t)rte_rand();

	/* Zeroed: every signature 0, every slot free. */
	t->buckets = rte_zmalloc_socket("eph_sess_index",
					(size_t)t->n_buckets * sizeof(*t->buckets),
					RTE_CACHE_LINE_SIZE, socket_id);
	t->sess = rte_zmalloc_socket("eph_sess_records", (size_t)max_sessions * sizeof(*t->sess),
				     RTE_CACHE_LINE_SIZE, socket_id);
	t->heads = rte_zmalloc_socket("eph_sess_wheel",
				      (OVERDUE_SLOT + 1) * sizeof(struct eph_timer_link),
				      RTE_CACHE_LINE_SIZE, socket_id);
	if (t->buckets == NULL || t->sess == NULL || t->heads == NULL) {
		eph_session_table_free(t);
		rte_errno = ENOMEM;
		return NULL;
	}

	/* Free list in index order, so a lightly used table stays in few cache lines. */
	for (uint32_t i = 0; i < max_sessions; i++) {
		t->sess[i].timer_next = i + 1 < max_sessions ? i + 1 : EPH_SESSION_NIL;
		t->sess[i].timer_prev = SESS_FREE;
	}
	t->free_head = 0;
	heads_init(t);
	t->bytes = heap_allocated() - before;
	return t;
}

void
eph_session_table_free(struct eph_session_table *t)
{
	if (t == NULL)
		return;
	rte_free(t->heads);
	rte_free(t->sess);
	rte_free(t->buckets);
	rte_free(t);
}

int
eph_session_table_four_way(struct eph_session_table *t, const struct eph_session_table *seed_from)
{
	if (t->count != 0)
		return -EBUSY;
	t->four_way = true;
	if (seed_from != NULL) {
		t->seed[0] = seed_from->seed[0];
		t->seed[1] = seed_from->seed[1];
	}
	return 0;
}

size_t
eph_session_table_bytes(const struct eph_session_table *t)
{
	return t->bytes;
}

/* ---- insert / lookup / delete ---------------------------------------------- */

__rte_noinline int32_t
eph_session_insert(struct eph_session_table *t, const struct eph_flow_key *in_key,
		   const struct eph_flow_key *out_key, struct eph_session **sp)
{
	uint64_t h_in, h_out;
	struct eph_session *s;
	uint32_t idx;
	int ret;

	if (t->four_way ? !four_way_keys_consistent(in_key, out_key)
			: !keys_consistent(in_key, out_key))
		return -EINVAL;
	idx = t->free_head;
	if (idx == EPH_SESSION_NIL)
		return -ENOSPC;

	h_in = eph_session_hash(t, in_key);
	h_out = eph_session_hash(t, out_key);
	if (eph_session_lookup_with_hash(t, in_key, h_in) >= 0 ||
	    eph_session_lookup_with_hash(t, out_key, h_out) >= 0)
		return -EEXIST;

	ret = index_add(t, h_in, idx);
	if (ret < 0)
		return ret;
	ret = index_add(t, h_out, idx | REF_OUT);
	if (ret < 0) {
		/* Rollback: no half-inserted session. */
		index_del(t, h_in, idx);
		return ret;
	}

	s = &t->sess[idx];
	t->free_head = s->timer_next;
	*s = (struct eph_session){
		.in_addr = in_key->src_addr,
		.out_addr = out_key->dst_addr,
		.remote_addr = in_key->dst_addr,
		.in_port = in_key->src_port,
		.out_port = out_key->dst_port,
		.remote_port = in_key->dst_port,
		.proto = in_key->proto,
		.timer_next = EPH_SESSION_NIL,
		.timer_prev = EPH_SESSION_NIL,
	};
	if (t->four_way) {
		s->reply_addr = out_key->src_addr;
		s->reply_port = out_key->src_port;
	}
	t->count++;
	if (sp != NULL)
		*sp = s;
	return (int32_t)idx;
}

bool
eph_session_in_use(const struct eph_session_table *t, uint32_t idx)
{
	return t->sess[idx].timer_prev != SESS_FREE;
}

int32_t
eph_session_lookup_with_hash(const struct eph_session_table *t, const struct eph_flow_key *key,
			     uint64_t hash)
{
	uint16_t sig = eph_session_sig(hash);
	uint32_t b1 = eph_session_bucket_of(t, hash);
	const struct eph_session_bucket *b = &t->buckets[b1];
	int32_t idx = bucket_find(t, b, eph_session_sig_mask(b, sig), key);

	if (idx >= 0)
		return idx;
	if (b->overflow != 0) {
		b = &t->buckets[eph_session_other_bucket(t, b1, sig)];
		idx = bucket_find(t, b, eph_session_sig_mask(b, sig), key);
		if (idx >= 0)
			return idx;
	}
	if (unlikely(t->n_stash != 0))
		return stash_find(t, key, hash);
	return -ENOENT;
}

int32_t
eph_session_lookup(const struct eph_session_table *t, const struct eph_flow_key *key)
{
	return eph_session_lookup_with_hash(t, key, eph_session_hash(t, key));
}

/*
 * Key i of a bulk lookup against its candidates (slots cand[i] of bucket
 * bk[i]): the record must rebuild the key. Returns its hit bit.
 */
static inline uint64_t
lookup_settle(const struct eph_session_table *t, const struct eph_flow_key *keys,
	      const uint64_t *hashes, const struct eph_session_bucket *const *bk,
	      const uint32_t *cand, uint32_t i, int32_t *idx)
{
	int32_t x = bucket_find(t, bk[i], cand[i], &keys[i]);

	/* A signature that matched the wrong key, or a stashed key: the full search. */
	if (unlikely(x < 0 && (cand[i] != 0 || t->n_stash != 0)))
		x = eph_session_lookup_with_hash(t, &keys[i], hashes[i]);
	idx[i] = x < 0 ? -1 : x;
	return (uint64_t)(x >= 0) << i;
}

uint64_t
eph_session_lookup_bulk(const struct eph_session_table *t, const struct eph_flow_key *keys,
			const uint64_t *hashes, const uint32_t *cands, uint32_t n, int32_t *idx)
{
	const struct eph_session_bucket *bk[EPH_SESSION_BULK_MAX];
	uint64_t own[EPH_SESSION_BULK_MAX];
	uint32_t cand[EPH_SESSION_BULK_MAX];
	uint64_t second = 0, hits = 0, todo = UINT64_MAX >> (64 - RTE_MAX(n, 1u));

	RTE_ASSERT(n <= EPH_SESSION_BULK_MAX);
	if (hashes == NULL) {
		for (uint32_t i = 0; i < n; i++) {
			own[i] = eph_session_hash(t, &keys[i]);
			eph_session_prefetch(t, own[i]);
		}
		hashes = own;
	}
	if (n == 0)
		return 0;
	/* Candidates found earlier: their records are the right ones, or a full search decides. */
	for (uint32_t i = 0; cands != NULL && i < n; i++) {
		const struct eph_session *s;
		uint32_t ref = cands[i];

		if (ref == EPH_SESSION_NIL)
			continue;
		s = &t->sess[ref & REF_INDEX];
		todo &= ~(UINT64_C(1) << i);
		if (likely(s->timer_prev != SESS_FREE && key_matches(t, s, ref, &keys[i]))) {
			idx[i] = (int32_t)(ref & REF_INDEX);
			hits |= UINT64_C(1) << i;
			continue;
		}
		idx[i] = eph_session_lookup_with_hash(t, &keys[i], hashes[i]);
		if (idx[i] >= 0)
			hits |= UINT64_C(1) << i;
		else
			idx[i] = -1;
	}
	/*
	 * First buckets: a candidate's record starts loading, or the second
	 * bucket does. The keys that need no second bucket are settled first,
	 * while the second buckets arrive.
	 */
	for (uint64_t m = todo; m != 0; m &= m - 1) {
		uint32_t i = (uint32_t)__builtin_ctzll(m);
		uint16_t sig = eph_session_sig(hashes[i]);
		uint32_t b1 = eph_session_bucket_of(t, hashes[i]);

		bk[i] = &t->buckets[b1];
		cand[i] = eph_session_sig_mask(bk[i], sig);
		if (cand[i] != 0) {
			rte_prefetch0(&t->sess[bk[i]->ref[__builtin_ctz(cand[i])] & REF_INDEX]);
		} else if (bk[i]->overflow != 0) {
			bk[i] = &t->buckets[eph_session_other_bucket(t, b1, sig)];
			rte_prefetch0(bk[i]);
			second |= UINT64_C(1) << i;
		}
	}
	for (uint64_t m = todo & ~second; m != 0; m &= m - 1)
		hits |= lookup_settle(t, keys, hashes, bk, cand, (uint32_t)__builtin_ctzll(m), idx);
	if (second == 0)
		return hits;
	for (uint64_t m = second; m != 0; m &= m - 1) {
		uint32_t i = (uint32_t)__builtin_ctzll(m);

		cand[i] = eph_session_sig_mask(bk[i], eph_session_sig(hashes[i]));
		if (cand[i] != 0)
			rte_prefetch0(&t->sess[bk[i]->ref[__builtin_ctz(cand[i])] & REF_INDEX]);
	}
	for (uint64_t m = second; m != 0; m &= m - 1)
		hits |= lookup_settle(t, keys, hashes, bk, cand, (uint32_t)__builtin_ctzll(m), idx);
	return hits;
}

__rte_noinline void
eph_session_delete(struct eph_session_table *t, uint32_t idx)
{
	struct eph_session *s;
	struct eph_flow_key k;

	if (idx >= t->max)
		return;
	s = &t->sess[idx];
	if (s->timer_prev == SESS_FREE)
		return;
	eph_session_in_key(s, &k);
	index_del(t, eph_session_hash(t, &k), idx);
	eph_session_reply_key(t, s, &k);
	index_del(t, eph_session_hash(t, &k), idx | REF_OUT);
	if (timer_linked(s))
		timer_unlink(t, idx);
	s->timer_prev = SESS_FREE;
	s->timer_next = t->free_head;
	t->free_head = idx;
	t->count--;
}

/* ---- timers ---------------------------------------------------------------- */

void
eph_session_schedule(struct eph_session_table *t, uint32_t idx, uint32_t expire)
{
	struct eph_session *s = &t->sess[idx];

	if (s->timer_prev == SESS_FREE)
		return;
	if (timer_linked(s))
		timer_unlink(t, idx);
	s->expire = expire;
	timer_file(t, idx);
}

/* Move every wheel slot onto the overdue list (the clock jumped past a whole turn). */
static __rte_noinline void
wheel_spill(struct eph_session_table *t)
{
	struct eph_timer_link *od = &t->heads[OVERDUE_SLOT];
	uint32_t od_i = t->max + OVERDUE_SLOT;

	for (uint32_t i = 0; i < EPH_SESSION_WHEEL_SLOTS; i++) {
		struct eph_timer_link *h = &t->heads[i];
		uint32_t hi = t->max + i;
		uint32_t first = h->next, last = h->prev;

		if (first == hi)
			continue;
		/* Splice [first..last] after the overdue tail. */
		*link_next(t, od->prev) = first;
		*link_prev(t, first) = od->prev;
		*link_next(t, last) = od_i;
		od->prev = last;
		h->next = hi;
		h->prev = hi;
	}
}

/* Sessions ahead in a wheel list whose keys' buckets expiry starts loading. */
#define EXPIRE_LOOKAHEAD 3

/*
 * The buckets a delete of the session EXPIRE_LOOKAHEAD places ahead in the
 * list (next: the first one after the current) will read: loading while
 * the sessions before it are handled.
 */
static inline void
expire_prefetch(const struct eph_session_table *t, uint32_t idx)
{
	const struct eph_session *s;
	struct eph_flow_key k;

	for (unsigned int i = 1; i < EXPIRE_LOOKAHEAD && idx < t->max; i++)
		idx = t->sess[idx].timer_next;
	if (idx >= t->max)
		return; /* the list's head or end: fewer left */
	s = &t->sess[idx];
	eph_session_in_key(s, &k);
	eph_session_prefetch(t, eph_session_hash(t, &k));
	eph_session_reply_key(t, s, &k);
	eph_session_prefetch(t, eph_session_hash(t, &k));
}

/*
 * Work through list h: call cb for due sessions, re-file the others (their
 * expire was moved later). Returns false when the budget ran out first.
 */
static inline bool
expire_list(struct eph_session_table *t, uint32_t h, uint32_t now, unsigned budget,
	    unsigned max_work, eph_session_expire_cb cb, void *arg, unsigned *n, unsigned *work)
{
	uint32_t hi = t->max + h;

	while (t->heads[h].next != hi) {
		uint32_t idx = t->heads[h].next;
		uint32_t next = t->sess[idx].timer_next;

		if (*n >= budget || *work >= max_work)
			return false;
		timer_unlink(t, idx);
		(*work)++;
		if ((int32_t)(t->sess[idx].expire - now) <= 0) {
			expire_prefetch(t, next);
			(*n)++;
			cb(t, idx, arg);
		} else {
			timer_file(t, idx);
		}
	}
	return true;
}

unsigned
eph_session_expire(struct eph_session_table *t, uint32_t now, unsigned budget,
		   eph_session_expire_cb cb, void *arg)
{
	unsigned max_work = budget * (1 + EPH_SESSION_REFILE_FACTOR);
	unsigned n = 0, work = 0;

	if (budget == 0)
		return 0;
	if (t->n_timers == 0) {
		/* Nothing to keep in order: follow the clock, however far it moved. */
		t->done = now;
		return 0;
	}
	if ((int32_t)(now - t->done) > (int32_t)EPH_SESSION_WHEEL_SLOTS) {
		/*
		 * A whole turn passed (a stall, or the first call): every slot's tick
		 * is <= now. Sort them out from one list instead of walking each tick.
		 */
		wheel_spill(t);
		t->done = now;
	}
	if (!expire_list(t, OVERDUE_SLOT, now, budget, max_work, cb, arg, &n, &work))
		return n;
	while ((int32_t)(now - t->done) > 0) {
		/* done advances only once the slot is empty: an interrupted slot resumes. */
		if (!expire_list(t, (t->done + 1) & WHEEL_MASK, now, budget, max_work, cb, arg, &n,
				 &work))
			return n;
		t->done++;
	}
	return n;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-worker session table (rte_hash of both keys -> record index) and its
 * timer wheel. Single-threaded by design: the owning worker is the only
 * caller after create, so nothing here locks or uses atomics.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <netinet/in.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_random.h>

#include "dataplane/session.h"

/* timer_prev of a record on the free list (timer_next links the list). */
#define SESS_FREE (UINT32_MAX - 1)

/* rte_hash refuses fewer entries than one bucket holds (RTE_HASH_BUCKET_ENTRIES, private). */
#define HASH_MIN_ENTRIES 8u

/* Keys in at most 9/10 of the hash's slots when the table is full (see hash_entries). */
#define HASH_LOAD_NUM 9u
#define HASH_LOAD_DEN 10u

#define WHEEL_MASK   (EPH_SESSION_WHEEL_SLOTS - 1)
#define OVERDUE_SLOT EPH_SESSION_WHEEL_SLOTS /* heads[] index of the overdue list */

static_assert((EPH_SESSION_WHEEL_SLOTS & WHEEL_MASK) == 0, "wheel size must be a power of 2");
/* Head indices (max + slot) must stay below the two marker values. */
static_assert((uint64_t)EPH_SESSION_MAX + EPH_SESSION_WHEEL_SLOTS + 1 < SESS_FREE,
	      "index space overflow");

/* ---- keys --------------------------------------------------------------- */

void
eph_session_in_key(const struct eph_session *s, struct eph_flow_key *k)
{
	*k = (struct eph_flow_key){
		.src_addr = s->in_addr,
		.dst_addr = s->remote_addr,
		.src_port = s->in_port,
		.dst_port = s->proto == IPPROTO_ICMP ? 0 : s->remote_port,
		.proto = s->proto,
	};
}

void
eph_session_out_key(const struct eph_session *s, struct eph_flow_key *k)
{
	*k = (struct eph_flow_key){
		.src_addr = s->remote_addr,
		.dst_addr = s->out_addr,
		.src_port = s->proto == IPPROTO_ICMP ? 0 : s->remote_port,
		.dst_port = s->out_port,
		.proto = s->proto,
	};
}

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

/* Bytes allocated on every socket's heap: memzones (rings) are carved from it too. */
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

/*
 * rte_hash entries for max sessions (2 keys each). rte_hash gives entries + 1
 * key slots (32 B each) but rte_align32pow2(entries) bucket slots (8 B each,
 * twice with the extendable table). Near 100% of the bucket slots a cuckoo
 * insert searches up to 1000 buckets and then spills into the extendable
 * table: ~2 us per insert in the last 1%, p99.9 ~40 us. Measured churning at
 * a fixed load (one delete, one insert): 0.31 us at 50%, 0.40 at 90%, 0.53 at
 * 95%, 1.1 at 99% (p99.9 1.2, 2.1 and 40 us). So when 2 * max would fill
 * more than 9/10 of the slots, ask for one entry past the power of two: the
 * buckets double, the key slots only grow to that power of two. Powers of
 * two (the default 262144) always take that step: +16 B per key, +32 B per
 * session (178 -> 212 B/session with the record); sizes just above 9/10
 * of a power of two pay most (226 B/session for 120000).
 */
static uint32_t
hash_entries(uint32_t max_sessions)
{
	uint64_t keys = RTE_MAX(2ULL * max_sessions, (uint64_t)HASH_MIN_ENTRIES);
	uint64_t slots = rte_align64pow2(keys);

	if (keys * HASH_LOAD_DEN > slots * HASH_LOAD_NUM && slots + 1 <= RTE_HASH_ENTRIES_MAX)
		return (uint32_t)slots + 1;
	return (uint32_t)keys; /* beyond RTE_HASH_ENTRIES_MAX only: full load, still exact */
}

struct eph_session_table *
eph_session_table_create(const char *name, uint32_t max_sessions, int socket_id)
{
	struct rte_hash_parameters hp = {
		.name = name,
		/* Both keys of every session; EXT_TABLE makes them all fit, whatever the hashes. */
		.entries = hash_entries(max_sessions),
		.key_len = sizeof(struct eph_flow_key),
		.hash_func = rte_hash_crc,
		/* Keyed so that outside hosts cannot aim their tuples at one bucket chain. */
		.hash_func_init_val = (uint32_t)rte_rand(),
		.socket_id = socket_id,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct eph_session_table *t;
	size_t before = heap_allocated();
	int err;

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

	t->sess = rte_zmalloc_socket("eph_sess_records", (size_t)max_sessions * sizeof(*t->sess),
				     RTE_CACHE_LINE_SIZE, socket_id);
	t->heads = rte_zmalloc_socket("eph_sess_wheel",
				      (OVERDUE_SLOT + 1) * sizeof(struct eph_timer_link),
				      RTE_CACHE_LINE_SIZE, socket_id);
	if (t->sess == NULL || t->heads == NULL) {
		err = ENOMEM;
		goto fail;
	}
	t->hash = rte_hash_create(&hp);
	if (t->hash == NULL) {
		err = rte_errno != 0 ? rte_errno : ENOMEM;
		goto fail;
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

fail:
	rte_free(t->heads);
	rte_free(t->sess);
	rte_free(t);
	rte_errno = err;
	return NULL;
}

void
eph_session_table_free(struct eph_session_table *t)
{
	if (t == NULL)
		return;
	rte_hash_free(t->hash);
	rte_free(t->heads);
	rte_free(t->sess);
	rte_free(t);
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
	hash_sig_t h_in, h_out;
	struct eph_session *s;
	uint32_t idx;
	void *data;
	int ret;

	if (!keys_consistent(in_key, out_key))
		return -EINVAL;
	idx = t->free_head;
	if (idx == EPH_SESSION_NIL)
		return -ENOSPC;

	/* rte_hash_add updates an existing key in place: check both first. */
	h_in = rte_hash_hash(t->hash, in_key);
	h_out = rte_hash_hash(t->hash, out_key);
	if (rte_hash_lookup_with_hash(t->hash, in_key, h_in) >= 0 ||
	    rte_hash_lookup_with_hash(t->hash, out_key, h_out) >= 0)
		return -EEXIST;

	data = (void *)(uintptr_t)idx;
	ret = rte_hash_add_key_with_hash_data(t->hash, in_key, h_in, data);
	if (ret < 0)
		return ret;
	ret = rte_hash_add_key_with_hash_data(t->hash, out_key, h_out, data);
	if (ret < 0) {
		/* Rollback: no half-inserted session. */
		rte_hash_del_key_with_hash(t->hash, in_key, h_in);
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
eph_session_lookup(const struct eph_session_table *t, const struct eph_flow_key *key)
{
	void *data;

	if (rte_hash_lookup_data(t->hash, key, &data) < 0)
		return -ENOENT;
	return (int32_t)(uintptr_t)data;
}

uint64_t
eph_session_lookup_bulk(const struct eph_session_table *t, const struct eph_flow_key **keys,
			uint32_t n, int32_t *idx)
{
	uint64_t first_mask = 0;

	for (uint32_t off = 0; off < n; off += RTE_HASH_LOOKUP_BULK_MAX) {
		uint32_t m = RTE_MIN(n - off, (uint32_t)RTE_HASH_LOOKUP_BULK_MAX);
		void *data[RTE_HASH_LOOKUP_BULK_MAX];
		uint64_t hits = 0;

		if (rte_hash_lookup_bulk_data(t->hash, (const void **)(uintptr_t)(keys + off), m,
					      &hits, data) < 0)
			hits = 0;
		for (uint32_t i = 0; i < m; i++) {
			if (hits & (UINT64_C(1) << i)) {
				uint32_t x = (uint32_t)(uintptr_t)data[i];

				idx[off + i] = (int32_t)x;
				/* The caller reads the record next: start the miss now. */
				rte_prefetch0(&t->sess[x]);
			} else {
				idx[off + i] = -1;
			}
		}
		if (off == 0)
			first_mask = hits;
	}
	return first_mask;
}

/* Delete key only if it still resolves to idx: never take another session's key. */
static void
del_key_of(struct eph_session_table *t, const struct eph_flow_key *k, uint32_t idx)
{
	hash_sig_t h = rte_hash_hash(t->hash, k);
	void *data;

	if (rte_hash_lookup_with_hash_data(t->hash, k, h, &data) >= 0 &&
	    (uint32_t)(uintptr_t)data == idx)
		rte_hash_del_key_with_hash(t->hash, k, h);
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
	del_key_of(t, &k, idx);
	eph_session_out_key(s, &k);
	del_key_of(t, &k, idx);
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

		if (*n >= budget || *work >= max_work)
			return false;
		timer_unlink(t, idx);
		(*work)++;
		if ((int32_t)(t->sess[idx].expire - now) <= 0) {
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

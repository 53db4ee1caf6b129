/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ephemeral port allocator (see portalloc.h for the contract).
 *
 * Share. The worker's ports are held in a table idx2port of S entries,
 * shuffled once at create by a Fisher-Yates pass keyed by the process
 * secret (port2idx is its inverse). With port parity the share is split
 * into two classes, even and odd ports, each with its own table, walks and
 * FIFOs.
 *
 * Fresh ports. Destination d walks the table along its own arithmetic
 * progression: position i holds table index (o_d + a_d * i) mod S, with
 * a_d a unit mod S and o_d, both from a keyed hash of the secret, the
 * destination and an incarnation counter. An affine map with a unit stride
 * is an exact bijection of [0, S), and a step is one add and one compare
 * (x += a; if (x >= S) x -= S) plus the table load: O(1) worst case, no
 * cycle walking, no multiply. Because the table is a uniformly random
 * permutation, every destination's sequence is uniformly random, its first
 * port included (a keyed 2-window Feistel, tried first, put 97% of a 32k
 * share's first ports in its lower half, gave 7-18 times the expected
 * share-neighbour steps and cost ~20-40 ns). Destinations' orders are
 * related (same table, other stride and start); that helps no blind
 * attacker: without seeing the victim destination's ports, which depend on
 * its own keyed stride, start and cursor, any guess is as good as random.
 *
 * Released ports. Two FIFOs per class, of 32-entry chunks from a mempool:
 * "ready" (clean releases) and "quarantine" (release time kept, coarse
 * ticks relative to a per-chunk base). Each FIFO is a circular singly
 * linked list addressed by its tail chunk (tail->next is the head), so it
 * costs one pointer and two bytes in the record. Taking order: fresh first
 * (released ports rest as long as possible), then ready, then the
 * quarantine head once rested; but reuse first once the destination keeps
 * PA_STOCK more released ports than live ones, so that its FIFOs follow its
 * live ports instead of growing to the whole share (pa_take). With a
 * non-decreasing clock the quarantine FIFO is sorted by release time, so
 * "head not rested" means "none rested": exhaustion is exact.
 *
 * Releases never fail: a release may need a new chunk, so every alloc
 * reserves, per class, the worst case that releasing all live ports could
 * take (pa_need) and fails with -ENOMEM instead when the pool cannot cover
 * it. That worst case only shrinks by a chunk when a release takes one.
 * When the pool is short, alloc tries every way it has (fresh, ready head,
 * rested head) before failing: a pop that empties a head chunk frees it. A
 * class holds at most (live + resting) / 32 + PA_SLACK chunks (audited).
 *
 * Preservation. `preferred` is given if it is still fresh: its position q
 * (inverse of the affine map) is at or after the cursor and not moved. It
 * is swapped with the port at the cursor: the cursor's port is recorded as
 * now living at q (up to PA_MOVED_MAX such moves per destination) and the
 * cursor advances. The fresh set stays exact and taking a fresh port stays
 * one step, with no skipping.
 *
 * Idle destinations (no live port) keep their FIFOs until every quarantined
 * port has rested, then are forgotten: a new incarnation starts a fresh
 * permutation, which is safe because all its ports are free by then. Idle
 * records sit on a list in the order they went idle; expiry pops its head.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_mempool.h>

#include "dataplane/ports/portalloc.h"

#define PA_CHUNK_PORTS 32             /* power of two: the reservation divides by it */
#define PA_STOCK       PA_CHUNK_PORTS /* released ports kept beyond the live ones (pa_take) */
#define PA_SLACK       5              /* chunks per class beyond (live + resting) / 32, at most */
#define PA_MOVED_MAX   4
#define PA_NONE        UINT32_MAX
#define PA_NO_IDX      UINT16_MAX /* port2idx: not in this share */
#define PA_NAME_MAX    16
#define PA_POOL_FLAGS                                                                              \
	(RTE_MEMPOOL_F_NO_SPREAD | RTE_MEMPOOL_F_NO_CACHE_ALIGN | RTE_MEMPOOL_F_SP_PUT |           \
	 RTE_MEMPOOL_F_SC_GET | RTE_MEMPOOL_F_NO_IOVA_CONTIG)

enum { PA_READY = 0, PA_QUAR = 1 };

struct pa_chunk {
	struct pa_chunk *next; /* circular: the tail chunk's next is the head */
	uint64_t base;         /* quarantine: coarse release time of dt == 0 */
	uint16_t port[PA_CHUNK_PORTS];
	uint32_t dt[PA_CHUNK_PORTS]; /* quarantine: release time - base */
};

/* One parity class of one destination (32 bytes). */
struct pa_class {
	struct pa_chunk *tail[2]; /* FIFO tails (ready, quarantine); NULL: empty */
	uint16_t cursor;          /* walk positions < cursor are taken */
	uint16_t x;               /* table index at position cursor (mod S) */
	uint16_t a;               /* walk stride, a unit mod S */
	uint16_t live;
	uint8_t head[2]; /* next entry to take in each head chunk */
	uint8_t fill[2]; /* entries written in each tail chunk */
};

/* A fresh table index moved to walk position pos by a preservation swap. */
struct pa_moved {
	uint16_t pos;
	uint16_t idx;
};

/* Destination record: 32 bytes + 32 per class (64 without parity). */
struct pa_dest {
	uint32_t idle_prev, idle_next; /* idle list links while live == 0 */
	uint16_t live;                 /* all classes */
	uint16_t resting;              /* entries in all FIFOs */
	uint8_t n_moved;
	uint8_t moved_cls; /* bit j: class of moved[j] */
	uint8_t pad[2];
	struct pa_moved moved[PA_MOVED_MAX];
	struct pa_class cls[];
};

_Static_assert(sizeof(struct pa_dest) + sizeof(struct pa_class) == 64,
	       "a destination without parity is one cache line");

struct pa_share {
	uint32_t size;      /* S of this class */
	uint16_t *idx2port; /* keyed shuffle of the class's ports */
};

struct eph_portalloc {
	/* Read-only after create; hot members first. */
	struct rte_hash *hash; /* destination -> position = record index */
	uint8_t *dests;        /* records, stride bytes each */
	uint32_t stride;
	uint8_t n_cls;      /* 2 with port parity */
	uint8_t tshift;     /* coarse time = ticks >> tshift */
	uint64_t q_coarse;  /* quarantine in coarse time, rounded up */
	uint16_t *port2idx; /* class-local index, PA_NO_IDX: not ours */
	struct pa_share share[2];
	struct rte_mempool *chunk_pool;
	uint32_t max_dest;
	uint32_t hash_entries;
	uint64_t secret[2];

	/* Written by the owning lcore only. */
	uint32_t idle_head, idle_tail;
	uint64_t incarnation;
	uint32_t last_live; /* live ports of the last alloc's destination (occupancy warnings) */
	struct eph_portalloc_stats st;
} __rte_cache_aligned;

/* ---- the walk ------------------------------------------------------------------------ */

static uint64_t
pa_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint32_t
pa_gcd(uint32_t a, uint32_t b)
{
	while (b != 0) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* a^-1 mod n (a a unit; n >= 1), by extended Euclid. Cold path. */
static uint32_t
pa_inv_mod(uint32_t a, uint32_t n)
{
	int64_t t = 0, nt = 1, r = n, nr = a;

	while (nr != 0) {
		int64_t q = r / nr, tmp;

		tmp = t - q * nt;
		t = nt;
		nt = tmp;
		tmp = r - q * nr;
		r = nr;
		nr = tmp;
	}
	return (uint32_t)(t < 0 ? t + n : t) % n;
}

/*
 * Stride and start of a walk over [0, size) from a 64-bit key. The stride
 * is the first unit at or after a keyed start: for size < 2^16 units are at
 * most 22 apart (Jacobsthal), so the search is short and bounded. Cold path.
 */
static void
pa_walk_init(uint32_t size, uint64_t key, uint32_t *a, uint32_t *o)
{
	uint32_t s;

	if (size <= 2) { /* 0 and 1 are units mod 1; 1 is the only one mod 2 */
		*a = size == 2;
		*o = size == 2 ? (uint32_t)(key >> 63) : 0;
		return;
	}
	s = 1 + (uint32_t)(key % (size - 1));
	while (pa_gcd(s, size) != 1)
		s = s + 1 < size ? s + 1 : 1;
	*a = s;
	*o = (uint32_t)((key >> 32) % size);
}

/* The walk step: no multiply, no division. */
static inline uint32_t
pa_walk_next(uint32_t x, uint32_t a, uint32_t size)
{
	x += a;
	return x >= size ? x - size : x;
}

uint32_t
eph_portalloc_perm(uint32_t size, uint64_t key, uint32_t i, bool inverse)
{
	uint32_t a, o;

	pa_walk_init(size, key, &a, &o);
	if (!inverse)
		return (uint32_t)((o + (uint64_t)a * i) % size);
	return (uint32_t)((uint64_t)((i + size - o) % size) * pa_inv_mod(a, size) % size);
}

/* ---- records, time, FIFOs -------------------------------------------------------------- */

static inline struct pa_dest *
pa_dest(const struct eph_portalloc *pa, uint32_t pos)
{
	return (struct pa_dest *)(pa->dests + (size_t)pos * pa->stride);
}

static inline unsigned int
pa_class_of(const struct eph_portalloc *pa, uint16_t port)
{
	return pa->n_cls == 2 ? port & 1 : 0;
}

/* Release time in coarse units, rounded up: a port never rests less than asked. */
static inline uint64_t
pa_coarse_up(const struct eph_portalloc *pa, uint64_t now)
{
	return (now >> pa->tshift) + ((now & ((1ULL << pa->tshift) - 1)) != 0);
}

static inline bool
pa_rested(const struct eph_portalloc *pa, const struct pa_chunk *c, unsigned int i, uint64_t now)
{
	return c->base + c->dt[i] + pa->q_coarse <= now >> pa->tshift;
}

static inline uint32_t
pa_tail_room(const struct pa_class *k, unsigned int f)
{
	return k->tail[f] != NULL ? PA_CHUNK_PORTS - k->fill[f] : 0;
}

/*
 * Chunks that releasing all `live` ports could still take, at worst, when
 * the ready tail has room x and the quarantine tail room y: the max over
 * splits a + b = live of ceil((a - x)+ / N) + ceil((b - y)+ / N). Either all
 * go to one FIFO, or both overflow, at best for the adversary by 1 mod N
 * each: floor((live - x - y - 2) / N) + 2. Exact, so a release that takes
 * a chunk lowers it by at least one, and one that does not never raises it.
 */
static inline uint32_t
pa_need(uint32_t live, uint32_t x, uint32_t y)
{
	int32_t m = (int32_t)live - (int32_t)x - (int32_t)y;
	uint32_t a = live > x ? (live - x + PA_CHUNK_PORTS - 1) / PA_CHUNK_PORTS : 0;
	uint32_t b = live > y ? (live - y + PA_CHUNK_PORTS - 1) / PA_CHUNK_PORTS : 0;
	uint32_t c = m >= 2 ? (uint32_t)(m - 2) / PA_CHUNK_PORTS + 2 : 0;

	a = RTE_MAX(a, b);
	return RTE_MAX(a, c);
}

static inline uint32_t
pa_class_need(const struct pa_class *k)
{
	return pa_need(k->live, pa_tail_room(k, PA_READY), pa_tail_room(k, PA_QUAR));
}

/* Would a class needing need_new instead of need_old, after freeing `freed` chunks, fit? */
static inline bool
pa_fits(const struct eph_portalloc *pa, uint32_t need_old, uint32_t need_new, uint32_t freed)
{
	return pa->st.chunks_in_use - freed + pa->st.chunks_reserved - need_old + need_new <=
	       pa->st.chunks_max;
}

static inline bool
pa_push(struct eph_portalloc *pa, struct pa_class *k, unsigned int f, uint16_t port, uint64_t now)
{
	struct pa_chunk *t = k->tail[f];
	uint64_t rel = pa_coarse_up(pa, now);
	unsigned int i;

	if (t == NULL || k->fill[f] == PA_CHUNK_PORTS) {
		void *obj;
		struct pa_chunk *c;

		if (unlikely(rte_mempool_get(pa->chunk_pool, &obj) != 0))
			return false;
		c = obj;
		if (t == NULL) {
			c->next = c;
			k->head[f] = 0;
		} else {
			c->next = t->next;
			t->next = c;
		}
		c->base = rel;
		k->tail[f] = t = c;
		k->fill[f] = 0;
		pa->st.chunks_in_use++;
	}
	i = k->fill[f]++;
	t->port[i] = port;
	if (f == PA_QUAR) {
		uint64_t d = rel > t->base ? rel - t->base : 0; /* clock went back: rest longer */

		if (unlikely(d > UINT32_MAX)) {
			/*
			 * The chunk spans 2^32 coarse ticks (>= 128 quarantines):
			 * move the base up; older entries, clamped to it, have
			 * rested long before either way.
			 */
			uint64_t nb = rel - (1ULL << 31);
			unsigned int first = t->next == t ? k->head[f] : 0;

			for (unsigned int j = first; j < i; j++) {
				uint64_t at = t->base + t->dt[j];

				t->dt[j] = at > nb ? (uint32_t)(at - nb) : 0;
			}
			t->base = nb;
			d = 1ULL << 31;
		}
		t->dt[i] = (uint32_t)d;
	}
	return true;
}

/* Chunks a pop of FIFO f frees (0 or 1), and the tail room it leaves. */
static inline uint32_t
pa_pop_frees(const struct pa_class *k, unsigned int f, uint32_t *room_after)
{
	const struct pa_chunk *t = k->tail[f];
	unsigned int hd = k->head[f] + 1u;

	*room_after = pa_tail_room(k, f);
	if (t->next == t && hd == k->fill[f]) {
		*room_after = 0;
		return 1;
	}
	return hd == PA_CHUNK_PORTS;
}

static inline uint16_t
pa_pop(struct eph_portalloc *pa, struct pa_class *k, unsigned int f)
{
	struct pa_chunk *t = k->tail[f];
	struct pa_chunk *h = t->next;
	uint16_t port = h->port[k->head[f]++];

	if (h == t && k->head[f] == k->fill[f]) {
		k->tail[f] = NULL;
		k->head[f] = 0;
		k->fill[f] = 0;
	} else if (k->head[f] == PA_CHUNK_PORTS) {
		t->next = h->next;
		k->head[f] = 0;
	} else {
		return port;
	}
	rte_mempool_put(pa->chunk_pool, h);
	pa->st.chunks_in_use--;
	return port;
}

/* Every quarantined port of d has rested (the newest of each class has). */
static bool
pa_all_rested(const struct eph_portalloc *pa, const struct pa_dest *d, uint64_t now)
{
	for (unsigned int c = 0; c < pa->n_cls; c++) {
		const struct pa_class *k = &d->cls[c];

		if (k->tail[PA_QUAR] != NULL &&
		    !pa_rested(pa, k->tail[PA_QUAR], k->fill[PA_QUAR] - 1u, now))
			return false;
	}
	return true;
}

static void
pa_idle_append(struct eph_portalloc *pa, uint32_t pos)
{
	struct pa_dest *d = pa_dest(pa, pos);

	d->idle_next = PA_NONE;
	d->idle_prev = pa->idle_tail;
	if (pa->idle_tail == PA_NONE)
		pa->idle_head = pos;
	else
		pa_dest(pa, pa->idle_tail)->idle_next = pos;
	pa->idle_tail = pos;
	pa->st.idle++;
}

static void
pa_idle_unlink(struct eph_portalloc *pa, uint32_t pos)
{
	struct pa_dest *d = pa_dest(pa, pos);

	if (d->idle_prev == PA_NONE)
		pa->idle_head = d->idle_next;
	else
		pa_dest(pa, d->idle_prev)->idle_next = d->idle_next;
	if (d->idle_next == PA_NONE)
		pa->idle_tail = d->idle_prev;
	else
		pa_dest(pa, d->idle_next)->idle_prev = d->idle_prev;
	d->idle_prev = d->idle_next = PA_NONE;
	pa->st.idle--;
}

/* Forget a destination with no live port (not on the idle list). */
static __rte_noinline void
pa_dest_free(struct eph_portalloc *pa, uint32_t pos, const struct eph_dest_key *key, hash_sig_t sig)
{
	struct pa_dest *d = pa_dest(pa, pos);

	for (unsigned int c = 0; c < pa->n_cls; c++) {
		struct pa_class *k = &d->cls[c];

		for (unsigned int f = 0; f < 2; f++) {
			struct pa_chunk *t = k->tail[f];
			struct pa_chunk *h;

			if (t == NULL)
				continue;
			h = t->next;
			t->next = NULL; /* break the ring */
			while (h != NULL) {
				struct pa_chunk *n = h->next;

				rte_mempool_put(pa->chunk_pool, h);
				pa->st.chunks_in_use--;
				h = n;
			}
		}
	}
	rte_hash_del_key_with_hash(pa->hash, key, sig);
	pa->st.destinations--;
	pa->st.dest_freed++;
}

static unsigned int
pa_expire(struct eph_portalloc *pa, uint64_t now, unsigned int budget)
{
	unsigned int n = 0;

	while (n < budget && pa->idle_head != PA_NONE) {
		uint32_t pos = pa->idle_head;
		struct eph_dest_key key;
		void *kp;

		if (!pa_all_rested(pa, pa_dest(pa, pos), now))
			break;
		pa_idle_unlink(pa, pos);
		if (rte_hash_get_key_with_position(pa->hash, (int32_t)pos, &kp) != 0)
			break; /* cannot happen: every listed record is in the table */
		memcpy(&key, kp, sizeof(key));
		pa_dest_free(pa, pos, &key, rte_hash_hash(pa->hash, &key));
		n++;
	}
	return n;
}

unsigned int
eph_portalloc_expire(struct eph_portalloc *pa, uint64_t now, unsigned int budget)
{
	return pa_expire(pa, now, budget);
}

/* New destination record; its position in the table, or -ENOMEM. */
static __rte_noinline int32_t
pa_dest_create(struct eph_portalloc *pa, const struct eph_dest_key *dst, hash_sig_t sig,
	       uint64_t now)
{
	struct pa_dest *d;
	uint32_t pc, pb;
	uint64_t key;
	int32_t pos;

	/* Memory follows use: retire a couple of rested idle records per creation. */
	pa_expire(pa, now, pa->st.destinations < pa->max_dest ? 2 : 64);
	if (pa->st.destinations >= pa->max_dest)
		goto full;
	pos = rte_hash_add_key_with_hash(pa->hash, dst, sig);
	if (pos < 0)
		goto full;
	d = pa_dest(pa, (uint32_t)pos);
	memset(d, 0, pa->stride);
	d->idle_prev = d->idle_next = PA_NONE;
	pc = (uint32_t)pa->secret[1];
	pb = (uint32_t)(pa->secret[1] >> 32);
	rte_jhash_2hashes(dst, sizeof(*dst), &pc, &pb);
	/* The incarnation makes a destination that comes back walk a new order. */
	key = pa_mix64(((uint64_t)pc << 32 | pb) ^ pa->secret[0] ^ pa_mix64(++pa->incarnation));
	for (unsigned int c = 0; c < pa->n_cls; c++) {
		uint32_t a, o;

		pa_walk_init(pa->share[c].size, pa_mix64(key + c * 0x9e3779b97f4a7c15ULL), &a, &o);
		d->cls[c].a = (uint16_t)a;
		d->cls[c].x = (uint16_t)o;
	}
	pa->st.destinations++;
	pa->st.dest_created++;
	return pos;
full:
	pa->st.no_destination++;
	return -ENOMEM;
}

/* ---- taking a port --------------------------------------------------------------------- */

static inline void
pa_moved_remove(struct pa_dest *d, unsigned int j)
{
	unsigned int last = --d->n_moved;

	d->moved[j] = d->moved[last];
	d->moved_cls =
		(uint8_t)((d->moved_cls & ~(1u << j)) | (((d->moved_cls >> last) & 1u) << j));
	d->moved_cls &= (uint8_t)((1u << last) - 1);
}

/* The moved entry of class c at position pos, or -1. */
static inline int
pa_moved_at(const struct pa_dest *d, unsigned int c, uint32_t pos)
{
	for (unsigned int j = 0; j < d->n_moved; j++)
		if (d->moved[j].pos == pos && ((d->moved_cls >> j) & 1u) == c)
			return (int)j;
	return -1;
}

/* The table index at the cursor of class c; advances the cursor. */
static inline uint32_t
pa_take_fresh(const struct eph_portalloc *pa, struct pa_dest *d, unsigned int c)
{
	struct pa_class *k = &d->cls[c];
	uint32_t pos = k->cursor++;
	uint32_t idx = k->x;
	int j;

	k->x = (uint16_t)pa_walk_next(k->x, k->a, pa->share[c].size);
	if (d->n_moved != 0 && (j = pa_moved_at(d, c, pos)) >= 0) {
		idx = d->moved[j].idx;
		pa_moved_remove(d, (unsigned int)j);
	}
	return idx;
}

/*
 * Hand out table index idx of class c if it is still fresh, by swapping it
 * with the cursor's index. False when it is not fresh (live, resting or
 * already reused: not known in O(1)) or when no move can be recorded.
 */
static __rte_noinline bool
pa_take_preferred(const struct eph_portalloc *pa, struct pa_dest *d, unsigned int c, uint32_t idx)
{
	struct pa_class *k = &d->cls[c];
	uint32_t size = pa->share[c].size;
	uint32_t cur = k->cursor;
	uint32_t q = PA_NONE;
	int at_q = -1, at_cur;

	for (unsigned int j = 0; j < d->n_moved; j++)
		if (((d->moved_cls >> j) & 1u) == c && d->moved[j].idx == idx) {
			at_q = (int)j;
			q = d->moved[j].pos;
		}
	if (at_q < 0) {
		/* idx = x + a * (q - cur) mod S; positions before cur are taken. */
		uint32_t ahead = (uint32_t)((uint64_t)((idx + size - k->x) % size) *
					    pa_inv_mod(k->a, size) % size);

		if (ahead >= size - cur)
			return false;
		q = cur + ahead;
		if (pa_moved_at(d, c, q) >= 0)
			return false; /* swapped away from q by an earlier preservation */
	}
	if (q == cur) {
		if (at_q >= 0)
			pa_moved_remove(d, (unsigned int)at_q);
		pa_take_fresh(pa, d, c);
		return true;
	}
	at_cur = pa_moved_at(d, c, cur);
	if (at_q < 0 && at_cur < 0 && d->n_moved == PA_MOVED_MAX)
		return false;
	{
		uint32_t vcur = at_cur >= 0 ? d->moved[at_cur].idx : k->x;

		if (at_q >= 0) {
			d->moved[at_q].idx = (uint16_t)vcur;
			if (at_cur >= 0)
				pa_moved_remove(d, (unsigned int)at_cur);
		} else if (at_cur >= 0) {
			d->moved[at_cur] =
				(struct pa_moved){.pos = (uint16_t)q, .idx = (uint16_t)vcur};
		} else {
			unsigned int j = d->n_moved++;

			d->moved[j] = (struct pa_moved){.pos = (uint16_t)q, .idx = (uint16_t)vcur};
			d->moved_cls = (uint8_t)(d->moved_cls | (c << j));
		}
	}
	k->cursor++;
	k->x = (uint16_t)pa_walk_next(k->x, k->a, size);
	return true;
}

/* Count a preservation hit or miss for a port taken from a FIFO. */
static inline void
pa_count_preserve(struct eph_portalloc *pa, uint16_t preferred, uint16_t port)
{
	if (preferred != 0 && pa->port2idx[preferred] != PA_NO_IDX) {
		if (port == preferred)
			pa->st.preserved++;
		else
			pa->st.preserve_missed++;
	}
}

/*
 * One port of class c for d: 0, -ENOSPC (none fresh, ready or rested) or
 * -ENOMEM (each of those would need a chunk the pool does not have).
 *
 * Fresh ports first, so that released ones rest as long as possible, but
 * only while d keeps fewer released ports than live ones + PA_STOCK:
 * otherwise a destination that never goes idle keeps every port it releases
 * until its whole share has been walked (~2000 chunks). Past that, reuse
 * first. And when chunk memory is short, whichever way fits: a pop needs a
 * chunk only when the release reservation crosses a chunk boundary (once
 * per 32 live ports), and frees one when it empties its head chunk.
 */
static inline int
pa_take(struct eph_portalloc *pa, struct pa_dest *d, unsigned int c, uint16_t preferred,
	uint64_t now, uint16_t *port)
{
	struct pa_class *k = &d->cls[c];
	const struct pa_share *sh = &pa->share[c];
	uint32_t x = pa_tail_room(k, PA_READY), y = pa_tail_room(k, PA_QUAR);
	uint32_t need_old = pa_need(k->live, x, y);
	uint32_t need_new, freed, room;
	bool fresh = k->cursor < sh->size;
	bool stocked = d->resting >= (uint32_t)d->live + PA_STOCK;
	bool ready, rested;

	/* The FIFO heads are only looked at (a cache miss) when they may be used. */
	if (fresh && !stocked) {
		need_new = pa_need(k->live + 1u, x, y);
		if (likely(pa_fits(pa, need_old, need_new, 0)))
			goto take_fresh;
	}
	ready = k->tail[PA_READY] != NULL;
	rested = k->tail[PA_QUAR] != NULL &&
		 pa_rested(pa, k->tail[PA_QUAR]->next, k->head[PA_QUAR], now);
	if (ready) {
		freed = pa_pop_frees(k, PA_READY, &room);
		need_new = pa_need(k->live + 1u, room, y);
		if (pa_fits(pa, need_old, need_new, freed)) {
			*port = pa_pop(pa, k, PA_READY);
			pa->st.reused_clean++;
			goto reused;
		}
	}
	if (rested) {
		freed = pa_pop_frees(k, PA_QUAR, &room);
		need_new = pa_need(k->live + 1u, x, room);
		if (pa_fits(pa, need_old, need_new, freed)) {
			*port = pa_pop(pa, k, PA_QUAR);
			pa->st.reused_rested++;
			goto reused;
		}
	}
	if (fresh && stocked) {
		need_new = pa_need(k->live + 1u, x, y);
		if (pa_fits(pa, need_old, need_new, 0))
			goto take_fresh;
	}
	return fresh || ready || rested ? -ENOMEM : -ENOSPC;

take_fresh:
	if (preferred != 0) {
		uint16_t idx = pa->port2idx[preferred];

		if (idx != PA_NO_IDX && pa_class_of(pa, preferred) == c &&
		    pa_take_preferred(pa, d, c, idx)) {
			*port = preferred;
			pa->st.preserved++;
			if (d->n_moved > pa->st.moved_max)
				pa->st.moved_max = d->n_moved;
			goto taken;
		}
		if (idx != PA_NO_IDX)
			pa->st.preserve_missed++;
	}
	*port = sh->idx2port[pa_take_fresh(pa, d, c)];
	pa->st.fresh++;
	goto taken;
reused:
	d->resting--;
	pa_count_preserve(pa, preferred, *port);
taken:
	k->live++;
	pa->st.chunks_reserved = pa->st.chunks_reserved - need_old + need_new;
	return 0;
}

int
eph_portalloc_alloc(struct eph_portalloc *pa, const struct eph_dest_key *dst, uint16_t preferred,
		    uint64_t now, uint16_t *port)
{
	hash_sig_t sig = rte_hash_hash(pa->hash, dst);
	int32_t pos = rte_hash_lookup_with_hash(pa->hash, dst, sig);
	struct pa_dest *d;
	unsigned int c = 0;
	bool created = false;
	int rc;

	if (likely(pos >= 0) && unlikely(pa_dest(pa, (uint32_t)pos)->live == 0) &&
	    pa_all_rested(pa, pa_dest(pa, (uint32_t)pos), now)) {
		/*
		 * Idle and every port rested: all of them are free, so forget it
		 * now rather than at expiry. Its chunks go back to the pool (the
		 * new incarnation needs at most one), so it cannot be refused
		 * for memory that its own reusable ports hold.
		 */
		pa_idle_unlink(pa, (uint32_t)pos);
		pa_dest_free(pa, (uint32_t)pos, dst, sig);
		pos = -1;
	}
	if (unlikely(pos < 0)) {
		pos = pa_dest_create(pa, dst, sig, now);
		if (pos < 0)
			return pos;
		created = true;
	}
	d = pa_dest(pa, (uint32_t)pos);
	if (pa->n_cls == 2) {
		if (preferred != 0)
			c = preferred & 1;
		else /* no parity asked: the class with more fresh ports */
			c = pa->share[1].size - d->cls[1].cursor >
			    pa->share[0].size - d->cls[0].cursor;
	}
	rc = pa_take(pa, d, c, preferred, now, port);
	if (rc != 0 && pa->n_cls == 2) {
		/* Parity is a preference (RFC 4787 REQ-4 RECOMMENDED); ports are not. */
		int rc2 = pa_take(pa, d, c ^ 1, 0, now, port);

		if (rc2 == 0 && preferred != 0)
			pa->st.parity_missed++;
		rc = rc2 == -ENOSPC ? rc : rc2; /* -ENOMEM if either class had a port */
	}
	if (unlikely(rc != 0)) {
		if (rc == -ENOSPC)
			pa->st.exhausted++;
		else
			pa->st.no_chunk++;
		if (created)
			pa_dest_free(pa, (uint32_t)pos, dst, sig);
		return rc;
	}
	if (d->live++ == 0 && !created)
		pa_idle_unlink(pa, (uint32_t)pos);
	pa->last_live = d->live;
	pa->st.allocs++;
	return 0;
}

void
eph_portalloc_release(struct eph_portalloc *pa, const struct eph_dest_key *dst, uint16_t port,
		      uint64_t now, bool clean)
{
	hash_sig_t sig = rte_hash_hash(pa->hash, dst);
	int32_t pos = rte_hash_lookup_with_hash(pa->hash, dst, sig);
	uint16_t idx = pa->port2idx[port];
	struct pa_dest *d;
	struct pa_class *k;
	uint32_t need_old;

	if (unlikely(pos < 0 || idx == PA_NO_IDX))
		goto bad;
	d = pa_dest(pa, (uint32_t)pos);
	k = &d->cls[pa_class_of(pa, port)];
	if (unlikely(k->live == 0))
		goto bad;
	need_old = pa_class_need(k);
	if (unlikely(!pa_push(pa, k, clean ? PA_READY : PA_QUAR, port, now))) {
		/* Cannot happen (reserved at alloc): keep the port live, i.e. lost. */
		pa->st.lost++;
		return;
	}
	k->live--;
	d->live--;
	d->resting++;
	pa->st.chunks_reserved = pa->st.chunks_reserved - need_old + pa_class_need(k);
	pa->st.releases++;
	if (d->live == 0) {
		if (pa_all_rested(pa, d, now))
			pa_dest_free(pa, (uint32_t)pos, dst, sig);
		else
			pa_idle_append(pa, (uint32_t)pos);
	}
	return;
bad:
	pa->st.bad_release++;
}

/* ---- queries --------------------------------------------------------------------------- */

uint32_t
eph_portalloc_last_live(const struct eph_portalloc *pa)
{
	return pa->last_live;
}

unsigned int
eph_portalloc_share_size(const struct eph_portalloc *pa)
{
	return pa->share[0].size + pa->share[1].size;
}

bool
eph_portalloc_owns(const struct eph_portalloc *pa, uint16_t port)
{
	return pa->port2idx[port] != PA_NO_IDX;
}

uint32_t
eph_portalloc_live(const struct eph_portalloc *pa, const struct eph_dest_key *dst)
{
	int32_t pos = rte_hash_lookup(pa->hash, dst);

	return pos < 0 ? 0 : pa_dest(pa, (uint32_t)pos)->live;
}

const struct eph_portalloc_stats *
eph_portalloc_stats(const struct eph_portalloc *pa)
{
	return &pa->st;
}

void
eph_portalloc_foreach(const struct eph_portalloc *pa,
		      void (*fn)(const struct eph_dest_key *dst, uint32_t live, uint32_t resting,
				 void *arg),
		      void *arg)
{
	const void *key;
	void *data;
	uint32_t next = 0;
	int32_t pos;

	while ((pos = rte_hash_iterate(pa->hash, &key, &data, &next)) >= 0) {
		const struct pa_dest *d = pa_dest(pa, (uint32_t)pos);

		fn(key, d->live, d->resting, arg);
	}
}

/* Entries and chunks of FIFO f; false if the ring is inconsistent. */
static bool
pa_audit_fifo(const struct pa_class *k, unsigned int f, uint32_t *entries, uint32_t *chunks)
{
	const struct pa_chunk *t = k->tail[f];
	const struct pa_chunk *c;
	uint32_t n = 0;

	if (t == NULL)
		return k->head[f] == 0 && k->fill[f] == 0;
	if (k->fill[f] == 0 || k->fill[f] > PA_CHUNK_PORTS || k->head[f] >= PA_CHUNK_PORTS)
		return false;
	c = t->next;
	do {
		if (++n > 65536 / PA_CHUNK_PORTS + 2)
			return false;
		c = c->next;
	} while (c != t->next);
	if (n == 1 && k->head[f] >= k->fill[f])
		return false;
	*chunks += n;
	*entries += (n - 1) * PA_CHUNK_PORTS + k->fill[f] - k->head[f];
	return true;
}

int
eph_portalloc_audit(const struct eph_portalloc *pa)
{
	uint32_t chunks = 0, reserved = 0, dests = 0, idle = 0, prev = PA_NONE;
	const void *key;
	void *data;
	uint32_t next = 0;
	int32_t pos;

	while ((pos = rte_hash_iterate(pa->hash, &key, &data, &next)) >= 0) {
		const struct pa_dest *d = pa_dest(pa, (uint32_t)pos);
		uint32_t live = 0, resting = 0;

		dests++;
		for (unsigned int c = 0; c < pa->n_cls; c++) {
			const struct pa_class *k = &d->cls[c];
			uint32_t size = pa->share[c].size;
			uint32_t ent = 0, ch = 0, need = pa_class_need(k), held;

			if (!pa_audit_fifo(k, PA_READY, &ent, &ch) ||
			    !pa_audit_fifo(k, PA_QUAR, &ent, &ch))
				return -EIO;
			if (k->cursor > size || (size > 0 && (k->x >= size || k->a >= size)) ||
			    (size > 1 && pa_gcd(k->a, size) != 1))
				return -EIO;
			/* The footprint bound of portalloc.h. */
			held = k->live + ent;
			if (ch + need >
			    RTE_MIN(held, (held + PA_CHUNK_PORTS - 1) / PA_CHUNK_PORTS + PA_SLACK))
				return -EIO;
			live += k->live;
			resting += ent;
			chunks += ch;
			reserved += need;
		}
		if (live != d->live || resting != d->resting || live + resting > 65535 ||
		    d->n_moved > PA_MOVED_MAX || (d->moved_cls >> d->n_moved) != 0)
			return -EIO;
		for (unsigned int j = 0; j < d->n_moved; j++) {
			unsigned int c = (d->moved_cls >> j) & 1u;

			if (c >= pa->n_cls || d->moved[j].pos < d->cls[c].cursor ||
			    d->moved[j].pos >= pa->share[c].size)
				return -EIO;
		}
	}
	for (uint32_t i = pa->idle_head; i != PA_NONE; i = pa_dest(pa, i)->idle_next) {
		if (pa_dest(pa, i)->idle_prev != prev || pa_dest(pa, i)->live != 0 ||
		    ++idle > dests)
			return -EIO;
		prev = i;
	}
	if (prev != pa->idle_tail || idle != pa->st.idle || dests != pa->st.destinations ||
	    chunks != pa->st.chunks_in_use || reserved != pa->st.chunks_reserved ||
	    chunks + reserved > pa->st.chunks_max ||
	    rte_mempool_in_use_count(pa->chunk_pool) != chunks)
		return -EIO;
	return 0;
}

size_t
eph_portalloc_bytes_per_destination(const struct eph_portalloc *pa)
{
	/*
	 * rte_hash with extendable buckets (DPDK 22.11 layout): 64-byte
	 * buckets of 8 in the main and the extension table, a 32-byte key
	 * slot (8 + 12 aligned to 16) and 4-byte free-slot ring entries.
	 */
	size_t n = pa->hash_entries;
	size_t buckets = rte_align32pow2((uint32_t)n) / 8;
	size_t hash = 2 * buckets * 64 + (n + 1) * 32 + rte_align32pow2((uint32_t)n + 1) * 4 +
		      rte_align32pow2((uint32_t)buckets + 1) * 4;

	return pa->stride + hash / pa->max_dest;
}

size_t
eph_portalloc_bytes_per_chunk(void)
{
	return rte_mempool_calc_obj_size(sizeof(struct pa_chunk), PA_POOL_FLAGS, NULL);
}

/* ---- create / free --------------------------------------------------------------------- */

/* Chunk pool size: see eph_portalloc_chunks_for. */
static unsigned int
pa_chunks(uint32_t max_dest, uint32_t live, uint32_t share)
{
	uint64_t bulk = 2ULL * ((live + PA_CHUNK_PORTS - 1ULL) / PA_CHUNK_PORTS);
	uint64_t n = max_dest + RTE_MAX((uint64_t)max_dest, bulk) +
		     4ULL * ((share + PA_CHUNK_PORTS - 1ULL) / PA_CHUNK_PORTS + 2);

	return (unsigned int)RTE_MIN(n, (uint64_t)UINT32_MAX);
}

unsigned int
eph_portalloc_chunks_for(const struct eph_portalloc_conf *conf, uint32_t live_ports)
{
	uint32_t share;

	if (conf == NULL || conf->n_workers == 0 || conf->worker >= conf->n_workers ||
	    conf->port_lo == 0 || conf->port_lo > conf->port_hi)
		return 0;
	/* Ports p % n == w of [lo, hi], exclusions ignored (an upper bound). */
	share = (conf->port_hi - conf->worker + conf->n_workers) / conf->n_workers -
		(conf->port_lo - 1u - conf->worker + conf->n_workers) / conf->n_workers;
	return pa_chunks(conf->max_destinations, live_ports, share);
}

void
eph_portalloc_free(struct eph_portalloc *pa)
{
	if (pa == NULL)
		return;
	rte_hash_free(pa->hash);
	rte_mempool_free(pa->chunk_pool);
	rte_free(pa->dests);
	rte_free(pa->port2idx);
	rte_free(pa->share[0].idx2port);
	rte_free(pa->share[1].idx2port);
	rte_free(pa);
}

struct eph_portalloc *
eph_portalloc_create(const struct eph_portalloc_conf *conf)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {0};
	struct eph_portalloc *pa = NULL;
	uint8_t *excluded = NULL;
	uint32_t count[2] = {0, 0};
	unsigned int max_chunks;
	int err = EINVAL;

	if (conf == NULL || conf->name == NULL || conf->n_workers == 0 ||
	    conf->worker >= conf->n_workers || conf->port_lo == 0 ||
	    conf->port_lo > conf->port_hi || conf->max_destinations == 0 ||
	    conf->max_destinations > (1u << 24) || (conf->n_excluded && conf->excluded == NULL))
		goto fail;
	if (strlen(conf->name) > PA_NAME_MAX) {
		err = ENAMETOOLONG;
		goto fail;
	}
	err = ENOMEM;
	pa = rte_zmalloc_socket("eph_portalloc", sizeof(*pa), RTE_CACHE_LINE_SIZE, conf->socket_id);
	excluded = calloc(UINT16_MAX + 1, 1);
	if (pa == NULL || excluded == NULL)
		goto fail;
	pa->n_cls = conf->port_parity ? 2 : 1;
	pa->max_dest = conf->max_destinations;
	pa->secret[0] = conf->secret[0];
	pa->secret[1] = conf->secret[1];
	pa->idle_head = pa->idle_tail = PA_NONE;

	/* The share: p % n == w within the range, minus the excluded ports. */
	for (unsigned int i = 0; i < conf->n_excluded; i++)
		excluded[conf->excluded[i]] = 1;
	pa->port2idx = rte_malloc_socket("eph_pa_p2i", (UINT16_MAX + 1) * sizeof(uint16_t), 0,
					 conf->socket_id);
	if (pa->port2idx == NULL)
		goto fail;
	memset(pa->port2idx, 0xff, (UINT16_MAX + 1) * sizeof(uint16_t));
	for (uint32_t p = conf->port_lo; p <= conf->port_hi; p++)
		if (p % conf->n_workers == conf->worker && !excluded[p])
			count[pa_class_of(pa, (uint16_t)p)]++;
	for (unsigned int c = 0; c < 2; c++) {
		pa->share[c].size = count[c];
		pa->share[c].idx2port = rte_malloc_socket(
			"eph_pa_i2p", (count[c] + 1) * sizeof(uint16_t), 0, conf->socket_id);
		if (pa->share[c].idx2port == NULL)
			goto fail;
		count[c] = 0;
	}
	for (uint32_t p = conf->port_lo; p <= conf->port_hi; p++) {
		if (p % conf->n_workers == conf->worker && !excluded[p]) {
			unsigned int c = pa_class_of(pa, (uint16_t)p);

			pa->share[c].idx2port[count[c]++] = (uint16_t)p;
		}
	}
	/* Keyed Fisher-Yates shuffle: the table every destination walks. */
	for (unsigned int c = 0; c < 2; c++) {
		uint16_t *t = pa->share[c].idx2port;
		uint64_t st = conf->secret[0] ^ pa_mix64(conf->secret[1] + c);

		for (uint32_t i = count[c]; i > 1; i--) {
			uint32_t j, tmp;

			st += 0x9e3779b97f4a7c15ULL;
			j = (uint32_t)(((pa_mix64(st) >> 32) * i) >> 32); /* in [0, i) */
			tmp = t[i - 1];
			t[i - 1] = t[j];
			t[j] = (uint16_t)tmp;
		}
		for (uint32_t i = 0; i < count[c]; i++)
			pa->port2idx[t[i]] = (uint16_t)i;
	}

	/* Coarse time: release times fit 32 bits relative to a chunk base (pa_push). */
	while ((conf->quarantine >> pa->tshift) > (1ULL << 24))
		pa->tshift++;
	pa->q_coarse = (conf->quarantine >> pa->tshift) +
		       ((conf->quarantine & ((1ULL << pa->tshift) - 1)) != 0);

	pa->stride = RTE_ALIGN(sizeof(struct pa_dest) + pa->n_cls * sizeof(struct pa_class), 8);
	pa->hash_entries = RTE_MAX(conf->max_destinations, 8u); /* rte_hash minimum */
	pa->dests = rte_zmalloc_socket("eph_pa_dests", (size_t)pa->hash_entries * pa->stride,
				       RTE_CACHE_LINE_SIZE, conf->socket_id);
	if (pa->dests == NULL)
		goto fail;

	snprintf(name, sizeof(name), "pah_%s", conf->name);
	hp.name = name;
	hp.entries = pa->hash_entries;
	hp.key_len = sizeof(struct eph_dest_key);
	hp.hash_func = rte_jhash;
	hp.hash_func_init_val = (uint32_t)pa_mix64(conf->secret[0] ^ 0x68617368ULL);
	hp.socket_id = conf->socket_id;
	/* Extendable buckets: every one of `entries` keys fits, so "full" is exact too. */
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	pa->hash = rte_hash_create(&hp);
	if (pa->hash == NULL) {
		err = rte_errno ? rte_errno : ENOMEM;
		goto fail;
	}

	max_chunks = conf->max_chunks
			     ? conf->max_chunks
			     : pa_chunks(conf->max_destinations, 0, eph_portalloc_share_size(pa));
	snprintf(name, sizeof(name), "pac_%s", conf->name);
	pa->chunk_pool = rte_mempool_create(name, max_chunks, sizeof(struct pa_chunk), 0, 0, NULL,
					    NULL, NULL, NULL, conf->socket_id, PA_POOL_FLAGS);
	if (pa->chunk_pool == NULL) {
		err = rte_errno ? rte_errno : ENOMEM;
		goto fail;
	}
	pa->st.chunks_max = max_chunks;
	free(excluded);
	return pa;
fail:
	free(excluded);
	eph_portalloc_free(pa);
	rte_errno = err;
	return NULL;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-worker fragment table of the NAT's virtual reassembly (see
 * nat_frag.h): datagrams in a fixed array with a free list, found by key
 * in an rte_hash twice their number (so it never fills before the array);
 * a bitmap of the units seen per datagram; held fragments in a fixed
 * array with a free list; datagrams on a list by age (every datagram lives
 * the same time from its creation, so the oldest is the first due). What
 * to do with a fragment is nat.c's.
 */
#include <errno.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dataplane/nat/nat_frag.h"

static void
age_unlink(struct eph_frag_table *t, uint32_t idx)
{
	struct eph_frag_dgram *d = &t->d[idx];

	if (d->prev != EPH_FRAG_NIL)
		t->d[d->prev].next = d->next;
	else
		t->oldest = d->next;
	if (d->next != EPH_FRAG_NIL)
		t->d[d->next].prev = d->prev;
	else
		t->newest = d->prev;
}

struct eph_frag_table *
eph_frag_table_create(const char *name, const struct eph_frag_params *p, int socket)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = RTE_MAX(2 * p->max_datagrams, 16u),
		.key_len = sizeof(struct eph_frag_key),
		.hash_func = rte_jhash,
		.socket_id = socket,
	};
	struct eph_frag_table *t;

	t = rte_zmalloc_socket("eph_frag", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL)
		return NULL;
	t->p = *p;
	t->index = rte_hash_create(&hp);
	t->d = rte_zmalloc_socket("eph_frag_d", (size_t)p->max_datagrams * sizeof(*t->d),
				  RTE_CACHE_LINE_SIZE, socket);
	t->cover = rte_zmalloc_socket("eph_frag_cover",
				      (size_t)p->max_datagrams * EPH_FRAG_WORDS * sizeof(uint64_t),
				      RTE_CACHE_LINE_SIZE, socket);
	t->held = rte_zmalloc_socket("eph_frag_held",
				     (size_t)RTE_MAX(p->max_held, 1u) * sizeof(*t->held),
				     RTE_CACHE_LINE_SIZE, socket);
	if (t->index == NULL || t->d == NULL || t->cover == NULL || t->held == NULL) {
		eph_frag_table_free(t);
		return NULL;
	}
	for (uint32_t i = 0; i < p->max_datagrams; i++)
		t->d[i].next = i + 1 < p->max_datagrams ? i + 1 : EPH_FRAG_NIL;
	t->free = p->max_datagrams != 0 ? 0 : EPH_FRAG_NIL;
	for (uint32_t i = 0; i < p->max_held; i++)
		t->held[i].next = i + 1 < p->max_held ? i + 1 : EPH_FRAG_NIL;
	t->held_free = p->max_held != 0 ? 0 : EPH_FRAG_NIL;
	t->oldest = EPH_FRAG_NIL;
	t->newest = EPH_FRAG_NIL;
	return t;
}

void
eph_frag_table_free(struct eph_frag_table *t)
{
	if (t == NULL)
		return;
	if (t->d != NULL && t->held != NULL) {
		for (uint32_t idx = t->oldest; idx != EPH_FRAG_NIL; idx = t->d[idx].next)
			for (uint32_t h = t->d[idx].held_head; h != EPH_FRAG_NIL;
			     h = t->held[h].next)
				rte_pktmbuf_free(t->held[h].m);
	}
	rte_hash_free(t->index);
	rte_free(t->d);
	rte_free(t->cover);
	rte_free(t->held);
	rte_free(t);
}

uint32_t
eph_frag_find(struct eph_frag_table *t, const struct eph_frag_key *key, bool create,
	      uint64_t now_tsc)
{
	struct eph_frag_dgram *d;
	uint32_t pos;
	void *data;

	if (rte_hash_lookup_data(t->index, key, &data) >= 0)
		return (uint32_t)(uintptr_t)data;
	if (!create || t->free == EPH_FRAG_NIL)
		return EPH_FRAG_NIL;
	pos = t->free;
	if (rte_hash_add_key_data(t->index, key, (void *)(uintptr_t)pos) < 0)
		return EPH_FRAG_NIL;
	t->free = t->d[pos].next;
	d = &t->d[pos];
	memset(d, 0, sizeof(*d));
	d->key = *key;
	d->state = EPH_FRAG_PENDING;
	d->held_head = EPH_FRAG_NIL;
	d->held_tail = EPH_FRAG_NIL;
	d->expire_tsc = now_tsc + t->p.timeout_tsc;
	memset(&t->cover[(uint64_t)pos * EPH_FRAG_WORDS], 0, EPH_FRAG_WORDS * sizeof(uint64_t));
	d->prev = t->newest;
	d->next = EPH_FRAG_NIL;
	if (t->newest != EPH_FRAG_NIL)
		t->d[t->newest].next = pos;
	else
		t->oldest = pos;
	t->newest = pos;
	t->n_dgrams++;
	return pos;
}

/* Mask of bits [lo, hi) of one 64-bit word (0 <= lo < hi <= 64). */
static inline uint64_t
bits(unsigned int lo, unsigned int hi)
{
	uint64_t m = hi == 64 ? UINT64_MAX : (UINT64_C(1) << hi) - 1;

	return m & ~((UINT64_C(1) << lo) - 1);
}

enum eph_drop_reason
eph_frag_cover(struct eph_frag_table *t, uint32_t idx, const struct rte_ipv4_hdr *ip)
{
	struct eph_frag_dgram *d = &t->d[idx];
	uint64_t *w = &t->cover[(uint64_t)idx * EPH_FRAG_WORDS];
	uint32_t off = eph_frag_offset(ip);
	uint32_t len = (uint32_t)(rte_be_to_cpu_16(ip->total_length) - sizeof(*ip));
	uint32_t lo = off / 8,
		 hi = (off + len + 7) / 8; /* units [lo, hi); callers checked hi <= 8192 */
	uint32_t units = hi - lo, set = 0;
	bool last = (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG)) == 0;

	if (units == 0) /* an empty last fragment: says where the datagram ends */
		return last && d->total == 0 && off >= d->end ? (d->total = off, EPH_DROP_MAX)
							      : EPH_DROP_frag_duplicate;
	/* Two different ends, or an end before bytes already seen. */
	if (last && ((d->total != 0 && off + len != d->total) || off + len < d->end))
		return EPH_DROP_frag_overlap;
	for (uint32_t u = lo; u < hi;) {
		unsigned int b = u % 64, e = RTE_MIN(64u, b + (hi - u));

		set += (uint32_t)__builtin_popcountll(w[u / 64] & bits(b, e));
		u += e - b;
	}
	if (set != 0)
		return set == units ? EPH_DROP_frag_duplicate : EPH_DROP_frag_overlap;
	/* Nothing may lie past the end once it is known. */
	if (d->total != 0 && off + len > d->total)
		return EPH_DROP_frag_overlap;
	for (uint32_t u = lo; u < hi;) {
		unsigned int b = u % 64, e = RTE_MIN(64u, b + (hi - u));

		w[u / 64] |= bits(b, e);
		u += e - b;
	}
	d->seen += len;
	d->end = RTE_MAX(d->end, off + len);
	if (last)
		d->total = off + len;
	return EPH_DROP_MAX;
}

bool
eph_frag_hold(struct eph_frag_table *t, uint32_t idx, struct rte_mbuf *m, uint16_t in_port,
	      uint16_t pool, uint32_t nh)
{
	struct eph_frag_dgram *d = &t->d[idx];
	uint32_t h = t->held_free;

	if (h == EPH_FRAG_NIL || t->held_bytes + rte_pktmbuf_pkt_len(m) > t->p.max_held_bytes)
		return false;
	t->held_free = t->held[h].next;
	t->held[h] = (struct eph_frag_held){
		.m = m,
		.next = EPH_FRAG_NIL,
		.nh = nh,
		.in_port = in_port,
		.pool = pool,
	};
	if (d->held_tail != EPH_FRAG_NIL)
		t->held[d->held_tail].next = h;
	else
		d->held_head = h;
	d->held_tail = h;
	d->n_held++;
	t->n_held++;
	t->held_bytes += rte_pktmbuf_pkt_len(m);
	return true;
}

struct rte_mbuf *
eph_frag_unhold(struct eph_frag_table *t, uint32_t idx, uint16_t *in_port, uint16_t *pool,
		uint32_t *nh)
{
	struct eph_frag_dgram *d = &t->d[idx];
	uint32_t h = d->held_head;
	struct rte_mbuf *m;

	if (h == EPH_FRAG_NIL)
		return NULL;
	m = t->held[h].m;
	*in_port = t->held[h].in_port;
	*pool = t->held[h].pool;
	*nh = t->held[h].nh;
	d->held_head = t->held[h].next;
	if (d->held_head == EPH_FRAG_NIL)
		d->held_tail = EPH_FRAG_NIL;
	t->held[h].m = NULL;
	t->held[h].next = t->held_free;
	t->held_free = h;
	d->n_held--;
	t->n_held--;
	t->held_bytes -= rte_pktmbuf_pkt_len(m);
	return m;
}

static void
forget(struct eph_frag_table *t, uint32_t idx)
{
	age_unlink(t, idx);
	rte_hash_del_key(t->index, &t->d[idx].key);
	t->d[idx].next = t->free;
	t->free = idx;
	t->n_dgrams--;
}

void
eph_frag_done(struct eph_frag_table *t, uint32_t idx)
{
	const struct eph_frag_dgram *d = &t->d[idx];

	if (d->state != EPH_FRAG_PENDING && d->n_held == 0 && d->total != 0 && d->seen == d->total)
		forget(t, idx);
}

unsigned int
eph_frag_expire(struct eph_frag_table *t, uint64_t now_tsc, unsigned int budget)
{
	unsigned int freed = 0;

	while (budget-- > 0 && t->oldest != EPH_FRAG_NIL &&
	       (int64_t)(now_tsc - t->d[t->oldest].expire_tsc) >= 0) {
		uint32_t idx = t->oldest;
		uint16_t in_port, pool;
		uint32_t nh;
		struct rte_mbuf *m;

		while ((m = eph_frag_unhold(t, idx, &in_port, &pool, &nh)) != NULL) {
			rte_pktmbuf_free(m);
			freed++;
		}
		forget(t, idx);
	}
	return freed;
}

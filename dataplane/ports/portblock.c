/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The port-block allocator (see portblock.h for the contract).
 *
 * Records live in three arrays reserved at create:
 *  - hosts, at their rte_hash position: the inside address and its blocks
 *    in use, oldest first, with a hint (the entry that gave the last port,
 *    tried first);
 *  - addresses, at their rte_hash position: per local block (the index of
 *    block k among this worker's blocks: k = local * n_workers + worker)
 *    the slot holding it or PB_NONE, then the ring of free locals (FIFO);
 *  - slots: the blocks in use, a header and the port bitmap each, taken
 *    from a stack. There are as many as can be in use at once,
 *    min(max_hosts * max_blocks_per_host, max_addrs * blocks per address),
 *    so taking a block never fails for want of a slot.
 * Addresses without a block in use are "idle" and sit on a list, oldest
 * first: a new address that finds the table full replaces the oldest idle
 * one (whose FIFO order is forgotten: it has been idle longest).
 *
 * Taking a port from a held block costs one hash lookup (the host) and a
 * scan of the host's few blocks; a new block, one more lookup (the
 * address), a FIFO pop and a bitmap clear. A release costs one lookup (the
 * address: the block's slot names its host).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "dataplane/ports/portblock.h"

#define PB_NONE     UINT32_MAX
#define PB_NAME_MAX 16

/* A block in use: 16 bytes and its bitmap. */
struct pb_block {
	uint32_t host;     /* host record position */
	uint32_t out_addr; /* as given */
	uint16_t local;    /* index among this worker's blocks on out_addr */
	uint16_t used;     /* ports in use */
	uint16_t cursor;   /* next-fit: the next search starts at this bit */
	uint16_t pad;
	uint64_t bits[]; /* 1: in use; the bits past block_size in the last word are set */
};

struct pb_host {
	uint32_t addr;     /* as given (the hash key) */
	uint16_t n_blocks; /* >= 1 while in the table */
	uint16_t hint;     /* block[] entry tried first */
	uint32_t block[];  /* slots, oldest first */
};

struct pb_addr {
	uint32_t addr;                 /* as given (the hash key) */
	uint32_t idle_prev, idle_next; /* idle list, while n_free == blocks per address */
	uint16_t head;                 /* free FIFO: fifo[head] is taken next */
	uint16_t n_free;
	uint32_t slot[]; /* per local block: its slot, PB_NONE when free; then uint16_t fifo[] */
};

struct eph_portblock {
	/* Read-only after create; hot members first. */
	struct rte_hash *host_hash;
	uint8_t *hosts;
	uint8_t *slots;
	uint32_t host_stride;
	uint32_t slot_stride;
	uint16_t port_lo;
	uint16_t block_size;
	uint16_t n_words; /* bitmap words per block */
	uint16_t max_blocks_per_host;
	uint32_t blocks_per_addr; /* B: this worker's whole blocks on one address */
	uint32_t worker;
	uint32_t n_workers;
	uint64_t pad_mask; /* last bitmap word of an empty block */
	struct rte_hash *addr_hash;
	uint8_t *addrs;
	uint32_t addr_stride;
	uint32_t *free_slot; /* stack of free slots */
	uint32_t n_slots;
	uint32_t max_hosts;
	uint32_t max_addrs;
	uint32_t host_entries; /* hash sizes (rte_hash wants at least 8) */
	uint32_t addr_entries;

	/* Written by the owning lcore only. */
	uint32_t n_free_slots;
	uint32_t idle_head, idle_tail;
	struct eph_portblock_stats st;
} __rte_cache_aligned;

/* ---- records ------------------------------------------------------------------------------ */

static inline struct pb_host *
pb_host(const struct eph_portblock *pb, uint32_t pos)
{
	return (struct pb_host *)(pb->hosts + (size_t)pos * pb->host_stride);
}

static inline struct pb_addr *
pb_addr(const struct eph_portblock *pb, uint32_t pos)
{
	return (struct pb_addr *)(pb->addrs + (size_t)pos * pb->addr_stride);
}

static inline struct pb_block *
pb_block(const struct eph_portblock *pb, uint32_t slot)
{
	return (struct pb_block *)(pb->slots + (size_t)slot * pb->slot_stride);
}

static inline uint16_t *
pb_fifo(const struct eph_portblock *pb, struct pb_addr *a)
{
	return (uint16_t *)&a->slot[pb->blocks_per_addr];
}

/* First port (host order) of this worker's local block. */
static inline uint16_t
pb_first_port(const struct eph_portblock *pb, uint32_t local)
{
	return (uint16_t)(pb->port_lo +
			  (local * pb->n_workers + pb->worker) * (uint32_t)pb->block_size);
}

static void
pb_idle_append(struct eph_portblock *pb, uint32_t pos)
{
	struct pb_addr *a = pb_addr(pb, pos);

	a->idle_next = PB_NONE;
	a->idle_prev = pb->idle_tail;
	if (pb->idle_tail == PB_NONE)
		pb->idle_head = pos;
	else
		pb_addr(pb, pb->idle_tail)->idle_next = pos;
	pb->idle_tail = pos;
}

static void
pb_idle_unlink(struct eph_portblock *pb, uint32_t pos)
{
	struct pb_addr *a = pb_addr(pb, pos);

	if (a->idle_prev == PB_NONE)
		pb->idle_head = a->idle_next;
	else
		pb_addr(pb, a->idle_prev)->idle_next = a->idle_next;
	if (a->idle_next == PB_NONE)
		pb->idle_tail = a->idle_prev;
	else
		pb_addr(pb, a->idle_next)->idle_prev = a->idle_prev;
	a->idle_prev = a->idle_next = PB_NONE;
}

/* A new address record with every block free, in ascending order; or -ENOMEM. */
static __rte_noinline int32_t
pb_addr_create(struct eph_portblock *pb, uint32_t out_addr)
{
	struct pb_addr *a;
	uint16_t *fifo;
	int32_t pos;

	if (pb->st.addrs >= pb->max_addrs) {
		uint32_t old = pb->idle_head;

		if (old == PB_NONE)
			return -ENOMEM;
		pb_idle_unlink(pb, old);
		rte_hash_del_key(pb->addr_hash, &pb_addr(pb, old)->addr);
		pb->st.addrs--;
		pb->st.addrs_evicted++;
	}
	pos = rte_hash_add_key(pb->addr_hash, &out_addr);
	if (pos < 0)
		return -ENOMEM;
	a = pb_addr(pb, (uint32_t)pos);
	a->addr = out_addr;
	a->head = 0;
	a->n_free = (uint16_t)pb->blocks_per_addr;
	fifo = pb_fifo(pb, a);
	for (uint32_t i = 0; i < pb->blocks_per_addr; i++) {
		a->slot[i] = PB_NONE;
		fifo[i] = (uint16_t)i;
	}
	pb_idle_append(pb, (uint32_t)pos);
	pb->st.addrs++;
	return pos;
}

/* ---- ports -------------------------------------------------------------------------------- */

/* A free port of b (which has one), next-fit from the cursor. */
static inline uint16_t
pb_take(struct eph_portblock *pb, struct pb_block *b)
{
	uint32_t w = b->cursor >> 6;
	uint64_t avail = ~b->bits[w] & (~0ULL << (b->cursor & 63));
	uint32_t bit;

	/* used < block_size, so some word has a free bit; the last step wraps back to word w. */
	while (avail == 0) {
		w = w + 1 == pb->n_words ? 0 : w + 1;
		avail = ~b->bits[w];
	}
	bit = w * 64 + (uint32_t)__builtin_ctzll(avail);
	b->bits[w] |= 1ULL << (bit & 63);
	b->used++;
	b->cursor = (uint16_t)(bit + 1 == pb->block_size ? 0 : bit + 1);
	pb->st.allocs++;
	pb->st.ports_in_use++;
	return (uint16_t)(pb_first_port(pb, b->local) + bit);
}

/* A new block on out_addr for the host at hpos (< 0: a new host): 1, -ENOSPC or -ENOMEM. */
static __rte_noinline int
pb_alloc_block(struct eph_portblock *pb, int32_t hpos, uint32_t host_addr, uint32_t out_addr,
	       uint16_t *port, struct eph_portblock_event *ev)
{
	struct pb_block *b;
	struct pb_host *h;
	struct pb_addr *a;
	int32_t apos;
	uint32_t slot;
	uint16_t local;

	apos = rte_hash_lookup(pb->addr_hash, &out_addr);
	if (apos < 0)
		apos = pb_addr_create(pb, out_addr);
	if (apos < 0)
		goto nomem;
	a = pb_addr(pb, (uint32_t)apos);
	if (a->n_free == 0) {
		pb->st.refused_addr_full++;
		return -ENOSPC;
	}
	if (unlikely(pb->n_free_slots == 0))
		goto nomem; /* cannot happen: there are as many slots as blocks can be in use */
	if (hpos < 0) {
		hpos = rte_hash_add_key(pb->host_hash, &host_addr);
		if (hpos < 0)
			goto nomem;
		h = pb_host(pb, (uint32_t)hpos);
		h->addr = host_addr;
		h->n_blocks = 0;
		h->hint = 0;
		pb->st.hosts++;
	} else {
		h = pb_host(pb, (uint32_t)hpos);
	}

	if (a->n_free == pb->blocks_per_addr)
		pb_idle_unlink(pb, (uint32_t)apos);
	local = pb_fifo(pb, a)[a->head];
	a->head = (uint16_t)(a->head + 1u == pb->blocks_per_addr ? 0 : a->head + 1u);
	a->n_free--;
	slot = pb->free_slot[--pb->n_free_slots];
	a->slot[local] = slot;
	h->block[h->n_blocks] = slot;
	h->hint = h->n_blocks++;

	b = pb_block(pb, slot);
	b->host = (uint32_t)hpos;
	b->out_addr = out_addr;
	b->local = local;
	b->used = 0;
	b->cursor = 0;
	memset(b->bits, 0, (size_t)pb->n_words * sizeof(uint64_t));
	b->bits[pb->n_words - 1] = pb->pad_mask;
	*port = pb_take(pb, b);

	pb->st.blocks_allocated++;
	pb->st.blocks_in_use++;
	ev->type = EPH_PORTBLOCK_ALLOC;
	ev->host_addr = host_addr;
	ev->out_addr = out_addr;
	ev->first_port = pb_first_port(pb, local);
	ev->last_port = (uint16_t)(ev->first_port + pb->block_size - 1u);
	return 1;
nomem:
	pb->st.refused_nomem++;
	return -ENOMEM;
}

int
eph_portblock_alloc(struct eph_portblock *pb, uint32_t host_addr, uint32_t out_addr, uint16_t *port,
		    struct eph_portblock_event *ev)
{
	int32_t hpos = rte_hash_lookup(pb->host_hash, &host_addr);

	if (likely(hpos >= 0)) {
		struct pb_host *h = pb_host(pb, (uint32_t)hpos);
		uint32_t n = h->n_blocks, j = h->hint;

		for (uint32_t i = 0; i < n; i++) {
			struct pb_block *b = pb_block(pb, h->block[j]);

			if (b->out_addr == out_addr && b->used < pb->block_size) {
				h->hint = (uint16_t)j;
				*port = pb_take(pb, b);
				return 0;
			}
			j = j + 1 == n ? 0 : j + 1;
		}
		if (n >= pb->max_blocks_per_host) {
			pb->st.refused_host_limit++;
			return -EDQUOT;
		}
	} else if (pb->st.hosts >= pb->max_hosts) {
		pb->st.refused_nomem++;
		return -ENOMEM;
	}
	return pb_alloc_block(pb, hpos, host_addr, out_addr, port, ev);
}

/* The block emptied: back to the tail of its address's FIFO, off the host's list. */
static void
pb_block_release(struct eph_portblock *pb, struct pb_addr *a, uint32_t apos, struct pb_host *h,
		 uint32_t slot)
{
	struct pb_block *b = pb_block(pb, slot);
	uint32_t tail = a->head + (uint32_t)a->n_free;
	uint32_t j = 0;

	if (tail >= pb->blocks_per_addr)
		tail -= pb->blocks_per_addr;
	pb_fifo(pb, a)[tail] = b->local;
	a->slot[b->local] = PB_NONE;
	if (++a->n_free == pb->blocks_per_addr)
		pb_idle_append(pb, apos);

	while (h->block[j] != slot)
		j++;
	memmove(&h->block[j], &h->block[j + 1], (h->n_blocks - j - 1u) * sizeof(h->block[0]));
	h->n_blocks--;
	if (h->hint > j)
		h->hint--;
	if (h->hint >= h->n_blocks)
		h->hint = 0;
	if (h->n_blocks == 0) {
		rte_hash_del_key(pb->host_hash, &h->addr);
		pb->st.hosts--;
	}
	pb->free_slot[pb->n_free_slots++] = slot;
	pb->st.blocks_in_use--;
	pb->st.blocks_released++;
}

int
eph_portblock_release(struct eph_portblock *pb, uint32_t host_addr, uint32_t out_addr,
		      uint16_t port, struct eph_portblock_event *ev)
{
	uint32_t off, k, local, bit, slot;
	struct pb_block *b;
	struct pb_host *h;
	struct pb_addr *a;
	int32_t apos;
	uint64_t mask;

	if (unlikely(port < pb->port_lo))
		goto bad;
	off = (uint32_t)(port - pb->port_lo);
	k = off / pb->block_size;
	bit = off - k * pb->block_size;
	if (unlikely(k % pb->n_workers != pb->worker))
		goto bad;
	local = k / pb->n_workers;
	if (unlikely(local >= pb->blocks_per_addr))
		goto bad;
	apos = rte_hash_lookup(pb->addr_hash, &out_addr);
	if (unlikely(apos < 0))
		goto bad;
	a = pb_addr(pb, (uint32_t)apos);
	slot = a->slot[local];
	if (unlikely(slot == PB_NONE))
		goto bad;
	b = pb_block(pb, slot);
	h = pb_host(pb, b->host);
	mask = 1ULL << (bit & 63);
	if (unlikely(h->addr != host_addr || (b->bits[bit >> 6] & mask) == 0))
		goto bad;

	b->bits[bit >> 6] &= ~mask;
	b->used--;
	pb->st.releases++;
	pb->st.ports_in_use--;
	if (b->used > 0)
		return 0;
	ev->type = EPH_PORTBLOCK_RELEASE;
	ev->host_addr = host_addr;
	ev->out_addr = out_addr;
	ev->first_port = pb_first_port(pb, local);
	ev->last_port = (uint16_t)(ev->first_port + pb->block_size - 1u);
	pb_block_release(pb, a, (uint32_t)apos, h, slot);
	return 1;
bad:
	pb->st.bad_release++;
	return -ENOENT;
}

/* ---- queries ------------------------------------------------------------------------------ */

static const struct pb_host *
pb_host_find(const struct eph_portblock *pb, uint32_t host_addr)
{
	int32_t pos = rte_hash_lookup(pb->host_hash, &host_addr);

	return pos < 0 ? NULL : pb_host(pb, (uint32_t)pos);
}

bool
eph_portblock_host_has_block(const struct eph_portblock *pb, uint32_t host_addr, uint32_t out_addr)
{
	const struct pb_host *h = pb_host_find(pb, host_addr);

	if (h == NULL)
		return false;
	for (uint32_t i = 0; i < h->n_blocks; i++)
		if (pb_block(pb, h->block[i])->out_addr == out_addr)
			return true;
	return false;
}

int
eph_portblock_host_addr(const struct eph_portblock *pb, uint32_t host_addr, uint32_t *out_addr)
{
	const struct pb_host *h = pb_host_find(pb, host_addr);

	if (h == NULL)
		return -ENOENT;
	*out_addr = pb_block(pb, h->block[0])->out_addr;
	return 0;
}

unsigned int
eph_portblock_host_blocks(const struct eph_portblock *pb, uint32_t host_addr)
{
	const struct pb_host *h = pb_host_find(pb, host_addr);

	return h == NULL ? 0 : h->n_blocks;
}

const struct eph_portblock_stats *
eph_portblock_stats(const struct eph_portblock *pb)
{
	return &pb->st;
}

unsigned int
eph_portblock_blocks_per_addr(const struct eph_portblock *pb)
{
	return pb->blocks_per_addr;
}

void
eph_portblock_foreach_block(const struct eph_portblock *pb,
			    void (*fn)(uint32_t host_addr, uint32_t out_addr, uint16_t first_port,
				       uint16_t last_port, uint32_t used, void *arg),
			    void *arg)
{
	const void *key;
	void *data;
	uint32_t next = 0;
	int32_t pos;

	while ((pos = rte_hash_iterate(pb->host_hash, &key, &data, &next)) >= 0) {
		const struct pb_host *h = pb_host(pb, (uint32_t)pos);

		for (uint32_t i = 0; i < h->n_blocks; i++) {
			const struct pb_block *b = pb_block(pb, h->block[i]);
			uint16_t first = pb_first_port(pb, b->local);

			fn(h->addr, b->out_addr, first, (uint16_t)(first + pb->block_size - 1u),
			   b->used, arg);
		}
	}
}

/*
 * An rte_hash of n 4-byte keys with extendable buckets (DPDK 22.11
 * layout): 64-byte buckets of 8 in the main and the extension table,
 * 16-byte key slots (8 + 4 aligned to 16) and 4-byte free-slot rings.
 */
static size_t
pb_hash_bytes(size_t n)
{
	size_t buckets = rte_align32pow2((uint32_t)n) / 8;

	return 2 * buckets * 64 + (n + 1) * 16 + rte_align32pow2((uint32_t)n + 1) * 4 +
	       rte_align32pow2((uint32_t)buckets + 1) * 4;
}

size_t
eph_portblock_bytes_per_block(const struct eph_portblock *pb)
{
	return pb->slot_stride + sizeof(pb->free_slot[0]);
}

size_t
eph_portblock_bytes_per_host(const struct eph_portblock *pb)
{
	return pb->host_stride + pb_hash_bytes(pb->host_entries) / pb->max_hosts;
}

size_t
eph_portblock_bytes_per_addr(const struct eph_portblock *pb)
{
	return pb->addr_stride + pb_hash_bytes(pb->addr_entries) / pb->max_addrs;
}

size_t
eph_portblock_bytes_total(const struct eph_portblock *pb)
{
	return sizeof(*pb) + (size_t)pb->n_slots * eph_portblock_bytes_per_block(pb) +
	       (size_t)pb->host_entries * pb->host_stride + pb_hash_bytes(pb->host_entries) +
	       (size_t)pb->addr_entries * pb->addr_stride + pb_hash_bytes(pb->addr_entries);
}

/* ---- audit -------------------------------------------------------------------------------- */

/* Checks one address record against the blocks in use; marks its slots in seen[]. */
static bool
pb_audit_addr(const struct eph_portblock *pb, uint32_t pos, uint8_t *seen, uint8_t *mark,
	      uint64_t *ports)
{
	struct pb_addr *a = pb_addr(pb, pos);
	const uint16_t *fifo = pb_fifo(pb, a);
	uint32_t in_use = 0;

	if (a->n_free > pb->blocks_per_addr || a->head >= pb->blocks_per_addr)
		return false;
	memset(mark, 0, pb->blocks_per_addr);
	for (uint32_t i = 0; i < a->n_free; i++) {
		uint32_t at = a->head + i;
		uint16_t local = fifo[at >= pb->blocks_per_addr ? at - pb->blocks_per_addr : at];

		if (local >= pb->blocks_per_addr || mark[local] || a->slot[local] != PB_NONE)
			return false;
		mark[local] = 1;
	}
	for (uint32_t l = 0; l < pb->blocks_per_addr; l++) {
		const struct pb_block *b;
		uint32_t slot = a->slot[l], used = 0;

		if (slot == PB_NONE) {
			if (!mark[l])
				return false;
			continue;
		}
		if (slot >= pb->n_slots || seen[slot])
			return false;
		seen[slot] = 1;
		b = pb_block(pb, slot);
		if (b->local != l || b->out_addr != a->addr || b->used == 0 ||
		    b->used > pb->block_size || b->cursor >= pb->block_size ||
		    (b->bits[pb->n_words - 1] & pb->pad_mask) != pb->pad_mask)
			return false;
		for (uint32_t w = 0; w < pb->n_words; w++)
			used += (uint32_t)__builtin_popcountll(b->bits[w]);
		if (used - (uint32_t)__builtin_popcountll(pb->pad_mask) != b->used)
			return false;
		*ports += b->used;
		in_use++;
	}
	return in_use + a->n_free == pb->blocks_per_addr;
}

int
eph_portblock_audit(const struct eph_portblock *pb)
{
	uint8_t *seen = calloc(pb->n_slots, 1);
	uint8_t *mark = malloc(pb->blocks_per_addr);
	uint32_t addrs = 0, idle = 0, hosts = 0, blocks = 0, prev = PB_NONE, next = 0;
	uint64_t ports = 0;
	const void *key;
	void *data;
	int32_t pos;
	int rc = -EIO;

	if (seen == NULL || mark == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while ((pos = rte_hash_iterate(pb->addr_hash, &key, &data, &next)) >= 0) {
		if (*(const uint32_t *)key != pb_addr(pb, (uint32_t)pos)->addr ||
		    !pb_audit_addr(pb, (uint32_t)pos, seen, mark, &ports))
			goto out;
		addrs++;
	}
	for (uint32_t i = pb->idle_head; i != PB_NONE; i = pb_addr(pb, i)->idle_next) {
		const struct pb_addr *a = pb_addr(pb, i);

		if (a->idle_prev != prev || a->n_free != pb->blocks_per_addr || ++idle > addrs ||
		    rte_hash_lookup(pb->addr_hash, &a->addr) != (int32_t)i)
			goto out;
		prev = i;
	}
	if (prev != pb->idle_tail)
		goto out;
	next = 0;
	while ((pos = rte_hash_iterate(pb->host_hash, &key, &data, &next)) >= 0) {
		const struct pb_host *h = pb_host(pb, (uint32_t)pos);

		if (*(const uint32_t *)key != h->addr || h->n_blocks == 0 ||
		    h->n_blocks > pb->max_blocks_per_host || h->hint >= h->n_blocks)
			goto out;
		for (uint32_t i = 0; i < h->n_blocks; i++) {
			uint32_t slot = h->block[i];

			/* seen: 1 = held by an address, 2 = also listed by its host */
			if (slot >= pb->n_slots || seen[slot] != 1 ||
			    pb_block(pb, slot)->host != (uint32_t)pos)
				goto out;
			seen[slot] = 2;
			blocks++;
		}
		hosts++;
	}
	for (uint32_t i = 0; i < pb->n_free_slots; i++) {
		uint32_t slot = pb->free_slot[i];

		if (slot >= pb->n_slots || seen[slot] != 0)
			goto out;
		seen[slot] = 3;
	}
	for (uint32_t i = 0; i < pb->n_slots; i++)
		if (seen[i] == 1)
			goto out; /* on an address but on no host's list */
	if (blocks + pb->n_free_slots != pb->n_slots || blocks != pb->st.blocks_in_use ||
	    hosts != pb->st.hosts || addrs != pb->st.addrs || ports != pb->st.ports_in_use ||
	    hosts > pb->max_hosts || addrs > pb->max_addrs ||
	    pb->st.allocs - pb->st.releases != ports ||
	    pb->st.blocks_allocated - pb->st.blocks_released != blocks)
		goto out;
	rc = 0;
out:
	free(seen);
	free(mark);
	return rc;
}

/* ---- create / free ------------------------------------------------------------------------ */

void
eph_portblock_free(struct eph_portblock *pb)
{
	if (pb == NULL)
		return;
	rte_hash_free(pb->host_hash);
	rte_hash_free(pb->addr_hash);
	rte_free(pb->hosts);
	rte_free(pb->addrs);
	rte_free(pb->slots);
	rte_free(pb->free_slot);
	rte_free(pb);
}

static struct rte_hash *
pb_hash_create(const char *prefix, const struct eph_portblock_conf *conf, uint32_t entries)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = entries,
		.key_len = sizeof(uint32_t),
		.hash_func = rte_hash_crc,
		.hash_func_init_val = conf->secret ^ 0x9e3779b9u,
		.socket_id = conf->socket_id,
		/* Extendable buckets: every one of `entries` keys fits, so "full" is exact. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	snprintf(name, sizeof(name), "%s%s", prefix, conf->name);
	return rte_hash_create(&hp);
}

struct eph_portblock *
eph_portblock_create(const struct eph_portblock_conf *conf)
{
	struct eph_portblock *pb = NULL;
	uint32_t n_blocks;
	uint64_t n_slots;
	unsigned int bits;
	int err = EINVAL;

	if (conf == NULL || conf->name == NULL || conf->n_workers == 0 ||
	    conf->worker >= conf->n_workers || conf->port_lo == 0 ||
	    conf->port_lo > conf->port_hi || conf->block_size == 0 || conf->max_hosts == 0 ||
	    conf->max_hosts > (1u << 24) || conf->max_blocks_per_host == 0 ||
	    conf->max_blocks_per_host > UINT16_MAX || conf->max_addrs == 0 ||
	    conf->max_addrs > (1u << 24))
		goto fail;
	/* Whole blocks in the range, and this worker's share of them. */
	n_blocks = ((uint32_t)conf->port_hi - conf->port_lo + 1u) / conf->block_size;
	if (n_blocks <= conf->worker)
		goto fail;
	if (strlen(conf->name) > PB_NAME_MAX) {
		err = ENAMETOOLONG;
		goto fail;
	}
	err = ENOMEM;
	pb = rte_zmalloc_socket("eph_portblock", sizeof(*pb), RTE_CACHE_LINE_SIZE, conf->socket_id);
	if (pb == NULL)
		goto fail;
	pb->port_lo = conf->port_lo;
	pb->block_size = conf->block_size;
	pb->worker = conf->worker;
	pb->n_workers = conf->n_workers;
	pb->blocks_per_addr = (n_blocks - 1u - conf->worker) / conf->n_workers + 1u;
	pb->max_blocks_per_host = (uint16_t)conf->max_blocks_per_host;
	pb->max_hosts = conf->max_hosts;
	pb->max_addrs = conf->max_addrs;
	pb->n_words = (uint16_t)((conf->block_size + 63u) / 64u);
	bits = conf->block_size % 64u;
	pb->pad_mask = bits == 0 ? 0 : ~0ULL << bits;
	pb->idle_head = pb->idle_tail = PB_NONE;

	n_slots = RTE_MIN((uint64_t)conf->max_hosts * conf->max_blocks_per_host,
			  (uint64_t)conf->max_addrs * pb->blocks_per_addr);
	if (n_slots >= PB_NONE)
		goto fail;
	pb->n_slots = pb->n_free_slots = (uint32_t)n_slots;
	pb->slot_stride = (uint32_t)(sizeof(struct pb_block) + pb->n_words * sizeof(uint64_t));
	pb->host_stride = (uint32_t)RTE_ALIGN(
		sizeof(struct pb_host) + conf->max_blocks_per_host * sizeof(uint32_t), 8);
	pb->addr_stride = (uint32_t)RTE_ALIGN(sizeof(struct pb_addr) +
						      pb->blocks_per_addr *
							      (sizeof(uint32_t) + sizeof(uint16_t)),
					      8);
	pb->host_entries = RTE_MAX(conf->max_hosts, 8u);
	pb->addr_entries = RTE_MAX(conf->max_addrs, 8u);

	pb->slots = rte_zmalloc_socket("eph_pb_slots", n_slots * pb->slot_stride,
				       RTE_CACHE_LINE_SIZE, conf->socket_id);
	pb->free_slot =
		rte_malloc_socket("eph_pb_free", n_slots * sizeof(uint32_t), 0, conf->socket_id);
	pb->hosts = rte_zmalloc_socket("eph_pb_hosts", (size_t)pb->host_entries * pb->host_stride,
				       RTE_CACHE_LINE_SIZE, conf->socket_id);
	pb->addrs = rte_zmalloc_socket("eph_pb_addrs", (size_t)pb->addr_entries * pb->addr_stride,
				       RTE_CACHE_LINE_SIZE, conf->socket_id);
	if (pb->slots == NULL || pb->free_slot == NULL || pb->hosts == NULL || pb->addrs == NULL)
		goto fail;
	/* Slot 0 is taken first: the stack holds n-1 .. 0. */
	for (uint32_t i = 0; i < pb->n_slots; i++)
		pb->free_slot[i] = pb->n_slots - 1u - i;

	pb->host_hash = pb_hash_create("pbh_", conf, pb->host_entries);
	if (pb->host_hash == NULL)
		goto fail_hash;
	pb->addr_hash = pb_hash_create("pba_", conf, pb->addr_entries);
	if (pb->addr_hash == NULL)
		goto fail_hash;
	return pb;
fail_hash:
	err = rte_errno ? rte_errno : ENOMEM;
fail:
	eph_portblock_free(pb);
	rte_errno = err;
	return NULL;
}

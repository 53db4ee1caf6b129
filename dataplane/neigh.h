/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Neighbour (ARP) table. The control lcore is the only writer; workers look
 * up lock-free (rte_hash with RW_CONCURRENCY_LF). An entry's MAC is written
 * before the entry is marked valid and never changes afterwards: a new MAC
 * means a new entry swapped in, the old one freed after an RCU grace period.
 *
 * The packet path asks a per-thread cache first (eph_neigh_lookup_cached):
 * MACs copied out of the table, tagged with the table's generation, which
 * the control lcore moves on whenever a MAC changes or an entry goes. So a
 * cached MAC is never older than the table's, and a hit costs one load
 * instead of a hash lookup.
 */
#ifndef EPH_NEIGH_H
#define EPH_NEIGH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_mbuf.h>
#include <rte_per_lcore.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

struct eph_neigh_key {
	uint32_t ip;   /* network order */
	uint16_t port; /* port index */
	uint16_t pad;  /* zero: keys are compared as bytes */
};

enum eph_neigh_state {
	EPH_NEIGH_INCOMPLETE, /* ARP request sent, no answer yet */
	EPH_NEIGH_REACHABLE,  /* answered within reachable-s */
	EPH_NEIGH_PROBE,      /* past reachable-s: still used, unicast re-probe under way */
};

struct eph_neigh {
	struct rte_ether_addr mac; /* dp: ro once valid; cp: set before valid */
	uint8_t valid;             /* dp: ro (acquire); cp: rw (release) */

	/* Below: control lcore only. */
	uint8_t state;             /* enum eph_neigh_state */
	struct eph_neigh_key key;
	uint64_t confirmed_tsc;    /* last ARP from this neighbour */
	uint64_t next_tsc;         /* next request or probe due */
	unsigned int requests;     /* requests sent in this resolution/probe round */
	unsigned int n_held;
	TAILQ_ENTRY(eph_neigh) link;
	struct rte_mbuf *held[];   /* packets waiting for the MAC, arp.hold-packets */
};

TAILQ_HEAD(eph_neigh_list, eph_neigh);

struct eph_neigh_table {
	struct rte_hash *hash;     /* key -> struct eph_neigh *; dp: ro; cp: rw */
	uint32_t generation;       /* cp: moves on after a MAC change or delete; dp: ro (acquire) */
	/* From here the control lcore's, on other cache lines than what workers read. */
	struct eph_neigh_list all __rte_cache_aligned; /* cp only, lock for telemetry readers */
	pthread_mutex_t lock;
	struct rte_rcu_qsbr *rcu;  /* NULL: no concurrent readers (tests) */
	unsigned int hold_max;
	unsigned int n_entries;
	unsigned int max_entries;
};

int eph_neigh_table_create(struct eph_neigh_table *t, const char *name, unsigned int entries,
			   unsigned int hold_max, struct rte_rcu_qsbr *rcu, int socket_id);
void eph_neigh_table_free(struct eph_neigh_table *t);

/*
 * Data-plane lookup: the MAC to use for ip on port, or NULL when the
 * neighbour is unknown or still being resolved.
 */
static inline const struct rte_ether_addr *
eph_neigh_lookup(const struct eph_neigh_table *t, uint16_t port, uint32_t ip)
{
	struct eph_neigh_key key = { .ip = ip, .port = port, .pad = 0 };
	struct eph_neigh *n;

	if (rte_hash_lookup_data(t->hash, &key, (void **)&n) < 0)
		return NULL;
	if (__atomic_load_n(&n->valid, __ATOMIC_ACQUIRE) == 0)
		return NULL;
	return &n->mac;
}

/* A cached MAC: valid while generation equals the table's. */
struct eph_neigh_cache_entry {
	uint32_t ip;   /* network order */
	uint16_t port;
	struct rte_ether_addr mac;
	uint32_t generation;
};

/* Direct-mapped, 64 KiB per thread: thousands of next hops without many conflicts. */
#define EPH_NEIGH_CACHE_BITS 12
#define EPH_NEIGH_CACHE_SIZE (1u << EPH_NEIGH_CACHE_BITS)

struct eph_neigh_cache {
	struct eph_neigh_cache_entry e[EPH_NEIGH_CACHE_SIZE];
};

RTE_DECLARE_PER_LCORE(struct eph_neigh_cache, eph_neigh_cache);

/* Fill cache entry e from the table (dataplane/neigh.c): the MAC, or NULL as eph_neigh_lookup. */
const struct rte_ether_addr *eph_neigh_cache_fill(const struct eph_neigh_table *t,
						  struct eph_neigh_cache_entry *e, uint16_t port,
						  uint32_t ip, uint32_t generation);

/*
 * The cache entry of next hop ip (network order), on whatever port.
 * Fibonacci hashing: consecutive addresses (a subnet's hosts) land apart.
 */
static inline struct eph_neigh_cache_entry *
eph_neigh_cache_slot(uint32_t ip)
{
	uint32_t slot = (rte_be_to_cpu_32(ip) * 0x9e3779b1u) >> (32 - EPH_NEIGH_CACHE_BITS);

	return &RTE_PER_LCORE(eph_neigh_cache).e[slot];
}

/* Start loading the cache entry of next hop ip, a while before eph_neigh_lookup_cached. */
static inline void
eph_neigh_cache_prefetch(uint32_t ip)
{
	rte_prefetch0(eph_neigh_cache_slot(ip));
}

/*
 * eph_neigh_lookup through this thread's cache. The MAC returned is the
 * cache's copy: use it before the next lookup.
 */
static inline const struct rte_ether_addr *
eph_neigh_lookup_cached(const struct eph_neigh_table *t, uint16_t port, uint32_t ip)
{
	/* Read before the table: a change made after this is seen by the next lookup. */
	uint32_t generation = __atomic_load_n(&t->generation, __ATOMIC_ACQUIRE);
	struct eph_neigh_cache_entry *e = eph_neigh_cache_slot(ip);

	if (likely(e->generation == generation && e->ip == ip && e->port == port))
		return &e->mac;
	return eph_neigh_cache_fill(t, e, port, ip, generation);
}

/* Control lcore only. */
struct eph_neigh *eph_neigh_find(struct eph_neigh_table *t, uint16_t port, uint32_t ip);
/* A new incomplete entry, or NULL when the table is full (-ENOSPC) or no memory. */
struct eph_neigh *eph_neigh_create(struct eph_neigh_table *t, uint16_t port, uint32_t ip);
/*
 * Give n its MAC. Returns the entry now in the table: n itself when it was
 * not valid yet or the MAC is unchanged, else a replacement (n is retired
 * and its held packets move to the replacement).
 */
struct eph_neigh *eph_neigh_set_mac(struct eph_neigh_table *t, struct eph_neigh *n,
				    const struct rte_ether_addr *mac);
/* Remove n; held packets must have been taken out already. */
void eph_neigh_delete(struct eph_neigh_table *t, struct eph_neigh *n);

#endif /* EPH_NEIGH_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/* Neighbour table: creation, the control lcore's writes, and the packet path's cache fill. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>

#include "dataplane/neigh.h"

RTE_DEFINE_PER_LCORE(struct eph_neigh_cache, eph_neigh_cache);

/*
 * Generations come from one counter for every table of the process, so a
 * thread's cache entry of a table freed since (tests make many) can never
 * pass for one of the table now in use. Control lcore only.
 */
static uint32_t last_generation;

/* Cached MACs from before this point must not be used any more. */
static void
generation_next(struct eph_neigh_table *t)
{
	if (++last_generation == 0)
		last_generation = 1; /* 0 is what a cache entry never filled holds */
	__atomic_store_n(&t->generation, last_generation, __ATOMIC_RELEASE);
}

const struct rte_ether_addr *
eph_neigh_cache_fill(const struct eph_neigh_table *t, struct eph_neigh_cache_entry *e,
		     uint16_t port, uint32_t ip, uint32_t generation)
{
	const struct rte_ether_addr *mac = eph_neigh_lookup(t, port, ip);

	if (mac == NULL)
		return NULL; /* unresolved: the control lcore takes the packet, no need to cache */
	e->ip = ip;
	e->port = port;
	e->mac = *mac;
	e->generation = generation;
	return &e->mac;
}

/* Called by rte_hash once no worker can still hold the pointer. */
static void
neigh_free_after_grace(void *arg, void *key_data)
{
	RTE_SET_USED(arg);
	rte_free(key_data);
}

int
eph_neigh_table_create(struct eph_neigh_table *t, const char *name, unsigned int entries,
		       unsigned int hold_max, struct rte_rcu_qsbr *rcu, int socket_id)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = entries,
		.key_len = sizeof(struct eph_neigh_key),
		.hash_func = rte_jhash,
		.socket_id = socket_id,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	struct rte_hash_rcu_config rc = {
		.v = rcu,
		.mode = RTE_HASH_QSBR_MODE_DQ,
		.free_key_data_func = neigh_free_after_grace,
	};

	memset(t, 0, sizeof(*t));
	TAILQ_INIT(&t->all);
	pthread_mutex_init(&t->lock, NULL);
	t->hold_max = hold_max;
	t->rcu = rcu;
	t->max_entries = entries;
	generation_next(t);
	t->hash = rte_hash_create(&hp);
	if (t->hash == NULL)
		return rte_errno ? -rte_errno : -ENOMEM;
	if (rcu != NULL && rte_hash_rcu_qsbr_add(t->hash, &rc) != 0) {
		int ret = -rte_errno;

		rte_hash_free(t->hash);
		t->hash = NULL;
		return ret;
	}
	return 0;
}

void
eph_neigh_table_free(struct eph_neigh_table *t)
{
	struct eph_neigh *n;

	while ((n = TAILQ_FIRST(&t->all)) != NULL) {
		TAILQ_REMOVE(&t->all, n, link);
		for (unsigned int i = 0; i < n->n_held; i++)
			rte_pktmbuf_free(n->held[i]);
		rte_free(n);
	}
	/* Workers are stopped: nothing can still read what the hash frees. */
	rte_hash_free(t->hash);
	t->hash = NULL;
	pthread_mutex_destroy(&t->lock);
}

struct eph_neigh *
eph_neigh_find(struct eph_neigh_table *t, uint16_t port, uint32_t ip)
{
	struct eph_neigh_key key = { .ip = ip, .port = port, .pad = 0 };
	struct eph_neigh *n;

	if (rte_hash_lookup_data(t->hash, &key, (void **)&n) < 0)
		return NULL;
	return n;
}

static struct eph_neigh *
neigh_alloc(const struct eph_neigh_table *t)
{
	return rte_zmalloc("eph_neigh", sizeof(struct eph_neigh) +
						t->hold_max * sizeof(struct rte_mbuf *), 0);
}

struct eph_neigh *
eph_neigh_create(struct eph_neigh_table *t, uint16_t port, uint32_t ip)
{
	struct eph_neigh *n;

	if (t->n_entries >= t->max_entries) {
		rte_errno = ENOSPC;
		return NULL;
	}
	n = neigh_alloc(t);
	if (n == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	n->key = (struct eph_neigh_key){ .ip = ip, .port = port, .pad = 0 };
	n->state = EPH_NEIGH_INCOMPLETE;
	if (rte_hash_add_key_data(t->hash, &n->key, n) != 0) {
		rte_free(n);
		rte_errno = ENOSPC;
		return NULL;
	}
	pthread_mutex_lock(&t->lock);
	TAILQ_INSERT_TAIL(&t->all, n, link);
	t->n_entries++;
	pthread_mutex_unlock(&t->lock);
	return n;
}

struct eph_neigh *
eph_neigh_set_mac(struct eph_neigh_table *t, struct eph_neigh *n,
		  const struct rte_ether_addr *mac)
{
	struct eph_neigh *repl;

	if (!n->valid) {
		rte_ether_addr_copy(mac, &n->mac);
		__atomic_store_n(&n->valid, 1, __ATOMIC_RELEASE);
		return n;
	}
	if (rte_is_same_ether_addr(mac, &n->mac))
		return n;

	/* Workers may be reading n->mac right now: publish a new entry instead. */
	repl = neigh_alloc(t);
	if (repl == NULL)
		return n; /* keep the old MAC; the next ARP retries the update */
	memcpy(repl, n, sizeof(*n) + n->n_held * sizeof(n->held[0]));
	rte_ether_addr_copy(mac, &repl->mac);
	repl->valid = 1;
	pthread_mutex_lock(&t->lock);
	TAILQ_INSERT_AFTER(&t->all, n, repl, link);
	TAILQ_REMOVE(&t->all, n, link);
	pthread_mutex_unlock(&t->lock);
	/*
	 * Replacing the data of an existing key is one atomic pointer store in LF
	 * mode; the old entry is not handed to the RCU queue by rte_hash, so wait
	 * for the grace period here (rare: a neighbour changed its MAC).
	 */
	rte_hash_add_key_data(t->hash, &repl->key, repl);
	generation_next(t); /* after the swap: a cache refilled from now on has the new MAC */
	if (t->rcu != NULL)
		rte_rcu_qsbr_synchronize(t->rcu, RTE_QSBR_THRID_INVALID);
	rte_free(n);
	return repl;
}

void
eph_neigh_delete(struct eph_neigh_table *t, struct eph_neigh *n)
{
	pthread_mutex_lock(&t->lock);
	TAILQ_REMOVE(&t->all, n, link);
	t->n_entries--;
	pthread_mutex_unlock(&t->lock);
	/* With RCU attached, rte_hash frees n through neigh_free_after_grace. */
	int32_t pos = rte_hash_del_key(t->hash, &n->key);

	generation_next(t);
	if (t->rcu == NULL) {
		/* No readers: reclaim the slot and the entry now. */
		if (pos >= 0)
			rte_hash_free_key_with_position(t->hash, pos);
		rte_free(n);
	}
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ephemeral outside-port allocator: one instance per worker lcore and NAT
 * pool, used only by that lcore (no locks, no atomics).
 *
 * Worker w of n owns the ports p of [port_lo, port_hi] with p % n == w,
 * minus the excluded ones: its share, S ports, numbered 0..S-1. (Other
 * workers' hosts may borrow ports of it: see "Beyond the share" below.) Ports are
 * handed out per destination (outside address, remote address, remote port,
 * protocol), so one port serves many destinations at once (RFC 7857 port
 * overlapping) but never two flows to the same destination.
 *
 * Per destination in use: a cursor into a keyed pseudo-random permutation of
 * the share (fresh ports, RFC 6056 style: a keyed shuffle of the share
 * walked with the destination's own stride), then FIFOs of released ports: a
 * "ready" one (clean TCP close: reusable at once) and a "quarantine" one
 * (reusable once `quarantine` ticks have passed, RFC 6888 REQ-8). Every
 * operation is O(1). See portalloc.c for the design in full.
 *
 * Guarantees, for a destination d whose share has a port that is neither
 * live nor resting for d (fresh, released clean, or rested):
 *  - alloc never returns -ENOSPC for d (exhaustion is exact);
 *  - alloc returns -ENOMEM for d only if d is new and the destination
 *    table is full, or if the chunk pool is full (chunks_in_use +
 *    chunks_reserved == chunks_max) and every way to give d a port (fresh,
 *    ready head, rested head, either parity) needs one chunk more. Reusing
 *    a port needs one only when d's release reservation grows by a chunk
 *    (once per 32 live ports) and the pop empties none of d's chunks: the
 *    port may come back unclean and need a quarantine slot while its old
 *    slot sits in a ready chunk, so only spare chunks per destination
 *    could avoid it. d itself then holds at most ceil((live + resting) /
 *    32) + 5 chunks (+ 11 with port parity), so the rest of chunks_max is
 *    held by the other destinations, each within the same bound of its own
 *    live + resting ports (eph_portalloc_audit checks the bound);
 *  - an idle d (no live port) whose ports have all rested is forgotten and
 *    started anew by alloc, its chunks freed: it is never refused.
 * Memory follows use: d takes fresh ports only while it keeps fewer than
 * live + 32 released ports, or none of them is reusable; so a destination
 * that never goes idle keeps about its peak live ports + 32 resting, plus
 * those still in quarantine, not its whole share (~2000 chunks, 470 KB).
 *
 * Beyond the share: lending (dataplane/nat/nat.c). All sessions of an inside
 * host live on its owner worker, so on its own share a host would get S =
 * range / n_workers ports towards one destination. When alloc answers
 * -ENOSPC, the NAT sends the flow's first packet round the other workers
 * (on the handoff rings) until one gets a port for d from its own
 * allocator, with this same alloc; the lender keeps a loan record under
 * the flow's outside key, so replies to the port, steered to its share
 * owner as always, are handed on to the borrower; the port comes back in a
 * message on a ring of returns and is released here, on the lender. So the
 * guarantees above hold over the whole range: a port is in one share and
 * only that share's allocator hands it out (never live twice for d); a
 * flow is refused only after every worker's allocator said -ENOSPC for d
 * (and the owner's again when the answer comes back); a port rests in its
 * own share's quarantine whoever used it; walks stay keyed per worker.
 *
 * Why lend per flow rather than move ports between shares: a share's
 * ports are per destination, so a port a worker could give away for good
 * must be idle for every destination it serves, which is rare exactly when
 * capacity is short, and giving it away would reshape the keyed walk of
 * every destination. A shared allocator for busy destinations would need
 * atomics on the packet path. Lending costs nothing until a share runs
 * out: a worker whose share suffices touches nothing shared, and the
 * cooperation rides single-producer/single-consumer rings.
 *
 * Cost: a borrowed flow's first packet makes two ring hops instead of none
 * (the figures are in README.md, Benchmark); the lender holds a 64-byte
 * record in its session table per lent port, and the borrower's session is
 * as any other. Replies to a lent port that reach the lender (with RSS by
 * port, all of them) take one hop more. Worst case: a destination
 * exhausted on every worker; each further flow is asked round all
 * n_workers - 1 others and refused, O(n_workers) hops. A lender lends at
 * most EPH_NAT_LOANS_MAX (16,383) ports at once to one borrower, what its
 * return ring holds, so a return never finds the ring full; a request
 * that would pass it is passed on. Port blocks (portblock.h) do not lend.
 */
#ifndef EPH_PORTALLOC_H
#define EPH_PORTALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct eph_portalloc;

struct eph_portalloc_conf {
	uint16_t port_lo, port_hi; /* inclusive; port_lo >= 1 */
	const uint16_t *excluded;  /* ports never handed out (any order, duplicates ok) */
	unsigned int n_excluded;
	unsigned int worker; /* this allocator's share: p % n_workers == worker */
	unsigned int n_workers;
	uint64_t quarantine;           /* ticks an unclean release rests before reuse */
	bool port_parity;              /* outside port keeps the parity of `preferred` (REQ-4) */
	unsigned int max_destinations; /* destinations in use (live or resting ports) at once */
	unsigned int max_chunks;       /* FIFO chunks of 32 released ports (232 B each); 0:
					* 2 per destination + 4 shares' worth. Size it for
					* (live + resting ports) / 32 + 2 per destination:
					* see eph_portalloc_chunks_for */
	uint64_t secret[2];            /* per-process random secret: keys the permutations */
	int socket_id;
	const char *name; /* unique in the process, at most 16 characters */
};

/* Keys are compared as bytes: zero the pad (designated initialisers do). */
struct eph_dest_key {
	uint32_t out_addr;    /* network order */
	uint32_t remote_addr; /* network order; 0 with endpoint-independent mapping */
	uint16_t remote_port; /* network order; 0 with endpoint-independent mapping */
	uint8_t proto;
	uint8_t pad;
};

struct eph_portalloc_stats {
	uint64_t allocs;          /* ports handed out */
	uint64_t fresh;           /* ... from the permutation */
	uint64_t reused_clean;    /* ... from the ready FIFO */
	uint64_t reused_rested;   /* ... from the quarantine FIFO after resting */
	uint64_t preserved;       /* ... equal to a non-zero `preferred` */
	uint64_t preserve_missed; /* `preferred` in the share but not free or not trackable */
	uint64_t parity_missed;   /* parity asked, only the other parity was free */
	uint64_t releases;
	uint64_t exhausted;      /* -ENOSPC: every share port live or resting */
	uint64_t no_destination; /* -ENOMEM: destination table full */
	uint64_t no_chunk;       /* -ENOMEM: FIFO memory could not be reserved */
	uint64_t bad_release;    /* release for an unknown destination or port */
	uint64_t lost;           /* release found no FIFO memory: a bug, must stay 0 */
	uint64_t dest_created;
	uint64_t dest_freed;
	uint32_t destinations; /* in use now */
	uint32_t idle;         /* of which no live port, waiting for quarantine */
	uint32_t chunks_in_use;
	uint32_t chunks_reserved; /* kept free so that releases never need to fail */
	uint32_t chunks_max;
	uint32_t moved_max; /* high-water of a destination's preservation swaps (<= 4) */
};

/* NULL and rte_errno (EINVAL, ENOMEM, EEXIST, ENAMETOOLONG) on failure. Control path. */
struct eph_portalloc *eph_portalloc_create(const struct eph_portalloc_conf *conf);
void eph_portalloc_free(struct eph_portalloc *pa);

/*
 * max_chunks for an allocator of conf whose worker holds at most live_ports
 * sessions: one chunk per destination (partly used chunks), the larger of
 * one more per destination and 2 per 32 live ports (their release
 * reservation, and as many released ports kept resting: at most live + 32
 * per destination), and 4 whole shares (destinations whose ports rest in
 * quarantine en masse). With live_ports 0: the default, 2 per destination
 * + 4 shares. Exclusions are ignored (an upper bound). 0: conf is invalid.
 */
unsigned int eph_portalloc_chunks_for(const struct eph_portalloc_conf *conf, uint32_t live_ports);

/*
 * Take a port (host order) for destination dst. preferred (host order, 0:
 * none) is given if it is in this share and still fresh for dst (port
 * preservation, best effort); with port_parity the port has the parity of
 * preferred when such a port is free. now: ticks, non-decreasing.
 * Returns 0, -ENOSPC (every share port live or resting for dst) or -ENOMEM
 * (destination table or FIFO memory full: see the guarantees above).
 */
int eph_portalloc_alloc(struct eph_portalloc *pa, const struct eph_dest_key *dst,
			uint16_t preferred, uint64_t now, uint16_t *port);

/*
 * Give back a port taken for dst. clean: the flow ended cleanly (TCP
 * FIN/FIN or state known closed), reusable at once; otherwise it rests for
 * the quarantine. Never fails (FIFO memory is reserved at alloc time).
 */
void eph_portalloc_release(struct eph_portalloc *pa, const struct eph_dest_key *dst, uint16_t port,
			   uint64_t now, bool clean);

/*
 * Forget up to budget idle destinations whose released ports have all rested
 * (alloc also does a little of this). Call from the worker's timer. Returns
 * how many were freed.
 */
unsigned int eph_portalloc_expire(struct eph_portalloc *pa, uint64_t now, unsigned int budget);

unsigned int eph_portalloc_share_size(const struct eph_portalloc *pa);
/* Live ports of the destination of the last successful alloc, that one included. */
uint32_t eph_portalloc_last_live(const struct eph_portalloc *pa);
bool eph_portalloc_owns(const struct eph_portalloc *pa, uint16_t port);
/* Live ports of dst (0 if dst is not in use). */
uint32_t eph_portalloc_live(const struct eph_portalloc *pa, const struct eph_dest_key *dst);
const struct eph_portalloc_stats *eph_portalloc_stats(const struct eph_portalloc *pa);

/*
 * Recompute every invariant from scratch (live and resting counts, chunks in
 * use and reserved, idle list, preservation moves): 0 or -EIO. Walks all
 * records and chunks: for tests and debugging, never on the packet path.
 */
int eph_portalloc_audit(const struct eph_portalloc *pa);

/* Every destination in use, for "top N by occupancy"; resting counts rested-not-reused ports. */
void eph_portalloc_foreach(const struct eph_portalloc *pa,
			   void (*fn)(const struct eph_dest_key *dst, uint32_t live,
				      uint32_t resting, void *arg),
			   void *arg);

/* Memory: one destination (record + its rte_hash slot, estimated) and one FIFO chunk. */
size_t eph_portalloc_bytes_per_destination(const struct eph_portalloc *pa);
size_t eph_portalloc_bytes_per_chunk(void);

/* The worker that owns an outside port: replies are steered by this alone. */
static inline unsigned int
eph_portalloc_owner(uint16_t port, unsigned int n_workers)
{
	if ((n_workers & (n_workers - 1)) == 0)
		return port & (n_workers - 1);
	return port % n_workers;
}

/*
 * The keyed walk of one destination (exposed for tests): position i ->
 * index (o + a * i) mod size into the share's keyed shuffle, a and o taken
 * from key as for a destination; inverse maps an index back. size >= 1.
 */
uint32_t eph_portalloc_perm(uint32_t size, uint64_t key, uint32_t i, bool inverse);

#endif /* EPH_PORTALLOC_H */

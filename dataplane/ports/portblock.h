/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port-block allocation (RFC 7422): an inside host gets whole blocks of
 * outside ports, so the NAT log records one line per block instead of one
 * per session. One instance per worker lcore and NAT pool, used only by
 * that lcore (no locks, no atomics); created and freed on the control path.
 *
 * Blocks. The range [port_lo, port_hi] of every outside address is cut into
 * blocks of block_size contiguous ports: block k covers
 * [port_lo + k * block_size, port_lo + (k + 1) * block_size - 1]. Only whole
 * blocks inside the range are used (the ports of a partial last block are
 * never handed out). Block k belongs to worker k % n_workers, so the owner
 * of an outside port, the worker replies are steered to, follows from the
 * port alone (eph_portblock_owner).
 *
 * Ports. A port is used by at most one session at a time, whatever the
 * destination or protocol: each block in use has a bitmap, searched
 * next-fit from a cursor (a released port is reused only after the rest of
 * the block's free ports), at most ceil(block_size / 64) words per alloc,
 * normally one.
 *
 * Free blocks. Each outside address seen has a FIFO of its free blocks
 * (this worker's only), built on the first allocation on that address in
 * ascending order; a block that empties goes to the back, so a block just
 * released, and logged as released, is handed out again as late as
 * possible. A host's block is released as soon as its last port is.
 *
 * Addresses are opaque 32-bit keys, kept and reported as given (the NAT
 * uses network order); ports are in host order. Choosing the outside
 * address is the caller's job: paired pooling keeps a host on the address
 * of its first block (eph_portblock_host_addr), arbitrary pooling tries
 * another address when one answers -ENOSPC.
 */
#ifndef EPH_PORTBLOCK_H
#define EPH_PORTBLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct eph_portblock;

struct eph_portblock_conf {
	uint16_t port_lo, port_hi; /* inclusive; 1 <= port_lo <= port_hi */
	uint16_t block_size;       /* ports per block, >= 1, at most the range */
	unsigned int worker;       /* this allocator's blocks: k % n_workers == worker */
	unsigned int n_workers;
	unsigned int max_hosts;           /* inside hosts holding blocks at once */
	unsigned int max_blocks_per_host; /* 1..65535 */
	unsigned int max_addrs;           /* outside addresses tracked at once */
	uint32_t secret;                  /* keys the tables' hash (any value) */
	int socket_id;
	const char *name; /* unique in the process, at most 16 characters */
};

enum eph_portblock_event_type {
	EPH_PORTBLOCK_NONE = 0,
	EPH_PORTBLOCK_ALLOC,   /* the host got the block */
	EPH_PORTBLOCK_RELEASE, /* the host's last port of the block was released */
};

/* Filled when alloc or release returns 1: what to log. */
struct eph_portblock_event {
	uint8_t type; /* enum eph_portblock_event_type */
	uint32_t host_addr;
	uint32_t out_addr;
	uint16_t first_port, last_port; /* host order, inclusive */
};

struct eph_portblock_stats {
	uint64_t allocs;             /* ports handed out */
	uint64_t releases;           /* ports given back */
	uint64_t blocks_allocated;   /* EPH_PORTBLOCK_ALLOC events */
	uint64_t blocks_released;    /* EPH_PORTBLOCK_RELEASE events */
	uint64_t refused_addr_full;  /* -ENOSPC: no free block of this worker on the address */
	uint64_t refused_host_limit; /* -EDQUOT: the host holds max_blocks_per_host blocks */
	uint64_t refused_nomem;      /* -ENOMEM: host or address table full */
	uint64_t bad_release;        /* -ENOENT: port not held by that host */
	uint64_t addrs_evicted;      /* idle addresses forgotten to make room for new ones */
	uint32_t blocks_in_use;
	uint32_t hosts; /* hosts holding at least one block */
	uint32_t addrs; /* outside addresses tracked */
	uint32_t ports_in_use;
};

/*
 * NULL and rte_errno (EINVAL: bad conf or no whole block for this worker,
 * ENAMETOOLONG, EEXIST, ENOMEM) on failure. Control path.
 */
struct eph_portblock *eph_portblock_create(const struct eph_portblock_conf *conf);
void eph_portblock_free(struct eph_portblock *pb);

/*
 * Give host_addr a port (host order) on out_addr: from one of its blocks
 * on that address with a free port, else from a new block of this worker
 * on out_addr if the host holds fewer than max_blocks_per_host blocks.
 * Returns
 *   0        a port from a block the host already held;
 *   1        a port from a new block: *ev is the EPH_PORTBLOCK_ALLOC to log;
 *   -EDQUOT  the host's blocks on out_addr are full and it is at its limit;
 *   -ENOSPC  its blocks there are full (or it has none) and out_addr has no
 *            free block of this worker: another address may have one;
 *   -ENOMEM  the host is new and max_hosts hold blocks, or out_addr is new
 *            and max_addrs addresses have blocks in use.
 * The per-host limit counts blocks on all addresses. O(blocks of the host).
 */
int eph_portblock_alloc(struct eph_portblock *pb, uint32_t host_addr, uint32_t out_addr,
			uint16_t *port, struct eph_portblock_event *ev);

/*
 * Give back a port taken by host_addr on out_addr. Returns 1 when this
 * emptied its block, which is then released (*ev is the
 * EPH_PORTBLOCK_RELEASE to log), 0 otherwise, -ENOENT (nothing changed)
 * when the port is not held by that host on that address.
 */
int eph_portblock_release(struct eph_portblock *pb, uint32_t host_addr, uint32_t out_addr,
			  uint16_t port, struct eph_portblock_event *ev);

/* Does host_addr hold a block on out_addr? */
bool eph_portblock_host_has_block(const struct eph_portblock *pb, uint32_t host_addr,
				  uint32_t out_addr);

/*
 * The address of host_addr's oldest block still held (paired pooling keeps
 * a host on it): 0, or -ENOENT when the host holds no block.
 */
int eph_portblock_host_addr(const struct eph_portblock *pb, uint32_t host_addr, uint32_t *out_addr);

/* Blocks of host_addr on every address (0 when it holds none). */
unsigned int eph_portblock_host_blocks(const struct eph_portblock *pb, uint32_t host_addr);

const struct eph_portblock_stats *eph_portblock_stats(const struct eph_portblock *pb);

/* This worker's whole blocks on one outside address. */
unsigned int eph_portblock_blocks_per_addr(const struct eph_portblock *pb);

/*
 * Every block in use (host by host, each host's blocks oldest first), for
 * the control plane. The table must not change during the walk: call it
 * from the owning lcore, or while that lcore is stopped.
 */
void eph_portblock_foreach_block(const struct eph_portblock *pb,
				 void (*fn)(uint32_t host_addr, uint32_t out_addr,
					    uint16_t first_port, uint16_t last_port, uint32_t used,
					    void *arg),
				 void *arg);

/*
 * Memory, for accounting: one block in use (its record and bitmap), one
 * host record and one address record, each with its share of the hash
 * table (estimated); and everything the instance reserved at create.
 */
size_t eph_portblock_bytes_per_block(const struct eph_portblock *pb);
size_t eph_portblock_bytes_per_host(const struct eph_portblock *pb);
size_t eph_portblock_bytes_per_addr(const struct eph_portblock *pb);
size_t eph_portblock_bytes_total(const struct eph_portblock *pb);

/*
 * Recompute every invariant from scratch (bitmaps against counts, free
 * FIFOs against blocks in use, host lists, idle addresses, totals): 0 or
 * -EIO. Walks everything: for tests and debugging, never on the packet path.
 */
int eph_portblock_audit(const struct eph_portblock *pb);

/*
 * The worker that owns an outside port (host order) in port-block mode:
 * replies are steered by this alone. Ports below port_lo carry no session
 * and are spread as port % n_workers; ports past the last whole block
 * follow the formula and carry no session either.
 */
static inline unsigned int
eph_portblock_owner(uint16_t port, uint16_t port_lo, uint16_t block_size, unsigned int n_workers)
{
	unsigned int k;

	if (port < port_lo)
		k = port;
	else if ((block_size & (block_size - 1)) == 0)
		k = (unsigned int)(port - port_lo) >> __builtin_ctz(block_size);
	else
		k = (unsigned int)(port - port_lo) / block_size;
	if ((n_workers & (n_workers - 1)) == 0)
		return k & (n_workers - 1);
	return k % n_workers;
}

#endif /* EPH_PORTBLOCK_H */

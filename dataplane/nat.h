/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SNAT44 on the workers.
 *
 * Ownership: every session of an inside host lives on one worker, the
 * host's owner (a keyed hash of its address), and takes its outside ports
 * from that worker's share of the pool (ports p with p % n_workers == w).
 * So per-host limits, paired pooling and endpoint-independent mappings are
 * exact without any shared state, and an outside packet's owner follows
 * from its destination port alone. A packet that arrives on another worker
 * is handed to the owner over a single-producer/single-consumer ring.
 */
#ifndef EPH_NAT_H
#define EPH_NAT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_fib.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_ring.h>
#include <rte_seqcount.h>

#include "control/config.h"

struct eph_session_table;
struct eph_portalloc;
struct eph_worker;
struct eph_dp;
struct rte_mbuf;

/* Per pool, read-only after start. */
struct eph_nat_pool {
	uint32_t n_addrs;
	uint32_t *addrs;           /* network order */
	uint8_t mapping;           /* enum eph_nat_mapping */
	uint8_t filtering;         /* enum eph_nat_filtering */
	uint8_t pooling;           /* enum eph_nat_pooling */
	bool preservation;
	bool exhaustion_icmp;
	uint32_t max_per_host;     /* 0: no limit */
	char name[EPH_NAME_LEN];
};

/* Idle timeouts in ticks. */
struct eph_nat_timeouts {
	uint32_t udp;
	uint32_t tcp_established;
	uint32_t tcp_transitory;
	uint32_t icmp;
};

#define EPH_NAT_TICK_HZ 16 /* session clock: 1/16 s is plenty for timeouts of seconds */

/* Shared NAT state, read-only after start. */
struct eph_nat {
	unsigned int n_pools;
	struct eph_nat_pool pools[EPH_MAX_POOLS];
	struct rte_fib *inside;    /* inside source prefix -> pool index + 1 (0: no NAT) */
	struct eph_nat_timeouts timeouts;
	uint32_t secret;           /* keys the host-owner hash and address pairing */
	uint64_t tick_tsc;         /* TSC cycles per tick */
	uint64_t start_tsc;
	struct rte_ring **handoff; /* [from * n_workers + to], SP/SC; NULL on the diagonal */
};

/* Per-inside-host state on its owner worker. */
struct eph_nat_host {
	uint32_t addr;             /* network order */
	uint32_t sessions;         /* live sessions (per-host limit) */
};

/* Per worker counters: written by that worker only, read by telemetry. */
/*
 * Per worker NAT events (drops are counted with the other drop reasons).
 * Written by that worker only, read by telemetry.
 */
#define EPH_NAT_COUNTERS(X)                                                       \
	X(sessions_created, "sessions created")                                   \
	X(sessions_expired, "sessions removed by their idle timer")               \
	X(port_allocations, "outside ports taken")                                \
	X(port_releases, "outside ports given back")                              \
	X(handoff_out, "packets handed to the owning worker")                     \
	X(handoff_in, "packets received from other workers")                      \
	X(in2out, "packets translated inside to outside")                         \
	X(out2in, "packets translated outside to inside")                         \
	X(icmp_errors_translated, "ICMP errors about sessions translated")        \
	X(exhaustion_icmp_sent, "ICMP unreachable sent for want of a port")

enum eph_nat_counter {
#define EPH_NAT_CTR_ENUM(name, desc) EPH_NAT_##name,
	EPH_NAT_COUNTERS(EPH_NAT_CTR_ENUM)
#undef EPH_NAT_CTR_ENUM
	EPH_NAT_CTR_MAX
};

extern const char *const eph_nat_counter_names[EPH_NAT_CTR_MAX];

/* The busiest destinations of one worker, republished every second. */
#define EPH_NAT_TOP_N 16

struct eph_nat_top_entry {
	uint32_t out_addr;    /* network order */
	uint32_t remote_addr; /* network order; 0 for endpoint-independent */
	uint16_t remote_port; /* network order */
	uint8_t proto;
	uint8_t pool;
	uint32_t live;
	uint32_t resting;
	uint32_t share;       /* ports of the worker's share: occupancy = live / share */
};

struct eph_nat_top {
	rte_seqcount_t seq;   /* dp: writer; telemetry: reader retries on change */
	uint32_t n;
	struct eph_nat_top_entry e[EPH_NAT_TOP_N];
};

/*
 * Who is refused most: the destinations and inside hosts with the most
 * refused sessions, kept in fixed tables by the Space-Saving algorithm (a
 * newcomer replaces the smallest entry and inherits its count + 1, so the
 * heavy hitters are exact and the rest over-counted by at most the smallest
 * count). Written on the refusal path only.
 */
#define EPH_NAT_REFUSAL_SLOTS 32

enum eph_nat_refusal_reason {
	EPH_REFUSED_NO_PORT,    /* destination exhausted on every allowed address */
	EPH_REFUSED_HOST_LIMIT, /* max-sessions-per-host */
	EPH_REFUSED_TABLE_FULL, /* session, mapping or allocator table full */
	EPH_REFUSED_REASONS
};

struct eph_nat_refused_dest {
	uint32_t out_addr;    /* network order; the paired (first tried) address */
	uint32_t remote_addr; /* network order; 0 for endpoint-independent */
	uint16_t remote_port; /* network order */
	uint8_t proto;
	uint8_t pool;
	uint64_t count;
};

struct eph_nat_refused_host {
	uint32_t addr;        /* network order */
	uint8_t pool;
	uint64_t count[EPH_REFUSED_REASONS];
	uint64_t total;
};

struct eph_nat_refusals {
	rte_seqcount_t seq;   /* dp: writer; telemetry: reader retries on change */
	struct eph_nat_refused_dest dest[EPH_NAT_REFUSAL_SLOTS];
	struct eph_nat_refused_host host[EPH_NAT_REFUSAL_SLOTS];
};

struct eph_nat_worker {
	struct eph_session_table *sessions;
	struct eph_session_table *mappings; /* endpoint-independent mappings */
	struct eph_portalloc *alloc[EPH_MAX_POOLS];
	struct rte_hash *hosts;             /* addr -> index into host[] */
	struct eph_nat_host *host;
	uint32_t max_hosts;
	uint32_t now;                       /* current tick */
	uint64_t *ports_in_use[EPH_MAX_POOLS]; /* [address index]: this worker's live ports */
	uint64_t *exhausted[EPH_MAX_POOLS];    /* [address index]: allocations refused */
	uint64_t ctr[EPH_NAT_CTR_MAX];
	uint32_t top_next;                  /* tick of the next top-N refresh */
	struct eph_nat_top top;             /* dp: rw own; telemetry: ro (seqcount) */
	struct eph_nat_refusals refusals;   /* dp: rw own; telemetry: ro (seqcount) */
};

/* Copy w's refusal tables consistently (telemetry thread). */
void eph_nat_refusals_read(const struct eph_nat_worker *nw, struct eph_nat_refusals *out);

/* Copy w's top-N destinations consistently (telemetry thread). */
unsigned int eph_nat_top_read(const struct eph_nat_worker *nw,
			      struct eph_nat_top_entry out[EPH_NAT_TOP_N]);

/* Owner worker of an inside host. */
static inline unsigned int
eph_nat_host_owner(const struct eph_nat *nat, uint32_t addr, unsigned int n_workers)
{
	return rte_jhash_1word(addr, nat->secret) % n_workers;
}

/* Owner worker of an outside port (the same interleave the allocator uses). */
static inline unsigned int
eph_nat_port_owner(uint16_t port_host_order, unsigned int n_workers)
{
	return port_host_order % n_workers;
}

/* Set up from the configuration (control lcore, before workers start). */
int eph_nat_setup(struct eph_dp *dp, const struct eph_conf *conf, FILE *err);
void eph_nat_teardown(struct eph_dp *dp);

/* Packet path entry points (dataplane/nat.c). Each consumes m. */
void eph_nat_in2out(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m,
		    unsigned int pool, uint32_t nh_idx);
void eph_nat_out2in(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m);
/* Drain the handoff rings addressed to w. */
void eph_nat_handoff_drain(struct eph_worker *w);
/* Advance the session clock and expire a bounded number of sessions. */
void eph_nat_timers(struct eph_worker *w, uint64_t now_tsc);

/* Pool index + 1 of an inside source address (host order), 0 when not NAT'd. */
static inline unsigned int
eph_nat_pool_of(const struct eph_nat *nat, uint32_t src_host)
{
	uint64_t v = 0;

	if (nat->n_pools == 0)
		return 0;
	rte_fib_lookup_bulk(nat->inside, &src_host, &v, 1);
	return (unsigned int)v;
}

#endif /* EPH_NAT_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAT events from a worker to the control lcore: sessions created and
 * deleted, port blocks taken and released (the NAT log), and destinations
 * filling up (warnings). Each ring is bounded, single-producer (one
 * worker) and single-consumer (the control lcore); the worker never waits:
 * an event that finds its ring full is counted as lost. The control lcore
 * drains the rings and writes the log (control/natlog_writer.h).
 */
#ifndef EPH_NATLOG_H
#define EPH_NATLOG_H

#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#define EPH_NATLOG_TYPES(X)                                                                        \
	X(SESSION_CREATE, "session-create")                                                        \
	X(SESSION_DELETE, "session-delete")                                                        \
	X(BLOCK_ALLOC, "block-alloc")                                                              \
	X(BLOCK_RELEASE, "block-release")                                                          \
	X(DEST_OCCUPANCY, "dest-occupancy") /* a destination crossed the warning threshold */      \
	X(DEST_EXHAUSTED, "dest-exhausted") /* a destination had no port left */

enum eph_natlog_type {
	EPH_NATLOG_NONE = 0,
#define EPH_NATLOG_TYPE_ENUM(name, str) EPH_NATLOG_##name,
	EPH_NATLOG_TYPES(EPH_NATLOG_TYPE_ENUM)
#undef EPH_NATLOG_TYPE_ENUM
	EPH_NATLOG_TYPE_MAX
};

/* Why a session was deleted. */
#define EPH_NATLOG_REASONS(X)                                                                      \
	X(EXPIRED, "expired")           /* idle timeout */                                         \
	X(TCP_CLOSED, "tcp-closed")     /* FIN both ways, or RST, then the transitory timeout */   \
	X(CLEARED, "cleared")           /* removed by the operator */                              \
	X(RECONFIGURED, "reconfigured") /* its pool changed or went away */                        \
	X(SHUTDOWN, "shutdown")         /* the daemon stopped */

enum eph_natlog_reason {
	EPH_NATLOG_REASON_NONE = 0,
#define EPH_NATLOG_REASON_ENUM(name, str) EPH_NATLOG_REASON_##name,
	EPH_NATLOG_REASONS(EPH_NATLOG_REASON_ENUM)
#undef EPH_NATLOG_REASON_ENUM
	EPH_NATLOG_REASON_MAX
};

/*
 * One event, fixed size. Fields a type does not use are zero.
 *  SESSION_CREATE / _DELETE: proto, in_*, out_*, remote_*; delete: reason,
 *    duration_s.
 *  BLOCK_ALLOC / _RELEASE: in_addr (the host), out_addr, first_port,
 *    last_port.
 *  DEST_OCCUPANCY / _EXHAUSTED: proto, out_addr, remote_addr, remote_port
 *    (the destination; remote 0 with endpoint-independent mapping), value
 *    (its live ports on this worker) and share (ports it may use there).
 */
struct eph_natlog_event {
	uint64_t tsc; /* rte_rdtsc() when it happened */
	uint8_t type; /* enum eph_natlog_type */
	uint8_t proto;
	uint8_t pool;                            /* index into the configuration's pools */
	uint8_t worker;                          /* index of the worker that emitted it */
	uint32_t in_addr, out_addr, remote_addr; /* network order */
	uint16_t in_port, out_port, remote_port; /* network order */
	uint16_t first_port, last_port;          /* host order, blocks */
	uint8_t reason;                          /* enum eph_natlog_reason */
	uint8_t pad;
	uint32_t value;
	uint32_t share;
	uint32_t duration_s; /* session lifetime, deletes */
};

_Static_assert(sizeof(struct eph_natlog_event) == 48, "an event is 48 bytes, no hidden padding");
_Static_assert(sizeof(struct eph_natlog_event) <= 64 && sizeof(struct eph_natlog_event) % 4 == 0,
	       "rte_ring elements are multiples of 4 bytes; keep an event within a cache line");

/* Names as written in the log ("session-create", "expired"), NULL when out of range. */
const char *eph_natlog_type_name(unsigned int type);
const char *eph_natlog_reason_name(unsigned int reason);

struct eph_natlog_ring {
	struct rte_ring *ring; /* elements: struct eph_natlog_event; SP/SC */
	uint64_t lost;         /* written by the producer only (relaxed stores) */
} __rte_cache_aligned;

/*
 * A ring holding exactly count events (count >= 1), for one producer and
 * one consumer. NULL and rte_errno (EINVAL, EEXIST, ENAMETOOLONG, ENOMEM)
 * on failure. Control path.
 */
struct eph_natlog_ring *eph_natlog_ring_create(const char *name, unsigned int count, int socket_id);
void eph_natlog_ring_free(struct eph_natlog_ring *r);

/* Queue one event; never waits: a full ring counts it lost. r NULL: logging is off. */
static inline void
eph_natlog_emit(struct eph_natlog_ring *r, const struct eph_natlog_event *ev)
{
	if (r == NULL)
		return;
	/* DPDK 22.11 takes a non-const pointer but only reads through it. */
	if (unlikely(rte_ring_sp_enqueue_elem(r->ring, (void *)(uintptr_t)ev, sizeof(*ev)) != 0))
		__atomic_store_n(&r->lost, r->lost + 1, __ATOMIC_RELAXED);
}

/* Take up to max events, oldest first (the consumer only). Returns how many. */
unsigned int eph_natlog_drain(struct eph_natlog_ring *r, struct eph_natlog_event *out,
			      unsigned int max);

/* Events lost so far (any thread). */
static inline uint64_t
eph_natlog_ring_lost(const struct eph_natlog_ring *r)
{
	return __atomic_load_n(&r->lost, __ATOMIC_RELAXED);
}

#endif /* EPH_NATLOG_H */

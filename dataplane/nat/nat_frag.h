/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 fragments through the source NAT (RFC 4787 REQ-14), by virtual
 * reassembly as VPP's NAT44-ED does it: fragments are translated and sent
 * one by one, never joined. The first fragment (offset 0) carries the
 * ports: it finds or opens its session as an unfragmented packet does and
 * gets the full rewrite (addresses, port, L4 checksum: the checksum covers
 * the whole datagram, so the incremental update of the address and port
 * deltas in the first fragment is still right). Every later fragment of
 * the datagram (same source, destination, IP id and protocol) gets only the
 * address rewrite and its header checksum, learned from the first.
 * Fragments that arrive before their first are held, bounded in number,
 * bytes and time, and released when the first arrives.
 *
 * Why not librte_ip_frag: its table (rte_ip_frag_tbl) reassembles, that
 * is holds every fragment until the datagram is whole and hands back one
 * chained mbuf, then forgets the datagram. Virtual reassembly needs the
 * opposite: pass fragments on at once, hold only those ahead of the first,
 * and remember the datagram's translation after its first went out (for
 * fragments still to come). Its death row only defers frees. So this is a
 * small table of its own, per worker, single writer, no locks.
 *
 * Workers. Sessions live on an owner worker (nat.h); fragments of one
 * datagram reach one worker (RSS hashes fragments on addresses only; with
 * one queue there is one worker). Only the first fragment tells the
 * owner of an outside packet (by its port), so the receiving worker keeps
 * the datagram's state:
 *   - the first fragment goes the way of any packet: translated here when
 *     this worker owns its session (the datagram learns the translation:
 *     TRANSLATE), or handed to the owner (the datagram records where:
 *     STEER). The owner, translating it, learns the translation in its own
 *     table; a worker that hands the first on again (a lender to the
 *     borrower of the port) records STEER in its own table as well;
 *   - a later fragment is translated (TRANSLATE), handed to the worker the
 *     first went to (STEER, kind EPH_HANDOFF_FRAG, which the owner looks up
 *     in its own table), or held (PENDING) until the first decides.
 * The rings between two workers are FIFO, so a later fragment handed on
 * reaches the owner after its first; one that still arrives before the
 * translation is learned there (the first went round a lender to borrow
 * a port) is held there as well. With one worker nothing is handed over.
 *
 * Each datagram keeps a bitmap of the 8-byte units seen: a fragment
 * covering a unit already seen is dropped (frag_duplicate if all of it was
 * seen, else frag_overlap), so no byte of a datagram leaves twice, and
 * no later fragment can rewrite the L4 header the first carried (RFC
 * 1858). A datagram is forgotten when all its bytes went through, or
 * when its time is up (held fragments then dropped as frag_timeout).
 */
#ifndef EPH_NAT_FRAG_H
#define EPH_NAT_FRAG_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "dataplane/counters.h"

struct rte_mbuf;
struct rte_hash;

#define EPH_FRAG_UNITS 8192                  /* 8-byte units of a 64 KiB datagram */
#define EPH_FRAG_WORDS (EPH_FRAG_UNITS / 64) /* bitmap words per datagram */
#define EPH_FRAG_NIL   UINT32_MAX

static inline bool
eph_ip_is_fragment(const struct rte_ipv4_hdr *ip)
{
	const rte_be16_t flags = RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK);

	return (ip->fragment_offset & flags) != 0;
}

/* Offset in bytes of a fragment's payload in its datagram. */
static inline uint32_t
eph_frag_offset(const struct rte_ipv4_hdr *ip)
{
	return (uint32_t)(rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) * 8;
}

/* A datagram: its addresses as received, IP id, protocol and direction (EPH_DIR_*). */
struct eph_frag_key {
	uint32_t src; /* network order */
	uint32_t dst; /* network order */
	uint16_t id;  /* network order */
	uint8_t proto;
	uint8_t dir;
};

enum eph_frag_state {
	EPH_FRAG_PENDING,   /* first not seen: later fragments held */
	EPH_FRAG_TRANSLATE, /* first translated here: rewrite later ones */
	EPH_FRAG_STEER,     /* first handed to worker `owner`: hand later ones there */
	EPH_FRAG_DEAD,      /* first dropped as `dead`: drop the others alike */
};

struct eph_frag_dgram {
	struct eph_frag_key key;
	uint8_t state;     /* enum eph_frag_state */
	uint8_t dead;      /* DEAD: enum eph_drop_reason of the first */
	uint16_t owner;    /* STEER */
	uint32_t new_addr; /* TRANSLATE: source (in->out) or destination (out->in), network order */
	uint16_t l3_delta; /* TRANSLATE: header checksum delta of that change */
	uint16_t n_held;
	uint32_t held_head; /* held fragments, oldest first (index into held[]) */
	uint32_t held_tail;
	uint32_t seen;  /* bytes seen */
	uint32_t end;   /* the furthest byte seen, + 1 */
	uint32_t total; /* datagram length, known from its last fragment; 0: not yet */
	uint64_t expire_tsc;
	uint32_t prev, next; /* age list, oldest first; next: the free list when free */
};

struct eph_frag_held {
	struct rte_mbuf *m;
	uint32_t next; /* next held fragment of the datagram, or the free list */
	uint32_t nh;   /* what its handler was given with it */
	uint16_t in_port;
	uint16_t pool;
};

struct eph_frag_params {
	uint32_t max_datagrams;
	uint32_t max_held;
	uint64_t max_held_bytes;
	uint64_t timeout_tsc;
};

/* One worker's table. dp: rw own; cp: creates and frees; telemetry: reads the gauges. */
struct eph_frag_table {
	struct rte_hash *index;     /* key -> dgram index (its data) */
	struct eph_frag_dgram *d;   /* [max_datagrams] */
	uint64_t *cover;            /* [max_datagrams][EPH_FRAG_WORDS] */
	struct eph_frag_held *held; /* [max_held] */
	uint32_t held_free;
	uint32_t free;           /* free datagrams, linked by next */
	uint32_t n_held;         /* gauge */
	uint64_t held_bytes;     /* gauge */
	uint32_t n_dgrams;       /* gauge */
	uint32_t oldest, newest; /* age list */
	struct eph_frag_params p;
};

struct eph_frag_table *eph_frag_table_create(const char *name, const struct eph_frag_params *p,
					     int socket);
/* Frees the held fragments too. */
void eph_frag_table_free(struct eph_frag_table *t);

static inline struct eph_frag_key
eph_frag_key_of(const struct rte_ipv4_hdr *ip, int dir)
{
	return (struct eph_frag_key){
		.src = ip->src_addr,
		.dst = ip->dst_addr,
		.id = ip->packet_id,
		.proto = ip->next_proto_id,
		.dir = (uint8_t)dir,
	};
}

/* The datagram of key: found, or created PENDING (create). EPH_FRAG_NIL: none, or full. */
uint32_t eph_frag_find(struct eph_frag_table *t, const struct eph_frag_key *key, bool create,
		       uint64_t now_tsc);

/*
 * Account fragment ip's bytes in datagram idx: EPH_DROP_MAX when new,
 * else why it is to be dropped (frag_duplicate, frag_overlap).
 */
enum eph_drop_reason eph_frag_cover(struct eph_frag_table *t, uint32_t idx,
				    const struct rte_ipv4_hdr *ip);

/* Whether the first fragment's unit (offset 0) of datagram idx was seen. */
static inline bool
eph_frag_first_seen(const struct eph_frag_table *t, uint32_t idx)
{
	return (t->cover[(uint64_t)idx * EPH_FRAG_WORDS] & 1) != 0;
}

/* Hold m in datagram idx: false when over the limits (the caller drops it). */
bool eph_frag_hold(struct eph_frag_table *t, uint32_t idx, struct rte_mbuf *m, uint16_t in_port,
		   uint16_t pool, uint32_t nh);

/* The oldest fragment held in datagram idx, taken out of it; NULL: none. */
struct rte_mbuf *eph_frag_unhold(struct eph_frag_table *t, uint32_t idx, uint16_t *in_port,
				 uint16_t *pool, uint32_t *nh);

/* Forget datagram idx (nothing held) if all its bytes went through. */
void eph_frag_done(struct eph_frag_table *t, uint32_t idx);

/*
 * Forget up to budget datagrams whose time is up, freeing their held
 * fragments. Returns how many fragments were freed (the caller counts
 * them as frag_timeout). Cheap when nothing is due.
 */
unsigned int eph_frag_expire(struct eph_frag_table *t, uint64_t now_tsc, unsigned int budget);

#endif /* EPH_NAT_FRAG_H */

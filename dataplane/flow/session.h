/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-worker NAT session table and idle-timer wheel.
 *
 * One table per worker lcore, touched only by that lcore: no locks, no
 * atomics. A session is one record in a preallocated array, reachable
 * through two keys (inside 5-tuple and outside 5-tuple). Keys are never
 * stored: they are rebuilt from the record's addresses and ports, so insert,
 * delete and callers agree by construction (eph_session_in_key /
 * eph_session_out_key), and a lookup compares the key against the record it
 * is about to use anyway.
 *
 * Index: a bucketed cuckoo hash. A bucket is one cache line of 10 slots,
 * each a 16-bit signature and a 32-bit reference (record index, which key,
 * whether the slot is the key's second bucket). A key may sit in its first
 * bucket or in its second one, derived from the first and the signature
 * alone, so entries move between their two buckets without the key. Each
 * bucket counts the keys that had to go to their second bucket, so most
 * lookups read one bucket line and the record: two cache lines, no key
 * store. Buckets are sized for 9/10 of the slots at the table's maximum;
 * a key no displacement path makes room for (never seen at that load)
 * waits in a small stash, so in practice inserts fail only when the table
 * is full. ~14 B of index per session, where rte_hash took ~150 B (key
 * store, buckets, extendable buckets, free-slot rings) and one more cache
 * miss per lookup.
 *
 * Records name four endpoints: the original direction's source and
 * destination (in_addr:in_port -> remote_addr:remote_port) and the reply
 * direction's (reply source -> out_addr:out_port). In a source-NAT table the
 * reply comes from where the original went (reply source = remote); a
 * four-way table (eph_session_table_four_way: full-NAT, destination NAT)
 * keeps the reply source apart, in reply_addr:reply_port. The rest of the
 * table works the same for both.
 *
 * Timers: a single-level wheel of EPH_SESSION_WHEEL_SLOTS ticks, lists
 * linked through the records. The packet path refreshes a session by
 * moving s->expire later; the wheel re-files it when its old slot comes
 * due. Expiry does bounded work per call.
 */
#ifndef EPH_SESSION_H
#define EPH_SESSION_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <netinet/in.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_prefetch.h>
#include <rte_vect.h>

/* Keys are hashed and compared as 16 raw bytes: pad must be zero. */
struct eph_flow_key {
	uint32_t src_addr; /* network order */
	uint32_t dst_addr; /* network order */
	uint16_t src_port; /* network order; ICMP echo: identifier or 0 (see below) */
	uint16_t dst_port; /* network order */
	uint8_t proto;     /* IPPROTO_* */
	uint8_t pad[3];    /* zero */
};
static_assert(sizeof(struct eph_flow_key) == 16, "flow key must be 16 bytes");

/*
 * A key's halves as they sit in memory, built in registers: hashing or
 * comparing a key just written field by field would read 8 bytes back
 * from narrower stores, which waits for them to retire.
 */
static inline uint32_t
eph_flow_ports(uint16_t src_port, uint16_t dst_port)
{
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	return (uint32_t)src_port | (uint32_t)dst_port << 16;
#else
	return (uint32_t)src_port << 16 | (uint32_t)dst_port;
#endif
}

static inline uint64_t
eph_flow_addrs(uint32_t src_addr, uint32_t dst_addr)
{
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	return (uint64_t)src_addr | (uint64_t)dst_addr << 32;
#else
	return (uint64_t)src_addr << 32 | (uint64_t)dst_addr;
#endif
}

/* The second half: ports (eph_flow_ports, or 4 bytes of a TCP/UDP header), proto, zero pad. */
static inline uint64_t
eph_flow_tail(uint32_t ports, uint8_t proto)
{
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	return (uint64_t)ports | (uint64_t)proto << 32;
#else
	return (uint64_t)ports << 32 | (uint64_t)proto << 24;
#endif
}

/*
 * k from its halves: addrs = source and destination address as they sit in
 * an IPv4 header (or eph_flow_addrs), tail = eph_flow_tail.
 */
static inline void
eph_flow_key_set(struct eph_flow_key *k, uint64_t addrs, uint64_t tail)
{
	memcpy(k, &addrs, sizeof(addrs));
	memcpy((uint8_t *)k + sizeof(addrs), &tail, sizeof(tail));
}

/* s->state of a UDP or ICMP session (TCP sessions hold enum eph_tcp_state). */
#define EPH_SESS_ACTIVE 0

/* Link value of "no session" (timer lists, free list). */
#define EPH_SESSION_NIL UINT32_MAX

/* Wheel size in ticks: 8192 ticks of 1/16 s cover 512 s, so only TCP established re-files. */
#define EPH_SESSION_WHEEL_SLOTS 8192u

/* Index space for sessions; above it sit the wheel's list heads. */
#define EPH_SESSION_MAX (1u << 29)

/*
 * One translation, one cache line. All fields: dp: rw by the owning worker
 * only; cp: none. "caller" = the NAT code (dataplane/nat/nat.c); "table" = this
 * module. The table fills the tuple from the keys at insert and zeroes the
 * rest; the caller fills pool, flags, deltas, host, state and expire.
 */
struct eph_session {
	/* Tuple (network order). table: set at insert; caller: ro. */
	uint32_t in_addr;
	uint32_t out_addr;
	uint32_t remote_addr;
	uint16_t in_port;     /* ICMP echo: inside identifier */
	uint16_t out_port;    /* ICMP echo: outside identifier */
	uint16_t remote_port; /* ICMP echo: 0 */
	/* Precomputed rewrite. caller: w at creation; ro on the packet path. */
	uint16_t l3_delta; /* one's-complement delta of the in->out address rewrite */
	uint16_t l4_delta; /* ... of address + port (TCP/UDP pseudo-header + port) */
	uint8_t proto;     /* table: set at insert */
	uint8_t state;     /* caller: enum eph_tcp_state (TCP) or EPH_SESS_ACTIVE */
	uint8_t pool;      /* caller: pool index */
	uint8_t flags;     /* caller: its own flags */
	uint16_t tcp_track; /* caller, TCP: what seq_end and the window scales hold (tcp_state.h) */
	/*
	 * Tick at which the session expires unless refreshed. caller: may move it
	 * later directly (lazy refresh); earlier only via eph_session_schedule()
	 * or eph_session_refresh(). table: reads it when the slot comes due.
	 */
	uint32_t expire;
	/* table only: wheel list links, or the free list while the record is free. */
	uint32_t timer_next;
	uint32_t timer_prev;
	union {
		uint32_t host;       /* caller, source NAT: per-inside-host counter index */
		uint32_t reply_addr; /* four-way tables: the reply's source; table: set at insert */
	};
	/* caller: counters, wrap freely. */
	uint32_t pkts_out; /* inside -> outside (original direction) */
	uint32_t pkts_in;  /* outside -> inside (reply direction) */
	union {
		uint32_t created;  /* caller, source NAT: tick of creation (logging) */
		struct {
			uint16_t reply_port; /* four-way: the reply's source port; table: at insert */
			uint16_t target;     /* caller, four-way: what the flow was sent to */
		};
	};
	union {
		/* caller, TCP sessions: sequence space each side has used (tcp_state.h) */
		uint32_t seq_end[2];
		/* caller, endpoint-independent mapping records: sessions opened from outside */
		uint32_t inbound;
	};
} __rte_cache_aligned;
static_assert(sizeof(struct eph_session) == 64, "session record must be one cache line");

/* A wheel list head; the same shape as a record's links. */
struct eph_timer_link {
	uint32_t next;
	uint32_t prev;
};

#define EPH_SESSION_BUCKET_SLOTS 10

/* One cache line of the index. table only. */
struct eph_session_bucket {
	uint16_t sig[EPH_SESSION_BUCKET_SLOTS]; /* 0: slot free; keys' signatures are never 0 */
	uint32_t ref[EPH_SESSION_BUCKET_SLOTS]; /* record index | EPH_SESSION_REF_* */
	uint16_t overflow; /* keys whose first bucket this is, sitting in their second */
	uint16_t spare;
} __rte_cache_aligned;
static_assert(sizeof(struct eph_session_bucket) == 64, "index bucket must be one cache line");

#define EPH_SESSION_REF_INDEX  (EPH_SESSION_MAX - 1) /* record index bits */
#define EPH_SESSION_REF_OUT    (1u << 29) /* the record's outside key (else its inside key) */
#define EPH_SESSION_REF_SECOND (1u << 30) /* the slot is in the key's second bucket */

/* Keys that found no room in either bucket, at most this many (then -ENOSPC). */
#define EPH_SESSION_STASH 16

struct eph_session_stash {
	uint64_t hash;
	uint32_t ref;
};

/* Most keys eph_session_lookup_bulk takes at once. */
#define EPH_SESSION_BULK_MAX 64

/* Owned by one worker; the fields are private to session.c (exposed for the inline helpers). */
struct eph_session_table {
	struct eph_session *sess;             /* [max], cache-aligned */
	struct eph_session_bucket *buckets;   /* [n_buckets] */
	uint32_t n_buckets;
	uint32_t seed[2];                     /* keys the hash: outsiders cannot aim at a bucket */
	uint32_t max;                         /* sessions */
	uint32_t count;                       /* live sessions */
	uint32_t free_head;                   /* LIFO free list through timer_next */
	uint32_t done;                        /* last tick whose slot has been fully processed */
	uint32_t n_timers;                    /* sessions linked in the wheel */
	uint32_t n_stash;
	bool four_way;                        /* reply source kept apart (see the top) */
	struct eph_session_stash stash[EPH_SESSION_STASH];
	struct eph_timer_link *heads;         /* [WHEEL_SLOTS + 1]: slots, then the overdue list */
	uint64_t moves;                       /* entries displaced to make room (statistics) */
	uint64_t stashed;                     /* keys that ever went to the stash (statistics) */
	size_t bytes;                         /* heap taken at create: index, records, wheel */
	char name[32];
};

/* max_sessions in [1, EPH_SESSION_MAX]. NULL + rte_errno on failure. Control lcore. */
struct eph_session_table *eph_session_table_create(const char *name, uint32_t max_sessions,
						   int socket_id);
void eph_session_table_free(struct eph_session_table *t);

/*
 * Make an empty table four-way: an insert's keys need share nothing but
 * the protocol, and the reply key is rebuilt from reply_addr:reply_port.
 * seed_from (NULL: none): take its hash keys, so that one hash of a
 * packet's 5-tuple serves lookups in both tables. 0, or -EBUSY when t
 * holds sessions.
 */
int eph_session_table_four_way(struct eph_session_table *t,
			       const struct eph_session_table *seed_from);

/*
 * Paired insert with rollback: both keys resolve to the same record, or
 * nothing is inserted. The record's tuple is filled from the keys, the
 * rest zeroed and unscheduled. Returns the index (>= 0) and *s (if s is
 * not NULL), or -ENOSPC (table full), -EEXIST (either key present),
 * -EINVAL (keys disagree on remote address/port or proto, pad not zero,
 * or both keys equal: the record could not rebuild them).
 */
int32_t eph_session_insert(struct eph_session_table *t, const struct eph_flow_key *in_key,
			   const struct eph_flow_key *out_key, struct eph_session **s);

static inline struct eph_session *
eph_session_get(struct eph_session_table *t, uint32_t idx)
{
	return &t->sess[idx];
}

/*
 * The hash of the key with halves addrs and tail (eph_flow_key_set) in
 * table t: first bucket from the low half, signature and second bucket
 * from the high half. Two keyed CRC32-C chains over the halves in opposite
 * orders: with one order, CRC's linearity would make the two differ by a
 * constant, and the keys of a bucket would share their signature. Never 0.
 */
static inline uint64_t
eph_session_hash_halves(const struct eph_session_table *t, uint64_t addrs, uint64_t tail)
{
	uint32_t a = rte_hash_crc_8byte(tail, rte_hash_crc_8byte(addrs, t->seed[0]));
	uint32_t b = rte_hash_crc_8byte(addrs, rte_hash_crc_8byte(tail, t->seed[1]));

	return (uint64_t)(b | 1) << 32 | a;
}

static inline uint64_t
eph_session_hash(const struct eph_session_table *t, const struct eph_flow_key *key)
{
	uint64_t w[2];

	memcpy(w, key, sizeof(w));
	return eph_session_hash_halves(t, w[0], w[1]);
}

/* First bucket of a hash: multiply-shift onto [0, n_buckets), no division. */
static inline uint32_t
eph_session_bucket_of(const struct eph_session_table *t, uint64_t hash)
{
	return (uint32_t)(((hash & UINT32_MAX) * t->n_buckets) >> 32);
}

/* The rest of the index's arithmetic, shared with session.c. */
static inline uint16_t
eph_session_sig(uint64_t hash)
{
	uint16_t sig = (uint16_t)(hash >> 48);

	return sig != 0 ? sig : 1; /* 0 marks a free slot */
}

/*
 * The other bucket of an entry with signature sig in bucket b: (o - b) mod
 * n with o from the signature alone, so applying it twice gives b back and
 * an entry can move either way without its key.
 */
static inline uint32_t
eph_session_other_bucket(const struct eph_session_table *t, uint32_t b, uint16_t sig)
{
	uint32_t o = (uint32_t)(((uint64_t)((uint32_t)sig * 0x9e3779b1u) * t->n_buckets) >> 32);

	return o >= b ? o - b : o + t->n_buckets - b;
}

/* Bit i set when slot i has signature sig (sig 0: the free slots). */
static inline uint32_t
eph_session_sig_mask(const struct eph_session_bucket *b, uint16_t sig)
{
#if defined(RTE_ARCH_X86)
	/* Slots 0-7 and 2-9: two overlapping 16-byte compares, one bit per slot each. */
	__m128i want = _mm_set1_epi16((short)sig);
	__m128i lo = _mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)&b->sig[0]), want);
	__m128i hi = _mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)&b->sig[2]), want);
	uint32_t m_lo = (uint32_t)_mm_movemask_epi8(_mm_packs_epi16(lo, lo)) & 0xff;
	uint32_t m_hi = (uint32_t)_mm_movemask_epi8(_mm_packs_epi16(hi, hi)) & 0xff;

	static_assert(EPH_SESSION_BUCKET_SLOTS == 10, "two 8-slot compares cover 10 slots");
	return m_lo | m_hi << 2;
#else
	uint32_t m = 0;

	for (unsigned int i = 0; i < EPH_SESSION_BUCKET_SLOTS; i++)
		m |= (uint32_t)(b->sig[i] == sig) << i;
	return m;
#endif
}

/*
 * Lookups in stages, ahead of eph_session_lookup_bulk (which then finds
 * everything in the cache): first start loading the key's first bucket;
 * later, once it is in, start loading its candidate's record, or the
 * second bucket. Each stage wants a few hundred cycles of other work before
 * the next. The candidate (a reference, EPH_SESSION_NIL: none) spares
 * eph_session_lookup_bulk reading the bucket again; the record decides.
 */
static inline void
eph_session_prefetch(const struct eph_session_table *t, uint64_t hash)
{
	rte_prefetch0(&t->buckets[eph_session_bucket_of(t, hash)]);
}

static inline uint32_t
eph_session_prefetch_record(const struct eph_session_table *t, uint64_t hash)
{
	uint32_t b1 = eph_session_bucket_of(t, hash);
	const struct eph_session_bucket *b = &t->buckets[b1];
	uint32_t m = eph_session_sig_mask(b, eph_session_sig(hash));

	if (m != 0) {
		uint32_t ref = b->ref[__builtin_ctz(m)];

		rte_prefetch0(&t->sess[ref & EPH_SESSION_REF_INDEX]);
		return ref;
	}
	if (b->overflow != 0)
		rte_prefetch0(&t->buckets[eph_session_other_bucket(t, b1, eph_session_sig(hash))]);
	return EPH_SESSION_NIL;
}

/* Index or -ENOENT. */
int32_t eph_session_lookup(const struct eph_session_table *t, const struct eph_flow_key *key);
/* The same with the key's eph_session_hash. */
int32_t eph_session_lookup_with_hash(const struct eph_session_table *t,
				     const struct eph_flow_key *key, uint64_t hash);

/* Whether record idx (< t->max) holds a session: for walks over the whole table. */
bool eph_session_in_use(const struct eph_session_table *t, uint32_t idx);

/*
 * Look up n keys (n <= EPH_SESSION_BULK_MAX) as a pipeline: every first
 * bucket, then the second buckets some keys need, then every record, each
 * stage's loads started before the next stage reads them. hashes are the
 * keys' eph_session_hash (NULL: computed here); cands (NULL: none) their
 * eph_session_prefetch_record candidates, tried first. idx[i] = index or
 * -1; the records of hits are in the cache when this returns. Returns the
 * hit mask.
 */
uint64_t eph_session_lookup_bulk(const struct eph_session_table *t,
				 const struct eph_flow_key *keys, const uint64_t *hashes,
				 const uint32_t *cands, uint32_t n, int32_t *idx);

/* Remove both keys (rebuilt from the record), unschedule, free the slot. A free idx is ignored. */
void eph_session_delete(struct eph_session_table *t, uint32_t idx);

static inline uint32_t
eph_session_count(const struct eph_session_table *t)
{
	return t->count;
}

/* Heap bytes the table took at create: index, records, wheel (for bytes-per-session). */
size_t eph_session_table_bytes(const struct eph_session_table *t);

/*
 * Keys of a record. in: src=in, dst=remote, sport=in_port, dport=remote_port.
 * out: src=remote, dst=out, sport=remote_port, dport=out_port. For ICMP the
 * remote port is always 0, giving (in_addr, remote, in_id, 0) and
 * (remote, out_addr, 0, out_id).
 */
static inline void
eph_session_in_key(const struct eph_session *s, struct eph_flow_key *k)
{
	uint16_t remote_port = s->proto == IPPROTO_ICMP ? 0 : s->remote_port;

	eph_flow_key_set(k, eph_flow_addrs(s->in_addr, s->remote_addr),
			 eph_flow_tail(eph_flow_ports(s->in_port, remote_port), s->proto));
}

static inline void
eph_session_out_key(const struct eph_session *s, struct eph_flow_key *k)
{
	uint16_t remote_port = s->proto == IPPROTO_ICMP ? 0 : s->remote_port;

	eph_flow_key_set(k, eph_flow_addrs(s->remote_addr, s->out_addr),
			 eph_flow_tail(eph_flow_ports(remote_port, s->out_port), s->proto));
}

/* The reply-direction key of a record of table t (eph_session_out_key in a source-NAT table). */
static inline void
eph_session_reply_key(const struct eph_session_table *t, const struct eph_session *s,
		      struct eph_flow_key *k)
{
	if (!t->four_way) {
		eph_session_out_key(s, k);
		return;
	}
	eph_flow_key_set(k, eph_flow_addrs(s->reply_addr, s->out_addr),
			 eph_flow_tail(eph_flow_ports(s->reply_port, s->out_port), s->proto));
}

/* (Re)arm: file the session for tick expire (sets s->expire). */
void eph_session_schedule(struct eph_session_table *t, uint32_t idx, uint32_t expire);

/*
 * Packet-path refresh to expire: a later time is just stored (the wheel
 * re-files lazily); an earlier one (e.g. established -> RST) re-files now,
 * otherwise it would fire late. The session must have been scheduled.
 */
static inline void
eph_session_refresh(struct eph_session_table *t, uint32_t idx, uint32_t expire)
{
	struct eph_session *s = &t->sess[idx];

	if (likely((int32_t)(expire - s->expire) >= 0))
		s->expire = expire;
	else
		eph_session_schedule(t, idx, expire);
}

typedef void (*eph_session_expire_cb)(struct eph_session_table *t, uint32_t idx, void *arg);

/* Lazy re-files allowed per callback of budget, so a call's work stays bounded. */
#define EPH_SESSION_REFILE_FACTOR 4

/*
 * Advance the wheel to tick now and call cb for sessions whose expire <= now
 * (serial arithmetic: ticks may wrap). At most budget callbacks and at most
 * EPH_SESSION_REFILE_FACTOR * budget lazy re-files per call; what is left
 * is handled by the next call, never lost and never early. A session is
 * unlinked from the wheel before cb runs: cb normally deletes it, or
 * re-arms it with eph_session_schedule() (if it does neither, the session
 * stays in the table unscheduled). cb may delete other sessions too.
 * Returns the number of callbacks made.
 */
unsigned eph_session_expire(struct eph_session_table *t, uint32_t now, unsigned budget,
			    eph_session_expire_cb cb, void *arg);

/* Sessions linked in the wheel (scheduled and not yet expired). */
static inline uint32_t
eph_session_scheduled(const struct eph_session_table *t)
{
	return t->n_timers;
}

/*
 * Whether eph_session_expire at tick now has work: ticks not yet processed,
 * or what an earlier call left on the overdue list when its budget ran out.
 */
static inline bool
eph_session_expire_pending(const struct eph_session_table *t, uint32_t now)
{
	const struct eph_timer_link *overdue = &t->heads[EPH_SESSION_WHEEL_SLOTS];

	if (t->n_timers == 0)
		return false;
	return (int32_t)(now - t->done) > 0 || overdue->next != t->max + EPH_SESSION_WHEEL_SLOTS;
}

/*
 * What the input path learnt of a packet's session before handing it to a
 * feature: the eph_session_hash of its 5-tuple in the worker's session
 * table (for TCP and UDP the key as it is; 0: not computed) and the
 * candidate eph_session_prefetch_record found (EPH_SESSION_NIL: none).
 */
struct eph_session_ahead {
	uint64_t hash;
	uint32_t cand;
};

#endif /* EPH_SESSION_H */

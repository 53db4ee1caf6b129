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
 *
 * Port lending: when the owner's share has no port left for a destination,
 * the new flow's packet goes round the other workers (BORROW handoffs) until
 * one takes a port of its own share for that destination; it keeps a loan
 * record under the flow's outside key, so replies, which still reach the
 * port's share owner, are handed on to the session's worker, and sends the
 * packet back (LENT) to the owner, which opens the session. When the
 * session ends, its port goes back to the lender over a ring of loan returns
 * (struct eph_nat_loan_return), and rests there in quarantine. One host can
 * so use every port of the range towards one destination, whatever the
 * worker count; only flows beyond the owner's share pay for it. See
 * dataplane/ports/portalloc.h for the reasoning and the costs.
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
#include "dataplane/flow/flow.h"
#include "dataplane/flow/session.h"

struct eph_session_table;
struct eph_frag_table;
struct eph_ftp_table;
struct eph_portalloc;
struct eph_portblock;
struct eph_natlog_ring;
struct eph_nat_ctl;
struct eph_worker;
struct eph_dp;
struct rte_mbuf;

/*
 * Live configuration. Pools sit in fixed slots for the life of the process:
 * sessions record their pool's slot, so adding or removing a pool never
 * renumbers another. Everything the workers read about pools, timeouts and
 * routes is one immutable snapshot (struct eph_dp_cfg) that the control
 * lcore replaces whole and frees after an RCU grace period, so a worker
 * sees either the old configuration or the new one, never a mix.
 *
 * Port allocators come in up to EPH_PA_GENS generations per pool: a change
 * of range, exclusions, quarantine or parity starts a new generation for new
 * sessions while the old one keeps serving the releases of the sessions it
 * gave ports to (drain), and is freed once none is left.
 */
#define EPH_PA_GENS 4
#define EPH_NAT_ADDR_SLOTS (2 * EPH_MAX_POOL_ADDRS) /* per pool: addresses, reserve, draining */

enum eph_pool_state {
	EPH_POOL_FREE,     /* slot unused */
	EPH_POOL_ACTIVE,
	EPH_POOL_DRAINING, /* removed from the configuration: serves its sessions only */
};

enum eph_addr_state {
	EPH_ADDR_ACTIVE,
	EPH_ADDR_RESERVE,  /* used only when a destination is exhausted on the active ones */
	EPH_ADDR_DRAINING, /* removed: serves its sessions only */
};

struct eph_nat_addr {
	uint32_t addr;  /* network order */
	uint16_t slot;  /* index of its per-worker counters */
	uint8_t state;  /* enum eph_addr_state */
};

/*
 * How one allocator generation hands out ports, and so which worker owns
 * an outside port: interleaved per-destination shares (port % n_workers),
 * or RFC 7422 blocks (block index % n_workers).
 */
struct eph_nat_gen {
	bool blocks;          /* port blocks (struct eph_portblock), else eph_portalloc */
	uint16_t port_lo;     /* blocks: where block 0 starts */
	uint16_t block_size;
};

/* One pool in a snapshot. Arrays belong to the snapshot. */
struct eph_nat_pool {
	uint8_t state;             /* enum eph_pool_state */
	uint8_t gen;               /* allocator generation of new sessions */
	uint8_t gens;              /* generations with allocators: bit per generation */
	uint8_t mapping;           /* enum eph_nat_mapping */
	uint8_t filtering;         /* enum eph_nat_filtering */
	uint8_t pooling;           /* enum eph_nat_pooling */
	uint8_t log;               /* enum eph_nat_log_mode */
	bool preservation;
	bool exhaustion_icmp;
	bool balancer;             /* the balancer's local addresses: replies go to it */
	bool hairpinning;          /* inside hosts may reach its mappings through its addresses */
	bool alg_ftp;              /* FTP control connections to ftp_port get the gateway (nat_ftp.h) */
	uint16_t ftp_port;         /* network order */
	uint8_t warn_occupancy;    /* percent of a destination's share */
	uint32_t max_per_host;     /* 0: no limit */
	uint32_t max_inbound_per_mapping; /* endpoint-independent filtering: sessions from outside */
	uint32_t n_addrs;          /* active addresses: new sessions take these */
	uint32_t *addrs;           /* network order, ascending host order */
	uint16_t *addr_slot;       /* [n_addrs] */
	uint32_t n_reserve;
	uint32_t *reserve;         /* network order */
	uint16_t *reserve_slot;
	uint32_t n_all;            /* active, reserve and draining, ascending host order */
	struct eph_nat_addr *all;
	struct eph_nat_gen g[EPH_PA_GENS];
	char name[EPH_NAME_LEN];
};

#define EPH_NAT_TICK_HZ EPH_FLOW_TICK_HZ

/* The NAT part of a configuration snapshot. */
struct eph_nat_cfg {
	unsigned int n_slots;      /* pools[] slots in use are below this */
	unsigned int n_active;     /* pools in state ACTIVE */
	struct eph_nat_pool pools[EPH_MAX_POOLS];
	struct rte_fib *inside;    /* inside source prefix -> pool slot + 1 (0: no NAT) */
	struct eph_flow_timeouts timeouts;
};

/* Shared NAT state, read-only after start. */
struct eph_nat {
	bool enabled;              /* started with pools: per-worker NAT tables exist */
	uint32_t secret;           /* keys the host-owner hash and address pairing */
	uint32_t cookie_key[2];    /* keys the balancer's SYN cookies (lb/synproxy.h) */
	uint64_t tick_tsc;         /* TSC cycles per tick */
	uint64_t start_tsc;
	struct rte_ring **handoff; /* [from * n_workers + to], SP/SC; NULL on the diagonal */
	struct rte_ring **loans;   /* [borrower * n_workers + lender], SP/SC loan returns */
};

/*
 * Ports one worker may have on loan to another at once: a lender lends no
 * more than its return ring from that borrower holds, so returns never
 * find it full (each message in it is a distinct loan not yet processed).
 */
#define EPH_NAT_LOAN_RING 16384u
#define EPH_NAT_LOANS_MAX (EPH_NAT_LOAN_RING - 1)

/* A lent port given back (borrower -> lender): enough to find the loan record. */
struct eph_nat_loan_return {
	uint32_t out_addr;    /* network order */
	uint32_t remote_addr; /* network order; 0 for endpoint-independent mappings */
	uint16_t out_port;    /* network order */
	uint16_t remote_port; /* network order; 0 for endpoint-independent mappings and ICMP */
	uint8_t proto;
	uint8_t pool;
	uint8_t gen;
	uint8_t clean;        /* reusable at once, else it rests in the lender's quarantine */
};

/* Per-inside-host state on its owner worker. */
struct eph_nat_host {
	uint32_t addr;             /* network order */
	uint32_t sessions;         /* live sessions (per-host limit) */
	uint32_t paired;           /* network order: its outside address while it has sessions
				    * (RFC 4787 REQ-2, kept when addresses are added) */
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
	X(exhaustion_icmp_sent, "ICMP unreachable sent for want of a port")       \
	X(borrow_requests, "new flows sent round the other workers for a port")  \
	X(ports_borrowed, "ports received on loan from another worker's share")  \
	X(ports_lent, "ports of this worker's share lent to another worker")     \
	X(loans_returned, "lent ports given back by their borrower")             \
	X(lend_refused, "borrow requests this worker's share could not serve")   \
	X(loans_lost, "loan returns that found their ring full: must stay 0")     \
	X(frag_translated, "fragments after the first translated as their first") \
	X(frag_held, "fragments held until their datagram's first arrived")      \
	X(frag_steered, "fragments handed to the worker of their first") \
	X(hairpinned, "inside packets to a pool address turned back inside (hairpinning)") \
	X(ftp_commands_rewritten, "FTP PORT/EPRT segments rewritten to the outside address (retransmissions too)") \
	X(ftp_data_expected, "FTP data connections made ready for a PORT/EPRT (active mode)") \
	X(ftp_split_refused, "FTP PORT/EPRT commands split across segments, refused") \
	X(ftp_refused, "FTP PORT/EPRT commands refused: malformed, another address, no port") \
	X(ftp_table_full, "FTP control connections translated without the gateway: table full")

enum eph_nat_counter {
#define EPH_NAT_CTR_ENUM(name, desc) EPH_NAT_##name,
	EPH_NAT_COUNTERS(EPH_NAT_CTR_ENUM)
#undef EPH_NAT_CTR_ENUM
	EPH_NAT_CTR_MAX
};

extern const char *const eph_nat_counter_names[EPH_NAT_CTR_MAX];
extern const char *const eph_nat_counter_descs[EPH_NAT_CTR_MAX];

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
	struct eph_frag_table *frag;        /* datagrams of fragments seen (nat_frag.h) */
	struct eph_ftp_table *ftp;          /* FTP control connections (nat_ftp.h) */
	/* cp: created and freed (after a grace period); dp: used while a snapshot names them */
	struct eph_portalloc *alloc[EPH_MAX_POOLS][EPH_PA_GENS];    /* per-destination generations */
	struct eph_portblock *blocks[EPH_MAX_POOLS][EPH_PA_GENS];   /* port-block generations */
	struct eph_natlog_ring *log;        /* NAT log events to the control lcore */
	struct eph_natlog_ring *alerts;     /* occupancy warnings to the control lcore */
	struct rte_ring *ctl;               /* SP/SC: control requests (struct eph_nat_ctl) */
	struct eph_nat_ctl *ctl_cur;        /* the request being worked on */
	struct rte_hash *hosts;             /* addr -> index into host[] */
	struct eph_nat_host *host;
	uint32_t max_hosts;
	uint32_t inbound;                   /* live sessions opened from outside (EIM filtering) */
	uint32_t *lent_to;                  /* [borrower]: ports on loan to it, returns not yet seen */
	uint32_t loan_sessions;             /* gauge: loan records in sessions (not sessions) */
	uint32_t loan_mappings;             /* gauge: loan records in mappings (not mappings) */
	uint32_t borrowed_live;             /* gauge: sessions and mappings on borrowed ports */
	uint16_t lend_hint;                 /* the worker that lent last: asked first next time */
	uint32_t max_inbound;               /* ... at most: a quarter of the session table */
	uint32_t now;                       /* current tick */
	bool timers_pending;                /* expiry left work for the next loop */
	uint64_t tick_start_tsc;            /* TSC at which tick `now` began */
	uint64_t alert_tokens;              /* occupancy warnings left this second */
	uint32_t alert_second;
	/* dp: rw own; cp: ro (relaxed). Per pool slot, [address slot] (cp allocates) */
	uint64_t *ports_in_use[EPH_MAX_POOLS];  /* this worker's live ports */
	uint64_t *exhausted[EPH_MAX_POOLS];     /* allocations refused */
	uint64_t *occupancy_warnings[EPH_MAX_POOLS]; /* destinations crossing warn-occupancy */
	uint32_t gen_live[EPH_MAX_POOLS][EPH_PA_GENS]; /* ports held per allocator generation */
	uint64_t alerts_suppressed;         /* warnings over the per-second budget */
	/* Live sessions by protocol and TCP state (gauges; wrap-around sums are exact). */
	uint64_t sessions_tcp[16];          /* [enum eph_tcp_state] */
	uint64_t sessions_udp;
	uint64_t sessions_icmp;
	uint64_t ctr[EPH_NAT_CTR_MAX];
	uint32_t top_next;                  /* tick of the next top-N refresh */
	struct eph_nat_top top;             /* dp: rw own; telemetry: ro (seqcount) */
	struct eph_nat_refusals refusals;   /* dp: rw own; telemetry: ro (seqcount) */
};

/* Live sessions and mappings of a worker, loan records left out (any thread: a gauge). */
static inline uint32_t
eph_nat_session_count(const struct eph_nat_worker *nw)
{
	return eph_session_count(nw->sessions) -
	       __atomic_load_n(&nw->loan_sessions, __ATOMIC_RELAXED);
}

static inline uint32_t
eph_nat_mapping_count(const struct eph_nat_worker *nw)
{
	return nw->mappings == NULL ? 0
				    : eph_session_count(nw->mappings) -
					      __atomic_load_n(&nw->loan_mappings, __ATOMIC_RELAXED);
}

/* Copy w's refusal tables consistently (telemetry thread). */
void eph_nat_refusals_read(const struct eph_nat_worker *nw, struct eph_nat_refusals *out);

/* Copy w's top-N destinations consistently (telemetry thread). */
unsigned int eph_nat_top_read(const struct eph_nat_worker *nw,
			      struct eph_nat_top_entry out[EPH_NAT_TOP_N]);

/* Owner worker of an inside host: the keyed hash scaled onto [0, n_workers), no division. */
static inline unsigned int
eph_nat_host_owner(const struct eph_nat *nat, uint32_t addr, unsigned int n_workers)
{
	return (unsigned int)(((uint64_t)rte_jhash_1word(addr, nat->secret) * n_workers) >> 32);
}

/* Owner worker of an outside port (the same interleave the allocator uses). */
static inline unsigned int
eph_nat_port_owner(uint16_t port_host_order, unsigned int n_workers)
{
	return port_host_order % n_workers;
}

/* Set up the per-worker tables (control lcore, before workers start); pools come with snapshots. */
int eph_nat_setup(struct eph_dp *dp, const struct eph_conf *conf, FILE *err);
void eph_nat_teardown(struct eph_dp *dp);

/*
 * Requests from the control lcore that need a worker's own tables: list or
 * clear sessions. The control lcore enqueues one on every worker's ctl ring
 * and waits for done; the worker works through its table a bounded number
 * of records per loop, so forwarding never stops for it.
 */
enum eph_nat_ctl_op {
	EPH_NAT_CTL_DUMP,  /* copy matching sessions to out[] */
	EPH_NAT_CTL_CLEAR, /* delete matching sessions, releasing their ports */
};

/* Which sessions: every field set must match. Addresses and masks network order. */
struct eph_session_filter {
	uint32_t in_addr, in_mask;
	uint32_t out_addr, out_mask;
	uint32_t remote_addr, remote_mask;
	uint16_t port;  /* network order, 0: any; else the inside, outside or remote port */
	uint8_t proto;  /* 0: any */
	int16_t pool;   /* slot, -1: any */
};

struct eph_session_info {
	uint32_t in_addr, out_addr, remote_addr; /* network order */
	uint16_t in_port, out_port, remote_port; /* network order */
	uint8_t proto;
	uint8_t state;
	uint8_t pool;
	uint32_t created;  /* ticks */
	uint32_t expire;   /* ticks */
	uint32_t pkts_out, pkts_in;
};

struct eph_nat_ctl {
	/* cp: set before enqueueing */
	uint8_t op;
	struct eph_session_filter filter;
	struct eph_session_info *out; /* DUMP: room for max_out */
	uint32_t max_out;
	/* dp: written while working, then done (release) */
	uint32_t cursor;
	uint32_t n_out;
	uint32_t now;                 /* the worker's tick when it finished */
	uint64_t matched;
	uint64_t cleared;
	bool done;
};

/* Work on the pending control request, if any (worker loop). */
void eph_nat_ctl_poll(struct eph_worker *w);


/*
 * Packet path entry points (dataplane/nat/nat.c), for the packets of one
 * received burst that routing gave to the NAT. They consume the mbufs.
 * Inside -> outside: pool[i] is the slot of the pool of pkts[i]'s source,
 * nh_idx[i] its FIB next hop.
 */
void eph_nat_in2out_burst(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts,
			  const uint16_t *pool, const uint32_t *nh_idx,
			  const struct eph_session_ahead *ahead, uint16_t n);
/* Outside -> inside: pool[i] is the slot of the pool address pkts[i] is sent to (its route). */
void eph_nat_out2in_burst(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts,
			  const uint16_t *pool, const struct eph_session_ahead *ahead,
			  uint16_t n);
/* Drain the handoff rings addressed to w. */
void eph_nat_handoff_drain(struct eph_worker *w);
/*
 * Advance the session clock and expire a bounded number of sessions, and
 * forget the fragments' datagrams whose time is up. Cheap to call every
 * loop: it returns at once unless the tick changed, a datagram is due or
 * an earlier call left expiry work.
 */
void eph_nat_timers(struct eph_worker *w, uint64_t now_tsc);

/*
 * Register the NAT with the core: the handler of EPH_NH_POOL next hops
 * (outside -> inside), the forward hook that translates routed packets
 * from NAT'd inside hosts, and the worker loop's poll (handoff rings,
 * timers, control requests). Called by eph_nat_setup.
 */
void eph_nat_register(void);

/*
 * The port service, for the balancer's full-NAT: ports of this worker's
 * share of a pool's addresses, per destination, exactly as source NAT
 * takes them (same allocators, generations, quarantine and counters), so
 * replies find their worker by port. take: a port of w's share on the
 * active addresses of pool, starting at index first (mod their number),
 * for destination remote_addr:remote_port (network order) and proto;
 * src_port: the client's port, tried first with port preservation. 0,
 * -ENOSPC (exhausted on every address: counted per address) or -ENOMEM.
 */
int eph_nat_port_take(struct eph_worker *w, unsigned int pool, uint32_t first, uint32_t remote_addr,
		      uint16_t remote_port, uint16_t src_port, uint8_t proto, uint32_t *addr,
		      uint16_t *port, uint8_t *gen);
/* Give a port eph_nat_port_take gave back (clean: reusable at once, else it rests). */
void eph_nat_port_give(struct eph_worker *w, unsigned int pool, uint8_t gen, uint32_t remote_addr,
		       uint16_t remote_port, uint8_t proto, uint32_t addr, uint16_t port, bool clean);
/*
 * The worker whose share holds port (host order) of pool, under the
 * snapshot's allocator generations (one worker: w itself).
 */
unsigned int eph_nat_port_owner_of(const struct eph_worker *w, unsigned int pool, uint16_t port);

/*
 * Hand m to worker owner over the NAT's handoff rings, with kind and
 * in_port, aux in the meta's out_port, nexthop in its nexthop: false (m
 * dropped and counted) when the ring is full.
 */
bool eph_nat_handoff(struct eph_worker *w, unsigned int owner, struct rte_mbuf *m, uint8_t kind,
		     uint16_t in_port, uint16_t aux, uint32_t nexthop);

/*
 * The balancer's entries into the NAT's paths: packets to the addresses of
 * balancer pools (replies from backends; slot[i]: the pool), and handoffs
 * of the balancer's kinds. Registered once at init.
 */
struct eph_nat_balancer_ops {
	void (*reply_input)(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts,
			    const uint16_t *slot, const struct eph_session_ahead *ahead, uint16_t n);
	void (*handoff_input)(struct eph_worker *w, struct rte_mbuf **pkts, uint16_t n);
	/*
	 * Whether a connection holds local port addr:port towards
	 * remote_addr:remote_port (network order): asked while an older
	 * allocator generation of a balancer pool drains, as for sessions.
	 */
	bool (*port_held)(struct eph_worker *w, uint32_t addr, uint16_t port, uint32_t remote_addr,
			  uint16_t remote_port, uint8_t proto);
	/* The table replies to balancer pools are looked up in (their lookahead). */
	const struct eph_session_table *(*flows)(const struct eph_worker *w);
};
void eph_nat_balancer_register(const struct eph_nat_balancer_ops *ops);

/* Pool slot + 1 of an inside source address (host order), 0 when not NAT'd. */
static inline unsigned int
eph_nat_pool_of(const struct eph_nat_cfg *cfg, uint32_t src_host)
{
	uint64_t v = 0;

	if (cfg->n_active == 0)
		return 0;
	rte_fib_lookup_bulk(cfg->inside, &src_host, &v, 1);
	return (unsigned int)v;
}

#endif /* EPH_NAT_H */

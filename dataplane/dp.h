/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data plane's shared context: ports, routes, neighbours, the rings
 * between lcores, and one struct per worker lcore. Built by the control
 * lcore before the workers start; fields say who writes and who reads.
 */
#ifndef EPH_DP_H
#define EPH_DP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "control/config.h"
#include "dataplane/counters.h"
#include "dataplane/nat/nat.h"
#include "dataplane/neigh.h"
#include "dataplane/output.h"
#include "dataplane/route.h"

#define EPH_MAX_BURST 256

/* ICMP types and codes the gateway sends (RFC 792); DPDK 22.11 names only echo. */
#define EPH_ICMP_DEST_UNREACH     3
#define EPH_ICMP_NET_UNREACH      0
#define EPH_ICMP_FRAG_NEEDED      4
#define EPH_ICMP_TIME_EXCEEDED    11
#define EPH_ICMP_TTL_IN_TRANSIT   0

struct eph_port {
	uint16_t port_id;          /* DPDK port id */
	uint16_t mtu;
	uint16_t mss_clamp;        /* ports[].mss-clamp: EPH_MSS_CLAMP_OFF/AUTO or the limit */
	uint32_t addr;             /* network order */
	uint32_t mask;             /* network order */
	struct rte_ether_addr mac;
	enum eph_port_role role;
	struct rte_mempool *rx_pool; /* a net_af_packet device's larger buffers (framesz), or NULL */
	char name[EPH_NAME_LEN];
	/* Its kernel interface (ports[].kernel-interface, dataplane/kernel.c), or none. */
	bool has_kernel;
	uint16_t kernel_port_id;          /* DPDK port (net_tap): a queue per worker */
	struct rte_ether_addr kernel_mac; /* the kernel interface's own MAC */
	char kernel_if[EPH_IFNAME_LEN];
	char kernel_vdev[RTE_DEV_NAME_MAX_LEN]; /* cp: to remove it at teardown */
};

/* Why a packet went to the control lcore, carried in the mbuf's dynfield. */
enum eph_slow_kind {
	EPH_SLOW_ARP = 1, /* ARP input */
	EPH_SLOW_RESOLVE, /* routed packet whose next hop has no MAC yet */
	EPH_HANDOFF_IN2OUT, /* NAT: to the inside host's owner (out_port: pool, nexthop: FIB index) */
	EPH_HANDOFF_OUT2IN, /* NAT: to the outside port's owner (out_port: pool, nexthop: generations tried) */
	EPH_HANDOFF_BORROW, /* NAT: a new flow to a worker asked to lend a port (as IN2OUT, + loan_*) */
	EPH_HANDOFF_LENT,   /* NAT: back to its borrower with the port lent (loan_port 0: none) */
	EPH_HANDOFF_LB_CLIENT, /* balancer: from a client, to its connection's owner */
	EPH_HANDOFF_LB_REPLY,  /* balancer: from a backend, to the owner of its local port */
	EPH_HANDOFF_FRAG,      /* NAT: a later fragment, to the worker its first went to (nexthop: EPH_DIR_*) */
};

struct eph_pkt_meta {
	uint32_t nexthop;  /* network order (resolve) */
	uint16_t in_port;  /* port index the packet arrived on */
	uint16_t out_port; /* port index to send on (resolve) */
	uint8_t kind;      /* enum eph_slow_kind */
	uint32_t cfg_gen;  /* handoff: the snapshot its next hop and pool come from (low bits) */
	/* BORROW and LENT (dataplane/nat/nat.c, port lending) */
	uint32_t loan_addr; /* network order: BORROW: the address to try first; LENT: the port's */
	uint16_t loan_port; /* network order; 0: not lent */
	uint16_t borrower;  /* worker that asked */
	uint8_t loan_gen;   /* allocator generation the port comes from */
	uint8_t loan_first; /* LENT: the port is on the address BORROW asked for first */
	uint8_t loan_which; /* the addresses to lend from: active or reserve (nat.c TAKE_*) */
	uint8_t asked;      /* workers asked so far */
};

struct eph_dp;
struct eph_reconfig;
struct eph_lb_cfg;
struct eph_lb_worker;

/*
 * Everything live reconfiguration may change, as one immutable snapshot.
 * cp: builds a new one, publishes it in dp->cfg, frees the old one after an
 * RCU grace period. dp: loads dp->cfg once per loop into w->cfg.
 * Telemetry threads read dp->cfg under dp->cfg_lock.
 */
struct eph_dp_cfg {
	uint64_t generation;           /* 1 at start, +1 per change */
	struct eph_route_table *routes;
	struct eph_nat_cfg nat;
	struct eph_lb_cfg *lb;         /* NULL: no VIP */
};

struct eph_worker {
	/* Read-only after start. */
	struct eph_dp *dp;
	uint16_t id;                   /* rx/tx queue on every port; RCU thread id */
	unsigned int lcore;
	struct rte_ring *from_control; /* SP/SC: control -> this worker, mbufs to send */
	struct rte_eth_dev_tx_buffer *txb[EPH_MAX_PORTS];

	/* dp: rw own; cp: none */
	const struct eph_dp_cfg *cfg;  /* this loop's snapshot */
	uint64_t icmp_tat;             /* ICMP errors' rate limit (dataplane/rate.h) */
	uint64_t kernel_tat;           /* ... and that of packets to kernel interfaces */
	uint64_t kernel_polled_tsc;    /* last read of its kernel interface queues */

	/* dp: rw own; cp and telemetry: ro */
	struct eph_counters stats;
	struct eph_nat_worker nat;
	struct eph_lb_worker *lb;      /* NULL: the balancer is off (no NAT tables) */
} __rte_cache_aligned;

struct eph_dp {
	/* Read-only after start, by everyone. */
	unsigned int n_ports;
	struct eph_port ports[EPH_MAX_PORTS];
	unsigned int n_workers;
	struct eph_worker *workers[RTE_MAX_LCORE];
	struct eph_dp_cfg *cfg;         /* cp: publishes; dp: loads per loop (see eph_dp_cfg) */
	pthread_rwlock_t cfg_lock;      /* telemetry: read; cp: write while replacing cfg */
	struct eph_neigh_table neigh;   /* dp: ro (lookups); cp: rw */
	struct eph_nat nat;
	struct rte_rcu_qsbr *rcu;       /* workers report quiescence every loop */
	struct rte_ring *to_control;    /* MP/SC: workers -> control lcore */
	struct rte_mempool *pool;
	struct rte_mempool *indirect_pool; /* payload references of egress fragments */
	int meta_offset;                /* mbuf dynfield holding struct eph_pkt_meta */
	unsigned int burst;
	uint64_t tsc_hz;
	uint64_t drain_tsc;             /* tx flush interval in TSC cycles */
	uint64_t icmp_rate;             /* ICMP errors per second per worker */
	uint64_t kernel_rate;           /* packets per second per worker to the kernel; 0: no limit */
	uint64_t kernel_poll_tsc;       /* interval between reads of the kernel interfaces */
	unsigned int n_kernel;          /* ports with a kernel interface (cp: counts them up) */
	const struct eph_conf *conf;

	/* cp only */
	struct eph_reconfig *rc;        /* live reconfiguration (control/reconfig.h) */

	/* cp: rw; dp: ro */
	bool quit;
	unsigned int n_ports_up; /* cp only: ports started, stopped again at teardown */

	/* The control lcore's own counters (ARP, resolution). cp: rw; telemetry: ro */
	struct eph_counters control_stats;
};

static inline struct eph_pkt_meta *
eph_pkt_meta(const struct eph_dp *dp, struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, dp->meta_offset, struct eph_pkt_meta *);
}

/* Register the mbuf dynfield; call once after rte_eal_init. */
int eph_dp_register_meta(struct eph_dp *dp);

/* Worker lcore entry point (rte_eal_remote_launch); arg is struct eph_worker *. */
int eph_worker_main(void *arg);

/*
 * A feature's work once per worker loop, after rx (its rings between
 * workers, timers, control requests); now_tsc: the loop's TSC. Registered
 * once at init, before workers start.
 */
typedef void (*eph_worker_poll_fn)(struct eph_worker *w, uint64_t now_tsc);
/* 0, or -ENOSPC (more than four); again with the same fn is harmless. */
int eph_worker_poll_register(eph_worker_poll_fn fn);
/* Every registered poll, in registration order (the loop; tests drive it). */
void eph_worker_polls_run(struct eph_worker *w, uint64_t now_tsc);

/* Per-packet path of one received burst on port index in_port. */
void eph_input_burst(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts, uint16_t n);

/*
 * Route again, under w's snapshot, a validated packet another worker routed
 * under another one: next-hop indexes, pool slots and allocator
 * generations mean something only in the snapshot that produced them.
 */
void eph_input_reroute(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m);

/* Buffered transmit on port index; counts what the queue refused. */
static inline void
eph_tx(struct eph_worker *w, uint16_t port, struct rte_mbuf *m)
{
	w->stats.port[port].tx += rte_eth_tx_buffer(w->dp->ports[port].port_id, w->id,
						    w->txb[port], m);
}

/*
 * Hand a packet to the control lcore (ARP, next hop to resolve), or drop
 * it when the ring is full.
 */
static inline void
eph_to_control(struct eph_worker *w, struct rte_mbuf *m, uint8_t kind, uint16_t in_port,
	       uint16_t out_port, uint32_t nexthop)
{
	struct eph_pkt_meta *meta = eph_pkt_meta(w->dp, m);

	meta->kind = kind;
	meta->in_port = in_port;
	meta->out_port = out_port;
	meta->nexthop = nexthop;
	if (rte_ring_mp_enqueue(w->dp->to_control, m) != 0) {
		eph_count_drop(&w->stats, EPH_DROP_slow_ring_full);
		rte_pktmbuf_free(m);
		return;
	}
	w->stats.to_control++;
}

/*
 * The session lookahead of a packet whose session_hash is hash (0: none):
 * by the time routing has its next hop, the first bucket has had time to
 * arrive, so the candidate record (or second bucket) starts loading in turn.
 */
static inline struct eph_session_ahead
eph_session_ahead_in(const struct eph_session_table *t, uint64_t hash)
{
	return (struct eph_session_ahead){
		.hash = hash,
		.cand = hash != 0 ? eph_session_prefetch_record(t, hash) : EPH_SESSION_NIL,
	};
}

static inline struct eph_session_ahead
eph_session_ahead_of(const struct eph_worker *w, uint64_t hash)
{
	return eph_session_ahead_in(w->nat.sessions, hash);
}

/*
 * A packet to one of the gateway's own addresses, owned by port index
 * owner (dataplane/kernel.c): echo requests answered, the rest to that
 * port's kernel interface, or dropped when it has none.
 */
void eph_local_input(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, uint16_t owner);

/* The worker poll that reads the kernel interfaces (registered when a port has one). */
void eph_kernel_poll(struct eph_worker *w, uint64_t now_tsc);

/* Slow paths (dataplane/icmp.c). */
void eph_icmp_echo_input(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m);
void eph_icmp_error(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *orig, uint8_t type,
		    uint8_t code, uint32_t info);

#endif /* EPH_DP_H */

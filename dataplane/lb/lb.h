/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The L4 load balancer on the workers: virtual IPs (VIPs) onto backends.
 *
 * A connection's first packet (TCP SYN, or any UDP datagram with no
 * connection) picks a backend from the VIP's weighted Maglev table
 * (dataplane/lb/maglev.h) by a keyed hash of its 5-tuple or of the
 * client's address; every later packet follows the connection record, so
 * a table change never moves a connection. A record is one four-way entry
 * of the flow layer's table (dataplane/flow/session.h): the client's key
 * (client -> VIP) and the backend's (backend -> local address:port with
 * full-NAT, backend -> client with destination NAT), one pair of checksum
 * deltas for both directions.
 *
 * Ownership, per core as the NAT: a connection lives on one worker, found
 * from the client side by a keyed hash of the client's address and port,
 * and from the backend side by the local port, which the owner took from
 * its own share of a balancer pool through the NAT's port service
 * (eph_nat_port_take: per destination, so every backend gets the full
 * range of every local address). A packet that arrives elsewhere is handed
 * over on the NAT's rings. No lock, no atomic read-modify-write.
 *
 * Configuration: VIPs, backends and Maglev tables are part of the RCU
 * snapshot (struct eph_dp_cfg), built by the control lcore (control/lb_setup.c):
 * workers never wait for a rebuild. VIPs and backends keep stable slots
 * across changes, so records and counters name them by slot.
 */
#ifndef EPH_LB_H
#define EPH_LB_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "control/config.h"
#include "dataplane/flow/session.h"

struct eph_worker;
struct eph_dp;
struct rte_mbuf;

#define EPH_LB_BACKEND_BITS 10 /* a record's target: vip slot << BITS | backend slot */
static_assert((1u << EPH_LB_BACKEND_BITS) >= EPH_MAX_VIP_BACKENDS, "backend slots fit a target");
static_assert(EPH_MAX_VIPS << EPH_LB_BACKEND_BITS <= UINT16_MAX + 1, "targets fit 16 bits");

/*
 * A connection record's flags: the allocator generation of its local port,
 * whether it has one, whether a PROXY v2 header leads its stream to the
 * backend (dataplane/lb/proxy.h), and whether the backend acknowledged it.
 */
#define EPH_LB_CONN_GEN         0x03
#define EPH_LB_CONN_PORT        0x04
#define EPH_LB_CONN_PROXY       0x08
#define EPH_LB_CONN_PROXY_ACKED 0x10
#define EPH_LB_CONN_SYNPROXY    0x20 /* opened by a SYN cookie (dataplane/lb/synproxy.h) */
#define EPH_LB_CONN_SYNPROXY_OPEN 0x40 /* ... and its backend answered: delta is set */

/*
 * What a connection needs beyond its record, which is full: one entry per
 * record of the worker's table, indexed like it. Only the PROXY header's
 * sequence shift and the SYN proxy need one, so the array exists only
 * once some VIP has proxy-protocol or syn-proxy: 16 bytes per connection
 * of the table's size (4 MiB per worker at the default 262144), whether
 * the connections use it or not.
 */
struct eph_lb_conn_ext {
	uint32_t client_isn; /* host order: the client's initial sequence number */
	/*
	 * SYN proxy, host order: the cookie until the backend answers, then
	 * cookie - the backend's ISN (backend -> client: seq + delta).
	 */
	uint32_t delta;
	struct rte_mbuf *held; /* SYN proxy: the client's segment awaiting the backend, or NULL */
};
/* A TCP connection still in its handshake, linked on its VIP's half-open list (see below). */
#define EPH_LB_CONN_HALF_OPEN   0x80

enum eph_lb_backend_state {
	EPH_LB_BACKEND_FREE,     /* slot unused */
	EPH_LB_BACKEND_ACTIVE,   /* in the table (weight > 0) or draining by weight 0 */
	EPH_LB_BACKEND_REMOVED,  /* removed: serves (drain) or resets (reset) its connections */
	EPH_LB_BACKEND_DOWN,     /* configured but failing its health checks: out of the table,
				    its connections as a removed one's */
};

/* One backend of a VIP in a snapshot. */
struct eph_lb_backend {
	uint32_t addr;      /* network order */
	uint16_t port;      /* network order; 0: the client's destination port */
	uint16_t slot;      /* stable: counters and records name it */
	uint32_t weight;
	uint32_t max_conns; /* this worker's share of max-connections; 0: none */
	uint8_t state;      /* enum eph_lb_backend_state */
};

/* One VIP in a snapshot. Arrays belong to the snapshot. */
struct eph_lb_vip {
	uint32_t addr;      /* network order */
	uint16_t port;      /* network order; 0: every port */
	uint8_t proto;
	uint8_t slot;
	uint8_t forwarding; /* enum eph_lb_forwarding */
	uint8_t hash;       /* enum eph_lb_hash */
	uint8_t refusal;    /* enum eph_lb_refusal */
	uint8_t on_remove;  /* enum eph_lb_on_remove */
	uint8_t proxy;      /* enum eph_lb_proxy (TCP full-NAT only) */
	uint8_t syn_proxy;  /* enum eph_lb_syn_proxy (TCP full-NAT only) */
	int16_t pool;       /* full-NAT: slot of the pool local ports come from */
	uint32_t max_conns; /* this worker's share of max-connections; 0: none */
	uint32_t maglev_size;
	uint16_t *maglev;   /* [maglev_size]: index into backends[], or EPH_MAGLEV_NONE */
	uint32_t n_backends;
	struct eph_lb_backend *backends; /* the configured ones, then removed ones still serving */
	uint16_t *by_slot;  /* [EPH_MAX_VIP_BACKENDS]: slot -> index into backends[], or UINT16_MAX */
	/*
	 * SYN flood guards. max_half_open: this worker's bound on the VIP's
	 * connections in their handshake (never 0 in a snapshot). New
	 * connections per second as a GCRA token bucket in TSC cycles:
	 * rate_cost per connection, rate_burst the bucket (one second of this
	 * worker's share); rate_cost 0: no limit.
	 */
	uint32_t max_half_open;
	uint64_t rate_cost;
	uint64_t rate_burst;
	char name[EPH_NAME_LEN];
};

/* The balancer's part of a configuration snapshot (NULL in it: no VIP). */
struct eph_lb_cfg {
	unsigned int n_vips;
	struct eph_lb_vip vips[EPH_MAX_VIPS];
	int8_t by_slot[EPH_MAX_VIPS]; /* slot -> index into vips[], or -1 */
	bool dnat;                    /* some VIP forwards by destination NAT */
	unsigned int resets;          /* removed backends and VIPs whose connections are reset */
};

/* Per worker, per backend slot. dp: rw own; cp and telemetry: ro. */
struct eph_lb_backend_stats {
	uint64_t active;    /* gauge: +1 at open, -1 at close (wrap-around sums are exact) */
	uint64_t total;
	uint64_t pkts_to;   /* client -> backend */
	uint64_t bytes_to;
	uint64_t pkts_from; /* backend -> client */
	uint64_t bytes_from;
	uint64_t over_limit;
	uint64_t no_port;
	uint64_t connect_failures; /* SYNs it refused (RST), or did not answer in time */
};

/* Per worker, per VIP slot. */
struct eph_lb_vip_stats {
	uint64_t active;
	uint64_t total;
	uint64_t no_backend;
	uint64_t over_limit;
	uint64_t no_port;
	uint64_t half_open;          /* gauge: connections in their handshake */
	uint64_t half_open_replaced; /* the oldest half-open one ended for a new SYN at the bound */
	uint64_t rate_limited;       /* new connections refused over new-connections-per-s */
};

#define EPH_LB_COUNTERS(X)                                                             \
	X(connections_created, "connections opened to a backend")                     \
	X(connections_closed, "connections ended (idle timer, close, reset)")          \
	X(client_packets, "packets from clients sent to backends")                     \
	X(reply_packets, "packets from backends sent to clients")                      \
	X(handoff_out, "packets handed to the connection's owner")                     \
	X(handoff_in, "packets received from other workers")                           \
	X(resets_sent, "TCP RSTs sent (refusals, removed backends)")                   \
	X(icmp_errors_translated, "ICMP errors about connections translated")          \
	X(syn_reopened, "SYNs that found their 5-tuple closing and opened anew")            \
	X(proxy_headers, "PROXY v2 headers sent to backends (again for a retransmitted start)") \
	X(proxy_mss_lowered, "backends' SYN-ACKs whose MSS was lowered for the PROXY header") \
	X(proxy_bad_options, "backends' segments of PROXY connections with malformed TCP options, left alone") \
	X(half_open_replaced, "half-open connections ended for a new SYN at the VIP's bound") \
	X(rate_limited, "new connections refused over a VIP's new-connections-per-s") \
	X(syn_cookies_sent, "SYN-ACKs with a SYN cookie sent for syn-proxy VIPs")                   \
	X(syn_cookie_acks_valid, "ACKs whose SYN cookie checked: connections opened to a backend")    \
	X(syn_cookie_acks_invalid, "ACKs to syn-proxy VIPs with no connection and no valid cookie") \
	X(syn_proxy_held, "client segments held while the backend's SYN-ACK was awaited")        \
	X(syn_proxy_handshakes, "backend handshakes completed by the SYN proxy")                 \
	X(syn_proxy_refusals, "backends that refused (RST) or did not answer the SYN proxy's SYN")

enum eph_lb_counter {
#define EPH_LB_CTR_ENUM(name, desc) EPH_LB_##name,
	EPH_LB_COUNTERS(EPH_LB_CTR_ENUM)
#undef EPH_LB_CTR_ENUM
	EPH_LB_CTR_MAX
};

extern const char *const eph_lb_counter_names[EPH_LB_CTR_MAX];
extern const char *const eph_lb_counter_descs[EPH_LB_CTR_MAX];

struct eph_lb_worker {
	struct eph_session_table *conns;  /* four-way, the NAT table's hash keys */
	/*
	 * [conns->max], or NULL. cp: allocated before the first snapshot with a
	 * PROXY VIP is published, freed at teardown; dp: rw own.
	 */
	struct eph_lb_conn_ext *ext;
	uint32_t held;                    /* SYN proxy: client segments held (synproxy.h) */
	uint32_t sweep;                   /* next record the removed-backend sweep visits */
	uint64_t sweep_gen;               /* snapshot generation the sweep has finished */
	uint64_t ctr[EPH_LB_CTR_MAX];
	uint64_t conns_tcp;               /* gauges */
	uint64_t conns_udp;
	struct eph_lb_vip_stats vip[EPH_MAX_VIPS];
	/* cp: allocated when the slot is first used, freed at teardown */
	struct eph_lb_backend_stats *backend[EPH_MAX_VIPS]; /* [EPH_MAX_VIP_BACKENDS] */
	/*
	 * SYN flood guards, dp only. A VIP's half-open connections (TCP, no
	 * handshake completed: CLOSED, SYN_SENT, SYN_RCVD) in the order they
	 * opened, oldest first, linked through half_open_link (cp: allocated
	 * with the table, [2 * max]: next and prev of each record). rate_tat:
	 * each VIP's token bucket (GCRA's theoretical arrival time, TSC), on
	 * now_tsc, the loop's TSC as the balancer's poll last saw it.
	 */
	uint32_t *half_open_link;
	uint32_t half_open_head[EPH_MAX_VIPS];
	uint32_t half_open_tail[EPH_MAX_VIPS];
	uint64_t rate_tat[EPH_MAX_VIPS];
	uint64_t now_tsc;
	uint32_t closes; /* connections ended, wraps: a batch's indexes are stale once it moves */
};

/* Live connections of a worker (any thread: a gauge). */
static inline uint32_t
eph_lb_connection_count(const struct eph_lb_worker *lw)
{
	return lw == NULL || lw->conns == NULL ? 0 : eph_session_count(lw->conns);
}


/*
 * The worker loop's balancer work: expire connections on the flow clock
 * (the NAT's poll advances it), sweep after a change that resets removed
 * backends. Returns whether work is left for the next call.
 */
bool eph_lb_poll(struct eph_worker *w);

/* Register the balancer with the core and the NAT (VIP next hops, replies, handoffs, poll). */
void eph_lb_register(void);

#endif /* EPH_LB_H */

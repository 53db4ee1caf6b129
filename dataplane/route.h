/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 routing: an rte_fib (DIR-24-8) whose next-hop values index a small
 * table of next hops. The gateway's own addresses, connected subnets, their
 * directed broadcasts and static routes all live in the one FIB, so a single
 * bulk lookup per burst classifies every packet.
 */
#ifndef EPH_ROUTE_H
#define EPH_ROUTE_H

#include <stdint.h>

#include <rte_fib.h>

#include "control/config.h"

enum eph_nh_type {
	EPH_NH_NONE = 0,  /* no route: the FIB's default next hop */
	EPH_NH_LOCAL,     /* one of the gateway's own addresses */
	EPH_NH_BCAST,     /* directed broadcast of a connected subnet */
	EPH_NH_CONNECTED, /* on-link: resolve the destination itself */
	EPH_NH_GATEWAY,   /* via a next-hop router */
	EPH_NH_POOL,      /* a NAT pool address: translate outside -> inside */
	EPH_NH_VIP,       /* a load-balanced virtual address (dataplane/lb) */
	EPH_NH_TYPE_COUNT
};

/*
 * Next-hop kinds past EPH_NH_GATEWAY belong to features: the input path
 * checks the TTL of their packets (the error quotes what the sender sent),
 * gathers each kind's packets of a burst and hands them to the handler the
 * feature registered, one call per kind and burst. A new kind is one enum
 * value above and one eph_nh_register() at the feature's init; a kind
 * nobody registered is routed as no route.
 */
struct eph_worker;
struct rte_mbuf;
struct eph_session_ahead;
struct eph_session_table;
struct eph_nexthop;

struct eph_nh_ops {
	const char *name;
	/*
	 * Packets of one burst received on in_port whose FIB next hops
	 * (nh_idx[i]) are of this kind; ahead[i]: their session lookahead.
	 * Consumes the mbufs.
	 */
	void (*input)(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts,
		      const uint32_t *nh_idx, const struct eph_session_ahead *ahead, uint16_t n);
	/*
	 * The flow table the packets to next hop nh are looked up in, for
	 * their lookahead (NULL: the NAT's sessions). Its hash keys must be
	 * the NAT table's (eph_session_table_four_way's seed_from).
	 */
	const struct eph_session_table *(*flows)(const struct eph_worker *w,
						 const struct eph_nexthop *nh);
};

/*
 * Register the handler of a feature's kind (control lcore, before workers
 * start; again with the same ops is harmless). Returns 0, or -EINVAL for
 * a kind of the core's own or out of range.
 */
int eph_nh_register(enum eph_nh_type type, const struct eph_nh_ops *ops);

struct eph_nexthop {
	uint8_t type;  /* enum eph_nh_type */
	uint16_t port; /* egress port index (connected, gateway) or owner (local) */
	uint32_t gw;   /* next-hop router, network order (gateway only) */
};

/* Built by the control lcore, published in a snapshot; workers only read. */
struct eph_route_table {
	struct rte_fib *fib;
	struct eph_nexthop *nh; /* nh[0] is EPH_NH_NONE */
	uint32_t n_nh;
	uint32_t max_nh;
};

/* A NAT pool address (host order) and its pool's slot. */
struct eph_route_pool_addr {
	uint32_t addr;
	uint16_t pool;
};

/*
 * Build the FIB for conf: own addresses, connected subnets, broadcasts,
 * static routes, and the given pool addresses (active, reserve and
 * draining alike: replies to their sessions come back to them), and the
 * addresses of conf's VIPs. name must
 * be unique in the process (rte_fib names are). Returns 0 or a negative errno.
 */
int eph_route_table_build(struct eph_route_table *rt, const struct eph_conf *conf,
			  const struct eph_route_pool_addr *pool_addrs, unsigned int n_pool_addrs,
			  const char *name, int socket_id);
void eph_route_table_free(struct eph_route_table *rt);

/* Single lookup, for the control lcore and tests; ip in host order. */
const struct eph_nexthop *eph_route_lookup(const struct eph_route_table *rt, uint32_t ip);

const char *eph_nh_type_name(enum eph_nh_type type);

#endif /* EPH_ROUTE_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the workers' packet path, both directions, through the
 * daemon's own code (eph_input_burst, handoff, expiry) on net_ring ports
 * whose tx loops back to rx, with three worker structs driven from this
 * one thread and a pool of every kind. Every frame a port transmits is
 * checked; see check_frame and run_burst for the oracles.
 *
 * Input: records, one after the other.
 *   op (1 byte)
 *     bit 7 and bit 0 set: the next frame's fix leaves its L4 checksum as is
 *           (an ICMP error with a wrong checksum, bound to a session).
 *     bit 7 set, bit 0 clear: advance the session clock by 2 * next byte
 *           ticks; no frame.
 *     else: bit 0 port (0 inside, 1 outside); bits 1-2 worker (mod workers);
 *           bit 3 fix lengths and checksums (total_length, IPv4 header, and
 *           TCP/UDP/ICMP over the message); bit 4 bind to a live session (a
 *           selector byte follows the length); bit 5 bind our side only (the
 *           remote end stays as sent: endpoint-independent filtering, a
 *           router on the path); bit 6 ends the burst after this frame.
 *   length (2 bytes, big endian, low 11 bits), [selector], Ethernet frame.
 * Consecutive frames for one port and worker form a burst (at most 32).
 *
 * Each run starts from the same state, so that a saved input replays: no
 * session, every port rested (the previous run cleared its sessions and
 * moved the clock past the quarantine, then audited that nothing is left
 * held), then a fixed set of sessions opened from inside (one UDP, TCP and
 * ICMP echo flow per pool).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "control/startup.h"
#include "control/stats.h"
#include "dataplane/cksum.h"
#include "dataplane/dp.h"
#include "dataplane/lb/lb.h"
#include "dataplane/nat/nat_ftp.h"
#include "dataplane/nat/natlog.h"
#include "dataplane/ports/portalloc.h"
#include "dataplane/ports/portblock.h"
#include "dataplane/flow/session.h"
#include "tests/fuzz/fuzz_dp.h"

#define TARGET    "fuzz_packet"
#define IN        0
#define OUT       1
#define N_WORKERS 3
#define BURST     32
#define MAX_FRAME 1600
#define ETH_LEN   ((uint16_t)sizeof(struct rte_ether_hdr))
#define IP_LEN    ((uint16_t)sizeof(struct rte_ipv4_hdr))

#define OP_CLOCK 0x80
#define OP_PORT  0x01
#define OP_FIX   0x08
#define OP_BIND  0x10
#define OP_HALF  0x20
#define OP_END   0x40

#define IN_ADDR    FZ_IPV4(192, 0, 2, 1)
#define OUT_ADDR   FZ_IPV4(203, 0, 113, 1)
#define ROUTER     FZ_IPV4(203, 0, 113, 10)
#define LAB_ROUTER FZ_IPV4(192, 0, 2, 254)
#define REMOTE     FZ_IPV4(198, 51, 100, 10)

/* Ticks a run may move the clock forward: the session clock must not wrap in a long campaign. */
#define MAX_RUN_TICKS 4096
/* A freed port rests this long (quarantine-s), then a new run finds its destination forgotten. */
#define QUARANTINE_S 1

static struct eph_conf conf;
static struct eph_dp dp;
static uint64_t clock_tsc;
static uint32_t run_ticks;
static bool trace; /* FUZZ_TRACE=1: one line per burst and per frame sent, for triage */

/*
 * The inside: 192.0.2.0/24 and a lab 10.20.0.0/16 behind the inside router
 * 192.0.2.254. Every address is in some pool but the router's own (and the
 * broadcast): its traffic is routed as it is, and the errors it reports
 * about the lab's sessions must leave with no lab address in them. No
 * other inside address may ever leave the outside port.
 */
static bool
inside_addr(uint32_t be)
{
	uint32_t a = rte_be_to_cpu_32(be);

	if (a == LAB_ROUTER || a == FZ_IPV4(192, 0, 2, 255))
		return false;
	return (a & 0xffffff00) == FZ_IPV4(192, 0, 2, 0) ||
	       (a & 0xffff0000) == FZ_IPV4(10, 20, 0, 0);
}

/* One of the pools' outside addresses (regular or reserve). */
static bool
pool_addr(uint32_t be)
{
	uint32_t a = rte_be_to_cpu_32(be);

	for (unsigned int i = 0; i < conf.n_pools; i++) {
		for (unsigned int k = 0; k < conf.pools[i].n_addrs; k++)
			if (conf.pools[i].addrs[k] == a)
				return true;
		for (unsigned int k = 0; k < conf.pools[i].n_reserve; k++)
			if (conf.pools[i].reserve[k] == a)
				return true;
	}
	return false;
}

/* Pools of every kind (see control/config.h): small port ranges, so exhaustion is reachable. */
static uint32_t edm_addrs[] = {FZ_IPV4(203, 0, 113, 100), FZ_IPV4(203, 0, 113, 101)};
static uint16_t edm_excluded[] = {20005};
static struct eph_conf_prefix edm_inside[] = {{FZ_IPV4(192, 0, 2, 0), 26}};
static uint32_t eim_addrs[] = {FZ_IPV4(203, 0, 113, 110), FZ_IPV4(203, 0, 113, 111)};
static struct eph_conf_prefix eim_inside[] = {{FZ_IPV4(192, 0, 2, 64), 26},
					      {FZ_IPV4(10, 20, 0, 0), 16}};
static uint32_t edf_addrs[] = {FZ_IPV4(203, 0, 113, 120)};
static uint32_t edf_reserve[] = {FZ_IPV4(203, 0, 113, 121)};
static struct eph_conf_prefix edf_inside[] = {{FZ_IPV4(192, 0, 2, 128), 26}};
static uint32_t blk_addrs[] = {FZ_IPV4(203, 0, 113, 130), FZ_IPV4(203, 0, 113, 131)};
static struct eph_conf_prefix blk_inside[] = {
	{FZ_IPV4(192, 0, 2, 192), 27}, {FZ_IPV4(192, 0, 2, 224), 28}, {FZ_IPV4(192, 0, 2, 240), 29},
	{FZ_IPV4(192, 0, 2, 248), 30}, {FZ_IPV4(192, 0, 2, 252), 31},
};
static struct eph_conf_route routes[2];
/*
 * The balancer: a TCP and a UDP VIP on the outside subnet onto backends in
 * the lab (behind the inside router), full-NAT from a local address of the
 * outside subnet, a destination-NAT VIP, a TCP VIP with proxy-protocol v2,
 * and TCP VIPs with syn-proxy, one of them with proxy-protocol too.
 */
#define VIP      FZ_IPV4(203, 0, 113, 140)
#define VIP_DNAT FZ_IPV4(203, 0, 113, 141)
static uint32_t lb_local[] = {FZ_IPV4(203, 0, 113, 150)};
static struct eph_conf_backend lb_backends[] = {
	{.addr = FZ_IPV4(10, 20, 0, 11), .port = 8080, .weight = 1},
	{.addr = FZ_IPV4(10, 20, 0, 12), .port = 8080, .weight = 2},
};
static struct eph_conf_backend lb_udp_backends[] = {
	{.addr = FZ_IPV4(10, 20, 0, 11), .port = 53, .weight = 100},
	{.addr = FZ_IPV4(10, 20, 0, 12), .port = 53, .weight = 100},
};
static struct eph_conf_backend lb_dnat_backends[] = {
	{.addr = FZ_IPV4(10, 20, 0, 13), .port = 0, .weight = 100},
};

static void
add_vip(const char *name, uint32_t addr, uint16_t port, uint8_t proto,
	struct eph_conf_backend *b, unsigned int n, int pool)
{
	struct eph_conf_vip *v = &conf.vips[conf.n_vips++];

	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->addr = addr;
	v->port = port;
	v->proto = proto;
	v->backends = b;
	v->n_backends = n;
	v->forwarding = pool >= 0 ? EPH_LB_FULLNAT : EPH_LB_DNAT;
	v->pool = pool;
	v->maglev_size = 1009;
	v->max_connections = 64; /* the limit is reachable */
	v->on_remove = EPH_LB_REMOVE_RESET;
}

static struct eph_conf_pool *
add_pool(const char *name, uint32_t *addrs, unsigned int n_addrs, struct eph_conf_prefix *inside,
	 unsigned int n_inside, uint16_t lo, uint16_t hi)
{
	struct eph_conf_pool *p = &conf.pools[conf.n_pools++];

	eph_conf_pool_defaults(p);
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->addrs = addrs;
	p->n_addrs = n_addrs;
	p->inside = inside;
	p->n_inside = n_inside;
	p->port_lo = lo;
	p->port_hi = hi;
	p->quarantine_s = QUARANTINE_S;
	return p;
}

static void
add_port(const char *name, const char *dev, enum eph_port_role role, uint32_t addr, uint16_t mtu)
{
	struct eph_conf_port *p = &conf.ports[conf.n_ports++];

	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->device, sizeof(p->device), "%s", dev);
	p->role = role;
	p->addr = addr;
	p->prefix_len = 24;
	p->mtu = mtu;
	p->rx_desc = 128;
	p->tx_desc = 128;
}

static void
conf_build(void)
{
	struct eph_conf_pool *p;

	eph_conf_defaults(&conf);
	conf.dataplane.mbufs = 16383;
	conf.dataplane.icmp_rate = 1000000; /* errors are what we test, not their rate limit */
	conf.arp.max_entries = 1024;
	/* A smaller outside MTU: "fragmentation needed" and its drops are reachable. */
	add_port("inside", "net_ring0", EPH_ROLE_INSIDE, IN_ADDR, 1500);
	add_port("outside", "net_ring1", EPH_ROLE_OUTSIDE, OUT_ADDR, 1400);
	routes[0] =
		(struct eph_conf_route){.prefix = 0, .prefix_len = 0, .via = ROUTER, .port = OUT};
	routes[1] = (struct eph_conf_route){
		.prefix = FZ_IPV4(10, 20, 0, 0),
		.prefix_len = 16,
		.via = LAB_ROUTER,
		.port = IN,
	};
	conf.routes = routes;
	conf.n_routes = 2;

	/* Endpoint-dependent mapping and filtering, paired pooling, an excluded port. */
	p = add_pool("edm", edm_addrs, 2, edm_inside, 1, 20000, 20047);
	p->excluded = edm_excluded;
	p->n_excluded = 1;
	p->log = EPH_NAT_LOG_SESSIONS;
	p->alg = EPH_ALG_FTP; /* control connections to port 21 of any server */
	/* Endpoint-independent mapping and filtering, arbitrary pooling, the lab behind a router.
	 */
	p = add_pool("eim", eim_addrs, 2, eim_inside, 2, 30000, 30047);
	p->mapping = EPH_MAPPING_ENDPOINT_INDEPENDENT;
	p->filtering = EPH_FILTERING_ENDPOINT_INDEPENDENT;
	p->pooling = EPH_POOLING_ARBITRARY;
	p->port_preservation = true;
	p->port_parity = true;
	p->exhaustion_icmp = true;
	p->max_sessions_per_host = 8;
	p->alg = EPH_ALG_FTP;
	/* Endpoint-independent mapping, endpoint-dependent filtering, a reserve address. */
	p = add_pool("eim-edf", edf_addrs, 1, edf_inside, 1, 40000, 40023);
	p->mapping = EPH_MAPPING_ENDPOINT_INDEPENDENT;
	p->reserve = edf_reserve;
	p->n_reserve = 1;
	p->warn_occupancy = 50;
	/* RFC 7422 port blocks. */
	p = add_pool("blocks", blk_addrs, 2, blk_inside, RTE_DIM(blk_inside), 50000, 50095);
	p->log = EPH_NAT_LOG_PORT_BLOCKS;
	p->port_block_size = 8;
	p->max_blocks_per_host = 2;
	p->exhaustion_icmp = true;

	/* The balancer's local address: a pool of its own, small so that no_port is reachable. */
	p = add_pool("lb", lb_local, 1, NULL, 0, 60000, 60031);
	p->balancer = true;
	p->pooling = EPH_POOLING_ARBITRARY;
	snprintf(p->vip, sizeof(p->vip), "web");
	add_vip("web", VIP, 80, IPPROTO_TCP, lb_backends, RTE_DIM(lb_backends),
		(int)conf.n_pools - 1);
	conf.vips[conf.n_vips - 1].half_open_per_worker = 4; /* replacing the oldest is reachable */
	add_vip("dns", VIP, 53, IPPROTO_UDP, lb_udp_backends, RTE_DIM(lb_udp_backends),
		(int)conf.n_pools - 1);
	add_vip("direct", VIP_DNAT, 0, IPPROTO_TCP, lb_dnat_backends, RTE_DIM(lb_dnat_backends),
		-1);
	add_vip("proxied", VIP, 8443, IPPROTO_TCP, lb_backends, RTE_DIM(lb_backends),
		(int)conf.n_pools - 1);
	conf.vips[conf.n_vips - 1].proxy = EPH_LB_PROXY_V2;
	conf.vips[conf.n_vips - 1].new_connections_per_s = 8; /* and the rate limit's refusals */
	add_vip("cookies", VIP, 8444, IPPROTO_TCP, lb_backends, RTE_DIM(lb_backends),
		(int)conf.n_pools - 1);
	conf.vips[conf.n_vips - 1].syn_proxy = EPH_LB_SYN_PROXY_ON;
	add_vip("cookies-pp", VIP, 8445, IPPROTO_TCP, lb_backends, RTE_DIM(lb_backends),
		(int)conf.n_pools - 1);
	conf.vips[conf.n_vips - 1].syn_proxy = EPH_LB_SYN_PROXY_ON;
	conf.vips[conf.n_vips - 1].proxy = EPH_LB_PROXY_V2;

	conf.timeouts.udp = 5;
	conf.timeouts.tcp_established = 30;
	conf.timeouts.tcp_transitory = 4;
	conf.timeouts.icmp = 3;
	conf.nat.sessions_per_worker =
		256; /* small: a run clears it, and a full table is reachable */
	conf.nat.destinations_per_worker = 128;
	conf.nat.handoff_ring = 256;
	conf.nat_log.ring = 1024;
}

static void
neigh_add(uint16_t port, uint32_t ip_host, const struct rte_ether_addr *mac)
{
	struct eph_neigh *n = eph_neigh_find(&dp.neigh, port, rte_cpu_to_be_32(ip_host));

	if (n == NULL)
		n = eph_neigh_create(&dp.neigh, port, rte_cpu_to_be_32(ip_host));
	if (n == NULL) {
		fprintf(stderr, TARGET ": cannot add neighbour %08x\n", ip_host);
		exit(1);
	}
	n = eph_neigh_set_mac(&dp.neigh, n, mac);
	n->state = EPH_NEIGH_REACHABLE;
}

/* ---- clock and state ------------------------------------------------- */

/* What the worker loop runs between bursts: timers until they caught up. */
static void
timers(void)
{
	for (unsigned int i = 0; i < dp.n_workers; i++) {
		struct eph_worker *w = dp.workers[i];

		for (int k = 0; k < 1000; k++) {
			eph_nat_timers(w, clock_tsc);
			if (!w->nat.timers_pending)
				break;
		}
		/* The balancer's connections and its sweep run on the NAT's clock. */
		for (int k = 0; k < 1000 && eph_lb_poll(w); k++)
			;
	}
}

static void
advance(uint32_t ticks)
{
	clock_tsc += (uint64_t)ticks * dp.nat.tick_tsc;
	timers();
}

static void
drain_events(void)
{
	struct eph_natlog_event ev[64];

	for (unsigned int i = 0; i < dp.n_workers; i++) {
		while (eph_natlog_drain(dp.workers[i]->nat.log, ev, RTE_DIM(ev)) > 0)
			;
		while (eph_natlog_drain(dp.workers[i]->nat.alerts, ev, RTE_DIM(ev)) > 0)
			;
	}
}

static void handoff_drain(void);

/* Every session of every worker, through the control request the sessions.clear command uses. */
static void
clear_sessions(void)
{
	for (unsigned int i = 0; i < dp.n_workers; i++) {
		struct eph_worker *w = dp.workers[i];
		struct eph_nat_ctl c = {
			.op = EPH_NAT_CTL_CLEAR,
			.filter = {.pool = -1},
		};

		if (rte_ring_sp_enqueue(w->nat.ctl, &c) != 0)
			fz_fail(TARGET, NULL, 0, "worker %u: control ring full", i);
		for (int k = 0; k < 1000 && !c.done; k++)
			eph_nat_ctl_poll(w);
		if (!c.done)
			fz_fail(TARGET, NULL, 0, "worker %u: sessions.clear never finished", i);
	}
	/* Lent ports go back to their lenders, whose loan records then go. */
	handoff_drain();
	for (unsigned int i = 0; i < dp.n_workers; i++)
		if (eph_session_count(dp.workers[i]->nat.sessions) != 0)
			fz_fail(TARGET, NULL, 0, "worker %u: %u sessions or loans left after clearing",
				i, eph_session_count(dp.workers[i]->nat.sessions));
}

/* With every connection gone: no record, no gauge, no live count on any VIP or backend. */
static void
audit_lb(void)
{
	for (unsigned int i = 0; i < dp.n_workers; i++) {
		const struct eph_lb_worker *lw = dp.workers[i]->lb;

		if (eph_lb_connection_count(lw) != 0 || lw->conns_tcp != 0 || lw->conns_udp != 0)
			fz_fail(TARGET, NULL, 0, "worker %u: %u balancer connections left", i,
				eph_lb_connection_count(lw));
		for (unsigned int v = 0; v < EPH_MAX_VIPS; v++) {
			if (lw->vip[v].active != 0)
				fz_fail(TARGET, NULL, 0, "worker %u vip slot %u: %" PRIu64 " active", i,
					v, lw->vip[v].active);
			if (lw->vip[v].half_open != 0 || lw->half_open_head[v] != EPH_SESSION_NIL ||
			    lw->half_open_tail[v] != EPH_SESSION_NIL)
				fz_fail(TARGET, NULL, 0, "worker %u vip slot %u: %" PRIu64 " half-open",
					i, v, lw->vip[v].half_open);
			for (unsigned int b = 0; lw->backend[v] != NULL && b < EPH_MAX_VIP_BACKENDS; b++)
				if (lw->backend[v][b].active != 0)
					fz_fail(TARGET, NULL, 0,
						"worker %u vip slot %u backend %u: %" PRIu64 " active", i,
						v, b, lw->backend[v][b].active);
		}
	}
}

static void
count_live(const struct eph_dest_key *d, uint32_t live, uint32_t resting, void *arg)
{
	*(uint64_t *)arg += live;
}

/*
 * With every session gone, nothing may be held: no host, mapping, live
 * port, block or gauge, every allocator consistent by its own audit, and
 * no port ever given back that was not taken.
 */
static void
audit_empty(void)
{
	const struct eph_nat_cfg *cfg = &dp.cfg->nat;

	for (unsigned int i = 0; i < dp.n_workers; i++) {
		struct eph_nat_worker *nw = &dp.workers[i]->nat;
		uint64_t gauges = nw->sessions_udp + nw->sessions_icmp;

		for (unsigned int st = 0; st < RTE_DIM(nw->sessions_tcp); st++)
			gauges += nw->sessions_tcp[st];
		if (gauges != 0)
			fz_fail(TARGET, NULL, 0,
				"worker %u: session gauges sum to %" PRIu64 " with no session", i,
				gauges);
		if (rte_hash_count(nw->hosts) != 0)
			fz_fail(TARGET, NULL, 0, "worker %u: %d inside hosts with no session", i,
				rte_hash_count(nw->hosts));
		if (nw->mappings != NULL && eph_session_count(nw->mappings) != 0)
			fz_fail(TARGET, NULL, 0, "worker %u: %u mappings with no session", i,
				eph_session_count(nw->mappings));
		if (nw->ftp->live != 0)
			fz_fail(TARGET, NULL, 0, "worker %u: %u FTP control entries with no session", i,
				nw->ftp->live);
		if (nw->loan_sessions + nw->loan_mappings + nw->borrowed_live != 0 ||
		    nw->ctr[EPH_NAT_loans_lost] != 0)
			fz_fail(TARGET, NULL, 0,
				"worker %u: loans left with no session (%u records, %u mapping "
				"records, %u borrowed, %" PRIu64 " lost)",
				i, nw->loan_sessions, nw->loan_mappings, nw->borrowed_live,
				nw->ctr[EPH_NAT_loans_lost]);
		for (unsigned int b = 0; b < dp.n_workers; b++)
			if (nw->lent_to[b] != 0)
				fz_fail(TARGET, NULL, 0, "worker %u: %u ports on loan to %u with no session",
					i, nw->lent_to[b], b);
		for (unsigned int p = 0; p < cfg->n_slots; p++) {
			const struct eph_nat_pool *pool = &cfg->pools[p];

			for (unsigned int k = 0; k < pool->n_all; k++) {
				uint16_t a = pool->all[k].slot;

				if (nw->ports_in_use[p] != NULL && nw->ports_in_use[p][a] != 0)
					fz_fail(TARGET, NULL, 0,
						"worker %u pool %u address slot %u: "
						"%" PRIu64 " ports in use with no session",
						i, p, a, nw->ports_in_use[p][a]);
			}
			for (unsigned int g = 0; g < EPH_PA_GENS; g++) {
				const struct eph_portalloc *pa = nw->alloc[p][g];
				const struct eph_portblock *pb = nw->blocks[p][g];
				uint64_t live = 0;

				if (nw->gen_live[p][g] != 0)
					fz_fail(TARGET, NULL, 0,
						"worker %u pool %u generation %u: %u "
						"ports live with no session",
						i, p, g, nw->gen_live[p][g]);
				if (pa != NULL) {
					eph_portalloc_foreach(pa, count_live, &live);
					if (eph_portalloc_audit(pa) != 0 || live != 0 ||
					    eph_portalloc_stats(pa)->bad_release != 0 ||
					    eph_portalloc_stats(pa)->lost != 0)
						fz_fail(TARGET, NULL, 0,
							"worker %u pool %u generation %u: "
							"port allocator audit failed, %" PRIu64
							" live, "
							"%" PRIu64 " bad releases, %" PRIu64
							" lost",
							i, p, g, live,
							eph_portalloc_stats(pa)->bad_release,
							eph_portalloc_stats(pa)->lost);
				}
				if (pb != NULL && (eph_portblock_audit(pb) != 0 ||
						   eph_portblock_stats(pb)->ports_in_use != 0 ||
						   eph_portblock_stats(pb)->blocks_in_use != 0 ||
						   eph_portblock_stats(pb)->bad_release != 0))
					fz_fail(TARGET, NULL, 0,
						"worker %u pool %u generation %u: port "
						"block audit failed, %u ports and %u blocks in "
						"use, "
						"%" PRIu64 " bad releases",
						i, p, g, eph_portblock_stats(pb)->ports_in_use,
						eph_portblock_stats(pb)->blocks_in_use,
						eph_portblock_stats(pb)->bad_release);
			}
		}
	}
}

static uint64_t
nat_ctr(enum eph_nat_counter c)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < dp.n_workers; i++)
		n += dp.workers[i]->nat.ctr[c];
	return n;
}

/* ---- checksums ------------------------------------------------------- */

static uint16_t
pseudo_sum(const struct rte_ipv4_hdr *ip, uint16_t l4_len)
{
	uint32_t s = 0;
	uint32_t src = rte_be_to_cpu_32(ip->src_addr), dst = rte_be_to_cpu_32(ip->dst_addr);

	s += (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff);
	s += ip->next_proto_id + l4_len;
	/* rte_raw_cksum sums words as they sit in memory: give it the same byte order. */
	return rte_cpu_to_be_16(eph_cksum_fold(s));
}

/* The message with its checksum sums to 0xffff: what a receiver checks. */
static bool
l4_cksum_ok(const struct rte_ipv4_hdr *ip, const uint8_t *l4, uint16_t l4_len)
{
	uint32_t s = rte_raw_cksum(l4, l4_len);

	if (ip->next_proto_id != IPPROTO_ICMP)
		s += pseudo_sum(ip, l4_len);
	return eph_cksum_fold(s) == 0xffff;
}

/* The checksum a full computation writes. */
static uint16_t
l4_cksum(const struct rte_ipv4_hdr *ip, const uint8_t *l4, uint16_t l4_len)
{
	uint32_t s = rte_raw_cksum(l4, l4_len);

	if (ip->next_proto_id != IPPROTO_ICMP)
		s += pseudo_sum(ip, l4_len);
	return (uint16_t)~eph_cksum_fold(s);
}

static uint16_t
cksum_offset(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return offsetof(struct rte_tcp_hdr, cksum);
	case IPPROTO_UDP:
		return offsetof(struct rte_udp_hdr, dgram_cksum);
	default:
		return offsetof(struct rte_icmp_hdr, icmp_cksum);
	}
}

static uint16_t
min_l4(uint8_t proto)
{
	return proto == IPPROTO_TCP ? sizeof(struct rte_tcp_hdr) : 8;
}

static bool
icmp_is_error(uint8_t type)
{
	return type == 3 || type == 11 || type == 12;
}

/* ---- building input frames ------------------------------------------- */

/*
 * A packet as one port sent it (network order). ICMP echo: a request
 * carries its identifier as sport, a reply as dport, so that swapping the
 * ends of one gives the other.
 */
struct tuple {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t icmp_type;
};

#define RECENT 16

/* The last frames each port sent this run, for replies (selector RECENT_SEL + age). */
static struct tuple recent[2][RECENT];
static unsigned int n_recent[2];

#define RECENT_SEL 0xf0

static void
remember(uint16_t port, const struct rte_ipv4_hdr *ip, const uint8_t *l4)
{
	struct tuple t = {
		.src = ip->src_addr,
		.dst = ip->dst_addr,
		.proto = ip->next_proto_id,
	};

	if (t.proto == IPPROTO_ICMP) {
		const struct rte_icmp_hdr *icmp = (const struct rte_icmp_hdr *)l4;

		t.icmp_type = icmp->icmp_type;
		if (t.icmp_type == RTE_IP_ICMP_ECHO_REQUEST)
			t.sport = icmp->icmp_ident;
		else if (t.icmp_type == RTE_IP_ICMP_ECHO_REPLY)
			t.dport = icmp->icmp_ident;
		else
			return;
	} else {
		memcpy(&t.sport, l4, 2);
		memcpy(&t.dport, l4 + 2, 2);
	}
	recent[port][n_recent[port]++ % RECENT] = t;
}

/*
 * What port last sent for the selector: a recent frame (RECENT_SEL + age),
 * or a live session's packet, sel naming its worker in the low bits and its
 * rank among that worker's sessions above.
 */
static bool
sent_tuple(uint16_t port, uint8_t sel, struct tuple *t)
{
	if (sel >= RECENT_SEL) {
		unsigned int age = sel - RECENT_SEL;

		if (age >= n_recent[port] || age >= RECENT)
			return false;
		*t = recent[port][(n_recent[port] - 1 - age) % RECENT];
		return true;
	}
	for (unsigned int w = 0; w < dp.n_workers; w++) {
		struct eph_session_table *st = dp.workers[(sel + w) % dp.n_workers]->nat.sessions;
		uint32_t n = eph_session_count(st), k;

		if (n == 0)
			continue;
		k = (uint32_t)(sel / 4) % n;
		for (uint32_t idx = 0; idx < st->max; idx++) {
			const struct eph_session *s;

			if (!eph_session_in_use(st, idx) || k-- != 0)
				continue;
			s = eph_session_get(st, idx);
			if (port == OUT)
				*t = (struct tuple){s->out_addr, s->remote_addr,
						    s->out_port, s->remote_port,
						    s->proto,    RTE_IP_ICMP_ECHO_REQUEST};
			else
				*t = (struct tuple){s->remote_addr, s->in_addr,
						    s->remote_port, s->in_port,
						    s->proto,       RTE_IP_ICMP_ECHO_REPLY};
			return true;
		}
	}
	return false;
}

/* Ports, or the echo identifier; keep_src/keep_dst: that port stays as written. */
static void
set_ports(uint8_t *l4, uint16_t l4_len, uint8_t proto, uint16_t sport, uint16_t dport,
	  uint8_t icmp_type, bool keep_src, bool keep_dst)
{
	if (proto == IPPROTO_ICMP) {
		struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)l4;

		if (l4_len < 8)
			return;
		icmp->icmp_type = icmp_type;
		icmp->icmp_code = 0;
		icmp->icmp_ident = icmp_type == RTE_IP_ICMP_ECHO_REQUEST ? sport : dport;
		return;
	}
	if (l4_len < 4)
		return;
	if (!keep_src)
		memcpy(l4, &sport, 2);
	if (!keep_dst)
		memcpy(l4 + 2, &dport, 2);
}

/*
 * Make the frame answer what this port sent (see sent_tuple): the reply,
 * or, for an ICMP error (by its type), an error quoting it. Half: the
 * remote end stays as the fuzzer wrote it (another remote: filtering; a
 * router on the path: errors; another destination from the same inside
 * port: mapping reuse).
 */
static void
bind_frame(struct rte_ipv4_hdr *ip, uint8_t *l4, uint16_t l4_len, uint16_t port, uint8_t sel,
	   bool half)
{
	bool keep_src = half && port == OUT, keep_dst = half && port == IN;
	struct tuple t;

	if (!sent_tuple(port, sel, &t))
		return;
	if (ip->next_proto_id == IPPROTO_ICMP && l4_len >= 8 + IP_LEN + 8 && icmp_is_error(l4[0])) {
		struct rte_ipv4_hdr *q = (struct rte_ipv4_hdr *)(l4 + 8);

		q->version_ihl = RTE_IPV4_VHL_DEF;
		q->fragment_offset = 0;
		q->next_proto_id = t.proto;
		q->src_addr = t.src;
		q->dst_addr = t.dst;
		set_ports((uint8_t *)(q + 1), 8, t.proto, t.sport, t.dport, t.icmp_type, false,
			  false);
		q->hdr_checksum = 0;
		q->hdr_checksum = rte_ipv4_cksum(q);
		/* From the quoted packet's destination (or a router: half) to its source. */
		ip->dst_addr = t.src;
		if (!half)
			ip->src_addr = t.dst;
		return;
	}
	ip->next_proto_id = t.proto;
	if (!keep_src)
		ip->src_addr = t.dst;
	if (!keep_dst)
		ip->dst_addr = t.src;
	set_ports(l4, l4_len, t.proto, t.dport, t.sport,
		  t.icmp_type == RTE_IP_ICMP_ECHO_REQUEST ? RTE_IP_ICMP_ECHO_REPLY
							  : RTE_IP_ICMP_ECHO_REQUEST,
		  keep_src, keep_dst);
}

/* Total length, then the L4 checksum over it (unless keep_l4), then the header checksum. */
static void
fix_frame(uint8_t *f, uint16_t len, bool keep_l4)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + ETH_LEN);
	uint16_t ihl = (uint16_t)((ip->version_ihl & 0xf) * 4);
	uint16_t total = (uint16_t)(len - ETH_LEN);

	if (ihl < IP_LEN || ihl > total)
		return;
	ip->total_length = rte_cpu_to_be_16(total);
	if (ihl == IP_LEN && !keep_l4) {
		uint8_t *l4 = f + ETH_LEN + IP_LEN;
		uint16_t l4_len = (uint16_t)(total - IP_LEN);
		uint8_t proto = ip->next_proto_id;

		if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_ICMP) &&
		    l4_len >= min_l4(proto)) {
			uint16_t off = cksum_offset(proto), c = 0;

			if (proto == IPPROTO_UDP) {
				uint16_t dl = rte_cpu_to_be_16(l4_len);

				memcpy(l4 + 4, &dl, 2);
			}
			memcpy(l4 + off, &c, 2);
			c = l4_cksum(ip, l4, l4_len);
			if (c == 0 && proto == IPPROTO_UDP)
				c = 0xffff;
			memcpy(l4 + off, &c, 2);
		}
	}
	ip->hdr_checksum = 0;
	ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, ihl);
}

/* ---- bursts and oracles ---------------------------------------------- */

struct burst {
	uint16_t port;
	uint16_t worker;
	uint16_t n;
	uint16_t may_open;     /* frames that may open a session */
	bool dirty;            /* a frame whose L4 checksum was wrong going in */
	bool dirty_icmp_error; /* that frame: an ICMP error */
	struct rte_mbuf *pkts[BURST];
};

/*
 * Look at an input frame as the data plane will: whether it may open a
 * session, and whether its L4 checksum is right (a wrong one may come out
 * wrong: translation patches checksums, it does not repair them).
 */
static void
classify(struct burst *b, const uint8_t *f, uint16_t len)
{
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + ETH_LEN);
	const uint8_t *l4 = f + ETH_LEN + IP_LEN;
	uint16_t et, total, l4_len;

	if (len < ETH_LEN + IP_LEN)
		return;
	memcpy(&et, f + 12, 2);
	if (et != RTE_BE16(RTE_ETHER_TYPE_IPV4) || ip->version_ihl != RTE_IPV4_VHL_DEF)
		return;
	total = rte_be_to_cpu_16(ip->total_length);
	if (total < IP_LEN || total > len - ETH_LEN)
		return;
	l4_len = (uint16_t)(total - IP_LEN);
	switch (ip->next_proto_id) {
	case IPPROTO_UDP:
		b->may_open++;
		break;
	case IPPROTO_TCP:
		if (l4_len >= 14 && (l4[13] & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG |
					       RTE_TCP_RST_FLAG)) == RTE_TCP_SYN_FLAG)
			b->may_open++;
		break;
	case IPPROTO_ICMP:
		if (l4_len >= 1 && !icmp_is_error(l4[0]))
			b->may_open++;
		break;
	default:
		return;
	}
	if (l4_len < min_l4(ip->next_proto_id))
		return;
	if (ip->next_proto_id == IPPROTO_UDP && l4[6] == 0 && l4[7] == 0)
		return;
	if (!l4_cksum_ok(ip, l4, l4_len)) {
		b->dirty = true;
		if (ip->next_proto_id == IPPROTO_ICMP && icmp_is_error(l4[0]))
			b->dirty_icmp_error = true;
	}
}

/* The oracles every transmitted frame answers to. */
static void
check_frame(const struct burst *b, uint16_t port, const uint8_t *f, uint16_t len)
{
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + ETH_LEN);
	const uint8_t *l4 = f + ETH_LEN + IP_LEN;
	const char *where = port == OUT ? "outside" : "inside";
	uint16_t et, total, l4_len;
	bool leak_check = b->port == IN && port == OUT;

	if (trace && len >= ETH_LEN + IP_LEN) {
		const uint8_t *a = (const uint8_t *)&ip->src_addr,
			      *d = (const uint8_t *)&ip->dst_addr;

		fprintf(stderr, "  sent %s: %u.%u.%u.%u -> %u.%u.%u.%u proto %u, %u bytes\n", where,
			a[0], a[1], a[2], a[3], d[0], d[1], d[2], d[3], ip->next_proto_id, len);
	}
	if (len < ETH_LEN + IP_LEN)
		fz_fail(TARGET, f, len, "%s port sent a %u-byte frame", where, len);
	memcpy(&et, f + 12, 2);
	if (et != RTE_BE16(RTE_ETHER_TYPE_IPV4))
		fz_fail(TARGET, f, len, "%s port sent ethertype 0x%04x from a worker", where,
			rte_be_to_cpu_16(et));
	if (ip->version_ihl != RTE_IPV4_VHL_DEF)
		fz_fail(TARGET, f, len, "%s port sent version/IHL 0x%02x", where, ip->version_ihl);
	total = rte_be_to_cpu_16(ip->total_length);
	if (total != len - ETH_LEN)
		fz_fail(TARGET, f, len,
			"%s port sent total_length %u in a frame carrying %u bytes of IP", where,
			total, len - ETH_LEN);
	if (rte_raw_cksum(ip, IP_LEN) != 0xffff)
		fz_fail(TARGET, f, len, "%s port sent a bad IPv4 header checksum 0x%04x", where,
			rte_be_to_cpu_16(ip->hdr_checksum));
	if (leak_check && inside_addr(ip->src_addr))
		fz_fail(TARGET, f, len, "inside source address left the outside port");

	l4_len = (uint16_t)(total - IP_LEN);
	/*
	 * A fragment (translated by the NAT's virtual reassembly, routed as it
	 * is, or cut by the gateway from a datagram over the egress MTU): its
	 * L4 checksum covers the whole datagram, which the unit tests
	 * reassemble and verify. Here: none leaves the inside port still
	 * addressed to a pool address (a later fragment that missed its
	 * first's translation), as none leaves the outside port from an
	 * inside address (above).
	 */
	if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
		if (port == IN && b->port == OUT && pool_addr(ip->dst_addr))
			fz_fail(TARGET, f, len,
				"a fragment addressed to a pool address left the inside port");
		return;
	}
	switch (ip->next_proto_id) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
		break;
	default:
		return;
	}
	/* Routed without translation (no port crossed): a truncated header passes as it came. */
	if (l4_len < min_l4(ip->next_proto_id))
		return;
	if (ip->next_proto_id == IPPROTO_ICMP && icmp_is_error(l4[0]) && l4_len >= 8 + IP_LEN) {
		const struct rte_ipv4_hdr *q = (const struct rte_ipv4_hdr *)(l4 + 8);

		/* A quote is what parses as one (an option-free IPv4 header), not any payload. */
		if (leak_check && q->version_ihl == RTE_IPV4_VHL_DEF &&
		    (inside_addr(q->src_addr) || inside_addr(q->dst_addr)))
			fz_fail(TARGET, f, len,
				"inside address quoted in an ICMP error on the outside port");
	}
	remember(port, ip, l4);
	if (ip->next_proto_id == IPPROTO_UDP && l4[6] == 0 && l4[7] == 0)
		return; /* no checksum */
	if (ip->next_proto_id == IPPROTO_ICMP && b->n == 1 && b->dirty_icmp_error &&
	    l4_cksum_ok(ip, l4, l4_len))
		fz_fail(TARGET, f, len,
			"an ICMP error with a bad checksum went in, one with a "
			"good checksum came out: errors must be verified, not "
			"recomputed blindly");
	if (!b->dirty && !l4_cksum_ok(ip, l4, l4_len)) {
		uint16_t field, want;
		uint8_t copy[MAX_FRAME];
		uint16_t off = cksum_offset(ip->next_proto_id);

		memcpy(&field, l4 + off, 2);
		memcpy(copy, l4, l4_len);
		memset(copy + off, 0, 2);
		want = (uint16_t)~eph_cksum_fold(
			rte_raw_cksum(copy, l4_len) +
			(ip->next_proto_id == IPPROTO_ICMP ? 0 : pseudo_sum(ip, l4_len)));
		fz_fail(TARGET, f, len,
			"%s port sent protocol %u with checksum 0x%04x, a full "
			"recompute gives 0x%04x",
			where, ip->next_proto_id, rte_be_to_cpu_16(field), rte_be_to_cpu_16(want));
	}
}

/* Everything the ports transmitted, checked and freed; slow-path packets freed. */
static void
collect(const struct burst *b)
{
	struct rte_mbuf *pkts[64], *m;
	uint16_t n;

	for (unsigned int i = 0; i < dp.n_workers; i++) {
		struct eph_worker *w = dp.workers[i];

		for (uint16_t p = 0; p < dp.n_ports; p++) {
			uint16_t pid = dp.ports[p].port_id;

			w->stats.port[p].tx += rte_eth_tx_buffer_flush(pid, w->id, w->txb[p]);
			/* net_ring loops a queue's tx back to its rx. */
			while ((n = rte_eth_rx_burst(pid, w->id, pkts, RTE_DIM(pkts))) > 0) {
				for (uint16_t k = 0; k < n; k++) {
					if (pkts[k]->nb_segs != 1 ||
					    pkts[k]->data_len != pkts[k]->pkt_len)
						fz_fail(TARGET, NULL, 0,
							"a segmented frame was sent");
					check_frame(b, p, rte_pktmbuf_mtod(pkts[k], uint8_t *),
						    pkts[k]->data_len);
				}
				rte_pktmbuf_free_bulk(pkts, n);
			}
		}
		while (rte_ring_dequeue(w->from_control, (void **)&m) == 0)
			rte_pktmbuf_free(m);
	}
	/* ARP and unresolved next hops: the control lcore's business, not run here. */
	while (rte_ring_dequeue(dp.to_control, (void **)&m) == 0)
		rte_pktmbuf_free(m);
}

/* Until every handoff ring is empty: a packet may be handed on more than once. */
static void
handoff_drain(void)
{
	for (unsigned int round = 0;; round++) {
		bool pending = false;

		for (unsigned int k = 0; k < dp.n_workers * dp.n_workers; k++)
			if ((dp.nat.handoff[k] != NULL && !rte_ring_empty(dp.nat.handoff[k])) ||
			    (dp.nat.loans[k] != NULL && !rte_ring_empty(dp.nat.loans[k])))
				pending = true;
		if (!pending)
			return;
		if (round == 1000)
			fz_fail(TARGET, NULL, 0,
				"handoff rings still hold packets after 1000 rounds");
		for (unsigned int i = 0; i < dp.n_workers; i++)
			eph_nat_handoff_drain(dp.workers[i]);
	}
}

static void
run_burst(struct burst *b)
{
	uint64_t created, ftp_data, ftp_rewritten;

	if (b->n == 0)
		return;
	created = nat_ctr(EPH_NAT_sessions_created);
	ftp_data = nat_ctr(EPH_NAT_ftp_data_expected);
	ftp_rewritten = nat_ctr(EPH_NAT_ftp_commands_rewritten);
	if (trace) {
		struct eph_counters c;

		eph_stats_total(&dp, &c);
		fprintf(stderr, "burst: %u frames on %s, worker %u%s; drops so far:", b->n,
			b->port == OUT ? "outside" : "inside", b->worker,
			b->dirty ? ", dirty" : "");
		for (unsigned int r = 0; r < EPH_DROP_MAX; r++)
			if (c.drop[r] != 0)
				fprintf(stderr, " %s %" PRIu64, eph_drop_names[r], c.drop[r]);
		fputc('\n', stderr);
	}
	eph_input_burst(dp.workers[b->worker], b->port, b->pkts, b->n);
	handoff_drain();
	timers();
	collect(b);
	created = nat_ctr(EPH_NAT_sessions_created) - created;
	ftp_data = nat_ctr(EPH_NAT_ftp_data_expected) - ftp_data;
	ftp_rewritten = nat_ctr(EPH_NAT_ftp_commands_rewritten) - ftp_rewritten;
	/* An FTP data connection is made ready by a rewritten PORT/EPRT from inside, one each. */
	if (ftp_data > ftp_rewritten || (ftp_data != 0 && b->port != IN))
		fz_fail(TARGET, NULL, 0,
			"%" PRIu64 " FTP data sessions for %" PRIu64 " rewritten commands from the %s port",
			ftp_data, ftp_rewritten, b->port == OUT ? "outside" : "inside");
	created -= ftp_data;
	/* Only UDP, ICMP queries and a TCP SYN may open a session, from either side. */
	if (created > b->may_open)
		fz_fail(TARGET, NULL, 0,
			"%" PRIu64 " sessions opened by a burst of %u frames from "
			"the %s port of which %u may open one (a TCP segment "
			"without a lone SYN opened a session)",
			created, b->n, b->port == OUT ? "outside" : "inside", b->may_open);
	drain_events();
	memset(b, 0, offsetof(struct burst, pkts));
}

static void
add_frame(struct burst *b, uint16_t port, uint16_t worker, const uint8_t *data, uint16_t len,
	  uint8_t op, uint8_t sel, bool keep_l4)
{
	struct rte_mbuf *m;
	uint8_t *f;

	if (b->n != 0 && (b->port != port || b->worker != worker || b->n == BURST))
		run_burst(b);
	b->port = port;
	b->worker = worker;
	m = rte_pktmbuf_alloc(dp.pool);
	if (m == NULL)
		fz_fail(TARGET, NULL, 0, "mbuf pool empty: %u in use",
			rte_mempool_in_use_count(dp.pool));
	f = (uint8_t *)rte_pktmbuf_append(m, len);
	if (f == NULL)
		fz_fail(TARGET, NULL, 0, "no room for a %u-byte frame", len);
	memcpy(f, data, len);
	if (len >= ETH_LEN + IP_LEN) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + ETH_LEN);
		uint16_t ihl = (uint16_t)((ip->version_ihl & 0xf) * 4);

		if ((op & OP_BIND) && ihl == IP_LEN)
			bind_frame(ip, f + ETH_LEN + IP_LEN, (uint16_t)(len - ETH_LEN - IP_LEN),
				   port, sel, op & OP_HALF);
		if (op & OP_FIX)
			fix_frame(f, len, keep_l4);
	}
	classify(b, f, len);
	m->port = dp.ports[port].port_id;
	b->pkts[b->n++] = m;
}

/* ---- fixed sessions every run starts with ----------------------------- */

static uint8_t seed_frames[16][128];
static uint16_t seed_len[16];
static unsigned int n_seed;

static void
seed_frame(uint32_t src, uint32_t dst, uint8_t proto, uint16_t sport, uint16_t dport)
{
	uint8_t *f = seed_frames[n_seed];
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)f;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint8_t *l4 = (uint8_t *)(ip + 1);
	uint16_t l4_len = proto == IPPROTO_TCP ? 20 : 16;
	uint16_t sp = rte_cpu_to_be_16(sport), dpt = rte_cpu_to_be_16(dport);

	memset(f, 0, sizeof(seed_frames[0]));
	eth->dst_addr = dp.ports[IN].mac;
	eth->src_addr = (struct rte_ether_addr){{0x02, 0, 0, 0, 0, 0x11}};
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	if (proto == IPPROTO_ICMP) {
		l4[0] = RTE_IP_ICMP_ECHO_REQUEST;
		memcpy(l4 + 4, &sp, 2);
	} else {
		memcpy(l4, &sp, 2);
		memcpy(l4 + 2, &dpt, 2);
		if (proto == IPPROTO_TCP) {
			l4[12] = 5 << 4;
			l4[13] = RTE_TCP_SYN_FLAG;
		}
	}
	seed_len[n_seed] = (uint16_t)(ETH_LEN + IP_LEN + l4_len);
	fix_frame(f, seed_len[n_seed], false);
	n_seed++;
}

static void
seeds_build(void)
{
	static const uint32_t hosts[] = {
		FZ_IPV4(192, 0, 2, 11),
		FZ_IPV4(192, 0, 2, 70),
		FZ_IPV4(192, 0, 2, 130),
		FZ_IPV4(192, 0, 2, 200),
	};

	for (unsigned int h = 0; h < RTE_DIM(hosts); h++) {
		seed_frame(hosts[h], REMOTE, IPPROTO_UDP, 5000 + h, 53);
		seed_frame(hosts[h], REMOTE, IPPROTO_TCP, 40000 + h, 80);
		seed_frame(hosts[h], REMOTE, IPPROTO_ICMP, 0x100 + h, 0);
	}
	seed_frame(FZ_IPV4(10, 20, 1, 5), ROUTER, IPPROTO_UDP, 6000, 123);
}

/* ---- libFuzzer -------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const struct rte_ether_addr host_mac = {{0x02, 0, 0, 0, 0, 0x11}};
	const struct rte_ether_addr router_mac = {{0x02, 0, 0, 0, 0, 0x10}};

	trace = getenv("FUZZ_TRACE") != NULL;
	conf_build();
	fz_eal_start(&conf, TARGET, N_WORKERS, 256);
	if (eph_dp_setup(&dp, &conf, stderr) != 0) {
		fprintf(stderr, TARGET ": data plane setup failed\n");
		exit(1);
	}
	if (dp.n_workers != N_WORKERS) {
		fprintf(stderr, TARGET ": %u workers, wanted %u\n", dp.n_workers, N_WORKERS);
		exit(1);
	}
	/* net_ring ports share MAC 00:00:00:00:00:00: give each its own, as NICs have. */
	for (uint16_t p = 0; p < dp.n_ports; p++)
		dp.ports[p].mac = (struct rte_ether_addr){{0x02, 0, 0, 0, (uint8_t)p, 0x01}};
	/* Every neighbour resolved: each packet the workers route is sent and checked. */
	for (uint32_t h = 2; h < 255; h++) {
		neigh_add(IN, FZ_IPV4(192, 0, 2, h), &host_mac);
		neigh_add(OUT, FZ_IPV4(203, 0, 113, h), &router_mac);
	}
	clock_tsc = dp.nat.start_tsc;
	seeds_build();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct burst b;
	unsigned int in_use;
	bool keep_l4 = false;

	/* Every run starts with no session and rested ports (see the end), then the fixed flows. */
	run_ticks = 0;
	n_recent[IN] = n_recent[OUT] = 0;
	for (unsigned int i = 0; i < n_seed; i++)
		add_frame(&b, IN, 0, seed_frames[i], seed_len[i], 0, 0, false);
	run_burst(&b);

	while (size > 0) {
		uint8_t op = data[0], sel = 0;
		uint16_t len;

		if (op & OP_CLOCK && op & 1) {
			keep_l4 = true;
			data++;
			size--;
			continue;
		}
		if (op & OP_CLOCK) {
			uint32_t ticks = size > 1 ? 2u * data[1] : 1;

			run_burst(&b);
			data += size > 1 ? 2 : 1;
			size -= size > 1 ? 2 : 1;
			if (run_ticks + ticks > MAX_RUN_TICKS)
				continue;
			run_ticks += ticks;
			advance(ticks);
			continue;
		}
		if (size < 3)
			break;
		len = (uint16_t)(((data[1] << 8) | data[2]) & 0x7ff);
		data += 3;
		size -= 3;
		if (op & OP_BIND) {
			if (size < 1)
				break;
			sel = data[0];
			data++;
			size--;
		}
		if (len > size)
			len = (uint16_t)size;
		if (len > MAX_FRAME)
			len = MAX_FRAME;
		add_frame(&b, op & OP_PORT, (uint16_t)(((op >> 1) & 3) % dp.n_workers), data, len,
			  op, sel, keep_l4);
		keep_l4 = false;
		data += len;
		size -= len;
		if (op & OP_END)
			run_burst(&b);
	}
	run_burst(&b);
	if (trace) {
		struct eph_counters c;

		eph_stats_total(&dp, &c);
		fprintf(stderr, "end of run; drops:");
		for (unsigned int r = 0; r < EPH_DROP_MAX; r++)
			if (c.drop[r] != 0)
				fprintf(stderr, " %s %" PRIu64, eph_drop_names[r], c.drop[r]);
		fputc('\n', stderr);
	}

	/*
	 * The next run's start, checked here so that a failure blames this
	 * input: every session cleared, its port back and rested, nothing
	 * left held.
	 */
	clear_sessions();
	/* The balancer's connections end by their timers (the longest: TCP established). */
	advance((conf.timeouts.tcp_established + 1) * EPH_NAT_TICK_HZ);
	advance((QUARANTINE_S + 1) * EPH_NAT_TICK_HZ);
	audit_empty();
	audit_lb();
	drain_events();

	/* Every mbuf back in the pool: the data plane sends or frees what it is given. */
	in_use = rte_mempool_in_use_count(dp.pool);
	if (in_use != 0)
		fz_fail(TARGET, NULL, 0, "%u mbufs still in use after the run", in_use);
	return 0;
}

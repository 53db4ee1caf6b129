/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the unit tests that need DPDK: start the EAL without hugepages
 * and bring up a real data plane on net_ring ports (whose tx loops back to
 * rx), so tests push packets through the daemon's own code and read back
 * exactly what it transmitted. Also builds and checks packets.
 */
#ifndef EPH_TEST_HARNESS_H
#define EPH_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "control/config.h"
#include "dataplane/dp.h"

/*
 * The test bed every packet test uses:
 *   port 0 "inside"  192.0.2.1/24     (net_ring0)
 *   port 1 "outside" 203.0.113.1/24   (net_ring1)
 *   route 198.51.100.0/24 via 203.0.113.10
 */
/* DPDK 22.11's RTE_IPV4 shifts a signed int into the sign bit (UB): ours is unsigned. */
#define T_IPV4(a, b, c, d) \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

#define T_IN_ADDR   T_IPV4(192, 0, 2, 1)
#define T_OUT_ADDR  T_IPV4(203, 0, 113, 1)
#define T_HOST      T_IPV4(192, 0, 2, 11)
#define T_SERVER    T_IPV4(203, 0, 113, 10)
#define T_ROUTER    T_SERVER
#define T_REMOTE    T_IPV4(198, 51, 100, 10)

extern struct eph_conf t_conf;
extern struct eph_dp t_dp;
extern const struct rte_ether_addr t_host_mac;
extern const struct rte_ether_addr t_server_mac;

/* EAL + data plane on two net_ring ports; aborts the test program on failure. */
void t_start(const char *prefix);
/* The same, letting tweak change the configuration first (pools, sizes). */
void t_start_with(const char *prefix, void (*tweak)(struct eph_conf *conf));
void t_stop(void);

/* An Ethernet+IPv4 frame with a valid header checksum and payload_len bytes after it. */
struct rte_mbuf *t_ipv4_packet(const struct rte_ether_addr *src_mac, uint16_t in_port,
			       uint32_t src, uint32_t dst, uint8_t proto, uint8_t ttl,
			       uint16_t payload_len);
struct rte_ipv4_hdr *t_ip(struct rte_mbuf *m);

/* Everything port index p transmitted since the last call (tx flushed first). */
unsigned int t_sent(uint16_t p, struct rte_mbuf **pkts, unsigned int max);
/* Free whatever is waiting on every port and ring. */
void t_drain(void);

/*
 * A TCP (flags, seq, ack; window 0, no options) or UDP packet with 10
 * bytes of payload, checksums complete; ports host order.
 */
struct rte_mbuf *t_l4_packet(uint16_t in_port, const struct rte_ether_addr *mac, uint32_t src,
			     uint32_t dst, uint8_t proto, uint16_t sport, uint16_t dport,
			     uint8_t flags, uint32_t seq, uint32_t ack);

/*
 * A TCP segment from mac on port: flags, seq, ack and window (host order),
 * options opt[olen] (olen a multiple of 4), payload pay[plen]; TTL 64,
 * checksums complete.
 */
struct rte_mbuf *t_tcp_segment(uint16_t port, const struct rte_ether_addr *mac, uint32_t src,
			       uint32_t dst, uint16_t sport, uint16_t dport, uint8_t flags,
			       uint32_t seq, uint32_t ack, uint16_t win, const uint8_t *opt,
			       uint16_t olen, const uint8_t *pay, uint16_t plen);
/* A TCP frame's header, its sequence and acknowledgement numbers (host order), its payload. */
struct rte_tcp_hdr *t_tcp(struct rte_mbuf *m);
uint32_t t_tcp_seq(struct rte_mbuf *m);
uint32_t t_tcp_ack(struct rte_mbuf *m);
uint16_t t_tcp_payload_len(struct rte_mbuf *m);
const uint8_t *t_tcp_payload(struct rte_mbuf *m);

/* IP checksum, and the L4 checksum by full recompute (TCP/UDP with the pseudo-header, ICMP). */
void t_assert_checksums(struct rte_mbuf *m);
/* The 16-bit field at off in the L4 header, host order (0: source port, 2: destination). */
uint16_t t_l4_port(struct rte_mbuf *m, int off);
/* The one packet port p sent (checksums checked); fails unless exactly one. */
struct rte_mbuf *t_one_out(uint16_t p);

/* Advance the flow clock by ticks and run worker w's polls (NAT clock, balancer timers). */
void t_advance(struct eph_worker *w, uint32_t ticks);

/* A full-NAT VIP (pool 0) of maglev-size 65537 with no backend; the caller sets the rest. */
void t_vip(struct eph_conf_vip *v, const char *name, uint32_t addr, uint16_t port, uint8_t proto);
/* A pool of the balancer's local addresses (those of VIP vip), ports lo-hi, 1 s quarantine. */
void t_balancer_pool(struct eph_conf_pool *p, const char *vip, uint32_t *addrs, unsigned int n,
		     uint16_t lo, uint16_t hi);

/* Sum of the drop counter over workers and the control lcore. */
uint64_t t_drops(enum eph_drop_reason why);

/* Install a resolved neighbour directly (skipping ARP). */
void t_neigh_add(uint16_t port, uint32_t ip_host, const struct rte_ether_addr *mac);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counters of one lcore. Drop reasons are one X-macro list so the enum, the
 * names shown by telemetry and the counter array cannot drift apart.
 */
#ifndef EPH_COUNTERS_H
#define EPH_COUNTERS_H

#include <stdint.h>

#include <rte_common.h>

#include "control/config.h" /* EPH_MAX_PORTS */

/* name, what it means (shown by `ephemera --help-counters` and the README) */
#define EPH_DROP_REASONS(X)                                                                         \
	X(eth_truncated, "frame shorter than an Ethernet header")                                  \
	X(frame_chained, "frame in several buffers that does not fit one (jumbo without scatter)") \
	X(ethertype_unsupported, "EtherType other than IPv4 or ARP (VLAN, IPv6, LLDP, ...)")       \
	X(arp_invalid, "ARP that is not Ethernet/IPv4 request or reply, or is truncated")          \
	X(arp_ignored, "ARP not addressed to us and about no neighbour we track")                  \
	X(ip_truncated, "frame too short for the IPv4 header")                                     \
	X(ip_version, "IP version field is not 4")                                                 \
	X(ip_bad_ihl, "IPv4 header length below 20 bytes")                                         \
	X(ip_bad_total_length, "IPv4 total length smaller than the header or larger than the frame") \
	X(ip_bad_checksum, "IPv4 header checksum does not verify")                                 \
	X(ip_options, "IPv4 options present (not forwarded)")                                      \
	X(ip_fragment, "IPv4 fragment addressed to the gateway itself (not reassembled)")          \
	X(ip_not_unicast, "destination is broadcast or multicast")                                 \
	X(ip_bad_destination, "destination is zero, loopback or reserved (240/4)")                 \
	X(ip_bad_source, "source is zero, loopback, broadcast or multicast")                       \
	X(ttl_exceeded, "TTL would reach zero; ICMP time exceeded sent if allowed")                \
	X(no_route, "no route to the destination")                                                 \
	X(mtu_exceeded, "packet larger than the egress MTU with DF set (ICMP sent if it can quote it)") \
	X(frag_failed, "packet larger than the egress MTU that could not be fragmented")           \
	X(frag_no_mbuf, "no mbuf for a fragment of a packet larger than the egress MTU")           \
	X(local_unsupported, "addressed to the gateway, not an ICMP echo request, and the port has no kernel interface") \
	X(kernel_rate_limited, "to a kernel interface over dataplane.kernel-rate")                 \
	X(kernel_tx_full, "kernel interface did not take the packet")                              \
	X(kernel_unsupported, "from a kernel interface: not IPv4, or a malformed header")          \
	X(kernel_no_route, "from a kernel interface to no on-link or routed next hop (a VIP, a pool)") \
	X(icmp_invalid, "ICMP to the gateway truncated or with a bad checksum")                    \
	X(neigh_hold_full, "next hop unresolved and its hold queue (or the neighbour table) is full")                       \
	X(neigh_unresolved, "next hop did not answer ARP; held packets dropped")                   \
	X(slow_ring_full, "ring to the control lcore full")                                        \
	X(tx_full, "transmit queue full")                                                          \
	X(mbuf_alloc_failed, "no mbuf to build a reply or ICMP error")                             \
	X(l4_truncated, "TCP/UDP/ICMP header cut short")                                          \
	X(nat_unsupported, "protocol or ICMP type NAT does not translate")                         \
	X(nat_no_session, "outside packet for a pool address matches no session")                  \
	X(nat_tcp_not_syn, "TCP segment without a session that is not a SYN")                      \
	X(nat_tcp_rst_out_of_window, "TCP RST whose sequence number is outside the window (RFC 5961)") \
	X(nat_exhausted, "no free outside port for the destination (RFC 6888 REQ-11)")             \
	X(nat_host_limit, "inside host at its session limit (RFC 6888 REQ-4)")                     \
	X(nat_table_full, "session or port-allocator table full")                                  \
	X(nat_handoff_full, "ring to the owning worker full")                                      \
	X(nat_borrow_busy, "owner's share exhausted, ring to a worker to borrow from half full")   \
	X(nat_hairpin, "inside host addressed a pool address: hairpinning off for its pool, a sender in no pool, an ICMP error or a fragment")         \
	X(nat_inbound_limit, "session from outside over its mapping's or the worker's inbound limit") \
	X(nat_pool_removed, "packet handed over for a pool that a live change removed meanwhile")  \
	X(nat_icmp_untranslatable, "ICMP error whose quoted packet cannot be translated")          \
	X(nat_icmp_bad_checksum, "ICMP error to translate whose checksum does not verify")         \
	X(nat_icmp_spoofed, "inside ICMP error not from the quoted host or the router towards it") \
	X(lb_no_connection, "balancer: TCP segment that is not a SYN, or a reply, with no connection") \
	X(lb_no_vip, "balancer: packet to a VIP address on a port or protocol no VIP serves")   \
	X(lb_no_backend, "balancer: new connection to a VIP with no usable backend (refused)")  \
	X(lb_over_limit, "balancer: new connection over a VIP's or backend's max-connections (refused)") \
	X(lb_rate_limited, "balancer: new connection over a VIP's new-connections-per-s (refused)") \
	X(lb_no_port, "balancer: no local port left towards the chosen backend (refused)")      \
	X(lb_table_full, "balancer: connection table full")                                     \
	X(lb_unsupported, "balancer: protocol or ICMP type the balancer does not handle")       \
	X(lb_backend_removed, "balancer: packet of a connection reset when its backend was removed") \
	X(lb_icmp_untranslatable, "balancer: ICMP error whose quoted packet matches no connection") \
	X(frag_overlap, "fragment overlapping bytes of its datagram already seen, in part")     \
	X(frag_duplicate, "fragment whose bytes were all seen already (a copy)")                \
	X(frag_too_long, "fragment that makes its datagram longer than 65535 bytes")           \
	X(frag_tiny, "first fragment that cuts the L4 header, or a TCP fragment at offset 8 (RFC 1858, RFC 3128)") \
	X(frag_malformed, "fragment with more to follow whose payload is empty or not a multiple of 8") \
	X(frag_table_full, "fragment of a new datagram with nat.fragment-datagrams tracked already") \
	X(frag_held_full, "fragment before its first over nat.fragment-held or fragment-held-bytes") \
	X(frag_timeout, "fragment held whose datagram's first never came in nat.fragment-timeout-ms") \
	X(lb_fragment, "balancer: IPv4 fragment to a VIP or a local address (not translated)")   \
	X(lb_proxy_no_room, "balancer: segment to carry a PROXY header with no room for it (headroom, shared or chained buffer)") \
	X(lb_syn_cookie_invalid, "balancer: ACK to a syn-proxy VIP with no connection whose SYN cookie does not check (forged, too old)") \
	X(lb_syn_proxy_pending, "balancer: segment of a syn-proxy connection before the backend answered, beyond the one held")

enum eph_drop_reason {
#define EPH_DROP_ENUM(name, desc) EPH_DROP_##name,
	EPH_DROP_REASONS(EPH_DROP_ENUM)
#undef EPH_DROP_ENUM
	EPH_DROP_MAX
};

extern const char *const eph_drop_names[EPH_DROP_MAX];
extern const char *const eph_drop_descs[EPH_DROP_MAX];

/*
 * One per lcore, written only by that lcore with plain stores; the control
 * lcore and the telemetry thread only read (aligned 64-bit loads never tear).
 */
struct eph_port_counters {
	uint64_t rx;
	uint64_t tx;
	uint64_t to_kernel;   /* to the port's kernel interface */
	uint64_t from_kernel; /* from it, sent on by the data plane */
};

struct eph_counters {
	uint64_t rx;
	uint64_t forwarded;
	uint64_t echo_replies;
	uint64_t icmp_errors_sent;
	uint64_t icmp_errors_suppressed; /* rate limit */
	uint64_t to_control;             /* packets passed to the control lcore */
	uint64_t from_control;           /* packets the control lcore gave us to send */
	uint64_t polls;
	uint64_t busy_polls;             /* polls that received something */
	uint64_t mss_clamped;            /* TCP SYNs whose MSS option was lowered */
	uint64_t mss_bad_options;        /* TCP SYNs left alone: options malformed */
	uint64_t fragmented;             /* packets larger than the egress MTU split (DF clear) */
	uint64_t fragments_sent;         /* fragments they were split into */
	struct eph_port_counters port[EPH_MAX_PORTS];
	uint64_t drop[EPH_DROP_MAX];
} __rte_cache_aligned;

static inline void
eph_count_drop(struct eph_counters *c, enum eph_drop_reason why)
{
	c->drop[why]++;
}

static inline uint64_t
eph_counters_tx(const struct eph_counters *c)
{
	uint64_t sum = 0;

	for (unsigned int p = 0; p < EPH_MAX_PORTS; p++)
		sum += c->port[p].tx;
	return sum;
}

static inline uint64_t
eph_counters_drops(const struct eph_counters *c)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < EPH_DROP_MAX; i++)
		sum += c->drop[i];
	return sum;
}

#endif /* EPH_COUNTERS_H */

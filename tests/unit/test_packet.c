/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's packet path on real DPDK ports (net_ring): packets are built
 * byte by byte, pushed through eph_input_burst, and what the port
 * transmitted is checked byte by byte, checksums against a full recompute.
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_icmp.h>

#include "tests/unit/harness.h"

#define ETH_LEN  ((uint16_t)sizeof(struct rte_ether_hdr))
#define IP_LEN   ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define IN       0
#define OUT      1

static struct eph_worker *w;

static int
setup(void **state)
{
	(void)state;
	t_start("unit-packet");
	w = t_dp.workers[0];
	t_neigh_add(OUT, T_SERVER, &t_server_mac);
	t_neigh_add(IN, T_HOST, &t_host_mac);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	t_stop();
	return 0;
}

static int
per_test_drain(void **state)
{
	(void)state;
	t_drain();
	return 0;
}

static void
input(uint16_t port, struct rte_mbuf *m)
{
	eph_input_burst(w, port, &m, 1);
}

static void
assert_ip_cksum_ok(const struct rte_ipv4_hdr *ip)
{
	struct rte_ipv4_hdr copy = *ip;

	assert_int_equal(rte_raw_cksum(ip, IP_LEN), 0xffff);
	copy.hdr_checksum = 0;
	assert_int_equal(rte_ipv4_cksum(&copy) == 0xffff ? 0 : rte_ipv4_cksum(&copy),
			 ip->hdr_checksum == 0xffff ? 0 : ip->hdr_checksum);
}

static void
test_forward_connected(void **state)
{
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, T_HOST, T_SERVER, IPPROTO_UDP, 64, 100);
	uint8_t before[ETH_LEN + IP_LEN + 100];
	struct rte_mbuf *out[4];
	const struct rte_ether_hdr *eth;
	const struct rte_ipv4_hdr *ip;
	uint64_t fwd = w->stats.forwarded;

	(void)state;
	memcpy(before, rte_pktmbuf_mtod(m, void *), sizeof(before));
	input(IN, m);

	assert_int_equal(t_sent(IN, out, 4), 0);
	assert_int_equal(t_sent(OUT, out, 4), 1);
	assert_int_equal(rte_pktmbuf_pkt_len(out[0]), sizeof(before));
	eth = rte_pktmbuf_mtod(out[0], const struct rte_ether_hdr *);
	ip = (const struct rte_ipv4_hdr *)(eth + 1);
	assert_memory_equal(&eth->dst_addr, &t_server_mac, RTE_ETHER_ADDR_LEN);
	assert_memory_equal(&eth->src_addr, &t_dp.ports[OUT].mac, RTE_ETHER_ADDR_LEN);
	assert_int_equal(ip->time_to_live, 63);
	assert_ip_cksum_ok(ip);
	assert_int_equal(ip->src_addr, rte_cpu_to_be_32(T_HOST));
	assert_int_equal(ip->dst_addr, rte_cpu_to_be_32(T_SERVER));
	/* Everything after the TTL/checksum rewrite is untouched. */
	assert_memory_equal((const uint8_t *)(ip + 1), before + ETH_LEN + IP_LEN, 100);
	assert_int_equal(w->stats.forwarded, fwd + 1);
	rte_pktmbuf_free(out[0]);
}

static void
test_forward_static_route(void **state)
{
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, T_HOST, T_REMOTE, IPPROTO_TCP, 2, 40);
	struct rte_mbuf *out[4];
	const struct rte_ether_hdr *eth;

	(void)state;
	input(IN, m);
	assert_int_equal(t_sent(OUT, out, 4), 1);
	eth = rte_pktmbuf_mtod(out[0], const struct rte_ether_hdr *);
	/* The router's MAC, not the destination's. */
	assert_memory_equal(&eth->dst_addr, &t_server_mac, RTE_ETHER_ADDR_LEN);
	assert_int_equal(t_ip(out[0])->time_to_live, 1);
	assert_ip_cksum_ok(t_ip(out[0]));
	rte_pktmbuf_free(out[0]);
}

static void
test_unresolved_goes_to_control(void **state)
{
	uint32_t other = T_IPV4(203, 0, 113, 77);
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, T_HOST, other, IPPROTO_UDP, 64, 10);
	struct rte_mbuf *up = NULL;
	const struct eph_pkt_meta *meta;
	struct rte_mbuf *out[4];

	(void)state;
	input(IN, m);
	assert_int_equal(t_sent(OUT, out, 4), 0);
	assert_int_equal(rte_ring_dequeue(t_dp.to_control, (void **)&up), 0);
	assert_ptr_equal(up, m);
	meta = eph_pkt_meta(&t_dp, up);
	assert_int_equal(meta->kind, EPH_SLOW_RESOLVE);
	assert_int_equal(meta->out_port, OUT);
	assert_int_equal(meta->nexthop, rte_cpu_to_be_32(other));
	/* Already routed: TTL decremented once, header still valid. */
	assert_int_equal(t_ip(up)->time_to_live, 63);
	assert_ip_cksum_ok(t_ip(up));
	rte_pktmbuf_free(up);
}

/* The ICMP error in out: type/code, addresses, checksums, and the quoted original. */
static void
assert_icmp_error(struct rte_mbuf *out, uint8_t type, uint8_t code, uint32_t from, uint32_t to,
		  const uint8_t *orig_ip, uint16_t orig_len, uint32_t rest)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(out, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	const struct rte_icmp_hdr *icmp = (const struct rte_icmp_hdr *)(ip + 1);
	uint16_t icmp_len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - IP_LEN);
	uint32_t rest_be;

	assert_memory_equal(&eth->dst_addr, &t_host_mac, RTE_ETHER_ADDR_LEN);
	assert_int_equal(ip->next_proto_id, IPPROTO_ICMP);
	assert_int_equal(ip->src_addr, rte_cpu_to_be_32(from));
	assert_int_equal(ip->dst_addr, rte_cpu_to_be_32(to));
	assert_ip_cksum_ok(ip);
	assert_int_equal(rte_pktmbuf_pkt_len(out), ETH_LEN + IP_LEN + icmp_len);
	assert_int_equal(icmp->icmp_type, type);
	assert_int_equal(icmp->icmp_code, code);
	assert_int_equal(rte_raw_cksum(icmp, icmp_len), 0xffff);
	memcpy(&rest_be, &icmp->icmp_ident, sizeof(rest_be));
	assert_int_equal(rte_be_to_cpu_32(rest_be), rest);
	assert_int_equal(icmp_len - sizeof(*icmp), orig_len);
	assert_memory_equal(icmp + 1, orig_ip, orig_len);
}

static void
test_ttl_exceeded(void **state)
{
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, T_HOST, T_SERVER, IPPROTO_UDP, 1, 30);
	uint8_t orig[IP_LEN + 30];
	uint64_t drops = t_drops(EPH_DROP_ttl_exceeded);
	struct rte_mbuf *out[4];

	(void)state;
	memcpy(orig, t_ip(m), sizeof(orig));
	input(IN, m);
	assert_int_equal(t_sent(OUT, out, 4), 0);
	assert_int_equal(t_sent(IN, out, 4), 1);
	assert_icmp_error(out[0], EPH_ICMP_TIME_EXCEEDED, EPH_ICMP_TTL_IN_TRANSIT, T_IN_ADDR, T_HOST,
			  orig, sizeof(orig), 0);
	assert_int_equal(t_drops(EPH_DROP_ttl_exceeded), drops + 1);
	rte_pktmbuf_free(out[0]);
}

static void
test_no_route_unreachable(void **state)
{
	uint32_t nowhere = T_IPV4(100, 64, 0, 1);
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, T_HOST, nowhere, IPPROTO_TCP, 64, 600);
	uint8_t orig[548];
	uint64_t drops = t_drops(EPH_DROP_no_route);
	struct rte_mbuf *out[4];

	(void)state;
	memcpy(orig, t_ip(m), sizeof(orig));
	input(IN, m);
	assert_int_equal(t_sent(IN, out, 4), 1);
	/* RFC 1812: the quote stops where the error would exceed 576 bytes. */
	assert_icmp_error(out[0], EPH_ICMP_DEST_UNREACH, EPH_ICMP_NET_UNREACH, T_IN_ADDR, T_HOST,
			  orig, sizeof(orig), 0);
	assert_int_equal(t_drops(EPH_DROP_no_route), drops + 1);
	rte_pktmbuf_free(out[0]);
}

static void
test_mtu_exceeded_frag_needed(void **state)
{
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, T_HOST, T_SERVER, IPPROTO_UDP, 64, 200);
	uint8_t orig[IP_LEN + 200];
	uint64_t drops = t_drops(EPH_DROP_mtu_exceeded);
	struct rte_mbuf *out[4];
	uint16_t mtu = t_dp.ports[OUT].mtu;

	(void)state;
	t_ip(m)->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	t_ip(m)->hdr_checksum = 0;
	t_ip(m)->hdr_checksum = rte_ipv4_cksum(t_ip(m));
	memcpy(orig, t_ip(m), sizeof(orig));
	t_dp.ports[OUT].mtu = 128;
	input(IN, m);
	t_dp.ports[OUT].mtu = mtu;
	assert_int_equal(t_sent(OUT, out, 4), 0);
	assert_int_equal(t_sent(IN, out, 4), 1);
	assert_icmp_error(out[0], EPH_ICMP_DEST_UNREACH, EPH_ICMP_FRAG_NEEDED, T_IN_ADDR, T_HOST,
			  orig, sizeof(orig), 128);
	assert_int_equal(t_drops(EPH_DROP_mtu_exceeded), drops + 1);
	rte_pktmbuf_free(out[0]);
}

static struct rte_mbuf *
echo_request(uint32_t dst, uint16_t len)
{
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, T_HOST, dst, IPPROTO_ICMP, 64, len);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);

	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_code = 0;
	icmp->icmp_ident = RTE_BE16(0x4242);
	icmp->icmp_seq_nb = RTE_BE16(7);
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, len);
	return m;
}

static void
check_echo_reply(uint32_t gateway_addr)
{
	struct rte_mbuf *m = echo_request(gateway_addr, 64);
	uint8_t req_icmp[64];
	struct rte_mbuf *out[4];
	const struct rte_ipv4_hdr *ip;
	const struct rte_icmp_hdr *icmp;
	const struct rte_ether_hdr *eth;

	memcpy(req_icmp, t_ip(m) + 1, sizeof(req_icmp));
	input(IN, m);
	assert_int_equal(t_sent(IN, out, 4), 1);
	eth = rte_pktmbuf_mtod(out[0], const struct rte_ether_hdr *);
	ip = (const struct rte_ipv4_hdr *)(eth + 1);
	icmp = (const struct rte_icmp_hdr *)(ip + 1);
	assert_memory_equal(&eth->dst_addr, &t_host_mac, RTE_ETHER_ADDR_LEN);
	assert_memory_equal(&eth->src_addr, &t_dp.ports[IN].mac, RTE_ETHER_ADDR_LEN);
	assert_int_equal(ip->src_addr, rte_cpu_to_be_32(gateway_addr));
	assert_int_equal(ip->dst_addr, rte_cpu_to_be_32(T_HOST));
	assert_ip_cksum_ok(ip);
	assert_int_equal(icmp->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	assert_int_equal(icmp->icmp_code, 0);
	assert_int_equal(rte_raw_cksum(icmp, 64), 0xffff);
	/* Identifier, sequence and data come back unchanged. */
	assert_memory_equal((const uint8_t *)icmp + 4, req_icmp + 4, 60);
	rte_pktmbuf_free(out[0]);
}

static void
test_echo_reply_own_addresses(void **state)
{
	uint64_t replies = w->stats.echo_replies;

	(void)state;
	check_echo_reply(T_IN_ADDR);
	/* The outside address answers too, from the inside. */
	check_echo_reply(T_OUT_ADDR);
	assert_int_equal(w->stats.echo_replies, replies + 2);
}

static void
test_ethernet_padding_trimmed(void **state)
{
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, T_HOST, T_SERVER, IPPROTO_UDP, 64, 8);
	struct rte_mbuf *out[4];

	(void)state;
	/* 42-byte frame padded to the 60-byte Ethernet minimum. */
	memset(rte_pktmbuf_append(m, 18), 0xee, 18);
	input(IN, m);
	assert_int_equal(t_sent(OUT, out, 4), 1);
	assert_int_equal(rte_pktmbuf_pkt_len(out[0]), ETH_LEN + IP_LEN + 8);
	rte_pktmbuf_free(out[0]);
}

static void
test_icmp_errors_rate_limited(void **state)
{
	uint64_t saved = t_dp.icmp_rate;
	uint64_t sent = w->stats.icmp_errors_sent, quiet = w->stats.icmp_errors_suppressed;
	struct rte_mbuf *out[8];
	unsigned int n;

	(void)state;
	t_dp.icmp_rate = 2;
	w->icmp_tat = 0; /* unused: one second's worth, 2 errors */
	for (int i = 0; i < 5; i++)
		input(IN, t_ipv4_packet(&t_host_mac, IN, T_HOST, T_SERVER, IPPROTO_UDP, 1, 8));
	t_dp.icmp_rate = saved;
	n = t_sent(IN, out, 8);
	assert_int_equal(n, 2);
	assert_int_equal(w->stats.icmp_errors_sent, sent + 2);
	assert_int_equal(w->stats.icmp_errors_suppressed, quiet + 3);
	rte_pktmbuf_free_bulk(out, n);
}

/* ---- malformed packets: each dropped with its reason, nothing sent ---- */

typedef void (*mangle_fn)(struct rte_mbuf *m);

static void
refresh_cksum(struct rte_mbuf *m)
{
	t_ip(m)->hdr_checksum = 0;
	t_ip(m)->hdr_checksum = rte_ipv4_cksum(t_ip(m));
}

static void
m_eth_truncated(struct rte_mbuf *m)
{
	rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - 10);
}

static void
m_ip_truncated(struct rte_mbuf *m)
{
	rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - (ETH_LEN + 12));
}

static void
m_ip_version(struct rte_mbuf *m)
{
	t_ip(m)->version_ihl = 0x65;
	refresh_cksum(m);
}

static void
m_bad_ihl(struct rte_mbuf *m)
{
	t_ip(m)->version_ihl = 0x44;
}

static void
m_total_too_long(struct rte_mbuf *m)
{
	t_ip(m)->total_length = rte_cpu_to_be_16(1400);
	refresh_cksum(m);
}

static void
m_total_too_short(struct rte_mbuf *m)
{
	t_ip(m)->total_length = rte_cpu_to_be_16(12);
	refresh_cksum(m);
}

static void
m_bad_checksum(struct rte_mbuf *m)
{
	t_ip(m)->hdr_checksum ^= RTE_BE16(0x0101);
}

static void
m_options(struct rte_mbuf *m)
{
	/* IHL 6: a 4-byte option (NOPs) inside the header, checksum over 24 bytes. */
	struct rte_ipv4_hdr *ip = t_ip(m);

	ip->version_ihl = 0x46;
	memset(ip + 1, 1, 4);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, 24);
}

static void
m_more_fragments(struct rte_mbuf *m)
{
	/* Routed fragments are forwarded (test_frag.c); the gateway reassembles none of its own. */
	t_ip(m)->fragment_offset = RTE_BE16(RTE_IPV4_HDR_MF_FLAG);
	t_ip(m)->dst_addr = rte_cpu_to_be_32(T_IN_ADDR);
	refresh_cksum(m);
}

static void
m_fragment_offset(struct rte_mbuf *m)
{
	t_ip(m)->fragment_offset = RTE_BE16(185);
	t_ip(m)->dst_addr = rte_cpu_to_be_32(T_IN_ADDR);
	refresh_cksum(m);
}

static void
m_ethertype_ipv6(struct rte_mbuf *m)
{
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
}

static void
m_ethertype_vlan(struct rte_mbuf *m)
{
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
}

static void
m_src_multicast(struct rte_mbuf *m)
{
	t_ip(m)->src_addr = rte_cpu_to_be_32(T_IPV4(224, 0, 0, 5));
	refresh_cksum(m);
}

static void
m_src_zero(struct rte_mbuf *m)
{
	t_ip(m)->src_addr = 0;
	refresh_cksum(m);
}

static void
m_dst_multicast(struct rte_mbuf *m)
{
	t_ip(m)->dst_addr = rte_cpu_to_be_32(T_IPV4(239, 1, 2, 3));
	refresh_cksum(m);
}

static void
m_dst_broadcast(struct rte_mbuf *m)
{
	t_ip(m)->dst_addr = RTE_BE32(0xffffffff);
	refresh_cksum(m);
}

static void
m_dst_directed_broadcast(struct rte_mbuf *m)
{
	t_ip(m)->dst_addr = rte_cpu_to_be_32(T_IPV4(203, 0, 113, 255));
	refresh_cksum(m);
}

static void
m_dst_loopback(struct rte_mbuf *m)
{
	t_ip(m)->dst_addr = rte_cpu_to_be_32(T_IPV4(127, 0, 0, 1));
	refresh_cksum(m);
}

static void
m_dst_class_e(struct rte_mbuf *m)
{
	t_ip(m)->dst_addr = rte_cpu_to_be_32(T_IPV4(240, 0, 0, 1));
	refresh_cksum(m);
}

static void
m_tcp_to_gateway(struct rte_mbuf *m)
{
	t_ip(m)->next_proto_id = IPPROTO_TCP;
	t_ip(m)->dst_addr = rte_cpu_to_be_32(T_IN_ADDR);
	refresh_cksum(m);
}

static void
m_echo_bad_cksum(struct rte_mbuf *m)
{
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);

	t_ip(m)->next_proto_id = IPPROTO_ICMP;
	t_ip(m)->dst_addr = rte_cpu_to_be_32(T_IN_ADDR);
	refresh_cksum(m);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_code = 0;
	icmp->icmp_cksum = 0x1234;
}

static void
m_echo_truncated(struct rte_mbuf *m)
{
	/* Only 4 bytes of ICMP: shorter than its header. */
	t_ip(m)->next_proto_id = IPPROTO_ICMP;
	t_ip(m)->dst_addr = rte_cpu_to_be_32(T_IN_ADDR);
	t_ip(m)->total_length = rte_cpu_to_be_16(IP_LEN + 4);
	refresh_cksum(m);
}

static void
m_arp_bad_hlen(struct rte_mbuf *m)
{
	struct rte_arp_hdr *arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, ETH_LEN);

	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 8;
	arp->arp_plen = 4;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
}

static void
m_arp_truncated(struct rte_mbuf *m)
{
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - (ETH_LEN + 20));
}

static const struct {
	const char *what;
	mangle_fn mangle;
	enum eph_drop_reason why;
} malformed[] = {
	{ "frame shorter than Ethernet", m_eth_truncated, EPH_DROP_eth_truncated },
	{ "IPv4 header cut short", m_ip_truncated, EPH_DROP_ip_truncated },
	{ "IP version 6 in an IPv4 frame", m_ip_version, EPH_DROP_ip_version },
	{ "IHL 4", m_bad_ihl, EPH_DROP_ip_bad_ihl },
	{ "total length beyond the frame", m_total_too_long, EPH_DROP_ip_bad_total_length },
	{ "total length below the header", m_total_too_short, EPH_DROP_ip_bad_total_length },
	{ "header checksum wrong", m_bad_checksum, EPH_DROP_ip_bad_checksum },
	{ "IP options", m_options, EPH_DROP_ip_options },
	{ "more-fragments flag, to the gateway", m_more_fragments, EPH_DROP_ip_fragment },
	{ "fragment offset, to the gateway", m_fragment_offset, EPH_DROP_ip_fragment },
	{ "IPv6 EtherType", m_ethertype_ipv6, EPH_DROP_ethertype_unsupported },
	{ "VLAN EtherType", m_ethertype_vlan, EPH_DROP_ethertype_unsupported },
	{ "multicast source", m_src_multicast, EPH_DROP_ip_bad_source },
	{ "zero source", m_src_zero, EPH_DROP_ip_bad_source },
	{ "multicast destination", m_dst_multicast, EPH_DROP_ip_not_unicast },
	{ "limited broadcast", m_dst_broadcast, EPH_DROP_ip_not_unicast },
	{ "directed broadcast", m_dst_directed_broadcast, EPH_DROP_ip_not_unicast },
	{ "loopback destination", m_dst_loopback, EPH_DROP_ip_bad_destination },
	{ "class E destination", m_dst_class_e, EPH_DROP_ip_bad_destination },
	{ "TCP to the gateway", m_tcp_to_gateway, EPH_DROP_local_unsupported },
	{ "echo with bad checksum", m_echo_bad_cksum, EPH_DROP_icmp_invalid },
	{ "ICMP shorter than its header", m_echo_truncated, EPH_DROP_icmp_invalid },
	{ "ARP with 8-byte hardware address", m_arp_bad_hlen, EPH_DROP_arp_invalid },
	{ "ARP cut short", m_arp_truncated, EPH_DROP_arp_invalid },
};

static void
test_malformed_dropped_by_reason(void **state)
{
	(void)state;
	for (size_t i = 0; i < RTE_DIM(malformed); i++) {
		struct rte_mbuf *m =
			t_ipv4_packet(&t_host_mac, IN, T_HOST, T_SERVER, IPPROTO_UDP, 64, 40);
		uint64_t before[EPH_DROP_MAX];
		struct rte_mbuf *out[4];
		unsigned int avail = rte_mempool_avail_count(t_dp.pool);

		for (int r = 0; r < EPH_DROP_MAX; r++)
			before[r] = t_drops(r);
		malformed[i].mangle(m);
		input(IN, m);

		print_message("  %-36s -> %s\n", malformed[i].what,
			      eph_drop_names[malformed[i].why]);
		for (int r = 0; r < EPH_DROP_MAX; r++)
			assert_int_equal(t_drops(r), before[r] + (r == (int)malformed[i].why));
		assert_int_equal(t_sent(IN, out, 4), 0);
		assert_int_equal(t_sent(OUT, out, 4), 0);
		assert_int_equal(rte_ring_count(t_dp.to_control), 0);
		/* The packet went back to the pool: nothing leaked. */
		assert_int_equal(rte_mempool_avail_count(t_dp.pool), avail + 1);
	}
}

/* An all-zero echo reply sums to zero: its checksum is 0xffff, never 0x0000 (RFC 1624 sec. 3). */
static void
test_echo_reply_all_zero_checksum(void **state)
{
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, T_HOST, T_IN_ADDR, IPPROTO_ICMP, 64,
					   sizeof(struct rte_icmp_hdr));
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);
	struct rte_mbuf *out[4];

	(void)state;
	memset(icmp, 0, sizeof(*icmp));
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, sizeof(*icmp));
	input(IN, m);
	assert_int_equal(t_sent(IN, out, 4), 1);
	icmp = (struct rte_icmp_hdr *)(t_ip(out[0]) + 1);
	assert_int_equal(icmp->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	assert_int_equal(icmp->icmp_cksum, 0xffff);
	assert_int_equal(rte_raw_cksum(icmp, sizeof(*icmp)), 0xffff);
	rte_pktmbuf_free(out[0]);
}

/*
 * A frame in two buffers: one that fits a single buffer is made one and
 * forwarded intact; one that does not is dropped and counted, never read
 * past its first buffer.
 */
static void
test_chained_frames(void **state)
{
	const uint16_t lens[] = { 300, 1400 };
	uint64_t chained = t_drops(EPH_DROP_frame_chained);
	struct rte_mbuf *out[4];

	(void)state;
	for (unsigned int i = 0; i < RTE_DIM(lens); i++) {
		struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, T_HOST, T_SERVER, IPPROTO_UDP,
						   64, (uint16_t)(lens[i] - IP_LEN));
		struct rte_mbuf *tail = rte_pktmbuf_alloc(t_dp.pool);
		uint8_t frame[ETH_LEN + 1400];
		uint16_t half = (uint16_t)(rte_pktmbuf_data_len(m) / 2);
		uint16_t first = (uint16_t)(i == 0 ? half : rte_pktmbuf_data_len(m) - 4);
		uint16_t rest = (uint16_t)(rte_pktmbuf_data_len(m) - first);
		uint8_t *p;

		assert_non_null(tail);
		memcpy(frame, rte_pktmbuf_mtod(m, void *), rte_pktmbuf_data_len(m));
		/* The second buffer gets the end of the frame; the first keeps `first` bytes. */
		p = (uint8_t *)rte_pktmbuf_append(tail, rest);
		assert_non_null(p);
		memcpy(p, frame + first, rest);
		rte_pktmbuf_trim(m, rest);
		if (i == 1) {
			/* No room left to pull the tail in: the first buffer is full. */
			uint16_t room = rte_pktmbuf_tailroom(m);

			assert_non_null(rte_pktmbuf_append(tail, room));
			memset(rte_pktmbuf_mtod_offset(tail, uint8_t *, rest), 0, room);
		}
		assert_int_equal(rte_pktmbuf_chain(m, tail), 0);
		input(IN, m);
		if (i == 0) {
			const struct rte_ipv4_hdr *ip;

			assert_int_equal(t_sent(OUT, out, 4), 1);
			assert_int_equal(out[0]->nb_segs, 1);
			ip = t_ip(out[0]);
			assert_int_equal(rte_pktmbuf_data_len(out[0]), ETH_LEN + lens[i]);
			assert_ip_cksum_ok(ip);
			/* After the IP header, byte for byte what was sent. */
			assert_memory_equal(ip + 1, frame + ETH_LEN + IP_LEN, lens[i] - IP_LEN);
			rte_pktmbuf_free(out[0]);
		} else {
			assert_int_equal(t_sent(OUT, out, 4), 0);
			assert_int_equal(t_drops(EPH_DROP_frame_chained), chained + 1);
		}
	}
}

/* A burst mixing good and bad packets: the good ones all come out, in order. */
static void
test_mixed_burst(void **state)
{
	struct rte_mbuf *burst[32];
	struct rte_mbuf *out[32];
	unsigned int good = 0, n;

	(void)state;
	for (unsigned int i = 0; i < RTE_DIM(burst); i++) {
		burst[i] = t_ipv4_packet(&t_host_mac, IN, T_HOST, T_SERVER, IPPROTO_UDP, 64, 20);
		t_ip(burst[i])->packet_id = rte_cpu_to_be_16((uint16_t)i);
		refresh_cksum(burst[i]);
		if (i % 3 == 0)
			m_bad_checksum(burst[i]);
		else
			good++;
	}
	eph_input_burst(w, IN, burst, RTE_DIM(burst));
	n = t_sent(OUT, out, RTE_DIM(out));
	assert_int_equal(n, good);
	for (unsigned int i = 0, k = 1; i < n; i++, k += (k % 3 == 2) ? 2 : 1) {
		assert_int_equal(rte_be_to_cpu_16(t_ip(out[i])->packet_id), k);
		assert_ip_cksum_ok(t_ip(out[i]));
	}
	rte_pktmbuf_free_bulk(out, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_forward_connected, per_test_drain),
		cmocka_unit_test_setup(test_forward_static_route, per_test_drain),
		cmocka_unit_test_setup(test_unresolved_goes_to_control, per_test_drain),
		cmocka_unit_test_setup(test_ttl_exceeded, per_test_drain),
		cmocka_unit_test_setup(test_no_route_unreachable, per_test_drain),
		cmocka_unit_test_setup(test_mtu_exceeded_frag_needed, per_test_drain),
		cmocka_unit_test_setup(test_echo_reply_own_addresses, per_test_drain),
		cmocka_unit_test_setup(test_ethernet_padding_trimmed, per_test_drain),
		cmocka_unit_test_setup(test_icmp_errors_rate_limited, per_test_drain),
		cmocka_unit_test_setup(test_malformed_dropped_by_reason, per_test_drain),
		cmocka_unit_test_setup(test_mixed_burst, per_test_drain),
		cmocka_unit_test_setup(test_echo_reply_all_zero_checksum, per_test_drain),
		cmocka_unit_test_setup(test_chained_frames, per_test_drain),
	};

	return cmocka_run_group_tests_name("packet path", tests, setup, teardown);
}

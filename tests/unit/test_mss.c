/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MSS clamping (ports[].mss-clamp) and egress fragmentation on real DPDK
 * ports (net_ring): TCP SYNs and SYN-ACKs built byte by byte, pushed through
 * eph_input_burst, and the MSS option and TCP checksum of what the egress
 * port sent checked; datagrams larger than the egress MTU fragmented (DF
 * clear) and the fragments reassembled, or refused with ICMP (DF set).
 */
#include <string.h>

#include <rte_tcp.h>

#include "tests/unit/harness.h"

#define IN  0
#define OUT 1

static struct eph_worker *w;

/* Buffers large enough for a 3000-byte datagram in one mbuf. */
static void
jumbo(struct eph_conf *conf)
{
	conf->ports[IN].mtu = 9000;
}

static int
setup(void **state)
{
	(void)state;
	t_start_with("unit-mss", jumbo);
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
per_test_reset(void **state)
{
	(void)state;
	t_drain();
	for (unsigned int p = 0; p < t_dp.n_ports; p++) {
		t_dp.ports[p].mtu = 1500;
		t_dp.ports[p].mss_clamp = EPH_MSS_CLAMP_OFF;
	}
	return 0;
}

/* A TCP segment with the given options (olen a multiple of 4), checksums complete. */
static struct rte_mbuf *
tcp_with_options(uint16_t in_port, const struct rte_ether_addr *mac, uint32_t src,
		 uint32_t dst, uint8_t flags, const uint8_t *opts, uint16_t olen)
{
	uint16_t len = (uint16_t)(sizeof(struct rte_tcp_hdr) + olen);
	struct rte_mbuf *m = t_ipv4_packet(mac, in_port, src, dst, IPPROTO_TCP, 64, len);
	struct rte_ipv4_hdr *ip = t_ip(m);
	struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(ip + 1);

	memset(t, 0, sizeof(*t));
	t->src_port = RTE_BE16(40000);
	t->dst_port = RTE_BE16(80);
	t->sent_seq = RTE_BE32(1000);
	t->data_off = (uint8_t)((len / 4) << 4);
	t->tcp_flags = flags;
	t->rx_win = RTE_BE16(65535);
	memcpy(t + 1, opts, olen);
	t->cksum = rte_ipv4_udptcp_cksum(ip, t);
	return m;
}

static const uint8_t *
opts_of(struct rte_mbuf *m)
{
	return (const uint8_t *)(t_ip(m) + 1) + sizeof(struct rte_tcp_hdr);
}

static uint16_t
mss_at(struct rte_mbuf *m, unsigned int off)
{
	const uint8_t *o = opts_of(m);

	return (uint16_t)(o[off + 2] << 8 | o[off + 3]);
}

/* Push m in on in_port; return the one packet out_port sent (checksums verified). */
static struct rte_mbuf *
through(uint16_t in_port, struct rte_mbuf *m, uint16_t out_port)
{
	eph_input_burst(w, in_port, &m, 1);
	return t_one_out(out_port);
}

/* MSS 1460, window scale, SACK permitted: a usual SYN. */
static const uint8_t syn_opts[] = {2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 1, 1};

static void
test_syn_auto(void **state)
{
	uint64_t before = w->stats.mss_clamped;
	struct rte_mbuf *m;

	(void)state;
	t_dp.ports[OUT].mtu = 1400;
	t_dp.ports[OUT].mss_clamp = EPH_MSS_CLAMP_AUTO;
	m = through(IN, tcp_with_options(IN, &t_host_mac, T_HOST, T_SERVER, RTE_TCP_SYN_FLAG,
					 syn_opts, sizeof(syn_opts)), OUT);
	assert_int_equal(mss_at(m, 0), 1360);
	assert_memory_equal(opts_of(m) + 4, syn_opts + 4, sizeof(syn_opts) - 4);
	assert_int_equal(w->stats.mss_clamped, before + 1);
	rte_pktmbuf_free(m);
}

/* auto takes the smaller MTU of the ingress and egress ports. */
static void
test_syn_ack_auto_ingress_mtu(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	t_dp.ports[OUT].mtu = 1400;
	t_dp.ports[IN].mss_clamp = EPH_MSS_CLAMP_AUTO;
	m = through(OUT, tcp_with_options(OUT, &t_server_mac, T_SERVER, T_HOST,
					  RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, syn_opts,
					  sizeof(syn_opts)), IN);
	assert_int_equal(mss_at(m, 0), 1360);
	rte_pktmbuf_free(m);
}

static void
test_fixed_limit(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	t_dp.ports[OUT].mss_clamp = 1200;
	m = through(IN, tcp_with_options(IN, &t_host_mac, T_HOST, T_SERVER, RTE_TCP_SYN_FLAG,
					 syn_opts, sizeof(syn_opts)), OUT);
	assert_int_equal(mss_at(m, 0), 1200);
	rte_pktmbuf_free(m);
}

/* An MSS at an odd offset straddles two checksum words. */
static void
test_odd_offset(void **state)
{
	static const uint8_t opts[] = {1, 2, 4, 0x23, 0x28, 1, 1, 0}; /* NOP, MSS 9000 */
	struct rte_mbuf *m;

	(void)state;
	t_dp.ports[OUT].mss_clamp = 1000;
	m = through(IN, tcp_with_options(IN, &t_host_mac, T_HOST, T_SERVER, RTE_TCP_SYN_FLAG,
					 opts, sizeof(opts)), OUT);
	assert_int_equal(mss_at(m, 1), 1000);
	rte_pktmbuf_free(m);
}

static void
test_off_leaves_it(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	t_dp.ports[OUT].mtu = 1400;
	m = through(IN, tcp_with_options(IN, &t_host_mac, T_HOST, T_SERVER, RTE_TCP_SYN_FLAG,
					 syn_opts, sizeof(syn_opts)), OUT);
	assert_memory_equal(opts_of(m), syn_opts, sizeof(syn_opts));
	rte_pktmbuf_free(m);
}

static void
test_below_limit_untouched(void **state)
{
	static const uint8_t opts[] = {2, 4, 0x04, 0xb0, 1, 1, 1, 0}; /* MSS 1200 */
	uint64_t before = w->stats.mss_clamped;
	struct rte_mbuf *m;

	(void)state;
	t_dp.ports[OUT].mss_clamp = EPH_MSS_CLAMP_AUTO;
	m = through(IN, tcp_with_options(IN, &t_host_mac, T_HOST, T_SERVER, RTE_TCP_SYN_FLAG,
					 opts, sizeof(opts)), OUT);
	assert_memory_equal(opts_of(m), opts, sizeof(opts));
	assert_int_equal(w->stats.mss_clamped, before);
	rte_pktmbuf_free(m);
}

/* Not a SYN: a data segment's options are never looked at. */
static void
test_not_syn_untouched(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	t_dp.ports[OUT].mss_clamp = 1000;
	m = through(IN, tcp_with_options(IN, &t_host_mac, T_HOST, T_SERVER, RTE_TCP_ACK_FLAG,
					 syn_opts, sizeof(syn_opts)), OUT);
	assert_memory_equal(opts_of(m), syn_opts, sizeof(syn_opts));
	rte_pktmbuf_free(m);
}

static void
test_malformed_untouched_counted(void **state)
{
	static const uint8_t zero_len[] = {1, 3, 0, 0, 2, 4, 0x05, 0xb4};  /* kind 3, length 0 */
	static const uint8_t one_len[] = {8, 1, 0, 0, 2, 4, 0x05, 0xb4};   /* length 1 */
	static const uint8_t past_end[] = {1, 8, 10, 0, 2, 4, 0x05, 0xb4}; /* past the header */
	static const uint8_t bad_mss[] = {2, 3, 0x05, 0xb4, 0, 0, 0, 0};   /* MSS length 3 */
	const uint8_t *cases[] = {zero_len, one_len, past_end, bad_mss};
	uint64_t bad = w->stats.mss_bad_options;
	uint64_t clamped = w->stats.mss_clamped;

	(void)state;
	t_dp.ports[OUT].mss_clamp = 1000;
	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		struct rte_mbuf *m = through(IN, tcp_with_options(IN, &t_host_mac, T_HOST, T_SERVER,
								  RTE_TCP_SYN_FLAG, cases[i], 8),
					     OUT);

		assert_memory_equal(opts_of(m), cases[i], 8);
		rte_pktmbuf_free(m);
	}
	assert_int_equal(w->stats.mss_bad_options, bad + RTE_DIM(cases));
	assert_int_equal(w->stats.mss_clamped, clamped);
}

/* A 3000-byte UDP datagram, DF clear, leaving a 1500-byte MTU port: three fragments. */
static void
test_fragment_udp(void **state)
{
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, T_HOST, T_SERVER, IPPROTO_UDP, 64,
					   3000 - 20);
	static uint8_t orig[3000], got[3000];
	static const struct { uint16_t off, len; bool mf; } want[] = {
		{ 0, 1500, true }, { 1480, 1500, true }, { 2960, 40, false },
	};
	uint64_t fragmented = w->stats.fragmented, sent = w->stats.fragments_sent;
	struct rte_mbuf *out[8];
	unsigned int n;

	(void)state;
	t_dp.ports[IN].mtu = 9000;
	memcpy(orig, t_ip(m), sizeof(orig));
	eph_input_burst(w, IN, &m, 1);
	n = t_sent(OUT, out, RTE_DIM(out));
	assert_int_equal(n, RTE_DIM(want));
	memset(got, 0, sizeof(got));
	for (unsigned int i = 0; i < n; i++) {
		struct rte_ipv4_hdr *ip = t_ip(out[i]);
		uint16_t fo = rte_be_to_cpu_16(ip->fragment_offset);
		uint16_t len = rte_be_to_cpu_16(ip->total_length);

		assert_int_equal(out[i]->nb_segs, 1);
		assert_int_equal(out[i]->pkt_len, 14u + len);
		assert_int_equal(rte_raw_cksum(ip, sizeof(*ip)), 0xffff);
		assert_int_equal((fo & RTE_IPV4_HDR_OFFSET_MASK) * 8, want[i].off);
		assert_int_equal(len, want[i].len);
		assert_int_equal((fo & RTE_IPV4_HDR_MF_FLAG) != 0, want[i].mf);
		assert_int_equal(fo & RTE_IPV4_HDR_DF_FLAG, 0);
		assert_int_equal(ip->time_to_live, 63);
		assert_int_equal(ip->packet_id, RTE_BE16(0x1234));
		assert_int_equal(ip->src_addr, rte_cpu_to_be_32(T_HOST));
		assert_int_equal(ip->dst_addr, rte_cpu_to_be_32(T_SERVER));
		memcpy(got + 20 + want[i].off, ip + 1, len - 20u);
		rte_pktmbuf_free(out[i]);
	}
	assert_memory_equal(got + 20, orig + 20, sizeof(orig) - 20);
	assert_int_equal(w->stats.fragmented, fragmented + 1);
	assert_int_equal(w->stats.fragments_sent, sent + 3);
}

/* DF set: nothing leaves, ICMP fragmentation needed with the next-hop MTU goes back. */
static void
test_df_frag_needed(void **state)
{
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, T_HOST, T_SERVER, IPPROTO_UDP, 64,
					   3000 - 20);
	uint64_t drops = t_drops(EPH_DROP_mtu_exceeded);
	struct rte_mbuf *out[4];
	const uint8_t *icmp;

	(void)state;
	t_dp.ports[IN].mtu = 9000;
	t_ip(m)->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	t_ip(m)->hdr_checksum = 0;
	t_ip(m)->hdr_checksum = rte_ipv4_cksum(t_ip(m));
	eph_input_burst(w, IN, &m, 1);
	assert_int_equal(t_sent(OUT, out, 4), 0);
	assert_int_equal(t_sent(IN, out, 4), 1);
	t_assert_checksums(out[0]);
	icmp = (const uint8_t *)(t_ip(out[0]) + 1);
	assert_int_equal(icmp[0], EPH_ICMP_DEST_UNREACH);
	assert_int_equal(icmp[1], EPH_ICMP_FRAG_NEEDED);
	assert_int_equal(icmp[6] << 8 | icmp[7], 1500);
	assert_int_equal(t_drops(EPH_DROP_mtu_exceeded), drops + 1);
	rte_pktmbuf_free(out[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_syn_auto, per_test_reset),
		cmocka_unit_test_setup(test_syn_ack_auto_ingress_mtu, per_test_reset),
		cmocka_unit_test_setup(test_fixed_limit, per_test_reset),
		cmocka_unit_test_setup(test_odd_offset, per_test_reset),
		cmocka_unit_test_setup(test_off_leaves_it, per_test_reset),
		cmocka_unit_test_setup(test_below_limit_untouched, per_test_reset),
		cmocka_unit_test_setup(test_not_syn_untouched, per_test_reset),
		cmocka_unit_test_setup(test_malformed_untouched_counted, per_test_reset),
		cmocka_unit_test_setup(test_fragment_udp, per_test_reset),
		cmocka_unit_test_setup(test_df_frag_needed, per_test_reset),
	};

	return cmocka_run_group_tests_name("mss clamp and fragmentation", tests, setup, teardown);
}

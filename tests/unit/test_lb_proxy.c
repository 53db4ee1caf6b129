/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * proxy-protocol: v2 through the worker's packet path on net_ring ports: a
 * client on the outside port, one backend on the inside subnet. The PROXY
 * header is checked byte by byte, the sequence shift both ways (seq, ack,
 * SACK edges at even and odd offsets, RST), the SYN-ACK's MSS, ICMP
 * quotes; every packet that leaves has its checksums recomputed in full.
 */
#include <string.h>

#include <rte_icmp.h>
#include <rte_tcp.h>

#include "control/lb_setup.h"
#include "control/reconfig.h"
#include "dataplane/flow/session.h"
#include "dataplane/flow/tcp_state.h"
#include "dataplane/lb/lb.h"
#include "dataplane/lb/proxy.h"
#include "tests/unit/harness.h"

#define IN      0
#define OUT     1
#define IP_LEN  ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define TCP_LEN ((uint16_t)sizeof(struct rte_tcp_hdr))
#define VIP     T_IPV4(203, 0, 113, 80)
#define LOCAL   T_IPV4(192, 0, 2, 50)
#define B1      T_IPV4(192, 0, 2, 21)
#define CLIENT  T_SERVER
#define ISN     1000u
#define B_ISN   5000u
#define PP      EPH_PP2_LEN

static struct eph_worker *w;
static uint32_t local_addrs[] = { LOCAL };
static struct eph_conf_backend backends[] = {
	{ .addr = B1, .port = 8080, .weight = 100 },
};

static void
with_vip(struct eph_conf *conf)
{
	t_balancer_pool(&conf->pools[0], "web", local_addrs, 1, 20000, 29999);
	conf->n_pools = 1;
	t_vip(&conf->vips[0], "web", VIP, 80, IPPROTO_TCP);
	conf->vips[0].backends = backends;
	conf->vips[0].n_backends = 1;
	conf->vips[0].proxy = EPH_LB_PROXY_V2;
	conf->n_vips = 1;
	conf->timeouts.tcp_transitory = 10;
	conf->timeouts.tcp_established = 100;
	conf->nat.sessions_per_worker = 1024;
	conf->nat.destinations_per_worker = 256;
	conf->nat.handoff_ring = 256;
}

static int
setup(void **state)
{
	(void)state;
	t_start_with("unit-lbproxy", with_vip);
	w = t_dp.workers[0];
	t_neigh_add(OUT, CLIENT, &t_server_mac);
	t_neigh_add(IN, B1, &t_host_mac);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	t_conf.n_pools = 0;
	t_conf.n_vips = 0;
	t_stop();
	return 0;
}

static int
fresh(void **state)
{
	(void)state;
	t_drain();
	t_advance(w, 400 * EPH_NAT_TICK_HZ);
	assert_int_equal(eph_lb_connection_count(w->lb), 0);
	memset(w->lb->ctr, 0, sizeof(w->lb->ctr));
	return 0;
}

/* A TCP segment from the client's or the backend's side (window 65535). */
static struct rte_mbuf *
seg(uint16_t port, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t flags,
    uint32_t seq, uint32_t ack, const uint8_t *opt, uint16_t olen, const uint8_t *pay,
    uint16_t plen)
{
	return t_tcp_segment(port, port == OUT ? &t_server_mac : &t_host_mac, src, dst, sport,
			     dport, flags, seq, ack, 65535, opt, olen, pay, plen);
}

static void
input(uint16_t port, struct rte_mbuf *m)
{
	eph_input_burst(w, port, &m, 1);
}

static uint16_t lport; /* the connection's local port, as the backend sees it */

/* Client -> backend; returns what left the inside port (checksums checked). */
static struct rte_mbuf *
from_client(uint8_t flags, uint32_t seq, uint32_t ack, const uint8_t *opt, uint16_t olen,
	    const uint8_t *pay, uint16_t plen)
{
	input(OUT, seg(OUT, CLIENT, VIP, 40000, 80, flags, seq, ack, opt, olen, pay, plen));
	return t_one_out(IN);
}

/* Backend -> client; returns what left the outside port. */
static struct rte_mbuf *
from_backend(uint8_t flags, uint32_t seq, uint32_t ack, const uint8_t *opt, uint16_t olen,
	     const uint8_t *pay, uint16_t plen)
{
	input(IN, seg(IN, B1, LOCAL, 8080, lport, flags, seq, ack, opt, olen, pay, plen));
	return t_one_out(OUT);
}

/* The 28 bytes the backend must get first: client 203.0.113.10:40000 to VIP 203.0.113.80:80. */
static const uint8_t expected_header[PP] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, /* signature */
	0x21,                   /* version 2, PROXY */
	0x11,                   /* AF_INET, STREAM */
	0x00, 0x0c,             /* 12 bytes follow */
	203, 0, 113, 10,        /* source: the client */
	203, 0, 113, 80,        /* destination: the VIP */
	0x9c, 0x40,             /* source port 40000 */
	0x00, 0x50,             /* destination port 80 */
};

/* SYN with MSS 1460, then the backend's SYN-ACK with MSS 1460 (opt_at: NOPs before it). */
static void
handshake_to_synack(unsigned int opt_at)
{
	static const uint8_t syn_opt[4] = { 2, 4, 0x05, 0xb4 };
	uint8_t synack_opt[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
	struct rte_mbuf *m;
	uint16_t mss;

	m = from_client(RTE_TCP_SYN_FLAG, ISN, 0, syn_opt, 4, NULL, 0);
	assert_int_equal(t_tcp_seq(m), ISN); /* the SYN itself is not shifted */
	assert_int_equal(t_tcp_payload_len(m), 0);
	assert_memory_equal((const uint8_t *)(t_tcp(m) + 1), syn_opt, 4);
	lport = t_l4_port(m, 0);
	rte_pktmbuf_free(m);

	memcpy(&synack_opt[opt_at], syn_opt, 4);
	m = from_backend(RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, B_ISN, ISN + 1, synack_opt, 8, NULL,
			 0);
	assert_int_equal(t_tcp_seq(m), B_ISN);
	assert_int_equal(t_tcp_ack(m), ISN + 1);
	memcpy(&mss, (const uint8_t *)(t_tcp(m) + 1) + opt_at + 2, 2);
	assert_int_equal(rte_be_to_cpu_16(mss), 1460 - PP);
	rte_pktmbuf_free(m);
	assert_int_equal(w->lb->ctr[EPH_LB_proxy_mss_lowered], 1);
}

/* The handshake's last ACK carries the header; once it is ACKed, the client's data shifts. */
static void
test_header_on_handshake_ack(void **state)
{
	static const uint8_t data[10] = "0123456789";
	struct rte_mbuf *m;

	(void)state;
	handshake_to_synack(0);
	/* The pure ACK becomes the header, at ISN+1. */
	m = from_client(RTE_TCP_ACK_FLAG, ISN + 1, B_ISN + 1, NULL, 0, NULL, 0);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), LOCAL);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), B1);
	assert_int_equal(rte_be_to_cpu_16(t_ip(m)->total_length), IP_LEN + TCP_LEN + PP);
	assert_int_equal(rte_pktmbuf_pkt_len(m), sizeof(struct rte_ether_hdr) + IP_LEN + TCP_LEN + PP);
	assert_int_equal(t_tcp_seq(m), ISN + 1);
	assert_int_equal(t_tcp_ack(m), B_ISN + 1);
	assert_int_equal(t_tcp(m)->tcp_flags, RTE_TCP_ACK_FLAG);
	assert_int_equal(t_tcp_payload_len(m), PP);
	assert_memory_equal(t_tcp_payload(m), expected_header, PP);
	rte_pktmbuf_free(m);
	assert_int_equal(w->lb->ctr[EPH_LB_proxy_headers], 1);
	assert_int_equal(w->lb->conns->sess[0].state, EPH_TCP_ESTABLISHED);

	/* The backend acknowledges the header: the client sees ISN+1. */
	m = from_backend(RTE_TCP_ACK_FLAG, B_ISN + 1, ISN + 1 + PP, NULL, 0, NULL, 0);
	assert_int_equal(t_tcp_ack(m), ISN + 1);
	rte_pktmbuf_free(m);

	/* Data from ISN+1 now lands behind the header. */
	m = from_client(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, ISN + 1, B_ISN + 1, NULL, 0, data, 10);
	assert_int_equal(t_tcp_seq(m), ISN + 1 + PP);
	assert_int_equal(t_tcp_payload_len(m), 10);
	assert_memory_equal(t_tcp_payload(m), data, 10);
	rte_pktmbuf_free(m);
	m = from_backend(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, B_ISN + 1, ISN + 11 + PP, NULL, 0,
			 data, 10);
	assert_int_equal(t_tcp_seq(m), B_ISN + 1); /* the backend's own numbers are kept */
	assert_int_equal(t_tcp_ack(m), ISN + 11);
	assert_memory_equal(t_tcp_payload(m), data, 10);
	rte_pktmbuf_free(m);
	/* The client's ACK of the backend's data: its ack untouched, its seq shifted. */
	m = from_client(RTE_TCP_ACK_FLAG, ISN + 11, B_ISN + 11, NULL, 0, NULL, 0);
	assert_int_equal(t_tcp_seq(m), ISN + 11 + PP);
	assert_int_equal(t_tcp_ack(m), B_ISN + 11);
	assert_int_equal(t_tcp_payload_len(m), 0);
	rte_pktmbuf_free(m);
	assert_int_equal(w->lb->ctr[EPH_LB_proxy_headers], 1);
	/* The tracker kept the client's space: its end is the client's next byte. */
	assert_int_equal(w->lb->conns->sess[0].seq_end[EPH_DIR_IN2OUT], ISN + 11);
	assert_int_equal(w->lb->conns->sess[0].seq_end[EPH_DIR_OUT2IN], B_ISN + 11);
}

/*
 * The header lost: the backend acknowledges nothing past ISN+1 (or only part
 * of the header), so the client's first data, and its retransmission, carry
 * it again, in front of the data.
 */
static void
test_retransmitted_start_gets_header(void **state)
{
	static const uint8_t data[10] = "abcdefghij";
	struct rte_mbuf *m;

	(void)state;
	handshake_to_synack(1);
	rte_pktmbuf_free(from_client(RTE_TCP_ACK_FLAG, ISN + 1, B_ISN + 1, NULL, 0, NULL, 0));
	for (unsigned int i = 0; i < 2; i++) {
		m = from_client(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, ISN + 1, B_ISN + 1, NULL, 0, data,
				10);
		assert_int_equal(t_tcp_seq(m), ISN + 1);
		assert_int_equal(t_tcp_payload_len(m), PP + 10);
		assert_memory_equal(t_tcp_payload(m), expected_header, PP);
		assert_memory_equal(t_tcp_payload(m) + PP, data, 10);
		rte_pktmbuf_free(m);
		/* An ack inside the header is ISN+1 to the client. */
		m = from_backend(RTE_TCP_ACK_FLAG, B_ISN + 1, ISN + 1 + 10 * i, NULL, 0, NULL, 0);
		assert_int_equal(t_tcp_ack(m), ISN + 1);
		rte_pktmbuf_free(m);
	}
	assert_int_equal(w->lb->ctr[EPH_LB_proxy_headers], 3);
	/* Once the backend has the header and the data, the start is not sent again. */
	m = from_backend(RTE_TCP_ACK_FLAG, B_ISN + 1, ISN + 11 + PP, NULL, 0, NULL, 0);
	assert_int_equal(t_tcp_ack(m), ISN + 11);
	rte_pktmbuf_free(m);
	m = from_client(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, ISN + 1, B_ISN + 1, NULL, 0, data, 10);
	assert_int_equal(t_tcp_seq(m), ISN + 1 + PP);
	assert_int_equal(t_tcp_payload_len(m), 10);
	rte_pktmbuf_free(m);
	assert_int_equal(w->lb->ctr[EPH_LB_proxy_headers], 3);
}

/* SACK edges of the backend's segments move with the ack, at an even and at an odd offset. */
static void
test_sack_edges_shifted(void **state)
{
	uint8_t even[12] = { 1, 1, 5, 10 }; /* NOP NOP SACK, one block */
	uint8_t odd[20] = { 1, 5, 18 };      /* NOP SACK, two blocks, NOP */
	uint32_t e[4] = { ISN + 101 + PP, ISN + 201 + PP, ISN + 301 + PP, ISN + 401 + PP };
	struct rte_mbuf *m;
	uint32_t v;

	(void)state;
	handshake_to_synack(0);
	rte_pktmbuf_free(from_client(RTE_TCP_ACK_FLAG, ISN + 1, B_ISN + 1, NULL, 0, NULL, 0));
	for (unsigned int i = 0; i < 4; i++)
		e[i] = rte_cpu_to_be_32(e[i]);
	memcpy(&even[4], e, 8);
	m = from_backend(RTE_TCP_ACK_FLAG, B_ISN + 1, ISN + 1 + PP, even, 12, NULL, 0);
	assert_int_equal(t_tcp_ack(m), ISN + 1);
	memcpy(&v, (const uint8_t *)(t_tcp(m) + 1) + 4, 4);
	assert_int_equal(rte_be_to_cpu_32(v), ISN + 101);
	memcpy(&v, (const uint8_t *)(t_tcp(m) + 1) + 8, 4);
	assert_int_equal(rte_be_to_cpu_32(v), ISN + 201);
	rte_pktmbuf_free(m);

	memcpy(&odd[3], e, 16);
	odd[19] = 1;
	m = from_backend(RTE_TCP_ACK_FLAG, B_ISN + 1, ISN + 1 + PP, odd, 20, NULL, 0);
	for (unsigned int i = 0; i < 4; i++) {
		memcpy(&v, (const uint8_t *)(t_tcp(m) + 1) + 3 + 4 * i, 4);
		assert_int_equal(rte_be_to_cpu_32(v), ISN + 101 + 100 * i);
	}
	rte_pktmbuf_free(m);
	assert_int_equal(w->lb->ctr[EPH_LB_proxy_bad_options], 0);

	/* A SACK that runs past the header: left alone, counted; the ack still moves. */
	even[3] = 40;
	m = from_backend(RTE_TCP_ACK_FLAG, B_ISN + 1, ISN + 1 + PP, even, 12, NULL, 0);
	assert_int_equal(t_tcp_ack(m), ISN + 1);
	memcpy(&v, (const uint8_t *)(t_tcp(m) + 1) + 4, 4);
	assert_int_equal(v, e[0]);
	rte_pktmbuf_free(m);
	assert_int_equal(w->lb->ctr[EPH_LB_proxy_bad_options], 1);
}

/* RSTs both ways are in the other side's space, and pass the tracker's window. */
static void
test_rst_both_ways(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	handshake_to_synack(0);
	rte_pktmbuf_free(from_client(RTE_TCP_ACK_FLAG, ISN + 1, B_ISN + 1, NULL, 0, NULL, 0));
	rte_pktmbuf_free(from_backend(RTE_TCP_ACK_FLAG, B_ISN + 1, ISN + 1 + PP, NULL, 0, NULL, 0));
	m = from_client(RTE_TCP_RST_FLAG, ISN + 1, 0, NULL, 0, NULL, 0);
	assert_int_equal(t_tcp_seq(m), ISN + 1 + PP);
	assert_int_equal(t_tcp_payload_len(m), 0);
	rte_pktmbuf_free(m);
	assert_int_equal(w->lb->conns->sess[0].state, EPH_TCP_RST);
	m = from_backend(RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, B_ISN + 1, ISN + 1 + PP, NULL, 0,
			 NULL, 0);
	assert_int_equal(t_tcp_ack(m), ISN + 1);
	rte_pktmbuf_free(m);
}

/* The client's FIN right after the handshake: the header goes with it. */
static void
test_fin_first_carries_header(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	handshake_to_synack(0);
	m = from_client(RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, ISN + 1, B_ISN + 1, NULL, 0, NULL, 0);
	assert_int_equal(t_tcp_seq(m), ISN + 1);
	assert_int_equal(t_tcp_payload_len(m), PP);
	assert_true(t_tcp(m)->tcp_flags & RTE_TCP_FIN_FLAG);
	assert_memory_equal(t_tcp_payload(m), expected_header, PP);
	rte_pktmbuf_free(m);
	/* The backend's ACK of header and FIN is the FIN's ack to the client. */
	m = from_backend(RTE_TCP_ACK_FLAG, B_ISN + 1, ISN + 2 + PP, NULL, 0, NULL, 0);
	assert_int_equal(t_tcp_ack(m), ISN + 2);
	rte_pktmbuf_free(m);
}

/* A backend's frag-needed quoting the shifted segment: the client reads its own sequence number. */
static void
test_icmp_quote_translated(void **state)
{
	uint16_t quote_len = IP_LEN + 20;
	struct rte_mbuf *m;
	struct rte_icmp_hdr *icmp;
	struct rte_ipv4_hdr *inner;
	struct rte_tcp_hdr *qt;
	uint16_t icmp_len = (uint16_t)(sizeof(*icmp) + quote_len);

	(void)state;
	handshake_to_synack(0);
	rte_pktmbuf_free(from_client(RTE_TCP_ACK_FLAG, ISN + 1, B_ISN + 1, NULL, 0, NULL, 0));
	rte_pktmbuf_free(from_backend(RTE_TCP_ACK_FLAG, B_ISN + 1, ISN + 1 + PP, NULL, 0, NULL, 0));

	m = t_ipv4_packet(&t_host_mac, IN, B1, LOCAL, IPPROTO_ICMP, 64, icmp_len);
	icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);
	inner = (struct rte_ipv4_hdr *)(icmp + 1);
	qt = (struct rte_tcp_hdr *)(inner + 1);
	memset(icmp, 0, icmp_len);
	icmp->icmp_type = 3;
	icmp->icmp_code = 4;
	icmp->icmp_seq_nb = RTE_BE16(1400);
	*inner = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = RTE_BE16(1500),
		.time_to_live = 63,
		.next_proto_id = IPPROTO_TCP,
		.src_addr = rte_cpu_to_be_32(LOCAL),
		.dst_addr = rte_cpu_to_be_32(B1),
	};
	inner->hdr_checksum = rte_ipv4_cksum(inner);
	qt->src_port = rte_cpu_to_be_16(lport);
	qt->dst_port = RTE_BE16(8080);
	qt->sent_seq = rte_cpu_to_be_32(ISN + 1 + PP + 1000);
	qt->recv_ack = rte_cpu_to_be_32(B_ISN + 1);
	qt->data_off = 5 << 4;
	qt->tcp_flags = RTE_TCP_ACK_FLAG;
	qt->cksum = RTE_BE16(0x1234);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, icmp_len);
	input(IN, m);

	m = t_one_out(OUT);
	icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);
	inner = (struct rte_ipv4_hdr *)(icmp + 1);
	qt = (struct rte_tcp_hdr *)(inner + 1);
	assert_int_equal(rte_be_to_cpu_32(inner->src_addr), CLIENT);
	assert_int_equal(rte_be_to_cpu_16(qt->src_port), 40000);
	assert_int_equal(rte_be_to_cpu_32(qt->sent_seq), ISN + 1 + 1000);
	assert_int_equal(rte_be_to_cpu_32(qt->recv_ack), B_ISN + 1);
	rte_pktmbuf_free(m);
}

/* Data on the SYN (TCP Fast Open) starts at ISN+1: the header goes in front of it. */
static void
test_syn_data_behind_header(void **state)
{
	static const uint8_t data[10] = "0123456789";
	struct rte_mbuf *m;

	(void)state;
	m = from_client(RTE_TCP_SYN_FLAG, ISN, 0, NULL, 0, data, 10);
	assert_int_equal(t_tcp_seq(m), ISN);
	assert_int_equal(t_tcp(m)->tcp_flags, RTE_TCP_SYN_FLAG);
	assert_int_equal(t_tcp_payload_len(m), PP + 10);
	assert_memory_equal(t_tcp_payload(m), expected_header, PP);
	assert_memory_equal(t_tcp_payload(m) + PP, data, 10);
	lport = t_l4_port(m, 0);
	rte_pktmbuf_free(m);
	/* A backend that takes no data on a SYN acks ISN+1: the client sends it again, header first. */
	rte_pktmbuf_free(from_backend(RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, B_ISN, ISN + 1, NULL, 0,
				      NULL, 0));
	m = from_client(RTE_TCP_ACK_FLAG, ISN + 1, B_ISN + 1, NULL, 0, data, 10);
	assert_int_equal(t_tcp_seq(m), ISN + 1);
	assert_int_equal(t_tcp_payload_len(m), PP + 10);
	rte_pktmbuf_free(m);
	assert_int_equal(w->lb->ctr[EPH_LB_proxy_headers], 2);
}

/* A client's error quoting the backend's segment: the backend reads its own ack number. */
static void
test_icmp_from_client_quote(void **state)
{
	uint16_t quote_len = IP_LEN + 20;
	uint16_t icmp_len = (uint16_t)(sizeof(struct rte_icmp_hdr) + quote_len);
	struct rte_mbuf *m;
	struct rte_icmp_hdr *icmp;
	struct rte_ipv4_hdr *inner;
	struct rte_tcp_hdr *qt;

	(void)state;
	handshake_to_synack(0);
	rte_pktmbuf_free(from_client(RTE_TCP_ACK_FLAG, ISN + 1, B_ISN + 1, NULL, 0, NULL, 0));
	rte_pktmbuf_free(from_backend(RTE_TCP_ACK_FLAG, B_ISN + 1, ISN + 1 + PP, NULL, 0, NULL, 0));

	/* What the client got: VIP:80 -> client:40000, ack ISN+1+500 in its space. */
	m = t_ipv4_packet(&t_server_mac, OUT, CLIENT, VIP, IPPROTO_ICMP, 64, icmp_len);
	icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);
	inner = (struct rte_ipv4_hdr *)(icmp + 1);
	qt = (struct rte_tcp_hdr *)(inner + 1);
	memset(icmp, 0, icmp_len);
	icmp->icmp_type = 3;
	icmp->icmp_code = 3;
	*inner = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = RTE_BE16(40),
		.time_to_live = 63,
		.next_proto_id = IPPROTO_TCP,
		.src_addr = rte_cpu_to_be_32(VIP),
		.dst_addr = rte_cpu_to_be_32(CLIENT),
	};
	inner->hdr_checksum = rte_ipv4_cksum(inner);
	qt->src_port = RTE_BE16(80);
	qt->dst_port = RTE_BE16(40000);
	qt->sent_seq = rte_cpu_to_be_32(B_ISN + 1);
	qt->recv_ack = rte_cpu_to_be_32(ISN + 1 + 500);
	qt->data_off = 5 << 4;
	qt->tcp_flags = RTE_TCP_ACK_FLAG;
	qt->cksum = rte_ipv4_udptcp_cksum(inner, qt);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, icmp_len);
	input(OUT, m);

	m = t_one_out(IN);
	inner = (struct rte_ipv4_hdr *)((struct rte_icmp_hdr *)(t_ip(m) + 1) + 1);
	qt = (struct rte_tcp_hdr *)(inner + 1);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), B1);
	assert_int_equal(rte_be_to_cpu_32(inner->src_addr), B1);
	assert_int_equal(rte_be_to_cpu_32(qt->sent_seq), B_ISN + 1);
	assert_int_equal(rte_be_to_cpu_32(qt->recv_ack), ISN + 1 + 500 + PP);
	/* The quoted segment's own checksum still verifies after both rewrites. */
	assert_int_equal(rte_ipv4_udptcp_cksum_verify(inner, qt), 0);
	rte_pktmbuf_free(m);
}

/* A shared buffer cannot take the header: dropped and counted, nothing sent. */
static void
test_no_room_dropped(void **state)
{
	struct rte_mbuf *m, *out[4];
	uint64_t before = t_drops(EPH_DROP_lb_proxy_no_room);

	(void)state;
	handshake_to_synack(0);
	m = seg(OUT, CLIENT, VIP, 40000, 80, RTE_TCP_ACK_FLAG, ISN + 1, B_ISN + 1, NULL, 0, NULL, 0);
	rte_mbuf_refcnt_update(m, 1);
	input(OUT, m);
	assert_int_equal(t_sent(IN, out, 4), 0);
	assert_int_equal(t_drops(EPH_DROP_lb_proxy_no_room), before + 1);
	assert_int_equal(rte_mbuf_refcnt_read(m), 1);
	rte_pktmbuf_free(m);
}

/* Apply a copy of the running configuration changed by edit; 0 on success. */
static int
apply_with(void (*edit)(struct eph_conf *c))
{
	struct eph_conf next;
	int ret;

	assert_int_equal(eph_conf_dup(&next, &t_dp.rc->conf), 0);
	edit(&next);
	ret = eph_reconfig_apply(t_dp.rc, &next, "test", stderr);
	eph_conf_free(&next);
	return ret;
}

static void
remove_backend_reset(struct eph_conf *c)
{
	c->vips[0].n_backends = 0;
	c->vips[0].on_remove = EPH_LB_REMOVE_RESET;
}

static void
restore_backend(struct eph_conf *c)
{
	free(c->vips[0].backends);
	c->vips[0].backends = malloc(sizeof(backends));
	assert_non_null(c->vips[0].backends);
	memcpy(c->vips[0].backends, backends, sizeof(backends));
	c->vips[0].n_backends = 1;
	c->vips[0].on_remove = EPH_LB_REMOVE_DRAIN;
}

/* The backend removed with on-remove: reset: its RST carries the sequence number it expects. */
static void
test_reset_in_backend_space(void **state)
{
	static const uint8_t data[10] = "0123456789";
	struct rte_mbuf *m;

	(void)state;
	handshake_to_synack(0);
	rte_pktmbuf_free(from_client(RTE_TCP_ACK_FLAG, ISN + 1, B_ISN + 1, NULL, 0, data, 10));
	rte_pktmbuf_free(from_backend(RTE_TCP_ACK_FLAG, B_ISN + 1, ISN + 11 + PP, NULL, 0, NULL, 0));
	assert_int_equal(apply_with(remove_backend_reset), 0);
	t_advance(w, 1);
	m = t_one_out(IN);
	assert_int_equal(t_tcp(m)->tcp_flags, RTE_TCP_RST_FLAG);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), B1);
	assert_int_equal(t_tcp_seq(m), ISN + 11 + PP);
	rte_pktmbuf_free(m);
	m = t_one_out(OUT);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), CLIENT);
	assert_int_equal(t_tcp_seq(m), B_ISN + 1);
	rte_pktmbuf_free(m);
	assert_true(eph_reconfig_housekeeping(t_dp.rc) >= 1);
	assert_int_equal(apply_with(restore_backend), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_header_on_handshake_ack, fresh),
		cmocka_unit_test_setup(test_retransmitted_start_gets_header, fresh),
		cmocka_unit_test_setup(test_sack_edges_shifted, fresh),
		cmocka_unit_test_setup(test_rst_both_ways, fresh),
		cmocka_unit_test_setup(test_fin_first_carries_header, fresh),
		cmocka_unit_test_setup(test_icmp_quote_translated, fresh),
		cmocka_unit_test_setup(test_syn_data_behind_header, fresh),
		cmocka_unit_test_setup(test_icmp_from_client_quote, fresh),
		cmocka_unit_test_setup(test_no_room_dropped, fresh),
		cmocka_unit_test_setup(test_reset_in_backend_space, fresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

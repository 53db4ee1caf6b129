/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * syn-proxy: on through the worker's packet path on net_ring ports: a
 * client on the outside port, one backend on the inside subnet, two VIPs
 * (port 80: syn-proxy; port 443: syn-proxy and proxy-protocol v2). The
 * cookie SYN-ACK is checked byte by byte, forged and old ACKs refused and
 * counted, the SYN to the backend, the handshake's completion with the
 * held segment, the shifts both ways (seq, ack, SACK edges at even and
 * odd offsets), the backend's refusal and silence, ICMP quotes; every
 * packet that leaves has its checksums recomputed in full.
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
#include "dataplane/lb/synproxy.h"
#include "tests/unit/harness.h"

#define IN      0
#define OUT     1
#define IP_LEN  ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define TCP_LEN ((uint16_t)sizeof(struct rte_tcp_hdr))
#define VIP     T_IPV4(203, 0, 113, 80)
#define LOCAL   T_IPV4(192, 0, 2, 50)
#define LOCAL2  T_IPV4(192, 0, 2, 51)
#define B1      T_IPV4(192, 0, 2, 21)
#define CLIENT  T_SERVER
#define CPORT   40000
#define ISN     1000u
#define B_ISN   0xfffff000u /* the shift wraps */
#define PP      EPH_PP2_LEN

static struct eph_worker *w;
static uint32_t local_addrs[] = { LOCAL };
static uint32_t local_addrs2[] = { LOCAL2 };
static struct eph_conf_backend backends[] = {
	{ .addr = B1, .port = 8080, .weight = 100 },
};

static void
with_vips(struct eph_conf *conf)
{
	t_balancer_pool(&conf->pools[0], "web", local_addrs, 1, 20000, 29999);
	t_balancer_pool(&conf->pools[1], "tls", local_addrs2, 1, 20000, 29999);
	conf->n_pools = 2;
	t_vip(&conf->vips[0], "web", VIP, 80, IPPROTO_TCP);
	conf->vips[0].backends = backends;
	conf->vips[0].n_backends = 1;
	conf->vips[0].syn_proxy = EPH_LB_SYN_PROXY_ON;
	t_vip(&conf->vips[1], "tls", VIP, 443, IPPROTO_TCP);
	conf->vips[1].backends = backends;
	conf->vips[1].n_backends = 1;
	conf->vips[1].pool = 1;
	conf->vips[1].syn_proxy = EPH_LB_SYN_PROXY_ON;
	conf->vips[1].proxy = EPH_LB_PROXY_V2;
	conf->n_vips = 2;
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
	t_start_with("unit-lbsynproxy", with_vips);
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
	t_drain();
	assert_int_equal(eph_lb_connection_count(w->lb), 0);
	assert_int_equal(w->lb->held, 0);
	memset(w->lb->ctr, 0, sizeof(w->lb->ctr));
	return 0;
}

/* A TCP segment from the client's or the backend's side (window 29200). */
static struct rte_mbuf *
seg(uint16_t port, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t flags,
    uint32_t seq, uint32_t ack, const uint8_t *opt, uint16_t olen, const uint8_t *pay,
    uint16_t plen)
{
	return t_tcp_segment(port, port == OUT ? &t_server_mac : &t_host_mac, src, dst, sport,
			     dport, flags, seq, ack, 29200, opt, olen, pay, plen);
}

static void
input(uint16_t port, struct rte_mbuf *m)
{
	eph_input_burst(w, port, &m, 1);
}

static uint16_t vport = 80; /* the VIP's port of the test */
static uint16_t lport;      /* the connection's local port, as the backend sees it */

static void
client_in(uint8_t flags, uint32_t seq, uint32_t ack, const uint8_t *opt, uint16_t olen,
	  const uint8_t *pay, uint16_t plen)
{
	input(OUT, seg(OUT, CLIENT, VIP, CPORT, vport, flags, seq, ack, opt, olen, pay, plen));
}

static void
backend_in(uint8_t flags, uint32_t seq, uint32_t ack, const uint8_t *opt, uint16_t olen,
	   const uint8_t *pay, uint16_t plen)
{
	input(IN, seg(IN, B1, vport == 80 ? LOCAL : LOCAL2, 8080, lport, flags, seq, ack, opt,
		      olen, pay, plen));
}

static void
no_out(uint16_t p)
{
	struct rte_mbuf *out[4];
	unsigned int n = t_sent(p, out, 4);

	for (unsigned int i = 0; i < n; i++)
		rte_pktmbuf_free(out[i]);
	assert_int_equal(n, 0);
}

/* The client's SYN with MSS mss (0: no option) and wscale, SACK-permitted, timestamps. */
static uint32_t
syn_for_cookie(uint16_t mss, uint16_t want_mss)
{
	uint8_t opt[20] = { 2, 4, (uint8_t)(mss >> 8), (uint8_t)mss, /* MSS */
			    4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, /* SACK-permitted, timestamps */
			    1, 3, 3, 7 };                          /* NOP, window scale 7 */
	struct rte_mbuf *m;
	struct rte_tcp_hdr *t;
	const uint8_t *o;
	uint32_t cookie;

	client_in(RTE_TCP_SYN_FLAG, ISN, 0, mss != 0 ? opt : opt + 4, mss != 0 ? 20 : 16, NULL, 0);
	no_out(IN);
	m = t_one_out(OUT);
	t = t_tcp(m);
	o = (const uint8_t *)(t + 1);
	/* From the VIP, to the client, nothing but the MSS offered. */
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), VIP);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), CLIENT);
	assert_int_equal(rte_be_to_cpu_16(t_ip(m)->total_length), IP_LEN + TCP_LEN + 4);
	assert_int_equal(rte_pktmbuf_pkt_len(m), sizeof(struct rte_ether_hdr) + IP_LEN + TCP_LEN + 4);
	assert_int_equal(t_ip(m)->time_to_live, 64);
	assert_int_equal(rte_be_to_cpu_16(t->src_port), vport);
	assert_int_equal(rte_be_to_cpu_16(t->dst_port), CPORT);
	assert_int_equal(t->tcp_flags, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(t->data_off, 6 << 4);
	assert_int_equal(t_tcp_ack(m), ISN + 1);
	assert_int_equal(rte_be_to_cpu_16(t->rx_win), 65535);
	assert_int_equal(o[0], 2);
	assert_int_equal(o[1], 4);
	assert_int_equal(o[2] << 8 | o[3], want_mss);
	cookie = t_tcp_seq(m);
	rte_pktmbuf_free(m);
	assert_int_equal(eph_lb_connection_count(w->lb), 0); /* no state */
	return cookie;
}

/* The cookie SYN-ACK: its fields, the MSS rounded down to the table, the cookie's make-up. */
static void
test_cookie_synack(void **state)
{
	uint32_t ports = eph_flow_ports(rte_cpu_to_be_16(CPORT), rte_cpu_to_be_16(80));
	uint32_t c;

	(void)state;
	c = syn_for_cookie(1460, 1460);
	assert_int_equal(c, eph_syn_cookie(t_dp.nat.cookie_key[0], t_dp.nat.cookie_key[1],
					   rte_cpu_to_be_32(CLIENT), rte_cpu_to_be_32(VIP), ports,
					   ISN, eph_syn_cookie_count(w->nat.now), 3));
	assert_int_equal(syn_for_cookie(1400, 1300), c - 2); /* index 1 */
	assert_int_equal(syn_for_cookie(0, 536), c - 3);     /* no option: 536 */
	assert_int_equal(syn_for_cookie(9000, 1460), c);
	assert_int_equal(w->lb->ctr[EPH_LB_syn_cookies_sent], 4);
	/* The same SYN again: the same answer, still no state. */
	assert_int_equal(syn_for_cookie(1460, 1460), c);
}

/* A forged ACK, one a period too old, one of a SYN with another ISN: refused, counted. */
static void
test_bad_cookie_refused(void **state)
{
	uint64_t before = t_drops(EPH_DROP_lb_syn_cookie_invalid);
	uint32_t c;

	(void)state;
	client_in(RTE_TCP_ACK_FLAG, ISN + 1, 0x12345678, NULL, 0, NULL, 0);
	no_out(IN);
	no_out(OUT);
	c = syn_for_cookie(1460, 1460);
	/* Another ISN: it moves the MSS index (as Linux's), out of the table for this one. */
	client_in(RTE_TCP_ACK_FLAG, ISN + 1001, c + 1, NULL, 0, NULL, 0);
	client_in(RTE_TCP_ACK_FLAG, ISN + 1, c + 2, NULL, 0, NULL, 0); /* another cookie */
	client_in(RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, ISN + 1, c + 1, NULL, 0, NULL, 0);
	no_out(IN);
	no_out(OUT);
	assert_int_equal(eph_lb_connection_count(w->lb), 0);
	assert_int_equal(w->lb->ctr[EPH_LB_syn_cookie_acks_invalid], 4);
	/* Two periods on, the cookie is too old. */
	t_advance(w, 2 * EPH_SYN_COOKIE_PERIOD_S * EPH_NAT_TICK_HZ + 1);
	client_in(RTE_TCP_ACK_FLAG, ISN + 1, c + 1, NULL, 0, NULL, 0);
	no_out(IN);
	no_out(OUT);
	assert_int_equal(w->lb->ctr[EPH_LB_syn_cookie_acks_invalid], 5);
	assert_int_equal(w->lb->ctr[EPH_LB_syn_cookie_acks_valid], 0);
	assert_int_equal(t_drops(EPH_DROP_lb_syn_cookie_invalid) - before, 5);
	assert_int_equal(eph_lb_connection_count(w->lb), 0);
	/* One period on, it still checks. */
	c = syn_for_cookie(1460, 1460);
	t_advance(w, EPH_SYN_COOKIE_PERIOD_S * EPH_NAT_TICK_HZ);
	client_in(RTE_TCP_ACK_FLAG, ISN + 1, c + 1, NULL, 0, NULL, 0);
	rte_pktmbuf_free(t_one_out(IN));
	assert_int_equal(w->lb->ctr[EPH_LB_syn_cookie_acks_valid], 1);
}

/* The cookie ACK opens: the backend gets a SYN with the client's ISN and the cookie's MSS. */
static uint32_t
open_to_backend(uint16_t mss, uint16_t want_mss, uint32_t local)
{
	uint32_t c = syn_for_cookie(mss, want_mss);
	struct rte_mbuf *m;
	const uint8_t *o;

	client_in(RTE_TCP_ACK_FLAG, ISN + 1, c + 1, NULL, 0, NULL, 0);
	no_out(OUT);
	m = t_one_out(IN);
	o = (const uint8_t *)(t_tcp(m) + 1);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), local);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), B1);
	assert_int_equal(rte_be_to_cpu_16(t_tcp(m)->dst_port), 8080);
	assert_int_equal(t_tcp(m)->tcp_flags, RTE_TCP_SYN_FLAG);
	assert_int_equal(t_tcp_seq(m), ISN);
	assert_int_equal(t_tcp_ack(m), 0);
	assert_int_equal(t_tcp(m)->data_off, 6 << 4);
	assert_int_equal(t_tcp_payload_len(m), 0);
	assert_int_equal(o[0], 2);
	assert_int_equal(o[1], 4);
	assert_int_equal(o[2] << 8 | o[3], want_mss == 1460 - PP ? 1460 : want_mss);
	lport = t_l4_port(m, 0);
	rte_pktmbuf_free(m);
	assert_int_equal(eph_lb_connection_count(w->lb), 1);
	assert_int_equal(w->lb->ctr[EPH_LB_syn_cookie_acks_valid], 1);
	assert_int_equal(w->lb->ctr[EPH_LB_connections_created], 1);
	return c;
}

/* The backend's SYN-ACK with MSS, wscale, SACK-permitted (which the client never sees). */
static void
backend_synack(void)
{
	static const uint8_t opt[12] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1, 4, 2 };

	backend_in(RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, B_ISN, ISN + 1, opt, 12, NULL, 0);
	no_out(OUT);
}

/* The whole handshake, data held, then the shift both ways with SACK edges. */
static void
test_handshake_and_shift(void **state)
{
	static const uint8_t hello[5] = "hello", more[4] = "more", reply[6] = "world!";
	/* SACK at an even offset (20 + 4) and, after a NOP, at an odd one (20 + 1 + 2 + ...). */
	uint8_t sack_even[12] = { 1, 1, 5, 10 }, sack_odd[12] = { 1, 5, 10 };
	uint64_t pending = t_drops(EPH_DROP_lb_syn_proxy_pending);
	struct eph_session *s;
	struct rte_mbuf *m;
	uint32_t c, e;

	(void)state;
	c = open_to_backend(1460, 1460, LOCAL);
	/* Data right behind the cookie ACK takes its place; the next has to wait for the client. */
	client_in(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, ISN + 1, c + 1, NULL, 0, hello, 5);
	client_in(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, ISN + 6, c + 1, NULL, 0, more, 4);
	no_out(IN);
	no_out(OUT);
	assert_int_equal(w->lb->ctr[EPH_LB_syn_proxy_held], 1);
	assert_int_equal(t_drops(EPH_DROP_lb_syn_proxy_pending) - pending, 1);
	/* The backend's answer is taken: the held data goes to it as the handshake's last ACK. */
	backend_synack();
	m = t_one_out(IN);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), LOCAL);
	assert_int_equal(t_tcp(m)->tcp_flags, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG);
	assert_int_equal(t_tcp_seq(m), ISN + 1);
	assert_int_equal(t_tcp_ack(m), B_ISN + 1);
	assert_int_equal(t_tcp_payload_len(m), 5);
	assert_memory_equal(t_tcp_payload(m), hello, 5);
	rte_pktmbuf_free(m);
	assert_int_equal(w->lb->ctr[EPH_LB_syn_proxy_handshakes], 1);
	s = &w->lb->conns->sess[0];
	assert_int_equal(s->state, EPH_TCP_ESTABLISHED);
	/* Backend -> client: seq + (cookie - B_ISN), its ack as it is. */
	backend_in(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, B_ISN + 1, ISN + 6, NULL, 0, reply, 6);
	m = t_one_out(OUT);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), VIP);
	assert_int_equal(t_tcp_seq(m), c + 1);
	assert_int_equal(t_tcp_ack(m), ISN + 6);
	assert_memory_equal(t_tcp_payload(m), reply, 6);
	rte_pktmbuf_free(m);
	/* Client -> backend: ack - delta, SACK edges - delta, at both parities. */
	e = rte_cpu_to_be_32(c + 100);
	memcpy(&sack_even[4], &e, 4);
	memcpy(&sack_odd[3], &e, 4);
	e = rte_cpu_to_be_32(c + 200);
	memcpy(&sack_even[8], &e, 4);
	memcpy(&sack_odd[7], &e, 4);
	sack_odd[11] = 0; /* EOL */
	client_in(RTE_TCP_ACK_FLAG, ISN + 6, c + 7, sack_even, 12, NULL, 0);
	m = t_one_out(IN);
	assert_int_equal(t_tcp_seq(m), ISN + 6);
	assert_int_equal(t_tcp_ack(m), B_ISN + 7);
	memcpy(&e, (const uint8_t *)(t_tcp(m) + 1) + 4, 4);
	assert_int_equal(rte_be_to_cpu_32(e), B_ISN + 100);
	memcpy(&e, (const uint8_t *)(t_tcp(m) + 1) + 8, 4);
	assert_int_equal(rte_be_to_cpu_32(e), B_ISN + 200);
	rte_pktmbuf_free(m);
	client_in(RTE_TCP_ACK_FLAG, ISN + 6, c + 7, sack_odd, 12, NULL, 0);
	m = t_one_out(IN);
	memcpy(&e, (const uint8_t *)(t_tcp(m) + 1) + 3, 4);
	assert_int_equal(rte_be_to_cpu_32(e), B_ISN + 100);
	memcpy(&e, (const uint8_t *)(t_tcp(m) + 1) + 7, 4);
	assert_int_equal(rte_be_to_cpu_32(e), B_ISN + 200);
	rte_pktmbuf_free(m);
	/* The resent data arrives: on as it is. */
	client_in(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, ISN + 6, c + 7, NULL, 0, more, 4);
	m = t_one_out(IN);
	assert_int_equal(t_tcp_seq(m), ISN + 6);
	assert_int_equal(t_tcp_ack(m), B_ISN + 7);
	assert_memory_equal(t_tcp_payload(m), more, 4);
	rte_pktmbuf_free(m);
	/* The tracker keeps the client's space on both sides. */
	assert_int_equal(s->seq_end[EPH_DIR_IN2OUT], ISN + 10);
	assert_int_equal(s->seq_end[EPH_DIR_OUT2IN], c + 7);
	/* A RST from the backend reaches the client in its space. */
	backend_in(RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, B_ISN + 7, ISN + 10, NULL, 0, NULL, 0);
	m = t_one_out(OUT);
	assert_int_equal(t_tcp_seq(m), c + 7);
	rte_pktmbuf_free(m);
}

/* A pure cookie ACK is what the backend gets once it answers; its retransmitted SYN-ACK too. */
static void
test_pure_ack_held(void **state)
{
	struct rte_mbuf *m;
	uint32_t c;

	(void)state;
	c = open_to_backend(1460, 1460, LOCAL);
	client_in(RTE_TCP_ACK_FLAG, ISN + 1, c + 1, NULL, 0, NULL, 0); /* a duplicate: dropped */
	no_out(IN);
	backend_synack();
	m = t_one_out(IN);
	assert_int_equal(t_tcp(m)->tcp_flags, RTE_TCP_ACK_FLAG);
	assert_int_equal(t_tcp_seq(m), ISN + 1);
	assert_int_equal(t_tcp_ack(m), B_ISN + 1);
	assert_int_equal(t_tcp_payload_len(m), 0);
	rte_pktmbuf_free(m);
	/* Our ACK was lost, the backend sends its SYN-ACK again: the client's answer completes it. */
	backend_in(RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, B_ISN, ISN + 1, NULL, 0, NULL, 0);
	m = t_one_out(OUT);
	assert_int_equal(t_tcp_seq(m), c);
	rte_pktmbuf_free(m);
	client_in(RTE_TCP_ACK_FLAG, ISN + 1, c + 1, NULL, 0, NULL, 0);
	m = t_one_out(IN);
	assert_int_equal(t_tcp_ack(m), B_ISN + 1);
	rte_pktmbuf_free(m);
	assert_int_equal(w->lb->ctr[EPH_LB_syn_proxy_handshakes], 1);
}

/* Too many segments waiting: none is held, the balancer makes the ACK from the record. */
static void
test_ack_made_anew(void **state)
{
	static const uint8_t hello[5] = "hello";
	struct rte_mbuf *m;
	uint32_t c;

	(void)state;
	w->lb->held = UINT32_MAX / 2; /* as if the buffers' share were taken */
	c = open_to_backend(1460, 1460, LOCAL);
	client_in(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, ISN + 1, c + 1, NULL, 0, hello, 5);
	no_out(IN);
	assert_int_equal(w->lb->ctr[EPH_LB_syn_proxy_held], 0);
	backend_synack();
	m = t_one_out(IN);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), LOCAL);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), B1);
	assert_int_equal(rte_be_to_cpu_16(t_tcp(m)->src_port), lport);
	assert_int_equal(rte_be_to_cpu_16(t_tcp(m)->dst_port), 8080);
	assert_int_equal(t_tcp(m)->tcp_flags, RTE_TCP_ACK_FLAG);
	assert_int_equal(t_tcp(m)->data_off, 5 << 4);
	assert_int_equal(t_tcp_seq(m), ISN + 1);
	assert_int_equal(t_tcp_ack(m), B_ISN + 1);
	assert_int_equal(rte_be_to_cpu_16(t_tcp(m)->rx_win), 65535);
	assert_int_equal(t_tcp_payload_len(m), 0);
	assert_int_equal(rte_pktmbuf_pkt_len(m), sizeof(struct rte_ether_hdr) + IP_LEN + TCP_LEN);
	rte_pktmbuf_free(m);
	assert_int_equal(w->lb->conns->sess[0].state, EPH_TCP_ESTABLISHED);
	assert_int_equal(w->lb->held, UINT32_MAX / 2);
	w->lb->held = 0;
	/* The client sends its data again: on, shifted. */
	client_in(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, ISN + 1, c + 1, NULL, 0, hello, 5);
	m = t_one_out(IN);
	assert_int_equal(t_tcp_ack(m), B_ISN + 1);
	assert_memory_equal(t_tcp_payload(m), hello, 5);
	rte_pktmbuf_free(m);
}

/* The backend refuses: the client, connected as far as it knows, gets a RST in its space. */
static void
test_backend_refuses(void **state)
{
	static const uint8_t hello[5] = "hello";
	uint64_t failures = w->lb->backend[0][0].connect_failures;
	struct rte_mbuf *m;
	uint32_t c;

	(void)state;
	c = open_to_backend(1460, 1460, LOCAL);
	client_in(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, ISN + 1, c + 1, NULL, 0, hello, 5);
	backend_in(RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 0, ISN + 1, NULL, 0, NULL, 0);
	no_out(IN);
	m = t_one_out(OUT);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), VIP);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), CLIENT);
	assert_int_equal(rte_be_to_cpu_16(t_tcp(m)->src_port), 80);
	assert_int_equal(rte_be_to_cpu_16(t_tcp(m)->dst_port), CPORT);
	assert_int_equal(t_tcp(m)->tcp_flags, RTE_TCP_RST_FLAG);
	assert_int_equal(t_tcp_seq(m), c + 1);
	rte_pktmbuf_free(m);
	assert_int_equal(w->lb->ctr[EPH_LB_syn_proxy_refusals], 1);
	assert_int_equal(w->lb->backend[0][0].connect_failures - failures, 1);
	assert_int_equal(eph_lb_connection_count(w->lb), 0);
}

/* The backend says nothing: after EPH_SYN_PROXY_CONNECT_S the client gets a RST. */
static void
test_backend_silent(void **state)
{
	struct rte_mbuf *m;
	uint32_t c;

	(void)state;
	c = open_to_backend(1460, 1460, LOCAL);
	t_advance(w, (EPH_SYN_PROXY_CONNECT_S - 1) * EPH_NAT_TICK_HZ);
	no_out(OUT);
	assert_int_equal(eph_lb_connection_count(w->lb), 1);
	t_advance(w, 2 * EPH_NAT_TICK_HZ);
	m = t_one_out(OUT);
	assert_int_equal(t_tcp(m)->tcp_flags, RTE_TCP_RST_FLAG);
	assert_int_equal(t_tcp_seq(m), c + 1);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), VIP);
	rte_pktmbuf_free(m);
	assert_int_equal(w->lb->ctr[EPH_LB_syn_proxy_refusals], 1);
	assert_int_equal(eph_lb_connection_count(w->lb), 0);
	/* A backend's late answer finds nothing. */
	backend_in(RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, B_ISN, ISN + 1, NULL, 0, NULL, 0);
	no_out(OUT);
	no_out(IN);
}

/* With proxy-protocol: the header rides the handshake's last ACK, and both shifts compose. */
static void
test_with_proxy_protocol(void **state)
{
	static const uint8_t data[10] = "0123456789";
	struct rte_mbuf *m;
	uint8_t hdr[PP];
	uint32_t c;

	(void)state;
	vport = 443;
	c = open_to_backend(1460, 1460 - PP, LOCAL2);
	backend_synack();
	m = t_one_out(IN);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), LOCAL2);
	assert_int_equal(t_tcp(m)->tcp_flags, RTE_TCP_ACK_FLAG);
	assert_int_equal(t_tcp_seq(m), ISN + 1);
	assert_int_equal(t_tcp_ack(m), B_ISN + 1);
	assert_int_equal(t_tcp_payload_len(m), PP);
	eph_pp2_header(hdr, rte_cpu_to_be_32(CLIENT), rte_cpu_to_be_16(CPORT),
		       rte_cpu_to_be_32(VIP), rte_cpu_to_be_16(443));
	assert_memory_equal(t_tcp_payload(m), hdr, PP);
	rte_pktmbuf_free(m);
	assert_int_equal(w->lb->ctr[EPH_LB_proxy_headers], 1);
	/* The backend acknowledges the header: the client sees ISN+1, and the cookie's space. */
	backend_in(RTE_TCP_ACK_FLAG, B_ISN + 1, ISN + 1 + PP, NULL, 0, NULL, 0);
	m = t_one_out(OUT);
	assert_int_equal(t_tcp_seq(m), c + 1);
	assert_int_equal(t_tcp_ack(m), ISN + 1);
	rte_pktmbuf_free(m);
	/* Client data: seq + 28, ack - delta. */
	client_in(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, ISN + 1, c + 1, NULL, 0, data, 10);
	m = t_one_out(IN);
	assert_int_equal(t_tcp_seq(m), ISN + 1 + PP);
	assert_int_equal(t_tcp_ack(m), B_ISN + 1);
	assert_memory_equal(t_tcp_payload(m), data, 10);
	rte_pktmbuf_free(m);
	/* Backend data: seq + delta, ack - 28. */
	backend_in(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, B_ISN + 1, ISN + 11 + PP, NULL, 0, data,
		   10);
	m = t_one_out(OUT);
	assert_int_equal(t_tcp_seq(m), c + 1);
	assert_int_equal(t_tcp_ack(m), ISN + 11);
	assert_memory_equal(t_tcp_payload(m), data, 10);
	rte_pktmbuf_free(m);
	client_in(RTE_TCP_ACK_FLAG, ISN + 11, c + 11, NULL, 0, NULL, 0);
	m = t_one_out(IN);
	assert_int_equal(t_tcp_seq(m), ISN + 11 + PP);
	assert_int_equal(t_tcp_ack(m), B_ISN + 11);
	rte_pktmbuf_free(m);
	assert_int_equal(w->lb->conns->sess[0].state, EPH_TCP_ESTABLISHED);
	vport = 80;
}

/* An ICMP error from the backend's side quoting our segment: its ack back in the client's space. */
static void
test_icmp_quote(void **state)
{
	uint16_t quote_len = IP_LEN + TCP_LEN;
	uint16_t icmp_len = (uint16_t)(sizeof(struct rte_icmp_hdr) + quote_len);
	struct rte_ipv4_hdr *inner;
	struct rte_icmp_hdr *icmp;
	struct rte_tcp_hdr *qt;
	struct rte_mbuf *m;
	uint32_t c;

	(void)state;
	c = open_to_backend(1460, 1460, LOCAL);
	backend_synack();
	rte_pktmbuf_free(t_one_out(IN));
	m = t_ipv4_packet(&t_host_mac, IN, B1, LOCAL, IPPROTO_ICMP, 64, icmp_len);
	icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);
	inner = (struct rte_ipv4_hdr *)(icmp + 1);
	memset(icmp, 0, icmp_len);
	icmp->icmp_type = 3;
	icmp->icmp_code = 4;
	icmp->icmp_seq_nb = RTE_BE16(1400);
	*inner = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF, .total_length = rte_cpu_to_be_16(1500),
		.time_to_live = 63, .next_proto_id = IPPROTO_TCP,
		.src_addr = rte_cpu_to_be_32(LOCAL), .dst_addr = rte_cpu_to_be_32(B1),
	};
	inner->hdr_checksum = rte_ipv4_cksum(inner);
	qt = (struct rte_tcp_hdr *)(inner + 1);
	qt->src_port = rte_cpu_to_be_16(lport);
	qt->dst_port = RTE_BE16(8080);
	qt->sent_seq = rte_cpu_to_be_32(ISN + 1);
	qt->recv_ack = rte_cpu_to_be_32(B_ISN + 1);
	qt->data_off = 5 << 4;
	qt->tcp_flags = RTE_TCP_ACK_FLAG;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, icmp_len);
	input(IN, m);
	m = t_one_out(OUT);
	inner = (struct rte_ipv4_hdr *)((struct rte_icmp_hdr *)(t_ip(m) + 1) + 1);
	qt = (struct rte_tcp_hdr *)(inner + 1);
	assert_int_equal(rte_be_to_cpu_32(inner->src_addr), CLIENT);
	assert_int_equal(rte_be_to_cpu_32(qt->sent_seq), ISN + 1);
	assert_int_equal(rte_be_to_cpu_32(qt->recv_ack), c + 1);
	rte_pktmbuf_free(m);
}

/* Garbage to the VIP with no connection: never a crash, never state. */
static void
test_odd_segments(void **state)
{
	static const uint8_t bad_opt[4] = { 2, 9, 1, 1 }; /* MSS with a length past the options */
	struct rte_mbuf *m;

	(void)state;
	client_in(RTE_TCP_SYN_FLAG, ISN, 0, bad_opt, 4, NULL, 0);
	m = t_one_out(OUT);
	assert_int_equal(((const uint8_t *)(t_tcp(m) + 1))[2] << 8 |
				 ((const uint8_t *)(t_tcp(m) + 1))[3], 536);
	rte_pktmbuf_free(m);
	client_in(RTE_TCP_RST_FLAG, ISN, 0, NULL, 0, NULL, 0);
	client_in(0, ISN, 0, NULL, 0, NULL, 0);
	client_in(RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, ISN, 1, NULL, 0, NULL, 0);
	no_out(OUT);
	no_out(IN);
	assert_int_equal(eph_lb_connection_count(w->lb), 0);
}

/*
 * Connections a cookie opened are not half-open ones: more of them than
 * the VIP's half-open bound (nat.sessions-per-worker / 16 here: 64) all
 * stay, none replaced, no RST to the backend.
 */
static void
test_cookies_beyond_half_open_bound(void **state)
{
	const unsigned int n = 80;
	struct rte_mbuf *m;

	(void)state;
	vport = 80;
	for (unsigned int i = 0; i < n; i++) {
		uint16_t port = (uint16_t)(41000 + i);
		uint32_t cookie;

		input(OUT, seg(OUT, CLIENT, VIP, port, 80, RTE_TCP_SYN_FLAG, ISN, 0, NULL, 0, NULL, 0));
		m = t_one_out(OUT);
		cookie = t_tcp_seq(m);
		rte_pktmbuf_free(m);
		input(OUT, seg(OUT, CLIENT, VIP, port, 80, RTE_TCP_ACK_FLAG, ISN + 1, cookie + 1, NULL,
			       0, NULL, 0));
		m = t_one_out(IN); /* the SYN to the backend, nothing else */
		assert_int_equal(t_tcp(m)->tcp_flags, RTE_TCP_SYN_FLAG);
		assert_int_equal(t_tcp_seq(m), ISN);
		rte_pktmbuf_free(m);
	}
	assert_int_equal(eph_lb_connection_count(w->lb), n);
	assert_int_equal(w->lb->ctr[EPH_LB_half_open_replaced], 0);
	assert_int_equal(w->lb->vip[t_dp.cfg->lb->vips[0].slot].half_open, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_cookie_synack, fresh),
		cmocka_unit_test_setup(test_bad_cookie_refused, fresh),
		cmocka_unit_test_setup(test_handshake_and_shift, fresh),
		cmocka_unit_test_setup(test_pure_ack_held, fresh),
		cmocka_unit_test_setup(test_ack_made_anew, fresh),
		cmocka_unit_test_setup(test_backend_refuses, fresh),
		cmocka_unit_test_setup(test_backend_silent, fresh),
		cmocka_unit_test_setup(test_with_proxy_protocol, fresh),
		cmocka_unit_test_setup(test_icmp_quote, fresh),
		cmocka_unit_test_setup(test_odd_segments, fresh),
		cmocka_unit_test_setup(test_cookies_beyond_half_open_bound, fresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

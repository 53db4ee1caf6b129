/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The balancer through the worker's packet path on net_ring ports: clients
 * on the outside port talk to VIPs, backends sit on the inside subnet and
 * see the balancer's local address. What leaves each port is checked
 * field by field, checksums by full recompute; counters say what the
 * worker decided.
 */
#include <string.h>

#include <rte_icmp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "control/lb_setup.h"
#include "control/reconfig.h"
#include "dataplane/flow/session.h"
#include "dataplane/flow/tcp_state.h"
#include "dataplane/lb/lb.h"
#include "tests/unit/harness.h"

#define IN        0
#define OUT       1
#define IP_LEN    ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define VIP       T_IPV4(203, 0, 113, 80)
#define VIP_EMPTY T_IPV4(203, 0, 113, 81)
#define VIP_DNAT  T_IPV4(203, 0, 113, 82)
#define VIP_GUARD T_IPV4(203, 0, 113, 83) /* half-open-per-worker: GUARD_HALF_OPEN */
#define VIP_RATE  T_IPV4(203, 0, 113, 84) /* new-connections-per-s: RATE */
#define GUARD_HALF_OPEN 4
#define RATE      3
#define LOCAL     T_IPV4(192, 0, 2, 50)
#define B1        T_IPV4(192, 0, 2, 21)
#define B2        T_IPV4(192, 0, 2, 22)
#define CLIENT    T_SERVER
#define PORT_LO   20000
#define PORT_HI   29999

static struct eph_worker *w;

static uint32_t local_addrs[] = { LOCAL };
static struct eph_conf_backend web_backends[] = {
	{ .addr = B1, .port = 8080, .weight = 100 },
	{ .addr = B2, .port = 8080, .weight = 100 },
};
static struct eph_conf_backend direct_backends[] = {
	{ .addr = B1, .port = 80, .weight = 100 },
};
static struct eph_conf_backend guard_backends[] = {
	{ .addr = B1, .port = 8080, .weight = 1 },
};
static struct eph_conf_backend dns_backends[] = {
	{ .addr = B1, .port = 53, .weight = 1 },
	{ .addr = B2, .port = 53, .weight = 3 },
};

static void
with_vips(struct eph_conf *conf)
{
	t_balancer_pool(&conf->pools[0], "web", local_addrs, 1, PORT_LO, PORT_HI);
	conf->n_pools = 1;

	t_vip(&conf->vips[0], "web", VIP, 80, IPPROTO_TCP);
	conf->vips[0].backends = web_backends;
	conf->vips[0].n_backends = 2;
	t_vip(&conf->vips[1], "dns", VIP, 53, IPPROTO_UDP);
	conf->vips[1].backends = dns_backends;
	conf->vips[1].n_backends = 2;
	t_vip(&conf->vips[2], "empty", VIP_EMPTY, 80, IPPROTO_TCP);
	t_vip(&conf->vips[3], "direct", VIP_DNAT, 80, IPPROTO_TCP);
	conf->vips[3].forwarding = EPH_LB_DNAT;
	conf->vips[3].pool = -1;
	conf->vips[3].backends = direct_backends;
	conf->vips[3].n_backends = 1;
	t_vip(&conf->vips[4], "guard", VIP_GUARD, 80, IPPROTO_TCP);
	conf->vips[4].backends = guard_backends;
	conf->vips[4].n_backends = 1;
	conf->vips[4].half_open_per_worker = GUARD_HALF_OPEN;
	t_vip(&conf->vips[5], "rate", VIP_RATE, 80, IPPROTO_TCP);
	conf->vips[5].backends = guard_backends;
	conf->vips[5].n_backends = 1;
	conf->vips[5].new_connections_per_s = RATE;
	conf->n_vips = 6;

	conf->timeouts.udp = 5;
	conf->timeouts.tcp_transitory = 10;
	conf->timeouts.tcp_established = 100;
	conf->nat.sessions_per_worker = 8192;
	conf->nat.destinations_per_worker = 1024;
	conf->nat.handoff_ring = 256;
}

static int
setup(void **state)
{
	(void)state;
	t_start_with("unit-lb", with_vips);
	w = t_dp.workers[0];
	t_neigh_add(OUT, CLIENT, &t_server_mac);
	t_neigh_add(IN, B1, &t_host_mac);
	t_neigh_add(IN, B2, &t_host_mac);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	t_conf.n_pools = 0; /* static arrays */
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
	return 0;
}

static void
input(uint16_t port, struct rte_mbuf *m)
{
	eph_input_burst(w, port, &m, 1);
}

static void
none_out(void)
{
	struct rte_mbuf *out[4];

	assert_int_equal(t_sent(IN, out, 4), 0);
	assert_int_equal(t_sent(OUT, out, 4), 0);
}

/* A client's SYN to VIP:80 from cport: what the backend got (addresses, local port). */
struct opened {
	uint32_t backend;
	uint16_t lport;
};

static struct opened
open_tcp(uint16_t cport)
{
	struct rte_mbuf *m;
	struct opened o;

	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP, IPPROTO_TCP, cport, 80,
			     RTE_TCP_SYN_FLAG, 1000, 0));
	m = t_one_out(IN);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), LOCAL);
	o.backend = rte_be_to_cpu_32(t_ip(m)->dst_addr);
	assert_true(o.backend == B1 || o.backend == B2);
	o.lport = t_l4_port(m, 0);
	assert_in_range(o.lport, PORT_LO, PORT_HI);
	assert_int_equal(t_l4_port(m, 2), 8080);
	rte_pktmbuf_free(m);
	return o;
}

static void
test_tcp_full_nat_round_trip(void **state)
{
	struct opened o;
	struct rte_mbuf *m;
	const struct rte_tcp_hdr *tcp;

	(void)state;
	o = open_tcp(40000);
	/* The backend answers its peer, the local address: the client sees the VIP. */
	input(IN, t_l4_packet(IN, &t_host_mac, o.backend, LOCAL, IPPROTO_TCP, 8080, o.lport,
			    RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 5000, 1001));
	m = t_one_out(OUT);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), VIP);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), CLIENT);
	assert_int_equal(t_l4_port(m, 0), 80);
	assert_int_equal(t_l4_port(m, 2), 40000);
	tcp = (const struct rte_tcp_hdr *)(t_ip(m) + 1);
	assert_int_equal(rte_be_to_cpu_32(tcp->sent_seq), 5000); /* full-NAT keeps sequence numbers */
	rte_pktmbuf_free(m);
	/* The handshake's last ACK, then data: the same backend and local port. */
	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP, IPPROTO_TCP, 40000, 80,
			     RTE_TCP_ACK_FLAG, 1001, 5001));
	m = t_one_out(IN);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), o.backend);
	assert_int_equal(t_l4_port(m, 0), o.lport);
	rte_pktmbuf_free(m);
	assert_int_equal(eph_lb_connection_count(w->lb), 1);
	assert_int_equal(eph_lb_active(&t_dp, 0, -1), 1);
	assert_int_equal(w->lb->conns->sess[0].state, EPH_TCP_ESTABLISHED);
}

static void
test_non_syn_without_connection_dropped(void **state)
{
	uint64_t before = t_drops(EPH_DROP_lb_no_connection);

	(void)state;
	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP, IPPROTO_TCP, 40001, 80,
			     RTE_TCP_ACK_FLAG, 1, 1));
	none_out();
	assert_int_equal(t_drops(EPH_DROP_lb_no_connection), before + 1);
	/* A reply to a local port nobody opened. */
	input(IN, t_l4_packet(IN, &t_host_mac, B1, LOCAL, IPPROTO_TCP, 8080, 20001,
			    RTE_TCP_ACK_FLAG, 1, 1));
	none_out();
	assert_int_equal(t_drops(EPH_DROP_lb_no_connection), before + 2);
}

static void
test_no_backend_refused_with_rst(void **state)
{
	uint64_t before = t_drops(EPH_DROP_lb_no_backend);
	const struct rte_tcp_hdr *tcp;
	struct rte_mbuf *m;

	(void)state;
	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP_EMPTY, IPPROTO_TCP, 40002, 80,
			     RTE_TCP_SYN_FLAG, 7000, 0));
	m = t_one_out(OUT);
	tcp = (const struct rte_tcp_hdr *)(t_ip(m) + 1);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), VIP_EMPTY);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), CLIENT);
	assert_int_equal(t_l4_port(m, 0), 80);
	assert_int_equal(t_l4_port(m, 2), 40002);
	assert_int_equal(tcp->tcp_flags, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(rte_be_to_cpu_32(tcp->recv_ack), 7000 + 10 + 1); /* SYN + 10 bytes */
	rte_pktmbuf_free(m);
	assert_int_equal(t_drops(EPH_DROP_lb_no_backend), before + 1);
	assert_int_equal(eph_lb_connection_count(w->lb), 0);
}

static void
test_udp_flows_stick_and_follow_weights(void **state)
{
	unsigned int n = 3000, on_b2 = 0;
	uint32_t first[3000];

	(void)state;
	for (unsigned int i = 0; i < n; i++) {
		struct rte_mbuf *m;

		input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP, IPPROTO_UDP,
				     (uint16_t)(30000 + i), 53, 0, 0, 0));
		m = t_one_out(IN);
		first[i] = rte_be_to_cpu_32(t_ip(m)->dst_addr);
		assert_int_equal(t_l4_port(m, 2), 53);
		on_b2 += first[i] == B2;
		rte_pktmbuf_free(m);
	}
	/* Weights 1:3: 75 % on B2, within 3 points. */
	assert_in_range(on_b2 * 1000 / n, 720, 780);
	/* Every flow stays where it went. */
	for (unsigned int i = 0; i < n; i += 7) {
		struct rte_mbuf *m;

		input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP, IPPROTO_UDP,
				     (uint16_t)(30000 + i), 53, 0, 0, 0));
		m = t_one_out(IN);
		assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), first[i]);
		rte_pktmbuf_free(m);
	}
	assert_int_equal(eph_lb_connection_count(w->lb), n);
}

/* Fragments to a VIP or from a backend to a local address: dropped and counted, the rest served. */
static void
test_fragments_dropped(void **state)
{
	uint64_t before = t_drops(EPH_DROP_lb_fragment);
	struct rte_mbuf *burst[3], *m;
	struct opened o;

	(void)state;
	/* A first fragment and a later one amid a burst with a whole datagram. */
	burst[0] = t_l4_packet(OUT, &t_server_mac, CLIENT, VIP, IPPROTO_UDP, 31000, 53, 0, 0, 0);
	burst[1] = t_l4_packet(OUT, &t_server_mac, CLIENT, VIP, IPPROTO_UDP, 31001, 53, 0, 0, 0);
	burst[2] = t_l4_packet(OUT, &t_server_mac, CLIENT, VIP, IPPROTO_UDP, 31002, 53, 0, 0, 0);
	t_ip(burst[0])->fragment_offset = RTE_BE16(RTE_IPV4_HDR_MF_FLAG);
	t_ip(burst[2])->fragment_offset = RTE_BE16(100);
	for (unsigned int i = 0; i < 3; i += 2) {
		t_ip(burst[i])->hdr_checksum = 0;
		t_ip(burst[i])->hdr_checksum = rte_ipv4_cksum(t_ip(burst[i]));
	}
	eph_input_burst(w, OUT, burst, 3);
	m = t_one_out(IN);
	assert_int_equal(t_l4_port(m, 2), 53);
	rte_pktmbuf_free(m);
	assert_int_equal(t_drops(EPH_DROP_lb_fragment) - before, 2);
	/* A backend's fragment to the local address. */
	o = open_tcp(41000);
	m = t_l4_packet(IN, &t_host_mac, o.backend, LOCAL, IPPROTO_TCP, 8080, o.lport,
			RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 5000, 1001);
	t_ip(m)->fragment_offset = RTE_BE16(RTE_IPV4_HDR_MF_FLAG);
	t_ip(m)->hdr_checksum = 0;
	t_ip(m)->hdr_checksum = rte_ipv4_cksum(t_ip(m));
	input(IN, m);
	none_out();
	assert_int_equal(t_drops(EPH_DROP_lb_fragment) - before, 3);
}

static void
test_icmp_frag_needed_from_backend(void **state)
{
	struct opened o = open_tcp(40003);
	uint16_t quote_len = IP_LEN + 8;
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, o.backend, LOCAL, IPPROTO_ICMP, 64,
					   sizeof(struct rte_icmp_hdr) + quote_len);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);
	struct rte_ipv4_hdr *inner = (struct rte_ipv4_hdr *)(icmp + 1);
	uint16_t sp = rte_cpu_to_be_16(o.lport), dp = RTE_BE16(8080);
	uint16_t icmp_len = (uint16_t)(sizeof(*icmp) + quote_len);

	(void)state;
	/* What the backend was sent: local:lport -> backend:8080, too big for its link. */
	memset(icmp, 0, icmp_len);
	icmp->icmp_type = 3;
	icmp->icmp_code = 4;
	icmp->icmp_seq_nb = RTE_BE16(1400); /* next-hop MTU */
	inner->version_ihl = RTE_IPV4_VHL_DEF;
	inner->total_length = RTE_BE16(1500);
	inner->time_to_live = 63;
	inner->next_proto_id = IPPROTO_TCP;
	inner->src_addr = rte_cpu_to_be_32(LOCAL);
	inner->dst_addr = rte_cpu_to_be_32(o.backend);
	inner->hdr_checksum = rte_ipv4_cksum(inner);
	memcpy(inner + 1, &sp, 2);
	memcpy((uint8_t *)(inner + 1) + 2, &dp, 2);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, icmp_len);
	input(IN, m);

	m = t_one_out(OUT);
	icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);
	inner = (struct rte_ipv4_hdr *)(icmp + 1);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), VIP);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), CLIENT);
	assert_int_equal(icmp->icmp_type, 3);
	assert_int_equal(icmp->icmp_code, 4);
	assert_int_equal(rte_be_to_cpu_16(icmp->icmp_seq_nb), 1400);
	/* The quote is what the client sent: client:40003 -> VIP:80. */
	assert_int_equal(rte_be_to_cpu_32(inner->src_addr), CLIENT);
	assert_int_equal(rte_be_to_cpu_32(inner->dst_addr), VIP);
	assert_int_equal(rte_raw_cksum(inner, IP_LEN), 0xffff);
	memcpy(&sp, inner + 1, 2);
	memcpy(&dp, (uint8_t *)(inner + 1) + 2, 2);
	assert_int_equal(rte_be_to_cpu_16(sp), 40003);
	assert_int_equal(rte_be_to_cpu_16(dp), 80);
	rte_pktmbuf_free(m);
	assert_int_equal(w->lb->ctr[EPH_LB_icmp_errors_translated], 1);
}

static void
test_ping_vip_answered(void **state)
{
	uint16_t len = sizeof(struct rte_icmp_hdr) + 8;
	struct rte_mbuf *m = t_ipv4_packet(&t_server_mac, OUT, CLIENT, VIP, IPPROTO_ICMP, 64, len);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);

	(void)state;
	memset(icmp, 0, len);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_ident = RTE_BE16(77);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, len);
	input(OUT, m);
	m = t_one_out(OUT);
	icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);
	assert_int_equal(icmp->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), VIP);
	rte_pktmbuf_free(m);
}

static void
test_syn_after_close_opens_anew(void **state)
{
	struct opened o = open_tcp(40004);
	struct rte_mbuf *m;

	(void)state;
	input(IN, t_l4_packet(IN, &t_host_mac, o.backend, LOCAL, IPPROTO_TCP, 8080, o.lport,
			    RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 5000, 1001));
	rte_pktmbuf_free(t_one_out(OUT));
	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP, IPPROTO_TCP, 40004, 80,
			     RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, 1001, 5001));
	rte_pktmbuf_free(t_one_out(IN));
	input(IN, t_l4_packet(IN, &t_host_mac, o.backend, LOCAL, IPPROTO_TCP, 8080, o.lport,
			    RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, 5001, 1002));
	rte_pktmbuf_free(t_one_out(OUT));
	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP, IPPROTO_TCP, 40004, 80,
			     RTE_TCP_ACK_FLAG, 1002, 5002));
	rte_pktmbuf_free(t_one_out(IN));
	assert_int_equal(w->lb->ctr[EPH_LB_syn_reopened], 0);
	/* The client reuses the 5-tuple: a new connection, counted as such. */
	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP, IPPROTO_TCP, 40004, 80,
			     RTE_TCP_SYN_FLAG, 90000, 0));
	m = t_one_out(IN);
	assert_int_equal(((const struct rte_tcp_hdr *)(t_ip(m) + 1))->tcp_flags, RTE_TCP_SYN_FLAG);
	rte_pktmbuf_free(m);
	assert_int_equal(w->lb->ctr[EPH_LB_syn_reopened], 1);
	assert_int_equal(eph_lb_connection_count(w->lb), 1);
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

static uint32_t removed_backend;
static uint8_t removed_policy;

/* Drop removed_backend from VIP web, with on-remove removed_policy. */
static void
remove_backend(struct eph_conf *c)
{
	struct eph_conf_vip *v = &c->vips[0];
	unsigned int n = 0;

	for (unsigned int i = 0; i < v->n_backends; i++)
		if (v->backends[i].addr != removed_backend)
			v->backends[n++] = v->backends[i];
	v->n_backends = n;
	v->on_remove = removed_policy;
}

static void
restore_backends(struct eph_conf *c)
{
	struct eph_conf_vip *v = &c->vips[0];

	free(v->backends);
	v->backends = malloc(sizeof(web_backends));
	assert_non_null(v->backends);
	memcpy(v->backends, web_backends, sizeof(web_backends));
	v->n_backends = 2;
	v->on_remove = EPH_LB_REMOVE_DRAIN;
}

static void
test_removed_backend_drain_then_reset(void **state)
{
	struct opened o[8];
	unsigned int n_b1 = 0;
	struct rte_mbuf *out[32];
	unsigned int n;

	(void)state;
	for (unsigned int i = 0; i < 8; i++) {
		o[i] = open_tcp((uint16_t)(41000 + i));
		input(IN, t_l4_packet(IN, &t_host_mac, o[i].backend, LOCAL, IPPROTO_TCP, 8080,
				    o[i].lport, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 5000, 1001));
		rte_pktmbuf_free(t_one_out(OUT));
		n_b1 += o[i].backend == B1;
	}
	assert_true(n_b1 > 0 && n_b1 < 8);

	/* Drain: B1 leaves the table; its connections go on, new ones go to B2. */
	removed_backend = B1;
	removed_policy = EPH_LB_REMOVE_DRAIN;
	assert_int_equal(apply_with(remove_backend), 0);
	t_advance(w, 1);
	for (unsigned int i = 0; i < 8; i++) {
		struct rte_mbuf *m;

		input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP, IPPROTO_TCP,
				     (uint16_t)(41000 + i), 80, RTE_TCP_ACK_FLAG, 1001, 5001));
		m = t_one_out(IN);
		assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), o[i].backend);
		rte_pktmbuf_free(m);
	}
	for (unsigned int i = 0; i < 20; i++)
		assert_int_equal(open_tcp((uint16_t)(42000 + i)).backend, B2);

	/* Back, then removed again with reset: every B1 connection gets a RST on both sides. */
	assert_int_equal(apply_with(restore_backends), 0);
	removed_policy = EPH_LB_REMOVE_RESET;
	assert_int_equal(apply_with(remove_backend), 0);
	t_advance(w, 1);
	n = t_sent(OUT, out, 32);
	assert_int_equal(n, n_b1);
	for (unsigned int i = 0; i < n; i++) {
		t_assert_checksums(out[i]);
		assert_int_equal(((const struct rte_tcp_hdr *)(t_ip(out[i]) + 1))->tcp_flags,
				 RTE_TCP_RST_FLAG);
		assert_int_equal(rte_be_to_cpu_32(t_ip(out[i])->src_addr), VIP);
		rte_pktmbuf_free(out[i]);
	}
	n = t_sent(IN, out, 32);
	assert_int_equal(n, n_b1);
	for (unsigned int i = 0; i < n; i++) {
		t_assert_checksums(out[i]);
		assert_int_equal(rte_be_to_cpu_32(t_ip(out[i])->dst_addr), B1);
		assert_int_equal(rte_be_to_cpu_32(t_ip(out[i])->src_addr), LOCAL);
		rte_pktmbuf_free(out[i]);
	}
	assert_int_equal(eph_lb_active(&t_dp, 0, -1), 8 - n_b1 + 20);
	/* With no connection left, housekeeping frees the removed backend's slot. */
	assert_true(eph_reconfig_housekeeping(t_dp.rc) >= 1);
	assert_int_equal(apply_with(restore_backends), 0);
}

/* Destination NAT: the backend sees the client; its reply, routed through us, leaves from the VIP. */
static void
test_dnat_round_trip(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP_DNAT, IPPROTO_TCP, 40100, 80,
			     RTE_TCP_SYN_FLAG, 1000, 0));
	m = t_one_out(IN);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), CLIENT);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), B1);
	assert_int_equal(t_l4_port(m, 0), 40100);
	assert_int_equal(t_l4_port(m, 2), 80);
	rte_pktmbuf_free(m);
	input(IN, t_l4_packet(IN, &t_host_mac, B1, CLIENT, IPPROTO_TCP, 80, 40100,
			    RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 5000, 1001));
	m = t_one_out(OUT);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), VIP_DNAT);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), CLIENT);
	assert_int_equal(t_l4_port(m, 0), 80);
	assert_int_equal(t_l4_port(m, 2), 40100);
	rte_pktmbuf_free(m);
	/* Traffic of the backend's that is no reply is routed as it is. */
	input(IN, t_l4_packet(IN, &t_host_mac, B1, CLIENT, IPPROTO_TCP, 81, 40100,
			    RTE_TCP_SYN_FLAG, 1, 0));
	m = t_one_out(OUT);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), B1);
	rte_pktmbuf_free(m);
}

/* ---- SYN flood guards ---------------------------------------------------- */

/* The snapshot entry of VIP name. */
static const struct eph_lb_vip *
vip_named(const char *name)
{
	const struct eph_lb_cfg *c = t_dp.cfg->lb;

	for (unsigned int i = 0; c != NULL && i < c->n_vips; i++)
		if (strcmp(c->vips[i].name, name) == 0)
			return &c->vips[i];
	fail_msg("no vip %s", name);
	return NULL;
}

/* A client's SYN to vip:80 from cport (seq 1000): the local port the backend (B1) saw. */
static uint16_t
syn_to(uint32_t vip, uint16_t cport)
{
	struct rte_mbuf *m;
	uint16_t lport;

	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, vip, IPPROTO_TCP, cport, 80,
			     RTE_TCP_SYN_FLAG, 1000, 0));
	m = t_one_out(IN);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), B1);
	assert_int_equal(((const struct rte_tcp_hdr *)(t_ip(m) + 1))->tcp_flags, RTE_TCP_SYN_FLAG);
	lport = t_l4_port(m, 0);
	rte_pktmbuf_free(m);
	return lport;
}

/* The handshake of a connection syn_to opened: the backend's SYN-ACK, the client's ACK. */
static void
handshake(uint32_t vip, uint16_t cport, uint16_t lport)
{
	input(IN, t_l4_packet(IN, &t_host_mac, B1, LOCAL, IPPROTO_TCP, 8080, lport,
			    RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 5000, 1001));
	rte_pktmbuf_free(t_one_out(OUT));
	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, vip, IPPROTO_TCP, cport, 80,
			     RTE_TCP_ACK_FLAG, 1001, 5001));
	rte_pktmbuf_free(t_one_out(IN));
}

static void
test_half_open_bound_replaces_oldest(void **state)
{
	const struct eph_lb_vip *v = vip_named("guard");
	const struct eph_lb_vip_stats *vs = &w->lb->vip[v->slot];
	uint64_t no_conn = t_drops(EPH_DROP_lb_no_connection);
	uint16_t lport[GUARD_HALF_OPEN + 2];
	struct rte_mbuf *out[4], *burst[2];
	const struct rte_tcp_hdr *tcp;

	(void)state;
	assert_int_equal(v->max_half_open, GUARD_HALF_OPEN);
	for (unsigned int i = 0; i < GUARD_HALF_OPEN; i++)
		lport[i] = syn_to(VIP_GUARD, (uint16_t)(43000 + i));
	assert_int_equal(vs->half_open, GUARD_HALF_OPEN);
	/* One completes its handshake: no longer half-open, room for one more. */
	handshake(VIP_GUARD, 43001, lport[1]);
	assert_int_equal(vs->half_open, GUARD_HALF_OPEN - 1);
	lport[GUARD_HALF_OPEN] = syn_to(VIP_GUARD, 43000 + GUARD_HALF_OPEN);
	assert_int_equal(vs->half_open_replaced, 0);

	/*
	 * At the bound: a new SYN replaces the oldest (43000), whose backend
	 * gets a RST with the sequence number it expects (the client's ISN + 1).
	 */
	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP_GUARD, IPPROTO_TCP,
			     43000 + GUARD_HALF_OPEN + 1, 80, RTE_TCP_SYN_FLAG, 1000, 0));
	assert_int_equal(t_sent(IN, out, 4), 2);
	t_assert_checksums(out[0]);
	tcp = (const struct rte_tcp_hdr *)(t_ip(out[0]) + 1);
	assert_int_equal(tcp->tcp_flags, RTE_TCP_RST_FLAG);
	assert_int_equal(rte_be_to_cpu_32(t_ip(out[0])->src_addr), LOCAL);
	assert_int_equal(rte_be_to_cpu_32(t_ip(out[0])->dst_addr), B1);
	assert_int_equal(t_l4_port(out[0], 0), lport[0]);
	assert_int_equal(t_l4_port(out[0], 2), 8080);
	assert_int_equal(rte_be_to_cpu_32(tcp->sent_seq), 1000 + 10 + 1); /* ISN, 10 bytes, SYN */
	assert_int_equal(((const struct rte_tcp_hdr *)(t_ip(out[1]) + 1))->tcp_flags,
			 RTE_TCP_SYN_FLAG);
	rte_pktmbuf_free(out[0]);
	rte_pktmbuf_free(out[1]);
	assert_int_equal(vs->half_open, GUARD_HALF_OPEN);
	assert_int_equal(vs->half_open_replaced, 1);
	assert_int_equal(w->lb->ctr[EPH_LB_half_open_replaced], 1);
	assert_int_equal(eph_lb_connection_count(w->lb), GUARD_HALF_OPEN + 1);

	/*
	 * In one burst, a SYN that replaces the oldest (43002) and the ACK
	 * that would have completed 43002: the ACK finds no connection (it
	 * must not ride on the record the SYN took over).
	 */
	burst[0] = t_l4_packet(OUT, &t_server_mac, CLIENT, VIP_GUARD, IPPROTO_TCP, 43100, 80,
			       RTE_TCP_SYN_FLAG, 1000, 0);
	burst[1] = t_l4_packet(OUT, &t_server_mac, CLIENT, VIP_GUARD, IPPROTO_TCP, 43002, 80,
			       RTE_TCP_ACK_FLAG, 1001, 5001);
	eph_input_burst(w, OUT, burst, 2);
	assert_int_equal(t_sent(IN, out, 4), 2);
	assert_int_equal(t_l4_port(out[0], 0), lport[2]);
	assert_int_equal(((const struct rte_tcp_hdr *)(t_ip(out[0]) + 1))->tcp_flags,
			 RTE_TCP_RST_FLAG);
	assert_int_equal(((const struct rte_tcp_hdr *)(t_ip(out[1]) + 1))->tcp_flags,
			 RTE_TCP_SYN_FLAG);
	rte_pktmbuf_free(out[0]);
	rte_pktmbuf_free(out[1]);
	assert_int_equal(t_drops(EPH_DROP_lb_no_connection), no_conn + 1);

	/* A flood of SYNs: the half-open ones turn over, the established one carries on. */
	for (unsigned int i = 0; i < 200; i++) {
		input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP_GUARD, IPPROTO_TCP,
				     (uint16_t)(50000 + i), 80, RTE_TCP_SYN_FLAG, 1000, 0));
		assert_int_equal(t_sent(IN, out, 4), 2); /* the RST and the SYN */
		rte_pktmbuf_free(out[0]);
		rte_pktmbuf_free(out[1]);
	}
	assert_int_equal(vs->half_open, GUARD_HALF_OPEN);
	assert_int_equal(vs->half_open_replaced, 202);
	assert_int_equal(eph_lb_connection_count(w->lb), GUARD_HALF_OPEN + 1);
	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP_GUARD, IPPROTO_TCP, 43001, 80,
			     RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 1001, 5001));
	out[0] = t_one_out(IN);
	assert_int_equal(t_l4_port(out[0], 0), lport[1]);
	rte_pktmbuf_free(out[0]);
	input(IN, t_l4_packet(IN, &t_host_mac, B1, LOCAL, IPPROTO_TCP, 8080, lport[1],
			    RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 5001, 1011));
	out[0] = t_one_out(OUT);
	assert_int_equal(t_l4_port(out[0], 2), 43001);
	rte_pktmbuf_free(out[0]);
	/* Other VIPs do not count against this one's bound. */
	assert_int_equal(w->lb->vip[vip_named("web")->slot].half_open, 0);
}

static void
guard_max_connections(struct eph_conf *c)
{
	c->vips[4].max_connections = GUARD_HALF_OPEN - 1;
}

static void
guard_no_max_connections(struct eph_conf *c)
{
	c->vips[4].max_connections = 0;
}

/* At max-connections a SYN replaces the oldest half-open connection; only established ones refuse it. */
static void
test_half_open_replaced_at_max_connections(void **state)
{
	const struct eph_lb_vip *v;
	const struct eph_lb_vip_stats *vs;
	uint64_t over = t_drops(EPH_DROP_lb_over_limit);
	uint16_t lport[3], l;
	struct rte_mbuf *out[4];
	uint64_t replaced;

	(void)state;
	assert_int_equal(apply_with(guard_max_connections), 0);
	v = vip_named("guard");
	vs = &w->lb->vip[v->slot];
	assert_int_equal(v->max_conns, GUARD_HALF_OPEN - 1);
	lport[0] = syn_to(VIP_GUARD, 47000);
	lport[1] = syn_to(VIP_GUARD, 47001);
	handshake(VIP_GUARD, 47001, lport[1]);
	lport[2] = syn_to(VIP_GUARD, 47002);
	assert_int_equal(vs->active, 3);
	replaced = vs->half_open_replaced;
	/* At the limit, below the half-open bound: 47000 makes room. */
	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP_GUARD, IPPROTO_TCP, 47003, 80,
			     RTE_TCP_SYN_FLAG, 1000, 0));
	assert_int_equal(t_sent(IN, out, 4), 2);
	assert_int_equal(((const struct rte_tcp_hdr *)(t_ip(out[0]) + 1))->tcp_flags,
			 RTE_TCP_RST_FLAG);
	assert_int_equal(t_l4_port(out[0], 0), lport[0]);
	l = t_l4_port(out[1], 0);
	rte_pktmbuf_free(out[0]);
	rte_pktmbuf_free(out[1]);
	assert_int_equal(vs->half_open_replaced, replaced + 1);
	assert_int_equal(vs->active, 3);
	/* Every connection established: the limit refuses, as before. */
	handshake(VIP_GUARD, 47002, lport[2]);
	handshake(VIP_GUARD, 47003, l);
	assert_int_equal(vs->half_open, 0);
	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP_GUARD, IPPROTO_TCP, 47004, 80,
			     RTE_TCP_SYN_FLAG, 1000, 0));
	out[0] = t_one_out(OUT);
	assert_int_equal(((const struct rte_tcp_hdr *)(t_ip(out[0]) + 1))->tcp_flags,
			 RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	rte_pktmbuf_free(out[0]);
	none_out();
	assert_int_equal(t_drops(EPH_DROP_lb_over_limit), over + 1);
	assert_int_equal(vs->half_open_replaced, replaced + 1);
	assert_int_equal(apply_with(guard_no_max_connections), 0);
}

static void
test_half_open_expire_on_transitory_timeout(void **state)
{
	const struct eph_lb_vip *v = vip_named("guard");
	const struct eph_lb_vip_stats *vs = &w->lb->vip[v->slot];
	uint64_t closed = w->lb->ctr[EPH_LB_connections_closed];
	uint16_t answered;

	(void)state;
	(void)syn_to(VIP_GUARD, 44000); /* SYN_SENT */
	answered = syn_to(VIP_GUARD, 44001);
	input(IN, t_l4_packet(IN, &t_host_mac, B1, LOCAL, IPPROTO_TCP, 8080, answered,
			    RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 5000, 1001)); /* SYN_RCVD */
	rte_pktmbuf_free(t_one_out(OUT));
	handshake(VIP_GUARD, 44002, syn_to(VIP_GUARD, 44002)); /* established */
	assert_int_equal(vs->half_open, 2);
	assert_int_equal(eph_lb_connection_count(w->lb), 3);
	/* tcp-transitory is 10 s here: still there just before, gone just after. */
	t_advance(w, 9 * EPH_NAT_TICK_HZ);
	assert_int_equal(eph_lb_connection_count(w->lb), 3);
	t_advance(w, 2 * EPH_NAT_TICK_HZ);
	assert_int_equal(eph_lb_connection_count(w->lb), 1);
	assert_int_equal(vs->half_open, 0);
	assert_int_equal(vs->active, 1);
	assert_int_equal(w->lb->ctr[EPH_LB_connections_closed], closed + 2);
	none_out(); /* expiry sends nothing */
}

/* A SYN to VIP_RATE that the limit refuses: the client gets the VIP's RST. */
static void
rate_refused(uint16_t cport)
{
	const struct rte_tcp_hdr *tcp;
	struct rte_mbuf *m;

	input(OUT, t_l4_packet(OUT, &t_server_mac, CLIENT, VIP_RATE, IPPROTO_TCP, cport, 80,
			     RTE_TCP_SYN_FLAG, 1000, 0));
	m = t_one_out(OUT);
	tcp = (const struct rte_tcp_hdr *)(t_ip(m) + 1);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), VIP_RATE);
	assert_int_equal(t_l4_port(m, 2), cport);
	assert_int_equal(tcp->tcp_flags, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	rte_pktmbuf_free(m);
	none_out();
}

static void
test_rate_limit_refuses_and_refills(void **state)
{
	const struct eph_lb_vip *v = vip_named("rate");
	const struct eph_lb_vip_stats *vs = &w->lb->vip[v->slot];
	uint64_t drops = t_drops(EPH_DROP_lb_rate_limited);
	uint16_t cport = 45000;

	(void)state;
	assert_int_equal(t_dp.n_workers, 1); /* one worker: its share is the whole rate */
	/* A full bucket: RATE at once, then refusals. */
	for (unsigned int i = 0; i < RATE; i++)
		(void)syn_to(VIP_RATE, cport++);
	rate_refused(cport++);
	rate_refused(cport++);
	assert_int_equal(vs->rate_limited, 2);
	assert_int_equal(w->lb->ctr[EPH_LB_rate_limited], 2);
	assert_int_equal(t_drops(EPH_DROP_lb_rate_limited), drops + 2);
	assert_int_equal(vs->total, RATE);
	/* A refused SYN's retransmission is refused too: nothing was kept of it. */
	rate_refused((uint16_t)(cport - 1));
	/* 6/16 s refills one token (one per 1/3 s), not two. */
	t_advance(w, 6);
	(void)syn_to(VIP_RATE, cport++);
	rate_refused(cport++);
	/* Ten idle seconds refill the bucket, no more than its second's worth. */
	t_advance(w, 10 * EPH_NAT_TICK_HZ);
	for (unsigned int i = 0; i < RATE; i++)
		(void)syn_to(VIP_RATE, cport++);
	rate_refused(cport++);
	assert_int_equal(vs->rate_limited, 5);
	assert_int_equal(vs->total, 2 * RATE + 1);
	/* Other VIPs are not limited. */
	assert_int_equal(w->lb->vip[vip_named("guard")->slot].rate_limited, 0);
	for (unsigned int i = 0; i < GUARD_HALF_OPEN; i++)
		(void)syn_to(VIP_GUARD, (uint16_t)(46000 + i));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_tcp_full_nat_round_trip, fresh),
		cmocka_unit_test_setup(test_non_syn_without_connection_dropped, fresh),
		cmocka_unit_test_setup(test_no_backend_refused_with_rst, fresh),
		cmocka_unit_test_setup(test_udp_flows_stick_and_follow_weights, fresh),
		cmocka_unit_test_setup(test_fragments_dropped, fresh),
		cmocka_unit_test_setup(test_icmp_frag_needed_from_backend, fresh),
		cmocka_unit_test_setup(test_ping_vip_answered, fresh),
		cmocka_unit_test_setup(test_syn_after_close_opens_anew, fresh),
		cmocka_unit_test_setup(test_removed_backend_drain_then_reset, fresh),
		cmocka_unit_test_setup(test_dnat_round_trip, fresh),
		cmocka_unit_test_setup(test_half_open_bound_replaces_oldest, fresh),
		cmocka_unit_test_setup(test_half_open_replaced_at_max_connections, fresh),
		cmocka_unit_test_setup(test_half_open_expire_on_transitory_timeout, fresh),
		cmocka_unit_test_setup(test_rate_limit_refuses_and_refills, fresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

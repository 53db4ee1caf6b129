/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The balancer's cases: clients behind the outside router talk to a UDP
 * VIP with 16 backends on the inside subnet, full-NAT from four local
 * addresses. lb_new_connections: every packet opens a connection (Maglev
 * choice, a local port per backend, the record), UDP or TCP SYNs (which
 * also join the VIP's half-open list). lb_syn_flood: TCP SYNs at the
 * half-open bound, each replacing the oldest (a RST to its backend, the
 * record and port freed) before it opens. lb_established: client packets
 * in, the backend's replies back, through open connections. The TCP cases
 * open their connections by a handshake (untimed; through a VIP with
 * proxy-protocol v2 the handshake's last ACK takes the header), then time
 * data segments both ways. What comes out is checked field by field with
 * full checksums, untimed. lb_syn_cookies: SYNs to a VIP with syn-proxy,
 * each answered with a cookie SYN-ACK and no state; lb_cookie_acks: the
 * ACKs of those cookies, each opening a connection (cookie check, Maglev
 * choice, a local port, the record, the SYN to the backend).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/flow/session.h"
#include "dataplane/lb/lb.h"
#include "dataplane/lb/proxy.h"
#include "tests/bench/bench.h"

#define LB_VIP        B_IPV4(203, 0, 113, 80)
#define LB_VIP_PORT   80
#define LB_LOCAL_BASE B_IPV4(10, 0, 2, 1)
#define LB_N_LOCAL    4u
#define LB_N_BACKENDS 16u /* the bench's first inside hosts, neighbours resolved */
#define LB_BACKEND_PORT 8080
#define LB_SEED       0x6c62ULL

static uint32_t local_addrs[LB_N_LOCAL];
static struct eph_conf_backend backends[LB_N_BACKENDS];

void
bench_lb_conf(const struct bench_case *c, struct eph_conf *conf, unsigned int *n_pool)
{
	struct eph_conf_pool *p = &conf->pools[0];
	struct eph_conf_vip *v = &conf->vips[0];

	for (unsigned int a = 0; a < LB_N_LOCAL; a++)
		local_addrs[a] = LB_LOCAL_BASE + a;
	for (unsigned int b = 0; b < LB_N_BACKENDS; b++)
		backends[b] = (struct eph_conf_backend){
			.addr = B_HOST_BASE + b, .port = LB_BACKEND_PORT, .weight = 100,
		};
	/* The pool becomes the VIP's local addresses: the balancer's alone. */
	snprintf(p->name, sizeof(p->name), "bench");
	snprintf(p->vip, sizeof(p->vip), "bench");
	p->balancer = true;
	p->pooling = EPH_POOLING_ARBITRARY;
	p->addrs = local_addrs;
	p->n_addrs = LB_N_LOCAL;
	p->inside = NULL;
	p->n_inside = 0;
	p->port_lo = 1024;
	p->port_hi = 65535;
	*n_pool = LB_N_LOCAL;

	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "bench");
	v->addr = LB_VIP;
	v->port = LB_VIP_PORT;
	v->proto = c->proto;
	v->proxy = c->kind == B_LB_PROXY ? EPH_LB_PROXY_V2 : EPH_LB_PROXY_OFF;
	v->syn_proxy = c->kind == B_LB_SYN_COOKIE || c->kind == B_LB_COOKIE_ACK
			       ? EPH_LB_SYN_PROXY_ON : EPH_LB_SYN_PROXY_OFF;
	v->backends = backends;
	v->n_backends = LB_N_BACKENDS;
	v->forwarding = EPH_LB_FULLNAT;
	v->pool = 0;
	v->maglev_size = 65537;
	/* TCP: the bound out of reach, or (the flood) its default, 1/16 of the table. */
	if (c->kind == B_LB_NEW)
		v->half_open_per_worker = RTE_MAX(c->sessions, 1024u);
	conf->n_vips = 1;
	/* Connections per backend and local address: 1M / 64, well inside a share. */
	conf->nat.destinations_per_worker = 4096 + RTE_MAX(c->sessions, 1024u) / 32;
}

/* Client i: 64 addresses behind the router, then ports from 1024. */
static uint32_t
client_addr(uint32_t i)
{
	return B_REMOTE_NET + 1 + (i & 63);
}

static uint16_t
client_port(uint32_t i)
{
	return (uint16_t)(1024 + (i >> 6));
}

/* TCP: each side's initial sequence number; every frame carries 6 bytes of data. */
#define TCP_DATA 6u

static uint32_t
client_isn(uint32_t i)
{
	return i * 2654435761u;
}

static uint32_t
backend_isn(uint32_t i)
{
	return ~i * 40503u;
}

static struct rte_tcp_hdr *
tcp_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *,
				       sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr));
}

/* A TCP frame's flags, sequence and acknowledgement numbers, its checksum made again (untimed). */
static void
tcp_numbers(struct rte_mbuf *m, uint8_t flags, uint32_t seq, uint32_t ack)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
							  sizeof(struct rte_ether_hdr));
	struct rte_tcp_hdr *tcp = tcp_of(m);

	tcp->tcp_flags = flags;
	tcp->sent_seq = rte_cpu_to_be_32(seq);
	tcp->recv_ack = rte_cpu_to_be_32(ack);
	tcp->cksum = 0;
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
}

/* Client i's packet: a datagram, or a TCP segment with flags, seq and ack. */
static void
client_packet(struct bench_ctx *x, uint32_t i, struct rte_mbuf *m, uint8_t flags, uint32_t seq,
	      uint32_t ack)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
							  sizeof(struct rte_ether_hdr));

	bench_frame(m, &x->router_mac, &x->dp.ports[B_OUT].mac, client_addr(i), LB_VIP,
		    client_port(i), LB_VIP_PORT, x->c->proto, flags, i);
	if (x->c->proto != IPPROTO_TCP)
		return;
	/* A SYN carries no data: the frame's last bytes become Ethernet padding. */
	if (flags & RTE_TCP_SYN_FLAG) {
		ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + sizeof(struct rte_tcp_hdr));
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	tcp_numbers(m, flags, seq, ack);
}

/* The client's number n as the backend sees it: past the PROXY header, if there is one. */
static uint32_t
at_backend(const struct bench_ctx *x, uint32_t n)
{
	return x->c->kind == B_LB_PROXY ? n + EPH_PP2_LEN : n;
}

/* Where each connection went: local address index << 24 | backend << 16 | local port. */
struct lb_map {
	uint32_t *to;
};

static int
checksums_ok(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
							  sizeof(struct rte_ether_hdr));

	return rte_raw_cksum(ip, sizeof(*ip)) == 0xffff &&
	       rte_ipv4_udptcp_cksum_verify(ip, ip + 1) == 0;
}

static void
mismatch(struct bench_ctx *x, uint32_t i, const char *what)
{
	if (x->mismatches++ < 5)
		fprintf(stderr, "ephemera-bench: %s: connection %u: %s\n", x->c->name, i, what);
}

/* What left the inside port for client i: to a backend, from a local address (learnt, then insisted on). */
static void
check_to_backend(struct bench_ctx *x, struct lb_map *map, uint32_t i, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
							  sizeof(struct rte_ether_hdr));
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint32_t local = rte_be_to_cpu_32(ip->src_addr) - LB_LOCAL_BASE;
	uint32_t backend = rte_be_to_cpu_32(ip->dst_addr) - B_HOST_BASE;
	uint32_t to = local << 24 | backend << 16 | rte_be_to_cpu_16(udp->src_port);

	if (!checksums_ok(m))
		mismatch(x, i, "checksum towards the backend");
	else if (local >= LB_N_LOCAL || backend >= LB_N_BACKENDS ||
		 udp->dst_port != RTE_BE16(LB_BACKEND_PORT) || rte_be_to_cpu_16(udp->src_port) < 1024)
		mismatch(x, i, "not local address -> backend:8080");
	else if (map->to[i] == 0)
		map->to[i] = to | 1u << 31;
	else if ((map->to[i] & ~(1u << 31)) != to)
		mismatch(x, i, "moved to another backend or local port");
}

/* What left the outside port for client i's reply: from the VIP to the client. */
static void
check_to_client(struct bench_ctx *x, uint32_t i, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
							  sizeof(struct rte_ether_hdr));
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	if (!checksums_ok(m))
		mismatch(x, i, "checksum towards the client");
	else if (ip->src_addr != rte_cpu_to_be_32(LB_VIP) ||
		 ip->dst_addr != rte_cpu_to_be_32(client_addr(i)) ||
		 udp->src_port != RTE_BE16(LB_VIP_PORT) ||
		 udp->dst_port != rte_cpu_to_be_16(client_port(i)))
		mismatch(x, i, "reply not VIP:80 -> client");
}

static void
fail_if_dropped(struct bench_ctx *x, const char *when)
{
	for (unsigned int d = 0; d < EPH_DROP_MAX; d++)
		if (bench_drops(x, (enum eph_drop_reason)d) != 0)
			bench_fail(x, "%" PRIu64 " packets dropped (%s) %s",
				   bench_drops(x, (enum eph_drop_reason)d), eph_drop_names[d], when);
}

/* One side's k packets in on port in, k out on port out (checksums checked by the caller). */
static void
through(struct bench_ctx *x, struct rte_mbuf **pkts, uint16_t k, uint16_t in, uint16_t out,
	const char *what)
{
	struct eph_worker *w = x->dp.workers[0];
	uint16_t got;

	eph_input_burst(w, in, pkts, k);
	got = bench_sent(x, w, out, pkts, k);
	if (got != k)
		bench_fail(x, "%s: %u of %u packets came out", what, got, k);
}

/*
 * The rest of the TCP handshake of connections [base, base + k), whose SYNs
 * are in pkts as they reached the backends: SYN-ACK, the client's ACK with
 * its first data (the PROXY header in front of it), the backend's ACK.
 */
static void
handshake(struct bench_ctx *x, struct lb_map *map, uint32_t base, uint16_t k,
	  struct rte_mbuf **pkts)
{
	for (uint16_t j = 0; j < k; j++) {
		uint32_t i = base + j;

		bench_turnaround(pkts[j]);
		tcp_numbers(pkts[j], RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, backend_isn(i),
			    client_isn(i) + 1);
	}
	through(x, pkts, k, B_IN, B_OUT, "SYN-ACK");
	for (uint16_t j = 0; j < k; j++) {
		uint32_t i = base + j;

		check_to_client(x, i, pkts[j]);
		client_packet(x, i, pkts[j], RTE_TCP_ACK_FLAG, client_isn(i) + 1,
			      backend_isn(i) + 1);
	}
	through(x, pkts, k, B_OUT, B_IN, "handshake ACK");
	for (uint16_t j = 0; j < k; j++) {
		uint32_t i = base + j;

		check_to_backend(x, map, i, pkts[j]);
		if (rte_be_to_cpu_32(tcp_of(pkts[j])->sent_seq) != client_isn(i) + 1)
			mismatch(x, i, "the first data does not start at ISN+1");
		bench_turnaround(pkts[j]);
		tcp_numbers(pkts[j], RTE_TCP_ACK_FLAG, backend_isn(i) + 1,
			    at_backend(x, client_isn(i) + 1 + TCP_DATA));
	}
	through(x, pkts, k, B_IN, B_OUT, "the backends' ACKs");
	for (uint16_t j = 0; j < k; j++) {
		uint32_t i = base + j;

		check_to_client(x, i, pkts[j]);
		if (rte_be_to_cpu_32(tcp_of(pkts[j])->recv_ack) != client_isn(i) + 1 + TCP_DATA)
			mismatch(x, i, "the backend's ack is not in the client's space");
	}
}

/* Open connections [0, n): client packet in, one packet out to a backend. Timed when t is set. */
static void
open_connections(struct bench_ctx *x, struct lb_map *map, uint32_t n, struct bench_timer *t)
{
	struct eph_worker *w = x->dp.workers[0];
	struct rte_mbuf *pkts[B_BURST];

	if (rte_pktmbuf_alloc_bulk(x->dp.pool, pkts, B_BURST) != 0)
		bench_fail(x, "out of mbufs");
	for (uint32_t base = 0; base < n; base += B_BURST) {
		uint16_t k = (uint16_t)RTE_MIN((uint32_t)B_BURST, n - base), got;

		for (uint16_t j = 0; j < k; j++)
			client_packet(x, base + j, pkts[j], RTE_TCP_SYN_FLAG, client_isn(base + j),
				      0);
		if (t != NULL)
			bench_timer_start(t);
		eph_input_burst(w, B_OUT, pkts, k);
		got = bench_sent(x, w, B_IN, pkts, k);
		if (t != NULL)
			bench_timer_stop(t, got);
		if (got != k)
			bench_fail(x, "opening: %u of %u packets came out", got, k);
		for (uint16_t j = 0; j < k; j++)
			check_to_backend(x, map, base + j, pkts[j]);
		if (x->c->proto == IPPROTO_TCP)
			handshake(x, map, base, k, pkts);
		bench_progress(x, "opening connections", base + k, n);
	}
	rte_pktmbuf_free_bulk(pkts, B_BURST);
	if (eph_lb_connection_count(w->lb) != n)
		bench_fail(x, "%u connections after opening %u", eph_lb_connection_count(w->lb), n);
	fail_if_dropped(x, "while opening connections");
}

/* The balancer's bytes per connection: its table (records, index, wheel) and side array. */
static double
bytes_per_connection(struct bench_ctx *x)
{
	const struct eph_lb_worker *lw = x->dp.workers[0]->lb;
	const struct eph_session_table *t = lw->conns;
	size_t ext = lw->ext != NULL ? (size_t)t->max * sizeof(*lw->ext) : 0;

	return (double)(eph_session_table_bytes(t) + ext) / t->max;
}

static void
run_established(struct bench_ctx *x, struct lb_map *map, struct bench_result *r)
{
	const struct bench_case *c = x->c;
	struct eph_worker *w = x->dp.workers[0];
	uint64_t bursts = RTE_MAX((uint64_t)1, c->packets / (2 * B_BURST));
	struct rte_mbuf *pkts[B_BURST];
	uint32_t *seq;

	open_connections(x, map, c->sessions, NULL);
	seq = bench_sequence(c->sessions, bursts * B_BURST, c->zipf, LB_SEED);
	if (seq == NULL || rte_pktmbuf_alloc_bulk(x->dp.pool, pkts, B_BURST) != 0)
		bench_fail(x, "no memory for the traffic");
	for (uint64_t b = 0; b < bursts; b++) {
		const uint32_t *fi = &seq[b * B_BURST];
		uint16_t n;

		/* TCP: the client's next data, behind its first; the backend's ack of it. */
		for (unsigned int j = 0; j < B_BURST; j++)
			client_packet(x, fi[j], pkts[j], RTE_TCP_ACK_FLAG,
				      client_isn(fi[j]) + 1 + TCP_DATA, backend_isn(fi[j]) + 1);
		bench_timer_start(&r->t);
		eph_input_burst(w, B_OUT, pkts, B_BURST);
		n = bench_sent(x, w, B_IN, pkts, B_BURST);
		bench_timer_stop(&r->t, B_BURST);
		if (n != B_BURST)
			bench_fail(x, "client -> backend: %u of %u came out", n, B_BURST);
		for (unsigned int j = 0; j < B_BURST; j++) {
			uint32_t next = at_backend(x, client_isn(fi[j]) + 1 + 2 * TCP_DATA);

			check_to_backend(x, map, fi[j], pkts[j]);
			bench_turnaround(pkts[j]); /* the backend answers its peer */
			if (c->proto != IPPROTO_TCP)
				continue;
			if (rte_be_to_cpu_32(tcp_of(pkts[j])->sent_seq) != next - TCP_DATA)
				mismatch(x, fi[j], "client data misplaced in the backend's space");
			tcp_numbers(pkts[j], RTE_TCP_ACK_FLAG, backend_isn(fi[j]) + 1, next);
		}
		bench_timer_start(&r->t);
		eph_input_burst(w, B_IN, pkts, B_BURST);
		n = bench_sent(x, w, B_OUT, pkts, B_BURST);
		bench_timer_stop(&r->t, B_BURST);
		if (n != B_BURST)
			bench_fail(x, "backend -> client: %u of %u came out", n, B_BURST);
		for (unsigned int j = 0; j < B_BURST; j++) {
			check_to_client(x, fi[j], pkts[j]);
			if (c->proto == IPPROTO_TCP &&
			    rte_be_to_cpu_32(tcp_of(pkts[j])->recv_ack) !=
				    client_isn(fi[j]) + 1 + 2 * TCP_DATA)
				mismatch(x, fi[j], "the backend's ack not in the client's space");
		}
		bench_progress(x, "traffic", b + 1, bursts);
	}
	bench_timer_done(&r->t);
	rte_pktmbuf_free_bulk(pkts, B_BURST);
	free(seq);
	fail_if_dropped(x, "in the established phase");
	if (eph_lb_connection_count(w->lb) != c->sessions)
		bench_fail(x, "connections changed during the established phase");
	r->packets = 2 * bursts * B_BURST;
}

/*
 * SYNs of connections [0, n) at the half-open bound (timed): the first
 * bound ones open, every later one replaces the oldest, so the backends get
 * a RST for each one replaced and every SYN. At the end the bound's newest
 * are the ones left.
 */
static void
run_syn_flood(struct bench_ctx *x, struct bench_result *r)
{
	struct eph_worker *w = x->dp.workers[0];
	const struct eph_lb_vip *v = &x->dp.cfg->lb->vips[0];
	uint32_t n = x->c->sessions, bound = v->max_half_open, syns = 0, rsts = 0;
	struct rte_mbuf *pkts[B_BURST], *out[2 * B_BURST];

	if (bound >= n)
		bench_fail(x, "half-open bound %u not below the %u SYNs", bound, n);
	for (uint32_t base = 0; base < n; base += B_BURST) {
		uint16_t k = (uint16_t)RTE_MIN((uint32_t)B_BURST, n - base), got;

		if (rte_pktmbuf_alloc_bulk(x->dp.pool, pkts, k) != 0)
			bench_fail(x, "out of mbufs");
		for (uint16_t j = 0; j < k; j++)
			client_packet(x, base + j, pkts[j], RTE_TCP_SYN_FLAG, client_isn(base + j),
				      0);
		bench_timer_start(&r->t);
		eph_input_burst(w, B_OUT, pkts, k);
		got = bench_sent(x, w, B_IN, out, 2 * B_BURST);
		bench_timer_stop(&r->t, k);
		for (uint16_t j = 0; j < got; j++) {
			const struct rte_tcp_hdr *tcp = rte_pktmbuf_mtod_offset(
				out[j], const struct rte_tcp_hdr *,
				sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr));

			if (!checksums_ok(out[j]))
				mismatch(x, base, "checksum towards the backend");
			syns += tcp->tcp_flags == RTE_TCP_SYN_FLAG;
			rsts += tcp->tcp_flags == RTE_TCP_RST_FLAG;
		}
		rte_pktmbuf_free_bulk(out, got);
		bench_progress(x, "flooding", base + k, n);
	}
	bench_timer_done(&r->t);
	if (syns != n || rsts != n - bound)
		bench_fail(x, "%u SYNs and %u RSTs reached the backends, expected %u and %u", syns,
			   rsts, n, n - bound);
	if (eph_lb_connection_count(w->lb) != bound || w->lb->vip[v->slot].half_open != bound)
		bench_fail(x, "%u connections, %" PRIu64 " half-open after the flood, expected %u",
			   eph_lb_connection_count(w->lb), w->lb->vip[v->slot].half_open, bound);
	fail_if_dropped(x, "during the flood");
	r->packets = n;
	r->sessions = n;
	r->mismatches = x->mismatches;
	r->bytes_per_session = bytes_per_connection(x);
}

/*
 * syn-proxy: every client's SYN in, its cookie SYN-ACK out (timed for
 * lb_syn_cookies), no connection; then for lb_cookie_acks every client's
 * ACK of its cookie in, a SYN to a backend out (timed).
 */
static void
run_syn_cookies(struct bench_ctx *x, struct lb_map *map, struct bench_result *r)
{
	struct eph_worker *w = x->dp.workers[0];
	uint32_t n = x->c->sessions;
	bool acks = x->c->kind == B_LB_COOKIE_ACK;
	struct rte_mbuf *pkts[B_BURST];
	uint32_t *cookie = calloc(n, sizeof(*cookie));

	if (cookie == NULL || rte_pktmbuf_alloc_bulk(x->dp.pool, pkts, B_BURST) != 0)
		bench_fail(x, "no memory for the cookies");
	for (uint32_t base = 0; base < n; base += B_BURST) {
		uint16_t k = (uint16_t)RTE_MIN((uint32_t)B_BURST, n - base), got;

		for (uint16_t j = 0; j < k; j++)
			client_packet(x, base + j, pkts[j], RTE_TCP_SYN_FLAG, client_isn(base + j),
				      0);
		if (!acks)
			bench_timer_start(&r->t);
		eph_input_burst(w, B_OUT, pkts, k);
		got = bench_sent(x, w, B_OUT, pkts, k);
		if (!acks)
			bench_timer_stop(&r->t, got);
		if (got != k)
			bench_fail(x, "SYNs: %u of %u cookies came out", got, k);
		for (uint16_t j = 0; j < k; j++) {
			check_to_client(x, base + j, pkts[j]);
			if (tcp_of(pkts[j])->tcp_flags != (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG) ||
			    rte_be_to_cpu_32(tcp_of(pkts[j])->recv_ack) != client_isn(base + j) + 1)
				mismatch(x, base + j, "not a SYN-ACK of the client's SYN");
			cookie[base + j] = rte_be_to_cpu_32(tcp_of(pkts[j])->sent_seq);
		}
		bench_progress(x, "SYN cookies", base + k, n);
	}
	if (eph_lb_connection_count(w->lb) != 0)
		bench_fail(x, "%u connections after SYNs alone", eph_lb_connection_count(w->lb));
	for (uint32_t base = 0; acks && base < n; base += B_BURST) {
		uint16_t k = (uint16_t)RTE_MIN((uint32_t)B_BURST, n - base), got;

		for (uint16_t j = 0; j < k; j++)
			client_packet(x, base + j, pkts[j], RTE_TCP_ACK_FLAG,
				      client_isn(base + j) + 1, cookie[base + j] + 1);
		bench_timer_start(&r->t);
		eph_input_burst(w, B_OUT, pkts, k);
		got = bench_sent(x, w, B_IN, pkts, k);
		bench_timer_stop(&r->t, got);
		if (got != k)
			bench_fail(x, "cookie ACKs: %u of %u SYNs came out", got, k);
		for (uint16_t j = 0; j < k; j++) {
			check_to_backend(x, map, base + j, pkts[j]);
			if (tcp_of(pkts[j])->tcp_flags != RTE_TCP_SYN_FLAG ||
			    rte_be_to_cpu_32(tcp_of(pkts[j])->sent_seq) != client_isn(base + j))
				mismatch(x, base + j, "not a SYN with the client's ISN");
		}
		bench_progress(x, "cookie ACKs", base + k, n);
	}
	bench_timer_done(&r->t);
	rte_pktmbuf_free_bulk(pkts, B_BURST);
	free(cookie);
	fail_if_dropped(x, "on the syn-proxy VIP");
	if (eph_lb_connection_count(w->lb) != (acks ? n : 0))
		bench_fail(x, "%u connections, %u expected", eph_lb_connection_count(w->lb),
			   acks ? n : 0);
	r->packets = n;
}

void
bench_lb_run(struct bench_ctx *x, struct bench_result *r)
{
	struct lb_map map = {.to = calloc(x->c->sessions, sizeof(uint32_t))};
	unsigned int per_backend[LB_N_BACKENDS] = {0};

	if (map.to == NULL)
		bench_fail(x, "no memory for the connection map");
	bench_timer_init(&r->t, x->tsc_hz);
	if (x->c->kind == B_LB_SYN_FLOOD) {
		run_syn_flood(x, r);
		free(map.to);
		return;
	}
	if (x->c->kind == B_LB_NEW) {
		open_connections(x, &map, x->c->sessions, &r->t);
		bench_timer_done(&r->t);
		r->packets = x->c->sessions;
	} else if (x->c->kind == B_LB_SYN_COOKIE || x->c->kind == B_LB_COOKIE_ACK) {
		run_syn_cookies(x, &map, r);
	} else {
		run_established(x, &map, r);
	}
	/* Maglev with equal weights: every backend has its share of the connections. */
	for (uint32_t i = 0; i < x->c->sessions; i++)
		per_backend[(map.to[i] >> 16) & 0xff]++;
	for (unsigned int b = 0; b < LB_N_BACKENDS && x->c->kind != B_LB_SYN_COOKIE; b++)
		if (per_backend[b] < x->c->sessions / LB_N_BACKENDS / 2)
			bench_fail(x, "backend %u got %u of %u connections", b, per_backend[b],
				   x->c->sessions);
	r->sessions = x->c->sessions;
	r->mismatches = x->mismatches;
	r->bytes_per_session = bytes_per_connection(x);
	free(map.to);
}

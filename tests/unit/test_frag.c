/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 fragments through the source NAT (dataplane/nat/nat_frag.h), on
 * two workers and net_ring ports: datagrams are built whole with their
 * checksums, cut into fragments, sent in order, out of order, with
 * copies and overlaps, to the worker that owns their session or to the
 * other one; what leaves is reassembled here and compared byte for byte
 * with what was sent, the L4 checksum recomputed over the whole datagram.
 * Limits (datagrams, fragments held, bytes, time) are counted as drops.
 * The workers are not launched: the test calls their functions.
 * test_frag3.c runs the same with three workers (FRAG_WORKERS).
 */
#include <string.h>

#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/nat/nat_frag.h"
#include "dataplane/flow/session.h"
#include "tests/unit/harness.h"

#define IN          0
#define OUT         1
#define IP_LEN      ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define POOL_A      T_IPV4(203, 0, 113, 100)
#define ROUTED_HOST T_IPV4(192, 0, 2, 200) /* in no pool: routed as it is */
#define MAX_FRAGS   64
#define HELD_MAX    16
#define DGRAMS_MAX  32
#define TIMEOUT_MS  100
#ifndef FRAG_WORKERS
#define FRAG_WORKERS 2
#define FRAG_PREFIX  "unit-frag"
#endif

static uint32_t pool_addrs[] = {POOL_A};
static struct eph_conf_prefix pool_inside[] = {{T_IPV4(192, 0, 2, 0), 25}};

static void
with_workers(struct eph_conf *conf)
{
	struct eph_conf_pool *p = &conf->pools[0];

	snprintf(conf->eal.lcores, sizeof(conf->eal.lcores), "%s",
		 FRAG_WORKERS == 3 ? "0@0,1@0,2@0,3@0" : "0@0,1@0,2@0");
	eph_conf_pool_defaults(p);
	snprintf(p->name, sizeof(p->name), "test");
	p->addrs = pool_addrs;
	p->n_addrs = 1;
	p->port_lo = 20000;
	p->port_hi = 20999;
	p->inside = pool_inside;
	p->n_inside = 1;
	conf->n_pools = 1;
	conf->nat.sessions_per_worker = 4096;
	conf->nat.destinations_per_worker = 1024;
	conf->nat.handoff_ring = 256;
	conf->nat.frag_datagrams = DGRAMS_MAX;
	conf->nat.frag_held = HELD_MAX;
	conf->nat.frag_held_bytes = 1 << 20;
	conf->nat.frag_timeout_ms = TIMEOUT_MS;
	conf->dataplane.mbufs = 16383; /* rx and tx rings of three workers */
}

static int
setup(void **state)
{
	(void)state;
	t_start_with(FRAG_PREFIX, with_workers);
	assert_int_equal(t_dp.n_workers, FRAG_WORKERS);
	t_neigh_add(OUT, T_SERVER, &t_server_mac);
	for (uint32_t h = 2; h < 254; h++)
		t_neigh_add(IN, T_IPV4(192, 0, 2, h), &t_host_mac);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	t_conf.n_pools = 0; /* static arrays */
	t_stop();
	return 0;
}

/* ---- datagrams and their fragments ------------------------------------ */

struct dgram {
	uint8_t b[65536 + 64];
	uint32_t len; /* IP header included */
};

static uint16_t next_id = 0x4000;

static uint16_t
l4_hdr_len(uint8_t proto)
{
	return proto == IPPROTO_TCP   ? sizeof(struct rte_tcp_hdr)
	       : proto == IPPROTO_UDP ? sizeof(struct rte_udp_hdr)
				      : sizeof(struct rte_icmp_hdr);
}

/*
 * A whole datagram with payload bytes after its L4 header, checksums
 * complete. TCP: a SYN; ICMP: an echo of type icmp_type, identifier
 * sport, sequence dport.
 */
static void
dgram_build(struct dgram *d, uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport,
	    uint16_t dport, uint32_t payload, uint8_t icmp_type)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)d->b;
	uint8_t *l4 = (uint8_t *)(ip + 1);
	uint32_t l4_len = l4_hdr_len(proto) + payload;

	assert_true(IP_LEN + l4_len <= 65535);
	memset(d->b, 0, IP_LEN + l4_len);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16((uint16_t)(IP_LEN + l4_len)),
		.packet_id = rte_cpu_to_be_16(next_id++),
		.time_to_live = 64,
		.next_proto_id = proto,
		.src_addr = rte_cpu_to_be_32(src),
		.dst_addr = rte_cpu_to_be_32(dst),
	};
	for (uint32_t i = 0; i < payload; i++)
		l4[l4_hdr_len(proto) + i] = (uint8_t)(i * 13 + 5 + (i >> 8));
	if (proto == IPPROTO_ICMP) {
		struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)l4;

		icmp->icmp_type = icmp_type;
		icmp->icmp_ident = rte_cpu_to_be_16(sport);
		icmp->icmp_seq_nb = rte_cpu_to_be_16(dport);
		icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(l4, l4_len);
	} else {
		uint16_t sp = rte_cpu_to_be_16(sport), dp = rte_cpu_to_be_16(dport);

		memcpy(l4, &sp, 2);
		memcpy(l4 + 2, &dp, 2);
		if (proto == IPPROTO_TCP) {
			struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)l4;

			t->data_off = 5 << 4;
			t->tcp_flags = RTE_TCP_SYN_FLAG;
			t->sent_seq = rte_cpu_to_be_32(1000);
			t->rx_win = RTE_BE16(65535);
			t->cksum = rte_ipv4_udptcp_cksum(ip, t);
		} else {
			struct rte_udp_hdr *u = (struct rte_udp_hdr *)l4;

			u->dgram_len = rte_cpu_to_be_16((uint16_t)l4_len);
			u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
		}
	}
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	d->len = IP_LEN + l4_len;
}

/* A frame carrying bytes [off, off + len) of d's IP payload as a fragment (more: MF). */
static struct rte_mbuf *
frag_of(const struct dgram *d, uint16_t port, const struct rte_ether_addr *mac, uint32_t off,
	uint32_t len, bool more)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(t_dp.pool);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;

	assert_non_null(m);
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m,
							 (uint16_t)(sizeof(*eth) + IP_LEN + len));
	assert_non_null(eth);
	eth->src_addr = *mac;
	eth->dst_addr = t_dp.ports[port].mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	memcpy(ip, d->b, IP_LEN);
	ip->total_length = rte_cpu_to_be_16((uint16_t)(IP_LEN + len));
	ip->fragment_offset =
		rte_cpu_to_be_16((uint16_t)((off / 8) | (more ? RTE_IPV4_HDR_MF_FLAG : 0)));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	memcpy(ip + 1, d->b + IP_LEN + off, len);
	m->port = t_dp.ports[port].port_id;
	return m;
}

/* d cut into fragments of chunk bytes (a multiple of 8) of IP payload. */
static unsigned int
cut(const struct dgram *d, uint16_t port, const struct rte_ether_addr *mac, uint32_t chunk,
    struct rte_mbuf **f)
{
	uint32_t payload = d->len - IP_LEN, n = 0;

	for (uint32_t off = 0; off < payload; off += chunk) {
		uint32_t len = RTE_MIN(chunk, payload - off);

		assert_true(n < MAX_FRAGS);
		f[n++] = frag_of(d, port, mac, off, len, off + len < payload);
	}
	return n;
}

/* ---- what the workers sent --------------------------------------------- */

static unsigned int
sent_by(unsigned int wk, uint16_t p, struct rte_mbuf **pkts, unsigned int max)
{
	struct eph_worker *w = t_dp.workers[wk];
	uint16_t pid = t_dp.ports[p].port_id;

	w->stats.port[p].tx += rte_eth_tx_buffer_flush(pid, w->id, w->txb[p]);
	return rte_eth_rx_burst(pid, w->id, pkts, (uint16_t)max);
}

/* Let the handoff rings settle, then take what port p sent, from every worker. */
static unsigned int
collect(uint16_t p, struct rte_mbuf **pkts, unsigned int max)
{
	unsigned int n = 0, k;

	for (int round = 0; round < 4; round++)
		for (unsigned int wk = 0; wk < t_dp.n_workers; wk++)
			eph_nat_handoff_drain(t_dp.workers[wk]);
	for (unsigned int wk = 0; wk < t_dp.n_workers; wk++)
		while (n < max && (k = sent_by(wk, p, pkts + n, max - n)) > 0)
			n += k;
	return n;
}

/* Forget every datagram (their held fragments freed, not counted): each test starts clean. */
static void
frag_reset(void)
{
	for (unsigned int wk = 0; wk < t_dp.n_workers; wk++) {
		struct eph_frag_table *t = t_dp.workers[wk]->nat.frag;

		eph_frag_expire(t, rte_rdtsc() + 1000 * t->p.timeout_tsc, UINT32_MAX);
		assert_int_equal(t->n_dgrams, 0);
		assert_int_equal(t->n_held, 0);
		assert_int_equal(t->held_bytes, 0);
	}
}

static void
drain_all(void)
{
	struct rte_mbuf *pkts[MAX_FRAGS];
	unsigned int n;

	frag_reset();
	for (uint16_t p = 0; p < t_dp.n_ports; p++)
		while ((n = collect(p, pkts, RTE_DIM(pkts))) > 0)
			rte_pktmbuf_free_bulk(pkts, n);
	t_drain();
}

/*
 * The datagram the fragments pkts[0..n) make, checked on the way: one
 * datagram (same addresses, id, protocol), every header checksum right,
 * no byte twice, none missing. Frees the fragments.
 */
static void
reassemble(struct rte_mbuf **pkts, unsigned int n, struct dgram *out)
{
	static uint8_t seen[65536];
	const struct rte_ipv4_hdr *first = NULL;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)out->b;
	uint32_t total = 0;

	assert_true(n > 0);
	memset(seen, 0, sizeof(seen));
	for (unsigned int i = 0; i < n; i++) {
		const struct rte_ipv4_hdr *f = t_ip(pkts[i]);
		uint32_t off = eph_frag_offset(f);
		uint32_t len = rte_be_to_cpu_16(f->total_length) - IP_LEN;

		assert_int_equal(rte_raw_cksum(f, IP_LEN), 0xffff);
		if (i > 0) {
			const struct rte_ipv4_hdr *g = t_ip(pkts[0]);

			assert_int_equal(f->src_addr, g->src_addr);
			assert_int_equal(f->dst_addr, g->dst_addr);
			assert_int_equal(f->packet_id, g->packet_id);
			assert_int_equal(f->next_proto_id, g->next_proto_id);
		}
		for (uint32_t b = off; b < off + len; b++) {
			assert_int_equal(seen[b], 0);
			seen[b] = 1;
		}
		memcpy(out->b + IP_LEN + off, f + 1, len);
		if (off == 0)
			first = f;
		if (!(f->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG)))
			total = off + len;
	}
	assert_non_null(first);
	assert_true(total != 0);
	for (uint32_t b = 0; b < total; b++)
		assert_int_equal(seen[b], 1);
	memcpy(ip, first, IP_LEN);
	ip->total_length = rte_cpu_to_be_16((uint16_t)(IP_LEN + total));
	ip->fragment_offset = 0;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	out->len = IP_LEN + total;
	rte_pktmbuf_free_bulk(pkts, n);
}

/*
 * got is sent translated: the source (in -> out) or destination (out -> in)
 * address new_addr, the port changed on that side (returned, host order),
 * every other byte as sent, and the L4 checksum right over the whole
 * datagram by full recompute.
 */
static uint16_t
assert_translated(const struct dgram *sent, const struct dgram *got, bool src_side,
		  uint32_t new_addr)
{
	const struct rte_ipv4_hdr *s = (const struct rte_ipv4_hdr *)sent->b;
	const struct rte_ipv4_hdr *g = (const struct rte_ipv4_hdr *)got->b;
	const uint8_t *sl4 = (const uint8_t *)(s + 1), *gl4 = (const uint8_t *)(g + 1);
	uint16_t hdr = l4_hdr_len(s->next_proto_id), port;
	uint32_t l4_len = sent->len - IP_LEN;

	assert_int_equal(got->len, sent->len);
	assert_int_equal(g->packet_id, s->packet_id);
	assert_int_equal(g->next_proto_id, s->next_proto_id);
	assert_int_equal(g->time_to_live, s->time_to_live - 1);
	if (src_side) {
		assert_int_equal(g->src_addr, rte_cpu_to_be_32(new_addr));
		assert_int_equal(g->dst_addr, s->dst_addr);
	} else {
		assert_int_equal(g->src_addr, s->src_addr);
		assert_int_equal(g->dst_addr, rte_cpu_to_be_32(new_addr));
	}
	/* The payload byte for byte. */
	assert_memory_equal(gl4 + hdr, sl4 + hdr, l4_len - hdr);
	if (s->next_proto_id == IPPROTO_ICMP) {
		const struct rte_icmp_hdr *si = (const void *)sl4, *gi = (const void *)gl4;

		assert_int_equal(gi->icmp_type, si->icmp_type);
		assert_int_equal(gi->icmp_seq_nb, si->icmp_seq_nb);
		assert_int_equal(rte_raw_cksum(gl4, l4_len), 0xffff);
		port = rte_be_to_cpu_16(gi->icmp_ident);
	} else {
		uint16_t keep_off = src_side ? 2 : 0, port_off = src_side ? 0 : 2;

		assert_memory_equal(gl4 + keep_off, sl4 + keep_off, 2);
		memcpy(&port, gl4 + port_off, 2);
		port = rte_be_to_cpu_16(port);
		assert_int_equal(rte_ipv4_udptcp_cksum_verify(g, gl4), 0);
		if (s->next_proto_id == IPPROTO_TCP)
			assert_memory_equal(gl4 + 4, sl4 + 4,
					    12); /* seq, ack, offset, flags, window */
	}
	return port;
}

static unsigned int
host_owner(uint32_t host)
{
	return eph_nat_host_owner(&t_dp.nat, rte_cpu_to_be_32(host), t_dp.n_workers);
}

/* A worker that does not own host's sessions. */
static unsigned int
other_worker(uint32_t host)
{
	return (host_owner(host) + 1) % t_dp.n_workers;
}

/* Fragments f[order[i]] to worker wk, one burst each. */
static void
send_to(unsigned int wk, uint16_t port, struct rte_mbuf **f, const unsigned int *order,
	unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct rte_mbuf *m = f[order != NULL ? order[i] : i];

		eph_input_burst(t_dp.workers[wk], port, &m, 1);
	}
}

static uint64_t
nat_ctr(enum eph_nat_counter c)
{
	uint64_t sum = 0;

	for (unsigned int wk = 0; wk < t_dp.n_workers; wk++)
		sum += t_dp.workers[wk]->nat.ctr[c];
	return sum;
}

static uint32_t
dgrams_tracked(void)
{
	uint32_t n = 0;

	for (unsigned int wk = 0; wk < t_dp.n_workers; wk++)
		n += t_dp.workers[wk]->nat.frag->n_dgrams;
	return n;
}

static uint32_t
held(void)
{
	uint32_t n = 0;

	for (unsigned int wk = 0; wk < t_dp.n_workers; wk++)
		n += t_dp.workers[wk]->nat.frag->n_held;
	return n;
}

/*
 * One datagram of proto from host out through the NAT on worker wk, in the
 * given order (NULL: in order), then the server's answer of reply_len
 * bytes back to the outside address and port it saw, on worker wk_back.
 * Both arrive whole and translated.
 */
static void
round_trip(uint8_t proto, uint32_t host, uint16_t sport, uint32_t size, uint32_t chunk,
	   unsigned int wk, const unsigned int *order, unsigned int wk_back, uint32_t reply_len)
{
	static struct dgram d, got;
	struct rte_mbuf *f[MAX_FRAGS], *out[MAX_FRAGS];
	unsigned int n, k;
	uint16_t out_port;

	drain_all();
	dgram_build(&d, proto, host, T_SERVER, sport, 4000, size, RTE_IP_ICMP_ECHO_REQUEST);
	n = cut(&d, IN, &t_host_mac, chunk, f);
	send_to(wk, IN, f, order, n);
	k = collect(OUT, out, RTE_DIM(out));
	assert_int_equal(k, n);
	reassemble(out, k, &got);
	out_port = assert_translated(&d, &got, true, POOL_A);
	assert_true(out_port >= 20000 && out_port <= 20999);

	/* The reply, to the address and port the server saw. */
	dgram_build(&d, proto, T_SERVER, POOL_A, 4000, out_port, reply_len, RTE_IP_ICMP_ECHO_REPLY);
	if (proto == IPPROTO_ICMP) {
		struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(d.b + IP_LEN);

		/* An echo reply carries the identifier back unchanged; its sequence ours. */
		icmp->icmp_ident = rte_cpu_to_be_16(out_port);
		icmp->icmp_seq_nb = RTE_BE16(4000);
		icmp->icmp_cksum = 0;
		icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, d.len - IP_LEN);
	}
	if (proto == IPPROTO_TCP) {
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(d.b + IP_LEN);

		t->tcp_flags = RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG;
		t->recv_ack = rte_cpu_to_be_32(1001 + size);
		t->cksum = 0;
		t->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)d.b, t);
	}
	n = cut(&d, OUT, &t_server_mac, chunk, f);
	send_to(wk_back, OUT, f, order != NULL && n > 2 ? order : NULL, n);
	k = collect(IN, out, RTE_DIM(out));
	assert_int_equal(k, n);
	reassemble(out, k, &got);
	assert_int_equal(assert_translated(&d, &got, false, host), sport);
	assert_int_equal(held(), 0);
}

/* ---- tests --------------------------------------------------------------- */

static void
test_udp_in_order_both_ways(void **state)
{
	uint64_t tr = nat_ctr(EPH_NAT_frag_translated);
	uint32_t host = T_IPV4(192, 0, 2, 11);

	(void)state;
	/* 4000 bytes in 1480-byte fragments: 3 each way, on the session's own worker. */
	round_trip(IPPROTO_UDP, host, 5001, 4000, 1480, host_owner(host), NULL, 0, 4000);
	assert_int_equal(nat_ctr(EPH_NAT_frag_translated) - tr, 4);
	/* The reply to the other worker too: its first goes to the port's owner, the rest follow.
	 */
	round_trip(IPPROTO_UDP, host, 5002, 4000, 1480, host_owner(host), NULL, 1, 4000);
	round_trip(IPPROTO_UDP, host, 5003, 4000, 1480, host_owner(host), NULL, 0, 4000);
}

static void
test_udp_other_worker(void **state)
{
	uint32_t host = T_IPV4(192, 0, 2, 12);
	uint64_t steered = nat_ctr(EPH_NAT_frag_steered);

	(void)state;
	/* Every fragment lands on the worker that does not own the host. */
	round_trip(IPPROTO_UDP, host, 5101, 4000, 1480, other_worker(host), NULL, 0, 4000);
	round_trip(IPPROTO_UDP, host, 5102, 4000, 1480, other_worker(host), NULL, 1, 4000);
	/* Received by the last worker both ways (with three: neither end's owner, maybe). */
	round_trip(IPPROTO_UDP, host, 5103, 4000, 1480, t_dp.n_workers - 1, NULL,
		   t_dp.n_workers - 1, 4000);
	round_trip(IPPROTO_UDP, host, 5104, 60000, 1480, (host_owner(host) + 2) % t_dp.n_workers,
		   NULL, t_dp.n_workers - 1, 60000);
	assert_true(nat_ctr(EPH_NAT_frag_steered) - steered >= 4);
}

static void
test_large_datagram(void **state)
{
	uint32_t host = T_IPV4(192, 0, 2, 13);

	(void)state;
	/* 60000 bytes: 41 fragments each way, on either worker. */
	round_trip(IPPROTO_UDP, host, 5201, 60000, 1480, host_owner(host), NULL, 1, 60000);
	round_trip(IPPROTO_UDP, host, 5202, 60000, 1480, other_worker(host), NULL, 0, 60000);
}

static void
test_out_of_order(void **state)
{
	static const unsigned int last_first[] = {2, 1, 0};
	static const unsigned int middle_first[] = {1, 2, 0};
	uint32_t host = T_IPV4(192, 0, 2, 14);
	uint64_t held_before = nat_ctr(EPH_NAT_frag_held);

	(void)state;
	/* Later fragments first: held until the first, then sent. */
	round_trip(IPPROTO_UDP, host, 5301, 4000, 1480, host_owner(host), last_first, 0, 4000);
	round_trip(IPPROTO_UDP, host, 5302, 4000, 1480, other_worker(host), middle_first, 1, 4000);
	round_trip(IPPROTO_UDP, host, 5303, 4000, 1480, other_worker(host), last_first, 0, 4000);
	assert_true(nat_ctr(EPH_NAT_frag_held) - held_before >= 8);
	assert_int_equal(held(), 0);
}

static void
test_icmp_echo(void **state)
{
	static const unsigned int last_first[] = {2, 1, 0};
	uint32_t host = T_IPV4(192, 0, 2, 15);

	(void)state;
	/* ping -s 4000: 4008 bytes of ICMP in three fragments each way. */
	round_trip(IPPROTO_ICMP, host, 0x77, 4000, 1480, host_owner(host), NULL, 0, 4000);
	round_trip(IPPROTO_ICMP, host, 0x78, 4000, 1480, other_worker(host), last_first, 1, 4000);
}

static void
test_icmp_payload_like_an_error(void **state)
{
	static struct dgram d, got;
	struct rte_mbuf *f[MAX_FRAGS], *out[MAX_FRAGS];
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(d.b + IP_LEN);
	uint32_t host = T_IPV4(192, 0, 2, 22);
	unsigned int n, k;

	(void)state;
	drain_all();
	/* A later fragment whose first bytes read as an ICMP error quoting a NAT'd host. */
	dgram_build(&d, IPPROTO_ICMP, host, T_SERVER, 0x99, 1, 3000, RTE_IP_ICMP_ECHO_REQUEST);
	d.b[IP_LEN + 1480] = 3;                       /* destination unreachable */
	memcpy(d.b + IP_LEN + 1480 + 8, d.b, IP_LEN); /* "quoting" the datagram itself */
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, d.len - IP_LEN);
	n = cut(&d, IN, &t_host_mac, 1480, f);
	send_to(other_worker(host), IN, f, NULL, n);
	k = collect(OUT, out, RTE_DIM(out));
	assert_int_equal(k, n);
	reassemble(out, k, &got);
	assert_translated(&d, &got, true, POOL_A);
}

static void
test_tcp_syn_with_data(void **state)
{
	uint32_t host = T_IPV4(192, 0, 2, 16);

	(void)state;
	/* A SYN carrying 3000 bytes (TCP Fast Open size), cut in 1480-byte fragments. */
	round_trip(IPPROTO_TCP, host, 5401, 3000, 1480, host_owner(host), NULL, 1, 2000);
}

/* Drops of reason why since before[], over every reason: exactly the expected one. */
static void
assert_only_drop(const uint64_t *before, enum eph_drop_reason why, uint64_t count)
{
	for (int r = 0; r < EPH_DROP_MAX; r++)
		assert_int_equal(t_drops((enum eph_drop_reason)r) - before[r],
				 r == (int)why ? count : 0);
}

static void
snapshot_drops(uint64_t *before)
{
	for (int r = 0; r < EPH_DROP_MAX; r++)
		before[r] = t_drops((enum eph_drop_reason)r);
}

static void
test_duplicates(void **state)
{
	static struct dgram d, got;
	struct rte_mbuf *f[MAX_FRAGS], *out[MAX_FRAGS];
	uint64_t before[EPH_DROP_MAX];
	uint32_t host = T_IPV4(192, 0, 2, 17);
	unsigned int wk = host_owner(host), n, k;

	(void)state;
	drain_all();
	snapshot_drops(before);
	dgram_build(&d, IPPROTO_UDP, host, T_SERVER, 5501, 53, 4000, 0);
	n = cut(&d, IN, &t_host_mac, 1480, f);
	/* The middle one twice before the first (held, then its copy dropped), the first twice. */
	send_to(wk, IN, &f[1], NULL, 1);
	send_to(wk, IN, (struct rte_mbuf *[]){frag_of(&d, IN, &t_host_mac, 1480, 1480, true)}, NULL,
		1);
	send_to(wk, IN, &f[0], NULL, 1);
	send_to(wk, IN, (struct rte_mbuf *[]){frag_of(&d, IN, &t_host_mac, 0, 1480, true)}, NULL,
		1);
	send_to(wk, IN, &f[2], NULL, 1);
	k = collect(OUT, out, RTE_DIM(out));
	assert_int_equal(k, n);
	reassemble(out, k, &got);
	assert_translated(&d, &got, true, POOL_A);
	assert_only_drop(before, EPH_DROP_frag_duplicate, 2);
	assert_int_equal(held(), 0);
}

static void
test_overlaps_and_malformed(void **state)
{
	static struct dgram d, got;
	struct rte_mbuf *out[MAX_FRAGS];
	uint64_t before[EPH_DROP_MAX];
	uint32_t host = T_IPV4(192, 0, 2, 18);
	unsigned int wk = host_owner(host), k;
	struct rte_mbuf *m;

	(void)state;
	drain_all();
	dgram_build(&d, IPPROTO_UDP, host, T_SERVER, 5601, 53, 2500, 0);

	/* Overlap into the first fragment's bytes (offset 8 of UDP: the payload's start). */
	snapshot_drops(before);
	send_to(wk, IN, (struct rte_mbuf *[]){frag_of(&d, IN, &t_host_mac, 0, 1480, true)}, NULL,
		1);
	send_to(wk, IN, (struct rte_mbuf *[]){frag_of(&d, IN, &t_host_mac, 1472, 16, true)}, NULL,
		1);
	assert_only_drop(before, EPH_DROP_frag_overlap, 1);
	/* The rest as it should be: the receiver gets the datagram whole, nothing twice. */
	send_to(wk, IN, (struct rte_mbuf *[]){frag_of(&d, IN, &t_host_mac, 1480, 1028, false)},
		NULL, 1);
	k = collect(OUT, out, RTE_DIM(out));
	assert_int_equal(k, 2);
	reassemble(out, k, &got);
	assert_translated(&d, &got, true, POOL_A);
	/* A second last fragment ending elsewhere. */
	snapshot_drops(before);
	dgram_build(&d, IPPROTO_UDP, host, T_SERVER, 5601, 53, 4000, 0);
	send_to(wk, IN, (struct rte_mbuf *[]){frag_of(&d, IN, &t_host_mac, 2960, 1048, false)},
		NULL, 1);
	send_to(wk, IN, (struct rte_mbuf *[]){frag_of(&d, IN, &t_host_mac, 1480, 1000, false)},
		NULL, 1);
	assert_only_drop(before, EPH_DROP_frag_overlap, 1);

	/* A tiny first fragment: 8 bytes of a TCP header (RFC 1858); its others go with it. */
	snapshot_drops(before);
	dgram_build(&d, IPPROTO_TCP, host, T_SERVER, 5602, 80, 2000, 0);
	send_to(wk, IN, (struct rte_mbuf *[]){frag_of(&d, IN, &t_host_mac, 1000, 1020, false)},
		NULL, 1);
	send_to(wk, IN, (struct rte_mbuf *[]){frag_of(&d, IN, &t_host_mac, 0, 8, true)}, NULL, 1);
	send_to(wk, IN, (struct rte_mbuf *[]){frag_of(&d, IN, &t_host_mac, 16, 984, true)}, NULL,
		1);
	assert_only_drop(before, EPH_DROP_frag_tiny, 3);
	/* A TCP fragment at offset 8 (could rewrite the flags). */
	snapshot_drops(before);
	dgram_build(&d, IPPROTO_TCP, host, T_SERVER, 5603, 80, 2000, 0);
	send_to(wk, IN, (struct rte_mbuf *[]){frag_of(&d, IN, &t_host_mac, 8, 800, true)}, NULL, 1);
	assert_only_drop(before, EPH_DROP_frag_tiny, 1);
	/* Past 65535 bytes. */
	snapshot_drops(before);
	dgram_build(&d, IPPROTO_UDP, host, T_SERVER, 5604, 53, 4000, 0);
	m = frag_of(&d, IN, &t_host_mac, 0, 1000, false);
	t_ip(m)->fragment_offset = rte_cpu_to_be_16(65000 / 8);
	t_ip(m)->hdr_checksum = 0;
	t_ip(m)->hdr_checksum = rte_ipv4_cksum(t_ip(m));
	send_to(wk, IN, &m, NULL, 1);
	assert_only_drop(before, EPH_DROP_frag_too_long, 1);
	/* 65520 bytes of payload and a header: 65540, past what total_length says. */
	snapshot_drops(before);
	m = frag_of(&d, IN, &t_host_mac, 0, 520, false);
	t_ip(m)->fragment_offset = rte_cpu_to_be_16(65000 / 8);
	t_ip(m)->hdr_checksum = 0;
	t_ip(m)->hdr_checksum = rte_ipv4_cksum(t_ip(m));
	send_to(wk, IN, &m, NULL, 1);
	assert_only_drop(before, EPH_DROP_frag_too_long, 1);
	/* More to follow, but a payload that is no multiple of 8. */
	snapshot_drops(before);
	send_to(wk, IN, (struct rte_mbuf *[]){frag_of(&d, IN, &t_host_mac, 800, 100, true)}, NULL,
		1);
	assert_only_drop(before, EPH_DROP_frag_malformed, 1);
	drain_all();
	assert_int_equal(collect(OUT, out, RTE_DIM(out)), 0);
}

static void
test_routed_fragments_forwarded(void **state)
{
	static struct dgram d, got;
	struct rte_mbuf *f[MAX_FRAGS], *out[MAX_FRAGS];
	unsigned int n, k;

	(void)state;
	drain_all();
	/* A host in no pool: its fragments are routed as they are (TTL, checksum). */
	dgram_build(&d, IPPROTO_UDP, ROUTED_HOST, T_SERVER, 5701, 53, 3000, 0);
	n = cut(&d, IN, &t_host_mac, 1480, f);
	send_to(1, IN, f, (const unsigned int[]){2, 0, 1}, n);
	k = collect(OUT, out, RTE_DIM(out));
	assert_int_equal(k, n);
	reassemble(out, k, &got);
	assert_int_equal(got.len, d.len);
	assert_memory_equal(got.b + IP_LEN, d.b + IP_LEN, d.len - IP_LEN);
	assert_int_equal(((struct rte_ipv4_hdr *)got.b)->src_addr, rte_cpu_to_be_32(ROUTED_HOST));
}

static void
test_datagram_limit(void **state)
{
	static struct dgram d;
	uint64_t before[EPH_DROP_MAX];
	unsigned int wk = 0;
	uint32_t host = T_IPV4(192, 0, 2, 19);

	(void)state;
	drain_all();
	snapshot_drops(before);
	/* Later fragments of more datagrams than the table holds, on one worker. */
	for (unsigned int i = 0; i < DGRAMS_MAX + 3; i++) {
		dgram_build(&d, IPPROTO_UDP, host, T_SERVER, 5801, 53, 2000, 0);
		send_to(wk, IN,
			(struct rte_mbuf *[]){frag_of(&d, IN, &t_host_mac, 1480, 528, false)}, NULL,
			1);
	}
	/* HELD_MAX held, the rest over the held limit, then over the datagrams. */
	assert_int_equal(t_drops(EPH_DROP_frag_held_full) - before[EPH_DROP_frag_held_full],
			 DGRAMS_MAX - HELD_MAX);
	assert_int_equal(t_drops(EPH_DROP_frag_table_full) - before[EPH_DROP_frag_table_full], 3);
	assert_int_equal(t_dp.workers[wk]->nat.frag->n_held, HELD_MAX);
	assert_int_equal(t_dp.workers[wk]->nat.frag->n_dgrams, DGRAMS_MAX);
}

static void
test_held_bytes_limit(void **state)
{
	static struct dgram d;
	struct eph_frag_table *t = t_dp.workers[1]->nat.frag;
	uint64_t before[EPH_DROP_MAX];
	uint64_t saved = t->p.max_held_bytes;
	uint32_t host = T_IPV4(192, 0, 2, 20);

	(void)state;
	drain_all();
	snapshot_drops(before);
	/* Room for two 1514-byte frames of held fragments. */
	t->p.max_held_bytes = 2 * 1514 + 100;
	for (unsigned int i = 0; i < 3; i++) {
		dgram_build(&d, IPPROTO_UDP, host, T_SERVER, 5901, 53, 4000, 0);
		send_to(1, IN,
			(struct rte_mbuf *[]){frag_of(&d, IN, &t_host_mac, 1480, 1480, true)}, NULL,
			1);
	}
	t->p.max_held_bytes = saved;
	assert_only_drop(before, EPH_DROP_frag_held_full, 1);
	assert_int_equal(t->n_held, 2);
	assert_true(t->held_bytes <= 2 * 1514 + 100);
}

/* Last: it moves the workers' clocks far ahead. */
static void
test_timeout(void **state)
{
	static struct dgram d;
	uint64_t before[EPH_DROP_MAX];
	uint64_t later;
	uint32_t host = T_IPV4(192, 0, 2, 21);

	(void)state;
	drain_all();
	snapshot_drops(before);
	/* Later fragments of five datagrams whose first never comes, on both workers. */
	for (unsigned int i = 0; i < 5; i++) {
		dgram_build(&d, IPPROTO_UDP, host, T_SERVER, 6001, 53, 4000, 0);
		send_to(i % t_dp.n_workers, IN,
			(struct rte_mbuf *[]){frag_of(&d, IN, &t_host_mac, 2960, 1048, false)},
			NULL, 1);
	}
	assert_int_equal(held(), 5);
	assert_int_equal(dgrams_tracked(), 5);
	later = rte_rdtsc() + rte_get_tsc_hz() * TIMEOUT_MS / 1000 * 3;
	/* Nothing is due yet at the time they were held. */
	for (unsigned int wk = 0; wk < t_dp.n_workers; wk++)
		eph_worker_polls_run(t_dp.workers[wk], t_dp.workers[wk]->nat.frag->d[0].expire_tsc -
							       rte_get_tsc_hz());
	assert_int_equal(held(), 5);
	for (unsigned int round = 0; round < 8; round++)
		for (unsigned int wk = 0; wk < t_dp.n_workers; wk++)
			eph_worker_polls_run(t_dp.workers[wk], later);
	assert_only_drop(before, EPH_DROP_frag_timeout, 5);
	assert_int_equal(collect(IN, (struct rte_mbuf *[8]){NULL}, 8), 0);
	assert_int_equal(collect(OUT, (struct rte_mbuf *[8]){NULL}, 8), 0);
	assert_int_equal(held(), 0);
	assert_int_equal(dgrams_tracked(), 0);
	drain_all();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_in_order_both_ways),
		cmocka_unit_test(test_udp_other_worker),
		cmocka_unit_test(test_large_datagram),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_icmp_echo),
		cmocka_unit_test(test_icmp_payload_like_an_error),
		cmocka_unit_test(test_tcp_syn_with_data),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_overlaps_and_malformed),
		cmocka_unit_test(test_routed_fragments_forwarded),
		cmocka_unit_test(test_datagram_limit),
		cmocka_unit_test(test_held_bytes_limit),
		cmocka_unit_test(test_timeout),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

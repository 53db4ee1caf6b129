/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SNAT44 through the worker's packet path on net_ring ports: what leaves
 * each port is checked byte by byte (addresses, ports, checksums by full
 * recompute), sessions and ports are checked through the counters, and
 * time is the worker's own session clock, driven by the test.
 */
#include <string.h>

#include <rte_icmp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/ports/portalloc.h"
#include "dataplane/flow/session.h"
#include "dataplane/flow/tcp_state.h"
#include "tests/unit/harness.h"

#define IN      0
#define OUT     1
#define ETH_LEN ((uint16_t)sizeof(struct rte_ether_hdr))
#define IP_LEN  ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define POOL_A  T_IPV4(203, 0, 113, 100)
#define POOL_B  T_IPV4(203, 0, 113, 101)
#define PORT_LO 20000
#define PORT_HI 20015 /* 16 ports: the exhaustion test fills them */

static struct eph_worker *w;
#define EIM_HOST T_IPV4(192, 0, 2, 200)
#define EIM_HOST2 T_IPV4(192, 0, 2, 201)

static uint32_t pool_addrs[] = { POOL_A };
static uint32_t eim_addrs[] = { POOL_B };
static struct eph_conf_prefix pool_inside[] = { { T_IPV4(192, 0, 2, 0), 25 } };
static struct eph_conf_prefix eim_inside[] = { { T_IPV4(192, 0, 2, 128), 25 } };

static void
with_pool(struct eph_conf *conf)
{
	struct eph_conf_pool *p = &conf->pools[0];

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "test");
	p->addrs = pool_addrs;
	p->n_addrs = 1;
	p->port_lo = PORT_LO;
	p->port_hi = PORT_HI;
	p->inside = pool_inside;
	p->n_inside = 1;
	p->quarantine_s = 2;
	p->max_inbound_per_mapping = 256;

	/* Hosts of 192.0.2.128/25: endpoint-independent mapping and filtering. */
	conf->pools[1] = *p;
	p = &conf->pools[1];
	snprintf(p->name, sizeof(p->name), "eim");
	p->addrs = eim_addrs;
	p->inside = eim_inside;
	p->mapping = EPH_MAPPING_ENDPOINT_INDEPENDENT;
	p->filtering = EPH_FILTERING_ENDPOINT_INDEPENDENT;
	p->hairpinning = true; /* the first pool's is off */
	conf->n_pools = 2;
	conf->timeouts.udp = 5;
	conf->timeouts.tcp_transitory = 10;
	conf->timeouts.tcp_established = 100;
	conf->timeouts.icmp = 3;
	conf->nat.sessions_per_worker = 4096;
	conf->nat.destinations_per_worker = 1024;
	conf->nat.handoff_ring = 256;
}

static int
setup(void **state)
{
	(void)state;
	t_start_with("unit-nat", with_pool);
	w = t_dp.workers[0];
	t_neigh_add(OUT, T_SERVER, &t_server_mac);
	t_neigh_add(IN, T_HOST, &t_host_mac);
	t_neigh_add(IN, T_IPV4(192, 0, 2, 12), &t_host_mac);
	t_neigh_add(IN, EIM_HOST, &t_host_mac);
	t_neigh_add(IN, EIM_HOST2, &t_host_mac);
	t_neigh_add(OUT, T_IPV4(203, 0, 113, 20), &t_server_mac);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	t_conf.n_pools = 0; /* the pool's arrays are static */
	t_stop();
	return 0;
}

/* Advance the session clock by ticks and run the worker's timers. */
static uint64_t clock_tsc;

static void
advance(uint32_t ticks)
{
	if (clock_tsc == 0)
		clock_tsc = t_dp.nat.start_tsc;
	clock_tsc += (uint64_t)ticks * t_dp.nat.tick_tsc;
	for (int i = 0; i < 64; i++)
		eph_nat_timers(w, clock_tsc);
}

/* Expire everything: each test starts with no session. */
static int
fresh(void **state)
{
	(void)state;
	t_drain();
	advance(400 * EPH_NAT_TICK_HZ);
	assert_int_equal(eph_session_count(w->nat.sessions), 0);
	return 0;
}

static struct rte_mbuf *
l4_packet(uint16_t port, const struct rte_ether_addr *mac, uint32_t src, uint32_t dst,
	  uint8_t proto, uint16_t sport, uint16_t dport, uint8_t tcp_flags)
{
	return t_l4_packet(port, mac, src, dst, proto, sport, dport, tcp_flags, 0, 0);
}

static void
input(uint16_t port, struct rte_mbuf *m)
{
	eph_input_burst(w, port, &m, 1);
}

static void
test_udp_round_trip(void **state)
{
	struct rte_mbuf *m;
	uint16_t out_port;

	(void)state;
	input(IN, l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_UDP, 5555, 53, 0));
	m = t_one_out(OUT);
	assert_int_equal(t_ip(m)->src_addr, rte_cpu_to_be_32(POOL_A));
	assert_int_equal(t_ip(m)->dst_addr, rte_cpu_to_be_32(T_SERVER));
	out_port = t_l4_port(m, 0);
	assert_in_range(out_port, PORT_LO, PORT_HI);
	assert_int_equal(t_l4_port(m, 2), 53);
	assert_int_equal(t_ip(m)->time_to_live, 63);
	rte_pktmbuf_free(m);

	/* The answer comes back to the pool address and reaches the host's port. */
	input(OUT, l4_packet(OUT, &t_server_mac, T_SERVER, POOL_A, IPPROTO_UDP, 53, out_port, 0));
	m = t_one_out(IN);
	assert_int_equal(t_ip(m)->src_addr, rte_cpu_to_be_32(T_SERVER));
	assert_int_equal(t_ip(m)->dst_addr, rte_cpu_to_be_32(T_HOST));
	assert_int_equal(t_l4_port(m, 0), 53);
	assert_int_equal(t_l4_port(m, 2), 5555);
	rte_pktmbuf_free(m);

	/* The same flow again uses the same session and port. */
	input(IN, l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_UDP, 5555, 53, 0));
	m = t_one_out(OUT);
	assert_int_equal(t_l4_port(m, 0), out_port);
	rte_pktmbuf_free(m);
	assert_int_equal(eph_session_count(w->nat.sessions), 1);
}

static void
test_unsolicited_dropped(void **state)
{
	struct rte_mbuf *out[4];
	uint64_t before = t_drops(EPH_DROP_nat_no_session);

	(void)state;
	/* To a pool address and port nobody asked for. */
	input(OUT, l4_packet(OUT, &t_server_mac, T_SERVER, POOL_A, IPPROTO_UDP, 53, PORT_LO, 0));
	/* Straight to an inside host: only reachable through its sessions. */
	input(OUT, l4_packet(OUT, &t_server_mac, T_SERVER, T_HOST, IPPROTO_TCP, 80, 5555,
			     RTE_TCP_SYN_FLAG));
	assert_int_equal(t_sent(IN, out, 4), 0);
	assert_int_equal(t_drops(EPH_DROP_nat_no_session), before + 2);
}

static void
test_tcp_needs_syn_and_closes(void **state)
{
	struct rte_mbuf *m, *out[4];
	uint16_t out_port;

	(void)state;
	/* A stray ACK gets no port. */
	input(IN, l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_TCP, 40000, 80,
			    RTE_TCP_ACK_FLAG));
	assert_int_equal(t_sent(OUT, out, 4), 0);
	assert_int_equal(t_drops(EPH_DROP_nat_tcp_not_syn), 1);

	input(IN, l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_TCP, 40000, 80,
			    RTE_TCP_SYN_FLAG));
	m = t_one_out(OUT);
	out_port = t_l4_port(m, 0);
	rte_pktmbuf_free(m);
	input(OUT, l4_packet(OUT, &t_server_mac, T_SERVER, POOL_A, IPPROTO_TCP, 80, out_port,
			     RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG));
	rte_pktmbuf_free(t_one_out(IN));
	input(IN, l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_TCP, 40000, 80,
			    RTE_TCP_ACK_FLAG));
	rte_pktmbuf_free(t_one_out(OUT));

	/* Established: the 10 s transitory timeout does not apply. */
	advance(20 * EPH_NAT_TICK_HZ);
	assert_int_equal(eph_session_count(w->nat.sessions), 1);

	/* Clean close, then the transitory timeout ends it and the port skips quarantine. */
	input(IN, l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_TCP, 40000, 80,
			    RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG));
	rte_pktmbuf_free(t_one_out(OUT));
	input(OUT, l4_packet(OUT, &t_server_mac, T_SERVER, POOL_A, IPPROTO_TCP, 80, out_port,
			     RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG));
	rte_pktmbuf_free(t_one_out(IN));
	input(IN, l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_TCP, 40000, 80,
			    RTE_TCP_ACK_FLAG));
	rte_pktmbuf_free(t_one_out(OUT));
	advance(11 * EPH_NAT_TICK_HZ);
	assert_int_equal(eph_session_count(w->nat.sessions), 0);
}

static void
test_icmp_echo(void **state)
{
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, T_HOST, T_SERVER, IPPROTO_ICMP, 64, 16);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);
	uint16_t ident;

	(void)state;
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_ident = RTE_BE16(777);
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, 16);
	input(IN, m);
	m = t_one_out(OUT);
	icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);
	assert_int_equal(t_ip(m)->src_addr, rte_cpu_to_be_32(POOL_A));
	ident = icmp->icmp_ident;
	assert_in_range(rte_be_to_cpu_16(ident), PORT_LO, PORT_HI);

	/* The reply: same identifier back, translated to the host's. */
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	t_ip(m)->dst_addr = t_ip(m)->src_addr;
	t_ip(m)->src_addr = rte_cpu_to_be_32(T_SERVER);
	t_ip(m)->hdr_checksum = 0;
	t_ip(m)->hdr_checksum = rte_ipv4_cksum(t_ip(m));
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, 16);
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr = t_dp.ports[OUT].mac;
	input(OUT, m);
	m = t_one_out(IN);
	icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);
	assert_int_equal(t_ip(m)->dst_addr, rte_cpu_to_be_32(T_HOST));
	assert_int_equal(icmp->icmp_ident, RTE_BE16(777));
	rte_pktmbuf_free(m);
}

/* A router's time-exceeded about our UDP flow reaches the host, inner packet translated. */
static void
test_icmp_error_translated(void **state)
{
	struct rte_mbuf *m, *err;
	uint8_t sent[IP_LEN + 8];
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *icmp;
	uint16_t out_port;

	(void)state;
	m = l4_packet(IN, &t_host_mac, T_HOST, T_REMOTE, IPPROTO_UDP, 6000, 33434, 0);
	memcpy(sent, t_ip(m), sizeof(sent));
	input(IN, m);
	m = t_one_out(OUT);
	out_port = t_l4_port(m, 0);

	err = t_ipv4_packet(&t_server_mac, OUT, T_SERVER, POOL_A, IPPROTO_ICMP, 64,
			    sizeof(*icmp) + IP_LEN + 8);
	icmp = (struct rte_icmp_hdr *)(t_ip(err) + 1);
	memset(icmp, 0, sizeof(*icmp));
	icmp->icmp_type = 11;
	memcpy(icmp + 1, t_ip(m), IP_LEN + 8);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, sizeof(*icmp) + IP_LEN + 8);
	rte_pktmbuf_free(m);
	input(OUT, err);

	m = t_one_out(IN);
	ip = t_ip(m);
	assert_int_equal(ip->dst_addr, rte_cpu_to_be_32(T_HOST));
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	/* The quote is what the host sent, but for the TTL the gateway took off. */
	{
		struct rte_ipv4_hdr *q = (struct rte_ipv4_hdr *)(icmp + 1);
		uint16_t qport;

		assert_int_equal(q->src_addr, rte_cpu_to_be_32(T_HOST));
		memcpy(&qport, q + 1, 2);
		assert_int_equal(rte_be_to_cpu_16(qport), 6000);
		assert_int_equal(rte_raw_cksum(q, IP_LEN), 0xffff);
		/* Ports, length and UDP checksum exactly as sent (TTL is not covered). */
		assert_memory_equal((uint8_t *)(q + 1), sent + IP_LEN, 8);
	}
	assert_int_not_equal(out_port, 6000);
	rte_pktmbuf_free(m);
}

static struct rte_mbuf *
echo_packet(uint16_t port, const struct rte_ether_addr *mac, uint32_t src, uint32_t dst,
	    uint8_t type, uint16_t ident, uint16_t payload_len)
{
	uint16_t len = (uint16_t)(sizeof(struct rte_icmp_hdr) + payload_len);
	struct rte_mbuf *m = t_ipv4_packet(mac, port, src, dst, IPPROTO_ICMP, 64, len);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);

	memset(icmp, 0, sizeof(*icmp));
	icmp->icmp_type = type;
	icmp->icmp_ident = rte_cpu_to_be_16(ident);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, len);
	return m;
}

/*
 * A translated echo reply that becomes all zeros (identifier 0, sequence
 * 0, no payload) sums to zero: its checksum must be 0xffff, not 0x0000.
 */
static void
test_icmp_echo_all_zero_checksum(void **state)
{
	struct rte_icmp_hdr *icmp;
	struct rte_mbuf *m;
	uint16_t ident;

	(void)state;
	input(IN, echo_packet(IN, &t_host_mac, T_HOST, T_SERVER, RTE_IP_ICMP_ECHO_REQUEST, 0, 0));
	m = t_one_out(OUT);
	ident = rte_be_to_cpu_16(((struct rte_icmp_hdr *)(t_ip(m) + 1))->icmp_ident);
	rte_pktmbuf_free(m);
	input(OUT, echo_packet(OUT, &t_server_mac, T_SERVER, POOL_A, RTE_IP_ICMP_ECHO_REPLY, ident,
			       0));
	m = t_one_out(IN); /* checks the full sum */
	icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);
	assert_int_equal(icmp->icmp_ident, 0);
	assert_int_equal(icmp->icmp_cksum, 0xffff);
	rte_pktmbuf_free(m);
}

/* An ICMP error quoting session traffic, from src to dst, its ICMP checksum spoilt if bad. */
static struct rte_mbuf *
icmp_error(uint16_t port, const struct rte_ether_addr *mac, uint32_t src, uint32_t dst,
	   const struct rte_ipv4_hdr *quoted, bool bad)
{
	uint16_t len = (uint16_t)(sizeof(struct rte_icmp_hdr) + IP_LEN + 8);
	struct rte_mbuf *m = t_ipv4_packet(mac, port, src, dst, IPPROTO_ICMP, 64, len);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);

	memset(icmp, 0, sizeof(*icmp));
	icmp->icmp_type = 3;
	icmp->icmp_code = 3; /* port unreachable */
	memcpy(icmp + 1, quoted, IP_LEN + 8);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, len);
	if (bad)
		icmp->icmp_cksum ^= RTE_BE16(0x0100);
	return m;
}

/*
 * Translation recomputes the ICMP checksum: a corrupted error must be
 * dropped and counted in both directions, never come out valid.
 */
static void
test_icmp_error_bad_checksum_dropped(void **state)
{
	uint64_t bad = t_drops(EPH_DROP_nat_icmp_bad_checksum);
	struct rte_mbuf *m, *out[4];
	uint8_t sent[IP_LEN + 8], back[IP_LEN + 8];
	uint16_t out_port;

	(void)state;
	m = l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_UDP, 6001, 53, 0);
	input(IN, m);
	m = t_one_out(OUT);
	out_port = t_l4_port(m, 0);
	memcpy(sent, t_ip(m), sizeof(sent));
	rte_pktmbuf_free(m);
	input(OUT, l4_packet(OUT, &t_server_mac, T_SERVER, POOL_A, IPPROTO_UDP, 53, out_port, 0));
	m = t_one_out(IN);
	memcpy(back, t_ip(m), sizeof(back));
	rte_pktmbuf_free(m);

	input(OUT, icmp_error(OUT, &t_server_mac, T_SERVER, POOL_A,
			      (const struct rte_ipv4_hdr *)sent, true));
	assert_int_equal(t_sent(IN, out, 4), 0);
	input(IN, icmp_error(IN, &t_host_mac, T_HOST, T_SERVER,
			     (const struct rte_ipv4_hdr *)back, true));
	assert_int_equal(t_sent(OUT, out, 4), 0);
	assert_int_equal(t_drops(EPH_DROP_nat_icmp_bad_checksum), bad + 2);

	/* The same errors intact pass, translated, with valid checksums. */
	input(OUT, icmp_error(OUT, &t_server_mac, T_SERVER, POOL_A,
			      (const struct rte_ipv4_hdr *)sent, false));
	m = t_one_out(IN);
	assert_int_equal(t_ip(m)->dst_addr, rte_cpu_to_be_32(T_HOST));
	rte_pktmbuf_free(m);
	input(IN, icmp_error(IN, &t_host_mac, T_HOST, T_SERVER,
			     (const struct rte_ipv4_hdr *)back, false));
	m = t_one_out(OUT);
	assert_int_equal(t_ip(m)->src_addr, rte_cpu_to_be_32(POOL_A));
	rte_pktmbuf_free(m);
}

/*
 * 16 ports for one destination: the 17th flow is refused (and counted),
 * flows to another destination still get ports, existing flows keep
 * working, and after the timeout plus quarantine the ports come back.
 */
static void
test_exhaustion_per_destination(void **state)
{
	uint16_t seen[16];
	struct rte_mbuf *m, *out[4];
	uint64_t refused = t_drops(EPH_DROP_nat_exhausted);

	(void)state;
	for (int i = 0; i < 16; i++) {
		input(IN, l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_UDP,
				    (uint16_t)(10000 + i), 9, 0));
		m = t_one_out(OUT);
		seen[i] = t_l4_port(m, 0);
		for (int k = 0; k < i; k++)
			assert_int_not_equal(seen[k], seen[i]);
		rte_pktmbuf_free(m);
	}
	input(IN, l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_UDP, 10016, 9, 0));
	assert_int_equal(t_sent(OUT, out, 4), 0);
	assert_int_equal(t_drops(EPH_DROP_nat_exhausted), refused + 1);
	assert_int_equal(w->nat.exhausted[0][0], 1);
	/* Counted for the destination and for the host. */
	{
		struct eph_nat_refusals r;
		uint64_t dest = 0, host = 0;

		eph_nat_refusals_read(&w->nat, &r);
		for (unsigned int i = 0; i < EPH_NAT_REFUSAL_SLOTS; i++) {
			if (r.dest[i].count != 0 && r.dest[i].out_addr == rte_cpu_to_be_32(POOL_A) &&
			    r.dest[i].remote_addr == rte_cpu_to_be_32(T_SERVER) &&
			    r.dest[i].remote_port == RTE_BE16(9) && r.dest[i].proto == IPPROTO_UDP)
				dest += r.dest[i].count;
			if (r.host[i].addr == rte_cpu_to_be_32(T_HOST))
				host += r.host[i].count[EPH_REFUSED_NO_PORT];
		}
		assert_int_equal(dest, 1);
		assert_int_equal(host, 1);
	}

	/* Another destination port: its own 16 ports. */
	input(IN, l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_UDP, 10016, 10, 0));
	rte_pktmbuf_free(t_one_out(OUT));
	/* An existing flow still passes both ways. */
	input(IN, l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_UDP, 10003, 9, 0));
	m = t_one_out(OUT);
	assert_int_equal(t_l4_port(m, 0), seen[3]);
	rte_pktmbuf_free(m);
	assert_int_equal(w->nat.ports_in_use[0][0], 17);

	/* 5 s UDP timeout: sessions go, ports rest 2 s, then come back. */
	advance(6 * EPH_NAT_TICK_HZ);
	assert_int_equal(eph_session_count(w->nat.sessions), 0);
	assert_int_equal(w->nat.ports_in_use[0][0], 0);
	input(IN, l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_UDP, 10016, 9, 0));
	assert_int_equal(t_sent(OUT, out, 4), 0); /* still resting */
	advance(3 * EPH_NAT_TICK_HZ);
	input(IN, l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_UDP, 10016, 9, 0));
	rte_pktmbuf_free(t_one_out(OUT));
}

static void
test_host_limit(void **state)
{
	struct rte_mbuf *out[4];

	(void)state;
	t_dp.cfg->nat.pools[0].max_per_host = 2;
	for (int i = 0; i < 3; i++)
		input(IN, l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_UDP,
				    (uint16_t)(12000 + i), 9, 0));
	assert_int_equal(t_sent(OUT, out, 4), 2);
	rte_pktmbuf_free_bulk(out, 2);
	assert_int_equal(t_drops(EPH_DROP_nat_host_limit), 1);
	{
		struct eph_nat_refusals r;
		uint64_t limited = 0;

		eph_nat_refusals_read(&w->nat, &r);
		for (unsigned int i = 0; i < EPH_NAT_REFUSAL_SLOTS; i++)
			if (r.host[i].addr == rte_cpu_to_be_32(T_HOST))
				limited += r.host[i].count[EPH_REFUSED_HOST_LIMIT];
		assert_int_equal(limited, 1);
	}
	/* Another host is not affected. */
	input(IN, l4_packet(IN, &t_host_mac, T_IPV4(192, 0, 2, 12), T_SERVER, IPPROTO_UDP, 12000,
			    9, 0));
	rte_pktmbuf_free(t_one_out(OUT));
	t_dp.cfg->nat.pools[0].max_per_host = 0;
}

/*
 * RFC 4787 REQ-1: one inside ip:port keeps one outside ip:port for every
 * destination; with endpoint-independent filtering a third party may send
 * to it, and the mapping lives as long as a session uses it.
 */
static void
test_endpoint_independent(void **state)
{
	uint32_t other = T_IPV4(203, 0, 113, 20), stranger = T_IPV4(203, 0, 113, 30);
	struct rte_mbuf *m;
	uint16_t p1, p2;

	(void)state;
	input(IN, l4_packet(IN, &t_host_mac, EIM_HOST, T_SERVER, IPPROTO_UDP, 3478, 3478, 0));
	m = t_one_out(OUT);
	assert_int_equal(t_ip(m)->src_addr, rte_cpu_to_be_32(POOL_B));
	p1 = t_l4_port(m, 0);
	rte_pktmbuf_free(m);
	input(IN, l4_packet(IN, &t_host_mac, EIM_HOST, other, IPPROTO_UDP, 3478, 9000, 0));
	m = t_one_out(OUT);
	p2 = t_l4_port(m, 0);
	rte_pktmbuf_free(m);
	assert_int_equal(p1, p2);
	assert_int_equal(eph_session_count(w->nat.mappings), 1);
	assert_int_equal(eph_session_count(w->nat.sessions), 2);
	assert_int_equal(w->nat.ports_in_use[1][0], 1);

	/* A stranger reaches the mapping: a third session, same port. */
	input(OUT, l4_packet(OUT, &t_server_mac, stranger, POOL_B, IPPROTO_UDP, 1234, p1, 0));
	m = t_one_out(IN);
	assert_int_equal(t_ip(m)->dst_addr, rte_cpu_to_be_32(EIM_HOST));
	assert_int_equal(t_l4_port(m, 2), 3478);
	rte_pktmbuf_free(m);
	assert_int_equal(eph_session_count(w->nat.sessions), 3);

	/* All sessions idle out: the mapping and its port go with the last one. */
	advance(6 * EPH_NAT_TICK_HZ);
	assert_int_equal(eph_session_count(w->nat.sessions), 0);
	assert_int_equal(eph_session_count(w->nat.mappings), 0);
	assert_int_equal(w->nat.ports_in_use[1][0], 0);
}

/* The outside port of EIM_HOST:sport's mapping (opened by a packet to the server). */
static uint16_t
eim_mapping(uint8_t proto, uint16_t sport)
{
	struct rte_mbuf *m;
	uint16_t port;

	input(IN, l4_packet(IN, &t_host_mac, EIM_HOST, T_SERVER, proto, sport, 80,
			    proto == IPPROTO_TCP ? RTE_TCP_SYN_FLAG : 0));
	m = t_one_out(OUT);
	port = t_l4_port(m, 0);
	rte_pktmbuf_free(m);
	return port;
}

/*
 * Endpoint-independent filtering lets strangers open sessions, but a TCP
 * one only with a SYN: bare ACKs (a scan, or spoofed traffic) open
 * nothing and pin nothing.
 */
static void
test_eim_inbound_tcp_needs_syn(void **state)
{
	uint64_t no_session = t_drops(EPH_DROP_nat_no_session);
	struct rte_mbuf *m, *out[4];
	uint16_t port;

	(void)state;
	port = eim_mapping(IPPROTO_TCP, 4000);
	assert_int_equal(eph_session_count(w->nat.sessions), 1);
	for (uint32_t i = 0; i < 100; i++)
		input(OUT, l4_packet(OUT, &t_server_mac, T_IPV4(203, 0, 113, 30 + i % 50), POOL_B,
				     IPPROTO_TCP, (uint16_t)(1000 + i), port,
				     i % 2 ? RTE_TCP_ACK_FLAG : RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG));
	assert_int_equal(t_sent(IN, out, 4), 0);
	assert_int_equal(eph_session_count(w->nat.sessions), 1);
	assert_int_equal(t_drops(EPH_DROP_nat_no_session), no_session + 100);

	/* A SYN does open one, delivered to the host's mapped port. */
	input(OUT, l4_packet(OUT, &t_server_mac, T_IPV4(203, 0, 113, 30), POOL_B, IPPROTO_TCP, 999,
			     port, RTE_TCP_SYN_FLAG));
	m = t_one_out(IN);
	assert_int_equal(t_ip(m)->dst_addr, rte_cpu_to_be_32(EIM_HOST));
	assert_int_equal(t_l4_port(m, 2), 4000);
	rte_pktmbuf_free(m);
	assert_int_equal(eph_session_count(w->nat.sessions), 2);
	assert_int_equal(w->nat.inbound, 1);
}

/*
 * Sessions opened from outside are bounded per mapping (the pool's
 * max-inbound-per-mapping) and per worker, the rest dropped and counted;
 * the bounds free up as those sessions end.
 */
static void
test_eim_inbound_limits(void **state)
{
	struct eph_nat_pool *p = &t_dp.cfg->nat.pools[1];
	uint32_t saved_map = p->max_inbound_per_mapping, saved_worker = w->nat.max_inbound;
	uint64_t limited = t_drops(EPH_DROP_nat_inbound_limit);
	struct rte_mbuf *out[8];
	uint16_t port, port2;

	(void)state;
	p->max_inbound_per_mapping = 3;
	port = eim_mapping(IPPROTO_UDP, 4001);
	for (uint32_t i = 0; i < 5; i++)
		input(OUT, l4_packet(OUT, &t_server_mac, T_IPV4(203, 0, 113, 40 + i), POOL_B,
				     IPPROTO_UDP, 7000, port, 0));
	assert_int_equal(t_sent(IN, out, 8), 3);
	rte_pktmbuf_free_bulk(out, 3);
	assert_int_equal(t_drops(EPH_DROP_nat_inbound_limit), limited + 2);
	assert_int_equal(eph_session_count(w->nat.sessions), 4);

	/* Per worker: 3 live already; a second mapping gets one more, then no more. */
	w->nat.max_inbound = 4;
	port2 = eim_mapping(IPPROTO_UDP, 4002);
	for (uint32_t i = 0; i < 2; i++)
		input(OUT, l4_packet(OUT, &t_server_mac, T_IPV4(203, 0, 113, 50 + i), POOL_B,
				     IPPROTO_UDP, 7000, port2, 0));
	assert_int_equal(t_sent(IN, out, 8), 1);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(t_drops(EPH_DROP_nat_inbound_limit), limited + 3);
	assert_int_equal(w->nat.inbound, 4);

	/* The sessions end: room again. */
	advance(6 * EPH_NAT_TICK_HZ);
	assert_int_equal(w->nat.inbound, 0);
	assert_int_equal(eph_session_count(w->nat.sessions), 0);
	port = eim_mapping(IPPROTO_UDP, 4001);
	input(OUT, l4_packet(OUT, &t_server_mac, T_IPV4(203, 0, 113, 44), POOL_B, IPPROTO_UDP,
			     7000, port, 0));
	rte_pktmbuf_free(t_one_out(IN));
	p->max_inbound_per_mapping = saved_map;
	w->nat.max_inbound = saved_worker;
}

/* A TCP segment with sequence numbers, payload_len bytes of data and, if wscale >= 0, that option. */
static struct rte_mbuf *
tcp_seg(uint16_t port, const struct rte_ether_addr *mac, uint32_t src, uint32_t dst,
	uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
	uint16_t payload_len, int wscale)
{
	uint16_t opt = wscale >= 0 ? 4 : 0;
	uint16_t len = (uint16_t)(sizeof(struct rte_tcp_hdr) + opt + payload_len);
	struct rte_mbuf *m = t_ipv4_packet(mac, port, src, dst, IPPROTO_TCP, 64, len);
	struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(t_ip(m) + 1);

	t->src_port = rte_cpu_to_be_16(sport);
	t->dst_port = rte_cpu_to_be_16(dport);
	t->sent_seq = rte_cpu_to_be_32(seq);
	t->recv_ack = rte_cpu_to_be_32(ack);
	t->data_off = (uint8_t)(((sizeof(*t) + opt) / 4) << 4);
	t->tcp_flags = flags;
	t->rx_win = RTE_BE16(65535);
	t->tcp_urp = 0;
	if (opt != 0) {
		uint8_t *o = (uint8_t *)(t + 1);

		o[0] = 1; /* NOP, then window scale */
		o[1] = 3;
		o[2] = 3;
		o[3] = (uint8_t)wscale;
	}
	t->cksum = 0;
	t->cksum = rte_ipv4_udptcp_cksum(t_ip(m), t);
	return m;
}

#define ISN_IN  1000000u
#define ISN_OUT 3000000000u

/* Host:sport opens a connection to the server's port 80 (both sides scale by 7); the outside port. */
static uint16_t
tcp_handshake(uint16_t sport)
{
	struct rte_mbuf *m;
	uint16_t port;

	input(IN, tcp_seg(IN, &t_host_mac, T_HOST, T_SERVER, sport, 80, RTE_TCP_SYN_FLAG, ISN_IN,
			  0, 0, 7));
	m = t_one_out(OUT);
	port = t_l4_port(m, 0);
	rte_pktmbuf_free(m);
	input(OUT, tcp_seg(OUT, &t_server_mac, T_SERVER, POOL_A, 80, port,
			   RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, ISN_OUT, ISN_IN + 1, 0, 7));
	rte_pktmbuf_free(t_one_out(IN));
	input(IN, tcp_seg(IN, &t_host_mac, T_HOST, T_SERVER, sport, 80, RTE_TCP_ACK_FLAG,
			  ISN_IN + 1, ISN_OUT + 1, 100, -1));
	rte_pktmbuf_free(t_one_out(OUT));
	return port;
}

static uint8_t
only_session_state(void)
{
	struct eph_session_table *t = w->nat.sessions;

	assert_int_equal(eph_session_count(t), 1);
	for (uint32_t i = 0; i < t->max; i++)
		if (eph_session_in_use(t, i))
			return eph_session_get(t, i)->state;
	fail();
	return 0;
}

/*
 * A blind RST (a sequence number far from where the sender is) from
 * either side changes nothing: dropped and counted, the connection stays
 * established. One within the window ends it as before.
 */
static void
test_tcp_blind_rst_ignored(void **state)
{
	uint64_t blind = t_drops(EPH_DROP_nat_tcp_rst_out_of_window);
	struct rte_mbuf *m, *out[4];
	uint16_t port;

	(void)state;
	port = tcp_handshake(41000);
	assert_int_equal(only_session_state(), EPH_TCP_ESTABLISHED);
	/* The server sends 5000 bytes: its end moves to ISN_OUT + 1 + 5000. */
	for (uint32_t sent = 0; sent < 5000; sent += 1250) {
		input(OUT, tcp_seg(OUT, &t_server_mac, T_SERVER, POOL_A, 80, port,
				   RTE_TCP_ACK_FLAG, ISN_OUT + 1 + sent, ISN_IN + 101, 1250, -1));
		rte_pktmbuf_free(t_one_out(IN));
	}

	/* Spoofed RSTs 2^31 and 2^24 away (W at scale 7 is 8 MiB), from outside and inside. */
	input(OUT, tcp_seg(OUT, &t_server_mac, T_SERVER, POOL_A, 80, port, RTE_TCP_RST_FLAG,
			   ISN_OUT + 0x80000000u, 0, 0, -1));
	input(OUT, tcp_seg(OUT, &t_server_mac, T_SERVER, POOL_A, 80, port,
			   RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, ISN_OUT + 5001 - (1u << 24),
			   ISN_IN + 101, 0, -1));
	input(IN, tcp_seg(IN, &t_host_mac, T_HOST, T_SERVER, 41000, 80, RTE_TCP_RST_FLAG,
			  ISN_IN + 101 + (1u << 24), 0, 0, -1));
	assert_int_equal(t_sent(IN, out, 4), 0);
	assert_int_equal(t_sent(OUT, out, 4), 0);
	assert_int_equal(t_drops(EPH_DROP_nat_tcp_rst_out_of_window), blind + 3);
	assert_int_equal(only_session_state(), EPH_TCP_ESTABLISHED);
	/* Still established after the transitory timeout (10 s). */
	advance(12 * EPH_NAT_TICK_HZ);
	assert_int_equal(only_session_state(), EPH_TCP_ESTABLISHED);

	/* Spoofed data far ahead does not drag the window along for a later RST. */
	input(OUT, tcp_seg(OUT, &t_server_mac, T_SERVER, POOL_A, 80, port, RTE_TCP_ACK_FLAG,
			   ISN_OUT + 0x40000000u, ISN_IN + 101, 100, -1));
	rte_pktmbuf_free(t_one_out(IN));
	input(OUT, tcp_seg(OUT, &t_server_mac, T_SERVER, POOL_A, 80, port, RTE_TCP_RST_FLAG,
			   ISN_OUT + 0x40000000u + 100, 0, 0, -1));
	assert_int_equal(t_sent(IN, out, 4), 0);
	assert_int_equal(only_session_state(), EPH_TCP_ESTABLISHED);

	/* The server's real RST, at its end: passes and ends the connection. */
	input(OUT, tcp_seg(OUT, &t_server_mac, T_SERVER, POOL_A, 80, port, RTE_TCP_RST_FLAG,
			   ISN_OUT + 5001, 0, 0, -1));
	m = t_one_out(IN);
	assert_int_equal(t_l4_port(m, 2), 41000);
	rte_pktmbuf_free(m);
	assert_int_equal(only_session_state(), EPH_TCP_RST);
}

/*
 * Connection refused: before the server has sent anything, its RST counts
 * only as the answer to the host's SYN (ACK = ISN + 1).
 */
static void
test_tcp_rst_answers_syn(void **state)
{
	struct rte_mbuf *m, *out[4];
	uint16_t port;

	(void)state;
	input(IN, tcp_seg(IN, &t_host_mac, T_HOST, T_SERVER, 41001, 81, RTE_TCP_SYN_FLAG, ISN_IN,
			  0, 0, -1));
	m = t_one_out(OUT);
	port = t_l4_port(m, 0);
	rte_pktmbuf_free(m);
	input(OUT, tcp_seg(OUT, &t_server_mac, T_SERVER, POOL_A, 81, port,
			   RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 0, ISN_IN + 7, 0, -1));
	input(OUT, tcp_seg(OUT, &t_server_mac, T_SERVER, POOL_A, 81, port, RTE_TCP_RST_FLAG, 0,
			   0, 0, -1));
	assert_int_equal(t_sent(IN, out, 4), 0);
	assert_int_equal(only_session_state(), EPH_TCP_SYN_SENT);
	input(OUT, tcp_seg(OUT, &t_server_mac, T_SERVER, POOL_A, 81, port,
			   RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 0, ISN_IN + 1, 0, -1));
	rte_pktmbuf_free(t_one_out(IN));
	assert_int_equal(only_session_state(), EPH_TCP_RST);
}

/*
 * A 4-tuple reused while the server still holds the old connection: the
 * server answers the new SYN with its old connection's ACK, the host
 * answers that with a RST carrying exactly that number (RFC 793), which
 * must pass to clear the server's state; then the connection opens.
 */
static void
test_tcp_reuse_stale_peer(void **state)
{
	const uint32_t isn2 = 77000000u;
	struct rte_mbuf *m;
	uint16_t port;

	(void)state;
	port = tcp_handshake(41002);
	input(IN, tcp_seg(IN, &t_host_mac, T_HOST, T_SERVER, 41002, 80,
			  RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, ISN_IN + 101, ISN_OUT + 1, 0, -1));
	rte_pktmbuf_free(t_one_out(OUT));
	input(OUT, tcp_seg(OUT, &t_server_mac, T_SERVER, POOL_A, 80, port,
			   RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, ISN_OUT + 1, ISN_IN + 102, 0, -1));
	rte_pktmbuf_free(t_one_out(IN));
	input(IN, tcp_seg(IN, &t_host_mac, T_HOST, T_SERVER, 41002, 80, RTE_TCP_ACK_FLAG,
			  ISN_IN + 102, ISN_OUT + 2, 0, -1));
	rte_pktmbuf_free(t_one_out(OUT));
	assert_int_equal(only_session_state(), EPH_TCP_TIME_WAIT);

	input(IN, tcp_seg(IN, &t_host_mac, T_HOST, T_SERVER, 41002, 80, RTE_TCP_SYN_FLAG, isn2, 0,
			  0, 7));
	m = t_one_out(OUT);
	assert_int_equal(t_l4_port(m, 0), port);
	rte_pktmbuf_free(m);
	input(OUT, tcp_seg(OUT, &t_server_mac, T_SERVER, POOL_A, 80, port, RTE_TCP_ACK_FLAG,
			   ISN_OUT + 2, ISN_IN + 102, 0, -1));
	rte_pktmbuf_free(t_one_out(IN));
	input(IN, tcp_seg(IN, &t_host_mac, T_HOST, T_SERVER, 41002, 80, RTE_TCP_RST_FLAG,
			  ISN_IN + 102, 0, 0, -1));
	rte_pktmbuf_free(t_one_out(OUT));
	assert_int_equal(only_session_state(), EPH_TCP_RST);

	input(IN, tcp_seg(IN, &t_host_mac, T_HOST, T_SERVER, 41002, 80, RTE_TCP_SYN_FLAG, isn2, 0,
			  0, 7));
	rte_pktmbuf_free(t_one_out(OUT));
	input(OUT, tcp_seg(OUT, &t_server_mac, T_SERVER, POOL_A, 80, port,
			   RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 5000, isn2 + 1, 0, 7));
	rte_pktmbuf_free(t_one_out(IN));
	input(IN, tcp_seg(IN, &t_host_mac, T_HOST, T_SERVER, 41002, 80, RTE_TCP_ACK_FLAG, isn2 + 1,
			  5001, 0, -1));
	rte_pktmbuf_free(t_one_out(OUT));
	assert_int_equal(only_session_state(), EPH_TCP_ESTABLISHED);
}

/* Without endpoint-independent filtering nobody else gets in. */
static void
test_endpoint_dependent_filtering(void **state)
{
	struct rte_mbuf *m, *out[4];
	uint64_t before = t_drops(EPH_DROP_nat_no_session);
	uint16_t p1;

	(void)state;
	input(IN, l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_UDP, 3478, 3478, 0));
	m = t_one_out(OUT);
	p1 = t_l4_port(m, 0);
	rte_pktmbuf_free(m);
	/* Same server, other source port: not the destination the host talked to. */
	input(OUT, l4_packet(OUT, &t_server_mac, T_SERVER, POOL_A, IPPROTO_UDP, 3479, p1, 0));
	assert_int_equal(t_sent(IN, out, 4), 0);
	assert_int_equal(t_drops(EPH_DROP_nat_no_session), before + 1);
}

/*
 * Two packets of one new flow, and a new flow next to an established one,
 * in one burst: one session each, both packets translated alike and in
 * order (the burst path looks sessions up before creating any).
 */
static void
test_new_flow_twice_in_one_burst(void **state)
{
	struct rte_mbuf *pkts[3], *out[8];
	uint16_t port0;

	(void)state;
	input(IN, l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_UDP, 6100, 53, 0));
	rte_pktmbuf_free(t_one_out(OUT));
	pkts[0] = l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_UDP, 6200, 53, 0);
	pkts[1] = l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_UDP, 6100, 53, 0);
	pkts[2] = l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_UDP, 6200, 53, 0);
	eph_input_burst(w, IN, pkts, 3);
	assert_int_equal(t_sent(OUT, out, 8), 3);
	for (unsigned int i = 0; i < 3; i++) {
		t_assert_checksums(out[i]);
		assert_int_equal(t_ip(out[i])->src_addr, rte_cpu_to_be_32(POOL_A));
	}
	port0 = t_l4_port(out[0], 0);
	assert_int_equal(t_l4_port(out[2], 0), port0);
	assert_int_not_equal(t_l4_port(out[1], 0), port0);
	for (unsigned int i = 0; i < 3; i++)
		rte_pktmbuf_free(out[i]);
	assert_int_equal(eph_session_count(w->nat.sessions), 2);
	assert_int_equal(w->nat.ports_in_use[0][0], 2);
}

/* Translated, then larger than the egress MTU with DF clear: fragmented after the rewrite. */
static void
test_fragmented_after_translation(void **state)
{
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, T_HOST, T_SERVER, IPPROTO_UDP, 64, 1380);
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)(t_ip(m) + 1);
	static uint8_t whole[1400];
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)whole;
	uint16_t mtu = t_dp.ports[OUT].mtu;
	struct rte_mbuf *out[4];
	unsigned int n, off = 0;

	(void)state;
	u->src_port = RTE_BE16(5555);
	u->dst_port = RTE_BE16(53);
	u->dgram_len = RTE_BE16(1380);
	u->dgram_cksum = 0;
	u->dgram_cksum = rte_ipv4_udptcp_cksum(t_ip(m), u);
	t_dp.ports[OUT].mtu = 1000;
	input(IN, m);
	t_dp.ports[OUT].mtu = mtu;
	n = t_sent(OUT, out, 4);
	assert_int_equal(n, 2);
	for (unsigned int i = 0; i < n; i++) {
		struct rte_ipv4_hdr *f = t_ip(out[i]);
		uint16_t len = rte_be_to_cpu_16(f->total_length);

		assert_int_equal(rte_raw_cksum(f, IP_LEN), 0xffff);
		assert_int_equal(f->src_addr, rte_cpu_to_be_32(POOL_A));
		assert_int_equal((rte_be_to_cpu_16(f->fragment_offset) &
				  RTE_IPV4_HDR_OFFSET_MASK) * 8, off);
		if (i == 0)
			memcpy(whole, f, IP_LEN);
		memcpy(whole + IP_LEN + off, f + 1, len - IP_LEN);
		off += len - IP_LEN;
		rte_pktmbuf_free(out[i]);
	}
	assert_int_equal(off, 1380);
	/* Reassembled: the translated datagram's UDP checksum verifies. */
	ip->total_length = RTE_BE16(1400);
	ip->fragment_offset = 0;
	assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, ip + 1), 0);
	assert_int_equal(rte_be_to_cpu_16(((struct rte_udp_hdr *)(ip + 1))->src_port) >= PORT_LO,
			 true);
}

/* Nothing left on either port. */
static void
none_left(void)
{
	struct rte_mbuf *out[4];

	assert_int_equal(t_sent(IN, out, 4), 0);
	assert_int_equal(t_sent(OUT, out, 4), 0);
}

/*
 * Hairpinning: an inside host sends to another's mapping; the packet comes
 * back inside to that host, from the sender's own mapping (RFC 4787
 * REQ-9), translated twice, TTL taken once; the answer goes the same way.
 */
static void
test_hairpin_udp(void **state)
{
	uint64_t hp = w->nat.ctr[EPH_NAT_hairpinned];
	uint16_t port = eim_mapping(IPPROTO_UDP, 3478), back;
	struct rte_mbuf *m;

	(void)state;
	input(IN, l4_packet(IN, &t_host_mac, EIM_HOST2, POOL_B, IPPROTO_UDP, 7000, port, 0));
	m = t_one_out(IN);
	assert_int_equal(t_ip(m)->src_addr, rte_cpu_to_be_32(POOL_B));
	assert_int_equal(t_ip(m)->dst_addr, rte_cpu_to_be_32(EIM_HOST));
	assert_int_equal(t_l4_port(m, 2), 3478);
	back = t_l4_port(m, 0); /* EIM_HOST2's own mapping */
	assert_int_not_equal(back, port);
	assert_int_equal(t_ip(m)->time_to_live, 63);
	assert_true(rte_is_same_ether_addr(&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr,
					   &t_host_mac));
	rte_pktmbuf_free(m);
	/* The answer, to the address and port it came from. */
	input(IN, l4_packet(IN, &t_host_mac, EIM_HOST, POOL_B, IPPROTO_UDP, 3478, back, 0));
	m = t_one_out(IN);
	assert_int_equal(t_ip(m)->src_addr, rte_cpu_to_be_32(POOL_B));
	assert_int_equal(t_l4_port(m, 0), port);
	assert_int_equal(t_ip(m)->dst_addr, rte_cpu_to_be_32(EIM_HOST2));
	assert_int_equal(t_l4_port(m, 2), 7000);
	rte_pktmbuf_free(m);
	assert_int_equal(w->nat.ctr[EPH_NAT_hairpinned], hp + 2);
	none_left();
}

/* TCP too: a SYN to another host's mapping opens through it. */
static void
test_hairpin_tcp(void **state)
{
	uint16_t port = eim_mapping(IPPROTO_TCP, 4100);
	const struct rte_tcp_hdr *tcp;
	struct rte_mbuf *m;

	(void)state;
	input(IN, l4_packet(IN, &t_host_mac, EIM_HOST2, POOL_B, IPPROTO_TCP, 7100, port,
			    RTE_TCP_SYN_FLAG));
	m = t_one_out(IN);
	assert_int_equal(t_ip(m)->src_addr, rte_cpu_to_be_32(POOL_B));
	assert_int_equal(t_ip(m)->dst_addr, rte_cpu_to_be_32(EIM_HOST));
	assert_int_equal(t_l4_port(m, 2), 4100);
	tcp = (const struct rte_tcp_hdr *)(t_ip(m) + 1);
	assert_int_equal(tcp->tcp_flags, RTE_TCP_SYN_FLAG);
	rte_pktmbuf_free(m);
}

/* Off for the destination's pool, a sender in no pool, or no mapping: dropped, counted. */
static void
test_hairpin_refused(void **state)
{
	uint64_t hp = t_drops(EPH_DROP_nat_hairpin), none = t_drops(EPH_DROP_nat_no_session);
	uint16_t port;
	struct rte_mbuf *m;

	(void)state;
	/* The first pool does not hairpin: its host's mapping is not reachable from inside. */
	input(IN, l4_packet(IN, &t_host_mac, T_HOST, T_SERVER, IPPROTO_UDP, 5000, 53, 0));
	m = t_one_out(OUT);
	port = t_l4_port(m, 0);
	rte_pktmbuf_free(m);
	input(IN, l4_packet(IN, &t_host_mac, EIM_HOST, POOL_A, IPPROTO_UDP, 3478, port, 0));
	assert_int_equal(t_drops(EPH_DROP_nat_hairpin), hp + 1);
	/* A port of the hairpinning pool with no mapping: as from outside, no session. */
	input(IN, l4_packet(IN, &t_host_mac, EIM_HOST, POOL_B, IPPROTO_UDP, 3478, 40000, 0));
	assert_int_equal(t_drops(EPH_DROP_nat_no_session), none + 1);
	none_left();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_udp_round_trip, fresh),
		cmocka_unit_test_setup(test_fragmented_after_translation, fresh),
		cmocka_unit_test_setup(test_new_flow_twice_in_one_burst, fresh),
		cmocka_unit_test_setup(test_unsolicited_dropped, fresh),
		cmocka_unit_test_setup(test_tcp_needs_syn_and_closes, fresh),
		cmocka_unit_test_setup(test_icmp_echo, fresh),
		cmocka_unit_test_setup(test_icmp_error_translated, fresh),
		cmocka_unit_test_setup(test_icmp_echo_all_zero_checksum, fresh),
		cmocka_unit_test_setup(test_icmp_error_bad_checksum_dropped, fresh),
		cmocka_unit_test_setup(test_exhaustion_per_destination, fresh),
		cmocka_unit_test_setup(test_host_limit, fresh),
		cmocka_unit_test_setup(test_endpoint_independent, fresh),
		cmocka_unit_test_setup(test_endpoint_dependent_filtering, fresh),
		cmocka_unit_test_setup(test_eim_inbound_tcp_needs_syn, fresh),
		cmocka_unit_test_setup(test_eim_inbound_limits, fresh),
		cmocka_unit_test_setup(test_tcp_blind_rst_ignored, fresh),
		cmocka_unit_test_setup(test_tcp_rst_answers_syn, fresh),
		cmocka_unit_test_setup(test_tcp_reuse_stale_peer, fresh),
		cmocka_unit_test_setup(test_hairpin_udp, fresh),
		cmocka_unit_test_setup(test_hairpin_tcp, fresh),
		cmocka_unit_test_setup(test_hairpin_refused, fresh),
	};

	return cmocka_run_group_tests_name("nat", tests, setup, teardown);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bench's cases: the configuration each needs, and its timed work.
 * Only the data plane's own calls are timed (eph_input_burst, the tx flush
 * and the rx of what came out; eph_nat_handoff_drain; eph_nat_timers;
 * eph_portalloc_*). Building packets and checking them is not.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_ring.h>
#include <rte_tcp.h>

#include "dataplane/lb/maglev.h"
#include "dataplane/nat/nat_frag.h"
#include "dataplane/ports/portalloc.h"
#include "dataplane/flow/session.h"
#include "dataplane/flow/tcp_state.h"
#include "tests/bench/bench.h"

#define QUARANTINE_S   120
#define EXHAUST_LO     20000
#define EXHAUST_HI     20015
#define BORROW_LO      20000
#define BORROW_HI      20063 /* 32 ports per worker and destination */
#define BORROW_HOSTS   16    /* worker 0's hosts: a divisor of its share */
#define ALLOC_DESTS    1024
#define ALLOC_PER_DEST 64
#define ALLOC_SWEEP    256           /* operations per timed interval */
#define SEED           0x65706865ULL /* "ephe": every run replays the same traffic */

static uint32_t pool_addrs[B_MAX_POOL];
static struct eph_conf_prefix pool_inside[] = {{B_IPV4(10, 0, 0, 0), 16}};
static struct eph_conf_route routes[] = {
	{.prefix = B_REMOTE_NET, .prefix_len = 24, .via = B_ROUTER, .port = B_OUT},
};

static void
add_port(struct eph_conf *conf, const char *name, const char *dev, enum eph_port_role role,
	 uint32_t addr, uint8_t len)
{
	struct eph_conf_port *p = &conf->ports[conf->n_ports++];

	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->device, sizeof(p->device), "%s", dev);
	p->role = role;
	p->addr = addr;
	p->prefix_len = len;
	p->mtu = 1500;
	p->rx_desc = 256;
	p->tx_desc = 256;
}

/*
 * nat_setup leaves the allocator's FIFO chunks at their default, 2 per
 * destination (+ 4 shares): destinations-per-worker is what buys room for
 * N live ports (N / 32 chunks), so it grows with the sessions.
 */
static unsigned int
destinations_for(uint32_t sessions)
{
	return sessions / 64 + 4096;
}

void
bench_case_conf(const struct bench_case *c, struct eph_conf *conf, unsigned int *n_pool)
{
	struct eph_conf_pool *p = &conf->pools[0];
	unsigned int n = c->kind == B_EXHAUSTED || c->kind == B_BORROW ? 1 : 4;

	eph_conf_defaults(conf);
	add_port(conf, "inside", "net_ring0", EPH_ROLE_INSIDE, B_IN_ADDR, 16);
	add_port(conf, "outside", "net_ring1", EPH_ROLE_OUTSIDE, B_OUT_ADDR, 24);
	conf->routes = routes;
	conf->n_routes = RTE_DIM(routes);
	conf->arp.max_entries = 4096;
	conf->dataplane.mbufs = 8191;
	conf->control.telemetry = false;

	for (unsigned int a = 0; a < n; a++)
		pool_addrs[a] = B_POOL_BASE + a;
	*n_pool = n;
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "bench");
	p->addrs = pool_addrs;
	p->n_addrs = n;
	p->port_lo = c->kind == B_EXHAUSTED ? EXHAUST_LO : c->kind == B_BORROW ? BORROW_LO : 1024;
	p->port_hi = c->kind == B_EXHAUSTED ? EXHAUST_HI : c->kind == B_BORROW ? BORROW_HI : 65535;
	p->inside = pool_inside;
	p->n_inside = RTE_DIM(pool_inside);
	p->quarantine_s = QUARANTINE_S;
	conf->n_pools = 1;
	conf->nat.sessions_per_worker = RTE_MAX(c->sessions, 1024u);
	conf->nat.destinations_per_worker = destinations_for(conf->nat.sessions_per_worker);
	conf->nat.handoff_ring = 1024;
	if (c->kind == B_LB_NEW || c->kind == B_LB_ESTABLISHED || c->kind == B_LB_PROXY ||
	    c->kind == B_LB_SYN_FLOOD ||
	    c->kind == B_LB_SYN_COOKIE || c->kind == B_LB_COOKIE_ACK)
		bench_lb_conf(c, conf, n_pool);
}

unsigned int
bench_case_memory_mb(const struct bench_case *c)
{
	/*
	 * Measured (--verbose prints the heap in use after setup): ~90 MiB
	 * without sessions (mbufs, FIBs, neighbours), then ~140 B per session
	 * of sessions-per-worker (session table 78, host table 44, allocator
	 * with its FIFO chunks 23), and 44 B more while the host table is
	 * measured again (host_bytes_per_session). Per worker for handoff and borrow.
	 */
	uint64_t s = RTE_MAX(c->sessions, 1024u);
	unsigned int workers = c->kind == B_HANDOFF || c->kind == B_BORROW ? 2 : 1;
	/* The balancer's connection table comes on top (~80 B per record). */
	unsigned int per = c->kind == B_LB_NEW || c->kind == B_LB_ESTABLISHED ||
					   c->kind == B_LB_PROXY || c->kind == B_LB_SYN_FLOOD ||
					   c->kind == B_LB_SYN_COOKIE || c->kind == B_LB_COOKIE_ACK
				   ? 300
				   : 200;

	return (unsigned int)(160 + ((s * per * workers) >> 20));
}

/* ---- helpers ------------------------------------------------------------ */

static uint64_t
all_drops(struct bench_ctx *x)
{
	uint64_t sum = 0;

	for (unsigned int d = 0; d < EPH_DROP_MAX; d++)
		sum += bench_drops(x, (enum eph_drop_reason)d);
	return sum;
}

static double
bytes_per_session(struct bench_ctx *x, struct eph_worker *w)
{
	const struct eph_portalloc *pa = w->nat.alloc[0][0];
	size_t alloc =
		eph_portalloc_bytes_per_destination(pa) * x->conf.nat.destinations_per_worker +
		eph_portalloc_bytes_per_chunk() * eph_portalloc_stats(pa)->chunks_max;

	return (double)(eph_session_table_bytes(w->nat.sessions) + alloc) /
	       x->conf.nat.sessions_per_worker;
}

/* Bytes of malloc heap in use, every socket. */
static size_t
heap_in_use(void)
{
	struct rte_malloc_socket_stats st;
	size_t total = 0;

	for (unsigned int i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
			total += st.heap_allocsz_bytes;
	return total;
}

/*
 * The per-inside-host table nat_setup sizes to sessions-per-worker (an
 * rte_hash of 4-byte keys plus the host array): built again the same way
 * and measured, since the data plane does not report it.
 */
static double
host_bytes_per_session(struct bench_ctx *x)
{
	uint32_t n = x->conf.nat.sessions_per_worker;
	struct rte_hash_parameters hp = {
		.name = "bench_hosts",
		.entries = n,
		.key_len = sizeof(uint32_t),
		.hash_func = rte_jhash,
		.socket_id = (int)rte_socket_id(),
	};
	size_t before = heap_in_use();
	struct rte_hash *h = rte_hash_create(&hp);
	size_t bytes;

	if (h == NULL)
		return -1;
	bytes = heap_in_use() - before + (size_t)n * sizeof(struct eph_nat_host);
	rte_hash_free(h);
	return (double)bytes / n;
}

static void
no_drops(struct bench_ctx *x, const char *when)
{
	uint64_t d = all_drops(x);

	if (d != 0)
		bench_fail(x, "%" PRIu64 " packets dropped %s", d, when);
}

static void
expect_sent(struct bench_ctx *x, uint16_t got, uint16_t want, const char *what)
{
	if (got != want)
		bench_fail(x, "%s: %u packets came out, %u expected", what, got, want);
}

static void
alloc_mbufs(struct bench_ctx *x, struct rte_mbuf **pkts, unsigned int n)
{
	if (rte_pktmbuf_alloc_bulk(x->dp.pool, pkts, n) != 0)
		bench_fail(x, "out of mbufs");
}

/* n_hosts for n flows: a few flows per host and destination, at most every host. */
static uint32_t
hosts_for(uint32_t flows)
{
	uint32_t n = RTE_MIN(B_MAX_HOSTS, flows / 64);

	return RTE_MAX(16u, n);
}

static void
flows_init(struct bench_ctx *x, struct bench_flows *f, uint32_t n, uint8_t proto,
	   const uint16_t *hosts, uint32_t n_hosts)
{
	uint16_t all[B_MAX_HOSTS];

	if (hosts == NULL) {
		for (uint32_t h = 0; h < B_MAX_HOSTS; h++)
			all[h] = (uint16_t)h;
		hosts = all;
		n_hosts = hosts_for(n);
	}
	if (bench_flows_init(f, n, proto, hosts, n_hosts) != 0)
		bench_fail(x, "cannot set up %u flows", n);
}

/*
 * Open flows [0, n) through worker w's packet path, untimed: UDP by one
 * packet out; TCP by the whole handshake (SYN out, SYN-ACK back, ACK out)
 * so that the sessions are established. Every packet is checked.
 */
static void
open_flows(struct bench_ctx *x, struct bench_flows *f, struct eph_worker *w, unsigned int n_workers)
{
	struct rte_mbuf *pkts[B_BURST];
	bool tcp = f->proto == IPPROTO_TCP;

	alloc_mbufs(x, pkts, B_BURST);
	for (uint32_t base = 0; base < f->n; base += B_BURST) {
		uint16_t n = (uint16_t)RTE_MIN((uint32_t)B_BURST, f->n - base);

		for (uint16_t j = 0; j < n; j++)
			bench_inside_packet(x, f, base + j, RTE_TCP_SYN_FLAG, pkts[j]);
		eph_input_burst(w, B_IN, pkts, n);
		expect_sent(x, bench_sent(x, w, B_OUT, pkts, n), n, "opening flows");
		for (uint16_t j = 0; j < n; j++)
			bench_check_outside(x, f, base + j, RTE_TCP_SYN_FLAG, pkts[j], w->id,
					    n_workers);
		if (tcp) {
			for (uint16_t j = 0; j < n; j++) {
				bench_turnaround(pkts[j]);
				bench_set_tcp_flags(pkts[j], RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
			}
			eph_input_burst(w, B_OUT, pkts, n);
			expect_sent(x, bench_sent(x, w, B_IN, pkts, n), n, "SYN-ACKs");
			for (uint16_t j = 0; j < n; j++) {
				bench_check_inside(x, f, base + j,
						   RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, pkts[j]);
				bench_inside_packet(x, f, base + j, RTE_TCP_ACK_FLAG, pkts[j]);
			}
			eph_input_burst(w, B_IN, pkts, n);
			expect_sent(x, bench_sent(x, w, B_OUT, pkts, n), n, "handshake ACKs");
			for (uint16_t j = 0; j < n; j++)
				bench_check_outside(x, f, base + j, RTE_TCP_ACK_FLAG, pkts[j],
						    w->id, n_workers);
		}
		bench_progress(x, "opening flows", base + n, f->n);
	}
	for (uint16_t j = 0; j < B_BURST; j++)
		rte_pktmbuf_free(pkts[j]);
	if (eph_session_count(w->nat.sessions) != f->n)
		bench_fail(x, "%u sessions after opening %u flows",
			   eph_session_count(w->nat.sessions), f->n);
	no_drops(x, "while opening flows");
}

/* Every TCP session must have reached ESTABLISHED, or the timed phase measures the wrong state. */
static void
check_established(struct bench_ctx *x, const struct bench_flows *f, struct eph_worker *w)
{
	for (uint32_t i = 0; i < f->n; i++) {
		struct bench_tuple t;
		struct eph_flow_key k;
		int32_t idx;

		bench_tuple(f, i, &t);
		k = (struct eph_flow_key){
			.src_addr = rte_cpu_to_be_32(t.in_addr),
			.dst_addr = rte_cpu_to_be_32(t.remote_addr),
			.src_port = rte_cpu_to_be_16(t.in_port),
			.dst_port = rte_cpu_to_be_16(t.remote_port),
			.proto = f->proto,
		};
		idx = eph_session_lookup(w->nat.sessions, &k);
		if (idx < 0)
			bench_fail(x, "flow %u has no session", i);
		if (f->proto == IPPROTO_TCP &&
		    eph_session_get(w->nat.sessions, (uint32_t)idx)->state != EPH_TCP_ESTABLISHED)
			bench_fail(x, "flow %u: TCP session in state %s after the handshake", i,
				   eph_tcp_state_name(
					   eph_session_get(w->nat.sessions, (uint32_t)idx)->state));
	}
}

static uint64_t
bursts_of(uint64_t packets, unsigned int per_burst)
{
	return RTE_MAX((uint64_t)1, packets / per_burst);
}

/* ---- cases ------------------------------------------------------------- */

/*
 * Established flows: inside -> outside, then the very same mbufs turned
 * around (the reply) outside -> inside. Each traversal is one packet.
 */
static void
run_established(struct bench_ctx *x, struct bench_result *r)
{
	const struct bench_case *c = x->c;
	struct eph_worker *w = x->dp.workers[0];
	uint8_t flags = c->proto == IPPROTO_TCP ? RTE_TCP_ACK_FLAG : 0;
	uint64_t bursts = bursts_of(c->packets, 2 * B_BURST);
	uint64_t in2out = w->nat.ctr[EPH_NAT_in2out], out2in = w->nat.ctr[EPH_NAT_out2in];
	struct rte_mbuf *pkts[B_BURST];
	struct bench_flows f;
	uint32_t *seq;

	bench_timer_init(&r->t, x->tsc_hz);
	flows_init(x, &f, c->sessions, c->proto, NULL, 0);
	open_flows(x, &f, w, 1);
	check_established(x, &f, w);
	in2out = w->nat.ctr[EPH_NAT_in2out];
	out2in = w->nat.ctr[EPH_NAT_out2in];
	seq = bench_sequence(f.n, bursts * B_BURST, c->zipf, SEED);
	if (seq == NULL)
		bench_fail(x, "no memory for the flow sequence");

	alloc_mbufs(x, pkts, B_BURST);
	for (uint64_t b = 0; b < bursts; b++) {
		const uint32_t *fi = &seq[b * B_BURST];
		uint16_t n;

		for (unsigned int j = 0; j < B_BURST; j++)
			bench_inside_packet(x, &f, fi[j], flags, pkts[j]);
		bench_timer_start(&r->t);
		eph_input_burst(w, B_IN, pkts, B_BURST);
		n = bench_sent(x, w, B_OUT, pkts, B_BURST);
		bench_timer_stop(&r->t, B_BURST);
		expect_sent(x, n, B_BURST, "inside -> outside");
		for (unsigned int j = 0; j < B_BURST; j++) {
			bench_check_outside(x, &f, fi[j], flags, pkts[j], 0, 1);
			bench_turnaround(pkts[j]);
		}
		bench_timer_start(&r->t);
		eph_input_burst(w, B_OUT, pkts, B_BURST);
		n = bench_sent(x, w, B_IN, pkts, B_BURST);
		bench_timer_stop(&r->t, B_BURST);
		expect_sent(x, n, B_BURST, "outside -> inside");
		for (unsigned int j = 0; j < B_BURST; j++)
			bench_check_inside(x, &f, fi[j], flags, pkts[j]);
		bench_progress(x, "traffic", b + 1, bursts);
	}
	bench_timer_done(&r->t);
	rte_pktmbuf_free_bulk(pkts, B_BURST);

	no_drops(x, "in the established phase");
	if (w->nat.ctr[EPH_NAT_in2out] - in2out != bursts * B_BURST ||
	    w->nat.ctr[EPH_NAT_out2in] - out2in != bursts * B_BURST)
		bench_fail(x, "NAT counters disagree with the packets sent");
	if (eph_session_count(w->nat.sessions) != f.n)
		bench_fail(x, "sessions changed during the established phase");
	r->sessions = f.n;
	r->packets = 2 * bursts * B_BURST;
	r->bytes_per_session = bytes_per_session(x, w);
	r->host_bytes_per_session = host_bytes_per_session(x);
	free(seq);
	bench_flows_free(&f);
}

/*
 * Fragments (dataplane/nat/nat_frag.h): established UDP flows whose
 * datagrams (96 bytes of UDP, no checksum) come in four fragments of 24
 * bytes, in order, eight datagrams a burst: the first finds the session,
 * the others its datagram's translation. Timed per fragment, inside to
 * outside; every fragment checked (header checksum, the flow's outside
 * address, the first one's port), every datagram forgotten once through.
 */
#define FRAG_L4   24 /* bytes of the datagram per fragment */
#define FRAG_PER  4  /* fragments per datagram */

static void
frag_frame(struct rte_mbuf *m, uint16_t id, unsigned int k)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
							   sizeof(struct rte_ether_hdr));
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	ip->packet_id = rte_cpu_to_be_16(id);
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + FRAG_L4);
	ip->fragment_offset = rte_cpu_to_be_16(
		(uint16_t)(k * FRAG_L4 / 8 | (k + 1 < FRAG_PER ? RTE_IPV4_HDR_MF_FLAG : 0)));
	if (k == 0) {
		udp->dgram_len = rte_cpu_to_be_16(FRAG_L4 * FRAG_PER);
		udp->dgram_cksum = 0;
	}
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

static void
run_fragments(struct bench_ctx *x, struct bench_result *r)
{
	const struct bench_case *c = x->c;
	struct eph_worker *w = x->dp.workers[0];
	uint64_t bursts = bursts_of(c->packets, B_BURST);
	struct rte_mbuf *pkts[B_BURST];
	uint32_t flow[B_BURST / FRAG_PER];
	struct bench_flows f;
	uint16_t id = 1;
	uint32_t *seq;

	bench_timer_init(&r->t, x->tsc_hz);
	flows_init(x, &f, c->sessions, IPPROTO_UDP, NULL, 0);
	open_flows(x, &f, w, 1);
	check_established(x, &f, w);
	seq = bench_sequence(f.n, bursts * (B_BURST / FRAG_PER), false, SEED);
	if (seq == NULL)
		bench_fail(x, "no memory for the flow sequence");
	alloc_mbufs(x, pkts, B_BURST);
	for (uint64_t b = 0; b < bursts; b++) {
		uint16_t n, first_id = id;

		for (unsigned int d = 0; d < B_BURST / FRAG_PER; d++) {
			flow[d] = seq[b * (B_BURST / FRAG_PER) + d];
			for (unsigned int k = 0; k < FRAG_PER; k++) {
				bench_inside_packet(x, &f, flow[d], 0, pkts[d * FRAG_PER + k]);
				frag_frame(pkts[d * FRAG_PER + k], id, k);
			}
			id++;
		}
		bench_timer_start(&r->t);
		eph_input_burst(w, B_IN, pkts, B_BURST);
		n = bench_sent(x, w, B_OUT, pkts, B_BURST);
		bench_timer_stop(&r->t, B_BURST);
		expect_sent(x, n, B_BURST, "fragments inside -> outside");
		/* Later fragments leave at once, first ones with their batch: by IP id. */
		for (unsigned int j = 0; j < B_BURST; j++) {
			const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(
				pkts[j], const struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
			uint16_t d = (uint16_t)(rte_be_to_cpu_16(ip->packet_id) - first_id);
			uint32_t map = d < B_BURST / FRAG_PER ? f.map[flow[d]] : 0;
			uint16_t sport;

			memcpy(&sport, ip + 1, sizeof(sport));
			if (map == 0 || rte_raw_cksum(ip, sizeof(*ip)) != 0xffff ||
			    ip->src_addr != rte_cpu_to_be_32(x->pool[(map >> 16) & 0x7fff]) ||
			    (eph_frag_offset(ip) == 0 && sport != rte_cpu_to_be_16((uint16_t)map))) {
				if (x->mismatches++ < 4)
					fprintf(stderr, "a fragment of datagram %u not translated as its flow\n",
						d);
			}
		}
		bench_progress(x, "fragments", b + 1, bursts);
	}
	bench_timer_done(&r->t);
	rte_pktmbuf_free_bulk(pkts, B_BURST);
	no_drops(x, "in the fragments phase");
	if (w->nat.ctr[EPH_NAT_frag_translated] != bursts * (B_BURST / FRAG_PER) * (FRAG_PER - 1))
		bench_fail(x, "frag_translated disagrees with the fragments sent");
	if (w->nat.frag->n_dgrams != 0 || w->nat.frag->n_held != 0)
		bench_fail(x, "datagrams left in the fragment table");
	r->sessions = f.n;
	r->packets = bursts * B_BURST;
	free(seq);
	bench_flows_free(&f);
}

/* New sessions: every packet opens a flow (UDP, or a TCP SYN). */
static void
run_new(struct bench_ctx *x, struct bench_result *r)
{
	const struct bench_case *c = x->c;
	struct eph_worker *w = x->dp.workers[0];
	uint8_t flags = c->proto == IPPROTO_TCP ? RTE_TCP_SYN_FLAG : 0;
	struct rte_mbuf *pkts[B_BURST];
	struct bench_timer last; /* the table's last tenth: the cost of filling it up */
	struct bench_flows f;

	bench_timer_init(&r->t, x->tsc_hz);
	bench_timer_init(&last, x->tsc_hz);
	flows_init(x, &f, c->sessions, c->proto, NULL, 0);
	alloc_mbufs(x, pkts, B_BURST);
	for (uint32_t base = 0; base < f.n; base += B_BURST) {
		uint16_t n = (uint16_t)RTE_MIN((uint32_t)B_BURST, f.n - base);
		bool tail = base >= f.n - f.n / 10;

		for (uint16_t j = 0; j < n; j++)
			bench_inside_packet(x, &f, base + j, flags, pkts[j]);
		if (tail)
			bench_timer_start(&last);
		bench_timer_start(&r->t);
		eph_input_burst(w, B_IN, pkts, n);
		n = bench_sent(x, w, B_OUT, pkts, n);
		bench_timer_stop(&r->t, n);
		if (tail)
			bench_timer_stop(&last, n);
		expect_sent(x, n, (uint16_t)RTE_MIN((uint32_t)B_BURST, f.n - base), "new flows");
		for (uint16_t j = 0; j < n; j++)
			bench_check_outside(x, &f, base + j, flags, pkts[j], 0, 1);
		bench_progress(x, "new sessions", base + n, f.n);
	}
	bench_timer_done(&r->t);
	bench_timer_done(&last);
	rte_pktmbuf_free_bulk(pkts, B_BURST);

	no_drops(x, "while creating sessions");
	if (eph_session_count(w->nat.sessions) != f.n ||
	    w->nat.ctr[EPH_NAT_sessions_created] != f.n ||
	    w->nat.ctr[EPH_NAT_port_allocations] != f.n)
		bench_fail(x, "%u sessions, %" PRIu64 " created, %" PRIu64 " ports for %u flows",
			   eph_session_count(w->nat.sessions), w->nat.ctr[EPH_NAT_sessions_created],
			   w->nat.ctr[EPH_NAT_port_allocations], f.n);
	r->sessions = f.n;
	r->packets = f.n;
	r->last_tenth_ns = last.units ? (double)last.cycles * 1e9 / x->tsc_hz / last.units : 0;
	r->bytes_per_session = bytes_per_session(x, w);
	r->host_bytes_per_session = host_bytes_per_session(x);
	bench_flows_free(&f);
}

/*
 * Run the worker's timers at clock tsc until done() or the budget of calls
 * is spent; with t, time each call, its units the sessions it removed.
 */
static uint64_t
run_timers(struct eph_worker *w, uint64_t tsc, uint64_t max_calls,
	   bool (*done)(struct eph_worker *w), struct bench_timer *t)
{
	uint64_t calls = 0;

	while (!done(w) && calls < max_calls) {
		uint32_t before = eph_session_count(w->nat.sessions);

		if (t != NULL)
			bench_timer_start(t);
		eph_nat_timers(w, tsc);
		if (t != NULL)
			bench_timer_stop(t, before - eph_session_count(w->nat.sessions));
		calls++;
	}
	return calls;
}

static bool
no_sessions(struct eph_worker *w)
{
	return eph_session_count(w->nat.sessions) == 0;
}

static bool
no_destinations(struct eph_worker *w)
{
	return eph_portalloc_stats(w->nat.alloc[0][0])->destinations == 0;
}

/* Teardown: every session expires through the timer path (as test_nat.c's advance()). */
static void
run_teardown(struct bench_ctx *x, struct bench_result *r)
{
	const struct bench_case *c = x->c;
	struct eph_worker *w = x->dp.workers[0];
	const struct eph_portalloc *pa = w->nat.alloc[0][0];
	struct bench_flows f;
	uint64_t clock, calls;

	bench_timer_init(&r->t, x->tsc_hz);
	flows_init(x, &f, c->sessions, IPPROTO_UDP, NULL, 0);
	open_flows(x, &f, w, 1);
	r->bytes_per_session = bytes_per_session(x, w);
	r->host_bytes_per_session = host_bytes_per_session(x);

	/* Past every session's idle timeout: all are due at once. */
	clock = rte_rdtsc() + (uint64_t)(x->conf.timeouts.udp + 1) * x->tsc_hz;
	calls = run_timers(w, clock, 4ull * f.n + 1000000, no_sessions, &r->t);
	bench_timer_done(&r->t);
	if (!no_sessions(w))
		bench_fail(x, "%u sessions left after %" PRIu64 " timer calls",
			   eph_session_count(w->nat.sessions), calls);
	if (w->nat.ctr[EPH_NAT_sessions_expired] != f.n || w->nat.ctr[EPH_NAT_port_releases] != f.n)
		bench_fail(x, "%" PRIu64 " sessions expired, %" PRIu64 " ports released, of %u",
			   w->nat.ctr[EPH_NAT_sessions_expired], w->nat.ctr[EPH_NAT_port_releases],
			   f.n);
	for (unsigned int a = 0; a < x->n_pool; a++)
		if (w->nat.ports_in_use[0][a] != 0)
			bench_fail(x, "pool address %u still has %" PRIu64 " ports in use", a,
				   w->nat.ports_in_use[0][a]);
	if (rte_hash_count(w->nat.hosts) != 0)
		bench_fail(x, "%d inside hosts still tracked", rte_hash_count(w->nat.hosts));
	if (eph_portalloc_audit(pa) != 0)
		bench_fail(x, "port allocator audit failed after expiry");

	/* The quarantine passes: the allocator forgets every destination. */
	clock += (uint64_t)(QUARANTINE_S + 1) * x->tsc_hz;
	run_timers(w, clock, 1000000, no_destinations, NULL);
	if (!no_destinations(w) || eph_portalloc_audit(pa) != 0)
		bench_fail(x, "%u allocator destinations left after the quarantine",
			   eph_portalloc_stats(pa)->destinations);
	no_drops(x, "during teardown");

	r->sessions = f.n;
	r->packets = f.n;
	bench_flows_free(&f);
}

/* Exhaustion: one destination, 16 ports, all taken; every further new flow is refused. */
static void
run_exhausted(struct bench_ctx *x, struct bench_result *r)
{
	const struct bench_case *c = x->c;
	struct eph_worker *w = x->dp.workers[0];
	const uint32_t ports = EXHAUST_HI - EXHAUST_LO + 1;
	const uint32_t refusable = 50000; /* distinct inside ports the refused flows cycle over */
	uint64_t bursts = bursts_of(c->packets, B_BURST);
	const uint16_t host0 = 0;
	struct rte_mbuf *pkts[B_BURST];
	struct bench_flows f;
	uint64_t sent;

	bench_timer_init(&r->t, x->tsc_hz);
	/* One host, one remote endpoint: flow i differs by its inside port only. */
	if (bench_flows_init(&f, ports + refusable, IPPROTO_UDP, &host0, 1) != 0)
		bench_fail(x, "cannot set up the flows");
	f.n_remotes = 1;
	f.n = ports; /* open the first 16, which take every port */
	open_flows(x, &f, w, 1);
	f.n = ports + refusable;

	for (uint64_t b = 0; b < bursts; b++) {
		uint16_t n;

		alloc_mbufs(x, pkts, B_BURST);
		for (unsigned int j = 0; j < B_BURST; j++)
			bench_inside_packet(x, &f,
					    ports + (uint32_t)((b * B_BURST + j) % refusable), 0,
					    pkts[j]);
		bench_timer_start(&r->t);
		eph_input_burst(w, B_IN, pkts, B_BURST);
		n = bench_sent(x, w, B_OUT, pkts, B_BURST);
		bench_timer_stop(&r->t, B_BURST);
		expect_sent(x, n, 0, "refused flows");
		bench_progress(x, "refused flows", b + 1, bursts);
	}

	bench_timer_done(&r->t);
	sent = bursts * B_BURST;
	if (bench_drops(x, EPH_DROP_nat_exhausted) != sent || all_drops(x) != sent)
		bench_fail(x,
			   "nat_exhausted counted %" PRIu64 " (all drops %" PRIu64 ") of %" PRIu64
			   " refused",
			   bench_drops(x, EPH_DROP_nat_exhausted), all_drops(x), sent);
	if (w->nat.exhausted[0][0] != sent ||
	    eph_portalloc_stats(w->nat.alloc[0][0])->exhausted != sent)
		bench_fail(x,
			   "per-address exhaustion %" PRIu64 ", allocator %" PRIu64
			   ", sent %" PRIu64,
			   w->nat.exhausted[0][0], eph_portalloc_stats(w->nat.alloc[0][0])->exhausted,
			   sent);
	if (eph_session_count(w->nat.sessions) != ports || w->nat.ports_in_use[0][0] != ports)
		bench_fail(x, "the 16 sessions did not survive exhaustion");
	r->sessions = ports;
	r->packets = sent;
	r->bytes_per_session = bytes_per_session(x, w);
	r->host_bytes_per_session = host_bytes_per_session(x);
	bench_flows_free(&f);
}

/*
 * Handoff: replies arrive on worker 1 for ports worker 0 owns; worker 1
 * hands them over its ring, worker 0 drains and translates them.
 */
static void
run_handoff(struct bench_ctx *x, struct bench_result *r)
{
	const struct bench_case *c = x->c;
	struct eph_worker *w0 = x->dp.workers[0], *w1 = x->dp.workers[1];
	uint64_t bursts = bursts_of(c->packets, B_BURST);
	uint16_t hosts[B_MAX_HOSTS];
	struct rte_mbuf *pkts[B_BURST];
	struct bench_flows f;
	uint32_t n_hosts = 0, *seq;
	uint64_t base_out, base_in, base_o2i;

	bench_timer_init(&r->t, x->tsc_hz);
	if (x->dp.n_workers != 2 || w1 == NULL)
		bench_fail(x, "handoff needs 2 workers, have %u", x->dp.n_workers);
	/* Worker 0's inside hosts, so that it opens every flow itself. */
	for (uint32_t h = 0; h < B_MAX_HOSTS && n_hosts < hosts_for(c->sessions); h++)
		if (eph_nat_host_owner(&x->dp.nat, rte_cpu_to_be_32(B_HOST_BASE + h), 2) == 0)
			hosts[n_hosts++] = (uint16_t)h;
	flows_init(x, &f, c->sessions, IPPROTO_UDP, hosts, n_hosts);
	open_flows(x, &f, w0, 2);
	seq = bench_sequence(f.n, bursts * B_BURST, false, SEED);
	if (seq == NULL)
		bench_fail(x, "no memory for the flow sequence");
	base_out = w1->nat.ctr[EPH_NAT_handoff_out];
	base_in = w0->nat.ctr[EPH_NAT_handoff_in];
	base_o2i = w0->nat.ctr[EPH_NAT_out2in];

	alloc_mbufs(x, pkts, B_BURST);
	for (uint64_t b = 0; b < bursts; b++) {
		const uint32_t *fi = &seq[b * B_BURST];
		uint16_t n;

		for (unsigned int j = 0; j < B_BURST; j++)
			bench_reply_packet(x, &f, fi[j], 0, pkts[j]);
		bench_timer_start(&r->t);
		eph_input_burst(w1, B_OUT, pkts, B_BURST);
		eph_nat_handoff_drain(w0);
		n = bench_sent(x, w0, B_IN, pkts, B_BURST);
		bench_timer_stop(&r->t, B_BURST);
		expect_sent(x, n, B_BURST, "handed-off replies");
		for (unsigned int j = 0; j < B_BURST; j++)
			bench_check_inside(x, &f, fi[j], 0, pkts[j]);
		bench_progress(x, "handoff", b + 1, bursts);
	}
	bench_timer_done(&r->t);
	rte_pktmbuf_free_bulk(pkts, B_BURST);

	no_drops(x, "during handoff");
	if (bench_sent(x, w1, B_IN, pkts, B_BURST) != 0 ||
	    bench_sent(x, w1, B_OUT, pkts, B_BURST) != 0)
		bench_fail(x, "worker 1 transmitted what it should have handed off");
	if (w1->nat.ctr[EPH_NAT_handoff_out] - base_out != bursts * B_BURST ||
	    w0->nat.ctr[EPH_NAT_handoff_in] - base_in != bursts * B_BURST ||
	    w0->nat.ctr[EPH_NAT_out2in] - base_o2i != bursts * B_BURST)
		bench_fail(x, "handoff counters disagree with the packets sent");
	r->sessions = f.n;
	r->packets = bursts * B_BURST;
	r->bytes_per_session = bytes_per_session(x, w0);
	r->host_bytes_per_session = host_bytes_per_session(x);
	free(seq);
	bench_flows_free(&f);
}

/*
 * One burst of new flows [base, base + n) from worker 0's hosts, timed as a
 * worker loop would run it: worker 0's input, then the handoff drains of
 * worker 1 (lends, when worker 0 asked for ports) and worker 0 (opens the
 * sessions on the lent ports and sends), then the rx of what came out.
 * Every packet must leave worker 0 with a port of worker `owner`'s share.
 */
static void
borrow_burst(struct bench_ctx *x, struct bench_flows *f, uint32_t base, uint16_t n,
	     unsigned int owner, struct rte_mbuf **pkts, struct bench_timer *t)
{
	struct eph_worker *w0 = x->dp.workers[0], *w1 = x->dp.workers[1];
	uint16_t got;

	for (uint16_t j = 0; j < n; j++)
		bench_inside_packet(x, f, base + j, 0, pkts[j]);
	bench_timer_start(t);
	eph_input_burst(w0, B_IN, pkts, n);
	eph_nat_handoff_drain(w1);
	eph_nat_handoff_drain(w0);
	got = bench_sent(x, w0, B_OUT, pkts, n);
	bench_timer_stop(t, got);
	expect_sent(x, got, n, owner == 0 ? "new flows (own share)" : "new flows (borrowed)");
	for (uint16_t j = 0; j < n; j++)
		bench_check_outside(x, f, base + j, 0, pkts[j], owner, 2);
}

/* Worker w's NAT counter c. */
static uint64_t
nat_ctr(struct bench_ctx *x, unsigned int w, enum eph_nat_counter c)
{
	return x->dp.workers[w]->nat.ctr[c];
}

/* The mappings learnt by the checks forgotten: the next pass may get other ports. */
static void
flows_forget(struct bench_flows *f)
{
	for (uint32_t i = 0; i < f->n; i++) {
		struct bench_tuple t;
		uint64_t bit;

		if (f->map[i] == 0)
			continue;
		bench_tuple(f, i, &t);
		bit = ((uint64_t)((f->map[i] >> 16) & 0x7fff) * B_N_REMOTES + t.remote) * 65536 +
		      (uint16_t)f->map[i];
		f->used[bit / 64] &= ~(1ULL << (bit % 64));
		f->map[i] = 0;
	}
}

static bool
no_loans_pending(struct bench_ctx *x)
{
	return rte_ring_count(x->dp.nat.loans[0 * 2 + 1]) == 0;
}

/*
 * Borrow: new sessions whose port comes from the other worker's share.
 * One pool address, ports 20000-20063 (32 per worker and destination),
 * 16 inside hosts owned by worker 0, 256 remote endpoints. A pass opens
 * share x 256 flows that fill worker 0's share of every destination (timed:
 * own_ns), then as many more, each of which worker 0 must borrow a port for
 * from worker 1 (timed: borrowed_ns); both are timed through the same calls
 * (borrow_burst), so the difference is the lending alone. Replies to the
 * borrowed ports then go in through worker 1, their share's owner, which
 * must hand them to worker 0 (checked, untimed). Between passes, untimed,
 * the clock moves past the UDP timeout: the sessions expire on worker 0,
 * the lent ports go back to worker 1, then past the quarantine, so that
 * every pass starts from empty allocators on both workers.
 */
static void
run_borrow(struct bench_ctx *x, struct bench_result *r)
{
	const struct bench_case *c = x->c;
	struct eph_worker *w0 = x->dp.workers[0], *w1 = x->dp.workers[1];
	const uint32_t share = (BORROW_HI - BORROW_LO + 1) / 2;
	const uint32_t per_pass = share * B_N_REMOTES; /* own flows; as many borrowed */
	uint64_t passes = RTE_MAX((uint64_t)1, c->packets / per_pass);
	uint16_t hosts[BORROW_HOSTS];
	struct rte_mbuf *pkts[B_BURST];
	struct bench_timer own;
	struct bench_flows f;
	uint32_t n_hosts = 0;
	uint64_t clock;

	bench_timer_init(&r->t, x->tsc_hz);
	bench_timer_init(&own, x->tsc_hz);
	if (x->dp.n_workers != 2 || w1 == NULL)
		bench_fail(x, "borrow needs 2 workers, have %u", x->dp.n_workers);
	if (c->sessions < 2 * per_pass)
		bench_fail(x, "a pass needs %u sessions, the table has %u", 2 * per_pass,
			   c->sessions);
	for (uint32_t h = 0; h < B_MAX_HOSTS && n_hosts < BORROW_HOSTS; h++)
		if (eph_nat_host_owner(&x->dp.nat, rte_cpu_to_be_32(B_HOST_BASE + h), 2) == 0)
			hosts[n_hosts++] = (uint16_t)h;
	/*
	 * Flow i: host i % 16, remote (i / 16) % 256: flows [0, per_pass) give
	 * every remote exactly `share` flows (worker 0's share of it), and
	 * [per_pass, 2 per_pass) as many again, on other inside ports.
	 */
	flows_init(x, &f, 2 * per_pass, IPPROTO_UDP, hosts, n_hosts);

	clock = rte_rdtsc();
	eph_nat_timers(w0, clock);
	eph_nat_timers(w1, clock);
	alloc_mbufs(x, pkts, B_BURST);
	for (uint64_t pass = 0; pass < passes; pass++) {
		uint64_t req = nat_ctr(x, 0, EPH_NAT_borrow_requests);
		uint64_t got = nat_ctr(x, 0, EPH_NAT_ports_borrowed);
		uint64_t lent = nat_ctr(x, 1, EPH_NAT_ports_lent);
		uint64_t back = nat_ctr(x, 1, EPH_NAT_loans_returned);
		uint64_t created = nat_ctr(x, 0, EPH_NAT_sessions_created);
		uint64_t alloc0 = nat_ctr(x, 0, EPH_NAT_port_allocations);
		uint64_t alloc1 = nat_ctr(x, 1, EPH_NAT_port_allocations);
		uint64_t refused =
			nat_ctr(x, 0, EPH_NAT_lend_refused) + nat_ctr(x, 1, EPH_NAT_lend_refused);
		uint64_t o2i = nat_ctr(x, 0, EPH_NAT_out2in);

		/* Worker 0's own share of every destination, then the borrowed ports. */
		for (uint32_t base = 0; base < 2 * per_pass; base += B_BURST) {
			uint16_t n = (uint16_t)RTE_MIN((uint32_t)B_BURST, 2 * per_pass - base);
			bool borrowed = base >= per_pass;

			borrow_burst(x, &f, base, n, borrowed, pkts, borrowed ? &r->t : &own);
		}
		if (bench_sent(x, w1, B_OUT, pkts, B_BURST) != 0 ||
		    bench_sent(x, w1, B_IN, pkts, B_BURST) != 0)
			bench_fail(x, "pass %" PRIu64 ": worker 1 transmitted", pass);
		no_drops(x, "while opening sessions");
		if (nat_ctr(x, 0, EPH_NAT_borrow_requests) - req != per_pass ||
		    nat_ctr(x, 0, EPH_NAT_ports_borrowed) - got != per_pass ||
		    nat_ctr(x, 1, EPH_NAT_ports_lent) - lent != per_pass ||
		    nat_ctr(x, 0, EPH_NAT_sessions_created) - created != 2 * per_pass ||
		    nat_ctr(x, 0, EPH_NAT_port_allocations) - alloc0 != per_pass ||
		    nat_ctr(x, 1, EPH_NAT_port_allocations) - alloc1 != per_pass ||
		    nat_ctr(x, 0, EPH_NAT_lend_refused) + nat_ctr(x, 1, EPH_NAT_lend_refused) !=
			    refused)
			bench_fail(x,
				   "pass %" PRIu64 ", %u flows borrowed: %" PRIu64
				   " requests, %" PRIu64 " borrowed, %" PRIu64 " lent, %" PRIu64
				   " sessions created, ports taken %" PRIu64 " + %" PRIu64
				   ", lends refused %" PRIu64,
				   pass, per_pass, nat_ctr(x, 0, EPH_NAT_borrow_requests) - req,
				   nat_ctr(x, 0, EPH_NAT_ports_borrowed) - got,
				   nat_ctr(x, 1, EPH_NAT_ports_lent) - lent,
				   nat_ctr(x, 0, EPH_NAT_sessions_created) - created,
				   nat_ctr(x, 0, EPH_NAT_port_allocations) - alloc0,
				   nat_ctr(x, 1, EPH_NAT_port_allocations) - alloc1,
				   nat_ctr(x, 0, EPH_NAT_lend_refused) +
					   nat_ctr(x, 1, EPH_NAT_lend_refused) - refused);
		if (eph_nat_session_count(&w0->nat) != 2 * per_pass ||
		    eph_nat_session_count(&w1->nat) != 0 || w1->nat.loan_sessions != per_pass ||
		    w1->nat.lent_to[0] != per_pass || w0->nat.borrowed_live != per_pass ||
		    w0->nat.ports_in_use[0][0] != per_pass ||
		    w1->nat.ports_in_use[0][0] != per_pass)
			bench_fail(x,
				   "pass %" PRIu64
				   ": sessions %u + %u, loan records %u, on loan %u, "
				   "borrowed live %u, ports in use %" PRIu64 " + %" PRIu64,
				   pass, eph_nat_session_count(&w0->nat),
				   eph_nat_session_count(&w1->nat), w1->nat.loan_sessions,
				   w1->nat.lent_to[0], w0->nat.borrowed_live,
				   w0->nat.ports_in_use[0][0], w1->nat.ports_in_use[0][0]);

		/* Replies to the borrowed ports reach worker 1, which hands them to worker 0. */
		for (uint32_t base = per_pass; base < 2 * per_pass; base += B_BURST) {
			uint16_t n = (uint16_t)RTE_MIN((uint32_t)B_BURST, 2 * per_pass - base);

			for (uint16_t j = 0; j < n; j++)
				bench_reply_packet(x, &f, base + j, 0, pkts[j]);
			eph_input_burst(w1, B_OUT, pkts, n);
			eph_nat_handoff_drain(w0);
			expect_sent(x, bench_sent(x, w0, B_IN, pkts, n), n,
				    "replies to borrowed ports");
			for (uint16_t j = 0; j < n; j++)
				bench_check_inside(x, &f, base + j, 0, pkts[j]);
		}
		if (bench_sent(x, w1, B_IN, pkts, B_BURST) != 0)
			bench_fail(x, "pass %" PRIu64 ": worker 1 sent replies itself", pass);
		if (nat_ctr(x, 0, EPH_NAT_out2in) - o2i != per_pass)
			bench_fail(x, "pass %" PRIu64 ": %" PRIu64 " replies translated of %u",
				   pass, nat_ctr(x, 0, EPH_NAT_out2in) - o2i, per_pass);
		no_drops(x, "while replying to borrowed ports");

		/* Untimed: every session expires, the lent ports go home, the quarantine passes. */
		clock += (uint64_t)(x->conf.timeouts.udp + 1) * x->tsc_hz;
		run_timers(w0, clock, 4ull * 2 * per_pass + 1000, no_sessions, NULL);
		eph_nat_timers(w1, clock);
		for (unsigned int k = 0; k < 4 * per_pass && !no_loans_pending(x); k++)
			eph_nat_handoff_drain(w1);
		if (!no_sessions(w0) || !no_loans_pending(x))
			bench_fail(x, "pass %" PRIu64 ": %u sessions and %u loan returns left",
				   pass, eph_session_count(w0->nat.sessions),
				   rte_ring_count(x->dp.nat.loans[0 * 2 + 1]));
		if (nat_ctr(x, 1, EPH_NAT_loans_returned) - back != per_pass ||
		    w1->nat.lent_to[0] != 0 || w1->nat.loan_sessions != 0 ||
		    eph_session_count(w1->nat.sessions) != 0 || w0->nat.borrowed_live != 0 ||
		    w0->nat.ports_in_use[0][0] != 0 || w1->nat.ports_in_use[0][0] != 0 ||
		    nat_ctr(x, 0, EPH_NAT_loans_lost) + nat_ctr(x, 1, EPH_NAT_loans_lost) != 0)
			bench_fail(x,
				   "pass %" PRIu64 ": %" PRIu64
				   " loans returned of %u, %u on loan, "
				   "%u loan records, %u borrowed live, ports in use %" PRIu64
				   " + %" PRIu64 ", %" PRIu64 " returns lost",
				   pass, nat_ctr(x, 1, EPH_NAT_loans_returned) - back, per_pass,
				   w1->nat.lent_to[0], w1->nat.loan_sessions, w0->nat.borrowed_live,
				   w0->nat.ports_in_use[0][0], w1->nat.ports_in_use[0][0],
				   nat_ctr(x, 0, EPH_NAT_loans_lost) +
					   nat_ctr(x, 1, EPH_NAT_loans_lost));
		clock += (uint64_t)(QUARANTINE_S + 1) * x->tsc_hz;
		run_timers(w0, clock, 1000000, no_destinations, NULL);
		run_timers(w1, clock, 1000000, no_destinations, NULL);
		if (!no_destinations(w0) || !no_destinations(w1) ||
		    eph_portalloc_audit(w0->nat.alloc[0][0]) != 0 ||
		    eph_portalloc_audit(w1->nat.alloc[0][0]) != 0)
			bench_fail(x, "pass %" PRIu64 ": allocator destinations left %u + %u", pass,
				   eph_portalloc_stats(w0->nat.alloc[0][0])->destinations,
				   eph_portalloc_stats(w1->nat.alloc[0][0])->destinations);
		if (rte_hash_count(w0->nat.hosts) != 0)
			bench_fail(x, "pass %" PRIu64 ": %d inside hosts still tracked", pass,
				   rte_hash_count(w0->nat.hosts));
		no_drops(x, "while the sessions expired");
		flows_forget(&f);
		bench_progress(x, "passes", pass + 1, passes);
	}
	bench_timer_done(&r->t);
	bench_timer_done(&own);
	rte_pktmbuf_free_bulk(pkts, B_BURST);

	r->sessions = 2 * per_pass;
	r->packets = passes * per_pass;
	if (own.units == 0 || r->t.units == 0)
		bench_fail(x, "no segment kept (own %" PRIu64 ", borrowed %" PRIu64 " excluded)",
			   own.excluded, r->t.excluded);
	r->own_cycles = (double)own.cycles / own.units;
	r->own_ns = r->own_cycles * 1e9 / x->tsc_hz;
	r->borrowed_cycles = (double)r->t.cycles / r->t.units;
	r->borrowed_ns = r->borrowed_cycles * 1e9 / x->tsc_hz;
	r->t.excluded += own.excluded;
	r->bytes_per_session = bytes_per_session(x, w0);
	if (x->o->verbose)
		fprintf(stderr,
			"ephemera-bench: %s: %" PRIu64 " passes: borrow requests %" PRIu64
			", borrowed %" PRIu64 ", lent %" PRIu64 ", returned %" PRIu64
			", refused %" PRIu64 "; worker 0 allocator refusals %" PRIu64
			", exhaustion counted %" PRIu64 "\n",
			c->name, passes, nat_ctr(x, 0, EPH_NAT_borrow_requests),
			nat_ctr(x, 0, EPH_NAT_ports_borrowed), nat_ctr(x, 1, EPH_NAT_ports_lent),
			nat_ctr(x, 1, EPH_NAT_loans_returned),
			nat_ctr(x, 0, EPH_NAT_lend_refused) + nat_ctr(x, 1, EPH_NAT_lend_refused),
			eph_portalloc_stats(w0->nat.alloc[0][0])->exhausted,
			w0->nat.exhausted[0][0]);
	bench_flows_free(&f);
}

static __rte_noinline void
alloc_refused(struct bench_ctx *x, const struct eph_portalloc *pa, int rc, uint64_t round,
	      uint32_t j, uint32_t d)
{
	const struct eph_portalloc_stats *st = eph_portalloc_stats(pa);

	bench_fail(x,
		   "round %" PRIu64 ": allocation %u for destination %u refused (%s): "
		   "%u destinations, chunks %u in use + %u reserved of %u",
		   round, j, d, rte_strerror(-rc), st->destinations, st->chunks_in_use,
		   st->chunks_reserved, st->chunks_max);
}

/*
 * The port allocator alone: rounds of ALLOC_PER_DEST ports for each of
 * ALLOC_DESTS destinations (interleaved, as traffic would), then all
 * released; alternate rounds release cleanly or into quarantine. Timed in
 * sweeps of ALLOC_SWEEP operations.
 */
static void
run_alloc(struct bench_ctx *x, struct bench_result *r)
{
	const struct bench_case *c = x->c;
	const uint32_t live = ALLOC_DESTS * ALLOC_PER_DEST;
	uint64_t rounds = RTE_MAX((uint64_t)1, c->packets / (2 * live));
	uint64_t now = 0;
	struct eph_portalloc_conf pc = {
		.port_lo = 1024,
		.port_hi = 65535,
		.worker = 0,
		.n_workers = 1,
		.quarantine = QUARANTINE_S * EPH_NAT_TICK_HZ,
		.max_destinations = 4 * ALLOC_DESTS,
		/*
		 * Fresh ports go first, so every port released stays in its
		 * destination's FIFO until the share has been walked once:
		 * room for all of them (the default would run out in round 7).
		 */
		.max_chunks = (uint32_t)(ALLOC_DESTS * (rounds * ALLOC_PER_DEST / 32 + 4)),
		.secret = {SEED, ~SEED},
		.socket_id = (int)rte_socket_id(),
		.name = "bench_alloc",
	};
	struct eph_dest_key *keys = calloc(ALLOC_DESTS, sizeof(*keys));
	uint16_t *ports = malloc(live * sizeof(*ports));
	uint64_t *seen = calloc((size_t)ALLOC_DESTS * 65536 / 64, sizeof(uint64_t));
	struct bench_timer ta, tr;
	const struct eph_portalloc_stats *st;
	struct eph_portalloc *pa;
	size_t before = heap_in_use(), bytes;

	bench_timer_init(&ta, x->tsc_hz);
	bench_timer_init(&tr, x->tsc_hz);
	if (keys == NULL || ports == NULL || seen == NULL)
		bench_fail(x, "no memory for the allocator bench");
	pa = eph_portalloc_create(&pc);
	if (pa == NULL)
		bench_fail(x, "eph_portalloc_create: %s", rte_strerror(rte_errno));
	bytes = heap_in_use() - before;
	for (uint32_t d = 0; d < ALLOC_DESTS; d++)
		keys[d] = (struct eph_dest_key){
			.out_addr = rte_cpu_to_be_32(B_POOL_BASE + d % 4),
			.remote_addr = rte_cpu_to_be_32(B_REMOTE_NET + d / 4),
			.remote_port = RTE_BE16(53),
			.proto = IPPROTO_UDP,
		};

	for (uint64_t k = 0; k < rounds; k++) {
		for (uint32_t j = 0; j < ALLOC_PER_DEST; j++)
			for (uint32_t d0 = 0; d0 < ALLOC_DESTS; d0 += ALLOC_SWEEP) {
				bench_timer_start(&ta);
				for (uint32_t d = d0; d < d0 + ALLOC_SWEEP; d++) {
					int rc =
						eph_portalloc_alloc(pa, &keys[d], 0, now,
								    &ports[d * ALLOC_PER_DEST + j]);

					if (unlikely(rc != 0))
						alloc_refused(x, pa, rc, k, j, d);
				}
				bench_timer_stop(&ta, ALLOC_SWEEP);
			}

		/* Every port in range and none twice for one destination. */
		for (uint32_t q = 0; q < live; q++) {
			uint64_t bit = (uint64_t)(q / ALLOC_PER_DEST) * 65536 + ports[q];

			if (ports[q] < pc.port_lo || (seen[bit / 64] & (1ULL << (bit % 64))))
				bench_fail(x, "port %u handed out twice or out of range", ports[q]);
			seen[bit / 64] |= 1ULL << (bit % 64);
		}
		memset(seen, 0, (size_t)ALLOC_DESTS * 65536 / 8);

		for (uint32_t j = 0; j < ALLOC_PER_DEST; j++)
			for (uint32_t d0 = 0; d0 < ALLOC_DESTS; d0 += ALLOC_SWEEP) {
				bench_timer_start(&tr);
				for (uint32_t d = d0; d < d0 + ALLOC_SWEEP; d++)
					eph_portalloc_release(pa, &keys[d],
							      ports[d * ALLOC_PER_DEST + j], now,
							      (k & 1) != 0);
				bench_timer_stop(&tr, ALLOC_SWEEP);
			}
		now += pc.quarantine / 4; /* quarantined ports rest within a few rounds */
		bench_progress(x, "allocator rounds", k + 1, rounds);
	}

	st = eph_portalloc_stats(pa);
	if (st->allocs != rounds * live || st->releases != rounds * live || st->lost != 0 ||
	    st->bad_release != 0 || eph_portalloc_audit(pa) != 0)
		bench_fail(x,
			   "allocator: %" PRIu64 " allocs, %" PRIu64 " releases, %" PRIu64
			   " lost, %" PRIu64 " bad, audit %d",
			   st->allocs, st->releases, st->lost, st->bad_release,
			   eph_portalloc_audit(pa));
	for (uint32_t d = 0; d < ALLOC_DESTS; d++)
		if (eph_portalloc_live(pa, &keys[d]) != 0)
			bench_fail(x, "destination %u still has live ports", d);

	r->sessions = live;
	r->packets = 2 * rounds * live;
	bench_timer_done(&ta);
	bench_timer_done(&tr);
	r->t = ta;
	r->t.cycles += tr.cycles;
	r->t.units += tr.units;
	r->t.excluded += tr.excluded;
	r->alloc_ns = ta.units ? (double)ta.cycles * 1e9 / x->tsc_hz / ta.units : 0;
	r->release_ns = tr.units ? (double)tr.cycles * 1e9 / x->tsc_hz / tr.units : 0;
	/* Heap taken by the allocator (hash, records, FIFO chunk pool) per live port. */
	r->bytes_per_session = (double)bytes / live;
	eph_portalloc_free(pa);
	free(keys);
	free(ports);
	free(seen);
}

/*
 * Maglev tables as the control lcore builds them for a VIP: 10 and 100
 * backends on 65537 slots, 1000 on 100003 (at least 100 slots a backend),
 * weights mixed. Each size built c->packets / 3 times; the median build
 * is reported per size. Checks: every slot names a backend with a weight,
 * each holds its share to within one slot, and a rebuild is identical.
 */
static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
run_maglev(struct bench_ctx *x, struct bench_result *r)
{
	static const uint32_t sizes[3] = {10, 100, 1000};
	const uint32_t builds = (uint32_t)RTE_MAX(x->c->packets / 3, (uint64_t)1);
	struct eph_maglev_backend *b = calloc(1000, sizeof(*b));
	uint16_t *t = malloc(100003 * sizeof(*t)), *again = malloc(100003 * sizeof(*again));
	uint32_t *count = calloc(1000, sizeof(*count));
	double *ms = calloc(builds, sizeof(*ms));

	if (b == NULL || t == NULL || again == NULL || count == NULL || ms == NULL)
		bench_fail(x, "no memory for the Maglev bench");
	bench_timer_init(&r->t, x->tsc_hz);
	for (unsigned int k = 0; k < 3; k++) {
		uint32_t n = sizes[k], m = n == 1000 ? 100003 : EPH_MAGLEV_SIZE_DEFAULT;
		uint64_t total = 0;

		for (uint32_t i = 0; i < n; i++) {
			b[i] = (struct eph_maglev_backend){
				.addr = rte_cpu_to_be_32(B_IPV4(198, 18, i / 250, i % 250 + 1)),
				.port = RTE_BE16(8080),
				.weight = (uint16_t)(i % 7 == 3 ? 0 : 50 + (i * 37) % 200),
			};
			total += b[i].weight;
		}
		for (uint32_t j = 0; j < builds; j++) {
			uint64_t t0 = rte_rdtsc();
			int rc = eph_maglev_build(b, n, m, j == 0 ? t : again);

			ms[j] = (double)(rte_rdtsc() - t0) * 1e3 / x->tsc_hz;
			if (rc != 0)
				bench_fail(x, "eph_maglev_build of %u backends: %d", n, rc);
			r->t.cycles += rte_rdtsc() - t0;
			r->t.units++;
			if (j > 0 && memcmp(t, again, m * sizeof(*t)) != 0)
				bench_fail(x, "two builds of %u backends differ", n);
		}
		memset(count, 0, n * sizeof(*count));
		for (uint32_t s = 0; s < m; s++) {
			if (t[s] >= n || b[t[s]].weight == 0)
				bench_fail(x, "slot %u names backend %u of %u", s, t[s], n);
			count[t[s]]++;
		}
		for (uint32_t i = 0; i < n; i++) {
			double want = (double)m * b[i].weight / (double)total;

			if (count[i] + 1 < want || count[i] > want + 1)
				bench_fail(x, "backend %u of %u: %u slots, %.1f wanted", i, n,
					   count[i], want);
		}
		qsort(ms, builds, sizeof(*ms), cmp_double);
		r->maglev_ms[k] = ms[builds / 2];
	}
	r->sessions = 1000;
	r->packets = r->t.units;
	free(b);
	free(t);
	free(again);
	free(count);
	free(ms);
}

void
bench_case_run(struct bench_ctx *x, struct bench_result *r)
{
	switch (x->c->kind) {
	case B_BASELINE:
		r->packets = x->c->packets;
		r->baseline_mpps = bench_baseline(x, x->c->packets, &r->t);
		break;
	case B_ALLOC:
		run_alloc(x, r);
		break;
	case B_NEW:
		run_new(x, r);
		break;
	case B_TEARDOWN:
		run_teardown(x, r);
		break;
	case B_ESTABLISHED:
		run_established(x, r);
		break;
	case B_EXHAUSTED:
		run_exhausted(x, r);
		break;
	case B_HANDOFF:
		run_handoff(x, r);
		break;
	case B_BORROW:
		run_borrow(x, r);
		break;
	case B_MAGLEV:
		run_maglev(x, r);
		break;
	case B_FRAGMENTS:
		run_fragments(x, r);
		break;
	case B_LB_NEW:
	case B_LB_ESTABLISHED:
	case B_LB_PROXY:
	case B_LB_SYN_FLOOD:
	case B_LB_SYN_COOKIE:
	case B_LB_COOKIE_ACK:
		bench_lb_run(x, r);
		break;
	}
}

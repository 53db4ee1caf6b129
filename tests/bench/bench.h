/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ephemera-bench: what the driver (bench.c), the packet kit (flows.c) and
 * the cases (cases.c) share. One case runs in one process: the daemon's
 * real data plane on two net_ring ports (tx loops back to rx), driven from
 * the main lcore through worker 0's struct, as the unit-test harness does
 * (handoff and borrow: through both workers' structs, in turn).
 */
#ifndef EPH_BENCH_H
#define EPH_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>

#include <rte_cycles.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "control/config.h"
#include "dataplane/dp.h"

/* DPDK 22.11's RTE_IPV4 shifts a signed int into the sign bit (UB): ours is unsigned. */
#define B_IPV4(a, b, c, d)                                                                         \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

/*
 * The bench's network (host order):
 *   port 0 "inside"  10.0.0.1/16: hosts 10.0.16.0 + h, h < B_MAX_HOSTS
 *   port 1 "outside" 203.0.113.1/24, router 203.0.113.10
 *   route 198.51.100.0/24 via the router: remotes 198.51.100.1-64, ports 5000-5003
 *   pool 203.0.113.100 .. +n-1, ports 1024-65535 (exhausted: 20000-20015)
 */
#define B_IN          0
#define B_OUT         1
#define B_IN_ADDR     B_IPV4(10, 0, 0, 1)
#define B_HOST_BASE   B_IPV4(10, 0, 16, 0)
#define B_MAX_HOSTS   1024u
#define B_OUT_ADDR    B_IPV4(203, 0, 113, 1)
#define B_ROUTER      B_IPV4(203, 0, 113, 10)
#define B_REMOTE_NET  B_IPV4(198, 51, 100, 0)
#define B_N_REMOTES   256u /* remote endpoints: 64 addresses x 4 ports */
#define B_REMOTE_PORT 5000
#define B_POOL_BASE   B_IPV4(203, 0, 113, 100)
#define B_MAX_POOL    8u
#define B_BURST       32
#define B_FRAME_LEN   60 /* 14 + 20 + UDP 8 + 18, or TCP 20 + 6: minimum Ethernet */
#define B_TTL         64

/* Exit codes: 1 the machine refused (hugepages, EAL); 2 a correctness check failed. */
#define B_EXIT_MACHINE 1
#define B_EXIT_CHECK   2

enum bench_kind {
	B_BASELINE,
	B_ALLOC,
	B_NEW,
	B_TEARDOWN,
	B_ESTABLISHED,
	B_EXHAUSTED,
	B_HANDOFF,
	B_BORROW,
	B_MAGLEV,
	B_LB_NEW,
	B_LB_ESTABLISHED,
	B_LB_PROXY, /* established, TCP, through a VIP with proxy-protocol v2 */
	B_LB_SYN_FLOOD,
	B_FRAGMENTS, /* established UDP flows whose datagrams come in four fragments */
	B_LB_SYN_COOKIE, /* SYNs to a syn-proxy VIP answered with cookies */
	B_LB_COOKIE_ACK, /* ... and the cookie ACKs that open connections */
};

struct bench_case {
	char name[48];
	enum bench_kind kind;
	uint8_t proto;     /* IPPROTO_UDP or IPPROTO_TCP */
	bool zipf;         /* established: flow popularity */
	uint32_t sessions; /* flows, and sessions-per-worker */
	uint64_t packets;  /* timed packets (traversals), or operations */
};

struct bench_opts {
	bool quick;
	bool no_huge;
	bool verbose;
	int cpu; /* the one CPU every lcore runs on */
};

/*
 * Accumulated timings of intervals. This box is shared: the intervals are
 * grouped in segments of at least a millisecond, and a segment during
 * which the thread was switched out is left out and counted (one 4 ms
 * time slice is 8M cycles, more than a whole small case). The switch
 * count is a system call, so it is read once per segment only: one per
 * interval would cool the caches and predictors for the timed code.
 */
struct bench_timer {
	uint64_t cycles;   /* kept segments */
	uint64_t units;    /* packets (operations) in the kept segments */
	uint64_t excluded; /* segments left out */
	uint64_t seg_cycles, seg_units, seg_t0, seg_sw, seg_len;
	bool seg_open;
	uint64_t t0; /* the open interval */
};

static inline uint64_t
bench_ctx_switches(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return (uint64_t)ru.ru_nvcsw + (uint64_t)ru.ru_nivcsw;
}

static inline void
bench_timer_init(struct bench_timer *t, uint64_t tsc_hz)
{
	*t = (struct bench_timer){.seg_len = tsc_hz / 1000};
}

/* Close the open segment: keep it unless the thread was switched out meanwhile. */
static inline void
bench_timer_done(struct bench_timer *t)
{
	if (!t->seg_open)
		return;
	t->seg_open = false;
	if (bench_ctx_switches() != t->seg_sw) {
		t->excluded++;
		return;
	}
	t->cycles += t->seg_cycles;
	t->units += t->seg_units;
}

static inline void
bench_timer_start(struct bench_timer *t)
{
	if (!t->seg_open) {
		t->seg_open = true;
		t->seg_cycles = 0;
		t->seg_units = 0;
		t->seg_sw = bench_ctx_switches();
		t->seg_t0 = rte_rdtsc();
	}
	t->t0 = rte_rdtsc();
}

static inline void
bench_timer_stop(struct bench_timer *t, uint64_t units)
{
	uint64_t now = rte_rdtsc();

	t->seg_cycles += now - t->t0;
	t->seg_units += units;
	if (now - t->seg_t0 >= t->seg_len)
		bench_timer_done(t);
}

/* What one case reports: one JSON line. */
struct bench_result {
	uint32_t sessions;
	uint64_t packets;     /* packets (operations) processed */
	struct bench_timer t; /* the timed ones */
	double baseline_mpps;
	double bytes_per_session;
	double host_bytes_per_session;
	uint64_t mismatches;
	/* new sessions only (0: not reported): ns per session while filling the last tenth */
	double last_tenth_ns;
	/* alloc only (< 0: not reported) */
	double alloc_ns;
	double release_ns;
	/* borrow only (0: not reported): per new session, port of the own share or borrowed */
	double own_ns, own_cycles;
	double borrowed_ns, borrowed_cycles;
	/* maglev_build only (0: not reported): ms per table of 10, 100 and 1000 backends */
	double maglev_ms[3];
};

/* The running case: its data plane and what the checks need. */
struct bench_ctx {
	const struct bench_case *c;
	const struct bench_opts *o;
	struct eph_conf conf;
	struct eph_dp dp;
	uint64_t tsc_hz;
	unsigned int n_pool;
	uint32_t pool[B_MAX_POOL]; /* host order, sorted */
	struct rte_ether_addr router_mac;
	uint64_t mismatches;
};

/* A flow's packets and its translation as seen from the outside. */
struct bench_flows {
	uint32_t n;
	uint8_t proto;
	uint32_t n_hosts;
	uint32_t n_remotes; /* remote endpoints flows spread over (B_N_REMOTES, or 1) */
	uint16_t *hosts;    /* host slot -> host number (handoff keeps worker 0's hosts) */
	uint32_t *map;      /* per flow: 0, or 1 << 31 | pool index << 16 | outside port */
	int8_t *host_addr;  /* per host number: its pool address index, -1 before the first */
	uint64_t *used;     /* bitmap [pool index][remote][port]: ports per destination */
};

struct bench_tuple {
	uint32_t in_addr, remote_addr; /* host order */
	uint16_t in_port, remote_port; /* host order */
	uint16_t host;                 /* host number */
	uint16_t remote;               /* remote endpoint, < B_N_REMOTES */
};

/* ---- bench.c --------------------------------------------------------- */

/* Print "ephemera-bench: FAIL: ..." and the drop counters, exit 2. */
void bench_fail(struct bench_ctx *x, const char *fmt, ...) __rte_format_printf(2, 3) __rte_noreturn;
/* At most one progress line a second on stderr. */
void bench_progress(struct bench_ctx *x, const char *phase, uint64_t done, uint64_t total);
/* The minimal forwarder on the same ports and mbufs: traversals per second / 1e6. */
double bench_baseline(struct bench_ctx *x, uint64_t packets, struct bench_timer *t);
/* Flush worker w's tx buffer of port p, then read what p transmitted on w's queue. */
uint16_t bench_sent(struct bench_ctx *x, struct eph_worker *w, uint16_t p, struct rte_mbuf **pkts,
		    uint16_t max);
void bench_neigh_add(struct bench_ctx *x, uint16_t port, uint32_t ip_host,
		     const struct rte_ether_addr *mac);
uint64_t bench_drops(struct bench_ctx *x, enum eph_drop_reason why);

/* ---- lb.c: the balancer's cases --------------------------------------- */

void bench_lb_conf(const struct bench_case *c, struct eph_conf *conf, unsigned int *n_pool);
void bench_lb_run(struct bench_ctx *x, struct bench_result *r);

/* ---- flows.c --------------------------------------------------------- */

int bench_flows_init(struct bench_flows *f, uint32_t n, uint8_t proto, const uint16_t *hosts,
		     uint32_t n_hosts);
void bench_flows_free(struct bench_flows *f);
void bench_tuple(const struct bench_flows *f, uint32_t i, struct bench_tuple *t);
void bench_host_mac(uint16_t host, struct rte_ether_addr *mac);

/* Write flow i's inside packet (TTL 64, tcp_flags for TCP) into m, B_FRAME_LEN bytes. */
void bench_inside_packet(struct bench_ctx *x, const struct bench_flows *f, uint32_t i,
			 uint8_t tcp_flags, struct rte_mbuf *m);
/* The reply the remote sends to flow i's mapping, as it reaches the outside port. */
void bench_reply_packet(struct bench_ctx *x, const struct bench_flows *f, uint32_t i,
			uint8_t tcp_flags, struct rte_mbuf *m);
/* Any frame of the bench's shape (B_FRAME_LEN bytes, TTL 64, full checksums); addresses host order. */
void bench_frame(struct rte_mbuf *m, const struct rte_ether_addr *src_mac,
		 const struct rte_ether_addr *dst_mac, uint32_t src, uint32_t dst, uint16_t sport,
		 uint16_t dport, uint8_t proto, uint8_t tcp_flags, uint32_t tag);
/* Swap MACs, addresses and ports in place: the packet becomes its reply. */
void bench_turnaround(struct rte_mbuf *m);
/* Set the TCP flags and recompute the TCP checksum (a SYN becomes a SYN-ACK). */
void bench_set_tcp_flags(struct rte_mbuf *m, uint8_t flags);

/*
 * Check what left the outside port for flow i byte by byte against the
 * packet built from first principles (full checksums); learn the mapping
 * the first time (address from the pool, paired per host, port unique per
 * destination and owned by worker `owner` of n_workers), then insist on it.
 * Returns 0, or 1 after counting and printing a mismatch.
 */
int bench_check_outside(struct bench_ctx *x, struct bench_flows *f, uint32_t i, uint8_t tcp_flags,
			struct rte_mbuf *m, unsigned int owner, unsigned int n_workers);
/*
 * Check what left the inside port after a round trip: turned back, it must
 * equal flow i's inside packet in every byte but TTL (64 - 2, checked) and
 * the IP header checksum (must verify). Returns 0, or 1 after counting.
 */
int bench_check_inside(struct bench_ctx *x, const struct bench_flows *f, uint32_t i,
		       uint8_t tcp_flags, struct rte_mbuf *m);

/* n flow indices in [0, flows): uniform, or Zipf s = 1.0 with popular ranks spread out. */
uint32_t *bench_sequence(uint32_t flows, uint64_t n, bool zipf, uint64_t seed);
uint64_t bench_rand(uint64_t *state);

/* ---- cases.c --------------------------------------------------------- */

/* Fill the configuration a case needs (sizes, pool, workers). */
void bench_case_conf(const struct bench_case *c, struct eph_conf *conf, unsigned int *n_pool);
/* EAL memory (-m) in MiB a case needs. */
unsigned int bench_case_memory_mb(const struct bench_case *c);
/* Run the case's timed work into r. */
void bench_case_run(struct bench_ctx *x, struct bench_result *r);

#endif /* EPH_BENCH_H */

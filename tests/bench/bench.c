/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ephemera-bench: benchmarks of the SNAT44 data plane, and a correctness
 * check of it (every translated packet is compared byte by byte).
 *
 *   ephemera-bench [--quick] [--case NAME|PREFIX] [--no-huge] [--cpu N] [--list]
 *
 * Every case runs in its own process (the driver re-executes itself with
 * --child), because each sizes the session table to itself and DPDK's EAL
 * initialises once per process. A case prints one JSON line on stdout; the
 * driver passes them on and ends with a table on stderr. Exit status: 0,
 * 1 when the machine refused (hugepages, EAL), 2 when a check failed.
 *
 * Checks: what leaves the outside port equals, byte for byte, the packet
 * built from first principles (full checksums); what comes back inside,
 * turned around, equals what the host sent in every byte but the TTL
 * (sent - 2, checked) and the IP header checksum (must verify).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>

#include "control/startup.h"
#include "control/stats.h"
#include "tests/bench/bench.h"

#define MAX_CASES 32
#define K         1024u
#define M         (1024u * 1024u)

/* ---- the cases --------------------------------------------------------- */

static unsigned int
add_case(struct bench_case *list, unsigned int n, const char *name, enum bench_kind kind,
	 uint8_t proto, bool zipf, uint32_t sessions, uint64_t packets)
{
	struct bench_case *c = &list[n];

	snprintf(c->name, sizeof(c->name), "%s", name);
	c->kind = kind;
	c->proto = proto;
	c->zipf = zipf;
	c->sessions = sessions;
	c->packets = packets;
	return n + 1;
}

static unsigned int
build_cases(bool quick, struct bench_case *list)
{
	static const struct {
		const char *name;
		uint32_t n;
	} sizes[] = {{"1k", K}, {"64k", 64 * K}, {"1m", M}, {"4m", 4 * M}};
	uint64_t pkts = quick ? 64 * K : 4 * M;
	uint32_t grow = quick ? 64 * K : M;
	unsigned int n = 0;

	n = add_case(list, n, "baseline", B_BASELINE, IPPROTO_UDP, false, 0,
		     quick ? 256 * K : 8 * M);
	n = add_case(list, n, "alloc", B_ALLOC, 0, false, 0, quick ? M : 8 * M);
	n = add_case(list, n, "new_sessions", B_NEW, IPPROTO_UDP, false, grow, grow);
	n = add_case(list, n, "new_sessions_tcp", B_NEW, IPPROTO_TCP, false, grow, grow);
	n = add_case(list, n, "teardown", B_TEARDOWN, IPPROTO_UDP, false, grow, grow);
	for (unsigned int p = 0; p < 2; p++)
		for (unsigned int s = 0; s < RTE_DIM(sizes); s++)
			for (unsigned int z = 0; z < 2; z++) {
				char name[48];

				if (quick && sizes[s].n > 64 * K)
					continue;
				snprintf(name, sizeof(name), "established_%s_%s_%s",
					 p ? "tcp" : "udp", sizes[s].name, z ? "zipf" : "uniform");
				n = add_case(list, n, name, B_ESTABLISHED,
					     p ? IPPROTO_TCP : IPPROTO_UDP, z, sizes[s].n, pkts);
			}
	n = add_case(list, n, "exhausted", B_EXHAUSTED, IPPROTO_UDP, false, 16, pkts);
	n = add_case(list, n, "handoff", B_HANDOFF, IPPROTO_UDP, false, quick ? K : 64 * K, pkts);
	/* sessions: per pass (own + borrowed, see run_borrow); packets: borrowed sessions timed */
	n = add_case(list, n, "borrow", B_BORROW, IPPROTO_UDP, false, 16 * K, quick ? 16 * K : M);
	/* sessions: backends of the largest table; packets: tables built */
	n = add_case(list, n, "maglev_build", B_MAGLEV, 0, false, 1000, quick ? 6 : 30);
	/* The balancer: full-NAT onto 16 backends (tests/bench/lb.c). */
	n = add_case(list, n, "lb_new_connections", B_LB_NEW, IPPROTO_UDP, false, grow, grow);
	/* TCP SYNs: each joins the half-open list (the bound not reached), ... */
	n = add_case(list, n, "lb_new_connections_tcp", B_LB_NEW, IPPROTO_TCP, false, grow, grow);
	/* ... and at the default bound (1/16 of the table) each replaces the oldest. */
	n = add_case(list, n, "lb_syn_flood", B_LB_SYN_FLOOD, IPPROTO_TCP, false, grow, grow);
	n = add_case(list, n, "lb_established_64k", B_LB_ESTABLISHED, IPPROTO_UDP, false, 64 * K,
		     pkts);
	if (!quick)
		n = add_case(list, n, "lb_established_1m", B_LB_ESTABLISHED, IPPROTO_UDP, false, M,
			     pkts);
	/* TCP data both ways: a plain VIP, and one whose connections carry a PROXY header. */
	n = add_case(list, n, "lb_established_tcp_64k", B_LB_ESTABLISHED, IPPROTO_TCP, false,
		     64 * K, pkts);
	n = add_case(list, n, "lb_established_tcp_proxy_64k", B_LB_PROXY, IPPROTO_TCP, false,
		     64 * K, pkts);
	/* Datagrams of 96 bytes of UDP in four 24-byte fragments, on 1k established flows. */
	n = add_case(list, n, "fragments_1k", B_FRAGMENTS, IPPROTO_UDP, false, K, pkts);
	/* syn-proxy: SYNs answered with cookies (no state), then the ACKs that open. */
	n = add_case(list, n, "lb_syn_cookies", B_LB_SYN_COOKIE, IPPROTO_TCP, false, grow, grow);
	n = add_case(list, n, "lb_cookie_acks", B_LB_COOKIE_ACK, IPPROTO_TCP, false, grow, grow);
	return n;
}

/* ---- shared helpers ---------------------------------------------------- */

uint64_t
bench_drops(struct bench_ctx *x, enum eph_drop_reason why)
{
	struct eph_counters total;

	eph_stats_total(&x->dp, &total);
	return total.drop[why];
}

void
bench_fail(struct bench_ctx *x, const char *fmt, ...)
{
	struct eph_counters total;
	va_list ap;

	fprintf(stderr, "ephemera-bench: %s: FAIL: ", x->c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	eph_stats_total(&x->dp, &total);
	for (unsigned int d = 0; d < EPH_DROP_MAX; d++)
		if (total.drop[d] != 0)
			fprintf(stderr, "ephemera-bench:   drop %s: %" PRIu64 "\n",
				eph_drop_names[d], total.drop[d]);
	fflush(stdout);
	rmdir(rte_eal_get_runtime_dir()); /* empty: no runtime files (see run_child) */
	exit(B_EXIT_CHECK);
}

void
bench_progress(struct bench_ctx *x, const char *phase, uint64_t done, uint64_t total)
{
	static uint64_t next;
	uint64_t now = rte_rdtsc();

	if (next == 0)
		next = now + x->tsc_hz; /* nothing for phases shorter than a second */
	if (now < next)
		return;
	fprintf(stderr, "ephemera-bench: %s: %s %" PRIu64 "/%" PRIu64 "\n", x->c->name, phase, done,
		total);
	next = now + 2 * x->tsc_hz;
}

uint16_t
bench_sent(struct bench_ctx *x, struct eph_worker *w, uint16_t p, struct rte_mbuf **pkts,
	   uint16_t max)
{
	uint16_t pid = x->dp.ports[p].port_id;

	w->stats.port[p].tx += rte_eth_tx_buffer_flush(pid, w->id, w->txb[p]);
	/* net_ring loops a queue's tx back to its rx: read what was sent. */
	return rte_eth_rx_burst(pid, w->id, pkts, max);
}

void
bench_neigh_add(struct bench_ctx *x, uint16_t port, uint32_t ip_host,
		const struct rte_ether_addr *mac)
{
	struct eph_neigh *n = eph_neigh_find(&x->dp.neigh, port, rte_cpu_to_be_32(ip_host));

	if (n == NULL)
		n = eph_neigh_create(&x->dp.neigh, port, rte_cpu_to_be_32(ip_host));
	if (n == NULL)
		bench_fail(x, "cannot add neighbour %08x", ip_host);
	n = eph_neigh_set_mac(&x->dp.neigh, n, mac);
	n->state = EPH_NEIGH_REACHABLE;
}

/*
 * The floor: the same mbufs, ports and buffered tx, with a forwarder that
 * only swaps MACs (l2fwd's work), timed the same way as the cases.
 */
double
bench_baseline(struct bench_ctx *x, uint64_t packets, struct bench_timer *t)
{
	struct eph_worker *w = x->dp.workers[0];
	uint64_t bursts = RTE_MAX((uint64_t)1, packets / (2 * B_BURST));
	struct rte_mbuf *pkts[B_BURST];
	struct rte_ether_hdr first;
	struct bench_flows f;
	uint16_t host0 = 0;

	bench_timer_init(t, x->tsc_hz);
	if (bench_flows_init(&f, 1, IPPROTO_UDP, &host0, 1) != 0 ||
	    rte_pktmbuf_alloc_bulk(x->dp.pool, pkts, B_BURST) != 0)
		bench_fail(x, "baseline: no memory");
	for (unsigned int j = 0; j < B_BURST; j++)
		bench_inside_packet(x, &f, 0, 0, pkts[j]);
	first = *rte_pktmbuf_mtod(pkts[0], struct rte_ether_hdr *);

	for (uint64_t b = 0; b < bursts; b++) {
		for (uint16_t leg = 0; leg < 2; leg++) {
			uint16_t to = leg == 0 ? B_OUT : B_IN;
			uint16_t pid = x->dp.ports[to].port_id;
			uint16_t n;

			bench_timer_start(t);

			for (unsigned int j = 0; j < B_BURST; j++) {
				struct rte_ether_hdr *eth =
					rte_pktmbuf_mtod(pkts[j], struct rte_ether_hdr *);
				struct rte_ether_addr mac = eth->src_addr;

				eth->src_addr = eth->dst_addr;
				eth->dst_addr = mac;
				w->stats.port[to].tx +=
					rte_eth_tx_buffer(pid, 0, w->txb[to], pkts[j]);
			}
			n = bench_sent(x, w, to, pkts, B_BURST);
			bench_timer_stop(t, B_BURST);
			if (n != B_BURST)
				bench_fail(x, "baseline: %u of %u packets came back", n, B_BURST);
		}
		bench_progress(x, "baseline", b + 1, bursts);
	}
	bench_timer_done(t);
	for (unsigned int j = 0; j < B_BURST; j++)
		if (memcmp(rte_pktmbuf_mtod(pkts[j], void *), &first, sizeof(first)) != 0)
			bench_fail(x, "baseline: packet %u changed on the way", j);
	rte_pktmbuf_free_bulk(pkts, B_BURST);
	bench_flows_free(&f);
	if (x->o->verbose)
		fprintf(stderr,
			"ephemera-bench: %s: baseline %" PRIu64 " bursts, %" PRIu64
			" cycles, %" PRIu64 " excluded\n",
			x->c->name, bursts, t->cycles, t->excluded);
	return t->cycles ? (double)t->units * x->tsc_hz / t->cycles / 1e6 : 0;
}

/* ---- hugepages ------------------------------------------------------------- */

static unsigned long
read_ulong(const char *path)
{
	FILE *fp = fopen(path, "r");
	unsigned long v = 0;

	if (fp == NULL)
		return 0;
	if (fscanf(fp, "%lu", &v) != 1)
		v = 0;
	fclose(fp);
	return v;
}

/*
 * Enough free hugepage memory for need_mb, or one line naming the fix. The
 * EAL's -m memory is taken at start-up, so its own failure would be vaguer.
 */
static int
check_hugepages(const char *what, unsigned int need_mb)
{
	const char *d2 = "/sys/kernel/mm/hugepages/hugepages-2048kB/";
	char path[128];
	unsigned long free_mb, nr, free2;

	snprintf(path, sizeof(path), "%sfree_hugepages", d2);
	free2 = read_ulong(path);
	free_mb = free2 * 2 +
		  read_ulong("/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages") * 1024;
	if (free_mb >= need_mb)
		return 0;
	snprintf(path, sizeof(path), "%snr_hugepages", d2);
	nr = read_ulong(path);
	fprintf(stderr,
		"ephemera-bench: error: %s needs %u MiB of hugepages, %lu MiB are free: "
		"reserve them with 'sysctl -w vm.nr_hugepages=%lu' (2 MiB pages) or run "
		"with --no-huge\n",
		what, need_mb, free_mb, nr + (need_mb - free_mb + 1) / 2);
	return -1;
}

/* ---- one case, in this process ------------------------------------------ */

static void
print_json(const struct bench_ctx *x, const struct bench_result *r)
{
	const struct bench_timer *t = &r->t;
	double secs = (double)t->cycles / x->tsc_hz;
	double mpps = secs > 0 ? t->units / secs / 1e6 : 0;
	double ns = t->units ? secs * 1e9 / t->units : 0;
	double cyc = t->units ? (double)t->cycles / t->units : 0;

	printf("{\"case\":\"%s\",\"sessions\":%u,\"packets\":%" PRIu64 ",\"mpps\":%.3f,"
	       "\"ns_per_pkt\":%.1f,\"cycles_per_pkt\":%.1f,\"baseline_mpps\":%.3f,"
	       "\"ratio\":%.3f,\"bytes_per_session\":%.1f,\"mismatches\":%" PRIu64,
	       x->c->name, r->sessions, r->packets, mpps, ns, cyc, r->baseline_mpps,
	       r->baseline_mpps > 0 ? mpps / r->baseline_mpps : 0, r->bytes_per_session,
	       r->mismatches);
	if (r->host_bytes_per_session > 0)
		printf(",\"host_bytes_per_session\":%.1f", r->host_bytes_per_session);
	if (r->last_tenth_ns > 0)
		printf(",\"last_tenth_ns\":%.1f", r->last_tenth_ns);
	if (r->alloc_ns >= 0)
		printf(",\"alloc_ns\":%.1f,\"release_ns\":%.1f", r->alloc_ns, r->release_ns);
	if (r->own_ns > 0 && r->borrowed_ns > 0)
		printf(",\"own_ns\":%.1f,\"own_cycles\":%.1f,\"borrowed_ns\":%.1f,"
		       "\"borrowed_cycles\":%.1f,\"borrowed_vs_own\":%.2f",
		       r->own_ns, r->own_cycles, r->borrowed_ns, r->borrowed_cycles,
		       r->borrowed_ns / r->own_ns);
	if (r->maglev_ms[0] > 0)
		printf(",\"maglev_ms_10\":%.3f,\"maglev_ms_100\":%.3f,\"maglev_ms_1000\":%.3f",
		       r->maglev_ms[0], r->maglev_ms[1], r->maglev_ms[2]);
	printf(",\"excluded_segments\":%" PRIu64 ",\"tsc_mhz\":%.0f}\n", t->excluded,
	       x->tsc_hz / 1e6);
	fflush(stdout);
}

static int
run_child(const struct bench_case *c, const struct bench_opts *o, const char *argv0)
{
	static struct bench_ctx ctx; /* struct eph_dp is large: not on the stack */
	static char in_memory[] = "--in-memory";
	static char no_shconf[] = "--no-shconf";
	struct bench_ctx *x = &ctx;
	struct bench_result r = {.alloc_ns = -1, .release_ns = -1};
	char *argv[EPH_EAL_MAX_ARGV];
	char buf[4096], rundir[PATH_MAX];
	unsigned int workers = c->kind == B_HANDOFF || c->kind == B_BORROW ? 2 : 1;
	int argc, off;

	x->c = c;
	x->o = o;
	bench_case_conf(c, &x->conf, &x->n_pool);
	for (unsigned int a = 0; a < x->n_pool; a++)
		x->pool[a] = x->conf.pools[0].addrs[a];
	x->router_mac = (struct rte_ether_addr){{0x02, 0, 0, 0, 0, 0x10}};

	/* Main lcore 0 drives worker 0's struct; the worker lcores are never launched. */
	off = snprintf(x->conf.eal.lcores, sizeof(x->conf.eal.lcores), "0@%d", o->cpu);
	for (unsigned int l = 1; l <= workers; l++)
		off += snprintf(x->conf.eal.lcores + off, sizeof(x->conf.eal.lcores) - off,
				",%u@%d", l, o->cpu);
	snprintf(x->conf.eal.file_prefix, sizeof(x->conf.eal.file_prefix), "eph-bench-%d",
		 (int)getpid());
	snprintf(x->conf.eal.log_level, sizeof(x->conf.eal.log_level), "error");
	x->conf.eal.hugepages = !o->no_huge;
	x->conf.eal.memory_mb = bench_case_memory_mb(c);
	/*
	 * No runtime files, so concurrent runs cannot collide and nothing is
	 * left behind (--no-huge implies --legacy-mem, which --in-memory refuses).
	 */
	x->conf.eal.args[0] = o->no_huge ? no_shconf : in_memory;
	x->conf.eal.n_args = 1;

	if (!o->no_huge && check_hugepages(c->name, x->conf.eal.memory_mb) != 0)
		return B_EXIT_MACHINE;
	argc = eph_eal_args(&x->conf, argv0, argv, EPH_EAL_MAX_ARGV, buf, sizeof(buf));
	if (argc < 0 || rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "ephemera-bench: error: %s: EAL init failed (%s, -m %u)\n", c->name,
			rte_strerror(rte_errno), x->conf.eal.memory_mb);
		rmdir(rte_eal_get_runtime_dir());
		return B_EXIT_MACHINE;
	}
	x->tsc_hz = rte_get_tsc_hz();
	if (eph_dp_setup(&x->dp, &x->conf, stderr) != 0) {
		fprintf(stderr, "ephemera-bench: error: %s: data plane setup failed\n", c->name);
		snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
		rte_eal_cleanup();
		rmdir(rundir);
		return B_EXIT_MACHINE;
	}
	if (o->verbose) {
		struct rte_malloc_socket_stats st;

		rte_malloc_get_socket_stats((int)rte_socket_id(), &st);
		fprintf(stderr, "ephemera-bench: %s: -m %u MiB, heap in use after setup %zu MiB\n",
			c->name, x->conf.eal.memory_mb, st.heap_allocsz_bytes >> 20);
	}

	/*
	 * net_ring ports all have MAC 00:00:00:00:00:00 (and cannot change it):
	 * give each its own where the data plane takes its source MAC from, as
	 * NICs would have, so that the byte checks tell the ports apart.
	 */
	for (uint16_t p = 0; p < x->dp.n_ports; p++)
		x->dp.ports[p].mac = (struct rte_ether_addr){{0x02, 0, 0, 0, (uint8_t)p, 0x01}};

	/* Every next hop resolved up front: no packet waits for ARP. */
	bench_neigh_add(x, B_OUT, B_ROUTER, &x->router_mac);
	for (uint16_t h = 0; h < B_MAX_HOSTS; h++) {
		struct rte_ether_addr mac;

		bench_host_mac(h, &mac);
		bench_neigh_add(x, B_IN, B_HOST_BASE + h, &mac);
	}

	bench_case_run(x, &r);
	if (c->kind != B_BASELINE) {
		struct bench_timer bt;

		r.baseline_mpps = bench_baseline(x, o->quick ? 64 * K : 8 * M, &bt);
	}
	r.mismatches = x->mismatches;
	print_json(x, &r);

	eph_dp_teardown(&x->dp);
	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	rmdir(rundir); /* the EAL makes it even without runtime files; it is empty */
	if (x->mismatches != 0) {
		fprintf(stderr, "ephemera-bench: %s: FAIL: %" PRIu64 " mismatching packets\n",
			c->name, x->mismatches);
		return B_EXIT_CHECK;
	}
	return 0;
}

/* ---- the driver --------------------------------------------------------- */

struct summary {
	char line[1024];
	int status;
};

static double
json_num(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	return p == NULL ? 0 : strtod(p + strlen(pat), NULL);
}

/* Run one case in a fresh process; its JSON line goes to our stdout and into s. */
static int
spawn(const struct bench_case *c, const struct bench_opts *o, struct summary *s)
{
	char cpu[16];
	char *args[16];
	int n = 0, fds[2], status;
	pid_t pid;
	FILE *in;

	snprintf(cpu, sizeof(cpu), "%d", o->cpu);
	args[n++] = (char *)"ephemera-bench";
	args[n++] = (char *)"--child";
	args[n++] = (char *)"--case";
	args[n++] = (char *)c->name;
	args[n++] = (char *)"--cpu";
	args[n++] = cpu;
	if (o->quick)
		args[n++] = (char *)"--quick";
	if (o->no_huge)
		args[n++] = (char *)"--no-huge";
	if (o->verbose)
		args[n++] = (char *)"--verbose";
	args[n] = NULL;

	if (pipe(fds) != 0)
		return -errno;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv("/proc/self/exe", args);
		perror("ephemera-bench: exec");
		_exit(B_EXIT_MACHINE);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	s->line[0] = '\0';
	if (in != NULL) {
		char line[sizeof(s->line)];

		while (fgets(line, sizeof(line), in) != NULL) {
			fputs(line, stdout);
			fflush(stdout);
			if (line[0] == '{')
				snprintf(s->line, sizeof(s->line), "%s", line);
		}
		fclose(in);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status))
		s->status = WEXITSTATUS(status);
	else
		s->status = B_EXIT_CHECK; /* killed by a signal: a crash is a failed check */
	return 0;
}

static void
print_table(const struct bench_case *cases, const struct summary *sum, unsigned int n)
{
	fprintf(stderr, "\n%-28s %9s %9s %8s %10s %9s %7s %9s %s\n", "case", "sessions", "Mpps",
		"ns/pkt", "cycles/pkt", "base-Mpps", "ratio", "B/session", "status");
	for (unsigned int i = 0; i < n; i++) {
		const char *l = sum[i].line;

		if (l[0] == '\0') {
			fprintf(stderr, "%-28s %9s %9s %8s %10s %9s %7s %9s exit %d\n",
				cases[i].name, "-", "-", "-", "-", "-", "-", "-", sum[i].status);
			continue;
		}
		fprintf(stderr, "%-28s %9.0f %9.3f %8.1f %10.1f %9.3f %7.3f %9.1f %s\n",
			cases[i].name, json_num(l, "sessions"), json_num(l, "mpps"),
			json_num(l, "ns_per_pkt"), json_num(l, "cycles_per_pkt"),
			json_num(l, "baseline_mpps"), json_num(l, "ratio"),
			json_num(l, "bytes_per_session"), sum[i].status == 0 ? "ok" : "FAIL");
	}
}

/* The highest CPU we may run on: away from CPU 0, which takes most interrupts. */
static int
default_cpu(void)
{
	cpu_set_t set;
	int cpu = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 0;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			cpu = i;
	return cpu;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: ephemera-bench [--quick] [--case NAME|PREFIX] [--no-huge] [--cpu N] "
		"[--list] [--verbose]\n"
		"  --quick     small sizes (1k, 64k), few packets: a correctness check in seconds\n"
		"  --case      run the cases named NAME, or starting with PREFIX\n"
		"  --no-huge   ordinary memory instead of hugepages\n"
		"  --cpu N     the CPU every lcore is pinned to (default: the last allowed)\n"
		"  --list      list the cases\n"
		"One JSON line per case on stdout; exit 0, 1 (machine), 2 (check failed).\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"quick", no_argument, NULL, 'q'},
		{"case", required_argument, NULL, 'c'},
		{"no-huge", no_argument, NULL, 'n'},
		{"cpu", required_argument, NULL, 'p'},
		{"list", no_argument, NULL, 'l'},
		{"verbose", no_argument, NULL, 'v'},
		{"child", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct bench_case cases[MAX_CASES];
	static struct summary sum[MAX_CASES];
	struct bench_opts o = {.cpu = default_cpu()};
	const struct bench_case *sel[MAX_CASES];
	const char *only = NULL;
	bool child = false, list = false;
	unsigned int n_cases, n_sel = 0, big = 0;
	struct timespec t0, t1;
	int opt, worst = 0;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			o.quick = true;
			break;
		case 'c':
			only = optarg;
			break;
		case 'n':
			o.no_huge = true;
			break;
		case 'p':
			o.cpu = atoi(optarg);
			break;
		case 'l':
			list = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'C':
			child = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return B_EXIT_CHECK;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return B_EXIT_CHECK;
	}

	n_cases = build_cases(o.quick, cases);
	for (unsigned int i = 0; i < n_cases; i++)
		if (only == NULL || strcmp(cases[i].name, only) == 0 ||
		    (!child && strncmp(cases[i].name, only, strlen(only)) == 0))
			sel[n_sel++] = &cases[i];
	if (n_sel == 0) {
		fprintf(stderr, "ephemera-bench: no case named %s (--list shows them)\n", only);
		return B_EXIT_CHECK;
	}
	if (list) {
		for (unsigned int i = 0; i < n_sel; i++)
			printf("%s\n", sel[i]->name);
		return 0;
	}
	if (child)
		return run_child(sel[0], &o, argv[0]);

	/* Fail before running anything when the biggest case cannot get its memory. */
	for (unsigned int i = 0; i < n_sel; i++)
		if (bench_case_memory_mb(sel[i]) > bench_case_memory_mb(sel[big]))
			big = i;
	if (!o.no_huge && check_hugepages(sel[big]->name, bench_case_memory_mb(sel[big])) != 0)
		return B_EXIT_MACHINE;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned int i = 0; i < n_sel; i++) {
		if (spawn(sel[i], &o, &sum[i]) != 0) {
			fprintf(stderr, "ephemera-bench: cannot start a process: %s\n",
				strerror(errno));
			return B_EXIT_MACHINE;
		}
		if (sum[i].status == B_EXIT_CHECK || worst == B_EXIT_CHECK)
			worst = B_EXIT_CHECK;
		else if (sum[i].status != 0)
			worst = B_EXIT_MACHINE;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	{
		struct bench_case copy[MAX_CASES];

		for (unsigned int i = 0; i < n_sel; i++)
			copy[i] = *sel[i];
		print_table(copy, sum, n_sel);
	}
	fprintf(stderr, "ephemera-bench: %u cases in %.1f s, %s\n", n_sel,
		(double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
		worst == 0 ? "all checks passed" : "FAILED");
	return worst;
}

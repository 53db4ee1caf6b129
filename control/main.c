/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ephemera: the daemon. Loads and validates the YAML file, starts the EAL
 * and the data plane, runs the control loop on the main lcore (ARP,
 * neighbour timers) until SIGINT/SIGTERM, then prints its counters.
 *
 * Exit status: 0 clean stop or valid --check; 1 the machine refused
 * (hugepages, devices, permissions); 2 bad command line or configuration.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include "control/arp.h"
#include "control/config.h"
#include "control/log.h"
#include "control/startup.h"
#include "control/stats.h"
#include "control/telemetry.h"

#define EXIT_RUNTIME 1
#define EXIT_CONFIG  2

#define CONTROL_BURST     64
#define TIMER_INTERVAL_MS 10
#define IDLE_SLEEP_US     200

RTE_LOG_REGISTER(eph_logtype, user.ephemera, NOTICE);

static volatile sig_atomic_t stop_signal;

static struct eph_conf conf;
static struct eph_dp dp;
static struct eph_arp arp;

static void
on_signal(int sig)
{
	stop_signal = sig;
}

static void
usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s -c FILE [--check]\n"
		"\n"
		"  -c, --config FILE   configuration (YAML); see conf/ephemera.yaml\n"
		"  -t, --check         validate FILE and exit: 0 \"configuration ok\", 2 errors\n"
		"      --drop-reasons  list the drop counters and what each means\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n",
		prog);
}

/* The control lcore: slow-path packets from workers and neighbour timers. */
static void
control_loop(void)
{
	struct rte_mbuf *pkts[CONTROL_BURST];
	uint64_t timer_tsc = rte_get_tsc_hz() * TIMER_INTERVAL_MS / 1000;
	uint64_t next_timer = rte_rdtsc() + timer_tsc;

	while (!stop_signal) {
		unsigned int n = rte_ring_sc_dequeue_burst(dp.to_control, (void **)pkts,
							   CONTROL_BURST, NULL);
		uint64_t now = rte_rdtsc();

		for (unsigned int i = 0; i < n; i++)
			eph_arp_slow_input(&arp, pkts[i], now);
		if (now >= next_timer) {
			eph_arp_timers(&arp, now);
			next_timer = now + timer_tsc;
		}
		if (n == 0)
			rte_delay_us_sleep(IDLE_SLEEP_US);
	}
}

static int
run(const char *prog)
{
	char *eal_argv[EPH_EAL_MAX_ARGV];
	char eal_buf[8192];
	unsigned int lcore;
	int eal_argc, ret;

	if (eph_preflight(&conf, stderr) != 0)
		return EXIT_RUNTIME;
	eal_argc = eph_eal_args(&conf, prog, eal_argv, EPH_EAL_MAX_ARGV, eal_buf, sizeof(eal_buf));
	if (eal_argc < 0) {
		fprintf(stderr, "ephemera: error: too many EAL arguments (eal.args)\n");
		return EXIT_CONFIG;
	}
	ret = rte_eal_init(eal_argc, eal_argv);
	if (ret < 0) {
		fprintf(stderr, "ephemera: error: DPDK EAL initialisation failed: %s; check "
				"eal.lcores, the devices in ports, and that no other DPDK process uses "
				"file-prefix '%s'\n", rte_strerror(rte_errno), conf.eal.file_prefix);
		return EXIT_RUNTIME;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	ret = eph_dp_setup(&dp, &conf, stderr);
	if (ret != 0) {
		rte_eal_cleanup();
		return EXIT_RUNTIME;
	}
	eph_arp_init(&arp, &dp, &conf.arp, rte_get_tsc_hz());
	if (conf.control.telemetry && eph_telemetry_init(&dp, &arp) != 0)
		EPH_LOG(WARNING, "telemetry endpoints could not be registered");

	RTE_LCORE_FOREACH_WORKER(lcore) {
		for (unsigned int i = 0; i < dp.n_workers; i++)
			if (dp.workers[i]->lcore == lcore)
				rte_eal_remote_launch(eph_worker_main, dp.workers[i], lcore);
	}
	printf("ephemera ready: %u worker%s, %u ports, telemetry under /ephemera/ (file-prefix %s)\n",
	       dp.n_workers, dp.n_workers == 1 ? "" : "s", dp.n_ports, conf.eal.file_prefix);
	fflush(stdout);

	control_loop();

	printf("ephemera: stopping on signal %d\n", (int)stop_signal);
	__atomic_store_n(&dp.quit, true, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	printf("\nephemera counters at shutdown:\n");
	eph_stats_print(stdout, &dp, &arp);
	fflush(stdout);
	eph_dp_teardown(&dp);
	rte_eal_cleanup();
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 't' },
		{ "drop-reasons", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	bool check = false;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "c:thV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'D':
			for (unsigned int i = 0; i < EPH_DROP_MAX; i++)
				printf("%-24s %s\n", eph_drop_names[i], eph_drop_descs[i]);
			return 0;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		case 'V':
			printf("ephemera %s\n", EPH_VERSION);
			return 0;
		default:
			usage(stderr, argv[0]);
			return EXIT_CONFIG;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ephemera: unexpected argument '%s'\n", argv[optind]);
		usage(stderr, argv[0]);
		return EXIT_CONFIG;
	}
	if (path == NULL) {
		fprintf(stderr, "ephemera: no configuration file: use -c FILE\n");
		usage(stderr, argv[0]);
		return EXIT_CONFIG;
	}

	ret = eph_conf_load(path, &conf, stderr);
	if (ret != 0)
		return EXIT_CONFIG;
	if (check) {
		printf("%s: configuration ok\n", path);
		eph_conf_free(&conf);
		return 0;
	}
	ret = run(argv[0]);
	eph_conf_free(&conf);
	return ret;
}

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
#include <limits.h>
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
#include "control/ctl_cmds.h"
#include "control/ctl_server.h"
#include "control/health.h"
#include "control/lb_setup.h"
#include "control/log.h"
#include "control/metrics_http.h"
#include "control/natlog_writer.h"
#include "control/reconfig.h"
#include "control/startup.h"
#include "control/stats.h"
#include "control/telemetry.h"

#define EXIT_RUNTIME 1
#define EXIT_CONFIG  2

#define CONTROL_BURST     64
#define TIMER_INTERVAL_MS 10
#define IDLE_SLEEP_US     200
#define LOG_DRAIN_BUDGET  4096 /* NAT log events written per control loop */


static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t reload_signal;

static struct eph_conf conf;
static struct eph_dp dp;
static struct eph_arp arp;
static struct eph_ctl_ctx ctl_ctx;
static struct eph_ctl_server *ctl_server;
static struct eph_metrics_http *metrics_http;
static struct eph_health *health;
static struct eph_natlog_writer *natlog;
static struct eph_conf_nat_log natlog_conf; /* what natlog was opened with */
static struct eph_alert_counts alerts;
static char conf_path[PATH_MAX];

static void
on_signal(int sig)
{
	stop_signal = sig;
}

static void
on_hangup(int sig)
{
	(void)sig;
	reload_signal = 1;
}

/* A destination crossed its pool's warn-occupancy, or filled: say so in the daemon's log. */
static void
on_alert(void *arg, const struct eph_natlog_event *ev)
{
	const struct eph_dp_cfg *cfg = dp.cfg;
	char line[256];

	(void)arg;
	eph_natlog_describe(ev, ev->pool < cfg->nat.n_slots ? cfg->nat.pools[ev->pool].name : "?",
			    line, sizeof(line));
	if (ev->type == EPH_NATLOG_DEST_EXHAUSTED)
		alerts.exhausted++;
	else
		alerts.occupancy++;
	EPH_LOG(WARNING, "%s", line);
}

static int
natlog_open(FILE *err)
{
	natlog = eph_natlog_writer_open(&dp.rc->conf.nat_log, rte_get_tsc_hz(), on_alert, NULL, err);
	if (natlog == NULL)
		return -1;
	natlog_conf = dp.rc->conf.nat_log;
	ctl_ctx.natlog = natlog;
	return 0;
}

/* Events from every worker's log and alert rings to the NAT log and the daemon's log. */
static void
natlog_drain(void)
{
	struct eph_natlog_ring *rings[2 * RTE_MAX_LCORE];
	const char *names[EPH_MAX_POOLS];
	const struct eph_nat_cfg *nat = &dp.cfg->nat;
	unsigned int n = 0;

	if (natlog == NULL || !dp.nat.enabled)
		return;
	for (unsigned int w = 0; w < dp.n_workers; w++) {
		rings[n++] = dp.workers[w]->nat.log;
		rings[n++] = dp.workers[w]->nat.alerts;
	}
	for (unsigned int p = 0; p < nat->n_slots; p++)
		names[p] = nat->pools[p].name;
	eph_natlog_writer_drain(natlog, rings, n, names, nat->n_slots, LOG_DRAIN_BUDGET);
}

/* SIGHUP: re-read the file (like ephctl reload), and reopen the NAT log (logrotate). */
static void
hangup(void)
{
	struct eph_ctl_error e = { 0 };
	json_t *changes = NULL;

	if (eph_ctl_reload(&ctl_ctx, &changes, &e) != 0) {
		EPH_LOG(ERR, "reload refused, the running configuration is unchanged: %s",
			e.message);
	} else {
		size_t i;
		json_t *v;

		json_array_foreach(changes, i, v)
			EPH_LOG(NOTICE, "reload: %s", json_string_value(v));
		if (json_array_size(changes) == 0)
			EPH_LOG(NOTICE, "reload: no change");
		json_decref(changes);
	}
	natlog_drain();
	if (memcmp(&natlog_conf, &dp.rc->conf.nat_log, sizeof(natlog_conf)) != 0) {
		eph_natlog_writer_close(natlog);
		natlog = NULL;
		if (natlog_open(stderr) != 0)
			EPH_LOG(ERR, "the NAT log cannot be opened: NAT events are not written");
	} else if (natlog != NULL) {
		eph_natlog_writer_reopen(natlog);
	}
}

static char *
metrics_render(void *arg)
{
	return eph_metrics_render(arg);
}

static uint64_t
monotonic_ms(void)
{
	return rte_rdtsc() / (rte_get_tsc_hz() / 1000);
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
	uint64_t next_second = rte_rdtsc() + rte_get_tsc_hz();

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
		if (reload_signal) {
			reload_signal = 0;
			hangup();
		}
		if (ctl_server != NULL)
			eph_ctl_server_poll(ctl_server, monotonic_ms());
		if (metrics_http != NULL)
			eph_metrics_http_poll(metrics_http);
		natlog_drain();
		if (health != NULL)
			eph_reconfig_health(dp.rc);
		if (now >= next_second) {
			/* Drained pools, addresses and port ranges leave the snapshot. */
			eph_reconfig_housekeeping(dp.rc);
			eph_lb_report_failures(&dp, dp.rc->lb, health, eph_health_now_ms());
			next_second = now + rte_get_tsc_hz();
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
	signal(SIGHUP, on_hangup);
	signal(SIGPIPE, SIG_IGN);

	ret = eph_dp_setup(&dp, &conf, stderr);
	if (ret != 0) {
		rte_eal_cleanup();
		return EXIT_RUNTIME;
	}
	eph_arp_init(&arp, &dp, &conf.arp, rte_get_tsc_hz());
	if (conf.control.telemetry && eph_telemetry_init(&dp, &arp) != 0)
		EPH_LOG(WARNING, "telemetry endpoints could not be registered");
	/* Reload re-reads this path: absolute, so a later chdir cannot change what it means. */
	if (realpath(conf.path, conf_path) == NULL)
		snprintf(conf_path, sizeof(conf_path), "%s", conf.path);
	ctl_ctx = (struct eph_ctl_ctx){
		.dp = &dp, .arp = &arp, .conf_path = conf_path, .start_tsc = rte_rdtsc(),
		.alerts = &alerts,
	};
	{
		struct eph_ctl_server_conf sc = {
			.path = conf.control.socket,
			.group = conf.control.group,
			.commands = eph_ctl_commands,
			.n_commands = eph_ctl_n_commands,
			.ctx = &ctl_ctx,
		};

		ctl_server = eph_ctl_server_open(&sc, stderr);
		if (ctl_server == NULL) {
			ret = EXIT_RUNTIME;
			goto stop;
		}
		ctl_ctx.server = ctl_server;
	}
	if (conf.control.metrics_http) {
		metrics_http = eph_metrics_http_open(conf.control.metrics_addr,
						     conf.control.metrics_port, metrics_render,
						     &ctl_ctx, stderr);
		if (metrics_http == NULL) {
			ret = EXIT_RUNTIME;
			goto stop;
		}
	}
	if (natlog_open(stderr) != 0) {
		ret = EXIT_RUNTIME;
		goto stop;
	}

	if (dp.nat.enabled) {
		/* The balancer's health checks: from the start, on a thread of their own. */
		health = eph_health_create(stderr);
		if (health == NULL || eph_health_configure(health, &dp.rc->conf) != 0) {
			fprintf(stderr, "ephemera: error: health checks could not start\n");
			ret = EXIT_RUNTIME;
			goto stop;
		}
		dp.rc->health = health;
	}

	RTE_LCORE_FOREACH_WORKER(lcore) {
		for (unsigned int i = 0; i < dp.n_workers; i++)
			if (dp.workers[i]->lcore == lcore)
				rte_eal_remote_launch(eph_worker_main, dp.workers[i], lcore);
	}
	printf("ephemera ready: %u worker%s, %u ports, telemetry under /ephemera/ (file-prefix %s), "
	       "control socket %s\n", dp.n_workers, dp.n_workers == 1 ? "" : "s", dp.n_ports,
	       conf.eal.file_prefix, conf.control.socket);
	fflush(stdout);

	control_loop();

	printf("ephemera: stopping on signal %d\n", (int)stop_signal);
	ret = 0;
stop:
	__atomic_store_n(&dp.quit, true, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	if (dp.rc != NULL)
		dp.rc->health = NULL;
	eph_health_destroy(health);
	natlog_drain();
	eph_natlog_writer_close(natlog);
	eph_metrics_http_close(metrics_http);
	eph_ctl_server_close(ctl_server);
	printf("\nephemera counters at shutdown:\n");
	eph_stats_print(stdout, &dp, &arp);
	fflush(stdout);
	eph_dp_teardown(&dp);
	rte_eal_cleanup();
	return ret;
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

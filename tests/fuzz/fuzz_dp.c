/* SPDX-License-Identifier: BSD-3-Clause */
/* EAL start-up and oracle failure for the fuzz targets (see fuzz_dp.h). */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_random.h>

#include "control/startup.h"
#include "tests/fuzz/fuzz_dp.h"

static char runtime_dir[4096];

/* --no-shconf leaves no file behind, but the EAL still makes its (empty) runtime directory. */
static void
remove_runtime_dir(void)
{
	if (runtime_dir[0] != '\0')
		rmdir(runtime_dir);
}

/* "(0,1,...)": every CPU we may run on, so that parallel fuzzers spread over them. */
static void
allowed_cpus(char *buf, size_t len)
{
	cpu_set_t set;
	size_t off = 0;

	buf[0] = '\0';
	if (sched_getaffinity(0, sizeof(set), &set) != 0) {
		snprintf(buf, len, "0");
		return;
	}
	for (int c = 0; c < CPU_SETSIZE && off + 8 < len; c++)
		if (CPU_ISSET(c, &set))
			off += (size_t)snprintf(buf + off, len - off, "%s%d", off ? "," : "(", c);
	snprintf(buf + off, len - off, ")");
}

void
fz_eal_lcores(char *buf, size_t len, unsigned int n_workers)
{
	char cpus[256];
	size_t off = 0;

	allowed_cpus(cpus, sizeof(cpus));
	buf[0] = '\0';
	for (unsigned int l = 0; l <= n_workers && off < len; l++)
		off += (size_t)snprintf(buf + off, len - off, "%s%u@%s", l ? "," : "", l, cpus);
	if (off >= len) {
		fprintf(stderr, "fuzz: too many CPUs for eal.lcores\n");
		exit(1);
	}
}

void
fz_eal_start(struct eph_conf *conf, const char *name, unsigned int n_workers,
	     unsigned int memory_mb)
{
	static char no_shconf[] = "--no-shconf";
	char *argv[EPH_EAL_MAX_ARGV];
	char buf[4096];
	int argc;

	fz_eal_lcores(conf->eal.lcores, sizeof(conf->eal.lcores), n_workers);
	conf->eal.main_lcore = 0;
	snprintf(conf->eal.file_prefix, sizeof(conf->eal.file_prefix), "%s-%ld", name,
		 (long)getpid());
	snprintf(conf->eal.log_level, sizeof(conf->eal.log_level), "error");
	conf->eal.hugepages = false;
	conf->eal.memory_mb = memory_mb;
	conf->control.telemetry = false;
	if (conf->eal.n_args == 0) {
		conf->eal.args[0] = no_shconf;
		conf->eal.n_args = 1;
	}

	argc = eph_eal_args(conf, name, argv, EPH_EAL_MAX_ARGV, buf, sizeof(buf));
	if (argc < 0 || rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "%s: EAL init failed\n", name);
		exit(1);
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	atexit(remove_runtime_dir);
	/* The NAT's secrets come from rte_rand: the same every run, so a saved input replays. */
	rte_srand(0x5eed);
}

void
fz_fail(const char *target, const void *bytes, size_t len, const char *fmt, ...)
{
	const uint8_t *b = bytes;
	va_list ap;

	fprintf(stderr, "\n%s: ORACLE FAILED: ", target);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	for (size_t i = 0; b != NULL && i < len; i++)
		fprintf(stderr, "%02x%s", b[i], (i % 32 == 31 || i + 1 == len) ? "\n" : " ");
	fflush(stderr);
	abort();
}

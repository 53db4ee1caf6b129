/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the fuzz targets that need DPDK share: the EAL started without
 * hugepages or shared files under a file prefix of the process's own, so
 * that any number of fuzzers (libFuzzer -jobs, a developer, CI) run side
 * by side, and a report-and-abort for oracles.
 */
#ifndef EPH_FUZZ_DP_H
#define EPH_FUZZ_DP_H

#include <stddef.h>
#include <stdint.h>

#include "control/config.h"

#define FZ_IPV4(a, b, c, d)                                                                        \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

/* EAL --lcores: one control lcore and n_workers workers, each allowed on every CPU we may use. */
void fz_eal_lcores(char *buf, size_t len, unsigned int n_workers);

/*
 * Fill conf's eal section (lcores: one control lcore and n_workers worker
 * lcores, all allowed on every CPU this process may use; no hugepages,
 * memory_mb of memory; file prefix "NAME-PID"; --no-shconf unless eal.args
 * says otherwise), then rte_eal_init. Exits on failure: a fuzzer without
 * its data plane has nothing to run.
 */
void fz_eal_start(struct eph_conf *conf, const char *name, unsigned int n_workers,
		  unsigned int memory_mb);

/* An oracle failed: say why on stderr, dump the bytes at issue (if any), abort. */
void fz_fail(const char *target, const void *bytes, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));

#endif /* EPH_FUZZ_DP_H */

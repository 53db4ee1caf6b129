/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A DPDK file prefix of the test's own ("unit-NAME-PID"), so that two runs
 * of the suite on one machine (two build directories, a developer and CI)
 * never share a runtime directory. scripts/test.sh removes what is left.
 */
#ifndef EPH_TEST_EAL_PREFIX_H
#define EPH_TEST_EAL_PREFIX_H

#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

static inline char *
t_eal_prefix(char *buf, size_t len, const char *base)
{
	snprintf(buf, len, "%s-%ld", base, (long)getpid());
	return buf;
}

#endif /* EPH_TEST_EAL_PREFIX_H */

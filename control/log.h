/* SPDX-License-Identifier: BSD-3-Clause */
/* Control-plane logging through DPDK's logger (type user.ephemera). */
#ifndef EPH_LOG_H
#define EPH_LOG_H

#include <rte_log.h>

extern int eph_logtype;

#define EPH_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, eph_logtype, "ephemera: " fmt "\n", ##__VA_ARGS__)

#endif /* EPH_LOG_H */

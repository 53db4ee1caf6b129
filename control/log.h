/* SPDX-License-Identifier: BSD-3-Clause */
/* Control-plane logging through DPDK's logger (type user.ephemera). */
#ifndef EPH_LOG_H
#define EPH_LOG_H

#include <rte_log.h>

extern int eph_logtype;

#define EPH_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, eph_logtype, "ephemera: " fmt "\n", ##__VA_ARGS__)

/* An IPv4 address in host order, for printf: "%u.%u.%u.%u". */
#define IPV4_FMT "%u.%u.%u.%u"
#define IPV4_ARGS(a) \
	(unsigned int)((a) >> 24), (unsigned int)(((a) >> 16) & 0xff), \
	(unsigned int)(((a) >> 8) & 0xff), (unsigned int)((a) & 0xff)

#endif /* EPH_LOG_H */

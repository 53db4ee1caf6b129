/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP options that middle boxes shifting a connection's sequence space
 * must follow: the SACK edges (RFC 2018) a receiver reports in the
 * sender's numbers. Malformed options are left alone: the endpoint judges.
 */
#ifndef EPH_TCP_OPT_H
#define EPH_TCP_OPT_H

#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_tcp.h>

#include "dataplane/cksum.h"

#define EPH_TCPOPT_EOL  0
#define EPH_TCPOPT_NOP  1
#define EPH_TCPOPT_SACK 5

/*
 * Every SACK edge of tcp's options (thl: its header length) through map
 * (host order in and out), the TCP checksum patched.
 */
static inline void
eph_tcp_sack_map(struct rte_tcp_hdr *tcp, uint16_t thl,
		 uint32_t (*map)(uint32_t edge, const void *arg), const void *arg)
{
	uint8_t *opt = (uint8_t *)(tcp + 1);
	uint16_t n = (uint16_t)(thl - sizeof(*tcp));

	for (uint16_t i = 0; i < n;) {
		if (opt[i] == EPH_TCPOPT_EOL)
			return;
		if (opt[i] == EPH_TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= n || opt[i + 1] < 2 || i + opt[i + 1] > n)
			return;
		if (opt[i] == EPH_TCPOPT_SACK && (opt[i + 1] - 2) % 8 == 0) {
			for (uint16_t k = (uint16_t)(i + 2); k < i + opt[i + 1]; k += 4) {
				uint32_t old, new;

				memcpy(&old, &opt[k], sizeof(old));
				new = rte_cpu_to_be_32(map(rte_be_to_cpu_32(old), arg));
				memcpy(&opt[k], &new, sizeof(new));
				tcp->cksum = eph_cksum_update32_at(tcp->cksum, old, new, (k & 1) != 0);
			}
		}
		i = (uint16_t)(i + opt[i + 1]);
	}
}

#endif /* EPH_TCP_OPT_H */

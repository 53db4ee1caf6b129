/* SPDX-License-Identifier: BSD-3-Clause */
/* The mbuf dynamic field that carries a packet's metadata to the control lcore. */
#include <errno.h>

#include <rte_errno.h>
#include <rte_mbuf_dyn.h>

#include "dataplane/dp.h"

int
eph_dp_register_meta(struct eph_dp *dp)
{
	static const struct rte_mbuf_dynfield desc = {
		.name = "ephemera_pkt_meta",
		.size = sizeof(struct eph_pkt_meta),
		.align = __alignof__(struct eph_pkt_meta),
	};
	int off = rte_mbuf_dynfield_register(&desc);

	if (off < 0)
		return -rte_errno;
	dp->meta_offset = off;
	return 0;
}

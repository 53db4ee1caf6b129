/* SPDX-License-Identifier: BSD-3-Clause */
/* NAT event rings between the workers and the control lcore (see natlog.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>

#include "dataplane/nat/natlog.h"

static const char *const type_names[EPH_NATLOG_TYPE_MAX] = {
#define EPH_NATLOG_TYPE_STR(name, str) [EPH_NATLOG_##name] = str,
	EPH_NATLOG_TYPES(EPH_NATLOG_TYPE_STR)
#undef EPH_NATLOG_TYPE_STR
};

static const char *const reason_names[EPH_NATLOG_REASON_MAX] = {
#define EPH_NATLOG_REASON_STR(name, str) [EPH_NATLOG_REASON_##name] = str,
	EPH_NATLOG_REASONS(EPH_NATLOG_REASON_STR)
#undef EPH_NATLOG_REASON_STR
};

const char *
eph_natlog_type_name(unsigned int type)
{
	return type < EPH_NATLOG_TYPE_MAX ? type_names[type] : NULL;
}

const char *
eph_natlog_reason_name(unsigned int reason)
{
	return reason < EPH_NATLOG_REASON_MAX ? reason_names[reason] : NULL;
}

struct eph_natlog_ring *
eph_natlog_ring_create(const char *name, unsigned int count, int socket_id)
{
	char rname[RTE_RING_NAMESIZE];
	struct eph_natlog_ring *r;
	int n;

	if (name == NULL || count == 0 || count > RTE_RING_SZ_MASK) {
		rte_errno = EINVAL;
		return NULL;
	}
	n = snprintf(rname, sizeof(rname), "nl_%s", name);
	if (n < 0 || (size_t)n >= sizeof(rname)) {
		rte_errno = ENAMETOOLONG;
		return NULL;
	}
	r = rte_zmalloc_socket("eph_natlog_ring", sizeof(*r), RTE_CACHE_LINE_SIZE, socket_id);
	if (r == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	/* Exact size: the ring holds count events, so "lost" starts exactly at count + 1. */
	r->ring = rte_ring_create_elem(rname, sizeof(struct eph_natlog_event), count, socket_id,
				       RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (r->ring == NULL) {
		int err = rte_errno;

		rte_free(r);
		rte_errno = err;
		return NULL;
	}
	return r;
}

void
eph_natlog_ring_free(struct eph_natlog_ring *r)
{
	if (r == NULL)
		return;
	rte_ring_free(r->ring);
	rte_free(r);
}

unsigned int
eph_natlog_drain(struct eph_natlog_ring *r, struct eph_natlog_event *out, unsigned int max)
{
	return rte_ring_sc_dequeue_burst_elem(r->ring, out, sizeof(*out), max, NULL);
}

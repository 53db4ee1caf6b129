/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The idle timeouts' limits, in one table: what the YAML loader accepts,
 * what eph_conf_check lets through (reload and every change from the
 * control socket), what timeouts.set takes and what ephctl checks before
 * sending. Each has a hard range (outside it: refused) and the floor the
 * RFC that governs it sets (below it: taken, with a warning, because a
 * short timeout works but breaks applications that rely on the floor).
 *
 * Plain C and header only: ephctl, which links no DPDK, reads it too.
 */
#ifndef EPH_LIMITS_H
#define EPH_LIMITS_H

#include <stdint.h>
#include <stdio.h>

/* clang-format off */
/* X(KIND, name, min, max, floor, default, floor text, RFC, what breaks below the floor) */
#define EPH_TIMEOUT_LIST(X) \
	X(UDP, "udp", 1, 86400, 120, 300, "120 s", "RFC 4787 REQ-5", \
	  "UDP mappings may expire while still in use") \
	X(TCP_ESTABLISHED, "tcp-established", 1, 604800, 7440, 7440, "7440 s (2 h 4 min)", \
	  "RFC 5382 REQ-5", "idle TCP connections may be cut") \
	X(TCP_TRANSITORY, "tcp-transitory", 1, 86400, 240, 240, "240 s (4 min)", \
	  "RFC 5382 REQ-5", "TCP connections may be cut while opening or closing") \
	X(ICMP, "icmp", 1, 86400, 60, 60, "60 s", "RFC 5508 REQ-1", \
	  "ICMP query mappings may expire while still in use")
/* clang-format on */

enum eph_timeout_kind {
#define EPH_X(kind, ...) EPH_TIMEOUT_##kind,
	EPH_TIMEOUT_LIST(EPH_X)
#undef EPH_X
	EPH_TIMEOUT_N
};

/* Constants for static tables: EPH_TIMEOUT_UDP_MAX_S and the like. */
enum {
#define EPH_X(kind, name, min, max, floor, def, ...)                                               \
	EPH_TIMEOUT_##kind##_MIN_S = (min), EPH_TIMEOUT_##kind##_MAX_S = (max),                    \
	EPH_TIMEOUT_##kind##_FLOOR_S = (floor), EPH_TIMEOUT_##kind##_DEFAULT_S = (def),
	EPH_TIMEOUT_LIST(EPH_X)
#undef EPH_X
};

struct eph_timeout_limit {
	const char *name;     /* key under "timeouts:", timeouts.set argument, ephctl word */
	unsigned int min_s;   /* below: refused */
	unsigned int max_s;   /* above: refused */
	unsigned int floor_s; /* below: taken, with a warning */
	unsigned int default_s;
	const char *floor_text; /* the floor as the warning says it */
	const char *rfc;        /* the requirement that sets the floor */
	const char *effect;     /* what breaks below the floor */
};

static const struct eph_timeout_limit eph_timeout_limits[EPH_TIMEOUT_N] = {
#define EPH_X(kind, name, min, max, floor, def, floor_text, rfc, effect)                           \
	[EPH_TIMEOUT_##kind] = {name, min, max, floor, def, floor_text, rfc, effect},
	EPH_TIMEOUT_LIST(EPH_X)
#undef EPH_X
};

/*
 * Why value is refused ("expected an integer from 1 to 86400, found 0"),
 * written to buf: 1. Within the range: 0 and buf untouched. The YAML
 * loader words its range errors the same way.
 */
static inline int
eph_timeout_range_error(enum eph_timeout_kind k, int64_t value, char *buf, size_t len)
{
	const struct eph_timeout_limit *l = &eph_timeout_limits[k];

	if (value >= l->min_s && value <= l->max_s)
		return 0;
	snprintf(buf, len, "expected an integer from %u to %u, found %lld", l->min_s, l->max_s,
		 (long long)value);
	return 1;
}

/*
 * The warning for a value below the RFC floor ("60 s is below the 120 s
 * floor of RFC 4787 REQ-5; UDP mappings may expire while still in use"):
 * 1. At or above the floor: 0 and buf untouched.
 */
static inline int
eph_timeout_floor_warning(enum eph_timeout_kind k, int64_t value, char *buf, size_t len)
{
	const struct eph_timeout_limit *l = &eph_timeout_limits[k];

	if (value >= l->floor_s)
		return 0;
	snprintf(buf, len, "%lld s is below the %s floor of %s; %s", (long long)value,
		 l->floor_text, l->rfc, l->effect);
	return 1;
}

#endif /* EPH_LIMITS_H */

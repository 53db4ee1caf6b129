/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Limits and defaults written once for every place that checks them: the
 * YAML loader, eph_conf_check (reload and every change from the control
 * socket), the control commands and ephctl, which checks before sending.
 *
 * The idle timeouts' table: each has a hard range (outside it: refused)
 * and the floor the RFC that governs it sets (below it: taken, with a
 * warning, because a short timeout works but breaks applications that
 * rely on the floor). The other bounds: one table of ranges and defaults.
 *
 * Plain C and header only: ephctl, which links no DPDK, reads it too.
 */
#ifndef EPH_LIMITS_H
#define EPH_LIMITS_H

#include <stdint.h>
#include <stdio.h>

/* clang-format off */
/*
 * X(KIND, min, max, default, what is bounded). Constants EPH_LIMIT_PORT_MIN,
 * EPH_LIMIT_PORT_MAX, EPH_LIMIT_PORT_DEFAULT and the like; 0 where there
 * is no default.
 */
#define EPH_LIMIT_LIST(X) \
	X(PORT, 1, 65535, 0, \
	  "a TCP or UDP port: pools[].ports and exclude-ports, control.metrics-http, " \
	  "pool set-range, the sessions filter's port") \
	X(WELL_KNOWN_PORT, 1, 1023, 0, \
	  "the well-known ports, which a pool's range never mixes with the others " \
	  "(RFC 4787 REQ-3a); pools[].ports starts above them by default") \
	X(NAME, 1, 31, 0, "characters of a port or pool name") \
	X(POOLS, 0, 64, 0, "pools") \
	X(POOL_ADDRS, 1, 4096, 0, \
	  "addresses of one pool, reserve included; as many as one pool add-address names") \
	X(SESSIONS_LIMIT, 1, 100000, 1000, "sessions one show sessions lists (limit)") \
	X(DESTINATIONS_TOP, 1, 1000, 10, "destinations one show destinations lists (top)") \
	X(VIPS, 0, 64, 0, "virtual IPs (vips)") \
	X(VIP_BACKENDS, 0, 1024, 0, "backends of one VIP") \
	X(BACKEND_WEIGHT, 0, 65535, 100, "a backend's weight (0: drain, no new connection)") \
	X(MAGLEV_SIZE, 101, 4194301, 65537, \
	  "slots of a VIP's Maglev table: a prime, at least 100 per backend") \
	X(LOCAL_ADDRS, 1, 256, 0, "a VIP's local-addresses")
/* clang-format on */

enum {
#define EPH_X(kind, min, max, def, what)                                                           \
	EPH_LIMIT_##kind##_MIN = (min), EPH_LIMIT_##kind##_MAX = (max),                            \
	EPH_LIMIT_##kind##_DEFAULT = (def),
	EPH_LIMIT_LIST(EPH_X)
#undef EPH_X
};

/* What a port or pool name is made of. */
#define EPH_NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_-"

/* control.socket when the file gives none, and where ephctl looks by default. */
#define EPH_CTL_SOCKET_DEFAULT "/run/ephemera/ephemera.sock"

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

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NAT sections: pools (addresses, ports, inside prefixes, behaviours,
 * logging), timeouts, nat (table sizes) and nat-log. Their schema fields,
 * defaults, integer rules and the loader's checks; the rules a pool shares
 * with eph_conf_check are in pool_rules.c.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config/common.h"
#include "control/config/pools.h"
#include "control/config/ports.h"
#include "control/config/vips.h"

/* Documented defaults. */
#define DEF_POOL_PORT_LO            (EPH_LIMIT_WELL_KNOWN_PORT_MAX + 1)
#define DEF_POOL_PORT_HI            EPH_LIMIT_PORT_MAX
#define DEF_QUARANTINE_S            120 /* RFC 6888 REQ-8 */
#define DEF_SESSIONS                262144
#define DEF_DESTINATIONS            65536
#define DEF_HANDOFF_RING            4096
#define DEF_FRAG_DATAGRAMS          1024
#define DEF_FRAG_HELD               512
#define DEF_FRAG_HELD_BYTES         1048576
#define DEF_FRAG_TIMEOUT_MS         2000
#define DEF_WARN_OCCUPANCY          80
#define DEF_PORT_BLOCK_SIZE         256
#define DEF_MAX_BLOCKS_PER_HOST     4
#define DEF_MAX_INBOUND_PER_MAPPING 256
#define DEF_NAT_LOG_RING            16384
#define DEF_FTP_PORT                21

/* ------------------------------------------------------------------------ */
/* Schema */

static const cyaml_strval_t mapping_strings[] = {
	{"endpoint-dependent", EPH_MAPPING_ENDPOINT_DEPENDENT},
	{"endpoint-independent", EPH_MAPPING_ENDPOINT_INDEPENDENT},
};

static const cyaml_strval_t filtering_strings[] = {
	{"endpoint-dependent", EPH_FILTERING_ENDPOINT_DEPENDENT},
	{"endpoint-independent", EPH_FILTERING_ENDPOINT_INDEPENDENT},
};

static const cyaml_strval_t pooling_strings[] = {
	{"paired", EPH_POOLING_PAIRED},
	{"arbitrary", EPH_POOLING_ARBITRARY},
};

static const cyaml_strval_t alg_strings[] = {
	{"ftp", EPH_ALG_FTP},
};

static const cyaml_strval_t log_mode_strings[] = {
	{"off", EPH_NAT_LOG_OFF},
	{"sessions", EPH_NAT_LOG_SESSIONS},
	{"port-blocks", EPH_NAT_LOG_PORT_BLOCKS},
};

/* Port lists are strings: "8080" and "5000-5010" are both scalars to YAML. */
static const cyaml_schema_field_t pool_fields[] = {
	CYAML_FIELD_STRING_PTR("name", OPT, struct raw_pool, name, 0, CYAML_UNLIMITED),
	CYAML_FIELD_SEQUENCE("addresses", OPT_NULL, struct raw_pool, addresses,
			     &eph_conf_string_ptr_schema, 0, EPH_MAX_POOL_ADDRS),
	CYAML_FIELD_STRING_PTR("ports", OPT, struct raw_pool, ports, 0, CYAML_UNLIMITED),
	CYAML_FIELD_SEQUENCE("exclude-ports", OPT_NULL, struct raw_pool, exclude_ports,
			     &eph_conf_string_ptr_schema, 0, EPH_LIMIT_PORT_MAX),
	CYAML_FIELD_SEQUENCE("inside", OPT_NULL, struct raw_pool, inside,
			     &eph_conf_string_ptr_schema, 0, EPH_MAX_POOL_INSIDE),
	CYAML_FIELD_ENUM_PTR("mapping", OPT | CYAML_FLAG_STRICT, struct raw_pool, mapping,
			     mapping_strings, CYAML_ARRAY_LEN(mapping_strings)),
	CYAML_FIELD_ENUM_PTR("filtering", OPT | CYAML_FLAG_STRICT, struct raw_pool, filtering,
			     filtering_strings, CYAML_ARRAY_LEN(filtering_strings)),
	CYAML_FIELD_ENUM_PTR("pooling", OPT | CYAML_FLAG_STRICT, struct raw_pool, pooling,
			     pooling_strings, CYAML_ARRAY_LEN(pooling_strings)),
	CYAML_FIELD_BOOL_PTR("port-preservation", OPT, struct raw_pool, port_preservation),
	CYAML_FIELD_BOOL_PTR("port-parity", OPT, struct raw_pool, port_parity),
	CYAML_FIELD_BOOL_PTR("exhaustion-icmp", OPT, struct raw_pool, exhaustion_icmp),
	CYAML_FIELD_BOOL_PTR("hairpinning", OPT, struct raw_pool, hairpinning),
	CYAML_FIELD_FLAGS_PTR("alg", OPT | CYAML_FLAG_STRICT, struct raw_pool, alg, alg_strings,
			      CYAML_ARRAY_LEN(alg_strings)),
	CYAML_FIELD_INT_PTR("ftp-port", OPT, struct raw_pool, ftp_port),
	CYAML_FIELD_INT_PTR("max-sessions-per-host", OPT, struct raw_pool, max_sessions_per_host),
	CYAML_FIELD_INT_PTR("max-inbound-per-mapping", OPT, struct raw_pool,
			    max_inbound_per_mapping),
	CYAML_FIELD_INT_PTR("quarantine-s", OPT, struct raw_pool, quarantine_s),
	CYAML_FIELD_SEQUENCE("reserve", OPT_NULL, struct raw_pool, reserve,
			     &eph_conf_string_ptr_schema, 0, EPH_MAX_POOL_ADDRS),
	CYAML_FIELD_INT_PTR("warn-occupancy", OPT, struct raw_pool, warn_occupancy),
	CYAML_FIELD_ENUM_PTR("log", OPT | CYAML_FLAG_STRICT, struct raw_pool, log, log_mode_strings,
			     CYAML_ARRAY_LEN(log_mode_strings)),
	CYAML_FIELD_INT_PTR("port-block-size", OPT, struct raw_pool, port_block_size),
	CYAML_FIELD_INT_PTR("max-blocks-per-host", OPT, struct raw_pool, max_blocks_per_host),
	CYAML_FIELD_END,
};

const cyaml_schema_value_t eph_conf_pool_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_pool, pool_fields),
};

const cyaml_schema_field_t eph_conf_timeouts_fields[] = {
	CYAML_FIELD_INT_PTR("udp", OPT, struct raw_timeouts, udp),
	CYAML_FIELD_INT_PTR("tcp-established", OPT, struct raw_timeouts, tcp_established),
	CYAML_FIELD_INT_PTR("tcp-transitory", OPT, struct raw_timeouts, tcp_transitory),
	CYAML_FIELD_INT_PTR("icmp", OPT, struct raw_timeouts, icmp),
	CYAML_FIELD_END,
};

const cyaml_schema_field_t eph_conf_nat_fields[] = {
	CYAML_FIELD_INT_PTR("sessions-per-worker", OPT, struct raw_nat, sessions_per_worker),
	CYAML_FIELD_INT_PTR("destinations-per-worker", OPT, struct raw_nat,
			    destinations_per_worker),
	CYAML_FIELD_INT_PTR("handoff-ring", OPT, struct raw_nat, handoff_ring),
	CYAML_FIELD_INT_PTR("fragment-datagrams", OPT, struct raw_nat, frag_datagrams),
	CYAML_FIELD_INT_PTR("fragment-held", OPT, struct raw_nat, frag_held),
	CYAML_FIELD_INT_PTR("fragment-held-bytes", OPT, struct raw_nat, frag_held_bytes),
	CYAML_FIELD_INT_PTR("fragment-timeout-ms", OPT, struct raw_nat, frag_timeout_ms),
	CYAML_FIELD_END,
};

const cyaml_schema_field_t eph_conf_nat_log_fields[] = {
	CYAML_FIELD_STRING_PTR("file", OPT, struct raw_nat_log, file, 0, CYAML_UNLIMITED),
	CYAML_FIELD_BOOL_PTR("syslog", OPT, struct raw_nat_log, syslog),
	CYAML_FIELD_INT_PTR("ring", OPT, struct raw_nat_log, ring),
	CYAML_FIELD_END,
};

/* clang-format off */
const struct eph_conf_int_rule eph_conf_pools_int_rules[] = {
	{ "pools[].max-sessions-per-host", 0, 16777216, false },
	{ "pools[].max-inbound-per-mapping", 1, 65535, false },
	{ "pools[].quarantine-s",  0,        3600,     false },
	{ "pools[].warn-occupancy", 1,       100,      false },
	{ "pools[].port-block-size", 8,      32768,    false },
	{ "pools[].max-blocks-per-host", 1,  1024,     false },
	{ "pools[].ftp-port",      2,        65535,    false }, /* data from ftp-port - 1 */
	{ "timeouts.udp", EPH_TIMEOUT_UDP_MIN_S, EPH_TIMEOUT_UDP_MAX_S, false },
	{ "timeouts.tcp-established", EPH_TIMEOUT_TCP_ESTABLISHED_MIN_S,
	  EPH_TIMEOUT_TCP_ESTABLISHED_MAX_S, false },
	{ "timeouts.tcp-transitory", EPH_TIMEOUT_TCP_TRANSITORY_MIN_S,
	  EPH_TIMEOUT_TCP_TRANSITORY_MAX_S, false },
	{ "timeouts.icmp", EPH_TIMEOUT_ICMP_MIN_S, EPH_TIMEOUT_ICMP_MAX_S, false },
	{ "nat.sessions-per-worker", 1024,   67108864, false },
	{ "nat.destinations-per-worker", 1024, 16777216, false },
	{ "nat.handoff-ring",      256,      65536,    true },
	{ "nat.fragment-datagrams", 16,      65536,    false },
	{ "nat.fragment-held",     0,        65536,    false },
	{ "nat.fragment-held-bytes", 0,      268435456, false },
	{ "nat.fragment-timeout-ms", 100,    30000,    false },
	{ "nat-log.ring",          256,      1048576,  true },
	{ NULL, 0, 0, false },
};
/* clang-format on */

/* ------------------------------------------------------------------------ */
/* Defaults */

void
eph_conf_pool_defaults(struct eph_conf_pool *pool)
{
	memset(pool, 0, sizeof(*pool));
	pool->port_lo = DEF_POOL_PORT_LO;
	pool->port_hi = DEF_POOL_PORT_HI;
	pool->quarantine_s = DEF_QUARANTINE_S;
	pool->warn_occupancy = DEF_WARN_OCCUPANCY;
	pool->log = EPH_NAT_LOG_OFF;
	pool->port_block_size = DEF_PORT_BLOCK_SIZE;
	pool->max_blocks_per_host = DEF_MAX_BLOCKS_PER_HOST;
	pool->max_inbound_per_mapping = DEF_MAX_INBOUND_PER_MAPPING;
	pool->hairpinning = true;
	pool->ftp_port = DEF_FTP_PORT;
}

void
eph_conf_pools_defaults(struct eph_conf *conf)
{
	unsigned i;

	for (i = 0; i < EPH_MAX_POOLS; i++)
		eph_conf_pool_defaults(&conf->pools[i]);
	conf->timeouts.udp = EPH_TIMEOUT_UDP_DEFAULT_S;
	conf->timeouts.tcp_established = EPH_TIMEOUT_TCP_ESTABLISHED_DEFAULT_S;
	conf->timeouts.tcp_transitory = EPH_TIMEOUT_TCP_TRANSITORY_DEFAULT_S;
	conf->timeouts.icmp = EPH_TIMEOUT_ICMP_DEFAULT_S;
	conf->nat.sessions_per_worker = DEF_SESSIONS;
	conf->nat.destinations_per_worker = DEF_DESTINATIONS;
	conf->nat.handoff_ring = DEF_HANDOFF_RING;
	conf->nat.frag_datagrams = DEF_FRAG_DATAGRAMS;
	conf->nat.frag_held = DEF_FRAG_HELD;
	conf->nat.frag_held_bytes = DEF_FRAG_HELD_BYTES;
	conf->nat.frag_timeout_ms = DEF_FRAG_TIMEOUT_MS;
	conf->nat_log.ring = DEF_NAT_LOG_RING;
}

/* ------------------------------------------------------------------------ */
/* The loader's state of each pool */

/* What one entry of pools[].addresses or pools[].reserve stands for. */
struct addr_span {
	uint32_t first;
	uint64_t count;
	bool ok;
	bool reported; /* one diagnostic per entry, however many addresses clash */
};

/* One address list of a pool as written. */
struct addr_entries {
	bool ok;                 /* the good entries expand within EPH_MAX_POOL_ADDRS */
	uint64_t n_expanded;     /* addresses the good entries expand to, repeats included */
	struct addr_span *spans; /* one per raw entry */
};

/* Per-pool facts the cross checks need even when the pool itself is bad. */
struct pool_state {
	bool name_ok;
	bool ports_ok; /* port_lo and port_hi are the pool's (given or default) */
	struct addr_entries list[N_LISTS];
	uint16_t *inside_entry; /* raw index of each stored inside prefix */
	bool *inside_reported;  /* per raw inside entry */
};

static const char *
pool_name(const struct eph_conf *conf, const struct pool_state *ps, unsigned i)
{
	return ps[i].name_ok ? conf->pools[i].name : "?";
}

/* ------------------------------------------------------------------------ */
/* Pools as written */

enum prange_status {
	PR_OK,
	PR_FORMAT,
	PR_TOO_BIG,
	PR_ZERO,
	PR_REVERSED,
};

/* "N" or "LO-HI", inclusive. */
static enum prange_status
parse_port_range(const char *s, unsigned *lo, unsigned *hi)
{
	const char *dash = strchr(s, '-');

	if (!eph_conf_parse_port_num(s, dash != NULL ? (size_t)(dash - s) : strlen(s), lo))
		return PR_FORMAT;
	if (dash == NULL)
		*hi = *lo;
	else if (!eph_conf_parse_port_num(dash + 1, strlen(dash + 1), hi))
		return PR_FORMAT;
	if (*lo > EPH_LIMIT_PORT_MAX || *hi > EPH_LIMIT_PORT_MAX)
		return PR_TOO_BIG;
	if (*lo == 0 || *hi == 0)
		return PR_ZERO;
	if (*lo > *hi)
		return PR_REVERSED;
	return PR_OK;
}

/* Report a bad port range; true when it is usable. */
static bool
check_port_range(struct vctx *v, const char *path, const char *s, const char *what,
		 enum prange_status st, unsigned lo, unsigned hi)
{
	char q[QLEN], msg[256];

	switch (st) {
	case PR_OK:
		return true;
	case PR_FORMAT:
		eph_conf_err(v, path, "expected %s, found %s", what,
			     eph_conf_quote(q, sizeof(q), s));
		break;
	case PR_TOO_BIG:
		eph_conf_err(v, path, "expected ports from %d to %d, found %s", EPH_LIMIT_PORT_MIN,
			     EPH_LIMIT_PORT_MAX, eph_conf_quote(q, sizeof(q), s));
		break;
	case PR_ZERO:
		eph_conf_err(
			v, path, "port 0 cannot be used, expected ports from %d to %d, found %s",
			EPH_LIMIT_PORT_MIN, EPH_LIMIT_PORT_MAX, eph_conf_quote(q, sizeof(q), s));
		break;
	case PR_REVERSED:
		eph_conf_pool_range_problem(lo, hi, msg, sizeof(msg));
		eph_conf_err(v, path, "%s", msg);
		break;
	}
	return false;
}

#define POOL_PORTS_WHAT                                                                            \
	"a port range like 1024-65535, a single port, or a preset (linux: 32768-60999, iana: "     \
	"49152-65535)"
#define POOL_ADDR_WHAT                                                                             \
	"an address like 198.51.100.1, a prefix like 198.51.100.8/30 or a range like "             \
	"198.51.100.20-198.51.100.22"

/* One entry of pools[].addresses or pools[].reserve: sets span->first and span->count. */
static void
validate_pool_addr(struct vctx *v, const char *path, const char *s, struct addr_span *span)
{
	const char *slash = strchr(s, '/'), *dash = strchr(s, '-'), *why;
	char q[QLEN], a[16], b[16];
	uint32_t first, last, bad;
	uint8_t len = 0;

	span->ok = false;
	if (slash != NULL) {
		if (eph_conf_parse_prefix(s, &first, &len) != PFX_OK) {
			eph_conf_err(v, path, "expected %s, found %s", POOL_ADDR_WHAT,
				     eph_conf_quote(q, sizeof(q), s));
			return;
		}
		if (len < 16) {
			eph_conf_err(v, path,
				     "%s is too large (%" PRIu64 " addresses), "
				     "expected a prefix length of 16 to 32",
				     eph_conf_quote(q, sizeof(q), s), (uint64_t)1 << (32 - len));
			return;
		}
		if ((first & ~eph_conf_prefix_mask(len)) != 0) {
			eph_conf_err(
				v, path,
				"%s has host bits set, expected a network address, did you mean "
				"%s/%u?",
				eph_conf_quote(q, sizeof(q), s),
				eph_conf_ip_str(a, sizeof(a), first & eph_conf_prefix_mask(len)),
				len);
			return;
		}
		last = eph_conf_prefix_last(first, len);
	} else if (dash != NULL) {
		if (!eph_conf_parse_ipv4(s, (size_t)(dash - s), &first) ||
		    !eph_conf_parse_ipv4(dash + 1, strlen(dash + 1), &last)) {
			eph_conf_err(v, path, "expected %s, found %s", POOL_ADDR_WHAT,
				     eph_conf_quote(q, sizeof(q), s));
			return;
		}
		if (first > last) {
			eph_conf_err(v, path,
				     "range start %s is above its end %s, expected a-b with a <= b",
				     eph_conf_ip_str(a, sizeof(a), first),
				     eph_conf_ip_str(b, sizeof(b), last));
			return;
		}
	} else {
		if (!eph_conf_parse_ipv4(s, strlen(s), &first)) {
			eph_conf_err(v, path, "expected %s, found %s", POOL_ADDR_WHAT,
				     eph_conf_quote(q, sizeof(q), s));
			return;
		}
		last = first;
	}
	if (eph_conf_range_problem(first, last, &bad)) {
		why = eph_conf_addr_problem(bad);
		if (first == last)
			eph_conf_err(v, path, "%s %s, expected a unicast address",
				     eph_conf_ip_str(a, sizeof(a), bad), why);
		else
			eph_conf_err(v, path,
				     "%s includes %s, which %s, expected unicast addresses",
				     eph_conf_quote(q, sizeof(q), s),
				     eph_conf_ip_str(a, sizeof(a), bad), why);
		return;
	}
	span->first = first;
	span->count = (uint64_t)last - first + 1;
	span->ok = true;
}

/* The entries of one address list; ok stays false when there are none. */
static void
validate_pool_list(struct vctx *v, unsigned i, enum addr_list list, char *const *entries,
		   unsigned count, struct addr_entries *ae)
{
	char path[64];
	unsigned k;

	if (count == 0 || entries == NULL)
		return;
	ae->spans = calloc(count, sizeof(*ae->spans));
	if (ae->spans == NULL) {
		v->oom = true;
		v->n_errors++;
		return;
	}
	ae->ok = true;
	for (k = 0; k < count; k++) {
		snprintf(path, sizeof(path), "pools[%u].%s[%u]", i, eph_conf_list_key[list], k);
		validate_pool_addr(v, path, entries[k] != NULL ? entries[k] : "", &ae->spans[k]);
		if (ae->spans[k].ok)
			ae->n_expanded += ae->spans[k].count;
	}
	if (ae->n_expanded > EPH_MAX_POOL_ADDRS) {
		snprintf(path, sizeof(path), "pools[%u].%s", i, eph_conf_list_key[list]);
		eph_conf_err(v, path,
			     "the entries expand to %" PRIu64
			     " addresses, at most %d allowed in a pool",
			     ae->n_expanded, EPH_MAX_POOL_ADDRS);
		ae->ok = false;
	}
}

static void
validate_pool_ports(struct vctx *v, unsigned i, const struct raw_pool *r, struct eph_conf_pool *p,
		    struct pool_state *ps)
{
	uint8_t excl[65536 / 8]; /* a bit per port */
	char path[64], q[QLEN], msg[256];
	enum prange_status st;
	unsigned lo = 0, hi = 0, k, x, n;
	bool ports_ok = true;

#define XPATH(key) (snprintf(path, sizeof(path), "pools[%u].%s", i, key), path)
	if (r->ports != NULL) {
		if (strcmp(r->ports, "linux") == 0) {
			lo = 32768;
			hi = 60999;
			st = PR_OK;
		} else if (strcmp(r->ports, "iana") == 0) {
			lo = 49152;
			hi = 65535;
			st = PR_OK;
		} else {
			st = parse_port_range(r->ports, &lo, &hi);
		}
		ports_ok =
			check_port_range(v, XPATH("ports"), r->ports, POOL_PORTS_WHAT, st, lo, hi);
		if (ports_ok && eph_conf_pool_range_problem(lo, hi, msg, sizeof(msg))) {
			eph_conf_err(v, XPATH("ports"), "%s", msg);
			ports_ok = false;
		}
		if (ports_ok) {
			p->port_lo = (uint16_t)lo;
			p->port_hi = (uint16_t)hi;
		}
	}
	ps->ports_ok = ports_ok;

	if (r->exclude_ports_count == 0 || r->exclude_ports == NULL)
		return;
	memset(excl, 0, sizeof(excl));
	for (k = 0; k < r->exclude_ports_count; k++) {
		const char *s = r->exclude_ports[k] != NULL ? r->exclude_ports[k] : "";

		snprintf(path, sizeof(path), "pools[%u].exclude-ports[%u]", i, k);
		st = parse_port_range(s, &lo, &hi);
		if (!check_port_range(v, path, s, "a port like 8080 or a range like 5000-5010", st,
				      lo, hi))
			continue;
		if (!ports_ok)
			continue;
		if (lo < p->port_lo || hi > p->port_hi) {
			if (lo == hi)
				eph_conf_err(v, path, MSG_EXCLUDED_OUTSIDE, lo, p->port_lo,
					     p->port_hi);
			else
				eph_conf_err(
					v, path,
					"excluded range %s is not within the pool's ports %u-%u",
					eph_conf_quote(q, sizeof(q), s), p->port_lo, p->port_hi);
			continue;
		}
		for (x = lo; x <= hi; x++)
			excl[x / 8] |= (uint8_t)(1u << (x % 8));
	}
	if (!ports_ok)
		return;
	for (n = 0, x = p->port_lo; x <= p->port_hi; x++)
		n += (excl[x / 8] >> (x % 8)) & 1;
	if (n == 0)
		return;
	if (n == (unsigned)p->port_hi - p->port_lo + 1) {
		eph_conf_err(v, XPATH("exclude-ports"), MSG_EXCLUDED_ALL, p->port_lo, p->port_hi);
		return;
	}
	p->excluded = malloc(n * sizeof(*p->excluded));
	if (p->excluded == NULL) {
		v->oom = true;
		v->n_errors++;
		return;
	}
	for (x = p->port_lo; x <= p->port_hi; x++)
		if ((excl[x / 8] >> (x % 8)) & 1)
			p->excluded[p->n_excluded++] = (uint16_t)x;
#undef XPATH
}

static void
validate_pool_inside(struct vctx *v, unsigned i, const struct raw_pool *r, struct eph_conf_pool *p,
		     struct pool_state *ps)
{
	const struct eph_pos_entry *e;
	char path[64], q[QLEN], a[16];
	unsigned k;

	snprintf(path, sizeof(path), "pools[%u].inside", i);
	if (p->balancer) {
		/* A VIP's source-pool: the balancer's alone (the VIP's rules say so if inside is there). */
		if (r->inside_count == 0 || r->inside == NULL)
			return;
	}
	if (r->inside_count == 0 || r->inside == NULL) {
		e = eph_pos_find(v->idx, path);
		if (e == NULL)
			eph_conf_err(
				v, path,
				"required key is missing, expected a sequence of inside prefixes "
				"like 192.0.2.0/24");
		else
			eph_conf_err(v, path,
				     "expected a non-empty sequence of inside prefixes like "
				     "192.0.2.0/24, found %s",
				     e->kind == EPH_NODE_SEQUENCE ? "an empty sequence"
								  : "an empty value");
		return;
	}
	p->inside = calloc(r->inside_count, sizeof(*p->inside));
	ps->inside_entry = calloc(r->inside_count, sizeof(*ps->inside_entry));
	ps->inside_reported = calloc(r->inside_count, sizeof(*ps->inside_reported));
	if (p->inside == NULL || ps->inside_entry == NULL || ps->inside_reported == NULL) {
		v->oom = true;
		v->n_errors++;
		return;
	}
	for (k = 0; k < r->inside_count; k++) {
		const char *s = r->inside[k] != NULL ? r->inside[k] : "";
		struct eph_conf_prefix *pf = &p->inside[p->n_inside];

		snprintf(path, sizeof(path), "pools[%u].inside[%u]", i, k);
		if (eph_conf_parse_prefix(s, &pf->addr, &pf->len) != PFX_OK) {
			eph_conf_err(
				v, path,
				"expected a network with prefix length like 192.0.2.0/24 (0 to "
				"32), found %s",
				eph_conf_quote(q, sizeof(q), s));
		} else if ((pf->addr & ~eph_conf_prefix_mask(pf->len)) != 0) {
			eph_conf_err(
				v, path,
				"%s has host bits set, expected a network address, did you mean "
				"%s/%u?",
				eph_conf_quote(q, sizeof(q), s),
				eph_conf_ip_str(a, sizeof(a),
						pf->addr & eph_conf_prefix_mask(pf->len)),
				pf->len);
		} else {
			ps->inside_entry[p->n_inside++] = (uint16_t)k;
		}
	}
}

/* NAT logging keys: what to log, and the sizes of port blocks. */
static void
validate_pool_log(struct vctx *v, unsigned i, const struct raw_pool *r, struct eph_conf_pool *p,
		  const struct pool_state *ps)
{
	bool blocks = p->log == EPH_NAT_LOG_PORT_BLOCKS;
	char path[64], msg[256];
	bool size_ok;

#define LPATH(key) (snprintf(path, sizeof(path), "pools[%u].%s", i, key), path)
	size_ok =
		eph_conf_uint(v, LPATH("port-block-size"), r->port_block_size, &p->port_block_size);
	if (size_ok && ps->ports_ok && (blocks || r->port_block_size != NULL) &&
	    eph_conf_block_size_problem(p, r->port_block_size == NULL, msg, sizeof(msg))) {
		eph_conf_err(v, LPATH("port-block-size"), "%s", msg);
	} else if (size_ok && r->port_block_size != NULL && !blocks) {
		eph_conf_warn(v, LPATH("port-block-size"),
			      "has no effect without log: port-blocks (log is %s%s)",
			      eph_nat_log_mode_name(p->log), r->log == NULL ? " by default" : "");
	}
	if (eph_conf_uint(v, LPATH("max-blocks-per-host"), r->max_blocks_per_host,
			  &p->max_blocks_per_host) &&
	    r->max_blocks_per_host != NULL && !blocks)
		eph_conf_warn(v, path, "has no effect without log: port-blocks (log is %s%s)",
			      eph_nat_log_mode_name(p->log), r->log == NULL ? " by default" : "");
#undef LPATH
}

static void
validate_pool(struct vctx *v, unsigned i, const struct raw_pool *r, struct eph_conf_pool *p,
	      struct pool_state *ps, bool balancer)
{
	const struct eph_pos_entry *e;
	char path[64], q[QLEN];
	struct addr_entries *ad = &ps->list[LIST_ADDRESSES], *rs = &ps->list[LIST_RESERVE];

#define PLPATH(key) (snprintf(path, sizeof(path), "pools[%u].%s", i, key), path)
	eph_conf_pool_defaults(p);
	p->balancer = balancer;

	if (r->name == NULL) {
		eph_conf_err(v, PLPATH("name"), "required key is missing");
	} else if (r->name[0] == '\0' || strlen(r->name) >= EPH_NAME_LEN ||
		   !eph_conf_only_chars(r->name, NAME_CHARS)) {
		eph_conf_err(v, PLPATH("name"),
			     "expected a name of 1 to %d characters from a-z, 0-9, '_' and '-', "
			     "found %s",
			     EPH_NAME_LEN - 1, eph_conf_quote(q, sizeof(q), r->name));
	} else {
		snprintf(p->name, sizeof(p->name), "%s", r->name);
		ps->name_ok = true;
	}

	if (r->addresses_count == 0 || r->addresses == NULL) {
		e = eph_pos_find(v->idx, PLPATH("addresses"));
		if (e == NULL)
			eph_conf_err(
				v, path,
				"required key is missing, expected a sequence of addresses like "
				"198.51.100.1, 198.51.100.8/30 or 198.51.100.20-198.51.100.22");
		else
			eph_conf_err(v, path,
				     "expected a non-empty sequence of addresses, found %s",
				     e->kind == EPH_NODE_SEQUENCE ? "an empty sequence"
								  : "an empty value");
	}
	validate_pool_list(v, i, LIST_ADDRESSES, r->addresses, r->addresses_count, ad);
	validate_pool_list(v, i, LIST_RESERVE, r->reserve, r->reserve_count, rs);
	/* The data plane holds a pool's regular and spill addresses in one table. */
	if (ad->ok && rs->ok && ad->n_expanded + rs->n_expanded > EPH_MAX_POOL_ADDRS) {
		eph_conf_err(v, PLPATH("reserve"),
			     "addresses and reserve expand to %" PRIu64
			     " addresses together, at most "
			     "%d allowed in a pool",
			     ad->n_expanded + rs->n_expanded, EPH_MAX_POOL_ADDRS);
		rs->ok = false;
	}

	validate_pool_ports(v, i, r, p, ps);
	validate_pool_inside(v, i, r, p, ps);

	if (r->mapping != NULL)
		p->mapping = *r->mapping;
	if (r->filtering != NULL)
		p->filtering = *r->filtering;
	if (r->pooling != NULL)
		p->pooling = *r->pooling;
	if (p->filtering == EPH_FILTERING_ENDPOINT_INDEPENDENT &&
	    p->mapping != EPH_MAPPING_ENDPOINT_INDEPENDENT)
		eph_conf_err(
			v, PLPATH("filtering"),
			"endpoint-independent filtering requires mapping: endpoint-independent "
			"(mapping is %s%s)",
			eph_nat_mapping_name(p->mapping), r->mapping == NULL ? " by default" : "");
	eph_conf_bool(v, PLPATH("port-preservation"), r->port_preservation, &p->port_preservation);
	eph_conf_bool(v, PLPATH("port-parity"), r->port_parity, &p->port_parity);
	eph_conf_bool(v, PLPATH("exhaustion-icmp"), r->exhaustion_icmp, &p->exhaustion_icmp);
	eph_conf_bool(v, PLPATH("hairpinning"), r->hairpinning, &p->hairpinning);
	if (r->alg != NULL)
		p->alg = *r->alg;
	{
		unsigned ftp_port = p->ftp_port;

		if (eph_conf_uint(v, PLPATH("ftp-port"), r->ftp_port, &ftp_port))
			p->ftp_port = (uint16_t)ftp_port;
	}
	if (r->ftp_port != NULL && !(p->alg & EPH_ALG_FTP))
		eph_conf_err(v, PLPATH("ftp-port"),
			     "ftp-port applies to the FTP gateway, which is off: add alg: [ftp]");
	if ((p->alg & EPH_ALG_FTP) && p->pooling == EPH_POOLING_ARBITRARY)
		eph_conf_warn(v, PLPATH("alg"),
			      "with pooling: arbitrary an FTP data connection may leave from another "
			      "address than its control connection, which servers refuse");
	eph_conf_uint(v, PLPATH("max-sessions-per-host"), r->max_sessions_per_host,
		      &p->max_sessions_per_host);
	eph_conf_uint(v, PLPATH("max-inbound-per-mapping"), r->max_inbound_per_mapping,
		      &p->max_inbound_per_mapping);
	if (eph_conf_uint(v, PLPATH("quarantine-s"), r->quarantine_s, &p->quarantine_s) &&
	    r->quarantine_s != NULL && p->quarantine_s < DEF_QUARANTINE_S)
		eph_conf_warn(
			v, path,
			"%u s is below the %u s recommended by RFC 6888 REQ-8; a freed port may go "
			"to a new host while the old peer still sends to it",
			p->quarantine_s, DEF_QUARANTINE_S);
	eph_conf_uint(v, PLPATH("warn-occupancy"), r->warn_occupancy, &p->warn_occupancy);
	if (r->log != NULL)
		p->log = *r->log;
	validate_pool_log(v, i, r, p, ps);
#undef PLPATH
}

/* For the clash callbacks of the loader. */
struct load_pools {
	struct vctx *v;
	const struct eph_conf *conf;
	struct pool_state *ps;
};

static struct addr_span *
item_span(struct pool_state *ps, const struct pool_item *it)
{
	return &ps[it->pool].list[it->list].spans[it->entry];
}

static void
load_addr_clash(void *ctx, const struct pool_item *it, const struct pool_item *first)
{
	struct load_pools *lp = ctx;
	struct addr_span *sp = item_span(lp->ps, it);
	char path[64], a[16];

	if (sp->reported)
		return;
	sp->reported = true;
	snprintf(path, sizeof(path), "pools[%u].%s[%u]", it->pool, eph_conf_list_key[it->list],
		 it->entry);
	eph_conf_ip_str(a, sizeof(a), it->addr);
	if (it->pool == first->pool && it->list == first->list)
		eph_conf_err(lp->v, path, "%s is listed twice, already given by %s[%u]", a,
			     eph_conf_list_key[first->list], first->entry);
	else if (it->pool == first->pool)
		eph_conf_err(lp->v, path,
			     "%s is already one of the pool's addresses (addresses[%u]); a reserve "
			     "address must not be a regular one",
			     a, first->entry);
	else
		eph_conf_err(
			lp->v, path,
			"%s is already in pool '%s' (pools[%u].%s[%u]); an address can belong to "
			"one pool only",
			a, pool_name(lp->conf, lp->ps, first->pool), first->pool,
			eph_conf_list_key[first->list], first->entry);
}

/* Addresses shared between pools, lists or entries, or taken by a port. */
static void
check_pool_addrs(struct vctx *v, struct eph_conf *conf, struct pool_state *ps,
		 const struct port_state *st, const struct pool_item *items, size_t n)
{
	struct load_pools lp = {v, conf, ps};
	char path[64], msg[256];
	unsigned i;
	size_t k;

	eph_conf_addr_clashes(items, n, load_addr_clash, &lp);
	for (k = 0; k < n; k++) {
		const struct pool_item *it = &items[k];
		struct addr_span *sp = item_span(ps, it);

		for (i = 0; i < conf->n_ports && !sp->reported; i++) {
			if (!st[i].addr_ok ||
			    !eph_conf_pool_addr_port_clash(&conf->ports[i], it->addr,
							   conf->pools[it->pool].balancer, msg,
							   sizeof(msg)))
				continue;
			snprintf(path, sizeof(path), "pools[%u].%s[%u]", it->pool,
				 eph_conf_list_key[it->list], it->entry);
			eph_conf_err(v, path, "%s", msg);
			sp->reported = true;
		}
	}
}

static void
load_inside_overlap(void *ctx, const struct inside_item *blame, const struct inside_item *other)
{
	struct load_pools *lp = ctx;
	char path[64], a[16], b[16];

	snprintf(path, sizeof(path), "pools[%u].inside[%u]", blame->pool, blame->entry);
	eph_conf_err(lp->v, path,
		     "%s/%u overlaps inside prefix %s/%u of pool '%s'; a host would have two pools",
		     eph_conf_ip_str(a, sizeof(a), blame->addr), blame->len,
		     eph_conf_ip_str(b, sizeof(b), other->addr), other->len,
		     pool_name(lp->conf, lp->ps, other->pool));
}

/* An address already refused for its own sake is not blamed twice. */
static bool
load_inside_contains(void *ctx, const struct inside_item *in, const struct pool_item *it)
{
	struct load_pools *lp = ctx;
	char path[64], a[16], b[16];

	if (item_span(lp->ps, it)->reported)
		return false;
	snprintf(path, sizeof(path), "pools[%u].inside[%u]", in->pool, in->entry);
	eph_conf_err(lp->v, path,
		     "%s/%u contains %s, an address of pool '%s'; pool addresses cannot be inside "
		     "hosts",
		     eph_conf_ip_str(a, sizeof(a), in->addr), in->len,
		     eph_conf_ip_str(b, sizeof(b), it->addr),
		     pool_name(lp->conf, lp->ps, it->pool));
	return true;
}

struct span32 {
	uint32_t lo;
	uint32_t hi;
};

static int
span32_cmp(const void *a, const void *b)
{
	const struct span32 *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/*
 * Inside prefixes: no host may match two pools, no pool address may be an
 * inside host, and (a warning) every prefix should be reachable from an
 * inside port.
 */
static void
check_pool_inside(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf,
		  struct pool_state *ps, const struct port_state *st, const struct pool_item *items,
		  size_t n_items)
{
	struct load_pools lp = {v, conf, ps};
	struct inside_item *all = NULL;
	struct span32 *reach = NULL;
	size_t n = 0, n_reach = 0, k, j;
	char path[64], c[16];
	bool ports_ok = true;
	unsigned i;

	for (i = 0; i < conf->n_pools; i++)
		n += conf->pools[i].n_inside;
	if (n == 0)
		return;
	all = malloc(n * sizeof(*all));
	reach = malloc((conf->n_ports + conf->n_routes + 1) * sizeof(*reach));
	if (all == NULL || reach == NULL) {
		v->oom = true;
		v->n_errors++;
		goto out;
	}
	n = 0;
	for (i = 0; i < conf->n_pools; i++) {
		for (k = 0; k < conf->pools[i].n_inside; k++) {
			uint16_t entry = ps[i].inside_entry[k];

			all[n++] = (struct inside_item){conf->pools[i].inside[k].addr,
							conf->pools[i].inside[k].len, (uint16_t)i,
							entry, &ps[i].inside_reported[entry]};
		}
	}
	qsort(all, n, sizeof(*all), eph_conf_inside_item_cmp);
	if (eph_conf_inside_overlaps(all, n, load_inside_overlap, &lp) < 0) {
		v->oom = true;
		v->n_errors++;
		goto out;
	}
	eph_conf_inside_contains(all, n, items, n_items, load_inside_contains, &lp);

	/* The warning needs every port and route, or it would guess. */
	for (i = 0; i < conf->n_ports; i++)
		ports_ok = ports_ok && st[i].addr_ok && r->ports[i].role != NULL;
	if (!ports_ok || conf->n_routes != r->routes_count)
		goto out;
	for (i = 0; i < conf->n_ports; i++) {
		const struct eph_conf_port *p = &conf->ports[i];

		if (p->role == EPH_ROLE_INSIDE)
			reach[n_reach++] =
				(struct span32){p->addr & eph_conf_prefix_mask(p->prefix_len),
						eph_conf_prefix_last(p->addr, p->prefix_len)};
	}
	/* Routes may be many: merge the intervals once, then search them. */
	for (i = 0; i < conf->n_routes; i++) {
		const struct eph_conf_route *rt = &conf->routes[i];

		if (conf->ports[rt->port].role == EPH_ROLE_INSIDE)
			reach[n_reach++] = (struct span32){
				rt->prefix, eph_conf_prefix_last(rt->prefix, rt->prefix_len)};
	}
	if (n_reach > 1)
		qsort(reach, n_reach, sizeof(*reach), span32_cmp);
	for (k = 0, j = 0; k < n_reach; k++) {
		if (j > 0 && reach[k].lo <= reach[j - 1].hi) {
			if (reach[k].hi > reach[j - 1].hi)
				reach[j - 1].hi = reach[k].hi;
		} else {
			reach[j++] = reach[k];
		}
	}
	n_reach = j;
	for (k = 0; k < n; k++) {
		const struct inside_item *cur = &all[k];
		uint32_t last = eph_conf_prefix_last(cur->addr, cur->len);
		size_t lo = 0, hi = n_reach;

		/* the last merged interval starting at or before the prefix's end */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (reach[mid].lo <= last)
				lo = mid + 1;
			else
				hi = mid;
		}
		if ((lo > 0 && reach[lo - 1].hi >= cur->addr) || *cur->reported)
			continue;
		snprintf(path, sizeof(path), "pools[%u].inside[%u]", cur->pool, cur->entry);
		eph_conf_warn(
			v, path,
			"no inside port or route reaches %s/%u, so its hosts never use pool '%s'",
			eph_conf_ip_str(c, sizeof(c), cur->addr), cur->len,
			pool_name(conf, ps, cur->pool));
	}
out:
	free(all);
	free(reach);
}

/* Expanded addresses of both lists into each pool's sorted arrays; false on ENOMEM. */
static bool
store_pool_addrs(struct eph_conf *conf, const struct raw_conf *r, const struct pool_state *ps,
		 struct pool_item *items, size_t *n_items)
{
	size_t n = 0, k;
	unsigned i, e, l;
	uint32_t c;

	for (i = 0; i < conf->n_pools; i++) {
		struct eph_conf_pool *p = &conf->pools[i];

		for (l = 0; l < N_LISTS; l++) {
			const struct addr_entries *ae = &ps[i].list[l];
			uint32_t **arr = l == LIST_ADDRESSES ? &p->addrs : &p->reserve;
			unsigned count = l == LIST_ADDRESSES ? r->pools[i].addresses_count
							     : r->pools[i].reserve_count;

			if (!ae->ok || ae->n_expanded == 0)
				continue;
			*arr = malloc((size_t)ae->n_expanded * sizeof(uint32_t));
			if (*arr == NULL)
				return false;
			for (e = 0; e < count; e++)
				for (c = 0; ae->spans[e].ok && c < ae->spans[e].count; c++)
					items[n++] = (struct pool_item){ae->spans[e].first + c,
									(uint16_t)i, (uint16_t)l,
									(uint16_t)e};
		}
	}
	if (n > 1)
		qsort(items, n, sizeof(*items), eph_conf_pool_item_cmp);
	for (k = 0; k < n; k++) {
		struct eph_conf_pool *p = &conf->pools[items[k].pool];
		uint32_t *arr = items[k].list == LIST_ADDRESSES ? p->addrs : p->reserve;
		unsigned *na = items[k].list == LIST_ADDRESSES ? &p->n_addrs : &p->n_reserve;

		if (*na == 0 || arr[*na - 1] != items[k].addr)
			arr[(*na)++] = items[k].addr;
	}
	*n_items = n;
	return true;
}

void
eph_conf_validate_pools(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf,
			const struct port_state *st, bool nat_log_reported)
{
	struct pool_state ps[EPH_MAX_POOLS];
	struct pool_item *items = NULL;
	size_t n_items = 0;
	char path[64], msg[256];
	unsigned i, j, l;

	if (r->pools_count == 0 || r->pools == NULL)
		return;
	memset(ps, 0, sizeof(ps));
	conf->n_pools = r->pools_count;
	for (i = 0; i < conf->n_pools; i++) {
		validate_pool(v, i, &r->pools[i], &conf->pools[i], &ps[i],
			      eph_conf_raw_source_pool(r, r->pools[i].name));
		/* A bad nat-log.file is reported once, there. */
		if (!nat_log_reported &&
		    eph_conf_log_dest_problem(conf, &conf->pools[i], msg, sizeof(msg))) {
			snprintf(path, sizeof(path), "pools[%u].log", i);
			eph_conf_err(v, path, "%s", msg);
		}
	}

	for (i = 1; i < conf->n_pools; i++) {
		for (j = 0; j < i; j++) {
			if (ps[i].name_ok && ps[j].name_ok &&
			    strcmp(conf->pools[i].name, conf->pools[j].name) == 0) {
				snprintf(path, sizeof(path), "pools[%u].name", i);
				eph_conf_err(v, path,
					     "duplicate pool name '%s', already used by pools[%u]",
					     conf->pools[i].name, j);
				break;
			}
		}
	}

	/*
	 * Every address of every good entry, sorted: clashes are neighbours. A
	 * pool with a bad entry still takes part, so one run reports all.
	 */
	for (i = 0; i < conf->n_pools; i++)
		for (l = 0; l < N_LISTS; l++)
			if (ps[i].list[l].ok)
				n_items += (size_t)ps[i].list[l].n_expanded;
	if (n_items > 0) {
		items = malloc(n_items * sizeof(*items));
		if (items == NULL || !store_pool_addrs(conf, r, ps, items, &n_items)) {
			v->oom = true;
			v->n_errors++;
			goto out;
		}
	}

	check_pool_addrs(v, conf, ps, st, items, n_items);
	check_pool_inside(v, r, conf, ps, st, items, n_items);
out:
	free(items);
	for (i = 0; i < EPH_MAX_POOLS; i++) {
		for (l = 0; l < N_LISTS; l++)
			free(ps[i].list[l].spans);
		free(ps[i].inside_entry);
		free(ps[i].inside_reported);
	}
}

/* A timeout below what its RFC asks for works, but breaks applications: warn. */
static void
conf_timeout(struct vctx *v, const int64_t *raw, unsigned *out, enum eph_timeout_kind k)
{
	char path[48], why[160];

	snprintf(path, sizeof(path), "timeouts.%s", eph_timeout_limits[k].name);
	if (eph_conf_uint(v, path, raw, out) && raw != NULL &&
	    eph_timeout_floor_warning(k, *out, why, sizeof(why)))
		eph_conf_warn(v, path, "%s", why);
}

void
eph_conf_validate_nat(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf)
{
	if (r->timeouts != NULL) {
		const struct raw_timeouts *t = r->timeouts;

		conf_timeout(v, t->udp, &conf->timeouts.udp, EPH_TIMEOUT_UDP);
		conf_timeout(v, t->tcp_established, &conf->timeouts.tcp_established,
			     EPH_TIMEOUT_TCP_ESTABLISHED);
		conf_timeout(v, t->tcp_transitory, &conf->timeouts.tcp_transitory,
			     EPH_TIMEOUT_TCP_TRANSITORY);
		conf_timeout(v, t->icmp, &conf->timeouts.icmp, EPH_TIMEOUT_ICMP);
	}
	if (r->nat != NULL) {
		eph_conf_uint(v, "nat.sessions-per-worker", r->nat->sessions_per_worker,
			      &conf->nat.sessions_per_worker);
		eph_conf_uint(v, "nat.destinations-per-worker", r->nat->destinations_per_worker,
			      &conf->nat.destinations_per_worker);
		eph_conf_uint(v, "nat.handoff-ring", r->nat->handoff_ring, &conf->nat.handoff_ring);
		eph_conf_uint(v, "nat.fragment-datagrams", r->nat->frag_datagrams,
			      &conf->nat.frag_datagrams);
		eph_conf_uint(v, "nat.fragment-held", r->nat->frag_held, &conf->nat.frag_held);
		eph_conf_uint(v, "nat.fragment-held-bytes", r->nat->frag_held_bytes,
			      &conf->nat.frag_held_bytes);
		eph_conf_uint(v, "nat.fragment-timeout-ms", r->nat->frag_timeout_ms,
			      &conf->nat.frag_timeout_ms);
	}
}

/* Returns false when nat-log.file was given but refused (and reported). */
bool
eph_conf_validate_nat_log(struct vctx *v, const struct raw_nat_log *r, struct eph_conf_nat_log *nl)
{
	char q[QLEN];
	bool file_ok = true;

	if (r == NULL)
		return true;
	if (r->file != NULL) {
		size_t len = strlen(r->file);

		file_ok = false;
		if (r->file[0] != '/')
			eph_conf_err(v, "nat-log.file", "expected an absolute path, found %s",
				     eph_conf_quote(q, sizeof(q), r->file));
		else if (len >= sizeof(nl->file))
			eph_conf_err(v, "nat-log.file",
				     "expected a path of at most %zu characters, found %zu",
				     sizeof(nl->file) - 1, len);
		else if (r->file[len - 1] == '/')
			eph_conf_err(v, "nat-log.file", "expected a file, found the directory %s",
				     eph_conf_quote(q, sizeof(q), r->file));
		else
			file_ok = true;
		if (file_ok)
			snprintf(nl->file, sizeof(nl->file), "%s", r->file);
	}
	eph_conf_bool(v, "nat-log.syslog", r->syslog, &nl->syslog);
	eph_conf_uint(v, "nat-log.ring", r->ring, &nl->ring);
	return file_ok;
}

/* ------------------------------------------------------------------------ */
/* Names */

const char *
eph_nat_mapping_name(enum eph_nat_mapping m)
{
	switch (m) {
	case EPH_MAPPING_ENDPOINT_DEPENDENT:
		return "endpoint-dependent";
	case EPH_MAPPING_ENDPOINT_INDEPENDENT:
		return "endpoint-independent";
	}
	return "unknown";
}

const char *
eph_nat_filtering_name(enum eph_nat_filtering f)
{
	switch (f) {
	case EPH_FILTERING_ENDPOINT_DEPENDENT:
		return "endpoint-dependent";
	case EPH_FILTERING_ENDPOINT_INDEPENDENT:
		return "endpoint-independent";
	}
	return "unknown";
}

const char *
eph_nat_pooling_name(enum eph_nat_pooling p)
{
	switch (p) {
	case EPH_POOLING_PAIRED:
		return "paired";
	case EPH_POOLING_ARBITRARY:
		return "arbitrary";
	}
	return "unknown";
}

const char *
eph_nat_log_mode_name(enum eph_nat_log_mode m)
{
	switch (m) {
	case EPH_NAT_LOG_OFF:
		return "off";
	case EPH_NAT_LOG_SESSIONS:
		return "sessions";
	case EPH_NAT_LOG_PORT_BLOCKS:
		return "port-blocks";
	}
	return "unknown";
}

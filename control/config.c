/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration loading and validation.
 *
 * Three passes over one buffer:
 *  1. libyaml's document API builds a position index (config_pos.c), which
 *     also catches YAML syntax errors with their exact mark;
 *  2. a declarative libcyaml schema maps the YAML onto struct raw_conf
 *     (strings, ints, bools, sequences; absent keys stay NULL). libcyaml
 *     stops at its first problem and explains it through its log callback as
 *     a message plus a backtrace; that is turned into one diagnostic line;
 *  3. validate() converts raw_conf into struct eph_conf, checking ranges,
 *     formats and cross references, and reports every problem it finds.
 *
 * Diagnostics are collected, sorted by position and printed as
 * "FILE:LINE:COLUMN: error: KEY.PATH: message". No DPDK headers here, so
 * the configuration can be checked on a machine without DPDK.
 *
 * For live changes: eph_conf_dup copies a configuration, eph_conf_check
 * applies the loader's cross-field rules to one changed in memory, and
 * eph_conf_diff says what differs between two and what needs a restart.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf; meson passes it, a bare compiler may not */
#endif
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <grp.h>

#include <cyaml/cyaml.h>

#include "config.h"
#include "config_pos.h"
#include "control/limits.h"

/* Documented defaults, shared by eph_conf_defaults() and the range table. */
#define DEF_LCORES              "0-1"
#define DEF_MAIN_LCORE          -1
#define DEF_MEMORY_MB           256
#define DEF_FILE_PREFIX         "ephemera"
#define DEF_LOG_LEVEL           "notice"
#define DEF_MTU                 1500
#define DEF_DESC                1024
#define DEF_REACHABLE_S         300
#define DEF_RETRY_MS            1000
#define DEF_RETRIES             3
#define DEF_HOLD_PACKETS        8
#define DEF_MAX_ENTRIES         4096
#define DEF_BURST               32
#define DEF_TX_DRAIN_US         100
#define DEF_MBUFS               16383
#define DEF_ICMP_RATE           1000
#define DEF_SOCKET              "/run/ephemera/ephemera.sock"
#define DEF_POOL_PORT_LO        1024
#define DEF_POOL_PORT_HI        65535
#define DEF_QUARANTINE_S        120  /* RFC 6888 REQ-8 */
#define DEF_SESSIONS            262144
#define DEF_DESTINATIONS        65536
#define DEF_HANDOFF_RING        4096
#define DEF_WARN_OCCUPANCY      80
#define DEF_PORT_BLOCK_SIZE     256
#define DEF_MAX_BLOCKS_PER_HOST 4
#define DEF_MAX_INBOUND_PER_MAPPING 256
#define DEF_NAT_LOG_RING        16384
#define DEF_METRICS_ADDR        0x7f000001 /* 127.0.0.1 */
#define DEF_METRICS_PORT        9469

/* ------------------------------------------------------------------------ */
/* Raw YAML mapping: what libcyaml fills in. NULL pointer = key absent. */

struct raw_eal {
	char *lcores;
	int64_t *main_lcore;
	bool *hugepages;
	int64_t *memory_mb;
	char *file_prefix;
	char *log_level;
	char **args;
	unsigned args_count;
};

struct raw_port {
	char *name;
	char *device;
	enum eph_port_role *role;
	char *address;
	int64_t *mtu;
	int64_t *rx_desc;
	int64_t *tx_desc;
	bool *promiscuous;
};

struct raw_route {
	char *prefix;
	char *via;
	char *port;
};

struct raw_arp {
	int64_t *reachable_s;
	int64_t *retry_ms;
	int64_t *retries;
	int64_t *hold_packets;
	int64_t *max_entries;
};

struct raw_dataplane {
	int64_t *burst;
	int64_t *tx_drain_us;
	int64_t *mbufs;
	int64_t *icmp_rate;
};

struct raw_control {
	char *socket;
	char *group;
	bool *telemetry;
	char *metrics_http;
};

struct raw_pool {
	char *name;
	char **addresses;
	unsigned addresses_count;
	char *ports;
	char **exclude_ports;
	unsigned exclude_ports_count;
	char **inside;
	unsigned inside_count;
	enum eph_nat_mapping *mapping;
	enum eph_nat_filtering *filtering;
	enum eph_nat_pooling *pooling;
	bool *port_preservation;
	bool *port_parity;
	bool *exhaustion_icmp;
	int64_t *max_sessions_per_host;
	int64_t *max_inbound_per_mapping;
	int64_t *quarantine_s;
	char **reserve;
	unsigned reserve_count;
	int64_t *warn_occupancy;
	enum eph_nat_log_mode *log;
	int64_t *port_block_size;
	int64_t *max_blocks_per_host;
};

struct raw_timeouts {
	int64_t *udp;
	int64_t *tcp_established;
	int64_t *tcp_transitory;
	int64_t *icmp;
};

struct raw_nat {
	int64_t *sessions_per_worker;
	int64_t *destinations_per_worker;
	int64_t *handoff_ring;
};

struct raw_nat_log {
	char *file;
	bool *syslog;
	int64_t *ring;
};

struct raw_conf {
	struct raw_eal *eal;
	struct raw_port *ports;
	unsigned ports_count;
	struct raw_route *routes;
	unsigned routes_count;
	struct raw_arp *arp;
	struct raw_dataplane *dataplane;
	struct raw_control *control;
	struct raw_pool *pools;
	unsigned pools_count;
	struct raw_timeouts *timeouts;
	struct raw_nat *nat;
	struct raw_nat_log *nat_log;
};

/*
 * Every key is optional to libcyaml: required keys are checked by validate(),
 * which can then report all of them at once. Ints are int64_t so that
 * negative and oversized values reach the range checks intact. Sections and
 * sequences accept an empty or null value ("eal:", "eal: ~") as absent.
 */
#define OPT      (CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL)
#define OPT_NULL (CYAML_FLAG_POINTER_NULL_STR | CYAML_FLAG_OPTIONAL)

static const cyaml_schema_value_t string_ptr_schema = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

static const cyaml_schema_field_t eal_fields[] = {
	CYAML_FIELD_STRING_PTR("lcores", OPT, struct raw_eal, lcores, 0, CYAML_UNLIMITED),
	CYAML_FIELD_INT_PTR("main-lcore", OPT, struct raw_eal, main_lcore),
	CYAML_FIELD_BOOL_PTR("hugepages", OPT, struct raw_eal, hugepages),
	CYAML_FIELD_INT_PTR("memory-mb", OPT, struct raw_eal, memory_mb),
	CYAML_FIELD_STRING_PTR("file-prefix", OPT, struct raw_eal, file_prefix, 0, CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("log-level", OPT, struct raw_eal, log_level, 0, CYAML_UNLIMITED),
	CYAML_FIELD_SEQUENCE("args", OPT_NULL, struct raw_eal, args, &string_ptr_schema, 0,
			     EPH_MAX_EAL_ARGS),
	CYAML_FIELD_END,
};

static const cyaml_strval_t role_strings[] = {
	{"inside", EPH_ROLE_INSIDE},
	{"outside", EPH_ROLE_OUTSIDE},
};

static const cyaml_schema_field_t port_fields[] = {
	CYAML_FIELD_STRING_PTR("name", OPT, struct raw_port, name, 0, CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("device", OPT, struct raw_port, device, 0, CYAML_UNLIMITED),
	CYAML_FIELD_ENUM_PTR("role", OPT | CYAML_FLAG_STRICT, struct raw_port, role, role_strings,
			     CYAML_ARRAY_LEN(role_strings)),
	CYAML_FIELD_STRING_PTR("address", OPT, struct raw_port, address, 0, CYAML_UNLIMITED),
	CYAML_FIELD_INT_PTR("mtu", OPT, struct raw_port, mtu),
	CYAML_FIELD_INT_PTR("rx-desc", OPT, struct raw_port, rx_desc),
	CYAML_FIELD_INT_PTR("tx-desc", OPT, struct raw_port, tx_desc),
	CYAML_FIELD_BOOL_PTR("promiscuous", OPT, struct raw_port, promiscuous),
	CYAML_FIELD_END,
};

static const cyaml_schema_value_t port_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_port, port_fields),
};

static const cyaml_schema_field_t route_fields[] = {
	CYAML_FIELD_STRING_PTR("prefix", OPT, struct raw_route, prefix, 0, CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("via", OPT, struct raw_route, via, 0, CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("port", OPT, struct raw_route, port, 0, CYAML_UNLIMITED),
	CYAML_FIELD_END,
};

static const cyaml_schema_value_t route_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_route, route_fields),
};

static const cyaml_schema_field_t arp_fields[] = {
	CYAML_FIELD_INT_PTR("reachable-s", OPT, struct raw_arp, reachable_s),
	CYAML_FIELD_INT_PTR("retry-ms", OPT, struct raw_arp, retry_ms),
	CYAML_FIELD_INT_PTR("retries", OPT, struct raw_arp, retries),
	CYAML_FIELD_INT_PTR("hold-packets", OPT, struct raw_arp, hold_packets),
	CYAML_FIELD_INT_PTR("max-entries", OPT, struct raw_arp, max_entries),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t dataplane_fields[] = {
	CYAML_FIELD_INT_PTR("burst", OPT, struct raw_dataplane, burst),
	CYAML_FIELD_INT_PTR("tx-drain-us", OPT, struct raw_dataplane, tx_drain_us),
	CYAML_FIELD_INT_PTR("mbufs", OPT, struct raw_dataplane, mbufs),
	CYAML_FIELD_INT_PTR("icmp-rate", OPT, struct raw_dataplane, icmp_rate),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t control_fields[] = {
	CYAML_FIELD_STRING_PTR("socket", OPT, struct raw_control, socket, 0, CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("group", OPT, struct raw_control, group, 0, CYAML_UNLIMITED),
	CYAML_FIELD_BOOL_PTR("telemetry", OPT, struct raw_control, telemetry),
	CYAML_FIELD_STRING_PTR("metrics-http", OPT, struct raw_control, metrics_http, 0,
			       CYAML_UNLIMITED),
	CYAML_FIELD_END,
};

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

static const cyaml_strval_t log_mode_strings[] = {
	{"off", EPH_NAT_LOG_OFF},
	{"sessions", EPH_NAT_LOG_SESSIONS},
	{"port-blocks", EPH_NAT_LOG_PORT_BLOCKS},
};

/* Port lists are strings: "8080" and "5000-5010" are both scalars to YAML. */
static const cyaml_schema_field_t pool_fields[] = {
	CYAML_FIELD_STRING_PTR("name", OPT, struct raw_pool, name, 0, CYAML_UNLIMITED),
	CYAML_FIELD_SEQUENCE("addresses", OPT_NULL, struct raw_pool, addresses, &string_ptr_schema,
			     0, EPH_MAX_POOL_ADDRS),
	CYAML_FIELD_STRING_PTR("ports", OPT, struct raw_pool, ports, 0, CYAML_UNLIMITED),
	CYAML_FIELD_SEQUENCE("exclude-ports", OPT_NULL, struct raw_pool, exclude_ports,
			     &string_ptr_schema, 0, 65535),
	CYAML_FIELD_SEQUENCE("inside", OPT_NULL, struct raw_pool, inside, &string_ptr_schema, 0,
			     EPH_MAX_POOL_INSIDE),
	CYAML_FIELD_ENUM_PTR("mapping", OPT | CYAML_FLAG_STRICT, struct raw_pool, mapping,
			     mapping_strings, CYAML_ARRAY_LEN(mapping_strings)),
	CYAML_FIELD_ENUM_PTR("filtering", OPT | CYAML_FLAG_STRICT, struct raw_pool, filtering,
			     filtering_strings, CYAML_ARRAY_LEN(filtering_strings)),
	CYAML_FIELD_ENUM_PTR("pooling", OPT | CYAML_FLAG_STRICT, struct raw_pool, pooling,
			     pooling_strings, CYAML_ARRAY_LEN(pooling_strings)),
	CYAML_FIELD_BOOL_PTR("port-preservation", OPT, struct raw_pool, port_preservation),
	CYAML_FIELD_BOOL_PTR("port-parity", OPT, struct raw_pool, port_parity),
	CYAML_FIELD_BOOL_PTR("exhaustion-icmp", OPT, struct raw_pool, exhaustion_icmp),
	CYAML_FIELD_INT_PTR("max-sessions-per-host", OPT, struct raw_pool, max_sessions_per_host),
	CYAML_FIELD_INT_PTR("max-inbound-per-mapping", OPT, struct raw_pool,
			    max_inbound_per_mapping),
	CYAML_FIELD_INT_PTR("quarantine-s", OPT, struct raw_pool, quarantine_s),
	CYAML_FIELD_SEQUENCE("reserve", OPT_NULL, struct raw_pool, reserve, &string_ptr_schema, 0,
			     EPH_MAX_POOL_ADDRS),
	CYAML_FIELD_INT_PTR("warn-occupancy", OPT, struct raw_pool, warn_occupancy),
	CYAML_FIELD_ENUM_PTR("log", OPT | CYAML_FLAG_STRICT, struct raw_pool, log, log_mode_strings,
			     CYAML_ARRAY_LEN(log_mode_strings)),
	CYAML_FIELD_INT_PTR("port-block-size", OPT, struct raw_pool, port_block_size),
	CYAML_FIELD_INT_PTR("max-blocks-per-host", OPT, struct raw_pool, max_blocks_per_host),
	CYAML_FIELD_END,
};

static const cyaml_schema_value_t pool_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_pool, pool_fields),
};

static const cyaml_schema_field_t timeouts_fields[] = {
	CYAML_FIELD_INT_PTR("udp", OPT, struct raw_timeouts, udp),
	CYAML_FIELD_INT_PTR("tcp-established", OPT, struct raw_timeouts, tcp_established),
	CYAML_FIELD_INT_PTR("tcp-transitory", OPT, struct raw_timeouts, tcp_transitory),
	CYAML_FIELD_INT_PTR("icmp", OPT, struct raw_timeouts, icmp),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t nat_fields[] = {
	CYAML_FIELD_INT_PTR("sessions-per-worker", OPT, struct raw_nat, sessions_per_worker),
	CYAML_FIELD_INT_PTR("destinations-per-worker", OPT, struct raw_nat,
			    destinations_per_worker),
	CYAML_FIELD_INT_PTR("handoff-ring", OPT, struct raw_nat, handoff_ring),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t nat_log_fields[] = {
	CYAML_FIELD_STRING_PTR("file", OPT, struct raw_nat_log, file, 0, CYAML_UNLIMITED),
	CYAML_FIELD_BOOL_PTR("syslog", OPT, struct raw_nat_log, syslog),
	CYAML_FIELD_INT_PTR("ring", OPT, struct raw_nat_log, ring),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t top_fields[] = {
	CYAML_FIELD_MAPPING_PTR("eal", OPT_NULL, struct raw_conf, eal, eal_fields),
	CYAML_FIELD_SEQUENCE("ports", OPT_NULL, struct raw_conf, ports, &port_schema, 0,
			     EPH_MAX_PORTS),
	CYAML_FIELD_SEQUENCE("routes", OPT_NULL, struct raw_conf, routes, &route_schema, 0,
			     EPH_MAX_ROUTES),
	CYAML_FIELD_MAPPING_PTR("arp", OPT_NULL, struct raw_conf, arp, arp_fields),
	CYAML_FIELD_MAPPING_PTR("dataplane", OPT_NULL, struct raw_conf, dataplane,
				dataplane_fields),
	CYAML_FIELD_MAPPING_PTR("control", OPT_NULL, struct raw_conf, control, control_fields),
	CYAML_FIELD_SEQUENCE("pools", OPT_NULL, struct raw_conf, pools, &pool_schema, 0,
			     EPH_MAX_POOLS),
	CYAML_FIELD_MAPPING_PTR("timeouts", OPT_NULL, struct raw_conf, timeouts, timeouts_fields),
	CYAML_FIELD_MAPPING_PTR("nat", OPT_NULL, struct raw_conf, nat, nat_fields),
	CYAML_FIELD_MAPPING_PTR("nat-log", OPT_NULL, struct raw_conf, nat_log, nat_log_fields),
	CYAML_FIELD_END,
};

/* An empty document ("---" alone) loads as NULL, like an empty file. */
static const cyaml_schema_value_t top_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER_NULL_STR, struct raw_conf, top_fields),
};

/* Integer keys; the path leaves sequence indexes out ("ports[].mtu"). */
struct int_rule {
	const char *path;
	int64_t min;
	int64_t max;
	bool pow2;
};

/* clang-format off */
static const struct int_rule int_rules[] = {
	{ "eal.main-lcore",        -1,       1023,     false },
	{ "eal.memory-mb",         0,        1048576,  false },
	{ "ports[].mtu",           68,       9600,     false },
	{ "ports[].rx-desc",       64,       16384,    true },
	{ "ports[].tx-desc",       64,       16384,    true },
	{ "arp.reachable-s",       1,        86400,    false },
	{ "arp.retry-ms",          10,       60000,    false },
	{ "arp.retries",           1,        100,      false },
	{ "arp.hold-packets",      0,        1024,     false },
	{ "arp.max-entries",       16,       1048576,  false },
	{ "dataplane.burst",       1,        256,      false },
	{ "dataplane.tx-drain-us", 1,        100000,   false },
	{ "dataplane.mbufs",       1024,     16777215, false },
	{ "dataplane.icmp-rate",   0,        1000000,  false },
	{ "pools[].max-sessions-per-host", 0, 16777216, false },
	{ "pools[].max-inbound-per-mapping", 1, 65535, false },
	{ "pools[].quarantine-s",  0,        3600,     false },
	{ "pools[].warn-occupancy", 1,       100,      false },
	{ "pools[].port-block-size", 8,      32768,    false },
	{ "pools[].max-blocks-per-host", 1,  1024,     false },
	{ "timeouts.udp", EPH_TIMEOUT_UDP_MIN_S, EPH_TIMEOUT_UDP_MAX_S, false },
	{ "timeouts.tcp-established", EPH_TIMEOUT_TCP_ESTABLISHED_MIN_S,
	  EPH_TIMEOUT_TCP_ESTABLISHED_MAX_S, false },
	{ "timeouts.tcp-transitory", EPH_TIMEOUT_TCP_TRANSITORY_MIN_S,
	  EPH_TIMEOUT_TCP_TRANSITORY_MAX_S, false },
	{ "timeouts.icmp", EPH_TIMEOUT_ICMP_MIN_S, EPH_TIMEOUT_ICMP_MAX_S, false },
	{ "nat.sessions-per-worker", 1024,   67108864, false },
	{ "nat.destinations-per-worker", 1024, 16777216, false },
	{ "nat.handoff-ring",      256,      65536,    true },
	{ "nat-log.ring",          256,      1048576,  true },
};
/* clang-format on */

static const char *const log_levels[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

/* ------------------------------------------------------------------------ */
/* Diagnostics */

struct diag {
	struct eph_pos pos;
	unsigned seq; /* keeps discovery order among equal positions */
	bool warning;
	char *text; /* "key.path: message" */
};

struct vctx {
	const char *file;
	const struct eph_pos_index *idx;
	struct diag *d;
	size_t n;
	size_t cap;
	unsigned n_errors;
	bool oom;
};

/* Room for a quoted, escaped and shortened value in a message. */
#define QLEN 112

/* s as a C-like quoted string, cut at 80 characters so one line stays one line. */
static const char *
quote(char *buf, size_t size, const char *s)
{
	size_t o = 0, n = 0;

	buf[o++] = '"';
	for (; *s != '\0' && o + 8 < size; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (n == 80) {
			o += snprintf(buf + o, size - o, "...");
			break;
		}
		if (c == '"' || c == '\\')
			o += snprintf(buf + o, size - o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			o += snprintf(buf + o, size - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static void
vreport(struct vctx *v, bool warning, struct eph_pos pos, const char *path, const char *fmt,
	va_list ap)
{
	char msg[1024];
	struct diag *d;
	int n;

	if (!warning)
		v->n_errors++;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		struct diag *nd = realloc(v->d, cap * sizeof(*nd));

		if (nd == NULL) {
			v->oom = true;
			return;
		}
		v->d = nd;
		v->cap = cap;
	}
	d = &v->d[v->n];
	d->pos = pos;
	d->seq = (unsigned)v->n;
	d->warning = warning;
	n = path[0] != '\0' ? asprintf(&d->text, "%s: %s", path, msg)
			    : asprintf(&d->text, "%s", msg);
	if (n < 0) {
		v->oom = true;
		return;
	}
	v->n++;
}

/* Position of path's value; for a missing key, of the closest enclosing node. */
static struct eph_pos
pos_of(const struct vctx *v, const char *path)
{
	char p[512];
	const struct eph_pos_entry *e;

	snprintf(p, sizeof(p), "%s", path);
	for (;;) {
		char *cut;

		e = eph_pos_find(v->idx, p);
		if (e != NULL)
			return e->val;
		if (p[0] == '\0')
			break;
		cut = strrchr(p, '.');
		if (strrchr(p, '[') > cut)
			cut = strrchr(p, '[');
		if (cut == NULL)
			cut = p;
		*cut = '\0';
	}
	return v->idx->root;
}

__attribute__((format(printf, 4, 5))) static void
conf_err_at(struct vctx *v, struct eph_pos pos, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(v, false, pos, path, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 4, 5))) static void
conf_warn_at(struct vctx *v, struct eph_pos pos, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(v, true, pos, path, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4))) static void
conf_err(struct vctx *v, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(v, false, pos_of(v, path), path, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4))) static void
conf_warn(struct vctx *v, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(v, true, pos_of(v, path), path, fmt, ap);
	va_end(ap);
}

static int
diag_cmp(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;

	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	if (x->pos.col != y->pos.col)
		return x->pos.col < y->pos.col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Print in file order, then release. */
static void
diag_flush(struct vctx *v, FILE *err)
{
	size_t i;

	if (v->n > 1)
		qsort(v->d, v->n, sizeof(v->d[0]), diag_cmp);
	for (i = 0; i < v->n; i++) {
		if (err != NULL)
			fprintf(err, "%s:%u:%u: %s: %s\n", v->file, v->d[i].pos.line,
				v->d[i].pos.col, v->d[i].warning ? "warning" : "error",
				v->d[i].text);
		free(v->d[i].text);
	}
	if (v->oom && err != NULL)
		fprintf(err, "%s: error: out of memory while reporting problems\n", v->file);
	free(v->d);
	v->d = NULL;
	v->n = v->cap = 0;
}

/* ------------------------------------------------------------------------ */
/* Schema lookups, for messages that say what a key expects */

/* "ports[1].mtu" -> "ports[].mtu" */
static void
generic_path(char *out, size_t size, const char *path)
{
	size_t o = 0;

	for (; *path != '\0' && o + 1 < size; path++) {
		out[o++] = *path;
		if (*path == '[') {
			while (path[1] != '\0' && path[1] != ']')
				path++;
		}
	}
	out[o] = '\0';
}

static const struct int_rule *
int_rule(const char *path)
{
	char g[256];
	size_t i;

	generic_path(g, sizeof(g), path);
	for (i = 0; i < CYAML_ARRAY_LEN(int_rules); i++)
		if (strcmp(int_rules[i].path, g) == 0)
			return &int_rules[i];
	return NULL;
}

/* The schema of the value at path, or NULL when the path leaves the schema. */
static const cyaml_schema_value_t *
schema_at(const char *path)
{
	const cyaml_schema_value_t *s = &top_schema;
	const char *p = path;

	while (*p != '\0') {
		if (*p == '[') {
			if (s->type != CYAML_SEQUENCE)
				return NULL;
			s = s->sequence.entry;
			p = strchr(p, ']');
			if (p == NULL)
				return NULL;
			p++;
		} else {
			const cyaml_schema_field_t *f;
			size_t len;

			if (*p == '.')
				p++;
			len = strcspn(p, ".[");
			if (s->type != CYAML_MAPPING)
				return NULL;
			for (f = s->mapping.fields; f->key != NULL; f++)
				if (strlen(f->key) == len && strncmp(f->key, p, len) == 0)
					break;
			if (f->key == NULL)
				return NULL;
			s = &f->value;
			p += len;
		}
	}
	return s;
}

static void
list_keys(char *buf, size_t size, const cyaml_schema_field_t *f)
{
	size_t o = 0;

	buf[0] = '\0';
	for (; f->key != NULL && o < size; f++)
		o += snprintf(buf + o, size - o, "%s%s", o ? ", " : "", f->key);
}

/* What the value at path should look like, for "expected ..." */
static void
describe(char *buf, size_t size, const char *path)
{
	const cyaml_schema_value_t *s = schema_at(path);
	const struct int_rule *r = int_rule(path);
	uint32_t i;
	size_t o;

	if (s == NULL) {
		snprintf(buf, size, "a valid value");
		return;
	}
	switch (s->type) {
	case CYAML_INT:
	case CYAML_UINT:
		if (r != NULL)
			snprintf(buf, size, "%s from %" PRId64 " to %" PRId64,
				 r->pow2 ? "a power of two" : "an integer", r->min, r->max);
		else
			snprintf(buf, size, "an integer");
		break;
	case CYAML_BOOL:
		snprintf(buf, size, "true or false");
		break;
	case CYAML_ENUM:
		o = snprintf(buf, size, "one of");
		for (i = 0; i < s->enumeration.count && o < size; i++)
			o += snprintf(buf + o, size - o, "%s %s", i ? "," : "",
				      s->enumeration.strings[i].str);
		break;
	case CYAML_STRING:
		snprintf(buf, size, "a string");
		break;
	case CYAML_MAPPING:
		if (path[0] == '\0') {
			char keys[128];

			list_keys(keys, sizeof(keys), s->mapping.fields);
			snprintf(buf, size, "a mapping of sections (%.*s)", (int)(size / 2), keys);
		} else {
			snprintf(buf, size, "a mapping");
		}
		break;
	case CYAML_SEQUENCE:
		snprintf(buf, size, "a sequence (entries starting with \"- \")");
		break;
	default:
		snprintf(buf, size, "a valid value");
		break;
	}
}

/* Edit distance of two short keys, for "did you mean". */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[65], prev, tmp;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t best = prev + (tolower((unsigned char)a[i - 1]) !=
					      tolower((unsigned char)b[j - 1]));

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

static const char *
suggest_key(const cyaml_schema_field_t *f, const char *key)
{
	const char *best = NULL;
	size_t best_d = 3;
	char norm[65];
	size_t i;

	/* memory_mb and Memory-MB are the usual slips. */
	for (i = 0; key[i] != '\0' && i + 1 < sizeof(norm); i++)
		norm[i] = key[i] == '_' ? '-' : (char)tolower((unsigned char)key[i]);
	norm[i] = '\0';
	for (; f->key != NULL; f++) {
		size_t d = edit_distance(norm, f->key);

		if (d < best_d && d < strlen(f->key) / 2 + 1) {
			best = f->key;
			best_d = d;
		}
	}
	return best;
}

/* ------------------------------------------------------------------------ */
/* libcyaml's log: collected, then turned into a single diagnostic */

struct cy_log {
	char **lines;
	size_t n;
	size_t cap;
};

static void
cy_log_fn(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
	struct cy_log *cl = ctx;
	char *s;
	size_t len;

	if (level < CYAML_LOG_ERROR)
		return;
	if (vasprintf(&s, fmt, args) < 0)
		return;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	if (cl->n == cl->cap) {
		size_t cap = cl->cap ? cl->cap * 2 : 16;
		char **nl = realloc(cl->lines, cap * sizeof(*nl));

		if (nl == NULL) {
			free(s);
			return;
		}
		cl->lines = nl;
		cl->cap = cap;
	}
	cl->lines[cl->n++] = s;
}

static void
cy_log_free(struct cy_log *cl)
{
	size_t i;

	for (i = 0; i < cl->n; i++)
		free(cl->lines[i]);
	free(cl->lines);
	memset(cl, 0, sizeof(*cl));
}

enum frame_kind {
	FRAME_FIELD,    /* "  in mapping field 'k' (line: L, column: C)" */
	FRAME_MAPPING,  /* "  in mapping (line: L, column: C)" */
	FRAME_SEQUENCE, /* "  in sequence entry 'N' (line: L, column: C)" */
};

struct frame {
	enum frame_kind kind;
	char key[128];
	unsigned n;
	struct eph_pos pos;
};

#define MAX_FRAMES 16

static bool
parse_frame(const char *s, struct frame *f)
{
	if (sscanf(s, "  in mapping field '%127[^']' (line: %u, column: %u)", f->key, &f->pos.line,
		   &f->pos.col) == 3) {
		f->kind = FRAME_FIELD;
		return true;
	}
	if (sscanf(s, "  in mapping (line: %u, column: %u)", &f->pos.line, &f->pos.col) == 2) {
		f->kind = FRAME_MAPPING;
		return true;
	}
	if (sscanf(s, "  in sequence entry '%u' (line: %u, column: %u)", &f->n, &f->pos.line,
		   &f->pos.col) == 3) {
		f->kind = FRAME_SEQUENCE;
		return true;
	}
	return false;
}

/* Text between the first and the last single quote of s. */
static void
quoted_arg(char *out, size_t size, const char *s)
{
	const char *a = strchr(s, '\''), *b = strrchr(s, '\'');

	if (a == NULL || b == NULL || b <= a) {
		snprintf(out, size, "%s", s);
		return;
	}
	snprintf(out, size, "%.*s", (int)(b - a - 1), a + 1);
}

static void
cy_report(struct vctx *v, const struct cy_log *cl, cyaml_err_t cerr)
{
	struct frame frames[MAX_FRAMES];
	const char *msg = NULL, *arg;
	char path[512] = "", what[256], q[QLEN], val[256];
	const struct eph_pos_entry *e;
	struct eph_pos pos;
	unsigned nf = 0, i;
	bool excessive;
	size_t o = 0;

	for (i = 0; i < cl->n; i++) {
		if (strncmp(cl->lines[i], "  in ", 5) == 0) {
			if (nf < MAX_FRAMES && parse_frame(cl->lines[i], &frames[nf]))
				nf++;
		} else if (msg == NULL && strcmp(cl->lines[i], "Load: Backtrace:") != 0) {
			msg = cl->lines[i];
		}
	}
	if (msg == NULL) {
		/* libcyaml fails on a sequence or mapping used as a key without a word. */
		if (v->idx->complex_key.line != 0)
			conf_err_at(v, v->idx->complex_key, "",
				    "expected a plain key name, found a complex key");
		else
			conf_err_at(v, v->idx->root, "", "cannot map the YAML: %s",
				    cyaml_strerror(cerr));
		return;
	}
	if (strncmp(msg, "Load: ", 6) == 0)
		msg += 6;
	excessive = strncmp(msg, "Excessive entries", 17) == 0;

	/* Frames come deepest first; the path is built from the outside in. */
	for (i = nf; i-- > 0 && o < sizeof(path);) {
		const struct frame *f = &frames[i];

		if (f->kind == FRAME_FIELD)
			o += snprintf(path + o, sizeof(path) - o, "%s%s", o ? "." : "", f->key);
		else if (f->kind == FRAME_SEQUENCE)
			/* the count is bumped before an entry is read, not before
			 * the entry that overflows the sequence is refused */
			o += snprintf(path + o, sizeof(path) - o, "[%u]",
				      (excessive && i == 0) || f->n == 0 ? f->n : f->n - 1);
	}
	pos = nf > 0 ? frames[0].pos : pos_of(v, path);

	arg = strchr(msg, ':');
	if (arg == NULL)
		arg = "";
	else
		arg += (arg[1] == ' ') ? 2 : 1;

	if (strncmp(msg, "Unexpected key:", 15) == 0) {
		const cyaml_schema_value_t *s = schema_at(path);
		const char *hint = NULL;
		char keys[512] = "";

		if (s != NULL && s->type == CYAML_MAPPING) {
			list_keys(keys, sizeof(keys), s->mapping.fields);
			hint = suggest_key(s->mapping.fields, arg);
		}
		if (o > 0 && o < sizeof(path))
			o += snprintf(path + o, sizeof(path) - o, ".");
		if (o < sizeof(path))
			snprintf(path + o, sizeof(path) - o, "%s", arg);
		e = eph_pos_find(v->idx, path);
		if (e != NULL)
			pos = e->key;
		if (hint != NULL)
			conf_err_at(v, pos, path,
				    "unknown key, did you mean '%s'? expected one of %s", hint,
				    keys);
		else
			conf_err_at(v, pos, path, "unknown key, expected one of %s", keys);
	} else if (strncmp(msg, "Mapping field already seen:", 27) == 0) {
		const struct eph_pos_entry *first = eph_pos_find(v->idx, path);

		e = eph_pos_find_last(v->idx, path);
		if (e != NULL)
			pos = e->key;
		if (first != NULL && first != e)
			conf_err_at(v, pos, path, "duplicate key, already given at line %u",
				    first->key.line);
		else
			conf_err_at(v, pos, path, "duplicate key");
	} else if (strncmp(msg, "Invalid INT value:", 18) == 0 ||
		   strncmp(msg, "Invalid UINT value:", 19) == 0 ||
		   strncmp(msg, "Invalid ENUM value:", 19) == 0) {
		/* libcyaml quotes bad ints ('x') but not bad enum words. */
		if (strncmp(msg, "Invalid ENUM", 12) == 0)
			snprintf(val, sizeof(val), "%s", arg);
		else
			quoted_arg(val, sizeof(val), arg);
		describe(what, sizeof(what), path);
		conf_err_at(v, pos, path, "expected %s, found %s", what, quote(q, sizeof(q), val));
	} else if (strncmp(msg, "Expecting ", 10) == 0) {
		const char *ev = strstr(msg, "got event: ");
		const char *found = "something else";

		ev = ev != NULL ? ev + 11 : "";
		if (strcmp(ev, "SCALAR") == 0) {
			e = eph_pos_find_last(v->idx, path);
			found = e != NULL && e->text != NULL ? quote(q, sizeof(q), e->text)
							     : "a scalar";
		} else if (strcmp(ev, "SEQUENCE_START") == 0) {
			found = "a sequence";
		} else if (strcmp(ev, "MAPPING_START") == 0) {
			found = "a mapping";
		} else if (strcmp(ev, "ALIAS") == 0) {
			found = "an alias";
		}
		describe(what, sizeof(what), path);
		conf_err_at(v, pos, path, "expected %s, found %s", what, found);
	} else if (excessive) {
		unsigned max = 0;

		sscanf(msg, "Excessive entries (%u max)", &max);
		conf_err_at(v, pos, path, "too many entries, at most %u allowed", max);
	} else if (strncmp(msg, "libyaml:", 8) == 0) {
		conf_err_at(v, pos, path, "invalid YAML: %s", arg);
	} else if (strncmp(msg, "No anchor found for alias:", 26) == 0) {
		quoted_arg(val, sizeof(val), arg);
		conf_err_at(v, pos, path, "undefined alias '%s'", val);
	} else {
		conf_err_at(v, pos, path, "%s", msg);
	}
}

/* ------------------------------------------------------------------------ */
/* Value parsers */

/* A decimal integer as written; libcyaml alone would take "12abc" or "010". */
static bool
parse_dec(const char *s, int64_t *out)
{
	const char *p = s;
	char *end;
	long long x;

	if (*p == '-' || *p == '+')
		p++;
	if (!isdigit((unsigned char)*p))
		return false;
	for (; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = x;
	return true;
}

/* Dotted quad of len characters: four decimal octets, no leading zeros. */
static bool
parse_ipv4(const char *s, size_t len, uint32_t *out)
{
	uint32_t addr = 0;
	size_t i = 0;
	int octet;

	for (octet = 0; octet < 4; octet++) {
		unsigned v = 0, digits = 0;

		if (octet > 0) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
		while (i < len && isdigit((unsigned char)s[i]) && digits < 4) {
			v = v * 10 + (unsigned)(s[i] - '0');
			i++;
			digits++;
		}
		/* "010" would be octal to inet_aton: refuse the ambiguity. */
		if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s[i - digits] == '0'))
			return false;
		addr = addr << 8 | v;
	}
	if (i != len)
		return false;
	*out = addr;
	return true;
}

enum prefix_status {
	PFX_OK,
	PFX_NO_LEN, /* no "/N" */
	PFX_BAD_ADDR,
	PFX_BAD_LEN,
};

static enum prefix_status
parse_prefix(const char *s, uint32_t *addr, uint8_t *len)
{
	const char *slash = strchr(s, '/');
	unsigned n = 0;
	const char *p;

	if (slash == NULL)
		return parse_ipv4(s, strlen(s), addr) ? PFX_NO_LEN : PFX_BAD_ADDR;
	if (!parse_ipv4(s, (size_t)(slash - s), addr))
		return PFX_BAD_ADDR;
	p = slash + 1;
	if (*p == '\0' || strlen(p) > 2)
		return PFX_BAD_LEN;
	for (; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return PFX_BAD_LEN;
		n = n * 10 + (unsigned)(*p - '0');
	}
	if (n > 32)
		return PFX_BAD_LEN;
	*len = (uint8_t)n;
	return PFX_OK;
}

static uint32_t
prefix_mask(unsigned len)
{
	return len == 0 ? 0 : UINT32_MAX << (32 - len);
}

static char *
ip_str(char *buf, size_t size, uint32_t a)
{
	snprintf(buf, size, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
	return buf;
}

/* PCI address "DDDD:BB:DD.F" or "BB:DD.F", normalised to the long form. */
static int
parse_pci(const char *s, char *out, size_t size)
{
	unsigned dom = 0, bus, dev, fn;
	char tail;
	size_t i, len = strlen(s);

	for (i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
			return -1;
	if (len == 12 && s[4] == ':' && s[7] == ':' && s[10] == '.') {
		if (sscanf(s, "%4x:%2x:%2x.%1x%c", &dom, &bus, &dev, &fn, &tail) != 4)
			return -1;
	} else if (len == 7 && s[2] == ':' && s[5] == '.') {
		if (sscanf(s, "%2x:%2x.%1x%c", &bus, &dev, &fn, &tail) != 3)
			return -1;
	} else {
		return -1;
	}
	if (dev > 0x1f || fn > 7)
		return -2;
	snprintf(out, size, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
}

/* "net_<driver>[,key=value]...": 0, -1 not a vdev, -2 bad arguments. */
static int
parse_vdev(const char *s)
{
	const char *p = s + 4;

	if (strncmp(s, "net_", 4) != 0)
		return -1;
	if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p))
		return -1;
	while (islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_')
		p++;
	while (*p == ',') {
		const char *k = ++p;

		while (isalnum((unsigned char)*p) || *p == '_' || *p == '-')
			p++;
		if (p == k || *p != '=')
			return -2;
		k = ++p;
		while (*p != '\0' && *p != ',' && isgraph((unsigned char)*p))
			p++;
		if (p == k)
			return -2;
	}
	return *p == '\0' ? 0 : -2;
}

static bool
only_chars(const char *s, const char *allowed)
{
	return s[strspn(s, allowed)] == '\0';
}

#define NAME_CHARS   "abcdefghijklmnopqrstuvwxyz0123456789_-"
#define PREFIX_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
#define LCORE_CHARS  "0123456789,@()-"

/* ------------------------------------------------------------------------ */
/* Validation: raw_conf -> eph_conf, every problem reported */

/* Integer key: absent keeps *out; bad text or range is reported. */
static bool
conf_int(struct vctx *v, const char *path, const int64_t *raw, int64_t *out)
{
	const struct int_rule *r = int_rule(path);
	const struct eph_pos_entry *e;
	char what[128], q[QLEN];
	int64_t x;

	if (raw == NULL)
		return true;
	x = *raw;
	describe(what, sizeof(what), path);
	e = eph_pos_find_last(v->idx, path);
	if (e != NULL && e->text != NULL && !parse_dec(e->text, &x)) {
		conf_err(v, path, "expected %s, found %s", what, quote(q, sizeof(q), e->text));
		return false;
	}
	if (r != NULL && (x < r->min || x > r->max || (r->pow2 && (x & (x - 1)) != 0))) {
		conf_err(v, path, "expected %s, found %" PRId64, what, x);
		return false;
	}
	*out = x;
	return true;
}

static bool
conf_uint(struct vctx *v, const char *path, const int64_t *raw, unsigned *out)
{
	int64_t x = *out;

	if (!conf_int(v, path, raw, &x))
		return false;
	*out = (unsigned)x;
	return true;
}

static void
conf_u16(struct vctx *v, const char *path, const int64_t *raw, uint16_t *out)
{
	int64_t x = *out;

	if (conf_int(v, path, raw, &x))
		*out = (uint16_t)x;
}

/* libcyaml reads anything but a few false words as true; be exact. */
static void
conf_bool(struct vctx *v, const char *path, const bool *raw, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	const struct eph_pos_entry *e;
	char q[QLEN];
	size_t i;

	if (raw == NULL)
		return;
	e = eph_pos_find_last(v->idx, path);
	if (e == NULL || e->text == NULL) {
		*out = *raw;
		return;
	}
	for (i = 0; i < CYAML_ARRAY_LEN(yes); i++) {
		if (strcasecmp(e->text, yes[i]) == 0) {
			*out = true;
			return;
		}
		if (strcasecmp(e->text, no[i]) == 0) {
			*out = false;
			return;
		}
	}
	conf_err(v, path, "expected true or false, found %s", quote(q, sizeof(q), e->text));
}

static void
validate_eal(struct vctx *v, const struct raw_eal *r, struct eph_conf_eal *eal)
{
	static const struct {
		const char *opt;
		const char *key;
	} generated[] = {
		{"-l", "lcores"},
		{"--lcores", "lcores"},
		{"-c", "lcores"},
		{"--main-lcore", "main-lcore"},
		{"-m", "memory-mb"},
		{"--no-huge", "hugepages"},
		{"--file-prefix", "file-prefix"},
	};
	char q[QLEN], path[64];
	int64_t x;
	unsigned i;
	size_t j;

	if (r == NULL)
		return;
	if (r->lcores != NULL) {
		if (r->lcores[0] == '\0' || !only_chars(r->lcores, LCORE_CHARS) ||
		    strlen(r->lcores) >= sizeof(eal->lcores))
			conf_err(v, "eal.lcores",
				 "expected an EAL lcore list like \"0-1\" or \"0,2-3\" (digits and "
				 ", - @ ( ), at most %zu characters), found %s",
				 sizeof(eal->lcores) - 1, quote(q, sizeof(q), r->lcores));
		else
			snprintf(eal->lcores, sizeof(eal->lcores), "%s", r->lcores);
	}
	x = eal->main_lcore;
	if (conf_int(v, "eal.main-lcore", r->main_lcore, &x))
		eal->main_lcore = (int)x;
	conf_bool(v, "eal.hugepages", r->hugepages, &eal->hugepages);
	conf_uint(v, "eal.memory-mb", r->memory_mb, &eal->memory_mb);
	if (!eal->hugepages && eal->memory_mb == 0 && r->memory_mb != NULL)
		conf_err(v, "eal.memory-mb",
			 "expected an integer from 1 to 1048576 when hugepages is false (the EAL "
			 "cannot size anonymous memory itself), found 0");
	if (r->file_prefix != NULL) {
		size_t len = strlen(r->file_prefix);

		if (len == 0 || len >= sizeof(eal->file_prefix) ||
		    !only_chars(r->file_prefix, PREFIX_CHARS))
			conf_err(v, "eal.file-prefix",
				 "expected 1 to %zu characters from A-Z, a-z, 0-9, '_' and '-', "
				 "found %s (%zu characters)",
				 sizeof(eal->file_prefix) - 1, quote(q, sizeof(q), r->file_prefix),
				 len);
		else
			snprintf(eal->file_prefix, sizeof(eal->file_prefix), "%s", r->file_prefix);
	}
	if (r->log_level != NULL) {
		for (j = 0; j < CYAML_ARRAY_LEN(log_levels); j++)
			if (strcmp(r->log_level, log_levels[j]) == 0)
				break;
		if (j == CYAML_ARRAY_LEN(log_levels))
			conf_err(v, "eal.log-level",
				 "expected one of emerg, alert, crit, error, warning, notice, "
				 "info, debug, found %s",
				 quote(q, sizeof(q), r->log_level));
		else
			snprintf(eal->log_level, sizeof(eal->log_level), "%s", r->log_level);
	}
	for (i = 0; i < r->args_count && r->args != NULL; i++) {
		const char *a = r->args[i];

		snprintf(path, sizeof(path), "eal.args[%u]", i);
		if (a == NULL || a[0] == '\0') {
			conf_err(v, path, "expected a non-empty EAL argument, found \"\"");
			continue;
		}
		for (j = 0; j < CYAML_ARRAY_LEN(generated); j++) {
			size_t ol = strlen(generated[j].opt);

			if (strncmp(a, generated[j].opt, ol) == 0 &&
			    (a[ol] == '\0' || a[ol] == '='))
				conf_warn(v, path,
					  "'%s' is also generated from eal.%s; set it there "
					  "instead",
					  generated[j].opt, generated[j].key);
		}
		eal->args[eal->n_args] = strdup(a);
		if (eal->args[eal->n_args] == NULL)
			v->oom = true;
		else
			eal->n_args++;
	}
}

/* Per-port facts the route checks need even when the port itself is bad. */
struct port_state {
	bool name_ok;
	bool addr_ok;
	char dev_key[EPH_DEVICE_LEN]; /* PCI address or vdev name, for uniqueness */
};

/* Why addr cannot be a host's unicast address, or NULL when it can. */
static const char *
addr_problem(uint32_t addr)
{
	if ((addr >> 24) == 0)
		return "is in 0.0.0.0/8 (\"this network\")";
	if ((addr >> 24) == 127)
		return "is a loopback address";
	if ((addr >> 28) == 0xe)
		return "is a multicast address";
	if (addr == UINT32_MAX)
		return "is the limited broadcast address";
	if ((addr >> 28) == 0xf)
		return "is in the reserved range 240.0.0.0/4";
	return NULL;
}

/* The first address of [a, b] that addr_problem() refuses; false if none. */
static bool
range_problem(uint32_t a, uint32_t b, uint32_t *bad)
{
	static const uint32_t blocks[][2] = {
		{0x00000000, 0x00ffffff}, /* 0.0.0.0/8 */
		{0x7f000000, 0x7fffffff}, /* 127.0.0.0/8 */
		{0xe0000000, 0xffffffff}, /* 224.0.0.0/4, 240.0.0.0/4 */
	};
	size_t i;

	for (i = 0; i < CYAML_ARRAY_LEN(blocks); i++) {
		if (a <= blocks[i][1] && b >= blocks[i][0]) {
			*bad = a > blocks[i][0] ? a : blocks[i][0];
			return true;
		}
	}
	return false;
}

static void
validate_address(struct vctx *v, const char *path, const char *s, struct eph_conf_port *p, bool *ok)
{
	char q[QLEN], a[16], n[16];
	uint32_t addr = 0, mask, net;
	uint8_t len = 0;
	const char *why;

	*ok = false;
	switch (parse_prefix(s, &addr, &len)) {
	case PFX_OK:
		break;
	case PFX_NO_LEN:
		conf_err(v, path,
			 "expected an IPv4 address with prefix length like 192.0.2.1/24, found "
			 "%s (the /N prefix length is missing)",
			 quote(q, sizeof(q), s));
		return;
	case PFX_BAD_LEN:
		conf_err(v, path,
			 "expected an IPv4 address with prefix length like 192.0.2.1/24, found "
			 "%s (prefix length must be 8 to 32)",
			 quote(q, sizeof(q), s));
		return;
	default:
		conf_err(v, path,
			 "expected an IPv4 address with prefix length like 192.0.2.1/24, found %s",
			 quote(q, sizeof(q), s));
		return;
	}
	if (len < 8) {
		conf_err(v, path,
			 "expected an IPv4 address with prefix length like 192.0.2.1/24, found "
			 "%s (prefix length must be 8 to 32)",
			 quote(q, sizeof(q), s));
		return;
	}
	why = addr_problem(addr);
	if (why != NULL) {
		conf_err(v, path, "%s %s, expected a unicast host address",
			 ip_str(a, sizeof(a), addr), why);
		return;
	}
	mask = prefix_mask(len);
	net = addr & mask;
	if (len <= 30 && (addr == net || addr == (net | ~mask))) {
		conf_err(v, path,
			 "%s is the %s address of %s/%u, expected a host address such as %s/%u",
			 ip_str(a, sizeof(a), addr), addr == net ? "network" : "broadcast",
			 ip_str(n, sizeof(n), net), len, ip_str(q, sizeof(q), net + 1), len);
		return;
	}
	p->addr = addr;
	p->prefix_len = len;
	*ok = true;
}

static void
validate_port(struct vctx *v, unsigned i, const struct raw_port *r, struct eph_conf_port *p,
	      struct port_state *st)
{
	char path[64], q[QLEN];
	int rc;

#define PPATH(key) (snprintf(path, sizeof(path), "ports[%u].%s", i, key), path)
	if (r->name == NULL) {
		conf_err(v, PPATH("name"), "required key is missing");
	} else if (r->name[0] == '\0' || strlen(r->name) >= EPH_NAME_LEN ||
		   !only_chars(r->name, NAME_CHARS)) {
		conf_err(v, PPATH("name"),
			 "expected a name of 1 to %d characters from a-z, 0-9, '_' and '-', "
			 "found %s",
			 EPH_NAME_LEN - 1, quote(q, sizeof(q), r->name));
	} else {
		snprintf(p->name, sizeof(p->name), "%s", r->name);
		st->name_ok = true;
	}

	if (r->device == NULL) {
		conf_err(v, PPATH("device"), "required key is missing");
	} else if ((rc = parse_pci(r->device, p->device, sizeof(p->device))) != -1) {
		if (rc == 0) {
			p->is_pci = true;
			snprintf(st->dev_key, sizeof(st->dev_key), "%s", p->device);
		} else {
			conf_err(v, PPATH("device"),
				 "expected a PCI address DDDD:BB:DD.F with device 00 to 1f and "
				 "function 0 to 7, found %s",
				 quote(q, sizeof(q), r->device));
		}
	} else if (strlen(r->device) >= EPH_DEVICE_LEN) {
		conf_err(v, PPATH("device"), "expected at most %d characters, found %zu",
			 EPH_DEVICE_LEN - 1, strlen(r->device));
	} else if ((rc = parse_vdev(r->device)) == 0) {
		p->is_pci = false;
		snprintf(p->device, sizeof(p->device), "%s", r->device);
		snprintf(st->dev_key, sizeof(st->dev_key), "%.*s", (int)strcspn(r->device, ","),
			 r->device);
	} else if (rc == -2) {
		conf_err(v, PPATH("device"),
			 "expected vdev arguments as \",key=value\" after the driver name, like "
			 "net_af_packet0,iface=eth0, found %s",
			 quote(q, sizeof(q), r->device));
	} else {
		conf_err(v, PPATH("device"),
			 "expected a PCI address like 0000:01:00.0 or a vdev like "
			 "net_af_packet0,iface=eth0, found %s",
			 quote(q, sizeof(q), r->device));
	}

	if (r->role == NULL)
		conf_err(v, PPATH("role"), "required key is missing, expected inside or outside");
	else
		p->role = *r->role;

	if (r->address == NULL)
		conf_err(v, PPATH("address"),
			 "required key is missing, expected an IPv4 address with prefix length "
			 "like 192.0.2.1/24");
	else
		validate_address(v, PPATH("address"), r->address, p, &st->addr_ok);

	conf_u16(v, PPATH("mtu"), r->mtu, &p->mtu);
	conf_u16(v, PPATH("rx-desc"), r->rx_desc, &p->rx_desc);
	conf_u16(v, PPATH("tx-desc"), r->tx_desc, &p->tx_desc);
	conf_bool(v, PPATH("promiscuous"), r->promiscuous, &p->promiscuous);
#undef PPATH
}

static void
validate_ports(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf,
	       struct port_state *st)
{
	const struct eph_pos_entry *e = eph_pos_find(v->idx, "ports");
	char path[64], a[16], b[16];
	bool roles_ok = true, have[2] = {false, false};
	unsigned i, j;

	if (r->ports_count == 0) {
		if (e == NULL)
			conf_err(v, "ports",
				 "required key is missing, expected a sequence of 1 to %d ports",
				 EPH_MAX_PORTS);
		else
			conf_err(v, "ports", "expected a sequence of 1 to %d ports, found %s",
				 EPH_MAX_PORTS,
				 e->kind == EPH_NODE_SEQUENCE ? "an empty sequence"
							      : "an empty value");
		return;
	}
	for (i = 0; i < r->ports_count; i++) {
		struct eph_conf_port *p = &conf->ports[i];

		p->mtu = DEF_MTU;
		p->rx_desc = DEF_DESC;
		p->tx_desc = DEF_DESC;
		validate_port(v, i, &r->ports[i], p, &st[i]);
		if (r->ports[i].role == NULL)
			roles_ok = false;
		else
			have[*r->ports[i].role] = true;
	}
	conf->n_ports = r->ports_count;

	/* Later ports are blamed: the earlier one is what the operator compares to. */
	for (i = 1; i < conf->n_ports; i++) {
		const struct eph_conf_port *p = &conf->ports[i];

		for (j = 0; j < i; j++) {
			const struct eph_conf_port *o = &conf->ports[j];

			if (st[i].name_ok && st[j].name_ok && strcmp(p->name, o->name) == 0) {
				snprintf(path, sizeof(path), "ports[%u].name", i);
				conf_err(v, path,
					 "duplicate port name '%s', already used by ports[%u]",
					 p->name, j);
			}
			if (st[i].dev_key[0] != '\0' && strcmp(st[i].dev_key, st[j].dev_key) == 0) {
				snprintf(path, sizeof(path), "ports[%u].device", i);
				conf_err(v, path, "device '%s' is already used by port '%s'",
					 st[i].dev_key, o->name[0] ? o->name : "?");
			}
			if (st[i].addr_ok && st[j].addr_ok) {
				uint8_t len = p->prefix_len < o->prefix_len ? p->prefix_len
									    : o->prefix_len;
				uint32_t m = prefix_mask(len);

				snprintf(path, sizeof(path), "ports[%u].address", i);
				if (p->addr == o->addr)
					conf_err(v, path, "address %s is already used by port '%s'",
						 ip_str(a, sizeof(a), p->addr),
						 o->name[0] ? o->name : "?");
				else if ((p->addr & m) == (o->addr & m))
					conf_err(v, path,
						 "subnet %s/%u overlaps subnet %s/%u of port '%s'",
						 ip_str(a, sizeof(a),
							p->addr & prefix_mask(p->prefix_len)),
						 p->prefix_len,
						 ip_str(b, sizeof(b),
							o->addr & prefix_mask(o->prefix_len)),
						 o->prefix_len, o->name[0] ? o->name : "?");
			}
		}
	}
	if (roles_ok && !have[EPH_ROLE_INSIDE])
		conf_warn(v, "ports", "no port has role inside, so nothing will be translated");
	if (roles_ok && !have[EPH_ROLE_OUTSIDE])
		conf_warn(v, "ports",
			  "no port has role outside, so there is no address to translate to");
}

struct route_key {
	uint32_t prefix;
	uint8_t len;
	unsigned idx;
};

static int
route_key_cmp(const void *a, const void *b)
{
	const struct route_key *x = a, *y = b;

	if (x->prefix != y->prefix)
		return x->prefix < y->prefix ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool
in_subnet(const struct eph_conf_port *p, uint32_t a)
{
	uint32_t m = prefix_mask(p->prefix_len);

	return (a & m) == (p->addr & m);
}

static void
known_ports(char *buf, size_t size, const struct eph_conf *conf, const struct port_state *st)
{
	size_t o = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < conf->n_ports && o < size; i++)
		if (st[i].name_ok)
			o += snprintf(buf + o, size - o, "%s%s", o ? ", " : "",
				      conf->ports[i].name);
}

static void
connected_subnets(char *buf, size_t size, const struct eph_conf *conf, const struct port_state *st)
{
	size_t o = 0;
	unsigned i;
	char a[16];

	buf[0] = '\0';
	for (i = 0; i < conf->n_ports && o < size; i++) {
		const struct eph_conf_port *p = &conf->ports[i];

		if (st[i].addr_ok)
			o += snprintf(buf + o, size - o, "%s%s %s/%u", o ? ", " : "",
				      p->name[0] ? p->name : "?",
				      ip_str(a, sizeof(a), p->addr & prefix_mask(p->prefix_len)),
				      p->prefix_len);
	}
}

/* Returns false when a route is unusable; it is not stored then. */
static bool
validate_route(struct vctx *v, unsigned i, const struct raw_route *r, const struct eph_conf *conf,
	       const struct port_state *st, bool ports_ok, struct eph_conf_route *out,
	       bool *prefix_ok)
{
	char path[64], q[QLEN], a[16], b[16], list[512];
	const struct eph_conf_port *p;
	bool ok = true, via_ok = false;
	int port = -1;
	unsigned j;

#define RPATH(key) (snprintf(path, sizeof(path), "routes[%u].%s", i, key), path)
	*prefix_ok = false;
	if (r->prefix == NULL) {
		conf_err(v, RPATH("prefix"),
			 "required key is missing, expected a network like 198.51.100.0/24");
		ok = false;
	} else if (parse_prefix(r->prefix, &out->prefix, &out->prefix_len) != PFX_OK) {
		conf_err(v, RPATH("prefix"),
			 "expected a network with prefix length like 198.51.100.0/24 (0 to 32), "
			 "found %s",
			 quote(q, sizeof(q), r->prefix));
		ok = false;
	} else if ((out->prefix & ~prefix_mask(out->prefix_len)) != 0) {
		conf_err(v, RPATH("prefix"),
			 "%s has host bits set, expected a network address, did you mean %s/%u?",
			 quote(q, sizeof(q), r->prefix),
			 ip_str(a, sizeof(a), out->prefix & prefix_mask(out->prefix_len)),
			 out->prefix_len);
		ok = false;
	} else {
		*prefix_ok = true;
		for (j = 0; j < conf->n_ports; j++) {
			p = &conf->ports[j];
			if (st[j].addr_ok && p->prefix_len == out->prefix_len &&
			    in_subnet(p, out->prefix)) {
				conf_err(v, RPATH("prefix"),
					 "%s/%u conflicts with the connected route of port '%s'",
					 ip_str(a, sizeof(a), out->prefix), out->prefix_len,
					 p->name[0] ? p->name : "?");
				ok = false;
			}
		}
	}

	if (r->via == NULL) {
		conf_err(v, RPATH("via"),
			 "required key is missing, expected the IPv4 address of a next hop");
		ok = false;
	} else if (!parse_ipv4(r->via, strlen(r->via), &out->via)) {
		conf_err(v, RPATH("via"), "expected an IPv4 address like 203.0.113.10%s, found %s",
			 strchr(r->via, '/') ? " (no prefix length)" : "",
			 quote(q, sizeof(q), r->via));
		ok = false;
	} else {
		via_ok = true;
	}

	if (r->port != NULL) {
		for (j = 0; j < conf->n_ports; j++)
			if (st[j].name_ok && strcmp(conf->ports[j].name, r->port) == 0)
				port = (int)j;
		if (port < 0) {
			known_ports(list, sizeof(list), conf, st);
			conf_err(v, RPATH("port"), "unknown port '%.64s', known ports: %s", r->port,
				 list[0] ? list : "(none)");
			return false;
		}
	}
	if (!via_ok)
		return false;

	if (port >= 0) {
		p = &conf->ports[port];
		if (!st[port].addr_ok)
			return false;
		if (!in_subnet(p, out->via)) {
			conf_err(v, RPATH("via"), "%s is not on the subnet %s/%u of port '%s'",
				 ip_str(a, sizeof(a), out->via),
				 ip_str(b, sizeof(b), p->addr & prefix_mask(p->prefix_len)),
				 p->prefix_len, p->name);
			return false;
		}
	} else {
		for (j = 0; j < conf->n_ports && port < 0; j++)
			if (st[j].addr_ok && in_subnet(&conf->ports[j], out->via))
				port = (int)j;
		if (port < 0) {
			/* With a broken port address, the subnet may well be meant. */
			if (ports_ok) {
				connected_subnets(list, sizeof(list), conf, st);
				conf_err(v, RPATH("via"), "%s is not on any connected subnet (%s)",
					 ip_str(a, sizeof(a), out->via), list);
			}
			return false;
		}
		p = &conf->ports[port];
	}
	for (j = 0; j < conf->n_ports; j++) {
		if (st[j].addr_ok && conf->ports[j].addr == out->via) {
			conf_err(v, RPATH("via"),
				 "%s is the address of port '%s' itself, expected a neighbour on "
				 "that subnet",
				 ip_str(a, sizeof(a), out->via), conf->ports[j].name);
			return false;
		}
	}
	if (p->prefix_len <= 30) {
		uint32_t m = prefix_mask(p->prefix_len);

		if (out->via == (p->addr & m) || out->via == ((p->addr & m) | ~m)) {
			conf_err(v, RPATH("via"),
				 "%s is the %s address of port '%s', expected a host",
				 ip_str(a, sizeof(a), out->via),
				 out->via == (p->addr & m) ? "network" : "broadcast", p->name);
			return false;
		}
	}
	out->port = (uint16_t)port;
	return ok;
#undef RPATH
}

static void
validate_routes(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf,
		const struct port_state *st)
{
	struct route_key *keys;
	bool ports_ok = true, prefix_ok;
	unsigned i, n_keys = 0, n_ok = 0;
	char path[64], a[16];

	if (r->routes_count == 0)
		return;
	for (i = 0; i < conf->n_ports; i++)
		ports_ok = ports_ok && st[i].addr_ok;
	conf->routes = calloc(r->routes_count, sizeof(*conf->routes));
	keys = calloc(r->routes_count, sizeof(*keys));
	if (conf->routes == NULL || keys == NULL) {
		v->oom = true;
		v->n_errors++;
		free(keys);
		return;
	}
	for (i = 0; i < r->routes_count; i++) {
		struct eph_conf_route *rt = &conf->routes[n_ok];

		if (validate_route(v, i, &r->routes[i], conf, st, ports_ok, rt, &prefix_ok))
			n_ok++;
		if (prefix_ok)
			keys[n_keys++] = (struct route_key){rt->prefix, rt->prefix_len, i};
	}
	conf->n_routes = n_ok;

	/* Sorting finds duplicates in n log n, for tables of 64k routes. */
	qsort(keys, n_keys, sizeof(*keys), route_key_cmp);
	for (i = 1; i < n_keys; i++) {
		unsigned first = i - 1;

		while (i < n_keys && keys[i].prefix == keys[first].prefix &&
		       keys[i].len == keys[first].len) {
			snprintf(path, sizeof(path), "routes[%u].prefix", keys[i].idx);
			conf_err(v, path, "duplicate route for %s/%u, already given in routes[%u]",
				 ip_str(a, sizeof(a), keys[i].prefix), keys[i].len,
				 keys[first].idx);
			i++;
		}
	}
	free(keys);
}

/* ------------------------------------------------------------------------ */
/* NAT pools, timeouts and table sizes */

/* The two address lists of a pool. */
enum addr_list {
	LIST_ADDRESSES,
	LIST_RESERVE,
	N_LISTS,
};

static const char *const list_key[N_LISTS] = {"addresses", "reserve"};

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

/*
 * One address of a pool, with the entry it came from (the loader) or its
 * index in the pool's array (eph_conf_check).
 */
struct pool_item {
	uint32_t addr;
	uint16_t pool;
	uint16_t list; /* enum addr_list */
	uint16_t entry;
};

/* Equal addresses end up next to each other, a pool's regular ones first. */
static int
pool_item_cmp(const void *a, const void *b)
{
	const struct pool_item *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->pool != y->pool)
		return x->pool < y->pool ? -1 : 1;
	if (x->list != y->list)
		return x->list < y->list ? -1 : 1;
	return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* One inside prefix of a pool, for the overlap sweep. */
struct inside_item {
	uint32_t addr;
	uint8_t len;
	uint16_t pool;
	uint16_t entry; /* raw index in pools[pool].inside */
	bool *reported; /* one diagnostic per prefix */
};

static int
inside_item_cmp(const void *a, const void *b)
{
	const struct inside_item *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->pool != y->pool)
		return x->pool < y->pool ? -1 : 1;
	return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* Does x come after y in the file? */
static bool
inside_later(const struct inside_item *x, const struct inside_item *y)
{
	return x->pool != y->pool ? x->pool > y->pool : x->entry > y->entry;
}

static uint32_t
prefix_last(uint32_t addr, unsigned len)
{
	return addr | ~prefix_mask(len);
}

static const char *
pool_name(const struct eph_conf *conf, const struct pool_state *ps, unsigned i)
{
	return ps[i].name_ok ? conf->pools[i].name : "?";
}

/* ------------------------------------------------------------------------ */
/*
 * Cross-field rules of pools. The loader names raw entries and positions,
 * eph_conf_check names pools; both go through these, which say in one
 * sentence what is wrong, or return false.
 */

#define MSG_EXCLUDED_OUTSIDE "excluded port %u is outside the pool's ports %u-%u"
#define MSG_EXCLUDED_ALL     "every port of %u-%u is excluded, leaving none to allocate"

/* A pool address that port p uses itself, or that only inside hosts can reach. */
static bool
pool_addr_port_clash(const struct eph_conf_port *p, uint32_t addr, char *msg, size_t size)
{
	const char *name = p->name[0] != '\0' ? p->name : "?";
	uint32_t m = prefix_mask(p->prefix_len);
	char a[16], b[16];

	ip_str(a, sizeof(a), addr);
	ip_str(b, sizeof(b), p->addr & m);
	if (addr == p->addr)
		snprintf(msg, size,
			 "%s is the address of port '%s' itself, expected addresses the gateway "
			 "does not use",
			 a, name);
	else if (p->prefix_len <= 30 && (addr == (p->addr & m) || addr == ((p->addr & m) | ~m)))
		snprintf(msg, size, "%s is the %s address of the subnet %s/%u of port '%s'", a,
			 addr == (p->addr & m) ? "network" : "broadcast", b, p->prefix_len, name);
	else if (p->role == EPH_ROLE_INSIDE && in_subnet(p, addr))
		snprintf(
			msg, size,
			"%s is on the subnet %s/%u of inside port '%s', expected addresses reached "
			"through an outside port",
			a, b, p->prefix_len, name);
	else
		return false;
	return true;
}

/* A pool's port range: no port 0, lo <= hi, one side of 1024 (RFC 4787 REQ-3a). */
static bool
pool_range_problem(unsigned lo, unsigned hi, char *msg, size_t size)
{
	if (lo == 0 || hi == 0)
		snprintf(msg, size,
			 "port 0 cannot be used, expected ports from 1 to 65535, found %u-%u", lo,
			 hi);
	else if (lo > hi)
		snprintf(msg, size,
			 "range start %u is above its end %u, expected lo-hi with lo <= hi", lo,
			 hi);
	else if (lo < 1024 && hi >= 1024)
		snprintf(msg, size,
			 "%u-%u mixes well-known ports (1-1023) with ports 1024-65535, which RFC "
			 "4787 REQ-3a keeps apart; expected a range within one of them",
			 lo, hi);
	else
		return false;
	return true;
}

/* A host is given whole blocks, so one block must fit in the range. */
static bool
block_size_problem(const struct eph_conf_pool *p, bool by_default, char *msg, size_t size)
{
	unsigned n = p->port_hi >= p->port_lo ? (unsigned)p->port_hi - p->port_lo + 1 : 0;

	if (p->port_block_size <= n)
		return false;
	snprintf(msg, size,
		 "expected at most %u, the number of ports in the pool's range (ports: %u-%u), "
		 "found %u%s",
		 n, p->port_lo, p->port_hi, p->port_block_size, by_default ? " (the default)" : "");
	return true;
}

/* Logged events need somewhere to go. */
static bool
log_dest_problem(const struct eph_conf *conf, const struct eph_conf_pool *p, char *msg, size_t size)
{
	if (p->log == EPH_NAT_LOG_OFF || conf->nat_log.file[0] != '\0' || conf->nat_log.syslog)
		return false;
	snprintf(msg, size, "%s needs a destination, expected nat-log.file or nat-log.syslog: true",
		 eph_nat_log_mode_name(p->log));
	return true;
}

/* clash(ctx, it, first) for every item whose address an earlier item has. Items sorted. */
static void
addr_clashes(const struct pool_item *items, size_t n,
	     void (*clash)(void *ctx, const struct pool_item *it, const struct pool_item *first),
	     void *ctx)
{
	size_t k, j;

	for (k = 0; k < n; k = j)
		for (j = k + 1; j < n && items[j].addr == items[k].addr; j++)
			clash(ctx, &items[j], &items[k]);
}

/*
 * Inside prefixes of different pools that overlap (a host would have two
 * pools): overlap(ctx, blame, other) at most once per prefix, blaming the
 * later one. all is sorted by inside_item_cmp. 0 or -ENOMEM.
 */
static int
inside_overlaps(const struct inside_item *all, size_t n,
		void (*overlap)(void *ctx, const struct inside_item *blame,
				const struct inside_item *other),
		void *ctx)
{
	const struct inside_item **stack;
	size_t depth = 0, k, j;

	if (n == 0)
		return 0;
	stack = malloc(n * sizeof(*stack));
	if (stack == NULL)
		return -ENOMEM;
	/* Prefixes nest or are disjoint: the stack holds those containing the current one. */
	for (k = 0; k < n; k++) {
		const struct inside_item *cur = &all[k];

		while (depth > 0 &&
		       prefix_last(stack[depth - 1]->addr, stack[depth - 1]->len) < cur->addr)
			depth--;
		for (j = depth; j-- > 0;) {
			const struct inside_item *o = stack[j], *blame, *other;

			if (o->pool == cur->pool)
				continue;
			blame = inside_later(cur, o) ? cur : o;
			other = blame == cur ? o : cur;
			if (*blame->reported)
				continue;
			*blame->reported = true;
			overlap(ctx, blame, other);
			break;
		}
		stack[depth++] = cur;
	}
	free(stack);
	return 0;
}

/* Index of the first item with an address >= addr. */
static size_t
pool_item_lower(const struct pool_item *items, size_t n, uint32_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (items[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Pool addresses inside an inside prefix (they would be translated hosts):
 * contains(ctx, in, it) for the addresses of each prefix not yet reported
 * until it returns true. items sorted by pool_item_cmp.
 */
static void
inside_contains(const struct inside_item *all, size_t n, const struct pool_item *items,
		size_t n_items,
		bool (*contains)(void *ctx, const struct inside_item *in,
				 const struct pool_item *it),
		void *ctx)
{
	size_t k, x;

	for (k = 0; k < n; k++) {
		const struct inside_item *cur = &all[k];
		uint32_t last = prefix_last(cur->addr, cur->len);

		if (*cur->reported)
			continue;
		for (x = pool_item_lower(items, n_items, cur->addr);
		     x < n_items && items[x].addr <= last; x++) {
			if (contains(ctx, cur, &items[x])) {
				*cur->reported = true;
				break;
			}
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Pools as written */

/* 1 to 9 decimal digits. */
static bool
parse_port_num(const char *s, size_t len, unsigned *out)
{
	unsigned x = 0;
	size_t i;

	if (len == 0 || len > 9)
		return false;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		x = x * 10 + (unsigned)(s[i] - '0');
	}
	*out = x;
	return true;
}

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

	if (!parse_port_num(s, dash != NULL ? (size_t)(dash - s) : strlen(s), lo))
		return PR_FORMAT;
	if (dash == NULL)
		*hi = *lo;
	else if (!parse_port_num(dash + 1, strlen(dash + 1), hi))
		return PR_FORMAT;
	if (*lo > 65535 || *hi > 65535)
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
		conf_err(v, path, "expected %s, found %s", what, quote(q, sizeof(q), s));
		break;
	case PR_TOO_BIG:
		conf_err(v, path, "expected ports from 1 to 65535, found %s",
			 quote(q, sizeof(q), s));
		break;
	case PR_ZERO:
		conf_err(v, path, "port 0 cannot be used, expected ports from 1 to 65535, found %s",
			 quote(q, sizeof(q), s));
		break;
	case PR_REVERSED:
		pool_range_problem(lo, hi, msg, sizeof(msg));
		conf_err(v, path, "%s", msg);
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
		if (parse_prefix(s, &first, &len) != PFX_OK) {
			conf_err(v, path, "expected %s, found %s", POOL_ADDR_WHAT,
				 quote(q, sizeof(q), s));
			return;
		}
		if (len < 16) {
			conf_err(v, path,
				 "%s is too large (%" PRIu64 " addresses), "
				 "expected a prefix length of 16 to 32",
				 quote(q, sizeof(q), s), (uint64_t)1 << (32 - len));
			return;
		}
		if ((first & ~prefix_mask(len)) != 0) {
			conf_err(v, path,
				 "%s has host bits set, expected a network address, did you mean "
				 "%s/%u?",
				 quote(q, sizeof(q), s),
				 ip_str(a, sizeof(a), first & prefix_mask(len)), len);
			return;
		}
		last = prefix_last(first, len);
	} else if (dash != NULL) {
		if (!parse_ipv4(s, (size_t)(dash - s), &first) ||
		    !parse_ipv4(dash + 1, strlen(dash + 1), &last)) {
			conf_err(v, path, "expected %s, found %s", POOL_ADDR_WHAT,
				 quote(q, sizeof(q), s));
			return;
		}
		if (first > last) {
			conf_err(v, path,
				 "range start %s is above its end %s, expected a-b with a <= b",
				 ip_str(a, sizeof(a), first), ip_str(b, sizeof(b), last));
			return;
		}
	} else {
		if (!parse_ipv4(s, strlen(s), &first)) {
			conf_err(v, path, "expected %s, found %s", POOL_ADDR_WHAT,
				 quote(q, sizeof(q), s));
			return;
		}
		last = first;
	}
	if (range_problem(first, last, &bad)) {
		why = addr_problem(bad);
		if (first == last)
			conf_err(v, path, "%s %s, expected a unicast address",
				 ip_str(a, sizeof(a), bad), why);
		else
			conf_err(v, path, "%s includes %s, which %s, expected unicast addresses",
				 quote(q, sizeof(q), s), ip_str(a, sizeof(a), bad), why);
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
		snprintf(path, sizeof(path), "pools[%u].%s[%u]", i, list_key[list], k);
		validate_pool_addr(v, path, entries[k] != NULL ? entries[k] : "", &ae->spans[k]);
		if (ae->spans[k].ok)
			ae->n_expanded += ae->spans[k].count;
	}
	if (ae->n_expanded > EPH_MAX_POOL_ADDRS) {
		snprintf(path, sizeof(path), "pools[%u].%s", i, list_key[list]);
		conf_err(v, path,
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
		if (ports_ok && pool_range_problem(lo, hi, msg, sizeof(msg))) {
			conf_err(v, XPATH("ports"), "%s", msg);
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
				conf_err(v, path, MSG_EXCLUDED_OUTSIDE, lo, p->port_lo, p->port_hi);
			else
				conf_err(v, path,
					 "excluded range %s is not within the pool's ports %u-%u",
					 quote(q, sizeof(q), s), p->port_lo, p->port_hi);
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
		conf_err(v, XPATH("exclude-ports"), MSG_EXCLUDED_ALL, p->port_lo, p->port_hi);
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
	if (r->inside_count == 0 || r->inside == NULL) {
		e = eph_pos_find(v->idx, path);
		if (e == NULL)
			conf_err(v, path,
				 "required key is missing, expected a sequence of inside prefixes "
				 "like 192.0.2.0/24");
		else
			conf_err(v, path,
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
		if (parse_prefix(s, &pf->addr, &pf->len) != PFX_OK) {
			conf_err(v, path,
				 "expected a network with prefix length like 192.0.2.0/24 (0 to "
				 "32), found %s",
				 quote(q, sizeof(q), s));
		} else if ((pf->addr & ~prefix_mask(pf->len)) != 0) {
			conf_err(v, path,
				 "%s has host bits set, expected a network address, did you mean "
				 "%s/%u?",
				 quote(q, sizeof(q), s),
				 ip_str(a, sizeof(a), pf->addr & prefix_mask(pf->len)), pf->len);
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
	size_ok = conf_uint(v, LPATH("port-block-size"), r->port_block_size, &p->port_block_size);
	if (size_ok && ps->ports_ok && (blocks || r->port_block_size != NULL) &&
	    block_size_problem(p, r->port_block_size == NULL, msg, sizeof(msg))) {
		conf_err(v, LPATH("port-block-size"), "%s", msg);
	} else if (size_ok && r->port_block_size != NULL && !blocks) {
		conf_warn(v, LPATH("port-block-size"),
			  "has no effect without log: port-blocks (log is %s%s)",
			  eph_nat_log_mode_name(p->log), r->log == NULL ? " by default" : "");
	}
	if (conf_uint(v, LPATH("max-blocks-per-host"), r->max_blocks_per_host,
		      &p->max_blocks_per_host) &&
	    r->max_blocks_per_host != NULL && !blocks)
		conf_warn(v, path, "has no effect without log: port-blocks (log is %s%s)",
			  eph_nat_log_mode_name(p->log), r->log == NULL ? " by default" : "");
#undef LPATH
}

static void
validate_pool(struct vctx *v, unsigned i, const struct raw_pool *r, struct eph_conf_pool *p,
	      struct pool_state *ps)
{
	const struct eph_pos_entry *e;
	char path[64], q[QLEN];
	struct addr_entries *ad = &ps->list[LIST_ADDRESSES], *rs = &ps->list[LIST_RESERVE];

#define PLPATH(key) (snprintf(path, sizeof(path), "pools[%u].%s", i, key), path)
	eph_conf_pool_defaults(p);

	if (r->name == NULL) {
		conf_err(v, PLPATH("name"), "required key is missing");
	} else if (r->name[0] == '\0' || strlen(r->name) >= EPH_NAME_LEN ||
		   !only_chars(r->name, NAME_CHARS)) {
		conf_err(v, PLPATH("name"),
			 "expected a name of 1 to %d characters from a-z, 0-9, '_' and '-', "
			 "found %s",
			 EPH_NAME_LEN - 1, quote(q, sizeof(q), r->name));
	} else {
		snprintf(p->name, sizeof(p->name), "%s", r->name);
		ps->name_ok = true;
	}

	if (r->addresses_count == 0 || r->addresses == NULL) {
		e = eph_pos_find(v->idx, PLPATH("addresses"));
		if (e == NULL)
			conf_err(v, path,
				 "required key is missing, expected a sequence of addresses like "
				 "198.51.100.1, 198.51.100.8/30 or 198.51.100.20-198.51.100.22");
		else
			conf_err(v, path, "expected a non-empty sequence of addresses, found %s",
				 e->kind == EPH_NODE_SEQUENCE ? "an empty sequence"
							      : "an empty value");
	}
	validate_pool_list(v, i, LIST_ADDRESSES, r->addresses, r->addresses_count, ad);
	validate_pool_list(v, i, LIST_RESERVE, r->reserve, r->reserve_count, rs);
	/* The data plane holds a pool's regular and spill addresses in one table. */
	if (ad->ok && rs->ok && ad->n_expanded + rs->n_expanded > EPH_MAX_POOL_ADDRS) {
		conf_err(v, PLPATH("reserve"),
			 "addresses and reserve expand to %" PRIu64 " addresses together, at most "
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
		conf_err(v, PLPATH("filtering"),
			 "endpoint-independent filtering requires mapping: endpoint-independent "
			 "(mapping is %s%s)",
			 eph_nat_mapping_name(p->mapping), r->mapping == NULL ? " by default" : "");
	conf_bool(v, PLPATH("port-preservation"), r->port_preservation, &p->port_preservation);
	conf_bool(v, PLPATH("port-parity"), r->port_parity, &p->port_parity);
	conf_bool(v, PLPATH("exhaustion-icmp"), r->exhaustion_icmp, &p->exhaustion_icmp);
	conf_uint(v, PLPATH("max-sessions-per-host"), r->max_sessions_per_host,
		  &p->max_sessions_per_host);
	conf_uint(v, PLPATH("max-inbound-per-mapping"), r->max_inbound_per_mapping,
		  &p->max_inbound_per_mapping);
	if (conf_uint(v, PLPATH("quarantine-s"), r->quarantine_s, &p->quarantine_s) &&
	    r->quarantine_s != NULL && p->quarantine_s < DEF_QUARANTINE_S)
		conf_warn(
			v, path,
			"%u s is below the %u s recommended by RFC 6888 REQ-8; a freed port may go "
			"to a new host while the old peer still sends to it",
			p->quarantine_s, DEF_QUARANTINE_S);
	conf_uint(v, PLPATH("warn-occupancy"), r->warn_occupancy, &p->warn_occupancy);
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
	snprintf(path, sizeof(path), "pools[%u].%s[%u]", it->pool, list_key[it->list], it->entry);
	ip_str(a, sizeof(a), it->addr);
	if (it->pool == first->pool && it->list == first->list)
		conf_err(lp->v, path, "%s is listed twice, already given by %s[%u]", a,
			 list_key[first->list], first->entry);
	else if (it->pool == first->pool)
		conf_err(lp->v, path,
			 "%s is already one of the pool's addresses (addresses[%u]); a reserve "
			 "address must not be a regular one",
			 a, first->entry);
	else
		conf_err(lp->v, path,
			 "%s is already in pool '%s' (pools[%u].%s[%u]); an address can belong to "
			 "one pool only",
			 a, pool_name(lp->conf, lp->ps, first->pool), first->pool,
			 list_key[first->list], first->entry);
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

	addr_clashes(items, n, load_addr_clash, &lp);
	for (k = 0; k < n; k++) {
		const struct pool_item *it = &items[k];
		struct addr_span *sp = item_span(ps, it);

		for (i = 0; i < conf->n_ports && !sp->reported; i++) {
			if (!st[i].addr_ok ||
			    !pool_addr_port_clash(&conf->ports[i], it->addr, msg, sizeof(msg)))
				continue;
			snprintf(path, sizeof(path), "pools[%u].%s[%u]", it->pool,
				 list_key[it->list], it->entry);
			conf_err(v, path, "%s", msg);
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
	conf_err(lp->v, path,
		 "%s/%u overlaps inside prefix %s/%u of pool '%s'; a host would have two pools",
		 ip_str(a, sizeof(a), blame->addr), blame->len, ip_str(b, sizeof(b), other->addr),
		 other->len, pool_name(lp->conf, lp->ps, other->pool));
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
	conf_err(lp->v, path,
		 "%s/%u contains %s, an address of pool '%s'; pool addresses cannot be inside "
		 "hosts",
		 ip_str(a, sizeof(a), in->addr), in->len, ip_str(b, sizeof(b), it->addr),
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
	qsort(all, n, sizeof(*all), inside_item_cmp);
	if (inside_overlaps(all, n, load_inside_overlap, &lp) < 0) {
		v->oom = true;
		v->n_errors++;
		goto out;
	}
	inside_contains(all, n, items, n_items, load_inside_contains, &lp);

	/* The warning needs every port and route, or it would guess. */
	for (i = 0; i < conf->n_ports; i++)
		ports_ok = ports_ok && st[i].addr_ok && r->ports[i].role != NULL;
	if (!ports_ok || conf->n_routes != r->routes_count)
		goto out;
	for (i = 0; i < conf->n_ports; i++) {
		const struct eph_conf_port *p = &conf->ports[i];

		if (p->role == EPH_ROLE_INSIDE)
			reach[n_reach++] = (struct span32){p->addr & prefix_mask(p->prefix_len),
							   prefix_last(p->addr, p->prefix_len)};
	}
	/* Routes may be many: merge the intervals once, then search them. */
	for (i = 0; i < conf->n_routes; i++) {
		const struct eph_conf_route *rt = &conf->routes[i];

		if (conf->ports[rt->port].role == EPH_ROLE_INSIDE)
			reach[n_reach++] = (struct span32){rt->prefix,
							   prefix_last(rt->prefix, rt->prefix_len)};
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
		uint32_t last = prefix_last(cur->addr, cur->len);
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
		conf_warn(v, path,
			  "no inside port or route reaches %s/%u, so its hosts never use pool '%s'",
			  ip_str(c, sizeof(c), cur->addr), cur->len,
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
		qsort(items, n, sizeof(*items), pool_item_cmp);
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

static void
validate_pools(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf,
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
		validate_pool(v, i, &r->pools[i], &conf->pools[i], &ps[i]);
		/* A bad nat-log.file is reported once, there. */
		if (!nat_log_reported &&
		    log_dest_problem(conf, &conf->pools[i], msg, sizeof(msg))) {
			snprintf(path, sizeof(path), "pools[%u].log", i);
			conf_err(v, path, "%s", msg);
		}
	}

	for (i = 1; i < conf->n_pools; i++) {
		for (j = 0; j < i; j++) {
			if (ps[i].name_ok && ps[j].name_ok &&
			    strcmp(conf->pools[i].name, conf->pools[j].name) == 0) {
				snprintf(path, sizeof(path), "pools[%u].name", i);
				conf_err(v, path,
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
	if (conf_uint(v, path, raw, out) && raw != NULL &&
	    eph_timeout_floor_warning(k, *out, why, sizeof(why)))
		conf_warn(v, path, "%s", why);
}

static void
validate_nat(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf)
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
		conf_uint(v, "nat.sessions-per-worker", r->nat->sessions_per_worker,
			  &conf->nat.sessions_per_worker);
		conf_uint(v, "nat.destinations-per-worker", r->nat->destinations_per_worker,
			  &conf->nat.destinations_per_worker);
		conf_uint(v, "nat.handoff-ring", r->nat->handoff_ring, &conf->nat.handoff_ring);
	}
}

/* Returns false when nat-log.file was given but refused (and reported). */
static bool
validate_nat_log(struct vctx *v, const struct raw_nat_log *r, struct eph_conf_nat_log *nl)
{
	char q[QLEN];
	bool file_ok = true;

	if (r == NULL)
		return true;
	if (r->file != NULL) {
		size_t len = strlen(r->file);

		file_ok = false;
		if (r->file[0] != '/')
			conf_err(v, "nat-log.file", "expected an absolute path, found %s",
				 quote(q, sizeof(q), r->file));
		else if (len >= sizeof(nl->file))
			conf_err(v, "nat-log.file",
				 "expected a path of at most %zu characters, found %zu",
				 sizeof(nl->file) - 1, len);
		else if (r->file[len - 1] == '/')
			conf_err(v, "nat-log.file", "expected a file, found the directory %s",
				 quote(q, sizeof(q), r->file));
		else
			file_ok = true;
		if (file_ok)
			snprintf(nl->file, sizeof(nl->file), "%s", r->file);
	}
	conf_bool(v, "nat-log.syslog", r->syslog, &nl->syslog);
	conf_uint(v, "nat-log.ring", r->ring, &nl->ring);
	return file_ok;
}

/* The socket's group: it must exist now, or the socket could not be handed to it. */
static void
validate_group(struct vctx *v, const char *s, struct eph_conf_control *c)
{
	char q[QLEN];

	if (strlen(s) >= sizeof(c->group)) {
		conf_err(v, "control.group",
			 "expected a group name of at most %zu characters, found %s",
			 sizeof(c->group) - 1, quote(q, sizeof(q), s));
		return;
	}
	if (s[0] != '\0' && getgrnam(s) == NULL) {
		conf_err(v, "control.group",
			 "expected the name of an existing group, found %s (no such group on this "
			 "host)",
			 quote(q, sizeof(q), s));
		return;
	}
	snprintf(c->group, sizeof(c->group), "%s", s);
}

/* "ADDR:PORT" or "PORT"; ADDR is 127.0.0.1 when left out. */
static void
validate_metrics_http(struct vctx *v, const char *s, struct eph_conf_control *c)
{
	const char *colon = strrchr(s, ':'), *port_s = colon != NULL ? colon + 1 : s;
	uint32_t addr = DEF_METRICS_ADDR;
	char q[QLEN], a[16], part[QLEN], why[2 * QLEN];
	unsigned port = 0;

	why[0] = '\0';
	if (colon != NULL && !parse_ipv4(s, (size_t)(colon - s), &addr)) {
		snprintf(part, sizeof(part), "%.*s", (int)(colon - s), s);
		snprintf(why, sizeof(why), "%s is not an IPv4 address", quote(q, sizeof(q), part));
	} else if (!parse_port_num(port_s, strlen(port_s), &port) || port < 1 || port > 65535) {
		snprintf(why, sizeof(why), "%s is not a port from 1 to 65535",
			 quote(q, sizeof(q), port_s));
	}
	if (why[0] != '\0') {
		conf_err(v, "control.metrics-http",
			 "expected \"ADDR:PORT\" or \"PORT\" like 127.0.0.1:9469 or 9469, found %s "
			 "(%s)",
			 quote(q, sizeof(q), s), why);
		return;
	}
	/* 0.0.0.0 is every address of the host: allowed, like any address it has. */
	if (addr != 0 && (addr >> 24) != 127 && addr_problem(addr) != NULL) {
		conf_err(v, "control.metrics-http", "%s %s, expected an address of this host",
			 ip_str(a, sizeof(a), addr), addr_problem(addr));
		return;
	}
	if ((addr >> 24) != 127)
		conf_warn(v, "control.metrics-http",
			  "%s %s: the metrics are exposed beyond this host, to anyone who can "
			  "reach it",
			  ip_str(a, sizeof(a), addr),
			  addr == 0 ? "is every address of this host"
				    : "is not a loopback address");
	c->metrics_http = true;
	c->metrics_addr = addr;
	c->metrics_port = (uint16_t)port;
}

static void
validate(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf)
{
	static const struct raw_conf empty;
	struct port_state st[EPH_MAX_PORTS];
	char q[QLEN];
	bool nat_log_ok;

	if (r == NULL)
		r = &empty;
	memset(st, 0, sizeof(st));

	validate_eal(v, r->eal, &conf->eal);
	validate_ports(v, r, conf, st);
	validate_routes(v, r, conf, st);
	nat_log_ok = validate_nat_log(v, r->nat_log, &conf->nat_log);
	validate_pools(v, r, conf, st, !nat_log_ok);
	validate_nat(v, r, conf);

	if (r->arp != NULL) {
		conf_uint(v, "arp.reachable-s", r->arp->reachable_s, &conf->arp.reachable_s);
		conf_uint(v, "arp.retry-ms", r->arp->retry_ms, &conf->arp.retry_ms);
		conf_uint(v, "arp.retries", r->arp->retries, &conf->arp.retries);
		conf_uint(v, "arp.hold-packets", r->arp->hold_packets, &conf->arp.hold_packets);
		conf_uint(v, "arp.max-entries", r->arp->max_entries, &conf->arp.max_entries);
	}
	if (r->dataplane != NULL) {
		const struct raw_dataplane *d = r->dataplane;

		conf_uint(v, "dataplane.burst", d->burst, &conf->dataplane.burst);
		conf_uint(v, "dataplane.tx-drain-us", d->tx_drain_us, &conf->dataplane.tx_drain_us);
		conf_uint(v, "dataplane.icmp-rate", d->icmp_rate, &conf->dataplane.icmp_rate);
		/* rte_mempool is sized best at 2^n - 1 elements. */
		if (conf_uint(v, "dataplane.mbufs", d->mbufs, &conf->dataplane.mbufs)) {
			if (d->mbufs != NULL &&
			    (conf->dataplane.mbufs & (conf->dataplane.mbufs + 1)))
				conf_warn(v, "dataplane.mbufs",
					  "%u is not of the form 2^n - 1; the packet pool is most "
					  "memory-efficient at sizes like 16383",
					  conf->dataplane.mbufs);
		}
	}
	if (r->control != NULL) {
		const char *s = r->control->socket;

		if (s != NULL) {
			if (s[0] != '/')
				conf_err(v, "control.socket", "expected an absolute path, found %s",
					 quote(q, sizeof(q), s));
			else if (strlen(s) >= EPH_PATH_LEN)
				conf_err(v, "control.socket",
					 "expected a path of at most %d characters (the limit of a "
					 "unix socket address), found %zu",
					 EPH_PATH_LEN - 1, strlen(s));
			else
				snprintf(conf->control.socket, sizeof(conf->control.socket), "%s",
					 s);
		}
		if (r->control->group != NULL)
			validate_group(v, r->control->group, &conf->control);
		conf_bool(v, "control.telemetry", r->control->telemetry, &conf->control.telemetry);
		if (r->control->metrics_http != NULL)
			validate_metrics_http(v, r->control->metrics_http, &conf->control);
	}
}

/* ------------------------------------------------------------------------ */
/* Public API */

/* The whole file, NUL-terminated; negative errno when it cannot be read. */
static int
read_file(const char *path, unsigned char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	unsigned char *b = NULL;
	FILE *f;
	int rc = 0;

	f = fopen(path, "rb");
	if (f == NULL)
		return -errno;
	for (;;) {
		size_t got;

		if (n + 1 >= cap || b == NULL) {
			unsigned char *nb;

			cap = b == NULL ? cap : cap * 2;
			nb = realloc(b, cap);
			if (nb == NULL) {
				rc = -ENOMEM;
				break;
			}
			b = nb;
		}
		got = fread(b + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				rc = errno ? -errno : -EIO;
			break;
		}
	}
	fclose(f);
	if (rc < 0) {
		free(b);
		return rc;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

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
}

void
eph_conf_defaults(struct eph_conf *conf)
{
	unsigned i;

	memset(conf, 0, sizeof(*conf));
	snprintf(conf->eal.lcores, sizeof(conf->eal.lcores), "%s", DEF_LCORES);
	conf->eal.main_lcore = DEF_MAIN_LCORE;
	conf->eal.hugepages = true;
	conf->eal.memory_mb = DEF_MEMORY_MB;
	snprintf(conf->eal.file_prefix, sizeof(conf->eal.file_prefix), "%s", DEF_FILE_PREFIX);
	snprintf(conf->eal.log_level, sizeof(conf->eal.log_level), "%s", DEF_LOG_LEVEL);
	conf->arp.reachable_s = DEF_REACHABLE_S;
	conf->arp.retry_ms = DEF_RETRY_MS;
	conf->arp.retries = DEF_RETRIES;
	conf->arp.hold_packets = DEF_HOLD_PACKETS;
	conf->arp.max_entries = DEF_MAX_ENTRIES;
	conf->dataplane.burst = DEF_BURST;
	conf->dataplane.tx_drain_us = DEF_TX_DRAIN_US;
	conf->dataplane.mbufs = DEF_MBUFS;
	conf->dataplane.icmp_rate = DEF_ICMP_RATE;
	snprintf(conf->control.socket, sizeof(conf->control.socket), "%s", DEF_SOCKET);
	conf->control.telemetry = true;
	conf->control.metrics_http = false;
	conf->control.metrics_addr = DEF_METRICS_ADDR;
	conf->control.metrics_port = DEF_METRICS_PORT;
	for (i = 0; i < EPH_MAX_POOLS; i++)
		eph_conf_pool_defaults(&conf->pools[i]);
	conf->timeouts.udp = EPH_TIMEOUT_UDP_DEFAULT_S;
	conf->timeouts.tcp_established = EPH_TIMEOUT_TCP_ESTABLISHED_DEFAULT_S;
	conf->timeouts.tcp_transitory = EPH_TIMEOUT_TCP_TRANSITORY_DEFAULT_S;
	conf->timeouts.icmp = EPH_TIMEOUT_ICMP_DEFAULT_S;
	conf->nat.sessions_per_worker = DEF_SESSIONS;
	conf->nat.destinations_per_worker = DEF_DESTINATIONS;
	conf->nat.handoff_ring = DEF_HANDOFF_RING;
	conf->nat_log.ring = DEF_NAT_LOG_RING;
}

void
eph_conf_free(struct eph_conf *conf)
{
	unsigned i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->eal.n_args && i < EPH_MAX_EAL_ARGS; i++) {
		free(conf->eal.args[i]);
		conf->eal.args[i] = NULL;
	}
	conf->eal.n_args = 0;
	free(conf->routes);
	conf->routes = NULL;
	conf->n_routes = 0;
	for (i = 0; i < EPH_MAX_POOLS; i++) {
		struct eph_conf_pool *p = &conf->pools[i];

		free(p->addrs);
		free(p->excluded);
		free(p->inside);
		free(p->reserve);
		p->addrs = NULL;
		p->excluded = NULL;
		p->inside = NULL;
		p->reserve = NULL;
		p->n_addrs = p->n_excluded = p->n_inside = p->n_reserve = 0;
	}
	conf->n_pools = 0;
}

int
eph_conf_load(const char *path, struct eph_conf *conf, FILE *err)
{
	struct vctx v = {.file = path};
	struct eph_pos_index idx;
	struct eph_pos_error perr;
	struct cy_log cl = {0};
	struct raw_conf *raw = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	cyaml_config_t cfg = {
		.log_fn = cy_log_fn,
		.log_ctx = &cl,
		.mem_fn = cyaml_mem,
		.log_level = CYAML_LOG_ERROR,
		.flags = CYAML_CFG_DEFAULT,
	};
	cyaml_err_t cerr;
	int rc;

	eph_conf_defaults(conf);
	snprintf(conf->path, sizeof(conf->path), "%s", path);

	rc = read_file(path, &buf, &len);
	if (rc < 0) {
		if (err != NULL)
			fprintf(err, "%s: cannot read: %s\n", path, strerror(-rc));
		return rc;
	}

	rc = eph_pos_index_build(&idx, buf, len, &perr);
	v.idx = &idx;
	if (rc == -EINVAL) {
		conf_err_at(&v, perr.pos, "", "invalid YAML: %s", perr.msg);
		goto out;
	} else if (rc < 0) {
		goto out;
	}
	if (idx.extra_docs)
		conf_warn_at(&v, idx.extra_pos, "",
			     "only the first YAML document is used, this one is ignored");

	cerr = cyaml_load_data(buf, len, &cfg, &top_schema, (cyaml_data_t **)&raw, NULL);
	if (cerr != CYAML_OK)
		cy_report(&v, &cl, cerr);
	else
		validate(&v, raw, conf);
	if (raw != NULL)
		cyaml_free(&cfg, &top_schema, raw, 0);
out:
	cy_log_free(&cl);
	diag_flush(&v, err);
	eph_pos_index_free(&idx);
	free(buf);
	if (rc == -ENOMEM || v.oom) {
		if (err != NULL && !v.oom)
			fprintf(err, "%s: error: out of memory\n", path);
		eph_conf_free(conf);
		return -ENOMEM;
	}
	if (v.n_errors > 0) {
		eph_conf_free(conf);
		return -EINVAL;
	}
	return 0;
}

const char *
eph_port_role_name(enum eph_port_role role)
{
	switch (role) {
	case EPH_ROLE_INSIDE:
		return "inside";
	case EPH_ROLE_OUTSIDE:
		return "outside";
	}
	return "unknown";
}

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

int
eph_conf_port_by_name(const struct eph_conf *conf, const char *name)
{
	unsigned i;

	for (i = 0; i < conf->n_ports; i++)
		if (strcmp(conf->ports[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Copies */

/* A copy of n elements of size bytes, NULL for none; *oom set when malloc fails. */
static void *
copy_array(const void *src, size_t n, size_t size, bool *oom)
{
	void *dst;

	if (n == 0 || src == NULL)
		return NULL;
	dst = malloc(n * size);
	if (dst == NULL) {
		*oom = true;
		return NULL;
	}
	memcpy(dst, src, n * size);
	return dst;
}

int
eph_conf_dup(struct eph_conf *dst, const struct eph_conf *src)
{
	bool oom = false;
	unsigned i;

	memcpy(dst, src, sizeof(*dst));
	/* Nothing of src may be reachable from dst, whatever fails below. */
	for (i = 0; i < EPH_MAX_EAL_ARGS; i++)
		dst->eal.args[i] = NULL;
	dst->routes = NULL;
	for (i = 0; i < EPH_MAX_POOLS; i++) {
		dst->pools[i].addrs = NULL;
		dst->pools[i].excluded = NULL;
		dst->pools[i].inside = NULL;
		dst->pools[i].reserve = NULL;
	}

	for (i = 0; i < src->eal.n_args && i < EPH_MAX_EAL_ARGS && !oom; i++) {
		if (src->eal.args[i] == NULL)
			continue;
		dst->eal.args[i] = strdup(src->eal.args[i]);
		oom = dst->eal.args[i] == NULL;
	}
	dst->routes = copy_array(src->routes, src->n_routes, sizeof(*src->routes), &oom);
	for (i = 0; i < EPH_MAX_POOLS && !oom; i++) {
		const struct eph_conf_pool *s = &src->pools[i];
		struct eph_conf_pool *d = &dst->pools[i];

		d->addrs = copy_array(s->addrs, s->n_addrs, sizeof(*s->addrs), &oom);
		d->excluded = copy_array(s->excluded, s->n_excluded, sizeof(*s->excluded), &oom);
		d->inside = copy_array(s->inside, s->n_inside, sizeof(*s->inside), &oom);
		d->reserve = copy_array(s->reserve, s->n_reserve, sizeof(*s->reserve), &oom);
	}
	if (oom) {
		eph_conf_free(dst);
		return -ENOMEM;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/*
 * Checks of a configuration changed in memory. The rules are the loader's
 * (the helpers above); only the naming differs: pools by name, since an
 * address added at run time has no line in any file.
 */

struct check_ctx {
	const struct eph_conf *conf;
	FILE *err;
	unsigned n_errors;
};

__attribute__((format(printf, 3, 4))) static void
check_err(struct check_ctx *c, const char *path, const char *fmt, ...)
{
	va_list ap;

	c->n_errors++;
	if (c->err == NULL)
		return;
	fprintf(c->err, "error: %s: ", path);
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fputc('\n', c->err);
}

static bool
pool_name_ok(const struct eph_conf_pool *p)
{
	return p->name[0] != '\0' && strnlen(p->name, EPH_NAME_LEN) < EPH_NAME_LEN &&
	       only_chars(p->name, NAME_CHARS);
}

/* "pools[NAME].key", or "pools[3].key" when the name itself is bad. */
static const char *
check_path(char *buf, size_t size, const struct eph_conf *conf, unsigned pool, const char *key)
{
	if (pool_name_ok(&conf->pools[pool]))
		snprintf(buf, size, "pools[%s].%s", conf->pools[pool].name, key);
	else
		snprintf(buf, size, "pools[%u].%s", pool, key);
	return buf;
}

static const char *
check_pool_name(const struct eph_conf *conf, unsigned pool)
{
	return pool_name_ok(&conf->pools[pool]) ? conf->pools[pool].name : "?";
}

/* An integer against the loader's range for generic path rule ("pools[].quarantine-s"). */
static void
check_int(struct check_ctx *c, const char *path, const char *rule, int64_t x)
{
	const struct int_rule *r = int_rule(rule);
	char what[128];

	if (r == NULL || (x >= r->min && x <= r->max && (!r->pow2 || (x & (x - 1)) == 0)))
		return;
	describe(what, sizeof(what), rule);
	check_err(c, path, "expected %s, found %" PRId64, what, x);
}

static void
check_pool_list(struct check_ctx *c, unsigned i, enum addr_list list, const uint32_t *arr,
		unsigned n)
{
	char path[96], a[16], b[16];
	const char *why;
	unsigned k;

	check_path(path, sizeof(path), c->conf, i, list_key[list]);
	for (k = 0; k < n; k++) {
		why = addr_problem(arr[k]);
		if (why != NULL)
			check_err(c, path, "%s %s, expected a unicast address",
				  ip_str(a, sizeof(a), arr[k]), why);
	}
	/* Equal neighbours are duplicates, reported with the clashes. */
	for (k = 1; k < n; k++) {
		if (arr[k] < arr[k - 1]) {
			check_err(c, path, "%s comes after %s, expected ascending order",
				  ip_str(a, sizeof(a), arr[k]), ip_str(b, sizeof(b), arr[k - 1]));
			break;
		}
	}
}

/* The rules of one pool on its own. */
static void
check_pool(struct check_ctx *c, unsigned i)
{
	const struct eph_conf_pool *p = &c->conf->pools[i];
	unsigned n_addrs = p->addrs != NULL ? p->n_addrs : 0;
	unsigned n_reserve = p->reserve != NULL ? p->n_reserve : 0;
	unsigned n_excluded = p->excluded != NULL ? p->n_excluded : 0;
	unsigned n_inside = p->inside != NULL ? p->n_inside : 0;
	char path[96], msg[256], a[16];
	bool ports_ok;
	unsigned k;

	if (!pool_name_ok(p))
		check_err(c, check_path(path, sizeof(path), c->conf, i, "name"),
			  "expected a name of 1 to %d characters from a-z, 0-9, '_' and '-', "
			  "found \"%.*s\"",
			  EPH_NAME_LEN - 1, EPH_NAME_LEN, p->name);
	check_path(path, sizeof(path), c->conf, i, "addresses");
	if (n_addrs == 0)
		check_err(c, path, "expected at least one address, found none");
	if ((uint64_t)n_addrs + n_reserve > EPH_MAX_POOL_ADDRS)
		check_err(c, path,
			  "the pool holds %u addresses and %u reserve addresses, at most %d "
			  "allowed together",
			  n_addrs, n_reserve, EPH_MAX_POOL_ADDRS);
	check_pool_list(c, i, LIST_ADDRESSES, p->addrs, n_addrs);
	check_pool_list(c, i, LIST_RESERVE, p->reserve, n_reserve);

	ports_ok = !pool_range_problem(p->port_lo, p->port_hi, msg, sizeof(msg));
	if (!ports_ok)
		check_err(c, check_path(path, sizeof(path), c->conf, i, "ports"), "%s", msg);
	check_path(path, sizeof(path), c->conf, i, "exclude-ports");
	for (k = 0; k < n_excluded && ports_ok; k++) {
		if (p->excluded[k] < p->port_lo || p->excluded[k] > p->port_hi) {
			check_err(c, path, MSG_EXCLUDED_OUTSIDE, p->excluded[k], p->port_lo,
				  p->port_hi);
			break;
		}
		if (k > 0 && p->excluded[k] <= p->excluded[k - 1]) {
			check_err(c, path, "port %u comes after %u, expected ascending order",
				  p->excluded[k], p->excluded[k - 1]);
			break;
		}
	}
	if (ports_ok && k == n_excluded && n_excluded == (unsigned)p->port_hi - p->port_lo + 1)
		check_err(c, path, MSG_EXCLUDED_ALL, p->port_lo, p->port_hi);

	check_path(path, sizeof(path), c->conf, i, "inside");
	if (n_inside == 0)
		check_err(c, path, "expected at least one inside prefix, found none");
	for (k = 0; k < n_inside; k++) {
		const struct eph_conf_prefix *pf = &p->inside[k];

		if (pf->len > 32 || (pf->addr & ~prefix_mask(pf->len)) != 0)
			check_err(c, path,
				  "%s/%u is not a network address (host bits set or length above "
				  "32)",
				  ip_str(a, sizeof(a), pf->addr), pf->len);
	}

	if (p->filtering == EPH_FILTERING_ENDPOINT_INDEPENDENT &&
	    p->mapping != EPH_MAPPING_ENDPOINT_INDEPENDENT)
		check_err(c, check_path(path, sizeof(path), c->conf, i, "filtering"),
			  "endpoint-independent filtering requires mapping: endpoint-independent "
			  "(mapping is %s)",
			  eph_nat_mapping_name(p->mapping));
	check_int(c, check_path(path, sizeof(path), c->conf, i, "max-sessions-per-host"),
		  "pools[].max-sessions-per-host", p->max_sessions_per_host);
	check_int(c, check_path(path, sizeof(path), c->conf, i, "max-inbound-per-mapping"),
		  "pools[].max-inbound-per-mapping", p->max_inbound_per_mapping);
	check_int(c, check_path(path, sizeof(path), c->conf, i, "quarantine-s"),
		  "pools[].quarantine-s", p->quarantine_s);
	check_int(c, check_path(path, sizeof(path), c->conf, i, "warn-occupancy"),
		  "pools[].warn-occupancy", p->warn_occupancy);
	check_int(c, check_path(path, sizeof(path), c->conf, i, "port-block-size"),
		  "pools[].port-block-size", p->port_block_size);
	check_int(c, check_path(path, sizeof(path), c->conf, i, "max-blocks-per-host"),
		  "pools[].max-blocks-per-host", p->max_blocks_per_host);
	if (p->log == EPH_NAT_LOG_PORT_BLOCKS && ports_ok &&
	    block_size_problem(p, false, msg, sizeof(msg)))
		check_err(c, check_path(path, sizeof(path), c->conf, i, "port-block-size"), "%s",
			  msg);
	if (log_dest_problem(c->conf, p, msg, sizeof(msg)))
		check_err(c, check_path(path, sizeof(path), c->conf, i, "log"), "%s", msg);
}

static void
check_addr_clash(void *ctx, const struct pool_item *it, const struct pool_item *first)
{
	struct check_ctx *c = ctx;
	char path[96], a[16];

	check_path(path, sizeof(path), c->conf, it->pool, list_key[it->list]);
	ip_str(a, sizeof(a), it->addr);
	if (it->pool == first->pool && it->list == first->list)
		check_err(c, path, "%s is listed twice", a);
	else if (it->pool == first->pool)
		check_err(c, path,
			  "%s is also one of the pool's addresses; a reserve address must not be "
			  "a regular one",
			  a);
	else
		check_err(c, path, "%s is already in %spool %s", a,
			  first->list == LIST_RESERVE ? "the reserve of " : "",
			  check_pool_name(c->conf, first->pool));
}

static void
check_inside_overlap(void *ctx, const struct inside_item *blame, const struct inside_item *other)
{
	struct check_ctx *c = ctx;
	char path[96], a[16], b[16];

	check_err(c, check_path(path, sizeof(path), c->conf, blame->pool, "inside"),
		  "%s/%u overlaps inside prefix %s/%u of pool %s; a host would have two pools",
		  ip_str(a, sizeof(a), blame->addr), blame->len, ip_str(b, sizeof(b), other->addr),
		  other->len, check_pool_name(c->conf, other->pool));
}

static bool
check_inside_contains(void *ctx, const struct inside_item *in, const struct pool_item *it)
{
	struct check_ctx *c = ctx;
	char path[96], a[16], b[16];

	check_err(c, check_path(path, sizeof(path), c->conf, in->pool, "inside"),
		  "%s/%u contains %s, an address of pool %s; pool addresses cannot be inside "
		  "hosts",
		  ip_str(a, sizeof(a), in->addr), in->len, ip_str(b, sizeof(b), it->addr),
		  check_pool_name(c->conf, it->pool));
	return true;
}

/* Rules between pools, and between pools and ports. 0 or -ENOMEM. */
static int
check_pools_across(struct check_ctx *c, unsigned n_pools)
{
	const struct eph_conf *conf = c->conf;
	struct pool_item *items = NULL;
	struct inside_item *all = NULL;
	bool *reported = NULL;
	size_t n_items = 0, n_in = 0, k;
	char path[96], msg[256];
	unsigned i, j;
	int rc = -ENOMEM;

	for (i = 1; i < n_pools; i++) {
		for (j = 0; j < i; j++) {
			if (pool_name_ok(&conf->pools[i]) &&
			    strcmp(conf->pools[i].name, conf->pools[j].name) == 0) {
				check_err(c, check_path(path, sizeof(path), conf, i, "name"),
					  "duplicate pool name '%s'", conf->pools[i].name);
				break;
			}
		}
	}

	for (i = 0; i < n_pools; i++) {
		const struct eph_conf_pool *p = &conf->pools[i];

		n_items += (p->addrs != NULL ? p->n_addrs : 0) +
			   (p->reserve != NULL ? p->n_reserve : 0);
		n_in += p->inside != NULL ? p->n_inside : 0;
	}
	items = malloc((n_items + 1) * sizeof(*items));
	all = malloc((n_in + 1) * sizeof(*all));
	reported = calloc(n_in + 1, sizeof(*reported));
	if (items == NULL || all == NULL || reported == NULL)
		goto out;
	n_items = n_in = 0;
	for (i = 0; i < n_pools; i++) {
		const struct eph_conf_pool *p = &conf->pools[i];

		for (k = 0; p->addrs != NULL && k < p->n_addrs; k++)
			items[n_items++] = (struct pool_item){p->addrs[k], (uint16_t)i,
							      LIST_ADDRESSES, (uint16_t)k};
		for (k = 0; p->reserve != NULL && k < p->n_reserve; k++)
			items[n_items++] = (struct pool_item){p->reserve[k], (uint16_t)i,
							      LIST_RESERVE, (uint16_t)k};
		for (k = 0; p->inside != NULL && k < p->n_inside; k++, n_in++)
			all[n_in] = (struct inside_item){p->inside[k].addr, p->inside[k].len,
							 (uint16_t)i, (uint16_t)k, &reported[n_in]};
	}
	qsort(items, n_items, sizeof(*items), pool_item_cmp);
	qsort(all, n_in, sizeof(*all), inside_item_cmp);

	addr_clashes(items, n_items, check_addr_clash, c);
	for (k = 0; k < n_items; k++) {
		for (i = 0; i < conf->n_ports && i < EPH_MAX_PORTS; i++) {
			if (pool_addr_port_clash(&conf->ports[i], items[k].addr, msg,
						 sizeof(msg))) {
				check_err(c,
					  check_path(path, sizeof(path), conf, items[k].pool,
						     list_key[items[k].list]),
					  "%s", msg);
				break;
			}
		}
	}
	if (inside_overlaps(all, n_in, check_inside_overlap, c) < 0)
		goto out;
	inside_contains(all, n_in, items, n_items, check_inside_contains, c);
	rc = 0;
out:
	free(items);
	free(all);
	free(reported);
	return rc;
}

/* The same range as the file, with the same words: a change cannot set what a file may not. */
static void
check_timeouts(struct check_ctx *c)
{
	const struct eph_conf_timeouts *t = &c->conf->timeouts;
	const unsigned v[EPH_TIMEOUT_N] = {
		[EPH_TIMEOUT_UDP] = t->udp,
		[EPH_TIMEOUT_TCP_ESTABLISHED] = t->tcp_established,
		[EPH_TIMEOUT_TCP_TRANSITORY] = t->tcp_transitory,
		[EPH_TIMEOUT_ICMP] = t->icmp,
	};
	char path[48], why[96];

	for (unsigned k = 0; k < EPH_TIMEOUT_N; k++) {
		if (!eph_timeout_range_error(k, v[k], why, sizeof(why)))
			continue;
		snprintf(path, sizeof(path), "timeouts.%s", eph_timeout_limits[k].name);
		check_err(c, path, "%s", why);
	}
}

int
eph_conf_check(const struct eph_conf *conf, FILE *err)
{
	struct check_ctx c = {conf, err, 0};
	unsigned n_pools = conf->n_pools, i;

	if (n_pools > EPH_MAX_POOLS) {
		check_err(&c, "pools", "expected at most %d pools, found %u", EPH_MAX_POOLS,
			  n_pools);
		n_pools = EPH_MAX_POOLS;
	}
	for (i = 0; i < n_pools; i++)
		check_pool(&c, i);
	check_timeouts(&c);
	if (check_pools_across(&c, n_pools) < 0) {
		if (err != NULL)
			fprintf(err, "error: out of memory while checking the configuration\n");
		return -ENOMEM;
	}
	return c.n_errors > 0 ? -EINVAL : 0;
}

/* ------------------------------------------------------------------------ */
/* Differences between two configurations, for reload */

struct diff_ctx {
	void (*emit)(void *arg, bool needs_restart, const char *change);
	void *arg;
	int n;
};

__attribute__((format(printf, 3, 4))) static void
diff_line(struct diff_ctx *d, bool restart, const char *fmt, ...)
{
	char line[sizeof(((struct eph_conf_nat_log *)0)->file) * 2 + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	d->n++;
	if (d->emit != NULL)
		d->emit(d->arg, restart, line);
}

static void
diff_uint(struct diff_ctx *d, bool restart, const char *key, unsigned a, unsigned b)
{
	if (a != b)
		diff_line(d, restart, "%s: %u -> %u", key, a, b);
}

static void
diff_bool(struct diff_ctx *d, bool restart, const char *key, bool a, bool b)
{
	if (a != b)
		diff_line(d, restart, "%s: %s -> %s", key, a ? "true" : "false",
			  b ? "true" : "false");
}

/* Long or structured strings: that they changed is what matters. */
static void
diff_changed(struct diff_ctx *d, bool restart, const char *key, const char *a, const char *b)
{
	if (strcmp(a, b) != 0)
		diff_line(d, restart, "%s changed", key);
}

static void
diff_word(struct diff_ctx *d, bool restart, const char *key, const char *a, const char *b)
{
	if (strcmp(a, b) != 0)
		diff_line(d, restart, "%s: %s -> %s", key, a[0] != '\0' ? a : "(none)",
			  b[0] != '\0' ? b : "(none)");
}

static void
diff_eal(struct diff_ctx *d, const struct eph_conf_eal *a, const struct eph_conf_eal *b)
{
	bool args_changed = a->n_args != b->n_args;
	unsigned i;

	diff_changed(d, true, "eal.lcores", a->lcores, b->lcores);
	if (a->main_lcore != b->main_lcore)
		diff_line(d, true, "eal.main-lcore: %d -> %d", a->main_lcore, b->main_lcore);
	diff_bool(d, true, "eal.hugepages", a->hugepages, b->hugepages);
	diff_uint(d, true, "eal.memory-mb", a->memory_mb, b->memory_mb);
	diff_word(d, true, "eal.file-prefix", a->file_prefix, b->file_prefix);
	diff_word(d, true, "eal.log-level", a->log_level, b->log_level);
	for (i = 0; i < a->n_args && !args_changed && i < EPH_MAX_EAL_ARGS; i++)
		args_changed = strcmp(a->args[i] != NULL ? a->args[i] : "",
				      b->args[i] != NULL ? b->args[i] : "") != 0;
	if (args_changed)
		diff_line(d, true, "eal.args changed");
}

static void
diff_ports(struct diff_ctx *d, const struct eph_conf *a, const struct eph_conf *b)
{
	char key[EPH_NAME_LEN + 32], x[16], y[16];
	bool moved = false;
	unsigned i;
	int j;

	for (i = 0; i < a->n_ports; i++) {
		const struct eph_conf_port *p = &a->ports[i], *q;

		j = eph_conf_port_by_name(b, p->name);
		if (j < 0) {
			diff_line(d, true, "ports[%s] removed", p->name);
			continue;
		}
		moved = moved || (unsigned)j != i;
		q = &b->ports[j];
#define PKEY(k) (snprintf(key, sizeof(key), "ports[%s].%s", p->name, k), key)
		diff_changed(d, true, PKEY("device"), p->device, q->device);
		diff_word(d, true, PKEY("role"), eph_port_role_name(p->role),
			  eph_port_role_name(q->role));
		if (p->addr != q->addr || p->prefix_len != q->prefix_len)
			diff_line(d, true, "%s: %s/%u -> %s/%u", PKEY("address"),
				  ip_str(x, sizeof(x), p->addr), p->prefix_len,
				  ip_str(y, sizeof(y), q->addr), q->prefix_len);
		diff_uint(d, true, PKEY("mtu"), p->mtu, q->mtu);
		diff_uint(d, true, PKEY("rx-desc"), p->rx_desc, q->rx_desc);
		diff_uint(d, true, PKEY("tx-desc"), p->tx_desc, q->tx_desc);
		diff_bool(d, true, PKEY("promiscuous"), p->promiscuous, q->promiscuous);
#undef PKEY
	}
	for (i = 0; i < b->n_ports; i++)
		if (eph_conf_port_by_name(a, b->ports[i].name) < 0)
			diff_line(d, true, "ports[%s] added", b->ports[i].name);
	if (moved)
		diff_line(d, true, "ports: order changed");
}

static int
route_cmp(const void *x, const void *y)
{
	const struct eph_conf_route *a = x, *b = y;

	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	return a->prefix_len < b->prefix_len ? -1 : a->prefix_len > b->prefix_len;
}

static const char *
route_port_name(const struct eph_conf *conf, const struct eph_conf_route *rt)
{
	return rt->port < conf->n_ports ? conf->ports[rt->port].name : "?";
}

static void
diff_route_line(struct diff_ctx *d, const struct eph_conf *conf, const struct eph_conf_route *rt,
		const char *change)
{
	char p[16], v[16];

	diff_line(d, false, "routes: %s/%u via %s (%s) %s", ip_str(p, sizeof(p), rt->prefix),
		  rt->prefix_len, ip_str(v, sizeof(v), rt->via), route_port_name(conf, rt), change);
}

/* Tables of 64k routes: sorted copies, then one merge. 0 or -ENOMEM. */
static int
diff_routes(struct diff_ctx *d, const struct eph_conf *a, const struct eph_conf *b)
{
	struct eph_conf_route *ra, *rb;
	bool oom = false;
	unsigned i = 0, j = 0;
	char p[16], x[16], y[16];

	ra = copy_array(a->routes, a->n_routes, sizeof(*ra), &oom);
	rb = copy_array(b->routes, b->n_routes, sizeof(*rb), &oom);
	if (oom) {
		free(ra);
		free(rb);
		return -ENOMEM;
	}
	if (ra != NULL)
		qsort(ra, a->n_routes, sizeof(*ra), route_cmp);
	if (rb != NULL)
		qsort(rb, b->n_routes, sizeof(*rb), route_cmp);
	while (i < a->n_routes || j < b->n_routes) {
		int c = i == a->n_routes ? 1 : j == b->n_routes ? -1 : route_cmp(&ra[i], &rb[j]);

		if (c < 0) {
			diff_route_line(d, a, &ra[i++], "removed");
		} else if (c > 0) {
			diff_route_line(d, b, &rb[j++], "added");
		} else {
			const char *pa = route_port_name(a, &ra[i]),
				   *pb = route_port_name(b, &rb[j]);

			if (ra[i].via != rb[j].via || strcmp(pa, pb) != 0)
				diff_line(d, false, "routes: %s/%u via %s (%s) -> via %s (%s)",
					  ip_str(p, sizeof(p), ra[i].prefix), ra[i].prefix_len,
					  ip_str(x, sizeof(x), ra[i].via), pa,
					  ip_str(y, sizeof(y), rb[j].via), pb);
			i++;
			j++;
		}
	}
	free(ra);
	free(rb);
	return 0;
}

static void
diff_control(struct diff_ctx *d, const struct eph_conf_control *a, const struct eph_conf_control *b)
{
	char x[32], y[32], ip[16];

	diff_word(d, true, "control.socket", a->socket, b->socket);
	diff_word(d, true, "control.group", a->group, b->group);
	diff_bool(d, true, "control.telemetry", a->telemetry, b->telemetry);
	if (a->metrics_http != b->metrics_http ||
	    (a->metrics_http &&
	     (a->metrics_addr != b->metrics_addr || a->metrics_port != b->metrics_port))) {
		if (a->metrics_http)
			snprintf(x, sizeof(x), "%s:%u", ip_str(ip, sizeof(ip), a->metrics_addr),
				 a->metrics_port);
		else
			snprintf(x, sizeof(x), "off");
		if (b->metrics_http)
			snprintf(y, sizeof(y), "%s:%u", ip_str(ip, sizeof(ip), b->metrics_addr),
				 b->metrics_port);
		else
			snprintf(y, sizeof(y), "off");
		diff_line(d, true, "control.metrics-http: %s -> %s", x, y);
	}
}

static uint32_t
array_at(const void *arr, size_t esize, unsigned i)
{
	return esize == sizeof(uint16_t) ? ((const uint16_t *)arr)[i] : ((const uint32_t *)arr)[i];
}

/* What a run of consecutive values is called, one or many. */
struct run_words {
	const char *one;
	const char *many;
	bool ip;
};

static void
diff_run_line(struct diff_ctx *d, const char *pool, const struct run_words *w, uint32_t first,
	      uint32_t last, const char *change)
{
	char x[16], y[16];

	if (w->ip) {
		ip_str(x, sizeof(x), first);
		ip_str(y, sizeof(y), last);
	} else {
		snprintf(x, sizeof(x), "%u", first);
		snprintf(y, sizeof(y), "%u", last);
	}
	if (first == last)
		diff_line(d, false, "pool %s: %s %s %s", pool, w->one, x, change);
	else
		diff_line(d, false, "pool %s: %s %s-%s %s", pool, w->many, x, y, change);
}

/* Runs of consecutive values in ascending a but not in ascending b. */
static void
diff_runs(struct diff_ctx *d, const char *pool, const struct run_words *w, const void *a,
	  unsigned na, const void *b, unsigned nb, size_t esize, const char *change)
{
	uint32_t first = 0, last = 0;
	bool in_run = false;
	unsigned i, j = 0;

	for (i = 0; i < na; i++) {
		uint32_t x = array_at(a, esize, i);
		bool missing;

		while (j < nb && array_at(b, esize, j) < x)
			j++;
		missing = j == nb || array_at(b, esize, j) != x;
		if (missing && in_run && x == last + 1) {
			last = x;
			continue;
		}
		if (in_run)
			diff_run_line(d, pool, w, first, last, change);
		in_run = missing;
		first = last = x;
	}
	if (in_run)
		diff_run_line(d, pool, w, first, last, change);
}

static bool
has_prefix(const struct eph_conf_pool *p, const struct eph_conf_prefix *pf)
{
	unsigned i;

	for (i = 0; i < p->n_inside; i++)
		if (p->inside[i].addr == pf->addr && p->inside[i].len == pf->len)
			return true;
	return false;
}

static void
diff_pool_uint(struct diff_ctx *d, const char *pool, const char *key, unsigned a, unsigned b)
{
	if (a != b)
		diff_line(d, false, "pool %s: %s %u -> %u", pool, key, a, b);
}

static void
diff_pool_word(struct diff_ctx *d, bool restart, const char *pool, const char *key, const char *a,
	       const char *b)
{
	if (strcmp(a, b) != 0)
		diff_line(d, restart, "pool %s: %s %s -> %s", pool, key, a, b);
}

static const char *
bool_word(bool b)
{
	return b ? "true" : "false";
}

static void
diff_pool(struct diff_ctx *d, const struct eph_conf_pool *a, const struct eph_conf_pool *b)
{
	static const struct run_words addr_words = {"address", "addresses", true};
	static const struct run_words reserve_words = {"reserve address", "reserve addresses",
						       true};
	static const struct run_words port_words = {"excluded port", "excluded ports", false};
	const char *name = a->name;
	char x[16];
	unsigned i;

	diff_runs(d, name, &addr_words, b->addrs, b->n_addrs, a->addrs, a->n_addrs,
		  sizeof(uint32_t), "added");
	diff_runs(d, name, &addr_words, a->addrs, a->n_addrs, b->addrs, b->n_addrs,
		  sizeof(uint32_t), "removed (drains)");
	diff_runs(d, name, &reserve_words, b->reserve, b->n_reserve, a->reserve, a->n_reserve,
		  sizeof(uint32_t), "added");
	diff_runs(d, name, &reserve_words, a->reserve, a->n_reserve, b->reserve, b->n_reserve,
		  sizeof(uint32_t), "removed (drains)");
	if (a->port_lo != b->port_lo || a->port_hi != b->port_hi)
		diff_line(d, false, "pool %s: ports %u-%u -> %u-%u", name, a->port_lo, a->port_hi,
			  b->port_lo, b->port_hi);
	diff_runs(d, name, &port_words, b->excluded, b->n_excluded, a->excluded, a->n_excluded,
		  sizeof(uint16_t), "added");
	diff_runs(d, name, &port_words, a->excluded, a->n_excluded, b->excluded, b->n_excluded,
		  sizeof(uint16_t), "removed");
	for (i = 0; i < b->n_inside; i++)
		if (!has_prefix(a, &b->inside[i]))
			diff_line(d, false, "pool %s: inside %s/%u added", name,
				  ip_str(x, sizeof(x), b->inside[i].addr), b->inside[i].len);
	for (i = 0; i < a->n_inside; i++)
		if (!has_prefix(b, &a->inside[i]))
			diff_line(d, false, "pool %s: inside %s/%u removed", name,
				  ip_str(x, sizeof(x), a->inside[i].addr), a->inside[i].len);
	/* Sessions are keyed by mapping type: existing ones cannot switch. */
	diff_pool_word(d, true, name, "mapping", eph_nat_mapping_name(a->mapping),
		       eph_nat_mapping_name(b->mapping));
	diff_pool_word(d, false, name, "filtering", eph_nat_filtering_name(a->filtering),
		       eph_nat_filtering_name(b->filtering));
	diff_pool_word(d, false, name, "pooling", eph_nat_pooling_name(a->pooling),
		       eph_nat_pooling_name(b->pooling));
	diff_pool_word(d, false, name, "port-preservation", bool_word(a->port_preservation),
		       bool_word(b->port_preservation));
	diff_pool_word(d, false, name, "port-parity", bool_word(a->port_parity),
		       bool_word(b->port_parity));
	diff_pool_word(d, false, name, "exhaustion-icmp", bool_word(a->exhaustion_icmp),
		       bool_word(b->exhaustion_icmp));
	diff_pool_uint(d, name, "max-sessions-per-host", a->max_sessions_per_host,
		       b->max_sessions_per_host);
	diff_pool_uint(d, name, "max-inbound-per-mapping", a->max_inbound_per_mapping,
		       b->max_inbound_per_mapping);
	diff_pool_uint(d, name, "quarantine-s", a->quarantine_s, b->quarantine_s);
	diff_pool_uint(d, name, "warn-occupancy", a->warn_occupancy, b->warn_occupancy);
	diff_pool_word(d, false, name, "log", eph_nat_log_mode_name(a->log),
		       eph_nat_log_mode_name(b->log));
	diff_pool_uint(d, name, "port-block-size", a->port_block_size, b->port_block_size);
	diff_pool_uint(d, name, "max-blocks-per-host", a->max_blocks_per_host,
		       b->max_blocks_per_host);
}

static int
pool_by_name(const struct eph_conf *conf, const char *name)
{
	unsigned i;

	for (i = 0; i < conf->n_pools && i < EPH_MAX_POOLS; i++)
		if (strcmp(conf->pools[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
eph_conf_diff(const struct eph_conf *old, const struct eph_conf *new,
	      void (*emit)(void *arg, bool needs_restart, const char *change), void *arg)
{
	struct diff_ctx d = {emit, arg, 0};
	unsigned i;
	int j;

	diff_eal(&d, &old->eal, &new->eal);
	diff_ports(&d, old, new);
	if (diff_routes(&d, old, new) < 0)
		return -ENOMEM;

	diff_uint(&d, true, "arp.reachable-s", old->arp.reachable_s, new->arp.reachable_s);
	diff_uint(&d, true, "arp.retry-ms", old->arp.retry_ms, new->arp.retry_ms);
	diff_uint(&d, true, "arp.retries", old->arp.retries, new->arp.retries);
	diff_uint(&d, true, "arp.hold-packets", old->arp.hold_packets, new->arp.hold_packets);
	diff_uint(&d, true, "arp.max-entries", old->arp.max_entries, new->arp.max_entries);
	diff_uint(&d, true, "dataplane.burst", old->dataplane.burst, new->dataplane.burst);
	diff_uint(&d, true, "dataplane.tx-drain-us", old->dataplane.tx_drain_us,
		  new->dataplane.tx_drain_us);
	diff_uint(&d, true, "dataplane.mbufs", old->dataplane.mbufs, new->dataplane.mbufs);
	diff_uint(&d, true, "dataplane.icmp-rate", old->dataplane.icmp_rate,
		  new->dataplane.icmp_rate);
	diff_control(&d, &old->control, &new->control);

	for (i = 0; i < old->n_pools && i < EPH_MAX_POOLS; i++) {
		j = pool_by_name(new, old->pools[i].name);
		if (j < 0)
			diff_line(&d, false, "pool %s: removed (drains)", old->pools[i].name);
		else
			diff_pool(&d, &old->pools[i], &new->pools[j]);
	}
	for (i = 0; i < new->n_pools &&i < EPH_MAX_POOLS; i++)
		if (pool_by_name(old, new->pools[i].name) < 0)
			diff_line(&d, false, "pool %s: added", new->pools[i].name);

	diff_uint(&d, false, "timeouts.udp", old->timeouts.udp, new->timeouts.udp);
	diff_uint(&d, false, "timeouts.tcp-established", old->timeouts.tcp_established,
		  new->timeouts.tcp_established);
	diff_uint(&d, false, "timeouts.tcp-transitory", old->timeouts.tcp_transitory,
		  new->timeouts.tcp_transitory);
	diff_uint(&d, false, "timeouts.icmp", old->timeouts.icmp, new->timeouts.icmp);
	diff_uint(&d, true, "nat.sessions-per-worker", old->nat.sessions_per_worker,
		  new->nat.sessions_per_worker);
	diff_uint(&d, true, "nat.destinations-per-worker", old->nat.destinations_per_worker,
		  new->nat.destinations_per_worker);
	diff_uint(&d, true, "nat.handoff-ring", old->nat.handoff_ring, new->nat.handoff_ring);
	diff_word(&d, false, "nat-log.file", old->nat_log.file, new->nat_log.file);
	diff_bool(&d, false, "nat-log.syslog", old->nat_log.syslog, new->nat_log.syslog);
	diff_uint(&d, true, "nat-log.ring", old->nat_log.ring, new->nat_log.ring);
	return d.n;
}

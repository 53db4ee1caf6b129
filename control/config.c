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

#include <cyaml/cyaml.h>

#include "config.h"
#include "config_pos.h"

/* Documented defaults, shared by eph_conf_defaults() and the range table. */
#define DEF_LCORES       "0-1"
#define DEF_MAIN_LCORE   -1
#define DEF_MEMORY_MB    256
#define DEF_FILE_PREFIX  "ephemera"
#define DEF_LOG_LEVEL    "notice"
#define DEF_MTU          1500
#define DEF_DESC         1024
#define DEF_REACHABLE_S  300
#define DEF_RETRY_MS     1000
#define DEF_RETRIES      3
#define DEF_HOLD_PACKETS 8
#define DEF_MAX_ENTRIES  4096
#define DEF_BURST        32
#define DEF_TX_DRAIN_US  100
#define DEF_MBUFS        16383
#define DEF_ICMP_RATE    1000
#define DEF_SOCKET       "/run/ephemera/ephemera.sock"
#define DEF_POOL_PORT_LO 1024
#define DEF_POOL_PORT_HI 65535
#define DEF_QUARANTINE_S 120  /* RFC 6888 REQ-8 */
#define DEF_UDP_S        300  /* RFC 4787 REQ-5 recommends 5 min */
#define DEF_TCP_EST_S    7440 /* RFC 5382 REQ-5: 2 h 4 min */
#define DEF_TCP_TRANS_S  240  /* RFC 5382 REQ-5: 4 min */
#define DEF_ICMP_S       60   /* RFC 5508 REQ-1 */
#define DEF_SESSIONS     262144
#define DEF_DESTINATIONS 65536
#define DEF_HANDOFF_RING 4096

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
	bool *telemetry;
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
	int64_t *quarantine_s;
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
	CYAML_FIELD_BOOL_PTR("telemetry", OPT, struct raw_control, telemetry),
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
	CYAML_FIELD_INT_PTR("quarantine-s", OPT, struct raw_pool, quarantine_s),
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
	{ "pools[].quarantine-s",  0,        3600,     false },
	{ "timeouts.udp",          1,        86400,    false },
	{ "timeouts.tcp-established", 1,     604800,   false },
	{ "timeouts.tcp-transitory", 1,      86400,    false },
	{ "timeouts.icmp",         1,        86400,    false },
	{ "nat.sessions-per-worker", 1024,   67108864, false },
	{ "nat.destinations-per-worker", 1024, 16777216, false },
	{ "nat.handoff-ring",      256,      65536,    true },
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
		char keys[256] = "";

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

/* What one entry of pools[].addresses stands for. */
struct addr_span {
	uint32_t first;
	uint64_t count;
	bool ok;
	bool reported; /* one diagnostic per entry, however many addresses clash */
};

/* Per-pool facts the cross checks need even when the pool itself is bad. */
struct pool_state {
	bool name_ok;
	bool addrs_ok;           /* the good entries expand within EPH_MAX_POOL_ADDRS */
	uint64_t n_expanded;     /* addresses the good entries expand to, repeats included */
	struct addr_span *spans; /* one per raw address entry */
	uint16_t *inside_entry;  /* raw index of each stored inside prefix */
	bool *inside_reported;   /* per raw inside entry */
};

/* One address of a pool, with the entry it came from. */
struct pool_item {
	uint32_t addr;
	uint16_t pool;
	uint16_t entry;
};

static int
pool_item_cmp(const void *a, const void *b)
{
	const struct pool_item *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->pool != y->pool)
		return x->pool < y->pool ? -1 : 1;
	return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* One inside prefix of a pool, for the overlap sweep. */
struct inside_item {
	uint32_t addr;
	uint8_t len;
	uint16_t pool;
	uint16_t entry; /* raw index in pools[pool].inside */
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
	char q[QLEN];

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
		conf_err(v, path,
			 "range start %u is above its end %u, expected lo-hi with lo <= hi", lo,
			 hi);
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

/* One entry of pools[].addresses: sets span->first and span->count. */
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

static void
validate_pool_ports(struct vctx *v, unsigned i, const struct raw_pool *r, struct eph_conf_pool *p)
{
	uint8_t excl[65536 / 8]; /* a bit per port */
	char path[64], q[QLEN];
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
		if (ports_ok && lo < 1024 && hi >= 1024) {
			conf_err(v, XPATH("ports"),
				 "%u-%u mixes well-known ports (1-1023) with ports 1024-65535, "
				 "which RFC 4787 REQ-3a keeps apart; expected a range within one "
				 "of them",
				 lo, hi);
			ports_ok = false;
		}
		if (ports_ok) {
			p->port_lo = (uint16_t)lo;
			p->port_hi = (uint16_t)hi;
		}
	}

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
				conf_err(v, path,
					 "excluded port %u is outside the pool's ports %u-%u", lo,
					 p->port_lo, p->port_hi);
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
		conf_err(v, XPATH("exclude-ports"),
			 "every port of %u-%u is excluded, leaving none to allocate", p->port_lo,
			 p->port_hi);
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

static void
validate_pool(struct vctx *v, unsigned i, const struct raw_pool *r, struct eph_conf_pool *p,
	      struct pool_state *ps)
{
	const struct eph_pos_entry *e;
	char path[64], q[QLEN];
	unsigned k;

#define PLPATH(key) (snprintf(path, sizeof(path), "pools[%u].%s", i, key), path)
	p->port_lo = DEF_POOL_PORT_LO;
	p->port_hi = DEF_POOL_PORT_HI;
	p->quarantine_s = DEF_QUARANTINE_S;

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
	} else {
		ps->spans = calloc(r->addresses_count, sizeof(*ps->spans));
		if (ps->spans == NULL) {
			v->oom = true;
			v->n_errors++;
		} else {
			ps->addrs_ok = true;
			for (k = 0; k < r->addresses_count; k++) {
				snprintf(path, sizeof(path), "pools[%u].addresses[%u]", i, k);
				validate_pool_addr(v, path,
						   r->addresses[k] != NULL ? r->addresses[k] : "",
						   &ps->spans[k]);
				if (ps->spans[k].ok)
					ps->n_expanded += ps->spans[k].count;
			}
			if (ps->n_expanded > EPH_MAX_POOL_ADDRS) {
				conf_err(v, PLPATH("addresses"),
					 "the entries expand to %" PRIu64 " addresses, at most %d "
					 "allowed in a pool",
					 ps->n_expanded, EPH_MAX_POOL_ADDRS);
				ps->addrs_ok = false;
			}
		}
	}

	validate_pool_ports(v, i, r, p);
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
	if (conf_uint(v, PLPATH("quarantine-s"), r->quarantine_s, &p->quarantine_s) &&
	    r->quarantine_s != NULL && p->quarantine_s < DEF_QUARANTINE_S)
		conf_warn(
			v, path,
			"%u s is below the %u s recommended by RFC 6888 REQ-8; a freed port may go "
			"to a new host while the old peer still sends to it",
			p->quarantine_s, DEF_QUARANTINE_S);
#undef PLPATH
}

/* Addresses shared between pools or entries, or taken by a port. */
static void
check_pool_addrs(struct vctx *v, struct eph_conf *conf, struct pool_state *ps,
		 const struct port_state *st, struct pool_item *items, size_t n)
{
	char path[64], a[16], b[16];
	size_t k, j;
	unsigned i;

	for (k = 0; k < n; k = j) {
		const struct pool_item *f = &items[k];

		for (j = k + 1; j < n && items[j].addr == f->addr; j++) {
			const struct pool_item *it = &items[j];
			struct addr_span *sp = &ps[it->pool].spans[it->entry];

			if (sp->reported)
				continue;
			sp->reported = true;
			snprintf(path, sizeof(path), "pools[%u].addresses[%u]", it->pool,
				 it->entry);
			if (it->pool == f->pool)
				conf_err(v, path,
					 "%s is listed twice, already given by addresses[%u]",
					 ip_str(a, sizeof(a), it->addr), f->entry);
			else
				conf_err(v, path,
					 "%s is already in pool '%s' (pools[%u].addresses[%u]); an "
					 "address can belong to one pool only",
					 ip_str(a, sizeof(a), it->addr),
					 pool_name(conf, ps, f->pool), f->pool, f->entry);
		}
	}

	for (k = 0; k < n; k++) {
		const struct pool_item *it = &items[k];
		struct addr_span *sp = &ps[it->pool].spans[it->entry];

		for (i = 0; i < conf->n_ports && !sp->reported; i++) {
			const struct eph_conf_port *p = &conf->ports[i];
			uint32_t m = prefix_mask(p->prefix_len);

			if (!st[i].addr_ok)
				continue;
			snprintf(path, sizeof(path), "pools[%u].addresses[%u]", it->pool,
				 it->entry);
			ip_str(a, sizeof(a), it->addr);
			ip_str(b, sizeof(b), p->addr & m);
			if (it->addr == p->addr) {
				conf_err(
					v, path,
					"%s is the address of port '%s' itself, expected addresses "
					"the gateway does not use",
					a, p->name[0] ? p->name : "?");
				sp->reported = true;
			} else if (p->prefix_len <= 30 && (it->addr == (p->addr & m) ||
							   it->addr == ((p->addr & m) | ~m))) {
				conf_err(v, path,
					 "%s is the %s address of the subnet %s/%u of port '%s'", a,
					 it->addr == (p->addr & m) ? "network" : "broadcast", b,
					 p->prefix_len, p->name[0] ? p->name : "?");
				sp->reported = true;
			} else if (p->role == EPH_ROLE_INSIDE && in_subnet(p, it->addr)) {
				conf_err(v, path,
					 "%s is on the subnet %s/%u of inside port '%s', expected "
					 "addresses reached through an outside port",
					 a, b, p->prefix_len, p->name[0] ? p->name : "?");
				sp->reported = true;
			}
		}
	}
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
	struct inside_item *all = NULL, **stack = NULL;
	struct span32 *reach = NULL;
	size_t n = 0, depth = 0, n_reach = 0, k, j;
	char path[64], a[16], b[16], c[16];
	bool ports_ok = true;
	unsigned i;

	for (i = 0; i < conf->n_pools; i++)
		n += conf->pools[i].n_inside;
	if (n == 0)
		return;
	all = malloc(n * sizeof(*all));
	stack = malloc(n * sizeof(*stack));
	reach = malloc((conf->n_ports + conf->n_routes + 1) * sizeof(*reach));
	if (all == NULL || stack == NULL || reach == NULL) {
		v->oom = true;
		v->n_errors++;
		goto out;
	}
	n = 0;
	for (i = 0; i < conf->n_pools; i++)
		for (k = 0; k < conf->pools[i].n_inside; k++)
			all[n++] = (struct inside_item){conf->pools[i].inside[k].addr,
							conf->pools[i].inside[k].len, (uint16_t)i,
							ps[i].inside_entry[k]};
	qsort(all, n, sizeof(*all), inside_item_cmp);

	/* Prefixes nest or are disjoint: the stack holds those containing the current one. */
	for (k = 0; k < n; k++) {
		struct inside_item *cur = &all[k];

		while (depth > 0 &&
		       prefix_last(stack[depth - 1]->addr, stack[depth - 1]->len) < cur->addr)
			depth--;
		for (j = depth; j-- > 0;) {
			struct inside_item *o = stack[j], *blame, *other;

			if (o->pool == cur->pool)
				continue;
			blame = inside_later(cur, o) ? cur : o;
			other = blame == cur ? o : cur;
			if (ps[blame->pool].inside_reported[blame->entry])
				continue;
			ps[blame->pool].inside_reported[blame->entry] = true;
			snprintf(path, sizeof(path), "pools[%u].inside[%u]", blame->pool,
				 blame->entry);
			conf_err(v, path,
				 "%s/%u overlaps inside prefix %s/%u of pool '%s'; "
				 "a host would have two pools",
				 ip_str(a, sizeof(a), blame->addr), blame->len,
				 ip_str(b, sizeof(b), other->addr), other->len,
				 pool_name(conf, ps, other->pool));
			break;
		}
		stack[depth++] = cur;
	}

	for (k = 0; k < n; k++) {
		const struct inside_item *cur = &all[k];
		uint32_t last = prefix_last(cur->addr, cur->len);
		size_t x = pool_item_lower(items, n_items, cur->addr);

		/* An address already refused for its own sake is not blamed twice. */
		while (x < n_items && items[x].addr <= last &&
		       ps[items[x].pool].spans[items[x].entry].reported)
			x++;
		if (x == n_items || items[x].addr > last ||
		    ps[cur->pool].inside_reported[cur->entry])
			continue;
		ps[cur->pool].inside_reported[cur->entry] = true;
		snprintf(path, sizeof(path), "pools[%u].inside[%u]", cur->pool, cur->entry);
		conf_err(v, path,
			 "%s/%u contains %s, an address of pool '%s'; pool addresses cannot be "
			 "inside hosts",
			 ip_str(a, sizeof(a), cur->addr), cur->len,
			 ip_str(b, sizeof(b), items[x].addr), pool_name(conf, ps, items[x].pool));
	}

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
		if ((lo > 0 && reach[lo - 1].hi >= cur->addr) ||
		    ps[cur->pool].inside_reported[cur->entry])
			continue;
		snprintf(path, sizeof(path), "pools[%u].inside[%u]", cur->pool, cur->entry);
		conf_warn(v, path,
			  "no inside port or route reaches %s/%u, so its hosts never use pool '%s'",
			  ip_str(c, sizeof(c), cur->addr), cur->len,
			  pool_name(conf, ps, cur->pool));
	}
out:
	free(all);
	free(stack);
	free(reach);
}

static void
validate_pools(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf,
	       const struct port_state *st)
{
	struct pool_state ps[EPH_MAX_POOLS];
	struct pool_item *items = NULL;
	size_t n_items = 0, k;
	char path[64];
	unsigned i, j, e;
	uint32_t c;

	if (r->pools_count == 0 || r->pools == NULL)
		return;
	memset(ps, 0, sizeof(ps));
	conf->n_pools = r->pools_count;
	for (i = 0; i < conf->n_pools; i++)
		validate_pool(v, i, &r->pools[i], &conf->pools[i], &ps[i]);

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
		if (ps[i].addrs_ok)
			n_items += (size_t)ps[i].n_expanded;
	if (n_items > 0) {
		items = malloc(n_items * sizeof(*items));
		if (items == NULL) {
			v->oom = true;
			v->n_errors++;
			goto out;
		}
	}
	n_items = 0;
	for (i = 0; i < conf->n_pools; i++) {
		if (!ps[i].addrs_ok || ps[i].n_expanded == 0)
			continue;
		conf->pools[i].addrs = malloc((size_t)ps[i].n_expanded * sizeof(uint32_t));
		if (conf->pools[i].addrs == NULL) {
			v->oom = true;
			v->n_errors++;
			goto out;
		}
		for (e = 0; e < r->pools[i].addresses_count; e++)
			for (c = 0; ps[i].spans[e].ok && c < ps[i].spans[e].count; c++)
				items[n_items++] = (struct pool_item){ps[i].spans[e].first + c,
								      (uint16_t)i, (uint16_t)e};
	}
	if (n_items > 1)
		qsort(items, n_items, sizeof(*items), pool_item_cmp);
	for (k = 0; k < n_items; k++) {
		struct eph_conf_pool *p = &conf->pools[items[k].pool];

		if (p->n_addrs == 0 || p->addrs[p->n_addrs - 1] != items[k].addr)
			p->addrs[p->n_addrs++] = items[k].addr;
	}

	check_pool_addrs(v, conf, ps, st, items, n_items);
	check_pool_inside(v, r, conf, ps, st, items, n_items);
out:
	free(items);
	for (i = 0; i < EPH_MAX_POOLS; i++) {
		free(ps[i].spans);
		free(ps[i].inside_entry);
		free(ps[i].inside_reported);
	}
}

/* A timeout below what the RFCs ask for works, but breaks applications. */
static void
conf_timeout(struct vctx *v, const char *path, const int64_t *raw, unsigned *out, unsigned floor,
	     const char *rfc, const char *effect)
{
	if (conf_uint(v, path, raw, out) && raw != NULL && *out < floor)
		conf_warn(v, path, "%u s is below the %s; %s", *out, rfc, effect);
}

static void
validate_nat(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf)
{
	if (r->timeouts != NULL) {
		const struct raw_timeouts *t = r->timeouts;

		conf_timeout(v, "timeouts.udp", t->udp, &conf->timeouts.udp, DEF_UDP_S,
			     "120 s floor of RFC 4787 REQ-5",
			     "UDP mappings may expire while still in use");
		conf_timeout(v, "timeouts.tcp-established", t->tcp_established,
			     &conf->timeouts.tcp_established, DEF_TCP_EST_S,
			     "7440 s (2 h 4 min) floor of RFC 5382 REQ-5",
			     "idle TCP connections may be cut");
		conf_timeout(v, "timeouts.tcp-transitory", t->tcp_transitory,
			     &conf->timeouts.tcp_transitory, DEF_TCP_TRANS_S,
			     "240 s (4 min) floor of RFC 5382 REQ-5",
			     "TCP connections may be cut while opening or closing");
		conf_timeout(v, "timeouts.icmp", t->icmp, &conf->timeouts.icmp, DEF_ICMP_S,
			     "60 s floor of RFC 5508 REQ-1",
			     "ICMP query mappings may expire while still in use");
	}
	if (r->nat != NULL) {
		conf_uint(v, "nat.sessions-per-worker", r->nat->sessions_per_worker,
			  &conf->nat.sessions_per_worker);
		conf_uint(v, "nat.destinations-per-worker", r->nat->destinations_per_worker,
			  &conf->nat.destinations_per_worker);
		conf_uint(v, "nat.handoff-ring", r->nat->handoff_ring, &conf->nat.handoff_ring);
	}
}

static void
validate(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf)
{
	static const struct raw_conf empty;
	struct port_state st[EPH_MAX_PORTS];
	char q[QLEN];

	if (r == NULL)
		r = &empty;
	memset(st, 0, sizeof(st));

	validate_eal(v, r->eal, &conf->eal);
	validate_ports(v, r, conf, st);
	validate_routes(v, r, conf, st);
	validate_pools(v, r, conf, st);
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
		conf_bool(v, "control.telemetry", r->control->telemetry, &conf->control.telemetry);
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
eph_conf_defaults(struct eph_conf *conf)
{
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
	conf->timeouts.udp = DEF_UDP_S;
	conf->timeouts.tcp_established = DEF_TCP_EST_S;
	conf->timeouts.tcp_transitory = DEF_TCP_TRANS_S;
	conf->timeouts.icmp = DEF_ICMP_S;
	conf->nat.sessions_per_worker = DEF_SESSIONS;
	conf->nat.destinations_per_worker = DEF_DESTINATIONS;
	conf->nat.handoff_ring = DEF_HANDOFF_RING;
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
		p->addrs = NULL;
		p->excluded = NULL;
		p->inside = NULL;
		p->n_addrs = p->n_excluded = p->n_inside = 0;
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

int
eph_conf_port_by_name(const struct eph_conf *conf, const char *name)
{
	unsigned i;

	for (i = 0; i < conf->n_ports; i++)
		if (strcmp(conf->ports[i].name, name) == 0)
			return (int)i;
	return -1;
}

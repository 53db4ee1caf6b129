/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the files of control/config/ share, private to them: the raw YAML
 * mapping's top level, the diagnostics (collected, then printed in file
 * order as "FILE:LINE:COLUMN: error: KEY.PATH: message"), the integer
 * rules that say what a key expects, the value parsers and the checks of
 * single values every section uses.
 *
 * A section (core.c, ports.c, pools.c) owns its schema fields, its raw
 * structs (in its header), its defaults, its integer rules and its checks;
 * load.c assembles the top-level schema and runs the sections' checks in
 * order.
 */
#ifndef EPH_CONFIG_COMMON_H
#define EPH_CONFIG_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cyaml/cyaml.h>

#include "control/config.h"
#include "control/config/pos.h"
#include "control/limits.h"

/* ------------------------------------------------------------------------ */
/* Raw YAML mapping: what libcyaml fills in. NULL pointer = key absent. */

struct raw_eal;
struct raw_port;
struct raw_route;
struct raw_arp;
struct raw_dataplane;
struct raw_control;
struct raw_pool;
struct raw_timeouts;
struct raw_nat;
struct raw_nat_log;
struct raw_vip;

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
	struct raw_vip *vips;
	unsigned vips_count;
};

/*
 * Every key is optional to libcyaml: required keys are checked by validate(),
 * which can then report all of them at once. Ints are int64_t so that
 * negative and oversized values reach the range checks intact. Sections and
 * sequences accept an empty or null value ("eal:", "eal: ~") as absent.
 */
#define OPT      (CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL)
#define OPT_NULL (CYAML_FLAG_POINTER_NULL_STR | CYAML_FLAG_OPTIONAL)

extern const cyaml_schema_value_t eph_conf_string_ptr_schema;
extern const cyaml_schema_value_t eph_conf_top_schema;

/* ------------------------------------------------------------------------ */
/* Integer keys; the path leaves sequence indexes out ("ports[].mtu"). */

struct eph_conf_int_rule {
	const char *path; /* NULL ends a section's table */
	int64_t min;
	int64_t max;
	bool pow2;
};

/* Each section's rules, and the list load.c searches (NULL-terminated). */
extern const struct eph_conf_int_rule eph_conf_core_int_rules[];
extern const struct eph_conf_int_rule eph_conf_ports_int_rules[];
extern const struct eph_conf_int_rule eph_conf_pools_int_rules[];
extern const struct eph_conf_int_rule eph_conf_vips_int_rules[];
extern const struct eph_conf_int_rule *const eph_conf_int_rules[];

/* The rule for path ("ports[1].mtu" finds "ports[].mtu"), or NULL. */
const struct eph_conf_int_rule *eph_conf_int_rule(const char *path);

/* What the value at path should look like, for "expected ..." */
void eph_conf_describe(char *buf, size_t size, const char *path);

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
const char *eph_conf_quote(char *buf, size_t size, const char *s);

__attribute__((format(printf, 4, 5))) void eph_conf_err_at(struct vctx *v, struct eph_pos pos,
							   const char *path, const char *fmt, ...);
__attribute__((format(printf, 4, 5))) void eph_conf_warn_at(struct vctx *v, struct eph_pos pos,
							    const char *path, const char *fmt, ...);
/* At the position of path's value; for a missing key, of the closest enclosing node. */
__attribute__((format(printf, 3, 4))) void eph_conf_err(struct vctx *v, const char *path,
							const char *fmt, ...);
__attribute__((format(printf, 3, 4))) void eph_conf_warn(struct vctx *v, const char *path,
							 const char *fmt, ...);

/* Print in file order, then release. */
void eph_conf_diag_flush(struct vctx *v, FILE *err);

/* libcyaml's log: collected, then turned into a single diagnostic. */
struct cy_log {
	char **lines;
	size_t n;
	size_t cap;
};

void eph_conf_cy_log_fn(cyaml_log_t level, void *ctx, const char *fmt, va_list args);
void eph_conf_cy_log_free(struct cy_log *cl);
void eph_conf_cy_report(struct vctx *v, const struct cy_log *cl, cyaml_err_t cerr);

/* ------------------------------------------------------------------------ */
/* Value parsers */

enum prefix_status {
	PFX_OK,
	PFX_NO_LEN, /* no "/N" */
	PFX_BAD_ADDR,
	PFX_BAD_LEN,
};

/* Dotted quad of len characters: four decimal octets, no leading zeros. */
bool eph_conf_parse_ipv4(const char *s, size_t len, uint32_t *out);
enum prefix_status eph_conf_parse_prefix(const char *s, uint32_t *addr, uint8_t *len);
uint32_t eph_conf_prefix_mask(unsigned len);
uint32_t eph_conf_prefix_last(uint32_t addr, unsigned len);
char *eph_conf_ip_str(char *buf, size_t size, uint32_t a);
/* 1 to 9 decimal digits. */
bool eph_conf_parse_port_num(const char *s, size_t len, unsigned *out);
bool eph_conf_only_chars(const char *s, const char *allowed);

#define NAME_CHARS   EPH_NAME_CHARS
#define PREFIX_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
#define LCORE_CHARS  "0123456789,@()-"

/* Why addr cannot be a host's unicast address, or NULL when it can. */
const char *eph_conf_addr_problem(uint32_t addr);
/* The first address of [a, b] that eph_conf_addr_problem() refuses; false if none. */
bool eph_conf_range_problem(uint32_t a, uint32_t b, uint32_t *bad);

/* A copy of n elements of size bytes, NULL for none; *oom set when malloc fails. */
void *eph_conf_copy_array(const void *src, size_t n, size_t size, bool *oom);

/* ------------------------------------------------------------------------ */
/* Checks of single values, every problem reported */

/* Integer key: absent keeps *out; bad text or range is reported. */
bool eph_conf_int(struct vctx *v, const char *path, const int64_t *raw, int64_t *out);
bool eph_conf_uint(struct vctx *v, const char *path, const int64_t *raw, unsigned *out);
void eph_conf_u16(struct vctx *v, const char *path, const int64_t *raw, uint16_t *out);
/* libcyaml reads anything but a few false words as true; be exact. */
void eph_conf_bool(struct vctx *v, const char *path, const bool *raw, bool *out);

#endif /* EPH_CONFIG_COMMON_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration loading and validation: the top-level schema assembled
 * from the sections' fields (core.c, ports.c, pools.c), their checks run
 * in order, and the public entry points of control/config.h.
 *
 * Three passes over one buffer:
 *  1. libyaml's document API builds a position index (pos.c), which
 *     also catches YAML syntax errors with their exact mark;
 *  2. a declarative libcyaml schema maps the YAML onto struct raw_conf
 *     (strings, ints, bools, sequences; absent keys stay NULL). libcyaml
 *     stops at its first problem and explains it through its log callback as
 *     a message plus a backtrace; that is turned into one diagnostic line;
 *  3. validate() converts raw_conf into struct eph_conf, checking ranges,
 *     formats and cross references, and reports every problem it finds.
 *
 * Diagnostics are collected, sorted by position and printed as
 * "FILE:LINE:COLUMN: error: KEY.PATH: message" (diag.c). No DPDK headers
 * here, so the configuration can be checked on a machine without DPDK.
 *
 * For live changes: eph_conf_dup copies a configuration, eph_conf_check
 * (check.c) applies the loader's cross-field rules to one changed in
 * memory, and eph_conf_diff (diff.c) says what differs between two and
 * what needs a restart.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cyaml/cyaml.h>

#include "control/config/common.h"
#include "control/config/core.h"
#include "control/config/pools.h"
#include "control/config/ports.h"
#include "control/config/vips.h"

/* ------------------------------------------------------------------------ */
/* The top-level schema, from each section's fields */

const cyaml_schema_value_t eph_conf_string_ptr_schema = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

static const cyaml_schema_field_t top_fields[] = {
	CYAML_FIELD_MAPPING_PTR("eal", OPT_NULL, struct raw_conf, eal, eph_conf_eal_fields),
	CYAML_FIELD_SEQUENCE("ports", OPT_NULL, struct raw_conf, ports, &eph_conf_port_schema, 0,
			     EPH_MAX_PORTS),
	CYAML_FIELD_SEQUENCE("routes", OPT_NULL, struct raw_conf, routes, &eph_conf_route_schema, 0,
			     EPH_MAX_ROUTES),
	CYAML_FIELD_MAPPING_PTR("arp", OPT_NULL, struct raw_conf, arp, eph_conf_arp_fields),
	CYAML_FIELD_MAPPING_PTR("dataplane", OPT_NULL, struct raw_conf, dataplane,
				eph_conf_dataplane_fields),
	CYAML_FIELD_MAPPING_PTR("control", OPT_NULL, struct raw_conf, control,
				eph_conf_control_fields),
	CYAML_FIELD_SEQUENCE("pools", OPT_NULL, struct raw_conf, pools, &eph_conf_pool_schema, 0,
			     EPH_MAX_POOLS),
	CYAML_FIELD_MAPPING_PTR("timeouts", OPT_NULL, struct raw_conf, timeouts,
				eph_conf_timeouts_fields),
	CYAML_FIELD_MAPPING_PTR("nat", OPT_NULL, struct raw_conf, nat, eph_conf_nat_fields),
	CYAML_FIELD_MAPPING_PTR("nat-log", OPT_NULL, struct raw_conf, nat_log,
				eph_conf_nat_log_fields),
	CYAML_FIELD_SEQUENCE("vips", OPT_NULL, struct raw_conf, vips, &eph_conf_vip_schema, 0,
			     EPH_MAX_VIPS),
	CYAML_FIELD_END,
};

/* An empty document ("---" alone) loads as NULL, like an empty file. */
const cyaml_schema_value_t eph_conf_top_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER_NULL_STR, struct raw_conf, top_fields),
};

const struct eph_conf_int_rule *const eph_conf_int_rules[] = {
	eph_conf_core_int_rules,
	eph_conf_ports_int_rules,
	eph_conf_pools_int_rules,
	eph_conf_vips_int_rules,
	eph_conf_health_int_rules,
	NULL,
};

/* ------------------------------------------------------------------------ */
/* Validation: raw_conf -> eph_conf, every problem reported */

static void
validate(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf)
{
	static const struct raw_conf empty;
	struct port_state st[EPH_MAX_PORTS];
	bool nat_log_ok;

	if (r == NULL)
		r = &empty;
	memset(st, 0, sizeof(st));

	eph_conf_validate_eal(v, r->eal, &conf->eal);
	eph_conf_validate_ports(v, r, conf, st);
	eph_conf_validate_routes(v, r, conf, st);
	nat_log_ok = eph_conf_validate_nat_log(v, r->nat_log, &conf->nat_log);
	eph_conf_validate_pools(v, r, conf, st, !nat_log_ok);
	eph_conf_validate_nat(v, r, conf); /* the VIPs' rules read nat.sessions-per-worker */
	eph_conf_validate_vips(v, r, conf);

	eph_conf_validate_arp(v, r, conf);
	eph_conf_validate_dataplane(v, r, conf);
	eph_conf_validate_control(v, r, conf);
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
	eph_conf_core_defaults(conf);
	eph_conf_pools_defaults(conf);
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
	for (i = 0; i < EPH_MAX_VIPS; i++) {
		free(conf->vips[i].backends);
		conf->vips[i].backends = NULL;
		conf->vips[i].n_backends = 0;
	}
	conf->n_vips = 0;
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
		.log_fn = eph_conf_cy_log_fn,
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
		eph_conf_err_at(&v, perr.pos, "", "invalid YAML: %s", perr.msg);
		goto out;
	} else if (rc < 0) {
		goto out;
	}
	if (idx.extra_docs)
		eph_conf_warn_at(&v, idx.extra_pos, "",
				 "only the first YAML document is used, this one is ignored");

	cerr = cyaml_load_data(buf, len, &cfg, &eph_conf_top_schema, (cyaml_data_t **)&raw, NULL);
	if (cerr != CYAML_OK)
		eph_conf_cy_report(&v, &cl, cerr);
	else
		validate(&v, raw, conf);
	if (raw != NULL)
		cyaml_free(&cfg, &eph_conf_top_schema, raw, 0);
out:
	eph_conf_cy_log_free(&cl);
	eph_conf_diag_flush(&v, err);
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

/* ------------------------------------------------------------------------ */
/* Copies */

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
	for (i = 0; i < EPH_MAX_VIPS; i++)
		dst->vips[i].backends = NULL;

	for (i = 0; i < src->eal.n_args && i < EPH_MAX_EAL_ARGS && !oom; i++) {
		if (src->eal.args[i] == NULL)
			continue;
		dst->eal.args[i] = strdup(src->eal.args[i]);
		oom = dst->eal.args[i] == NULL;
	}
	dst->routes = eph_conf_copy_array(src->routes, src->n_routes, sizeof(*src->routes), &oom);
	for (i = 0; i < EPH_MAX_POOLS && !oom; i++) {
		const struct eph_conf_pool *s = &src->pools[i];
		struct eph_conf_pool *d = &dst->pools[i];

		d->addrs = eph_conf_copy_array(s->addrs, s->n_addrs, sizeof(*s->addrs), &oom);
		d->excluded =
			eph_conf_copy_array(s->excluded, s->n_excluded, sizeof(*s->excluded), &oom);
		d->inside = eph_conf_copy_array(s->inside, s->n_inside, sizeof(*s->inside), &oom);
		d->reserve =
			eph_conf_copy_array(s->reserve, s->n_reserve, sizeof(*s->reserve), &oom);
	}
	for (i = 0; i < src->n_vips && !oom; i++)
		dst->vips[i].backends = eph_conf_copy_array(src->vips[i].backends,
							    src->vips[i].n_backends,
							    sizeof(*src->vips[i].backends), &oom);
	if (oom) {
		eph_conf_free(dst);
		return -ENOMEM;
	}
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The balancer's health keys (health.c): vips[].health-check (and a
 * backend's own), vips[].outlier-detection. Private to control/config/.
 */
#ifndef EPH_CONFIG_HEALTH_H
#define EPH_CONFIG_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include <cyaml/cyaml.h>

#include "control/config/common.h"

struct raw_health {
	int *type;
	int64_t *port;
	char *interval;
	char *timeout;
	int64_t *rise;
	int64_t *fall;
	char *path;
	char *host;
	char *expect;
	char *send;
};

struct raw_outlier {
	int64_t *failures;
	char *window;
	char *ejection;
};

extern const cyaml_schema_field_t eph_conf_health_fields[];
extern const cyaml_schema_field_t eph_conf_outlier_fields[];
extern const struct eph_conf_int_rule eph_conf_health_int_rules[];

/* A health-check mapping at path ("vips[0].health-check") into h; false after errors. */
bool eph_conf_validate_health(struct vctx *v, const char *path, const struct raw_health *r,
			      struct eph_conf_health *h);
/* An outlier-detection mapping at path into o; false after errors. */
bool eph_conf_validate_outlier(struct vctx *v, const char *path, const struct raw_outlier *r,
			       struct eph_conf_outlier *o);

#endif /* EPH_CONFIG_HEALTH_H */

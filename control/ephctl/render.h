/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ephctl's human-readable output: one function per daemon result (see the
 * control protocol, v1) writing aligned tables or YAML-like text. Pure
 * functions of the JSON they are given, so tests feed them results and
 * compare the text.
 *
 * Each returns 0, or -1 when the result lacks what the output is built on
 * (e.g. show.sessions without a "sessions" list); fields missing inside a
 * row print as "-".
 */
#ifndef EPHCTL_RENDER_H
#define EPHCTL_RENDER_H

#include <stdio.h>

#include <jansson.h>

/* Width of the occupancy bar between the brackets. */
#define EPHCTL_BAR_WIDTH 10

int ephctl_render_json(FILE *out, const json_t *result);
int ephctl_render_version(FILE *out, const json_t *result);
int ephctl_render_stats(FILE *out, const json_t *result);
int ephctl_render_ports(FILE *out, const json_t *result);
int ephctl_render_pools(FILE *out, const json_t *result);
int ephctl_render_sessions(FILE *out, const json_t *result);
int ephctl_render_destinations(FILE *out, const json_t *result);
int ephctl_render_config(FILE *out, const json_t *result);
int ephctl_render_pool_add(FILE *out, const json_t *result);
int ephctl_render_pool_remove(FILE *out, const json_t *result);
int ephctl_render_pool_set_range(FILE *out, const json_t *result);
/* Warnings go to err, each as "ephctl: warning: ...". */
int ephctl_render_timeouts(FILE *out, FILE *err, const json_t *result);
int ephctl_render_cleared(FILE *out, const json_t *result);
int ephctl_render_reload(FILE *out, const json_t *result);
int ephctl_render_metrics(FILE *out, const json_t *result);
int ephctl_render_vips(FILE *out, const json_t *result);
int ephctl_render_backends(FILE *out, const json_t *result);
int ephctl_render_vip_backend(FILE *out, const json_t *result);

/* One screen of `ephctl top`, built from successive show.stats results. */
struct ephctl_top_view {
	const json_t *version;      /* result of "version", or NULL */
	const json_t *stats;        /* show.stats now */
	const json_t *prev_stats;   /* show.stats one refresh ago; NULL on the first frame */
	double elapsed_s;           /* time between prev_stats and stats */
	const json_t *pools;        /* show.pools, or NULL when the daemon refused it */
	const json_t *destinations; /* show.destinations, or NULL */
	double interval_s;          /* refresh interval, shown in the header */
};

int ephctl_render_top(FILE *out, const struct ephctl_top_view *view);

/* "12s", "5m03s", "3h25m", "2d03h"; "-" for a negative count. */
void ephctl_format_duration(char *buf, size_t len, long long seconds);
/* "[#####.....]  52.0%": the bar clipped to 0..100 %, the number as given. */
void ephctl_format_bar(char *buf, size_t len, double pct);

#endif /* EPHCTL_RENDER_H */

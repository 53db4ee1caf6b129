/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The balancer's health keys: an active check (vips[].health-check, or a
 * backend's own: type tcp, http or udp, port, interval, timeout, rise,
 * fall, and http's path, host and expected statuses, udp's payload),
 * passive detection (vips[].outlier-detection: failures within a window,
 * ejection time) and all-down. Durations are written as seconds ("2",
 * "1.5s") or milliseconds ("500ms").
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config/common.h"
#include "control/config/health.h"

/* Documented defaults (HAProxy's, but a 1 s timeout). */
#define DEF_INTERVAL_MS 2000
#define DEF_TIMEOUT_MS  1000
#define DEF_RISE        2
#define DEF_FALL        3
#define DEF_PATH        "/"
#define DEF_EXPECT      "200-299"
#define DEF_SEND        "ping"
#define DEF_FAILURES    5
#define DEF_WINDOW_MS   10000
#define DEF_EJECTION_MS 30000

#define INTERVAL_MIN_MS 100
#define TIMEOUT_MIN_MS  10
#define DURATION_MAX_MS 3600000
#define COUNT_MAX       100

static const cyaml_strval_t type_strings[] = {
	{"tcp", EPH_HEALTH_TCP},
	{"http", EPH_HEALTH_HTTP},
	{"udp", EPH_HEALTH_UDP},
};

const cyaml_schema_field_t eph_conf_health_fields[] = {
	CYAML_FIELD_ENUM_PTR("type", OPT | CYAML_FLAG_STRICT, struct raw_health, type, type_strings,
			     CYAML_ARRAY_LEN(type_strings)),
	CYAML_FIELD_INT_PTR("port", OPT, struct raw_health, port),
	CYAML_FIELD_STRING_PTR("interval", OPT, struct raw_health, interval, 0, CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("timeout", OPT, struct raw_health, timeout, 0, CYAML_UNLIMITED),
	CYAML_FIELD_INT_PTR("rise", OPT, struct raw_health, rise),
	CYAML_FIELD_INT_PTR("fall", OPT, struct raw_health, fall),
	CYAML_FIELD_STRING_PTR("path", OPT, struct raw_health, path, 0, CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("host", OPT, struct raw_health, host, 0, CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("expect", OPT, struct raw_health, expect, 0, CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("send", OPT, struct raw_health, send, 0, CYAML_UNLIMITED),
	CYAML_FIELD_END,
};

const cyaml_schema_field_t eph_conf_outlier_fields[] = {
	CYAML_FIELD_INT_PTR("failures", OPT, struct raw_outlier, failures),
	CYAML_FIELD_STRING_PTR("window", OPT, struct raw_outlier, window, 0, CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("ejection", OPT, struct raw_outlier, ejection, 0, CYAML_UNLIMITED),
	CYAML_FIELD_END,
};

/* clang-format off */
const struct eph_conf_int_rule eph_conf_health_int_rules[] = {
	{ "vips[].health-check.port",                EPH_LIMIT_PORT_MIN, EPH_LIMIT_PORT_MAX, false },
	{ "vips[].health-check.rise",                1, COUNT_MAX, false },
	{ "vips[].health-check.fall",                1, COUNT_MAX, false },
	{ "vips[].backends[].health-check.port",     EPH_LIMIT_PORT_MIN, EPH_LIMIT_PORT_MAX, false },
	{ "vips[].backends[].health-check.rise",     1, COUNT_MAX, false },
	{ "vips[].backends[].health-check.fall",     1, COUNT_MAX, false },
	{ "vips[].outlier-detection.failures",       1, 10000, false },
	{ NULL, 0, 0, false },
};
/* clang-format on */

const char *
eph_health_type_name(enum eph_health_type t)
{
	switch (t) {
	case EPH_HEALTH_TCP:
		return "tcp";
	case EPH_HEALTH_HTTP:
		return "http";
	case EPH_HEALTH_UDP:
		return "udp";
	default:
		return "none";
	}
}

const char *
eph_lb_all_down_name(enum eph_lb_all_down a)
{
	return a == EPH_LB_ALL_DOWN_REFUSE ? "refuse" : "keep";
}

void
eph_conf_health_defaults(struct eph_conf_health *h)
{
	memset(h, 0, sizeof(*h));
	h->type = EPH_HEALTH_NONE;
	h->interval_ms = DEF_INTERVAL_MS;
	h->timeout_ms = DEF_TIMEOUT_MS;
	h->rise = DEF_RISE;
	h->fall = DEF_FALL;
	snprintf(h->path, sizeof(h->path), "%s", DEF_PATH);
	snprintf(h->expect, sizeof(h->expect), "%s", DEF_EXPECT);
	for (unsigned s = 200; s <= 299; s++)
		h->expect_set[s / 8] |= (uint8_t)(1u << (s % 8));
	snprintf(h->send, sizeof(h->send), "%s", DEF_SEND);
}

void
eph_conf_outlier_defaults(struct eph_conf_outlier *o)
{
	o->failures = 0;
	o->window_ms = DEF_WINDOW_MS;
	o->ejection_ms = DEF_EJECTION_MS;
}

bool
eph_conf_health_equal(const struct eph_conf_health *a, const struct eph_conf_health *b)
{
	return a->type == b->type && a->port == b->port && a->interval_ms == b->interval_ms &&
	       a->timeout_ms == b->timeout_ms && a->rise == b->rise && a->fall == b->fall &&
	       strcmp(a->path, b->path) == 0 && strcmp(a->host, b->host) == 0 &&
	       strcmp(a->expect, b->expect) == 0 && strcmp(a->send, b->send) == 0;
}

/* "2", "1.5s", "500ms": milliseconds in *ms; false unless well formed. */
static bool
parse_duration(const char *s, unsigned *ms)
{
	unsigned long whole = 0, frac = 0, scale = 1000;
	const char *p = s;
	int digits = 0;

	while (isdigit((unsigned char)*p) && digits < 9) {
		whole = whole * 10 + (unsigned long)(*p++ - '0');
		digits++;
	}
	if (digits == 0 || isdigit((unsigned char)*p))
		return false;
	if (*p == '.') {
		unsigned long div = 1000;

		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p)) {
			div /= 10;
			if (div == 0)
				return false; /* finer than a millisecond */
			frac += (unsigned long)(*p++ - '0') * div;
		}
	}
	if (strcmp(p, "ms") == 0) {
		if (frac != 0)
			return false;
		scale = 1;
	} else if (strcmp(p, "s") != 0 && *p != '\0') {
		return false;
	}
	if (whole * scale + (scale == 1 ? 0 : frac) > DURATION_MAX_MS)
		return false;
	*ms = (unsigned)(whole * scale + (scale == 1 ? 0 : frac));
	return true;
}

static bool
duration(struct vctx *v, const char *path, const char *key, const char *s, unsigned min,
	 unsigned *out)
{
	char p[128], q[QLEN];
	unsigned ms;

	if (s == NULL)
		return true;
	snprintf(p, sizeof(p), "%s.%s", path, key);
	if (!parse_duration(s, &ms) || ms < min) {
		eph_conf_err(v, p,
			     "expected a duration of %u ms to 3600 s, as seconds (2, 1.5s) or "
			     "milliseconds (500ms), found %s",
			     min, eph_conf_quote(q, sizeof(q), s));
		return false;
	}
	*out = ms;
	return true;
}

/* "200-299,304": statuses 100..599 into set; false unless well formed. */
static bool
parse_statuses(const char *s, uint8_t *set)
{
	const char *p = s;

	memset(set, 0, (EPH_HEALTH_STATUS_MAX + 8) / 8);
	for (;;) {
		char *end;
		unsigned long lo, hi;

		if (!isdigit((unsigned char)*p))
			return false;
		lo = strtoul(p, &end, 10);
		hi = lo;
		p = end;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				return false;
			hi = strtoul(p, &end, 10);
			p = end;
		}
		if (lo < 100 || hi > EPH_HEALTH_STATUS_MAX || lo > hi)
			return false;
		for (unsigned long x = lo; x <= hi; x++)
			set[x / 8] |= (uint8_t)(1u << (x % 8));
		if (*p == '\0')
			return true;
		if (*p != ',')
			return false;
		p++;
		while (*p == ' ')
			p++;
	}
}

/* A string of printable characters without spaces, shorter than size (path, host). */
static bool
text(struct vctx *v, const char *path, const char *key, const char *s, size_t size, bool slash,
     char *out)
{
	char p[128], q[QLEN];
	bool ok = s[0] != '\0' && strlen(s) < size && (!slash || s[0] == '/');

	for (const char *c = s; ok && *c != '\0'; c++)
		ok = isgraph((unsigned char)*c);
	snprintf(p, sizeof(p), "%s.%s", path, key);
	if (!ok) {
		eph_conf_err(v, p, "expected %s of 1 to %zu printable characters without spaces%s, "
				   "found %s",
			     slash ? "a path" : "a host name", size - 1,
			     slash ? " starting with /" : "", eph_conf_quote(q, sizeof(q), s));
		return false;
	}
	snprintf(out, size, "%s", s);
	return true;
}

bool
eph_conf_validate_health(struct vctx *v, const char *path, const struct raw_health *r,
			 struct eph_conf_health *h)
{
	char p[128], q[QLEN];
	bool ok = true;

	eph_conf_health_defaults(h);
	if (r == NULL)
		return true;
	if (r->type == NULL) {
		snprintf(p, sizeof(p), "%s.type", path);
		eph_conf_err(v, p, "required key is missing, expected tcp, http or udp");
		ok = false;
	} else {
		h->type = (enum eph_health_type)*r->type;
	}
	snprintf(p, sizeof(p), "%s.port", path);
	eph_conf_u16(v, p, r->port, &h->port);
	snprintf(p, sizeof(p), "%s.rise", path);
	ok = eph_conf_uint(v, p, r->rise, &h->rise) && ok;
	snprintf(p, sizeof(p), "%s.fall", path);
	ok = eph_conf_uint(v, p, r->fall, &h->fall) && ok;
	ok = duration(v, path, "interval", r->interval, INTERVAL_MIN_MS, &h->interval_ms) && ok;
	ok = duration(v, path, "timeout", r->timeout, TIMEOUT_MIN_MS, &h->timeout_ms) && ok;
	if (ok && h->timeout_ms > h->interval_ms) {
		snprintf(p, sizeof(p), "%s.timeout", path);
		eph_conf_err(v, p, "%u ms is longer than the interval (%u ms): expected at most "
				   "the interval, one check at a time",
			     h->timeout_ms, h->interval_ms);
		ok = false;
	}
	if (r->path != NULL)
		ok = text(v, path, "path", r->path, sizeof(h->path), true, h->path) && ok;
	if (r->host != NULL)
		ok = text(v, path, "host", r->host, sizeof(h->host), false, h->host) && ok;
	if (r->expect != NULL) {
		snprintf(p, sizeof(p), "%s.expect", path);
		if (strlen(r->expect) >= sizeof(h->expect) || !parse_statuses(r->expect, h->expect_set)) {
			eph_conf_err(v, p, "expected HTTP statuses 100 to 599 as a list of codes and "
					   "ranges like 200-299,304, found %s",
				     eph_conf_quote(q, sizeof(q), r->expect));
			ok = false;
		} else {
			snprintf(h->expect, sizeof(h->expect), "%s", r->expect);
		}
	}
	if (r->send != NULL) {
		snprintf(p, sizeof(p), "%s.send", path);
		if (strlen(r->send) >= sizeof(h->send)) {
			eph_conf_err(v, p, "expected at most %zu bytes, found %zu", sizeof(h->send) - 1,
				     strlen(r->send));
			ok = false;
		} else {
			snprintf(h->send, sizeof(h->send), "%s", r->send);
		}
	}
	if (r->type != NULL && h->type != EPH_HEALTH_HTTP && (r->path || r->host || r->expect)) {
		snprintf(p, sizeof(p), "%s.%s", path, r->path ? "path" : r->host ? "host" : "expect");
		eph_conf_err(v, p, "only an http check has a path, host or expected statuses");
		ok = false;
	}
	if (h->type != EPH_HEALTH_UDP && r->type != NULL && r->send != NULL) {
		snprintf(p, sizeof(p), "%s.send", path);
		eph_conf_err(v, p, "only a udp check sends a payload");
		ok = false;
	}
	return ok;
}

bool
eph_conf_validate_outlier(struct vctx *v, const char *path, const struct raw_outlier *r,
			  struct eph_conf_outlier *o)
{
	char p[128];
	bool ok = true;

	eph_conf_outlier_defaults(o);
	if (r == NULL)
		return true;
	o->failures = DEF_FAILURES;
	snprintf(p, sizeof(p), "%s.failures", path);
	ok = eph_conf_uint(v, p, r->failures, &o->failures) && ok;
	ok = duration(v, path, "window", r->window, 1000, &o->window_ms) && ok;
	ok = duration(v, path, "ejection", r->ejection, 1000, &o->ejection_ms) && ok;
	return ok;
}

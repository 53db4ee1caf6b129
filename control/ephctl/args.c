/* SPDX-License-Identifier: BSD-3-Clause */
/* Argument checks and session filters for ephctl (see args.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ephctl/args.h"
#include "control/limits.h"

#define QUOTE_MAX 64

static void __attribute__((format(printf, 2, 3)))
set_err(char **err, const char *fmt, ...)
{
	va_list ap;

	free(*err);
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
}

/* s in double quotes, unprintable bytes as \xNN, cut after QUOTE_MAX bytes. */
static const char *
quote(char *buf, size_t len, const char *s)
{
	size_t o = 0;

	buf[o++] = '"';
	for (size_t i = 0; s[i] != '\0' && o + 8 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == QUOTE_MAX) {
			o += (size_t)snprintf(buf + o, len - o, "...");
			break;
		}
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	snprintf(buf + o, len - o, "\"");
	return buf;
}

static bool
all_digits(const char *s, size_t n)
{
	if (n == 0 || n > 18)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int
parse_count_as(const char *name, const char *what, const char *s, long long lo, long long hi,
	       long long *out, char **err)
{
	char q[QUOTE_MAX * 4 + 16];
	long long v;

	if (!all_digits(s, strlen(s)) || (v = atoll(s)) < lo || v > hi) {
		set_err(err, "%s: expected %s from %lld to %lld, found %s", name, what, lo, hi,
			quote(q, sizeof(q), s));
		return -1;
	}
	*out = v;
	return 0;
}

int
ephctl_parse_count(const char *name, const char *s, long long lo, long long hi, long long *out,
		   char **err)
{
	return parse_count_as(name, "a whole number", s, lo, hi, out, err);
}

int
ephctl_parse_seconds(const char *name, const char *s, double lo, double hi, double *out,
		     char **err)
{
	char q[QUOTE_MAX * 4 + 16];
	bool digit = false, ok = s[0] != '\0';
	char *end;
	double v;

	for (const char *c = s; *c != '\0'; c++) {
		digit |= isdigit((unsigned char)*c) != 0;
		ok &= isdigit((unsigned char)*c) || *c == '.';
	}
	v = ok && digit ? strtod(s, &end) : NAN;
	if (!ok || !digit || *end != '\0' || !(v >= lo && v <= hi)) {
		set_err(err, "%s: expected a number of seconds from %g to %g, found %s", name, lo,
			hi, quote(q, sizeof(q), s));
		return -1;
	}
	*out = v;
	return 0;
}

/* A name of a pool or VIP (what) as the configuration spells them. */
static int
check_name(const char *name, const char *what, const char *s, char **err)
{
	char q[QUOTE_MAX * 4 + 16];
	size_t n = strlen(s);

	if (n < EPH_LIMIT_NAME_MIN || n > EPH_LIMIT_NAME_MAX || strspn(s, EPH_NAME_CHARS) != n) {
		set_err(err,
			"%s: expected a %s name of %d to %d characters from a-z, 0-9, '_' "
			"and '-', found %s",
			name, what, EPH_LIMIT_NAME_MIN, EPH_LIMIT_NAME_MAX, quote(q, sizeof(q), s));
		return -1;
	}
	return 0;
}

int
ephctl_check_pool_name(const char *name, const char *s, char **err)
{
	return check_name(name, "pool", s, err);
}

int
ephctl_check_vip_name(const char *name, const char *s, char **err)
{
	return check_name(name, "VIP", s, err);
}

/* A dotted quad (inet_pton: exactly four decimal parts) of at most n bytes of s. */
static bool
ipv4_n(const char *s, size_t n, uint32_t *host_order)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return false;
	*host_order = ntohl(a.s_addr);
	return true;
}

static bool
prefix_ok(const char *s)
{
	const char *slash = strchr(s, '/');
	uint32_t ip;

	if (slash == NULL)
		return ipv4_n(s, strlen(s), &ip);
	return ipv4_n(s, (size_t)(slash - s), &ip) && all_digits(slash + 1, strlen(slash + 1)) &&
	       strlen(slash + 1) <= 2 && atoi(slash + 1) <= 32;
}

int
ephctl_check_prefix(const char *name, const char *s, char **err)
{
	char q[QUOTE_MAX * 4 + 16];

	if (!prefix_ok(s)) {
		set_err(err,
			"%s: expected an IPv4 address like 192.0.2.11 or a prefix like "
			"192.0.2.0/24, found %s",
			name, quote(q, sizeof(q), s));
		return -1;
	}
	return 0;
}

/* The daemon takes at most as many addresses at once as a pool holds. */
static int
check_span_size(const char *name, const char *s, const char *what, unsigned long long n, char **err)
{
	char q[QUOTE_MAX * 4 + 16];

	if (n <= EPH_LIMIT_POOL_ADDRS_MAX)
		return 0;
	set_err(err, "%s: the %s %s holds %llu addresses, expected at most %d", name, what,
		quote(q, sizeof(q), s), n, EPH_LIMIT_POOL_ADDRS_MAX);
	return -1;
}

int
ephctl_check_address_set(const char *name, const char *s, char **err)
{
	char q[QUOTE_MAX * 4 + 16];
	const char *dash = strchr(s, '-'), *slash = strchr(s, '/');
	uint32_t lo, hi;

	if (dash != NULL && ipv4_n(s, (size_t)(dash - s), &lo) &&
	    ipv4_n(dash + 1, strlen(dash + 1), &hi)) {
		if (lo > hi) {
			set_err(err, "%s: the range %s ends before it starts", name,
				quote(q, sizeof(q), s));
			return -1;
		}
		return check_span_size(name, s, "range", (unsigned long long)hi - lo + 1, err);
	}
	if (dash == NULL && prefix_ok(s))
		return slash == NULL ? 0
				     : check_span_size(name, s, "prefix",
						       1ull << (32 - atoi(slash + 1)), err);
	set_err(err,
		"%s: expected an IPv4 address (203.0.113.104), a range "
		"(203.0.113.104-203.0.113.107) or a prefix (203.0.113.104/30), found %s",
		name, quote(q, sizeof(q), s));
	return -1;
}

int
ephctl_check_port_range(const char *name, const char *s, char **err)
{
	char q[QUOTE_MAX * 4 + 16];
	const char *dash = strchr(s, '-');

	if (dash != NULL && all_digits(s, (size_t)(dash - s)) &&
	    all_digits(dash + 1, strlen(dash + 1))) {
		long long lo = atoll(s), hi = atoll(dash + 1);

		if (lo >= EPH_LIMIT_PORT_MIN && lo <= hi && hi <= EPH_LIMIT_PORT_MAX)
			return 0;
	}
	set_err(err, "%s: expected \"LO-HI\" with %d <= LO <= HI <= %d, found %s", name,
		EPH_LIMIT_PORT_MIN, EPH_LIMIT_PORT_MAX, quote(q, sizeof(q), s));
	return -1;
}

enum filter_kind {
	FILTER_PROTO,
	FILTER_PREFIX,
	FILTER_PORT,
	FILTER_POOL,
	FILTER_LIMIT,
};

static const struct filter {
	const char *key;
	enum filter_kind kind;
	const char *expected; /* what the value should be, for a missing value */
} filters[] = {
	{ "proto", FILTER_PROTO, "tcp, udp or icmp" },
	{ "inside", FILTER_PREFIX, "an IPv4 address or prefix" },
	{ "outside", FILTER_PREFIX, "an IPv4 address or prefix" },
	{ "remote", FILTER_PREFIX, "an IPv4 address or prefix" },
	{ "port", FILTER_PORT, "a port number" },
	{ "pool", FILTER_POOL, "a pool name" },
	{ "limit", FILTER_LIMIT, "how many sessions to show" },
};

static int
filter_value(const struct filter *f, const char *value, json_t *args, char **err)
{
	char q[QUOTE_MAX * 4 + 16];
	long long n;

	switch (f->kind) {
	case FILTER_PROTO:
		if (strcmp(value, "tcp") != 0 && strcmp(value, "udp") != 0 &&
		    strcmp(value, "icmp") != 0) {
			set_err(err, "proto: expected tcp, udp or icmp, found %s",
				quote(q, sizeof(q), value));
			return -1;
		}
		break;
	case FILTER_PREFIX:
		if (ephctl_check_prefix(f->key, value, err) < 0)
			return -1;
		break;
	case FILTER_POOL:
		if (ephctl_check_pool_name(f->key, value, err) < 0)
			return -1;
		break;
	case FILTER_PORT:
		if (ephctl_parse_count(f->key, value, EPH_LIMIT_PORT_MIN, EPH_LIMIT_PORT_MAX, &n,
				       err) < 0)
			return -1;
		return json_object_set_new(args, f->key, json_integer(n));
	case FILTER_LIMIT:
		if (ephctl_parse_count(f->key, value, EPH_LIMIT_SESSIONS_LIMIT_MIN,
				       EPH_LIMIT_SESSIONS_LIMIT_MAX, &n, err) < 0)
			return -1;
		return json_object_set_new(args, f->key, json_integer(n));
	}
	return json_object_set_new(args, f->key, json_string(value));
}

int
ephctl_parse_filters(int argc, char **argv, bool with_limit, json_t *args, char **err)
{
	size_t n_filters = sizeof(filters) / sizeof(filters[0]) - (with_limit ? 0 : 1);
	char q[QUOTE_MAX * 4 + 16];

	for (int i = 0; i < argc; i += 2) {
		const struct filter *f = NULL;

		for (size_t k = 0; k < n_filters; k++)
			if (strcmp(argv[i], filters[k].key) == 0)
				f = &filters[k];
		if (f == NULL) {
			set_err(err,
				"unknown filter %s: expected proto, inside, outside, remote, "
				"port%s",
				quote(q, sizeof(q), argv[i]),
				with_limit ? ", pool or limit" : " or pool");
			return -1;
		}
		if (json_object_get(args, f->key) != NULL) {
			set_err(err, "%s: given twice", f->key);
			return -1;
		}
		if (i + 1 >= argc) {
			set_err(err, "%s: expected %s after it", f->key, f->expected);
			return -1;
		}
		if (filter_value(f, argv[i + 1], args, err) < 0)
			return -1;
	}
	return 0;
}

/* The daemon's limits (control/limits.h), checked with the daemon's words. */
int
ephctl_parse_timeouts(int argc, char **argv, json_t *args, char **err)
{
	char q[QUOTE_MAX * 4 + 16], why[160];

	if (argc == 0) {
		set_err(err, "expected at least one of udp, tcp-established, tcp-transitory "
			     "or icmp with its seconds");
		return -1;
	}
	for (int i = 0; i < argc; i += 2) {
		const struct eph_timeout_limit *l = NULL;
		enum eph_timeout_kind kind = EPH_TIMEOUT_N;
		long long s;

		for (unsigned int k = 0; k < EPH_TIMEOUT_N; k++)
			if (strcmp(argv[i], eph_timeout_limits[k].name) == 0) {
				kind = k;
				l = &eph_timeout_limits[k];
			}
		if (l == NULL) {
			set_err(err,
				"unknown timeout %s: expected udp, tcp-established, tcp-transitory "
				"or icmp",
				quote(q, sizeof(q), argv[i]));
			return -1;
		}
		if (json_object_get(args, l->name) != NULL) {
			set_err(err, "%s: given twice", l->name);
			return -1;
		}
		if (i + 1 >= argc) {
			set_err(err, "%s: expected seconds after it", l->name);
			return -1;
		}
		/* Not a number at all, or beyond any range: named as such. */
		if (!all_digits(argv[i + 1], strlen(argv[i + 1])) || strlen(argv[i + 1]) > 12) {
			set_err(err,
				"%s: expected a whole number of seconds from %u to %u, found %s",
				l->name, l->min_s, l->max_s, quote(q, sizeof(q), argv[i + 1]));
			return -1;
		}
		/* A number: refused exactly as the daemon and the file would. */
		s = atoll(argv[i + 1]);
		if (eph_timeout_range_error(kind, s, why, sizeof(why))) {
			set_err(err, "timeouts.%s: %s", l->name, why);
			return -1;
		}
		json_object_set_new(args, l->name, json_integer(s));
	}
	return 0;
}

int
ephctl_match_option(int argc, char **argv, int *i, const char *name, const char **value,
		    char **err)
{
	size_t n = strlen(name);
	const char *w = argv[*i];

	if (strncmp(w, name, n) == 0 && w[n] == '=') {
		*value = w + n + 1;
		return 1;
	}
	if (strcmp(w, name) != 0)
		return 0;
	if (*i + 1 >= argc) {
		set_err(err, "%s: expected a value after it", name);
		return -1;
	}
	*value = argv[++*i];
	return 1;
}

int
ephctl_parse_backend(const char *name, const char *s, json_t *args, char **err)
{
	char q[QUOTE_MAX * 4 + 16], addr[INET_ADDRSTRLEN];
	const char *colon = strchr(s, ':');
	size_t n = colon != NULL ? (size_t)(colon - s) : strlen(s);
	uint32_t a;
	long long port;

	if (!ipv4_n(s, n, &a)) {
		set_err(err, "%s: expected a backend as ADDRESS or ADDRESS:PORT (198.18.0.11:8080), "
			     "found %s",
			name, quote(q, sizeof(q), s));
		return -1;
	}
	memcpy(addr, s, n);
	addr[n] = '\0';
	json_object_set_new(args, "address", json_string(addr));
	if (colon == NULL)
		return 0;
	if (parse_count_as(name, "a port after ':'", colon + 1, EPH_LIMIT_PORT_MIN,
			   EPH_LIMIT_PORT_MAX, &port, err) < 0)
		return -1;
	json_object_set_new(args, "port", json_integer(port));
	return 0;
}

int
ephctl_parse_vip_backend(int argc, char **argv, json_t *args, char **err)
{
	char q[QUOTE_MAX * 4 + 16];
	bool add, set;
	int want;
	long long weight;

	if (argc == 0 || (strcmp(argv[0], "add") != 0 && strcmp(argv[0], "remove") != 0 &&
			  strcmp(argv[0], "set-weight") != 0)) {
		if (argc == 0)
			set_err(err, "expected add, remove or set-weight");
		else
			set_err(err, "expected add, remove or set-weight, found %s",
				quote(q, sizeof(q), argv[0]));
		return -1;
	}
	add = strcmp(argv[0], "add") == 0;
	set = strcmp(argv[0], "set-weight") == 0;
	want = set ? 4 : 3;
	if (argc < want) {
		set_err(err, "%s: expected VIP ADDRESS[:PORT]%s%s", argv[0], set ? " WEIGHT" : "",
			add ? " [WEIGHT]" : "");
		return -1;
	}
	if (argc > (add ? 4 : want)) {
		set_err(err, "unexpected argument %s", quote(q, sizeof(q), argv[add ? 4 : want]));
		return -1;
	}
	if (ephctl_check_vip_name("VIP", argv[1], err) < 0 ||
	    ephctl_parse_backend("ADDRESS", argv[2], args, err) < 0)
		return -1;
	if (argc > 3) {
		if (parse_count_as("WEIGHT", "a weight", argv[3], EPH_LIMIT_BACKEND_WEIGHT_MIN,
				   EPH_LIMIT_BACKEND_WEIGHT_MAX, &weight, err) < 0)
			return -1;
		json_object_set_new(args, "weight", json_integer(weight));
	}
	json_object_set_new(args, "op", json_string(argv[0]));
	json_object_set_new(args, "vip", json_string(argv[1]));
	return 0;
}

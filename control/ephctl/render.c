/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ephctl's tables and texts (see render.h). A small table builder sizes each
 * column to its widest cell, right-aligns numbers and never leaves trailing
 * blanks; the renderers below only choose columns and cells.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control/ephctl/render.h"

#define COLUMN_GAP "  "

struct table {
	unsigned int n_cols;
	const char *const *head; /* NULL: no header line */
	const char *align;       /* 'l' or 'r' per column */
	char **cells;            /* row after row; NULL prints as "" */
	size_t n_cells;
	size_t cap;
};

static void
table_init(struct table *t, unsigned int n_cols, const char *const *head, const char *align)
{
	*t = (struct table){ .n_cols = n_cols, .head = head, .align = align };
}

static void
table_free(struct table *t)
{
	for (size_t i = 0; i < t->n_cells; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->n_cells = 0;
	t->cap = 0;
}

static size_t
table_rows(const struct table *t)
{
	return t->n_cells / t->n_cols;
}

/* Takes ownership of s (may be NULL after a failed allocation: printed empty). */
static void
table_put(struct table *t, char *s)
{
	if (t->n_cells == t->cap) {
		size_t cap = t->cap == 0 ? 64 : t->cap * 2;
		char **cells = realloc(t->cells, cap * sizeof(*cells));

		if (cells == NULL) {
			free(s);
			return;
		}
		t->cells = cells;
		t->cap = cap;
	}
	t->cells[t->n_cells++] = s;
}

static void __attribute__((format(printf, 2, 3)))
cell(struct table *t, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	table_put(t, s);
}

static void
print_line(FILE *out, const char *indent, char *line, size_t len)
{
	while (len > 0 && line[len - 1] == ' ')
		len--;
	line[len] = '\0';
	fprintf(out, "%s%s\n", indent, line);
}

static void
table_print(FILE *out, const struct table *t, const char *indent)
{
	size_t width[t->n_cols];
	size_t line_len = 1;
	char *line;

	for (unsigned int c = 0; c < t->n_cols; c++)
		width[c] = t->head != NULL ? strlen(t->head[c]) : 0;
	for (size_t i = 0; i < t->n_cells; i++) {
		size_t w = t->cells[i] != NULL ? strlen(t->cells[i]) : 0;

		if (w > width[i % t->n_cols])
			width[i % t->n_cols] = w;
	}
	for (unsigned int c = 0; c < t->n_cols; c++)
		line_len += width[c] + strlen(COLUMN_GAP);
	line = malloc(line_len);
	if (line == NULL)
		return;

	for (size_t r = t->head != NULL ? 0 : 1; r <= table_rows(t); r++) {
		size_t pos = 0;

		for (unsigned int c = 0; c < t->n_cols; c++) {
			const char *s = r == 0 ? t->head[c] : t->cells[(r - 1) * t->n_cols + c];
			int w = (int)width[c];

			if (s == NULL)
				s = "";
			pos += (size_t)snprintf(line + pos, line_len - pos,
						t->align[c] == 'r' ? "%s%*s" : "%s%-*s",
						c == 0 ? "" : COLUMN_GAP, w, s);
		}
		print_line(out, indent, line, pos);
	}
	free(line);
}

/* JSON access that tolerates missing keys and wrong types. */

static const json_t *
get(const json_t *o, const char *key)
{
	return json_is_object(o) ? json_object_get(o, key) : NULL;
}

static const char *
get_str(const json_t *o, const char *key, const char *missing)
{
	const json_t *v = get(o, key);

	return json_is_string(v) ? json_string_value(v) : missing;
}

static bool
get_int(const json_t *o, const char *key, long long *out)
{
	const json_t *v = get(o, key);

	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

static bool
get_num(const json_t *o, const char *key, double *out)
{
	const json_t *v = get(o, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

/* Any scalar as text; "-" for missing, null and containers. */
static void
cell_of(struct table *t, const json_t *o, const char *key)
{
	const json_t *v = get(o, key);

	if (json_is_string(v))
		cell(t, "%s", json_string_value(v));
	else if (json_is_integer(v))
		cell(t, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		cell(t, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		cell(t, "%s", json_is_true(v) ? "yes" : "no");
	else
		cell(t, "-");
}

static void
cell_duration(struct table *t, const json_t *o, const char *key)
{
	long long s;
	char buf[32];

	if (!get_int(o, key, &s))
		s = -1;
	ephctl_format_duration(buf, sizeof(buf), s);
	cell(t, "%s", buf);
}

static void
cell_pct(struct table *t, long long part, long long whole)
{
	if (whole <= 0)
		cell(t, "-");
	else
		cell(t, "%.1f%%", 100.0 * (double)part / (double)whole);
}

/* The strings of an array joined by ", "; malloc'd, "-" when empty or missing. */
static char *
join(const json_t *arr)
{
	size_t len = 2, n = json_array_size(arr);
	char *s;

	for (size_t i = 0; i < n; i++)
		len += strlen(json_string_value(json_array_get(arr, i)) ?: "?") + 2;
	s = malloc(len);
	if (s == NULL)
		return NULL;
	strcpy(s, n == 0 ? "-" : "");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(s, ", ");
		strcat(s, json_string_value(json_array_get(arr, i)) ?: "?");
	}
	return s;
}

void
ephctl_format_duration(char *buf, size_t len, long long s)
{
	if (s < 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

void
ephctl_format_bar(char *buf, size_t len, double pct)
{
	double clipped = isfinite(pct) ? fmin(fmax(pct, 0.0), 100.0) : 0.0;
	int filled = (int)lround(clipped * EPHCTL_BAR_WIDTH / 100.0);
	char bar[EPHCTL_BAR_WIDTH + 1];

	for (int i = 0; i < EPHCTL_BAR_WIDTH; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[EPHCTL_BAR_WIDTH] = '\0';
	snprintf(buf, len, "[%s] %5.1f%%", bar, pct);
}

int
ephctl_render_json(FILE *out, const json_t *result)
{
	char *s = json_dumps(result, JSON_INDENT(2) | JSON_ENCODE_ANY);

	if (s == NULL)
		return -1;
	fprintf(out, "%s\n", s);
	free(s);
	return 0;
}

int
ephctl_render_version(FILE *out, const json_t *result)
{
	long long protocol, uptime;
	char up[32];

	if (!json_is_object(result))
		return -1;
	if (!get_int(result, "uptime_s", &uptime))
		uptime = -1;
	ephctl_format_duration(up, sizeof(up), uptime);
	fprintf(out, "ephctl %s\n", EPH_VERSION);
	fprintf(out, "ephemera %s", get_str(result, "version", "-"));
	if (get_int(result, "protocol", &protocol))
		fprintf(out, ", control protocol %lld", protocol);
	fprintf(out, ", up %s\n", up);
	return 0;
}

/* show.stats */

static void
stats_workers(FILE *out, const json_t *result)
{
	static const char *const head[] = { "WORKER", "LCORE", "RX", "TX", "DROPS", "SESSIONS",
					    "BUSY", "HANDOFF-IN", "HANDOFF-OUT" };
	const json_t *workers = get(result, "workers");
	const json_t *totals = get(result, "totals");
	long long polls = 0, busy = 0, h_in = 0, h_out = 0;
	const json_t *w;
	struct table t;
	size_t i;

	table_init(&t, 9, head, "lrrrrrrrr");
	json_array_foreach(workers, i, w) {
		long long p = 0, b = 0, v;

		cell_of(&t, w, "id");
		cell_of(&t, w, "lcore");
		cell_of(&t, w, "rx_packets");
		cell_of(&t, w, "tx_packets");
		cell_of(&t, w, "drops");
		cell_of(&t, w, "sessions");
		get_int(w, "polls", &p);
		get_int(w, "busy_polls", &b);
		cell_pct(&t, b, p);
		cell_of(&t, w, "handoff_in");
		cell_of(&t, w, "handoff_out");
		polls += p;
		busy += b;
		h_in += get_int(w, "handoff_in", &v) ? v : 0;
		h_out += get_int(w, "handoff_out", &v) ? v : 0;
	}
	cell(&t, "total");
	cell(&t, "%s", "");
	cell_of(&t, totals, "rx_packets");
	cell_of(&t, totals, "tx_packets");
	cell_of(&t, totals, "drops");
	cell_of(&t, totals, "sessions");
	cell_pct(&t, busy, polls);
	cell(&t, "%lld", h_in);
	cell(&t, "%lld", h_out);
	table_print(out, &t, "");
	table_free(&t);
}

/* A two-column table of an object's integer members. */
static void
counter_table(FILE *out, const json_t *counters, const char *name_head, const char *count_head)
{
	const char *const head[] = { name_head, count_head };
	const char *key;
	json_t *v;
	struct table t;

	table_init(&t, 2, head, "lr");
	json_object_foreach((json_t *)counters, key, v) {
		cell(&t, "%s", key);
		cell_of(&t, counters, key);
	}
	table_print(out, &t, "");
	table_free(&t);
}

int
ephctl_render_stats(FILE *out, const json_t *result)
{
	const json_t *drops = get(result, "drops");
	const json_t *nat = get(result, "nat");
	long long uptime;
	char up[32];

	if (!json_is_array(get(result, "workers")))
		return -1;
	if (!get_int(result, "uptime_s", &uptime))
		uptime = -1;
	ephctl_format_duration(up, sizeof(up), uptime);
	fprintf(out, "uptime %s, %zu worker%s\n\n", up, json_array_size(get(result, "workers")),
		json_array_size(get(result, "workers")) == 1 ? "" : "s");
	stats_workers(out, result);
	fputc('\n', out);
	if (json_object_size(drops) == 0)
		fprintf(out, "no drops\n");
	else
		counter_table(out, drops, "DROP REASON", "PACKETS");
	if (json_object_size(nat) != 0) {
		fputc('\n', out);
		counter_table(out, nat, "NAT COUNTER", "COUNT");
	}
	return 0;
}

/* show.ports */

static void
cell_link(struct table *t, const json_t *port)
{
	const json_t *up = get(port, "link_up");
	long long mbps;

	if (!json_is_boolean(up))
		cell(t, "-");
	else if (!json_is_true(up))
		cell(t, "down");
	else if (!get_int(port, "speed_mbps", &mbps) || mbps <= 0)
		cell(t, "up");
	else if (mbps % 1000 == 0)
		cell(t, "up %lld Gb/s", mbps / 1000);
	else
		cell(t, "up %lld Mb/s", mbps);
}

int
ephctl_render_ports(FILE *out, const json_t *result)
{
	static const char *const id_head[] = { "NAME", "ROLE", "ADDRESS", "MAC", "MTU", "LINK",
					       "KERNEL", "DEVICE" };
	static const char *const ctr_head[] = { "NAME", "RX", "TX", "RX-BYTES", "TX-BYTES",
						"RX-MISSED", "RX-ERRORS", "TX-ERRORS", "TO-KERNEL",
						"FROM-KERNEL" };
	static const char *const ctr_key[] = { "rx_packets", "tx_packets", "rx_bytes", "tx_bytes",
					       "rx_missed", "rx_errors", "tx_errors", "to_kernel",
					       "from_kernel" };
	const json_t *ports = get(result, "ports");
	const json_t *p;
	struct table t;
	size_t i;

	if (!json_is_array(ports))
		return -1;
	if (json_array_size(ports) == 0) {
		fprintf(out, "no ports\n");
		return 0;
	}
	table_init(&t, 8, id_head, "llllllll");
	json_array_foreach(ports, i, p) {
		cell_of(&t, p, "name");
		cell_of(&t, p, "role");
		cell_of(&t, p, "address");
		cell_of(&t, p, "mac");
		cell_of(&t, p, "mtu");
		cell_link(&t, p);
		cell_of(&t, p, "kernel_interface");
		cell_of(&t, p, "device");
	}
	table_print(out, &t, "");
	table_free(&t);
	fputc('\n', out);

	table_init(&t, 10, ctr_head, "lrrrrrrrrr");
	json_array_foreach(ports, i, p) {
		cell_of(&t, p, "name");
		for (size_t k = 0; k < sizeof(ctr_key) / sizeof(ctr_key[0]); k++)
			cell_of(&t, p, ctr_key[k]);
	}
	table_print(out, &t, "");
	table_free(&t);
	return 0;
}

/* show.pools */

static void
pool_summary(FILE *out, const json_t *pool)
{
	char *inside = join(get(pool, "inside"));
	long long warn;
	struct table t;

	table_init(&t, 2, NULL, "ll");
	cell(&t, "inside");
	cell(&t, "%s", inside ?: "");
	cell(&t, "ports");
	cell_of(&t, pool, "ports");
	cell(&t, "mapping");
	cell_of(&t, pool, "mapping");
	cell(&t, "filtering");
	cell_of(&t, pool, "filtering");
	cell(&t, "pooling");
	cell_of(&t, pool, "pooling");
	cell(&t, "log");
	cell_of(&t, pool, "log");
	cell(&t, "warn at");
	if (get_int(pool, "warn_occupancy_pct", &warn))
		cell(&t, "%lld%% of a destination's ports", warn);
	else
		cell(&t, "-");
	cell(&t, "sessions");
	cell_of(&t, pool, "sessions");
	cell(&t, "refused");
	cell_of(&t, pool, "refused");
	/* Earlier port ranges whose sessions have not all ended (after set-range or reload). */
	{
		const json_t *d;
		size_t k;

		json_array_foreach(get(pool, "draining_ports"), k, d) {
			long long held = 0;

			get_int(d, "ports_in_use", &held);
			cell(&t, k == 0 ? "draining" : "");
			cell(&t, "ports %s, %lld in use", get_str(d, "ports", "-"), held);
		}
	}
	table_print(out, &t, "  ");
	table_free(&t);
	free(inside);
}

int
ephctl_render_pools(FILE *out, const json_t *result)
{
	static const char *const head[] = { "ADDRESS", "STATE", "PORTS-IN-USE", "PORTS-PER-DEST",
					    "REFUSED" };
	const json_t *pools = get(result, "pools");
	const json_t *pool, *a;
	size_t i, j;

	if (!json_is_array(pools))
		return -1;
	if (json_array_size(pools) == 0) {
		fprintf(out, "no pools configured\n");
		return 0;
	}
	json_array_foreach(pools, i, pool) {
		struct table t;

		if (i > 0)
			fputc('\n', out);
		fprintf(out, "pool %s\n", get_str(pool, "name", "-"));
		pool_summary(out, pool);
		fputc('\n', out);
		table_init(&t, 5, head, "llrrr");
		json_array_foreach(get(pool, "addresses"), j, a) {
			cell_of(&t, a, "address");
			cell_of(&t, a, "state");
			cell_of(&t, a, "ports_in_use");
			cell_of(&t, a, "ports_per_destination");
			cell_of(&t, a, "refused");
		}
		if (table_rows(&t) == 0)
			fprintf(out, "  no addresses\n");
		else
			table_print(out, &t, "  ");
		table_free(&t);
	}
	return 0;
}

/* show.sessions */

int
ephctl_render_sessions(FILE *out, const json_t *result)
{
	static const char *const head[] = { "PROTO", "INSIDE",	"OUTSIDE", "REMOTE", "STATE",
					    "POOL",  "WORKER", "AGE",	   "EXPIRES" };
	const json_t *sessions = get(result, "sessions");
	const json_t *s;
	long long matched;
	struct table t;
	size_t i;

	if (!json_is_array(sessions))
		return -1;
	if (json_array_size(sessions) == 0) {
		fprintf(out, "no sessions match\n");
		return 0;
	}
	table_init(&t, 9, head, "llllllrrr");
	json_array_foreach(sessions, i, s) {
		cell_of(&t, s, "proto");
		cell_of(&t, s, "inside");
		cell_of(&t, s, "outside");
		cell_of(&t, s, "remote");
		cell_of(&t, s, "state");
		cell_of(&t, s, "pool");
		cell_of(&t, s, "worker");
		cell_duration(&t, s, "age_s");
		cell_duration(&t, s, "expires_in_s");
	}
	table_print(out, &t, "");
	table_free(&t);
	if (json_is_true(get(result, "truncated"))) {
		if (get_int(result, "matched", &matched))
			fprintf(out, "%zu of %lld sessions shown (show more with: limit N)\n",
				json_array_size(sessions), matched);
		else
			fprintf(out, "%zu sessions shown, more match (show more with: limit N)\n",
				json_array_size(sessions));
	}
	return 0;
}

/* show.destinations */

static void
destinations_table(FILE *out, const json_t *dests)
{
	static const char *const head[] = { "POOL", "OUTSIDE", "REMOTE",  "PROTO",    "WORKER",
					    "LIVE", "RESTING", "SHARE",	  "OCCUPANCY" };
	const json_t *d;
	struct table t;
	size_t i;

	table_init(&t, 9, head, "llllrrrrl");
	json_array_foreach(dests, i, d) {
		double pct;
		char bar[64];

		cell_of(&t, d, "pool");
		cell_of(&t, d, "outside");
		cell_of(&t, d, "remote");
		cell_of(&t, d, "proto");
		cell_of(&t, d, "worker");
		cell_of(&t, d, "live");
		cell_of(&t, d, "resting");
		cell_of(&t, d, "share");
		if (get_num(d, "occupancy_pct", &pct)) {
			ephctl_format_bar(bar, sizeof(bar), pct);
			cell(&t, "%s", bar);
		} else {
			cell(&t, "-");
		}
	}
	table_print(out, &t, "");
	table_free(&t);
}

int
ephctl_render_destinations(FILE *out, const json_t *result)
{
	const json_t *dests = get(result, "destinations");

	if (!json_is_array(dests))
		return -1;
	if (json_array_size(dests) == 0)
		fprintf(out, "no destinations in use\n");
	else
		destinations_table(out, dests);
	return 0;
}

/* show.config: the result as YAML-like text, keys in the daemon's order. */

static bool
is_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

/* A string YAML would read back as the same string without quotes. */
static bool
yaml_plain_ok(const char *s)
{
	static const char *const words[] = { "true", "false", "null", "~" };
	size_t n = strlen(s);
	char *end;

	if (n == 0 || strchr("-?:,[]{}#&*!|>'\"%@` ", s[0]) != NULL || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || strchr(",[]{}", c) != NULL)
			return false;
		if (c == ':' && (s[i + 1] == ' ' || s[i + 1] == '\0'))
			return false;
		if (c == '#' && s[i - 1] == ' ')
			return false;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i]) == 0)
			return false;
	strtod(s, &end);
	return *end != '\0';
}

static void
yaml_flow(FILE *out, const json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;

	if (json_is_string(v) && yaml_plain_ok(json_string_value(v))) {
		fputs(json_string_value(v), out);
	} else if (json_is_array(v)) {
		fputc('[', out);
		json_array_foreach(v, i, item) {
			fputs(i > 0 ? ", " : "", out);
			yaml_flow(out, item);
		}
		fputc(']', out);
	} else if (json_is_object(v)) {
		i = 0;
		fputc('{', out);
		json_object_foreach((json_t *)v, key, item) {
			fprintf(out, "%s%s: ", i++ > 0 ? ", " : "", key);
			yaml_flow(out, item);
		}
		fputc('}', out);
	} else {
		char *s = json_dumps(v, JSON_ENCODE_ANY);

		fputs(s != NULL ? s : "?", out);
		free(s);
	}
}

/* Fits on the line of its key: a scalar, a list of scalars, an empty container. */
static bool
yaml_is_flat(const json_t *v)
{
	const json_t *item;
	size_t i;

	if (json_is_object(v))
		return json_object_size(v) == 0;
	json_array_foreach(v, i, item)
		if (!is_scalar(item))
			return false;
	return true;
}

static void yaml_map(FILE *out, const json_t *obj, int indent, bool list_item);

static void
yaml_value(FILE *out, const json_t *v, int indent)
{
	const json_t *item;
	size_t i;

	if (yaml_is_flat(v)) {
		fputc(' ', out);
		yaml_flow(out, v);
		fputc('\n', out);
		return;
	}
	fputc('\n', out);
	if (json_is_object(v)) {
		yaml_map(out, v, indent + 2, false);
		return;
	}
	json_array_foreach(v, i, item) {
		if (json_is_object(item) && json_object_size(item) > 0) {
			yaml_map(out, item, indent + 4, true);
		} else {
			fprintf(out, "%*s- ", indent + 2, "");
			yaml_flow(out, item);
			fputc('\n', out);
		}
	}
}

static void
yaml_map(FILE *out, const json_t *obj, int indent, bool list_item)
{
	const char *key;
	json_t *v;
	bool first = true;

	json_object_foreach((json_t *)obj, key, v) {
		if (list_item && first)
			fprintf(out, "%*s- %s:", indent - 2, "", key);
		else
			fprintf(out, "%*s%s:", indent, "", key);
		yaml_value(out, v, indent);
		first = false;
	}
}

int
ephctl_render_config(FILE *out, const json_t *result)
{
	if (!json_is_object(result))
		return -1;
	yaml_map(out, result, 0, false);
	return 0;
}

/* Changes */

static void
print_generation(FILE *out, const json_t *result)
{
	long long gen;

	if (get_int(result, "generation", &gen))
		fprintf(out, " (generation %lld)", gen);
	fputc('\n', out);
}

int
ephctl_render_pool_add(FILE *out, const json_t *result)
{
	const json_t *added = get(result, "added");
	char *list;

	if (!json_is_array(added))
		return -1;
	list = join(added);
	if (json_array_size(added) == 0)
		fprintf(out, "pool %s: no address added", get_str(result, "pool", "-"));
	else
		fprintf(out, "pool %s: added %s", get_str(result, "pool", "-"), list ?: "");
	print_generation(out, result);
	free(list);
	return 0;
}

int
ephctl_render_pool_remove(FILE *out, const json_t *result)
{
	const json_t *removed = get(result, "removed");
	const json_t *d;
	char *list;
	size_t i;

	if (!json_is_array(removed))
		return -1;
	list = join(removed);
	if (json_array_size(removed) == 0)
		fprintf(out, "pool %s: no address removed", get_str(result, "pool", "-"));
	else
		fprintf(out, "pool %s: removed %s", get_str(result, "pool", "-"), list ?: "");
	print_generation(out, result);
	free(list);
	json_array_foreach(get(result, "draining"), i, d) {
		long long n = 0;

		get_int(d, "sessions", &n);
		if (n == 0)
			fprintf(out, "%s: draining, no session uses it\n", get_str(d, "address", "-"));
		else
			fprintf(out, "%s: draining, %lld session%s still use%s it\n",
				get_str(d, "address", "-"), n, n == 1 ? "" : "s", n == 1 ? "s" : "");
	}
	return 0;
}

int
ephctl_render_pool_set_range(FILE *out, const json_t *result)
{
	long long draining;

	if (!json_is_object(result))
		return -1;
	fprintf(out, "pool %s: ports %s, were %s", get_str(result, "pool", "-"),
		get_str(result, "ports", "-"), get_str(result, "previous", "-"));
	print_generation(out, result);
	if (get_int(result, "draining_sessions", &draining) && draining > 0)
		fprintf(out, "%lld session%s keep%s %s port from the earlier range until %s end%s\n",
			draining, draining == 1 ? "" : "s", draining == 1 ? "s" : "",
			draining == 1 ? "its" : "their", draining == 1 ? "it" : "they",
			draining == 1 ? "s" : "");
	return 0;
}

int
ephctl_render_timeouts(FILE *out, FILE *err, const json_t *result)
{
	static const char *const head[] = { "TIMEOUT", "SECONDS" };
	const json_t *timeouts = get(result, "timeouts");
	const json_t *w;
	const char *key;
	json_t *v;
	struct table t;
	size_t i;

	if (!json_is_object(timeouts))
		return -1;
	fprintf(out, "timeouts now");
	print_generation(out, result);
	table_init(&t, 2, head, "lr");
	json_object_foreach((json_t *)timeouts, key, v) {
		char name[64];

		/* Shown as typed on the command line and in the YAML file. */
		snprintf(name, sizeof(name), "%s", key);
		for (char *c = name; *c != '\0'; c++)
			if (*c == '_')
				*c = '-';
		cell(&t, "%s", name);
		cell_of(&t, timeouts, key);
	}
	table_print(out, &t, "  ");
	table_free(&t);
	/* The table first, also when stdout is a pipe and stderr is not buffered. */
	fflush(out);
	json_array_foreach(get(result, "warnings"), i, w)
		fprintf(err, "ephctl: warning: %s\n", json_string_value(w) ?: "?");
	return 0;
}

int
ephctl_render_cleared(FILE *out, const json_t *result)
{
	long long n;

	if (!get_int(result, "cleared", &n))
		return -1;
	if (n == 0)
		fprintf(out, "no sessions matched, none cleared\n");
	else
		fprintf(out, "cleared %lld session%s\n", n, n == 1 ? "" : "s");
	return 0;
}

int
ephctl_render_reload(FILE *out, const json_t *result)
{
	const json_t *changes = get(result, "changes");
	const json_t *c;
	size_t i;

	if (!json_is_object(result))
		return -1;
	fprintf(out, "reloaded");
	print_generation(out, result);
	if (json_array_size(changes) == 0)
		fprintf(out, "  no changes\n");
	json_array_foreach(changes, i, c)
		fprintf(out, "  %s\n", json_string_value(c) ?: "?");
	return 0;
}

int
ephctl_render_metrics(FILE *out, const json_t *result)
{
	const char *text = get_str(result, "text", NULL);
	size_t n;

	if (text == NULL)
		return -1;
	n = strlen(text);
	fputs(text, out);
	if (n > 0 && text[n - 1] != '\n')
		fputc('\n', out);
	return 0;
}

/* ephctl top */

/* Per second between two samples; false when unknown or the counter went back (restart). */
static bool
rate(const json_t *prev, const json_t *cur, const char *key, double elapsed_s, double *out)
{
	long long a, b;

	if (prev == NULL || elapsed_s <= 0 || !get_int(prev, key, &a) || !get_int(cur, key, &b) ||
	    b < a)
		return false;
	*out = (double)(b - a) / elapsed_s;
	return true;
}

static void
cell_rate(struct table *t, const json_t *prev, const json_t *cur, const char *key, double elapsed)
{
	double r;

	if (rate(prev, cur, key, elapsed, &r))
		cell(t, "%.0f", r);
	else
		cell(t, "-");
}

static const json_t *
worker_by_id(const json_t *workers, const json_t *id)
{
	const json_t *w;
	size_t i;

	json_array_foreach(workers, i, w)
		if (json_equal(get(w, "id"), id))
			return w;
	return NULL;
}

static void
top_header(FILE *out, const struct ephctl_top_view *v)
{
	const json_t *totals = get(v->stats, "totals");
	const json_t *prev = v->prev_stats != NULL ? get(v->prev_stats, "totals") : NULL;
	static const char *const keys[] = { "rx_packets", "tx_packets", "drops" };
	static const char *const names[] = { "rx", "tx", "drops" };
	long long uptime, sessions;
	char up[32];

	if (!get_int(v->stats, "uptime_s", &uptime))
		uptime = -1;
	ephctl_format_duration(up, sizeof(up), uptime);
	fprintf(out, "ephemera %s, up %s, %zu worker%s, refresh %gs\n",
		get_str(v->version, "version", "-"), up, json_array_size(get(v->stats, "workers")),
		json_array_size(get(v->stats, "workers")) == 1 ? "" : "s", v->interval_s);
	fprintf(out, "sessions ");
	if (get_int(totals, "sessions", &sessions))
		fprintf(out, "%lld", sessions);
	else
		fprintf(out, "-");
	for (unsigned int k = 0; k < 3; k++) {
		double r;

		if (rate(prev, totals, keys[k], v->elapsed_s, &r))
			fprintf(out, ", %s %.0f/s", names[k], r);
		else
			fprintf(out, ", %s -/s", names[k]);
	}
	fputc('\n', out);
}

static void
top_workers(FILE *out, const struct ephctl_top_view *v)
{
	static const char *const head[] = { "WORKER", "LCORE", "RX/S",	   "TX/S",
					    "DROPS/S", "SESSIONS", "BUSY" };
	const json_t *prev_workers = v->prev_stats != NULL ? get(v->prev_stats, "workers") : NULL;
	const json_t *w;
	struct table t;
	size_t i;

	table_init(&t, 7, head, "lrrrrrr");
	json_array_foreach(get(v->stats, "workers"), i, w) {
		const json_t *p = worker_by_id(prev_workers, get(w, "id"));
		long long p0, p1, b0, b1;

		cell_of(&t, w, "id");
		cell_of(&t, w, "lcore");
		cell_rate(&t, p, w, "rx_packets", v->elapsed_s);
		cell_rate(&t, p, w, "tx_packets", v->elapsed_s);
		cell_rate(&t, p, w, "drops", v->elapsed_s);
		cell_of(&t, w, "sessions");
		if (p != NULL && get_int(p, "polls", &p0) && get_int(w, "polls", &p1) &&
		    get_int(p, "busy_polls", &b0) && get_int(w, "busy_polls", &b1) && p1 > p0 &&
		    b1 >= b0)
			cell_pct(&t, b1 - b0, p1 - p0);
		else
			cell(&t, "-");
	}
	table_print(out, &t, "");
	table_free(&t);
}

static void
top_pools(FILE *out, const json_t *pools)
{
	static const char *const head[] = { "POOL",    "ADDRESS", "STATE", "PORTS-IN-USE",
					    "REFUSED", "OF ONE DESTINATION'S RANGE" };
	const json_t *pool, *a;
	struct table t;
	size_t i, j;

	table_init(&t, 6, head, "lllrrl");
	json_array_foreach(pools, i, pool) {
		json_array_foreach(get(pool, "addresses"), j, a) {
			long long in_use, per_dest;
			char bar[64];

			cell_of(&t, pool, "name");
			cell_of(&t, a, "address");
			cell_of(&t, a, "state");
			cell_of(&t, a, "ports_in_use");
			cell_of(&t, a, "refused");
			if (get_int(a, "ports_in_use", &in_use) &&
			    get_int(a, "ports_per_destination", &per_dest) && per_dest > 0) {
				ephctl_format_bar(bar, sizeof(bar),
						  fmin(100.0 * (double)in_use / (double)per_dest,
						       100.0));
				cell(&t, "%s", bar);
			} else {
				cell(&t, "-");
			}
		}
	}
	if (table_rows(&t) > 0)
		table_print(out, &t, "");
	else
		fprintf(out, "no pool addresses\n");
	table_free(&t);
}

int
ephctl_render_top(FILE *out, const struct ephctl_top_view *v)
{
	const json_t *dests = get(v->destinations, "destinations");

	if (!json_is_array(get(v->stats, "workers")))
		return -1;
	top_header(out, v);
	fputc('\n', out);
	top_workers(out, v);
	if (json_array_size(get(v->pools, "pools")) > 0) {
		fputc('\n', out);
		top_pools(out, get(v->pools, "pools"));
	}
	if (json_is_array(dests)) {
		fprintf(out, "\nbusiest destinations\n");
		if (json_array_size(dests) == 0)
			fprintf(out, "none in use\n");
		else
			destinations_table(out, dests);
	}
	return 0;
}

/* show.vips */

int
ephctl_render_vips(FILE *out, const json_t *result)
{
	static const char *const head[] = {
		"VIP",    "ADDRESS", "PORT",   "PROTO", "FORWARD",    "MAGLEV",     "BACKENDS",
		"UP",     "REMOVED", "ACTIVE", "TOTAL", "NO-BACKEND", "OVER-LIMIT", "NO-PORT",
		"HALF-OPEN", "REPLACED", "RATE-LIMITED",
	};
	const json_t *vips = get(result, "vips");
	const json_t *v;
	struct table t;
	size_t i;

	if (!json_is_array(vips))
		return -1;
	if (json_array_size(vips) == 0) {
		fprintf(out, "no VIPs configured\n");
		return 0;
	}
	table_init(&t, 17, head, "lllllrrrrrrrrrrrr");
	json_array_foreach(vips, i, v) {
		long long port = 0;

		cell_of(&t, v, "name");
		cell_of(&t, v, "address");
		if (get_int(v, "port", &port) && port == 0)
			cell(&t, "*");
		else
			cell_of(&t, v, "port");
		cell_of(&t, v, "protocol");
		cell_of(&t, v, "forwarding");
		cell_of(&t, v, "maglev_size");
		cell_of(&t, v, "backends");
		cell_of(&t, v, "up");
		cell_of(&t, v, "removed");
		cell_of(&t, v, "active");
		cell_of(&t, v, "total");
		cell_of(&t, v, "no_backend");
		cell_of(&t, v, "over_limit");
		cell_of(&t, v, "no_port");
		cell_of(&t, v, "half_open");
		cell_of(&t, v, "half_open_replaced");
		cell_of(&t, v, "rate_limited");
	}
	table_print(out, &t, "");
	table_free(&t);
	return 0;
}

/* show.backends */

/* The backends' health: state, the last check and why the state last changed. */
static void
backends_health(FILE *out, const json_t *backends)
{
	static const char *const head[] = { "BACKEND", "PORT",   "HEALTH", "LAST-CHECK",
					    "LATENCY", "CHECKS", "FAILED", "CONN-FAILURES",
					    "DOWNS",   "SINCE",  "REASON" };
	const json_t *b;
	struct table t;
	bool any = false;
	size_t i;

	json_array_foreach(backends, i, b)
		any |= json_is_true(get(get(b, "health"), "checked")) ||
		       json_is_true(get(get(b, "health"), "passive"));
	if (!any)
		return; /* nothing watches these backends' health */
	table_init(&t, 11, head, "lrllrrrrrrl");
	json_array_foreach(backends, i, b) {
		const json_t *h = get(b, "health");
		long long us = 0, port = 0;

		cell_of(&t, b, "address");
		if (get_int(b, "port", &port) && port == 0)
			cell(&t, "*");
		else
			cell_of(&t, b, "port");
		if (json_is_true(get(h, "kept")))
			cell(&t, "down (kept)");
		else if (json_is_true(get(h, "ejected")))
			cell(&t, "down (ejected)");
		else
			cell_of(&t, h, "state");
		if (!json_is_true(get(h, "checked")))
			cell(&t, "not checked");
		else
			cell_of(&t, h, "last");
		if (get_int(h, "latency_us", &us) && us > 0)
			cell(&t, us >= 10000 ? "%lld ms" : "%lld us", us >= 10000 ? us / 1000 : us);
		else
			cell(&t, "-");
		cell_of(&t, h, "checks");
		cell_of(&t, h, "failed");
		cell_of(&t, h, "connect_failures");
		cell_of(&t, h, "downs");
		cell_duration(&t, h, "since_s");
		cell_of(&t, h, "reason");
	}
	fputc('\n', out);
	table_print(out, &t, "  ");
	table_free(&t);
}

int
ephctl_render_backends(FILE *out, const json_t *result)
{
	static const char *const head[] = { "BACKEND", "PORT",	   "STATE",	 "WEIGHT",
					    "ACTIVE",  "TOTAL",	   "PKTS-TO",	 "PKTS-FROM",
					    "BYTES-TO", "BYTES-FROM", "OVER-LIMIT", "NO-PORT" };
	static const char *const local_head[] = { "LOCAL-ADDRESS", "PORTS-IN-USE", "REFUSED" };
	const json_t *backends = get(result, "backends"), *locals = get(result, "local_addresses");
	const json_t *b;
	struct table t;
	size_t i;

	if (!json_is_array(backends))
		return -1;
	fprintf(out, "vip %s\n", get_str(result, "vip", "-"));
	if (json_array_size(backends) == 0) {
		fprintf(out, "  no backends: new connections are refused\n");
	} else {
		table_init(&t, 12, head, "lrlrrrrrrrrr");
		json_array_foreach(backends, i, b) {
			long long port = 0;

			cell_of(&t, b, "address");
			if (get_int(b, "port", &port) && port == 0)
				cell(&t, "*"); /* a VIP of every port: the client's port */
			else
				cell_of(&t, b, "port");
			cell_of(&t, b, "state");
			cell_of(&t, b, "weight");
			cell_of(&t, b, "active");
			cell_of(&t, b, "total");
			cell_of(&t, b, "pkts_to_backend");
			cell_of(&t, b, "pkts_from_backend");
			cell_of(&t, b, "bytes_to_backend");
			cell_of(&t, b, "bytes_from_backend");
			cell_of(&t, b, "over_limit");
			cell_of(&t, b, "no_port");
		}
		table_print(out, &t, "  ");
		table_free(&t);
		backends_health(out, backends);
	}
	if (json_is_array(locals) && json_array_size(locals) != 0) {
		fputc('\n', out);
		table_init(&t, 3, local_head, "lrr");
		json_array_foreach(locals, i, b) {
			cell_of(&t, b, "address");
			cell_of(&t, b, "ports_in_use");
			cell_of(&t, b, "exhausted");
		}
		table_print(out, &t, "  ");
		table_free(&t);
	}
	return 0;
}

/* vip.backend */

int
ephctl_render_vip_backend(FILE *out, const json_t *result)
{
	const char *op = get_str(result, "op", "-");
	long long port = 0, weight = 0;

	if (!json_is_object(result))
		return -1;
	(void)get_int(result, "port", &port);
	(void)get_int(result, "weight", &weight);
	if (strcmp(op, "remove") == 0)
		fprintf(out, "vip %s: backend %s:%lld removed", get_str(result, "vip", "-"),
			get_str(result, "address", "-"), port);
	else
		fprintf(out, "vip %s: backend %s:%lld %s, weight %lld", get_str(result, "vip", "-"),
			get_str(result, "address", "-"), port,
			strcmp(op, "add") == 0 ? "added" : "re-weighted", weight);
	print_generation(out, result);
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration diagnostics: problems collected with their position in the
 * file and printed sorted by it; the schema asked what a key expects
 * ("expected an integer from 68 to 9600"); libcyaml's log, which explains
 * its first problem as a message plus a backtrace, turned into one line.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf; meson passes it, a bare compiler may not */
#endif
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config/common.h"

/* ------------------------------------------------------------------------ */
/* Diagnostics */

const char *
eph_conf_quote(char *buf, size_t size, const char *s)
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

__attribute__((format(printf, 4, 5))) void
eph_conf_err_at(struct vctx *v, struct eph_pos pos, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(v, false, pos, path, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 4, 5))) void
eph_conf_warn_at(struct vctx *v, struct eph_pos pos, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(v, true, pos, path, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4))) void
eph_conf_err(struct vctx *v, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(v, false, pos_of(v, path), path, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4))) void
eph_conf_warn(struct vctx *v, const char *path, const char *fmt, ...)
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

void
eph_conf_diag_flush(struct vctx *v, FILE *err)
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

const struct eph_conf_int_rule *
eph_conf_int_rule(const char *path)
{
	const struct eph_conf_int_rule *const *t, *r;
	char g[256];

	generic_path(g, sizeof(g), path);
	for (t = eph_conf_int_rules; *t != NULL; t++)
		for (r = *t; r->path != NULL; r++)
			if (strcmp(r->path, g) == 0)
				return r;
	return NULL;
}

/* The schema of the value at path, or NULL when the path leaves the schema. */
static const cyaml_schema_value_t *
schema_at(const char *path)
{
	const cyaml_schema_value_t *s = &eph_conf_top_schema;
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

void
eph_conf_describe(char *buf, size_t size, const char *path)
{
	const cyaml_schema_value_t *s = schema_at(path);
	const struct eph_conf_int_rule *r = eph_conf_int_rule(path);
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
	case CYAML_FLAGS: /* a sequence of the same words */
		o = snprintf(buf, size, s->type == CYAML_ENUM ? "one of" : "a sequence of");
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

void
eph_conf_cy_log_fn(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
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

void
eph_conf_cy_log_free(struct cy_log *cl)
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

void
eph_conf_cy_report(struct vctx *v, const struct cy_log *cl, cyaml_err_t cerr)
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
			eph_conf_err_at(v, v->idx->complex_key, "",
					"expected a plain key name, found a complex key");
		else
			eph_conf_err_at(v, v->idx->root, "", "cannot map the YAML: %s",
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
			eph_conf_err_at(v, pos, path,
					"unknown key, did you mean '%s'? expected one of %s", hint,
					keys);
		else
			eph_conf_err_at(v, pos, path, "unknown key, expected one of %s", keys);
	} else if (strncmp(msg, "Mapping field already seen:", 27) == 0) {
		const struct eph_pos_entry *first = eph_pos_find(v->idx, path);

		e = eph_pos_find_last(v->idx, path);
		if (e != NULL)
			pos = e->key;
		if (first != NULL && first != e)
			eph_conf_err_at(v, pos, path, "duplicate key, already given at line %u",
					first->key.line);
		else
			eph_conf_err_at(v, pos, path, "duplicate key");
	} else if (strncmp(msg, "Invalid INT value:", 18) == 0 ||
		   strncmp(msg, "Invalid UINT value:", 19) == 0 ||
		   strncmp(msg, "Invalid ENUM value:", 19) == 0 ||
		   strncmp(msg, "Unknown flag:", 13) == 0) {
		/* libcyaml quotes bad ints ('x') but not bad enum or flag words. */
		if (strncmp(msg, "Invalid ENUM", 12) == 0 || strncmp(msg, "Unknown flag", 12) == 0)
			snprintf(val, sizeof(val), "%s", arg);
		else
			quoted_arg(val, sizeof(val), arg);
		eph_conf_describe(what, sizeof(what), path);
		eph_conf_err_at(v, pos, path, "expected %s, found %s", what,
				eph_conf_quote(q, sizeof(q), val));
	} else if (strncmp(msg, "Expecting ", 10) == 0) {
		const char *ev = strstr(msg, "got event: ");
		const char *found = "something else";

		ev = ev != NULL ? ev + 11 : "";
		if (strcmp(ev, "SCALAR") == 0) {
			e = eph_pos_find_last(v->idx, path);
			found = e != NULL && e->text != NULL ? eph_conf_quote(q, sizeof(q), e->text)
							     : "a scalar";
		} else if (strcmp(ev, "SEQUENCE_START") == 0) {
			found = "a sequence";
		} else if (strcmp(ev, "MAPPING_START") == 0) {
			found = "a mapping";
		} else if (strcmp(ev, "ALIAS") == 0) {
			found = "an alias";
		}
		eph_conf_describe(what, sizeof(what), path);
		eph_conf_err_at(v, pos, path, "expected %s, found %s", what, found);
	} else if (excessive) {
		unsigned max = 0;

		sscanf(msg, "Excessive entries (%u max)", &max);
		eph_conf_err_at(v, pos, path, "too many entries, at most %u allowed", max);
	} else if (strncmp(msg, "libyaml:", 8) == 0) {
		eph_conf_err_at(v, pos, path, "invalid YAML: %s", arg);
	} else if (strncmp(msg, "No anchor found for alias:", 26) == 0) {
		quoted_arg(val, sizeof(val), arg);
		eph_conf_err_at(v, pos, path, "undefined alias '%s'", val);
	} else {
		eph_conf_err_at(v, pos, path, "%s", msg);
	}
}

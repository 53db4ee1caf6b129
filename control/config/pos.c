/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Position index for configuration diagnostics (see pos.h): libyaml's
 * document API loads the file into a node tree, which is walked once to
 * record each node's key path and marks, then sorted for binary search.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config/pos.h"

/* Deeper than any valid file; stops a hostile nesting from eating the stack. */
#define POS_MAX_DEPTH 32
#define POS_PATH_LEN  512

struct walk {
	struct eph_pos_index *idx;
	unsigned char *seen; /* per node id: an alias must not make us loop */
	char path[POS_PATH_LEN];
};

static struct eph_pos
mark_pos(yaml_mark_t m)
{
	return (struct eph_pos){.line = (unsigned)m.line + 1, .col = (unsigned)m.column + 1};
}

static int
pos_add(struct eph_pos_index *idx, const char *path, struct eph_pos key, const yaml_node_t *node)
{
	struct eph_pos_entry *e;

	if (idx->n == idx->cap) {
		size_t cap = idx->cap ? idx->cap * 2 : 64;
		struct eph_pos_entry *ne = realloc(idx->e, cap * sizeof(*ne));

		if (ne == NULL)
			return -ENOMEM;
		idx->e = ne;
		idx->cap = cap;
	}
	e = &idx->e[idx->n];
	e->path = strdup(path);
	if (e->path == NULL)
		return -ENOMEM;
	e->key = key;
	e->val = mark_pos(node->start_mark);
	e->text = NULL;
	switch (node->type) {
	case YAML_SEQUENCE_NODE:
		e->kind = EPH_NODE_SEQUENCE;
		break;
	case YAML_MAPPING_NODE:
		e->kind = EPH_NODE_MAPPING;
		break;
	default:
		e->kind = EPH_NODE_SCALAR;
		e->text = (const char *)node->data.scalar.value;
		break;
	}
	idx->n++;
	return 0;
}

static int
walk_node(struct walk *w, int id, size_t plen, struct eph_pos key, unsigned depth)
{
	yaml_node_t *node = yaml_document_get_node(&w->idx->doc, id);
	int rc;

	if (node == NULL)
		return 0;
	rc = pos_add(w->idx, w->path, key, node);
	if (rc < 0)
		return rc;
	/* An aliased node is indexed where it is used, but walked only once. */
	if (depth >= POS_MAX_DEPTH || w->seen[id])
		return 0;
	w->seen[id] = 1;

	if (node->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t *it;
		unsigned i = 0;

		for (it = node->data.sequence.items.start; it < node->data.sequence.items.top;
		     it++, i++) {
			yaml_node_t *child = yaml_document_get_node(&w->idx->doc, *it);
			int n = snprintf(w->path + plen, sizeof(w->path) - plen, "[%u]", i);

			if (child == NULL || n < 0 || (size_t)n >= sizeof(w->path) - plen)
				continue;
			rc = walk_node(w, *it, plen + n, mark_pos(child->start_mark), depth + 1);
			if (rc < 0)
				return rc;
		}
	} else if (node->type == YAML_MAPPING_NODE) {
		yaml_node_pair_t *p;

		for (p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(&w->idx->doc, p->key);
			int n;

			/* Only scalar keys have a name; libcyaml rejects the rest. */
			if (k == NULL)
				continue;
			if (k->type != YAML_SCALAR_NODE) {
				if (w->idx->complex_key.line == 0)
					w->idx->complex_key = mark_pos(k->start_mark);
				continue;
			}
			n = snprintf(w->path + plen, sizeof(w->path) - plen, "%s%s",
				     plen ? "." : "", (const char *)k->data.scalar.value);
			if (n < 0 || (size_t)n >= sizeof(w->path) - plen)
				continue;
			rc = walk_node(w, p->value, plen + n, mark_pos(k->start_mark), depth + 1);
			if (rc < 0)
				return rc;
		}
	}
	w->path[plen] = '\0';
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct eph_pos_entry *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c != 0)
		return c;
	if (x->key.line != y->key.line)
		return x->key.line < y->key.line ? -1 : 1;
	if (x->key.col != y->key.col)
		return x->key.col < y->key.col ? -1 : 1;
	return 0;
}

/* Line and column of a byte offset, for reader errors that carry no mark. */
static struct eph_pos
offset_pos(const unsigned char *buf, size_t len, size_t off)
{
	struct eph_pos p = {1, 1};
	size_t i;

	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			p.line++;
			p.col = 1;
		} else {
			p.col++;
		}
	}
	return p;
}

static void
syntax_error(const yaml_parser_t *parser, const unsigned char *buf, size_t len,
	     struct eph_pos_error *perr)
{
	const char *problem = parser->problem ? parser->problem : "unknown error";

	if (parser->error == YAML_READER_ERROR) {
		perr->pos = offset_pos(buf, len, parser->problem_offset);
		if (parser->problem_value != -1)
			snprintf(perr->msg, sizeof(perr->msg), "%s (byte 0x%02x)", problem,
				 (unsigned)parser->problem_value & 0xff);
		else
			snprintf(perr->msg, sizeof(perr->msg), "%s", problem);
		return;
	}
	perr->pos = mark_pos(parser->problem_mark);
	if (parser->context != NULL)
		snprintf(perr->msg, sizeof(perr->msg), "%s %s started at line %zu, column %zu",
			 problem, parser->context, parser->context_mark.line + 1,
			 parser->context_mark.column + 1);
	else
		snprintf(perr->msg, sizeof(perr->msg), "%s", problem);
}

int
eph_pos_index_build(struct eph_pos_index *idx, const unsigned char *buf, size_t len,
		    struct eph_pos_error *perr)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	yaml_node_t *root;
	struct walk *w;
	size_t n_nodes;
	int rc = 0;

	memset(idx, 0, sizeof(*idx));
	idx->root = (struct eph_pos){1, 1};
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, buf, len);
	if (!yaml_parser_load(&parser, &idx->doc)) {
		rc = parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
		syntax_error(&parser, buf, len, perr);
		goto out;
	}
	idx->have_doc = true;

	/* libcyaml reads only the first document; say so if there are more. */
	if (yaml_parser_load(&parser, &extra)) {
		root = yaml_document_get_root_node(&extra);
		if (root != NULL) {
			idx->extra_docs = true;
			idx->extra_pos = mark_pos(root->start_mark);
		}
		yaml_document_delete(&extra);
	} else {
		rc = parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
		syntax_error(&parser, buf, len, perr);
		goto out;
	}

	root = yaml_document_get_root_node(&idx->doc);
	if (root == NULL)
		goto out;
	idx->root = mark_pos(root->start_mark);

	n_nodes = idx->doc.nodes.top - idx->doc.nodes.start;
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	w->seen = calloc(n_nodes + 1, 1);
	if (w->seen == NULL) {
		free(w);
		rc = -ENOMEM;
		goto out;
	}
	w->idx = idx;
	rc = walk_node(w, 1, 0, idx->root, 0);
	free(w->seen);
	free(w);
	if (rc == 0 && idx->n > 1)
		qsort(idx->e, idx->n, sizeof(idx->e[0]), entry_cmp);
out:
	yaml_parser_delete(&parser);
	return rc;
}

void
eph_pos_index_free(struct eph_pos_index *idx)
{
	size_t i;

	for (i = 0; i < idx->n; i++)
		free(idx->e[i].path);
	free(idx->e);
	if (idx->have_doc)
		yaml_document_delete(&idx->doc);
	memset(idx, 0, sizeof(*idx));
}

/* Index of the first entry whose path is not below path. */
static size_t
lower_bound(const struct eph_pos_index *idx, const char *path)
{
	size_t lo = 0, hi = idx->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(idx->e[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct eph_pos_entry *
eph_pos_find(const struct eph_pos_index *idx, const char *path)
{
	size_t i = lower_bound(idx, path);

	if (i < idx->n && strcmp(idx->e[i].path, path) == 0)
		return &idx->e[i];
	return NULL;
}

const struct eph_pos_entry *
eph_pos_find_last(const struct eph_pos_index *idx, const char *path)
{
	size_t i = lower_bound(idx, path);
	const struct eph_pos_entry *last = NULL;

	while (i < idx->n && strcmp(idx->e[i].path, path) == 0)
		last = &idx->e[i++];
	return last;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Position index for configuration diagnostics: the YAML file loaded a
 * second time with libyaml's document API, every node recorded under its key
 * path ("ports[1].address") with the line and column of its key and value.
 * libcyaml maps values but forgets where they came from; this remembers.
 * Private to control/config/.
 */
#ifndef EPH_CONFIG_POS_H
#define EPH_CONFIG_POS_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

/* 1-based, as editors show them; line 0 means unknown. */
struct eph_pos {
	unsigned line;
	unsigned col;
};

enum eph_node_kind {
	EPH_NODE_SCALAR,
	EPH_NODE_SEQUENCE,
	EPH_NODE_MAPPING,
};

struct eph_pos_entry {
	char *path;         /* "" for the document root */
	struct eph_pos key; /* the key; the value itself for sequence entries */
	struct eph_pos val; /* where the value starts (its quote, if quoted) */
	enum eph_node_kind kind;
	const char *text; /* scalar text (owned by the document), else NULL */
};

struct eph_pos_index {
	yaml_document_t doc;
	bool have_doc;
	struct eph_pos_entry *e; /* sorted by path, then position */
	size_t n;
	size_t cap;
	struct eph_pos root; /* position of the root node, or 1:1 */
	bool extra_docs;     /* the stream holds more than one document */
	struct eph_pos extra_pos;
	struct eph_pos complex_key; /* first non-scalar key, line 0 if none */
};

/* A YAML syntax error, with libyaml's own words. */
struct eph_pos_error {
	struct eph_pos pos;
	char msg[256];
};

/*
 * Parse buf and index every node. Returns 0, -EINVAL on a YAML syntax error
 * (perr filled in) or -ENOMEM. The index must be freed either way.
 */
int eph_pos_index_build(struct eph_pos_index *idx, const unsigned char *buf, size_t len,
			struct eph_pos_error *perr);

void eph_pos_index_free(struct eph_pos_index *idx);

/* First (last) node at path in document order, or NULL. */
const struct eph_pos_entry *eph_pos_find(const struct eph_pos_index *idx, const char *path);
const struct eph_pos_entry *eph_pos_find_last(const struct eph_pos_index *idx, const char *path);

#endif /* EPH_CONFIG_POS_H */

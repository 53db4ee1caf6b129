/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NAT sections (pools, timeouts, nat, nat-log): their raw YAML mapping,
 * what load.c calls, and the rules of pools that the loader and
 * eph_conf_check share (pool_rules.c). Private to control/config/.
 */
#ifndef EPH_CONFIG_POOLS_H
#define EPH_CONFIG_POOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cyaml/cyaml.h>

#include "control/config/common.h"
#include "control/config/ports.h"

struct raw_pool {
	char *name;
	char **addresses;
	unsigned addresses_count;
	char *ports;
	char **exclude_ports;
	unsigned exclude_ports_count;
	char **inside;
	unsigned inside_count;
	enum eph_nat_mapping *mapping;
	enum eph_nat_filtering *filtering;
	enum eph_nat_pooling *pooling;
	bool *port_preservation;
	bool *port_parity;
	bool *exhaustion_icmp;
	bool *hairpinning;
	unsigned *alg;
	int64_t *ftp_port;
	int64_t *max_sessions_per_host;
	int64_t *max_inbound_per_mapping;
	int64_t *quarantine_s;
	char **reserve;
	unsigned reserve_count;
	int64_t *warn_occupancy;
	enum eph_nat_log_mode *log;
	int64_t *port_block_size;
	int64_t *max_blocks_per_host;
};

struct raw_timeouts {
	int64_t *udp;
	int64_t *tcp_established;
	int64_t *tcp_transitory;
	int64_t *icmp;
};

struct raw_nat {
	int64_t *sessions_per_worker;
	int64_t *destinations_per_worker;
	int64_t *handoff_ring;
	int64_t *frag_datagrams;
	int64_t *frag_held;
	int64_t *frag_held_bytes;
	int64_t *frag_timeout_ms;
};

struct raw_nat_log {
	char *file;
	bool *syslog;
	int64_t *ring;
};

extern const cyaml_schema_value_t eph_conf_pool_schema;
extern const cyaml_schema_field_t eph_conf_timeouts_fields[];
extern const cyaml_schema_field_t eph_conf_nat_fields[];
extern const cyaml_schema_field_t eph_conf_nat_log_fields[];

/* The documented defaults of every pool slot, timeouts, nat and nat-log. */
void eph_conf_pools_defaults(struct eph_conf *conf);

/* Returns false when nat-log.file was given but refused (and reported). */
bool eph_conf_validate_nat_log(struct vctx *v, const struct raw_nat_log *r,
			       struct eph_conf_nat_log *nl);
/* nat_log_reported: a bad nat-log.file was reported already, not again per pool. */
void eph_conf_validate_pools(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf,
			     const struct port_state *st, bool nat_log_reported);
/* timeouts and nat */
void eph_conf_validate_nat(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf);

/* ------------------------------------------------------------------------ */
/* Rules shared by the loader and eph_conf_check */

/* The two address lists of a pool. */
enum addr_list {
	LIST_ADDRESSES,
	LIST_RESERVE,
	N_LISTS,
};

extern const char *const eph_conf_list_key[N_LISTS];

/*
 * One address of a pool, with the entry it came from (the loader) or its
 * index in the pool's array (eph_conf_check).
 */
struct pool_item {
	uint32_t addr;
	uint16_t pool;
	uint16_t list; /* enum addr_list */
	uint16_t entry;
};

/* Equal addresses end up next to each other, a pool's regular ones first. */
int eph_conf_pool_item_cmp(const void *a, const void *b);

/* One inside prefix of a pool, for the overlap sweep. */
struct inside_item {
	uint32_t addr;
	uint8_t len;
	uint16_t pool;
	uint16_t entry; /* raw index in pools[pool].inside */
	bool *reported; /* one diagnostic per prefix */
};

int eph_conf_inside_item_cmp(const void *a, const void *b);

#define MSG_EXCLUDED_OUTSIDE "excluded port %u is outside the pool's ports %u-%u"
#define MSG_EXCLUDED_ALL     "every port of %u-%u is excluded, leaving none to allocate"

/*
 * A pool address that port p uses itself, or that only inside hosts can
 * reach (balancer: the balancer's local addresses, which backends on any
 * port's subnet answer, may be there).
 */
bool eph_conf_pool_addr_port_clash(const struct eph_conf_port *p, uint32_t addr, bool balancer,
				   char *msg, size_t size);
/* A pool's port range: no port 0, lo <= hi, one side of 1024 (RFC 4787 REQ-3a). */
bool eph_conf_pool_range_problem(unsigned lo, unsigned hi, char *msg, size_t size);
/* A host is given whole blocks, so one block must fit in the range. */
bool eph_conf_block_size_problem(const struct eph_conf_pool *p, bool by_default, char *msg,
				 size_t size);
/* Logged events need somewhere to go. */
bool eph_conf_log_dest_problem(const struct eph_conf *conf, const struct eph_conf_pool *p,
			       char *msg, size_t size);

/* clash(ctx, it, first) for every item whose address an earlier item has. Items sorted. */
void eph_conf_addr_clashes(const struct pool_item *items, size_t n,
			   void (*clash)(void *ctx, const struct pool_item *it,
					 const struct pool_item *first),
			   void *ctx);
/*
 * Inside prefixes of different pools that overlap (a host would have two
 * pools): overlap(ctx, blame, other) at most once per prefix, blaming the
 * later one. all is sorted by inside_item_cmp. 0 or -ENOMEM.
 */
int eph_conf_inside_overlaps(const struct inside_item *all, size_t n,
			     void (*overlap)(void *ctx, const struct inside_item *blame,
					     const struct inside_item *other),
			     void *ctx);
/*
 * Pool addresses inside an inside prefix (they would be translated hosts):
 * contains(ctx, in, it) for the addresses of each prefix not yet reported
 * until it returns true. items sorted by pool_item_cmp.
 */
void eph_conf_inside_contains(const struct inside_item *all, size_t n,
			      const struct pool_item *items, size_t n_items,
			      bool (*contains)(void *ctx, const struct inside_item *in,
					       const struct pool_item *it),
			      void *ctx);

#endif /* EPH_CONFIG_POOLS_H */

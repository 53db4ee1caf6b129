/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ephemera configuration: the YAML file mapped by a libcyaml schema, then
 * validated into this struct. Every other layer reads only this struct.
 * Addresses are kept in host byte order; the data plane converts once.
 */
#ifndef EPH_CONFIG_H
#define EPH_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "control/limits.h"

#define EPH_MAX_PORTS     16
#define EPH_MAX_ROUTES    65536
#define EPH_NAME_LEN      (EPH_LIMIT_NAME_MAX + 1)
#define EPH_DEVICE_LEN    256
#define EPH_IFNAME_LEN    16 /* a Linux interface name and its NUL (IFNAMSIZ) */
#define EPH_PATH_LEN      108 /* sun_path */
#define EPH_MAX_EAL_ARGS  32
#define EPH_MAX_POOLS     EPH_LIMIT_POOLS_MAX
#define EPH_MAX_POOL_ADDRS EPH_LIMIT_POOL_ADDRS_MAX
#define EPH_MAX_POOL_INSIDE 256
#define EPH_MAX_VIPS      EPH_LIMIT_VIPS_MAX
#define EPH_MAX_VIP_BACKENDS EPH_LIMIT_VIP_BACKENDS_MAX

enum eph_port_role {
	EPH_ROLE_INSIDE,
	EPH_ROLE_OUTSIDE,
};

struct eph_conf_eal {
	char lcores[128];      /* EAL --lcores; first lcore is the main (control) lcore */
	int main_lcore;        /* -1: the first lcore of lcores */
	bool hugepages;        /* false: --no-huge, memory from anonymous pages */
	unsigned memory_mb;    /* -m; 0 lets EAL size it (hugepages only) */
	char file_prefix[64];  /* --file-prefix: runtime dir and telemetry socket name */
	char log_level[16];    /* --log-level for the EAL */
	unsigned n_args;
	char *args[EPH_MAX_EAL_ARGS]; /* passed verbatim after the generated ones */
};

struct eph_conf_port {
	char name[EPH_NAME_LEN];
	char device[EPH_DEVICE_LEN]; /* PCI address or "net_xxx,args" vdev string */
	bool is_pci;
	enum eph_port_role role;
	uint32_t addr;          /* host order */
	uint8_t prefix_len;
	uint16_t mtu;
	uint16_t rx_desc;
	uint16_t tx_desc;
	bool promiscuous;
	uint16_t mss_clamp;     /* EPH_MSS_CLAMP_OFF, EPH_MSS_CLAMP_AUTO or the limit */
	char kernel_if[EPH_IFNAME_LEN]; /* kernel interface of the port's own traffic; "": none */
};

/* ports[].mss-clamp: off, auto (min(ingress MTU, egress MTU) - 40) or a fixed limit. */
#define EPH_MSS_CLAMP_OFF  0
#define EPH_MSS_CLAMP_AUTO UINT16_MAX
#define EPH_MSS_CLAMP_MIN  88
#define EPH_MSS_CLAMP_MAX  65495

struct eph_conf_route {
	uint32_t prefix;        /* host order, host bits cleared */
	uint8_t prefix_len;
	uint32_t via;           /* host order next hop, on a connected subnet */
	uint16_t port;          /* index into eph_conf.ports */
};

struct eph_conf_arp {
	unsigned reachable_s;   /* an entry is trusted this long, then re-probed */
	unsigned retry_ms;      /* interval between requests while resolving */
	unsigned retries;       /* requests before giving up (and dropping held packets) */
	unsigned hold_packets;  /* packets held per unresolved neighbour */
	unsigned max_entries;   /* size of the neighbour table */
};

struct eph_conf_dataplane {
	unsigned burst;         /* rx burst size, 1..256 */
	unsigned tx_drain_us;   /* buffered tx is flushed at least this often */
	unsigned mbufs;         /* mbufs in the packet pool */
	unsigned icmp_rate;     /* ICMP errors generated per second per worker; 0 = none */
	unsigned kernel_rate;   /* packets per second per worker to kernel interfaces; 0 = no limit */
};

struct eph_conf_control {
	char socket[EPH_PATH_LEN]; /* control socket path */
	char group[EPH_NAME_LEN];  /* "" : socket 0600 root only; else 0660 and this group */
	bool telemetry;            /* register /ephemera/ telemetry endpoints */
	bool metrics_http;         /* serve Prometheus text on metrics_addr:metrics_port */
	uint32_t metrics_addr;     /* host order; default 127.0.0.1 */
	uint16_t metrics_port;     /* default 9469 */
};

/* NAT logs (RFC 7422 / accountability): where the per-pool events go. */
struct eph_conf_nat_log {
	char file[4096];           /* "" : no file; JSON lines appended, reopened on SIGHUP */
	bool syslog;               /* also (or only) to syslog(3), facility LOG_DAEMON */
	unsigned ring;             /* events queued per worker before counting them lost */
};

enum eph_nat_log_mode {
	EPH_NAT_LOG_OFF,
	EPH_NAT_LOG_SESSIONS,      /* one event per session created and deleted */
	EPH_NAT_LOG_PORT_BLOCKS,   /* hosts get blocks of ports; only blocks are logged */
};

/* RFC 4787 REQ-1: one outside ip:port per inside ip:port, or one per destination. */
enum eph_nat_mapping {
	EPH_MAPPING_ENDPOINT_DEPENDENT,   /* default: ports reused across destinations */
	EPH_MAPPING_ENDPOINT_INDEPENDENT,
};

/* Which outside packets may use a mapping (only meaningful with EIM). */
enum eph_nat_filtering {
	EPH_FILTERING_ENDPOINT_DEPENDENT, /* default: only the destination the host talked to */
	EPH_FILTERING_ENDPOINT_INDEPENDENT,
};

/* RFC 4787 REQ-2: an inside host keeps one outside address (paired) or not. */
enum eph_nat_pooling {
	EPH_POOLING_PAIRED,
	EPH_POOLING_ARBITRARY,
};

/* Application-level gateways of a pool (pools[].alg): bits. */
enum eph_nat_alg {
	EPH_ALG_FTP = 1 << 0, /* FTP PORT/EPRT rewritten, active data connections admitted */
};

struct eph_conf_prefix {
	uint32_t addr;          /* host order, host bits cleared */
	uint8_t len;
};

struct eph_conf_pool {
	char name[EPH_NAME_LEN];
	unsigned n_addrs;
	uint32_t *addrs;        /* malloc'd; host order, sorted, unique */
	uint16_t port_lo;       /* inclusive; never 0; never mixes 0-1023 with 1024-65535 */
	uint16_t port_hi;
	unsigned n_excluded;
	uint16_t *excluded;     /* malloc'd; sorted, unique, inside [port_lo, port_hi] */
	unsigned n_inside;
	struct eph_conf_prefix *inside; /* malloc'd; inside prefixes whose hosts use this pool */
	enum eph_nat_mapping mapping;
	enum eph_nat_filtering filtering;
	enum eph_nat_pooling pooling;
	bool port_preservation; /* try the inside source port first */
	bool port_parity;       /* keep the parity of the inside source port */
	bool exhaustion_icmp;   /* answer a packet that gets no port with ICMP unreachable */
	bool hairpinning;       /* inside hosts reach each other's mappings (default true) */
	unsigned alg;           /* EPH_ALG_* bits: application-level gateways (alg: [ftp]) */
	uint16_t ftp_port;      /* the FTP control connection's server port (default 21) */
	unsigned max_sessions_per_host; /* 0: no limit (RFC 6888 REQ-4) */
	unsigned max_inbound_per_mapping; /* endpoint-independent filtering: sessions opened
					   * from outside per mapping */
	unsigned quarantine_s;  /* a freed port rests this long per destination (RFC 6888 REQ-8) */
	unsigned n_reserve;
	uint32_t *reserve;      /* malloc'd; host order, sorted, unique: spill addresses used
				 * only when a destination is exhausted on the regular ones */
	unsigned warn_occupancy; /* percent, 1..100: warn when a destination's share fills */
	enum eph_nat_log_mode log;
	unsigned port_block_size;      /* ports per block with log: port-blocks */
	unsigned max_blocks_per_host;  /* blocks one inside host may hold */
	/*
	 * A VIP's source of local addresses (full-NAT): the balancer alone uses
	 * it (no inside prefixes), its replies come from the backends' side.
	 */
	bool balancer;
	char vip[EPH_NAME_LEN]; /* "": a pools: entry; else made of that VIP's local-addresses */
};

/* Idle timeouts in seconds (RFC 4787 REQ-5, RFC 5382, RFC 5508, RFC 7857). */
struct eph_conf_timeouts {
	unsigned udp;
	unsigned tcp_established;
	unsigned tcp_transitory;
	unsigned icmp;
};

struct eph_conf_nat {
	unsigned sessions_per_worker;     /* session table size of each worker */
	unsigned destinations_per_worker; /* port-allocator destination table size */
	unsigned handoff_ring;            /* packets queued between two workers */
	/* IPv4 fragments (dataplane/nat/nat_frag.h), per worker */
	unsigned frag_datagrams;          /* datagrams tracked at once */
	unsigned frag_held;               /* fragments held before their first arrives */
	unsigned frag_held_bytes;         /* ... and their bytes */
	unsigned frag_timeout_ms;         /* a datagram's life from its first fragment seen */
};

/* How a VIP's connections reach their backend. */
enum eph_lb_forwarding {
	EPH_LB_FULLNAT, /* default: client -> local-address:port, VIP -> backend */
	EPH_LB_DNAT,    /* only the destination rewritten: backends route replies back */
};

/* What a VIP's new connection is hashed on to pick its backend. */
enum eph_lb_hash {
	EPH_LB_HASH_5TUPLE,    /* default */
	EPH_LB_HASH_SOURCE_IP, /* affinity: one client, one backend */
};

/* How a connection over max-connections (or with no backend) is refused. */
enum eph_lb_refusal {
	EPH_LB_REFUSE_RESET,       /* default: TCP RST; UDP: ICMP port unreachable */
	EPH_LB_REFUSE_UNREACHABLE, /* ICMP port unreachable for TCP too */
	EPH_LB_REFUSE_DROP,        /* silently */
};

/* Whether a VIP's connections start with a PROXY protocol header towards the backend. */
enum eph_lb_proxy {
	EPH_LB_PROXY_OFF, /* default */
	EPH_LB_PROXY_V2,  /* the binary header of version 2 (TCP full-NAT VIPs only) */
};

/* Whether the balancer answers a VIP's SYNs itself with SYN cookies (dataplane/lb/synproxy.h). */
enum eph_lb_syn_proxy {
	EPH_LB_SYN_PROXY_OFF, /* default */
	EPH_LB_SYN_PROXY_ON,  /* TCP full-NAT VIPs only */
};

/* What happens to a removed backend's connections. */
enum eph_lb_on_remove {
	EPH_LB_REMOVE_DRAIN, /* default: they continue until they end */
	EPH_LB_REMOVE_RESET, /* RST to both sides */
};

/* What a backend's active health check does (vips[].health-check.type). */
enum eph_health_type {
	EPH_HEALTH_NONE, /* no active check: up unless passive detection ejects it */
	EPH_HEALTH_TCP,  /* a TCP connection opens within the timeout */
	EPH_HEALTH_HTTP, /* GET path over HTTP/1.1 answers a status of expect */
	EPH_HEALTH_UDP,  /* a datagram of send gets any datagram back */
};

#define EPH_HEALTH_PATH_LEN   256
#define EPH_HEALTH_HOST_LEN   256
#define EPH_HEALTH_SEND_LEN   256
#define EPH_HEALTH_EXPECT_LEN 64
#define EPH_HEALTH_STATUS_MAX 599

/* An active health check (vips[].health-check, or a backend's own). */
struct eph_conf_health {
	enum eph_health_type type;
	uint16_t port;            /* 0: the backend's port */
	unsigned interval_ms;
	unsigned timeout_ms;      /* <= interval_ms: one check at a time per backend */
	unsigned rise;            /* consecutive passes that bring a down backend up */
	unsigned fall;            /* consecutive failures that take an up backend down */
	char path[EPH_HEALTH_PATH_LEN];     /* http */
	char host[EPH_HEALTH_HOST_LEN];     /* http Host header; "": the backend's address */
	char expect[EPH_HEALTH_EXPECT_LEN]; /* http statuses as written, "200-299" */
	uint8_t expect_set[(EPH_HEALTH_STATUS_MAX + 8) / 8]; /* the same, one bit a status */
	char send[EPH_HEALTH_SEND_LEN];     /* udp payload */
};

/* Passive detection (vips[].outlier-detection): connection failures the workers see. */
struct eph_conf_outlier {
	unsigned failures;        /* this many within window_ms eject a backend; 0: off */
	unsigned window_ms;
	unsigned ejection_ms;     /* without an active check, back after this long */
};

/* A VIP whose backends are all down (vips[].all-down). */
enum eph_lb_all_down {
	EPH_LB_ALL_DOWN_KEEP,   /* default: the last backends up keep their share of the table */
	EPH_LB_ALL_DOWN_REFUSE, /* new connections refused as with no backend */
};

struct eph_conf_backend {
	uint32_t addr;          /* host order */
	uint16_t port;          /* 0 in the file: the VIP's port (filled in by the loader) */
	uint32_t weight;        /* 0..65535; 0: drain */
	unsigned max_connections; /* 0: no limit */
	bool own_health;        /* health: its own check, not the VIP's */
	struct eph_conf_health health;
};

struct eph_conf_vip {
	char name[EPH_NAME_LEN];
	uint32_t addr;          /* host order */
	uint16_t port;          /* 0: every port, the client's destination port kept */
	uint8_t proto;          /* IPPROTO_TCP or IPPROTO_UDP */
	unsigned n_backends;
	struct eph_conf_backend *backends; /* malloc'd; sorted by address then port, unique */
	enum eph_lb_forwarding forwarding;
	/*
	 * fullnat: where local ports come from, the index of a pool in
	 * eph_conf.pools. A pool named by source-pool, or the pool the loader
	 * makes of a local-addresses list (named as the VIP, balancer = true,
	 * the VIP's name in pool->vip); -1 for dnat.
	 */
	int pool;
	enum eph_lb_hash hash;
	uint32_t maglev_size;   /* a prime >= 100 * n_backends */
	unsigned max_connections; /* 0: no limit */
	enum eph_lb_refusal refusal;
	enum eph_lb_on_remove on_remove;
	struct eph_conf_health health;    /* every backend's, unless it has its own */
	struct eph_conf_outlier outlier;
	enum eph_lb_all_down all_down;
	enum eph_lb_proxy proxy;
	/* SYN flood guards (README: VIP keys) */
	unsigned half_open_per_worker;  /* 0: automatic, nat.sessions-per-worker / 16 */
	unsigned new_connections_per_s; /* 0: no limit */
	enum eph_lb_syn_proxy syn_proxy;
};

struct eph_conf {
	char path[4096];
	struct eph_conf_eal eal;
	unsigned n_ports;
	struct eph_conf_port ports[EPH_MAX_PORTS];
	unsigned n_routes;
	struct eph_conf_route *routes; /* malloc'd, n_routes entries */
	struct eph_conf_arp arp;
	struct eph_conf_dataplane dataplane;
	struct eph_conf_control control;
	unsigned n_pools;
	struct eph_conf_pool pools[EPH_MAX_POOLS];
	struct eph_conf_timeouts timeouts;
	struct eph_conf_nat nat;
	struct eph_conf_nat_log nat_log;
	unsigned n_vips;
	struct eph_conf_vip vips[EPH_MAX_VIPS];
};

/*
 * Load and validate a configuration file. Every problem found is written to
 * err, one per line, as "FILE:LINE:COLUMN: error: KEY.PATH: what was expected";
 * warnings likewise with "warning:". Returns 0 when the file is valid, or a
 * negative errno (-EINVAL for a bad file, -ENOENT/-EACCES when it cannot be
 * read). On failure conf holds nothing that needs freeing.
 */
int eph_conf_load(const char *path, struct eph_conf *conf, FILE *err);

/* Release what eph_conf_load allocated. Safe on a zeroed struct. */
void eph_conf_free(struct eph_conf *conf);

/* Fill conf with every documented default (no ports, no routes). */
void eph_conf_defaults(struct eph_conf *conf);

/*
 * The defaults of one pool (no name, no addresses, no inside prefixes);
 * pool must hold nothing allocated.
 */
void eph_conf_pool_defaults(struct eph_conf_pool *pool);

const char *eph_port_role_name(enum eph_port_role role);

/* The YAML words for the NAT behaviours, as telemetry reports them. */
const char *eph_nat_mapping_name(enum eph_nat_mapping m);
const char *eph_nat_filtering_name(enum eph_nat_filtering f);
const char *eph_nat_pooling_name(enum eph_nat_pooling p);

const char *eph_nat_log_mode_name(enum eph_nat_log_mode m);

/* A VIP's backends in their one order: by address, then port (every gateway builds one table). */
void eph_conf_backends_sort(struct eph_conf_vip *v);

/* The YAML words of the balancer's choices. */
const char *eph_lb_forwarding_name(enum eph_lb_forwarding f);
const char *eph_lb_hash_name(enum eph_lb_hash h);
const char *eph_lb_refusal_name(enum eph_lb_refusal r);
const char *eph_lb_on_remove_name(enum eph_lb_on_remove r);
const char *eph_lb_all_down_name(enum eph_lb_all_down a);
const char *eph_health_type_name(enum eph_health_type t);

/* The defaults of a health check (type none) and of passive detection (off). */
void eph_conf_health_defaults(struct eph_conf_health *h);
void eph_conf_outlier_defaults(struct eph_conf_outlier *o);

/* Whether two health checks are the same. */
bool eph_conf_health_equal(const struct eph_conf_health *a, const struct eph_conf_health *b);

/* The port the gateway reaches a (host order) through: its subnet's, or a route's; -1: none. */
int eph_conf_egress_port(const struct eph_conf *conf, uint32_t a);
const char *eph_lb_proxy_name(enum eph_lb_proxy p);
const char *eph_lb_syn_proxy_name(enum eph_lb_syn_proxy p);

/*
 * Deep copy of src into dst (dst need not be initialised); free with
 * eph_conf_free. 0 or -ENOMEM (dst then holds nothing to free).
 */
int eph_conf_dup(struct eph_conf *dst, const struct eph_conf *src);

/*
 * Re-check the cross-field rules of a configuration built or changed in
 * memory (pool addresses unique across pools, reserve and regular
 * addresses disjoint, not a port's own address, ranges sane, inside
 * prefixes not shared between pools...), writing one line per problem to
 * err as "error: KEY.PATH: what was expected". 0 or -EINVAL.
 */
int eph_conf_check(const struct eph_conf *conf, FILE *err);

/*
 * Compare two valid configurations: emit(arg, needs_restart, change) once
 * per difference with one human line ("pool default: address 203.0.113.104
 * added", "timeouts.udp: 300 -> 60"). needs_restart is true for what a
 * running daemon cannot apply (eal, ports, arp, dataplane, control, nat
 * table sizes, nat-log.ring, a pool's mapping). emit may be NULL to count.
 * Returns the number of differences, or -ENOMEM.
 */
int eph_conf_diff(const struct eph_conf *old, const struct eph_conf *new,
		  void (*emit)(void *arg, bool needs_restart, const char *change), void *arg);

/* Index of the port named name, or -1. */
int eph_conf_port_by_name(const struct eph_conf *conf, const char *name);

#endif /* EPH_CONFIG_H */

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

#define EPH_MAX_PORTS     16
#define EPH_MAX_ROUTES    65536
#define EPH_NAME_LEN      32
#define EPH_DEVICE_LEN    256
#define EPH_PATH_LEN      108 /* sun_path */
#define EPH_MAX_EAL_ARGS  32

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
};

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
};

struct eph_conf_control {
	char socket[EPH_PATH_LEN]; /* control socket path */
	bool telemetry;            /* register /ephemera/ telemetry endpoints */
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

const char *eph_port_role_name(enum eph_port_role role);

/* Index of the port named name, or -1. */
int eph_conf_port_by_name(const struct eph_conf *conf, const char *name);

#endif /* EPH_CONFIG_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for control/config.c: the shipped example, a file with every
 * key, defaults, warnings, and one fixture per kind of mistake under
 * tests/unit/conf/, each checked for the exact FILE:LINE:COLUMN, key path
 * and wording of every diagnostic it must produce (and no others).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, open_memstream */
#endif
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/config.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* What eph_conf_load wrote on its err stream. */
struct output {
	char *buf;
	size_t len;
};

static const char *
data_dir(void)
{
	const char *d = getenv("EPH_TEST_DATA");

	return d != NULL && d[0] != '\0' ? d : ".";
}

static void
data_path(char *buf, size_t size, const char *rel)
{
	int n = snprintf(buf, size, "%s/%s", data_dir(), rel);

	assert_true(n > 0 && (size_t)n < size);
}

static int
load(const char *path, struct eph_conf *conf, struct output *out)
{
	FILE *err;
	int rc;

	out->buf = NULL;
	out->len = 0;
	err = open_memstream(&out->buf, &out->len);
	assert_non_null(err);
	rc = eph_conf_load(path, conf, err);
	assert_int_equal(fclose(err), 0);
	return rc;
}

/* Number of lines in s holding " kind: " (error or warning). */
static unsigned
count_lines(const char *s, const char *kind)
{
	char tag[32];
	unsigned n = 0;
	const char *line;

	snprintf(tag, sizeof(tag), ": %s: ", kind);
	for (line = s; line != NULL && *line != '\0';) {
		const char *nl = strchr(line, '\n');
		const char *hit = strstr(line, tag);

		if (hit != NULL && (nl == NULL || hit < nl))
			n++;
		line = nl != NULL ? nl + 1 : NULL;
	}
	return n;
}

/* ------------------------------------------------------------------------ */

static void
test_shipped_example(void **state)
{
	struct eph_conf conf;
	struct output out;
	char path[PATH_MAX];

	(void)state;
	data_path(path, sizeof(path), "../../conf/ephemera.yaml");
	assert_int_equal(load(path, &conf, &out), 0);
	assert_string_equal(out.buf, "");
	free(out.buf);

	assert_string_equal(conf.path, path);
	assert_string_equal(conf.eal.lcores, "0-1");
	assert_int_equal(conf.eal.main_lcore, -1);
	assert_true(conf.eal.hugepages);
	assert_int_equal(conf.eal.memory_mb, 256);
	assert_string_equal(conf.eal.file_prefix, "ephemera");
	assert_string_equal(conf.eal.log_level, "notice");
	assert_int_equal(conf.eal.n_args, 0);

	assert_int_equal(conf.n_ports, 2);
	assert_string_equal(conf.ports[0].name, "inside");
	assert_string_equal(conf.ports[0].device, "net_af_packet0,iface=eph-in");
	assert_false(conf.ports[0].is_pci);
	assert_int_equal(conf.ports[0].role, EPH_ROLE_INSIDE);
	assert_int_equal(conf.ports[0].addr, IP(192, 0, 2, 1));
	assert_int_equal(conf.ports[0].prefix_len, 24);
	assert_int_equal(conf.ports[0].mtu, 1500);
	assert_int_equal(conf.ports[0].rx_desc, 1024);
	assert_int_equal(conf.ports[0].tx_desc, 1024);
	assert_false(conf.ports[0].promiscuous);
	assert_string_equal(conf.ports[1].name, "outside");
	assert_string_equal(conf.ports[1].device, "net_af_packet1,iface=eph-out");
	assert_int_equal(conf.ports[1].role, EPH_ROLE_OUTSIDE);
	assert_int_equal(conf.ports[1].addr, IP(203, 0, 113, 1));
	assert_int_equal(conf.ports[1].prefix_len, 24);

	assert_int_equal(conf.n_routes, 1);
	assert_non_null(conf.routes);
	assert_int_equal(conf.routes[0].prefix, IP(198, 51, 100, 0));
	assert_int_equal(conf.routes[0].prefix_len, 24);
	assert_int_equal(conf.routes[0].via, IP(203, 0, 113, 10));
	assert_int_equal(conf.routes[0].port, 1);

	assert_int_equal(conf.arp.reachable_s, 300);
	assert_int_equal(conf.arp.retry_ms, 1000);
	assert_int_equal(conf.arp.retries, 3);
	assert_int_equal(conf.arp.hold_packets, 8);
	assert_int_equal(conf.arp.max_entries, 4096);
	assert_int_equal(conf.dataplane.burst, 32);
	assert_int_equal(conf.dataplane.tx_drain_us, 100);
	assert_int_equal(conf.dataplane.mbufs, 16383);
	assert_int_equal(conf.dataplane.icmp_rate, 1000);
	assert_string_equal(conf.control.socket, "/run/ephemera/ephemera.sock");
	assert_true(conf.control.telemetry);

	assert_int_equal(eph_conf_port_by_name(&conf, "outside"), 1);
	assert_int_equal(eph_conf_port_by_name(&conf, "inside"), 0);
	assert_int_equal(eph_conf_port_by_name(&conf, "nope"), -1);
	eph_conf_free(&conf);
	assert_null(conf.routes);
	assert_int_equal(conf.n_routes, 0);
}

static void
test_every_key(void **state)
{
	struct eph_conf conf;
	struct output out;
	char path[PATH_MAX];

	(void)state;
	data_path(path, sizeof(path), "conf/good-full.yaml");
	assert_int_equal(load(path, &conf, &out), 0);
	assert_string_equal(out.buf, "");
	free(out.buf);

	assert_string_equal(conf.eal.lcores, "0@0,1@(1-2)");
	assert_int_equal(conf.eal.main_lcore, 0);
	assert_false(conf.eal.hugepages);
	assert_int_equal(conf.eal.memory_mb, 512);
	assert_string_equal(conf.eal.file_prefix, "eph_test-1");
	assert_string_equal(conf.eal.log_level, "debug");
	assert_int_equal(conf.eal.n_args, 2);
	assert_string_equal(conf.eal.args[0], "--no-shconf");
	assert_string_equal(conf.eal.args[1], "--vdev=net_null9");

	assert_int_equal(conf.n_ports, 3);
	assert_string_equal(conf.ports[0].name, "lan");
	assert_string_equal(conf.ports[0].device, "0000:03:00.1");
	assert_true(conf.ports[0].is_pci);
	assert_int_equal(conf.ports[0].role, EPH_ROLE_INSIDE);
	assert_int_equal(conf.ports[0].addr, IP(10, 1, 0, 1));
	assert_int_equal(conf.ports[0].prefix_len, 16);
	assert_int_equal(conf.ports[0].mtu, 9000);
	assert_int_equal(conf.ports[0].rx_desc, 2048);
	assert_int_equal(conf.ports[0].tx_desc, 512);
	assert_true(conf.ports[0].promiscuous);
	assert_string_equal(conf.ports[1].name, "wan");
	assert_string_equal(conf.ports[1].device, "0000:af:1f.7");
	assert_true(conf.ports[1].is_pci);
	assert_int_equal(conf.ports[1].role, EPH_ROLE_OUTSIDE);
	assert_int_equal(conf.ports[1].addr, IP(198, 18, 0, 2));
	assert_int_equal(conf.ports[1].prefix_len, 31);
	assert_int_equal(conf.ports[1].rx_desc, 4096);
	assert_int_equal(conf.ports[1].tx_desc, 64);
	assert_false(conf.ports[1].promiscuous);
	assert_string_equal(conf.ports[2].name, "mgmt_2");
	assert_string_equal(conf.ports[2].device, "net_tap0,iface=eph-tap0,persist=1");
	assert_false(conf.ports[2].is_pci);
	assert_int_equal(conf.ports[2].prefix_len, 30);
	assert_int_equal(conf.ports[2].mtu, 1500);

	assert_int_equal(conf.n_routes, 4);
	assert_int_equal(conf.routes[0].prefix, 0);
	assert_int_equal(conf.routes[0].prefix_len, 0);
	assert_int_equal(conf.routes[0].via, IP(198, 18, 0, 3));
	assert_int_equal(conf.routes[0].port, 1);
	assert_int_equal(conf.routes[1].prefix, IP(10, 2, 0, 0));
	assert_int_equal(conf.routes[1].port, 0);
	assert_int_equal(conf.routes[2].prefix, IP(172, 16, 0, 0));
	assert_int_equal(conf.routes[2].prefix_len, 12);
	assert_int_equal(conf.routes[2].port, 2);
	assert_int_equal(conf.routes[3].prefix, IP(192, 0, 2, 7));
	assert_int_equal(conf.routes[3].prefix_len, 32);
	assert_int_equal(conf.routes[3].via, IP(10, 1, 255, 1));
	assert_int_equal(conf.routes[3].port, 0);

	assert_int_equal(conf.arp.reachable_s, 60);
	assert_int_equal(conf.arp.retry_ms, 250);
	assert_int_equal(conf.arp.retries, 5);
	assert_int_equal(conf.arp.hold_packets, 0);
	assert_int_equal(conf.arp.max_entries, 65536);
	assert_int_equal(conf.dataplane.burst, 64);
	assert_int_equal(conf.dataplane.tx_drain_us, 50);
	assert_int_equal(conf.dataplane.mbufs, 65535);
	assert_int_equal(conf.dataplane.icmp_rate, 0);
	assert_string_equal(conf.control.socket, "/tmp/ephemera-test.sock");
	assert_false(conf.control.telemetry);
	eph_conf_free(&conf);
	assert_int_equal(conf.eal.n_args, 0);
}

static void
test_minimal_defaults(void **state)
{
	struct eph_conf conf, def;
	struct output out;
	char path[PATH_MAX];

	(void)state;
	data_path(path, sizeof(path), "conf/good-minimal.yaml");
	assert_int_equal(load(path, &conf, &out), 0);
	assert_string_equal(out.buf, "");
	free(out.buf);

	eph_conf_defaults(&def);
	assert_int_equal(conf.n_ports, 2);
	assert_int_equal(conf.n_routes, 0);
	assert_null(conf.routes);
	assert_memory_equal(&conf.eal, &def.eal, sizeof(def.eal));
	assert_memory_equal(&conf.arp, &def.arp, sizeof(def.arp));
	assert_memory_equal(&conf.dataplane, &def.dataplane, sizeof(def.dataplane));
	assert_memory_equal(&conf.control, &def.control, sizeof(def.control));
	assert_memory_equal(&conf.timeouts, &def.timeouts, sizeof(def.timeouts));
	assert_memory_equal(&conf.nat, &def.nat, sizeof(def.nat));
	assert_memory_equal(&conf.nat_log, &def.nat_log, sizeof(def.nat_log));
	assert_int_equal(conf.n_pools, 0);
	assert_null(conf.pools[0].addrs);
	assert_int_equal(conf.ports[1].mtu, 1500);
	assert_int_equal(conf.ports[1].rx_desc, 1024);
	eph_conf_free(&conf);
}

static void
test_defaults(void **state)
{
	struct eph_conf conf;

	(void)state;
	eph_conf_defaults(&conf);
	assert_string_equal(conf.eal.lcores, "0-1");
	assert_int_equal(conf.eal.main_lcore, -1);
	assert_true(conf.eal.hugepages);
	assert_int_equal(conf.eal.memory_mb, 256);
	assert_string_equal(conf.eal.file_prefix, "ephemera");
	assert_string_equal(conf.eal.log_level, "notice");
	assert_int_equal(conf.n_ports, 0);
	assert_int_equal(conf.n_routes, 0);
	assert_null(conf.routes);
	assert_int_equal(conf.dataplane.mbufs, 16383);
	assert_string_equal(conf.control.socket, "/run/ephemera/ephemera.sock");
	assert_true(conf.control.telemetry);
	assert_string_equal(eph_port_role_name(EPH_ROLE_INSIDE), "inside");
	assert_string_equal(eph_port_role_name(EPH_ROLE_OUTSIDE), "outside");
	assert_int_equal(conf.n_pools, 0);
	assert_int_equal(conf.timeouts.udp, 300);
	assert_int_equal(conf.timeouts.tcp_established, 7440);
	assert_int_equal(conf.timeouts.tcp_transitory, 240);
	assert_int_equal(conf.timeouts.icmp, 60);
	assert_int_equal(conf.nat.sessions_per_worker, 262144);
	assert_int_equal(conf.nat.destinations_per_worker, 65536);
	assert_int_equal(conf.nat.handoff_ring, 4096);
	assert_int_equal(conf.nat.frag_datagrams, 1024);
	assert_int_equal(conf.nat.frag_held, 512);
	assert_int_equal(conf.nat.frag_held_bytes, 1048576);
	assert_int_equal(conf.nat.frag_timeout_ms, 2000);
	assert_string_equal(eph_nat_mapping_name(EPH_MAPPING_ENDPOINT_DEPENDENT),
			    "endpoint-dependent");
	assert_string_equal(eph_nat_mapping_name(EPH_MAPPING_ENDPOINT_INDEPENDENT),
			    "endpoint-independent");
	assert_string_equal(eph_nat_filtering_name(EPH_FILTERING_ENDPOINT_DEPENDENT),
			    "endpoint-dependent");
	assert_string_equal(eph_nat_filtering_name(EPH_FILTERING_ENDPOINT_INDEPENDENT),
			    "endpoint-independent");
	assert_string_equal(eph_nat_pooling_name(EPH_POOLING_PAIRED), "paired");
	assert_string_equal(eph_nat_pooling_name(EPH_POOLING_ARBITRARY), "arbitrary");
	assert_string_equal(eph_nat_log_mode_name(EPH_NAT_LOG_OFF), "off");
	assert_string_equal(eph_nat_log_mode_name(EPH_NAT_LOG_SESSIONS), "sessions");
	assert_string_equal(eph_nat_log_mode_name(EPH_NAT_LOG_PORT_BLOCKS), "port-blocks");

	assert_string_equal(conf.control.group, "");
	assert_false(conf.control.metrics_http);
	assert_int_equal(conf.control.metrics_addr, IP(127, 0, 0, 1));
	assert_int_equal(conf.control.metrics_port, 9469);
	assert_string_equal(conf.nat_log.file, "");
	assert_false(conf.nat_log.syslog);
	assert_int_equal(conf.nat_log.ring, 16384);
	/* Every pool slot starts with a pool's defaults. */
	assert_int_equal(conf.pools[EPH_MAX_POOLS - 1].port_lo, 1024);
	assert_int_equal(conf.pools[EPH_MAX_POOLS - 1].port_hi, 65535);
	assert_int_equal(conf.pools[EPH_MAX_POOLS - 1].quarantine_s, 120);
	assert_int_equal(conf.pools[EPH_MAX_POOLS - 1].warn_occupancy, 80);
	assert_int_equal(conf.pools[EPH_MAX_POOLS - 1].log, EPH_NAT_LOG_OFF);
	assert_int_equal(conf.pools[EPH_MAX_POOLS - 1].port_block_size, 256);
	assert_int_equal(conf.pools[EPH_MAX_POOLS - 1].max_blocks_per_host, 4);
	assert_null(conf.pools[EPH_MAX_POOLS - 1].reserve);
	eph_conf_free(&conf);

	/* Freeing a zeroed struct is allowed, twice even. */
	memset(&conf, 0, sizeof(conf));
	eph_conf_free(&conf);
	eph_conf_free(&conf);
}

static void
test_warnings(void **state)
{
	struct eph_conf conf;
	struct output out;
	char path[PATH_MAX], want[4 * PATH_MAX + 768];

	(void)state;
	data_path(path, sizeof(path), "conf/warn.yaml");
	assert_int_equal(load(path, &conf, &out), 0);
	snprintf(want, sizeof(want),
		 "%s:3:10: warning: eal.args[0]: '--lcores' is also generated from eal.lcores; "
		 "set it there instead\n"
		 "%s:14:10: warning: dataplane.mbufs: 20000 is not of the form 2^n - 1; the packet "
		 "pool is most memory-efficient at sizes like 16383\n"
		 "%s:20:10: warning: pools[0].alg: with pooling: arbitrary an FTP data connection "
		 "may leave from another address than its control connection, which servers refuse\n"
		 "%s:23:1: warning: only the first YAML document is used, this one is ignored\n",
		 path, path, path, path);
	assert_string_equal(out.buf, want);
	free(out.buf);
	assert_int_equal(conf.dataplane.mbufs, 20000);
	assert_int_equal(conf.eal.n_args, 1);
	assert_int_equal(conf.n_ports, 2);
	assert_int_equal(conf.pools[0].alg, EPH_ALG_FTP);
	eph_conf_free(&conf);
}

static void
test_missing_file(void **state)
{
	struct eph_conf conf;
	struct output out;
	char path[PATH_MAX], want[PATH_MAX + 64];

	(void)state;
	data_path(path, sizeof(path), "conf/does-not-exist.yaml");
	assert_int_equal(load(path, &conf, &out), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot read: %s\n", path, strerror(ENOENT));
	assert_string_equal(out.buf, want);
	free(out.buf);
	assert_int_equal(conf.n_routes, 0);
	assert_null(conf.routes);

	data_path(path, sizeof(path), "conf");
	assert_int_equal(load(path, &conf, &out), -EISDIR);
	assert_non_null(strstr(out.buf, ": cannot read: "));
	free(out.buf);
}

/* Write text to a fresh temporary file; the caller unlinks path. */
static void
write_temp(char *path, size_t size, const char *text)
{
	int fd;
	FILE *f;

	snprintf(path, size, "/tmp/eph-test-config-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
test_null_err_stream(void **state)
{
	struct eph_conf conf;
	char path[PATH_MAX];

	(void)state;
	data_path(path, sizeof(path), "conf/bad-multi.yaml");
	assert_int_equal(eph_conf_load(path, &conf, NULL), -EINVAL);
	data_path(path, sizeof(path), "../../conf/ephemera.yaml");
	assert_int_equal(eph_conf_load(path, &conf, NULL), 0);
	eph_conf_free(&conf);
}

static void
test_empty_file(void **state)
{
	struct eph_conf conf;
	struct output out;
	char path[64], want[256];

	(void)state;
	write_temp(path, sizeof(path), "# nothing but a comment\n");
	assert_int_equal(load(path, &conf, &out), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:1:1: error: ports: required key is missing, expected a sequence of 1 to 16 "
		 "ports\n",
		 path);
	assert_string_equal(out.buf, want);
	free(out.buf);
	unlink(path);
}

/* A big route table: loads, and one duplicate in it is found and placed. */
static void
test_many_routes(void **state)
{
	static const unsigned n = 3000;
	struct eph_conf conf;
	struct output out;
	char path[64], want[256];
	size_t size = 512 + (size_t)n * 64, o;
	char *text = malloc(size);
	unsigned i;

	(void)state;
	assert_non_null(text);
	o = (size_t)snprintf(
		text, size,
		"ports:\n"
		"  - {name: in, device: net_null0, role: inside, address: 10.0.0.1/16}\n"
		"  - {name: out, device: net_null1, role: outside, address: 10.1.0.1/16}\n"
		"routes:\n");
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(text + o, size - o,
				      "  - {prefix: 100.%u.%u.0/24, via: 10.1.0.2}\n", 64 + i / 256,
				      i % 256);
	write_temp(path, sizeof(path), text);
	assert_int_equal(load(path, &conf, &out), 0);
	assert_string_equal(out.buf, "");
	free(out.buf);
	assert_int_equal(conf.n_routes, n);
	assert_int_equal(conf.routes[n - 1].prefix, IP(100, 64 + (n - 1) / 256, (n - 1) % 256, 0));
	assert_int_equal(conf.routes[n - 1].port, 1);
	eph_conf_free(&conf);
	unlink(path);

	/* The same table with the 8th route repeated at the end. */
	snprintf(text + o, size - o, "  - {prefix: 100.64.7.0/24, via: 10.1.0.3}\n");
	write_temp(path, sizeof(path), text);
	assert_int_equal(load(path, &conf, &out), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:%u:14: error: routes[%u].prefix: duplicate route for 100.64.7.0/24, already "
		 "given in routes[7]\n",
		 path, n + 5, n);
	assert_string_equal(out.buf, want);
	free(out.buf);
	unlink(path);
	free(text);
}

static void
assert_prefix(const struct eph_conf_prefix *p, uint32_t addr, unsigned len)
{
	assert_int_equal(p->addr, addr);
	assert_int_equal(p->len, len);
}

/* Every pool key, the three address forms, port presets and exclusions. */
static void
test_pools(void **state)
{
	static const uint32_t default_addrs[] = {
		IP(198, 51, 100, 1),  IP(198, 51, 100, 8),  IP(198, 51, 100, 9),
		IP(198, 51, 100, 10), IP(198, 51, 100, 11), IP(198, 51, 100, 20),
		IP(198, 51, 100, 21), IP(198, 51, 100, 22), IP(203, 0, 113, 200),
		IP(203, 0, 113, 201),
	};
	static const uint16_t lab_excluded[] = {
		33000, 33001, 40000, 50000, 50001, 50002, 50003,
		50004, 50005, 50006, 50007, 50008, 50009, 50010,
	};
	const struct eph_conf_pool *p;
	struct eph_conf conf;
	struct output out;
	char path[PATH_MAX];
	unsigned i;

	(void)state;
	data_path(path, sizeof(path), "conf/good-pools.yaml");
	assert_int_equal(load(path, &conf, &out), 0);
	assert_string_equal(out.buf, "");
	free(out.buf);
	assert_int_equal(conf.n_pools, 5);

	/* Only the required keys: everything else is a default. */
	p = &conf.pools[0];
	assert_string_equal(p->name, "default");
	assert_int_equal(p->n_addrs, sizeof(default_addrs) / sizeof(default_addrs[0]));
	for (i = 0; i < p->n_addrs; i++)
		assert_int_equal(p->addrs[i], default_addrs[i]);
	assert_int_equal(p->port_lo, 1024);
	assert_int_equal(p->port_hi, 65535);
	assert_int_equal(p->n_excluded, 0);
	assert_null(p->excluded);
	assert_int_equal(p->n_inside, 2);
	assert_prefix(&p->inside[0], IP(192, 0, 2, 0), 25);
	assert_prefix(&p->inside[1], IP(192, 0, 2, 128), 25);
	assert_int_equal(p->mapping, EPH_MAPPING_ENDPOINT_DEPENDENT);
	assert_int_equal(p->filtering, EPH_FILTERING_ENDPOINT_DEPENDENT);
	assert_int_equal(p->pooling, EPH_POOLING_PAIRED);
	assert_false(p->port_preservation);
	assert_false(p->port_parity);
	assert_false(p->exhaustion_icmp);
	assert_int_equal(p->max_sessions_per_host, 0);
	assert_int_equal(p->max_inbound_per_mapping, 256);
	assert_int_equal(p->quarantine_s, 120);
	assert_int_equal(p->n_reserve, 0);
	assert_null(p->reserve);
	assert_int_equal(p->warn_occupancy, 80);
	assert_int_equal(p->log, EPH_NAT_LOG_OFF);
	assert_int_equal(p->port_block_size, 256);
	assert_int_equal(p->max_blocks_per_host, 4);
	assert_int_equal(p->alg, 0);
	assert_int_equal(p->ftp_port, 21);

	p = &conf.pools[1];
	assert_string_equal(p->name, "eim-lab");
	assert_int_equal(p->n_addrs, 8);
	for (i = 0; i < 8; i++)
		assert_int_equal(p->addrs[i], IP(198, 51, 100, 64 + i));
	assert_int_equal(p->port_lo, 32768); /* linux */
	assert_int_equal(p->port_hi, 60999);
	assert_int_equal(p->n_excluded, sizeof(lab_excluded) / sizeof(lab_excluded[0]));
	assert_memory_equal(p->excluded, lab_excluded, sizeof(lab_excluded));
	assert_int_equal(p->n_inside, 2);
	assert_prefix(&p->inside[0], IP(10, 1, 0, 0), 16);
	assert_prefix(&p->inside[1], IP(10, 2, 0, 0), 16);
	assert_int_equal(p->mapping, EPH_MAPPING_ENDPOINT_INDEPENDENT);
	assert_int_equal(p->filtering, EPH_FILTERING_ENDPOINT_INDEPENDENT);
	assert_int_equal(p->pooling, EPH_POOLING_ARBITRARY);
	assert_true(p->port_preservation);
	assert_true(p->port_parity);
	assert_true(p->exhaustion_icmp);
	assert_int_equal(p->alg, 0);
	assert_int_equal(p->max_sessions_per_host, 16777216);
	assert_int_equal(p->max_inbound_per_mapping, 64);
	assert_int_equal(p->quarantine_s, 3600);

	p = &conf.pools[2];
	assert_string_equal(p->name, "iana_3");
	assert_int_equal(p->n_addrs, 1);
	assert_int_equal(p->addrs[0], IP(198, 51, 100, 2));
	assert_int_equal(p->port_lo, 49152); /* iana */
	assert_int_equal(p->port_hi, 65535);
	assert_int_equal(p->mapping, EPH_MAPPING_ENDPOINT_INDEPENDENT);
	assert_int_equal(p->filtering, EPH_FILTERING_ENDPOINT_DEPENDENT);
	assert_int_equal(p->n_inside, 1);
	assert_prefix(&p->inside[0], IP(172, 16, 0, 0), 12);
	assert_int_equal(p->alg, EPH_ALG_FTP);
	assert_int_equal(p->ftp_port, 2121);
	assert_int_equal(conf.pools[3].alg, EPH_ALG_FTP);
	assert_int_equal(conf.pools[3].ftp_port, 21);

	p = &conf.pools[3];
	assert_string_equal(p->name, "low");
	assert_int_equal(p->n_addrs, 1);
	assert_int_equal(p->addrs[0], IP(198, 51, 100, 3));
	assert_int_equal(p->port_lo, 1); /* well-known ports alone are fine */
	assert_int_equal(p->port_hi, 1023);

	p = &conf.pools[4];
	assert_string_equal(p->name, "one");
	assert_int_equal(p->addrs[0], IP(198, 51, 100, 4));
	assert_int_equal(p->port_lo, 5000); /* a plain integer: one port */
	assert_int_equal(p->port_hi, 5000);
	assert_int_equal(p->n_excluded, 0);
	assert_prefix(&p->inside[0], IP(10, 3, 128, 0), 17);

	assert_int_equal(conf.timeouts.udp, 600);
	assert_int_equal(conf.timeouts.tcp_established, 86400);
	assert_int_equal(conf.timeouts.tcp_transitory, 300);
	assert_int_equal(conf.timeouts.icmp, 120);
	assert_int_equal(conf.nat.sessions_per_worker, 1048576);
	assert_int_equal(conf.nat.destinations_per_worker, 131072);
	assert_int_equal(conf.nat.handoff_ring, 65536);
	assert_int_equal(conf.nat.frag_datagrams, 4096);
	assert_int_equal(conf.nat.frag_held, 0);
	assert_int_equal(conf.nat.frag_held_bytes, 0);
	assert_int_equal(conf.nat.frag_timeout_ms, 500);

	eph_conf_free(&conf);
	assert_int_equal(conf.n_pools, 0);
	for (i = 0; i < 5; i++) {
		assert_null(conf.pools[i].addrs);
		assert_null(conf.pools[i].excluded);
		assert_null(conf.pools[i].inside);
	}
}

static void
test_example_nat_pools(void **state)
{
	struct eph_conf conf;
	struct output out;
	char path[PATH_MAX];

	(void)state;
	data_path(path, sizeof(path), "../../conf/examples/nat-pools.yaml");
	assert_int_equal(load(path, &conf, &out), 0);
	assert_string_equal(out.buf, "");
	free(out.buf);
	assert_int_equal(conf.n_pools, 2);
	assert_string_equal(conf.pools[0].name, "default");
	assert_int_equal(conf.pools[0].n_addrs, 9);
	assert_int_equal(conf.pools[0].mapping, EPH_MAPPING_ENDPOINT_DEPENDENT);
	assert_int_equal(conf.pools[0].pooling, EPH_POOLING_PAIRED);
	assert_string_equal(conf.pools[1].name, "lab");
	assert_int_equal(conf.pools[1].n_addrs, 8);
	assert_int_equal(conf.pools[1].port_lo, 32768);
	assert_int_equal(conf.pools[1].n_excluded, 101);
	assert_int_equal(conf.pools[1].mapping, EPH_MAPPING_ENDPOINT_INDEPENDENT);
	assert_int_equal(conf.pools[1].filtering, EPH_FILTERING_ENDPOINT_INDEPENDENT);
	eph_conf_free(&conf);
}

/* The vips section: every key read, defaults filled, backends sorted, local addresses a pool. */
static void
test_vips(void **state)
{
	const struct eph_conf_vip *v;
	const struct eph_conf_pool *p;
	struct eph_conf conf, copy;
	struct output out;
	char path[PATH_MAX];

	(void)state;
	data_path(path, sizeof(path), "conf/good-vips.yaml");
	assert_int_equal(load(path, &conf, &out), 0);
	assert_string_equal(out.buf, "");
	free(out.buf);
	assert_int_equal(conf.n_vips, 3);
	v = &conf.vips[0];
	assert_string_equal(v->name, "web");
	assert_int_equal(v->addr, IP(203, 0, 113, 80));
	assert_int_equal(v->port, 80);
	assert_int_equal(v->proto, IPPROTO_TCP);
	assert_int_equal(v->forwarding, EPH_LB_FULLNAT);
	assert_int_equal(v->pool, 0);
	assert_true(conf.pools[0].balancer);
	assert_int_equal(conf.pools[0].n_inside, 0);
	assert_int_equal(v->maglev_size, 1009);
	assert_int_equal(v->hash, EPH_LB_HASH_SOURCE_IP);
	assert_int_equal(v->max_connections, 5000);
	assert_int_equal(v->refusal, EPH_LB_REFUSE_UNREACHABLE);
	assert_int_equal(v->on_remove, EPH_LB_REMOVE_RESET);
	assert_int_equal(v->proxy, EPH_LB_PROXY_V2);
	assert_int_equal(v->half_open_per_worker, 2048);
	assert_int_equal(v->new_connections_per_s, 1000);
	assert_int_equal(v->syn_proxy, EPH_LB_SYN_PROXY_ON);
	/* Sorted by address whatever the file's order; port and weight defaulted. */
	assert_int_equal(v->n_backends, 3);
	assert_int_equal(v->backends[0].addr, IP(10, 20, 0, 2));
	assert_int_equal(v->backends[0].port, 8080);
	assert_int_equal(v->backends[0].weight, 3);
	assert_int_equal(v->backends[0].max_connections, 100);
	assert_int_equal(v->backends[1].addr, IP(192, 0, 2, 11));
	assert_int_equal(v->backends[1].weight, 0);
	assert_int_equal(v->backends[2].addr, IP(192, 0, 2, 12));
	assert_int_equal(v->backends[2].port, 80);
	assert_int_equal(v->backends[2].weight, 100);
	/* local-addresses: a pool named as the VIP, the balancer's, addresses expanded. */
	v = &conf.vips[1];
	assert_int_equal(v->proto, IPPROTO_UDP);
	assert_int_equal(v->maglev_size, 65537);
	assert_int_equal(v->hash, EPH_LB_HASH_5TUPLE);
	assert_int_equal(v->refusal, EPH_LB_REFUSE_RESET);
	assert_int_equal(v->on_remove, EPH_LB_REMOVE_DRAIN);
	assert_int_equal(v->proxy, EPH_LB_PROXY_OFF);
	assert_int_equal(v->half_open_per_worker, 0); /* automatic */
	assert_int_equal(v->new_connections_per_s, 0); /* no limit */
	assert_int_equal(v->syn_proxy, EPH_LB_SYN_PROXY_OFF);
	assert_int_equal(conf.n_pools, 2);
	assert_int_equal(v->pool, 1);
	p = &conf.pools[1];
	assert_string_equal(p->name, "dns");
	assert_string_equal(p->vip, "dns");
	assert_true(p->balancer);
	assert_int_equal(p->pooling, EPH_POOLING_ARBITRARY);
	assert_int_equal(p->n_addrs, 5);
	assert_int_equal(p->addrs[0], IP(192, 0, 2, 220));
	assert_int_equal(p->addrs[4], IP(192, 0, 2, 231));
	/* Destination NAT of every port: no pool, the backend keeps the client's port. */
	v = &conf.vips[2];
	assert_int_equal(v->forwarding, EPH_LB_DNAT);
	assert_int_equal(v->pool, -1);
	assert_int_equal(v->port, 0);
	assert_int_equal(v->backends[0].port, 0);

	/* The loaded file passes the checks of a change in memory; a copy is equal. */
	assert_int_equal(eph_conf_check(&conf, NULL), 0);
	assert_int_equal(eph_conf_dup(&copy, &conf), 0);
	assert_ptr_not_equal(copy.vips[0].backends, conf.vips[0].backends);
	assert_int_equal(eph_conf_diff(&conf, &copy, NULL, NULL), 0);
	/* A change in memory breaking a rule is refused by name. */
	copy.vips[0].backends[2].weight = 0;
	copy.vips[0].backends[0].weight = 0;
	assert_int_equal(eph_conf_check(&copy, NULL), -EINVAL);
	copy.vips[0].backends[0].weight = 7;
	assert_int_equal(eph_conf_check(&copy, NULL), 0);
	assert_int_equal(eph_conf_diff(&conf, &copy, NULL, NULL), 2);
	copy.vips[1].addr = IP(203, 0, 113, 1);
	assert_int_equal(eph_conf_check(&copy, NULL), -EINVAL);
	copy.vips[1].addr = conf.vips[1].addr;
	assert_int_equal(eph_conf_check(&copy, NULL), 0);
	/* The SYN flood guards: a bound above the table, one on a udp VIP, a rate out of range. */
	copy.vips[0].half_open_per_worker = copy.nat.sessions_per_worker + 1;
	assert_int_equal(eph_conf_check(&copy, NULL), -EINVAL);
	copy.vips[0].half_open_per_worker = copy.nat.sessions_per_worker;
	assert_int_equal(eph_conf_check(&copy, NULL), 0);
	copy.vips[1].half_open_per_worker = 10;
	assert_int_equal(eph_conf_check(&copy, NULL), -EINVAL);
	copy.vips[1].half_open_per_worker = 0;
	copy.vips[1].new_connections_per_s = 100000001;
	assert_int_equal(eph_conf_check(&copy, NULL), -EINVAL);
	copy.vips[1].new_connections_per_s = 100000000;
	assert_int_equal(eph_conf_check(&copy, NULL), 0);
	eph_conf_free(&copy);
	eph_conf_free(&conf);
}

static void
test_example_lb(void **state)
{
	struct eph_conf conf;
	struct output out;
	char path[PATH_MAX];

	(void)state;
	data_path(path, sizeof(path), "../../conf/examples/lb.yaml");
	assert_int_equal(load(path, &conf, &out), 0);
	assert_string_equal(out.buf, "");
	free(out.buf);
	assert_int_equal(conf.n_vips, 2);
	assert_int_equal(conf.vips[0].n_backends, 3);
	assert_int_equal(conf.vips[0].backends[2].weight, 3);
	assert_int_equal(conf.n_pools, 3); /* default, and the two VIPs' local addresses */
	eph_conf_free(&conf);
}

static void
test_pool_warnings(void **state)
{
	struct eph_conf conf;
	struct output out;
	char path[PATH_MAX], want[6 * PATH_MAX + 1024];

	(void)state;
	data_path(path, sizeof(path), "conf/warn-pools.yaml");
	assert_int_equal(load(path, &conf, &out), 0);
	snprintf(want, sizeof(want),
		 "%s:16:9: warning: pools[0].inside[1]: no inside port or route reaches "
		 "10.9.0.0/16, so its hosts never use pool 'default'\n"
		 "%s:17:19: warning: pools[0].quarantine-s: 60 s is below the 120 s recommended "
		 "by RFC 6888 REQ-8; a freed port may go to a new host while the old peer still "
		 "sends to it\n"
		 "%s:19:8: warning: timeouts.udp: 60 s is below the 120 s floor of RFC 4787 "
		 "REQ-5; UDP mappings may expire while still in use\n"
		 "%s:20:20: warning: timeouts.tcp-established: 3600 s is below the 7440 s "
		 "(2 h 4 min) floor of RFC 5382 REQ-5; idle TCP connections may be cut\n"
		 "%s:21:19: warning: timeouts.tcp-transitory: 239 s is below the 240 s (4 min) "
		 "floor of RFC 5382 REQ-5; TCP connections may be cut while opening or closing\n"
		 "%s:22:9: warning: timeouts.icmp: 30 s is below the 60 s floor of RFC 5508 "
		 "REQ-1; ICMP query mappings may expire while still in use\n",
		 path, path, path, path, path, path);
	assert_string_equal(out.buf, want);
	free(out.buf);
	assert_int_equal(conf.n_pools, 1);
	assert_int_equal(conf.pools[0].quarantine_s, 60);
	assert_int_equal(conf.pools[0].n_inside, 2);
	assert_int_equal(conf.timeouts.udp, 60);
	assert_int_equal(conf.timeouts.tcp_established, 3600);
	assert_int_equal(conf.timeouts.tcp_transitory, 239);
	assert_int_equal(conf.timeouts.icmp, 30);
	eph_conf_free(&conf);
}

/* The limits: 64 pools, 4096 addresses in one; a 65th pool is refused. */
static void
test_many_pools(void **state)
{
	struct eph_conf conf;
	struct output out;
	char path[64], want[256];
	size_t size = 16384, o;
	char *text = malloc(size);
	unsigned i;

	(void)state;
	assert_non_null(text);
	o = (size_t)snprintf(
		text, size,
		"ports:\n"
		"  - {name: in, device: net_null0, role: inside, address: 10.0.0.1/16}\n"
		"  - {name: out, device: net_null1, role: outside, address: 10.1.0.1/16}\n"
		"pools:\n"
		"  - {name: big, addresses: [198.18.0.0/20], inside: [10.0.255.0/24]}\n");
	for (i = 1; i < EPH_MAX_POOLS; i++)
		o += (size_t)snprintf(text + o, size - o,
				      "  - {name: p%u, addresses: [198.19.%u.0/26], inside: "
				      "[10.0.%u.0/24]}\n",
				      i, i, i);
	write_temp(path, sizeof(path), text);
	assert_int_equal(load(path, &conf, &out), 0);
	assert_string_equal(out.buf, "");
	free(out.buf);
	assert_int_equal(conf.n_pools, EPH_MAX_POOLS);
	assert_int_equal(conf.pools[0].n_addrs, EPH_MAX_POOL_ADDRS);
	assert_int_equal(conf.pools[0].addrs[EPH_MAX_POOL_ADDRS - 1], IP(198, 18, 15, 255));
	assert_int_equal(conf.pools[EPH_MAX_POOLS - 1].n_addrs, 64);
	assert_int_equal(conf.pools[EPH_MAX_POOLS - 1].addrs[0], IP(198, 19, EPH_MAX_POOLS - 1, 0));
	eph_conf_free(&conf);
	unlink(path);

	snprintf(text + o, size - o,
		 "  - {name: extra, addresses: [198.20.0.1], inside: [10.0.200.0/24]}\n");
	write_temp(path, sizeof(path), text);
	assert_int_equal(load(path, &conf, &out), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:%u:5: error: pools[%u]: too many entries, at most %u allowed\n", path,
		 EPH_MAX_POOLS + 5, EPH_MAX_POOLS, EPH_MAX_POOLS);
	assert_string_equal(out.buf, want);
	free(out.buf);
	assert_int_equal(conf.n_pools, 0);
	unlink(path);
	free(text);
}

/* ------------------------------------------------------------------------ */
/* Control plane keys, NAT logs, and the functions live changes rely on */

static void
test_control_keys(void **state)
{
	static const uint32_t reserve[] = {
		IP(198, 51, 100, 0),  IP(198, 51, 100, 1),  IP(198, 51, 100, 2),
		IP(198, 51, 100, 3),  IP(203, 0, 113, 110), IP(203, 0, 113, 120),
		IP(203, 0, 113, 121),
	};
	const struct eph_conf_pool *p;
	struct eph_conf conf;
	struct output out;
	char path[PATH_MAX];
	unsigned i;

	(void)state;
	data_path(path, sizeof(path), "conf/good-control.yaml");
	assert_int_equal(load(path, &conf, &out), 0);
	assert_string_equal(out.buf, "");
	free(out.buf);

	assert_string_equal(conf.control.socket, "/tmp/ephemera-control.sock");
	assert_string_equal(conf.control.group, "root");
	assert_true(conf.control.metrics_http);
	assert_int_equal(conf.control.metrics_addr, IP(127, 0, 0, 2));
	assert_int_equal(conf.control.metrics_port, 9100);
	assert_string_equal(conf.nat_log.file, "/var/log/ephemera/nat.jsonl");
	assert_true(conf.nat_log.syslog);
	assert_int_equal(conf.nat_log.ring, 1048576);

	assert_int_equal(conf.n_pools, 3);
	p = &conf.pools[0];
	assert_int_equal(p->n_addrs, 4);
	assert_int_equal(p->addrs[3], IP(203, 0, 113, 103));
	assert_int_equal(p->n_reserve, sizeof(reserve) / sizeof(reserve[0]));
	for (i = 0; i < p->n_reserve; i++)
		assert_int_equal(p->reserve[i], reserve[i]);
	assert_int_equal(p->warn_occupancy, 95);
	assert_int_equal(p->log, EPH_NAT_LOG_SESSIONS);
	assert_int_equal(p->port_block_size, 256);
	assert_int_equal(p->max_blocks_per_host, 4);

	p = &conf.pools[1];
	assert_int_equal(p->n_reserve, 0);
	assert_null(p->reserve);
	assert_int_equal(p->warn_occupancy, 80);
	assert_int_equal(p->log, EPH_NAT_LOG_PORT_BLOCKS);
	assert_int_equal(p->port_lo, 1024);
	assert_int_equal(p->port_hi, 2047);
	assert_int_equal(p->port_block_size, 1024);
	assert_int_equal(p->max_blocks_per_host, 1024);

	p = &conf.pools[2];
	assert_int_equal(p->warn_occupancy, 1);
	assert_int_equal(p->log, EPH_NAT_LOG_OFF);
	assert_int_equal(p->port_lo, 5000);
	assert_int_equal(p->port_block_size, 256);

	eph_conf_free(&conf);
	assert_null(conf.pools[0].reserve);
	assert_int_equal(conf.pools[0].n_reserve, 0);
}

static void
test_control_warnings(void **state)
{
	struct eph_conf conf;
	struct output out;
	char path[PATH_MAX], want[4 * PATH_MAX + 1024];

	(void)state;
	data_path(path, sizeof(path), "conf/warn-control.yaml");
	assert_int_equal(load(path, &conf, &out), 0);
	snprintf(want, sizeof(want),
		 "%s:12:17: warning: control.metrics-http: 0.0.0.0 is every address of this host: "
		 "the metrics are exposed beyond this host, to anyone who can reach it\n"
		 "%s:19:22: warning: pools[0].port-block-size: has no effect without log: "
		 "port-blocks (log is off by default)\n"
		 "%s:22:14: warning: pools[1].inside[0]: no inside port or route reaches "
		 "10.0.0.0/8, so its hosts never use pool 'sessions'\n"
		 "%s:24:26: warning: pools[1].max-blocks-per-host: has no effect without log: "
		 "port-blocks (log is sessions)\n",
		 path, path, path, path);
	assert_string_equal(out.buf, want);
	free(out.buf);
	assert_true(conf.control.metrics_http);
	assert_int_equal(conf.control.metrics_addr, 0);
	assert_int_equal(conf.control.metrics_port, 9469);
	assert_true(conf.nat_log.syslog);
	assert_string_equal(conf.nat_log.file, "");
	assert_int_equal(conf.pools[0].port_block_size, 64);
	assert_int_equal(conf.pools[1].max_blocks_per_host, 8);
	eph_conf_free(&conf);
}

/* control.metrics-http, one value at a time. */
static void
test_metrics_http(void **state)
{
	static const struct {
		const char *yaml; /* the value as written */
		int rc;
		uint32_t addr;
		unsigned port;
		const char *diag; /* after "FILE:14:17: ", "" for none */
	} cases[] = {
		{"9469", 0, IP(127, 0, 0, 1), 9469, ""},
		{"\"1\"", 0, IP(127, 0, 0, 1), 1, ""},
		{"127.0.0.1:65535", 0, IP(127, 0, 0, 1), 65535, ""},
		{"127.1.2.3:80", 0, IP(127, 1, 2, 3), 80, ""},
		{"\"192.0.2.1:8080\"", 0, IP(192, 0, 2, 1), 8080,
		 "warning: control.metrics-http: 192.0.2.1 is not a loopback address: the metrics "
		 "are exposed beyond this host, to anyone who can reach it"},
		{"\"127.0.0.1:0\"", -EINVAL, 0, 0,
		 "error: control.metrics-http: expected \"ADDR:PORT\" or \"PORT\" like "
		 "127.0.0.1:9469 or 9469, found \"127.0.0.1:0\" (\"0\" is not a port from 1 to "
		 "65535)"},
		{"\"1.2.3:80\"", -EINVAL, 0, 0,
		 "error: control.metrics-http: expected \"ADDR:PORT\" or \"PORT\" like "
		 "127.0.0.1:9469 or 9469, found \"1.2.3:80\" (\"1.2.3\" is not an IPv4 address)"},
		{"localhost:x", -EINVAL, 0, 0,
		 "error: control.metrics-http: expected \"ADDR:PORT\" or \"PORT\" like "
		 "127.0.0.1:9469 or 9469, found \"localhost:x\" (\"localhost\" is not an IPv4 "
		 "address)"},
		{"70000", -EINVAL, 0, 0,
		 "error: control.metrics-http: expected \"ADDR:PORT\" or \"PORT\" like "
		 "127.0.0.1:9469 or 9469, found \"70000\" (\"70000\" is not a port from 1 to "
		 "65535)"},
		{"\"127.0.0.1:\"", -EINVAL, 0, 0,
		 "error: control.metrics-http: expected \"ADDR:PORT\" or \"PORT\" like "
		 "127.0.0.1:9469 or 9469, found \"127.0.0.1:\" (\"\" is not a port from 1 to "
		 "65535)"},
		{"\"224.0.0.1:80\"", -EINVAL, 0, 0,
		 "error: control.metrics-http: 224.0.0.1 is a multicast address, expected an "
		 "address of this host"},
		{"[9469]", -EINVAL, 0, 0,
		 "error: control.metrics-http: expected a string, found a sequence"},
	};
	struct eph_conf conf;
	struct output out;
	char path[64], text[512], want[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
			 "ports:\n"
			 "  - name: in\n"
			 "    device: net_null0\n"
			 "    role: inside\n"
			 "    address: 192.0.2.1/24\n"
			 "  - name: out\n"
			 "    device: net_null1\n"
			 "    role: outside\n"
			 "    address: 203.0.113.1/24\n"
			 "\n"
			 "\n"
			 "\n"
			 "control:\n"
			 "  metrics-http: %s\n",
			 cases[i].yaml);
		write_temp(path, sizeof(path), text);
		assert_int_equal(load(path, &conf, &out), cases[i].rc);
		if (cases[i].diag[0] != '\0')
			snprintf(want, sizeof(want), "%s:14:17: %s\n", path, cases[i].diag);
		else
			want[0] = '\0';
		assert_string_equal(out.buf, want);
		free(out.buf);
		if (cases[i].rc == 0) {
			assert_true(conf.control.metrics_http);
			assert_int_equal(conf.control.metrics_addr, cases[i].addr);
			assert_int_equal(conf.control.metrics_port, cases[i].port);
			eph_conf_free(&conf);
		}
		unlink(path);
	}
}

static void
test_example_control_plane(void **state)
{
	struct eph_conf conf;
	struct output out;
	char path[PATH_MAX];
	unsigned i;

	(void)state;
	data_path(path, sizeof(path), "../../conf/examples/control-plane.yaml");
	assert_int_equal(load(path, &conf, &out), 0);
	assert_string_equal(out.buf, "");
	free(out.buf);
	assert_string_equal(conf.control.group, "adm");
	assert_true(conf.control.metrics_http);
	assert_int_equal(conf.control.metrics_addr, IP(127, 0, 0, 1));
	assert_int_equal(conf.control.metrics_port, 9469);
	assert_string_equal(conf.nat_log.file, "/var/log/ephemera/nat.jsonl");
	assert_int_equal(conf.n_pools, 2);
	assert_int_equal(conf.pools[0].log, EPH_NAT_LOG_SESSIONS);
	assert_true(conf.pools[0].n_reserve > 0);
	assert_int_equal(conf.pools[0].warn_occupancy, 90);
	assert_int_equal(conf.pools[1].log, EPH_NAT_LOG_PORT_BLOCKS);
	for (i = 0; i < conf.n_pools; i++)
		assert_true(conf.pools[i].port_block_size <=
			    (unsigned)conf.pools[i].port_hi - conf.pools[i].port_lo + 1);
	assert_int_equal(eph_conf_check(&conf, NULL), 0);
	eph_conf_free(&conf);
}

static void
load_ok(const char *rel, struct eph_conf *conf)
{
	struct output out;
	char path[PATH_MAX];

	data_path(path, sizeof(path), rel);
	assert_int_equal(load(path, conf, &out), 0);
	free(out.buf);
}

/* Equal content, no shared memory: the copy is changed, then freed first. */
static void
test_dup(void **state)
{
	static const char *const files[] = {
		"conf/good-full.yaml",
		"conf/good-pools.yaml",
		"conf/good-control.yaml",
	};
	struct eph_conf orig, copy, again;
	size_t f;
	unsigned i;

	(void)state;
	for (f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		load_ok(files[f], &orig);
		load_ok(files[f], &again);
		assert_int_equal(eph_conf_dup(&copy, &orig), 0);
		assert_int_equal(eph_conf_diff(&orig, &copy, NULL, NULL), 0);
		assert_string_equal(copy.path, orig.path);
		assert_int_equal(copy.n_routes, orig.n_routes);
		if (orig.n_routes > 0) {
			assert_ptr_not_equal(copy.routes, orig.routes);
			assert_memory_equal(copy.routes, orig.routes,
					    orig.n_routes * sizeof(*orig.routes));
			copy.routes[0].via++;
		}
		assert_int_equal(copy.eal.n_args, orig.eal.n_args);
		for (i = 0; i < orig.eal.n_args; i++) {
			assert_ptr_not_equal(copy.eal.args[i], orig.eal.args[i]);
			assert_string_equal(copy.eal.args[i], orig.eal.args[i]);
			copy.eal.args[i][0] = 'X';
		}
		assert_int_equal(copy.n_pools, orig.n_pools);
		for (i = 0; i < orig.n_pools; i++) {
			struct eph_conf_pool *c = &copy.pools[i];
			const struct eph_conf_pool *o = &orig.pools[i];

			assert_ptr_not_equal(c->addrs, o->addrs);
			assert_memory_equal(c->addrs, o->addrs, o->n_addrs * sizeof(*o->addrs));
			c->addrs[0]++;
			assert_ptr_not_equal(c->inside, o->inside);
			c->inside[0].len = 32;
			if (o->n_excluded > 0) {
				assert_ptr_not_equal(c->excluded, o->excluded);
				assert_memory_equal(c->excluded, o->excluded,
						    o->n_excluded * sizeof(*o->excluded));
				c->excluded[0]++;
			} else {
				assert_null(c->excluded);
			}
			if (o->n_reserve > 0) {
				assert_ptr_not_equal(c->reserve, o->reserve);
				assert_memory_equal(c->reserve, o->reserve,
						    o->n_reserve * sizeof(*o->reserve));
				c->reserve[0]++;
			} else {
				assert_null(c->reserve);
			}
			c->quarantine_s++;
		}
		copy.timeouts.udp++;
		/* Every change shows in the copy only. */
		assert_true(eph_conf_diff(&orig, &copy, NULL, NULL) > 0);
		eph_conf_free(&copy);
		assert_int_equal(eph_conf_diff(&again, &orig, NULL, NULL), 0);
		eph_conf_free(&orig);
		eph_conf_free(&again);
	}

	/* A zeroed configuration copies too. */
	memset(&orig, 0, sizeof(orig));
	assert_int_equal(eph_conf_dup(&copy, &orig), 0);
	assert_null(copy.routes);
	eph_conf_free(&copy);
}

/* eph_conf_check's whole output for conf. */
static int
check(const struct eph_conf *conf, struct output *out)
{
	FILE *err;
	int rc;

	out->buf = NULL;
	out->len = 0;
	err = open_memstream(&out->buf, &out->len);
	assert_non_null(err);
	rc = eph_conf_check(conf, err);
	assert_int_equal(fclose(err), 0);
	return rc;
}

/* Insert addr into a pool's sorted address array, the way a live change would. */
static void
pool_add(struct eph_conf_pool *p, uint32_t addr)
{
	uint32_t *a = realloc(p->addrs, (p->n_addrs + 1) * sizeof(*a));
	unsigned i;

	assert_non_null(a);
	for (i = p->n_addrs; i > 0 && a[i - 1] > addr; i--)
		a[i] = a[i - 1];
	a[i] = addr;
	p->addrs = a;
	p->n_addrs++;
}

/*
 * Between a floor and a longer default no warning: the floor is the RFC's,
 * not the default. Over the maximum the file and eph_conf_check (the rules
 * of reload and of every change from the control socket) say the same.
 */
static void
test_timeout_limits(void **state)
{
	static const char head[] = "ports:\n"
				   "  - name: in\n"
				   "    device: net_null0\n"
				   "    role: inside\n"
				   "    address: 192.0.2.1/24\n"
				   "  - name: out\n"
				   "    device: net_null1\n"
				   "    role: outside\n"
				   "    address: 203.0.113.1/24\n"
				   "timeouts:\n";
	struct eph_conf conf;
	struct output out;
	char path[PATH_MAX], text[512], want[3 * PATH_MAX + 512];

	(void)state;
	snprintf(text, sizeof(text), "%s  udp: 200\n  tcp-established: 7440\n"
		 "  tcp-transitory: 240\n  icmp: 60\n", head);
	write_temp(path, sizeof(path), text);
	assert_int_equal(load(path, &conf, &out), 0);
	assert_string_equal(out.buf, "");
	free(out.buf);
	assert_int_equal(conf.timeouts.udp, 200);
	eph_conf_free(&conf);
	unlink(path);

	snprintf(text, sizeof(text), "%s  udp: 119\n  tcp-established: 604801\n"
		 "  tcp-transitory: 86401\n", head);
	write_temp(path, sizeof(path), text);
	assert_int_equal(load(path, &conf, &out), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:11:8: warning: timeouts.udp: 119 s is below the 120 s floor of RFC 4787 "
		 "REQ-5; UDP mappings may expire while still in use\n"
		 "%s:12:20: error: timeouts.tcp-established: expected an integer from 1 to 604800, "
		 "found 604801\n"
		 "%s:13:19: error: timeouts.tcp-transitory: expected an integer from 1 to 86400, "
		 "found 86401\n",
		 path, path, path);
	assert_string_equal(out.buf, want);
	free(out.buf);
	unlink(path);

	/* What a live change would set: the same words without the position. */
	eph_conf_defaults(&conf);
	conf.timeouts.udp = 86401;
	conf.timeouts.tcp_established = 604800;
	conf.timeouts.tcp_transitory = 86401;
	conf.timeouts.icmp = 0;
	assert_int_equal(check(&conf, &out), -EINVAL);
	assert_string_equal(out.buf,
			    "error: timeouts.udp: expected an integer from 1 to 86400, found 86401\n"
			    "error: timeouts.tcp-transitory: expected an integer from 1 to 86400, "
			    "found 86401\n"
			    "error: timeouts.icmp: expected an integer from 1 to 86400, found 0\n");
	free(out.buf);
	conf.timeouts.udp = 200;
	conf.timeouts.tcp_transitory = 86400;
	conf.timeouts.icmp = 1;
	assert_int_equal(check(&conf, &out), 0);
	assert_string_equal(out.buf, "");
	free(out.buf);
	eph_conf_free(&conf);
}

static void
test_check(void **state)
{
	struct eph_conf conf, copy;
	struct eph_conf_prefix *in;
	struct output out;

	(void)state;
	load_ok("conf/good-control.yaml", &conf);
	assert_int_equal(check(&conf, &out), 0);
	assert_string_equal(out.buf, "");
	free(out.buf);
	/* Every shipped or test file that loads passes the same rules. */
	eph_conf_free(&conf);
	load_ok("conf/good-pools.yaml", &conf);
	assert_int_equal(eph_conf_check(&conf, NULL), 0);
	eph_conf_free(&conf);
	load_ok("conf/good-control.yaml", &conf);

	/* Valid live changes: a new address, a narrower range. */
	assert_int_equal(eph_conf_dup(&copy, &conf), 0);
	pool_add(&copy.pools[0], IP(203, 0, 113, 104));
	copy.pools[0].port_lo = 2048;
	copy.pools[0].port_hi = 4095;
	assert_int_equal(check(&copy, &out), 0);
	assert_string_equal(out.buf, "");
	free(out.buf);

	/* An address of another pool, added to either pool: the later pool is named. */
	pool_add(&copy.pools[1], IP(203, 0, 113, 100));
	assert_int_equal(check(&copy, &out), -EINVAL);
	assert_string_equal(out.buf, "error: pools[blocks].addresses: 203.0.113.100 is already "
				     "in pool default\n");
	free(out.buf);
	eph_conf_free(&copy);
	assert_int_equal(eph_conf_dup(&copy, &conf), 0);
	pool_add(&copy.pools[0], IP(203, 0, 113, 200));
	assert_int_equal(check(&copy, &out), -EINVAL);
	assert_string_equal(out.buf, "error: pools[blocks].addresses: 203.0.113.200 is already "
				     "in pool default\n");
	free(out.buf);
	assert_int_equal(eph_conf_check(&copy, NULL), -EINVAL);
	eph_conf_free(&copy);

	/* Many problems at once, each on its own line. */
	assert_int_equal(eph_conf_dup(&copy, &conf), 0);
	pool_add(&copy.pools[0], IP(203, 0, 113, 1));    /* the outside port's address */
	copy.pools[0].reserve[4] = IP(203, 0, 113, 102); /* one of its own addresses */
	copy.pools[1].port_hi = 1535;                    /* 512 ports, blocks of 1024 */
	copy.pools[1].n_addrs = 0;
	copy.pools[2].port_lo = 1000;                        /* 1000-5000 mixes */
	in = realloc(copy.pools[2].inside, 2 * sizeof(*in)); /* overlaps pool default */
	assert_non_null(in);
	copy.pools[2].inside = in;
	copy.pools[2].inside[1] = (struct eph_conf_prefix){IP(192, 0, 2, 0), 24};
	copy.pools[2].n_inside = 2;
	copy.nat_log.file[0] = '\0';
	copy.nat_log.syslog = false;
	assert_int_equal(check(&copy, &out), -EINVAL);
	assert_string_equal(
		out.buf,
		"error: pools[default].log: sessions needs a destination, expected nat-log.file or "
		"nat-log.syslog: true\n"
		"error: pools[blocks].addresses: expected at least one address, found none\n"
		"error: pools[blocks].port-block-size: expected at most 512, the number of ports "
		"in "
		"the pool's range (ports: 1024-1535), found 1024\n"
		"error: pools[blocks].log: port-blocks needs a destination, expected nat-log.file "
		"or nat-log.syslog: true\n"
		"error: pools[quiet].ports: 1000-5000 mixes well-known ports (1-1023) with ports "
		"1024-65535, which RFC 4787 REQ-3a keeps apart; expected a range within one of "
		"them\n"
		"error: pools[default].reserve: 203.0.113.102 is also one of the pool's addresses; "
		"a reserve address must not be a regular one\n"
		"error: pools[default].addresses: 203.0.113.1 is the address of port 'wan' itself, "
		"expected addresses the gateway does not use\n"
		"error: pools[quiet].inside: 192.0.2.0/24 overlaps inside prefix 192.0.2.0/25 of "
		"pool default; a host would have two pools\n");
	free(out.buf);
	eph_conf_free(&copy);

	/* And the rest: exclusions, repeats, names, pool addresses as inside hosts. */
	assert_int_equal(eph_conf_dup(&copy, &conf), 0);
	copy.pools[0].port_lo = 2048;
	copy.pools[0].port_hi = 2999;
	copy.pools[0].excluded = malloc(sizeof(*copy.pools[0].excluded));
	assert_non_null(copy.pools[0].excluded);
	copy.pools[0].excluded[0] = 3000;
	copy.pools[0].n_excluded = 1;
	pool_add(&copy.pools[0], IP(203, 0, 113, 101));
	snprintf(copy.pools[1].name, sizeof(copy.pools[1].name), "default");
	copy.pools[2].inside[0] = (struct eph_conf_prefix){IP(203, 0, 113, 0), 24};
	copy.pools[2].warn_occupancy = 0;
	assert_int_equal(check(&copy, &out), -EINVAL);
	assert_string_equal(
		out.buf,
		"error: pools[default].exclude-ports: excluded port 3000 is outside the pool's "
		"ports 2048-2999\n"
		"error: pools[quiet].warn-occupancy: expected an integer from 1 to 100, found 0\n"
		"error: pools[default].name: duplicate pool name 'default'\n"
		"error: pools[default].addresses: 203.0.113.101 is listed twice\n"
		"error: pools[quiet].inside: 203.0.113.0/24 contains 203.0.113.100, an address of "
		"pool default; pool addresses cannot be inside hosts\n");
	free(out.buf);
	eph_conf_free(&copy);
	eph_conf_free(&conf);
}

/* What eph_conf_diff reported. */
struct changes {
	unsigned n;
	bool restart[64];
	char line[64][192];
};

static void
collect(void *arg, bool needs_restart, const char *change)
{
	struct changes *c = arg;

	assert_true(c->n < 64);
	c->restart[c->n] = needs_restart;
	snprintf(c->line[c->n], sizeof(c->line[0]), "%s", change);
	c->n++;
}

struct change {
	bool restart;
	const char *line;
};

static void
assert_changes(const struct changes *got, const struct change *want, unsigned n)
{
	unsigned i;

	for (i = 0; i < got->n && i < n; i++) {
		if (strcmp(got->line[i], want[i].line) != 0 || got->restart[i] != want[i].restart) {
			print_error("change %u: expected [%d] %s\n               got [%d] %s\n", i,
				    want[i].restart, want[i].line, got->restart[i], got->line[i]);
			fail();
		}
	}
	if (got->n != n) {
		for (i = 0; i < got->n; i++)
			print_error("got [%d] %s\n", got->restart[i], got->line[i]);
		fail_msg("expected %u changes, got %u", n, got->n);
	}
}

/* Replace the addresses of a pool. */
static void
pool_set_addrs(struct eph_conf_pool *p, const uint32_t *a, unsigned n)
{
	free(p->addrs);
	p->addrs = malloc(n * sizeof(*a));
	assert_non_null(p->addrs);
	memcpy(p->addrs, a, n * sizeof(*a));
	p->n_addrs = n;
}

static void
test_diff(void **state)
{
	static const uint32_t addrs[] = {
		IP(203, 0, 113, 100), IP(203, 0, 113, 101), IP(203, 0, 113, 102),
		IP(203, 0, 113, 104), IP(203, 0, 113, 105),
	};
	static const uint32_t reserve[] = {
		IP(198, 51, 100, 0), IP(198, 51, 100, 1),  IP(198, 51, 100, 2),
		IP(198, 51, 100, 3), IP(203, 0, 113, 120), IP(203, 0, 113, 121),
	};
	static const uint16_t excluded[] = {3000, 3001, 3002, 4000};
	static const struct change want[] = {
		{true, "eal.lcores changed"},
		{true, "eal.memory-mb: 256 -> 512"},
		{true, "ports[lan].device changed"},
		{true, "ports[wan].mtu: 1500 -> 9000"},
		{false, "routes: 0.0.0.0/0 via 203.0.113.254 (wan) -> via 203.0.113.253 (wan)"},
		{false, "routes: 10.9.0.0/16 via 192.0.2.254 (lan) added"},
		{true, "arp.retries: 3 -> 5"},
		{true, "dataplane.burst: 32 -> 64"},
		{true, "control.socket: /tmp/ephemera-control.sock -> /run/ephemera.sock"},
		{true, "control.group: root -> (none)"},
		{true, "control.telemetry: true -> false"},
		{true, "control.metrics-http: 127.0.0.2:9100 -> off"},
		{false, "pool default: addresses 203.0.113.104-203.0.113.105 added"},
		{false, "pool default: address 203.0.113.103 removed (drains)"},
		{false, "pool default: reserve address 203.0.113.110 removed (drains)"},
		{false, "pool default: ports 1024-65535 -> 2048-4095"},
		{false, "pool default: excluded ports 3000-3002 added"},
		{false, "pool default: excluded port 4000 added"},
		{false, "pool default: inside 10.1.0.0/16 added"},
		{true, "pool default: mapping endpoint-dependent -> endpoint-independent"},
		{false, "pool default: pooling paired -> arbitrary"},
		{false, "pool default: port-preservation false -> true"},
		{false, "pool default: quarantine-s 120 -> 60"},
		{false, "pool default: warn-occupancy 95 -> 90"},
		{false, "pool default: log sessions -> port-blocks"},
		{false, "pool blocks: removed (drains)"},
		{false, "pool web: added"},
		{false, "timeouts.udp: 300 -> 60"},
		{true, "nat.sessions-per-worker: 262144 -> 1048576"},
		{false, "nat-log.file: /var/log/ephemera/nat.jsonl -> (none)"},
		{false, "nat-log.syslog: true -> false"},
		{true, "nat-log.ring: 1048576 -> 16384"},
	};
	struct eph_conf old, new;
	struct eph_conf_pool *p;
	struct eph_conf_route *rt;
	struct eph_conf_prefix *in;
	struct changes got = {0};

	(void)state;
	load_ok("conf/good-control.yaml", &old);
	assert_int_equal(eph_conf_diff(&old, &old, collect, &got), 0);
	assert_int_equal(got.n, 0);
	assert_int_equal(eph_conf_dup(&new, &old), 0);

	snprintf(new.eal.lcores, sizeof(new.eal.lcores), "0-3");
	new.eal.memory_mb = 512;
	snprintf(new.ports[0].device, sizeof(new.ports[0].device), "net_null7");
	new.ports[1].mtu = 9000;
	rt = realloc(new.routes, 2 * sizeof(*rt));
	assert_non_null(rt);
	new.routes = rt;
	new.routes[0].via = IP(203, 0, 113, 253);
	new.routes[1] = (struct eph_conf_route){IP(10, 9, 0, 0), 16, IP(192, 0, 2, 254), 0};
	new.n_routes = 2;
	new.arp.retries = 5;
	new.dataplane.burst = 64;
	snprintf(new.control.socket, sizeof(new.control.socket), "/run/ephemera.sock");
	new.control.group[0] = '\0';
	new.control.telemetry = false;
	new.control.metrics_http = false;

	p = &new.pools[0];
	pool_set_addrs(p, addrs, sizeof(addrs) / sizeof(addrs[0]));
	memcpy(p->reserve, reserve, sizeof(reserve));
	p->n_reserve = sizeof(reserve) / sizeof(reserve[0]);
	p->port_lo = 2048;
	p->port_hi = 4095;
	p->excluded = malloc(sizeof(excluded));
	assert_non_null(p->excluded);
	memcpy(p->excluded, excluded, sizeof(excluded));
	p->n_excluded = sizeof(excluded) / sizeof(excluded[0]);
	in = realloc(p->inside, 2 * sizeof(*in));
	assert_non_null(in);
	p->inside = in;
	p->inside[1] = (struct eph_conf_prefix){IP(10, 1, 0, 0), 16};
	p->n_inside = 2;
	p->mapping = EPH_MAPPING_ENDPOINT_INDEPENDENT;
	p->pooling = EPH_POOLING_ARBITRARY;
	p->port_preservation = true;
	p->quarantine_s = 60;
	p->warn_occupancy = 90;
	p->log = EPH_NAT_LOG_PORT_BLOCKS;

	/* Pool blocks goes, quiet moves up a slot, web comes. */
	free(new.pools[1].addrs);
	free(new.pools[1].inside);
	new.pools[1] = new.pools[2];
	eph_conf_pool_defaults(&new.pools[2]);
	p = &new.pools[2];
	snprintf(p->name, sizeof(p->name), "web");
	pool_set_addrs(p, &addrs[0], 1);

	new.timeouts.udp = 60;
	new.nat.sessions_per_worker = 1048576;
	new.nat_log.file[0] = '\0';
	new.nat_log.syslog = false;
	new.nat_log.ring = 16384;

	assert_int_equal(eph_conf_diff(&old, &new, collect, &got),
			 (int)(sizeof(want) / sizeof(want[0])));
	assert_changes(&got, want, sizeof(want) / sizeof(want[0]));
	assert_int_equal(eph_conf_diff(&old, &new, NULL, NULL),
			 (int)(sizeof(want) / sizeof(want[0])));

	/* The other way round, a few of the same lines mirrored. */
	memset(&got, 0, sizeof(got));
	assert_int_equal(eph_conf_diff(&new, &old, collect, &got),
			 (int)(sizeof(want) / sizeof(want[0])));
	assert_string_equal(got.line[5], "routes: 10.9.0.0/16 via 192.0.2.254 (lan) removed");
	assert_string_equal(got.line[12], "pool default: address 203.0.113.103 added");
	assert_string_equal(got.line[13],
			    "pool default: addresses 203.0.113.104-203.0.113.105 removed (drains)");
	assert_string_equal(got.line[14], "pool default: reserve address 203.0.113.110 added");
	assert_string_equal(got.line[25], "pool web: removed (drains)");
	assert_string_equal(got.line[26], "pool blocks: added");

	eph_conf_free(&new);
	eph_conf_free(&old);
}

/* The balancer's lines, all live; a VIP's own local-addresses pool has no pool lines. */
static void
test_diff_vips(void **state)
{
	static const struct change want[] = {
		{false, "vip web: maglev-size 1009 -> 65537"},
		{false, "vip web: half-open-per-worker 2048 -> 0"},
		{false, "vip web: new-connections-per-s 1000 -> 500"},
		{false, "vip web: backend 192.0.2.11:80 weight 0 -> 5"},
		{false, "vip web: backend 192.0.2.12:80 removed (reset)"},
		{false, "vip web: backend 192.0.2.14:80 added"},
		{false, "vip dns: 203.0.113.80:53 udp -> 203.0.113.80:5353 udp (connections to the "
			"old one end)"},
		{false, "vip dns: local address 192.0.2.224 added"},
		{false, "vip dns: local addresses 192.0.2.222-192.0.2.223 removed (drains)"},
		{false, "vip dns: backend 192.0.2.11:53 removed (drain)"},
		{false, "vip dns: backend 192.0.2.11:5353 added"},
		{false, "vip any: removed (its connections are reset)"},
		{false, "vip mail: added"},
	};
	struct eph_conf old, new;
	struct changes got = {0};

	(void)state;
	load_ok("conf/good-vips.yaml", &old);
	load_ok("conf/good-vips-changed.yaml", &new);
	assert_int_equal(new.n_pools, 3); /* lbpool, dns's and mail's local addresses */
	eph_conf_diff(&old, &new, collect, &got);
	assert_changes(&got, want, sizeof(want) / sizeof(want[0]));

	memset(&got, 0, sizeof(got));
	assert_int_equal(eph_conf_diff(&new, &old, collect, &got),
			 (int)(sizeof(want) / sizeof(want[0])));
	assert_string_equal(got.line[1], "vip web: half-open-per-worker 0 -> 2048");
	assert_string_equal(got.line[2], "vip web: new-connections-per-s 500 -> 1000");
	assert_string_equal(got.line[7], "vip dns: local addresses 192.0.2.222-192.0.2.223 added");
	assert_string_equal(got.line[11], "vip mail: removed (its connections are reset)");
	assert_string_equal(got.line[12], "vip any: added");

	/* From a source-pool to local-addresses: one line, no pool lines. */
	new.vips[0].pool = 1;
	snprintf(new.pools[1].vip, sizeof(new.pools[1].vip), "web");
	memset(&got, 0, sizeof(got));
	eph_conf_diff(&old, &new, collect, &got);
	assert_string_equal(got.line[0], "vip web: local addresses from pool lbpool -> local-addresses");
	new.vips[0].pool = 0;
	snprintf(new.pools[1].vip, sizeof(new.pools[1].vip), "dns");

	/* proxy-protocol: one line, live (new connections take it). */
	new.vips[0].proxy = EPH_LB_PROXY_OFF;
	memset(&got, 0, sizeof(got));
	assert_int_equal(eph_conf_diff(&old, &new, collect, &got),
			 (int)(sizeof(want) / sizeof(want[0])) + 1);
	for (unsigned int i = 0, found = 0; i <= got.n; i++) {
		if (i == got.n) {
			assert_int_equal(found, 1);
			break;
		}
		if (strstr(got.line[i], "proxy-protocol") == NULL)
			continue;
		assert_string_equal(got.line[i], "vip web: proxy-protocol v2 -> off (new connections)");
		assert_false(got.restart[i]);
		found++;
	}
	new.vips[0].proxy = EPH_LB_PROXY_V2;

	/* syn-proxy: one line, live (new connections take it). */
	new.vips[0].syn_proxy = EPH_LB_SYN_PROXY_OFF;
	memset(&got, 0, sizeof(got));
	assert_int_equal(eph_conf_diff(&old, &new, collect, &got),
			 (int)(sizeof(want) / sizeof(want[0])) + 1);
	for (unsigned int i = 0, found = 0; i <= got.n; i++) {
		if (i == got.n) {
			assert_int_equal(found, 1);
			break;
		}
		if (strstr(got.line[i], "syn-proxy") == NULL)
			continue;
		assert_string_equal(got.line[i], "vip web: syn-proxy on -> off (new connections)");
		assert_false(got.restart[i]);
		found++;
	}
	new.vips[0].syn_proxy = EPH_LB_SYN_PROXY_ON;

	eph_conf_free(&new);
	eph_conf_free(&old);
}

/* A ports-only change and a nat-log.file change: restart, then none. */
static void
test_diff_restart(void **state)
{
	struct eph_conf old, new;
	struct changes got = {0};

	(void)state;
	load_ok("conf/good-control.yaml", &old);
	assert_int_equal(eph_conf_dup(&new, &old), 0);
	new.ports[0].promiscuous = true;
	new.pools[1].mapping = EPH_MAPPING_ENDPOINT_INDEPENDENT;
	new.pools[1].filtering = EPH_FILTERING_ENDPOINT_INDEPENDENT;
	snprintf(new.nat_log.file, sizeof(new.nat_log.file), "/var/log/nat2.jsonl");
	new.timeouts.icmp = 30;
	assert_int_equal(eph_conf_diff(&old, &new, collect, &got), 5);
	assert_string_equal(got.line[0], "ports[lan].promiscuous: false -> true");
	assert_true(got.restart[0]);
	assert_string_equal(got.line[1],
			    "pool blocks: mapping endpoint-dependent -> endpoint-independent");
	assert_true(got.restart[1]);
	assert_string_equal(got.line[2],
			    "pool blocks: filtering endpoint-dependent -> endpoint-independent");
	assert_false(got.restart[2]);
	assert_string_equal(got.line[3], "timeouts.icmp: 60 -> 30");
	assert_false(got.restart[3]);
	assert_string_equal(got.line[4],
			    "nat-log.file: /var/log/ephemera/nat.jsonl -> /var/log/nat2.jsonl");
	assert_false(got.restart[4]);
	eph_conf_free(&new);
	eph_conf_free(&old);
}

/* ------------------------------------------------------------------------ */
/* Bad files: every expected diagnostic, in order, and nothing else */

struct bad_expect {
	unsigned line;
	unsigned col;
	const char *path; /* key path, "" for none */
	const char *msg;  /* must appear in the message */
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

struct bad_case {
	const char *file;
	unsigned n;
	struct bad_expect e[10];
};

/* One entry per fixture: the file, then its diagnostics in file order. */
/* clang-format off */
static const struct bad_case bad_cases[] = {
	{ "bad-yaml-indent.yaml", 1, {
		{ 8, 4, "",
		  "invalid YAML: did not find expected '-' indicator while parsing a block collection started at line 6, column 3" },
	} },
	{ "bad-yaml-quote.yaml", 1, {
		{ 17, 1, "",
		  "invalid YAML: found unexpected end of stream while scanning a quoted scalar started at line 11, column 13" },
	} },
	{ "bad-unknown-top.yaml", 1, {
		{ 17, 1, "firewall",
		  "unknown key, expected one of eal, ports, routes, arp, dataplane, control, pools, timeouts, nat, nat-log, vips" },
	} },
	{ "bad-unknown-nested.yaml", 1, {
		{ 4, 3, "eal.memory_mb",
		  "did you mean 'memory-mb'?" },
	} },
	{ "bad-unknown-port-key.yaml", 1, {
		{ 14, 5, "ports[1].vlan",
		  "unknown key, expected one of name, device, role, address, mtu, rx-desc, tx-desc, promiscuous, mss-clamp, kernel-interface" },
	} },
	{ "bad-type-int.yaml", 1, {
		{ 18, 10, "dataplane.burst",
		  "expected an integer from 1 to 256, found \"fast\"" },
	} },
	{ "bad-type-int-suffix.yaml", 1, {
		{ 13, 10, "ports[1].mtu",
		  "expected an integer from 68 to 9600, found \"1500b\"" },
	} },
	{ "bad-type-seq-for-map.yaml", 1, {
		{ 3, 3, "eal",
		  "expected a mapping, found a sequence" },
	} },
	{ "bad-type-map-for-seq.yaml", 1, {
		{ 3, 3, "ports",
		  "expected a sequence" },
	} },
	{ "bad-type-bool.yaml", 1, {
		{ 5, 14, "eal.hugepages",
		  "expected true or false, found \"maybe\"" },
	} },
	{ "bad-range-burst.yaml", 1, {
		{ 18, 10, "dataplane.burst",
		  "expected an integer from 1 to 256, found 1000" },
	} },
	{ "bad-range-negative.yaml", 1, {
		{ 18, 12, "arp.retries",
		  "expected an integer from 1 to 100, found -1" },
	} },
	{ "bad-desc-pow2.yaml", 1, {
		{ 9, 14, "ports[0].rx-desc",
		  "expected a power of two from 64 to 16384, found 1000" },
	} },
	{ "bad-mtu.yaml", 1, {
		{ 9, 10, "ports[0].mtu",
		  "expected an integer from 68 to 9600, found 10000" },
	} },
	{ "bad-role.yaml", 1, {
		{ 12, 11, "ports[1].role",
		  "expected one of inside, outside, found \"dmz\"" },
	} },
	{ "bad-addr-octet.yaml", 1, {
		{ 13, 14, "ports[1].address",
		  "expected an IPv4 address with prefix length like 192.0.2.1/24, found \"192.0.2.300/24\"" },
	} },
	{ "bad-addr-noprefix.yaml", 1, {
		{ 9, 14, "ports[0].address",
		  "the /N prefix length is missing" },
	} },
	{ "bad-addr-len.yaml", 1, {
		{ 9, 14, "ports[0].address",
		  "prefix length must be 8 to 32" },
	} },
	{ "bad-addr-network.yaml", 1, {
		{ 9, 14, "ports[0].address",
		  "192.0.2.0 is the network address of 192.0.2.0/24" },
	} },
	{ "bad-addr-broadcast.yaml", 1, {
		{ 13, 14, "ports[1].address",
		  "203.0.113.255 is the broadcast address of 203.0.113.0/24" },
	} },
	{ "bad-addr-loopback.yaml", 1, {
		{ 9, 14, "ports[0].address",
		  "127.0.0.1 is a loopback address" },
	} },
	{ "bad-addr-multicast.yaml", 1, {
		{ 9, 14, "ports[0].address",
		  "224.0.0.5 is a multicast address" },
	} },
	{ "bad-device-pci.yaml", 1, {
		{ 7, 13, "ports[0].device",
		  "with device 00 to 1f and function 0 to 7" },
	} },
	{ "bad-device.yaml", 1, {
		{ 11, 13, "ports[1].device",
		  "expected a PCI address like 0000:01:00.0 or a vdev like net_af_packet0,iface=eth0, found \"eth1\"" },
	} },
	{ "bad-vdev-args.yaml", 1, {
		{ 11, 13, "ports[1].device",
		  "expected vdev arguments as \",key=value\"" },
	} },
	{ "bad-dup-name.yaml", 1, {
		{ 10, 11, "ports[1].name",
		  "duplicate port name 'inside', already used by ports[0]" },
	} },
	{ "bad-dup-device.yaml", 1, {
		{ 11, 13, "ports[1].device",
		  "device 'net_af_packet0' is already used by port 'inside'" },
	} },
	{ "bad-dup-address.yaml", 1, {
		{ 13, 14, "ports[1].address",
		  "address 192.0.2.1 is already used by port 'inside'" },
	} },
	{ "bad-overlap.yaml", 1, {
		{ 13, 14, "ports[1].address",
		  "subnet 192.0.2.128/25 overlaps subnet 192.0.2.0/24 of port 'inside'" },
	} },
	{ "bad-route-hostbits.yaml", 1, {
		{ 15, 13, "routes[0].prefix",
		  "expected a network address, did you mean 198.51.100.0/24?" },
	} },
	{ "bad-route-via-unreachable.yaml", 1, {
		{ 16, 10, "routes[0].via",
		  "10.0.0.1 is not on any connected subnet (inside 192.0.2.0/24, outside 203.0.113.0/24)" },
	} },
	{ "bad-route-unknown-port.yaml", 1, {
		{ 17, 11, "routes[0].port",
		  "unknown port 'wan', known ports: inside, outside" },
	} },
	{ "bad-route-via-wrong-port.yaml", 1, {
		{ 16, 10, "routes[0].via",
		  "203.0.113.10 is not on the subnet 192.0.2.0/24 of port 'inside'" },
	} },
	{ "bad-route-dup.yaml", 1, {
		{ 17, 13, "routes[1].prefix",
		  "duplicate route for 198.51.100.0/24, already given in routes[0]" },
	} },
	{ "bad-route-connected.yaml", 1, {
		{ 15, 13, "routes[0].prefix",
		  "192.0.2.0/24 conflicts with the connected route of port 'inside'" },
	} },
	{ "bad-route-via-self.yaml", 1, {
		{ 16, 10, "routes[0].via",
		  "203.0.113.1 is the address of port 'outside' itself" },
	} },
	{ "bad-route-missing-via.yaml", 1, {
		{ 15, 5, "routes[0].via",
		  "required key is missing" },
	} },
	{ "bad-missing-ports.yaml", 1, {
		{ 2, 1, "ports",
		  "required key is missing, expected a sequence of 1 to 16 ports" },
	} },
	{ "bad-port-missing-address.yaml", 1, {
		{ 10, 5, "ports[1].address",
		  "required key is missing" },
	} },
	{ "bad-ports-empty.yaml", 1, {
		{ 2, 8, "ports",
		  "expected a sequence of 1 to 16 ports, found an empty sequence" },
	} },
	{ "bad-socket-relative.yaml", 1, {
		{ 18, 11, "control.socket",
		  "expected an absolute path, found \"run/ephemera.sock\"" },
	} },
	{ "bad-file-prefix-long.yaml", 1, {
		{ 5, 16, "eal.file-prefix",
		  "expected 1 to 63 characters from A-Z, a-z, 0-9, '_' and '-'" },
	} },
	{ "bad-dup-key.yaml", 1, {
		{ 5, 3, "eal.memory-mb",
		  "duplicate key, already given at line 4" },
	} },
	{ "bad-lcores.yaml", 1, {
		{ 3, 11, "eal.lcores",
		  "expected an EAL lcore list like \"0-1\"" },
	} },
	{ "bad-log-level.yaml", 1, {
		{ 5, 14, "eal.log-level",
		  "expected one of emerg, alert, crit, error, warning, notice, info, debug, found \"verbose\"" },
	} },
	{ "bad-nohuge-zero.yaml", 1, {
		{ 4, 14, "eal.memory-mb",
		  "when hugepages is false" },
	} },
	{ "bad-too-many-args.yaml", 1, {
		{ 5, 224, "eal.args[32]",
		  "too many entries, at most 32 allowed" },
	} },
	{ "bad-vips.yaml", 7, {
		{ 17, 14, "vips[0].address",
		  "203.0.113.1 is the address of port 'out', expected an address of its own" },
		{ 22, 9, "vips[0].backends[1]",
		  "backend 10.9.9.9 is not routable" },
		{ 26, 18, "vips[1].source-pool",
		  "pool nat has inside prefixes: a VIP's source-pool serves the balancer alone" },
		{ 27, 18, "vips[1].maglev-size",
		  "expected a prime number (1 backends: a prime from 101 to 4194301, 65537 by default), found 1000" },
		{ 29, 7, "vips[1].backends",
		  "every backend has weight 0" },
		{ 31, 14, "vips[2].address",
		  "203.0.113.80 port 80 tcp is already vip b: one VIP per address, port and protocol" },
		{ 36, 9, "vips[2].backends[1]",
		  "duplicate backend 192.0.2.11:80" },
	} },
	{ "bad-vip-proxy.yaml", 2, {
		{ 17, 21, "vips[0].proxy-protocol",
		  "v2 on a udp fullnat VIP: the header goes in front of the TCP stream a local address opens to the backend, expected protocol: tcp and forwarding: fullnat (or proxy-protocol: off)" },
		{ 22, 21, "vips[1].proxy-protocol",
		  "v2 on a tcp dnat VIP" },
	} },
	{ "bad-vip-syn-proxy.yaml", 2, {
		{ 17, 16, "vips[0].syn-proxy",
		  "on, on a udp fullnat VIP: the balancer completes the client's TCP handshake and opens its own from a local address to the backend, expected protocol: tcp and forwarding: fullnat (or syn-proxy: off)" },
		{ 22, 16, "vips[1].syn-proxy",
		  "on, on a tcp dnat VIP" },
	} },
	{ "bad-vip-syn-proxy-word.yaml", 1, {
		{ 16, 16, "vips[0].syn-proxy",
		  "expected one of off, on, found \"yes\"" },
	} },
	{ "bad-vip-proxy-word.yaml", 1, {
		{ 16, 21, "vips[0].proxy-protocol",
		  "expected one of off, v2, found \"v1\"" },
	} },
	{ "bad-vip-flood.yaml", 4, {
		{ 20, 27, "vips[0].half-open-per-worker",
		  "expected an integer from 0 to 67108864, found -1" },
		{ 21, 28, "vips[0].new-connections-per-s",
		  "expected an integer from 0 to 100000000, found 100000001" },
		{ 26, 27, "vips[1].half-open-per-worker",
		  "expected an integer from 0 to 67108864, found 67108865" },
		{ 27, 28, "vips[1].new-connections-per-s",
		  "expected an integer from 0 to 100000000, found -5" },
	} },
	{ "bad-vip-rate-word.yaml", 1, {
		{ 19, 28, "vips[0].new-connections-per-s",
		  "expected an integer from 0 to 100000000, found \"fast\"" },
	} },
	{ "bad-vip-half-open.yaml", 2, {
		{ 21, 27, "vips[0].half-open-per-worker",
		  "70000, expected at most nat.sessions-per-worker (65536): the bound keeps a SYN flood to a share of the connection table" },
		{ 27, 27, "vips[1].half-open-per-worker",
		  "a udp VIP has no half-open connections" },
	} },
	{ "bad-vip-pool.yaml", 1, {
		{ 14, 18, "vips[0].source-pool",
		  "no pool named \"nope\" in pools:" },
	} },
	{ "bad-top-sequence.yaml", 1, {
		{ 2, 1, "",
		  "expected a mapping of sections (eal, ports, routes, arp, dataplane, control, pools, timeouts, nat, nat-log, vips), found a sequence" },
	} },
	{ "bad-port-scalar.yaml", 1, {
		{ 10, 5, "ports[1]",
		  "expected a mapping, found \"outside\"" },
	} },
	{ "bad-pool-addr-form.yaml", 1, {
		{ 15, 9, "pools[0].addresses[1]",
		  "expected an address like 198.51.100.1, a prefix like 198.51.100.8/30 or a range like 198.51.100.20-198.51.100.22, found \"198.51.100\"" },
	} },
	{ "bad-pool-prefix-hostbits.yaml", 1, {
		{ 13, 17, "pools[0].addresses[0]",
		  "\"198.51.100.9/30\" has host bits set, expected a network address, did you mean 198.51.100.8/30?" },
	} },
	{ "bad-pool-range-reversed.yaml", 1, {
		{ 14, 9, "pools[0].addresses[0]",
		  "range start 198.51.100.22 is above its end 198.51.100.20, expected a-b with a <= b" },
	} },
	{ "bad-pool-prefix-large.yaml", 1, {
		{ 13, 31, "pools[0].addresses[1]",
		  "\"10.0.0.0/8\" is too large (16777216 addresses), expected a prefix length of 16 to 32" },
	} },
	{ "bad-pool-too-many.yaml", 1, {
		{ 14, 7, "pools[0].addresses",
		  "the entries expand to 4097 addresses, at most 4096 allowed in a pool" },
	} },
	{ "bad-pool-multicast.yaml", 2, {
		{ 13, 17, "pools[0].addresses[0]",
		  "224.0.0.1 is a multicast address, expected a unicast address" },
		{ 13, 28, "pools[0].addresses[1]",
		  "\"126.255.255.254-127.0.0.2\" includes 127.0.0.0, which is a loopback address, expected unicast addresses" },
	} },
	{ "bad-pool-ports-mixed.yaml", 1, {
		{ 14, 12, "pools[0].ports",
		  "1000-2000 mixes well-known ports (1-1023) with ports 1024-65535, which RFC 4787 REQ-3a keeps apart" },
	} },
	{ "bad-pool-ports-zero.yaml", 1, {
		{ 14, 12, "pools[0].ports",
		  "port 0 cannot be used, expected ports from 1 to 65535, found \"0-1023\"" },
	} },
	{ "bad-pool-exclude-outside.yaml", 2, {
		{ 15, 28, "pools[0].exclude-ports[1]",
		  "excluded port 8080 is outside the pool's ports 32768-60999" },
		{ 15, 34, "pools[0].exclude-ports[2]",
		  "excluded range \"60000-61000\" is not within the pool's ports 32768-60999" },
	} },
	{ "bad-pool-exclude-all.yaml", 1, {
		{ 16, 7, "pools[0].exclude-ports",
		  "every port of 5000-5010 is excluded, leaving none to allocate" },
	} },
	{ "bad-pool-mapping.yaml", 1, {
		{ 15, 14, "pools[0].mapping",
		  "expected one of endpoint-dependent, endpoint-independent, found \"full-cone\"" },
	} },
	{ "bad-pool-eif-edm.yaml", 1, {
		{ 15, 16, "pools[0].filtering",
		  "endpoint-independent filtering requires mapping: endpoint-independent (mapping is endpoint-dependent by default)" },
	} },
	{ "bad-pool-alg.yaml", 1, {
		{ 15, 10, "pools[0].alg",
		  "expected a sequence of ftp, found \"tftp\"" },
	} },
	{ "bad-pool-ftp-port.yaml", 2, {
		{ 16, 15, "pools[0].ftp-port",
		  "expected an integer from 2 to 65535, found 70000" },
		{ 20, 15, "pools[1].ftp-port",
		  "ftp-port applies to the FTP gateway, which is off: add alg: [ftp]" },
	} },
	{ "bad-pool-unknown-key.yaml", 1, {
		{ 15, 5, "pools[0].maping",
		  "unknown key, did you mean 'mapping'?" },
	} },
	{ "bad-pool-missing.yaml", 2, {
		{ 12, 5, "pools[0].inside",
		  "required key is missing, expected a sequence of inside prefixes like 192.0.2.0/24" },
		{ 13, 16, "pools[0].addresses",
		  "expected a non-empty sequence of addresses, found an empty sequence" },
	} },
	{ "bad-pool-dup-name.yaml", 1, {
		{ 15, 11, "pools[1].name",
		  "duplicate pool name 'default', already used by pools[0]" },
	} },
	{ "bad-pool-addr-two-pools.yaml", 1, {
		{ 16, 31, "pools[1].addresses[1]",
		  "198.51.100.4 is already in pool 'first' (pools[0].addresses[0]); an address can belong to one pool only" },
	} },
	{ "bad-pool-addr-twice.yaml", 1, {
		{ 16, 9, "pools[0].addresses[2]",
		  "198.51.100.14 is listed twice, already given by addresses[0]" },
	} },
	{ "bad-pool-addr-port.yaml", 3, {
		{ 15, 9, "pools[0].addresses[1]",
		  "203.0.113.1 is the address of port 'outside' itself" },
		{ 16, 9, "pools[0].addresses[2]",
		  "203.0.113.0 is the network address of the subnet 203.0.113.0/24 of port 'outside'" },
		{ 17, 9, "pools[0].addresses[3]",
		  "203.0.113.255 is the broadcast address of the subnet 203.0.113.0/24 of port 'outside'" },
	} },
	{ "bad-pool-addr-inside-subnet.yaml", 1, {
		{ 13, 31, "pools[0].addresses[1]",
		  "192.0.2.50 is on the subnet 192.0.2.0/24 of inside port 'inside', expected addresses reached through an outside port" },
	} },
	{ "bad-pool-inside-hostbits.yaml", 1, {
		{ 14, 14, "pools[0].inside[0]",
		  "\"192.0.2.1/24\" has host bits set, expected a network address, did you mean 192.0.2.0/24?" },
	} },
	{ "bad-pool-inside-overlap.yaml", 1, {
		{ 18, 9, "pools[1].inside[0]",
		  "192.0.2.128/25 overlaps inside prefix 192.0.2.0/24 of pool 'web'; a host would have two pools" },
	} },
	{ "bad-pool-inside-contains-addr.yaml", 1, {
		{ 17, 28, "pools[0].inside[1]",
		  "198.51.100.0/24 contains 198.51.100.7, an address of pool 'default'" },
	} },
	{ "bad-timeout-range.yaml", 2, {
		{ 12, 8, "timeouts.udp",
		  "expected an integer from 1 to 86400, found 0" },
		{ 13, 9, "timeouts.icmp",
		  "expected an integer from 1 to 86400, found 86401" },
	} },
	{ "bad-handoff-pow2.yaml", 4, {
		{ 12, 24, "nat.sessions-per-worker",
		  "expected an integer from 1024 to 67108864, found 1023" },
		{ 13, 17, "nat.handoff-ring",
		  "expected a power of two from 256 to 65536, found 1000" },
		{ 14, 24, "nat.fragment-timeout-ms",
		  "expected an integer from 100 to 30000, found 50" },
		{ 15, 23, "nat.fragment-datagrams",
		  "expected an integer from 16 to 65536, found 8" },
	} },
	{ "bad-multi.yaml", 9, {
		{ 4, 16, "eal.file-prefix",
		  "expected 1 to 63 characters" },
		{ 6, 11, "ports[0].name",
		  "expected a name of 1 to 31 characters" },
		{ 7, 13, "ports[0].device",
		  "expected a PCI address" },
		{ 13, 14, "ports[1].address",
		  "prefix length must be 8 to 32" },
		{ 14, 10, "ports[1].mtu",
		  "expected an integer from 68 to 9600, found 20" },
		{ 16, 13, "routes[0].prefix",
		  "did you mean 198.51.100.0/24?" },
		{ 18, 11, "routes[0].port",
		  "unknown port 'wan', known ports: outside" },
		{ 20, 10, "dataplane.burst",
		  "expected an integer from 1 to 256, found 0" },
		{ 22, 11, "control.socket",
		  "expected an absolute path" },
	} },
	{ "bad-pool-reserve-scalar.yaml", 1, {
		{ 14, 14, "pools[0].reserve",
		  "expected a sequence (entries starting with \"- \"), found \"198.51.100.2\"" },
	} },
	{ "bad-pool-reserve-form.yaml", 3, {
		{ 14, 15, "pools[0].reserve[0]",
		  "expected an address like 198.51.100.1, a prefix like 198.51.100.8/30 or a range like 198.51.100.20-198.51.100.22, found \"198.51.100\"" },
		{ 14, 27, "pools[0].reserve[1]",
		  "\"198.51.100.9/30\" has host bits set, expected a network address, did you mean 198.51.100.8/30?" },
		{ 14, 44, "pools[0].reserve[2]",
		  "224.0.0.1 is a multicast address, expected a unicast address" },
	} },
	{ "bad-pool-reserve-overlap.yaml", 5, {
		{ 19, 9, "pools[1].reserve[0]",
		  "198.51.100.16 is already one of the pool's addresses (addresses[0]); a reserve address must not be a regular one" },
		{ 20, 9, "pools[1].reserve[1]",
		  "198.51.100.4 is already in pool 'first' (pools[0].addresses[0]); an address can belong to one pool only" },
		{ 21, 9, "pools[1].reserve[2]",
		  "198.51.100.32 is already in pool 'first' (pools[0].reserve[0]); an address can belong to one pool only" },
		{ 22, 9, "pools[1].reserve[3]",
		  "203.0.113.1 is the address of port 'outside' itself, expected addresses the gateway does not use" },
		{ 24, 9, "pools[1].reserve[5]",
		  "198.51.100.41 is listed twice, already given by reserve[4]" },
	} },
	{ "bad-pool-reserve-too-many.yaml", 1, {
		{ 14, 14, "pools[0].reserve",
		  "addresses and reserve expand to 4352 addresses together, at most 4096 allowed in a pool" },
	} },
	{ "bad-pool-warn-type.yaml", 1, {
		{ 15, 21, "pools[0].warn-occupancy",
		  "expected an integer from 1 to 100, found \"80%\"" },
	} },
	{ "bad-pool-log-word.yaml", 1, {
		{ 15, 10, "pools[0].log",
		  "expected one of off, sessions, port-blocks, found \"everything\"" },
	} },
	{ "bad-pool-log-ranges.yaml", 6, {
		{ 15, 21, "pools[0].warn-occupancy",
		  "expected an integer from 1 to 100, found 0" },
		{ 17, 22, "pools[0].port-block-size",
		  "expected an integer from 8 to 32768, found 4" },
		{ 18, 26, "pools[0].max-blocks-per-host",
		  "expected an integer from 1 to 1024, found 1025" },
		{ 22, 21, "pools[1].warn-occupancy",
		  "expected an integer from 1 to 100, found 101" },
		{ 23, 22, "pools[1].port-block-size",
		  "expected an integer from 8 to 32768, found 32769" },
		{ 24, 26, "pools[1].max-blocks-per-host",
		  "expected an integer from 1 to 1024, found 0" },
	} },
	{ "bad-pool-log-no-dest.yaml", 2, {
		{ 15, 10, "pools[0].log",
		  "sessions needs a destination, expected nat-log.file or nat-log.syslog: true" },
		{ 19, 10, "pools[1].log",
		  "port-blocks needs a destination, expected nat-log.file or nat-log.syslog: true" },
	} },
	{ "bad-pool-block-size.yaml", 3, {
		{ 19, 22, "pools[0].port-block-size",
		  "expected at most 256, the number of ports in the pool's range (ports: 1024-1279), found 512" },
		{ 20, 5, "pools[1].port-block-size",
		  "expected at most 100, the number of ports in the pool's range (ports: 5000-5099), found 256 (the default)" },
		{ 29, 22, "pools[2].port-block-size",
		  "expected at most 256, the number of ports in the pool's range (ports: 1024-1279), found 300" },
	} },
	{ "bad-nat-log.yaml", 3, {
		{ 12, 9, "nat-log.file",
		  "expected an absolute path, found \"var/log/nat.jsonl\"" },
		{ 13, 11, "nat-log.syslog",
		  "expected true or false, found \"maybe\"" },
		{ 14, 9, "nat-log.ring",
		  "expected a power of two from 256 to 1048576, found 1000" },
	} },
	{ "bad-nat-log-dir.yaml", 2, {
		{ 12, 9, "nat-log.file",
		  "expected a file, found the directory \"/var/log/\"" },
		{ 13, 9, "nat-log.ring",
		  "expected a power of two from 256 to 1048576, found 128" },
	} },
	{ "bad-control-group.yaml", 1, {
		{ 13, 10, "control.group",
		  "expected the name of an existing group, found \"ephemera-no-such-group\" (no such group on this host)" },
	} },
	{ "bad-metrics-http-type.yaml", 1, {
		{ 13, 5, "control.metrics-http",
		  "expected a string, found a mapping" },
	} },
	{ "bad-pool-inbound-zero.yaml", 1, {
		{ 15, 30, "pools[0].max-inbound-per-mapping",
		  "expected an integer from 1 to 65535, found 0" },
	} },
	{ "bad-kernel-interface.yaml", 4, {
		{ 9, 23, "ports[0].kernel-interface",
		  "expected off or an interface name of 1 to 15 characters from a-z, A-Z, 0-9, '_', '-' and '.', found \"eph-kernel-inside0\"" },
		{ 14, 23, "ports[1].kernel-interface",
		  "expected off or an interface name of 1 to 15 characters from a-z, A-Z, 0-9, '_', '-' and '.', found \"eph k/out\"" },
		{ 24, 23, "ports[3].kernel-interface",
		  "kernel interface 'eph-k' is already used by port 'backends'" },
		{ 27, 16, "dataplane.kernel-rate",
		  "expected an integer from 0 to 10000000, found -1" },
	} },
	{ "bad-health.yaml", 10, {
		{ 17, 19, "vips[0].health-check.type",
		  "required key is missing, expected tcp, http or udp" },
		{ 17, 30, "vips[0].health-check.interval",
		  "expected a duration of 100 ms to 3600 s, as seconds (2, 1.5s) or milliseconds (500ms), found \"2 s\"" },
		{ 17, 44, "vips[0].health-check.timeout",
		  "expected a duration of 10 ms to 3600 s, as seconds (2, 1.5s) or milliseconds (500ms), found \"50us\"" },
		{ 17, 56, "vips[0].health-check.rise",
		  "expected an integer from 1 to 100, found 0" },
		{ 18, 35, "vips[0].outlier-detection.failures",
		  "expected an integer from 1 to 10000, found 0" },
		{ 18, 46, "vips[0].outlier-detection.window",
		  "expected a duration of 1000 ms to 3600 s, as seconds (2, 1.5s) or milliseconds (500ms), found \"0.5s\"" },
		{ 21, 59, "vips[0].backends[0].health-check.timeout",
		  "2000 ms is longer than the interval (1000 ms): expected at most the interval, one check at a time" },
		{ 21, 71, "vips[0].backends[0].health-check.expect",
		  "expected HTTP statuses 100 to 599 as a list of codes and ranges like 200-299,304, found \"200-700\"" },
		{ 21, 88, "vips[0].backends[0].health-check.path",
		  "expected a path of 1 to 255 printable characters without spaces starting with /, found \"healthz\"" },
		{ 23, 41, "vips[0].backends[1].health-check.path",
		  "only an http check has a path, host or expected statuses" },
	} },
	{ "bad-health-kernel.yaml", 2, {
		{ 21, 19, "vips[0].health-check",
		  "backend 192.0.2.11 is reached through port 'in', which has no kernel-interface: health checks run from the gateway's kernel through it, expected ports[in].kernel-interface" },
		{ 26, 19, "vips[1].health-check",
		  "backend 198.51.100.7 serves every port: expected health-check.port, the port to check" },
	} },
	{ "bad-mss-clamp.yaml", 2, {
		{ 9, 16, "ports[0].mss-clamp",
		  "expected off, auto or an MSS of 88 to 65495 bytes, found \"40\"" },
		{ 14, 16, "ports[1].mss-clamp",
		  "expected off, auto or an MSS of 88 to 65495 bytes, found \"always\"" },
	} },
};
/* clang-format on */

static void
test_bad(void **state)
{
	const struct bad_case *c = *state;
	struct eph_conf conf;
	struct output out;
	char path[PATH_MAX], prefix[PATH_MAX + 256];
	const char *line;
	unsigned i;

	data_path(path, sizeof(path), "conf/");
	strncat(path, c->file, sizeof(path) - strlen(path) - 1);
	assert_int_equal(load(path, &conf, &out), -EINVAL);
	assert_int_equal(count_lines(out.buf, "error"), c->n);
	assert_int_equal(count_lines(out.buf, "warning"), 0);
	/* Nothing that needs freeing is left on failure. */
	assert_null(conf.routes);
	assert_int_equal(conf.eal.n_args, 0);
	assert_int_equal(conf.n_pools, 0);
	for (i = 0; i < EPH_MAX_POOLS; i++) {
		assert_null(conf.pools[i].addrs);
		assert_null(conf.pools[i].excluded);
		assert_null(conf.pools[i].inside);
		assert_null(conf.pools[i].reserve);
	}

	line = out.buf;
	for (i = 0; i < c->n; i++) {
		const struct bad_expect *e = &c->e[i];
		const char *nl = strchr(line, '\n');
		size_t plen;

		assert_non_null(nl);
		snprintf(prefix, sizeof(prefix), "%s:%u:%u: error: %s%s", path, e->line, e->col,
			 e->path, e->path[0] ? ": " : "");
		plen = strlen(prefix);
		if (strncmp(line, prefix, plen) != 0 ||
		    memmem(line + plen, nl - line - plen, e->msg, strlen(e->msg)) == NULL) {
			print_error("expected: %s...%s\n     got: %.*s\n", prefix, e->msg,
				    (int)(nl - line), line);
			fail();
		}
		line = nl + 1;
	}
	assert_string_equal(line, "");
	free(out.buf);
}

/* ports[].mss-clamp: off by default, auto, a fixed limit; a change needs a restart. */
static void
test_mss_clamp(void **state)
{
	struct eph_conf conf, other;
	struct changes got = {0};

	(void)state;
	load_ok("conf/mss-clamp.yaml", &conf);
	assert_int_equal(conf.ports[0].mss_clamp, EPH_MSS_CLAMP_AUTO);
	assert_int_equal(conf.ports[1].mss_clamp, 1360);
	load_ok("conf/good-control.yaml", &other);
	assert_int_equal(other.ports[0].mss_clamp, EPH_MSS_CLAMP_OFF);
	eph_conf_free(&other);

	assert_int_equal(eph_conf_dup(&other, &conf), 0);
	other.ports[0].mss_clamp = EPH_MSS_CLAMP_OFF;
	other.ports[1].mss_clamp = EPH_MSS_CLAMP_AUTO;
	assert_int_equal(eph_conf_diff(&conf, &other, collect, &got), 2);
	assert_string_equal(got.line[0], "ports[inside].mss-clamp: auto -> off");
	assert_true(got.restart[0]);
	assert_string_equal(got.line[1], "ports[outside].mss-clamp: 1360 -> auto");
	assert_true(got.restart[1]);
	eph_conf_free(&other);
	eph_conf_free(&conf);
}

/* ports[].kernel-interface: none by default, a name or off; dataplane.kernel-rate; restarts. */
static void
test_kernel_interface(void **state)
{
	struct eph_conf conf, other;
	struct changes got = {0};

	(void)state;
	load_ok("conf/kernel-interface.yaml", &conf);
	assert_string_equal(conf.ports[0].kernel_if, "eph-k-in");
	assert_string_equal(conf.ports[1].kernel_if, "");
	assert_string_equal(conf.ports[2].kernel_if, "ephk.lb_2");
	assert_int_equal(conf.dataplane.kernel_rate, 5000);
	load_ok("conf/good-control.yaml", &other);
	assert_string_equal(other.ports[0].kernel_if, "");
	assert_int_equal(other.dataplane.kernel_rate, 100000);
	eph_conf_free(&other);

	assert_int_equal(eph_conf_dup(&other, &conf), 0);
	other.ports[0].kernel_if[0] = '\0';
	snprintf(other.ports[1].kernel_if, sizeof(other.ports[1].kernel_if), "eph-k-out");
	other.dataplane.kernel_rate = 0;
	assert_int_equal(eph_conf_diff(&conf, &other, collect, &got), 3);
	assert_string_equal(got.line[0], "ports[inside].kernel-interface: eph-k-in -> (none)");
	assert_true(got.restart[0]);
	assert_string_equal(got.line[1], "ports[outside].kernel-interface: (none) -> eph-k-out");
	assert_true(got.restart[1]);
	assert_string_equal(got.line[2], "dataplane.kernel-rate: 5000 -> 0");
	assert_true(got.restart[2]);
	eph_conf_free(&other);
	eph_conf_free(&conf);
}

/* vips[].health-check (and a backend's own), outlier-detection, all-down; their diff lines. */
static void
test_health_keys(void **state)
{
	struct eph_conf conf, other;
	struct changes got = {0};
	const struct eph_conf_vip *v;
	const struct eph_conf_health *h;

	(void)state;
	load_ok("conf/good-health.yaml", &conf);
	v = &conf.vips[0];
	h = &v->health;
	assert_int_equal(h->type, EPH_HEALTH_HTTP);
	assert_int_equal(h->port, 8081);
	assert_int_equal(h->interval_ms, 1500);
	assert_int_equal(h->timeout_ms, 500);
	assert_int_equal(h->rise, 4);
	assert_int_equal(h->fall, 5);
	assert_string_equal(h->path, "/healthz?full=1");
	assert_string_equal(h->host, "web.example");
	assert_string_equal(h->expect, "200-204,301");
	for (unsigned int st = 100; st <= EPH_HEALTH_STATUS_MAX; st++)
		assert_int_equal((h->expect_set[st / 8] >> (st % 8)) & 1,
				 (st >= 200 && st <= 204) || st == 301);
	assert_int_equal(v->outlier.failures, 7);
	assert_int_equal(v->outlier.window_ms, 20000);
	assert_int_equal(v->outlier.ejection_ms, 45000);
	assert_int_equal(v->all_down, EPH_LB_ALL_DOWN_REFUSE);
	assert_false(v->backends[0].own_health);
	assert_true(v->backends[1].own_health);
	assert_int_equal(v->backends[1].health.type, EPH_HEALTH_UDP);
	assert_int_equal(v->backends[1].health.port, 53);
	assert_string_equal(v->backends[1].health.send, "probe");
	assert_int_equal(v->backends[1].health.interval_ms, 3000);
	assert_int_equal(v->backends[1].health.timeout_ms, 1000); /* default */
	/* Defaults: no check, passive detection on with its defaults when the mapping is there. */
	v = &conf.vips[1];
	assert_int_equal(v->health.type, EPH_HEALTH_NONE);
	assert_int_equal(v->outlier.failures, 5);
	assert_int_equal(v->outlier.window_ms, 10000);
	assert_int_equal(v->outlier.ejection_ms, 30000);
	assert_int_equal(v->all_down, EPH_LB_ALL_DOWN_KEEP);

	assert_int_equal(eph_conf_dup(&other, &conf), 0);
	other.vips[0].health.fall = 2;
	other.vips[0].all_down = EPH_LB_ALL_DOWN_KEEP;
	other.vips[0].backends[1].health.port = 54;
	assert_int_equal(eph_conf_diff(&conf, &other, collect, &got), 3);
	assert_string_equal(got.line[0], "vip web: health-check http changed");
	assert_false(got.restart[0]);
	assert_string_equal(got.line[1], "vip web: all-down refuse -> keep");
	assert_string_equal(got.line[2], "vip web: backend 192.0.2.12:80 health-check changed");
	eph_conf_free(&other);
	eph_conf_free(&conf);
}

int
main(void)
{
	/* clang-format off */
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_example),
		cmocka_unit_test(test_kernel_interface),
		cmocka_unit_test(test_health_keys),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_null_err_stream),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_many_routes),
		cmocka_unit_test(test_pools),
		cmocka_unit_test(test_example_nat_pools),
		cmocka_unit_test(test_vips),
		cmocka_unit_test(test_example_lb),
		cmocka_unit_test(test_pool_warnings),
		cmocka_unit_test(test_timeout_limits),
		cmocka_unit_test(test_many_pools),
		cmocka_unit_test(test_control_keys),
		cmocka_unit_test(test_control_warnings),
		cmocka_unit_test(test_metrics_http),
		cmocka_unit_test(test_example_control_plane),
		cmocka_unit_test(test_dup),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_diff_vips),
		cmocka_unit_test(test_diff_restart),
		cmocka_unit_test(test_mss_clamp),
	};
	/* clang-format on */
	struct CMUnitTest all[N_OF(tests) + N_OF(bad_cases)];
	size_t n = 0;

	for (size_t k = 0; k < N_OF(tests); k++)
		all[n++] = tests[k];
	/* One test per bad file, named as it. */
	for (size_t k = 0; k < N_OF(bad_cases); k++)
		all[n++] = (struct CMUnitTest){ bad_cases[k].file, test_bad, NULL, NULL,
						(void *)&bad_cases[k] };
	return _cmocka_run_group_tests("config", all, n, NULL, NULL);
}

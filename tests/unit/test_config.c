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
	char path[PATH_MAX], want[3 * PATH_MAX + 512];

	(void)state;
	data_path(path, sizeof(path), "conf/warn.yaml");
	assert_int_equal(load(path, &conf, &out), 0);
	snprintf(want, sizeof(want),
		 "%s:3:10: warning: eal.args[0]: '--lcores' is also generated from eal.lcores; "
		 "set it there instead\n"
		 "%s:14:10: warning: dataplane.mbufs: 20000 is not of the form 2^n - 1; the packet "
		 "pool is most memory-efficient at sizes like 16383\n"
		 "%s:17:1: warning: only the first YAML document is used, this one is ignored\n",
		 path, path, path);
	assert_string_equal(out.buf, want);
	free(out.buf);
	assert_int_equal(conf.dataplane.mbufs, 20000);
	assert_int_equal(conf.eal.n_args, 1);
	assert_int_equal(conf.n_ports, 2);
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
	assert_int_equal(p->quarantine_s, 120);

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
	assert_int_equal(p->max_sessions_per_host, 16777216);
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
/* Bad files: every expected diagnostic, in order, and nothing else */

struct bad_expect {
	unsigned line;
	unsigned col;
	const char *path; /* key path, "" for none */
	const char *msg;  /* must appear in the message */
};

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
		  "unknown key, expected one of eal, ports, routes, arp, dataplane, control, pools, timeouts, nat" },
	} },
	{ "bad-unknown-nested.yaml", 1, {
		{ 4, 3, "eal.memory_mb",
		  "did you mean 'memory-mb'?" },
	} },
	{ "bad-unknown-port-key.yaml", 1, {
		{ 14, 5, "ports[1].vlan",
		  "unknown key, expected one of name, device, role, address, mtu, rx-desc, tx-desc, promiscuous" },
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
	{ "bad-top-sequence.yaml", 1, {
		{ 2, 1, "",
		  "expected a mapping of sections (eal, ports, routes, arp, dataplane, control, pools, timeouts, nat), found a sequence" },
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
	{ "bad-handoff-pow2.yaml", 2, {
		{ 12, 24, "nat.sessions-per-worker",
		  "expected an integer from 1024 to 67108864, found 1023" },
		{ 13, 17, "nat.handoff-ring",
		  "expected a power of two from 256 to 65536, found 1000" },
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

int
main(void)
{
	/* clang-format off */
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_example),
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
		cmocka_unit_test(test_pool_warnings),
		cmocka_unit_test(test_many_pools),
		{ "bad-yaml-indent.yaml", test_bad, NULL, NULL, (void *)&bad_cases[0] },
		{ "bad-yaml-quote.yaml", test_bad, NULL, NULL, (void *)&bad_cases[1] },
		{ "bad-unknown-top.yaml", test_bad, NULL, NULL, (void *)&bad_cases[2] },
		{ "bad-unknown-nested.yaml", test_bad, NULL, NULL, (void *)&bad_cases[3] },
		{ "bad-unknown-port-key.yaml", test_bad, NULL, NULL, (void *)&bad_cases[4] },
		{ "bad-type-int.yaml", test_bad, NULL, NULL, (void *)&bad_cases[5] },
		{ "bad-type-int-suffix.yaml", test_bad, NULL, NULL, (void *)&bad_cases[6] },
		{ "bad-type-seq-for-map.yaml", test_bad, NULL, NULL, (void *)&bad_cases[7] },
		{ "bad-type-map-for-seq.yaml", test_bad, NULL, NULL, (void *)&bad_cases[8] },
		{ "bad-type-bool.yaml", test_bad, NULL, NULL, (void *)&bad_cases[9] },
		{ "bad-range-burst.yaml", test_bad, NULL, NULL, (void *)&bad_cases[10] },
		{ "bad-range-negative.yaml", test_bad, NULL, NULL, (void *)&bad_cases[11] },
		{ "bad-desc-pow2.yaml", test_bad, NULL, NULL, (void *)&bad_cases[12] },
		{ "bad-mtu.yaml", test_bad, NULL, NULL, (void *)&bad_cases[13] },
		{ "bad-role.yaml", test_bad, NULL, NULL, (void *)&bad_cases[14] },
		{ "bad-addr-octet.yaml", test_bad, NULL, NULL, (void *)&bad_cases[15] },
		{ "bad-addr-noprefix.yaml", test_bad, NULL, NULL, (void *)&bad_cases[16] },
		{ "bad-addr-len.yaml", test_bad, NULL, NULL, (void *)&bad_cases[17] },
		{ "bad-addr-network.yaml", test_bad, NULL, NULL, (void *)&bad_cases[18] },
		{ "bad-addr-broadcast.yaml", test_bad, NULL, NULL, (void *)&bad_cases[19] },
		{ "bad-addr-loopback.yaml", test_bad, NULL, NULL, (void *)&bad_cases[20] },
		{ "bad-addr-multicast.yaml", test_bad, NULL, NULL, (void *)&bad_cases[21] },
		{ "bad-device-pci.yaml", test_bad, NULL, NULL, (void *)&bad_cases[22] },
		{ "bad-device.yaml", test_bad, NULL, NULL, (void *)&bad_cases[23] },
		{ "bad-vdev-args.yaml", test_bad, NULL, NULL, (void *)&bad_cases[24] },
		{ "bad-dup-name.yaml", test_bad, NULL, NULL, (void *)&bad_cases[25] },
		{ "bad-dup-device.yaml", test_bad, NULL, NULL, (void *)&bad_cases[26] },
		{ "bad-dup-address.yaml", test_bad, NULL, NULL, (void *)&bad_cases[27] },
		{ "bad-overlap.yaml", test_bad, NULL, NULL, (void *)&bad_cases[28] },
		{ "bad-route-hostbits.yaml", test_bad, NULL, NULL, (void *)&bad_cases[29] },
		{ "bad-route-via-unreachable.yaml", test_bad, NULL, NULL, (void *)&bad_cases[30] },
		{ "bad-route-unknown-port.yaml", test_bad, NULL, NULL, (void *)&bad_cases[31] },
		{ "bad-route-via-wrong-port.yaml", test_bad, NULL, NULL, (void *)&bad_cases[32] },
		{ "bad-route-dup.yaml", test_bad, NULL, NULL, (void *)&bad_cases[33] },
		{ "bad-route-connected.yaml", test_bad, NULL, NULL, (void *)&bad_cases[34] },
		{ "bad-route-via-self.yaml", test_bad, NULL, NULL, (void *)&bad_cases[35] },
		{ "bad-route-missing-via.yaml", test_bad, NULL, NULL, (void *)&bad_cases[36] },
		{ "bad-missing-ports.yaml", test_bad, NULL, NULL, (void *)&bad_cases[37] },
		{ "bad-port-missing-address.yaml", test_bad, NULL, NULL, (void *)&bad_cases[38] },
		{ "bad-ports-empty.yaml", test_bad, NULL, NULL, (void *)&bad_cases[39] },
		{ "bad-socket-relative.yaml", test_bad, NULL, NULL, (void *)&bad_cases[40] },
		{ "bad-file-prefix-long.yaml", test_bad, NULL, NULL, (void *)&bad_cases[41] },
		{ "bad-dup-key.yaml", test_bad, NULL, NULL, (void *)&bad_cases[42] },
		{ "bad-lcores.yaml", test_bad, NULL, NULL, (void *)&bad_cases[43] },
		{ "bad-log-level.yaml", test_bad, NULL, NULL, (void *)&bad_cases[44] },
		{ "bad-nohuge-zero.yaml", test_bad, NULL, NULL, (void *)&bad_cases[45] },
		{ "bad-too-many-args.yaml", test_bad, NULL, NULL, (void *)&bad_cases[46] },
		{ "bad-top-sequence.yaml", test_bad, NULL, NULL, (void *)&bad_cases[47] },
		{ "bad-port-scalar.yaml", test_bad, NULL, NULL, (void *)&bad_cases[48] },
		{ "bad-pool-addr-form.yaml", test_bad, NULL, NULL, (void *)&bad_cases[49] },
		{ "bad-pool-prefix-hostbits.yaml", test_bad, NULL, NULL, (void *)&bad_cases[50] },
		{ "bad-pool-range-reversed.yaml", test_bad, NULL, NULL, (void *)&bad_cases[51] },
		{ "bad-pool-prefix-large.yaml", test_bad, NULL, NULL, (void *)&bad_cases[52] },
		{ "bad-pool-too-many.yaml", test_bad, NULL, NULL, (void *)&bad_cases[53] },
		{ "bad-pool-multicast.yaml", test_bad, NULL, NULL, (void *)&bad_cases[54] },
		{ "bad-pool-ports-mixed.yaml", test_bad, NULL, NULL, (void *)&bad_cases[55] },
		{ "bad-pool-ports-zero.yaml", test_bad, NULL, NULL, (void *)&bad_cases[56] },
		{ "bad-pool-exclude-outside.yaml", test_bad, NULL, NULL, (void *)&bad_cases[57] },
		{ "bad-pool-exclude-all.yaml", test_bad, NULL, NULL, (void *)&bad_cases[58] },
		{ "bad-pool-mapping.yaml", test_bad, NULL, NULL, (void *)&bad_cases[59] },
		{ "bad-pool-eif-edm.yaml", test_bad, NULL, NULL, (void *)&bad_cases[60] },
		{ "bad-pool-unknown-key.yaml", test_bad, NULL, NULL, (void *)&bad_cases[61] },
		{ "bad-pool-missing.yaml", test_bad, NULL, NULL, (void *)&bad_cases[62] },
		{ "bad-pool-dup-name.yaml", test_bad, NULL, NULL, (void *)&bad_cases[63] },
		{ "bad-pool-addr-two-pools.yaml", test_bad, NULL, NULL, (void *)&bad_cases[64] },
		{ "bad-pool-addr-twice.yaml", test_bad, NULL, NULL, (void *)&bad_cases[65] },
		{ "bad-pool-addr-port.yaml", test_bad, NULL, NULL, (void *)&bad_cases[66] },
		{ "bad-pool-addr-inside-subnet.yaml", test_bad, NULL, NULL, (void *)&bad_cases[67] },
		{ "bad-pool-inside-hostbits.yaml", test_bad, NULL, NULL, (void *)&bad_cases[68] },
		{ "bad-pool-inside-overlap.yaml", test_bad, NULL, NULL, (void *)&bad_cases[69] },
		{ "bad-pool-inside-contains-addr.yaml", test_bad, NULL, NULL, (void *)&bad_cases[70] },
		{ "bad-timeout-range.yaml", test_bad, NULL, NULL, (void *)&bad_cases[71] },
		{ "bad-handoff-pow2.yaml", test_bad, NULL, NULL, (void *)&bad_cases[72] },
		{ "bad-multi.yaml", test_bad, NULL, NULL, (void *)&bad_cases[73] },
	};
	/* clang-format on */

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}

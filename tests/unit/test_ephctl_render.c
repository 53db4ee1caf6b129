/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ephctl's output (control/ephctl/render.c): each renderer is fed a daemon
 * result as the control protocol shapes it and the text is compared byte
 * for byte: column widths, alignment, empty and truncated results, the
 * YAML-like config, change summaries, warnings on stderr and a top frame
 * with rates from two samples. No daemon, no DPDK.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "control/ephctl/args.h"
#include "control/ephctl/render.h"

typedef int render_fn(FILE *out, const json_t *result);

/* JSON written with single quotes, to keep the tests readable. */
static json_t *
load(const char *text)
{
	char *s = strdup(text);
	json_error_t err;
	json_t *j;

	assert_non_null(s);
	for (char *c = s; *c != '\0'; c++)
		if (*c == '\'')
			*c = '"';
	j = json_loads(s, 0, &err);
	if (j == NULL)
		fail_msg("bad test JSON at column %d: %s", err.column, err.text);
	free(s);
	return j;
}

/* Renders the result; the caller frees the text. */
static char *
render(render_fn *fn, const char *result, int expect_rc)
{
	json_t *j = load(result);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(fn(f, j), expect_rc);
	fclose(f);
	json_decref(j);
	return text;
}

static void
check(render_fn *fn, const char *result, const char *expected)
{
	char *text = render(fn, result, 0);

	assert_string_equal(text, expected);
	free(text);
}

static void
test_duration_and_bar(void **state)
{
	static const struct {
		long long s;
		const char *text;
	} d[] = {
		{ -1, "-" },	     { 0, "0s" },	  { 59, "59s" },      { 60, "1m00s" },
		{ 3599, "59m59s" },  { 3600, "1h00m" },	  { 7440, "2h04m" },  { 86399, "23h59m" },
		{ 86400, "1d00h" }, { 200000, "2d07h" },
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		ephctl_format_duration(buf, sizeof(buf), d[i].s);
		assert_string_equal(buf, d[i].text);
	}
	ephctl_format_bar(buf, sizeof(buf), 0);
	assert_string_equal(buf, "[..........]   0.0%");
	ephctl_format_bar(buf, sizeof(buf), 4.9);
	assert_string_equal(buf, "[..........]   4.9%");
	ephctl_format_bar(buf, sizeof(buf), 5);
	assert_string_equal(buf, "[#.........]   5.0%");
	ephctl_format_bar(buf, sizeof(buf), 52);
	assert_string_equal(buf, "[#####.....]  52.0%");
	ephctl_format_bar(buf, sizeof(buf), 100);
	assert_string_equal(buf, "[##########] 100.0%");
	/* The bar stays inside its brackets; the number is not hidden. */
	ephctl_format_bar(buf, sizeof(buf), 130);
	assert_string_equal(buf, "[##########] 130.0%");
	ephctl_format_bar(buf, sizeof(buf), -3);
	assert_string_equal(buf, "[..........]  -3.0%");
}

static const char stats_result[] =
	"{'uptime_s': 12345,"
	" 'totals': {'rx_packets': 246912, 'tx_packets': 246612, 'drops': 17, 'sessions': 1500},"
	" 'workers': ["
	"  {'id': 0, 'lcore': 1, 'rx_packets': 123456, 'tx_packets': 123356, 'drops': 12,"
	"   'polls': 1000, 'busy_polls': 125, 'sessions': 750,"
	"   'handoff_in': 40, 'handoff_out': 38},"
	"  {'id': 1, 'lcore': 2, 'rx_packets': 123456, 'tx_packets': 123256, 'drops': 5,"
	"   'polls': 0, 'busy_polls': 0, 'sessions': 750, 'handoff_in': 38, 'handoff_out': 40}],"
	" 'drops': {'ethertype_unsupported': 16, 'ttl_exceeded': 1},"
	" 'nat': {'sessions_created': 1720, 'sessions_expired': 220}}";

static void
test_stats(void **state)
{
	check(ephctl_render_stats, stats_result,
	      "uptime 3h25m, 2 workers\n"
	      "\n"
	      "WORKER  LCORE      RX      TX  DROPS  SESSIONS   BUSY  HANDOFF-IN  HANDOFF-OUT\n"
	      "0           1  123456  123356     12       750  12.5%          40           38\n"
	      "1           2  123456  123256      5       750      -          38           40\n"
	      "total          246912  246612     17      1500  12.5%          78           78\n"
	      "\n"
	      "DROP REASON            PACKETS\n"
	      "ethertype_unsupported       16\n"
	      "ttl_exceeded                 1\n"
	      "\n"
	      "NAT COUNTER       COUNT\n"
	      "sessions_created   1720\n"
	      "sessions_expired    220\n");
	/* Nothing dropped, no NAT, a worker without counters, one worker. */
	check(ephctl_render_stats,
	      "{'uptime_s': 5, 'totals': {'rx_packets': 0, 'tx_packets': 0, 'drops': 0,"
	      " 'sessions': 0}, 'workers': [{'id': 0}], 'drops': {}, 'nat': {}}",
	      "uptime 5s, 1 worker\n"
	      "\n"
	      "WORKER  LCORE  RX  TX  DROPS  SESSIONS  BUSY  HANDOFF-IN  HANDOFF-OUT\n"
	      "0           -   -   -      -         -     -           -            -\n"
	      "total           0   0      0         0     -           0            0\n"
	      "\n"
	      "no drops\n");
	free(render(ephctl_render_stats, "{'uptime_s': 5}", -1));
}

static void
test_ports(void **state)
{
	check(ephctl_render_ports,
	      "{'ports': ["
	      " {'name': 'inside', 'device': 'net_af_packet0,iface=eph-in', 'role': 'inside',"
	      "  'address': '192.0.2.1/24', 'mac': '02:00:00:00:00:01', 'mtu': 1500,"
	      "  'link_up': true, 'speed_mbps': 10000, 'rx_packets': 194, 'tx_packets': 224,"
	      "  'rx_bytes': 19400,"
	      "  'tx_bytes': 22400, 'rx_missed': 0, 'rx_errors': 0, 'tx_errors': 0,"
	      "  'kernel_interface': 'eph-k-in', 'to_kernel': 12, 'from_kernel': 9},"
	      " {'name': 'outside', 'device': '0000:3b:00.0', 'role': 'outside',"
	      "  'address': '203.0.113.1/24', 'mac': '02:00:00:00:00:02', 'mtu': 9000,"
	      "  'link_up': false, 'speed_mbps': 0, 'rx_packets': 1229, 'tx_packets': 183,"
	      "  'rx_bytes': 122900, 'tx_bytes': 18300, 'rx_missed': 3, 'rx_errors': 1,"
	      "  'tx_errors': 0, 'kernel_interface': null, 'to_kernel': 0, 'from_kernel': 0},"
	      " {'name': 'mgmt', 'device': 'net_memif0', 'role': 'inside', 'address': '10.0.0.1/8',"
	      "  'mac': '02:00:00:00:00:03', 'mtu': 1500, 'link_up': true, 'speed_mbps': 2500}]}",
	      "NAME     ROLE     ADDRESS         MAC                MTU   LINK          KERNEL    DEVICE\n"
	      "inside   inside   192.0.2.1/24    02:00:00:00:00:01  1500  up 10 Gb/s    eph-k-in  "
	      "net_af_packet0,iface=eph-in\n"
	      "outside  outside  203.0.113.1/24  02:00:00:00:00:02  9000  down          -         "
	      "0000:3b:00.0\n"
	      "mgmt     inside   10.0.0.1/8      02:00:00:00:00:03  1500  up 2500 Mb/s  -         "
	      "net_memif0\n"
	      "\n"
	      "NAME       RX   TX  RX-BYTES  TX-BYTES  RX-MISSED  RX-ERRORS  TX-ERRORS  TO-KERNEL  FROM-KERNEL\n"
	      "inside    194  224     19400     22400          0          0          0         12            9\n"
	      "outside  1229  183    122900     18300          3          1          0          0            0\n"
	      "mgmt        -    -         -         -          -          -          -          -            -\n");
	check(ephctl_render_ports, "{'ports': []}", "no ports\n");
}

static void
test_pools(void **state)
{
	check(ephctl_render_pools,
	      "{'pools': ["
	      " {'name': 'default', 'mapping': 'endpoint-dependent',"
	      "  'filtering': 'endpoint-dependent', 'pooling': 'paired', 'ports': '1024-65535',"
	      "  'log': 'off', 'warn_occupancy_pct': 80,"
	      "  'inside': ['192.0.2.0/24', '198.18.0.0/15'], 'sessions': 1500, 'refused': 3,"
	      "  'addresses': ["
	      "   {'address': '203.0.113.100', 'state': 'active', 'ports_in_use': 1375,"
	      "    'ports_per_destination': 64512, 'refused': 0},"
	      "   {'address': '203.0.113.103', 'state': 'draining', 'ports_in_use': 5,"
	      "    'ports_per_destination': 64512, 'refused': 3}]},"
	      " {'name': 'guests', 'mapping': 'endpoint-independent',"
	      "  'filtering': 'endpoint-independent', 'pooling': 'arbitrary',"
	      "  'ports': '20000-20015',"
	      "  'log': 'sessions', 'inside': [], 'sessions': 0, 'refused': 0, 'addresses': []}]}",
	      "pool default\n"
	      "  inside     192.0.2.0/24, 198.18.0.0/15\n"
	      "  ports      1024-65535\n"
	      "  mapping    endpoint-dependent\n"
	      "  filtering  endpoint-dependent\n"
	      "  pooling    paired\n"
	      "  log        off\n"
	      "  warn at    80% of a destination's ports\n"
	      "  sessions   1500\n"
	      "  refused    3\n"
	      "\n"
	      "  ADDRESS        STATE     PORTS-IN-USE  PORTS-PER-DEST  REFUSED\n"
	      "  203.0.113.100  active            1375           64512        0\n"
	      "  203.0.113.103  draining             5           64512        3\n"
	      "\n"
	      "pool guests\n"
	      "  inside     -\n"
	      "  ports      20000-20015\n"
	      "  mapping    endpoint-independent\n"
	      "  filtering  endpoint-independent\n"
	      "  pooling    arbitrary\n"
	      "  log        sessions\n"
	      "  warn at    -\n"
	      "  sessions   0\n"
	      "  refused    0\n"
	      "\n"
	      "  no addresses\n");
	check(ephctl_render_pools, "{'pools': []}", "no pools configured\n");
	free(render(ephctl_render_pools, "{'pool': []}", -1));
}

#define SESSION_TCP                                                                           \
	"{'proto': 'tcp', 'inside': '192.0.2.11:40000', 'outside': '203.0.113.100:40000',"    \
	" 'remote': '203.0.113.10:80', 'state': 'established', 'pool': 'default', 'worker': 0," \
	" 'age_s': 3, 'expires_in_s': 7437}"
#define SESSION_UDP                                                                           \
	"{'proto': 'udp', 'inside': '192.0.2.112:5353', 'outside': '203.0.113.101:61000',"    \
	" 'remote': '198.51.100.53:53', 'state': 'active', 'pool': 'default', 'worker': 1,"   \
	" 'age_s': 4000, 'expires_in_s': 299}"

static void
test_sessions(void **state)
{
	static const char table[] =
		"PROTO  INSIDE            OUTSIDE              REMOTE            STATE"
		"        POOL     WORKER    AGE  EXPIRES\n"
		"tcp    192.0.2.11:40000  203.0.113.100:40000  203.0.113.10:80   established"
		"  default       0     3s    2h03m\n"
		"udp    192.0.2.112:5353  203.0.113.101:61000  198.51.100.53:53  active"
		"       default       1  1h06m    4m59s\n";
	char *expected;

	check(ephctl_render_sessions,
	      "{'sessions': [" SESSION_TCP ", " SESSION_UDP "], 'matched': 2, 'truncated': false}",
	      table);
	assert_true(asprintf(&expected, "%s%s", table,
			     "2 of 1500 sessions shown (show more with: limit N)\n") > 0);
	check(ephctl_render_sessions,
	      "{'sessions': [" SESSION_TCP ", " SESSION_UDP "],"
	      " 'matched': 1500, 'truncated': true}",
	      expected);
	free(expected);
	check(ephctl_render_sessions, "{'sessions': [], 'matched': 0, 'truncated': false}",
	      "no sessions match\n");
	/* Fields a newer or older daemon leaves out print as "-". */
	check(ephctl_render_sessions, "{'sessions': [{'proto': 'icmp', 'age_s': 'x'}]}",
	      "PROTO  INSIDE  OUTSIDE  REMOTE  STATE  POOL  WORKER  AGE  EXPIRES\n"
	      "icmp   -       -        -       -      -          -    -        -\n");
	free(render(ephctl_render_sessions, "{'matched': 0}", -1));
}

static void
test_destinations(void **state)
{
	check(ephctl_render_destinations,
	      "{'destinations': ["
	      " {'pool': 'guests', 'outside': '198.51.100.8', 'remote': '*', 'proto': 'udp',"
	      "  'worker': 0, 'live': 7, 'resting': 1, 'share': 8, 'occupancy_pct': 100},"
	      " {'pool': 'default', 'outside': '203.0.113.100', 'remote': '203.0.113.10:80',"
	      "  'proto': 'tcp', 'worker': 1, 'live': 16000, 'resting': 128, 'share': 32256,"
	      "  'occupancy_pct': 50.0},"
	      " {'pool': 'default', 'outside': '203.0.113.101', 'remote': '203.0.113.10:443',"
	      "  'proto': 'tcp', 'worker': 0, 'live': 4000, 'resting': 32, 'share': 32256,"
	      "  'occupancy_pct': 12.5}]}",
	      "POOL     OUTSIDE        REMOTE            PROTO  WORKER   LIVE  RESTING  SHARE"
	      "  OCCUPANCY\n"
	      "guests   198.51.100.8   *                 udp         0      7        1      8"
	      "  [##########] 100.0%\n"
	      "default  203.0.113.100  203.0.113.10:80   tcp         1  16000      128  32256"
	      "  [#####.....]  50.0%\n"
	      "default  203.0.113.101  203.0.113.10:443  tcp         0   4000       32  32256"
	      "  [#.........]  12.5%\n");
	check(ephctl_render_destinations, "{'destinations': []}", "no destinations in use\n");
}

static void
test_config(void **state)
{
	check(ephctl_render_config,
	      "{'path': '/etc/ephemera.yaml', 'generation': 3,"
	      " 'changed_at': '2026-11-28T01:02:03Z',"
	      " 'last_change': 'ephctl pool add-address default 203.0.113.104',"
	      " 'pools': [{'name': 'default', 'addresses': ['203.0.113.100', '203.0.113.104'],"
	      "   'draining': [], 'ports': '1024-65535', 'excluded': [8080, '5000-5010'],"
	      "   'inside': ['192.0.2.0/24'], 'port_preservation': false, 'quarantine_s': 120,"
	      "   'log': 'off'},"
	      "  {'name': 'true', 'addresses': ['198.51.100.8'], 'note': 'a: b', 'empty': '',"
	      "   'number_like': '42', 'extra': {}}],"
	      " 'timeouts': {'udp': 300, 'tcp_established': 7440},"
	      " 'nat_log': {'file': null, 'syslog': false}, 'ratio': 0.5}",
	      "path: /etc/ephemera.yaml\n"
	      "generation: 3\n"
	      "changed_at: 2026-11-28T01:02:03Z\n"
	      "last_change: ephctl pool add-address default 203.0.113.104\n"
	      "pools:\n"
	      "  - name: default\n"
	      "    addresses: [203.0.113.100, 203.0.113.104]\n"
	      "    draining: []\n"
	      "    ports: 1024-65535\n"
	      "    excluded: [8080, 5000-5010]\n"
	      "    inside: [192.0.2.0/24]\n"
	      "    port_preservation: false\n"
	      "    quarantine_s: 120\n"
	      "    log: off\n"
	      "  - name: \"true\"\n"
	      "    addresses: [198.51.100.8]\n"
	      "    note: \"a: b\"\n"
	      "    empty: \"\"\n"
	      "    number_like: \"42\"\n"
	      "    extra: {}\n"
	      "timeouts:\n"
	      "  udp: 300\n"
	      "  tcp_established: 7440\n"
	      "nat_log:\n"
	      "  file: null\n"
	      "  syslog: false\n"
	      "ratio: 0.5\n");
}

static void
test_changes(void **state)
{
	check(ephctl_render_pool_add,
	      "{'pool': 'default', 'added': ['203.0.113.104', '203.0.113.105'], 'generation': 4}",
	      "pool default: added 203.0.113.104, 203.0.113.105 (generation 4)\n");
	check(ephctl_render_pool_remove,
	      "{'pool': 'default', 'removed': ['203.0.113.103', '203.0.113.102'],"
	      " 'draining': [{'address': '203.0.113.103', 'sessions': 12},"
	      "              {'address': '203.0.113.102', 'sessions': 1},"
	      "              {'address': '203.0.113.101', 'sessions': 0}], 'generation': 5}",
	      "pool default: removed 203.0.113.103, 203.0.113.102 (generation 5)\n"
	      "203.0.113.103: draining, 12 sessions still use it\n"
	      "203.0.113.102: draining, 1 session still uses it\n"
	      "203.0.113.101: draining, no session uses it\n");
	check(ephctl_render_pool_set_range,
	      "{'pool': 'default', 'ports': '2048-4095', 'previous': '1024-65535',"
	      " 'draining_sessions': 37, 'generation': 6}",
	      "pool default: ports 2048-4095, were 1024-65535 (generation 6)\n"
	      "37 sessions keep their port from the earlier range until they end\n");
	check(ephctl_render_pool_set_range,
	      "{'pool': 'default', 'ports': '2048-4095', 'previous': '1024-65535',"
	      " 'draining_sessions': 0, 'generation': 6}",
	      "pool default: ports 2048-4095, were 1024-65535 (generation 6)\n");
	check(ephctl_render_cleared, "{'cleared': 12}", "cleared 12 sessions\n");
	check(ephctl_render_cleared, "{'cleared': 1}", "cleared 1 session\n");
	check(ephctl_render_cleared, "{'cleared': 0}", "no sessions matched, none cleared\n");
	check(ephctl_render_reload,
	      "{'generation': 8, 'changes': ['pool default: address 203.0.113.104 added',"
	      " 'timeouts: udp 300 -> 120']}",
	      "reloaded (generation 8)\n"
	      "  pool default: address 203.0.113.104 added\n"
	      "  timeouts: udp 300 -> 120\n");
	check(ephctl_render_reload, "{'generation': 9, 'changes': []}",
	      "reloaded (generation 9)\n  no changes\n");
	/* The Prometheus text as it is, ended by a newline once. */
	check(ephctl_render_metrics, "{'text': '# TYPE ephemera_up gauge\\nephemera_up 1\\n'}",
	      "# TYPE ephemera_up gauge\nephemera_up 1\n");
	check(ephctl_render_metrics, "{'text': 'ephemera_up 1'}", "ephemera_up 1\n");
	free(render(ephctl_render_metrics, "{'txt': ''}", -1));
	check(ephctl_render_version, "{'version': '0.4.0', 'protocol': 1, 'uptime_s': 12}",
	      "ephctl " EPH_VERSION "\nephemera 0.4.0, control protocol 1, up 12s\n");
}

static void
test_timeouts_warnings_to_err(void **state)
{
	json_t *j = load("{'timeouts': {'udp': 10, 'tcp_established': 7440, 'tcp_transitory': 240,"
			 " 'icmp': 60}, 'generation': 7,"
			 " 'warnings': ['udp: 10 s is below RFC 4787\\u0027s 120 s floor']}");
	char *out_text = NULL, *err_text = NULL;
	size_t out_len, err_len;
	FILE *out = open_memstream(&out_text, &out_len);
	FILE *err = open_memstream(&err_text, &err_len);

	assert_int_equal(ephctl_render_timeouts(out, err, j), 0);
	fclose(out);
	fclose(err);
	assert_string_equal(out_text, "timeouts now (generation 7)\n"
				      "  TIMEOUT          SECONDS\n"
				      "  udp                   10\n"
				      "  tcp-established     7440\n"
				      "  tcp-transitory       240\n"
				      "  icmp                  60\n");
	assert_string_equal(err_text,
			    "ephctl: warning: udp: 10 s is below RFC 4787's 120 s floor\n");
	free(out_text);
	free(err_text);
	json_decref(j);
}

/* ephctl parses timeouts.set's arguments as timeouts.set and the file check them. */
static int
parse_timeouts(const char *a, const char *b, json_t *args, char **err)
{
	char *argv[] = { (char *)a, (char *)b };

	*err = NULL;
	return ephctl_parse_timeouts(2, argv, args, err);
}

static void
test_timeout_args(void **state)
{
	json_t *args = json_object();
	char *err;

	(void)state;
	assert_int_equal(parse_timeouts("udp", "90000", args, &err), -1);
	assert_string_equal(err, "timeouts.udp: expected an integer from 1 to 86400, found 90000");
	free(err);
	assert_int_equal(parse_timeouts("icmp", "0", args, &err), -1);
	assert_string_equal(err, "timeouts.icmp: expected an integer from 1 to 86400, found 0");
	free(err);
	assert_int_equal(parse_timeouts("udp", "abc", args, &err), -1);
	assert_string_equal(err, "udp: expected a whole number of seconds from 1 to 86400, found "
				 "\"abc\"");
	free(err);
	assert_int_equal(json_object_size(args), 0);
	assert_int_equal(parse_timeouts("tcp-established", "604800", args, &err), 0);
	assert_int_equal(parse_timeouts("udp", "200", args, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(args, "tcp-established")), 604800);
	assert_int_equal(json_integer_value(json_object_get(args, "udp")), 200);
	json_decref(args);
}

/* Ports, session limits and address spans: the daemon's bounds (control/limits.h). */
static void
test_limit_args(void **state)
{
	char *port0[] = { "port", "0" }, *port1[] = { "port", "1" };
	char *limit[] = { "limit", "100001" };
	json_t *args = json_object();
	char *err = NULL;

	(void)state;
	assert_int_equal(ephctl_parse_filters(2, port0, true, args, &err), -1);
	assert_string_equal(err, "port: expected a whole number from 1 to 65535, found \"0\"");
	free(err);
	err = NULL;
	assert_int_equal(ephctl_parse_filters(2, limit, true, args, &err), -1);
	assert_string_equal(err,
			    "limit: expected a whole number from 1 to 100000, found \"100001\"");
	free(err);
	err = NULL;
	assert_int_equal(ephctl_parse_filters(2, port1, true, args, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(args, "port")), 1);
	json_decref(args);

	assert_int_equal(ephctl_check_address_set("ADDRESS", "198.51.100.0/20", &err), 0);
	assert_int_equal(ephctl_check_address_set("ADDRESS", "198.51.96.0/19", &err), -1);
	assert_string_equal(err, "ADDRESS: the prefix \"198.51.96.0/19\" holds 8192 addresses, "
				 "expected at most 4096");
	free(err);
	err = NULL;
	assert_int_equal(
		ephctl_check_address_set("ADDRESS", "198.51.100.0-198.51.116.0", &err), -1);
	assert_string_equal(err, "ADDRESS: the range \"198.51.100.0-198.51.116.0\" holds 4097 "
				 "addresses, expected at most 4096");
	free(err);
	err = NULL;
	assert_int_equal(ephctl_check_address_set("ADDRESS", "198.51.100.7", &err), 0);
	assert_int_equal(ephctl_check_port_range("LO-HI", "1-65535", &err), 0);
	assert_int_equal(ephctl_check_port_range("LO-HI", "0-5", &err), -1);
	assert_string_equal(err, "LO-HI: expected \"LO-HI\" with 1 <= LO <= HI <= 65535, found "
				 "\"0-5\"");
	free(err);
	err = NULL;
}

static void
test_json_verbatim(void **state)
{
	check(ephctl_render_json, "{'b': 1, 'a': [1, 2.5, 'x'], 'c': {}}",
	      "{\n  \"b\": 1,\n  \"a\": [\n    1,\n    2.5,\n    \"x\"\n  ],\n  \"c\": {}\n}\n");
}

static void
test_top_frame(void **state)
{
	json_t *version = load("{'version': '0.4.0', 'protocol': 1, 'uptime_s': 100}");
	json_t *prev = load("{'uptime_s': 100,"
			    " 'totals': {'rx_packets': 1000, 'tx_packets': 900, 'drops': 10,"
			    "  'sessions': 40},"
			    " 'workers': ["
			    "  {'id': 0, 'lcore': 1, 'rx_packets': 600, 'tx_packets': 500,"
			    "   'drops': 10, 'polls': 1000, 'busy_polls': 100, 'sessions': 25},"
			    "  {'id': 1, 'lcore': 2, 'rx_packets': 400, 'tx_packets': 400,"
			    "   'drops': 0, 'polls': 1000, 'busy_polls': 0, 'sessions': 15}]}");
	json_t *cur = load("{'uptime_s': 102,"
			   " 'totals': {'rx_packets': 3000, 'tx_packets': 2900, 'drops': 11,"
			   "  'sessions': 42},"
			   " 'workers': ["
			   "  {'id': 0, 'lcore': 1, 'rx_packets': 2000, 'tx_packets': 1900,"
			   "   'drops': 11, 'polls': 2000, 'busy_polls': 600, 'sessions': 26},"
			   "  {'id': 1, 'lcore': 2, 'rx_packets': 1000, 'tx_packets': 1000,"
			   "   'drops': 0, 'polls': 1000, 'busy_polls': 0, 'sessions': 16},"
			   "  {'id': 2, 'lcore': 3, 'rx_packets': 5, 'tx_packets': 5,"
			   "   'drops': 0, 'polls': 10, 'busy_polls': 1, 'sessions': 0}]}");
	json_t *pools = load("{'pools': [{'name': 'default', 'addresses': ["
			     " {'address': '203.0.113.100', 'state': 'active',"
			     "  'ports_in_use': 16128, 'ports_per_destination': 64512,"
			     "  'refused': 0},"
			     " {'address': '203.0.113.101', 'state': 'reserve',"
			     "  'ports_in_use': 70000, 'ports_per_destination': 64512,"
			     "  'refused': 9}]}]}");
	json_t *dests = load("{'destinations': [{'pool': 'default', 'outside': '203.0.113.100',"
			     " 'remote': '203.0.113.10:80', 'proto': 'tcp', 'worker': 0,"
			     " 'live': 400, 'resting': 3, 'share': 32256,"
			     " 'occupancy_pct': 1.2}]}");
	struct ephctl_top_view view = {
		.version = version,
		.stats = prev,
		.pools = pools,
		.destinations = dests,
		.interval_s = 2,
	};
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	/* First frame: no rates yet. */
	assert_int_equal(ephctl_render_top(f, &view), 0);
	fclose(f);
	assert_string_equal(text,
			    "ephemera 0.4.0, up 1m40s, 2 workers, refresh 2s\n"
			    "sessions 40, rx -/s, tx -/s, drops -/s\n"
			    "\n"
			    "WORKER  LCORE  RX/S  TX/S  DROPS/S  SESSIONS  BUSY\n"
			    "0           1     -     -        -        25     -\n"
			    "1           2     -     -        -        15     -\n"
			    "\n"
			    "POOL     ADDRESS        STATE    PORTS-IN-USE  REFUSED"
			    "  OF ONE DESTINATION'S RANGE\n"
			    "default  203.0.113.100  active          16128        0"
			    "  [###.......]  25.0%\n"
			    "default  203.0.113.101  reserve         70000        9"
			    "  [##########] 100.0%\n"
			    "\n"
			    "busiest destinations\n"
			    "POOL     OUTSIDE        REMOTE           PROTO  WORKER  LIVE"
			    "  RESTING  SHARE  OCCUPANCY\n"
			    "default  203.0.113.100  203.0.113.10:80  tcp         0   400"
			    "        3  32256  [..........]   1.2%\n");
	free(text);

	/* Two seconds later: rates from the differences; a new worker has none yet. */
	view.prev_stats = prev;
	view.stats = cur;
	view.elapsed_s = 2.0;
	view.pools = NULL;
	view.destinations = NULL;
	f = open_memstream(&text, &len);
	assert_int_equal(ephctl_render_top(f, &view), 0);
	fclose(f);
	assert_string_equal(text, "ephemera 0.4.0, up 1m42s, 3 workers, refresh 2s\n"
				  "sessions 42, rx 1000/s, tx 1000/s, drops 0/s\n"
				  "\n"
				  "WORKER  LCORE  RX/S  TX/S  DROPS/S  SESSIONS   BUSY\n"
				  "0           1   700   700        0        26  50.0%\n"
				  "1           2   300   300        0        16      -\n"
				  "2           3     -     -        -         0      -\n");
	free(text);
	json_decref(version);
	json_decref(prev);
	json_decref(cur);
	json_decref(pools);
	json_decref(dests);
}

/* A backend ADDRESS[:PORT] and a VIP's name, as ephctl checks them before sending. */
static void
test_backend_args(void **state)
{
	json_t *args = json_object();
	char *err = NULL;

	(void)state;
	assert_int_equal(ephctl_parse_backend("ADDRESS", "198.18.0.11:8080", args, &err), 0);
	assert_string_equal(json_string_value(json_object_get(args, "address")), "198.18.0.11");
	assert_int_equal(json_integer_value(json_object_get(args, "port")), 8080);
	json_object_clear(args);
	assert_int_equal(ephctl_parse_backend("ADDRESS", "198.18.0.11", args, &err), 0);
	assert_null(json_object_get(args, "port"));
	assert_int_equal(ephctl_parse_backend("ADDRESS", "198.18.0.300", args, &err), -1);
	assert_non_null(strstr(err, "ADDRESS: expected a backend as ADDRESS or ADDRESS:PORT"));
	free(err);
	err = NULL;
	assert_int_equal(ephctl_parse_backend("ADDRESS", "198.18.0.11:0", args, &err), -1);
	assert_non_null(strstr(err, "from 1 to 65535"));
	free(err);
	err = NULL;
	assert_int_equal(ephctl_parse_backend("ADDRESS", "198.18.0.11:70000", args, &err), -1);
	free(err);
	err = NULL;
	assert_int_equal(ephctl_check_vip_name("VIP", "web-1", &err), 0);
	assert_int_equal(ephctl_check_vip_name("VIP", "Web", &err), -1);
	assert_non_null(strstr(err, "expected a VIP name of 1 to 31 characters"));
	free(err);
	json_decref(args);
}

static void
test_vips(void **state)
{
	(void)state;
	check(ephctl_render_vips, "{'vips': []}", "no VIPs configured\n");
	check(ephctl_render_vips,
	      "{'vips': ["
	      " {'name': 'web', 'address': '203.0.113.80', 'port': 80, 'protocol': 'tcp',"
	      "  'forwarding': 'fullnat', 'scheduler': 'maglev', 'maglev_size': 65537,"
	      "  'backends': 3, 'up': 2, 'removed': 1, 'active': 1375, 'total': 90210,"
	      "  'no_backend': 0, 'over_limit': 12, 'no_port': 3, 'half_open': 4096,"
	      "  'half_open_replaced': 181000, 'rate_limited': 25},"
	      " {'name': 'dns-any', 'address': '203.0.113.81', 'port': 0, 'protocol': 'udp',"
	      "  'forwarding': 'dnat', 'scheduler': 'maglev', 'maglev_size': 1021,"
	      "  'backends': 0, 'up': 0, 'removed': 0, 'active': 0, 'total': 0,"
	      "  'no_backend': 7, 'over_limit': 0, 'no_port': 0}]}",
	      "VIP      ADDRESS       PORT  PROTO  FORWARD  MAGLEV  BACKENDS  UP  REMOVED  ACTIVE"
	      "  TOTAL  NO-BACKEND  OVER-LIMIT  NO-PORT  HALF-OPEN  REPLACED  RATE-LIMITED\n"
	      "web      203.0.113.80  80    tcp    fullnat   65537         3   2        1    1375"
	      "  90210           0          12        3       4096    181000            25\n"
	      "dns-any  203.0.113.81  *     udp    dnat       1021         0   0        0       0"
	      "      0           7           0        0          -         -             -\n");
}

static void
test_backends(void **state)
{
	(void)state;
	check(ephctl_render_backends,
	      "{'vip': 'web', 'backends': ["
	      " {'address': '198.18.0.11', 'port': 8080, 'state': 'active', 'weight': 100,"
	      "  'active': 12, 'total': 340, 'pkts_to_backend': 5000, 'pkts_from_backend': 4800,"
	      "  'bytes_to_backend': 400000, 'bytes_from_backend': 7200000, 'over_limit': 0,"
	      "  'no_port': 0},"
	      " {'address': '198.18.0.12', 'port': 8080, 'state': 'draining', 'weight': 0,"
	      "  'active': 1, 'total': 2, 'pkts_to_backend': 9, 'pkts_from_backend': 8,"
	      "  'bytes_to_backend': 900, 'bytes_from_backend': 800, 'over_limit': 4,"
	      "  'no_port': 5}],"
	      " 'local_addresses': ["
	      " {'address': '198.18.0.1', 'ports_in_use': 13, 'exhausted': 5}]}",
	      "vip web\n"
	      "  BACKEND      PORT  STATE     WEIGHT  ACTIVE  TOTAL  PKTS-TO  PKTS-FROM  BYTES-TO"
	      "  BYTES-FROM  OVER-LIMIT  NO-PORT\n"
	      "  198.18.0.11  8080  active       100      12    340     5000       4800    400000"
	      "     7200000           0        0\n"
	      "  198.18.0.12  8080  draining       0       1      2        9          8       900"
	      "         800           4        5\n"
	      "\n"
	      "  LOCAL-ADDRESS  PORTS-IN-USE  REFUSED\n"
	      "  198.18.0.1               13        5\n");
	/* Destination NAT: no local address; a VIP of every port: backends without one. */
	check(ephctl_render_backends,
	      "{'vip': 'any', 'backends': ["
	      " {'address': '198.18.0.11', 'port': 0, 'state': 'removed', 'weight': 100,"
	      "  'active': 1, 'total': 1, 'pkts_to_backend': 1, 'pkts_from_backend': 0,"
	      "  'bytes_to_backend': 60, 'bytes_from_backend': 0, 'over_limit': 0,"
	      "  'no_port': 0}], 'local_addresses': []}",
	      "vip any\n"
	      "  BACKEND      PORT  STATE    WEIGHT  ACTIVE  TOTAL  PKTS-TO  PKTS-FROM  BYTES-TO"
	      "  BYTES-FROM  OVER-LIMIT  NO-PORT\n"
	      "  198.18.0.11     *  removed     100       1      1        1          0        60"
	      "           0           0        0\n");
	/* Health checks: each backend's state, last check and the reason of its last change. */
	check(ephctl_render_backends,
	      "{'vip': 'web', 'backends': ["
	      " {'address': '198.18.0.11', 'port': 80, 'state': 'active', 'weight': 1,"
	      "  'active': 3, 'total': 9, 'pkts_to_backend': 1, 'pkts_from_backend': 1,"
	      "  'bytes_to_backend': 1, 'bytes_from_backend': 1, 'over_limit': 0, 'no_port': 0,"
	      "  'health': {'state': 'up', 'checked': true, 'passive': false, 'ejected': false,"
	      "   'kept': false, 'last': 'HTTP 200', 'latency_us': 412, 'checks': 57, 'failed': 0,"
	      "   'connect_failures': 0, 'downs': 0, 'ups': 0, 'reason': null, 'since_s': 120}},"
	      " {'address': '198.18.0.12', 'port': 80, 'state': 'down', 'weight': 2,"
	      "  'active': 0, 'total': 4, 'pkts_to_backend': 1, 'pkts_from_backend': 1,"
	      "  'bytes_to_backend': 1, 'bytes_from_backend': 1, 'over_limit': 0, 'no_port': 0,"
	      "  'health': {'state': 'down', 'checked': true, 'passive': true, 'ejected': false,"
	      "   'kept': false, 'last': 'HTTP 500, not expected', 'latency_us': 23000,"
	      "   'checks': 57, 'failed': 3, 'connect_failures': 2, 'downs': 1, 'ups': 0,"
	      "   'reason': '3 http checks failed, the last: HTTP 500, not expected',"
	      "   'since_s': 4}}],"
	      " 'local_addresses': []}",
	      "vip web\n"
	      "  BACKEND      PORT  STATE   WEIGHT  ACTIVE  TOTAL  PKTS-TO  PKTS-FROM  BYTES-TO"
	      "  BYTES-FROM  OVER-LIMIT  NO-PORT\n"
	      "  198.18.0.11    80  active       1       3      9        1          1         1"
	      "           1           0        0\n"
	      "  198.18.0.12    80  down         2       0      4        1          1         1"
	      "           1           0        0\n"
	      "\n"
	      "  BACKEND      PORT  HEALTH  LAST-CHECK              LATENCY  CHECKS  FAILED"
	      "  CONN-FAILURES  DOWNS  SINCE  REASON\n"
	      "  198.18.0.11    80  up      HTTP 200                 412 us      57       0"
	      "              0      0  2m00s  -\n"
	      "  198.18.0.12    80  down    HTTP 500, not expected    23 ms      57       3"
	      "              2      1     4s  3 http checks failed, the last: HTTP 500, not expected\n");
	check(ephctl_render_backends, "{'vip': 'empty', 'backends': [], 'local_addresses': []}",
	      "vip empty\n"
	      "  no backends: new connections are refused\n");
	check(ephctl_render_vip_backend,
	      "{'vip': 'web', 'op': 'add', 'address': '198.18.0.14', 'port': 80, 'weight': 100,"
	      " 'generation': 7}",
	      "vip web: backend 198.18.0.14:80 added, weight 100 (generation 7)\n");
	check(ephctl_render_vip_backend,
	      "{'vip': 'web', 'op': 'set-weight', 'address': '198.18.0.14', 'port': 80,"
	      " 'weight': 0, 'generation': 8}",
	      "vip web: backend 198.18.0.14:80 re-weighted, weight 0 (generation 8)\n");
	check(ephctl_render_vip_backend,
	      "{'vip': 'web', 'op': 'remove', 'address': '198.18.0.14', 'port': 80, 'weight': 0,"
	      " 'generation': 9}",
	      "vip web: backend 198.18.0.14:80 removed (generation 9)\n");
}

/* vip backend's arguments: parsed, or refused naming the argument, before any request. */
static void
test_vip_backend_args(void **state)
{
	static const struct {
		const char *words; /* space-separated, from the operation on */
		const char *args;  /* the request's args, or NULL: refused with error */
		const char *error;
	} cases[] = {
		{ "add web 198.18.0.14", "{'op': 'add', 'vip': 'web', 'address': '198.18.0.14'}",
		  NULL },
		{ "add web 198.18.0.14:8080 300",
		  "{'op': 'add', 'vip': 'web', 'address': '198.18.0.14', 'port': 8080,"
		  " 'weight': 300}",
		  NULL },
		{ "set-weight web 198.18.0.14 0",
		  "{'op': 'set-weight', 'vip': 'web', 'address': '198.18.0.14', 'weight': 0}",
		  NULL },
		{ "remove web 198.18.0.14:80",
		  "{'op': 'remove', 'vip': 'web', 'address': '198.18.0.14', 'port': 80}", NULL },
		{ "", NULL, "expected add, remove or set-weight" },
		{ "drain web 198.18.0.14", NULL,
		  "expected add, remove or set-weight, found \"drain\"" },
		{ "add web", NULL, "add: expected VIP ADDRESS[:PORT] [WEIGHT]" },
		{ "set-weight web 198.18.0.14", NULL,
		  "set-weight: expected VIP ADDRESS[:PORT] WEIGHT" },
		{ "remove web 198.18.0.14 5", NULL, "unexpected argument \"5\"" },
		{ "add web 198.18.0.14 5 6", NULL, "unexpected argument \"6\"" },
		{ "add Web! 198.18.0.14", NULL,
		  "VIP: expected a VIP name of 1 to 31 characters from a-z, 0-9, '_' and '-', "
		  "found \"Web!\"" },
		{ "add web 198.18.0.300", NULL,
		  "ADDRESS: expected a backend as ADDRESS or ADDRESS:PORT (198.18.0.11:8080), "
		  "found \"198.18.0.300\"" },
		{ "add web 198.18.0.14:0", NULL,
		  "ADDRESS: expected a port after ':' from 1 to 65535, found \"0\"" },
		{ "add web 198.18.0.14:65536", NULL,
		  "ADDRESS: expected a port after ':' from 1 to 65535, found \"65536\"" },
		{ "add web 198.18.0.14:", NULL,
		  "ADDRESS: expected a port after ':' from 1 to 65535, found \"\"" },
		{ "add web 198.18.0.14 65536", NULL,
		  "WEIGHT: expected a weight from 0 to 65535, found \"65536\"" },
		{ "set-weight web 198.18.0.14 -1", NULL,
		  "WEIGHT: expected a weight from 0 to 65535, found \"-1\"" },
	};

	(void)state;
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *words = strdup(cases[i].words), *argv[8], *save = NULL, *err = NULL;
		json_t *args = json_object();
		int argc = 0;

		assert_non_null(words);
		for (char *t = strtok_r(words, " ", &save); t != NULL && argc < 8;
		     t = strtok_r(NULL, " ", &save))
			argv[argc++] = t;
		if (cases[i].args != NULL) {
			json_t *want = load(cases[i].args);

			if (ephctl_parse_vip_backend(argc, argv, args, &err) != 0)
				fail_msg("%s: %s", cases[i].words, err);
			if (!json_equal(args, want))
				fail_msg("%s: args %s", cases[i].words,
					 json_dumps(args, JSON_SORT_KEYS));
			json_decref(want);
		} else {
			assert_int_equal(ephctl_parse_vip_backend(argc, argv, args, &err), -1);
			assert_non_null(err);
			if (strcmp(err, cases[i].error) != 0)
				fail_msg("%s: \"%s\", expected \"%s\"", cases[i].words, err,
					 cases[i].error);
		}
		free(err);
		json_decref(args);
		free(words);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_and_bar),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_pools),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_destinations),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_timeouts_warnings_to_err),
		cmocka_unit_test(test_timeout_args),
		cmocka_unit_test(test_limit_args),
		cmocka_unit_test(test_backend_args),
		cmocka_unit_test(test_vips),
		cmocka_unit_test(test_backends),
		cmocka_unit_test(test_vip_backend_args),
		cmocka_unit_test(test_json_verbatim),
		cmocka_unit_test(test_top_frame),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

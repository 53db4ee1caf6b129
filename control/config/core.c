/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The core sections of the configuration: eal (lcores, memory, EAL
 * arguments and log level), arp, dataplane (bursts, mbufs, ICMP rate) and
 * control (socket, group, telemetry, metrics endpoint). Their schema
 * fields, defaults, integer rules and checks.
 */
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config/common.h"
#include "control/config/core.h"

/* Documented defaults. */
#define DEF_LCORES       "0-1"
#define DEF_MAIN_LCORE   -1
#define DEF_MEMORY_MB    256
#define DEF_FILE_PREFIX  "ephemera"
#define DEF_LOG_LEVEL    "notice"
#define DEF_REACHABLE_S  300
#define DEF_RETRY_MS     1000
#define DEF_RETRIES      3
#define DEF_HOLD_PACKETS 8
#define DEF_MAX_ENTRIES  4096
#define DEF_BURST        32
#define DEF_TX_DRAIN_US  100
#define DEF_MBUFS        16383
#define DEF_ICMP_RATE    1000
/* Each packet to a kernel interface is a system call on the worker: a flood at the gateway's own address costs it at most ~10% of a core. */
#define DEF_KERNEL_RATE  100000
#define DEF_METRICS_ADDR 0x7f000001 /* 127.0.0.1 */
#define DEF_METRICS_PORT 9469

#define MAX_MEMORY_MB 1048576

/* ------------------------------------------------------------------------ */
/* Schema */

const cyaml_schema_field_t eph_conf_eal_fields[] = {
	CYAML_FIELD_STRING_PTR("lcores", OPT, struct raw_eal, lcores, 0, CYAML_UNLIMITED),
	CYAML_FIELD_INT_PTR("main-lcore", OPT, struct raw_eal, main_lcore),
	CYAML_FIELD_BOOL_PTR("hugepages", OPT, struct raw_eal, hugepages),
	CYAML_FIELD_INT_PTR("memory-mb", OPT, struct raw_eal, memory_mb),
	CYAML_FIELD_STRING_PTR("file-prefix", OPT, struct raw_eal, file_prefix, 0, CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("log-level", OPT, struct raw_eal, log_level, 0, CYAML_UNLIMITED),
	CYAML_FIELD_SEQUENCE("args", OPT_NULL, struct raw_eal, args, &eph_conf_string_ptr_schema, 0,
			     EPH_MAX_EAL_ARGS),
	CYAML_FIELD_END,
};

const cyaml_schema_field_t eph_conf_arp_fields[] = {
	CYAML_FIELD_INT_PTR("reachable-s", OPT, struct raw_arp, reachable_s),
	CYAML_FIELD_INT_PTR("retry-ms", OPT, struct raw_arp, retry_ms),
	CYAML_FIELD_INT_PTR("retries", OPT, struct raw_arp, retries),
	CYAML_FIELD_INT_PTR("hold-packets", OPT, struct raw_arp, hold_packets),
	CYAML_FIELD_INT_PTR("max-entries", OPT, struct raw_arp, max_entries),
	CYAML_FIELD_END,
};

const cyaml_schema_field_t eph_conf_dataplane_fields[] = {
	CYAML_FIELD_INT_PTR("burst", OPT, struct raw_dataplane, burst),
	CYAML_FIELD_INT_PTR("tx-drain-us", OPT, struct raw_dataplane, tx_drain_us),
	CYAML_FIELD_INT_PTR("mbufs", OPT, struct raw_dataplane, mbufs),
	CYAML_FIELD_INT_PTR("icmp-rate", OPT, struct raw_dataplane, icmp_rate),
	CYAML_FIELD_INT_PTR("kernel-rate", OPT, struct raw_dataplane, kernel_rate),
	CYAML_FIELD_END,
};

const cyaml_schema_field_t eph_conf_control_fields[] = {
	CYAML_FIELD_STRING_PTR("socket", OPT, struct raw_control, socket, 0, CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("group", OPT, struct raw_control, group, 0, CYAML_UNLIMITED),
	CYAML_FIELD_BOOL_PTR("telemetry", OPT, struct raw_control, telemetry),
	CYAML_FIELD_STRING_PTR("metrics-http", OPT, struct raw_control, metrics_http, 0,
			       CYAML_UNLIMITED),
	CYAML_FIELD_END,
};

/* clang-format off */
const struct eph_conf_int_rule eph_conf_core_int_rules[] = {
	{ "eal.main-lcore",        -1,       1023,     false },
	{ "eal.memory-mb",         0,        MAX_MEMORY_MB, false },
	{ "arp.reachable-s",       1,        86400,    false },
	{ "arp.retry-ms",          10,       60000,    false },
	{ "arp.retries",           1,        100,      false },
	{ "arp.hold-packets",      0,        1024,     false },
	{ "arp.max-entries",       16,       1048576,  false },
	{ "dataplane.burst",       1,        256,      false },
	{ "dataplane.tx-drain-us", 1,        100000,   false },
	{ "dataplane.mbufs",       1024,     16777215, false },
	{ "dataplane.icmp-rate",   0,        1000000,  false },
	{ "dataplane.kernel-rate", 0,        10000000, false },
	{ NULL, 0, 0, false },
};
/* clang-format on */

static const char *const log_levels[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

/* ------------------------------------------------------------------------ */
/* Defaults */

void
eph_conf_core_defaults(struct eph_conf *conf)
{
	snprintf(conf->eal.lcores, sizeof(conf->eal.lcores), "%s", DEF_LCORES);
	conf->eal.main_lcore = DEF_MAIN_LCORE;
	conf->eal.hugepages = true;
	conf->eal.memory_mb = DEF_MEMORY_MB;
	snprintf(conf->eal.file_prefix, sizeof(conf->eal.file_prefix), "%s", DEF_FILE_PREFIX);
	snprintf(conf->eal.log_level, sizeof(conf->eal.log_level), "%s", DEF_LOG_LEVEL);
	conf->arp.reachable_s = DEF_REACHABLE_S;
	conf->arp.retry_ms = DEF_RETRY_MS;
	conf->arp.retries = DEF_RETRIES;
	conf->arp.hold_packets = DEF_HOLD_PACKETS;
	conf->arp.max_entries = DEF_MAX_ENTRIES;
	conf->dataplane.burst = DEF_BURST;
	conf->dataplane.tx_drain_us = DEF_TX_DRAIN_US;
	conf->dataplane.mbufs = DEF_MBUFS;
	conf->dataplane.icmp_rate = DEF_ICMP_RATE;
	conf->dataplane.kernel_rate = DEF_KERNEL_RATE;
	snprintf(conf->control.socket, sizeof(conf->control.socket), "%s", EPH_CTL_SOCKET_DEFAULT);
	conf->control.telemetry = true;
	conf->control.metrics_http = false;
	conf->control.metrics_addr = DEF_METRICS_ADDR;
	conf->control.metrics_port = DEF_METRICS_PORT;
}

/* ------------------------------------------------------------------------ */
/* Checks */

void
eph_conf_validate_eal(struct vctx *v, const struct raw_eal *r, struct eph_conf_eal *eal)
{
	static const struct {
		const char *opt;
		const char *key;
	} generated[] = {
		{"-l", "lcores"},
		{"--lcores", "lcores"},
		{"-c", "lcores"},
		{"--main-lcore", "main-lcore"},
		{"-m", "memory-mb"},
		{"--no-huge", "hugepages"},
		{"--file-prefix", "file-prefix"},
	};
	char q[QLEN], path[64];
	int64_t x;
	unsigned i;
	size_t j;

	if (r == NULL)
		return;
	if (r->lcores != NULL) {
		if (r->lcores[0] == '\0' || !eph_conf_only_chars(r->lcores, LCORE_CHARS) ||
		    strlen(r->lcores) >= sizeof(eal->lcores))
			eph_conf_err(
				v, "eal.lcores",
				"expected an EAL lcore list like \"0-1\" or \"0,2-3\" (digits and "
				", - @ ( ), at most %zu characters), found %s",
				sizeof(eal->lcores) - 1, eph_conf_quote(q, sizeof(q), r->lcores));
		else
			snprintf(eal->lcores, sizeof(eal->lcores), "%s", r->lcores);
	}
	x = eal->main_lcore;
	if (eph_conf_int(v, "eal.main-lcore", r->main_lcore, &x))
		eal->main_lcore = (int)x;
	eph_conf_bool(v, "eal.hugepages", r->hugepages, &eal->hugepages);
	eph_conf_uint(v, "eal.memory-mb", r->memory_mb, &eal->memory_mb);
	if (!eal->hugepages && eal->memory_mb == 0 && r->memory_mb != NULL)
		eph_conf_err(v, "eal.memory-mb",
			     "expected an integer from 1 to %d when hugepages is false (the EAL "
			     "cannot size anonymous memory itself), found 0",
			     MAX_MEMORY_MB);
	if (r->file_prefix != NULL) {
		size_t len = strlen(r->file_prefix);

		if (len == 0 || len >= sizeof(eal->file_prefix) ||
		    !eph_conf_only_chars(r->file_prefix, PREFIX_CHARS))
			eph_conf_err(
				v, "eal.file-prefix",
				"expected 1 to %zu characters from A-Z, a-z, 0-9, '_' and '-', "
				"found %s (%zu characters)",
				sizeof(eal->file_prefix) - 1,
				eph_conf_quote(q, sizeof(q), r->file_prefix), len);
		else
			snprintf(eal->file_prefix, sizeof(eal->file_prefix), "%s", r->file_prefix);
	}
	if (r->log_level != NULL) {
		for (j = 0; j < CYAML_ARRAY_LEN(log_levels); j++)
			if (strcmp(r->log_level, log_levels[j]) == 0)
				break;
		if (j == CYAML_ARRAY_LEN(log_levels))
			eph_conf_err(v, "eal.log-level",
				     "expected one of emerg, alert, crit, error, warning, notice, "
				     "info, debug, found %s",
				     eph_conf_quote(q, sizeof(q), r->log_level));
		else
			snprintf(eal->log_level, sizeof(eal->log_level), "%s", r->log_level);
	}
	for (i = 0; i < r->args_count && r->args != NULL; i++) {
		const char *a = r->args[i];

		snprintf(path, sizeof(path), "eal.args[%u]", i);
		if (a == NULL || a[0] == '\0') {
			eph_conf_err(v, path, "expected a non-empty EAL argument, found \"\"");
			continue;
		}
		for (j = 0; j < CYAML_ARRAY_LEN(generated); j++) {
			size_t ol = strlen(generated[j].opt);

			if (strncmp(a, generated[j].opt, ol) == 0 &&
			    (a[ol] == '\0' || a[ol] == '='))
				eph_conf_warn(v, path,
					      "'%s' is also generated from eal.%s; set it there "
					      "instead",
					      generated[j].opt, generated[j].key);
		}
		eal->args[eal->n_args] = strdup(a);
		if (eal->args[eal->n_args] == NULL)
			v->oom = true;
		else
			eal->n_args++;
	}
}

void
eph_conf_validate_arp(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf)
{
	if (r->arp != NULL) {
		eph_conf_uint(v, "arp.reachable-s", r->arp->reachable_s, &conf->arp.reachable_s);
		eph_conf_uint(v, "arp.retry-ms", r->arp->retry_ms, &conf->arp.retry_ms);
		eph_conf_uint(v, "arp.retries", r->arp->retries, &conf->arp.retries);
		eph_conf_uint(v, "arp.hold-packets", r->arp->hold_packets, &conf->arp.hold_packets);
		eph_conf_uint(v, "arp.max-entries", r->arp->max_entries, &conf->arp.max_entries);
	}
}

void
eph_conf_validate_dataplane(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf)
{
	if (r->dataplane != NULL) {
		const struct raw_dataplane *d = r->dataplane;

		eph_conf_uint(v, "dataplane.burst", d->burst, &conf->dataplane.burst);
		eph_conf_uint(v, "dataplane.tx-drain-us", d->tx_drain_us,
			      &conf->dataplane.tx_drain_us);
		eph_conf_uint(v, "dataplane.icmp-rate", d->icmp_rate, &conf->dataplane.icmp_rate);
		eph_conf_uint(v, "dataplane.kernel-rate", d->kernel_rate,
			      &conf->dataplane.kernel_rate);
		/* rte_mempool is sized best at 2^n - 1 elements. */
		if (eph_conf_uint(v, "dataplane.mbufs", d->mbufs, &conf->dataplane.mbufs)) {
			if (d->mbufs != NULL &&
			    (conf->dataplane.mbufs & (conf->dataplane.mbufs + 1)))
				eph_conf_warn(
					v, "dataplane.mbufs",
					"%u is not of the form 2^n - 1; the packet pool is most "
					"memory-efficient at sizes like 16383",
					conf->dataplane.mbufs);
		}
	}
}

/* The socket's group: it must exist now, or the socket could not be handed to it. */
static void
validate_group(struct vctx *v, const char *s, struct eph_conf_control *c)
{
	char q[QLEN];

	if (strlen(s) >= sizeof(c->group)) {
		eph_conf_err(v, "control.group",
			     "expected a group name of at most %zu characters, found %s",
			     sizeof(c->group) - 1, eph_conf_quote(q, sizeof(q), s));
		return;
	}
	if (s[0] != '\0' && getgrnam(s) == NULL) {
		eph_conf_err(
			v, "control.group",
			"expected the name of an existing group, found %s (no such group on this "
			"host)",
			eph_conf_quote(q, sizeof(q), s));
		return;
	}
	snprintf(c->group, sizeof(c->group), "%s", s);
}

/* "ADDR:PORT" or "PORT"; ADDR is 127.0.0.1 when left out. */
static void
validate_metrics_http(struct vctx *v, const char *s, struct eph_conf_control *c)
{
	const char *colon = strrchr(s, ':'), *port_s = colon != NULL ? colon + 1 : s;
	uint32_t addr = DEF_METRICS_ADDR;
	char q[QLEN], a[16], part[QLEN], why[2 * QLEN];
	unsigned port = 0;

	why[0] = '\0';
	if (colon != NULL && !eph_conf_parse_ipv4(s, (size_t)(colon - s), &addr)) {
		snprintf(part, sizeof(part), "%.*s", (int)(colon - s), s);
		snprintf(why, sizeof(why), "%s is not an IPv4 address",
			 eph_conf_quote(q, sizeof(q), part));
	} else if (!eph_conf_parse_port_num(port_s, strlen(port_s), &port) ||
		   port < EPH_LIMIT_PORT_MIN || port > EPH_LIMIT_PORT_MAX) {
		snprintf(why, sizeof(why), "%s is not a port from %d to %d",
			 eph_conf_quote(q, sizeof(q), port_s), EPH_LIMIT_PORT_MIN,
			 EPH_LIMIT_PORT_MAX);
	}
	if (why[0] != '\0') {
		eph_conf_err(
			v, "control.metrics-http",
			"expected \"ADDR:PORT\" or \"PORT\" like 127.0.0.1:9469 or 9469, found %s "
			"(%s)",
			eph_conf_quote(q, sizeof(q), s), why);
		return;
	}
	/* 0.0.0.0 is every address of the host: allowed, like any address it has. */
	if (addr != 0 && (addr >> 24) != 127 && eph_conf_addr_problem(addr) != NULL) {
		eph_conf_err(v, "control.metrics-http", "%s %s, expected an address of this host",
			     eph_conf_ip_str(a, sizeof(a), addr), eph_conf_addr_problem(addr));
		return;
	}
	if ((addr >> 24) != 127)
		eph_conf_warn(v, "control.metrics-http",
			      "%s %s: the metrics are exposed beyond this host, to anyone who can "
			      "reach it",
			      eph_conf_ip_str(a, sizeof(a), addr),
			      addr == 0 ? "is every address of this host"
					: "is not a loopback address");
	c->metrics_http = true;
	c->metrics_addr = addr;
	c->metrics_port = (uint16_t)port;
}

void
eph_conf_validate_control(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf)
{
	char q[QLEN];

	if (r->control != NULL) {
		const char *s = r->control->socket;

		if (s != NULL) {
			if (s[0] != '/')
				eph_conf_err(v, "control.socket",
					     "expected an absolute path, found %s",
					     eph_conf_quote(q, sizeof(q), s));
			else if (strlen(s) >= EPH_PATH_LEN)
				eph_conf_err(
					v, "control.socket",
					"expected a path of at most %d characters (the limit of a "
					"unix socket address), found %zu",
					EPH_PATH_LEN - 1, strlen(s));
			else
				snprintf(conf->control.socket, sizeof(conf->control.socket), "%s",
					 s);
		}
		if (r->control->group != NULL)
			validate_group(v, r->control->group, &conf->control);
		eph_conf_bool(v, "control.telemetry", r->control->telemetry,
			      &conf->control.telemetry);
		if (r->control->metrics_http != NULL)
			validate_metrics_http(v, r->control->metrics_http, &conf->control);
	}
}

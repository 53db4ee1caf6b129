/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The balancer's section, vips: virtual addresses, their backends, how
 * connections reach them (full-NAT from a pool or from the VIP's own
 * local-addresses, which the loader makes a pool of; destination NAT) and
 * the scheduler. Its schema, defaults and the loader's checks, and the
 * cross-field rules that reload and the control commands check too
 * (eph_conf_vips_rules).
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config/common.h"
#include "control/config/pools.h"
#include "control/config/ports.h"
#include "control/config/vips.h"
#include "dataplane/lb/maglev.h"

#define DEF_WEIGHT      EPH_LIMIT_BACKEND_WEIGHT_DEFAULT
#define DEF_MAGLEV_SIZE EPH_LIMIT_MAGLEV_SIZE_DEFAULT
#define MAX_CONNECTIONS 16777216
#define MAX_HALF_OPEN   67108864 /* the largest nat.sessions-per-worker */
#define MAX_NEW_CONNECTIONS_PER_S 100000000

/* ------------------------------------------------------------------------ */
/* Schema */

static const cyaml_strval_t protocol_strings[] = {
	{"tcp", IPPROTO_TCP},
	{"udp", IPPROTO_UDP},
};

static const cyaml_strval_t forwarding_strings[] = {
	{"fullnat", EPH_LB_FULLNAT},
	{"dnat", EPH_LB_DNAT},
};

static const cyaml_strval_t scheduler_strings[] = {
	{"maglev", 0},
};

static const cyaml_strval_t hash_strings[] = {
	{"5-tuple", EPH_LB_HASH_5TUPLE},
	{"source-ip", EPH_LB_HASH_SOURCE_IP},
};

static const cyaml_strval_t refusal_strings[] = {
	{"reset", EPH_LB_REFUSE_RESET},
	{"unreachable", EPH_LB_REFUSE_UNREACHABLE},
	{"drop", EPH_LB_REFUSE_DROP},
};

static const cyaml_strval_t on_remove_strings[] = {
	{"drain", EPH_LB_REMOVE_DRAIN},
	{"reset", EPH_LB_REMOVE_RESET},
};

static const cyaml_strval_t all_down_strings[] = {
	{"keep", EPH_LB_ALL_DOWN_KEEP},
	{"refuse", EPH_LB_ALL_DOWN_REFUSE},
};

static const cyaml_strval_t proxy_strings[] = {
	{"off", EPH_LB_PROXY_OFF},
	{"v2", EPH_LB_PROXY_V2},
};

static const cyaml_strval_t syn_proxy_strings[] = {
	{"off", EPH_LB_SYN_PROXY_OFF},
	{"on", EPH_LB_SYN_PROXY_ON},
};

static const cyaml_schema_field_t backend_fields[] = {
	CYAML_FIELD_STRING_PTR("address", OPT, struct raw_backend, address, 0, CYAML_UNLIMITED),
	CYAML_FIELD_INT_PTR("port", OPT, struct raw_backend, port),
	CYAML_FIELD_INT_PTR("weight", OPT, struct raw_backend, weight),
	CYAML_FIELD_INT_PTR("max-connections", OPT, struct raw_backend, max_connections),
	CYAML_FIELD_MAPPING_PTR("health-check", OPT_NULL, struct raw_backend, health_check,
				eph_conf_health_fields),
	CYAML_FIELD_END,
};

static const cyaml_schema_value_t backend_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_backend, backend_fields),
};

static const cyaml_schema_field_t vip_fields[] = {
	CYAML_FIELD_STRING_PTR("name", OPT, struct raw_vip, name, 0, CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("address", OPT, struct raw_vip, address, 0, CYAML_UNLIMITED),
	CYAML_FIELD_INT_PTR("port", OPT, struct raw_vip, port),
	CYAML_FIELD_ENUM_PTR("protocol", OPT | CYAML_FLAG_STRICT, struct raw_vip, protocol,
			     protocol_strings, CYAML_ARRAY_LEN(protocol_strings)),
	CYAML_FIELD_ENUM_PTR("forwarding", OPT | CYAML_FLAG_STRICT, struct raw_vip, forwarding,
			     forwarding_strings, CYAML_ARRAY_LEN(forwarding_strings)),
	CYAML_FIELD_STRING_PTR("source-pool", OPT, struct raw_vip, source_pool, 0,
			       CYAML_UNLIMITED),
	CYAML_FIELD_SEQUENCE("local-addresses", OPT_NULL, struct raw_vip, local_addresses,
			     &eph_conf_string_ptr_schema, 0, EPH_LIMIT_LOCAL_ADDRS_MAX),
	CYAML_FIELD_ENUM_PTR("scheduler", OPT | CYAML_FLAG_STRICT, struct raw_vip, scheduler,
			     scheduler_strings, CYAML_ARRAY_LEN(scheduler_strings)),
	CYAML_FIELD_INT_PTR("maglev-size", OPT, struct raw_vip, maglev_size),
	CYAML_FIELD_ENUM_PTR("hash", OPT | CYAML_FLAG_STRICT, struct raw_vip, hash, hash_strings,
			     CYAML_ARRAY_LEN(hash_strings)),
	CYAML_FIELD_INT_PTR("max-connections", OPT, struct raw_vip, max_connections),
	CYAML_FIELD_ENUM_PTR("refusal", OPT | CYAML_FLAG_STRICT, struct raw_vip, refusal,
			     refusal_strings, CYAML_ARRAY_LEN(refusal_strings)),
	CYAML_FIELD_ENUM_PTR("on-remove", OPT | CYAML_FLAG_STRICT, struct raw_vip, on_remove,
			     on_remove_strings, CYAML_ARRAY_LEN(on_remove_strings)),
	CYAML_FIELD_ENUM_PTR("proxy-protocol", OPT | CYAML_FLAG_STRICT, struct raw_vip, proxy,
			     proxy_strings, CYAML_ARRAY_LEN(proxy_strings)),
	CYAML_FIELD_ENUM_PTR("syn-proxy", OPT | CYAML_FLAG_STRICT, struct raw_vip, syn_proxy,
			     syn_proxy_strings, CYAML_ARRAY_LEN(syn_proxy_strings)),
	CYAML_FIELD_SEQUENCE("backends", OPT_NULL, struct raw_vip, backends, &backend_schema, 0,
			     EPH_LIMIT_VIP_BACKENDS_MAX),
	CYAML_FIELD_MAPPING_PTR("health-check", OPT_NULL, struct raw_vip, health_check,
				eph_conf_health_fields),
	CYAML_FIELD_MAPPING_PTR("outlier-detection", OPT_NULL, struct raw_vip, outlier_detection,
				eph_conf_outlier_fields),
	CYAML_FIELD_ENUM_PTR("all-down", OPT | CYAML_FLAG_STRICT, struct raw_vip, all_down,
			     all_down_strings, CYAML_ARRAY_LEN(all_down_strings)),
	/* SYN flood guards */
	CYAML_FIELD_INT_PTR("half-open-per-worker", OPT, struct raw_vip, half_open_per_worker),
	CYAML_FIELD_INT_PTR("new-connections-per-s", OPT, struct raw_vip, new_connections_per_s),
	CYAML_FIELD_END,
};

const cyaml_schema_value_t eph_conf_vip_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_vip, vip_fields),
};

/* clang-format off */
const struct eph_conf_int_rule eph_conf_vips_int_rules[] = {
	{ "vips[].port", 0, EPH_LIMIT_PORT_MAX, false },
	{ "vips[].maglev-size", EPH_LIMIT_MAGLEV_SIZE_MIN, EPH_LIMIT_MAGLEV_SIZE_MAX, false },
	{ "vips[].max-connections", 0, MAX_CONNECTIONS, false },
	{ "vips[].backends[].port", EPH_LIMIT_PORT_MIN, EPH_LIMIT_PORT_MAX, false },
	{ "vips[].backends[].weight", EPH_LIMIT_BACKEND_WEIGHT_MIN, EPH_LIMIT_BACKEND_WEIGHT_MAX,
	  false },
	{ "vips[].backends[].max-connections", 0, MAX_CONNECTIONS, false },
	{ "vips[].half-open-per-worker", 0, MAX_HALF_OPEN, false },
	{ "vips[].new-connections-per-s", 0, MAX_NEW_CONNECTIONS_PER_S, false },
	{ NULL, 0, 0, false },
};
/* clang-format on */

const char *
eph_lb_forwarding_name(enum eph_lb_forwarding f)
{
	return f == EPH_LB_DNAT ? "dnat" : "fullnat";
}

const char *
eph_lb_hash_name(enum eph_lb_hash h)
{
	return h == EPH_LB_HASH_SOURCE_IP ? "source-ip" : "5-tuple";
}

const char *
eph_lb_refusal_name(enum eph_lb_refusal r)
{
	return r == EPH_LB_REFUSE_UNREACHABLE ? "unreachable"
	       : r == EPH_LB_REFUSE_DROP	 ? "drop"
						 : "reset";
}

const char *
eph_lb_on_remove_name(enum eph_lb_on_remove r)
{
	return r == EPH_LB_REMOVE_RESET ? "reset" : "drain";
}

const char *
eph_lb_proxy_name(enum eph_lb_proxy p)
{
	return p == EPH_LB_PROXY_V2 ? "v2" : "off";
}

const char *
eph_lb_syn_proxy_name(enum eph_lb_syn_proxy p)
{
	return p == EPH_LB_SYN_PROXY_ON ? "on" : "off";
}

void
eph_conf_vip_defaults(struct eph_conf_vip *v)
{
	memset(v, 0, sizeof(*v));
	v->proto = IPPROTO_TCP;
	v->forwarding = EPH_LB_FULLNAT;
	v->pool = -1;
	v->hash = EPH_LB_HASH_5TUPLE;
	v->maglev_size = DEF_MAGLEV_SIZE;
	v->refusal = EPH_LB_REFUSE_RESET;
	v->on_remove = EPH_LB_REMOVE_DRAIN;
	eph_conf_health_defaults(&v->health);
	eph_conf_outlier_defaults(&v->outlier);
	v->all_down = EPH_LB_ALL_DOWN_KEEP;
	v->proxy = EPH_LB_PROXY_OFF;
	v->syn_proxy = EPH_LB_SYN_PROXY_OFF;
}

bool
eph_conf_raw_source_pool(const struct raw_conf *r, const char *name)
{
	for (unsigned i = 0; r->vips != NULL && i < r->vips_count; i++)
		if (r->vips[i].source_pool != NULL && name != NULL &&
		    strcmp(r->vips[i].source_pool, name) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------------------ */
/* The rules of a whole configuration (loader and eph_conf_check alike) */

struct rules {
	const struct eph_conf *conf;
	bool by_name;
	void (*report)(void *arg, const char *path, const char *msg);
	void *arg;
};

__attribute__((format(printf, 4, 5))) static void
rule(const struct rules *ru, unsigned i, const char *key, const char *fmt, ...)
{
	const struct eph_conf_vip *v = &ru->conf->vips[i];
	char path[96], msg[512];
	va_list ap;

	if (ru->by_name && v->name[0] != '\0')
		snprintf(path, sizeof(path), "vips[%s]%s%s", v->name, key[0] == '[' ? "" : ".",
			 key);
	else
		snprintf(path, sizeof(path), "vips[%u]%s%s", i, key[0] == '[' ? "" : ".", key);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ru->report(ru->arg, path, msg);
}

/* Who else has address a (host order): a port, a pool (other than skip_pool), a VIP's address. */
static bool
addr_owner(const struct eph_conf *conf, uint32_t a, int skip_pool, char *who, size_t size)
{
	for (unsigned i = 0; i < conf->n_ports; i++)
		if (conf->ports[i].addr == a) {
			snprintf(who, size, "the address of port '%s'", conf->ports[i].name);
			return true;
		}
	for (unsigned p = 0; p < conf->n_pools; p++) {
		const struct eph_conf_pool *cp = &conf->pools[p];

		if ((int)p == skip_pool)
			continue;
		for (unsigned k = 0; k < cp->n_addrs; k++)
			if (cp->addrs[k] == a)
				goto pool;
		for (unsigned k = 0; k < cp->n_reserve; k++)
			if (cp->reserve[k] == a)
				goto pool;
		continue;
pool:
		if (cp->vip[0] != '\0')
			snprintf(who, size, "a local address of vip %s", cp->vip);
		else
			snprintf(who, size, "an address of pool %s", cp->name);
		return true;
	}
	return false;
}

int
eph_conf_egress_port(const struct eph_conf *conf, uint32_t a)
{
	int best = -1, best_len = -1;

	for (unsigned i = 0; i < conf->n_ports; i++)
		if (eph_conf_in_subnet(&conf->ports[i], a))
			return (int)i;
	for (unsigned i = 0; conf->routes != NULL && i < conf->n_routes; i++) {
		const struct eph_conf_route *r = &conf->routes[i];

		if ((a & eph_conf_prefix_mask(r->prefix_len)) == r->prefix && r->prefix_len > best_len) {
			best = r->port;
			best_len = r->prefix_len;
		}
	}
	return best;
}

/*
 * Active checks run from the gateway's own kernel, through the kernel
 * interface of the port a backend is reached by (control/health.c).
 */
static void
rules_health(const struct rules *ru, unsigned i, unsigned k, const char *key)
{
	const struct eph_conf *conf = ru->conf;
	const struct eph_conf_backend *b = &conf->vips[i].backends[k];
	const struct eph_conf_health *h = b->own_health ? &b->health : &conf->vips[i].health;
	char path[64], a[16];
	int port;

	if (h->type == EPH_HEALTH_NONE)
		return;
	if (b->own_health)
		snprintf(path, sizeof(path), "%s.health-check", key);
	else
		snprintf(path, sizeof(path), "health-check");
	eph_conf_ip_str(a, sizeof(a), b->addr);
	if (h->port == 0 && b->port == 0)
		rule(ru, i, path,
		     "backend %s serves every port: expected health-check.port, the port to check",
		     a);
	port = eph_conf_egress_port(conf, b->addr);
	if (port >= 0 && conf->ports[port].kernel_if[0] == '\0')
		rule(ru, i, path,
		     "backend %s is reached through port '%s', which has no kernel-interface: "
		     "health checks run from the gateway's kernel through it, expected "
		     "ports[%s].kernel-interface",
		     a, conf->ports[port].name, conf->ports[port].name);
}

static void
rules_backends(const struct rules *ru, unsigned i)
{
	const struct eph_conf *conf = ru->conf;
	const struct eph_conf_vip *v = &conf->vips[i];
	unsigned up = 0;
	char a[16], who[96], key[48];
	const char *why;

	if (v->n_backends > EPH_MAX_VIP_BACKENDS)
		rule(ru, i, "backends", "%u backends, at most %u allowed", v->n_backends,
		     EPH_MAX_VIP_BACKENDS);
	for (unsigned k = 0; k < v->n_backends && k < EPH_MAX_VIP_BACKENDS; k++) {
		const struct eph_conf_backend *b = &v->backends[k];

		snprintf(key, sizeof(key), "backends[%u]", k);
		eph_conf_ip_str(a, sizeof(a), b->addr);
		up += b->weight != 0;
		if (b->weight > EPH_LIMIT_BACKEND_WEIGHT_MAX)
			rule(ru, i, key, "weight %u, expected 0 to %u", b->weight,
			     EPH_LIMIT_BACKEND_WEIGHT_MAX);
		if ((why = eph_conf_addr_problem(b->addr)) != NULL)
			rule(ru, i, key, "backend %s %s, expected a unicast host address", a, why);
		else if (addr_owner(conf, b->addr, -1, who, sizeof(who)) ||
			 eph_conf_vip_addr_used(conf, b->addr, who, sizeof(who)))
			rule(ru, i, key, "backend %s is %s, expected a host behind the gateway", a,
			     who);
		else if (eph_conf_egress_port(conf, b->addr) < 0)
			rule(ru, i, key,
			     "backend %s is not routable: expected an address on a port's subnet or "
			     "under a route of routes:",
			     a);
		if (v->port == 0 && b->port != 0)
			rule(ru, i, key,
			     "backend port %u on a VIP of every port (port 0): expected no port, the "
			     "client's destination port is kept",
			     b->port);
		else if (v->port != 0 && b->port == 0)
			rule(ru, i, key, "expected a backend port 1 to 65535");
		if (k > 0 && v->backends[k - 1].addr == b->addr && v->backends[k - 1].port == b->port)
			rule(ru, i, key, "duplicate backend %s:%u", a, b->port);
		rules_health(ru, i, k, key);
	}
	if (v->n_backends > 0 && up == 0)
		rule(ru, i, "backends",
		     "every backend has weight 0: expected at least one with a weight above 0 "
		     "(or no backend at all)");
	if (eph_maglev_size_check(v->maglev_size, v->n_backends, &why) != 0)
		rule(ru, i, "maglev-size",
		     "expected %s (%u backends: a prime from %u to %u, 65537 by default), found %u",
		     why, v->n_backends, v->n_backends > 1 ? 100u * v->n_backends : 101u, EPH_MAGLEV_SIZE_MAX,
		     v->maglev_size);
}

static void
rules_forwarding(const struct rules *ru, unsigned i)
{
	const struct eph_conf *conf = ru->conf;
	const struct eph_conf_vip *v = &conf->vips[i];
	const struct eph_conf_pool *p;

	if (v->forwarding == EPH_LB_DNAT) {
		if (v->pool >= 0)
			rule(ru, i, "forwarding",
			     "dnat rewrites the destination only: expected no source-pool and no "
			     "local-addresses");
		return;
	}
	if (v->pool < 0 || (unsigned)v->pool >= conf->n_pools) {
		rule(ru, i, "source-pool",
		     "fullnat needs local addresses: expected source-pool (a pool of pools:) or "
		     "local-addresses");
		return;
	}
	p = &conf->pools[v->pool];
	if (!p->balancer)
		rule(ru, i, "source-pool", "pool %s is not marked the balancer's", p->name);
	if (p->n_inside != 0)
		rule(ru, i, "source-pool",
		     "pool %s has inside prefixes: a VIP's source-pool serves the balancer alone, "
		     "expected a pool without inside",
		     p->name);
	if (p->mapping != EPH_MAPPING_ENDPOINT_DEPENDENT)
		rule(ru, i, "source-pool",
		     "pool %s maps endpoint-independently: expected mapping: endpoint-dependent "
		     "(local ports are taken per backend)",
		     p->name);
	if (p->log == EPH_NAT_LOG_PORT_BLOCKS)
		rule(ru, i, "source-pool",
		     "pool %s logs port blocks: expected log: off or sessions for a source-pool",
		     p->name);
	if (p->vip[0] != '\0' && strcmp(p->vip, v->name) != 0)
		rule(ru, i, "source-pool", "pool %s holds the local addresses of vip %s", p->name,
		     p->vip);
}

static void
rules_flood_guards(const struct rules *ru, unsigned i)
{
	const struct eph_conf *conf = ru->conf;
	const struct eph_conf_vip *v = &conf->vips[i];

	if (v->half_open_per_worker > conf->nat.sessions_per_worker)
		rule(ru, i, "half-open-per-worker",
		     "%u, expected at most nat.sessions-per-worker (%u): the bound keeps a SYN flood "
		     "to a share of the connection table",
		     v->half_open_per_worker, conf->nat.sessions_per_worker);
	if (v->half_open_per_worker != 0 && v->proto != IPPROTO_TCP)
		rule(ru, i, "half-open-per-worker", "a udp VIP has no half-open connections");
}

void
eph_conf_vips_rules(const struct eph_conf *conf, bool by_name,
		    void (*report)(void *arg, const char *path, const char *msg), void *arg)
{
	const struct rules ru = {conf, by_name, report, arg};
	char a[16], who[96];
	const char *why;

	for (unsigned i = 0; i < conf->n_vips && i < EPH_MAX_VIPS; i++) {
		const struct eph_conf_vip *v = &conf->vips[i];

		if (v->name[0] == '\0' || !eph_conf_only_chars(v->name, NAME_CHARS))
			rule(&ru, i, "name",
			     "expected a name of 1 to %d characters from a-z, 0-9, '_' and '-'",
			     EPH_NAME_LEN - 1);
		for (unsigned j = 0; j < i; j++) {
			const struct eph_conf_vip *o = &conf->vips[j];

			if (strcmp(o->name, v->name) == 0)
				rule(&ru, i, "name", "duplicate vip name '%s', already used by vips[%u]",
				     v->name, j);
			if (o->addr == v->addr && o->port == v->port && o->proto == v->proto)
				rule(&ru, i, "address",
				     "%s port %u %s is already vip %s: one VIP per address, port and "
				     "protocol",
				     eph_conf_ip_str(a, sizeof(a), v->addr), v->port,
				     v->proto == IPPROTO_UDP ? "udp" : "tcp", o->name);
		}
		eph_conf_ip_str(a, sizeof(a), v->addr);
		if ((why = eph_conf_addr_problem(v->addr)) != NULL)
			rule(&ru, i, "address", "%s %s, expected a unicast address", a, why);
		else if (addr_owner(conf, v->addr, -1, who, sizeof(who)))
			rule(&ru, i, "address", "%s is %s, expected an address of its own", a, who);
		if (v->proto != IPPROTO_TCP && v->proto != IPPROTO_UDP)
			rule(&ru, i, "protocol", "expected tcp or udp");
		for (unsigned p = 0; p < conf->n_pools; p++)
			if (conf->pools[p].vip[0] != '\0' && strcmp(conf->pools[p].vip, v->name) == 0 &&
			    (int)p != v->pool)
				rule(&ru, i, "local-addresses", "pool %s holds them, but the VIP uses %s",
				     conf->pools[p].name,
				     v->pool >= 0 ? conf->pools[v->pool].name : "none");
		if (v->proxy != EPH_LB_PROXY_OFF &&
		    (v->proto != IPPROTO_TCP || v->forwarding != EPH_LB_FULLNAT))
			rule(&ru, i, "proxy-protocol",
			     "%s on a %s %s VIP: the header goes in front of the TCP stream a "
			     "local address opens to the backend, expected protocol: tcp and "
			     "forwarding: fullnat (or proxy-protocol: off)",
			     eph_lb_proxy_name(v->proxy), v->proto == IPPROTO_UDP ? "udp" : "tcp",
			     eph_lb_forwarding_name(v->forwarding));
		if (v->syn_proxy != EPH_LB_SYN_PROXY_OFF &&
		    (v->proto != IPPROTO_TCP || v->forwarding != EPH_LB_FULLNAT))
			rule(&ru, i, "syn-proxy",
			     "on, on a %s %s VIP: the balancer completes the client's TCP handshake "
			     "and opens its own from a local address to the backend, expected "
			     "protocol: tcp and forwarding: fullnat (or syn-proxy: off)",
			     v->proto == IPPROTO_UDP ? "udp" : "tcp",
			     eph_lb_forwarding_name(v->forwarding));
		rules_forwarding(&ru, i);
		rules_backends(&ru, i);
		rules_flood_guards(&ru, i);
	}
	/* A pool of a VIP's local-addresses belongs to a VIP that is there. */
	for (unsigned p = 0; p < conf->n_pools; p++) {
		bool found = false;

		if (conf->pools[p].vip[0] == '\0')
			continue;
		for (unsigned i = 0; i < conf->n_vips && !found; i++)
			found = strcmp(conf->vips[i].name, conf->pools[p].vip) == 0;
		if (!found) {
			char path[64], msg[128];

			snprintf(path, sizeof(path), "pools[%s]", conf->pools[p].name);
			snprintf(msg, sizeof(msg), "local addresses of vip %s, which is not configured",
				 conf->pools[p].vip);
			report(arg, path, msg);
		}
	}
}

bool
eph_conf_vip_addr_used(const struct eph_conf *conf, uint32_t a, char *who, size_t size)
{
	for (unsigned i = 0; i < conf->n_vips && i < EPH_MAX_VIPS; i++)
		if (conf->vips[i].addr == a) {
			snprintf(who, size, "the address of vip %s", conf->vips[i].name);
			return true;
		}
	return false;
}

/* ------------------------------------------------------------------------ */
/* The loader */

/*
 * One entry of local-addresses: an address, a prefix (every host of it) or
 * a range a-b, appended to out (host order, at most max). false after an
 * error at path.
 */
static bool
expand_entry(struct vctx *v, const char *path, const char *s, uint32_t *out, unsigned *n,
	     unsigned max)
{
	char q[QLEN], a[16];
	const char *dash = strchr(s, '-');
	uint32_t first, last, bad;
	uint8_t len;

	if (dash != NULL) {
		if (!eph_conf_parse_ipv4(s, (size_t)(dash - s), &first) ||
		    !eph_conf_parse_ipv4(dash + 1, strlen(dash + 1), &last) || last < first) {
			eph_conf_err(v, path,
				     "expected an address, a prefix or a range like "
				     "198.18.0.2-198.18.0.5, found %s",
				     eph_conf_quote(q, sizeof(q), s));
			return false;
		}
	} else if (strchr(s, '/') != NULL) {
		if (eph_conf_parse_prefix(s, &first, &len) != PFX_OK || len < 16 ||
		    (first & ~eph_conf_prefix_mask(len)) != 0) {
			eph_conf_err(v, path,
				     "expected a network of prefix length 16 to 32 without host bits, "
				     "found %s",
				     eph_conf_quote(q, sizeof(q), s));
			return false;
		}
		last = eph_conf_prefix_last(first, len);
	} else if (eph_conf_parse_ipv4(s, strlen(s), &first)) {
		last = first;
	} else {
		eph_conf_err(v, path, "expected an IPv4 address, found %s",
			     eph_conf_quote(q, sizeof(q), s));
		return false;
	}
	if (eph_conf_range_problem(first, last, &bad)) {
		eph_conf_err(v, path, "%s %s, expected unicast host addresses",
			     eph_conf_ip_str(a, sizeof(a), bad), eph_conf_addr_problem(bad));
		return false;
	}
	if ((uint64_t)last - first + 1 > max - *n) {
		eph_conf_err(v, path, "expands past %u local addresses, at most %u allowed",
			     max, max);
		return false;
	}
	for (uint64_t x = first; x <= last; x++)
		out[(*n)++] = (uint32_t)x;
	return true;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_backend(const void *a, const void *b)
{
	const struct eph_conf_backend *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

/* The VIP's local-addresses as a pool of its own, appended to conf->pools: its index, or -1. */
static int
local_pool(struct vctx *v, unsigned i, const struct raw_vip *r, struct eph_conf *conf,
	   const struct eph_conf_vip *cv)
{
	uint32_t addrs[EPH_LIMIT_LOCAL_ADDRS_MAX];
	struct eph_conf_pool *p;
	unsigned n = 0, k, m;
	char path[64], a[16], who[96];
	bool ok = true;

	if (r->local_addresses_count == 0) {
		snprintf(path, sizeof(path), "vips[%u].local-addresses", i);
		eph_conf_err(v, path, "expected a non-empty sequence of addresses");
		return -1;
	}
	for (k = 0; k < r->local_addresses_count; k++) {
		snprintf(path, sizeof(path), "vips[%u].local-addresses[%u]", i, k);
		ok = expand_entry(v, path,
				  r->local_addresses[k] != NULL ? r->local_addresses[k] : "", addrs,
				  &n, EPH_LIMIT_LOCAL_ADDRS_MAX) &&
		     ok;
	}
	if (!ok)
		return -1;
	qsort(addrs, n, sizeof(addrs[0]), cmp_u32);
	for (k = 1, m = 1; k < n; k++)
		if (addrs[k] != addrs[m - 1])
			addrs[m++] = addrs[k];
	n = m;
	snprintf(path, sizeof(path), "vips[%u].local-addresses", i);
	for (k = 0; k < n; k++) {
		if (addr_owner(conf, addrs[k], -1, who, sizeof(who)) ||
		    eph_conf_vip_addr_used(conf, addrs[k], who, sizeof(who))) {
			eph_conf_err(v, path, "%s is %s, expected addresses of the VIP's own",
				     eph_conf_ip_str(a, sizeof(a), addrs[k]), who);
			return -1;
		}
	}
	for (k = 0; k < conf->n_pools; k++)
		if (strcmp(conf->pools[k].name, cv->name) == 0) {
			snprintf(path, sizeof(path), "vips[%u].name", i);
			eph_conf_err(v, path,
				     "'%s' is also a pool's name: the local addresses of a VIP form a "
				     "pool named as the VIP, expected another name",
				     cv->name);
			return -1;
		}
	if (conf->n_pools >= EPH_MAX_POOLS) {
		eph_conf_err(v, path,
			     "the pool these make would be pool number %u, at most %u allowed "
			     "(pools and VIPs with local-addresses together)",
			     conf->n_pools + 1, EPH_MAX_POOLS);
		return -1;
	}
	p = &conf->pools[conf->n_pools];
	eph_conf_pool_defaults(p);
	memcpy(p->name, cv->name, sizeof(p->name)); /* both EPH_NAME_LEN, NUL-terminated */
	memcpy(p->vip, cv->name, sizeof(p->vip));
	p->balancer = true;
	p->pooling = EPH_POOLING_ARBITRARY; /* a client's connections spread over the addresses */
	p->addrs = malloc(n * sizeof(*p->addrs));
	if (p->addrs == NULL) {
		v->oom = true;
		v->n_errors++;
		return -1;
	}
	memcpy(p->addrs, addrs, n * sizeof(*p->addrs));
	p->n_addrs = n;
	return (int)conf->n_pools++;
}

void
eph_conf_backends_sort(struct eph_conf_vip *v)
{
	/* One order whatever the file's: every gateway builds the same Maglev table. */
	if (v->n_backends > 1)
		qsort(v->backends, v->n_backends, sizeof(*v->backends), cmp_backend);
}

static bool
validate_backends(struct vctx *v, unsigned i, const struct raw_vip *r, struct eph_conf_vip *cv)
{
	char path[80], q[QLEN];
	bool ok = true;

	if (r->backends_count == 0 || r->backends == NULL)
		return true;
	cv->backends = calloc(r->backends_count, sizeof(*cv->backends));
	if (cv->backends == NULL) {
		v->oom = true;
		v->n_errors++;
		return false;
	}
	for (unsigned k = 0; k < r->backends_count; k++) {
		const struct raw_backend *rb = &r->backends[k];
		struct eph_conf_backend *b = &cv->backends[cv->n_backends];
		unsigned port = 0;
		bool bad = false;

#define BPATH(key) (snprintf(path, sizeof(path), "vips[%u].backends[%u]%s", i, k, key), path)
		*b = (struct eph_conf_backend){.weight = DEF_WEIGHT};
		if (rb->address == NULL) {
			eph_conf_err(v, BPATH(".address"), "required key is missing");
			bad = true;
		} else if (!eph_conf_parse_ipv4(rb->address, strlen(rb->address), &b->addr)) {
			eph_conf_err(v, BPATH(".address"), "expected an IPv4 address, found %s",
				     eph_conf_quote(q, sizeof(q), rb->address));
			bad = true;
		}
		if (rb->port != NULL && !eph_conf_uint(v, BPATH(".port"), rb->port, &port))
			bad = true;
		b->port = (uint16_t)(rb->port != NULL ? port : cv->port);
		if (!eph_conf_uint(v, BPATH(".weight"), rb->weight, &b->weight))
			bad = true;
		if (!eph_conf_uint(v, BPATH(".max-connections"), rb->max_connections,
				   &b->max_connections))
			bad = true;
		b->own_health = rb->health_check != NULL;
		if (!eph_conf_validate_health(v, BPATH(".health-check"), rb->health_check,
					      &b->health))
			bad = true;
#undef BPATH
		if (bad)
			ok = false;
		else
			cv->n_backends++;
	}
	eph_conf_backends_sort(cv);
	return ok;
}

/* The SYN flood guards' keys (ranges: eph_conf_vips_int_rules). */
static bool
validate_flood_guards(struct vctx *v, unsigned i, const struct raw_vip *r, struct eph_conf_vip *cv)
{
	char path[64];
	bool ok = true;

	snprintf(path, sizeof(path), "vips[%u].half-open-per-worker", i);
	ok = eph_conf_uint(v, path, r->half_open_per_worker, &cv->half_open_per_worker) && ok;
	snprintf(path, sizeof(path), "vips[%u].new-connections-per-s", i);
	ok = eph_conf_uint(v, path, r->new_connections_per_s, &cv->new_connections_per_s) && ok;
	return ok;
}

static bool
validate_vip(struct vctx *v, unsigned i, const struct raw_vip *r, struct eph_conf *conf)
{
	struct eph_conf_vip *cv = &conf->vips[i];
	char path[64], q[QLEN];
	unsigned port = 0;
	bool ok = true;

#define VPATH(key) (snprintf(path, sizeof(path), "vips[%u].%s", i, key), path)
	eph_conf_vip_defaults(cv);
	if (r->name == NULL) {
		eph_conf_err(v, VPATH("name"), "required key is missing");
		ok = false;
	} else if (r->name[0] == '\0' || strlen(r->name) >= EPH_NAME_LEN ||
		   !eph_conf_only_chars(r->name, NAME_CHARS)) {
		eph_conf_err(v, VPATH("name"),
			     "expected a name of 1 to %d characters from a-z, 0-9, '_' and '-', "
			     "found %s",
			     EPH_NAME_LEN - 1, eph_conf_quote(q, sizeof(q), r->name));
		ok = false;
	} else {
		snprintf(cv->name, sizeof(cv->name), "%s", r->name);
	}
	if (r->address == NULL) {
		eph_conf_err(v, VPATH("address"), "required key is missing");
		ok = false;
	} else if (!eph_conf_parse_ipv4(r->address, strlen(r->address), &cv->addr)) {
		eph_conf_err(v, VPATH("address"), "expected an IPv4 address, found %s",
			     eph_conf_quote(q, sizeof(q), r->address));
		ok = false;
	}
	ok = eph_conf_uint(v, VPATH("port"), r->port, &port) && ok;
	cv->port = (uint16_t)port;
	if (r->protocol != NULL)
		cv->proto = (uint8_t)*r->protocol;
	if (r->forwarding != NULL)
		cv->forwarding = *r->forwarding;
	if (r->hash != NULL)
		cv->hash = *r->hash;
	if (r->refusal != NULL)
		cv->refusal = *r->refusal;
	if (r->on_remove != NULL)
		cv->on_remove = *r->on_remove;
	if (r->proxy != NULL)
		cv->proxy = *r->proxy;
	if (r->syn_proxy != NULL)
		cv->syn_proxy = *r->syn_proxy;
	ok = eph_conf_uint(v, VPATH("maglev-size"), r->maglev_size, &cv->maglev_size) && ok;
	ok = eph_conf_uint(v, VPATH("max-connections"), r->max_connections, &cv->max_connections) &&
	     ok;
	ok = eph_conf_validate_health(v, VPATH("health-check"), r->health_check, &cv->health) && ok;
	ok = eph_conf_validate_outlier(v, VPATH("outlier-detection"), r->outlier_detection,
				       &cv->outlier) && ok;
	if (r->all_down != NULL)
		cv->all_down = (enum eph_lb_all_down)*r->all_down;
	ok = validate_flood_guards(v, i, r, cv) && ok;
	ok = validate_backends(v, i, r, cv) && ok;

	if (cv->forwarding == EPH_LB_DNAT) {
		if (r->source_pool != NULL || r->local_addresses_count != 0) {
			eph_conf_err(v, VPATH(r->source_pool != NULL ? "source-pool" : "local-addresses"),
				     "forwarding: dnat rewrites the destination only, expected no "
				     "source-pool and no local-addresses");
			ok = false;
		}
	} else if (r->source_pool != NULL && r->local_addresses_count != 0) {
		eph_conf_err(v, VPATH("local-addresses"),
			     "expected either source-pool or local-addresses, not both");
		ok = false;
	} else if (r->source_pool != NULL) {
		for (unsigned p = 0; p < conf->n_pools; p++)
			if (conf->pools[p].vip[0] == '\0' &&
			    strcmp(conf->pools[p].name, r->source_pool) == 0)
				cv->pool = (int)p;
		if (cv->pool < 0) {
			eph_conf_err(v, VPATH("source-pool"), "no pool named %s in pools:",
				     eph_conf_quote(q, sizeof(q), r->source_pool));
			ok = false;
		}
	} else if (r->local_addresses_count != 0) {
		if (ok) {
			cv->pool = local_pool(v, i, r, conf, cv);
			ok = cv->pool >= 0;
		}
	} else {
		eph_conf_err(v, VPATH("source-pool"),
			     "forwarding: fullnat needs local addresses: expected source-pool (a "
			     "pool of pools:) or local-addresses");
		ok = false;
	}
#undef VPATH
	return ok;
}

struct report_ctx {
	struct vctx *v;
	const struct raw_conf *r;
	const struct eph_conf *conf;
};

/* Whether the file's entry rb is backend b of a VIP of port vip_port. */
static bool
raw_backend_is(const struct raw_backend *rb, uint16_t vip_port, const struct eph_conf_backend *b)
{
	uint32_t a;

	return rb->address != NULL && eph_conf_parse_ipv4(rb->address, strlen(rb->address), &a) &&
	       a == b->addr && (rb->port != NULL ? *rb->port : vip_port) == b->port;
}

/*
 * The rules' reports, at the key's position in the file. They name backends
 * in sorted order: backends[k] is found back as the file's entry (the same
 * address and port, the same rank among equal ones).
 */
static void
report_at(void *arg, const char *path, const char *msg)
{
	const struct report_ctx *rc = arg;
	unsigned i, k, rank = 0;
	char fpath[96];
	int n = 0;

	if (sscanf(path, "vips[%u].backends[%u]%n", &i, &k, &n) == 2 && n > 0 &&
	    i < rc->conf->n_vips && i < rc->r->vips_count && k < rc->conf->vips[i].n_backends) {
		const struct eph_conf_vip *cv = &rc->conf->vips[i];
		const struct raw_vip *rv = &rc->r->vips[i];
		const struct eph_conf_backend *b = &cv->backends[k];

		for (unsigned j = 0; j < k; j++)
			rank += cv->backends[j].addr == b->addr && cv->backends[j].port == b->port;
		for (unsigned j = 0; rv->backends != NULL && j < rv->backends_count; j++)
			if (raw_backend_is(&rv->backends[j], cv->port, b) && rank-- == 0) {
				snprintf(fpath, sizeof(fpath), "vips[%u].backends[%u]%s", i, j, path + n);
				eph_conf_err(rc->v, fpath, "%s", msg);
				return;
			}
	}
	eph_conf_err(rc->v, path, "%s", msg);
}

void
eph_conf_validate_vips(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf)
{
	bool ok = true;

	if (r->vips_count == 0 || r->vips == NULL)
		return;
	conf->n_vips = r->vips_count;
	for (unsigned i = 0; i < conf->n_vips; i++)
		ok = validate_vip(v, i, &r->vips[i], conf) && ok;
	if (ok) {
		struct report_ctx rc = {v, r, conf};

		eph_conf_vips_rules(conf, false, report_at, &rc);
	}
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ports and routes sections: devices, roles and addresses of the
 * gateway's ports, and the static routes through their subnets. Their
 * schema fields, defaults, integer rules and checks.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config/common.h"
#include "control/config/ports.h"

/* Characters of a Linux interface name this file accepts (dev_valid_name is laxer). */
#define IFNAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."

/* Documented defaults. */
#define DEF_MTU  1500
#define DEF_DESC 1024

/* ------------------------------------------------------------------------ */
/* Schema */

static const cyaml_strval_t role_strings[] = {
	{"inside", EPH_ROLE_INSIDE},
	{"outside", EPH_ROLE_OUTSIDE},
};

static const cyaml_schema_field_t port_fields[] = {
	CYAML_FIELD_STRING_PTR("name", OPT, struct raw_port, name, 0, CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("device", OPT, struct raw_port, device, 0, CYAML_UNLIMITED),
	CYAML_FIELD_ENUM_PTR("role", OPT | CYAML_FLAG_STRICT, struct raw_port, role, role_strings,
			     CYAML_ARRAY_LEN(role_strings)),
	CYAML_FIELD_STRING_PTR("address", OPT, struct raw_port, address, 0, CYAML_UNLIMITED),
	CYAML_FIELD_INT_PTR("mtu", OPT, struct raw_port, mtu),
	CYAML_FIELD_INT_PTR("rx-desc", OPT, struct raw_port, rx_desc),
	CYAML_FIELD_INT_PTR("tx-desc", OPT, struct raw_port, tx_desc),
	CYAML_FIELD_BOOL_PTR("promiscuous", OPT, struct raw_port, promiscuous),
	CYAML_FIELD_STRING_PTR("mss-clamp", OPT, struct raw_port, mss_clamp, 0, CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("kernel-interface", OPT, struct raw_port, kernel_interface, 0,
			       CYAML_UNLIMITED),
	CYAML_FIELD_END,
};

const cyaml_schema_value_t eph_conf_port_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_port, port_fields),
};

static const cyaml_schema_field_t route_fields[] = {
	CYAML_FIELD_STRING_PTR("prefix", OPT, struct raw_route, prefix, 0, CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("via", OPT, struct raw_route, via, 0, CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("port", OPT, struct raw_route, port, 0, CYAML_UNLIMITED),
	CYAML_FIELD_END,
};

const cyaml_schema_value_t eph_conf_route_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_route, route_fields),
};

/* clang-format off */
const struct eph_conf_int_rule eph_conf_ports_int_rules[] = {
	{ "ports[].mtu",           68,       9600,     false },
	{ "ports[].rx-desc",       64,       16384,    true },
	{ "ports[].tx-desc",       64,       16384,    true },
	{ NULL, 0, 0, false },
};
/* clang-format on */

/* ------------------------------------------------------------------------ */
/* Value parsers */

/* PCI address "DDDD:BB:DD.F" or "BB:DD.F", normalised to the long form. */
static int
parse_pci(const char *s, char *out, size_t size)
{
	unsigned dom = 0, bus, dev, fn;
	char tail;
	size_t i, len = strlen(s);

	for (i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
			return -1;
	if (len == 12 && s[4] == ':' && s[7] == ':' && s[10] == '.') {
		if (sscanf(s, "%4x:%2x:%2x.%1x%c", &dom, &bus, &dev, &fn, &tail) != 4)
			return -1;
	} else if (len == 7 && s[2] == ':' && s[5] == '.') {
		if (sscanf(s, "%2x:%2x.%1x%c", &bus, &dev, &fn, &tail) != 3)
			return -1;
	} else {
		return -1;
	}
	if (dev > 0x1f || fn > 7)
		return -2;
	snprintf(out, size, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
}

/* "net_<driver>[,key=value]...": 0, -1 not a vdev, -2 bad arguments. */
static int
parse_vdev(const char *s)
{
	const char *p = s + 4;

	if (strncmp(s, "net_", 4) != 0)
		return -1;
	if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p))
		return -1;
	while (islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_')
		p++;
	while (*p == ',') {
		const char *k = ++p;

		while (isalnum((unsigned char)*p) || *p == '_' || *p == '-')
			p++;
		if (p == k || *p != '=')
			return -2;
		k = ++p;
		while (*p != '\0' && *p != ',' && isgraph((unsigned char)*p))
			p++;
		if (p == k)
			return -2;
	}
	return *p == '\0' ? 0 : -2;
}

/* ------------------------------------------------------------------------ */
/* Checks */

static void
validate_address(struct vctx *v, const char *path, const char *s, struct eph_conf_port *p, bool *ok)
{
	char q[QLEN], a[16], n[16];
	uint32_t addr = 0, mask, net;
	uint8_t len = 0;
	const char *why;

	*ok = false;
	switch (eph_conf_parse_prefix(s, &addr, &len)) {
	case PFX_OK:
		break;
	case PFX_NO_LEN:
		eph_conf_err(v, path,
			     "expected an IPv4 address with prefix length like 192.0.2.1/24, found "
			     "%s (the /N prefix length is missing)",
			     eph_conf_quote(q, sizeof(q), s));
		return;
	case PFX_BAD_LEN:
		eph_conf_err(v, path,
			     "expected an IPv4 address with prefix length like 192.0.2.1/24, found "
			     "%s (prefix length must be 8 to 32)",
			     eph_conf_quote(q, sizeof(q), s));
		return;
	default:
		eph_conf_err(
			v, path,
			"expected an IPv4 address with prefix length like 192.0.2.1/24, found %s",
			eph_conf_quote(q, sizeof(q), s));
		return;
	}
	if (len < 8) {
		eph_conf_err(v, path,
			     "expected an IPv4 address with prefix length like 192.0.2.1/24, found "
			     "%s (prefix length must be 8 to 32)",
			     eph_conf_quote(q, sizeof(q), s));
		return;
	}
	why = eph_conf_addr_problem(addr);
	if (why != NULL) {
		eph_conf_err(v, path, "%s %s, expected a unicast host address",
			     eph_conf_ip_str(a, sizeof(a), addr), why);
		return;
	}
	mask = eph_conf_prefix_mask(len);
	net = addr & mask;
	if (len <= 30 && (addr == net || addr == (net | ~mask))) {
		eph_conf_err(v, path,
			     "%s is the %s address of %s/%u, expected a host address such as %s/%u",
			     eph_conf_ip_str(a, sizeof(a), addr),
			     addr == net ? "network" : "broadcast",
			     eph_conf_ip_str(n, sizeof(n), net), len,
			     eph_conf_ip_str(q, sizeof(q), net + 1), len);
		return;
	}
	p->addr = addr;
	p->prefix_len = len;
	*ok = true;
}

/* ports[].mss-clamp: off, auto or a limit in EPH_MSS_CLAMP_MIN..EPH_MSS_CLAMP_MAX. */
static void
validate_mss_clamp(struct vctx *v, const char *path, const char *s, uint16_t *out)
{
	char q[80];
	unsigned long n;
	char *end;

	if (strcmp(s, "off") == 0) {
		*out = EPH_MSS_CLAMP_OFF;
		return;
	}
	if (strcmp(s, "auto") == 0) {
		*out = EPH_MSS_CLAMP_AUTO;
		return;
	}
	errno = 0;
	n = s[0] >= '0' && s[0] <= '9' ? strtoul(s, &end, 10) : 0;
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || n < EPH_MSS_CLAMP_MIN ||
	    n > EPH_MSS_CLAMP_MAX) {
		eph_conf_err(v, path, "expected off, auto or an MSS of %d to %d bytes, found %s",
			     EPH_MSS_CLAMP_MIN, EPH_MSS_CLAMP_MAX, eph_conf_quote(q, sizeof(q), s));
		return;
	}
	*out = (uint16_t)n;
}

/* ports[].kernel-interface: off, or the name of a Linux interface the gateway creates. */
static void
validate_kernel_if(struct vctx *v, const char *path, const char *s, char *out)
{
	char q[80];

	if (strcmp(s, "off") == 0)
		return;
	if (s[0] == '\0' || strlen(s) >= EPH_IFNAME_LEN || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0 || !eph_conf_only_chars(s, IFNAME_CHARS)) {
		eph_conf_err(v, path,
			     "expected off or an interface name of 1 to %d characters from a-z, "
			     "A-Z, 0-9, '_', '-' and '.', found %s",
			     EPH_IFNAME_LEN - 1, eph_conf_quote(q, sizeof(q), s));
		return;
	}
	snprintf(out, EPH_IFNAME_LEN, "%s", s);
}

static void
validate_port(struct vctx *v, unsigned i, const struct raw_port *r, struct eph_conf_port *p,
	      struct port_state *st)
{
	char path[64], q[QLEN];
	int rc;

#define PPATH(key) (snprintf(path, sizeof(path), "ports[%u].%s", i, key), path)
	if (r->name == NULL) {
		eph_conf_err(v, PPATH("name"), "required key is missing");
	} else if (r->name[0] == '\0' || strlen(r->name) >= EPH_NAME_LEN ||
		   !eph_conf_only_chars(r->name, NAME_CHARS)) {
		eph_conf_err(v, PPATH("name"),
			     "expected a name of 1 to %d characters from a-z, 0-9, '_' and '-', "
			     "found %s",
			     EPH_NAME_LEN - 1, eph_conf_quote(q, sizeof(q), r->name));
	} else {
		snprintf(p->name, sizeof(p->name), "%s", r->name);
		st->name_ok = true;
	}

	if (r->device == NULL) {
		eph_conf_err(v, PPATH("device"), "required key is missing");
	} else if ((rc = parse_pci(r->device, p->device, sizeof(p->device))) != -1) {
		if (rc == 0) {
			p->is_pci = true;
			snprintf(st->dev_key, sizeof(st->dev_key), "%s", p->device);
		} else {
			eph_conf_err(v, PPATH("device"),
				     "expected a PCI address DDDD:BB:DD.F with device 00 to 1f and "
				     "function 0 to 7, found %s",
				     eph_conf_quote(q, sizeof(q), r->device));
		}
	} else if (strlen(r->device) >= EPH_DEVICE_LEN) {
		eph_conf_err(v, PPATH("device"), "expected at most %d characters, found %zu",
			     EPH_DEVICE_LEN - 1, strlen(r->device));
	} else if ((rc = parse_vdev(r->device)) == 0) {
		p->is_pci = false;
		snprintf(p->device, sizeof(p->device), "%s", r->device);
		snprintf(st->dev_key, sizeof(st->dev_key), "%.*s", (int)strcspn(r->device, ","),
			 r->device);
	} else if (rc == -2) {
		eph_conf_err(
			v, PPATH("device"),
			"expected vdev arguments as \",key=value\" after the driver name, like "
			"net_af_packet0,iface=eth0, found %s",
			eph_conf_quote(q, sizeof(q), r->device));
	} else {
		eph_conf_err(v, PPATH("device"),
			     "expected a PCI address like 0000:01:00.0 or a vdev like "
			     "net_af_packet0,iface=eth0, found %s",
			     eph_conf_quote(q, sizeof(q), r->device));
	}

	if (r->role == NULL)
		eph_conf_err(v, PPATH("role"),
			     "required key is missing, expected inside or outside");
	else
		p->role = *r->role;

	if (r->address == NULL)
		eph_conf_err(v, PPATH("address"),
			     "required key is missing, expected an IPv4 address with prefix length "
			     "like 192.0.2.1/24");
	else
		validate_address(v, PPATH("address"), r->address, p, &st->addr_ok);

	eph_conf_u16(v, PPATH("mtu"), r->mtu, &p->mtu);
	eph_conf_u16(v, PPATH("rx-desc"), r->rx_desc, &p->rx_desc);
	eph_conf_u16(v, PPATH("tx-desc"), r->tx_desc, &p->tx_desc);
	eph_conf_bool(v, PPATH("promiscuous"), r->promiscuous, &p->promiscuous);
	if (r->mss_clamp != NULL)
		validate_mss_clamp(v, PPATH("mss-clamp"), r->mss_clamp, &p->mss_clamp);
	if (r->kernel_interface != NULL)
		validate_kernel_if(v, PPATH("kernel-interface"), r->kernel_interface, p->kernel_if);
#undef PPATH
}

void
eph_conf_validate_ports(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf,
			struct port_state *st)
{
	const struct eph_pos_entry *e = eph_pos_find(v->idx, "ports");
	char path[64], a[16], b[16];
	bool roles_ok = true, have[2] = {false, false};
	unsigned i, j;

	if (r->ports_count == 0) {
		if (e == NULL)
			eph_conf_err(
				v, "ports",
				"required key is missing, expected a sequence of 1 to %d ports",
				EPH_MAX_PORTS);
		else
			eph_conf_err(v, "ports", "expected a sequence of 1 to %d ports, found %s",
				     EPH_MAX_PORTS,
				     e->kind == EPH_NODE_SEQUENCE ? "an empty sequence"
								  : "an empty value");
		return;
	}
	for (i = 0; i < r->ports_count; i++) {
		struct eph_conf_port *p = &conf->ports[i];

		p->mtu = DEF_MTU;
		p->rx_desc = DEF_DESC;
		p->tx_desc = DEF_DESC;
		validate_port(v, i, &r->ports[i], p, &st[i]);
		if (r->ports[i].role == NULL)
			roles_ok = false;
		else
			have[*r->ports[i].role] = true;
	}
	conf->n_ports = r->ports_count;

	/* Later ports are blamed: the earlier one is what the operator compares to. */
	for (i = 1; i < conf->n_ports; i++) {
		const struct eph_conf_port *p = &conf->ports[i];

		for (j = 0; j < i; j++) {
			const struct eph_conf_port *o = &conf->ports[j];

			if (st[i].name_ok && st[j].name_ok && strcmp(p->name, o->name) == 0) {
				snprintf(path, sizeof(path), "ports[%u].name", i);
				eph_conf_err(v, path,
					     "duplicate port name '%s', already used by ports[%u]",
					     p->name, j);
			}
			if (st[i].dev_key[0] != '\0' && strcmp(st[i].dev_key, st[j].dev_key) == 0) {
				snprintf(path, sizeof(path), "ports[%u].device", i);
				eph_conf_err(v, path, "device '%s' is already used by port '%s'",
					     st[i].dev_key, o->name[0] ? o->name : "?");
			}
			if (p->kernel_if[0] != '\0' && strcmp(p->kernel_if, o->kernel_if) == 0) {
				snprintf(path, sizeof(path), "ports[%u].kernel-interface", i);
				eph_conf_err(v, path,
					     "kernel interface '%s' is already used by port '%s'",
					     p->kernel_if, o->name[0] ? o->name : "?");
			}
			if (st[i].addr_ok && st[j].addr_ok) {
				uint8_t len = p->prefix_len < o->prefix_len ? p->prefix_len
									    : o->prefix_len;
				uint32_t m = eph_conf_prefix_mask(len);

				snprintf(path, sizeof(path), "ports[%u].address", i);
				if (p->addr == o->addr)
					eph_conf_err(v, path,
						     "address %s is already used by port '%s'",
						     eph_conf_ip_str(a, sizeof(a), p->addr),
						     o->name[0] ? o->name : "?");
				else if ((p->addr & m) == (o->addr & m))
					eph_conf_err(
						v, path,
						"subnet %s/%u overlaps subnet %s/%u of port '%s'",
						eph_conf_ip_str(a, sizeof(a),
								p->addr & eph_conf_prefix_mask(
										  p->prefix_len)),
						p->prefix_len,
						eph_conf_ip_str(b, sizeof(b),
								o->addr & eph_conf_prefix_mask(
										  o->prefix_len)),
						o->prefix_len, o->name[0] ? o->name : "?");
			}
		}
	}
	if (roles_ok && !have[EPH_ROLE_INSIDE])
		eph_conf_warn(v, "ports", "no port has role inside, so nothing will be translated");
	if (roles_ok && !have[EPH_ROLE_OUTSIDE])
		eph_conf_warn(v, "ports",
			      "no port has role outside, so there is no address to translate to");
}

struct route_key {
	uint32_t prefix;
	uint8_t len;
	unsigned idx;
};

static int
route_key_cmp(const void *a, const void *b)
{
	const struct route_key *x = a, *y = b;

	if (x->prefix != y->prefix)
		return x->prefix < y->prefix ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

bool
eph_conf_in_subnet(const struct eph_conf_port *p, uint32_t a)
{
	uint32_t m = eph_conf_prefix_mask(p->prefix_len);

	return (a & m) == (p->addr & m);
}

static void
known_ports(char *buf, size_t size, const struct eph_conf *conf, const struct port_state *st)
{
	size_t o = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < conf->n_ports && o < size; i++)
		if (st[i].name_ok)
			o += snprintf(buf + o, size - o, "%s%s", o ? ", " : "",
				      conf->ports[i].name);
}

static void
connected_subnets(char *buf, size_t size, const struct eph_conf *conf, const struct port_state *st)
{
	size_t o = 0;
	unsigned i;
	char a[16];

	buf[0] = '\0';
	for (i = 0; i < conf->n_ports && o < size; i++) {
		const struct eph_conf_port *p = &conf->ports[i];

		if (st[i].addr_ok)
			o += snprintf(
				buf + o, size - o, "%s%s %s/%u", o ? ", " : "",
				p->name[0] ? p->name : "?",
				eph_conf_ip_str(a, sizeof(a),
						p->addr & eph_conf_prefix_mask(p->prefix_len)),
				p->prefix_len);
	}
}

/* Returns false when a route is unusable; it is not stored then. */
static bool
validate_route(struct vctx *v, unsigned i, const struct raw_route *r, const struct eph_conf *conf,
	       const struct port_state *st, bool ports_ok, struct eph_conf_route *out,
	       bool *prefix_ok)
{
	char path[64], q[QLEN], a[16], b[16], list[512];
	const struct eph_conf_port *p;
	bool ok = true, via_ok = false;
	int port = -1;
	unsigned j;

#define RPATH(key) (snprintf(path, sizeof(path), "routes[%u].%s", i, key), path)
	*prefix_ok = false;
	if (r->prefix == NULL) {
		eph_conf_err(v, RPATH("prefix"),
			     "required key is missing, expected a network like 198.51.100.0/24");
		ok = false;
	} else if (eph_conf_parse_prefix(r->prefix, &out->prefix, &out->prefix_len) != PFX_OK) {
		eph_conf_err(
			v, RPATH("prefix"),
			"expected a network with prefix length like 198.51.100.0/24 (0 to 32), "
			"found %s",
			eph_conf_quote(q, sizeof(q), r->prefix));
		ok = false;
	} else if ((out->prefix & ~eph_conf_prefix_mask(out->prefix_len)) != 0) {
		eph_conf_err(
			v, RPATH("prefix"),
			"%s has host bits set, expected a network address, did you mean %s/%u?",
			eph_conf_quote(q, sizeof(q), r->prefix),
			eph_conf_ip_str(a, sizeof(a),
					out->prefix & eph_conf_prefix_mask(out->prefix_len)),
			out->prefix_len);
		ok = false;
	} else {
		*prefix_ok = true;
		for (j = 0; j < conf->n_ports; j++) {
			p = &conf->ports[j];
			if (st[j].addr_ok && p->prefix_len == out->prefix_len &&
			    eph_conf_in_subnet(p, out->prefix)) {
				eph_conf_err(
					v, RPATH("prefix"),
					"%s/%u conflicts with the connected route of port '%s'",
					eph_conf_ip_str(a, sizeof(a), out->prefix), out->prefix_len,
					p->name[0] ? p->name : "?");
				ok = false;
			}
		}
	}

	if (r->via == NULL) {
		eph_conf_err(v, RPATH("via"),
			     "required key is missing, expected the IPv4 address of a next hop");
		ok = false;
	} else if (!eph_conf_parse_ipv4(r->via, strlen(r->via), &out->via)) {
		eph_conf_err(v, RPATH("via"),
			     "expected an IPv4 address like 203.0.113.10%s, found %s",
			     strchr(r->via, '/') ? " (no prefix length)" : "",
			     eph_conf_quote(q, sizeof(q), r->via));
		ok = false;
	} else {
		via_ok = true;
	}

	if (r->port != NULL) {
		for (j = 0; j < conf->n_ports; j++)
			if (st[j].name_ok && strcmp(conf->ports[j].name, r->port) == 0)
				port = (int)j;
		if (port < 0) {
			known_ports(list, sizeof(list), conf, st);
			eph_conf_err(v, RPATH("port"), "unknown port '%.64s', known ports: %s",
				     r->port, list[0] ? list : "(none)");
			return false;
		}
	}
	if (!via_ok)
		return false;

	if (port >= 0) {
		p = &conf->ports[port];
		if (!st[port].addr_ok)
			return false;
		if (!eph_conf_in_subnet(p, out->via)) {
			eph_conf_err(v, RPATH("via"), "%s is not on the subnet %s/%u of port '%s'",
				     eph_conf_ip_str(a, sizeof(a), out->via),
				     eph_conf_ip_str(b, sizeof(b),
						     p->addr & eph_conf_prefix_mask(p->prefix_len)),
				     p->prefix_len, p->name);
			return false;
		}
	} else {
		for (j = 0; j < conf->n_ports && port < 0; j++)
			if (st[j].addr_ok && eph_conf_in_subnet(&conf->ports[j], out->via))
				port = (int)j;
		if (port < 0) {
			/* With a broken port address, the subnet may well be meant. */
			if (ports_ok) {
				connected_subnets(list, sizeof(list), conf, st);
				eph_conf_err(v, RPATH("via"),
					     "%s is not on any connected subnet (%s)",
					     eph_conf_ip_str(a, sizeof(a), out->via), list);
			}
			return false;
		}
		p = &conf->ports[port];
	}
	for (j = 0; j < conf->n_ports; j++) {
		if (st[j].addr_ok && conf->ports[j].addr == out->via) {
			eph_conf_err(
				v, RPATH("via"),
				"%s is the address of port '%s' itself, expected a neighbour on "
				"that subnet",
				eph_conf_ip_str(a, sizeof(a), out->via), conf->ports[j].name);
			return false;
		}
	}
	if (p->prefix_len <= 30) {
		uint32_t m = eph_conf_prefix_mask(p->prefix_len);

		if (out->via == (p->addr & m) || out->via == ((p->addr & m) | ~m)) {
			eph_conf_err(v, RPATH("via"),
				     "%s is the %s address of port '%s', expected a host",
				     eph_conf_ip_str(a, sizeof(a), out->via),
				     out->via == (p->addr & m) ? "network" : "broadcast", p->name);
			return false;
		}
	}
	out->port = (uint16_t)port;
	return ok;
#undef RPATH
}

void
eph_conf_validate_routes(struct vctx *v, const struct raw_conf *r, struct eph_conf *conf,
			 const struct port_state *st)
{
	struct route_key *keys;
	bool ports_ok = true, prefix_ok;
	unsigned i, n_keys = 0, n_ok = 0;
	char path[64], a[16];

	if (r->routes_count == 0)
		return;
	for (i = 0; i < conf->n_ports; i++)
		ports_ok = ports_ok && st[i].addr_ok;
	conf->routes = calloc(r->routes_count, sizeof(*conf->routes));
	keys = calloc(r->routes_count, sizeof(*keys));
	if (conf->routes == NULL || keys == NULL) {
		v->oom = true;
		v->n_errors++;
		free(keys);
		return;
	}
	for (i = 0; i < r->routes_count; i++) {
		struct eph_conf_route *rt = &conf->routes[n_ok];

		if (validate_route(v, i, &r->routes[i], conf, st, ports_ok, rt, &prefix_ok))
			n_ok++;
		if (prefix_ok)
			keys[n_keys++] = (struct route_key){rt->prefix, rt->prefix_len, i};
	}
	conf->n_routes = n_ok;

	/* Sorting finds duplicates in n log n, for tables of 64k routes. */
	qsort(keys, n_keys, sizeof(*keys), route_key_cmp);
	for (i = 1; i < n_keys; i++) {
		unsigned first = i - 1;

		while (i < n_keys && keys[i].prefix == keys[first].prefix &&
		       keys[i].len == keys[first].len) {
			snprintf(path, sizeof(path), "routes[%u].prefix", keys[i].idx);
			eph_conf_err(v, path,
				     "duplicate route for %s/%u, already given in routes[%u]",
				     eph_conf_ip_str(a, sizeof(a), keys[i].prefix), keys[i].len,
				     keys[first].idx);
			i++;
		}
	}
	free(keys);
}

/* ------------------------------------------------------------------------ */
/* Names */

const char *
eph_port_role_name(enum eph_port_role role)
{
	switch (role) {
	case EPH_ROLE_INSIDE:
		return "inside";
	case EPH_ROLE_OUTSIDE:
		return "outside";
	}
	return "unknown";
}

int
eph_conf_port_by_name(const struct eph_conf *conf, const char *name)
{
	unsigned i;

	for (i = 0; i < conf->n_ports; i++)
		if (strcmp(conf->ports[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control protocol v1 messages (see ctl_proto.h and the protocol contract):
 * request parsing and checks, response lines, argument helpers. Every
 * message that quotes what the client sent shows it as JSON, shortened,
 * so that a 64 KiB string cannot swamp the sentence around it.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_proto.h"

#define FOUND_MAX 80 /* bytes of a quoted value before it is cut with "..." */
#define FOUND_CAP (FOUND_MAX + 8)

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0. */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Replace every byte that is not part of valid UTF-8 with '?', in place. */
static void
utf8_sanitize(char *str)
{
	unsigned char *s = (unsigned char *)str;
	size_t n = strlen(str);

	for (size_t i = 0; i < n;) {
		size_t len = utf8_seq_len(s + i, n - i);

		if (len == 0) {
			s[i++] = '?';
			continue;
		}
		i += len;
	}
}

void
eph_ctl_errorf(struct eph_ctl_error *e, const char *code, const char *fmt, ...)
{
	va_list ap;

	snprintf(e->code, sizeof(e->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	/* A cut message may end inside a sequence; a client's bytes may be anything. */
	utf8_sanitize(e->message);
}

/* v as compact JSON, cut after FOUND_MAX bytes (on a character boundary). */
static const char *
describe(const json_t *v, char buf[FOUND_CAP])
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t n;

	if (s == NULL) {
		snprintf(buf, FOUND_CAP, "a value too large to show");
		return buf;
	}
	n = strlen(s);
	if (n > FOUND_MAX) {
		n = FOUND_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		snprintf(buf, FOUND_CAP, "%.*s...", (int)n, s);
	} else {
		snprintf(buf, FOUND_CAP, "%s", s);
	}
	free(s);
	return buf;
}

/* A C string as a quoted JSON string, shortened like describe(). */
static const char *
describe_str(const char *str, char buf[FOUND_CAP])
{
	json_t *s = json_string(str);

	if (s == NULL) {
		snprintf(buf, FOUND_CAP, "\"?\"");
		return buf;
	}
	describe(s, buf);
	json_decref(s);
	return buf;
}

static bool
in_list(const char *key, const char *const *keys)
{
	for (; *keys != NULL; keys++)
		if (strcmp(key, *keys) == 0)
			return true;
	return false;
}

/* [a-z.-]{1,EPH_CTL_CMD_MAX} */
static bool
valid_cmd_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > EPH_CTL_CMD_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

int
eph_ctl_parse_request(const char *line, size_t len, struct eph_ctl_request *req,
		      struct eph_ctl_error *err)
{
	static const char *const top_keys[] = { "v", "id", "cmd", "args", NULL };
	json_t *root, *id, *v, *cmd, *args, *value;
	char found[FOUND_CAP];
	json_error_t jerr;
	const char *key;
	int rc = -1;

	memset(req, 0, sizeof(*req));
	/* Duplicate keys would make {"cmd":"a","cmd":"b"} mean whatever jansson keeps. */
	root = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		eph_ctl_errorf(err, EPH_CTL_E_BAD_JSON, "invalid JSON at line %d, column %d: %s",
			       jerr.line, jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		eph_ctl_errorf(err, EPH_CTL_E_BAD_REQUEST,
			       "expected a JSON object {\"v\":1,\"cmd\":\"NAME\",...}, found %s",
			       describe(root, found));
		goto out;
	}
	id = json_object_get(root, "id");
	if (id != NULL)
		req->id = json_incref(id);

	v = json_object_get(root, "v");
	if (v != NULL && !(json_is_integer(v) && json_integer_value(v) == EPH_CTL_PROTOCOL)) {
		eph_ctl_errorf(err, EPH_CTL_E_BAD_REQUEST,
			       "v: expected %d (the protocol version this daemon speaks), found %s",
			       EPH_CTL_PROTOCOL, describe(v, found));
		goto out;
	}
	json_object_foreach(root, key, value) {
		if (!in_list(key, top_keys)) {
			eph_ctl_errorf(err, EPH_CTL_E_BAD_REQUEST,
				       "unknown key %s; a request has only v, id, cmd and args",
				       describe_str(key, found));
			goto out;
		}
	}

	cmd = json_object_get(root, "cmd");
	if (cmd == NULL) {
		eph_ctl_errorf(err, EPH_CTL_E_BAD_REQUEST,
			       "cmd: missing; expected a command name such as \"help\"");
		goto out;
	}
	if (!json_is_string(cmd) || !valid_cmd_name(json_string_value(cmd))) {
		eph_ctl_errorf(err, EPH_CTL_E_BAD_REQUEST,
			       "cmd: expected a command name of 1 to %d characters a-z, '.' and "
			       "'-' such as \"show.stats\", found %s",
			       EPH_CTL_CMD_MAX, describe(cmd, found));
		goto out;
	}
	snprintf(req->cmd, sizeof(req->cmd), "%s", json_string_value(cmd));

	args = json_object_get(root, "args");
	if (args != NULL && !json_is_object(args)) {
		eph_ctl_errorf(err, EPH_CTL_E_BAD_REQUEST, "args: expected an object, found %s",
			       describe(args, found));
		goto out;
	}
	if (args != NULL)
		req->args = json_incref(args);
	rc = 0;
out:
	json_decref(root);
	return rc;
}

void
eph_ctl_request_release(struct eph_ctl_request *req)
{
	json_decref(req->id);
	json_decref(req->args);
	req->id = NULL;
	req->args = NULL;
}

/* msg as compact JSON plus '\n', malloc'd. */
static char *
dump_line(const json_t *msg)
{
	size_t n = json_dumpb(msg, NULL, 0, JSON_COMPACT);
	char *line;

	if (n == 0)
		return NULL;
	line = malloc(n + 2);
	if (line == NULL)
		return NULL;
	if (json_dumpb(msg, line, n, JSON_COMPACT) != n) {
		free(line);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
}

/* {"v":1,"id":...,"ok":ok,"<key>":body}; takes over body. */
static char *
response(const json_t *id, bool ok, const char *key, json_t *body)
{
	json_t *msg = json_object();
	char *line = NULL;
	int rc = 0;

	if (msg == NULL || body == NULL)
		goto out;
	rc |= json_object_set_new(msg, "v", json_integer(EPH_CTL_PROTOCOL));
	rc |= json_object_set_new(msg, "id", id != NULL ? json_deep_copy(id) : json_null());
	rc |= json_object_set_new(msg, "ok", json_boolean(ok));
	rc |= json_object_set(msg, key, body);
	if (rc == 0)
		line = dump_line(msg);
out:
	json_decref(body);
	json_decref(msg);
	return line;
}

char *
eph_ctl_response_ok(const json_t *id, json_t *result)
{
	return response(id, true, "result", result);
}

/* Copy at most size - 1 bytes of src, which need not be terminated within size. */
static void
copy_bounded(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

char *
eph_ctl_response_error(const json_t *id, const struct eph_ctl_error *e)
{
	char code[sizeof(e->code)], message[sizeof(e->message)];

	/* A handler may have filled e by hand: make sure both are terminated UTF-8. */
	copy_bounded(code, e->code[0] != '\0' ? e->code : EPH_CTL_E_INTERNAL, sizeof(code));
	copy_bounded(message, e->message, sizeof(message));
	utf8_sanitize(code);
	utf8_sanitize(message);
	return response(id, false, "error",
			json_pack("{s:s, s:s}", "code", code, "message", message));
}

/* Argument helpers. */

static const json_t *
arg_get(const json_t *args, const char *key)
{
	return args != NULL && json_is_object(args) ? json_object_get(args, key) : NULL;
}

static int
arg_expected(struct eph_ctl_error *err, const char *key, const char *expected, const json_t *v)
{
	char found[FOUND_CAP];

	eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT, "args.%s: expected %s, found %s", key,
		       expected, describe(v, found));
	return -1;
}

int
eph_ctl_args_allowed(const json_t *args, const char *const *keys, struct eph_ctl_error *err)
{
	char found[FOUND_CAP], list[256];
	const char *key;
	json_t *value;
	size_t off = 0;

	if (args == NULL)
		return 0;
	if (!json_is_object(args)) {
		eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT,
			       "args: expected an object, found %s", describe(args, found));
		return -1;
	}
	/* json_object_foreach wants a mutable object; iterating does not change it. */
	json_object_foreach((json_t *)args, key, value) {
		if (in_list(key, keys))
			continue;
		if (keys[0] == NULL) {
			eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT,
				       "args: unknown key %s; this command takes no arguments",
				       describe_str(key, found));
			return -1;
		}
		list[0] = '\0';
		for (const char *const *k = keys; *k != NULL && off < sizeof(list); k++)
			off += snprintf(list + off, sizeof(list) - off, "%s%s",
					k == keys ? "" : ", ", *k);
		eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT,
			       "args: unknown key %s; expected one of: %s",
			       describe_str(key, found), list);
		return -1;
	}
	return 0;
}

int
eph_ctl_arg_uint(const json_t *args, const char *key, uint64_t lo, uint64_t hi, uint64_t *out,
		 struct eph_ctl_error *err)
{
	const json_t *v = arg_get(args, key);
	char expected[80];
	json_int_t n;

	if (v == NULL)
		return 0;
	n = json_is_integer(v) ? json_integer_value(v) : -1;
	if (n < 0 || (uint64_t)n < lo || (uint64_t)n > hi) {
		snprintf(expected, sizeof(expected), "an integer from %" PRIu64 " to %" PRIu64, lo,
			 hi);
		return arg_expected(err, key, expected, v);
	}
	*out = (uint64_t)n;
	return 1;
}

int
eph_ctl_arg_bool(const json_t *args, const char *key, bool *out, struct eph_ctl_error *err)
{
	const json_t *v = arg_get(args, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return arg_expected(err, key, "true or false", v);
	*out = json_is_true(v);
	return 1;
}

int
eph_ctl_arg_string(const json_t *args, const char *key, size_t max_len, char *out, size_t cap,
		   struct eph_ctl_error *err)
{
	const json_t *v = arg_get(args, key);
	char expected[80];
	size_t len;

	if (v == NULL)
		return 0;
	if (cap == 0)
		max_len = 0;
	else if (max_len > cap - 1)
		max_len = cap - 1;
	len = json_is_string(v) ? json_string_length(v) : 0;
	/* The parser rejects \u0000, so strlen() of the value is its length. */
	if (len == 0 || len > max_len) {
		snprintf(expected, sizeof(expected), "a string of 1 to %zu bytes", max_len);
		return arg_expected(err, key, expected, v);
	}
	memcpy(out, json_string_value(v), len + 1);
	return 1;
}

/* inet_pton of the n bytes at s: strict dotted quad, no leading zeros. */
static bool
parse_ipv4(const char *s, size_t n, uint32_t *host_order)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return false;
	*host_order = ntohl(a.s_addr);
	return true;
}

/* Decimal digits only (no sign, no spaces), at most max. */
static bool
parse_dec(const char *s, size_t n, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static uint32_t
prefix_mask(unsigned int len)
{
	return len == 0 ? 0 : UINT32_MAX << (32 - len);
}

/* "a.b.c.d/len" or, when bare is true, "a.b.c.d" (= /32). */
static bool
parse_prefix(const char *s, bool bare, uint32_t *addr, uint8_t *len)
{
	const char *slash = strchr(s, '/');
	unsigned long l;

	if (slash == NULL) {
		if (!bare || !parse_ipv4(s, strlen(s), addr))
			return false;
		*len = 32;
		return true;
	}
	/* No leading zeros in len either: "/024" is a typo, not a /24. */
	if (slash[1] == '0' && slash[2] != '\0')
		return false;
	if (!parse_ipv4(s, (size_t)(slash - s), addr) ||
	    !parse_dec(slash + 1, strlen(slash + 1), 32, &l))
		return false;
	*len = (uint8_t)l;
	return true;
}

static void
format_ipv4(uint32_t a, char buf[INET_ADDRSTRLEN])
{
	snprintf(buf, INET_ADDRSTRLEN, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
		 a & 0xff);
}

static int
host_bits_set(struct eph_ctl_error *err, const char *key, const char *s, uint32_t addr,
	      uint8_t len)
{
	char net[INET_ADDRSTRLEN];

	format_ipv4(addr & prefix_mask(len), net);
	eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT,
		       "args.%s: \"%s\" has host bits set; expected \"%s/%u\"", key, s, net, len);
	return -1;
}

int
eph_ctl_arg_ipv4(const json_t *args, const char *key, uint32_t *host_order,
		 struct eph_ctl_error *err)
{
	const json_t *v = arg_get(args, key);
	const char *s;

	if (v == NULL)
		return 0;
	s = json_string_value(v);
	if (s == NULL || !parse_ipv4(s, strlen(s), host_order))
		return arg_expected(err, key, "an IPv4 address \"a.b.c.d\"", v);
	return 1;
}

int
eph_ctl_arg_prefix(const json_t *args, const char *key, uint32_t *addr_host_order, uint8_t *len,
		   struct eph_ctl_error *err)
{
	const json_t *v = arg_get(args, key);
	const char *s;
	uint32_t addr;
	uint8_t l;

	if (v == NULL)
		return 0;
	s = json_string_value(v);
	if (s == NULL || !parse_prefix(s, true, &addr, &l))
		return arg_expected(err, key,
				    "a prefix \"a.b.c.d/len\" (len 0 to 32) or an address "
				    "\"a.b.c.d\"",
				    v);
	if ((addr & ~prefix_mask(l)) != 0)
		return host_bits_set(err, key, s, addr, l);
	*addr_host_order = addr;
	*len = l;
	return 1;
}

int
eph_ctl_arg_port_range(const json_t *args, const char *key, uint16_t *lo, uint16_t *hi,
		       struct eph_ctl_error *err)
{
	const json_t *v = arg_get(args, key);
	char expected[64];
	unsigned long a, b;
	const char *s, *dash;

	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);

		if (n < EPH_LIMIT_PORT_MIN || n > EPH_LIMIT_PORT_MAX)
			goto bad;
		*lo = *hi = (uint16_t)n;
		return 1;
	}
	s = json_string_value(v);
	if (s == NULL)
		goto bad;
	dash = strchr(s, '-');
	if (dash == NULL) {
		if (!parse_dec(s, strlen(s), EPH_LIMIT_PORT_MAX, &a))
			goto bad;
		b = a;
	} else if (!parse_dec(s, (size_t)(dash - s), EPH_LIMIT_PORT_MAX, &a) ||
		   !parse_dec(dash + 1, strlen(dash + 1), EPH_LIMIT_PORT_MAX, &b)) {
		goto bad;
	}
	if (a < EPH_LIMIT_PORT_MIN || a > b)
		goto bad;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 1;
bad:
	snprintf(expected, sizeof(expected), "\"LO-HI\" with %d <= LO <= HI <= %d",
		 EPH_LIMIT_PORT_MIN, EPH_LIMIT_PORT_MAX);
	return arg_expected(err, key, expected, v);
}

int
eph_ctl_arg_proto(const json_t *args, const char *key, uint8_t *ipproto,
		  struct eph_ctl_error *err)
{
	static const struct {
		const char *name;
		uint8_t proto;
	} protos[] = {
		{ "tcp", IPPROTO_TCP },
		{ "udp", IPPROTO_UDP },
		{ "icmp", IPPROTO_ICMP },
	};
	const json_t *v = arg_get(args, key);
	const char *s;

	if (v == NULL)
		return 0;
	s = json_string_value(v);
	for (size_t i = 0; s != NULL && i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (strcmp(s, protos[i].name) == 0) {
			*ipproto = protos[i].proto;
			return 1;
		}
	}
	return arg_expected(err, key, "\"tcp\", \"udp\" or \"icmp\"", v);
}

int
eph_ctl_arg_addr_span(const json_t *args, const char *key, uint32_t *first, uint32_t *count,
		      struct eph_ctl_error *err)
{
	const json_t *v = arg_get(args, key);
	uint32_t a, b;
	uint64_t n;
	const char *s, *dash;
	uint8_t len;

	if (v == NULL)
		return 0;
	s = json_string_value(v);
	if (s == NULL)
		goto bad;
	dash = strchr(s, '-');
	if (dash != NULL) {
		if (!parse_ipv4(s, (size_t)(dash - s), &a) ||
		    !parse_ipv4(dash + 1, strlen(dash + 1), &b))
			goto bad;
		if (a > b) {
			eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT,
				       "args.%s: range \"%s\" ends before it starts; "
				       "expected first <= last",
				       key, s);
			return -1;
		}
		n = (uint64_t)b - a + 1;
		if (n > EPH_CTL_SPAN_MAX) {
			eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT,
				       "args.%s: range \"%s\" holds %" PRIu64
				       " addresses; expected at most %d",
				       key, s, n, EPH_CTL_SPAN_MAX);
			return -1;
		}
	} else {
		if (!parse_prefix(s, true, &a, &len))
			goto bad;
		if ((a & ~prefix_mask(len)) != 0)
			return host_bits_set(err, key, s, a, len);
		n = (uint64_t)1 << (32 - len);
		if (n > EPH_CTL_SPAN_MAX) {
			eph_ctl_errorf(err, EPH_CTL_E_INVALID_ARGUMENT,
				       "args.%s: prefix \"%s\" holds %" PRIu64
				       " addresses; expected len 20 to 32 (at most %d)",
				       key, s, n, EPH_CTL_SPAN_MAX);
			return -1;
		}
	}
	*first = a;
	*count = (uint32_t)n;
	return 1;
bad:
	return arg_expected(err, key,
			    "an address \"a.b.c.d\", a range \"a.b.c.d-e.f.g.h\" or a prefix "
			    "\"a.b.c.d/len\" (len 20 to 32)",
			    v);
}

json_t *
eph_ctl_json_ipv4(uint32_t host_order)
{
	char buf[INET_ADDRSTRLEN];

	format_ipv4(host_order, buf);
	return json_string(buf);
}

json_t *
eph_ctl_json_endpoint(uint32_t host_order_addr, uint16_t host_order_port)
{
	char ip[INET_ADDRSTRLEN], buf[INET_ADDRSTRLEN + 6];

	format_ipv4(host_order_addr, ip);
	snprintf(buf, sizeof(buf), "%s:%u", ip, host_order_port);
	return json_string(buf);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for control/ctl_proto.c: request lines good and bad (each
 * mistake checked for its code and exact message), every argument helper
 * with valid and invalid values, and response lines (one line of JSON that
 * parses back, the id echoed whatever its type).
 */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/ctl_proto.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static json_t *
obj(const char *text)
{
	json_error_t jerr;
	json_t *o = json_loads(text, 0, &jerr);

	if (o == NULL)
		fail_msg("test JSON %s: %s", text, jerr.text);
	return o;
}

/* Every byte sequence of s is valid UTF-8 (jansson agrees). */
static void
assert_utf8(const char *s)
{
	json_t *j = json_string(s);

	assert_non_null(j);
	json_decref(j);
}

static void
parse_ok(const char *line, struct eph_ctl_request *req)
{
	struct eph_ctl_error err;

	memset(&err, 0, sizeof(err));
	if (eph_ctl_parse_request(line, strlen(line), req, &err) != 0)
		fail_msg("%s: %s: %s", line, err.code, err.message);
}

static void
parse_fails_len(const char *line, size_t len, const char *code, const char *message)
{
	struct eph_ctl_request req;
	struct eph_ctl_error err;

	assert_int_equal(eph_ctl_parse_request(line, len, &req, &err), -1);
	assert_string_equal(err.code, code);
	assert_string_equal(err.message, message);
	assert_utf8(err.message);
	assert_null(req.args);
	eph_ctl_request_release(&req);
}

static void
parse_fails(const char *line, const char *code, const char *message)
{
	parse_fails_len(line, strlen(line), code, message);
}

static void
test_parse_good(void **state)
{
	struct eph_ctl_request req;
	struct eph_ctl_error err;

	parse_ok("{\"v\":1,\"id\":7,\"cmd\":\"show.stats\",\"args\":{\"top\":3}}", &req);
	assert_string_equal(req.cmd, "show.stats");
	assert_true(json_is_integer(req.id));
	assert_int_equal(json_integer_value(req.id), 7);
	assert_true(json_is_object(req.args));
	assert_int_equal(json_integer_value(json_object_get(req.args, "top")), 3);
	eph_ctl_request_release(&req);
	assert_null(req.id);
	assert_null(req.args);

	/* v, id and args are optional; whitespace and a CR are fine. */
	parse_ok(" {\"cmd\":\"pool.add-address\"}\r", &req);
	assert_string_equal(req.cmd, "pool.add-address");
	assert_null(req.id);
	assert_null(req.args);
	eph_ctl_request_release(&req);

	/* Any JSON is an id, kept as sent. */
	parse_ok("{\"id\":{\"n\":[1,\"two\"]},\"cmd\":\"help\",\"args\":{}}", &req);
	assert_true(json_is_object(req.id));
	assert_string_equal(json_string_value(json_array_get(json_object_get(req.id, "n"), 1)),
			    "two");
	assert_int_equal(json_object_size(req.args), 0);
	eph_ctl_request_release(&req);

	/* Deep nesting inside args is the command's business. */
	parse_ok("{\"cmd\":\"x\",\"args\":{\"a\":{\"b\":[[[{}]]]}}}", &req);
	assert_true(json_is_object(json_object_get(req.args, "a")));
	eph_ctl_request_release(&req);

	/* Only the given length is parsed: the newline is not part of it. */
	assert_int_equal(eph_ctl_parse_request("{\"cmd\":\"version\"}\n{garbage", 17, &req, &err),
			 0);
	assert_string_equal(req.cmd, "version");
	eph_ctl_request_release(&req);
}

static void
test_parse_bad_json(void **state)
{
	static const char not_utf8[] = "{\"cmd\":\"x\",\"id\":\"\xff\"}";
	struct eph_ctl_request req;
	struct eph_ctl_error err;

	parse_fails("{\"cmd\":", "bad-json",
		    "invalid JSON at line 1, column 7: unexpected token near end of file");
	parse_fails("{\"cmd\":\"x\"} trailing", "bad-json",
		    "invalid JSON at line 1, column 20: end of file expected near 'trailing'");
	parse_fails("{cmd:1}", "bad-json",
		    "invalid JSON at line 1, column 4: string or '}' expected near 'cmd'");
	parse_fails("{\"cmd\":\"x\",\"cmd\":\"y\"}", "bad-json",
		    "invalid JSON at line 1, column 16: duplicate object key near '\"cmd\"'");
	/* Numbers jansson cannot hold. */
	parse_fails("{\"cmd\":\"x\",\"id\":1e999}", "bad-json",
		    "invalid JSON at line 1, column 21: real number overflow near '1e999'");
	parse_fails("{\"cmd\":\"x\",\"id\":99999999999999999999}", "bad-json",
		    "invalid JSON at line 1, column 36: too big integer near "
		    "'99999999999999999999'");
	/* Invalid UTF-8, a truncated sequence, and a NUL in a string. */
	parse_fails(not_utf8, "bad-json",
		    "invalid JSON at line 1, column 17: unable to decode byte 0xff near '\"'");
	parse_fails("{\"cmd\":\"x\",\"id\":\"\xe2\x82\"}", "bad-json",
		    "invalid JSON at line 1, column 17: unable to decode byte 0xe2 near '\"'");
	parse_fails_len("{\"cmd\":\"x\"\0}", 12, "bad-json",
			"invalid JSON at line 1, column 11: '}' expected near end of file");
	parse_fails("{\"cmd\":\"a\\u0000b\"}", "bad-json",
		    "invalid JSON at line 1, column 17: \\u0000 is not allowed without "
		    "JSON_ALLOW_NUL near '\"a\\u0000b\"'");

	/* Nesting deeper than jansson's limit is refused, not recursed into. */
	{
		char deep[3001];

		memset(deep, '[', sizeof(deep) - 1);
		deep[sizeof(deep) - 1] = '\0';
		parse_fails(deep, "bad-json",
			    "invalid JSON at line 1, column 2049: maximum parsing depth reached "
			    "near '['");
	}

	/* A bad-json error has no id to echo. */
	assert_int_equal(eph_ctl_parse_request(not_utf8, strlen(not_utf8), &req, &err), -1);
	assert_null(req.id);
	eph_ctl_request_release(&req);
}

static void
test_parse_bad_request(void **state)
{
	struct eph_ctl_request req;
	struct eph_ctl_error err;
	char line[200];

	parse_fails("[1,2]", "bad-request",
		    "expected a JSON object {\"v\":1,\"cmd\":\"NAME\",...}, found [1,2]");
	parse_fails("\"show.stats\"", "bad-request",
		    "expected a JSON object {\"v\":1,\"cmd\":\"NAME\",...}, found \"show.stats\"");
	parse_fails("42", "bad-request",
		    "expected a JSON object {\"v\":1,\"cmd\":\"NAME\",...}, found 42");
	parse_fails("null", "bad-request",
		    "expected a JSON object {\"v\":1,\"cmd\":\"NAME\",...}, found null");

	parse_fails("{\"v\":2,\"cmd\":\"x\"}", "bad-request",
		    "v: expected 1 (the protocol version this daemon speaks), found 2");
	parse_fails("{\"v\":\"1\",\"cmd\":\"x\"}", "bad-request",
		    "v: expected 1 (the protocol version this daemon speaks), found \"1\"");
	parse_fails("{\"v\":1.0,\"cmd\":\"x\"}", "bad-request",
		    "v: expected 1 (the protocol version this daemon speaks), found 1.0");
	parse_fails("{\"v\":null,\"cmd\":\"x\"}", "bad-request",
		    "v: expected 1 (the protocol version this daemon speaks), found null");

	parse_fails("{\"id\":1}", "bad-request",
		    "cmd: missing; expected a command name such as \"help\"");
	parse_fails("{\"cmd\":\"\"}", "bad-request",
		    "cmd: expected a command name of 1 to 64 characters a-z, '.' and '-' such as "
		    "\"show.stats\", found \"\"");
	parse_fails("{\"cmd\":5}", "bad-request",
		    "cmd: expected a command name of 1 to 64 characters a-z, '.' and '-' such as "
		    "\"show.stats\", found 5");
	parse_fails("{\"cmd\":\"Show.stats\"}", "bad-request",
		    "cmd: expected a command name of 1 to 64 characters a-z, '.' and '-' such as "
		    "\"show.stats\", found \"Show.stats\"");
	parse_fails("{\"cmd\":\"show stats\"}", "bad-request",
		    "cmd: expected a command name of 1 to 64 characters a-z, '.' and '-' such as "
		    "\"show.stats\", found \"show stats\"");
	/* 64 characters is the longest name; 65 is one too many. */
	snprintf(line, sizeof(line), "{\"cmd\":\"%064d\"}", 0);
	memset(line + 8, 'a', 64);
	parse_ok(line, &req);
	assert_int_equal(strlen(req.cmd), 64);
	eph_ctl_request_release(&req);
	snprintf(line, sizeof(line), "{\"cmd\":\"%065d\"}", 0);
	memset(line + 8, 'a', 65);
	parse_fails(line, "bad-request",
		    "cmd: expected a command name of 1 to 64 characters a-z, '.' and '-' such as "
		    "\"show.stats\", found "
		    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");

	parse_fails("{\"cmd\":\"x\",\"args\":[1]}", "bad-request",
		    "args: expected an object, found [1]");
	parse_fails("{\"cmd\":\"x\",\"args\":null}", "bad-request",
		    "args: expected an object, found null");
	parse_fails("{\"cmd\":\"x\",\"args\":\"a=1\"}", "bad-request",
		    "args: expected an object, found \"a=1\"");

	parse_fails("{\"cmd\":\"x\",\"verbose\":true}", "bad-request",
		    "unknown key \"verbose\"; a request has only v, id, cmd and args");
	/* A long key is shown shortened. */
	snprintf(line, sizeof(line), "{\"cmd\":\"x\",\"%0120d\":1}", 7);
	parse_fails(line, "bad-request",
		    "unknown key \"0000000000000000000000000000000000000000000000000000000000"
		    "000000000000000000000...; a request has only v, id, cmd and args");

	/* The id of a request that fails a check is kept so that the error can echo it. */
	snprintf(line, sizeof(line), "{\"id\":\"q1\",\"cmd\":\"\"}");
	assert_int_equal(eph_ctl_parse_request(line, strlen(line), &req, &err), -1);
	assert_string_equal(err.code, "bad-request");
	assert_string_equal(json_string_value(req.id), "q1");
	eph_ctl_request_release(&req);
	assert_null(req.id);
}

static void
test_errorf(void **state)
{
	struct eph_ctl_error e;
	char big[1000];

	eph_ctl_errorf(&e, "refused", "pool %s: %d", "default", 3);
	assert_string_equal(e.code, "refused");
	assert_string_equal(e.message, "pool default: 3");

	/* Stray bytes become '?'. */
	eph_ctl_errorf(&e, "internal", "a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x82\xac");
	assert_string_equal(e.message, "a?b??c???d\xe2\x82\xac");

	/* Cut in the middle of a 3-byte character: the stump is replaced, not sent broken. */
	memset(big, 'x', sizeof(big));
	for (size_t i = 509; i + 3 <= sizeof(big) - 1; i += 3)
		memcpy(big + i, "\xe2\x82\xac", 3);
	big[sizeof(big) - 1] = '\0';
	eph_ctl_errorf(&e, "internal", "%s", big);
	assert_int_equal(strlen(e.message), sizeof(e.message) - 1);
	assert_memory_equal(e.message + 509, "??", 2);
	assert_utf8(e.message);
}

static void
test_args_allowed(void **state)
{
	static const char *const keys[] = { "pool", "address", NULL };
	static const char *const none[] = { NULL };
	struct eph_ctl_error err;
	json_t *a;

	assert_int_equal(eph_ctl_args_allowed(NULL, keys, &err), 0);
	a = obj("{\"pool\":\"default\",\"address\":\"192.0.2.1\"}");
	assert_int_equal(eph_ctl_args_allowed(a, keys, &err), 0);
	json_decref(a);

	a = obj("{\"pool\":\"default\",\"adress\":\"192.0.2.1\"}");
	assert_int_equal(eph_ctl_args_allowed(a, keys, &err), -1);
	assert_string_equal(err.code, "invalid-argument");
	assert_string_equal(err.message,
			    "args: unknown key \"adress\"; expected one of: pool, address");
	json_decref(a);

	a = obj("{}");
	assert_int_equal(eph_ctl_args_allowed(a, none, &err), 0);
	json_decref(a);
	a = obj("{\"x\":1}");
	assert_int_equal(eph_ctl_args_allowed(a, none, &err), -1);
	assert_string_equal(err.message,
			    "args: unknown key \"x\"; this command takes no arguments");
	json_decref(a);

	a = obj("[1]");
	assert_int_equal(eph_ctl_args_allowed(a, keys, &err), -1);
	assert_string_equal(err.message, "args: expected an object, found [1]");
	json_decref(a);
}

/* Check one helper call failing with message; out must stay untouched. */
#define ASSERT_ARG_FAILS(call, msg)                                       \
	do {                                                              \
		struct eph_ctl_error e_;                                  \
		memset(&e_, 0, sizeof(e_));                               \
		assert_int_equal((call), -1);                             \
		assert_string_equal(e_.code, "invalid-argument");         \
		assert_string_equal(e_.message, (msg));                   \
	} while (0)

static void
test_arg_uint(void **state)
{
	json_t *a = obj("{\"n\":42,\"zero\":0,\"neg\":-1,\"s\":\"10\",\"r\":10.0,\"b\":true,"
			"\"max\":9223372036854775807}");
	struct eph_ctl_error err;
	uint64_t v = 99;

	assert_int_equal(eph_ctl_arg_uint(a, "n", 1, 100, &v, &err), 1);
	assert_int_equal(v, 42);
	v = 99;
	assert_int_equal(eph_ctl_arg_uint(a, "absent", 1, 100, &v, &err), 0);
	assert_int_equal(v, 99);
	assert_int_equal(eph_ctl_arg_uint(NULL, "n", 1, 100, &v, &err), 0);
	assert_int_equal(eph_ctl_arg_uint(a, "zero", 0, 0, &v, &err), 1);
	assert_int_equal(v, 0);
	assert_int_equal(eph_ctl_arg_uint(a, "max", 0, UINT64_MAX, &v, &err), 1);
	assert_true(v == INT64_MAX);

	v = 99;
	ASSERT_ARG_FAILS(eph_ctl_arg_uint(a, "n", 1, 10, &v, &e_),
			 "args.n: expected an integer from 1 to 10, found 42");
	ASSERT_ARG_FAILS(eph_ctl_arg_uint(a, "zero", 1, 100000, &v, &e_),
			 "args.zero: expected an integer from 1 to 100000, found 0");
	ASSERT_ARG_FAILS(eph_ctl_arg_uint(a, "neg", 0, 10, &v, &e_),
			 "args.neg: expected an integer from 0 to 10, found -1");
	ASSERT_ARG_FAILS(eph_ctl_arg_uint(a, "s", 1, 100, &v, &e_),
			 "args.s: expected an integer from 1 to 100, found \"10\"");
	ASSERT_ARG_FAILS(eph_ctl_arg_uint(a, "r", 1, 100, &v, &e_),
			 "args.r: expected an integer from 1 to 100, found 10.0");
	ASSERT_ARG_FAILS(eph_ctl_arg_uint(a, "b", 0, 1, &v, &e_),
			 "args.b: expected an integer from 0 to 1, found true");
	ASSERT_ARG_FAILS(eph_ctl_arg_uint(a, "max", 1, 604800, &v, &e_),
			 "args.max: expected an integer from 1 to 604800, found "
			 "9223372036854775807");
	assert_int_equal(v, 99);
	json_decref(a);
}

static void
test_arg_bool(void **state)
{
	json_t *a = obj("{\"t\":true,\"f\":false,\"s\":\"yes\",\"n\":1}");
	struct eph_ctl_error err;
	bool v = false;

	assert_int_equal(eph_ctl_arg_bool(a, "t", &v, &err), 1);
	assert_true(v);
	assert_int_equal(eph_ctl_arg_bool(a, "f", &v, &err), 1);
	assert_false(v);
	v = true;
	assert_int_equal(eph_ctl_arg_bool(a, "absent", &v, &err), 0);
	assert_true(v);
	ASSERT_ARG_FAILS(eph_ctl_arg_bool(a, "s", &v, &e_),
			 "args.s: expected true or false, found \"yes\"");
	ASSERT_ARG_FAILS(eph_ctl_arg_bool(a, "n", &v, &e_),
			 "args.n: expected true or false, found 1");
	json_decref(a);
}

static void
test_arg_string(void **state)
{
	json_t *a = obj("{\"pool\":\"default\",\"empty\":\"\",\"n\":5,"
			"\"long\":\"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"
			"lmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz\",\"utf\":\"caf\xc3\xa9\"}");
	struct eph_ctl_error err;
	char out[8] = "keep";

	assert_int_equal(eph_ctl_arg_string(a, "pool", 31, out, sizeof(out), &err), 1);
	assert_string_equal(out, "default");
	assert_int_equal(eph_ctl_arg_string(a, "utf", 31, out, sizeof(out), &err), 1);
	assert_string_equal(out, "caf\xc3\xa9");
	strcpy(out, "keep");
	assert_int_equal(eph_ctl_arg_string(a, "absent", 31, out, sizeof(out), &err), 0);
	assert_string_equal(out, "keep");

	/* The buffer bounds max_len: 8 bytes hold 7. */
	ASSERT_ARG_FAILS(eph_ctl_arg_string(a, "pool", 31, out, 7, &e_),
			 "args.pool: expected a string of 1 to 6 bytes, found \"default\"");
	ASSERT_ARG_FAILS(eph_ctl_arg_string(a, "pool", 3, out, sizeof(out), &e_),
			 "args.pool: expected a string of 1 to 3 bytes, found \"default\"");
	ASSERT_ARG_FAILS(eph_ctl_arg_string(a, "empty", 31, out, sizeof(out), &e_),
			 "args.empty: expected a string of 1 to 7 bytes, found \"\"");
	ASSERT_ARG_FAILS(eph_ctl_arg_string(a, "n", 31, out, sizeof(out), &e_),
			 "args.n: expected a string of 1 to 7 bytes, found 5");
	/* A long value is cut in the message. */
	ASSERT_ARG_FAILS(eph_ctl_arg_string(a, "long", 31, out, sizeof(out), &e_),
			 "args.long: expected a string of 1 to 7 bytes, found "
			 "\"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopq"
			 "rstuvwxyza...");
	assert_string_equal(out, "keep");
	json_decref(a);
}

static void
test_arg_ipv4(void **state)
{
	static const char *const bad[] = {
		"192.0.2", "192.0.2.01", "192.0.2.1 ", " 192.0.2.1", "256.0.0.1", "192.0.2.1/32",
		"0x1.2.3.4", "1.2.3.4.5", "", "::1",
	};
	json_t *a = obj("{\"ok\":\"192.0.2.1\",\"zero\":\"0.0.0.0\",\"n\":3221225985}");
	struct eph_ctl_error err;
	char msg[200];
	uint32_t v = 7;

	assert_int_equal(eph_ctl_arg_ipv4(a, "ok", &v, &err), 1);
	assert_int_equal(v, IP(192, 0, 2, 1));
	assert_int_equal(eph_ctl_arg_ipv4(a, "zero", &v, &err), 1);
	assert_int_equal(v, 0);
	v = 7;
	assert_int_equal(eph_ctl_arg_ipv4(a, "absent", &v, &err), 0);
	assert_int_equal(v, 7);
	ASSERT_ARG_FAILS(eph_ctl_arg_ipv4(a, "n", &v, &e_),
			 "args.n: expected an IPv4 address \"a.b.c.d\", found 3221225985");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *b = json_pack("{s:s}", "address", bad[i]);

		snprintf(msg, sizeof(msg),
			 "args.address: expected an IPv4 address \"a.b.c.d\", found \"%s\"",
			 bad[i]);
		ASSERT_ARG_FAILS(eph_ctl_arg_ipv4(b, "address", &v, &e_), msg);
		json_decref(b);
	}
	assert_int_equal(v, 7);
	json_decref(a);
}

static void
test_arg_prefix(void **state)
{
	static const char *const bad[] = {
		"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/-1", "10.0.0/8",
		"10.0.0.0/8/8", "10.0.0.0 /8", "/8",
	};
	json_t *a = obj("{\"net\":\"10.0.0.0/8\",\"host\":\"192.0.2.7\",\"all\":\"0.0.0.0/0\","
			"\"slash32\":\"192.0.2.7/32\",\"hostbits\":\"10.0.0.1/8\","
			"\"hostbits24\":\"192.0.2.77/24\"}");
	struct eph_ctl_error err;
	uint32_t addr = 1;
	uint8_t len = 1;
	char msg[200];

	assert_int_equal(eph_ctl_arg_prefix(a, "net", &addr, &len, &err), 1);
	assert_int_equal(addr, IP(10, 0, 0, 0));
	assert_int_equal(len, 8);
	assert_int_equal(eph_ctl_arg_prefix(a, "host", &addr, &len, &err), 1);
	assert_int_equal(addr, IP(192, 0, 2, 7));
	assert_int_equal(len, 32);
	assert_int_equal(eph_ctl_arg_prefix(a, "slash32", &addr, &len, &err), 1);
	assert_int_equal(len, 32);
	assert_int_equal(eph_ctl_arg_prefix(a, "all", &addr, &len, &err), 1);
	assert_int_equal(addr, 0);
	assert_int_equal(len, 0);
	addr = len = 1;
	assert_int_equal(eph_ctl_arg_prefix(a, "absent", &addr, &len, &err), 0);
	assert_int_equal(addr, 1);
	assert_int_equal(len, 1);

	ASSERT_ARG_FAILS(eph_ctl_arg_prefix(a, "hostbits", &addr, &len, &e_),
			 "args.hostbits: \"10.0.0.1/8\" has host bits set; expected "
			 "\"10.0.0.0/8\"");
	ASSERT_ARG_FAILS(eph_ctl_arg_prefix(a, "hostbits24", &addr, &len, &e_),
			 "args.hostbits24: \"192.0.2.77/24\" has host bits set; expected "
			 "\"192.0.2.0/24\"");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *b = json_pack("{s:s}", "inside", bad[i]);

		snprintf(msg, sizeof(msg),
			 "args.inside: expected a prefix \"a.b.c.d/len\" (len 0 to 32) or an "
			 "address \"a.b.c.d\", found \"%s\"",
			 bad[i]);
		ASSERT_ARG_FAILS(eph_ctl_arg_prefix(b, "inside", &addr, &len, &e_), msg);
		json_decref(b);
	}
	assert_int_equal(addr, 1);
	json_decref(a);
}

static void
test_arg_port_range(void **state)
{
	static const char *const bad[] = {
		"9-3", "0-10", "1-65536", "0", "65536", "a-b", "-5", "5-", "1024 - 2048", "1-2-3",
		"+80", "",
	};
	json_t *a = obj("{\"r\":\"1024-65535\",\"one\":\"80\",\"int\":443,\"same\":\"7-7\","
			"\"zero\":0,\"big\":65536,\"list\":[1,2]}");
	struct eph_ctl_error err;
	uint16_t lo = 1, hi = 2;
	char msg[200];

	assert_int_equal(eph_ctl_arg_port_range(a, "r", &lo, &hi, &err), 1);
	assert_int_equal(lo, 1024);
	assert_int_equal(hi, 65535);
	assert_int_equal(eph_ctl_arg_port_range(a, "one", &lo, &hi, &err), 1);
	assert_int_equal(lo, 80);
	assert_int_equal(hi, 80);
	assert_int_equal(eph_ctl_arg_port_range(a, "int", &lo, &hi, &err), 1);
	assert_int_equal(lo, 443);
	assert_int_equal(hi, 443);
	assert_int_equal(eph_ctl_arg_port_range(a, "same", &lo, &hi, &err), 1);
	assert_int_equal(lo, 7);
	assert_int_equal(hi, 7);
	lo = 1, hi = 2;
	assert_int_equal(eph_ctl_arg_port_range(a, "absent", &lo, &hi, &err), 0);

	ASSERT_ARG_FAILS(eph_ctl_arg_port_range(a, "zero", &lo, &hi, &e_),
			 "args.zero: expected \"LO-HI\" with 1 <= LO <= HI <= 65535, found 0");
	ASSERT_ARG_FAILS(eph_ctl_arg_port_range(a, "big", &lo, &hi, &e_),
			 "args.big: expected \"LO-HI\" with 1 <= LO <= HI <= 65535, found 65536");
	ASSERT_ARG_FAILS(eph_ctl_arg_port_range(a, "list", &lo, &hi, &e_),
			 "args.list: expected \"LO-HI\" with 1 <= LO <= HI <= 65535, found [1,2]");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *b = json_pack("{s:s}", "ports", bad[i]);

		snprintf(msg, sizeof(msg),
			 "args.ports: expected \"LO-HI\" with 1 <= LO <= HI <= 65535, found \"%s\"",
			 bad[i]);
		ASSERT_ARG_FAILS(eph_ctl_arg_port_range(b, "ports", &lo, &hi, &e_), msg);
		json_decref(b);
	}
	assert_int_equal(lo, 1);
	assert_int_equal(hi, 2);
	json_decref(a);
}

static void
test_arg_proto(void **state)
{
	json_t *a = obj("{\"t\":\"tcp\",\"u\":\"udp\",\"i\":\"icmp\",\"s\":\"sctp\",\"T\":\"TCP\","
			"\"n\":6}");
	struct eph_ctl_error err;
	uint8_t p = 0;

	assert_int_equal(eph_ctl_arg_proto(a, "t", &p, &err), 1);
	assert_int_equal(p, IPPROTO_TCP);
	assert_int_equal(eph_ctl_arg_proto(a, "u", &p, &err), 1);
	assert_int_equal(p, IPPROTO_UDP);
	assert_int_equal(eph_ctl_arg_proto(a, "i", &p, &err), 1);
	assert_int_equal(p, IPPROTO_ICMP);
	assert_int_equal(eph_ctl_arg_proto(a, "absent", &p, &err), 0);
	assert_int_equal(p, IPPROTO_ICMP);
	ASSERT_ARG_FAILS(eph_ctl_arg_proto(a, "s", &p, &e_),
			 "args.s: expected \"tcp\", \"udp\" or \"icmp\", found \"sctp\"");
	ASSERT_ARG_FAILS(eph_ctl_arg_proto(a, "T", &p, &e_),
			 "args.T: expected \"tcp\", \"udp\" or \"icmp\", found \"TCP\"");
	ASSERT_ARG_FAILS(eph_ctl_arg_proto(a, "n", &p, &e_),
			 "args.n: expected \"tcp\", \"udp\" or \"icmp\", found 6");
	json_decref(a);
}

static void
span_ok(const char *text, uint32_t first, uint32_t count)
{
	json_t *a = json_pack("{s:s}", "address", text);
	struct eph_ctl_error err;
	uint32_t f = 0, n = 0;

	assert_int_equal(eph_ctl_arg_addr_span(a, "address", &f, &n, &err), 1);
	assert_int_equal(f, first);
	assert_int_equal(n, count);
	json_decref(a);
}

static void
span_fails(const char *text, const char *message)
{
	json_t *a = json_pack("{s:s}", "address", text);
	uint32_t f = 1, n = 2;

	ASSERT_ARG_FAILS(eph_ctl_arg_addr_span(a, "address", &f, &n, &e_), message);
	assert_int_equal(f, 1);
	assert_int_equal(n, 2);
	json_decref(a);
}

static void
test_arg_addr_span(void **state)
{
	static const char *const bad[] = {
		"203.0.113",      "203.0.113.1-",   "-203.0.113.1",
		"203.0.113.1-203.0.113",          "203.0.113.0/",
		"203.0.113.0/33", "203.0.113.01",   "203.0.113.1 - 203.0.113.2",
		"all",
	};
	struct eph_ctl_error err;
	uint32_t f = 1, n = 2;
	char msg[300];

	span_ok("203.0.113.104", IP(203, 0, 113, 104), 1);
	span_ok("203.0.113.100-203.0.113.103", IP(203, 0, 113, 100), 4);
	span_ok("203.0.113.5-203.0.113.5", IP(203, 0, 113, 5), 1);
	span_ok("10.0.255.250-10.1.0.3", IP(10, 0, 255, 250), 10);
	span_ok("10.0.0.0-10.0.15.255", IP(10, 0, 0, 0), 4096);
	span_ok("203.0.113.0/30", IP(203, 0, 113, 0), 4);
	span_ok("203.0.113.9/32", IP(203, 0, 113, 9), 1);
	span_ok("10.0.16.0/20", IP(10, 0, 16, 0), 4096);
	assert_int_equal(eph_ctl_arg_addr_span(NULL, "address", &f, &n, &err), 0);

	span_fails("203.0.113.9-203.0.113.1",
		   "args.address: range \"203.0.113.9-203.0.113.1\" ends before it starts; "
		   "expected first <= last");
	span_fails("10.0.0.0-10.0.16.0",
		   "args.address: range \"10.0.0.0-10.0.16.0\" holds 4097 addresses; expected at "
		   "most 4096");
	span_fails("0.0.0.0-255.255.255.255",
		   "args.address: range \"0.0.0.0-255.255.255.255\" holds 4294967296 addresses; "
		   "expected at most 4096");
	span_fails("10.0.0.0/19",
		   "args.address: prefix \"10.0.0.0/19\" holds 8192 addresses; expected len 20 to "
		   "32 (at most 4096)");
	span_fails("0.0.0.0/0",
		   "args.address: prefix \"0.0.0.0/0\" holds 4294967296 addresses; expected len 20 "
		   "to 32 (at most 4096)");
	span_fails("203.0.113.1/30",
		   "args.address: \"203.0.113.1/30\" has host bits set; expected "
		   "\"203.0.113.0/30\"");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(msg, sizeof(msg),
			 "args.address: expected an address \"a.b.c.d\", a range "
			 "\"a.b.c.d-e.f.g.h\" or a prefix \"a.b.c.d/len\" (len 20 to 32), "
			 "found \"%s\"",
			 bad[i]);
		span_fails(bad[i], msg);
	}
	{
		json_t *a = obj("{\"address\":[\"203.0.113.1\"]}");

		ASSERT_ARG_FAILS(eph_ctl_arg_addr_span(a, "address", &f, &n, &e_),
				 "args.address: expected an address \"a.b.c.d\", a range "
				 "\"a.b.c.d-e.f.g.h\" or a prefix \"a.b.c.d/len\" (len 20 to 32), "
				 "found [\"203.0.113.1\"]");
		json_decref(a);
	}
}

static void
test_json_formatting(void **state)
{
	json_t *j;

	j = eph_ctl_json_ipv4(IP(203, 0, 113, 100));
	assert_string_equal(json_string_value(j), "203.0.113.100");
	json_decref(j);
	j = eph_ctl_json_ipv4(0);
	assert_string_equal(json_string_value(j), "0.0.0.0");
	json_decref(j);
	j = eph_ctl_json_endpoint(IP(192, 0, 2, 11), 40000);
	assert_string_equal(json_string_value(j), "192.0.2.11:40000");
	json_decref(j);
	j = eph_ctl_json_endpoint(IP(255, 255, 255, 255), 65535);
	assert_string_equal(json_string_value(j), "255.255.255.255:65535");
	json_decref(j);
}

/* line is one line of JSON: parse it and return the object. */
static json_t *
parse_line(const char *line)
{
	size_t len = strlen(line);
	json_error_t jerr;
	json_t *o;

	assert_true(len > 1);
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1));
	o = json_loadb(line, len - 1, 0, &jerr);
	if (o == NULL)
		fail_msg("response does not parse: %s: %s", line, jerr.text);
	assert_true(json_is_object(o));
	assert_int_equal(json_integer_value(json_object_get(o, "v")), 1);
	return o;
}

static void
test_response_ok(void **state)
{
	static const char *const ids[] = { "null", "\"abc\"", "17", "-3.5", "[1,{\"a\":2}]",
					   "{\"k\":\"v\"}", "true" };
	json_t *id, *o;
	char *line;

	/* No id: null. */
	line = eph_ctl_response_ok(NULL, json_pack("{s:i}", "n", 1));
	assert_string_equal(line, "{\"v\":1,\"id\":null,\"ok\":true,\"result\":{\"n\":1}}\n");
	free(line);

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		id = json_loads(ids[i], JSON_DECODE_ANY, NULL);
		assert_non_null(id);
		/* A result string with a newline stays escaped: still one line. */
		line = eph_ctl_response_ok(id, json_pack("{s:s}", "text", "# HELP a\na 1\n"));
		o = parse_line(line);
		assert_true(json_equal(json_object_get(o, "id"), id));
		assert_true(json_is_true(json_object_get(o, "ok")));
		assert_string_equal(json_string_value(json_object_get(json_object_get(o, "result"),
								      "text")),
				    "# HELP a\na 1\n");
		assert_null(json_object_get(o, "error"));
		json_decref(o);
		json_decref(id);
		free(line);
	}

	id = json_string("x");
	line = eph_ctl_response_ok(id, json_pack("{s:i}", "n", 1));
	assert_string_equal(line, "{\"v\":1,\"id\":\"x\",\"ok\":true,\"result\":{\"n\":1}}\n");
	free(line);
	/* A NULL result (json_pack failed) gives NULL rather than a broken line. */
	assert_null(eph_ctl_response_ok(id, NULL));
	json_decref(id);
}

static void
test_response_error(void **state)
{
	struct eph_ctl_error e;
	json_t *id, *o, *err;
	char *line;

	eph_ctl_errorf(&e, "invalid-argument",
		       "args.ports: expected \"LO-HI\" with 1 <= LO <= HI <= 65535, found \"9-3\"");
	id = json_integer(5);
	line = eph_ctl_response_error(id, &e);
	assert_string_equal(line, "{\"v\":1,\"id\":5,\"ok\":false,\"error\":{\"code\":"
				  "\"invalid-argument\",\"message\":\"args.ports: expected "
				  "\\\"LO-HI\\\" with 1 <= LO <= HI <= 65535, found "
				  "\\\"9-3\\\"\"}}\n");
	free(line);
	json_decref(id);

	/* Hand-filled by a handler: bad bytes, a newline, no code. */
	memset(&e, 0, sizeof(e));
	strcpy(e.message, "line one\nline two \xff");
	line = eph_ctl_response_error(NULL, &e);
	o = parse_line(line);
	assert_true(json_is_null(json_object_get(o, "id")));
	assert_true(json_is_false(json_object_get(o, "ok")));
	err = json_object_get(o, "error");
	assert_string_equal(json_string_value(json_object_get(err, "code")), "internal");
	assert_string_equal(json_string_value(json_object_get(err, "message")),
			    "line one\nline two ?");
	assert_null(json_object_get(o, "result"));
	json_decref(o);
	free(line);

	/* Not terminated at all: still a valid line. */
	memset(e.code, 'c', sizeof(e.code));
	memset(e.message, 'm', sizeof(e.message));
	line = eph_ctl_response_error(NULL, &e);
	o = parse_line(line);
	err = json_object_get(o, "error");
	assert_int_equal(strlen(json_string_value(json_object_get(err, "code"))),
			 sizeof(e.code) - 1);
	assert_int_equal(strlen(json_string_value(json_object_get(err, "message"))),
			 sizeof(e.message) - 1);
	json_decref(o);
	free(line);
}

/* What the server does with a parse failure: the error echoes the id it could read. */
static void
test_round_trip_error_echoes_id(void **state)
{
	static const char line[] = "{\"id\":[\"a\",1],\"cmd\":\"x\",\"v\":3}";
	struct eph_ctl_request req;
	struct eph_ctl_error e;
	char *out, *id;
	json_t *o;

	assert_int_equal(eph_ctl_parse_request(line, strlen(line), &req, &e), -1);
	out = eph_ctl_response_error(req.id, &e);
	eph_ctl_request_release(&req);
	o = parse_line(out);
	id = json_dumps(json_object_get(o, "id"), JSON_COMPACT);
	assert_string_equal(id, "[\"a\",1]");
	free(id);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(o, "error"), "message")),
		"v: expected 1 (the protocol version this daemon speaks), found 3");
	json_decref(o);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad_json),
		cmocka_unit_test(test_parse_bad_request),
		cmocka_unit_test(test_errorf),
		cmocka_unit_test(test_args_allowed),
		cmocka_unit_test(test_arg_uint),
		cmocka_unit_test(test_arg_bool),
		cmocka_unit_test(test_arg_string),
		cmocka_unit_test(test_arg_ipv4),
		cmocka_unit_test(test_arg_prefix),
		cmocka_unit_test(test_arg_port_range),
		cmocka_unit_test(test_arg_proto),
		cmocka_unit_test(test_arg_addr_span),
		cmocka_unit_test(test_json_formatting),
		cmocka_unit_test(test_response_ok),
		cmocka_unit_test(test_response_error),
		cmocka_unit_test(test_round_trip_error_echoes_id),
	};

	return cmocka_run_group_tests(tests, 0, NULL);
}

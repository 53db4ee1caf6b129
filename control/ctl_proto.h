/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control protocol's messages (v1, line-delimited JSON): parsing and
 * checking a request line, writing response lines, and the argument
 * helpers command handlers use so that every mistake is reported the same
 * way ("args.KEY: expected ..., found ..."). Pure functions over jansson:
 * no sockets, no DPDK.
 */
#ifndef EPH_CTL_PROTO_H
#define EPH_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "control/limits.h"

#define EPH_CTL_PROTOCOL  1
#define EPH_CTL_MAX_LINE  65536 /* bytes of a request before its newline */
#define EPH_CTL_CMD_MAX   64    /* characters of a command name */
#define EPH_CTL_SPAN_MAX  EPH_LIMIT_POOL_ADDRS_MAX /* addresses one address span may name */

/* Error codes of the protocol. */
#define EPH_CTL_E_BAD_JSON         "bad-json"
#define EPH_CTL_E_BAD_REQUEST      "bad-request"
#define EPH_CTL_E_TOO_LARGE        "too-large"
#define EPH_CTL_E_UNKNOWN_COMMAND  "unknown-command"
#define EPH_CTL_E_INVALID_ARGUMENT "invalid-argument"
#define EPH_CTL_E_REFUSED          "refused"
#define EPH_CTL_E_BUSY             "busy"
#define EPH_CTL_E_INTERNAL         "internal"

struct eph_ctl_error {
	char code[24];     /* one of EPH_CTL_E_* */
	char message[512]; /* one sentence naming the key and what was expected */
};

struct eph_ctl_request {
	char cmd[EPH_CTL_CMD_MAX + 1];
	json_t *id;   /* reference held; NULL when the request has none */
	json_t *args; /* reference held, an object; NULL when absent */
};

/*
 * Fill e. The message is cut to fit and made valid UTF-8 (stray bytes
 * become '?') so that it can always be sent back.
 */
void eph_ctl_errorf(struct eph_ctl_error *e, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Parse one request line (without its newline). 0 on success; -1 with err
 * filled (bad-json or bad-request). Either way req->id is set when the
 * line was an object with an "id", so that the error can echo it: release
 * req with eph_ctl_request_release in both cases.
 */
int eph_ctl_parse_request(const char *line, size_t len, struct eph_ctl_request *req,
			  struct eph_ctl_error *err);
void eph_ctl_request_release(struct eph_ctl_request *req);

/*
 * Response lines: malloc'd, one line of compact JSON ending in '\n', or
 * NULL when out of memory. id may be NULL (sent as null). The ok form
 * takes over the caller's reference to result.
 */
char *eph_ctl_response_ok(const json_t *id, json_t *result);
char *eph_ctl_response_error(const json_t *id, const struct eph_ctl_error *e);

/*
 * Argument helpers. args is the request's "args" object or NULL. Each
 * returns 1 when key is present and valid (out written), 0 when absent
 * (out untouched), -1 with err filled (invalid-argument) otherwise.
 */

/* Every key of args is in keys (NULL-terminated): 0, or -1 naming the stranger. */
int eph_ctl_args_allowed(const json_t *args, const char *const *keys, struct eph_ctl_error *err);

/* A JSON integer with lo <= value <= hi. */
int eph_ctl_arg_uint(const json_t *args, const char *key, uint64_t lo, uint64_t hi,
		     uint64_t *out, struct eph_ctl_error *err);
int eph_ctl_arg_bool(const json_t *args, const char *key, bool *out, struct eph_ctl_error *err);

/* A non-empty string of at most max_len bytes (and less than cap), copied to out. */
int eph_ctl_arg_string(const json_t *args, const char *key, size_t max_len, char *out,
		       size_t cap, struct eph_ctl_error *err);

/* "a.b.c.d". */
int eph_ctl_arg_ipv4(const json_t *args, const char *key, uint32_t *host_order,
		     struct eph_ctl_error *err);

/* "a.b.c.d/len" or "a.b.c.d" (= /32); host bits must be zero. */
int eph_ctl_arg_prefix(const json_t *args, const char *key, uint32_t *addr_host_order,
		       uint8_t *len, struct eph_ctl_error *err);

/* "LO-HI" or a single port ("80" or 80), 1 <= LO <= HI <= 65535. */
int eph_ctl_arg_port_range(const json_t *args, const char *key, uint16_t *lo, uint16_t *hi,
			   struct eph_ctl_error *err);

/* "tcp", "udp" or "icmp", as IPPROTO_*. */
int eph_ctl_arg_proto(const json_t *args, const char *key, uint8_t *ipproto,
		      struct eph_ctl_error *err);

/*
 * A run of addresses: "a.b.c.d", "a.b.c.d-e.f.g.h" (first <= last) or
 * "a.b.c.d/len" (len >= 20, host bits zero); at most EPH_CTL_SPAN_MAX.
 */
int eph_ctl_arg_addr_span(const json_t *args, const char *key, uint32_t *first, uint32_t *count,
			  struct eph_ctl_error *err);

/* "a.b.c.d" and "a.b.c.d:port" as new JSON strings (NULL when out of memory). */
json_t *eph_ctl_json_ipv4(uint32_t host_order);
json_t *eph_ctl_json_endpoint(uint32_t host_order_addr, uint16_t host_order_port);

#endif /* EPH_CTL_PROTO_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket: a Unix stream socket speaking protocol v1 (one JSON
 * request per line, one response line each, in order). It runs inside the
 * daemon's single-threaded control loop: eph_ctl_server_poll does one
 * bounded, non-blocking pass and returns, and command handlers run there.
 * Who may connect is decided by the socket file's owner, group and mode.
 */
#ifndef EPH_CTL_SERVER_H
#define EPH_CTL_SERVER_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "control/ctl_proto.h"

#define EPH_CTL_DEFAULT_MAX_CLIENTS  256
#define EPH_CTL_DEFAULT_IDLE_TIMEOUT 30000 /* ms */
#define EPH_CTL_OUTPUT_CAP           (1u << 20) /* unsent bytes a client may leave */
#define EPH_CTL_POLL_REQUESTS        64 /* requests handled per eph_ctl_server_poll */

/*
 * One command. fn returns 0 with *result set to an object (the server
 * takes it over), or -1 with err filled. args is NULL when the request had
 * none; check it with the eph_ctl_arg_* helpers.
 */
struct eph_ctl_command {
	const char *name;
	int (*fn)(void *ctx, const json_t *args, json_t **result, struct eph_ctl_error *err);
	const char *summary; /* one line for "help" */
};

struct eph_ctl_server_conf {
	const char *path;  /* socket file; its directory is created (0755) if missing */
	const char *group; /* NULL or "": mode 0600; else 0660 with this group */
	const struct eph_ctl_command *commands;
	unsigned int n_commands;
	void *ctx;                    /* passed to every fn */
	unsigned int max_clients;     /* 0: EPH_CTL_DEFAULT_MAX_CLIENTS */
	unsigned int idle_timeout_ms; /* 0: EPH_CTL_DEFAULT_IDLE_TIMEOUT */
};

struct eph_ctl_server_stats {
	uint64_t accepted;      /* connections served */
	uint64_t rejected_busy; /* turned away with "busy": max_clients reached */
	uint64_t requests;      /* request lines handled (empty lines are not requests) */
	uint64_t errors;        /* error responses, too-large included */
	uint64_t too_large;     /* lines over EPH_CTL_MAX_LINE; the client was closed */
	uint64_t timed_out;     /* closed after idle_timeout_ms without progress */
	uint64_t dropped_slow;  /* closed with over EPH_CTL_OUTPUT_CAP unread */
	uint32_t clients;       /* connected now */
};

struct eph_ctl_server;

/*
 * Bind and listen on c->path. A stale socket file is replaced; one a live
 * process answers on is not. NULL with the reason written to err.
 */
struct eph_ctl_server *eph_ctl_server_open(const struct eph_ctl_server_conf *c, FILE *err);

/* One non-blocking pass: accept, read, answer, write, expire. now_ms is monotonic. */
void eph_ctl_server_poll(struct eph_ctl_server *s, uint64_t now_ms);

const struct eph_ctl_server_stats *eph_ctl_server_stats(const struct eph_ctl_server *s);

/* Close every client and the listener, and remove the socket file. NULL is ignored. */
void eph_ctl_server_close(struct eph_ctl_server *s);

#endif /* EPH_CTL_SERVER_H */

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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "control/ctl_proto.h"

#define EPH_CTL_DEFAULT_MAX_CLIENTS  256
#define EPH_CTL_DEFAULT_IDLE_TIMEOUT 30000 /* ms */
#define EPH_CTL_POLL_REQUESTS        64 /* requests handled per eph_ctl_server_poll */

/*
 * Memory for answers. Every answer, the first and only one included, is
 * checked before it is buffered: one longer than the client's cap is
 * replaced by a too-large error; one that would take the server's total
 * (answers waiting for every client, plus what running jobs hold) over
 * its cap is replaced by a busy error. Those short errors may use a
 * reserve above the total; a client whose unread answers would pass its
 * cap is not reading and is closed. So the server never holds more than
 * output_total + EPH_CTL_ERROR_RESERVE bytes for its clients, and one
 * client's unread answers never pass output_cap.
 */
#define EPH_CTL_OUTPUT_CAP    (32u << 20)  /* default per client: 100000 sessions fit */
#define EPH_CTL_OUTPUT_TOTAL  (128u << 20) /* default for all clients together */
#define EPH_CTL_ERROR_RESERVE (64u << 10)

/* A command's handler answers later: see struct eph_ctl_job. */
#define EPH_CTL_PENDING 1

/*
 * Work that takes more than one pass of the control loop, such as a
 * request every worker serves in its own time. The command starts it and
 * the server polls it once per pass, answering other clients meanwhile;
 * the client's later requests wait for its answer. The server frees it
 * (release) once answered or once its client is gone, and keeps asking
 * while a worker may still write into it.
 */
struct eph_ctl_job {
	/* EPH_CTL_PENDING, 0 with *result (an object, taken over), or -1 with err. */
	int (*poll)(struct eph_ctl_job *job, uint64_t now_ms, json_t **result,
		    struct eph_ctl_error *err);
	/*
	 * Free the job and return true, or false while a worker may still
	 * write into it. force: the workers have stopped; free it whatever
	 * its state.
	 */
	bool (*release)(struct eph_ctl_job *job, bool force);
	size_t bytes;                   /* memory it holds, counted against the caps */
	struct eph_ctl_job *next_orphan; /* the server's */
};

/*
 * One command: fn, or start for answers that take several passes. Both
 * fill *result with an object (the server takes it over) and return 0, or
 * return -1 with err filled; start may instead set *job and return
 * EPH_CTL_PENDING. args is NULL when the request had none; check it with
 * the eph_ctl_arg_* helpers.
 */
struct eph_ctl_command {
	const char *name;
	int (*fn)(void *ctx, const json_t *args, json_t **result, struct eph_ctl_error *err);
	const char *summary; /* one line for "help" */
	int (*start)(void *ctx, const json_t *args, struct eph_ctl_job **job, json_t **result,
		     struct eph_ctl_error *err);
};

struct eph_ctl_server_conf {
	const char *path;  /* socket file; its directory is created (0755) if missing */
	const char *group; /* NULL or "": mode 0600; else 0660 with this group */
	const struct eph_ctl_command *commands;
	unsigned int n_commands;
	void *ctx;                    /* passed to every fn */
	unsigned int max_clients;     /* 0: EPH_CTL_DEFAULT_MAX_CLIENTS */
	unsigned int idle_timeout_ms; /* 0: EPH_CTL_DEFAULT_IDLE_TIMEOUT */
	size_t output_cap;            /* 0: EPH_CTL_OUTPUT_CAP */
	size_t output_total;          /* 0: EPH_CTL_OUTPUT_TOTAL */
};

struct eph_ctl_server_stats {
	uint64_t accepted;      /* connections served */
	uint64_t rejected_busy; /* turned away with "busy": max_clients reached */
	uint64_t requests;      /* request lines handled (empty lines are not requests) */
	uint64_t errors;        /* error responses, too-large included */
	uint64_t too_large;     /* lines over EPH_CTL_MAX_LINE; the client was closed */
	uint64_t timed_out;     /* closed after idle_timeout_ms without progress */
	uint64_t dropped_slow;  /* closed with over output_cap unread */
	uint64_t refused_too_large; /* answers over output_cap, answered too-large instead */
	uint64_t refused_busy;  /* answers and jobs over output_total, answered busy instead */
	uint64_t buffered_bytes; /* now: answers not yet written and what jobs hold */
	uint64_t buffered_peak; /* the most buffered_bytes has been */
	uint32_t clients;       /* connected now */
	uint32_t jobs;          /* running, for a client or for no one any more */
};

struct eph_ctl_server;

/*
 * Bind and listen on c->path. A stale socket file is replaced; one a live
 * process answers on is not. NULL with the reason written to err.
 */
struct eph_ctl_server *eph_ctl_server_open(const struct eph_ctl_server_conf *c, FILE *err);

/*
 * One non-blocking pass: accept, read, answer, poll jobs, write, expire.
 * now_ms is monotonic.
 */
void eph_ctl_server_poll(struct eph_ctl_server *s, uint64_t now_ms);

const struct eph_ctl_server_stats *eph_ctl_server_stats(const struct eph_ctl_server *s);

/*
 * Close every client and the listener, and remove the socket file. Jobs
 * still running are freed: call it once the workers have stopped. NULL is
 * ignored.
 */
void eph_ctl_server_close(struct eph_ctl_server *s);

#endif /* EPH_CTL_SERVER_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ephctl's side of the control protocol v1: a Unix stream socket carrying one
 * JSON request line and one JSON response line per call. One connection
 * serves any number of calls (ephctl top keeps it open across refreshes).
 */
#ifndef EPHCTL_CLIENT_H
#define EPHCTL_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#define EPHCTL_PROTOCOL 1

/* What a call came to; the values are ephctl's exit codes. */
enum ephctl_status {
	EPHCTL_OK = 0,
	EPHCTL_REFUSED = 1,     /* the daemon answered ok:false */
	EPHCTL_USAGE = 2,       /* bad command line, found before connecting */
	EPHCTL_UNREACHABLE = 3, /* no socket, no answer in time, or an answer not of the protocol */
};

struct ephctl_conn {
	int fd;
	const char *path;
	long long next_id;
	char *buf; /* bytes received past the last answer line */
	size_t len;
	size_t cap;
};

/* Longest socket path a sockaddr_un holds. */
size_t ephctl_socket_path_max(void);

/*
 * Connect to the daemon's socket within timeout_s. On failure *err is set to
 * "cannot connect to PATH: REASON (HINT)" (malloc'd, caller frees) and
 * EPHCTL_UNREACHABLE is returned.
 */
enum ephctl_status ephctl_connect(struct ephctl_conn *c, const char *path, double timeout_s,
				  char **err);

/*
 * Send {"v":1,"id":N,"cmd":cmd,"args":args} (args omitted when NULL or empty)
 * and wait up to timeout_s for its answer.
 *   EPHCTL_OK:          *result holds the result object (caller json_decref's it).
 *   EPHCTL_REFUSED:     *err holds the daemon's message (its code when it gave none).
 *   EPHCTL_UNREACHABLE: *err says what went wrong on the socket or in the answer;
 *                       the connection is of no further use.
 * *err is malloc'd; the caller frees it.
 */
enum ephctl_status ephctl_call(struct ephctl_conn *c, const char *cmd, const json_t *args,
			       double timeout_s, json_t **result, char **err);

void ephctl_close(struct ephctl_conn *c);

/* msg on stderr, every line prefixed "ephctl: " (reload reports one YAML error a line). */
void ephctl_print_error(const char *msg);

#endif /* EPHCTL_CLIENT_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket client (see client.h). Every call has one deadline
 * covering the write and the whole answer, so a daemon that stalls halfway
 * through a line cannot hold ephctl past --timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control/ephctl/client.h"

/* An answer longer than this is not one the protocol produces. */
#define ANSWER_MAX (512u << 20)
#define READ_CHUNK 65536

static void __attribute__((format(printf, 2, 3)))
set_err(char **err, const char *fmt, ...)
{
	va_list ap;

	free(*err);
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds left until deadline for poll(2), at least 0. */
static int
ms_left(double deadline)
{
	double left = deadline - now_s();

	if (left <= 0)
		return 0;
	return left > 86400.0 ? 86400000 : (int)ceil(left * 1000.0);
}

size_t
ephctl_socket_path_max(void)
{
	return sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1;
}

static const char *
connect_hint(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return " (is ephemera running? is control.socket set to this path?)";
	case EACCES:
	case EPERM:
		return " (run as root or as a member of the group set in control.group)";
	case ECONNREFUSED:
		return " (is ephemera running? the socket may be left from a daemon that stopped)";
	default:
		return "";
	}
}

enum ephctl_status
ephctl_connect(struct ephctl_conn *c, const char *path, double timeout_s, char **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = {
		.tv_sec = (time_t)timeout_s,
		.tv_usec = (suseconds_t)((timeout_s - floor(timeout_s)) * 1e6),
	};
	int fd;

	*c = (struct ephctl_conn){ .fd = -1, .path = path, .next_id = 1 };
	if (strlen(path) > ephctl_socket_path_max()) {
		set_err(err, "cannot connect to %s: the path is longer than %zu bytes", path,
			ephctl_socket_path_max());
		return EPHCTL_UNREACHABLE;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_err(err, "cannot connect to %s: socket: %s", path, strerror(errno));
		return EPHCTL_UNREACHABLE;
	}
	/* A daemon with a full backlog makes connect wait; bound that wait. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		if (e == EAGAIN || e == EINPROGRESS)
			set_err(err, "cannot connect to %s: no connection accepted within %g s",
				path, timeout_s);
		else
			set_err(err, "cannot connect to %s: %s%s", path, strerror(e),
				connect_hint(e));
		return EPHCTL_UNREACHABLE;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		set_err(err, "cannot connect to %s: fcntl: %s", path, strerror(errno));
		close(fd);
		return EPHCTL_UNREACHABLE;
	}
	c->fd = fd;
	return EPHCTL_OK;
}

void
ephctl_close(struct ephctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->len = 0;
	c->cap = 0;
}

static enum ephctl_status
send_all(struct ephctl_conn *c, const char *cmd, const char *data, size_t len, double deadline,
	 double timeout_s, char **err)
{
	while (len > 0) {
		struct pollfd p = { .fd = c->fd, .events = POLLOUT };
		ssize_t n;
		int rc = poll(&p, 1, ms_left(deadline));

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0) {
			set_err(err, "the daemon on %s took no request (%s) within %g s", c->path,
				cmd, timeout_s);
			return EPHCTL_UNREACHABLE;
		}
		n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			set_err(err, "the daemon on %s closed the connection before reading %s: %s",
				c->path, cmd, strerror(errno));
			return EPHCTL_UNREACHABLE;
		}
		data += n;
		len -= (size_t)n;
	}
	return EPHCTL_OK;
}

/* Receive until c->buf holds a full line; its length without the newline in *line_len. */
static enum ephctl_status
recv_line(struct ephctl_conn *c, const char *cmd, double deadline, double timeout_s,
	  size_t *line_len, char **err)
{
	for (;;) {
		char *nl = c->len > 0 ? memchr(c->buf, '\n', c->len) : NULL;
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		ssize_t n;
		int rc;

		if (nl != NULL) {
			*line_len = (size_t)(nl - c->buf);
			return EPHCTL_OK;
		}
		if (c->len >= ANSWER_MAX) {
			set_err(err,
				"the answer from %s to %s is longer than %u MiB without a "
				"newline",
				c->path, cmd, ANSWER_MAX >> 20);
			return EPHCTL_UNREACHABLE;
		}
		if (c->cap - c->len < READ_CHUNK) {
			char *buf = realloc(c->buf, c->cap + 2 * READ_CHUNK);

			if (buf == NULL) {
				set_err(err, "out of memory reading the answer to %s", cmd);
				return EPHCTL_UNREACHABLE;
			}
			c->buf = buf;
			c->cap += 2 * READ_CHUNK;
		}
		rc = poll(&p, 1, ms_left(deadline));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0) {
			set_err(err,
				"no answer from the daemon on %s to %s within %g s (a longer "
				"--timeout may help)",
				c->path, cmd, timeout_s);
			return EPHCTL_UNREACHABLE;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0 && errno != ECONNRESET) {
			set_err(err, "reading the answer to %s from %s: %s", cmd, c->path,
				strerror(errno));
			return EPHCTL_UNREACHABLE;
		}
		if (n <= 0) {
			if (c->len == 0)
				set_err(err,
					"the daemon on %s closed the connection without "
					"answering %s",
					c->path, cmd);
			else
				set_err(err,
					"the daemon on %s closed the connection in the middle "
					"of its answer to %s",
					c->path, cmd);
			return EPHCTL_UNREACHABLE;
		}
		c->len += (size_t)n;
	}
}

/* Check one answer against the protocol and the request id; take its result or error. */
static enum ephctl_status
check_answer(struct ephctl_conn *c, const char *cmd, json_t *answer, long long id,
	     json_t **result, char **err)
{
	json_t *v = json_object_get(answer, "v");
	json_t *ok = json_object_get(answer, "ok");
	json_t *answer_id = json_object_get(answer, "id");
	json_t *error;
	const char *message, *code;

	if (!json_is_object(answer)) {
		set_err(err, "the answer from %s to %s is not a JSON object", c->path, cmd);
		return EPHCTL_UNREACHABLE;
	}
	if (!json_is_integer(v) || json_integer_value(v) != EPHCTL_PROTOCOL) {
		char *found = v != NULL ? json_dumps(v, JSON_ENCODE_ANY) : NULL;

		set_err(err, "the daemon on %s answers in control protocol %s; ephctl speaks %d",
			c->path, found != NULL ? found : "(no \"v\")", EPHCTL_PROTOCOL);
		free(found);
		return EPHCTL_UNREACHABLE;
	}
	if (!json_is_boolean(ok)) {
		set_err(err, "the answer from %s to %s has no \"ok\": true or false", c->path, cmd);
		return EPHCTL_UNREACHABLE;
	}
	/* A request the daemon could not parse is answered with a null id. */
	if (!(json_is_integer(answer_id) && json_integer_value(answer_id) == id) &&
	    !(json_is_null(answer_id) && json_is_false(ok))) {
		set_err(err, "the answer from %s to %s carries another id than request %lld",
			c->path, cmd, id);
		return EPHCTL_UNREACHABLE;
	}
	if (json_is_true(ok)) {
		*result = json_object_get(answer, "result");
		if (!json_is_object(*result)) {
			set_err(err, "the answer from %s to %s has no \"result\" object", c->path,
				cmd);
			return EPHCTL_UNREACHABLE;
		}
		json_incref(*result);
		return EPHCTL_OK;
	}
	error = json_object_get(answer, "error");
	message = json_string_value(json_object_get(error, "message"));
	code = json_string_value(json_object_get(error, "code"));
	if (message != NULL && message[0] != '\0')
		set_err(err, "%s", message);
	else if (code != NULL)
		set_err(err, "the daemon refused %s: %s", cmd, code);
	else
		set_err(err, "the daemon refused %s without saying why", cmd);
	return EPHCTL_REFUSED;
}

enum ephctl_status
ephctl_call(struct ephctl_conn *c, const char *cmd, const json_t *args, double timeout_s,
	    json_t **result, char **err)
{
	double deadline = now_s() + timeout_s;
	long long id = c->next_id++;
	enum ephctl_status st;
	json_error_t jerr;
	json_t *req, *answer;
	size_t line_len;
	char *line;

	*result = NULL;
	if (c->fd < 0) {
		set_err(err, "not connected to %s", c->path);
		return EPHCTL_UNREACHABLE;
	}
	req = json_pack("{s:i, s:I, s:s}", "v", EPHCTL_PROTOCOL, "id", (json_int_t)id, "cmd", cmd);
	if (req != NULL && json_object_size(args) > 0)
		json_object_set(req, "args", (json_t *)args);
	line = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (line == NULL) {
		set_err(err, "out of memory building the request %s", cmd);
		return EPHCTL_UNREACHABLE;
	}
	st = send_all(c, cmd, line, strlen(line), deadline, timeout_s, err);
	free(line);
	if (st == EPHCTL_OK)
		st = send_all(c, cmd, "\n", 1, deadline, timeout_s, err);
	if (st == EPHCTL_OK)
		st = recv_line(c, cmd, deadline, timeout_s, &line_len, err);
	if (st != EPHCTL_OK) {
		ephctl_close(c);
		return st;
	}

	answer = json_loadb(c->buf, line_len, JSON_REJECT_DUPLICATES, &jerr);
	c->len -= line_len + 1;
	memmove(c->buf, c->buf + line_len + 1, c->len);
	if (answer == NULL) {
		set_err(err, "the answer from %s to %s is not JSON: %s (column %d)", c->path, cmd,
			jerr.text, jerr.column);
		ephctl_close(c);
		return EPHCTL_UNREACHABLE;
	}
	st = check_answer(c, cmd, answer, id, result, err);
	json_decref(answer);
	if (st == EPHCTL_UNREACHABLE)
		ephctl_close(c);
	return st;
}

void
ephctl_print_error(const char *msg)
{
	const char *line = msg != NULL ? msg : "out of memory";

	do {
		const char *nl = strchrnul(line, '\n');

		fprintf(stderr, "ephctl: %.*s\n", (int)(nl - line), line);
		line = *nl == '\0' ? nl : nl + 1;
	} while (*line != '\0');
}

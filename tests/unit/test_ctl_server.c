/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for control/ctl_server.c and control/metrics_http.c: a real
 * server on a socket under a temporary directory, polled from the test
 * while real client sockets connect() to it and send requests whole,
 * pipelined, byte by byte, oversized, malformed, or not at all; 300
 * clients against 256 slots; a client that never reads; the socket file's
 * mode, group and who may connect. Then GET /metrics over real TCP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/ctl_server.h"
#include "control/metrics_http.h"

#define WAIT_MS 5000 /* longest any answer may take */

static char tmpdir[64];
static char sock_path[100];

/* Commands of the test table. */

static int
cmd_echo(void *ctx, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	unsigned int *calls = ctx;

	(*calls)++;
	/* O takes a reference to args; o takes over the new empty object. */
	if (args != NULL)
		*result = json_pack("{s:O}", "args", (json_t *)args);
	else
		*result = json_pack("{s:o}", "args", json_object());
	return 0;
}

static int
cmd_fail(void *ctx, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	eph_ctl_errorf(err, EPH_CTL_E_REFUSED, "pool \"default\" has no address 203.0.113.9");
	return -1;
}

static int
cmd_silent_fail(void *ctx, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	return -1;
}

static int
cmd_no_result(void *ctx, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	return 0;
}

/* {"text":"xxx..."} of args.size bytes. */
static int
cmd_big(void *ctx, const json_t *args, json_t **result, struct eph_ctl_error *err)
{
	uint64_t size = 0;
	char *text;

	if (eph_ctl_arg_uint(args, "size", 1, 1u << 26, &size, err) != 1)
		return -1;
	text = malloc(size);
	assert_non_null(text);
	memset(text, 'x', size);
	*result = json_pack("{s:s%}", "text", text, (size_t)size);
	free(text);
	return 0;
}

/*
 * A job standing for a request to the workers: it answers {"done":id}
 * once the test lets its "worker" finish (job_worker_done), and until then
 * its release refuses to free it, as a worker would still write into it.
 */
struct test_job {
	struct eph_ctl_job job;
	json_int_t id;
	bool asked; /* polled once: its "worker" has it */
};

static bool job_worker_done;
static unsigned int jobs_freed;

static int
test_job_poll(struct eph_ctl_job *job, uint64_t now_ms, json_t **result,
	      struct eph_ctl_error *err)
{
	((struct test_job *)job)->asked = true;
	if (!job_worker_done)
		return EPH_CTL_PENDING;
	*result = json_pack("{s:I}", "done", ((struct test_job *)job)->id);
	return 0;
}

static bool
test_job_release(struct eph_ctl_job *job, bool force)
{
	if (((struct test_job *)job)->asked && !job_worker_done && !force)
		return false;
	free(job);
	jobs_freed++;
	return true;
}

/* args.id, args.hold: the bytes the job says it holds. */
static int
cmd_job(void *ctx, const json_t *args, struct eph_ctl_job **job, json_t **result,
	struct eph_ctl_error *err)
{
	uint64_t id = 0, hold = 64;
	struct test_job *j;

	if (eph_ctl_arg_uint(args, "id", 0, 1000, &id, err) < 0 ||
	    eph_ctl_arg_uint(args, "hold", 1, 1u << 30, &hold, err) < 0)
		return -1;
	j = calloc(1, sizeof(*j));
	assert_non_null(j);
	j->job = (struct eph_ctl_job){ .poll = test_job_poll, .release = test_job_release,
				       .bytes = hold };
	j->id = (json_int_t)id;
	*job = &j->job;
	return EPH_CTL_PENDING;
}

static const struct eph_ctl_command commands[] = {
	{ .name = "echo", .fn = cmd_echo, .summary = "send the arguments back" },
	{ .name = "fail", .fn = cmd_fail, .summary = "always refused" },
	{ .name = "silent-fail", .fn = cmd_silent_fail },
	{ .name = "no-result", .fn = cmd_no_result, .summary = "returns nothing" },
	{ .name = "big", .fn = cmd_big, .summary = "a long answer" },
	{ .name = "job", .start = cmd_job, .summary = "answered once the workers are done" },
};

static unsigned int echo_calls;
static size_t cap_client, cap_total; /* 0: the server's defaults */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct eph_ctl_server *
open_server(const char *group, unsigned int max_clients, unsigned int idle_timeout_ms)
{
	const struct eph_ctl_server_conf conf = {
		.path = sock_path,
		.group = group,
		.commands = commands,
		.n_commands = sizeof(commands) / sizeof(commands[0]),
		.ctx = &echo_calls,
		.max_clients = max_clients,
		.idle_timeout_ms = idle_timeout_ms,
		.output_cap = cap_client,
		.output_total = cap_total,
	};
	struct eph_ctl_server *s = eph_ctl_server_open(&conf, stderr);

	assert_non_null(s);
	return s;
}

static void
pump(struct eph_ctl_server *s)
{
	eph_ctl_server_poll(s, now_ms());
}

/* Client side. */

struct tclient {
	int fd;
	char *buf;
	size_t len, cap;
	bool eof;
	int error; /* errno of a failed recv, e.g. ECONNRESET */
};

static void
tc_connect(struct tclient *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		fail_msg("connect %s: %s", sock_path, strerror(errno));
}

static void
tc_close(struct tclient *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
}

/* Send all of data (small enough for the socket buffers). */
static void
tc_send(struct tclient *c, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);

		if (n < 0)
			fail_msg("send: %s", strerror(errno));
		data += n;
		len -= (size_t)n;
	}
}

static void
tc_send_str(struct tclient *c, const char *s)
{
	tc_send(c, s, strlen(s));
}

/* Take what has arrived, without blocking. */
static void
tc_recv(struct tclient *c)
{
	while (!c->eof && c->error == 0) {
		ssize_t n;

		if (c->cap - c->len < 65536) {
			c->cap = c->cap * 2 + 65536;
			c->buf = realloc(c->buf, c->cap);
			assert_non_null(c->buf);
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n > 0)
			c->len += (size_t)n;
		else if (n == 0)
			c->eof = true;
		else if (errno == EAGAIN)
			break;
		else if (errno != EINTR)
			c->error = errno;
	}
}

/* The next line (malloc'd, with its newline), polling s meanwhile; NULL on EOF. */
static char *
tc_line(struct eph_ctl_server *s, struct tclient *c)
{
	uint64_t deadline = now_ms() + WAIT_MS;

	for (;;) {
		char *nl = c->buf != NULL ? memchr(c->buf, '\n', c->len) : NULL;

		if (nl != NULL) {
			size_t n = (size_t)(nl - c->buf) + 1;
			char *line = malloc(n + 1);

			assert_non_null(line);
			memcpy(line, c->buf, n);
			line[n] = '\0';
			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
			return line;
		}
		if (c->eof || c->error != 0)
			return NULL;
		if (now_ms() > deadline)
			fail_msg("no answer within %d ms", WAIT_MS);
		pump(s);
		tc_recv(c);
	}
}

static void
expect_line(struct eph_ctl_server *s, struct tclient *c, const char *expected)
{
	char *line = tc_line(s, c);

	if (line == NULL)
		fail_msg("EOF instead of %s", expected);
	assert_string_equal(line, expected);
	free(line);
}

/* The server closes c: EOF after any lines still unread. */
static void
expect_eof(struct eph_ctl_server *s, struct tclient *c)
{
	char *line = tc_line(s, c);

	if (line != NULL)
		fail_msg("a line instead of EOF: %s", line);
	assert_true(c->eof);
	assert_int_equal(c->error, 0);
}

/* The "error" object of a response line. */
static json_t *
parse_response(const char *line)
{
	json_error_t jerr;
	json_t *o;

	assert_non_null(line);
	o = json_loads(line, 0, &jerr);
	if (o == NULL)
		fail_msg("bad response %s: %s", line, jerr.text);
	return o;
}

static const char *
error_code(const json_t *o)
{
	return json_string_value(json_object_get(json_object_get(o, "error"), "code"));
}

/* Tests. */

static int
setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/eph_t_ctl_XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	/* Traversable by anyone, so that only the socket's own mode keeps others out. */
	assert_int_equal(chmod(tmpdir, 0755), 0);
	snprintf(sock_path, sizeof(sock_path), "%s/run/ephemera/ctl.sock", tmpdir);
	echo_calls = 0;
	cap_client = cap_total = 0;
	job_worker_done = false;
	jobs_freed = 0;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void
test_one_request(void **state)
{
	struct eph_ctl_server *s = open_server(NULL, 0, 0);
	const struct eph_ctl_server_stats *st = eph_ctl_server_stats(s);
	struct tclient c;

	tc_connect(&c);
	tc_send_str(&c, "{\"v\":1,\"id\":1,\"cmd\":\"echo\",\"args\":{\"x\":\"y\"}}\n");
	expect_line(s, &c, "{\"v\":1,\"id\":1,\"ok\":true,\"result\":{\"args\":{\"x\":\"y\"}}}\n");
	assert_int_equal(echo_calls, 1);
	assert_int_equal(st->accepted, 1);
	assert_int_equal(st->requests, 1);
	assert_int_equal(st->errors, 0);
	assert_int_equal(st->clients, 1);

	/* The client hangs up: the server lets go of it. */
	tc_close(&c);
	for (int i = 0; i < 100 && st->clients != 0; i++)
		pump(s);
	assert_int_equal(st->clients, 0);
	eph_ctl_server_close(s);
	assert_int_equal(access(sock_path, F_OK), -1);
}

static void
test_pipelined(void **state)
{
	struct eph_ctl_server *s = open_server(NULL, 0, 0);
	const struct eph_ctl_server_stats *st = eph_ctl_server_stats(s);
	struct tclient c;

	tc_connect(&c);
	/* Three requests, blank lines between, in one write. */
	tc_send_str(&c, "{\"id\":1,\"cmd\":\"echo\"}\n\n  \r\n{\"id\":2,\"cmd\":\"fail\"}\n"
			"{\"id\":3,\"cmd\":\"echo\",\"args\":{\"n\":3}}\r\n");
	expect_line(s, &c, "{\"v\":1,\"id\":1,\"ok\":true,\"result\":{\"args\":{}}}\n");
	expect_line(s, &c, "{\"v\":1,\"id\":2,\"ok\":false,\"error\":{\"code\":\"refused\","
			   "\"message\":\"pool \\\"default\\\" has no address 203.0.113.9\"}}\n");
	expect_line(s, &c, "{\"v\":1,\"id\":3,\"ok\":true,\"result\":{\"args\":{\"n\":3}}}\n");
	assert_int_equal(st->requests, 3);
	assert_int_equal(st->errors, 1);
	tc_close(&c);
	eph_ctl_server_close(s);
}

static void
test_split_request(void **state)
{
	static const char req[] = "{\"id\":\"split\",\"cmd\":\"echo\",\"args\":{\"k\":[1,2]}}\n";
	struct eph_ctl_server *s = open_server(NULL, 0, 0);
	struct tclient c;

	tc_connect(&c);
	for (size_t i = 0; i < strlen(req); i++) {
		tc_send(&c, req + i, 1);
		pump(s);
		pump(s);
		tc_recv(&c);
		/* Nothing is answered before the newline. */
		if (i + 1 < strlen(req))
			assert_int_equal(c.len, 0);
	}
	expect_line(s, &c,
		    "{\"v\":1,\"id\":\"split\",\"ok\":true,\"result\":{\"args\":{\"k\":[1,2]}}}\n");

	/* A last request ended by EOF rather than a newline is still answered. */
	tc_send_str(&c, "{\"id\":9,\"cmd\":\"echo\"}");
	shutdown(c.fd, SHUT_WR);
	expect_line(s, &c, "{\"v\":1,\"id\":9,\"ok\":true,\"result\":{\"args\":{}}}\n");
	expect_eof(s, &c);
	tc_close(&c);
	eph_ctl_server_close(s);
}

/* {"id":ID,"cmd":"echo","args":{"p":"xxx"}} padded to exactly len bytes, plus '\n'. */
static char *
echo_request_of(size_t len, int id)
{
	char head[64];
	size_t head_len, pad;
	char *r;

	head_len = (size_t)snprintf(head, sizeof(head),
				    "{\"id\":%d,\"cmd\":\"echo\",\"args\":{\"p\":\"", id);
	assert_true(len > head_len + 3);
	pad = len - head_len - 3;
	r = malloc(len + 2);
	assert_non_null(r);
	memcpy(r, head, head_len);
	memset(r + head_len, 'x', pad);
	memcpy(r + head_len + pad, "\"}}\n", 5);
	return r;
}

static void
test_too_large(void **state)
{
	struct eph_ctl_server *s = open_server(NULL, 0, 0);
	const struct eph_ctl_server_stats *st = eph_ctl_server_stats(s);
	char *req, *line, *junk;
	struct tclient c;
	size_t sent = 0;
	json_t *o;

	/* The longest line allowed, 65536 bytes before the newline, is served. */
	tc_connect(&c);
	req = echo_request_of(EPH_CTL_MAX_LINE, 5);
	assert_int_equal(strlen(req), EPH_CTL_MAX_LINE + 1);
	tc_send_str(&c, req);
	line = tc_line(s, &c);
	o = parse_response(line);
	assert_true(json_is_true(json_object_get(o, "ok")));
	assert_int_equal(strlen(json_string_value(json_object_get(
				 json_object_get(json_object_get(o, "result"), "args"), "p"))),
			 EPH_CTL_MAX_LINE - 37);
	json_decref(o);
	free(line);
	free(req);

	/* One byte more: a good request first, then the long line; answered, too-large, EOF. */
	tc_send_str(&c, "{\"id\":1,\"cmd\":\"echo\"}\n");
	req = echo_request_of(EPH_CTL_MAX_LINE + 1, 6);
	while (sent < strlen(req)) {
		ssize_t n = send(c.fd, req + sent, strlen(req) - sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0)
			sent += (size_t)n;
		else if (n < 0 && errno == EAGAIN)
			pump(s);
		else if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			break; /* the server stopped listening mid-line: expected */
		else
			fail_msg("send: %s", strerror(errno));
	}
	free(req);
	expect_line(s, &c, "{\"v\":1,\"id\":1,\"ok\":true,\"result\":{\"args\":{}}}\n");
	expect_line(s, &c, "{\"v\":1,\"id\":null,\"ok\":false,\"error\":{\"code\":\"too-large\","
			   "\"message\":\"request longer than 65536 bytes; send one request per "
			   "line\"}}\n");
	expect_eof(s, &c);
	assert_int_equal(st->too_large, 1);
	assert_int_equal(st->requests, 3);
	assert_int_equal(st->errors, 1);
	tc_close(&c);

	/* No newline at all: refused as soon as the buffer holds more than a line. */
	tc_connect(&c);
	junk = malloc(200000);
	assert_non_null(junk);
	memset(junk, 'j', 200000);
	sent = 0;
	while (sent < 200000) {
		ssize_t n = send(c.fd, junk + sent, 200000 - sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0)
			sent += (size_t)n;
		else if (n < 0 && errno == EAGAIN)
			pump(s);
		else
			break;
	}
	free(junk);
	line = tc_line(s, &c);
	o = parse_response(line);
	assert_string_equal(error_code(o), "too-large");
	json_decref(o);
	free(line);
	expect_eof(s, &c);
	assert_int_equal(st->too_large, 2);
	tc_close(&c);
	eph_ctl_server_close(s);
}

static void
test_malformed_then_ok(void **state)
{
	struct eph_ctl_server *s = open_server(NULL, 0, 0);
	struct tclient c;

	tc_connect(&c);
	tc_send_str(&c, "{bad\n");
	expect_line(s, &c, "{\"v\":1,\"id\":null,\"ok\":false,\"error\":{\"code\":\"bad-json\","
			   "\"message\":\"invalid JSON at line 1, column 4: string or '}' expected "
			   "near 'bad'\"}}\n");
	tc_send_str(&c, "{\"id\":\"\xff\"}\n");
	expect_line(s, &c, "{\"v\":1,\"id\":null,\"ok\":false,\"error\":{\"code\":\"bad-json\","
			   "\"message\":\"invalid JSON at line 1, column 7: unable to decode byte "
			   "0xff near '\\\"'\"}}\n");
	tc_send_str(&c, "{\"id\":4,\"v\":2,\"cmd\":\"echo\"}\n");
	expect_line(s, &c, "{\"v\":1,\"id\":4,\"ok\":false,\"error\":{\"code\":\"bad-request\","
			   "\"message\":\"v: expected 1 (the protocol version this daemon speaks), "
			   "found 2\"}}\n");
	/* The connection is still good. */
	tc_send_str(&c, "{\"id\":5,\"cmd\":\"echo\"}\n");
	expect_line(s, &c, "{\"v\":1,\"id\":5,\"ok\":true,\"result\":{\"args\":{}}}\n");
	assert_int_equal(eph_ctl_server_stats(s)->errors, 3);
	tc_close(&c);
	eph_ctl_server_close(s);
}

static void
test_unknown_command_and_contract(void **state)
{
	struct eph_ctl_server *s = open_server(NULL, 0, 0);
	struct tclient c;

	tc_connect(&c);
	tc_send_str(&c, "{\"id\":\"z\",\"cmd\":\"nope\"}\n");
	expect_line(s, &c, "{\"v\":1,\"id\":\"z\",\"ok\":false,\"error\":{\"code\":"
			   "\"unknown-command\",\"message\":\"unknown command \\\"nope\\\"; "
			   "\\\"help\\\" lists the commands\"}}\n");
	/* Handlers that break the contract still get a well-formed answer. */
	tc_send_str(&c, "{\"cmd\":\"silent-fail\"}\n{\"cmd\":\"no-result\"}\n");
	expect_line(s, &c, "{\"v\":1,\"id\":null,\"ok\":false,\"error\":{\"code\":\"internal\","
			   "\"message\":\"silent-fail failed without saying why\"}}\n");
	expect_line(s, &c, "{\"v\":1,\"id\":null,\"ok\":false,\"error\":{\"code\":\"internal\","
			   "\"message\":\"no-result returned no result object\"}}\n");
	/* Argument errors from the helpers reach the client as they are. */
	tc_send_str(&c, "{\"cmd\":\"big\",\"args\":{\"size\":0}}\n");
	expect_line(s, &c, "{\"v\":1,\"id\":null,\"ok\":false,\"error\":{\"code\":"
			   "\"invalid-argument\",\"message\":\"args.size: expected an integer "
			   "from 1 to 67108864, found 0\"}}\n");
	tc_close(&c);
	eph_ctl_server_close(s);
}

static void
test_help(void **state)
{
	struct eph_ctl_server *s = open_server(NULL, 0, 0);
	struct tclient c;

	tc_connect(&c);
	tc_send_str(&c, "{\"cmd\":\"help\"}\n");
	expect_line(s, &c, "{\"v\":1,\"id\":null,\"ok\":true,\"result\":{\"commands\":["
			   "{\"name\":\"echo\",\"summary\":\"send the arguments back\"},"
			   "{\"name\":\"fail\",\"summary\":\"always refused\"},"
			   "{\"name\":\"silent-fail\",\"summary\":\"\"},"
			   "{\"name\":\"no-result\",\"summary\":\"returns nothing\"},"
			   "{\"name\":\"big\",\"summary\":\"a long answer\"},"
			   "{\"name\":\"job\",\"summary\":\"answered once the workers are done\"},"
			   "{\"name\":\"help\",\"summary\":"
			   "\"list the commands and what each does\"}"
			   "]}}\n");
	tc_send_str(&c, "{\"cmd\":\"help\",\"args\":{\"all\":true}}\n");
	expect_line(s, &c, "{\"v\":1,\"id\":null,\"ok\":false,\"error\":{\"code\":"
			   "\"invalid-argument\",\"message\":\"args: unknown key \\\"all\\\"; "
			   "this command takes no arguments\"}}\n");
	tc_close(&c);
	eph_ctl_server_close(s);
}

/* A reply larger than the output cap is still delivered whole to a reader. */
static void
test_large_answer(void **state)
{
	struct eph_ctl_server *s = open_server(NULL, 0, 0);
	struct tclient c;
	char *line;
	json_t *o;

	tc_connect(&c);
	tc_send_str(&c, "{\"cmd\":\"big\",\"args\":{\"size\":3000000}}\n");
	line = tc_line(s, &c);
	o = parse_response(line);
	assert_int_equal(strlen(json_string_value(
				 json_object_get(json_object_get(o, "result"), "text"))),
			 3000000);
	json_decref(o);
	free(line);
	assert_int_equal(eph_ctl_server_stats(s)->dropped_slow, 0);
	tc_close(&c);
	eph_ctl_server_close(s);
}

/* The cap holds for every answer, the first and only one too: too-large, and the client goes on. */
static void
test_answer_over_client_cap(void **state)
{
	static const char head[] = "{\"v\":1,\"id\":1,\"ok\":true,\"result\":{\"text\":\"";
	const struct eph_ctl_server_stats *st;
	struct eph_ctl_server *s;
	char expected[256];
	struct tclient c;
	char *line;
	json_t *o;

	cap_client = 1u << 20;
	s = open_server(NULL, 0, 0);
	st = eph_ctl_server_stats(s);
	tc_connect(&c);
	tc_send_str(&c, "{\"id\":1,\"cmd\":\"big\",\"args\":{\"size\":2000000}}\n"
			"{\"id\":2,\"cmd\":\"echo\"}\n");
	line = tc_line(s, &c);
	o = parse_response(line);
	assert_int_equal(json_integer_value(json_object_get(o, "id")), 1);
	assert_string_equal(error_code(o), "too-large");
	snprintf(expected, sizeof(expected),
		 "the answer is %zu bytes, over the 1048576 a client may be sent at once; ask for "
		 "less (a filter, a lower limit)", strlen(head) + 2000000 + strlen("\"}}\n"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "error"),
							      "message")), expected);
	json_decref(o);
	free(line);
	expect_line(s, &c, "{\"v\":1,\"id\":2,\"ok\":true,\"result\":{\"args\":{}}}\n");
	assert_int_equal(st->refused_too_large, 1);
	assert_int_equal(st->dropped_slow, 0);
	assert_true(st->buffered_peak < cap_client);
	assert_int_equal(st->buffered_bytes, 0);
	tc_close(&c);
	eph_ctl_server_close(s);
}

/*
 * Many clients ask for large answers and read none: what the server holds
 * stays under its total (plus the reserve for the busy errors) at every
 * pass; the answers that do not fit are refused with busy, the others
 * arrive whole.
 */
static void
test_many_large_answers_bounded(void **state)
{
	enum { N = 40, SIZE = 900000 };
	static struct tclient c[N];
	const struct eph_ctl_server_stats *st;
	struct eph_ctl_server *s;
	unsigned int ok = 0, busy = 0;

	cap_client = 1u << 20;
	cap_total = 4u << 20;
	s = open_server(NULL, 0, 0);
	st = eph_ctl_server_stats(s);
	for (int i = 0; i < N; i++) {
		char req[96];

		tc_connect(&c[i]);
		snprintf(req, sizeof(req), "{\"id\":%d,\"cmd\":\"big\",\"args\":{\"size\":%d}}\n", i,
			 SIZE);
		tc_send_str(&c[i], req);
	}
	for (int i = 0; i < 20; i++) {
		pump(s);
		assert_true(st->buffered_bytes <= cap_total + EPH_CTL_ERROR_RESERVE);
	}
	assert_int_equal(st->requests, N);
	assert_true(st->refused_busy > 0);
	assert_true(st->buffered_peak <= cap_total + EPH_CTL_ERROR_RESERVE);
	for (int i = 0; i < N; i++) {
		char *line = tc_line(s, &c[i]);
		json_t *o = parse_response(line);

		assert_int_equal(json_integer_value(json_object_get(o, "id")), i);
		if (json_is_true(json_object_get(o, "ok"))) {
			assert_int_equal(strlen(json_string_value(json_object_get(
						 json_object_get(o, "result"), "text"))),
					 SIZE);
			ok++;
		} else {
			assert_string_equal(error_code(o), "busy");
			busy++;
		}
		json_decref(o);
		free(line);
		assert_true(st->buffered_bytes <= cap_total + EPH_CTL_ERROR_RESERVE);
	}
	assert_int_equal(ok + busy, N);
	assert_int_equal(busy, st->refused_busy);
	assert_true(ok >= 4);
	assert_int_equal(st->dropped_slow, 0);
	assert_int_equal(st->buffered_bytes, 0);
	assert_true(st->buffered_peak <= cap_total + EPH_CTL_ERROR_RESERVE);
	for (int i = 0; i < N; i++)
		tc_close(&c[i]);
	eph_ctl_server_close(s);
}

/*
 * While a job runs, other clients are served; the job's own client gets
 * its answers in request order (the request after the job waits), and one
 * that stops sending after its request still gets its answer.
 */
static void
test_job_pending(void **state)
{
	struct eph_ctl_server *s = open_server(NULL, 0, 0);
	const struct eph_ctl_server_stats *st = eph_ctl_server_stats(s);
	struct tclient a, b, d;

	tc_connect(&a);
	tc_connect(&b);
	tc_send_str(&a, "{\"id\":1,\"cmd\":\"job\",\"args\":{\"id\":7,\"hold\":1000}}\n"
			"{\"id\":2,\"cmd\":\"echo\"}\n");
	for (int i = 0; i < 5; i++)
		pump(s);
	tc_recv(&a);
	assert_int_equal(a.len, 0);
	assert_int_equal(st->jobs, 1);
	assert_int_equal(st->buffered_bytes, 1000);
	assert_int_equal(echo_calls, 0);

	tc_send_str(&b, "{\"id\":3,\"cmd\":\"echo\"}\n");
	expect_line(s, &b, "{\"v\":1,\"id\":3,\"ok\":true,\"result\":{\"args\":{}}}\n");
	assert_int_equal(echo_calls, 1);
	tc_recv(&a);
	assert_int_equal(a.len, 0);

	job_worker_done = true;
	expect_line(s, &a, "{\"v\":1,\"id\":1,\"ok\":true,\"result\":{\"done\":7}}\n");
	expect_line(s, &a, "{\"v\":1,\"id\":2,\"ok\":true,\"result\":{\"args\":{}}}\n");
	assert_int_equal(st->jobs, 0);
	assert_int_equal(jobs_freed, 1);
	assert_int_equal(st->buffered_bytes, 0);

	/* Request, then EOF: answered before the server lets go. */
	job_worker_done = false;
	tc_connect(&d);
	tc_send_str(&d, "{\"id\":4,\"cmd\":\"job\",\"args\":{\"id\":8}}\n");
	assert_int_equal(shutdown(d.fd, SHUT_WR), 0);
	for (int i = 0; i < 5; i++)
		pump(s);
	job_worker_done = true;
	expect_line(s, &d, "{\"v\":1,\"id\":4,\"ok\":true,\"result\":{\"done\":8}}\n");
	expect_eof(s, &d);
	assert_int_equal(jobs_freed, 2);
	tc_close(&a);
	tc_close(&b);
	tc_close(&d);
	eph_ctl_server_close(s);
}

/*
 * The client leaves while its job runs: the job is kept, and counted,
 * until its worker lets go of it, then freed; one still held when the
 * server closes (the workers have stopped) is freed there.
 */
static void
test_job_client_leaves(void **state)
{
	struct eph_ctl_server *s = open_server(NULL, 0, 0);
	const struct eph_ctl_server_stats *st = eph_ctl_server_stats(s);
	struct tclient a;

	tc_connect(&a);
	tc_send_str(&a, "{\"id\":1,\"cmd\":\"job\",\"args\":{\"hold\":5000}}\n");
	for (int i = 0; i < 5; i++)
		pump(s);
	assert_int_equal(st->jobs, 1);
	tc_close(&a);
	for (int i = 0; i < 100 && st->clients > 0; i++)
		pump(s);
	assert_int_equal(st->clients, 0);
	assert_int_equal(st->jobs, 1);
	assert_int_equal(jobs_freed, 0);
	assert_int_equal(st->buffered_bytes, 5000);
	job_worker_done = true;
	pump(s);
	assert_int_equal(st->jobs, 0);
	assert_int_equal(jobs_freed, 1);
	assert_int_equal(st->buffered_bytes, 0);

	job_worker_done = false;
	tc_connect(&a);
	tc_send_str(&a, "{\"id\":2,\"cmd\":\"job\"}\n");
	for (int i = 0; i < 5 && st->jobs == 0; i++)
		pump(s);
	assert_int_equal(st->jobs, 1);
	eph_ctl_server_close(s);
	assert_int_equal(jobs_freed, 2);
	tc_close(&a);
}

/* What a job holds counts too: over the client's cap too-large, over the total busy. */
static void
test_job_over_caps(void **state)
{
	const struct eph_ctl_server_stats *st;
	struct eph_ctl_server *s;
	struct tclient a, b, c;

	cap_client = 1u << 20;
	cap_total = 5u << 19;
	s = open_server(NULL, 0, 0);
	st = eph_ctl_server_stats(s);
	tc_connect(&a);
	tc_send_str(&a, "{\"id\":1,\"cmd\":\"job\",\"args\":{\"hold\":2097152}}\n");
	expect_line(s, &a, "{\"v\":1,\"id\":1,\"ok\":false,\"error\":{\"code\":\"too-large\","
			   "\"message\":\"job needs 2097152 bytes, over the 1048576 a client may "
			   "use; ask for less (a filter, a lower limit)\"}}\n");
	assert_int_equal(jobs_freed, 1);
	tc_send_str(&a, "{\"id\":2,\"cmd\":\"job\",\"args\":{\"hold\":1048576}}\n");
	tc_connect(&b);
	tc_send_str(&b, "{\"id\":3,\"cmd\":\"job\",\"args\":{\"hold\":1048576}}\n");
	for (int i = 0; i < 5; i++)
		pump(s);
	assert_int_equal(st->jobs, 2);
	tc_connect(&c);
	tc_send_str(&c, "{\"id\":4,\"cmd\":\"job\",\"args\":{\"hold\":1048576}}\n");
	expect_line(s, &c, "{\"v\":1,\"id\":4,\"ok\":false,\"error\":{\"code\":\"busy\","
			   "\"message\":\"requests and answers of other clients fill the 2621440 "
			   "bytes the control socket may hold; try again shortly\"}}\n");
	assert_int_equal(st->refused_too_large, 1);
	assert_int_equal(st->refused_busy, 1);
	job_worker_done = true;
	expect_line(s, &a, "{\"v\":1,\"id\":2,\"ok\":true,\"result\":{\"done\":0}}\n");
	expect_line(s, &b, "{\"v\":1,\"id\":3,\"ok\":true,\"result\":{\"done\":0}}\n");
	assert_int_equal(st->buffered_bytes, 0);
	tc_close(&a);
	tc_close(&b);
	tc_close(&c);
	eph_ctl_server_close(s);
}

/* One poll handles at most EPH_CTL_POLL_REQUESTS, and a second client is not starved. */
static void
test_bounded_work(void **state)
{
	struct eph_ctl_server *s = open_server(NULL, 0, 0);
	const struct eph_ctl_server_stats *st = eph_ctl_server_stats(s);
	char burst[200 * 24 + 1], *p = burst;
	struct tclient a, b;
	char *line;

	for (int i = 0; i < 200; i++)
		p += sprintf(p, "{\"id\":%d,\"cmd\":\"echo\"}\n", i);
	tc_connect(&a);
	tc_send_str(&a, burst);
	tc_connect(&b);
	tc_send_str(&b, "{\"id\":\"b\",\"cmd\":\"echo\"}\n");

	pump(s);
	assert_int_equal(st->requests, EPH_CTL_POLL_REQUESTS);
	pump(s);
	assert_int_equal(st->requests, 2 * EPH_CTL_POLL_REQUESTS);
	/* b was served in the second pass, before a's backlog was done. */
	tc_recv(&b);
	line = tc_line(s, &b);
	assert_string_equal(line, "{\"v\":1,\"id\":\"b\",\"ok\":true,\"result\":{\"args\":{}}}\n");
	free(line);
	for (int i = 0; i < 200; i++) {
		char expected[80];

		snprintf(expected, sizeof(expected),
			 "{\"v\":1,\"id\":%d,\"ok\":true,\"result\":{\"args\":{}}}\n", i);
		expect_line(s, &a, expected);
	}
	assert_int_equal(st->requests, 201);
	tc_close(&a);
	tc_close(&b);
	eph_ctl_server_close(s);
}

static void
test_idle_timeout(void **state)
{
	struct eph_ctl_server *s = open_server(NULL, 0, 200);
	const struct eph_ctl_server_stats *st = eph_ctl_server_stats(s);
	struct tclient stalled, silent, busy;
	uint64_t t0 = 1000000;

	tc_connect(&stalled);
	tc_connect(&silent);
	tc_connect(&busy);
	tc_send_str(&stalled, "{\"cmd\":\"ec");
	eph_ctl_server_poll(s, t0);
	assert_int_equal(st->clients, 3);

	/* busy completes a request at t0 + 150: its clock restarts there. */
	eph_ctl_server_poll(s, t0 + 100);
	tc_send_str(&busy, "{\"cmd\":\"echo\"}\n");
	eph_ctl_server_poll(s, t0 + 150);
	tc_recv(&busy);
	assert_true(busy.len > 0);
	/* stalled keeps sending bytes, but never a whole line: that is no progress. */
	tc_send_str(&stalled, "ho\"");
	eph_ctl_server_poll(s, t0 + 190);
	eph_ctl_server_poll(s, t0 + 200);
	assert_int_equal(st->clients, 3);
	assert_int_equal(st->timed_out, 0);

	eph_ctl_server_poll(s, t0 + 211);
	assert_int_equal(st->timed_out, 2);
	assert_int_equal(st->clients, 1);
	tc_recv(&stalled);
	tc_recv(&silent);
	assert_true(stalled.eof);
	assert_int_equal(stalled.len, 0);
	assert_true(silent.eof);
	assert_false(busy.eof);

	eph_ctl_server_poll(s, t0 + 361);
	assert_int_equal(st->timed_out, 3);
	assert_int_equal(st->clients, 0);
	tc_recv(&busy);
	assert_true(busy.eof);
	tc_close(&stalled);
	tc_close(&silent);
	tc_close(&busy);
	eph_ctl_server_close(s);
}

static void
test_too_many_clients(void **state)
{
	enum { N = 300, MAX = 256 };
	struct eph_ctl_server *s = open_server(NULL, 0, 0);
	const struct eph_ctl_server_stats *st = eph_ctl_server_stats(s);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static struct tclient c[N];
	struct rlimit rl;
	unsigned int ok = 0, busy = 0;

	/* Both ends of 300 connections. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 2 * N + 64) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	/* All at once: the backlog (128) fills, and the server drains it as we go. */
	for (int i = 0; i < N; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(c[i].fd >= 0);
		while (connect(c[i].fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			if (errno != EAGAIN)
				fail_msg("connect %d: %s", i, strerror(errno));
			pump(s);
		}
	}
	for (int i = 0; i < N; i++) {
		char req[64];
		int n = snprintf(req, sizeof(req), "{\"id\":%d,\"cmd\":\"echo\"}\n", i);

		/* A client already turned away cannot send any more; that is fine. */
		if (send(c[i].fd, req, (size_t)n, MSG_NOSIGNAL) != n)
			assert_true(errno == EPIPE || errno == ECONNRESET);
	}
	for (int i = 0; i < N; i++) {
		char *line = tc_line(s, &c[i]);
		json_t *o = parse_response(line);

		if (json_is_true(json_object_get(o, "ok"))) {
			assert_int_equal(json_integer_value(json_object_get(o, "id")), i);
			ok++;
			/* Accepted in order: the first 256 are served. */
			assert_true(i < MAX);
		} else {
			assert_string_equal(error_code(o), "busy");
			assert_string_equal(
				json_string_value(json_object_get(json_object_get(o, "error"),
								  "message")),
				"the control socket serves at most 256 clients at once; try again "
				"shortly");
			busy++;
			expect_eof(s, &c[i]);
		}
		json_decref(o);
		free(line);
	}
	assert_int_equal(ok, MAX);
	assert_int_equal(busy, N - MAX);
	assert_int_equal(st->accepted, MAX);
	assert_int_equal(st->rejected_busy, N - MAX);
	assert_int_equal(st->clients, MAX);
	for (int i = 0; i < N; i++)
		tc_close(&c[i]);
	for (int i = 0; i < 100 && st->clients > 0; i++)
		pump(s);
	assert_int_equal(st->clients, 0);
	eph_ctl_server_close(s);
}

/* A client that pipelines and never reads is dropped at the cap; others carry on. */
static void
test_client_never_reads(void **state)
{
	struct eph_ctl_server *s = open_server(NULL, 0, 0);
	const struct eph_ctl_server_stats *st = eph_ctl_server_stats(s);
	char *req = echo_request_of(16384, 1);
	size_t req_len = strlen(req), total = 0, off = 0, received;
	struct tclient hog, other;
	char *line;

	tc_connect(&hog);
	while (st->dropped_slow == 0) {
		ssize_t n = send(hog.fd, req + off, req_len - off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			off += (size_t)n;
			total += (size_t)n;
			if (off == req_len)
				off = 0;
		} else if (n < 0 && errno != EAGAIN) {
			break;
		}
		pump(s);
		if (total > (64u << 20))
			fail_msg("still not dropped after %zu bytes of requests", total);
	}
	for (int i = 0; i < 10; i++)
		pump(s);
	assert_int_equal(st->dropped_slow, 1);
	assert_int_equal(st->clients, 0);
	/* Well past the cap in requests, yet what reached the hog is bounded by the cap. */
	assert_true(total > EPH_CTL_OUTPUT_CAP);
	while (!hog.eof && hog.error == 0)
		tc_recv(&hog);
	received = hog.len;
	assert_true(received < total);
	assert_int_equal(hog.error, 0);
	tc_close(&hog);
	free(req);

	tc_connect(&other);
	tc_send_str(&other, "{\"id\":2,\"cmd\":\"echo\"}\n");
	line = tc_line(s, &other);
	assert_string_equal(line, "{\"v\":1,\"id\":2,\"ok\":true,\"result\":{\"args\":{}}}\n");
	free(line);
	tc_close(&other);
	eph_ctl_server_close(s);
}

/* In a child: become uid 65534 (and gid, when gid != -1) and try to connect: errno or 0. */
static int
connect_as_nobody(gid_t gid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int status, fd;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || (gid != (gid_t)-1 && setgid(gid) != 0) ||
		    setuid(65534) != 0)
			_exit(100);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0)
			_exit(101);
		_exit(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
test_permissions(void **state)
{
	struct eph_ctl_server *s;
	struct group *daemon_grp;
	char dir[160];
	struct stat st;
	mode_t old;

	/* A restrictive umask changes nothing: the modes are set explicitly. */
	old = umask(077);
	s = open_server(NULL, 0, 0);
	umask(old);
	snprintf(dir, sizeof(dir), "%s/run/ephemera", tmpdir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(stat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(connect_as_nobody((gid_t)-1), EACCES);
	eph_ctl_server_close(s);

	daemon_grp = getgrnam("daemon");
	assert_non_null(daemon_grp);
	s = open_server("daemon", 0, 0);
	assert_int_equal(stat(sock_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, daemon_grp->gr_gid);
	/* In the group: let in. Not in it: refused by the kernel. */
	assert_int_equal(connect_as_nobody(daemon_grp->gr_gid), 0);
	assert_int_equal(connect_as_nobody((gid_t)-1), EACCES);
	eph_ctl_server_close(s);
}

static char *
open_error(const char *path, const char *group)
{
	const struct eph_ctl_server_conf conf = {
		.path = path, .group = group, .commands = commands, .n_commands = 1,
	};
	struct eph_ctl_server *s;
	size_t len = 0;
	char *out = NULL;
	FILE *err;

	err = open_memstream(&out, &len);
	assert_non_null(err);
	s = eph_ctl_server_open(&conf, err);
	fclose(err);
	assert_null(s);
	return out;
}

static void
test_open_errors(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char expected[512], file[160], longpath[200];
	struct eph_ctl_server *s;
	struct tclient c;
	char *msg;
	int fd;

	msg = open_error(sock_path, "no-such-group-eph");
	assert_string_equal(msg, "ephemera: error: control.group: no group named "
				 "\"no-such-group-eph\" on this system; create it (groupadd "
				 "no-such-group-eph) or leave control.group empty\n");
	free(msg);
	assert_int_equal(access(sock_path, F_OK), -1);

	/* A live server keeps its socket. */
	s = open_server(NULL, 0, 0);
	msg = open_error(sock_path, NULL);
	snprintf(expected, sizeof(expected),
		 "ephemera: error: another ephemera is serving %s; stop it first or choose another "
		 "control.socket\n", sock_path);
	assert_string_equal(msg, expected);
	free(msg);
	tc_connect(&c);
	tc_send_str(&c, "{\"cmd\":\"echo\"}\n");
	expect_line(s, &c, "{\"v\":1,\"id\":null,\"ok\":true,\"result\":{\"args\":{}}}\n");
	tc_close(&c);
	eph_ctl_server_close(s);

	/* A dead one's socket file is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(access(sock_path, F_OK), 0);
	s = open_server(NULL, 0, 0);
	tc_connect(&c);
	tc_send_str(&c, "{\"cmd\":\"echo\"}\n");
	expect_line(s, &c, "{\"v\":1,\"id\":null,\"ok\":true,\"result\":{\"args\":{}}}\n");
	tc_close(&c);
	eph_ctl_server_close(s);

	/* Anything else at the path is left alone. */
	snprintf(file, sizeof(file), "%s/not-a-socket", tmpdir);
	fd = open(file, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	msg = open_error(file, NULL);
	snprintf(expected, sizeof(expected),
		 "ephemera: error: control.socket: %s exists and is not a socket; remove it or "
		 "choose another path\n", file);
	assert_string_equal(msg, expected);
	free(msg);
	assert_int_equal(access(file, F_OK), 0);

	/* A file where a directory should be. */
	snprintf(longpath, sizeof(longpath), "%s/sock", file);
	msg = open_error(longpath, NULL);
	snprintf(expected, sizeof(expected),
		 "ephemera: error: control.socket: %s is not a directory\n", file);
	assert_string_equal(msg, expected);
	free(msg);

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	msg = open_error(longpath, NULL);
	snprintf(expected, sizeof(expected),
		 "ephemera: error: control.socket: \"%s\" is 199 bytes long; a Unix socket path "
		 "has at most 107\n", longpath);
	assert_string_equal(msg, expected);
	free(msg);

	msg = open_error("", NULL);
	assert_string_equal(msg, "ephemera: error: control.socket: expected a path, found \"\"\n");
	free(msg);
}

/* Directories on the way to the socket that others could write to, or a link: refused. */
static void
test_socket_dir_checks(void **state)
{
	char dir[80], target[80], path[100], expected[512];
	struct eph_ctl_server *s;
	char *msg;

	snprintf(dir, sizeof(dir), "%s/open", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	msg = open_error(path, NULL);
	snprintf(expected, sizeof(expected),
		 "ephemera: error: control.socket: directory %s is writable by everyone (mode "
		 "0777) and not sticky, so the socket could be replaced; chmod go-w it or choose "
		 "another directory\n", dir);
	assert_string_equal(msg, expected);
	free(msg);
	assert_int_equal(access(path, F_OK), -1);

	/* Further up counts too. */
	snprintf(path, sizeof(path), "%s/sub/ctl.sock", dir);
	msg = open_error(path, NULL);
	assert_string_equal(msg, expected);
	free(msg);

	assert_int_equal(chmod(dir, 0775), 0);
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	msg = open_error(path, NULL);
	snprintf(expected, sizeof(expected),
		 "ephemera: error: control.socket: directory %s is writable by its group (mode "
		 "0775) and not sticky, so the socket could be replaced; chmod go-w it or choose "
		 "another directory\n", dir);
	assert_string_equal(msg, expected);
	free(msg);

	/* Sticky, as /tmp: others cannot remove or rename what is ours. */
	assert_int_equal(chmod(dir, 01777), 0);
	snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", dir);
	s = open_server(NULL, 0, 0);
	eph_ctl_server_close(s);

	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(chown(dir, 65534, 65534), 0);
	msg = open_error(path, NULL);
	snprintf(expected, sizeof(expected),
		 "ephemera: error: control.socket: %s belongs to uid 65534, expected root or the "
		 "daemon's user (uid 0); choose a directory of theirs\n", dir);
	assert_string_equal(msg, expected);
	free(msg);

	snprintf(target, sizeof(target), "%s/real", tmpdir);
	assert_int_equal(mkdir(target, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/link", tmpdir);
	assert_int_equal(symlink(target, dir), 0);
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	msg = open_error(path, NULL);
	snprintf(expected, sizeof(expected),
		 "ephemera: error: control.socket: directory %s is a symbolic link; give the "
		 "directory's real path\n", dir);
	assert_string_equal(msg, expected);
	free(msg);
	snprintf(path, sizeof(path), "%s/ctl.sock", target);
	assert_int_equal(access(path, F_OK), -1);
}

/*
 * The socket appears at its path with its final group and mode: moved
 * there whole, never created there and then changed (inotify would see
 * IN_CREATE, then IN_ATTRIB for each chown and chmod).
 */
static void
test_socket_born_with_mode(void **state)
{
	char dir[80], buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct group *daemon_grp = getgrnam("daemon");
	unsigned int moved_in = 0;
	struct eph_ctl_server *s;
	struct stat st;
	ssize_t n;
	int fd, wd;

	assert_non_null(daemon_grp);
	snprintf(dir, sizeof(dir), "%s/run", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/run/ephemera", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(fd >= 0);
	wd = inotify_add_watch(fd, dir, IN_CREATE | IN_ATTRIB | IN_MOVED_TO);
	assert_true(wd >= 0);

	s = open_server("daemon", 0, 0);
	assert_int_equal(stat(sock_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_gid, daemon_grp->gr_gid);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->len > 0 && strcmp(ev->name, "ctl.sock") == 0) {
				if (ev->mask & (IN_CREATE | IN_ATTRIB))
					fail_msg("the socket was changed at its path (mask %#x)",
						 ev->mask);
				moved_in += (ev->mask & IN_MOVED_TO) != 0;
			}
			p += sizeof(*ev) + ev->len;
		}
	}
	assert_int_equal(moved_in, 1);
	close(fd);
	eph_ctl_server_close(s);
	assert_int_equal(access(sock_path, F_OK), -1);
}

/* metrics_http. */

static unsigned int renders;
static const char *render_text;

static char *
render(void *ctx)
{
	renders++;
	return render_text != NULL ? strdup(render_text) : NULL;
}

/* One HTTP exchange over TCP with h polled meanwhile: the whole response. */
static char *
http(struct eph_metrics_http *h, const char *request)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(eph_metrics_http_port(h)),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	uint64_t deadline = now_ms() + WAIT_MS;
	struct tclient c;

	memset(&c, 0, sizeof(c));
	c.fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c.fd >= 0);
	assert_int_equal(connect(c.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	tc_send_str(&c, request);
	while (!c.eof && c.error == 0) {
		if (now_ms() > deadline)
			fail_msg("no HTTP response within %d ms", WAIT_MS);
		eph_metrics_http_poll(h);
		tc_recv(&c);
	}
	assert_int_equal(c.error, 0);
	close(c.fd);
	c.buf = realloc(c.buf, c.len + 1);
	c.buf[c.len] = '\0';
	return c.buf;
}

static bool
has_header(const char *response, const char *header)
{
	const char *end = strstr(response, "\r\n\r\n");
	const char *p = strstr(response, header);

	return p != NULL && end != NULL && p < end && p[-1] == '\n';
}

static const char *
body(const char *response)
{
	const char *end = strstr(response, "\r\n\r\n");

	assert_non_null(end);
	return end + 4;
}

static void
test_metrics_http(void **state)
{
	static const char text[] = "# HELP ephemera_rx_packets_total Packets received.\n"
				   "# TYPE ephemera_rx_packets_total counter\n"
				   "ephemera_rx_packets_total 42\n";
	struct eph_metrics_http *h, *h2;
	char expected[256], *r, *msg = NULL;
	size_t msg_len = 0;
	FILE *err;

	h = eph_metrics_http_open(INADDR_LOOPBACK, 0, render, NULL, stderr);
	assert_non_null(h);
	assert_int_not_equal(eph_metrics_http_port(h), 0);

	render_text = text;
	renders = 0;
	r = http(h, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
	assert_memory_equal(r, "HTTP/1.1 200 OK\r\n", 17);
	assert_true(has_header(r, "Content-Type: text/plain; version=0.0.4\r\n"));
	snprintf(expected, sizeof(expected), "Content-Length: %zu\r\n", strlen(text));
	assert_true(has_header(r, expected));
	assert_string_equal(body(r), text);
	assert_int_equal(renders, 1);
	free(r);

	r = http(h, "GET /other HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
	assert_memory_equal(r, "HTTP/1.1 404 Not Found\r\n", 24);
	assert_string_equal(body(r), "not found: this server has only /metrics\n");
	free(r);

	r = http(h, "POST /metrics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n"
		    "Connection: close\r\n\r\n");
	assert_memory_equal(r, "HTTP/1.1 405 Method Not Allowed\r\n", 33);
	assert_true(has_header(r, "Allow: GET, HEAD\r\n"));
	free(r);
	assert_int_equal(renders, 1);

	render_text = NULL;
	r = http(h, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
	assert_memory_equal(r, "HTTP/1.1 500 Internal Server Error\r\n", 36);
	assert_string_equal(body(r), "metrics unavailable\n");
	free(r);

	/* The port is taken: a clear error. */
	err = open_memstream(&msg, &msg_len);
	h2 = eph_metrics_http_open(INADDR_LOOPBACK, eph_metrics_http_port(h), render, NULL, err);
	fclose(err);
	assert_null(h2);
	snprintf(expected, sizeof(expected),
		 "ephemera: error: metrics: cannot serve http://127.0.0.1:%u/metrics: ",
		 eph_metrics_http_port(h));
	assert_memory_equal(msg, expected, strlen(expected));
	assert_non_null(strstr(msg, "Address already in use"));
	free(msg);
	eph_metrics_http_close(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_then_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_command_and_contract, setup, teardown),
		cmocka_unit_test_setup_teardown(test_help, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_over_client_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_large_answers_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_client_leaves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_over_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_work, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_never_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_dir_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_born_with_mode, setup, teardown),
		cmocka_unit_test(test_metrics_http),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, 0, NULL);
}

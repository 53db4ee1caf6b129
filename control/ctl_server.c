/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket server (see ctl_server.h). Level-triggered epoll,
 * polled with a zero timeout from the control loop. Each client has an
 * input buffer holding at most one line plus its newline, and an output
 * buffer of response lines not yet taken by the kernel. Work per poll is
 * bounded (events, accepts, requests) so that a flood of clients cannot
 * starve the neighbour timers running in the same loop; clients with
 * complete lines left over are served first-come on the next pass.
 *
 * A client is closed when it finishes (EOF and every answer written),
 * sends a line over EPH_CTL_MAX_LINE (after the too-large answer), would
 * leave more than its output cap unread, or makes no progress (no complete
 * request, nothing written) for idle_timeout_ms while no job of its runs.
 *
 * A command that needs the workers starts a job and the client waits for
 * it: each pass polls every running job, so the loop never blocks on a
 * worker, and the client's later requests stay unread until it is
 * answered, which keeps the answers in request order. A job whose client
 * leaves, or that answered before its workers finished (deadline), stays
 * on the orphans list until its workers let go of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_log.h>

#include "control/ctl_server.h"

RTE_LOG_REGISTER(eph_ctl_logtype, user.ephemera.ctl, NOTICE);

#define CTL_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, eph_ctl_logtype, "ephemera: ctl: " fmt "\n", ##__VA_ARGS__)

#define LISTEN_BACKLOG    512 /* a burst beyond max-clients waits to be told "busy" */
#define EVENTS_PER_POLL   64
#define ACCEPTS_PER_POLL  64
#define SWEEP_INTERVAL_MS 10
#define IN_INITIAL        4096
#define IN_MAX            (EPH_CTL_MAX_LINE + 1) /* one full line and its newline */
#define DRAIN_MAX         (1u << 20)

/* Sent when even the error line cannot be built. */
static const char oom_line[] = "{\"v\":1,\"id\":null,\"ok\":false,\"error\":{\"code\":\"internal\","
			       "\"message\":\"the daemon is out of memory\"}}\n";

struct ctl_client {
	int fd;
	uint32_t events; /* epoll interest registered now */
	unsigned int slot;
	uid_t uid;
	pid_t pid;
	uint64_t last_active_ms; /* accepted, request answered or bytes written */

	char *in;
	size_t in_off;  /* start of the line being assembled */
	size_t in_len;
	size_t in_scan; /* in[in_off..in_scan) holds no newline */
	size_t in_cap;

	char *out;
	size_t out_off; /* written up to here */
	size_t out_len;
	size_t out_cap;

	struct eph_ctl_job *job; /* running for this client's oldest unanswered request */
	json_t *job_id;          /* that request's id (reference held) */
	char job_cmd[EPH_CTL_CMD_MAX + 1];

	bool eof;     /* the peer has finished sending */
	bool closing; /* too-large answered: close once it is written */
	bool dead;    /* closed; freed at the end of the pass */
	struct ctl_client *next_dead;
};

struct eph_ctl_server {
	int listen_fd;
	int epfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev; /* the socket file we created, so that close removes only ours */
	ino_t ino;

	const struct eph_ctl_command *commands;
	unsigned int n_commands;
	void *ctx;
	unsigned int max_clients;
	uint64_t idle_timeout_ms;
	size_t output_cap;   /* unread answer bytes one client may have */
	size_t output_total; /* answer bytes and job memory, all clients */

	struct ctl_client **clients; /* max_clients slots */
	unsigned int next_served;    /* slot served first on the next pass */
	uint64_t next_sweep_ms;
	struct ctl_client *dead;
	struct eph_ctl_job *orphans; /* answered or abandoned, a worker still holding them */
	struct eph_ctl_server_stats stats;
};

static size_t
out_pending(const struct ctl_client *c)
{
	return c->out_len - c->out_off;
}

static void
buffered_add(struct eph_ctl_server *s, size_t n)
{
	s->stats.buffered_bytes += n;
	if (s->stats.buffered_bytes > s->stats.buffered_peak)
		s->stats.buffered_peak = s->stats.buffered_bytes;
}

static void
buffered_sub(struct eph_ctl_server *s, size_t n)
{
	s->stats.buffered_bytes -= n;
}

/* Free the job, or keep it on the orphans list while a worker may write into it. */
static void
job_drop(struct eph_ctl_server *s, struct eph_ctl_job *job)
{
	size_t bytes = job->bytes;

	if (job->release(job, false)) {
		buffered_sub(s, bytes);
		s->stats.jobs--;
		return;
	}
	job->next_orphan = s->orphans;
	s->orphans = job;
}

/* Free the orphans their workers let go of (force: all of them, the workers stopped). */
static void
reap_orphans(struct eph_ctl_server *s, bool force)
{
	struct eph_ctl_job **pp = &s->orphans;

	while (*pp != NULL) {
		struct eph_ctl_job *job = *pp;
		struct eph_ctl_job *next = job->next_orphan;
		size_t bytes = job->bytes;

		if (!job->release(job, force)) {
			pp = &job->next_orphan;
			continue;
		}
		*pp = next;
		buffered_sub(s, bytes);
		s->stats.jobs--;
	}
}

/*
 * Close without leaving the peer an ECONNRESET: a Unix socket closed with
 * unread input resets its peer, which would hide our last answer behind
 * an error. Shutting the read side first makes the peer's further writes
 * fail, so the drain ends.
 */
static void
close_quietly(int fd)
{
	static char sink[16384];
	size_t drained = 0;
	ssize_t n;

	shutdown(fd, SHUT_RD);
	while (drained < DRAIN_MAX) {
		n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n <= 0)
			break;
		drained += (size_t)n;
	}
	close(fd);
}

static void
close_client(struct eph_ctl_server *s, struct ctl_client *c)
{
	if (c->dead)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close_quietly(c->fd);
	c->fd = -1;
	buffered_sub(s, out_pending(c));
	c->out_off = c->out_len = 0;
	/* A worker may still be writing into the job: it waits on the orphans list. */
	if (c->job != NULL) {
		job_drop(s, c->job);
		c->job = NULL;
		json_decref(c->job_id);
		c->job_id = NULL;
	}
	c->dead = true;
	s->clients[c->slot] = NULL;
	s->stats.clients--;
	c->next_dead = s->dead;
	s->dead = c;
}

static void
free_dead(struct eph_ctl_server *s)
{
	while (s->dead != NULL) {
		struct ctl_client *c = s->dead;

		s->dead = c->next_dead;
		free(c->in);
		free(c->out);
		free(c);
	}
}

/* Ask epoll for input while there is room for it, for output while some is queued. */
static void
update_interest(struct eph_ctl_server *s, struct ctl_client *c)
{
	struct epoll_event ev = { .data.ptr = c };
	uint32_t want = 0;

	if (c->dead)
		return;
	if (!c->eof && !c->closing && c->in_len - c->in_off < IN_MAX)
		want |= EPOLLIN;
	if (out_pending(c) > 0)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	ev.events = want;
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = want;
}

/* Write what the socket takes. */
static void
flush_client(struct eph_ctl_server *s, struct ctl_client *c, uint64_t now_ms)
{
	while (out_pending(c) > 0) {
		ssize_t n = send(c->fd, c->out + c->out_off, out_pending(c),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			c->out_off += (size_t)n;
			buffered_sub(s, (size_t)n);
			c->last_active_ms = now_ms;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* EPIPE, ECONNRESET: nobody is reading any more. */
		CTL_LOG(DEBUG, "uid %u pid %d: write: %s", (unsigned int)c->uid, (int)c->pid,
			n < 0 ? strerror(errno) : "no progress");
		close_client(s, c);
		return;
	}
	if (out_pending(c) == 0)
		c->out_off = c->out_len = 0;
}

/* Close the client once it has nothing more to say or to hear. */
static void
finish_if_done(struct eph_ctl_server *s, struct ctl_client *c)
{
	if (c->dead || out_pending(c) > 0 || c->job != NULL)
		return;
	if (c->closing || (c->eof && c->in_off == c->in_len))
		close_client(s, c);
}

/*
 * Append one response line (freeing it). A client that would have more
 * than its cap unread is not reading: it is dropped. The caps were
 * checked by send_answer; what comes here directly is short (errors).
 */
static void
queue_line(struct eph_ctl_server *s, struct ctl_client *c, char *line, uint64_t now_ms)
{
	const char *text = line != NULL ? line : oom_line;
	size_t len = strlen(text);

	if (out_pending(c) + len > s->output_cap) {
		flush_client(s, c, now_ms);
		if (!c->dead && out_pending(c) + len > s->output_cap) {
			CTL_LOG(DEBUG, "uid %u pid %d: %zu bytes unread, dropped",
				(unsigned int)c->uid, (int)c->pid, out_pending(c));
			s->stats.dropped_slow++;
			close_client(s, c);
		}
	}
	if (c->dead)
		goto out;
	/* Even the short errors that refuse answers have a bound, past the total. */
	if (s->stats.buffered_bytes + len > s->output_total + EPH_CTL_ERROR_RESERVE) {
		CTL_LOG(DEBUG, "uid %u pid %d: no room even for an error line, closed",
			(unsigned int)c->uid, (int)c->pid);
		s->stats.refused_busy++;
		close_client(s, c);
		goto out;
	}
	if (c->out_off > 0 && c->out_len + len > c->out_cap) {
		memmove(c->out, c->out + c->out_off, out_pending(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap > 0 ? c->out_cap * 2 : 4096;
		char *p;

		while (cap < c->out_len + len)
			cap *= 2;
		p = realloc(c->out, cap);
		if (p == NULL) {
			close_client(s, c);
			goto out;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, text, len);
	c->out_len += len;
	buffered_add(s, len);
out:
	free(line);
}

/*
 * Queue an answer if the caps allow it: one over the client's cap is
 * replaced by too-large, one that would take every client's answers over
 * the total by busy, so memory stays bounded however large the answers
 * asked for and however many clients ask.
 */
static void
send_answer(struct eph_ctl_server *s, struct ctl_client *c, const json_t *id, char *line,
	    bool ok, uint64_t now_ms)
{
	size_t len = line != NULL ? strlen(line) : 0;
	struct eph_ctl_error err;

	if (len > s->output_cap) {
		eph_ctl_errorf(&err, EPH_CTL_E_TOO_LARGE,
			       "the answer is %zu bytes, over the %zu a client may be sent at once; "
			       "ask for less (a filter, a lower limit)", len, s->output_cap);
		s->stats.refused_too_large++;
	} else if (s->stats.buffered_bytes + len > s->output_total) {
		eph_ctl_errorf(&err, EPH_CTL_E_BUSY,
			       "answers waiting for other clients fill the %zu bytes the control "
			       "socket may hold; try again shortly", s->output_total);
		s->stats.refused_busy++;
	} else {
		queue_line(s, c, line, now_ms);
		return;
	}
	CTL_LOG(DEBUG, "uid %u pid %d: %s", (unsigned int)c->uid, (int)c->pid, err.message);
	/* An error answer replaced by another is still one error. */
	if (ok)
		s->stats.errors++;
	free(line);
	queue_line(s, c, eph_ctl_response_error(id, &err), now_ms);
}

static const struct eph_ctl_command *
find_command(const struct eph_ctl_server *s, const char *name)
{
	for (unsigned int i = 0; i < s->n_commands; i++)
		if (strcmp(s->commands[i].name, name) == 0)
			return &s->commands[i];
	return NULL;
}

/* Built-in "help", unless the table brings its own. */
static int
help(const struct eph_ctl_server *s, const json_t *args, json_t **result,
     struct eph_ctl_error *err)
{
	static const char *const no_args[] = { NULL };
	json_t *list;
	int rc = 0;

	if (eph_ctl_args_allowed(args, no_args, err) != 0)
		return -1;
	list = json_array();
	if (list == NULL)
		goto oom;
	for (unsigned int i = 0; i < s->n_commands; i++)
		rc |= json_array_append_new(list, json_pack("{s:s, s:s}", "name",
							     s->commands[i].name, "summary",
							     s->commands[i].summary != NULL ?
								     s->commands[i].summary : ""));
	rc |= json_array_append_new(list, json_pack("{s:s, s:s}", "name", "help", "summary",
						    "list the commands and what each does"));
	*result = json_pack("{s:o}", "commands", list);
	if (rc != 0 || *result == NULL) {
		json_decref(*result);
		*result = NULL;
		goto oom;
	}
	return 0;
oom:
	eph_ctl_errorf(err, EPH_CTL_E_INTERNAL, "out of memory listing the commands");
	return -1;
}

/* Queue the answer to cmd: result when rc is 0, else the error in err. */
static void
answer(struct eph_ctl_server *s, struct ctl_client *c, const char *cmd, const json_t *id, int rc,
       json_t *result, struct eph_ctl_error *err, uint64_t now_ms)
{
	if (rc == 0 && (result == NULL || !json_is_object(result))) {
		json_decref(result);
		eph_ctl_errorf(err, EPH_CTL_E_INTERNAL, "%s returned no result object", cmd);
		rc = -1;
	} else if (rc != 0) {
		json_decref(result);
		if (err->code[0] == '\0')
			eph_ctl_errorf(err, EPH_CTL_E_INTERNAL, "%s failed without saying why", cmd);
	}
	if (rc == 0) {
		CTL_LOG(DEBUG, "uid %u pid %d: %s: ok", (unsigned int)c->uid, (int)c->pid, cmd);
		send_answer(s, c, id, eph_ctl_response_ok(id, result), true, now_ms);
		return;
	}
	s->stats.errors++;
	CTL_LOG(DEBUG, "uid %u pid %d: %s: %s: %s", (unsigned int)c->uid, (int)c->pid,
		cmd[0] != '\0' ? cmd : "(no command)", err->code, err->message);
	send_answer(s, c, id, eph_ctl_response_error(id, err), false, now_ms);
}

/* Poll c's job; once it has answered, queue the answer and let the job go. */
static void
poll_job(struct eph_ctl_server *s, struct ctl_client *c, uint64_t now_ms)
{
	struct eph_ctl_error err;
	json_t *result = NULL, *id;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = c->job->poll(c->job, now_ms, &result, &err);
	if (rc == EPH_CTL_PENDING)
		return;
	job_drop(s, c->job);
	c->job = NULL;
	id = c->job_id;
	c->job_id = NULL;
	c->last_active_ms = now_ms;
	answer(s, c, c->job_cmd, id, rc, result, &err, now_ms);
	json_decref(id);
}

/*
 * Take over a job a command started for c's request, if the caps leave
 * room for what it holds: EPH_CTL_PENDING, or -1 with err (job let go).
 */
static int
job_start(struct eph_ctl_server *s, struct ctl_client *c, struct eph_ctl_job *job,
	  const struct eph_ctl_request *req, struct eph_ctl_error *err)
{
	size_t bytes = job->bytes;

	if (bytes > s->output_cap) {
		eph_ctl_errorf(err, EPH_CTL_E_TOO_LARGE,
			       "%s needs %zu bytes, over the %zu a client may use; ask for less (a "
			       "filter, a lower limit)", req->cmd, bytes, s->output_cap);
		s->stats.refused_too_large++;
	} else if (s->stats.buffered_bytes + bytes > s->output_total) {
		eph_ctl_errorf(err, EPH_CTL_E_BUSY,
			       "requests and answers of other clients fill the %zu bytes the control "
			       "socket may hold; try again shortly", s->output_total);
		s->stats.refused_busy++;
	}
	if (err->code[0] != '\0') {
		/* Never polled, so no worker has it: it goes at once, counted nowhere. */
		if (!job->release(job, false)) {
			buffered_add(s, bytes);
			s->stats.jobs++;
			job->next_orphan = s->orphans;
			s->orphans = job;
		}
		return -1;
	}
	buffered_add(s, bytes);
	s->stats.jobs++;
	c->job = job;
	c->job_id = json_incref(req->id);
	snprintf(c->job_cmd, sizeof(c->job_cmd), "%s", req->cmd);
	return EPH_CTL_PENDING;
}

/* Answer one request line, or start the job that will. */
static void
handle_line(struct eph_ctl_server *s, struct ctl_client *c, const char *line, size_t len,
	    uint64_t now_ms)
{
	const struct eph_ctl_command *cmd = NULL;
	struct eph_ctl_job *job = NULL;
	struct eph_ctl_request req;
	struct eph_ctl_error err;
	json_t *result = NULL;
	int rc;

	s->stats.requests++;
	c->last_active_ms = now_ms;
	memset(&err, 0, sizeof(err));
	if (eph_ctl_parse_request(line, len, &req, &err) != 0) {
		rc = -1;
	} else if ((cmd = find_command(s, req.cmd)) != NULL && cmd->start != NULL) {
		rc = cmd->start(s->ctx, req.args, &job, &result, &err);
	} else if (cmd != NULL) {
		rc = cmd->fn(s->ctx, req.args, &result, &err);
	} else if (strcmp(req.cmd, "help") == 0) {
		rc = help(s, req.args, &result, &err);
	} else {
		eph_ctl_errorf(&err, EPH_CTL_E_UNKNOWN_COMMAND,
			       "unknown command \"%s\"; \"help\" lists the commands", req.cmd);
		rc = -1;
	}
	if (rc == EPH_CTL_PENDING && job == NULL) {
		eph_ctl_errorf(&err, EPH_CTL_E_INTERNAL, "%s started nothing", req.cmd);
		rc = -1;
	} else if (rc == EPH_CTL_PENDING) {
		rc = job_start(s, c, job, &req, &err);
	}
	if (rc == EPH_CTL_PENDING)
		poll_job(s, c, now_ms); /* it may be done already */
	else
		answer(s, c, req.cmd, req.id, rc, result, &err, now_ms);
	eph_ctl_request_release(&req);
}

/* Answer too-large and stop listening: what follows would be the rest of that line. */
static void
reject_too_large(struct eph_ctl_server *s, struct ctl_client *c, uint64_t now_ms)
{
	struct eph_ctl_error err;

	eph_ctl_errorf(&err, EPH_CTL_E_TOO_LARGE,
		       "request longer than %d bytes; send one request per line", EPH_CTL_MAX_LINE);
	s->stats.requests++;
	s->stats.errors++;
	s->stats.too_large++;
	CTL_LOG(DEBUG, "uid %u pid %d: %s", (unsigned int)c->uid, (int)c->pid, err.message);
	c->closing = true;
	c->in_off = c->in_len = c->in_scan = 0;
	shutdown(c->fd, SHUT_RD);
	queue_line(s, c, eph_ctl_response_error(NULL, &err), now_ms);
}

static bool
blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* Handle the complete lines buffered, at most *budget of them. */
static void
serve_client(struct eph_ctl_server *s, struct ctl_client *c, uint64_t now_ms,
	     unsigned int *budget)
{
	while (*budget > 0 && !c->dead && !c->closing && c->job == NULL) {
		char *start = c->in + c->in_off;
		char *nl = memchr(c->in + c->in_scan, '\n', c->in_len - c->in_scan);
		size_t len, used;

		if (nl == NULL) {
			c->in_scan = c->in_len;
			len = c->in_len - c->in_off;
			if (len > EPH_CTL_MAX_LINE) {
				reject_too_large(s, c, now_ms);
				break;
			}
			/* A last request without its newline is still a request. */
			if (!c->eof || len == 0)
				break;
			used = len;
		} else {
			len = (size_t)(nl - start);
			if (len > EPH_CTL_MAX_LINE) {
				reject_too_large(s, c, now_ms);
				break;
			}
			used = len + 1;
		}
		c->in_off += used;
		c->in_scan = c->in_off;
		if (blank(start, len))
			continue;
		handle_line(s, c, start, len, now_ms);
		(*budget)--;
	}
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = c->in_scan = 0;
	if (!c->dead && out_pending(c) > 0)
		flush_client(s, c, now_ms);
	finish_if_done(s, c);
	update_interest(s, c);
}

/* Complete lines not handled yet, or a last line ended by EOF. */
static bool
has_work(const struct ctl_client *c)
{
	return !c->dead && !c->closing && c->job == NULL &&
	       (c->in_scan < c->in_len || (c->eof && c->in_len > 0));
}

/* Read what has arrived, up to a full buffer. */
static void
read_client(struct eph_ctl_server *s, struct ctl_client *c)
{
	if (c->eof || c->closing)
		return;
	if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_scan -= c->in_off;
		c->in_off = 0;
	}
	for (;;) {
		ssize_t n;

		if (c->in_len == c->in_cap) {
			size_t cap = c->in_cap == 0 ? IN_INITIAL : c->in_cap * 2;
			char *p;

			if (c->in_cap == IN_MAX)
				break;
			if (cap > IN_MAX)
				cap = IN_MAX;
			p = realloc(c->in, cap);
			if (p == NULL) {
				close_client(s, c);
				return;
			}
			c->in = p;
			c->in_cap = cap;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
		if (n > 0) {
			c->in_len += (size_t)n;
			continue;
		}
		if (n == 0) {
			c->eof = true;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		CTL_LOG(DEBUG, "uid %u pid %d: read: %s", (unsigned int)c->uid, (int)c->pid,
			strerror(errno));
		close_client(s, c);
		return;
	}
}

/* Turn away a client over max_clients with one "busy" line. */
static void
reject_busy(struct eph_ctl_server *s, int fd)
{
	struct eph_ctl_error err;
	const char *text;
	char *line;

	eph_ctl_errorf(&err, EPH_CTL_E_BUSY,
		       "the control socket serves at most %u clients at once; try again shortly",
		       s->max_clients);
	line = eph_ctl_response_error(NULL, &err);
	text = line != NULL ? line : oom_line;
	/* A fresh socket's buffer is empty: this one short line fits. */
	if (send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		CTL_LOG(DEBUG, "busy answer not sent: %s", strerror(errno));
	free(line);
	close_quietly(fd);
	s->stats.rejected_busy++;
}

static void
accept_clients(struct eph_ctl_server *s, uint64_t now_ms)
{
	for (unsigned int i = 0; i < ACCEPTS_PER_POLL; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct ucred cred = { .pid = 0, .uid = (uid_t)-1 };
		socklen_t cred_len = sizeof(cred);
		struct ctl_client *c;
		unsigned int slot;
		int fd;

		fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				CTL_LOG(DEBUG, "accept: %s", strerror(errno));
			return;
		}
		if (s->stats.clients >= s->max_clients) {
			reject_busy(s, fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		for (slot = 0; s->clients[slot] != NULL; slot++)
			;
		c->fd = fd;
		c->slot = slot;
		c->events = EPOLLIN;
		c->last_active_ms = now_ms;
		/* Only for the log: the socket file's mode decides who gets this far. */
		getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len);
		c->uid = cred.uid;
		c->pid = cred.pid;
		ev.data.ptr = c;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		s->clients[slot] = c;
		s->stats.clients++;
		s->stats.accepted++;
		CTL_LOG(DEBUG, "uid %u pid %d: connected", (unsigned int)c->uid, (int)c->pid);
		/* Requests usually arrive with the connection: read them now. */
		read_client(s, c);
		finish_if_done(s, c);
		update_interest(s, c);
	}
}

static void
expire_idle(struct eph_ctl_server *s, uint64_t now_ms)
{
	s->next_sweep_ms = now_ms + SWEEP_INTERVAL_MS;
	for (unsigned int i = 0; i < s->max_clients; i++) {
		struct ctl_client *c = s->clients[i];

		/* Waiting for its job is not idling: the job has its own deadline. */
		if (c == NULL || c->job != NULL || now_ms <= c->last_active_ms ||
		    now_ms - c->last_active_ms <= s->idle_timeout_ms)
			continue;
		CTL_LOG(DEBUG, "uid %u pid %d: idle for %" PRIu64 " ms, closed",
			(unsigned int)c->uid, (int)c->pid, now_ms - c->last_active_ms);
		s->stats.timed_out++;
		close_client(s, c);
	}
}

void
eph_ctl_server_poll(struct eph_ctl_server *s, uint64_t now_ms)
{
	struct epoll_event events[EVENTS_PER_POLL];
	unsigned int budget = EPH_CTL_POLL_REQUESTS;
	int n;

	n = epoll_wait(s->epfd, events, EVENTS_PER_POLL, 0);
	for (int i = 0; i < n; i++) {
		struct ctl_client *c = events[i].data.ptr;
		uint32_t ev = events[i].events;

		if (c == NULL) {
			accept_clients(s, now_ms);
			continue;
		}
		if (c->dead)
			continue;
		if (ev & EPOLLERR) {
			close_client(s, c);
			continue;
		}
		/*
		 * Hung up both ways (not merely done sending): no one is left to
		 * answer, so a job it waits for is let go at once.
		 */
		if ((ev & EPOLLHUP) && c->job != NULL) {
			close_client(s, c);
			continue;
		}
		if (ev & (EPOLLIN | EPOLLHUP))
			read_client(s, c);
		if (!c->dead && (ev & (EPOLLOUT | EPOLLHUP)) && out_pending(c) > 0)
			flush_client(s, c, now_ms);
		if (!c->dead) {
			finish_if_done(s, c);
			update_interest(s, c);
		}
	}

	/* Jobs first: a client answered now may go on with its next request below. */
	for (unsigned int slot = 0; s->stats.jobs > 0 && slot < s->max_clients; slot++) {
		struct ctl_client *c = s->clients[slot];

		if (c == NULL || c->job == NULL)
			continue;
		poll_job(s, c, now_ms);
		if (!c->dead && out_pending(c) > 0)
			flush_client(s, c, now_ms);
		if (!c->dead) {
			finish_if_done(s, c);
			update_interest(s, c);
		}
	}
	if (s->orphans != NULL)
		reap_orphans(s, false);

	/* Round robin over clients with lines waiting, from where the last pass stopped. */
	for (unsigned int k = 0; s->stats.clients > 0 && k < s->max_clients && budget > 0; k++) {
		unsigned int slot = (s->next_served + k) % s->max_clients;
		struct ctl_client *c = s->clients[slot];

		if (c == NULL || !has_work(c))
			continue;
		serve_client(s, c, now_ms, &budget);
		if (budget == 0)
			s->next_served = (slot + 1) % s->max_clients;
	}

	if (now_ms >= s->next_sweep_ms)
		expire_idle(s, now_ms);
	free_dead(s);
}

const struct eph_ctl_server_stats *
eph_ctl_server_stats(const struct eph_ctl_server *s)
{
	return &s->stats;
}

/* mkdir -p of path's directory; directories we create get 0755 whatever the umask. */
static int
make_parent_dir(const char *path, FILE *err)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) == 0) {
			chmod(dir, 0755);
		} else if (errno != EEXIST) {
			fprintf(err,
				"ephemera: error: control.socket: cannot create directory %s: %s\n",
				dir, strerror(errno));
			return -1;
		}
		if (last)
			break;
		*p = '/';
	}
	return 0;
}

/* One directory of check_socket_dirs; last: the socket's own. */
static int
check_socket_dir(const char *dir, bool last, uid_t me, FILE *err)
{
	struct stat st;

	if (lstat(dir, &st) != 0) {
		fprintf(err, "ephemera: error: control.socket: cannot inspect %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		if (last) {
			fprintf(err, "ephemera: error: control.socket: directory %s is a symbolic "
				     "link; give the directory's real path\n", dir);
			return -1;
		}
		if ((st.st_uid != 0 && st.st_uid != me) || stat(dir, &st) != 0)
			goto not_ours;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(err, "ephemera: error: control.socket: %s is not a directory\n", dir);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != me)
		goto not_ours;
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
		fprintf(err, "ephemera: error: control.socket: directory %s is writable by %s "
			     "(mode %04o) and not sticky, so the socket could be replaced; chmod "
			     "go-w it or choose another directory\n", dir,
			(st.st_mode & S_IWOTH) != 0 ? "everyone" : "its group",
			(unsigned int)(st.st_mode & 07777));
		return -1;
	}
	return 0;
not_ours:
	fprintf(err, "ephemera: error: control.socket: %s belongs to uid %u, expected root or "
		     "the daemon's user (uid %u); choose a directory of theirs\n", dir,
		(unsigned int)st.st_uid, (unsigned int)me);
	return -1;
}

/*
 * Whoever may write to a directory on the way to the socket may swap the
 * socket, or the directory holding it, for one of their own, and so
 * receive the operators' commands or answer them. Every directory from /
 * down must belong to root or to us and be writable by no one else unless
 * sticky (as /tmp, where others may not remove or rename what is ours).
 * The socket's own directory may not be a symbolic link; a link further
 * up is followed when root or we own it.
 */
static int
check_socket_dirs(const char *path, FILE *err)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uid_t me = geteuid();
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return 0; /* relative: the configuration asks for absolute paths */
	slash[slash == dir ? 1 : 0] = '\0';
	if (dir[1] != '\0' && check_socket_dir("/", false, me, err) != 0)
		return -1;
	for (size_t i = 1;; i++) {
		char c = dir[i];
		int rc;

		if (c != '/' && c != '\0')
			continue;
		dir[i] = '\0';
		rc = check_socket_dir(i == 1 && c == '\0' ? "/" : dir, c == '\0', me, err);
		dir[i] = c;
		if (rc != 0)
			return -1;
		if (c == '\0')
			return 0;
	}
}

/*
 * A socket file left by a daemon that died is removed; one that a live
 * process answers on is not, nor anything that is not a socket.
 */
static int
clear_stale_socket(const struct sockaddr_un *sa, FILE *err)
{
	struct stat st;
	int fd, rc;

	if (lstat(sa->sun_path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(err, "ephemera: error: control.socket: cannot inspect %s: %s\n",
			sa->sun_path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(err, "ephemera: error: control.socket: %s exists and is not a socket; "
			     "remove it or choose another path\n", sa->sun_path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(err, "ephemera: error: control.socket: socket: %s\n", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	/* EAGAIN: a listener with a full backlog is alive too. */
	if (rc == 0 || errno == EAGAIN) {
		close(fd);
		fprintf(err, "ephemera: error: another ephemera is serving %s; stop it first or "
			     "choose another control.socket\n", sa->sun_path);
		return -1;
	}
	close(fd);
	if (errno != ECONNREFUSED && errno != ENOENT) {
		fprintf(err, "ephemera: error: control.socket: cannot check whether %s is in use: "
			     "%s\n", sa->sun_path, strerror(errno));
		return -1;
	}
	if (unlink(sa->sun_path) != 0 && errno != ENOENT) {
		fprintf(err, "ephemera: error: control.socket: cannot remove the stale socket %s: "
			     "%s\n", sa->sun_path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
lookup_group(const char *name, gid_t *gid, FILE *err)
{
	struct group grp, *found = NULL;
	size_t size = 4096;
	char *buf = NULL;
	int rc;

	do {
		char *p = realloc(buf, size);

		if (p == NULL) {
			rc = ENOMEM;
			break;
		}
		buf = p;
		rc = getgrnam_r(name, &grp, buf, size, &found);
		size *= 2;
	} while (rc == ERANGE && size <= (1u << 20));
	if (found != NULL)
		*gid = grp.gr_gid;
	free(buf);
	if (found != NULL)
		return 0;
	if (rc == 0 || rc == ENOENT)
		fprintf(err, "ephemera: error: control.group: no group named \"%s\" on this "
			     "system; create it (groupadd %s) or leave control.group empty\n",
			name, name);
	else
		fprintf(err, "ephemera: error: control.group: cannot look up \"%s\": %s\n", name,
			strerror(rc));
	return -1;
}

/*
 * Bind the listening socket at sa's path with its final owner, group and
 * mode from the first instant it is there: bound in a private directory
 * beside it (0700: no one else can reach or swap it meanwhile), given its
 * group and mode, then renamed into place, never over an existing file.
 * Chown and chmod by the final path would leave a moment in which the
 * socket is reachable with other permissions.
 */
static int
bind_in_place(struct eph_ctl_server *s, const struct sockaddr_un *sa, const char *group,
	      gid_t gid, FILE *err)
{
	struct sockaddr_un staged = { .sun_family = AF_UNIX };
	char dir[sizeof(staged.sun_path)];
	mode_t mode = group != NULL ? 0660 : 0600;
	const char *slash = strrchr(sa->sun_path, '/');
	size_t dir_len = slash != NULL ? (size_t)(slash - sa->sun_path) : 0;
	struct stat st;
	mode_t old_umask;
	int rc;

	if (slash == NULL || dir_len + sizeof("/.XXXXXX/s") > sizeof(staged.sun_path)) {
		fprintf(err, "ephemera: error: control.socket: \"%s\" is too long to be bound "
			     "safely: its directory's path must leave 10 bytes to spare under "
			     "the %zu a Unix socket path may have\n", sa->sun_path,
			sizeof(staged.sun_path) - 1);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%.*s/.XXXXXX", (int)dir_len, sa->sun_path);
	if (mkdtemp(dir) == NULL) {
		fprintf(err, "ephemera: error: control.socket: cannot create a directory beside "
			     "%s: %s\n", sa->sun_path, strerror(errno));
		return -1;
	}
	/* Fits: checked above. */
	memcpy(staged.sun_path, dir, dir_len + sizeof("/.XXXXXX") - 1);
	memcpy(staged.sun_path + dir_len + sizeof("/.XXXXXX") - 1, "/s", sizeof("/s"));
	/* Born with its final mode whatever the umask (default ACLs aside: chmod below). */
	old_umask = umask(0777 & ~mode);
	rc = bind(s->listen_fd, (const struct sockaddr *)&staged, sizeof(staged));
	umask(old_umask);
	if (rc != 0) {
		fprintf(err, "ephemera: error: control.socket: cannot bind %s: %s\n", staged.sun_path,
			strerror(errno));
		goto out;
	}
	rc = -1;
	if (group != NULL && chown(staged.sun_path, (uid_t)-1, gid) != 0) {
		fprintf(err, "ephemera: error: control.group: cannot give %s to group \"%s\": %s\n",
			s->path, group, strerror(errno));
		goto out;
	}
	if (chmod(staged.sun_path, mode) != 0 || lstat(staged.sun_path, &st) != 0) {
		fprintf(err, "ephemera: error: control.socket: chmod %s: %s\n", staged.sun_path,
			strerror(errno));
		goto out;
	}
	/* Listening before it is reachable: a client never finds it refusing. */
	if (listen(s->listen_fd, LISTEN_BACKLOG) != 0) {
		fprintf(err, "ephemera: error: control.socket: listen on %s: %s\n", s->path,
			strerror(errno));
		goto out;
	}
	if (renameat2(AT_FDCWD, staged.sun_path, AT_FDCWD, sa->sun_path, RENAME_NOREPLACE) != 0) {
		if (errno == EEXIST)
			fprintf(err, "ephemera: error: another ephemera is serving %s; stop it first "
				     "or choose another control.socket\n", sa->sun_path);
		else
			fprintf(err, "ephemera: error: control.socket: cannot move the socket to "
				     "%s: %s\n", sa->sun_path, strerror(errno));
		goto out;
	}
	/* Renamed, it is the same inode: close removes it only if it is still ours. */
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	rc = 0;
out:
	unlink(staged.sun_path);
	rmdir(dir);
	return rc;
}

struct eph_ctl_server *
eph_ctl_server_open(const struct eph_ctl_server_conf *c, FILE *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	bool with_group = c->group != NULL && c->group[0] != '\0';
	struct eph_ctl_server *s;
	gid_t gid = (gid_t)-1;

	if (c->path == NULL || c->path[0] == '\0') {
		fprintf(err, "ephemera: error: control.socket: expected a path, found \"\"\n");
		return NULL;
	}
	if (strlen(c->path) >= sizeof(sa.sun_path)) {
		fprintf(err, "ephemera: error: control.socket: \"%s\" is %zu bytes long; a Unix "
			     "socket path has at most %zu\n", c->path, strlen(c->path),
			sizeof(sa.sun_path) - 1);
		return NULL;
	}
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	if (with_group && lookup_group(c->group, &gid, err) != 0)
		return NULL;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto oom;
	s->listen_fd = -1;
	s->epfd = -1;
	memcpy(s->path, sa.sun_path, sizeof(s->path));
	s->commands = c->commands;
	s->n_commands = c->n_commands;
	s->ctx = c->ctx;
	s->max_clients = c->max_clients != 0 ? c->max_clients : EPH_CTL_DEFAULT_MAX_CLIENTS;
	s->idle_timeout_ms = c->idle_timeout_ms != 0 ? c->idle_timeout_ms :
						       EPH_CTL_DEFAULT_IDLE_TIMEOUT;
	s->output_cap = c->output_cap != 0 ? c->output_cap : EPH_CTL_OUTPUT_CAP;
	s->output_total = c->output_total != 0 ? c->output_total : EPH_CTL_OUTPUT_TOTAL;
	s->clients = calloc(s->max_clients, sizeof(s->clients[0]));
	if (s->clients == NULL)
		goto oom;

	if (make_parent_dir(s->path, err) != 0 || check_socket_dirs(s->path, err) != 0 ||
	    clear_stale_socket(&sa, err) != 0)
		goto fail;
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0) {
		fprintf(err, "ephemera: error: control.socket: socket: %s\n", strerror(errno));
		goto fail;
	}
	if (bind_in_place(s, &sa, with_group ? c->group : NULL, gid, err) != 0)
		goto fail;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev) != 0) {
		fprintf(err, "ephemera: error: control.socket: epoll: %s\n", strerror(errno));
		goto fail_unlink;
	}
	return s;

oom:
	fprintf(err, "ephemera: error: control.socket: out of memory\n");
	goto fail;
fail_unlink:
	unlink(s->path);
fail:
	if (s != NULL) {
		if (s->epfd >= 0)
			close(s->epfd);
		if (s->listen_fd >= 0)
			close(s->listen_fd);
		free(s->clients);
		free(s);
	}
	return NULL;
}

void
eph_ctl_server_close(struct eph_ctl_server *s)
{
	struct stat st;

	if (s == NULL)
		return;
	for (unsigned int i = 0; i < s->max_clients; i++)
		if (s->clients[i] != NULL)
			close_client(s, s->clients[i]);
	free_dead(s);
	reap_orphans(s, true);
	close(s->epfd);
	close(s->listen_fd);
	/* Another daemon may have replaced the file meanwhile: remove only ours. */
	if (stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	free(s->clients);
	free(s);
}

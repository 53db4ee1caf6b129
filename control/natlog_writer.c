/* SPDX-License-Identifier: BSD-3-Clause */
/* The NAT log writer on the control lcore (see natlog_writer.h for the contract). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>

#include "control/natlog_writer.h"

#define NLW_BUF_SIZE      (64 * 1024) /* file lines gathered before a write(2) */
#define NLW_LINE_MAX      1024        /* one JSON line; an event needs about 250 */
#define NLW_BURST         32          /* events taken from one ring at a time */
#define NLW_WARN_NS       (60 * 1000000000ULL)
#define NLW_RETRY_NS      (1000000000ULL)
#define NLW_REANCHOR_S    60
#define NLW_SYSLOG_PRI    (3 * 8 + 6) /* LOG_DAEMON | LOG_INFO */
#define NLW_TIME_LEN      25

enum { NLW_FILE, NLW_SYSLOG, NLW_OUTPUTS };

static const char *const output_names[NLW_OUTPUTS] = {"file", "syslog"};

struct eph_natlog_writer {
	/* The file; path[0] == 0: none. */
	char path[sizeof(((struct eph_conf_nat_log *)0)->file)];
	int fd; /* -1: not open (retried) */
	char *buf;
	size_t len;
	unsigned int lines;       /* complete lines in buf */
	bool resume_line;         /* a short write left half a line: start the next on its own */

	/* Syslog; enabled false: none. */
	bool syslog;
	int log_fd; /* -1: not connected (retried) */
	struct sockaddr_un log_addr;
	pid_t pid;

	uint64_t tsc_hz;
	struct timespec anchor; /* realtime when the TSC read anchor_tsc */
	uint64_t anchor_tsc;

	eph_natlog_alert_fn alert;
	void *alert_arg;
	FILE *err;

	uint64_t warned_ns[NLW_OUTPUTS]; /* monotonic time of the last warning, 0: never */
	uint64_t tried_ns[NLW_OUTPUTS];  /* of the last attempt to open or connect */
	uint64_t errors_at_warning[NLW_OUTPUTS];
	struct eph_natlog_writer_stats st;
};

/* ---- formatting ----------------------------------------------------------------------- */

int
eph_natlog_format_time(char *buf, size_t size, const struct timespec *anchor, uint64_t anchor_tsc,
		       uint64_t tsc_hz, uint64_t tsc)
{
	__int128 ns = (__int128)anchor->tv_sec * 1000000000 + anchor->tv_nsec +
		      (__int128)(int64_t)(tsc - anchor_tsc) * 1000000000 / (__int128)tsc_hz;
	time_t sec;
	struct tm tm;
	int n;

	if (ns < 0)
		ns = 0;
	sec = (time_t)(ns / 1000000000);
	if (size < NLW_TIME_LEN || gmtime_r(&sec, &tm) == NULL)
		return -ENOSPC;
	n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (unsigned int)(ns % 1000000000 / 1000000));
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

static const char *
proto_name(uint8_t proto, char tmp[4])
{
	switch (proto) {
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	default:
		snprintf(tmp, 4, "%u", proto);
		return tmp;
	}
}

/* a.b.c.d, or a.b.c.d:port; addr and port in network order. */
static json_t *
addr_json(uint32_t addr, const uint16_t *port)
{
	const uint8_t *b = (const uint8_t *)&addr;

	if (port == NULL)
		return json_sprintf("%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
	return json_sprintf("%u.%u.%u.%u:%u", b[0], b[1], b[2], b[3], rte_be_to_cpu_16(*port));
}

/* Adds key: value; false if value is NULL (out of memory) or the object refused it. */
static bool
set(json_t *o, const char *key, json_t *value)
{
	return value != NULL && json_object_set_new(o, key, value) == 0;
}

int
eph_natlog_event_json(const struct eph_natlog_event *ev, const char *pool, const char *time,
		      char *buf, size_t size)
{
	bool session = ev->type == EPH_NATLOG_SESSION_CREATE || ev->type == EPH_NATLOG_SESSION_DELETE;
	bool block = ev->type == EPH_NATLOG_BLOCK_ALLOC || ev->type == EPH_NATLOG_BLOCK_RELEASE;
	json_t *o, *pool_name = NULL;
	char tmp[4];
	size_t n;
	bool ok;

	if (!session && !block)
		return -EINVAL;
	o = json_object();
	if (o == NULL)
		return -ENOMEM;
	if (pool != NULL)
		pool_name = json_string(pool); /* NULL when not UTF-8 */
	if (pool_name == NULL)
		pool_name = json_sprintf("%u", ev->pool);
	ok = set(o, "time", json_string(time)) &&
	     set(o, "event", json_string(eph_natlog_type_name(ev->type))) &&
	     set(o, "pool", pool_name);
	if (session) {
		ok = ok && set(o, "proto", json_string(proto_name(ev->proto, tmp))) &&
		     set(o, "inside", addr_json(ev->in_addr, &ev->in_port)) &&
		     set(o, "outside", addr_json(ev->out_addr, &ev->out_port)) &&
		     set(o, "remote", addr_json(ev->remote_addr, &ev->remote_port)) &&
		     set(o, "worker", json_integer(ev->worker));
		if (ev->type == EPH_NATLOG_SESSION_DELETE) {
			const char *reason = eph_natlog_reason_name(ev->reason);

			ok = ok &&
			     set(o, "reason",
				 reason != NULL ? json_string(reason)
						: json_sprintf("%u", ev->reason)) &&
			     set(o, "duration_s", json_integer(ev->duration_s));
		}
	} else {
		ok = ok && set(o, "inside", addr_json(ev->in_addr, NULL)) &&
		     set(o, "outside", addr_json(ev->out_addr, NULL)) &&
		     set(o, "ports", json_sprintf("%u-%u", ev->first_port, ev->last_port)) &&
		     set(o, "worker", json_integer(ev->worker));
	}
	n = ok ? json_dumpb(o, buf, size, JSON_COMPACT) : 0;
	json_decref(o);
	if (!ok || n == 0)
		return -ENOMEM;
	if (n >= size)
		return -ENOSPC;
	buf[n] = '\0';
	return (int)n;
}

int
eph_natlog_describe(const struct eph_natlog_event *ev, const char *pool, char *buf, size_t size)
{
	const uint8_t *o = (const uint8_t *)&ev->out_addr;
	const uint8_t *r = (const uint8_t *)&ev->remote_addr;
	char tmp[4], remote[32], pool_index[4];

	if (pool == NULL) {
		snprintf(pool_index, sizeof(pool_index), "%u", ev->pool);
		pool = pool_index;
	}
	if (ev->remote_addr == 0 && ev->remote_port == 0)
		snprintf(remote, sizeof(remote), "any");
	else
		snprintf(remote, sizeof(remote), "%u.%u.%u.%u:%u", r[0], r[1], r[2], r[3],
			 rte_be_to_cpu_16(ev->remote_port));
	if (ev->type == EPH_NATLOG_DEST_OCCUPANCY)
		return snprintf(buf, size,
				"pool %s worker %u: %u.%u.%u.%u -> %s/%s is %" PRIu64
				"%% full (%u of %u ports)",
				pool, ev->worker, o[0], o[1], o[2], o[3], remote,
				proto_name(ev->proto, tmp),
				ev->share ? (uint64_t)ev->value * 100 / ev->share : 100,
				ev->value, ev->share);
	if (ev->type == EPH_NATLOG_DEST_EXHAUSTED)
		return snprintf(buf, size,
				"pool %s worker %u: %u.%u.%u.%u -> %s/%s has no port left "
				"(%u of %u ports in use)",
				pool, ev->worker, o[0], o[1], o[2], o[3], remote,
				proto_name(ev->proto, tmp), ev->value, ev->share);
	return snprintf(buf, size, "pool %s worker %u: %s", pool, ev->worker,
			eph_natlog_type_name(ev->type) ? eph_natlog_type_name(ev->type)
						       : "unknown event");
}

/* ---- outputs -------------------------------------------------------------------------- */

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Report a failing output at most once a minute, with its errors since the last report. */
static void
nlw_warn(struct eph_natlog_writer *w, unsigned int out, int errnum, const char *what)
{
	uint64_t now = mono_ns();
	uint64_t errors = out == NLW_FILE ? w->st.write_errors : w->st.syslog_errors;

	if (w->err == NULL || (w->warned_ns[out] != 0 && now - w->warned_ns[out] < NLW_WARN_NS))
		return;
	fprintf(w->err,
		"ephemera: warning: NAT log %s: %s: %s; %" PRIu64
		" lines lost since the last warning (warned at most once a minute)\n",
		output_names[out], what, strerror(errnum), errors - w->errors_at_warning[out]);
	fflush(w->err);
	w->warned_ns[out] = now;
	w->errors_at_warning[out] = errors;
}

/* mkdir -p of the directory part of path. */
static void
make_parent_dirs(const char *path)
{
	char dir[sizeof(((struct eph_conf_nat_log *)0)->file)];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0750) != 0 && errno != EEXIST)
			return; /* the open that follows reports it */
		*p = '/';
	}
}

static int
nlw_file_open(struct eph_natlog_writer *w)
{
	w->tried_ns[NLW_FILE] = mono_ns();
	make_parent_dirs(w->path);
	w->fd = open(w->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (w->fd < 0)
		return -errno;
	return 0;
}

static int
nlw_syslog_connect(struct eph_natlog_writer *w)
{
	if (w->log_fd >= 0)
		close(w->log_fd);
	w->tried_ns[NLW_SYSLOG] = mono_ns();
	w->log_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (w->log_fd < 0)
		return -errno;
	if (connect(w->log_fd, (const struct sockaddr *)&w->log_addr, sizeof(w->log_addr)) != 0) {
		int rc = -errno;

		close(w->log_fd);
		w->log_fd = -1;
		return rc;
	}
	return 0;
}

/* write(2) the buffer; lines not written count as errors (the rest of a short write too). */
static void
nlw_flush(struct eph_natlog_writer *w)
{
	size_t off = 0;
	int errnum = 0;

	while (off < w->len) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errnum = n < 0 ? errno : EIO;
			break;
		}
		off += (size_t)n;
	}
	if (off == w->len) {
		w->st.written += w->lines;
	} else {
		unsigned int done = 0;

		for (size_t i = 0; i < off; i++)
			done += w->buf[i] == '\n';
		w->st.written += done;
		w->st.write_errors += w->lines - done;
		w->resume_line = off > 0 && w->buf[off - 1] != '\n';
		nlw_warn(w, NLW_FILE, errnum, w->path);
	}
	w->len = 0;
	w->lines = 0;
}

static void
nlw_file_line(struct eph_natlog_writer *w, const char *line, size_t n)
{
	if (w->fd < 0) {
		w->st.write_errors++;
		return;
	}
	if (w->len + n + 2 > NLW_BUF_SIZE)
		nlw_flush(w);
	if (w->resume_line) {
		w->buf[w->len++] = '\n';
		w->resume_line = false;
	}
	memcpy(w->buf + w->len, line, n);
	w->len += n;
	w->buf[w->len++] = '\n';
	w->lines++;
}

/* "<30>Nov 28 01:02:03 ephemera-nat[pid]: line", as syslog(3) would send it. */
static void
nlw_syslog_line(struct eph_natlog_writer *w, const char *line)
{
	char msg[NLW_LINE_MAX + 64], stamp[32];
	time_t now = time(NULL);
	int n, errnum = EIO;
	struct tm tm;

	if (w->log_fd < 0) {
		w->st.syslog_errors++;
		return;
	}
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	n = snprintf(msg, sizeof(msg), "<%d>%s %s[%d]: %s", NLW_SYSLOG_PRI, stamp,
		     EPH_NATLOG_SYSLOG_IDENT, (int)w->pid, line);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = (int)sizeof(msg) - 1;
	for (int attempt = 0; attempt < 2; attempt++) {
		int rc;

		if (send(w->log_fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n) {
			w->st.syslog_sent++;
			return;
		}
		errnum = errno;
		/* The syslog daemon restarted: its socket is a new one. Reconnect once. */
		if (attempt > 0 || (errnum != ECONNREFUSED && errnum != ENOTCONN && errnum != ENOENT))
			break;
		rc = nlw_syslog_connect(w);
		if (rc < 0) {
			errnum = -rc;
			break;
		}
	}
	w->st.syslog_errors++;
	nlw_warn(w, NLW_SYSLOG, errnum, w->log_addr.sun_path);
}

static void
nlw_anchor(struct eph_natlog_writer *w)
{
	clock_gettime(CLOCK_REALTIME, &w->anchor);
	w->anchor_tsc = rte_rdtsc();
}

/* Outputs that failed are retried once a second; the clock pair is renewed once a minute. */
static void
nlw_housekeeping(struct eph_natlog_writer *w)
{
	uint64_t now = mono_ns();
	int rc;

	if (rte_rdtsc() - w->anchor_tsc > NLW_REANCHOR_S * w->tsc_hz)
		nlw_anchor(w);
	if (w->path[0] != '\0' && w->fd < 0 && now - w->tried_ns[NLW_FILE] >= NLW_RETRY_NS) {
		rc = nlw_file_open(w);
		if (rc < 0)
			nlw_warn(w, NLW_FILE, -rc, w->path);
	}
	if (w->syslog && w->log_fd < 0 && now - w->tried_ns[NLW_SYSLOG] >= NLW_RETRY_NS) {
		rc = nlw_syslog_connect(w);
		if (rc < 0)
			nlw_warn(w, NLW_SYSLOG, -rc, w->log_addr.sun_path);
	}
}

static void
nlw_event(struct eph_natlog_writer *w, const struct eph_natlog_event *ev, const char *pool)
{
	char line[NLW_LINE_MAX], stamp[NLW_TIME_LEN];
	int n;

	if (ev->type == EPH_NATLOG_DEST_OCCUPANCY || ev->type == EPH_NATLOG_DEST_EXHAUSTED) {
		w->st.alerts++;
		if (w->alert != NULL)
			w->alert(w->alert_arg, ev);
		return;
	}
	if (ev->type == EPH_NATLOG_NONE || ev->type >= EPH_NATLOG_TYPE_MAX) {
		w->st.bad_events++;
		return;
	}
	if (w->path[0] == '\0' && !w->syslog)
		return;
	eph_natlog_format_time(stamp, sizeof(stamp), &w->anchor, w->anchor_tsc, w->tsc_hz,
			       ev->tsc);
	n = eph_natlog_event_json(ev, pool, stamp, line, sizeof(line));
	if (n < 0) {
		/* Out of memory (a line always fits): lost for both outputs. */
		if (w->path[0] != '\0')
			w->st.write_errors++;
		if (w->syslog)
			w->st.syslog_errors++;
		return;
	}
	if (w->path[0] != '\0')
		nlw_file_line(w, line, (size_t)n);
	if (w->syslog)
		nlw_syslog_line(w, line);
}

/* ---- the writer ----------------------------------------------------------------------- */

struct eph_natlog_writer *
eph_natlog_writer_open(const struct eph_conf_nat_log *c, uint64_t tsc_hz,
		       eph_natlog_alert_fn alert, void *alert_arg, FILE *err)
{
	struct eph_natlog_writer *w;
	int rc;

	if (c == NULL || tsc_hz == 0 || strnlen(c->file, sizeof(c->file)) == sizeof(c->file)) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->fd = -1;
	w->log_fd = -1;
	w->tsc_hz = tsc_hz;
	w->alert = alert;
	w->alert_arg = alert_arg;
	w->err = err;
	w->pid = getpid();
	w->syslog = c->syslog;
	w->log_addr.sun_family = AF_UNIX;
	snprintf(w->log_addr.sun_path, sizeof(w->log_addr.sun_path), "%s",
		 EPH_NATLOG_SYSLOG_PATH);
	memcpy(w->path, c->file, sizeof(w->path));
	nlw_anchor(w);

	if (w->path[0] != '\0') {
		w->buf = malloc(NLW_BUF_SIZE);
		if (w->buf == NULL)
			goto fail;
		rc = nlw_file_open(w);
		if (rc < 0) {
			if (err != NULL)
				fprintf(err, "ephemera: error: nat-log.file: cannot open \"%s\": %s\n",
					w->path, strerror(-rc));
			errno = -rc;
			goto fail;
		}
	}
	if (w->syslog) {
		rc = nlw_syslog_connect(w);
		if (rc < 0)
			nlw_warn(w, NLW_SYSLOG, -rc, w->log_addr.sun_path);
	}
	return w;
fail:
	rc = errno;
	eph_natlog_writer_close(w);
	errno = rc;
	return NULL;
}

unsigned int
eph_natlog_writer_drain(struct eph_natlog_writer *w, struct eph_natlog_ring *const *rings,
			unsigned int n_rings, const char *const *pool_names, unsigned int n_pools,
			unsigned int budget)
{
	struct eph_natlog_event ev[NLW_BURST];
	unsigned int done = 0;
	bool more = true;

	nlw_housekeeping(w);
	while (more && done < budget) {
		more = false;
		for (unsigned int i = 0; i < n_rings && done < budget; i++) {
			unsigned int want = RTE_MIN(budget - done, (unsigned int)NLW_BURST);
			unsigned int n;

			if (rings[i] == NULL)
				continue;
			n = eph_natlog_drain(rings[i], ev, want);
			for (unsigned int j = 0; j < n; j++) {
				const char *pool = NULL;

				if (pool_names != NULL && ev[j].pool < n_pools)
					pool = pool_names[ev[j].pool];
				nlw_event(w, &ev[j], pool);
			}
			done += n;
			more |= n == want;
		}
	}
	if (w->len > 0)
		nlw_flush(w);
	return done;
}

int
eph_natlog_writer_reopen(struct eph_natlog_writer *w)
{
	int rc = 0;

	nlw_anchor(w);
	if (w->syslog) {
		int src = nlw_syslog_connect(w);

		if (src < 0)
			nlw_warn(w, NLW_SYSLOG, -src, w->log_addr.sun_path);
	}
	if (w->path[0] == '\0')
		return 0;
	if (w->fd >= 0) {
		if (w->len > 0)
			nlw_flush(w);
		close(w->fd);
		w->fd = -1;
	}
	w->resume_line = false;
	rc = nlw_file_open(w);
	if (rc < 0 && w->err != NULL) {
		fprintf(w->err, "ephemera: warning: NAT log file: cannot reopen \"%s\": %s; retrying "
				"every second\n",
			w->path, strerror(-rc));
		fflush(w->err);
	}
	return rc;
}

void
eph_natlog_writer_close(struct eph_natlog_writer *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0) {
		if (w->len > 0)
			nlw_flush(w);
		close(w->fd);
	}
	if (w->log_fd >= 0)
		close(w->log_fd);
	free(w->buf);
	free(w);
}

const struct eph_natlog_writer_stats *
eph_natlog_writer_stats(const struct eph_natlog_writer *w)
{
	return &w->st;
}

int
eph_natlog_writer_syslog_socket(struct eph_natlog_writer *w, const char *path)
{
	if (path == NULL || strlen(path) >= sizeof(w->log_addr.sun_path))
		return -EINVAL;
	snprintf(w->log_addr.sun_path, sizeof(w->log_addr.sun_path), "%s", path);
	if (!w->syslog)
		return 0;
	return nlw_syslog_connect(w);
}

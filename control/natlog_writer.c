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

#define NLW_BUF_SIZE   (64 * 1024) /* file lines gathered before a write(2) */
#define NLW_LINE_MAX   1024        /* one JSON line; an event needs about 250 */
#define NLW_BURST      32          /* events taken from one ring at a time */
#define NLW_WARN_NS    (60 * 1000000000ULL)
#define NLW_RETRY_NS   (1000000000ULL)
#define NLW_RATE_SLACK 50          /* a measured TSC rate is trusted within 1/50 of the nominal */
#define NLW_SYSLOG_PRI (3 * 8 + 6) /* LOG_DAEMON | LOG_INFO */
#define NLW_SECOND_LEN 19          /* YYYY-MM-DDThh:mm:ss */
#define NLW_TIME_LEN   (NLW_SECOND_LEN + 6) /* .mmmZ and the NUL */

enum { NLW_FILE, NLW_SYSLOG, NLW_OUTPUTS };

static const char *const output_names[NLW_OUTPUTS] = {"file", "syslog"};

struct eph_natlog_writer {
	/* The file; path[0] == 0: none. */
	char path[sizeof(((struct eph_conf_nat_log *)0)->file)];
	int fd; /* -1: not open (retried) */
	char *buf;
	size_t len;
	unsigned int lines; /* complete lines in buf */
	bool resume_line;   /* a short write left half a line: start the next on its own */
	bool lead_newline;  /* buf starts with the newline that ends that half line */

	/* Syslog; enabled false: none. */
	bool syslog;
	int log_fd; /* -1: not connected (retried) */
	struct sockaddr_un log_addr;
	pid_t pid;

	uint64_t tsc_hz;        /* nominal, as DPDK reports it */
	uint64_t rate_hz;       /* measured between the last two anchors (nominal at first) */
	struct timespec anchor; /* realtime when the TSC read anchor_tsc */
	uint64_t anchor_tsc;
	uint64_t second; /* of second_text; events of a drain share a few */
	char second_text[NLW_SECOND_LEN + 1];

	eph_natlog_alert_fn alert;
	void *alert_arg;
	FILE *err;

	uint64_t warned_ns[NLW_OUTPUTS]; /* monotonic time of the last warning, 0: never */
	uint64_t tried_ns[NLW_OUTPUTS];  /* of the last attempt to open or connect */
	uint64_t errors_at_warning[NLW_OUTPUTS];
	struct eph_natlog_writer_stats st;
};

/* ---- formatting ----------------------------------------------------------------------- */

/* Nanoseconds since the epoch when the TSC read tsc (0 before the epoch). */
static uint64_t
tsc_to_ns(const struct timespec *anchor, uint64_t anchor_tsc, uint64_t tsc_hz, uint64_t tsc)
{
	__int128 ns = (__int128)anchor->tv_sec * 1000000000 + anchor->tv_nsec +
		      (__int128)(int64_t)(tsc - anchor_tsc) * 1000000000 / (__int128)tsc_hz;

	return ns < 0 ? 0 : (uint64_t)ns;
}

/* "YYYY-MM-DDThh:mm:ss" (NLW_SECOND_LEN characters) of a UTC second. */
static void
format_second(time_t sec, char out[NLW_SECOND_LEN + 1])
{
	struct tm tm;

	if (gmtime_r(&sec, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(out, NLW_SECOND_LEN + 1, "%04u-%02u-%02uT%02u:%02u:%02u",
		 (unsigned int)(tm.tm_year + 1900) % 10000u, (unsigned int)(tm.tm_mon + 1) % 100u,
		 (unsigned int)tm.tm_mday % 100u, (unsigned int)tm.tm_hour % 100u,
		 (unsigned int)tm.tm_min % 100u, (unsigned int)tm.tm_sec % 100u);
}

/* second + ".mmmZ" into out (NLW_TIME_LEN bytes). */
static void
format_ms(char *out, const char *second, uint64_t ns)
{
	unsigned int ms = (unsigned int)(ns % 1000000000 / 1000000);

	memcpy(out, second, NLW_SECOND_LEN);
	out[NLW_SECOND_LEN] = '.';
	out[NLW_SECOND_LEN + 1] = (char)('0' + ms / 100);
	out[NLW_SECOND_LEN + 2] = (char)('0' + ms / 10 % 10);
	out[NLW_SECOND_LEN + 3] = (char)('0' + ms % 10);
	out[NLW_SECOND_LEN + 4] = 'Z';
	out[NLW_SECOND_LEN + 5] = '\0';
}

int
eph_natlog_format_time(char *buf, size_t size, const struct timespec *anchor, uint64_t anchor_tsc,
		       uint64_t tsc_hz, uint64_t tsc)
{
	uint64_t ns = tsc_to_ns(anchor, anchor_tsc, tsc_hz, tsc);
	char second[NLW_SECOND_LEN + 1];

	if (size < NLW_TIME_LEN)
		return -ENOSPC;
	format_second((time_t)(ns / 1000000000), second);
	format_ms(buf, second, ns);
	return NLW_TIME_LEN - 1;
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

/*
 * s as a JSON string, quotes included, into out; -1 when s is not UTF-8 or
 * out is short. Names from the configuration need no escaping: they are
 * copied; anything else is escaped by jansson.
 */
static int
json_quote(const char *s, char *out, size_t size)
{
	size_t len = strlen(s);
	json_t *v;
	size_t n;

	if (len + 3 <= size) {
		bool plain = true;

		for (size_t i = 0; i < len && plain; i++)
			plain = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\';
		if (plain) {
			out[0] = '"';
			memcpy(out + 1, s, len);
			out[len + 1] = '"';
			out[len + 2] = '\0';
			return (int)len + 2;
		}
	}
	v = json_string(s);
	if (v == NULL)
		return -1;
	n = json_dumpb(v, out, size - 1, JSON_ENCODE_ANY);
	json_decref(v);
	if (n == 0 || n >= size - 1)
		return -1;
	out[n] = '\0';
	return (int)n;
}

#define IP_FMT "%u.%u.%u.%u"
#define IP_ARGS(a)                                                                                 \
	((const uint8_t *)&(a))[0], ((const uint8_t *)&(a))[1], ((const uint8_t *)&(a))[2],        \
		((const uint8_t *)&(a))[3]
#define PORT_ARG(p) (unsigned int)rte_be_to_cpu_16(p)

/*
 * Formatted field by field rather than built as a jansson object and
 * dumped: a sixth of the cost (1.5 us against 9 us an event, measured),
 * which matters when every session is logged. Every value is a number, an
 * address or a fixed name; the pool name and the time go through
 * json_quote.
 */
int
eph_natlog_event_json(const struct eph_natlog_event *ev, const char *pool, const char *time,
		      char *buf, size_t size)
{
	char pool_q[2 * 64 + 8], time_q[64], tmp[4];
	const char *reason;
	int n;

	if (ev->type != EPH_NATLOG_SESSION_CREATE && ev->type != EPH_NATLOG_SESSION_DELETE &&
	    ev->type != EPH_NATLOG_BLOCK_ALLOC && ev->type != EPH_NATLOG_BLOCK_RELEASE)
		return -EINVAL;
	if (time == NULL || json_quote(time, time_q, sizeof(time_q)) < 0)
		return -EINVAL;
	if (pool == NULL || json_quote(pool, pool_q, sizeof(pool_q)) < 0)
		snprintf(pool_q, sizeof(pool_q), "\"%u\"", ev->pool);

	if (ev->type == EPH_NATLOG_BLOCK_ALLOC || ev->type == EPH_NATLOG_BLOCK_RELEASE) {
		n = snprintf(buf, size,
			     "{\"time\":%s,\"event\":\"%s\",\"pool\":%s,\"inside\":\"" IP_FMT
			     "\",\"outside\":\"" IP_FMT "\",\"ports\":\"%u-%u\",\"worker\":%u}",
			     time_q, eph_natlog_type_name(ev->type), pool_q, IP_ARGS(ev->in_addr),
			     IP_ARGS(ev->out_addr), ev->first_port, ev->last_port, ev->worker);
		return n < 0 || (size_t)n >= size ? -ENOSPC : n;
	}
	n = snprintf(
		buf, size,
		"{\"time\":%s,\"event\":\"%s\",\"pool\":%s,\"proto\":\"%s\",\"inside\":\"" IP_FMT
		":%u\",\"outside\":\"" IP_FMT ":%u\",\"remote\":\"" IP_FMT ":%u\",\"worker\":%u",
		time_q, eph_natlog_type_name(ev->type), pool_q, proto_name(ev->proto, tmp),
		IP_ARGS(ev->in_addr), PORT_ARG(ev->in_port), IP_ARGS(ev->out_addr),
		PORT_ARG(ev->out_port), IP_ARGS(ev->remote_addr), PORT_ARG(ev->remote_port),
		ev->worker);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	if (ev->type == EPH_NATLOG_SESSION_DELETE) {
		int m;

		reason = eph_natlog_reason_name(ev->reason);
		if (reason == NULL) {
			snprintf(tmp, sizeof(tmp), "%u", ev->reason);
			reason = tmp;
		}
		m = snprintf(buf + n, size - (size_t)n, ",\"reason\":\"%s\",\"duration_s\":%u",
			     reason, ev->duration_s);
		if (m < 0 || (size_t)m >= size - (size_t)n)
			return -ENOSPC;
		n += m;
	}
	if ((size_t)n + 2 > size)
		return -ENOSPC;
	buf[n++] = '}';
	buf[n] = '\0';
	return n;
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
				ev->share ? (uint64_t)ev->value * 100 / ev->share : 100, ev->value,
				ev->share);
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

/* Why opening path failed with errnum, in words an operator can act on. */
static const char *
nlw_file_why(const char *path, int errnum)
{
	struct stat st;

	if (errnum == ELOOP && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		return "it is a symbolic link, which is not followed; give the file's own path";
	if (errnum == EINVAL && lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return "it is not a regular file";
	return strerror(errnum);
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
		output_names[out], what,
		out == NLW_FILE ? nlw_file_why(w->path, errnum) : strerror(errnum),
		errors - w->errors_at_warning[out]);
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

/*
 * Open the log file, a regular file only. The daemon runs as root: a
 * symbolic link planted at the path would have it append to any file, so
 * none is followed (O_NOFOLLOW); O_NONBLOCK keeps a FIFO there from
 * holding the open until someone reads it, and fstat turns away whatever
 * else is not a regular file (-EINVAL). 0 or -errno.
 */
static int
nlw_file_open(struct eph_natlog_writer *w)
{
	struct stat st;
	int fd;

	w->tried_ns[NLW_FILE] = mono_ns();
	make_parent_dirs(w->path);
	fd = open(w->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
		  0640);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || fcntl(fd, F_SETFL, O_APPEND) != 0) {
		close(fd);
		return -EINVAL;
	}
	w->fd = fd;
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

		for (size_t i = w->lead_newline ? 1 : 0; i < off; i++)
			done += w->buf[i] == '\n';
		w->st.written += done;
		w->st.write_errors += w->lines - done;
		w->resume_line = off > 0 && w->buf[off - 1] != '\n';
		nlw_warn(w, NLW_FILE, errnum, w->path);
	}
	w->len = 0;
	w->lines = 0;
	w->lead_newline = false;
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
		w->lead_newline = w->len == 0;
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
		if (attempt > 0 ||
		    (errnum != ECONNREFUSED && errnum != ENOTCONN && errnum != ENOENT))
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

/*
 * A new (realtime, TSC) pair, and the TSC rate measured since the last one:
 * the nominal rate can be off by a fraction of a percent (0.2% seen in a
 * VM), i.e. a second per 8 minutes. A rate far from the nominal means the
 * clock was stepped: it is not taken.
 */
static void
nlw_anchor(struct eph_natlog_writer *w)
{
	struct timespec rt;
	uint64_t tsc;
	int64_t dns;

	clock_gettime(CLOCK_REALTIME, &rt);
	tsc = rte_rdtsc();
	dns = (int64_t)(rt.tv_sec - w->anchor.tv_sec) * 1000000000 + rt.tv_nsec - w->anchor.tv_nsec;
	if (w->anchor_tsc != 0 && dns >= 500000000) {
		uint64_t hz = (uint64_t)((__int128)(tsc - w->anchor_tsc) * 1000000000 / dns);

		if (hz > w->tsc_hz - w->tsc_hz / NLW_RATE_SLACK &&
		    hz < w->tsc_hz + w->tsc_hz / NLW_RATE_SLACK)
			w->rate_hz = hz;
	}
	w->anchor = rt;
	w->anchor_tsc = tsc;
}

/* Outputs that failed are retried once a second; the clock pair is renewed once a second. */
static void
nlw_housekeeping(struct eph_natlog_writer *w)
{
	uint64_t now = mono_ns();
	int rc;

	if (rte_rdtsc() - w->anchor_tsc >= w->rate_hz)
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
	uint64_t ns;
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
	ns = tsc_to_ns(&w->anchor, w->anchor_tsc, w->rate_hz, ev->tsc);
	if (ns / 1000000000 != w->second || w->second_text[0] == '\0') {
		w->second = ns / 1000000000;
		format_second((time_t)w->second, w->second_text);
	}
	format_ms(stamp, w->second_text, ns);
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
eph_natlog_writer_open(const struct eph_conf_nat_log *c, uint64_t tsc_hz, eph_natlog_alert_fn alert,
		       void *alert_arg, FILE *err)
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
	w->rate_hz = tsc_hz;
	w->alert = alert;
	w->alert_arg = alert_arg;
	w->err = err;
	w->pid = getpid();
	w->syslog = c->syslog;
	w->log_addr.sun_family = AF_UNIX;
	snprintf(w->log_addr.sun_path, sizeof(w->log_addr.sun_path), "%s", EPH_NATLOG_SYSLOG_PATH);
	memcpy(w->path, c->file, sizeof(w->path));
	nlw_anchor(w);

	if (w->path[0] != '\0') {
		w->buf = malloc(NLW_BUF_SIZE);
		if (w->buf == NULL)
			goto fail;
		rc = nlw_file_open(w);
		if (rc < 0) {
			if (err != NULL)
				fprintf(err,
					"ephemera: error: nat-log.file: cannot open \"%s\": %s\n",
					w->path, nlw_file_why(w->path, -rc));
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
		fprintf(w->err,
			"ephemera: warning: NAT log file: cannot reopen \"%s\": %s; retrying "
			"every second\n",
			w->path, nlw_file_why(w->path, -rc));
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

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAT log events: the rings (exact capacity, lost events counted exactly,
 * order kept) and the writer: events through real rings to a file in a
 * directory it creates, every JSON line parsed back with jansson and every
 * field checked; destination events to the alert callback and not to the
 * file; reopen after a rename; write errors counted and warned once;
 * syslog datagrams on a socket of the test's own. EAL without hugepages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include "control/natlog_writer.h"
#include "dataplane/nat/natlog.h"
#include "tests/unit/eal_prefix.h"

#define IP(a, b, c, d)                                                                             \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

static char tmpdir[64];
static unsigned int t_names;

static const char *
ring_name(void)
{
	static char name[16];

	snprintf(name, sizeof(name), "t%u", t_names++);
	return name;
}

static struct eph_natlog_ring *
ring_new(unsigned int count)
{
	struct eph_natlog_ring *r = eph_natlog_ring_create(ring_name(), count, SOCKET_ID_ANY);

	assert_non_null(r);
	return r;
}

/* The file's lines, parsed; returns how many (at most max). */
static unsigned int
read_lines(const char *path, json_t **out, unsigned int max)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	unsigned int n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		json_error_t e;
		size_t len = strlen(line);

		assert_true(len > 0 && line[len - 1] == '\n');
		assert_true(n < max);
		out[n] = json_loads(line, JSON_REJECT_DUPLICATES, &e);
		if (out[n] == NULL)
			fail_msg("line %u of %s is not JSON (%s): %s", n + 1, path, e.text, line);
		n++;
	}
	fclose(f);
	return n;
}

static void
free_lines(json_t **v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		json_decref(v[i]);
}

static void
assert_str_field(json_t *o, const char *key, const char *expect)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || !json_is_string(v))
		fail_msg("field %s missing or not a string", key);
	assert_string_equal(json_string_value(v), expect);
}

static void
assert_int_field(json_t *o, const char *key, json_int_t expect)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || !json_is_integer(v))
		fail_msg("field %s missing or not an integer", key);
	assert_int_equal(json_integer_value(v), expect);
}

/* "YYYY-MM-DDThh:mm:ss.mmmZ" in [lo, hi] (realtime, milliseconds). */
static void
assert_time_field(json_t *o, uint64_t lo_ms, uint64_t hi_ms)
{
	json_t *v = json_object_get(o, "time");
	const char *s;
	struct tm tm = {0};
	unsigned int ms;
	uint64_t t;

	assert_true(v != NULL && json_is_string(v));
	s = json_string_value(v);
	assert_int_equal(strlen(s), 24);
	assert_int_equal(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3uZ", &tm.tm_year, &tm.tm_mon,
				&tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms),
			 7);
	assert_true(s[4] == '-' && s[10] == 'T' && s[19] == '.' && s[23] == 'Z');
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = (uint64_t)timegm(&tm) * 1000 + ms;
	if (t + 2 < lo_ms || t > hi_ms + 2)
		fail_msg("time %s is not within [%llu, %llu] ms", s, (unsigned long long)lo_ms,
			 (unsigned long long)hi_ms);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct eph_natlog_event
session_event(uint8_t type, uint8_t worker)
{
	return (struct eph_natlog_event){
		.tsc = rte_rdtsc(),
		.type = type,
		.proto = 6,
		.pool = 0,
		.worker = worker,
		.in_addr = IP(192, 0, 2, 11),
		.out_addr = IP(203, 0, 113, 100),
		.remote_addr = IP(203, 0, 113, 10),
		.in_port = rte_cpu_to_be_16(40000),
		.out_port = rte_cpu_to_be_16(40001),
		.remote_port = rte_cpu_to_be_16(80),
	};
}

/* ---- events and rings ---------------------------------------------------------------- */

static void
test_names(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct eph_natlog_event), 48);
	assert_string_equal(eph_natlog_type_name(EPH_NATLOG_SESSION_CREATE), "session-create");
	assert_string_equal(eph_natlog_type_name(EPH_NATLOG_SESSION_DELETE), "session-delete");
	assert_string_equal(eph_natlog_type_name(EPH_NATLOG_BLOCK_ALLOC), "block-alloc");
	assert_string_equal(eph_natlog_type_name(EPH_NATLOG_BLOCK_RELEASE), "block-release");
	assert_null(eph_natlog_type_name(EPH_NATLOG_NONE));
	assert_null(eph_natlog_type_name(EPH_NATLOG_TYPE_MAX));
	assert_string_equal(eph_natlog_reason_name(EPH_NATLOG_REASON_EXPIRED), "expired");
	assert_string_equal(eph_natlog_reason_name(EPH_NATLOG_REASON_TCP_CLOSED), "tcp-closed");
	assert_string_equal(eph_natlog_reason_name(EPH_NATLOG_REASON_CLEARED), "cleared");
	assert_null(eph_natlog_reason_name(EPH_NATLOG_REASON_MAX));
}

static void
test_ring_overflow(void **state)
{
	struct eph_natlog_ring *r = ring_new(8);
	struct eph_natlog_event ev = {.type = EPH_NATLOG_SESSION_CREATE}, out[64];

	(void)state;
	for (uint32_t i = 0; i < 20; i++) {
		ev.value = i;
		eph_natlog_emit(r, &ev);
	}
	assert_int_equal(eph_natlog_ring_lost(r), 12);
	assert_int_equal(eph_natlog_drain(r, out, 64), 8);
	for (uint32_t i = 0; i < 8; i++) {
		assert_int_equal(out[i].value, i);
		assert_int_equal(out[i].type, EPH_NATLOG_SESSION_CREATE);
	}
	assert_int_equal(eph_natlog_drain(r, out, 64), 0);
	/* Room again: nothing more is lost. */
	for (uint32_t i = 100; i < 108; i++) {
		ev.value = i;
		eph_natlog_emit(r, &ev);
	}
	assert_int_equal(eph_natlog_ring_lost(r), 12);
	assert_int_equal(eph_natlog_drain(r, out, 3), 3);
	assert_int_equal(out[2].value, 102);
	assert_int_equal(eph_natlog_drain(r, out, 64), 5);
	assert_int_equal(out[4].value, 107);
	eph_natlog_emit(NULL, &ev); /* logging off */
	eph_natlog_ring_free(r);
	eph_natlog_ring_free(NULL);
}

static void
test_ring_create_errors(void **state)
{
	struct eph_natlog_ring *r;

	(void)state;
	assert_null(eph_natlog_ring_create("zero", 0, SOCKET_ID_ANY));
	assert_int_equal(rte_errno, EINVAL);
	assert_null(eph_natlog_ring_create("a-ring-name-far-too-long-for-dpdk", 8, SOCKET_ID_ANY));
	assert_int_equal(rte_errno, ENAMETOOLONG);
	r = eph_natlog_ring_create("twice", 8, SOCKET_ID_ANY);
	assert_non_null(r);
	assert_null(eph_natlog_ring_create("twice", 8, SOCKET_ID_ANY));
	assert_int_equal(rte_errno, EEXIST);
	eph_natlog_ring_free(r);
}

/* ---- formatting ---------------------------------------------------------------------- */

static void
test_format_time(void **state)
{
	/* 2026-11-28T01:02:03.456789Z */
	struct timespec anchor = {.tv_sec = 1795827723, .tv_nsec = 456789000};
	uint64_t hz = 2000000000, t0 = 1000000000000ULL;
	char buf[32];

	(void)state;
	assert_int_equal(eph_natlog_format_time(buf, sizeof(buf), &anchor, t0, hz, t0), 24);
	assert_string_equal(buf, "2026-11-28T01:02:03.456Z");
	/* 0.75 s later, then 59.6 s later (minute carry). */
	eph_natlog_format_time(buf, sizeof(buf), &anchor, t0, hz, t0 + 1500000000);
	assert_string_equal(buf, "2026-11-28T01:02:04.206Z");
	eph_natlog_format_time(buf, sizeof(buf), &anchor, t0, hz, t0 + 119200000000ULL);
	assert_string_equal(buf, "2026-11-28T01:03:03.056Z");
	/* An event older than the anchor (TSC read before it): 1.5 s earlier. */
	eph_natlog_format_time(buf, sizeof(buf), &anchor, t0, hz, t0 - 3000000000ULL);
	assert_string_equal(buf, "2026-11-28T01:02:01.956Z");
	/* A day later, across a month and a year. */
	anchor.tv_sec = 1798761599; /* 2026-12-31T23:59:59Z */
	anchor.tv_nsec = 999000000;
	eph_natlog_format_time(buf, sizeof(buf), &anchor, t0, hz, t0 + 2000000);
	assert_string_equal(buf, "2027-01-01T00:00:00.000Z");
	assert_int_equal(eph_natlog_format_time(buf, 24, &anchor, t0, hz, t0), -ENOSPC);
}

static void
test_event_json(void **state)
{
	struct eph_natlog_event ev = session_event(EPH_NATLOG_SESSION_DELETE, 3);
	const char *t = "2026-11-28T01:02:03.456Z";
	char buf[512];
	int n;

	(void)state;
	ev.proto = 17;
	ev.reason = EPH_NATLOG_REASON_EXPIRED;
	ev.duration_s = 42;
	n = eph_natlog_event_json(&ev, "default", t, buf, sizeof(buf));
	assert_string_equal(
		buf, "{\"time\":\"2026-11-28T01:02:03.456Z\",\"event\":\"session-delete\","
		     "\"pool\":\"default\",\"proto\":\"udp\",\"inside\":\"192.0.2.11:40000\","
		     "\"outside\":\"203.0.113.100:40001\",\"remote\":\"203.0.113.10:80\","
		     "\"worker\":3,\"reason\":\"expired\",\"duration_s\":42}");
	assert_int_equal(n, (int)strlen(buf));
	assert_int_equal(eph_natlog_event_json(&ev, "default", t, buf, 40), -ENOSPC);

	ev = (struct eph_natlog_event){
		.type = EPH_NATLOG_BLOCK_ALLOC,
		.pool = 7,
		.worker = 1,
		.in_addr = IP(192, 0, 2, 11),
		.out_addr = IP(203, 0, 113, 100),
		.first_port = 1024,
		.last_port = 1279,
	};
	/* A pool name that is not UTF-8: its index instead. */
	eph_natlog_event_json(&ev, "bad\xff", t, buf, sizeof(buf));
	assert_string_equal(buf, "{\"time\":\"2026-11-28T01:02:03.456Z\",\"event\":\"block-alloc\","
				 "\"pool\":\"7\",\"inside\":\"192.0.2.11\","
				 "\"outside\":\"203.0.113.100\",\"ports\":\"1024-1279\","
				 "\"worker\":1}");
	ev.type = EPH_NATLOG_DEST_OCCUPANCY;
	assert_int_equal(eph_natlog_event_json(&ev, "p", t, buf, sizeof(buf)), -EINVAL);
	ev.type = 99;
	assert_int_equal(eph_natlog_event_json(&ev, "p", t, buf, sizeof(buf)), -EINVAL);
}

static void
test_describe(void **state)
{
	struct eph_natlog_event ev = {
		.type = EPH_NATLOG_DEST_OCCUPANCY,
		.proto = 6,
		.worker = 1,
		.out_addr = IP(203, 0, 113, 100),
		.remote_addr = IP(203, 0, 113, 10),
		.remote_port = rte_cpu_to_be_16(80),
		.value = 1620,
		.share = 2000,
	};
	char buf[256];

	(void)state;
	eph_natlog_describe(&ev, "default", buf, sizeof(buf));
	assert_string_equal(buf, "pool default worker 1: 203.0.113.100 -> 203.0.113.10:80/tcp is "
				 "81% full (1620 of 2000 ports)");
	ev.type = EPH_NATLOG_DEST_EXHAUSTED;
	ev.remote_addr = 0;
	ev.remote_port = 0;
	ev.proto = 17;
	ev.value = 2000;
	eph_natlog_describe(&ev, "default", buf, sizeof(buf));
	assert_string_equal(buf, "pool default worker 1: 203.0.113.100 -> any/udp has no port "
				 "left (2000 of 2000 ports in use)");
}

/* ---- the writer ---------------------------------------------------------------------- */

struct alerts {
	unsigned int n;
	struct eph_natlog_event ev[8];
};

static void
on_alert(void *arg, const struct eph_natlog_event *ev)
{
	struct alerts *a = arg;

	assert_true(a->n < 8);
	a->ev[a->n++] = *ev;
}

static void
conf_file(struct eph_conf_nat_log *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->file, sizeof(c->file), "%s/%s", tmpdir, name);
	c->ring = 64;
}

static void
test_writer_file(void **state)
{
	const char *pools[] = {"default", "guests"};
	struct eph_natlog_ring *rings[3] = {ring_new(16), NULL, ring_new(16)};
	struct eph_conf_nat_log c;
	struct eph_natlog_writer *w;
	struct eph_natlog_event ev[8];
	struct alerts al = {0};
	json_t *v[16];
	struct stat sb;
	uint64_t t_lo, t_hi;
	unsigned int n;
	char dir[128];

	(void)state;
	conf_file(&c, "logs/nat/nat.jsonl"); /* two directories to create */
	snprintf(dir, sizeof(dir), "%s/logs/nat", tmpdir);
	umask(022);
	w = eph_natlog_writer_open(&c, rte_get_tsc_hz(), on_alert, &al, stderr);
	assert_non_null(w);
	assert_int_equal(stat(dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(stat(c.file, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);

	t_lo = now_ms();
	ev[0] = session_event(EPH_NATLOG_SESSION_CREATE, 0);
	ev[1] = session_event(EPH_NATLOG_SESSION_DELETE, 0);
	ev[1].pool = 1;
	ev[1].proto = 17;
	ev[1].reason = EPH_NATLOG_REASON_TCP_CLOSED;
	ev[1].duration_s = 3600;
	ev[2] = (struct eph_natlog_event){
		.tsc = rte_rdtsc(),
		.type = EPH_NATLOG_DEST_OCCUPANCY,
		.proto = 6,
		.worker = 2,
		.out_addr = IP(203, 0, 113, 100),
		.remote_addr = IP(203, 0, 113, 10),
		.remote_port = rte_cpu_to_be_16(443),
		.value = 900,
		.share = 1000,
	};
	ev[3] = (struct eph_natlog_event){
		.tsc = rte_rdtsc(),
		.type = EPH_NATLOG_BLOCK_ALLOC,
		.worker = 2,
		.in_addr = IP(192, 0, 2, 12),
		.out_addr = IP(203, 0, 113, 101),
		.first_port = 1024,
		.last_port = 1279,
	};
	ev[4] = ev[3];
	ev[4].type = EPH_NATLOG_BLOCK_RELEASE;
	ev[4].pool = 9; /* no such pool: its number */
	ev[5] = ev[2];
	ev[5].type = EPH_NATLOG_DEST_EXHAUSTED;
	ev[5].value = 1000;
	ev[6] = session_event(EPH_NATLOG_SESSION_CREATE, 2);
	ev[6].proto = 47;
	ev[7] = ev[6];
	ev[7].type = 200; /* unknown: dropped, counted */
	eph_natlog_emit(rings[0], &ev[0]);
	eph_natlog_emit(rings[0], &ev[1]);
	for (unsigned int i = 2; i < 8; i++)
		eph_natlog_emit(rings[2], &ev[i]);

	assert_int_equal(eph_natlog_writer_drain(w, rings, 3, pools, 2, 100), 8);
	t_hi = now_ms();
	/* Flushed at the end of the drain: the file is complete before close. */
	n = read_lines(c.file, v, 16);
	assert_int_equal(n, 5);

	/* Ring 0 first (a burst each), then ring 2. */
	assert_int_equal(json_object_size(v[0]), 8);
	assert_time_field(v[0], t_lo, t_hi);
	assert_str_field(v[0], "event", "session-create");
	assert_str_field(v[0], "pool", "default");
	assert_str_field(v[0], "proto", "tcp");
	assert_str_field(v[0], "inside", "192.0.2.11:40000");
	assert_str_field(v[0], "outside", "203.0.113.100:40001");
	assert_str_field(v[0], "remote", "203.0.113.10:80");
	assert_int_field(v[0], "worker", 0);

	assert_int_equal(json_object_size(v[1]), 10);
	assert_time_field(v[1], t_lo, t_hi);
	assert_str_field(v[1], "event", "session-delete");
	assert_str_field(v[1], "pool", "guests");
	assert_str_field(v[1], "proto", "udp");
	assert_str_field(v[1], "inside", "192.0.2.11:40000");
	assert_str_field(v[1], "outside", "203.0.113.100:40001");
	assert_str_field(v[1], "remote", "203.0.113.10:80");
	assert_int_field(v[1], "worker", 0);
	assert_str_field(v[1], "reason", "tcp-closed");
	assert_int_field(v[1], "duration_s", 3600);

	assert_int_equal(json_object_size(v[2]), 7);
	assert_time_field(v[2], t_lo, t_hi);
	assert_str_field(v[2], "event", "block-alloc");
	assert_str_field(v[2], "pool", "default");
	assert_str_field(v[2], "inside", "192.0.2.12");
	assert_str_field(v[2], "outside", "203.0.113.101");
	assert_str_field(v[2], "ports", "1024-1279");
	assert_int_field(v[2], "worker", 2);

	assert_int_equal(json_object_size(v[3]), 7);
	assert_str_field(v[3], "event", "block-release");
	assert_str_field(v[3], "pool", "9");
	assert_str_field(v[3], "ports", "1024-1279");

	assert_int_equal(json_object_size(v[4]), 8);
	assert_str_field(v[4], "event", "session-create");
	assert_str_field(v[4], "proto", "47");
	assert_int_field(v[4], "worker", 2);
	free_lines(v, n);

	/* The destination events went to the callback, unchanged, in order. */
	assert_int_equal(al.n, 2);
	assert_memory_equal(&al.ev[0], &ev[2], sizeof(ev[2]));
	assert_memory_equal(&al.ev[1], &ev[5], sizeof(ev[5]));

	assert_int_equal(eph_natlog_writer_stats(w)->written, 5);
	assert_int_equal(eph_natlog_writer_stats(w)->alerts, 2);
	assert_int_equal(eph_natlog_writer_stats(w)->bad_events, 1);
	assert_int_equal(eph_natlog_writer_stats(w)->write_errors, 0);
	assert_int_equal(eph_natlog_writer_drain(w, rings, 3, pools, 2, 100), 0);
	eph_natlog_writer_close(w);
	eph_natlog_ring_free(rings[0]);
	eph_natlog_ring_free(rings[2]);
}

/* Budget: no more than asked; the rest stays queued, in order. */
static void
test_writer_budget(void **state)
{
	struct eph_natlog_ring *rings[2] = {ring_new(64), ring_new(64)};
	const char *pools[] = {"default"};
	struct eph_conf_nat_log c;
	struct eph_natlog_writer *w;
	json_t *v[128];
	unsigned int n;

	(void)state;
	conf_file(&c, "budget.jsonl");
	w = eph_natlog_writer_open(&c, rte_get_tsc_hz(), NULL, NULL, stderr);
	assert_non_null(w);
	for (unsigned int i = 0; i < 50; i++) {
		struct eph_natlog_event ev = session_event(EPH_NATLOG_SESSION_CREATE, i % 2);

		ev.in_port = rte_cpu_to_be_16((uint16_t)(10000 + i));
		eph_natlog_emit(rings[i % 2], &ev);
	}
	assert_int_equal(eph_natlog_writer_drain(w, rings, 2, pools, 1, 10), 10);
	n = read_lines(c.file, v, 128);
	assert_int_equal(n, 10);
	free_lines(v, n);
	assert_int_equal(eph_natlog_writer_drain(w, rings, 2, pools, 1, 1000), 40);
	n = read_lines(c.file, v, 128);
	assert_int_equal(n, 50);
	/* Each ring's events in order; every one exactly once. */
	for (unsigned int r = 0; r < 2; r++) {
		unsigned int next = r;

		for (unsigned int i = 0; i < n; i++) {
			char expect[32];

			if (json_integer_value(json_object_get(v[i], "worker")) != r)
				continue;
			snprintf(expect, sizeof(expect), "192.0.2.11:%u", 10000 + next);
			assert_str_field(v[i], "inside", expect);
			next += 2;
		}
		assert_int_equal(next, 50 + r);
	}
	free_lines(v, n);
	eph_natlog_writer_close(w);
	eph_natlog_ring_free(rings[0]);
	eph_natlog_ring_free(rings[1]);
}

/* Event times follow their TSC, across seconds (the writer formats a second once). */
static void
test_writer_times(void **state)
{
	struct eph_natlog_ring *r = ring_new(16);
	uint64_t hz = rte_get_tsc_hz(), t0 = rte_rdtsc(), base = now_ms();
	struct eph_conf_nat_log c;
	struct eph_natlog_writer *w;
	json_t *v[16];
	unsigned int n;

	(void)state;
	conf_file(&c, "times.jsonl");
	w = eph_natlog_writer_open(&c, hz, NULL, NULL, stderr);
	assert_non_null(w);
	/* Every 0.3 s from t0 - 0.6 s to t0 + 2.1 s: 10 events over 4 seconds. */
	for (unsigned int i = 0; i < 10; i++) {
		struct eph_natlog_event ev = session_event(EPH_NATLOG_SESSION_CREATE, 0);

		ev.tsc = t0 - 2 * (hz * 3 / 10) + i * (hz * 3 / 10);
		eph_natlog_emit(r, &ev);
	}
	assert_int_equal(eph_natlog_writer_drain(w, &r, 1, NULL, 0, 100), 10);
	n = read_lines(c.file, v, 16);
	assert_int_equal(n, 10);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t at = base - 600 + i * 300;

		/* t0 and base were read a few microseconds apart; the clock pair at open too. */
		assert_time_field(v[i], at - 5, at + 5);
	}
	free_lines(v, n);
	eph_natlog_writer_close(w);
	eph_natlog_ring_free(r);
}

static void
test_writer_reopen(void **state)
{
	struct eph_natlog_ring *r = ring_new(16);
	struct eph_conf_nat_log c;
	struct eph_natlog_writer *w;
	char old[4200];
	json_t *v[8];
	unsigned int n;

	(void)state;
	conf_file(&c, "rotate.jsonl");
	snprintf(old, sizeof(old), "%s.1", c.file);
	w = eph_natlog_writer_open(&c, rte_get_tsc_hz(), NULL, NULL, stderr);
	assert_non_null(w);
	for (unsigned int i = 0; i < 2; i++) {
		struct eph_natlog_event ev = session_event(EPH_NATLOG_SESSION_CREATE, 0);

		ev.in_port = rte_cpu_to_be_16((uint16_t)(1000 + i));
		eph_natlog_emit(r, &ev);
	}
	assert_int_equal(eph_natlog_writer_drain(w, &r, 1, NULL, 0, 100), 2);
	/* logrotate: move the file, then SIGHUP. */
	assert_int_equal(rename(c.file, old), 0);
	assert_int_equal(eph_natlog_writer_reopen(w), 0);
	for (unsigned int i = 0; i < 3; i++) {
		struct eph_natlog_event ev = session_event(EPH_NATLOG_SESSION_DELETE, 0);

		ev.in_port = rte_cpu_to_be_16((uint16_t)(2000 + i));
		eph_natlog_emit(r, &ev);
	}
	assert_int_equal(eph_natlog_writer_drain(w, &r, 1, NULL, 0, 100), 3);

	n = read_lines(old, v, 8);
	assert_int_equal(n, 2);
	assert_str_field(v[0], "inside", "192.0.2.11:1000");
	assert_str_field(v[1], "inside", "192.0.2.11:1001");
	assert_str_field(v[1], "pool", "0"); /* no names given */
	free_lines(v, n);
	n = read_lines(c.file, v, 8);
	assert_int_equal(n, 3);
	for (unsigned int i = 0; i < 3; i++) {
		char expect[32];

		snprintf(expect, sizeof(expect), "192.0.2.11:%u", 2000 + i);
		assert_str_field(v[i], "event", "session-delete");
		assert_str_field(v[i], "inside", expect);
	}
	free_lines(v, n);
	assert_int_equal(eph_natlog_writer_stats(w)->written, 5);
	eph_natlog_writer_close(w);
	eph_natlog_ring_free(r);
}

/* Reopen fails (the directory became a file): lines counted lost, retried once a second. */
static void
test_writer_reopen_retry(void **state)
{
	struct eph_natlog_ring *r = ring_new(16);
	struct eph_natlog_event ev = session_event(EPH_NATLOG_SESSION_CREATE, 0);
	struct eph_conf_nat_log c;
	struct eph_natlog_writer *w;
	char dir[128], moved[140], *text = NULL;
	size_t len = 0;
	FILE *err = open_memstream(&text, &len), *f;
	struct timespec pause = {.tv_sec = 1, .tv_nsec = 100000000};
	json_t *v[4];
	unsigned int n;

	(void)state;
	assert_non_null(err);
	conf_file(&c, "retry/nat.jsonl");
	snprintf(dir, sizeof(dir), "%s/retry", tmpdir);
	snprintf(moved, sizeof(moved), "%s.old", dir);
	w = eph_natlog_writer_open(&c, rte_get_tsc_hz(), NULL, NULL, err);
	assert_non_null(w);
	assert_int_equal(rename(dir, moved), 0);
	f = fopen(dir, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(eph_natlog_writer_reopen(w), -ENOTDIR);
	eph_natlog_emit(r, &ev);
	eph_natlog_emit(r, &ev);
	assert_int_equal(eph_natlog_writer_drain(w, &r, 1, NULL, 0, 100), 2);
	assert_int_equal(eph_natlog_writer_stats(w)->write_errors, 2);

	/* Fixed: the next drain a second later opens it (and makes the directory). */
	assert_int_equal(unlink(dir), 0);
	nanosleep(&pause, NULL);
	eph_natlog_emit(r, &ev);
	assert_int_equal(eph_natlog_writer_drain(w, &r, 1, NULL, 0, 100), 1);
	assert_int_equal(eph_natlog_writer_stats(w)->written, 1);
	assert_int_equal(eph_natlog_writer_stats(w)->write_errors, 2);
	n = read_lines(c.file, v, 4);
	assert_int_equal(n, 1);
	assert_str_field(v[0], "event", "session-create");
	free_lines(v, n);
	eph_natlog_writer_close(w);
	fclose(err);
	assert_non_null(strstr(text, "cannot reopen"));
	assert_non_null(strstr(text, "Not a directory"));
	free(text);
	eph_natlog_ring_free(r);
}

/* A file that refuses every write (over RLIMIT_FSIZE): errors counted per line, one warning. */
static void
test_writer_write_errors(void **state)
{
	struct eph_natlog_ring *r = ring_new(16);
	struct eph_conf_nat_log c;
	struct eph_natlog_writer *w;
	char *text = NULL, *p, expected[4200];
	size_t len = 0;
	unsigned int warnings = 0;
	FILE *err = open_memstream(&text, &len);
	struct rlimit old, none;

	(void)state;
	assert_non_null(err);
	conf_file(&c, "full.jsonl");
	w = eph_natlog_writer_open(&c, rte_get_tsc_hz(), NULL, NULL, err);
	assert_non_null(w);
	/* Writes past the limit fail with EFBIG once SIGXFSZ no longer kills. */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	none = (struct rlimit){ .rlim_cur = 0, .rlim_max = old.rlim_max };
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &none), 0);
	for (unsigned int round = 0; round < 2; round++) {
		for (unsigned int i = 0; i < 4; i++) {
			struct eph_natlog_event ev = session_event(EPH_NATLOG_SESSION_CREATE, 0);

			eph_natlog_emit(r, &ev);
		}
		assert_int_equal(eph_natlog_writer_drain(w, &r, 1, NULL, 0, 100), 4);
	}
	assert_int_equal(eph_natlog_writer_stats(w)->write_errors, 8);
	assert_int_equal(eph_natlog_writer_stats(w)->written, 0);
	eph_natlog_writer_close(w);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	fclose(err);
	for (p = text; (p = strstr(p, "ephemera: warning:")) != NULL; p++)
		warnings++;
	assert_int_equal(warnings, 1);
	snprintf(expected, sizeof(expected), "NAT log file: %s: File too large; 4 lines", c.file);
	assert_non_null(strstr(text, expected));
	free(text);
	eph_natlog_ring_free(r);
}

static void
test_writer_open_errors(void **state)
{
	struct eph_conf_nat_log c;
	char *text = NULL;
	size_t len = 0;
	FILE *err = open_memstream(&text, &len);
	FILE *f;

	(void)state;
	/* The "directory" is a regular file. */
	conf_file(&c, "plain");
	f = fopen(c.file, "w");
	assert_non_null(f);
	fclose(f);
	conf_file(&c, "plain/nat.jsonl");
	errno = 0;
	assert_null(eph_natlog_writer_open(&c, rte_get_tsc_hz(), NULL, NULL, err));
	assert_int_equal(errno, ENOTDIR);
	assert_null(eph_natlog_writer_open(&c, 0, NULL, NULL, err));
	assert_int_equal(errno, EINVAL);
	fclose(err);
	assert_non_null(strstr(text, "error: nat-log.file: cannot open"));
	assert_non_null(strstr(text, "plain/nat.jsonl"));
	free(text);
}

/*
 * A symbolic link at nat-log.file is not followed, at start or on reopen
 * (SIGHUP): the daemon runs as root and would append to any file it
 * points at. Nor is anything but a regular file written to.
 */
static void
test_writer_refuses_links(void **state)
{
	struct eph_natlog_ring *r = ring_new(16);
	struct eph_natlog_event ev = session_event(EPH_NATLOG_SESSION_CREATE, 0);
	struct eph_conf_nat_log c;
	struct eph_natlog_writer *w;
	char target[4200], moved[4200], expected[9000], *text = NULL;
	size_t len = 0;
	FILE *err = open_memstream(&text, &len), *f;
	struct stat st;

	(void)state;
	assert_non_null(err);
	snprintf(target, sizeof(target), "%s/precious", tmpdir);
	f = fopen(target, "w");
	assert_non_null(f);
	fclose(f);
	conf_file(&c, "link.jsonl");
	assert_int_equal(symlink(target, c.file), 0);
	errno = 0;
	assert_null(eph_natlog_writer_open(&c, rte_get_tsc_hz(), NULL, NULL, err));
	assert_int_equal(errno, ELOOP);
	assert_int_equal(fclose(err), 0);
	snprintf(expected, sizeof(expected),
		 "ephemera: error: nat-log.file: cannot open \"%s\": it is a symbolic link, which "
		 "is not followed; give the file's own path\n", c.file);
	assert_string_equal(text, expected);
	free(text);

	/* A device is not a log file either. */
	snprintf(c.file, sizeof(c.file), "/dev/null");
	err = open_memstream(&text, &len);
	assert_null(eph_natlog_writer_open(&c, rte_get_tsc_hz(), NULL, NULL, err));
	assert_int_equal(fclose(err), 0);
	assert_string_equal(text, "ephemera: error: nat-log.file: cannot open \"/dev/null\": it is "
				  "not a regular file\n");
	free(text);

	/* Rotated, and a link left where the file was: reopen refuses it, lines are lost. */
	conf_file(&c, "rotated.jsonl");
	snprintf(moved, sizeof(moved), "%s.1", c.file);
	err = open_memstream(&text, &len);
	w = eph_natlog_writer_open(&c, rte_get_tsc_hz(), NULL, NULL, err);
	assert_non_null(w);
	assert_int_equal(rename(c.file, moved), 0);
	assert_int_equal(symlink(target, c.file), 0);
	assert_int_equal(eph_natlog_writer_reopen(w), -ELOOP);
	eph_natlog_emit(r, &ev);
	assert_int_equal(eph_natlog_writer_drain(w, &r, 1, NULL, 0, 100), 1);
	assert_int_equal(eph_natlog_writer_stats(w)->write_errors, 1);
	eph_natlog_writer_close(w);
	assert_int_equal(fclose(err), 0);
	snprintf(expected, sizeof(expected),
		 "ephemera: warning: NAT log file: cannot reopen \"%s\": it is a symbolic link, "
		 "which is not followed; give the file's own path; retrying every second\n",
		 c.file);
	assert_string_equal(text, expected);
	free(text);
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 0);
	eph_natlog_ring_free(r);
}

/* Neither file nor syslog: alerts only, log events consumed. */
static void
test_writer_alerts_only(void **state)
{
	struct eph_natlog_ring *r = ring_new(16);
	struct eph_conf_nat_log c = {.ring = 16};
	struct eph_natlog_event ev = session_event(EPH_NATLOG_SESSION_CREATE, 0);
	struct eph_natlog_writer *w;
	struct alerts al = {0};

	(void)state;
	w = eph_natlog_writer_open(&c, rte_get_tsc_hz(), on_alert, &al, stderr);
	assert_non_null(w);
	eph_natlog_emit(r, &ev);
	ev.type = EPH_NATLOG_DEST_EXHAUSTED;
	eph_natlog_emit(r, &ev);
	assert_int_equal(eph_natlog_writer_drain(w, &r, 1, NULL, 0, 100), 2);
	assert_int_equal(al.n, 1);
	assert_int_equal(al.ev[0].type, EPH_NATLOG_DEST_EXHAUSTED);
	assert_int_equal(eph_natlog_writer_stats(w)->written, 0);
	assert_int_equal(eph_natlog_writer_stats(w)->write_errors, 0);
	eph_natlog_writer_close(w);
	eph_natlog_ring_free(r);
}

static void
test_writer_syslog(void **state)
{
	struct eph_natlog_ring *r = ring_new(16);
	struct eph_conf_nat_log c = {.syslog = true, .ring = 16};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct eph_natlog_event ev = session_event(EPH_NATLOG_SESSION_CREATE, 1);
	struct eph_natlog_writer *w;
	const char *pools[] = {"default"};
	char msg[2048], prefix[64];
	json_t *v;
	ssize_t n;
	int s;

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/log.sock", tmpdir);
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);

	w = eph_natlog_writer_open(&c, rte_get_tsc_hz(), NULL, NULL, NULL);
	assert_non_null(w);
	assert_int_equal(eph_natlog_writer_syslog_socket(w, sa.sun_path), 0);
	eph_natlog_emit(r, &ev);
	assert_int_equal(eph_natlog_writer_drain(w, &r, 1, pools, 1, 100), 1);
	n = recv(s, msg, sizeof(msg) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	msg[n] = '\0';
	/* "<30>Mmm dd hh:mm:ss ephemera-nat[pid]: {...}" */
	assert_memory_equal(msg, "<30>", 4);
	snprintf(prefix, sizeof(prefix), " ephemera-nat[%d]: {", (int)getpid());
	assert_int_equal(msg[19], ' ');
	assert_memory_equal(msg + 19, prefix, strlen(prefix));
	v = json_loads(msg + 19 + strlen(prefix) - 1, 0, NULL);
	assert_non_null(v);
	assert_str_field(v, "event", "session-create");
	assert_str_field(v, "outside", "203.0.113.100:40001");
	assert_int_field(v, "worker", 1);
	json_decref(v);
	assert_int_equal(eph_natlog_writer_stats(w)->syslog_sent, 1);

	/* The syslog daemon went away: counted, not fatal. */
	close(s);
	unlink(sa.sun_path);
	eph_natlog_emit(r, &ev);
	eph_natlog_emit(r, &ev);
	assert_int_equal(eph_natlog_writer_drain(w, &r, 1, pools, 1, 100), 2);
	assert_int_equal(eph_natlog_writer_stats(w)->syslog_sent, 1);
	assert_int_equal(eph_natlog_writer_stats(w)->syslog_errors, 2);
	eph_natlog_writer_close(w);
	eph_natlog_ring_free(r);
}

static int
remove_tree(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

int
main(int argc, char **argv)
{
	char prefix[64];
	char *eal[] = {argv[0],         "--no-huge",   "-m", "256", "--no-pci",    "--no-telemetry",
		       "--file-prefix", prefix, "-l", "0",   "--log-level", "error"};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_ring_overflow),
		cmocka_unit_test(test_ring_create_errors),
		cmocka_unit_test(test_format_time),
		cmocka_unit_test(test_event_json),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_writer_file),
		cmocka_unit_test(test_writer_budget),
		cmocka_unit_test(test_writer_times),
		cmocka_unit_test(test_writer_reopen),
		cmocka_unit_test(test_writer_reopen_retry),
		cmocka_unit_test(test_writer_write_errors),
		cmocka_unit_test(test_writer_open_errors),
		cmocka_unit_test(test_writer_refuses_links),
		cmocka_unit_test(test_writer_alerts_only),
		cmocka_unit_test(test_writer_syslog),
	};
	int rc;

	(void)argc;
	t_eal_prefix(prefix, sizeof(prefix), "unit-natlog");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/eph_t_natlog.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("test_natlog: mkdtemp");
		return 1;
	}
	if (rte_eal_init((int)RTE_DIM(eal), eal) < 0) {
		fprintf(stderr, "test_natlog: EAL init failed\n");
		return 1;
	}
	rc = cmocka_run_group_tests_name("natlog", tests, NULL, NULL);
	rte_eal_cleanup();
	if (remove_tree() != 0)
		fprintf(stderr, "test_natlog: could not remove %s\n", tmpdir);
	return rc;
}

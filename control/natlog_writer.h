/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NAT log on the control lcore: drains the workers' event rings
 * (dataplane/nat/natlog.h) and writes one JSON object per line, to a file
 * and/or to syslog. Sessions:
 *
 *   {"time":"2026-11-28T01:02:03.456Z","event":"session-create","pool":"default",
 *    "proto":"tcp","inside":"192.0.2.11:40000","outside":"203.0.113.100:40000",
 *    "remote":"203.0.113.10:80","worker":0}
 *
 * deletes add "reason" and "duration_s"; port blocks (RFC 7422):
 *
 *   {"time":"...","event":"block-alloc","pool":"default","inside":"192.0.2.11",
 *    "outside":"203.0.113.100","ports":"1024-1279","worker":0}
 *
 * Times are UTC with milliseconds, converted from the event's TSC by a
 * (realtime, TSC) pair taken at open and renewed every second, with the TSC
 * rate measured between renewals (so the log follows NTP, and a nominal
 * TSC rate that is slightly off does not add up). Destination warnings
 * (DEST_OCCUPANCY, DEST_EXHAUSTED) are not logged here: they go to the
 * alert callback, so one ring type carries both.
 *
 * The file is opened O_APPEND|O_CREAT, mode 0640, its directory created if
 * missing; lines are buffered and written at the end of each drain. Syslog
 * messages go to /dev/log as "ephemera-nat[pid]", facility daemon, level
 * info, through the writer's own socket: openlog(3) would rename the
 * process's other syslog messages, DPDK's among them. Write errors never
 * stop anything: they are counted and reported on err at most once a
 * minute per output, and a file that cannot be opened is retried every
 * second. Not thread-safe: one control thread owns the writer.
 */
#ifndef EPH_NATLOG_WRITER_H
#define EPH_NATLOG_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "control/config.h"
#include "dataplane/nat/natlog.h"

#define EPH_NATLOG_SYSLOG_PATH  "/dev/log"
#define EPH_NATLOG_SYSLOG_IDENT "ephemera-nat"

struct eph_natlog_writer;

/* Called for each DEST_OCCUPANCY / DEST_EXHAUSTED event drained. */
typedef void (*eph_natlog_alert_fn)(void *arg, const struct eph_natlog_event *ev);

struct eph_natlog_writer_stats {
	uint64_t written;       /* lines the file took */
	uint64_t write_errors;  /* lines the file did not take (write or open failed) */
	uint64_t syslog_sent;   /* messages syslog took */
	uint64_t syslog_errors; /* messages it did not (no socket, full, refused) */
	uint64_t alerts;        /* destination events drained (given to the callback if any) */
	uint64_t bad_events;    /* unknown event type: dropped */
};

/*
 * Open the outputs of c (file "" : none; syslog false : none; neither is
 * valid: only alerts then). tsc_hz: rte_get_tsc_hz(). alert may be NULL.
 * err gets the warnings (may be NULL: silent). Returns NULL with errno set
 * and a line on err naming nat-log.file when the file cannot be opened
 * (ENOMEM, EINVAL: tsc_hz 0). A syslog socket that is not there yet is
 * only a warning: it is retried.
 */
struct eph_natlog_writer *eph_natlog_writer_open(const struct eph_conf_nat_log *c, uint64_t tsc_hz,
						 eph_natlog_alert_fn alert, void *alert_arg,
						 FILE *err);

/*
 * Drain up to budget events from the rings, a burst from each in turn
 * (NULL rings are skipped), write them out and flush. pool_names[i] names
 * pool index i (n_pools entries; an index beyond them, or a NULL or
 * non-UTF-8 name, is written as its number). Returns the events drained.
 */
unsigned int eph_natlog_writer_drain(struct eph_natlog_writer *w,
				     struct eph_natlog_ring *const *rings, unsigned int n_rings,
				     const char *const *pool_names, unsigned int n_pools,
				     unsigned int budget);

/*
 * Close and reopen the file by its path (SIGHUP after logrotate moved it)
 * and reconnect to syslog. 0, or -errno when the file cannot be opened
 * (reported on err; it is retried every second until it can).
 */
int eph_natlog_writer_reopen(struct eph_natlog_writer *w);

/* Flush and close everything. w may be NULL. */
void eph_natlog_writer_close(struct eph_natlog_writer *w);

const struct eph_natlog_writer_stats *eph_natlog_writer_stats(const struct eph_natlog_writer *w);

/*
 * Send syslog messages to the datagram socket at path instead of /dev/log
 * (systems that keep it elsewhere, tests). 0 or -errno (still retried).
 */
int eph_natlog_writer_syslog_socket(struct eph_natlog_writer *w, const char *path);

/*
 * The pieces, exposed for the daemon's warnings and for tests.
 *
 * eph_natlog_format_time: tsc as UTC "YYYY-MM-DDThh:mm:ss.mmmZ" (24
 * characters + NUL) given that the realtime clock read *anchor when the
 * TSC read anchor_tsc; tsc may be older than the anchor. Returns the
 * length, or -ENOSPC.
 *
 * eph_natlog_event_json: the log line of ev (no newline) for pool name pool
 * (NULL, not UTF-8 or over 128 bytes: the pool's index instead) and time
 * text time. Returns the length, -EINVAL for an event that is not logged
 * (destination events, unknown types) or a time that is NULL or not UTF-8,
 * -ENOSPC when size is short (a line needs at most about 300 bytes).
 *
 * eph_natlog_describe: one line of text about a destination event, e.g.
 * "pool default worker 1: 203.0.113.100 -> 203.0.113.10:80/tcp is 81% full
 * (1620 of 2000 ports)". Returns what snprintf returns.
 */
int eph_natlog_format_time(char *buf, size_t size, const struct timespec *anchor,
			   uint64_t anchor_tsc, uint64_t tsc_hz, uint64_t tsc);
int eph_natlog_event_json(const struct eph_natlog_event *ev, const char *pool, const char *time,
			  char *buf, size_t size);
int eph_natlog_describe(const struct eph_natlog_event *ev, const char *pool, char *buf,
			size_t size);

#endif /* EPH_NATLOG_WRITER_H */

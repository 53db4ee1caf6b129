/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An optional Prometheus endpoint: GET /metrics over HTTP, served by
 * libmicrohttpd without threads. eph_metrics_http_poll runs it from the
 * control loop, so render() sees the daemon's state from that loop too.
 */
#ifndef EPH_METRICS_HTTP_H
#define EPH_METRICS_HTTP_H

#include <stdint.h>
#include <stdio.h>

#define EPH_METRICS_HTTP_MAX_CONNECTIONS 32
#define EPH_METRICS_HTTP_TIMEOUT_S       10 /* a connection idle this long is closed */
#define EPH_METRICS_CONTENT_TYPE         "text/plain; version=0.0.4"

struct eph_metrics_http;

/*
 * Listen on addr:port (host order; port 0 picks a free one). render
 * returns the exposition text, malloc'd (freed here), or NULL for a 500.
 * NULL with the reason written to err.
 */
struct eph_metrics_http *eph_metrics_http_open(uint32_t addr_host_order, uint16_t port,
					       char *(*render)(void *ctx), void *ctx, FILE *err);

/* Serve what is ready: accept, read, answer, expire; never blocks. */
void eph_metrics_http_poll(struct eph_metrics_http *h);

/* The port listened on (useful after asking for port 0). */
uint16_t eph_metrics_http_port(const struct eph_metrics_http *h);

/* Stop and close every connection. NULL is ignored. */
void eph_metrics_http_close(struct eph_metrics_http *h);

#endif /* EPH_METRICS_HTTP_H */

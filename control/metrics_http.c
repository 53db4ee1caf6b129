/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Prometheus text over HTTP (see metrics_http.h). libmicrohttpd runs in
 * external-poll mode: no thread of its own, MHD_run from the control loop
 * does everything that is ready and returns. A connection limit and an
 * idle timeout keep stalled scrapers from piling up.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <rte_log.h>

#include "control/metrics_http.h"

RTE_LOG_REGISTER(eph_metrics_logtype, user.ephemera.metrics, NOTICE);

#define METRICS_PATH "/metrics"

struct eph_metrics_http {
	struct MHD_Daemon *daemon;
	char *(*render)(void *ctx);
	void *ctx;
	uint16_t port;
	bool running;          /* started: MHD's messages go to the log */
	char start_error[256]; /* MHD's last message while starting */
};

static const char not_found[] = "not found: this server has only " METRICS_PATH "\n";
static const char not_allowed[] = "method not allowed: use GET\n";
static const char unavailable[] = "metrics unavailable\n";

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct eph_metrics_http *h = cls;
	char msg[sizeof(h->start_error)];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	if (!h->running)
		memcpy(h->start_error, msg, sizeof(msg));
	else
		rte_log(RTE_LOG_DEBUG, eph_metrics_logtype, "ephemera: metrics: %s\n", msg);
}

/* A static body (MHD does not copy or free it). */
static enum MHD_Result
reply_static(struct MHD_Connection *conn, unsigned int status, const char *body)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
serve(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
      const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct eph_metrics_http *h = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *text;

	/* Every answer is decided by the request line, so it goes on the first call. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed);
	if (strcmp(url, METRICS_PATH) != 0)
		return reply_static(conn, MHD_HTTP_NOT_FOUND, not_found);
	text = h->render(h->ctx);
	if (text == NULL)
		return reply_static(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, unavailable);
	/* A copy, so that the text is freed here with the allocator that made it. */
	r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
	free(text);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, EPH_METRICS_CONTENT_TYPE);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

struct eph_metrics_http *
eph_metrics_http_open(uint32_t addr_host_order, uint16_t port, char *(*render)(void *ctx),
		      void *ctx, FILE *err)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(addr_host_order),
	};
	unsigned int flags = MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	char ip[INET_ADDRSTRLEN];
	struct eph_metrics_http *h;

	inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		fprintf(err, "ephemera: error: metrics: out of memory\n");
		return NULL;
	}
	h->render = render;
	h->ctx = ctx;
	/* select() cannot watch descriptors past FD_SETSIZE; epoll can. */
	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
		flags |= MHD_USE_EPOLL;
	h->daemon = MHD_start_daemon(flags, port, NULL, NULL, serve, h,
				     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				     MHD_OPTION_CONNECTION_LIMIT,
				     (unsigned int)EPH_METRICS_HTTP_MAX_CONNECTIONS,
				     MHD_OPTION_CONNECTION_TIMEOUT,
				     (unsigned int)EPH_METRICS_HTTP_TIMEOUT_S,
				     MHD_OPTION_END);
	if (h->daemon == NULL) {
		if (h->start_error[0] == '\0')
			snprintf(h->start_error, sizeof(h->start_error),
				 "libmicrohttpd did not start; is the port in use?");
		fprintf(err, "ephemera: error: metrics: cannot serve http://%s:%u%s: %s\n", ip,
			port, METRICS_PATH, h->start_error);
		free(h);
		return NULL;
	}
	h->running = true;
	info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info != NULL && info->port != 0 ? info->port : port;
	return h;
}

void
eph_metrics_http_poll(struct eph_metrics_http *h)
{
	MHD_run(h->daemon);
}

uint16_t
eph_metrics_http_port(const struct eph_metrics_http *h)
{
	return h->port;
}

void
eph_metrics_http_close(struct eph_metrics_http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->daemon);
	free(h);
}

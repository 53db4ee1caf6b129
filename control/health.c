/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Backend health (see health.h), in the manner of HAProxy's checks and
 * Envoy's outlier detection.
 *
 * Active checks run on one thread of the control plane: http through
 * libcurl's multi interface (GET over HTTP/1.1, a fresh connection each
 * time, the status against the expected set), tcp as a libcurl connect
 * only, udp as a connected datagram socket of our own waiting for any
 * answer (an ICMP port unreachable fails it at once). Every socket is
 * bound to the kernel interface of the port that reaches the backend
 * (SO_BINDTODEVICE), so checks leave through the data plane from the
 * gateway's own address, as the backends' other traffic does. A backend
 * goes down after `fall` consecutive failures and comes back after `rise`
 * consecutive passes; it starts up and is checked at once.
 *
 * Passive detection: the control lcore reports the connection failures the
 * workers counted (a SYN refused by RST, a SYN the client had to send
 * again, a SYN never answered); `failures` of them within `window` eject
 * the backend: until `rise` checks pass, or, without an active check,
 * for `ejection`.
 *
 * All-down: when the last backend of a VIP goes down, with all-down: keep
 * it keeps its share of the table (it was the last known good); with
 * refuse the VIP answers as having no backend.
 */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "control/health.h"
#include "control/log.h"

#define PASSIVE_BUCKETS 10   /* a passive window is this many buckets */
#define IDLE_WAIT_MS    1000 /* longest sleep of the checker between looks */

struct hc {
	/* who: VIP name, address and port (host order) */
	char vip[EPH_NAME_LEN];
	uint32_t addr;
	uint16_t port;
	/* what to do: from the configuration */
	struct eph_conf_health check;
	uint16_t check_port;
	char ifname[EPH_IFNAME_LEN];
	struct eph_conf_outlier outlier;
	enum eph_lb_all_down all_down;
	bool live;            /* false: retired by a change, freed by the checker */
	/* state */
	bool active_up;
	bool ejected;
	bool kept;
	uint64_t eject_until_ms;
	unsigned pass_run;
	unsigned fail_run;
	struct eph_health_status st;
	uint64_t since_ms;
	/* passive window */
	uint32_t bucket[PASSIVE_BUCKETS];
	unsigned bucket_i;
	uint64_t bucket_start_ms;
	/* the check in flight */
	bool busy;
	uint64_t started_ms;
	uint64_t next_ms;
	CURL *easy;
	struct curl_slist *headers;
	int udp_fd;
};

struct eph_health {
	pthread_t thread;
	pthread_mutex_t lock;
	bool stop;
	bool started;
	CURLM *multi;
	struct hc **list;     /* sorted by vip, addr, port */
	unsigned n;
	struct hc **retired;  /* out of the configuration, maybe still in flight */
	unsigned n_retired;
	unsigned cap_retired;
	uint64_t generation;  /* written under lock, read without */
};

uint64_t
eph_health_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
key_cmp(const char *vip, uint32_t addr, uint16_t port, const struct hc *b)
{
	int c = strcmp(vip, b->vip);

	if (c != 0)
		return c;
	if (addr != b->addr)
		return addr < b->addr ? -1 : 1;
	return port < b->port ? -1 : port > b->port;
}

static int
hc_cmp(const void *x, const void *y)
{
	const struct hc *a = *(const struct hc *const *)x, *b = *(const struct hc *const *)y;

	return key_cmp(a->vip, a->addr, a->port, b);
}

static struct hc *
find(struct hc **list, unsigned n, const char *vip, uint32_t addr, uint16_t port)
{
	unsigned lo = 0, hi = n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		int c = key_cmp(vip, addr, port, list[mid]);

		if (c == 0)
			return list[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static inline bool
is_up(const struct hc *b)
{
	return b->active_up && !b->ejected;
}

/* The backends of b's VIP that are up (the list is sorted: they sit together). */
static unsigned
vip_up(const struct eph_health *h, const char *vip)
{
	unsigned n = 0;

	for (unsigned i = 0; i < h->n; i++)
		n += strcmp(h->list[i]->vip, vip) == 0 && is_up(h->list[i]);
	return n;
}

/* After b's state may have changed (was_up: before): count, log, keep the last one. */
static void
settle(struct eph_health *h, struct hc *b, bool was_up, const char *reason, uint64_t now)
{
	bool up = is_up(b);

	if (up == was_up)
		return;
	if (up) {
		b->st.ups++;
		for (unsigned i = 0; i < h->n; i++)
			if (strcmp(h->list[i]->vip, b->vip) == 0)
				h->list[i]->kept = false;
	} else {
		b->st.downs++;
		b->kept = b->all_down == EPH_LB_ALL_DOWN_KEEP && vip_up(h, b->vip) == 0;
	}
	snprintf(b->st.reason, sizeof(b->st.reason), "%s", reason);
	b->since_ms = now;
	__atomic_add_fetch(&h->generation, 1, __ATOMIC_RELEASE);
	EPH_LOG(NOTICE, "vip %s: backend " IPV4_FMT ":%u %s: %s%s", b->vip, IPV4_ARGS(b->addr),
		b->port, up ? "up" : "down", reason,
		b->kept ? " (the VIP's last: it keeps its connections' share, all-down: keep)" : "");
}

static void
check_end(struct hc *b)
{
	b->busy = false;
	if (b->udp_fd >= 0) {
		close(b->udp_fd);
		b->udp_fd = -1;
	}
	curl_slist_free_all(b->headers);
	b->headers = NULL;
}

/* A check's verdict. */
static void
check_done(struct eph_health *h, struct hc *b, bool ok, const char *what, uint32_t latency_us,
	   uint64_t now)
{
	bool was = is_up(b);
	char reason[160];

	check_end(b);
	b->st.checks++;
	snprintf(b->st.last, sizeof(b->st.last), "%s", what);
	if (ok)
		b->st.latency_us = latency_us;
	reason[0] = '\0';
	if (ok) {
		b->fail_run = 0;
		b->pass_run++;
		if (b->pass_run >= b->check.rise && (!b->active_up || b->ejected)) {
			snprintf(reason, sizeof(reason), "%u %s check%s passed (%s)", b->pass_run,
				 eph_health_type_name(b->check.type), b->pass_run == 1 ? "" : "s", what);
			b->active_up = true;
			b->ejected = false;
		}
	} else {
		b->st.failed++;
		b->pass_run = 0;
		b->fail_run++;
		if (b->active_up && b->fail_run >= b->check.fall) {
			snprintf(reason, sizeof(reason), "%u %s check%s failed, the last: %s",
				 b->fail_run, eph_health_type_name(b->check.type),
				 b->fail_run == 1 ? "" : "s", what);
			b->active_up = false;
		}
	}
	settle(h, b, was, reason, now);
}

static size_t
discard(char *ptr, size_t size, size_t n, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * n;
}

static void
check_start_udp(struct eph_health *h, struct hc *b, uint64_t now)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET,
		.sin_port = htons(b->check_port),
		.sin_addr.s_addr = htonl(b->addr),
	};
	char what[96];
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	b->udp_fd = fd;
	if (b->ifname[0] != '\0' &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, b->ifname, (socklen_t)strlen(b->ifname)) != 0)
		goto fail;
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0 ||
	    send(fd, b->check.send, strlen(b->check.send), 0) < 0)
		goto fail;
	return;
fail:
	snprintf(what, sizeof(what), "udp: %s", strerror(errno));
	check_done(h, b, false, what, 0, now);
}

static void
check_start_curl(struct eph_health *h, struct hc *b, uint64_t now)
{
	char url[EPH_HEALTH_PATH_LEN + 64], iface[EPH_IFNAME_LEN + 4], host[EPH_HEALTH_HOST_LEN + 8];
	CURL *e = curl_easy_init();

	if (e == NULL) {
		check_done(h, b, false, "no memory for the check", 0, now);
		return;
	}
	snprintf(url, sizeof(url), "http://" IPV4_FMT ":%u%s", IPV4_ARGS(b->addr), b->check_port,
		 b->check.type == EPH_HEALTH_HTTP ? b->check.path : "/");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, b);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)b->check.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)b->check.timeout_ms);
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	if (b->ifname[0] != '\0') {
		snprintf(iface, sizeof(iface), "if!%s", b->ifname);
		curl_easy_setopt(e, CURLOPT_INTERFACE, iface);
	}
	if (b->check.type == EPH_HEALTH_TCP) {
		curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
	} else {
		curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
		curl_easy_setopt(e, CURLOPT_USERAGENT, "ephemera-health-check/" EPH_VERSION);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
		if (b->check.host[0] != '\0') {
			snprintf(host, sizeof(host), "Host: %s", b->check.host);
			b->headers = curl_slist_append(NULL, host);
			curl_easy_setopt(e, CURLOPT_HTTPHEADER, b->headers);
		}
	}
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		check_done(h, b, false, "the check could not start", 0, now);
		return;
	}
	b->easy = e;
}

static void
check_start(struct eph_health *h, struct hc *b, uint64_t now)
{
	b->busy = true;
	b->started_ms = now;
	b->next_ms = now + b->check.interval_ms;
	if (b->check.type == EPH_HEALTH_UDP)
		check_start_udp(h, b, now);
	else
		check_start_curl(h, b, now);
}

/* A curl check that finished. */
static void
curl_done(struct eph_health *h, CURL *e, CURLcode rc, uint64_t now)
{
	struct hc *b = NULL;
	char what[96];
	curl_off_t us = 0;
	long status = 0, os_errno = 0;
	bool ok = false;

	curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&b);
	curl_multi_remove_handle(h->multi, e);
	if (b == NULL || b->easy != e) {
		curl_easy_cleanup(e);
		return;
	}
	b->easy = NULL;
	if (rc == CURLE_OK && b->check.type == EPH_HEALTH_TCP) {
		curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &us);
		snprintf(what, sizeof(what), "connected");
		ok = true;
	} else if (rc == CURLE_OK) {
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &us);
		ok = status >= 0 && status <= EPH_HEALTH_STATUS_MAX &&
		     (b->check.expect_set[status / 8] & (1u << (status % 8))) != 0;
		snprintf(what, sizeof(what), "HTTP %ld%s", status, ok ? "" : ", not expected");
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(what, sizeof(what), "no answer within %u ms", b->check.timeout_ms);
	} else {
		curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
		snprintf(what, sizeof(what), "%s%s%s", curl_easy_strerror(rc), os_errno ? ": " : "",
			 os_errno ? strerror((int)os_errno) : "");
	}
	curl_easy_cleanup(e);
	if (b->live)
		check_done(h, b, ok, what, (uint32_t)us, now);
	else
		check_end(b);
}

/* A udp check in flight: an answer, an ICMP error, or the timeout. */
static void
udp_poll(struct eph_health *h, struct hc *b, uint64_t now)
{
	char buf[512], what[96];
	ssize_t n = recv(b->udp_fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n >= 0) {
		snprintf(what, sizeof(what), "answered %zd bytes", n);
		check_done(h, b, true, what, (uint32_t)((now - b->started_ms) * 1000), now);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
		snprintf(what, sizeof(what), "udp: %s", strerror(errno));
		check_done(h, b, false, what, 0, now);
	} else if (now - b->started_ms >= b->check.timeout_ms) {
		snprintf(what, sizeof(what), "no answer within %u ms", b->check.timeout_ms);
		check_done(h, b, false, what, 0, now);
	}
}

static void
hc_free(struct eph_health *h, struct hc *b)
{
	if (b->easy != NULL) {
		curl_multi_remove_handle(h->multi, b->easy);
		curl_easy_cleanup(b->easy);
	}
	check_end(b);
	free(b);
}

static void *
checker(void *arg)
{
	struct eph_health *h = arg;
	struct curl_waitfd fds[64];

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		uint64_t now = eph_health_now_ms(), wake = now + IDLE_WAIT_MS;
		unsigned n_fds = 0;
		CURLMsg *msg;
		int left;

		for (unsigned i = 0; i < h->n_retired; i++)
			hc_free(h, h->retired[i]);
		h->n_retired = 0;
		for (unsigned i = 0; i < h->n; i++) {
			struct hc *b = h->list[i];

			if (b->ejected && b->check.type == EPH_HEALTH_NONE) {
				if (now >= b->eject_until_ms) {
					char reason[96];

					b->ejected = false;
					memset(b->bucket, 0, sizeof(b->bucket));
					snprintf(reason, sizeof(reason), "ejection of %u ms over",
						 b->outlier.ejection_ms);
					settle(h, b, false, reason, now);
				} else if (b->eject_until_ms < wake) {
					wake = b->eject_until_ms;
				}
			}
			if (b->busy) {
				if (b->udp_fd >= 0) {
					udp_poll(h, b, now);
					if (b->busy && n_fds < sizeof(fds) / sizeof(fds[0]))
						fds[n_fds++] = (struct curl_waitfd){
							.fd = b->udp_fd, .events = CURL_WAIT_POLLIN,
						};
					if (b->busy && b->started_ms + b->check.timeout_ms < wake)
						wake = b->started_ms + b->check.timeout_ms;
				}
				continue;
			}
			if (b->check.type == EPH_HEALTH_NONE)
				continue;
			if (now >= b->next_ms)
				check_start(h, b, now);
			if (b->next_ms < wake)
				wake = b->next_ms;
		}
		pthread_mutex_unlock(&h->lock);
		curl_multi_poll(h->multi, fds, n_fds, (int)(wake > now ? wake - now : 0), NULL);
		pthread_mutex_lock(&h->lock);
		curl_multi_perform(h->multi, &left);
		now = eph_health_now_ms();
		while ((msg = curl_multi_info_read(h->multi, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE)
				curl_done(h, msg->easy_handle, msg->data.result, now);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

struct eph_health *
eph_health_create(FILE *err)
{
	struct eph_health *h = calloc(1, sizeof(*h));
	int ret;

	if (h == NULL) {
		fprintf(err, "ephemera: error: no memory for the health checker\n");
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (h->multi = curl_multi_init()) == NULL) {
		fprintf(err, "ephemera: error: libcurl could not start\n");
		free(h);
		return NULL;
	}
	ret = pthread_create(&h->thread, NULL, checker, h);
	if (ret != 0) {
		fprintf(err, "ephemera: error: cannot start the health checker thread: %s\n",
			strerror(ret));
		curl_multi_cleanup(h->multi);
		curl_global_cleanup();
		free(h);
		return NULL;
	}
	h->started = true;
	pthread_setname_np(h->thread, "eph-health");
	return h;
}

void
eph_health_destroy(struct eph_health *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_mutex_unlock(&h->lock);
	curl_multi_wakeup(h->multi);
	if (h->started)
		pthread_join(h->thread, NULL);
	for (unsigned i = 0; i < h->n; i++)
		hc_free(h, h->list[i]);
	for (unsigned i = 0; i < h->n_retired; i++)
		hc_free(h, h->retired[i]);
	free(h->list);
	free(h->retired);
	curl_multi_cleanup(h->multi);
	curl_global_cleanup();
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* Update b from backend cb of VIP cv; n: its rank among all, to spread the first checks. */
static void
hc_set(struct hc *b, const struct eph_conf *conf, const struct eph_conf_vip *cv,
       const struct eph_conf_backend *cb, unsigned n, uint64_t now)
{
	const struct eph_conf_health *c = cb->own_health ? &cb->health : &cv->health;
	int port = eph_conf_egress_port(conf, cb->addr);
	bool changed = !eph_conf_health_equal(&b->check, c);

	b->check = *c;
	b->check_port = c->port != 0 ? c->port : cb->port;
	snprintf(b->ifname, sizeof(b->ifname), "%s", port >= 0 ? conf->ports[port].kernel_if : "");
	b->outlier = cv->outlier;
	b->all_down = cv->all_down;
	b->live = true;
	if (changed && !b->busy) {
		/* A new or changed check runs soon; many at once spread over 100 ms. */
		b->next_ms = now + n % 100;
		b->pass_run = 0;
		b->fail_run = 0;
	}
	if (c->type == EPH_HEALTH_NONE && !b->active_up) {
		b->active_up = true; /* no check left to keep it down */
		b->kept = false;
	}
}

int
eph_health_configure(struct eph_health *h, const struct eph_conf *conf)
{
	uint64_t now = eph_health_now_ms();
	unsigned total = 0, n = 0;
	struct hc **list;

	for (unsigned i = 0; i < conf->n_vips; i++)
		total += conf->vips[i].n_backends;
	list = calloc(total + 1, sizeof(*list));
	if (list == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < h->n; i++)
		h->list[i]->live = false;
	for (unsigned i = 0; i < conf->n_vips; i++) {
		const struct eph_conf_vip *cv = &conf->vips[i];

		for (unsigned k = 0; k < cv->n_backends; k++) {
			const struct eph_conf_backend *cb = &cv->backends[k];
			struct hc *b = find(h->list, h->n, cv->name, cb->addr, cb->port);

			if (b == NULL) {
				b = calloc(1, sizeof(*b));
				if (b == NULL)
					goto nomem;
				snprintf(b->vip, sizeof(b->vip), "%s", cv->name);
				b->addr = cb->addr;
				b->port = cb->port;
				b->active_up = true;
				b->udp_fd = -1;
				b->since_ms = now;
				b->check.type = EPH_HEALTH_NONE;
				b->check.interval_ms = UINT32_MAX; /* differs from any: checked at once */
			}
			hc_set(b, conf, cv, cb, n, now);
			list[n++] = b;
		}
	}
	qsort(list, n, sizeof(*list), hc_cmp);
	/* What left the configuration goes to the checker to free (it may be in flight). */
	for (unsigned i = 0; i < h->n; i++) {
		struct hc *b = h->list[i];
		struct hc **r;

		if (b->live)
			continue;
		if (h->n_retired == h->cap_retired) {
			unsigned cap = h->cap_retired ? h->cap_retired * 2 : 16;

			r = realloc(h->retired, cap * sizeof(*r));
			if (r == NULL) {
				hc_free(h, b); /* the checker waits on the lock: nothing is in flight for it */
				continue;
			}
			h->retired = r;
			h->cap_retired = cap;
		}
		h->retired[h->n_retired++] = b;
	}
	free(h->list);
	h->list = list;
	h->n = n;
	__atomic_add_fetch(&h->generation, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&h->lock);
	curl_multi_wakeup(h->multi);
	return 0;
nomem:
	/* New entries made so far are in list only: free them; the old ones stay. */
	for (unsigned i = 0; i < n; i++)
		if (find(h->list, h->n, list[i]->vip, list[i]->addr, list[i]->port) != list[i])
			free(list[i]);
	for (unsigned i = 0; i < h->n; i++)
		h->list[i]->live = true;
	pthread_mutex_unlock(&h->lock);
	free(list);
	return -ENOMEM;
}

void
eph_health_passive(struct eph_health *h, const char *vip, uint32_t addr, uint16_t port,
		   uint64_t failures, uint64_t now_ms)
{
	struct hc *b;
	uint64_t width, sum = 0;
	char reason[128];

	pthread_mutex_lock(&h->lock);
	b = find(h->list, h->n, vip, addr, port);
	if (b == NULL || b->outlier.failures == 0) {
		if (b != NULL)
			b->st.passive_failures += failures;
		pthread_mutex_unlock(&h->lock);
		return;
	}
	b->st.passive_failures += failures;
	width = b->outlier.window_ms / PASSIVE_BUCKETS;
	if (width == 0)
		width = 1;
	if (b->bucket_start_ms == 0 || now_ms - b->bucket_start_ms >= width * PASSIVE_BUCKETS) {
		memset(b->bucket, 0, sizeof(b->bucket));
		b->bucket_start_ms = now_ms;
	}
	while (now_ms - b->bucket_start_ms >= width) {
		b->bucket_i = (b->bucket_i + 1) % PASSIVE_BUCKETS;
		b->bucket[b->bucket_i] = 0;
		b->bucket_start_ms += width;
	}
	b->bucket[b->bucket_i] += (uint32_t)(failures > UINT32_MAX ? UINT32_MAX : failures);
	for (unsigned i = 0; i < PASSIVE_BUCKETS; i++)
		sum += b->bucket[i];
	if (!b->ejected && sum >= b->outlier.failures) {
		bool was = is_up(b);

		b->ejected = true;
		b->eject_until_ms = now_ms + b->outlier.ejection_ms;
		b->pass_run = 0;
		memset(b->bucket, 0, sizeof(b->bucket));
		snprintf(reason, sizeof(reason),
			 "%" PRIu64 " connection failures within %u ms (outlier-detection)%s", sum,
			 b->outlier.window_ms,
			 b->check.type == EPH_HEALTH_NONE ? "" : "; back after rise checks pass");
		settle(h, b, was, reason, now_ms);
	}
	pthread_mutex_unlock(&h->lock);
	curl_multi_wakeup(h->multi);
}

uint64_t
eph_health_generation(struct eph_health *h)
{
	return __atomic_load_n(&h->generation, __ATOMIC_ACQUIRE);
}

bool
eph_health_serving(struct eph_health *h, const char *vip, uint32_t addr, uint16_t port)
{
	const struct hc *b;
	bool serving = true;

	if (h == NULL)
		return true;
	pthread_mutex_lock(&h->lock);
	b = find(h->list, h->n, vip, addr, port);
	if (b != NULL && !is_up(b))
		serving = b->kept && b->all_down == EPH_LB_ALL_DOWN_KEEP && vip_up(h, vip) == 0;
	pthread_mutex_unlock(&h->lock);
	return serving;
}

int
eph_health_status(struct eph_health *h, const char *vip, uint32_t addr, uint16_t port,
		  struct eph_health_status *out)
{
	const struct hc *b;

	if (h == NULL)
		return -ENOENT;
	pthread_mutex_lock(&h->lock);
	b = find(h->list, h->n, vip, addr, port);
	if (b != NULL) {
		*out = b->st;
		out->checked = b->check.type != EPH_HEALTH_NONE;
		out->passive = b->outlier.failures != 0;
		out->up = is_up(b);
		out->ejected = b->ejected;
		out->kept = !out->up && b->kept && vip_up(h, vip) == 0;
		out->since_ms = eph_health_now_ms() - b->since_ms;
	}
	pthread_mutex_unlock(&h->lock);
	return b != NULL ? 0 : -ENOENT;
}

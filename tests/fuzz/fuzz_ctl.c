/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the control protocol as the daemon serves it. The
 * daemon's own command table runs against a real data plane (EAL without
 * hugepages, net_ring ports, three pools, two VIPs; the workers are not launched, so
 * requests to them return at once) behind the real control socket: each
 * run connects, sends the input, closes its side and polls the server
 * until it has answered and closed. Oracles besides no crash, no leak and
 * no undefined behaviour:
 *  - one answer per request line (non-blank, the last one may lack its
 *    newline), each exactly one line ending in one '\n';
 *  - every answer a JSON object with "v", a boolean "ok", and "result"
 *    (an object) or "error" (string "code" and "message"), and the id of
 *    its request (null when the request is not an object with one).
 * A run that changed the configuration (pool, range, timeout, VIP backend
 * commands, reload) puts the start configuration back, so that a saved
 * input replays.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "control/arp.h"
#include "control/config.h"
#include "control/ctl_cmds.h"
#include "control/ctl_server.h"
#include "control/reconfig.h"
#include "control/startup.h"
#include "tests/fuzz/fuzz_dp.h"

#define TARGET    "fuzz_ctl"
#define N_WORKERS 2
/*
 * Every change builds a second routing table (a 32 MiB DIR-24-8 array and
 * more) next to the running one; in a 256 MiB heap the churn of thousands
 * of changes leaves no free block that large, and changes (the put-back
 * too) fail with ENOMEM though most of the heap is free.
 */
#define MEMORY_MB    512
#define FZ_MAX_INPUT (EPH_CTL_MAX_LINE - 1) /* a longer line is answered too-large and cut */
#define ANSWER_MS    10000

static char dir[64], conf_path[128], sock_path[128];
static struct eph_conf conf;
static struct eph_dp dp;
static struct eph_arp arp;
static struct eph_alert_counts alerts;
static struct eph_ctl_ctx ctx;
static struct eph_ctl_server *server;
static uint64_t start_generation;
static char *answers;
static size_t answers_cap;
static bool trace; /* FUZZ_TRACE=1: the DPDK heap after each run, for triage */

/* The daemon's configuration for this run: two net_ring ports, a pool of each kind, two VIPs. */
static const char conf_text[] = "eal:\n"
				"  lcores: \"%s\"\n"
				"  main-lcore: 0\n"
				"  hugepages: false\n"
				"  memory-mb: %u\n"
				"  file-prefix: " TARGET "-%ld\n"
				"  log-level: error\n"
				"  args: [\"--no-shconf\"]\n"
				"ports:\n"
				"  - name: inside\n"
				"    device: net_ring0\n"
				"    role: inside\n"
				"    address: 192.0.2.1/24\n"
				"    rx-desc: 128\n"
				"    tx-desc: 128\n"
				"  - name: outside\n"
				"    device: net_ring1\n"
				"    role: outside\n"
				"    address: 203.0.113.1/24\n"
				"    rx-desc: 128\n"
				"    tx-desc: 128\n"
				"routes:\n"
				"  - prefix: 0.0.0.0/0\n"
				"    via: 203.0.113.10\n"
				"  - prefix: 10.20.0.0/16\n"
				"    via: 192.0.2.254\n"
				"dataplane:\n"
				"  mbufs: 16383\n"
				"control:\n"
				"  socket: %s\n"
				"  telemetry: false\n"
				"pools:\n"
				"  - name: default\n"
				"    addresses: [203.0.113.100-203.0.113.103]\n"
				"    inside: [192.0.2.0/25]\n"
				"    ports: 20000-20999\n"
				"    exclude-ports: [20500]\n"
				"  - name: lab\n"
				"    addresses: [203.0.113.110/31]\n"
				"    reserve: [203.0.113.112]\n"
				"    inside: [192.0.2.128/26, 10.20.0.0/16]\n"
				"    mapping: endpoint-independent\n"
				"    filtering: endpoint-independent\n"
				"    pooling: arbitrary\n"
				"    port-preservation: true\n"
				"  - name: blocks\n"
				"    addresses: [203.0.113.120]\n"
				"    inside: [192.0.2.192/26]\n"
				"    log: port-blocks\n"
				"    port-block-size: 64\n"
				"vips:\n"
				"  - name: web\n"
				"    address: 203.0.113.80\n"
				"    port: 80\n"
				"    protocol: tcp\n"
				"    local-addresses: [203.0.113.90]\n"
				"    backends:\n"
				"      - {address: 192.0.2.21, weight: 1}\n"
				"      - {address: 192.0.2.22, port: 8080, weight: 2}\n"
				"  - name: any\n"
				"    address: 203.0.113.81\n"
				"    port: 0\n"
				"    protocol: udp\n"
				"    forwarding: dnat\n"
				"    backends:\n"
				"      - {address: 10.20.0.13}\n"
				"nat-log:\n"
				"  syslog: true\n"
				"timeouts:\n"
				"  udp: 300\n"
				"nat:\n"
				"  sessions-per-worker: 4096\n"
				"  destinations-per-worker: 1024\n"
				"  handoff-ring: 256\n";

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
cleanup(void)
{
	eph_ctl_server_close(server); /* removes the socket file */
	unlink(conf_path);
	rmdir(dir);
}

static void
write_conf(void)
{
	char lcores[128];
	FILE *f;

	/* The pid in the name: scripts/fuzz.sh removes what a crashed run left. */
	snprintf(dir, sizeof(dir), "/tmp/" TARGET "-%ld.XXXXXX", (long)getpid());
	if (mkdtemp(dir) == NULL) {
		perror(TARGET ": mkdtemp");
		exit(1);
	}
	snprintf(conf_path, sizeof(conf_path), "%s/ephemera.yaml", dir);
	snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", dir);
	fz_eal_lcores(lcores, sizeof(lcores), N_WORKERS);
	f = fopen(conf_path, "w");
	if (f == NULL) {
		perror(TARGET ": writing the configuration");
		exit(1);
	}
	fprintf(f, conf_text, lcores, MEMORY_MB, (long)getpid(), sock_path);
	fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct eph_ctl_server_conf sc = {
		.commands = eph_ctl_commands,
		.n_commands = eph_ctl_n_commands,
		.ctx = &ctx,
	};

	trace = getenv("FUZZ_TRACE") != NULL;
	write_conf();
	atexit(cleanup);
	if (eph_conf_load(conf_path, &conf, stderr) != 0)
		exit(1);
	/* The same values the file has: reload finds nothing that needs a restart. */
	fz_eal_start(&conf, TARGET, N_WORKERS, MEMORY_MB);
	if (eph_dp_setup(&dp, &conf, stderr) != 0) {
		fprintf(stderr, TARGET ": data plane setup failed\n");
		exit(1);
	}
	eph_arp_init(&arp, &dp, &conf.arp, rte_get_tsc_hz());
	ctx = (struct eph_ctl_ctx){
		.dp = &dp,
		.arp = &arp,
		.conf_path = conf_path,
		.start_tsc = rte_rdtsc(),
		.alerts = &alerts,
	};
	sc.path = sock_path;
	server = eph_ctl_server_open(&sc, stderr);
	if (server == NULL)
		exit(1);
	ctx.server = server;
	start_generation = dp.rc->generation;
	return 0;
}

static bool
blank(const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

#define MAX_REQUESTS (FZ_MAX_INPUT / 2 + 1)

/* The id each request's answer must echo: the line's "id" when it is an object with one. */
static json_t *ids[MAX_REQUESTS];

/* Requests in the input: its non-blank lines (a last one without newline too). */
static unsigned int
requests(const uint8_t *data, size_t size)
{
	unsigned int n = 0;
	size_t start = 0;

	for (size_t i = 0; i <= size; i++) {
		json_t *req;

		if (i < size && data[i] != '\n')
			continue;
		if (!blank(data + start, i - start)) {
			/* Parsed as the server parses a line (control/ctl_proto.c). */
			req = json_loadb((const char *)data + start, i - start,
					 JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
			ids[n] = json_is_object(req) ? json_incref(json_object_get(req, "id"))
						     : NULL;
			json_decref(req);
			n++;
		}
		start = i + 1;
	}
	return n;
}

static void __attribute__((noreturn))
fail(const uint8_t *data, size_t size, const char *why, const char *line, size_t line_len)
{
	fprintf(stderr,
		"\n" TARGET ": ORACLE FAILED: %s\n--- request bytes (%zu) ---\n%.*s\n"
		"--- answer ---\n%.*s\n",
		why, size, (int)size, (const char *)data, (int)line_len, line != NULL ? line : "");
	fflush(stderr);
	abort();
}

static void
check_answer(const uint8_t *data, size_t size, const char *line, size_t len, const json_t *id)
{
	json_error_t jerr;
	json_t *a = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr), *ok, *body;

	if (a == NULL)
		fail(data, size, "an answer is not JSON", line, len);
	ok = json_object_get(a, "ok");
	if (!json_is_object(a) || !json_is_boolean(ok) || !json_is_integer(json_object_get(a, "v")))
		fail(data, size, "an answer is not an object with \"v\" and a boolean \"ok\"", line,
		     len);
	if (id != NULL ? !json_equal((json_t *)id, json_object_get(a, "id"))
		       : !json_is_null(json_object_get(a, "id")))
		fail(data, size, "an answer does not echo its request's id (null when none)", line,
		     len);
	if (json_is_true(ok)) {
		if (!json_is_object(json_object_get(a, "result")))
			fail(data, size, "an ok answer without a \"result\" object", line, len);
	} else {
		body = json_object_get(a, "error");
		if (!json_is_object(body) || !json_is_string(json_object_get(body, "code")) ||
		    !json_is_string(json_object_get(body, "message")))
			fail(data, size, "an error answer without \"error\": {code, message}", line,
			     len);
	}
	json_decref(a);
}

/* Read answers into answers[0..*len) until the server closes the connection. */
static void
exchange(int fd, const uint8_t *data, size_t size, size_t *len)
{
	uint64_t deadline = now_ms() + ANSWER_MS;

	*len = 0;
	for (;;) {
		ssize_t n;

		eph_ctl_server_poll(server, now_ms());
		if (answers_cap - *len < 65536) {
			answers_cap = answers_cap * 2 + 65536;
			answers = realloc(answers, answers_cap);
			if (answers == NULL)
				exit(1);
		}
		n = read(fd, answers + *len, answers_cap - *len);
		if (n == 0)
			return;
		if (n > 0) {
			*len += (size_t)n;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR)
			fail(data, size, "reading the answers failed", strerror(errno),
			     strlen(strerror(errno)));
		if (now_ms() > deadline)
			fail(data, size, "no end of answers within 10 s", answers, *len);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	unsigned int want, got = 0;
	size_t len, off = 0;
	int fd;

	if (size > FZ_MAX_INPUT)
		return -1; /* too-large closes the connection: not what this target is about */
	want = requests(data, size);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror(TARGET ": connect");
		exit(1);
	}
	/* The whole input fits the socket buffer: written before the server reads. */
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);

		if (n <= 0) {
			perror(TARGET ": write");
			exit(1);
		}
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	exchange(fd, data, size, &len);
	close(fd);

	if (len > 0 && answers[len - 1] != '\n')
		fail(data, size, "the answers do not end with a newline", answers, len);
	for (size_t start = 0; start < len;) {
		char *nl = memchr(answers + start, '\n', len - start);

		if (got == want)
			fail(data, size, "more answer lines than request lines", answers, len);
		check_answer(data, size, answers + start, (size_t)(nl - (answers + start)),
			     ids[got]);
		got++;
		start = (size_t)(nl - answers) + 1;
	}
	if (got != want) {
		char why[128];

		snprintf(why, sizeof(why), "%u request lines, %u answer lines", want, got);
		fail(data, size, why, answers, len);
	}
	for (unsigned int i = 0; i < want; i++)
		json_decref(ids[i]);

	if (dp.rc->generation != start_generation) {
		/*
		 * What the daemon's control loop does once a second first: let
		 * go of drained port ranges, so that changes of this run do not
		 * leave no generation free for the put-back.
		 */
		eph_reconfig_housekeeping(dp.rc);
		if (eph_reconfig_apply(dp.rc, &conf, "fuzz", stderr) != 0)
			fail(data, size, "the start configuration could not be put back", NULL, 0);
		eph_reconfig_housekeeping(dp.rc);
		start_generation = dp.rc->generation;
	}
	if (trace) {
		struct rte_malloc_socket_stats st;

		rte_malloc_get_socket_stats((int)rte_socket_id(), &st);
		fprintf(stderr,
			"generation %" PRIu64 ", DPDK heap in use %zu bytes, largest free %zu\n",
			dp.rc->generation, st.heap_allocsz_bytes, st.greatest_free_size);
	}
	return 0;
}

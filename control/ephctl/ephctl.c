/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ephctl: the operator's command line for a running ephemera daemon. Reads
 * the command line against a table of commands, checks every argument
 * before connecting, sends one request over the control socket (protocol
 * v1, client.c) and prints the result as tables (render.c) or, with --json,
 * as the daemon sent it.
 *
 * Exit status: 0 done; 1 the daemon refused; 2 bad command line (nothing
 * sent); 3 the daemon could not be reached or gave no valid answer in time.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control/ephctl/args.h"
#include "control/ephctl/client.h"
#include "control/ephctl/render.h"
#include "control/ephctl/top.h"
#include "control/limits.h"

#define DEFAULT_SOCKET   EPH_CTL_SOCKET_DEFAULT
#define SOCKET_ENV       "EPHEMERA_SOCKET"
#define TIMEOUT_S        10.0
#define TIMEOUT_LONG_S   60.0 /* reload and sessions clear may walk every session */
#define TIMEOUT_MIN_S    0.1
#define TIMEOUT_MAX_S    86400.0
#define INTERVAL_DEFAULT 1.0
#define INTERVAL_MIN_S   0.1
#define INTERVAL_MAX_S   3600.0
#define ITERATIONS_MAX   1000000000LL

struct command;

/* Checks a command's arguments (argv after its words) and fills the request's args. */
typedef int parse_fn(const struct command *cmd, int argc, char **argv, json_t *args,
		     char **err);
typedef int render_fn(FILE *out, const json_t *result);

struct command {
	const char *group;      /* first word */
	const char *name;       /* second word, NULL when the group is the command */
	const char *daemon_cmd; /* protocol command; NULL for help */
	const char *synopsis;   /* after "ephctl " */
	const char *summary;    /* one line for the command list */
	const char *details;    /* --help text after the synopsis and summary */
	parse_fn *parse;
	render_fn *render;
	double timeout_s;
};

/* From the daemon's own table, so that help and daemon cannot disagree. */
static void
print_timeout_limits(FILE *out)
{
	static const char *const what[EPH_TIMEOUT_N] = {
		[EPH_TIMEOUT_UDP] = "UDP sessions",
		[EPH_TIMEOUT_TCP_ESTABLISHED] = "established TCP connections",
		[EPH_TIMEOUT_TCP_TRANSITORY] = "TCP opening and closing, TIME-WAIT",
		[EPH_TIMEOUT_ICMP] = "ICMP query sessions",
	};

	for (unsigned int k = 0; k < EPH_TIMEOUT_N; k++) {
		const struct eph_timeout_limit *l = &eph_timeout_limits[k];

		fprintf(out, "  %s S%*s%s (%u-%u; %s floor: %u)\n", l->name,
			(int)(18 - strlen(l->name)), "", what[k], l->min_s, l->max_s, l->rfc,
			l->floor_s);
	}
	fprintf(out, "Values below a floor are taken, with a warning.\n"
		     "\n"
		     "Example:\n"
		     "  ephctl timeouts set udp 300 tcp-transitory 240\n");
}

static int
parse_none(const struct command *cmd, int argc, char **argv, json_t *args, char **err)
{
	if (argc > 0 && asprintf(err, "unexpected argument \"%s\": %s takes none", argv[0],
				 cmd->synopsis) < 0)
		*err = NULL;
	return argc > 0 ? -1 : 0;
}

static int
parse_sessions(const struct command *cmd, int argc, char **argv, json_t *args, char **err)
{
	return ephctl_parse_filters(argc, argv, true, args, err);
}

static int
unexpected(char **err, const char *word)
{
	if (asprintf(err, "unexpected argument \"%s\"", word) < 0)
		*err = NULL;
	return -1;
}

static int
parse_destinations(const struct command *cmd, int argc, char **argv, json_t *args, char **err)
{
	for (int i = 0; i < argc; i++) {
		const char *v;
		long long n;
		int m = ephctl_match_option(argc, argv, &i, "--top", &v, err);

		if (m < 0)
			return -1;
		if (m == 0)
			return unexpected(err, argv[i]);
		if (ephctl_parse_count("--top", v, EPH_LIMIT_DESTINATIONS_TOP_MIN,
				       EPH_LIMIT_DESTINATIONS_TOP_MAX, &n, err) < 0)
			return -1;
		json_object_set_new(args, "top", json_integer(n));
	}
	return 0;
}

/* POOL and one more positional argument named second, checked by check. */
static int
parse_pool_and(int argc, char **argv, const char *second, const char *key,
	       int (*check)(const char *, const char *, char **), json_t *args, char **err)
{
	if (argc < 2) {
		if (asprintf(err, "expected POOL and %s, found %s", second,
			     argc == 0 ? "neither" : "only POOL") < 0)
			*err = NULL;
		return -1;
	}
	if (argc > 2)
		return unexpected(err, argv[2]);
	if (ephctl_check_pool_name("POOL", argv[0], err) < 0 || check(second, argv[1], err) < 0)
		return -1;
	json_object_set_new(args, "pool", json_string(argv[0]));
	json_object_set_new(args, key, json_string(argv[1]));
	return 0;
}

static int
parse_pool_address(const struct command *cmd, int argc, char **argv, json_t *args, char **err)
{
	return parse_pool_and(argc, argv, "ADDRESS", "address", ephctl_check_address_set, args,
			      err);
}

static int
parse_set_range(const struct command *cmd, int argc, char **argv, json_t *args, char **err)
{
	return parse_pool_and(argc, argv, "LO-HI", "ports", ephctl_check_port_range, args, err);
}

static int
parse_timeouts(const struct command *cmd, int argc, char **argv, json_t *args, char **err)
{
	return ephctl_parse_timeouts(argc, argv, args, err);
}

static int
parse_clear(const struct command *cmd, int argc, char **argv, json_t *args, char **err)
{
	const char *msg = NULL;

	if (argc == 0)
		msg = "expected filters, or \"all\" to clear every session";
	for (int i = 0; i < argc && msg == NULL; i += 2)
		if (strcmp(argv[i], "all") == 0 && argc > 1)
			msg = "all: clears every session and takes no filters";
	if (msg != NULL) {
		*err = strdup(msg);
		return -1;
	}
	if (argc == 1 && strcmp(argv[0], "all") == 0)
		return json_object_set_new(args, "all", json_true());
	return ephctl_parse_filters(argc, argv, false, args, err);
}

/* Options of top, kept in args for main to hand over; nothing of it is sent. */
static int
parse_top(const struct command *cmd, int argc, char **argv, json_t *args, char **err)
{
	for (int i = 0; i < argc; i++) {
		const char *v;
		double s;
		long long n;
		int m = ephctl_match_option(argc, argv, &i, "--interval", &v, err);

		if (m < 0)
			return -1;
		if (m > 0) {
			if (ephctl_parse_seconds("--interval", v, INTERVAL_MIN_S, INTERVAL_MAX_S,
						 &s, err) < 0)
				return -1;
			json_object_set_new(args, "interval", json_real(s));
			continue;
		}
		m = ephctl_match_option(argc, argv, &i, "--iterations", &v, err);
		if (m < 0)
			return -1;
		if (m == 0)
			return unexpected(err, argv[i]);
		if (ephctl_parse_count("--iterations", v, 1, ITERATIONS_MAX, &n, err) < 0)
			return -1;
		json_object_set_new(args, "iterations", json_integer(n));
	}
	return 0;
}

static int
parse_show_backends(const struct command *cmd, int argc, char **argv, json_t *args, char **err)
{
	if (argc == 0) {
		*err = strdup("expected VIP, the name of a VIP (ephctl show vips lists them)");
		return -1;
	}
	if (argc > 1)
		return unexpected(err, argv[1]);
	if (ephctl_check_vip_name("VIP", argv[0], err) < 0)
		return -1;
	json_object_set_new(args, "vip", json_string(argv[0]));
	return 0;
}

/* add|remove|set-weight VIP ADDRESS[:PORT] [WEIGHT] */
static int
parse_vip_backend(const struct command *cmd, int argc, char **argv, json_t *args, char **err)
{
	return ephctl_parse_vip_backend(argc, argv, args, err);
}

static int
render_timeouts(FILE *out, const json_t *result)
{
	return ephctl_render_timeouts(out, stderr, result);
}

/* The help below spells out these limits of control/limits.h. */
static_assert(EPH_LIMIT_PORT_MIN == 1 && EPH_LIMIT_PORT_MAX == 65535,
	      "port N and LO-HI in the help");
static_assert(EPH_LIMIT_SESSIONS_LIMIT_MIN == 1 && EPH_LIMIT_SESSIONS_LIMIT_MAX == 100000 &&
		      EPH_LIMIT_SESSIONS_LIMIT_DEFAULT == 1000,
	      "limit N in the help");
static_assert(EPH_LIMIT_BACKEND_WEIGHT_MIN == 0 && EPH_LIMIT_BACKEND_WEIGHT_MAX == 65535 &&
		      EPH_LIMIT_BACKEND_WEIGHT_DEFAULT == 100,
	      "WEIGHT in the help");
static_assert(EPH_LIMIT_DESTINATIONS_TOP_MIN == 1 && EPH_LIMIT_DESTINATIONS_TOP_MAX == 1000 &&
		      EPH_LIMIT_DESTINATIONS_TOP_DEFAULT == 10,
	      "--top N in the help");

static const struct command commands[] = {
	{ "show", "stats", "show.stats", "show stats", "per-worker packets, drops, NAT counters",
	  "Counters since the daemon started: per worker the packets received and sent,\n"
	  "drops, sessions, the share of busy polls and the packets handed over between\n"
	  "workers; then every drop reason that counted and the NAT counters.\n"
	  "\n"
	  "Example:\n"
	  "  ephctl show stats\n",
	  parse_none, ephctl_render_stats, TIMEOUT_S },
	{ "show", "ports", "show.ports", "show ports", "ports: address, link, packet counters",
	  "Each port's name, role, address, MAC, MTU, link and device, then its packet\n"
	  "and byte counters and the device's missed and error counts.\n"
	  "\n"
	  "Example:\n"
	  "  ephctl show ports\n",
	  parse_none, ephctl_render_ports, TIMEOUT_S },
	{ "show", "pools", "show.pools", "show pools", "pools: addresses, ports in use, refusals",
	  "Each pool's settings and, per outside address: its state (active, draining,\n"
	  "reserve), the ports in use on it over all destinations, how many ports one\n"
	  "destination can use on it (the range minus exclusions) and the allocations\n"
	  "refused on it for want of a port.\n"
	  "\n"
	  "Example:\n"
	  "  ephctl show pools\n",
	  parse_none, ephctl_render_pools, TIMEOUT_S },
	{ "show", "sessions", "show.sessions", "show sessions [FILTERS]", "NAT sessions, filtered",
	  "NAT sessions matching every filter given, as keyword value pairs in any order:\n"
	  "  proto tcp|udp|icmp   protocol\n"
	  "  inside IP[/LEN]      inside host or network\n"
	  "  outside IP[/LEN]     outside (pool) address or network\n"
	  "  remote IP[/LEN]      remote host or network\n"
	  "  port N               inside, outside or remote port (1-65535)\n"
	  "  pool NAME            pool\n"
	  "  limit N              show at most N sessions (1-100000, default 1000)\n"
	  "When more sessions match than are shown, a last line says how many matched.\n"
	  "\n"
	  "Examples:\n"
	  "  ephctl show sessions proto tcp inside 192.0.2.0/24\n"
	  "  ephctl show sessions remote 203.0.113.10 port 443 limit 20\n",
	  parse_sessions, ephctl_render_sessions, TIMEOUT_S },
	{ "show", "destinations", "show.destinations", "show destinations [--top N]",
	  "busiest destinations and their occupancy",
	  "The destinations (outside address, remote address and port, protocol) with\n"
	  "the fullest port shares, per worker: live ports, ports resting in quarantine,\n"
	  "the worker's share of the range and occupancy = (live + resting) / share; a\n"
	  "destination at 100% gets no new port until one rests long enough.\n"
	  "  --top N   how many destinations (1-1000, default 10)\n"
	  "\n"
	  "Example:\n"
	  "  ephctl show destinations --top 20\n",
	  parse_destinations, ephctl_render_destinations, TIMEOUT_S },
	{ "show", "config", "show.config", "show config", "the configuration in force",
	  "The configuration in force as YAML-like text: the file it came from, its\n"
	  "generation (raised by every change, from ephctl or reload), the last change,\n"
	  "the pools, the timeouts and where NAT events are logged.\n"
	  "\n"
	  "Example:\n"
	  "  ephctl show config\n",
	  parse_none, ephctl_render_config, TIMEOUT_S },
	{ "pool", "add-address", "pool.add-address", "pool add-address POOL ADDRESS",
	  "add outside addresses to a pool",
	  "Add outside addresses to pool POOL; new sessions may use them at once.\n"
	  "ADDRESS is one address (203.0.113.104), a range (203.0.113.104-203.0.113.107)\n"
	  "or a prefix (203.0.113.104/30).\n"
	  "\n"
	  "Example:\n"
	  "  ephctl pool add-address default 203.0.113.104-203.0.113.107\n",
	  parse_pool_address, ephctl_render_pool_add, TIMEOUT_S },
	{ "pool", "remove-address", "pool.remove-address", "pool remove-address POOL ADDRESS",
	  "drain addresses out of a pool",
	  "Take outside addresses out of pool POOL: new sessions no longer get them, and\n"
	  "the sessions that have them keep them until they end (the address drains).\n"
	  "ADDRESS is one address, a range A-B or a prefix, as for add-address.\n"
	  "\n"
	  "Example:\n"
	  "  ephctl pool remove-address default 203.0.113.103\n",
	  parse_pool_address, ephctl_render_pool_remove, TIMEOUT_S },
	{ "pool", "set-range", "pool.set-range", "pool set-range POOL LO-HI",
	  "change a pool's port range",
	  "Hand out ports LO to HI of pool POOL's addresses (1 <= LO <= HI <= 65535).\n"
	  "Sessions holding a port of the earlier range keep it until they end.\n"
	  "\n"
	  "Example:\n"
	  "  ephctl pool set-range default 2048-4095\n",
	  parse_set_range, ephctl_render_pool_set_range, TIMEOUT_S },
	{ "show", "vips", "show.vips", "show vips", "VIPs: backends, connections, refusals",
	  "Each VIP: address, port (* for every port) and protocol, forwarding (fullnat\n"
	  "or dnat), the size of its Maglev table, backends configured, up (weight\n"
	  "above 0) and removed but still draining, live and total connections,\n"
	  "and the new connections refused: no backend, over max-connections, no local\n"
	  "port left towards the backend.\n"
	  "\n"
	  "Example:\n"
	  "  ephctl show vips\n",
	  parse_none, ephctl_render_vips, TIMEOUT_S },
	{ "show", "backends", "show.backends", "show backends VIP", "a VIP's backends",
	  "VIP's backends: state (active, draining at weight 0, removed with connections\n"
	  "left), weight, live and total connections, packets and bytes to and from each,\n"
	  "refusals; then the local addresses with their ports in use and refusals.\n"
	  "\n"
	  "Example:\n"
	  "  ephctl show backends web\n",
	  parse_show_backends, ephctl_render_backends, TIMEOUT_S },
	{ "vip", "backend", "vip.backend",
	  "vip backend add|remove|set-weight VIP ADDRESS[:PORT] [WEIGHT]",
	  "change a VIP's backends live",
	  "add: a new backend (WEIGHT 0-65535, default 100); remove: its connections\n"
	  "drain or are reset, as the VIP's on-remove says; set-weight: 0 drains it (no\n"
	  "new connection, the existing ones go on). PORT defaults to the VIP's port.\n"
	  "No existing connection moves to another backend.\n"
	  "\n"
	  "Examples:\n"
	  "  ephctl vip backend add web 198.18.0.14 100\n"
	  "  ephctl vip backend set-weight web 198.18.0.13:80 0\n"
	  "  ephctl vip backend remove web 198.18.0.13\n",
	  parse_vip_backend, ephctl_render_vip_backend, TIMEOUT_S },
	{ "timeouts", "set", "timeouts.set", "timeouts set NAME SECONDS...", "change idle timeouts",
	  "Set idle timeouts in seconds, at least one of:\n",
	  parse_timeouts, render_timeouts, TIMEOUT_S },
	{ "sessions", "clear", "sessions.clear", "sessions clear FILTERS | all", "delete sessions",
	  "Delete the sessions matching every filter (those of show sessions but limit),\n"
	  "or every session with \"all\"; their flows start new sessions on their next\n"
	  "packet. Waits up to 60 s unless --timeout says otherwise.\n"
	  "\n"
	  "Examples:\n"
	  "  ephctl sessions clear inside 192.0.2.11 proto udp\n"
	  "  ephctl sessions clear all\n",
	  parse_clear, ephctl_render_cleared, TIMEOUT_LONG_S },
	{ "reload", NULL, "reload", "reload", "re-read the configuration file",
	  "Re-read the configuration file and apply what changed. On errors the\n"
	  "configuration in force stays as it is and every error is printed, one a\n"
	  "line; settings that need a restart are named. Waits up to 60 s unless\n"
	  "--timeout says otherwise.\n"
	  "\n"
	  "Example:\n"
	  "  ephctl reload\n",
	  parse_none, ephctl_render_reload, TIMEOUT_LONG_S },
	{ "metrics", NULL, "metrics", "metrics", "the Prometheus metrics text",
	  "The daemon's counters in the Prometheus text format, as a scrape gets them.\n"
	  "\n"
	  "Example:\n"
	  "  ephctl metrics | grep '^ephemera_'\n",
	  parse_none, ephctl_render_metrics, TIMEOUT_S },
	{ "top", NULL, "show.stats", "top [--interval S] [--iterations N]",
	  "live rates, pools, busiest destinations",
	  "A live view, redrawn every interval: uptime, sessions and packet rates; per\n"
	  "worker packets and drops per second, sessions and busy polls; per outside\n"
	  "address the ports in use against the ports one destination can use on it;\n"
	  "and the ten busiest destinations. q or Ctrl-C quits. When the output is not\n"
	  "a terminal, or with --iterations, frames follow each other as plain text.\n"
	  "  --interval S     seconds between refreshes (0.1-3600, default 1)\n"
	  "  --iterations N   stop after N frames\n"
	  "\n"
	  "Examples:\n"
	  "  ephctl top --interval 2\n"
	  "  ephctl top --iterations 3 > top.txt\n",
	  parse_top, NULL, TIMEOUT_S },
	{ "version", NULL, "version", "version", "versions of ephctl and the daemon",
	  "ephctl's version, and the daemon's version, control protocol and uptime.\n"
	  "ephctl --version prints ephctl's alone, without asking the daemon.\n"
	  "\n"
	  "Example:\n"
	  "  ephctl version\n",
	  parse_none, ephctl_render_version, TIMEOUT_S },
	{ "help", NULL, NULL, "help [COMMAND]", "help on a command (or: COMMAND --help)",
	  "Help on a command or a group of commands.\n"
	  "\n"
	  "Example:\n"
	  "  ephctl help show sessions\n",
	  NULL, NULL, TIMEOUT_S },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char options_help[] =
	"Options (before or after the command):\n"
	"  -s, --socket PATH   the daemon's control socket (default: $" SOCKET_ENV ", else\n"
	"                      " DEFAULT_SOCKET ")\n"
	"      --json          print the daemon's result as JSON, for scripts\n"
	"      --timeout S     wait at most S seconds for an answer (default 10; 60 for\n"
	"                      reload and sessions clear)\n"
	"  -h, --help          this help, or a command's when given with one\n"
	"  -V, --version       print ephctl's version\n"
	"\n"
	"Commands and sub-commands may be shortened: ephctl sh sess = ephctl show sessions.\n"
	"\n"
	"Exit status:\n"
	"  0  done\n"
	"  1  the daemon refused the request; its reason is printed\n"
	"  2  bad command line; nothing was sent\n"
	"  3  the daemon could not be reached, or gave no valid answer in time\n"
	"\n"
	"Example:\n"
	"  ephctl show sessions proto tcp inside 192.0.2.11 limit 20\n";

static void
print_main_help(FILE *out)
{
	fprintf(out, "usage: ephctl [OPTIONS] COMMAND [ARGS...]\n\n"
		     "Inspect and change a running ephemera daemon through its control socket.\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-35s  %s\n", commands[i].synopsis, commands[i].summary);
	fprintf(out, "\n%s", options_help);
}

static bool
has_subcommands(const char *group)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].group, group) == 0)
			return commands[i].name != NULL;
	return false;
}

/* "stats|ports|pools|..." for a group's usage line. */
static void
print_group_names(FILE *out, const char *group)
{
	bool first = true;

	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].group, group) == 0) {
			fprintf(out, "%s%s", first ? "" : "|", commands[i].name);
			first = false;
		}
}

static void
print_group_help(FILE *out, const char *group)
{
	fprintf(out, "usage: ephctl %s ", group);
	print_group_names(out, group);
	fprintf(out, " [ARGS...]\n\nCommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].group, group) == 0)
			fprintf(out, "  %-35s  %s\n", commands[i].synopsis, commands[i].summary);
	fprintf(out, "\nMore on each: ephctl %s COMMAND --help\n", group);
}

static void
print_command_help(FILE *out, const struct command *cmd)
{
	fprintf(out, "usage: ephctl %s\n\n%s", cmd->synopsis, cmd->details);
	if (cmd->parse == parse_timeouts)
		print_timeout_limits(out);
	fprintf(out, "\nOptions (-s, --json, --timeout) and exit status: ephctl --help\n");
}

/* Exit 2: the problem, then the usage line of what was being typed. */
static int
usage_error(const char *group, const struct command *cmd, const char *msg)
{
	fprintf(stderr, "ephctl: %s\n", msg != NULL ? msg : "out of memory");
	if (cmd != NULL && cmd->name != NULL)
		fprintf(stderr, "usage: ephctl %s  (more: ephctl %s %s --help)\n", cmd->synopsis,
			cmd->group, cmd->name);
	else if (cmd != NULL)
		fprintf(stderr, "usage: ephctl %s  (more: ephctl %s --help)\n", cmd->synopsis,
			cmd->group);
	else if (group != NULL) {
		fprintf(stderr, "usage: ephctl %s ", group);
		print_group_names(stderr, group);
		fprintf(stderr, " [ARGS...]  (more: ephctl %s --help)\n", group);
	} else
		fprintf(stderr,
			"usage: ephctl [OPTIONS] COMMAND [ARGS...]  (more: ephctl --help)\n");
	return EPHCTL_USAGE;
}

/*
 * The command or group word matched by word: exact, else the one it is a
 * prefix of. Returns the index of its first entry in commands[], or -1 with
 * *err set (unknown or ambiguous).
 */
static int
resolve(const char *group, const char *word, char **err)
{
	int exact = -1, found = -1, n_found = 0;
	char names[512] = "";

	for (size_t i = 0; i < N_COMMANDS; i++) {
		const char *name = group == NULL ? commands[i].group : commands[i].name;
		size_t len = strlen(names);

		if (group != NULL && strcmp(commands[i].group, group) != 0)
			continue;
		/* A group's entries are adjacent: list its word once. */
		if (group == NULL && i > 0 && strcmp(commands[i - 1].group, name) == 0)
			continue;
		snprintf(names + len, sizeof(names) - len, "%s%s", len > 0 ? ", " : "", name);
		if (strcmp(name, word) == 0)
			exact = (int)i;
		else if (strncmp(name, word, strlen(word)) == 0 && word[0] != '\0') {
			found = (int)i;
			n_found++;
		}
	}
	if (exact >= 0)
		return exact;
	if (n_found == 1)
		return found;
	if (n_found > 1) {
		if (asprintf(err, "\"%s\" is ambiguous: it begins more than one of %s", word,
			     names) < 0)
			*err = NULL;
	} else if (group != NULL) {
		if (asprintf(err, "%s: unknown sub-command \"%s\"; expected one of %s", group, word,
			     names) < 0)
			*err = NULL;
	} else if (asprintf(err, "unknown command \"%s\"; expected one of %s", word, names) < 0) {
		*err = NULL;
	}
	return -1;
}

struct invocation {
	const char *socket;
	bool json;
	bool help;
	bool version;
	double timeout_s; /* 0: the command's default */
	int argc;         /* the words: command, sub-command, arguments */
	char **argv;
};

/* Global options are taken anywhere; every other word is kept in order. */
static int
parse_globals(int argc, char **argv, struct invocation *inv, char **err)
{
	const char *env = getenv(SOCKET_ENV);
	bool words_only = false;

	*inv = (struct invocation){
		.socket = env != NULL && env[0] != '\0' ? env : DEFAULT_SOCKET,
	};
	inv->argv = calloc((size_t)argc + 1, sizeof(*inv->argv));
	if (inv->argv == NULL)
		return -1;
	for (int i = 1; i < argc; i++) {
		const char *w = argv[i], *v;
		int m;

		if (words_only) {
			inv->argv[inv->argc++] = argv[i];
			continue;
		}
		if (strcmp(w, "--") == 0) {
			words_only = true;
			continue;
		}
		if (strcmp(w, "--json") == 0) {
			inv->json = true;
			continue;
		}
		if (strcmp(w, "-h") == 0 || strcmp(w, "--help") == 0) {
			inv->help = true;
			continue;
		}
		if (strcmp(w, "-V") == 0 || strcmp(w, "--version") == 0) {
			inv->version = true;
			continue;
		}
		m = ephctl_match_option(argc, argv, &i, "--socket", &v, err);
		if (m == 0)
			m = ephctl_match_option(argc, argv, &i, "-s", &v, err);
		if (m < 0)
			return -1;
		if (m > 0) {
			if (v[0] == '\0' || strlen(v) > ephctl_socket_path_max()) {
				if (asprintf(err, "--socket: expected a path of 1 to %zu bytes",
					     ephctl_socket_path_max()) < 0)
					*err = NULL;
				return -1;
			}
			inv->socket = v;
			continue;
		}
		m = ephctl_match_option(argc, argv, &i, "--timeout", &v, err);
		if (m < 0)
			return -1;
		if (m > 0) {
			if (ephctl_parse_seconds("--timeout", v, TIMEOUT_MIN_S, TIMEOUT_MAX_S,
						 &inv->timeout_s, err) < 0)
				return -1;
			continue;
		}
		/* Before the command every dash word is an option; after it, the command's. */
		if (inv->argc == 0 && w[0] == '-' && w[1] != '\0') {
			if (asprintf(err, "unknown option \"%s\"", w) < 0)
				*err = NULL;
			return -1;
		}
		inv->argv[inv->argc++] = argv[i];
	}
	if (strlen(inv->socket) > ephctl_socket_path_max()) {
		if (asprintf(err, "$%s: expected a path of at most %zu bytes", SOCKET_ENV,
			     ephctl_socket_path_max()) < 0)
			*err = NULL;
		return -1;
	}
	return 0;
}

static const struct command *
find_command(const char *group)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].group, group) == 0)
			return &commands[i];
	return NULL;
}

/* ephctl help [GROUP [COMMAND]] */
static int
run_help(int argc, char **argv)
{
	const struct command *cmd, *help = find_command("help");
	char *err = NULL;
	int g, c, rc;

	if (argc == 0) {
		print_main_help(stdout);
		return EPHCTL_OK;
	}
	g = resolve(NULL, argv[0], &err);
	if (g < 0) {
		rc = usage_error(NULL, help, err);
		free(err);
		return rc;
	}
	cmd = &commands[g];
	if (argc > (has_subcommands(cmd->group) ? 2 : 1))
		return usage_error(NULL, help, "help: expected one command, found more words");
	if (!has_subcommands(cmd->group)) {
		print_command_help(stdout, cmd);
		return EPHCTL_OK;
	}
	if (argc == 1) {
		print_group_help(stdout, cmd->group);
		return EPHCTL_OK;
	}
	c = resolve(cmd->group, argv[1], &err);
	if (c < 0) {
		rc = usage_error(NULL, help, err);
		free(err);
		return rc;
	}
	print_command_help(stdout, &commands[c]);
	return EPHCTL_OK;
}

static int
run_top(const struct invocation *inv, const json_t *opts)
{
	const struct ephctl_top_opts o = {
		.socket = inv->socket,
		.timeout_s = inv->timeout_s > 0 ? inv->timeout_s : TIMEOUT_S,
		.interval_s = json_is_real(json_object_get(opts, "interval"))
				      ? json_real_value(json_object_get(opts, "interval"))
				      : INTERVAL_DEFAULT,
		.iterations = json_integer_value(json_object_get(opts, "iterations")),
	};

	return ephctl_top(&o);
}

static int
run(const struct invocation *inv, const struct command *cmd, const json_t *args)
{
	double timeout_s = inv->timeout_s > 0 ? inv->timeout_s : cmd->timeout_s;
	enum ephctl_status st;
	struct ephctl_conn c;
	json_t *result = NULL;
	char *err = NULL;

	st = ephctl_connect(&c, inv->socket, timeout_s, &err);
	if (st == EPHCTL_OK)
		st = ephctl_call(&c, cmd->daemon_cmd, args, timeout_s, &result, &err);
	ephctl_close(&c);
	if (st == EPHCTL_OK) {
		int rc = inv->json ? ephctl_render_json(stdout, result)
				   : cmd->render(stdout, result);

		if (rc < 0) {
			free(err);
			if (asprintf(&err,
				     "the answer from %s to %s lacks what ephctl %s shows (a "
				     "daemon of another version?); --json prints it as it is",
				     inv->socket, cmd->daemon_cmd, cmd->synopsis) < 0)
				err = NULL;
			st = EPHCTL_UNREACHABLE;
		}
	}
	if (st != EPHCTL_OK)
		ephctl_print_error(err);
	json_decref(result);
	free(err);
	return st;
}

int
main(int argc, char **argv)
{
	const struct command *cmd;
	struct invocation inv;
	char *err = NULL;
	json_t *args;
	int g, c, rc, words;

	if (parse_globals(argc, argv, &inv, &err) < 0) {
		rc = usage_error(NULL, NULL, err);
		goto out;
	}
	if (inv.version) {
		printf("ephctl %s (control protocol %d)\n", EPH_VERSION, EPHCTL_PROTOCOL);
		rc = EPHCTL_OK;
		goto out;
	}
	if (inv.argc == 0) {
		print_main_help(inv.help ? stdout : stderr);
		rc = inv.help ? EPHCTL_OK : EPHCTL_USAGE;
		goto out;
	}
	g = resolve(NULL, inv.argv[0], &err);
	if (g < 0) {
		rc = usage_error(NULL, NULL, err);
		goto out;
	}
	cmd = &commands[g];
	if (strcmp(cmd->group, "help") == 0) {
		rc = inv.help ? (print_command_help(stdout, cmd), EPHCTL_OK)
			      : run_help(inv.argc - 1, inv.argv + 1);
		goto out;
	}
	words = 1;
	if (has_subcommands(cmd->group)) {
		if (inv.argc < 2) {
			if (inv.help) {
				print_group_help(stdout, cmd->group);
				rc = EPHCTL_OK;
				goto out;
			}
			if (asprintf(&err, "%s: expected a sub-command", cmd->group) < 0)
				err = NULL;
			rc = usage_error(cmd->group, NULL, err);
			goto out;
		}
		c = resolve(cmd->group, inv.argv[1], &err);
		if (c < 0) {
			rc = usage_error(cmd->group, NULL, err);
			goto out;
		}
		cmd = &commands[c];
		words = 2;
	}
	if (inv.help) {
		print_command_help(stdout, cmd);
		rc = EPHCTL_OK;
		goto out;
	}

	args = json_object();
	if (args == NULL || cmd->parse(cmd, inv.argc - words, inv.argv + words, args, &err) < 0) {
		rc = usage_error(NULL, cmd, err);
		json_decref(args);
		goto out;
	}
	if (cmd->parse == parse_top) {
		rc = inv.json ? usage_error(NULL, cmd, "top: --json is not available here; use "
						       "show stats --json")
			      : run_top(&inv, args);
	} else {
		rc = run(&inv, cmd, args);
	}
	json_decref(args);
out:
	free(err);
	free(inv.argv);
	return rc;
}

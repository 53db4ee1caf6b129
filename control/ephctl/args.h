/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ephctl's checks of command arguments before anything is sent: the syntax
 * the daemon accepts (it stays the judge of meaning: which pools exist,
 * which addresses are in them). Each check returns 0, or -1 with *err set
 * to one sentence naming the argument and what was expected (malloc'd).
 */
#ifndef EPHCTL_ARGS_H
#define EPHCTL_ARGS_H

#include <stdbool.h>

#include <jansson.h>

int ephctl_parse_count(const char *name, const char *s, long long lo, long long hi,
		       long long *out, char **err);
int ephctl_parse_seconds(const char *name, const char *s, double lo, double hi, double *out,
			 char **err);
int ephctl_check_pool_name(const char *name, const char *s, char **err);
int ephctl_check_vip_name(const char *name, const char *s, char **err);
/* A backend ADDRESS[:PORT] into args.address (and args.port). */
int ephctl_parse_backend(const char *name, const char *s, json_t *args, char **err);
/*
 * vip backend add|remove|set-weight VIP ADDRESS[:PORT] [WEIGHT]: argv from
 * the operation on, into args (op, vip, address, port, weight) with the
 * limits of control/limits.h; -1 with *err (malloc'd) otherwise.
 */
int ephctl_parse_vip_backend(int argc, char **argv, json_t *args, char **err);
/* An address or a prefix: 192.0.2.11 or 192.0.2.0/24. */
int ephctl_check_prefix(const char *name, const char *s, char **err);
/* An address, a range A-B with A <= B, or a prefix. */
int ephctl_check_address_set(const char *name, const char *s, char **err);
/* "LO-HI" with 1 <= LO <= HI <= 65535. */
int ephctl_check_port_range(const char *name, const char *s, char **err);

/*
 * Session filters as keyword value pairs (proto, inside, outside, remote,
 * port, pool and, when with_limit, limit) into args.
 */
int ephctl_parse_filters(int argc, char **argv, bool with_limit, json_t *args, char **err);

/* timeouts set: udp, tcp-established, tcp-transitory, icmp with seconds, at least one. */
int ephctl_parse_timeouts(int argc, char **argv, json_t *args, char **err);

/*
 * Whether argv[*i] is the option "--NAME VALUE" or "--NAME=VALUE" (name
 * given with its dashes): 1 with *value set and *i on the value's word,
 * 0 when it is another word, -1 when the value is missing.
 */
int ephctl_match_option(int argc, char **argv, int *i, const char *name, const char **value,
			char **err);

#endif /* EPHCTL_ARGS_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Value parsers (decimal integers as written, dotted quads, prefixes,
 * ports) and the checks of single values that every section uses:
 * integers against their rule, exact booleans.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control/config/common.h"

/* ------------------------------------------------------------------------ */
/* Value parsers */

/* A decimal integer as written; libcyaml alone would take "12abc" or "010". */
static bool
parse_dec(const char *s, int64_t *out)
{
	const char *p = s;
	char *end;
	long long x;

	if (*p == '-' || *p == '+')
		p++;
	if (!isdigit((unsigned char)*p))
		return false;
	for (; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = x;
	return true;
}

/* Dotted quad of len characters: four decimal octets, no leading zeros. */
bool
eph_conf_parse_ipv4(const char *s, size_t len, uint32_t *out)
{
	uint32_t addr = 0;
	size_t i = 0;
	int octet;

	for (octet = 0; octet < 4; octet++) {
		unsigned v = 0, digits = 0;

		if (octet > 0) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
		while (i < len && isdigit((unsigned char)s[i]) && digits < 4) {
			v = v * 10 + (unsigned)(s[i] - '0');
			i++;
			digits++;
		}
		/* "010" would be octal to inet_aton: refuse the ambiguity. */
		if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s[i - digits] == '0'))
			return false;
		addr = addr << 8 | v;
	}
	if (i != len)
		return false;
	*out = addr;
	return true;
}

enum prefix_status
eph_conf_parse_prefix(const char *s, uint32_t *addr, uint8_t *len)
{
	const char *slash = strchr(s, '/');
	unsigned n = 0;
	const char *p;

	if (slash == NULL)
		return eph_conf_parse_ipv4(s, strlen(s), addr) ? PFX_NO_LEN : PFX_BAD_ADDR;
	if (!eph_conf_parse_ipv4(s, (size_t)(slash - s), addr))
		return PFX_BAD_ADDR;
	p = slash + 1;
	if (*p == '\0' || strlen(p) > 2)
		return PFX_BAD_LEN;
	for (; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return PFX_BAD_LEN;
		n = n * 10 + (unsigned)(*p - '0');
	}
	if (n > 32)
		return PFX_BAD_LEN;
	*len = (uint8_t)n;
	return PFX_OK;
}

uint32_t
eph_conf_prefix_mask(unsigned len)
{
	return len == 0 ? 0 : UINT32_MAX << (32 - len);
}

char *
eph_conf_ip_str(char *buf, size_t size, uint32_t a)
{
	snprintf(buf, size, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
	return buf;
}

bool
eph_conf_only_chars(const char *s, const char *allowed)
{
	return s[strspn(s, allowed)] == '\0';
}

/* 1 to 9 decimal digits. */
bool
eph_conf_parse_port_num(const char *s, size_t len, unsigned *out)
{
	unsigned x = 0;
	size_t i;

	if (len == 0 || len > 9)
		return false;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		x = x * 10 + (unsigned)(s[i] - '0');
	}
	*out = x;
	return true;
}

uint32_t
eph_conf_prefix_last(uint32_t addr, unsigned len)
{
	return addr | ~eph_conf_prefix_mask(len);
}

/* ------------------------------------------------------------------------ */
/* Checks of single values, every problem reported */

/* Integer key: absent keeps *out; bad text or range is reported. */
bool
eph_conf_int(struct vctx *v, const char *path, const int64_t *raw, int64_t *out)
{
	const struct eph_conf_int_rule *r = eph_conf_int_rule(path);
	const struct eph_pos_entry *e;
	char what[128], q[QLEN];
	int64_t x;

	if (raw == NULL)
		return true;
	x = *raw;
	eph_conf_describe(what, sizeof(what), path);
	e = eph_pos_find_last(v->idx, path);
	if (e != NULL && e->text != NULL && !parse_dec(e->text, &x)) {
		eph_conf_err(v, path, "expected %s, found %s", what,
			     eph_conf_quote(q, sizeof(q), e->text));
		return false;
	}
	if (r != NULL && (x < r->min || x > r->max || (r->pow2 && (x & (x - 1)) != 0))) {
		eph_conf_err(v, path, "expected %s, found %" PRId64, what, x);
		return false;
	}
	*out = x;
	return true;
}

bool
eph_conf_uint(struct vctx *v, const char *path, const int64_t *raw, unsigned *out)
{
	int64_t x = *out;

	if (!eph_conf_int(v, path, raw, &x))
		return false;
	*out = (unsigned)x;
	return true;
}

void
eph_conf_u16(struct vctx *v, const char *path, const int64_t *raw, uint16_t *out)
{
	int64_t x = *out;

	if (eph_conf_int(v, path, raw, &x))
		*out = (uint16_t)x;
}

/* libcyaml reads anything but a few false words as true; be exact. */
void
eph_conf_bool(struct vctx *v, const char *path, const bool *raw, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	const struct eph_pos_entry *e;
	char q[QLEN];
	size_t i;

	if (raw == NULL)
		return;
	e = eph_pos_find_last(v->idx, path);
	if (e == NULL || e->text == NULL) {
		*out = *raw;
		return;
	}
	for (i = 0; i < CYAML_ARRAY_LEN(yes); i++) {
		if (strcasecmp(e->text, yes[i]) == 0) {
			*out = true;
			return;
		}
		if (strcasecmp(e->text, no[i]) == 0) {
			*out = false;
			return;
		}
	}
	eph_conf_err(v, path, "expected true or false, found %s",
		     eph_conf_quote(q, sizeof(q), e->text));
}

/* ------------------------------------------------------------------------ */
/* Addresses a host may have */

/* Why addr cannot be a host's unicast address, or NULL when it can. */
const char *
eph_conf_addr_problem(uint32_t addr)
{
	if ((addr >> 24) == 0)
		return "is in 0.0.0.0/8 (\"this network\")";
	if ((addr >> 24) == 127)
		return "is a loopback address";
	if ((addr >> 28) == 0xe)
		return "is a multicast address";
	if (addr == UINT32_MAX)
		return "is the limited broadcast address";
	if ((addr >> 28) == 0xf)
		return "is in the reserved range 240.0.0.0/4";
	return NULL;
}

/* The first address of [a, b] that eph_conf_addr_problem() refuses; false if none. */
bool
eph_conf_range_problem(uint32_t a, uint32_t b, uint32_t *bad)
{
	static const uint32_t blocks[][2] = {
		{0x00000000, 0x00ffffff}, /* 0.0.0.0/8 */
		{0x7f000000, 0x7fffffff}, /* 127.0.0.0/8 */
		{0xe0000000, 0xffffffff}, /* 224.0.0.0/4, 240.0.0.0/4 */
	};
	size_t i;

	for (i = 0; i < CYAML_ARRAY_LEN(blocks); i++) {
		if (a <= blocks[i][1] && b >= blocks[i][0]) {
			*bad = a > blocks[i][0] ? a : blocks[i][0];
			return true;
		}
	}
	return false;
}

/* A copy of n elements of size bytes, NULL for none; *oom set when malloc fails. */
void *
eph_conf_copy_array(const void *src, size_t n, size_t size, bool *oom)
{
	void *dst;

	if (n == 0 || src == NULL)
		return NULL;
	dst = malloc(n * size);
	if (dst == NULL) {
		*oom = true;
		return NULL;
	}
	memcpy(dst, src, n * size);
	return dst;
}

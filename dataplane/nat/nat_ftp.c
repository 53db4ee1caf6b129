/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * FTP through the NAT: the control connections' table, the PORT/EPRT
 * parser and rewrite, and the sequence offsets (see nat_ftp.h). Which
 * session a data connection gets is nat.c's.
 */
#include <stdio.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "dataplane/cksum.h"
#include "dataplane/nat/nat_ftp.h"
#include "dataplane/tcp_opt.h"

#define FTP_NIL UINT32_MAX

/* a after b, modulo 2^32 */
static inline bool
seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* ---- the table ------------------------------------------------------- */

struct eph_ftp_table *
eph_ftp_table_create(const char *name, int socket)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = 2 * EPH_FTP_CONNS,
		.key_len = sizeof(uint32_t),
		.hash_func = rte_hash_crc,
		.socket_id = socket,
	};
	struct eph_ftp_table *t;

	t = rte_zmalloc_socket("eph_ftp", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL)
		return NULL;
	t->index = rte_hash_create(&hp);
	t->c = rte_zmalloc_socket("eph_ftp_c", EPH_FTP_CONNS * sizeof(*t->c), RTE_CACHE_LINE_SIZE,
				  socket);
	if (t->index == NULL || t->c == NULL) {
		eph_ftp_table_free(t);
		return NULL;
	}
	for (uint32_t i = 0; i < EPH_FTP_CONNS; i++)
		t->c[i].free_next = i + 1 < EPH_FTP_CONNS ? i + 1 : FTP_NIL;
	t->free_head = 0;
	return t;
}

void
eph_ftp_table_free(struct eph_ftp_table *t)
{
	if (t == NULL)
		return;
	rte_hash_free(t->index);
	rte_free(t->c);
	rte_free(t);
}

struct eph_ftp_conn *
eph_ftp_open(struct eph_ftp_table *t, uint32_t idx)
{
	struct eph_ftp_conn *c;
	uint32_t i = t->free_head;

	if (i == FTP_NIL)
		return NULL;
	if (rte_hash_add_key_data(t->index, &idx, (void *)(uintptr_t)i) != 0)
		return NULL;
	c = &t->c[i];
	t->free_head = c->free_next;
	*c = (struct eph_ftp_conn){ .session = idx, .free_next = FTP_NIL };
	t->live++;
	return c;
}

struct eph_ftp_conn *
eph_ftp_find(const struct eph_ftp_table *t, uint32_t idx)
{
	void *data;

	if (rte_hash_lookup_data(t->index, &idx, &data) < 0)
		return NULL;
	return &t->c[(uintptr_t)data];
}

void
eph_ftp_close(struct eph_ftp_table *t, uint32_t idx)
{
	void *data;
	uint32_t i;

	if (rte_hash_lookup_data(t->index, &idx, &data) < 0)
		return;
	rte_hash_del_key(t->index, &idx);
	i = (uint32_t)(uintptr_t)data;
	t->c[i].free_next = t->free_head;
	t->free_head = i;
	t->live--;
}

/* ---- commands -------------------------------------------------------- */

static inline uint8_t
upper(uint8_t c)
{
	return c >= 'a' && c <= 'z' ? (uint8_t)(c - 'a' + 'A') : c;
}

static uint8_t
verb_of(const uint8_t *p, size_t n)
{
	char v[4];

	if (n < 4)
		return EPH_FTP_NONE;
	for (unsigned int i = 0; i < 4; i++)
		v[i] = (char)upper(p[i]);
	if (memcmp(v, "PORT", 4) == 0)
		return EPH_FTP_PORT;
	if (memcmp(v, "EPRT", 4) == 0)
		return EPH_FTP_EPRT;
	return EPH_FTP_NONE;
}

size_t
eph_ftp_partial_verb(const uint8_t *p, size_t n)
{
	static const char *const verbs[] = { "PORT", "EPRT" };

	for (unsigned int v = 0; v < RTE_DIM(verbs); v++) {
		size_t k = RTE_MIN(n, (size_t)4), i;

		for (i = 0; i < k && upper(p[i]) == (uint8_t)verbs[v][i]; i++)
			;
		if (i < k)
			continue;
		if (n <= 4 || p[4] == ' ')
			return k;
	}
	return 0;
}

/* A decimal number of 1..digits digits at p[*i] (below end), at most max. */
static bool
number(const uint8_t *p, size_t end, size_t *i, unsigned int digits, uint32_t max, uint32_t *out)
{
	uint32_t v = 0;
	unsigned int k = 0;

	while (*i < end && p[*i] >= '0' && p[*i] <= '9' && k < digits) {
		v = v * 10 + (uint32_t)(p[*i] - '0');
		(*i)++;
		k++;
	}
	if (k == 0 || v > max || (*i < end && p[*i] >= '0' && p[*i] <= '9'))
		return false;
	*out = v;
	return true;
}

/* n bytes (decimal, 0..255) separated by sep at p[*i], into b. */
static bool
bytes(const uint8_t *p, size_t end, size_t *i, unsigned int n, uint8_t sep, uint32_t *b)
{
	for (unsigned int k = 0; k < n; k++) {
		if (k > 0) {
			if (*i >= end || p[*i] != sep)
				return false;
			(*i)++;
		}
		if (!number(p, end, i, 3, 255, &b[k]))
			return false;
	}
	return true;
}

/* PORT h1,h2,h3,h4,p1,p2 */
static bool
parse_port(const uint8_t *p, size_t end, size_t *i, struct eph_ftp_cmd *cmd)
{
	uint32_t b[6];

	if (!bytes(p, end, i, 6, ',', b))
		return false;
	cmd->addr = rte_cpu_to_be_32(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
	cmd->port = (uint16_t)(b[4] << 8 | b[5]);
	return true;
}

/* EPRT <d>1<d>a.b.c.d<d>port<d> (RFC 2428; protocol 2, IPv6, is not ours to translate) */
static bool
parse_eprt(const uint8_t *p, size_t end, size_t *i, struct eph_ftp_cmd *cmd)
{
	uint32_t a[4], port;
	char d;

	if (*i >= end || p[*i] < 33 || p[*i] > 126)
		return false;
	d = (char)p[(*i)++];
	cmd->delim = d;
	if (*i + 1 >= end || p[*i] != '1' || p[*i + 1] != (uint8_t)d)
		return false;
	*i += 2;
	if (!bytes(p, end, i, 4, '.', a))
		return false;
	if (*i >= end || p[(*i)++] != (uint8_t)d)
		return false;
	if (!number(p, end, i, 5, 65535, &port) || *i >= end || p[(*i)++] != (uint8_t)d)
		return false;
	cmd->addr = rte_cpu_to_be_32(a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3]);
	cmd->port = (uint16_t)port;
	return true;
}

void
eph_ftp_parse(const uint8_t *p, size_t n, struct eph_ftp_cmd *cmd)
{
	size_t end = n, i = 5;
	bool ok;

	*cmd = (struct eph_ftp_cmd){ .line_len = (uint16_t)n };
	/* The text: without its line feed and a carriage return before it. */
	if (end > 0 && p[end - 1] == '\n')
		end--;
	if (end > 0 && p[end - 1] == '\r')
		end--;
	cmd->verb = verb_of(p, end);
	if (end > 4 && p[4] != ' ')
		cmd->verb = EPH_FTP_NONE; /* another word that starts alike ("PORTAL") */
	if (cmd->verb == EPH_FTP_NONE || end < 5)
		return;
	while (i < end && p[i] == ' ')
		i++;
	cmd->arg_off = (uint16_t)i;
	ok = cmd->verb == EPH_FTP_PORT ? parse_port(p, end, &i, cmd) : parse_eprt(p, end, &i, cmd);
	cmd->arg_end = (uint16_t)i;
	while (i < end && p[i] == ' ')
		i++;
	cmd->ok = ok && i == end && cmd->port != 0;
}

size_t
eph_ftp_format(char out[EPH_FTP_ARG_MAX], uint8_t verb, char delim, uint32_t addr, uint16_t port)
{
	uint32_t a = rte_be_to_cpu_32(addr);
	uint16_t p = rte_be_to_cpu_16(port);
	int n;

	if (verb == EPH_FTP_PORT)
		n = snprintf(out, EPH_FTP_ARG_MAX, "%u,%u,%u,%u,%u,%u", a >> 24, (a >> 16) & 0xff,
			     (a >> 8) & 0xff, a & 0xff, p >> 8, p & 0xff);
	else
		n = snprintf(out, EPH_FTP_ARG_MAX, "%c1%c%u.%u.%u.%u%c%u%c", delim, delim, a >> 24,
			     (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff, delim, p, delim);
	return n < 0 ? 0 : (size_t)n;
}

/* ---- segments -------------------------------------------------------- */

/* The verb's letters become X: the server refuses the line instead of connecting inside. */
static void
refuse(uint8_t *line, size_t letters, uint64_t *counter, bool *touched)
{
	memset(line, 'X', letters);
	(*counter)++;
	*touched = true;
}

/*
 * The payload (len bytes at pl, room for more up to cap) from offset
 * start, where a line begins: PORT/EPRT rewritten or refused (*touched
 * set). Returns the payload's new length; *last_nl: the offset after its
 * last line feed in the original bytes, 0 when none.
 */
static size_t
rewrite_lines(uint8_t *pl, size_t len, size_t cap, size_t start, const struct eph_ftp_ops *ops,
	      size_t *last_nl, bool *touched)
{
	size_t at = start, orig = start;

	*last_nl = 0;
	while (at < len) {
		uint8_t *nl = memchr(pl + at, '\n', len - at);
		size_t n = nl == NULL ? len - at : (size_t)(nl - (pl + at)) + 1, letters;
		struct eph_ftp_cmd cmd;
		char arg[EPH_FTP_ARG_MAX];
		size_t arg_len, old_len;
		uint16_t port;

		if (nl == NULL) {
			/* A line that goes on in a later segment: a command we cannot finish here. */
			letters = eph_ftp_partial_verb(pl + at, n);
			if (letters > 0)
				refuse(pl + at, letters, ops->split_refused, touched);
			return len;
		}
		orig += n;
		*last_nl = orig;
		eph_ftp_parse(pl + at, n, &cmd);
		if (cmd.verb == EPH_FTP_NONE) {
			at += n;
			continue;
		}
		port = 0;
		if (cmd.ok && cmd.addr == ops->client)
			port = ops->data_port(ops->arg, rte_cpu_to_be_16(cmd.port));
		arg_len = port == 0 ? 0 : eph_ftp_format(arg, cmd.verb, cmd.delim, ops->outside, port);
		old_len = (size_t)(cmd.arg_end - cmd.arg_off);
		if (arg_len == 0 || len - old_len + arg_len > cap) {
			refuse(pl + at, 4, ops->refused, touched);
			at += n;
			continue;
		}
		memmove(pl + at + cmd.arg_off + arg_len, pl + at + cmd.arg_end, len - at - cmd.arg_end);
		memcpy(pl + at + cmd.arg_off, arg, arg_len);
		len = len - old_len + arg_len;
		at += n - old_len + arg_len;
		(*ops->rewritten)++;
		*touched = true;
	}
	return len;
}

void
eph_ftp_to_server(struct eph_ftp_conn *c, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
		  const struct eph_ftp_ops *ops)
{
	uint16_t ihl = rte_ipv4_hdr_len(ip), total = rte_be_to_cpu_16(ip->total_length), thl;
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)((uint8_t *)ip + ihl);
	uint32_t seq = rte_be_to_cpu_32(tcp->sent_seq), shifted;
	size_t len, new_len;
	bool touched = false;
	int32_t off;

	if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK))
		return; /* no TCP header here */
	thl = (uint16_t)((tcp->data_off >> 4) * 4);
	if (total < ihl + thl)
		return;
	len = (size_t)(total - ihl - thl);
	new_len = len;
	if (tcp->tcp_flags & RTE_TCP_SYN_FLAG) {
		c->line = seq + 1;
		c->flags |= EPH_FTP_LINE_KNOWN;
	} else if (len > 0 && !(ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG)) &&
		   rte_pktmbuf_is_contiguous(m) && rte_ipv4_udptcp_cksum_verify(ip, tcp) == 0) {
		uint8_t *pl = (uint8_t *)tcp + thl;
		size_t l2 = (size_t)(pl - rte_pktmbuf_mtod(m, uint8_t *)), start = 0, last_nl;
		size_t cap = RTE_MIN((size_t)(m->buf_len - m->data_off) - l2,
				     (size_t)UINT16_MAX - ihl - thl);
		const uint8_t *nl = NULL;

		if (!(c->flags & EPH_FTP_LINE_KNOWN)) {
			c->line = seq; /* picked up mid-connection: take the segment's start */
			c->flags |= EPH_FTP_LINE_KNOWN;
		}
		if (seq != c->line && seq != c->last_seq) {
			/* Not where a line starts: lines begin after its first line feed. */
			nl = memchr(pl, '\n', len);
			start = nl == NULL ? len : (size_t)(nl - pl) + 1;
		}
		new_len = rewrite_lines(pl, len, cap, start, ops, &last_nl, &touched);
		if (last_nl == 0 && nl != NULL)
			last_nl = start; /* the line feed that ended the line we came in on */
		if (last_nl > 0 && seq_after(seq + (uint32_t)last_nl, c->line))
			c->line = seq + (uint32_t)last_nl;
		if (touched)
			c->last_seq = seq; /* its retransmissions are read again, and get the same */
		if (new_len != len) {
			int32_t delta = (int32_t)new_len - (int32_t)len;

			if (!(c->flags & EPH_FTP_SHIFTED) || seq_after(seq, c->pos)) {
				c->pos = seq;
				c->before = c->after;
				c->after += delta;
				c->flags |= EPH_FTP_SHIFTED;
			}
			total = (uint16_t)(ihl + thl + new_len);
			ip->total_length = rte_cpu_to_be_16(total);
			rte_pktmbuf_data_len(m) = (uint16_t)(l2 + new_len);
			rte_pktmbuf_pkt_len(m) = l2 + new_len;
			ip->hdr_checksum = 0;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
		}
	}
	off = !(c->flags & EPH_FTP_SHIFTED) ? 0 : seq_after(seq, c->pos) ? c->after : c->before;
	shifted = rte_cpu_to_be_32(seq + (uint32_t)off);
	if (touched) {
		tcp->sent_seq = shifted;
		tcp->cksum = 0;
		tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
	} else if (off != 0) {
		tcp->cksum = eph_cksum_update32(tcp->cksum, tcp->sent_seq, shifted);
		tcp->sent_seq = shifted;
	}
}

/* A number of the client's, as the server acknowledges it, back in the client's space. */
static uint32_t
to_client(uint32_t n, const void *arg)
{
	const struct eph_ftp_conn *c = arg;

	return n - (uint32_t)(seq_after(n - (uint32_t)c->before, c->pos) ? c->after : c->before);
}

void
eph_ftp_to_client(const struct eph_ftp_conn *c, struct rte_ipv4_hdr *ip)
{
	uint16_t ihl = rte_ipv4_hdr_len(ip), thl;
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)((uint8_t *)ip + ihl);

	if (!(c->flags & EPH_FTP_SHIFTED) ||
	    (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)))
		return;
	thl = (uint16_t)((tcp->data_off >> 4) * 4);
	if (tcp->tcp_flags & RTE_TCP_ACK_FLAG) {
		uint32_t ack = rte_cpu_to_be_32(to_client(rte_be_to_cpu_32(tcp->recv_ack), c));

		tcp->cksum = eph_cksum_update32(tcp->cksum, tcp->recv_ack, ack);
		tcp->recv_ack = ack;
	}
	if (thl > sizeof(*tcp) && thl <= rte_be_to_cpu_16(ip->total_length) - ihl)
		eph_tcp_sack_map(tcp, thl, to_client, c);
}

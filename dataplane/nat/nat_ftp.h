/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * FTP through the NAT (pools[].alg: [ftp]; RFC 959, RFC 2428).
 *
 * An inside client in active mode tells the server where to connect back:
 * "PORT h1,h2,h3,h4,p1,p2" or "EPRT |1|a.b.c.d|port|", an inside address
 * the server cannot reach. On a control connection (TCP from an inside host
 * to the pool's ftp-port), the gateway rewrites the argument to the
 * session's outside address and a port it takes for the data connection:
 * a session client:port <-> server:L-1 (RFC 959's data port, 20 for 21),
 * made at once as if the client had opened it, so the server's SYN from
 * that port finds it; from then on it is an ordinary session (idle timer,
 * filtering, its port rests when it ends). A retransmitted command finds
 * the same session and is rewritten the same way.
 *
 * Passive mode needs no rewrite: the 227/229 replies of an outside server
 * carry its own address, which the client reaches as any other, and the
 * client's data connection leaves from the control connection's outside
 * address (paired pooling), which servers check (vsftpd pasv_promiscuous).
 *
 * A rewrite changes the segment's length, so from it on the client's
 * sequence numbers are shifted and the server's acknowledgements and SACK
 * edges shifted back, for the connection's life, as Linux's
 * nf_conntrack_seqadj does: one correction point (the client sequence
 * number of the last rewritten segment) with the offset of segments
 * starting at or before it and of those after it. Commands and replies
 * alternate on a control connection, so a rewritten command is
 * acknowledged long before the next one.
 *
 * Lines: a segment is read only where a command line starts (after the
 * last line feed seen, or at the connection's first byte). A PORT or EPRT
 * whose line does not end in the segment that starts it cannot be
 * rewritten: its verb's letters are overwritten with X, so the server
 * answers "500 unknown command" instead of connecting to an inside
 * address, and it is counted (ftp_split_refused); likewise a command the
 * gateway cannot serve (malformed, another host's address, IPv6, no port
 * for the data connection: ftp_refused). Either way the client gets an
 * error it reports, and the control connection goes on.
 *
 * Fragments: a control segment in fragments has its sequence number
 * shifted in the first one but is not read. FTP commands are tens of
 * bytes, so their segments are never fragmented on a sane path, and the
 * full reassembly reading one would take (librte_ip_frag, then cutting
 * the datagram again) is not worth its state for a case that does not
 * occur; were it to, the unread PORT names an inside address, which the
 * server refuses.
 *
 * State: per worker, a table of EPH_FTP_CONNS control connections, found by
 * session index (rte_hash: control segments are rare, the data path never
 * looks). A control connection beyond it is translated without the gateway
 * and counted (ftp_table_full).
 */
#ifndef EPH_NAT_FTP_H
#define EPH_NAT_FTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rte_hash;
struct rte_ipv4_hdr;
struct rte_mbuf;

#define EPH_FTP_CONNS 4096u /* control connections per worker */

/* The longest argument the gateway writes: "255,255,255,255,255,255" or "|1|255.255.255.255|65535|". */
#define EPH_FTP_ARG_MAX 32

enum eph_ftp_verb {
	EPH_FTP_NONE,
	EPH_FTP_PORT, /* RFC 959 */
	EPH_FTP_EPRT, /* RFC 2428 */
};

/* A PORT or EPRT line as parsed (offsets from the line's first byte). */
struct eph_ftp_cmd {
	uint8_t verb;      /* enum eph_ftp_verb */
	bool ok;           /* the argument parsed: IPv4 address and a port */
	char delim;        /* EPRT's delimiter */
	uint32_t addr;     /* network order */
	uint16_t port;     /* host order */
	uint16_t arg_off;  /* the argument: [arg_off, arg_end) */
	uint16_t arg_end;
	uint16_t line_len; /* up to and with its line feed */
};

/*
 * Parse the line at p (n bytes, up to and with its '\n'): which verb, and
 * for PORT or EPRT whether its argument is an IPv4 address and port.
 */
void eph_ftp_parse(const uint8_t *p, size_t n, struct eph_ftp_cmd *cmd);

/*
 * Whether the n bytes at p, the start of a line whose end is not there,
 * may become a PORT or EPRT (a prefix of "PORT " or "EPRT ", or one of them
 * followed by more): returns how many of the verb's letters are there, 0
 * when it cannot.
 */
size_t eph_ftp_partial_verb(const uint8_t *p, size_t n);

/* The argument of verb (delim for EPRT) for addr:port (network order) into out; its length. */
size_t eph_ftp_format(char out[EPH_FTP_ARG_MAX], uint8_t verb, char delim, uint32_t addr,
		      uint16_t port);

/* Per control connection. dp: the owning worker only. */
struct eph_ftp_conn {
	uint32_t session;   /* the control session's index */
	uint32_t free_next; /* the free list, while unused */
	uint32_t pos;       /* client sequence number (host order) of the last rewritten segment */
	int32_t before;     /* offset of client segments starting at or before pos */
	int32_t after;      /* ... after pos */
	uint32_t line;      /* client sequence number where the next command line starts */
	uint32_t last_seq;  /* the last rewritten segment: a retransmission is rewritten alike */
	uint8_t flags;      /* EPH_FTP_* */
};

#define EPH_FTP_LINE_KNOWN 0x01 /* line holds where the next command starts */
#define EPH_FTP_SHIFTED    0x02 /* pos, before, after hold a correction */

struct eph_ftp_table {
	struct rte_hash *index; /* session index -> entry */
	struct eph_ftp_conn *c; /* [EPH_FTP_CONNS] */
	uint32_t free_head;
	uint32_t live;
};

struct eph_ftp_table *eph_ftp_table_create(const char *name, int socket);
void eph_ftp_table_free(struct eph_ftp_table *t);

/* A new control connection on session idx: NULL when the table is full. */
struct eph_ftp_conn *eph_ftp_open(struct eph_ftp_table *t, uint32_t idx);
struct eph_ftp_conn *eph_ftp_find(const struct eph_ftp_table *t, uint32_t idx);
/* Session idx ended: its entry, if any, goes back. */
void eph_ftp_close(struct eph_ftp_table *t, uint32_t idx);

/*
 * The data connection a rewritten command announces: data_port is asked for
 * the outside port of a session from the client's port cport (network
 * order) to the server's data port; 0 when there is none.
 */
struct eph_ftp_ops {
	uint16_t (*data_port)(void *arg, uint16_t cport);
	void *arg;
	uint32_t client;   /* the control connection's inside address, network order */
	uint32_t outside;  /* its outside address, network order */
	uint64_t *rewritten, *split_refused, *refused; /* counters */
};

/*
 * A client's segment of control connection c, on its way out, addresses
 * and ports translated already: PORT and EPRT rewritten (the segment may
 * grow or shrink; one m cannot hold refuses the command in place), its
 * sequence number shifted, IPv4 length and both checksums set.
 */
void eph_ftp_to_server(struct eph_ftp_conn *c, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
		       const struct eph_ftp_ops *ops);

/* A server's segment, before tracking: acknowledgement and SACK edges into the client's space. */
void eph_ftp_to_client(const struct eph_ftp_conn *c, struct rte_ipv4_hdr *ip);

#endif /* EPH_NAT_FTP_H */

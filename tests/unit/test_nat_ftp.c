/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * FTP through the NAT (pools[].alg: [ftp], nat_ftp.h) on real DPDK ports
 * (net_ring): a control connection's segments built byte by byte and
 * pushed through the data plane; what each port sent is read back: the
 * rewritten PORT/EPRT text, sequence and acknowledgement numbers and SACK
 * edges in each side's space, full checksums, and the data connection the
 * server then opens from port 20. Also the parser alone.
 */
#include <stdio.h>
#include <string.h>

#include <rte_tcp.h>

#include "dataplane/nat/nat.h"
#include "dataplane/nat/nat_ftp.h"
#include "tests/unit/harness.h"

#define IN      0
#define OUT     1
#define POOL_A  T_IPV4(203, 0, 113, 100)
#define PORT_LO 20000
#define PORT_HI 20063
#define CPORT   40000 /* the client's control port */
#define CISN    1000u /* the client's initial sequence number */
#define SISN    5000u /* the server's */

static struct eph_worker *w;
static uint32_t pool_addrs[] = { POOL_A };
static struct eph_conf_prefix pool_inside[] = { { T_IPV4(192, 0, 2, 0), 24 } };

static void
with_ftp_pool(struct eph_conf *conf)
{
	struct eph_conf_pool *p = &conf->pools[0];

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "ftp");
	p->addrs = pool_addrs;
	p->n_addrs = 1;
	p->port_lo = PORT_LO;
	p->port_hi = PORT_HI;
	p->inside = pool_inside;
	p->n_inside = 1;
	p->quarantine_s = 2;
	p->max_inbound_per_mapping = 256;
	p->alg = EPH_ALG_FTP;
	p->ftp_port = 21;
	conf->n_pools = 1;
	conf->timeouts.udp = 5;
	conf->timeouts.tcp_transitory = 10;
	conf->timeouts.tcp_established = 100;
	conf->timeouts.icmp = 3;
	conf->nat.sessions_per_worker = 4096;
	conf->nat.destinations_per_worker = 1024;
	conf->nat.handoff_ring = 256;
}

static int
setup(void **state)
{
	(void)state;
	t_start_with("unit-nat-ftp", with_ftp_pool);
	w = t_dp.workers[0];
	t_neigh_add(OUT, T_SERVER, &t_server_mac);
	t_neigh_add(IN, T_HOST, &t_host_mac);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	t_conf.n_pools = 0; /* the pool's arrays are static */
	t_stop();
	return 0;
}

static int
per_test_reset(void **state)
{
	(void)state;
	t_drain();
	return 0;
}

static void
input(uint16_t port, struct rte_mbuf *m)
{
	eph_input_burst(w, port, &m, 1);
}

/* The state a test keeps of one control connection. */
struct ctl {
	uint16_t cport;    /* client's port */
	uint16_t out_port; /* its outside port */
	uint32_t cseq;     /* client's next sequence number, its own space */
	uint32_t sseq;     /* server's next */
};

/* A client segment with payload text: what the server got (the one packet OUT sent). */
static struct rte_mbuf *
client_sends(struct ctl *c, const char *text, size_t len, const uint8_t *opt, uint16_t olen)
{
	input(IN, t_tcp_segment(IN, &t_host_mac, T_HOST, T_SERVER, c->cport, 21, RTE_TCP_ACK_FLAG |
				(len ? RTE_TCP_PSH_FLAG : 0), c->cseq, c->sseq, 65535, opt, olen,
				(const uint8_t *)text, (uint16_t)len));
	c->cseq += (uint32_t)len;
	return t_one_out(OUT);
}

/* A server segment acknowledging ack (its own, shifted space) with SACK edges if given. */
static struct rte_mbuf *
server_sends(struct ctl *c, uint32_t ack, const char *text, const uint8_t *opt, uint16_t olen)
{
	size_t len = text ? strlen(text) : 0;

	input(OUT, t_tcp_segment(OUT, &t_server_mac, T_SERVER, POOL_A, 21, c->out_port,
				 RTE_TCP_ACK_FLAG, c->sseq, ack, 65535, opt, olen,
				 (const uint8_t *)text, (uint16_t)len));
	c->sseq += (uint32_t)len;
	return t_one_out(IN);
}

/* A control connection's handshake through the gateway. */
static void
ctl_open(struct ctl *c, uint16_t cport)
{
	struct rte_mbuf *m;

	*c = (struct ctl){ .cport = cport, .cseq = CISN, .sseq = SISN };
	input(IN, t_tcp_segment(IN, &t_host_mac, T_HOST, T_SERVER, cport, 21, RTE_TCP_SYN_FLAG,
				CISN, 0, 65535, NULL, 0, NULL, 0));
	m = t_one_out(OUT);
	c->out_port = t_l4_port(m, 0);
	assert_int_equal(t_tcp_seq(m), CISN);
	rte_pktmbuf_free(m);
	c->cseq = CISN + 1;
	input(OUT, t_tcp_segment(OUT, &t_server_mac, T_SERVER, POOL_A, 21, c->out_port,
				 RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, SISN, c->cseq, 65535, NULL, 0,
				 NULL, 0));
	rte_pktmbuf_free(t_one_out(IN));
	c->sseq = SISN + 1;
	rte_pktmbuf_free(client_sends(c, "", 0, NULL, 0));
}

static void
assert_payload(struct rte_mbuf *m, const char *want)
{
	size_t n = strlen(want);

	assert_int_equal(t_tcp_payload_len(m), n);
	assert_memory_equal(t_tcp_payload(m), want, n);
}

/* The server's SYN from data_port to POOL_A:port: where it arrives inside (the one packet). */
static struct rte_mbuf *
server_connects(uint16_t data_port, uint16_t port)
{
	input(OUT, t_tcp_segment(OUT, &t_server_mac, T_SERVER, POOL_A, data_port, port,
				 RTE_TCP_SYN_FLAG, 77000, 0, 65535, NULL, 0, NULL, 0));
	return t_one_out(IN);
}

/* "PORT 203,0,113,100,p1,p2\r\n" -> p1 * 256 + p2, asserting the address. */
static uint16_t
port_of(struct rte_mbuf *m)
{
	char text[64];
	unsigned int a, b, c, d, p1, p2;
	size_t n = RTE_MIN((size_t)t_tcp_payload_len(m), sizeof(text) - 1);

	memcpy(text, t_tcp_payload(m), n);
	text[n] = '\0';
	assert_int_equal(sscanf(text, "PORT %u,%u,%u,%u,%u,%u", &a, &b, &c, &d, &p1, &p2), 6);
	assert_int_equal(T_IPV4(a, b, c, d), POOL_A);
	return (uint16_t)(p1 * 256 + p2);
}

/*
 * Active mode: PORT is rewritten to the pool address and a port of the
 * pool; the server's SYN from port 20 to it reaches the client's port; the
 * client's later numbers are shifted by the growth, the server's acks back.
 */
static void
test_port_rewritten(void **state)
{
	const char *cmd = "PORT 192,0,2,11,156,65\r\n"; /* 40001 */
	uint64_t rw = w->nat.ctr[EPH_NAT_ftp_commands_rewritten];
	uint64_t ex = w->nat.ctr[EPH_NAT_ftp_data_expected];
	struct ctl c;
	struct rte_mbuf *m;
	uint16_t q;
	char want[64];
	int32_t grow;
	uint32_t at;

	(void)state;
	ctl_open(&c, CPORT);
	at = c.cseq;
	m = client_sends(&c, cmd, strlen(cmd), NULL, 0);
	q = port_of(m);
	assert_true(q >= PORT_LO && q <= PORT_HI);
	snprintf(want, sizeof(want), "PORT 203,0,113,100,%u,%u\r\n", q >> 8, q & 0xff);
	assert_payload(m, want);
	assert_int_equal(t_tcp_seq(m), at); /* the rewritten segment starts where it did */
	assert_int_equal(rte_be_to_cpu_16(t_ip(m)->total_length), 40 + strlen(want));
	grow = (int32_t)strlen(want) - (int32_t)strlen(cmd);
	rte_pktmbuf_free(m);
	assert_int_equal(w->nat.ctr[EPH_NAT_ftp_commands_rewritten], rw + 1);
	assert_int_equal(w->nat.ctr[EPH_NAT_ftp_data_expected], ex + 1);

	/* The server acknowledges the longer command: the client sees its own end. */
	m = server_sends(&c, at + (uint32_t)strlen(want), "200 PORT command successful\r\n",
			 NULL, 0);
	assert_int_equal(t_tcp_ack(m), c.cseq);
	rte_pktmbuf_free(m);

	/* The data connection from port 20 reaches the client's advertised port. */
	m = server_connects(20, q);
	assert_int_equal(t_ip(m)->dst_addr, rte_cpu_to_be_32(T_HOST));
	assert_int_equal(t_l4_port(m, 2), 40001);
	assert_int_equal(t_l4_port(m, 0), 20);
	rte_pktmbuf_free(m);
	/* From another port of the server it is not admitted (endpoint-dependent filtering). */
	input(OUT, t_tcp_segment(OUT, &t_server_mac, T_SERVER, POOL_A, 2020, q, RTE_TCP_SYN_FLAG,
				 1, 0, 65535, NULL, 0, NULL, 0));
	assert_int_equal(t_sent(IN, &m, 1), 0);

	/* The next command moves by the growth. */
	m = client_sends(&c, "RETR f\r\n", 8, NULL, 0);
	assert_int_equal(t_tcp_seq(m), c.cseq - 8 + (uint32_t)grow);
	assert_payload(m, "RETR f\r\n");
	rte_pktmbuf_free(m);
	m = server_sends(&c, c.cseq + (uint32_t)grow, "150 ok\r\n", NULL, 0);
	assert_int_equal(t_tcp_ack(m), c.cseq);
	rte_pktmbuf_free(m);
}

/* EPRT (RFC 2428) the same way, with its own delimiter kept. */
static void
test_eprt_rewritten(void **state)
{
	const char *cmd = "EPRT !1!192.0.2.11!40002!\r\n";
	struct ctl c;
	struct rte_mbuf *m;
	char text[64], want[64];
	unsigned int q;
	size_t n;

	(void)state;
	ctl_open(&c, CPORT + 10);
	m = client_sends(&c, cmd, strlen(cmd), NULL, 0);
	n = t_tcp_payload_len(m);
	assert_true(n < sizeof(text));
	memcpy(text, t_tcp_payload(m), n);
	text[n] = '\0';
	assert_int_equal(sscanf(text, "EPRT !1!203.0.113.100!%u!", &q), 1);
	snprintf(want, sizeof(want), "EPRT !1!203.0.113.100!%u!\r\n", q);
	assert_string_equal(text, want);
	rte_pktmbuf_free(m);
	m = server_connects(20, (uint16_t)q);
	assert_int_equal(t_l4_port(m, 2), 40002);
	rte_pktmbuf_free(m);
}

/*
 * Several rewrites on one connection: each shifts what follows, acks and
 * SACK edges on either side of a correction point come back right, and a
 * retransmitted command is rewritten alike without shifting again.
 */
static void
test_offsets_accumulate(void **state)
{
	const char *cmd1 = "PORT 192,0,2,11,0,21\r\n"; /* short: the rewrite grows it */
	const char *cmd2 = "port 192,0,2,11,255,255\r\n"; /* long, lower case */
	uint8_t sack[12] = { 1, 1, 5, 10 };
	uint32_t at1, at2, out1, out2, len1, len2, edge, edge2;
	uint64_t ex;
	struct ctl c;
	struct rte_mbuf *m;

	(void)state;
	ctl_open(&c, CPORT + 20);
	at1 = c.cseq;
	m = client_sends(&c, cmd1, strlen(cmd1), NULL, 0);
	out1 = t_tcp_seq(m);
	len1 = t_tcp_payload_len(m);
	assert_int_equal(out1, at1);
	rte_pktmbuf_free(m);
	rte_pktmbuf_free(server_sends(&c, out1 + len1, "200 ok\r\n", NULL, 0));

	at2 = c.cseq;
	m = client_sends(&c, cmd2, strlen(cmd2), NULL, 0);
	out2 = t_tcp_seq(m);
	len2 = t_tcp_payload_len(m);
	assert_int_equal(memcmp(t_tcp_payload(m), "port 203,0,113,100,", 19), 0);
	assert_int_equal(out2, at2 + len1 - (uint32_t)strlen(cmd1));
	rte_pktmbuf_free(m);

	/* A retransmission of the second: same bytes, same place, same data port. */
	ex = w->nat.ctr[EPH_NAT_ftp_data_expected];
	c.cseq = at2;
	m = client_sends(&c, cmd2, strlen(cmd2), NULL, 0);
	assert_int_equal(t_tcp_seq(m), out2);
	assert_int_equal(t_tcp_payload_len(m), len2);
	rte_pktmbuf_free(m);
	assert_int_equal(w->nat.ctr[EPH_NAT_ftp_data_expected], ex);

	/*
	 * The server acknowledges the first command only, SACKs the second:
	 * the ack falls before the last correction point, the edges after it.
	 */
	edge = out2;
	edge2 = out2 + len2;
	sack[4] = (uint8_t)(edge >> 24), sack[5] = (uint8_t)(edge >> 16);
	sack[6] = (uint8_t)(edge >> 8), sack[7] = (uint8_t)edge;
	sack[8] = (uint8_t)(edge2 >> 24), sack[9] = (uint8_t)(edge2 >> 16);
	sack[10] = (uint8_t)(edge2 >> 8), sack[11] = (uint8_t)edge2;
	m = server_sends(&c, out1 + len1, NULL, sack, sizeof(sack));
	assert_int_equal(t_tcp_ack(m), at1 + (uint32_t)strlen(cmd1));
	{
		const uint8_t *o = (const uint8_t *)(t_tcp(m) + 1) + 4;
		uint32_t l = (uint32_t)o[0] << 24 | (uint32_t)o[1] << 16 | (uint32_t)o[2] << 8 | o[3];
		uint32_t r = (uint32_t)o[4] << 24 | (uint32_t)o[5] << 16 | (uint32_t)o[6] << 8 | o[7];

		assert_int_equal(l, at2);
		assert_int_equal(r, at2 + (uint32_t)strlen(cmd2));
	}
	rte_pktmbuf_free(m);
	m = server_sends(&c, out2 + len2, NULL, NULL, 0);
	assert_int_equal(t_tcp_ack(m), c.cseq);
	rte_pktmbuf_free(m);
}

/*
 * A PORT whose line ends in the next segment is refused: its verb turned
 * to X's (the server answers 500), counted; the connection goes on and
 * the next PORT is rewritten.
 */
static void
test_split_refused(void **state)
{
	uint64_t sr = w->nat.ctr[EPH_NAT_ftp_split_refused];
	struct ctl c;
	struct rte_mbuf *m;

	(void)state;
	ctl_open(&c, CPORT + 30);
	m = client_sends(&c, "PORT 192,0,2,", 13, NULL, 0);
	assert_payload(m, "XXXX 192,0,2,");
	rte_pktmbuf_free(m);
	m = client_sends(&c, "11,156,70\r\n", 11, NULL, 0);
	assert_payload(m, "11,156,70\r\n");
	rte_pktmbuf_free(m);
	assert_int_equal(w->nat.ctr[EPH_NAT_ftp_split_refused], sr + 1);
	/* Even two letters of the verb. */
	m = client_sends(&c, "EP", 2, NULL, 0);
	assert_payload(m, "XX");
	rte_pktmbuf_free(m);
	m = client_sends(&c, "RT |1|192.0.2.11|1|\r\n", 21, NULL, 0);
	rte_pktmbuf_free(m);
	assert_int_equal(w->nat.ctr[EPH_NAT_ftp_split_refused], sr + 2);
	/* Whole again: rewritten, and nothing was shifted before. */
	m = client_sends(&c, "NOOP\r\nPORT 192,0,2,11,156,71\r\n", 30, NULL, 0);
	assert_int_equal(memcmp(t_tcp_payload(m), "NOOP\r\nPORT 203,0,113,100,", 25), 0);
	assert_int_equal(t_tcp_seq(m), c.cseq - 30);
	rte_pktmbuf_free(m);
}

/* Another host's address, or a malformed argument: refused in place, counted. */
static void
test_refused(void **state)
{
	uint64_t rf = w->nat.ctr[EPH_NAT_ftp_refused];
	struct ctl c;
	struct rte_mbuf *m;

	(void)state;
	ctl_open(&c, CPORT + 40);
	m = client_sends(&c, "PORT 192,0,2,99,156,70\r\n", 24, NULL, 0);
	assert_payload(m, "XXXX 192,0,2,99,156,70\r\n");
	rte_pktmbuf_free(m);
	/* Its retransmission (the first copy lost past the gateway) is refused alike. */
	c.cseq -= 24;
	m = client_sends(&c, "PORT 192,0,2,99,156,70\r\n", 24, NULL, 0);
	assert_payload(m, "XXXX 192,0,2,99,156,70\r\n");
	rte_pktmbuf_free(m);
	m = client_sends(&c, "PORT 192,0,2,11,256,1\r\n", 23, NULL, 0);
	assert_payload(m, "XXXX 192,0,2,11,256,1\r\n");
	rte_pktmbuf_free(m);
	m = client_sends(&c, "EPRT |2|::1|5000|\r\n", 19, NULL, 0);
	assert_payload(m, "XXXX |2|::1|5000|\r\n");
	rte_pktmbuf_free(m);
	assert_int_equal(w->nat.ctr[EPH_NAT_ftp_refused], rf + 4);
	/* Other commands pass as they are, a PORT inside a file name or a longer word too. */
	m = client_sends(&c, "RETR PORT 1\r\nPORTAL x\r\n", 23, NULL, 0);
	assert_payload(m, "RETR PORT 1\r\nPORTAL x\r\n");
	rte_pktmbuf_free(m);
}

/* Only connections to the pool's ftp-port get the gateway. */
static void
test_other_port_untouched(void **state)
{
	const char *cmd = "PORT 192,0,2,11,156,80\r\n";
	struct rte_mbuf *m;

	(void)state;
	input(IN, t_tcp_segment(IN, &t_host_mac, T_HOST, T_SERVER, CPORT + 50, 2121,
				RTE_TCP_SYN_FLAG, 0, 0, 65535, NULL, 0, NULL, 0));
	rte_pktmbuf_free(t_one_out(OUT));
	input(IN, t_tcp_segment(IN, &t_host_mac, T_HOST, T_SERVER, CPORT + 50, 2121,
				RTE_TCP_ACK_FLAG, 1, 1, 65535, NULL, 0, (const uint8_t *)cmd,
				(uint16_t)strlen(cmd)));
	m = t_one_out(OUT);
	assert_payload(m, cmd);
	rte_pktmbuf_free(m);
}

/* The parser alone. */
static void
test_parse(void **state)
{
	struct eph_ftp_cmd cmd;
	char arg[EPH_FTP_ARG_MAX];
	const char *l;

	(void)state;
	l = "PORT 10,1,2,3,4,5\r\n";
	eph_ftp_parse((const uint8_t *)l, strlen(l), &cmd);
	assert_int_equal(cmd.verb, EPH_FTP_PORT);
	assert_true(cmd.ok);
	assert_int_equal(cmd.addr, rte_cpu_to_be_32(T_IPV4(10, 1, 2, 3)));
	assert_int_equal(cmd.port, 4 * 256 + 5);
	assert_int_equal(cmd.arg_off, 5);
	assert_int_equal(cmd.arg_end, 17);
	l = "EPRT |1|10.1.2.3|65535|\n";
	eph_ftp_parse((const uint8_t *)l, strlen(l), &cmd);
	assert_int_equal(cmd.verb, EPH_FTP_EPRT);
	assert_true(cmd.ok);
	assert_int_equal(cmd.delim, '|');
	assert_int_equal(cmd.port, 65535);
	static const char *const bad[] = {
		"PORT 10,1,2,3,4\r\n", "PORT 10,1,2,3,4,5,6\r\n", "PORT 1000,1,2,3,4,5\r\n",
		"PORT 10,1,2,3,0,0\r\n", "EPRT |1|10.1.2.3|65536|\r\n", "EPRT |1|10.1.2|5|\r\n",
		"EPRT |2|::1|5|\r\n", "PORT\r\n", "PORT 10,1,2,3,4,5 x\r\n", "EPRT  \r\n",
	};
	for (unsigned int i = 0; i < RTE_DIM(bad); i++) {
		eph_ftp_parse((const uint8_t *)bad[i], strlen(bad[i]), &cmd);
		assert_int_not_equal(cmd.verb, EPH_FTP_NONE);
		assert_false(cmd.ok);
	}
	l = "PORTAL 1\r\n";
	eph_ftp_parse((const uint8_t *)l, strlen(l), &cmd);
	assert_int_equal(cmd.verb, EPH_FTP_NONE);
	assert_int_equal(eph_ftp_partial_verb((const uint8_t *)"POR", 3), 3);
	assert_int_equal(eph_ftp_partial_verb((const uint8_t *)"eprt 1,", 7), 4);
	assert_int_equal(eph_ftp_partial_verb((const uint8_t *)"PORTAL", 6), 0);
	assert_int_equal(eph_ftp_partial_verb((const uint8_t *)"RETR", 4), 0);
	assert_int_equal(eph_ftp_format(arg, EPH_FTP_PORT, 0, rte_cpu_to_be_32(T_IPV4(255, 255, 255, 255)),
					 RTE_BE16(65535)),
			 strlen("255,255,255,255,255,255"));
	assert_int_equal(eph_ftp_format(arg, EPH_FTP_EPRT, '|',
					 rte_cpu_to_be_32(T_IPV4(255, 255, 255, 255)), RTE_BE16(65535)),
			 strlen("|1|255.255.255.255|65535|"));
}

/* A control session that ends gives its entry back. */
static void
test_entries_freed(void **state)
{
	(void)state;
	assert_true(w->nat.ftp->live > 0);
	for (unsigned int i = 0; i < 2 * 100 * EPH_NAT_TICK_HZ; i += EPH_NAT_TICK_HZ)
		t_advance(w, EPH_NAT_TICK_HZ);
	assert_int_equal(w->nat.ftp->live, 0);
	assert_int_equal(eph_nat_session_count(&w->nat), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup(test_port_rewritten, per_test_reset),
		cmocka_unit_test_setup(test_eprt_rewritten, per_test_reset),
		cmocka_unit_test_setup(test_offsets_accumulate, per_test_reset),
		cmocka_unit_test_setup(test_split_refused, per_test_reset),
		cmocka_unit_test_setup(test_refused, per_test_reset),
		cmocka_unit_test_setup(test_other_port_untouched, per_test_reset),
		cmocka_unit_test_setup(test_entries_freed, per_test_reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAT rewrites byte by byte: TCP, UDP and ICMP echo translated with the
 * precomputed deltas must carry exactly the checksums a full recompute
 * gives, and translating back must restore the original bytes. ICMP errors
 * are checked inner and outer. Random packets from a fixed seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/nat/nat_icmp.h"
#include "dataplane/nat/nat_rewrite.h"

#define ROUNDS   50000
#define MAX_DATA 200

static uint32_t rng_state = 0x9e3779b9;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* A packet buffer, 4-byte aligned like mbuf data after a 14-byte Ethernet header + 2. */
struct pkt {
	union {
		uint8_t bytes[1600];
		uint32_t align;
	};
};

static struct rte_ipv4_hdr *
build(struct pkt *p, uint8_t proto, uint16_t data_len)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p->bytes;
	uint8_t *l4 = (uint8_t *)(ip + 1);
	uint16_t l4_len;

	memset(p, 0, sizeof(*p));
	switch (proto) {
	case IPPROTO_TCP:
		l4_len = sizeof(struct rte_tcp_hdr) + data_len;
		break;
	case IPPROTO_UDP:
		l4_len = sizeof(struct rte_udp_hdr) + data_len;
		break;
	default:
		l4_len = sizeof(struct rte_icmp_hdr) + data_len;
		break;
	}
	for (uint16_t i = 0; i < l4_len; i++)
		l4[i] = (uint8_t)rng();
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4_len)),
		.packet_id = (uint16_t)rng(),
		.time_to_live = (uint8_t)(rng() | 1),
		.next_proto_id = proto,
		.src_addr = rng(),
		.dst_addr = rng(),
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	if (proto == IPPROTO_TCP) {
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)l4;

		t->data_off = 5 << 4;
		t->cksum = 0;
		t->cksum = rte_ipv4_udptcp_cksum(ip, t);
	} else if (proto == IPPROTO_UDP) {
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)l4;

		u->dgram_len = rte_cpu_to_be_16(l4_len);
		u->dgram_cksum = 0;
		u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
	} else {
		struct rte_icmp_hdr *c = (struct rte_icmp_hdr *)l4;

		c->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
		c->icmp_code = 0;
		c->icmp_cksum = 0;
		c->icmp_cksum = (uint16_t)~rte_raw_cksum(c, l4_len);
	}
	return ip;
}

static uint16_t
l4_len_of(const struct rte_ipv4_hdr *ip)
{
	return (uint16_t)(rte_be_to_cpu_16(ip->total_length) - sizeof(*ip));
}

/* The checksums in the packet are exactly right, by full recompute. */
static void
assert_checksums(struct rte_ipv4_hdr *ip)
{
	uint8_t *l4 = (uint8_t *)(ip + 1);

	assert_int_equal(rte_raw_cksum(ip, sizeof(*ip)), 0xffff);
	if (ip->next_proto_id == IPPROTO_ICMP)
		assert_int_equal(rte_raw_cksum(l4, l4_len_of(ip)), 0xffff);
	else
		assert_int_equal(eph_cksum_fold((uint32_t)rte_ipv4_phdr_cksum(ip, 0) +
					       rte_raw_cksum(l4, l4_len_of(ip))), 0xffff);
}

static uint16_t
get_port(struct rte_ipv4_hdr *ip, bool source)
{
	uint16_t v;

	memcpy(&v, eph_l4_port(ip->next_proto_id, (uint8_t *)(ip + 1), source), sizeof(v));
	return v;
}

static void
swap(struct rte_ipv4_hdr *ip)
{
	uint32_t a = ip->src_addr;

	ip->src_addr = ip->dst_addr;
	ip->dst_addr = a;
	if (ip->next_proto_id != IPPROTO_ICMP) {
		uint16_t *ports = (uint16_t *)(ip + 1);
		uint16_t x = ports[0];

		ports[0] = ports[1];
		ports[1] = x;
	}
}

static void
round_trip(uint8_t proto)
{
	for (int i = 0; i < ROUNDS; i++) {
		struct pkt p, orig;
		struct rte_ipv4_hdr *ip = build(&p, proto, (uint16_t)(rng() % MAX_DATA));
		uint32_t in_addr = ip->src_addr, out_addr = rng();
		uint16_t in_port = get_port(ip, true), out_port = (uint16_t)rng();
		struct eph_nat_delta d = eph_nat_delta(proto, in_addr, in_port, out_addr, out_port);
		uint16_t dst_port = get_port(ip, false);

		orig = p;
		eph_nat_rewrite_src(ip, (uint8_t *)(ip + 1), out_addr, out_port, d);
		assert_int_equal(ip->src_addr, out_addr);
		assert_int_equal(get_port(ip, true), out_port);
		if (proto != IPPROTO_ICMP)
			assert_int_equal(get_port(ip, false), dst_port);
		assert_checksums(ip);

		/*
		 * The reply: source and destination swapped (checksums do not
		 * change, the sums are order-free), translated back, swapped
		 * again: every byte must be the original's.
		 */
		swap(ip);
		eph_nat_rewrite_dst(ip, (uint8_t *)(ip + 1), in_addr, in_port, d);
		swap(ip);
		assert_memory_equal(&p, &orig, 20 + l4_len_of(ip));
	}
}

static void
test_tcp(void **state)
{
	(void)state;
	round_trip(IPPROTO_TCP);
}

static void
test_udp(void **state)
{
	(void)state;
	round_trip(IPPROTO_UDP);
}

static void
test_icmp_echo(void **state)
{
	(void)state;
	round_trip(IPPROTO_ICMP);
}

static void
test_udp_zero_checksum_stays_zero(void **state)
{
	(void)state;
	for (int i = 0; i < 1000; i++) {
		struct pkt p;
		struct rte_ipv4_hdr *ip = build(&p, IPPROTO_UDP, 16);
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)(ip + 1);
		uint32_t out_addr = rng();
		uint16_t out_port = (uint16_t)rng();

		u->dgram_cksum = 0;
		eph_nat_rewrite_src(ip, (uint8_t *)u, out_addr, out_port,
				    eph_nat_delta(IPPROTO_UDP, ip->src_addr, u->src_port, out_addr,
						  out_port));
		assert_int_equal(u->dgram_cksum, 0);
		assert_int_equal(rte_raw_cksum(ip, sizeof(*ip)), 0xffff);
	}
}

/*
 * An ICMP error from a router about a packet we translated on the way out:
 * it arrives for out_addr and quotes out_addr:out_port as the source.
 */
static void
check_error_to_inside(uint8_t inner_proto, uint16_t quote_l4)
{
	struct pkt inner_pkt, err;
	struct rte_ipv4_hdr *inner = build(&inner_pkt, inner_proto, 40);
	uint32_t in_addr = inner->src_addr, out_addr = rng(), router = rng();
	uint16_t in_port = get_port(inner, true), out_port = (uint16_t)rng();
	struct eph_nat_delta d = eph_nat_delta(inner_proto, in_addr, in_port, out_addr, out_port);
	struct pkt expect_inner = inner_pkt;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)err.bytes;
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	uint16_t quote = (uint16_t)(sizeof(struct rte_ipv4_hdr) + quote_l4);
	struct eph_icmp_quote q;

	/* What left the gateway: the translated packet. */
	eph_nat_rewrite_src(inner, (uint8_t *)(inner + 1), out_addr, out_port, d);

	memset(&err, 0, sizeof(err));
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16((uint16_t)(20 + 8 + quote)),
		.time_to_live = 60,
		.next_proto_id = IPPROTO_ICMP,
		.src_addr = router,
		.dst_addr = out_addr,
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	icmp->icmp_type = 11;
	memcpy(icmp + 1, inner, quote);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, 8 + quote);

	assert_true(eph_icmp_error_quote(ip, (uint16_t)(20 + 8 + quote), &q));
	assert_int_equal(q.proto, inner_proto);
	eph_nat_icmp_error_to_inside(ip, &q, in_addr, in_port, d);

	assert_int_equal(ip->dst_addr, in_addr);
	assert_int_equal(ip->src_addr, router);
	assert_int_equal(rte_raw_cksum(ip, 20), 0xffff);
	assert_int_equal(rte_raw_cksum(icmp, 8 + quote), 0xffff);
	/* The quote is now the packet as the inside host sent it, byte for byte. */
	assert_memory_equal(icmp + 1, expect_inner.bytes, quote);
}

static void
test_icmp_error_to_inside(void **state)
{
	(void)state;
	for (int i = 0; i < 2000; i++) {
		/* Full quotes (checksum inside) and RFC 792 minimum quotes. */
		check_error_to_inside(IPPROTO_UDP, 8 + 40);
		check_error_to_inside(IPPROTO_UDP, 8);
		check_error_to_inside(IPPROTO_TCP, 20 + 40);
		check_error_to_inside(IPPROTO_ICMP, 8 + 40);
	}
}

/* The other way: an inside host's port-unreachable about a reply we delivered. */
static void
test_icmp_error_to_outside(void **state)
{
	(void)state;
	for (int i = 0; i < 2000; i++) {
		struct pkt delivered, as_sent, err;
		struct rte_ipv4_hdr *inner = build(&as_sent, IPPROTO_UDP, 30);
		uint32_t remote = inner->src_addr, out_addr = rng(), in_addr = rng();
		uint16_t out_port = get_port(inner, false), in_port = (uint16_t)rng();
		struct eph_nat_delta d =
			eph_nat_delta(IPPROTO_UDP, in_addr, in_port, out_addr, out_port);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)err.bytes;
		struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
		uint16_t quote = 20 + 8 + 30;
		struct eph_icmp_quote q;

		/* The remote sent as_sent to out_addr:out_port; we delivered it inside. */
		inner->dst_addr = out_addr;
		inner->hdr_checksum = 0;
		inner->hdr_checksum = rte_ipv4_cksum(inner);
		((struct rte_udp_hdr *)(inner + 1))->dgram_cksum = 0;
		((struct rte_udp_hdr *)(inner + 1))->dgram_cksum =
			rte_ipv4_udptcp_cksum(inner, inner + 1);
		delivered = as_sent;
		eph_nat_rewrite_dst((struct rte_ipv4_hdr *)delivered.bytes,
				    delivered.bytes + 20, in_addr, in_port, d);

		memset(&err, 0, sizeof(err));
		*ip = (struct rte_ipv4_hdr){
			.version_ihl = RTE_IPV4_VHL_DEF,
			.total_length = rte_cpu_to_be_16((uint16_t)(20 + 8 + quote)),
			.time_to_live = 64,
			.next_proto_id = IPPROTO_ICMP,
			.src_addr = in_addr,
			.dst_addr = remote,
		};
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		icmp->icmp_type = 3;
		icmp->icmp_code = 3;
		memcpy(icmp + 1, delivered.bytes, quote);
		icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, 8 + quote);

		assert_true(eph_icmp_error_quote(ip, (uint16_t)(20 + 8 + quote), &q));
		eph_nat_icmp_error_to_outside(ip, &q, out_addr, out_port, d);
		assert_int_equal(ip->src_addr, out_addr);
		assert_int_equal(rte_raw_cksum(ip, 20), 0xffff);
		assert_int_equal(rte_raw_cksum(icmp, 8 + quote), 0xffff);
		assert_memory_equal(icmp + 1, as_sent.bytes, quote);
	}
}

static void
test_quote_rejects(void **state)
{
	struct pkt p;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p.bytes;
	struct rte_ipv4_hdr *inner = (struct rte_ipv4_hdr *)(p.bytes + 28);
	struct eph_icmp_quote q;

	(void)state;
	memset(&p, 0, sizeof(p));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	inner->version_ihl = RTE_IPV4_VHL_DEF;
	inner->next_proto_id = IPPROTO_UDP;
	assert_true(eph_icmp_error_quote(ip, 20 + 8 + 20 + 8, &q));
	/* Too short for 8 bytes of inner L4. */
	assert_false(eph_icmp_error_quote(ip, 20 + 8 + 20 + 7, &q));
	/* Inner options. */
	inner->version_ihl = 0x46;
	assert_false(eph_icmp_error_quote(ip, 100, &q));
	inner->version_ihl = RTE_IPV4_VHL_DEF;
	/* Non-first fragment: no ports in it. */
	inner->fragment_offset = RTE_BE16(100);
	assert_false(eph_icmp_error_quote(ip, 100, &q));
	inner->fragment_offset = 0;
	/* GRE is not translated. */
	inner->next_proto_id = 47;
	assert_false(eph_icmp_error_quote(ip, 100, &q));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_icmp_echo),
		cmocka_unit_test(test_udp_zero_checksum_stays_zero),
		cmocka_unit_test(test_icmp_error_to_inside),
		cmocka_unit_test(test_icmp_error_to_outside),
		cmocka_unit_test(test_quote_rejects),
	};

	return cmocka_run_group_tests_name("nat rewrite", tests, NULL, NULL);
}

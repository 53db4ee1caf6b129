/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Incremental checksum helpers against a full recompute, over many random
 * IPv4 headers (fixed seed: a failure reproduces).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <rte_ip.h>

#include "dataplane/cksum.h"

#define ROUNDS 200000

static uint32_t rng_state = 0x2545f491;

static uint32_t
rng(void)
{
	/* xorshift32: deterministic, no libc state */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void
random_header(struct rte_ipv4_hdr *ip)
{
	uint8_t *b = (uint8_t *)ip;

	for (size_t i = 0; i < sizeof(*ip); i++)
		b[i] = (uint8_t)rng();
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

/* A header whose stored checksum verifies sums to 0xffff. */
static void
assert_header_valid(const struct rte_ipv4_hdr *ip)
{
	assert_int_equal(rte_raw_cksum(ip, sizeof(*ip)), 0xffff);
}

/*
 * One's complement has two zeros: rte_ipv4_cksum() writes 0xffff where the
 * incremental form may write 0x0000. Receivers accept both.
 */
static void
assert_cksum_equal(uint16_t a, uint16_t b)
{
	if ((a == 0 || a == 0xffff) && (b == 0 || b == 0xffff))
		return;
	assert_int_equal(a, b);
}

static void
test_ttl_decrement(void **state)
{
	(void)state;
	for (int i = 0; i < ROUNDS; i++) {
		struct rte_ipv4_hdr ip, ref;

		random_header(&ip);
		if (ip.time_to_live == 0)
			ip.time_to_live = 1;
		ip.hdr_checksum = 0;
		ip.hdr_checksum = rte_ipv4_cksum(&ip);
		ref = ip;

		eph_ipv4_ttl_dec(&ip);
		ref.time_to_live--;
		ref.hdr_checksum = 0;
		ref.hdr_checksum = rte_ipv4_cksum(&ref);

		assert_int_equal(ip.time_to_live, ref.time_to_live);
		assert_header_valid(&ip);
		assert_cksum_equal(ip.hdr_checksum, ref.hdr_checksum);
	}
}

static void
test_update32_addresses(void **state)
{
	(void)state;
	for (int i = 0; i < ROUNDS; i++) {
		struct rte_ipv4_hdr ip, ref;
		uint32_t new_addr = rng();

		random_header(&ip);
		ref = ip;
		ip.hdr_checksum = eph_cksum_update32(ip.hdr_checksum, ip.src_addr, new_addr);
		ip.src_addr = new_addr;
		ref.src_addr = new_addr;
		ref.hdr_checksum = 0;
		ref.hdr_checksum = rte_ipv4_cksum(&ref);
		assert_header_valid(&ip);
		assert_cksum_equal(ip.hdr_checksum, ref.hdr_checksum);
	}
}

static void
test_update16_words(void **state)
{
	(void)state;
	for (int i = 0; i < ROUNDS; i++) {
		struct rte_ipv4_hdr ip, ref;
		uint16_t new_id = (uint16_t)rng();

		random_header(&ip);
		ref = ip;
		ip.hdr_checksum = eph_cksum_update16(ip.hdr_checksum, ip.packet_id, new_id);
		ip.packet_id = new_id;
		ref.packet_id = new_id;
		ref.hdr_checksum = 0;
		ref.hdr_checksum = rte_ipv4_cksum(&ref);
		assert_header_valid(&ip);
		assert_cksum_equal(ip.hdr_checksum, ref.hdr_checksum);
	}
}

/* Changing a word to itself must leave the checksum alone, whatever it is. */
static void
test_update_identity(void **state)
{
	(void)state;
	for (uint32_t c = 0; c <= 0xffff; c += 0x101)
		for (uint32_t v = 0; v <= 0xffff; v += 0x3333)
			assert_int_equal(eph_cksum_update16((uint16_t)c, (uint16_t)v, (uint16_t)v),
					 (uint16_t)c == 0xffff ? 0 : (uint16_t)c);
}

/* Updates compose: a chain of changes equals the recompute of the final header. */
static void
test_chain_of_updates(void **state)
{
	(void)state;
	for (int i = 0; i < ROUNDS / 10; i++) {
		struct rte_ipv4_hdr ip;

		random_header(&ip);
		if (ip.time_to_live < 10)
			ip.time_to_live = 10;
		ip.hdr_checksum = 0;
		ip.hdr_checksum = rte_ipv4_cksum(&ip);
		for (int k = 0; k < 8; k++) {
			uint32_t a = rng();

			ip.hdr_checksum = eph_cksum_update32(ip.hdr_checksum, ip.dst_addr, a);
			ip.dst_addr = a;
			eph_ipv4_ttl_dec(&ip);
			assert_header_valid(&ip);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ttl_decrement),
		cmocka_unit_test(test_update32_addresses),
		cmocka_unit_test(test_update16_words),
		cmocka_unit_test(test_update_identity),
		cmocka_unit_test(test_chain_of_updates),
	};

	return cmocka_run_group_tests_name("checksum", tests, NULL, NULL);
}

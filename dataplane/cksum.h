/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Incremental Internet checksum updates (RFC 1624, eqn. 3):
 *     HC' = ~(~HC + ~m + m')
 * All values are in network byte order, as they sit in the packet; the
 * one's-complement sum is byte-order independent, so no swapping is needed.
 * Full recomputes use rte_ipv4_cksum()/rte_raw_cksum() from DPDK.
 */
#ifndef EPH_CKSUM_H
#define EPH_CKSUM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>

static inline uint16_t
eph_cksum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Checksum after one 16-bit word of the covered data changed from old to new. */
static inline uint16_t
eph_cksum_update16(uint16_t cksum, uint16_t old, uint16_t new)
{
	uint32_t sum = (uint16_t)~cksum;

	sum += (uint16_t)~old;
	sum += new;
	return (uint16_t)~eph_cksum_fold(sum);
}

/* Checksum after one 32-bit field (an address) changed from old to new. */
static inline uint16_t
eph_cksum_update32(uint16_t cksum, uint32_t old, uint32_t new)
{
	uint32_t sum = (uint16_t)~cksum;

	sum += (uint16_t)~(old >> 16);
	sum += (uint16_t)~(old & 0xffff);
	sum += new >> 16;
	sum += new & 0xffff;
	return (uint16_t)~eph_cksum_fold(sum);
}

/*
 * A checksum after a 32-bit field at an even (odd: false) or odd offset of
 * the covered data changed from old to new, both as they sit in the packet.
 * At an odd offset the field's bytes weigh as the byte-swapped sum of its
 * halves (one's-complement sums rotate with the offset): TCP options such
 * as SACK edges may sit there.
 */
static inline uint16_t
eph_cksum_update32_at(uint16_t cksum, uint32_t old, uint32_t new, bool odd)
{
	if (!odd)
		return eph_cksum_update32(cksum, old, new);
	return eph_cksum_update16(cksum, rte_bswap16(eph_cksum_fold((old >> 16) + (old & 0xffff))),
				  rte_bswap16(eph_cksum_fold((new >> 16) + (new & 0xffff))));
}

/*
 * Settle an ICMP checksum just updated incrementally. Eqn. 3 never yields
 * 0xffff: for a message whose words sum to zero it gives 0x0000, which
 * receivers reject. That sum is zero only for an all-zero message (echo
 * reply, identifier and sequence 0, no payload), and only a full sum tells
 * it from a message summing to 0xffff, whose checksum is 0x0000 indeed. A
 * TCP or UDP sum covers the pseudo-header's protocol and never is zero.
 */
static inline void
eph_icmp_cksum_settle(struct rte_icmp_hdr *icmp, uint16_t len)
{
	if (unlikely(icmp->icmp_cksum == 0))
		icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, len);
}

/*
 * Decrement the TTL and patch the header checksum. TTL is the high byte of
 * the 16-bit word it shares with the protocol, so the word drops by 0x0100.
 */
static inline void
eph_ipv4_ttl_dec(struct rte_ipv4_hdr *ip)
{
	uint16_t old, new;

	memcpy(&old, &ip->time_to_live, sizeof(old));
	ip->time_to_live--;
	memcpy(&new, &ip->time_to_live, sizeof(new));
	ip->hdr_checksum = eph_cksum_update16(ip->hdr_checksum, old, new);
}

#endif /* EPH_CKSUM_H */

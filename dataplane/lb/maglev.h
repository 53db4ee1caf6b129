/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The load balancer's Maglev lookup table: M slots (M prime), each naming
 * a backend. A new connection takes table[hash % M]; a connection that
 * exists follows its own record, so a new table never moves it.
 *
 * Population (Eisenbud et al., "Maglev", NSDI 2016, section 3.4), weighted
 * by quotas: backend i gets exactly q_i slots, q_i = M * w_i / W rounded by
 * largest remainder (ties to the lower address:port), so shares follow the
 * weights to within one slot. Backends then take turns, each claiming the
 * next free slot of its own permutation (offset + j * skip mod M, offset
 * and skip from two fixed-seed hashes of its address:port) until it holds
 * its quota. Katran's v2 and Cilium reach weights by letting heavier
 * backends take more turns; fixed quotas give the same preference order
 * with exact shares. A slot's owner depends on the permutations, not on
 * the backends' positions, so removing one of N backends moves few slots
 * besides its own (measured in tests/unit/test_maglev.c: under 1 % of the
 * others' slots for N = 3 to 1000).
 *
 * Determinism: backends are ordered by (address, port) before the build
 * and the hashes have fixed seeds, so every gateway given the same set of
 * backends builds the same table, whatever order they were listed in
 * (several gateways behind ECMP must agree). Slots hold the caller's
 * indices (its own order), so the caller needs no mapping.
 *
 * Cost: the build takes about M log M steps (the coupon collector's tail:
 * the last backends to fill search longer) and 24 bytes of scratch per
 * backend; it runs on the control lcore. Memory: 2 bytes a slot (128 KiB
 * for the default 65537 slots), hence at most 65535 backends a table.
 *
 * Plain C: no EAL needed (tests, ephctl-side checks).
 */
#ifndef EPH_MAGLEV_H
#define EPH_MAGLEV_H

#include <stdint.h>

/* A slot with no backend: the list is empty or every weight is 0. */
#define EPH_MAGLEV_NONE UINT16_MAX

#define EPH_MAGLEV_BACKENDS_MAX (EPH_MAGLEV_NONE - 1u)
#define EPH_MAGLEV_SIZE_DEFAULT 65537u
/* Slots per backend at least: fewer and a share is too coarse (1 % per backend). */
#define EPH_MAGLEV_SLOTS_PER_BACKEND 100u
/* A table of 8 MiB at most. */
#define EPH_MAGLEV_SIZE_MAX 4194301u

struct eph_maglev_backend {
	uint32_t addr;   /* network order */
	uint16_t port;   /* network order */
	uint16_t weight; /* 0: drained, no slot */
};

/* Whether n is prime (trial division; for table sizes). */
int eph_maglev_is_prime(uint32_t n);

/*
 * 0 if m slots suit n_backends: m prime, at least 100 slots a backend,
 * at most EPH_MAGLEV_SIZE_MAX. Else -EINVAL and *why (not NULL) says what
 * was expected, for a configuration error message.
 */
int eph_maglev_size_check(uint32_t m, uint32_t n_backends, const char **why);

/*
 * Fill table[0..m) for backends[0..n): each slot holds an index into
 * backends, or EPH_MAGLEV_NONE everywhere when no backend has a weight.
 * 0, -EINVAL (size refused by eph_maglev_size_check, n too large), -EEXIST
 * (an address:port twice) or -ENOMEM (scratch). The table is untouched on
 * error.
 */
int eph_maglev_build(const struct eph_maglev_backend *backends, uint32_t n, uint32_t m,
		     uint16_t *table);

/* The backend index for a new connection's hash. */
static inline uint16_t
eph_maglev_lookup(const uint16_t *table, uint32_t m, uint64_t hash)
{
	return table[hash % m];
}

#endif /* EPH_MAGLEV_H */

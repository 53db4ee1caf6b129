/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rate limits on a worker, as GCRA (the generic cell rate algorithm, the
 * virtual-scheduling form of a token bucket): one theoretical arrival time
 * per limiter, in TSC cycles, and no refill arithmetic. An event costs
 * `cost` cycles of the rate (hz / events per second); up to `burst` cycles
 * of credit (cost x events allowed at once) may be spent ahead. A limiter
 * never used (tat 0) starts with its whole burst.
 */
#ifndef EPH_RATE_H
#define EPH_RATE_H

#include <stdbool.h>
#include <stdint.h>

/* Whether one more event may pass at TSC now (and it is counted); burst >= cost. */
static inline bool
eph_gcra_take(uint64_t *tat, uint64_t now, uint64_t cost, uint64_t burst)
{
	uint64_t t = *tat > now ? *tat : now;

	if (t - now > burst - cost)
		return false;
	*tat = t + cost;
	return true;
}

#endif /* EPH_RATE_H */

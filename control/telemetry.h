/* SPDX-License-Identifier: BSD-3-Clause */
/* The /ephemera/ endpoints of DPDK telemetry (read with dpdk-telemetry.py). */
#ifndef EPH_TELEMETRY_H
#define EPH_TELEMETRY_H

#include "control/arp.h"
#include "dataplane/dp.h"

/* Register every endpoint; dp and arp must outlive the process's telemetry. */
int eph_telemetry_init(const struct eph_dp *dp, const struct eph_arp *arp);

#endif /* EPH_TELEMETRY_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bringing the data plane up from a validated configuration: checks of the
 * machine that name the fix, EAL arguments, ports, queues, tables and rings.
 */
#ifndef EPH_STARTUP_H
#define EPH_STARTUP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "control/config.h"
#include "dataplane/dp.h"

#define EPH_EAL_MAX_ARGV (EPH_MAX_EAL_ARGS + 2 * EPH_MAX_PORTS + 32)

/*
 * Checks that need the machine but not DPDK: lcores on CPUs we may run on,
 * hugepages, permissions, af_packet interfaces. Each failure is one line on
 * err naming the fix. Returns 0 or -1.
 */
int eph_preflight(const struct eph_conf *conf, FILE *err);

/* Build the EAL argument vector; strings live in buf. Returns argc or -1. */
int eph_eal_args(const struct eph_conf *conf, const char *argv0, char **argv, int max_argv,
		 char *buf, size_t buf_len);

/*
 * Whether a net_af_packet device string asks for ring frames (framesz=N)
 * that hold a frame of mtu bytes of IP (plus Ethernet header, CRC and two
 * VLAN tags); false for any other device and without framesz. Such a
 * port gets an MTU above 1500 set on its interface directly.
 */
bool eph_af_packet_mtu_fits(const char *device, uint16_t mtu);

/* After rte_eal_init: pool, rings, RCU, routes, neighbours, ports, workers. */
int eph_dp_setup(struct eph_dp *dp, const struct eph_conf *conf, FILE *err);
void eph_dp_teardown(struct eph_dp *dp);

#endif /* EPH_STARTUP_H */

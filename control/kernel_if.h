/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kernel interfaces of ports (ports[].kernel-interface): made at start
 * with the port, removed at teardown (control/kernel_if.c).
 */
#ifndef EPH_KERNEL_IF_H
#define EPH_KERNEL_IF_H

#include <stdio.h>

#include "control/config.h"

struct eph_dp;

/* Mbufs the kernel interfaces' queues hold (part of what dataplane.mbufs must cover). */
unsigned int eph_kernel_if_mbufs(const struct eph_conf *conf, unsigned int n_workers);

/* Port idx's kernel interface, if configured: 0, or -errno with the reason written to err. */
int eph_kernel_if_setup(struct eph_dp *dp, unsigned int idx, const struct eph_conf_port *cp,
			FILE *err);

/* Remove port idx's kernel interface, if it has one. */
void eph_kernel_if_teardown(struct eph_dp *dp, unsigned int idx);

#endif /* EPH_KERNEL_IF_H */

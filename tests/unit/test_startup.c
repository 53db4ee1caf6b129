/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for control/startup.c without the EAL: which net_af_packet
 * ports may run an MTU above 1500 (DPDK 22.11's ethdev refuses it on
 * net_af_packet, whose PMD reports a 1518-byte maximum frame whatever its
 * ring frames hold; the daemon then sets the interface's MTU itself).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "control/startup.h"

#define FRAMES ",framesz=61440,blocksz=61440,framecnt=64"

/* 60 KiB frames hold a 9000-byte MTU, on the first or a later queue argument. */
static void
test_big_frames(void **state)
{
	(void)state;
	assert_true(eph_af_packet_mtu_fits("net_af_packet0,iface=eph-in" FRAMES, 9000));
	assert_true(eph_af_packet_mtu_fits("net_af_packet0,iface=eph-in,qpairs=3" FRAMES, 9600));
	assert_true(eph_af_packet_mtu_fits("net_af_packet12,framesz=61440,iface=eth1", 1500));
}

/* The frame must hold the MTU, the Ethernet header, CRC, two VLAN tags and
 * the ring frame's header (the MAC header at offset 66): 9000 + 26 + 66. */
static void
test_frame_boundary(void **state)
{
	(void)state;
	assert_true(eph_af_packet_mtu_fits("net_af_packet0,iface=x,framesz=9092", 9000));
	assert_false(eph_af_packet_mtu_fits("net_af_packet0,iface=x,framesz=9091", 9000));
	assert_false(eph_af_packet_mtu_fits("net_af_packet0,iface=x,framesz=2048", 9000));
}

/* Without framesz (the PMD's 2048-byte default), or on another device: no. */
static void
test_not_applicable(void **state)
{
	(void)state;
	assert_false(eph_af_packet_mtu_fits("net_af_packet0,iface=eph-in", 9000));
	assert_false(eph_af_packet_mtu_fits("net_af_packet0,iface=eph-in,qpairs=2", 1500));
	assert_false(eph_af_packet_mtu_fits("net_af_xdp0,iface=eph-in,framesz=61440", 9000));
	assert_false(eph_af_packet_mtu_fits("0000:3b:00.0", 9000));
	assert_false(eph_af_packet_mtu_fits("net_af_packet0,iface=eph-in,framesz=junk", 9000));
	/* A key that only ends in framesz is not framesz. */
	assert_false(eph_af_packet_mtu_fits("net_af_packet0,iface=x,xframesz=61440", 9000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_big_frames),
		cmocka_unit_test(test_frame_boundary),
		cmocka_unit_test(test_not_applicable),
	};

	return cmocka_run_group_tests_name("startup", tests, NULL, NULL);
}

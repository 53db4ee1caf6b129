#!/usr/bin/env bash
# End-to-end tests: the namespace test bed, build/ephemera between its ports,
# real Linux peers. Prints PASS/FAIL per test and "N passed, N failed".
#
#   tests/e2e/run.sh [GLOB...]     only tests whose name matches a GLOB
#
# Environment:
#   EPH_BIN=path         daemon binary (default build/ephemera)
#   EPH_GW=linux         a Linux router stands in for the daemon: checks the
#                        bed and the traffic tests themselves
#   EPH_E2E_XDP=0        skip the pass with net_af_xdp ports
#   EPH_E2E_NAT=0        skip the pass with a NAT pool (203.0.113.100)
#   EPH_E2E_PCAP=0       no packet captures (default: eph-in/eph-out in the log dir)
#   EPH_E2E_TIMEOUT=S    per-test time limit (default 90)
#   EPH_KEEP=1           leave the test bed up afterwards
# shellcheck disable=SC2034 # E2E_* variables are read by the sourced tests
set -euo pipefail
E2E_ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$E2E_ROOT/scripts/lib.sh"
# shellcheck source=tests/e2e/lib.sh
. "$E2E_ROOT/tests/e2e/lib.sh"
for f in "$E2E_DIR"/test_*.sh; do
	# shellcheck source=/dev/null
	. "$f"
done

CONFIG_TESTS=(check_ok check_bad_value check_unknown_key check_bad_syntax
	check_bad_route check_missing_file)
STARTUP_TESTS=(start_bad_device start_no_hugepages)
TRAFFIC_TESTS=(arp_gateway ping_h1_srv ping_srv_h1 ping_gw_inside ping_gw_outside
	ping_full_mtu ttl_exceeded route_static padded_frame_forwarded
	tcp_h1_download tcp_h2_download tcp_srv_to_h1 udp_h1_srv)
# Fragments never reach a net_af_packet port (the PMD's PACKET_FANOUT_FLAG_DEFRAG
# makes the kernel hold them for reassembly): they are tested on net_af_xdp.
DAEMON_TESTS=(telemetry_endpoints telemetry_ports telemetry_counters
	telemetry_neighbours telemetry_routes telemetry_dpdk_tool no_route)
for t in "${MALFORMED_TESTS[@]}"; do
	[[ "$t" == malformed_ip_fragment_* ]] || DAEMON_TESTS+=("$t")
done
DAEMON_TESTS+=(alive_after_malformed)
# Third pass, h1 and h2 source-translated to the pool address 203.0.113.100
# (on the outside subnet: the gateway answers ARP for it).
NAT_TESTS=(ping_h1_srv route_static tcp_h1_download tcp_h2_download udp_h1_srv
	pool_telemetry)
# Second pass, ports on net_af_xdp: fragments reach the gateway there.
XDP_TESTS=(arp_gateway ping_h1_srv ping_srv_h1 ttl_exceeded tcp_h1_download
	tcp_srv_to_h1 udp_h1_srv no_route malformed_ip_fragment_first
	malformed_ip_fragment_last fragmented_ping malformed_ip_bad_checksum
	alive_after_malformed)

skip_all() {
	local reason="$1" t
	shift
	for t in "$@"; do
		e2e_skip "$t" "$reason"
	done
}

# Captures for failure analysis: the gateway ports (what af_packet sees; an
# XDP port hides its receive side from them) and the hosts' own interfaces.
start_captures() {
	local spec ns ifc gw_ns=""
	[ "${EPH_E2E_PCAP:-1}" = 1 ] && command -v tcpdump >/dev/null || return 0
	[ "$GW_MODE" = linux ] && gw_ns=eph-gw
	for spec in "$gw_ns:eph-in" "$gw_ns:eph-out" eph-h1:eth0 eph-srv:eth0; do
		ns="${spec%%:*}" ifc="${spec#*:}"
		if [ -n "$ns" ]; then
			ip netns exec "$ns" tcpdump -i "$ifc" -n -s 256 -U \
				-w "$E2E_LOGDIR/${ns:-root}-$ifc.pcap" >/dev/null 2>&1 </dev/null &
		else
			tcpdump -i "$ifc" -n -s 256 -U -w "$E2E_LOGDIR/$ifc.pcap" \
				>/dev/null 2>&1 </dev/null &
		fi
		EPH_CLEANUP_PIDS+=($!)
	done
	sleep 0.5	# tcpdump needs a moment before it sees packets
}

main() {
	local t
	eph_need_root
	eph_traps
	GW_MODE="${EPH_GW:-dpdk}"
	E2E_LOGDIR="$(mktemp -d /tmp/eph-e2e.XXXXXX)"
	echo "logs and captures: $E2E_LOGDIR"

	if [ "$GW_MODE" = linux ]; then
		skip_all "EPH_GW=linux" "${CONFIG_TESTS[@]}" "${STARTUP_TESTS[@]}"
	elif [ ! -x "$EPH_BIN" ]; then
		e2e_fail setup "$EPH_BIN is not built"
		e2e_summary
		return 1
	else
		for t in "${CONFIG_TESTS[@]}"; do e2e_run "$t"; done
	fi

	if ! eph_hugepages >"$E2E_LOGDIR/setup.log" 2>&1 ||
		! "$EPH_ROOT/scripts/testbed.sh" up >>"$E2E_LOGDIR/setup.log" 2>&1; then
		e2e_fail setup "$(grep -m1 error "$E2E_LOGDIR/setup.log" || tail -n 1 "$E2E_LOGDIR/setup.log")"
		e2e_summary
		return 1
	fi
	start_captures

	if [ "$GW_MODE" = linux ]; then
		for t in "${TRAFFIC_TESTS[@]}"; do e2e_run "$t"; done
		skip_all "EPH_GW=linux" "${DAEMON_TESTS[@]}" sigterm_exit
		e2e_summary
		return
	fi

	for t in "${STARTUP_TESTS[@]}"; do e2e_run "$t"; done

	E2E_VDEV=af_packet
	daemon_pass "" "$EPH_ROOT/conf/ephemera.yaml" \
		"${TRAFFIC_TESTS[@]}" "${DAEMON_TESTS[@]}" || true

	if [ "${EPH_E2E_XDP:-1}" = 1 ]; then
		E2E_VDEV=af_xdp
		sed 's/net_af_packet\([0-9]*\),iface=/net_af_xdp\1,iface=/' \
			"$EPH_ROOT/conf/ephemera.yaml" >"$E2E_LOGDIR/ephemera-xdp.yaml"
		daemon_pass xdp_ "$E2E_LOGDIR/ephemera-xdp.yaml" "${XDP_TESTS[@]}" || true
	fi

	if [ "${EPH_E2E_NAT:-1}" = 1 ]; then
		E2E_VDEV=af_packet
		{
			cat "$EPH_ROOT/conf/ephemera.yaml"
			printf '\npools:\n  - name: e2e\n    addresses: [203.0.113.100]\n'
			printf '    inside: [192.0.2.0/24]\n'
		} >"$E2E_LOGDIR/ephemera-nat.yaml"
		E2E_SEEN_H1=203.0.113.100 E2E_SEEN_H2=203.0.113.100
		daemon_pass nat_ "$E2E_LOGDIR/ephemera-nat.yaml" "${NAT_TESTS[@]}" || true
		unset E2E_SEEN_H1 E2E_SEEN_H2
	fi

	e2e_summary
}

# daemon_pass NAME_PREFIX CONF TESTS...: start the daemon with CONF, run the
# tests (named NAME_PREFIX + test), stop it with SIGTERM and judge the exit.
daemon_pass() {
	local pfx="$1" conf="$2" t start any=0
	shift 2
	for t in "$@" sigterm_exit; do
		_e2e_selected "$pfx$t" && any=1
	done
	[ "$any" = 1 ] || return 0	# nothing of this pass was asked for
	E2E_DAEMON_LOG="$E2E_LOGDIR/${pfx}ephemera.log"
	if ! eph_start "$conf" "$E2E_DAEMON_LOG" 2>"$E2E_LOGDIR/${pfx}start.err"; then
		e2e_fail "${pfx}daemon_start" "$(head -n 1 "$E2E_LOGDIR/${pfx}start.err")"
		sed 's/^/    /' "$E2E_LOGDIR/${pfx}start.err" | tail -n 20
		for t in "$@" sigterm_exit; do
			e2e_skip "$pfx$t" "daemon did not start"
		done
		return 1
	fi
	for t in "$@"; do
		e2e_run "$pfx$t" "test_$t"
	done
	# Only this shell can reap the daemon, so stop it here and let the test
	# judge what happened.
	start=$SECONDS
	eph_stop
	E2E_STOP_STATUS=$EPH_STATUS
	E2E_STOP_SECS=$((SECONDS - start))
	e2e_run "${pfx}sigterm_exit" test_sigterm_exit
}

main

# shellcheck shell=bash
# Telemetry endpoints, through scripts/telemetry.py and Debian's client.

DROP_REASONS=(eth_truncated ethertype_unsupported arp_invalid ip_truncated
	ip_version ip_bad_ihl ip_bad_total_length ip_bad_checksum ip_options
	ip_fragment ip_not_unicast ip_bad_source ttl_exceeded no_route
	local_unsupported icmp_invalid neigh_hold_full neigh_unresolved
	slow_ring_full tx_full mbuf_alloc_failed)

# tm_json CMD: reply value as JSON, failing the test when unreadable.
tm_json() {
	eph_tm "$1" || fail "telemetry $1 unreadable"
}

# json_keys JSON: the top-level keys, one per line.
json_keys() {
	python3 -c 'import json, sys; print("\n".join(json.loads(sys.argv[1])))' "$1"
}

test_telemetry_endpoints() {
	local ep out k keys
	for ep in stats drops ports workers neighbours routes; do
		out="$(tm_json "/ephemera/$ep")"
		printf '/ephemera/%s: %s\n' "$ep" "$(printf '%s' "$out" | tr -d ' \n' | head -c 300)"
	done
	keys="$(json_keys "$(tm_json /ephemera/stats)")"
	for k in rx tx drops workers; do
		grep -qx "$k" <<<"$keys" || fail "/ephemera/stats lacks '$k'"
	done
	keys="$(json_keys "$(tm_json /ephemera/drops)")"
	for k in "${DROP_REASONS[@]}"; do
		grep -qx "$k" <<<"$keys" || fail "/ephemera/drops lacks '$k'"
	done
}

test_telemetry_ports() {
	local name ifc role addr mac want
	for name in inside outside; do
		ifc=eph-in want='192\.0\.2\.1'
		[ "$name" = outside ] && ifc=eph-out want='203\.0\.113\.1'
		role="$(eph_tm --get "$name.role" /ephemera/ports)" || fail "/ephemera/ports lacks $name.role"
		assert_eq "$role" "$name" "role of port $name"
		mac="$(eph_tm --get "$name.mac" /ephemera/ports)" || fail "/ephemera/ports lacks $name.mac"
		assert_eq "${mac,,}" "$(cat "/sys/class/net/$ifc/address")" "MAC of port $name"
		addr="$(eph_tm --get "$name.address" /ephemera/ports)" || fail "/ephemera/ports lacks $name.address"
		assert_match "$addr" "^$want(/24)?$" "address of port $name"
		eph_tm --get "$name.port_id" /ephemera/ports >/dev/null || fail "/ephemera/ports lacks $name.port_id"
	done
}

# Counters must move with traffic: 5 echoes through = rx and tx up by >= 10.
test_telemetry_counters() {
	local rx0 tx0 rx1 tx1 in0 in1
	rx0="$(eph_tm --get rx /ephemera/stats)" || fail "stats.rx unreadable"
	tx0="$(eph_tm --get tx /ephemera/stats)" || fail "stats.tx unreadable"
	in0="$(eph_tm --get inside.rx /ephemera/ports)" || fail "ports.inside.rx unreadable"
	ping_expect eph-h1 "$SRV" 5
	sleep 0.5
	rx1="$(eph_tm --get rx /ephemera/stats)"
	tx1="$(eph_tm --get tx /ephemera/stats)"
	in1="$(eph_tm --get inside.rx /ephemera/ports)"
	[ $((rx1 - rx0)) -ge 10 ] || fail "stats.rx went up by $((rx1 - rx0)) for 10 packets"
	[ $((tx1 - tx0)) -ge 10 ] || fail "stats.tx went up by $((tx1 - tx0)) for 10 packets"
	[ $((in1 - in0)) -ge 5 ] || fail "ports.inside.rx went up by $((in1 - in0)) for 5 packets"
}

test_telemetry_neighbours() {
	local out
	in_ns eph-h1 timeout 5 ping -n -c 1 -W 2 "$SRV" >/dev/null 2>&1 || true
	out="$(tm_json /ephemera/neighbours)"
	printf '%s\n' "$out"
	assert_contains "$out" "$H1" "/ephemera/neighbours"
	assert_contains "$out" "$SRV" "/ephemera/neighbours"
	assert_contains "${out,,}" "02:eb:02:00:00:0a" "/ephemera/neighbours (server MAC)"
}

test_telemetry_routes() {
	local out
	out="$(tm_json /ephemera/routes)"
	printf '%s\n' "$out"
	assert_contains "$out" "198.51.100.0/24" "/ephemera/routes"
	assert_contains "$out" "$SRV" "/ephemera/routes (next hop)"
}

# Debian's own client reads the same endpoints (command piped on stdin).
test_telemetry_dpdk_tool() {
	local out
	command -v dpdk-telemetry.py >/dev/null || fail "dpdk-telemetry.py not installed"
	out="$(printf '/ephemera/stats\n/ephemera/drops\n' |
		timeout 15 dpdk-telemetry.py -f "$EPH_PREFIX" 2>&1)" || fail "dpdk-telemetry.py failed: $out"
	printf '%s\n' "$out"
	assert_contains "$out" '"/ephemera/stats": {' "dpdk-telemetry.py output"
	assert_contains "$out" '"/ephemera/drops": {' "dpdk-telemetry.py output"
	assert_contains "$out" '"no_route"' "dpdk-telemetry.py output"
}

# With a NAT pool configured: the pool and its sessions are visible.
test_pool_telemetry() {
	local out
	out="$(tm_json /ephemera/pools)"
	printf '/ephemera/pools: %s\n' "$out"
	assert_contains "$out" "\"$(seen_h1)\"" "/ephemera/pools"
	out="$(tm_json /ephemera/nat)"
	printf '/ephemera/nat: %s\n' "$out"
	assert_match "$out" '"sessions": [1-9]' "/ephemera/nat after the NAT tests"
}

# Run by the runner after it stopped the daemon with SIGTERM itself (only the
# parent shell can wait for it): E2E_STOP_STATUS, E2E_STOP_SECS, E2E_DAEMON_LOG.
test_sigterm_exit() {
	echo "exit status $E2E_STOP_STATUS after ${E2E_STOP_SECS}s"
	tail -n 30 "$E2E_DAEMON_LOG"
	[ "$E2E_STOP_SECS" -lt 10 ] || fail "daemon needed ${E2E_STOP_SECS}s to stop on SIGTERM"
	assert_eq "$E2E_STOP_STATUS" 0 "exit status after SIGTERM"
	grep -qi 'rx' "$E2E_DAEMON_LOG" || fail "daemon printed no counters at exit"
}

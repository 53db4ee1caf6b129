# shellcheck shell=bash
# Drops: every malformed or unroutable packet is counted under its reason,
# exactly once, and the daemon keeps forwarding.

# drop_count REASON: the counter from /ephemera/drops.
drop_count() {
	local v
	v="$(eph_tm --get "$1" /ephemera/drops)" ||
		fail "drop reason '$1' not readable from /ephemera/drops"
	[[ "$v" =~ ^[0-9]+$ ]] || fail "drop reason '$1' is not a count: $v"
	printf '%s\n' "$v"
}

# Nonzero drop counters as "reason=count ...", for failure messages.
drops_nonzero() {
	eph_tm /ephemera/drops 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join("%s=%s" % (k, v) for k, v in d.items() if v))' || true
}

# expect_drops REASON BEFORE N: wait until REASON reaches BEFORE+N (3 s), then
# check it stays exactly there.
expect_drops() {
	local reason="$1" before="$2" n="$3" now end=$((SECONDS + 3))
	while now="$(drop_count "$reason")" && [ "$now" -lt $((before + n)) ] &&
		[ "$SECONDS" -lt "$end" ]; do
		sleep 0.1
	done
	sleep 0.3
	now="$(drop_count "$reason")"
	[ "$now" -eq $((before + n)) ] ||
		fail "$reason went up by $((now - before)), expected $n (nonzero drops: $(drops_nonzero))"
}

test_no_route() {
	local before
	before="$(drop_count no_route)"
	# 100.64.0.1 is in no route of the gateway; the frames stop at eph-in.
	in_ns eph-h1 timeout 10 ping -n -c 3 -i 0.2 -W 1 100.64.0.1 || true
	expect_drops no_route "$before" 3
}

# malformed KIND REASON: send 3 crafted frames from h1; craft.py checks that
# REASON went up by exactly 3 (one python process: this machine is busy).
malformed() {
	local kind="$1" reason="$2" out
	case "$kind" in
	ip_fragment_*)
		# net_af_packet sets PACKET_FANOUT_FLAG_DEFRAG: the kernel holds
		# fragments for reassembly and the PMD never sees them.
		[ "$E2E_VDEV" != af_packet ] ||
			skip "fragments never reach a net_af_packet port (kernel fanout defrag)"
		;;
	esac
	out="$(in_ns eph-h1 timeout 15 python3 -I "$E2E_DIR/craft.py" --iface eth0 \
		--dst-mac "$(gw_port_mac inside)" --count 3 \
		--telemetry "/var/run/dpdk/$EPH_PREFIX/dpdk_telemetry.v2" "$kind" 2>&1)" ||
		fail "$(printf '%s\n' "$out" | tail -n 1)"
	printf '%s\n' "$out"
	[ "$reason" = - ] || assert_contains "$out" "$reason went up by 3 as expected" "craft.py"
}

# One test per malformed kind that craft.py knows, named malformed_KIND.
MALFORMED_TESTS=()
while read -r kind reason; do
	[ "$reason" != - ] || continue
	eval "test_malformed_$kind() { malformed $kind $reason; }"
	MALFORMED_TESTS+=("malformed_$kind")
done < <(python3 "$E2E_DIR/craft.py" --list)

test_alive_after_malformed() {
	eph_alive || fail "daemon is no longer running"
	ping_expect eph-h1 "$SRV" 3
	ping_expect eph-srv "$H2" 3
}

# A 3000-byte ping leaves h1 as 3 fragments; routed, they are forwarded as
# they are (the NAT's are translated: test_frag.sh), and none is dropped.
test_fragmented_ping() {
	local before
	[ "$E2E_VDEV" != af_packet ] ||
		skip "fragments never reach a net_af_packet port (kernel fanout defrag)"
	before="$(drop_count ip_fragment)"
	ping_expect eph-h1 "$SRV" 3 -s 3000
	expect_drops ip_fragment "$before" 0
}

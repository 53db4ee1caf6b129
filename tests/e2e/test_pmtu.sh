# shellcheck shell=bash
# Path MTU through the NAT (pmtu_conf and pmtu_pass in run.sh): the inside
# network runs at MTU 9000 (h1, its switch ports, the gateway's inside port),
# the outside at 1500. Every test checks what the far end really got (SHA-256
# of the stream, the datagrams, the SYNs' MSS in its capture) and what the
# gateway counted.
#
# The server advertises an MSS of 8960 to the pool addresses (a route with
# advmss, as a server on a jumbo network would): without it h1 would never
# send more than 1460 bytes a segment and there would be no path MTU to
# discover. With mss-clamp off, h1 sends 8960-byte segments with DF; the
# gateway drops them (mtu_exceeded) and answers with ICMP fragmentation
# needed, MTU 1500 (RFC 1191), which h1 learns.

PMTU_INSIDE_MTU=9000
PMTU_BYTES=$((8 << 20))

# The pass runs with the inside links at 9000.
pmtu_links_ok() {
	local l
	for l in "eph-h1 eth0" "eph-sw h1" "eph-sw gw"; do
		# shellcheck disable=SC2086 # namespace and interface
		ip -n ${l% *} link show ${l#* } | grep -q " mtu $PMTU_INSIDE_MTU " ||
			fail "${l% *} ${l#* } is not at MTU $PMTU_INSIDE_MTU: the pass sets the inside links (pmtu_pass)"
	done
}

# h1 forgets what it learned about path MTUs, now and when the test ends.
pmtu_forget() {
	in_ns eph-h1 ip route flush cache
	defer "ip netns exec eph-h1 ip route flush cache"
	! ip -n eph-h1 route get "$SRV" | grep -q ' mtu ' ||
		fail "h1 still has a path MTU to $SRV: $(ip -n eph-h1 route get "$SRV" | tr '\n' ' ')"
}

# The server offers an MSS of 8960 to the pool addresses until the test ends.
pmtu_srv_advmss() {
	ip -n eph-srv route replace 203.0.113.100/30 dev eth0 advmss 8960
	defer "ip -n eph-srv route del 203.0.113.100/30 dev eth0"
}

# pmtu_counters: the gateway's "icmp_errors_sent mtu_exceeded fragmented
# fragments_sent mss_clamped icmp_errors_rate_limited", over all workers.
pmtu_counters() {
	tm_py 'S, D = T["/ephemera/stats"], T["/ephemera/drops"]
print(S["icmp_errors_sent"], D["mtu_exceeded"], S["fragmented"], S["fragments_sent"],
      S["mss_clamped"], S["icmp_errors_rate_limited"])' /ephemera/stats,/ephemera/drops ||
		fail "telemetry unreadable"
}
PMTU_NAMES=(icmp_errors_sent mtu_exceeded fragmented fragments_sent mss_clamped icmp_errors_rate_limited)

# pmtu_delta "BEFORE" "AFTER": prints "name +N ..." for two pmtu_counters
# outputs; sets PMTU_D[name] to each difference.
declare -A PMTU_D
pmtu_delta() {
	local -a b a
	local i line=""
	read -r -a b <<<"$1"
	read -r -a a <<<"$2"
	for i in "${!PMTU_NAMES[@]}"; do
		PMTU_D[${PMTU_NAMES[i]}]=$((a[i] - b[i]))
		line+="${PMTU_NAMES[i]} +$((a[i] - b[i])) "
	done
	echo "gateway: $line"
}

# pmtu_capture NS FILTER COUNT FILE: tcpdump -v on NS's eth0 until COUNT
# packets matched FILTER (stopped by pmtu_capture_end at the latest).
pmtu_capture() {
	local ns="$1" filter="$2" count="$3" file="$4" i
	in_ns "$ns" timeout 30 tcpdump -i eth0 -n -l -v -c "$count" "$filter" \
		>"$file" 2>"$file.err" </dev/null &
	PMTU_CAPS+=($!)
	defer "kill $!; wait $!"
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$file.err" && return 0
		sleep 0.1
	done
	fail "tcpdump in $ns did not start: $(tr '\n' ' ' <"$file.err")"
}
PMTU_CAPS=()

# Every capture has its packets or 3 s passed.
pmtu_capture_end() {
	local pid i
	for pid in "${PMTU_CAPS[@]}"; do
		for ((i = 0; i < 30; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$pid" 2>/dev/null || true
	done
	PMTU_CAPS=()
}

# pmtu_stream send|recv PORT: h1 sends PMTU_BYTES to the server (send) or
# gets them from it (recv) over TCP; what arrived has the same SHA-256; the
# server saw h1's pool address. PMTU_CLIENT_MSS := h1's MSS at the end.
pmtu_stream() {
	local dir="$1" port="$2" seen i src="$T_DIR/data.bin" dst="$T_DIR/got.bin"
	local peer="$E2E_DIR/pmtu_peer.py"
	seen="$(seen_h1)"
	head -c "$PMTU_BYTES" /dev/urandom >"$src"
	if [ "$dir" = send ]; then
		bg eph-srv "$T_DIR/server.log" python3 -I "$peer" server "$SRV" "$port" recv "$dst"
	else
		bg eph-srv "$T_DIR/server.log" python3 -I "$peer" server "$SRV" "$port" send "$src"
	fi
	wait_listen eph-srv tcp "$port"
	if [ "$dir" = send ]; then
		in_ns eph-h1 timeout 40 python3 -I "$peer" client "$SRV" "$port" send "$src" \
			>"$T_DIR/client.log" 2>&1
	else
		in_ns eph-h1 timeout 40 python3 -I "$peer" client "$SRV" "$port" recv "$dst" \
			>"$T_DIR/client.log" 2>&1
	fi || {
		cat "$T_DIR/client.log" "$T_DIR/server.log"
		fail "the TCP stream h1 $([ "$dir" = send ] && echo '->' || echo '<-') server failed"
	}
	for ((i = 0; i < 50; i++)); do
		grep -q '^done' "$T_DIR/server.log" && break
		sleep 0.1
	done
	echo "h1: $(cat "$T_DIR/client.log")"
	echo "server: $(tr '\n' ' ' <"$T_DIR/server.log")"
	assert_file_eq "$src" "$dst" "TCP stream $([ "$dir" = send ] && echo 'h1 -> server' || echo 'server -> h1')"
	grep -q "^peer $seen:" "$T_DIR/server.log" ||
		fail "the server did not see h1 as its pool address $seen: $(head -n 1 "$T_DIR/server.log")"
	PMTU_CLIENT_MSS="$(sed -n 's/^done [0-9]* mss \([0-9]*\)$/\1/p' "$T_DIR/client.log")"
}

# h1 uploads 8 MB with DF and an 8960-byte MSS: the gateway answers its
# first big segments with ICMP fragmentation needed (MTU 1500), h1 learns
# the path MTU, the stream arrives intact.
test_pmtu_tcp_upload() {
	local -a c0 c1
	local cap="$T_DIR/h1-icmp.txt" route
	pmtu_links_ok
	pmtu_forget
	pmtu_srv_advmss
	read -r -a c0 <<<"$(pmtu_counters)"
	pmtu_capture eph-h1 'icmp[icmptype] == 3 and icmp[icmpcode] == 4' 1 "$cap"
	pmtu_stream send 5101
	pmtu_capture_end
	read -r -a c1 <<<"$(pmtu_counters)"
	route="$(ip -n eph-h1 route get "$SRV")"
	echo "h1's capture:"
	cat "$cap"
	echo "h1: ip route get $SRV: $(tr '\n' ' ' <<<"$route")"
	pmtu_delta "${c0[*]}" "${c1[*]}"
	assert_match "$(cat "$cap")" "$GW_IN > $H1: ICMP $SRV unreachable - need to frag \(mtu 1500\)" \
		"h1's capture of the gateway's ICMP fragmentation needed"
	[ "${PMTU_D[mtu_exceeded]}" -gt 0 ] || fail "mtu_exceeded did not go up: h1 sent no segment above 1500 bytes"
	[ "${PMTU_D[icmp_errors_sent]}" -gt 0 ] || fail "the gateway counted no ICMP error sent"
	assert_match "$route" " mtu 1500 " "h1's learned path MTU to $SRV"
	if [ -z "$PMTU_CLIENT_MSS" ] || [ "$PMTU_CLIENT_MSS" -gt 1460 ]; then
		fail "h1's MSS at the end is '$PMTU_CLIENT_MSS', expected at most 1460"
	fi
}

# The server sends 8 MB to h1: 1500-byte packets on a 9000-byte inside
# network, nothing too big, nothing fragmented.
test_pmtu_tcp_download() {
	local -a c0 c1
	pmtu_links_ok
	pmtu_forget
	read -r -a c0 <<<"$(pmtu_counters)"
	pmtu_stream recv 5102
	read -r -a c1 <<<"$(pmtu_counters)"
	pmtu_delta "${c0[*]}" "${c1[*]}"
	assert_eq "${PMTU_D[mtu_exceeded]}" 0 "mtu_exceeded during the download"
	assert_eq "${PMTU_D[fragmented]}" 0 "packets fragmented during the download"
}

# 4000-byte UDP datagrams from h1 without DF: one 4028-byte packet each on
# the inside (h1's capture), cut at 1500 by the gateway (the server's
# capture sees fragments from h1's pool address), whole at the server and
# answered; the answers' fragments, joined, fit the inside in one packet.
test_pmtu_udp_df_clear() {
	local -a c0 c1
	local seen port=5103 h1cap="$T_DIR/h1-udp.txt" srvcap="$T_DIR/srv-frags.txt" len sum
	pmtu_links_ok
	pmtu_forget
	seen="$(seen_h1)"
	bg eph-srv "$T_DIR/server.log" python3 -I "$E2E_DIR/frag_peer.py" server "$SRV" "$port" 60
	wait_listen eph-srv udp "$port"
	read -r -a c0 <<<"$(pmtu_counters)"
	pmtu_capture eph-h1 "udp and dst host $SRV and dst port $port" 1 "$h1cap"
	pmtu_capture eph-srv "src host $seen and ip[6:2] & 0x3fff != 0" 3 "$srvcap"
	in_ns eph-h1 timeout 30 python3 -I "$E2E_DIR/frag_peer.py" client "$SRV" "$port" 4000 3 df-clear \
		>"$T_DIR/client.log" 2>&1 || {
		cat "$T_DIR/client.log" "$T_DIR/server.log"
		fail "the 4000-byte datagrams did not come back whole"
	}
	pmtu_capture_end
	read -r -a c1 <<<"$(pmtu_counters)"
	cat "$T_DIR/client.log"
	echo "server log:"
	cat "$T_DIR/server.log"
	echo "h1's capture:"
	cat "$h1cap"
	echo "server's capture:"
	cat "$srvcap"
	pmtu_delta "${c0[*]}" "${c1[*]}"
	while read -r _ len sum; do
		grep -q "^from $seen:[0-9]* $len $sum\$" "$T_DIR/server.log" ||
			fail "the server did not get the $len-byte datagram $sum from $seen"
	done < <(grep '^sent ' "$T_DIR/client.log")
	assert_match "$(cat "$h1cap")" "flags \[none\], proto UDP \(17\), length 4028\)" \
		"h1 sent the datagram whole, DF clear"
	assert_match "$(cat "$srvcap")" "flags \[\+\], proto UDP \(17\), length 1500\)" \
		"the server's first fragment (the gateway cut at 1500)"
	[ "${PMTU_D[fragmented]}" -ge 3 ] || fail "fragmented went up by ${PMTU_D[fragmented]}, expected 3"
	[ "${PMTU_D[fragments_sent]}" -ge 9 ] ||
		fail "fragments_sent went up by ${PMTU_D[fragments_sent]}, expected 9 (3 per datagram)"
	assert_eq "${PMTU_D[mtu_exceeded]}" 0 "mtu_exceeded (DF clear)"
}

# mss_of FILE FLAGS: the MSS option of the first segment with tcpdump's
# "Flags [FLAGS]" in FILE.
mss_of() {
	grep -F "Flags [$2]," "$1" | sed -n 's/.*options \[mss \([0-9]*\).*/\1/p' | head -n 1
}

# mss-clamp auto on both ports (the natpmtu_clamp_ passes): h1's SYN leaves
# with MSS 8960 and reaches the server with 1460; the server's SYN-ACK (8960,
# advmss) reaches h1 with 1460. The 8 MB upload then needs no ICMP.
test_pmtu_mss_clamp() {
	local -a c0 c1
	local port=5104 h1cap="$T_DIR/h1-syn.txt" srvcap="$T_DIR/srv-syn.txt"
	local filter="tcp port $port and tcp[tcpflags] & tcp-syn != 0"
	pmtu_links_ok
	pmtu_forget
	pmtu_srv_advmss
	read -r -a c0 <<<"$(pmtu_counters)"
	pmtu_capture eph-h1 "$filter" 2 "$h1cap"
	pmtu_capture eph-srv "$filter" 2 "$srvcap"
	pmtu_stream send "$port"
	pmtu_capture_end
	read -r -a c1 <<<"$(pmtu_counters)"
	echo "h1's capture:"
	cat "$h1cap"
	echo "server's capture:"
	cat "$srvcap"
	pmtu_delta "${c0[*]}" "${c1[*]}"
	echo "MSS: h1's SYN $(mss_of "$h1cap" S) -> server $(mss_of "$srvcap" S);" \
		"server's SYN-ACK $(mss_of "$srvcap" S.) -> h1 $(mss_of "$h1cap" S.)"
	assert_eq "$(mss_of "$h1cap" S)" 8960 "MSS of h1's SYN as sent"
	assert_eq "$(mss_of "$srvcap" S)" 1460 "MSS of h1's SYN at the server"
	assert_eq "$(mss_of "$srvcap" S.)" 8960 "MSS of the server's SYN-ACK as sent"
	assert_eq "$(mss_of "$h1cap" S.)" 1460 "MSS of the server's SYN-ACK at h1"
	[ "${PMTU_D[mss_clamped]}" -ge 2 ] || fail "mss_clamped went up by ${PMTU_D[mss_clamped]}, expected 2"
	assert_eq "${PMTU_D[mtu_exceeded]}" 0 "mtu_exceeded with clamped MSS"
	! ip -n eph-h1 route get "$SRV" | grep -q ' mtu ' ||
		fail "h1 learned a path MTU, though its MSS was clamped: $(ip -n eph-h1 route get "$SRV" | tr '\n' ' ')"
}

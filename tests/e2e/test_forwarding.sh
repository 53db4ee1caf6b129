# shellcheck shell=bash
# Forwarding with real Linux peers: what the far side saw is what counts.

SRV=203.0.113.10
H1=192.0.2.11
H2=192.0.2.12
GW_IN=192.0.2.1
GW_OUT=203.0.113.1
# Source address the server sees for h1/h2: in a NAT pass of the runner the
# pool address found by test_pool_addresses (E2E_SEEN_FILE), the host itself
# otherwise.
seen_of() {
	if [ -z "${E2E_SEEN_FILE:-}" ]; then
		printf '%s' "$1"
	elif [ -s "$E2E_SEEN_FILE" ]; then
		awk -v h="$1" '$1 == h {printf "%s", $2}' "$E2E_SEEN_FILE"
	else
		printf 'pool-address-of-%s-unknown' "$1"	# pool_addresses failed
	fi
}
seen_h1() { seen_of "$H1"; }
seen_h2() { seen_of "$H2"; }

# MAC of a gateway port; the af_packet port takes its interface's address.
gw_port_mac() {
	local ifc=eph-in
	[ "$1" = outside ] && ifc=eph-out
	if [ "${EPH_GW:-dpdk}" = linux ]; then
		ip netns exec eph-gw cat "/sys/class/net/$ifc/address"
	else
		cat "/sys/class/net/$ifc/address"
	fi
}

# ping_expect NS DST [COUNT] [ping args]: every echo answered by DST, once.
ping_expect() {
	local ns="$1" dst="$2" n="${3:-3}" out replies
	shift 3 || shift $#
	out="$(in_ns "$ns" timeout 20 ping -n -c "$n" -i 0.2 -W 2 "$@" "$dst" 2>&1 || true)"
	printf '%s\n' "$out"
	replies="$(grep -c "bytes from $dst: icmp_seq=" <<<"$out" || true)"
	[ "$replies" -eq "$n" ] ||
		fail "$ns ping $dst: $replies/$n replies: $(grep -E 'From|received' <<<"$out" | head -n 3 | tr '\n' ' ')"
	if grep -q DUP <<<"$out"; then
		fail "$ns ping $dst: duplicate replies"
	fi
}

test_arp_gateway() {
	local mac
	in_ns eph-h1 timeout 5 ping -n -c 1 -W 2 "$GW_IN" >/dev/null 2>&1 || true
	mac="$(in_ns eph-h1 ip neigh show "$GW_IN" dev eth0 | grep -o 'lladdr [0-9a-f:]*' | cut -d' ' -f2 || true)"
	assert_eq "$mac" "$(gw_port_mac inside)" "h1's ARP entry for $GW_IN"
	in_ns eph-srv timeout 5 ping -n -c 1 -W 2 "$GW_OUT" >/dev/null 2>&1 || true
	mac="$(in_ns eph-srv ip neigh show "$GW_OUT" dev eth0 | grep -o 'lladdr [0-9a-f:]*' | cut -d' ' -f2 || true)"
	assert_eq "$mac" "$(gw_port_mac outside)" "server's ARP entry for $GW_OUT"
}

test_ping_h1_srv() {
	ping_expect eph-h1 "$SRV" 3
	ping_expect eph-h2 "$SRV" 3
}

test_ping_srv_h1() {
	ping_expect eph-srv "$H1" 3
	ping_expect eph-srv "$H2" 3
}

test_ping_gw_inside() {
	ping_expect eph-h1 "$GW_IN" 3
}

test_ping_gw_outside() {
	ping_expect eph-srv "$GW_OUT" 3
}

# 1472 bytes of ICMP data = a 1500-byte IP packet, don't fragment.
test_ping_full_mtu() {
	ping_expect eph-h1 "$SRV" 3 -s 1472 -M "do"
	ping_expect eph-srv "$H2" 3 -s 1472 -M "do"
}

test_ttl_exceeded() {
	local out
	out="$(in_ns eph-h1 timeout 10 ping -n -c 1 -t 1 -W 2 "$SRV" 2>&1 || true)"
	printf '%s\n' "$out"
	assert_match "$out" "From $GW_IN icmp_seq=1 Time to live exceeded" \
		"ping -t 1 must get Time to live exceeded from $GW_IN"
}

test_route_static() {
	ping_expect eph-h1 198.51.100.10 3
}

# A valid echo padded to the 60-byte Ethernet minimum (IP total length < frame).
test_padded_frame_forwarded() {
	in_ns eph-h1 timeout 15 python3 "$E2E_DIR/craft.py" --iface eth0 \
		--dst-mac "$(gw_port_mac inside)" --src-ip "$H1" --dst-ip "$SRV" \
		--count 3 padded_echo ||
		fail "padded 60-byte echo requests from h1 did not all get replies from $SRV"
}

# http_download NS CLIENT_IP: fetch 200 KB of random bytes from the server.
http_download() {
	local ns="$1" client="$2"
	mkdir -p "$T_DIR/www"
	head -c 200000 /dev/urandom >"$T_DIR/www/blob.bin"
	bg eph-srv "$T_DIR/http.log" python3 -m http.server --bind "$SRV" \
		--directory "$T_DIR/www" 8080
	wait_listen eph-srv tcp 8080
	in_ns "$ns" timeout 20 curl -sS --fail -o "$T_DIR/got.bin" \
		"http://$SRV:8080/blob.bin" || fail "curl from $ns failed (status $?)"
	assert_file_eq "$T_DIR/www/blob.bin" "$T_DIR/got.bin" "HTTP download to $ns"
	grep -q "^$client - .*GET /blob.bin.* 200 " "$T_DIR/http.log" ||
		fail "server log lacks a GET from $client: $(tr '\n' '|' <"$T_DIR/http.log")"
}

test_tcp_h1_download() {
	http_download eph-h1 "$(seen_h1)"
}

test_tcp_h2_download() {
	http_download eph-h2 "$(seen_h2)"
}

# TCP opened from outside: listener in h1, client in the server namespace.
test_tcp_srv_to_h1() {
	local i
	head -c 300000 /dev/urandom >"$T_DIR/send.bin"
	bg eph-h1 "$T_DIR/nc.log" sh -c "exec nc -n -l 5001 >'$T_DIR/got.bin'"
	local srv_pid=$BG_PID
	wait_listen eph-h1 tcp 5001
	in_ns eph-srv timeout 20 nc -n -N -w 5 "$H1" 5001 <"$T_DIR/send.bin" ||
		fail "nc from server to $H1:5001 failed (status $?)"
	for ((i = 0; i < 50; i++)); do
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	assert_file_eq "$T_DIR/send.bin" "$T_DIR/got.bin" "TCP stream server -> h1"
}

# UDP datagrams of several sizes from h1; the listener records them and
# answers each with "echo:" + data.
test_udp_h1_srv() {
	local size payload reply
	: >"$T_DIR/sent.bin"
	bg eph-srv "$T_DIR/udp.log" python3 "$E2E_DIR/udp_echo.py" "$SRV" 5002 \
		"$T_DIR/got.bin" 60
	wait_listen eph-srv udp 5002
	for size in 16 700 1400; do
		payload="$(head -c "$size" /dev/urandom | base64 -w 0 | head -c "$size")"
		printf '%s' "$payload" >>"$T_DIR/sent.bin"
		reply="$(printf '%s' "$payload" | in_ns eph-h1 timeout 10 nc -n -u -w 2 "$SRV" 5002 || true)"
		if [ "$reply" != "echo:$payload" ]; then
			# Say where it was lost: the listener's log, the server's drops.
			echo "listener log:"
			cat "$T_DIR/udp.log"
			in_ns eph-srv nstat -asz 'Udp*' 'IpInHdrErrors' 'IpInAddrErrors' 2>/dev/null | grep -v ' 0 ' || true
		fi
		assert_eq "${#reply}" "$((size + 5))" "length of the UDP reply to a $size-byte datagram"
		assert_eq "$reply" "echo:$payload" "UDP reply content"
	done
	assert_file_eq "$T_DIR/sent.bin" "$T_DIR/got.bin" "UDP bytes the listener received"
	grep -q "^from $(seen_h1):" "$T_DIR/udp.log" ||
		fail "listener saw no datagram from $(seen_h1): $(tr '\n' '|' <"$T_DIR/udp.log")"
}

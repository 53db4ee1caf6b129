# shellcheck shell=bash
# IPv4 fragments through the NAT (dataplane/nat/nat_frag.h): the hosts' own
# IP layers cut large UDP datagrams and pings into fragments, the gateway
# translates each fragment, the far end's IP layer joins them again; every
# datagram is compared by length and SHA-256 at both ends, and the server's
# log shows which address and port it came from.

# On net_af_xdp the fragments reach the gateway as fragments: the NAT
# translates each (frag_translated). On net_af_packet the PMD's fanout
# (PACKET_FANOUT_FLAG_DEFRAG, set by DPDK 22.11) makes the kernel join them
# first, and the daemon receives whole datagrams, which need ring frames
# and buffers that hold them (framesz=61440: E2E_AFP_FRAMES=1); it
# translates them as any packet and cuts them again at the egress MTU
# (fragmented). With the default 2048-byte frames they cannot pass.
frag_need_xdp() {
	[ "$E2E_VDEV" != af_packet ] || [ "${E2E_AFP_FRAMES:-0}" = 1 ] ||
		skip "whole datagrams do not fit net_af_packet's default frames (kernel fanout defrag)"
}

# What counts a datagram's fragments through the gateway, as "NAME VALUE".
frag_count() {
	local v
	if [ "$E2E_VDEV" = af_packet ]; then
		v="$(eph_tm --get fragmented /ephemera/stats)" || fail "/ephemera/stats unreadable"
		echo "fragmented $v"
	else
		read -r v <<<"$(nat_sum frag_translated)"
		echo "frag_translated $v"
	fi
}

# Sum of the frag_* drop counters.
frag_drops() {
	tm_py 'print(sum(v for k, v in T["/ephemera/drops"].items() if k.startswith("frag_")))' \
		/ephemera/drops || fail "/ephemera/drops unreadable"
}

# frag_udp SIZE PORT: 3 datagrams of SIZE bytes from h1 to the server and
# back, each answered whole and identical; the server saw them whole, from
# h1's pool address, never from h1 itself.
frag_udp() {
	local size="$1" port="$2" seen what tr0 tr1 d0 d1 frags want
	frag_need_xdp
	seen="$(seen_h1)"
	read -r what tr0 <<<"$(frag_count)"
	d0="$(frag_drops)"
	bg eph-srv "$T_DIR/server.log" python3 -I "$E2E_DIR/frag_peer.py" server "$SRV" "$port" 60
	wait_listen eph-srv udp "$port"
	in_ns eph-h1 timeout 30 python3 -I "$E2E_DIR/frag_peer.py" client "$SRV" "$port" "$size" 3 \
		>"$T_DIR/client.log" 2>&1 || {
		cat "$T_DIR/client.log" "$T_DIR/server.log"
		fail "the $size-byte datagrams did not come back whole"
	}
	cat "$T_DIR/client.log"
	echo "server log:"
	cat "$T_DIR/server.log"
	# Every datagram the client sent reached the server whole, from the pool address.
	while read -r _ len sum; do
		grep -q "^from $seen:[0-9]* $len $sum\$" "$T_DIR/server.log" ||
			fail "the server did not get the $len-byte datagram $sum from $seen"
	done < <(grep '^sent ' "$T_DIR/client.log")
	! grep -q "^from $H1:" "$T_DIR/server.log" || fail "the server saw h1's own address $H1"
	read -r what tr1 <<<"$(frag_count)"
	d1="$(frag_drops)"
	# Fragments after the first of each datagram, both ways (MTU 1500: 1480 bytes each);
	# or the datagrams the gateway cut again.
	frags=$(((size + 8 + 1479) / 1480 - 1))
	want=$((3 * 2 * frags))
	[ "$what" = fragmented ] && want=6
	echo "$what +$((tr1 - tr0)) (at least $want), frag_* drops +$((d1 - d0))"
	[ "$((tr1 - tr0))" -ge "$want" ] ||
		fail "$what went up by $((tr1 - tr0)), expected at least $want"
	assert_eq "$((d1 - d0))" 0 "fragments dropped"
}

test_frag_udp_4000() { frag_udp 4000 7301; }
test_frag_udp_60000() { frag_udp 60000 7302; }

# ping -s 4000 through the NAT: every echo answered (4008 bytes of ICMP in
# three fragments each way); the server's capture shows h1's pool address.
test_frag_ping_4000() {
	local seen what tr0 tr1 want=12 cap="$T_DIR/srv-icmp.txt" i
	frag_need_xdp
	seen="$(seen_h1)"
	read -r what tr0 <<<"$(frag_count)"
	in_ns eph-srv timeout 20 tcpdump -i eth0 -n -l -c 3 'icmp[icmptype] == icmp-echo' \
		>"$cap" 2>"$T_DIR/tcpdump.err" </dev/null &
	local cap_pid=$!
	defer "kill $cap_pid; wait $cap_pid"
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$T_DIR/tcpdump.err" && break
		sleep 0.1
	done
	ping_expect eph-h1 "$SRV" 3 -s 4000
	for ((i = 0; i < 50; i++)); do
		kill -0 "$cap_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$cap"
	[ "$(grep -c "IP $seen > $SRV: ICMP echo request" "$cap")" -eq 3 ] ||
		fail "the server did not see 3 echo requests from $seen (h1's pool address)"
	read -r what tr1 <<<"$(frag_count)"
	[ "$what" = fragmented ] && want=6
	echo "$what +$((tr1 - tr0))"
	[ "$((tr1 - tr0))" -ge "$want" ] ||
		fail "$what went up by $((tr1 - tr0)), expected at least $want"
}

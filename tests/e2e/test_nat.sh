# shellcheck shell=bash
# SNAT44 end to end: the outside server records every peer it sees, the inside
# hosts capture what reaches them, and the gateway's counters must agree.
#
# The runner describes the pass it runs these in:
#   E2E_NAT_POOL     the pool's addresses, "A-B" (e.g. 203.0.113.100-203.0.113.103)
#   E2E_NAT_PORTS    the pool's port range, "lo-hi"
#   E2E_NAT_WORKERS  worker lcores of the daemon
#   E2E_SEEN_FILE    "inside-address pool-address" lines, written by
#                    test_pool_addresses, read by seen_h1/seen_h2

E2E_FLOWS_TCP="${EPH_E2E_FLOWS_TCP:-2000}"
E2E_FLOWS_UDP="${EPH_E2E_FLOWS_UDP:-2000}"
NAT_TM_SOCK() { printf '/var/run/dpdk/%s/dpdk_telemetry.v2' "$EPH_PREFIX"; }

# Inside hosts of the test bed: eph-h1 .. eph-hN.
nat_hosts() {
	ip netns list | awk '$1 ~ /^eph-h[0-9]+$/ {print $1}' | sort -V
}

host_addr() {	# eph-hN -> 192.0.2.(10+N)
	printf '192.0.2.%d' "$((10 + ${1#eph-h}))"
}

# py_ns NS ARGS...: python3 in namespace NS with enough descriptors for
# thousands of sockets.
py_ns() {
	local ns="$1"
	shift
	ip netns exec "$ns" sh -c 'ulimit -n 16384 && exec "$@"' py python3 -I "$@"
}

# flows_server PORT: flows.py server on the outside host, killed at test end.
# Sets FS_PID and FS_REPORT.
flows_server() {
	local port="$1" i
	FS_REPORT="$T_DIR/server-$port.json"
	rm -f "$T_DIR/ready-$port" "$FS_REPORT"
	ip netns exec eph-srv sh -c 'ulimit -n 16384 && exec "$@"' py python3 -I \
		"$E2E_DIR/flows.py" server --bind "$SRV" --port "$port" --duration 150 \
		--ready "$T_DIR/ready-$port" --report "$FS_REPORT" \
		>"$T_DIR/server-$port.log" 2>&1 </dev/null &
	FS_PID=$!
	defer "kill $FS_PID; wait $FS_PID"
	for ((i = 0; i < 100; i++)); do
		[ -f "$T_DIR/ready-$port" ] && return 0
		kill -0 "$FS_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "flows.py server on $SRV:$port did not start: $(tr '\n' '|' <"$T_DIR/server-$port.log")"
}

# flows_server_stop: SIGTERM, wait for its report (10 s).
flows_server_stop() {
	local i
	kill -TERM "$FS_PID" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$FS_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$FS_PID" 2>/dev/null || true
	[ -s "$FS_REPORT" ] || fail "flows.py server wrote no report: $(tr '\n' '|' <"${FS_REPORT%.json}.log" 2>/dev/null)"
}

# nat_check ARGS...: tests/e2e/nat_check.py; its first FAIL line is the reason.
nat_check() {
	local rc=0
	python3 -I "$E2E_DIR/nat_check.py" "$@" >"$T_DIR/check.out" 2>&1 || rc=$?
	cat "$T_DIR/check.out"
	[ "$rc" -eq 0 ] ||
		fail "$(grep -m1 '^FAIL' "$T_DIR/check.out" || tail -n 1 "$T_DIR/check.out")"
}

# tm_py CODE ENDPOINT[,ENDPOINT...] [ARG...]: run python CODE with
# T = {endpoint: value} read from the daemon's telemetry in one go (a python
# start costs ~0.5 s on a busy machine) and the ARGs in sys.argv[5:].
tm_py() {
	local code="$1"
	shift
	python3 -I -S -c '
import json, sys
sys.path.insert(0, sys.argv[1])
import telemetry
T = {c: telemetry.query(sys.argv[2], c)[c] for c in sys.argv[4].split(",")}
exec(sys.argv[3])' "$EPH_ROOT/scripts" "$(NAT_TM_SOCK)" "$code" "$@"
}

# nat_state FILE: /ephemera/nat, /ephemera/drops, /ephemera/pools and
# /ephemera/ports as one JSON object {"nat": ..., "drops": ..., ...}.
nat_state() {
	tm_py 'print(json.dumps({k.rsplit("/", 1)[1]: v for k, v in T.items()}))' \
		/ephemera/nat,/ephemera/drops,/ephemera/pools,/ephemera/ports >"$1" ||
		fail "telemetry unreadable"
}

# nat_sum KEY...: each KEY of /ephemera/nat summed over the workers.
nat_sum() {
	tm_py 'print(" ".join(str(sum(w.get(k, 0) for w in T["/ephemera/nat"].values()))
	               for k in sys.argv[5:]))' /ephemera/nat "$@" ||
		fail "/ephemera/nat unreadable"
}

# Every host once through the gateway: both sides' ARP is resolved before a
# test counts packets (a packet held for ARP resolution is not a drop, but
# more than arp.hold-packets would be).
warm_up() {
	local h i=0
	local -a pids
	for h in "$@"; do
		in_ns "$h" timeout 10 ping -n -c 1 -W 3 "$SRV" >/dev/null &
		pids+=($!)
	done
	for h in "$@"; do
		wait "${pids[i++]}" || fail "$h cannot ping $SRV through the gateway"
	done
}

# The pool address each inside host is translated to, as the server sees it;
# every later test of the pass compares against this.
test_pool_addresses() {
	local h
	local -a hosts pids
	mapfile -t hosts < <(nat_hosts)
	warm_up "${hosts[@]}"
	flows_server 7100
	: >"$T_DIR/seen"
	for h in "${hosts[@]}"; do	# all at once: a python start is slow here
		py_ns "$h" "$E2E_DIR/flows.py" client --server "$SRV" --port 7100 \
			--source "$(host_addr "$h")" --udp 1 --timeout 6 \
			>"$T_DIR/addr.$h.json" 2>&1 &
		pids+=($!)
	done
	for h in "${hosts[@]}"; do
		wait "${pids[0]}" || fail "flows.py client in $h failed: $(cat "$T_DIR/addr.$h.json")"
		pids=("${pids[@]:1}")
		printf '%s %s\n' "$(host_addr "$h")" "$(cat "$T_DIR/addr.$h.json")" >>"$T_DIR/seen"
	done
	flows_server_stop
	nat_check addresses --seen-in "$T_DIR/seen" --server-report "$FS_REPORT" \
		--pool "$E2E_NAT_POOL" --seen "$E2E_SEEN_FILE"
}

# Ping through the NAT: every echo answered, and the server's capture shows
# the requests came from h1's pool address, never from h1 itself.
test_ping_through() {
	local cap="$T_DIR/srv-icmp.txt" i in0 in1 out0 out1 seen
	seen="$(seen_h1)"
	in_ns eph-srv timeout 20 tcpdump -i eth0 -n -l -c 3 'icmp[icmptype] == icmp-echo' \
		>"$cap" 2>"$T_DIR/tcpdump.err" </dev/null &
	local cap_pid=$!
	defer "kill $cap_pid; wait $cap_pid"
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$T_DIR/tcpdump.err" && break
		sleep 0.1
	done
	out0="$(nat_sum in2out out2in)"
	read -r in0 out0 <<<"$out0"
	ping_expect eph-h1 "$SRV" 3
	for ((i = 0; i < 50; i++)); do
		kill -0 "$cap_pid" 2>/dev/null || break
		sleep 0.1
	done
	out1="$(nat_sum in2out out2in)"
	read -r in1 out1 <<<"$out1"
	echo "server capture:"
	cat "$cap"
	[ "$(grep -c "IP $seen > $SRV: ICMP echo request" "$cap")" -eq 3 ] ||
		fail "the server did not see 3 echo requests from $seen (h1's pool address)"
	! grep -q "IP $H1 " "$cap" || fail "the server saw h1's own address $H1"
	echo "in2out +$((in1 - in0)), out2in +$((out1 - out0))"
	[ $((in1 - in0)) -ge 3 ] || fail "/ephemera/nat in2out went up by $((in1 - in0)) for 3 echo requests"
	[ $((out1 - out0)) -ge 3 ] || fail "/ephemera/nat out2in went up by $((out1 - out0)) for 3 echo replies"
}

# 2,000 TCP connections held open at once and 2,000 UDP flows, spread over
# the inside hosts; the server records every peer.
test_flows_2000() {
	local -a hosts pids
	local h i n per_tcp per_udp
	mapfile -t hosts < <(nat_hosts)
	n=${#hosts[@]}
	[ "$n" -ge 4 ] || fail "needs at least 4 inside hosts (EPH_INSIDE_HOSTS=4), the bed has $n"
	per_tcp=$((E2E_FLOWS_TCP / n)) per_udp=$((E2E_FLOWS_UDP / n))
	warm_up "${hosts[@]}"
	nat_state "$T_DIR/before.json"
	flows_server 7000
	for h in "${hosts[@]}"; do
		py_ns "$h" "$E2E_DIR/flows.py" client --server "$SRV" --port 7000 \
			--source "$(host_addr "$h")" --tcp "$per_tcp" --udp "$per_udp" --timeout 15 \
			--held "$T_DIR/held.$h" --release "$T_DIR/release" --hold-max 60 \
			>"$T_DIR/client.$h.json" 2>"$T_DIR/client.$h.err" </dev/null &
		pids+=($!)
		defer "kill ${pids[-1]}"
	done
	# Every client has its connections open and answered: all of them are
	# live at the gateway at once. Show the allocator while they are.
	for ((i = 0; i < 600; i++)); do
		[ "$(find "$T_DIR" -maxdepth 1 -name 'held.*' | wc -l)" -ge "$n" ] && break
		sleep 0.1
	done
	echo "held after $((i / 10)) s; /ephemera/pools while held:"
	eph_tm /ephemera/pools | tee "$T_DIR/pools-held.json" | tr -d ' \n'
	echo
	eph_tm /ephemera/destinations >"$T_DIR/destinations-held.json" || true
	touch "$T_DIR/release"
	for i in "${pids[@]}"; do
		wait "$i" || fail "a flows.py client failed: $(cat "$T_DIR"/client.*.err | tr '\n' '|')"
	done
	flows_server_stop
	sleep 0.5	# let the last handoffs and counters settle
	nat_state "$T_DIR/after.json"
	nat_check flows --dir "$T_DIR" --pool "$E2E_NAT_POOL" \
		--ports "$E2E_NAT_PORTS" --workers "$E2E_NAT_WORKERS" \
		--tcp "$per_tcp" --udp "$per_udp" --seen "$E2E_SEEN_FILE"
}

# Unsolicited packets from outside never reach the inside, and each one is
# counted under nat_no_session: to the pool address on ports nobody opened,
# and straight to the inside host's own address.
test_unsolicited() {
	local before after n=0 pool_h1 cap="$T_DIR/h1.pcap" got i
	pool_h1="$(seen_h1)"
	warm_up eph-h1
	in_ns eph-h1 timeout 30 tcpdump -i eth0 -n -U -w "$cap" 'ip and not arp' \
		2>"$T_DIR/tcpdump.err" </dev/null &
	local cap_pid=$!
	defer "kill $cap_pid; wait $cap_pid"
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$T_DIR/tcpdump.err" && break
		sleep 0.1
	done
	sleep 0.3
	before="$(drop_count nat_no_session)"
	# to the pool address: UDP to a port nobody opened, from a port no
	# session has; a TCP SYN; an ICMP echo reply's worth is not sent
	# (echo requests to a pool address are nat_unsupported).
	send_unsolicited udp "$pool_h1" 33333 3 45678
	n=$((n + 3))
	send_unsolicited tcp "$pool_h1" 33334 2
	n=$((n + 2))
	# to the inside host itself (the server routes 192.0.2.0/24 to the gateway)
	send_unsolicited udp "$H1" 5000 2
	n=$((n + 2))
	send_unsolicited tcp "$H1" 5001 1
	n=$((n + 1))
	in_ns eph-srv timeout 10 ping -n -c 3 -i 0.2 -W 1 "$H1" &&
		fail "the server's ping reached $H1 through the NAT"
	n=$((n + 3))
	expect_drops nat_no_session "$before" "$n"
	after="$(drop_count nat_no_session)"
	echo "nat_no_session: $before -> $after ($n sent)"
	sleep 0.5
	kill "$cap_pid" 2>/dev/null || true
	wait "$cap_pid" 2>/dev/null || true
	got="$(tcpdump -r "$cap" -n 2>/dev/null || true)"
	echo "h1 capture: ${got:-(nothing)}"
	[ -z "$got" ] || fail "h1 received IP packets during the test: $(head -n 3 <<<"$got" | tr '\n' '|')"
}

# send_unsolicited udp|tcp DST PORT COUNT [SPORT]: from the server.
send_unsolicited() {
	local out
	out="$(in_ns eph-srv timeout 10 python3 -I "$E2E_DIR/nat_probe.py" send --proto "$1" \
		--dst "$2" --dport "$3" --count "$4" --source "$SRV" --sport "${5:-0}")" ||
		fail "sending $1 to $2:$3 failed: $out"
	echo "server sent: $out"
}

# Endpoint-dependent filtering: while h1 has a UDP session with SRV:7200, a
# datagram to its outside ip:port from SRV:7201 is dropped (nat_no_session);
# the answer from SRV:7200 gets through.
test_filtering() {
	local before out srv_out
	warm_up eph-h1
	bg eph-srv "$T_DIR/filter-srv.json" python3 -I "$E2E_DIR/nat_probe.py" filter-srv \
		--bind "$SRV" --port 7200 --other-port 7201 --ready "$T_DIR/ready" --timeout 15
	local srv_pid=$BG_PID i
	for ((i = 0; i < 50; i++)); do
		[ -f "$T_DIR/ready" ] && break
		sleep 0.1
	done
	before="$(drop_count nat_no_session)"
	out="$(in_ns eph-h1 timeout 10 python3 -I "$E2E_DIR/nat_probe.py" filter-cli \
		--server "$SRV" --port 7200 --source "$H1" --wait 2)" || fail "filter-cli failed: $out"
	wait "$srv_pid" 2>/dev/null || true
	srv_out="$(cat "$T_DIR/filter-srv.json")"
	echo "server: $srv_out"
	echo "h1: $out"
	assert_contains "$srv_out" "\"peer\": \"$(seen_h1):" "the server must see h1 as its pool address"
	assert_contains "$out" '"data": "from the right port"' "h1 must get the answer from $SRV:7200"
	case "$out" in
	*"wrong port"*) fail "a datagram from $SRV:7201 reached h1 (endpoint-dependent filtering)" ;;
	esac
	expect_drops nat_no_session "$before" 1
}

# Spoofed RSTs (RFC 5961): while h1 holds a TCP connection to the server,
# 100 RSTs from the server's address and port with sequence numbers half
# the space away from where the server is reach the gateway: all dropped as
# nat_tcp_rst_out_of_window, h1 sees none and the connection keeps working.
# The server's own reset (SO_LINGER 0, at its real sequence number) passes.
test_tcp_rst_guard() {
	local before peer port cap="$T_DIR/srv.pcap" h1_cap="$T_DIR/h1.pcap" srv_end out srv_out
	local resets
	warm_up eph-h1
	in_ns eph-srv timeout 30 tcpdump -i eth0 -n -S -U -w "$cap" 'tcp port 7300' \
		2>"$T_DIR/tcpdump.err" </dev/null &
	local cap_pid=$!
	defer "kill $cap_pid; wait $cap_pid"
	in_ns eph-h1 timeout 30 tcpdump -i eth0 -n -U -w "$h1_cap" 'tcp port 7300' \
		2>"$T_DIR/tcpdump-h1.err" </dev/null &
	local h1_cap_pid=$!
	defer "kill $h1_cap_pid; wait $h1_cap_pid"
	poll 5 grep -q 'listening on' "$T_DIR/tcpdump.err" || fail "tcpdump did not start"
	poll 5 grep -q 'listening on' "$T_DIR/tcpdump-h1.err" || fail "tcpdump did not start on h1"
	bg eph-srv "$T_DIR/hold-srv.json" python3 -I "$E2E_DIR/nat_probe.py" hold-srv \
		--bind "$SRV" --port 7300 --ready "$T_DIR/peer" --timeout 20
	local srv_pid=$BG_PID
	wait_listen eph-srv tcp 7300
	bg eph-h1 "$T_DIR/hold-cli.json" python3 -I "$E2E_DIR/nat_probe.py" hold-cli \
		--server "$SRV" --port 7300 --source "$H1" --go "$T_DIR/go" --timeout 20
	local cli_pid=$BG_PID
	poll 10 test -s "$T_DIR/peer" || fail "the server got no connection"
	peer="$(cat "$T_DIR/peer")"
	port="${peer##*:}"
	# The server's echo of "hello" ends where its sequence space is now.
	poll 5 srv_seq_end "$cap" "$port" || fail "no data from the server in the capture"
	srv_end="$(srv_seq_end "$cap" "$port")"
	echo "connection: h1 -> $SRV:7300 seen by the server as $peer; server at seq $srv_end"
	before="$(drop_count nat_tcp_rst_out_of_window)"
	out="$(in_ns eph-srv python3 -I "$E2E_DIR/nat_probe.py" rst-spoof --src "$SRV" \
		--sport 7300 --dst "${peer%:*}" --dport "$port" \
		--seq $(((srv_end + 2147483648) % 4294967296)) --count 100)" ||
		fail "rst-spoof: $out"
	echo "spoofed: $out"
	expect_drops nat_tcp_rst_out_of_window "$before" 100
	touch "$T_DIR/go"
	wait "$cli_pid" || fail "hold-cli exited $?: $(cat "$T_DIR/hold-cli.json")"
	wait "$srv_pid" || true
	out="$(cat "$T_DIR/hold-cli.json")"
	srv_out="$(cat "$T_DIR/hold-srv.json")"
	echo "h1: $out"
	echo "server: $srv_out"
	assert_contains "$out" '"hello": "hello"' "the first exchange"
	assert_contains "$out" '"again": "again"' "the exchange after the spoofed RSTs"
	assert_contains "$out" '"after_abort": "reset"' "the server's own reset reaching h1"
	assert_contains "$srv_out" '"lines": ["hello", "again", "abort"]' "what the server read"
	poll 3 resets_in "$h1_cap" 1 || true
	sleep 0.2
	kill "$h1_cap_pid" 2>/dev/null || true
	wait "$h1_cap_pid" 2>/dev/null || true
	resets="$(resets_in "$h1_cap")"
	assert_eq "$resets" 1 "RSTs that reached h1 (only the server's own)"
}

# resets_in PCAP [N]: the number of TCP RSTs in PCAP; with N, whether there are at least N.
resets_in() {
	local n
	n="$(tcpdump -r "$1" -n 'tcp[tcpflags] & tcp-rst != 0' 2>/dev/null | wc -l)"
	[ $# -lt 2 ] || { [ "$n" -ge "$2" ]; return; }
	printf '%s\n' "$n"
}

# srv_seq_end PCAP PORT: the end of the sequence space the server has sent
# on its connection to PORT (the last data segment's seq:end, absolute).
srv_seq_end() {
	local v
	v="$(tcpdump -r "$1" -n -S "src port 7300 and dst port $2 and tcp[tcpflags] & tcp-push != 0" \
		2>/dev/null | sed -n 's/.* seq [0-9]*:\([0-9]*\),.*/\1/p' | tail -n 1)"
	[ -n "$v" ] || return 1
	printf '%s\n' "$v"
}

# A small port range (the runner's natrange passes: one address, quarantine
# 2 s, short timeouts, E2E_NAT_UDP_TIMEOUT): one inside host opens flows to
# one destination until the range is used up. Every port of the range serves
# it exactly once whatever the worker count (beyond its worker's share the
# ports are borrowed from the others'), every flow keeps working, the next
# one is refused and counted; once the sessions idle out and the ports have
# rested, the whole range serves again.
range_test() {
	local proto="$1" port="$2" least="$3" out
	warm_up eph-h1
	flows_server "$port"
	out="$(py_ns eph-h1 "$E2E_DIR/nat_probe.py" range --proto "$proto" \
		--server "$SRV" --port "$port" --source "$H1" --address "$E2E_NAT_POOL" \
		--ports "$E2E_NAT_PORTS" --least-recovery "$least" \
		--telemetry "$(NAT_TM_SOCK)")" || fail "nat_probe.py range failed: $out"
	printf '%s\n' "$out" >"$T_DIR/range.json"
	flows_server_stop
	eph_tm /ephemera/nat >"$T_DIR/nat-after.json" || true
	nat_check range --dir "$T_DIR" --pool "$E2E_NAT_POOL" --address "$E2E_NAT_POOL" \
		--ports "$E2E_NAT_PORTS" --workers "$E2E_NAT_WORKERS" \
		--udp-timeout "$E2E_NAT_UDP_TIMEOUT" --server-report "$FS_REPORT"
}

# UDP flows, one socket each, asked in rounds.
test_range_udp() {
	range_test udp 7000 "$E2E_NAT_UDP_TIMEOUT"
}

# TCP connections held open and exchanging lines; the one beyond the range
# gets no answer to its SYN (the connect is given 0.7 s: one SYN, no
# retransmission) and is counted.
test_range_tcp() {
	range_test tcp 7001 "$E2E_NAT_TCP_TRANSITORY"
}

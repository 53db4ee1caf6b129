# shellcheck shell=bash
# The control plane end to end: build/ephctl against the control socket of
# a daemon each test starts itself, from a copy of the runner's
# configuration that the test may vary, edit and reload, while real traffic
# crosses the gateway. What counts is what the far side saw (the server's
# peers, the bytes that came back), the daemon's log and its counters.
#
# The runner describes the pass:
#   E2E_CTL_CONF   the configuration: pool "default" of 203.0.113.100-103 on
#                  ports CONTROL_PORTS for 192.0.2.0/24, one worker, TCP
#                  sessions gone 2 s after they close (tcp-transitory)
#   E2E_CTL_SOCK   its control socket, in a directory anyone may enter

EPHCTL="${EPHCTL:-$EPH_ROOT/build/ephctl}"
CTL_USER=eph-e2e-ctl	# throwaway user and group of test_nonroot_refused

# ---- helpers -------------------------------------------------------------

ctl() {
	"$EPHCTL" -s "$E2E_CTL_SOCK" "$@"
}

# ctl_ok ARGS...: ephctl ARGS, which must succeed; prints its standard
# output (warnings go to $T_DIR/ctl.err).
ctl_ok() {
	local out rc=0
	out="$(ctl "$@" 2>"$T_DIR/ctl.err")" || rc=$?
	[ "$rc" -eq 0 ] || fail "ephctl $* exited $rc: $(head -c 400 "$T_DIR/ctl.err" | tr '\n' '|')"
	printf '%s\n' "$out"
}

# ctl_json ARGS...: the daemon's result of ephctl ARGS as JSON.
ctl_json() {
	ctl_ok --json "$@"
}

# ctl_expect STATUS TEXT ARGS...: ephctl ARGS exits STATUS and says TEXT.
ctl_expect() {
	local want="$1" text="$2" out rc=0
	shift 2
	out="$(ctl "$@" 2>&1)" || rc=$?
	printf 'ephctl %s -> %s: %s\n' "$*" "$rc" "$(head -n 1 <<<"$out")"
	[ "$rc" -eq "$want" ] || fail "ephctl $*: exit status $rc, expected $want: $out"
	assert_contains "$out" "$text" "ephctl $*"
}

# ctl_drop REASON: the daemon's drop counter for REASON.
ctl_drop() {
	ctl_json show stats | jq -r --arg r "$1" '.drops[$r] // 0'
}

# ctl_metric SAMPLE: the value of SAMPLE (name{labels}) in `ephctl metrics`.
ctl_metric() {
	ctl_ok metrics | awk -v k="$1" '$1 == k {print $2; found = 1} END {exit !found}' ||
		fail "ephctl metrics has no $1"
}

# ctl_start [CONF]: start the daemon from CONF (default $T_DIR/ephemera.yaml,
# a copy of the pass's unless the test wrote one) and check that its control
# socket answers. T_CONF is the file `ephctl reload` reads. Stopped at the end.
ctl_start() {
	T_CONF="${1:-$T_DIR/ephemera.yaml}"
	[ -e "$T_CONF" ] || cp "$E2E_CTL_CONF" "$T_CONF"
	T_DAEMON_LOG="$T_DIR/ephemera.log"
	eph_start "$T_CONF" "$T_DAEMON_LOG" 2>"$T_DIR/start.err" ||
		fail "daemon did not start: $(grep -m1 -i 'error' "$T_DIR/start.err" || head -n 1 "$T_DIR/start.err")"
	defer "eph_stop"
	ctl version >/dev/null || fail "the daemon is ready but $E2E_CTL_SOCK does not answer"
}

# ctl_stop: SIGTERM; the daemon exits 0 and takes its socket away.
ctl_stop() {
	eph_stop
	[ "$EPH_STATUS" -eq 0 ] ||
		fail "daemon exited $EPH_STATUS on SIGTERM: $(tail -n 3 "$T_DAEMON_LOG" | tr '\n' '|')"
	[ ! -e "$E2E_CTL_SOCK" ] || fail "the daemon left $E2E_CTL_SOCK behind"
}

# ended PID: process PID is gone.
ended() {
	! kill -0 "$1" 2>/dev/null
}

# drop_above REASON N: the daemon dropped more than N packets for REASON.
drop_above() {
	[ "$(ctl_drop "$1")" -gt "$2" ]
}

# poll SECONDS CMD...: run CMD every 0.1 s until it succeeds; 1 if it never did.
poll() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# ARP both sides of the gateway without a NAT session: h1 and the server
# ping the gateway's own addresses.
warm_gw() {
	in_ns eph-h1 ping -n -c 1 -W 3 "$GW_IN" >/dev/null &
	local h1=$!
	in_ns eph-srv ping -n -c 1 -W 3 "$GW_OUT" >/dev/null || fail "the server cannot ping $GW_OUT"
	wait "$h1" || fail "h1 cannot ping $GW_IN"
}

# in_range PORT LO-HI
in_range() {
	local lo="${2%-*}" hi="${2#*-}"
	[ "$1" -ge "$lo" ] && [ "$1" -le "$hi" ]
}

# drv_start NS PORT: tests/e2e/ctl_flows.py driver in inside host NS, towards
# the flows.py server on $SRV:PORT; drv gives it commands.
drv_start() {
	DRV_DIR="$T_DIR/driver"
	mkdir -p "$DRV_DIR"
	echo 0 >"$DRV_DIR/n"
	py_ns "$1" "$E2E_DIR/ctl_flows.py" driver --server "$SRV" --port "$2" \
		--source "$(host_addr "$1")" --dir "$DRV_DIR" >"$DRV_DIR/out" 2>&1 </dev/null &
	DRV_PID=$!
	defer "kill $DRV_PID"
}

# drv CMD...: one driver command (see ctl_flows.py); its JSON result.
drv() {
	local n i
	n=$(($(cat "$DRV_DIR/n") + 1))
	echo "$n" >"$DRV_DIR/n"
	printf '%s\n' "$*" >"$DRV_DIR/cmd.$n.tmp"
	mv "$DRV_DIR/cmd.$n.tmp" "$DRV_DIR/cmd.$n"
	for ((i = 0; i < 600; i++)); do
		[ -e "$DRV_DIR/res.$n" ] && break
		if ! kill -0 "$DRV_PID" 2>/dev/null; then
			[ -e "$DRV_DIR/res.$n" ] && break	# answered, then ended ("quit")
			fail "ctl_flows.py driver died: $(tail -n 3 "$DRV_DIR/out" | tr '\n' '|')"
		fi
		sleep 0.05
	done
	[ -e "$DRV_DIR/res.$n" ] || fail "ctl_flows.py driver: no answer to '$*' in 30 s"
	if jq -e 'has("error")' "$DRV_DIR/res.$n" >/dev/null; then
		fail "ctl_flows.py driver: $*: $(cat "$DRV_DIR/res.$n")"
	fi
	cat "$DRV_DIR/res.$n"
}

# drv_open NAME: a TCP connection NAME to the server; prints "INSIDE SEEN",
# the ip:port it has in h1 and the one the server sees.
drv_open() {
	local r
	r="$(drv open "$1")"
	jq -r '"\(.inside) \(.seen)"' <<<"$r"
}

# drv_exchange NAME BYTES SEEN: BYTES there and back on connection NAME,
# every line seen by the server as coming from SEEN.
drv_exchange() {
	local r
	r="$(drv exchange "$1" "$2")"
	[ "$(jq -c '[.ok, .sent, .received, .peers]' <<<"$r")" = "[true,$2,$2,[\"$3\"]]" ] ||
		fail "connection $1: expected $2 bytes both ways, the server seeing only $3: $r"
	echo "connection $1: $2 bytes both ways, seen as $3"
}

# drv_close NAME: the connection ends cleanly (FIN both ways).
drv_close() {
	local r
	r="$(drv close "$1")"
	[ "$(jq -c .ok <<<"$r")" = true ] || fail "connection $1 did not close cleanly: $r"
}

# ---- tests ---------------------------------------------------------------

# The data connection of iperf3 in a ctl_json show sessions answer (file):
# its outside ip:port, found by its inside ip:port.
session_outside() {
	jq -r --arg in "$2" --arg rem "$SRV:5201" \
		'[.sessions[] | select(.inside == $in and .remote == $rem) | .outside] | join(" ")' "$1"
}

# iperf_sessions_ge N: h1 has at least N TCP sessions to iperf3's port.
iperf_sessions_ge() {
	local n
	n="$(ctl --json show sessions proto tcp inside "$H1" remote "$SRV" port 5201 | jq .matched)"
	[ "${n:-0}" -ge "$1" ]
}

# conf_udp_is S: the running configuration's UDP timeout is S.
conf_udp_is() {
	[ "$(ctl --json show config | jq .timeouts.udp)" = "$1" ]
}

# Pool and timeout changes while an iperf3 stream (h1) and a loop of HTTP
# requests (h2) cross the gateway: ephctl pool add-address and set-range,
# an edited file applied by `ephctl reload`, another by SIGHUP. No flow may
# notice: same outside ip:port, every byte, every answer, no drop.
test_reload_under_traffic() {
	local total=$((50 * 1024 * 1024)) drops0 drops1 r gen ipid iperf_srv curl_pid cap
	local data_in data_out before after n_ok n_bad n_log srcs i
	ctl_start
	warm_up eph-h1 eph-h2
	drops0="$(ctl_drop nat_no_session)"
	mkdir -p "$T_DIR/www"
	head -c 20000 /dev/urandom >"$T_DIR/www/page.bin"
	bg eph-srv "$T_DIR/http.log" python3 -m http.server --bind "$SRV" \
		--directory "$T_DIR/www" 8081
	bg eph-srv "$T_DIR/iperf-server.json" iperf3 -s -1 -J -B "$SRV" -p 5201
	iperf_srv=$BG_PID
	wait_listen eph-srv tcp 8081
	wait_listen eph-srv tcp 5201
	# Every segment of the stream that reaches the server, for its source.
	in_ns eph-srv timeout 60 tcpdump -i eth0 -n -s 64 -U -w "$T_DIR/srv-5201.pcap" \
		'tcp dst port 5201' 2>"$T_DIR/tcpdump.err" </dev/null &
	cap=$!
	defer "kill $cap; wait $cap"
	poll 5 grep -q 'listening on' "$T_DIR/tcpdump.err" || fail "tcpdump did not start"

	# shellcheck disable=SC2016 # expanded by the inner shell
	bg eph-h2 "$T_DIR/curl.log" bash -c 'while [ ! -e "$1/stop-curl" ]; do
		code="$(curl -sS --max-time 5 -o "$1/got.bin" -w "%{http_code}" \
			"http://$2:8081/page.bin" 2>>"$1/curl.err")" || code="$code/exit-$?"
		if [ "$code" = 200 ] && cmp -s "$1/got.bin" "$1/www/page.bin"; then
			echo ok
		else
			echo "bad $code"
		fi
		rm -f "$1/got.bin"
		sleep 0.05
	done' curl-loop "$T_DIR" "$SRV"
	curl_pid=$BG_PID
	# 50 MiB at 50 Mbit/s: about 8 s.
	in_ns eph-h1 iperf3 -c "$SRV" -p 5201 -n 50M -b 50M -J --connect-timeout 5000 \
		>"$T_DIR/iperf-client.json" 2>"$T_DIR/iperf-client.err" </dev/null &
	ipid=$!
	defer "kill $ipid"
	poll 10 iperf_sessions_ge 2 || fail "iperf3's two connections never showed in ephctl show sessions"
	ctl_json show sessions >"$T_DIR/sessions-before.json"
	echo "h1's sessions before the changes:"
	ctl_ok show sessions inside "$H1" proto tcp

	ctl_ok pool add-address default 203.0.113.104
	r="$(ctl_json pool set-range default 20000-29999)"
	echo "set-range: $r" | tr -d ' \n'
	echo
	jq -e --arg prev "$CONTROL_PORTS" '.previous == $prev and .ports == "20000-29999" and
		.draining_sessions >= 2' <<<"$r" >/dev/null ||
		fail "set-range: expected previous $CONTROL_PORTS and iperf3's sessions draining: $r"
	# The file takes in what ephctl changed, one more address and a UDP timeout.
	sed -i -e 's/^    addresses: .*/    addresses: [203.0.113.100-203.0.113.105]/' \
		-e 's/^    ports: .*/    ports: 20000-29999/' \
		-e 's/^  tcp-transitory: .*/&\n  udp: 200/' "$T_CONF"
	r="$(ctl_json reload)"
	echo "reload: $r" | tr -d '\n'
	echo
	jq -e '(.changes | length) == 2 and
		any(.changes[]; test("address 203\\.0\\.113\\.105 added")) and
		any(.changes[]; test("timeouts\\.udp: 300 -> 200"))' <<<"$r" >/dev/null ||
		fail "reload: expected exactly .105 added and timeouts.udp 300 -> 200: $r"
	gen="$(jq .generation <<<"$r")"
	sed -i 's/^  udp: 200$/  udp: 250/' "$T_CONF"
	kill -HUP "$EPH_PID"
	poll 10 conf_udp_is 250 || fail "after SIGHUP timeouts.udp is not 250"
	r="$(ctl_json show config)"
	jq -e --argjson gen "$gen" '.generation > $gen and
		.pools[0].addresses == ["203.0.113.100","203.0.113.101","203.0.113.102",
			"203.0.113.103","203.0.113.104","203.0.113.105"] and
		.pools[0].ports == "20000-29999"' <<<"$r" >/dev/null ||
		fail "show config after SIGHUP: $(jq -c '{generation, pools}' <<<"$r")"
	ctl_json show sessions >"$T_DIR/sessions-after.json"
	echo "h1's sessions after the changes:"
	ctl_ok show sessions inside "$H1" proto tcp
	kill -0 "$ipid" 2>/dev/null ||
		fail "iperf3 ended before the changes were done: the machine is too slow for this test"

	wait "$ipid" || fail "iperf3 client exited $?: $(tail -n 3 "$T_DIR/iperf-client.err" | tr '\n' '|')"
	poll 10 ended "$iperf_srv" || fail "iperf3 server did not end"
	touch "$T_DIR/stop-curl"
	wait "$curl_pid" || true
	sleep 0.5	# the last segments reach the capture, late drops are counted
	kill "$cap" 2>/dev/null || true
	wait "$cap" 2>/dev/null || true
	drops1="$(ctl_drop nat_no_session)"

	# iperf3: every byte sent, the server got them (up to what was still in
	# flight when the client said "done": iperf3 stops counting there), no error.
	jq -e --argjson n "$total" '(has("error") | not) and .end.sum_sent.bytes == $n' \
		"$T_DIR/iperf-client.json" >/dev/null ||
		fail "iperf3 client: $(jq -c '{error, sent: .end.sum_sent.bytes}' "$T_DIR/iperf-client.json")"
	jq -e --argjson n "$total" '(has("error") | not) and (.start.connected | length) == 1 and
		.end.sum_received.bytes >= $n - 4194304 and .end.sum_received.bytes <= $n' \
		"$T_DIR/iperf-server.json" >/dev/null ||
		fail "iperf3 server: $(jq -c '{error, connected: .start.connected, received: .end.sum_received.bytes}' "$T_DIR/iperf-server.json")"
	echo "iperf3: sent $total bytes, server received $(jq .end.sum_received.bytes "$T_DIR/iperf-server.json")"
	data_in="$H1:$(jq .start.connected[0].local_port "$T_DIR/iperf-client.json")"
	data_out="$(jq -r '.start.connected[0] | "\(.remote_host):\(.remote_port)"' "$T_DIR/iperf-server.json")"
	before="$(session_outside "$T_DIR/sessions-before.json" "$data_in")"
	after="$(session_outside "$T_DIR/sessions-after.json" "$data_in")"
	echo "data connection $data_in: server saw $data_out; ephctl before: $before, after: $after"
	assert_eq "$before" "$data_out" "outside ip:port of iperf3's data connection before the changes"
	assert_eq "$after" "$data_out" "outside ip:port of iperf3's data connection after the changes"
	# The server saw the stream from one ip:port only (and the control connection).
	srcs="$(tcpdump -r "$T_DIR/srv-5201.pcap" -n -q 2>/dev/null | awk '{print $3}' | sort | uniq -c)"
	echo "sources of segments to port 5201: $(tr '\n' ' ' <<<"$srcs")"
	[ "$(wc -l <<<"$srcs")" -eq 2 ] || fail "the server saw iperf3 from other than 2 ip:ports: $srcs"
	i="$(awk -v s="${data_out%:*}.${data_out##*:}" '$2 == s {print $1}' <<<"$srcs")"
	[ "${i:-0}" -ge 1000 ] || fail "the stream's segments did not come from $data_out: $srcs"

	n_ok="$(grep -c '^ok$' "$T_DIR/curl.log" || true)"
	n_bad="$(grep -vc '^ok$' "$T_DIR/curl.log" || true)"
	n_log="$(grep -c '"GET /page.bin HTTP/1.1" 200 ' "$T_DIR/http.log" || true)"
	echo "curl: $n_ok right answers, $n_bad wrong; the server logged $n_log"
	[ "$n_bad" -eq 0 ] || fail "$n_bad HTTP requests failed: $(grep -v '^ok$' "$T_DIR/curl.log" | sort | uniq -c | head -n 3 | tr '\n' '|') $(head -n 2 "$T_DIR/curl.err" 2>/dev/null | tr '\n' '|')"
	[ "$n_ok" -ge 10 ] || fail "only $n_ok HTTP requests during the changes"
	assert_eq "$n_log" "$n_ok" "requests the server answered"
	echo "sessions: before $(jq .matched "$T_DIR/sessions-before.json"), after $(jq .matched "$T_DIR/sessions-after.json")"
	echo "nat_no_session: $drops0 -> $drops1"
	assert_eq "$drops1" "$drops0" "nat_no_session drops"
	ctl_stop
	# Paired pooling (RFC 4787 REQ-2): h2 had sessions all along (its ping,
	# the requests resting in TIME-WAIT), so every request left from the
	# same address, whatever addresses were added meanwhile.
	srcs="$(awk '/GET \/page.bin/ {print $1}' "$T_DIR/http.log" | uniq -c | tr -s ' \n' ' ')"
	echo "h2 seen by the server as (in order, with counts): $srcs"
	[ "$(awk '/GET \/page.bin/ {print $1}' "$T_DIR/http.log" | sort -u | wc -l)" -eq 1 ] ||
		fail "paired pooling: h2's requests left from several addresses while it had live sessions:$srcs"
}

# A port range change: the connection opened on the old range keeps its
# port and works both ways, new ones get ports of the new range, and an
# old range lasts exactly as long as a session holds one of its ports. A
# pool has at most 4 ranges (generations) at once: a change while three
# older ranges still hold sessions is refused, and goes through once the
# oldest has drained.
test_range_change_drains() {
	local ranges=(30000-30999 31000-31999 32000-32999) prev="$CONTROL_PORTS"
	local names=(a) out addr r i range name seen t0 waited
	local -A seen_of_conn
	ctl_start
	warm_gw
	flows_server 7300
	drv_start eph-h1 7300
	out="$(drv_open a)"
	seen_of_conn[a]="${out#* }"
	addr="${out#* }"
	addr="${addr%:*}"
	echo "a: $out"
	in_range "${out##*:}" "$CONTROL_PORTS" || fail "a got port ${out##*:}, outside $CONTROL_PORTS"
	for i in 0 1 2; do
		range="${ranges[i]}"
		r="$(ctl_json pool set-range default "$range")"
		echo "set-range $range: $(tr -d ' \n' <<<"$r")"
		jq -e --arg p "$prev" --arg r "$range" --argjson n $((i + 1)) \
			'.previous == $p and .ports == $r and .draining_sessions == $n' <<<"$r" >/dev/null ||
			fail "set-range $range: expected previous $prev and $((i + 1)) draining session(s): $r"
		for name in "${names[@]}"; do
			drv_exchange "$name" 30000 "${seen_of_conn[$name]}"
		done
		name="c$i"
		out="$(drv_open "$name")"
		echo "$name: $out"
		seen_of_conn[$name]="${out#* }"
		names+=("$name")
		in_range "${out##*:}" "$range" || fail "$name got port ${out##*:}, outside the new range $range"
		seen="${out#* }"
		assert_eq "${seen%:*}" "$addr" "address of $name (paired pooling)"
		if [ "$i" -eq 0 ]; then
			r="$(ctl_json show pools)"
			echo "show pools: $(jq -c '.pools[0] | {ports, addresses}' <<<"$r")"
			jq -e --arg a "$addr" --arg r "$range" '.pools[0].ports == $r and
				(.pools[0].addresses[] | select(.address == $a) |
				 .state == "active" and .ports_in_use == 2)' <<<"$r" >/dev/null ||
				fail "show pools: expected range $range and 2 ports in use on $addr (a on the old range, c0)"
			assert_eq "$(ctl_metric "ephemera_nat_ports_in_use{pool=\"default\",address=\"$addr\"}")" 2 \
				"ephemera_nat_ports_in_use of $addr"
		fi
		prev="$range"
	done
	# Four ranges hold sessions: a fifth is refused, nothing changes.
	r="$(ctl_json show config | jq -c '{generation, ports: .pools[0].ports}')"
	ctl_expect 1 "still draining" pool set-range default 33000-33999
	assert_eq "$(ctl_json show config | jq -c '{generation, ports: .pools[0].ports}')" "$r" \
		"generation and range after the refused change"
	drv_exchange a 30000 "${seen_of_conn[a]}"
	drv_close a
	t0="$EPOCHREALTIME"
	poll 10 set_range_4 || fail "the oldest range still holds a port 10 s after its last connection closed"
	waited="$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')"
	echo "range $CONTROL_PORTS drained $waited s after a closed: $(tr -d ' \n' <"$T_DIR/set-range-4.json")"
	# The session of a closed connection stays for tcp-transitory (2 s),
	# its port with it.
	awk -v w="$waited" 'BEGIN {exit !(w >= 1.0)}' ||
		fail "range $CONTROL_PORTS drained $waited s after a closed, before its session's 2 s transitory timeout"
	jq -e '.draining_sessions == 3' "$T_DIR/set-range-4.json" >/dev/null ||
		fail "expected c0, c1, c2 draining: $(cat "$T_DIR/set-range-4.json")"
	out="$(drv_open e)"
	echo "e: $out"
	in_range "${out##*:}" 33000-33999 || fail "e got port ${out##*:}, outside 33000-33999"
	for name in c0 c1 c2; do
		drv_exchange "$name" 30000 "${seen_of_conn[$name]}"
		drv_close "$name"
	done
	drv_close e
	drv quit >/dev/null
	ctl_stop
}

# set_range_4: the fifth range, once the oldest has drained; the answer in
# $T_DIR/set-range-4.json.
set_range_4() {
	ctl --json pool set-range default 33000-33999 >"$T_DIR/set-range-4.json" 2>&1
}

# addr_gone ADDR: ephctl show pools no longer lists ADDR.
addr_gone() {
	ctl --json show pools | jq -e --arg a "$1" 'any(.pools[].addresses[]; .address == $a) | not' \
		>/dev/null
}

# Removing the address h1 leaves as: its open connection keeps working on
# it, new connections leave from another address, and once the connection
# closed the address goes away (and the gateway stops answering ARP for it).
test_remove_address_drains() {
	local out a_in a_seen b_seen x r t0
	ctl_start
	warm_gw
	flows_server 7301
	drv_start eph-h1 7301
	out="$(drv_open a)"
	a_in="${out% *}" a_seen="${out#* }"
	# The address h1 leaves as, from the daemon's sessions.
	x="$(ctl_json show sessions inside "$H1" proto tcp |
		jq -r --arg in "$a_in" '.sessions[] | select(.inside == $in) | .outside')"
	assert_eq "$x" "$a_seen" "outside ip:port of $a_in in show sessions against the server's peer"
	x="${x%:*}"
	in_ns eph-srv arping -c 1 -w 3 -I eth0 "$x" >/dev/null ||
		fail "the gateway does not answer ARP for pool address $x"
	r="$(ctl_json pool remove-address default "$x")"
	echo "remove-address: $(tr -d ' \n' <<<"$r")"
	jq -e --arg x "$x" '.removed == [$x] and .draining == [{"address": $x, "sessions": 1}]' \
		<<<"$r" >/dev/null || fail "remove-address $x: expected it draining with 1 session: $r"
	ctl_json show pools | jq -e --arg x "$x" '.pools[0].addresses[] | select(.address == $x) |
		.state == "draining" and .ports_in_use == 1' >/dev/null ||
		fail "show pools: $x is not draining with 1 port in use: $(ctl --json show pools | jq -c .pools[0].addresses)"
	ctl_json show config | jq -e --arg x "$x" '.pools[0].draining == [$x] and
		(.pools[0].addresses | index($x) | not)' >/dev/null ||
		fail "show config: $x is not listed as draining only"
	out="$(drv_open b)"
	b_seen="${out#* }"
	echo "a: $a_seen, b: $b_seen"
	[ "${b_seen%:*}" != "$x" ] || fail "a new connection from h1 left from the removed address $x"
	[[ "${b_seen%:*}" =~ ^203\.0\.113\.10[0-3]$ ]] || fail "b left from ${b_seen%:*}, not a pool address"
	drv_exchange a 50000 "$a_seen"
	drv_close a
	t0=$SECONDS
	poll 10 addr_gone "$x" || fail "$x is still listed 10 s after its last connection closed"
	echo "$x gone $((SECONDS - t0)) s after a closed"
	ctl_json show config | jq -e --arg x "$x" '.pools[0].draining == [] and
		(.pools[0].addresses | index($x) | not)' >/dev/null ||
		fail "show config still names $x: $(ctl --json show config | jq -c .pools[0])"
	if in_ns eph-srv arping -c 2 -w 3 -I eth0 "$x"; then
		fail "the gateway still answers ARP for $x after it drained"
	fi
	drv_exchange b 20000 "$b_seen"
	drv_close b
	drv quit >/dev/null
	ctl_stop
}

# A pool of 100 ports that warns at 50 %, one worker.
occupancy_conf() {
	without_sections pools <"$E2E_CTL_CONF"
	cat <<-EOF
		pools:
		  - name: small
		    addresses: [203.0.113.100]
		    ports: 40000-40099
		    inside: [192.0.2.0/24]
		    warn-occupancy: 50
		    quarantine-s: 0
	EOF
}

# udp_flows N [TRIES]: N new UDP flows from h1 (the driver), all answered
# from distinct ports of 40000-40099; appends their ports to $T_DIR/ports.
udp_flows() {
	local r
	r="$(drv udp "$1" "${2:-3}")"
	jq -e --argjson n "$1" '.ok == $n and .bad == 0' <<<"$r" >/dev/null ||
		fail "$1 UDP flows: $(jq -c '{ok, unanswered, bad}' <<<"$r")"
	jq -r '.flows[].seen' <<<"$r" >>"$T_DIR/seen"
	[ "$(sort -u "$T_DIR/seen" | wc -l)" -eq "$(wc -l <"$T_DIR/seen")" ] ||
		fail "two flows were given the same outside ip:port"
	! grep -qv '^203\.0\.113\.100:400[0-9][0-9]$' "$T_DIR/seen" ||
		fail "a flow left from outside 203.0.113.100:40000-40099: $(grep -v '^203\.0\.113\.100:400' "$T_DIR/seen" | head -n 1)"
}

occupancy_lines() {
	grep -c "$1" "$T_DAEMON_LOG" || true
}

# One destination filling its 100 ports: one warning at the 50th, none
# before; an alert when full; the 101st flow refused and counted.
test_occupancy_warning() {
	local dst="$SRV:7400" warn full r exh0 exh1
	local m_warn='ephemera_nat_occupancy_warnings_total{pool="small",address="203.0.113.100"}'
	warn="ephemera: pool small worker 0: 203.0.113.100 -> $dst/udp is 50% full (50 of 100 ports)"
	full="ephemera: pool small worker 0: 203.0.113.100 -> $dst/udp has no port left (100 of 100 ports in use)"
	occupancy_conf >"$T_DIR/ephemera.yaml"
	ctl_start
	warm_gw
	flows_server 7400
	drv_start eph-h1 7400
	: >"$T_DIR/seen"
	udp_flows 49
	assert_eq "$(ctl_metric "$m_warn")" 0 "occupancy warnings after 49 flows"
	assert_eq "$(occupancy_lines '% full')" 0 "warning lines after 49 flows"
	udp_flows 1
	poll 5 grep -qF "$warn" "$T_DAEMON_LOG" || fail "no warning '$warn' after the 50th flow: $(grep -m1 'full' "$T_DAEMON_LOG")"
	grep -F 'full' "$T_DAEMON_LOG"
	assert_eq "$(occupancy_lines '% full')" 1 "warning lines after 50 flows"
	assert_eq "$(ctl_metric "$m_warn")" 1 "occupancy warnings after 50 flows"
	assert_eq "$(ctl_metric 'ephemera_nat_alerts_total{kind="occupancy"}')" 1 "occupancy alerts"
	udp_flows 50
	poll 5 grep -qF "$full" "$T_DAEMON_LOG" || fail "no alert '$full' after the 100th flow"
	grep -F 'port' "$T_DAEMON_LOG" | grep -F "$dst"
	assert_eq "$(occupancy_lines 'has no port left')" 1 "exhaustion lines after 100 flows"
	assert_eq "$(occupancy_lines '% full')" 1 "warning lines after 100 flows"
	assert_eq "$(ctl_metric 'ephemera_nat_alerts_total{kind="exhausted"}')" 1 "exhaustion alerts"
	assert_eq "$(sort -u "$T_DIR/seen" | wc -l)" 100 "outside ports given to 100 flows"
	# Workers republish their busiest destinations once a second.
	poll 3 dest_full "$dst" ||
		fail "show destinations: $(ctl_json show destinations | jq -c '.destinations[0]')"
	# The 101st: one datagram, no answer, one nat_exhausted drop.
	exh0="$(ctl_drop nat_exhausted)"
	r="$(drv udp 1 1)"
	assert_eq "$(jq -c '[.ok, .unanswered]' <<<"$r")" "[0,1]" "the 101st flow (answered, unanswered)"
	poll 3 drop_above nat_exhausted "$exh0" || true
	sleep 0.3
	exh1="$(ctl_drop nat_exhausted)"
	echo "nat_exhausted: $exh0 -> $exh1"
	assert_eq "$((exh1 - exh0))" 1 "nat_exhausted drops for the 101st flow"
	ctl_json show pools | jq -e '.pools[0].addresses[0] | .ports_in_use == 100 and .refused == 1' \
		>/dev/null || fail "show pools: $(ctl --json show pools | jq -c .pools[0].addresses)"
	assert_eq "$(occupancy_lines 'has no port left')" 1 "exhaustion lines after the refused flow"
	drv quit >/dev/null
	ctl_stop
}

# The pass's pool with one log line per session, to a file of the test.
session_log_conf() {
	without_sections pools <"$E2E_CTL_CONF"
	cat <<-EOF
		pools:
		  - name: default
		    addresses: [203.0.113.100-203.0.113.103]
		    ports: $CONTROL_PORTS
		    inside: [192.0.2.0/24]
		    log: sessions
		nat-log:
		  file: $T_DIR/nat.jsonl
	EOF
}

# dest_full DEST: show destinations puts DEST first, all 100 ports live.
dest_full() {
	ctl_json show destinations | jq -e --arg d "$1" '.destinations[0] | .remote == $d and
		.proto == "udp" and .live == 100 and .occupancy_pct == 100' >/dev/null
}

# deletes_ge N: the NAT log holds at least N session-delete lines.
deletes_ge() {
	[ "$(grep -c '"event":"session-delete"' "$T_DIR/nat.jsonl" 2>/dev/null || true)" -ge "$1" ]
}

# UDP and TCP flows from known ports, then `ephctl sessions clear all`: the
# log has one session-create per flow (inside = the client socket, outside
# = what the server saw, remote = the server) and one session-delete
# "cleared", nothing else.
test_session_log() {
	local n_udp=20 n_tcp=10 r
	session_log_conf >"$T_DIR/ephemera.yaml"
	ctl_start
	warm_gw
	flows_server 7500
	drv_start eph-h1 7500
	r="$(drv udp "$n_udp" 3 41000)"
	printf '%s\n' "$r" >"$T_DIR/udp.json"
	jq -e --argjson n "$n_udp" '.ok == $n and .flows[0].inside == "'"$H1"':41000"' <<<"$r" >/dev/null ||
		fail "UDP flows: $(jq -c '{ok, unanswered, bad, first: .flows[0]}' <<<"$r")"
	r="$(drv tcp "$n_tcp" 42000)"
	printf '%s\n' "$r" >"$T_DIR/tcp.json"
	jq -e --argjson n "$n_tcp" '.ok == $n' <<<"$r" >/dev/null ||
		fail "TCP connections: $(jq -c '{ok, failed, errors}' <<<"$r")"
	assert_eq "$(ctl_json show sessions | jq .matched)" $((n_udp + n_tcp)) "sessions before the clear"
	r="$(ctl_json sessions clear all)"
	assert_eq "$(jq .cleared <<<"$r")" $((n_udp + n_tcp)) "sessions cleared"
	assert_eq "$(ctl_json show sessions | jq .matched)" 0 "sessions after the clear"
	poll 5 deletes_ge $((n_udp + n_tcp)) ||
		fail "the NAT log has $(grep -c 'session-delete' "$T_DIR/nat.jsonl" || true) session-delete lines, expected $((n_udp + n_tcp))"
	# The TCP connections lost their sessions: end them with one RST each way
	# (dropped at the gateway), not with FINs retransmitted into the next
	# test's daemon.
	in_ns eph-srv ss -tnK sport = :7500 >/dev/null
	in_ns eph-h1 ss -tnK dport = :7500 >/dev/null
	drv quit >/dev/null
	flows_server_stop
	ctl_stop	# and nothing is logged at shutdown: no session is left
	head -n 2 "$T_DIR/nat.jsonl"
	python3 -I "$E2E_DIR/ctl_flows.py" natlog --log "$T_DIR/nat.jsonl" \
		--flows "$T_DIR/udp.json" --flows "$T_DIR/tcp.json" --remote "$SRV:7500" \
		--pool default --reason cleared --server-report "$FS_REPORT" >"$T_DIR/natlog.json" ||
		fail "NAT log: $(jq -c .problems "$T_DIR/natlog.json" 2>/dev/null || cat "$T_DIR/natlog.json")"
	cat "$T_DIR/natlog.json"
}

port_block_conf() {
	without_sections pools <"$E2E_CTL_CONF"
	cat <<-EOF
		pools:
		  - name: blocks
		    addresses: [203.0.113.100]
		    ports: 10000-10255
		    inside: [192.0.2.0/24]
		    log: port-blocks
		    port-block-size: 16
		    max-blocks-per-host: 4
		nat-log:
		  file: $T_DIR/nat.jsonl
	EOF
}

# block_lines_ge EVENT N: the NAT log holds at least N lines of EVENT.
block_lines_ge() {
	[ "$(grep -c "\"event\":\"$1\"" "$T_DIR/nat.jsonl" 2>/dev/null || true)" -ge "$2" ]
}

# RFC 7422 port blocks: 40 UDP flows from eph-h1 take three blocks of 16
# (16 + 16 + 8), 5 from eph-h2 one more; the log holds one block-alloc per
# block and no session line, every port the server saw lies in a block
# logged for that host, and `sessions clear all` gives every block back
# (one block-release each, same ranges).
test_port_block_log() {
	local r1 r2 check
	port_block_conf >"$T_DIR/ephemera.yaml"
	ctl_start
	warm_gw
	flows_server 7600
	drv_start eph-h1 7600
	r1="$(drv udp 40 3 43000)"
	printf '%s\n' "$r1" >"$T_DIR/h1.json"
	assert_eq "$(jq .ok <<<"$r1")" 40 "UDP flows answered from eph-h1"
	drv quit >/dev/null
	rm -rf "$T_DIR/driver"	# the next driver numbers its commands from 1 again
	drv_start eph-h2 7600
	r2="$(drv udp 5 3 44000)"
	printf '%s\n' "$r2" >"$T_DIR/h2.json"
	assert_eq "$(jq .ok <<<"$r2")" 5 "UDP flows answered from eph-h2"
	poll 5 block_lines_ge block-alloc 4 ||
		fail "the NAT log has $(grep -c block-alloc "$T_DIR/nat.jsonl" || true) block-alloc lines, expected 4"
	assert_eq "$(ctl_json sessions clear all | jq .cleared)" 45 "sessions cleared"
	poll 5 block_lines_ge block-release 4 ||
		fail "the NAT log has $(grep -c block-release "$T_DIR/nat.jsonl" || true) block-release lines, expected 4"
	drv quit >/dev/null
	flows_server_stop
	ctl_stop
	cat "$T_DIR/nat.jsonl"
	check="$(python3 -I - "$T_DIR/nat.jsonl" "$T_DIR/h1.json" "$T_DIR/h2.json" "$H1" "$(host_addr eph-h2)" <<-'PY'
		import json, sys
		log = [json.loads(l) for l in open(sys.argv[1])]
		problems = []
		if any(e["event"].startswith("session") for e in log):
		    problems.append("session lines in a port-blocks log")
		blocks = {}
		for e in log:
		    lo, hi = (int(x) for x in e["ports"].split("-"))
		    if hi - lo != 15 or (lo - 10000) % 16:
		        problems.append("block %s is not one aligned block of 16" % e["ports"])
		    key = (e["inside"], e["outside"], lo, hi)
		    blocks.setdefault(key, []).append(e["event"])
		for key, evs in blocks.items():
		    if evs != ["block-alloc", "block-release"]:
		        problems.append("block %s: events %s" % (key, evs))
		for path, host, want in ((sys.argv[2], sys.argv[4], 3), (sys.argv[3], sys.argv[5], 1)):
		    mine = [k for k in blocks if k[0] == host]
		    if len(mine) != want:
		        problems.append("%s: %d blocks, expected %d" % (host, len(mine), want))
		    for f in json.load(open(path))["flows"]:
		        addr, port = f["seen"].rsplit(":", 1)
		        if not any(k[1] == addr and k[2] <= int(port) <= k[3] for k in mine):
		            problems.append("%s seen as %s: in no block of %s" % (f["inside"], f["seen"], host))
		print(json.dumps({"blocks": len(blocks), "problems": problems[:5]}))
		sys.exit(1 if problems else 0)
	PY
	)" || fail "port-block log: $check"
	echo "$check"
}

# as_user USER ARGS...: ephctl ARGS as USER (its own groups only); sets
# AS_OUT and AS_RC.
as_user() {
	local user="$1"
	shift
	AS_RC=0
	if [ "$user" = nobody ]; then
		AS_OUT="$(setpriv --reuid=65534 --regid=65534 --clear-groups "$EPHCTL" -s "$E2E_CTL_SOCK" "$@" 2>&1)" || AS_RC=$?
	else
		AS_OUT="$(setpriv --reuid="$user" --regid="$user" --init-groups "$EPHCTL" -s "$E2E_CTL_SOCK" "$@" 2>&1)" || AS_RC=$?
	fi
	echo "as $user: ephctl $* -> $AS_RC: $(head -n 1 <<<"$AS_OUT")"
}

# The socket is root's alone (0600) unless control.group names a group:
# then its members use ephctl, and others still cannot.
test_nonroot_refused() {
	ctl_start
	assert_eq "$(stat -c '%F %a %U %G' "$E2E_CTL_SOCK")" "socket 600 root root" "control socket"
	as_user nobody show stats
	assert_eq "$AS_RC" 3 "exit status of ephctl as nobody"
	assert_contains "$AS_OUT" "Permission denied" "ephctl as nobody"
	ctl_ok show stats >/dev/null
	ctl_stop

	userdel "$CTL_USER" 2>/dev/null || true	# left by an interrupted run
	groupdel "$CTL_USER" 2>/dev/null || true
	groupadd --system "$CTL_USER" || fail "groupadd $CTL_USER failed"
	defer "groupdel $CTL_USER"
	useradd --system --no-create-home --gid "$CTL_USER" --shell /usr/sbin/nologin "$CTL_USER" ||
		fail "useradd $CTL_USER failed"
	defer "userdel $CTL_USER"
	sed "s/^  socket: .*/&\n  group: $CTL_USER/" "$E2E_CTL_CONF" >"$T_DIR/group.yaml"
	ctl_start "$T_DIR/group.yaml"
	assert_eq "$(stat -c '%F %a %U %G' "$E2E_CTL_SOCK")" "socket 660 root $CTL_USER" \
		"control socket with control.group: $CTL_USER"
	as_user "$CTL_USER" show stats
	assert_eq "$AS_RC" 0 "exit status of ephctl as $CTL_USER: $AS_OUT"
	assert_contains "$AS_OUT" "uptime" "ephctl show stats as $CTL_USER"
	as_user "$CTL_USER" show sessions
	assert_eq "$AS_RC" 0 "exit status of ephctl show sessions as $CTL_USER: $AS_OUT"
	as_user nobody show stats
	assert_eq "$AS_RC" 3 "exit status of ephctl as nobody with a group socket"
	assert_contains "$AS_OUT" "Permission denied" "ephctl as nobody"
	ctl_stop
}

# 300 hostile clients of the control socket at once (tests/e2e/ctl_flood.py)
# while a UDP stream crosses the gateway: every datagram comes back, every
# client gets its error code, the daemon answers at once afterwards.
test_malformed_flood() {
	local drops0 drops1 err0 err1 spid rc=0 t0 ms
	ctl_start
	warm_gw
	flows_server 7600
	drops0="$(ctl_json show stats | jq -c .drops)"
	err0="$(ctl_metric ephemera_control_errors_total)"
	# 2000 datagrams at 200 a second: 10 s, longer than the flood.
	py_ns eph-h1 "$E2E_DIR/ctl_flows.py" stream --server "$SRV" --port 7600 --source "$H1" \
		--count 2000 --rate 200 --started "$T_DIR/stream-started" \
		>"$T_DIR/stream.json" 2>"$T_DIR/stream.err" </dev/null &
	spid=$!
	defer "kill $spid"
	poll 15 test -e "$T_DIR/stream-started" || fail "the UDP stream did not start: $(cat "$T_DIR/stream.err")"
	# 256: the clients the daemon serves at once (EPH_CTL_DEFAULT_MAX_CLIENTS).
	python3 -I "$E2E_DIR/ctl_flood.py" --socket "$E2E_CTL_SOCK" --clients 300 \
		--max-clients 256 --stall 3 >"$T_DIR/flood.json" 2>"$T_DIR/flood.err" || rc=$?
	jq -c '{seconds, answered, busy, busy_expected, wrong, codes: [.kinds[] | .codes]}' \
		"$T_DIR/flood.json" 2>/dev/null || cat "$T_DIR/flood.json" "$T_DIR/flood.err"
	[ "$rc" -eq 0 ] || fail "control socket flood: $(jq -c '{connect_failures, busy, busy_expected, errors: [.kinds[] | .errors[]][:3]}' "$T_DIR/flood.json" 2>/dev/null || tail -n 2 "$T_DIR/flood.err")"
	kill -0 "$spid" 2>/dev/null || fail "the UDP stream ended before the flood did: no overlap to judge"
	t0="$EPOCHREALTIME"
	ctl_ok --timeout 2 show stats >/dev/null
	ms="$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%d", (b - a) * 1000}')"
	echo "show stats answered in $ms ms after the flood"
	[ "$ms" -lt 1000 ] || fail "show stats took $ms ms after the flood"
	wait "$spid" || fail "the UDP stream failed: $(cat "$T_DIR/stream.err")"
	cat "$T_DIR/stream.json"
	jq -e '.echoed == 2000 and .duplicates == 0 and .bad == 0' "$T_DIR/stream.json" >/dev/null ||
		fail "UDP stream: $(jq -c '{sent, echoed, duplicates, bad, missing}' "$T_DIR/stream.json")"
	flows_server_stop
	assert_eq "$(jq .udp_datagrams "$FS_REPORT")" 2000 "datagrams the server received"
	drops1="$(ctl_json show stats | jq -c .drops)"
	echo "drops: $drops0 -> $drops1"
	assert_eq "$drops1" "$drops0" "the daemon's drop counters"
	# The daemon counted every error answer the clients got, no more.
	err1="$(ctl_metric ephemera_control_errors_total)"
	assert_eq "$((err1 - err0))" \
		"$(jq '[.kinds[].codes | to_entries[] | select(.key != "ok") | .value] | add' "$T_DIR/flood.json")" \
		"ephemera_control_errors_total against the error answers of the flood"
	ctl_stop
}

# Two pools, so that an address can belong to the other one.
two_pool_conf() {
	without_sections pools <"$E2E_CTL_CONF"
	cat <<-EOF
		pools:
		  - name: default
		    addresses: [203.0.113.100-203.0.113.103]
		    ports: $CONTROL_PORTS
		    inside: [192.0.2.0/25]
		  - name: other
		    addresses: [203.0.113.120]
		    inside: [192.0.2.128/25]
	EOF
}

# Bad command lines stop in ephctl (exit 2, nothing sent, the argument
# named); requests the daemon refuses exit 1 with its reason. None of them
# changes anything.
test_ephctl_bad_args() {
	local conf0 req0 req1 out rc
	two_pool_conf >"$T_DIR/ephemera.yaml"
	ctl_start
	conf0="$(ctl_json show config | jq -c '{generation, last_change, pools, timeouts}')"
	req0="$(ctl_metric ephemera_control_requests_total)"
	ctl_expect 2 '"frobnicate"' frobnicate
	ctl_expect 2 'POOL' pool add-address
	ctl_expect 2 'ADDRESS' pool add-address default
	ctl_expect 2 '"203.0.113"' pool add-address default 203.0.113
	ctl_expect 2 '"9-3"' pool set-range default 9-3
	ctl_expect 2 '"1-65536"' pool set-range default 1-65536
	ctl_expect 2 '"abc"' timeouts set udp abc
	ctl_expect 2 '"bogus"' timeouts set bogus 5
	ctl_expect 2 '"colour"' show sessions colour red
	ctl_expect 2 '"70000"' show sessions port 70000
	ctl_expect 2 '"all"' sessions clear
	ctl_expect 2 '--top' show destinations --top 0
	req1="$(ctl_metric ephemera_control_requests_total)"
	# The second metrics request is the only one the daemon got in between.
	assert_eq "$((req1 - req0))" 1 "requests the daemon received for bad command lines"
	ctl_expect 1 'args.pool: no pool named "nope"' pool add-address nope 203.0.113.105
	ctl_expect 1 'args.address: 203.0.113.100 is already in pool default' \
		pool add-address default 203.0.113.100
	ctl_expect 1 'args.address: 203.0.113.150 is not an address of pool default' \
		pool remove-address default 203.0.113.150
	ctl_expect 1 'args.address: 203.0.113.120 is not an address of pool default' \
		pool remove-address default 203.0.113.120
	ctl_expect 1 "args.ports: pool default already uses $CONTROL_PORTS" \
		pool set-range default "$CONTROL_PORTS"
	rc=0
	out="$(ctl pool add-address default 203.0.113.120 2>&1)" || rc=$?
	echo "ephctl pool add-address default 203.0.113.120 -> $rc: $out"
	assert_eq "$rc" 1 "exit status of adding the address of pool other to default"
	assert_eq "$(ctl_json show config | jq -c '{generation, last_change, pools, timeouts}')" \
		"$conf0" "the configuration after refused requests"
	# The message names the argument and the pool that has the address.
	assert_match "$out" '^ephctl: args\.address: 203\.0\.113\.120 .*pool other' \
		"adding the address of pool other to default"
	ctl_stop
}

# A TCP port on 127.0.0.1 nothing listens on.
free_port() {
	local p
	for ((p = 19469; p < 19569; p++)); do
		[ -n "$(ss -Hltn "sport = :$p")" ] || {
			echo "$p"
			return 0
		}
	done
	fail "no free port in 19469-19568"
}

# control.metrics-http: Prometheus text on 127.0.0.1 only.
test_metrics_http() {
	local port url code ctype listen bad a srv_pid h1_pid
	port="$(free_port)"
	url="http://127.0.0.1:$port"
	sed "s/^  socket: .*/&\n  metrics-http: 127.0.0.1:$port/" "$E2E_CTL_CONF" >"$T_DIR/ephemera.yaml"
	ctl_start
	warm_up eph-h1 eph-h2	# pings through the NAT: ports in use, packets counted
	code="$(curl -sS --max-time 5 -D "$T_DIR/headers" -o "$T_DIR/metrics.txt" -w '%{http_code}' "$url/metrics")" ||
		fail "curl $url/metrics failed ($?)"
	assert_eq "$code" 200 "HTTP status of /metrics"
	ctype="$(grep -i '^content-type:' "$T_DIR/headers" | tr -d '\r')"
	echo "$ctype"
	assert_contains "$ctype" "text/plain; version=0.0.4" "Content-Type of /metrics"
	for a in 203.0.113.100 203.0.113.101 203.0.113.102 203.0.113.103; do
		grep -qE "^ephemera_nat_ports_in_use\{pool=\"default\",address=\"$a\"\} [0-9]+$" \
			"$T_DIR/metrics.txt" || fail "/metrics lacks ephemera_nat_ports_in_use of $a"
	done
	# The addresses h1 and h2 pinged from each hold a port.
	for a in $(ctl_json show sessions proto icmp | jq -r '.sessions[].outside' | cut -d: -f1 | sort -u); do
		grep -qE "^ephemera_nat_ports_in_use\{pool=\"default\",address=\"$a\"\} [1-9]" \
			"$T_DIR/metrics.txt" || fail "/metrics: no port in use on $a, which has a session"
	done
	grep -E '^ephemera_worker_(rx|tx)_packets_total\{worker="0"\} ' "$T_DIR/metrics.txt"
	grep -qE '^ephemera_worker_rx_packets_total\{worker="0"\} [1-9]' "$T_DIR/metrics.txt" ||
		fail "/metrics: worker 0 received nothing"
	grep -qE '^ephemera_worker_tx_packets_total\{worker="0"\} [1-9]' "$T_DIR/metrics.txt" ||
		fail "/metrics: worker 0 sent nothing"
	# Exposition format 0.0.4: comments, then samples "name{labels} value".
	bad="$(grep -vE '^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$|^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? -?([0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|[-+]Inf)$' \
		"$T_DIR/metrics.txt" || true)"
	[ -z "$bad" ] || fail "/metrics lines not in the text format: $(head -n 3 <<<"$bad" | tr '\n' '|')"
	assert_eq "$(grep '^# TYPE' "$T_DIR/metrics.txt")" "$(ctl_ok metrics | grep '^# TYPE')" \
		"metric families of /metrics and ephctl metrics"
	code="$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$url/nope")" || true
	assert_eq "$code" 404 "HTTP status of /nope"
	# Only 127.0.0.1 listens: nothing on the test bed's addresses.
	listen="$(ss -Hltnup | grep "pid=$EPH_PID," | awk '{print $1, $5}')"
	echo "daemon listens on: $listen"
	assert_eq "$listen" "tcp 127.0.0.1:$port" "the daemon's listening sockets"
	in_ns eph-srv curl -sS --max-time 2 -o /dev/null "http://$GW_OUT:$port/metrics" 2>/dev/null &
	srv_pid=$!
	in_ns eph-h1 curl -sS --max-time 2 -o /dev/null "http://$GW_IN:$port/metrics" 2>/dev/null &
	h1_pid=$!
	if wait "$srv_pid"; then
		fail "the server fetched /metrics from $GW_OUT"
	fi
	if wait "$h1_pid"; then
		fail "h1 fetched /metrics from $GW_IN"
	fi
	ctl_stop
}

# The running configuration as JSON, for before/after comparisons.
conf_state() {
	ctl_json show config | jq -c .
}

# reload_fails REGEX...: `ephctl reload` exits 1 with a message matching
# every REGEX; nothing changed.
reload_fails() {
	local out rc=0 re
	out="$(ctl reload 2>&1)" || rc=$?
	echo "reload -> $rc: $out"
	assert_eq "$rc" 1 "exit status of ephctl reload"
	for re in "$@"; do
		assert_match "$out" "$re" "ephctl reload"
	done
	assert_eq "$(conf_state)" "$CONF0" "the running configuration after the refused reload"
}

# A reload is all or nothing: a file changing a pool and a setting that
# needs a restart, or a file with an error, changes nothing, and says why.
test_reload_refused() {
	local line gen r
	ctl_start
	cp "$T_CONF" "$T_DIR/good.yaml"
	CONF0="$(conf_state)"
	sed -e 's/^    addresses: .*/    addresses: [203.0.113.100-203.0.113.105]/' \
		-e 's/^  lcores: .*/  lcores: "0@0,1@1,2@1"/' "$T_DIR/good.yaml" >"$T_CONF"
	reload_fails 'eal\.lcores' 'need a restart'
	sed -e 's/^    addresses: .*/    addresses: [203.0.113.100-203.0.113.105]/' \
		-e 's/iface=eph-in"/iface=eph-in,qpairs=1"/' "$T_DIR/good.yaml" >"$T_CONF"
	reload_fails 'ports\[inside\]\.device' 'need a restart'
	# YAML syntax: FILE:LINE:COL of the error.
	sed 's/^    addresses: .*/    addresses: [203.0.113.100-203.0.113.105/' "$T_DIR/good.yaml" >"$T_CONF"
	reload_fails "^ephctl: $T_CONF:[0-9]+:[0-9]+: error: invalid YAML"
	# A bad value: the key and its line.
	sed 's/^    ports: .*/    ports: 9-3/' "$T_DIR/good.yaml" >"$T_CONF"
	line="$(grep -n '^    ports: 9-3$' "$T_CONF" | cut -d: -f1)"
	reload_fails "$T_CONF:$line:[0-9]+: error: pools\\[0\\]\\.ports: "
	# SIGHUP with the broken file: logged, nothing changed, still running.
	kill -HUP "$EPH_PID"
	poll 5 grep -q "reload refused" "$T_DAEMON_LOG" || fail "no 'reload refused' in the daemon's log after SIGHUP"
	grep "reload refused" "$T_DAEMON_LOG"
	eph_alive || fail "the daemon died on SIGHUP with a bad file"
	assert_eq "$(conf_state)" "$CONF0" "the running configuration after SIGHUP with a bad file"
	# The pool change alone goes through.
	sed 's/^    addresses: .*/    addresses: [203.0.113.100-203.0.113.105]/' "$T_DIR/good.yaml" >"$T_CONF"
	gen="$(jq .generation <<<"$CONF0")"
	r="$(ctl_json reload)"
	echo "reload: $(jq -c . <<<"$r")"
	jq -e --argjson g "$gen" '.generation == $g + 1 and
		any(.changes[]; test("203\\.0\\.113\\.105"))' <<<"$r" >/dev/null ||
		fail "the pool change alone was not applied: $r"
	ctl_json show config | jq -e '.pools[0].addresses | length == 6' >/dev/null ||
		fail "show config: not 6 addresses after the good reload"
	ctl_stop
}

#!/usr/bin/env bash
# Soak: the NAT under steady churn for MINUTES on the namespace test bed,
# then proof that it gave everything back.
#
#   sudo scripts/soak.sh [MINUTES]     (default 10)
#
# The daemon runs with 2 workers and short timeouts (UDP, TCP transitory,
# ICMP and quarantine 5 s, TCP established 20 s) and a session log. Every
# inside host opens TCP connections and UDP flows to a flows.py server
# without pause (tests/e2e/flows.py); every few seconds the pool changes
# (ephctl pool add-address / remove-address / set-range), the file is edited
# and reloaded (ephctl reload, or SIGHUP with the NAT log rotated), or all
# sessions are cleared; scapy sends malformed frames from an inside host and
# from the server (tests/e2e/soak.py). A first phase of a sixth of the time
# (30 s at most) warms the daemon up; once its sessions are gone its DPDK
# heap and RSS are taken as the reference.
#
# After the last phase and the timeouts, these must hold, or the exit
# status is 1: sessions 0, allocator destinations 0, ports in use 0 on every
# pool address, allocator lost and bad releases 0 all along, DPDK heap bytes
# and RSS within tolerance of the reference, every NAT log line valid JSON
# (and one delete per create unless the log lost events), traffic from every
# host still answered, every ephctl command answered (refusals such as "still
# draining" are counted, not failures), and a clean exit on SIGTERM.
#
# Environment:
#   EPH_BIN=path              daemon binary (default build/ephemera)
#   EPH_INSIDE_HOSTS=N        inside hosts (default 4)
#   EPH_SOAK_WORKERS=N        worker lcores (default 2)
#   EPH_SOAK_CHANGE_S=S       seconds between live changes (default 3)
#   EPH_SOAK_MALFORMED_RATE=N malformed frames per second per sender (default 40)
#   EPH_SOAK_HEAP_TOL_KB=N    heap growth allowed over the reference (default 512)
#   EPH_SOAK_RSS_TOL_KB=N     RSS growth allowed over the reference (default 8192)
#   EPH_SOAK_LOGDIR=dir       where logs go (default a new /tmp/eph-soak.XXXXXX)
#   EPH_KEEP=1                leave the test bed up afterwards
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

MINUTES="${1:-10}"
WORKERS="${EPH_SOAK_WORKERS:-2}"
CHANGE_S="${EPH_SOAK_CHANGE_S:-3}"
MAL_RATE="${EPH_SOAK_MALFORMED_RATE:-40}"
HEAP_TOL_KB="${EPH_SOAK_HEAP_TOL_KB:-512}"
RSS_TOL_KB="${EPH_SOAK_RSS_TOL_KB:-8192}"
EPHCTL="$EPH_ROOT/build/ephctl"
E2E="$EPH_ROOT/tests/e2e"
SRV=203.0.113.10
SRV_PORT=7000
POOL="203.0.113.100-203.0.113.103"
EXTRA_ADDR=203.0.113.104	# added and removed with ephctl
FILE_ADDR=203.0.113.105		# added and removed by editing the file
RANGES=(1024-65535 20000-39999 40000-59999)
TIMEOUT_S=5			# UDP, TCP transitory, ICMP, quarantine
TCP_EST_S=20
SOCK=/run/ephemera-soak/ephemera.sock

DIR=""
CONF=""
CHECKS_FAILED=0
declare -A ACTIONS=() REFUSED=()
ACTION_FAILS=0
PHASE_PIDS=()

check() {	# NAME OK(0/1) DETAIL
	if [ "$2" = 0 ]; then
		printf '  ok    %-28s %s\n' "$1" "$3"
	else
		printf '  FAIL  %-28s %s\n' "$1" "$3"
		CHECKS_FAILED=$((CHECKS_FAILED + 1))
	fi
}

# A python3 that has scapy (Debian's; a pyenv or venv python may not).
scapy_python() {
	local py
	for py in python3 /usr/bin/python3; do
		if "$py" -c 'import scapy' 2>/dev/null; then
			command -v "$py"
			return 0
		fi
	done
	eph_die "no python3 with scapy: run scripts/deps.sh (python3-scapy)"
}

ctl() {
	"$EPHCTL" -s "$SOCK" "$@"
}

tm_sample() {
	python3 -I "$E2E/soak.py" sample --pid "$EPH_PID" --prefix "$EPH_PREFIX"
}

# The configuration: conf/ephemera.yaml with WORKERS workers, the soak's
# pool, timeouts and session log, and its own control socket.
write_conf() {
	local lc="0@0" i cpus
	cpus="$(nproc)"
	for ((i = 1; i <= WORKERS; i++)); do
		lc+=",$i@$((cpus > i ? i : cpus - 1))"
	done
	awk '/^[A-Za-z_-]+:/ { skip = ($1 == "pools:" || $1 == "timeouts:" || $1 == "control:") } !skip' \
		"$EPH_ROOT/conf/ephemera.yaml" |
		sed -e "s/^  lcores: .*/  lcores: \"$lc\"/" \
			-e "s/\(iface=eph-[a-z]*\)\"/\1,qpairs=$WORKERS\"/"
	[ "$WORKERS" -lt 3 ] || printf '\ndataplane:\n  mbufs: 32767\n'
	cat <<-EOF

		control:
		  socket: $SOCK
		pools:
		  - name: default
		    addresses: [$POOL]
		    ports: ${RANGES[0]}
		    inside: [192.0.2.0/24]
		    quarantine-s: $TIMEOUT_S
		    log: sessions
		nat-log:
		  file: $DIR/nat.jsonl
		timeouts:
		  udp: $TIMEOUT_S
		  tcp-established: $TCP_EST_S
		  tcp-transitory: $TIMEOUT_S
		  icmp: $TIMEOUT_S
	EOF
}

# ---- load ------------------------------------------------------------------

# churn NS STOPFILE OUT: flows.py clients one after the other from NS until
# STOPFILE exists; one JSON report line each in OUT.
churn() {
	local ns="$1" stop="$2" out="$3" addr="192.0.2.$((10 + ${1#eph-h}))" pid=""
	trap 'kill $pid 2>/dev/null; exit 0' TERM
	while [ ! -e "$stop" ]; do
		ip netns exec "$ns" timeout 30 python3 -I "$E2E/flows.py" client --server "$SRV" \
			--port "$SRV_PORT" --source "$addr" --tcp 25 --udp 25 --timeout 6 \
			>>"$out" 2>>"$out.err" </dev/null &
		pid=$!
		wait "$pid" || echo '{"client_failed": 1}' >>"$out"
		sleep 0.2
	done
}

# phase_start NAME: churn from every inside host, malformed frames from
# eph-h2 and from the server, all until phase_stop.
phase_start() {
	local name="$1" h py gw_in_mac gw_out_mac
	local -a pool_args=()
	PHASE="$DIR/$name"
	mkdir -p "$PHASE"
	rm -f "$PHASE/stop"
	PHASE_PIDS=()
	for h in $(ip netns list | awk '$1 ~ /^eph-h[0-9]+$/ {print $1}' | sort -V); do
		churn "$h" "$PHASE/stop" "$PHASE/flows.$h.jsonl" &
		PHASE_PIDS+=($!)
		EPH_CLEANUP_PIDS+=($!)
	done
	py="$(scapy_python)"
	gw_in_mac="$(cat /sys/class/net/eph-in/address)"
	gw_out_mac="$(cat /sys/class/net/eph-out/address)"
	for a in 203.0.113.100 203.0.113.101 203.0.113.102 203.0.113.103 "$EXTRA_ADDR" "$FILE_ADDR"; do
		pool_args+=(--pool "$a")
	done
	ip netns exec eph-h2 "$py" -I "$E2E/soak.py" malformed --side inside \
		--dst-mac "$gw_in_mac" --src 192.0.2.12 --peer "$SRV" --gw 192.0.2.1 \
		--rate "$MAL_RATE" --seed "$RANDOM" --stop "$PHASE/stop" \
		--report "$PHASE/malformed-inside.json" >"$PHASE/malformed-inside.log" 2>&1 </dev/null &
	PHASE_PIDS+=($!)
	EPH_CLEANUP_PIDS+=($!)
	ip netns exec eph-srv "$py" -I "$E2E/soak.py" malformed --side outside \
		--dst-mac "$gw_out_mac" --src "$SRV" --gw 203.0.113.1 "${pool_args[@]}" \
		--rate "$MAL_RATE" --seed "$RANDOM" --stop "$PHASE/stop" \
		--report "$PHASE/malformed-outside.json" >"$PHASE/malformed-outside.log" 2>&1 </dev/null &
	PHASE_PIDS+=($!)
	EPH_CLEANUP_PIDS+=($!)
	python3 -I "$E2E/soak.py" monitor --pid "$EPH_PID" --prefix "$EPH_PREFIX" \
		--stop "$PHASE/stop" --report "$PHASE/monitor.json" >"$PHASE/monitor.log" 2>&1 &
	PHASE_PIDS+=($!)
	EPH_CLEANUP_PIDS+=($!)
}

phase_stop() {
	local pid
	touch "$PHASE/stop"
	for pid in "${PHASE_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
}

# ---- live changes ------------------------------------------------------------

# act NAME CMD...: one change; exit 1 (the daemon refused) is counted by
# its reason, anything else but 0 is a failure.
act() {
	local name="$1" out rc=0
	shift
	out="$("$@" 2>&1)" || rc=$?
	printf '%s %s -> %s: %s\n' "$(date +%T)" "$name" "$rc" "$(head -n 1 <<<"$out")" >>"$DIR/changes.log"
	ACTIONS[$name]=$((${ACTIONS[$name]:-0} + 1))
	case "$rc" in
	0) ;;
	1)
		local why
		why="$(sed -E 's/^ephctl: //; s/[0-9]+(\.[0-9]+){3}(:[0-9]+)?/ADDR/g; s/[0-9]+-[0-9]+/RANGE/g' <<<"$out" | head -n 1 | cut -c1-80)"
		REFUSED[$why]=$((${REFUSED[$why]:-0} + 1))
		;;
	*) ACTION_FAILS=$((ACTION_FAILS + 1)) ;;
	esac
}

# The file's own variations: the UDP timeout and one more address.
edit_conf() {
	if grep -q "^  udp: $TIMEOUT_S\$" "$CONF"; then
		sed -i -e "s/^  udp: .*/  udp: $((TIMEOUT_S + 1))/" \
			-e "s/^    addresses: .*/    addresses: [$POOL, $FILE_ADDR]/" "$CONF"
	else
		sed -i -e "s/^  udp: .*/  udp: $TIMEOUT_S/" \
			-e "s/^    addresses: .*/    addresses: [$POOL]/" "$CONF"
	fi
}

# hup: rotate the NAT log, edit the file, SIGHUP (reload + reopen the log).
hup() {
	local n=$((${ACTIONS[sighup]:-0} + 1))
	mv "$DIR/nat.jsonl" "$DIR/nat.jsonl.$n" 2>/dev/null || true
	edit_conf
	kill -HUP "$EPH_PID"
}

# change I: the I-th live change of the cycle.
change() {
	local i="$1"
	case $((i % 8)) in
	0) act add-address ctl pool add-address default "$EXTRA_ADDR" ;;
	1) act set-range ctl pool set-range default "${RANGES[(i / 8) % 2 + 1]}" ;;
	2) act remove-address ctl pool remove-address default "$EXTRA_ADDR" ;;
	3) act sessions-clear ctl sessions clear all ;;
	4)
		edit_conf
		act reload ctl reload
		;;
	5) act set-range ctl pool set-range default "${RANGES[(i / 8 + 1) % 2 + 1]}" ;;
	6) act sighup hup ;;
	7) act show ctl show pools ;;
	esac
}

# run_phase NAME SECONDS: load and changes for SECONDS.
run_phase() {
	local name="$1" secs="$2" end i=0
	phase_start "$name"
	end=$((SECONDS + secs))
	while [ "$SECONDS" -lt "$end" ]; do
		sleep "$CHANGE_S"
		eph_alive || eph_die "the daemon died during the $name phase (log: $DIR/ephemera.log)"
		change "$((CHANGE_I++))"
	done
	phase_stop
}

# drained: no session, no allocator destination, no port in use, and no
# address or port range of an earlier configuration still draining.
drained() {
	tm_sample >"$DIR/drained.json" 2>/dev/null &&
		jq -e '.sessions == 0 and .destinations == 0 and ([.ports_in_use[]] | add // 0) == 0' \
			"$DIR/drained.json" >/dev/null &&
		ctl --json show pools 2>/dev/null | jq -e 'all(.pools[]; (.draining_ports | length) == 0 and
			all(.addresses[]; .state == "active"))' >/dev/null
}

# canonical: back to the configuration the daemon started with (the file
# rewritten and reloaded; refused while four ranges drain, so retried) and
# everything drained. Heap and RSS are compared only in this state: the
# port allocators' memory follows the pool's addresses and range.
canonical() {
	local end=$((SECONDS + 2 * (TCP_EST_S + TIMEOUT_S) + 10))
	write_conf >"$CONF"
	until ctl reload >>"$DIR/changes.log" 2>&1; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 1
	done
	until drained; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 1
	done
}

# final_flows: one more round from every host; all answered.
final_flows() {
	local h rc=0 out
	for h in $(ip netns list | awk '$1 ~ /^eph-h[0-9]+$/ {print $1}' | sort -V); do
		out="$(ip netns exec "$h" timeout 30 python3 -I "$E2E/flows.py" client --server "$SRV" \
			--port "$SRV_PORT" --source "192.0.2.$((10 + ${h#eph-h}))" --tcp 20 --udp 20 \
			--timeout 6 2>&1)" || rc=1
		jq -e '.tcp_ok == 20 and .udp_ok == 20' <<<"$out" >/dev/null 2>&1 || {
			echo "    $h: $(jq -c '{tcp_ok, tcp_failed, udp_ok, udp_failed}' <<<"$out" 2>/dev/null || echo "$out")"
			rc=1
		}
	done
	return "$rc"
}

# flows_total FIELD PHASE...: FIELD summed over every client report.
flows_total() {
	local field="$1" d
	shift
	for d in "$@"; do
		cat "$d"/flows.*.jsonl 2>/dev/null || true
	done | jq -s "map(.$field // 0) | add // 0"
}

main() {
	local warm_s main_s total_s start t0 srv_pid status lines bad creates deletes
	eph_need_root
	if ! [[ "$MINUTES" =~ ^[0-9]+$ ]] || [ "$MINUTES" -lt 1 ]; then
		eph_die "usage: $0 [MINUTES >= 1]"
	fi
	if [ ! -x "$EPH_BIN" ] || [ ! -x "$EPHCTL" ]; then
		eph_die "build first: meson setup build && ninja -C build"
	fi
	for cmd in jq ip nft; do
		command -v "$cmd" >/dev/null || eph_die "$cmd not installed (run scripts/deps.sh)"
	done
	scapy_python >/dev/null
	eph_traps
	DIR="${EPH_SOAK_LOGDIR:-$(mktemp -d /tmp/eph-soak.XXXXXX)}"
	mkdir -p "$DIR"
	CONF="$DIR/ephemera.yaml"
	export EPH_INSIDE_HOSTS="${EPH_INSIDE_HOSTS:-4}"
	total_s=$((MINUTES * 60))
	warm_s=$((total_s / 6 < 30 ? total_s / 6 : 30))
	main_s=$((total_s - warm_s))
	CHANGE_I=0
	echo "soak: $MINUTES min ($warm_s s warm-up, $main_s s soak), $WORKERS workers, logs in $DIR"
	start=$SECONDS

	eph_hugepages >"$DIR/setup.log" 2>&1 || eph_die "hugepages: $(tail -n 1 "$DIR/setup.log")"
	"$EPH_ROOT/scripts/testbed.sh" up >>"$DIR/setup.log" 2>&1 ||
		eph_die "test bed: $(tail -n 1 "$DIR/setup.log")"
	write_conf >"$CONF"
	mkdir -p "${SOCK%/*}"
	EPH_TMP="${SOCK%/*}"	# removed by eph_cleanup
	eph_start "$CONF" "$DIR/ephemera.log" || eph_die "the daemon did not start"

	ip netns exec eph-srv sh -c 'ulimit -n 16384 && exec "$@"' py python3 -I "$E2E/flows.py" \
		server --bind "$SRV" --port "$SRV_PORT" --duration $((total_s + 600)) \
		--ready "$DIR/server.ready" --report "$DIR/server.json" \
		>"$DIR/server.log" 2>&1 </dev/null &
	srv_pid=$!
	EPH_CLEANUP_PIDS+=("$srv_pid")
	for ((t0 = 0; t0 < 100; t0++)); do
		[ -e "$DIR/server.ready" ] && break
		sleep 0.1
	done
	[ -e "$DIR/server.ready" ] || eph_die "flows.py server did not start"
	tm_sample >"$DIR/start.json"

	eph_log "warm-up ($warm_s s)"
	run_phase warmup "$warm_s"
	canonical || eph_die "not back to the start's configuration and drained after the warm-up: $(cat "$DIR/drained.json")"
	cp "$DIR/drained.json" "$DIR/reference.json"
	eph_log "reference: heap $(jq .alloc_bytes "$DIR/reference.json") bytes, RSS $(jq .rss_kb "$DIR/reference.json") kB"

	eph_log "soak ($main_s s)"
	run_phase soak "$main_s"
	eph_log "back to the start's configuration, waiting out the timeouts"
	t0=$SECONDS
	canonical || echo "not drained after $((SECONDS - t0)) s"
	cp "$DIR/drained.json" "$DIR/end.json"
	echo "drained $((SECONDS - t0)) s after the load stopped"
	sleep 1.5	# the NAT log writer drains once a loop; give it the last deletes

	eph_log "checks"
	local ref="$DIR/reference.json" end="$DIR/end.json" mon="$DIR/soak/monitor.json"
	local v heap0 heap1 rss0 rss1
	v="$(jq .sessions "$end")"
	check "sessions" "$([ "$v" = 0 ] && echo 0 || echo 1)" "$v at the end"
	v="$(jq .destinations "$end")"
	check "allocator destinations" "$([ "$v" = 0 ] && echo 0 || echo 1)" "$v at the end"
	v="$(jq -r '[.ports_in_use | to_entries[] | select(.value != 0) | "\(.key)=\(.value)"] | join(" ")' "$end")"
	check "ports in use" "$([ -z "$v" ] && echo 0 || echo 1)" \
		"${v:-0 on $(jq '.ports_in_use | length' "$end") pool addresses}"
	v="$(jq -s '[.[0].max_alloc_lost, .[1].max_alloc_lost, .[2].alloc_lost] | max' \
		"$DIR/warmup/monitor.json" "$mon" "$end")"
	check "allocator lost" "$([ "$v" = 0 ] && echo 0 || echo 1)" "$v"
	v="$(jq -s '[.[0].max_alloc_bad_release, .[1].max_alloc_bad_release, .[2].alloc_bad_release] | max' \
		"$DIR/warmup/monitor.json" "$mon" "$end")"
	check "allocator bad releases" "$([ "$v" = 0 ] && echo 0 || echo 1)" "$v"
	v="$(jq .alloc_chunks_in_use "$end")"
	check "allocator chunks in use" "$([ "$v" = 0 ] && echo 0 || echo 1)" "$v at the end"
	heap0="$(jq .alloc_bytes "$ref")" heap1="$(jq .alloc_bytes "$end")"
	check "DPDK heap" "$([ "$heap1" -le $((heap0 + HEAP_TOL_KB * 1024)) ] && echo 0 || echo 1)" \
		"$heap0 -> $heap1 bytes ($((heap1 - heap0)), tolerance ${HEAP_TOL_KB} KiB)"
	rss0="$(jq .rss_kb "$ref")" rss1="$(jq .rss_kb "$end")"
	check "RSS" "$([ "$rss1" -le $((rss0 + RSS_TOL_KB)) ] && echo 0 || echo 1)" \
		"$rss0 -> $rss1 kB ($((rss1 - rss0)), tolerance $RSS_TOL_KB kB)"
	v="$(jq -s 'map(.daemon_died) | any' "$DIR/warmup/monitor.json" "$mon")"
	check "daemon alive" "$([ "$v" = false ] && eph_alive && echo 0 || echo 1)" \
		"$(jq -s 'map(.samples) | add' "$DIR/warmup/monitor.json" "$mon") samples"
	check "ephctl answered" "$([ "$ACTION_FAILS" = 0 ] && echo 0 || echo 1)" \
		"$ACTION_FAILS changes failed otherwise than by a refusal"
	cat "$DIR"/nat.jsonl* >"$DIR/nat-all.jsonl" 2>/dev/null || true
	lines="$(wc -l <"$DIR/nat-all.jsonl")"
	bad="$(python3 -I -c '
import json, sys
bad = 0
keys = {"time", "event", "pool", "proto", "inside", "outside", "remote", "worker"}
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
        if not keys <= set(e) or (e["event"] == "session-delete" and "reason" not in e):
            bad += 1
    except ValueError:
        bad += 1
print(bad)' "$DIR/nat-all.jsonl")"
	check "NAT log lines well-formed" "$([ "$bad" = 0 ] && echo 0 || echo 1)" "$bad bad of $lines"
	creates="$(grep -c '"event":"session-create"' "$DIR/nat-all.jsonl" || true)"
	deletes="$(grep -c '"event":"session-delete"' "$DIR/nat-all.jsonl" || true)"
	v="$(jq .log_lost "$end")"
	if [ "$v" = 0 ]; then
		check "NAT log creates = deletes" "$([ "$creates" = "$deletes" ] && echo 0 || echo 1)" \
			"$creates creates, $deletes deletes"
	else
		check "NAT log creates >= deletes" "$([ "$creates" -ge "$deletes" ] && echo 0 || echo 1)" \
			"$creates creates, $deletes deletes, $v events lost"
	fi
	if final_flows; then
		check "traffic after the soak" 0 "20 TCP + 20 UDP answered from every host"
	else
		check "traffic after the soak" 1 "some flows unanswered"
	fi
	kill -TERM "$srv_pid" 2>/dev/null || true
	wait "$srv_pid" 2>/dev/null || true
	eph_stop
	status=$EPH_STATUS
	check "exit on SIGTERM" "$([ "$status" = 0 ] && echo 0 || echo 1)" "status $status"

	summary
	echo "time: $((SECONDS - start)) s, logs: $DIR"
	if [ "$CHECKS_FAILED" -ne 0 ]; then
		echo "soak: $CHECKS_FAILED check(s) failed"
		return 1
	fi
	echo "soak: all checks passed"
}

summary() {
	local k
	local -a phases=("$DIR/warmup" "$DIR/soak")
	echo
	echo "flows opened:      TCP $(flows_total tcp_ok "${phases[@]}") answered, $(flows_total tcp_failed "${phases[@]}") failed;" \
		"UDP $(flows_total udp_ok "${phases[@]}") answered, $(flows_total udp_failed "${phases[@]}") unanswered;" \
		"$(flows_total client_failed "${phases[@]}") client runs failed"
	printf 'live changes:      '
	for k in $(printf '%s\n' "${!ACTIONS[@]}" | sort); do
		printf '%s %s  ' "$k" "${ACTIONS[$k]}"
	done
	echo
	for k in "${!REFUSED[@]}"; do
		printf '  refused %4d x  %s\n' "${REFUSED[$k]}" "$k"
	done
	echo "malformed sent:    $(cat "$DIR"/{warmup,soak}/malformed-*.json 2>/dev/null | jq -s 'map(.total) | add // 0')" \
		"($(cat "$DIR"/{warmup,soak}/malformed-*.json 2>/dev/null | jq -s 'map(.sent | keys) | add | unique | length') kinds, inside and outside)"
	echo "peak sessions:     $(jq -s 'map(.peak_sessions) | max' "$DIR"/{warmup,soak}/monitor.json)" \
		"(peak destinations $(jq -s 'map(.peak_destinations) | max' "$DIR"/{warmup,soak}/monitor.json))"
	echo "NAT log:           $(wc -l <"$DIR/nat-all.jsonl") lines, $(jq .log_lost "$DIR/end.json") events lost"
	echo "DPDK heap (bytes): start $(jq .alloc_bytes "$DIR/start.json"), warm-up $(jq .alloc_bytes "$DIR/reference.json")," \
		"peak $(jq -s 'map(.peak_heap_alloc_bytes) | max' "$DIR"/{warmup,soak}/monitor.json), end $(jq .alloc_bytes "$DIR/end.json")"
	echo "RSS (kB):          start $(jq .rss_kb "$DIR/start.json"), warm-up $(jq .rss_kb "$DIR/reference.json")," \
		"peak $(jq -s 'map(.peak_rss_kb) | max' "$DIR"/{warmup,soak}/monitor.json), end $(jq .rss_kb "$DIR/end.json")"
	echo "drops by reason:"
	jq -r -s '.[0].drops as $a | .[1].drops | to_entries[] | select(.value - ($a[.key] // 0) > 0) |
		"  \(.key)\t\(.value - ($a[.key] // 0))"' "$DIR/start.json" "$DIR/end.json" | column -t
}

main "$@"

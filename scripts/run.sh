#!/usr/bin/env bash
# Show Ephemera working: install dependencies, build, bring up the namespace
# test bed, start the gateway, pass real traffic through it, print what the far
# side saw and the gateway's counters, then tear everything down (also on
# Ctrl-C or error).
#
#   sudo scripts/run.sh            EPH_CONF=file to use another configuration
#                                  EPH_KEEP=1 to leave the test bed up
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

CONF="${EPH_CONF:-$EPH_ROOT/conf/ephemera.yaml}"
SRV=203.0.113.10

step() { printf '\n== %s\n' "$*"; }

# show NS CMD...: print a command as typed, then run it in namespace NS.
show() {
	local ns="$1"
	shift
	printf '%s$ %s\n' "$ns" "$*"
	ip netns exec "$ns" "$@"
}

build() {
	local log="$EPH_TMP/build.log"
	if [ ! -f "$EPH_ROOT/build/build.ninja" ]; then
		meson setup "$EPH_ROOT/build" "$EPH_ROOT" >"$log" 2>&1 ||
			{ tail -n 30 "$log"; eph_die "meson setup failed"; }
	fi
	ninja -C "$EPH_ROOT/build" >"$log" 2>&1 ||
		{ tail -n 40 "$log"; eph_die "build failed"; }
	[ -x "$EPH_BIN" ] || eph_die "build produced no $EPH_BIN"
}

traffic() {
	local got

	step "ICMP: inside host h1 -> server $SRV"
	show eph-h1 timeout 15 ping -n -c 3 -i 0.2 -W 2 "$SRV" || true

	step "ICMP: server -> inside host h2 192.0.2.12"
	show eph-srv timeout 15 ping -n -c 3 -i 0.2 -W 2 192.0.2.12 || true

	step "ICMP: h1 -> 198.51.100.10, behind the server (static route)"
	show eph-h1 timeout 15 ping -n -c 3 -i 0.2 -W 2 198.51.100.10 || true

	step "TCP: h1 fetches files from an HTTP server on $SRV"
	mkdir -p "$EPH_TMP/www"
	echo "hello from $SRV, served through ephemera" >"$EPH_TMP/www/hello.txt"
	head -c 100000 /dev/urandom >"$EPH_TMP/www/blob.bin"
	ip netns exec eph-srv python3 -m http.server --bind "$SRV" \
		--directory "$EPH_TMP/www" 8080 >"$EPH_TMP/http.log" 2>&1 </dev/null &
	EPH_CLEANUP_PIDS+=($!)
	sleep 1
	show eph-h1 timeout 10 curl -sS "http://$SRV:8080/hello.txt" || true
	show eph-h1 timeout 10 curl -sS -o "$EPH_TMP/blob.got" "http://$SRV:8080/blob.bin" || true
	if cmp -s "$EPH_TMP/www/blob.bin" "$EPH_TMP/blob.got"; then
		echo "blob.bin: 100000 bytes, identical to the server's copy"
	else
		echo "blob.bin: DIFFERS from the server's copy"
	fi
	echo "server log:"
	sed 's/^/  /' "$EPH_TMP/http.log"

	step "UDP: h2 sends a datagram to a listener on $SRV:5002"
	ip netns exec eph-srv timeout 10 nc -n -v -u -l -d -W 1 "$SRV" 5002 \
		>"$EPH_TMP/udp.got" 2>"$EPH_TMP/udp.log" </dev/null &
	local udp_pid=$!
	sleep 0.5
	echo "hello over UDP from h2" | show eph-h2 timeout 5 nc -n -u -w 1 "$SRV" 5002 || true
	wait "$udp_pid" 2>/dev/null || true
	got="$(cat "$EPH_TMP/udp.got")"
	echo "server received: ${got:-(nothing)}"
	sed -n 's/^Connection received on \([^ ]*\) \([0-9]*\)/  from \1 port \2/p' "$EPH_TMP/udp.log"
}

counters() {
	step "gateway counters (telemetry)"
	echo "/ephemera/stats:"
	eph_tm /ephemera/stats | sed 's/^/  /' || true
	echo "/ephemera/ports:"
	eph_tm /ephemera/ports | sed 's/^/  /' || true
	echo "/ephemera/drops (nonzero):"
	eph_tm /ephemera/drops | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("\n".join("  %s: %s" % (k, v) for k, v in d.items() if v) or "  none")' || true
}

main() {
	eph_need_root
	eph_traps
	EPH_TMP="$(mktemp -d /tmp/eph-run.XXXXXX)"

	step "dependencies and hugepages"
	"$EPH_ROOT/scripts/deps.sh"
	step "build"
	build
	echo "built $EPH_BIN"
	step "test bed"
	"$EPH_ROOT/scripts/testbed.sh" up
	step "start ephemera -c ${CONF#"$EPH_ROOT"/}"
	eph_start "$CONF" "$EPH_TMP/ephemera.log" || exit 1
	grep 'ephemera ready' "$EPH_TMP/ephemera.log"

	traffic
	counters

	step "stop ephemera (SIGTERM)"
	local lines
	lines="$(wc -l <"$EPH_TMP/ephemera.log")"
	eph_stop
	tail -n +"$((lines + 1))" "$EPH_TMP/ephemera.log"
	echo "ephemera exited with status $EPH_STATUS"
	step "tear down"
	"$EPH_ROOT/scripts/testbed.sh" down
	echo "test bed removed"
}

main "$@"

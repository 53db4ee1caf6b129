#!/usr/bin/env bash
# Show Ephemera working: install dependencies, build, bring up the namespace
# test bed, start the gateway (conf/ephemera.yaml: SNAT44 onto the pool
# 203.0.113.100-103), pass real traffic through it, print what the far side
# saw, the pool's ports while flows are held open, the blocked unsolicited
# traffic and the gateway's counters; then the load balancer
# (conf/examples/lb.yaml): curl to a VIP spread over three nginx backends
# by weight, a weight changed live, the host reaching the backends through
# its kernel interface, one backend stopped (its health checks take it out)
# and started again; then tear everything down (also on Ctrl-C or error).
#
#   sudo scripts/run.sh            EPH_CONF=file to use another configuration
#                                  EPH_KEEP=1 to leave the test bed up
#                                  EPH_RUN_FLOWS=N TCP connections held per host (300)
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

CONF="${EPH_CONF:-$EPH_ROOT/conf/ephemera.yaml}"
SRV=203.0.113.10

step() { printf '\n== %s\n' "$*"; }
EPHCTL="$EPH_ROOT/build/ephctl"
# ctl ARGS...: ephctl ARGS against the running daemon, echoed.
ctl() {
	printf '$ ephctl %s\n' "$*"
	"$EPHCTL" "$@"
}

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

# srv_capture FILE: capture the server's received IPv4 (not ARP) in the
# background, one line per packet, until the returned pid is killed.
srv_capture() {
	local i
	ip netns exec eph-srv timeout 60 tcpdump -i eth0 -n -l -Q in ip \
		>"$1" 2>"$1.err" </dev/null &
	CAP_PID=$!
	EPH_CLEANUP_PIDS+=("$CAP_PID")
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$1.err" 2>/dev/null && break
		sleep 0.1
	done
}

stop_capture() {
	sleep 0.3
	kill "$CAP_PID" 2>/dev/null || true
	wait "$CAP_PID" 2>/dev/null || true
}

# wait_listen tcp|udp PORT: until something listens there on the server (10 s).
wait_listen() {
	local i flag=-Hltn
	[ "$1" = udp ] && flag=-Hlun
	for ((i = 0; i < 100; i++)); do
		[ -n "$(ip netns exec eph-srv ss "$flag" "sport = :$2" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	echo "warning: nothing listens on $1/$2 on the server after 10 s"
}

nat_enabled() {
	[ "$(eph_tm /ephemera/pools 2>/dev/null | tr -d ' \n')" != "{}" ]
}

drop_of() {
	eph_tm --get "$1" /ephemera/drops 2>/dev/null || echo 0
}

traffic() {
	local got

	step "ICMP: inside host h1 -> server $SRV (source-translated)"
	srv_capture "$EPH_TMP/icmp.cap"
	show eph-h1 timeout 15 ping -n -c 3 -i 0.2 -W 2 "$SRV" || true
	stop_capture
	echo "the server saw:"
	grep 'ICMP echo request' "$EPH_TMP/icmp.cap" | sed 's/^[0-9:.]* /  /' || echo "  (nothing)"

	step "ICMP: h1 -> 198.51.100.10, behind the server (static route)"
	show eph-h1 timeout 15 ping -n -c 3 -i 0.2 -W 2 198.51.100.10 || true

	step "TCP: h1 fetches files from an HTTP server on $SRV"
	mkdir -p "$EPH_TMP/www"
	echo "hello from $SRV, served through ephemera" >"$EPH_TMP/www/hello.txt"
	head -c 100000 /dev/urandom >"$EPH_TMP/www/blob.bin"
	ip netns exec eph-srv python3 -m http.server --bind "$SRV" \
		--directory "$EPH_TMP/www" 8080 >"$EPH_TMP/http.log" 2>&1 </dev/null &
	EPH_CLEANUP_PIDS+=($!)
	wait_listen tcp 8080
	show eph-h1 timeout 10 curl -sS "http://$SRV:8080/hello.txt" || true
	show eph-h1 timeout 10 curl -sS -o "$EPH_TMP/blob.got" "http://$SRV:8080/blob.bin" || true
	if cmp -s "$EPH_TMP/www/blob.bin" "$EPH_TMP/blob.got"; then
		echo "blob.bin: 100000 bytes, identical to the server's copy"
	else
		echo "blob.bin: DIFFERS from the server's copy"
	fi
	echo "server log (the client address is what the server saw):"
	sed 's/^/  /' "$EPH_TMP/http.log"

	step "UDP: h2 sends a datagram to a listener on $SRV:5002"
	ip netns exec eph-srv timeout 10 nc -n -v -u -l -d -W 1 "$SRV" 5002 \
		>"$EPH_TMP/udp.got" 2>"$EPH_TMP/udp.log" </dev/null &
	local udp_pid=$!
	wait_listen udp 5002
	echo "hello over UDP from h2" | show eph-h2 timeout 5 nc -n -u -w 1 "$SRV" 5002 || true
	wait "$udp_pid" 2>/dev/null || true
	got="$(cat "$EPH_TMP/udp.got")"
	echo "server received: ${got:-(nothing)}"
	sed -n 's/^Connection received on \([^ ]*\) \([0-9]*\)/  from \1 port \2/p' "$EPH_TMP/udp.log"

	if nat_enabled; then
		held_flows
		unsolicited
	else
		step "ICMP: server -> inside host h2 192.0.2.12 (no NAT pool: routed)"
		show eph-srv timeout 15 ping -n -c 3 -i 0.2 -W 2 192.0.2.12 || true
	fi
}

# Many flows held open at once: the allocator's view while they are.
held_flows() {
	local n="${EPH_RUN_FLOWS:-300}" h i
	local -a pids
	step "NAT: h1 and h2 each hold $n TCP connections open to $SRV:7000 (and send $n UDP flows)"
	ip netns exec eph-srv sh -c 'ulimit -n 16384 && exec "$@"' py python3 -I \
		"$EPH_ROOT/tests/e2e/flows.py" server --bind "$SRV" --port 7000 --duration 90 \
		--ready "$EPH_TMP/flows.ready" --report "$EPH_TMP/flows-server.json" \
		>"$EPH_TMP/flows-server.log" 2>&1 </dev/null &
	local srv_pid=$!
	EPH_CLEANUP_PIDS+=("$srv_pid")
	for ((i = 0; i < 100; i++)); do
		[ -f "$EPH_TMP/flows.ready" ] && break
		sleep 0.1
	done
	for h in 1 2; do
		ip netns exec "eph-h$h" sh -c 'ulimit -n 16384 && exec "$@"' py python3 -I \
			"$EPH_ROOT/tests/e2e/flows.py" client --server "$SRV" --port 7000 \
			--source "192.0.2.1$h" --tcp "$n" --udp "$n" --timeout 15 \
			--held "$EPH_TMP/held.$h" --release "$EPH_TMP/release" --hold-max 30 \
			>"$EPH_TMP/flows-h$h.json" 2>&1 </dev/null &
		pids+=($!)
		EPH_CLEANUP_PIDS+=($!)
	done
	for ((i = 0; i < 300; i++)); do
		[ -f "$EPH_TMP/held.1" ] && [ -f "$EPH_TMP/held.2" ] && break
		sleep 0.1
	done
	echo "while the $((2 * n)) TCP connections are open:"
	ctl show pools || true
	ctl show destinations --top 5 || true
	ctl show sessions proto tcp limit 5 || true
	# A live change under the open connections: none of them moves or drops.
	ctl pool add-address default 203.0.113.104 || true
	ctl pool set-range default 20000-29999 || true
	ctl show pools || true
	touch "$EPH_TMP/release"
	for i in "${pids[@]}"; do wait "$i" 2>/dev/null || true; done
	kill -TERM "$srv_pid" 2>/dev/null || true
	wait "$srv_pid" 2>/dev/null || true
	for h in 1 2; do
		python3 -I -c '
import json, sys
c = json.load(open(sys.argv[1]))
addrs = sorted({a.rsplit(":", 1)[0] for a in c["tcp_seen_as"] + c["udp_seen_as"]})
print("h%s: TCP %d ok, %d failed (%d open at once); UDP %d ok, %d failed; seen by the server as %s"
      % (sys.argv[2], c["tcp_ok"], c["tcp_failed"], c["tcp_held_at_once"], c["udp_ok"],
         c["udp_failed"], " ".join(addrs)))' "$EPH_TMP/flows-h$h.json" "$h" 2>/dev/null ||
			echo "h$h: no report: $(head -c 300 "$EPH_TMP/flows-h$h.json")"
	done
	python3 -I -c '
import json, sys
s = json.load(open(sys.argv[1]))
print("server: %d TCP connections (at most %d at once, %d from an ip:port already live), "
      "%d UDP datagrams, from %s" % (s["tcp_connections"], s["tcp_max_live"],
      s["tcp_reuse_while_live"], s["udp_datagrams"],
      " ".join(sorted({p[0] for p in s["tcp_peers"] + s["udp_peers"]}))))' \
		"$EPH_TMP/flows-server.json" 2>/dev/null || echo "server: no report"
}

# Outside hosts cannot open flows to the inside: nothing gets in, every
# packet is counted.
unsolicited() {
	local before after pool_addr
	step "NAT: unsolicited traffic from the server is blocked"
	pool_addr="$(eph_tm --get 0.address /ephemera/pools 2>/dev/null || echo 203.0.113.100)"
	before="$(drop_of nat_no_session)"
	show eph-srv timeout 15 ping -n -c 3 -i 0.2 -W 1 192.0.2.12 || true
	echo "+ 3 UDP datagrams from the server to $pool_addr:33333"
	ip netns exec eph-srv python3 -I "$EPH_ROOT/tests/e2e/nat_probe.py" send --proto udp \
		--dst "$pool_addr" --dport 33333 --count 3 >/dev/null || true
	sleep 0.5
	after="$(drop_of nat_no_session)"
	echo "drops nat_no_session: $before -> $after (6 packets sent, none delivered)"
}

counters() {
	step "gateway counters (ephctl and telemetry)"
	ctl show stats || true
	echo "/ephemera/stats:"
	eph_tm /ephemera/stats | sed 's/^/  /' || true
	if nat_enabled; then
		echo "/ephemera/nat (per worker):"
		eph_tm /ephemera/nat | python3 -I -c '
import json, sys
for w, v in json.load(sys.stdin).items():
    print("  %s: %s" % (w, ", ".join("%s %s" % (k, v[k]) for k in ("sessions", "hosts",
          "sessions_created", "sessions_expired", "port_allocations", "port_releases",
          "in2out", "out2in", "handoff_out", "handoff_in", "alloc_exhausted"))))' || true
	fi
	echo "/ephemera/ports:"
	eph_tm /ephemera/ports | sed 's/^/  /' || true
	echo "/ephemera/drops (nonzero):"
	eph_tm /ephemera/drops | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("\n".join("  %s: %s" % (k, v) for k, v in d.items() if v) or "  none")' || true
}

# health_wait ADDR STATE: until VIP web's backend ADDR is STATE (up/down), 15 s at most.
health_wait() {
	local t0=$SECONDS
	while [ $((SECONDS - t0)) -lt 15 ]; do
		if "$EPHCTL" show backends web --json | python3 -c '
import json, sys
b = [b for b in json.load(sys.stdin)["backends"] if b["address"] == sys.argv[1]][0]
sys.exit(0 if b["health"]["state"] == sys.argv[2] else 1)' "$1" "$2"; then
			echo "$1 $2 after $((SECONDS - t0)) s"
			return 0
		fi
		sleep 0.2
	done
	echo "$1 still not $2 after 15 s"
}

# The balancer: three nginx backends behind VIP 203.0.113.80, weights 1:2:3.
balancer() {
	local conf="$EPH_ROOT/conf/examples/lb.yaml" i lines
	local -a nginx_pid
	step "start ephemera -c conf/examples/lb.yaml: VIP web 203.0.113.80:80 onto eph-b1..3, weights 1:2:3"
	for i in 1 2 3; do
		cat >"$EPH_TMP/nginx-b$i.conf" <<-EOF
			worker_processes 1;
			daemon off;
			pid $EPH_TMP/nginx-b$i.pid;
			error_log $EPH_TMP/nginx-b$i.err;
			events { worker_connections 1024; }
			http {
			    log_format peer '\$remote_addr:\$remote_port';
			    access_log $EPH_TMP/access-b$i.log peer;
			    server { listen 198.18.0.1$i:80; location / { return 200 "backend b$i\n"; } }
			}
		EOF
		ip netns exec "eph-b$i" nginx -c "$EPH_TMP/nginx-b$i.conf" >/dev/null 2>&1 </dev/null &
		EPH_CLEANUP_PIDS+=($!)
		nginx_pid[i]=$!
	done
	eph_start "$conf" "$EPH_TMP/ephemera-lb.log" || return 1
	ctl show vips || true
	step "curl to the VIP 12 times from the server's namespace"
	for i in $(seq 12); do
		ip netns exec eph-srv timeout 5 curl -sS "http://203.0.113.80/" || true
	done | sort | uniq -c
	echo "what backend b3 saw as its peers (the VIP's local addresses, not the client;"
	echo "198.18.0.1, the gateway's own address, is where its health checks come from):"
	sort -u "$EPH_TMP/access-b3.log" | grep -v '^198\.18\.0\.1:' | head -n 3 | sed 's/^/  /'
	ctl show backends web || true
	step "weight of b3 to 0, live: its connections drain, new ones go to b1 and b2"
	ctl vip backend set-weight web 198.18.0.13:80 0 || true
	for i in $(seq 12); do
		ip netns exec eph-srv timeout 5 curl -sS "http://203.0.113.80/" || true
	done | sort | uniq -c
	ctl show backends web || true
	ctl vip backend set-weight web 198.18.0.13:80 3 >/dev/null || true
	step "this host reaches the backends through the kernel interface eph-k-lb (198.18.0.1)"
	ping -c 2 -i 0.2 198.18.0.12 | sed -n '2,3p' || true
	timeout 5 curl -sS http://198.18.0.12/ || true
	step "b2's nginx stops: its health checks (http, every 2 s, fall 3) take it out"
	kill "${nginx_pid[2]}" 2>/dev/null || true
	health_wait 198.18.0.12 down
	for i in $(seq 12); do
		ip netns exec eph-srv timeout 5 curl -sS "http://203.0.113.80/" || true
	done | sort | uniq -c
	ctl show backends web || true
	step "b2's nginx starts again: back after 2 passing checks"
	ip netns exec eph-b2 nginx -c "$EPH_TMP/nginx-b2.conf" >/dev/null 2>&1 </dev/null &
	EPH_CLEANUP_PIDS+=($!)
	health_wait 198.18.0.12 up
	for i in $(seq 12); do
		ip netns exec eph-srv timeout 5 curl -sS "http://203.0.113.80/" || true
	done | sort | uniq -c
	lines="$(wc -l <"$EPH_TMP/ephemera-lb.log")"
	eph_stop
	tail -n +"$((lines + 1))" "$EPH_TMP/ephemera-lb.log"
	for pid in "${EPH_CLEANUP_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
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
	balancer || true
	step "tear down"
	"$EPH_ROOT/scripts/testbed.sh" down
	echo "test bed removed"
}

main "$@"

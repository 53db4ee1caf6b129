# shellcheck shell=bash
# Backend health with real servers: VIPs of lb_conf (run.sh) at 203.0.113.82.
#   checked      :9000  udp checks (1 s, fall 2, rise 2) of lb_peer's echo servers
#                       (on their port 7: the TCP tests count their peers)
#   checked-http :8090  http checks of /health on nginx (a flag file makes it 500)
#   passive      :9001  outlier-detection (3 failures in 10 s, 5 s ejection);
#                       its second backend is 198.18.0.13:9997, where nothing listens
#   strict/lenient :9998/:9999  tcp checks of ports where nothing listens:
#                       every backend down, all-down refuse and keep
# Checks leave the host's kernel through eph-k-lb, from 198.18.0.1.

HC_VIP=203.0.113.82

# hc_backends VIP: JSON of show backends VIP.
hc_backends() { lb_ctl show backends "$1" --json; }

# hc_state VIP ADDR: the backend's health state (up/down) and whether it is kept.
hc_state() {
	hc_backends "$1" | python3 -c '
import json, sys
for b in json.load(sys.stdin)["backends"]:
    if b["address"] == sys.argv[1]:
        h = b["health"]
        print(h["state"] + (" kept" if h["kept"] else "") + (" ejected" if h["ejected"] else ""))' "$2"
}

# hc_wait VIP ADDR STATE SECONDS: wait until the backend is in STATE; prints the seconds it took.
hc_wait() {
	local t0=$EPOCHREALTIME s
	while :; do
		s="$(hc_state "$1" "$2")"
		[ "${s%% *}" = "$3" ] && break
		python3 -c "import sys; sys.exit(0 if $EPOCHREALTIME - $t0 < $4 else 1)" ||
			fail "vip $1: backend $2 still '$s' after $4 s, expected $3: $(hc_backends "$1" | tr -d '\n' | head -c 600)"
		sleep 0.1
	done
	python3 -c "print('%.2f' % ($EPOCHREALTIME - $t0))"
}

# hc_nginx: nginx on :8090 of each backend: /health answers 500 while T_DIR/fail-bN exists.
hc_nginx() {
	local i conf

	for i in 1 2 3; do
		conf="$T_DIR/hc-nginx-b$i.conf"
		cat >"$conf" <<-EOF
			worker_processes 1;
			user root; # its workers look for the flag files in T_DIR
			daemon off;
			pid $T_DIR/hc-nginx-b$i.pid;
			error_log $T_DIR/hc-nginx-b$i.err;
			events { worker_connections 512; }
			http {
			    log_format peer '\$remote_addr \$request_uri \$status';
			    access_log $T_DIR/hc-access-b$i.log peer;
			    server {
			        listen 198.18.0.1$i:8090;
			        location = /health {
			            if (-f $T_DIR/fail-b$i) { return 500 "failing\n"; }
			            return 200 "ok\n";
			        }
			        location / { return 200 "b$i\n"; }
			    }
			}
		EOF
		bg "eph-b$i" "$T_DIR/hc-nginx-b$i.out" nginx -c "$conf"
	done
	for i in 1 2 3; do wait_listen "eph-b$i" tcp 8090; done
}

# hc_echo_once VIP_PORT: one line through the VIP; prints the backend's name, or "refused".
hc_echo_once() {
	in_ns eph-srv python3 - "$HC_VIP" "$1" <<-'EOF'
		import socket, sys
		try:
		    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
		    s.sendall(b"x\n")
		    print(s.recv(100).decode().split()[0])
		except OSError as e:
		    print("refused" if isinstance(e, ConnectionRefusedError) else "error:%s" % e)
	EOF
}

# A backend's server is killed: it leaves the table within interval x fall + one
# interval, no new connection goes to it, the other backends' connections carry
# on; restarted, it comes back after rise passing checks.
test_health_down_up() {
	local secs out n
	lb_backends
	for i in 1 2 3; do hc_wait checked "198.18.0.1$i" up 4 >/dev/null; done
	# Long-lived connections through the VIP while one backend dies.
	in_ns eph-srv python3 "$LB_PEER" hold "$HC_VIP" 9000 30 8 "$T_DIR/hold.json" &
	local hold_pid=$!
	sleep 2
	kill -KILL "${LB_SERVE_PID[2]}"
	secs="$(hc_wait checked 198.18.0.12 down 3.0)"
	echo "198.18.0.12 down ${secs} s after its server was killed (interval 1 s, fall 2)"
	out="$(hc_backends checked)"
	assert_contains "$out" '"state": "down"' "show backends"
	# New connections: b1 and b3 only, none refused.
	for n in $(seq 30); do
		out="$(hc_echo_once 9000)"
		case "$out" in b1 | b3) ;; *) fail "connection $n went to '$out' with b2 down" ;; esac
	done
	wait "$hold_pid" || true
	python3 - "$T_DIR/hold.json" <<-'EOF' || fail "$(cat "$T_DIR/hold.why")"
		import json, sys
		conns = json.load(open(sys.argv[1])); why = []
		for c in conns:
		    if c["backend"] in ("b1", "b3") and (c["broken"] or c["changed"]):
		        why.append("a connection to %s broke or moved: %s" % (c["backend"], c))
		if not any(c["backend"] in ("b1", "b3") for c in conns):
		    why.append("no long-lived connection to b1 or b3: %s" % conns)
		open(sys.argv[1].replace(".json", ".why"), "w").write("; ".join(why[:3]))
		sys.exit(1 if why else 0)
	EOF
	# Restarted: back after rise (2) passing checks.
	bg eph-b2 "$T_DIR/serve-b2-again.out" python3 -u "$LB_PEER" serve b2 198.18.0.12 "$T_DIR/serve-b2-again.json"
	wait_listen eph-b2 tcp 9000
	secs="$(hc_wait checked 198.18.0.12 up 4)"
	echo "198.18.0.12 up ${secs} s after its server came back (rise 2)"
	for n in $(seq 60); do
		[ "$(hc_echo_once 9000)" = b2 ] && return 0
	done
	fail "no new connection reached b2 after it came back"
}

# An http check answered 500 takes the backend down; 200 again brings it back.
test_health_http_500() {
	local out
	hc_nginx
	for i in 1 2 3; do hc_wait checked-http "198.18.0.1$i" up 5 >/dev/null; done
	touch "$T_DIR/fail-b3"
	hc_wait checked-http 198.18.0.13 down 3.5 >/dev/null
	out="$(hc_backends checked-http)"
	assert_contains "$out" "HTTP 500" "last check of b3"
	for n in $(seq 30); do
		out="$(in_ns eph-srv curl -sS -m 3 "http://$HC_VIP:8090/")" || fail "request $n failed: $out"
		[ "$out" != b3 ] || fail "request $n reached b3 while its checks answer 500"
	done
	rm -f "$T_DIR/fail-b3"
	hc_wait checked-http 198.18.0.13 up 4 >/dev/null
	# The checks came from the gateway's port address, through the data plane.
	grep -q '^198\.18\.0\.1 /health 500' "$T_DIR/hc-access-b3.log" ||
		fail "b3's nginx never logged a failing check from 198.18.0.1: $(tail -n 3 "$T_DIR/hc-access-b3.log" | tr '\n' '|')"
}

# Passive detection: connections the backend refuses eject it; then every
# new connection goes to the healthy one; after the ejection it is tried again.
test_health_passive() {
	local out refused=0 n fails
	lb_backends
	for n in $(seq 40); do
		out="$(hc_echo_once 9001)"
		case "$out" in
		b1) ;;
		refused) refused=$((refused + 1)) ;;
		*) fail "connection $n: $out" ;;
		esac
		[ "$(hc_state passive 198.18.0.13)" = "down ejected" ] && break
	done
	echo "$refused connections refused before the ejection"
	[ "$(hc_state passive 198.18.0.13)" = "down ejected" ] ||
		fail "198.18.0.13:9997 not ejected after $refused refused connections: $(hc_backends passive | tr -d '\n' | head -c 600)"
	[ "$refused" -ge 3 ] || fail "ejected after $refused failures, expected 3"
	fails="$(hc_backends passive | python3 -c 'import json,sys; print([b["health"]["connect_failures"] for b in json.load(sys.stdin)["backends"] if b["address"]=="198.18.0.13"][0])')"
	[ "$fails" -ge 3 ] || fail "connect_failures of 198.18.0.13 is $fails, expected >= 3: $(hc_backends passive | tr -d "\n " | head -c 900)"
	out="$(in_ns eph-srv python3 - "$HC_VIP" <<-'EOF'
		import socket, sys
		got = []
		for n in range(20):
		    try:
		        s = socket.create_connection((sys.argv[1], 9001), timeout=2)
		        s.sendall(b"x\n")
		        got.append(s.recv(100).decode().split()[0])
		        s.close()
		    except OSError as e:
		        got.append(type(e).__name__)
		print(" ".join(got))
	EOF
	)"
	[ "$out" = "$(printf 'b1 %.0s' $(seq 19))b1" ] ||
		fail "connections during the ejection went elsewhere than b1: $out"
	hc_wait passive 198.18.0.13 up 7 >/dev/null
}

# Every backend down: all-down refuse answers as having no backend at once;
# all-down keep keeps the last one in the table.
test_health_all_down() {
	local before after out
	hc_wait strict 198.18.0.11 down 4 >/dev/null
	hc_wait strict 198.18.0.12 down 4 >/dev/null
	hc_wait lenient 198.18.0.11 down 4 >/dev/null
	hc_wait lenient 198.18.0.12 down 4 >/dev/null
	before="$(lb_ctl show vips --json | python3 -c 'import json,sys; print([v["no_backend"] for v in json.load(sys.stdin)["vips"] if v["name"]=="strict"][0])')"
	out="$(hc_echo_once 9998)"
	assert_eq "$out" refused "a connection to strict with every backend down"
	after="$(lb_ctl show vips --json | python3 -c 'import json,sys; print([v["no_backend"] for v in json.load(sys.stdin)["vips"] if v["name"]=="strict"][0])')"
	[ "$after" -gt "$before" ] || fail "strict did not count the refusal as no_backend ($before -> $after)"
	# lenient keeps one of them (the last to go down) in its table.
	out="$(hc_backends lenient)"
	assert_contains "$out" '"kept": true' "lenient's last backend kept"
	before="$(lb_ctl show vips --json | python3 -c 'import json,sys; print([v["no_backend"] for v in json.load(sys.stdin)["vips"] if v["name"]=="lenient"][0])')"
	hc_echo_once 9999 >/dev/null
	after="$(lb_ctl show vips --json | python3 -c 'import json,sys; print([v["no_backend"] for v in json.load(sys.stdin)["vips"] if v["name"]=="lenient"][0])')"
	assert_eq "$after" "$before" "lenient refused as if it had no backend"
}

# shellcheck shell=bash
# The balancer with real peers: nginx and lb_peer.py on the backends eph-b1..3
# (198.18.0.11-13), clients in eph-srv (203.0.113.10) talking to the VIPs of
# lb_conf (tests/e2e/run.sh): web 203.0.113.80:80 (weights 1:2:3, local
# addresses 198.18.0.2-3), echo :7/udp (1:2:3), hold :9000 (on-remove drain),
# hold-reset :9001 (on-remove reset), empty 203.0.113.81:80 (no backend),
# proxied :8080 (proxy-protocol v2, local address 198.18.0.8).
# shield :9002 and rate :9003 (the SYN flood guards, onto the backends' :9000).

LB_VIP=203.0.113.80
LB_PEER="$E2E_DIR/lb_peer.py"

# lb_backends: nginx answering its name on :80 and lb_peer serve (TCP 9000,
# 9001, UDP 7) on each backend, until the test ends. LB_SERVE_PID[i] and
# LB_SERVE_REPORT[i] name the lb_peer servers.
lb_backends() {
	local i conf
	LB_SERVE_PID=()
	LB_SERVE_REPORT=()
	for i in 1 2 3; do
		conf="$T_DIR/nginx-b$i.conf"
		cat >"$conf" <<-EOF
			worker_processes 1;
			daemon off;
			pid $T_DIR/nginx-b$i.pid;
			error_log $T_DIR/nginx-b$i.err;
			events { worker_connections 4096; }
			http {
			    log_format peer '\$remote_addr \$remote_port \$msec \$request_time';
			    access_log $T_DIR/access-b$i.log peer;
			    keepalive_timeout 0;
			    server {
			        listen 198.18.0.1$i:80 backlog=4096;
			        location / { return 200 "b$i\n"; }
			    }
			}
		EOF
		bg "eph-b$i" "$T_DIR/nginx-b$i.out" nginx -c "$conf"
		bg "eph-b$i" "$T_DIR/serve-b$i.out" python3 -u "$LB_PEER" serve "b$i" "198.18.0.1$i" \
			"$T_DIR/serve-b$i.json"
		LB_SERVE_PID[i]=$BG_PID
		LB_SERVE_REPORT[i]="$T_DIR/serve-b$i.json"
	done
	for i in 1 2 3; do
		wait_listen "eph-b$i" tcp 80
		wait_listen "eph-b$i" tcp 9001
		wait_listen "eph-b$i" udp 7
	done
}

# lb_serve_stop: stop the lb_peer servers, so that their reports are written.
lb_serve_stop() {
	local i
	for i in 1 2 3; do
		kill -TERM "${LB_SERVE_PID[i]}" 2>/dev/null || true
		wait "${LB_SERVE_PID[i]}" 2>/dev/null || true
	done
}

# lb_json FILE EXPR: a Python expression over j = the JSON in FILE.
lb_json() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

lb_ctl() { "$EPHCTL" -s "$LB_CTL_SOCK" "$@"; }

# lb_shares FILE N: fail unless the bodies b1:b2:b3 in http's report FILE
# are 1/6, 2/6, 3/6 of N within 3 points.
lb_shares() {
	python3 - "$1" "$2" <<-'EOF' || fail "$(cat "$T_DIR/shares.why" 2>/dev/null)"
		import json, sys
		r = json.load(open(sys.argv[1])); n = int(sys.argv[2])
		why = []
		if r["failures"]:
		    why.append("%d requests failed: %s" % (r["failures"], r["first_failures"]))
		for b, w in (("b1", 1), ("b2", 2), ("b3", 3)):
		    got = r["counts"].get(b, 0) / n * 100
		    if abs(got - w / 6 * 100) > 3:
		        why.append("%s got %.1f%%, expected %.1f%% +- 3" % (b, got, w / 6 * 100))
		open(sys.argv[1] + ".why", "w").write("; ".join(why))
		sys.exit(1 if why else 0)
	EOF
}

test_lb_weights() {
	local n=3000 i
	lb_backends
	in_ns eph-srv python3 "$LB_PEER" http "http://$LB_VIP/" "$n" 20 >"$T_DIR/http.json"
	cat "$T_DIR/http.json"
	lb_shares "$T_DIR/http.json" "$n" || fail "$(cat "$T_DIR/http.json.why")"
	# What the backends saw: only local addresses, ports of the pool's range,
	# and no peer address and port twice at one time.
	sleep 1
	python3 - "$T_DIR" <<-'EOF' || fail "$(cat "$T_DIR/peers.why")"
		import sys, collections
		d = sys.argv[1]; why = []; total = 0; logged = {}
		for i in (1, 2, 3):
		    spans = collections.defaultdict(list)
		    logged[i] = 0
		    for line in open("%s/access-b%d.log" % (d, i)):
		        addr, port, end, dur = line.split()
		        total += 1
		        logged[i] += 1
		        if addr not in ("198.18.0.2", "198.18.0.3"):
		            why.append("b%d saw peer %s" % (i, addr))
		        if not 1024 <= int(port) <= 65535:
		            why.append("b%d saw port %s" % (i, port))
		        spans[(addr, port)].append((float(end) - float(dur), float(end)))
		    for k, v in spans.items():
		        v.sort()
		        for a, b in zip(v, v[1:]):
		            if b[0] < a[1]:
		                why.append("b%d: %s:%s twice at once" % (i, k[0], k[1]))
		if total != 3000:
		    why.append("backends logged %d requests, 3000 were answered" % total)
		for i in (1, 2, 3):
		    got = logged[i] / 3000 * 100
		    if abs(got - i / 6 * 100) > 3:
		        why.append("b%d logged %.1f%% of the requests, expected %.1f%% +- 3" % (i, got, i / 6 * 100))
		open(d + "/peers.why", "w").write("; ".join(why[:5]))
		sys.exit(1 if why else 0)
	EOF
	lb_ctl show vips --json >"$T_DIR/vips.json"
	[ "$(lb_json "$T_DIR/vips.json" '[v["total"] for v in j["vips"] if v["name"]=="web"][0]')" -ge "$n" ] ||
		fail "show vips counts fewer than $n connections for web"
	lb_ctl show backends web
}

test_lb_long_lived() {
	local i
	lb_backends
	# 300 connections on the drain VIP, 150 on the reset VIP, held 16 s.
	in_ns eph-srv python3 "$LB_PEER" hold "$LB_VIP" 9000 300 16 "$T_DIR/hold.json" &
	local hold=$!
	in_ns eph-srv python3 "$LB_PEER" hold "$LB_VIP" 9001 150 16 "$T_DIR/hold-reset.json" &
	local hold_reset=$!
	sleep 4
	# Weight 0: b3 drains; no new connection reaches it.
	lb_ctl vip backend set-weight hold 198.18.0.13:9000 0
	in_ns eph-srv python3 "$LB_PEER" hold "$LB_VIP" 9000 60 1 "$T_DIR/new-after-drain.json"
	[ "$(lb_json "$T_DIR/new-after-drain.json" 'sum(1 for c in j if c["backend"]=="b3")')" = 0 ] ||
		fail "new connections reached b3 at weight 0"
	# A backend removed and added back (drain): no existing connection moves.
	lb_ctl vip backend remove hold 198.18.0.11:9000
	lb_ctl vip backend add hold 198.18.0.11:9000 100
	lb_ctl vip backend set-weight hold 198.18.0.13:9000 100
	# Removed with on-remove reset: only its own connections end.
	lb_ctl vip backend remove hold-reset 198.18.0.12:9001
	wait "$hold" "$hold_reset"
	python3 - "$T_DIR" <<-'EOF' || fail "$(cat "$T_DIR/hold.why")"
		import json, sys
		d = sys.argv[1]; why = []
		drain = json.load(open(d + "/hold.json"))
		reset = json.load(open(d + "/hold-reset.json"))
		bad = [c for c in drain if c["broken"] or c["changed"] or c["backend"] is None]
		if bad:
		    why.append("drain VIP: %d of 300 connections broke or moved, e.g. %s" % (len(bad), bad[:2]))
		on_b2 = [c for c in reset if c["backend"] == "b2"]
		others = [c for c in reset if c["backend"] != "b2"]
		if not on_b2:
		    why.append("no connection of the reset VIP was on b2")
		if any(not c["broken"] for c in on_b2):
		    why.append("%d connections on the removed b2 were not reset" % sum(1 for c in on_b2 if not c["broken"]))
		if any(c["broken"] or c["changed"] for c in others):
		    why.append("connections on the other backends broke: %s" % [c for c in others if c["broken"]][:2])
		open(d + "/hold.why", "w").write("; ".join(why))
		print("drain: %d ok; reset: %d on b2 reset, %d others ok" % (300 - len(bad), len(on_b2), len(others)))
		sys.exit(1 if why else 0)
	EOF
	lb_serve_stop
	# The far side saw the resets: b2's server counted them.
	[ "$(lb_json "${LB_SERVE_REPORT[2]}" 'j["reset"]')" -gt 0 ] ||
		fail "b2's server saw no connection reset"
	# Every connection of the clients (300 + 150 + 60) reached one backend,
	# and none is left open there.
	local peers=0 live=0
	for i in 1 2 3; do
		peers=$((peers + $(lb_json "${LB_SERVE_REPORT[i]}" 'len(j["tcp_peers"])')))
		live=$((live + $(lb_json "${LB_SERVE_REPORT[i]}" 'j["live"]')))
	done
	assert_eq "$peers" 510 "connections the backends accepted"
	assert_eq "$live" 0 "connections still open at the backends"
}

test_lb_udp() {
	lb_backends
	in_ns eph-srv python3 "$LB_PEER" udp "$LB_VIP" 7 600 >"$T_DIR/udp.json"
	cat "$T_DIR/udp.json"
	python3 - "$T_DIR/udp.json" <<-'EOF' || fail "$(cat "$T_DIR/udp.why")"
		import json, sys
		r = json.load(open(sys.argv[1])); why = []
		if r["moved"]: why.append("%d datagrams reached another backend than their flow's first" % r["moved"])
		if r["lost"]: why.append("%d datagrams unanswered" % r["lost"])
		for b, w in (("b1", 1), ("b2", 2), ("b3", 3)):
		    got = r["per_backend"].get(b, 0) / 600 * 100
		    if abs(got - w / 6 * 100) > 6: why.append("%s got %.1f%% of flows, expected %.1f%% +- 6" % (b, got, w / 6 * 100))
		open(sys.argv[1].replace(".json", ".why"), "w").write("; ".join(why))
		sys.exit(1 if why else 0)
	EOF
}

# lb_drop REASON: the daemon's drop count for REASON.
lb_drop() {
	lb_ctl show stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("drops", {}).get(sys.argv[1], 0))' "$1"
}

test_lb_no_backends() {
	local t0 rc=0 before after drops
	drops="$(lb_drop lb_no_backend)"
	before="$(lb_ctl show vips --json | python3 -c 'import json,sys; print([v["no_backend"] for v in json.load(sys.stdin)["vips"] if v["name"]=="empty"][0])')"
	t0=$EPOCHREALTIME
	in_ns eph-srv curl -sS -m 5 -o /dev/null http://203.0.113.81/ 2>"$T_DIR/curl.err" || rc=$?
	cat "$T_DIR/curl.err"
	assert_eq "$rc" 7 "curl exit status (7: connection refused)"
	python3 -c "import sys; sys.exit(0 if $EPOCHREALTIME - $t0 < 1 else 1)" ||
		fail "refusal took over a second"
	after="$(lb_ctl show vips --json | python3 -c 'import json,sys; print([v["no_backend"] for v in json.load(sys.stdin)["vips"] if v["name"]=="empty"][0])')"
	[ "$after" -gt "$before" ] || fail "no_backend did not count the refusal ($before -> $after)"
	after="$(lb_drop lb_no_backend)"
	[ "$after" -gt "$drops" ] || fail "drop reason lb_no_backend did not count the refusal ($drops -> $after)"
}

test_lb_ping_vip() {
	in_ns eph-srv ping -c 3 -i 0.2 -W 1 "$LB_VIP" >"$T_DIR/ping.out" || { cat "$T_DIR/ping.out"; fail "no echo reply from the VIP"; }
	assert_contains "$(cat "$T_DIR/ping.out")" "3 received" "ping to the VIP"
}

# The weights with several workers: handed-over packets, nothing lost.
test_lb_workers() {
	local n=600 r
	local -A drops
	for r in lb_no_connection nat_handoff_full lb_table_full; do
		drops[$r]="$(lb_drop "$r")"
	done
	lb_backends
	in_ns eph-srv python3 "$LB_PEER" http "http://$LB_VIP/" "$n" 20 >"$T_DIR/http.json"
	cat "$T_DIR/http.json"
	[ "$(lb_json "$T_DIR/http.json" 'j["failures"]')" = 0 ] || fail "requests failed"
	[ "$(lb_json "$T_DIR/http.json" 'sum(j["counts"].values())')" = "$n" ] || fail "answers missing"
	if [ "${E2E_LB_WORKERS:-1}" -gt 1 ]; then
		local handed
		handed="$(eph_tm --get handoff_in /ephemera/lb)"
		echo "handed over: $handed"
		[ "$handed" -gt 0 ] || fail "no packet was handed over between workers"
	fi
	# Drops during this test only: the daemon's counts include the tests before.
	lb_ctl show stats --json >"$T_DIR/stats.json"
	for r in lb_no_connection nat_handoff_full lb_table_full; do
		assert_eq "$(lb_json "$T_DIR/stats.json" "j.get('drops', {}).get('$r', 0)")" "${drops[$r]}" "drops $r"
	done
}

# Bad ephctl arguments: a clear message, a non-zero exit, nothing changed.
test_lb_bad_ctl() {
	local before after out rc
	before="$(lb_ctl show backends web --json)"
	while IFS='|' read -r args want; do
		rc=0
		# shellcheck disable=SC2086 # word splitting of the case's arguments
		out="$(lb_ctl vip backend $args 2>&1)" || rc=$?
		[ "$rc" != 0 ] || fail "vip backend $args: exit 0"
		assert_contains "$out" "$want" "vip backend $args"
	done <<-'EOF'
		add nope 198.18.0.11|no VIP named
		add web 198.18.0.300|ADDRESS
		add web 198.18.0.11:80|already a backend
		set-weight web 198.18.0.11:80 70000|WEIGHT
		set-weight web 198.18.0.11:80|WEIGHT
		remove web 198.18.0.99:80|no backend of
		move web 198.18.0.11|expected add, remove or set-weight
		add web 10.99.0.1:80|not routable
		add web 198.18.0.12:0|ADDRESS
	EOF
	rc=0
	out="$(lb_ctl show backends nope 2>&1)" || rc=$?
	[ "$rc" != 0 ] || fail "show backends nope: exit 0"
	assert_contains "$out" "no VIP named" "show backends of an unknown VIP"
	after="$(lb_ctl show backends web --json)"
	[ "$(echo "$before" | python3 -c 'import json,sys; print([(b["address"],b["port"],b["weight"]) for b in json.load(sys.stdin)["backends"]])')" = \
	  "$(echo "$after" | python3 -c 'import json,sys; print([(b["address"],b["port"],b["weight"]) for b in json.load(sys.stdin)["backends"]])')" ] ||
		fail "the backends changed after refused commands"
}

# proxy-protocol v2 (VIP proxied, 203.0.113.80:8080, local address
# 198.18.0.8): nginx on the backends reads the header (listen ...
# proxy_protocol) and logs the client's address and port from it. Every
# client's address and port, as curl used them, is logged exactly once,
# behind the local address; several MB go down and up intact (sha256).
test_lb_proxy_protocol() {
	local i k n=30 vip="http://$LB_VIP:8080" conf up
	mkdir -p "$T_DIR/www"
	head -c 8M /dev/urandom >"$T_DIR/www/big"
	head -c 6M /dev/urandom >"$T_DIR/upload"
	defer "rm -f '$T_DIR/www/big' '$T_DIR/upload' '$T_DIR/down' '$T_DIR'/up-b*/up/file"
	for i in 1 2 3; do
		mkdir -p "$T_DIR/up-b$i" "$T_DIR/tmp-b$i"
		conf="$T_DIR/nginx-pp-b$i.conf"
		cat >"$conf" <<-EOF
			user root;
			worker_processes 1;
			daemon off;
			pid $T_DIR/nginx-pp-b$i.pid;
			error_log $T_DIR/nginx-pp-b$i.err;
			events { worker_connections 1024; }
			http {
			    log_format pp '\$proxy_protocol_addr:\$proxy_protocol_port \$remote_addr \$request_method \$uri \$status';
			    access_log $T_DIR/pp-b$i.log pp;
			    client_body_temp_path $T_DIR/tmp-b$i;
			    client_max_body_size 64m;
			    keepalive_timeout 0;
			    server {
			        listen 198.18.0.1$i:8080 proxy_protocol;
			        root $T_DIR/www;
			        location /up/ { root $T_DIR/up-b$i; dav_methods PUT; create_full_put_path on; }
			        location = / { return 200 "b$i\n"; }
			    }
			}
		EOF
		bg "eph-b$i" "$T_DIR/nginx-pp-b$i.out" nginx -c "$conf"
	done
	for i in 1 2 3; do
		wait_listen "eph-b$i" tcp 8080
	done
	for ((k = 0; k < n; k++)); do
		in_ns eph-srv curl -sSf -m 10 -o /dev/null -w '%{local_ip}:%{local_port}\n' "$vip/" \
			>>"$T_DIR/clients" || fail "request $k through the PROXY VIP failed"
	done
	in_ns eph-srv curl -sSf -m 60 -o "$T_DIR/down" -w '%{local_ip}:%{local_port}\n' "$vip/big" \
		>>"$T_DIR/clients" || fail "the download failed"
	assert_file_eq "$T_DIR/www/big" "$T_DIR/down" "8 MB download"
	in_ns eph-srv curl -sSf -m 60 -o /dev/null -T "$T_DIR/upload" -w '%{local_ip}:%{local_port}\n' \
		"$vip/up/file" >>"$T_DIR/clients" || fail "the upload failed"
	up="$(ls "$T_DIR"/up-b*/up/file 2>/dev/null)"
	[ "$(wc -w <<<"$up")" = 1 ] || fail "the upload landed on $(wc -w <<<"$up") backends"
	assert_file_eq "$T_DIR/upload" "$up" "6 MB upload"
	# nginx logs a request once it is done with it: give the last ones time.
	for i in $(seq 50); do
		[ "$(cat "$T_DIR"/pp-b*.log | wc -l)" -ge "$((n + 2))" ] && break
		sleep 0.1
	done
	python3 - "$T_DIR" "$((n + 2))" <<-'PY' || fail "$(cat "$T_DIR/pp.why")"
		import collections, glob, sys
		d, n = sys.argv[1], int(sys.argv[2]); why = []
		clients = collections.Counter(l.strip() for l in open(d + "/clients") if l.strip())
		logged = collections.Counter()
		for f in glob.glob(d + "/pp-b*.log"):
		    for line in open(f):
		        pp, peer, method, uri, status = line.split()
		        logged[pp] += 1
		        if peer != "198.18.0.8":
		            why.append("%s: peer %s, expected the local address 198.18.0.8" % (f[-8:], peer))
		        if status not in ("200", "201", "204"):
		            why.append("%s %s answered %s" % (method, uri, status))
		if sum(clients.values()) != n:
		    why.append("%d clients recorded, %d expected" % (sum(clients.values()), n))
		if logged != clients:
		    missing = list((clients - logged).elements())[:3]
		    extra = list((logged - clients).elements())[:3]
		    why.append("the backends' PROXY addresses differ from the clients': missing %s, not a client %s" % (missing, extra))
		open(d + "/pp.why", "w").write("; ".join(why[:5]))
		print("%d clients, each logged once with its own address and port" % len(clients))
		sys.exit(1 if why else 0)
	PY
	[ "$(eph_tm --get proxy_headers /ephemera/lb)" -ge "$((n + 2))" ] ||
		fail "proxy_headers counts fewer than $((n + 2)) headers"
	assert_eq "$(lb_drop lb_proxy_no_room)" 0 "drops lb_proxy_no_room"
}

# lb_vip NAME FIELD: FIELD of VIP NAME in show vips.
lb_vip() {
	lb_ctl show vips --json | python3 -c 'import json,sys; print([v[sys.argv[2]] for v in json.load(sys.stdin)["vips"] if v["name"]==sys.argv[1]][0])' "$1" "$2"
}

# A SYN flood from spoofed random sources at VIP shield (the default bound,
# 1/16 of the connection table per worker) for 8 s, paced (-i u20) to what
# this test bed's CPUs carry beside the daemon: the connections established on
# it before go on exchanging lines with no reset and no stall, new clients
# still get in (their share is reported; the replacement of the oldest
# half-open connection is what lets them), the half-open connections stay
# within the bound and turn over. The flood's answers go to random addresses:
# the gateway drops those it has no route or neighbour for, and counts them
# (the test bed's ports are veths into its namespaces: nothing leaves it).
test_lb_syn_flood() {
	local hold flood replaced0 replaced half_open bound no_route0 no_route sent
	command -v hping3 >/dev/null || skip "hping3 not installed (scripts/deps.sh)"
	lb_backends
	replaced0="$(lb_vip shield half_open_replaced)"
	no_route0="$(lb_drop no_route)"
	in_ns eph-srv python3 "$LB_PEER" hold "$LB_VIP" 9002 50 14 "$T_DIR/flood-hold.json" &
	hold=$!
	sleep 2
	in_ns eph-srv timeout -s INT 8 hping3 -S --rand-source -p 9002 -i u20 "$LB_VIP" \
		>"$T_DIR/hping3.out" 2>&1 &
	flood=$!
	sleep 2
	half_open="$(lb_vip shield half_open)"
	bound="$(lb_vip shield half_open_per_worker)"
	# New clients in the middle of the flood: 200 connections, each exchanging lines for 1 s.
	in_ns eph-srv python3 "$LB_PEER" hold "$LB_VIP" 9002 200 1 "$T_DIR/flood-new.json"
	wait "$flood" || true
	wait "$hold"
	sent="$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$T_DIR/hping3.out")"
	echo "flood: ${sent:-?} SYNs from random sources in 8 s; half-open during it: $half_open (bound $bound per worker)"
	[ "${sent:-0}" -gt 10000 ] || fail "hping3 sent ${sent:-no} SYNs: $(tail -n 3 "$T_DIR/hping3.out" | tr '\n' '|')"
	[ "$half_open" -le $((bound * E2E_LB_WORKERS)) ] ||
		fail "$half_open half-open connections, above the bound $bound per worker"
	replaced="$(lb_vip shield half_open_replaced)"
	echo "half-open connections replaced: $((replaced - replaced0))"
	[ "$replaced" -gt "$replaced0" ] || fail "the flood replaced no half-open connection"
	python3 - "$T_DIR" <<-'EOF' || fail "$(cat "$T_DIR/flood.why")"
		import json, sys
		d = sys.argv[1]; why = []
		held = json.load(open(d + "/flood-hold.json"))
		new = json.load(open(d + "/flood-new.json"))
		bad = [c for c in held if c["broken"] or c["changed"] or c["backend"] is None]
		if bad:
		    why.append("%d of 50 established connections broke or moved, e.g. %s" % (len(bad), bad[:2]))
		stalled = [c for c in held if c["max_wait"] > 1.0]
		if stalled:
		    why.append("%d established connections waited over 1 s for an answer, e.g. %s" % (len(stalled), stalled[:2]))
		if min(c["lines"] for c in held) < 50:
		    why.append("an established connection exchanged only %d lines in 14 s" % min(c["lines"] for c in held))
		ok = [c for c in new if not c["broken"] and c["lines"] > 0]
		print("established during the flood: %d of 50 intact, %d lines the least, longest wait %.3f s"
		      % (50 - len(bad), min(c["lines"] for c in held), max(c["max_wait"] for c in held)))
		print("new connections during the flood: %d of 200 succeeded (%.0f%%)" % (len(ok), len(ok) / 2))
		if not ok:
		    why.append("no new connection got through during the flood: %s" % [c["broken"] for c in new[:3]])
		open(d + "/flood.ok", "w").write(str(len(ok)))
		open(d + "/flood.why", "w").write("; ".join(why))
		sys.exit(1 if why else 0)
	EOF
	lb_serve_stop
	# The far side: no connection the backends accepted was reset, each the
	# clients completed reached one, none is left open.
	local i peers=0 reset=0 live=0
	for i in 1 2 3; do
		peers=$((peers + $(lb_json "${LB_SERVE_REPORT[i]}" 'len(j["tcp_peers"])')))
		reset=$((reset + $(lb_json "${LB_SERVE_REPORT[i]}" 'j["reset"]')))
		live=$((live + $(lb_json "${LB_SERVE_REPORT[i]}" 'j["live"]')))
	done
	assert_eq "$reset" 0 "connections reset at the backends"
	assert_eq "$live" 0 "connections still open at the backends"
	[ "$peers" -ge $((50 + $(cat "$T_DIR/flood.ok"))) ] ||
		fail "the backends accepted $peers connections, the clients completed $((50 + $(cat "$T_DIR/flood.ok")))"
	# Nothing left the test bed: answers to addresses without a route were dropped and counted.
	no_route="$(lb_drop no_route)"
	echo "answers to unroutable sources dropped: $((no_route - no_route0)) (no_route)"
	[ "$no_route" -gt "$no_route0" ] || fail "no answer to a spoofed source was dropped as no_route"
}

# new-connections-per-s 20 on VIP rate: of 100 connections opened at once,
# about a second's worth get through, the rest are refused with a RST; the
# clients saw exactly the refusals the daemon counted.
test_lb_rate_limit() {
	local limited0 limited drops0 drops
	lb_backends
	limited0="$(lb_vip rate rate_limited)"
	drops0="$(lb_drop lb_rate_limited)"
	in_ns eph-srv python3 "$LB_PEER" hold "$LB_VIP" 9003 100 0.3 "$T_DIR/rate.json"
	limited="$(lb_vip rate rate_limited)"
	drops="$(lb_drop lb_rate_limited)"
	python3 - "$T_DIR/rate.json" "$((limited - limited0))" <<-'EOF' || fail "$(cat "$T_DIR/rate.why")"
		import json, sys
		conns = json.load(open(sys.argv[1])); counted = int(sys.argv[2]); why = []
		ok = [c for c in conns if not c["broken"]]
		refused = [c for c in conns if c["broken"] and "refused" in c["broken"].lower()]
		other = [c for c in conns if c["broken"] and c not in refused]
		print("rate 20/s: %d of 100 connected, %d refused, daemon counted %d" % (len(ok), len(refused), counted))
		if other:
		    why.append("%d connections failed otherwise than refused: %s" % (len(other), other[:2]))
		if not 20 <= len(ok) <= 40:
		    why.append("%d connections got through, expected the bucket's 20 and what refilled meanwhile" % len(ok))
		if len(refused) != counted:
		    why.append("clients saw %d refusals, the daemon counted %d" % (len(refused), counted))
		open(sys.argv[1].replace(".json", ".why"), "w").write("; ".join(why))
		sys.exit(1 if why else 0)
	EOF
	assert_eq "$((drops - drops0))" "$((limited - limited0))" "drop reason lb_rate_limited"
}

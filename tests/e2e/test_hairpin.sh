# shellcheck shell=bash
# Hairpinning with real hosts (hairpin_conf in run.sh: the inside hosts'
# pool maps and filters endpoint-independently): h2 opens a mapping towards
# the server; h1 reaches h2 through it, and h2 sees h1's own outside address
# and port (RFC 4787 REQ-9, RFC 5382 REQ-8), both ways, UDP and TCP.

# hp_mapping PROTO PORT: HP_MAPPING := h2's outside address:port for its
# local PORT, as the server saw it; h2 then answers what comes through it.
# UDP: one datagram from h2:PORT to the server. TCP: a connection from
# h2:PORT to the server, held open (the mapping lives as long) until the test ends.
hp_mapping() {
	local proto="$1" port="$2" seen
	cat >"$T_DIR/srv-$proto.py" <<-'EOF'
		import socket, sys, time
		addr, proto = sys.argv[1], sys.argv[2]
		if proto == "udp":
		    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((addr, 6100))
		    data, peer = s.recvfrom(100)
		    print("peer %s:%d" % peer, flush=True)
		else:
		    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		    s.bind((addr, 6101)); s.listen(4)
		    c, peer = s.accept()
		    print("peer %s:%d" % peer, flush=True)
		    time.sleep(60)
	EOF
	bg eph-srv "$T_DIR/srv-$proto.out" python3 -u "$T_DIR/srv-$proto.py" "$SRV" "$proto"
	wait_listen eph-srv "$proto" "$([ "$proto" = udp ] && echo 6100 || echo 6101)"
	cat >"$T_DIR/h2-$proto.py" <<-'EOF'
		import socket, sys, threading, time
		srv, proto, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
		if proto == "udp":
		    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", port))
		    s.sendto(b"open", (srv, 6100))
		    s.settimeout(30)
		    while True:  # answer whoever comes through the mapping
		        data, peer = s.recvfrom(100)
		        print("from %s:%d %s" % (peer[0], peer[1], data.decode()), flush=True)
		        s.sendto(b"echo:" + data, peer)
		else:
		    out = socket.socket(); out.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		    out.bind(("0.0.0.0", port)); out.connect((srv, 6101))
		    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		    ls.bind(("0.0.0.0", port)); ls.listen(4)
		    print("listening", flush=True)
		    c, peer = ls.accept()
		    data = c.recv(100)
		    print("from %s:%d %s" % (peer[0], peer[1], data.decode()), flush=True)
		    c.sendall(b"echo:" + data); time.sleep(1)
	EOF
	bg eph-h2 "$T_DIR/h2-$proto.out" python3 -u "$T_DIR/h2-$proto.py" "$SRV" "$proto" "$port"
	for _ in $(seq 50); do
		seen="$(sed -n 's/^peer //p' "$T_DIR/srv-$proto.out")"
		[ -n "$seen" ] && break
		sleep 0.1
	done
	[ -n "$seen" ] || fail "the server never saw h2's $proto from port $port"
	case "$seen" in 203.0.113.10[0-3]:*) ;; *) fail "h2 left as $seen, not a pool address" ;; esac
	HP_MAPPING="$seen"
}

# hp_check PROTO: h1 through h2's mapping and back; both ends see outside addresses.
hp_check() {
	local proto="$1" mapping out from
	hp_mapping "$proto" 5300
	mapping="$HP_MAPPING"
	echo "h2's $proto mapping: $mapping"
	out="$(in_ns eph-h1 python3 - "${mapping%:*}" "${mapping#*:}" "$proto" <<-'EOF'
		import socket, sys
		addr, port, proto = sys.argv[1], int(sys.argv[2]), sys.argv[3]
		if proto == "udp":
		    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
		    s.sendto(b"hairpin", (addr, port))
		    data, peer = s.recvfrom(100)
		else:
		    s = socket.create_connection((addr, port), timeout=3)
		    s.sendall(b"hairpin"); data = s.recv(100); peer = s.getpeername()
		print("%s %s:%d" % (data.decode(), peer[0], peer[1]))
	EOF
	)" || fail "h1 got no $proto answer through h2's mapping $mapping"
	assert_eq "$out" "echo:hairpin $mapping" "h1's answer and where it came from"
	for _ in $(seq 30); do
		from="$(sed -n 's/^from \([^ ]*\) hairpin$/\1/p' "$T_DIR/h2-$proto.out")"
		[ -n "$from" ] && break
		sleep 0.1
	done
	echo "h2 saw h1 as $from"
	case "$from" in
	203.0.113.10[0-3]:*) ;;
	*) fail "h2 saw h1 as '$from', expected h1's outside address and port" ;;
	esac
	[ "$(drop_count nat_hairpin)" = 0 ] || fail "nat_hairpin drops: $(drop_count nat_hairpin)"
}

test_hairpin_udp() { hp_check udp; }
test_hairpin_tcp() { hp_check tcp; }

# shellcheck shell=bash
# The exception path (ports[].kernel-interface): this host's own kernel
# reaches the backend network through the data plane with ordinary tools,
# from the backends port's address. lb_conf (run.sh) gives the backends port
# the kernel interface eph-k-lb, which carries 198.18.0.1/24; the outside
# port has none.

KERNEL_IF=eph-k-lb

# kernel_counts: "to_kernel from_kernel" of the backends port, from ephctl.
kernel_counts() {
	"$EPHCTL" -s "$LB_CTL_SOCK" --json show ports | python3 -c '
import json, sys
p = [p for p in json.load(sys.stdin)["ports"] if p["name"] == "backends"][0]
print(p["to_kernel"], p["from_kernel"])'
}

# A listener on 198.18.0.11:PORT in eph-b1 that stores what it receives in
# FILE and sends back the bytes of SEND_FILE, once.
kernel_sink() {
	bg eph-b1 "$T_DIR/sink-$1.out" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.0.11", int(sys.argv[1]))); s.listen(1)
c, peer = s.accept()
print("peer %s:%d" % peer, flush=True)
c.sendall(open(sys.argv[3], "rb").read())
c.shutdown(socket.SHUT_WR)
with open(sys.argv[2], "wb") as f:
    while True:
        b = c.recv(65536)
        if not b:
            break
        f.write(b)
c.close()' "$1" "$2" "$3"
}

test_kernel_path() {
	local out i to0 from0 to1 from1 udp_out
	out="$(ip -4 -o addr show dev "$KERNEL_IF" 2>&1)" || fail "no kernel interface $KERNEL_IF: $out"
	assert_contains "$out" "inet 198.18.0.1/24" "address of $KERNEL_IF"
	lb_backends
	read -r to0 from0 <<<"$(kernel_counts)"

	# ping: the data plane sends the kernel's requests and gives it the replies.
	out="$(ping -c 3 -i 0.2 -W 2 198.18.0.12 2>&1)" || fail "ping 198.18.0.12 from the host: $out"
	assert_contains "$out" "3 received" "ping replies"

	# HTTP to every backend: each answers its own name and logs the port's address as peer.
	for i in 1 2 3; do
		out="$(curl -sS -m 5 "http://198.18.0.1$i/" 2>&1)" || fail "curl to b$i from the host: $out"
		assert_eq "$out" "b$i" "body from b$i"
	done
	sleep 0.5
	for i in 1 2 3; do
		grep -q '^198\.18\.0\.1 ' "$T_DIR/access-b$i.log" ||
			fail "b$i never saw 198.18.0.1 as peer: $(tail -n 3 "$T_DIR/access-b$i.log" | tr '\n' '|')"
	done

	# A TCP transfer both ways at once, checked by hash on both sides.
	head -c 3000000 /dev/urandom >"$T_DIR/up.bin"
	head -c 2000000 /dev/urandom >"$T_DIR/down.bin"
	kernel_sink 7070 "$T_DIR/up.got" "$T_DIR/down.bin"
	wait_listen eph-b1 tcp 7070
	python3 - "$T_DIR/up.bin" "$T_DIR/down.got" <<-'EOF' || fail "transfer through $KERNEL_IF failed"
		import socket, sys, threading
		c = socket.create_connection(("198.18.0.11", 7070), timeout=20)
		got = bytearray()
		def reader():
		    while True:
		        b = c.recv(65536)
		        if not b:
		            return
		        got.extend(b)
		t = threading.Thread(target=reader); t.start()
		c.sendall(open(sys.argv[1], "rb").read()); c.shutdown(socket.SHUT_WR)
		t.join(20)
		open(sys.argv[2], "wb").write(got)
	EOF
	for i in $(seq 50); do [ -s "$T_DIR/up.got" ] && ! kill -0 "$BG_PID" 2>/dev/null && break; sleep 0.1; done
	assert_file_eq "$T_DIR/up.bin" "$T_DIR/up.got" "host -> b1 through the data plane"
	assert_file_eq "$T_DIR/down.bin" "$T_DIR/down.got" "b1 -> host through the data plane"
	assert_contains "$(cat "$T_DIR/sink-7070.out")" "peer 198.18.0.1:" "b1's view of the host"

	# UDP: a datagram out and its echo back.
	bg eph-b2 "$T_DIR/udp.out" python3 "$E2E_DIR/udp_echo.py" 198.18.0.12 7071 "$T_DIR/udp.got" 20
	wait_listen eph-b2 udp 7071
	udp_out="$(python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(b"from the host", ("198.18.0.12", 7071))
print(s.recvfrom(100)[0].decode())')" || fail "no UDP echo through $KERNEL_IF"
	assert_eq "$udp_out" "echo:from the host" "UDP echo"
	assert_contains "$(cat "$T_DIR/udp.out")" "from 198.18.0.1:" "b2's view of the host"

	read -r to1 from1 <<<"$(kernel_counts)"
	echo "to_kernel $to0 -> $to1, from_kernel $from0 -> $from1"
	[ "$((to1 - to0))" -ge 100 ] || fail "to_kernel moved by $((to1 - to0)), expected the transfer's packets"
	[ "$((from1 - from0))" -ge 100 ] || fail "from_kernel moved by $((from1 - from0))"
}

# The gateway's own address on a port without a kernel interface: TCP to it
# is dropped and counted, as before the exception path existed.
test_kernel_none_outside() {
	local before after
	before="$(drop_count local_unsupported)"
	in_ns eph-srv python3 -c '
import socket
s = socket.socket(); s.settimeout(1)
try:
    s.connect(("203.0.113.1", 22))
except OSError:
    pass' || true
	sleep 0.3
	after="$(drop_count local_unsupported)"
	[ "$after" -gt "$before" ] || fail "local_unsupported did not count the SYN to 203.0.113.1:22 ($before -> $after)"
}

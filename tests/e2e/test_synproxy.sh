# shellcheck shell=bash
# The SYN proxy with real peers: nginx on the backends eph-b1..3, clients in
# eph-srv (203.0.113.10), the VIPs of lb_conf (tests/e2e/run.sh): syncookie
# 203.0.113.80:8090 (syn-proxy: on, local address 198.18.0.25) and
# syncookie-pp :8091 (syn-proxy and proxy-protocol v2, 198.18.0.26).

SP_PORT=8090
SP_PP_PORT=8091

# sp_nginx: per backend, nginx on :8090 (files from $T_DIR/www) and on
# :8091 behind proxy_protocol, logging the header's client address.
sp_nginx() {
	local i conf
	mkdir -p "$T_DIR/www"
	for i in 1 2 3; do
		conf="$T_DIR/nginx-sp-b$i.conf"
		cat >"$conf" <<-EOF
			user root;
			worker_processes 1;
			daemon off;
			pid $T_DIR/nginx-sp-b$i.pid;
			error_log $T_DIR/nginx-sp-b$i.err;
			events { worker_connections 4096; }
			http {
			    log_format pp '\$proxy_protocol_addr:\$proxy_protocol_port \$remote_addr \$status';
			    keepalive_timeout 0;
			    server {
			        listen 198.18.0.1$i:$SP_PORT backlog=4096;
			        access_log off;
			        root $T_DIR/www;
			        location = / { return 200 "b$i\n"; }
			    }
			    server {
			        listen 198.18.0.1$i:$SP_PP_PORT proxy_protocol;
			        access_log $T_DIR/sp-pp-b$i.log pp;
			        root $T_DIR/www;
			        location = / { return 200 "b$i\n"; }
			    }
			}
		EOF
		bg "eph-b$i" "$T_DIR/nginx-sp-b$i.out" nginx -c "$conf"
	done
	for i in 1 2 3; do
		wait_listen "eph-b$i" tcp "$SP_PORT"
		wait_listen "eph-b$i" tcp "$SP_PP_PORT"
	done
}

# sp_vip NAME FIELD: a field of a VIP in show vips --json.
sp_vip() {
	lb_ctl show vips --json |
		python3 -c 'import json,sys; print([v for v in json.load(sys.stdin)["vips"] if v["name"] == sys.argv[1]][0][sys.argv[2]])' "$1" "$2"
}

sp_ctr() { eph_tm --get "$1" /ephemera/lb; }

test_lb_syn_proxy() {
	local k n=40 vip="http://$LB_VIP:$SP_PORT" sent0 valid0 bad0
	sp_nginx
	head -c 8M /dev/urandom >"$T_DIR/www/big"
	defer "rm -f '$T_DIR/www/big' '$T_DIR/down' '$T_DIR/down-pp'"
	assert_eq "$(sp_vip syncookie syn_proxy)" on "show vips: syn_proxy"
	sent0="$(sp_ctr syn_cookies_sent)"
	valid0="$(sp_ctr syn_cookie_acks_valid)"
	bad0="$(lb_drop lb_syn_cookie_invalid)"
	for ((k = 0; k < n; k++)); do
		in_ns eph-srv curl -sSf -m 5 "$vip/" >>"$T_DIR/bodies" ||
			fail "request $k through the syn-proxy VIP failed"
	done
	[ "$(grep -c '^b[123]$' "$T_DIR/bodies")" = "$n" ] || fail "bodies: $(sort "$T_DIR/bodies" | uniq -c | tr '\n' ' ')"
	in_ns eph-srv curl -sSf -m 60 -o "$T_DIR/down" "$vip/big" || fail "the download failed"
	assert_file_eq "$T_DIR/www/big" "$T_DIR/down" "8 MB download through the SYN proxy"
	# With proxy-protocol: the header still reaches the backend, the data intact.
	for ((k = 0; k < 10; k++)); do
		in_ns eph-srv curl -sSf -m 5 -o /dev/null -w '%{local_ip}:%{local_port}\n' \
			"http://$LB_VIP:$SP_PP_PORT/" >>"$T_DIR/pp-clients" ||
			fail "request $k through the syn-proxy + PROXY VIP failed"
	done
	in_ns eph-srv curl -sSf -m 60 -o "$T_DIR/down-pp" "http://$LB_VIP:$SP_PP_PORT/big" ||
		fail "the download through syn-proxy + PROXY failed"
	assert_file_eq "$T_DIR/www/big" "$T_DIR/down-pp" "8 MB download through syn-proxy + PROXY"
	# nginx logs a request once it is done with it: give the last ones time.
	while read -r k; do
		for i in $(seq 50); do
			cat "$T_DIR"/sp-pp-b*.log | grep -q "^$k 198.18.0.26 200$" && break
			[ "$i" = 50 ] && fail "no backend logged client $k from its PROXY header"
			sleep 0.1
		done
	done <"$T_DIR/pp-clients"
	[ "$(($(sp_ctr syn_cookies_sent) - sent0))" -ge "$((n + 12))" ] || fail "syn_cookies_sent too low"
	[ "$(($(sp_ctr syn_cookie_acks_valid) - valid0))" -ge "$((n + 12))" ] ||
		fail "syn_cookie_acks_valid too low"
	[ "$(sp_ctr syn_proxy_handshakes)" -ge "$((n + 12))" ] || fail "syn_proxy_handshakes too low"
	assert_eq "$(($(lb_drop lb_syn_cookie_invalid) - bad0))" 0 "drops lb_syn_cookie_invalid"
	echo "syn-proxy: $n + 10 requests, 8 MB down twice intact"
}

# A SYN flood from spoofed sources while legitimate clients connect: every
# one of them gets through, and the connection table does not grow. The
# flood overruns the test bed's receive path (af_packet: about two thirds
# of the packets are lost before the gateway sees them, legitimate ones
# too), so each client has 20 s for TCP's retransmissions (SYN after 1, 3,
# 7 s, ...) to get through; how many made it within 3 s is reported.
test_lb_syn_proxy_flood() {
	local k n=50 ok fast vip="http://$LB_VIP:$SP_PORT" sent0 sent1 act max=0 pid pids=() flood
	sp_nginx
	command -v hping3 >/dev/null || skip "hping3 is not installed"
	sent0="$(sp_ctr syn_cookies_sent)"
	in_ns eph-srv timeout -s INT 8 hping3 -S --rand-source --flood -p "$SP_PORT" "$LB_VIP" \
		>"$T_DIR/hping3.out" 2>&1 &
	pid=$!
	defer "kill $pid; wait $pid"
	sleep 1
	for ((k = 0; k < n; k++)); do
		in_ns eph-srv curl -sSf -m 20 -o /dev/null -w '%{time_total}\n' "$vip/" \
			>>"$T_DIR/ok" 2>>"$T_DIR/curl.err" &
		pids+=($!)
		sleep 0.1
		if ((k % 5 == 0)); then
			act="$(sp_vip syncookie active)"
			((act > max)) && max=$act
		fi
	done
	wait "$pid" || true
	wait "${pids[@]}" || true
	ok="$(grep -c . "$T_DIR/ok" || true)"
	fast="$(awk '$1 < 3' "$T_DIR/ok" | wc -l)"
	sent1="$(sp_ctr syn_cookies_sent)"
	flood="$(grep -o '[0-9]* packets transmitted' "$T_DIR/hping3.out" | cut -d' ' -f1)"
	echo "syn-proxy flood: ${flood:-?} spoofed SYNs sent in 8 s, $((sent1 - sent0)) answered" \
		"with cookies; $ok/$n legitimate requests succeeded ($fast within 3 s); the VIP's live connections" \
		"at most $max"
	[ "$ok" = "$n" ] || sed 's/^/    /' "$T_DIR/curl.err" | head -5
	[ "$((sent1 - sent0))" -ge 10000 ] || fail "only $((sent1 - sent0)) SYN cookies sent: no flood?"
	assert_eq "$ok" "$n" "legitimate requests during the flood"
	# Each request's connection lingers for tcp-transitory (2 s) after it closes.
	((max <= 40)) || fail "the VIP held $max connections during the flood"
	act="$(sp_vip syncookie active)"
	((act <= 40)) || fail "the VIP holds $act connections after the flood"
}

# shellcheck shell=bash
# Configuration checking (--check) and start-up failures: no traffic needed.

CONF="$EPH_ROOT/conf/ephemera.yaml"

# check_run FILE: run --check, leave rc/stdout/stderr in CK_RC CK_OUT CK_ERR.
check_run() {
	CK_RC=0
	timeout 20 "$EPH_BIN" --check -c "$1" >"$T_DIR/out" 2>"$T_DIR/err" </dev/null || CK_RC=$?
	CK_OUT="$(cat "$T_DIR/out")"
	CK_ERR="$(cat "$T_DIR/err")"
	printf 'rc=%s\n--- stdout\n%s\n--- stderr\n%s\n' "$CK_RC" "$CK_OUT" "$CK_ERR"
}

# line_of FILE TEXT: line number of the first line containing TEXT.
line_of() {
	grep -nF -- "$2" "$1" | head -n 1 | cut -d: -f1
}

test_check_ok() {
	check_run "$CONF"
	assert_eq "$CK_RC" 0 "--check exit status"
	assert_contains "$CK_OUT" "configuration ok" "--check stdout"
}

test_check_bad_value() {
	local f="$T_DIR/bad-value.yaml" line
	sed 's|address: 192.0.2.1/24|address: 192.0.2.300/24|' "$CONF" >"$f"
	line="$(line_of "$f" 192.0.2.300)"
	check_run "$f"
	assert_eq "$CK_RC" 2 "--check exit status for a bad address"
	assert_match "$CK_ERR" "$f:$line:[0-9]+" "stderr must point at $f:$line:col"
}

test_check_unknown_key() {
	local f="$T_DIR/unknown-key.yaml" line
	sed 's|^\(  memory-mb: .*\)$|\1\n  no-such-key: 1|' "$CONF" >"$f"
	line="$(line_of "$f" no-such-key)"
	[ -n "$line" ] || fail "test could not insert the unknown key"
	check_run "$f"
	assert_eq "$CK_RC" 2 "--check exit status for an unknown key"
	assert_match "$CK_ERR" "$f:$line:[0-9]+" "stderr must point at $f:$line:col"
}

test_check_bad_syntax() {
	local f="$T_DIR/bad-syntax.yaml"
	sed 's|^  - name: outside|  - name: [outside|' "$CONF" >"$f"
	check_run "$f"
	assert_eq "$CK_RC" 2 "--check exit status for a YAML syntax error"
	assert_match "$CK_ERR" "$f:[0-9]+:[0-9]+" "stderr must say $f:line:col"
}

test_check_bad_route() {
	local f="$T_DIR/bad-route.yaml" line
	sed 's|prefix: 198.51.100.0/24|prefix: 198.51.100.0/33|' "$CONF" >"$f"
	line="$(line_of "$f" 198.51.100.0/33)"
	check_run "$f"
	assert_eq "$CK_RC" 2 "--check exit status for a /33 prefix"
	assert_match "$CK_ERR" "$f:$line:[0-9]+" "stderr must point at $f:$line:col"
}

test_check_missing_file() {
	local f="$T_DIR/does-not-exist.yaml"
	check_run "$f"
	assert_ne "$CK_RC" 0 "--check exit status for a missing file"
	[ "$CK_RC" -lt 124 ] || fail "--check on a missing file ended with status $CK_RC"
	assert_contains "$CK_ERR" "$f" "stderr must name the file"
}

# A copy of the test-bed config that cannot disturb a running daemon: its own
# EAL prefix and control socket.
private_conf() {
	sed -e "s|file-prefix: ephemera|file-prefix: eph-e2e|" \
		-e "s|socket: /run/ephemera/ephemera.sock|socket: $T_DIR/ctl.sock|" "$CONF" >"$1"
	grep -q 'file-prefix: eph-e2e' "$1" || fail "could not give $1 a private file-prefix"
	defer "eph_dpdk_cleanup eph-e2e"
}

# start_run FILE [wrapper...]: run the daemon expecting it to fail fast.
start_run() {
	local f="$1"
	shift
	ST_RC=0
	"$@" timeout 30 "$EPH_BIN" -c "$f" >"$T_DIR/out" 2>"$T_DIR/err" </dev/null || ST_RC=$?
	ST_ERR="$(cat "$T_DIR/err")"
	ST_LAST="$(grep -v '^[[:space:]]*$' "$T_DIR/err" | tail -n 1 || true)"
	printf 'rc=%s\n--- stdout\n%s\n--- stderr\n%s\n' "$ST_RC" "$(cat "$T_DIR/out")" "$ST_ERR"
	[ "$ST_RC" -ne 124 ] || fail "daemon still running after 30 s instead of failing"
	[ "$ST_RC" -ne 0 ] || fail "daemon exited 0"
	[ "$ST_RC" -lt 128 ] || fail "daemon died of signal $((ST_RC - 128))"
}

test_start_bad_device() {
	local f="$T_DIR/bad-device.yaml"
	private_conf "$T_DIR/base.yaml"
	sed 's|iface=eph-in|iface=eph-nosuch|' "$T_DIR/base.yaml" >"$f"
	start_run "$f"
	assert_match "$ST_LAST" "eph-nosuch|net_af_packet0|inside" \
		"last stderr line must name the device"
}

# Runs the daemon in a private mount namespace where no hugetlbfs is mounted;
# the machine's own mount is never touched.
test_start_no_hugepages() {
	local f="$T_DIR/nohuge.yaml"
	command -v unshare >/dev/null || skip "unshare not installed"
	private_conf "$f"
	# shellcheck disable=SC2016 # expanded by the inner shell
	start_run "$f" unshare -m --propagation private sh -c '
		for m in $(awk "\$3 == \"hugetlbfs\" {print \$2}" /proc/mounts); do
			umount -l "$m" || exit 99
		done
		exec "$@"' nohuge
	assert_match "$ST_LAST" "[Hh]uge" "last stderr line must say hugepages are missing"
	mountpoint -q /dev/hugepages || fail "/dev/hugepages lost its mount outside the test"
}

test_check_lb_example() {
	check_run "$EPH_ROOT/conf/examples/lb.yaml"
	assert_eq "$CK_RC" 0 "--check exit status of conf/examples/lb.yaml"
	assert_contains "$CK_OUT" "configuration ok" "--check stdout"
}

# A VIP's bad weight, an unknown source pool, a backend no route reaches:
# each named with its file:line and key.
test_check_lb_bad() {
	local f="$T_DIR/bad-lb.yaml" line
	sed -e 's|- {address: 198.18.0.12, weight: 2}|- {address: 198.18.0.12, weight: 70000}|' \
		-e 's|local-addresses: \[198.18.0.4\]|source-pool: nope|' \
		-e 's|- {address: 198.18.0.13}|- {address: 10.99.0.13}|' \
		"$EPH_ROOT/conf/examples/lb.yaml" >"$f"
	check_run "$f"
	assert_eq "$CK_RC" 2 "--check exit status for bad VIPs"
	line="$(line_of "$f" "weight: 70000")"
	assert_match "$CK_ERR" "$f:$line:[0-9]+: error: vips\[0\]\.backends\[1\]\.weight: expected an integer from 0 to 65535" "the bad weight"
	line="$(line_of "$f" "source-pool: nope")"
	assert_match "$CK_ERR" "$f:$line:[0-9]+: error: vips\[1\]\.source-pool: no pool named" "the unknown pool"
}

# Rules across keys, once every key reads: a backend no route reaches
# (reported at its own line though sorted first), two VIPs on one address,
# port and protocol, a Maglev size that is not prime.
test_check_lb_rules() {
	local f="$T_DIR/bad-lb-rules.yaml" line
	sed -e 's|- {address: 198.18.0.13, weight: 3}|- {address: 10.99.0.13, weight: 3}|' \
		-e 's|port: 7$|port: 80|' -e 's|protocol: udp|protocol: tcp|' \
		-e 's|local-addresses: \[198.18.0.4\]|local-addresses: [198.18.0.4]\n    maglev-size: 1000|' \
		"$EPH_ROOT/conf/examples/lb.yaml" >"$f"
	check_run "$f"
	assert_eq "$CK_RC" 2 "--check exit status for VIPs breaking rules"
	line="$(line_of "$f" "10.99.0.13")"
	assert_match "$CK_ERR" "$f:$line:[0-9]+: error: vips\[0\]\.backends\[2\]: backend 10\.99\.0\.13 is not routable" "the unroutable backend"
	line="$(grep -n "address: 203.0.113.80" "$f" | sed -n 2p | cut -d: -f1)"
	assert_match "$CK_ERR" "$f:$line:[0-9]+: error: vips\[1\]\.address: 203\.0\.113\.80 port 80 tcp is already vip web" "the second VIP on one address"
	line="$(line_of "$f" "maglev-size: 1000")"
	assert_match "$CK_ERR" "$f:$line:[0-9]+: error: vips\[1\]\.maglev-size: expected a prime number" "the Maglev size"
}

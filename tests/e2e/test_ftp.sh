# shellcheck shell=bash
# FTP through the NAT (RFC 959, RFC 2428; ftp_conf in run.sh: the inside
# hosts' pool has `alg: [ftp]`): vsftpd on the outside server, curl and
# tests/e2e/ftp_client.py on eph-h1. vsftpd checks addresses itself
# (port_promiscuous=NO: a PORT/EPRT must name the control connection's
# client; pasv_promiscuous=NO: a passive data connection must come from
# it) and connects from port 20 in active mode, so a transfer only
# succeeds when the gateway rewrote the command to h1's pool address and
# a port it then admits the server's connection to. Every file is random
# and compared by SHA-256 at both ends; vsftpd's protocol log shows what
# reached it.

FTP_PORT=21
FTP_PASV_PORTS=(30000 30099)

# ftp_server: vsftpd on $SRV:21 in eph-srv, anonymous, its root
# $T_DIR/root (files to fetch) with $T_DIR/root/up writable for uploads,
# its log (every command and reply) in $T_DIR/vsftpd.log. Sets FTP_ROOT, FTP_LOG.
ftp_server() {
	FTP_ROOT="$T_DIR/root" FTP_LOG="$T_DIR/vsftpd.log"
	# vsftpd refuses a chroot root its anonymous user could write to.
	mkdir -p "$FTP_ROOT/up" "$T_DIR/empty"
	chmod 0755 "$T_DIR" "$FTP_ROOT" "$T_DIR/empty"
	chown ftp "$FTP_ROOT/up"
	: >"$FTP_LOG"
	cat >"$T_DIR/vsftpd.conf" <<-EOF
		listen=YES
		listen_ipv6=NO
		listen_address=$SRV
		listen_port=$FTP_PORT
		background=NO
		anonymous_enable=YES
		local_enable=NO
		no_anon_password=YES
		anon_root=$FTP_ROOT
		write_enable=YES
		anon_upload_enable=YES
		anon_umask=022
		secure_chroot_dir=$T_DIR/empty
		seccomp_sandbox=NO
		isolate=NO
		isolate_network=NO
		pasv_enable=YES
		pasv_min_port=${FTP_PASV_PORTS[0]}
		pasv_max_port=${FTP_PASV_PORTS[1]}
		pasv_promiscuous=NO
		port_enable=YES
		port_promiscuous=NO
		connect_from_port_20=YES
		ftp_data_port=20
		xferlog_enable=YES
		xferlog_std_format=NO
		log_ftp_protocol=YES
		vsftpd_log_file=$FTP_LOG
		max_per_ip=0
		data_connection_timeout=20
		idle_session_timeout=60
	EOF
	bg eph-srv "$T_DIR/vsftpd.out" vsftpd "$T_DIR/vsftpd.conf"
	wait_listen eph-srv tcp "$FTP_PORT"
}

# ftp_files NAME:SIZE...: random files of those sizes in the server's root.
ftp_files() {
	local spec
	for spec in "$@"; do
		head -c "${spec#*:}" /dev/urandom >"$FTP_ROOT/${spec%%:*}"
		chmod 0644 "$FTP_ROOT/${spec%%:*}"
	done
}

# ftp_curl ARGS...: curl in eph-h1 with a time limit; fails the test with
# curl's status and error and vsftpd's last reply. (Debian 12's curl 7.88.1
# reports a harmless "sa_addr inet_ntop() failed" in active mode: curl
# issue 10622; the status says what failed.)
ftp_curl() {
	local out rc=0
	out="$(in_ns eph-h1 curl -sS --max-time 30 --connect-timeout 5 "$@" 2>&1)" || rc=$?
	[ "$rc" = 0 ] ||
		fail "curl $* exited $rc: $(tail -n 1 <<<"$out"); vsftpd's last refusal: $(sed -n 's/.*FTP response: Client "[0-9.]*", "\([45].*\)"$/\1/p' "$FTP_LOG" | tail -n 1)"
}

# ftp_log_count REGEX: lines of vsftpd's log that match.
ftp_log_count() { grep -c -- "$1" "$FTP_LOG" || true; }

# ftp_fetch_all CURL_OPTS...: each of the server's files FTP_FILES (default
# f0 f1k f1m f20m) fetched with those curl options, then a 5 MiB file
# uploaded; all equal.
ftp_fetch_all() {
	local f tag="${FTP_TAG:-x}" big
	big="$(ftp_log_count 'OK DOWNLOAD: Client "[0-9.]*", "/f20m", 20971520 bytes')"
	mkdir -p "$T_DIR/h1"
	for f in ${FTP_FILES:-f0 f1k f1m f20m}; do
		rm -f "$T_DIR/h1/$f"
		ftp_curl "$@" -o "$T_DIR/h1/$f" "ftp://$SRV/$f"
		# curl leaves no file for an empty download.
		[ -e "$T_DIR/h1/$f" ] || [ -s "$FTP_ROOT/$f" ] || : >"$T_DIR/h1/$f"
		assert_file_eq "$FTP_ROOT/$f" "$T_DIR/h1/$f" "$f ($*)"
	done
	head -c 5242880 /dev/urandom >"$T_DIR/h1/up5m-$tag"
	ftp_curl "$@" -T "$T_DIR/h1/up5m-$tag" "ftp://$SRV/up/up5m-$tag"
	assert_file_eq "$T_DIR/h1/up5m-$tag" "$FTP_ROOT/up/up5m-$tag" "upload ($*)"
	[ "$(ftp_log_count 'OK DOWNLOAD: Client "[0-9.]*", "/f20m", 20971520 bytes')" -gt "$big" ] ||
		fail "vsftpd logged no whole download of f20m"
	grep -q "OK UPLOAD: Client \"[0-9.]*\", \"/up/up5m-$tag\", 5242880 bytes" "$FTP_LOG" ||
		fail "vsftpd logged no whole upload of up5m-$tag"
	echo "curl $*: ${FTP_FILES:-f0 f1k f1m f20m} and a 5 MiB upload intact"
}

# ftp_log_clients: the client addresses vsftpd's log names, one a line.
ftp_log_clients() {
	sed -n 's/.*Client "\([0-9.]*\)".*/\1/p' "$FTP_LOG" | sort -u
}

# The clients in vsftpd's log are all one pool address (paired pooling:
# control and data connections leave from the same one); prints it.
ftp_check_clients() {
	local clients
	clients="$(ftp_log_clients)"
	[ -n "$clients" ] || fail "vsftpd logged no client: $(head -c 400 "$FTP_LOG")"
	[ "$(wc -l <<<"$clients")" = 1 ] || fail "vsftpd saw several clients: $(tr '\n' ' ' <<<"$clients")"
	case "$clients" in
	203.0.113.10[0-3]) ;;
	*) fail "vsftpd saw the client as $clients, not a pool address" ;;
	esac
	echo "$clients"
}

# The PORT and EPRT commands vsftpd received, one a line.
ftp_log_port_cmds() {
	sed -n 's/.*FTP command: Client "[0-9.]*", "\(PORT [^"]*\|EPRT [^"]*\)".*/\1/p' "$FTP_LOG"
}

# ftp_check_port_cmds ADDR VERB...: vsftpd received each VERB (PORT, EPRT)
# at least once, and every PORT and EPRT it received names ADDR, never an
# inside address.
ftp_check_port_cmds() {
	local addr="$1" verb cmds line
	shift
	cmds="$(ftp_log_port_cmds)"
	for verb in "$@"; do
		grep -q "^$verb " <<<"$cmds" || fail "vsftpd received no $verb: $(grep -m 20 'FTP command' "$FTP_LOG" | tr '\n' '|')"
	done
	while read -r line; do
		case "$line" in
		"PORT ${addr//./,},"* | "EPRT |1|$addr|"*) ;;
		*) fail "vsftpd received '$line', expected it to name $addr" ;;
		esac
	done <<<"$cmds"
	echo "vsftpd received: $(tr '\n' ';' <<<"$cmds")"
}

# The gateway's FTP counters, summed over the workers, in this order.
FTP_CTRS=(ftp_commands_rewritten ftp_data_expected ftp_split_refused ftp_refused ftp_table_full)
ftp_ctrs() { nat_sum "${FTP_CTRS[@]}"; }

# ftp_check_ctrs BEFORE MIN_REWRITTEN MIN_EXPECTED SPLIT: since BEFORE
# (ftp_ctrs), ftp_commands_rewritten and ftp_data_expected rose by at least
# the minimums, ftp_split_refused by exactly SPLIT; nothing was refused
# otherwise (ftp_refused) and every control connection had the gateway
# (ftp_table_full).
ftp_check_ctrs() {
	local -a b n d
	local i
	read -r -a b <<<"$1"
	read -r -a n <<<"$(ftp_ctrs)"
	for i in "${!FTP_CTRS[@]}"; do
		d+=($((n[i] - b[i])))
	done
	echo "counters rose: $(for i in "${!FTP_CTRS[@]}"; do printf '%s +%s ' "${FTP_CTRS[i]}" "${d[i]}"; done)"
	[ "${d[0]}" -ge "$2" ] || fail "ftp_commands_rewritten rose by ${d[0]}, expected at least $2"
	[ "${d[1]}" -ge "$3" ] || fail "ftp_data_expected rose by ${d[1]}, expected at least $3"
	[ "${d[2]}" -eq "$4" ] || fail "ftp_split_refused rose by ${d[2]}, expected $4"
	[ "${d[3]}" -eq 0 ] || fail "ftp_refused rose by ${d[3]}"
	[ "${d[4]}" -eq 0 ] || fail "ftp_table_full rose by ${d[4]}"
}

# ftp_py STEPS...: ftp_client.py in eph-h1 against the server; its output in
# $T_DIR/client.out, its FAIL line the reason of a failure.
ftp_py() {
	local rc=0
	in_ns eph-h1 timeout 60 python3 -I "$E2E_DIR/ftp_client.py" --server "$SRV" "$@" \
		>"$T_DIR/client.out" 2>&1 || rc=$?
	cat "$T_DIR/client.out"
	[ "$rc" -eq 0 ] ||
		fail "ftp_client.py: $(grep -m1 '^FAIL' "$T_DIR/client.out" || tail -n 1 "$T_DIR/client.out")"
}

# Passive mode (EPSV, curl's default, then PASV): downloads of 0 B to
# 20 MiB and a 5 MiB upload intact; vsftpd saw one pool address for the
# control and data connections; nothing to rewrite.
test_ftp_passive() {
	local before addr
	ftp_server
	ftp_files f0:0 f1k:1024 f1m:1048576 f20m:20971520
	before="$(ftp_ctrs)"
	FTP_TAG=epsv ftp_fetch_all --ftp-pasv
	FTP_TAG=pasv ftp_fetch_all --ftp-pasv --disable-epsv
	addr="$(ftp_check_clients)"
	echo "vsftpd saw h1 as $addr"
	grep -q 'FTP command: Client "[0-9.]*", "EPSV"' "$FTP_LOG" || fail "vsftpd received no EPSV"
	grep -q 'FTP command: Client "[0-9.]*", "PASV"' "$FTP_LOG" || fail "vsftpd received no PASV"
	[ -z "$(ftp_log_port_cmds)" ] || fail "PORT/EPRT in passive mode: $(ftp_log_port_cmds)"
	ftp_check_ctrs "$before" 0 0 0
}

# Active mode: curl sends EPRT (its default), then with --disable-eprt
# PORT, naming h1's own address (1 MiB and 20 MiB down, 5 MiB up; the
# empty and 1 KiB files through ftp_client.py); the gateway rewrites each
# to h1's pool address and a port, and admits vsftpd's connection from
# port 20 to it.
test_ftp_active() {
	local before addr f
	ftp_server
	ftp_files f0:0 f1k:1024 f1m:1048576 f20m:20971520
	before="$(ftp_ctrs)"
	# The small files through ftp_client.py, which waits for the data
	# connection before it reads replies. vsftpd sends such a file whole,
	# closes and sends 150 and 226 at once; when those overtake the last ACK
	# of the data connection's handshake (another flow: the gateway keeps no
	# order between flows), curl 7.88 gives up with exit 8 (weird server
	# reply) though the file reached it.
	FTP_FILES="f1m f20m" FTP_TAG=eprt ftp_fetch_all --ftp-port -
	FTP_FILES="f1m f20m" FTP_TAG=port ftp_fetch_all --ftp-port - --disable-eprt
	ftp_py get eprt f0 "$T_DIR/h1/f0.eprt" get port f0 "$T_DIR/h1/f0.port" \
		get eprt f1k "$T_DIR/h1/f1k.eprt" get port f1k "$T_DIR/h1/f1k.port"
	for f in f0.eprt f0.port f1k.eprt f1k.port; do
		assert_file_eq "$FTP_ROOT/${f%.*}" "$T_DIR/h1/$f" "$f"
	done
	addr="$(ftp_check_clients)"
	echo "vsftpd saw h1 as $addr"
	ftp_check_port_cmds "$addr" EPRT PORT
	# Each of the 10 transfers: one command rewritten, one connection expected.
	ftp_check_ctrs "$before" 10 10 0
}

# A PORT cut across two TCP segments: the gateway cannot rewrite it whole,
# so it spoils the verb (vsftpd answers 500), counts it, and the control
# connection goes on: NOOP answers 200, then active transfers with a PORT
# and an EPRT in one segment each work (the sequence offsets still agree).
test_ftp_split() {
	local before addr
	ftp_server
	ftp_files f64k:65536
	before="$(ftp_ctrs)"
	ftp_py split-port noop get port f64k "$T_DIR/f64k.port" \
		put eprt "$FTP_ROOT/f64k" up/f64k get eprt f64k "$T_DIR/f64k.eprt" noop
	assert_file_eq "$FTP_ROOT/f64k" "$T_DIR/f64k.port" "f64k after the refusal (PORT)"
	assert_file_eq "$FTP_ROOT/f64k" "$FTP_ROOT/up/f64k" "upload after the refusal (EPRT)"
	assert_file_eq "$FTP_ROOT/f64k" "$T_DIR/f64k.eprt" "f64k after the refusal (EPRT)"
	addr="$(ftp_check_clients)"
	grep -q 'FTP command: Client "[0-9.]*", "XXXX ' "$FTP_LOG" ||
		fail "vsftpd did not receive the spoilt PORT as XXXX: $(grep -m 10 'FTP command' "$FTP_LOG" | tr '\n' '|')"
	grep -q 'FTP response: Client "[0-9.]*", "500 ' "$FTP_LOG" || fail "vsftpd answered no 500"
	# The spoilt command is not a PORT: the others name the pool address.
	ftp_check_port_cmds "$addr" PORT EPRT
	[ "$(ftp_log_port_cmds | wc -l)" = 3 ] || fail "vsftpd received $(ftp_log_port_cmds | wc -l) PORT/EPRT, expected 3"
	ftp_check_ctrs "$before" 3 3 1
}

# One control connection, ten transfers: active and passive in turn, both
# directions, sizes from 1 byte to 3 MiB. Each rewrite that changes the
# command's length moves the sequence offsets again; every file is intact
# and the replies keep coming.
test_ftp_session() {
	local before addr i mode f
	local -a steps modes=(port pasv eprt epsv) sizes=(1 1000 65536 1500 3145728 7 300000 1048575 4096 2000000)
	ftp_server
	for i in "${!sizes[@]}"; do
		ftp_files "s$i:${sizes[i]}"
	done
	mkdir -p "$T_DIR/h1"
	before="$(ftp_ctrs)"
	for i in "${!sizes[@]}"; do
		mode="${modes[i % 4]}"
		if ((i % 3 == 2)); then
			steps+=(put "$mode" "$FTP_ROOT/s$i" "up/s$i")
		else
			steps+=(get "$mode" "s$i" "$T_DIR/h1/s$i")
		fi
		((i % 4 != 1)) || steps+=(noop)
	done
	ftp_py "${steps[@]}"
	for i in "${!sizes[@]}"; do
		f="$T_DIR/h1/s$i"
		((i % 3 != 2)) || f="$FTP_ROOT/up/s$i"
		assert_file_eq "$FTP_ROOT/s$i" "$f" "transfer $i (${modes[i % 4]}, ${sizes[i]} bytes)"
	done
	[ "$(grep -c 'CONNECT: Client' "$FTP_LOG")" = 1 ] ||
		fail "vsftpd saw $(grep -c 'CONNECT: Client' "$FTP_LOG") control connections, expected 1"
	addr="$(ftp_check_clients)"
	ftp_check_port_cmds "$addr" PORT EPRT
	ftp_check_ctrs "$before" 5 5 0
}

# ftp_lose NS DIRECTION: in namespace NS, every other TCP segment with data (PSH)
# on the control connection (DIRECTION: "dport" towards the server's port
# 21, "sport" from it) is dropped on arrival, so each is sent twice; the
# rule goes at the end of the test. Prints how many it dropped.
ftp_lose() {
	local ns="$1" dir="$2"
	in_ns "$ns" nft -f - <<-EOF || fail "nft in $ns refused the drop rule"
		table inet eph_ftp_loss {
			chain input {
				type filter hook input priority -10; policy accept;
				tcp $dir $FTP_PORT tcp flags & psh == psh numgen inc mod 2 == 0 counter drop
			}
		}
	EOF
	defer "ip netns exec $ns nft delete table inet eph_ftp_loss"
}
ftp_lost() {
	in_ns "$1" nft list table inet eph_ftp_loss | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}

# The control connection loses the first copy of every command past the
# gateway (the server's side) and of every reply (h1's side): the gateway
# sees each PORT/EPRT twice and must rewrite the second copy as the first,
# and translate the acknowledgements of retransmitted replies; transfers in
# all four modes still work and the files are intact.
test_ftp_retransmit() {
	local before addr srv_lost h1_lost
	ftp_server
	ftp_files r1:70000 r2:1234
	mkdir -p "$T_DIR/h1"
	ftp_lose eph-srv dport
	ftp_lose eph-h1 sport
	before="$(ftp_ctrs)"
	ftp_py get port r1 "$T_DIR/h1/r1" put eprt "$FTP_ROOT/r2" up/r2 \
		get pasv r2 "$T_DIR/h1/r2" get eprt r1 "$T_DIR/h1/r1b" noop
	srv_lost="$(ftp_lost eph-srv)" h1_lost="$(ftp_lost eph-h1)"
	echo "first copies dropped: $srv_lost commands at the server, $h1_lost replies at h1"
	[ "${srv_lost:-0}" -ge 8 ] || fail "only ${srv_lost:-0} commands were dropped at the server"
	[ "${h1_lost:-0}" -ge 8 ] || fail "only ${h1_lost:-0} replies were dropped at h1"
	assert_file_eq "$FTP_ROOT/r1" "$T_DIR/h1/r1" "r1 (PORT)"
	assert_file_eq "$FTP_ROOT/r2" "$FTP_ROOT/up/r2" "upload r2 (EPRT)"
	assert_file_eq "$FTP_ROOT/r2" "$T_DIR/h1/r2" "r2 (PASV)"
	assert_file_eq "$FTP_ROOT/r1" "$T_DIR/h1/r1b" "r1 (EPRT)"
	addr="$(ftp_check_clients)"
	ftp_check_port_cmds "$addr" PORT EPRT
	ftp_check_ctrs "$before" 3 3 0
}

# D-SACK across a rewrite: after an active transfer whose PORT grew by the
# pool address's extra digits, h1 sends a NOOP, then a copy of it again
# (ftp_dsack.py, from h1's own capture); the server answers the old
# data with a duplicate ACK carrying a D-SACK block (RFC 2883), which must
# reach h1 naming the NOOP's bytes in h1's sequence space: the gateway
# moved the block back by the offset. The connection goes on.
test_ftp_sack() {
	local i
	ftp_server
	ftp_files f64k:65536
	mkdir -p "$T_DIR/h1"
	bg eph-h1 "$T_DIR/tcpdump.out" tcpdump -i eth0 -n -U -s 256 -w "$T_DIR/h1.pcap" "tcp port $FTP_PORT"
	sleep 0.5
	bg eph-h1 "$T_DIR/client.out" python3 -I "$E2E_DIR/ftp_client.py" --server "$SRV" \
		get port f64k "$T_DIR/h1/f64k" noop sleep 3 noop
	for ((i = 0; i < 50; i++)); do
		grep -q '^OK noop' "$T_DIR/client.out" && break
		sleep 0.1
	done
	grep -q '^OK noop' "$T_DIR/client.out" || fail "ftp_client.py: $(tr '\n' '|' <"$T_DIR/client.out")"
	# The NOOP reaches the capture file a moment after the client got its answer.
	for ((i = 0; i < 15; i++)); do
		in_ns eph-h1 python3 -I "$E2E_DIR/ftp_dsack.py" replay "$T_DIR/h1.pcap" "$SRV" \
			>"$T_DIR/replay.out" 2>&1 && break
		sleep 0.1
	done
	cat "$T_DIR/replay.out"
	grep -q '^OK' "$T_DIR/replay.out" || fail "could not replay the NOOP: $(tail -n 1 "$T_DIR/replay.out")"
	for ((i = 0; i < 50; i++)); do
		grep -q '^OK done\|^FAIL' "$T_DIR/client.out" && break
		sleep 0.1
	done
	cat "$T_DIR/client.out"
	grep -q '^OK done' "$T_DIR/client.out" || fail "ftp_client.py: $(grep -m1 '^FAIL' "$T_DIR/client.out")"
	assert_file_eq "$FTP_ROOT/f64k" "$T_DIR/h1/f64k" "f64k (PORT)"
	python3 -I "$E2E_DIR/ftp_dsack.py" check "$T_DIR/h1.pcap" "$SRV" >"$T_DIR/check.out" 2>&1 || {
		cat "$T_DIR/check.out"
		fail "$(grep -m1 '^FAIL' "$T_DIR/check.out" || tail -n 1 "$T_DIR/check.out")"
	}
	cat "$T_DIR/check.out"
}

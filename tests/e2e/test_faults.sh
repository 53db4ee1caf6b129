# shellcheck shell=bash
# Faults end to end: the gateway short of mbufs, a full handoff ring, a full
# NAT log ring, ARP replies that never come, and a SIGKILL. Each test starts
# its own daemon from a variant of the control pass's configuration
# (E2E_CTL_CONF, socket E2E_CTL_SOCK; helpers of test_control.sh), provokes
# the fault, and judges by the daemon's counters (ephctl --json, telemetry),
# what the far side received and exit statuses: what was lost is counted
# under its reason, the daemon lives on, and traffic flows again afterwards.

FAULT_UDP_S=30	# UDP timeout of the fault configurations

# fault_conf [SECTION...]: E2E_CTL_CONF without those top-level sections,
# with a UDP timeout of FAULT_UDP_S; the caller appends its own.
fault_conf() {
	without_sections timeouts "$@" <"$E2E_CTL_CONF"
	cat <<-EOF
		timeouts:
		  udp: $FAULT_UDP_S
		  tcp-transitory: 2
	EOF
}

# soak_py NS ARGS...: tests/e2e/soak.py in namespace NS ("" for the root).
soak_py() {
	local ns="$1"
	shift
	if [ -n "$ns" ]; then
		py_ns "$ns" "$E2E_DIR/soak.py" "$@"
	else
		python3 -I "$E2E_DIR/soak.py" "$@"
	fi
}

# tm_nat KEY: KEY of /ephemera/nat summed over the workers.
tm_nat() {
	nat_sum "$1"
}

# flows_ok NS... : from each NS, 20 TCP connections and 20 UDP flows to the
# flows.py server on FS_PORT, every one answered.
flows_ok() {
	local h out
	for h in "$@"; do
		out="$(py_ns "$h" "$E2E_DIR/flows.py" client --server "$SRV" --port "$FS_PORT" \
			--source "$(host_addr "$h")" --tcp 20 --udp 20 --timeout 9 2>&1)" ||
			fail "flows.py client in $h failed: $out"
		jq -e '.tcp_ok == 20 and .udp_ok == 20' <<<"$out" >/dev/null ||
			fail "$h after the fault: $(jq -c '{tcp_ok, tcp_failed, udp_ok, udp_failed}' <<<"$out" 2>/dev/null || echo "$out")"
		echo "$h: 20 TCP and 20 UDP flows answered"
	done
}

# The data plane short of mbufs. The smallest pool the daemon accepts for
# 64-descriptor rings (6143 mbufs) and neighbours that never answer, each
# allowed to hold 1024 packets: a flood from h1 to 100 silent addresses
# ends up held by the control lcore until the pool is empty. The ARP
# retries (more than the control lcore's mempool cache) that then find no
# buffer are counted (mbuf_alloc_failed), held
# packets are dropped and counted when the neighbours give up
# (neigh_unresolved), and once they are, the same pool forwards again.
mbufs_conf() {
	fault_conf arp dataplane |
		sed 's/^    address: .*/&\n    rx-desc: 64\n    tx-desc: 64/'
	cat <<-EOF
		dataplane:
		  mbufs: 6143
		arp:
		  retry-ms: 500
		  retries: 10
		  hold-packets: 1024
	EOF
}

test_mbufs_exhausted() {
	local alloc0 unres0 alloc1 unres1="" out
	mbufs_conf >"$T_DIR/ephemera.yaml"
	ctl_start
	warm_up eph-h1 eph-h2
	FS_PORT=7800
	flows_server "$FS_PORT"
	alloc0="$(ctl_drop mbuf_alloc_failed)" unres0="$(ctl_drop neigh_unresolved)"
	# 12,000 datagrams round-robin to 203.0.113.150-249: nobody answers ARP there.
	out="$(in_ns eph-h1 timeout 30 python3 -I -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
s.bind((sys.argv[1], 0))
sent = 0
for i in range(12000):
    try:
        s.sendto(b"x" * 32, ("203.0.113.%d" % (150 + i % 100), 9))
        sent += 1
    except OSError:
        pass
print(sent)' "$H1")" || fail "the flood from h1 failed: $out"
	echo "h1 sent $out datagrams to 203.0.113.150-249"
	# The pool is empty while the neighbours are retried: retries find no mbuf.
	poll 5 drop_above mbuf_alloc_failed "$alloc0" ||
		fail "no ARP retry found the pool empty: mbuf_alloc_failed stayed $alloc0 (held: $(eph_tm /ephemera/arp | jq -c .))"
	echo "while exhausted: $(eph_tm /ephemera/arp | jq -c '{requests_tx, held}'), mbuf_alloc_failed $(ctl_drop mbuf_alloc_failed)"
	ctl_ok show stats >/dev/null	# the control socket answers meanwhile
	echo "ports: $(eph_tm /ephemera/ports | jq -c '[.[] | {rx, tx, hw: (.hw // .device // null)}]' 2>/dev/null || true)"
	# 10 retries 500 ms apart: the neighbours give up within ~6 s, and
	# their held packets are dropped.
	poll 15 drop_above neigh_unresolved "$unres0" || fail "the held packets were never dropped"
	until [ "$(ctl_drop neigh_unresolved)" = "${unres1:-}" ]; do
		unres1="$(ctl_drop neigh_unresolved)"
		sleep 1
	done
	alloc1="$(ctl_drop mbuf_alloc_failed)" unres1="$(ctl_drop neigh_unresolved)"
	echo "mbuf_alloc_failed +$((alloc1 - alloc0)), neigh_unresolved +$((unres1 - unres0))"
	echo "drops: $(ctl_json show stats | jq -c .drops)"
	# Held packets must have filled most of the pool to starve it.
	[ $((unres1 - unres0)) -ge 3000 ] ||
		fail "only $((unres1 - unres0)) held packets dropped as neigh_unresolved: the pool of 6143 was not what ran out"
	eph_alive || fail "the daemon died when its mbufs ran out"
	# The buffers are back: forwarding and ICMP work again.
	ping_expect eph-h1 "$SRV" 3
	flows_ok eph-h1 eph-h2
	flows_server_stop
	ctl_stop
}

# The ring between two workers full. Both workers share one CPU (lcores
# 0@0,1@1,2@1), the ring holds 256 packets, and the server sends 60,000
# datagrams as fast as it can to 64 mappings of h1: the packets that arrive
# on the worker that does not own their port while the owner is not
# running fill the ring. They are counted as nat_handoff_full, nothing else
# is lost unaccounted, and the same flows work afterwards.
handoff_conf() {
	fault_conf | sed -e 's/^  lcores: .*/  lcores: "0@0,1@1,2@1"/' \
		-e 's/\(iface=eph-[a-z]*\)"/\1,qpairs=2"/' -e 's/^nat:$/&\n  handoff-ring: 256/'
}

test_handoff_full() {
	local full0 full1 hin0 hin1 sent recv dropped
	handoff_conf >"$T_DIR/ephemera.yaml"
	grep -q 'handoff-ring: 256' "$T_DIR/ephemera.yaml" || fail "no nat: section to set handoff-ring in"
	ctl_start
	warm_up eph-h1 eph-h2
	full0="$(ctl_drop nat_handoff_full)" hin0="$(tm_nat handoff_in)"
	bg eph-srv "$T_DIR/blast.log" python3 -I "$E2E_DIR/soak.py" blast --bind "$SRV" \
		--port 7801 --flows 64 --count 60000 --ready "$T_DIR/blast.ready" \
		--report "$T_DIR/blast.json"
	local blast_pid=$BG_PID
	poll 10 test -e "$T_DIR/blast.ready" || fail "the blaster did not start: $(cat "$T_DIR/blast.log")"
	soak_py eph-h1 sink --server "$SRV" --port 7801 --source "$H1" --flows 64 \
		--ready "$T_DIR/sink.ready" --report "$T_DIR/sink.json" >"$T_DIR/sink.log" 2>&1 ||
		fail "the sink failed: $(cat "$T_DIR/sink.log")"
	wait "$blast_pid" || fail "the blaster failed: $(cat "$T_DIR/blast.json" "$T_DIR/blast.log" 2>/dev/null)"
	echo "blast: $(jq -c '{sent, send_errors, seconds}' "$T_DIR/blast.json"), sink: $(cat "$T_DIR/sink.json")"
	assert_eq "$(jq .answered "$T_DIR/sink.json")" 64 "flows of h1 answered before the burst"
	sleep 0.5
	full1="$(ctl_drop nat_handoff_full)" hin1="$(tm_nat handoff_in)"
	sent="$(jq .sent "$T_DIR/blast.json")" recv="$(jq .received "$T_DIR/sink.json")"
	dropped=$((full1 - full0))
	echo "sent $sent, h1 received $recv, handed over $((hin1 - hin0)), nat_handoff_full +$dropped"
	echo "drops: $(ctl_json show stats | jq -c .drops)"
	[ "$dropped" -gt 0 ] || fail "the burst never found the handoff ring full (handed over $((hin1 - hin0)))"
	[ "$recv" -gt 0 ] || fail "h1 received nothing of the burst"
	[ $((recv + dropped)) -le "$sent" ] ||
		fail "h1 received $recv and $dropped were dropped as nat_handoff_full: more than the $sent sent"
	eph_alive || fail "the daemon died"
	FS_PORT=7802
	flows_server "$FS_PORT"
	flows_ok eph-h1 eph-h2
	flows_server_stop
	ctl_stop
}

# The NAT log ring full: 256 events per worker, 3,000 new UDP flows at once
# and their deletes 2 s later. Every event is either a line of the file or
# counted as lost (telemetry log_lost = ephemera_nat_log_events_lost_total),
# every line is one well-formed JSON object, and forwarding goes on.
natlog_conf() {
	without_sections timeouts <"$E2E_CTL_CONF" |
		sed 's/^    inside: .*/&\n    log: sessions/'
	cat <<-EOF
		timeouts:
		  udp: 2
		  tcp-transitory: 2
		nat-log:
		  file: $T_DIR/nat.jsonl
		  ring: 256
	EOF
}

# no_sessions: the daemon holds no session.
no_sessions() {
	[ "$(ctl_json show stats | jq .totals.sessions)" = 0 ]
}

test_natlog_ring_full() {
	local created0 created1 lost lost_m lines bad n=3000
	natlog_conf >"$T_DIR/ephemera.yaml"
	grep -q '^    log: sessions' "$T_DIR/ephemera.yaml" || fail "log: sessions not set"
	ctl_start
	warm_gw
	FS_PORT=7803
	flows_server "$FS_PORT"
	poll 10 no_sessions || fail "sessions left before the burst"
	created0="$(tm_nat sessions_created)"
	soak_py eph-h1 burst --server "$SRV" --port "$FS_PORT" --source "$H1" --flows "$n" \
		--report "$T_DIR/burst.json" >"$T_DIR/burst.log" 2>&1 || fail "burst failed: $(cat "$T_DIR/burst.log")"
	echo "burst: $(cat "$T_DIR/burst.json")"
	poll 20 no_sessions || fail "sessions did not expire: $(ctl_json show stats | jq .totals.sessions)"
	sleep 1	# the writer drains the last events
	created1="$(tm_nat sessions_created)"
	lost="$(tm_nat log_lost)"
	lost_m="$(ctl_metric ephemera_nat_log_events_lost_total)"
	lines="$(wc -l <"$T_DIR/nat.jsonl")"
	echo "sessions created $((created1 - created0)), log lines $lines, lost $lost (metrics: $lost_m)"
	# The kernel drops a part of the burst on its way; what reached the
	# gateway must still be several rings' worth.
	[ $((created1 - created0)) -ge 600 ] || fail "only $((created1 - created0)) sessions for $n flows"
	[ "$lost" -gt 0 ] || fail "no NAT log event was lost with a ring of 256 and $n flows at once"
	assert_eq "$lost_m" "$lost" "ephemera_nat_log_events_lost_total against telemetry log_lost"
	# Each session one create and one delete: written or lost, nothing else.
	assert_eq "$((lines + lost))" "$((2 * (created1 - created0)))" "log lines + lost events against 2 x sessions created"
	bad="$(python3 -I -c '
import json, sys
bad = 0
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
        ok = e["event"] in ("session-create", "session-delete") and e["proto"] == "udp" \
            and e["inside"].startswith(sys.argv[2] + ":") and e["remote"] == sys.argv[3]
        if e["event"] == "session-delete":
            ok = ok and "reason" in e
    except (ValueError, KeyError):
        ok = False
    bad += not ok
print(bad)' "$T_DIR/nat.jsonl" "$H1" "$SRV:$FS_PORT")"
	assert_eq "$bad" 0 "malformed NAT log lines"
	eph_alive || fail "the daemon died"
	flows_ok eph-h1
	flows_server_stop
	ctl_stop
}

# ARP replies lost: the server drops the ARP it sends (nftables; its
# requests too, since a request also tells the gateway its MAC, and its
# neighbour cache is flushed so that it has nothing to probe), so the
# gateway never learns its MAC. Of 10 datagrams from h1, 4 are held
# (hold-packets), 6 dropped at once (neigh_hold_full); the gateway asks
# `retries` times, then drops the held 4 (neigh_unresolved). Once replies
# flow again, so does the traffic.
arp_conf() {
	fault_conf arp
	cat <<-EOF
		arp:
		  retry-ms: 300
		  retries: 3
		  hold-packets: 4
	EOF
}

arp_block() {
	in_ns eph-srv nft -f - <<-EOF
		table arp eph_fault {
			chain out {
				type filter hook output priority 0; policy accept;
				counter drop
			}
		}
	EOF
}

test_arp_lost() {
	local full0 unres0 req0 full1 unres1 req1 got
	arp_conf >"$T_DIR/ephemera.yaml"
	in_ns eph-srv ip neigh flush dev eth0
	arp_block || fail "nft could not block the server's ARP replies"
	defer "ip netns exec eph-srv nft delete table arp eph_fault"
	ctl_start
	# The inside works: h1 and the gateway know each other.
	ping_expect eph-h1 "$GW_IN" 1
	FS_PORT=7804
	flows_server "$FS_PORT"
	full0="$(ctl_drop neigh_hold_full)" unres0="$(ctl_drop neigh_unresolved)"
	req0="$(eph_tm /ephemera/arp | jq .requests_tx)"
	in_ns eph-h1 python3 -I -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
for i in range(10):
    s.sendto(b"held %d" % i, (sys.argv[2], int(sys.argv[3])))' "$H1" "$SRV" "$FS_PORT" ||
		fail "h1 could not send"
	# 3 requests 300 ms apart, then the held packets go.
	poll 5 drop_above neigh_unresolved "$unres0" ||
		fail "the held packets were never dropped: arp $(eph_tm /ephemera/arp | jq -c .), drops $(ctl_json show stats | jq -c .drops), neighbours $(eph_tm /ephemera/neighbours | jq -c .)"
	sleep 0.5
	full1="$(ctl_drop neigh_hold_full)" unres1="$(ctl_drop neigh_unresolved)"
	req1="$(eph_tm /ephemera/arp | jq .requests_tx)"
	echo "ARP requests sent +$((req1 - req0)), neigh_hold_full +$((full1 - full0)), neigh_unresolved +$((unres1 - unres0))"
	in_ns eph-srv nft list table arp eph_fault | grep counter
	[ $((req1 - req0)) -ge 3 ] || fail "the gateway asked $((req1 - req0)) times, expected the 3 retries"
	assert_eq "$((full1 - full0))" 6 "neigh_hold_full: datagrams beyond the 4 held"
	assert_eq "$((unres1 - unres0))" 4 "neigh_unresolved: the 4 held datagrams"
	flows_server_stop
	got="$(jq .udp_datagrams "$FS_REPORT")"
	assert_eq "$got" 0 "datagrams the server received while its ARP replies were lost"
	in_ns eph-srv nft delete table arp eph_fault
	eph_alive || fail "the daemon died"
	ping_expect eph-h1 "$SRV" 3
	FS_PORT=7805
	flows_server "$FS_PORT"
	flows_ok eph-h1
	flows_server_stop
	ctl_stop
}

# SIGKILL: the daemon leaves its control socket, its EAL runtime directory
# and whatever else a crash leaves. Started again on the same files (no
# cleanup in between) it must come up, answer ephctl and forward; its
# hugepages are all given back (--huge-unlink leaves no file).
free_hugepages() {
	cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages
}

test_sigkill_restart() {
	local free0 free1 st=0 pid f
	cp "$E2E_CTL_CONF" "$T_DIR/ephemera.yaml"
	free0="$(free_hugepages)"
	ctl_start
	warm_up eph-h1
	FS_PORT=7806
	flows_server "$FS_PORT"
	flows_ok eph-h1
	pid="$EPH_PID"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || st=$?
	EPH_PID=""
	assert_eq "$st" 137 "exit status of the killed daemon"
	for f in "$E2E_CTL_SOCK" "/var/run/dpdk/$EPH_PREFIX"; do
		[ -e "$f" ] && echo "left behind: $f"
	done
	# What the restart must cope with: a socket nobody serves.
	[ -S "$E2E_CTL_SOCK" ] || fail "the killed daemon left no socket at $E2E_CTL_SOCK: nothing stale to test"
	free1="$(free_hugepages)"
	echo "free hugepages: $free0 before the start, $free1 after the kill"
	assert_eq "$free1" "$free0" "free hugepages after SIGKILL"
	assert_eq "$(find /dev/hugepages -maxdepth 1 -name "${EPH_PREFIX}map_*" | wc -l)" 0 \
		"hugepage files of $EPH_PREFIX after SIGKILL"
	# Again, on what the killed one left.
	eph_start "$T_DIR/ephemera.yaml" "$T_DIR/ephemera-2.log" 2>"$T_DIR/start-2.err" ||
		fail "the daemon did not start after a SIGKILL: $(grep -m1 -i error "$T_DIR/start-2.err" || head -n 1 "$T_DIR/start-2.err")"
	# shellcheck disable=SC2034 # read by ctl_stop
	T_DAEMON_LOG="$T_DIR/ephemera-2.log"
	ctl_ok version >/dev/null
	ping_expect eph-h1 "$SRV" 3
	flows_ok eph-h1 eph-h2
	flows_server_stop
	ctl_stop
	assert_eq "$(free_hugepages)" "$free0" "free hugepages after the second daemon stopped"
}

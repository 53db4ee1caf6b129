#!/usr/bin/env bash
# End-to-end tests: the namespace test bed, build/ephemera between its ports,
# real Linux peers. Prints PASS/FAIL per test and "N passed, N failed".
#
#   tests/e2e/run.sh [GLOB...]     only tests whose name matches a GLOB
#
# Environment:
#   EPH_BIN=path         daemon binary (default build/ephemera)
#   EPH_GW=linux         a Linux router stands in for the daemon: checks the
#                        bed and the traffic tests themselves
#   EPH_INSIDE_HOSTS=N   inside hosts of the test bed (default 4; the NAT
#                        flow tests need at least 4)
#   EPH_E2E_XDP=0        skip the pass with net_af_xdp ports
#   EPH_E2E_NAT=0        skip the NAT passes
#   EPH_E2E_CONTROL=0    skip the control-plane pass (ephctl, reload, metrics)
#   EPH_E2E_LB=0         skip the balancer's passes
#   EPH_E2E_FAULTS=0     skip the fault pass (mbufs, rings, ARP, SIGKILL)
#   EPH_E2E_ASAN=1       also run the NAT and balancer tests against build-asan/ephemera
#                        (ASan+UBSan; any report fails the pass)
#   EPH_E2E_WORKERS="2 3" worker counts of the extra NAT passes (lcores mapped
#                        onto the machine's CPUs; "" for none)
#   EPH_E2E_RANGES="8 1000" port range sizes of the natrange passes ("" for none)
#   EPH_E2E_PCAP=0       no packet captures (default: eph-in/eph-out in the log dir)
#   EPH_E2E_TIMEOUT=S    per-test time limit (default 90)
#   EPH_KEEP=1           leave the test bed up afterwards
# shellcheck disable=SC2034 # E2E_* variables are read by the sourced tests
set -euo pipefail
E2E_ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$E2E_ROOT/scripts/lib.sh"
# shellcheck source=tests/e2e/lib.sh
. "$E2E_ROOT/tests/e2e/lib.sh"
for f in "$E2E_DIR"/test_*.sh; do
	# shellcheck source=/dev/null
	. "$f"
done

CONFIG_TESTS=(check_ok check_bad_value check_unknown_key check_bad_syntax check_lb_example check_lb_bad check_lb_rules
	check_bad_route check_missing_file)
STARTUP_TESTS=(start_bad_device start_no_hugepages)
TRAFFIC_TESTS=(arp_gateway ping_h1_srv ping_srv_h1 ping_gw_inside ping_gw_outside
	ping_full_mtu ttl_exceeded route_static padded_frame_forwarded
	tcp_h1_download tcp_h2_download tcp_srv_to_h1 udp_h1_srv)
# Fragments never reach a net_af_packet port (the PMD's PACKET_FANOUT_FLAG_DEFRAG
# makes the kernel hold them for reassembly): they are tested on net_af_xdp.
DAEMON_TESTS=(telemetry_endpoints telemetry_ports telemetry_counters
	telemetry_neighbours telemetry_routes telemetry_dpdk_tool no_route)
for t in "${MALFORMED_TESTS[@]}"; do
	[[ "$t" == malformed_ip_fragment_* ]] || DAEMON_TESTS+=("$t")
done
DAEMON_TESTS+=(alive_after_malformed)
# conf/ephemera.yaml itself: inside hosts source-translated to the pool
# 203.0.113.100-103 (on the outside subnet: the gateway answers ARP for it).
# pool_addresses finds which address each host got; the others check it.
NAT_TESTS=(pool_addresses ping_h1_srv route_static tcp_h1_download tcp_h2_download
	udp_h1_srv ping_through flows_2000 unsolicited filtering tcp_rst_guard pool_telemetry)
# The same with 2 and 3 workers on the machine's CPUs: handoffs between them.
NAT_MW_TESTS=(pool_addresses ping_through flows_2000 unsolicited filtering)
# The balancer (conf/examples/lb.yaml and lb_conf): nginx and lb_peer.py on
# the backends eph-b1..3, clients in eph-srv; with 2 and 3 workers, handoffs.
# The backends port has a kernel interface (kernel_*: the host's own tools through it).
# Health checks (health_*) reach the backends through that interface.
LB_TESTS=(lb_weights lb_long_lived lb_udp lb_no_backends lb_ping_vip lb_workers lb_bad_ctl
	lb_proxy_protocol lb_syn_flood lb_rate_limit lb_syn_proxy lb_syn_proxy_flood kernel_path
	kernel_none_outside health_down_up health_http_500 health_passive health_all_down)
LB_MW_TESTS=(lb_workers lb_udp lb_proxy_protocol lb_syn_proxy kernel_path health_down_up)
LB_ASAN_TESTS=(lb_weights lb_long_lived lb_udp lb_no_backends lb_ping_vip lb_bad_ctl
	lb_proxy_protocol lb_rate_limit kernel_path health_down_up health_http_500)
# Hairpinning (hairpin_conf: the pool maps and filters endpoint-independently):
# h1 reaches h2 through h2's mapping, UDP and TCP; 1 and 3 workers.
HAIRPIN_TESTS=(hairpin_udp hairpin_tcp)
# Path MTU through the NAT (test_pmtu.sh; pmtu_conf: inside port mtu 9000,
# outside 1500, 60 KiB af_packet frames; pmtu_pass puts h1, its switch ports
# and eph-in at MTU 9000 for the pass, 1500 again after). With mss-clamp off:
# h1's 8 MB TCP upload with DF and an 8960-byte MSS learns 1500 from the
# gateway's ICMP fragmentation needed and arrives intact; 8 MB back from the
# server; 4000-byte UDP without DF cut at 1500 by the gateway, answered
# whole. With mss-clamp auto on both ports (natpmtu_clamp_): the SYNs' MSS
# lowered to 1460 both ways, the upload needs no ICMP. 1 and 3 workers.
PMTU_TESTS=(pool_addresses pmtu_tcp_upload pmtu_tcp_download pmtu_udp_df_clear)
PMTU_CLAMP_TESTS=(pool_addresses pmtu_mss_clamp)
# FTP through the NAT (ftp_conf: `alg: [ftp]` on the pool): vsftpd on the
# server, curl and ftp_client.py on h1; passive and active (PORT, EPRT)
# transfers compared by hash, a PORT split across segments refused and
# counted, ten transfers on one control connection, commands and replies
# each sent twice (the first copy lost past the gateway), a D-SACK block
# moved back by the offset; 1, 2 and 3 workers.
FTP_TESTS=(ftp_passive ftp_active ftp_split ftp_session ftp_retransmit ftp_sack)
# Small port ranges on one address: one host gets the whole range towards
# one destination (ports borrowed across workers' shares), then refusals,
# recovery (1, 2 and 3 workers; TCP only on the smallest range).
NATRANGE_SIZES="${EPH_E2E_RANGES-8 1000}"
NATRANGE_TESTS=(range_udp)
NATRANGE_TCP_TESTS=(range_udp range_tcp)
NAT_POOL=203.0.113.100-203.0.113.103
NAT_PORTS=1024-65535
# The control plane: each test starts its own daemon from a copy of
# control_conf's file (to vary, edit and reload it) and drives it with
# build/ephctl while traffic crosses the gateway.
CONTROL_TESTS=(reload_under_traffic range_change_drains remove_address_drains
	occupancy_warning session_log port_block_log nonroot_refused malformed_flood ephctl_bad_args
	metrics_http reload_refused)
# Faults (test_faults.sh): each test starts its daemon from a variant of the
# control pass's file, provokes the fault and checks what was counted.
FAULT_TESTS=(mbufs_exhausted handoff_full natlog_ring_full arp_lost sigkill_restart)
# Second pass, ports on net_af_xdp: fragments reach the gateway there.
XDP_TESTS=(arp_gateway ping_h1_srv ping_srv_h1 ttl_exceeded tcp_h1_download
	tcp_srv_to_h1 udp_h1_srv no_route malformed_ip_fragment_first
	malformed_ip_fragment_last fragmented_ping malformed_ip_bad_checksum
	alive_after_malformed)
# The NAT on net_af_xdp: fragments of large UDP datagrams and pings both ways.
NAT_XDP_TESTS=(pool_addresses frag_udp_4000 frag_udp_60000 frag_ping_4000 ping_through)
# The same on net_af_packet with 60 KiB frames (framesz): the kernel joins the
# fragments (fanout defrag), the daemon gets whole datagrams and cuts them again.
NAT_AFP_FRAG_TESTS=(pool_addresses frag_udp_4000 frag_udp_60000 frag_ping_4000 udp_h1_srv)
AFP_FRAMES="framesz=61440,blocksz=61440,framecnt=64"
# With 2 and 3 workers: whole datagrams handed between them in 60 KiB buffers.
NAT_AFP_FRAG_MW_TESTS=(pool_addresses frag_udp_4000 frag_udp_60000 frag_ping_4000)

skip_all() {
	local reason="$1" t
	shift
	for t in "$@"; do
		e2e_skip "$t" "$reason"
	done
}

# Captures for failure analysis: the gateway ports (what af_packet sees; an
# XDP port hides its receive side from them) and the hosts' own interfaces.
start_captures() {
	local spec ns ifc gw_ns=""
	[ "${EPH_E2E_PCAP:-1}" = 1 ] && command -v tcpdump >/dev/null || return 0
	[ "$GW_MODE" = linux ] && gw_ns=eph-gw
	for spec in "$gw_ns:eph-in" "$gw_ns:eph-out" eph-h1:eth0 eph-srv:eth0; do
		ns="${spec%%:*}" ifc="${spec#*:}"
		if [ -n "$ns" ]; then
			ip netns exec "$ns" tcpdump -i "$ifc" -n -s 256 -U \
				-w "$E2E_LOGDIR/${ns:-root}-$ifc.pcap" >/dev/null 2>&1 </dev/null &
		else
			tcpdump -i "$ifc" -n -s 256 -U -w "$E2E_LOGDIR/$ifc.pcap" \
				>/dev/null 2>&1 </dev/null &
		fi
		EPH_CLEANUP_PIDS+=($!)
	done
	sleep 0.5	# tcpdump needs a moment before it sees packets
}

main() {
	local t
	eph_need_root
	eph_traps
	GW_MODE="${EPH_GW:-dpdk}"
	E2E_LOGDIR="$(mktemp -d /tmp/eph-e2e.XXXXXX)"
	export EPH_INSIDE_HOSTS="${EPH_INSIDE_HOSTS:-4}"
	echo "logs and captures: $E2E_LOGDIR"

	if [ "$GW_MODE" = linux ]; then
		skip_all "EPH_GW=linux" "${CONFIG_TESTS[@]}" "${STARTUP_TESTS[@]}"
	elif [ ! -x "$EPH_BIN" ]; then
		e2e_fail setup "$EPH_BIN is not built"
		e2e_summary
		return 1
	else
		for t in "${CONFIG_TESTS[@]}"; do e2e_run "$t"; done
	fi

	if ! eph_hugepages >"$E2E_LOGDIR/setup.log" 2>&1 ||
		! "$EPH_ROOT/scripts/testbed.sh" up >>"$E2E_LOGDIR/setup.log" 2>&1; then
		e2e_fail setup "$(grep -m1 error "$E2E_LOGDIR/setup.log" || tail -n 1 "$E2E_LOGDIR/setup.log")"
		e2e_summary
		return 1
	fi
	start_captures

	if [ "$GW_MODE" = linux ]; then
		for t in "${TRAFFIC_TESTS[@]}"; do e2e_run "$t"; done
		skip_all "EPH_GW=linux" "${DAEMON_TESTS[@]}" sigterm_exit
		e2e_summary
		return
	fi

	for t in "${STARTUP_TESTS[@]}"; do e2e_run "$t"; done

	# Routing only: the default configuration without its pools, so the
	# server reaches the inside hosts directly.
	local conf="$EPH_ROOT/conf/ephemera.yaml" routing="$E2E_LOGDIR/ephemera-routing.yaml" n
	without_sections pools <"$conf" >"$routing"
	E2E_VDEV=af_packet
	daemon_pass "" "$routing" "${TRAFFIC_TESTS[@]}" "${DAEMON_TESTS[@]}" || true

	if [ "${EPH_E2E_XDP:-1}" = 1 ]; then
		E2E_VDEV=af_xdp
		sed 's/net_af_packet\([0-9]*\),iface=/net_af_xdp\1,iface=/' \
			"$routing" >"$E2E_LOGDIR/ephemera-xdp.yaml"
		daemon_pass xdp_ "$E2E_LOGDIR/ephemera-xdp.yaml" "${XDP_TESTS[@]}" || true
	fi

	if [ "${EPH_E2E_NAT:-1}" = 1 ] && [ "${EPH_E2E_XDP:-1}" = 1 ]; then
		E2E_VDEV=af_xdp
		sed 's/net_af_packet\([0-9]*\),iface=/net_af_xdp\1,iface=/' \
			"$conf" >"$E2E_LOGDIR/ephemera-nat-xdp.yaml"
		nat_pass natxdp_ "$E2E_LOGDIR/ephemera-nat-xdp.yaml" 1 "${NAT_XDP_TESTS[@]}"
	fi

	if [ "${EPH_E2E_NAT:-1}" = 1 ]; then
		E2E_VDEV=af_packet
		sed "s/\(iface=eph-[a-z]*\)\"/\1,$AFP_FRAMES\"/" "$conf" \
			>"$E2E_LOGDIR/ephemera-nat-frames.yaml"
		E2E_AFP_FRAMES=1
		nat_pass natframes_ "$E2E_LOGDIR/ephemera-nat-frames.yaml" 1 "${NAT_AFP_FRAG_TESTS[@]}"
		E2E_AFP_FRAMES=0
		nat_pass nat_ "$conf" 1 "${NAT_TESTS[@]}"
		for n in ${EPH_E2E_WORKERS-2 3}; do
			workers_conf "$n" <"$conf" >"$E2E_LOGDIR/ephemera-w$n.yaml"
			nat_pass "nat_w${n}_" "$E2E_LOGDIR/ephemera-w$n.yaml" "$n" "${NAT_MW_TESTS[@]}"
			# 256 buffers of 60 KiB per queue and port: more memory.
			sed -e "s/\(iface=eph-[a-z]*,qpairs=$n\)\"/\1,$AFP_FRAMES\"/" \
				-e 's/^\(  memory-mb:\) [0-9]*/\1 512/' \
				"$E2E_LOGDIR/ephemera-w$n.yaml" >"$E2E_LOGDIR/ephemera-frames-w$n.yaml"
			E2E_AFP_FRAMES=1
			nat_pass "natframes_w${n}_" "$E2E_LOGDIR/ephemera-frames-w$n.yaml" "$n" \
				"${NAT_AFP_FRAG_MW_TESTS[@]}"
			E2E_AFP_FRAMES=0
		done
		hairpin_conf "$conf" >"$E2E_LOGDIR/ephemera-hairpin.yaml"
		nat_pass hairpin_ "$E2E_LOGDIR/ephemera-hairpin.yaml" 1 "${HAIRPIN_TESTS[@]}"
		workers_conf 3 <"$E2E_LOGDIR/ephemera-hairpin.yaml" >"$E2E_LOGDIR/ephemera-hairpin-w3.yaml"
		nat_pass hairpin_w3_ "$E2E_LOGDIR/ephemera-hairpin-w3.yaml" 3 "${HAIRPIN_TESTS[@]}"
		pmtu_conf off <"$conf" >"$E2E_LOGDIR/ephemera-pmtu.yaml"
		pmtu_pass natpmtu_ "$E2E_LOGDIR/ephemera-pmtu.yaml" 1 "${PMTU_TESTS[@]}"
		pmtu_conf auto <"$conf" >"$E2E_LOGDIR/ephemera-pmtu-clamp.yaml"
		pmtu_pass natpmtu_clamp_ "$E2E_LOGDIR/ephemera-pmtu-clamp.yaml" 1 "${PMTU_CLAMP_TESTS[@]}"
		workers_conf 3 <"$conf" | pmtu_conf off >"$E2E_LOGDIR/ephemera-pmtu-w3.yaml"
		pmtu_pass natpmtu_w3_ "$E2E_LOGDIR/ephemera-pmtu-w3.yaml" 3 "${PMTU_TESTS[@]}"
		workers_conf 3 <"$conf" | pmtu_conf auto >"$E2E_LOGDIR/ephemera-pmtu-clamp-w3.yaml"
		pmtu_pass natpmtu_clamp_w3_ "$E2E_LOGDIR/ephemera-pmtu-clamp-w3.yaml" 3 "${PMTU_CLAMP_TESTS[@]}"
		ftp_conf "$conf" >"$E2E_LOGDIR/ephemera-ftp.yaml"
		nat_pass ftp_ "$E2E_LOGDIR/ephemera-ftp.yaml" 1 "${FTP_TESTS[@]}"
		for n in ${EPH_E2E_WORKERS-2 3}; do
			workers_conf "$n" <"$E2E_LOGDIR/ephemera-ftp.yaml" >"$E2E_LOGDIR/ephemera-ftp-w$n.yaml"
			nat_pass "ftp_w${n}_" "$E2E_LOGDIR/ephemera-ftp-w$n.yaml" "$n" "${FTP_TESTS[@]}"
		done
		local size
		for size in $NATRANGE_SIZES; do
			natrange_passes "$conf" "$size"
		done
	fi

	if [ "${EPH_E2E_LB:-1}" = 1 ]; then
		E2E_VDEV=af_packet
		lb_conf >"$E2E_LOGDIR/ephemera-lb.yaml"
		lb_pass lb_ "$E2E_LOGDIR/ephemera-lb.yaml" 1 "${LB_TESTS[@]}"
		for n in ${EPH_E2E_WORKERS-2 3}; do
			workers_conf "$n" <"$E2E_LOGDIR/ephemera-lb.yaml" >"$E2E_LOGDIR/ephemera-lb-w$n.yaml"
			lb_pass "lb_w${n}_" "$E2E_LOGDIR/ephemera-lb-w$n.yaml" "$n" "${LB_MW_TESTS[@]}"
		done
	fi

	if [ "${EPH_E2E_CONTROL:-1}" = 1 ]; then
		E2E_VDEV=af_packet
		control_conf "$conf" >"$E2E_LOGDIR/ephemera-control.yaml"
		control_pass control_ "$E2E_LOGDIR/ephemera-control.yaml" "${CONTROL_TESTS[@]}"
	fi

	if [ "${EPH_E2E_FAULTS:-1}" = 1 ]; then
		E2E_VDEV=af_packet
		control_conf "$conf" >"$E2E_LOGDIR/ephemera-faults.yaml"
		control_pass fault_ "$E2E_LOGDIR/ephemera-faults.yaml" "${FAULT_TESTS[@]}"
	fi

	if [ "${EPH_E2E_ASAN:-0}" = 1 ]; then
		E2E_VDEV=af_packet
		asan_pass nat_asan_ "$conf" nat_pass "${NAT_TESTS[@]}"
		if [ "${EPH_E2E_LB:-1}" = 1 ]; then
			lb_conf >"$E2E_LOGDIR/ephemera-lb.yaml"
			asan_pass lb_asan_ "$E2E_LOGDIR/ephemera-lb.yaml" lb_pass "${LB_ASAN_TESTS[@]}"
		fi
	fi

	e2e_summary
}

# without_sections NAME...: the YAML on stdin without those top-level keys
# (each up to the next top-level key).
without_sections() {
	awk -v names=" $* " '
		/^[A-Za-z_-]+:/ { skip = index(names, " " substr($1, 1, length($1) - 1) " ") > 0 }
		!skip'
}

# workers_conf N: the YAML on stdin with N worker lcores on the machine's
# CPUs (lcore 0 on CPU 0, the workers on CPU 1 when there are only two), one
# af_packet queue pair per worker, and from 3 workers on 32767 mbufs.
workers_conf() {
	local n="$1" lc="0@0" i cpus
	cpus="$(nproc)"
	for ((i = 1; i <= n; i++)); do
		lc+=",$i@$((cpus > i ? i : cpus - 1))"
	done
	local conf
	conf="$(sed -e "s/^  lcores: .*/  lcores: \"$lc\"   # control lcore 0, $n workers/" \
		-e "s/\(iface=eph-[a-z]*\)\"/\1,qpairs=$n\"/")"
	# 2 ports x 3 workers x 2 rings of 1024 outgrow the default 16383 mbufs.
	if [ "$n" -ge 3 ]; then
		conf="$(sed '/^  mbufs:/d' <<<"$conf")"
		if grep -q '^dataplane:' <<<"$conf"; then
			# shellcheck disable=SC2001 # a line inserted after a match
			conf="$(sed 's/^dataplane:.*/&\n  mbufs: 32767/' <<<"$conf")"
		else
			conf+=$'\n\ndataplane:\n  mbufs: 32767'
		fi
	fi
	printf '%s\n' "$conf"
}

# natrange_conf CONF SIZE: CONF with one pool of SIZE ports on one address
# that rest 2 s after use, UDP sessions that idle out after NATRANGE_UDP_S
# and closed TCP ones that go after NATRANGE_TCP_S.
natrange_conf() {
	without_sections pools timeouts <"$1"
	cat <<-EOF

		pools:
		  - name: range
		    addresses: [${NATRANGE_POOL}]
		    ports: $(natrange_ports "$2")
		    inside: [192.0.2.0/24]
		    quarantine-s: 2
		timeouts:
		  udp: ${NATRANGE_UDP_S}
		  tcp-transitory: ${NATRANGE_TCP_S}
	EOF
}
natrange_ports() { printf '%d-%d' 20000 $((20000 + $1 - 1)); }
NATRANGE_POOL=203.0.113.100
NATRANGE_UDP_S=4
NATRANGE_TCP_S=2

# natrange_passes CONF SIZE: the range tests with a SIZE-port pool, with one
# worker and with each of EPH_E2E_WORKERS, one daemon per worker count.
natrange_passes() {
	local size="$2" base="$E2E_LOGDIR/ephemera-natrange$2" n
	local -a tests=("${NATRANGE_TESTS[@]}")
	[ "$size" -gt 8 ] || tests=("${NATRANGE_TCP_TESTS[@]}")
	natrange_conf "$1" "$size" >"$base.yaml"
	nat_pass "natrange${size}_" "$base.yaml" 1 "${tests[@]}"
	for n in ${EPH_E2E_WORKERS-2 3}; do
		workers_conf "$n" <"$base.yaml" >"$base-w$n.yaml"
		nat_pass "natrange${size}_w${n}_" "$base-w$n.yaml" "$n" "${tests[@]}"
	done
}

# pool_conf CONF KEY...: CONF with its one pool (NAT_POOL for the inside
# hosts) given the pool keys KEY ("name: value" each) besides.
pool_conf() {
	local key
	without_sections pools <"$1"
	printf '\npools:\n  - name: default\n    addresses: [%s]\n    inside: [192.0.2.0/24]\n' \
		"$NAT_POOL"
	for key in "${@:2}"; do
		printf '    %s\n' "$key"
	done
}

# hairpin_conf CONF: CONF with its pool mapping and filtering endpoint-independently.
hairpin_conf() {
	pool_conf "$1" "mapping: endpoint-independent" "filtering: endpoint-independent"
}

# pmtu_conf off|auto: the configuration on stdin (workers_conf applied or
# not) with 60 KiB af_packet frames and 512 MB (from 3 workers on), the
# inside port at mtu PMTU_INSIDE_MTU, the outside at 1500, mss-clamp as given on both.
pmtu_conf() {
	local conf
	conf="$(sed -e "s/\(iface=eph-[a-z]*[^\"]*\)\"/\1,$AFP_FRAMES\"/" \
		-e "s/^    role: inside\$/&\n    mtu: $PMTU_INSIDE_MTU\n    mss-clamp: $1/" \
		-e "s/^    role: outside\$/&\n    mtu: 1500\n    mss-clamp: $1/")"
	if grep -q "qpairs=[3-9]" <<<"$conf"; then
		# shellcheck disable=SC2001 # a line-anchored substitution
		conf="$(sed 's/^\(  memory-mb:\) [0-9]*/\1 512/' <<<"$conf")"
	fi
	printf '%s\n' "$conf"
}

# pmtu_links MTU: h1, its switch port, the switch's port to the gateway and
# eph-in (the gateway's inside veth) at MTU; h1's learned path MTUs forgotten.
pmtu_links() {
	ip -n eph-h1 link set eth0 mtu "$1" &&
		ip -n eph-sw link set h1 mtu "$1" &&
		ip -n eph-sw link set gw mtu "$1" &&
		ip link set eph-in mtu "$1" &&
		ip netns exec eph-h1 ip route flush cache
}

# pmtu_pass PREFIX CONF WORKERS TESTS...: nat_pass with the inside links at
# PMTU_INSIDE_MTU (test_pmtu.sh), 1500 again afterwards.
pmtu_pass() {
	local pfx="$1" t any=0
	for t in "${@:4}" sigterm_exit; do
		_e2e_selected "$pfx$t" && any=1
	done
	[ "$any" = 1 ] || return 0
	if ! pmtu_links "$PMTU_INSIDE_MTU" >"$E2E_LOGDIR/${pfx}links.err" 2>&1; then
		e2e_fail "${pfx}links" "cannot set the inside links to MTU $PMTU_INSIDE_MTU: $(head -n 1 "$E2E_LOGDIR/${pfx}links.err")"
		pmtu_links 1500 >/dev/null 2>&1 || true
		return 0
	fi
	nat_pass "$@"
	pmtu_links 1500 >/dev/null 2>&1 ||
		e2e_fail "${pfx}links" "cannot set the inside links back to MTU 1500"
}

# ftp_conf CONF: CONF with the FTP ALG on its pool (control connections to
# port 21, the default).
ftp_conf() {
	pool_conf "$1" "alg: [ftp]"
}

# lb_conf: the balancer's test configuration: conf/examples/lb.yaml with the
# VIPs tests/e2e/test_lb.sh uses, TCP connections that go 2 s after they
# close (a client reusing its port soon finds a fresh connection), mbufs
# for three ports and up to three workers. shield (the default bound on
# half-open connections) takes a SYN flood, rate allows 20 new connections a second.
lb_conf() {
	without_sections vips timeouts dataplane <"$EPH_ROOT/conf/examples/lb.yaml"
	cat <<-EOF

		timeouts:
		  tcp-transitory: 2
		dataplane:
		  mbufs: 32767
		vips:
		  - name: web
		    address: 203.0.113.80
		    port: 80
		    local-addresses: [198.18.0.2-198.18.0.3]
		    backends:
		      - {address: 198.18.0.11, weight: 1}
		      - {address: 198.18.0.12, weight: 2}
		      - {address: 198.18.0.13, weight: 3}
		  - name: echo
		    address: 203.0.113.80
		    port: 7
		    protocol: udp
		    local-addresses: [198.18.0.4]
		    backends:
		      - {address: 198.18.0.11, weight: 1}
		      - {address: 198.18.0.12, weight: 2}
		      - {address: 198.18.0.13, weight: 3}
		  - name: hold
		    address: 203.0.113.80
		    port: 9000
		    local-addresses: [198.18.0.5]
		    backends: [{address: 198.18.0.11}, {address: 198.18.0.12}, {address: 198.18.0.13}]
		  - name: hold-reset
		    address: 203.0.113.80
		    port: 9001
		    on-remove: reset
		    local-addresses: [198.18.0.6]
		    backends: [{address: 198.18.0.11}, {address: 198.18.0.12}, {address: 198.18.0.13}]
		  - name: empty
		    address: 203.0.113.81
		    port: 80
		    local-addresses: [198.18.0.7]
		  - name: proxied
		    address: 203.0.113.80
		    port: 8080
		    proxy-protocol: v2
		    local-addresses: [198.18.0.8]
		    backends: [{address: 198.18.0.11}, {address: 198.18.0.12}, {address: 198.18.0.13}]
		  - name: checked
		    address: 203.0.113.82
		    port: 9000
		    local-addresses: [198.18.0.9]
		    health-check: {type: udp, port: 7, send: ping, interval: 1s, timeout: 500ms, fall: 2, rise: 2}
		    backends: [{address: 198.18.0.11}, {address: 198.18.0.12}, {address: 198.18.0.13}]
		  - name: checked-http
		    address: 203.0.113.82
		    port: 8090
		    local-addresses: [198.18.0.10]
		    health-check: {type: http, path: /health, expect: 200-299, interval: 1s, timeout: 500ms, fall: 2, rise: 2}
		    backends: [{address: 198.18.0.11}, {address: 198.18.0.12}, {address: 198.18.0.13}]
		  - name: passive
		    address: 203.0.113.82
		    port: 9001
		    local-addresses: [198.18.0.20]
		    outlier-detection: {failures: 3, window: 10s, ejection: 5s}
		    backends: [{address: 198.18.0.11}, {address: 198.18.0.13, port: 9997}]
		  - name: strict
		    address: 203.0.113.82
		    port: 9998
		    all-down: refuse
		    local-addresses: [198.18.0.21]
		    health-check: {type: tcp, interval: 500ms, timeout: 200ms, fall: 2, rise: 2}
		    backends: [{address: 198.18.0.11}, {address: 198.18.0.12}]
		  - name: lenient
		    address: 203.0.113.82
		    port: 9999
		    local-addresses: [198.18.0.22]
		    health-check: {type: tcp, interval: 500ms, timeout: 200ms, fall: 2, rise: 2}
		    backends: [{address: 198.18.0.11}, {address: 198.18.0.12}]
		  - name: shield
		    address: 203.0.113.80
		    port: 9002
		    local-addresses: [198.18.0.23]
		    backends:
		      - {address: 198.18.0.11, port: 9000}
		      - {address: 198.18.0.12, port: 9000}
		      - {address: 198.18.0.13, port: 9000}
		  - name: rate
		    address: 203.0.113.80
		    port: 9003
		    new-connections-per-s: 20
		    local-addresses: [198.18.0.24]
		    backends: [{address: 198.18.0.11, port: 9000}]
		  - name: syncookie
		    address: 203.0.113.80
		    port: 8090
		    syn-proxy: on
		    local-addresses: [198.18.0.25]
		    backends: [{address: 198.18.0.11}, {address: 198.18.0.12}, {address: 198.18.0.13}]
		  - name: syncookie-pp
		    address: 203.0.113.80
		    port: 8091
		    syn-proxy: on
		    proxy-protocol: v2
		    local-addresses: [198.18.0.26]
		    backends: [{address: 198.18.0.11}, {address: 198.18.0.12}, {address: 198.18.0.13}]
	EOF
}

# lb_pass PREFIX CONF WORKERS TESTS...: the balancer's tests on a daemon started from CONF.
lb_pass() {
	local pfx="$1" conf="$2"
	E2E_LB_WORKERS="$3" LB_CTL_SOCK=/run/ephemera/ephemera.sock
	shift 3
	daemon_pass "$pfx" "$conf" "$@" || true
	unset E2E_LB_WORKERS
}

# control_conf CONF: CONF with its control socket in a directory anyone may
# enter (the non-root test needs that), the pool on ports CONTROL_PORTS (the
# range tests move away from them) and TCP sessions that go 2 s after they
# close, so that what drains is gone quickly.
control_conf() {
	without_sections pools timeouts control <"$1"
	cat <<-EOF

		control:
		  socket: ${CONTROL_SOCK}
		pools:
		  - name: default
		    addresses: [${NAT_POOL}]
		    ports: ${CONTROL_PORTS}
		    inside: [192.0.2.0/24]
		timeouts:
		  tcp-transitory: 2
	EOF
}
CONTROL_SOCK=/run/ephemera-e2e/ephemera.sock
CONTROL_PORTS=10000-19999

# control_pass PREFIX CONF TESTS...: tests that start and stop the daemon
# themselves (test_control.sh), from CONF, with its socket at CONTROL_SOCK.
control_pass() {
	local pfx="$1" t
	E2E_CTL_CONF="$2" E2E_CTL_SOCK="$CONTROL_SOCK"
	shift 2
	mkdir -p "${CONTROL_SOCK%/*}"
	chmod 0755 "${CONTROL_SOCK%/*}"
	for t in "$@"; do
		e2e_run "$pfx$t" "test_$t"
	done
	rmdir "${CONTROL_SOCK%/*}" 2>/dev/null || true
}

# asan_pass PREFIX CONF PASS TESTS...: a pass (nat_pass, lb_pass) against the ASan+UBSan
# build, every finding fatal and written to $E2E_LOGDIR/PREFIXsan.PID;
# PREFIXsanitizers fails on any report, in those files or the daemon's log
# (LeakSanitizer runs when the daemon exits on SIGTERM).
asan_pass() {
	local pfx="$1" conf="$2" pass="$3" bin="$EPH_ROOT/build-asan/ephemera" saved="$EPH_BIN"
	shift 3
	if [ ! -x "$bin" ]; then
		e2e_fail "${pfx}daemon_start" "$bin is not built"
		return 0
	fi
	EPH_BIN="$bin"
	E2E_SAN_LOG="$E2E_LOGDIR/${pfx}san"
	ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:print_summary=1:log_path=$E2E_SAN_LOG" \
		LSAN_OPTIONS="suppressions=$EPH_ROOT/scripts/lsan.supp:print_suppressions=0" \
		UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1:log_path=$E2E_SAN_LOG" \
		"$pass" "$pfx" "$conf" 1 sanitizers_loaded "$@"
	EPH_BIN="$saved"
	e2e_run "${pfx}sanitizers" test_sanitizers
}

# The daemon of the pass runs with the sanitizers' runtimes.
test_sanitizers_loaded() {
	grep -q libasan "/proc/$EPH_PID/maps" || fail "the daemon (pid $EPH_PID) has no libasan mapped"
	grep -q libubsan "/proc/$EPH_PID/maps" || fail "the daemon (pid $EPH_PID) has no libubsan mapped"
	echo "pid $EPH_PID runs $(readlink "/proc/$EPH_PID/exe") with ASan and UBSan"
}

# No report of ASan, UBSan or LeakSanitizer from the pass's daemon.
test_sanitizers() {
	local f found=""
	for f in "$E2E_SAN_LOG".* "${E2E_SAN_LOG%san}ephemera.log"; do
		[ -f "$f" ] || continue
		if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Undefined|Leak)' "$f"; then
			found+=" $f"
		fi
	done
	[ -z "$found" ] || {
		for f in $found; do
			grep -m 20 -E 'ERROR|runtime error|SUMMARY|^    #[0-9]' "$f"
		done
		fail "sanitizer reports in:$found"
	}
	echo "no sanitizer report"
}

# nat_pass PREFIX CONF WORKERS TESTS...: a daemon pass with a pool; the
# tests learn its addresses, ports and worker count from E2E_NAT_*.
nat_pass() {
	local pfx="$1" conf="$2"
	E2E_NAT_WORKERS="$3"
	shift 3
	if [[ "$pfx" =~ ^natrange([0-9]+)_ ]]; then
		E2E_NAT_POOL="$NATRANGE_POOL"
		E2E_NAT_PORTS="$(natrange_ports "${BASH_REMATCH[1]}")"
		E2E_NAT_UDP_TIMEOUT="$NATRANGE_UDP_S" E2E_NAT_TCP_TRANSITORY="$NATRANGE_TCP_S"
	else
		E2E_NAT_POOL="$NAT_POOL" E2E_NAT_PORTS="$NAT_PORTS"
	fi
	E2E_SEEN_FILE="$E2E_LOGDIR/${pfx}seen"
	: >"$E2E_SEEN_FILE"
	daemon_pass "$pfx" "$conf" "$@" || true
	unset E2E_SEEN_FILE E2E_NAT_POOL E2E_NAT_PORTS E2E_NAT_WORKERS \
		E2E_NAT_UDP_TIMEOUT E2E_NAT_TCP_TRANSITORY
}

# daemon_pass NAME_PREFIX CONF TESTS...: start the daemon with CONF, run the
# tests (named NAME_PREFIX + test), stop it with SIGTERM and judge the exit.
daemon_pass() {
	local pfx="$1" conf="$2" t start any=0
	shift 2
	for t in "$@" sigterm_exit; do
		_e2e_selected "$pfx$t" && any=1
	done
	[ "$any" = 1 ] || return 0	# nothing of this pass was asked for
	E2E_DAEMON_LOG="$E2E_LOGDIR/${pfx}ephemera.log"
	if ! eph_start "$conf" "$E2E_DAEMON_LOG" 2>"$E2E_LOGDIR/${pfx}start.err"; then
		e2e_fail "${pfx}daemon_start" "$(head -n 1 "$E2E_LOGDIR/${pfx}start.err")"
		sed 's/^/    /' "$E2E_LOGDIR/${pfx}start.err" | tail -n 20
		for t in "$@" sigterm_exit; do
			e2e_skip "$pfx$t" "daemon did not start"
		done
		return 1
	fi
	for t in "$@"; do
		e2e_run "$pfx$t" "test_$t"
	done
	# Only this shell can reap the daemon, so stop it here and let the test
	# judge what happened.
	start=$SECONDS
	eph_stop
	E2E_STOP_STATUS=$EPH_STATUS
	E2E_STOP_SECS=$((SECONDS - start))
	e2e_run "${pfx}sigterm_exit" test_sigterm_exit
}

main

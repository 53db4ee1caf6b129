#!/usr/bin/env bash
# The namespace test bed the gateway runs on (see conf/ephemera.yaml):
#
#   eph-h1 192.0.2.11 ┐                                     ┌ eph-srv 203.0.113.10
#   eph-h2 192.0.2.12 ┴ eph-sw bridge ─ eph-in ─[gateway]─ eph-out ┘  198.51.100.10
#                                                  │
#                                                eph-lb ─ eph-bsw bridge ┬ eph-b1 198.18.0.11
#                                                                        ┴ eph-b2 198.18.0.12 ...
#
# eph-in, eph-out and eph-lb stay in the root namespace without addresses:
# the gateway opens them with net_af_packet. Everything else lives in eph-*
# namespaces. The backend network behind eph-lb (gateway 198.18.0.1) is where
# a load balancer's backends sit; a configuration without a third port
# leaves it unused.
#
#   scripts/testbed.sh up|down|status
#
# Environment:
#   EPH_INSIDE_HOSTS=N   inside hosts eph-h1..eph-hN at 192.0.2.(10+i) (default 2)
#   EPH_BACKENDS=N       backends eph-b1..eph-bN at 198.18.0.(10+i) (default 3;
#                        0: no backend network and no eph-lb)
#   EPH_SRV_ROUTES="P.." prefixes the server routes via 203.0.113.1
#                        (default 192.0.2.0/24; add NAT pools here)
#   EPH_GW=linux         put eph-in/eph-out in namespace eph-gw with a Linux
#                        router on .1 instead of leaving them to the daemon:
#                        checks the bed and the tests without the daemon
set -euo pipefail

HOSTS="${EPH_INSIDE_HOSTS:-2}"
BACKENDS="${EPH_BACKENDS:-3}"
SRV_ROUTES="${EPH_SRV_ROUTES:-192.0.2.0/24}"
GW_MODE="${EPH_GW:-dpdk}"
NFT_TABLE=eph_testbed

# Fixed MACs make captures readable: 02:eb:<side>:00:00:<last octet>.
MAC_IN=02:eb:01:00:00:01
MAC_OUT=02:eb:02:00:00:01
MAC_SRV=02:eb:02:00:00:0a
MAC_LB=02:eb:03:00:00:01

die() {
	printf 'error: testbed: %s\n' "$*" >&2
	exit 1
}

nsx() {
	local ns="$1"
	shift
	ip netns exec "$ns" "$@"
}

# A fresh namespace: loopback up, no IPv6 (no ND/MLD noise in the counters).
mkns() {
	ip netns add "$1"
	nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null
	ip -n "$1" link set lo up
}

# Namespace-side veth end: the kernel must finish checksums itself, or TCP and
# UDP reach af_packet with partial checksums that the far side then drops.
ns_if_offload() {
	nsx "$1" ethtool -K "$2" tx off >/dev/null 2>&1 ||
		die "ethtool -K $2 tx off failed in $1"
}

# Root-namespace end handed to the gateway: no addresses, no ARP, no IPv6,
# no forwarding, no segmentation offloads, so only the gateway speaks on it.
root_if_prepare() {
	local ifc="$1" mac="$2"
	ip link set "$ifc" address "$mac" mtu 1500 arp off
	sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=1" \
		"net.ipv4.conf.$ifc.forwarding=0" \
		"net.ipv4.conf.$ifc.accept_local=0" >/dev/null
	ethtool -K "$ifc" tx off >/dev/null 2>&1 || die "ethtool -K $ifc tx off failed"
	ethtool -K "$ifc" gro off gso off tso off >/dev/null 2>&1 || true
	ip link set "$ifc" up
}

# The root kernel would still receive what reaches eph-in/eph-out (the gateway
# shares their MAC) and this machine may own addresses in the test ranges:
# drop everything at netdev ingress, after af_packet taps have seen it.
root_isolate() {
	command -v nft >/dev/null 2>&1 || {
		echo "warning: testbed: nft not installed; root-namespace isolation relies on forwarding=0" >&2
		return 0
	}
	nft -f - <<-EOF || echo "warning: testbed: nft isolation not installed" >&2
		table netdev $NFT_TABLE {
			chain in_ingress {
				type filter hook ingress device "eph-in" priority 0; policy drop;
			}
			chain out_ingress {
				type filter hook ingress device "eph-out" priority 0; policy drop;
			}
			$(lb_ingress_chain)
		}
	EOF
}

lb_ingress_chain() {
	[ "$BACKENDS" -gt 0 ] || return 0
	printf 'chain lb_ingress {\n'
	printf '\t\t\t\ttype filter hook ingress device "eph-lb" priority 0; policy drop;\n'
	printf '\t\t\t}\n'
}

host_mac() {
	printf '02:eb:01:00:00:%02x' "$((10 + $1))"
}

backend_mac() {
	printf '02:eb:03:00:00:%02x' "$((10 + $1))"
}

# Backend network: a bridge in eph-bsw, the gateway's third port eph-lb on
# it, backends eph-b1..N routed through the gateway (their replies cross it
# whatever the forwarding mode).
backends_up() {
	local i ns
	[ "$BACKENDS" -gt 0 ] || return 0
	mkns eph-bsw
	ip -n eph-bsw link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
	ip -n eph-bsw link set br0 mtu 1500 up
	for ((i = 1; i <= BACKENDS; i++)); do
		ns="eph-b$i"
		mkns "$ns"
		ip -n "$ns" link add eth0 address "$(backend_mac "$i")" type veth peer name "b$i" netns eph-bsw
		ns_if_offload "$ns" eth0
		ns_if_offload eph-bsw "b$i"
		ip -n "$ns" link set eth0 mtu 1500 up
		ip -n eph-bsw link set "b$i" mtu 1500 master br0 up
		ip -n "$ns" addr add "198.18.0.$((10 + i))/24" dev eth0
		ip -n "$ns" route add default via 198.18.0.1
	done
	ip link add eph-lb type veth peer name gw netns eph-bsw
	ns_if_offload eph-bsw gw
	ip -n eph-bsw link set gw mtu 1500 master br0 up
}

up() {
	local i ns p
	if ! [[ "$HOSTS" =~ ^[0-9]+$ ]] || [ "$HOSTS" -lt 1 ] || [ "$HOSTS" -gt 200 ]; then
		die "EPH_INSIDE_HOSTS must be 1..200"
	fi
	if ! [[ "$BACKENDS" =~ ^[0-9]+$ ]] || [ "$BACKENDS" -gt 200 ]; then
		die "EPH_BACKENDS must be 0..200"
	fi
	down
	for cmd in ip ethtool sysctl; do
		command -v "$cmd" >/dev/null || die "$cmd not installed (run scripts/deps.sh)"
	done

	# Switch for the inside network.
	mkns eph-sw
	ip -n eph-sw link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
	ip -n eph-sw link set br0 mtu 1500 up
	# br_netfilter would validate IP headers and reassemble fragments on the
	# bridge, so the malformed frames the tests send would never reach eph-in.
	if nsx eph-sw test -e /proc/sys/net/bridge; then
		nsx eph-sw sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
			net.bridge.bridge-nf-call-ip6tables=0 \
			net.bridge.bridge-nf-call-arptables=0 >/dev/null 2>&1 ||
			die "cannot turn off br_netfilter on the eph-sw bridge"
	fi

	# Inside hosts.
	for ((i = 1; i <= HOSTS; i++)); do
		ns="eph-h$i"
		mkns "$ns"
		ip -n "$ns" link add eth0 address "$(host_mac "$i")" type veth peer name "h$i" netns eph-sw
		ns_if_offload "$ns" eth0
		ns_if_offload eph-sw "h$i"
		ip -n "$ns" link set eth0 mtu 1500 up
		ip -n eph-sw link set "h$i" mtu 1500 master br0 up
		ip -n "$ns" addr add "192.0.2.$((10 + i))/24" dev eth0
		ip -n "$ns" route add default via 192.0.2.1
	done

	# Gateway inside port: root end eph-in, other end on the bridge.
	ip link add eph-in type veth peer name gw netns eph-sw
	ns_if_offload eph-sw gw
	ip -n eph-sw link set gw mtu 1500 master br0 up

	# Outside server.
	mkns eph-srv
	ip link add eph-out type veth peer name eth0 netns eph-srv
	ns_if_offload eph-srv eth0
	ip -n eph-srv link set eth0 address "$MAC_SRV" mtu 1500 up
	ip -n eph-srv addr add 203.0.113.10/24 dev eth0
	for p in $SRV_ROUTES; do
		ip -n eph-srv route add "$p" via 203.0.113.1
	done
	# A network behind the server, reached through the gateway's static route.
	if ip -n eph-srv link add dummy0 type dummy 2>/dev/null; then
		ip -n eph-srv addr add 198.51.100.10/24 dev dummy0
		ip -n eph-srv link set dummy0 up
	else
		ip -n eph-srv addr add 198.51.100.10/32 dev lo
	fi

	backends_up

	case "$GW_MODE" in
	dpdk)
		root_if_prepare eph-in "$MAC_IN"
		root_if_prepare eph-out "$MAC_OUT"
		[ "$BACKENDS" -eq 0 ] || root_if_prepare eph-lb "$MAC_LB"
		root_isolate
		;;
	linux)
		mkns eph-gw
		ip link set eph-in netns eph-gw
		ip link set eph-out netns eph-gw
		ip -n eph-gw link set eph-in address "$MAC_IN" mtu 1500 up
		ip -n eph-gw link set eph-out address "$MAC_OUT" mtu 1500 up
		ip -n eph-gw addr add 192.0.2.1/24 dev eph-in
		ip -n eph-gw addr add 203.0.113.1/24 dev eph-out
		ip -n eph-gw route add 198.51.100.0/24 via 203.0.113.10
		if [ "$BACKENDS" -gt 0 ]; then
			ip link set eph-lb netns eph-gw
			ip -n eph-gw link set eph-lb address "$MAC_LB" mtu 1500 up
			ip -n eph-gw addr add 198.18.0.1/24 dev eph-lb
		fi
		nsx eph-gw sysctl -qw net.ipv4.ip_forward=1 >/dev/null
		;;
	*) die "EPH_GW must be dpdk or linux" ;;
	esac
	echo "testbed up: $HOSTS inside host(s), $BACKENDS backend(s)," \
		"gateway ports eph-in eph-out$([ "$BACKENDS" -eq 0 ] || echo ' eph-lb') ($GW_MODE)"
}

# Remove everything up may have made; never fails.
down() {
	local ns
	nft delete table netdev "$NFT_TABLE" >/dev/null 2>&1 || true
	for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^eph-/ {print $1}'); do
		ip netns del "$ns" 2>/dev/null || true
	done
	# Deleting a namespace frees its veths; these catch half-made pairs.
	ip link del eph-in 2>/dev/null || true
	ip link del eph-out 2>/dev/null || true
	ip link del eph-lb 2>/dev/null || true
	return 0
}

status() {
	local ns found=0
	for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^eph-/ {print $1}' | sort); do
		found=1
		echo "[$ns]"
		ip -n "$ns" -br addr show | grep -v '^lo ' | sed 's/^/  /'
		ip -n "$ns" route show | sed 's/^/  route /'
	done
	[ "$found" = 1 ] || {
		echo "testbed down"
		return 0
	}
	echo "[root]"
	ip -br link show eph-in 2>/dev/null | sed 's/^/  /' || true
	ip -br link show eph-out 2>/dev/null | sed 's/^/  /' || true
	ip -br link show eph-lb 2>/dev/null | sed 's/^/  /' || true
	if nft list table netdev "$NFT_TABLE" >/dev/null 2>&1; then
		echo "  isolation: nft table netdev $NFT_TABLE"
	fi
}

[ "$(id -u)" -eq 0 ] || die "must run as root"
case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
*)
	echo "usage: $0 up|down|status" >&2
	exit 2
	;;
esac

#!/usr/bin/env bash
# Install what Ephemera needs to build and test on Debian 12, and reserve
# hugepages. Idempotent: apt is touched only when a package is missing.
#
#   scripts/deps.sh               packages + hugepages
#   scripts/deps.sh --hugepages   hugepages only (EPH_HUGEPAGES=N, default 512)
#   scripts/deps.sh --packages    packages only
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

PACKAGES=(
	# build
	build-essential pkg-config meson ninja-build
	libdpdk-dev dpdk dpdk-dev libnuma-dev libcyaml-dev libyaml-dev libcmocka-dev
	libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev
	# fuzzing (scripts/fuzz.sh): clang and its libFuzzer runtime
	clang libclang-rt-14-dev
	# test bed and end-to-end tests
	iproute2 ethtool iputils-ping iputils-arping curl netcat-openbsd iperf3
	python3 python3-scapy tcpdump nftables procps util-linux jq
	# load-balancer backends and clients, the SYN flood
	nginx-light wrk hping3
	# FTP through the NAT (tests/e2e/test_ftp.sh): the server; curl above is the client
	vsftpd
	# plots
	gnuplot-nox
)
# shellcheck disable=SC2206 # word splitting is the point
PACKAGES+=(${EPH_EXTRA_PACKAGES:-})

missing_packages() {
	local installed p
	# One dpkg-query for all: unknown packages simply do not show up.
	installed="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null |
		awk '$2 == "installed" {print $1}' || true)"
	for p in "${PACKAGES[@]}"; do
		grep -qxF -- "$p" <<<"$installed" || printf '%s\n' "$p"
	done
}

install_packages() {
	local missing
	mapfile -t missing < <(missing_packages)
	[ "${#missing[@]}" -gt 0 ] || return 0
	eph_log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	local log
	log="$(mktemp)"
	if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
		-o Dpkg::Use-Pty=0 "${missing[@]}"; } >"$log" 2>&1; then
		tail -n 20 "$log" >&2
		rm -f "$log"
		eph_die "apt-get could not install: ${missing[*]}"
	fi
	rm -f "$log"
}

main() {
	eph_need_root
	case "${1:-}" in
	--hugepages) eph_hugepages || exit 1 ;;
	--packages) install_packages ;;
	"")
		install_packages
		eph_hugepages || exit 1
		;;
	*) eph_die "usage: $0 [--hugepages|--packages]" ;;
	esac
}

main "$@"

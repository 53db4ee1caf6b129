# shellcheck shell=bash
# shellcheck disable=SC2034 # variables are for the scripts that source this
# Helpers sourced by the scripts and the end-to-end tests: logging, hugepages,
# starting and stopping the daemon, DPDK runtime cleanup and exit traps.

EPH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EPH_BIN="${EPH_BIN:-$EPH_ROOT/build/ephemera}"
EPH_PREFIX="${EPH_PREFIX:-ephemera}"	# EAL file-prefix used by the configs
EPH_PID=""
EPH_LOG=""
EPH_CLEANUP_PIDS=()	# helpers (servers, captures) to kill at tear-down

eph_log() { printf '==> %s\n' "$*"; }
eph_warn() { printf 'warning: %s\n' "$*" >&2; }
eph_die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

eph_need_root() {
	[ "$(id -u)" -eq 0 ] || eph_die "$(basename "$0") must run as root"
}

# Reserve 2 MiB hugepages (EPH_HUGEPAGES, default 512) and mount hugetlbfs.
# Never shrinks a larger reservation another user may rely on.
eph_hugepages() {
	local want="${EPH_HUGEPAGES:-512}" have
	local nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
	[ -e "$nr" ] || {
		echo "error: hugepages: kernel has no 2 MiB hugepage support" >&2
		return 1
	}
	have="$(cat "$nr")"
	if [ "$have" -lt "$want" ]; then
		local before="$have"
		sysctl -qw vm.nr_hugepages="$want" >/dev/null 2>&1 || true
		have="$(cat "$nr")"
		if [ "$have" -lt "$want" ]; then
			# Give back a partial reservation rather than starve the machine.
			sysctl -qw vm.nr_hugepages="$before" >/dev/null 2>&1 || true
			echo "error: hugepages: asked for $want x 2 MiB, kernel could reserve only $have (memory fragmented or not root?)" >&2
			return 1
		fi
	fi
	if ! mountpoint -q /dev/hugepages; then
		mkdir -p /dev/hugepages
		mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages || {
			echo "error: hugepages: cannot mount hugetlbfs at /dev/hugepages" >&2
			return 1
		}
	fi
}

# Remove what a killed EAL leaves behind for PREFIX: runtime dir and hugepage
# files. Only safe while no process of that prefix runs.
eph_dpdk_cleanup() {
	local prefix="${1:-$EPH_PREFIX}"
	[ -n "$prefix" ] || return 0
	rm -rf "/var/run/dpdk/$prefix"
	rm -f "/dev/hugepages/${prefix}map_"* 2>/dev/null || true
}

# eph_start CONF LOGFILE [extra args]: start the daemon in the background and
# wait until it says "ephemera ready" (or dies; 30 s at most).
eph_start() {
	local conf="$1" log="$2" i st
	shift 2
	[ -x "$EPH_BIN" ] || {
		echo "error: $EPH_BIN not built" >&2
		return 1
	}
	EPH_LOG="$log"
	: >"$log"
	# stdin from /dev/null: CI has no terminal and the daemon must not read one.
	"$EPH_BIN" -c "$conf" "$@" </dev/null >>"$log" 2>&1 &
	EPH_PID=$!
	for ((i = 0; i < 300; i++)); do
		if grep -q 'ephemera ready' "$log"; then
			return 0
		fi
		if ! kill -0 "$EPH_PID" 2>/dev/null; then
			st=0
			wait "$EPH_PID" 2>/dev/null || st=$?
			echo "error: ephemera exited (status $st) before it was ready; log $log:" >&2
			sed 's/^/  | /' "$log" >&2
			EPH_PID=""
			return 1
		fi
		sleep 0.1
	done
	echo "error: ephemera not ready after 30 s; log $log:" >&2
	sed 's/^/  | /' "$log" >&2
	eph_stop
	return 1
}

eph_alive() {
	[ -n "$EPH_PID" ] && kill -0 "$EPH_PID" 2>/dev/null
}

# SIGTERM, wait up to 10 s, then SIGKILL. Returns the daemon's exit status
# (137 if it had to be killed) in EPH_STATUS.
eph_stop() {
	local i
	EPH_STATUS=0
	[ -n "$EPH_PID" ] || return 0
	if kill -0 "$EPH_PID" 2>/dev/null; then
		kill -TERM "$EPH_PID" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			kill -0 "$EPH_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$EPH_PID" 2>/dev/null; then
			eph_warn "ephemera did not stop within 10 s of SIGTERM; killing it"
			kill -KILL "$EPH_PID" 2>/dev/null || true
		fi
	fi
	wait "$EPH_PID" 2>/dev/null || EPH_STATUS=$?
	EPH_PID=""
	eph_dpdk_cleanup "$EPH_PREFIX"
	return 0
}

# Tear-down used by every trap: daemon first (it holds the af_packet sockets),
# then the test bed. EPH_KEEP=1 leaves the test bed up for debugging.
eph_cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM ERR
	for pid in "${EPH_CLEANUP_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	eph_stop || true
	if [ "${EPH_KEEP:-0}" != 1 ]; then
		"$EPH_ROOT/scripts/testbed.sh" down >/dev/null 2>&1 || true
	fi
	[ -z "${EPH_TMP:-}" ] || rm -rf "$EPH_TMP"
	return "$rc"
}

# Install traps so Ctrl-C, SIGTERM, errors and normal exit all tear down.
eph_traps() {
	trap 'eph_cleanup' EXIT
	trap 'echo "interrupted" >&2; exit 130' INT
	trap 'exit 143' TERM
}

# Telemetry shortcut: eph_tm [--get PATH] COMMAND
eph_tm() {
	python3 -I -S "$EPH_ROOT/scripts/telemetry.py" --prefix "$EPH_PREFIX" "$@"
}

# shellcheck shell=bash
# shellcheck disable=SC2034 # variables are for the scripts that source this
# Tiny assertion and runner library for the end-to-end tests.
#
# A test is a bash function test_NAME run in its own subshell with errexit:
# the first `fail` (or failing command) gives its reason. Cleanup registered
# with `defer` runs when the test ends, however it ends.

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
E2E_PASSED=0
E2E_FAILED=0
E2E_SKIPPED=0
E2E_TIMEOUT="${EPH_E2E_TIMEOUT:-90}"	# seconds per test, a backstop only
E2E_FILTER=("$@")

# ---- inside a test ------------------------------------------------------

fail() {
	printf '%s\n' "$*" >>"$T_REASON"
	exit 1
}

skip() {
	printf 'SKIP %s\n' "$*" >>"$T_REASON"
	exit 77
}

# defer CMD: run CMD (eval'd) when the test ends, last registered first.
defer() {
	T_DEFER+=("$1")
}

_t_run_deferred() {
	local i
	for ((i = ${#T_DEFER[@]} - 1; i >= 0; i--)); do
		eval "${T_DEFER[i]}" >/dev/null 2>&1 || true
	done
}

assert_eq() {
	[ "$1" == "$2" ] || fail "${3:-values differ}: expected '$2', got '$1'"
}

assert_ne() {
	[ "$1" != "$2" ] || fail "${3:-values equal}: both '$1'"
}

assert_contains() {
	case "$1" in
	*"$2"*) ;;
	*) fail "${3:-missing text}: '$2' not in: $(printf '%s' "$1" | head -c 400 | tr '\n' '|')" ;;
	esac
}

assert_match() {
	printf '%s\n' "$1" | grep -Eq -- "$2" ||
		fail "${3:-no match}: /$2/ not in: $(printf '%s' "$1" | head -c 400 | tr '\n' '|')"
}

assert_file_eq() {
	local a b
	[ -f "$2" ] || fail "${3:-files differ}: $2 missing"
	a="$(sha256sum <"$1" | cut -d' ' -f1)"
	b="$(sha256sum <"$2" | cut -d' ' -f1)"
	[ "$a" = "$b" ] || fail "${3:-files differ}: sent $(stat -c %s "$1") bytes sha256 ${a:0:16}, received $(stat -c %s "$2") bytes sha256 ${b:0:16}"
}

in_ns() {
	local ns="$1"
	shift
	ip netns exec "$ns" "$@"
}

# bg NS LOG CMD...: start CMD in namespace NS in the background, killed at the
# end of the test. Sets BG_PID.
bg() {
	local ns="$1" log="$2"
	shift 2
	ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
	BG_PID=$!
	defer "kill $BG_PID; wait $BG_PID"
}

# wait_listen NS tcp|udp PORT: until a socket listens there (5 s).
wait_listen() {
	local ns="$1" proto="$2" port="$3" i flag=-Hltn
	[ "$proto" = udp ] && flag=-Hlun
	for ((i = 0; i < 50; i++)); do
		[ -n "$(ip netns exec "$ns" ss "$flag" "sport = :$port" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	fail "nothing listens on $proto/$port in $ns"
}

# ---- runner --------------------------------------------------------------

_e2e_selected() {
	local pat
	[ "${#E2E_FILTER[@]}" -eq 0 ] && return 0
	for pat in "${E2E_FILTER[@]}"; do
		# shellcheck disable=SC2053 # glob match on purpose
		[[ "$1" == $pat ]] && return 0
	done
	return 1
}

e2e_skip() {
	local name="$1"
	shift
	_e2e_selected "$name" || return 0
	E2E_SKIPPED=$((E2E_SKIPPED + 1))
	printf 'SKIP %s: %s\n' "$name" "$*"
}

# A failure outside any test (setup, daemon start): counted whatever the filter.
e2e_fail() {
	local name="$1"
	shift
	E2E_FAILED=$((E2E_FAILED + 1))
	printf 'FAIL %s: %s\n' "$name" "$*"
}

# e2e_run NAME [FUNCTION]: run FUNCTION (default test_NAME) with a time
# limit, print PASS/FAIL/SKIP.
e2e_run() {
	local name="$1" fn="${2:-test_$1}" log rc pid wd reason t0 secs
	_e2e_selected "$name" || return 0
	t0="$EPOCHREALTIME"
	log="$E2E_LOGDIR/$name.log"
	T_REASON="$E2E_LOGDIR/$name.reason"
	: >"$T_REASON"
	set +e
	(
		set -eEuo pipefail
		T_DEFER=()
		T_DIR="$(mktemp -d "$E2E_LOGDIR/$name.XXXX")"
		trap '_t_run_deferred' EXIT
		trap 'exit 143' TERM
		trap 'printf "%s:%s: %s exited %s\n" "${BASH_SOURCE[0]##*/}" "$LINENO" "$BASH_COMMAND" "$?" >>"$T_REASON"' ERR
		"$fn"
	) >"$log" 2>&1 &
	pid=$!
	(
		# Its sleep ends with it: an orphan would hold the caller's files (a lock) for the rest.
		trap 'kill "$s" 2>/dev/null; exit 0' TERM
		sleep "$E2E_TIMEOUT" &
		s=$!
		wait "$s"
		echo "timed out after ${E2E_TIMEOUT}s" >>"$T_REASON"
		kill -TERM "$pid" 2>/dev/null
	) >/dev/null 2>&1 &
	wd=$!
	# An interrupted run must still end the test (and its watchdog).
	EPH_CLEANUP_PIDS+=("$wd" "$pid")
	wait "$pid"
	rc=$?
	unset 'EPH_CLEANUP_PIDS[-1]' 'EPH_CLEANUP_PIDS[-1]'
	kill "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	set -e
	reason="$(head -n 1 "$T_REASON")"
	secs="$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')"
	if [ "$rc" -eq 0 ]; then
		E2E_PASSED=$((E2E_PASSED + 1))
		printf 'PASS %s (%s s)\n' "$name" "$secs"
	elif [ "$rc" -eq 77 ]; then
		E2E_SKIPPED=$((E2E_SKIPPED + 1))
		printf 'SKIP %s: %s\n' "$name" "${reason#SKIP }"
	else
		E2E_FAILED=$((E2E_FAILED + 1))
		printf 'FAIL %s: %s (%s s)\n' "$name" "${reason:-exit status $rc}" "$secs"
		# The tail of the test's own output usually says why.
		tail -n "${EPH_E2E_LOG_LINES:-12}" "$log" | sed 's/^/    | /'
	fi
}

e2e_summary() {
	local line="$E2E_PASSED passed, $E2E_FAILED failed"
	[ "$E2E_SKIPPED" -eq 0 ] || line+=", $E2E_SKIPPED skipped"
	echo "$line"
	[ "$E2E_FAILED" -eq 0 ]
}

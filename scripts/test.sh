#!/usr/bin/env bash
# The test command (CI runs it through .ci/run, as root, without stdin):
# dependencies and hugepages, a -Werror build with its unit tests and
# ephemera-bench --quick as a correctness check, an ASan+UBSan build with the
# same unit tests, 30 s of each fuzz target, the end-to-end tests (the NAT
# pass also against the ASan build), then a 3-minute soak.
# Ends with "N passed, N failed" and a non-zero status on any failure.
#
#   sudo scripts/test.sh           EPH_SKIP_ASAN=1 / EPH_SKIP_FUZZ=1 / EPH_SKIP_E2E=1 /
#                                  EPH_SKIP_SOAK=1 to shorten
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

PASSED=0
FAILED=0
SUMMARY=()
LOGDIR=""

stage_result() {	# NAME PASSED FAILED [note]
	PASSED=$((PASSED + $2))
	FAILED=$((FAILED + $3))
	SUMMARY+=("$(printf '%-10s %3d passed, %d failed%s' "$1" "$2" "$3" "${4:+  ($4)}")")
}

# setup_build DIR OPTIONS...: meson setup, or bring an existing dir's options
# in line (meson configure only rewrites what changed).
setup_build() {
	local dir="$1" log
	shift
	log="$LOGDIR/setup-$(basename "$dir").log"
	if [ -f "$dir/build.ninja" ] && [ -d "$dir/meson-private" ]; then
		meson configure "$dir" "$@" >"$log" 2>&1 && return 0
		# A dir another meson version made, or broken: start again.
		meson setup --wipe "$dir" "$EPH_ROOT" "$@" >>"$log" 2>&1 && return 0
	else
		meson setup "$dir" "$EPH_ROOT" "$@" >"$log" 2>&1 && return 0
	fi
	tail -n 30 "$log"
	return 1
}

compile() {	# DIR
	local log
	log="$LOGDIR/ninja-$(basename "$1").log"
	if ninja -C "$1" >"$log" 2>&1; then
		return 0
	fi
	grep -E -A8 'error|FAILED' "$log" | head -n 60
	return 1
}

# unit_tests DIR NAME: run the unit suite, count programs from meson's summary.
unit_tests() {
	local dir="$1" name="$2" log ok fail rc=0
	log="$LOGDIR/unit-$name.log"
	meson test -C "$dir" --suite unit --print-errorlogs --timeout-multiplier 3 \
		>"$log" 2>&1 || rc=$?
	sed '/^Summary of Failures/,$d' "$log" | grep -E '^ *[0-9]+/[0-9]+ ' || true
	ok="$(awk '/^Ok:/ {s += $2} /^Expected Fail:/ {s += $3} END {print s + 0}' "$log")"
	fail="$(awk '/^Fail:/ || /^Timeout:/ {s += $2} /^Unexpected Pass:/ {s += $3} END {print s + 0}' "$log")"
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=1	# meson itself failed (no tests built, bad options, ...)
		tail -n 20 "$log"
	elif [ "$fail" -gt 0 ]; then
		# --print-errorlogs put each failing program's output between
		# its ">>> command" line and a closing rule.
		awk '/^>>> /{p = 1} p {print "    " $0} p && /^―/ && !/✀/ {p = 0}' "$log" |
			head -n 150
	fi
	stage_result "$name" "$ok" "$fail"
}

# Remove the EAL runtime dirs (and hugepage files) the unit tests and the
# benchmark leave under /var/run/dpdk; one that a live process still maps
# (someone else's run) is left alone.
dpdk_leftovers() {
	local d name
	for d in /var/run/dpdk/unit-* /var/run/dpdk/eph-bench-*; do
		[ -d "$d" ] || continue
		name="${d##*/}"
		if grep -qs -- "$d/" /proc/[0-9]*/maps; then
			continue
		fi
		eph_dpdk_cleanup "$name"
	done
}

# bench: ephemera-bench --quick is a correctness check here: exit status 0
# and "mismatches":0 on every case's line. Speed is not judged.
bench() {
	local bin="$EPH_ROOT/build/ephemera-bench" log out rc=0 n bad
	log="$LOGDIR/bench.log"
	if [ ! -x "$bin" ]; then
		echo "    $bin not built"
		stage_result bench 0 1 "not built"
		return
	fi
	timeout 300 "$bin" --quick >"$LOGDIR/bench.json" 2>"$log" </dev/null || rc=$?
	dpdk_leftovers
	out="$LOGDIR/bench.json"
	n="$(grep -c '^{' "$out" || true)"
	bad="$(grep '^{' "$out" | grep -vc '"mismatches":0[,}]' || true)"
	if [ "$rc" -eq 0 ] && [ "$n" -gt 0 ] && [ "$bad" -eq 0 ]; then
		stage_result bench 1 0 "$n cases, no mismatches"
	else
		tail -n 20 "$log" | sed 's/^/    /'
		grep '^{' "$out" | grep -v '"mismatches":0[,}]' | head -n 5 | sed 's/^/    /' || true
		stage_result bench 0 1 "exit $rc, $n cases, $bad with mismatches"
	fi
}

# fuzz: scripts/fuzz.sh 30, each libFuzzer target 30 s (clang build in
# build-fuzz); a target passes with 0 findings. Bounded: 10 minutes at most.
fuzz() {
	local log="$LOGDIR/fuzz.log" rc=0 ok fail
	timeout 600 "$EPH_ROOT/scripts/fuzz.sh" 30 >"$log" 2>&1 || rc=$?
	grep -E '^fuzz_|^    ' "$log" | sed 's/^/    /' || true
	ok="$(grep -c ' 0 findings$' "$log" || true)"
	fail="$(grep -c ' FINDING ' "$log" || true)"
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=1	# no target ran to the end: build failed, or the time ran out
		tail -n 20 "$log" | sed 's/^/    /'
	fi
	stage_result fuzz "$ok" "$fail"
}

# soak: scripts/soak.sh for 3 minutes; its own checks decide.
soak() {
	local log="$LOGDIR/soak.log"
	if EPH_SOAK_LOGDIR="$LOGDIR/soak" "$EPH_ROOT/scripts/soak.sh" 3 >"$log" 2>&1; then
		stage_result soak 1 0
	else
		grep -E '^  FAIL|error' "$log" | head -n 20 | sed 's/^/    /' || tail -n 20 "$log"
		stage_result soak 0 1 "see $log"
	fi
}

main() {
	local start=$SECONDS e2e_log e2e_line asan_built=0
	eph_need_root
	LOGDIR="$(mktemp -d /tmp/eph-test.XXXXXX)"
	echo "logs: $LOGDIR"

	eph_log "dependencies and hugepages"
	"$EPH_ROOT/scripts/deps.sh"

	eph_log "build (-Dwerror=true)"
	local built=0
	if setup_build "$EPH_ROOT/build" -Dwerror=true && compile "$EPH_ROOT/build"; then
		built=1
		eph_log "unit tests"
		unit_tests "$EPH_ROOT/build" unit
		dpdk_leftovers
		eph_log "ephemera-bench --quick (correctness only)"
		bench
	else
		stage_result build 0 1 "build failed"
	fi

	if [ "${EPH_SKIP_ASAN:-0}" != 1 ]; then
		eph_log "ASan+UBSan build and unit tests"
		if setup_build "$EPH_ROOT/build-asan" -Db_sanitize=address,undefined \
			-Db_lundef=false -Dbuildtype=debug -Dwerror=true &&
			compile "$EPH_ROOT/build-asan"; then
			asan_built=1
			# Leaks: DPDK's EAL keeps what it allocates for the process's
			# life; everything else must free. UBSan findings are fatal.
			ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:print_summary=1" \
				LSAN_OPTIONS="suppressions=$EPH_ROOT/scripts/lsan.supp:print_suppressions=0" \
				UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1" \
				unit_tests "$EPH_ROOT/build-asan" unit-asan
			dpdk_leftovers
		else
			stage_result asan-build 0 1 "build failed"
		fi
	fi

	if [ "${EPH_SKIP_FUZZ:-0}" != 1 ]; then
		eph_log "fuzzing (scripts/fuzz.sh 30)"
		fuzz
	fi

	if [ "${EPH_SKIP_E2E:-0}" != 1 ]; then
		eph_log "end-to-end tests"
		if [ "$built" = 1 ]; then
			e2e_log="$LOGDIR/e2e.log"
			EPH_E2E_ASAN="$asan_built" "$EPH_ROOT/tests/e2e/run.sh" 2>&1 | tee "$e2e_log" || true
			e2e_line="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$e2e_log" | tail -n 1 || true)"
			if [ -n "$e2e_line" ]; then
				stage_result e2e "$(cut -d' ' -f1 <<<"$e2e_line")" \
					"$(cut -d' ' -f3 <<<"$e2e_line")"
			else
				stage_result e2e 0 1 "runner gave no summary"
			fi
		else
			stage_result e2e 0 1 "not run: build failed"
		fi
	fi

	if [ "${EPH_SKIP_SOAK:-0}" != 1 ] && [ "$built" = 1 ]; then
		eph_log "soak (3 minutes)"
		soak
	fi

	echo
	printf '%s\n' "${SUMMARY[@]}"
	echo "time: $((SECONDS - start)) s, logs: $LOGDIR"
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

main "$@"

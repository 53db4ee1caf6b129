#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz) with clang in build-fuzz, then run
# each for SECONDS (default 60) on a scratch copy of its committed corpus
# with its dictionary, every sanitizer finding fatal. Prints per target the
# executions, exec/s and "0 findings" or where the crash input was saved
# (build-fuzz/fuzz-findings/TARGET/); exits non-zero on any finding.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   targets: fuzz_packet fuzz_ctl fuzz_config
#                                           EPH_FUZZ_KEEP=1 keeps the grown corpora
#
# A finding replays with: build-fuzz/tests/fuzz/TARGET FILE
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

BUILD="$EPH_ROOT/build-fuzz"
FINDINGS="$BUILD/fuzz-findings"
ALL_TARGETS=(fuzz_packet fuzz_ctl fuzz_config)

# Inputs longer than these add nothing but time: a few frames, a few
# requests, a configuration file.
declare -A MAX_LEN=([fuzz_packet]=4096 [fuzz_ctl]=4096 [fuzz_config]=8192)
declare -A CORPUS=([fuzz_packet]=packet [fuzz_ctl]=ctl [fuzz_config]=config)

build() {
	local log="$BUILD/fuzz-build.log"

	command -v clang >/dev/null || eph_die "clang is not installed: scripts/deps.sh --packages"
	if [ ! -f "$BUILD/build.ninja" ]; then
		mkdir -p "$BUILD"
		CC=clang meson setup "$BUILD" "$EPH_ROOT" -Dfuzz=true -Db_lundef=false \
			-Dbuildtype=debugoptimized >"$BUILD/fuzz-setup.log" 2>&1 ||
			{
				tail -n 20 "$BUILD/fuzz-setup.log"
				eph_die "meson setup of $BUILD failed"
			}
	fi
	# Only the fuzz targets: the rest of the tree has its own builds.
	if ! ninja -C "$BUILD" "${TARGETS[@]/#/tests/fuzz/}" >"$log" 2>&1; then
		grep -E -A8 'error|FAILED' "$log" | head -n 40
		eph_die "building the fuzz targets failed (log: $log)"
	fi
}

# EAL runtime directories and control sockets of fuzz targets that died.
leftovers() {
	local d pid
	for d in /var/run/dpdk/fuzz_packet-* /var/run/dpdk/fuzz_ctl-* /tmp/fuzz_ctl-*.*; do
		[ -d "$d" ] || continue
		pid="${d##*-}"
		pid="${pid%%.*}"
		kill -0 "$pid" 2>/dev/null && continue
		rm -rf "$d"
	done
}

# run TARGET SECONDS SCRATCH: one libFuzzer run; prints the target's line.
run() {
	local t="$1" secs="$2" scratch="$3" corpus art log rc=0 execs rate found
	corpus="$scratch/$t"
	art="$FINDINGS/$t"
	log="$scratch/$t.log"
	mkdir -p "$corpus" "$art"
	cp -r "$EPH_ROOT/tests/fuzz/corpus/${CORPUS[$t]}/." "$corpus/"
	# Findings stop the run and are fatal: ASan, LSan (DPDK's EAL keeps
	# what it allocates for the process's life: scripts/lsan.supp), UBSan.
	ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:print_summary=1" \
		LSAN_OPTIONS="suppressions=$EPH_ROOT/scripts/lsan.supp:print_suppressions=0" \
		UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1" \
		"$BUILD/tests/fuzz/$t" "$corpus" \
		-dict="$EPH_ROOT/tests/fuzz/${CORPUS[$t]}.dict" \
		-max_len="${MAX_LEN[$t]}" -max_total_time="$secs" -timeout=30 \
		-artifact_prefix="$art/" -print_final_stats=1 \
		</dev/null >"$log" 2>&1 || rc=$?
	execs="$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log" | tail -n 1)"
	rate="$(awk '/^stat::average_exec_per_sec:/ {print $2}' "$log" | tail -n 1)"
	found="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
	printf '%-12s %12s executions %8s exec/s  ' "$t" "${execs:-?}" "${rate:-?}"
	if [ "$rc" -eq 0 ]; then
		echo "0 findings"
		return 0
	fi
	echo "FINDING (exit $rc): ${found:-no input saved, see the log}"
	cp "$log" "$art/last-finding.log"
	grep -E -m 3 'ORACLE FAILED|ERROR: |runtime error|SUMMARY' "$log" | sed 's/^/    /' || true
	echo "    log: $art/last-finding.log"
	return 1
}

main() {
	local secs="${1:-60}" scratch t failed=0
	shift || true
	if ! [[ "$secs" =~ ^[0-9]+$ ]] || [ "$secs" -eq 0 ]; then
		eph_die "usage: $0 [SECONDS] [TARGET...]"
	fi
	TARGETS=("$@")
	[ "${#TARGETS[@]}" -gt 0 ] || TARGETS=("${ALL_TARGETS[@]}")
	for t in "${TARGETS[@]}"; do
		[ -n "${CORPUS[$t]:-}" ] || eph_die "unknown target $t (${ALL_TARGETS[*]})"
	done

	eph_log "building ${TARGETS[*]} in $BUILD (clang, libFuzzer, ASan+UBSan)"
	build
	scratch="$(mktemp -d /tmp/eph-fuzz.XXXXXX)"
	# shellcheck disable=SC2064 # expand now: scratch is local
	trap "leftovers; [ '${EPH_FUZZ_KEEP:-0}' = 1 ] || rm -rf '$scratch'" EXIT
	eph_log "fuzzing each target for $secs s (scratch $scratch)"
	for t in "${TARGETS[@]}"; do
		run "$t" "$secs" "$scratch" || failed=$((failed + 1))
	done
	[ "${EPH_FUZZ_KEEP:-0}" != 1 ] || eph_log "grown corpora kept in $scratch"
	[ "$failed" -eq 0 ] || eph_warn "$failed target(s) with findings"
	[ "$failed" -eq 0 ]
}

main "$@"

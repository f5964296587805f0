#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/Targets/*) with the fuzzer and address sanitizers and
# runs each for SECONDS (default 60) from its seed corpus (Fuzz/corpus/TARGET). Fails on a
# crash, a leak, a timeout or a broken property; prints per target executions, coverage
# and corpus size. See docs/fuzzing.md.
#
#   scripts/fuzz.sh [SECONDS] [TARGET…]      e.g. scripts/fuzz.sh 300 FuzzHTTPRequest
#
# FUZZ_JOBS (default 2) targets run at once; FUZZ_SEED fixes the seed (CI: 20261124); FUZZ_CONFIG=debug builds faster, fuzzes slower.
# New inputs go to .build-fuzz/corpus/TARGET (kept between runs, never committed); a
# failing input is saved as
# .build-fuzz/artifacts/TARGET-crash-… and replayed by `.build/debug/TARGET FILE`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_EACH="${1:-60}"
[ "$#" -gt 0 ] && shift
TARGETS=("$@")
[ "${#TARGETS[@]}" -eq 0 ] && TARGETS=(FuzzHTTPRequest FuzzJSON FuzzRESP FuzzRecordKey)
JOBS="${FUZZ_JOBS:-2}"
# CI fuzzes from a fixed seed, so a red run can be replayed; elsewhere libFuzzer picks one
# (0). FUZZ_SEED overrides both.
if [ "${CI:-}" = true ]; then SEED="${FUZZ_SEED:-20261124}"; else SEED="${FUZZ_SEED:-0}"; fi
# Release: about 7× the executions per second of a debug build (FuzzRecordKey: 1,540/s vs 225/s).
CONFIG="${FUZZ_CONFIG:-release}"
SCRATCH=.build-fuzz
export SWIFT_BACKTRACE=enable=no

./scripts/setup.sh

# llhttp built with coverage and ASan instrumentation, so the fuzzer sees its states too.
PKG_DIR="$(./scripts/llhttp-sanitized.sh .deps/fuzz -fsanitize=fuzzer-no-link,address)"

# SwiftPM passes the two sanitizers as two -sanitize= flags and the compiler keeps only the
# last, so Swift code got ASan or coverage, not both; the combined flag gives both.
# shellcheck disable=SC2054  # -sanitize=fuzzer,address is one flag, its comma the compiler's
BUILD=(swift build -c "$CONFIG" --scratch-path "$SCRATCH" --pkg-config-path "$PKG_DIR" -Xswiftc -sanitize=fuzzer,address
    --sanitize=fuzzer --sanitize=address -Xswiftc -parse-as-library -Xswiftc -DFUZZING)
start=$(date +%s)
mkdir -p "$SCRATCH/logs" "$SCRATCH/artifacts"
for target in "${TARGETS[@]}"; do
    if ! "${BUILD[@]}" --product "$target" >"$SCRATCH/logs/build-$target.log" 2>&1; then
        grep -E 'error' "$SCRATCH/logs/build-$target.log" | head -20
        echo "fuzz: $target did not build (log: $SCRATCH/logs/build-$target.log)"
        exit 1
    fi
done
BIN="$("${BUILD[@]}" --show-bin-path)"
echo "fuzz: built ${TARGETS[*]} in $(($(date +%s) - start)) s"

run_one() {
    local target="$1" seeds="Fuzz/corpus/$1" work="$SCRATCH/corpus/$1" dict=()
    mkdir -p "$work"
    [ -f "Fuzz/dict/$target.dict" ] && dict=("-dict=Fuzz/dict/$target.dict")
    "$BIN/$target" "$work" "$seeds" "${dict[@]}" -max_total_time="$SECONDS_EACH" -seed="$SEED" -timeout=10 \
        -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 -artifact_prefix="$SCRATCH/artifacts/$target-" \
        >"$SCRATCH/logs/$target.log" 2>&1
}

failed=0
declare -A target_of
pending=("${TARGETS[@]}")
running=0
status_of=()
while [ "${#pending[@]}" -gt 0 ] || [ "$running" -gt 0 ]; do
    while [ "${#pending[@]}" -gt 0 ] && [ "$running" -lt "$JOBS" ]; do
        run_one "${pending[0]}" &
        target_of[$!]="${pending[0]}"
        pending=("${pending[@]:1}")
        running=$((running + 1))
    done
    rc=0
    wait -n -p done_pid || rc=$?
    status_of+=("${target_of[$done_pid]}:$rc")
    running=$((running - 1))
done

for entry in "${status_of[@]}"; do
    target="${entry%%:*}"
    rc="${entry##*:}"
    log="$SCRATCH/logs/$target.log"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    line=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$line")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$line")
    corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$line")
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    if [ "$rc" -eq 0 ]; then verdict=ok; else
        verdict="FAILED (exit $rc)"
        failed=1
    fi
    printf 'fuzz: %-16s %s s, %s executions, cov %s, ft %s, corpus %s, peak RSS %s MB: %s\n' \
        "$target" "$SECONDS_EACH" "${runs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}" "$verdict"
    if [ "$rc" -ne 0 ]; then
        grep -E 'ERROR|SUMMARY|fuzz property failed|Fatal error|Test unit written|^Base64' "$log" | head -20 | sed 's/^/    /' || true
        echo "    full log: $log"
    fi
done
[ "$failed" -eq 0 ] || { echo "fuzz: a target failed; see docs/fuzzing.md for reproducing and minimising"; exit 1; }

#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for SECONDS each (default 60), one after the
# other, and prints per target the executions, executions per second, corpus growth and
# whether it crashed. Exits 1 if any target crashed (or timed out, or ran out of memory).
#
#   scripts/fuzz.sh [SECONDS]            every target
#   scripts/fuzz.sh [SECONDS] TARGET...  only these
#   scripts/fuzz.sh --seeds              rewrite the seed corpora from the captures
#   scripts/fuzz.sh --list               the targets
#
# Environment:
#   FUZZ_SANITIZER  address (default) or none: ASan catches out-of-bounds accesses in the
#                   unsafe SIMD kernels; none runs 2-3 times as many executions per second.
#   FUZZ_JOBS       parallel fuzzing processes per target (default 1; the machine has 2
#                   cores and the state machines are single-threaded).
#   FUZZ_ARGS       extra libFuzzer arguments, e.g. "-max_len=65536" (the state-machine
#                   targets default to -max_len=32768: longer scripts run slowly, and
#                   the capture replays among the seeds are cut there when fuzzing).
#
# Only the stable toolchain is needed: cargo-fuzz passes nightly-only rustc flags
# (-Zsanitizer=address, and -Cpasses=sancov-module with -Cllvm-args for coverage), which a
# stable rustc accepts with RUSTC_BOOTSTRAP=1. Nothing else is unstable: the fuzz crate is
# ordinary stable Rust, and `cargo test` in fuzz/ replays the corpus without cargo-fuzz.
#
# Seeds live in fuzz/corpus/<target>/ (committed, read-only for the fuzzer); what the
# fuzzer finds goes to the working corpus in $TARGET_DIR/corpus/<target>/, crashes to
# fuzz/artifacts/<target>/ (both ignored by git). Reproducers of bugs found are committed
# under fuzz/regressions/<target>/ and replayed by `cargo test` in fuzz/.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fuzz="$root/fuzz"
export RUSTC_BOOTSTRAP=1
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

die() { echo "fuzz.sh: $*" >&2; exit 2; }

# A directory we can write: the preferred one, else one under the user's cache (a normal
# user running after root built in fuzz/target, or on a read-only checkout).
writable() {
    local preferred=$1 fallback=$2
    if mkdir -p "$preferred" 2>/dev/null && [ -w "$preferred" ]; then
        echo "$preferred"
    else
        mkdir -p "$fallback" && echo "$fallback"
    fi
}
cache="${XDG_CACHE_HOME:-$HOME/.cache}/udpcast-fuzz"
target_dir=$(writable "$fuzz/target" "$cache/target")
artifacts=$(writable "$fuzz/artifacts" "$cache/artifacts")

targets() { sed -n 's/^name = "\(.*\)"$/\1/p' "$fuzz/Cargo.toml" | tail -n +2; }

case "${1:-}" in
    --list) targets; exit 0 ;;
    --seeds)
        cargo run --quiet --manifest-path "$fuzz/Cargo.toml" --target-dir "$target_dir" --example seeds
        exit 0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac

seconds=${1:-60}
[[ "$seconds" =~ ^[0-9]+$ ]] || die "SECONDS must be a number, not '$seconds'"
shift || true
selected=("$@")
[ ${#selected[@]} -gt 0 ] || mapfile -t selected < <(targets)
for t in "${selected[@]}"; do
    targets | grep -qx "$t" || die "no target '$t' (try --list)"
done

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz (cargo install cargo-fuzz --locked)" >&2
    cargo install cargo-fuzz --locked >&2
fi
command -v c++ >/dev/null 2>&1 || die "libfuzzer-sys builds libFuzzer with a C++ compiler: install g++"

sanitizer=${FUZZ_SANITIZER:-address}
jobs=${FUZZ_JOBS:-1}
# One build directory per sanitizer: switching would otherwise rebuild everything.
fuzz_args=(--fuzz-dir "$fuzz" --target-dir "$target_dir/$sanitizer" --sanitizer "$sanitizer")

echo "fuzz.sh: building ${#selected[@]} targets (sanitizer $sanitizer)" >&2
for t in "${selected[@]}"; do
    cargo fuzz build "${fuzz_args[@]}" "$t" >&2
done

logs="$target_dir/fuzz-logs"
mkdir -p "$logs"
failed=0
summary=()
for t in "${selected[@]}"; do
    work="$target_dir/corpus/$t"
    seeds="$fuzz/corpus/$t"
    mkdir -p "$work" "$seeds" "$artifacts/$t"
    before=$(ls "$artifacts/$t" | wc -l)
    log="$logs/$t.log"
    case "$t" in
        receiver|sender|verified_session) max_len=(-max_len=32768) ;;
        *) max_len=() ;;
    esac
    echo "fuzz.sh: $t for ${seconds}s (log: $log)" >&2
    status=0
    rm -f "$logs"/fuzz-*.log
    # libFuzzer's -jobs workers write fuzz-N.log in the working directory: run in $logs.
    # shellcheck disable=SC2086
    (cd "$logs" && cargo fuzz run "${fuzz_args[@]}" --jobs "$jobs" "$t" "$work" "$seeds" -- \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=20 \
        -artifact_prefix="$artifacts/$t/" "${max_len[@]}" ${FUZZ_ARGS:-}) >"$log" 2>&1 || status=$?
    cat "$logs"/fuzz-*.log >>"$log" 2>/dev/null || true
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{s+=$1} END {print s+0}')
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | awk '{s+=$1} END {print s+0}')
    units=$(ls "$work" | wc -l)
    after=$(ls "$artifacts/$t" | wc -l)
    result=ok
    if [ "$status" -ne 0 ] || [ "$after" -gt "$before" ]; then
        result="CRASH (exit $status): $(ls -t "$artifacts/$t" | head -1)"
        grep -m1 -E "panicked at|ERROR: (libFuzzer|AddressSanitizer)" "$log" >&2 || true
        failed=1
    fi
    summary+=("$(printf '%-18s %14s execs %9s exec/s %7s corpus  %s' "$t" "$execs" "$rate" "$units" "$result")")
done

echo
printf '%s\n' "${summary[@]}"
exit "$failed"

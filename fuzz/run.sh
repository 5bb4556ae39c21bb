#!/usr/bin/env bash
# Run every cargo-fuzz target (berth-wire's packet parsers, berth-model's customer input) for a given time each, in parallel on
# the given number of jobs, and stop at the first crash.
#   fuzz/run.sh [SECONDS_PER_TARGET=600] [PARALLEL=2]
# Works on a stable toolchain: RUSTC_BOOTSTRAP lets cargo-fuzz use its -Z flags.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-600}"
parallel="${2:-2}"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_FUZZ_TARGET_DIR:-$PWD/target}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
targets=$(cargo fuzz list)
for t in $targets; do cargo fuzz build "$t"; done
mkdir -p logs
run_one() {
    local t="$1"
    mkdir -p "corpus/$t"
    if cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$2" -max_len=65600 \
        >"logs/$t.log" 2>&1; then
        echo "$t: $(grep -E '^Done' "logs/$t.log" | tail -1) — no crash in $2 s"
    else
        echo "$t: FAILED, see fuzz/logs/$t.log and fuzz/artifacts/$t/"
        return 1
    fi
}
export -f run_one
printf '%s\n' $targets | xargs -P "$parallel" -I{} bash -c "run_one {} $secs"

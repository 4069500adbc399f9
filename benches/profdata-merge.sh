#!/usr/bin/env bash
# Benchmark: merging a large profile set with the built-in merger
# (`cargo armature profdata merge`) and with `llvm-profdata-22 merge`, on the
# same files, and checking that the two outputs are byte-identical.
#
# The profiles come from real server runs: `examples/hello.rs` built with
# `-Cprofile-generate`, started, loaded with wrk (plaintext, JSON, 404s) for a
# moment, stopped with SIGINT, again and again until the .profraw files add up
# to MIN_MB.
#
# Run with: benches/profdata-merge.sh [MIN_MB]      (default 100)
# Env: WORKDIR (default target/profdata-bench; profiles are kept and reused),
#      LLVM_PROFDATA (default llvm-profdata-22), RUNS (hyperfine runs, default 5),
#      COLLECT_ONLY=1 (stop after collecting the profiles).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
min_mb=${1:-100}
work=${WORKDIR:-$root/target/profdata-bench}
llvm=${LLVM_PROFDATA:-llvm-profdata-22}
runs=${RUNS:-5}
raw=$work/raw
mkdir -p "$raw"

command -v "$llvm" >/dev/null || { echo "error: $llvm not found (apt-get install llvm-22)" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "error: hyperfine not found" >&2; exit 1; }

echo "== building examples/hello with -Cprofile-generate"
# Build scripts and proc macros are instrumented too; their profiles go elsewhere.
CARGO_TARGET_DIR=$work/target RUSTFLAGS="-Cprofile-generate=$work/build-profiles" \
    cargo build -q --release -p armature-web --example hello --manifest-path "$root/Cargo.toml"
hello=$work/target/release/examples/hello

total_mb() { du -sm "$raw" | cut -f1; }

echo "== collecting profiles until $raw holds ${min_mb} MB"
n=0
while [ "$(total_mb)" -lt "$min_mb" ]; do
    log=$work/hello.log
    : >"$log"
    PORT=0 WORKERS=$((1 + n % 2)) LLVM_PROFILE_FILE="$raw/hello-%p.profraw" "$hello" >"$log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do grep -q listening "$log" && break; sleep 0.1; done
    url=$(grep -o 'http://[0-9.:]*' "$log" | head -1)
    [ -n "$url" ] || { cat "$log"; kill "$pid"; exit 1; }
    case $((n % 3)) in
        0) path=/plaintext ;;
        1) path=/json ;;
        *) path=/missing ;;
    esac
    if command -v wrk >/dev/null; then
        wrk -t1 -c$((2 + n % 6)) -d1s "$url$path" >/dev/null || echo "   wrk failed on run $n" >&2
    else
        for _ in $(seq 200); do curl -s "$url$path" >/dev/null; done
    fi
    curl -s "$url/plaintext" "$url/json" "$url/nope" >/dev/null || true
    kill -INT "$pid" 2>/dev/null || echo "   run $n: server already exited" >&2
    wait "$pid" || true
    n=$((n + 1))
done
files=("$raw"/hello-*.profraw)
echo "   ${#files[@]} profiles, $(total_mb) MB"
[ -z "${COLLECT_ONLY:-}" ] || exit 0

echo "== building cargo-armature (release)"
cargo build -q --release -p cargo-armature --manifest-path "$root/Cargo.toml"
ours_bin=$root/target/release/cargo-armature

echo "== merging (same files, same order)"
hyperfine --warmup 1 --runs "$runs" --export-json "$work/hyperfine.json" \
    -n llvm-profdata-22 "$llvm merge -o $work/llvm.profdata ${files[*]}" \
    -n builtin "$ours_bin profdata merge -o $work/ours.profdata ${files[*]}"

if cmp -s "$work/llvm.profdata" "$work/ours.profdata"; then
    echo "outputs: byte-identical ($(stat -c %s "$work/ours.profdata") bytes)"
else
    echo "outputs DIFFER: compare with $llvm merge --text" >&2
    exit 1
fi

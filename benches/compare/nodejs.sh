#!/usr/bin/env bash
# Armature against Node.js: its `http` module and Fastify (benches/compare/node/),
# on the four workloads of docs/armature-vs-nodejs-benchmark.md: plaintext, json,
# a path parameter (GET /users/:id) and a 1 KiB JSON POST (POST /echo). Method:
# /work/shared/BENCHMARKING.md, the measuring code of run.sh (lib.sh): servers on
# core SERVER_CPU, wrk on LOAD_CPU, a discarded warm-up, PAIRS alternating rounds,
# req/s and server CPU per request split into user and system. A Node.js server in
# cluster mode (WORKERS > 1) is measured over its processes (lib.sh's server_ticks).
#
#   benches/compare/nodejs.sh                        # one worker each
#   WORKERS=2 SERVER_CPU=0,1 LOAD_CPU=0,1 benches/compare/nodejs.sh   # cluster mode vs workers
#   SHORT=1 benches/compare/nodejs.sh                # smoke run
#
# Environment: SERVERS [armature node fastify], WORKLOADS [plaintext json param post],
# CONNS [64], DURATION [10], WARMUP [5], PAIRS [3], WORKERS [1], PROFILE [release-fat],
# NO_BUILD=1. Needs node (Node.js 20+) and npm (Fastify is installed with `npm ci`
# into benches/compare/node/node_modules), wrk, taskset, curl, python3.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

PROFILE="${PROFILE:-release-fat}"
SERVERS="${SERVERS:-armature node fastify}"
WORKLOADS="${WORKLOADS:-plaintext json param post}"
CONNS="${CONNS:-64}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-5}"
PAIRS="${PAIRS:-3}"
WORKERS="${WORKERS:-1}"
DEPTH=1
if [[ "${SHORT:-0}" == 1 ]]; then
    DURATION=1 WARMUP=1 PAIRS=1
fi
out_dir="$root/target/compare/nodejs"
READY_PATH=/plaintext
# shellcheck source=lib.sh
source "$here/lib.sh"
require_tools wrk taskset curl python3 node npm

target="${CARGO_TARGET_DIR:-$root/target}"
bin_of() {
    case "$1" in
        armature) echo "$target/$PROFILE/armature_routes" ;;
        node | fastify) echo "$out_dir/$1-server" ;;
        *) die "unknown server '$1' (known: armature node fastify)" ;;
    esac
}
port_of() {
    case "$1" in armature) echo 18091 ;; node) echo 18092 ;; fastify) echo 18093 ;; esac
}

# --- build ----------------------------------------------------------------------
if [[ "${NO_BUILD:-0}" != 1 ]]; then
    echo "== building armature_routes with profile $PROFILE; npm ci (Fastify)" >&2
    cargo build --quiet --profile "$PROFILE" -p armature-benches --bin armature_routes
    (cd "$here/node" && npm ci --silent --no-audit --no-fund)
fi
# The Node.js servers as executables (lib.sh starts a binary with HOST/PORT/WORKERS).
for s in node fastify; do
    file=http.js
    [[ $s == fastify ]] && file=fastify.js
    printf '#!/bin/sh\nexec node %s\n' "'$here/node/$file'" >"$out_dir/$s-server"
    chmod +x "$out_dir/$s-server"
done
[[ -d "$here/node/node_modules/fastify" ]] || [[ " $SERVERS " != *" fastify "* ]] \
    || die "Fastify is not installed: run (cd benches/compare/node && npm ci), or drop NO_BUILD"

ECHO_BODY="$out_dir/echo.json"
python3 - "$ECHO_BODY" <<'PY'
import json, sys
# A 1 KiB JSON body.
body = {"id": 7, "tags": [f"tag-{i}" for i in range(40)], "note": ""}
body["note"] = "x" * (1024 - len(json.dumps(body)))
open(sys.argv[1], "w").write(json.dumps(body))
PY
# wrk's script for the POST workload (the `--` depth argument lib.sh adds is unused).
printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = io.open("%s"):read("*a")\n' \
    "$ECHO_BODY" >"$out_dir/post.lua"

request_of() {
    case "$1" in
        plaintext) req_path=/plaintext ;;
        json) req_path=/json ;;
        param) req_path=/users/12345 ;;
        post) req_path=/echo req_script=(-s "$out_dir/post.lua") ;;
        *) die "unknown workload '$1' (known: plaintext json param post)" ;;
    esac
}

# Every server answers every workload with the same body.
check_same_bodies() {
    local s ref got path
    for path in /plaintext /json /users/12345; do
        ref="$(curl -fs "$(url armature "$path")")"
        for s in $SERVERS; do
            got="$(curl -fs "$(url "$s" "$path")")"
            [[ "$got" == "$ref" ]] || die "$s answers $path with '$got', armature with '$ref'"
        done
    done
    ref="$(curl -fs -H 'Content-Type: application/json' --data-binary "@$ECHO_BODY" "$(url armature /echo)")"
    for s in $SERVERS; do
        got="$(curl -fs -H 'Content-Type: application/json' --data-binary "@$ECHO_BODY" "$(url "$s" /echo)")"
        [[ "$got" == "$ref" ]] || die "$s echoes a different body"
    done
}

for s in $SERVERS; do start_server "$s"; done
check_same_bodies
measure_all

#!/usr/bin/env bash
# Same-run comparison on HttpArena's HTTP/1.1 profiles: Armature's entry
# (benches/httparena) against HttpArena's own actix, hyper and rust-epoll entries,
# built from HttpArena's sources (MDA2AV/HttpArena at HTTPARENA_COMMIT, copied to
# ARENA_SRC [/tmp/armature-httparena-src], never into this repository) with only their file paths (/data) and
# listen port (8080, so that they can run side by side) patched.
#
# Method: lib.sh (BENCHMARKING.md): every server pinned with `taskset -c 1` (one
# worker: a one-CPU affinity is what their worker counts follow), wrk on core 0
# with -t1; per profile a discarded warm-up per server, then PAIRS rounds
# alternating the servers; server CPU (user+sys, /proc) per request and req/s,
# with the per-pair spread of the ratios. The requests are HttpArena's own files
# (requests/*.raw, rotated as its gcannon.sh rotates them; static-rotate.lua for
# static), sent by httparena_raw.lua.
#
# Profiles (WORKLOADS) and the servers that subscribe to them (their meta.json):
#   baseline   get.raw, post_cl.raw, post_chunked.raw     armature actix hyper rust-epoll
#   pipelined  pipeline.raw, 16 deep                      armature actix hyper rust-epoll
#   json       json-{1,5,10,15,25,40,50}.raw              armature actix
#   upload     upload-{500k,2m,10m,20m}.raw, rotated per   armature actix
#              request (gcannon: per connection of 5 requests)
#   upload-500k, upload-2m, upload-10m, upload-20m: one of those sizes alone (the
#              servers subscribed to upload)
#   static     static-rotate.lua (Accept-Encoding br, gzip) armature actix
#
# Environment (defaults in brackets):
#   HTTPARENA_GIT     a clone of MDA2AV/HttpArena   [/work/.mirror/MDA2AV+HttpArena/repo]
#   HTTPARENA_COMMIT  [28606bafd5526c28b8438f630d7dca73b2869e28]
#   SERVERS [armature actix hyper rust-epoll]  WORKLOADS [baseline pipelined json]
#   CONNS [64]  DURATION [5]  WARMUP [2]  PAIRS [3]  MAX_LOAD, NO_BUILD=1 as in run.sh;
#   BUILD_ONLY=1 stops after the builds
# upload-10m.raw and upload-20m.raw, when the clone lacks them (the stored snapshot
# of HttpArena does: missing blobs, as its data/upload.bin), are made by
# make_upload_requests below, in ARENA_SRC/requests (never in this repository).
# Every server is built as its Dockerfile builds it, with `-C target-cpu=native`: the
# peers `cargo build --release` (each with its own release profile), Armature with
# the workspace's release-fat profile (fat LTO, one codegen unit, panic=abort;
# benches/httparena/Dockerfile).
# Output: the table on stdout, target/httparena-compare/results.json, wrk logs in
# target/httparena-compare/logs/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

HTTPARENA_GIT="${HTTPARENA_GIT:-/work/.mirror/MDA2AV+HttpArena/repo}"
HTTPARENA_COMMIT="${HTTPARENA_COMMIT:-28606bafd5526c28b8438f630d7dca73b2869e28}"
SERVERS_ALL="${SERVERS:-armature actix hyper rust-epoll}"
WORKLOADS_ALL="${WORKLOADS:-baseline pipelined json}"
CONNS="${CONNS:-64}"
DURATION="${DURATION:-5}"
WARMUP="${WARMUP:-2}"
PAIRS="${PAIRS:-3}"
DEPTH=16
WORKERS=1
PROFILE="release-fat (armature), release (peers)"
READY_PATH=/pipeline
out_dir="$root/target/httparena-compare"
# Outside the workspace: cargo would take the entries for members of ours.
arena="${ARENA_SRC:-${TMPDIR:-/tmp}/armature-httparena-src}"

# shellcheck source=lib.sh
source "$here/lib.sh"
require_tools wrk taskset curl python3 git cargo

bin_of() {
    case "$1" in
        armature) echo "$out_dir/target-armature/release-fat/armature-httparena" ;;
        actix | hyper | rust-epoll) echo "$out_dir/target-peers/release/httparena-$1" ;;
        *) die "unknown server '$1' (known: armature actix hyper rust-epoll)" ;;
    esac
}
port_of() {
    case "$1" in
        armature) echo 18180 ;; actix) echo 18181 ;; hyper) echo 18182 ;; rust-epoll) echo 18183 ;;
    esac
}
SERVER_ENV=(DATA_DIR="$arena/data")

# The servers subscribed to profile $1 (upload-SIZE: to upload), in SERVERS' order.
servers_for() {
    local s subscribed=() profile="${1%%-[0-9]*}"
    for s in $SERVERS_ALL; do
        case "$s" in
            armature) subscribed+=("$s") ;;
            *) python3 -c 'import json,sys; sys.exit(sys.argv[2] not in json.load(open(sys.argv[1]))["tests"])' \
                "$arena/frameworks/$s/meta.json" "$profile" && subscribed+=("$s") ;;
        esac
    done
    echo "${subscribed[*]}"
}

# --- HttpArena's sources and files, and the builds --------------------------------
fetch_httparena() {
    rm -rf "$arena" && mkdir -p "$arena"
    # Folder by folder (each as its own tree) and file by file: the stored
    # snapshot lacks some large files (data/benchmark.db, the 10 and 20 MB uploads).
    local d f
    for d in data/static frameworks/actix frameworks/hyper frameworks/rust-epoll; do
        git -C "$HTTPARENA_GIT" archive --prefix="$d/" "$HTTPARENA_COMMIT:$d" | tar -x -C "$arena"
    done
    mkdir -p "$arena/requests"
    for f in data/dataset.json requests/static-rotate.lua; do
        git -C "$HTTPARENA_GIT" show "$HTTPARENA_COMMIT:$f" >"$arena/$f"
    done
    for f in get post_cl post_chunked pipeline json-1 json-5 json-10 json-15 json-25 json-40 json-50 \
        upload-500k upload-2m; do
        git -C "$HTTPARENA_GIT" show "$HTTPARENA_COMMIT:requests/$f.raw" >"$arena/requests/$f.raw"
    done
    # Upstream's own 10 and 20 MB files where the clone has them (a full clone does).
    for f in upload-10m upload-20m; do
        git -C "$HTTPARENA_GIT" show "$HTTPARENA_COMMIT:requests/$f.raw" >"$arena/requests/$f.raw" 2>/dev/null \
            || rm -f "$arena/requests/$f.raw"
    done
    # The patches: their data directory, and each its own port.
    local s
    for s in actix hyper rust-epoll; do
        sed -i -e "s#\"/data/#\"$arena/data/#g" \
            -e "s#0\.0\.0\.0:8080#127.0.0.1:$(port_of "$s")#; s#(Ipv4Addr::UNSPECIFIED, 8080)#(Ipv4Addr::UNSPECIFIED, $(port_of "$s"))#" \
            "$arena/frameworks/$s/src/main.rs"
        grep -q "$(port_of "$s")" "$arena/frameworks/$s/src/main.rs" || die "cannot patch $s's port"
    done
}

# HttpArena's upload-10m.raw and upload-20m.raw where they are absent: upload-2m.raw's
# head with its Content-Length changed (to validate.sh's sizes, 10 and 20 MiB), then
# that many bytes. Upstream's bodies are uniformly random bytes (those of upload-500k
# and upload-2m: all 256 values, 7.997 bits of entropy per byte, zlib cannot shrink
# them); these are too, and the same on every machine: SHAKE-256 (FIPS 202) of the
# file's name, checked against the SHA-256 recorded here.
make_upload_requests() {
    python3 - "$arena/requests" <<'PY' || die "cannot make the upload request files in $arena/requests"
import hashlib, os, sys

folder = sys.argv[1]
model = open(os.path.join(folder, "upload-2m.raw"), "rb").read()
head, sep, body = model.partition(b"\r\n\r\n")
length_line = b"\r\nContent-Length: %d" % len(body)
assert sep and head.count(length_line) == 1, "upload-2m.raw: no single Content-Length of its body"
sha256 = {
    "upload-10m": (10 << 20, "e3a92d6b0924c3315f193531765d7a7c42dcd0a5634141fff019908665276f27"),
    "upload-20m": (20 << 20, "15b12ff99a5e329ab366f36421c11bcaab1ff0b971c944f5389191f50c387dc7"),
}
for name, (size, want) in sha256.items():
    path = os.path.join(folder, name + ".raw")
    if os.path.exists(path):
        continue  # upstream's own file
    data = head.replace(length_line, b"\r\nContent-Length: %d" % size) + sep
    data += hashlib.shake_256(f"HttpArena requests/{name}.raw".encode()).digest(size)
    got = hashlib.sha256(data).hexdigest()
    assert got == want, f"{name}.raw: SHA-256 {got}, expected {want}"
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)
    print(f"== made {path} ({len(data)} bytes)", file=sys.stderr)
PY
}

if [[ "${NO_BUILD:-0}" != 1 ]]; then
    echo "== HttpArena $HTTPARENA_COMMIT into $arena" >&2
    fetch_httparena
    for s in $SERVERS_ALL; do
        echo "== building $s" >&2
        case "$s" in
            armature)
                RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR="$out_dir/target-armature" \
                    cargo build --quiet --profile release-fat --locked -p armature-httparena ;;
            *)
                (cd "$arena/frameworks/$s" && RUSTFLAGS="-C target-cpu=native" \
                    CARGO_TARGET_DIR="$out_dir/target-peers" cargo build --quiet --release) ;;
        esac
    done
fi
[[ -f "$arena/requests/upload-2m.raw" ]] || die "$arena has no request files: run without NO_BUILD"
make_upload_requests
[[ "${BUILD_ONLY:-0}" == 1 ]] && exit 0

# wrk's request script reads these (lib.sh gives wrk DEPTH after `--`).
request_of() {
    local r="$arena/requests" files=()
    req_path=/ req_script=(-s "$here/httparena_raw.lua")
    DEPTH=1
    case "$1" in
        baseline) files=("$r/get.raw" "$r/post_cl.raw" "$r/post_chunked.raw") ;;
        pipelined) files=("$r/pipeline.raw") DEPTH=16 ;;
        json) for f in 1 5 10 15 25 40 50; do files+=("$r/json-$f.raw"); done ;;
        upload) for f in 500k 2m 10m 20m; do files+=("$r/upload-$f.raw"); done ;;
        upload-500k | upload-2m | upload-10m | upload-20m) files=("$r/$1.raw") ;;
        static) req_script=(-s "$r/static-rotate.lua") ;;
        *) die "unknown profile '$1' (known: baseline pipelined json upload upload-{500k,2m,10m,20m} static)" ;;
    esac
    export ARENA_REQUESTS="${files[*]}"
}

SERVERS="$SERVERS_ALL"
for s in $SERVERS; do start_server "$s"; done
table="$out_dir/table.md"
for w in $WORKLOADS_ALL; do
    SERVERS="$(servers_for "$w")" WORKLOADS="$w" measure_all >"$table"
done
cat "$table"

#!/bin/bash
# Side-by-side throughput at scale: armature vs hyper, W workers each on SRV_CPUS,
# wrk on WRK_CPUS, alternating pairs. Prints one line per run.
#
# Run from a folder holding `armature` (target/release-fat/examples/hello),
# `hyper` (target/release-fat/hyper_hello), `pipe.lua` (compare/pipeline.lua with
# depth 16) and `wrk.sh` (a wrapper that runs wrk, e.g. `exec wrk "$@"`):
#   W=8 SRV_CPUS=0-7 WRK_CPUS=8-15 T=8 C=256 D=5 ./scale.sh
# Server CPU is utime+stime ticks (10 ms) from /proc/PID/stat around each run.
W=${W:-8}; SRV_CPUS=${SRV_CPUS:-0-7}; WRK_CPUS=${WRK_CPUS:-8-15}; T=${T:-8}; C=${C:-256}; D=${D:-5}
nproc; uname -r
for wl in pipe json; do
  for pair in 1 2 3; do
    for srv in armature hyper; do
      PORT=19000 WORKERS=$W taskset -c $SRV_CPUS ./$srv >/dev/null 2>&1 & pid=$!
      sleep 0.5
      if [ $wl = pipe ]; then args="-s pipe.lua http://127.0.0.1:19000/plaintext"; else args="http://127.0.0.1:19000/json"; fi
      [ $pair = 1 ] && taskset -c $WRK_CPUS ./wrk.sh -t$T -c$C -d2s $args >/dev/null 2>&1
      t0=$(awk '{print $14+$15}' /proc/$pid/stat)
      out=$(taskset -c $WRK_CPUS ./wrk.sh -t$T -c$C -d${D}s $args 2>&1)
      t1=$(awk '{print $14+$15}' /proc/$pid/stat)
      rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
      n=$(echo "$out" | awk '/requests in/{print $1}')
      err=$(echo "$out" | grep -E "Socket errors|Non-2xx" | tr '\n' ' ')
      echo "$wl pair=$pair $srv rps=$rps reqs=$n cpu_ticks=$((t1-t0)) $err"
      kill -TERM $pid; wait $pid
    done
  done
done

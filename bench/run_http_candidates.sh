#!/usr/bin/env bash
# The HTTP server candidates of issue 10 in one run: opsready's listener (asio + Boost.Beast),
# libmicrohttpd 0.9.75 (bench/http_mhd_probe) and bench/http_floor, each on a free loopback
# port: single small requests (bench/ingest_load), then 500 half-sent + 500 idle connections,
# a header trickled one byte per 500 ms, and 500 event streams (bench/http_hold). Figures in
# docs/architecture.md and docs/http-candidates.md.
#
#   bench/run_http_candidates.sh [BUILD_DIR] [DURATION_SECONDS]
#   (BUILD_DIR defaults to build/release; it needs bin/opsready and bench/{ingest_load,
#   http_floor,http_hold,http_mhd_probe}; http_mhd_probe is built where libmicrohttpd-dev is
#   installed: OPSREADY_SETUP_EXTRA=full scripts/setup)
set -euo pipefail

build=${1:-build/release}
duration=${2:-8}
bin=$build/bench
for b in "$build/bin/opsready" "$bin/ingest_load" "$bin/http_floor" "$bin/http_hold" \
  "$bin/http_mhd_probe"; do
  [[ -x $b ]] || { echo "build $b first" >&2; exit 1; }
done

# shellcheck source=bench/load_lib.sh
source "$(dirname "$0")/load_lib.sh"

started_port() {  # waits for "listening on 127.0.0.1:PORT" in $1 and prints PORT
  for _ in $(seq 50); do grep -q listening "$1" && break; sleep 0.1; done
  sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$1" | head -1
}

op_port=$(free_port)
cat >"$tmp/opsready.yml" <<YAML
listen: 127.0.0.1:$op_port
data_dir: $tmp/opsready-data
http:
  header_timeout: 2s
  max_connections_per_client: 4096
YAML
"$build/bin/opsready" serve --config "$tmp/opsready.yml" </dev/null >"$tmp/opsready.log" 2>&1 &
pids+=($!)
wait_port "$op_port"
"$bin/http_mhd_probe" --timeout 2 </dev/null >"$tmp/mhd.out" 2>&1 &
pids+=($!)
mhd_port=$(started_port "$tmp/mhd.out")
"$bin/http_floor" 0 </dev/null >"$tmp/floor.out" 2>&1 &
pids+=($!)
floor_port=$(started_port "$tmp/floor.out")
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
targets=(--target "opsready=127.0.0.1:$op_port" --target "libmicrohttpd=127.0.0.1:$mhd_port"
  --target "http_floor=127.0.0.1:$floor_port")

echo "== single small requests, 4 connections, closed loop"
"$bin/ingest_load" ping "${targets[@]}" --connections 4 --duration "$duration"
"$bin/ingest_load" alerts "${targets[@]}" --connections 4 --batch 1 --distinct 1000 \
  --duration "$duration"
for t in "opsready=$op_port" "libmicrohttpd=$mhd_port"; do
  port=${t#*=}
  echo "== ${t%=*}: 500 half-sent + 500 idle connections (header/inactivity timeout 2 s)"
  "$bin/http_hold" --port "$port" --half 500 --idle 500 --requests 3000 --wait-closed 6
  echo "== ${t%=*}: 20 headers trickled one byte per 500 ms"
  "$bin/http_hold" --port "$port" --trickle 20 --trickle-interval-ms 500 --requests 100 \
    --wait-closed 8
done
echo "== opsready: 500 readiness streams"
"$bin/http_hold" --port "$op_port" --sse 500 --sse-path /api/v1/readiness/stream --requests 3000
echo "== libmicrohttpd: 500 streams (a tick a second)"
"$bin/http_hold" --port "$mhd_port" --sse 500 --sse-path /stream --requests 3000
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"

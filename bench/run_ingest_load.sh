#!/usr/bin/env bash
# Runs bench/ingest_load against a fresh `opsready serve` and a fresh Prometheus Alertmanager,
# both on free loopback ports with their data in a temporary directory, then stops both.
#
#   bench/run_ingest_load.sh [BUILD_DIR] [DURATION_SECONDS]
#   (BUILD_DIR defaults to build/release; it must hold bin/opsready and bench/ingest_load)
#
# Alertmanager: Debian's prometheus-alertmanager (/usr/bin/prometheus-alertmanager), clustering
# off, one receiver that sends nothing. Figures are recorded in docs/performance.md.
set -euo pipefail

build=${1:-build/release}
duration=${2:-10}
opsready=$build/bin/opsready
load=$build/bench/ingest_load
am=/usr/bin/prometheus-alertmanager
[[ -x $opsready && -x $load ]] || { echo "build $opsready and $load first" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

op_port=$(free_port)
cat >"$tmp/opsready.yml" <<YAML
listen: 127.0.0.1:$op_port
data_dir: $tmp/opsready-data
YAML
"$opsready" serve --config "$tmp/opsready.yml" </dev/null >"$tmp/opsready.log" 2>&1 &
pids+=($!)
wait_port "$op_port"

targets=(--target "opsready=127.0.0.1:$op_port")
if [[ -x $am ]]; then
  am_port=$(free_port)
  cat >"$tmp/alertmanager.yml" <<YAML
route:
  receiver: blackhole
receivers:
  - name: blackhole
YAML
  "$am" --config.file="$tmp/alertmanager.yml" --storage.path="$tmp/am-data" \
    --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= \
    </dev/null >"$tmp/alertmanager.log" 2>&1 &
  pids+=($!)
  wait_port "$am_port"
  targets+=(--target "alertmanager=127.0.0.1:$am_port")
  echo "alertmanager: $("$am" --version 2>&1 | head -1)"
else
  echo "prometheus-alertmanager is not installed: measuring opsready only" >&2
fi
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

echo "== (a) NDJSON events -> evaluation queue"
"$load" events --target "opsready=127.0.0.1:$op_port" --connections 4 --batch 1000 \
  --duration "$duration"
echo "== (b) POST /api/v2/alerts, same payloads, one target after the other"
for batch in 1 100; do
  "$load" alerts "${targets[@]}" --connections 4 --batch "$batch" --distinct 1000 \
    --duration "$duration"
done
echo "== opsready_evaluation_queue / rejected counters after the run"
curl -s "http://127.0.0.1:$op_port/metrics" | grep -E '^opsready_(events_rejected|alerts_)' || true

#!/usr/bin/env bash
# Runs bench/ingest_load against a fresh `opsready serve` and a fresh Prometheus Alertmanager,
# both on free loopback ports with their data in a temporary directory, then stops both.
#
#   bench/run_ingest_load.sh [BUILD_DIR] [DURATION_SECONDS]
#   ALERT_BATCHES="1 64" bench/run_ingest_load.sh ...   (alerts per request; default "1 64 100")
#   (BUILD_DIR defaults to build/release; it must hold bin/opsready, bench/ingest_load,
#   bench/http_floor and bench/http_hold)
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

# shellcheck source=bench/load_lib.sh
source "$(dirname "$0")/load_lib.sh"

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
floor=$build/bench/http_floor
floor_targets=()
if [[ -x $floor ]]; then
  # The machine's ceiling: one epoll thread that parses only the header end and answers 200
  # with no work at all. Measured right before opsready with the same requests.
  "$floor" 0 </dev/null >"$tmp/floor.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do grep -q listening "$tmp/floor.out" && break; sleep 0.1; done
  floor_port=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/floor.out")
  floor_targets=(--target "http_floor=127.0.0.1:$floor_port")
fi
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== (a) NDJSON events -> evaluation queue"
"$load" events --target "opsready=127.0.0.1:$op_port" --connections 4 --batch 1000 \
  --duration "$duration"
echo "== (b) POST /api/v2/alerts, same payloads, one target after the other (single alerts:"
echo "   bench/http_floor first, the machine's ceiling for these requests)"
for batch in ${ALERT_BATCHES:-1 64 100}; do
  extra=()
  [[ $batch == 1 ]] && extra=("${floor_targets[@]}")
  "$load" alerts "${extra[@]}" "${targets[@]}" --connections 4 --batch "$batch" --distinct 1000 \
    --duration "$duration"
done
echo "== (c) GET /-/healthy: the HTTP stack's ceiling for one small request per round trip"
"$load" ping "${targets[@]}" --connections 4 --duration "$duration"
hold=$build/bench/http_hold
if [[ -x $hold ]]; then
  echo "== (d) one small request's latency (GET /-/healthy, one client, closed loop): idle, and"
  echo "   with 1000 idle keep-alive connections held open"
  "$hold" --port "$op_port" --idle 1000 --requests 5000 | sed 's/^/opsready: /'
  [[ -n ${am_port:-} ]] && "$hold" --port "$am_port" --idle 1000 --requests 5000 |
    sed 's/^/alertmanager: /'
  [[ -n ${floor_port:-} ]] && "$hold" --port "$floor_port" --idle 1000 --requests 5000 |
    sed 's/^/http_floor: /'
  echo "== (e) large bodies off the network thread: GET /-/healthy latency while one client posts"
  echo "   20 000-event NDJSON batches (about 2 MB), to opsready as configured (bodies of 64 KiB"
  echo "   and more parsed on the worker pool) and to one that parses every body on the network"
  echo "   thread (http.offload_body_bytes: 2147483648)"
  inline_port=$(free_port)
  cat >"$tmp/inline.yml" <<YAML
listen: 127.0.0.1:$inline_port
data_dir: $tmp/inline-data
http:
  offload_body_bytes: 2147483648
YAML
  "$opsready" serve --config "$tmp/inline.yml" </dev/null >"$tmp/inline.log" 2>&1 &
  pids+=($!)
  wait_port "$inline_port"
  for target in "offload=$op_port" "inline=$inline_port"; do
    port=${target#*=}
    "$load" events --target "${target%=*}=127.0.0.1:$port" --connections 1 --batch 20000 \
      --duration 6 >"$tmp/heavy.out" 2>&1 &
    heavy=$!
    sleep 1
    "$hold" --port "$port" --requests 3000 | grep baseline | sed "s/^baseline/${target%=*}:/"
    wait "$heavy"
    tail -1 "$tmp/heavy.out"
  done
fi
echo "== opsready_evaluation_queue / rejected counters after the run"
curl -s "http://127.0.0.1:$op_port/metrics" | grep -E '^opsready_(events_rejected|alerts_|store_errors)' || true
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== nothing lost: every distinct alert listed, and on disk after a graceful stop"
listed=$(curl -s "http://127.0.0.1:$op_port/api/v1/alerts" |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
kill -TERM "${pids[0]}"
for _ in $(seq 100); do kill -0 "${pids[0]}" 2>/dev/null || break; sleep 0.1; done
rows=$(/usr/bin/python3 -c 'import sqlite3,sys
print(sqlite3.connect(sys.argv[1]).execute("select count(*) from alerts").fetchone()[0])' \
  "$tmp/opsready-data/opsready.db")
echo "distinct alerts posted: 1000; listed by opsready: $listed; rows in opsready.db: $rows"
grep -E 'alert|store' "$tmp/opsready.log" || true

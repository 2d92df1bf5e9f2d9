#!/usr/bin/env bash
# Runs bench/nats_load against a fresh nats-server (JetStream, file storage) and a fresh
# `opsready serve` with bus.nats, both on free loopback ports with their data in a temporary
# directory, then stops both.
#
#   bench/run_nats_load.sh [BUILD_DIR] [EVENTS]
#   (BUILD_DIR defaults to build/release; it must hold bin/opsready and bench/nats_load)
#
# Figures are recorded in docs/performance.md.
set -euo pipefail

build=${1:-build/release}
events=${2:-1000000}
opsready=$build/bin/opsready
load=$build/bench/nats_load
nats=$(command -v nats-server || echo /usr/sbin/nats-server)
[[ -x $opsready && -x $load ]] || { echo "build $opsready and $load first" >&2; exit 1; }
[[ -x $nats ]] || { echo "nats-server is not installed (apt-get install nats-server)" >&2; exit 1; }

# shellcheck source=bench/load_lib.sh
source "$(dirname "$0")/load_lib.sh"

nats_port=$(free_port)
"$nats" -js -a 127.0.0.1 -p "$nats_port" -sd "$tmp/nats" </dev/null >"$tmp/nats.log" 2>&1 &
pids+=($!)
wait_port "$nats_port"

op_port=$(free_port)
cat >"$tmp/opsready.yml" <<YAML
listen: 127.0.0.1:$op_port
data_dir: $tmp/opsready-data
bus:
  nats:
    servers: [nats://127.0.0.1:$nats_port]
YAML
"$opsready" serve --config "$tmp/opsready.yml" </dev/null >"$tmp/opsready.log" 2>&1 &
pids+=($!)
wait_port "$op_port"
# The stream exists once opsready's consumer is bound.
for _ in $(seq 100); do
  grep -q "created stream\|fetching" "$tmp/opsready.log" && break
  sleep 0.1
done
sleep 1

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "nats-server: $("$nats" --version 2>&1 | head -1)"
for batch in 1 10 100; do
  n=$events
  if [[ $batch == 1 ]]; then n=$((events / 5)); fi
  echo "== $n events, $batch per message"
  "$load" --nats "nats://127.0.0.1:$nats_port" --opsready "127.0.0.1:$op_port" \
    --events "$n" --batch "$batch"
done
echo "== opsready NATS counters after the run"
curl -s "http://127.0.0.1:$op_port/metrics" | grep -E '^opsready_(nats_|evaluation_queue)' || true
echo "== the machine's ceiling: the same messages to a consumer that only fetches and acks"
kill -TERM "${pids[1]}"  # opsready: its consumer must not compete
for _ in $(seq 100); do kill -0 "${pids[1]}" 2>/dev/null || break; sleep 0.1; done
for batch in 1 10 100; do
  n=$events
  if [[ $batch == 1 ]]; then n=$((events / 5)); fi
  echo "== floor: $n events, $batch per message"
  "$load" --floor --nats "nats://127.0.0.1:$nats_port" --opsready "127.0.0.1:$op_port" \
    --events "$n" --batch "$batch"
done

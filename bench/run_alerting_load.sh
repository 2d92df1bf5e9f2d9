#!/usr/bin/env bash
# Issue 11's alerting load, `opsready serve` and Prometheus Alertmanager side by side in one
# run: both on free loopback ports, data in a temporary directory, the same policy (the route
# tree and 100 inhibit rules of bench/alerting_workload.h, as one Alertmanager file that
# opsready reads through alerting.config_file), the same requests from bench/alerting_load.
#
#   bench/run_alerting_load.sh [BUILD_DIR] [DURATION_SECONDS]
#   FILL_ALERTS=100000 REPOST_ALERTS=10000 CONNECTIONS=4 bench/run_alerting_load.sh ...
#   (BUILD_DIR defaults to build/h-bench; it must hold bin/opsready and bench/alerting_load)
#
#  (a) memory: FILL_ALERTS distinct alerts posted once in batches of 64; resident memory
#      (VmRSS) of each server after minus before, over the alerts, right after the fill and
#      again once the first group_wait (30s) has passed and every group has flushed;
#  (b) throughput with routing active: a fixed set of REPOST_ALERTS alerts (already held)
#      re-posted in batches of 64 over CONNECTIONS keep-alive connections for DURATION seconds,
#      one server after the other; alerts/s, request latency, and the server's CPU time per
#      alert (/proc/PID/stat utime + stime over the phase).
# Alertmanager: Debian's prometheus-alertmanager (/usr/bin/prometheus-alertmanager), clustering
# off; its receivers have no integrations, as opsready's, so nothing is sent by either. Figures
# are recorded in docs/performance.md ("Alerting engine (issue 11)").
set -euo pipefail

build=${1:-build/h-bench}
duration=${2:-10}
fill=${FILL_ALERTS:-100000}
repost=${REPOST_ALERTS:-10000}
connections=${CONNECTIONS:-4}
opsready=$build/bin/opsready
load=$build/bench/alerting_load
am=/usr/bin/prometheus-alertmanager
[[ -x $opsready && -x $load ]] || { echo "build $opsready and $load first" >&2; exit 1; }
[[ -x $am ]] || { echo "prometheus-alertmanager is not installed ($am)" >&2; exit 1; }

# shellcheck source=bench/load_lib.sh
source "$(dirname "$0")/load_lib.sh"

"$load" config >"$tmp/alertmanager.yml"

op_port=$(free_port)
cat >"$tmp/opsready.yml" <<YAML
listen: 127.0.0.1:$op_port
data_dir: $tmp/opsready-data
alerting:
  config_file: $tmp/alertmanager.yml
YAML
"$opsready" serve --config "$tmp/opsready.yml" </dev/null >"$tmp/opsready.log" 2>&1 &
op_pid=$!
pids+=("$op_pid")
wait_port "$op_port"

am_port=$(free_port)
"$am" --config.file="$tmp/alertmanager.yml" --storage.path="$tmp/am-data" \
  --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= \
  </dev/null >"$tmp/alertmanager.log" 2>&1 &
am_pid=$!
pids+=("$am_pid")
wait_port "$am_port"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The sum of every sample of one metric family (all label sets), from /metrics.
metric_sum() {
  curl -s "http://127.0.0.1:$1/metrics" |
    awk -v m="$2" 'index($0, m) == 1 && substr($0, length(m) + 1, 1) ~ /[{ ]/ {s += $NF}
                   END {printf "%d\n", s}'
}
# Waits (up to 60 s) until metric_sum PORT METRIC reaches VALUE.
wait_metric() {
  for _ in $(seq 600); do
    (($(metric_sum "$1" "$2") >= $3)) && return 0
    sleep 0.1
  done
  echo "127.0.0.1:$1 $2 did not reach $3: $(metric_sum "$1" "$2")" >&2
  return 1
}
per_alert() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {printf "%.0f", (b - a) * 1024 / n}'; }

echo "alertmanager: $("$am" --version 2>&1 | head -1)"
echo "opsready: $("$opsready" --version 2>&1 | head -1)"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
sleep 2
op_base=$(rss_kb "$op_pid")
am_base=$(rss_kb "$am_pid")
echo "resident at start: opsready $op_base kB, alertmanager $am_base kB"

echo "== (a) $fill distinct alerts posted once, batches of 64, $connections connections"
"$load" fill --target "opsready=127.0.0.1:$op_port" --alerts "$fill" --batch 64 \
  --connections "$connections"
wait_metric "$op_port" 'opsready_alerts' "$fill"
"$load" fill --target "alertmanager=127.0.0.1:$am_port" --alerts "$fill" --batch 64 \
  --connections "$connections" | tail -1
wait_metric "$am_port" 'alertmanager_alerts' "$fill"
sleep 1
op_fill=$(rss_kb "$op_pid")
am_fill=$(rss_kb "$am_pid")
echo "held: opsready $(metric_sum "$op_port" opsready_alerts) alerts," \
  "$(metric_sum "$op_port" opsready_alert_groups) groups;" \
  "alertmanager $(metric_sum "$am_port" alertmanager_alerts) alerts"
printf '%-14s %12s %12s %14s %12s\n' target start_kB filled_kB bytes_per_alert peak_kB
printf '%-14s %12s %12s %14s %12s\n' opsready "$op_base" "$op_fill" \
  "$(per_alert "$op_base" "$op_fill" "$fill")" "$(hwm_kb "$op_pid")"
printf '%-14s %12s %12s %14s %12s\n' alertmanager "$am_base" "$am_fill" \
  "$(per_alert "$am_base" "$am_fill" "$fill")" "$(hwm_kb "$am_pid")"
echo "-- after group_wait (every group flushed its first notification), 35 s later"
sleep 35
op_flushed=$(rss_kb "$op_pid")
am_flushed=$(rss_kb "$am_pid")
printf '%-14s %12s %12s %14s %12s\n' opsready "$op_base" "$op_flushed" \
  "$(per_alert "$op_base" "$op_flushed" "$fill")" "$(hwm_kb "$op_pid")"
printf '%-14s %12s %12s %14s %12s\n' alertmanager "$am_base" "$am_flushed" \
  "$(per_alert "$am_base" "$am_flushed" "$fill")" "$(hwm_kb "$am_pid")"
echo "notifications decided: opsready $(metric_sum "$op_port" opsready_notifications_decided_total)"

echo "== (b) $repost of them re-posted, batches of 64, $connections connections, ${duration}s each"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
hz=$(getconf CLK_TCK)
for target in "opsready=$op_port=$op_pid" "alertmanager=$am_port=$am_pid"; do
  IFS== read -r name port pid <<<"$target"
  c0=$(cpu_ticks "$pid")
  "$load" repost --target "$name=127.0.0.1:$port" --alerts "$repost" --batch 64 \
    --connections "$connections" --duration "$duration" >"$tmp/repost.out"
  c1=$(cpu_ticks "$pid")
  [[ $name == opsready ]] && head -2 "$tmp/repost.out"
  tail -1 "$tmp/repost.out"
  rate=$(tail -1 "$tmp/repost.out" | awk '{print $7}')
  secs=$(tail -1 "$tmp/repost.out" | awk '{print $6}')
  awk -v c="$((c1 - c0))" -v hz="$hz" -v r="$rate" -v s="$secs" -v n="$name" \
    'BEGIN {printf "%s: server CPU %.2f s over %.2f s (%.2f cores), %.2f us CPU per alert\n",
            n, c / hz, s, c / hz / s, c / hz * 1e6 / (r * s)}'
done
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "resident after the re-posts: opsready $(rss_kb "$op_pid") kB," \
  "alertmanager $(rss_kb "$am_pid") kB"
echo "== counters after the run"
curl -s "http://127.0.0.1:$op_port/metrics" |
  grep -E '^opsready_(alerts|alert_groups|alerts_refused_total|events_rejected_total|store_errors_total)[{ ]' || true
curl -s "http://127.0.0.1:$am_port/metrics" | grep -E '^alertmanager_alerts(_received_total)?[{ ]' || true
echo "== opsready's log: warnings and errors"
awk '$2 == "warning" || $2 == "error" || $2 == "critical"' "$tmp/opsready.log" | head -5

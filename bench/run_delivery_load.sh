#!/usr/bin/env bash
# Issue 12's delivery benchmarks, `opsready serve` and Prometheus Alertmanager side by side in
# one run, with bench/delivery_load as the load generator and as the one webhook receiver both
# servers send to. Both servers read the same Alertmanager file (`delivery_load config`:
# group_wait 0s, one group per bench_group label, one webhook receiver on loopback; opsready
# through alerting.config_file). Each phase starts each server fresh (free loopback port, empty
# data directory, removed afterwards), runs the generator against it and stops it: opsready
# first, then Alertmanager.
#
#   bench/run_delivery_load.sh [BUILD_DIR]
#   PHASES="latency burst bulk ingest" SAMPLES=2000 BACKGROUND=100000 BURST_ALERTS=20000 \
#   BULK_ALERTS=100000 BULK_GROUPS=100 INGEST_ALERTS=100000 CONNECTIONS=4 TUNED=256 TIMEOUT=120 \
#     bench/run_delivery_load.sh build/h-bench
#   (BUILD_DIR defaults to build/h-bench; it must hold bin/opsready and bench/delivery_load;
#   KEEP_LOGS=DIR keeps each server's log there; PG_DSN="host=127.0.0.1 port=P user=U" runs
#   opsready on PostgreSQL instead of SQLite, a new database bench_<pid>_<run> per server)
#
#  latency  new group -> webhook received: SAMPLES new alerts one at a time, each its own
#           group, idle; then again while BACKGROUND distinct alerts are posted (2 connections,
#           batches of 64, 10 groups);
#  burst    BURST_ALERTS alerts, each its own group, posted over CONNECTIONS connections:
#           notifications received per second; opsready with delivery.max_in_flight_per_receiver
#           at its default (16) and at TUNED (with max_in_flight TUNED too if larger than 256);
#           Alertmanager has no such knob (a goroutine per group, Go's HTTP client pool);
#  bulk     BULK_ALERTS alerts in BULK_GROUPS groups (group_interval 1s): POST rate and the time
#           from the first POST until every alert was in some notification; the same configs;
#  ingest   INGEST_ALERTS alerts of bench/alerting_workload.h (issue 11's labels) to a receiver
#           without integrations, batches of 64, CONNECTIONS connections: POST /api/v2/alerts
#           alerts/s (opsready answers after the durable group commit).
# Every run of the generator gives up after TIMEOUT seconds (posting and waiting included;
# burst and bulk also when nothing new arrives for 15 s): what was not posted by then is not
# sent, and the summary says "NOT DONE" with how far it got. burst's rate is the rate at which
# notifications arrived while the alerts were being posted (closed loop, CONNECTIONS posters):
# it cannot exceed the POST rate, which the summary shows beside it.
# Figures are recorded in docs/performance.md ("Delivery (issue 12)").
set -euo pipefail

build=${1:-build/h-bench}
phases=${PHASES:-latency burst bulk ingest}
samples=${SAMPLES:-2000}
background=${BACKGROUND:-100000}
burst_alerts=${BURST_ALERTS:-20000}
bulk_alerts=${BULK_ALERTS:-100000}
bulk_groups=${BULK_GROUPS:-100}
ingest_alerts=${INGEST_ALERTS:-100000}
connections=${CONNECTIONS:-4}
tuned=${TUNED:-256}
timeout=${TIMEOUT:-120}
opsready=$build/bin/opsready
load=$build/bench/delivery_load
am=/usr/bin/prometheus-alertmanager
[[ -x $opsready && -x $load ]] || { echo "build $opsready and $load first" >&2; exit 1; }
[[ -x $am ]] || { echo "prometheus-alertmanager is not installed ($am)" >&2; exit 1; }

# shellcheck source=bench/load_lib.sh
source "$(dirname "$0")/load_lib.sh"

hook_port=$(free_port)
"$load" config --hook-port "$hook_port" >"$tmp/alertmanager.yml"
results=$tmp/results
: >"$results"
hz=$(getconf CLK_TCK)
# The server's CPU ticks (user + system); 0 once it is gone.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
run=0

# start_opsready PER_RECEIVER: a fresh `opsready serve`; sets srv_pid, srv_port, srv_log,
# srv_data.
start_opsready() {
  local per=$1 total=256
  ((per > total)) && total=$per
  run=$((run + 1))
  srv_port=$(free_port)
  srv_log=$tmp/opsready-$run.log
  srv_data=$tmp/opsready-data-$run
  cat >"$tmp/opsready-$run.yml" <<YAML
listen: 127.0.0.1:$srv_port
data_dir: $srv_data
alerting:
  config_file: $tmp/alertmanager.yml
delivery:
  max_in_flight: $total
  max_in_flight_per_receiver: $per
YAML
  if [[ -n ${PG_DSN:-} ]]; then
    local db=bench_$$_$run
    psql "$PG_DSN dbname=postgres" -qc "CREATE DATABASE $db" >/dev/null
    printf 'store:\n  postgres:\n    dsn: %s\n' "'$PG_DSN dbname=$db'" >>"$tmp/opsready-$run.yml"
  fi
  "$opsready" serve --config "$tmp/opsready-$run.yml" </dev/null >"$srv_log" 2>&1 &
  srv_pid=$!
  pids+=("$srv_pid")
  wait_port "$srv_port"
}

start_alertmanager() {
  run=$((run + 1))
  srv_port=$(free_port)
  srv_log=$tmp/alertmanager-$run.log
  srv_data=$tmp/am-data-$run
  "$am" --config.file="$tmp/alertmanager.yml" --storage.path="$srv_data" \
    --web.listen-address="127.0.0.1:$srv_port" --cluster.listen-address= \
    </dev/null >"$srv_log" 2>&1 &
  srv_pid=$!
  pids+=("$srv_pid")
  wait_port "$srv_port"
}

stop_server() {
  local name=$1
  if [[ $name == opsready* ]]; then
    echo "-- $name: delivery counters"
    curl -s "http://127.0.0.1:$srv_port/metrics" |
      grep -E '^opsready_(notifications_total|notification_attempts_failed_total|notifications_queued|notifications_in_flight|store_errors_total|alerts_refused_total)[{ ]' |
      sed 's/^/   /' || true
    echo "-- $name: warnings and errors in its log (first 5 of $(
      awk '$2 == "warning" || $2 == "error" || $2 == "critical"' "$srv_log" | wc -l))"
    awk '($2 == "warning" || $2 == "error" || $2 == "critical") && n++ < 5 {
           print "   " substr($0, 1, 300)}' "$srv_log"
  else
    echo "-- $name: notifications"
    curl -s "http://127.0.0.1:$srv_port/metrics" |
      grep -E '^alertmanager_notifications(_failed)?_total\{integration="webhook"' |
      sed 's/^/   /' || true
    echo "-- $name: errors in its log (first 5 of $(grep -c 'level=error' "$srv_log" || true))"
    awk '/level=error/ && n++ < 5 {print "   " substr($0, 1, 300)}' "$srv_log"
  fi
  if [[ -n ${KEEP_LOGS:-} ]]; then mkdir -p "$KEEP_LOGS" && cp "$srv_log" "$KEEP_LOGS/"; fi
  kill "$srv_pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$srv_pid" 2>/dev/null || true
  wait "$srv_pid" 2>/dev/null || true
  rm -rf "$srv_data"
  local kept=()
  for pid in "${pids[@]}"; do [[ $pid == "$srv_pid" ]] || kept+=("$pid"); done
  pids=("${kept[@]}")
}

# measure NAME ARGS...: the generator against the running server, its RESULT lines kept with
# the configuration's name and the server's CPU time over the run.
measure() {
  local name=$1
  shift
  local c0 c1 t0 t1 out
  c0=$(cpu_ticks "$srv_pid")
  t0=$(date +%s.%N)
  out=$("$load" "$@" --timeout "$timeout" --target "$name=127.0.0.1:$srv_port" \
    --hook-port "$hook_port") || true
  t1=$(date +%s.%N)
  c1=$(cpu_ticks "$srv_pid")
  grep -v '^RESULT' <<<"$out" || true
  if ! kill -0 "$srv_pid" 2>/dev/null; then
    echo "   $name EXITED during the run; the end of its log:"
    tail -5 "$srv_log" | sed 's/^/   /'
  fi
  grep -q '^RESULT' <<<"$out" || echo "RESULT mode=$1 target=$name crashed=1" >>"$results"
  local cpu
  cpu=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v a="$t0" -v b="$t1" \
    'BEGIN {printf "%.2f", c / hz / (b - a)}')
  echo "   (server CPU over the run: $cpu cores; load average $(cut -d' ' -f1-3 /proc/loadavg))"
  grep '^RESULT' <<<"$out" | sed "s/target=[^ ]*/target=$name/; s/\$/ cpu=$cpu/" >>"$results" || true
}

echo "alertmanager: $("$am" --version 2>&1 | head -1)"
echo "opsready: $("$opsready" --version 2>&1 | head -1)"
echo "tree: $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  "($(git -C "$(dirname "$0")" status --porcelain 2>/dev/null | grep -vc '^??' || true) files" \
  "modified, $(git -C "$(dirname "$0")" status --porcelain 2>/dev/null | grep -c '^??' || true)" \
  "untracked)"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "webhook receiver: 127.0.0.1:$hook_port (bench/delivery_load)"

for phase in $phases; do
  case $phase in
    latency)
      echo "== latency: new group -> webhook, $samples samples idle, then under $background" \
        "alerts posted in the background"
      start_opsready 16
      measure opsready latency --samples "$samples"
      measure opsready latency --samples "$samples" --background "$background" --connections 2
      stop_server opsready
      start_alertmanager
      measure alertmanager latency --samples "$samples"
      measure alertmanager latency --samples "$samples" --background "$background" \
        --connections 2
      stop_server alertmanager
      ;;
    burst | bulk)
      if [[ $phase == burst ]]; then
        echo "== burst: $burst_alerts alerts, each its own group, $connections connections"
        args=(burst --alerts "$burst_alerts" --connections "$connections")
      else
        echo "== bulk: $bulk_alerts alerts in $bulk_groups groups (group_interval 1s)," \
          "$connections connections"
        args=(bulk --alerts "$bulk_alerts" --groups "$bulk_groups" --connections "$connections")
      fi
      for per in 16 "$tuned"; do
        start_opsready "$per"
        measure "opsready-per$per" "${args[@]}"
        stop_server "opsready-per$per"
      done
      start_alertmanager
      measure alertmanager "${args[@]}"
      stop_server alertmanager
      ;;
    ingest)
      echo "== ingest: $ingest_alerts workload alerts, batches of 64, $connections connections"
      start_opsready 16
      measure opsready ingest --alerts "$ingest_alerts" --connections "$connections"
      stop_server opsready
      start_alertmanager
      measure alertmanager ingest --alerts "$ingest_alerts" --connections "$connections"
      stop_server alertmanager
      ;;
    *) echo "unknown phase $phase" >&2; exit 2 ;;
  esac
done
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== summary (goals: issue 12)"
awk '
  function v(k,   i, kv) { for (i = 2; i <= NF; ++i) { split($i, kv, "="); if (kv[1] == k) return kv[2] } return "" }
  function n(k) { return v(k) + 0 }
  v("crashed") == 1 {
    printf "%-20s %-34s NO RESULT: the generator printed none (see above)\n", v("target"), v("mode")
    next
  }
  /mode=latency/ {
    short = ""
    if (n("cut")) short = short "; NOT DONE: cut short by the " timeout " s timeout"
    if (n("lost") + n("failed")) short = short "; " n("lost") " not delivered within 10 s, " n("failed") " POSTs failed"
    if (n("bg_unsent") + n("bg_failed")) short = short "; background NOT DONE: " n("bg_unsent") " alerts not posted, " n("bg_failed") " POSTs failed"
    printf "%-20s %-34s p50 %8.2f ms  p99 %8.2f ms  max %8.2f ms  (%d samples%s; goal p99 <= %s%s)\n",
      v("target"), n("loaded") ? "new group -> webhook, under load" : "new group -> webhook, idle",
      n("p50_ms"), n("p99_ms"), n("max_ms"), n("samples"),
      n("loaded") ? ", background " n("bg_alerts") " alerts at " n("bg_rate") "/s" : "",
      n("loaded") ? "20 ms" : "2 ms", short
  }
  (/mode=burst/ || /mode=bulk/) && !n("done") {
    printf "%-20s %-34s NOT DONE: %d of %d alerts seen after %.1f s (%s); %d not even posted; %d notifications/s from the first POST\n",
      v("target"), v("mode") " (" v("groups") " groups)", n("seen"), n("alerts"), n("waited_s"),
      n("stalled") ? "nothing new arrived for 15 s" : "timeout " timeout " s", n("unsent"), n("from_post_rate")
    next
  }
  /mode=burst/ {
    printf "%-20s %-34s %8d /s first to last, %8d /s from first POST  (%d of %d, %d dup; POSTs %d alerts/s; goal >= 20000/s)\n",
      v("target"), "notifications, one per group", n("notif_rate"), n("from_post_rate"),
      n("seen"), n("alerts"), n("duplicates"), n("post_rate")
  }
  /mode=bulk/ {
    printf "%-20s %-34s %8.2f s  (%d of %d alerts, %d notifications, %d dup; POSTs %.2f s, %d alerts/s; AM ref ~5 s)\n",
      v("target"), "all alerts delivered, " v("groups") " groups", n("all_s"), n("seen"), n("alerts"),
      n("notifications"), n("duplicates"), n("post_s"), n("post_rate")
  }
  /mode=ingest/ {
    short = n("unsent") + n("failed") ? sprintf("; NOT DONE: %d alerts not posted, %d POSTs failed", n("unsent"), n("failed")) : ""
    printf "%-20s %-34s %8d alerts/s  p50 %.2f ms  p99 %.2f ms  (%d alerts, %d 429 retried%s; goal >= 10x AM)\n",
      v("target"), "POST /api/v2/alerts, 64/batch", n("rate"), n("p50_ms"), n("p99_ms"), n("alerts"), n("throttled"), short
  }
  /mode=ingest/ && v("target") == "opsready" { op = n("rate") }
  /mode=ingest/ && v("target") == "alertmanager" { am = n("rate") }
  END { if (op > 0 && am > 0) printf "%-20s %-34s %8.1fx\n", "ratio", "ingest opsready / alertmanager", op / am }
' timeout="$timeout" "$results"

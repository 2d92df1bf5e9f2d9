#!/usr/bin/env bash
# The operator surfaces' figures for docs/performance.md (issue 14):
#  1. dashboard first load with 1 000 components: the bytes a browser transfers (gzip, as
#     Chromium asks for it) for the page, its assets and the API reads the page makes at start,
#     and the server time of each (curl's time_starttransfer - time_pretransfer);
#     Alertmanager 0.25 (Debian's, which ships without its web UI) beside it: its `/` and the
#     API reads its UI makes at start;
#  2. 200 dashboards connected (GET /api/v1/dashboard/stream, held by bench/http_hold) while
#     POST /api/v2/alerts and GET /api/v1/readiness are measured: p50/p99 with no dashboard
#     connected, then with 200.
# Usage: bench/run_dashboard_bench.sh [BUILD_DIR]   (a release build: opsready and http_hold)
set -euo pipefail
build=${1:-build/release}
opsready=$build/bin/opsready
hold=$build/bench/http_hold
am=/usr/bin/prometheus-alertmanager
[[ -x $opsready && -x $hold ]] || { echo "build $opsready and $hold first" >&2; exit 1; }

# shellcheck source=bench/load_lib.sh
source "$(dirname "$0")/load_lib.sh"

port=$(free_port)
cat >"$tmp/opsready.yml" <<YAML
listen: 127.0.0.1:$port
data_dir: $tmp/opsready-data
YAML
"$opsready" serve --config "$tmp/opsready.yml" </dev/null >"$tmp/opsready.log" 2>&1 &
pids+=($!)
wait_port "$port"
base=http://127.0.0.1:$port

# 1 000 components (one batch of component.snapshot events), one in ten warn, one in fifty fail.
python3 - "$tmp/components.ndjson" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(1000):
        status = "fail" if i % 50 == 0 else "warn" if i % 10 == 0 else "ok"
        f.write(json.dumps({"topic": "opsready.component.snapshot", "source": "bench",
                            "payload": {"component": f"component_{i:04d}", "status": status,
                                        "summary": f"component {i} is {status}",
                                        "issues": [] if status == "ok" else [
                                            {"code": f"{status}_{i}", "severity":
                                             "critical" if status == "fail" else "warning",
                                             "message": "bench issue"}]}}) + "\n")
PY
curl -sf -X POST -H 'Content-Type: application/x-ndjson' --data-binary @"$tmp/components.ndjson" \
  "$base/api/v1/events" >/dev/null
for _ in $(seq 50); do
  n=$(curl -sf "$base/api/v1/readiness" | python3 -c 'import json,sys;print(len(json.load(sys.stdin)["components"]))')
  [[ $n -ge 1000 ]] && break
  sleep 0.1
done
echo "components: $n"

# What the page loads at start (web/app.js's first requests).
first_load() {
  local origin=$1; shift
  local total=0
  printf '%-48s %10s %10s %10s\n' "resource" "bytes" "gzip" "server_ms"
  for path in "$@"; do
    local plain gz t
    plain=$(curl -s -o /dev/null -w '%{size_download}' "$origin$path")
    read -r gz t < <(curl -s -o /dev/null --compressed -H 'Accept-Encoding: gzip' \
      -w '%{size_download} %{time_pretransfer} %{time_starttransfer}\n' "$origin$path" |
      awk '{printf "%d %.2f\n", $1, ($3 - $2) * 1000}')
    printf '%-48s %10d %10d %10s\n' "$path" "$plain" "$gz" "$t"
    total=$((total + gz))
  done
  echo "first load, compressed: $total bytes"
}

echo "== opsready dashboard, first load"
assets=$(curl -sf "$base/" | grep -oE '(href|src)="[^"]+"' | sed -E 's/^(href|src)="//; s/"$//' |
  grep -E '^/?assets/' | sed -E 's#^/?#/#' | sort -u)
# shellcheck disable=SC2086
first_load "$base" / $assets /api/v1/readiness /api/v1/dashboard /api/v2/alerts/groups \
  /api/v2/silences "/api/v1/components/history?window=24h" /api/v1/incidents /api/v1/supervision

if [[ -x $am ]]; then
  am_port=$(free_port)
  printf 'route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n' >"$tmp/am.yml"
  "$am" --config.file="$tmp/am.yml" --storage.path="$tmp/am-data" \
    --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= \
    </dev/null >"$tmp/am.log" 2>&1 &
  pids+=($!)
  wait_port "$am_port"
  # Debian's package ships Alertmanager without its Elm web UI: `/` is a page of links. What is
  # measured is that page and the API reads its UI makes at start.
  echo "== $("$am" --version 2>&1 | head -1), / and the reads of its UI"
  first_load "http://127.0.0.1:$am_port" / /api/v2/alerts/groups /api/v2/silences /api/v2/status
fi

echo "== 200 dashboards connected (SSE) vs none"
requests=${REQUESTS:-2000}
"$hold" --port "$port" --post-alerts --requests "$requests" --sse 200 \
  --sse-path /api/v1/dashboard/stream --sse-wait 3
"$hold" --port "$port" --path /api/v1/readiness --requests "$((requests / 4))" --sse 200 \
  --sse-path /api/v1/dashboard/stream --sse-wait 3

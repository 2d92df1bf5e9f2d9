#!/usr/bin/env bash
# The report-driven components' figures for docs/performance.md (issue 13):
#  1. documents_bench: documents evaluated per second per kind (in-process), and system
#     validation on a 10 000-check report (parse + evaluate);
#  2. the whole `opsready evaluate system-validation` command on a 10 000-check report file
#     (process start, read, parse, evaluate, gate, JSON out), the median of RUNS runs — what a CI
#     step pays, against the original's 14–30 ms for its evaluator alone.
# Usage: bench/run_documents_bench.sh [BUILD_DIR]   (a release build with benchmarks)
set -euo pipefail
build=${1:-build/release}
runs=${RUNS:-30}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$build/bench/documents_bench" --benchmark_min_time=0.5

for form in mapping list; do
  python3 - "$tmp/report_$form.json" "$form" <<'PY'
import json, sys
path, form = sys.argv[1], sys.argv[2]
n = 10000
if form == "mapping":
    results = {f"check_{i}": i % 10 != 0 for i in range(n)}
else:
    results = [{"name": f"check_{i}", "passed": i % 10 != 0,
                "message": "ok" if i % 10 else "assertion failed at step 3", "duration_s": 0.25}
               for i in range(n)]
json.dump({"timestamp": "2025-01-03T00:00:00Z", "validator": "System Completeness",
           "results": results}, open(path, "w"))
PY
  python3 - "$build/bin/opsready" "$tmp/report_$form.json" "$runs" "$form" <<'PY'
import statistics, subprocess, sys, time
binary, report, runs, form = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
times = []
for _ in range(runs):
    t = time.perf_counter()
    r = subprocess.run([binary, "evaluate", "system-validation", "--input", report,
                        "--now", "2025-01-03T00:00:00Z"], stdout=subprocess.DEVNULL)
    times.append((time.perf_counter() - t) * 1000)
    assert r.returncode in (0, 1, 2), r.returncode
print(f"opsready evaluate system-validation, 10 000 checks ({form} form): "
      f"median {statistics.median(times):.1f} ms, min {min(times):.1f} ms over {runs} runs")
PY
done

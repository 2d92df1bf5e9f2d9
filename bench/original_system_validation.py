# The peer of bench/run_documents_bench.sh (issue 13): the original platform's
# evaluate_system_validation (HWeber-tech/emp_proving_ground_v1 at 36aa4adb) on the same
# 10 000-check reports, both forms, median of 30: json.loads + evaluate, and evaluate alone.
#
# Set-up (the original is not vendored; its package imports numpy and an event bus it does not
# need here, so three stub files replace them):
#   git -C <mirror> archive 36aa4adb src/core src/operations | tar -x -C /tmp/orig
#   : > /tmp/orig/src/__init__.py; : > /tmp/orig/src/core/__init__.py
#   : > /tmp/orig/src/operations/__init__.py
#   printf 'class Event:\n  def __init__(s,*a,**k): pass\nclass EventBus: pass\nclass TopicBus: pass\ndef get_global_bus(): return None\n' \
#     > /tmp/orig/src/core/event_bus.py
#   cd /tmp/orig && python3 /path/to/bench/original_system_validation.py
import json
import os
import statistics
import sys
import time
from datetime import datetime, timezone

sys.path.insert(0, os.getcwd())  # the extracted original, run from its directory
import src.operations.system_validation as sv  # noqa: E402

n = 10000
forms = {
    "mapping": {f"check_{i}": i % 10 != 0 for i in range(n)},
    "list": [{"name": f"check_{i}", "passed": i % 10 != 0,
              "message": "ok" if i % 10 else "assertion failed at step 3", "duration_s": 0.25}
             for i in range(n)],
}
now = datetime(2025, 1, 3, tzinfo=timezone.utc)
for form, results in forms.items():
    text = json.dumps({"timestamp": "2025-01-03T00:00:00Z", "validator": "System Completeness",
                       "results": results})
    evals, both = [], []
    for _ in range(30):
        t0 = time.perf_counter()
        doc = json.loads(text)
        t1 = time.perf_counter()
        snap = sv.evaluate_system_validation(doc, now=now)
        t2 = time.perf_counter()
        evals.append((t2 - t1) * 1000)
        both.append((t2 - t0) * 1000)
    print(f"original evaluate_system_validation, {form} form: evaluate median "
          f"{statistics.median(evals):.1f} ms, parse + evaluate median {statistics.median(both):.1f} ms "
          f"(status {snap.status.value}, {snap.total_checks} checks)")

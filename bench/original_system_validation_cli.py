# The original as a command, for the same comparison as `opsready evaluate`: interpreter start,
# imports, read the report file, evaluate, print the snapshot's as_dict as indented JSON.
# Run from the extracted original (see original_system_validation.py):
#   python3 /path/to/bench/original_system_validation_cli.py REPORT.json
import json
import os
import sys
from datetime import datetime, timezone

sys.path.insert(0, os.getcwd())
import src.operations.system_validation as sv  # noqa: E402

with open(sys.argv[1]) as f:
    doc = json.load(f)
snap = sv.evaluate_system_validation(doc, now=datetime(2025, 1, 3, tzinfo=timezone.utc))
print(json.dumps(snap.as_dict(), indent=2, default=str))

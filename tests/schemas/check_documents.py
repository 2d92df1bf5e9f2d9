#!/usr/bin/env python3
"""The documented schemas (docs/schemas/) and opsready's document readers agree.

For every report-driven component: its schema is a valid JSON Schema (draft 2020-12); every
example document in examples/documents/<dir>/ validates against it and `opsready evaluate`
accepts it (exit 0, 1 or 2: graded); and the same document with an unknown top-level key is
rejected by both the schema and `opsready evaluate` (exit 65), as is one whose top level is not
an object. Usage: check_documents.py OPSREADY_BINARY SOURCE_DIR
"""
import json
import pathlib
import subprocess
import sys
import tempfile

import jsonschema

# kind, schema, example directory
KINDS = [
    ("system-validation", "system_validation", "system_validation"),
    ("incident-response", "incident_response", "incident_response"),
    ("security", "security", "security"),
    ("backups", "backups", "backups"),
    ("failover-drill", "failover_drill", "failover_drill"),
    ("cross-region", "cross_region_failover", "cross_region_failover"),
    ("disaster-recovery", "disaster_recovery", "disaster_recovery"),
    ("professional-readiness", "professional_readiness", "professional_readiness"),
    ("cache", "cache_health", "cache"),
    ("nats-consumer", "nats_consumer_info", "nats_consumer"),
]


def evaluate(binary, kind, doc, tmp):
    path = pathlib.Path(tmp) / "doc.json"
    path.write_text(json.dumps(doc))
    r = subprocess.run([binary, "evaluate", kind, "--input", str(path),
                        "--now", "2025-01-03T00:00:00Z"], capture_output=True, text=True)
    return r.returncode, r.stderr


def main():
    binary, source = sys.argv[1], pathlib.Path(sys.argv[2])
    failures = []
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for kind, schema_name, directory in KINDS:
            schema_path = source / "docs" / "schemas" / f"{schema_name}.schema.json"
            schema = json.loads(schema_path.read_text())
            jsonschema.Draft202012Validator.check_schema(schema)
            validator = jsonschema.Draft202012Validator(schema)
            examples = sorted((source / "examples" / "documents" / directory).glob("*.json"))
            if not examples:
                failures.append(f"{kind}: no example documents in examples/documents/{directory}")
            for example in examples:
                checked += 1
                doc = json.loads(example.read_text())
                errors = [e.message for e in validator.iter_errors(doc)]
                if errors:
                    failures.append(f"{example}: schema {schema_name} rejects it: {errors[0]}")
                code, err = evaluate(binary, kind, doc, tmp)
                if code not in (0, 1, 2):
                    failures.append(f"{example}: opsready evaluate {kind} exits {code}: {err}")
                if not isinstance(doc, dict):
                    continue
                bad = dict(doc)
                bad["no_such_field_in_any_document"] = 1
                if validator.is_valid(bad):
                    failures.append(f"{example} + unknown key: schema {schema_name} accepts it")
                code, err = evaluate(binary, kind, bad, tmp)
                if code != 65:
                    failures.append(f"{example} + unknown key: opsready evaluate exits {code}")
            for not_an_object in ([], "report", 3):
                if validator.is_valid(not_an_object):
                    failures.append(f"{schema_name} accepts {not_an_object!r}")
                code, _ = evaluate(binary, kind, not_an_object, tmp)
                if code != 65:
                    failures.append(f"{kind}: {not_an_object!r} exits {code}, not 65")
    for f in failures:
        print("FAIL", f)
    print(f"{checked} example documents checked against {len(KINDS)} schemas; "
          f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

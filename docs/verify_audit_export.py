#!/usr/bin/env python3
"""Verify an orgd audit-log export (NDJSON) offline.

Usage: python3 verify_audit_export.py export.ndjson [expected_head_hash]

Recomputes every record's hash from its canonical form and checks that each record links to
the previous one. Prints `ok <n> records, head <hash>` and exits 0, or names the first broken
record and exits 1. Standard library only.
"""

import hashlib
import json
import sys


def canonical(record):
    fields = [
        "orgd.audit.v1",
        record["seq"],
        record["id"],
        record["org_id"],
        record["occurred_at"],
        record["actor"]["type"],
        record["actor"]["id"],
        record["action"],
        record["target"]["type"],
        record["target"]["id"],
        record["changes"],
        record["request_id"],
        record["client_ip"],
        record["user_agent"],
    ]
    return json.dumps(fields, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")


def main(path, expected_head=None):
    previous = None
    count = 0
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            record = json.loads(line)
            if previous is not None:
                if record["seq"] != previous["seq"] + 1:
                    return fail(number, record, f"gap: expected seq {previous['seq'] + 1}")
                if record["prev_hash"] != previous["hash"]:
                    return fail(number, record, "does not link to the previous record")
            digest = hashlib.sha256(bytes.fromhex(record["prev_hash"]) + canonical(record)).hexdigest()
            if digest != record["hash"]:
                return fail(number, record, "content does not match its hash")
            previous = record
            count += 1
    head = previous["hash"] if previous else None
    if expected_head is not None and head != expected_head:
        print(f"broken: the export ends at {head}, not at the expected head {expected_head}")
        return 1
    print(f"ok {count} records, head {head}")
    return 0


def fail(number, record, why):
    print(f"broken at line {number} (seq {record['seq']}, {record['id']}): {why}")
    return 1


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print(__doc__)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))

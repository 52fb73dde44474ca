#!/usr/bin/env python3
"""Verify an orgd audit-log export (NDJSON) offline.

    python3 verify_audit_export.py EXPORT [--head HASH] [--range]

Recomputes every record's hash from its canonical form and checks that each record links
to the one before. A whole-log export must start at the chain's beginning (seq 1, linked
to the zero anchor); pass --range for an export of a time range, whose first link is then
trusted. --head checks that the export ends at a head hash kept from an earlier
`/audit-log/verify`, which also catches records cut from the end.

Prints `ok <n> records, head <hash>` and exits 0, or names the first problem and exits 1.
Standard library only.
"""

import argparse
import hashlib
import json
import sys

ZERO_HASH = "0" * 64


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


def verify(lines, expected_head=None, is_range=False):
    previous = None
    count = 0
    for number, line in enumerate(lines, start=1):
        record = json.loads(line)
        if previous is None and not is_range and (record["seq"] != 1 or record["prev_hash"] != ZERO_HASH):
            return f"broken at line {number}: a whole-log export starts at seq 1 on the zero anchor (use --range for a time range)"
        if previous is not None:
            if record["seq"] != previous["seq"] + 1:
                return f"broken at line {number} (seq {record['seq']}): gap, expected seq {previous['seq'] + 1}"
            if record["prev_hash"] != previous["hash"]:
                return f"broken at line {number} (seq {record['seq']}): does not link to the previous record"
        digest = hashlib.sha256(bytes.fromhex(record["prev_hash"]) + canonical(record)).hexdigest()
        if digest != record["hash"]:
            return f"broken at line {number} (seq {record['seq']}, {record['id']}): content does not match its hash"
        previous = record
        count += 1
    if previous is None:
        return "broken: the export holds no records"
    if expected_head is not None and previous["hash"] != expected_head:
        return f"broken: the export ends at {previous['hash']}, not at the expected head {expected_head}"
    return f"ok {count} records, head {previous['hash']}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export")
    parser.add_argument("--head", help="the head hash the export must end at")
    parser.add_argument("--range", action="store_true", help="the export covers a time range, not the whole log")
    args = parser.parse_args()
    with open(args.export, encoding="utf-8") as lines:
        verdict = verify(lines, args.head, args.range)
    print(verdict)
    return 0 if verdict.startswith("ok ") else 1


if __name__ == "__main__":
    sys.exit(main())

"""Shared loop of the deliberately wrong adapters (tests of the conformance runner only).

Each adapter wraps the reference oracle and breaks it in one known way through
`serve(name, mutate=..., before=...)`: `before(case)` may hang, exit or print garbage;
`mutate(case, result)` changes the oracle's result.
"""

import json
import sys
from decimal import Decimal

from convmed.conformance.oracles import OracleUnavailable, evaluate


def reply(message):
    sys.stdout.write(json.dumps(message, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def retotal(result):
    total = sum((Decimal(line["amount"]) for line in result["lines"] if line["status"] == "priced"), Decimal("0"))
    result["total"] = f"{total:.2f}"
    return result


def serve(name, mutate=None, before=None):
    for line in sys.stdin:
        request = json.loads(line)
        if request["cmd"] == "start":
            reply({"ready": True, "protocol": 1, "implementation": {"name": name, "version": "0.0.1"}})
        elif request["cmd"] == "run":
            seq, case = request["seq"], request["case"]
            if before:
                before(case)
            try:
                result = evaluate(case["kind"], case["input"])
            except OracleUnavailable as exc:
                reply({"seq": seq, "skipped": True, "reason": str(exc)})
                continue
            if mutate:
                result = mutate(case, result)
            reply({"seq": seq, "result": result})
        else:
            return

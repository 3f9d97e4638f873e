#!/usr/bin/env python3
"""Example convmed conformance adapter in Python (harness protocol v1, JSON lines).

Run:  convmed conformance run --adapter "python conformance_tests/adapters/python/adapter.py"

This example wraps the reference oracle. A vendor replaces `engine()` with a call to
their own pricing engine, returning a dict shaped like schemas/result.schema.json.
Only stdout carries protocol messages: log to stderr.
"""

import json
import sys

from convmed import __version__


def engine(kind, data):
    """Your pricing engine goes here. Return the result dict, or None to skip the case."""
    if kind == "claim":
        from convmed.pricing import price_claim

        return price_claim(data)
    if kind == "forfait":
        try:
            from convmed.forfaits import compute
        except ImportError:
            return None
        return compute(data)
    return None


def reply(message):
    sys.stdout.write(json.dumps(message, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        cmd = request.get("cmd")
        if cmd == "start":
            reply({"ready": True, "protocol": 1,
                   "implementation": {"name": "convmed-example-python", "version": __version__,
                                      "language": "python", "kinds": ["claim", "forfait"]}})
        elif cmd == "run":
            seq, case = request["seq"], request["case"]
            try:
                result = engine(case["kind"], case["input"])
            except Exception as exc:  # report, do not die: the runner marks the case errored
                reply({"seq": seq, "errored": True, "context": {"message": f"{type(exc).__name__}: {exc}"}})
                continue
            if result is None:
                reply({"seq": seq, "skipped": True, "reason": f"type de cas {case['kind']!r} non pris en charge"})
            else:
                reply({"seq": seq, "result": result})
        elif cmd == "stop":
            return 0
        else:
            print(f"commande inconnue : {cmd!r}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

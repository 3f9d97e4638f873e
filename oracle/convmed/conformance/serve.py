"""`convmed conformance serve-oracle`: the reference oracle as a long-lived JSON-lines process.

One request per line on stdin, one answer per line on stdout, in order:

    {"id": 3, "kind": "claim", "input": {...}}  →  {"id": 3, "output": {...}}
                                                or {"id": 3, "unavailable": "..."}   (oracle not built)
                                                or {"id": 3, "error": "..."}         (invalid input)

`id` is optional and echoed. This is not the harness protocol: it is an engine that
an adapter in another language (see conformance_tests/adapters/node) can call.
"""

from __future__ import annotations

import json
import sys
from convmed.yamlio import json_line


def answer(request) -> dict:
    from convmed.conformance.oracles import OracleUnavailable, evaluate
    from convmed.errors import ConvmedError
    from convmed.schemas import validate

    if not isinstance(request, dict) or not isinstance(request.get("input"), dict):
        return {"error": "requête attendue : {\"kind\": ..., \"input\": {...}}"}
    out = {"id": request["id"]} if "id" in request else {}
    kind = request.get("kind", "claim")
    if kind == "claim":
        problems = validate(request["input"], "claim", file="<input>")
        if problems:
            return {**out, "error": "; ".join(p.render() for p in problems[:5])}
    try:
        return {**out, "output": evaluate(kind, request["input"])}
    except OracleUnavailable as exc:
        return {**out, "unavailable": str(exc)}
    except ConvmedError as exc:
        return {**out, "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - an oracle bug must not kill the long-lived process
        return {**out, "error": f"erreur interne de l'oracle : {type(exc).__name__}: {exc}"}


def serve_oracle(stdin=None, stdout=None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    from convmed.model import load_spec

    load_spec()  # load once, before the first request
    for line in stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError as exc:
            reply = {"error": f"JSON illisible : {exc}"}
        else:
            reply = answer(request)
        stdout.write(json_line(reply))
        stdout.flush()
    return 0

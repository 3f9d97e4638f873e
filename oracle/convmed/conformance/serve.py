"""`convmed conformance serve-oracle`: the reference oracle as a long-lived JSON-lines process.

One request per line on stdin, one answer per line on stdout, in order:

    {"id": 3, "kind": "claim", "input": {...}}  →  {"id": 3, "output": {...}}
                                                or {"id": 3, "unavailable": "..."}   (oracle not built)
                                                or {"id": 3, "error": "..."}         (invalid input)

`id` is optional and echoed. This is not the harness protocol: it is an engine that
an adapter in another language (see conformance_tests/adapters/node) can call.
"""

from __future__ import annotations

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


def _bounded_lines(stdin):
    """The request lines, each at most MAX_BYTES: a longer one (or one without end) is skipped, not buffered,
    and answered with an error; bytes that are not UTF-8 too. Text streams (tests) are read as they are."""
    from convmed.errors import ConvmedError
    from convmed.yamlio import MAX_BYTES

    stream = getattr(stdin, "buffer", None)
    if stream is None:
        yield from stdin
        return
    lineno = 0
    while True:
        raw = stream.readline(MAX_BYTES + 1)
        if not raw:
            return
        lineno += 1
        if len(raw) > MAX_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):   # the rest of the line, in bounded pieces
                raw = stream.readline(MAX_BYTES)
            yield ConvmedError.single(f"request longer than {MAX_BYTES} bytes: refused", file="<stdin>",
                                      line=lineno, code="too-large")
            continue
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield ConvmedError.single(f"not UTF-8 text (byte {exc.start + 1} of the line)", file="<stdin>",
                                      line=lineno, code="encoding")


def serve_oracle(stdin=None, stdout=None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    from convmed.model import load_spec

    load_spec()  # load once, before the first request
    from convmed.errors import ConvmedError
    from convmed.yamlio import load_json_line

    for lineno, line in enumerate(_bounded_lines(stdin), 1):
        if isinstance(line, str) and not line.strip():
            continue
        try:   # the one strict JSON reader of convmed price: no NaN, no duplicate key, bounded depth and size
            if isinstance(line, ConvmedError):
                raise line
            request = load_json_line(line, "<stdin>", lineno)
        except ConvmedError as exc:
            reply = {"error": "; ".join(p.render() for p in exc.problems)}
        else:
            reply = answer(request)
        stdout.write(json_line(reply))
        stdout.flush()
    return 0

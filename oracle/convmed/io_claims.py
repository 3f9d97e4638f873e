"""Reading claims from files or stdin, validated against schemas/claim.schema.json."""

from __future__ import annotations

import sys
from pathlib import Path

from convmed.errors import ConvmedError
from convmed.schemas import validate
from convmed.yamlio import json_line_map, load_json_text


def read_text(path: str, *, max_bytes: int | None = None) -> tuple[str, str]:
    """The text of a JSON input (file or `-` for stdin), UTF-8, at most `max_bytes` (default the
    JSON reader's limit): a larger input is refused before it is read whole (bounded memory)."""
    from convmed.yamlio import MAX_BYTES

    limit = MAX_BYTES if max_bytes is None else max_bytes
    file = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            stream = getattr(sys.stdin, "buffer", None)
            data = stream.read(limit + 1) if stream is not None else sys.stdin.read(limit + 1).encode("utf-8")
        else:
            from convmed.infiles import read_bounded

            data = read_bounded(path, limit)   # a regular file only; the bound counts the bytes read
    except OSError as exc:
        raise ConvmedError.single(f"cannot read: {exc.strerror}", file=file, code="io") from None
    if len(data) > limit:
        raise ConvmedError.single(f"input larger than {limit} bytes: refused without reading it whole", file=file,
                                  code="too-large")
    from convmed.infiles import decode_utf8

    return decode_utf8(data, file), file


def parse_claim(text: str, file: str, *, schema: str = "claim") -> dict:
    data = load_json_text(text, file)
    problems = validate(data, schema, file=file)
    if problems:
        lines = json_line_map(text)
        for i, p in enumerate(problems):
            problems[i] = type(p)(p.message, file=p.file, line=lines.line_for(p.pointer or ""),
                                  pointer=p.pointer, code=p.code)
        raise ConvmedError(problems)
    _check_dates(data, file, text)
    return data


def _check_dates(claim: dict, file: str, text: str) -> None:
    """The schema's date pattern admits 2025-02-30; refuse impossible dates, located."""
    from datetime import date

    pointers = [("/date", claim.get("date"))]
    patient = claim.get("patient") or {}
    if "birth_date" in patient:
        pointers.append(("/patient/birth_date", patient["birth_date"]))
    for i, h in enumerate(claim.get("history", [])):
        pointers.append((f"/history/{i}/date", h.get("date")))
    for pointer, value in pointers:
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            line = json_line_map(text).line_for(pointer)
            raise ConvmedError.single(f"impossible date {value!r}", file=file, line=line, pointer=pointer,
                                      code="date") from None
    if "birth_date" in patient and patient["birth_date"] > claim["date"]:
        raise ConvmedError.single("birth date after the date of the encounter", file=file,
                                  line=json_line_map(text).line_for("/patient/birth_date"),
                                  pointer="/patient/birth_date", code="date")


def read_claim(path: str) -> dict:
    text, file = read_text(path)
    return parse_claim(text, file)

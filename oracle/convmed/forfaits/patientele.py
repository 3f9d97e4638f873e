"""Streaming reader of patientèles: JSON Lines or CSV, one patient per line.

Memory does not grow with the file: records are read, checked and yielded one by one.
Every problem is located (file, line, JSON pointer inside the record) and raised as a
ConvmedError at the first bad line. A record follows schemas/patient.schema.json; the
checks here are the same rules, written out by hand because a full JSON Schema
validation per line would dominate the run time of a national file.

CSV columns (header line required, unknown columns refused): id, birth_date, age, sex,
ald (ALD numbers separated by `;`), c2s, seen_last_two_years (true/false, 1/0, oui/non,
empty = absent), last_seen_date, flags (`;`-separated), events (`;`-separated items
`type@YYYY-MM-DD[@ATC][@count]`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from pathlib import Path
from typing import Iterator

from convmed.errors import ConvmedError, Located
from convmed.yamlio import load_json_line

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_NAME = re.compile(r"^[a-z0-9_]+$")
_ATC = re.compile(r"^[A-Z][0-9A-Z]*$")
KEYS = {"id", "birth_date", "age", "sex", "ald", "c2s", "seen_last_two_years", "last_seen_date", "flags", "events"}
EVENT_KEYS = {"type", "date", "atc", "count"}
MAX_EVENT_COUNT = 999_999_999   # schemas/patient.schema.json: a patient's summed counts stay exact in int64
CSV_COLUMNS = ["id", "birth_date", "age", "sex", "ald", "c2s", "seen_last_two_years", "last_seen_date", "flags", "events"]


class _Bad(Exception):
    def __init__(self, pointer: str, message: str):
        super().__init__(message)
        self.pointer, self.message = pointer, message


def _check_date(value, pointer):
    if not isinstance(value, str) or not _DATE.match(value):
        raise _Bad(pointer, f"expected a date YYYY-MM-DD, got {value!r}")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise _Bad(pointer, f"impossible date {value!r}") from None


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_record(rec, born_by: str | None = None) -> None:
    """Raise _Bad(pointer, message) when `rec` does not follow schemas/patient.schema.json, or (with `born_by`,
    the forfait's reference date as ISO text) when the patient is born after it: not yet born, not counted."""
    if not isinstance(rec, dict):
        raise _Bad("", f"a patient record must be a JSON object, got {type(rec).__name__}")
    extra = rec.keys() - KEYS
    if extra:
        raise _Bad("/" + sorted(extra)[0], f"unknown key {sorted(extra)[0]!r} (allowed: {', '.join(sorted(KEYS))})")
    if "birth_date" not in rec and "age" not in rec:
        raise _Bad("", "a patient record needs birth_date or age")
    if "id" in rec and not isinstance(rec["id"], str):
        raise _Bad("/id", "id must be a string")
    if "birth_date" in rec:
        _check_date(rec["birth_date"], "/birth_date")
        if born_by is not None and rec["birth_date"] > born_by:
            raise _Bad("/birth_date", f"birth date {rec['birth_date']} after the reference date {born_by}: "
                                      "a patient not yet born cannot be counted")
    if "age" in rec and (not _is_int(rec["age"]) or not 0 <= rec["age"] <= 130):
        raise _Bad("/age", f"age must be an integer between 0 and 130, got {rec['age']!r}")
    if "sex" in rec and rec["sex"] not in ("F", "M"):
        raise _Bad("/sex", f"sex must be F or M, got {rec['sex']!r}")
    if "ald" in rec:
        ald = rec["ald"]
        if not isinstance(ald, list):
            raise _Bad("/ald", "ald must be a list of ALD numbers")
        for i, n in enumerate(ald):
            if not _is_int(n) or not 1 <= n <= 32:
                raise _Bad(f"/ald/{i}", f"ALD number must be an integer 1-32, got {n!r}")
        if len(set(ald)) != len(ald):
            raise _Bad("/ald", "ALD numbers must be unique")
    for key in ("c2s", "seen_last_two_years"):
        if key in rec and not isinstance(rec[key], bool):
            raise _Bad(f"/{key}", f"{key} must be true or false, got {rec[key]!r}")
    if "last_seen_date" in rec:
        _check_date(rec["last_seen_date"], "/last_seen_date")
    if "flags" in rec:
        if not isinstance(rec["flags"], list):
            raise _Bad("/flags", "flags must be a list")
        for i, f in enumerate(rec["flags"]):
            if not isinstance(f, str) or not _NAME.match(f):
                raise _Bad(f"/flags/{i}", f"bad flag {f!r}")
    if "events" in rec:
        events = rec["events"]
        if not isinstance(events, list):
            raise _Bad("/events", "events must be a list")
        for i, ev in enumerate(events):
            p = f"/events/{i}"
            if not isinstance(ev, dict):
                raise _Bad(p, "an event must be an object {type, date, atc?, count?}")
            extra = ev.keys() - EVENT_KEYS
            if extra:
                raise _Bad(f"{p}/{sorted(extra)[0]}", f"unknown event key {sorted(extra)[0]!r}")
            if not isinstance(ev.get("type"), str) or not _NAME.match(ev["type"]):
                raise _Bad(f"{p}/type", f"event type required (lower-case name), got {ev.get('type')!r}")
            _check_date(ev.get("date"), f"{p}/date")
            if "atc" in ev and (not isinstance(ev["atc"], str) or not _ATC.match(ev["atc"])):
                raise _Bad(f"{p}/atc", f"bad ATC class {ev['atc']!r}")
            if "count" in ev and (not _is_int(ev["count"]) or not 1 <= ev["count"] <= MAX_EVENT_COUNT):
                raise _Bad(f"{p}/count", f"count must be an integer from 1 to {MAX_EVENT_COUNT}, got {ev['count']!r}")


def iter_inline(patients: list, file: str | None, born_by: str | None = None) -> Iterator[dict]:
    for i, rec in enumerate(patients):
        try:
            check_record(rec, born_by)
        except _Bad as exc:
            raise ConvmedError([Located(exc.message, file=file, pointer=f"/patients/{i}{exc.pointer}", code="patient")]) from None
        yield rec


def _open(path: str):
    """The file in binary: lines are decoded one by one by `_decoded` (see there)."""
    if path == "-":
        import sys

        return sys.stdin.buffer
    from convmed.infiles import open_regular

    return open_regular(path)   # a regular file (a FIFO or a device refused, located); read line by line, bounded


def guess_format(path: str, fmt: str | None) -> str:
    if fmt:
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise ConvmedError.single("cannot tell the patient file format from its name: use .jsonl or .csv "
                              "(or patients_file.format)", file=path, code="io")


def open_patients(path: str, fmt: str | None = None, born_by: str | None = None) -> Iterator[dict]:
    fmt = guess_format(path, fmt)
    return iter_jsonl(path, born_by) if fmt == "jsonl" else iter_csv(path, born_by)


MAX_LINE_BYTES = 4 * 1024 * 1024


def _decoded(f, path: str) -> Iterator[str]:
    """The lines of a binary file, decoded one at a time, so that an invalid UTF-8 byte is reported on its
    own line (a text wrapper decodes 8 KiB ahead and would blame an earlier line). Lines end at `\\n`
    and keep their line end, like a text file opened with newline="". A line longer than MAX_LINE_BYTES
    is refused without being read whole (memory stays bounded whatever the file)."""
    lineno = 0
    while True:
        raw = f.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        lineno += 1
        if len(raw) > MAX_LINE_BYTES:
            raise ConvmedError.single(f"line longer than {MAX_LINE_BYTES} bytes", file=path, line=lineno,
                                      code="too-large")
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConvmedError.single(f"not UTF-8 text (byte {exc.start + 1} of the line)", file=path, line=lineno,
                                      code="encoding") from None


def parse_jsonl_line(line: str, path: str, lineno: int, born_by: str | None = None) -> dict:
    """One patient of a JSON Lines patientèle: strict JSON (duplicate keys refused), then `check_record`;
    a located error (file, line, pointer) otherwise. Shared by `iter_jsonl` and the columnar FMT's
    per-record fallback, so both refuse the same lines with the same messages."""
    rec = load_json_line(line, path, lineno)   # the one strict JSON reader (duplicates, NaN, depth, surrogates)
    try:
        check_record(rec, born_by)
    except _Bad as exc:
        raise ConvmedError([Located(exc.message, file=path, line=lineno, pointer=exc.pointer,
                                    code="patient")]) from None
    return rec


def iter_jsonl(path: str, born_by: str | None = None) -> Iterator[dict]:
    f = _open(path)
    try:
        lineno = 0
        for line in _decoded(f, path):
            lineno += 1
            if line.strip():
                yield parse_jsonl_line(line, path, lineno, born_by)
    finally:
        if path != "-":
            f.close()


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts "²" or "٣", which int() then refuses or reads."""
    return text.isascii() and text.isdigit()


_TRUE = {"true", "1", "oui", "vrai", "yes"}
_FALSE = {"false", "0", "non", "faux", "no"}


def _short(value, limit: int = 60) -> str:
    """A value quoted in a message, cut at `limit` characters (a 100 MB cell is not echoed whole)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"… ({len(str(value))} caractères)"


def _csv_record(row: dict) -> dict:
    rec: dict = {}
    for key in ("id", "birth_date", "sex", "last_seen_date"):
        v = (row.get(key) or "").strip()
        if v:
            rec[key] = v
    age = (row.get("age") or "").strip()
    if age:
        if not _digits(age) or len(age) > 3:
            raise _Bad("/age", f"age must be an integer between 0 and 130, got {_short(age)}")
        rec["age"] = int(age)
    ald = (row.get("ald") or "").strip()
    if ald:
        items = [a.strip() for a in ald.split(";")]
        if not all(_digits(a) and len(a) <= 2 for a in items):
            raise _Bad("/ald", f"ald must be ALD numbers (1-32) separated by ';', got {_short(ald)}")
        rec["ald"] = [int(a) for a in items]
    for key in ("c2s", "seen_last_two_years"):
        v = (row.get(key) or "").strip().lower()
        if v in _TRUE:
            rec[key] = True
        elif v in _FALSE:
            rec[key] = False
        elif v:
            raise _Bad(f"/{key}", f"{key} must be true/false (1/0, oui/non), got {v!r}")
    flags = (row.get("flags") or "").strip()
    if flags:
        rec["flags"] = [x.strip() for x in flags.split(";")]
    events = (row.get("events") or "").strip()
    if events:
        out = []
        for i, item in enumerate(events.split(";")):
            parts = item.strip().split("@")
            if len(parts) < 2 or len(parts) > 4:
                raise _Bad(f"/events/{i}", f"event must be type@YYYY-MM-DD[@ATC][@count], got {item!r}")
            ev = {"type": parts[0], "date": parts[1]}
            for extra in parts[2:]:
                if _digits(extra):
                    if len(extra) > 9:
                        raise _Bad(f"/events/{i}/count", f"count beyond {MAX_EVENT_COUNT}: {_short(extra)}")
                    ev["count"] = int(extra)
                elif extra:
                    ev["atc"] = extra
            out.append(ev)
        rec["events"] = out
    return rec


def csv_records(reader: csv.DictReader, path: str, offset: int = 0, born_by: str | None = None) -> Iterator[dict]:
    """The patients of a CSV reader whose header is read, checked like `check_record`; errors located at
    `offset` + the reader's line. Shared by `iter_csv` and the columnar FMT's per-record fallback."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise ConvmedError.single(f"not UTF-8 text (byte {exc.start})", file=path,
                                      line=offset + reader.line_num + 1, code="encoding") from None
        except csv.Error as exc:
            raise ConvmedError.single(f"bad CSV: {exc}", file=path, line=offset + reader.line_num, code="csv") from None
        lineno = offset + reader.line_num
        if None in row:
            raise ConvmedError.single("more fields than columns in the header", file=path, line=lineno, code="csv")
        try:
            rec = _csv_record(row)
            check_record(rec, born_by)
        except _Bad as exc:
            raise ConvmedError([Located(exc.message, file=path, line=lineno, pointer=exc.pointer,
                                        code="patient")]) from None
        yield rec


def check_csv_header(header: list[str], path: str) -> None:
    """Known columns, each once (a column given twice would keep one of its values silently)."""
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise ConvmedError.single(f"unknown CSV column {unknown[0][:60]!r} (allowed: {', '.join(CSV_COLUMNS)})",
                                  file=path, line=1, code="csv")
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise ConvmedError.single(f"CSV column given twice in the header: {', '.join(twice)}", file=path, line=1,
                                  code="csv")


def iter_csv(path: str, born_by: str | None = None) -> Iterator[dict]:
    f = _open(path)
    try:
        reader = csv.DictReader(_decoded(f, path))
        try:
            header = reader.fieldnames
        except UnicodeDecodeError as exc:
            raise ConvmedError.single(f"not UTF-8 text (byte {exc.start})", file=path, line=1, code="encoding") from None
        if not header:
            return
        check_csv_header(header, path)
        yield from csv_records(reader, path, born_by=born_by)
    finally:
        if path != "-":
            f.close()

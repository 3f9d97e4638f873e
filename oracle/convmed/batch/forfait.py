"""`convmed batch forfait fmt FILE`: the FMT of one doctor's patientèle given as JSON Lines, CSV or Parquet.

Not columnar yet: the patientèle is streamed record by record into the reference engine
(`convmed.forfaits.engine.compute`, the code behind `convmed forfait fmt`), so the result is the
oracle's by construction and memory stays bounded. JSON Lines and CSV files are handed to the
engine's own streaming reader (`convmed.forfaits.patientele`, located errors); a Parquet file is read
in row groups of `chunk_rows` with polars, each row checked by the same rules
(`patientele.check_record`) before it is counted.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

from convmed.errors import ConvmedError, Located

DEFAULT_REQUEST = {"scheme": "fmt", "doctor": {"sector": "S1"}}


def _request(request_path: str | None, year: int | None, on: str | None) -> tuple[dict, str]:
    from convmed.forfaits.engine import validate_input
    from convmed.io_claims import read_text
    from convmed.yamlio import load_json_text

    if request_path:
        text, file = read_text(request_path)
        request = load_json_text(text, file)
        if not isinstance(request, dict):
            raise ConvmedError.single("a forfait request must be a JSON object", file=file, line=1, code="input")
    else:
        request, text, file = json.loads(json.dumps(DEFAULT_REQUEST)), json.dumps(DEFAULT_REQUEST), "<défaut>"
    if request.get("scheme", "fmt") != "fmt":
        raise ConvmedError.single(f"the request is for scheme {request.get('scheme')!r}, not 'fmt'", file=file,
                                  pointer="/scheme", code="input")
    request["scheme"] = "fmt"
    for key in ("year", "date", "patients", "patients_file"):
        request.pop(key, None)
    if on is not None:
        try:
            date.fromisoformat(on)
        except ValueError:
            raise ConvmedError.single(f"--date must be AAAA-MM-JJ, got {on!r}", code="input") from None
        request["date"] = on
    else:
        request["year"] = year
    validate_input(request, file, text)
    return request, file


def _parquet_records(path: str, chunk_rows: int, progress: bool):
    import polars as pl

    from convmed.forfaits.patientele import _Bad, check_record

    try:
        total = pl.scan_parquet(path).select(pl.len()).collect().item()
    except Exception as exc:  # noqa: BLE001
        raise ConvmedError.single(f"fichier Parquet illisible : {exc}", file=path, code="input") from None
    start = time.perf_counter()
    for offset in range(0, total, chunk_rows):
        df = pl.scan_parquet(path).slice(offset, chunk_rows).collect()
        for i, row in enumerate(df.iter_rows(named=True)):
            rec = {k: v for k, v in row.items() if v is not None}
            if isinstance(rec.get("events"), list):
                rec["events"] = [{k: v for k, v in e.items() if v is not None} for e in rec["events"]]
            try:
                check_record(rec)
            except _Bad as exc:
                raise ConvmedError([Located(exc.message, file=path, line=offset + i + 1, pointer=exc.pointer,
                                            code="patient")]) from None
            yield rec
        if progress:
            done = offset + df.height
            print(f"convmed batch forfait fmt : {done} patients lus ({done / (time.perf_counter() - start):,.0f}/s)",
                  end="\r", file=sys.stderr, flush=True)


def fmt_file(path: str, *, request_path: str | None = None, year: int | None = None, on: str | None = None,
             in_format: str | None = None, chunk_rows: int = 500_000, progress: bool = False) -> dict:
    from convmed.forfaits import engine

    if not Path(path).is_file():
        raise ConvmedError.single("fichier introuvable", file=path, code="io")
    fmt = in_format or {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}.get(
        Path(path).suffix.lower())
    if fmt is None:
        raise ConvmedError.single("format inconnu : .jsonl, .csv ou .parquet (ou --input-format)", file=path,
                                  code="input")
    request, file = _request(request_path, year, on)
    if fmt in ("jsonl", "csv"):
        request["patients_file"] = {"path": str(Path(path).resolve()), "format": fmt}
        return engine.compute(request, file=file, validated=True)
    # Parquet: rows checked, then streamed through a temporary JSON Lines file the engine reads in turn
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(suffix=".jsonl", prefix="convmed-fmt-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for rec in _parquet_records(path, chunk_rows, progress):
                fh.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
        request["patients_file"] = {"path": tmp, "format": "jsonl"}
        return engine.compute(request, file=file, validated=True)
    finally:
        os.unlink(tmp)

"""`convmed batch forfait fmt FILE`: the FMT of one doctor's patientèle given as JSON Lines, CSV or Parquet.

Columnar (convmed.batch.fmt_columnar): the patientèle is read by chunks with polars (bounded memory) and
reduced to the counts the reference formula keeps (patients per socle cell, C2S patients seen, per
prevention indicator the patients eligible / validated / unknown); the reference engine
(`convmed.forfaits.engine.compute`, the code behind `convmed forfait fmt`) then runs as usual (date,
scheme in force, requirements of the doctor, parameters, components, majorations, payments, trace) with
its own component functions fed with these counts. The patientèle is read only when the engine reaches
the formula (a refused scheme does not read it, as in the reference). Chunks or records the columnar
path cannot read exactly go through the reference per-record code (same located errors).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from datetime import date
from pathlib import Path

from convmed.errors import ConvmedError

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


# The patientèle file the formula must read columnar, for the call of engine.compute running in this
# context (a context variable: another computation in the same process keeps the reference formula).
_SOURCE: contextvars.ContextVar = contextvars.ContextVar("convmed_fmt_columnar_source", default=None)


def _columnar_formula(ctx):
    """`fmt_2024` with the patient loop replaced by the columnar counts (`FmtCounts`), then the reference's
    `fmt_from_counts`."""
    from convmed.batch.fmt_columnar import Plan, count_file
    from convmed.forfaits.schemes import fmt as ref

    source = _SOURCE.get()
    plan = Plan(ctx)
    n = count_file(plan, source["path"], source["format"], chunk_rows=source["chunk_rows"],
                   progress=source["progress"], parquet=source.get("parquet"))
    source.update(columnar=plan.columnar, records=n.records, per_record=plan.per_record)
    return ref.fmt_from_counts(ctx, plan.table, plan.inds, n)


@contextlib.contextmanager
def _formula_for(name: str, source: dict):
    """Run engine.compute with formula kind `name` counted columnar from `source` (this context only)."""
    from convmed.forfaits import registry

    reference = registry.get(name)
    reference = getattr(reference, "_columnar_of", reference)

    def dispatch(ctx):
        return _columnar_formula(ctx) if _SOURCE.get() is not None else reference(ctx)

    dispatch._columnar_of = reference
    registry._FORMULAS[name] = dispatch       # looked up once by engine.compute, before the formula runs
    token = _SOURCE.set(source)
    try:
        yield
    finally:
        _SOURCE.reset(token)
        if registry._FORMULAS.get(name) is dispatch:
            registry._FORMULAS[name] = reference


def fmt_file(path: str, *, request_path: str | None = None, year: int | None = None, on: str | None = None,
             in_format: str | None = None, chunk_rows: int = 500_000, progress: bool = False,
             stats: dict | None = None) -> dict:
    """The result of `convmed forfait fmt` on this patientèle. `stats`, when given, receives `columnar` (the
    criteria of the scheme compiled to polars), `records` and `per_record` (records counted by the reference
    per-record code: chunks read record by record, records without a birth date)."""
    from convmed.forfaits import engine
    from convmed.model import load_spec

    from convmed.infiles import check_regular

    check_regular(path)   # a regular file: a FIFO, a device or a folder is refused, located
    fmt = in_format or {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}.get(
        Path(path).suffix.lower())
    if fmt is None:
        raise ConvmedError.single("format inconnu : .jsonl, .csv ou .parquet (ou --input-format)", file=path,
                                  code="input")
    if chunk_rows < 1:
        raise ConvmedError.single("--chunk-rows doit être positif", code="input")
    early = None
    if fmt == "parquet":
        # the first chunks are read and checked on threads while the request and the spec are read here
        # (polars releases the GIL); nothing of it is reported unless the formula reads the file
        from convmed.batch.fmt_columnar import ParquetChunks

        early = ParquetChunks(path, chunk_rows)
        early.start()
    request, file = _request(request_path, year, on)
    spec = load_spec()
    scheme = engine.find_scheme(spec, "fmt")
    source = {"path": path, "format": fmt, "chunk_rows": chunk_rows, "progress": progress, "parquet": early}
    # the request names the file as the reference would read it (the engine does not read it: the formula does)
    request["patients_file"] = {"path": str(Path(path).resolve()), "format": fmt}
    if scheme.data["formula"] != "fmt_2024":
        # a formula kind without a columnar counterpart: the reference engine reads the file itself
        if fmt == "parquet":
            raise ConvmedError.single(f"formule {scheme.data['formula']} : pas de lecture Parquet (JSON Lines ou CSV)",
                                      file=path, code="input")
        return engine.compute(request, spec, file=file, validated=True)
    from convmed.interrupts import deferred

    with deferred(), _formula_for(scheme.data["formula"], source):   # Ctrl-C between blocks, never inside polars
        result = engine.compute(request, spec, file=file, validated=True)
    if stats is not None:
        stats.update({k: source[k] for k in ("columnar", "records", "per_record") if k in source})
    return result

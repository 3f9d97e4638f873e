"""Overlays: values the seeds do not carry (CCAM tariffs, NGAP base tariffs, DROM annex), loaded
only when asked (`convmed price --overlay NAME|PATH`).

An overlay is a YAML file (schemas/overlay.schema.json) or a CSV file (columns CSV_COLUMNS, converted to
the same form and validated by the same schema) whose rows each carry their own external source. The oracle never lets an overlay replace a seed value: a row only fills a dated `gap` of the
spec, or gives the base tariff of a code the spec does not price (a CCAM act). Every amount taken from
an overlay is marked in the trace (step `overlay`) and the overlay's name is listed in the result's
`convmed.overlays`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from convmed.errors import ConvmedError, Located
from convmed.money import parse_decimal


@dataclass(frozen=True)
class OverlayRow:
    code: str
    start: date
    end: date | None
    territories: tuple[str, ...]
    value: Decimal
    raw: dict
    index: int


@dataclass
class Overlay:
    name: str
    path: Path
    rows: list[OverlayRow]
    data: dict

    def find(self, code: str, on: date, territory: str) -> OverlayRow | None:
        """The row of `code` in force on `on` in `territory` (the latest start wins)."""
        best = None
        for row in self.rows:
            if row.code != code or territory not in row.territories or on < row.start:
                continue
            if row.end is not None and on >= row.end:
                continue
            if best is None or row.start > best.start:
                best = row
        return best


def overlays_dir(spec_root: Path | None = None) -> Path:
    from convmed.paths import spec_dir

    return (spec_root or spec_dir()) / "overlays"


def available(spec_root: Path | None = None) -> list[str]:
    root = overlays_dir(spec_root)
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


CSV_COLUMNS = ("code", "from", "until", "territories", "value", "unit", "label", "note",
               "source_reference", "source_url", "source_date", "source_reliability")


class _CsvLines:
    """JSON pointer -> CSV line (header is line 1, row i is line i + 2)."""

    def line_for(self, pointer: str):
        parts = pointer.strip("/").split("/")
        return int(parts[1]) + 2 if len(parts) > 1 and parts[0] == "rows" and parts[1].isdigit() else 1


def _read_csv(path: Path) -> tuple[dict, object]:
    """A CSV overlay: one row per value, columns CSV_COLUMNS (territories separated by '|'); the file name gives
    the overlay name. Converted to the YAML form, then validated by the same schema."""
    import csv

    import io

    from convmed.infiles import decode_utf8, read_bounded
    from convmed.yamlio import MAX_BYTES

    # a regular file, bounded in bytes read, UTF-8 (located errors): then parsed from memory
    text = decode_utf8(read_bounded(path, MAX_BYTES), str(path))
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames or []
        unknown = [c for c in header if c not in CSV_COLUMNS]
        if unknown:
            raise ConvmedError.single(f"colonnes inconnues : {', '.join(unknown)} (attendu : {', '.join(CSV_COLUMNS)})",
                                      file=str(path), line=1, code="overlay")
        twice = sorted({c for c in header if header.count(c) > 1})
        if twice:
            raise ConvmedError.single(f"colonne en double dans l'en-tête : {', '.join(twice)}", file=str(path), line=1,
                                      code="overlay")
        rows = []
        for raw in reader:
            if None in raw:
                raise ConvmedError.single("plus de champs que de colonnes dans l'en-tête", file=str(path),
                                          line=reader.line_num, code="overlay")
            row = {k: v for k, v in raw.items() if k in CSV_COLUMNS and v not in (None, "")}
            src = {k[len("source_"):]: row.pop(k) for k in list(row) if k.startswith("source_")}
            if "territories" in row:
                row["territories"] = row["territories"].split("|")
            rows.append({**row, "source": src})
    except csv.Error as exc:
        raise ConvmedError.single(f"CSV illisible : {exc}", file=str(path), line=reader.line_num, code="overlay") from None
    import re

    stem = re.sub(r"[^a-z0-9-]+", "-", path.stem.lower()).strip("-") or "csv"
    return {"kind": "overlay", "name": stem, "label": f"Surcouche CSV {path.name}", "rows": rows}, _CsvLines()


def _read_file(path: Path) -> dict:
    from convmed.schemas import validate
    from convmed.yamlio import load_yaml

    data, lines = _read_csv(path) if path.suffix.lower() == ".csv" else load_yaml(path)
    problems = validate(data, "overlay", file=str(path), lines=lines)
    if problems:
        raise ConvmedError(problems)
    return data


def load_overlay(name_or_path: str, spec_root: Path | None = None) -> Overlay:
    """Load an overlay by name (spec/overlays/<name>/) or by path (a YAML file or a folder of them)."""
    path = Path(name_or_path)
    if not path.exists():
        candidate = overlays_dir(spec_root) / name_or_path
        if not candidate.is_dir():
            names = ", ".join(available(spec_root)) or "aucune"
            raise ConvmedError.single(
                f"surcouche introuvable : {name_or_path!r} n'est ni un fichier ni une surcouche livrée "
                f"(surcouches livrées : {names})", file=name_or_path, code="io")
        path = candidate
    files = sorted([*path.glob("*.yaml"), *path.glob("*.csv")]) if path.is_dir() else [path]
    if not files:
        raise ConvmedError.single("surcouche vide : aucun fichier .yaml ni .csv", file=str(path), code="io")
    rows: list[OverlayRow] = []
    name = None
    data_all: dict = {}
    problems: list[Located] = []
    for f in files:
        try:
            data = _read_file(f)
        except ConvmedError as exc:
            problems.extend(exc.problems)
            continue
        name = name or data["name"]
        data_all.setdefault("labels", []).append(data["label"])
        for i, r in enumerate(data["rows"]):
            start = date.fromisoformat(r["from"])
            end = date.fromisoformat(r["until"]) if r.get("until") else None
            if end is not None and end <= start:
                problems.append(Located("until doit suivre from", file=str(f), pointer=f"/rows/{i}/until",
                                        code="overlay"))
                continue
            rows.append(OverlayRow(r["code"], start, end, tuple(r.get("territories", ["metropole"])),
                                   parse_decimal(r["value"]), r, i))
    if problems:
        raise ConvmedError(problems)
    return Overlay(name or path.stem, path, rows, data_all)


def overlay_step(overlay: Overlay, row: OverlayRow, code: str, what: str) -> dict:
    src = row.raw["source"]
    detail = (f"{code} : {what} {row.raw['value']} lu dans la surcouche « {overlay.name} » (hors sources "
              f"conventionnelles) — {src['reference']}, {src['date']}, fiabilité {src['reliability']}")
    if row.raw.get("note"):
        detail += f" ; {row.raw['note']}"
    step = {"step": "overlay", "rule": f"overlay.{overlay.name}#rows/{row.index}", "outcome": "info",
            "detail": detail, "value": row.raw["value"], "from": row.raw["from"], "status": "external",
            "sources": [dict(src)]}
    if row.raw.get("until"):
        step["until"] = row.raw["until"]
    return step

"""Streaming readers for the batch engine: JSON Lines, CSV, Parquet, in chunks of bounded size.

Each reader yields `(frame, rejects, claim_of)`: a flat chunk for `BatchEngine.price_chunk`
(see engine.py), the rows it already refused (with their line number), and the function that
rebuilds the exact claim of a row for the scalar path.

Formats
- JSON Lines (`.jsonl`, `.ndjson`, `.json`): one claim (schemas/claim.schema.json) per line.
- CSV (`.csv`): one claim per line (no line break inside a field), header required. Columns are
  the dotted paths of the claim's fields (`date`, `doctor.sector`, `patient.birth_date`,
  `context.place`...), `lines` (the JSON array of lines) or `codes` (codes separated by spaces or
  `+`), and optionally `history` (JSON array). Booleans: true/false (or 1/0); empty cell: absent.
- Parquet (`.parquet`): either the nested layout (struct columns `doctor`, `patient`, `context`,
  list column `lines`), or the flat layout of the CSV; row numbers count from 1.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from convmed.batch.engine import KIND_DTYPES, BadLine, Reject
from convmed.batch.rows import nest
from convmed.batch.signature import line_fields, screen_pattern
from convmed.errors import ConvmedError
from convmed.yamlio import load_json_text

# the one layout of the `lines` column: every property of a line, in name order (its hashes, hence the
# signatures, must not depend on the order or the subset of fields a file or a chunk happens to have)
LINE_STRUCT = pl.List(pl.Struct({name: KIND_DTYPES[kind] for name, kind in line_fields().items()}))
def _not_json(dtype) -> str | None:
    """The first type inside `dtype` a claim cannot hold (Binary, Date, Decimal...), or None."""
    if isinstance(dtype, pl.List):
        return _not_json(dtype.inner)
    if isinstance(dtype, pl.Struct):
        return next((odd for f in dtype.fields if (odd := _not_json(f.dtype))), None)
    if dtype in (pl.String, pl.Boolean, pl.Null) or dtype.is_integer() or dtype.is_float():
        return None
    return str(dtype)


_TYPE_NAMES = {pl.Boolean: "un booléen", pl.Int64: "un entier", pl.String: "du texte"}
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


def canonical_lines(dtype) -> pl.Expr:
    """The `lines` column (List(Struct) of `dtype`) in the layout LINE_STRUCT: missing fields null, all-null
    fields typed. A chunk with a field not in the schema, or of another type, keeps its own layout (its rows
    are refused by the schema with the field's own name)."""
    fields = {f.name: f.dtype for f in dtype.inner.fields}
    canonical = {f.name: f.dtype for f in LINE_STRUCT.inner.fields}
    if list(fields.items()) == list(canonical.items()):
        return pl.col("lines")
    if any(name not in canonical or have not in (canonical[name], pl.Null) for name, have in fields.items()):
        return pl.col("lines")
    return pl.col("lines").list.eval(pl.struct(
        pl.element().struct.field(name).cast(want) if name in fields else pl.lit(None, dtype=want).alias(name)
        for name, want in canonical.items())).alias("lines")


def detect_format(path: str, fmt: str | None = None) -> str:
    if fmt:
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".parquet"):
        return suffix[1:]
    raise ConvmedError.single(f"format inconnu pour {path!r} : .jsonl, .csv ou .parquet (ou --input-format)",
                              file=path, code="input")


def unnest_objects(df: pl.DataFrame, objects: set[str] | None = None) -> pl.DataFrame:
    """The flat layout of a frame: each struct column (each one named in `objects`, when given), at every
    depth, replaced by one column per field, named by its dotted path ("doctor.sector",
    "doctor.counters.snp_this_week"); lists (lines, history) are kept as they are."""
    while True:
        nested = [name for name, dtype in df.schema.items()
                  if isinstance(dtype, pl.Struct) and (objects is None or name in objects)]
        if not nested:
            return df
        name = nested[0]
        df = df.with_columns([pl.col(name).struct.field(f.name).alias(f"{name}.{f.name}")
                              for f in df.schema[name].fields]).drop(name)


class Normaliser:
    """Turns a decoded chunk (nested structs or flat dotted columns) into the engine's flat layout."""

    def __init__(self, engine):
        self.engine = engine
        self.leaves = engine.leaves
        self.arrays = engine.arrays
        self.dtypes = engine.leaf_dtypes()
        self.objects = {".".join(leaf.path[:i]) for leaf in self.leaves for i in range(1, len(leaf.path))}
        self.screen = screen_pattern()
        self.warned: set[str] = set()

    def flatten(self, df: pl.DataFrame) -> tuple[pl.DataFrame, pl.Expr]:
        """Unnest struct columns that are objects of the schema; columns outside the schema make their
        non-null rows slow (the scalar path refuses them with the schema's message)."""
        slow = pl.lit(False)
        df = unnest_objects(df, self.objects)
        cols = []
        for name, dtype in df.schema.items():
            if name in ("row", "raw", "slow") or name.startswith("_"):
                continue
            if name in self.dtypes:
                want = self.dtypes[name]
                if dtype == want or dtype == pl.Null:
                    cols.append(pl.col(name).cast(want))
                elif want == pl.Int64 and dtype.is_integer():
                    cols.append(pl.col(name).cast(pl.Int64))
                elif dtype == pl.String:
                    # text cells (CSV, Parquet of strings): the readers refused the cells that do not convert
                    # (_check_text_cells); JSON lines with a string here were screened to the scalar path
                    cols.append(self._from_text(name, want))
                else:
                    slow = slow | pl.col(name).is_not_null()
                    cols.append(pl.lit(None, dtype=want).alias(name))
            elif name == "lines":
                if dtype == pl.String:
                    df = df.with_columns(self._decode_json_column("lines"))
                    dtype = df.schema["lines"]
                if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
                    cols.append(canonical_lines(dtype))
                else:
                    slow = slow | pl.col("lines").is_not_null()
                    cols.append(pl.lit(None, dtype=LINE_STRUCT).alias("lines"))
            elif name == "history":
                if dtype == pl.String:
                    has = pl.col("history").is_not_null() & ~pl.col("history").str.contains(r"^\s*\[\s*\]\s*$")
                    cols.append(pl.when(has).then(pl.lit([1])).otherwise(None).alias("history"))
                elif isinstance(dtype, pl.List):
                    cols.append(pl.col("history"))
                else:
                    slow = slow | pl.col("history").is_not_null()
                    cols.append(pl.lit([1]).alias("history"))
            elif name == "codes" and dtype == pl.String:
                continue
            else:
                slow = slow | pl.col(name).is_not_null()
        df = df.with_columns(cols) if cols else df
        for name, want in self.dtypes.items():
            if name not in df.columns:
                df = df.with_columns(pl.lit(None, dtype=want).alias(name))
        if "lines" not in df.columns:
            if "codes" in df.columns:
                codes = pl.col("codes").str.strip_chars().str.split_by(r"[ +]+", literal=False) \
                    if hasattr(pl.Expr.str, "split_by") else \
                    pl.col("codes").str.strip_chars().str.replace_all(r"[ +]+", " ").str.split(" ")
                df = df.with_columns(codes.list.eval(pl.struct(pl.element().alias("code"))).alias("lines"))
                df = df.with_columns(canonical_lines(df.schema["lines"]))
            else:
                df = df.with_columns(pl.lit(None, dtype=LINE_STRUCT).alias("lines"))
        if "history" not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.List(pl.Int64)).alias("history"))
        df, big = self._out_of_range(df)
        return df, (slow | big) if big is not None else slow

    # every integer of the claim schema is small (an age, a counter, minutes); the columnar engine computes in
    # 32 bits: a larger value (3 000 000 000, 2^63) sends its row to the scalar path, which refuses it by the
    # schema as `convmed price` does; the value itself is kept aside (`_big.<leaf>`) for `claim_of`
    INT_BOUND = 2 ** 31 - 1

    def _out_of_range(self, df: pl.DataFrame):
        ints = [n for n, w in self.dtypes.items() if w == pl.Int64 and n in df.columns]
        if not ints:
            return df, None
        bad = [pl.col(n).is_not_null() & ~pl.col(n).is_between(-self.INT_BOUND, self.INT_BOUND) for n in ints]
        if not df.select(pl.any_horizontal(bad).any()).item():
            return df, None
        df = df.with_columns([pl.when(b).then(pl.col(n)).otherwise(None).alias("_big." + n) for n, b in zip(ints, bad)]
                             + [pl.any_horizontal(bad).alias("_big_row")])
        df = df.with_columns([pl.when(pl.col("_big." + n).is_not_null()).then(None).otherwise(pl.col(n)).alias(n)
                              for n in ints])
        return df, pl.col("_big_row")

    def column_rejects(self, df: pl.DataFrame, path: str = "<input>") -> tuple[list, pl.DataFrame]:
        """Typed files (Parquet): a column the claim schema does not have, or of a type that is not the
        schema's (Binary where a code is due, Float where an integer is), refuses each row where it holds a
        value, located (line, pointer), and the job goes on; those rows are dropped from the chunk. A
        column that holds no value at all carries nothing: it is dropped with a warning on stderr (once)."""
        df = unnest_objects(df, self.objects)
        rejects: list = []
        bad_rows: set = set()
        for name, dtype in df.schema.items():
            if name in ("row", "raw", "slow") or name.startswith("_"):
                continue
            if dtype == pl.Null or df[name].null_count() == df.height:
                if name not in self.dtypes and name not in ("lines", "history", "codes") and name not in self.warned:
                    self.warned.add(name)
                    import sys

                    from convmed.errors import Located

                    print(Located(f"colonne inconnue {name!r}, sans valeur : ignorée (le schéma des demandes est "
                                  f"fermé ; une valeur dans cette colonne refuserait sa ligne)", file=path,
                                  pointer="/" + name.replace(".", "/"), code="attention").render(), file=sys.stderr)
                df = df.drop(name)
                continue
            want = self.dtypes.get(name)
            if want is not None:
                ok = dtype == want or (want == pl.Int64 and dtype.is_integer()) or dtype == pl.String
                why = None if ok else (f"colonne {name} de type Parquet {dtype}, attendu {_TYPE_NAMES.get(want, want)}")
            elif name in ("lines", "history"):
                ok = dtype == pl.String or isinstance(dtype, pl.List)
                odd = _not_json(dtype) if ok else None
                why = (f"colonne {name} de type Parquet {dtype}, attendu une liste (ou du JSON en texte)" if not ok else
                       f"colonne {name} : un champ de type Parquet {odd} n'a pas d'équivalent JSON (texte, nombre, "
                       f"booléen, liste, objet)" if odd else None)
            elif name == "codes":
                why = None if dtype == pl.String else f"colonne codes de type Parquet {dtype}, attendu du texte"
            else:
                why = (f"colonne inconnue {name!r} : le schéma des demandes est fermé (chemins pointés des champs, "
                       f"lines ou codes, history)")
            if why is None:
                continue
            pointer = "/" + name.replace(".", "/")
            for row in df.filter(pl.col(name).is_not_null())["row"].to_list():
                if row not in bad_rows:
                    bad_rows.add(row)
                    rejects.append(Reject(row, why, pointer))
            df = df.drop(name)
        if bad_rows:
            df = df.filter(~pl.col("row").is_in(list(bad_rows)))
        return rejects, df

    def _from_text(self, name: str, want) -> pl.Expr:
        col = pl.col(name)
        if want == pl.Boolean:
            low = col.str.to_lowercase()
            return pl.when(low.is_in(list(_TRUE))).then(True).when(low.is_in(list(_FALSE))).then(False) \
                .otherwise(None).alias(name)
        if want == pl.Int64:
            return pl.when(col.str.contains(r"^-?[0-9]+$")).then(col.cast(pl.Int64, strict=False)) \
                .otherwise(None).alias(name)
        return pl.when(col == "").then(None).otherwise(col).alias(name)

    def _decode_json_column(self, name: str) -> pl.Expr:
        return pl.col(name).str.json_decode(infer_schema_length=None).alias(name)


# ------------------------------------------------------------------ JSON Lines
def _line_chunks(path: str, chunk_rows: int, start: int = 1):
    """(first line number, list of decoded lines) in chunks; undecodable bytes become None."""
    lineno = start
    with open(path, "rb") as fh:
        while True:
            block = []
            for raw in fh:
                block.append(raw)
                if len(block) >= chunk_rows:
                    break
            if not block:
                return
            texts = []
            for raw in block:
                try:
                    texts.append(raw.decode("utf-8").rstrip("\r\n"))
                except UnicodeDecodeError as exc:
                    texts.append(exc)
            yield lineno, texts
            lineno += len(block)


def read_jsonl(path: str, engine, chunk_rows: int = 200_000):
    norm = Normaliser(engine)

    def claim_of(rec):
        """The claim of a line read by `convmed price`'s own strict reader (duplicate keys, NaN, depth, lone
        surrogates refused with its messages): the same verdict on every line."""
        try:
            value = load_json_text(rec["raw"], path)
        except ConvmedError as exc:
            problem = exc.problems[0]
            raise BadLine(problem.message, problem.pointer or "") from None
        return value if isinstance(value, dict) else None

    for first, texts in _line_chunks(path, chunk_rows):
        rejects = []
        rows, raws = [], []
        for i, t in enumerate(texts):
            if isinstance(t, Exception):
                rejects.append(Reject(first + i, f"texte non UTF-8 (octet {t.start})", ""))
            elif not t.strip():
                rejects.append(Reject(first + i, "ligne vide", ""))
            else:
                rows.append(first + i)
                raws.append(t)
        df = None
        # the columnar reading; when polars cannot take the chunk (a line that is not JSON, a duplicate key
        # alone in its chunk, a type it cannot unify...), every line is read by the strict reader first; at
        # worst every line goes through the scalar path: never a job killed by one line
        for mode in ("columnar", "strict", "scalar"):
            if not rows:
                break
            try:
                df, more = _jsonl_frame(rows, raws, norm, path, mode)
            except _Unreadable:
                continue
            except BaseException as exc:  # noqa: BLE001 - polars errors, and a Rust panic (a BaseException)
                if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError)) or mode == "scalar":
                    raise
                continue
            rejects += more
            break
        yield (df if df is not None else pl.DataFrame()), rejects, claim_of


class _Unreadable(Exception):
    """polars cannot decode this chunk as it is."""


def _jsonl_frame(rows: list, raws: list, norm: "Normaliser", path: str, mode: str):
    """The frame of a chunk of JSON lines, and the lines refused on the way. `mode`: "columnar" (polars decodes
    every line), "strict" (each line read by the strict reader first: its refusals are rejects), "scalar"
    (strict, then every line left to the scalar path)."""
    rejects = []
    if mode != "columnar":
        keep = []
        for i, (row, t) in enumerate(zip(rows, raws)):
            try:
                value = load_json_text(t, path)
            except ConvmedError as exc:
                problem = exc.problems[0]
                rejects.append(Reject(row, problem.message, problem.pointer or "", t))
                continue
            if not isinstance(value, dict):
                rejects.append(Reject(row, f"une demande est un objet JSON, pas {type(value).__name__}", "", t))
                continue
            keep.append(i)
        rows = [rows[i] for i in keep]
        raws = [raws[i] for i in keep]
        if not rows:
            return None, rejects
    series = pl.Series("raw", raws, dtype=pl.String)
    # the scalar path for: a type the screen sees, a key written with escapes, a surrogate escape (polars reads a
    # lone one as U+FFFD where the strict reader refuses it)
    slow = (series.str.contains(norm.screen) | series.str.contains(_ESCAPED_KEY)
            | series.str.contains(r"\\u[dD][89a-fA-F]"))
    # never given to polars: lines deeper than a claim (its schema inference on a 300-level object takes
    # minutes) and numbers of 10 digits or more (beyond 64 bits polars fails on the whole chunk); every line
    # in scalar mode
    aside = set(range(len(raws))) if mode == "scalar" else \
        _too_deep(raws) | set(series.str.contains(_LONG_NUMBER).arg_true().to_list())
    if aside:
        slow = slow | pl.Series([i in aside for i in range(len(raws))], dtype=pl.Boolean)
        series_for_decoding = pl.Series("raw", ["{}" if i in aside else t for i, t in enumerate(raws)])
    else:
        series_for_decoding = series
    if len(aside) == len(raws):
        decoded = pl.Series("c", [{"date": None} for _ in raws], dtype=pl.Struct({"date": pl.String}))
    else:
        decoded = _decode(series_for_decoding)
        if decoded is None or _duplicate_fields(decoded.dtype):   # a duplicate key makes a struct polars panics on
            raise _Unreadable
    # a duplicate key is kept (last wins) by the decoder: a line whose raw key count differs from the
    # keys decoded goes to the scalar path, whose strict reader refuses it (claim_of)
    slow = slow | (series.str.count_matches(r'"\s*:').cast(pl.Int64) != _decoded_keys(decoded))
    df = pl.DataFrame({"c": decoded}).unnest("c") if isinstance(decoded.dtype, pl.Struct) else pl.DataFrame()
    df = df.with_columns(pl.Series("row", rows, dtype=pl.Int64), series, slow.alias("slow"))
    df, extra_slow = norm.flatten(df)
    df = df.with_columns((pl.col("slow") | extra_slow).alias("slow"))
    return df, rejects


def _duplicate_fields(dtype) -> bool:
    if isinstance(dtype, pl.List):
        return _duplicate_fields(dtype.inner)
    if isinstance(dtype, pl.Struct):
        names = [f.name for f in dtype.fields]
        return len(set(names)) != len(names) or any(_duplicate_fields(f.dtype) for f in dtype.fields)
    return False


# a JSON number of 10 digits or more, outside strings or not (a false match only costs the scalar path)
_LONG_NUMBER = r"[:\[,]\s*-?[0-9]{10,}"


# a key written with an escape (`"\u0064ate"`): the type screen reads literal key names, the scalar path decodes
_ESCAPED_KEY = r'"[^"\\]*\\u[0-9a-fA-F]{4}(?:[^"\\]|\\.)*"\s*:'
MAX_CSV_HEADER = 64 * 1024   # the dotted paths of every field of a claim take under 4 KiB
CLAIM_DEPTH = 8   # a claim is 4 levels deep (history[].context.x); deeper lines are refused by the schema


def _too_deep(raws: list[str]) -> set[int]:
    """Positions of the lines nested deeper than CLAIM_DEPTH (a cheap count first, the depth only then)."""
    from convmed.yamlio import _line_of_depth

    return {i for i, t in enumerate(raws)
            if t.count("{") + t.count("[") > CLAIM_DEPTH and _line_of_depth(t, CLAIM_DEPTH) is not None}


def _decoded_keys(decoded: pl.Series) -> pl.Series:
    """Per row, how many keys the decoded value holds (present, non-null), at every depth: an object's
    fields, and for a list the items' keys. Compared with the count of `"key":` in the raw text."""

    def count(expr: pl.Expr, dtype) -> pl.Expr:
        if isinstance(dtype, pl.Struct):
            total = pl.lit(0, dtype=pl.Int64)
            for f in dtype.fields:
                child = expr.struct.field(f.name)
                total = total + child.is_not_null().cast(pl.Int64) + count(child, f.dtype).fill_null(0)
            return total
        if isinstance(dtype, pl.List) and isinstance(dtype.inner, (pl.Struct, pl.List)):
            return expr.list.eval(count(pl.element(), dtype.inner)).list.sum().fill_null(0)
        return pl.lit(0, dtype=pl.Int64)

    return pl.select(count(pl.lit(decoded), decoded.dtype).alias("k")).to_series().fill_null(0)


def _flat_claim_of(norm: Normaliser):
    """`claim_of` of the flat layouts (CSV, flat Parquet): the claim rebuilt from the dotted columns, with
    `lines` / `history` given as JSON text put back; None when the row cannot be nested."""

    def claim_of(rec):
        if any(k.startswith("_big.") for k in rec):   # integers set aside by Normaliser._out_of_range
            rec = {k[len("_big."):] if k.startswith("_big.") else k: v for k, v in rec.items() if k != "_big_row"}
        if "_json_lines" in rec or "_json_history" in rec:
            rec = dict(rec)
            for name in ("lines", "history"):
                if isinstance(rec.get("_json_" + name), str):
                    rec[name] = rec["_json_" + name]
        try:
            # nest leaves out absent leaves and compacts the arrays: nothing else to compact
            return nest(rec, norm.leaves, norm.arrays)
        except ValueError:
            return None

    return claim_of


def _decode(series: pl.Series):
    try:
        out = series.str.json_decode(infer_schema_length=None)
    except Exception:  # noqa: BLE001 - polars raises several kinds; the caller re-reads line by line
        return None
    return out if isinstance(out.dtype, pl.Struct) else None


# ------------------------------------------------------------------ CSV
def read_csv(path: str, engine, chunk_rows: int = 200_000):
    import csv

    norm = Normaliser(engine)
    with open(path, "rb") as fh:
        header_raw = fh.readline(MAX_CSV_HEADER + 1)
    if len(header_raw) > MAX_CSV_HEADER:
        raise ConvmedError.single(f"en-tête CSV de plus de {MAX_CSV_HEADER} octets : refusé", file=path, line=1,
                                  code="too-large")
    try:
        header_text = header_raw.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise ConvmedError.single("en-tête CSV non UTF-8", file=path, line=1, code="encoding") from None
    try:
        header = next(csv.reader([header_text]), [])
    except csv.Error as exc:
        raise ConvmedError.single(f"en-tête CSV illisible : {exc}", file=path, line=1, code="input") from None
    known = set(norm.dtypes) | set(engine.arrays) | {"codes"}
    unknown = [c for c in header if c not in known]
    if unknown or not header:
        raise ConvmedError.single(
            f"colonne inconnue {unknown[0]!r} (colonnes : chemins pointés des champs de la demande, "
            f"lines ou codes, history)" if unknown else "en-tête CSV vide", file=path, line=1, code="input")
    if "lines" not in header and "codes" not in header:
        raise ConvmedError.single("il faut une colonne lines (JSON) ou codes", file=path, line=1, code="input")
    if len(set(header)) != len(header):
        raise ConvmedError.single("colonne en double dans l'en-tête", file=path, line=1, code="input")

    claim_of = _flat_claim_of(norm)

    for first, texts in _line_chunks(path, chunk_rows):
        base = first
        if first == 1:
            texts, base = texts[1:], 2
        rejects, rows, good = [], [], []
        for i, t in enumerate(texts):
            row = base + i
            if isinstance(t, Exception):
                rejects.append(Reject(row, f"texte non UTF-8 (octet {t.start})", ""))
                continue
            if not t.strip():
                rejects.append(Reject(row, "ligne vide", ""))
                continue
            rows.append(row)
            good.append(t)
        if not rows:
            yield pl.DataFrame(), rejects, claim_of
            continue
        df = _read_csv_block(header, header_text, good)
        if df is None:  # a ragged line somewhere: find it
            keep = []
            for i, t in enumerate(good):
                try:
                    fields = next(csv.reader([t]), [])
                except csv.Error as exc:   # a field over the csv module's 128 KiB limit, a stray quote
                    rejects.append(Reject(rows[i], f"ligne CSV illisible : {exc}", "", t))
                    continue
                if len(fields) != len(header):
                    rejects.append(Reject(rows[i], f"{len(fields)} champs au lieu de {len(header)}", "", t))
                else:
                    keep.append(i)
            rows = [rows[i] for i in keep]
            good = [good[i] for i in keep]
            df = _read_csv_block(header, header_text, good) if good else None
            if df is None and good:  # polars refuses the block: the csv module reads it
                parsed = [next(csv.reader([t])) for t in good]
                df = pl.DataFrame(parsed, schema={h: pl.String for h in header}, orient="row")
            if df is None:
                yield pl.DataFrame(), rejects, claim_of
                continue
        df = df.with_columns(pl.Series("row", rows, dtype=pl.Int64), pl.lit(False).alias("slow"))
        conv_rejects, df = _check_text_cells(df, norm, header)
        rejects.extend(conv_rejects)
        df = _json_cells(df, norm, rejects)
        df, extra = norm.flatten(df)
        df = df.with_columns((pl.col("slow") | extra).alias("slow"))
        yield df, rejects, claim_of


def _json_cells(df: pl.DataFrame, norm: Normaliser, rejects: list) -> pl.DataFrame:
    """`lines` / `history` given as JSON text: keep the text for the scalar path, screen it, and refuse
    (located) the rows whose cell is not JSON."""
    for name in ("lines", "history"):
        if name not in df.columns or df.schema[name] != pl.String:
            continue
        df = df.with_columns(pl.when(pl.col(name) == "").then(None).otherwise(pl.col(name)).alias(name))
        deep = [(row, text) for row, text in df.select("row", name).iter_rows()
                if text is not None and text.count("[") + text.count("{") > CLAIM_DEPTH and _too_deep([text])]
        if deep:   # refused before polars infers a schema for it (minutes on a 300-level cell)
            for row, text in deep:
                rejects.append(Reject(row, f"colonne {name} : JSON imbriqué au-delà de {CLAIM_DEPTH} niveaux "
                                           f"(une demande en a 4)", "/" + name, text))
            df = df.filter(~pl.col("row").is_in([r for r, _ in deep]))
        df = df.with_columns(pl.col(name).alias("_json_" + name),
                             (pl.col("slow") | pl.col(name).str.contains(norm.screen).fill_null(False)).alias("slow"))
        try:
            decoded = df[name].str.json_decode(infer_schema_length=None)
        except Exception:  # noqa: BLE001 - find the bad cells one by one
            bad = []
            for row, text in df.select("row", name).iter_rows():
                if text is None:
                    continue
                try:
                    value = load_json_text(text, name)
                except ConvmedError as exc:
                    rejects.append(Reject(row, f"colonne {name} : {exc.problems[0].message}", "/" + name, text))
                    bad.append(row)
                    continue
                if not isinstance(value, list):
                    rejects.append(Reject(row, f"colonne {name} : un tableau JSON est attendu", "/" + name, text))
                    bad.append(row)
            df = df.filter(~pl.col("row").is_in(bad))
            try:
                decoded = df[name].str.json_decode(infer_schema_length=None)
            except Exception:  # noqa: BLE001 - mixed shapes: every row of the chunk goes the scalar path
                df = df.with_columns(pl.lit(True).alias("slow"))
                decoded = pl.Series(name, [None] * df.height, dtype=LINE_STRUCT if name == "lines" else pl.List(pl.Int64))
        df = df.with_columns(decoded.alias(name))
    return df


def _read_csv_block(header, header_text, lines):
    try:
        df = pl.read_csv(io.StringIO(header_text + "\n" + "\n".join(lines) + "\n"), infer_schema=False,
                         has_header=True)
    except Exception:  # noqa: BLE001
        return None
    if df.height != len(lines) or df.columns != header:
        return None
    return df


def _check_text_cells(df: pl.DataFrame, norm: Normaliser, header) -> tuple[list[Reject], pl.DataFrame]:
    """Cells that do not convert to the schema's type (boolean, integer) refuse their row, located."""
    rejects = []
    bad_rows = set()
    for name in header:
        want = norm.dtypes.get(name)
        if want not in (pl.Boolean, pl.Int64):
            continue
        conv = norm._from_text(name, want)
        bad = df.filter(pl.col(name).is_not_null() & (pl.col(name) != "") & conv.is_null())
        kind = "un booléen (true/false)" if want == pl.Boolean else "un entier"
        for row, value in bad.select("row", name).iter_rows():
            if row not in bad_rows:
                bad_rows.add(row)
                rejects.append(Reject(row, f"colonne {name} : {value!r} n'est pas {kind}", "/" + name.replace(".", "/")))
    if bad_rows:
        df = df.filter(~pl.col("row").is_in(list(bad_rows)))
    return rejects, df


# ------------------------------------------------------------------ Parquet
def read_parquet(path: str, engine, chunk_rows: int = 500_000):
    norm = Normaliser(engine)
    try:
        total = pl.scan_parquet(path).select(pl.len()).collect().item()
    except Exception as exc:  # noqa: BLE001
        raise ConvmedError.single(f"fichier Parquet illisible : {exc}", file=path, code="input") from None

    claim_of = _flat_claim_of(norm)

    offset = 0
    while offset < total:
        try:
            df = pl.scan_parquet(path).slice(offset, chunk_rows).collect()
        except Exception as exc:  # noqa: BLE001 - a damaged part of the file: fatal, located at its first row
            raise ConvmedError.single(f"fichier Parquet illisible à partir de la ligne {offset + 1} : {exc}",
                                      file=path, line=offset + 1, code="input") from None
        df = df.with_columns(pl.int_range(offset + 1, offset + 1 + pl.len(), dtype=pl.Int64).alias("row"),
                             pl.lit(False).alias("slow"))
        rejects, df = norm.column_rejects(df, path)
        if any(df.schema.get(n) == pl.String and norm.dtypes.get(n) in (pl.Boolean, pl.Int64) for n in df.columns):
            more, df = _check_text_cells(df, norm, df.columns)
            rejects += more
        df = _json_cells(df, norm, rejects)
        df, extra = norm.flatten(df)
        df = df.with_columns((pl.col("slow") | extra).alias("slow"))
        offset += chunk_rows
        yield df, rejects, claim_of


def reader_for(fmt: str):
    return {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet}[fmt]

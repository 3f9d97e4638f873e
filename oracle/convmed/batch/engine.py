"""Columnar pricing of a chunk of claims: canonical signatures, deduplication, scalar pricing of
each new signature, join back. Rows the signature cannot capture go through the scalar path.

A signature is relevant to the claim's codes (signature.Relevance): a field none of the concepts consulted
for its codes reads is left out (its validity is then checked on the column, `leaf_check`), dates and ages
fall in the classes of those concepts' own bounds. The small columns are coded per profile through lookup
tables and packed into 64-bit words before hashing (`_keys`).

A chunk is a polars DataFrame with the columns
  row        input line number (1-based, for every message)
  <leaf>     one column per scalar leaf of schemas/claim.schema.json ("doctor.sector"...)
  lines      List(Struct) of the claim's lines
  history    List(...) or null
  raw        (JSON Lines only) the line as read, for exact re-parsing on the scalar path
  slow       bool: this row must go through the scalar path (explicit null, mixed types...)
Readers (`convmed.batch.readers`) build it; rows they already refused are reported by them. A claim's
validation is `convmed.batch.validation`, a row back to its claim `convmed.batch.rows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Callable, NamedTuple

import numpy as np
import polars as pl

from convmed.batch.columnar import KIND_DTYPES, Columnar
from convmed.batch.rows import compact, records
from convmed.batch.signature import (DERIVED_READS, Analysis, Leaf, Relevance, _strings_under, analyse,
                                     array_items, leaf_check, schema_leaves)
from convmed.batch.validation import CachedValidator, validate_claim
from convmed.claim_plan import components, sub_lines
from convmed.facts import completed_ages_columns
from convmed.interrupts import checkpoint
from convmed.money import fmt
from convmed.operators import all_by_equality, all_by_order

OUT_SCHEMA = {
    "row": pl.Int64, "claim_id": pl.String, "date": pl.String, "index": pl.Int32, "code": pl.String,
    "status": pl.String, "amount": pl.String, "reason": pl.String, "total": pl.String, "complete": pl.Boolean,
}
_EPOCH = date(1970, 1, 1)
_YMD = ((0, 4), (5, 2), (8, 2))   # year, month, day of an ISO date
_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# polars' engine for the queries of a chunk's keys: its streaming engine (polars 2's default) costs more on a
# frame already in memory (measured: the dense query 0.065 -> 0.050 s a chunk, the sparse leaves' 53 small
# queries 0.036 -> 0.022 s)
IN_MEMORY = "in-memory"


@dataclass
class Reject:
    row: int
    message: str
    pointer: str | None = None
    raw: str | None = None


class BadLine(ValueError):
    """Raised by a reader's `claim_of` for a line it refuses while rebuilding the claim (e.g. a duplicate key)."""

    def __init__(self, message: str, pointer: str = ""):
        super().__init__(message)
        self.message, self.pointer = message, pointer


@dataclass
class ChunkResult:
    """A priced chunk. Its lines (`out`) are assembled when first asked for, by `assemble` (the join of the rows
    with their signatures' priced lines, the scalar rows merged): `price_file` has the writer's thread do it,
    while the next chunk is priced."""
    assemble: Callable[[], pl.DataFrame]
    rejects: list[Reject] = field(default_factory=list)
    read: int = 0
    priced: int = 0
    _out: pl.DataFrame | None = field(default=None, repr=False)

    @property
    def out(self) -> pl.DataFrame:
        if self._out is None:
            self._out = self.assemble()
        return self._out


def _conjunction(terms: list[pl.Expr]) -> pl.Expr:
    out = pl.lit(True)
    for term in terms:
        out = out & term
    return out


def _calendar_date(day: pl.Expr) -> pl.Expr:
    """`day`, a string of the pattern YYYY-MM-DD parsed by `str.to_date` (not strict), is a real calendar date
    as date.fromisoformat reads it (year 1 on)."""
    return day.is_not_null() & (day.dt.year() >= 1)


def _ymd(col: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """Year, month and day of an ISO date string, from its digits."""
    return tuple(col.str.slice(i, n).cast(pl.Int32, strict=False) for i, n in _YMD)


def _digits(ymd: tuple[pl.Expr, pl.Expr, pl.Expr], prefix: str) -> list[pl.Expr]:
    """A date's year, month and day (`_ymd`) as helper columns `prefix`y, m, d (the completed ages read them)."""
    return [c.alias(prefix + k) for c, k in zip(ymd, "ymd")]


def _cols(prefix: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    return tuple(pl.col(prefix + k) for k in "ymd")


def _as_int(e: pl.Expr) -> pl.Expr:
    return e.cast(pl.Int32)


def _is_id(leaf: Leaf) -> bool:
    last = leaf.path[-1]
    return leaf.kind == "str" and (last == "id" or last.endswith("_id") or last == "$schema")


class PreparedChunk(NamedTuple):
    """A chunk through `BatchEngine.prepare_chunk`: the frame with its derived columns, its sparse leaves, the
    validity conditions left to evaluate on every row, its lines' hashes."""
    df: pl.DataFrame
    sparse: _Sparse
    ok: pl.Expr
    lines_hashes: pl.DataFrame


def _lines_hashes(df: pl.DataFrame) -> pl.DataFrame:
    """The two hashes of each row's lines (l1, l2; computed together, one per core)."""
    return df.select(pl.col("lines").hash(0x11).alias("l1"), pl.col("lines").hash(0x22).alias("l2"))


@dataclass
class _KeyPlan:
    """What `BatchEngine._keys` evaluates, for one layout of chunk: the signature columns and the packed words
    computed on every row, the columns hashed as they are, and per sparse leaf its signature columns and its
    part of the words (computed on the rows where it is present)."""
    dense_sig: list[pl.Expr]
    dense_words: list[pl.Expr]
    raw: list[pl.Expr]
    sparse: list[tuple[str, list[pl.Expr], list[pl.Expr]]]


@dataclass
class _Sparse:
    """The leaves present on few rows of a chunk (`BatchEngine.sparse_below`) -> the rows (positions in the
    chunk) where each is present, and its values there."""
    at: dict[str, tuple[np.ndarray, pl.Series]]


def _merge_by_row(many: pl.DataFrame, few: pl.DataFrame) -> pl.DataFrame:
    """Two frames on disjoint rows, each in (row, index) order, merged in that order: the runs of `few` (the
    scalar path's rows) put at their places between slices of `many` (no copy; measured 0.012 s instead of
    0.03-0.07 s for a stable sort of 650 000 output lines, merge_sorted 4x slower than the sort)."""
    if not few.height:
        return many
    at = np.searchsorted(many["row"].to_numpy(), few["row"].to_numpy(), side="left")
    cuts = np.flatnonzero(np.diff(at)) + 1                 # where a run of `few` with one insertion point starts
    parts, done = [], 0
    for start, end in zip(np.concatenate(([0], cuts)), np.concatenate((cuts, [len(at)]))):
        place = int(at[start])
        parts += [many.slice(done, place - done), few.slice(int(start), int(end - start))]
        done = place
    parts.append(many.slice(done))
    return pl.concat(parts, rechunk=False)


_LINE_KNOWN = {"h1": pl.UInt64, "h2": pl.UInt64, "status": pl.String, "amount": pl.String, "reason": pl.String,
               "_micros": pl.Int64, "_places": pl.Int32, "billable": pl.Int8, "unit_value": pl.String}
_BILLABLE = {True: 1, False: 0, None: 2}   # a line's outcome read by another line (pricing.YES / NO / UNDECIDED)
_R1, _R2 = 0x2EAD5, 0x5EAD2                # the hashes of a line's key with its roles and the outcomes it reads


def _pairs(keys: set[tuple[int, int]]) -> pl.DataFrame:
    return pl.DataFrame(list(keys), schema={"h1": pl.UInt64, "h2": pl.UInt64}, orient="row")


def _millionths(amount: str) -> tuple[int | None, int]:
    """An amount as an integer number of millionths and its number of decimals (None: more than six)."""
    value = Decimal(amount)
    places = max(0, -value.as_tuple().exponent)
    if places > 6:
        return None, places
    return int(value.scaleb(6)), places


def _total_text(millionths: int | None, places: int) -> str:
    """A claim's total as the pricer writes it (convmed.money.fmt of the sum of its priced lines' amounts, which
    has the decimals of the most precise of them)."""
    total = Decimal(millionths or 0).scaleb(-6).quantize(Decimal(1).scaleb(-places))
    return fmt(total)


def summarise(result: dict) -> tuple[list[tuple], str, bool]:
    lines = [(r["index"], r["code"], r["status"], r.get("amount"), r.get("reason")) for r in result["lines"]]
    return lines, result["total"], result["complete"]


class BatchEngine:
    """Prices chunks with one spec; remembers every signature priced (memory grows with the number of
    distinct signatures, bounded by `max_cache`, never with the file)."""

    def __init__(self, spec=None, *, max_cache: int = 2_000_000, relevance: bool = True, sparse_below: float = 1 / 16,
                 max_values: int = 1_000_000, columnar: bool = True):
        from convmed.model import load_spec
        from convmed.pricing import Pricer

        self.spec = spec or load_spec()
        self.analysis: Analysis = analyse(self.spec)
        self.leaves, self.arrays = schema_leaves()
        # per set of line codes, only what its concepts read enters the signature (None: every fact)
        self.relevance = Relevance(self.spec, self.analysis, self.leaves) if relevance else None
        self._key_pid: dict = {}
        # string leaves checked on a chunk's distinct values (`_split_checks`): every one but the identifiers
        self._by_value = {leaf.name for leaf in self.leaves if leaf.kind == "str" and not _is_id(leaf)}
        self._plans: dict[tuple, _KeyPlan] = {}             # chunk layout -> the expressions of its keys
        # per column of `_derived`, its distinct values met so far and what the rules read of them (bounded)
        self._value_tables: dict[str, pl.DataFrame] = {}
        self.max_values = max_values
        self._lines_pid: dict[tuple[int, int], int] = {}   # (l1, l2) hashes of a claim's lines -> its profile id
        self._profile_ids: dict = {}
        self._profiles_by_id: dict = {}
        self._luts: dict = {}
        self._field_width: dict[str, int] = {}
        self.checked: set[tuple[str, ...]] = set()
        self.pricer = Pricer(self.spec)
        self.max_cache = max_cache
        # a leaf present on at most this share of a chunk's rows is checked and coded there only (0: never)
        self.sparse_below = sparse_below
        self._known = self._empty_known()
        self._known_count = 0
        self._invalid: set[tuple[int, int]] = set()
        self._holiday_memo: dict[tuple, bool | None] = {}   # (date, territory) -> public holiday, across chunks
        self.validator = CachedValidator()
        # a row's history, when its items are decided on the columns and its codes count no acts, leaves the signature
        self._history_items = array_items("history") if "history" in self.arrays and self.validator.split \
            and "history" in self.validator.arrays else None
        self._built = None
        # the columnar backend (needs the relevance: an act's breakpoints are its concepts' own)
        lines = self.validator.arrays.get("lines", {})
        self.columnar = Columnar(self.spec, self.relevance, self.leaves, lines.get("maxItems"), lines.get("minItems", 1)) \
            if columnar and self.relevance and "lines" in self.validator.arrays else None
        # the columnar backend's memory: line decision key -> the line's answer alone (status, amount, reason, and
        # the amount in millionths with its number of decimals, for the claim's total); the keys whose
        # representative is invalid (their claims go through the scalar path)
        self._line_known = pl.DataFrame(schema=_LINE_KNOWN)
        self._line_invalid: set[tuple[int, int]] = set()
        self._columnar_keys = pl.DataFrame(schema={"h1": pl.UInt64, "h2": pl.UInt64})   # signatures it decided
        self._valid_lines: dict[int, bool] = {}      # hash of a line -> a valid line of a claim
        self._valid_patterns: dict[str, bool] = {}   # presence of the constrained leaves -> a valid one
        self.stats = {"signatures": 0, "scalar_rows": 0, "columnar_rows": 0, "columnar_signatures": 0,
                      "scalar_signatures": 0, "decision_keys": 0}

    def prepare(self) -> None:
        """What every run needs before its first chunk, done now (`price_file` calls it while the first chunk is
        read on the reader's thread): the validators, the modules the pricing of a claim and the public holidays
        import."""
        import convmed.facts  # noqa: F401
        import convmed.io_claims  # noqa: F401

        self.validator.prepare()

    # ------------------------------------------------------------------ pricing one claim
    def price_one(self, claim: dict) -> tuple[list[tuple], str, bool]:
        return summarise(self.pricer.price(claim))

    @staticmethod
    def _empty_known() -> pl.DataFrame:
        return pl.DataFrame(schema={"h1": pl.UInt64, "h2": pl.UInt64, "index": pl.Int32, "code": pl.String,
                                    "status": pl.String, "amount": pl.String, "reason": pl.String,
                                    "total": pl.String, "complete": pl.Boolean})

    # ------------------------------------------------------------------ signature
    def leaf_dtypes(self) -> dict[str, pl.DataType]:
        return {leaf.name: KIND_DTYPES[leaf.kind] for leaf in self.leaves}

    def _signature_exprs(self) -> list[pl.Expr]:
        """The signature expressions. The columns are those of the whole spec (dates and ages in the classes of
        every bound); `_keys` then keeps, per set of line codes, only what the concepts consulted for those codes
        can read. Built once (they depend on the spec), with the validity conditions of the reduced columns
        (`self._oks`, those on one leaf's values also in `self._leaf_checks`: `_split_checks`)."""
        if self._built is None:
            self._built = self._build_signature_exprs()
        return self._built

    def _build_signature_exprs(self) -> list[pl.Expr]:
        a = self.analysis
        sig: list[pl.Expr] = []
        oks: list[pl.Expr] = []                                     # conditions every fast row meets
        self._leaf_checks: dict[str, list[tuple[int, object]]] = {}  # leaf -> (index in oks, check of a value)

        def leaf_ok(name: str, check) -> None:
            """A condition on one leaf's values (`check`: expression -> expression), met where it is absent."""
            self._leaf_checks.setdefault(name, []).append((len(oks), check))
            oks.append(pl.col(name).is_null() | check(pl.col(name)))

        self._presence: set[str] = set()                            # columns saying a leaf is present
        self._pre: list[list[pl.Expr]] = []                           # helper columns, added in this order
        self._class_cols: dict[str, tuple[str, str | None]] = {}   # column -> (fact or "@date", gate)
        self._gated: dict[str, str] = {}                             # column -> leaf or "@reducer" deciding it
        self._string_cols: dict[str, str] = {}                       # column -> fact compared to constants
        self._string_values: dict[str, list[str]] = {}               # column -> every string the spec names
        self._enums: dict[str, list[str]] = {}                       # column -> values (checked in `_oks`)
        reduce = a.reduce_dates
        # what the rules read of the dates and the time, computed once per distinct value of the chunk
        # (`with_derived`: a chunk has a few hundred dates and hours, tens of thousands of birth dates)
        self._derived: dict[str, list[pl.Expr]] = {}
        self.checked: set[tuple[str, ...]] = set()   # leaves whose validity `_oks` decides on the column
        for leaf in self.leaves:
            col = pl.col(leaf.name)
            name = leaf.name
            if leaf.checkable:
                leaf_ok(name, lambda c, leaf=leaf: leaf_check(leaf, c))
                self.checked.add(leaf.path)
            if reduce and name == "date":
                # the schema's date: the pattern and a real calendar date (year 1 on, as date.fromisoformat)
                day = col.str.to_date("%Y-%m-%d", strict=False)
                days = (day - pl.lit(_EPOCH)).dt.total_days()
                derived = [(col.str.contains(_DATE_RE) & _calendar_date(day)).alias("_d_ok"), days.alias("_d_days"),
                           # the number of breakpoints on or before the day (a binary search)
                           (pl.lit(pl.Series([(b - _EPOCH).days for b in a.breakpoints], dtype=pl.Int64))
                            .search_sorted(days.cast(pl.Int64), side="right").cast(pl.Int32)
                            if a.breakpoints else pl.lit(0, dtype=pl.Int32)).alias("_d_class"),
                           day.dt.weekday().alias("_d_weekday")]
                self._derived[name] = derived + _digits(_ymd(col), "_d")
                oks.append(pl.col("_d_ok"))
                self.checked.add(leaf.path)
                sig.append(pl.col("_d_class").alias("s:date"))
                self._class_cols["s:date"] = ("@date", None)
                if a.uses("weekday"):
                    sig.append(pl.col("_d_weekday").alias("s:weekday"))
                    self._gated["s:weekday"] = "@weekday"
                if a.uses("holiday"):
                    sig.append(pl.col("_holiday").alias("s:holiday"))
                    self._gated["s:holiday"] = "@holiday"
            elif reduce and name == "patient.birth_date":
                birth = col.str.to_date("%Y-%m-%d", strict=False)
                self._derived[name] = [(col.str.contains(_DATE_RE) & _calendar_date(birth)).alias("_b_ok"),
                                       (birth - pl.lit(_EPOCH)).dt.total_days().alias("_b_days"),
                                       *_digits(_ymd(col), "_b")]
                oks.append(col.is_null() | (pl.col("_b_ok") & (pl.col("_b_days") <= pl.col("_d_days"))))
                self.checked.add(leaf.path)
                sig.append(self._present(col, "s:birth"))
                # its presence and patient.age_years's exclude each other (checked above, in `_oks`)
                self._gated["s:birth"] = ("@age_years", "@age_months", name)
            elif reduce and name == "patient.age_years":
                oks.append(~(col.is_not_null() & pl.col("patient.birth_date").is_not_null()))
                leaf_ok(name, lambda c, lo=leaf.minimum or 0, hi=leaf.maximum or 10**9: (c >= lo) & (c <= hi))
                sig.append(self._present(col, "s:age_given"))
                self._gated["s:age_given"] = ("@age_years", "@age_months", name)
                # completed years and months from the digits of the two dates (both checked valid in `_oks`;
                # derived columns), computed once in helper columns (self._pre) before the signature, by the
                # facts' own column form (convmed.facts.completed_ages_columns)
                by = pl.col("patient.birth_date")
                years, months = completed_ages_columns(_cols("_b"), _cols("_d"), _as_int)
                self._pre = [[pl.when(by.is_not_null()).then(years).otherwise(col.cast(pl.Int32)).alias("_age"),
                              pl.when(by.is_not_null()).then(months).alias("_months")]]
                if a.uses("age_years"):
                    sig.append(self._classes("patient.age_years", pl.col("_age")).alias("s:age_years"))
                    self._class_cols["s:age_years"] = ("patient.age_years", "@age_years")
                if a.uses("age_months"):
                    sig.append(self._classes("patient.age_months", pl.col("_months")).alias("s:age_months"))
                    self._class_cols["s:age_months"] = ("patient.age_months", "@age_months")
            elif reduce and name == "time":
                pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
                leaf_ok(name, lambda c, p=pattern: c.str.contains(p))
                if a.uses("hour"):
                    self._derived[name] = [self._classes("encounter.hour", col.str.slice(0, 2).cast(
                        pl.Int32, strict=False)).alias("_t_hour")]
                    sig.append(pl.col("_t_hour").alias("s:hour"))
                    self._class_cols["s:hour"] = ("encounter.hour", ("@hour", name))
                sig.append(self._present(col, "s:time"))
                if not leaf.constrained:
                    self._gated["s:time"] = ("@hour", name)
            elif _is_id(leaf) and a.only_presence(leaf.pointer):
                if leaf.max_length:
                    leaf_ok(name, lambda c, n=leaf.max_length: c.str.len_chars() <= n)
                sig.append(self._present(col, "s:" + name))
                if leaf.checkable and not leaf.constrained:
                    # the presence of an identifier matters only where a concept reads it (its value is
                    # checked on the column: leaf_ok above)
                    self._gated["s:" + name] = name
            elif leaf.kind == "int" and self._reducible_int(leaf):
                fact = a.pointers[leaf.pointer]
                lo = leaf.minimum if leaf.minimum is not None else -(10**18)
                hi = leaf.maximum if leaf.maximum is not None else 10**18
                leaf_ok(name, lambda c, lo=lo, hi=hi: (c >= lo) & (c <= hi))
                if leaf.constrained or not leaf.checkable:
                    sig.append(self._present(col, "p:" + name))
                sig.append(self._classes(fact, col).alias("s:" + name))
                self._class_cols["s:" + name] = (fact, name if leaf.checkable else None)
            elif leaf.checkable:
                # kept only where the codes' concepts read it: its validity must then not depend on the
                # representative, it is checked on the column (leaf_ok above); its presence too, unless the
                # schema requires it (or forbids it with another field)
                if leaf.constrained:
                    sig.append(self._present(col, "p:" + name))
                mentioned = self._string_classes(leaf)
                sig.append(col.alias("s:" + name))
                self._gated["s:" + name] = name
                if mentioned is not None:
                    # compared only to constants: every value none of the conditions names is alike
                    self._string_cols["s:" + name] = a.pointers[leaf.pointer]
                    self._string_values["s:" + name] = sorted(mentioned)
                elif leaf.enum is not None:
                    self._enums["s:" + name] = list(leaf.enum)
            else:
                sig.append(col.alias("s:" + name))
        sig.append(pl.col("lines").alias("s:lines"))
        self._oks = oks
        return sig

    def _present(self, col: pl.Expr, column: str) -> pl.Expr:
        """A signature column saying whether the leaf is present (coded 0/1: 0 where the leaf is null)."""
        self._presence.add(column)
        return col.is_not_null().alias(column)

    # ------------------------------------------------------------------ relevance and keys
    def _profile_id(self, lines) -> int:
        """The profile (signature.Profile) of a claim's lines: what the concepts of its codes read."""
        codes = [line.get("code") for line in lines] if isinstance(lines, list) else None
        key = tuple(sorted(set(codes))) if codes and None not in codes and self.relevance is not None else None
        pid = self._key_pid.get(key)
        if pid is None:
            if key is None:
                prof = self.relevance.profile_all() if self.relevance is not None else \
                    Relevance(self.spec, self.analysis, self.leaves).profile_all()
            else:
                prof = self.relevance.profile(key)
            pid = self._profile_ids.get(prof)
            if pid is None:
                pid = self._profile_ids[prof] = len(self._profile_ids)
                self._profiles_by_id[pid] = prof
                self._plans.clear()   # their words read the lookup tables (extended for it: `_per_profile`)
            self._key_pid[key] = pid
        return pid

    def _lut(self, kind: str, column: str) -> pl.Series:
        """Per profile (and per global class / string), the code a column takes in the relevant signature:
        0 for absent or not read by the profile's concepts, 1 + the class (string) under the profile's own
        bounds (strings) otherwise; a gate is 1 where the profile reads the column."""
        a = self.analysis
        gate = self._gated.get(column)
        if kind == "gate":
            def codes(p):
                return [1 if gate is None or self._gate_open(p, gate) else 0]
        elif kind == "class":
            fact, gate = self._class_cols[column]
            glob = list(a.breakpoints) if fact == "@date" else a.bounds.get(fact, [])

            def codes(p):
                if gate is not None and not self._gate_open(p, gate):
                    return [0] * (len(glob) + 2)
                local = set(p.breakpoints) if fact == "@date" else set(dict(p.bounds).get(fact, ()))
                values, count = [0], 0  # absent
                for g in range(len(glob) + 1):
                    values.append(count + 1)
                    if g < len(glob) and glob[g] in local:
                        count += 1
                return values
        else:   # "string"
            fact = self._string_cols[column]
            names = self._string_values[column]

            def codes(p):
                if not self._gate_open(p, gate):
                    return [0] * (len(names) + 2)
                named = dict(p.strings).get(fact, frozenset())
                # absent, each name the spec names, a string no condition of the spec names
                return [0] + [2 + i if v in named else 1 for i, v in enumerate(names)] + [1]
        return self._per_profile((kind, column), codes)

    def _per_profile(self, key, codes) -> pl.Series:
        """A lookup table: `codes(profile)` of each profile in id order, concatenated. Remembered and extended
        with the profiles added since (a file of varied claims adds profiles in most chunks: rebuilding every
        table over every profile made each chunk's cost grow with the number of profiles met)."""
        found = self._luts.get(key)
        n = len(self._profiles_by_id)
        if found is not None and found[1] == n:
            return found[0]
        done = found[1] if found is not None else 0
        values = [v for pid in range(done, n) for v in codes(self._profiles_by_id[pid])]
        added = pl.Series(values, dtype=pl.UInt64)
        series = added if found is None else pl.concat([found[0], added]).rechunk()
        self._luts[key] = (series, n)
        return series

    def _keys(self, df: pl.DataFrame, sig: list[pl.Expr], sparse: dict[str, tuple[np.ndarray, pl.Series]] | None = None,
              extra: tuple[pl.Expr, ...] = (), lh: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(h1, h2): two hashes of each row's signature relevant to its codes, for every row of the chunk (a
        row the caller then sends to the scalar path has hashes too, never read: cheaper than filtering every
        column first); and the `extra` columns (the rows' validity) computed in the same pass, so that polars
        evaluates their shared sub-expressions (the parsed dates) once. Small columns (presence,
        booleans, classes, enums, strings compared to constants) are coded per profile through lookup
        tables and packed into 64-bit words; the rest is hashed as is, the lines by their own hashes.
        The signature columns are computed lazily and packed in one pass, never
        materialised.

        `sparse`: leaf -> (positions in the chunk, values there) for the leaves present on few rows of the
        chunk (`_sparse_leaves`). A code that reads only such a leaf is 0 where the leaf is absent (checked,
        per column and profile: `_absent_is_zero`): it is computed on the rows where the leaf is present only
        and added into its word there. The words, hence the hashes, are the same either way."""
        frame = df.lazy()
        # each distinct lines' profile once, from the lines' two hashes (prepare_chunk's, or computed here)
        lh = _lines_hashes(df) if lh is None else lh
        prof = self._lines_profiles(df["lines"], lh)
        plan = self._key_plan(df.schema, sig, sparse)
        dense = self.signature_lazy(frame, plan.dense_sig + list(extra))
        dense = dense.with_columns(lh["l1"], lh["l2"], prof.alias("_prof"))
        names = [e.meta.output_name() for e in extra]
        packed = dense.select(plan.dense_words + plan.raw + [pl.col("l1"), pl.col("l2")] + [pl.col(n) for n in names]) \
            .collect(engine=IN_MEMORY)
        side, packed = packed.select(names), packed.drop(names)
        if plan.sparse:
            # the codes of each sparse leaf's columns, on the rows where it is present, added there (one
            # small query per leaf, all run together)
            queries, rows_of = [], []
            profiles = prof.to_numpy()   # gathered by numpy: a Series.gather is a polars query of its own
            for leaf, columns, words in plan.sparse:
                rows, values = sparse[leaf]
                if not len(rows):
                    continue
                small = pl.DataFrame([values, pl.Series("_prof", profiles[rows], dtype=pl.UInt64)]).lazy()
                queries.append(small.with_columns(columns).select(words))
                rows_of.append(rows)
            added: dict[str, np.ndarray] = {}
            for rows, got in zip(rows_of, pl.collect_all(queries, engine=IN_MEMORY)):
                for name in got.columns:
                    into = added.get(name)
                    if into is None:
                        into = added[name] = packed[name].to_numpy().copy()
                    into[rows] += got[name].to_numpy()
            packed = packed.with_columns([pl.Series(name, into) for name, into in added.items()])
        return packed.select(pl.struct(pl.all()).hash(0x5EED).alias("h1"),
                             pl.struct(pl.all()).hash(0xC0FFEE).alias("h2")), side

    def _lines_profiles(self, lines: pl.Series, lh: pl.DataFrame) -> pl.Series:
        """Each row's profile id, from its lines' two hashes `lh` (l1, l2): the profile of each distinct lines is
        found once (remembered across chunks by its hashes). When the first hash alone tells the chunk's distinct
        lines apart (every group of l1 has one l2), rows are mapped by it, else by both."""
        by_first = lh.with_row_index("_i").group_by("l1").agg(pl.col("_i").first(), pl.col("l2").min().alias("lo"),
                                                                pl.col("l2").max().alias("hi"))
        exact = bool((by_first["lo"] == by_first["hi"]).all())
        firsts = by_first.select("l1", pl.col("lo").alias("l2"), "_i") if exact else \
            lh.with_row_index("_i").group_by("l1", "l2").agg(pl.col("_i").first())
        memo = self._lines_pid
        keys = list(zip(firsts["l1"].to_list(), firsts["l2"].to_list()))
        pids = [memo.get(key) for key in keys]
        missing = [j for j, pid in enumerate(pids) if pid is None]
        if missing:
            if len(memo) + len(missing) > 200_000:
                memo.clear()
            reps = lines.gather(firsts["_i"].gather(missing)).to_list()
            for j, rep in zip(missing, reps):
                pids[j] = memo[keys[j]] = self._profile_id(rep)
        pids = pl.Series("_prof", pids, dtype=pl.UInt64)
        if exact:
            return lh["l1"].replace_strict(firsts["l1"], pids).alias("_prof")
        return lh.join(firsts.select("l1", "l2", pids), on=["l1", "l2"], how="left", maintain_order="left")["_prof"]

    def _key_plan(self, schema, sig: list[pl.Expr], sparse) -> _KeyPlan:
        """The expressions of `_keys` for a chunk's column types and sparse leaves, built once for them (forgotten with
        the lookup tables when a profile is added: `_profile_id`)."""
        key = (tuple(schema.items()), frozenset(sparse or ()))
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        frame = pl.LazyFrame(schema=schema)
        words, raw = self._word_terms(self.signature_lazy(frame, sig).collect_schema())
        leaf_of: dict[str, str] = {}     # signature column computed on the sparse rows -> its leaf
        if sparse:
            by_name = {e.meta.output_name(): e for e in sig}
            for terms, mask in words:
                for column, term in terms:
                    roots = set(by_name[column].meta.root_names())
                    leaf = roots.pop() if len(roots) == 1 else None
                    if leaf in sparse and self._absent_is_zero(by_name[column], term, mask, leaf, schema[leaf]):
                        leaf_of[column] = leaf
        P = pl.col("_prof")

        def word_of(terms, mask):
            word = None
            for _, term in terms:
                word = term if word is None else word + term
            if word is None:
                return pl.lit(0, dtype=pl.UInt64)
            return word & pl.lit(mask).gather(P) if mask is not None else word

        plan = _KeyPlan(
            dense_sig=[e for e in sig if e.meta.output_name() not in leaf_of],
            dense_words=[word_of([t for t in terms if t[0] not in leaf_of], mask).alias(f"w{i}")
                         for i, (terms, mask) in enumerate(words)],
            raw=raw,
            sparse=[(leaf, [e for e in sig if leaf_of.get(e.meta.output_name()) == leaf],
                     [word_of(own, mask).alias(f"w{i}") for i, (terms, mask) in enumerate(words)
                      if (own := [t for t in terms if leaf_of.get(t[0]) == leaf])])
                    for leaf in dict.fromkeys(leaf_of.values())])
        if len(self._plans) >= 64:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def _word_terms(self, schema) -> tuple[list[tuple[list[tuple[str, pl.Expr]], pl.Series | None]], list[pl.Expr]]:
        """The layout of the packed words: for each word, its terms (signature column, code already at its
        place in the word) and, for a word of bit fields, the mask per profile of the fields its concepts read;
        and the columns hashed as they are. The layout depends on the spec only (never on the chunk)."""
        P = pl.col("_prof")
        coded: list[tuple[str, pl.Expr, int]] = []   # (column, code already per profile, number of codes)
        fields: list[tuple[pl.Expr, int, str]] = []  # (code expression, number of codes, column): gated by mask
        raw: list[pl.Expr] = []
        for column, dtype in schema.items():
            if column == "s:lines":
                continue
            col = pl.col(column)
            gate = self._gated.get(column)
            if column in self._class_cols:
                fact, _ = self._class_cols[column]
                size = len(self.analysis.breakpoints if fact == "@date" else self.analysis.bounds.get(fact, [])) + 2
                idx = P * size + (col.cast(pl.Int64) + 1).fill_null(0).cast(pl.UInt64)
                coded.append((column, pl.lit(self._lut("class", column)).gather(idx), size))
            elif column in self._string_cols:
                names = self._string_values[column]
                size = len(names) + 2
                pos = col.replace_strict({v: i + 1 for i, v in enumerate(names)}, default=len(names) + 1,
                                         return_dtype=pl.UInt64)
                idx = P * size + pl.when(col.is_null()).then(pl.lit(0, dtype=pl.UInt64)).otherwise(pos)
                coded.append((column, pl.lit(self._lut("string", column)).gather(idx), size))
            elif column in self._presence:
                fields.append((col.cast(pl.UInt64), 2, column))   # 0 absent, 1 present
            elif dtype == pl.Boolean:
                code = pl.when(col.is_null()).then(0).when(col).then(2).otherwise(1).cast(pl.UInt64)
                fields.append((code, 3, column))
            elif column == "s:weekday":
                fields.append((col.cast(pl.UInt64).fill_null(0), 8, column))   # 1..7
            elif column in self._enums:
                names = self._enums[column]
                code = pl.when(col.is_null()).then(pl.lit(0, dtype=pl.UInt64)).otherwise(
                    col.replace_strict({v: i + 1 for i, v in enumerate(names)}, default=len(names) + 1,
                                       return_dtype=pl.UInt64))
                fields.append((code, len(names) + 2, column))
            elif gate is not None:
                raw.append(pl.when(pl.lit(self._lut("gate", column)).gather(P) == 1).then(col).alias(column))
            else:
                raw.append(col)
        words: list[tuple[list[tuple[str, pl.Expr]], pl.Series | None]] = []
        # codes already per profile: mixed radix, each word below 2**63
        terms: list[tuple[str, pl.Expr]] = []
        mult = 1
        for column, code, size in coded:
            if mult * size >= 2**63:
                words.append((terms, None))
                terms, mult = [], 1
            terms.append((column, code * pl.lit(mult, dtype=pl.UInt64) if mult > 1 else code))
            mult *= size
        if terms:
            words.append((terms, None))
        # gated codes: bit fields, then one mask per word and profile (the fields its concepts read)
        layout: list[list[tuple[pl.Expr, int, str]]] = [[]]
        shift = 0
        for code, size, column in fields:
            width = max(1, (size - 1).bit_length())
            if shift + width > 64:
                layout.append([])
                shift = 0
            layout[-1].append((code, shift, column))
            shift += width
            self._field_width[column] = width
        for group in layout:
            if not group:
                continue
            key = ("mask", tuple((column, at) for _, at, column in group))

            def bits(p, group=group):
                m = 0
                for _, at, column in group:
                    g = self._gated.get(column)
                    if g is None or self._gate_open(p, g):
                        m |= ((1 << self._field_width[column]) - 1) << at
                return [m]
            mask = self._per_profile(key, bits)
            words.append(([(column, code * pl.lit(1 << at, dtype=pl.UInt64) if at else code)
                           for code, at, column in group], mask))
        return words, raw

    def _absent_is_zero(self, expr: pl.Expr, term: pl.Expr, mask, leaf: str, dtype) -> bool:
        """Whether a signature column's code is 0, for every profile, on a row where `leaf` is absent (the
        condition for computing it on the rows where the leaf is present only)."""
        n = len(self._profiles_by_id)
        key = ("absent", expr.meta.output_name())
        found = self._luts.get(key)
        if found is None or found[1] != n:   # decided again over every profile when profiles were added
            probe = pl.DataFrame([pl.Series(leaf, [None] * n, dtype=dtype),
                                  pl.Series("_prof", range(n), dtype=pl.UInt64)])
            code = term & pl.lit(mask).gather(pl.col("_prof")) if mask is not None else term
            got = probe.lazy().with_columns(expr).select(code.alias("c")).collect(engine=IN_MEMORY)["c"]
            found = self._luts[key] = (bool(got.null_count() == 0 and (got == 0).all()), n)
        return found[0]

    @staticmethod
    def _gate_open(profile, gate) -> bool:
        if isinstance(gate, tuple):
            return any(BatchEngine._gate_open(profile, g) for g in gate)
        if gate.startswith("@"):
            return gate[1:] in profile.reducers
        return gate in profile.leaves

    def _string_classes(self, leaf: Leaf) -> set[str] | None:
        """The strings a string field is compared to (equals / in / not_in) when nothing else reads its
        value; None when its value must be kept as is."""
        a = self.analysis
        fact = a.pointers.get(leaf.pointer)
        if leaf.kind != "str" or fact is None or a.unknown_derived or \
                not all_by_equality(a.ops.get(fact, set())):
            return None
        read_by_derived = set().union(*DERIVED_READS.values()) | {
            "/" + r.replace("/*", "") for reads in a.probed.values() for r in reads}
        if leaf.pointer in read_by_derived or any(
                t.get("claim_pointer") == leaf.pointer for n, t in self.pricer.facts_vocabulary.items() if n != fact):
            return None
        mentioned = set(a.strings.get(fact, set()))
        if leaf.pointer == "/doctor/specialty":  # Pricer._line: the value tracks of an act per specialty
            for concept in self.spec.concepts.values():
                if concept.kind == "act":
                    mentioned |= _strings_under(concept.data, "specialties")
        elif leaf.pointer == "/territory":
            # the métropole is named too: an act's general entries are its values (SEMANTIQUE.md § 3.7 b)
            mentioned.add("metropole")
            for concept in self.spec.concepts.values():
                if concept.kind == "act":
                    mentioned |= _strings_under(concept.data, "territories")
        return mentioned

    def signature_lazy(self, frame, sig: list[pl.Expr]) -> pl.LazyFrame:
        """The global signature columns of `frame` (a DataFrame or LazyFrame, after `_signature_exprs`), lazy."""
        lazy = frame.lazy()
        for step in self._pre:
            lazy = lazy.with_columns(step)
        return lazy.select(sig)

    def _reducible_int(self, leaf: Leaf) -> bool:
        a = self.analysis
        fact = a.pointers.get(leaf.pointer)
        if fact is None or fact not in a.bounds:
            return False
        return all_by_order(a.ops.get(fact, set()))

    def _classes(self, fact: str, value: pl.Expr) -> pl.Expr:
        bounds = self.analysis.bounds.get(fact, [])
        if not bounds:
            return pl.when(value.is_null()).then(-1).otherwise(0)
        return pl.when(value.is_null()).then(-1).otherwise(
            pl.lit(pl.Series(bounds, dtype=pl.Int64)).search_sorted(value.cast(pl.Int64), side="right").cast(pl.Int32))

    def with_derived(self, df: pl.DataFrame) -> pl.DataFrame:
        """The chunk with the helper columns the signature reads (`_derived`: what the rules read of the dates and
        the time; `_holiday`), each computed once per distinct value of its column (remembered across chunks) and
        joined back in the chunk's row order (the same expressions on every row cost several times more)."""
        self._signature_exprs()
        holiday = self.analysis.reduce_dates and self.analysis.uses("holiday")
        added: list[pl.Series] = []
        for name, exprs in self._derived.items():
            column = df.select(name)
            table = self._value_tables.get(name)
            joined = None if table is None else column.join(table, on=name, how="left", nulls_equal=True,
                                                            maintain_order="left")
            if joined is None or joined["_known"].null_count():
                # values not met in earlier chunks: computed once, remembered (at most max_values per column:
                # beyond, the table restarts from this chunk's own values)
                new = column.filter(joined["_known"].is_null()).unique() if joined is not None else column.unique()
                if table is not None and table.height + new.height > self.max_values:
                    table, new = None, column.unique()
                new = new.with_columns(*exprs, pl.lit(True).alias("_known"))
                if holiday and name == "date":
                    # a claim without a territory is in metropole (Facts): its holiday is the date's
                    new = new.with_columns(pl.Series("_holiday", [self._holiday(d, None) for d in new["date"]],
                                                     dtype=pl.Boolean))
                table = new if table is None else pl.concat([table, new])
                self._value_tables[name] = table
                joined = column.join(table, on=name, how="left", nulls_equal=True, maintain_order="left")
            added += joined.drop(name, "_known").get_columns()
        if holiday:
            at = df.select(pl.col("territory").is_not_null().arg_true())["territory"]
            if len(at):
                # the claims that name their territory: per distinct (date, territory) among them
                pairs = df.select(pl.col("date", "territory").gather(at))
                distinct = pairs.unique()
                distinct = distinct.with_columns(pl.Series(
                    "_h", [self._holiday(d, t) for d, t in distinct.iter_rows()], dtype=pl.Boolean))
                values = pairs.join(distinct, on=["date", "territory"], how="left", nulls_equal=True,
                                    maintain_order="left")["_h"]
                i = next(k for k, column in enumerate(added) if column.name == "_holiday")
                added[i] = added[i].scatter(at, values)
        return df.with_columns(added) if added else df

    def _holiday(self, day: str | None, territory: str | None) -> bool | None:
        """encounter.public_holiday of a date string and a territory (None: not given), by the scalar definition;
        None for an invalid date (its row is refused by the validity check)."""
        memo = self._holiday_memo
        key = (day, territory)
        if key in memo:
            return memo[key]
        from convmed.facts import Facts

        try:
            claim = {"date": day, "lines": [{"code": "X"}], "doctor": {}}
            if territory is not None:
                claim["territory"] = territory
            value = bool(Facts(claim, 0, self.pricer.facts_vocabulary).get("encounter.public_holiday"))
        except Exception:  # noqa: BLE001 - invalid date: the row is refused by the validity check
            value = None
        if len(memo) < 100_000:
            memo[key] = value
        return value

    # ------------------------------------------------------------------ one chunk
    def prepare_chunk(self, df: pl.DataFrame) -> PreparedChunk:
        """What a chunk's pricing starts with and needs nothing but the chunk and the spec (and the engine's tables of
        dates, which only this step uses): its derived columns, its sparse leaves, its checks decided on values, its
        lines' hashes.
        `price_file` runs it on the reader's thread, while the previous chunk is priced: the pricing leaves a core
        idle while it runs Python (new signatures, the scalar path)."""
        self._signature_exprs()
        df = self.with_derived(df)
        sparse = self._sparse_leaves(df)
        return PreparedChunk(df, sparse, self._split_checks(df, sparse), _lines_hashes(df))

    def price_chunk(self, chunk: pl.DataFrame | PreparedChunk, claim_of) -> ChunkResult:
        """`claim_of(row_dict)` rebuilds the claim dict of one row exactly (JSON Lines: from `raw`). `chunk`: a
        reader's frame, or the same through `prepare_chunk`."""
        sig = self._signature_exprs()
        df, sparse, ok, lh = chunk if isinstance(chunk, PreparedChunk) else self.prepare_chunk(chunk)
        n = df.height
        history_slow = self._history_slow(df)
        rejects: list[Reject] = []
        fast = None   # (the fast rows, the priced lines of their signatures)
        # every row's signature and validity in one pass; the rows found slow are then left out
        # the checks on the columns hold: a row is fast where they do and no history sends it to the scalar path
        valid = (ok.fill_null(False) & ~pl.col("slow")).alias("_columns_ok")
        hashes, side = self._keys(df, sig, sparse.at, (valid,), lh)
        is_slow = ~side["_columns_ok"] | history_slow
        slow = df.filter(is_slow).with_columns(side["_columns_ok"].filter(is_slow))
        keyed = pl.concat([df.select("row", pl.col("id").alias("claim_id"), "date"), hashes],
                          how="horizontal").with_row_index("_pos").filter(~is_slow)
        if keyed.height:
            firsts = keyed.group_by("h1", "h2").agg(pl.col("_pos").first().cast(pl.Int64))
            new = firsts.join(self._known.select("h1", "h2").unique(), on=["h1", "h2"], how="anti")
            if self._invalid:
                new = new.join(self._invalid_frame(), on=["h1", "h2"], how="anti")
            if new.height:
                self._price_new(df, new, claim_of)
            if self._known_count > self.max_cache:
                # memory bounded: forget every signature but this chunk's own (which its rows still need)
                self._known = self._known.join(firsts.select("h1", "h2"), on=["h1", "h2"], how="semi",
                                               maintain_order="left")
                self._known_count = self._known.select("h1", "h2").n_unique()
                self._columnar_keys = self._columnar_keys.join(firsts.select("h1", "h2"), on=["h1", "h2"], how="semi")
            if self._line_known.height > self.max_cache:
                self._line_known = self._line_known.clear()
            if self._columnar_keys.height:
                self.stats["columnar_rows"] += keyed.join(self._columnar_keys, on=["h1", "h2"], how="semi").height
            if self._invalid:
                inv = self._invalid_frame()
                bad = keyed.join(inv, on=["h1", "h2"], how="semi")
                if bad.height:
                    slow = pl.concat([slow, df.join(bad.select("row"), on="row", how="semi")], how="diagonal_relaxed")
                    keyed = keyed.join(inv, on=["h1", "h2"], how="anti")
            fast = (keyed, self._known)   # this chunk's signatures are all in this frame (a later one is new)
        scalar = None
        if slow.height:
            out, rej = self._scalar_rows(slow, claim_of)
            rejects.extend(rej)
            if out.height:
                scalar = out.sort("row", "index")

        def assemble() -> pl.DataFrame:
            parts = []
            if fast is not None:
                # in the order of the rows, each signature's lines in their order: already sorted by (row, index)
                parts.append(fast[0].join(fast[1], on=["h1", "h2"], how="inner", maintain_order="left_right")
                             .select(list(OUT_SCHEMA)))
            if scalar is not None:
                parts.append(scalar)
            if len(parts) == 2:
                return _merge_by_row(*parts)
            return parts[0] if parts else pl.DataFrame(schema=OUT_SCHEMA)

        rejected_rows = {r.row for r in rejects}
        return ChunkResult(assemble, rejects, read=n, priced=n - len(rejected_rows))

    def _history_slow(self, df: pl.DataFrame) -> pl.Series:
        """The rows a non-empty history sends to the scalar path (a boolean per row). The others with a history take the
        fast path: none of their codes counts acts (`Relevance.reads_history`: the pricer reads the history for the
        limits only) and every item is valid, decided on the columns (`signature.array_items`: required properties
        present, each property present a string of the schema, valid on its own, a real date for a date); their history
        is not in the signature (the representative is priced with its own, which changes nothing) and their other
        fields are checked as every row's are. Every row with a history is slow when there is no relevance or the items
        are not decided property by property."""
        if "history" not in df.columns:
            return pl.Series("history_slow", np.zeros(df.height, dtype=bool))
        has_history = pl.col("history").list.len().fill_null(0) > 0
        items = self._history_items
        dtype = df.schema["history"]
        if items is None or self.relevance is None or not (
                isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct)):
            return df.select(has_history.alias("history_slow")).to_series()
        at = df.select(has_history.arg_true().cast(pl.UInt32))["history"]
        slow = np.zeros(df.height, dtype=bool)
        if len(at):
            leaves = {leaf.path[0]: leaf for leaf in items.leaves}
            terms = []
            for name, have in ((f.name, f.dtype) for f in dtype.inner.fields):
                value = pl.element().struct.field(name)
                leaf = leaves.get(name)
                if leaf is None or have not in (pl.String, pl.Null):
                    terms.append(value.is_null())   # present: the validator decides (scalar path)
                elif have == pl.String:
                    check = leaf_check(leaf, value)
                    if name in items.dates:
                        check = check & _calendar_date(value.str.to_date("%Y-%m-%d", strict=False))
                    terms.append(value.is_null() | check)
            fields = {f.name for f in dtype.inner.fields}
            terms += [pl.element().struct.field(name).is_not_null() if name in fields else pl.lit(False)
                      for name in sorted(items.required)]
            size = pl.col("history").list.len()
            valid = (size >= items.min_items) & (size <= (items.max_items if items.max_items is not None else size)) \
                & pl.col("history").list.eval(_conjunction(terms)).list.all()
            rows = df.select(pl.col("history", "lines").gather(at)).select(
                valid.fill_null(False).alias("ok"), pl.col("lines").list.eval(pl.element().struct.field("code")))
            reads = self.relevance.reads_history
            slow[at.to_numpy()] = [not ok or codes is None or None in codes or reads(codes)
                                   for ok, codes in rows.iter_rows()]
        return pl.Series("history_slow", slow)

    def _sparse_leaves(self, df: pl.DataFrame) -> _Sparse:
        """The leaves present on at most `sparse_below` of the chunk's rows (some of them at least), and where."""
        if self.sparse_below <= 0 or not df.height:
            return _Sparse({})
        limit = self.sparse_below * df.height
        nulls = df.null_count().row(0, named=True)
        leaves = [leaf.name for leaf in self.leaves
                  if leaf.name in nulls and 0 < df.height - nulls[leaf.name] <= limit]
        if not leaves:
            return _Sparse({})
        # one query: each leaf's positions and its values there (its non-null values, in row order), as lists of
        # one item, whose item is taken without a round trip through Python objects
        found = df.select([pl.col(leaf).is_not_null().arg_true().cast(pl.UInt32).implode().alias(f"@{leaf}")
                           for leaf in leaves] + [pl.col(leaf).drop_nulls().implode() for leaf in leaves])
        return _Sparse({leaf: (found[f"@{leaf}"][0].to_numpy(), found[leaf][0].alias(leaf)) for leaf in leaves})

    def _split_checks(self, df: pl.DataFrame, sparse: _Sparse) -> pl.Expr:
        """The validity conditions (`_signature_exprs`) to evaluate on every row. Those of a leaf's values are first
        checked on its values alone (one aggregate per leaf, together): where they all hold, they hold on every row
        and are left out. Leaves checked so: the sparse ones (on their few values) and the strings that are not
        identifiers (on their distinct values: a specialty, a sector, a time... take a few dozen to a few hundred
        values in a chunk, and a pattern or an enum costs more on every row than finding them)."""
        leaves = [leaf for leaf in self._leaf_checks if leaf in sparse.at or leaf in self._by_value]
        if not leaves:
            return _conjunction(self._oks)

        def values(leaf):
            col = pl.col(leaf).drop_nulls()
            return col if leaf in sparse.at else col.unique()

        held = df.select(_conjunction([check(values(leaf)) for _, check in self._leaf_checks[leaf]])
                         .fill_null(False).all().alias(leaf) for leaf in leaves).row(0, named=True)
        skip = {i for leaf in leaves if held[leaf] for i, _ in self._leaf_checks[leaf]}
        return _conjunction([term for i, term in enumerate(self._oks) if i not in skip])

    def _invalid_frame(self) -> pl.DataFrame:
        return pl.DataFrame(list(self._invalid), schema={"h1": pl.UInt64, "h2": pl.UInt64}, orient="row")

    def _price_new(self, df: pl.DataFrame, new: pl.DataFrame, claim_of) -> None:
        """The lines of each new signature: decided on the columns by the columnar backend where it expresses
        the signature's representative (`_decide_new`), else priced by the scalar pricer on it."""
        self.stats["signatures"] += new.height
        if self.columnar is not None:
            new = self._decide_new(df, new, claim_of)
            if not new.height:
                return
        self.stats["scalar_signatures"] += new.height
        reps = df[new["_pos"].to_list()]
        rows = []
        for (h1, h2), rec in zip(new.select("h1", "h2").iter_rows(), records(reps)):
            checkpoint()   # a Ctrl-C recorded during the chunk's polars queries (convmed.interrupts)
            try:
                claim = claim_of(rec)
            except BadLine:
                claim = None  # the rows of this signature are refused one by one by the scalar path
            if claim is None or not self.validator.ok(claim, self.checked):
                self._invalid.add((h1, h2))  # every row of this signature is checked one by one
                continue
            lines, total, complete = self.price_one(claim)
            for index, code, status, amount, reason in lines:
                rows.append((h1, h2, index, code, status, amount, reason, total, complete))
        if rows:
            frame = pl.DataFrame(rows, schema=self._known.schema, orient="row")
            self._known_count += new.height
            self._known = pl.concat([self._known, frame])

    # ------------------------------------------------------------------ the columnar backend
    def _decide_new(self, df: pl.DataFrame, new: pl.DataFrame, claim_of) -> pl.DataFrame:
        """The new signatures whose representative the columnar backend decides (convmed.batch.columnar: lines
        that do not read one another, every code expressed, no history) and whose validity the columns decide
        (`_valid_on_columns`): their lines' decision keys computed on the representatives together, each new key
        priced once by the scalar pricer (`_price_lines`), each signature's lines and total assembled on the
        columns and remembered as any signature's. Returns the other new signatures."""
        reps = df[new["_pos"].to_list()]
        mask = self.columnar.eligible(reps)
        if mask.any():
            mask = mask & self._valid_on_columns(reps, mask, claim_of)
        if not mask.any():
            return new
        mine, sigs = reps.filter(mask), new.filter(mask).select(pl.col("h1").alias("s1"), pl.col("h2").alias("s2"))
        lines = self._resolved_keys(mine, self.columnar.line_keys(mine), claim_of)
        decided = pl.Series("decided", [True] * mine.height)
        if self._line_invalid:
            # a key whose line is refused as input or has an amount of more than six decimals: its signatures
            # are priced one by one
            bad = lines.join(_pairs(self._line_invalid), on=["h1", "h2"], how="semi")["_pos"].unique()
            if len(bad):
                decided = decided.scatter(bad.cast(pl.Int64), False)
                lines = lines.filter(~pl.col("_pos").is_in(bad.implode()))
        priced = lines.join(self._line_known, on=["h1", "h2"], how="left", maintain_order="left")
        is_priced = pl.col("status") == "priced"
        totals = priced.group_by("_pos").agg(
            pl.col("_micros").filter(is_priced).sum().alias("_sum"),
            pl.col("_places").filter(is_priced).max().fill_null(0).alias("_p"),
            (pl.col("status") != "unknown").all().alias("complete"))
        texts = totals.select("_sum", "_p").unique()
        texts = texts.with_columns(pl.Series("total", [_total_text(t, q) for t, q in texts.iter_rows()], dtype=pl.String))
        totals = totals.join(texts, on=["_sum", "_p"], how="left").select("_pos", "total", "complete")
        frame = (priced.join(sigs.with_row_index("_pos"), on="_pos", how="left", maintain_order="left")
                 .join(totals, on="_pos", how="left", maintain_order="left")
                 .select(pl.col("s1").alias("h1"), pl.col("s2").alias("h2"), "index", "code", "status", "amount",
                         "reason", "total", "complete"))
        done = sigs.filter(decided).select(pl.col("s1").alias("h1"), pl.col("s2").alias("h2"))
        self._known = pl.concat([self._known, frame])
        self._known_count += done.height
        self._columnar_keys = pl.concat([self._columnar_keys, done])
        self.stats["columnar_signatures"] += done.height
        return new.filter(~mask).vstack(new.filter(mask).filter(~decided))

    def _valid_on_columns(self, reps: pl.DataFrame, mask: pl.Series, claim_of) -> pl.Series:
        """Whether each representative (eligible: `mask`) is valid, decided without validating it: its columns'
        checks hold (a fast row's), so it is valid iff its presence of the leaves the schema constrains together
        is a valid one (one claim validated per such presence, remembered) and each of its lines is a valid line
        (each distinct line validated once, remembered)."""
        pattern = pl.concat_str([pl.col(c).is_not_null().cast(pl.Int8).cast(pl.String)
                                 for c in self.columnar.constrained if c in reps.columns] or [pl.lit("")])
        items = reps.select(pl.col("lines").list.eval(pl.element().hash(0x17)).alias("_items"), pattern.alias("_pattern"))
        memo = self._valid_lines
        each = reps.select(pl.col("lines").alias("_line"), items["_items"]).explode("_line", "_items").unique("_items")
        if memo:
            each = each.filter(~pl.col("_items").is_in(list(memo)))
        for h, line in zip(each["_items"], each["_line"].to_list()):
            memo[h] = isinstance(line, dict) and self.validator._item("lines").is_valid(compact(line))
        bad_items = [h for h, ok in memo.items() if not ok]
        lines_ok = ~items["_items"].list.eval(pl.element().is_in(bad_items)).list.any() if bad_items else \
            pl.Series([True] * reps.height)
        ok = mask & lines_ok
        patterns = self._valid_patterns
        for p, at in items.with_row_index("_at").filter(ok).group_by("_pattern").agg(pl.col("_at").first()).iter_rows():
            if p not in patterns:
                rec = next(iter(records(reps[[at]])))
                try:
                    claim = claim_of(rec)
                except BadLine:
                    claim = None
                patterns[p] = claim is not None and self.validator.ok(claim, self.checked)
        good = [p for p, v in patterns.items() if v]
        return ok & items["_pattern"].is_in(good)

    def _resolved_keys(self, df: pl.DataFrame, lines: pl.DataFrame, claim_of) -> pl.DataFrame:
        """The lines' decision keys (Columnar.line_keys), those of the lines read line by line completed level by
        level (SEMANTIQUE.md § 2.7): a line that reads no outcome keyed by its own key and its roles; one that does
        by these and the outcomes (status, billable, amount, unit value) of the lines it reads, priced at a lower
        level. Each level's new keys are priced before the next one's keys are made."""
        by_line = pl.col("_level") >= 0
        if not lines.select(by_line.any()).item():
            self._price_new_keys(df, lines, lines, claim_of)
            return lines
        lines = lines.with_row_index("_row").with_columns(
            pl.when(pl.col("_level") == 0).then(pl.struct("h1", "_roles").hash(_R1)).otherwise("h1").alias("h1"),
            pl.when(pl.col("_level") == 0).then(pl.struct("h2", "_roles").hash(_R2)).otherwise("h2").alias("h2"))
        self._price_new_keys(df, lines.filter(pl.col("_level") <= 0), lines, claim_of)
        for level in range(1, lines["_level"].max() + 1):
            at = lines.filter(pl.col("_level") == level)
            reads = (at.select("_row", "_pos", pl.col("_reads").alias("index"),
                               pl.int_ranges(0, pl.col("_reads").list.len()).alias("_n")).explode("index", "_n")
                     .join(lines.select("_pos", "index", "h1", "h2"), on=["_pos", "index"], how="left")
                     .join(self._line_known.select("h1", "h2", "status", "billable", "amount", "unit_value"),
                           on=["h1", "h2"], how="left")
                     .sort("_row", "_n")
                     .group_by("_row", maintain_order=True)
                     .agg(pl.struct("status", "billable", "amount", "unit_value").alias("_read")))
            at = at.join(reads, on="_row", how="left").select(
                "_row", pl.struct("h1", "_roles", "_read").hash(_R1).alias("_k1"),
                pl.struct("h2", "_roles", "_read").hash(_R2).alias("_k2"))
            lines = lines.join(at, on="_row", how="left", maintain_order="left").with_columns(
                pl.coalesce("_k1", "h1").alias("h1"), pl.coalesce("_k2", "h2").alias("h2")).drop("_k1", "_k2")
            self._price_new_keys(df, lines.filter(pl.col("_level") == level), lines, claim_of)
        return lines.drop("_row")

    def _price_new_keys(self, df: pl.DataFrame, rows: pl.DataFrame, lines: pl.DataFrame, claim_of) -> None:
        """The keys of `rows` (lines of `df`) not priced yet, priced (`_price_lines`)."""
        first = rows.group_by("h1", "h2").agg(pl.col("_pos").first().cast(pl.Int64), pl.col("index").first(),
                                              pl.col("_size").first(), pl.col("_level").first())
        todo = first.join(self._line_known.select("h1", "h2"), on=["h1", "h2"], how="anti")
        if self._line_invalid:
            todo = todo.join(_pairs(self._line_invalid), on=["h1", "h2"], how="anti")
        if todo.height:
            self._price_lines(df, todo, lines, claim_of)

    def _price_lines(self, df: pl.DataFrame, new: pl.DataFrame, lines: pl.DataFrame, claim_of) -> None:
        """Each new line decision key priced on one of its lines: the claim of that row reduced to the line's
        component (SEMANTIQUE.md § 2.7; a line alone: that line alone). A component keyed whole gives the keys of
        all its lines (`lines`: the keys of `df`'s lines) from the same pricing."""
        reps = df[new["_pos"].to_list()]
        whole = new.filter((pl.col("_size") > 1) & (pl.col("_level") < 0))["_pos"].unique()
        key_of = {(p, i): (a, b) for p, i, a, b in
                  lines.filter(pl.col("_pos").is_in(whole.implode())).select("_pos", "index", "h1", "h2").iter_rows()}
        rows, seen = [], set()
        for (h1, h2, pos, index, size, level), rec in zip(
                new.select("h1", "h2", "_pos", "index", "_size", "_level").iter_rows(), records(reps)):
            checkpoint()
            if (h1, h2) in seen:
                continue
            try:
                claim = claim_of(rec)
            except BadLine:
                claim = None
            if claim is None:
                self._line_invalid.add((h1, h2))
                continue
            component = (index,) if size == 1 else next(
                c for c in components(self.spec, claim["lines"]) if index in c)
            targets = [(k, key_of[(pos, i)]) for k, i in enumerate(component)] if size > 1 and level < 0 else \
                [(component.index(index), (h1, h2))]
            # valid: the representative is (`_valid_on_columns`), and the schema constrains the lines one by one and
            # by their number only (tests/test_components.py checks the reduction of valid claims is valid)
            claim = {**claim, "lines": sub_lines(claim["lines"], component)}
            outcomes = self.pricer.outcomes(claim)[1]
            found = [(key, outcomes[k]) for k, key in targets]
            seen.update(key for key, _ in found)
            amounts = [_millionths(fmt(o.amount)) if o.status == "priced" else (0, 0) for _, o in found]
            if any(micros is None for micros, _ in amounts):
                # more than six decimals: the claims of these keys take the scalar path
                self._line_invalid.update(key for key, _ in found)
                continue
            for ((k1, k2), o), (micros, places) in zip(found, amounts):
                priced = o.status == "priced"
                rows.append((k1, k2, o.status, fmt(o.amount) if priced else None, None if priced else o.reason,
                             micros, places, _BILLABLE[o.billable], fmt(o.unit_value) if priced else None))
        self.stats["decision_keys"] += new.height
        if rows:
            frame = pl.DataFrame(rows, schema=_LINE_KNOWN, orient="row").unique(["h1", "h2"], maintain_order=True)
            frame = frame.join(self._line_known.select("h1", "h2"), on=["h1", "h2"], how="anti")
            self._line_known = pl.concat([self._line_known, frame])

    def _scalar_rows(self, slow: pl.DataFrame, claim_of) -> tuple[pl.DataFrame, list[Reject]]:
        rows, rejects = [], []
        for rec in records(slow):
            checkpoint()
            self.stats["scalar_rows"] += 1
            try:
                claim = claim_of(rec)
            except BadLine as bad:
                rejects.append(Reject(rec["row"], bad.message, bad.pointer, rec.get("raw")))
                continue
            if claim is None:
                rejects.append(Reject(rec["row"], "la ligne n'est pas un objet JSON", "", rec.get("raw")))
                continue
            # a row whose columns passed their checks (slow for its history) is validated as a fast row is
            problems = [] if self.validator.ok(claim, self.checked if rec.get("_columns_ok") else None) \
                else validate_claim(claim)
            if problems:
                pointer, message = problems[0]
                more = f" (et {len(problems) - 1} autre(s) problème(s))" if len(problems) > 1 else ""
                rejects.append(Reject(rec["row"], message + more, pointer, rec.get("raw")))
                continue
            lines, total, complete = self.price_one(claim)
            for index, code, status, amount, reason in lines:
                rows.append((rec["row"], claim.get("id"), claim["date"], index, code, status, amount, reason,
                             total, complete))
        return pl.DataFrame(rows, schema=OUT_SCHEMA, orient="row"), rejects

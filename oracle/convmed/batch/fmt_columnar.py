"""Columnar FMT (forfait médecin traitant, formula kind `fmt_2024`) of a patientèle: polars, by chunks.

The reference engine (`convmed.forfaits.schemes.fmt.fmt_2024`) reads the patientèle record by record
and keeps only counts: patients per socle cell, patients whose cell is unknown, C2S patients seen
(or of unknown "seen"), and per prevention indicator the patients eligible, validated, validated but
"not seen", and of unknown eligibility/validation. Everything after these counts (parameters in force,
components, majorations of the doctor, payments, trace) depends on the doctor only. This module
computes the same counts (`fmt.FmtCounts`) on polars frames and hands them to the reference engine's own
`fmt.fmt_from_counts` inside the reference `engine.compute`, so the output (components, details, trace,
payments) is the engine's.

What is compiled to polars is the rule language of spec/ itself: each leaf `{fact, <operator>}` of a cell or
indicator criterion is its operator's own columnar form (`convmed.operators`, the definition the reference
`convmed.conditions` evaluates; three-valued: polars' Kleene `&`, `|`, `~` on nullable booleans give exactly
the `all` / `any` / `not` of the reference, null = unknown), on the column of its record fact (`_FACT_COLUMNS`;
ALDs and flags as bit masks, tested by the set operators' `bits` form; `patient.events` as one count column per
filter). Socle cells are read with the reference's `CellTable`, indicators with its `indicators()`; windows with
`facts.window_start`; the "seen in two years" rule with `facts.shift_months`. No amount, age bound or window
is written here.

Exactness first: a chunk that the columnar path cannot read exactly (JSON that polars would read
more leniently than Python's json: explicit nulls, duplicate or unknown keys, numbers that are not
plain integers, escaped quotes...; a value that fails the columnar checks of
schemas/patient.schema.json; a Parquet column of an unexpected type) is recounted record by record
with the reference reader rules (`patientele.check_record`, same located errors). A valid record
without a birth date (age in years only: `patient.age_months` is then a range of twelve values, decided by
the reference) is counted by the reference per-record code too.

Speed (issue 8). Each criterion is evaluated once per patient as a state (false, true, unknown); the
patients are then counted per combination of states (socle cells; each indicator with "seen"; C2S with
"seen") and each combination that occurs is decided once by the reference's own rules
(`Indicator.check`, the true-cell rule of `CellTable.classify`, the loop body of `FmtCounts.add`).
Dates are checked and read from their ten bytes with numpy (`iso_dates`: the reference's regular
expression and calendar), ALD and flags criteria read per-patient bit masks, `events` criteria read the
chunk's events sorted once by type. Chunks are read, checked and counted on WORKERS threads (polars and
numpy release the GIL) and merged in file order by the caller (`in_order`): fallbacks and their located
errors come in file order, as in a sequential reading. The first Parquet chunks are read while the
command line loads the request and the spec (`ParquetChunks.start`).
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from datetime import date

import polars as pl

from convmed.errors import ConvmedError, Located
from convmed.facts import completed_ages_columns, month_length_columns
from convmed.forfaits.patientele import MAX_EVENT_COUNT
from convmed.interrupts import checkpoint


class NotColumnar(Exception):
    """A criterion or a shape the columnar path does not reproduce: use the per-record path."""


# --------------------------------------------------------------------------------------- counts
class Plan:
    """Socle cells and indicators of the scheme in force, compiled once per run."""

    def __init__(self, ctx):
        from convmed.forfaits.schemes import fmt as ref_fmt
        from convmed.forfaits.tables import CellTable

        self.ctx = ctx
        self.table = CellTable(ctx, "forfaits.fmt.socle")
        self.inds = ref_fmt.indicators(ctx)
        self.ref: date = ctx.reference_date
        self.counts = ref_fmt.FmtCounts(self.table, self.inds)
        self.atoms: dict[str, tuple] = {}    # patient.events leaves (where, operator, operand) by column name
        self.flag_bits: dict[str, int] = {}  # flag named by a criterion -> its bit in _flags
        self.per_record = 0                   # records counted by the reference per-record code
        try:
            self.cell_exprs = [(c.id, self._compile(c.data["criterion"])) for c in self.table.cells]
            self.ind_exprs = []
            for c in self._indicator_concepts():
                d = c.data
                self.ind_exprs.append((
                    c.id.rsplit(".", 1)[1],
                    self._compile(d["eligibility"]["criterion"]),
                    self._compile(d["exclusions"]["criterion"]) if "exclusions" in d else None,
                    self._compile(d["validation"]["criterion"])))
            self.columnar = ([k for k, *_ in self.ind_exprs] == [i.key for i in self.inds]
                             and len(self.cell_exprs) < 39)      # the cells' states as one int64 code
        except NotColumnar:
            self.columnar = False

    def _indicator_concepts(self):
        prefix = "forfaits.fmt.prevention.indicators"
        found = [c for cid, c in self.ctx.spec.concepts.items()
                 if cid.startswith(prefix + ".") and c.kind == "indicator"]
        return sorted(found, key=lambda c: c.data["number"])

    # ------------------------------------------------------------------ criterion -> polars
    def _compile(self, c: dict) -> pl.Expr:
        """A condition of the rule language as a polars expression over the chunk's fact columns (null = unknown):
        each leaf is its operator's own columnar form (convmed.operators), on the column of its fact."""
        from convmed.operators import of

        if not isinstance(c, dict):
            raise NotColumnar(f"criterion {c!r}")
        if "all" in c or "any" in c:
            parts = [self._compile(s) for s in c.get("all") or c.get("any")]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if "all" in c else (out | p)
            return out
        if "not" in c:
            return ~self._compile(c["not"])
        name = c.get("fact")
        try:
            op, operand = of(c)
        except ValueError as exc:
            raise NotColumnar(str(exc)) from None
        if name in _SET_COLUMNS:     # sets as bit masks: _ald (bit a for ALD a, 1-32), _flags (one bit per flag)
            if op.bits is None:
                raise NotColumnar(f"operator {op.name} on {name}")
            values = operand if isinstance(operand, list) else [operand]
            if name == "patient.ald":
                mask = sum(1 << int(a) for a in set(values) if isinstance(a, int) and 1 <= a <= 32)
            else:
                mask = 0
                for flag in values:
                    if flag not in self.flag_bits:
                        if len(self.flag_bits) == 64:
                            raise NotColumnar("more than 64 flags")
                        self.flag_bits[flag] = len(self.flag_bits)
                    mask |= 1 << self.flag_bits[flag]
            return op.bits(pl.col(_SET_COLUMNS[name]), pl.lit(mask, pl.UInt64))
        if name == "patient.events":   # one column per distinct (filter, test) (`_atoms`)
            atom = (c["where"], op, operand)
            for key, known in self.atoms.items():
                if known == atom:
                    break
            else:
                key = f"_atom{len(self.atoms)}"
                self.atoms[key] = atom
            return pl.col(key)
        column = _FACT_COLUMNS.get(name)
        if column is None:
            raise NotColumnar(f"fact {name}")
        return op.columnar(column(), operand)

    # ------------------------------------------------------------------ per-record (reference)
    def add_record(self, rec: dict) -> None:
        """One record counted by the reference code (`FmtCounts.add`, the loop body of `fmt_2024`)."""
        self.per_record += 1
        self.counts.add(rec, self.table, self.inds, self.ref)

    # ------------------------------------------------------------------ columnar
    def add_frame(self, chunk: "Chunk") -> None:
        """Count a checked chunk (see `normalise`)."""
        self.merge(self.count_frame(chunk))

    def merge(self, part: "Partial") -> None:
        """Add the counts of a chunk (`count_frame`); its rows without a birth date go through `add_record`."""
        if part.no_birth is not None:
            for rec in records_of(part.no_birth):
                self.add_record(rec)
        if not part.records:
            return
        n = self.counts
        n.records += part.records
        n.c2s_unknown += part.totals["c2s_unknown"]
        n.c2s_seen += part.totals["c2s_seen"]
        n.unknown_socle += part.cells[-1]
        for (cid, _expr), cnt in zip(self.cell_exprs, part.cells):
            n.cells[cid] += cnt
        for key, *_ in self.ind_exprs:
            st = n.prev[key]
            for f in ("eligible", "validated", "validated_not_seen", "unknown"):
                st[f] += part.totals[f"{key}|{f}"]

    def count_frame(self, chunk: "Chunk") -> "Partial":
        """The counts of a checked chunk, without touching `self.counts` (chunks may be counted on several
        threads; `merge` adds them in file order). Rows without a birth date are left to `merge` (per record)
        and masked out of the columnar sums."""
        import numpy as np

        part = Partial()
        if chunk.n == 0:
            return part
        keep = chunk.has_birth
        n_keep = int(keep.sum())
        if n_keep < chunk.n:
            part.no_birth = chunk.df.filter(pl.Series(~keep))
            if n_keep == 0:
                return part
        from convmed.facts import shift_months

        ref = self.ref
        epoch = date(1970, 1, 1)
        two_years = (shift_months(ref, years=2) - epoch).days
        ref_days = (ref - epoch).days
        by, bm, bd = chunk.birth
        ay, am = completed_ages_columns((by, bm, bd), (ref.year, ref.month, ref.day), _np_int)
        df = chunk.df
        seen_col = df["seen_last_two_years"]
        last = pl.Series("_lastd", chunk.last_days)
        frame = pl.DataFrame([
            pl.Series("_keep", keep), pl.Series("_ay", ay), pl.Series("_am", am),
            pl.Series("_ald", _bits(df["ald"], None)), pl.Series("_flags", _bits(df["flags"], self.flag_bits)),
            df["sex"], df["c2s"], seen_col, df["last_seen_date"], last, *self._atoms(chunk)])
        frame = frame.with_columns(
            _seen=pl.when(pl.col("seen_last_two_years").is_not_null()).then(pl.col("seen_last_two_years"))
            .when(pl.col("last_seen_date").is_not_null())
            .then((pl.col("_lastd") >= two_years) & (pl.col("_lastd") <= ref_days))
            .otherwise(pl.lit(None, pl.Boolean)))
        # every criterion as a state per patient (0 false, 1 true, 2 unknown), patients with a birth date only
        state = lambda e: e.cast(pl.Int8).fill_null(2)  # noqa: E731
        cols = [state(expr) for _cid, expr in self.cell_exprs]
        for _key, e, x, v in self.ind_exprs:
            cols += [state(e), state(x) if x is not None else pl.lit(0, pl.Int8), state(v)]
        cols += [state(pl.col("_seen")), state(pl.col("c2s").fill_null(False))]
        st = (frame if n_keep == chunk.n else frame.filter(pl.col("_keep"))).select(
            [c.alias(str(i)) for i, c in enumerate(cols)])
        st = [st.to_series(i).to_numpy() for i in range(st.width)]
        # patients counted by combination of states; each combination decided once by the reference's rules
        k = len(self.cell_exprs)
        seen = st[-2].astype(np.int16)
        part.cells = [0] * (k + 1)
        code = np.zeros(len(seen), dtype=np.int16 if 3 ** k < 1 << 15 else np.int64)
        for i in range(k):
            code = code * 3 + st[i]
        if 3 ** k <= 1 << 16:
            counts = np.bincount(code, minlength=1)
            found = zip(np.flatnonzero(counts), counts[counts > 0])
        else:
            found = zip(*np.unique(code, return_counts=True))
        for c, cnt in found:
            part.cells[_first_true(_decode(int(c), k), k)] += int(cnt)
        c2s = np.bincount(st[-1] * 3 + seen, minlength=6)
        part.totals = {"c2s_unknown": int(c2s[3 + 2]), "c2s_seen": int(c2s[3 + 1])}
        for j, (key, _e, x, _v) in enumerate(self.ind_exprs):
            col = k + 3 * j
            code = ((st[col].astype(np.int16) * 3 + st[col + 1]) * 3 + st[col + 2]) * 3 + seen
            counts = np.bincount(code, minlength=1)
            tot = {"eligible": 0, "validated": 0, "validated_not_seen": 0, "unknown": 0}
            for c in np.flatnonzero(counts):
                e, xs, v, sn = _decode(int(c), 4)
                _indicator_outcome(tot, e, xs if x is not None else _NO_EXCLUSION, v, sn, int(counts[c]))
            for f, cnt in tot.items():
                part.totals[f"{key}|{f}"] = cnt
        part.records = n_keep
        return part

    def _atoms(self, chunk: "Chunk") -> list[pl.Series]:
        """One boolean column per distinct `patient.events` leaf: its operator's test (numpy for the comparisons,
        else its polars form) on the patient's matching events, counts summed, as the reference
        `PatientFacts.events` counts them for a patient with a birth date (the chunk's rows without one are
        counted per record). The chunk's events (numpy arrays) are sorted once by type; each filter reads only
        the events of its type and sums them per patient."""
        if not self.atoms:
            return []
        import numpy as np

        from convmed.forfaits.facts import window_start
        from convmed.operators import of

        epoch = date(1970, 1, 1)
        n_rows = chunk.n
        ev = chunk.ev
        types = sorted({where["type"] for where, _op, _operand in self.atoms.values()})
        code = {t: i for i, t in enumerate(types)}
        lut = np.array([code.get(t, -1) for t in ev.types] + [-1], dtype=np.int16)
        t_all = lut[ev.tcode]
        # events of the filters' types, of patients with a birth date, sorted by type (stable: row order kept)
        typed = np.flatnonzero((t_all >= 0) & chunk.has_birth[ev.rows])
        t_typed = t_all[typed].astype(np.uint8) if len(types) < 255 else t_all[typed]
        typed = typed[np.argsort(t_typed, kind="stable")]
        bounds = np.searchsorted(t_all[typed], np.arange(len(types) + 1))
        rows_s, days_s, count_s = ev.rows[typed], ev.days[typed], ev.count[typed]
        ref_days = (self.ref - epoch).days
        by, bm, bd = chunk.birth
        per_type: dict = {}      # type -> (ages at the events, ATC classes): computed once per type

        def ages_of(k, a, b):
            key = ("ages", k)
            if key not in per_type:
                r = rows_s[a:b]
                ey, em, ed = (x[typed[a:b]] for x in ev.ymd)
                per_type[key] = completed_ages_columns((by[r], bm[r], bd[r]), (ey, em, ed), _np_int)
            return per_type[key]

        def atc_of(k, a, b):
            key = ("atc", k)
            if key not in per_type:
                per_type[key] = ev.atc.gather(pl.Series(typed[a:b]))
            return per_type[key]

        out = []
        for name, (where, test_op, test_operand) in self.atoms.items():
            k = code[where["type"]]
            a, b = int(bounds[k]), int(bounds[k + 1])     # every event of the type (any date)
            dd = days_s[a:b]
            m = dd <= ref_days
            lo = window_start(where.get("window"), self.ref)
            if lo is not None:
                m &= dd >= (lo - epoch).days
            if where.get("atc_prefix") is not None:
                m &= atc_of(k, a, b).str.starts_with(where["atc_prefix"]).fill_null(False).to_numpy()
            for unit, index in (("age_years", 0), ("age_months", 1)):
                if where.get(unit):
                    op, operand = of(where[unit])      # an ordered operator (schema): elementwise
                    m &= op.test(ages_of(k, a, b)[index], operand)
            hit = rows_s[a:b][m]
            if ("ones", k) not in per_type:
                per_type[("ones", k)] = bool((count_s[a:b] == 1).all())
            if per_type[("ones", k)]:
                counts = np.bincount(hit, minlength=n_rows)
            else:   # exact int64 sums (counts <= MAX_EVENT_COUNT): no float weights
                counts = np.zeros(n_rows, dtype=np.int64)
                np.add.at(counts, hit, count_s[a:b][m].astype(np.int64))
            if test_op.elementwise:      # the comparisons: numpy, on the counts
                out.append(pl.Series(name, test_op.test(counts, test_operand), dtype=pl.Boolean))
            else:                        # equals, in, not_in, present: the operator's polars form
                col = pl.Series(name, counts, dtype=pl.Int64)
                out.append(pl.select(test_op.columnar(pl.lit(col), test_operand).alias(name)).to_series())
        return out


_FACT_COLUMNS = {   # the record facts (spec/vocabulary/facts.yaml) as columns of a counted chunk (`count_frame`)
    "patient.age_years": lambda: pl.col("_ay"),
    "patient.age_months": lambda: pl.col("_am"),
    "patient.sex": lambda: pl.col("sex"),
    "patient.c2s": lambda: pl.col("c2s").fill_null(False),
    "patient.has_ald": lambda: pl.col("_ald") != 0,
    "patient.seen_last_two_years": lambda: pl.col("_seen"),
}
_SET_COLUMNS = {"patient.ald": "_ald", "patient.flags": "_flags"}


def _bits(lists: pl.Series, bits: dict | None):
    """One uint64 per row: the bit of each value of its list (ALD numbers 1-32 are their own bit; strings:
    their bit in `bits`, the others ignored). A null list is 0."""
    import numpy as np

    n = len(lists)
    out = np.zeros(n, dtype=np.uint64)
    lens = lists.list.len().fill_null(0).to_numpy()
    if not lens.any() or (bits is not None and not bits):
        return out
    values = lists.explode(keep_nulls=False, empty_as_null=False)
    rows = np.repeat(np.arange(n, dtype=np.int64), lens)
    if bits is None:
        b = values.cast(pl.UInt64).to_numpy()
        keep = None
    else:
        b = values.replace_strict(bits, default=64, return_dtype=pl.UInt64).to_numpy()
        keep = b < 64
        rows, b = rows[keep], b[keep]
    np.bitwise_or.at(out, rows, np.left_shift(np.uint64(1), b.astype(np.uint64)))
    return out


_TRI = (False, True, None)    # state 0, 1, 2
_NO_EXCLUSION = object()


def _decode(code: int, n: int) -> list:
    """The n states (False, True, None) of a base-3 code, first state most significant."""
    out = []
    for _ in range(n):
        code, r = divmod(code, 3)
        out.append(_TRI[r])
    return out[::-1]


def _first_true(states: list, k: int) -> int:
    """`CellTable.classify` on the states of the cells of a decision table (hit policy unique, proved by spec
    check): the true cell; none true (some unknown, or all false) -> k (unknown cell, as `FmtCounts.add`)."""
    for i, r in enumerate(states):
        if r is True:
            return i
    return k


class _States:
    """An indicator whose criteria have given states: `Indicator.check` (the reference) decides on it."""

    __slots__ = ("elig", "excl", "valid")

    def __init__(self, e, x, v):
        self.elig = lambda _p: e
        self.excl = None if x is _NO_EXCLUSION else (lambda _p: x)
        self.valid = lambda _p: v


def _indicator_outcome(tot: dict, e, x, v, seen, count: int) -> None:
    """`cnt` patients of states (eligibility, exclusion, validation, seen) added to an indicator's counts, by
    the reference's rules (`Indicator.check`, then the indicator loop of `FmtCounts.add`)."""
    from convmed.forfaits.schemes.fmt import Indicator

    r = Indicator.check(_States(e, x, v), None)
    if r == "no" or r == "no_or_unknown":
        return
    if r is None:
        tot["unknown"] += count
        return
    tot["eligible"] += count
    if r == "validated":
        if seen is False:
            tot["validated_not_seen"] += count
        else:
            tot["validated"] += count


class Partial:
    """The counts of one chunk (`Plan.count_frame`): `records` counted columnar, `cells` (patients per socle
    cell in rank order, then of unknown cell), `totals` (C2S and indicator sums), `no_birth` (rows left to
    the per-record code, or None)."""

    __slots__ = ("records", "cells", "totals", "no_birth")

    def __init__(self):
        self.records, self.cells, self.totals, self.no_birth = 0, [], {}, None


def _np_int(x):
    """numpy's cast of a boolean column (or scalar) to integers, for the facts' column forms (convmed.facts)."""
    import numpy as np

    return np.asarray(x).astype(np.int64)


def _np_days(y, m, d):
    """Day numbers since 1970-01-01 of valid proleptic Gregorian dates, year >= 1 (H. Hinnant's
    days_from_civil)."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


_MONTHS: tuple = ()    # (first day number, length) of each month, by year * 12 + month - 1 (years 0-9999)


def _month_tables():
    import numpy as np

    global _MONTHS
    if not _MONTHS:
        ym = np.arange(12 * 10000, dtype=np.int64)
        y, m = ym // 12, ym % 12 + 1
        _MONTHS = (_np_days(np.maximum(y, 1), m, np.ones_like(y)).astype(np.int32),
                   month_length_columns(y, m, _np_int).astype(np.int32))
    return _MONTHS


def iso_dates(s: pl.Series):
    """((year, month, day), day numbers) as int32 numpy arrays of date strings without nulls, or None when a
    string is not what the reference accepts (`patientele._DATE`, ^[0-9]{4}-[0-9]{2}-[0-9]{2}$, then
    `date.fromisoformat`): exactly ten ASCII bytes, digits and two hyphens, year 0001 or later, month 1-12,
    day within the month. The bytes are read as a (10, n) uint8 array: no string parsing per value."""
    import numpy as np

    n = len(s)
    if n == 0:
        e = np.zeros(0, dtype=np.int32)
        return (e, e, e), e
    if s.null_count() or not (s.str.len_bytes() == 10).all():
        return None
    a = s.cast(pl.Binary).bin.reinterpret(dtype=pl.Array(pl.UInt8, 10)).to_numpy()
    if a.shape != (n, 10) or a.dtype != np.uint8:
        return None
    t = a.T.copy()                       # (10, n), C order: one contiguous row per byte position
    t -= np.uint8(48)                    # '0'-'9' -> 0-9; any other byte -> 10-255 ('-' -> 253)
    if (t[4] != 253).any() or (t[7] != 253).any():
        return None
    t[4] = 0
    t[7] = 0
    if (t > 9).any():
        return None
    i32 = np.int32
    y = t[0].astype(i32) * 1000 + t[1].astype(i32) * 100 + t[2].astype(i32) * 10 + t[3]
    m = t[5].astype(i32) * 10 + t[6]
    d = t[8].astype(i32) * 10 + t[9]
    if (y < 1).any() or (m < 1).any() or (m > 12).any() or (d < 1).any():
        return None
    first, length = _month_tables()
    ym = y * 12 + (m - 1)
    if (d > length[ym]).any():
        return None
    return (y, m, d), first[ym] + (d - 1)


# --------------------------------------------------------------------------------------- checks
EVENT_DTYPE = pl.Struct({"type": pl.String, "date": pl.String, "atc": pl.String, "count": pl.Int64})
NORMAL_SCHEMA = {"id": pl.String, "birth_date": pl.String, "age": pl.Int64, "sex": pl.String,
                 "ald": pl.List(pl.Int64), "c2s": pl.Boolean, "seen_last_two_years": pl.Boolean,
                 "last_seen_date": pl.String, "flags": pl.List(pl.String), "events": pl.List(EVENT_DTYPE)}


_GOOD: dict = {}      # rule -> values already found good (bounded below)
_LOCK = threading.Lock()   # _GOOD and _EVENT_TYPES: chunks are checked on several threads


def _strings_ok(values: pl.Series, rule) -> bool:
    """`rule` (the reference's own check, in Python) on the distinct values of a column: exact and cheap
    (a patientèle has a few dozen event types or ATC classes, a few hundred flags); values found good are
    remembered from chunk to chunk."""
    with _LOCK:
        good = set(_GOOD.setdefault(rule, set()))
    new = [v for v in values.drop_nulls().unique().to_list() if v not in good]
    if not all(rule(v) for v in new):
        return False
    with _LOCK:
        good = _GOOD[rule]
        if len(good) + len(new) > 400_000:
            good.clear()
        good.update(new)
    return True


def _name_rule(v: str) -> bool:
    from convmed.forfaits.patientele import _NAME

    return bool(_NAME.match(v))


def _atc_rule(v: str) -> bool:
    from convmed.forfaits.patientele import _ATC

    return bool(_ATC.match(v))


class Events:
    """The events of a chunk as numpy arrays (one entry per event): `rows` (the patient's row), `tcode` (index
    of the type in `types`), `ymd` and `days` of the date, `count` (absent = 1); `atc` stays a polars Series."""

    __slots__ = ("rows", "types", "tcode", "ymd", "days", "count", "atc")


class Chunk:
    """A checked chunk: `df` (one row per patient, NORMAL_SCHEMA), `n` rows, `has_birth` (numpy bool),
    `birth` ((year, month, day) numpy arrays, 1970-01-01 where absent), `last_days` (day numbers of
    last_seen_date, 0 where absent) and `ev` (`Events`)."""

    __slots__ = ("df", "n", "has_birth", "birth", "last_days", "ev")


_EVENT_TYPES: list[str] = []     # event types found good by the reference rule, in the order of their codes


def _type_codes(types: pl.Series):
    """(codes, types): the event types as indexes in `types` (numpy), or None when a type fails the reference
    rule. One pass (an Enum cast); new types are checked by the reference's own regular expression."""
    for _ in range(2):
        known = list(_EVENT_TYPES)
        try:
            return types.cast(pl.Enum(known)).to_physical().to_numpy(), known
        except Exception:  # noqa: BLE001  a type not seen yet
            new = sorted(set(types.unique().to_list()) - set(known))
            if not all(isinstance(v, str) and _name_rule(v) for v in new):
                return None
            with _LOCK:
                have = set(_EVENT_TYPES)
                _EVENT_TYPES.extend(v for v in new if v not in have)
    return None


def _dates_where(s: pl.Series):
    """iso_dates of the non-null strings of `s`, spread back on all rows: (mask, (y, m, d), days) with
    1970-01-01 where the value is null; None when a value fails the reference's check."""
    import numpy as np

    present = s.is_not_null().to_numpy()
    got = iso_dates(s.drop_nulls())
    if got is None:
        return None
    (y, m, d), days = got
    if present.all():
        return present, (y, m, d), days
    full = []
    for arr, fill in ((y, 1970), (m, 1), (d, 1), (days, 0)):
        out = np.full(len(present), fill, dtype=np.int32)
        out[present] = arr
        full.append(out)
    return present, tuple(full[:3]), full[3]


def normalise(df: pl.DataFrame, born_by: str | None = None) -> Chunk | None:
    """The checks of `patientele.check_record` on a frame of NORMAL_SCHEMA (null = key absent): numbers and
    lists in columns; dates by `iso_dates` (the reference's regular expression and calendar, on the bytes);
    flags, event types and ATC classes by the reference's own regular expressions on their distinct
    values. None when a row fails a check (the caller then reads the chunk record by record: the reference
    raises the located error, or counts the record if the columnar check was only stricter)."""
    import numpy as np

    pat = df.drop("events")
    ok = (pl.col("birth_date").is_not_null() | pl.col("age").is_not_null())
    ok = ok & (pl.col("age").is_null() | pl.col("age").is_between(0, 130))
    if born_by is not None:   # ISO dates compare as text; a malformed one fails iso_dates below
        ok = ok & (pl.col("birth_date").is_null() | (pl.col("birth_date") <= born_by))
    ok = ok & (pl.col("sex").is_null() | pl.col("sex").is_in(["F", "M"]))
    ald = pl.col("ald")
    ok = ok & (ald.is_null() | ((ald.list.len() == 0) | (
        ald.list.eval(pl.element().is_between(1, 32) & pl.element().is_not_null()).list.all()
        & (ald.list.n_unique() == ald.list.len()))))
    ok = ok & (pl.col("flags").is_null() | pl.col("flags").list.eval(pl.element().is_not_null()).list.all())
    if not pat.select(ok.all()).item():
        return None
    if not _strings_ok(df["flags"].explode(keep_nulls=False, empty_as_null=False), _name_rule):
        return None
    birth = _dates_where(df["birth_date"])
    last = _dates_where(df["last_seen_date"])
    if birth is None or last is None:
        return None
    lens = df["events"].list.len().fill_null(0).to_numpy()
    rows = np.repeat(np.arange(df.height, dtype=np.int64), lens)
    e = df["events"].explode(keep_nulls=False, empty_as_null=False)
    if len(e) != len(rows):
        return None
    ev = Events()
    ev.rows = rows
    if len(e):
        if e.is_null().any():
            return None
        e = e.struct.unnest()
        if e["type"].null_count() or e["date"].null_count() or (e["count"] < 1).any() \
                or (e["count"] > MAX_EVENT_COUNT).any():
            return None
        codes = _type_codes(e["type"])
        dates = iso_dates(e["date"])
        if codes is None or dates is None or not _strings_ok(e["atc"], _atc_rule):
            return None
        ev.tcode, ev.types = codes
        ev.ymd, ev.days = dates
        ev.count = e["count"].fill_null(1).to_numpy()
        ev.atc = e["atc"]
    else:
        empty = np.zeros(0, dtype=np.int32)
        ev.tcode, ev.ymd, ev.days, ev.count = empty, (empty, empty, empty), empty, empty
        ev.atc = pl.Series("atc", [], dtype=pl.String)
        ev.types = []
    ch = Chunk()
    ch.df, ch.n, ch.ev = df, df.height, ev
    ch.has_birth, ch.birth, _ = birth
    ch.last_days = last[2]
    return ch


def records_of(df: pl.DataFrame):
    """Records (dicts, absent = null) back from a normalised frame, for the per-record path."""
    cols = [c for c in NORMAL_SCHEMA if c in df.columns]
    for row in df.select(cols).iter_rows(named=True):
        rec = {k: v for k, v in row.items() if v is not None}
        if "events" in rec:
            rec["events"] = [{k: v for k, v in e.items() if v is not None} for e in rec["events"]]
        yield rec


# --------------------------------------------------------------------------------------- JSON Lines
_JSON_DTYPE = pl.Struct(NORMAL_SCHEMA)

# refused on sight: an explicit null, an escape, a control character (other than a tab, or a CR ending the
# line), a number that is not a plain integer (polars decodes 30.0 and 1e1 as "30" and "10")
_BAD_RAW = r"null|\\|[\x00-\x08\x0b\x0c\x0e-\x1f]|\r.|[0-9](?:\.|[eE][-+]?[0-9])"


def jsonl_frame(block: bytes) -> pl.DataFrame | None:
    """A block of whole JSON Lines decoded by polars, or None when polars' decoding could differ from
    Python's json + `check_record` (then the block is read record by record).

    polars' json_decode coerces where Python's json does not: a number or a boolean into a string, a float
    (3.0, 1e1) or a boolean into an integer, a scalar into a list; it drops an unknown or duplicated key and
    makes null an integer beyond 64 bits. Refused on sight: an explicit null (Python refuses it in every
    field of a record), a backslash (escapes), a control character, a number written with a point or an
    exponent. Then what was decoded is counted as the raw text was, each count going one way only when
    something was coerced (so that two anomalies cannot cancel out): keys (`"` then `:`) = fields decoded;
    quotes = 2 × (keys + strings decoded); `[` = lists decoded; `{` = records + events; `true`/`false` =
    booleans decoded."""
    from convmed.forfaits.patientele import MAX_LINE_BYTES

    lines = pl.Series("l", block.split(b"\n"), dtype=pl.Binary)
    try:
        lines = lines.cast(pl.String)
    except Exception:  # noqa: BLE001  invalid UTF-8
        return None
    l_ = pl.col("l")
    raw = pl.DataFrame([lines]).select(
        bad=l_.str.contains(_BAD_RAW).any(), longest=l_.str.len_bytes().max(),
        keys=l_.str.count_matches('"[ \t]*:').sum(),
        quotes=l_.str.count_matches('"', literal=True).sum(), lbrace=l_.str.count_matches("{", literal=True).sum(),
        rbrace=l_.str.count_matches("}", literal=True).sum(), lbrack=l_.str.count_matches("[", literal=True).sum(),
        rbrack=l_.str.count_matches("]", literal=True).sum(), bools=l_.str.count_matches("true|false").sum(),
    ).row(0, named=True)
    if raw["bad"] or (raw["longest"] or 0) >= MAX_LINE_BYTES:
        return None
    lines = lines.filter(lines.str.strip_chars(" \t\r").str.len_bytes() > 0)
    if lines.len() == 0:
        return pl.DataFrame(schema=NORMAL_SCHEMA)
    try:
        df = lines.str.json_decode(_JSON_DTYPE).struct.unnest()
    except Exception:  # noqa: BLE001
        return None
    if df.height != lines.len():
        return None
    nn = lambda cols: pl.sum_horizontal([pl.col(c).is_not_null() for c in cols]).sum()  # noqa: E731
    got = df.select(
        fields=nn(df.columns), strings=nn(["id", "birth_date", "sex", "last_seen_date"]),
        flags=pl.col("flags").list.len().sum(), events=pl.col("events").list.len().sum(),
        lists=nn(["ald", "flags", "events"]), bools=nn(["c2s", "seen_last_two_years"]),
    ).row(0, named=True)
    ev_fields = ev_strings = 0
    if got["events"]:
        evx = df.select(pl.col("events").list.explode(keep_nulls=False, empty_as_null=False)).unnest("events")
        e = evx.select(fields=nn(evx.columns), strings=nn(["type", "date", "atc"])).row(0, named=True)
        ev_fields, ev_strings = e["fields"], e["strings"]
    records = df.height + (got["events"] or 0)
    fields = got["fields"] + ev_fields
    if (raw["keys"] != fields
            or raw["quotes"] != 2 * (fields + got["strings"] + (got["flags"] or 0) + ev_strings)
            or raw["lbrace"] != records or raw["rbrace"] != records
            or raw["lbrack"] != got["lists"] or raw["rbrack"] != got["lists"] or raw["bools"] != got["bools"]):
        return None
    return df


def _lines(f, path: str, first_line: int):
    """`patientele._decoded` (lines decoded one by one, bounded) on a part of a file that starts at line
    `first_line`: its located errors are moved to the file's line numbers."""
    import dataclasses

    from convmed.forfaits.patientele import _decoded

    it = _decoded(f, path)
    while True:
        try:
            line = next(it)
        except StopIteration:
            return
        except ConvmedError as exc:
            raise ConvmedError([dataclasses.replace(p, line=p.line + first_line - 1) if p.line else p
                                for p in exc.problems]) from None
        yield line


def _json_block_records(block: bytes, path: str, first_line: int, born_by: str | None = None):
    """The reference reader (`patientele.iter_jsonl`) on one block: same checks, same located errors."""
    from convmed.forfaits.patientele import parse_jsonl_line

    lineno = first_line - 1
    for line in _lines(io.BytesIO(block), path, first_line):
        lineno += 1
        if line.strip():
            yield parse_jsonl_line(line, path, lineno, born_by)


def jsonl_blocks(path: str, block_bytes: int, start: int = 0, first_line: int = 1):
    """(first line number, bytes) of whole lines. A line longer than MAX_LINE_BYTES is not read whole: the
    block ends inside it and the per-record reading of that block refuses it where the reference does."""
    from convmed.forfaits.patientele import MAX_LINE_BYTES

    try:
        f = open(path, "rb")
    except OSError as exc:
        raise ConvmedError.single(f"cannot read: {exc.strerror}", file=path, code="io") from None
    line = first_line
    with f:
        f.seek(start)
        while True:
            block = f.read(block_bytes)
            if not block:
                return
            if not block.endswith(b"\n"):
                block += f.readline(MAX_LINE_BYTES + 1)
            yield line, block
            line += block.count(b"\n")


# --------------------------------------------------------------------------------------- Parquet
def parquet_frame(df: pl.DataFrame) -> pl.DataFrame | None:
    """A Parquet chunk in NORMAL_SCHEMA, or None when a column is not of a type read exactly as the
    reference reads the row (then the chunk goes record by record: located error or exact count)."""
    if set(df.columns) - set(NORMAL_SCHEMA):
        return None
    casts = []
    for name, dt in df.schema.items():
        want = NORMAL_SCHEMA[name]
        if dt == want or dt == pl.Null or (isinstance(dt, pl.List) and isinstance(want, pl.List)
                                            and dt.inner == pl.Null):
            casts.append(pl.col(name).cast(want))
        elif want == pl.Int64 and dt.is_integer():
            casts.append(pl.col(name).cast(pl.Int64))
        elif name == "ald" and isinstance(dt, pl.List) and dt.inner.is_integer():
            casts.append(pl.col(name).cast(want))
        elif name == "events" and isinstance(dt, pl.List) and isinstance(dt.inner, pl.Struct):
            fields = dict(dt.inner.to_schema())
            allowed = EVENT_DTYPE.to_schema()
            if set(fields) - set(allowed):
                return None
            for fname, fdt in fields.items():
                if not (fdt == allowed[fname] or fdt == pl.Null or (fname == "count" and fdt.is_integer())):
                    return None
            el = pl.element()     # rebuilt field by field, by name (a struct cast goes by position)
            casts.append(pl.col(name).list.eval(pl.struct(
                [(el.struct.field(k).cast(dt) if k in fields else pl.lit(None, dt)).alias(k)
                 for k, dt in allowed.items()])).alias(name))
        else:
            return None
    try:
        df = df.select(casts)
    except Exception:  # noqa: BLE001
        return None
    missing = [pl.lit(None, dt).alias(n) for n, dt in NORMAL_SCHEMA.items() if n not in df.columns]
    if missing:
        df = df.with_columns(missing)
    return df.select(list(NORMAL_SCHEMA))


def parquet_rows(df: pl.DataFrame, path: str, first_line: int, born_by: str | None = None):
    """The rows of a Parquet chunk as records (null = absent), checked by `check_record`, located."""
    from convmed.forfaits.patientele import _Bad, check_record

    for i, row in enumerate(df.iter_rows(named=True)):
        rec = {k: v for k, v in row.items() if v is not None}
        if isinstance(rec.get("events"), list):
            rec["events"] = [{k: v for k, v in e.items() if v is not None} if isinstance(e, dict) else e
                             for e in rec["events"]]
        try:
            check_record(rec, born_by)
        except _Bad as exc:
            raise ConvmedError([Located(exc.message, file=path, line=first_line + i, pointer=exc.pointer,
                                        code="patient")]) from None
        yield rec


# --------------------------------------------------------------------------------------- CSV
def csv_header(path: str) -> tuple[list[str] | None, int]:
    """The header of a CSV patientèle read as the reference reads it, and the byte offset of the next line;
    (None, 0) when the header is not a plain line (quotes: the whole file is then read by the reference)."""
    from convmed.forfaits.patientele import CSV_COLUMNS, MAX_LINE_BYTES

    try:
        with open(path, "rb") as f:
            first = f.readline(MAX_LINE_BYTES + 1)
    except OSError as exc:
        raise ConvmedError.single(f"cannot read: {exc.strerror}", file=path, code="io") from None
    if not first or b'"' in first or len(first) > MAX_LINE_BYTES or not first.strip():
        return None, 0
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        return None, 0
    header = text.rstrip("\r\n").split(",")
    if "\r" in text.rstrip("\r\n") or len(set(header)) != len(header):
        return None, 0
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise ConvmedError.single(f"unknown CSV column {unknown[0]!r} (allowed: {', '.join(CSV_COLUMNS)})",
                                  file=path, line=1, code="csv")
    return header, len(first)


_CSV_BAD_RAW = r'"|[^\x09\x0a\x20-\x7e]|\r.'   # quotes, non-ASCII, control characters, a CR inside a line
_DIGITS = r"^[0-9]+$"


def csv_frame(block: bytes, header: list[str]) -> pl.DataFrame | None:
    """A block of whole CSV lines (no quotes, ASCII) in NORMAL_SCHEMA, read as `patientele._csv_record`
    reads a row; None when a value would not be read the same way (then the block goes record by record)."""
    from convmed.forfaits.patientele import _FALSE, _TRUE

    lines = pl.Series("l", [block]).cast(pl.String, strict=False)
    if lines.null_count() or lines.str.contains(_CSV_BAD_RAW).any():
        return None
    try:
        df = pl.read_csv(io.BytesIO(block), has_header=False, new_columns=header,
                         schema={h: pl.String for h in header}, quote_char=None, truncate_ragged_lines=False,
                         comment_prefix=None, raise_if_empty=False)
    except Exception:  # noqa: BLE001
        return None
    if df.height != block.count(b"\n") + (0 if block.endswith(b"\n") else 1):
        return None
    col = {h: pl.col(h).str.strip_chars(" \t") for h in header}
    absent = pl.lit(None, pl.String)
    txt = {h: col[h].replace("", None) if h in col else absent for h in NORMAL_SCHEMA}
    check = df.select(
        age=(txt["age"].is_not_null() & ~txt["age"].str.contains(_DIGITS)).any(),
        ald=txt["ald"].str.split(";").list.eval(~pl.element().str.strip_chars(" \t").str.contains(_DIGITS))
        .list.any().any(),
        bools=pl.any_horizontal([(txt[k].is_not_null() & ~txt[k].str.to_lowercase().is_in(sorted(_TRUE | _FALSE)))
                                 .any() for k in ("c2s", "seen_last_two_years")]),
    ).row(0, named=True)
    if check["age"] or check["ald"] or check["bools"]:
        return None
    el = pl.element()
    parts = el.str.strip_chars(" \t").str.split("@")
    ev_parts = txt["events"].str.split(";").list.eval(parts)
    if df.select(ev_parts.list.eval(~el.list.len().is_between(2, 4)).list.any().any()).item():
        return None
    p2, p3 = el.list.get(2, null_on_oob=True), el.list.get(3, null_on_oob=True)
    d2, d3 = p2.str.contains(_DIGITS), p3.str.contains(_DIGITS)
    event = pl.struct(
        type=el.list.get(0), date=el.list.get(1),
        atc=pl.when(p3.is_not_null() & (p3 != "") & ~d3).then(p3)
        .when(p2.is_not_null() & (p2 != "") & ~d2).then(p2).otherwise(absent),
        count=pl.when(d3).then(p3).when(d2).then(p2).otherwise(absent))
    low = {k: txt[k].str.to_lowercase() for k in ("c2s", "seen_last_two_years")}
    try:
        out = df.select(
            txt["id"].alias("id"), txt["birth_date"].alias("birth_date"),
            txt["age"].cast(pl.Int64, strict=True).alias("age"), txt["sex"].alias("sex"),
            txt["ald"].str.split(";").list.eval(el.str.strip_chars(" \t").cast(pl.Int64, strict=True)).alias("ald"),
            *[pl.when(low[k].is_in(sorted(_TRUE))).then(True).when(low[k].is_in(sorted(_FALSE))).then(False)
              .otherwise(pl.lit(None, pl.Boolean)).alias(k) for k in ("c2s", "seen_last_two_years")],
            txt["last_seen_date"].alias("last_seen_date"),
            txt["flags"].str.split(";").list.eval(el.str.strip_chars(" \t")).alias("flags"),
            ev_parts.list.eval(event).alias("events"))
        return out.with_columns(pl.col("events").cast(pl.List(EVENT_DTYPE), strict=True))
    except Exception:  # noqa: BLE001  an integer beyond 64 bits
        return None


def _csv_rows(lines, header: list[str], path: str, first_line: int, born_by: str | None = None):
    """The reference reader (`patientele.iter_csv`) from `first_line` on, the header already read."""
    import csv

    from convmed.forfaits.patientele import csv_records

    return csv_records(csv.DictReader(lines, fieldnames=header), path, offset=first_line - 1, born_by=born_by)


# --------------------------------------------------------------------------------------- driver
# chunks read and counted at the same time (polars and numpy release the GIL): one per core, 4 at most
WORKERS = max(1, min(4, os.cpu_count() or 1))


def in_order(fn, tasks, workers: int | None = None):
    """(task, fn(task)) in the order of `tasks`, fn running on `workers` threads (default WORKERS), at most
    `workers` tasks under way (bounded memory). The caller consumes the results in file order: merging,
    per-record fallbacks and their located errors happen there, exactly as in a sequential reading.
    Stopping early (an error) cancels the tasks not started."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    workers = WORKERS if workers is None else workers
    tasks = iter(tasks)
    if workers <= 1:
        for t in tasks:
            yield t, fn(t)
        return
    pool = ThreadPoolExecutor(workers, thread_name_prefix="convmed-fmt")
    try:
        pending: deque = deque()
        for t in tasks:
            pending.append((t, pool.submit(fn, t)))
            if len(pending) >= workers:
                break
        while pending:
            t, fut = pending.popleft()
            result = fut.result()
            nxt = next(tasks, _END)
            if nxt is not _END:
                pending.append((nxt, pool.submit(fn, nxt)))
            yield t, result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_END = object()


class ParquetChunks:
    """The chunks of a Parquet patientèle, read (columns in NORMAL_SCHEMA, string ids not read) and checked
    (`normalise`): WORKERS chunks of chunk_rows / WORKERS rows are read and counted at the same time (the
    same memory bound as one chunk of chunk_rows). `start` decodes the first chunks on threads while the
    caller does something else (the command line: the request and the spec); what it finds, errors
    included, is only given by `read`, when the formula reads the file."""

    def __init__(self, path: str, chunk_rows: int):
        self.path = path
        self.step = max(1, chunk_rows // max(1, WORKERS))
        self._layout = None
        self._early: dict = {}

    def layout(self) -> tuple[int, list[str]]:
        """(rows, columns to read)."""
        if self._layout is None:
            try:
                total = pl.scan_parquet(self.path).select(pl.len()).collect().item()
                schema = pl.scan_parquet(self.path).collect_schema()
            except Exception as exc:  # noqa: BLE001
                raise ConvmedError.single(f"fichier Parquet illisible : {exc}", file=self.path,
                                          code="input") from None
            # a string `id` column needs no reading: the reference only checks that an id is a string
            self._layout = (total, [c for c in schema if not (c == "id" and schema[c] == pl.String)])
        return self._layout

    def read(self, offset: int, born_by: str | None = None) -> "Chunk | None":
        """The checked chunk at `offset`, or None (to be read record by record)."""
        fut = self._early.pop(offset, None)
        raw = fut.result() if fut is not None else self.rows(offset, self.layout()[1])
        df = parquet_frame(raw)
        return normalise(df, born_by) if df is not None else None

    def rows(self, offset: int, columns: list[str] | None = None) -> pl.DataFrame:
        """The rows of the chunk at `offset` as stored (all columns unless `columns`); a file that cannot be
        decoded there is a located error, not a traceback."""
        lf = pl.scan_parquet(self.path)
        try:
            return (lf.select(columns) if columns is not None else lf).slice(offset, self.step).collect()
        except Exception as exc:  # noqa: BLE001
            last = min(offset + self.step, self.layout()[0])
            raise ConvmedError.single(f"fichier Parquet illisible (lignes {offset + 1} à {last}) : {exc}",
                                      file=self.path, line=offset + 1, code="input") from None

    def start(self) -> None:
        """Decode the first chunks on threads (polars releases the GIL while it decodes; the checks, which
        hold it longer, are left to `read`)."""
        from concurrent.futures import ThreadPoolExecutor

        try:
            total, columns = self.layout()
        except ConvmedError:
            return            # reported when the formula reads the file
        offsets = range(0, min(total, self.step * max(1, WORKERS)), self.step)
        if not offsets:
            return
        pool = ThreadPoolExecutor(len(offsets), thread_name_prefix="convmed-fmt-early")
        self._early = {o: pool.submit(self.rows, o, columns) for o in offsets}
        pool.shutdown(wait=False)


def count_file(plan: Plan, path: str, fmt: str, *, chunk_rows: int, progress: bool,
               parquet: ParquetChunks | None = None):
    start = time.perf_counter()
    born_by = plan.ref.isoformat()   # a patient born after the reference date: refused by the reference reader

    def tick():
        checkpoint()   # Ctrl-C / SIGTERM recorded during the block (convmed.interrupts): raised here
        if progress:
            done = plan.counts.records
            print(f"convmed batch forfait fmt : {done} patients lus ({done / (time.perf_counter() - start):,.0f}/s)",
                  end="\r", file=sys.stderr, flush=True)

    if fmt == "jsonl":
        # blocks of whole lines (~40 000 lines: ~300 MB at most each) decoded, checked and counted on WORKERS
        # threads; a block polars cannot read exactly is read record by record, in file order
        block_bytes = max(1 << 16, min(chunk_rows * 256 // max(1, WORKERS), 8 << 20))

        def counted(task):
            _first, block = task
            if not plan.columnar:
                return None
            df = jsonl_frame(block)
            chunk = normalise(df, born_by) if df is not None else None
            return plan.count_frame(chunk) if chunk is not None else None

        for (first, block), part in in_order(counted, jsonl_blocks(path, block_bytes)):
            if part is not None:
                plan.merge(part)
            else:
                for rec in _json_block_records(block, path, first, born_by):
                    plan.add_record(rec)
            tick()
    elif fmt == "parquet":
        src = parquet if parquet is not None and parquet.path == path else ParquetChunks(path, chunk_rows)
        total, columns = src.layout()

        def counted(offset):
            """Read, check and count one chunk (on a worker thread); None: to be read record by record."""
            if not plan.columnar:
                return None
            chunk = src.read(offset, born_by)
            return plan.count_frame(chunk) if chunk is not None else None

        for offset, part in in_order(counted, range(0, total, src.step)):
            if part is not None:
                plan.merge(part)
            else:
                for rec in parquet_rows(src.rows(offset), path, offset + 1, born_by):
                    plan.add_record(rec)
            tick()
    else:
        from convmed.forfaits.patientele import iter_csv

        header, offset = csv_header(path) if plan.columnar else (None, 0)
        if header is None:
            for rec in iter_csv(path, born_by):
                checkpoint()
                plan.add_record(rec)
        else:
            block_bytes = max(1 << 16, min(chunk_rows * 128, 8 << 20))
            for first, block in jsonl_blocks(path, block_bytes, offset, 2):
                if b'"' in block:
                    # quoted fields may run over lines and blocks: the reference reads the rest of the file
                    with open(path, "rb") as f:
                        f.seek(offset)
                        for rec in _csv_rows(_lines(f, path, first), header, path, first, born_by):
                            checkpoint()
                            plan.add_record(rec)
                    break
                df = csv_frame(block, header)
                chunk = normalise(df, born_by) if df is not None else None
                if chunk is not None:
                    plan.add_frame(chunk)
                else:
                    for rec in _csv_rows(_lines(io.BytesIO(block), path, first), header, path, first, born_by):
                        plan.add_record(rec)
                offset += len(block)
                tick()
    if progress:
        print(file=sys.stderr)
    return plan.counts

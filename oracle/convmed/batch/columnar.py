"""The columnar backend: the new signatures of a chunk decided on the columns, from the same rules
(SEMANTIQUE.md § 2.7).

The batch engine groups a chunk's claims by signature (convmed.batch.engine: the classes of the facts the
claims' codes can read); every claim of a signature has the same answer. A new signature used to be priced by
the scalar pricer on its representative: with claims drawn independently, as varied as a year of national
activity, most signatures are new and that cost grew with the file. This backend decides the new signatures
together, on the columns of their representatives, and calls the scalar pricer only once per **line decision
key**, a number bounded by the spec and not by the file.

A claim is split into its **components** (`claim_plan.components`: lines linked by a base act, a non-cumul, a limit
counting the other's code, or both priced from an external base); each line has the result it has on the claim
reduced to its component. A line alone in its component is priced as it would be alone on the claim, and its
answer (status, amount, reason) depends on nothing but its **decision key**:

- the line itself (its code and every field it gives: quantity, coefficient, amount, base_amount, modifies...);
- the class of the claim's date between the dates its code's concepts write (`Relevance.of_code(code)
  .breakpoints`): within a class the same dated values, the same validity of every declaration, the same
  uncertain windows: the dated values joined by date range (one as-of join);
- the territory, and the specialty when the act's values depend on it;
- the truth value (true, false, unknown) of each condition the pricer can read for the code: its requirements
  (its own and its rules'), its limits' `when`, its non-cumuls' `unless`, and for an act priced from an external
  base the association rules' `when`, each compiled to a polars expression from the operator registry
  (`convmed.conditions.columnar`, `Operator.columnar`) on the facts' column forms
  (`convmed.facts.claim_fact_column`, each computed once per chunk);
- the presence of the leaves the schema constrains together (`Leaf.constrained`).

A line of a component of several lines is read **line by line** (SEMANTIQUE § 2.7) when no line of it is priced
from an external base and no cycle crosses it: its key is its own key, its roles (`_line_reads`) and the outcomes
(status, billable, amount, unit value) of the lines it reads, made level by level (`BatchEngine._resolved_keys`).
Any other component is keyed whole: the keys of its lines in order, and the line's position.

With no history, a limit counts nothing but its `when` decides and the component's earlier lines. Each new key
is priced once by the scalar pricer on the claim of one representative reduced to the line's component (the
reference); the claim's total and completeness are summed on the columns. A representative is decided only when
its validity is decided without validating it (`BatchEngine._valid_on_columns`). A non-cumul whose `unless` reads
the other line (`other.`) has no column form yet: such a claim, and every other new signature the backend does
not decide, is priced by the scalar pricer on its representative, as before; the summary counts both
(`columnar_signatures`, `scalar_signatures`), the claims whose signature this backend decided (`columnar_rows`)
and the keys it priced (`decision_keys`), and `Columnar.not_expressed` names every act it leaves out and why.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import polars as pl

from convmed.batch.rows import compact
from convmed.claim_plan import (components, declarations, depassement_bound, non_cumul_index, plan,
                               priced_from_external_base, sub_lines)
from convmed.conditions import columnar as condition_column
from convmed.conditions import facts_used
from convmed.facts import DEPASSEMENT_COLUMN, HOLIDAY_COLUMN, claim_fact_column, is_public_holiday

# the line fields the column forms read (added as nulls to a file's lines that lack them)
LINE_FIELDS = {"tarif_opposable": pl.Boolean}
KIND_DTYPES = {"str": pl.String, "bool": pl.Boolean, "int": pl.Int64}   # a leaf's kind -> its column type
_EPOCH = date(1970, 1, 1)
_H1, _H2 = 0x5DEC15, 0xC0DE5
_FACT_PREFIX = "@"   # a fact's column in line_keys' frame ("@patient.age_years")
_LINES_SEED = 0x1D   # the hash of a claim's list of lines (eligible, line_keys)


@dataclass(frozen=True)
class CodePlan:
    code: str
    breakpoints: tuple[int, ...]          # days since 1970-01-01 of the dates its concepts write
    by_specialty: bool                    # its values are restricted to specialties
    conditions: tuple[pl.Expr, ...]       # the truth of each condition the pricer can read for it (null: unknown)
    holiday: bool                         # one of them reads encounter.public_holiday


@dataclass(frozen=True)
class LineShape:
    """What the columnar backend needs of one line of a list of lines (SEMANTIQUE.md § 2.7)."""
    first: int            # the first line of its component
    position: int         # its position in the component
    size: int             # the component's number of lines
    base_line: object     # its base_line / modifies renumbered on the component (None: not given)
    modifies: object
    depassement: bool     # a dépassement line has it for base act (claim_plan.depassement_bound)
    # read line by line (a component of several lines, none priced from an external base, no cycle): the
    # number of reads before it (0: it reads no outcome), its roles and the lines whose outcomes it reads, in
    # the roles' order; -1, 0, () for a line keyed with its whole component or alone
    level: int = -1
    roles: int = 0
    reads: tuple[int, ...] = ()


_SHAPE_SCHEMA = {"_h": pl.UInt64, "index": pl.Int32, "_first": pl.Int32, "_k": pl.Int32, "_size": pl.Int32,
                 "_base_line": pl.Int64, "_modifies": pl.Int64, DEPASSEMENT_COLUMN: pl.Boolean, "_level": pl.Int32,
                 "_roles": pl.Int64, "_reads": pl.List(pl.Int32)}


class Columnar:
    """The plans of the acts the backend expresses, which claims it decides, and the decision keys of their
    lines."""

    def __init__(self, spec, relevance, leaves, max_lines: int | None = None, min_lines: int = 1):
        self.spec, self.relevance = spec, relevance
        self.vocabulary = spec.vocabulary("facts")
        self.leaves = {leaf.pointer: leaf for leaf in leaves}
        self.constrained = sorted(leaf.name for leaf in leaves if leaf.constrained)
        self.min_lines, self.max_lines = min_lines, max_lines
        self.plans: dict[str, CodePlan] = {}
        self.not_expressed: dict[str, str] = {}   # code -> why the backend leaves it to the signature path
        self._shapes: dict[int, tuple[LineShape, ...] | None] = {}   # hash of a claim's lines -> `shape`
        self._holidays: dict[tuple[str, str | None], bool] = {}
        self._facts: dict[str, pl.Expr | None] = {}   # fact -> its column form (claim_fact_column), once
        associations = [c for c in spec.concepts.values() if c.kind == "association"]
        for code, concept in spec.acts_by_code.items():
            plan = self._plan(code, concept, associations)
            if isinstance(plan, CodePlan):
                self.plans[code] = plan
            else:
                self.not_expressed[code] = plan

    # ------------------------------------------------------------------ per act, once
    def _column(self, pointer: str):
        """The column of a claim pointer in the flat layout (None: not a scalar leaf of the claim)."""
        if pointer.startswith("/line/"):
            name = pointer[len("/line/"):]
            return pl.col("_line").struct.field(name) if name in LINE_FIELDS else None
        leaf = self.leaves.get(pointer)
        if leaf is None:
            return None
        return pl.col(leaf.name).cast(KIND_DTYPES[leaf.kind])

    def _fact(self, name: str) -> pl.Expr | None:
        """The column of fact `name` in a chunk's lines (computed once per chunk, `_facts`, however many
        conditions read it); None when the fact has no column form."""
        if name not in self._facts:
            self._facts[name] = claim_fact_column(name, self.vocabulary, self._column)
        return None if self._facts[name] is None else pl.col(_FACT_PREFIX + name)

    def _plan(self, code: str, concept, associations) -> CodePlan | str:
        conditions = [(f"{owner.ref}#{item['id']}", item["condition"])
                      for owner, item in declarations(self.spec, concept, "requirements")]
        conditions += [(f"{owner.ref}#{item['id']}", item["when"])
                       for owner, item in declarations(self.spec, concept, "limits") if "when" in item]
        if concept.data.get("pricing") == "external_base":
            conditions += [(c.ref, c.data["when"]) for c in associations if "when" in c.data]
        # a non-cumul's `unless` reads the line's own facts (an `other.` fact: the claim goes to the signatures)
        conditions += [(f"{owner.ref}#{item['id']}", item["unless"]) for owner, item, _, _ in
                       non_cumul_index(self.spec).get(code, ()) if "unless" in item and not _reads_other(item)]
        exprs, holiday = [], False
        for ref, condition in conditions:
            expr = condition_column(condition, self._fact)
            if expr is None:
                return f"condition sans forme en colonnes ({ref})"
            holiday |= "encounter.public_holiday" in facts_used(condition)
            exprs.append(expr)
        need = self.relevance.of_code(code)
        if "patient.stay_id" in need.facts:
            # a limit per stay counts the component's earlier lines only when the claim names its stay (§ 3.6)
            stay = self._column("/patient/stay_id")
            exprs.append(stay.is_not_null() if stay is not None else pl.lit(False))
        days = tuple((d - _EPOCH).days for d in need.breakpoints)
        return CodePlan(code, days, need.specialty, tuple(exprs), holiday)

    def shape(self, lines: list[dict]) -> tuple[LineShape, ...] | None:
        """Each line's component, position and renumbered designations (claim_plan.components, sub_lines) and
        whether a dépassement line has it for base act; None when a non-cumul between two of them has an
        `unless` reading the other line's facts (no column form yet: the claim goes to the signatures)."""
        found = plan(self.spec, {"date": "2000-01-01", "doctor": {}, "lines": lines})
        if any("unless" in r.item and _reads_other(r.item) for lp in found.lines for r in lp.relations):
            return None
        out: list[LineShape | None] = [None] * len(lines)
        for component in components(self.spec, lines):
            reads = _line_reads(self.spec, found, component)
            for k, (i, line) in enumerate(zip(component, sub_lines(lines, component))):
                level, roles, deps = reads.get(i, (-1, 0, ()))
                out[i] = LineShape(component[0], k, len(component), line.get("base_line"), line.get("modifies"),
                                   depassement_bound(found, i), level, roles, deps)
        return tuple(out)

    # ------------------------------------------------------------------ per chunk
    def eligible(self, df: pl.DataFrame) -> pl.Series:
        """The claims this backend decides: every line's code expressed, lines that do not read one another, as
        many as the schema allows; no history; not marked slow by the reader."""
        lines = df.schema.get("lines")
        none = pl.Series("eligible", [False] * df.height, dtype=pl.Boolean)
        if not self.plans or not isinstance(lines, pl.List) or not isinstance(lines.inner, pl.Struct) \
                or "code" not in {f.name for f in lines.inner.fields}:
            return none
        size = pl.col("lines").list.len()
        terms = [size >= self.min_lines,
                 pl.col("lines").list.eval(pl.element().struct.field("code").is_in(list(self.plans))).list.all()]
        if self.max_lines is not None:
            terms.append(size <= self.max_lines)
        if "history" in df.columns:
            terms.append(pl.col("history").list.len().fill_null(0) == 0)
        if "slow" in df.columns:
            terms.append(~pl.col("slow").fill_null(True))
        out = terms[0]
        for t in terms[1:]:
            out = out & t
        found = df.select(out.fill_null(False).alias("eligible"), pl.col("lines").hash(_LINES_SEED).alias("_h"))
        mask = found["eligible"]
        if not mask.any():
            return none
        # one line: its own component; several: shaped once per distinct list of lines (remembered across chunks)
        several = found.with_row_index("_at").filter(mask & (size_of(df) > 1))
        if several.height:
            self._shape_unknown(df, several)
            refused = [h for h in several["_h"].unique() if self._shapes.get(h) is None]
            if refused:
                mask = mask & ~(found["_h"].is_in(refused) & (size_of(df) > 1))
        return mask.alias("eligible")

    def _shape_unknown(self, df: pl.DataFrame, rows: pl.DataFrame) -> None:
        """`shape` of each list of lines of `rows` (`_h` its hash, `_at` its row in `df`) not met before."""
        first = rows.group_by("_h").agg(pl.col("_at").first())
        if len(self._shapes) + first.height > 200_000:
            self._shapes.clear()
        unknown = [(h, at) for h, at in first.iter_rows() if h not in self._shapes]
        if unknown:
            lists = df["lines"].gather([at for _, at in unknown]).to_list()
            for (h, _), claim_lines in zip(unknown, lists):
                self._shapes[h] = self.shape([compact(line) for line in claim_lines])

    def _shapes_frame(self, hashes) -> pl.DataFrame:
        """(_h, index) -> the LineShape columns, for the lines of the lists whose hash is in `hashes`."""
        rows = [(h, i, s.first, s.position, s.size, s.base_line, s.modifies, s.depassement, s.level, s.roles,
                 list(s.reads)) for h in hashes for i, s in enumerate(self._shapes[h])]
        return pl.DataFrame(rows, schema=_SHAPE_SCHEMA, orient="row")

    def line_keys(self, df: pl.DataFrame) -> pl.DataFrame:
        """One row per line of the (eligible, valid) claims of `df`: `_pos` (the claim's position in `df`),
        `index`, `code`, (h1, h2) of its decision key, `_first` and `_size` of its component; in (claim, line)
        order. A line alone in its component is keyed by itself (its fields, the date's class, the territory,
        the specialty where it matters, the constrained presence, the truth of its conditions); a line of a
        component of several by the keys of the component's lines, in order, and its position. The date's class
        is one as-of join on every code's breakpoints; each code's conditions are evaluated on its own lines."""
        needed = [c for c in self._read_columns() if c in df.columns]
        base = df.select(*needed, "lines", pl.col("lines").hash(_LINES_SEED).alias("_h")).with_row_index("_pos")
        index = base.select(pl.int_ranges(0, pl.col("lines").list.len(), dtype=pl.Int32).alias("index")).explode("index")
        fields = [f.name for f in df.schema["lines"].inner.fields]
        missing = [pl.lit(None, dtype=dtype).alias(name) for name, dtype in LINE_FIELDS.items() if name not in fields]
        line = pl.col("lines")
        frame = base.explode("lines").with_columns(
            index["index"], pl.int_range(pl.len(), dtype=pl.Int64).alias("_at"),
            (line.struct.with_fields(missing) if missing else line).alias("_line"), line.struct.field("code").alias("code"),
            (pl.col("date").str.to_date("%Y-%m-%d") - pl.lit(_EPOCH)).dt.total_days().alias("_day"))
        frame = self._with_shapes(df, base, frame, fields)
        # the number of the code's breakpoints on or before the day (0 before the first)
        frame = frame.sort("_day").join_asof(self._breakpoints(), left_on="_day", right_on="_from", by="code",
                                             strategy="backward", check_sortedness=False).with_columns(pl.col("_class").fill_null(0))
        # every condition is evaluated on every line (masked by code): the holiday is computed where read
        frame = frame.with_columns(self._holiday_column(frame) if any(self.plans[c].holiday for c in frame["code"].unique())
                                   else pl.lit(None, dtype=pl.Boolean).alias(HOLIDAY_COLUMN))
        # each fact the conditions read, once (the ages from the dates' digits, the hour...)
        frame = frame.with_columns(expr.alias(_FACT_PREFIX + name) for name, expr in self._facts.items() if expr is not None)
        territory = pl.col("territory") if "territory" in frame.columns else pl.lit(None, dtype=pl.String)
        constrained = [pl.col(c).is_not_null().alias("_p" + c) for c in self.constrained if c in frame.columns]
        if not frame.height:
            return pl.DataFrame(schema={"_pos": pl.UInt32, "index": pl.Int32, "code": pl.String, "h1": pl.UInt64,
                                        "h2": pl.UInt64, "_first": pl.Int32, "_size": pl.Int32, "_level": pl.Int32,
                                        "_roles": pl.Int64, "_reads": pl.List(pl.Int32)})
        codes, by_specialty, truths = self._key_terms()
        specialty = pl.col("doctor.specialty") if "doctor.specialty" in frame.columns else pl.lit(None, dtype=pl.String)
        frame = frame.with_columns(pl.col("code").replace_strict(codes, return_dtype=pl.UInt32).alias("_code"))
        reads = lambda mask: pl.lit(mask).gather(pl.col("_code"))   # noqa: E731 - the line's code is in the mask
        key = [pl.col("_keyed").alias("_line"), pl.col("_class"), territory.alias("_territory"),
               pl.when(reads(by_specialty)).then(specialty).alias("_specialty"), *constrained]
        # each condition's truth (null: unknown) on the lines of the codes that read it (null for the others: the
        # code is in the key, so a condition a code does not read never tells two of its lines apart)
        key += [pl.when(reads(mask)).then(c).alias(f"_c{i}") for i, (c, mask) in enumerate(truths)]
        keyed = frame.select("_at", "_pos", "index", "code", "_first", "_k", "_size", "_level", "_roles", "_reads",
                             pl.struct(key).alias("_key"))
        keyed = keyed.with_columns(pl.col("_key").hash(_H1).alias("h1"), pl.col("_key").hash(_H2).alias("h2")
                                   ).drop("_key").sort("_at")
        whole = (pl.col("_size") > 1) & (pl.col("_level") < 0)
        if keyed.select(whole.any()).item():
            # a component keyed whole: the keys of its lines in order, then the line's position in it
            grouped = keyed.filter(whole).group_by("_pos", "_first", maintain_order=True).agg(
                pl.col("h1").alias("_c1"), pl.col("h2").alias("_c2")).with_columns(
                pl.col("_c1").hash(_H1), pl.col("_c2").hash(_H2))
            keyed = keyed.join(grouped, on=["_pos", "_first"], how="left", maintain_order="left").with_columns(
                pl.when(whole).then(pl.struct("_c1", "_k").hash(_H1)).otherwise(pl.col("h1")).alias("h1"),
                pl.when(whole).then(pl.struct("_c2", "_k").hash(_H2)).otherwise(pl.col("h2")).alias("h2"))
        return keyed.select("_pos", "index", "code", "h1", "h2", "_first", "_size", "_level", "_roles", "_reads")

    def _with_shapes(self, df: pl.DataFrame, base: pl.DataFrame, frame: pl.DataFrame, fields: list[str]) -> pl.DataFrame:
        """The exploded lines with their shape (`_first`, `_k`, `_size`, the dépassement column) and `_keyed`,
        the line as its key reads it (base_line / modifies renumbered on its component)."""
        several = base.select("_h", "_pos").with_columns(size_of(df).alias("_n")).filter(pl.col("_n") > 1)
        defaults = [pl.col("index").alias("_first"), pl.lit(0, dtype=pl.Int32).alias("_k"),
                    pl.lit(1, dtype=pl.Int32).alias("_size"), pl.lit(False).alias(DEPASSEMENT_COLUMN),
                    pl.lit(-1, dtype=pl.Int32).alias("_level"), pl.lit(0, dtype=pl.Int64).alias("_roles"),
                    pl.lit([], dtype=pl.List(pl.Int32)).alias("_reads")]
        if not several.height:
            return frame.with_columns(*defaults, pl.col("_line").alias("_keyed"))
        self._shape_unknown(df, several.rename({"_pos": "_at"}))
        shapes = self._shapes_frame(several["_h"].unique().to_list())
        frame = frame.join(shapes, on=["_h", "index"], how="left", maintain_order="left")
        frame = frame.with_columns(pl.col(c).fill_null(d) for c, d in
                                   (("_first", pl.col("index")), ("_k", 0), ("_size", 1), (DEPASSEMENT_COLUMN, False),
                                    ("_level", -1), ("_roles", 0), ("_reads", pl.lit([], dtype=pl.List(pl.Int32)))))
        renumbered = [f for f in ("base_line", "modifies") if f in fields]
        if not renumbered:
            return frame.with_columns(pl.col("_line").alias("_keyed"))
        several_lines = pl.col("_size") > 1
        parts = [pl.when(several_lines).then(pl.col("_" + f)).otherwise(pl.col("lines").struct.field(f)).alias(f)
                 if f in renumbered else pl.col("lines").struct.field(f) for f in fields]
        return frame.with_columns(pl.struct(parts).alias("_keyed"))

    def _key_terms(self) -> tuple[dict[str, int], pl.Series, list[tuple[pl.Expr, pl.Series]]]:
        """The number of each planned code; the mask (by that number) of the codes whose values depend on the
        specialty; each distinct condition of the plans with the mask of the codes that read it (one expression
        per condition, evaluated on every line of a chunk at once)."""
        found = getattr(self, "_terms", None)
        if found is None:
            numbers = {code: i for i, code in enumerate(sorted(self.plans))}
            conditions: dict[str, tuple[pl.Expr, set[str]]] = {}
            for code, plan in self.plans.items():
                for expr in plan.conditions:
                    conditions.setdefault(str(expr), (expr, set()))[1].add(code)

            def mask(chosen) -> pl.Series:
                return pl.Series([code in chosen for code in numbers], dtype=pl.Boolean)
            found = self._terms = (numbers, mask({c for c, p in self.plans.items() if p.by_specialty}),
                                   [(expr, mask(users)) for _, (expr, users) in sorted(conditions.items())])
        return found

    def _breakpoints(self) -> pl.DataFrame:
        """(code, _from, _class): from day `_from` (days since 1970) on, a date of `code` is in class `_class`."""
        found = getattr(self, "_classes", None)
        if found is None:
            rows = [(code, day, i + 1) for code, plan in self.plans.items() for i, day in enumerate(plan.breakpoints)]
            found = self._classes = pl.DataFrame(rows, schema={"code": pl.String, "_from": pl.Int64, "_class": pl.Int64},
                                                 orient="row").sort("_from")
        return found

    def _read_columns(self) -> list[str]:
        """The claim columns the facts' column forms read, and those of the key."""
        found = getattr(self, "_reads", None)
        if found is None:
            names = {"date", "territory", "doctor.specialty", *self.constrained}
            for expr in self._facts.values():
                if expr is not None:
                    names.update(expr.meta.root_names())
            names -= {"_line", "lines", HOLIDAY_COLUMN, DEPASSEMENT_COLUMN}
            found = self._reads = sorted(names)
        return found

    def _holiday_column(self, frame: pl.DataFrame) -> pl.Series:
        """encounter.public_holiday per row, by the scalar definition on each distinct (date, territory)."""
        territory = pl.col("territory") if "territory" in frame.columns else pl.lit(None, dtype=pl.String)
        pairs = frame.select(pl.col("date"), territory.alias("territory"))
        distinct = pairs.unique()
        memo = self._holidays
        values = []
        for day, where in distinct.iter_rows():
            if (day, where) not in memo:
                if len(memo) > 100_000:
                    memo.clear()
                memo[(day, where)] = is_public_holiday(date.fromisoformat(day), where or "metropole")
            values.append(memo[(day, where)])
        table = distinct.with_columns(pl.Series(HOLIDAY_COLUMN, values, dtype=pl.Boolean))
        return pairs.join(table, on=["date", "territory"], how="left", nulls_equal=True,
                          maintain_order="left")[HOLIDAY_COLUMN]


def _line_reads(spec, found, component: tuple[int, ...]) -> dict[int, tuple[int, int, tuple[int, ...]]]:
    """Line -> (level, roles, reads) for the lines of a component read line by line (SEMANTIQUE.md § 2.7): of
    several lines, none priced from an external base (the claim stage ranks those), none in a cycle. A line's
    roles are its base declarations (the code of the line each designates, or none), its non-cumuls (rule, way,
    the other line's code) and the codes of the earlier lines its limits count; it reads the outcome of each base
    act, of each line it may yield to and of each such earlier line. Its level is 0 when it reads none, else one
    more than the highest level it reads. {} for a component keyed whole or of one line."""
    if len(component) == 1 or any(priced_from_external_base(found.lines[i]) or i in found.cycles for i in component):
        return {}
    codes = [lp.code for lp in found.lines]
    members = set(component)
    order = [i for i in found.order if i in members]
    out: dict[int, tuple[int, int, tuple[int, ...]]] = {}
    for at, i in enumerate(order):
        lp = found.lines[i]
        bases = tuple((k, b.explicit, codes[b.target] if b.target is not None else None)
                      for k, b in enumerate(lp.bindings))
        relations = tuple((r.rule_id, r.direction, codes[r.other]) for r in lp.relations)
        counted = {c for _, limit in declarations(spec, lp.concept, "limits") for c in limit["count_codes"]}
        earlier = tuple(j for j in order[:at] if codes[j] in counted)
        deps = tuple(b.target for b in lp.bindings if b.target is not None)
        deps += tuple(r.other for r in lp.relations if r.direction != "both") + earlier
        text = repr((lp.code, bases, relations, tuple(codes[j] for j in earlier))).encode()
        roles = int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little") >> 1
        level = 1 + max(out[j][0] for j in deps) if deps else 0
        out[i] = (level, roles, deps)
    return out


def _reads_other(item: dict) -> bool:
    """Whether a non-cumul's `unless` reads a fact of the other line (`other.`, SEMANTIQUE.md § 3.5)."""
    return any(name.startswith("other.") for name in facts_used(item["unless"]))


def size_of(df: pl.DataFrame) -> pl.Series:
    return df["lines"].list.len()

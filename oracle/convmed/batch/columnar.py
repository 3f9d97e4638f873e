"""The columnar backend: the new signatures of a chunk decided on the columns, from the same rules
(SEMANTIQUE.md § 2.7).

The batch engine groups a chunk's claims by signature (convmed.batch.engine: the classes of the facts the
claims' codes can read); every claim of a signature has the same answer. A new signature used to be priced by
the scalar pricer on its representative: with claims drawn independently, as varied as a year of national
activity, most signatures are new and that cost grew with the file. This backend decides the new signatures
together, on the columns of their representatives, and calls the scalar pricer only once per **line decision
key**, a number bounded by the spec and not by the file.

A claim whose lines do not read one another (`claim_plan.independent_lines`: no base act among them, no non-cumul
between them, no limit counting another of them, at most one priced from an external base) is priced line by
line, each line as it would be alone on the claim. A line's answer (status, amount, reason) then depends on
nothing but its decision key:

- the line itself (its code and every field it gives: quantity, coefficient, amount, base_amount, modifies...);
- the class of the claim's date between the dates its code's concepts write (`Relevance.of_code(code)
  .breakpoints`): within a class the same dated values, the same validity of every declaration, the same
  uncertain windows: the dated values joined by date range (one as-of join);
- the territory, and the specialty when the act's values depend on it;
- the truth value (true, false, unknown) of each condition the pricer can read for the code: its requirements
  (its own and its rules'), its limits' `when`, and for an act priced from an external base the association
  rules' `when`, each compiled to a polars expression from the operator registry
  (`convmed.conditions.columnar`, `Operator.columnar`) on the facts' column forms
  (`convmed.facts.claim_fact_column`);
- the presence of the leaves the schema constrains together (`Leaf.constrained`).

With no history, a limit counts nothing but its `when` decides. Each new line key is priced once by the scalar
pricer on a claim made of one representative's fields and that line (the reference); the claim's total and
completeness are summed on the columns. A representative is decided only when its validity is decided without
validating it (`BatchEngine._valid_on_columns`). Every other new signature is priced by the scalar pricer on its
representative, as before; the summary counts both (`columnar_signatures`, `scalar_signatures`), the claims
whose signature this backend decided (`columnar_rows`) and the keys it priced (`decision_keys`), and
`Columnar.not_expressed` names every act it leaves out and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from convmed.batch.rows import compact
from convmed.claim_plan import declarations, independent_lines
from convmed.conditions import columnar as condition_column
from convmed.conditions import facts_used
from convmed.facts import HOLIDAY_COLUMN, claim_fact_column, is_public_holiday

# the line fields the column forms read (added as nulls to a file's lines that lack them)
LINE_FIELDS = {"tarif_opposable": pl.Boolean}
KIND_DTYPES = {"str": pl.String, "bool": pl.Boolean, "int": pl.Int64}   # a leaf's kind -> its column type
_EPOCH = date(1970, 1, 1)
_H1, _H2 = 0x5DEC15, 0xC0DE5


@dataclass(frozen=True)
class CodePlan:
    code: str
    breakpoints: tuple[int, ...]          # days since 1970-01-01 of the dates its concepts write
    by_specialty: bool                    # its values are restricted to specialties
    conditions: tuple[pl.Expr, ...]       # the truth of each condition the pricer can read for it (null: unknown)
    holiday: bool                         # one of them reads encounter.public_holiday


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
        self._independent: dict[int, bool] = {}    # hash of a claim's lines -> independent_lines
        self._holidays: dict[tuple[str, str | None], bool] = {}
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

    def _plan(self, code: str, concept, associations) -> CodePlan | str:
        conditions = [(f"{owner.ref}#{item['id']}", item["condition"])
                      for owner, item in declarations(self.spec, concept, "requirements")]
        conditions += [(f"{owner.ref}#{item['id']}", item["when"])
                       for owner, item in declarations(self.spec, concept, "limits") if "when" in item]
        if concept.data.get("pricing") == "external_base":
            conditions += [(c.ref, c.data["when"]) for c in associations if "when" in c.data]
        exprs, holiday = [], False
        for ref, condition in conditions:
            expr = condition_column(condition, lambda name: claim_fact_column(name, self.vocabulary, self._column))
            if expr is None:
                return f"condition sans forme en colonnes ({ref})"
            holiday |= "encounter.public_holiday" in facts_used(condition)
            exprs.append(expr)
        need = self.relevance.of_code(code)
        days = tuple((d - _EPOCH).days for d in need.breakpoints)
        return CodePlan(code, days, need.specialty, tuple(exprs), holiday)

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
        found = df.select(out.fill_null(False).alias("eligible"), pl.col("lines").hash(0x1D).alias("_h"))
        mask = found["eligible"]
        if not mask.any():
            return none
        # one line: independent; several: decided once per distinct list of lines (remembered across chunks)
        several = found.with_row_index("_at").filter(mask & (size_of(df) > 1))
        if several.height:
            first = several.group_by("_h").agg(pl.col("_at").first())
            unknown = [(h, at) for h, at in first.iter_rows() if h not in self._independent]
            if unknown:
                rows = df["lines"].gather([at for _, at in unknown]).to_list()
                if len(self._independent) > 200_000:
                    self._independent.clear()
                for (h, _), claim_lines in zip(unknown, rows):
                    self._independent[h] = independent_lines(self.spec, [compact(line) for line in claim_lines])
            dependent = [h for h in first["_h"] if not self._independent.get(h, False)]
            if dependent:
                mask = mask & ~(found["_h"].is_in(dependent) & (size_of(df) > 1))
        return mask.alias("eligible")

    def line_keys(self, df: pl.DataFrame) -> pl.DataFrame:
        """One row per line of the (eligible, valid) claims of `df`: `_pos` (the claim's position in `df`),
        `index`, `code`, and (h1, h2) of its decision key; in (claim, line) order. The date's class is one
        as-of join on every code's breakpoints; each code's conditions are evaluated on its own lines."""
        needed = [c for c in self._read_columns() if c in df.columns]
        base = df.select(*needed, "lines").with_row_index("_pos")
        index = base.select(pl.int_ranges(0, pl.col("lines").list.len(), dtype=pl.Int32).alias("index")).explode("index")
        fields = {f.name for f in df.schema["lines"].inner.fields}
        missing = [pl.lit(None, dtype=dtype).alias(name) for name, dtype in LINE_FIELDS.items() if name not in fields]
        line = pl.col("lines")
        frame = base.explode("lines").with_columns(
            index["index"], pl.int_range(pl.len(), dtype=pl.Int64).alias("_at"),
            (line.struct.with_fields(missing) if missing else line).alias("_line"), line.struct.field("code").alias("code"),
            (pl.col("date").str.to_date("%Y-%m-%d") - pl.lit(_EPOCH)).dt.total_days().alias("_day"))
        # the number of the code's breakpoints on or before the day (0 before the first)
        frame = frame.sort("_day").join_asof(self._breakpoints(), left_on="_day", right_on="_from", by="code",
                                             strategy="backward", check_sortedness=False).with_columns(pl.col("_class").fill_null(0))
        if any(self.plans[c].holiday for c in frame["code"].unique()):
            frame = frame.with_columns(self._holiday_column(frame))
        territory = pl.col("territory") if "territory" in frame.columns else pl.lit(None, dtype=pl.String)
        constrained = [pl.col(c).is_not_null().alias("_p" + c) for c in self.constrained if c in frame.columns]
        parts = []
        for (code,), part in frame.group_by("code"):
            plan = self.plans[code]
            key = [pl.col("lines").alias("_line"), pl.col("_class"), territory.alias("_territory"),
                   (pl.col("doctor.specialty") if plan.by_specialty else pl.lit(None, dtype=pl.String))
                   .alias("_specialty"), *constrained]
            # each condition's truth: 0 false, 1 true, 2 unknown
            key += [pl.when(c.is_null()).then(2).when(c).then(1).otherwise(0).cast(pl.Int8).alias(f"_c{i}")
                    for i, c in enumerate(plan.conditions)]
            k = pl.struct(key)
            parts.append(part.select("_at", "_pos", "index", "code", k.hash(_H1).alias("h1"), k.hash(_H2).alias("h2")))
        if not parts:
            return pl.DataFrame(schema={"_pos": pl.UInt32, "index": pl.Int32, "code": pl.String,
                                        "h1": pl.UInt64, "h2": pl.UInt64})
        return pl.concat(parts).sort("_at").drop("_at")

    def _breakpoints(self) -> pl.DataFrame:
        """(code, _from, _class): from day `_from` (days since 1970) on, a date of `code` is in class `_class`."""
        found = getattr(self, "_classes", None)
        if found is None:
            rows = [(code, day, i + 1) for code, plan in self.plans.items() for i, day in enumerate(plan.breakpoints)]
            found = self._classes = pl.DataFrame(rows, schema={"code": pl.String, "_from": pl.Int64, "_class": pl.Int64},
                                                 orient="row").sort("_from")
        return found

    def _read_columns(self) -> list[str]:
        """The claim columns the plans' expressions read, and those of the key."""
        found = getattr(self, "_reads", None)
        if found is None:
            names = {"date", "territory", "doctor.specialty", *self.constrained}
            for plan in self.plans.values():
                for expr in plan.conditions:
                    names.update(expr.meta.root_names())
            names -= {"_line", "lines", HOLIDAY_COLUMN}
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


def size_of(df: pl.DataFrame) -> pl.Series:
    return df["lines"].list.len()

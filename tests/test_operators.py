"""The operator registry (convmed.operators): one definition per operator, and every reader agrees with it.

- the schema file's condition leaf is the one the registry writes;
- each operator's columnar (polars) form gives the scalar truth on every class of values, a missing value
  included (null = unknown), and compositions with all / any / not agree with Kleene's logic of
  convmed.conditions;
- adding an operator is one definition: the example of spec/README.md (`multiple_of`) is registered here and
  reaches the schema, the evaluation, the trace text, the French sentence, the batch signatures and the
  columnar form without any other change.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from convmed import conditions, operators
from convmed.facts import MissingFact
from convmed.operators import REGISTRY, Operator

REPO = Path(__file__).resolve().parent.parent
pl = pytest.importorskip("polars")


class Facts:
    def __init__(self, values: dict):
        self.values = values

    def get(self, name):
        if self.values.get(name) is None:
            raise MissingFact(name)
        return self.values[name]


def test_the_schema_file_is_written_from_the_registry():
    out = subprocess.run([sys.executable, str(REPO / "tools" / "write_operator_schema.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
    doc = json.loads((REPO / "schemas/spec/common.schema.json").read_text(encoding="utf-8"))
    leaf = next(f for f in doc["$defs"]["condition"]["oneOf"] if f.get("required") == ["fact"])
    assert set(leaf["properties"]) - {"fact", "where"} == set(REGISTRY)


# operands and values of every class each operator tells apart (below, on, above a bound; in, out of a list)
CASES = {
    "is": ([True, False], [True, False, None]),
    "equals": ([3, "S1"], [2, 3, 4, "S1", "S2", None]),
    "in": ([[1, 3], ["S1", "S2"]], [0, 1, 2, 3, 4, "S1", "S2", "S3", None]),
    "not_in": ([[1, 3], ["S1", "S2"]], [0, 1, 2, 3, 4, "S1", "S2", "S3", None]),
    "lt": ([6], [5, 6, 7, None]),
    "le": ([6], [5, 6, 7, None]),
    "gt": ([6], [5, 6, 7, None]),
    "ge": ([6], [5, 6, 7, None]),
    "present": ([True, False], [1, 7, None]),
    "before": (["2024-06-30"], ["2024-06-29", "2024-06-30", "2024-07-01", None]),
    "on_or_before": (["2024-06-30"], ["2024-06-29", "2024-06-30", "2024-07-01", None]),
    "on_or_after": (["2024-06-30"], ["2024-06-29", "2024-06-30", "2024-07-01", None]),
    "after": (["2024-06-30"], ["2024-06-29", "2024-06-30", "2024-07-01", None]),
    "between": ([[3, 6], [6, 6]], [2, 3, 4, 5, 6, 7, None]),
    "intersects": ([[1, 3], ["hysterectomy_total", "x"]],
                   [[], [1], [2], [1, 3], [2, 4], ["x"], ["y"], ["x", "y"], None]),
    "contains": ([3, "x"], [[], [3], [2, 3], [2], ["x"], ["y", "x"], ["y"], None]),
}
SET_OPERATORS = {"intersects", "contains"}


def test_every_operator_has_its_value_classes_here():
    assert set(CASES) == set(REGISTRY)


def _same_type(operand, value) -> bool:
    sample = operand[0] if isinstance(operand, list) else operand
    if isinstance(value, list):   # a set: its members of the operand's type
        return bool(value) and _same_type(operand, value[0]) or not value
    return value is None or isinstance(value, bool) == isinstance(sample, bool) and \
        isinstance(value, str) == isinstance(sample, str)


@pytest.mark.parametrize("name", sorted(CASES))
def test_scalar_and_columnar_forms_agree_on_every_value_class(name):
    op = REGISTRY[name]
    operands, values = CASES[name]
    for operand in operands:
        vals = [v for v in values if op.presence or _same_type(operand, v)]
        cond = {"fact": "x", name: operand}
        scalar = [conditions.truth(cond, Facts({"x": v}))[0] for v in vals]
        flat = [x for v in vals for x in (v if isinstance(v, list) else [v])]
        dtype = pl.Boolean if isinstance(vals[0], bool) else pl.String if any(isinstance(v, str) for v in flat) \
            else pl.Int64
        if name in SET_OPERATORS:
            dtype = pl.List(dtype)
        frame = pl.DataFrame({"x": pl.Series(vals, dtype=dtype)})
        columnar = frame.select(op.columnar(pl.col("x"), operand).alias("r"))["r"].to_list()
        assert columnar == scalar, (name, operand, vals)
        if not op.presence:   # a missing value is unknown, never a guess
            assert scalar[vals.index(None)] is None


@pytest.mark.parametrize("name", sorted(SET_OPERATORS))
def test_a_set_operator_on_a_bit_mask_is_its_test(name):
    """fmt_columnar reads ALDs and flags as bit masks: the operator's `bits` form is its test on the set."""
    op = REGISTRY[name]
    for operand in ([1, 3], [5]) if name == "intersects" else (3, 5):
        members = operand if isinstance(operand, list) else [operand]
        mask = sum(1 << m for m in members)
        sets = [[], [1], [3], [2, 4], [1, 3, 5], [5]]
        frame = pl.DataFrame({"x": pl.Series([sum(1 << m for m in v) for v in sets], dtype=pl.UInt64)})
        got = frame.select(op.bits(pl.col("x"), pl.lit(mask, pl.UInt64)).alias("r"))["r"].to_list()
        assert got == [op.test(v, operand) for v in sets], (name, operand)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["lt", "le", "gt", "ge", "between", "equals", "in", "not_in"]),
       st.integers(-3, 30), st.integers(0, 12), st.integers(-5, 40), st.integers(0, 15))
def test_a_range_is_decided_only_when_every_value_agrees(name, a, width, lo, span):
    """A fact known only between two integers (an age in months from an age in years, a count of events that
    may not match): decided when the operator has one truth over the whole range, unknown otherwise."""
    from convmed.facts import Range

    operand = {"between": [a, a + width], "in": [a, a + width], "not_in": [a]}.get(name, a)
    hi = lo + span
    brute = {REGISTRY[name].test(v, operand) for v in range(lo, hi + 1)}
    got, missing = conditions.truth({"fact": "x", name: operand}, Facts({"x": Range(lo, hi)}))
    assert got == (brute.pop() if len(brute) == 1 else None)
    assert missing == (() if got is not None else ("x",))


LEAVES = [{"fact": "a", "lt": 6}, {"fact": "b", "in": ["S1", "S2"]}, {"fact": "c", "is": True},
          {"fact": "a", "ge": 3}, {"fact": "b", "present": True}]


def _tree():
    leaf = st.sampled_from(LEAVES)
    return st.recursive(leaf, lambda kids: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(kids, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(kids, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, kids)), max_leaves=6)


def _columnar(cond):
    if "all" in cond:
        expr = _columnar(cond["all"][0])
        for c in cond["all"][1:]:
            expr = expr & _columnar(c)
        return expr
    if "any" in cond:
        expr = _columnar(cond["any"][0])
        for c in cond["any"][1:]:
            expr = expr | _columnar(c)
        return expr
    if "not" in cond:
        return ~_columnar(cond["not"])
    op, operand = operators.of(cond)
    return op.columnar(pl.col(cond["fact"]), operand)


@settings(max_examples=150, deadline=None)
@given(_tree())
def test_kleene_compositions_agree_between_the_two_forms(cond):
    rows = [{"a": a, "b": b, "c": c} for a in (2, 4, 7, None) for b in ("S1", "S3", None) for c in (True, False, None)]
    frame = pl.DataFrame(rows, schema={"a": pl.Int64, "b": pl.String, "c": pl.Boolean})
    columnar = frame.select(_columnar(cond).alias("r"))["r"].to_list()
    scalar = [conditions.truth(cond, Facts(r))[0] for r in rows]
    assert columnar == scalar, cond


def test_adding_an_operator_is_one_definition(monkeypatch):
    """The example of spec/README.md: `multiple_of` (an integer fact divisible by the operand)."""
    from jsonschema import Draft202012Validator

    from convmed.batch.signature import Analysis, _walk
    from convmed.docs.french import Phrasebook
    from convmed.model import load_spec

    multiple_of = Operator(
        "multiple_of", {"type": "integer", "minimum": 1}, lambda v, o: v % o == 0,
        formal=lambda f, o: f"{f} multiple de {o}",
        french=lambda f, o, w: f"{f} est un multiple de {o}",
        columnar=lambda c, o: (c % o) == 0,
        critical=lambda o: [o], by_order=False)
    monkeypatch.setitem(REGISTRY, "multiple_of", multiple_of)
    conditions._COMPILED.clear()
    cond = {"all": [{"fact": "patient.age_years", "multiple_of": 5}, {"fact": "patient.age_years", "ge": 10}]}
    # the schema the registry writes accepts it (and refuses a bad operand)
    leaf = operators.leaf_schema()
    leaf["properties"]["fact"] = {"type": "string"}
    assert Draft202012Validator(leaf).is_valid({"fact": "patient.age_years", "multiple_of": 5})
    assert not Draft202012Validator(leaf).is_valid({"fact": "patient.age_years", "multiple_of": 0})
    # evaluation, three-valued
    assert conditions.truth(cond, Facts({"patient.age_years": 15}))[0] is True
    assert conditions.truth(cond, Facts({"patient.age_years": 12}))[0] is False
    assert conditions.truth(cond, Facts({}))[0] is None
    # trace text and French sentence
    assert conditions.describe(cond) == "patient.age_years multiple de 5 et patient.age_years ≥ 10"
    assert "est un multiple de 5" in Phrasebook(load_spec()).describe(cond)
    # batch signatures: a non-order operator does not class the values by bounds
    analysis = Analysis()
    _walk(cond, analysis, set())
    assert analysis.ops["patient.age_years"] == {"multiple_of", "ge"}
    assert not operators.all_by_order(analysis.ops["patient.age_years"])
    # columnar
    frame = pl.DataFrame({"patient.age_years": [15, 12, None]})
    got = frame.select(_columnar(cond).alias("r"))["r"].to_list()
    assert got == [True, False, None]
    conditions._COMPILED.clear()


@pytest.mark.parametrize("name", ["before", "on_or_before", "on_or_after", "after"])
def test_a_date_operator_changes_truth_only_at_its_days(name):
    """The batch signatures class dates between breakpoints: a date operator's `dates` hold every day at which
    its truth changes (`after: D` is false on D, true on D + 1)."""
    from datetime import date, timedelta

    op = REGISTRY[name]
    operand = "2024-06-30"
    days = [date(2024, 6, 25) + timedelta(days=i) for i in range(12)]
    changes = {b for a, b in zip(days, days[1:]) if op.test(a, operand) != op.test(b, operand)}
    assert changes and changes <= set(op.dates(operand))

"""The operators of the rule language: each one defined once, with everything any part of convmed needs of it.

A condition leaf is `{fact: <name>, <operator>: <operand>}` (spec/SEMANTIQUE.md § 1, schema
spec/common#/$defs/condition). An `Operator` holds, for one operator:

- `schema`: the JSON Schema of its operand (schemas/spec/common.schema.json is written from these:
  `python tools/write_operator_schema.py`; a test checks the file agrees);
- `test(value, operand)`: its truth for a fact that has a value (a missing fact makes the leaf unknown,
  convmed.conditions); a `presence` operator's test receives whether the fact has a value instead, and is never
  unknown;
- `formal(fact, operand)`: its compact text in traces; `french(fact_label, operand, words)`: its sentence on the
  documentation site (`words.value(v)` / `words.values(vs)` render operand values with their labels);
- `critical(operand)`: the integers it compares with: its truth can change at each of them `v` and at `v + 1`
  (the batch signatures' value classes, the fuzzer's probes), `dates(operand)`: the same days for a date
  operator, `strings(operand)`: the strings it compares with,
  `terms(operand)`: the operand values that must be terms of the fact's vocabulary (`spec check`);
- `elementwise`: `test` also applies to a numpy array of values (the comparisons): the columnar FMT tests
  event counts and ages at events with it; `reads`: the fact value types it applies to (`spec check` refuses
  it on another type; empty: any);
- `columnar(column, operand)`: the same test as a polars expression, null for a missing value (polars' `&` / `|`
  are Kleene's, as `all` / `any`): `tests/test_operators.py` checks it agrees with `test` on every value class.

Adding an operator is adding one `Operator` to `REGISTRY` (and its tests): spec/README.md shows the example.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Callable

_SCALAR = {"type": ["string", "integer"]}
_INTEGER = frozenset({"integer"})
_VALUES = frozenset({"integer", "string", "enum", "code_set"})   # compared by equality
_SETS = frozenset({"integer_set", "string_set"})


def _ints(operand) -> list[int]:
    values = operand if isinstance(operand, list) else [operand]
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def _strs(operand) -> list[str]:
    values = operand if isinstance(operand, list) else [operand]
    return [v for v in values if isinstance(v, str)]


def _listed(operand) -> str:
    return ", ".join(map(str, operand))


@dataclass(frozen=True)
class Operator:
    name: str
    schema: dict
    test: Callable[[Any, Any], bool]
    formal: Callable[[str, Any], str]
    french: Callable[[str, Any, Any], str]
    columnar: Callable[[Any, Any], Any]
    critical: Callable[[Any], list[int]] = lambda operand: []
    strings: Callable[[Any], list[str]] = lambda operand: []
    dates: Callable[[Any], list[date]] = lambda operand: []   # the days at which its truth can change
    terms: Callable[[Any], list] = lambda operand: []
    bits: Callable[[Any, int], Any] | None = None   # a set operator's test on a set encoded as a bit mask
    presence: bool = False   # decided by whether the fact has a value (never unknown)
    by_equality: bool = False  # truth depends only on which operand value the value equals (strings classed)
    by_order: bool = False     # truth depends only on the value's class between `critical` integers
    elementwise: bool = False  # `test` also applies to a numpy array of values, element by element
    reads: frozenset = frozenset()   # the fact value types (vocabulary `type`) it reads; empty: any (spec check)


def _comparison(name: str, symbol: str, words: str, fn: Callable[[Any, Any], bool], col_fn: str) -> Operator:
    return Operator(
        name, {"type": "integer"}, fn,
        formal=lambda f, o: f"{f} {symbol} {o}",
        french=lambda f, o, w: f"{f} est {words} {o}",
        columnar=lambda c, o: getattr(c, col_fn)(o),
        critical=_ints,
        by_order=True, elementwise=True, reads=_INTEGER,
    )


_DATE = {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"}


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def strict_date(value) -> date:
    """A calendar date written AAAA-MM-JJ (or a date object), nothing else: Python's fromisoformat also reads
    week dates (2025-W01-3) and other forms that compare wrongly as text; they are refused (ValueError)."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return date.fromisoformat(value)
    raise ValueError(f"not a date (AAAA-MM-JJ): {value!r}")


def _date_comparison(name: str, words: str, fn: Callable[[date, date], bool], col_fn: str) -> Operator:
    return Operator(
        name, _DATE, lambda v, o: fn(strict_date(v), strict_date(o)),
        formal=lambda f, o: f"{f} {words} {o}",
        french=lambda f, o, w: f"{f} est {words} {o}",
        columnar=lambda c, o: getattr(c.cast(str), col_fn)(str(o)),   # ISO text orders as the dates (inputs are strict)
        dates=lambda o: [strict_date(o)] + ([strict_date(o) + timedelta(days=1)] if strict_date(o) < date.max else []),
        reads=frozenset({"date"}),
    )   # the operand day and the next: `after: D` is false on D and true on D + 1 (batch signatures' breakpoints)


def _members(operand) -> list:
    return operand if isinstance(operand, list) else [operand]


def _intersects_columnar(c, operand):
    import polars as pl

    return pl.when(c.is_null()).then(None).otherwise(c.list.eval(pl.element().is_in(_members(operand))).list.any())


def _in_columnar(c, operand):
    import polars as pl

    # a missing value stays missing (unknown), as `test` is never asked about it
    return pl.when(c.is_null()).then(None).otherwise(c.is_in(operand))


def _not_in_columnar(c, operand):
    import polars as pl

    return pl.when(c.is_null()).then(None).otherwise(~c.is_in(operand))


REGISTRY: dict[str, Operator] = {op.name: op for op in (
    Operator("is", {"type": "boolean"}, lambda v, o: v is o,
             formal=lambda f, o: f if o else f"non {f}",
             french=lambda f, o, w: f"{f} : oui" if o else f"{f} : non",
             columnar=lambda c, o: c == o, reads=frozenset({"boolean"})),
    Operator("equals", _SCALAR, lambda v, o: v == o,
             formal=lambda f, o: f"{f} = {o}",
             french=lambda f, o, w: f"{f} vaut {w.value(o)}",
             columnar=lambda c, o: c == o,
             critical=_ints, strings=_strs, terms=lambda o: [o], by_equality=True, by_order=True, reads=_VALUES),
    Operator("in", {"type": "array", "items": _SCALAR, "minItems": 1}, lambda v, o: v in o,
             formal=lambda f, o: f"{f} ∈ {{{_listed(o)}}}",
             french=lambda f, o, w: f"{f} vaut {w.values(o)}" if len(o) > 1 else f"{f} vaut {w.value(o[0])}",
             columnar=_in_columnar, critical=_ints, strings=_strs, terms=lambda o: list(o), by_equality=True,
             by_order=True, reads=_VALUES),
    Operator("not_in", {"type": "array", "items": _SCALAR, "minItems": 1}, lambda v, o: v not in o,
             formal=lambda f, o: f"{f} ∉ {{{_listed(o)}}}",
             french=lambda f, o, w: f"{f} ne vaut pas {w.values(o)}",
             columnar=_not_in_columnar, critical=_ints, strings=_strs, terms=lambda o: list(o), by_equality=True,
             by_order=True, reads=_VALUES),
    _comparison("lt", "<", "strictement inférieur à", lambda v, o: v < o, "__lt__"),
    _comparison("le", "≤", "inférieur ou égal à", lambda v, o: v <= o, "__le__"),
    _comparison("gt", ">", "strictement supérieur à", lambda v, o: v > o, "__gt__"),
    _comparison("ge", "≥", "supérieur ou égal à", lambda v, o: v >= o, "__ge__"),
    _date_comparison("before", "avant le", lambda v, o: v < o, "__lt__"),
    _date_comparison("on_or_before", "au plus tard le", lambda v, o: v <= o, "__le__"),
    _date_comparison("on_or_after", "au plus tôt le", lambda v, o: v >= o, "__ge__"),
    _date_comparison("after", "après le", lambda v, o: v > o, "__gt__"),
    Operator("between", {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
             lambda v, o: (o[0] <= v) & (v <= o[1]),   # elementwise on numpy arrays too (`elementwise`)
             formal=lambda f, o: f"{o[0]} ≤ {f} ≤ {o[1]}",
             french=lambda f, o, w: f"{f} est compris entre {o[0]} et {o[1]} inclus",
             columnar=lambda c, o: c.is_between(o[0], o[1]),
             critical=_ints, by_order=True, elementwise=True, reads=_INTEGER),
    # set-valued facts (a patient's ALDs, flags): any / this one of the operand's values among the fact's
    Operator("intersects", {"type": "array", "items": _SCALAR, "minItems": 1},
             lambda v, o: any(x in o for x in v),
             formal=lambda f, o: f"{f} ∩ {{{_listed(o)}}} ≠ ∅",
             french=lambda f, o, w: f"{f} comprend au moins une valeur parmi {w.values(o)}",
             columnar=_intersects_columnar, strings=_strs, terms=lambda o: list(o),
             bits=lambda c, mask: (c & mask) != 0, reads=_SETS),
    Operator("contains", _SCALAR, lambda v, o: o in v,
             formal=lambda f, o: f"{o} ∈ {f}",
             french=lambda f, o, w: f"{f} comprend {w.value(o)}",
             columnar=_intersects_columnar, strings=_strs, terms=lambda o: [o],
             bits=lambda c, mask: (c & mask) != 0, reads=_SETS),
    # a presence operator's test reads whether the fact has a value, not the value
    Operator("present", {"type": "boolean"}, lambda present, o: present is o,
             formal=lambda f, o: f"{f} renseigné" if o else f"{f} non renseigné",
             french=lambda f, o, w: f"{f} est renseigné" if o else f"{f} n'est pas renseigné",
             columnar=lambda c, o: c.is_not_null() if o else c.is_null(),
             presence=True, by_equality=True, by_order=True),
)}


def decide_range(op: Operator, operand, lo: int, hi: int):
    """The truth of `op` for a fact known only to lie between `lo` and `hi` (inclusive: an age in months of a
    patient whose age is given in years only): True or False when the test has that value for every integer of
    the range, None (unknown) otherwise. An ordered operator's truth changes only at its critical integers
    (`critical`: at v and v + 1), so the ends and the critical integers inside the range decide it
    (spec/SEMANTIQUE.md § 1.5)."""
    if not op.by_order or op.strings(operand):
        return None
    points = {lo, hi} | {p for c in op.critical(operand) for p in (c - 1, c, c + 1) if lo <= p <= hi}
    found = {op.test(p, operand) for p in points}
    return found.pop() if len(found) == 1 else None


def all_by_equality(ops: set[str]) -> bool:
    """Whether the operators used on a fact decide its truth by equality with their operands only (`same`, a
    limit's comparison between lines, too): its values can be classed by the strings they are compared to."""
    return all(o == "same" or (o in REGISTRY and REGISTRY[o].by_equality) for o in ops)


def all_by_order(ops: set[str]) -> bool:
    """Whether the operators used on a fact decide its truth by its class between critical integers only."""
    return all(o in REGISTRY and REGISTRY[o].by_order for o in ops)


def leaf_schema() -> dict:
    """The JSON Schema of a condition leaf, from the registry (schemas/spec/common.schema.json holds this)."""
    return {"type": "object", "required": ["fact"], "minProperties": 2, "additionalProperties": False,
            "if": {"required": ["where"]}, "then": {"maxProperties": 3, "minProperties": 3},
            "else": {"maxProperties": 2},
            "properties": {"fact": {"$ref": "#/$defs/fact_name"},
                           "where": {"$ref": "#/$defs/fact_parameters"},
                           **{name: op.schema for name, op in REGISTRY.items()}}}


def of(cond: dict) -> tuple[Operator, Any]:
    """The operator of a leaf (the one key beside `fact` and a parameterised fact's `where`, schema: exactly
    one) and its operand."""
    for key, operand in cond.items():
        if key not in ("fact", "where"):
            op = REGISTRY.get(key)
            if op is None:
                raise ValueError(f"unknown operator {key}")
            return op, operand
    raise ValueError(f"condition without operator: {cond}")

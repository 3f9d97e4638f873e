"""The declarative conditions of spec/ (schema: spec/common#/$defs/condition), in three-valued logic.

A condition is true, false or *unknown* (Python `None`): a leaf whose fact the claim does not give is
unknown, and `all` / `any` / `not` combine truth values by Kleene's strong logic (spec/SEMANTIQUE.md,
§ Conditions):

- `all`: false if one part is false, else unknown if one part is unknown, else true;
- `any`: true if one part is true, else unknown if one part is unknown, else false;
- `not`: swaps true and false, keeps unknown.

The result does not depend on the order in which the parts are written. A leaf `present` is never unknown.
When the result is unknown, the facts that left it undecided are the missing facts of the unknown parts.
"""

from __future__ import annotations

from typing import Callable

from convmed.operators import of

Truth = bool | None   # True, False, or None for unknown


def _missing_fact():
    from convmed.facts import MissingFact

    return MissingFact


class MissingFacts(_missing_fact()):
    """The condition is unknown: `names` are the facts it needs that the claim does not give (a MissingFact whose
    `name` is the first of them)."""

    def __init__(self, names: tuple[str, ...]):
        super().__init__(names[0] if names else "")
        self.names = names


def truth(cond: dict, facts) -> tuple[Truth, tuple[str, ...]]:
    """(truth value, missing facts) of `cond` for `facts` (anything with `get(name)` raising MissingFact for a
    fact it lacks); the missing facts are those that left the value unknown (empty when it is decided)."""
    missing: list[str] = []
    value = compiled(cond)(facts, missing)
    return value, (tuple(dict.fromkeys(missing)) if value is None else ())


def evaluate(cond: dict, facts) -> bool:
    """True or False; an unknown condition raises MissingFacts naming the facts that would decide it."""
    value, missing = truth(cond, facts)
    if value is None:
        raise MissingFacts(missing)
    return value


def predicate(cond: dict) -> Callable:
    """`cond` as a function facts -> True / False / None (unknown), for callers that do not ask which facts are
    missing (the forfait criteria, counted per patient)."""
    fn = compiled(cond)
    return lambda facts: fn(facts, [])


_COMPILED: dict[int, tuple[dict, Callable]] = {}   # id(cond) -> (cond, its function): cond kept alive, id not reused


def compiled(cond: dict) -> Callable:
    """`cond` as a function (facts, missing: list) -> Truth that appends to `missing` the facts it lacks,
    built once per condition object (the spec's conditions live as long as the process)."""
    found = _COMPILED.get(id(cond))
    if found is not None and found[0] is cond:
        return found[1]
    fn = _compile(cond)
    if len(_COMPILED) >= 10_000:
        _COMPILED.clear()
    _COMPILED[id(cond)] = (cond, fn)
    return fn


def _kleene(parts, absorbing: bool):
    """`all` (absorbing False) or `any` (absorbing True): the absorbing value as soon as one part has it; else
    unknown if one part is unknown (its missing facts reported); else the other value."""
    def combined(facts, missing):
        unknown = []
        for p in parts:
            mine: list[str] = []
            v = p(facts, mine)
            if v is absorbing:
                return absorbing
            if v is None:
                unknown.extend(mine)
        if unknown:
            missing.extend(unknown)
            return None
        return not absorbing
    return combined


def _not(inner):
    def not_(facts, missing):
        v = inner(facts, missing)
        return None if v is None else not v
    return not_


def _leaf(name: str, op, operand, where):
    from convmed.facts import MissingFact, Range
    from convmed.operators import decide_range

    test = op.test

    def leaf(facts, missing):
        try:
            value = facts.get(name) if where is None else facts.get(name, where)
        except MissingFact:
            missing.append(name)
            return None
        if type(value) is Range:   # known only between two integers: decided if the same for all of them
            decided = (test(value.lo, operand) if value.lo == value.hi
                       else decide_range(op, operand, value.lo, value.hi))
            if decided is None:
                missing.append(name)
            return decided
        return test(value, operand)
    return leaf


def _compile(cond: dict) -> Callable:
    if "all" in cond:
        return _kleene(tuple(_compile(c) for c in cond["all"]), False)
    if "any" in cond:
        return _kleene(tuple(_compile(c) for c in cond["any"]), True)
    if "not" in cond:
        return _not(_compile(cond["not"]))
    name = cond["fact"]
    op, operand = of(cond)   # convmed.operators: the one definition of each operator
    where = cond.get("where")
    if op.presence:
        from convmed.facts import MissingFact

        def present(facts, missing):
            try:
                facts.get(name) if where is None else facts.get(name, where)
            except MissingFact:
                return op.test(False, operand)
            return op.test(True, operand)
        return present
    return _leaf(name, op, operand, where)


def columnar(cond: dict, fact_column: Callable):
    """`cond` as a polars expression of its truth, null for unknown (Kleene: polars' `&` / `|` / `~` on
    nullable booleans are `all` / `any` / `not`), each leaf the operator's own column form
    (Operator.columnar) on the fact's column (`fact_column(name)`: an expression, or None when the fact has
    no column form); None when a leaf cannot be expressed (a fact without a column form, a parameterised
    fact)."""
    if "all" in cond or "any" in cond:
        parts = [columnar(c, fact_column) for c in cond.get("all") or cond.get("any")]
        if any(p is None for p in parts):
            return None
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if "all" in cond else (out | p)
        return out
    if "not" in cond:
        inner = columnar(cond["not"], fact_column)
        return None if inner is None else ~inner
    if "where" in cond:
        return None
    column = fact_column(cond["fact"])
    if column is None:
        return None
    op, operand = of(cond)
    return op.columnar(column, operand)


def describe(cond: dict) -> str:
    """The condition in compact formal French (used in traces; the docs use convmed.docs.french)."""
    if "all" in cond:
        return " et ".join(_wrap(c) for c in cond["all"])
    if "any" in cond:
        return " ou ".join(_wrap(c) for c in cond["any"])
    if "not" in cond:
        return f"non ({describe(cond['not'])})"
    op, operand = of(cond)
    return op.formal(_formal_fact(cond), operand)


def _formal_fact(cond: dict) -> str:
    """The fact of a leaf as the trace writes it: a parameterised fact with its parameters."""
    where = cond.get("where")
    if where is None:
        return cond["fact"]
    parts = []
    for key, value in where.items():
        if key in ("age_years", "age_months"):
            op, operand = of(value)
            parts.append(op.formal(key, operand))
        elif key == "window":
            parts.append("window=" + ", ".join(f"{k}:{v}" for k, v in value.items()))
        else:
            parts.append(f"{key}={value}")
    return f"{cond['fact']}[{', '.join(parts)}]"


def _wrap(cond: dict) -> str:
    text = describe(cond)
    return f"({text})" if ("all" in cond or "any" in cond) else text


def facts_used(cond: dict) -> set[str]:
    if "all" in cond or "any" in cond:
        return set().union(*(facts_used(c) for c in cond.get("all") or cond.get("any")))
    if "not" in cond:
        return facts_used(cond["not"])
    return {cond["fact"]}

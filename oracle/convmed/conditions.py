"""Evaluate the declarative conditions of spec/ (schema: spec/common#/$defs/condition)."""

from __future__ import annotations


def evaluate(cond: dict, facts) -> bool:
    """Does `cond` hold for `facts` (anything with `get(name)` raising MissingFact for a fact it lacks)?
    `all` and `any` stop at the first condition that decides, in order; a missing fact raises MissingFact,
    except under `present`."""
    return compiled(cond)(facts)


_COMPILED: dict[int, tuple[dict, object]] = {}   # id(cond) -> (cond, its function): cond kept alive, id not reused


def compiled(cond: dict):
    """`cond` as a function facts -> bool, built once per condition object (the spec's conditions live as long
    as the process; the memory is bounded all the same)."""
    found = _COMPILED.get(id(cond))
    if found is not None and found[0] is cond:
        return found[1]
    fn = _compile(cond)
    if len(_COMPILED) >= 10_000:
        _COMPILED.clear()
    _COMPILED[id(cond)] = (cond, fn)
    return fn


def _compile(cond: dict):
    if "all" in cond:
        parts = tuple(_compile(c) for c in cond["all"])
        return lambda facts: all(p(facts) for p in parts)
    if "any" in cond:
        parts = tuple(_compile(c) for c in cond["any"])
        return lambda facts: any(p(facts) for p in parts)
    if "not" in cond:
        inner = _compile(cond["not"])
        return lambda facts: not inner(facts)
    name = cond["fact"]
    for op, operand in cond.items():   # the one operator beside "fact" (schema: exactly one)
        if op != "fact":
            break
    else:
        raise ValueError(f"condition without operator: {cond}")
    if op == "present":
        def present(facts):
            try:
                facts.get(name)
                return operand
            except Exception:  # MissingFact
                return not operand
        return present
    if op == "is":
        return lambda facts: facts.get(name) is operand
    if op == "equals":
        return lambda facts: facts.get(name) == operand
    if op == "in":
        return lambda facts: facts.get(name) in operand
    if op == "not_in":
        return lambda facts: facts.get(name) not in operand
    if op == "lt":
        return lambda facts: facts.get(name) < operand
    if op == "le":
        return lambda facts: facts.get(name) <= operand
    if op == "gt":
        return lambda facts: facts.get(name) > operand
    if op == "ge":
        return lambda facts: facts.get(name) >= operand
    if op == "contains_any":
        wanted = set(operand)
        return lambda facts: bool(set(facts.get(name)) & wanted)
    if op == "contains_none":
        wanted = set(operand)
        return lambda facts: not set(facts.get(name)) & wanted
    raise ValueError(f"unknown operator {op}")


_OPS_FR = {"lt": "<", "le": "≤", "gt": ">", "ge": "≥"}


def describe(cond: dict) -> str:
    """The condition in plain French (used in traces and docs)."""
    if "all" in cond:
        return " et ".join(_wrap(c) for c in cond["all"])
    if "any" in cond:
        return " ou ".join(_wrap(c) for c in cond["any"])
    if "not" in cond:
        return f"non ({describe(cond['not'])})"
    name = cond["fact"]
    (op, operand), = ((k, v) for k, v in cond.items() if k != "fact")
    if op == "is":
        return name if operand else f"non {name}"
    if op == "equals":
        return f"{name} = {operand}"
    if op == "in":
        return f"{name} ∈ {{{', '.join(map(str, operand))}}}"
    if op == "not_in":
        return f"{name} ∉ {{{', '.join(map(str, operand))}}}"
    if op in _OPS_FR:
        return f"{name} {_OPS_FR[op]} {operand}"
    if op == "contains_any":
        return f"{name} contient l'un de {{{', '.join(operand)}}}"
    if op == "contains_none":
        return f"{name} ne contient aucun de {{{', '.join(operand)}}}"
    if op == "present":
        return f"{name} renseigné" if operand else f"{name} non renseigné"
    return str(cond)


def _wrap(cond: dict) -> str:
    text = describe(cond)
    return f"({text})" if ("all" in cond or "any" in cond) else text


def facts_used(cond: dict) -> set[str]:
    if "all" in cond or "any" in cond:
        return set().union(*(facts_used(c) for c in cond.get("all") or cond.get("any")))
    if "not" in cond:
        return facts_used(cond["not"])
    return {cond["fact"]}

"""Evaluate the declarative conditions of spec/ (schema: spec/common#/$defs/condition)."""

from __future__ import annotations

from convmed.facts import Facts


def evaluate(cond: dict, facts: Facts) -> bool:
    if "all" in cond:
        return all(evaluate(c, facts) for c in cond["all"])
    if "any" in cond:
        return any(evaluate(c, facts) for c in cond["any"])
    if "not" in cond:
        return not evaluate(cond["not"], facts)
    name = cond["fact"]
    for op, operand in cond.items():   # the one operator beside "fact" (schema: exactly one)
        if op != "fact":
            break
    if op == "present":
        try:
            facts.get(name)
            return operand
        except Exception:  # MissingFact
            return not operand
    value = facts.get(name)
    if op == "is":
        return value is operand
    if op == "equals":
        return value == operand
    if op == "in":
        return value in operand
    if op == "not_in":
        return value not in operand
    if op == "lt":
        return value < operand
    if op == "le":
        return value <= operand
    if op == "gt":
        return value > operand
    if op == "ge":
        return value >= operand
    if op == "contains_any":
        return bool(set(value) & set(operand))
    if op == "contains_none":
        return not set(value) & set(operand)
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

"""Shared helpers of the part-B scheme modules (aids, missions, contracts, bonuses).

Not a formula kind itself (the registry skips modules whose name starts with `_`).
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

from convmed.forfaits.context import Component, Context, Unknown
from convmed.money import fmt, parse_decimal

HUNDRED = Decimal(100)


def anniversary(d: date, years: int) -> date:
    """The same day `years` years later (1 March for a 29 February that the year lacks), at the latest in
    year 9999 (the calendar's end)."""
    y = min(d.year + years, date.max.year)
    try:
        return d.replace(year=y)
    except ValueError:  # 29 February
        return date(y, 3, 1)


def pct(value: Decimal) -> Decimal:
    """A percentage parameter (e.g. 20) as a ratio (0.20)."""
    return value / HUNDRED


def param_on(ctx: Context, pid: str, on: date) -> Decimal:
    """The value of `pid` in force on another date than ctx.as_of (same trace, own cache)."""
    if on == ctx.as_of:
        return ctx.param(pid)
    sub = copy.copy(ctx)
    sub.as_of = on
    sub._params = {}
    sub.trace = ctx.trace
    ctx.note("date", f"{pid} lu à la date du {on.isoformat()}")
    return sub.param(pid)


def input_date(ctx: Context, key: str, *, required: bool = True) -> date | None:
    raw = ctx.inputs.get(key)
    if raw is None:
        if required:
            raise ctx.bad_input(f"/inputs/{key}", f"input {key!r} (date AAAA-MM-JJ) is required by scheme {ctx.scheme.data['scheme']}")
        return None
    from convmed.operators import strict_date

    try:
        return strict_date(raw) if isinstance(raw, str) else _bad()   # AAAA-MM-JJ only (no week dates)
    except ValueError:
        raise ctx.bad_input(f"/inputs/{key}", f"not a date (AAAA-MM-JJ): {raw!r}") from None


def _bad():
    raise ValueError


def doctor_date(ctx: Context, key: str) -> date | None:
    raw = ctx.doctor.get(key)
    return date.fromisoformat(raw) if raw else None


def choice(ctx: Context, key: str, allowed: tuple[str, ...], *, required: bool = True, default=None) -> str | None:
    value = ctx.inputs.get(key, default)
    if value is None:
        if required:
            raise ctx.bad_input(f"/inputs/{key}", f"input {key!r} is required ({' | '.join(allowed)})")
        return None
    if value not in allowed:
        raise ctx.bad_input(f"/inputs/{key}", f"{value!r} is not one of {', '.join(allowed)}")
    return value


def non_negative(ctx: Context, key: str, value: Decimal) -> Decimal:
    if value < 0:
        raise ctx.bad_input(f"/inputs/{key}", f"{key} must not be negative")
    return value


def percent_input(ctx: Context, key: str, *, required: bool = True) -> Decimal | None:
    value = ctx.input_value(key, required=required)
    if value is not None and not (0 <= value <= 100):
        raise ctx.bad_input(f"/inputs/{key}", f"{key} is a percentage between 0 and 100, got {value}")
    return value


def cents(ctx: Context, component: str, amount) -> Decimal:
    """An amount computed exactly (a Decimal, or a Fraction when a division is involved) as the decimal the result
    carries: itself when its decimal expansion is finite — the sources give no rounding for the forfaits (gap G-2),
    so none is invented —, else rounded once, at the end, by the spec's rule `forfait_amount` (traced)."""
    from convmed.money import exact_text, finite_decimal, fraction

    q = fraction(amount)
    exact = finite_decimal(q)
    if exact is not None:
        return exact.quantize(Decimal("0.01")) if -exact.as_tuple().exponent <= 2 else exact   # "10" -> "10.00"
    rule = ctx.spec.rounding("forfait_amount")
    if rule is None:
        raise Unknown("VALUE_GAP", f"{component} : montant exact {exact_text(q)} sans écriture décimale finie et aucune "
                                   f"règle d'arrondi des forfaits dans le spec (lacune G-2)")
    quantum = parse_decimal(rule.data["quantum"])
    # the nearest multiple of the quantum: q has no finite expansion, so it is never exactly half-way
    steps = q / fraction(quantum)
    n = steps.numerator // steps.denominator          # floor
    mode = rule.data["mode"]
    if mode == "up" or (mode in ("half_up", "half_even") and steps - n > fraction(Decimal("0.5"))):
        n += 1
    rounded = Decimal(n) * quantum
    ctx.note(component, f"montant exact {exact_text(q)} sans écriture décimale finie : arrondi à {fmt(rounded)} par la "
             f"règle {rule.id} (les sources ne donnent pas d'arrondi pour ce forfait, lacune G-2)", rule=rule.id,
             exact=exact_text(q))
    return rounded


def unknown(cid: str, label: str, exc: Unknown, **details) -> Component:
    """A component whose value the seeds do not give; a parameter not yet in force makes the component
    not applicable (that part of the scheme starts later), not unknown."""
    if exc.reason == "NOT_IN_FORCE":
        return Component.not_applicable(cid, label, exc.message, **details)
    return Component.unknown(cid, label, exc, **details)


def gap_unknown(cid: str, label: str, message: str, **details) -> Component:
    return Component(cid, label, None, "unknown", "VALUE_GAP", message, details)


def computed(cid: str, label: str, amount: Decimal, **details) -> Component:
    return Component(cid, label, amount, "computed", None, None, details)


def proposal_value(ctx: Context, pid: str) -> Decimal:
    """A value of proposal status (003) that never entered into force: read as information, traced."""
    from convmed.forfaits.context import source_list

    c = ctx.concept(pid)
    entry = c.data["values"][0]
    value = parse_decimal(entry["value"])
    ctx.trace.append({"step": "parameter", "id": pid, "label": c.data.get("label", pid), "unit": c.data.get("unit"),
                      "value": format(value, "f"), "status": entry["status"], "sources": source_list(entry),
                      "note": "proposition 003 (jamais en vigueur) lue pour information"})
    return value

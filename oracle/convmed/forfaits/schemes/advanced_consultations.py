"""Consultations avancées en ZIP: 200 € per half-day, at most 6 half-days a month (convention 2024).

Reads: inputs.half_days_by_month {"YYYY-MM": n} (or inputs.half_days + inputs.month for one month),
inputs.opposable_tariffs (true), inputs.secondary_practice_in_zip (false).
"""

from __future__ import annotations

from decimal import Decimal

from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.forfaits.schemes._partb import computed, unknown

LABEL = "Consultations avancées en ZIP"


def _months(ctx: Context) -> dict[str, int]:
    if "half_days_by_month" in ctx.inputs:
        raw = ctx.input_value("half_days_by_month", kind="object")
    else:
        n = ctx.input_value("half_days", kind="integer")
        month = ctx.inputs.get("month", f"{ctx.year}-01")
        raw = {month: n}
    out = {}
    for key, n in raw.items():
        pointer = f"/inputs/half_days_by_month/{key}"
        if not (isinstance(key, str) and len(key) == 7 and key[4] == "-" and key[:4].isdigit() and key[5:].isdigit()
                and 1 <= int(key[5:]) <= 12):
            raise ctx.bad_input(pointer, f"month keys are written AAAA-MM, got {key!r}")
        if int(key[:4]) != ctx.year:
            raise ctx.bad_input(pointer, f"month {key} is not in the year {ctx.year} of the request")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ctx.bad_input(pointer, f"a number of half-days is a non-negative integer, got {n!r}")
        out[key] = n
    return out


@formula("advanced_consultations_2024")
def advanced_consultations(ctx: Context) -> list[Component]:
    if ctx.inputs.get("secondary_practice_in_zip") is True:
        return [Component.not_applicable("half_days", LABEL, "Un médecin ayant un cabinet secondaire en ZIP n'est pas concerné par les consultations avancées.")]
    if ctx.input_value("opposable_tariffs", kind="boolean") is not True:
        return [Component.not_applicable("half_days", LABEL, "Le forfait suppose des soins délivrés à tarifs opposables pendant les consultations avancées.")]
    months = _months(ctx)
    try:
        rate = ctx.param("forfaits.advanced_consultations.half_day")
        cap = int(ctx.param("forfaits.advanced_consultations.monthly_cap_half_days"))
    except Unknown as exc:
        return [unknown("half_days", LABEL, exc)]
    total = Decimal(0)
    per_month = []
    for month in sorted(months):
        n = months[month]
        paid = min(n, cap)
        amount = rate * paid
        total += amount
        per_month.append({"month": month, "half_days": n, "paid_half_days": paid, "amount": amount})
        ctx.note("half_days", f"{month} : {n} demi-journée(s), {paid} rémunérée(s) (plafond {cap} par mois) × {rate} € = {amount} €")
    return [computed("half_days", LABEL, total, months=per_month)]

"""Participation à la régulation libérale du SAS: 100 € per hour, +20 % in the DROM-COM (004).

Reads: inputs.hours (decimal string), doctor.territory (métropole by default).
"""

from __future__ import annotations

from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.forfaits.schemes._partb import cents, computed, non_negative, pct, unknown

LABEL = "Régulation libérale du SAS"


@formula("sas_regulation_2024")
def sas_regulation(ctx: Context) -> list[Component]:
    hours = non_negative(ctx, "hours", ctx.input_value("hours"))
    try:
        rate = ctx.param("forfaits.sas_regulation.hourly_rate")
        drom = ctx.territory != "metropole"
        maj = ctx.param("forfaits.sas_regulation.drom_majoration_percent") if drom else None
    except Unknown as exc:
        return [unknown("regulation_hours", LABEL, exc)]
    amount = hours * rate
    if drom:
        amount = amount * (1 + pct(maj))
        ctx.note("regulation_hours", f"{hours} h × {rate} € × (1 + {maj} %) (DROM-COM : {ctx.territory})")
    else:
        ctx.note("regulation_hours", f"{hours} h × {rate} €")
    amount = cents(ctx, "regulation_hours", amount)
    extra = {"social_contributions": "prises en charge pour le secteur 1 (non chiffré)"} if ctx.doctor.get("sector") == "S1" else {}
    return [computed("regulation_hours", LABEL, amount, hours=hours, territory=ctx.territory, **extra)]

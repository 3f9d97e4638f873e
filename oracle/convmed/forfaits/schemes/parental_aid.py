"""Aide conventionnelle maternité, paternité, adoption (004 Partie 10 Titre 2).

Monthly aid (maternity, adoption: at most 3 months) or one payment (paternity, 25 days), by sector column
(S1 or S2 OPTAM / OPTAM-CO; S2 otherwise) and weekly liberal activity: 8 half-days and more; between 6 and 8;
between 4 and 6. Exactly 6 half-days belongs to two rows and fewer than 4 to none (gap G-26): unknown.
Reads: inputs.leave (maternity | adoption | paternity), inputs.half_days_per_week, inputs.leave_months.
"""

from __future__ import annotations

from decimal import Decimal

from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.forfaits.schemes._partb import choice, computed, unknown

P = "forfaits.parental_aid."
LABELS = {"maternity": "Aide maternité", "adoption": "Aide adoption", "paternity": "Aide paternité"}


@formula("parental_aid_2024")
def parental_aid(ctx: Context) -> list[Component]:
    leave = choice(ctx, "leave", ("maternity", "adoption", "paternity"))
    label = LABELS[leave]
    n = ctx.input_value("half_days_per_week", kind="integer")
    if n < 0 or n > 14:
        raise ctx.bad_input("/inputs/half_days_per_week", "a number of half-days per week between 0 and 14")
    if n >= 8:
        band = "8_plus"
    elif n > 6:
        band = "6_8"
    elif 4 <= n < 6:
        band = "4_6"
    else:
        why = ("exactement 6 demi-journées : « entre 6 et 8 » et « entre 4 et 6 » se recouvrent" if n == 6
               else "moins de 4 demi-journées : aucune ligne du tableau")
        return [Component("aid", label, None, "unknown", "VALUE_GAP", f"Tranche d'activité non déterminée ({why}, lacune G-26).",
                          {"half_days_per_week": n})]
    sector = ctx.doctor.get("sector")
    optam = ctx.doctor.get("option", "none") in ("OPTAM", "OPTAM_ACO", "OPTAM_CO")
    column = "s1_optam" if sector == "S1" or optam else "s2"
    kind = "paternity" if leave == "paternity" else "maternity_adoption"
    try:
        value = ctx.param(P + f"{kind}.{column}.{band}")
        if leave == "paternity":
            days = ctx.param(P + "paternity_days")
            ctx.note("aid", f"aide paternité versée en une fois au titre des {days} jours : {value} €")
            return [computed("aid", label, value, column=column, band=band)]
        cap = ctx.param(P + "max_months")
    except Unknown as exc:
        return [unknown("aid", label, exc)]
    months = ctx.input_value("leave_months", kind="integer")
    if months < 1:
        raise ctx.bad_input("/inputs/leave_months", "leave_months is at least 1")
    paid = min(months, int(cap))
    amount = value * paid
    ctx.note("aid", f"{value} € par mois × {paid} mois (durée du congé {months} mois, dans la limite de {cap} mois)")
    return [computed("aid", label, amount, column=column, band=band, monthly=value, months_paid=paid)]

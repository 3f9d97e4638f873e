"""Aide ponctuelle de 3 000 € à la création ex nihilo d'un cabinet secondaire en ZIP (000 only, from 2026).

Reads: inputs.secondary_practice_zone, inputs.created_ex_nihilo, inputs.creation_date (year of the aid).
The seeds give no other condition (sector, timing): gap G-9, reported in the component.
"""

from __future__ import annotations

from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.forfaits.schemes._partb import choice, computed, input_date, unknown

LABEL = "Aide à la création d'un cabinet secondaire en ZIP"


@formula("secondary_practice_2024")
def secondary_practice(ctx: Context) -> list[Component]:
    choice(ctx, "secondary_practice_zone", ("ZIP", "ZAC", "none"))   # inputs checked, located
    ctx.input_value("created_ex_nihilo", kind="boolean")
    created = input_date(ctx, "creation_date")
    # who receives it (ZIP, ex nihilo): the applies_when of the scheme's `choices` (scheme.yaml)
    chosen = ctx.choose("aid")
    if chosen.pid is None:
        return [chosen.unresolved(ctx, "aid", LABEL)]
    if created.year != ctx.year:
        return [Component.not_applicable("aid", LABEL, f"Aide ponctuelle due l'année de la création ({created.year}).")]
    try:
        amount = ctx.param(chosen.pid)
    except Unknown as exc:
        return [unknown("aid", LABEL, exc)]
    ctx.note("aid", "aide ponctuelle ; conditions de secteur et calendrier non donnés par les sources (lacune G-9)")
    return [computed("aid", LABEL, amount, creation_date=created, conditions_gap="G-9")]

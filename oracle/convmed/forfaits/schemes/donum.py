"""Dotation numérique (DONUM, from 2026): points × 7 €, all socle indicators required, max 2 940 €/year.

The indicator table (socle / optional indicators, targets, points) is an image missing from the seeds
(gap G-11). What the seeds do decide is computed: a doctor who misses a socle indicator gets nothing;
with the socle met, the amount is the optional points obtained × 7 € only if the caller gives the points
(inputs.points, computed outside the oracle from the missing table), otherwise unknown.
The points given cannot exceed the total of the dotation (`forfaits.donum.max_points`: 420 points, the signed
maximum of 2 940 € divided by the 7 € point): more points, or negative points, are a located input error.
Reads: inputs.socle_met (boolean), inputs.points (integer, optional).
"""

from __future__ import annotations

from decimal import Decimal

from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.forfaits.schemes._partb import computed, unknown

LABEL = "Dotation numérique"


@formula("donum_2024")
def donum(ctx: Context) -> list[Component]:
    socle = ctx.input_value("socle_met", kind="boolean")
    try:
        point = ctx.param("forfaits.donum.point_value")
        maximum = ctx.param("forfaits.donum.max_annual")
        max_points = ctx.param("forfaits.donum.max_points")
    except Unknown as exc:
        return [unknown("donum", LABEL, exc)]
    if not socle:
        ctx.note("donum", "un indicateur socle n'est pas atteint : aucune rémunération, indicateurs optionnels non ouverts")
        return [computed("donum", LABEL, Decimal(0), socle_met=False)]
    if "points" not in ctx.inputs:
        try:
            ctx.param("forfaits.donum.indicators")
        except Unknown as exc:
            return [unknown("donum", LABEL, exc, socle_met=True, max_annual=maximum)]
    points = ctx.input_value("points", kind="integer")
    amount = Decimal(points) * point
    if points < 0 or points > max_points:
        raise ctx.bad_input("/inputs/points", f"{points} points : la dotation numérique compte {max_points} points au plus "
                            f"(tous indicateurs atteints), et jamais moins de 0")
    if amount > maximum:
        raise ctx.bad_input("/inputs/points", f"{points} points × {point} € exceed the signed maximum of {maximum} €")
    ctx.note("donum", f"socle atteint ; {points} points sur {max_points} × {point} € (points fournis par la demande : table des "
             f"indicateurs absente, lacune G-11)")
    return [computed("donum", LABEL, amount, socle_met=True, points=points, points_source="inputs.points")]

"""Forfait structure 2016 (until 31 Dec 2025): formula kind `structure_2016`.

inputs.volet1_met (boolean): all indicators of volet 1 reached (else no point at all);
inputs.volet2 (list of names of forfaits.structure.volet2.*): volet 2 indicators reached.
Points of the year n, × 7 € the point.
"""

from __future__ import annotations

from decimal import Decimal

from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.money import fmt


@formula("structure_2016")
def structure_2016(ctx: Context) -> list[Component]:
    met = ctx.input_value("volet1_met", kind="boolean")
    volet2 = ctx.input_value("volet2", kind="list", required=False, default=[])
    known = sorted(cid.rsplit(".", 1)[1] for cid in ctx.spec.concepts if cid.startswith("forfaits.structure.volet2."))
    for i, name in enumerate(volet2):
        if name not in known:
            raise ctx.bad_input(f"/inputs/volet2/{i}", f"unknown volet 2 indicator {name!r} (known: {', '.join(known)})")
    l1, l2 = "Volet 1 (prérequis)", "Volet 2 (indicateurs de services)"
    if not met:
        ctx.note("volet1", "un indicateur du volet 1 n'est pas atteint : ni le volet 1 ni le volet 2 ne sont rémunérés")
        return [Component("volet1", l1, Decimal(0), details={"met": False, "points": "0"}),
                Component.not_applicable("volet2", l2, "non déclenché : tous les indicateurs du volet 1 doivent être atteints")]
    try:
        point = ctx.param("forfaits.structure.point_value")
        p1 = ctx.param("forfaits.structure.volet1.all_indicators")
    except Unknown as exc:
        return [Component.unknown("volet1", l1, exc), Component.unknown("volet2", l2, exc)]
    comps = [Component("volet1", l1, p1 * point, details={"points": p1, "point_value": fmt(point)})]
    ctx.note("volet1", "points du volet 1 × valeur du point", points=p1, amount=fmt(p1 * point))
    try:
        per = {name: ctx.param(f"forfaits.structure.volet2.{name}") for name in volet2}
    except Unknown as exc:
        comps.append(Component.unknown("volet2", l2, exc))
        return comps
    p2 = sum(per.values(), Decimal(0))
    ctx.note("volet2", "Σ points des indicateurs atteints × valeur du point", points=p2, amount=fmt(p2 * point))
    comps.append(Component("volet2", l2, p2 * point, details={"points": p2, "indicators": per}))
    return comps

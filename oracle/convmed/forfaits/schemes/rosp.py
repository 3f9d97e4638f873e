"""ROSP 2016 (until 31 Dec 2025): formula kind `rosp_2016`.

points_i = max points_i × taux de réalisation_i / 100 (inputs.indicators: {id: rate percent,
0-100}, ids of forfaits.rosp.mt.*) — or inputs.points, a total already computed;
amount at the reference patientèle = points × 7 €. The weighting by the real patientèle
(inputs.patientele_size) is applied by a formula the seeds do not give (G-31): equal to the
reference -> factor 1; otherwise the `weighting` component is unknown.
inputs.profile: mt (default) | cardiology | gastroenterology (reference 800 / 800 / 1 100).
"""

from __future__ import annotations

from decimal import Decimal

from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.money import fmt

HUNDRED = Decimal(100)
PROFILES = ("mt", "cardiology", "gastroenterology")


@formula("rosp_2016")
def rosp_2016(ctx: Context) -> list[Component]:
    profile = ctx.input_value("profile", kind="string", required=False, default="mt")
    if profile not in PROFILES:
        raise ctx.bad_input("/inputs/profile", f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    label = "Points ROSP (prorata du taux de réalisation)"
    try:
        point = ctx.param("forfaits.rosp.point_value")
    except Unknown as exc:
        return [Component.unknown("points", label, exc)]
    per = {}
    if "points" in ctx.inputs:
        points = ctx.input_value("points")
        per = None
    else:
        rates = ctx.input_value("indicators", kind="object")
        if profile != "mt":
            return [Component("points", label, None, "unknown", "VALUE_GAP",
                              "indicateurs ROSP des cardiologues et gastro-entérologues absents des sources (lacune G-34) : "
                              "fournir inputs.points")]
        points = Decimal(0)
        try:
            for key, rate in rates.items():
                pid = f"forfaits.rosp.mt.{key}"
                if pid not in ctx.spec.concepts:
                    raise ctx.bad_input(f"/inputs/indicators/{key}", f"unknown ROSP indicator {key!r}")
                r = ctx.typed(f"/inputs/indicators/{key}", rate, "decimal")   # NaN, exponents, 40 digits refused
                if not Decimal(0) <= r <= HUNDRED:
                    raise ctx.bad_input(f"/inputs/indicators/{key}",
                                        f"achievement rate must be a decimal string from 0 to 100, got {rate!r}")
                mx = ctx.param(pid)
                got = mx * r / HUNDRED
                per[key] = {"max_points": mx, "rate_percent": r, "points": got}
                points += got
        except Unknown as exc:
            return [Component.unknown("points", label, exc, indicators=per)]
    at_ref = points * point
    ctx.note("points", "Σ points maximum × taux de réalisation ; montant = points × valeur du point",
             points=points, amount=fmt(at_ref))
    details = {"points": points, "point_value": fmt(point), "amount_at_reference": fmt(at_ref)}
    if per is not None:
        details["indicators"] = per
    comps = [Component("points", label, at_ref, details=details)]
    wlabel = "Pondération par la patientèle réelle"
    try:
        ref = ctx.param(f"forfaits.rosp.reference_patientele_{profile}")
    except Unknown as exc:
        comps.append(Component.unknown("weighting", wlabel, exc))
        return comps
    size = ctx.input_value("patientele_size", kind="integer", required=False)
    if size is None:
        comps.append(Component("weighting", wlabel, None, "unknown", "MISSING_FACT",
                               "patientèle réelle au 31 décembre non fournie (inputs.patientele_size)"))
    elif Decimal(size) == ref:
        comps.append(Component.not_applicable("weighting", wlabel, f"patientèle égale à la référence ({size} patients)",
                                              reference=ref))
    else:
        comps.append(Component("weighting", wlabel, None, "unknown", "VALUE_GAP",
                               f"patientèle de {size} patients pour une référence de {format(ref, 'f')} : la forme de la "
                               "pondération n'est pas donnée par les sources (lacune G-31) ; le montant des points est "
                               "celui de la patientèle de référence", {"reference": ref, "patientele": size}))
    return comps

"""OPTAM / OPTAM-ACO (2024 options, open from 1 January 2025): eligibility to adhere and the regional
commitment rates of newly installed doctors.

Regional adjustment (004, signed examples in 000): among the regional mean rates of a specialty, the highest
region is lowered by 5 points (ceiling: every region above is capped to it) and the lowest raised by 10 points
(floor: every region below is raised to it), unless the spread between the highest and the lowest region is
less than 15 points (then no adjustment).
S1 titled doctor installed before 2013 (eligible by derogation): opposable-activity commitment fixed by the same rules,
never below `min_opposable_share_s1_pre2013_percent` (30 %): inputs.regional_opposable_percent (optional) is raised to
it (details.commitment_opposable_percent); inputs.commitment_opposable_percent (optional) below it is refused.
Reads: inputs.option, inputs.recalculated_overbilling_percent, inputs.observed_opposable_percent,
inputs.recalculated_opposable_percent, inputs.titled_s1_installed_before_2013, inputs.aco_acts_previous_year,
inputs.newly_installed, inputs.regional_rates, inputs.region, inputs.regional_opposable_percent,
inputs.commitment_opposable_percent.
"""

from __future__ import annotations

from decimal import Decimal

from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.forfaits.schemes._partb import choice, unknown
from convmed.money import parse_decimal

P = "forfaits.optam."
ACO_SPECIALTIES = ("anesthesie_reanimation", "chirurgie", "gynecologie_obstetrique")


def adjust_regional(rates: dict[str, Decimal], minus: Decimal, plus: Decimal, spread: Decimal) -> dict[str, Decimal]:
    hi, lo = max(rates.values()), min(rates.values())
    if hi - lo < spread:
        return dict(rates)
    ceiling, floor = hi - minus, lo + plus
    return {r: min(max(v, floor), ceiling) for r, v in rates.items()}


def _eligibility(ctx: Context) -> Component:
    label = "Éligibilité à l'option"
    option = choice(ctx, "option", ("OPTAM", "OPTAM_ACO"))
    sector = ctx.doctor.get("sector")
    why = []
    if sector == "S1" and ctx.inputs.get("titled_s1_installed_before_2013") is not True:
        why.append("en secteur 1, seuls les médecins titrés installés avant le 1er janvier 2013 peuvent adhérer")
    s1_floor = _s1_pre2013_opposable(ctx) if sector == "S1" and not why else None
    max_over = ctx.param(P + "max_recalculated_overbilling_percent")
    rec_over = ctx.input_value("recalculated_overbilling_percent", required=False)
    if rec_over is not None and rec_over > max_over:
        why.append(f"taux de dépassement recalculé supérieur à {max_over} %")
    obs_opp = ctx.input_value("observed_opposable_percent", required=False)
    rec_opp = ctx.input_value("recalculated_opposable_percent", required=False)
    if obs_opp is not None and rec_opp is not None and rec_opp < obs_opp:
        why.append("taux d'activité à tarif opposable recalculé inférieur au taux constaté")
    if option == "OPTAM_ACO":
        if ctx.doctor.get("specialty") not in ACO_SPECIALTIES:
            why.append("l'OPTAM-ACO est réservée à l'anesthésie-réanimation, à la chirurgie et à la gynécologie-obstétrique")
        elif ctx.inputs.get("newly_installed") is not True:
            min_acts = ctx.param(P + "aco_min_acts")
            acts = ctx.input_value("aco_acts_previous_year", kind="integer")
            if acts < min_acts:
                why.append(f"moins de {min_acts} actes d'anesthésie, de chirurgie ou d'obstétrique l'année précédente")
    eligible = not why
    ctx.note("eligibility", "éligible" if eligible else "non éligible : " + " ; ".join(why))
    details = {"eligible": eligible, "option": option}
    if eligible and s1_floor is not None:
        details.update(s1_floor)
    return Component("eligibility", label, None, "computed", None,
                     f"Éligible à l'{option.replace('_', '-')}" if eligible else "Non éligible : " + " ; ".join(why) + ".",
                     details)


def _s1_pre2013_opposable(ctx: Context) -> dict:
    """S1 titled doctor installed before 2013: « La part d'activité à tarif opposable est fixée selon les mêmes règles
    sans pouvoir être inférieure à 30% » (004). inputs.regional_opposable_percent (the rate of the same rules) gives
    the commitment, raised to the floor; an inputs.commitment_opposable_percent below the floor is refused."""
    from convmed.forfaits.schemes._partb import percent_input

    floor = ctx.param(P + "min_opposable_share_s1_pre2013_percent")
    out = {"min_opposable_commitment_percent": format(floor, "f")}
    regional = percent_input(ctx, "regional_opposable_percent", required=False)
    if regional is not None:
        commitment = max(regional, floor)
        ctx.note("eligibility", f"secteur 1 titré installé avant 2013 : part d'activité à tarif opposable {regional} % selon "
                 f"les règles communes, au moins {floor} % → engagement {commitment} %")
        out["commitment_opposable_percent"] = format(commitment, "f")
    given = percent_input(ctx, "commitment_opposable_percent", required=False)
    if given is not None and given < floor:
        raise ctx.bad_input("/inputs/commitment_opposable_percent",
                            f"secteur 1 titré installé avant 2013 : la part d'activité à tarif opposable ne peut être "
                            f"inférieure à {floor} % (engagement donné : {given} %)")
    if regional is None:
        ctx.note("eligibility", f"secteur 1 titré installé avant 2013 : part d'activité à tarif opposable d'au moins {floor} %")
    return out


def _regional(ctx: Context) -> Component:
    label = "Taux régionaux ajustés (nouveaux installés)"
    raw = ctx.input_value("regional_rates", kind="object")
    if len(raw) < 2:
        raise ctx.bad_input("/inputs/regional_rates", "give the regional mean rates of at least two regions")
    rates = {}
    for region, v in raw.items():
        try:
            rates[region] = parse_decimal(v)
        except ValueError as exc:
            raise ctx.bad_input(f"/inputs/regional_rates/{region}", str(exc)) from None
    minus = ctx.param(P + "regional_ceiling_minus_points")
    plus = ctx.param(P + "regional_floor_plus_points")
    spread = ctx.param(P + "regional_no_adjust_spread_points")
    adjusted = adjust_regional(rates, minus, plus, spread)
    hi, lo = max(rates.values()), min(rates.values())
    ctx.note("regional_rates", f"écart entre régions extrêmes {hi - lo} point(s) ; "
             + ("ajustement : plafond " + str(hi - minus) + " %, plancher " + str(lo + plus) + " %" if hi - lo >= spread else f"moins de {spread} points : aucun ajustement"))
    details = {"adjusted": {r: format(v, "f") for r, v in adjusted.items()}}
    region = ctx.input_value("region", required=False, kind="string")
    if region is not None:
        if region not in adjusted:
            raise ctx.bad_input("/inputs/region", f"region {region!r} is not in regional_rates")
        details["commitment_rate"] = format(adjusted[region], "f")
    return Component("regional_rates", label, None, "computed", None, None, details)


@formula("optam_adhesion_2024")
def optam_adhesion(ctx: Context) -> list[Component]:
    out = []
    try:
        if "option" in ctx.inputs:
            out.append(_eligibility(ctx))
        if "regional_rates" in ctx.inputs:
            out.append(_regional(ctx))
    except Unknown as exc:
        out.append(unknown("eligibility", "Éligibilité à l'option", exc))
    if not out:
        raise ctx.bad_input("/inputs", "scheme optam_adhesion needs inputs.option and/or inputs.regional_rates")
    return out

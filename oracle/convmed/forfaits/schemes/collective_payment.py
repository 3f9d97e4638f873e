"""Paiement collectif forfaitaire: eligibility of a team (>= 4 conventioned liberal professionals, of whom
>= 3 volunteer GPs and >= 1 nurse; PMT concerned >= 250 patients). Amounts: cahier des charges (gap G-22).
Reads: inputs.team = {gps, nurses, pmt}.
"""

from __future__ import annotations

from decimal import Decimal

from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.forfaits.schemes._partb import unknown

P = "forfaits.collective_payment."


@formula("collective_payment_2024")
def collective_payment(ctx: Context) -> list[Component]:
    team = ctx.input_value("team", kind="object")
    vals = {}
    for k in ("gps", "nurses", "pmt"):
        v = team.get(k)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ctx.bad_input(f"/inputs/team/{k}", f"team.{k} must be a non-negative integer")
        vals[k] = v
    try:
        n_min = ctx.param(P + "min_professionals")
        gp_min = ctx.param(P + "min_gps")
        nurse_min = ctx.param(P + "min_nurses")
        pmt_min = ctx.param(P + "min_pmt")
    except Unknown as exc:
        return [unknown("eligibility", "Éligibilité de l'équipe", exc)]
    missing = []
    if vals["gps"] + vals["nurses"] < n_min:
        missing.append(f"au moins {n_min} professionnels libéraux conventionnés")
    if vals["gps"] < gp_min:
        missing.append(f"au moins {gp_min} médecins généralistes volontaires")
    if vals["nurses"] < nurse_min:
        missing.append(f"au moins {nurse_min} infirmier")
    if vals["pmt"] < pmt_min:
        missing.append(f"une patientèle médecin traitant d'au moins {pmt_min} patients")
    ctx.note("eligibility", f"équipe : {vals['gps']} généraliste(s), {vals['nurses']} infirmier(s), {vals['pmt']} patients MT")
    eligible = not missing
    elig = Component("eligibility", "Éligibilité de l'équipe", None, "computed", None,
                     "Équipe éligible" if eligible else "Équipe non éligible : il faut " + ", ".join(missing) + ".",
                     {"eligible": eligible})
    if not eligible:
        return [elig, Component.not_applicable("forfait", "Forfait collectif", "Équipe non éligible.")]
    try:
        ctx.param(P + "amounts")
    except Unknown as exc:
        return [elig, unknown("forfait", "Forfait collectif", exc)]
    return [elig]

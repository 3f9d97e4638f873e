"""Financement des équipes de soins spécialisés (ESS): seed credit 80 000 €, then an annual dotation from
50 000 € (10 doctors) to 100 000 € (100 doctors or more), « proratisée au nombre exact de médecins »: the
rule between 10 and 100 is not written (gap G-21), so only the two ends are computed.
Reads: inputs.stage (seed | annual), inputs.members, inputs.territory_doctors.
"""

from __future__ import annotations

from decimal import Decimal

from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.forfaits.schemes._partb import choice, computed, unknown

P = "forfaits.ess."


@formula("ess_funding_2024")
def ess(ctx: Context) -> list[Component]:
    stage = choice(ctx, "stage", ("seed", "annual"))
    members = ctx.input_value("members", kind="integer")
    territory = ctx.input_value("territory_doctors", kind="integer")
    if members < 0 or territory < members:
        raise ctx.bad_input("/inputs/members", "need 0 <= members <= territory_doctors")
    cid = "seed_credit" if stage == "seed" else "annual"
    label = "Crédit d'amorçage" if stage == "seed" else "Dotation annuelle"
    lo = hi = None
    try:
        t_min = ctx.param(P + "territory_min_doctors")
        m_min = ctx.param(P + "membership_min_percent")
        if territory < t_min:
            return [Component.not_applicable(cid, label, f"Le territoire doit compter au moins {t_min} médecins de la spécialité.")]
        if Decimal(members) * 100 < m_min * territory:
            return [Component.not_applicable(cid, label, f"L'ESS doit réunir au moins {m_min} % des professionnels de la spécialité du territoire "
                                             f"({members} sur {territory}).")]
        if stage == "seed":
            return [computed(cid, label, ctx.param(P + "seed_credit"))]
        lo_n, hi_n = ctx.param(P + "size_min_doctors"), ctx.param(P + "size_max_doctors")
        lo, hi = ctx.param(P + "annual_min"), ctx.param(P + "annual_max")
        if members >= hi_n:
            return [computed(cid, label, hi, members=members)]
        if members == lo_n:
            return [computed(cid, label, lo, members=members)]
        if members < lo_n:
            return [Component(cid, label, None, "unknown", "VALUE_GAP",
                              f"Dotation d'une ESS de moins de {lo_n} médecins non donnée (le barème part de {lo_n} médecins).", {"members": members})]
        ctx.param(P + "interpolation")
    except Unknown as exc:
        extra = {"between": [lo, hi]} if lo is not None else {}
        return [unknown(cid, label, exc, members=members, **extra)]
    return []  # pragma: no cover - the interpolation parameter is a gap

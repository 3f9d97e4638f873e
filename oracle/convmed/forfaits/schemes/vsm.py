"""Forfait élaboration initiale du VSM (004 only; abolished after 30 June 2025), paid once.

amount = base (1 500 € if VSM for >= half of the ALD patientèle fed into the DMP, 3 000 € if 90 %)
         × PMT / 800 × (1 + 20 % if more than a third of the DMP-feeding VSM are structured CI-SIS)
         × (100 % on results at 30 June 2024 | 90 % on results reached at the latest on 30 June 2025)
Reads: inputs.vsm_ald_share_percent, inputs.vsm_feed_dmp, inputs.pmt, inputs.structured_vsm,
inputs.total_vsm_dmp, inputs.results_date, inputs.already_paid.
"""

from __future__ import annotations

from decimal import Decimal

from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.forfaits.schemes._partb import cents, computed, input_date, pct, percent_input, unknown

LABEL = "Forfait élaboration initiale du VSM"
P = "forfaits.vsm."


@formula("vsm_initial_2024")
def vsm(ctx: Context) -> list[Component]:
    if ctx.input_value("already_paid", kind="boolean", required=False, default=False):
        return [Component.not_applicable("vsm", LABEL, "Forfait versé une seule fois : déjà perçu (résultats au 31/12/2023 ou antérieurs).")]
    share = percent_input(ctx, "vsm_ald_share_percent")
    feed = ctx.input_value("vsm_feed_dmp", kind="boolean")
    pmt = ctx.input_value("pmt", kind="integer")
    results = input_date(ctx, "results_date")   # required, checked as a date; the rate reads the fact below
    structured = ctx.input_value("structured_vsm", kind="integer", required=False, default=0)
    total_vsm = ctx.input_value("total_vsm_dmp", kind="integer", required=False, default=0)
    if pmt < 0 or structured < 0 or total_vsm < structured:
        raise ctx.bad_input("/inputs/structured_vsm", "need pmt >= 0 and 0 <= structured_vsm <= total_vsm_dmp")
    try:
        half = ctx.param(P + "threshold_half_percent")
        ninety = ctx.param(P + "threshold_90_percent")
        ref = ctx.param(P + "reference_patientele")
        maj = ctx.param(P + "structured_majoration_percent")
        one_in = ctx.param(P + "structured_share_one_in")   # « plus d'un tiers » : N = 3
        # the share paid by the date the results are reached: the rate whose applies_when holds (scheme.yaml
        # `choices`; 100 % by 30 June 2024, 90 % by 30 June 2025, none after: the forfait is abolished)
        choice = ctx.choose("vsm")
        if choice.pid is None:
            return [Component.not_applicable("vsm", LABEL, f"Résultats atteints le {results.isoformat()} : "
                                             + choice.not_applicable_text(ctx) + " (au-delà, le forfait est supprimé).")]
        rate = ctx.param(choice.pid)
        if not feed or share < half:
            return [Component.not_applicable("vsm", LABEL, f"Il faut des VSM pour au moins {half} % de la patientèle ALD, alimentant le DMP.")]
        base = ctx.param(P + "base_90") if share >= ninety else ctx.param(P + "base_half")
    except Unknown as exc:
        return [unknown("vsm", LABEL, exc)]
    amount = base * Decimal(pmt) / ref
    ctx.note("vsm", f"{base} € × {pmt} / {ref} (pondération par la patientèle de référence)")
    structured_bonus = one_in * structured > total_vsm and total_vsm > 0
    if structured_bonus:
        amount = amount * (1 + pct(maj))
        ctx.note("vsm", f"plus d'un VSM sur {one_in} structuré ({structured}/{total_vsm}) : majoration de {maj} %")
    amount = amount * pct(rate)
    ctx.note("vsm", f"résultats au {results.isoformat()} : versement à {rate} %")
    amount = cents(ctx, "vsm", amount)
    return [computed("vsm", LABEL, amount, base=base, pmt=pmt, structured_majoration=structured_bonus, rate_percent=rate)]

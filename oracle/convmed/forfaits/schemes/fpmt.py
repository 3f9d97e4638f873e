"""Forfait patientèle médecin traitant 2016 (FPMT, 2018-2025): formula kind `fpmt_2016`.

forfait = Σ_patients weight of the first matching cell of forfaits.fpmt.weights (patients of
the file, or `inputs.counts` by cell name); majoration CMU-C = min((t_med - t_nat) × 0.5, 25) %
of the forfait when t_med > t_nat. t_med: `inputs.cmuc_share` (percent) or the share of
`c2s` patients in the file; t_nat: forfaits.fpmt.cmuc.national_share, or
`inputs.cmuc_national_share` when the seeds do not give the year's national mean.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.facts import PatientFacts
from convmed.forfaits.registry import formula
from convmed.forfaits.tables import CellTable
from convmed.forfaits.schemes._partb import cents
from convmed.money import exact_text, fmt, fraction

HUNDRED = Decimal(100)


@formula("fpmt_2016")
def fpmt_2016(ctx: Context) -> list[Component]:
    table = CellTable(ctx, "forfaits.fpmt.weights")
    names = {cid.rsplit(".", 1)[1]: cid for cid in table.ids}
    counts = {cid: 0 for cid in table.ids}
    unknown = c2s = total = 0
    if "counts" in ctx.inputs:
        given = ctx.input_value("counts", kind="object")
        for key, n in given.items():
            if key not in names:
                raise ctx.bad_input(f"/inputs/counts/{key}", f"unknown FPMT category {key!r} (known: {', '.join(names)})")
            n = ctx.typed(f"/inputs/counts/{key}", n, "count")
            counts[names[key]] = n
            total += n
    else:
        for rec in ctx.patients():
            total += 1
            cell = table.classify(PatientFacts(rec, ctx.reference_date))
            if cell in (None, "none"):
                unknown += 1
            else:
                counts[cell] += 1
            if rec.get("c2s"):
                c2s += 1
        ctx.patient_summary = {"records": total, "unknown": unknown, "c2s": c2s,
                               "categories": {cid.rsplit(".", 1)[1]: n for cid, n in counts.items()}}
    label = "Forfait patientèle (pondérations par âge et ALD)"
    amount = Decimal(0)
    lines = {}
    forfait: Component
    try:
        for cid in table.ids:
            if counts[cid]:
                v = ctx.param(cid)
                amount += v * counts[cid]
                lines[cid.rsplit(".", 1)[1]] = {"patients": counts[cid], "unit": fmt(v), "amount": fmt(v * counts[cid])}
        if unknown:
            forfait = Component("forfait", label, None, "unknown", "MISSING_FACT",
                                f"{unknown} patient(s) sans âge : catégorie inconnue", {"categories": lines})
        else:
            ctx.note("forfait", "Σ patients × pondération de la catégorie", amount=fmt(amount))
            forfait = Component("forfait", label, amount, details={"categories": lines})
    except Unknown as exc:
        forfait = Component.unknown("forfait", label, exc, categories=lines)
    return [forfait, _cmuc(ctx, forfait, c2s, total)]


def _cmuc(ctx: Context, forfait: Component, c2s: int, total: int) -> Component:
    label = "Majoration CMU-C"
    if "cmuc_share" in ctx.inputs:
        t_med = fraction(ctx.input_value("cmuc_share"))
    elif total and "counts" not in ctx.inputs:
        t_med = Fraction(100 * c2s, total)   # exact: a share such as 100/3 % is kept as a fraction
    else:
        return Component("majoration_cmuc", label, None, "unknown", "MISSING_FACT",
                         "part de patients CMU-C du médecin non fournie (inputs.cmuc_share)")
    if t_med <= 0:
        return Component.not_applicable("majoration_cmuc", label, "aucun patient CMU-C", rate_percent="0")
    try:
        if "cmuc_national_share" in ctx.inputs:
            t_nat = fraction(ctx.input_value("cmuc_national_share"))
            ctx.trace.append({"step": "input", "id": "inputs.cmuc_national_share", "value": exact_text(t_nat),
                              "text": "moyenne nationale de l'année fournie par la demande"})
        else:
            t_nat = fraction(ctx.param("forfaits.fpmt.cmuc.national_share"))
        half = fraction(ctx.param("forfaits.fpmt.cmuc.share_of_difference"))
        cap = fraction(ctx.param("forfaits.fpmt.cmuc.cap"))
    except Unknown as exc:
        return Component.unknown("majoration_cmuc", label, exc, doctor_share_percent=t_med)
    if t_med <= t_nat:
        return Component.not_applicable("majoration_cmuc", label,
                                        f"part CMU-C du médecin ({exact_text(t_med)} %) non supérieure à la moyenne nationale "
                                        f"({exact_text(t_nat)} %)", rate_percent="0")
    rate = min((t_med - t_nat) * half, cap)
    details = {"doctor_share_percent": exact_text(t_med), "national_share_percent": exact_text(t_nat),
               "rate_percent": exact_text(rate), "capped": rate == cap}
    ctx.note("majoration_cmuc", "min((taux du médecin - taux national) × 1/2 ; plafond) % du forfait patientèle",
             rate_percent=exact_text(rate))
    if forfait.status != "computed":
        return Component("majoration_cmuc", label, None, "unknown", forfait.reason or "VALUE_GAP",
                         "forfait patientèle inconnu : seul le taux est connu", details)
    amount = cents(ctx, "majoration_cmuc", fraction(forfait.amount) * rate / 100)
    return Component("majoration_cmuc", label, amount, details={**details, "base": fmt(forfait.amount)})

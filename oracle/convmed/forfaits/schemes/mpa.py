"""Majoration personnes âgées (MPA, 2016): formula kind `mpa_2016`.

inputs.consultations_non_mt: consultations and visits of the year to patients aged 80 or over
of whom the doctor is not the médecin traitant; inputs.consultations_mt (optional): those to
his own MT patients (majoration until 2017, then integrated in the forfait patientèle).
"""

from __future__ import annotations

from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.money import fmt


@formula("mpa_2016")
def mpa_2016(ctx: Context) -> list[Component]:
    out = []
    for cid, key, pid, label in (
            ("non_mt_patients", "consultations_non_mt", "forfaits.mpa.amount",
             "Patients de 80 ans et plus dont le médecin n'est pas le médecin traitant"),
            ("mt_patients", "consultations_mt", "forfaits.mpa.amount_mt_patients",
             "Patients de 80 ans et plus suivis par leur médecin traitant")):
        n = ctx.input_value(key, kind="integer", required=(key == "consultations_non_mt"), default=0)
        if n < 0:
            raise ctx.bad_input(f"/inputs/{key}", "a number of consultations cannot be negative")
        if not n:
            out.append(Component.not_applicable(cid, label, "aucune consultation déclarée"))
            continue
        try:
            v = ctx.param(pid)
        except Unknown as exc:
            if exc.reason == "ABOLISHED":
                out.append(Component.not_applicable(cid, label, exc.message + " (intégrée au forfait patientèle)",
                                                    consultations=n))
            else:
                out.append(Component.unknown(cid, label, exc, consultations=n))
            continue
        ctx.note(cid, "consultations × majoration", consultations=n, amount=fmt(v * n))
        out.append(Component(cid, label, v * n, details={"consultations": n, "unit": fmt(v)}))
    return out

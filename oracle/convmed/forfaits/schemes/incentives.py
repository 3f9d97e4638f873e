"""Dispositifs d'intéressement (convention 2024).

Heart failure (signed only, from 2026): 250 € per independent indicator for cardiologists in secteur 1
or secteur 2 OPTAM; the indicators are not in the seeds (gap G-24), so the caller gives how many are met.
Biosimilars, PPI deprescription, mandibular orthoses: sharing of savings whose rates are not in the seeds
(gap G-23): unknown when the doctor takes part. PPI and OAM end 3 years after their start.
Reads: inputs.heart_failure_indicators_met, inputs.biosimilars, inputs.ppi_deprescription,
inputs.mandibular_orthosis.
"""

from __future__ import annotations

from decimal import Decimal

from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.forfaits.schemes._partb import anniversary, computed, unknown

P = "forfaits.incentives."
LABELS = {"biosimilars": "Intéressement biosimilaires", "ppi_deprescription": "Intéressement dé-prescription des IPP",
          "mandibular_orthosis": "Intéressement orthèses d'avancée mandibulaire"}


def _heart_failure(ctx: Context) -> Component:
    label = "Intéressement insuffisance cardiaque"
    n = ctx.input_value("heart_failure_indicators_met", kind="integer")
    if n < 0:
        raise ctx.bad_input("/inputs/heart_failure_indicators_met", "a number of indicators, 0 or more")
    if ctx.doctor.get("specialty") != "cardiologie":
        return Component.not_applicable("heart_failure", label, "Réservé aux cardiologues.")
    sector, option = ctx.doctor.get("sector"), ctx.doctor.get("option", "none")
    if not (sector == "S1" or (sector == "S2" and option in ("OPTAM", "OPTAM_ACO", "OPTAM_CO"))):
        return Component.not_applicable("heart_failure", label, "Réservé aux cardiologues de secteur 1 ou de secteur 2 adhérant à l'OPTAM.")
    try:
        per = ctx.param(P + "heart_failure_per_indicator")
    except Unknown as exc:
        return unknown("heart_failure", label, exc)
    ctx.note("heart_failure", f"{n} indicateur(s) atteint(s) × {per} € (liste des indicateurs absente, lacune G-24)")
    return computed("heart_failure", label, per * n, indicators_met=n)


def _sharing(ctx: Context, key: str) -> Component:
    label = LABELS[key]
    if ctx.input_value(key, kind="boolean") is not True:
        return Component.not_applicable(key, label, "Le médecin ne participe pas à ce dispositif.")
    if key in ("ppi_deprescription", "mandibular_orthosis"):
        try:
            years = int(ctx.param(P + "three_year_duration_years"))
        except Unknown as exc:
            return unknown(key, label, exc)
        # its start: the first day of its sharing rate in spec/ (1 January 2025), not a year written here
        start = ctx.concept(P + f"{key}_share").timeline.change_dates()[0]
        end = anniversary(start, years)
        if ctx.as_of >= end:
            return Component.not_applicable(key, label, f"Dispositif terminé : il prend fin {years} ans après son démarrage ({start.isoformat()}), sauf renouvellement après avis de la CPN.")
    try:
        ctx.param(P + f"{key}_share")
    except Unknown as exc:
        return unknown(key, label, exc)
    raise AssertionError("unreachable: the sharing rates are gaps")  # pragma: no cover


@formula("incentives_2024")
def incentives(ctx: Context) -> list[Component]:
    out = []
    if "heart_failure_indicators_met" in ctx.inputs:
        out.append(_heart_failure(ctx))
    for key in LABELS:
        if key in ctx.inputs:
            out.append(_sharing(ctx, key))
    if not out:
        raise ctx.bad_input("/inputs", "scheme incentives needs inputs.heart_failure_indicators_met and/or biosimilars, ppi_deprescription, mandibular_orthosis")
    return out

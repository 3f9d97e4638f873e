"""Missions spécifiques (convention 2024): SAS participation, maître de stage (MSU), AME patients, IPA cooperation.

A component is produced for each mission the request describes:
- inputs.sas = {department_operational, registered, interfaced}: the three signed conditions (000 allows, for
  the third, a territorial organisation validated by the SAS: `interfaced` covers both);
- inputs.msu = true when the doctor declared the MSU function on amelipro for the year (ZIP from doctor.zone);
- inputs.ame_acts and inputs.total_acts (GPs): share strictly above 2 %;
- inputs.ipa_patients_referred: the signed scale is missing (gap G-13, conflict C-06f).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from convmed.money import exact_text
from convmed.forfaits.context import Component, Context, Unknown, unmet_conditions
from convmed.forfaits.registry import formula
from convmed.forfaits.schemes._partb import computed, pct, unknown


def _sas(ctx: Context) -> Component:
    label = "Participation au SAS"
    sas = ctx.input_value("sas", kind="object")
    missing = [k for k in ("department_operational", "registered", "interfaced") if sas.get(k) is not True]
    for k in ("department_operational", "registered", "interfaced"):
        if k in sas and not isinstance(sas[k], bool):
            raise ctx.bad_input(f"/inputs/sas/{k}", f"expected true or false, got {sas[k]!r}")
    if missing:
        return Component.not_applicable("sas_participation", label,
                                        "Les trois conditions doivent être remplies (SAS déployé dans le département, inscription sur la "
                                        "plateforme nationale, interfaçage de l'agenda ou organisation territoriale validée) ; manquent : "
                                        + ", ".join(missing))
    try:
        amount = ctx.param("forfaits.missions.sas_participation")
    except Unknown as exc:
        return unknown("sas_participation", label, exc)
    return computed("sas_participation", label, amount)


def _msu(ctx: Context) -> Component:
    label = "Maître de stage universitaire"
    if ctx.input_value("msu", kind="boolean") is not True:
        return Component.not_applicable("msu", label, "Pas de déclaration de la fonction de maître de stage pour l'année.")
    # the amount in or outside a ZIP: the choice whose applies_when holds (scheme.yaml `choices`)
    choice = ctx.choose("msu")
    if choice.pid is None:
        return choice.unresolved(ctx, "msu", label)
    try:
        amount = ctx.param(choice.pid)
    except Unknown as exc:
        return unknown("msu", label, exc)
    where = choice.when["description"]
    return computed("msu", f"{label} ({where[:1].lower() + where[1:]})", amount)


def _ame(ctx: Context) -> Component:
    label = "Prise en charge de patients AME"
    ame = ctx.input_value("ame_acts", kind="integer")
    total = ctx.input_value("total_acts", kind="integer")
    if total <= 0 or ame < 0 or ame > total:
        raise ctx.bad_input("/inputs/ame_acts", f"need 0 <= ame_acts <= total_acts and total_acts > 0 (got {ame} / {total})")
    unmet = unmet_conditions(ctx, "ame", label, "Le forfait AME est réservé aux médecins généralistes conventionnés : ")
    if unmet is not None:   # scheme.yaml: the GPs only
        return unmet
    try:
        threshold = ctx.param("forfaits.missions.ame_min_share_percent")
        amount = ctx.param("forfaits.missions.ame")
    except Unknown as exc:
        return unknown("ame", label, exc)
    # compare exactly: ame / total > threshold %  <=>  100 * ame > threshold * total
    share = exact_text(Fraction(100 * ame, total))
    ok = Decimal(ame) * 100 > threshold * Decimal(total)
    ctx.note("ame", f"part des actes AME : {ame} / {total} ; doit dépasser strictement {threshold} %", share_percent=share)
    if not ok:
        return Component.not_applicable("ame", label, f"La part des actes réalisés pour des patients AME ({ame}/{total}) ne dépasse pas {threshold} %.")
    return computed("ame", label, amount, ame_acts=ame, total_acts=total)


def _ipa(ctx: Context) -> Component:
    label = "Coopération avec une IPA"
    n = ctx.input_value("ipa_patients_referred", kind="integer")
    try:
        ctx.param("forfaits.missions.ipa")
    except Unknown as exc:
        lo = ctx.try_param("forfaits.missions.ipa_range_min")
        hi = ctx.try_param("forfaits.missions.ipa_range_max")
        return unknown("ipa", label, exc, patients_referred=n, signed_range=[lo, hi],
                       conflict="C-06f", draft_reading="400 € par an dès 35 patients (projet 004, écarté)")
    return unknown("ipa", label, Unknown("VALUE_GAP", "barème IPA absent"))


@formula("missions_2024")
def missions(ctx: Context) -> list[Component]:
    out = []
    if "sas" in ctx.inputs:
        out.append(_sas(ctx))
    if "msu" in ctx.inputs:
        out.append(_msu(ctx))
    if "ame_acts" in ctx.inputs or "total_acts" in ctx.inputs:
        out.append(_ame(ctx))
    if "ipa_patients_referred" in ctx.inputs:
        out.append(_ipa(ctx))
    if not out:
        raise ctx.bad_input("/inputs", "scheme missions needs at least one of inputs.sas, inputs.msu, inputs.ame_acts + inputs.total_acts, inputs.ipa_patients_referred")
    return out

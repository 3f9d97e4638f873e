"""Aide forfaitaire unique à la primo-installation en ZIP (10 000 €) ou ZAC (5 000 €), convention 2024.

Reads: doctor.zone, doctor.installation_date (installation in the zone), inputs.first_liberal_installation.
Eligibility on the profile (sector, zone) is in spec/forfaits/installation_aid/scheme.yaml.
"""

from __future__ import annotations

from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.forfaits.schemes._partb import computed, doctor_date, unknown

LABEL = "Aide forfaitaire unique à la primo-installation"


@formula("installation_aid_2024")
def installation_aid(ctx: Context) -> list[Component]:
    first = ctx.input_value("first_liberal_installation", kind="boolean")
    if not first:
        ctx.note("aid", "réservée à la première installation en exercice libéral conventionné")
        return [Component.not_applicable("aid", LABEL, "L'aide est réservée aux médecins qui s'installent pour la première fois en exercice libéral conventionné.")]
    installed = doctor_date(ctx, "installation_date")
    if installed is None:
        raise ctx.bad_input("/doctor/installation_date", "doctor.installation_date (installation in the zone) is required by scheme installation_aid")
    if installed.year != ctx.year:
        return [Component.not_applicable("aid", LABEL, f"L'aide est due l'année de l'installation ({installed.year}), pas en {ctx.year}.",
                                         installation_date=installed)]
    zone = ctx.doctor["zone"]
    # the amount of the doctor's zone: the choice whose applies_when holds (scheme.yaml `choices`: ZIP, ZAC)
    choice = ctx.choose("aid")
    if choice.pid is None:
        return [choice.unresolved(ctx, "aid", LABEL)]
    try:
        amount = ctx.param(choice.pid)
        delay = ctx.param("forfaits.installation_aid.payment_delay_months")
    except Unknown as exc:
        return [unknown("aid", LABEL, exc)]
    ctx.note("aid", f"primo-installation en {zone} le {installed.isoformat()} : aide unique de {amount} €, versée dans les {delay} mois")
    return [computed("aid", f"{LABEL} en {zone}", amount, zone=zone, installation_date=installed, payment_within_months=delay)]

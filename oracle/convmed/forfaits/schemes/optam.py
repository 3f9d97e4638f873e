"""OPTAM / OPTAM-ACO: the specific remuneration (prime OPTAM) of a secteur 2 doctor.

Montant Prime = honoraires remboursables constatés × taux d'opposable constaté × taux de la spécialité
                × niveau de respect                                                       (004)
Niveau de respect: each commitment (overbilling rate, opposable-activity rate) compared with the observed
rate; both missed -> the two gaps (points) are added; one missed -> that gap only (no compensation).
Grid: strict respect 100 %, 1-2 points 90 %, 2-3 70 %, 3-4 50 %, 4-5 30 %, > 5 points 0 %. A gap in
]0 ; 1[ and the shared boundaries 2, 3, 4 points are not decided by the seeds (gap G-20): unknown.
Specialty rates: 2016 table until 2024; the 2024 annex is missing (gap G-19).

Gain sharing on a rise of a reimbursement tariff during the option (004, « Avenant aux options en cas de
modification des tarifs »), options 2024 (from 1 January 2025): a doctor whose last observed level is « respect »
may add `gain_share_respect_percent` (60 %) of the rise of the base (new base − old base) to the total fee of the
act while meeting the new commitments; « non-respect »: `gain_share_non_respect_percent` (0 %). Component
`gain_share` (no payment): the highest total fee of the act after the rise = total fee before + share × rise.
Reads: inputs.reimbursable_fees, inputs.opposable_rate_percent, inputs.overbilling_rate_percent,
inputs.commitment_overbilling_percent, inputs.commitment_opposable_percent, inputs.specialty_rate_key (optional)
for the premium; inputs.tariff_increase = {old_base, new_base, total_fee, last_respect (boolean)} for the gain share
(the premium is then computed only when inputs.reimbursable_fees is given).
"""

from __future__ import annotations

from decimal import Decimal

from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.money import fmt
from convmed.forfaits.schemes._partb import cents, computed, pct, percent_input, unknown

P = "forfaits.optam."
LABEL = "Rémunération spécifique OPTAM"
RATE_KEY = {"medecine_generale": "generalistes", "mep": "mep", "psychiatrie": "psychiatres_neuropsychiatres",
            "neuropsychiatrie": "psychiatres_neuropsychiatres", "neurologie": "neurologues", "pediatrie": "pediatres",
            "gynecologie_medicale": "gynecologues_medicaux", "gynecologie_obstetrique": "gynecologues_obstetriciens",
            "medecine_physique_readaptation": "mpr", "cardiologie": "cardiologues", "endocrinologie": "endocrinologues",
            "medecine_interne": "internistes", "dermatologie": "dermatologues", "rhumatologie": "rhumatologues",
            "pneumologie": "pneumologues", "gastro_enterologie": "gastro_enterologues", "ophtalmologie": "ophtalmologues",
            "oto_rhino_laryngologie": "orl", "anesthesie_reanimation": "anesthesistes", "chirurgie": "chirurgiens",
            "radiologie": "radiodiagnostic_imagerie", "nephrologie": "nephrologues", "stomatologie": "stomatologues"}
RATE_KEYS = sorted(set(RATE_KEY.values()) | {"acp", "medecins_nucleaires", "radiotherapeutes"})


def respect_gap(overbilling: Decimal, commit_over: Decimal, opposable: Decimal, commit_opp: Decimal) -> Decimal:
    """Points by which the commitments are missed (sum when both are missed; a met one never compensates)."""
    gap = Decimal(0)
    if overbilling > commit_over:
        gap += overbilling - commit_over
    if opposable < commit_opp:
        gap += commit_opp - opposable
    return gap


def grid_key(gap: Decimal) -> str | None:
    """The row of the grid for a gap in points; None where the seeds do not decide (G-20)."""
    if gap == 0:
        return "strict"
    if gap < 1 or gap in (2, 3, 4):
        return None
    if gap < 2:
        return "gap_1_2"
    if gap < 3:
        return "gap_2_3"
    if gap < 4:
        return "gap_3_4"
    if gap <= 5:
        return "gap_4_5"
    return "gap_above_5"


GAIN_LABEL = "Partage des gains d'une hausse de tarif (avenant à l'option)"


def _m(amount: Decimal) -> str:
    return fmt(amount.normalize())


def _money_field(ctx: Context, obj: dict, key: str) -> Decimal:
    raw = obj.get(key)
    if raw is None:
        raise ctx.bad_input(f"/inputs/tariff_increase/{key}", f"tariff_increase.{key} est requis (montant en euros)")
    v = ctx.typed(f"/inputs/tariff_increase/{key}", raw)
    if v < 0:
        raise ctx.bad_input(f"/inputs/tariff_increase/{key}", f"tariff_increase.{key} ne peut pas être négatif")
    return v


def gain_share(ctx: Context) -> Component:
    """The highest total fee of an act after a rise of its reimbursement base, given the share of the gain
    the doctor keeps (60 % in respect, 0 % in non-respect: last observed level)."""
    t = ctx.input_value("tariff_increase", kind="object")
    old, new, total = (_money_field(ctx, t, k) for k in ("old_base", "new_base", "total_fee"))
    respect = t.get("last_respect")
    if not isinstance(respect, bool):
        raise ctx.bad_input("/inputs/tariff_increase/last_respect",
                            "tariff_increase.last_respect (booléen) : dernier niveau de respect constaté de l'option")
    if new <= old:
        raise ctx.bad_input("/inputs/tariff_increase/new_base", "le partage des gains suit une hausse du tarif de "
                            "remboursement : new_base doit dépasser old_base")
    if total < old:
        raise ctx.bad_input("/inputs/tariff_increase/total_fee", "le tarif total facturé ne peut être inférieur à la base "
                            "de remboursement avant la hausse")
    try:
        share = ctx.param(P + ("gain_share_respect_percent" if respect else "gain_share_non_respect_percent"))
    except Unknown as exc:  # before the 2024 options the seeds give no gain sharing: unknown, not « not applicable »
        return Component.unknown("gain_share", GAIN_LABEL, exc)
    rise = new - old
    kept = rise * pct(share)
    highest = total + kept
    level = "respect" if respect else "non-respect"
    ctx.note("gain_share", f"dernier niveau constaté : {level} → partage des gains de {share} % en faveur du médecin ; "
             f"hausse de la base {_m(old)} € → {_m(new)} € = {_m(rise)} € ; tarif total {_m(total)} € + {share} % × "
             f"{_m(rise)} € = {_m(highest)} €")
    return Component("gain_share", GAIN_LABEL, None, "computed", None,
                     f"{level} : le médecin peut réintégrer {share} % de la revalorisation ({_m(kept)} €) dans le tarif "
                     f"total de l'acte, soit {_m(highest)} € au plus",
                     {"share_percent": share, "rise": _m(rise), "kept": _m(kept), "highest_total_fee": _m(highest),
                      "overbilling_before": _m(total - old), "overbilling_after": _m(highest - new)})


@formula("optam_premium")
def optam(ctx: Context) -> list[Component]:
    out = []
    if "tariff_increase" in ctx.inputs:
        out.append(gain_share(ctx))
        if "reimbursable_fees" not in ctx.inputs:
            return out
    return out + _premium(ctx)


def _premium(ctx: Context) -> list[Component]:
    fees = ctx.input_value("reimbursable_fees")
    if fees < 0:
        raise ctx.bad_input("/inputs/reimbursable_fees", "reimbursable_fees must not be negative")
    opp = percent_input(ctx, "opposable_rate_percent")
    over = ctx.input_value("overbilling_rate_percent")
    c_over = ctx.input_value("commitment_overbilling_percent")
    c_opp = percent_input(ctx, "commitment_opposable_percent")
    if over < 0 or c_over < 0:
        raise ctx.bad_input("/inputs/overbilling_rate_percent", "overbilling rates must not be negative")
    specialty = ctx.doctor.get("specialty")
    key = ctx.inputs.get("specialty_rate_key") or RATE_KEY.get(specialty)
    if key is None or key not in RATE_KEYS:
        raise ctx.bad_input("/inputs/specialty_rate_key", f"no OPTAM specialty rate for {specialty!r}: give inputs.specialty_rate_key, one of {', '.join(RATE_KEYS)}")
    if key == "anesthesistes" and ctx.as_of.year >= 2025:
        return [Component.not_applicable("premium", LABEL, "Anesthésistes : la prime OPTAM est remplacée par un modificateur dédié "
                                         "(12 % secteur 1, 8 % secteur 2 OPTAM-ACO).")]
    gap = respect_gap(over, c_over, opp, c_opp)
    row = grid_key(gap)
    ctx.note("premium", f"taux de dépassement {over} % (engagement {c_over} %), activité à tarif opposable {opp} % "
             f"(engagement {c_opp} %) : écart {gap} point(s)")
    try:
        recovery = ctx.param(P + "systematic_recovery_above_points")
    except Unknown:
        recovery = None
    if recovery is not None and gap > recovery:
        ctx.note("premium", f"non-respect de {gap} points, strictement supérieur à {recovery} points : la récupération "
                 f"des sommes versées est systématique")
    if row is None:
        return [Component("premium", LABEL, None, "unknown", "VALUE_GAP",
                          f"Écart de {gap} point(s) : les grilles « de 1 à 2 points », « de 2 à 3 points »… ne tranchent pas ce cas (lacune G-20).",
                          {"gap_points": gap})]
    try:
        level = ctx.param(P + f"respect_share.{row}")
        rate = ctx.param(P + f"specialty_rate.{key}")
        month = ctx.param(P + "payment_month")
    except Unknown as exc:
        return [unknown("premium", LABEL, exc, gap_points=gap)]
    amount = fees * pct(opp) * pct(rate) * pct(level)
    ctx.note("premium", f"{fees} € × {opp} % × {rate} % × {level} % = {amount} €")
    amount = cents(ctx, "premium", amount)
    return [computed("premium", LABEL, amount, gap_points=gap, respect_percent=level, specialty_rate_percent=rate,
                     payment=f"{ctx.year + 1}-{int(month):02d}")]

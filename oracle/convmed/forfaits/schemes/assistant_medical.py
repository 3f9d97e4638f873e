"""Aide à l'emploi d'un assistant médical (convention 2024, amounts revalued from 22 June 2024).

Amount of contract year k = scale(option, k, patientèle band) in force on the anniversary opening year k
(signature + k-1 years): the 2024 amounts reach contracts signed earlier from their first anniversary after
22 June 2024 (004). Years 1-2 are paid in full; from year 3 the share paid depends on the objectives
(GPs and paediatricians: PMT and PFA; other specialties: PFA): achieved -> 100 %; decrease vs the initial
patientèle -> 0 (maintenance objectives: tolerance -5 %, prorated beyond); not achieved without decrease ->
prorated on the (best) achievement rate, whose definition the seeds do not give (gap G-18): it must be
given as inputs.<pmt|pfa>.achievement_rate_percent, otherwise the share is unknown.

Inputs: etp_option ("0.33" = 1/3 ETP legacy, "0.5", "1", "1.5", "2"), contract_year, signature_date,
percentile (integer rank of the starting patientèle), rqth_or_ald, primo_installed, pmt / pfa objects
{initial, current, objective_extra, achievement_rate_percent}, previous_1_etp_contract and
all_objectives_met (1.5 / 2 ETP), excluded_specialty (true for radiothérapie, ACP, médecine nucléaire,
which have no term in the vocabulary), surgeon_clinical_share_percent (surgeons), use_proposal_003,
first_installation_date, previous_contract_end_date.

Primo-installed (004, « Définition des cas particuliers »): first installation in the territory of the caisse
« au cours des 12 derniers mois » before the signature (`primo_installation_window_months`, read on the signature
date; the window runs from the same day 12 months earlier to the signature) and a patientèle under the P50. With
inputs.first_installation_date (and signature_date) the formula decides the first condition itself; a
primo_installed given as well must agree with it (otherwise a located input error).
Waiting period (004, « Délai de carence »): after the term or the resignation of a previous contract
(inputs.previous_contract_end_date), no new contract before `waiting_period_years` (2) years: a signature earlier
than the end date + 2 years gives no aid (not_applicable); the exact end day + 2 years is allowed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from convmed.facts import completed_years, shift_months
from convmed.forfaits.context import Component, Context, Unknown, unmet_conditions
from convmed.forfaits.registry import formula
from convmed.money import fmt
from convmed.forfaits.schemes._partb import (anniversary, cents, computed, input_date, param_on, pct, proposal_value,
                                             unknown)

P = "forfaits.assistant_medical."
LABEL = "Aide à l'emploi d'un assistant médical"
OPTIONS = {"0.33": "etp_1_3", "0.5": "etp_0_5", "1": "etp_1", "1.5": "etp_1_5", "2": "etp_2"}
OPTION_LABEL = {"etp_1_3": "1/3 ETP", "etp_0_5": "0,5 ETP", "etp_1": "1 ETP", "etp_1_5": "1,5 ETP", "etp_2": "2 ETP"}
GP_PAED = ("medecine_generale", "mep", "pediatrie")


def _revaluation(ctx: Context) -> date:
    """The day the 2024 convention's amounts start, read from the spec: the first certain start of
    `revaluation_applies_to_existing_contracts` (004: the revalued amounts apply, from the convention's entry into
    force, to the contracts signed before it). Contracts signed from that day are the convention's own."""
    starts = ctx.concept(P + "revaluation_applies_to_existing_contracts").timeline.change_dates()
    if not starts:
        raise Unknown("VALUE_GAP", "date d'entrée en vigueur des montants revalorisés de l'aide non donnée par le spec")
    return starts[0]


PROPOSAL_ROWS = (30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 99)


def _option(ctx: Context) -> str:
    raw = ctx.inputs.get("etp_option")
    if raw is None:
        raise ctx.bad_input("/inputs/etp_option", "input 'etp_option' is required (\"0.33\" for 1/3 ETP, \"0.5\", \"1\", \"1.5\", \"2\")")
    if raw not in OPTIONS:
        raise ctx.bad_input("/inputs/etp_option", f"{raw!r} is not an option of the aid (\"0.33\", \"0.5\", \"1\", \"1.5\", \"2\")")
    return OPTIONS[raw]


def _measure(ctx: Context, key: str) -> dict | None:
    if key not in ctx.inputs:
        return None
    m = ctx.input_value(key, kind="object")
    out = {}
    for f in ("initial", "current", "objective_extra"):
        v = m.get(f)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ctx.bad_input(f"/inputs/{key}/{f}", f"{key}.{f} must be a non-negative integer")
        out[f] = v
    if "achievement_rate_percent" in m:
        r = ctx.typed(f"/inputs/{key}/achievement_rate_percent", m["achievement_rate_percent"], "decimal")
        if not 0 <= r <= 100:
            raise ctx.bad_input(f"/inputs/{key}/achievement_rate_percent", "a percentage between 0 and 100")
        out["rate"] = r
    return out


def _assess(ctx: Context, key: str, m: dict, tolerance: Decimal) -> dict:
    """One patientèle: achieved / not_achieved / decrease (maintenance: tolerance then prorated)."""
    initial, current, extra = m["initial"], m["current"], m["objective_extra"]
    if extra == 0:  # maintenance objective
        floor = Decimal(initial) * (1 - pct(tolerance))
        if current >= floor:
            res = "achieved"
        else:
            res = "not_achieved"
        ctx.note("aid", f"{key.upper()} : objectif de maintien, {current} patients pour {initial} au départ "
                 f"(tolérance -{tolerance} % : au moins {floor}) → {res}")
        return {"result": res, "rate": m.get("rate"), "maintenance": True}
    if current < initial:
        res = "decrease"
    elif current >= initial + extra:
        res = "achieved"
    else:
        res = "not_achieved"
    ctx.note("aid", f"{key.upper()} : {current} patients pour {initial} au départ + {extra} visés → {res}")
    return {"result": res, "rate": m.get("rate"), "maintenance": False}


def _share(ctx: Context, gp: bool) -> tuple[Decimal | None, str]:
    """Share (%) of the maximum aid paid from year 3, or None when the achievement rate is needed."""
    tolerance = ctx.param(P + "maintain_tolerance_percent")
    keys = ("pmt", "pfa") if gp else ("pfa",)
    measures = {}
    for k in keys:
        m = _measure(ctx, k)
        if m is None:
            raise ctx.bad_input(f"/inputs/{k}", f"from contract year 3 the aid depends on the {k.upper()} objective: inputs.{k} is required")
        measures[k] = _assess(ctx, k, m, tolerance)
    results = [v["result"] for v in measures.values()]
    if "decrease" in results:
        return Decimal(0), "baisse de la patientèle par rapport à la patientèle de départ : aide non versée (sauf circonstances exceptionnelles définies par la CPN)"
    if "achieved" in results:
        return Decimal(100), "objectif atteint" + (" (PMT ou PFA)" if gp else "")
    rates = [v["rate"] for v in measures.values()]
    if any(r is None for r in rates):
        return None, "objectifs non atteints sans baisse : aide proratisée sur le taux d'atteinte, dont la définition manque (lacune G-18) ; fournir achievement_rate_percent"
    best = max(rates)
    return best, f"objectifs non atteints sans baisse : proratisation sur le meilleur taux d'atteinte ({best} %)"


def _primo_installed(ctx: Context, signed: date | None) -> bool | None:
    """First condition of « primo-installé »: first installation in the caisse's territory within the window before
    the signature. From inputs.first_installation_date when given, else inputs.primo_installed (True/False/None)."""
    declared = ctx.inputs.get("primo_installed")
    installed = input_date(ctx, "first_installation_date", required=False)
    if installed is None:
        return declared if isinstance(declared, bool) else None
    if signed is None:
        raise ctx.bad_input("/inputs/signature_date", "first_installation_date needs signature_date (la fenêtre de "
                            "primo-installation se compte avant la signature du contrat)")
    if installed > signed:
        raise ctx.bad_input("/inputs/first_installation_date", "installation postérieure à la signature du contrat")
    try:
        window = int(param_on(ctx, P + "primo_installation_window_months", signed))
    except Unknown:
        ctx.note("objective", "fenêtre de primo-installation inconnue à la date de signature : primo_installed fourni retenu")
        return declared if isinstance(declared, bool) else None
    start = shift_months(signed, months=window)   # the same day `window` months earlier (month end if shorter)
    inside = start <= installed
    ctx.note("objective", f"première installation le {installed.strftime('%d/%m/%Y')} : "
             + ("dans" if inside else "hors de") + f" la fenêtre des {window} derniers mois précédant la signature "
             f"(du {start.strftime('%d/%m/%Y')} au {signed.strftime('%d/%m/%Y')})")
    if isinstance(declared, bool) and declared != inside:
        raise ctx.bad_input("/inputs/primo_installed",
                            f"primo_installed = {str(declared).lower()} contredit first_installation_date : installation "
                            + ("dans les" if inside else "hors des") + f" {window} mois précédant la signature")
    return inside


def _objective(ctx: Context, percentile: int, gp: bool, option: str, signed: date | None = None) -> Component:
    """What the seeds say about the objective of this doctor (information; no amount)."""
    d: dict = {}
    lo = ctx.param(P + "min_percentile")
    high = ctx.param(P + "band_high_min_percentile")
    age = None
    if ctx.doctor.get("birth_date"):
        age = completed_years(date.fromisoformat(ctx.doctor["birth_date"]), ctx.reference_date)
    elif ctx.doctor.get("age_at_year_end") is not None:
        age = ctx.doctor["age_at_year_end"]
    older = ctx.param(P + "older_doctor_min_age")
    if age is not None and age >= older:
        d["kind"] = "maintenance_possible"
        d["text"] = f"médecin de 65 ans et plus (signé « plus de 65 ans » ; 67 ans et plus dans le projet, conflit C-11f) : contrat de maintien possible, tolérance -5 %"
    elif (primo := _primo_installed(ctx, signed)) is True and percentile >= ctx.param(P + "primo_max_percentile_exclusive"):
        d["kind"] = "individualised" if percentile < high else "maintenance"
        d["text"] = ("installé récemment mais patientèle au P50 ou plus : pas « primo-installé » au sens du contrat "
                     "(patientèle inférieure au P50 requise) ; objectif de droit commun")
    elif primo is True:
        d["kind"] = "primo_installed"
        first, then = ctx.param(P + "primo_objective_years"), ctx.param(P + "primo_new_objective_years")
        d["text"] = (f"primo-installé : atteindre le P50 de la spécialité en {first} ans, puis nouvel objectif par avenant "
                     f"à atteindre en {then} ans")
    elif percentile > high:
        d["kind"] = "maintenance"
        d["text"] = "forte patientèle (> P95) : maintien de la patientèle, tolérance -5 %"
    elif percentile == high:
        d["kind"] = "uncertain"
        d["text"] = "exactement P95 : maintien selon le projet (≥ P95), individualisé selon le signé (> P95) — conflit C-12f"
    elif percentile < 50:
        d["kind"] = "fixed_by_specialty"
        d["text"] = "P30-P50 : objectif fixe par spécialité (annexe absente, lacune G-17)"
    else:
        d["kind"] = "individualised"
        d["text"] = "P50-P94 : objectif individualisé selon la patientèle de départ (méthode en annexe absente, lacune G-17)"
    ctx.note("objective", d["text"])
    row_p = percentile
    initial = (ctx.inputs.get("pmt") or {}).get("initial") if isinstance(ctx.inputs.get("pmt"), dict) else None
    if ctx.inputs.get("use_proposal_003") is True and isinstance(initial, int):
        for p_ in PROPOSAL_ROWS:
            if proposal_value(ctx, f"{P}proposal_003.p_{p_}.pmt_2021") == initial:
                row_p = p_
                break
    if ctx.inputs.get("use_proposal_003") is True and gp and option == "etp_1" and row_p in PROPOSAL_ROWS:
        row = f"{P}proposal_003.p_{row_p}."
        try:
            d["proposal_003"] = {"level": "proposal", "pmt_2021": proposal_value(ctx, row + "pmt_2021"),
                                 "objective_linear": proposal_value(ctx, row + "objective_linear"),
                                 "objective_current": proposal_value(ctx, row + "objective_current")}
        except Unknown as exc:
            d["proposal_003"] = {"level": "proposal", "unknown": exc.message}
    return Component("objective", "Objectif de patientèle (information)", None, "computed", None, None, d)


def _waiting_period(ctx: Context, label: str, signed: date | None, objective: Component) -> list[Component] | None:
    """« un délai de carence de deux ans est appliqué avant toute signature d'un nouveau contrat »."""
    ended = input_date(ctx, "previous_contract_end_date", required=False)
    if ended is None:
        return None
    if signed is None:
        raise ctx.bad_input("/inputs/signature_date", "previous_contract_end_date needs signature_date (le délai de carence "
                            "se compte jusqu'à la signature du nouveau contrat)")
    if ended > signed:
        raise ctx.bad_input("/inputs/previous_contract_end_date",
                            "fin du contrat précédent postérieure à la signature du nouveau contrat")
    try:
        years = int(param_on(ctx, P + "waiting_period_years", signed))
    except Unknown as exc:  # contracts signed before 22 June 2024: the seeds give no waiting period, unknown
        return [Component.unknown("aid", label, exc), objective]
    # the same day `years` years later (28 February for a 29); None past the calendar's end (year 9999)
    allowed = shift_months(ended, years=-years) if ended.year + years <= date.max.year else None
    if allowed is None or signed < allowed:
        until = allowed.strftime("%d/%m/%Y") if allowed else "la fin du calendrier (an 9999)"
        return [Component.not_applicable("aid", label, f"Délai de carence de {years} ans après la fin du contrat précédent "
                                         f"({ended.strftime('%d/%m/%Y')}) : pas de nouveau contrat avant le {until}.",
                                         previous_contract_end_date=ended, waiting_period_years=years,
                                         earliest_signature=allowed), objective]
    ctx.note("aid", f"contrat précédent terminé le {ended.strftime('%d/%m/%Y')} : délai de carence de {years} ans écoulé "
             f"au {signed.strftime('%d/%m/%Y')}")
    return None


@formula("assistant_medical_2024")
def assistant_medical(ctx: Context) -> list[Component]:
    option = _option(ctx)
    k = ctx.input_value("contract_year", kind="integer")
    if k < 1:
        raise ctx.bad_input("/inputs/contract_year", "contract_year starts at 1")
    percentile = ctx.input_value("percentile", kind="integer")
    if not 0 <= percentile <= 100:
        raise ctx.bad_input("/inputs/percentile", "percentile is an integer between 0 and 100")
    signed = input_date(ctx, "signature_date", required=False)
    try:
        revaluation = _revaluation(ctx)
    except Unknown as exc:
        return [unknown("aid", LABEL, exc)]
    if signed and signed.year + k - 1 > date.max.year:
        raise ctx.bad_input("/inputs/contract_year",
                            f"contract_year {k} after a signature in {signed.year} falls beyond the calendar (year 9999)")
    on = anniversary(signed, k - 1) if signed else ctx.as_of
    spec_ = ctx.doctor.get("specialty")
    gp = spec_ in GP_PAED
    label = f"{LABEL} ({OPTION_LABEL[option]}, année {k})"
    if ctx.inputs.get("excluded_specialty") is True:
        return [Component.not_applicable("aid", label, "Radiothérapeutes, anatomo-cytopathologistes et médecins nucléaires sont exclus de l'aide.")]
    try:
        if spec_ == "chirurgie":
            share_clin = ctx.input_value("surgeon_clinical_share_percent")
            min_clin = ctx.param(P + "surgeon_min_clinical_share_percent")
            if share_clin <= min_clin:
                return [Component.not_applicable("aid", label, f"Chirurgien : honoraires cliniques (hors CCAM) ≤ {min_clin} % des honoraires sans dépassement.")]
        min_p = ctx.param(P + "min_percentile")
        maj_lo = ctx.param(P + "band_majore_min_percentile")
        maj_hi = ctx.param(P + "band_majore_max_percentile")
        high = ctx.param(P + "band_high_min_percentile")
        contract_years = ctx.param(P + "contract_years")
        objective = _objective(ctx, percentile, gp, option, signed)
    except Unknown as exc:
        return [unknown("aid", label, exc)]
    waiting = _waiting_period(ctx, label, signed, objective)
    if waiting is not None:
        return waiting
    rqth = ctx.inputs.get("rqth_or_ald") is True
    if percentile < min_p and not rqth:
        return [Component.not_applicable("aid", label, f"Patientèle de départ sous le {min_p}e percentile de la spécialité : pas d'aide "
                                         "(sauf médecin RQTH ou en ALD)."), objective]
    if rqth and percentile < min_p:
        return [Component(label=label, id="aid", status="unknown", reason="VALUE_GAP",
                          message="Médecin RQTH ou en ALD sous le P30 : niveau de l'aide et objectif fixés conjointement avec la caisse."), objective]
    # option conditions
    if option == "etp_1_3" and signed is not None and signed >= revaluation:
        return [Component.not_applicable("aid", label, "L'option 1/3 ETP ne concerne que les contrats signés avant la convention 2024."), objective]
    # the options' cumulative conditions (scheme.yaml, component aid: 1,5 / 2 ETP in ZIP, généraliste...)
    unmet = unmet_conditions(ctx, "aid", label, "Options 1,5 et 2 ETP : ")
    if unmet is not None:
        return [unmet, objective]
    # maximum amount of year k
    if percentile >= high:
        key, band = "p95", "≥ P95 (montant fixe)"
    elif k >= 3 and maj_lo <= percentile <= maj_hi:
        key, band = "p90_p94", "[P90-P94] (montant majoré)"
    elif k == 1:
        key, band = "year_1", "1re année"
    elif k == 2:
        key, band = "year_2", "2e année"
    else:
        key, band = "year_3_plus", "3e année et suivantes" + (
            " (renouvellement : montant de 3e année)" if k > contract_years else "")
    if option in ("etp_1_5", "etp_2") and key in ("year_1", "year_2"):
        key = "year_3_plus"
    if on < revaluation:
        return [Component("aid", label, None, "unknown", "VALUE_GAP",
                          f"Année de contrat ouverte le {on.isoformat()}, avant la revalorisation du {revaluation.isoformat()} (appliquée à l'anniversaire "
                          "suivant) : montants antérieurs non donnés par les sources (lacune G-16).", {"anniversary": on}), objective]
    try:
        maximum = param_on(ctx, f"{P}amount.{option}.{key}", on)
    except Unknown as exc:
        return [unknown("aid", label, exc, anniversary=on), objective]
    ctx.note("aid", f"{OPTION_LABEL[option]}, année {k}, patientèle au P{percentile} : tranche {band}, montant maximal {maximum} € "
             f"(barème en vigueur au {on.isoformat()})")
    try:
        acompte_pct = ctx.param(P + ("etp_1_3_acompte_percent" if option == "etp_1_3" else "acompte_percent"))
        if k <= 2:
            share, why = Decimal(100), "versement intégral les deux premières années"
        else:
            share, why = _share(ctx, gp)
    except Unknown as exc:
        return [unknown("aid", label, exc), objective]
    details = {"maximum": fmt(maximum), "band": key, "anniversary": on}
    if signed is not None and signed < revaluation:
        # contract signed before the 2024 convention: revalued amounts from its next anniversary (004), while
        # 001 speaks of the increase « pour les nouveaux contrats » (conflict C-13f)
        ctx.param(P + "revaluation_applies_to_existing_contracts")
        details["conflict"] = "C-13f"
    if share is None:
        return [Component("aid", label, None, "unknown", "VALUE_GAP", why, details), objective]
    amount = cents(ctx, "aid", maximum * pct(share))
    ctx.note("aid", f"{why} : {share} % de {maximum} € = {amount} €")
    details.update(share_percent=share, reason_text=why)
    if option == "etp_1_3" or k >= 3:
        acompte = cents(ctx, "aid", maximum * pct(acompte_pct))
        details["instalments"] = [{"label": "acompte", "amount": fmt(acompte)},
                                  {"label": "solde", "amount": fmt(amount - acompte)}]
    else:
        details["instalments"] = [{"label": "versement unique", "amount": fmt(amount)}]
    return [computed("aid", label, amount, **details), objective]

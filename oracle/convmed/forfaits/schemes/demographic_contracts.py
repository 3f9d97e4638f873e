"""Contrats démographiques de la convention 2016 (CAIM, COSCOM, CSTM, COTRAM) and their transition.

The aid due for the civil year n of a contract signed on inputs.signature_date, with the amounts in
force at signature. Transition (2024 convention): no new adhesion after 31 Dec 2025; running contracts
go to term; a resignation takes effect on 31 Dec of the year of the request, after which the FMT ZIP
majoration (or, for a CSTM, the consultations avancées) takes over.

COSCOM: a contract of `coscom.duration_years` (3) years renewed by tacit renewal (002; 004: renewal still possible
after the transition); the component names the period (initial or renewed) running on 31 December n
(details contract_period, contract_period_start, contract_period_end).
CSTM: the doctor commits to practise at least `cstm.min_days_per_year` (10) days a year in « fragile » zones; when
inputs.days_in_fragile_zones is given and below it, the commitment is not kept and the amount is unknown (the
seeds do not say what follows: no aid, a prorated aid or the end of the contract).
Reads: inputs.contract, inputs.signature_date, inputs.resignation_date, inputs.days_per_week (CAIM), inputs.hospital,
inputs.trainee_months, inputs.ars_amounts (COSCOM), inputs.fees, inputs.ars_rate_percent (CSTM, COTRAM),
inputs.days_in_fragile_zones (CSTM, optional), inputs.successor_age (COTRAM), inputs.opposable_share_percent (S2).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from convmed.errors import ConvmedError
from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.forfaits.schemes._partb import (anniversary, cents, choice, computed, gap_unknown, input_date, non_negative,
                                             param_on, pct, percent_input, unknown)

P = "forfaits.demographic_contracts."
LABELS = {"CAIM": "CAIM : aide forfaitaire à l'installation", "COSCOM": "COSCOM : rémunération forfaitaire",
          "CSTM": "CSTM : aide annuelle (activité en zone fragile)", "COTRAM": "COTRAM : aide annuelle (transition)"}
CAIM_DAYS = {Decimal("4"): "days_4", Decimal("3.5"): "days_3_5", Decimal("3"): "days_3", Decimal("2.5"): "days_2"}
AFTER = {"CAIM": "la majoration ZIP du forfait médecin traitant s'applique à l'issue du contrat",
         "COSCOM": "la majoration ZIP de la partie socle du forfait médecin traitant s'applique à la place",
         "COTRAM": "la majoration ZIP de la partie socle du forfait médecin traitant s'applique à la place",
         "CSTM": "le médecin peut bénéficier des consultations avancées s'il en remplit les conditions"}


def _s2_share(ctx: Context) -> Decimal | None:
    if ctx.doctor.get("sector") != "S2":
        return None
    return percent_input(ctx, "opposable_share_percent")


def _caim(ctx, cid, label, signed, on) -> Component:
    days = ctx.input_value("days_per_week")
    key = CAIM_DAYS.get(days.normalize() if days else days)
    minimum = param_on(ctx, P + "caim.min_days_per_week", on)
    if days < minimum:
        return Component.not_applicable(cid, label, f"Le CAIM engage à exercer au moins {str(minimum).replace('.', ',')} "
                                        f"jours par semaine dans la zone.")
    if key is None:
        raise ctx.bad_input("/inputs/days_per_week", "the CAIM scale gives 2.5 (« 2 jours »), 3, 3.5 or 4 days a week")
    offset = ctx.year - signed.year
    if offset not in (0, 1):
        return Component.not_applicable(cid, label, "L'aide du CAIM est versée en deux fois : à la signature et un an plus tard.")
    ars = ctx.input_value("ars_amount", required=False)
    total = param_on(ctx, P + "caim." + key, on) if ars is None else None
    if ars is not None:
        cap = param_on(ctx, P + "caim.ars_" + key, on)
        if ars > cap or ars < 0:
            raise ctx.bad_input("/inputs/ars_amount", f"la majoration ARS du CAIM est plafonnée à {cap} € pour cette activité")
        total = ars
    if ctx.inputs.get("hospital") is True:
        total += param_on(ctx, P + "caim.hospital_majoration", on)
    share = param_on(ctx, P + "caim.first_instalment_percent", on)
    amount = total * pct(share) if offset == 0 else total - total * pct(share)
    ctx.note(cid, f"aide totale {total} € ; {'versement à la signature' if offset == 0 else 'solde un an plus tard'} : {amount} €")
    return computed(cid, label, amount, total_aid=total, instalment="signature" if offset == 0 else "one_year_later")


def _coscom_period(signed: date, years: int, on: date) -> tuple[int, date, date]:
    """The period of `years` (>= 1) years (initial contract, then each tacit renewal) that contains `on` (>= signed):
    (number from 1, first day, first day of the next period, capped at the end of the calendar)."""
    n = max(1, (on.year - signed.year) // years)
    while n > 1 and anniversary(signed, (n - 1) * years) > on:
        n -= 1
    while anniversary(signed, n * years) <= on and signed.year + n * years <= date.max.year:
        n += 1
    return n, anniversary(signed, (n - 1) * years), anniversary(signed, n * years)


def _coscom(ctx, cid, label, on) -> Component:
    ars = ctx.input_value("ars_amounts", required=False, kind="object", default={})
    annual = param_on(ctx, P + "coscom.annual", on)
    if "annual" in ars:
        cap = param_on(ctx, P + "coscom.ars_annual_max", on)
        annual = _capped(ctx, "annual", ars["annual"], cap)
    amount = annual
    if ctx.inputs.get("hospital") is True:
        h = param_on(ctx, P + "coscom.hospital_majoration", on)
        if "hospital" in ars:
            h = _capped(ctx, "hospital", ars["hospital"], param_on(ctx, P + "coscom.ars_hospital_max", on))
        amount += h
    months = ctx.input_value("trainee_months", required=False)
    if months is not None:
        monthly = param_on(ctx, P + "coscom.trainee_monthly", on)
        if "trainee_monthly" in ars:
            monthly = _capped(ctx, "trainee_monthly", ars["trainee_monthly"], param_on(ctx, P + "coscom.ars_trainee_monthly_max", on))
        amount += non_negative(ctx, "trainee_months", months) * monthly
    share = _s2_share(ctx)
    if share is not None:
        amount = amount * pct(share)
        ctx.note(cid, f"secteur 2 : aide proratisée sur le taux d'activité à tarifs opposables ({share} %)")
    return computed(cid, label, cents(ctx, cid, amount))


def _capped(ctx, key, raw, cap):
    v = ctx.typed(f"/inputs/ars_amounts/{key}", raw, "decimal")
    if v < 0 or v > cap:
        raise ctx.bad_input(f"/inputs/ars_amounts/{key}", f"plafond de la majoration ARS : {cap}")
    return v


def _share_of_fees(ctx, cid, label, kind, on) -> Component:
    fees = non_negative(ctx, "fees", ctx.input_value("fees"))
    rate = param_on(ctx, P + f"{kind}.rate_percent", on)
    cap = param_on(ctx, P + f"{kind}.annual_cap", on)
    ars_rate = ctx.input_value("ars_rate_percent", required=False)
    if ars_rate is not None:
        max_rate = param_on(ctx, P + f"{kind}.ars_rate_max_percent", on)
        if ars_rate < 0 or ars_rate > max_rate:
            raise ctx.bad_input("/inputs/ars_rate_percent", f"taux majoré par l'ARS : {max_rate} % au plus")
        rate, cap = ars_rate, param_on(ctx, P + f"{kind}.ars_annual_cap", on)
    share = _s2_share(ctx)
    base = fees * pct(rate)
    if share is None:
        amount = min(base, cap)
        ctx.note(cid, f"{rate} % × {fees} € = {base} €, plafond {cap} €")
        return computed(cid, label, cents(ctx, cid, amount))
    a = min(base, cap) * pct(share)
    b = min(base * pct(share), cap)
    ctx.note(cid, f"secteur 2 : {rate} % × {fees} € proratisé à {share} % ; plafond {cap} €")
    if a != b:
        return Component(cid, label, None, "unknown", "VALUE_GAP",
                         "L'ordre du plafond et de la proratisation secteur 2 n'est pas écrit : les deux lectures diffèrent.",
                         {"cap_then_prorate": cents(ctx, cid, a), "prorate_then_cap": cents(ctx, cid, b)})
    return computed(cid, label, cents(ctx, cid, a))


@formula("demographic_contracts_2016")
def demographic_contracts(ctx: Context) -> list[Component]:
    kind = choice(ctx, "contract", ("CAIM", "COSCOM", "CSTM", "COTRAM"))
    cid, label = kind.lower(), LABELS[kind]
    signed = input_date(ctx, "signature_date")
    resigned = input_date(ctx, "resignation_date", required=False)
    # adhesion open on the signature date?
    try:
        param_on(ctx, P + "adhesion_open", signed)
    except Unknown as exc:
        if exc.reason == "ABOLISHED":
            return [Component.not_applicable(cid, label, "Adhésion aux contrats démographiques impossible après le 31 décembre 2025 "
                                              "(fin des dispositifs transitoires).", signature_date=signed)]
        return [unknown(cid, label, exc)]
    if ctx.year < signed.year:
        return [Component.not_applicable(cid, label, "Année antérieure à la signature du contrat.")]
    if resigned is not None and ctx.year > resigned.year:
        ctx.note(cid, f"résiliation demandée le {resigned.isoformat()} : effets jusqu'au 31/12/{resigned.year}")
        return [Component.not_applicable(cid, label, f"Contrat résilié : il a produit ses effets jusqu'au 31 décembre {resigned.year} ; {AFTER[kind]}.",
                                         resignation_date=resigned)]
    if kind == "CAIM":
        try:
            duration = param_on(ctx, P + "caim.duration_years", signed)
        except Unknown as exc:
            return [unknown(cid, label, exc)]
        if ctx.year - signed.year >= duration:
            return [Component.not_applicable(cid, label, f"CAIM de {duration} ans non renouvelable arrivé à terme ; {AFTER[kind]}.")]
    if kind == "CSTM":
        try:
            min_days = param_on(ctx, P + "cstm.min_days_per_year", signed)
        except Unknown as exc:
            return [unknown(cid, label, exc)]
        days = ctx.input_value("days_in_fragile_zones", required=False)
        if days is not None:
            non_negative(ctx, "days_in_fragile_zones", days)
            if days < min_days:
                # the seeds state the commitment (a condition of adhesion), not what follows when it is not kept
                return [gap_unknown(cid, label, f"Le CSTM engage à exercer au minimum {min_days} jours par an en zones "
                                    f"« fragiles » : {days} jour(s) en {ctx.year}, engagement non tenu ; les sources ne "
                                    f"disent pas ce qu'il advient alors de l'aide (non versée, proratisée, résiliation).",
                                    min_days_per_year=min_days, days_in_fragile_zones=days)]
            ctx.note(cid, f"{days} jours d'exercice en zones « fragiles » en {ctx.year} : engagement d'au moins {min_days} jours par an tenu")
        else:
            ctx.note(cid, f"engagement : exercer au minimum {min_days} jours par an en zones « fragiles » "
                     f"(inputs.days_in_fragile_zones absent : non vérifié)")
    if kind == "COSCOM":
        try:
            period_years = int(param_on(ctx, P + "coscom.duration_years", signed))
        except Unknown as exc:
            return [unknown(cid, label, exc)]
        if period_years < 1:
            raise ConvmedError.single(f"forfaits.demographic_contracts.coscom.duration_years = {period_years} : une durée "
                                      f"de contrat d'au moins 1 an est attendue",
                                      file=str(ctx.concept(P + "coscom.duration_years").path), pointer="/values")
        period, start, end = _coscom_period(signed, period_years, ctx.reference_date)
        ctx.note(cid, f"contrat de {period_years} ans renouvelable par tacite reconduction : au {ctx.reference_date.strftime('%d/%m/%Y')}, "
                 f"{'période initiale' if period == 1 else f'{period}e période (reconduction tacite)'} du "
                 f"{start.strftime('%d/%m/%Y')} au {(end - timedelta(days=1)).strftime('%d/%m/%Y')}")
        coscom_period = {"contract_period": period, "contract_period_start": start, "contract_period_end": end - timedelta(days=1)}
    if kind == "COTRAM":
        age = ctx.doctor.get("age_at_year_end")
        if ctx.doctor.get("birth_date"):
            from convmed.facts import completed_years
            age = completed_years(date.fromisoformat(ctx.doctor["birth_date"]), signed)
        succ = ctx.input_value("successor_age", kind="integer")
        try:
            min_age = param_on(ctx, P + "cotram.min_age", signed)
            max_succ = param_on(ctx, P + "cotram.successor_max_age_exclusive", signed)
        except Unknown as exc:
            return [unknown(cid, label, exc)]
        if age is None:
            raise ctx.bad_input("/doctor/birth_date", "COTRAM needs doctor.birth_date (or age_at_year_end)")
        if age < min_age or succ >= max_succ:
            return [Component.not_applicable(cid, label, f"COTRAM : médecin de {min_age} ans ou plus accueillant un médecin de moins de {max_succ} ans.")]
    try:
        if kind == "CAIM":
            comp = _caim(ctx, cid, label, signed, signed)
        elif kind == "COSCOM":
            comp = _coscom(ctx, cid, label, signed)
        else:
            comp = _share_of_fees(ctx, cid, label, kind.lower(), signed)
    except Unknown as exc:
        return [unknown(cid, label, exc)]
    if kind == "COSCOM" and comp.status == "computed":
        comp.details.update(coscom_period)
    if ctx.year >= 2026 and comp.status == "computed":
        ctx.note(cid, "contrat en cours au 1er janvier 2026 : il se poursuit jusqu'à son terme sauf résiliation")
    if kind == "CAIM" and comp.status == "computed":
        comp.details["fmt_zip_majoration"] = "non applicable pendant le CAIM"
    return [comp]

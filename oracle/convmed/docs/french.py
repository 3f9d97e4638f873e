"""Plain French for the declarative parts of the spec (conditions, periods, statuses).

`convmed.conditions.describe` gives the compact formal reading (`doctor.sector ∈ {S1}`);
this module gives the sentence a regulator reads, using the labels of
`spec/vocabulary/facts.yaml` and of the vocabularies named by `values_from`.
"""

from __future__ import annotations

from convmed.operators import of

STATUS_FR = {
    "signed": "signé (000, 001)",
    "draft": "projet de texte (004)",
    "convention_2016": "convention 2016 (002)",
    "proposal": "proposition de négociation (003)",
    "derived": "dérivé (calculé à partir de valeurs citées)",
}

PERIOD_FR = {
    "calendar_year": "par année civile",
    "iso_week": "par semaine",
    "day": "par jour",
    "stay": "par séjour",
    "rolling_days": "sur une période glissante de {days} jours",
    "ever": "une fois pour toutes",
}

KIND_FR = {
    "act": "code facturable",
    "rule": "règle commune",
    "parameter": "paramètre",
    "rounding": "règle d'arrondi",
    "vocabulary": "vocabulaire",
    "meta": "métadonnées du spec",
    "scheme": "dispositif (formule)",
    "decision_table": "tableau de décision (une case par patient)",
}

FOLDER_FR = {
    "acts": "Actes",
    "rules": "Règles communes",
    "forfaits": "Forfaits et aides",
    "vocabulary": "Vocabulaire",
    "consultations": "Consultations",
    "majorations": "Majorations",
    "visites": "Visites",
    "rounding": "Arrondis",
    "schemes": "Dispositifs",
    "overlays": "Surcouches (hors corpus)",
    "ccam": "CCAM",
    "complexes": "Consultations complexes et longues",
    "dentaire": "Dentaire",
    "depassements": "Dépassements",
    "deplacements": "Déplacements et indemnités",
    "enfants": "Enfants",
    "expertise": "Avis et expertise",
    "psychiatrie": "Psychiatrie",
    "soins_non_programmes": "Soins non programmés",
    "surveillance": "Surveillance",
    "telemedecine": "Télémédecine",
    "urgences": "Urgences",
    "secteurs": "Secteurs",
    "fmt": "Forfait médecin traitant (FMT)",
    "socle": "Socle",
    "prevention": "Prévention",
    "indicators": "Indicateurs",
    "fpmt": "FPMT (convention 2016)",
    "rosp": "ROSP (convention 2016)",
    "structure": "Forfait structure",
    "optam": "OPTAM",
    "optam_adhesion": "Adhésion à l'OPTAM",
    "installation_aid": "Aides à l'installation",
    "assistant_medical": "Aide à l'emploi d'assistant médical",
    "missions": "Missions",
    "advanced_consultations": "Consultations avancées",
    "demographic_contracts": "Contrats démographiques",
    "secondary_practice": "Exercice en cabinet secondaire",
    "sobriety_bonus": "Bonus sobriété",
    "parental_aid": "Aide à la parentalité",
    "social_contributions": "Cotisations sociales",
    "sas_regulation": "Régulation SAS",
    "collective_payment": "Paiement collectif",
    "incentives": "Incitations",
}


UNIT_FR = {
    "EUR": "€", "EUR_per_km": "€ / km", "EUR_per_patient": "€ / patient", "EUR_per_point": "€ / point",
    "EUR_per_hour": "€ / heure", "EUR_per_half_day": "€ / demi-journée", "EUR_per_month": "€ / mois",
    "percent": "%", "points": "points", "count": "nombre", "patients": "patients", "ratio": "ratio",
    "days": "jours", "months": "mois", "years": "ans", "hours": "heures", "boolean": "oui / non",
    "coefficient": "coefficient",
}


def unit_fr(unit: str | None) -> str:
    return UNIT_FR.get(unit or "", unit or "")


def folder_label(name: str) -> str:
    return FOLDER_FR.get(name, name.replace("_", " ").replace("-", " ").capitalize())


# why a parameter is `not_computed` (schemas/spec/parameter.schema.json): the lint's known limits and the concept pages
NOT_COMPUTED_FR = {
    "input_computed_by_caller": "l'appelant calcule l'entrée que la formule reçoit toute faite",
    "rule_in_missing_table": "la règle dépend d'une table absente des sources",
    "informational": "information dont aucun calcul ne dépend",
}


def not_computed_fr(reason: str | None) -> str:
    return NOT_COMPUTED_FR.get(reason, reason or "")


def status_fr(status: str | None) -> str:
    return STATUS_FR.get(status or "", status or "")


def period_fr(limit: dict) -> str:
    text = PERIOD_FR.get(limit.get("period", ""), limit.get("period", ""))
    return text.format(days=limit.get("days", "?"))


class _Words:
    """Operand values of one fact, rendered with their vocabulary labels (Operator.french)."""

    def __init__(self, book: "Phrasebook", fact: str):
        self.book, self.fact = book, fact

    def value(self, v) -> str:
        return self.book.value(self.fact, v)

    def values(self, vs) -> str:
        return self.book.values(self.fact, vs)


class Phrasebook:
    """Labels of facts and of the values they take, read from the spec's vocabularies."""

    def __init__(self, spec):
        self.facts = spec.vocabulary("facts")
        self.spec = spec

    def fact(self, name: str) -> str:
        term = self.facts.get(name)
        return _lower_first(term["label"]) if term else f"« {name} »"

    def value(self, fact: str, v) -> str:
        term = self.facts.get(fact) or {}
        vocab = term.get("values_from")
        if vocab:
            label = self.spec.vocabulary(vocab).get(str(v), {}).get("label")
            if label:
                return f"{v} ({label})"
        return str(v)

    def values(self, fact: str, vs) -> str:
        items = [self.value(fact, v) for v in vs]
        if len(items) == 1:
            return items[0]
        return ", ".join(items[:-1]) + " ou " + items[-1]

    def describe(self, cond: dict) -> str:
        if "all" in cond:
            return " et ".join(self._wrap(c) for c in cond["all"])
        if "any" in cond:
            return " ou ".join(self._wrap(c) for c in cond["any"])
        if "not" in cond:
            return f"il est faux que {self._wrap(cond['not'])}"
        name = cond["fact"]
        op, operand = of(cond)   # convmed.operators: each operator's French sentence is defined there
        label = self.fact(name) if "where" not in cond else self.filtered(cond["where"])
        return op.french(label, operand, _Words(self, name))

    def filtered(self, where: dict) -> str:
        """patient.events with its filter (common.schema.json#/$defs/fact_parameters), in French."""
        kind = self.spec.vocabulary("care_events").get(where["type"], {}).get("label", where["type"])
        text = f"le nombre d'événements « {_lower_first(kind)} »"
        if "atc_prefix" in where:
            text += f" de classe ATC {where['atc_prefix']}…"
        window = where.get("window") or {}
        if "months" in window:
            text += f" des {window['months']} derniers mois"
        elif "years" in window:
            text += f" des {window['years']} dernières années" if window["years"] > 1 else " de la dernière année"
        elif "since" in window:
            text += f" depuis le {window['since']}"
        elif "campaign" in window:
            c = window["campaign"]
            text += f" de la campagne en cours (débutant le {c['day']:02d}/{c['month']:02d})"
        text += " jusqu'à la date de référence"
        for unit, words in (("age_years", "l'âge en années révolues"), ("age_months", "l'âge en mois révolus")):
            if where.get(unit):
                aop, aoperand = of(where[unit])
                text += " (où " + aop.french(words + " à l'événement", aoperand, _Words(self, "")) + ")"
        return text

    def _wrap(self, cond: dict) -> str:
        text = self.describe(cond)
        return f"({text})" if ("all" in cond or "any" in cond) else text


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def condition_mentions(cond, fact_names: set[str]) -> set:
    """Operand values the condition compares the given facts with (for the specialty / sector indexes)."""
    out: set = set()
    if not isinstance(cond, dict):
        return out
    for key in ("all", "any"):
        for c in cond.get(key) or []:
            out |= condition_mentions(c, fact_names)
    if "not" in cond:
        out |= condition_mentions(cond["not"], fact_names)
    if cond.get("fact") in fact_names:
        for op, operand in cond.items():
            if op == "fact":
                continue
            if isinstance(operand, list):
                out |= {str(v) for v in operand}
            elif isinstance(operand, (str, int)) and not isinstance(operand, bool):
                out.add(str(operand))
            elif operand is True:
                out.add(f"{cond['fact']}=true")
    return out

"""Facts of a claim, by the names of spec/vocabulary/facts.yaml.

A fact is read from the claim at its `claim_pointer` (with /line/ meaning the billed
line being evaluated) or computed by one of the few derivations below, each defined
in French in the vocabulary. A fact with no value and no default raises MissingFact.
"""

from __future__ import annotations

from datetime import date

OPTAM_OPTIONS = frozenset({"OPTAM", "OPTAM_ACO", "OPTAM_CO", "CAS"})


class MissingFact(Exception):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def completed_years(birth: date, on: date) -> int:
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def completed_months(birth: date, on: date) -> int:
    months = (on.year - birth.year) * 12 + on.month - birth.month
    if on.day < birth.day:
        # born on the 31st: a month is complete on the last day of a shorter month
        import calendar

        if not (on.day == calendar.monthrange(on.year, on.month)[1]):
            months -= 1
    return months


def _pointer_get(obj, pointer: str):
    for part in pointer.strip("/").split("/"):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


class Facts:
    """The facts of one billed line of one claim."""

    def __init__(self, claim: dict, line_index: int, vocabulary: dict[str, dict]):
        self.claim = claim
        self.line = claim["lines"][line_index]
        self.line_index = line_index
        self.vocabulary = vocabulary
        self.on = date.fromisoformat(claim["date"])

    def get(self, name: str):
        term = self.vocabulary.get(name)
        if term is None:
            raise KeyError(f"unknown fact {name}")
        if "derived" in term:
            value = getattr(self, "_" + name.replace(".", "_"))()
        else:
            pointer = term["claim_pointer"]
            if pointer.startswith("/line/"):
                value = _pointer_get(self.line, pointer[len("/line"):])
            else:
                value = _pointer_get(self.claim, pointer)
        if value is None:
            value = term.get("default")
        if value is None:
            raise MissingFact(name)
        return value

    # -- derived facts (definitions in spec/vocabulary/facts.yaml) --
    def _doctor_optam(self):
        return self.claim["doctor"].get("option", "none") in OPTAM_OPTIONS

    def _patient_age_years(self):
        patient = self.claim.get("patient") or {}
        if "birth_date" in patient:
            return completed_years(date.fromisoformat(patient["birth_date"]), self.on)
        return patient.get("age_years")

    def _patient_age_months(self):
        patient = self.claim.get("patient") or {}
        if "birth_date" in patient:
            return completed_months(date.fromisoformat(patient["birth_date"]), self.on)
        return None

    def _encounter_codes(self):
        return frozenset(l["code"] for i, l in enumerate(self.claim["lines"]) if i != self.line_index)


def history_fact(entry: dict, name: str):
    """The value of fact `name` for one history entry (for a limit's `same`)."""
    if name == "patient.id":
        return entry.get("patient_id")
    if name == "doctor.id":
        return entry.get("doctor_id")
    if name == "patient.stay_id":
        return entry.get("stay_id")
    if name.startswith("context."):
        return (entry.get("context") or {}).get(name.split(".", 1)[1])
    return None

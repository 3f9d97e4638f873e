"""Facts of a forfait request (the doctor profile), by the names of spec/vocabulary/facts.yaml.

The vocabulary's `claim_pointer` is read relative to the forfait input (the doctor
profile sits at /doctor, as in a claim). Derived facts are computed at the scheme's
reference date (31/12 of the year). A fact with no value and no default raises
MissingFact, as for claims.
"""

from __future__ import annotations

from datetime import date

from convmed.facts import OPTAM_OPTIONS, MissingFact, _pointer_get, completed_years


class ForfaitFacts:
    def __init__(self, request: dict, vocabulary: dict[str, dict], reference_date: date):
        self.request = request
        self.vocabulary = vocabulary
        self.ref = reference_date

    @property
    def doctor(self) -> dict:
        return self.request.get("doctor") or {}

    def get(self, name: str):
        term = self.vocabulary.get(name)
        if term is None:
            raise KeyError(f"unknown fact {name}")
        method = getattr(self, "_" + name.replace(".", "_"), None)
        if "derived" in term and method is not None:
            value = method()
        elif "claim_pointer" in term:
            pointer = term["claim_pointer"]
            value = None if pointer.startswith("/line/") else _pointer_get(self.request, pointer)
        else:
            value = None
        if value is None:
            value = term.get("default")
        if value is None:
            raise MissingFact(name)
        return value

    # -- derived facts (definitions in spec/vocabulary/facts.yaml) --
    def _doctor_optam(self):
        return self.doctor.get("option", "none") in OPTAM_OPTIONS

    def _doctor_age_at_year_end(self):
        if "birth_date" in self.doctor:
            return completed_years(date.fromisoformat(self.doctor["birth_date"]), self.ref)
        return self.doctor.get("age_at_year_end")

    def _doctor_active_at_year_end(self):
        end = self.doctor.get("activity_end_date")
        return True if end is None else date.fromisoformat(end) >= self.ref

    def _doctor_installation_year_rank(self):
        first = self.doctor.get("first_installation_date")
        if first is None:
            return None
        return self.ref.year - date.fromisoformat(first).year + 1

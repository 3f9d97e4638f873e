"""Facts of a forfait request (the doctor profile), by the names of spec/vocabulary/facts.yaml.

The vocabulary's `claim_pointer` is read relative to the forfait input (the doctor
profile sits at /doctor, as in a claim). Derived facts are computed at the scheme's
reference date (31/12 of the year). A fact with no value and no default raises
MissingFact, as for claims.
"""

from __future__ import annotations

from datetime import date

from convmed.facts import (OPTAM_OPTIONS, MissingFact, Range, _pointer_get, completed_months, completed_years,
                           shift_months)
from convmed.operators import of


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


class PatientFacts:
    """The facts of one patient record of a patientèle (schemas/patient.schema.json) at the reference date `ref`,
    by the names of spec/vocabulary/facts.yaml (terms with `record`): what the forfait criteria (decision table
    cells, indicators) read through convmed.conditions, like a claim's facts. A fact the record does not give
    raises MissingFact; an age in months without a birth date, or a count of events with an age filter without
    one, is a Range (spec/SEMANTIQUE.md § 1.5)."""

    __slots__ = ("rec", "ref", "birth", "_seen", "_events")

    def __init__(self, rec: dict, ref: date):
        self.rec = rec
        self.ref = ref
        b = rec.get("birth_date")
        self.birth = date.fromisoformat(b) if b else None
        self._seen = _UNSET
        self._events = None

    def get(self, name: str, where: dict | None = None):
        read = _RECORD_FACTS.get(name)
        if read is None:
            raise KeyError(f"fact {name}: convmed has no reader for it in a patient record (convmed.forfaits.facts)")
        value = read(self, where) if where is not None else read(self)
        if value is None:
            raise MissingFact(name)
        return value

    # -- the record facts (definitions in spec/vocabulary/facts.yaml, `record`) --
    def age_years(self):
        if self.birth is not None:
            return completed_years(self.birth, self.ref)
        return self.rec.get("age")

    def age_months(self):
        if self.birth is not None:
            return completed_months(self.birth, self.ref)
        years = self.rec.get("age")
        return None if years is None else Range(12 * years, 12 * years + 11)

    def seen(self):
        if self._seen is _UNSET:
            rec = self.rec
            if rec.get("seen_last_two_years") is not None:
                self._seen = rec["seen_last_two_years"]
            elif rec.get("last_seen_date") is not None:
                last = date.fromisoformat(rec["last_seen_date"])
                self._seen = shift_months(self.ref, years=2) <= last <= self.ref
            else:
                self._seen = None
        return self._seen

    def events(self, where: dict):
        """patient.events[where]: the matching events' counts summed (a Range when an age filter meets a record
        without a birth date)."""
        if self._events is None:
            self._events = [(e["type"], date.fromisoformat(e["date"]), e.get("atc"), e.get("count", 1))
                            for e in self.rec.get("events") or ()]
        lo = window_start(where.get("window"), self.ref)
        atc = where.get("atc_prefix")
        ages = [(unit, of(test)) for unit, test in (("age_years", where.get("age_years")),
                                                     ("age_months", where.get("age_months"))) if test]
        certain = uncertain = 0
        typ, ref, birth = where["type"], self.ref, self.birth
        for ev_type, d, ev_atc, count in self._events:
            if ev_type != typ or d > ref or (lo is not None and d < lo):
                continue
            if atc is not None and not (ev_atc or "").startswith(atc):
                continue
            if ages and birth is None:
                uncertain += count
                continue
            if all(op.test(completed_years(birth, d) if unit == "age_years" else completed_months(birth, d), operand)
                   for unit, (op, operand) in ages):
                certain += count
        return certain if not uncertain else Range(certain, certain + uncertain)


_UNSET = object()

_RECORD_FACTS = {
    "patient.age_years": PatientFacts.age_years,
    "patient.age_months": PatientFacts.age_months,
    "patient.sex": lambda p: p.rec.get("sex"),
    "patient.c2s": lambda p: bool(p.rec.get("c2s", False)),
    "patient.ald": lambda p: p.rec.get("ald") or (),
    "patient.has_ald": lambda p: bool(p.rec.get("ald")),
    "patient.flags": lambda p: p.rec.get("flags") or (),
    "patient.seen_last_two_years": PatientFacts.seen,
    "patient.events": PatientFacts.events,
}


def window_start(window: dict | None, ref: date) -> date | None:
    """The first day of an events window (common.schema.json#/$defs/event_window) ending at the reference date
    `ref`: months / years before it, a fixed date, or the start of the campaign running at `ref`."""
    if not window:
        return None
    if "months" in window:
        return shift_months(ref, months=window["months"])
    if "years" in window:
        return shift_months(ref, years=window["years"])
    if "since" in window:
        return date.fromisoformat(window["since"])
    c = window["campaign"]
    start = date(ref.year, c["month"], c["day"])
    return start if start <= ref else date(ref.year - 1, c["month"], c["day"])

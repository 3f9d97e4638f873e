"""The facts of a patient record (convmed.forfaits.facts.PatientFacts): the forfait criteria are conditions of
the one rule language on them (spec/SEMANTIQUE.md § 1.5).

Expected values come from the seeds: the ROR indicator of the FMT (000, « Thème Indicateurs Population
cible »: children of 16 to 35 months inclusive, at least two doses between birth and 24 months inclusive).
"""

from datetime import date

import pytest

from convmed.conditions import truth
from convmed.facts import MissingFact, Range
from convmed.forfaits.facts import _RECORD_FACTS, PatientFacts

REF = date(2026, 12, 31)


def test_the_record_facts_are_the_vocabulary_terms_with_record(spec):
    terms = {t: d for t, d in spec.vocabulary("facts").items() if "record" in d}
    assert set(terms) == set(_RECORD_FACTS)
    full = {"birth_date": "2020-03-01", "sex": "F", "c2s": True, "ald": [3], "flags": ["hysterectomy_total"],
            "seen_last_two_years": True, "events": []}
    facts = PatientFacts(full, REF)
    for name, term in terms.items():   # a fact read at a pointer is the record's field there
        pointer = term["record"].get("pointer")
        if pointer:
            assert facts.get(name) == full[pointer.lstrip("/")], name
    empty = PatientFacts({"age": 40}, REF)
    assert empty.get("patient.ald") == () and empty.get("patient.flags") == ()   # absent sets are empty
    assert empty.get("patient.c2s") is False                                      # the vocabulary's default
    with pytest.raises(MissingFact):
        empty.get("patient.sex")
    with pytest.raises(MissingFact):
        empty.get("patient.seen_last_two_years")


def test_seen_reads_the_last_visit_within_two_years_of_the_reference_date():
    assert PatientFacts({"age": 40, "last_seen_date": "2024-12-31"}, REF).get("patient.seen_last_two_years") is True
    assert PatientFacts({"age": 40, "last_seen_date": "2024-12-30"}, REF).get("patient.seen_last_two_years") is False
    assert PatientFacts({"age": 40, "last_seen_date": "2027-01-01"}, REF).get("patient.seen_last_two_years") is False


def test_an_age_in_years_only_leaves_the_months_a_range_of_twelve():
    facts = PatientFacts({"age": 1}, REF)
    months = facts.get("patient.age_months")
    assert isinstance(months, Range) and (months.lo, months.hi) == (12, 23)


@pytest.fixture(scope="module")
def ror(spec):
    c = spec.concepts["forfaits.fmt.prevention.indicators.i04_mmr"]
    return c.data["eligibility"]["criterion"], c.data["validation"]["criterion"]


@pytest.mark.parametrize("record, eligible", [
    ({"age": 1}, None),                           # 12 to 23 months: some under 16, some not -> unknown
    ({"age": 2}, True),                           # 24 to 35 months: all within 16-35
    ({"age": 3}, False),                          # 36 to 47 months: none
    ({"birth_date": "2025-08-31"}, True),         # 16 months at 31/12/2026
    ({"birth_date": "2025-09-01"}, False),        # 15 months
    ({"birth_date": "2024-01-01"}, True),         # 35 months
    ({"birth_date": "2023-12-31"}, False),        # 36 months
])
def test_ror_eligibility_16_to_35_months(ror, record, eligible):
    assert truth(ror[0], PatientFacts(record, REF))[0] is eligible


def _doses(*dates, kind="mmr_vaccine_delivery"):
    return [{"type": kind, "date": d} for d in dates]


@pytest.mark.parametrize("record, validated", [
    ({"birth_date": "2024-06-15", "events": _doses("2025-06-15", "2026-06-15")}, True),     # 12 and 24 months
    ({"birth_date": "2024-06-15", "events": _doses("2025-06-15", "2026-07-15")}, False),    # second at 25 months
    ({"birth_date": "2024-06-15", "events": _doses("2025-06-15") + _doses("2026-01-15", kind="mmr_vaccine_administration")},
     False),                                      # one delivery and one administration: not two of one mode
    ({"age": 2, "events": _doses("2025-06-15")}, False),                # one dose: false whatever the age
    ({"age": 2, "events": _doses("2025-06-15", "2026-06-15")}, None),   # two doses, ages unknown
    ({"age": 2}, False),                                                 # no dose at all
])
def test_ror_validation_two_doses_by_24_months(ror, record, validated):
    assert truth(ror[1], PatientFacts(record, REF))[0] is validated

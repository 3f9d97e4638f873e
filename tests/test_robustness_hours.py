"""Times are local wall-clock time of the claim's territory (README « Robustesse »): no time zone, no
conversion. The bounds of the evening and night majorations are tested on both sides, and the PDSA
hours, which the seeds do not give (gap G-11), are declared by the claim, never guessed from the clock.

Expected values are the seeds': « majoration supplémentaire de 5 € » entre 19h et 21h (001, 000 :
« entre 19h et 21h »); « 50 € pour les actes réalisés entre 20h et minuit » (002); « Les consultations
et visites non régulées, réalisées aux horaires de PDSA, bénéficient d’une majoration de 5 euros » (004).
"""

from __future__ import annotations

import json

import pytest

from fuzz.harness import check, run_cli


def _lines(tmp_path, claim: dict) -> list[tuple]:
    path = tmp_path / "demande.json"
    path.write_text(json.dumps(claim))
    result = check(run_cli(["price", path]), expect=0)
    return [(line["code"], line["status"], line.get("amount"), line.get("reason"))
            for line in json.loads(result.out)["lines"]]


def _evening(time: str | None, territory: str = "metropole") -> dict:
    claim = {"date": "2025-01-10", "territory": territory,
             "doctor": {"specialty": "medecine_generale", "sector": "S1", "counters": {"snp_this_week": 0}},
             "patient": {"age_years": 40}, "context": {"regulation": "sas", "hours_since_request": 2},
             "lines": [{"code": "G"}, {"code": "SNP"}, {"code": "MAJ_SOIR_19_21"}]}
    if time is not None:
        claim["time"] = time
    return claim


@pytest.mark.parametrize("time, expected", [
    ("18:59", ("refused", None, "CONTEXT_NOT_MET")),
    ("19:00", ("priced", "5.00", None)),   # « entre 19h et 21h » : 19h inclus
    ("20:59", ("priced", "5.00", None)),
    ("21:00", ("refused", None, "CONTEXT_NOT_MET")),  # 21h exclu
    ("00:00", ("refused", None, "CONTEXT_NOT_MET")),
])
def test_19h_21h_bounds(tmp_path, time, expected):
    assert _lines(tmp_path, _evening(time))[2][1:] == expected


def test_19h_21h_without_a_time_is_not_guessed(tmp_path):
    assert _lines(tmp_path, _evening(None))[2][3] == "MISSING_FACT"


@pytest.mark.parametrize("territory", ["guyane", "reunion", "mayotte"])
def test_the_time_is_read_as_local_time_of_the_territory(tmp_path, territory):
    """19:30 in Guyane is 19:30 there (23:30 in Paris): inside the window, no conversion."""
    inside = _lines(tmp_path, _evening("19:30", territory))[2]
    outside = _lines(tmp_path, _evening("21:30", territory))[2]
    assert inside[3] != "CONTEXT_NOT_MET", inside
    assert outside[3] == "CONTEXT_NOT_MET", outside


@pytest.mark.parametrize("time, expected", [
    ("19:59", ("refused", None, "CONTEXT_NOT_MET")),
    ("20:00", ("priced", "50.00", None)),  # « entre 20h et minuit »
    ("23:59", ("priced", "50.00", None)),
    ("00:00", ("refused", None, "CONTEXT_NOT_MET")),
])
def test_20h_minuit_ccam_bounds(tmp_path, time, expected):
    claim = {"date": "2019-01-10", "time": time, "doctor": {"specialty": "chirurgie", "sector": "S1"},
             "patient": {"age_years": 40}, "lines": [{"code": "MAJ_CCAM_20H_24H"}]}
    assert _lines(tmp_path, claim)[0][1:] == expected


def _pdsa(pdsa_hours, time: str, day: str = "2025-01-10") -> dict:
    context = {"regulation": "none", "place": "cabinet", "emergency": False}
    if pdsa_hours is not None:
        context["pdsa_hours"] = pdsa_hours
    return {"date": day, "time": time, "doctor": {"specialty": "medecine_generale", "sector": "S1"},
            "patient": {"age_years": 40}, "context": context,
            "lines": [{"code": "G"}, {"code": "MAJ_PDSA_NON_REGULEE", "tarif_opposable": True}]}


@pytest.mark.parametrize("pdsa_hours, time, expected", [
    (True, "10:00", ("priced", "5.00", None)),          # declared PDSA hours: the clock does not overrule
    (False, "23:00", ("refused", None, "CONTEXT_NOT_MET")),  # nor does a late clock make PDSA hours
    (None, "23:00", ("refused", None, "MISSING_FACT")),     # not declared: never guessed (gap G-11)
])
def test_pdsa_hours_are_declared_by_the_claim(tmp_path, pdsa_hours, time, expected):
    assert _lines(tmp_path, _pdsa(pdsa_hours, time))[1][1:] == expected


@pytest.mark.parametrize("day, expected", [
    ("2024-12-21", ("refused", None, "NOT_IN_FORCE")),      # before 22 December 2024: cannot exist
    ("2024-12-23", ("unknown", None, "DATE_UNCERTAIN")),    # between the two readings (22/12/2024, 01/01/2025)
    ("2025-01-01", ("priced", "5.00", None)),               # in force by 1 January 2025 (001)
])
def test_pdsa_majoration_date_bounds(tmp_path, day, expected):
    assert _lines(tmp_path, _pdsa(True, "22:00", day))[1][1:] == expected

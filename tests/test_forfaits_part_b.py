"""Part-B forfaits: bad input, boundaries of the formulas, traces, conflicts and gaps in the spec.

Expected figures come from the seeds (quoted in spec/forfaits/...); none is copied from the oracle.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from convmed.check import check_spec
from convmed.cli import main
from convmed.errors import ConvmedError
from convmed.forfaits import compute
from convmed.forfaits.schemes.optam import grid_key, respect_gap
from convmed.model import load_spec

ROOT = Path(__file__).resolve().parents[1]
MINE = ["installation_aid", "secondary_practice", "advanced_consultations", "missions", "sas_regulation", "donum", "vsm",
        "demographic_contracts", "assistant_medical", "optam", "ess", "collective_payment", "social_contributions",
        "parental_aid", "incentives", "sobriety_bonus", "optam_adhesion"]
GP = {"sector": "S1", "specialty": "medecine_generale"}


def _am(**inputs):
    base = {"etp_option": "1", "contract_year": 1, "signature_date": "2025-09-01", "percentile": 60}
    return {"scheme": "assistant_medical", "year": 2025, "doctor": GP, "inputs": {**base, **inputs}}


# ------------------------------------------------------------------ spec
def test_spec_check_has_no_problem_in_part_b_folders():
    report = check_spec(ROOT / "spec", Path("/work/shared/seeds") if Path("/work/shared/seeds").is_dir() else None)
    mine = [p for p in report.problems if any(f"/spec/forfaits/{m}/" in (p.file or "") for m in MINE)]
    assert mine == []


def test_every_scheme_is_registered_and_reads_only_its_parameters():
    spec = load_spec()
    for name in MINE:
        scheme = spec.concepts[f"forfaits.{name}.scheme"]
        folder = "optam" if name == "optam_adhesion" else name
        assert scheme.data["parameters"] == [f"forfaits.{folder}"]
        params = [c for c in spec.of_kind("parameter") if c.id.startswith(f"forfaits.{folder}.")]
        assert params, name
        for p in params:
            for entry in p.data["values"]:
                assert "gap" in entry or entry.get("sources"), p.id


@pytest.mark.parametrize("conflict", ["C-06f", "C-08f", "C-10f", "C-11f", "C-12f", "C-13f", "C-16f", "C-17f", "C-20f", "C-21f", "C-23f", "C-26f"])
def test_conflicts_recorded(conflict):
    spec = load_spec()
    found = [c.id for c in spec.concepts.values() if c.id.startswith("forfaits.")
             and conflict in json.dumps(c.data, ensure_ascii=False)]
    assert found, conflict


def test_donum_indicator_table_is_a_gap_pointing_to_the_image():
    spec = load_spec()
    gap = spec.concepts["forfaits.donum.indicators"].data["values"][0]["gap"]
    assert "image" in gap["points_to"]


def test_proposal_table_keeps_proposal_status():
    spec = load_spec()
    rows = [c for c in spec.of_kind("parameter") if ".proposal_003." in c.id]
    assert len(rows) == 45
    assert {e["status"] for c in rows for e in c.data["values"]} == {"proposal"}


# ------------------------------------------------------------------ formulas
@pytest.mark.parametrize("gap,row", [("0", "strict"), ("0.5", None), ("1", "gap_1_2"), ("1.99", "gap_1_2"), ("2", None),
                                     ("2.01", "gap_2_3"), ("3", None), ("3.5", "gap_3_4"), ("4", None), ("4.2", "gap_4_5"),
                                     ("5", "gap_4_5"), ("5.01", "gap_above_5")])
def test_optam_grid_boundaries(gap, row):
    assert grid_key(Decimal(gap)) == row


def test_optam_gap_sums_missed_commitments_only():
    # both missed: 1 + 1.5; one missed: a better overbilling rate never compensates
    assert respect_gap(Decimal("31"), Decimal("30"), Decimal("38.5"), Decimal("40")) == Decimal("2.5")
    assert respect_gap(Decimal("27"), Decimal("30"), Decimal("38.5"), Decimal("40")) == Decimal("1.5")
    assert respect_gap(Decimal("30"), Decimal("30"), Decimal("45"), Decimal("40")) == 0


def test_am_year_3_acompte_and_solde_halves():
    r = compute(_am(contract_year=3, signature_date="2023-09-01", pmt={"initial": 1000, "current": 1200, "objective_extra": 100},
                    pfa={"initial": 1500, "current": 1600, "objective_extra": 100}))
    aid = r["components"][0]
    assert aid["amount"] == "22000.00"
    assert [i["amount"] for i in aid["details"]["instalments"]] == ["11000.00", "11000.00"]


def test_am_one_third_acompte_is_70_percent():
    r = compute(_am(etp_option="0.33", contract_year=2, signature_date="2023-09-01"))
    assert [i["amount"] for i in r["components"][0]["details"]["instalments"]] == ["6615.00", "2835.00"]


def test_am_revaluation_reaches_old_contract_at_next_anniversary():
    # signed 1 March 2023: year 2 opens 1 March 2024 (before 22 June 2024): old amount unknown;
    # year 3 opens 1 March 2025: revalued 22 000 € scale
    before = compute(_am(contract_year=2, signature_date="2023-03-01"))
    assert before["components"][0]["status"] == "unknown"
    after = compute(_am(contract_year=3, signature_date="2023-03-01", pmt={"initial": 1000, "current": 1200, "objective_extra": 100},
                        pfa={"initial": 1500, "current": 1500, "objective_extra": 100}))
    assert after["components"][0]["amount"] == "22000.00"


def test_am_renewal_keeps_third_year_amount():
    r = compute(_am(contract_year=7, signature_date="2019-09-01", pmt={"initial": 1000, "current": 1200, "objective_extra": 100},
                    pfa={"initial": 1500, "current": 1500, "objective_extra": 100}))
    assert r["components"][0]["amount"] == "22000.00"


def test_am_exactly_p95_objective_is_flagged_as_conflict():
    r = compute(_am(percentile=95))
    obj = r["components"][1]["details"]
    assert obj["kind"] == "uncertain" and "C-12f" in obj["text"]


def test_am_older_doctor_signed_age():
    # 000 « plus de 65 ans », read « 65 ans et plus » as 000 writes « plus de 67 ans » for « 67 ans et plus »
    r = compute({**_am(), "doctor": {**GP, "birth_date": "1960-06-01"}})  # 65 at 31/12/2025
    assert r["components"][1]["details"]["kind"] == "maintenance_possible"
    r = compute({**_am(), "doctor": {**GP, "birth_date": "1961-06-01"}})  # 64
    assert r["components"][1]["details"]["kind"] != "maintenance_possible"


def test_am_proposal_does_not_change_the_amount():
    a = compute(_am())
    b = compute(_am(use_proposal_003=True, pmt={"initial": 1060, "current": 1060, "objective_extra": 283}))
    assert a["total"] == b["total"] == "38000.00"


def test_caim_is_not_paid_after_its_two_instalments():
    r = compute({"scheme": "demographic_contracts", "year": 2024, "doctor": GP,
                 "inputs": {"contract": "CAIM", "signature_date": "2022-04-01", "days_per_week": "4"}})
    assert r["components"][0]["status"] == "not_applicable" and r["total"] == "0.00"


def test_trace_cites_the_seed_of_each_parameter():
    r = compute({"scheme": "installation_aid", "year": 2026, "doctor": {**GP, "zone": "ZIP", "installation_date": "2026-02-01"},
                 "inputs": {"first_liberal_installation": True}})
    steps = [s for s in r["trace"] if s.get("step") == "parameter" and s["id"] == "forfaits.installation_aid.zip"]
    assert steps and steps[0]["value"] == "10000.00" and steps[0]["from"] == "2026-01-01"
    assert any("10 000 €" in s["quote"] for s in steps[0]["sources"])


def test_payment_calendar_of_donum_is_first_semester_next_year():
    r = compute({"scheme": "donum", "year": 2026, "doctor": GP, "inputs": {"socle_met": True, "points": 100}})
    assert r["total"] == "700.00"
    assert r["payments"][0]["period"] == "2027-S1"


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("request_,pointer", [
    (_am(etp_option="3"), "/inputs/etp_option"),
    (_am(percentile=120), "/inputs/percentile"),
    (_am(signature_date="2025-02-30"), "/inputs/signature_date"),
    (_am(contract_year=3, signature_date="2023-09-01"), "/inputs/pmt"),
    ({"scheme": "advanced_consultations", "year": 2026, "doctor": {"sector": "S1", "zone": "none"},
      "inputs": {"opposable_tariffs": True, "half_days_by_month": {"2026-13": 2}}}, "/inputs/half_days_by_month/2026-13"),
    ({"scheme": "advanced_consultations", "year": 2026, "doctor": {"sector": "S1", "zone": "none"},
      "inputs": {"opposable_tariffs": True, "half_days_by_month": {"2025-03": 2}}}, "/inputs/half_days_by_month/2025-03"),
    ({"scheme": "donum", "year": 2026, "doctor": GP, "inputs": {"socle_met": True, "points": 421}}, "/inputs/points"),
    ({"scheme": "demographic_contracts", "year": 2022, "doctor": GP,
      "inputs": {"contract": "CAIM", "signature_date": "2022-04-01", "days_per_week": "4", "ars_amount": "60001"}}, "/inputs/ars_amount"),
    ({"scheme": "demographic_contracts", "year": 2022, "doctor": GP, "inputs": {"contract": "XYZ", "signature_date": "2022-04-01"}}, "/inputs/contract"),
    ({"scheme": "optam", "year": 2024, "doctor": {"sector": "S2", "option": "OPTAM", "specialty": "autre_specialite"},
      "inputs": {"reimbursable_fees": "1000", "opposable_rate_percent": "40", "overbilling_rate_percent": "30",
                 "commitment_overbilling_percent": "30", "commitment_opposable_percent": "40"}}, "/inputs/specialty_rate_key"),
    ({"scheme": "sas_regulation", "year": 2025, "doctor": GP, "inputs": {"hours": "12,5"}}, "/inputs/hours"),
    ({"scheme": "missions", "year": 2025, "doctor": GP, "inputs": {"ame_acts": 30, "total_acts": 0}}, "/inputs/ame_acts"),
    ({"scheme": "missions", "year": 2025, "doctor": GP, "inputs": {}}, "/inputs"),
])
def test_bad_input_is_a_located_error(request_, pointer):
    with pytest.raises(ConvmedError) as err:
        compute(request_)
    assert [p.pointer for p in err.value.problems] == [pointer]


def test_cli_exit_2_on_bad_input(tmp_path, capsys):
    f = tmp_path / "in.json"
    f.write_text(json.dumps(_am(etp_option="3")), encoding="utf-8")
    assert main(["forfait", "assistant_medical", str(f), "--year", "2025"]) == 2
    err = capsys.readouterr().err
    assert "/inputs/etp_option" in err and "Traceback" not in err


def test_cli_text_output(tmp_path, capsys):
    f = tmp_path / "in.json"
    f.write_text(json.dumps({"scheme": "parental_aid", "doctor": GP, "inputs": {"leave": "paternity", "half_days_per_week": 9}}), encoding="utf-8")
    assert main(["forfait", "parental_aid", str(f), "--year", "2025", "--format", "text"]) == 0
    out = capsys.readouterr().out
    assert "2232.00" in out


def test_sobriety_bonus_reads_which_deciles_from_the_spec(spec_with):
    """« ratio de sobriété inférieur ou égal au 3e décile » (004) is the parameter best_decile: the formula
    reads the input of the decile the spec names, not a decile written in its code."""
    spec = spec_with({"forfaits/sobriety_bonus/best_decile.yaml": ("value: '3'", "value: '4'")})
    request = {"scheme": "sobriety_bonus", "year": 2025, "doctor": {"sector": "S1", "specialty": "medecine_generale"},
               "inputs": {"ratio": "0.80", "decile_3": "0.90", "decile_6": "1.05", "pmt": 1200, "mean_pmt": "1000",
                          "patients_consulted": {"previous": 500, "current": 500}}}
    with pytest.raises(ConvmedError) as err:
        compute(request, spec)
    assert err.value.problems[0].pointer == "/inputs/decile_4"
    request["inputs"]["decile_4"] = "0.90"
    out = compute(request, spec)
    # 1 000 € × 1 200 / 1 000 (001/004: « 1 000 € » pondérés par la patientèle)
    assert out["total"] == "1200.00"
    assert any(s.get("id") == "forfaits.sobriety_bonus.best_decile" and s.get("value") == "4" for s in out["trace"])


@pytest.mark.parametrize("overbilling, noted", [("30", True), ("26", False), ("30.01", True)])
def test_optam_names_the_systematic_recovery_beyond_ten_points(overbilling, noted):
    """004: « lorsque le non-respect est strictement supérieur à 10 points, la récupération des sommes versées
    est systématique » — 20 % committed, 30 % observed and 2 points of opposable activity missing = 12 points."""
    req = {"scheme": "optam", "year": 2025, "doctor": {"sector": "S2", "specialty": "cardiologie", "option": "OPTAM"},
           "inputs": {"reimbursable_fees": "100000", "opposable_rate_percent": "40",
                      "overbilling_rate_percent": overbilling, "commitment_overbilling_percent": "20",
                      "commitment_opposable_percent": "42"}}
    out = compute(req)
    notes = [s["text"] for s in out["trace"] if s.get("step") == "formula" and "récupération" in s.get("text", "")]
    assert bool(notes) is noted
    assert any(s.get("id") == "forfaits.optam.systematic_recovery_above_points" and s.get("value") == "10"
               for s in out["trace"])


def test_caim_minimum_activity_and_duration_are_read_from_the_spec(spec_with):
    """« au minimum égale à 2,5 jours par semaine » and the 5-year CAIM are parameters of the spec, not numbers
    written in the formula: changed in a copy of the spec, the formula follows."""
    caim = {"scheme": "demographic_contracts", "year": 2022, "doctor": {"sector": "S1", "specialty": "medecine_generale"},
            "inputs": {"contract": "CAIM", "signature_date": "2022-04-01", "days_per_week": "2.5"}}
    assert compute(caim)["components"][0]["status"] == "computed"     # 2,5 days: eligible (signed text)
    spec = spec_with({"forfaits/demographic_contracts/caim/min_days_per_week.yaml": ("value: '2.5'", "value: '3'"),
                                 "forfaits/demographic_contracts/caim/duration_years.yaml": ("value: '5'", "value: '1'")})
    out = compute(caim, spec)
    assert out["components"][0]["status"] == "not_applicable" and "3 jours" in out["components"][0]["message"]
    later = {**caim, "year": 2023, "inputs": {**caim["inputs"], "days_per_week": "4"}}
    assert compute(later)["components"][0]["status"] == "computed"    # second instalment, year 2 of 5
    out = compute(later, spec)
    assert out["components"][0]["status"] == "not_applicable" and "CAIM de 1 ans" in out["components"][0]["message"]


def test_assistant_medical_renewal_is_after_the_contract_years_of_the_spec(spec_with):
    """« conclus pour une durée de cinq ans » (contract_years): year 6 is a renewal at the 3rd-year amount."""
    req = {"scheme": "assistant_medical", "year": 2025, "doctor": {"sector": "S1", "specialty": "medecine_generale"},
           "inputs": {"etp_option": "1", "contract_year": 4, "signature_date": "2022-09-01", "percentile": 89,
                      "pmt": {"initial": 1000, "current": 1200, "objective_extra": 150},
                      "pfa": {"initial": 1500, "current": 1500, "objective_extra": 100}}}
    def band(spec=None):
        out = compute(req, spec)
        return [s["text"] for s in out["trace"] if s.get("step") == "formula" and "année" in s.get("text", "")]
    texts = band()
    assert texts and not any("renouvellement" in t for t in texts)    # year 4 of 5
    spec = spec_with({"forfaits/assistant_medical/contract_years.yaml": ("value: '5'", "value: '3'")})
    assert any("renouvellement" in t for t in band(spec))              # year 4 of a 3-year contract


def test_am_revaluation_day_is_read_from_the_spec(monkeypatch):
    """The day the 2024 amounts start (the 1/3 ETP option closed to new contracts, older contracts revalued at
    their next anniversary) is the start of revaluation_applies_to_existing_contracts in spec/, not a constant
    of the formula: moved in the spec, the formula follows (issue 20)."""
    spec = load_spec()
    concept = spec.concepts["forfaits.assistant_medical.revaluation_applies_to_existing_contracts"]
    signed_after = _am(etp_option="0.33", contract_year=1, signature_date="2024-07-01")
    assert compute(signed_after, spec)["components"][0]["status"] == "not_applicable"   # a 2024-convention contract
    monkeypatch.setitem(concept.data["values"][0], "from", "2024-09-01")
    monkeypatch.setattr(concept, "_timeline", None)
    moved = compute(signed_after, spec)["components"][0]
    # signed before the (moved) entry into force: the option exists, and its year opened before the revaluation
    # has no amount in the sources (gap G-16)
    assert (moved["status"], moved["reason"]) == ("unknown", "VALUE_GAP")
    assert "avant la revalorisation du 2024-09-01" in moved["message"]


def test_vsm_share_is_chosen_by_the_rates_conditions_in_the_spec(monkeypatch):
    """The VSM forfait's share by the date the results are reached (100 % by 30 June 2024, 90 % by 30 June 2025,
    none after) is the rate whose applies_when holds (scheme.yaml `rates`), not dates written in the formula:
    moved in the spec, the formula follows (issue 20)."""
    spec = load_spec()
    request = {"scheme": "vsm", "date": "2025-06-15", "doctor": {"sector": "S1", "specialty": "medecine_generale"},
               "inputs": {"vsm_ald_share_percent": "90", "vsm_feed_dmp": True, "pmt": 800,
                          "results_date": "2025-06-20", "structured_vsm": 0, "total_vsm_dmp": 0}}
    # 004: « ou à 90 % de la valeur calculée sur la base les résultats atteints au plus tard au 30 juin 2025 »
    got = compute(request, spec)["components"][0]
    assert (got["status"], got["amount"], got["details"]["rate_percent"]) == ("computed", "2700.00", "90")
    rate = spec.concepts["forfaits.vsm.rate_results_2025_06_30_percent"].data["applies_when"]
    monkeypatch.setitem(rate, "condition", {"all": [{"fact": "inputs.results_date", "after": "2024-06-30"},
                                                    {"fact": "inputs.results_date", "on_or_before": "2025-06-10"}]})
    moved = compute(request, spec)["components"][0]
    assert moved["status"] == "not_applicable" and "2025-06-20" in moved["message"]


@pytest.mark.parametrize("written", ["2024-W26-7", "2025-W01-3", "2024-6-30", "30/06/2024", "20240630"])
def test_a_date_input_is_a_calendar_date_written_aaaa_mm_jj_only(written):
    """Python reads week dates (2024-W26-7 = 30 June 2024) as dates, and their text does not order as the dates:
    the VSM share would have been chosen wrongly (review of stop 26). Every other form is refused, located."""
    request = {"scheme": "vsm", "date": "2025-06-15", "doctor": {"sector": "S1", "specialty": "medecine_generale"},
               "inputs": {"vsm_ald_share_percent": "90", "vsm_feed_dmp": True, "pmt": 800,
                          "results_date": written, "structured_vsm": 0, "total_vsm_dmp": 0}}
    with pytest.raises(ConvmedError) as info:
        compute(request, load_spec())
    assert info.value.problems[0].pointer == "/inputs/results_date"

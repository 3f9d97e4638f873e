"""Forfait parameters the formulas now read from the spec (or mark `not_computed` on purpose).

Each modelled parameter: the rule as the seeds state it, its boundary, the located error for an input that
contradicts it, and a copy of the spec with the value changed that the formula follows. Expected figures come
from the seeds (quoted in spec/forfaits/...), never from the oracle's output.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from convmed.conformance.lint import lint_suite, untestable_reason
from convmed.errors import ConvmedError
from convmed.forfaits import compute
from convmed.model import load_spec

ROOT = Path(__file__).resolve().parents[1]
GP = {"sector": "S1", "specialty": "medecine_generale"}
NOT_COMPUTED = {"forfaits.donum.messaging_neutralised_above_percent": "rule_in_missing_table",
                "forfaits.optam.reference_period_years": "input_computed_by_caller",
                "forfaits.sobriety_bonus.min_patient_age_exclusive": "input_computed_by_caller",
                # the CCAM point travail (000, 001): the tariff table per act it enters is not in the sources
                "rules.ccam.point_travail": "rule_in_missing_table"}


@pytest.fixture(scope="module")
def spec():
    return load_spec()


def _error(req, spec=None) -> str:
    with pytest.raises(ConvmedError) as exc:
        compute(req, spec)
    (problem,) = exc.value.problems
    return problem.pointer


def _comp(out, cid):
    return next(c for c in out["components"] if c["id"] == cid)


def _param_steps(out, pid):
    return [s for s in out["trace"] if s.get("step") == "parameter" and s.get("id") == pid]


# ------------------------------------------------------------------ DONUM: 420 points at most

def _donum(points):
    return {"scheme": "donum", "year": 2026, "doctor": GP, "inputs": {"socle_met": True, "points": points}}


def test_donum_points_are_bounded_by_max_points(spec_with):
    """420 points = 2 940 € / 7 € (derived): 420 is the whole dotation, 421 is an input error at /inputs/points."""
    assert _comp(compute(_donum(420)), "donum")["amount"] == "2940.00"
    assert _param_steps(compute(_donum(420)), "forfaits.donum.max_points")[0]["value"] == "420"
    assert _error(_donum(421)) == "/inputs/points"
    assert _error(_donum(-1)) == "/inputs/points"
    # the bound is the spec's: with 400 points, 401 points (2 807 €, under the 2 940 € maximum) are refused
    spec = spec_with({"forfaits/donum/max_points.yaml": ("value: '420'", "value: '400'")})
    assert _comp(compute(_donum(400), spec), "donum")["amount"] == "2800.00"
    assert _error(_donum(401), spec) == "/inputs/points"


# ------------------------------------------------------------------ CSTM: ten days a year in fragile zones

def _cstm(**inputs):
    base = {"contract": "CSTM", "signature_date": "2024-01-10", "fees": "150000"}
    return {"scheme": "demographic_contracts", "year": 2025, "doctor": GP, "inputs": {**base, **inputs}}


def test_cstm_minimum_days_a_year(spec_with):
    """« Exercer au minimum dix jours par an, en zones « fragiles » »: 10 days -> 10 % of the fees; 9 -> the
    commitment is not kept, and the seeds do not say what follows: unknown, not a guessed zero."""
    assert _comp(compute(_cstm(days_in_fragile_zones="10")), "cstm")["amount"] == "15000.00"
    low = _comp(compute(_cstm(days_in_fragile_zones="9")), "cstm")
    assert low["status"] == "unknown" and low.get("amount") is None and "10 jours" in low["message"]
    # without the input the commitment is named (trace) but not checked
    out = compute(_cstm())
    assert _comp(out, "cstm")["amount"] == "15000.00"
    assert any("non vérifié" in s.get("text", "") for s in out["trace"] if s.get("step") == "formula")
    assert _error(_cstm(days_in_fragile_zones="-1")) == "/inputs/days_in_fragile_zones"
    spec = spec_with({"forfaits/demographic_contracts/cstm/min_days_per_year.yaml": ("value: '10'", "value: '12'")})
    assert _comp(compute(_cstm(days_in_fragile_zones="11"), spec), "cstm")["status"] == "unknown"
    assert _comp(compute(_cstm(days_in_fragile_zones="12"), spec), "cstm")["amount"] == "15000.00"


# ------------------------------------------------------------------ COSCOM: 3 years, tacit renewal

def _coscom(year, signed="2019-03-01"):
    return {"scheme": "demographic_contracts", "year": year, "doctor": GP,
            "inputs": {"contract": "COSCOM", "signature_date": signed}}


def test_coscom_period_of_three_years_renewed(spec_with):
    """« Contrat de 3 ans, renouvelable par tacite reconduction »: the period running on 31 December n."""
    d = _comp(compute(_coscom(2021)), "coscom")["details"]
    assert (d["contract_period"], d["contract_period_start"], d["contract_period_end"]) == (1, "2019-03-01", "2022-02-28")
    d = _comp(compute(_coscom(2022)), "coscom")["details"]
    assert (d["contract_period"], d["contract_period_start"], d["contract_period_end"]) == (2, "2022-03-01", "2025-02-28")
    # the aid does not stop at the end of the first period (004: renewal still possible for the COSCOM)
    assert _comp(compute(_coscom(2025)), "coscom")["amount"] == "5000.00"
    assert _comp(compute(_coscom(2025)), "coscom")["details"]["contract_period"] == 3
    # a signature on 29 February: the anniversaries fall on 1 March
    d = _comp(compute(_coscom(2023, "2020-02-29")), "coscom")["details"]
    assert (d["contract_period"], d["contract_period_start"]) == (2, "2023-03-01")
    spec = spec_with({"forfaits/demographic_contracts/coscom/duration_years.yaml": ("value: '3'", "value: '2'")})
    d = _comp(compute(_coscom(2023), spec), "coscom")["details"]
    assert (d["contract_period"], d["contract_period_start"], d["contract_period_end"]) == (3, "2023-03-01", "2025-02-28")


# ------------------------------------------------------------------ assistant médical: primo window, waiting period

def _am(**inputs):
    base = {"etp_option": "1", "contract_year": 1, "signature_date": "2025-09-01", "percentile": 40}
    return {"scheme": "assistant_medical", "year": 2025, "doctor": GP, "inputs": {**base, **inputs}}


def test_primo_installation_within_the_12_months_before_signature(spec_with):
    """« au cours des 12 derniers mois précédent la signature du contrat »: from the same day 12 months earlier."""
    kind = lambda req, spec=None: _comp(compute(req, spec), "objective")["details"]["kind"]  # noqa: E731
    assert kind(_am(first_installation_date="2024-09-01")) == "primo_installed"
    assert kind(_am(first_installation_date="2025-09-01")) == "primo_installed"
    assert kind(_am(first_installation_date="2024-08-31")) == "fixed_by_specialty"
    # the second condition (patientèle under the P50) still applies
    assert kind(_am(first_installation_date="2025-01-01", percentile=50)) == "individualised"
    # a primo_installed that the installation date contradicts; an installation after the signature
    assert _error(_am(first_installation_date="2024-08-31", primo_installed=True)) == "/inputs/primo_installed"
    assert _error(_am(first_installation_date="2025-01-01", primo_installed=False)) == "/inputs/primo_installed"
    assert _error(_am(first_installation_date="2025-09-02")) == "/inputs/first_installation_date"
    no_sig = _am(first_installation_date="2025-01-01")
    del no_sig["inputs"]["signature_date"]
    assert _error(no_sig) == "/inputs/signature_date"
    spec = spec_with({"forfaits/assistant_medical/primo_installation_window_months.yaml": ("value: '12'", "value: '6'")})
    assert kind(_am(first_installation_date="2025-03-01"), spec) == "primo_installed"
    assert kind(_am(first_installation_date="2025-02-28"), spec) == "fixed_by_specialty"


def test_waiting_period_of_two_years_before_a_new_contract(spec_with):
    """« un délai de carence de deux ans est appliqué avant toute signature d'un nouveau contrat »."""
    late = _comp(compute(_am(previous_contract_end_date="2023-09-02")), "aid")
    assert late["status"] == "not_applicable" and "02/09/2025" in late["message"]
    assert _comp(compute(_am(previous_contract_end_date="2023-09-01")), "aid")["amount"] == "38000.00"
    assert _error(_am(previous_contract_end_date="2025-09-02")) == "/inputs/previous_contract_end_date"
    # a contract signed before 22 June 2024: the seeds give no waiting period then -> unknown, not « no aid »
    old = _am(previous_contract_end_date="2022-01-01", signature_date="2023-01-10", contract_year=3)
    assert _comp(compute(old), "aid")["status"] == "unknown"
    spec = spec_with({"forfaits/assistant_medical/waiting_period_years.yaml": ("value: '2'", "value: '1'")})
    assert _comp(compute(_am(previous_contract_end_date="2024-09-01"), spec), "aid")["amount"] == "38000.00"
    assert _comp(compute(_am(previous_contract_end_date="2024-09-02"), spec), "aid")["status"] == "not_applicable"
    # a waiting period that ends past the calendar (year 9999): no aid, not an internal error
    late = _comp(compute(_am(previous_contract_end_date="9998-06-01", signature_date="9999-01-01")), "aid")
    assert late["status"] == "not_applicable" and "an 9999" in late["message"]


# ------------------------------------------------------------------ OPTAM: gain share, S1 before 2013

def _gain(respect, year=2025, **over):
    t = {"old_base": "56.50", "new_base": "60.00", "total_fee": "80.00", "last_respect": respect, **over}
    return {"scheme": "optam", "year": year, "doctor": {"sector": "S2", "specialty": "cardiologie", "option": "OPTAM"},
            "inputs": {"tariff_increase": t}}


def test_optam_gain_share_of_a_tariff_rise(spec_with):
    """Respect 60 %, non-respect 0 % of the rise of the base (APC 56,50 € -> 60 €) added to the total fee."""
    d = _comp(compute(_gain(True)), "gain_share")["details"]
    assert (d["share_percent"], d["kept"], d["highest_total_fee"], d["overbilling_after"]) == ("60", "2.10", "82.10", "22.10")
    d = _comp(compute(_gain(False)), "gain_share")["details"]
    assert (d["share_percent"], d["highest_total_fee"]) == ("0", "80.00")
    # before the 2024 options the seeds give no gain sharing: unknown (not « not applicable »)
    assert _comp(compute(_gain(True, year=2024)), "gain_share")["status"] == "unknown"
    # with the premium inputs too, both components
    req = _gain(True)
    req["inputs"].update(reimbursable_fees="100000", opposable_rate_percent="40", overbilling_rate_percent="20",
                         commitment_overbilling_percent="25", commitment_opposable_percent="35")
    assert [c["id"] for c in compute(req)["components"]] == ["gain_share", "premium"]
    assert _error(_gain(True, new_base="56.50")) == "/inputs/tariff_increase/new_base"
    assert _error(_gain(True, total_fee="50.00")) == "/inputs/tariff_increase/total_fee"
    assert _error(_gain(None)) == "/inputs/tariff_increase/last_respect"
    assert _error(_gain(True, old_base="abc")) == "/inputs/tariff_increase/old_base"
    spec = spec_with({"forfaits/optam/gain_share_respect_percent.yaml": ("value: '60'", "value: '50'")})
    assert _comp(compute(_gain(True), spec), "gain_share")["details"]["highest_total_fee"] == "81.75"


def _s1(**inputs):
    return {"scheme": "optam_adhesion", "year": 2025, "doctor": {"sector": "S1", "specialty": "dermatologie"},
            "inputs": {"option": "OPTAM", "titled_s1_installed_before_2013": True, **inputs}}


def test_optam_s1_before_2013_opposable_share_at_least_30(spec_with):
    """« sans pouvoir être inférieure à 30% »: a lower share is raised to 30; a commitment under 30 is refused."""
    d = _comp(compute(_s1(regional_opposable_percent="25")), "eligibility")["details"]
    assert (d["eligible"], d["commitment_opposable_percent"]) == (True, "30")
    assert _comp(compute(_s1(regional_opposable_percent="30.5")), "eligibility")["details"]["commitment_opposable_percent"] == "30.5"
    assert _error(_s1(commitment_opposable_percent="29.9")) == "/inputs/commitment_opposable_percent"
    assert _comp(compute(_s1(commitment_opposable_percent="30")), "eligibility")["details"]["eligible"] is True
    # a S2 doctor: the floor is not read
    s2 = {"scheme": "optam_adhesion", "year": 2025, "doctor": {"sector": "S2", "specialty": "dermatologie"},
          "inputs": {"option": "OPTAM", "commitment_opposable_percent": "10"}}
    out = compute(s2)
    assert not _param_steps(out, "forfaits.optam.min_opposable_share_s1_pre2013_percent")
    spec = spec_with({"forfaits/optam/min_opposable_share_s1_pre2013_percent.yaml": ("value: '30'", "value: '35'")})
    assert _comp(compute(_s1(regional_opposable_percent="30.5"), spec), "eligibility")["details"]["commitment_opposable_percent"] == "35"


# ------------------------------------------------------------------ not_computed: known limits, not coverage debt

def test_not_computed_parameters_are_known_limits_with_their_reason(spec):
    for pid, reason in NOT_COMPUTED.items():
        assert spec.concepts[pid].data["not_computed"]["reason"] == reason
        assert untestable_reason(spec, pid, "used") == "not_computed"
    report = lint_suite(ROOT / "conformance_tests" / "v1")
    limits = {u["rule"]: u for u in report.untestable if u["reason"] == "not_computed"}
    assert set(limits) == set(NOT_COMPUTED)
    assert all(limits[p]["not_computed"]["reason"] == r for p, r in NOT_COMPUTED.items())
    assert not [u for u in report.uncovered if u["rule"].startswith("forfaits.")]
    text = "\n".join(report.coverage_lines())
    assert "forfaits.optam.reference_period_years — utilisé impossible" in text
    # a parameter marked not_computed is really read by no vector of the suite
    read = {s["id"] for c in report.suite.cases if c.kind == "forfait"
            for s in compute(c.input)["trace"] if s.get("step") == "parameter"}
    assert not read & set(NOT_COMPUTED)


def test_a_parameter_no_formula_reads_without_not_computed_is_still_uncovered(spec_with):
    """Removing not_computed from one of them: lint reports it uncovered again (the mark is what makes it a limit)."""
    f = "forfaits/optam/reference_period_years.yaml"
    text = (ROOT / "spec" / f).read_text(encoding="utf-8")
    spec = spec_with({f: (text[text.index("not_computed:"):], "")})
    pid = "forfaits.optam.reference_period_years"
    assert "not_computed" not in spec.concepts[pid].data
    assert untestable_reason(spec, pid, "used") is None
    report = lint_suite(ROOT / "conformance_tests" / "v1", spec=spec)
    assert {"rule": pid, "missing": ["used"]} in report.uncovered
    assert pid not in {u["rule"] for u in report.untestable}


def test_a_parameter_marked_not_computed_that_a_formula_reads_is_a_lint_error(spec_with):
    """The mark says no formula computes with the parameter: on one a formula does read (DONUM's 420 points,
    bound of inputs.points), lint refuses the contradiction, located at the parameter file."""
    f = "forfaits/donum/max_points.yaml"
    spec = spec_with({f: ("kind: parameter\n", "kind: parameter\nnot_computed:\n  reason: informational\n"
                                               "  note: marque posée par le test\n")})
    assert spec.concepts["forfaits.donum.max_points"].data["not_computed"]["reason"] == "informational"
    report = lint_suite(ROOT / "conformance_tests" / "v1", spec=spec)
    (problem,) = [p for p in report.problems if p.code == "not-computed-read"]
    assert problem.file.endswith("max_points.yaml") and problem.pointer == "/not_computed"
    assert "forfaits.donum.max_points" in problem.message
    # the suite against the real spec has no such contradiction
    assert not [p for p in lint_suite(ROOT / "conformance_tests" / "v1").problems if p.code == "not-computed-read"]


def test_not_computed_is_validated_by_the_parameter_schema(tmp_path):
    from convmed.check import check_spec

    f = "forfaits/donum/messaging_neutralised_above_percent.yaml"
    root = tmp_path / "spec"
    shutil.copytree(ROOT / "spec", root)
    p = root / f
    p.write_text(p.read_text(encoding="utf-8").replace("reason: rule_in_missing_table", "reason: guessed"), encoding="utf-8")
    problems = check_spec(root, None).problems
    assert any("messaging_neutralised_above_percent" in str(x.file) for x in problems), problems


def test_a_component_computed_without_payment_shows_its_message_in_text(capsys):
    """The gain share is known (a ceiling on the total fee), not paid: the text rendering gives no '?' (which
    reads as unknown) and shows the ceiling."""
    from convmed.forfaits.render import result_text

    out = compute({"scheme": "optam", "year": 2025, "doctor": {"sector": "S2", "specialty": "cardiologie", "option": "OPTAM"},
                   "inputs": {"tariff_increase": {"old_base": "56.50", "new_base": "60.00", "total_fee": "80.00",
                                                  "last_respect": True}}})
    text = result_text(out)
    line = next(t for t in text.splitlines() if "Partage des gains" in t)
    assert "?" not in line and "—" in line
    assert "82.10 € au plus" in text

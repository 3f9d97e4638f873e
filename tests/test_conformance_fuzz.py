"""Differential fuzzing finds each planted fault within 2 000 examples and writes a minimal,
lint-clean vector file. Strategies are restricted to the codes of the fault (as a vendor
would with --codes) to keep the test short."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from convmed.cli import main
from convmed.conformance.fuzz import claims, domain
from convmed.conformance.lint import lint_suite
from convmed.model import load_spec
from convmed.schemas import validate

REPO = Path(__file__).resolve().parent.parent
BROKEN = REPO / "conformance_tests" / "broken_adapters"
PY = sys.executable


def fuzz(tmp_path, adapter, codes, name):
    out = tmp_path / f"{name}.json"
    code = main(["conformance", "fuzz", "--adapter", f"{PY} {BROKEN}/{adapter}", "--codes", codes,
                 "--examples", "2000", "--seed", "1", "--max-faults", "1", "--out", str(out)])
    return code, json.loads(out.read_text(encoding="utf-8")), out


def lint_clean(tmp_path, out: Path):
    root = tmp_path / "suite"
    root.mkdir()
    shutil.copy(REPO / "conformance_tests" / "v1" / "suite.json", root / "suite.json")
    shutil.copy(out, root / out.name)
    report = lint_suite(root)
    assert report.problems == [], [p.render() for p in report.problems]
    assert report.reproduced == 1


def test_fuzz_finds_meg_for_a_six_year_old(tmp_path, capsys):
    code, data, out = fuzz(tmp_path, "meg_six_years.py", "G,MEG", "meg-fuzz")
    assert code == 1
    [case] = data["cases"]
    claim = case["input"]
    assert (claim.get("patient") or {}).get("age_years") == 6 or "birth_date" in claim["patient"]
    meg = [line for line in case["expected"]["lines"] if line["code"] == "MEG"]
    assert meg and meg[0]["status"] == "refused" and meg[0]["reason"] == "AGE_NOT_ELIGIBLE"
    assert "MEG#age" in case["rules"]
    assert any("moins de 6 ans" in s["quote"] for s in case["seeds"])
    assert len(claim["lines"]) <= 2 and set(claim) <= {"date", "doctor", "lines", "patient"}  # shrunk
    found_after = int(capsys.readouterr().out.split("trouvé après ")[1].split()[0])
    assert found_after <= 2000
    lint_clean(tmp_path, out)


def test_fuzz_finds_g_at_25_after_the_revaluation(tmp_path):
    code, data, out = fuzz(tmp_path, "g_25_after_2024.py", "G", "g-fuzz")
    assert code == 1
    [case] = data["cases"]
    assert case["input"]["date"] >= "2024-12-22"
    assert case["expected"]["lines"] == [{"code": "G", "status": "priced", "amount": "30.00"}]
    assert case["input"]["lines"] == [{"code": "G"}]
    assert "G#values/2024-12-22" in case["rules"]
    assert any(s["quote"] == "G = 30 €" for s in case["seeds"])
    lint_clean(tmp_path, out)
    again = tmp_path / "again"
    again.mkdir()
    _, data2, _ = fuzz(again, "g_25_after_2024.py", "G", "g-fuzz")
    assert data2 == data   # same seed, same minimal vector


def test_fuzz_against_the_reference_finds_nothing(tmp_path, capsys):
    out = tmp_path / "none.json"
    assert main(["conformance", "fuzz", "--python", "convmed.conformance.protocol:reference", "--codes", "G,MEG",
                 "--examples", "150", "--seed", "3", "--out", str(out)]) == 0
    assert "aucun désaccord" in capsys.readouterr().out and not out.exists()


def test_strategies_are_derived_from_the_spec_and_valid():
    from hypothesis import HealthCheck, given, settings

    d = domain(load_spec(), ["G", "MEG"])
    assert {5, 6, 7} <= set(d.ages)                     # MEG: lt 6
    from datetime import date
    assert {date(2024, 12, 21), date(2024, 12, 22)} <= set(d.dates)   # G revaluation and the day before
    assert "medecine_generale" in d.specialties

    seen = set()

    @settings(max_examples=60, database=None, suppress_health_check=list(HealthCheck), deadline=None)
    @given(claims(d))
    def check(claim):
        assert validate(claim, "claim") == []
        seen.update(line["code"] for line in claim["lines"])

    check()
    assert seen <= set(d.codes) and {"G", "MEG"} <= set(d.codes)


def _ignores_frequency_limits(case):
    """A wrong engine: bills a line that a frequency limit refuses."""
    from convmed.conformance.oracles import evaluate

    out = evaluate(case["kind"], case["input"])
    for line in out["lines"]:
        if line["status"] == "refused" and line["trace"] and line["trace"][-1]["step"] == "limit":
            for key in ("reason", "message", "instead"):
                line.pop(key, None)
            line.update(status="priced", amount="1.00")
    return out


def test_fuzz_reaches_frequency_limits_through_the_history():
    import pytest

    from convmed.conformance.fuzz import fuzz as search
    from convmed.conformance.protocol import InProcessAdapter

    spec = load_spec()
    limited = sorted(code for code, c in spec.acts_by_code.items()
                     if any(lim.get("period") == "calendar_year" and code in lim.get("count_codes", [])
                            for lim in c.data.get("limits", [])))
    if not limited:
        pytest.skip("no act with a yearly limit in the spec")
    code = "VL" if "VL" in limited else limited[0]
    d = domain(spec, [code])
    assert code in d.history_codes and 365 in d.history_gaps
    faults, generated = search(InProcessAdapter(_ignores_frequency_limits), d, examples=2000, seed=1, max_faults=1)
    [fault] = faults
    assert fault.signature == (code, "status") and fault.found_after <= 2000
    assert [h["code"] for h in fault.claim["history"]].count(code) >= 1
    # the line the wrong engine bills is one the oracle refuses by the yearly limit (history + earlier lines)
    assert any(line["code"] == code and line["status"] == "refused" and line.get("reason") == "FREQUENCY_LIMIT"
               for line in fault.expected["lines"]), fault.expected


def test_fuzz_finds_the_semantic_mutants_through_dependent_lines_and_territories():
    """The fuzzer draws the lines a code depends on (base acts, non-cumul partners), dépassement amounts, base lines,
    territories and times: each of these wrong engines (convmed.conformance.mutants) is found from its codes alone."""
    from convmed.conformance.fuzz import fuzz as search
    from convmed.conformance.mutants import (DependentOverRefusedBase, DromFallsBackToMetropole, NonCumulBoth,
                                             Sector1NotTarifOpposable)
    from convmed.conformance.protocol import InProcessAdapter

    spec = load_spec()

    def engine(cls):
        pricer = cls(spec)
        return lambda case: pricer.price(case["input"])

    for cls, codes in ((DependentOverRefusedBase, ["MEG"]), (NonCumulBoth, ["CEK", "MCS"]),
                       (DromFallsBackToMetropole, ["G"]), (Sector1NotTarifOpposable, ["CEP"])):
        d = domain(spec, codes)
        found = []
        for seed in (1, 2, 3):   # deterministic: Hypothesis is seeded
            found, generated = search(InProcessAdapter(engine(cls)), d, examples=1500, seed=seed, max_faults=1)
            if found:
                break
        assert found and found[0].found_after <= 1500, (cls.__name__, generated)
    # the related codes join the draw: MEG's base acts, CEK's non-cumul partner
    assert {"G", "C"} <= set(domain(spec, ["MEG"]).codes) and "MCS" in domain(spec, ["CEK"]).codes

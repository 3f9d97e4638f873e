"""`convmed conformance lint`: the shipped suite is clean; each kind of defect is caught, located."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from convmed.cli import main
from convmed.conformance.compare import differences
from convmed.conformance.lint import lint_suite

REPO = Path(__file__).resolve().parent.parent
SUITE = REPO / "conformance_tests" / "v1"

G_CASE = {
    "id": "t.g", "description": "Un généraliste de secteur 1 facture G 30.00", "level": "required",
    "rules": ["G#values/2024-12-22"],
    "seeds": [{"seed": "000_faed2a3a0097973c.txt", "path": [], "quote": "G = 30 €"}],
    "kind": "claim",
    "input": {"date": "2025-01-10", "doctor": {"specialty": "medecine_generale", "sector": "S1"}, "lines": [{"code": "G"}]},
    "expected": {"lines": [{"code": "G", "status": "priced", "amount": "30.00"}], "total": "30.00"},
}


def suite_with(tmp_path, files: dict[str, dict]) -> Path:
    root = tmp_path / "v9"
    root.mkdir()
    shutil.copy(SUITE / "suite.json", root / "suite.json")
    for name, data in files.items():
        (root / f"{name}.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return root


def one(family, *cases):
    return {family: {"family": family, "description": "essai", "cases": list(cases)}}


def test_the_shipped_suite_passes_its_own_lint(capsys):
    assert main(["conformance", "lint"]) == 0
    out = capsys.readouterr().out
    report = lint_suite(SUITE)
    assert report.problems == []
    assert report.reproduced == len(report.suite.cases) - len(report.skipped)
    assert report.temporal_cases > 0
    assert "attendus reproduits" in out


def test_a_clean_case_passes_and_g_is_covered(tmp_path):
    report = lint_suite(suite_with(tmp_path, one("t", G_CASE)))
    assert report.problems == [] and report.reproduced == 1
    uncovered = {u["rule"]: u["missing"] for u in report.uncovered}
    assert uncovered["G"] == ["refused"]   # priced once, never refused
    assert uncovered["G#sector"] == ["refused"]
    assert "MEG#age" in uncovered
    schemes = [r for r in uncovered if r.startswith("forfaits.") and "#" in r]
    assert schemes and all(uncovered[r] == ["accepted", "refused"] for r in schemes)   # no forfait vector here
    assert all(uncovered[r] == ["used"] for r in uncovered if r.startswith("forfaits.") and "#" not in r)


def test_wrong_expectation_is_reported_at_its_pointer(tmp_path):
    bad = {**G_CASE, "expected": {"lines": [{"code": "G", "status": "priced", "amount": "25.00"}]}}
    report = lint_suite(suite_with(tmp_path, one("t", bad)))
    [problem] = report.problems
    assert problem.code == "expected" and problem.pointer == "/cases/0/expected/lines/0/amount"
    assert '"25.00"' in problem.message and '"30.00"' in problem.message
    assert problem.line is not None and problem.file.endswith("t.json")


def test_duplicate_ids_invalid_input_unknown_rule_bad_quote_and_family(tmp_path):
    dup = dict(G_CASE)
    invalid = {**G_CASE, "id": "t.invalid", "input": {**G_CASE["input"], "date": "2025-02-30", "lines": []}}
    # (SEMANTIQUE § 7.1: a dated value is not cited by position, an act not by its path)
    rule = {**G_CASE, "id": "t.rule", "rules": ["G#nope", "acts.nothing.X", "G#values/1", "acts.consultations.G"]}
    quote = {**G_CASE, "id": "t.quote", "seeds": [{"seed": "000_faed2a3a0097973c.txt", "quote": "G = 31 €"},
                                                {"seed": "999_unknown.txt", "quote": "x"}]}
    files = {**one("t", G_CASE, dup, invalid, rule, quote), **one("other", {**G_CASE, "id": "other.g"})}
    files["other"]["family"] = "autre"
    report = lint_suite(suite_with(tmp_path, files))
    codes = sorted((p.code, p.pointer) for p in report.problems)
    assert ("duplicate-id", "/cases/1/id") in codes
    assert ("input", "/cases/2/input/lines") in codes
    assert ("date", "/cases/2/input/date") in codes
    assert ("rule", "/cases/3/rules/0") in codes and ("rule", "/cases/3/rules/1") in codes
    assert ("rule", "/cases/3/rules/2") in codes and ("rule", "/cases/3/rules/3") in codes
    by_pointer = {p.pointer: p.message for p in report.problems}
    assert "2024-12-22" in by_pointer["/cases/3/rules/2"]   # the message lists the entries' ids
    assert "par son code : G" in by_pointer["/cases/3/rules/3"]
    assert ("quote", "/cases/4/seeds/0/quote") in codes and ("seed", "/cases/4/seeds/1/seed") in codes
    assert ("family", "/family") in codes


def test_schema_violation_fails_the_lint_with_exit_1(tmp_path, capsys):
    root = suite_with(tmp_path, one("t", {**G_CASE, "level": "mandatory"}))
    assert main(["conformance", "lint", "--suite", str(root)]) == 1
    assert "t.json" in capsys.readouterr().err


def test_require_coverage_turns_the_listing_into_a_failure(tmp_path, capsys):
    root = suite_with(tmp_path, one("t", G_CASE))
    assert main(["conformance", "lint", "--suite", str(root)]) == 0
    assert "G#sector — manque : refusé" in capsys.readouterr().out
    assert main(["conformance", "lint", "--suite", str(root), "--require-coverage"]) == 1


def test_temporal_overlap_and_wrong_resolution_are_caught(tmp_path):
    from convmed.model import load_spec, load_spec_uncached
    from convmed.paths import spec_dir

    spec_root = tmp_path / "spec"
    shutil.copytree(spec_dir(), spec_root)
    g = spec_root / "acts" / "consultations" / "G.yaml"
    # a second entry starting on the same day as the 30 € one: an overlap
    text = g.read_text(encoding="utf-8").replace(
        "requirements:",
        '  - from: 2024-12-22\n    value: "31.00"\n    status: signed\n    sources: []\nrequirements:', 1)
    g.write_text(text, encoding="utf-8")
    spec = load_spec_uncached(spec_root)
    report = lint_suite(suite_with(tmp_path, one("t", G_CASE)), spec=spec)
    temporal = [p for p in report.problems if p.code == "temporal"]
    assert temporal and any("G (metropole)" in p.message and "overlapping" in p.message for p in temporal)
    assert [p for p in lint_suite(SUITE, spec=load_spec()).problems if p.code == "temporal"] == []


@pytest.mark.parametrize("expected, actual, pointers", [
    ({"a": "1.0"}, {"a": "1.00"}, ["/a"]),
    ({"lines": [{"x": 1}]}, {"lines": [{"x": 1}, {"x": 2}]}, ["/lines/length"]),
    ({"ok": True}, {"ok": 1}, ["/ok"]),
    ({"a": {"b": 1}}, {"a": {}}, ["/a/b"]),
    ({"lines": [{"code": "G"}]}, {"lines": [{"code": "G", "amount": "9"}], "extra": 1}, []),
])
def test_projection_comparison(expected, actual, pointers):
    assert [d.pointer for d in differences(expected, actual)] == pointers


def test_a_kind_without_oracle_is_skipped_with_a_clear_reason(tmp_path, monkeypatch):
    from convmed.conformance import oracles
    from convmed.conformance.protocol import Skip, reference

    monkeypatch.setitem(oracles.KINDS, "forfait", ("convmed.pas_encore_ecrit", "compute"))
    monkeypatch.delitem(oracles._cache, "forfait", raising=False)
    case = {**G_CASE, "id": "t.forfait", "kind": "forfait", "input": {"scheme": "fmt", "year": 2025,
                                                                   "doctor": {"specialty": "medecine_generale", "sector": "S1"}},
            "expected": {"total": "0.00"}}
    report = lint_suite(suite_with(tmp_path, one("t", G_CASE, case)))
    assert report.problems == [] and report.reproduced == 1
    assert report.skipped == [("t.forfait", "oracle non disponible : le module convmed.pas_encore_ecrit n'existe pas encore")]
    assert any(w.code == "oracle-unavailable" and w.pointer == "/cases/1" for w in report.warnings)
    with pytest.raises(Skip, match="oracle non disponible"):
        reference({"id": "x", "kind": "forfait", "input": {}})


def _probe_claims(spec, concept):
    """Claims billing the act alone and after a consultation, on every date its values and rules turn on
    (and the day before / after), by the specialties its values name and a GP, sectors S1 and S2, with
    the line fields its pricing method reads."""
    from datetime import date, timedelta

    code = concept.data["code"]
    days = {date(2016, 1, 1), date(2030, 1, 1)}
    for e in concept.timeline.entries:
        for d in (e.lo, e.hi):
            if date(2000, 1, 1) < d < date(2100, 1, 1):
                days |= {d - timedelta(days=1), d, d + timedelta(days=1)}
    specialties = {"medecine_generale"} | {s for e in concept.timeline.entries for s in (e.specialties or ())}
    line = {"code": code, "quantity": "2", "coefficient": "1", "amount": "10.00", "base_amount": "20.00"}
    for day in sorted(days):
        for specialty in sorted(specialties):
            for sector in ("S1", "S2"):
                doctor = {"specialty": specialty, "sector": sector}
                for lines in ([line], [{"code": "G"}, {**line, "base_line": 0}]):
                    yield {"date": day.isoformat(), "doctor": doctor, "patient": {"age_years": 40},
                           "lines": [dict(x) for x in lines]}


def test_every_known_limit_is_one_the_oracle_cannot_produce(spec):
    """What lint calls untestable really is: for an act whose accepted side is reported impossible, no
    probe claim is priced; for one whose refused side is, no probe claim is refused (probes at every date
    its values turn on, by its specialties, both sectors, alone and after a consultation)."""
    report = lint_suite(SUITE)
    acts = [u for u in report.untestable if "#" not in u["rule"] and u["rule"].startswith("acts.")]
    assert {u["reason"] for u in report.untestable} == {"no_value", "no_certain_start", "no_condition", "not_computed",
                                                        "mutual", "never_together"}
    from convmed.pricing import Pricer

    pricer = Pricer(spec)
    impossible = {"accepted": "priced", "refused": "refused"}
    for u in acts:
        concept = spec.concepts[u["rule"]]
        for claim in _probe_claims(spec, concept):
            statuses = [r["status"] for r in pricer.price(claim)["lines"] if r.get("concept") == concept.id]
            assert impossible[u["missing"]] not in statuses, (u, claim)
    # the shipped suite: every act and rule of an act is either covered both ways or a known limit
    assert [u for u in report.uncovered if u["rule"].startswith("acts.")] == []


def test_known_limits_are_reported_apart_with_their_reason(capsys):
    assert main(["conformance", "lint", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    limits = {(u["rule"], u["missing"]): u["reason"] for u in data["untestable"]}
    # V: every dated value of the spec is a gap (the seeds give no amount)
    assert limits[("V", "accepted")] == "no_value"
    # FSD: 45 € « sera fixé », with no date by which it is in force (000)
    assert limits[("FSD", "accepted")] == "no_certain_start"
    uncovered = {(u["rule"], side) for u in data["uncovered"] for side in u["missing"]}
    assert not uncovered & set(limits)   # a side is either uncovered or a known limit, never both

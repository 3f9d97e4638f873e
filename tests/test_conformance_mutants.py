"""The suite pins the semantics (issue 18): every semantic mutant of the oracle — a plausible misreading of
spec/SEMANTIQUE.md — fails at least one *required* vector. A mutant that survives means a wrong engine could pass
the whole required suite: add the vector that tells them apart, written from the seeds."""

from __future__ import annotations

import json

import pytest

from convmed.cli import main
from convmed.conformance.mutants import Mutant, mutants, mutation_report
from convmed.conformance.vectors import load_suite
from convmed.pricing import STAGES, Pricer

# the misreadings the issue names, each a mutant of convmed.conformance.mutants
REQUIRED = {f"swap_{a}_{b}" for a, b in zip(STAGES, STAGES[1:])} | {
    "value_before_requirements", "rules_before_own", "limits_count_refused", "dependent_over_refused_base",
    "lines_in_index_order", "non_cumul_wrong_line", "non_cumul_both", "missing_fact_left_to_right",
    "drom_metropole_fallback", "sector1_not_tarif_opposable", "no_external_base"}


@pytest.fixture(scope="module")
def report(spec):
    suite, _ = load_suite(None, strict=False)
    return {r["mutant"]: r for r in mutation_report(suite, spec)}


def test_the_mutants_cover_every_misreading_named_by_the_issue():
    assert {m.name for m in mutants()} >= REQUIRED


def test_every_mutant_is_killed_by_a_required_vector(report, spec):
    suite, _ = load_suite(None, strict=False)
    required = {c.id for c in suite.cases if c.level == "required"}
    survivors = [name for name, r in report.items() if not r["killed"]]
    assert survivors == []
    assert all({k["id"] for k in r["killed_by"]} <= required for r in report.values())


def test_a_mutant_equal_to_the_oracle_survives(spec):
    """The check can fail: the oracle itself, dressed as a mutant, is killed by no vector."""
    import convmed.conformance.mutants as module

    suite, _ = load_suite(None, strict=False)
    original = module.mutants
    module.mutants = lambda: [Mutant("oracle", "l'oracle lui-même", Pricer)]
    try:
        (only,) = mutation_report(suite, spec)
    finally:
        module.mutants = original
    assert not only["killed"] and only["killed_by"] == []


def test_lint_mutants_reports_and_fails_on_a_survivor(monkeypatch, capsys):
    assert main(["conformance", "lint", "--mutants", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {m["mutant"] for m in data["mutants"] if m["killed"]} >= REQUIRED
    import convmed.conformance.mutants as module

    monkeypatch.setattr(module, "mutants", lambda: [Mutant("oracle", "l'oracle lui-même", Pricer)])
    assert main(["conformance", "lint", "--mutants"]) == 1
    assert "SURVIT   oracle" in capsys.readouterr().out

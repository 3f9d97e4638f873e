"""Robustness of the forfait inputs (patientèle streamed from JSON Lines / CSV) and of the vector lint:
each fault found by the fuzz tests, pinned down."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fuzz.harness import check, located_problems, run_cli

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def request_file(tmp_path) -> Path:
    path = tmp_path / "fmt.json"
    path.write_text(json.dumps({"scheme": "fmt", "year": 2026, "doctor": {"sector": "S1"}}))
    return path


def _run(request_file, patients: Path):
    return run_cli(["forfait", "fmt", request_file, "--patients", patients])


def _lines(result) -> set[int]:
    return {int(m["line"]) for m in located_problems(result.err) if m["line"]}


@pytest.mark.parametrize("cells", ["p,²", "p,٣", "p,1²", "p,40,²", "p,40,,v@2025-01-01@²"])
def test_csv_non_ascii_digits_are_refused_on_their_line(tmp_path, request_file, cells):
    patients = tmp_path / "p.csv"
    header = "id,age" if cells.count(",") == 1 else "id,age,ald" if cells.count(",") == 2 else "id,age,ald,events"
    patients.write_text(f"{header}\np,41\n{cells}\n")
    result = check(_run(request_file, patients), expect=2, files=[patients])
    assert _lines(result) == {3}, result.describe()


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_invalid_utf8_far_into_the_file_names_the_right_line(tmp_path, request_file, fmt):
    """A text wrapper decodes 8 KiB ahead: the error used to be blamed on an earlier line."""
    patients = tmp_path / f"p.{fmt}"
    good = (b'{"id": "p", "age": 40}\n' if fmt == "jsonl" else b"p,40\n") * 2000
    bad = b'{"id": "\xff", "age": 40}\n' if fmt == "jsonl" else b"\xff,40\n"
    patients.write_bytes((b"id,age\n" if fmt == "csv" else b"") + good + bad + good)
    result = check(_run(request_file, patients), expect=2, files=[patients])
    assert _lines(result) == {2001 + (fmt == "csv")} and "[encoding]" in result.err, result.describe()


@pytest.mark.parametrize("line, fragment", [
    ('{"id": "a", "age": 40, "age": 41}', ": [duplicate-key] duplicate key 'age'"),
    ('{"id": "a", "age": ' + "9" * 5000 + "}", ": [json] invalid JSON"),
    ('{"id": "a", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", ": [too-deep] JSON nested too deeply"),
    ('{"id": "a\\ud800", "age": 40}', " /id: [encoding] lone surrogate"),
    ('{"id": "' + "a" * (5 * 2**20) + '", "age": 40}', ": [too-large] line longer than"),
])
def test_hostile_jsonl_lines_are_refused_on_their_line(tmp_path, request_file, line, fragment):
    patients = tmp_path / "p.jsonl"
    patients.write_text('{"id": "ok", "age": 30}\n' + line + "\n")
    result = check(_run(request_file, patients), expect=2, files=[patients])
    assert f"{patients}:2{fragment}" in result.err, result.describe()


def test_lint_rule_reference_with_a_non_ascii_index_is_a_lint_error(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(REPO / "conformance_tests" / "v1" / "suite.json", suite)
    vectors = json.loads((REPO / "conformance_tests" / "v1" / "majorations-enfant.json").read_text())
    vectors["cases"][0]["rules"] = ["acts.consultations.G#values/²"]
    (suite / "majorations-enfant.json").write_text(json.dumps(vectors, ensure_ascii=False))
    result = check(run_cli(["conformance", "lint", "--suite", suite], timeout=60), expect=1)
    assert "/cases/0/rules/0: [rule]" in result.err, result.describe()


@pytest.mark.parametrize("count, message", [(30.0, "expected an integer"),  # JSON Schema counts 30.0 as an integer
                                            (-3, "minimum of 0"), ("30", "not of type 'integer'"),
                                            (True, "not of type 'integer'")])
def test_fpmt_counts_by_category_must_be_whole_counts(tmp_path, count, message):
    # found by the full fuzz run: a float count reached the Decimal product (internal error, exit 3)
    request = tmp_path / "fpmt.json"
    request.write_text(json.dumps({"scheme": "fpmt", "year": 2018, "doctor": {"sector": "S1"},
                                   "inputs": {"cmuc_share": "15", "counts": {"no_ald_7_79": count}}}))
    result = check(run_cli(["forfait", "fpmt", request]), expect=2, files=[request])
    assert "/inputs/counts/no_ald_7_79" in result.err and message in result.err, result.describe()


def test_fpmt_whole_counts_are_priced(tmp_path):
    request = tmp_path / "fpmt.json"
    request.write_text(json.dumps({"scheme": "fpmt", "year": 2018, "doctor": {"sector": "S1"},
                                   "inputs": {"cmuc_share": "7", "counts": {"no_ald_7_79": 100}}}))
    check(run_cli(["forfait", "fpmt", request]), expect=0)


def test_a_huge_integer_input_is_out_of_range_not_an_internal_error(tmp_path):
    # found by the full fuzz run: /inputs/pmt = 10**300 overflowed the Decimal context (exit 3)
    request = tmp_path / "vsm.json"
    request.write_text(json.dumps({"scheme": "vsm", "year": 2024, "doctor": {"sector": "S1"},
                                   "inputs": {"vsm_ald_share_percent": "90", "vsm_feed_dmp": True, "pmt": 10 ** 300,
                                              "results_date": "2024-06-30", "structured_vsm": 0, "total_vsm_dmp": 0}}))
    result = check(run_cli(["forfait", "vsm", request]), expect=2, files=[request])
    assert "/inputs/pmt" in result.err and "out of range" in result.err, result.describe()

"""Every claim vector under conformance_tests/ is reproduced by the oracle.

The vectors' expected values were written from the seeds (each case cites its quote);
this test checks the oracle against them, field by field (partial projection).
"""

import json
from pathlib import Path

import pytest

from convmed.pricing import price_claim
from convmed.schemas import validate

REPO = Path(__file__).resolve().parent.parent
FILES = sorted((REPO / "conformance_tests").glob("v*/*.json"))


def _cases():
    for path in FILES:
        data = json.loads(path.read_text(encoding="utf-8"))
        if "cases" not in data:
            continue
        for case in data["cases"]:
            if case.get("kind") == "claim":
                yield pytest.param(path, case, id=f"{path.stem}:{case['id']}")


def matches(expected, actual, where="") -> list[str]:
    """Partial projection: every key in `expected` equals `actual`'s; lists element-wise, same length."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        out = []
        for k, v in expected.items():
            if k not in actual:
                out.append(f"{where}/{k}: missing (expected {v!r})")
            else:
                out.extend(matches(v, actual[k], f"{where}/{k}"))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {len(expected)} items, got {actual!r}"]
        return [m for i, (e, a) in enumerate(zip(expected, actual)) for m in matches(e, a, f"{where}/{i}")]
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]


def test_vector_files_exist():
    assert FILES, "no vector files under conformance_tests/"


@pytest.mark.parametrize("path,case", list(_cases()))
def test_claim_vector(path, case, spec):
    assert not validate(case["input"], "claim"), "vector input is not a valid claim"
    result = price_claim(case["input"], spec)
    assert not validate(result, "result"), "oracle result does not match schemas/result.schema.json"
    problems = matches(case["expected"], result)
    assert not problems, f"{case['description']}: " + "; ".join(problems)


def test_matches_detects_differences():
    assert matches({"a": "1"}, {"a": "2"})
    assert matches({"l": [{"x": 1}]}, {"l": [{"x": 1}, {"x": 2}]})
    assert not matches({"l": [{"x": 1}]}, {"l": [{"x": 1, "y": 3}], "z": 0})

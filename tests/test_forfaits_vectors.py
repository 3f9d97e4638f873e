"""The forfait vectors of PART A (FMT 2026, 2016 schemes) against the reference oracle."""

import json

import pytest

from convmed.forfaits import compute

FILES = ["forfaits-fmt.json", "forfaits-2016.json"]


def _cases(repo):
    for name in FILES:
        data = json.loads((repo / "conformance_tests" / "v1" / name).read_text(encoding="utf-8"))
        for case in data["cases"]:
            yield pytest.param(case, id=case["id"])


def _project(expected, actual, path=""):
    problems = []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        for k, v in expected.items():
            if k not in actual:
                problems.append(f"{path}/{k}: missing")
            else:
                problems += _project(v, actual[k], f"{path}/{k}")
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {actual!r}"]
        for i, (e, a) in enumerate(zip(expected, actual)):
            problems += _project(e, a, f"{path}/{i}")
    elif expected != actual:
        problems.append(f"{path}: expected {expected!r}, got {actual!r}")
    return problems


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        from pathlib import Path

        repo = Path(__file__).resolve().parent.parent
        metafunc.parametrize("case", list(_cases(repo)))


def test_vector(case, spec):
    result = compute(case["input"], spec)
    assert not _project(case["expected"], result), (_project(case["expected"], result), result.get("message"))


def test_vector_files_are_valid(repo):
    from convmed.schemas import validate

    for name in FILES:
        data = json.loads((repo / "conformance_tests" / "v1" / name).read_text(encoding="utf-8"))
        assert not validate(data, "vector-file")
        ids = [c["id"] for c in data["cases"]]
        assert len(ids) == len(set(ids))
        for c in data["cases"]:
            assert not validate(c["input"], "forfait-input"), c["id"]

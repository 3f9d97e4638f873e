"""Part-B forfait vectors (aids, missions, contracts, bonuses) run against the oracle.

Each case's `expected` is a partial projection: every key present must be equal, arrays element-wise
with the same length, objects recursively. The expected values were written from the seeds (quoted in
each case), not copied from the oracle.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from convmed.forfaits import compute
from convmed.schemas import validate

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ["forfaits-installation", "forfaits-missions", "forfaits-donum-vsm", "forfaits-demographic-contracts",
            "forfaits-assistant-medical", "forfaits-optam", "forfaits-bonuses", "forfaits-social"]


def _load(family):
    return json.loads((ROOT / "conformance_tests" / "v1" / f"{family}.json").read_text(encoding="utf-8"))


CASES = [(f, c) for f in FAMILIES for c in _load(f)["cases"]]


def project(actual, expected, where="$"):
    """List of mismatches of `actual` against the partial `expected`."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        out = []
        for k, v in expected.items():
            if k not in actual:
                out.append(f"{where}.{k}: missing")
            else:
                out += project(actual[k], v, f"{where}.{k}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {len(expected)} element(s), got {actual!r}"[:300]]
        return [m for i, (a, e) in enumerate(zip(actual, expected)) for m in project(a, e, f"{where}[{i}]")]
    return [] if actual == expected else [f"{where}: expected {expected!r}, got {actual!r}"]


@pytest.mark.parametrize("family", FAMILIES)
def test_vector_file_valid(family):
    data = _load(family)
    assert validate(data, "vector-file") == []
    ids = [c["id"] for c in data["cases"]]
    assert len(ids) == len(set(ids))
    assert all(c["kind"] == "forfait" and c["id"].startswith(family + ".") for c in data["cases"])


@pytest.mark.parametrize("family,case", CASES, ids=[c["id"] for _, c in CASES])
def test_vector(family, case):
    result = compute(case["input"])
    problems = project(result, case["expected"])
    assert not problems, "\n".join(problems)


def test_vectors_name_existing_spec_ids():
    from convmed.model import load_spec

    spec = load_spec()
    for _, case in CASES:
        for rule in case["rules"]:
            cid = rule.split("#")[0]
            assert cid in spec.concepts or any(k.startswith(cid + ".") for k in spec.concepts), (case["id"], rule)

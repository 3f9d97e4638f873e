"""SEMANTIQUE.md § 2.7, on the reference pricer itself: each line of a claim has the result (status, amount,
reason) it has on the claim reduced to its component (claim_plan.components, claim_plan.sub_lines). The batch
engine's columnar backend relies on it; this checks the property the document states, not the backend."""

from __future__ import annotations

import json

from convmed.batch.generate import generate_claims
from convmed.batch.validation import validate_claim
from convmed.claim_plan import components, independent_lines, sub_lines
from convmed.pricing import price_claim


def _answer(line: dict) -> tuple:
    return line["code"], line["status"], line.get("amount"), line.get("reason")


def _by_components(claim: dict, spec) -> dict[int, tuple]:
    out = {}
    for component in components(spec, claim["lines"]):
        reduced = dict(claim, lines=sub_lines(claim["lines"], component))
        for k, line in enumerate(price_claim(reduced, spec)["lines"]):
            out[component[k]] = _answer(line)
    return out


def _check(claims, spec) -> tuple[int, int]:
    """(claims with a component of several lines, claims compared); asserts the property on every claim."""
    several = compared = 0
    for claim in claims:
        if validate_claim(claim):
            continue
        whole = {line["index"]: _answer(line) for line in price_claim(claim, spec)["lines"]}
        # the claim reduced to a component is valid (the batch engine prices it without validating it again)
        for component in components(spec, claim["lines"]):
            assert validate_claim(dict(claim, lines=sub_lines(claim["lines"], component))) == []
        assert _by_components(claim, spec) == whole, json.dumps(claim, ensure_ascii=False)
        compared += 1
        several += any(len(c) > 1 for c in components(spec, claim["lines"]))
    return several, compared


def _vector_claims(repo):
    for f in sorted((repo / "conformance_tests" / "v1").glob("*.json")):
        for case in json.loads(f.read_text(encoding="utf-8")).get("cases", []):
            if case.get("kind") == "claim" and isinstance(case.get("input"), dict):
                yield case["input"]


def test_every_vector_claim_has_the_results_of_its_components(repo, spec):
    several, compared = _check(_vector_claims(repo), spec)
    # the vectors exercise bases, non-cumuls, limits on the claim's own lines, associations, cycles
    assert compared > 500 and several > 100


def test_generated_claims_have_the_results_of_their_components(spec):
    claims = list(generate_claims(3000, seed=2025, spec=spec, history_rate=0.05))
    claims += list(generate_claims(2000, seed=11, spec=spec, profile="national", history_rate=0.0))
    several, compared = _check(claims, spec)
    assert several > 200


def _claim(*lines, **fields):
    claim = {"date": "2025-03-04", "doctor": {"specialty": "medecine_generale", "sector": "S1"},
             "lines": [dict(line) for line in lines]}
    claim.update(fields)
    return claim


def test_what_links_two_lines(spec):
    # MEG is priced on the G it majorates (base); DE applies to the first clinical act (G), not to VG after it
    assert components(spec, [{"code": "MEG"}, {"code": "G"}]) == ((0, 1),)
    assert components(spec, [{"code": "G"}, {"code": "DE"}, {"code": "VG"}]) == ((0, 1), (2,))
    # base_line moves DE onto VG: G is left alone
    assert components(spec, [{"code": "G"}, {"code": "VG"}, {"code": "DE", "base_line": 1}]) == ((0,), (1, 2))
    # two CCAM acts priced from an external base are ranked together by the association rules (§ 4.1)
    assert components(spec, [{"code": "AAAA001"}, {"code": "G"}, {"code": "BBBB002"}]) == ((0, 2), (1,))
    assert independent_lines(spec, [{"code": "MEG"}, {"code": "G"}]) is False
    assert independent_lines(spec, [{"code": "G"}, {"code": "VG"}]) is True


def test_a_designation_is_renumbered_on_the_component():
    lines = [{"code": "G"}, {"code": "C"}, {"code": "VG"}, {"code": "DE", "base_line": 2}]
    assert sub_lines(lines, (2, 3)) == [{"code": "VG"}, {"code": "DE", "base_line": 0}]
    # a designation of no existing line still designates none; one of the line itself stays on itself
    assert sub_lines([{"code": "DE", "base_line": 7}], (0,)) == [{"code": "DE", "base_line": 1}]
    assert sub_lines([{"code": "G"}, {"code": "DE", "base_line": 1}], (1,)) == [{"code": "DE", "base_line": 0}]
    assert sub_lines([{"code": "9", "modifies": 4}, {"code": "G"}], (0,)) == [{"code": "9", "modifies": 1}]
    # the claim's lines are not modified
    assert lines[3] == {"code": "DE", "base_line": 2}


def test_designations_on_components_that_do_not_start_the_claim(spec):
    # base_line / modifies on a component after other lines: without renumbering, DE would designate itself
    # (no base act: refused) or another line of the reduced claim
    s2 = {"specialty": "medecine_generale", "sector": "S2"}
    claims = [
        _claim({"code": "G"}, {"code": "VG"}, {"code": "DE", "base_line": 1, "amount": "10.00"}),
        _claim({"code": "G"}, {"code": "C"}, {"code": "VG"}, {"code": "DE", "base_line": 2, "amount": "8.00"}),
        _claim({"code": "G"}, {"code": "APC"}, {"code": "DA", "base_line": 1, "amount": "12.00"}, doctor=s2),
        _claim({"code": "G"}, {"code": "DE", "base_line": 9, "amount": "10.00"}),
        _claim({"code": "C"}, {"code": "MEG"}, {"code": "G"}, {"code": "DE", "base_line": 2, "amount": "5.00"}),
    ]
    several, compared = _check(claims, spec)
    assert compared == len(claims) and several == len(claims) - 1   # DE on line 9 is alone
    # the property is not vacuous here: DE on VG is priced, not refused for a missing base act
    first = price_claim(claims[0], spec)["lines"][2]
    assert first["status"] == "priced" and first["amount"] == "10.00"

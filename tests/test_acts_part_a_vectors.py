"""Part A vectors (sectors and billing modes, children, psychiatry, complex consultations, expertise)
run through the oracle, plus the acceptance scenarios of issue 3 checked on the trace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from convmed.io_claims import parse_claim
from convmed.pricing import Pricer

REPO = Path(__file__).resolve().parent.parent
FAMILIES = ["sectors-billing", "children", "psychiatry", "complex-consultations", "expertise"]


def _project(expected, actual, pointer=""):
    """Differences between a partial projection and the oracle's output (same rule as the suite)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{pointer}: attendu un objet, obtenu {actual!r}"]
        out = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{pointer}/{key}: absent")
            else:
                out += _project(value, actual[key], f"{pointer}/{key}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{pointer}: attendu {len(expected)} éléments, obtenu {actual!r}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual)) for d in _project(e, a, f"{pointer}/{i}")]
    return [] if expected == actual else [f"{pointer}: attendu {expected!r}, obtenu {actual!r}"]


def _cases():
    for family in FAMILIES:
        data = json.loads((REPO / "conformance_tests" / "v1" / f"{family}.json").read_text(encoding="utf-8"))
        assert data["family"] == family
        for case in data["cases"]:
            yield pytest.param(case, id=case["id"])


@pytest.fixture(scope="module")
def pricer(spec):
    return Pricer(spec)


def _price(pricer, claim):
    # every vector input is a valid claim (schema, dates)
    parse_claim(json.dumps(claim), "<vector>")
    return pricer.price(claim)


@pytest.mark.parametrize("case", list(_cases()))
def test_vector(case, pricer):
    assert case["kind"] == "claim"
    assert case["rules"], "each case names the rules it exercises"
    out = _price(pricer, case["input"])
    diffs = _project(case["expected"], out)
    assert not diffs, f"{case['id']}: {diffs}"


def test_every_rule_of_part_a_has_an_accepted_and_a_refused_case(spec, pricer):
    """Every requirement and limit of the Part A files passes in one vector and fails in another,
    except those that can only be uncertain (undated restrictions)."""
    seen: dict[str, set] = {}
    for param in _cases():
        out = _price(pricer, param.values[0]["input"])
        for line in out["lines"]:
            for step in line["trace"]:
                if step["step"] in ("requirement", "limit"):
                    seen.setdefault(step["rule"], set()).add(step["outcome"])
    prefixes = ("acts.depassements.", "acts.visites.", "acts.enfants.", "acts.psychiatrie.", "acts.complexes.",
                "acts.expertise.", "rules.secteurs.", "rules.complexes.")
    missing = []
    for concept in spec.concepts.values():
        if not concept.id.startswith(prefixes):
            continue
        for key in ("requirements", "limits"):
            for item in concept.data.get(key, []):
                rule = f"{concept.ref}#{item['id']}"
                start = item.get("from")
                undated = isinstance(start, dict) and start.get("in_force_by") is None
                wanted = {"pass"} if undated else {"pass", "fail"}
                if not wanted <= seen.get(rule, set()):
                    missing.append((rule, sorted(wanted - seen.get(rule, set()))))
    assert not missing, missing


# --------------------------------------------------------------- acceptance scenarios of issue 3
def _line(out, index):
    return out["lines"][index]


def test_second_gl3_in_a_year_is_refused_once_per_year_per_context(pricer):
    claim = {"date": "2026-09-01", "doctor": {"specialty": "medecine_generale", "sector": "S1", "is_patient_mt": True},
             "patient": {"id": "p80", "age_years": 85}, "context": {"medico_social_orientation": True},
             "lines": [{"code": "GL3"}], "history": [{"date": "2026-02-10", "code": "GL3", "patient_id": "p80"}]}
    line = _line(_price(pricer, claim), 0)
    assert (line["status"], line["reason"]) == ("refused", "FREQUENCY_LIMIT")
    assert "une seule GL par an et par contexte" in line["message"]
    step = line["trace"][-1]
    assert step["rule"] == "GL3#once_per_year_per_context" and step["outcome"] == "fail"
    assert {s["seed"] for s in step["sources"]} == {"000_faed2a3a0097973c.txt", "004_43679c6e4e635b7a.txt"}
    # the same claim without the earlier GL3 is priced at the signed 60 €
    claim["history"] = [{"date": "2025-02-10", "code": "GL3", "patient_id": "p80"}]
    line = _line(_price(pricer, claim), 0)
    assert (line["status"], line["amount"]) == ("priced", "60.00")


def test_second_cep_from_the_same_pmi_in_a_year_is_refused(pricer):
    ctx = {"written_request": True, "requester_type": "pmi", "requester_id": "pmi-1", "report_to_requester": True,
           "report_to_mt": True}
    claim = {"date": "2025-10-01", "doctor": {"specialty": "pediatrie", "sector": "S1"},
             "patient": {"id": "c1", "age_years": 9}, "context": ctx, "lines": [{"code": "CEP", "tarif_opposable": True}],
             "history": [{"date": "2025-01-15", "code": "CEP", "patient_id": "c1", "context": {"requester_id": "pmi-1"}}]}
    line = _line(_price(pricer, claim), 0)
    assert (line["status"], line["reason"]) == ("refused", "FREQUENCY_LIMIT")
    assert "même demandeur" in line["message"]
    assert line["trace"][-1]["rule"] == "CEP#per_requester"
    # another child of the same PMI is not affected
    claim["patient"]["id"] = "c2"
    assert _line(_price(pricer, claim), 0)["amount"] == "60.00"


def test_infectiology_apc_for_a_hospitalised_patient_once_per_stay(pricer):
    claim = {"date": "2025-03-01", "doctor": {"specialty": "maladies_infectieuses", "sector": "S1"},
             "patient": {"id": "h1", "has_mt": True, "hospitalised": True, "stay_id": "s1"},
             "context": {"written_request": True, "requester_type": "medecin_specialiste_autre_specialite",
                         "report_to_requester": True, "report_to_mt": True, "infectiology_antibiotic_advice": True},
             "lines": [{"code": "APC"}]}
    first = _line(_price(pricer, claim), 0)
    assert (first["status"], first["amount"]) == ("priced", "60.00")
    second = dict(claim, history=[{"date": "2025-02-27", "code": "APC", "patient_id": "h1", "stay_id": "s1"}])
    line = _line(_price(pricer, second), 0)
    assert (line["status"], line["reason"]) == ("refused", "FREQUENCY_LIMIT")
    assert line["trace"][-1]["rule"] == "APC#one_per_stay_infectiology"
    # two APC lines on one claim: the second one counts the first
    both = dict(claim, lines=[{"code": "APC"}, {"code": "APC"}])
    out = _price(pricer, both)
    assert [l["status"] for l in out["lines"]] == ["priced", "refused"] and out["total"] == "60.00"


def test_two_step_gap_is_said_in_the_trace(pricer):
    claim = {"date": "2025-01-15", "doctor": {"specialty": "pediatrie", "sector": "S1"}, "patient": {"age_years": 0},
             "lines": [{"code": "COE", "tarif_opposable": True}]}
    line = _line(_price(pricer, claim), 0)
    assert (line["status"], line["reason"]) == ("unknown", "VALUE_GAP")
    assert "deux temps" in line["message"] and "LACUNE" in line["message"]
    readme = (REPO / "spec" / "README.md").read_text(encoding="utf-8")
    assert "## Revalorisations en deux temps" in readme


def test_da_trace_states_the_cap(pricer):
    claim = {"date": "2018-03-01", "doctor": {"specialty": "dermatologie", "sector": "S1"}, "patient": {"age_years": 40},
             "context": {"hors_parcours": True}, "lines": [{"code": "CS"}, {"code": "DA", "amount": "9.00"}]}
    line = _line(_price(pricer, claim), 1)
    assert (line["status"], line["reason"]) == ("refused", "DEPASSEMENT_CAP_EXCEEDED")
    assert "5.00" in line["message"]
    cap = [s for s in line["trace"] if s["step"] == "amount"][0]
    assert cap["value"] == "5.00" and "28.00" in cap["detail"] and "rules.rounding.depassement_cap_clinical" in cap["detail"]

"""Issue 2 acceptance on the slice, plus boundary properties of every dated value."""

import json
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal

import pytest

from convmed.pricing import price_claim
from convmed.schemas import validate

GP_S1 = {"specialty": "medecine_generale", "sector": "S1"}


def line(result, i=0):
    return result["lines"][i]


def test_g_secteur1_2025_01_10_is_30_with_trace_citing_seed(spec):
    result = price_claim({"date": "2025-01-10", "doctor": GP_S1, "lines": [{"code": "G"}]}, spec)
    g = line(result)
    assert (g["status"], g["amount"], result["total"]) == ("priced", "30.00", "30.00")
    value_steps = [s for s in g["trace"] if s["step"] == "value"]
    assert value_steps and value_steps[0]["from"] == "2024-12-22"
    cited = {(s["seed"], s["quote"]) for s in value_steps[0]["sources"]}
    assert ("000_faed2a3a0097973c.txt", "G = 30 €") in cited
    assert not validate(result, "result")


@pytest.mark.parametrize("on,amount", [("2017-06-30", "3.00"), ("2017-07-01", "5.00")])
def test_mcs_read_around_2017_07_01(spec, on, amount):
    concept = spec.acts_by_code["MCS"]
    res = concept.timeline.resolve(date.fromisoformat(on))
    assert not res.uncertain and res.entry.value == Decimal(amount)


def test_g_secteur2_non_optam_refused_saying_bill_c(spec):
    claim = {"date": "2025-01-10", "doctor": {"specialty": "medecine_generale", "sector": "S2"}, "lines": [{"code": "G"}]}
    g = line(price_claim(claim, spec))
    assert g["status"] == "refused" and g["reason"] == "SECTOR_NOT_ELIGIBLE"
    assert g["instead"] == "C" and " C " in g["message"]


def test_unknown_is_never_a_silent_zero(spec):
    result = price_claim({"date": "2024-12-21", "doctor": GP_S1, "lines": [{"code": "G"}]}, spec)
    assert line(result)["status"] == "unknown" and "amount" not in line(result)
    assert result["complete"] is False


def _exact_starts(spec):
    for concept in spec.of_kind("act"):
        for entry in concept.timeline.entries:
            if not entry.uncertain and entry.lo != date.min:
                yield concept, entry


def test_every_exact_change_date_switches_value_on_the_day(spec):
    """Day of a change: that entry (or a more specific one) applies; day before: an earlier entry."""
    checked = 0
    for concept, entry in _exact_starts(spec):
        for territory in (entry.territories or ("metropole",)):
            for specialty in (entry.specialties or (None,)):
                track = concept.timeline.track(territory, specialty)
                if entry not in track:
                    continue
                on = concept.timeline.resolve(entry.lo, territory, specialty)
                assert on.entry is entry, (concept.id, entry.index)
                before = concept.timeline.resolve(entry.lo - timedelta(days=1), territory, specialty)
                assert before.entry is not entry, (concept.id, entry.index)
                checked += 1
    assert checked >= 10


def test_cli_price_prints_json_and_text(tmp_path, repo):
    claim = tmp_path / "claim.json"
    claim.write_text(json.dumps({"date": "2025-01-10", "doctor": GP_S1, "lines": [{"code": "G"}]}))
    out = subprocess.run([sys.executable, "-m", "convmed", "price", str(claim)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["total"] == "30.00"
    text = subprocess.run([sys.executable, "-m", "convmed", "price", str(claim), "--format", "text"],
                          capture_output=True, text=True)
    assert "30.00" in text.stdout and "G = 30 €" in text.stdout


@pytest.mark.parametrize("payload,pointer", [
    ({"date": "2025-01-10", "doctor": GP_S1, "lines": [{"code": "G", "quantity": 1.5}]}, "/lines/0/quantity"),
    ({"date": "2025-02-30", "doctor": GP_S1, "lines": [{"code": "G"}]}, "/date"),
    ({"date": "2025-01-10", "doctor": GP_S1, "lines": [{"code": "G"}], "colour": "blue"}, ""),
    ({"date": "2025-01-10", "doctor": {"specialty": "medecine_generale"}, "lines": [{"code": "G"}]}, "/doctor"),
])
def test_cli_price_bad_input_is_located_exit_2(tmp_path, payload, pointer):
    claim = tmp_path / "bad.json"
    claim.write_text(json.dumps(payload, indent=2))
    out = subprocess.run([sys.executable, "-m", "convmed", "price", str(claim)], capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert str(claim) in out.stderr and (pointer or "/") in out.stderr


def test_cli_price_invalid_json_names_line(tmp_path):
    claim = tmp_path / "bad.json"
    claim.write_text('{\n "date": "2025-01-10",\n "lines": [\n}')
    out = subprocess.run([sys.executable, "-m", "convmed", "price", str(claim)], capture_output=True, text=True)
    assert out.returncode == 2 and f"{claim}:4" in out.stderr and "Traceback" not in out.stderr


def _gl3_claim(with_patient_id: bool):
    claim = {"date": "2026-09-01", "doctor": {"id": "mt1", "specialty": "medecine_generale", "sector": "S1",
                                               "is_patient_mt": True},
             "patient": {"age_years": 85}, "context": {"medico_social_orientation": True},
             "lines": [{"code": "GL3"}], "history": [{"date": "2026-02-10", "code": "GL3"}]}
    if with_patient_id:
        claim["patient"]["id"] = "p80"
    return claim


@pytest.mark.parametrize("with_patient_id", [True, False])
def test_history_is_the_patients_own_even_without_ids(spec, with_patient_id):
    """A repeat GL3 is refused whether or not the claim and its history carry a patient id."""
    gl3 = line(price_claim(_gl3_claim(with_patient_id), spec))
    assert (gl3["status"], gl3["reason"]) == ("refused", "FREQUENCY_LIMIT")


def test_history_of_another_patient_does_not_count(spec):
    claim = _gl3_claim(True)
    claim["history"][0]["patient_id"] = "someone-else"
    assert line(price_claim(claim, spec))["status"] == "priced"


def test_parsed_spec_cache_never_serves_an_edited_file(tmp_path, monkeypatch, repo):
    # the cache is keyed by each file's content digest: an edit (even same size, same second) is parsed again
    import shutil

    from convmed.model import load_spec_uncached
    from convmed.pricing import price_claim

    monkeypatch.setenv("CONVMED_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "spec"
    shutil.copytree(repo / "spec", root)
    claim = {"date": "2025-01-10", "doctor": {"specialty": "medecine_generale", "sector": "S1"}, "lines": [{"code": "G"}]}
    assert price_claim(claim, load_spec_uncached(root))["total"] == "30.00"
    assert list((tmp_path / "cache").glob("spec-*.json"))  # written
    g = root / "acts" / "consultations" / "G.yaml"
    g.write_text(g.read_text(encoding="utf-8").replace('value: "30.00"', 'value: "31.00"'), encoding="utf-8")
    assert price_claim(claim, load_spec_uncached(root))["total"] == "31.00"
    # a damaged cache file only costs time
    for f in (tmp_path / "cache").glob("spec-*.json"):
        f.write_bytes(b"not a cache")
    assert price_claim(claim, load_spec_uncached(root))["total"] == "31.00"
    monkeypatch.setenv("CONVMED_NO_CACHE", "1")
    assert price_claim(claim, load_spec_uncached(root))["total"] == "31.00"

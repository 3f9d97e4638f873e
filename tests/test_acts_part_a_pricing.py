"""Unit tests of the generic pricing features added for Part A, on a small synthetic spec:
percent_cap (dépassement plafonné), declared (dépassement libre), limits with `when`, calendar_quarter."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from convmed.model import load_spec_uncached
from convmed.pricing import Pricer
from convmed.schemas import validate

REPO = Path(__file__).resolve().parent.parent
SRC = [{"seed": "004_43679c6e4e635b7a.txt", "path": ["test"], "quote": "test"}]


def _base(categories, clinical=None):
    item = {"id": "acte_de_base", "description": "acte de base", "categories": categories,
            "refusal": {"reason": "MISSING_BASE_ACT", "message": "sans acte de base"}, "status": "draft", "sources": SRC}
    if clinical:
        item["clinical"] = clinical
    return [item]


def _act(code, category, value, **extra):
    data = {"kind": "act", "code": code, "label": f"acte {code}", "category": category,
            "unit": extra.pop("unit", "EUR"),
            "values": [{"from": "2020-01-01", "value": value, "status": "draft", "sources": SRC}]}
    data.update(extra)
    return data


@pytest.fixture(scope="module")
def pricer(tmp_path_factory):
    root = tmp_path_factory.mktemp("spec")
    shutil.copy(REPO / "spec" / "meta.yaml", root / "meta.yaml")
    shutil.copytree(REPO / "spec" / "vocabulary", root / "vocabulary")
    (root / "rules" / "rounding").mkdir(parents=True)
    for name in ("line_amount.yaml", "depassement_cap_clinical.yaml", "depassement_cap_technical.yaml"):
        shutil.copy(REPO / "spec" / "rules" / "rounding" / name, root / "rules" / "rounding" / name)
    acts = root / "acts" / "t"
    acts.mkdir(parents=True)
    base = _base(["consultation", "acte_technique"], ["consultation"])
    limit_when = {"id": "stay", "description": "une par séjour si hospitalisé", "max": 1, "period": "stay",
                  "count_codes": ["XW"], "when": {"fact": "patient.hospitalised", "is": True},
                  "refusal": {"reason": "FREQUENCY_LIMIT", "message": "une par séjour"}, "status": "draft", "sources": SRC}
    limit_q = {"id": "quarter", "description": "une par trimestre", "max": 1, "period": "calendar_quarter",
               "count_codes": ["XQ"], "same": ["patient.id"],
               "refusal": {"reason": "FREQUENCY_LIMIT", "message": "une par trimestre"}, "status": "draft", "sources": SRC}
    for data in (_act("XC", "consultation", "30.00"), _act("XC2", "consultation", "23.00"), _act("XC4", "consultation", "40.00"),
                 _act("XT", "acte_technique", "23.10"), _act("XM", "majoration", "5.00"),
                 _act("XDA", "supplement", "17.5", unit="percent", pricing="percent_cap", base=base),
                 _act("XDE", "supplement", "0", pricing="declared", base=base),
                 _act("XW", "consultation", "10.00", limits=[limit_when]),
                 _act("XQ", "consultation", "10.00", limits=[limit_q])):
        assert validate(data, "spec/act", file=data["code"]) == []
        (acts / f"{data['code']}.yaml").write_text(yaml.safe_dump(json.loads(json.dumps(data)), allow_unicode=True), encoding="utf-8")
    return Pricer(load_spec_uncached(root))


def _claim(lines, **extra):
    claim = {"date": "2025-03-01", "doctor": {"specialty": "dermatologie", "sector": "S1"},
             "patient": {"id": "p"}, "lines": lines}
    claim.update(extra)
    return claim


def _status(out, i):
    line = out["lines"][i]
    return line["status"], line.get("amount") or line.get("reason")


@pytest.mark.parametrize("asked, expected", [("6.00", ("priced", "6.00")), ("6.01", ("refused", "DEPASSEMENT_CAP_EXCEEDED")),
                                             ("0.50", ("priced", "0.50"))])
def test_clinical_cap_rounds_the_total_up_to_the_euro(pricer, asked, expected):
    # 30 × 1.175 = 35.25 -> 36 : at most 6 €
    out = pricer.price(_claim([{"code": "XC"}, {"code": "XDA", "amount": asked}]))
    assert _status(out, 1) == expected


def test_clinical_cap_rounding_up(pricer):
    # 23 × 1.175 = 27.025 -> 28 (up, not half-up), cap 5
    out = pricer.price(_claim([{"code": "XC2"}, {"code": "XDA", "amount": "5.00"}]))
    assert _status(out, 1) == ("priced", "5.00")
    assert pricer.price(_claim([{"code": "XC2"}, {"code": "XDA", "amount": "5.01"}]))["lines"][1]["status"] == "refused"
    # 40 × 1.175 = 47 exactly: a total already on the euro is not raised, cap 7
    assert _status(pricer.price(_claim([{"code": "XC4"}, {"code": "XDA", "amount": "7.00"}])), 1) == ("priced", "7.00")
    assert _status(pricer.price(_claim([{"code": "XC4"}, {"code": "XDA", "amount": "7.01"}])), 1) == \
        ("refused", "DEPASSEMENT_CAP_EXCEEDED")


def test_technical_cap_is_17_5_percent_rounded_down_to_the_cent(pricer):
    # 23.10 × 17.5 % = 4.0425 -> 4.04 (never above 17.5 %), no euro rounding for a technical act
    assert _status(pricer.price(_claim([{"code": "XT"}, {"code": "XDA", "amount": "4.04"}])), 1) == ("priced", "4.04")
    assert _status(pricer.price(_claim([{"code": "XT"}, {"code": "XDA", "amount": "4.05"}])), 1) == \
        ("refused", "DEPASSEMENT_CAP_EXCEEDED")
    trace = pricer.price(_claim([{"code": "XT"}, {"code": "XDA", "amount": "4.04"}]))["lines"][1]["trace"]
    assert "rules.rounding.depassement_cap_technical" in [s for step in trace for s in [step.get("detail", "")]][-1]


def test_technical_cap_without_its_rounding_rule_is_a_gap(tmp_path):
    # the rounding of the technical cap is spec data: without the rule the oracle reports a gap, it does not guess
    root = tmp_path / "spec"
    shutil.copytree(REPO / "spec" / "vocabulary", root / "vocabulary")
    shutil.copy(REPO / "spec" / "meta.yaml", root / "meta.yaml")
    acts = root / "acts" / "t"
    acts.mkdir(parents=True)
    base = _base(["consultation", "acte_technique"], ["consultation"])
    for data in (_act("XT", "acte_technique", "23.10"),
                 _act("XDA", "supplement", "17.5", unit="percent", pricing="percent_cap", base=base)):
        (acts / f"{data['code']}.yaml").write_text(yaml.safe_dump(json.loads(json.dumps(data)), allow_unicode=True),
                                                   encoding="utf-8")
    out = Pricer(load_spec_uncached(root)).price(_claim([{"code": "XT"}, {"code": "XDA", "amount": "4.04"}]))
    assert _status(out, 1) == ("unknown", "VALUE_GAP")


def test_base_line_selects_the_act(pricer):
    lines = [{"code": "XT"}, {"code": "XC"}, {"code": "XDA", "amount": "6.00", "base_line": 1}]
    assert _status(pricer.price(_claim(lines)), 2) == ("priced", "6.00")
    lines[2]["base_line"] = 0  # 6 € > 17.5 % of 23.10
    assert _status(pricer.price(_claim(lines)), 2) == ("refused", "DEPASSEMENT_CAP_EXCEEDED")


def test_base_must_be_a_main_act_and_be_priced(pricer):
    assert _status(pricer.price(_claim([{"code": "XDA", "amount": "1.00"}])), 0) == ("refused", "MISSING_BASE_ACT")
    out = pricer.price(_claim([{"code": "XC"}, {"code": "XM"}, {"code": "XDA", "amount": "1.00", "base_line": 1}]))
    assert _status(out, 2) == ("refused", "MISSING_BASE_ACT")
    out = pricer.price(_claim([{"code": "XC"}, {"code": "XDA"}]))
    assert _status(out, 1) == ("refused", "MISSING_AMOUNT")


def test_declared_amount_is_taken_as_is(pricer):
    out = pricer.price(_claim([{"code": "XC"}, {"code": "XDE", "amount": "45.50"}]))
    assert _status(out, 1) == ("priced", "45.50") and out["total"] == "75.50"


def test_limit_with_when_counts_only_matching_lines(pricer):
    history = [{"date": "2025-02-01", "code": "XW", "stay_id": "s1"}]
    hosp = {"id": "p", "hospitalised": True, "stay_id": "s1"}
    assert _status(pricer.price(_claim([{"code": "XW"}], patient=hosp, history=history)), 0) == ("refused", "FREQUENCY_LIMIT")
    not_hosp = {"id": "p", "hospitalised": False, "stay_id": "s1"}
    assert _status(pricer.price(_claim([{"code": "XW"}], patient=not_hosp, history=history)), 0) == ("priced", "10.00")


@pytest.mark.parametrize("date, expected", [("2025-03-31", "refused"), ("2025-04-01", "priced")])
def test_calendar_quarter(pricer, date, expected):
    history = [{"date": "2025-01-01", "code": "XQ", "patient_id": "p"}]
    out = pricer.price(_claim([{"code": "XQ"}], date=date, history=history))
    assert out["lines"][0]["status"] == expected

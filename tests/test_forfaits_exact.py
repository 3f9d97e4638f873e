"""Forfait amounts are exact (spec/README.md « Forfaits »: the sources give no rounding, gap G-2): computed with
fractions, written as their finite decimal expansion, and rounded — once, at the end, by the spec's rule
rules.rounding.forfait_amount, traced — only when no finite expansion exists. No formula performs an inexact
Decimal operation on any vector of the suite."""

from __future__ import annotations

import decimal
import json

from convmed.conformance.vectors import load_suite
from convmed.forfaits import compute
from convmed.money import exact_text, finite_decimal
from fractions import Fraction


def _fpmt(patients, tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in patients) + "\n")
    return compute({"scheme": "fpmt", "year": 2018, "doctor": {"sector": "S1"}, "patients_file": {"path": str(path)}})


def test_finite_decimal_is_exact_or_none():
    assert finite_decimal(Fraction(2133, 200)) == decimal.Decimal("10.665")
    assert finite_decimal(Fraction(1, 3)) is None
    assert exact_text(Fraction(100, 3)) == "100/3" and exact_text(Fraction(79, 6)) == "79/6"


def test_a_cmuc_majoration_with_a_finite_expansion_is_exact(tmp_path):
    # 002: majoration = ½ (taux du médecin − 7 %) du forfait ; 1 patient CMU-C of 3 (100/3 %), forfait 70 + 6 + 5 = 81 €:
    # 81 × (100/3 − 7) / 2 / 100 = 2133/200 = 10.665 exactly (the 28-digit quotient printed 10.66499…)
    out = _fpmt([{"id": "a", "age": 82, "ald": [8], "c2s": True}, {"id": "b", "birth_date": "2012-01-01"},
                 {"id": "c", "birth_date": "2011-12-31"}], tmp_path)
    maj = out["components"][1]
    assert maj["amount"] == "10.665" and maj["details"]["rate_percent"] == "79/6"
    assert maj["details"]["doctor_share_percent"] == "100/3"
    assert out["total"] == "91.665"   # the sum of the printed components


def test_an_amount_without_a_finite_expansion_is_rounded_once_by_the_spec_rule(tmp_path):
    # 6 adults (1 CMU-C) + 1 child: 36 € × (100/7 − 7) / 2 / 100 = 459/350 = 1.3114… → 1.31, traced with its rule
    out = _fpmt([{"id": f"p{i}", "age": 40, "c2s": i == 0} for i in range(6)] + [{"id": "k", "age": 3}], tmp_path)
    assert out["components"][1]["amount"] == "1.31"
    steps = [s for s in out["trace"] if s.get("values", {}).get("rule") == "rules.rounding.forfait_amount"]
    assert steps and steps[0]["values"]["exact"] == "459/350"


def test_no_forfait_vector_performs_an_inexact_decimal_operation():
    suite, _ = load_suite(None, strict=False)
    cases = [c for c in suite.cases if c.kind == "forfait"]
    assert len(cases) > 300
    with decimal.localcontext() as ctx:
        ctx.traps[decimal.Inexact] = True
        for case in cases:
            try:
                compute(case.input)
            except decimal.Inexact as exc:   # pragma: no cover - the failure names the vector
                raise AssertionError(f"{case.id}: inexact Decimal operation") from exc
            except Exception:  # noqa: BLE001 - vectors of bad input refuse them; only Inexact matters here
                pass

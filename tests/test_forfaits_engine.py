"""Forfaits engine: acceptance values of the seeds, dates, refusals, trace, gaps, spec integrity."""

from decimal import Decimal

import pytest

from convmed.errors import ConvmedError
from convmed.forfaits import compute, formulas
from convmed.forfaits.engine import find_scheme


def fmt_input(patients, doctor=None, **when):
    return {"scheme": "fmt", **(when or {"year": 2026}), "doctor": doctor or {"sector": "S1", "birth_date": "1980-01-01"},
            "patients": patients}


def comp(result, cid):
    return next(c for c in result["components"] if c["id"] == cid)


# -- acceptance: the seeds' worked examples ---------------------------------------------------------
def test_w1_82_year_old_ald_patient_socle_is_100(spec):
    # 000: « Pour un patient de 82 ans en ALD, le médecin percevra ... 100 € par an »
    r = compute(fmt_input([{"age": 82, "ald": [8], "sex": "F", "seen_last_two_years": True}]), spec)
    assert comp(r, "socle")["amount"] == "100.00"
    assert r["total"] == "100.00" and r["complete"] is True
    assert [p["amount"] for p in r["payments"]] == ["25.00"] * 4
    assert [p["period"] for p in r["payments"]] == ["2027-04", "2027-06", "2027-09", "2027-11"]


def test_w6_cmuc_15_against_7_gives_plus_4_percent(spec):
    # 002: « dont 15 % de la patientèle médecin traitant est bénéficiaire de la CMU-C, voit son forfait patientèle augmenté de 4 % »
    r = compute({"scheme": "fpmt", "date": "2018-01-01", "doctor": {"sector": "S1"},
                 "inputs": {"cmuc_share": "15", "counts": {"ald_80_plus": 10}}}, spec)
    maj = comp(r, "majoration_cmuc")
    assert maj["details"]["rate_percent"] == "4"
    assert maj["amount"] == "28.00"          # 4 % of 10 × 70 €
    assert r["total"] == "728.00"


def test_w7_rosp_indicator_20_points_at_50_percent_gives_70(spec):
    # 002: « 20 x 50 % = 10 points (soit 10 x 7 € = 70 €) »
    r = compute({"scheme": "rosp", "year": 2022, "doctor": {"sector": "S1"},
                 "inputs": {"indicators": {"flu_65_plus": "50"}, "patientele_size": 800}}, spec)
    assert r["total"] == "70.00" and r["complete"]


def test_w10_forfait_structure_250_points_gives_1750(spec):
    # 002: « 250 points pour 2017, soit jusqu’à 1 750 € »
    r = compute({"scheme": "structure", "year": 2017, "doctor": {"sector": "S1"},
                 "inputs": {"volet1_met": True, "volet2": ["dematerialisation", "coding", "coordination", "patient_services", "students"]}}, spec)
    assert r["total"] == "1750.00"
    assert comp(r, "volet1")["details"]["points"] == "175" and comp(r, "volet2")["details"]["points"] == "75"


# -- dates -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scheme,inputs", [
    ("fpmt", {"cmuc_share": "0", "counts": {"no_ald_7_79": 1}}),
    ("rosp", {"points": "10", "patientele_size": 800}),
    ("structure", {"volet1_met": False}),
])
def test_2016_schemes_end_on_31_december_2025(spec, scheme, inputs):
    base = {"scheme": scheme, "doctor": {"sector": "S1"}, "inputs": inputs}
    assert compute({**base, "date": "2025-12-31"}, spec)["status"] != "refused"
    after = compute({**base, "date": "2026-01-01"}, spec)
    assert after["status"] == "refused" and after["reason"] == "SCHEME_NOT_IN_FORCE"
    assert compute({**base, "year": 2026}, spec)["reason"] == "SCHEME_NOT_IN_FORCE"


def test_year_means_rules_in_force_on_31_december(spec):
    r = compute(fmt_input([{"age": 82, "ald": [8], "sex": "M", "seen_last_two_years": True}], year=2026), spec)
    assert r["as_of"] == "2026-12-31" and r["year"] == 2026
    r = compute(fmt_input([{"age": 82, "ald": [8], "sex": "M", "seen_last_two_years": True}], date="2026-03-01"), spec)
    assert r["as_of"] == "2026-03-01" and r["year"] == 2026


def test_year_and_date_together_are_refused(spec):
    with pytest.raises(ConvmedError):
        compute({**fmt_input([]), "date": "2026-01-01"}, spec)


# -- trace and explanation ---------------------------------------------------------------------------
def test_trace_cites_parameters_with_dates_sources_and_conflicts(spec):
    r = compute(fmt_input([{"age": 50, "ald": [30], "sex": "M", "seen_last_two_years": True}]), spec)
    step = next(s for s in r["trace"] if s.get("id") == "forfaits.fmt.socle.ald_under_80")
    assert step["value"] == "55.00" and step["from"] == "2026-01-01" and step["status"] == "signed"
    assert step["conflict"] == "C-23"
    assert any(src["seed"].startswith("000_") for src in step["sources"])
    assert any(s["step"] == "requirement" and s["id"].endswith("#sector") and s["result"] is True for s in r["trace"])


def test_unknown_is_never_a_silent_zero(spec):
    # a patient without the "seen" information: the socle category is unknown
    r = compute(fmt_input([{"age": 50, "sex": "M"}]), spec)
    socle = comp(r, "socle")
    assert socle["status"] == "unknown" and socle["amount"] is None
    assert r["complete"] is False and r["status"] == "unknown"


def test_majoration_without_installation_date_is_unknown(spec):
    r = compute(fmt_input([{"age": 82, "ald": [8], "sex": "M", "seen_last_two_years": True}],
                          doctor={"sector": "S1", "zone": "ZIP", "birth_date": "1980-01-01"}), spec)
    assert comp(r, "majoration_zip_qpv")["amount"] == "10.00"
    assert comp(r, "majoration_primo")["reason"] == "MISSING_FACT"


def test_missing_doctor_age_makes_67_majoration_unknown(spec):
    r = compute(fmt_input([{"age": 82, "ald": [8], "sex": "M", "seen_last_two_years": True}], doctor={"sector": "S1"}), spec)
    assert comp(r, "majoration_67")["status"] == "unknown"


def test_mmr_two_doses_by_24_months_inclusive(spec):
    # 000: « au moins 2 doses entre la naissance et 24 mois inclus » ; enfants de 16 à 35 mois inclus
    child = {"birth_date": "2024-06-15", "sex": "F", "seen_last_two_years": True}   # 30 months on 31/12/2026
    ok = compute(fmt_input([{**child, "events": [{"type": "mmr_vaccine_delivery", "date": "2025-06-15"},
                                                  {"type": "mmr_vaccine_delivery", "date": "2026-07-14"}]}]), spec)
    late = compute(fmt_input([{**child, "events": [{"type": "mmr_vaccine_delivery", "date": "2025-06-15"},
                                                    {"type": "mmr_vaccine_delivery", "date": "2026-07-15"}]}]), spec)
    assert comp(ok, "prevention.i04_mmr")["amount"] == "5.00"      # 24 months and 29 days: still 24 completed months
    assert comp(late, "prevention.i04_mmr")["amount"] == "0.00"    # 25 completed months


# -- spec integrity of the forfaits -----------------------------------------------------------------
def test_every_scheme_has_a_registered_formula(spec):
    known = formulas()
    for c in spec.of_kind("scheme"):
        assert c.data["formula"] in known, c.id


def test_declared_parameters_exist(spec):
    for name in ("fmt", "fpmt", "mpa", "rosp", "structure"):
        scheme = find_scheme(spec, name)
        for pid in scheme.data["parameters"]:
            assert pid in spec.concepts or any(cid.startswith(pid + ".") for cid in spec.concepts), pid


def test_indicator_event_types_and_flags_are_in_the_vocabulary(spec):
    vocab = spec.vocabulary("care_events")

    seen = {"events": 0, "flags": 0}

    def walk(node):
        if isinstance(node, dict):
            if node.get("fact") == "patient.events":
                assert node["where"]["type"] in vocab, node
                seen["events"] += 1
            if node.get("fact") == "patient.flags":
                assert node["contains"] in vocab, node
                seen["flags"] += 1
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    inds = [c for c in spec.of_kind("indicator") if c.data["scheme"] == "fmt"]
    assert sorted(c.data["number"] for c in inds) == list(range(1, 16))
    for c in inds:
        walk(c.data)
    assert seen["events"] >= 15 and seen["flags"] >= 3   # the walk reads the criteria's own form


def test_fmt_socle_table_matches_the_signed_slide(spec):
    # 000 « Nouveau montant (2026) » column
    expected = {"ald_80_plus": "100", "no_ald_80_plus": "55", "ald_under_80": "55", "no_ald_75_79": "15",
                "no_ald_7_74": "5", "under_7": "15", "not_seen": "5"}
    for name, value in expected.items():
        entry = spec.concepts[f"forfaits.fmt.socle.{name}"].data["values"][-1]
        assert Decimal(entry["value"]) == Decimal(value) and entry["status"] == "signed"


def test_a_scheme_requirement_with_an_uncertain_start_reads_as_the_pricer_reads_it(spec, monkeypatch):
    """SEMANTIQUE § 1.4, one definition for acts and forfaits: before not_before the requirement is ignored,
    from not_before to the day before in_force_by a failure is DATE_UNCERTAIN (not a refusal, and not ignored as
    the forfait engine once read it), from in_force_by on a failure refuses."""
    scheme = find_scheme(spec, "fmt")
    active = next(r for r in scheme.data["requirements"] if r["id"] == "active")
    monkeypatch.setitem(active, "from", {"not_before": "2026-03-01", "in_force_by": "2026-09-01"})
    patients = [{"age": 82, "ald": [8], "sex": "F", "seen_last_two_years": True}]
    retired = {"sector": "S1", "birth_date": "1950-01-01", "activity_end_date": "2025-06-30"}
    before = compute(fmt_input(patients, retired, date="2026-02-15"), spec)
    uncertain = compute(fmt_input(patients, retired, date="2026-05-01"), spec)
    after = compute(fmt_input(patients, retired, date="2026-10-01"), spec)
    assert before["status"] != "refused"
    assert uncertain["status"] == "unknown" and uncertain["reason"] == "DATE_UNCERTAIN"
    assert after["status"] == "refused" and after["reason"] == "DOCTOR_NOT_ACTIVE"


def test_component_labels_are_the_schemes_own(spec):
    """scheme.yaml declares each component's label once (issue 20: labels were written in scheme.yaml and in
    the formulas and had drifted, e.g. « Aide maternité » against « Aide maternité, paternité ou adoption »):
    every result carries the declared label, the formula's specific wording kept as details.variant."""
    from convmed.conformance.vectors import load_suite

    suite, _ = load_suite()
    seen = 0
    for case in suite.cases:
        if case.kind != "forfait":
            continue
        result = compute(case.input, spec)
        declared = {d["id"]: d["label"] for d in find_scheme(spec, case.input["scheme"]).data.get("components", [])}
        for comp in result.get("components", []):
            if comp["id"] in declared:
                assert comp["label"] == declared[comp["id"]], (case.id, comp["id"])
                seen += 1
            else:
                assert any(comp["id"].startswith(k + ".") for k in declared), (case.id, comp["id"])
    assert seen > 100


def test_a_certain_refusal_of_a_scheme_wins_over_an_uncertain_one_and_a_missing_fact(spec, monkeypatch):
    """As the pricer (SEMANTIQUE § 3.3): the first uncertain failure does not decide while a later requirement
    certainly refuses (review of stop 26)."""
    scheme = find_scheme(spec, "installation_aid")
    reqs = {r["id"]: r for r in scheme.data["requirements"]}
    monkeypatch.setitem(reqs["sector"], "from", {"not_before": "2026-01-01", "in_force_by": "2026-12-31"})
    request = {"scheme": "installation_aid", "date": "2026-06-01",
               "doctor": {"sector": "S2", "zone": "none", "installation_date": "2026-03-01"},
               "inputs": {"first_liberal_installation": True}}
    r = compute(request, spec)
    assert r["status"] == "refused" and r["reason"] != "DATE_UNCERTAIN", r.get("reason")
    monkeypatch.setitem(request["doctor"], "zone", "ZIP")
    r = compute(request, spec)
    assert r["status"] == "unknown" and r["reason"] == "DATE_UNCERTAIN"

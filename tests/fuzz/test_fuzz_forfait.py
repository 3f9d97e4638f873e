"""Fuzz `convmed forfait`: the request (JSON) and the patientèle (JSON Lines, CSV, read as a stream).

Invalid by construction (schemas/forfait-input.schema.json, doctor-profile, patient): exit 2, located.
Per-scheme `inputs` are open (each scheme documents what it reads): hostile values there must end in
a result or a located refusal (0 or 2), never an internal error. In a patient file with one bad line,
the message must give that line's number.
"""

from __future__ import annotations

import copy
import json

from hypothesis import given, note
from hypothesis import strategies as st

from .harness import check, examples, fuzz_settings, located_problems, run_cli
from .strategies import (Raw, any_json, bad_json_text, deep_value, dumps, huge_string, impossible_date,
                         int_out_of_range, malformed_date, malformed_money, not_in, wrong_type_for)

REQUESTS = [
    {"scheme": "fpmt", "year": 2018, "doctor": {"sector": "S1"}, "inputs": {"cmuc_share": "15", "counts": {"no_ald_7_79": 100}}},
    {"scheme": "rosp", "year": 2020, "doctor": {"sector": "S1"}, "inputs": {"indicators": {"flu_65_plus": "50"}, "patientele_size": 800}},
    {"scheme": "assistant_medical", "year": 2025, "doctor": {"sector": "S1", "specialty": "medecine_generale"},
     "inputs": {"etp_option": "1", "contract_year": 1, "signature_date": "2025-09-01", "percentile": 60}},
    {"scheme": "sobriety_bonus", "year": 2025, "doctor": {"sector": "S1", "specialty": "medecine_generale"},
     "inputs": {"ratio": "0.80", "decile_3": "0.90", "decile_6": "1.05", "pmt": 1200, "mean_pmt": "1000",
                "patients_consulted": {"previous": 500, "current": 520}}},
    {"scheme": "demographic_contracts", "year": 2022, "doctor": {"sector": "S1", "specialty": "medecine_generale"},
     "inputs": {"contract": "CAIM", "signature_date": "2022-04-01", "days_per_week": "4"}},
    {"scheme": "vsm", "date": "2024-06-30", "doctor": {"sector": "S1", "specialty": "medecine_generale"},
     "inputs": {"vsm_ald_share_percent": "90", "vsm_feed_dmp": True, "pmt": 800, "results_date": "2024-06-30",
                "structured_vsm": 0, "total_vsm_dmp": 0}},
    {"scheme": "fmt", "doctor": {"sector": "S1", "birth_date": "1976-06-15"}, "year": 2026,
     "patients": [{"sex": "M", "id": "a", "age": 82, "ald": [8], "seen_last_two_years": True}]},
    {"scheme": "advanced_consultations", "year": 2026, "doctor": {"sector": "S1", "specialty": "cardiologie", "zone": "none"},
     "inputs": {"opposable_tariffs": True, "half_days_by_month": {"2026-03": 5}}},
    {"scheme": "sas_regulation", "year": 2025, "doctor": {"sector": "S1", "specialty": "medecine_generale"}, "inputs": {"hours": "12"}},
    {"scheme": "optam", "year": 2024, "doctor": {"sector": "S2", "option": "OPTAM", "specialty": "cardiologie"},
     "inputs": {"reimbursable_fees": "100000", "opposable_rate_percent": "40", "overbilling_rate_percent": "30",
                "commitment_overbilling_percent": "30", "commitment_opposable_percent": "40"}},
    {"scheme": "social_contributions", "year": 2025, "doctor": {"sector": "S1", "specialty": "medecine_generale"},
     "inputs": {"conventioned_revenue": "100000", "fees_total": "120000", "overbilling": "0", "pass": "47000",
                "contributions": {"health": "6500", "family": "3000", "pcv": "6000"}}},
    {"scheme": "parental_aid", "year": 2025, "doctor": {"sector": "S1", "specialty": "medecine_generale"},
     "inputs": {"leave": "maternity", "half_days_per_week": 8, "leave_months": 4}},
    {"scheme": "collective_payment", "year": 2025, "doctor": {"sector": "S1", "specialty": "medecine_generale"},
     "inputs": {"team": {"gps": 3, "nurses": 1, "pmt": 250}}},
]

DOCTOR_KEYS = {"id", "specialty", "sector", "option", "role", "zone", "qpv", "birth_date", "age_at_year_end",
               "first_installation_date", "installation_date", "activity_end_date", "is_mt", "territory"}
TOP_KEYS = {"$schema", "scheme", "year", "date", "doctor", "inputs", "patients", "patients_file"}

BAD_DOCUMENTED = [
    ("year", int_out_of_range(2000, 2100)),
    ("date", malformed_date()),
    ("doctor", wrong_type_for("object")),
    ("doctor/sector", not_in(["S1", "S2", "DP"])),
    ("doctor/option", not_in(["none", "OPTAM", "OPTAM_ACO", "OPTAM_CO", "CAS"])),
    ("doctor/zone", not_in(["ZIP", "ZAC", "none"])),
    ("doctor/qpv", wrong_type_for("bool")), ("doctor/is_mt", wrong_type_for("bool")),
    ("doctor/birth_date", malformed_date()), ("doctor/installation_date", malformed_date()),
    ("doctor/activity_end_date", malformed_date()), ("doctor/first_installation_date", malformed_date()),
    ("doctor/age_at_year_end", int_out_of_range(18, 110)),
    ("doctor/territory", not_in(["metropole", "guadeloupe", "martinique", "guyane", "reunion", "mayotte"])),
    ("inputs", wrong_type_for("object")),
    ("inputs/contract_year", int_out_of_range(1, None)), ("inputs/half_days", int_out_of_range(0, None)),
    ("inputs/patientele_size", int_out_of_range(0, None)),
    ("inputs/etp_option", malformed_money(negative_is_wrong=False)),
    ("inputs/cmuc_share", malformed_money(negative_is_wrong=False)),
    ("inputs/counts", wrong_type_for("object")),
    ("inputs/counts/no_ald_7_79", int_out_of_range(0, None)),
    ("patients", wrong_type_for("array")),
    ("patients_file", st.one_of(wrong_type_for("object"), st.just({}), st.just({"path": ""}),
                                st.just({"path": "p.jsonl", "format": "xml"}), st.just({"path": "p", "x": 1}))),
]


def _put(doc: dict, path: str, value) -> None:
    parts = path.split("/")
    cur = doc
    for p in parts[:-1]:
        if not isinstance(cur.get(p), dict):
            cur[p] = {}
        cur = cur[p]
    cur[parts[-1]] = value


@st.composite
def bad_request(draw) -> tuple[str, bytes, str]:
    request = copy.deepcopy(draw(st.sampled_from(REQUESTS)))
    how = draw(st.sampled_from(["field"] * 4 + ["unknown", "doctor_unknown", "missing", "both", "patient", "text"]))
    if how == "field":
        path, strategy = draw(st.sampled_from(BAD_DOCUMENTED))
        if path == "date":
            request.pop("year", None)
        _put(request, path, draw(strategy))
        what = f"/{path} invalid"
    elif how == "unknown":
        key = draw(st.text(min_size=1, max_size=30).filter(lambda k: k not in TOP_KEYS))
        request[key] = draw(st.one_of(st.integers(), st.text(max_size=5), deep_value()))
        what = f"unknown key {key!r}"
    elif how == "doctor_unknown":
        key = draw(st.text(min_size=1, max_size=30).filter(lambda k: k not in DOCTOR_KEYS))
        request["doctor"][key] = 1
        what = f"unknown doctor key {key!r}"
    elif how == "missing":
        del request["doctor"]
        what = "no doctor"
    elif how == "both":
        request["year"], request["date"] = 2025, "2025-06-01"
        what = "year and date"
    elif how == "patient":
        rec = draw(bad_patient_record())
        request["patients"] = [{"age": 40}, rec[1]]
        what = f"patients/1: {rec[0]}"
    else:
        what, raw = draw(bad_json_text(request))
        return what, raw, request["scheme"]
    return what, dumps(request).encode(), request["scheme"]


@st.composite
def bad_patient_record(draw):
    rec = {"id": "p", "age": 50}
    how = draw(st.sampled_from(["age", "birth", "sex", "ald", "bool", "flags", "events", "unknown", "none", "type"]))
    if how == "age":
        rec["age"] = draw(int_out_of_range(0, 130))
    elif how == "birth":
        del rec["age"]
        rec["birth_date"] = draw(st.one_of(impossible_date(), st.sampled_from(["1980-1-1", "1980/01/01", ""]),
                                           st.integers(), st.none()))
    elif how == "sex":
        rec["sex"] = draw(not_in(["F", "M"]))
    elif how == "ald":
        rec["ald"] = draw(st.one_of(st.just([0]), st.just([33]), st.just([8, 8]), st.just(["8"]), st.just(8),
                                    st.just([Raw("8.5")]), st.just([True])))
    elif how == "bool":
        rec[draw(st.sampled_from(["c2s", "seen_last_two_years"]))] = draw(wrong_type_for("bool"))
    elif how == "flags":
        rec["flags"] = draw(st.one_of(st.just("x"), st.just(["A"]), st.just([1]), st.just(["a b"])))
    elif how == "events":
        rec["events"] = draw(st.sampled_from([
            "x", [1], [{"type": "vaccin"}], [{"type": "vaccin", "date": "2025-02-29"}],
            [{"type": "Vaccin", "date": "2025-01-01"}], [{"type": "v", "date": "2025-01-01", "count": 0}],
            [{"type": "v", "date": "2025-01-01", "atc": "r03"}], [{"type": "v", "date": "2025-01-01", "x": 1}]]))
    elif how == "unknown":
        key = draw(st.text(min_size=1, max_size=20).filter(lambda k: k not in
                   {"id", "birth_date", "age", "sex", "ald", "c2s", "seen_last_two_years", "last_seen_date", "flags", "events"}))
        rec[key] = 1
    elif how == "none":
        del rec["age"]
    else:
        return "not an object", draw(st.one_of(st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2), st.none()))
    return how, rec


@fuzz_settings(examples(ci=150, local=50, full=2500))
@given(case=bad_request())
def test_malformed_forfait_request_is_refused_with_location(tmp_path_factory, case):
    what, raw, scheme = case
    note(what)
    path = tmp_path_factory.getbasetemp() / "fuzz-forfait.json"
    path.write_bytes(raw)
    check(run_cli(["forfait", scheme, path], entry="forfait"), expect=2, files=[path])


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, path + (i,))
    yield path


@fuzz_settings(examples(ci=100, local=40, full=2000))
@given(base=st.sampled_from([r for r in REQUESTS if r.get("inputs")]), data=st.data())
def test_hostile_scheme_inputs_end_in_a_result_or_a_located_refusal(tmp_path_factory, base, data):
    request = copy.deepcopy(base)
    paths = [p for p in _leaves(request["inputs"]) if p]
    path = data.draw(st.sampled_from(paths))
    value = data.draw(st.one_of(malformed_money(), any_json(), huge_string(1), int_out_of_range(0, None),
                                st.integers(-10**20, 10**20), malformed_date(), deep_value()))
    cur = request["inputs"]
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    note(f"/inputs/{'/'.join(map(str, path))} = {value!r:.200}")
    file = tmp_path_factory.getbasetemp() / "fuzz-inputs.json"
    file.write_text(dumps(request))
    result = run_cli(["forfait", request["scheme"], file], entry="forfait inputs")
    check(result, allowed={0, 2}, files=[file])
    if result.rc == 0:
        for token in ("NaN", "Infinity", "sNaN"):
            assert f'"{token}' not in result.out, "a non-finite number in a result\n" + result.describe()


def _patient_line(rec, fmt: str) -> str:
    if fmt == "jsonl":
        return dumps(rec)
    cols = ["id", "birth_date", "age", "sex", "ald", "c2s", "seen_last_two_years", "last_seen_date", "flags", "events"]
    return ",".join(str(rec.get(c, "")) for c in cols)


CSV_HEADER = "id,birth_date,age,sex,ald,c2s,seen_last_two_years,last_seen_date,flags,events"

BAD_CSV_CELLS = {
    "age": ["x", "-1", "131", "4.5", "²", "٣", "1e2", " 4 0"],
    "birth_date": ["2025-02-29", "1980-13-01", "01/02/1980", "1980-1-1"],
    "sex": ["H", "f", "X"],
    "ald": ["0", "33", "8;8", "a", "8;;9", "²"],
    "c2s": ["peut-être", "2", "TRUE!"],
    "last_seen_date": ["2023-02-29", "x"],
    "flags": ["A", "a b", ";"],
    "events": ["vaccin", "vaccin@2025-02-29", "vaccin@2025-01-01@r03", "vaccin@2025-01-01@R03@0", "@2025-01-01",
               "vaccin@2025-01-01@R03@x@y"],
}


@fuzz_settings(examples(ci=80, local=30, full=1500))
@given(fmt=st.sampled_from(["jsonl", "csv"]), n=st.integers(0, 30), data=st.data())
def test_one_bad_patient_line_is_reported_by_its_number(tmp_path_factory, fmt, n, data):
    lines = [_patient_line({"id": f"p{i}", "age": 20 + i % 70, "sex": "F"}, fmt) for i in range(n)]
    k = data.draw(st.integers(0, n))
    if fmt == "jsonl":
        kind = data.draw(st.sampled_from(["record", "json", "utf8", "nan", "duplicate"]))
        if kind == "record":
            bad = dumps(data.draw(bad_patient_record())[1])
        elif kind == "json":
            bad = data.draw(st.sampled_from(['{"age": 40', "{'age': 40}", '{"age": 40}}', "x", '{"age": 40,}']))
        elif kind == "utf8":
            bad = '{"id": "\udcff", "age": 40}'
        elif kind == "nan":
            bad = '{"id": "a", "age": NaN}'
        else:
            bad = '{"id": "a", "age": 40, "age": 41}'
    else:
        col = data.draw(st.sampled_from(sorted(BAD_CSV_CELLS)))
        rec = {"id": "p", "age": 40}
        if col == "birth_date":
            rec.pop("age")
        rec[col] = data.draw(st.sampled_from(BAD_CSV_CELLS[col]))
        kind = f"csv {col}={rec[col]!r}"
        bad = _patient_line(rec, fmt)
        if data.draw(st.booleans()):
            bad, kind = bad + ",extra", "csv extra cell"
    lines.insert(k, bad)
    header = [CSV_HEADER] if fmt == "csv" else []
    text = "\n".join(header + lines) + "\n"
    raw = text.encode("utf-8", "surrogateescape")
    want = k + 1 + len(header)
    note(f"{kind} at line {want}: {bad!r:.200}")
    path = tmp_path_factory.getbasetemp() / f"fuzz-patients.{fmt}"
    path.write_bytes(raw)
    request = tmp_path_factory.getbasetemp() / "fuzz-fmt.json"
    request.write_text(json.dumps({"scheme": "fmt", "year": 2026, "doctor": {"sector": "S1"}}))
    result = check(run_cli(["forfait", "fmt", request, "--patients", path], entry="forfait patients"),
                   expect=2, files=[path])
    lines_reported = {int(m["line"]) for m in located_problems(result.err) if m["line"]}
    assert lines_reported == {want}, f"bad line {want}, reported {lines_reported}\n" + result.describe()


@fuzz_settings(examples(ci=40, local=20, full=500))
@given(value=any_json())
def test_arbitrary_json_request(tmp_path_factory, value):
    path = tmp_path_factory.getbasetemp() / "fuzz-any-forfait.json"
    path.write_text(json.dumps(value))
    check(run_cli(["forfait", "fmt", path, "--year", "2026"], entry="forfait"), expect=2, files=[path])

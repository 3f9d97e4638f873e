"""`convmed batch forfait fmt`: the same FMT result as `convmed forfait fmt` (the reference engine) on the same
patientèle, whether it comes as JSON Lines, CSV or Parquet, now computed columnar (convmed.batch.fmt_columnar).

Agreement is checked on the whole result (components, details, payments, patient summary, trace), on the
FMT conformance vectors and on generated patientèles (convmed.forfaits.synthetic, and a generator of edge
records below: ages and windows on their bounds). Bad records give the reference's located errors."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

import pytest

pl = pytest.importorskip("polars")

import convmed.cli as cli  # noqa: E402
from convmed.batch.forfait import fmt_file  # noqa: E402
from convmed.errors import ConvmedError  # noqa: E402
from convmed.forfaits.engine import compute  # noqa: E402
from convmed.forfaits.synthetic import patient as synthetic_patient  # noqa: E402
from convmed.forfaits.synthetic import write_jsonl  # noqa: E402

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent
DOCTOR = {"sector": "S1", "zone": "ZIP", "first_installation_date": "2025-03-01", "birth_date": "1958-06-30"}


def _write_jsonl(path, records):
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")


def _write_csv(path, records):
    cols = ["id", "birth_date", "age", "sex", "ald", "c2s", "seen_last_two_years", "last_seen_date", "flags", "events"]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(",".join(cols) + "\n")
        for r in records:
            row = []
            for c in cols:
                v = r.get(c)
                if v is None:
                    row.append("")
                elif c == "ald":
                    row.append(";".join(str(a) for a in v))
                elif c == "flags":
                    row.append(";".join(v))
                elif c == "events":
                    row.append(";".join("@".join([e["type"], e["date"]] + ([e["atc"]] if "atc" in e else [])
                                                  + ([str(e["count"])] if "count" in e else [])) for e in v))
                elif isinstance(v, bool):
                    row.append("true" if v else "false")
                else:
                    row.append(str(v))
            fh.write(",".join(row) + "\n")


def _write_parquet(path, records):
    schema = {"id": pl.String, "birth_date": pl.String, "age": pl.Int64, "sex": pl.String, "ald": pl.List(pl.Int64),
              "c2s": pl.Boolean, "seen_last_two_years": pl.Boolean, "last_seen_date": pl.String,
              "flags": pl.List(pl.String),
              "events": pl.List(pl.Struct({"type": pl.String, "date": pl.String, "atc": pl.String, "count": pl.Int64}))}
    pl.DataFrame(records, schema=schema).write_parquet(path)


def _request_file(tmp_path, doctor, name="req.json"):
    p = tmp_path / name
    p.write_text(json.dumps({"scheme": "fmt", "doctor": doctor}), encoding="utf-8")
    return str(p)


def _agree(tmp_path, records, *, doctor=DOCTOR, year=2026, on=None, formats=("jsonl", "parquet"), chunk_rows=64,
           min_columnar=0.0):
    """The batch result equals the reference engine's on the same records, for every format."""
    when = {"date": on} if on else {"year": year}
    expected = compute({"scheme": "fmt", "doctor": doctor, **when, "patients": records})
    req = _request_file(tmp_path, doctor)
    for fmt in formats:
        path = tmp_path / f"p.{fmt}"
        {"jsonl": _write_jsonl, "csv": _write_csv, "parquet": _write_parquet}[fmt](path, records)
        stats: dict = {}
        got = fmt_file(str(path), request_path=req, year=None if on else year, on=on, chunk_rows=chunk_rows,
                       stats=stats)
        assert got == expected, fmt
        if records and expected.get("patients"):
            assert stats["records"] == len(records)
            assert stats["per_record"] <= (1 - min_columnar) * len(records), (fmt, stats)
    return expected


# ------------------------------------------------------------------------------------- conformance vectors
def _fmt_cases():
    data = json.loads((ROOT / "conformance_tests" / "v1" / "forfaits-fmt.json").read_text(encoding="utf-8"))
    return [c for c in data["cases"] if c.get("kind") == "forfait" and c["input"].get("patients")]


@pytest.mark.parametrize("case", _fmt_cases(), ids=lambda c: c["id"])
def test_conformance_vector_patienteles_agree(tmp_path, case):
    inp = case["input"]
    _agree(tmp_path, inp["patients"], doctor=inp["doctor"], year=inp.get("year"), on=inp.get("date"),
           formats=("jsonl", "parquet", "csv"), chunk_rows=1)


# ------------------------------------------------------------------------------------- generated patientèles
def _edge_patient(rng: random.Random, i: int, year: int) -> dict:
    """Records on the bounds the FMT criteria test: ages at 31/12 and at the event, windows, campaign starts."""
    ref = date(year, 12, 31)
    months_ago = rng.choice([0, 5, 6, 8, 10, 12, 16, 21, 22, 23, 24, 26, 35, 37, 38])
    if rng.random() < 0.5:
        years = rng.choice([2, 3, 6, 7, 10, 11, 14, 15, 18, 24, 25, 29, 30, 44, 45, 49, 50, 64, 65, 66, 74, 75, 79, 80])
        month = rng.choice([1, 2, 6, 12])
        birth = date(year - years, month, rng.choice([1, 15, 28]) if month != 12 else rng.choice([1, 30, 31]))
    else:
        y, m = divmod(year * 12 + 11 - months_ago, 12)
        day = rng.choice([1, 15, 28, 29, 30, 31])
        while True:
            try:
                birth = date(y, m + 1, day)
                break
            except ValueError:
                day -= 1
    if rng.random() < 0.03:
        birth = date(2024, 2, 29)
    rec: dict = {"id": f"e{i}"}
    if rng.random() < 0.08:
        rec["age"] = max(0, min(130, ref.year - birth.year - 1))          # age only: per-record path
    else:
        rec["birth_date"] = birth.isoformat()
    if rng.random() < 0.95:
        rec["sex"] = rng.choice("FM")
    if rng.random() < 0.3:
        rec["ald"] = sorted(rng.sample([1, 3, 5, 8, 13, 19, 21, 22, 23, 24, 30, 31], rng.randint(1, 3)))
    if rng.random() < 0.15:
        rec["c2s"] = rng.random() < 0.8
    r = rng.random()
    if r < 0.6:
        rec["seen_last_two_years"] = rng.random() < 0.85
    elif r < 0.9:
        rec["last_seen_date"] = rng.choice([date(year - 2, 12, 31), date(year - 2, 12, 30), date(year, 6, 1),
                                            date(year + 1, 1, 1), date(year - 3, 1, 1)]).isoformat()
    if rng.random() < 0.2:
        rec["flags"] = rng.sample(["mastectomy_bilateral_total", "hysterectomy_total", "mici", "other_flag"],
                                  rng.randint(1, 2))
    events = []
    for _ in range(rng.randint(0, 6)):
        kind = rng.random()
        if kind < 0.15:
            d = rng.choice([date(year, 4, 1), date(year, 3, 31), date(year - 1, 4, 1), ref, ref + timedelta(days=1)])
            ev = {"type": rng.choice(["flu_vaccine_delivery", "flu_vaccine_administration",
                                      "covid_vaccine_administration"]), "date": d.isoformat()}
        elif kind < 0.35:
            d = ref - timedelta(days=rng.randint(0, 400))
            ev = {"type": "drug_delivery", "date": d.isoformat(), "atc": rng.choice(["R03AC02", "A10BA02", "N02BE01"])}
            if rng.random() < 0.3:
                ev["count"] = rng.randint(1, 4)
        elif kind < 0.55:
            # an event at a chosen age of the patient (age-at-event bounds)
            months = rng.choice([8, 9, 10, 11, 12, 13, 22, 24, 26, 27, 120, 168, 180, 300, 348, 360])
            yy, mm = divmod(birth.year * 12 + birth.month - 1 + months, 12)
            try:
                d = date(yy, mm + 1, birth.day)
            except ValueError:
                d = date(yy, mm + 1, 28)
            d = d + timedelta(days=rng.choice([-1, 0, 0, 1]))
            ev = {"type": rng.choice(["coe_exam", "mmr_vaccine_delivery", "menc_vaccine_delivery",
                                      "hpv_vaccine_delivery", "cervical_cytology", "hpv_hr_test"]), "date": d.isoformat()}
        else:
            years_back = rng.choice([1, 2, 3, 5, 8, 10])
            d = date(year - years_back, 12, 31) + timedelta(days=rng.choice([-1, 0, 1]))
            ev = {"type": rng.choice(["mammography_screening", "mammography_bilateral", "colorectal_fit_test",
                                      "colonoscopy", "colon_ct", "fasting_glycaemia", "kidney_tests", "hba1c",
                                      "dental_exam", "pneumococcal_vpc20_delivery", "cervical_cytology",
                                      "breast_atypical_hyperplasia_lcis", "colon_polyp_excision_large"]),
                  "date": d.isoformat()}
        events.append(ev)
    if events:
        rec["events"] = events
    return rec


@pytest.mark.parametrize("seed,n", [(1, 300), (2, 1000), (3, 50)])
def test_edge_patienteles_agree(tmp_path, seed, n):
    rng = random.Random(seed)
    records = [_edge_patient(rng, i, 2026) for i in range(n)]
    _agree(tmp_path, records, chunk_rows=97, min_columnar=0.8)


@pytest.mark.parametrize("seed,n,year", [(4, 2000, 2026), (9, 700, 2027), (11, 1, 2026)])
def test_synthetic_patienteles_agree(tmp_path, seed, n, year):
    rng = random.Random(seed)
    records = [synthetic_patient(rng, i, year) for i in range(n)]
    _agree(tmp_path, records, year=year, chunk_rows=500, min_columnar=1.0)


@pytest.mark.parametrize("doctor", [
    {"sector": "S1"},
    {"sector": "S1", "qpv": True, "first_installation_date": "2026-02-01", "age_at_year_end": 70},
    {"sector": "S1", "zone": "ZIP"},
    {"sector": "S2", "option": "OPTAM", "birth_date": "1959-12-31"},
])
def test_doctor_majorations_agree(tmp_path, doctor):
    rng = random.Random(5)
    _agree(tmp_path, [_edge_patient(rng, i, 2026) for i in range(150)], doctor=doctor)


def test_csv_patientele_agrees(tmp_path):
    rng = random.Random(6)
    _agree(tmp_path, [_edge_patient(rng, i, 2026) for i in range(300)], formats=("csv",), min_columnar=0.8)


def test_parquet_patientele_gives_the_engine_result(tmp_path, capsys):
    src = tmp_path / "p.jsonl"
    write_jsonl(str(src), 400)
    pl.read_ndjson(src, infer_schema_length=None).write_parquet(tmp_path / "p.parquet")
    request = {"scheme": "fmt", "doctor": {"sector": "S1"}, "year": 2026,
               "patients_file": {"path": str(src), "format": "jsonl"}}
    expected = compute(request)
    assert cli.main(["batch", "forfait", "fmt", str(tmp_path / "p.parquet"), "--year", "2026"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got == expected
    assert got["patients"]["records"] == 400
    assert cli.main(["batch", "forfait", "fmt", str(src), "--year", "2026"]) == 0
    assert json.loads(capsys.readouterr().out) == expected


def test_refused_scheme_does_not_read_the_patientele(tmp_path):
    """Year 2025: FMT not in force, refused before the patientèle is read (as in the reference)."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"age": 300}\n', encoding="utf-8")
    got = fmt_file(str(bad), year=2025)
    assert got["status"] == "refused" and got["reason"] == "SCHEME_NOT_IN_FORCE"
    # Parquet: the first chunks are decoded while the request is read, but what is found there (a bad row,
    # undecodable data) is only reported if the formula reads the file
    _write_parquet(tmp_path / "bad.parquet", [{"id": "a", "age": 300}] * 10)
    got = fmt_file(str(tmp_path / "bad.parquet"), year=2025, chunk_rows=4)
    assert got["status"] == "refused" and got["reason"] == "SCHEME_NOT_IN_FORCE"
    assert _errors(lambda: fmt_file(str(tmp_path / "bad.parquet"), year=2026, chunk_rows=4))[0][1:3] == (1, "/age")


# ------------------------------------------------------------------------------------- bad or unusual records
def _errors(fn):
    try:
        fn()
    except ConvmedError as exc:
        return [(p.message, p.line, p.pointer, p.code) for p in exc.problems]
    return None


GOOD = '{"id":"a","birth_date":"1950-01-01","sex":"F","seen_last_two_years":true}'


@pytest.mark.parametrize("test", [{"in": [2, 3]}, {"equals": 2}, {"not_in": [0]}, {"present": True}])
def test_any_operator_on_an_event_count_stays_columnar_and_agrees(tmp_path, spec_with, monkeypatch, test):
    """The ROR validation rewritten with a non-comparison operator on the count: the columnar FMT computes it
    (no per-record fallback) and agrees with the reference record by record."""
    old = "{fact: patient.events, where: {type: mmr_vaccine_delivery, age_months: {le: 24}}, ge: 2}"
    op, operand = next(iter(test.items()))
    new = "{fact: patient.events, where: {type: mmr_vaccine_delivery, age_months: {le: 24}}, " + \
        f"{op}: {json.dumps(operand)}}}"
    spec = spec_with({"forfaits/fmt/prevention/indicators/i04_mmr.yaml": (old, new)})
    doses = lambda *d: [{"type": "mmr_vaccine_delivery", "date": x} for x in d]  # noqa: E731
    recs = [{"id": f"p{i}", "birth_date": "2024-06-15", "seen_last_two_years": True, "events": ev}
            for i, ev in enumerate([[], doses("2025-06-15"), doses("2025-06-15", "2026-01-15"),
                                    doses("2025-06-15", "2025-07-15", "2026-01-15"), doses("2026-07-15")])]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    import convmed.model

    monkeypatch.setattr(convmed.model, "load_spec", lambda root=None: spec)   # fmt_file loads it at call time
    ref = compute({"scheme": "fmt", "doctor": {"sector": "S1"}, "year": 2026, "patients": recs}, spec=spec)
    stats: dict = {}
    got = fmt_file(str(path), year=2026, stats=stats)
    assert got == ref and stats["columnar"] and stats["per_record"] == 0
    mmr = next(c for c in ref["components"] if c["id"] == "prevention.i04_mmr")
    expected = {"in": 2, "equals": 1, "not_in": 3, "present": 5}[op]   # counts by 24 months: 0, 1, 2, 3, 0
    assert mmr["details"]["validated"] == expected


def test_large_event_counts_are_summed_exactly_by_both_paths(tmp_path):
    """Counts near the schema's maximum (999 999 999) sum exactly in the columnar path (no float weights): two such
    MMR deliveries by 24 months validate the indicator for both engines, and the totals agree."""
    recs = [{"id": f"p{i}", "birth_date": "2024-06-15", "seen_last_two_years": True,
             "events": [{"type": "mmr_vaccine_delivery", "date": "2025-06-15", "count": 999_999_999},
                        {"type": "mmr_vaccine_delivery", "date": "2026-01-15", "count": 999_999_998}]} for i in range(3)]
    recs.append({"id": "one", "birth_date": "2024-06-15", "seen_last_two_years": True,
                 "events": [{"type": "mmr_vaccine_delivery", "date": "2025-06-15", "count": 1}]})
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    ref = compute({"scheme": "fmt", "doctor": {"sector": "S1"}, "year": 2026, "patients": recs})
    stats: dict = {}
    got = fmt_file(str(path), year=2026, stats=stats)
    assert got == ref and stats["per_record"] == 0
    mmr = next(c for c in ref["components"] if c["id"] == "prevention.i04_mmr")
    assert (mmr["details"]["eligible"], mmr["details"]["validated"], mmr["amount"]) == (4, 3, "15.00")   # 5 € each


@pytest.mark.parametrize("line", [
    '{"id":"x","age":30,"age":31}',                        # duplicate key (polars keeps one)
    '{"id":"x","age":30.0}',                               # float (polars casts)
    '{"id":"x","age":1e1}',
    '{"id":"x","age":true}',                               # boolean as integer
    '{"id":"x","age":99999999999999999999999}',            # beyond 64 bits (polars: null)
    '{"id":5,"age":30}',                                   # number as string
    '{"id":"x","age":30,"flags":"mici"}',                  # scalar as list
    '{"id":"x","age":30,"ald":5}',
    '{"id":"x","age":30,"flags":[["mici"]]}',
    '{"id":"x","age":30,"zz":1}',                          # unknown key (dropped by a polars schema)
    '{"id":"x","age":30,"events":[{"type":"hba1c","date":"2026-01-01","zz":"a"}]}',
    '{"id":"x","age":30,"events":[{"type":"hba1c","date":"2026-01-01","count":2.0}]}',
    '{"id":"x","age":30,"events":[{"type":"hba1c","date":"2026-01-01","count":0}]}',
    '{"id":"x","age":30,"events":[{"type":"hba1c","date":"2026-01-01","count":1000000000}]}',   # above the maximum
    '{"id":"x","age":30,"events":[{}]}',
    '{"id":"x","age":null}',
    '{"id":"x","sex":"F"}',                                # neither birth_date nor age
    '{"id":"x","birth_date":"0000-01-01"}',                # year 0: polars reads it, Python does not
    '{"id":"x","birth_date":"2020-1-01"}',
    '{"id":"x","birth_date":"2021-02-29"}',
    '{"id":"x","age":131}',
    '{"id":"x","age":30,"ald":[3,3]}',
    '{"id":"x","age":30,"ald":[33]}',
    '{"id":"x","age":30,"sex":"X"}',
    '{"id":"x","age":30,"events":[{"type":"drug_delivery","date":"2026-01-01","atc":"r03"}]}',
    '{"id":"x","age":30,"flags":["Bad"]}',
    '{"id":"a\tb","age":30}',                              # raw control character in a string
    '[1,2]',
    '{"id":"x","age":30,}',
    '{"id":"x","age":30} {"id":"y","age":4}',
    '{"id":"x","age":NaN}',
])
def test_bad_jsonl_record_same_located_error(tmp_path, line):
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join([GOOD] * 5 + [line] + [GOOD] * 3) + "\n", encoding="utf-8")
    ref = _errors(lambda: compute({"scheme": "fmt", "doctor": {"sector": "S1"}, "year": 2026,
                                   "patients_file": {"path": str(path), "format": "jsonl"}}))
    got = _errors(lambda: fmt_file(str(path), year=2026, chunk_rows=2))
    assert ref is not None and got == ref


@pytest.mark.parametrize("line", [
    '{"id":"H\\u00e9l\\u00e8ne","birth_date":"1950-01-01","sex":"F"}',   # escapes: read by the reference
    '{"id":"nullable","birth_date":"2020-06-30"}',
    '{"id":"true","birth_date":"2020-06-30","c2s":true}',
    '{ "id" : "x" , "birth_date" : "1960-05-05" , "flags" : [ "mici" ] }',
    '   ',
    '{"id":"x","age":5}\r',
])
def test_unusual_but_valid_jsonl_lines_agree(tmp_path, line):
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join([GOOD] * 3 + [line] + [GOOD] * 3) + "\n", encoding="utf-8")
    expected = compute({"scheme": "fmt", "doctor": {"sector": "S1"}, "year": 2026,
                        "patients_file": {"path": str(path), "format": "jsonl"}})
    assert fmt_file(str(path), year=2026, chunk_rows=2) == expected


def test_bad_parquet_row_is_located(tmp_path, capsys):
    pl.DataFrame({"id": ["a", "b"], "age": [30, 300], "sex": ["F", "M"]}).write_parquet(tmp_path / "bad.parquet")
    assert cli.main(["batch", "forfait", "fmt", str(tmp_path / "bad.parquet"), "--year", "2026"]) == 2
    err = capsys.readouterr().err
    assert "bad.parquet:2" in err and "/age" in err


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_chunks_counted_on_threads_keep_the_file_order(tmp_path, monkeypatch, workers, fmt):
    """Chunks are counted on several threads: the result is the reference's, and of two bad rows in two
    chunks the first one in the file is the one reported (as the reference reading the file in order).
    JSON Lines blocks are of 64 kB at least: 700 records make three."""
    import convmed.batch.fmt_columnar as fc

    monkeypatch.setattr(fc, "WORKERS", workers)
    rng = random.Random(31)
    records = [_edge_patient(rng, i, 2026) for i in range(700)]
    _agree(tmp_path, records, formats=(fmt,), chunk_rows=100, min_columnar=0.8)
    bad = [dict(r) for r in records]
    bad[633]["age"] = 300
    bad[287]["birth_date"] = "2026-02-30"
    path = tmp_path / f"bad.{fmt}"
    {"jsonl": _write_jsonl, "parquet": _write_parquet}[fmt](path, bad)
    if fmt == "jsonl":
        assert path.stat().st_size > 2 * 65536
    errors = _errors(lambda: fmt_file(str(path), year=2026, chunk_rows=100))
    assert errors and errors[0][1] == 288 and errors[0][2] == "/birth_date"


def test_corrupt_parquet_data_is_a_located_error(tmp_path, capsys):
    """Column data that cannot be decoded (the footer is intact): exit 2 and a message, no traceback."""
    path = tmp_path / "c.parquet"
    rng = random.Random(8)
    _write_parquet(path, [_edge_patient(rng, i, 2026) for i in range(3000)])
    data = bytearray(path.read_bytes())
    for i in range(200, len(data) // 2, 53):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    assert cli.main(["batch", "forfait", "fmt", str(path), "--year", "2026", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "c.parquet" in err and "illisible" in err and "Traceback" not in err


def test_parquet_of_unexpected_types_goes_record_by_record(tmp_path):
    """A float age or an unknown column: the rows are checked one by one (located error at the right row)."""
    pl.DataFrame({"id": ["a", "b", "c"], "age": [30.0, 31.0, 32.5]}).write_parquet(tmp_path / "f.parquet")
    errors = _errors(lambda: fmt_file(str(tmp_path / "f.parquet"), year=2026, chunk_rows=2))
    assert errors and errors[0][1] == 1 and errors[0][2] == "/age"
    pl.DataFrame({"id": ["a", "b", "c"], "age": [30, 31, 32], "zz": [1, 2, 3]}).write_parquet(tmp_path / "u.parquet")
    errors = _errors(lambda: fmt_file(str(tmp_path / "u.parquet"), year=2026, chunk_rows=2))
    assert errors and errors[0][1] == 1 and errors[0][2] == "/zz"
    # integer columns of another width are read columnar, with the reference result
    pl.DataFrame({"id": ["a", "b"], "age": [30, 85], "ald": [[8], []]},
                 schema={"id": pl.String, "age": pl.Int16, "ald": pl.List(pl.Int8)}).write_parquet(tmp_path / "i.parquet")
    stats: dict = {}
    got = fmt_file(str(tmp_path / "i.parquet"), year=2026, stats=stats)
    assert got == compute({"scheme": "fmt", "doctor": {"sector": "S1"}, "year": 2026,
                           "patients": [{"id": "a", "age": 30, "ald": [8]}, {"id": "b", "age": 85, "ald": []}]})


CSV_HEADER = "id,birth_date,age,sex,ald,c2s,seen_last_two_years,last_seen_date,flags,events"
CSV_GOOD = "a,1950-01-01,,F,8,true,1,,,hba1c@2026-10-01;drug_delivery@2026-01-05@A10BA02@3"


def _csv_case(tmp_path, rows):
    path = tmp_path / "p.csv"
    path.write_bytes(("\n".join([CSV_HEADER] + [CSV_GOOD] * 4 + rows + [CSV_GOOD] * 3) + "\n").encode("utf-8"))
    return path


@pytest.mark.parametrize("row", [
    "b,,3.0,M,,,,,,",                                      # not an integer
    "b,,30,M,1;x,,,,,",
    "b,,30,M,,maybe,,,,",
    "b,,30,M,,,,,,hba1c@2026-01-01@R03@2@7",               # more than 4 parts
    "b,,30,M,,,,,,hba1c",                                  # fewer than 2
    "b,,30,M,,,,,,hba1c@2026-01-01@0",                     # count 0
    "b,,30,M,,,,,a;;b,",                                   # empty flag
    "b,,30,M,,,,,,,extra",                                 # more fields than the header
    ",,,,,,,,,",                                           # nothing
    "b,,99999999999999999999999,M,,,,,,",
    "b,2021-02-29,,M,,,,,,",
])
def test_bad_csv_row_same_located_error(tmp_path, row):
    path = _csv_case(tmp_path, [row])
    ref = _errors(lambda: compute({"scheme": "fmt", "doctor": {"sector": "S1"}, "year": 2026,
                                   "patients_file": {"path": str(path), "format": "csv"}}))
    got = _errors(lambda: fmt_file(str(path), year=2026, chunk_rows=2))
    assert ref is not None and got == ref


@pytest.mark.parametrize("rows", [
    ["b,,30,M,,,,,,"],
    ["b, 1970-02-03 , ,F, 3 ; 8 ,OUI,non,,mici ; other,hba1c@2026-01-01@@2 ; coe_exam@2026-02-02@R03@2"],
    ["Hélène,1950-01-01,,F,,,,,,"],                        # non-ASCII: read by the reference
    ['"b",1950-01-01,,F,,,,,,"hba1c@2026-01-01;', 'dental_exam@2026-02-02"'],   # quoted over two lines
    [""],                                                  # blank line (skipped by csv)
    ["b,,30,M"],                                           # fewer fields than the header
])
def test_unusual_but_valid_csv_rows_agree(tmp_path, rows):
    path = _csv_case(tmp_path, rows)
    expected = compute({"scheme": "fmt", "doctor": {"sector": "S1"}, "year": 2026,
                        "patients_file": {"path": str(path), "format": "csv"}})
    assert fmt_file(str(path), year=2026, chunk_rows=2) == expected


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_invalid_utf8_is_located_on_its_line(tmp_path, fmt):
    line = GOOD if fmt == "jsonl" else CSV_GOOD
    head = (CSV_HEADER + "\n").encode() if fmt == "csv" else b""
    body = (line + "\n").encode() * 700 + b'{"id":"\xff"}\n' + (line + "\n").encode() * 5
    path = tmp_path / f"p.{fmt}"
    path.write_bytes(head + body)
    ref = _errors(lambda: compute({"scheme": "fmt", "doctor": {"sector": "S1"}, "year": 2026,
                                   "patients_file": {"path": str(path), "format": fmt}}))
    got = _errors(lambda: fmt_file(str(path), year=2026, chunk_rows=100))   # blocks of 64 KiB: several
    assert ref is not None and got == ref and ref[0][1] == 701 + (fmt == "csv")


def test_too_long_jsonl_line_is_located(tmp_path):
    from convmed.forfaits.patientele import MAX_LINE_BYTES

    path = tmp_path / "p.jsonl"
    path.write_text("\n".join([GOOD] * 3 + ['{"id":"' + "x" * MAX_LINE_BYTES + '","age":3}'] + [GOOD]) + "\n",
                    encoding="utf-8")
    ref = _errors(lambda: compute({"scheme": "fmt", "doctor": {"sector": "S1"}, "year": 2026,
                                   "patients_file": {"path": str(path), "format": "jsonl"}}))
    got = _errors(lambda: fmt_file(str(path), year=2026, chunk_rows=10))
    assert ref is not None and got == ref and ref[0][1] == 4


def test_parquet_struct_fields_in_another_order_are_read_by_name(tmp_path):
    records = [{"id": "a", "birth_date": "1950-01-01", "sex": "F", "ald": [8], "seen_last_two_years": True,
                "events": [{"date": "2026-10-01", "type": "hba1c"}, {"date": "2025-03-01", "type": "mammography_screening"}]},
               {"id": "b", "birth_date": "1960-01-01", "sex": "F", "ald": [], "flags": [], "events": []}]
    pl.DataFrame({"id": ["a", "b"], "birth_date": ["1950-01-01", "1960-01-01"], "sex": ["F", "F"],
                  "events": [records[0]["events"], []], "ald": [[8], []], "seen_last_two_years": [True, None],
                  "flags": [None, []]}).write_parquet(tmp_path / "o.parquet")
    stats: dict = {}
    got = fmt_file(str(tmp_path / "o.parquet"), year=2026, stats=stats)
    assert got == compute({"scheme": "fmt", "doctor": {"sector": "S1"}, "year": 2026, "patients": records})
    assert stats["per_record"] == 0
    assert got["patients"]["socle"]["ald_under_80"] == 1


def test_dates_read_from_their_bytes_are_the_reference_dates():
    """iso_dates accepts exactly what patientele._DATE + date.fromisoformat accept, and gives the same day."""
    np = pytest.importorskip("numpy")
    from convmed.batch.fmt_columnar import iso_dates
    from convmed.forfaits.patientele import _DATE

    def reference(v):
        if not _DATE.match(v):
            return None
        try:
            return date.fromisoformat(v)
        except ValueError:
            return None

    rng = random.Random(12)
    good = ["0001-01-01", "9999-12-31", "2024-02-29", "2000-02-29", "1970-01-01", "1969-12-31", "2026-12-31"]
    good += [(date(1, 1, 1) + timedelta(days=rng.randrange(3_652_059))).isoformat() for _ in range(3000)]
    bad = ["0000-01-01", "2023-02-29", "1900-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-01-00",
           "2026-1-01", "2026/01/01", "2026-01-1 ", " 2026-01-1", "+026-01-01", "2026-01-01\n", "２026-01-01",
           "2026-01-32", "202a-01-01", "2026--1-01", "2026-01-010", "", "abcdefghij", "2026-01:01"]
    for v in good:
        got = iso_dates(pl.Series([v]))
        assert got is not None, v
        (y, m, d), days = got
        ref = reference(v)
        assert (int(y[0]), int(m[0]), int(d[0])) == (ref.year, ref.month, ref.day)
        assert int(days[0]) == (ref - date(1970, 1, 1)).days
    for v in bad:
        assert reference(v) is None, v
        assert iso_dates(pl.Series([v])) is None, v
        assert iso_dates(pl.Series(good[:50] + [v] + good[50:60])) is None, v
    (y, m, d), days = iso_dates(pl.Series(good))
    assert [int(x) for x in days] == [(reference(v) - date(1970, 1, 1)).days for v in good]
    assert np.all((y >= 1) & (m >= 1) & (d >= 1))


# ------------------------------------------------------------------------------------- random oddities
_ODD_VALUES = [None, True, 0, -1, 3.0, 1e2, 131, "30", "", "X", [], [1, 1], ["a"], {}, {"a": 1}, "2026-02-29",
               "0000-01-01", "2026-1-01", "mici", "r03", 99999999999999999999, "é", "a\nb"]
_ODD_KEYS = ["id", "birth_date", "age", "sex", "ald", "c2s", "seen_last_two_years", "last_seen_date", "flags", "events", "zz"]


def _odd_line(rng: random.Random, rec: dict) -> str:
    rec = dict(rec)
    if rng.random() < 0.3:
        rec[rng.choice(_ODD_KEYS)] = rng.choice(_ODD_VALUES)
    elif rng.random() < 0.2 and rec.get("events"):
        ev = dict(rng.choice(rec["events"]))
        ev[rng.choice(["type", "date", "atc", "count", "zz"])] = rng.choice(_ODD_VALUES)
        rec["events"] = rec["events"] + [ev]
    line = json.dumps(rec, ensure_ascii=rng.random() < 0.2, separators=(",", ":"))
    k = rng.random()
    if k < 0.05:
        line = line.replace('"sex":', '"sex":"M","sex":', 1)
    elif k < 0.1:
        line = line.replace(":", " : ", 2) + "\r"
    elif k < 0.13:
        line = line[:-1] + ",}"
    elif k < 0.16:
        line = line.replace("true", "1", 1)
    elif k < 0.19:
        line = ""
    return line


@pytest.mark.parametrize("seed", [21, 22])
def test_random_jsonl_oddities_same_result_or_same_error(tmp_path, seed):
    """Random records, some with a value or a JSON text polars would read otherwise than Python: the batch
    gives the reference's result, or its first located error."""
    rng = random.Random(seed)
    path = tmp_path / "p.jsonl"
    for _ in range(25):
        lines = [_odd_line(rng, _edge_patient(rng, i, 2026)) if rng.random() < 0.3 else
                 json.dumps(_edge_patient(rng, i, 2026)) for i in range(rng.randint(1, 10))]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        ref = _errors(lambda: compute({"scheme": "fmt", "doctor": DOCTOR, "year": 2026,
                                       "patients_file": {"path": str(path), "format": "jsonl"}}))
        got = _errors(lambda: fmt_file(str(path), year=2026, chunk_rows=rng.choice([1, 1000]),
                                       request_path=_request_file(tmp_path, DOCTOR)))
        assert got == ref
        if ref is None:
            assert fmt_file(str(path), year=2026, request_path=_request_file(tmp_path, DOCTOR)) == compute(
                {"scheme": "fmt", "doctor": DOCTOR, "year": 2026,
                 "patients_file": {"path": str(path), "format": "jsonl"}})


def test_a_criterion_the_columnar_path_does_not_know_keeps_the_reference_path(tmp_path, monkeypatch):
    """A criterion kind added to spec/ without its polars translation: every record is counted by the
    reference code (exact result, columnar off)."""
    from convmed.batch import fmt_columnar

    def unknown(self, c):
        raise fmt_columnar.NotColumnar("new criterion")

    monkeypatch.setattr(fmt_columnar.Plan, "_compile", unknown)
    rng = random.Random(8)
    records = [_edge_patient(rng, i, 2026) for i in range(60)]
    path = tmp_path / "p.jsonl"
    _write_jsonl(path, records)
    stats: dict = {}
    got = fmt_file(str(path), year=2026, stats=stats)
    assert got == compute({"scheme": "fmt", "doctor": {"sector": "S1"}, "year": 2026, "patients": records})
    assert stats == {"columnar": False, "records": 60, "per_record": 60}


@pytest.mark.parametrize("lines", [
    # two anomalies whose byte counts would cancel out if the checks were not one-sided
    ['{"id":1,"birth_date":"2024-10-29"}', '{"id":"b","birth_date":"2020-01-01","events":[{"type":"hba1c","date":"2026-01-01","zz":-1}]}'],
    ['{"id":5,"birth_date":"2024-10-29"}', '{"id":"b","age":"30"}'],
    ['{"id":"a","age":30,"flags":"mici"}', '{"id":"b","age":30,"zz":[]}'],
    ['{"id":true,"age":30}', '{"id":"b","age":30,"c2s":true,"zz":1}'],
    ['{"id":"a","age":99999999999999999999}', '{"id":"b","age":30,"sex":"F"}'],
])
def test_compensating_jsonl_anomalies_are_not_missed(tmp_path, lines):
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join([GOOD] * 2 + lines + [GOOD]) + "\n", encoding="utf-8")
    ref = _errors(lambda: compute({"scheme": "fmt", "doctor": {"sector": "S1"}, "year": 2026,
                                   "patients_file": {"path": str(path), "format": "jsonl"}}))
    got = _errors(lambda: fmt_file(str(path), year=2026))
    assert ref is not None and got == ref

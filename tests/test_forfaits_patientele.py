"""Streaming patientèle reader (JSON Lines, CSV): located errors, constant memory, CLI."""

import json
import subprocess
import sys
import tracemalloc

import pytest

from convmed.errors import ConvmedError
from convmed.forfaits import compute
from convmed.forfaits.patientele import iter_csv, iter_jsonl, open_patients
from convmed.forfaits.synthetic import write_jsonl

DOCTOR = {"sector": "S1", "birth_date": "1980-01-01"}


def test_jsonl_reads_records_and_skips_blank_lines(tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text('{"age": 82, "ald": [8]}\n\n{"birth_date": "2020-01-01", "sex": "F"}\n', encoding="utf-8")
    assert [r.get("age") for r in iter_jsonl(str(f))] == [82, None]


@pytest.mark.parametrize("line,pointer,word", [
    ('{"age": 82, "ald": [8]', None, "invalid JSON"),
    ('{"age": "82"}', "/age", "age"),
    ('{"birth_date": "2025-02-30"}', "/birth_date", "impossible date"),
    ('{"sex": "F"}', "", "birth_date or age"),
    ('{"age": 5, "colour": "blue"}', "/colour", "unknown key"),
    ('{"age": 5, "events": [{"type": "hba1c", "date": "2026-13-01"}]}', "/events/0/date", "date"),
    ('{"age": 5, "ald": [8, 8]}', "/ald", "unique"),
])
def test_jsonl_errors_are_located(tmp_path, line, pointer, word):
    f = tmp_path / "p.jsonl"
    f.write_text('{"age": 1}\n{"age": 2}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(ConvmedError) as exc:
        list(iter_jsonl(str(f)))
    problem = exc.value.problems[0]
    assert problem.line == 3 and problem.file == str(f)
    assert problem.pointer == pointer
    assert word in problem.message


def test_csv_matches_jsonl(tmp_path):
    csv_file = tmp_path / "p.csv"
    csv_file.write_text(
        "id,birth_date,age,sex,ald,c2s,seen_last_two_years,events\n"
        "a,,82,F,8;30,oui,true,hba1c@2026-07-01\n"
        "b,1960-05-01,,M,,0,1,flu_vaccine_delivery@2026-10-01;drug_delivery@2026-02-01@R03AC02@2\n", encoding="utf-8")
    recs = list(iter_csv(str(csv_file)))
    assert recs[0] == {"id": "a", "age": 82, "sex": "F", "ald": [8, 30], "c2s": True, "seen_last_two_years": True,
                       "events": [{"type": "hba1c", "date": "2026-07-01"}]}
    assert recs[1]["events"][1] == {"type": "drug_delivery", "date": "2026-02-01", "atc": "R03AC02", "count": 2}
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in recs) + "\n", encoding="utf-8")
    base = {"scheme": "fmt", "year": 2026, "doctor": DOCTOR}
    a = compute(base, patients_path=str(csv_file))
    b = compute(base, patients_path=str(jsonl))
    assert a["total"] == b["total"] and a["components"] == b["components"]


def test_csv_errors_are_located(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("id,age,sex\na,82,F\nb,old,M\n", encoding="utf-8")
    with pytest.raises(ConvmedError) as exc:
        list(iter_csv(str(f)))
    assert exc.value.problems[0].line == 3 and exc.value.problems[0].pointer == "/age"
    f.write_text("id,age,shoe_size\n", encoding="utf-8")
    with pytest.raises(ConvmedError) as exc:
        list(iter_csv(str(f)))
    assert exc.value.problems[0].line == 1


def test_unknown_extension_is_refused(tmp_path):
    with pytest.raises(ConvmedError):
        open_patients(str(tmp_path / "p.txt"))


def _peak(path):
    tracemalloc.start()
    try:
        r = compute({"scheme": "fmt", "year": 2026, "doctor": DOCTOR}, patients_path=str(path))
        return tracemalloc.get_traced_memory()[1], r
    finally:
        tracemalloc.stop()


def test_streaming_memory_does_not_grow_with_the_file(tmp_path):
    warm, small, big = tmp_path / "warm.jsonl", tmp_path / "small.jsonl", tmp_path / "big.jsonl"
    write_jsonl(str(warm), 200)
    write_jsonl(str(small), 5_000)
    write_jsonl(str(big), 50_000)
    compute({"scheme": "fmt", "year": 2026, "doctor": DOCTOR}, patients_path=str(warm))  # warm caches (spec, schemas)
    peak_small, r_small = _peak(small)
    peak_big, r_big = _peak(big)
    assert r_small["patients"]["records"] == 5_000 and r_big["patients"]["records"] == 50_000
    # ten times more patients, (almost) the same peak: nothing per patient is kept
    assert peak_big < peak_small * 1.5 + 256 * 1024, (peak_small, peak_big)
    assert peak_big < 16 * 1024 * 1024


def _cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "convmed", *args], capture_output=True, text=True, input=stdin)


def test_cli_json_text_and_located_errors(tmp_path):
    req = tmp_path / "req.json"
    req.write_text(json.dumps({"scheme": "fmt", "doctor": DOCTOR,
                               "patients_file": {"path": "p.jsonl"}}), encoding="utf-8")
    (tmp_path / "p.jsonl").write_text('{"age": 82, "ald": [8], "sex": "M", "seen_last_two_years": true}\n', encoding="utf-8")
    out = _cli("forfait", "fmt", str(req), "--year", "2026")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["total"] == "100.00"
    text = _cli("forfait", "fmt", str(req), "--year", "2026", "--format", "text")
    assert text.returncode == 0 and "Total : 100.00" in text.stdout and "Avril n+1" in text.stdout
    (tmp_path / "p.jsonl").write_text('{"age": 82}\n{"age": -1}\n', encoding="utf-8")
    bad = _cli("forfait", "fmt", str(req), "--year", "2026")
    assert bad.returncode == 2 and ":2 /age" in bad.stderr and "Traceback" not in bad.stderr
    other = _cli("forfait", "rosp", str(req), "--year", "2026")
    assert other.returncode == 2 and "scheme" in other.stderr
    no_year = _cli("forfait", "fmt", str(req))
    assert no_year.returncode == 2
    bad_input = tmp_path / "bad.json"
    bad_input.write_text('{"scheme": "fmt", "year": 2026, "doctor": {"sector": "S9"}}', encoding="utf-8")
    res = _cli("forfait", "fmt", str(bad_input))
    assert res.returncode == 2 and "/doctor/sector" in res.stderr

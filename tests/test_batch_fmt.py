"""`convmed batch forfait fmt`: the same FMT result as `convmed forfait fmt` on the same patientèle, whether
it comes as JSON Lines, CSV or Parquet; a bad Parquet row is located."""

from __future__ import annotations

import json

import pytest

pl = pytest.importorskip("polars")

import convmed.cli as cli  # noqa: E402
from convmed.forfaits.engine import compute  # noqa: E402
from convmed.forfaits.synthetic import write_jsonl  # noqa: E402


def test_parquet_patientele_gives_the_engine_result(tmp_path, capsys):
    src = tmp_path / "p.jsonl"
    write_jsonl(str(src), 400)
    pl.read_ndjson(src, infer_schema_length=None).write_parquet(tmp_path / "p.parquet")
    request = {"scheme": "fmt", "doctor": {"sector": "S1"}, "year": 2026,
               "patients_file": {"path": str(src), "format": "jsonl"}}
    expected = compute(request)
    assert cli.main(["batch", "forfait", "fmt", str(tmp_path / "p.parquet"), "--year", "2026"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["total"] == expected["total"] and got["patients"] == expected["patients"]
    assert [c.get("amount") for c in got["components"]] == [c.get("amount") for c in expected["components"]]
    assert got["patients"]["records"] == 400


def test_bad_parquet_row_is_located(tmp_path, capsys):
    pl.DataFrame({"id": ["a", "b"], "age": [30, 300], "sex": ["F", "M"]}).write_parquet(tmp_path / "bad.parquet")
    assert cli.main(["batch", "forfait", "fmt", str(tmp_path / "bad.parquet"), "--year", "2026"]) == 2
    err = capsys.readouterr().err
    assert "bad.parquet:2" in err and "/age" in err

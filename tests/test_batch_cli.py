"""`convmed batch price`: formats in and out, bad lines reported with their line number (never dropped
silently), counts that add up, --on-error stop|skip with a reject file."""

from __future__ import annotations

import json
import os

import pytest

pl = pytest.importorskip("polars")

import convmed.cli as _cli  # noqa: E402
from convmed.pricing import price_claim  # noqa: E402

G_OK = {"date": "2025-01-10", "doctor": {"specialty": "medecine_generale", "sector": "S1"}, "lines": [{"code": "G"}]}
G_S2 = {"date": "2025-01-10", "doctor": {"specialty": "medecine_generale", "sector": "S2"}, "lines": [{"code": "G"}]}
MEG_5 = {"date": "2025-01-10", "doctor": {"specialty": "medecine_generale", "sector": "S1"},
         "patient": {"age_years": 5}, "lines": [{"code": "G"}, {"code": "MEG"}]}


def _jsonl(path, items):
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in items), encoding="utf-8")
    return path


def main(args):
    return _cli.main(args)


def _run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_prices_like_the_oracle_and_counts_add_up(tmp_path, capsys):
    src = _jsonl(tmp_path / "in.jsonl", [G_OK, G_S2, MEG_5, {**G_OK, "id": "x"}])
    summary = tmp_path / "s.json"
    code, out, err = _run(["batch", "price", str(src), "-o", str(tmp_path / "out.csv"), "--summary", str(summary)],
                          capsys)
    assert code == 0, err
    df = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    assert df["row"].to_list() == ["1", "2", "3", "3", "4"]
    # G = 30 € signed (000) for a sector-1 GP; sector 2 without OPTAM is refused (bill C)
    assert df.row(0, named=True)["amount"] == "30.00"
    assert df.row(1, named=True)["reason"] == "SECTOR_NOT_ELIGIBLE"
    expected = price_claim(MEG_5)
    assert df.filter(pl.col("row") == "3")["amount"].to_list() == [l.get("amount") for l in expected["lines"]]
    assert df.filter(pl.col("row") == "4")["claim_id"].to_list() == ["x"]
    s = json.loads(summary.read_text())
    assert s["read"] == 4 and s["priced"] == 4 and s["rejected"] == 0


def test_bad_lines_stop_with_their_line_number(tmp_path, capsys):
    src = _jsonl(tmp_path / "in.jsonl", [G_OK, "not json", G_OK])
    code, out, err = _run(["batch", "price", str(src), "-o", str(tmp_path / "o.csv")], capsys)
    assert code == 2
    assert f"{src}:2" in err and "JSON" in err
    assert "Traceback" not in err


def test_skip_writes_every_rejected_line_and_counts_add_up(tmp_path, capsys):
    bad_date = {**G_OK, "date": "2025-02-30"}
    unknown_key = {**G_OK, "doctor": {**G_OK["doctor"], "colour": "blue"}}
    null_value = {**G_OK, "patient": {"c2s": None}}
    mixed_type = {**G_OK, "id": 12}
    both_ages = {**G_OK, "patient": {"age_years": 3, "birth_date": "2020-01-01"}}
    src = _jsonl(tmp_path / "in.jsonl", [G_OK, "not json", "", bad_date, unknown_key, null_value, mixed_type,
                                         both_ages, "[1, 2]", G_S2])
    rejects = tmp_path / "rej.jsonl"
    summary = tmp_path / "s.json"
    code, out, err = _run(["batch", "price", str(src), "-o", str(tmp_path / "o.parquet"), "--on-error", "skip",
                           "--rejects", str(rejects), "--summary", str(summary)], capsys)
    assert code == 0, err
    rej = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [r["line"] for r in rej] == [2, 3, 4, 5, 6, 7, 8, 9]
    assert rej[2]["pointer"] == "/date" and rej[3]["pointer"].startswith("/doctor")
    assert rej[4]["pointer"] == "/patient/c2s" and rej[5]["pointer"] == "/id"
    s = json.loads(summary.read_text())
    assert (s["read"], s["priced"], s["rejected"]) == (10, 2, 8)
    out_df = pl.read_parquet(tmp_path / "o.parquet")
    assert out_df["row"].to_list() == [1, 10]
    assert f"{src}:2" in err  # the first rejected lines are echoed on stderr


def test_csv_in_with_located_cell_errors(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("id,date,doctor.specialty,doctor.sector,patient.age_years,line_extra\n", encoding="utf-8")
    code, out, err = _run(["batch", "price", str(src)], capsys)
    assert code == 2 and f"{src}:1" in err and "line_extra" in err
    src.write_text(
        "id,date,doctor.specialty,doctor.sector,patient.age_years,patient.c2s,codes\n"
        "a,2025-01-10,medecine_generale,S1,5,false,G MEG\n"
        "b,2025-01-10,medecine_generale,S1,five,,G\n"
        "c,2025-01-10,medecine_generale,S1,40,,G\n"
        "d,2025-01-10,medecine_generale\n"
        "e,2025-01-10,medecine_generale,S1,,maybe,G\n", encoding="utf-8")
    rejects = tmp_path / "r.jsonl"
    code, out, err = _run(["batch", "price", str(src), "-o", str(tmp_path / "o.csv"), "--on-error", "skip",
                           "--rejects", str(rejects)], capsys)
    assert code == 0, err
    rej = {r["line"]: r for r in map(json.loads, rejects.read_text().splitlines())}
    assert sorted(rej) == [3, 5, 6]
    assert "patient.age_years" in rej[3]["message"] and "patient.c2s" in rej[6]["message"]
    df = pl.read_csv(tmp_path / "o.csv", infer_schema=False)
    a = price_claim({"id": "a", "date": "2025-01-10", "doctor": {"specialty": "medecine_generale", "sector": "S1"},
                     "patient": {"age_years": 5, "c2s": False}, "lines": [{"code": "G"}, {"code": "MEG"}]})
    assert df.filter(pl.col("claim_id") == "a")["amount"].to_list() == [l.get("amount") for l in a["lines"]]
    assert df["claim_id"].unique(maintain_order=True).to_list() == ["a", "c"]


def test_parquet_nested_in_gives_the_same_result_as_json_lines(tmp_path, capsys):
    from convmed.batch.generate import generate_claims

    claims = list(generate_claims(300, seed=3, history_rate=0.0))
    src = _jsonl(tmp_path / "in.jsonl", claims)
    pl.read_ndjson(src, infer_schema_length=None).write_parquet(tmp_path / "in.parquet")
    from convmed.batch.run import price_file

    # small chunks (the library call; the command's floor is 1000 lines): chunk boundaries inside the file
    price_file(str(src), output=str(tmp_path / "a.parquet"), chunk_rows=64)
    price_file(str(tmp_path / "in.parquet"), output=str(tmp_path / "b.parquet"), chunk_rows=50)
    a = pl.read_parquet(tmp_path / "a.parquet")
    b = pl.read_parquet(tmp_path / "b.parquet")
    assert a.height > 300 and a.equals(b)


def test_empty_file_gives_an_empty_result(tmp_path, capsys):
    src = tmp_path / "empty.jsonl"
    src.write_text("")
    code, out, err = _run(["batch", "price", str(src), "-o", str(tmp_path / "o.csv")], capsys)
    assert code == 0
    assert (tmp_path / "o.csv").read_text().startswith("row,claim_id,date,index,code,status")
    assert "0 lues = 0 tarifées + 0 rejetées" in err


def test_batch_price_tunes_polars_allocator_before_loading_it_never_over_the_users_setting():
    """commands.batch.tune_allocator: set before polars loads (jemalloc reads it then), the user's own value kept,
    nothing done once polars is loaded (the allocator is already configured then)."""
    import subprocess
    import sys

    from convmed.commands.batch import ALLOCATOR

    probe = ("import os, sys; from convmed.commands.batch import tune_allocator; {pre}tune_allocator(); "
             "print(os.environ.get('_RJEM_MALLOC_CONF'))")
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}

    def run(pre="", **extra):
        return subprocess.run([sys.executable, "-c", probe.format(pre=pre)], capture_output=True, text=True,
                              env={**env, **extra}, check=True).stdout.strip()

    assert run() == ALLOCATOR["_RJEM_MALLOC_CONF"]
    assert run(_RJEM_MALLOC_CONF="narenas:1") == "narenas:1"
    # once polars is loaded (it sets its own default: pages back to the system within 0.5-1 s), nothing changes
    loaded = run(pre="import polars; before = os.environ.get('_RJEM_MALLOC_CONF'); ")
    assert loaded != ALLOCATOR["_RJEM_MALLOC_CONF"]

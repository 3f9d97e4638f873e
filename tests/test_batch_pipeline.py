"""The batch run's pipeline: the next chunk is read on a thread while this one is priced, and chunks are
written on a thread while the next is priced. Order, errors and clean-up must be those of a plain loop."""

from __future__ import annotations

import json
import threading

import pytest

pl = pytest.importorskip("polars")

import convmed.cli as _cli  # noqa: E402
from convmed.batch.run import Background, prefetched  # noqa: E402

G_OK = {"date": "2025-01-10", "doctor": {"specialty": "medecine_generale", "sector": "S1"}, "lines": [{"code": "G"}]}


def test_prefetched_keeps_order_and_raises_the_producers_error_after_its_items():
    def items():
        yield from range(5)
        raise ValueError("chunk 6 unreadable")

    seen = []
    with pytest.raises(ValueError, match="chunk 6"), prefetched(items(), depth=2) as chunks:
        for x in chunks:
            seen.append(x)
    assert seen == [0, 1, 2, 3, 4]


def test_prefetched_stops_its_thread_when_the_consumer_stops_early():
    produced = []

    def items():
        for i in range(1000):
            produced.append(i)
            yield i

    before = threading.active_count()
    with prefetched(items(), depth=1) as chunks:
        for x in chunks:
            if x == 3:
                break
    assert threading.active_count() == before
    assert len(produced) <= 3 + 2     # the producer read at most one item ahead, not through the 1 000


def test_background_raises_the_workers_error_on_close():
    done = []

    def work(x):
        if x == 2:
            raise OSError("disque plein")
        done.append(x)

    bg = Background(work)
    for x in range(2):
        bg.put(x)
    bg.put(2)
    with pytest.raises(OSError, match="disque plein"):
        for x in range(3, 6):   # raised by a later put, or at the latest by close
            bg.put(x)
        bg.close()
    assert done[:2] == [0, 1] and 2 not in done


def test_a_stopped_run_leaves_no_temporary_files(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    # 2 chunks of 1000 lines: the bad line is in the second chunk, after a chunk already written
    src.write_text("\n".join([json.dumps(G_OK)] * 1500 + ["not json"]) + "\n", encoding="utf-8")
    out = tmp_path / "out" / "priced.parquet"
    out.parent.mkdir()
    code = _cli.main(["batch", "price", str(src), "-o", str(out), "--chunk-rows", "1000"])
    err = capsys.readouterr().err
    assert code == 2 and f"{src}:1501" in err
    assert list(out.parent.iterdir()) == []   # neither the output nor the temporary chunk directory


def test_many_small_chunks_come_out_in_line_order(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    claims = [{**G_OK, "id": f"c{i}"} for i in range(2300)]
    src.write_text("".join(json.dumps(c) + "\n" for c in claims), encoding="utf-8")
    for fmt in ("csv", "parquet"):
        out = tmp_path / f"o.{fmt}"
        assert _cli.main(["batch", "price", str(src), "-o", str(out), "--chunk-rows", "1000"]) == 0, capsys.readouterr()
        df = pl.read_csv(out, infer_schema=False) if fmt == "csv" else pl.read_parquet(out)
        assert df["claim_id"].to_list() == [c["id"] for c in claims]
        assert set(df["amount"].to_list()) == {"30.00"}   # G = 30 € (signed 000)


def test_an_empty_input_gives_a_parquet_file_with_the_output_columns(tmp_path, capsys):
    src = tmp_path / "empty.jsonl"
    src.write_text("", encoding="utf-8")
    out = tmp_path / "o.parquet"
    assert _cli.main(["batch", "price", str(src), "-o", str(out)]) == 0
    df = pl.read_parquet(out)
    assert df.height == 0 and df.columns[:3] == ["row", "claim_id", "date"] and "amount" in df.columns


@pytest.mark.parametrize("flag", ["-o", "--rejects"])
def test_an_output_folder_that_does_not_exist_is_a_located_error(tmp_path, capsys, flag):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(G_OK) + "\n", encoding="utf-8")
    target = tmp_path / "missing" / "x.parquet"
    args = ["batch", "price", str(src), "-o", str(tmp_path / "o.csv"), "--on-error", "skip"]
    args += ["--rejects", str(target)] if flag == "--rejects" else []
    if flag == "-o":
        args[args.index("-o") + 1] = str(target)
    code = _cli.main(args)
    err = capsys.readouterr().err
    assert code == 2 and f"{target}: [io]" in err and "Traceback" not in err


def _flat_parquet(claims, path):
    """The claims in the flat Parquet layout (one column per dotted field, lists kept), as an extract gives them."""
    from convmed.batch.readers import unnest_objects

    unnest_objects(pl.DataFrame([json.loads(json.dumps(c)) for c in claims], infer_schema_length=None)).write_parquet(path)


def test_the_whole_pipeline_agrees_with_the_scalar_oracle_through_many_chunks(spec, tmp_path):
    """Threads for reading and writing, a streaming Parquet sink: every line of every claim, in order,
    to the cent, as `price_claim` gives it (flat Parquet in, Parquet out, 25 chunks)."""
    from convmed.batch.generate import generate_claims
    from convmed.batch.run import price_file
    from convmed.pricing import price_claim

    claims = list(generate_claims(1500, seed=99, spec=spec, profile="national", history_rate=0.01))
    claims += list(generate_claims(1000, seed=98, spec=spec, history_rate=0.02))
    src, out = tmp_path / "claims.parquet", tmp_path / "priced.parquet"
    _flat_parquet(claims, src)
    summary = price_file(str(src), output=str(out), chunk_rows=100, on_error="skip", spec=spec)
    got = pl.read_parquet(out).select("row", "index", "code", "status", "amount", "reason", "total").rows()
    expected = []
    for row, claim in enumerate(claims, start=1):
        res = price_claim(claim, spec)
        expected += [(row, line["index"], line["code"], line["status"], line.get("amount"), line.get("reason"),
                      res["total"]) for line in res["lines"]]
    assert summary.read == len(claims) and summary.rejected == 0
    assert got == expected


def test_ctrl_c_during_a_batch_run_exits_130_and_leaves_no_partial_parquet(tmp_path, claim_refused_by_its_history):
    import os
    import signal
    import subprocess
    import sys
    import time

    src = tmp_path / "many.jsonl"
    # claims with a history and a code that counts acts (GL3: one a year) take the scalar path one by one
    # (about 0.05 ms each, validated as fast rows are): 300 000 of them last far longer than the 3 s before the
    # signal (60 000 took 2.7 s: the run could end before it)
    line = json.dumps(claim_refused_by_its_history) + "\n"
    src.write_text(line * 300_000, encoding="utf-8")
    out = tmp_path / "o.parquet"
    env = {k: v for k, v in os.environ.items() if k != "CONVMED_DEBUG"}
    proc = subprocess.Popen([sys.executable, "-m", "convmed", "batch", "price", str(src), "-o", str(out),
                             "--chunk-rows", "20000", "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    time.sleep(3.0)   # past start-up and the first chunks
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    text = err.decode("utf-8", "replace")
    assert proc.returncode == 130, text[-800:]
    assert "Traceback" not in text and "interrompu" in text, text
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["many.jsonl"]


def test_a_closed_output_pipe_is_not_an_error(tmp_path):
    """`convmed batch price big.jsonl -o - | head`: polars reports the closed pipe as a plain OSError
    (it was an internal error, exit 3); like every command, the run stops quietly (exit 0)."""
    import os
    import subprocess
    import sys

    src = tmp_path / "many.jsonl"
    src.write_text((json.dumps(G_OK) + "\n") * 60_000, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CONVMED_DEBUG"}
    proc = subprocess.Popen([sys.executable, "-m", "convmed", "batch", "price", str(src), "-o", "-",
                             "--chunk-rows", "5000", "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    assert proc.stdout.read(200).startswith(b"row,claim_id,date")
    proc.stdout.close()
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.wait(timeout=120)
    assert proc.returncode == 0 and "Traceback" not in err and "internal error" not in err, (proc.returncode, err)


def test_a_damaged_parquet_file_is_a_located_error(tmp_path, capsys):
    """Bytes damaged in the middle of the file: the chunk that cannot be decoded stops the run with the file
    and its first row (was an internal error, exit 3); no partial output is left."""
    src = tmp_path / "claims.parquet"
    df = pl.DataFrame([{**G_OK, "id": f"c{i}", "patient": {"birth_date": f"19{i % 90 + 10}-01-01"}}
                       for i in range(6000)])
    df.write_parquet(src, row_group_size=1000, compression="zstd")
    data = bytearray(src.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 2000] = b"\x00" * 2000
    src.write_bytes(bytes(data))
    out = tmp_path / "o.parquet"
    code = _cli.main(["batch", "price", str(src), "-o", str(out), "--chunk-rows", "1000"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{src}:" in err and "fichier Parquet illisible à partir de la ligne" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_full_disk_is_a_located_error_and_a_device_is_never_removed(tmp_path, capsys, fmt):
    """/dev/full refuses every write with ENOSPC, as a full disk does: exit 2 on the output's name (was an
    internal error); the partial-output clean-up removes regular files only."""
    import os

    full = "/dev/full"
    if not os.path.exists(full):
        pytest.skip("no /dev/full on this system")
    src = tmp_path / "in.jsonl"
    src.write_text((json.dumps(G_OK) + "\n") * 3000, encoding="utf-8")
    code = _cli.main(["batch", "price", str(src), "-o", full, "--output-format", fmt, "--chunk-rows", "1000"])
    err = capsys.readouterr().err
    assert code == 2 and f"{full}: [io] écriture impossible : " in err and "Traceback" not in err, err
    assert os.path.exists(full) and not os.path.isfile(full)
    if fmt == "csv":   # the OS error reaches us (polars' Parquet writer reports "transport error" instead)
        assert "disque plein" in err


def test_a_folder_given_as_output_is_refused_before_any_work(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(G_OK) + "\n", encoding="utf-8")
    folder = tmp_path / "out.parquet"
    folder.mkdir()
    code = _cli.main(["batch", "price", str(src), "-o", str(folder)])
    err = capsys.readouterr().err
    assert code == 2 and f"{folder}: [io]" in err and "dossier" in err
